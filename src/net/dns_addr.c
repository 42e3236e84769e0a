/* Address text for the resolver: IP literals, the DNS server list and
 * resolve overrides as users write them, and the Happy Eyeballs order of an
 * address list. Pure functions, no I/O (an interface name in an IPv6 scope
 * is looked up with if_nametoindex, an ioctl). */
#include "net/dns_addr.h"

#include <arpa/inet.h>
#include <limits.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

/* An override answers for a name without asking DNS, so DNS's 253 bytes do
 * not apply (curl's --resolve takes longer names too); this only bounds
 * what a caller can make us keep. */
#define NAME_MAX_LEN 4096

void fl__dns_lower_copy(char *dst, const char *src, size_t len) {
  size_t i;
  for (i = 0; i < len; i++) {
    char c = src[i];
    dst[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
  }
  dst[len] = '\0';
}

static int same_addr(const fl__sockaddr *a, const fl__sockaddr *b) {
  if (a->sa.sa_family != b->sa.sa_family) return 0;
  if (a->sa.sa_family == AF_INET) return a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
  return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, sizeof(a->in6.sin6_addr)) == 0 &&
         a->in6.sin6_scope_id == b->in6.sin6_scope_id;
}

void fl__sockaddr_set_port(fl__sockaddr *a, uint16_t port) {
  if (a->sa.sa_family == AF_INET)
    a->in4.sin_port = htons(port);
  else
    a->in6.sin6_port = htons(port);
}

int fl__dns_parse_ip(const char *s, fl__sockaddr *out) {
  char buf[INET6_ADDRSTRLEN + 1];
  const char *pct = strchr(s, '%');
  size_t len = pct ? (size_t)(pct - s) : strlen(s);

  memset(out, 0, sizeof(*out));
  if (!pct && inet_pton(AF_INET, s, &out->in4.sin_addr) == 1) {
    out->in4.sin_family = AF_INET;
    return 1;
  }
  if (len >= sizeof buf) return 0;
  memcpy(buf, s, len);
  buf[len] = '\0';
  if (inet_pton(AF_INET6, buf, &out->in6.sin6_addr) != 1) return 0;
  out->in6.sin6_family = AF_INET6;
  if (pct) {
    const char *p = pct + 1;
    unsigned long idx = 0;
    if (*p >= '0' && *p <= '9') {
      for (; *p >= '0' && *p <= '9' && idx <= UINT32_MAX; p++)
        idx = idx * 10 + (unsigned long)(*p - '0');
      if (*p || idx > UINT32_MAX) return 0;
    } else {
      /* An interface name: short, and none of ':' (the kernel reads
       * "eth0:junk" as eth0's alias), brackets or separators, which would
       * make the address unparsable once written back as "[v6%name]". */
      size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
      if (n == 0 || p[n] != '\0' || n >= IF_NAMESIZE) return 0;
      idx = if_nametoindex(p); /* an ioctl, no I/O */
      if (idx == 0) return 0;
    }
    out->in6.sin6_scope_id = (uint32_t)idx;
  }
  return 1;
}

size_t fl__dns_order_addrs(fl__sockaddr *out, size_t cap, const fl__sockaddr *in, size_t n) {
  size_t i6 = 0, i4 = 0, count = 0;
  int want6 = 1;

  /* RFC 8305 section 4: keep the order within each family, start with
   * IPv6, then alternate; duplicates are dropped. */
  while (count < cap && (i6 < n || i4 < n)) {
    const fl__sockaddr *pick = NULL;
    size_t *idx = want6 ? &i6 : &i4;
    int fam = want6 ? AF_INET6 : AF_INET;
    while (*idx < n && in[*idx].sa.sa_family != fam) (*idx)++;
    if (*idx < n) pick = &in[(*idx)++];
    want6 = !want6;
    if (pick) {
      size_t j;
      for (j = 0; j < count && !same_addr(&out[j], pick); j++)
        ;
      if (j == count) out[count++] = *pick;
    }
  }
  return count;
}

