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

/* A --connect-to rule: requests to host1:port1 ("" / 0: any) connect to
 * host2:port2 (NULL / 0: the URL's). Strings malloc'd, in one block with
 * the rule (free the rule's host1 block: fl__connect_rule_free). */
typedef struct fl__connect_rule {
  char *host1, *host2;
  uint16_t port1, port2;
} fl__connect_rule;
/* "HOST1:PORT1:HOST2:PORT2" ([v6] in brackets). 0, FL_EBAD_ARGUMENT (reason
 * in msg) or FL_ENOMEM. */
int fl__connect_rule_parse(const char *s, fl__connect_rule *out, char *msg, size_t cap);
void fl__connect_rule_free(fl__connect_rule *r);

/* Where a hop connects, besides its URL and proxy: a Unix socket (the
 * request's, else the client's) and the client's connect-to rules. */
typedef struct fl__route_target {
  const char *unix_path; /* or NULL */
  int unix_abstract;
  const fl__connect_rule *rules;
  size_t nrules;
  int tunnel; /* through an HTTP proxy: CONNECT even for http (a WebSocket
                 upgrade: proxies do not relay one in absolute form) */
} fl__route_target;

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
/* t: NULL or where to connect instead (see fl__route_target); it must
 * outlive the route's use. */
int fl__route_build(fl__route *r, const fl__url *u, const fl__proxies *proxies,
                    const struct fl__tls_ctx *tls, int http_version, const fl__route_target *t);
/* "scheme://host:port" of u into out (reset first): the one origin builder. */
int fl__origin_of(const fl__url *u, fl__buf *out);
/* Schemes this build can fetch. */
int fl__scheme_supported(const char *scheme);

#endif
