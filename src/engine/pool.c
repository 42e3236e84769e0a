/* Keep-alive connection pool: hosts keyed by scheme/host/port, a total and a
 * per-host limit, a FIFO of waiting requests (O(1) join and leave), idle
 * expiry honouring the server's Keep-Alive: timeout=. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/client.h"
#include "net/tls.h"

void fl__pool_init(fl__pool *p) {
  memset(p, 0, sizeof *p);
  fl__queue_init(&p->hosts);
  fl__queue_init(&p->idle_lru);
  fl__queue_init(&p->waiters);
}


/* ----------------------------------------------------------------- hosts */

/* "scheme://host:port", the host as named (the SNI and certificate name),
 * and for https "#" plus the fingerprint of every TLS setting: a connection
 * is never reused for another name or other settings. */
/* Built by hand: this runs for every request, and snprintf cost more than
 * the rest of the pool's work together. */
static int key_put(char **p, char *end, const char *s) {
  size_t n = strlen(s);
  if ((size_t)(end - *p) <= n) return FL_EINVAL;
  memcpy(*p, s, n);
  *p += n;
  return 0;
}

static int make_key(const fl_request *req, char *buf, size_t cap) {
  int tls = strcmp(req->url.scheme, "https") == 0;
  const fl__proxy *px = fl__proxy_for(req->client, &req->url);
  char port[8], *q = port + sizeof port;
  *--q = '\0';
  unsigned v = req->url.port;
  do *--q = (char)('0' + v % 10); while ((v /= 10) && q > port);
  char *p = buf, *end = buf + cap;
  int err = (px && (key_put(&p, end, fl__proxy_key(px)) || key_put(&p, end, "|"))) ||
            key_put(&p, end, req->url.scheme) || key_put(&p, end, "://") ||
            key_put(&p, end, req->url.host) || key_put(&p, end, ":") || key_put(&p, end, q) ||
            (tls && (key_put(&p, end, "#") || key_put(&p, end, fl__tls_ctx_id(req->client->tls))));
  if (err || p == end) return FL_EINVAL;
  *p = '\0';
  return 0;
}

/* Hosts by key in a chained hash table (a crawler may hold thousands of
 * hosts with idle connections); the hosts list stays for iteration. */
static fl__host *host_find(fl_client *c, const char *key, uint32_t hash) {
  fl__pool *p = &c->pool;
  if (!p->nbuckets) return NULL;
  for (fl__host *h = p->buckets[hash & (p->nbuckets - 1)]; h; h = h->hash_next)
    if (h->hash == hash && strcmp(h->key, key) == 0) return h;
  return NULL;
}

/* Grow at load factor 1; 0 or FL_ENOMEM (the table is left as it was). */
static int table_grow(fl__pool *p) {
  size_t n = p->nbuckets ? p->nbuckets * 2 : 16;
  fl__host **b = calloc(n, sizeof *b);
  if (!b) return FL_ENOMEM;
  for (size_t i = 0; i < p->nbuckets; i++) {
    for (fl__host *h = p->buckets[i], *next; h; h = next) {
      next = h->hash_next;
      h->hash_next = b[h->hash & (n - 1)];
      b[h->hash & (n - 1)] = h;
    }
  }
  free(p->buckets);
  p->buckets = b, p->nbuckets = n;
  return 0;
}

static void table_remove(fl__pool *p, fl__host *h) {
  for (fl__host **pp = &p->buckets[h->hash & (p->nbuckets - 1)]; *pp; pp = &(*pp)->hash_next)
    if (*pp == h) {
      *pp = h->hash_next;
      p->nhosts--;
      return;
    }
}

