/* Asynchronous name resolution: c-ares driven by the reactor, plus a cache.
 *
 * - c-ares sockets are watched through ARES_OPT_SOCK_STATE_CB -> fl__io;
 *   readiness -> ares_process_fd; one fl__timer re-armed from ares_timeout
 *   after every call into c-ares. No threads.
 * - Lookups use ares_getaddrinfo (A and AAAA, AF_UNSPEC); /etc/hosts honoured.
 * - Cache per resolver, or one shared across threads (dns_share.h: one
 *   lookup per name in flight across all of them): positive entries live for the smallest record TTL,
 *   clamped to [ttl_min_ms, ttl_max_ms]; failures for negative_ttl_ms.
 *   ttl_max_ms == 0 disables the cache. One lookup in flight per name: later
 *   requests for the same name wait on it.
 * - Resolve overrides "host:port:addr[,addr...]" (curl --resolve) answer
 *   before the cache; IP literals answer at once without c-ares.
 * - Addresses are returned ordered for Happy Eyeballs (RFC 8305 section 4:
 *   IPv6 first, then alternating families), with the port set.
 */
#ifndef FL_DNS_H
#define FL_DNS_H

#include "base/common.h"
#include "loop/loop.h"
#include "net/dns_addr.h" /* FL__DNS_MAX_ADDRS, fl__dns_order_addrs */

typedef struct fl__resolver fl__resolver;
typedef struct fl__dns_req fl__dns_req;
typedef void (*fl__dns_cb)(fl__dns_req *req);

typedef struct fl__resolver_options {
  const char *servers;        /* "ip[:port],[v6]:port,..." or NULL for system */
  const char *const *resolve; /* NULL-terminated overrides, or NULL */
  uint32_t timeout_ms;        /* whole lookup (0 = 5000) */
  uint32_t ttl_min_ms;
  uint32_t ttl_max_ms; /* 0 = no cache */
  uint32_t negative_ttl_ms;
  int family; /* 4: IPv4 addresses only, 6: IPv6 only, 0: both */
  /* A cache shared with resolvers on other threads (net/dns_share.h), used
   * instead of this resolver's own (the ttl options above are then the
   * share's business); it must outlive the resolver. NULL: our own. */
  struct fl__dns_share *share;
} fl__resolver_options;

/* Embedded in the caller's object: no allocation per lookup unless more
 * than two addresses come back. Zero it before first use (fl__dns_cancel
 * relies on entry == NULL when not pending), do not pass a pending req to
 * fl__dns_resolve again, and call fl__dns_cancel before freeing it (also
 * after its callback: it frees the addresses). */
struct fl__dns_req {
  /* result, valid when the lookup is done */
  int err; /* 0, FL_ERESOLVE, FL_EDNS_SERVER_FAIL, FL_EDNS_TIMEOUT, FL_ENOMEM */
  size_t naddrs;
  /* naddrs addresses (at most FL__DNS_MAX_ADDRS): in `few` for one or two
   * (the common case: one per family), else in an array allocated for
   * them, freed by fl__dns_cancel or the next resolve. */
  fl__sockaddr *addrs;
  fl__sockaddr few[2];
  int cache_hit; /* answered from cache, override or literal */
  char errmsg[160];
  /* private */
  fl__dns_cb cb;
  void *data;
  fl__queue node; /* waiting on an in-flight lookup */
  void *entry;
  uint16_t port;
};

/* 0 or FL_EINVAL (bad servers/override syntax; detail in errbuf) / FL_ENOMEM. */
int fl__resolver_new(fl_loop *loop, const fl__resolver_options *opts, fl__resolver **out,
                     char *errbuf, size_t errcap);
/* Pending requests are dropped without callbacks (their owners cancel first). */
void fl__resolver_free(fl__resolver *r);

/* Drop the cache (the own one; a share is flushed by its owner) and
 * rebuild the c-ares channel (re-reading resolv.conf unless servers were
 * given); lookups in flight are asked again on the new channel, their
 * waiters and deadlines unchanged. 0, or FL_ENOMEM / FL_EINVAL with the
 * old channel kept. */
int fl__resolver_reload(fl__resolver *r);

/* Start a lookup of host (name or IP literal) for port. Returns:
 *   0  done now: result in *req, cb will not be called (literal, override,
 *      cache hit, or error found at once, with req->err set);
 *   1  pending: cb(req) fires later from the loop, exactly once, unless
 *      fl__dns_cancel is called first. */
int fl__dns_resolve(fl__resolver *r, fl__dns_req *req, const char *host, uint16_t port,
                    fl__dns_cb cb, void *data);
void fl__dns_cancel(fl__resolver *r, fl__dns_req *req); /* harmless when not pending */

/* Cache arithmetic, exposed for unit tests: the lifetime (ms) of a positive
 * entry whose smallest record TTL is ttl_s seconds. */
uint64_t fl__dns_cache_lifetime_ms(const fl__resolver_options *o, uint32_t ttl_s);

/* Counters, for tests and debugging. */
typedef struct fl__dns_stats {
  uint64_t queries;       /* lookups handed to c-ares (ares_getaddrinfo calls) */
  uint64_t joined;        /* requests that waited on a lookup already in flight */
  uint64_t cache_hits;    /* positive answers from the cache */
  uint64_t negative_hits; /* failures answered from the cache */
  uint64_t watch_errors;  /* fl__io/fl__timer start failures (ENOMEM) */
  uint32_t in_flight;     /* lookups c-ares still holds (waiters or not) */
  uint32_t cache_entries;
  uint32_t sockets; /* c-ares sockets being watched */
  uint32_t names;   /* names being looked up for us (ours, or parked on a share's) */
} fl__dns_stats;
void fl__resolver_stats(const fl__resolver *r, fl__dns_stats *out);

/* Test hook: store a positive cache entry for name as if a lookup had
 * answered addrs with the given TTL. 0 or FL_EINVAL. */
int fl__dns_cache_put(fl__resolver *r, const char *name, const fl__sockaddr *addrs, size_t n,
                      uint32_t ttl_s);

#endif
