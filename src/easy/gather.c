/* Groups of requests (gather, as_completed), map, the thread-spreading map
 * and stackless coroutines: all built on the public API only, as a user of
 * the library would write them (see the "coroutines and groups" section of
 * flurry.h for the contracts). */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "flurry.h"

/* ------------------------------------------------------------------ gather */

enum { M_IDLE, M_RUNNING, M_DEFERRED, M_DONE };

typedef struct member {
  fl_request *req;
  fl_gather *g; /* callback data is the member; this leads back */
  int err;
  unsigned char state;
} member;

struct fl_gather {
  fl_client *client;
  member *m;
  size_t n, cap;
  size_t limit;    /* 0 = no bound */
  size_t next;     /* first member not sent yet */
  size_t running;  /* members in flight */
  size_t finished; /* members delivered */
  size_t failed;
  /* Members that finished without a request callback (send failed at once,
   * cancelled before sending), delivered from the kick timer: each member
   * enters at most once, so a plain array of n indices never overflows. */
  size_t *deferred;
  size_t dq_head, dq_tail;
  fl_timer *kick;
  fl_gather_cb done_cb;
  void *done_data;
  fl_gather_each_cb each_cb;
  void *each_data;
  unsigned depth; /* callbacks into user code in progress */
  unsigned char started, canceled, completed, free_requested;
};

fl_gather *fl_gather_new(fl_client *client) {
  if (!client) return NULL;
  fl_gather *g = calloc(1, sizeof *g);
  if (!g) return NULL;
  g->client = client;
  g->kick = fl_timer_new(fl_client_loop(client));
  if (!g->kick) {
    free(g);
    return NULL;
  }
  return g;
}

static void destroy(fl_gather *g) {
  for (size_t i = 0; i < g->n; i++) fl_request_free(g->m[i].req); /* in flight: silent */
  fl_timer_free(g->kick);
  free(g->m);
  free(g->deferred);
  free(g);
}

void fl_gather_free(fl_gather *g) {
  if (!g || g->free_requested) return;
  g->free_requested = 1;
  if (g->depth == 0) destroy(g);
  /* else the callback in progress returns to member_cb or kick_cb, which destroys it */
}

int fl_gather_add(fl_gather *g, fl_request *req) {
  if (!g || !req || g->started || g->free_requested) return FL_EINVAL;
  if (g->n == g->cap) {
    size_t cap = g->cap ? g->cap * 2 : 16;
    member *m = realloc(g->m, cap * sizeof *m);
    if (!m) return FL_ENOMEM;
    g->m = m;
    g->cap = cap;
  }
  g->m[g->n] = (member){.req = req, .g = g, .state = M_IDLE};
  g->n++;
  return 0;
}

int fl_gather_add_get(fl_gather *g, const char *url) {
  if (!g || !url) return FL_EINVAL;
  fl_request *req = fl_request_new("GET", url);
  if (!req) return FL_ENOMEM;
  int err = fl_gather_add(g, req);
  if (err) fl_request_free(req);
  return err;
}

int fl_gather_set_limit(fl_gather *g, size_t limit) {
  if (!g || g->started) return FL_EINVAL;
  g->limit = limit;
  return 0;
}

int fl_gather_on_each(fl_gather *g, fl_gather_each_cb cb, void *data) {
  if (!g || g->started) return FL_EINVAL;
  g->each_cb = cb;
  g->each_data = data;
  return 0;
}

static void kick_cb(fl_timer *t, void *data);

/* The kick is a 0 ms timer: it runs on the next loop iteration. If arming it
 * fails (OOM growing the timer heap), the next member completion delivers
 * the backlog instead (see member_cb). */
static void schedule_kick(fl_gather *g) { fl_timer_start(g->kick, 0, 0, kick_cb, g); }

static void defer_member(fl_gather *g, member *m, int err) {
  m->err = err;
  m->state = M_DEFERRED;
  g->deferred[g->dq_tail++] = (size_t)(m - g->m);
  schedule_kick(g);
}

static void member_cb(fl_request *req, int err, void *data);

/* Send members in order while the limit allows. fl_request_send never calls
 * back from inside, so this does not recurse into user code. */
static void pump(fl_gather *g) {
  while (g->next < g->n && (g->limit == 0 || g->running < g->limit)) {
    member *m = &g->m[g->next++];
    if (g->canceled) {
      defer_member(g, m, FL_ECANCELED);
      continue;
    }
    int err = fl_request_send(g->client, m->req, member_cb, m);
    if (err) {
      defer_member(g, m, err);
      continue;
    }
    m->state = M_RUNNING;
    g->running++;
  }
}

