/* One flurry-bench thread: one fl_loop, one fl_client, one fl_request per
 * connection slot, each resent from its own completion callback (nothing is
 * allocated per request once the connections are open). Everything here is
 * touched by this thread only; the results go to flb_result, which main reads
 * after pthread_join. The stop flag is read on the 100 ms tick, never on the
 * request path.
 *
 * Closed loop (default): every slot has a request in flight all the time;
 * latency is the library's send-to-completion time.
 * Constant rate (-R): requests are due at fixed intervals (the thread's share
 * of the rate). A slot that finishes goes to the idle stack; due requests
 * take idle slots at once, or wait for one, in which case the wait is part of
 * their latency: latency counts from the intended send time, not from when
 * the request actually went out (coordinated omission, as in wrk2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "flb.h"
#include "flurry.h"

#define TICK_MS 100

typedef struct slot {
  flb_worker *w;
  fl_request *req;
  uint64_t body_len;    /* body bytes of the response under way */
  int64_t first_len;    /* body length of this slot's first response, -1 */
  double intended_us;   /* -R: when this request was due */
  uint64_t sent_ms;     /* loop time of the send, for --timeout */
  int busy;             /* a request is in flight */
  int timed_out;        /* cancelled by the --timeout sweep */
  struct slot *next_idle;
} slot;

struct flb_worker {
  const flb_config *cfg;
  uint64_t index;
  flb_result *res;
  fl_loop *loop;
  fl_client *client;
  fl_timer *tick;  /* TICK_MS: rate samples, stop flag */
  fl_timer *phase; /* end of the warmup, then end of the run */
  uint64_t phase_due_us;
  fl_timer *pace;  /* -R: the next due request */
  slot *slots;
  uint64_t nslots;      /* requests in flight: connections x pipeline depth */
  uint64_t nconns;
  uint64_t quota;    /* -n share of this thread; 0 = no limit */
  uint64_t budget;   /* sends left while measuring (with a quota) */
  uint64_t finished; /* measured responses and failures (for the quota) */
  uint64_t inflight;
  uint64_t tick_count, tick_start_us;
  int measuring, stopping, head;
  /* -R */
  double rate, interval_us, next_us;
  slot *idle;
};

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
  case FL_ECERT_VERIFY:
    return FLB_ERR_CONNECT;
  case FL_ESEND:
  case FL_EWRITE:
    return FLB_ERR_WRITE;
  case FL_ETIMEOUT:
  case FL_EDNS_TIMEOUT:
  case FL_ECONNECT_TIMEOUT:
  case FL_EPOOL_TIMEOUT:
  case FL_EFIRST_BYTE_TIMEOUT:
  case FL_EREAD_TIMEOUT:
    return FLB_ERR_TIMEOUT;
  default: /* reset, truncated or malformed responses, ... */
    return FLB_ERR_READ;
  }
}

/* ------------------------------------------------------------- phases */

static void stop(flb_worker *w) {
  if (w->stopping) return;
  w->stopping = 1;
  if (w->measuring) w->res->end_us = flb_now_us();
  fl_loop_stop(w->loop);
}

static void fatal(flb_worker *w, int err, const char *msg) {
  w->res->fatal = err;
  snprintf(w->res->fatal_msg, sizeof w->res->fatal_msg, "%s%s%s", fl_strerror(err),
           msg && *msg ? ": " : "", msg ? msg : "");
  stop(w);
}

static void phase_cb(fl_timer *t, void *data);

/* Arm the phase timer for CLOCK_MONOTONIC time due_us. (Timers count from
 * the loop's cached time, which may be stale: phase_cb checks the clock.) */
static void arm_phase(flb_worker *w, uint64_t due_us) {
  uint64_t now = flb_now_us();
  w->phase_due_us = due_us;
  int err = fl_timer_start(w->phase, due_us > now ? (due_us - now + 999) / 1000 : 0, 0, phase_cb, w);
  if (err) fatal(w, err, "timer");
}

