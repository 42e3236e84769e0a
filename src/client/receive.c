/* The request's side of its exchange (the sink): steps into states and
 * facts, the response head into cookies, redirect and file decisions, body
 * bytes through the decoder into the user's callback, file or buffer. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client/request.h"
#include "engine/conn.h"
#include "http/decode.h"

static fl_request *req_of(fl__exchange *ex) { return fl__container_of(ex, fl_request, ex); }

/* An error the sink found: its message goes where the outcome's will. */
static int sink_fail(fl_request *req, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int sink_fail(fl_request *req, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fl__request_msgv(req, fmt, ap);
  va_end(ap);
  return err;
}

/* After a user callback: is the exchange still carried where it was? (The
 * callback may have cancelled or freed the request; the connection's memory
 * outlives the call, the request's may not.) */
static int still_carried(const fl__conn *conn, const fl__exchange *ex) {
  return fl__conn_carries(conn, ex);
}

static void trace_response_head(fl_request *req);

/* The steps a request on a kept-alive connection does not take each time. */
static void __attribute__((noinline)) other_step(fl__exchange *ex, fl__ex_step step) {
  fl_request *req = req_of(ex);
  const fl__conn *conn = ex->carrier;
  switch (step) {
  case FL__EX_RESOLVED:
    req->info.dns_us = fl__now_us() - req->start_us;
    req->info.dns_cache_hit = conn->dns_cache_hit;
    break;
  case FL__EX_CONNECTED: req->info.connect_us = fl__now_us() - req->start_us; break;
  case FL__EX_TLS_DONE:
    req->info.appconnect_us = fl__now_us() - req->start_us;
    req->info.tls_resumed = conn->tls_resumed;
    break;
  case FL__EX_HEAD_OUT: /* asked for by a trace hook or event hooks */
    if (fl__hooked(req->client)) {
      fl__hook_request(req, FL_EV_HEAD_SENT, 0, 0);
      if (!req->trace_cb) break;
    }
    if (req->trace_cb)
      req->trace_cb(req, FL_TRACE_REQUEST_HEAD, ex->head.data, ex->head.len, req->trace_data);
    break;
  case FL__EX_SENT:
    if (req->state == FL__REQ_SENDING) fl__request_set_state(req, FL__REQ_WAITING);
    break;
  case FL__EX_INTERIM: /* shown as curl -v/-i show a 100 Continue */
    if (req->trace_cb) trace_response_head(req);
    break;
  case FL__EX_FIRST_BYTE: { /* when the loop woke to the readable socket; never before the send */
    uint64_t woke = fl__loop_now_us(req->client->loop);
    req->info.first_byte_us = woke > req->start_us ? woke - req->start_us : 0;
  }
    fl__request_set_state(req, FL__REQ_RECEIVING); /* the FIRST_BYTE event's call site */
    break;
  case FL__EX_ACTIVITY: /* push the read-idle deadline, no timer work */
    if (req->read_ms) req->phase_deadline = fl__loop_now(req->client->loop) + req->read_ms;
    break;
  }
}

/* Every request's two steps first, without the switch's frame. */
static void on_step(fl__exchange *ex, fl__ex_step step) {
  fl_request *req = req_of(ex);
  if (step ==
      FL__EX_FIRST_BYTE) { /* when the loop woke to the readable socket; never before the send */
    uint64_t woke = fl__loop_now_us(req->client->loop);
    req->info.first_byte_us = woke > req->start_us ? woke - req->start_us : 0;
    fl__request_set_state(req, FL__REQ_RECEIVING); /* the FIRST_BYTE event's call site */
  } else if (step == FL__EX_SENT) {
    if (req->state == FL__REQ_SENDING) fl__request_set_state(req, FL__REQ_WAITING);
  } else {
    other_step(ex, step);
  }
}

/* Expect: 100-continue when the user asked for it, or for a body larger
 * than the client's threshold (or of unknown length), as curl does: curl
 * 7.88 sends none for a body of exactly 1 MiB. */
static uint32_t expect_wait_ms(fl_request *req) {
  const fl_client_options *o = &req->client->opts;
  if (req->hop_drop_body || (!req->upload_cb && !req->has_body)) return 0;
  if (req->send_rate) fl__sendcap_begin(req); /* a body: paced from its first byte */
  uint32_t ms = o->expect_100_timeout_ms ? o->expect_100_timeout_ms : 1000;
  const char *e = fl__headers_get(&req->headers, "Expect");
  if (e) return fl__strcaseeq(e, "100-continue") ? ms : 0;
  if (!o->expect_100_threshold || (req->removed_defaults & FL__DEF_EXPECT)) return 0;
  if (req->upload_cb)
    return req->upload_len < 0 || (uint64_t)req->upload_len > o->expect_100_threshold ? ms : 0;
  return req->body.len > o->expect_100_threshold ? ms : 0;
}

/* Its turn on an open connection: the head is built now, as it leaves. */
static int on_start(fl__exchange *ex) {
  fl_request *req = req_of(ex);
  const fl__conn *conn = ex->carrier;
  ex->expect_ms = expect_wait_ms(req);
  /* Reused: a pooled connection, or one carrying others (pipelined
   * behind them, or streams beside them). */
  req->info.reused = conn->reused || req->info.pipelined || conn->nexchanges > 1;
  memcpy(req->info.remote_ip, conn->remote_ip, sizeof req->info.remote_ip);
  req->info.remote_port = conn->remote_port;
  memcpy(req->info.local_ip, conn->local_ip, sizeof req->info.local_ip);
  req->info.local_port = conn->local_port;
  fl__request_set_state(req, req->info.pipelined ? FL__REQ_WAITING : FL__REQ_SENDING);
  ex->wants_sent = !req->info.pipelined; /* SENT moves SENDING on to WAITING */
  /* no HEAD_OUT call per request without a trace hook or event hooks */
  ex->wants_head_out = req->trace_cb != NULL;
  int pre_send = 0; /* a pre-send hook: each attempt builds its own head */
  fl_client *c = req->client;
  if (FL__UNLIKELY(c->hooks_on)) {
    if (c->hooks.on_event) {
      ex->wants_head_out = 1;
      if (req->info.reused) fl__hook_request(req, FL_EV_CONN_REUSED, 0, 0);
    }
    pre_send = c->hooks.pre_send != NULL;
  }
  /* A resent request (a benchmark's, a poller's) reuses its head when
   * nothing it depends on changed: first hop, no cookie from the jar, no
   * Expect, no Digest credentials (a nonce count in each), and no setter
   * called since (they clear head_reusable). */
  int plain_hop = req->info.redirects == 0 && !req->stripped_auth && !req->hop_drop_body &&
                  !ex->expect_ms && !fl__request_has_digest(req) && !pre_send;
  if (!(req->head_reusable && plain_hop && fl__request_jar_empty(req))) {
    if (fl__request_build_head(req)) {
      req->head_reusable = 0;
      return sink_fail(req, FL_ENOMEM, "out of memory building the request");
    }
    req->head_reusable = plain_hop && fl__request_jar_empty(req);
    if (pre_send) {
      int err = fl__hook_pre_send(req);
      if (err) return err;
    }
  }
  if (ex->streams && req->upload_rewind && req->upload_rewind(req))
    return sink_fail(req, FL_EREAD, "cannot read the request body again");
  return 0;
}

/* The response head rebuilt from what was parsed, for the trace hook. */
static void trace_response_head(fl_request *req) {
  fl__buf *b = &req->client->scratch;
  char line[64];
  if (req->res.version == 20) /* as curl writes it: no reason phrase, the space kept */
    snprintf(line, sizeof line, "HTTP/2 %d ", req->res.status);
  else
    snprintf(line, sizeof line, "HTTP/1.%d %d ", req->res.http_minor, req->res.status);
  fl__buf_reset(b);
  int err = fl__buf_puts(b, line) || fl__buf_puts(b, fl_response_reason(&req->res)) ||
            fl__buf_puts(b, "\r\n");
  const fl__headers *h = &req->res.headers;
  for (size_t i = 0; !err && i < h->n; i++)
    err = fl__buf_puts(b, fl__headers_name(h, i)) || fl__buf_puts(b, ": ") ||
          fl__buf_puts(b, fl__headers_value(h, i)) || fl__buf_puts(b, "\r\n");
  if (!err && !fl__buf_puts(b, "\r\n"))
    req->trace_cb(req, FL_TRACE_RESPONSE_HEAD, b->data, b->len, req->trace_data);
}

static uint64_t filesize_limit(const fl_request *req) {
  return req->filesize_now; /* settled at send (request.c) */
}

static int on_head(fl__exchange *ex) {
  fl_request *req = req_of(ex);
  const fl__conn *conn = ex->carrier;
  int status = req->res.status;
  req->info.http_version = req->res.version;
  req->info.stream_id = ex->stream_id;
  if (req->trace_cb) {
    trace_response_head(req);
    if (!still_carried(conn, ex)) return FL_ECANCELED;
  }
  if (req->res.seen & FL__H_SET_COOKIE) fl__request_store_cookies(req);
  if (fl__redirect_wanted(req)) {
    /* Not the user's response: its body is counted and dropped, undecoded. */
    req->discarding = 1;
    return 0;
  }
  /* As curl: a 200 whose Last-Modified misses the time condition is made
   * a 304, and its body is not read (the connection closes instead). */
  int timecond_drop = 0;
  if (req->timecond && fl__timecond_unmet(req)) {
    req->info.timecond_unmet = 1;
    timecond_drop = status != 304 && !ex->head_only;
    req->res.status = 304;
  }
  if (req->headers_cb) {
    int r = req->headers_cb(req, req->headers_data);
    if (!still_carried(conn, ex)) return FL_ECANCELED;
    if (r < 0) return sink_fail(req, FL_ECALLBACK_ABORT, "a response callback asked to abort");
  }
  if (req->save_path) {
    req->save_fd = open(req->save_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (req->save_fd < 0)
      return sink_fail(req, FL_EWRITE, "cannot write %s: %s", req->save_path, strerror(errno));
  }
  if (timecond_drop) return FL__EX_ABANDON_BODY;
  if (ex->head_only || status == 204 || status == 304) return 0;
  const char *coding = req->res.seen & FL__H_CONTENT_ENCODING
                           ? fl__headers_get(&req->res.headers, "Content-Encoding")
                           : NULL;
  uint64_t limit = filesize_limit(req);
  if (coding && req->client->opts.decompress && !ex->raw) { /* raw: as it came */
    char why[160];
    int err = fl__decoder_init(&req->decoder, coding, limit, why, sizeof why);
    if (err) return sink_fail(req, err, "%s", why);
    if (fl__decoder_is_identity(req->decoder)) {
      fl__decoder_free(req->decoder);
      req->decoder = NULL;
    }
  }
  /* A declared length over the limit fails before the body is read. */
  if (!req->decoder && limit && ex->content_length >= 0 && (uint64_t)ex->content_length > limit)
    return sink_fail(req, FL_EFILESIZE_EXCEEDED, "maximum file size exceeded (%llu bytes)",
                     (unsigned long long)limit);
  return 0;
}

/* Decoded body bytes: to the user's callback, the file or the buffer,
 * within caps. */
static int deliver(void *data, const char *at, size_t n) {
  fl_request *req = data;
  req->info.bytes_received += n;
  uint64_t limit = filesize_limit(req);
  if (limit && req->info.bytes_received > limit)
    return sink_fail(req, FL_EFILESIZE_EXCEEDED, "maximum file size exceeded (%llu bytes)",
                     (unsigned long long)limit);
  if (req->save_fd >= 0) {
    for (size_t off = 0; off < n;) {
      ssize_t w = write(req->save_fd, at + off, n - off);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0)
        return sink_fail(req, FL_EWRITE, "cannot write %s: %s", req->save_path, strerror(errno));
      off += (size_t)w;
    }
    return 0;
  }
  if (req->body_cb) {
    const fl__conn *conn = req->ex.carrier;
    const fl__exchange *ex = &req->ex;
    int r = req->body_cb(req, at, n, req->body_data);
    if (!still_carried(conn, ex)) return FL_ECANCELED;
    return r < 0 ? sink_fail(req, FL_ECALLBACK_ABORT, "a response callback asked to abort") : 0;
  }
  if (req->body_limit && req->res.body.len + n > req->body_limit)
    return sink_fail(req, FL_EBODY_TOO_LARGE, "response body exceeds %llu bytes",
                     (unsigned long long)req->body_limit);
  return fl__buf_append(&req->res.body, at, n) ? sink_fail(req, FL_ENOMEM, "out of memory") : 0;
}

/* Errors from the decoder, or from deliver through it: deliver wrote its
 * own message; the decoder's need one. */
static int body_error(fl_request *req, int err) {
  if (err == FL_ECANCELED || fl__request_has_msg(req)) return err; /* cancelled: req may be gone */
  if (err == FL_EBAD_ENCODING)
    return sink_fail(req, err, "%s",
                     req->decoder ? fl__decoder_errmsg(req->decoder) : "bad content encoding");
  if (err == FL_EFILESIZE_EXCEEDED)
    return sink_fail(req, err, "maximum file size exceeded (%llu bytes)",
                     (unsigned long long)filesize_limit(req));
  return sink_fail(req, err, "%s", fl_strerror(err));
}

/* on_body's other cases, out of line: a discarded body, the end, a speed
 * cap, a decoder. */
static int __attribute__((noinline)) body_other(fl__exchange *ex, const char *at, size_t n) {
  fl_request *req = req_of(ex);
  if (req->discarding) {
    req->discarded += n;
    return req->discarded > FL__REDIRECT_DISCARD_CAP ? FL__EX_ABANDON_BODY : 0;
  }
  if (!at) { /* end of the body */
    if (!req->decoder) return 0;
    const fl__conn *conn = ex->carrier;
    fl__request_msg_clear(req);
    int err = fl__decoder_finish(req->decoder, deliver, req);
    if (!still_carried(conn, ex)) return FL_ECANCELED;
    return err ? body_error(req, err) : 0;
  }
  /* as it arrives: a transfer that fails later (a timeout) still tells */
  req->info.bytes_received_raw = ex->body_bytes;
  if (req->recv_rate) fl__speedcap_account(req, n); /* no cap: no call */
  /* deliver's errors carry their message (or are a cancel): straight back */
  if (!req->decoder) return deliver(req, at, n);
  fl__request_msg_clear(req);
  int err = fl__decoder_feed(req->decoder, at, n, deliver, req);
  return err ? body_error(req, err) : 0;
}

static int on_body(fl__exchange *ex, const char *at, size_t n) {
  fl_request *req = req_of(ex);
  /* The usual piece: no discarding, no cap, no decoder (one test), and
   * deliver's errors carry their message (or are a cancel): straight back. */
  if (FL__UNLIKELY(req->discarding || !at || req->recv_rate || req->decoder))
    return body_other(ex, at, n);
  req->info.bytes_received_raw = ex->body_bytes; /* as it arrives: a later failure still tells */
  return deliver(req, at, n);
}

static long on_upload(fl__exchange *ex, char *buf, size_t cap) {
  fl_request *req = req_of(ex);
  long n = req->send_rate ? fl__sendcap_upload(req, buf, cap)
                          : req->upload_cb(req, buf, cap, req->upload_data);
  if (n > 0) req->upload_taken = 1; /* gone for good unless it can rewind (resend_orphan) */
  return n;
}

/* on_done's rare part, out of line (the usual end stays a leaf): the
 * event hooks, and a speed cap holding the end back. 1: done now. */
static int __attribute__((cold, noinline)) done_hooked_or_capped(fl_request *req) {
  if (fl__hooked(req->client))
    fl__hook_request(req,
                     req->ws && req->upgrade && req->upgrade->tp.fd >= 0 ? FL_EV_UPGRADED
                                                                         : FL_EV_RESPONSE_END,
                     0, req->res.status);
  if (req->rate_paused) { /* the speed cap: the body came early, it ends on time */
    req->rate_done = 1;
    return 0;
  }
  return 1;
}

static void on_done(fl__exchange *ex) {
  fl_request *req = req_of(ex);
  req->info.bytes_received_raw = ex->body_bytes;
  req->info.wire_bytes_received = ex->wire_bytes;
  req->info.content_length = ex->content_length;
  if (FL__UNLIKELY(fl__hooked(req->client) || req->rate_paused) && !done_hooked_or_capped(req))
    return;
  fl__request_exchange_done(req);
}

static void on_failed(fl__exchange *ex, const fl__ex_failure *f) {
  fl_request *req = req_of(ex);
  req->info.bytes_received_raw = ex->body_bytes;
  fl__request_exchange_failed(req, f);
}

const fl__exchange_ops fl__request_exchange_ops = {
    .start = on_start,
    .step = on_step,
    .head = on_head,
    .body = on_body,
    .upload = on_upload,
    .done = on_done,
    .failed = on_failed,
};
