/* The HTTP/2 carrier's ops: streams started (the request head as HPACK
 * fields, the body through a data provider under flow control), dropped,
 * paused; the connection's watcher, PING timer and close. Contract in h2.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/h2_impl.h"

void fl__h2_flush_soon(fl__conn *c) {
  if (c->h2->in_session)
    c->h2->flush_again = 1;
  else
    fl__defer_schedule(c->env->loop, &c->flush_defer);
}

/* ----------------------------------------------------------- request head */

/* Whether h has a Connection field: only then is any name looked up in it. */
static int has_connection(const fl__headers *h) {
  for (size_t i = 0; i < h->n; i++)
    if (h->items[i].name_len == 10 &&
        fl__strncaseeq(h->arena.data + h->items[i].name_off, "connection", 10))
      return 1;
  return 0;
}

/* Whether a Connection field of h lists name (lower-case, len bytes) among
 * its comma-separated options (RFC 9110 7.6.1). */
static int named_by_connection(const fl__headers *h, const char *name, size_t len) {
  for (size_t i = 0; i < h->n; i++) {
    const fl__header_ref *r = &h->items[i];
    if (r->name_len != 10 || !fl__strncaseeq(h->arena.data + r->name_off, "connection", 10))
      continue;
    const char *v = h->arena.data + r->value_off, *end = v + r->value_len;
    while (v < end) {
      while (v < end && (*v == ' ' || *v == '\t' || *v == ',')) v++;
      const char *tok = v;
      while (v < end && *v != ',' && *v != ' ' && *v != '\t') v++;
      if ((size_t)(v - tok) == len && fl__strncaseeq(tok, name, len)) return 1;
    }
  }
  return 0;
}

/* Fields HTTP/2 forbids (RFC 9113 8.2.2), those it says otherwise (Host is
 * :authority) and Expect (no 100-continue wait on a stream); name is
 * lower-case. conn: the head, when it has a Connection field (the fields
 * it names are connection-specific too; TE keeps its own rule), else NULL. */
static int dropped_field(const char *name, size_t len, const char *value, const fl__headers *conn) {
  switch (len) {
  case 2:
    if (!memcmp(name, "te", 2)) return !fl__strcaseeq(value, "trailers");
    break;
  case 4:
    if (!memcmp(name, "host", 4)) return 1;
    break;
  case 6:
    if (!memcmp(name, "expect", 6)) return 1;
    break;
  case 7:
    if (!memcmp(name, "upgrade", 7)) return 1;
    break;
  case 10:
    if (!memcmp(name, "connection", 10) || !memcmp(name, "keep-alive", 10)) return 1;
    break;
  case 16:
    if (!memcmp(name, "proxy-connection", 16)) return 1;
    break;
  case 17:
    if (!memcmp(name, "transfer-encoding", 17)) return 1;
    break;
  default: break;
  }
  return conn && named_by_connection(conn, name, len);
}

static void lower(char *dst, const char *src, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char ch = src[i];
    dst[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch;
  }
}

/* The head as HTTP/1.1-style text in ex->head, for the trace hook only (as
 * curl -v shows an HTTP/2 request). */
static int trace_text(fl__exchange *ex) {
  const fl__req_head *rh = &ex->rh;
  const fl__headers *h = &rh->fields;
  fl__buf *t = &ex->head;
  fl__buf_reset(t);
  ex->head_gen = 0; /* not the HTTP/1.1 form any more */
  int err = fl__buf_puts(t, rh->method) || fl__buf_puts(t, " ") || fl__buf_puts(t, rh->path) ||
            fl__buf_puts(t, " HTTP/2\r\nHost: ") || fl__buf_puts(t, rh->authority) ||
            fl__buf_puts(t, "\r\n");
  char lc[64];
  const fl__headers *conn = has_connection(h) ? h : NULL;
  for (size_t i = 0; !err && i < h->n; i++) {
    const char *name = fl__headers_name(h, i), *value = fl__headers_value(h, i);
    size_t len = h->items[i].name_len;
    int drop = 0;
    if (len < sizeof lc) { /* (longer names: only a Connection option can drop them) */
      lower(lc, name, len);
      drop = dropped_field(lc, len, value, conn);
    } else if (conn) {
      drop = named_by_connection(conn, name, len);
    }
    if (!drop) err = fl__h1_put_header(t, name, value);
  }
  return err || fl__h1_end_head(t) ? FL_ENOMEM : 0;
}

