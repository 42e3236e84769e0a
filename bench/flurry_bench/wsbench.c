/* --ws-message SIZE: flurry-bench's WebSocket mode, on the thread's loop
 * and client (worker.c keeps the phases, the tick and the -n quota).
 *
 * Each of the thread's connections is an fl_ws: it upgrades once (the
 * upgrade request goes through the client as any request: DNS, TLS with
 * --cacert or -k, -H headers), then sends one SIZE-byte message, waits for
 * its echo, and sends the next from the message callback: closed loop, one
 * message in flight per connection, as wrk has one request in flight per
 * connection. A message's latency is from the send call to the echo's
 * callback; the report's "requests" are echoed messages, its bytes the
 * echoed payload bytes.
 *
 * Failures: a refused or broken upgrade (any status but 101, a bad accept
 * key) is fatal to the run with the library's message, since no message
 * could ever be timed; other connect failures count as connect errors and
 * the run goes on with the connections that opened (fatal when none did).
 * An echo of the wrong size counts as a read error; a connection that ends
 * while the run goes on counts as a read error and is not reopened; an
 * echo slower than -T is a timeout, and its connection is aborted (a late
 * echo would be taken for the next message's).
 *
 * At the end the open connections are closed with code 1000 and their
 * closing handshakes waited for (at most END_WAIT_MS), so servers see a
 * clean end rather than resets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker.h"

#define END_WAIT_MS 1000

struct flb_wsconn {
  flb_worker *w;
  fl_ws *ws;
  fl_request *req;
  uint64_t sent_us;
  uint64_t sent_ms; /* loop time of the send, for -T */
  int open, busy, ended, timed_out;
};

static void account_error(flb_worker *w, int kind, int err, const char *msg) {
  flb_worker_note_error(w, kind, err, msg);
}

/* A connection left the run (failed open, end, abort). */
static void conn_dead(flb_worker *w, flb_wsconn *c) {
  c->ended = 1;
  if (c->busy) {
    c->busy = 0;
    w->inflight--;
  }
  w->ws_live--;
  if (w->ws_live || w->stopping || w->ws_closing) return;
  flb_result *res = w->res;
  if (!res->fatal && !res->ws_opened) { /* none ever opened: the run failed */
    res->fatal = res->first_err ? res->first_err : FL_ECONNECT;
    snprintf(res->fatal_msg, sizeof res->fatal_msg, "no WebSocket connection opened: %.200s",
             res->first_err ? res->first_err_msg : "?");
  }
  flb_worker_stop(w);
}

static void send_next(flb_worker *w, flb_wsconn *c);

/* A connect finished (either way): once all of the thread's have, the
 * connections start sending and the run's window (or its warmup) starts,
 * so that neither the upgrades nor echoes on the first connections while
 * the last ones upgrade are in the figures (nor in the process's CPU). */
static void connect_done(flb_worker *w) {
  if (--w->ws_connecting) return;
  flb_worker_begin(w);
  w->ws_sending = 1;
  for (size_t i = 0; i < w->nws && !w->stopping; i++) send_next(w, &w->wsconns[i]);
}

static void send_next(flb_worker *w, flb_wsconn *c) {
  if (w->stopping || c->ended || !c->open || c->busy || !w->ws_sending) return;
  if (w->measuring && w->quota) {
    if (!w->budget) return;
    w->budget--;
  }
  c->sent_us = flb_now_us();
  c->sent_ms = fl_loop_now(w->loop);
  c->timed_out = 0;
  int err = fl_ws_send(c->ws, w->cfg->ws_binary ? FL_WS_BINARY : FL_WS_TEXT, w->ws_payload,
                       (size_t)w->cfg->ws_message);
  if (err < 0) { /* an error ends the connection: its close callback follows */
    account_error(w, FLB_ERR_WRITE, err, fl_ws_errmsg(c->ws));
    return;
  }
  c->busy = 1;
  w->inflight++;
}

static void on_message(fl_ws *ws, int type, const char *msg, size_t len, int flags, void *data) {
  flb_wsconn *c = data;
  flb_worker *w = c->w;
  (void)ws;
  (void)msg;
  (void)flags;
  if (!c->busy) return; /* not ours to time (a server's greeting, say) */
  uint64_t now = flb_now_us();
  c->busy = 0;
  w->inflight--;
  if (w->measuring) {
    flb_result *res = w->res;
    w->finished++;
    res->complete++;
    res->bytes += len;
    w->tick_count++;
    flb_hist_record(&res->latency, now > c->sent_us ? now - c->sent_us : 0);
    int want = w->cfg->ws_binary ? FL_WS_BINARY : FL_WS_TEXT;
    if (len != w->cfg->ws_message || type != want) {
      res->length_mismatch++;
      char m[96];
      snprintf(m, sizeof m, "echo of %zu bytes (%s), expected %llu (%s)", len,
               type == FL_WS_BINARY ? "binary" : "text", (unsigned long long)w->cfg->ws_message,
               want == FL_WS_BINARY ? "binary" : "text");
      account_error(w, FLB_ERR_READ, FL_EPARTIAL_BODY, m);
    }
    if (w->quota && w->finished >= w->quota) {
      flb_worker_stop(w);
      return;
    }
  }
  send_next(w, c);
}

