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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "flb.h"
#include "flurry.h"
#include "script.h"

#define TICK_MS 100

typedef struct slot slot;

/* A request object and the template message it is set up to send. */
typedef struct preq {
  fl_request *req;
  flb_tpl *tpl;         /* holds msg (a reference) */
  const flb_msg *msg;
  size_t url;           /* --urls: the URL (template) it belongs to */
  int64_t first_len;    /* body length of its first response without a
                           Content-Length; -1 */
  int head;             /* HEAD: no body expected */
  struct preq *next_free;
} preq;

/* One request of a slot's cycle. */
typedef struct item {
  slot *s;
  preq *p;
  uint64_t body_len;    /* body bytes of the response under way */
  char *body;           /* response(): the body, when the script has one */
  size_t body_cap;
  uint64_t sent_ms;     /* loop time of the send, for --timeout */
  int busy;             /* in flight */
  int timed_out;        /* cancelled by the --timeout sweep */
} item;

struct slot {
  flb_worker *w;
  item *items;
  size_t nitems;        /* requests in the current cycle */
  size_t cap;
  size_t pending;       /* of those, not finished yet */
  double intended_us;   /* -R: when this cycle was due */
  fl_timer *delay;      /* script delay(): created at first use */
  slot *next_idle;
};

struct flb_worker {
  const flb_config *cfg;
  uint64_t index;
  flb_result *res;
  flb_script *script;   /* this thread's Lua state, or NULL */
  fl_loop *loop;
  fl_client *client;
  fl_timer *tick;  /* TICK_MS: rate samples, stop flag, timeouts */
  fl_timer *phase; /* end of the warmup, then end of the run */
  uint64_t phase_due_us;
  fl_timer *pace;  /* -R: the next due cycle */
  slot *slots;
  uint64_t nslots;
  uint64_t nconns;
  uint64_t quota;    /* -n share of this thread; 0 = no limit */
  uint64_t budget;   /* sends left while measuring (with a quota) */
  uint64_t finished; /* measured responses and failures (for the quota) */
  uint64_t inflight;
  uint64_t tick_count, tick_start_us;
  int measuring, stopping;
  /* templates */
  flb_tpl **tpls;    /* the command line's (one per URL) or the static script's */
  size_t ntpls;
  preq **free_reqs;  /* --urls: per template, requests set up for it */
  size_t next_url;
  flb_tpl *cur;      /* dynamic script: the last template parsed */
  flb_tpl *first;    /* dynamic script: request()'s first answer, for slot 0 */
  char origin[320];  /* scheme://authority the script's targets go to */
  char *resolve[2];  /* client option: thread.addr for the URL's host */
  int dynamic, want_body, has_delay;
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
  if (!w->res->fatal) {
    w->res->fatal = err;
    snprintf(w->res->fatal_msg, sizeof w->res->fatal_msg, "%s%s%s", fl_strerror(err), msg && *msg ? ": " : "",
             msg ? msg : "");
  }
  stop(w);
}

static void script_failed(flb_worker *w) {
  if (!w->res->fatal) {
    w->res->fatal = FL_ECALLBACK_ABORT;
    snprintf(w->res->fatal_msg, sizeof w->res->fatal_msg, "%s", flb_script_error(w->script));
  }
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
  if (flb_stop_requested() || (w->script && flb_script_stopped(w->script))) {
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
    for (size_t k = 0; k < s->nitems; k++) {
      item *it = &s->items[k];
      if (it->busy && !it->timed_out && now_ms - it->sent_ms >= limit_ms) {
        it->timed_out = 1;
        fl_request_cancel(it->p->req); /* completes with FL_ECANCELED, from the loop */
      }
    }
  }
}

/* ------------------------------------------------------------ templates */

static void tpl_unref(flb_tpl *t) {
  if (t && --t->refs == 0) flb_tpl_free(t);
}

static int on_body(fl_request *req, const char *chunk, size_t len, void *data);

/* Make p send message m of template t (a new request when the old one
 * cannot be changed into it). 0 or an fl_err. */
static int preq_set(preq *p, flb_tpl *t, const flb_msg *m) {
  if (p->msg == m) return 0;
  int err = p->req ? flb_msg_apply(p->req, p->msg, m) : 1;
  if (err == 1) {
    fl_request_free(p->req);
    p->req = flb_msg_request(m, &err);
    if (p->req) fl_request_on_body(p->req, on_body, NULL);
  }
  if (err) return err;
  t->refs++;
  tpl_unref(p->tpl);
  p->tpl = t;
  p->msg = m;
  p->first_len = -1;
  p->head = !strcasecmp(m->method, "HEAD");
  return 0;
}

static void preq_free(preq *p) {
  if (!p) return;
  fl_request_free(p->req);
  tpl_unref(p->tpl);
  free(p);
}

