/* The HTTP/2 carrier's streams as the owner sees them: the response body
 * handed over (or held while paused), the outcome reported once, the
 * stream's state freed once nghttp2 and the owner are both done with it.
 * Contract in h2.h. */
#include <stdlib.h>
#include <string.h>

#include "engine/h2_impl.h"

/* ------------------------------------------------------------- finishing */

/* Take ex off the connection and tell the pool: idle when it was the last
 * (reusable unless a GOAWAY came), else room for another. */
static void unlink_ex(fl__conn *c, fl__h2_stream *st) {
  fl__exchange *ex = st->ex;
  st->ex = NULL;
  fl__queue_remove(&ex->node);
  ex->carrier = NULL;
  if (c->h2->cur == ex) c->h2->cur = NULL;
  c->nexchanges--;
  c->requests_done++;
  if (c->nexchanges == 0)
    c->owner->idle(c, !c->h2->goaway);
  else
    c->owner->room(c);
}

void fl__h2_stream_done(fl__conn *c, fl__h2_stream *st) {
  fl__exchange *ex = st->ex;
  if (!ex) return;
  ex->wire_bytes = st->wire_bytes;
  unlink_ex(c, st);
  ex->ops->done(ex);
}

void fl__h2_stream_fail(fl__conn *c, fl__h2_stream *st, int err, const char *msg, int orphaned) {
  fl__exchange *ex = st->ex;
  if (!ex) return;
  unlink_ex(c, st);
  fl__ex_failure f = {.err = err, .msg = msg, .orphaned = orphaned};
  ex->ops->failed(ex, &f);
}

/* Our side ends the stream (an owner's error, a cap): RST_STREAM, and the
 * owner hears err now; nghttp2's close of it finds no exchange. */
void fl__h2_stream_abort(fl__conn *c, fl__h2_stream *st, int err, const char *msg) {
  fl__h2_check(c, nghttp2_submit_rst_stream(c->h2->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL));
  fl__h2_stream_fail(c, st, err, msg, 0);
  fl__h2_flush_soon(c);
}

/* ------------------------------------------------------------- response */

/* The body's bytes to the owner; the stream window is given back as it
 * takes them. 0, or 1 if the stream went away. */
int fl__h2_deliver(fl__conn *c, fl__h2_stream *st, const uint8_t *data, size_t len) {
  fl__exchange *ex = st->ex;
  fl__h2 *h = c->h2;
  ex->body_bytes += len;
  ex->ops->step(ex, FL__EX_ACTIVITY);
  h->cur = ex;
  int r = ex->ops->body(ex, (const char *)data, len);
  if (h->cur != ex || c->state != FL__CONN_OPEN) return 1; /* dropped (cancelled or freed) */
  h->cur = NULL;
  if (!st->remote_ended) /* (a stream the server ended needs no window) */
    fl__h2_check(c, nghttp2_session_consume_stream(h->s, st->id, len));
  if (r == FL__EX_ABANDON_BODY) { /* a redirect's long body: reset it and go on */
    fl__h2_check(c, nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL));
    fl__h2_stream_done(c, st);
    fl__h2_flush_soon(c);
    return 1;
  }
  if (r < 0) {
    fl__h2_stream_abort(c, st, r, NULL);
    return 1;
  }
  return 0;
}

/* The end of a response whose stream closed cleanly. */
void fl__h2_response_end(fl__conn *c, fl__h2_stream *st) {
  fl__exchange *ex = st->ex;
  if (ex->res->status < 200) {
    fl__h2_stream_fail(c, st, FL_EHTTP2_STREAM, "HTTP/2 stream ended without a final response", 0);
    return;
  }
  c->h2->cur = ex;
  int r = ex->ops->body(ex, NULL, 0);
  if (c->h2->cur != ex || c->state != FL__CONN_OPEN) return;
  c->h2->cur = NULL;
  if (r < 0 && r != FL__EX_ABANDON_BODY) {
    fl__h2_stream_fail(c, st, r, NULL, 0);
    return;
  }
  fl__h2_stream_done(c, st);
}

/* Held bytes of a resumed stream, then its end if it came. */
void fl__h2_drain_held(fl__conn *c, fl__h2_stream *st) {
  while (st->ex && !st->ex->paused && st->held_off < st->held.len) {
    size_t n = st->held.len - st->held_off;
    if (n > 16384) n = 16384;
    const uint8_t *p = (const uint8_t *)st->held.data + st->held_off;
    st->held_off += n;
    if (fl__h2_deliver(c, st, p, n)) return;
  }
  if (!st->ex || st->ex->paused) return;
  fl__buf_reset(&st->held);
  st->held_off = 0;
  if (st->closed) {
    if (st->close_code == NGHTTP2_NO_ERROR)
      fl__h2_response_end(c, st);
    else
      fl__h2_stream_fail(c, st, FL_EHTTP2_STREAM, st->close_msg, 0);
    if (c->state == FL__CONN_OPEN) fl__h2_stream_release(c, st);
  }
}

fl__h2_stream *fl__h2_stream_new(fl__h2 *h) {
  fl__h2_stream *st = fl__h2_mem_alloc(&h->mem, sizeof *st);
  if (!st) return NULL;
  memset(st, 0, sizeof *st);
  fl__buf_init(&st->held);
  return st;
}

void fl__h2_stream_release(fl__conn *c, fl__h2_stream *st) {
  fl__h2 *h = c->h2;
  if (!st->closed || st->ex) return;
  if (h->s) nghttp2_session_set_stream_user_data(h->s, st->id, NULL);
  if (h->rx == st) h->rx = NULL;
  fl__queue_remove(&st->node);
  fl__buf_dispose(&st->held);
  fl__h2_mem_free(&h->mem, st);
}
