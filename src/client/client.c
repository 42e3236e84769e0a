/* The client (a session) and the life of a request in it: send, timeouts,
 * retry, cancel, completion. Every entry from the loop into client code is
 * bracketed by fl__client_enter/leave so that user callbacks may free
 * requests, connections or the client itself without pulling memory out from
 * under a caller further up the stack. */
#include "client/client.h"
#include "http/decode.h"
#include "net/tls.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void fl_client_options_init(fl_client_options *o) {
  memset(o, 0, sizeof *o);
  o->max_connections = 100;
  o->max_connections_per_host = 0;
  o->idle_timeout_ms = 15000;
  o->timeouts.connect_ms = 30000;
  o->timeouts.total_ms = 300000;
  o->max_header_bytes = 64 * 1024;
  o->max_header_count = 200;
  o->max_body_bytes = 64u * 1024 * 1024;
  o->dns_timeout_ms = 5000;
  o->dns_ttl_min_ms = 1000;
  o->dns_ttl_max_ms = 300000;
  o->dns_negative_ttl_ms = 2000;
  o->happy_eyeballs_delay_ms = 250;
  fl_retry_policy_init(&o->retry);
  o->follow_redirects = 1;
  o->max_redirects = 10;
  o->decompress = 1;
  o->cookies = 1;
  o->tls_session_cache = 1;
}

/* The one place that says which schemes this build fetches. */
int fl__scheme_supported(const char *scheme) {
  return strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0;
}