/* Fields on the stack up to these sizes (nghttp2 copies them when the
 * request is submitted); a larger head takes one malloc each. */
#define NV_STACK 16
#define NAMES_STACK 512

/* Submit ex's head (pseudo-headers first, names lower-cased, the fields
 * HTTP/2 forbids left out) and body provider as a new stream: its id, or
 * an nghttp2 error (NGHTTP2_ERR_NOMEM when our malloc fails too). */
static int32_t submit_head(fl__h2 *h, fl__exchange *ex, fl__h2_stream *st,
                           const nghttp2_data_provider *prd) {
  const fl__req_head *rh = &ex->rh;
  const fl__headers *fl = &rh->fields;
  nghttp2_nv nv_stack[NV_STACK], *nv = nv_stack;
  char names_stack[NAMES_STACK], *names = names_stack;
  if (fl->n + 4 > NV_STACK && !(nv = malloc((fl->n + 4) * sizeof *nv))) return NGHTTP2_ERR_NOMEM;
  if (fl->arena.len > NAMES_STACK && !(names = malloc(fl->arena.len))) {
    if (nv != nv_stack) free(nv);
    return NGHTTP2_ERR_NOMEM;
  }
  size_t k = 0;
#define NV(nm, nl, v, vl)                                                                          \
  nv[k++] = (nghttp2_nv){(uint8_t *)(nm), (uint8_t *)(v), (nl), (vl), NGHTTP2_NV_FLAG_NONE}
  NV(":method", 7, rh->method, strlen(rh->method));
  NV(":scheme", 7, rh->scheme, strlen(rh->scheme));
  NV(":authority", 10, rh->authority, strlen(rh->authority));
  NV(":path", 5, rh->path, strlen(rh->path));
  char *np = names; /* names, lower-cased, one after another (at most the arena's bytes) */
  const fl__headers *conn = has_connection(fl) ? fl : NULL;
  for (size_t i = 0; i < fl->n; i++) {
    const fl__header_ref *r = &fl->items[i];
    const char *value = fl->arena.data + r->value_off;
    lower(np, fl->arena.data + r->name_off, r->name_len);
    if (dropped_field(np, r->name_len, value, conn)) continue;
    NV(np, r->name_len, value, r->value_len);
    np += r->name_len;
  }
#undef NV
  int32_t id = nghttp2_submit_request(h->s, NULL, nv, k, prd, st);
  if (nv != nv_stack) free(nv);
  if (names != names_stack) free(names);
  return id;
}

/* ----------------------------------------------------------- request body */

