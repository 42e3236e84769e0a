/* The keep-alive pool; contract in pool.h. */
#include "engine/pool.h"

#include <stdlib.h>
#include <string.h>

static const fl__conn_owner_ops conn_owner_ops;

void fl__pool_init(fl__pool *p) {
  memset(p, 0, sizeof *p);
  fl__queue_init(&p->hosts);
  fl__queue_init(&p->idle_lru);
  fl__queue_init(&p->waiters);
  fl__queue_init(&p->graveyard);
  fl__hash_init(&p->by_key);
  fl__hash_init(&p->learned);
  fl__queue_init(&p->learned_lru);
  p->env.stats = &p->stats;
}

/* ------------------------------------------------------ learned protocols */

/* What a host entry had learned (h->proto), kept after it went: the next
 * burst to an HTTP/1.1-only https origin then opens its connections at
 * once instead of waiting for one ALPN answer again. A stale entry costs
 * little: a burst opens one connection per request once (remembered
 * HTTP/1.1, now h2), or waits for one answer as for an unknown origin
 * (remembered h2). Each entry is either here or in its host, never both. */
typedef struct learned_proto {
  fl__hash_node hnode; /* p->learned */
  fl__queue node;      /* p->learned_lru */
  int proto;
  char key[]; /* the endpoint's key */
} learned_proto;

static int learned_key_eq(const fl__hash_node *n, const void *key) {
  return strcmp(fl__container_of(n, learned_proto, hnode)->key, key) == 0;
}

static void learned_forget(fl__pool *p, learned_proto *l) {
  fl__hash_remove(&p->learned, &l->hnode);
  fl__queue_remove(&l->node);
  free(l);
}

/* h is going away: remember what it learned (out of memory: forget it). */
static void learned_keep(fl__pool *p, const fl__host *h) {
  if (!h->proto) return;
  if (p->learned.count >= FL__POOL_LEARNED_MAX)
    learned_forget(p, fl__container_of(p->learned_lru.next, learned_proto, node));
  size_t n = strlen(h->ep.key) + 1;
  learned_proto *l = malloc(sizeof *l + n);
  if (!l) return;
  l->proto = h->proto;
  memcpy(l->key, h->ep.key, n);
  if (fl__hash_insert(&p->learned, &l->hnode, h->ep.key_hash)) {
    free(l);
    return;
  }
  fl__queue_insert_tail(&p->learned_lru, &l->node);
}

/* A new host entry takes what its origin was known to speak. */
static void learned_take(fl__pool *p, fl__host *h) {
  if (!p->learned.count) return;
  fl__hash_node *n = fl__hash_find(&p->learned, h->ep.key_hash, learned_key_eq, h->ep.key);
  if (!n) return;
  learned_proto *l = fl__container_of(n, learned_proto, hnode);
  h->proto = l->proto;
  learned_forget(p, l);
}

/* ----------------------------------------------------------------- hosts */

static int host_key_eq(const fl__hash_node *n, const void *key) {
  return strcmp(fl__container_of(n, fl__host, hnode)->ep.key, key) == 0;
}

/* Copy s into the host's string block at *at; returns the copy. */
static const char *keep(char **at, const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char *d = memcpy(*at, s, n);
  *at += n;
  return d;
}

