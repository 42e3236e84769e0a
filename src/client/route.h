/* A request hop's route: its origin, whether it goes through a proxy, and
 * the endpoint (pool key, where to connect, TLS, tunnel) the pool keys
 * connections by. Built once per hop, here only; the buffers are the
 * request's and are reused, so a steady stream of requests allocates
 * nothing here. */
#ifndef FL_ROUTE_H
#define FL_ROUTE_H

#include "base/buf.h"
#include "base/url.h"
#include "client/proxy.h"
#include "engine/conn.h"
#include "engine/pool.h"

struct fl__tls_ctx;

typedef struct fl__route {
  fl__endpoint ep;
  fl__buf key;            /* ep.key */
  fl__buf origin;         /* "scheme://host:port" */
  const fl__proxy *proxy; /* or NULL */
  int forward;            /* plain http through the proxy: absolute-form target */
  fl__host_hint host;     /* the pool's host for ep.key (pool.h) */
} fl__route;

void fl__route_init(fl__route *r);
void fl__route_dispose(fl__route *r);
/* For URL u (which must outlive the route's use). 0 or FL_ENOMEM. */
/* http_version: FL_HTTP_VERSION_* (what the endpoint may speak). */
int fl__route_build(fl__route *r, const fl__url *u, const fl__proxies *proxies,
                    const struct fl__tls_ctx *tls, int http_version);
/* "scheme://host:port" of u into out (reset first): the one origin builder. */
int fl__origin_of(const fl__url *u, fl__buf *out);
/* Schemes this build can fetch. */
int fl__scheme_supported(const char *scheme);

#endif