/* ------------------------------------------------------- options parsing */
/* One "[v6]:port", "[v6]", "v4:port", "v4" or bare "v6" item into csv form. */
static int server_item(const char *item, size_t len, char *out, size_t cap) {
  char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  const char *port = NULL, *end = item + len;
  size_t hlen;
  fl__sockaddr a;
  long pnum = 53;

  if (len && item[0] == '[') {
    const char *rb = memchr(item, ']', len);
    if (!rb) return 0;
    hlen = (size_t)(rb - item - 1);
    if (hlen == 0 || hlen >= sizeof host) return 0;
    memcpy(host, item + 1, hlen);
    host[hlen] = '\0';
    if (rb + 1 < end) {
      if (rb[1] != ':') return 0;
      port = rb + 2;
    }
    if (!fl__dns_parse_ip(host, &a) || a.sa.sa_family != AF_INET6) return 0;
  } else {
    const char *colon = memchr(item, ':', len);
    const char *colon2 = colon ? memchr(colon + 1, ':', (size_t)(end - colon - 1)) : NULL;
    hlen = (colon && !colon2) ? (size_t)(colon - item) : len; /* bare v6 has no port */
    if (hlen == 0 || hlen >= sizeof host) return 0;
    memcpy(host, item, hlen);
    host[hlen] = '\0';
    if (colon && !colon2) port = colon + 1;
    if (!fl__dns_parse_ip(host, &a)) return 0;
    if (port && a.sa.sa_family != AF_INET) return 0;
  }
  if (port) {
    const char *p;
    if (port == end || end - port > 5) return 0;
    pnum = 0;
    for (p = port; p < end; p++) {
      if (*p < '0' || *p > '9') return 0;
      pnum = pnum * 10 + (*p - '0');
    }
    if (pnum < 1 || pnum > 65535) return 0;
  }
  if (a.sa.sa_family == AF_INET)
    fl__msg(out, cap, "%s:%ld", host, pnum);
  else
    fl__msg(out, cap, "[%s]:%ld", host, pnum);
  return 1;
}

int fl__dns_parse_servers(const char *s, char **csv_out, char *errbuf, size_t errcap) {
  size_t cap = strlen(s) * 2 + 64, used = 0;
  char *csv = malloc(cap);
  const char *p = s;

  if (!csv) return FL_ENOMEM;
  csv[0] = '\0';
  for (;;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    char item[INET6_ADDRSTRLEN + IF_NAMESIZE + 16];
    size_t ilen;
    if (!server_item(p, len, item, sizeof item)) {
      char bad[80];
      fl__msg(bad, sizeof bad, "%.*s", (int)(len < 64 ? len : 64), p);
      fl__msg(errbuf, errcap, "bad DNS server \"%s\" in \"%s\"", bad, s);
      free(csv);
      return FL_EINVAL;
    }
    ilen = strlen(item);
    if (used + ilen + 2 > cap) { /* cannot happen: items only grow by a little */
      free(csv);
      return FL_ENOMEM;
    }
    if (used) csv[used++] = ',';
    memcpy(csv + used, item, ilen + 1);
    used += ilen;
    if (!comma) break;
    p = comma + 1;
  }
  *csv_out = csv;
  return 0;
}

int fl__dns_parse_override(const char *s, fl__dns_override *o, char *errbuf, size_t errcap) {
  const char *c1 = strchr(s, ':'), *c2, *p, *why;
  fl__sockaddr raw[FL__DNS_MAX_ADDRS * 2];
  size_t n = 0, hlen;
  long port = 0;

  memset(o, 0, sizeof(*o));
  why = "expected host:port:address[,address...]";
  if (!c1 || c1 == s) goto bad;
  c2 = strchr(c1 + 1, ':');
  if (!c2 || c2 == c1 + 1 || c2 - c1 - 1 > 5) goto bad;
  why = "bad port";
  for (p = c1 + 1; p < c2; p++) {
    if (*p < '0' || *p > '9') goto bad;
    port = port * 10 + (*p - '0');
  }
  if (port > 65535) goto bad;
  hlen = (size_t)(c1 - s);
  why = "host name too long";
  if (hlen > NAME_MAX_LEN) goto bad;

  why = "bad address";
  p = c2 + 1;
  for (;;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    const char *a = p;
    fl__sockaddr sa;
    int bracketed = len >= 2 && p[0] == '[' && p[len - 1] == ']';
    if (bracketed) {
      a++;
      len -= 2;
    }
    if (len == 0 || len >= sizeof buf) goto bad;
    memcpy(buf, a, len);
    buf[len] = '\0';
    if (!fl__dns_parse_ip(buf, &sa) || (bracketed && sa.sa.sa_family != AF_INET6)) goto bad;
    if (n < FL__ARRAY_SIZE(raw)) raw[n++] = sa;
    if (!comma) break;
    p = comma + 1;
  }

  o->host = malloc(hlen + 1);
  if (!o->host) return FL_ENOMEM;
  fl__dns_lower_copy(o->host, s, hlen);
  o->port = (uint16_t)port;
  o->naddrs = fl__dns_order_addrs(o->addrs, FL__DNS_MAX_ADDRS, raw, n);
  return 0;

bad:
  fl__msg(errbuf, errcap, "bad resolve override \"%s\": %s", s, why);
  return FL_EINVAL;
}
