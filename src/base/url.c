/* URL parsing and percent-encoding (RFC 3986), and the query builder;
 * reference resolution is in url_resolve.c.
 *
 * Choices worth knowing (see also src/url.h):
 * - Only absolute "scheme://authority..." URLs parse; there is no scheme
 *   guessing ("example.com/x" is malformed).
 * - Every byte <= 0x20 (controls and space) and 0x7f makes a URL malformed:
 *   such bytes can never be sent on a request line.
 * - Bytes >= 0x80 in the path and query are percent-encoded (%XX, upper-case
 *   hex) on output, the way curl does; anywhere else (scheme, host) they make
 *   the URL malformed, except in userinfo, which is copied through as bytes.
 * - Percent-escapes in path and query are kept as given: never decoded or
 *   re-encoded, and a '%' not followed by two hex digits is kept as is
 *   (lenient, like browsers). "%2e%2e" is therefore not a dot segment.
 *   Other printable ASCII that RFC 3986 does not allow in a path or query
 *   (e.g. '"', '<', '|', '{', '^', '\\') is passed through unchanged too.
 * - userinfo (before the last '@' of the authority) is split at its first
 *   ':' into user and password, each percent-decoded; an escape that decodes
 *   to NUL makes the URL malformed, an invalid escape is kept literally.
 *   "http://@host/" has no user (NULL); "http://:@host/" has user "" and
 *   password "".
 * - A reg-name host is percent-decoded and lower-cased; each byte, given
 *   literally or decoded, must be unreserved or a sub-delim, so IDNs (raw
 *   or escaped UTF-8) are malformed.
 * - A host is IPv4 only if it is exactly four decimal parts 0-255 without
 *   leading zeros (RFC 3986 dec-octet, like inet_pton(AF_INET)). Anything
 *   else ("1.2.3", "0x7f.1", "01.2.3.4", "4294967295") stays a reg-name and
 *   is never reinterpreted here as an address.
 * - "[...]" hosts must satisfy inet_pton(AF_INET6). Zone ids
 *   ("[fe80::1%25eth0]") and IPvFuture ("[v1.x]") are rejected as malformed.
 * - A reg-name has no length limit here (RFC 3986 sets none): DNS's limits
 *   (253 bytes, labels of 63) apply only when the name is sent to a DNS
 *   server (net/dns.c), not through a proxy or to a resolve override. An
 *   empty host is malformed for http and https only ("file:///x" parses,
 *   with host "").
 */
#include "base/url_impl.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flurry.h"

/* ---------------------------------------------------- dot-segment removal */

/* RFC 3986 section 5.2.4 on in[0..n); writes at most n bytes to out, which
 * may be the same buffer as in (the output never overtakes the input).
 * Returns the output length. */
size_t fl__url_remove_dot_segments(const char *in, size_t n, char *out) {
  size_t i = 0, o = 0;
  while (i < n) {
    const char *p = in + i;
    size_t r = n - i;
    if (r >= 3 && memcmp(p, "../", 3) == 0) { /* A */
      i += 3;
    } else if (r >= 2 && memcmp(p, "./", 2) == 0) { /* A */
      i += 2;
    } else if (r >= 3 && memcmp(p, "/./", 3) == 0) { /* B: "/./" -> "/" */
      i += 2;
    } else if (r == 2 && memcmp(p, "/.", 2) == 0) { /* B: "/." -> "/", then E */
      out[o++] = '/';
      i += 2;
    } else if ((r >= 4 && memcmp(p, "/../", 4) == 0) || (r == 3 && memcmp(p, "/..", 3) == 0)) {
      /* C: replace with "/" and drop the last output segment */
      while (o > 0 && out[o - 1] != '/') o--;
      if (o > 0) o--;
      if (r == 3) {
        out[o++] = '/';
        i += 3;
      } else {
        i += 3; /* input now starts with the fourth byte, a '/' */
      }
    } else if ((r == 1 && p[0] == '.') || (r == 2 && memcmp(p, "..", 2) == 0)) { /* D */
      i = n;
    } else { /* E: move the first segment, with its leading '/', to the output */
      size_t j = i + (in[i] == '/' ? 1 : 0);
      while (j < n && in[j] != '/') j++;
      memmove(out + o, in + i, j - i);
      o += j - i;
      i = j;
    }
  }
  return o;
}

