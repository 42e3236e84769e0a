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
#include "net/sockopt.h"

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
  fl_hooks hooks;  /* fl_client_set_hooks (hooks.c); on_event and pre_send NULL: none */
  int in_hook;     /* a hook is running: what it may call is checked */
  int hooks_on;    /* on_event or pre_send is set (one test on the send path) */
  int send_checks; /* free_requested, hooks_on or drain.on: fl_request_send's one test
                      (fl__client_send_checks after any of them changes) */
  /* connection lifecycle options (session.c) */
  fl__sock_opts sockopts; /* env.sockopts points here when any is set */
  char *interface;
  char *unix_socket;
  struct fl__connect_rule *connect_to;
  size_t nconnect_to;
  /* fl_client_drain (drain.c) */
  struct {
    int on;        /* new sends refused */
    int reported;  /* cb ran (or is about to) */
    int timed_out; /* the deadline cancelled the rest */
    fl_drain_cb cb;
    void *data;
    fl__timer deadline;
    fl__defer check; /* the last request finished: report from the loop */
  } drain;
};

/* Recompute c->send_checks. */
static inline void fl__client_send_checks(fl_client *c) {
  c->send_checks = c->free_requested || c->hooks_on || c->drain.on;
}

/* lifecycle.c: the connection lifecycle options, checked and copied (0, or
 * FL_EBAD_ARGUMENT / FL_ENOMEM with the reason in msg); freed by _free,
 * also after a failed init. */
int fl__client_lifecycle_init(fl_client *c, const fl_client_options *o, char *msg, size_t cap);
void fl__client_lifecycle_free(fl_client *c);

/* drain.c: a request left c->inflight (called after unlinking it). */
void fl__client_drain_note(fl_client *c);
/* drain.c: stop the drain's timer and defer (the client is going away). */
void fl__client_drain_free(fl_client *c);

/* hooks.c: a hook is running (fl_request_free and fl_client_free abort,
 * naming fn, as they cannot report the error). */
void fl__hooks_forbid(const fl_client *c, const char *fn);

/* jar.c: the client's cookie jar on the request path. */
int fl__client_jar_init(fl_client *c);
void fl__client_jar_free(fl_client *c);

#endif