static char *dup_or_null(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

fl_client *fl_client_new(fl_loop *loop, const fl_client_options *opts) {
  if (!loop) return NULL;
  fl_client *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  if (opts)
    c->opts = *opts;
  else
    fl_client_options_init(&c->opts);
  c->loop = loop;
  fl__pool_init(&c->pool);
  fl__queue_init(&c->inflight);
  fl__queue_init(&c->graveyard);
  c->user_agent = dup_or_null(c->opts.user_agent ? c->opts.user_agent : "flurry/" FL_VERSION_STRING);
  c->dns_servers = dup_or_null(c->opts.dns_servers);
  c->opts.user_agent = c->user_agent;
  c->opts.dns_servers = c->dns_servers;
  c->opts.resolve = NULL; /* consumed by the resolver below, not kept */
  fl__resolver_options ro = {
      .servers = c->dns_servers,
      .resolve = opts ? opts->resolve : NULL,
      .timeout_ms = c->opts.dns_timeout_ms,
      .ttl_min_ms = c->opts.dns_ttl_min_ms,
      .ttl_max_ms = c->opts.dns_ttl_max_ms,
      .negative_ttl_ms = c->opts.dns_negative_ttl_ms,
  };
  char errbuf[160];
  fl__buf_init(&c->scratch);
  c->rbuf = malloc(FL__READ_BUF_SIZE);
  if (!c->rbuf || !c->user_agent || (opts && opts->dns_servers && !c->dns_servers) || fl__client_jar_init(c) ||
      fl__proxy_init(c, errbuf, sizeof errbuf) ||
      fl__tls_ctx_new(&c->opts, &c->tls, errbuf, sizeof errbuf) != 0 ||
      fl__resolver_new(loop, &ro, &c->resolver, errbuf, sizeof errbuf) != 0) {
    fl__tls_ctx_free(c->tls);
    fl__client_jar_free(c);
    fl__proxy_free_all(c);
    free(c->rbuf);
    free(c->user_agent);
    free(c->dns_servers);
    free(c);
    return NULL;
  }
  /* The TLS context keeps its own copies of the file names. */
  c->opts.ca_file = c->opts.ca_path = c->opts.client_cert = c->opts.client_key = NULL;
  c->opts.proxy = NULL; /* parsed into c->proxy_*; the caller's string is not kept */
  fl__ratelimit_init(c);
  fl__loop_attach(loop);
  return c;
}

fl_loop *fl_client_loop(const fl_client *c) { return c ? c->loop : NULL; }

void fl_client_pool_stats(const fl_client *c, fl_pool_stats *out) {
  if (!c || !out) return;
  *out = c->pool.stats;
  out->open = c->pool.total;
  uint32_t idle = 0, waiting = 0, connecting = 0;
  fl__queue *q;
  fl__queue_foreach(q, &c->pool.idle_lru) idle++;
  fl__queue_foreach(q, &c->pool.waiters) waiting++;
  fl__queue *h;
  fl__queue_foreach(h, &c->pool.hosts) {
    fl__host *host = fl__container_of(h, fl__host, node);
    fl__queue_foreach(q, &host->busy) {
      fl__conn *conn = fl__container_of(q, fl__conn, host_node);
      if (conn->state == FL__CONN_RESOLVING || conn->state == FL__CONN_CONNECTING) connecting++;
    }
  }
  out->idle = idle;
  out->waiting = waiting;
  out->connecting = connecting;
  out->in_use = out->open - idle - connecting;
}

static void client_destroy(fl_client *c) {
  fl__pool_free_graveyard(c);
  fl__resolver_free(c->resolver);
  fl__tls_ctx_free(c->tls);
  fl__client_jar_free(c);
  fl__proxy_free_all(c);
  fl__timer_stop(&c->throttle_timer);
  fl__ratelimit_free(c);
  fl__loop_detach(c->loop);
  free(c->rbuf);
  free(c->user_agent);
  free(c->dns_servers);
  free(c);
}

void fl__client_enter(fl_client *c) { c->depth++; }

void fl__client_leave(fl_client *c) {
  if (--c->depth > 0) return;
  if (c->free_requested)
    client_destroy(c);
  else if (!fl__queue_empty(&c->graveyard))
    fl__pool_free_graveyard(c);
}

static void request_detach(fl_request *req);
static void complete_now(fl_request *req);

void fl_client_free(fl_client *c) {
  if (!c || c->free_requested) return;
  c->free_requested = 1;
  fl__client_enter(c);
  /* Each in-flight request completes with FL_ECANCELED, from here. */
  while (!fl__queue_empty(&c->inflight)) {
    fl_request *req = fl__container_of(c->inflight.next, fl_request, inflight_node);
    if (req->state != FL__REQ_COMPLETING) {
      request_detach(req);
      req->err = FL_ECANCELED;
      fl__msg(req->errmsg, sizeof req->errmsg, "client freed while the request was in flight");
      req->state = FL__REQ_COMPLETING;
    }
    fl__defer_cancel(&req->complete_defer);
    complete_now(req);
  }
  fl__pool_close_all(c);
  fl__client_leave(c);
}

/* ------------------------------------------------------------- timeouts */

static uint32_t tmo(const fl_request *req, size_t field_off) {
  const fl_timeouts *t = req->has_timeouts ? &req->timeouts : &req->client->opts.timeouts;
  return *(const uint32_t *)((const char *)t + field_off);
}
#define REQ_TIMEOUT(req, field) tmo((req), offsetof(fl_timeouts, field))

static void arm_phase(fl_request *req, uint32_t ms) {
  if (ms == 0) {
    fl__timer_stop(&req->phase_timer);
    return;
  }
  req->phase_deadline = fl__loop_now(req->client->loop) + ms;
  if (fl__timer_start(&req->phase_timer, ms))
    fl__timer_stop(&req->phase_timer); /* no memory for the heap: run without it */
}

/* Called by the engine at each state change. The read-idle timer is re-armed
 * lazily: activity only moves phase_deadline, the timer checks it. */
void fl__request_set_state(fl_request *req, fl__req_state st) {
  fl__req_state old = req->state;
  req->state = st;
  switch (st) {
  case FL__REQ_QUEUED:
    arm_phase(req, REQ_TIMEOUT(req, pool_ms));
    break;
  case FL__REQ_CONNECTING:
    arm_phase(req, REQ_TIMEOUT(req, connect_ms));
    break;
  case FL__REQ_SENDING:
    arm_phase(req, REQ_TIMEOUT(req, read_ms));
    break;
  case FL__REQ_WAITING:
    arm_phase(req, REQ_TIMEOUT(req, first_byte_ms));
    break;
  case FL__REQ_RECEIVING:
    if (old != FL__REQ_RECEIVING) {
      req->read_ms = REQ_TIMEOUT(req, read_ms);
      arm_phase(req, req->read_ms);
    }
    break;
  default:
    break;
  }
}

/* Read activity: push the idle deadline without touching the timer heap. */
void fl__request_activity(fl_request *req) {
  if (req->read_ms) req->phase_deadline = fl__loop_now(req->client->loop) + req->read_ms;
}

static void phase_timer_cb(fl__timer *t) {
  fl_request *req = fl__container_of(t, fl_request, phase_timer);
  fl_client *c = req->client;
  uint64_t now = fl__loop_now(c->loop);
  fl__client_enter(c);
  switch (req->state) {
  case FL__REQ_BACKOFF:
    req->info.attempts++;
    fl__request_dispatch(req);
    break;
  case FL__REQ_QUEUED:
    fl__request_finish(req, FL_EPOOL_TIMEOUT, "no connection free within %u ms (pool limit %u)",
                       REQ_TIMEOUT(req, pool_ms), c->opts.max_connections);
    break;
  case FL__REQ_CONNECTING:
    fl__request_finish(req, FL_ECONNECT_TIMEOUT, "connect to %s port %u timed out after %u ms%s",
                       req->url.host, req->url.port, REQ_TIMEOUT(req, connect_ms),
                       !req->conn                                 ? ""
                       : req->conn->state == FL__CONN_RESOLVING ? " (while resolving)"
                       : req->conn->tls                         ? " (during the TLS handshake)"
                                                                : "");
    break;
  case FL__REQ_WAITING:
    fl__request_finish(req, FL_EFIRST_BYTE_TIMEOUT, "no response within %u ms of sending the request",
                       REQ_TIMEOUT(req, first_byte_ms));
    break;
  case FL__REQ_SENDING:
  case FL__REQ_RECEIVING:
    if (req->phase_deadline > now) {
      if (fl__timer_start(t, req->phase_deadline - now)) fl__timer_stop(t);
      break;
    }
    fl__request_finish(req, FL_EREAD_TIMEOUT, "no data for %u ms (%llu body bytes received)",
                       REQ_TIMEOUT(req, read_ms), (unsigned long long)req->info.bytes_received);
    break;
  default:
    break;
  }
  fl__client_leave(c);
}

static void total_timer_cb(fl__timer *t) {
  fl_request *req = fl__container_of(t, fl_request, total_timer);
  fl_client *c = req->client;
  fl__client_enter(c);
  fl__request_finish(req, FL_ETIMEOUT, "operation timed out after %u ms (%llu body bytes received)",
                     REQ_TIMEOUT(req, total_ms), (unsigned long long)req->info.bytes_received);
  fl__client_leave(c);
}

/* ----------------------------------------------------------- completion */

/* Cut the request loose from pool and connection; the connection, if the
 * exchange was unfinished, is destroyed (it cannot be reused mid-message). */
static void request_detach_attempt(fl_request *req);

static void request_detach(fl_request *req) {
  fl__timer_stop(&req->total_timer);
  request_detach_attempt(req);
}

/* End the current attempt: off the queues, connection dropped; the total
 * timer keeps running across attempts. */
static void request_detach_attempt(fl_request *req) {
  fl_client *c = req->client;
  fl__timer_stop(&req->phase_timer);
  if (fl__queue_linked(&req->wait_node)) fl__pool_leave_queue(c, req);
  fl__conn *conn = req->conn;
  if (conn) {
    req->conn = NULL;
    if (fl__queue_linked(&req->pipe_node)) { /* queued behind another: its response */
      fl__queue_remove(&req->pipe_node); /* is still coming, so the connection goes */
      conn->inflight--;
      fl_request *head = conn->req; /* and the request it carries is sent again */
      conn->req = NULL;
      if (head) head->conn = NULL;
      fl__pool_destroy_conn(c, conn);
      if (head) fl__request_requeue(head);
    } else {
      if (conn->req == req) conn->req = NULL;
      fl__pool_destroy_conn(c, conn);
    }
  }
  fl__pool_unref_host(c, req);
  fl__decoder_free(req->decoder);
  req->decoder = NULL;
  if (req->save_fd >= 0) {
    close(req->save_fd);
    req->save_fd = -1;
  }
}

static void complete_now(fl_request *req) {
  fl_client *c = req->client;
  fl_done_cb cb = req->cb;
  void *data = req->cb_data;
  fl__queue_remove(&req->inflight_node);
  req->state = FL__REQ_IDLE;
  req->info.total_us = fl__now_us() - req->start_us;
  req->client = NULL;
  fl__loop_unref(c->loop);
  if (cb) cb(req, req->err, data); /* req may be gone from here on */
}

static void complete_defer_cb(fl__defer *d) {
  fl_request *req = fl__container_of(d, fl_request, complete_defer);
  fl_client *c = req->client;
  fl__client_enter(c);
  complete_now(req);
  fl__client_leave(c);
}

void fl__request_backoff(fl_request *req, int64_t delay_ms) {
  request_detach_attempt(req);
  req->want_fresh_conn = 0;
  fl__headers_reset(&req->res.headers);
  fl__buf_reset(&req->res.body);
  fl__buf_reset(&req->res.reason);
  req->res.status = 0;
  req->state = FL__REQ_BACKOFF;
  if (fl__timer_start(&req->phase_timer, (uint64_t)delay_ms)) {
    req->info.attempts++;
    fl__request_dispatch(req); /* no memory for a timer: try at once */
  }
}

void fl__request_finish(fl_request *req, int err, const char *fmt, ...) {
  if (req->state == FL__REQ_IDLE || req->state == FL__REQ_COMPLETING) return;
  if (err && err != FL_ECANCELED && err != FL_ETIMEOUT) {
    int64_t delay = fl__retry_delay_ms(req, err);
    if (delay >= 0) {
      fl__request_backoff(req, delay);
      return;
    }
  }
  request_detach(req);
  req->err = err;
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(req->errmsg, sizeof req->errmsg, fmt, ap);
    va_end(ap);
  }
  req->state = FL__REQ_COMPLETING;
  fl__defer_schedule(req->client->loop, &req->complete_defer);
}

