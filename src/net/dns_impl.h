/* Resolver internals shared by dns.c (answers at once, lookups, waiters,
 * delivery, lifecycle) and dns_ares.c (c-ares on the reactor: channel,
 * sockets, timer, answers, messages). Included by those two files only. */
#ifndef FL_DNS_IMPL_H
#define FL_DNS_IMPL_H

#include <ares.h>

#include "base/common.h"
#include "base/hash.h"
#include "loop/loop.h"
#include "net/dns.h"
#include "net/dns_addr.h"
#include "net/dns_cache.h"
#include "net/dns_share.h"

#define FL__DNS_NAME_MAX 254 /* 253 octets plus an optional trailing dot */

/* One ares_getaddrinfo for one lower-cased name, and the requests waiting
 * on it. */
typedef struct fl__dns_lookup {
  fl__resolver *r;
  fl__hash_node h;   /* in r->inflight until the result is known */
  fl__queue node;    /* r->lookups: every live lookup */
  fl__queue pending; /* r->pending, start order = deadline order, until done */
  fl__queue waiters; /* fl__dns_req.node */
  fl__defer deliver;
  uint64_t deadline;
  unsigned in_ares : 1;     /* c-ares still holds our callback */
  unsigned done : 1;        /* result known */
  unsigned delivered : 1;   /* waiters answered */
  unsigned share_owner : 1; /* r->share counts on us to finish or abandon the name */
  unsigned reask : 1;       /* a reload destroyed its channel: ask the new one */
  fl__dns_park *park;       /* parked on another resolver's lookup of the name */
  uint32_t ttl;             /* smallest record TTL of the answer */
  int err;
  int status;
  size_t naddrs;
  fl__sockaddr addrs[FL__DNS_MAX_ADDRS];
  char name[];
} fl__dns_lookup;

/* A socket c-ares asked us to watch. */
typedef struct fl__dns_sock {
  fl__io io;
  fl__resolver *r;
  uint32_t want;
} fl__dns_sock;

struct fl__resolver {
  fl_loop *loop;
  ares_channel channel;
  int have_channel;
  uint32_t timeout_ms;
  int family; /* 0, 4 or 6: the addresses kept (fl__resolver_options) */
  fl__dns_override *overrides;
  size_t noverrides;
  fl__dns_sock **socks;
  size_t nsocks, capsocks;
  fl__timer timer;
  fl__dns_cache cache;  /* unused with a share */
  fl__dns_share *share; /* NULL: r->cache */
  char *servers;        /* as given (NULL: the system's), for a reload */
  int reloading;        /* ares_destroy's callbacks belong to a reload */
  fl__hash inflight;    /* fl__dns_lookup.h, by name, until the result is known */
  fl__queue lookups;
  fl__queue pending;
  int delivering;   /* inside a user callback */
  int dead;         /* fl__resolver_free was called during delivery */
  int watch_failed; /* a c-ares socket could not be watched (no memory) */
  int cancel_oom;   /* inside ares_cancel for that: ECANCELLED means ENOMEM */
  fl__dns_stats stats;
};

/* dns.c: the result of lk is known (err 0: lk->addrs): stop accepting
 * waiters, tell a share, answer the waiters from the loop. */
void fl__dns_lookup_finish(fl__resolver *r, fl__dns_lookup *lk, int err, int status);
/* dns.c: free lk once c-ares no longer holds it and its waiters were
 * answered. */
void fl__dns_lookup_maybe_free(fl__dns_lookup *lk);

/* dns_ares.c */
/* ares_library_init, once per process. 0, or FL_ENOMEM (reason in errbuf,
 * which may be NULL with errcap 0). */
int fl__dns_ares_library_init(char *errbuf, size_t errcap);
/* The channel of r with r->timeout_ms and servers ("ip[:port],..." or NULL
 * for the system's). 0, FL_EINVAL or FL_ENOMEM (reason in errbuf). */
int fl__dns_ares_init(fl__resolver *r, const char *servers, char *errbuf, size_t errcap);
/* Rebuild the channel: a new one is made first (on failure the old one
 * stays, FL_EINVAL / FL_ENOMEM); the old one is destroyed, and every lookup
 * not done is started again on the new one. */
int fl__dns_ares_reload(fl__resolver *r);
/* Destroy the channel (lookups get ARES_EDESTRUCTION and are left to the
 * caller), forget its sockets, stop the timer. */
void fl__dns_ares_destroy(fl__resolver *r);
/* Hand lk (already in r->inflight, r->pending and r->lookups) to c-ares.
 * The answer fills r->cache, marks lk done and schedules lk->deliver
 * (possibly before this returns); a deadline passed does the same with
 * FL_EDNS_TIMEOUT. */
void fl__dns_ares_start(fl__resolver *r, fl__dns_lookup *lk);
/* Re-arm r->timer (a lookup was added without calling c-ares). */
void fl__dns_ares_rearm(fl__resolver *r);
/* The r->timer callback: c-ares timeouts and lookup deadlines. */
void fl__dns_ares_on_timer(fl__timer *t);
/* req fails with err (an fl_err) and a message naming the host and, where
 * it helps, the c-ares status. */
void fl__dns_ares_set_error(fl__resolver *r, fl__dns_req *req, int err, int status,
                            const char *name);

#endif