static fl__host *host_find_or_add(fl__pool *p, const fl__endpoint *ep) {
  uint32_t hash = ep->key_hash;
  fl__hash_node *found = fl__hash_find(&p->by_key, hash, host_key_eq, ep->key);
  if (found) return fl__container_of(found, fl__host, hnode);
  /* The endpoint's strings live in one block after the host. */
  size_t need = strlen(ep->key) + strlen(ep->host) + strlen(ep->connect_host) + 3 +
                (ep->proxy_auth ? strlen(ep->proxy_auth) + 1 : 0) +
                (ep->unix_path ? strlen(ep->unix_path) + 1 : 0);
  fl__host *h = calloc(1, sizeof *h + need);
  if (!h) return NULL;
  char *at = (char *)(h + 1);
  h->ep = *ep;
  h->ep.key = keep(&at, ep->key);
  h->ep.host = keep(&at, ep->host);
  h->ep.connect_host = keep(&at, ep->connect_host);
  h->ep.proxy_auth = keep(&at, ep->proxy_auth);
  h->ep.unix_path = keep(&at, ep->unix_path);
  fl__queue_init(&h->idle);
  fl__queue_init(&h->busy);
  fl__queue_init(&h->roomy);
  h->connect_limit = p->max_connecting;
  if (fl__hash_insert(&p->by_key, &h->hnode, hash)) {
    free(h);
    return NULL;
  }
  fl__queue_insert_head(&p->hosts, &h->node);
  learned_take(p, h);
  return h;
}

static fl__host *host_get(fl__pool *p, const fl__endpoint *ep, fl__host_hint *hint) {
  if (hint && hint->pool == p && hint->host && hint->gen == p->host_gen) return hint->host;
  fl__host *h = host_find_or_add(p, ep);
  if (h && hint) *hint = (fl__host_hint){.pool = p, .host = h, .gen = p->host_gen};
  return h;
}

static void host_free(fl__pool *p, fl__host *h) {
  if (!p->stopping) learned_keep(p, h);
  p->host_gen++;
  fl__hash_remove(&p->by_key, &h->hnode);
  fl__queue_remove(&h->node);
  free(h);
}

/* A host with no connections and no waiter goes away, so a crawler's memory
 * does not grow with every host it ever saw. */
static void host_maybe_free(fl__pool *p, fl__host *h) {
  if (!h->nconns && !h->nwaiters) host_free(p, h);
}

/* ------------------------------------------------------------ connections */

static void idle_timer_cb(fl__timer *t);

static fl__conn *conn_new(fl__pool *p, fl__host *h) {
  fl__conn *c = malloc(sizeof *c);
  if (!c) return NULL;
  fl__conn_init(c, &p->env, &conn_owner_ops, &h->ep);
  c->host = h;
  fl__timer_init(p->env.loop, &c->idle_timer, idle_timer_cb);
  h->nconns++;
  p->total++;
  p->stats.created++;
  c->id = (uint32_t)p->stats.created;
  return c;
}

static fl__pool *pool_of(fl__conn *c) { return fl__container_of(c->env, fl__pool, env); }

static int per_host_ok(const fl__pool *p, const fl__host *h) {
  return !p->max_per_host || h->nconns < p->max_per_host;
}

/* A small server's listen backlog drops SYNs beyond it, and each dropped
 * one costs a 1, 3, 7 s retransmit: connects to one host go a few at a time. */
static int connect_ok(const fl__pool *p, const fl__host *h) {
  return !p->max_connecting || h->nconnecting < h->connect_limit;
}

static int can_open(const fl__pool *p, const fl__host *h) {
  return (!p->max_total || p->total < p->max_total) && per_host_ok(p, h) && connect_ok(p, h);
}

/* A busy connection of h with room for w, or NULL. Only bodiless GET/HEAD,
 * behind the same. The one being filled comes first: a burst of requests
 * (completions resending) then shares one write and one server read, as a
 * pipelining client's batch would; else the oldest that reported room. The
 * roomy list is pruned lazily (a connection that filled up or stopped
 * pipelining leaves when it is met), so each pick is O(1) amortized
 * however many connections the host has. */
static fl__conn *pipeline_target(fl__pool *p, fl__host *h, const fl__waiter *w) {
  if (p->env.pipeline_depth <= 1 || w->fresh || !w->pipelinable) return NULL;
  if (h->pipe_fill && fl__conn_room(h->pipe_fill, 1)) return h->pipe_fill;
  while (!fl__queue_empty(&h->roomy)) {
    fl__conn *c = fl__container_of(h->roomy.next, fl__conn, room_node);
    if (fl__conn_room(c, 1)) return c;
    fl__queue_remove(&c->room_node);
  }
  return NULL;
}