/* fl_request_free on an in-flight request: silent cancel. */
void fl__request_abandon(fl_request *req) {
  fl_client *c = req->client;
  fl__client_enter(c);
  if (req->state != FL__REQ_COMPLETING) request_detach(req);
  fl__defer_cancel(&req->complete_defer);
  fl__queue_remove(&req->inflight_node);
  req->state = FL__REQ_IDLE;
  req->client = NULL;
  fl__loop_unref(c->loop);
  fl__client_leave(c);
}

int fl_request_cancel(fl_request *req) {
  if (!req || req->state == FL__REQ_IDLE || req->state == FL__REQ_COMPLETING) return FL_EINVAL;
  fl_client *c = req->client;
  fl__client_enter(c);
  fl__request_finish(req, FL_ECANCELED, "canceled by the caller");
  fl__client_leave(c);
  return 0;
}

/* ------------------------------------------------------------------ send */

static int method_is(const fl_request *req, const char *m) { return strcmp(req->method, m) == 0; }

static int method_idempotent(const fl_request *req) {
  static const char *const ok[] = {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"};
  for (size_t i = 0; i < FL__ARRAY_SIZE(ok); i++)
    if (method_is(req, ok[i])) return 1;
  return 0;
}

/* A reused connection failed before any response byte: the server most
 * likely closed it while idle. Retry once on a fresh connection when that
 * cannot duplicate a side effect. Returns 1 if the retry was started. */
int fl__request_retry(fl_request *req, fl__conn *conn) {
  if (!conn->reused || conn->response_started || req->info.retries > 0) return 0;
  if (req->upload_cb && !req->upload_rewind) return 0; /* a streamed body cannot be replayed */
  if (!method_idempotent(req) && !req->retryable) return 0;
  fl_client *c = req->client;
  req->conn = NULL;
  conn->req = NULL;
  fl__pool_destroy_conn(c, conn);
  req->info.retries++;
  req->want_fresh_conn = 1;
  req->info.reused = 0;
  fl__pool_acquire(c, req);
  return 1;
}

void fl__request_requeue(fl_request *req) {
  fl_client *c = req->client;
  if (c->free_requested || req->state == FL__REQ_COMPLETING || req->state == FL__REQ_IDLE)
    return; /* the client's free completes it */
  if (req->info.retries > 0) {
    fl__request_finish(req, FL_ERECV, "the connection closed before the pipelined response");
    return;
  }
  req->info.retries++;
  req->info.pipelined = 0;
  req->info.bytes_received = 0;
  req->want_fresh_conn = 1;
  req->res.status = 0; /* drop whatever part of a response had arrived */
  fl__headers_reset(&req->res.headers);
  fl__buf_reset(&req->res.body);
  fl__buf_reset(&req->res.reason);
  fl__decoder_free(req->decoder);
  req->decoder = NULL;
  fl__pool_acquire(c, req);
}

int fl_request_send(fl_client *c, fl_request *req, fl_done_cb cb, void *data) {
  if (!c || !req) return FL_EINVAL;
  if (req->state != FL__REQ_IDLE || c->free_requested) return FL_EINVAL;
  if (!req->url_parsed) {
    fl__url_free(&req->url);
    int err = fl__url_parse(&req->url, req->url_text);
    if (err) {
      req->err = err;
      fl__msg(req->errmsg, sizeof req->errmsg, "malformed URL: %s", req->url_text);
      return err;
    }
    req->url_parsed = 1;
  }
  if (!fl__scheme_supported(req->url.scheme)) {
    req->err = FL_EUNSUPPORTED_PROTOCOL;
    fl__msg(req->errmsg, sizeof req->errmsg, "protocol \"%s\" not supported", req->url.scheme);
    return FL_EUNSUPPORTED_PROTOCOL;
  }
  req->client = c;
  req->cb = cb;
  req->cb_data = data;
  req->err = 0;
  req->errmsg[0] = '\0';
  memset(&req->info, 0, sizeof req->info);
  req->res.status = 0;
  req->res.http_minor = 0;
  fl__headers_reset(&req->res.headers);
  fl__buf_reset(&req->res.body);
  fl__buf_reset(&req->res.reason);
  req->want_fresh_conn = 0;
  req->paused = 0;
  req->head_only = method_is(req, "HEAD");
  req->hop_method = req->method;
  req->hop_drop_body = 0;
  req->stripped_auth = 0;
  req->discarding = 0;
  req->discarded = 0;
  req->decoded_total = 0;
  req->info.attempts = 1;
  fl__buf_reset(&req->effective_url); /* origin and effective URL are made at the first redirect */
  req->body_limit = req->max_body ? req->max_body : c->opts.max_body_bytes;
  req->start_us = fl__now_us();
  fl__timer_init(c->loop, &req->phase_timer, phase_timer_cb);
  fl__timer_init(c->loop, &req->total_timer, total_timer_cb);
  fl__defer_init(&req->complete_defer, complete_defer_cb);
  fl__queue_insert_tail(&c->inflight, &req->inflight_node);
  fl__loop_ref(c->loop);
  req->state = FL__REQ_QUEUED;
  uint32_t total = REQ_TIMEOUT(req, total_ms);
  if (total && fl__timer_start(&req->total_timer, total)) fl__timer_stop(&req->total_timer);
  fl__client_enter(c);
  fl__request_dispatch(req);
  fl__client_leave(c);
  return 0;
}

void fl__request_attach(fl_request *req, fl__conn *conn) {
  req->conn = conn;
  req->info.queue_us = fl__now_us() - req->start_us;
}

void fl_request_pause(fl_request *req) {
  if (!req || req->paused) return;
  req->paused = 1;
  if (req->conn && req->conn->fd >= 0 && req->conn->state == FL__CONN_ACTIVE)
    fl__http1_pause(req->conn); /* else the exchange pauses when it starts */
}

void fl_request_resume(fl_request *req) {
  if (!req || !req->paused) return;
  req->paused = 0;
  if (req->conn && req->conn->fd >= 0 && req->conn->state == FL__CONN_ACTIVE)
    fl__http1_resume(req->conn);
}
