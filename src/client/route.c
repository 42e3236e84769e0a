/* Routes: origin, proxy and pool key of a hop; contract in route.h. */
#include "client/route.h"

#include <stdlib.h>
#include <string.h>

#include "client/digest.h"
#include "net/tls.h"

void fl__route_init(fl__route *r) {
  memset(r, 0, sizeof *r);
  fl__buf_init(&r->key);
  fl__buf_init(&r->origin);
}

void fl__route_dispose(fl__route *r) {
  fl__buf_dispose(&r->key);
  fl__buf_dispose(&r->origin);
}

/* The one place that says which schemes this build fetches. */
int fl__scheme_supported(const char *scheme) {
  return strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0;
}

/* Decimal by hand: this runs for every request, and snprintf cost more than
 * the rest of the pool's work together. */
static int put_port(fl__buf *b, unsigned v) {
  char port[8], *q = port + sizeof port;
  *--q = '\0';
  do *--q = (char)('0' + v % 10);
  while ((v /= 10) && q > port);
  return fl__buf_puts(b, q);
}

int fl__origin_of(const fl__url *u, fl__buf *out) {
  fl__buf_reset(out);
  return fl__buf_puts(out, u->scheme) || fl__buf_puts(out, "://") || fl__buf_puts(out, u->host) ||
                 fl__buf_puts(out, ":") || put_port(out, u->port)
             ? FL_ENOMEM
             : 0;
}

/* The key: the origin, "#" plus the fingerprint of every TLS setting for
 * https, and the proxy with its credentials: a connection is never reused
 * for another name, other TLS settings or another proxy. No length cap: a
 * host name is as long as the URL parser let it be. */
/* What the endpoint may speak for this HTTP version (flurry.h's enum):
 * https offers h2 by ALPN unless HTTP/1.x is asked for; http:// speaks h2
 * only by prior knowledge, and never to a forward proxy. */
static fl__h2_mode h2_mode(int https, int forward, int version) {
  switch (version) {
  case FL_HTTP_VERSION_1_0:
  case FL_HTTP_VERSION_1_1: return FL__H2_NO;
  case FL_HTTP_VERSION_2_PRIOR_KNOWLEDGE:
    return https ? FL__H2_ALPN : forward ? FL__H2_NO : FL__H2_PRIOR;
  case FL_HTTP_VERSION_2_ONLY: return https ? FL__H2_ONLY : forward ? FL__H2_NO : FL__H2_PRIOR;
  default: return https ? FL__H2_ALPN : FL__H2_NO;
  }
}

/* Keys of endpoints that differ only in what they may speak. */
static const char *const h2_key_suffix[] = {"", "", "~h2c", "~h2only"};

/* The connect-to rule for u, or NULL. */
static const fl__connect_rule *rule_for(const fl__route_target *t, const fl__url *u) {
  for (size_t i = 0; t && i < t->nrules; i++) {
    const fl__connect_rule *c = &t->rules[i];
    if ((!c->host1[0] || fl__strcaseeq(c->host1, u->host)) && (!c->port1 || c->port1 == u->port))
      return c;
  }
  return NULL;
}

/* "|unix:PATH" or "|to:HOST:PORT" after the key: connections to another
 * target are not interchangeable. */
static int key_target(fl__buf *k, const fl__route_target *t, const fl__connect_rule *rule,
                      const char *host, uint16_t port) {
  if (t && t->unix_path)
    return fl__buf_puts(k, t->unix_abstract ? "|unix@" : "|unix:") || fl__buf_puts(k, t->unix_path);
  if (rule)
    return fl__buf_puts(k, "|to:") || fl__buf_puts(k, host) || fl__buf_puts(k, ":") ||
           put_port(k, port);
  return 0;
}