static void begin_measuring(flb_worker *w) {
  uint64_t now = flb_now_us();
  w->measuring = 1;
  w->res->start_us = now;
  w->tick_start_us = now;
  w->tick_count = 0;
  if (w->quota) w->budget = w->quota > w->inflight ? w->quota - w->inflight : 0;
  if (w->cfg->duration_us) arm_phase(w, now + w->cfg->duration_us);
}

static void phase_cb(fl_timer *t, void *data) {
  flb_worker *w = data;
  (void)t;
  if (flb_now_us() + 200 < w->phase_due_us) arm_phase(w, w->phase_due_us); /* early */
  else if (w->measuring) stop(w);
  else begin_measuring(w);
}

static void tick_cb(fl_timer *t, void *data) {
  flb_worker *w = data;
  (void)t;
  uint64_t now = flb_now_us();
  if (w->measuring && w->tick_count && now > w->tick_start_us)
    flb_hist_record(&w->res->rate, w->tick_count * 1000000u / (now - w->tick_start_us));
  w->tick_count = 0;
  w->tick_start_us = now;
  if (flb_stop_requested()) {
    stop(w);
    return;
  }
  /* --timeout: cancel what has been in flight too long. A sweep per tick
   * (the timeout is kept to within TICK_MS) instead of a library timer per
   * request, which would cost two timer-heap operations per request. */
  uint64_t limit_ms = (w->cfg->timeout_us + 999) / 1000, now_ms = fl_loop_now(w->loop);
  if (!limit_ms) return;
  for (uint64_t i = 0; i < w->nslots; i++) {
    slot *s = &w->slots[i];
    if (s->busy && !s->timed_out && now_ms - s->sent_ms >= limit_ms) {
      s->timed_out = 1;
      fl_request_cancel(s->req); /* completes with FL_ECANCELED, from the loop */
    }
  }
}

/* ------------------------------------------------------------ requests */

static void on_done(fl_request *req, int err, void *data);

static int on_body(fl_request *req, const char *chunk, size_t len, void *data) {
  slot *s = data;
  (void)req;
  (void)chunk;
  s->body_len += len;
  return 0;
}

/* Send s's request (due at intended_us with -R). */
static void issue(flb_worker *w, slot *s, double intended_us) {
  if (w->measuring && w->quota) {
    if (!w->budget) return;
    w->budget--;
  }
  s->body_len = 0;
  s->intended_us = intended_us;
  s->sent_ms = fl_loop_now(w->loop);
  s->timed_out = 0;
  int err = fl_request_send(w->client, s->req, on_done, s);
  if (err) {
    fatal(w, err, fl_request_errmsg(s->req));
    return;
  }
  s->busy = 1;
  w->inflight++;
}

/* Bytes of the status line and header block as they came on the wire
 * (HTTP/1.x framing), and the Content-Length value (-1 if none). */
static uint64_t head_bytes(const fl_response *r, int64_t *content_length) {
  uint64_t n = 15 + strlen(fl_response_reason(r)) + 2; /* "HTTP/1.1 200 " CRLF, last CRLF */
  size_t count = fl_response_header_count(r);
  *content_length = -1;
  for (size_t i = 0; i < count; i++) {
    const char *name, *value;
    if (fl_response_header_at(r, i, &name, &value)) break;
    size_t nl = strlen(name);
    n += nl + strlen(value) + 4;
    if (nl == 14 && !strcasecmp(name, "content-length")) {
      int64_t v = 0;
      const char *p = value;
      while (*p >= '0' && *p <= '9' && v < INT64_MAX / 10) v = v * 10 + (*p++ - '0');
      *content_length = p == value ? -1 : v;
    }
  }
  return n;
}

static void note_error(flb_worker *w, int kind, int err, const char *msg) {
  flb_result *res = w->res;
  res->errors[kind]++;
  if (!res->first_err) {
    res->first_err = err;
    snprintf(res->first_err_msg, sizeof res->first_err_msg, "%s%s%s", fl_strerror(err),
             msg && *msg ? ": " : "", msg ? msg : "");
  }
}