/* Deliver one finished member to the user; returns 1 if the gather was
 * freed meanwhile. Only the entry points (member_cb, kick_cb) destroy it,
 * once nothing of the gather is on the stack (depth 0). */
static int deliver(fl_gather *g, member *m) {
  m->state = M_DONE;
  g->finished++;
  if (m->err) g->failed++;
  g->depth++;
  if (g->each_cb && !g->free_requested)
    g->each_cb(g, (size_t)(m - g->m), m->req, m->err, g->each_data);
  if (!g->free_requested && !g->canceled) pump(g);
  /* Fire done_cb at most once, also when a nested completion (the client
   * freed from inside each_cb) already finished the group. */
  if (!g->free_requested && g->finished == g->n && !g->completed) {
    g->completed = 1;
    if (g->done_cb) g->done_cb(g, g->done_data);
  }
  g->depth--;
  return g->free_requested;
}

/* Returns 1 if the gather was freed. */
static int drain_deferred(fl_gather *g) {
  while (g->dq_head < g->dq_tail) {
    member *m = &g->m[g->deferred[g->dq_head++]];
    if (deliver(g, m)) return 1;
  }
  return 0;
}

static void member_cb(fl_request *req, int err, void *data) {
  member *m = data;
  fl_gather *g = m->g;
  (void)req;
  m->err = err;
  g->running--;
  g->depth++;
  if (!deliver(g, m)) drain_deferred(g);
  g->depth--;
  if (g->free_requested && g->depth == 0) destroy(g);
}

static void kick_cb(fl_timer *t, void *data) {
  fl_gather *g = data;
  (void)t;
  g->depth++;
  if (!drain_deferred(g) && g->n == 0 && !g->completed && !g->free_requested) {
    g->completed = 1;
    if (g->done_cb) g->done_cb(g, g->done_data);
  }
  g->depth--;
  if (g->free_requested && g->depth == 0) destroy(g);
}

int fl_gather_start(fl_gather *g, fl_gather_cb done_cb, void *data) {
  if (!g || g->started || g->free_requested) return FL_EINVAL;
  g->deferred = malloc((g->n ? g->n : 1) * sizeof *g->deferred);
  if (!g->deferred) return FL_ENOMEM;
  g->started = 1;
  g->done_cb = done_cb;
  g->done_data = data;
  if (g->n == 0)
    schedule_kick(g);
  else
    pump(g);
  return 0;
}

int fl_gather_cancel(fl_gather *g) {
  if (!g || !g->started || g->completed || g->free_requested) return FL_EINVAL;
  if (g->canceled) return 0;
  g->canceled = 1;
  /* Not sent yet: finished now, delivered from the loop. */
  while (g->next < g->n) defer_member(g, &g->m[g->next++], FL_ECANCELED);
  /* In flight: each calls back with FL_ECANCELED (or its result, if its
   * completion is already queued). */
  for (size_t i = 0; i < g->n; i++)
    if (g->m[i].state == M_RUNNING) fl_request_cancel(g->m[i].req);
  return 0;
}

size_t fl_gather_count(const fl_gather *g) { return g ? g->n : 0; }
size_t fl_gather_finished(const fl_gather *g) { return g ? g->finished : 0; }
size_t fl_gather_failed(const fl_gather *g) { return g ? g->failed : 0; }

int fl_gather_error(const fl_gather *g, size_t i) {
  if (!g || i >= g->n || g->m[i].state != M_DONE) return FL_EINVAL;
  return g->m[i].err;
}

fl_request *fl_gather_request(const fl_gather *g, size_t i) {
  return g && i < g->n ? g->m[i].req : NULL;
}

fl_request *fl_gather_take(fl_gather *g, size_t i) {
  if (!g || i >= g->n || g->m[i].state != M_DONE) return NULL;
  fl_request *req = g->m[i].req;
  g->m[i].req = NULL;
  return req;
}

/* --------------------------------------------------------------------- map */

static void mark_done(fl_gather *g, void *data) {
  (void)g;
  *(int *)data = 1;
}

static int check_urls(const char *const *urls, size_t n, fl_request **results) {
  if ((!urls && n) || (!results && n)) return FL_EINVAL;
  for (size_t i = 0; i < n; i++) {
    if (!urls[i]) return FL_EINVAL;
    results[i] = NULL;
  }
  return 0;
}

