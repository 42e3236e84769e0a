/* The life of a request in flight: send, attempts (route, rate limit, pool,
 * connection), the one state setter and its timers, retries of lost
 * connections, cancel, completion. Contract in request.h. */
#include "client/request.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/conn.h"
#include "http/decode.h"
#include "http/method.h"

/* ------------------------------------------------------------- timeouts */

static uint32_t tmo(const fl_request *req, size_t field_off) {
  return *(const uint32_t *)((const char *)req->timeouts_now + field_off);
}
#define REQ_TIMEOUT(req, field) tmo((req), offsetof(fl_timeouts, field))

/* Arms the phase timer lazily: a phase's deadline is only written down, and
 * the timer moves only when the new deadline is earlier than its wake-up.
 * An early wake-up re-arms for the deadline (phase_timer_cb), so a request
 * going through its phases costs one timer insert, not one per phase. */
static void arm_phase(fl_request *req, uint32_t ms) {
  if (ms == 0) { /* no timeout in this phase: a pending wake-up finds none */
    req->phase_deadline = 0;
    return;
  }
  uint64_t due = fl__loop_now(req->client->loop) + ms;
  req->phase_deadline = due;
  if (fl__timer_active(&req->phase_timer) && req->phase_timer.due <= due) return;
  if (fl__timer_start(&req->phase_timer, ms))
    fl__timer_stop(&req->phase_timer); /* no memory: run without */
}

/* A queued request's limit: pool_ms, or when it waits for the host's
 * first connection to say whether it speaks HTTP/2, that wait is charged
 * to connecting: connect_ms if sooner (engine/pool.h, multiplex waiting). */
static uint32_t queued_ms(fl_request *req) {
  uint32_t ms = REQ_TIMEOUT(req, pool_ms);
  if (!req->waiter.opening_since) return ms;
  uint32_t cms = REQ_TIMEOUT(req, connect_ms);
  req->waiter.connect_ms = cms;
  return cms && (!ms || cms < ms) ? cms : ms;
}

/* Whether a queued request's timeout is its connect timeout (queued_ms). */
static int queued_for_connect(const fl_request *req) {
  uint32_t ms = REQ_TIMEOUT(req, pool_ms), cms = req->waiter.connect_ms;
  return req->waiter.opening_since && cms && (!ms || cms < ms);
}

/* The deadline that belongs to a state (the setter, request.h, calls it
 * for the states with one). Read idle is lazy too: activity only moves
 * phase_deadline. */
void fl__request_arm_state(fl_request *req, fl__req_state old, fl__req_state st) {
  switch (st) {
  case FL__REQ_QUEUED: arm_phase(req, queued_ms(req)); break;
  case FL__REQ_CONNECTING: arm_phase(req, REQ_TIMEOUT(req, connect_ms)); break;
  case FL__REQ_SENDING: arm_phase(req, REQ_TIMEOUT(req, read_ms)); break;
  case FL__REQ_WAITING: arm_phase(req, REQ_TIMEOUT(req, first_byte_ms)); break;
  case FL__REQ_RECEIVING:
    if (old != FL__REQ_RECEIVING) {
      req->read_ms = REQ_TIMEOUT(req, read_ms);
      arm_phase(req, req->read_ms);
    }
    break;
  default: break;
  }
}

/* The setter's path with event hooks set (request.h). */
void fl__request_set_state_hooked(fl_request *req, fl__req_state old, fl__req_state st) {
  fl__hook_state(req, old, st);
  if (st > FL__REQ_QUEUED && st <= FL__REQ_RECEIVING) fl__request_arm_state(req, old, st);
}

static const char *connect_phase(const fl_request *req) {
  const fl__conn *conn = req->ex.carrier;
  return conn ? fl__conn_phase_text(conn) : "";
}