/* With pipelining on, c (if still open: a failed start closes it) is the
 * one its host's next pipelinable requests should join. */
static void fill_next(fl__pool *p, fl__conn *c) {
  if (p->env.pipeline_depth > 1 && c->state == FL__CONN_OPEN && c->pipelining) {
    c->host->pipe_fill = c;
    if (!fl__queue_linked(&c->room_node)) fl__queue_insert_tail(&c->host->roomy, &c->room_node);
  }
}

static void unqueue(fl__pool *p, fl__waiter *w) {
  fl__host *h = w->host;
  fl__queue_remove(&w->node);
  w->opening_since = 0;
  if (!h) return;
  w->host = NULL;
  h->nwaiters--;
  host_maybe_free(p, h);
}

static void grant(fl__pool *p, fl__waiter *w, fl__conn *c) {
  unqueue(p, w);
  w->ops->granted(w, c);
}

/* An HTTP/2 connection of h with room for one more stream, busy ones first,
 * or NULL; *full is set when an open one takes streams but has no room now,
 * *taking when an open one takes streams at all (no GOAWAY). */
static fl__conn *mux_target(fl__host *h, int *full, int *taking) {
  fl__queue *q;
  fl__queue_foreach(q, &h->busy) {
    fl__conn *c = fl__container_of(q, fl__conn, host_node);
    if (c->carrier == &fl__h1_carrier || c->state != FL__CONN_OPEN) continue;
    if (c->pipelining) *taking = 1;
    if (fl__conn_room(c, 1)) return c;
    /* Full at the server's limit (or before it said one), not at ours, and
     * no GOAWAY: its streams will end, wait for them. */
    if (c->pipelining && (!c->peer_streams || c->nexchanges >= c->peer_streams)) *full = 1;
  }
  return NULL;
}

/* Multiplexing: a stream on a connection with room; else wait while the
 * first connection has not said (ALPN) whether it multiplexes, or while
 * the host's h2 connection is full at the server's
 * SETTINGS_MAX_CONCURRENT_STREAMS (RFC 9113 9.1: one connection per
 * origin). Full at the client's own h2_max_concurrent_streams, another
 * connection may open (a load generator's -c connections x -m streams). 1
 * if settled (granted), 0 to go on, -1 to wait. */
static int try_mux(fl__pool *p, fl__waiter *w, fl__host *h) {
  if (h->proto == 20) {
    int full = 0, taking = 0;
    fl__conn *c = mux_target(h, &full, &taking);
    if (c) {
      p->stats.reused++;
      grant(p, w, c);
      return 1;
    }
    if (full && fl__queue_empty(&h->idle)) return -1;
    /* None takes streams (the last one got a GOAWAY or closed) and a new
     * one is on its way: wait for it, as for the first (curl would open a
     * connection per waiter: a GOAWAY in a burst made one per orphan). */
    if (taking || h->nopening == 0 || !fl__queue_empty(&h->idle)) return 0;
  } else if (h->proto != 0) {
    return 0;
  }
  uint64_t now = fl__loop_now(p->env.loop);
  if (h->nopening > 0) {
    if (!w->opening_since) w->opening_since = now;
    return -1;
  }
  /* What it waited for closed unanswered after its whole connect timeout
   * (curl would open a new connection per waiter, each with a timeout of
   * its own: N waiters fail one after another): the asker's timer fails it
   * now, with no connection of its own begun. */
  if (w->opening_since && w->connect_ms && now - w->opening_since >= w->connect_ms) return -1;
  return 0;
}