/* ------------------------------------------------------------- parse URL */

/* Percent-decode src[0..n) into dst; invalid escapes are kept literally.
 * Returns the length written, or (size_t)-1 if an escape decodes to NUL. */
static size_t decode_userinfo(char *dst, const char *src, size_t n) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    int hi, lo;
    if (src[i] == '%' && i + 2 < n && (hi = hex_val((unsigned char)src[i + 1])) >= 0 &&
        (lo = hex_val((unsigned char)src[i + 2])) >= 0) {
      unsigned char c = (unsigned char)(hi << 4 | lo);
      if (c == 0) return (size_t)-1;
      dst[o++] = (char)c;
      i += 2;
    } else {
      dst[o++] = src[i];
    }
  }
  dst[o] = '\0';
  return o;
}

/* Strict dotted-quad: four decimal parts 0-255, no leading zeros. */
static int is_ipv4(const char *s, size_t n) {
  size_t i = 0;
  for (int part = 0; part < 4; part++) {
    size_t start = i;
    unsigned v = 0;
    if (part > 0) {
      if (i >= n || s[i] != '.') return 0;
      start = ++i;
    }
    while (i < n && is_digit((unsigned char)s[i]) && i - start < 3)
      v = v * 10 + (unsigned)(s[i++] - '0');
    if (i == start || v > 255 || (i - start > 1 && s[start] == '0')) return 0;
  }
  return i == n;
}

/* Decode and lower-case a reg-name host into dst. Returns its length, or
 * (size_t)-1 if it holds a byte that a reg-name cannot have. */
static size_t decode_regname(char *dst, const char *src, size_t n) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)src[i];
    if (c == '%') {
      int hi, lo;
      if (i + 2 >= n) return (size_t)-1;
      hi = hex_val((unsigned char)src[i + 1]);
      lo = hex_val((unsigned char)src[i + 2]);
      if (hi < 0 || lo < 0) return (size_t)-1;
      c = (unsigned char)(hi << 4 | lo);
      i += 2;
    }
    if (!is_unreserved(c) && !is_subdelim(c)) return (size_t)-1;
    dst[o++] = (char)to_lower(c);
  }
  dst[o] = '\0';
  return o;
}

/* "http" or "https", in any case, as text[0..n). */
static int is_web_scheme(const char *text, size_t n) {
  static const char *const web[] = {"http", "https"};
  for (size_t i = 0; i < sizeof web / sizeof web[0]; i++)
    if (strlen(web[i]) == n && strncasecmp(text, web[i], n) == 0) return 1;
  return 0;
}

/* Copy path or query bytes, percent-encoding bytes >= 0x80 (as curl does). */
static size_t copy_encode_high(char *dst, const char *src, size_t n) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)src[i];
    if (c >= 0x80) {
      dst[o++] = '%';
      dst[o++] = hex_upper[c >> 4];
      dst[o++] = hex_upper[c & 15];
    } else {
      dst[o++] = (char)c;
    }
  }
  return o;
}

uint16_t fl__url_default_port(const char *scheme) {
  if (!scheme) return 0;
  if (strcmp(scheme, "http") == 0) return 80;
  if (strcmp(scheme, "https") == 0) return 443;
  return 0;
}

void fl__url_free(fl__url *u) {
  if (!u) return;
  free(u->storage);
  memset(u, 0, sizeof *u);
}

static int parse(fl__url *u, const char *text, int as_is);

int fl__url_parse(fl__url *u, const char *text) { return parse(u, text, 0); }

int fl__url_parse_as_is(fl__url *u, const char *text) { return parse(u, text, 1); }