static fl__host *host_get(fl_client *c, const fl_request *req) {
  char key[512];
  if (make_key(req, key, sizeof key)) return NULL;
  uint32_t hash = fl__hash_str(key);
  fl__host *h = host_find(c, key, hash);
  if (h) return h;
  fl__pool *p = &c->pool;
  if (p->nhosts >= p->nbuckets && table_grow(p)) return NULL;
  h = calloc(1, sizeof *h);
  if (!h) return NULL;
  h->hash = hash;
  h->key = strdup(key);
  h->name = strdup(req->url.host);
  if (!h->key || !h->name) {
    free(h->key);
    free(h->name);
    free(h);
    return NULL;
  }
  h->port = req->url.port;
  h->proxy = fl__proxy_for(c, &req->url);
  h->connect_name = h->proxy ? fl__proxy_host(h->proxy) : h->name;
  h->connect_port = h->proxy ? fl__proxy_port(h->proxy) : h->port;
  h->tls = strcmp(req->url.scheme, "https") == 0;
  fl__queue_init(&h->idle);
  fl__queue_init(&h->busy);
  fl__queue_insert_head(&p->hosts, &h->node);
  h->hash_next = p->buckets[hash & (p->nbuckets - 1)];
  p->buckets[hash & (p->nbuckets - 1)] = h;
  p->nhosts++;
  return h;
}

static void host_free(fl__pool *p, fl__host *h) {
  table_remove(p, h);
  fl__queue_remove(&h->node);
  free(h->key);
  free(h->name);
  free(h);
}

/* A host with no connections and no request pointing at it goes away, so a
 * crawler's memory does not grow with every host it ever saw. */
static void host_maybe_free(fl_client *c, fl__host *h) {
  if (h->nconns || h->nrefs) return;
  host_free(&c->pool, h);
}

/* ------------------------------------------------------------ connections */

static void idle_timer_cb(fl__timer *t);

static fl__conn *conn_new(fl_client *c, fl__host *h) {
  fl__conn *conn = calloc(1, sizeof *conn);
  if (!conn) return NULL;
  conn->client = c;
  conn->host = h;
  conn->fd = -1;
  fl__queue_init(&conn->host_node);
  fl__queue_init(&conn->queued);
  fl__queue_init(&conn->lru_node);
  fl__buf_init(&conn->wbuf);
  fl__defer_init(&conn->flush_defer, NULL); /* its callback: fl__http1_conn_init */
  fl__timer_init(c->loop, &conn->idle_timer, idle_timer_cb);
  conn->idle_ms = c->opts.idle_timeout_ms;
  h->nconns++;
  c->pool.total++;
  c->pool.stats.created++;
  return conn;
}

static int can_open(fl_client *c, const fl__host *h) {
  const fl_client_options *o = &c->opts;
  if (o->max_connections && c->pool.total >= o->max_connections) return 0;
  if (o->max_connections_per_host && h->nconns >= o->max_connections_per_host) return 0;
  return 1;
}

static int per_host_ok(fl_client *c, const fl__host *h) {
  return !c->opts.max_connections_per_host || h->nconns < c->opts.max_connections_per_host;
}

static void take_from_queue(fl_client *c, fl_request *req) {
  FL__UNUSED(c);
  fl__queue_remove(&req->wait_node);
}

static int has_pipeline_room(const fl__conn *conn, uint32_t depth) {
  if (conn->state != FL__CONN_ACTIVE || !conn->req || !conn->pipeline_ok || conn->inflight >= depth)
    return 0;
  return !conn->max_requests || conn->requests_done + conn->inflight < conn->max_requests;
}

/* A busy connection of h with room for one more pipelined request, or NULL.
 * Only bodiless GET/HEAD, behind the same. The one being filled comes first:
 * a burst of requests (completions resending) then shares one write and one
 * server read, as a pipelining client's batch would; else the least loaded. */
static fl__conn *pipeline_target(fl_client *c, fl__host *h, const fl_request *req) {
  uint32_t depth = c->opts.pipeline_depth;
  if (depth <= 1 || req->want_fresh_conn || !fl__http1_pipelinable(req)) return NULL;
  if (h->pipe_fill && has_pipeline_room(h->pipe_fill, depth)) return h->pipe_fill;
  fl__conn *best = NULL;
  fl__queue *q;
  fl__queue_foreach(q, &h->busy) {
    fl__conn *conn = fl__container_of(q, fl__conn, host_node);
    if (has_pipeline_room(conn, depth) && (!best || conn->inflight < best->inflight)) best = conn;
  }
  return best;
}

/* With pipelining on, conn (still alive: it may have failed starting) is the
 * one its host's next pipelinable requests should join. */