static ssize_t read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *ud) {
  FL__UNUSED(s), FL__UNUSED(id);
  fl__conn *c = ud;
  fl__h2_stream *st = src->ptr;
  fl__exchange *ex = st->ex;
  if (!ex || c->state != FL__CONN_OPEN) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  if (!ex->streams) {
    size_t n = ex->body_len - st->body_off;
    if (n > len) n = len;
    memcpy(buf, ex->body + st->body_off, n);
    st->body_off += n;
    if (st->body_off == ex->body_len) *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (ex->bytes_sent) *ex->bytes_sent += n;
    return (ssize_t)n;
  }
  size_t want = len;
  if (ex->upload_len >= 0) {
    uint64_t left = (uint64_t)ex->upload_len - ex->upload_sent;
    if (left < want) want = (size_t)left;
    if (want == 0) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      return 0;
    }
  }
  long n = ex->ops->upload(ex, (char *)buf, want);
  if (st->ex != ex || c->state != FL__CONN_OPEN) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  if (n == FL__EX_UPLOAD_LATER) { /* a send speed cap: h2_pause resumes it */
    ex->upload_wait = 1;
    return NGHTTP2_ERR_DEFERRED;
  }
  if (n < 0 || (n == 0 && ex->upload_len >= 0)) {
    st->err = FL_EREAD;
    if (n < 0)
      snprintf(st->close_msg, sizeof st->close_msg, "upload callback failed");
    else
      snprintf(st->close_msg, sizeof st->close_msg, "the upload ended after %llu of its %lld bytes",
               (unsigned long long)ex->upload_sent, (long long)ex->upload_len);
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  if ((size_t)n > want) n = (long)want;
  ex->upload_sent += (uint64_t)n;
  if (ex->bytes_sent) *ex->bytes_sent += (uint64_t)n;
  if (n == 0 || (ex->upload_len >= 0 && ex->upload_sent == (uint64_t)ex->upload_len))
    *flags |= NGHTTP2_DATA_FLAG_EOF;
  return n;
}

/* ------------------------------------------------------------------ ops */

static void give_up_unsent(fl__conn *c, fl__exchange *ex, int err, const char *msg, int orphan) {
  fl__queue_remove(&ex->node);
  ex->carrier = NULL;
  if (--c->nexchanges == 0) c->owner->idle(c, !c->h2->goaway);
  ex->unprocessed = orphan;
  fl__ex_failure f = {.err = err, .msg = msg, .orphaned = orphan};
  ex->ops->failed(ex, &f);
}

static void h2_start(fl__conn *c, fl__exchange *ex) {
  fl__h2 *h = c->h2;
  ex->woff = 0;
  ex->upload_sent = 0;
  ex->upload_done = 0;
  ex->response_started = 0;
  ex->awaiting_continue = 0;
  ex->content_length = -1;
  ex->body_bytes = 0;
  ex->expect_ms = 0;
  int err = ex->ops->start(ex);
  if (c->state != FL__CONN_OPEN || ex->carrier != c) return; /* a hook cancelled it */
  ex->expect_ms = 0;                                         /* no 100-continue wait on a stream */
  if (!err && ex->wants_head_out) {
    err = trace_text(ex);
    if (!err) {
      ex->ops->step(ex, FL__EX_HEAD_OUT);
      if (c->state != FL__CONN_OPEN || ex->carrier != c) return; /* the trace hook cancelled it */
    }
  }
  fl__h2_stream *st = err ? NULL : fl__h2_stream_new(h);
  if (!err && !st) err = FL_ENOMEM;
  if (err) {
    give_up_unsent(c, ex, err, err == FL_ENOMEM ? "out of memory" : NULL, 0);
    return;
  }
  st->ex = ex;
  nghttp2_data_provider prd = {.source.ptr = st, .read_callback = read_body};
  int has_body = ex->streams || ex->body_len > 0;
  int32_t id = submit_head(h, ex, st, has_body ? &prd : NULL);
  if (id < 0) {
    fl__h2_mem_free(&h->mem, st);
    if (id == NGHTTP2_ERR_NOMEM)
      give_up_unsent(c, ex, FL_ENOMEM, "out of memory", 0);
    else
      give_up_unsent(c, ex, FL_EHTTP2, "the HTTP/2 connection takes no more streams",
                     id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE);
    return;
  }
  st->id = id;
  ex->stream_id = (uint32_t)id;
  fl__queue_insert_tail(&h->streams, &st->node);
  c->env->stats->h2_streams++;
  ex->wire_bytes = 0;
  fl__h2_flush_soon(c); /* streams started in one loop pass leave in one write */
}

/* The stream carrying ex, from our list: nghttp2 knows a stream (and its
 * user data) only once its HEADERS went out, and a drop may come before. */
