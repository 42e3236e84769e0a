/* An open WebSocket: frames read from the transport into the codec and
 * dispatched (messages to the user, pings answered, the close handshake),
 * frames written from one queue (write at once, poll only when the socket
 * would block), heartbeat, read and close timers. See client/ws.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/ws.h"
#include "net/tls.h"

#define READ_CHUNK 32768
/* Reads per readiness event before yielding to the loop. */
#define READS_PER_EVENT 8

static void io_defer_cb(fl__defer *d);
static void end_defer_cb(fl__defer *d);
static void drain_defer_cb(fl__defer *d);

/* ---------------------------------------------------------------- options */

void fl_ws_options_init(fl_ws_options *o) {
  if (!o) return;
  memset(o, 0, sizeof *o);
  o->compress = 1;
  o->max_message = 4u << 20;
  o->close_timeout_ms = 5000;
  o->high_water = 1u << 20;
}

fl_ws *fl_ws_new(const fl_ws_options *opts) {
  fl_ws_options def;
  if (!opts) {
    fl_ws_options_init(&def);
    opts = &def;
  }
  if (opts->compress_window_bits &&
      (opts->compress_window_bits < 8 || opts->compress_window_bits > 15))
    return NULL;
  fl_ws *ws = calloc(1, sizeof *ws);
  if (!ws) return NULL;
  ws->opts = *opts;
  if (!ws->opts.pong_timeout_ms) ws->opts.pong_timeout_ms = ws->opts.heartbeat_ms;
  if (!ws->opts.close_timeout_ms) ws->opts.close_timeout_ms = 5000;
  if (!ws->opts.high_water) ws->opts.high_water = 1u << 20;
  size_t n = 0;
  while (opts->subprotocols && opts->subprotocols[n]) n++;
  ws->protos = calloc(n + 1, sizeof *ws->protos);
  if (!ws->protos) {
    free(ws);
    return NULL;
  }
  for (size_t i = 0; i < n; i++) {
    if (!(ws->protos[i] = strdup(opts->subprotocols[i]))) {
      for (size_t k = 0; k < i; k++) free(ws->protos[k]);
      free(ws->protos);
      free(ws);
      return NULL;
    }
  }
  ws->opts.subprotocols = (const char *const *)ws->protos;
  fl__transport_init(&ws->tp);
  fl__buf_init(&ws->out);
  fl__buf_init(&ws->early);
  fl__buf_init(&ws->peer_reason);
  fl__buf_init(&ws->end_reason);
  fl__queue_init(&ws->msgs);
  fl__ws_tx_init(&ws->tx);
  fl__ws_rx_init(&ws->rx, NULL, NULL, 0, 0);
  fl__defer_init(&ws->io_defer, io_defer_cb);
  fl__defer_init(&ws->end_defer, end_defer_cb);
  fl__defer_init(&ws->drain_defer, drain_defer_cb);
  return ws;
}

/* -------------------------------------------------------------- re-entry */

static void destroy(fl_ws *ws) {
  fl__ws_rx_dispose(&ws->rx);
  fl__ws_tx_dispose(&ws->tx);
  fl__buf_dispose(&ws->out);
  fl__buf_dispose(&ws->early);
  fl__buf_dispose(&ws->peer_reason);
  fl__buf_dispose(&ws->end_reason);
  while (!fl__queue_empty(&ws->msgs)) {
    fl__ws_qmsg *m = fl__container_of(ws->msgs.next, fl__ws_qmsg, node);
    fl__queue_remove(&m->node);
    free(m);
  }
  free(ws->taken);
  for (size_t i = 0; ws->protos && ws->protos[i]; i++) free(ws->protos[i]);
  free(ws->protos);
  free(ws->protocol);
  free(ws);
}

void fl__ws_enter(fl_ws *ws) { ws->depth++; }
void fl__ws_leave(fl_ws *ws) {
  if (--ws->depth == 0 && ws->freed) destroy(ws);
}