static void phase_timer_cb(fl__timer *t) {
  fl_request *req = fl__container_of(t, fl_request, phase_timer);
  fl_client *c = req->client;
  uint64_t now = fl__loop_now(c->loop);
  if (req->phase_deadline == 0) return; /* an earlier phase's wake-up; this one has no limit */
  if (req->phase_deadline > now) {      /* woke early (arm_phase): sleep until the deadline */
    if (fl__timer_start(t, req->phase_deadline - now)) fl__timer_stop(t);
    return;
  }
  fl__guard_enter(&c->guard);
  switch (req->state) {
  case FL__REQ_BACKOFF:
    req->info.attempts++;
    fl__request_attempt(req);
    break;
  case FL__REQ_QUEUED:
    if (queued_for_connect(req))
      fl__request_finish(req, FL_ECONNECT_TIMEOUT,
                         "connect to %s port %u timed out after %u ms (waiting for the first "
                         "connection to say whether the server speaks HTTP/2)",
                         req->url.host, req->url.port, req->waiter.connect_ms);
    else
      fl__request_finish(req, FL_EPOOL_TIMEOUT, "no connection free within %u ms (pool limit %u)",
                         REQ_TIMEOUT(req, pool_ms), c->opts.max_connections);
    break;
  case FL__REQ_CONNECTING:
    fl__request_finish(req, FL_ECONNECT_TIMEOUT, "connect to %s port %u timed out after %u ms%s",
                       req->url.host, req->url.port, REQ_TIMEOUT(req, connect_ms),
                       connect_phase(req));
    break;
  case FL__REQ_WAITING:
    fl__request_finish(req, FL_EFIRST_BYTE_TIMEOUT,
                       "no response within %u ms of sending the request",
                       REQ_TIMEOUT(req, first_byte_ms));
    break;
  case FL__REQ_SENDING:
  case FL__REQ_RECEIVING:
    fl__request_finish(req, FL_EREAD_TIMEOUT, "no data for %u ms (%llu body bytes received)",
                       REQ_TIMEOUT(req, read_ms), (unsigned long long)req->info.bytes_received);
    break;
  default: break;
  }
  fl__guard_leave(&c->guard);
}

static void total_timer_cb(fl__timer *t) {
  fl_request *req = fl__container_of(t, fl_request, total_timer);
  fl_client *c = req->client;
  fl__guard_enter(&c->guard);
  fl__request_finish(req, FL_ETIMEOUT, "operation timed out after %u ms (%llu body bytes received)",
                     REQ_TIMEOUT(req, total_ms), (unsigned long long)req->info.bytes_received);
  fl__guard_leave(&c->guard);
}

/* ------------------------------------------------------------- attempts */

static inline __attribute__((always_inline)) void to_pool(fl_request *req) {
  fl_client *c = req->client;
  req->waiter.fresh = req->want_fresh_conn;
  req->waiter.pipelinable = req->ex.pipelinable;
  fl__request_set_state(req, FL__REQ_QUEUED);
  if (fl__pool_acquire(&c->pool, &req->waiter, &req->route.ep, &req->route.host))
    fl__request_finish(req, FL_ENOMEM, "out of memory in the pool");
  else if (req->state == FL__REQ_QUEUED) /* it waits: the pool timeout runs from now */
    fl__request_arm_state(req, FL__REQ_QUEUED, FL__REQ_QUEUED);
  /* Granted at once: the state it is in now (CONNECTING, SENDING...) armed
   * its own deadline, so the pool's is never written. */
}

static void throttle_released(fl__throttle *t, uint64_t waited_us) {
  fl_request *req = fl__container_of(t, fl_request, throttle);
  req->info.throttled_us += waited_us;
  to_pool(req);
}

/* What this hop sends after the head: a streamed body, a fixed one, or none. */
static void shape_exchange(fl_request *req, int bodyless) {
  fl__exchange *ex = &req->ex;
  int drop = req->hop_drop_body;
  ex->streams = req->upload_cb && !drop;
  ex->upload_len = req->upload_len;
  ex->body = drop || req->upload_cb ? NULL : req->body.data;
  ex->body_len = drop || req->upload_cb ? 0 : req->body.len;
  if (req->shaped_method != req->hop_method) { /* what the method says, once per method */
    req->shaped_method = req->hop_method;
    req->shaped_head = strcmp(req->hop_method, "HEAD") == 0;
    /* a body read to the connection's end leaves nothing to pipeline behind
     * (fl_request_ignore_content_length clears shaped_method) */
    req->shaped_pipelinable = fl__method_pipelinable(req->hop_method) && !ex->ignore_content_length;
  }
  ex->head_only = req->shaped_head;
  ex->pipelinable = bodyless && req->shaped_pipelinable && !req->ws;
}