int fl__route_build(fl__route *r, const fl__url *u, const fl__proxies *proxies,
                    const struct fl__tls_ctx *tls, int http_version, const fl__route_target *t) {
  int https = strcmp(u->scheme, "https") == 0;
  int unix_sock = t && t->unix_path;
  r->proxy = unix_sock ? NULL : fl__proxy_for(proxies, u);
  const fl__connect_rule *rule = r->proxy ? NULL : rule_for(t, u);
  const char *to_host = rule && rule->host2 ? rule->host2 : u->host;
  uint16_t to_port = rule && rule->port2 ? rule->port2 : u->port;
  fl__socks_kind socks = r->proxy ? fl__proxy_socks(r->proxy) : FL__SOCKS_NONE;
  int tunnel = r->proxy && !socks && (https || (t && t->tunnel));
  r->forward = r->proxy && !tunnel && !socks;
  fl__h2_mode h2 = h2_mode(https, r->forward, http_version);
  /* An https connection that may not speak h2 must not serve one that may. */
  const char *suffix = https && h2 == FL__H2_NO ? "~h1" : h2_key_suffix[h2];
  fl__buf *k = &r->key;
  fl__buf_reset(k);
  memset(&r->host, 0, sizeof r->host); /* a new key: the old host may not be its */
  if (fl__origin_of(u, &r->origin) || fl__buf_append(k, r->origin.data, r->origin.len) ||
      (https && (fl__buf_puts(k, "#") || fl__buf_puts(k, fl__tls_ctx_id(tls)))) ||
      (r->proxy && (fl__buf_puts(k, "|") || fl__buf_puts(k, fl__proxy_key(r->proxy)))) ||
      (tunnel && !https && fl__buf_puts(k, "|tunnel")) || (suffix[0] && fl__buf_puts(k, suffix)) ||
      key_target(k, t, rule, to_host, to_port))
    return FL_ENOMEM;
  fl__endpoint *ep = &r->ep;
  ep->key = k->data;
  ep->key_hash = fl__hash_str(k->data);
  ep->host = u->host;
  ep->port = u->port;
  ep->tls = https;
  ep->connect_host = r->proxy ? fl__proxy_host(r->proxy) : to_host;
  ep->connect_port = r->proxy ? fl__proxy_port(r->proxy) : to_port;
  ep->unix_path = unix_sock ? t->unix_path : NULL;
  ep->unix_abstract = unix_sock && t->unix_abstract;
  ep->tunnel = tunnel;
  ep->proxy_auth = ep->tunnel ? fl__proxy_auth(r->proxy) : NULL;
  ep->tunnel_auth = ep->tunnel && fl__proxy_digest(r->proxy) ? fl__digest_tunnel_auth : NULL;
  ep->tunnel_auth_ctx = ep->tunnel_auth ? r->proxy : NULL;
  ep->socks = socks;
  ep->socks_user = socks ? fl__proxy_user(r->proxy) : NULL;
  ep->socks_pass = socks ? fl__proxy_password(r->proxy) : NULL;
  ep->h2 = h2;
  return 0;
}

/* ------------------------------------------------------------ connect-to */

/* One field of a rule at *p, up to the next ':' outside brackets: its
 * start and length (brackets stripped). */
static int field(const char **p, const char **start, size_t *len) {
  const char *s = *p;
  if (*s == '[') {
    const char *end = strchr(s, ']');
    if (!end) return -1;
    *start = s + 1;
    *len = (size_t)(end - s - 1);
    s = end + 1;
    if (*s != ':' && *s != '\0') return -1;
  } else {
    const char *end = strchr(s, ':');
    if (!end) end = s + strlen(s);
    *start = s;
    *len = (size_t)(end - s);
    s = end;
  }
  *p = *s == ':' ? s + 1 : s;
  return 0;
}

static int port_field(const char *s, size_t len, uint16_t *out) {
  unsigned long v = 0;
  if (len == 0) {
    *out = 0;
    return 0;
  }
  if (len > 5) return -1;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (unsigned long)(s[i] - '0');
  }
  if (v == 0 || v > 65535) return -1;
  *out = (uint16_t)v;
  return 0;
}

int fl__connect_rule_parse(const char *s, fl__connect_rule *out, char *msg, size_t cap) {
  const char *p = s, *f[4];
  size_t n[4];
  memset(out, 0, sizeof *out);
  for (int i = 0; i < 4; i++) {
    if (field(&p, &f[i], &n[i]) != 0) goto bad;
    if (i < 3 && p[-1] != ':') goto bad; /* too few fields */
  }
  if (*p) goto bad; /* too many */
  if (port_field(f[1], n[1], &out->port1) || port_field(f[3], n[3], &out->port2)) goto bad;
  char *block = malloc(n[0] + n[2] + 2);
  if (!block) return FL_ENOMEM;
  memcpy(block, f[0], n[0]);
  block[n[0]] = '\0';
  memcpy(block + n[0] + 1, f[2], n[2]);
  block[n[0] + 1 + n[2]] = '\0';
  out->host1 = block; /* "" = any host; owns the block */
  out->host2 = n[2] ? block + n[0] + 1 : NULL;
  return 0;
bad:
  fl__msg(msg, cap, "bad connect-to rule \"%s\" (want HOST1:PORT1:HOST2:PORT2)", s);
  return FL_EBAD_ARGUMENT;
}

void fl__connect_rule_free(fl__connect_rule *r) {
  free(r->host1);
  r->host1 = r->host2 = NULL;
}