static fl__h2_stream *stream_carrying(fl__h2 *h, const fl__exchange *ex) {
  fl__queue *q;
  fl__queue_foreach(q, &h->streams) {
    fl__h2_stream *st = fl__container_of(q, fl__h2_stream, node);
    if (st->ex == ex) return st;
  }
  return NULL;
}

static void h2_drop(fl__conn *c, fl__exchange *ex) {
  fl__h2 *h = c->h2;
  fl__h2_stream *st = ex->stream_id ? stream_carrying(h, ex) : NULL;
  if (st) {
    /* RST_STREAM, or for one whose HEADERS wait in nghttp2's queue, a
     * cancel of them: either way its close comes back and frees st. */
    st->ex = NULL;
    if (!st->closed)
      fl__h2_check(c, nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL));
    fl__h2_stream_release(c, st);
  }
  fl__queue_remove(&ex->node);
  ex->carrier = NULL;
  if (h->cur == ex) h->cur = NULL;
  /* Given up before the server's SETTINGS came (a timeout, most likely):
   * a server that never sends them must not get the next request too. */
  if (!h->settings_seen) h->goaway = 1;
  if (--c->nexchanges == 0)
    c->owner->idle(c, !h->goaway);
  else
    c->owner->room(c);
  if (c->state == FL__CONN_OPEN) fl__h2_flush_soon(c);
}

static void h2_pause(fl__conn *c, fl__exchange *ex) {
  if (!ex->paused) fl__defer_schedule(c->env->loop, &c->drain_defer); /* its held bytes */
  if (ex->upload_wait && ex->stream_id) { /* a send speed cap lets its body go on */
    ex->upload_wait = 0;
    nghttp2_session_resume_data(c->h2->s, (int32_t)ex->stream_id);
    fl__h2_flush_soon(c);
  }
}