/* Stop everything that can call back: timers, defers, the watcher. */
static void quiesce(fl_ws *ws) {
  fl__defer_cancel(&ws->io_defer);
  fl__defer_cancel(&ws->drain_defer);
  if (!ws->timers_ready) return;
  fl__timer_stop(&ws->hb_timer);
  fl__timer_stop(&ws->pong_timer);
  fl__timer_stop(&ws->read_timer);
  fl__timer_stop(&ws->close_timer);
  if (ws->loop_ref) { /* an open WebSocket keeps fl_loop_run going */
    ws->loop_ref = 0;
    fl__loop_unref(ws->loop);
  }
  if (ws->tp.fd >= 0) {
    fl__io_close(ws->loop, &ws->io);
    fl__transport_close(&ws->tp);
  }
}

void fl_ws_free(fl_ws *ws) {
  if (!ws || ws->freed) return;
  ws->freed = 1;
  if (ws->state == FL__WS_CONNECTING) fl__ws_connect_cancel(ws, 0);
  quiesce(ws);
  fl__defer_cancel(&ws->end_defer);
  if (ws->depth == 0) destroy(ws);
}

/* ------------------------------------------------------------------ write */

size_t fl_ws_buffered(const fl_ws *ws) { return ws ? ws->out.len - ws->out_off : 0; }

static uint32_t tp_wants(const fl_ws *ws, int writing) {
  return ws->tp.ops && ws->tp.ops->wants ? ws->tp.ops->wants(&ws->tp, writing) : 0;
}

/* Write what the socket takes. 0, or -1 after ending the WebSocket. */
static int flush(fl_ws *ws) {
  while (ws->out_off < ws->out.len) {
    struct iovec iov = {ws->out.data + ws->out_off, ws->out.len - ws->out_off};
    ssize_t w = ws->tp.ops->writev(&ws->tp, &iov, 1);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      int e = errno;
      const char *why = e == EPROTO && ws->tp.ops->failure ? ws->tp.ops->failure(&ws->tp) : NULL;
      fl__msg(ws->errmsg, sizeof ws->errmsg, "failed sending to the server: %s",
              why ? why : strerror(e));
      fl__ws_end(ws, ws->close_got ? 0 : FL_ESEND, ws->close_got ? ws->peer_code : FL__WS_ABNORMAL,
                 NULL);
      return -1;
    }
    ws->out_off += (size_t)w;
  }
  if (ws->out_off == ws->out.len) {
    ws->out_off = 0;
    fl__buf_reset(&ws->out);
  } else if (ws->out_off > 65536 && ws->out_off > ws->out.len / 2) {
    memmove(ws->out.data, ws->out.data + ws->out_off, ws->out.len - ws->out_off);
    ws->out.len -= ws->out_off;
    ws->out_off = 0;
  }
  if (ws->above_hw && fl_ws_buffered(ws) <= ws->opts.high_water) {
    ws->above_hw = 0;
    if (ws->drain_cb) fl__defer_schedule(ws->loop, &ws->drain_defer);
  }
  return 0;
}

/* Queued bytes went out: a lingering end is complete. */
static void linger_check(fl_ws *ws) {
  if (ws->state == FL__WS_LINGER && fl_ws_buffered(ws) == 0)
    fl__ws_end(ws, ws->end_err, ws->end_code, ws->end_reason.data);
}

/* Flush now unless a blocked write already waits for the socket. */
int fl__ws_kick(fl_ws *ws) {
  if (ws->io.want & FL__POLLOUT && tp_wants(ws, 1) != FL__POLLIN) return 0;
  if (flush(ws)) return -1;
  fl__ws_update_io(ws);
  return 0;
}

int fl__ws_frame_out(fl_ws *ws, int op, int fin, const char *p, size_t n) {
  int e = fl__ws_tx_frame(&ws->tx, &ws->out, op, fin, 1, p, n);
  return e;
}

int fl__ws_send_close(fl_ws *ws, int code, const char *reason, size_t rlen) {
  ws->close_sent = 1;
  if (code == FL__WS_NO_STATUS)
    return fl__ws_tx_frame(&ws->tx, &ws->out, FL__WS_CLOSE, 1, 0, "", 0);
  return fl__ws_tx_close(&ws->tx, &ws->out, code, reason, rlen);
}

/* ---------------------------------------------------------------- the end */