/* Give w a connection now if the limits allow. 1 if it is settled. */
static int try_assign(fl__pool *p, fl__waiter *w) {
  fl__host *h = w->host;
  if (h->ep.h2 != FL__H2_NO) {
    int r = try_mux(p, w, h);
    if (r) return r > 0;
  }
  if (!w->fresh && !fl__queue_empty(&h->idle)) {
    fl__conn *c = fl__container_of(h->idle.next, fl__conn, host_node);
    fl__queue_remove(&c->host_node);
    fl__queue_remove(&c->lru_node);
    fl__queue_insert_tail(&h->busy, &c->host_node);
    c->reused = 1;
    p->stats.reused++;
    grant(p, w, c);
    fill_next(p, c);
    return 1;
  }
  if (!can_open(p, h)) {
    /* No new connection may be opened: pipeline behind a busy one. */
    fl__conn *busy = pipeline_target(p, h, w);
    if (busy) {
      p->stats.reused++;
      grant(p, w, busy);
      /* already the one being filled, on the roomy list: nothing to note (a
       * closed one is neither: conn_closed unlinks it) */
      if (h->pipe_fill != busy || !fl__queue_linked(&busy->room_node)) fill_next(p, busy);
      return 1;
    }
    /* At the total limit, an idle connection of another host is worth less
     * than a waiting request: close the oldest one to make room. */
    if (fl__queue_empty(&p->idle_lru) || !per_host_ok(p, h) || !connect_ok(p, h)) return 0;
    fl__conn_close(fl__container_of(p->idle_lru.next, fl__conn, lru_node), 0, NULL);
    if (!can_open(p, h)) return 0;
  }
  fl__conn *c = conn_new(p, h);
  if (!c) {
    unqueue(p, w);
    w->ops->failed(w, FL_ENOMEM, "out of memory creating a connection");
    return 1;
  }
  fl__queue_insert_tail(&h->busy, &c->host_node);
  h->nconnecting++;
  h->nopening++;
  c->opening_counted = 1;
  c->connecting_counted = 1;
  grant(p, w, c);
  if (c->state != FL__CONN_DEAD) fl__conn_connect(c);
  return 1;
}

/* Hand freed capacity to waiters, oldest first. Re-entrant calls (a
 * hand-off that closes a connection) only ask for another pass. */
static void wake_waiters(fl__pool *p) {
  if (p->waking) {
    p->wake_again = 1;
    return;
  }
  p->waking = 1;
  do {
    p->wake_again = 0;
    fl__queue *q = p->waiters.next;
    while (q != &p->waiters) {
      fl__queue *next = q->next;
      fl__waiter *w = fl__container_of(q, fl__waiter, node);
      if (!try_assign(p, w) && p->max_total && p->total >= p->max_total &&
          fl__queue_empty(&p->idle_lru))
        break; /* nothing can move until a connection is released */
      if (p->wake_again) break;
      q = next;
    }
  } while (p->wake_again);
  p->waking = 0;
}

int fl__pool_acquire(fl__pool *p, fl__waiter *w, const fl__endpoint *ep, fl__host_hint *hint) {
  fl__host *h = host_get(p, ep, hint);
  if (!h) return FL_ENOMEM;
  w->host = h;
  h->nwaiters++;
  /* With nobody waiting it may take what is free before joining the queue
   * (and nothing that runs meanwhile can grant it twice). Otherwise the
   * waiters ahead of it could not use what is free now (per-host limits),
   * so it joins them first and tries at once, keeping their order. */
  if (fl__queue_empty(&p->waiters)) {
    if (!try_assign(p, w)) fl__queue_insert_tail(&p->waiters, &w->node);
    return 0;
  }
  fl__queue_insert_tail(&p->waiters, &w->node);
  try_assign(p, w);
  return 0;
}

void fl__pool_leave(fl__pool *p, fl__waiter *w) { unqueue(p, w); }

/* ------------------------------------------------------ the owner's side */

/* The server has taken the connection: the host's next one may start. A
 * finished TCP connect does not say so (the kernel completes it while the
 * connection still waits in the listen queue), a first response byte does.
 * A server slow to answer is given the benefit of the doubt after
 * FL__CONNECT_SETTLE_MS, and its host's limit doubles: slow answers come
 * from work done after accept(), so a burst of slow requests (200 x
 * /delay/1) still opens its connections within a few settle periods, while
 * a quick server with a small backlog (python's http.server: 5) answers
 * each within the period and keeps the limit small. */
