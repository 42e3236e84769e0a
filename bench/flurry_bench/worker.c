/* One flurry-bench thread: one fl_loop, one fl_client, and slots that each
 * send one cycle of requests at a time, resent from the completion callback
 * of the cycle's last one. Everything here is touched by this thread only;
 * the results go to flb_result, which main reads after pthread_join. The
 * stop flag is read on the 100 ms tick, never on the request path.
 *
 * A slot's cycle is the requests of one template: one, or several when a
 * Lua request() string holds several (pipelined: they go out together and
 * the next cycle starts when all have answered, as with wrk). Without
 * --pipeline there is one slot per connection; --pipeline N makes N per
 * connection. Where a cycle's requests come from:
 *   - the command line: one template, set on each slot's request once;
 *   - --urls: one template per URL, each with a free list of requests set up
 *     for it; a cycle takes a request of the next URL (round-robin);
 *   - a script without a request() function: the string wrk.request()
 *     returns, parsed once per thread: no Lua call per request;
 *   - a script with request(): called per cycle; a string equal to the last
 *     one reuses its parse, and a request already set up for a template is
 *     changed only where the new one differs.
 *
 * Closed loop (default): every slot has a cycle in flight all the time (or
 * waits out its script delay()); latency is the library's send-to-completion
 * time.
 * Constant rate (-R): cycles are due at fixed intervals (the thread's share
 * of the rate). A slot that finishes goes to the idle stack; due cycles take
 * idle slots at once, or wait for one, in which case the wait is part of
 * their latency: latency counts from the intended send time, not from when
 * the request actually went out (coordinated omission, as in wrk2). */
#define _GNU_SOURCE /* RUSAGE_THREAD */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>

#include "worker.h"

#define TICK_MS 100

/* ------------------------------------------------------------ stop flag */

static volatile int stop_flag;
static uint64_t finished_workers;

void flb_request_stop(void) { __atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED); }
int flb_stop_requested(void) { return __atomic_load_n(&stop_flag, __ATOMIC_RELAXED); }
void flb_worker_finished(void) { __atomic_add_fetch(&finished_workers, 1, __ATOMIC_RELEASE); }
uint64_t flb_workers_finished(void) { return __atomic_load_n(&finished_workers, __ATOMIC_ACQUIRE); }

uint64_t flb_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int flb_err_kind(int err) {
  switch (err) {
  case FL_ECONNECT:
  case FL_ECONN_REFUSED:
  case FL_EHOST_UNREACH:
  case FL_ERESOLVE:
  case FL_EDNS_SERVER_FAIL:
  case FL_ETLS_HANDSHAKE:
  case FL_ECERT_VERIFY: return FLB_ERR_CONNECT;
  case FL_ESEND:
  case FL_EWRITE: return FLB_ERR_WRITE;
  case FL_ETIMEOUT:
  case FL_EDNS_TIMEOUT:
  case FL_ECONNECT_TIMEOUT:
  case FL_EPOOL_TIMEOUT:
  case FL_EFIRST_BYTE_TIMEOUT:
  case FL_EREAD_TIMEOUT: return FLB_ERR_TIMEOUT;
  default: /* reset, truncated or malformed responses, ... */ return FLB_ERR_READ;
  }
}

/* ------------------------------------------------------------- phases */

