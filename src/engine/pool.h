/* The keep-alive pool: connections grouped by endpoint (hosts, keyed by the
 * endpoint's key), a total and a per-host limit, a FIFO of waiters (O(1)
 * join and leave), idle expiry honouring the server's Keep-Alive: timeout=,
 * pipelining behind busy connections once no new one may be opened.
 *
 * Lifetimes
 * - The pool makes, owns and frees hosts and connections. A host lives while
 *   it has connections or waiters. A closed connection is unlinked at once
 *   and parked on the graveyard until fl__pool_free_graveyard, which the
 *   owner calls from its outermost guard leave.
 * - A waiter is the asker's (a request embeds one). fl__pool_acquire grants
 *   it a connection at once or queues it; granted runs at most once per
 *   acquire, and the asker must carry its exchange on the connection before
 *   returning (fl__conn_carry), or not at all. */
#ifndef FL_POOL_H
#define FL_POOL_H

#include "base/common.h"
#include "base/hash.h"
#include "engine/conn.h"

typedef struct fl__host fl__host;

/* A new connection counts as a connect attempt in progress until the server
 * answers on it, or this long after its TCP connect (see pool.c). */
#define FL__CONNECT_SETTLE_MS 20
/* Each settle that runs out unanswered doubles the host's connect limit,
 * up to this. */
#define FL__CONNECT_LIMIT_MAX 2560
typedef struct fl__waiter fl__waiter;

typedef struct fl__waiter_ops {
  void (*granted)(fl__waiter *w, fl__conn *c);
  void (*failed)(fl__waiter *w, int err, const char *msg); /* out of memory making a connection */
} fl__waiter_ops;

struct fl__waiter {
  const fl__waiter_ops *ops;
  fl__queue node;  /* pool->waiters while queued */
  fl__host *host;  /* while queued (a reference) */
  int fresh;       /* never an idle connection (a retry after a stale one) */
  int pipelinable; /* may share a busy connection */
  /* Multiplex waiting: a request to an h2-capable host waits for the
   * host's first connection to say (ALPN) whether it speaks h2, instead of
   * opening one of its own. That wait is part of connecting: opening_since
   * is when it began (loop ms; the pool sets it, and clears it at grant or
   * leave), and connect_ms the asker's connect timeout (0: none), which the
   * asker writes when it waits. If the awaited connection closes without
   * answering once connect_ms has passed, the waiter opens none of its own
   * (its asker's timer is due and fails it). */
  uint64_t opening_since;
  uint32_t connect_ms;
};

struct fl__host {
  fl__queue node;      /* pool->hosts */
  fl__hash_node hnode; /* pool->by_key */
  fl__endpoint ep;     /* key and host strings owned here */
  fl__queue idle;      /* idle conns, most recently used first */
  fl__queue busy;      /* connecting or carrying */
  fl__conn *pipe_fill; /* pipelining: the connection being filled, or NULL */
  fl__queue roomy;     /* pipelining: busy conns that had room when last seen (room_node) */
  uint32_t nconns;
  uint32_t nconnecting;   /* connects in progress (see connect_over) */
  uint32_t connect_limit; /* of those at once: starts at the pool's max_connecting */
  uint32_t nwaiters;
  int proto;         /* what its server speaks, once a connection learned it: 0 unknown,
                         11 HTTP/1.1, 20 HTTP/2 (only for endpoints that may speak h2) */
  uint32_t nopening; /* connections not open yet (an h2-capable host's requests wait for
                         the first one's ALPN answer instead of opening more) */
};

/* What an origin's server speaks outlives its host entry (a host goes
 * when its last connection does): the pool remembers it for this many
 * origins, the least recently learned forgotten first. */
#define FL__POOL_LEARNED_MAX 256

typedef struct fl__pool {
  fl__conn_env env;                 /* shared by every connection; filled by the owner */
  uint32_t max_total, max_per_host; /* 0: no limit */
  uint32_t max_connecting;          /* TCP connects in progress per host; 0: no limit */
  fl__queue hosts;
  fl__queue idle_lru;  /* idle conns of every host, oldest first */
  fl__queue waiters;   /* FIFO of waiters */
  fl__queue graveyard; /* closed conns awaiting free (via host_node) */
  uint32_t total;      /* open conns (resolving, connecting, idle, busy) */
  int waking, wake_again;
  int stopping;          /* the owner is going away: no grants, no keeping */
  fl__hash by_key;       /* hosts by endpoint key (a crawler holds thousands) */
  fl__hash learned;      /* protocols of origins with no host entry now (pool.c) */
  fl__queue learned_lru; /* the same, least recently learned first */
  uint64_t host_gen;     /* bumped whenever a host is freed: older hints are stale */
  fl_pool_stats stats;
} fl__pool;

/* The asker's memory of which host an endpoint key maps to, so a request
 * resent to the same place skips the hash lookup and key compare. Owned by
 * the asker (a route), zeroed when its key changes; the pool fills it and
 * trusts it only while no host was freed since (host_gen). */
typedef struct fl__host_hint {
  const fl__pool *pool;
  struct fl__host *host;
  uint64_t gen;
} fl__host_hint;

void fl__pool_init(fl__pool *p);
/* Give w a connection to ep now (granted runs before this returns), start
 * one, or queue w. 0, or FL_ENOMEM (nothing happened). */
int fl__pool_acquire(fl__pool *p, fl__waiter *w, const fl__endpoint *ep, fl__host_hint *hint);
/* Take w off the queue (harmless when not queued). */
void fl__pool_leave(fl__pool *p, fl__waiter *w);
/* Counts for fl_client_pool_stats. */
void fl__pool_stats(const fl__pool *p, fl_pool_stats *out);
void fl__pool_free_graveyard(fl__pool *p);
/* The owner is going: close everything (waiters must be gone). */
void fl__pool_close_all(fl__pool *p);
/* Close every idle connection (busy ones go on). The caller holds the guard. */
void fl__pool_close_idle(fl__pool *p);

#endif
