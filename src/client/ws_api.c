/* What a user calls on an open WebSocket: send, ping, close, abort, the
 * pull-mode receive, callbacks and getters. The runtime they drive (the
 * write queue, the reader, the timers) is client/ws.c. */
#include <stdlib.h>
#include <string.h>

#include "client/ws.h"

void fl_ws_on_message(fl_ws *ws, fl_ws_message_cb cb, void *data) {
  if (ws) ws->message_cb = cb, ws->message_data = data;
}
void fl_ws_on_close(fl_ws *ws, fl_ws_close_cb cb, void *data) {
  if (ws) ws->close_cb = cb, ws->close_data = data;
}
void fl_ws_on_drain(fl_ws *ws, fl_ws_event_cb cb, void *data) {
  if (ws) ws->drain_cb = cb, ws->drain_data = data;
}
void fl_ws_on_readable(fl_ws *ws, fl_ws_event_cb cb, void *data) {
  if (ws) ws->readable_cb = cb, ws->readable_data = data;
}

static int sendable(const fl_ws *ws) {
  if (!ws || ws->freed) return FL_EINVAL;
  if (ws->state < FL__WS_OPEN) return FL_EINVAL;
  if (ws->state > FL__WS_OPEN || ws->close_sent) return FL_EWS_CLOSED;
  return 0;
}

static int after_queue(fl_ws *ws) {
  if (fl__ws_kick(ws)) return ws->end_err ? ws->end_err : FL_ESEND;
  if (fl_ws_buffered(ws) > ws->opts.high_water) {
    ws->above_hw = 1;
    return 1;
  }
  return 0;
}

int fl_ws_send_fragment(fl_ws *ws, int type, const void *data, size_t len, int last) {
  int e = sendable(ws);
  if (e) return e;
  int first = !ws->tx.in_message;
  if (first && type != FL_WS_TEXT && type != FL_WS_BINARY) return FL_EINVAL;
  if (!data && len) return FL_EINVAL;
  /* Text: check the piece against the message so far before anything is
   * queued; the state moves on only once the frame is. */
  fl__utf8 u = ws->tx_utf8;
  int text = first ? type == FL_WS_TEXT : ws->tx_text;
  if (text) {
    if (first) fl__utf8_init(&u);
    if (fl__utf8_feed(&u, data, len) != 0 || (last && !fl__utf8_complete(&u))) return FL_EWS_UTF8;
  }
  e = fl__ws_frame_out(ws, first ? type : FL__WS_CONT, last, data ? data : "", len);
  if (e) return e;
  ws->tx_utf8 = u;
  ws->tx_text = text;
  return after_queue(ws);
}

int fl_ws_send(fl_ws *ws, int type, const void *data, size_t len) {
  int e = sendable(ws);
  if (e) return e;
  if (ws->tx.in_message || (type != FL_WS_TEXT && type != FL_WS_BINARY)) return FL_EINVAL;
  return fl_ws_send_fragment(ws, type, data, len, 1);
}

int fl_ws_ping(fl_ws *ws, const void *data, size_t len) {
  int e = sendable(ws);
  if (e) return e;
  if (len > 125 || (!data && len)) return FL_EINVAL;
  e = fl__ws_frame_out(ws, FL__WS_PING, 1, data ? data : "", len);
  if (e) return e;
  return after_queue(ws);
}

int fl_ws_close(fl_ws *ws, int code, const char *reason) {
  int e = sendable(ws);
  if (e) return e;
  if (code == 0) code = FL__WS_NORMAL;
  size_t rl = reason ? strlen(reason) : 0;
  if (!fl__ws_close_code_valid(code) || rl > 123 || !fl__utf8_valid(reason ? reason : "", rl))
    return FL_EINVAL;
  e = fl__ws_send_close(ws, code, reason, rl);
  if (e) return e;
  ws->state = FL__WS_CLOSING;
  fl__timer_stop(&ws->hb_timer);
  fl__timer_stop(&ws->pong_timer);
  fl__timer_start(&ws->close_timer, ws->opts.close_timeout_ms);
  fl__ws_kick(ws);
  return 0;
}

int fl_ws_abort(fl_ws *ws) {
  if (!ws || ws->freed) return FL_EINVAL;
  if (ws->state == FL__WS_CONNECTING) {
    fl__ws_connect_cancel(ws, 1);
    return 0;
  }
  if (ws->state < FL__WS_OPEN || ws->state == FL__WS_ENDED) return FL_EINVAL;
  fl__msg(ws->errmsg, sizeof ws->errmsg, "aborted");
  fl__ws_end(ws, FL_ECANCELED, FL__WS_ABNORMAL, NULL);
  return 0;
}

int fl_ws_recv(fl_ws *ws, fl_ws_msg *msg) {
  if (!ws || !msg || ws->message_cb || ws->state < FL__WS_OPEN) return FL_EINVAL;
  free(ws->taken);
  ws->taken = NULL;
  if (!fl__queue_empty(&ws->msgs)) {
    fl__ws_qmsg *m = fl__container_of(ws->msgs.next, fl__ws_qmsg, node);
    fl__queue_remove(&m->node);
    ws->taken = m;
    msg->type = m->type;
    msg->data = m->data;
    msg->len = m->len;
    msg->err = 0;
    msg->code = 0;
    if (fl__queue_empty(&ws->msgs) && ws->rpaused && ws->state != FL__WS_ENDED) {
      ws->rpaused = 0;
      fl__ws_update_io(ws);
      fl__defer_schedule(ws->loop, &ws->io_defer); /* TLS may hold bytes already */
    }
    return 1;
  }
  if (ws->state == FL__WS_ENDED) {
    msg->type = FL_WS_CLOSE;
    msg->data = ws->end_reason.data ? ws->end_reason.data : "";
    msg->len = ws->end_reason.len;
    msg->err = ws->end_err;
    msg->code = ws->end_code;
    return 1;
  }
  return 0;
}

const char *fl_ws_protocol(const fl_ws *ws) { return ws ? ws->protocol : NULL; }
const char *fl_ws_extensions(const fl_ws *ws) { return ws ? ws->extensions : ""; }
const char *fl_ws_errmsg(const fl_ws *ws) { return ws ? ws->errmsg : ""; }
fl_loop *fl_ws_loop(const fl_ws *ws) { return ws ? ws->loop : NULL; }