static int parse(fl__url *u, const char *text, int as_is) {
  if (!u) return FL_EINVAL;
  memset(u, 0, sizeof *u);
  if (!text) return FL_EURL_MALFORMAT;

  size_t n = strlen(text);
  for (size_t i = 0; i < n; i++)
    if (is_forbidden((unsigned char)text[i])) return FL_EURL_MALFORMAT;
  if (n > (SIZE_MAX - 64) / 8) return FL_ENOMEM;

  /* scheme "://" */
  size_t slen = scheme_prefix(text, n);
  if (slen == 0 || strncmp(text + slen, "://", 3) != 0) return FL_EURL_MALFORMAT;

  /* authority: up to the first '/', '?' or '#' */
  const char *auth = text + slen + 3;
  size_t alen = strcspn(auth, "/?#");
  const char *rest = auth + alen;

  /* userinfo: before the last '@' of the authority */
  const char *ui = NULL, *hp = auth;
  size_t uilen = 0, hplen = alen;
  for (size_t i = alen; i > 0; i--) {
    if (auth[i - 1] == '@') {
      ui = auth;
      uilen = i - 1;
      hp = auth + i;
      hplen = alen - i;
      break;
    }
  }

  /* host and port */
  const char *h, *portstr = NULL;
  size_t hlen, portlen = 0;
  int v6 = 0;
  if (hplen > 0 && hp[0] == '[') {
    const char *close = memchr(hp, ']', hplen);
    char tmp[INET6_ADDRSTRLEN];
    struct in6_addr a6;
    if (!close) return FL_EURL_MALFORMAT;
    h = hp + 1;
    hlen = (size_t)(close - h);
    if (hlen == 0 || hlen >= sizeof tmp) return FL_EURL_MALFORMAT;
    memcpy(tmp, h, hlen);
    tmp[hlen] = '\0';
    if (inet_pton(AF_INET6, tmp, &a6) != 1) return FL_EURL_MALFORMAT;
    size_t after = (size_t)(close + 1 - hp);
    if (after < hplen) {
      if (hp[after] != ':') return FL_EURL_MALFORMAT;
      portstr = hp + after + 1;
      portlen = hplen - after - 1;
    }
    v6 = 1;
  } else {
    const char *colon = memchr(hp, ':', hplen);
    h = hp;
    hlen = colon ? (size_t)(colon - hp) : hplen;
    if (colon) {
      portstr = colon + 1;
      portlen = hplen - hlen - 1;
    }
    /* RFC 9110 4.2.1: an http(s) URI with an empty host is invalid. Other
     * schemes may have one ("file:///etc/passwd"): the URL parses, and the
     * client refuses the scheme as unsupported rather than malformed. */
    if (hlen == 0 && is_web_scheme(text, slen)) return FL_EURL_MALFORMAT;
  }

  /* path, query; the fragment is dropped */
  size_t plen = strcspn(rest, "?#");
  const char *query = NULL;
  size_t qlen = 0;
  if (rest[plen] == '?') {
    query = rest + plen + 1;
    qlen = strcspn(query, "#");
  }

  /* one block for every string */
  size_t need = (slen + 1) + (uilen + 2) + (hlen + 1) + (hlen + 2 + 1 + 5 + 1) +
                (1 + 3 * plen + 1 + 3 * qlen + 1);
  char *st = malloc(need);
  if (!st) return FL_ENOMEM;
  char *w = st;
  size_t host_len;
  uint16_t defport;
  fl__url r;
  memset(&r, 0, sizeof r);
  r.storage = st;

  /* scheme, lower-cased */
  r.scheme = w;
  for (size_t i = 0; i < slen; i++) *w++ = (char)to_lower((unsigned char)text[i]);
  *w++ = '\0';

  /* userinfo */
  if (ui && uilen > 0) {
    const char *colon = memchr(ui, ':', uilen);
    size_t ulen = colon ? (size_t)(colon - ui) : uilen;
    size_t k = decode_userinfo(w, ui, ulen);
    if (k == (size_t)-1) goto malformed;
    r.user = w;
    w += k + 1;
    if (colon) {
      k = decode_userinfo(w, colon + 1, uilen - ulen - 1);
      if (k == (size_t)-1) goto malformed;
      r.password = w;
      w += k + 1;
    }
  }

  /* host */
  r.host = w;
  if (v6) {
    for (size_t i = 0; i < hlen; i++) *w++ = (char)to_lower((unsigned char)h[i]);
    *w = '\0';
    r.host_is_ipv6 = 1;
  } else {
    size_t k = decode_regname(w, h, hlen);
    if (k == (size_t)-1 || (k == 0 && hlen > 0)) goto malformed;
    r.host_is_ipv4 = is_ipv4(w, k);
    w += k;
  }
  host_len = (size_t)(w - r.host);
  w++;

  /* port: empty means the default */
  defport = fl__url_default_port(r.scheme);
  r.port = defport;
  if (portlen > 0) {
    unsigned long v = 0;
    for (size_t i = 0; i < portlen; i++) {
      if (!is_digit((unsigned char)portstr[i])) goto malformed;
      v = v * 10 + (unsigned long)(portstr[i] - '0');
      if (v > 65535) goto malformed;
    }
    if (v == 0) goto malformed;
    r.port = (uint16_t)v;
    r.port_explicit = 1;
  }

  /* authority: host or [v6], plus ":port" unless it is the default */
  r.authority = w;
  if (v6) *w++ = '[';
  memcpy(w, r.host, host_len);
  w += host_len;
  if (v6) *w++ = ']';
  if (r.port_explicit && r.port != defport) {
    char digits[6];
    int nd = 0;
    for (unsigned v = r.port; v; v /= 10) digits[nd++] = (char)('0' + v % 10);
    *w++ = ':';
    while (nd > 0) *w++ = digits[--nd];
  }
  *w++ = '\0';

  /* target: dot-free path (never empty), then "?query" as given */
  r.target = w;
  if (plen == 0) {
    *w++ = '/';
  } else {
    size_t k = copy_encode_high(w, rest, plen);
    w += as_is ? k : fl__url_remove_dot_segments(w, k, w);
  }
  if (query) {
    *w++ = '?';
    w += copy_encode_high(w, query, qlen);
  }
  *w = '\0';

  *u = r;
  return 0;

malformed:
  free(st);
  return FL_EURL_MALFORMAT;
}