static void connect_over(fl__pool *p, fl__conn *c) {
  if (!c->connecting_counted) return;
  c->connecting_counted = 0;
  fl__timer_stop(&c->idle_timer);
  c->host->nconnecting--;
  if (!p->stopping && !fl__queue_empty(&p->waiters)) wake_waiters(p);
}

static void conn_connected(fl__conn *c) {
  fl__pool *p = pool_of(c);
  if (c->connecting_counted && fl__timer_start(&c->idle_timer, FL__CONNECT_SETTLE_MS))
    connect_over(p, c);
}

static void conn_answered(fl__conn *c) { connect_over(pool_of(c), c); }

/* Room for another exchange on an open connection (a pipelined response
 * ended, a stream closed), or the connection just opened (learned: its
 * host learned what it speaks, and waiters held for that answer go on). */
static void room_for(fl__pool *p, fl__conn *c, int learned) {
  if (c->carrier != &fl__h1_carrier) {
    if (!fl__queue_empty(&p->waiters)) wake_waiters(p);
    return;
  }
  fill_next(p, c);
  if ((learned || (c->host && c->host->pipe_fill == c)) && !fl__queue_empty(&p->waiters))
    wake_waiters(p);
}

/* The connection is open: its host learns what it speaks; waiters held for
 * that answer, or for a multiplexed connection's room, go on. */
static void conn_ready(fl__conn *c) {
  fl__host *h = c->host;
  int learned = 0;
  if (c->opening_counted) {
    c->opening_counted = 0;
    h->nopening--;
    learned = h->ep.h2 != FL__H2_NO;
    if (learned) h->proto = c->carrier->version;
  }
  room_for(pool_of(c), c, learned);
}

/* The room op: only an open connection calls it, past conn_ready, so it
 * has nothing left to learn (the per-response call on a pipelined one). */
static void conn_room(fl__conn *c) { room_for(pool_of(c), c, 0); }

static void conn_idle(fl__conn *c, int reusable) {
  fl__pool *p = pool_of(c);
  uint32_t life = p->env.max_lifetime_ms;
  if (life && fl__loop_now(p->env.loop) - c->created_ms >= life)
    reusable = 0; /* old enough: DNS and load-balancer changes get their turn */
  if (!reusable || p->stopping) {
    fl__conn_close(c, 0, NULL);
    return;
  }
  fl__host *h = c->host;
  fl__queue_remove(&c->host_node);
  fl__queue_remove(&c->room_node);
  fl__queue_insert_head(&h->idle, &c->host_node);
  fl__queue_insert_tail(&p->idle_lru, &c->lru_node);
  uint64_t now = fl__loop_now(p->env.loop);
  uint32_t keep = c->idle_ms;
  if (life && c->created_ms + life - now < keep) keep = (uint32_t)(c->created_ms + life - now);
  c->idle_expiry = now + keep; /* the idle time, or the end of its lifetime */
  /* The timer is re-armed lazily; only an earlier expiry needs a restart. */
  int rearm = !fl__timer_active(&c->idle_timer) || c->idle_timer.due > c->idle_expiry;
  if ((rearm && fl__timer_start(&c->idle_timer, keep)) || fl__conn_watch_idle(c)) {
    fl__conn_close(c, 0, NULL); /* cannot expire or watch it: do not keep it */
    return;
  }
  wake_waiters(p);
}