/* This thread's CPU time (user + system), us. */
static uint64_t thread_cpu_us(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_THREAD, &ru) != 0) return 0;
  return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
         (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

void flb_worker_stop(flb_worker *w) {
  if (w->stopping) return;
  w->stopping = 1;
  if (w->measuring) {
    w->res->end_us = flb_now_us();
    uint64_t cpu = thread_cpu_us();
    w->res->cpu_us = cpu > w->cpu_start_us ? cpu - w->cpu_start_us : 0;
  }
  fl_loop_stop(w->loop);
}

void flb_worker_fatal(flb_worker *w, int err, const char *msg) {
  if (!w->res->fatal) {
    w->res->fatal = err;
    snprintf(w->res->fatal_msg, sizeof w->res->fatal_msg, "%s%s%s", fl_strerror(err),
             msg && *msg ? ": " : "", msg ? msg : "");
  }
  flb_worker_stop(w);
}

void flb_worker_script_failed(flb_worker *w) {
  if (!w->res->fatal) {
    w->res->fatal = FL_ECALLBACK_ABORT;
    snprintf(w->res->fatal_msg, sizeof w->res->fatal_msg, "%s", flb_script_error(w->script));
  }
  flb_worker_stop(w);
}

static void phase_cb(fl_timer *t, void *data);

/* Arm the phase timer for CLOCK_MONOTONIC time due_us. (Timers count from
 * the loop's cached time, which may be stale: phase_cb checks the clock.) */
static void arm_phase(flb_worker *w, uint64_t due_us) {
  uint64_t now = flb_now_us();
  w->phase_due_us = due_us;
  int err =
      fl_timer_start(w->phase, due_us > now ? (due_us - now + 999) / 1000 : 0, 0, phase_cb, w);
  if (err) flb_worker_fatal(w, err, "timer");
}

static void begin_measuring(flb_worker *w) {
  uint64_t now = flb_now_us();
  w->cpu_start_us = thread_cpu_us();
  w->measuring = 1;
  w->res->start_us = now;
  w->tick_start_us = now;
  w->tick_count = 0;
  if (w->quota) w->budget = w->quota > w->inflight ? w->quota - w->inflight : 0;
  if (w->cfg->duration_us) arm_phase(w, now + w->cfg->duration_us);
}

void flb_worker_begin(flb_worker *w) {
  if (w->measuring || w->phase_due_us || w->stopping) return;
  if (w->cfg->warmup_us)
    arm_phase(w, flb_now_us() + w->cfg->warmup_us);
  else
    begin_measuring(w);
}

static void phase_cb(fl_timer *t, void *data) {
  flb_worker *w = data;
  (void)t;
  if (flb_now_us() + 200 < w->phase_due_us)
    arm_phase(w, w->phase_due_us); /* early */
  else if (w->measuring)
    flb_worker_stop(w);
  else
    begin_measuring(w);
}

static void tick_cb(fl_timer *t, void *data) {
  flb_worker *w = data;
  (void)t;
  uint64_t now = flb_now_us();
  if (w->measuring && w->tick_count && now > w->tick_start_us)
    flb_hist_record(&w->res->rate, w->tick_count * 1000000u / (now - w->tick_start_us));
  w->tick_count = 0;
  w->tick_start_us = now;
  if (flb_stop_requested() || (w->script && flb_script_stopped(w->script))) {
    flb_worker_stop(w);
    return;
  }
  /* --timeout: cancel what has been in flight too long. A sweep per tick
   * (the timeout is kept to within TICK_MS) instead of a library timer per
   * request, which would cost two timer-heap operations per request. */
  uint64_t limit_ms = (w->cfg->timeout_us + 999) / 1000, now_ms = fl_loop_now(w->loop);
  if (!limit_ms) return;
  if (w->cfg->ws) {
    flb_ws_sweep(w, now_ms, limit_ms);
    return;
  }
  /* Nothing in flight was sent before sweep_floor_ms (the oldest send the
   * last sweep left running; later sends are newer): no walk over the
   * slots until that one could have timed out. */
  if (now_ms - w->sweep_floor_ms < limit_ms) return;
  uint64_t floor = now_ms;
  for (uint64_t i = 0; i < w->nslots; i++) {
    slot *s = &w->slots[i];
    for (size_t k = 0; k < s->nitems; k++) {
      item *it = &s->items[k];
      if (!it->busy || it->timed_out) continue;
      if (now_ms - it->sent_ms >= limit_ms) {
        it->timed_out = 1;
        fl_request_cancel(it->p->req); /* completes with FL_ECANCELED, from the loop */
      } else if (it->sent_ms < floor) {
        floor = it->sent_ms;
      }
    }
  }
  w->sweep_floor_ms = floor;
}

/* ------------------------------------------------------------ requests */

static void on_done(fl_request *req, int err, void *data);

static int on_body(fl_request *req, const char *chunk, size_t len, void *data) {
  item *it = data;
  (void)req;
  it->body_len += len;
  if (it->s->w->want_body) {
    if (it->body_len > it->body_cap) {
      size_t cap = it->body_cap ? it->body_cap : 1024;
      while (cap < it->body_len) cap *= 2;
      char *b = realloc(it->body, cap);
      if (!b) return -1;
      it->body = b;
      it->body_cap = cap;
    }
    memcpy(it->body + it->body_len - len, chunk, len);
  }
  return 0;
}

/* Start s's next cycle (due at intended_us with -R). */
static void issue(flb_worker *w, slot *s, double intended_us) {
  if (w->measuring && w->quota && !w->budget) return;
  if (w->dynamic) {
    if (flb_slot_from_script(w, s)) return;
  } else if (w->ntpls > 1) {
    int err = flb_slot_next_url(w, s);
    if (err) {
      flb_worker_fatal(w, err, "cannot make a request");
      return;
    }
  }
  s->intended_us = intended_us;
  s->pending = 0;
  uint64_t now_ms = fl_loop_now(w->loop);
  for (size_t i = 0; i < s->nitems && !w->stopping; i++) {
    if (w->measuring && w->quota) {
      if (!w->budget) break;
      w->budget--;
    }
    item *it = &s->items[i];
    it->body_len = 0;
    it->sent_ms = now_ms;
    it->timed_out = 0;
    fl_request_on_body(it->p->req, on_body, it);
    fl_request_keep_headers(it->p->req, w->want_body); /* only a response() reads them */
    int err = fl_request_send(s->client, it->p->req, on_done, it);
    if (err) {
      flb_worker_fatal(w, err, fl_request_errmsg(it->p->req));
      return;
    }
    it->busy = 1;
    s->pending++;
    w->inflight++;
  }
}

void flb_worker_note_error(flb_worker *w, int kind, int err, const char *msg) {
  flb_result *res = w->res;
  res->errors[kind]++;
  if (!res->first_err) {
    res->first_err = err;
    snprintf(res->first_err_msg, sizeof res->first_err_msg, "%s%s%s", fl_strerror(err),
             msg && *msg ? ": " : "", msg ? msg : "");
  }
}

/* Count one finished request; latency_us is only used for responses. */
static void account(flb_worker *w, item *it, fl_request *req, int err, uint64_t latency_us) {
  flb_result *res = w->res;
  w->finished++;
  if (err) {
    flb_worker_note_error(w, flb_err_kind(err), err,
                          it->timed_out ? "no response within the --timeout"
                                        : fl_request_errmsg(req));
    return;
  }
  const fl_response *r = fl_request_response(req);
  int status = fl_response_status(r);
  const fl_info *info = fl_request_info(req);
  int64_t content_length = info->content_length;
  res->bytes += info->wire_bytes_received; /* what wrk counts: every byte read */
  res->complete++;
  if ((unsigned)info->http_version < FLB_HTTP_VERSIONS) w->by_http[info->http_version]++;
  w->tick_count++;
  flb_hist_record(&res->latency, latency_us);
  if (status >= 400) {
    res->errors[FLB_ERR_STATUS]++;
    return;
  }
  preq *p = it->p;
  if (p->head || status < 200 || status == 204 || status == 304) return; /* no body */
  int64_t len = (int64_t)it->body_len;
  int bad;
  if (content_length >= 0) {
    bad = len != content_length;
  } else {
    if (w->dynamic) return; /* a script's paths may each have their own size */
    if (p->first_len < 0) p->first_len = len;
    bad = len != p->first_len;
  }
  if (bad) {
    res->length_mismatch++;
    char msg[96];
    snprintf(msg, sizeof msg, "body of %lld bytes, expected %lld", (long long)len,
             (long long)(content_length >= 0 ? content_length : p->first_len));
    flb_worker_note_error(w, FLB_ERR_READ, FL_EPARTIAL_BODY, msg);
  }
}

static void pace_cb(fl_timer *t, void *data);

/* -R: start the due cycles on idle slots; arm the pace timer for the next. */
static void pace(flb_worker *w, uint64_t now) {
  while (w->idle && w->next_us <= (double)now && !w->stopping) {
    if (w->measuring && w->quota && !w->budget) return;
    slot *s = w->idle;
    w->idle = s->next_idle;
    double due = w->next_us;
    w->next_us += w->interval_us;
    if (w->measuring) {
      uint64_t lag = (uint64_t)((double)now - due);
      w->res->lag_sum_us += (double)lag;
      w->res->lag_count++;
      if (lag > w->res->lag_max_us) w->res->lag_max_us = lag;
    }
    issue(w, s, due);
  }
  if (w->idle && !w->stopping) {
    double wait_us = w->next_us - (double)now;
    uint64_t ms = wait_us <= 0 ? 0 : (uint64_t)((wait_us + 999) / 1000);
    int err = fl_timer_start(w->pace, ms, 0, pace_cb, w);
    if (err) flb_worker_fatal(w, err, "timer");
  }
}

static void pace_cb(fl_timer *t, void *data) {
  (void)t;
  pace(data, flb_now_us());
}

static void delay_cb(fl_timer *t, void *data) {
  slot *s = data;
  (void)t;
  if (!s->w->stopping) issue(s->w, s, 0);
}

/* s's cycle is over: the next one, now or after the script's delay(). */
static void next_cycle(flb_worker *w, slot *s) {
  if (w->stopping) return;
  if (w->has_delay) {
    uint64_t ms;
    if (flb_script_delay(w->script, &ms)) {
      flb_worker_script_failed(w);
      return;
    }
    if (ms) {
      if (!s->delay && !(s->delay = fl_timer_new(w->loop))) {
        flb_worker_fatal(w, FL_ENOMEM, "timer");
        return;
      }
      int err = fl_timer_start(s->delay, ms, 0, delay_cb, s);
      if (err) flb_worker_fatal(w, err, "timer");
      return;
    }
  }
  issue(w, s, 0);
}

static void on_done(fl_request *req, int err, void *data) {
  item *it = data;
  slot *s = it->s;
  flb_worker *w = s->w;
  w->inflight--;
  s->pending--;
  it->busy = 0;
  if (it->timed_out && err == FL_ECANCELED) err = FL_ETIMEOUT;
  int paced = w->rate > 0;
  if (w->measuring) {
    uint64_t lat;
    if (paced) {
      double d = (double)flb_now_us() - s->intended_us;
      lat = d > 0 ? (uint64_t)d : 0;
    } else {
      lat = fl_request_info(req)->total_us;
    }
    account(w, it, req, err, lat);
  }
  if (w->want_body && !err) { /* every response, so a script's counts match the summary's */
    if (flb_script_response(w->script, fl_request_response(req), it->body, it->body_len)) {
      flb_worker_script_failed(w);
      return;
    }
    if (flb_script_stopped(w->script)) flb_worker_stop(w);
  }
  if (w->measuring && w->quota && w->finished >= w->quota) {
    flb_worker_stop(w);
    return;
  }
  if (s->pending) return; /* the rest of the cycle is still out */
  if (paced) {
    s->next_idle = w->idle;
    w->idle = s;
    pace(w, flb_now_us());
    return;
  }
  next_cycle(w, s);
}

/* ------------------------------------------------------------- thread */

static uint64_t share(uint64_t total, uint64_t parts, uint64_t i) {
  return total / parts + (i < total % parts ? 1 : 0);
}

flb_worker *flb_worker_new(const flb_config *cfg, uint64_t index, flb_result *res,
                           flb_script *script) {
  flb_worker *w = calloc(1, sizeof *w);
  if (!w) return NULL;
  w->cfg = cfg;
  w->index = index;
  w->res = res;
  w->script = script;
  w->nconns = share(cfg->connections, cfg->threads, index);
  uint64_t per_conn = cfg->pipeline > 1 ? cfg->pipeline : cfg->streams > 1 ? cfg->streams : 1;
  w->nslots = w->nconns * per_conn;
  w->quota = cfg->requests ? share(cfg->requests, cfg->threads, index) : 0;
  if (cfg->rate > 0) {
    w->rate = cfg->rate * (double)w->nconns / (double)cfg->connections;
    w->interval_us = 1e6 / w->rate;
  }
  flb_hist_reset(&res->latency);
  flb_hist_reset(&res->rate);
  return w;
}

/* Loop, client, timers, templates and the slots. 0 or an fl_err (with
 * res->fatal_msg set). */
/* --hooks: each event's kind, time and request into a ring of the last
 * FLB_RING events, as a tracer's exporter queue would hold them. */
#define FLB_RING 4096
typedef struct hook_rec {
  uint64_t time_ns;
  const void *req;
  int kind, err;
} hook_rec;
struct flb_hook_ring {
  uint64_t n;
  hook_rec r[FLB_RING];
};

static void record_event(const fl_event *ev, void *data) {
  struct flb_hook_ring *g = data;
  hook_rec *h = &g->r[g->n++ & (FLB_RING - 1)];
  h->time_ns = ev->time_ns;
  h->req = ev->req;
  h->kind = ev->kind;
  h->err = ev->err;
}

static int hooks_on(flb_worker *w) {
  if (!w->cfg->hooks) return 0;
  if (!(w->ring = calloc(1, sizeof *w->ring))) return FL_ENOMEM;
  fl_hooks h = {.on_event = record_event, .data = w->ring};
  for (size_t i = 0; i < w->nclients; i++)
    if (fl_client_set_hooks(w->clients[i], &h)) return FL_EINVAL;
  return 0;
}

static int setup(flb_worker *w) {
  const flb_config *cfg = w->cfg;
  w->loop = fl_loop_new();
  if (!w->loop) return FL_ENOMEM;
  if (w->script) {
    w->dynamic = flb_script_has_request(w->script);
    w->want_body = flb_script_has_response(w->script);
    w->has_delay = flb_script_has_delay(w->script) && cfg->rate <= 0; /* -R sets the pace */
  }
  int err = 0;
  uint32_t depth = 1;
  if (!cfg->ws) { /* WebSocket mode: no templates, no slots (wsbench.c) */
    err = flb_worker_templates(w);
    if (err) return err;
    depth = cfg->pipeline > 1 ? (uint32_t)cfg->pipeline : 1;
    const flb_tpl *t0 = w->cur ? w->cur : w->tpls[0];
    if (t0->n > depth) depth = (uint32_t)t0->n; /* a pipelined request string */
  }

  fl_client_options o;
  fl_client_options_init(&o);
  o.max_connections = (uint32_t)w->nconns;
  o.pipeline_depth = depth; /* GET/HEAD only */
  o.max_connections_per_host = 0;
  o.max_connecting_per_host = 0; /* all -c connections at once, as wrk opens them */
  o.timeouts.total_ms = 0;       /* --timeout: swept on the tick (tick_cb) */
  o.follow_redirects = 0;        /* 3xx counts as a response, as in wrk */
  o.decompress = 0;              /* bodies as sent; no Accept-Encoding of our own */
  o.cookies = 0;
  o.insecure = cfg->insecure;
  o.ca_file = cfg->cacert;
  o.http_version = cfg->http_version;
  if (cfg->streams) o.h2_max_concurrent_streams = (uint32_t)cfg->streams; /* -m */
  o.share = cfg->share; /* one lookup per name, sessions resumed across threads */
  if (w->resolve[0]) o.resolve = (const char *const *)w->resolve;
  w->nclients = cfg->http_version != FL_HTTP_VERSION_1_1 ? (size_t)w->nconns : 1;
  if (w->nclients > 1) o.max_connections = 1;
  w->clients = calloc(w->nclients, sizeof *w->clients);
  if (!w->clients) return FL_ENOMEM;
  for (size_t i = 0; i < w->nclients; i++)
    if (!(w->clients[i] = fl_client_new(w->loop, &o))) break;
  w->client = w->clients[0];
  if (!w->client || !w->clients[w->nclients - 1]) {
    snprintf(w->res->fatal_msg, sizeof w->res->fatal_msg, "cannot create a client%s",
             cfg->cacert ? " (is the --cacert file readable?)" : "");
    return FL_EINVAL;
  }
  if (hooks_on(w)) return FL_ENOMEM;
  w->tick = fl_timer_new(w->loop);
  w->phase = fl_timer_new(w->loop);
  w->pace = fl_timer_new(w->loop);
  if (!w->tick || !w->phase || !w->pace) return FL_ENOMEM;
  if (cfg->ws) return flb_ws_setup(w);
  w->slots = calloc(w->nslots, sizeof *w->slots);
  if (!w->tick || !w->phase || !w->pace || !w->slots) return FL_ENOMEM;
  for (uint64_t i = 0; i < w->nslots; i++) {
    slot *s = &w->slots[i];
    s->w = w;
    s->client =
        w->clients[i % w->nclients]; /* HTTP/2: slot i goes on connection (client) i mod -c */
    if (w->dynamic) continue;        /* set up by each cycle's request() */
    if (w->ntpls > 1) {
      if (flb_slot_reserve(s, 1)) return FL_ENOMEM;
      free(s->items[0].p); /* --urls: taken from the URLs' free lists */
      s->items[0].p = NULL;
      continue;
    }
    err = flb_slot_take(s, w->tpls[0]);
    if (err) {
      snprintf(w->res->fatal_msg, sizeof w->res->fatal_msg, "cannot make the request: %s",
               fl_strerror(err));
      return err;
    }
  }
  return 0;
}

static void teardown(flb_worker *w) {
  /* Requests first (a request in flight is cancelled silently), then what
   * they ran on. */
  flb_ws_teardown(w);
  for (uint64_t i = 0; w->slots && i < w->nslots; i++) {
    slot *s = &w->slots[i];
    for (size_t k = 0; k < s->cap; k++) {
      flb_preq_free(s->items[k].p);
      free(s->items[k].body);
    }
    free(s->items);
    fl_timer_free(s->delay);
  }
  for (size_t i = 0; i < w->nclients; i++) { /* the protocol spoken: what the pools opened */
    if (!w->clients[i]) continue;
    fl_pool_stats ps;
    fl_client_pool_stats(w->clients[i], &ps);
    w->res->conns_opened += ps.created;
    w->res->h2_conns += ps.h2_connections;
  }
  free(w->slots);
  w->slots = NULL;
  for (size_t u = 0; w->free_reqs && u < w->ntpls; u++) {
    while (w->free_reqs[u]) {
      preq *p = w->free_reqs[u];
      w->free_reqs[u] = p->next_free;
      flb_preq_free(p);
    }
  }
  free(w->free_reqs);
  for (size_t u = 0; u < w->ntpls; u++) flb_tpl_unref(w->tpls[u]);
  free(w->tpls);
  w->tpls = NULL;
  flb_tpl_unref(w->cur);
  w->cur = w->first = NULL;
  fl_timer_free(w->tick);
  fl_timer_free(w->phase);
  fl_timer_free(w->pace);
  for (size_t i = 0; i < w->nclients; i++) fl_client_free(w->clients[i]);
  free(w->clients);
  w->clients = NULL;
  w->client = NULL;
  if (w->loop && fl_loop_free(w->loop))
    fprintf(stderr, "flurry-bench: loop still in use at exit\n");
  w->loop = NULL;
  free(w->resolve[0]);
  if (w->ring)
    fprintf(stderr, "flurry-bench: thread %llu: %llu hook events recorded\n",
            (unsigned long long)w->index, (unsigned long long)w->ring->n);
  free(w->ring);
  w->ring = NULL;
}

void *flb_worker_main(void *arg) {
  flb_worker *w = arg;
  const flb_config *cfg = w->cfg;
  if (w->nslots == 0 || (cfg->requests && w->quota == 0)) goto out; /* nothing to do */
  int err = setup(w);
  if (err) {
    w->res->fatal = err;
    if (!w->res->fatal_msg[0])
      snprintf(w->res->fatal_msg, sizeof w->res->fatal_msg, "%s", fl_strerror(err));
    goto out;
  }
  err = fl_timer_start(w->tick, TICK_MS, TICK_MS, tick_cb, w);
  if (err) {
    flb_worker_fatal(w, err, "timer");
    goto out;
  }
  if (!cfg->ws) flb_worker_begin(w); /* WebSocket mode: once the upgrades are done */
  if (w->script && flb_script_stopped(w->script)) flb_worker_stop(w);
  if (w->rate > 0) {
    for (uint64_t i = w->nslots; i-- > 0;) {
      w->slots[i].next_idle = w->idle;
      w->idle = &w->slots[i];
    }
    uint64_t now = flb_now_us();
    w->next_us = (double)now;
    pace(w, now);
  } else if (cfg->ws) {
    flb_ws_start(w);
  } else {
    for (uint64_t i = 0; i < w->nslots && !w->stopping; i++) next_cycle(w, &w->slots[i]);
  }
  while (!w->stopping) fl_loop_run(w->loop, FL_RUN_DEFAULT);
out:
  w->res->by_version[0] += w->by_http[10] + w->by_http[0]; /* 1.0 (or unknown), 1.1, 2 */
  w->res->by_version[1] += w->by_http[11];
  w->res->by_version[2] += w->by_http[20];
  teardown(w);
  flb_worker_finished();
  return NULL;
}

void flb_worker_free(flb_worker *w) { free(w); }