void fl__request_attempt(fl_request *req) {
  fl_client *c = req->client;
  if (!req->route_valid || req->route_client != c->id) { /* built once per URL and client */
    req->head_reusable = 0;
    fl__route_target t = {.unix_path = req->unix_path ? req->unix_path : c->unix_socket,
                          .unix_abstract =
                              req->unix_path ? req->unix_abstract : c->opts.unix_socket_abstract,
                          .rules = c->connect_to,
                          .nrules = c->nconnect_to,
                          .tunnel = req->ws != NULL};
    if (fl__route_build(&req->route, &req->url, &c->proxies, c->tls, fl__request_http_version(req),
                        &t)) {
      req->route_valid = 0;
      fl__request_finish(req, FL_ENOMEM, "out of memory building the route");
      return;
    }
    req->route_valid = 1;
    req->route_client = c->id;
  }
  int bodyless = !req->has_body && !req->upload_cb;
  if (!bodyless || req->auth_probe) fl__auth_probe_begin(req); /* else none */
  shape_exchange(req, bodyless);
  if (fl__ratelimit_on(&c->ratelimit)) {
    req->throttle.origin = req->route.origin.data;
    if (fl__ratelimit_admit(&c->ratelimit, &req->throttle)) {
      fl__request_set_state(req, FL__REQ_THROTTLED);
      return;
    }
  }
  to_pool(req);
}

/* The pool gave the attempt a connection: carry the exchange on it. */
static void granted(fl__waiter *w, fl__conn *conn) {
  fl_request *req = fl__container_of(w, fl_request, waiter);
  /* Granted inside fl_request_send: at once, no clock read needed. */
  req->info.queue_us = req->in_send ? 0 : fl__now_us() - req->start_us;
  req->info.pipelined = fl__conn_queues_behind(conn);
  if (!fl__conn_is_open(conn)) { /* a new one, made for it */
    req->info.num_connects++;
    fl__request_set_state(req, FL__REQ_CONNECTING);
  }
  fl__conn_carry(conn, &req->ex);
}

static void pool_failed(fl__waiter *w, int err, const char *msg) {
  fl__request_finish(fl__container_of(w, fl_request, waiter), err, "%s", msg);
}

static const fl__waiter_ops waiter_ops = {.granted = granted, .failed = pool_failed};

/* ----------------------------------------------------------- completion */

void fl__request_end_body(fl_request *req) {
  if (req->decoder) {
    fl__decoder_free(req->decoder);
    req->decoder = NULL;
  }
  if (req->save_fd >= 0) {
    close(req->save_fd);
    req->save_fd = -1;
  }
}

/* End the current attempt: off the queues, connection dropped (it cannot be
 * reused mid-message); the total timer keeps running across attempts. */
static inline __attribute__((always_inline)) void detach_attempt(fl_request *req) {
  fl_client *c = req->client;
  fl__timer_stop(&req->phase_timer);
  if (req->recv_rate | req->send_rate) fl__speedcap_stop(req);    /* no cap, nothing to stop */
  req->info.throttled_us += fl__ratelimit_cancel(&req->throttle); /* 0 unless it waited */
  fl__pool_leave(&c->pool, &req->waiter);
  if (req->ex.carrier) fl__conn_drop(req->ex.carrier, &req->ex);
  fl__request_end_body(req);
}
void fl__request_detach_attempt(fl_request *req) { detach_attempt(req); }

/* Inlined: every completion passes through it. */
static inline __attribute__((always_inline)) void request_detach(fl_request *req) {
  fl__timer_stop(&req->total_timer);
  detach_attempt(req);
}

static void complete_now(fl_request *req) {
  fl_client *c = req->client;
  fl_done_cb cb = req->cb;
  void *data = req->cb_data;
  fl__queue_remove(&req->inflight_node);
  req->info.total_us = fl__now_us() - req->start_us;
  fl__request_set_state(req, FL__REQ_IDLE);
  req->client = NULL;
  if (fl__queue_empty(&c->inflight)) fl__loop_unref(c->loop); /* the client's one ref (send) */
  if (c->drain.on) fl__client_drain_note(c);
  if (cb) cb(req, req->err, data); /* req may be gone from here on */
}

static void complete_defer_cb(fl__defer *d) {
  fl_request *req = fl__container_of(d, fl_request, complete_defer);
  fl_client *c = req->client;
  fl__guard_enter(&c->guard);
  complete_now(req);
  fl__guard_leave(&c->guard);
}