/* Count one finished request; latency_us is only used for responses. */
static void account(flb_worker *w, slot *s, fl_request *req, int err, uint64_t latency_us) {
  flb_result *res = w->res;
  w->finished++;
  if (err) {
    note_error(w, flb_err_kind(err), err,
               s->timed_out ? "no response within the --timeout" : fl_request_errmsg(req));
    return;
  }
  const fl_response *r = fl_request_response(req);
  int status = fl_response_status(r);
  int64_t content_length;
  res->bytes += head_bytes(r, &content_length) + s->body_len;
  res->complete++;
  w->tick_count++;
  flb_hist_record(&res->latency, latency_us);
  if (status >= 400) {
    res->errors[FLB_ERR_STATUS]++;
    return;
  }
  if (w->head || status < 200 || status == 204 || status == 304) return; /* no body */
  int64_t len = (int64_t)s->body_len;
  int bad;
  if (content_length >= 0) {
    bad = len != content_length;
  } else {
    if (s->first_len < 0) s->first_len = len;
    bad = len != s->first_len;
  }
  if (bad) {
    res->length_mismatch++;
    char msg[96];
    snprintf(msg, sizeof msg, "body of %lld bytes, expected %lld", (long long)len,
             (long long)(content_length >= 0 ? content_length : s->first_len));
    note_error(w, FLB_ERR_READ, FL_EPARTIAL_BODY, msg);
  }
}

static void pace_cb(fl_timer *t, void *data);

/* -R: send the due requests on idle slots; arm the pace timer for the next. */
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
    if (err) fatal(w, err, "timer");
  }
}

static void pace_cb(fl_timer *t, void *data) {
  (void)t;
  pace(data, flb_now_us());
}

static void on_done(fl_request *req, int err, void *data) {
  slot *s = data;
  flb_worker *w = s->w;
  w->inflight--;
  s->busy = 0;
  if (s->timed_out && err == FL_ECANCELED) err = FL_ETIMEOUT;
  if (w->rate > 0) {
    uint64_t now = flb_now_us();
    if (w->measuring) {
      double lat = (double)now - s->intended_us;
      account(w, s, req, err, lat > 0 ? (uint64_t)lat : 0);
      if (w->quota && w->finished >= w->quota) {
        stop(w);
        return;
      }
    }
    s->next_idle = w->idle;
    w->idle = s;
    pace(w, now);
    return;
  }
  if (w->measuring) {
    account(w, s, req, err, fl_request_info(req)->total_us);
    if (w->quota && w->finished >= w->quota) {
      stop(w);
      return;
    }
  }
  if (!w->stopping) issue(w, s, 0);
}

/* ------------------------------------------------------------- thread */

static uint64_t share(uint64_t total, uint64_t parts, uint64_t i) {
  return total / parts + (i < total % parts ? 1 : 0);
}

flb_worker *flb_worker_new(const flb_config *cfg, uint64_t index, flb_result *res) {
  flb_worker *w = calloc(1, sizeof *w);
  if (!w) return NULL;
  w->cfg = cfg;
  w->index = index;
  w->res = res;
  w->nconns = share(cfg->connections, cfg->threads, index);
  w->nslots = w->nconns * (cfg->pipeline > 1 ? cfg->pipeline : 1);
  w->quota = cfg->requests ? share(cfg->requests, cfg->threads, index) : 0;
  if (cfg->rate > 0) {
    w->rate = cfg->rate * (double)w->nconns / (double)cfg->connections;
    w->interval_us = 1e6 / w->rate;
  }
  w->head = !strcasecmp(cfg->method, "HEAD");
  flb_hist_reset(&res->latency);
  flb_hist_reset(&res->rate);
  return w;
}

/* Loop, client, timers and one request per slot. 0 or an fl_err (with
 * res->fatal_msg set). */
