/* The client: a session of requests sharing a pool of connections, a DNS
 * resolver and cache, a TLS context, a cookie jar, proxies and rate limits.
 *
 * Lifetimes
 * - fl_client owns its pool (and through it every connection), the
 *   resolver, the TLS context, the jar, the proxies and the shared read
 *   buffer; it frees them in fl_client_free, after every in-flight request
 *   has completed with FL_ECANCELED.
 * - Every entry from the loop into client or engine code enters the
 *   client's guard. The outermost leave frees the connections closed
 *   meanwhile, and the client itself when it was freed from inside one of
 *   its callbacks. */
#ifndef FL_CLIENT_H
#define FL_CLIENT_H

#include "base/buf.h"
#include "base/common.h"
#include "base/guard.h"
#include "client/proxy.h"
#include "client/ratelimit.h"
#include "engine/pool.h"
#include "loop/loop.h"
#include "net/dns.h"

struct fl__cookie_jar;
struct fl__tls_ctx;

struct fl_client {
  fl_loop *loop;
  uint64_t id; /* unique in the process: a request's route names its client by it, not by
                  an address a later client may reuse */
  fl_client_options opts;
  char *user_agent;
  char *dns_servers;
  struct fl__tls_ctx *tls;
  fl__resolver *resolver;
  fl__pool pool;
  fl__guard guard;
  fl__queue inflight;         /* requests in flight, by inflight_node */
  struct fl__cookie_jar *jar; /* NULL when cookies are off */
  fl__proxies proxies;
  fl__ratelimit ratelimit;
  uint64_t rng;    /* back-off jitter */
  fl__buf scratch; /* the jar's Cookie header, trace text */
  char *rbuf;      /* FL__READ_BUF_SIZE, shared by the connections */
  int free_requested;
  fl_share *share; /* attached (net/share.h), or NULL */
};

/* jar.c: the client's cookie jar on the request path. */
int fl__client_jar_init(fl_client *c);
void fl__client_jar_free(fl_client *c);

#endif
