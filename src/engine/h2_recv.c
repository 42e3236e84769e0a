/* The HTTP/2 carrier's receive side: nghttp2's callbacks for what the
 * server sends (frames, header fields under our caps, DATA, stream
 * closes) and for frames going out. Contract in h2.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "engine/h2_impl.h"

/* The stream ends with err (nghttp2 resets it; its close reports err). */
static int cap_fail(fl__h2_stream *st, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int cap_fail(fl__h2_stream *st, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  st->err = err;
  vsnprintf(st->close_msg, sizeof st->close_msg, fmt, ap);
  va_end(ap);
  return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
}

static int on_begin_frame(nghttp2_session *s, const nghttp2_frame_hd *hd, void *data) {
  FL__UNUSED(s);
  fl__conn *c = data;
  fl__h2 *h = c->h2;
  if (c->state != FL__CONN_OPEN) return NGHTTP2_ERR_CALLBACK_FAILURE;
  if (hd->type == NGHTTP2_HEADERS) h->block_bytes = hd->length;
  if (hd->type == NGHTTP2_CONTINUATION) {
    h->block_bytes += hd->length;
    if (h->block_bytes > FL__H2_BLOCK_MAX) {
      fl__h2_set_why(h, "a header block over %u bytes (CONTINUATION flood)", FL__H2_BLOCK_MAX);
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
  }
  return 0;
}

/* The stream a header block is for: the one its HEADERS began (blocks do
 * not interleave), without a lookup per field. */
static fl__h2_stream *rx_stream(nghttp2_session *s, fl__h2 *h, int32_t id) {
  if (h->rx && h->rx->id == id) return h->rx;
  return nghttp2_session_get_stream_user_data(s, id);
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *data) {
  fl__conn *c = data;
  if (c->state != FL__CONN_OPEN) return NGHTTP2_ERR_CALLBACK_FAILURE;
  fl__h2_stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
  c->h2->rx = st;
  if (!st || !st->ex) return 0;
  fl__exchange *ex = st->ex;
  st->head_bytes = 0;
  st->head_count = 0;
  st->status = 0;
  if (!ex->response_started) {
    ex->response_started = 1;
    ex->ops->step(ex, FL__EX_FIRST_BYTE);
  }
  return 0;
}

/* A response head over one of its caps. The rest of the header block is
 * still to come, maybe without end (a CONTINUATION flood): reset this
 * stream and let no other start here, so later requests go on a new
 * connection. */
static int __attribute__((noinline)) over_cap(fl__conn *c, fl__h2_stream *st, size_t flen) {
  const fl__conn_env *env = c->env;
  c->h2->goaway = 1;
  if (env->max_header_line_bytes && flen > env->max_header_line_bytes)
    return cap_fail(st, FL_EHEADER_TOO_LARGE, "a response header field exceeds %u bytes",
                    env->max_header_line_bytes);
  if (env->max_header_bytes && st->head_bytes > env->max_header_bytes)
    return cap_fail(st, FL_EHEADER_TOO_LARGE, "response headers exceed %u bytes",
                    env->max_header_bytes);
  return cap_fail(st, FL_EHEADER_TOO_LARGE, "response heads exceed %u bytes in all",
                  FL__H1_ALL_HEADS_MAX);
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen, uint8_t flags, void *data) {
  FL__UNUSED(flags);
  fl__conn *c = data;
  if (c->state != FL__CONN_OPEN) return NGHTTP2_ERR_CALLBACK_FAILURE;
  fl__h2_stream *st = rx_stream(s, c->h2, f->hd.stream_id);
  if (!st || !st->ex || st->err) return 0;
  fl__exchange *ex = st->ex;
  const fl__conn_env *env = c->env;
  size_t flen = nlen + vlen;
  uint32_t field = (uint32_t)(flen + 32); /* as SETTINGS_MAX_HEADER_LIST_SIZE counts */
  st->head_bytes += field;
  st->all_head_bytes += field;
  st->wire_bytes += flen;
  if ((env->max_header_line_bytes && flen > env->max_header_line_bytes) ||
      (env->max_header_bytes && st->head_bytes > env->max_header_bytes) ||
      st->all_head_bytes > FL__H1_ALL_HEADS_MAX)
    return over_cap(c, st, flen);
  if (nlen && name[0] == ':') {
    if (nlen == 7 && memcmp(name, ":status", 7) == 0) {
      if (vlen != 3 || value[0] < '1' || value[0] > '9' || value[1] < '0' || value[1] > '9' ||
          value[2] < '0' || value[2] > '9') {
        st->err = FL_EHTTP2_STREAM;
        snprintf(st->close_msg, sizeof st->close_msg, "malformed :status in HTTP/2 stream %d",
                 (int)st->id);
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
      }
      st->status = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
    }
    return 0;
  }
  if (env->max_header_count && ++st->head_count > env->max_header_count)
    return cap_fail(st, FL_ETOO_MANY_HEADERS, "response has more than %u headers",
                    env->max_header_count);
  fl_response *res = ex->res;
  unsigned kind = fl__h1_known_header((const char *)name, nlen);
  if (st->final_seen) { /* trailers */
    if (fl__headers_add(&res->trailers, (const char *)name, nlen, (const char *)value, vlen))
      goto nomem;
    return 0;
  }
  /* (nghttp2 lets only lower-case names through) */
  if (nlen == 14 && !memcmp(name, "content-length", 14)) {
    int64_t v = 0;
    for (size_t i = 0; i < vlen && v < ((int64_t)1 << 56); i++)
      v = value[i] >= '0' && value[i] <= '9' ? v * 10 + (value[i] - '0') : -1;
    ex->content_length = v >= 0 ? v : -1;
  }
  res->seen |= kind;
  if (ex->known_headers_only && !kind) return 0;
  if (fl__headers_add(&res->headers, (const char *)name, nlen, (const char *)value, vlen))
    goto nomem;
  return 0;
nomem:
  return cap_fail(st, FL_ENOMEM, "out of memory");
}

/* A whole head arrived: an interim one to the trace, the final one to the
 * owner, trailers kept. */
static void head_done(fl__conn *c, fl__h2_stream *st) {
  fl__exchange *ex = st->ex;
  fl_response *res = ex->res;
  if (st->final_seen) return; /* trailers: nothing more to do */
  res->version = 20;
  res->http_minor = 0;
  res->status = st->status;
  if (st->status < 200) { /* interim: shown, then forgotten */
    ex->ops->step(ex, FL__EX_INTERIM);
    if (st->ex != ex || c->state != FL__CONN_OPEN) return;
    fl__headers_reset(&res->headers);
    res->seen = 0;
    res->status = 0;
    ex->content_length = -1;
    return;
  }
  st->final_seen = 1;
  if (ex->head_only || st->status == 204 || st->status == 304) ex->content_length = -1;
  c->h2->cur = ex;
  int r = ex->ops->head(ex);
  if (c->h2->cur != ex || c->state != FL__CONN_OPEN) return;
  c->h2->cur = NULL;
  if (r == FL__EX_ABANDON_BODY) {
    fl__h2_check(c, nghttp2_submit_rst_stream(c->h2->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL));
    fl__h2_stream_done(c, st);
    fl__h2_flush_soon(c);
  } else if (r < 0) {
    fl__h2_stream_abort(c, st, r, NULL);
  }
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *data) {
  fl__conn *c = data;
  fl__h2 *h = c->h2;
  if (c->state != FL__CONN_OPEN) return NGHTTP2_ERR_CALLBACK_FAILURE;
  switch (f->hd.type) {
  case NGHTTP2_HEADERS: {
    fl__h2_stream *st = rx_stream(s, h, f->hd.stream_id);
    if (st && st->ex && !st->err) {
      if (st->status == 0 && !st->final_seen) {
        st->err = FL_EHTTP2_STREAM;
        snprintf(st->close_msg, sizeof st->close_msg, "no :status in HTTP/2 stream %d",
                 (int)st->id);
        fl__h2_check(
            c, nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_PROTOCOL_ERROR));
        break;
      }
      head_done(c, st);
    }
    break;
  }
  case NGHTTP2_GOAWAY:
    h->goaway = 1;
    h->goaway_recv = 1;
    h->goaway_code = f->goaway.error_code;
    h->last_stream_id = f->goaway.last_stream_id;
    c->pipelining = 0;
    if (h->goaway_code != NGHTTP2_NO_ERROR && !h->why)
      fl__h2_set_why(h, "the server ended the HTTP/2 connection: GOAWAY %s (%u)",
                     nghttp2_http2_strerror(h->goaway_code), h->goaway_code);
    c->owner->room(c); /* waiters for its room open a new connection instead */
    break;
  case NGHTTP2_PING:
    if (f->hd.flags & NGHTTP2_FLAG_ACK) h->ping_out = 0;
    break;
  case NGHTTP2_SETTINGS:
    if (!(f->hd.flags & NGHTTP2_FLAG_ACK)) {
      h->settings_seen = 1;
      c->peer_streams =
          nghttp2_session_get_remote_settings(s, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
      c->owner->room(c); /* its stream limit is known now */
    }
    break;
  default: break;
  }
  return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *ud) {
  fl__conn *c = ud;
  if (c->state != FL__CONN_OPEN) return NGHTTP2_ERR_CALLBACK_FAILURE;
  c->h2->unacked += len; /* the connection window: given back after this read (fl__h2_read) */
  fl__h2_stream *st = nghttp2_session_get_stream_user_data(s, id);
  if (!st || !st->ex || st->err) {
    return nghttp2_session_consume_stream(s, id, len) ? fl__h2_nomem(c) : 0;
  }
  if (flags & NGHTTP2_FLAG_END_STREAM) st->remote_ended = 1;
  st->wire_bytes += len;
  if (st->ex->paused || st->held_off < st->held.len) { /* held: the stream window stays shut */
    if (fl__buf_append(&st->held, (const char *)data, len))
      return cap_fail(st, FL_ENOMEM, "out of memory");
    return 0;
  }
  fl__h2_deliver(c, st, data, len);
  return 0;
}


static void stream_closed(fl__conn *c, fl__h2_stream *st, int32_t id, uint32_t code);

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud) {
  fl__conn *c = ud;
  fl__h2_stream *st = nghttp2_session_get_stream_user_data(s, id);
  if (!st) return 0;
  st->closed = 1;
  st->close_code = code;
  if (st->ex && c->state == FL__CONN_OPEN) stream_closed(c, st, id, code);
  if (c->state == FL__CONN_OPEN) fl__h2_stream_release(c, st);
  return 0;
}

static void stream_closed(fl__conn *c, fl__h2_stream *st, int32_t id, uint32_t code) {
  if (st->err) { /* ours: a cap, a malformed head, an upload that failed */
    fl__h2_stream_fail(c, st, st->err, st->close_msg, 0);
    return;
  }
  if (code == NGHTTP2_REFUSED_STREAM || (c->h2->goaway_recv && id > c->h2->last_stream_id)) {
    /* never processed: sent again once, elsewhere; the error if that fails too */
    st->ex->unprocessed = 1;
    if (c->h2->goaway && c->h2->why)
      fl__h2_stream_fail(c, st, FL_EHTTP2, c->h2->why, 1);
    else if (c->h2->goaway_recv && id > c->h2->last_stream_id) /* nghttp2 says REFUSED here too */
      fl__h2_stream_fail(c, st, FL_EHTTP2_STREAM,
                         "the server's GOAWAY left the HTTP/2 stream unprocessed", 1);
    else
      fl__h2_stream_fail(c, st, FL_EHTTP2_STREAM, "the server refused the HTTP/2 stream", 1);
    return;
  }
  if (code != NGHTTP2_NO_ERROR) {
    snprintf(st->close_msg, sizeof st->close_msg, "HTTP/2 stream %d was reset: %s (%u)", (int)id,
             nghttp2_http2_strerror(code), code);
    if (st->held_off < st->held.len) return; /* after the held bytes */
    fl__h2_stream_fail(c, st, FL_EHTTP2_STREAM, st->close_msg, 0);
    return;
  }
  if (st->ex->paused || st->held_off < st->held.len) return; /* ends when drained */
  fl__h2_response_end(c, st);
  return;
}

static int on_frame_send(nghttp2_session *s, const nghttp2_frame *f, void *ud) {
  fl__conn *c = ud;
  if (f->hd.type == NGHTTP2_GOAWAY) {
    c->h2->goaway = 1;
    c->h2->goaway_sent = 1;
    c->pipelining = 0;
    if (f->goaway.error_code != NGHTTP2_NO_ERROR && !c->h2->why)
      fl__h2_set_why(c->h2, "HTTP/2 connection error: %s%s",
                     nghttp2_http2_strerror(f->goaway.error_code),
                     f->goaway.error_code == NGHTTP2_COMPRESSION_ERROR
                         ? " (a header block HPACK could not decode, or one field over "
                           "nghttp2's 64 KiB)"
                         : "");
  }
  if (c->state != FL__CONN_OPEN || !(f->hd.flags & NGHTTP2_FLAG_END_STREAM)) return 0;
  if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) return 0;
  fl__h2_stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
  if (st && st->ex && st->ex->wants_sent) st->ex->ops->step(st->ex, FL__EX_SENT);
  return 0;
}

void fl__h2_recv_callbacks(nghttp2_session_callbacks *cb) {
  nghttp2_session_callbacks_set_on_begin_frame_callback(cb, on_begin_frame);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
}