static int setup(flb_worker *w) {
  const flb_config *cfg = w->cfg;
  w->loop = fl_loop_new();
  if (!w->loop) return FL_ENOMEM;
  fl_client_options o;
  fl_client_options_init(&o);
  o.max_connections = (uint32_t)w->nconns;
  o.pipeline_depth = cfg->pipeline > 1 ? (uint32_t)cfg->pipeline : 1; /* GET/HEAD only */
  o.max_connections_per_host = 0;
  o.timeouts.total_ms = 0; /* --timeout: swept on the tick (tick_cb) */
  o.follow_redirects = 0; /* 3xx counts as a response, as in wrk */
  o.decompress = 0;       /* bodies as sent; no Accept-Encoding of our own */
  o.cookies = 0;
  o.insecure = cfg->insecure;
  o.ca_file = cfg->cacert;
  w->client = fl_client_new(w->loop, &o);
  if (!w->client) {
    snprintf(w->res->fatal_msg, sizeof w->res->fatal_msg, "cannot create a client%s",
             cfg->cacert ? " (is the --cacert file readable?)" : "");
    return FL_EINVAL;
  }
  w->tick = fl_timer_new(w->loop);
  w->phase = fl_timer_new(w->loop);
  w->pace = fl_timer_new(w->loop);
  w->slots = calloc(w->nslots, sizeof *w->slots);
  if (!w->tick || !w->phase || !w->pace || !w->slots) return FL_ENOMEM;
  for (uint64_t i = 0; i < w->nslots; i++) {
    slot *s = &w->slots[i];
    s->w = w;
    s->first_len = -1;
    s->req = fl_request_new(cfg->method, cfg->url);
    if (!s->req) return FL_ENOMEM;
    fl_request_on_body(s->req, on_body, s);
    /* The request wrk sends (request line and Host, then the -H headers), so
     * the server does the same work for both tools. */
    fl_request_remove_header(s->req, "User-Agent");
    fl_request_remove_header(s->req, "Accept");
    for (uint64_t h = 0; h < cfg->nheaders; h++) {
      int again = 0;
      for (uint64_t k = 0; k < h; k++) again |= !strcasecmp(cfg->headers[k].name, cfg->headers[h].name);
      /* The first -H of a name replaces the library's default of that name. */
      int err = again ? fl_request_add_header(s->req, cfg->headers[h].name, cfg->headers[h].value)
                      : fl_request_set_header(s->req, cfg->headers[h].name, cfg->headers[h].value);
      if (err) {
        snprintf(w->res->fatal_msg, sizeof w->res->fatal_msg, "header %s: %s",
                 cfg->headers[h].name, fl_strerror(err));
        return err;
      }
    }
  }
  return 0;
}

static void teardown(flb_worker *w) {
  /* Requests first (a request in flight is cancelled silently), then what
   * they ran on. */
  for (uint64_t i = 0; w->slots && i < w->nslots; i++) fl_request_free(w->slots[i].req);
  free(w->slots);
  w->slots = NULL;
  fl_timer_free(w->tick);
  fl_timer_free(w->phase);
  fl_timer_free(w->pace);
  fl_client_free(w->client);
  if (w->loop && fl_loop_free(w->loop)) fprintf(stderr, "flurry-bench: loop still in use at exit\n");
  w->loop = NULL;
}

void *flb_worker_main(void *arg) {
  flb_worker *w = arg;
  const flb_config *cfg = w->cfg;
  if (w->nslots == 0 || (cfg->requests && w->quota == 0)) goto out; /* nothing to do */
  int err = setup(w);
  if (err) {
    w->res->fatal = err;
    if (!w->res->fatal_msg[0]) snprintf(w->res->fatal_msg, sizeof w->res->fatal_msg, "%s", fl_strerror(err));
    goto out;
  }
  err = fl_timer_start(w->tick, TICK_MS, TICK_MS, tick_cb, w);
  if (err) {
    fatal(w, err, "timer");
    goto out;
  }
  if (cfg->warmup_us) arm_phase(w, flb_now_us() + cfg->warmup_us);
  else begin_measuring(w);
  if (w->rate > 0) {
    for (uint64_t i = 0; i < w->nslots; i++) {
      w->slots[i].next_idle = w->idle;
      w->idle = &w->slots[i];
    }
    uint64_t now = flb_now_us();
    w->next_us = (double)now;
    pace(w, now);
  } else {
    for (uint64_t i = 0; i < w->nslots && !w->stopping; i++) issue(w, &w->slots[i], 0);
  }
  while (!w->stopping) fl_loop_run(w->loop, FL_RUN_DEFAULT);
out:
  teardown(w);
  flb_worker_finished();
  return NULL;
}

void flb_worker_free(flb_worker *w) { free(w); }