static void end_defer_cb(fl__defer *d) {
  fl_ws *ws = fl__container_of(d, fl_ws, end_defer);
  fl__ws_enter(ws);
  if (!ws->end_reported) {
    ws->end_reported = 1;
    if (ws->close_cb) {
      ws->close_cb(ws, ws->end_err, ws->end_code, ws->end_reason.data ? ws->end_reason.data : "",
                   ws->close_data);
    } else if (ws->readable_cb) {
      ws->readable_cb(ws, ws->readable_data);
    }
  }
  fl__ws_leave(ws);
}

static void set_end(fl_ws *ws, int err, int code, const char *reason) {
  ws->end_err = err;
  ws->end_code = code;
  if (reason != ws->end_reason.data) {
    fl__buf_reset(&ws->end_reason);
    if (reason) fl__buf_puts(&ws->end_reason, reason);
  }
}

/* The WebSocket is over: close the transport now, report from the loop. */
void fl__ws_end(fl_ws *ws, int err, int code, const char *reason) {
  if (ws->state == FL__WS_ENDED) return;
  set_end(ws, err, code, reason);
  ws->state = FL__WS_ENDED;
  quiesce(ws);
  ws->rpaused = 0;
  fl__defer_schedule(ws->loop, &ws->end_defer);
}

/* End once what is queued (a close frame) went out, or close_timeout_ms. */
static void end_after_flush(fl_ws *ws, int err, int code, const char *reason) {
  if (ws->state >= FL__WS_LINGER) return;
  set_end(ws, err, code, reason);
  ws->state = FL__WS_LINGER;
  fl__timer_stop(&ws->hb_timer);
  fl__timer_stop(&ws->pong_timer);
  fl__timer_stop(&ws->read_timer);
  if (fl__ws_kick(ws)) return;
  if (fl_ws_buffered(ws) == 0) {
    fl__ws_end(ws, err, code, reason);
    return;
  }
  if (!fl__timer_active(&ws->close_timer))
    fl__timer_start(&ws->close_timer, ws->opts.close_timeout_ms);
  fl__ws_update_io(ws);
}

/* RFC 6455 7.1.7: the server broke the protocol. Send the close code,
 * then drop the connection. */
static void fail_connection(fl_ws *ws, int code, const char *why) {
  fl__msg(ws->errmsg, sizeof ws->errmsg, "%s", why);
  if (!ws->close_sent) {
    size_t rl = strlen(why);
    if (rl > 123) rl = 123; /* our messages are ASCII: any cut is valid UTF-8 */
    fl__ws_send_close(ws, code, why, rl);
  }
  int err = code == FL__WS_TOO_BIG ? FL_EWS_TOO_BIG : FL_EWS_PROTOCOL;
  end_after_flush(ws, err, code, why);
}

/* ------------------------------------------------------------------- read */

static int gone(const fl_ws *ws) { return ws->freed || ws->state >= FL__WS_LINGER; }

static void queue_msg(fl_ws *ws, int op, const char *p, size_t n, int flags) {
  fl__ws_qmsg *m = malloc(sizeof *m + n + 1);
  if (!m) {
    fl__msg(ws->errmsg, sizeof ws->errmsg, "out of memory queueing a message");
    fl__ws_end(ws, FL_ENOMEM, FL__WS_ABNORMAL, NULL);
    return;
  }
  m->type = op;
  m->flags = flags;
  m->len = n;
  memcpy(m->data, p, n);
  m->data[n] = '\0';
  fl__queue_insert_tail(&ws->msgs, &m->node);
  ws->rpaused = 1; /* backpressure: read on once it was taken */
}

static int rx_data(void *owner, int op, const char *p, size_t n, int first, int last) {
  fl_ws *ws = owner;
  int flags = (first ? FL_WS_FIRST : 0) | (last ? FL_WS_LAST : 0);
  if (ws->message_cb) {
    ws->message_cb(ws, op, p, n, flags, ws->message_data);
  } else {
    int was_empty = fl__queue_empty(&ws->msgs);
    queue_msg(ws, op, p, n, flags);
    if (was_empty && ws->readable_cb && !gone(ws)) ws->readable_cb(ws, ws->readable_data);
  }
  return gone(ws);
}