static void conn_closed(fl__conn *c) {
  fl__pool *p = pool_of(c);
  fl__host *h = c->host;
  if (c->connecting_counted) {
    c->connecting_counted = 0;
    h->nconnecting--;
  }
  if (c->opening_counted) {
    c->opening_counted = 0;
    h->nopening--;
  }
  if (h->pipe_fill == c) h->pipe_fill = NULL;
  fl__timer_stop(&c->idle_timer);
  fl__queue_remove(&c->host_node);
  fl__queue_remove(&c->lru_node);
  fl__queue_remove(&c->room_node);
  fl__queue_insert_tail(&p->graveyard, &c->host_node);
  h->nconns--;
  p->total--;
  c->host = NULL;
  host_maybe_free(p, h);
  if (!p->stopping) wake_waiters(p);
}

static const fl__conn_owner_ops conn_owner_ops = {.connected = conn_connected,
                                                  .answered = conn_answered,
                                                  .ready = conn_ready,
                                                  .idle = conn_idle,
                                                  .room = conn_room,
                                                  .closed = conn_closed};

/* Lazily re-armed: a busy connection only moves idle_expiry. */
static void idle_timer_cb(fl__timer *t) {
  fl__conn *c = fl__container_of(t, fl__conn, idle_timer);
  if (c->connecting_counted) { /* new: its settle time ran out (see connect_over) */
    fl__guard *g = c->env->guard;
    fl__guard_enter(g);
    if (c->host->connect_limit < FL__CONNECT_LIMIT_MAX) c->host->connect_limit *= 2;
    connect_over(pool_of(c), c);
    fl__guard_leave(g);
    return;
  }
  if (!fl__queue_linked(&c->lru_node)) return; /* busy: re-armed when it goes idle again */
  uint64_t now = fl__loop_now(c->env->loop);
  if (c->idle_expiry > now && fl__timer_start(t, c->idle_expiry - now) == 0) return;
  fl__guard *g = c->env->guard;
  fl__guard_enter(g);
  fl__conn_close(c, 0, NULL);
  fl__guard_leave(g);
}

void fl__pool_stats(const fl__pool *p, fl_pool_stats *out) {
  *out = p->stats;
  out->open = p->total;
  uint32_t idle = 0, waiting = 0, connecting = 0;
  fl__queue *q, *hq;
  fl__queue_foreach(q, &p->idle_lru) idle++;
  fl__queue_foreach(q, &p->waiters) waiting++;
  fl__queue_foreach(hq, &p->hosts) {
    fl__host *h = fl__container_of(hq, fl__host, node);
    fl__queue_foreach(q, &h->busy) {
      if (fl__container_of(q, fl__conn, host_node)->state != FL__CONN_OPEN) connecting++;
    }
  }
  out->idle = idle;
  out->waiting = waiting;
  out->connecting = connecting;
  out->in_use = out->open - idle - connecting;
}

void fl__pool_free_graveyard(fl__pool *p) {
  while (!fl__queue_empty(&p->graveyard)) {
    fl__conn *c = fl__container_of(p->graveyard.next, fl__conn, host_node);
    fl__queue_remove(&c->host_node);
    fl__conn_dispose(c);
    free(c);
  }
}

void fl__pool_close_idle(fl__pool *p) {
  while (!fl__queue_empty(&p->idle_lru))
    fl__conn_close(fl__container_of(p->idle_lru.next, fl__conn, lru_node), 0, NULL);
}

void fl__pool_close_all(fl__pool *p) {
  p->stopping = 1;
  while (!fl__queue_empty(&p->hosts)) {
    fl__host *h = fl__container_of(p->hosts.next, fl__host, node);
    h->nwaiters++; /* keep it while its connections go */
    while (!fl__queue_empty(&h->idle))
      fl__conn_close(fl__container_of(h->idle.next, fl__conn, host_node), 0, NULL);
    while (!fl__queue_empty(&h->busy))
      fl__conn_close(fl__container_of(h->busy.next, fl__conn, host_node), 0, NULL);
    host_free(p, h);
  }
  fl__hash_free(&p->by_key);
  while (!fl__queue_empty(&p->learned_lru))
    learned_forget(p, fl__container_of(p->learned_lru.next, learned_proto, node));
  fl__hash_free(&p->learned);
}