static uint32_t h2_room(const fl__conn *c, int pipelinable) {
  FL__UNUSED(pipelinable);
  const fl__h2 *h = c->h2;
  if (h->goaway) return 0;
  if (!h->settings_seen) return c->nexchanges ? 0 : 1; /* one stream until its limit is known */
  uint32_t limit =
      nghttp2_session_get_remote_settings(h->s, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  if (c->env->h2_max_streams && c->env->h2_max_streams < limit) limit = c->env->h2_max_streams;
  return c->nexchanges < limit ? limit - c->nexchanges : 0;
}

static int h2_carries(const fl__conn *c, const fl__exchange *ex) {
  return c->h2 && c->h2->cur == ex;
}

/* Streams the server will never process go out again. */
static void h2_close(fl__conn *c) {
  fl__timer_stop(&c->expect_timer);
  fl__defer_cancel(&c->flush_defer);
  fl__defer_cancel(&c->drain_defer);
  fl__h2 *h = c->h2;
  if (!h) return;
  fl__defer_cancel(&h->trim);
  h->cur = NULL;
  fl__queue *q;
  fl__queue_foreach(q, &h->streams) {
    fl__h2_stream *st = fl__container_of(q, fl__h2_stream, node);
    if (st->ex && h->goaway_recv && st->id > h->last_stream_id) st->ex->unprocessed = 1;
    st->ex = NULL;
  }
}

static int h2_watch_idle(fl__conn *c) {
  if (!(c->io.want & FL__POLLIN)) return fl__io_start(c->env->loop, &c->io, FL__POLLIN);
  return 0;
}

static void h2_dispose(fl__conn *c) { fl__h2_session_free(c); }

/* ------------------------------------------------------ loop callbacks */

static void io_cb(fl_loop *loop, fl__io *io, uint32_t events) {
  FL__UNUSED(loop);
  fl__conn *c = fl__container_of(io, fl__conn, io);
  fl__guard *g = c->env->guard;
  fl__guard_enter(g);
  if (events & (FL__POLLIN | EPOLLHUP | EPOLLERR)) fl__h2_read(c);
  if (c->state == FL__CONN_OPEN && (events & FL__POLLOUT)) fl__h2_flush(c);
  if (c->state == FL__CONN_OPEN && c->h2->flush_again) {
    c->h2->flush_again = 0;
    fl__h2_flush(c);
  }
  fl__guard_leave(g);
}

static void flush_defer_cb(fl__defer *d) {
  fl__conn *c = fl__container_of(d, fl__conn, flush_defer);
  fl__guard *g = c->env->guard;
  fl__guard_enter(g);
  if (c->state == FL__CONN_OPEN) fl__h2_flush(c);
  fl__guard_leave(g);
}

/* Resumed streams get their held bytes, and their end if it came while they
 * were paused (also when every held byte was taken before the pause: a
 * speed cap pauses on the last one); the transport's buffered ones are
 * read (a read budget ran out). */
static void drain_defer_cb(fl__defer *d) {
  fl__conn *c = fl__container_of(d, fl__conn, drain_defer);
  fl__guard *g = c->env->guard;
  fl__guard_enter(g);
  fl__queue *q = c->h2 ? c->h2->streams.next : NULL;
  while (c->state == FL__CONN_OPEN && q != &c->h2->streams) {
    fl__h2_stream *st = fl__container_of(q, fl__h2_stream, node);
    q = q->next; /* draining may free st; the next one stays */
    if (st->ex && !st->ex->paused && (st->held_off < st->held.len || st->closed)) {
      fl__h2_drain_held(c, st);
      break; /* one per pass: the list may have changed; go on next pass */
    }
  }
  if (c->state == FL__CONN_OPEN) {
    for (q = c->h2->streams.next; q != &c->h2->streams; q = q->next) {
      fl__h2_stream *st = fl__container_of(q, fl__h2_stream, node);
      if (st->ex && !st->ex->paused && (st->held_off < st->held.len || st->closed)) {
        fl__defer_schedule(c->env->loop, &c->drain_defer);
        break;
      }
    }
    fl__h2_read(c);
  }
  fl__guard_leave(g);
}

/* PING keep-alive: an unanswered PING from the last round closes it. */
static void ping_cb(fl__timer *t) {
  fl__conn *c = fl__container_of(t, fl__conn, expect_timer);
  fl__guard *g = c->env->guard;
  fl__guard_enter(g);
  if (c->state == FL__CONN_OPEN) {
    if (c->h2->ping_out) {
      fl__conn_failf(c, FL_EHTTP2, 0, "no PING acknowledgement within %u ms", c->env->h2_ping_ms);
    } else {
      c->h2->ping_out = 1;
      fl__h2_check(c, nghttp2_submit_ping(c->h2->s, NGHTTP2_FLAG_NONE, NULL));
      fl__h2_flush(c);
      if (c->state == FL__CONN_OPEN) fl__timer_start(t, c->env->h2_ping_ms);
    }
  }
  fl__guard_leave(g);
}

static int h2_open(fl__conn *c) {
  if (fl__h2_session_new(c)) return FL_ENOMEM;
  fl__defer_init(&c->drain_defer, drain_defer_cb);
  fl__defer_init(&c->flush_defer, flush_defer_cb);
  c->expect_timer.cb = ping_cb;
  c->io.cb = io_cb;
  c->pipelining = 1; /* takes more while busy */
  if (c->env->h2_ping_ms) fl__timer_start(&c->expect_timer, c->env->h2_ping_ms);
  if (fl__io_start(c->env->loop, &c->io, FL__POLLIN)) return FL_ENOMEM;
  fl__defer_schedule(c->env->loop, &c->flush_defer); /* the preface and SETTINGS */
  return 0;
}

const fl__carrier_ops fl__h2_carrier = {.version = 20,
                                        .open = h2_open,
                                        .start = h2_start,
                                        .drop = h2_drop,
                                        .pause = h2_pause,
                                        .room = h2_room,
                                        .carries = h2_carries,
                                        .close = h2_close,
                                        .watch_idle = h2_watch_idle,
                                        .dispose = h2_dispose,
                                        .goodbye = fl__h2_goodbye};