static int rx_control(void *owner, int op, int code, const char *p, size_t n) {
  fl_ws *ws = owner;
  if (op == FL__WS_PING) {
    if (!ws->close_sent && fl__ws_frame_out(ws, FL__WS_PONG, 1, p, n) == 0) fl__ws_kick(ws);
  } else if (op == FL__WS_PONG) {
    fl__timer_stop(&ws->pong_timer);
  } else { /* close */
    ws->close_got = 1;
    ws->peer_code = code;
    fl__buf_reset(&ws->peer_reason);
    fl__buf_append(&ws->peer_reason, p, n);
    if (!ws->close_sent) fl__ws_send_close(ws, code, "", 0); /* echo its code (RFC 6455 5.5.1) */
    /* The server closes TCP first (7.1.1); we wait for that, bounded. */
    fl__timer_stop(&ws->hb_timer);
    fl__timer_stop(&ws->pong_timer);
    fl__timer_stop(&ws->read_timer);
    if (ws->state < FL__WS_CLOSING) ws->state = FL__WS_CLOSING;
    if (!fl__timer_active(&ws->close_timer))
      fl__timer_start(&ws->close_timer, ws->opts.close_timeout_ms);
    fl__ws_kick(ws);
  }
  return gone(ws);
}

static const fl__ws_rx_ops rx_ops = {rx_data, rx_control};

/* 0 to go on reading. */
static int feed(fl_ws *ws, const char *p, size_t n) {
  size_t used = 0;
  int r = fl__ws_rx_feed(&ws->rx, p, n, &used);
  if (r == FL__WS_FAIL && !gone(ws)) {
    fail_connection(ws, ws->rx.fail_code, ws->rx.errmsg);
    return -1;
  }
  if (r == FL_ENOMEM && !gone(ws)) {
    fl__msg(ws->errmsg, sizeof ws->errmsg, "out of memory reading a message");
    fl__ws_end(ws, FL_ENOMEM, FL__WS_ABNORMAL, NULL);
    return -1;
  }
  return gone(ws) || ws->rx.done ? -1 : 0;
}

/* The server closed the connection. */
static void on_eof(fl_ws *ws, int sys_errno) {
  if (ws->close_got) {
    /* The closing handshake completed (either side started it). */
    fl__ws_end(ws, 0, ws->peer_code, ws->peer_reason.data ? ws->peer_reason.data : "");
    return;
  }
  if (sys_errno)
    fl__msg(ws->errmsg, sizeof ws->errmsg, "connection failed without a close frame: %s",
            strerror(sys_errno));
  else
    fl__msg(ws->errmsg, sizeof ws->errmsg,
            "the server closed the connection without a close frame");
  fl__ws_end(ws, FL_EWS_ABNORMAL, FL__WS_ABNORMAL, NULL);
}