static int clamp_int(size_t v) { return v > INT_MAX ? INT_MAX : (int)v; }

int fl_map(fl_client *client, const char *const *urls, size_t n, size_t concurrency,
           fl_request **results) {
  if (!client) return FL_EINVAL;
  int err = check_urls(urls, n, results);
  if (err) return err;
  fl_gather *g = fl_gather_new(client);
  if (!g) return FL_ENOMEM;
  for (size_t i = 0; i < n && !err; i++) err = fl_gather_add_get(g, urls[i]);
  int done = 0;
  if (!err) err = fl_gather_set_limit(g, concurrency);
  if (!err) err = fl_gather_start(g, mark_done, &done);
  if (err) {
    fl_gather_free(g);
    return err;
  }
  fl_loop *loop = fl_client_loop(client);
  while (!done) fl_loop_run(loop, FL_RUN_ONCE);
  int failed = clamp_int(fl_gather_failed(g));
  for (size_t i = 0; i < n; i++) results[i] = fl_gather_take(g, i);
  fl_gather_free(g);
  return failed;
}

/* ---------------------------------------------------------- map on threads
 * Each thread pulls the next URL index from a shared atomic counter when one
 * of its slots frees up, so slow URLs do not pile up behind one thread. Every
 * index is taken by exactly one thread, which alone writes results[i]; the
 * caller reads them after pthread_join, which orders those writes. */

typedef struct tmap {
  const char *const *urls;
  size_t n;
  size_t per_thread;
  const fl_client_options *opts;
  fl_request **results;
  atomic_size_t next;
} tmap;

typedef struct tworker {
  tmap *map;
  pthread_t tid;
  fl_client *client;
  size_t inflight;
  size_t failed;
} tworker;

static void tw_done(fl_request *req, int err, void *data);

static void tw_fill(tworker *w) {
  tmap *map = w->map;
  while (w->inflight < map->per_thread) {
    if (atomic_load(&map->next) >= map->n) return;
    size_t i = atomic_fetch_add(&map->next, 1);
    if (i >= map->n) return;
    fl_request *req = fl_request_new("GET", map->urls[i]);
    if (!req) continue; /* results[i] stays NULL: reported as FL_ENOMEM */
    map->results[i] = req;
    if (fl_request_send(w->client, req, tw_done, w) != 0) {
      w->failed++; /* the error is in the request */
      continue;
    }
    w->inflight++;
  }
}

static void tw_done(fl_request *req, int err, void *data) {
  tworker *w = data;
  (void)req;
  w->inflight--;
  if (err) w->failed++;
  tw_fill(w);
}

static void *tw_main(void *arg) {
  tworker *w = arg;
  fl_loop *loop = fl_loop_new();
  w->client = loop ? fl_client_new(loop, w->map->opts) : NULL;
  if (w->client) {
    tw_fill(w);
    while (w->inflight > 0) fl_loop_run(loop, FL_RUN_ONCE);
    fl_client_free(w->client);
  }
  fl_loop_free(loop);
  return NULL;
}

int fl_map_threads(const char *const *urls, size_t n, unsigned nthreads,
                   size_t concurrency_per_thread, const fl_client_options *opts,
                   fl_request **results) {
  if (nthreads == 0) return FL_EINVAL;
  int err = check_urls(urls, n, results);
  if (err || n == 0) return err;
  if (nthreads > n) nthreads = (unsigned)n;
  /* The threads share one DNS cache and TLS session cache (the caller's
   * share if its options name one): a name is looked up once, and a
   * connection opened after another thread's handshake resumes its session. */
  fl_client_options topts;
  if (opts)
    topts = *opts;
  else
    fl_client_options_init(&topts);
  fl_share *own_share = NULL;
  if (!topts.share) {
    own_share = fl_share_new(NULL);
    if (!own_share) return FL_ENOMEM;
    topts.share = own_share;
  }
  tmap map = {.urls = urls, .n = n, .opts = &topts, .results = results};
  map.per_thread = concurrency_per_thread ? concurrency_per_thread : (n + nthreads - 1) / nthreads;
  atomic_init(&map.next, 0);
  tworker *w = calloc(nthreads, sizeof *w);
  if (!w) {
    fl_share_free(own_share);
    return FL_ENOMEM;
  }
  unsigned started = 0;
  for (unsigned t = 0; t < nthreads; t++) {
    w[t].map = &map;
    if (pthread_create(&w[t].tid, NULL, tw_main, &w[t]) != 0) break;
    started++;
  }
  if (started == 0) tw_main(&w[0]); /* no thread to be had: do it here */
  size_t failed = 0;
  for (unsigned t = 0; t < started; t++) pthread_join(w[t].tid, NULL);
  for (unsigned t = 0; t < nthreads; t++) failed += w[t].failed;
  free(w);
  fl_share_free(own_share); /* every client was freed with its thread */
  /* A thread that could not make its loop or client took no index; one that
   * ran out of memory left a hole. Either way: all or nothing. */
  int complete = atomic_load(&map.next) >= n;
  for (size_t i = 0; i < n && complete; i++) complete = results[i] != NULL;
  if (!complete) {
    for (size_t i = 0; i < n; i++) {
      fl_request_free(results[i]);
      results[i] = NULL;
    }
    return FL_ENOMEM;
  }
  return clamp_int(failed);
}