/* Room for n items in s (new items get a request object of their own). */
static int slot_reserve(slot *s, size_t n) {
  if (n <= s->cap) return 0;
  item *items = realloc(s->items, n * sizeof *items);
  if (!items) return FL_ENOMEM;
  s->items = items;
  for (size_t i = s->cap; i < n; i++) {
    memset(&items[i], 0, sizeof items[i]);
    items[i].s = s;
    if (!(items[i].p = calloc(1, sizeof *items[i].p))) {
      s->cap = i;
      return FL_ENOMEM;
    }
    items[i].p->first_len = -1;
  }
  s->cap = n;
  return 0;
}

/* Set slot s up for the cycle of template t. 0 or an fl_err. */
static int slot_take(slot *s, flb_tpl *t) {
  int err = slot_reserve(s, t->n);
  for (size_t i = 0; !err && i < t->n; i++) err = preq_set(s->items[i].p, t, &t->msgs[i]);
  if (!err) s->nitems = t->n;
  return err;
}

/* --urls: give s's request back to its URL and take one of the next URL. */
static int slot_next_url(flb_worker *w, slot *s) {
  item *it = &s->items[0];
  preq *p = it->p;
  if (p && p->tpl) {
    p->next_free = w->free_reqs[p->url];
    w->free_reqs[p->url] = p;
  }
  size_t u = w->next_url;
  w->next_url = (u + 1) % w->ntpls;
  p = w->free_reqs[u];
  if (p) {
    w->free_reqs[u] = p->next_free;
  } else {
    if (!(p = calloc(1, sizeof *p))) return FL_ENOMEM;
    p->first_len = -1;
    p->url = u;
    int err = preq_set(p, w->tpls[u], &w->tpls[u]->msgs[0]);
    if (err) {
      preq_free(p);
      it->p = NULL;
      return err;
    }
  }
  it->p = p;
  s->nitems = 1;
  return 0;
}