static void do_read(fl_ws *ws) {
  char buf[READ_CHUNK];
  for (int i = 0; i < READS_PER_EVENT; i++) {
    if (gone(ws) || ws->rpaused || ws->state == FL__WS_ENDED) return;
    ssize_t n = ws->tp.ops->read(&ws->tp, buf, sizeof buf);
    if (n > 0) {
      ws->last_read_ms = fl__loop_now(ws->loop);
      if (ws->rx.done) continue; /* after the server's close: drained, not parsed */
      if (feed(ws, buf, (size_t)n)) return;
      /* A short read emptied the socket: asking again would only cost an
       * EAGAIN per message (a third syscall per echo beside the write and
       * the read). epoll is level-triggered, and io_cb looks at what the
       * TLS layer holds, so nothing is left behind. */
      if ((size_t)n < sizeof buf) return;
      continue;
    }
    if (n == 0) {
      on_eof(ws, 0);
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    on_eof(ws, errno);
    return;
  }
  fl__defer_schedule(ws->loop, &ws->io_defer); /* more may be waiting: after others ran */
}

/* Interest: reading unless paused; writing while bytes wait. TLS may need
 * the other event for either. */
void fl__ws_update_io(fl_ws *ws) {
  if (ws->state == FL__WS_ENDED || ws->tp.fd < 0) return;
  uint32_t want = 0;
  if (!ws->rpaused && ws->state < FL__WS_LINGER)
    want |= tp_wants(ws, 0) == FL__POLLOUT ? FL__POLLOUT : FL__POLLIN;
  if (fl_ws_buffered(ws)) want |= tp_wants(ws, 1) == FL__POLLIN ? FL__POLLIN : FL__POLLOUT;
  uint32_t have = ws->io.want & (FL__POLLIN | FL__POLLOUT);
  if (have & ~want) fl__io_stop(ws->loop, &ws->io, have & ~want);
  if ((want & ~have) && fl__io_start(ws->loop, &ws->io, want & ~have)) {
    fl__msg(ws->errmsg, sizeof ws->errmsg, "out of memory");
    fl__ws_end(ws, FL_ENOMEM, FL__WS_ABNORMAL, NULL);
  }
}

static void io_cb(fl_loop *loop, fl__io *io, uint32_t events) {
  FL__UNUSED(loop);
  FL__UNUSED(events);
  fl_ws *ws = fl__container_of(io, fl_ws, io);
  fl__ws_enter(ws);
  if (fl_ws_buffered(ws) && flush(ws) == 0) linger_check(ws);
  if (!ws->freed && ws->state != FL__WS_ENDED && ws->state != FL__WS_LINGER) do_read(ws);
  if (!ws->freed && ws->state != FL__WS_ENDED && ws->tp.ops && ws->tp.ops->pending &&
      ws->tp.ops->pending(&ws->tp) && !ws->rpaused)
    fl__defer_schedule(ws->loop, &ws->io_defer);
  if (!ws->freed) fl__ws_update_io(ws);
  fl__ws_leave(ws);
}

static void io_defer_cb(fl__defer *d) {
  fl_ws *ws = fl__container_of(d, fl_ws, io_defer);
  io_cb(ws->loop, &ws->io, FL__POLLIN);
}

static void drain_defer_cb(fl__defer *d) {
  fl_ws *ws = fl__container_of(d, fl_ws, drain_defer);
  fl__ws_enter(ws);
  if (ws->drain_cb && ws->state < FL__WS_LINGER) ws->drain_cb(ws, ws->drain_data);
  fl__ws_leave(ws);
}

/* ----------------------------------------------------------------- timers */

static void hb_timer_cb(fl__timer *t) {
  fl_ws *ws = fl__container_of(t, fl_ws, hb_timer);
  fl__ws_enter(ws);
  if (ws->state == FL__WS_OPEN && fl__ws_frame_out(ws, FL__WS_PING, 1, "fl-hb", 5) == 0) {
    if (!fl__timer_active(&ws->pong_timer))
      fl__timer_start(&ws->pong_timer, ws->opts.pong_timeout_ms);
    fl__timer_start(&ws->hb_timer, ws->opts.heartbeat_ms);
    fl__ws_kick(ws);
  }
  fl__ws_leave(ws);
}

static void pong_timer_cb(fl__timer *t) {
  fl_ws *ws = fl__container_of(t, fl_ws, pong_timer);
  fl__ws_enter(ws);
  fl__msg(ws->errmsg, sizeof ws->errmsg, "no pong within %u ms of a heartbeat ping",
          (unsigned)ws->opts.pong_timeout_ms);
  fl__ws_end(ws, FL_ETIMEOUT, FL__WS_ABNORMAL, NULL);
  fl__ws_leave(ws);
}

static void read_timer_cb(fl__timer *t) {
  fl_ws *ws = fl__container_of(t, fl_ws, read_timer);
  fl__ws_enter(ws);
  uint64_t now = fl__loop_now(ws->loop), due = ws->last_read_ms + ws->opts.read_timeout_ms;
  if (now < due) {
    fl__timer_start(&ws->read_timer, due - now); /* data came meanwhile: lazy re-arm */
  } else {
    fl__msg(ws->errmsg, sizeof ws->errmsg, "nothing from the server for %u ms",
            (unsigned)ws->opts.read_timeout_ms);
    fl__ws_end(ws, FL_EREAD_TIMEOUT, FL__WS_ABNORMAL, NULL);
  }
  fl__ws_leave(ws);
}

static void close_timer_cb(fl__timer *t) {
  fl_ws *ws = fl__container_of(t, fl_ws, close_timer);
  fl__ws_enter(ws);
  if (ws->state == FL__WS_LINGER) {
    fl__ws_end(ws, ws->end_err, ws->end_code, ws->end_reason.data);
  } else if (ws->close_got) { /* handshake done, the server kept TCP open */
    fl__ws_end(ws, 0, ws->peer_code, ws->peer_reason.data ? ws->peer_reason.data : "");
  } else {
    fl__msg(ws->errmsg, sizeof ws->errmsg, "no close frame from the server within %u ms",
            (unsigned)ws->opts.close_timeout_ms);
    fl__ws_end(ws, FL_EWS_ABNORMAL, FL__WS_ABNORMAL, NULL);
  }
  fl__ws_leave(ws);
}

/* ------------------------------------------------------------------ start */

static void describe_pmd(fl_ws *ws, const fl__ws_pmd *p) {
  if (!p || !p->on) return;
  size_t n = (size_t)snprintf(ws->extensions, sizeof ws->extensions, "permessage-deflate");
  char *e = ws->extensions;
  size_t cap = sizeof ws->extensions;
  if (p->server_no_context_takeover)
    n += (size_t)snprintf(e + n, cap - n, "; server_no_context_takeover");
  if (p->client_no_context_takeover && n < cap)
    n += (size_t)snprintf(e + n, cap - n, "; client_no_context_takeover");
  if (p->server_max_window_bits && n < cap)
    n += (size_t)snprintf(e + n, cap - n, "; server_max_window_bits=%d", p->server_max_window_bits);
  if (p->client_max_window_bits && n < cap)
    snprintf(e + n, cap - n, "; client_max_window_bits=%d", p->client_max_window_bits);
}

int fl__ws_adopt(fl_ws *ws, fl_loop *loop, fl__transport *tp, const char *early, size_t n,
                 const fl__ws_pmd *pmd) {
  ws->loop = loop;
  ws->tp = *tp;
  fl__transport_init(tp);
  fl__io_init(&ws->io, io_cb, ws->tp.fd);
  fl__timer_init(loop, &ws->hb_timer, hb_timer_cb);
  fl__timer_init(loop, &ws->pong_timer, pong_timer_cb);
  fl__timer_init(loop, &ws->read_timer, read_timer_cb);
  fl__timer_init(loop, &ws->close_timer, close_timer_cb);
  ws->timers_ready = 1;
  fl__ws_rx_init(&ws->rx, &rx_ops, ws, ws->opts.max_message, ws->opts.fragments);
  int e = fl__ws_rx_set_pmd(&ws->rx, pmd);
  if (!e) e = fl__ws_tx_set_pmd(&ws->tx, pmd);
  if (!e && n) e = fl__buf_append(&ws->early, early, n);
  if (e) {
    fl__transport_close(&ws->tp);
    return FL_ENOMEM;
  }
  describe_pmd(ws, pmd);
  ws->state = FL__WS_OPEN;
  ws->last_read_ms = fl__loop_now(loop);
  ws->loop_ref = 1;
  fl__loop_ref(loop);
  return 0;
}

void fl__ws_start(fl_ws *ws) {
  if (ws->freed || ws->state != FL__WS_OPEN) return;
  if (ws->opts.heartbeat_ms) fl__timer_start(&ws->hb_timer, ws->opts.heartbeat_ms);
  if (ws->opts.read_timeout_ms) fl__timer_start(&ws->read_timer, ws->opts.read_timeout_ms);
  if (ws->early.len) {
    fl__buf early = ws->early;
    fl__buf_init(&ws->early);
    feed(ws, early.data, early.len);
    fl__buf_dispose(&early);
    if (gone(ws)) return;
  }
  fl__ws_update_io(ws);
  if (ws->tp.ops->pending && ws->tp.ops->pending(&ws->tp))
    fl__defer_schedule(ws->loop, &ws->io_defer);
}

/* ------------------------------------------------------------------- API */