static void fill_next(fl_client *c, fl__conn *conn) {
  if (c->opts.pipeline_depth > 1 && conn->state == FL__CONN_ACTIVE && conn->pipeline_ok)
    conn->host->pipe_fill = conn;
}

/* Give req a connection now if the limits allow. 1 if it got one. */
static int try_assign(fl_client *c, fl_request *req) {
  fl__host *h = req->host;
  if (!req->want_fresh_conn && !fl__queue_empty(&h->idle)) {
    fl__conn *conn = fl__container_of(h->idle.next, fl__conn, host_node);
    fl__queue_remove(&conn->host_node);
    fl__queue_remove(&conn->lru_node);
    fl__queue_insert_tail(&h->busy, &conn->host_node);
    conn->state = FL__CONN_ACTIVE;
    conn->reused = 1;
    c->pool.stats.reused++;
    take_from_queue(c, req);
    fl__request_attach(req, conn);
    fl__http1_start(conn, req);
    fill_next(c, conn); /* not through h: a failed start may have freed it */
    return 1;
  }
  if (!can_open(c, h)) {
    /* No new connection may be opened: pipeline behind a busy one. */
    fl__conn *busy = pipeline_target(c, h, req);
    if (busy) {
      take_from_queue(c, req);
      fl__request_attach(req, busy);
      c->pool.stats.reused++;
      fl__http1_pipeline(busy, req);
      fill_next(c, busy);
      return 1;
    }
    /* At the total limit, an idle connection of another host is worth less
     * than a waiting request: close the oldest one to make room. */
    if (fl__queue_empty(&c->pool.idle_lru) || !per_host_ok(c, h)) return 0;
    fl__conn *old = fl__container_of(c->pool.idle_lru.next, fl__conn, lru_node);
    fl__pool_destroy_conn(c, old);
    if (!can_open(c, h)) return 0;
  }
  fl__conn *conn = conn_new(c, h);
  if (!conn) {
    take_from_queue(c, req);
    fl__request_finish(req, FL_ENOMEM, "out of memory creating a connection");
    return 1;
  }
  fl__queue_insert_tail(&h->busy, &conn->host_node);
  take_from_queue(c, req);
  fl__request_attach(req, conn);
  fl__conn_start_connect(conn, req);
  return 1;
}

/* Hand freed capacity to waiting requests, oldest first. Re-entrant calls
 * (a hand-off that destroys a connection) only ask for another pass. */
static void wake_waiters(fl_client *c) {
  fl__pool *p = &c->pool;
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
      fl_request *req = fl__container_of(q, fl_request, wait_node);
      if (!try_assign(c, req) && c->opts.max_connections &&
          p->total >= c->opts.max_connections && fl__queue_empty(&p->idle_lru))
        break; /* nothing can move until a connection is released */
      if (p->wake_again) break;
      q = next;
    }
  } while (p->wake_again);
  p->waking = 0;
}

void fl__pool_acquire(fl_client *c, fl_request *req) {
  if (!req->host) {
    req->host = host_get(c, req);
    if (!req->host) {
      fl__request_finish(req, FL_ENOMEM, "out of memory in the pool");
      return;
    }
    req->host->nrefs++;
  }
  fl__queue_insert_tail(&c->pool.waiters, &req->wait_node);
  fl__request_set_state(req, FL__REQ_QUEUED);
  /* Waiters ahead of it could not use what is free now (per-host limits),
   * so trying at once keeps their order among themselves. */
  try_assign(c, req);
}

void fl__pool_leave_queue(fl_client *c, fl_request *req) {
  FL__UNUSED(c);
  fl__queue_remove(&req->wait_node);
}

/* The request no longer needs its host entry. */
void fl__pool_unref_host(fl_client *c, fl_request *req) {
  fl__host *h = req->host;
  if (!h) return;
  req->host = NULL;
  h->nrefs--;
  host_maybe_free(c, h);
}