/* Dynamic script: request() for s's next cycle. 0 or -1 (fatal said). */
static int slot_from_script(flb_worker *w, slot *s) {
  flb_tpl *t = w->first; /* the answer fetched at setup, used once */
  w->first = NULL;
  if (!t) {
    size_t len;
    const char *str = flb_script_request(w->script, &len);
    if (!str) {
      script_failed(w);
      return -1;
    }
    if (w->script && flb_script_stopped(w->script)) stop(w);
    if (w->cur && w->cur->src_len == len && !memcmp(w->cur->src, str, len)) {
      t = w->cur;
    } else {
      char why[200];
      t = flb_tpl_parse(str, len, w->origin, why, sizeof why);
      if (!t) {
        char msg[256];
        snprintf(msg, sizeof msg, "request(): %s", why);
        fatal(w, FL_EINVAL, msg);
        return -1;
      }
      t->refs = 1;
      tpl_unref(w->cur);
      w->cur = t;
    }
  }
  int err = slot_take(s, t);
  if (err) {
    fatal(w, err, "request(): cannot make the request");
    return -1;
  }
  return 0;
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
    if (slot_from_script(w, s)) return;
  } else if (w->ntpls > 1) {
    int err = slot_next_url(w, s);
    if (err) {
      fatal(w, err, "cannot make a request");
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
    int err = fl_request_send(w->client, it->p->req, on_done, it);
    if (err) {
      fatal(w, err, fl_request_errmsg(it->p->req));
      return;
    }
    it->busy = 1;
    s->pending++;
    w->inflight++;
  }
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
static void account(flb_worker *w, item *it, fl_request *req, int err, uint64_t latency_us) {
  flb_result *res = w->res;
  w->finished++;
  if (err) {
    note_error(w, flb_err_kind(err), err,
               it->timed_out ? "no response within the --timeout" : fl_request_errmsg(req));
    return;
  }
  const fl_response *r = fl_request_response(req);
  int status = fl_response_status(r);
  int64_t content_length;
  res->bytes += head_bytes(r, &content_length) + it->body_len;
  res->complete++;
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
    note_error(w, FLB_ERR_READ, FL_EPARTIAL_BODY, msg);
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
    if (err) fatal(w, err, "timer");
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
      script_failed(w);
      return;
    }
    if (ms) {
      if (!s->delay && !(s->delay = fl_timer_new(w->loop))) {
        fatal(w, FL_ENOMEM, "timer");
        return;
      }
      int err = fl_timer_start(s->delay, ms, 0, delay_cb, s);
      if (err) fatal(w, err, "timer");
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
      script_failed(w);
      return;
    }
    if (flb_script_stopped(w->script)) stop(w);
  }
  if (w->measuring && w->quota && w->finished >= w->quota) {
    stop(w);
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

flb_worker *flb_worker_new(const flb_config *cfg, uint64_t index, flb_result *res, flb_script *script) {
  flb_worker *w = calloc(1, sizeof *w);
  if (!w) return NULL;
  w->cfg = cfg;
  w->index = index;
  w->res = res;
  w->script = script;
  w->nconns = share(cfg->connections, cfg->threads, index);
  w->nslots = w->nconns * (cfg->pipeline > 1 ? cfg->pipeline : 1);
  w->quota = cfg->requests ? share(cfg->requests, cfg->threads, index) : 0;
  if (cfg->rate > 0) {
    w->rate = cfg->rate * (double)w->nconns / (double)cfg->connections;
    w->interval_us = 1e6 / w->rate;
  }
  flb_hist_reset(&res->latency);
  flb_hist_reset(&res->rate);
  return w;
}

/* Where the script's requests go: the URL's origin, or thread.addr. With a
 * host name, thread.addr becomes a resolve override for that name (TLS
 * still checks the name); with an address literal, the address itself. */
static int script_origin(flb_worker *w) {
  const char *url = w->cfg->url;
  const char *a = strstr(url, "://");
  if (!a) return FL_EURL_MALFORMAT;
  a += 3;
  size_t alen = strcspn(a, "/?#");
  int n = snprintf(w->origin, sizeof w->origin, "%.*s", (int)(a - url + (ptrdiff_t)alen), url);
  if (n < 0 || (size_t)n >= sizeof w->origin) return FL_EURL_MALFORMAT;
  char ip[64];
  uint16_t port;
  if (flb_script_addr(w->script, ip, sizeof ip, &port)) return 0;
  /* The host part of the authority (no user info, no port). */
  const char *at = memchr(a, '@', alen);
  const char *host = at ? at + 1 : a, *end = a + alen, *host_end;
  if (*host == '[') {
    host_end = memchr(host, ']', (size_t)(end - host));
    if (!host_end) return FL_EURL_MALFORMAT;
    host_end++;
  } else {
    host_end = memchr(host, ':', (size_t)(end - host));
    if (!host_end) host_end = end;
  }
  char hostname[256];
  size_t hl = (size_t)(host_end - host);
  if (hl >= sizeof hostname) return FL_EURL_MALFORMAT;
  memcpy(hostname, host, hl);
  hostname[hl] = 0;
  int v6 = strchr(ip, ':') != NULL;
  char plain[256]; /* the host without brackets */
  snprintf(plain, sizeof plain, "%.*s", hostname[0] == '[' ? (int)hl - 2 : (int)hl,
           hostname[0] == '[' ? hostname + 1 : hostname);
  int literal = hostname[0] == '[' || strspn(plain, "0123456789.") == strlen(plain);
  int scheme_len = (int)(a - url);
  if (literal) {
    n = snprintf(w->origin, sizeof w->origin, "%.*s%s%s%s:%u", scheme_len, url, v6 ? "[" : "", ip, v6 ? "]" : "",
                 (unsigned)port);
  } else {
    n = snprintf(w->origin, sizeof w->origin, "%.*s%s:%u", scheme_len, url, hostname, (unsigned)port);
    char rule[400];
    snprintf(rule, sizeof rule, "%s:%u:%s%s%s", hostname, (unsigned)port, v6 ? "[" : "", ip, v6 ? "]" : "");
    if (!(w->resolve[0] = strdup(rule))) return FL_ENOMEM;
  }
  return n < 0 || (size_t)n >= sizeof w->origin ? FL_EURL_MALFORMAT : 0;
}

/* The templates: the command line's, or the static script's string. */
static int make_templates(flb_worker *w) {
  const flb_config *cfg = w->cfg;
  if (w->script) {
    int err = script_origin(w);
    if (err) {
      snprintf(w->res->fatal_msg, sizeof w->res->fatal_msg, "the script's origin from %s", cfg->url);
      return err;
    }
    size_t len;
    const char *str = flb_script_request(w->script, &len);
    if (!str) {
      snprintf(w->res->fatal_msg, sizeof w->res->fatal_msg, "%s", flb_script_error(w->script));
      return FL_ECALLBACK_ABORT;
    }
    char why[200];
    flb_tpl *t = flb_tpl_parse(str, len, w->origin, why, sizeof why);
    if (!t) {
      snprintf(w->res->fatal_msg, sizeof w->res->fatal_msg, "request: %s", why);
      return FL_EINVAL;
    }
    t->refs = 1;
    if (w->dynamic) { /* this first answer is slot 0's first cycle */
      w->first = w->cur = t;
      return 0;
    }
    w->tpls = calloc(1, sizeof *w->tpls);
    if (!w->tpls) {
      tpl_unref(t);
      return FL_ENOMEM;
    }
    w->tpls[0] = t;
    w->ntpls = 1;
    return 0;
  }
  size_t n = cfg->nurls ? cfg->nurls : 1;
  w->tpls = calloc(n, sizeof *w->tpls);
  w->free_reqs = calloc(n, sizeof *w->free_reqs);
  if (!w->tpls || !w->free_reqs) return FL_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    w->tpls[i] = flb_tpl_single(cfg->method, cfg->nurls ? cfg->urls[i] : cfg->url, cfg->headers, cfg->nheaders,
                                cfg->body, cfg->body_len, cfg->body != NULL);
    if (!w->tpls[i]) return FL_ENOMEM;
    w->tpls[i]->refs = 1;
    w->ntpls++;
  }
  w->next_url = (size_t)(w->index % n); /* threads start at different URLs */
  return 0;
}