/* ---------------------------------------------------------- percent-encode */

size_t fl__url_encode(char *dst, size_t cap, const char *src, size_t len) {
  size_t need = 0;
  for (size_t i = 0; i < len; i++) need += is_unreserved((unsigned char)src[i]) ? 1 : 3;
  if (need >= cap) return need;
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)src[i];
    if (is_unreserved(c)) {
      dst[o++] = (char)c;
    } else {
      dst[o++] = '%';
      dst[o++] = hex_upper[c >> 4];
      dst[o++] = hex_upper[c & 15];
    }
  }
  dst[o] = '\0';
  return o;
}

/* ----------------------------------------------------------- query builder */

char *fl_url_with_query(const char *url, const char *const *pairs, size_t npairs) {
  fl__url u;
  if (!url || (npairs > 0 && !pairs)) return NULL;
  if (fl__url_parse(&u, url) != 0) return NULL;
  fl__url_free(&u);

  size_t base = strcspn(url, "#"); /* the fragment is dropped */
  size_t need = base + 1;
  for (size_t i = 0; i < npairs; i++) {
    const char *key = pairs[2 * i], *val = pairs[2 * i + 1];
    if (!key) return NULL;
    size_t add = 1 + fl__url_encode(NULL, 0, key, strlen(key));
    if (val) add += 1 + fl__url_encode(NULL, 0, val, strlen(val));
    if (add > SIZE_MAX - need) return NULL;
    need += add;
  }

  char *res = malloc(need);
  if (!res) return NULL;
  memcpy(res, url, base);
  size_t o = base;
  const char *q = memchr(url, '?', base);
  char sep;
  if (!q)
    sep = '?';
  else if (url[base - 1] == '?' || url[base - 1] == '&')
    sep = 0;
  else
    sep = '&';
  for (size_t i = 0; i < npairs; i++) {
    const char *key = pairs[2 * i], *val = pairs[2 * i + 1];
    if (sep) res[o++] = sep;
    sep = '&';
    o += fl__url_encode(res + o, need - o, key, strlen(key));
    if (val) {
      res[o++] = '=';
      o += fl__url_encode(res + o, need - o, val, strlen(val));
    }
  }
  res[o] = '\0';
  return res;
}
