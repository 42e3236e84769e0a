/* Routes: origin, proxy and pool key of a hop; contract in route.h. */
#include "client/route.h"

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

int fl__route_build(fl__route *r, const fl__url *u, const fl__proxies *proxies,
                    const struct fl__tls_ctx *tls, int http_version) {
  int https = strcmp(u->scheme, "https") == 0;
  r->proxy = fl__proxy_for(proxies, u);
  fl__socks_kind socks = r->proxy ? fl__proxy_socks(r->proxy) : FL__SOCKS_NONE;
  r->forward = r->proxy && !https && !socks;
  fl__h2_mode h2 = h2_mode(https, r->forward, http_version);
  /* An https connection that may not speak h2 must not serve one that may. */
  const char *suffix = https && h2 == FL__H2_NO ? "~h1" : h2_key_suffix[h2];
  fl__buf *k = &r->key;
  fl__buf_reset(k);
  memset(&r->host, 0, sizeof r->host); /* a new key: the old host may not be its */
  if (fl__origin_of(u, &r->origin) || fl__buf_append(k, r->origin.data, r->origin.len) ||
      (https && (fl__buf_puts(k, "#") || fl__buf_puts(k, fl__tls_ctx_id(tls)))) ||
      (r->proxy && (fl__buf_puts(k, "|") || fl__buf_puts(k, fl__proxy_key(r->proxy)))) ||
      (suffix[0] && fl__buf_puts(k, suffix)))
    return FL_ENOMEM;
  fl__endpoint *ep = &r->ep;
  ep->key = k->data;
  ep->key_hash = fl__hash_str(k->data);
  ep->host = u->host;
  ep->port = u->port;
  ep->tls = https;
  ep->connect_host = r->proxy ? fl__proxy_host(r->proxy) : u->host;
  ep->connect_port = r->proxy ? fl__proxy_port(r->proxy) : u->port;
  ep->tunnel = r->proxy && https && !socks;
  ep->proxy_auth = ep->tunnel ? fl__proxy_auth(r->proxy) : NULL;
  ep->tunnel_auth = ep->tunnel && fl__proxy_digest(r->proxy) ? fl__digest_tunnel_auth : NULL;
  ep->tunnel_auth_ctx = ep->tunnel_auth ? r->proxy : NULL;
  ep->socks = socks;
  ep->socks_user = socks ? fl__proxy_user(r->proxy) : NULL;
  ep->socks_pass = socks ? fl__proxy_password(r->proxy) : NULL;
  ep->h2 = h2;
  return 0;
}