/* -------------------------------------------------------------- coroutines */

/* Enter the body; a resume while it runs only marks it to run again once it
 * yields, so the body is never re-entered. done_cb comes last: it may free
 * the struct holding co. */
static void coro_run(fl_coro *co) {
  if (!co->fn || co->line == -1) return;
  if (co->running) {
    co->again = 1;
    return;
  }
  co->running = 1;
  do {
    co->again = 0;
    co->fn(co);
  } while (co->again && co->line != -1);
  co->running = 0;
  if (co->line == -1 && co->done_cb) co->done_cb(co, co->data);
}

void fl_coro_start(fl_coro *co, fl_coro_fn fn, fl_coro_done_cb done_cb, void *data) {
  if (!co || !fn) return;
  memset(co, 0, sizeof *co);
  co->fn = fn;
  co->done_cb = done_cb;
  co->data = data;
  coro_run(co);
}

void fl_coro_resume(fl_coro *co) {
  if (!co || co->line == -1) return;
  if (!co->running) co->woken = 1; /* a resume before a yield does not wake it */
  coro_run(co);
}

void fl_coro_cancel(fl_coro *co) {
  if (!co || co->line == -1 || co->canceled) return;
  co->canceled = 1;
  if (co->awaiting)
    fl_request_cancel(co->awaiting); /* resumes it from the loop */
  else if (co->awaiting_g)
    fl_gather_cancel(co->awaiting_g);
  else if (co->awaiting_ws)
    fl_ws_abort(co->awaiting_ws); /* its open_cb resumes it with FL_ECANCELED */
  else
    coro_run(co); /* FL_AWAIT_UNTIL / FL_CORO_YIELD see the flag */
}

int fl_coro_ended(const fl_coro *co) { return co && co->line == -1; }

static void coro_request_done(fl_request *req, int err, void *data) {
  fl_coro *co = data;
  (void)req;
  co->awaiting = NULL;
  co->err = err;
  coro_run(co);
}

int fl_coro_send(fl_coro *co, fl_client *client, fl_request *req) {
  if (!co) return FL_EINVAL;
  if (co->canceled) return FL_ECANCELED;
  int err = fl_request_send(client, req, coro_request_done, co);
  if (err) return err;
  co->awaiting = req;
  return 0;
}

static void coro_gather_done(fl_gather *g, void *data) {
  fl_coro *co = data;
  co->awaiting_g = NULL;
  co->err = g->canceled ? FL_ECANCELED : 0;
  coro_run(co);
}

int fl_coro_gather(fl_coro *co, fl_gather *g) {
  if (!co) return FL_EINVAL;
  if (co->canceled) return FL_ECANCELED;
  int err = fl_gather_start(g, coro_gather_done, co);
  if (err) return err;
  co->awaiting_g = g;
  return 0;
}

static void coro_ws_open(fl_ws *ws, int err, void *data) {
  fl_coro *co = data;
  (void)ws;
  co->awaiting_ws = NULL;
  co->err = err;
  coro_run(co);
}

int fl_coro_ws_connect(fl_coro *co, fl_ws *ws, fl_client *client, fl_request *req) {
  if (!co) return FL_EINVAL;
  if (co->canceled) return FL_ECANCELED;
  int err = fl_ws_connect(ws, client, req, coro_ws_open, co);
  if (err) return err;
  co->awaiting_ws = ws;
  return 0;
}

static void coro_ws_readable(fl_ws *ws, void *data) {
  (void)ws;
  fl_coro_resume(data);
}

void fl_coro_ws_watch(fl_coro *co, fl_ws *ws) {
  if (co && ws) fl_ws_on_readable(ws, coro_ws_readable, co);
}