/* The one place a request tries again (the RETRY event's call site). err:
 * the attempt's error, or 0 when its response's status decided. fresh: a
 * lost connection (a stale keep-alive one, or an orphaned pipelined
 * request), sent again at once on a new connection; else the retry policy
 * waits delay_ms first. */
static void retry(fl_request *req, int err, int64_t delay_ms, int fresh) {
  if (fl__hooked(req->client))
    fl__hook_retry(req, err, (uint32_t)delay_ms,
                   req->info.attempts + req->info.retries + (fresh ? 0 : 1));
  if (fresh) {
    req->want_fresh_conn = 1;
    to_pool(req);
    return;
  }
  fl__request_detach_attempt(req);
  req->want_fresh_conn = 0;
  fl__response_reset(&req->res);
  fl__request_set_state(req, FL__REQ_BACKOFF);
  req->phase_deadline = fl__loop_now(req->client->loop) + (uint64_t)delay_ms;
  if (fl__timer_start(&req->phase_timer, (uint64_t)delay_ms)) {
    req->info.attempts++;
    fl__request_attempt(req); /* no memory for a timer: try at once */
  }
}

static void finish_v(fl_request *req, int err, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static void finish_v(fl_request *req, int err, const char *fmt, va_list ap) {
  if (req->state == FL__REQ_IDLE || req->state == FL__REQ_COMPLETING) return;
  if (err && err != FL_ECANCELED && err != FL_ETIMEOUT) {
    int64_t delay = fl__retry_delay_ms(req, err);
    if (delay >= 0) {
      retry(req, err, delay, 0);
      return;
    }
  }
  request_detach(req);
  req->err = err;
  if (fmt) fl__request_msgv(req, fmt, ap);
  fl__request_set_state(req, FL__REQ_COMPLETING);
  fl__defer_schedule(req->client->loop, &req->complete_defer);
}

/* fl__request_finish(req, 0, NULL) without the variadic call: the path of
 * every successful response. */
static void finish_ok(fl_request *req) {
  if (req->state == FL__REQ_IDLE || req->state == FL__REQ_COMPLETING) return;
  request_detach(req);
  req->err = 0;
  fl__request_set_state(req, FL__REQ_COMPLETING);
  fl__defer_schedule(req->client->loop, &req->complete_defer);
}

void fl__request_finish(fl_request *req, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  finish_v(req, err, fmt, ap);
  va_end(ap);
}

/* A successful response: the retry policy's statuses, a redirect to
 * follow, or the outcome. */
/* A redirect to follow or a Digest challenge to answer (*digest). The usual
 * status (2xx) is one compare. */
static int next_hop_wanted(const fl_request *req, int *digest) {
  int status = req->res.status;
  if (!fl__status_may_move(status)) return 0;
  *digest = status == 401 || status == 407 ? fl__auth_digest_wanted(req) : 0;
  return *digest || fl__redirect_wanted_3xx(req);
}

static void response_done(fl_request *req) {
  fl__request_end_body(req);
  if (req->auth_probe) fl__auth_probe_end(req);
  int64_t delay = req->retry_on ? fl__retry_delay_ms(req, 0) : -1;
  if (delay >= 0) {
    retry(req, 0, delay, 0);
    return;
  }
  int digest = 0;
  if (!next_hop_wanted(req, &digest)) {
    finish_ok(req);
    return;
  }
  /* A Digest challenge: the same URL again, with credentials (digest.h). */
  int err = digest ? fl__auth_digest_next_hop(req) : fl__redirect_next_hop(req);
  if (err) {
    if (!fl__request_has_msg(req)) fl__request_msg(req, "out of memory following a redirect");
    fl__request_finish(req, err, NULL);
    return;
  }
  if (!digest) fl__auth_new_url(req);
  /* A fresh response for the next hop; the connection was released. */
  fl__response_reset(&req->res);
  req->discarding = 0;
  req->discarded = 0;
  req->want_fresh_conn = 0;
  fl__request_attempt(req);
}

/* A reused connection failed before any response byte: the server most
 * likely closed it while idle. Retry once on a fresh connection when that
 * cannot duplicate a side effect. 1 if the retry was started. */
static int retry_stale(fl_request *req, int err) {
  if (req->info.retries > 0) return 0;
  if (req->upload_cb && !req->upload_rewind) return 0; /* a streamed body cannot be replayed */
  if (!fl__method_idempotent(req->method) && !req->retryable) return 0;
  fl__request_end_body(req);
  req->info.retries++;
  req->info.reused = 0;
  retry(req, err, 0, 1);
  return 1;
}

/* Its connection went away before its pipelined response, or the server
 * never processed its stream (REFUSED_STREAM, past a GOAWAY): send it
 * again, once, on a fresh connection. A streamed body of which bytes were
 * already read cannot go out whole again unless it rewinds (the next start
 * does that): the stream's own error then, never a shorter body. */
static void resend_orphan(fl_request *req, const fl__ex_failure *f) {
  fl_client *c = req->client;
  if (c->free_requested) return; /* the client's free completes it */
  const char *why = f->msg ? f->msg : fl_strerror(f->err);
  if (req->info.retries > 0) {
    fl__request_finish(req, f->err, "%s", why);
    return;
  }
  if (req->upload_cb && !req->upload_rewind && req->upload_taken && !req->hop_drop_body) {
    fl__request_finish(req, f->err,
                       "%s; not sent again: its streamed request body was already read "
                       "and cannot be rewound",
                       why);
    return;
  }
  req->info.retries++;
  req->info.pipelined = 0;
  req->info.bytes_received = 0;
  fl__response_reset(&req->res);
  fl__request_end_body(req);
  retry(req, f->err, 0, 1);
}

void fl__request_exchange_done(fl_request *req) { response_done(req); }

void fl__request_exchange_failed(fl_request *req, const fl__ex_failure *f) {
  if (req->state == FL__REQ_IDLE || req->state == FL__REQ_COMPLETING) return;
  if (f->orphaned) {
    resend_orphan(req, f);
    return;
  }
  if (f->early && retry_stale(req, f->err)) return;
  if (f->msg)
    fl__request_finish(req, f->err, "%s", f->msg);
  else
    fl__request_finish(req, f->err, NULL); /* the sink wrote req->errmsg */
}

/* ------------------------------------------------------ cancel and send */

void fl__request_abandon(fl_request *req) {
  fl_client *c = req->client;
  fl__guard_enter(&c->guard);
  if (req->state != FL__REQ_COMPLETING) request_detach(req);
  fl__defer_cancel(&req->complete_defer);
  fl__queue_remove(&req->inflight_node);
  if (req->state != FL__REQ_COMPLETING) req->err = FL_ECANCELED; /* what its hooks see */
  fl__request_set_state(req, FL__REQ_IDLE);
  req->client = NULL;
  if (fl__queue_empty(&c->inflight)) fl__loop_unref(c->loop); /* the client's one ref (send) */
  if (c->drain.on) fl__client_drain_note(c);
  fl__guard_leave(&c->guard);
}

int fl_request_cancel(fl_request *req) {
  if (!req || req->state == FL__REQ_IDLE || req->state == FL__REQ_COMPLETING) return FL_EINVAL;
  fl_client *c = req->client;
  if (c->in_hook) return FL_EINVAL; /* its hooks are running (flurry.h, fl_hooks) */
  fl__guard_enter(&c->guard);
  fl__request_finish(req, FL_ECANCELED, "canceled by the caller");
  fl__guard_leave(&c->guard);
  return 0;
}

/* fl_client_free: every request still in flight ends with FL_ECANCELED. */
void fl__request_cancel_for_free(fl_request *req) {
  if (req->state != FL__REQ_COMPLETING) {
    request_detach(req);
    req->err = FL_ECANCELED;
    fl__request_msg(req, "client freed while the request was in flight");
    fl__request_set_state(req, FL__REQ_COMPLETING);
  }
  fl__defer_cancel(&req->complete_defer);
  complete_now(req);
}

/* What a send starts from. The address strings are cleared by their first
 * byte only: they are written whole when a connection is known. */
static void info_clear(fl_info *i) {
  memset(i, 0, offsetof(fl_info, remote_ip));
  i->remote_ip[0] = '\0';
  i->remote_port = 0;
  i->bytes_sent = i->bytes_received = i->bytes_received_raw = 0;
  i->num_connects = 0;
  i->local_ip[0] = '\0';
  i->local_port = 0;
  i->wire_bytes_received = 0;
  i->content_length = -1;
  i->http_version = 0;
  i->stream_id = 0;
}

int fl_request_send(fl_client *c, fl_request *req, fl_done_cb cb, void *data) {
  if (!c || !req) return FL_EINVAL;
  if (req->state != FL__REQ_IDLE) return FL_EINVAL;
  if (FL__UNLIKELY(c->send_checks)) { /* one test when none applies */
    if (c->free_requested || c->in_hook) return FL_EINVAL;
    if (c->drain.on) {
      req->err = FL_EDRAINING;
      fl__request_msg(req, "client is draining: new requests are refused");
      return FL_EDRAINING;
    }
  }
  if (!req->url_parsed) {
    req->route_valid = 0;
    fl__url_free(&req->url);
    int err = req->path_as_is ? fl__url_parse_as_is(&req->url, req->url_text)
                              : fl__url_parse(&req->url, req->url_text);
    if (err) {
      req->err = err;
      if (err == FL_ENOMEM)
        fl__request_msg(req, "out of memory parsing the URL");
      else
        fl__request_msg(req, "malformed URL: %s", req->url_text);
      return err;
    }
    if (!fl__scheme_supported(req->url.scheme)) { /* checked once per URL */
      req->err = FL_EUNSUPPORTED_PROTOCOL;
      fl__request_msg(req, "protocol \"%s\" not supported", req->url.scheme);
      return FL_EUNSUPPORTED_PROTOCOL;
    }
    req->url_parsed = 1;
  }
  if (req->upgrade) fl__request_upgrade_drop(req); /* an upgrade nobody took */
  req->client = c;
  req->cb = cb;
  req->cb_data = data;
  req->err = 0;
  fl__request_msg_clear(req);
  req->errmsg_lost = 0;
  /* The policies are settled for the send (a setter in flight changes the
   * next one), and worked out once per client and setting. */
  if (req->settled_client != c->id) {
    req->settled_client = c->id;
    req->timeouts_now = req->has_timeouts ? &req->timeouts : &c->opts.timeouts;
    req->retry_on = (req->has_retry ? req->retry.max_retries : c->opts.retry.max_retries) != 0;
    req->body_limit = req->max_body ? req->max_body : c->opts.max_body_bytes;
    req->filesize_now = req->max_filesize ? req->max_filesize : c->opts.max_filesize;
  }
  info_clear(&req->info);
  fl__response_reset(&req->res);
  req->want_fresh_conn = 0;
  req->upload_taken = 0;
  req->paused = 0;
  req->ex.paused = 0;
  req->hop_method = req->method;
  req->hop_drop_body = 0;
  req->stripped_auth = 0;
  fl__auth_reset(req);
  req->discarding = 0;
  req->discarded = 0;
  req->info.attempts = 1;
  fl__buf_reset(&req->effective_url); /* origin and effective URL are made at the first redirect */
  /* The deadlines below count from now, not from the loop's last wake-up
   * (a request sent between runs found it stale: timeouts fired early). */
  req->start_us = fl__loop_clock_us(c->loop);
  req->waiter.ops = &waiter_ops;
  req->throttle.release = throttle_released;
  req->ex.res = &req->res;
  req->ex.bytes_sent = &req->info.bytes_sent;
  if (req->timers_loop != c->loop) { /* idle since the last send: stopped, not queued */
    req->timers_loop = c->loop;
    fl__timer_init(c->loop, &req->phase_timer, phase_timer_cb);
    fl__timer_init(c->loop, &req->total_timer, total_timer_cb);
    fl__defer_init(&req->complete_defer, complete_defer_cb);
  }
  /* The loop stays alive while the client has any request in flight: one
   * ref for all of them, not a call per request. */
  if (fl__queue_empty(&c->inflight)) fl__loop_ref(c->loop);
  fl__queue_insert_tail(&c->inflight, &req->inflight_node);
  fl__request_set_state(req, FL__REQ_ROUTING);
  uint32_t total = REQ_TIMEOUT(req, total_ms);
  if (total && fl__timer_start(&req->total_timer, total)) fl__timer_stop(&req->total_timer);
  fl__guard_enter(&c->guard);
  req->in_send = 1;
  fl__request_attempt(req);
  req->in_send = 0;
  fl__guard_leave(&c->guard);
  return 0;
}