/* Loop, client, timers, templates and the slots. 0 or an fl_err (with
 * res->fatal_msg set). */
static int setup(flb_worker *w) {
  const flb_config *cfg = w->cfg;
  w->loop = fl_loop_new();
  if (!w->loop) return FL_ENOMEM;
  if (w->script) {
    w->dynamic = flb_script_has_request(w->script);
    w->want_body = flb_script_has_response(w->script);
    w->has_delay = flb_script_has_delay(w->script) && cfg->rate <= 0; /* -R sets the pace */
  }
  int err = make_templates(w);
  if (err) return err;
  uint32_t depth = cfg->pipeline > 1 ? (uint32_t)cfg->pipeline : 1;
  const flb_tpl *t0 = w->cur ? w->cur : w->tpls[0];
  if (t0->n > depth) depth = (uint32_t)t0->n; /* a pipelined request string */

  fl_client_options o;
  fl_client_options_init(&o);
  o.max_connections = (uint32_t)w->nconns;
  o.pipeline_depth = depth; /* GET/HEAD only */
  o.max_connections_per_host = 0;
  o.timeouts.total_ms = 0; /* --timeout: swept on the tick (tick_cb) */
  o.follow_redirects = 0; /* 3xx counts as a response, as in wrk */
  o.decompress = 0;       /* bodies as sent; no Accept-Encoding of our own */
  o.cookies = 0;
  o.insecure = cfg->insecure;
  o.ca_file = cfg->cacert;
  if (w->resolve[0]) o.resolve = (const char *const *)w->resolve;
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
    if (w->dynamic) continue; /* set up by each cycle's request() */
    if (w->ntpls > 1) {
      if (slot_reserve(s, 1)) return FL_ENOMEM;
      free(s->items[0].p); /* --urls: taken from the URLs' free lists */
      s->items[0].p = NULL;
      continue;
    }
    err = slot_take(s, w->tpls[0]);
    if (err) {
      snprintf(w->res->fatal_msg, sizeof w->res->fatal_msg, "cannot make the request: %s", fl_strerror(err));
      return err;
    }
  }
  return 0;
}

static void teardown(flb_worker *w) {
  /* Requests first (a request in flight is cancelled silently), then what
   * they ran on. */
  for (uint64_t i = 0; w->slots && i < w->nslots; i++) {
    slot *s = &w->slots[i];
    for (size_t k = 0; k < s->cap; k++) {
      preq_free(s->items[k].p);
      free(s->items[k].body);
    }
    free(s->items);
    fl_timer_free(s->delay);
  }
  free(w->slots);
  w->slots = NULL;
  for (size_t u = 0; w->free_reqs && u < w->ntpls; u++) {
    while (w->free_reqs[u]) {
      preq *p = w->free_reqs[u];
      w->free_reqs[u] = p->next_free;
      preq_free(p);
    }
  }
  free(w->free_reqs);
  for (size_t u = 0; u < w->ntpls; u++) tpl_unref(w->tpls[u]);
  free(w->tpls);
  w->tpls = NULL;
  tpl_unref(w->cur);
  w->cur = w->first = NULL;
  fl_timer_free(w->tick);
  fl_timer_free(w->phase);
  fl_timer_free(w->pace);
  fl_client_free(w->client);
  if (w->loop && fl_loop_free(w->loop)) fprintf(stderr, "flurry-bench: loop still in use at exit\n");
  w->loop = NULL;
  free(w->resolve[0]);
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
  if (w->script && flb_script_stopped(w->script)) stop(w);
  if (w->rate > 0) {
    for (uint64_t i = w->nslots; i-- > 0;) {
      w->slots[i].next_idle = w->idle;
      w->idle = &w->slots[i];
    }
    uint64_t now = flb_now_us();
    w->next_us = (double)now;
    pace(w, now);
  } else {
    for (uint64_t i = 0; i < w->nslots && !w->stopping; i++) next_cycle(w, &w->slots[i]);
  }
  while (!w->stopping) fl_loop_run(w->loop, FL_RUN_DEFAULT);
out:
  teardown(w);
  flb_worker_finished();
  return NULL;
}

void flb_worker_free(flb_worker *w) { free(w); }