static void on_close(fl_ws *ws, int err, int code, const char *reason, void *data) {
  flb_wsconn *c = data;
  flb_worker *w = c->w;
  (void)ws;
  if (!w->ws_closing && !(c->timed_out && err == FL_ECANCELED)) {
    char m[200];
    snprintf(m, sizeof m, "WebSocket ended (close code %d%s%s): %s", code, *reason ? ", " : "",
             reason, fl_ws_errmsg(c->ws));
    account_error(w, FLB_ERR_READ, err ? err : FL_EWS_CLOSED, m);
  }
  conn_dead(w, c);
  if (w->ws_closing && !w->ws_live) fl_loop_stop(w->loop);
}

static void on_open(fl_ws *ws, int err, void *data) {
  flb_wsconn *c = data;
  flb_worker *w = c->w;
  if (err) {
    char m[200];
    int status = fl_response_status(fl_request_response(c->req));
    if (err == FL_EWS_REFUSED && status)
      snprintf(m, sizeof m, "upgrade refused with HTTP %d: %s", status, fl_ws_errmsg(ws));
    else
      snprintf(m, sizeof m, "%s", fl_ws_errmsg(ws));
    if (err == FL_EWS_REFUSED || err == FL_EWS_HANDSHAKE) {
      flb_worker_fatal(w, err, m); /* the URL cannot be benchmarked */
    } else {
      account_error(w, FLB_ERR_CONNECT, err, m);
      conn_dead(w, c);
      connect_done(w);
    }
    return;
  }
  c->open = 1;
  w->res->ws_opened++;
  if (strstr(fl_ws_extensions(ws), "permessage-deflate")) w->res->ws_deflate++;
  connect_done(w);
}

int flb_ws_setup(flb_worker *w) {
  const flb_config *cfg = w->cfg;
  size_t n = (size_t)w->nconns;
  w->ws_payload = malloc(cfg->ws_message ? (size_t)cfg->ws_message : 1);
  w->wsconns = calloc(n, sizeof *w->wsconns);
  if (!w->ws_payload || !w->wsconns) return FL_ENOMEM;
  /* printable ASCII: valid UTF-8 for text, and compressible about as much
   * as JSON would be */
  for (uint64_t i = 0; i < cfg->ws_message; i++) w->ws_payload[i] = (char)('a' + i % 26);
  fl_ws_options o;
  fl_ws_options_init(&o);
  o.compress = cfg->ws_compress;
  if (cfg->ws_message > o.max_message) o.max_message = cfg->ws_message;
  for (size_t i = 0; i < n; i++) {
    flb_wsconn *c = &w->wsconns[i];
    c->w = w;
    c->ws = fl_ws_new(&o);
    c->req = fl_request_new("GET", cfg->url);
    if (!c->ws || !c->req) return FL_ENOMEM;
    for (uint64_t h = 0; h < cfg->nheaders; h++)
      if (fl_request_add_header(c->req, cfg->headers[h].name, cfg->headers[h].value))
        return FL_ENOMEM;
    fl_ws_on_message(c->ws, on_message, c);
    fl_ws_on_close(c->ws, on_close, c);
  }
  w->nws = n;
  return 0;
}

void flb_ws_start(flb_worker *w) {
  for (size_t i = 0; i < w->nws && !w->stopping; i++) {
    flb_wsconn *c = &w->wsconns[i];
    int err = fl_ws_connect(c->ws, w->client, c->req, on_open, c);
    if (err) {
      const char *why = fl_request_errmsg(c->req);
      flb_worker_fatal(w, err, *why ? why : "cannot start the upgrade");
      return;
    }
    w->ws_live++;
    w->ws_connecting++;
  }
}

void flb_ws_sweep(flb_worker *w, uint64_t now_ms, uint64_t limit_ms) {
  for (size_t i = 0; i < w->nws; i++) {
    flb_wsconn *c = &w->wsconns[i];
    if (c->busy && !c->timed_out && now_ms - c->sent_ms >= limit_ms) {
      c->timed_out = 1;
      if (w->measuring) {
        w->finished++;
        account_error(w, FLB_ERR_TIMEOUT, FL_ETIMEOUT, "no echo within the --timeout");
      }
      fl_ws_abort(c->ws); /* close_cb with FL_ECANCELED, from the loop */
    }
  }
  if (w->measuring && w->quota && w->finished >= w->quota) flb_worker_stop(w);
}

static void end_wait_cb(fl_timer *t, void *data) {
  (void)t;
  fl_loop_stop(data);
}

void flb_ws_teardown(flb_worker *w) {
  if (!w->wsconns) return;
  /* Close what is open, and wait (bounded) for the closing handshakes. */
  w->ws_closing = 1;
  int closing = 0;
  for (size_t i = 0; i < w->nws; i++) {
    flb_wsconn *c = &w->wsconns[i];
    if (c->ws && c->open && !c->ended && fl_ws_close(c->ws, 1000, NULL) == 0) closing = 1;
  }
  fl_timer *t = closing ? fl_timer_new(w->loop) : NULL;
  if (t && fl_timer_start(t, END_WAIT_MS, 0, end_wait_cb, w->loop) == 0 && w->ws_live)
    fl_loop_run(w->loop, FL_RUN_DEFAULT);
  fl_timer_free(t);
  for (size_t i = 0; i < w->nws; i++) {
    fl_ws_free(w->wsconns[i].ws); /* a connect still in flight is cancelled silently */
    fl_request_free(w->wsconns[i].req);
  }
  free(w->wsconns);
  w->wsconns = NULL;
  free(w->ws_payload);
  w->ws_payload = NULL;
}