void fl__pool_release(fl_client *c, fl__conn *conn, int reusable) {
  if (!reusable || c->free_requested) {
    fl__pool_destroy_conn(c, conn);
    return;
  }
  fl__host *h = conn->host;
  conn->state = FL__CONN_IDLE;
  fl__queue_remove(&conn->host_node);
  fl__queue_insert_head(&h->idle, &conn->host_node);
  fl__queue_insert_tail(&c->pool.idle_lru, &conn->lru_node);
  uint64_t now = fl__loop_now(c->loop);
  conn->idle_expiry = now + conn->idle_ms;
  /* The timer is re-armed lazily; only an earlier expiry needs a restart. */
  int rearm = !fl__timer_active(&conn->idle_timer) || conn->idle_timer.due > conn->idle_expiry;
  if (rearm && fl__timer_start(&conn->idle_timer, conn->idle_ms)) {
    fl__pool_destroy_conn(c, conn); /* cannot expire it: do not keep it */
    return;
  }
  fl__http1_idle_io(conn);
  wake_waiters(c);
}

void fl__pool_pipeline_room(fl_client *c, fl__conn *conn) {
  fill_next(c, conn);
  if (conn->host && conn->host->pipe_fill == conn && !fl__queue_empty(&c->pool.waiters)) wake_waiters(c);
}

/* Lazily re-armed: a busy connection only moves idle_expiry. */
static void idle_timer_cb(fl__timer *t) {
  fl__conn *conn = fl__container_of(t, fl__conn, idle_timer);
  fl_client *c = conn->client;
  if (conn->state != FL__CONN_IDLE) return; /* re-armed when it goes idle again */
  uint64_t now = fl__loop_now(c->loop);
  if (conn->idle_expiry > now) {
    if (fl__timer_start(t, conn->idle_expiry - now) == 0) return;
  }
  fl__client_enter(c);
  fl__pool_destroy_conn(c, conn);
  fl__client_leave(c);
}

void fl__pool_destroy_conn(fl_client *c, fl__conn *conn) {
  if (conn->state == FL__CONN_DEAD) return;
  fl__host *h = conn->host;
  if (h->pipe_fill == conn) h->pipe_fill = NULL;
  fl__conn_cancel_connect(conn); /* frees connect-time state, if any is left */
  conn->state = FL__CONN_DEAD;
  fl__timer_stop(&conn->idle_timer);
  fl__defer_cancel(&conn->flush_defer);
  if (conn->fd >= 0) {
    fl__io_close(c->loop, &conn->io);
    if (conn->tp && conn->tp->close)
      conn->tp->close(conn);
    else
      close(conn->fd);
    conn->fd = -1;
  }
  if (conn->req) {
    conn->req->conn = NULL;
    conn->req = NULL;
  }
  /* Pipelined requests never got their responses: they go out again. */
  while (!fl__queue_empty(&conn->queued)) {
    fl_request *req = fl__container_of(conn->queued.next, fl_request, pipe_node);
    fl__queue_remove(&req->pipe_node);
    req->conn = NULL;
    fl__request_requeue(req);
  }
  conn->inflight = 0;
  fl__queue_remove(&conn->host_node);
  fl__queue_remove(&conn->lru_node);
  fl__queue_insert_tail(&c->graveyard, &conn->host_node);
  h->nconns--;
  c->pool.total--;
  conn->host = NULL;
  host_maybe_free(c, h);
  if (!c->free_requested) wake_waiters(c);
}

void fl__pool_free_graveyard(fl_client *c) {
  while (!fl__queue_empty(&c->graveyard)) {
    fl__conn *conn = fl__container_of(c->graveyard.next, fl__conn, host_node);
    fl__queue_remove(&conn->host_node);
    fl__buf_dispose(&conn->wbuf);
    free(conn);
  }
}

void fl__pool_close_all(fl_client *c) {
  while (!fl__queue_empty(&c->pool.hosts)) {
    fl__host *h = fl__container_of(c->pool.hosts.next, fl__host, node);
    h->nrefs++; /* keep it while its connections go */
    while (!fl__queue_empty(&h->idle))
      fl__pool_destroy_conn(c, fl__container_of(h->idle.next, fl__conn, host_node));
    while (!fl__queue_empty(&h->busy))
      fl__pool_destroy_conn(c, fl__container_of(h->busy.next, fl__conn, host_node));
    h->nrefs = 0; /* requests were all completed before this runs */
    host_free(&c->pool, h);
  }
  free(c->pool.buckets);
  c->pool.buckets = NULL;
  c->pool.nbuckets = 0;
}
