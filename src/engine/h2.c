/* The HTTP/2 carrier's session: nghttp2 made and freed, and driven from our
 * loop (reads fed to it, what it has to send written). Contract in h2.h;
 * the receive callbacks are in h2_recv.c, the streams' outcomes in
 * h2_stream.c, the carrier ops (request heads and bodies) in h2_send.c. */
#include "engine/h2_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static fl__h2 *h2_of(const fl__conn *c) { return c->h2; }


/* ------------------------------------------------------------------ I/O */

static const char *io_error_text(const fl__conn *c, int e) {
  const char *why = e == EPROTO && c->tp.ops->failure ? c->tp.ops->failure(&c->tp) : NULL;
  return why ? why : strerror(e);
}

/* A connection lost after the server's GOAWAY(NO_ERROR) (one with an error
 * code is h->why) names it: the server had promised to finish the streams
 * up to its last-stream-id. "" without one; else text in buf. */
static const char *after_goaway(const fl__h2 *h, char *buf, size_t cap) {
  if (!h->goaway_recv) return "";
  snprintf(buf, cap, " after the server's GOAWAY %s (%u), last stream %d",
           nghttp2_http2_strerror(h->goaway_code), h->goaway_code, (int)h->last_stream_id);
  return buf;
}

/* nghttp2 cannot go on (a connection error it answered with GOAWAY, ours,
 * or no memory): every stream fails. */
static void session_failed(fl__conn *c, int rv) {
  fl__h2 *h = c->h2;
  if (rv == NGHTTP2_ERR_NOMEM || h->nomem) {
    fl__conn_fail(c, FL_ENOMEM, 0, "out of memory (HTTP/2 session)");
    return;
  }
  if (!h->why) fl__h2_set_why(h, "HTTP/2 framing layer error: %s", nghttp2_strerror(rv));
  char msg[256];
  snprintf(msg, sizeof msg, "%s", h->why);
  fl__conn_fail(c, FL_EHTTP2, 0, msg);
}

/* Update EPOLLOUT: armed exactly while bytes wait for the socket (or TLS
 * waits for it to read). */
static void settle_out(fl__conn *c) {
  fl__h2 *h = c->h2;
  int need = h->out_off < h->out.len;
  if (c->tp.ops->wants && c->tp.ops->wants(&c->tp, 0) == FL__POLLOUT) need = 1;
  int have = (c->io.want & FL__POLLOUT) != 0;
  if (need && !have && fl__io_start(c->env->loop, &c->io, FL__POLLOUT))
    fl__conn_fail(c, FL_ENOMEM, 0, "out of memory");
  else if (!need && have)
    fl__io_stop(c->env->loop, &c->io, FL__POLLOUT);
}

/* Write what nghttp2 has to send, gathered into one buffer per write. */
void fl__h2_flush(fl__conn *c) {
  fl__h2 *h = c->h2;
  if (h->in_session) { /* inside nghttp2: after it returns */
    h->flush_again = 1;
    return;
  }
  if (h->nomem) {
    session_failed(c, NGHTTP2_ERR_NOMEM);
    return;
  }
  while (c->state == FL__CONN_OPEN) {
    if (h->out_off == h->out.len) {
      fl__buf_reset(&h->out);
      h->out_off = 0;
      while (h->out.len < 65536) {
        const uint8_t *p;
        h->in_session = 1;
        ssize_t n = nghttp2_session_mem_send(h->s, &p);
        h->in_session = 0;
        if (c->state != FL__CONN_OPEN) return;
        if (n < 0) {
          session_failed(c, (int)n);
          return;
        }
        if (n == 0) break;
        if (fl__buf_append(&h->out, (const char *)p, (size_t)n)) {
          fl__conn_fail(c, FL_ENOMEM, 0, "out of memory");
          return;
        }
      }
      if (h->out.len == 0) break;
    }
    struct iovec iov = {.iov_base = h->out.data + h->out_off, .iov_len = h->out.len - h->out_off};
    ssize_t w = c->tp.ops->writev(&c->tp, &iov, 1);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      int e = errno;
      if (h->why) {
        session_failed(c, 0);
        return;
      }
      char ga[96];
      fl__conn_failf(c, e == ECONNRESET ? FL_ECONN_RESET : FL_ESEND, 0,
                     "failed sending on the HTTP/2 connection%s: %s",
                     after_goaway(h, ga, sizeof ga), io_error_text(c, e));
      return;
    }
    c->env->stats->writes++;
    h->out_off += (size_t)w;
  }
  if (c->state != FL__CONN_OPEN) return;
  if (!nghttp2_session_want_read(h->s) && !nghttp2_session_want_write(h->s) &&
      h->out_off == h->out.len) {
    if (c->nexchanges)
      session_failed(c, NGHTTP2_ERR_EOF);
    else
      fl__conn_close(c, 0, NULL);
    return;
  }
  /* Idle: its spare blocks and its output buffer go back, unless a stream
   * starts before the next loop pass (as when the owner sends its next
   * request on completion). */
  if (c->nexchanges == 0 && (fl__h2_mem_holds(&h->mem) || h->out.cap))
    fl__defer_schedule(c->env->loop, &h->trim);
  settle_out(c);
}

static void eof(fl__conn *c) {
  fl__h2 *h = c->h2;
  h->peer_gone = 1;
  if (c->nexchanges == 0) {
    fl__conn_close(c, 0, NULL);
    return;
  }
  fl__exchange *ex = fl__container_of(c->exchanges.next, fl__exchange, node);
  if (h->why) {
    session_failed(c, 0);
    return;
  }
  char ga[96];
  if (!ex->response_started) {
    fl__conn_failf(c, FL_EEMPTY_REPLY, 1, "empty reply from server %s port %u (HTTP/2)%s",
                   c->remote_ip, c->remote_port, after_goaway(h, ga, sizeof ga));
    return;
  }
  fl__conn_failf(c, FL_EHTTP2, 0, "the HTTP/2 connection closed before stream %u ended%s%s",
                 ex->stream_id, h->goaway_recv ? "," : "",
                 h->goaway_recv ? after_goaway(h, ga, sizeof ga) : " (no GOAWAY)");
}

/* Closing by choice: GOAWAY(NO_ERROR) tells the server the close was on
 * purpose (not a crash or a network fault), as RFC 9113 6.8 asks. The
 * frame is built here, not by nghttp2: the close may come from inside one
 * of its callbacks (a stream's end makes the connection idle, and past its
 * lifetime it closes there), where nghttp2 cannot be asked to send. It
 * goes after what waits in out (whole frames, maybe half written), in one
 * write that never waits: if the socket takes it not, the close says
 * enough. c->state is DEAD already. */
void fl__h2_goodbye(fl__conn *c) {
  fl__h2 *h = c->h2;
  if (!h || !h->s || h->goaway_sent || h->goaway_recv || h->peer_gone) return;
  /* last-stream-id: the last server-initiated stream we processed (none
   * without push: 0) */
  uint32_t last = (uint32_t)nghttp2_session_get_last_proc_stream_id(h->s);
  /* length 8, type GOAWAY, no flags, stream 0; last-stream-id; NO_ERROR */
  uint8_t f[17] = {0, 0, 8, NGHTTP2_GOAWAY};
  f[9] = (uint8_t)(last >> 24 & 0x7f), f[10] = (uint8_t)(last >> 16);
  f[11] = (uint8_t)(last >> 8), f[12] = (uint8_t)last;
  f[16] = NGHTTP2_NO_ERROR;
  h->goaway_sent = 1;
  struct iovec iov[2];
  int n = 0;
  if (h->out_off < h->out.len)
    iov[n++] =
        (struct iovec){.iov_base = h->out.data + h->out_off, .iov_len = h->out.len - h->out_off};
  iov[n++] = (struct iovec){.iov_base = f, .iov_len = sizeof f};
  if (c->tp.ops->writev(&c->tp, iov, n) > 0) c->env->stats->writes++;
}

void fl__h2_read(fl__conn *c) {
  fl__h2 *h = c->h2;
  char *rbuf = c->env->rbuf;
  for (size_t budget = FL__READ_BUDGET; c->state == FL__CONN_OPEN;) {
    if (budget < FL__READ_BUF_SIZE) {
      if (c->tp.ops->pending && c->tp.ops->pending(&c->tp))
        fl__defer_schedule(c->env->loop, &c->drain_defer);
      break;
    }
    ssize_t n = c->tp.ops->read(&c->tp, rbuf, FL__READ_BUF_SIZE);
    if (n == 0) {
      eof(c);
      return;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      int e = errno;
      if (h->why) { /* a GOAWAY with an error came or went: that is the reason */
        session_failed(c, 0);
        return;
      }
      char ga[96];
      fl__conn_failf(c, e == ECONNRESET ? FL_ECONN_RESET : FL_ERECV, 0,
                     "failed receiving on the HTTP/2 connection%s: %s",
                     after_goaway(h, ga, sizeof ga), io_error_text(c, e));
      return;
    }
    if (!h->answered) {
      h->answered = 1;
      c->owner->answered(c);
      if (c->state != FL__CONN_OPEN) return;
    }
    budget -= (size_t)n;
    h->in_session = 1;
    ssize_t rv = nghttp2_session_mem_recv(h->s, (const uint8_t *)rbuf, (size_t)n);
    h->in_session = 0;
    if (c->state != FL__CONN_OPEN) return;
    if (rv < 0) {
      session_failed(c, (int)rv);
      return;
    }
    if (h->unacked) { /* one connection window update per read, not per DATA frame */
      size_t u = h->unacked;
      h->unacked = 0;
      fl__h2_check(c, nghttp2_session_consume_connection(h->s, u));
    }
    if (!nghttp2_session_want_read(h->s)) break; /* it answered with GOAWAY: send that */
    if ((size_t)n < FL__READ_BUF_SIZE && !(c->tp.ops->pending && c->tp.ops->pending(&c->tp))) break;
  }
  if (c->state == FL__CONN_OPEN) fl__h2_flush(c);
}

int fl__h2_nomem(fl__conn *c) {
  c->h2->nomem = 1;
  fl__h2_flush_soon(c);
  return NGHTTP2_ERR_CALLBACK_FAILURE;
}

/* ------------------------------------------------------------ the session */

static void trim_cb(fl__defer *d) {
  fl__h2 *h = fl__container_of(d, fl__h2, trim);
  if (h->conn->nexchanges) return;
  fl__h2_mem_trim(&h->mem);
  if (h->out_off == h->out.len) { /* all written: an idle connection keeps no buffer */
    fl__buf_dispose(&h->out);
    fl__buf_init(&h->out);
    h->out_off = 0;
  }
}

/* The reason when malloc has no room for the real one. */
static const char why_nomem[] = "HTTP/2 connection error (no memory to say which)";

void fl__h2_set_why(fl__h2 *h, const char *fmt, ...) {
  char text[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  if (h->why != why_nomem) free((char *)h->why);
  h->why = strdup(text);
  if (!h->why) h->why = why_nomem;
}

int fl__h2_session_new(fl__conn *c) {
  /* The HTTP/1.1 parser's storage, unused from here on (h2_state.h). */
  fl__h2 *h = &c->h2_state;
  memset(h, 0, sizeof *h);
  h->conn = c;
  fl__defer_init(&h->trim, trim_cb);
  fl__buf_init(&h->out);
  fl__queue_init(&h->streams);
  c->h2 = h;
  nghttp2_session_callbacks *cb;
  nghttp2_option *opt;
  if (nghttp2_session_callbacks_new(&cb)) return FL_ENOMEM;
  if (nghttp2_option_new(&opt)) {
    nghttp2_session_callbacks_del(cb);
    return FL_ENOMEM;
  }
  fl__h2_recv_callbacks(cb);
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_max_reserved_remote_streams(opt, 0);
  nghttp2_option_set_peer_max_concurrent_streams(opt, 100); /* until its SETTINGS say */
  /* nghttp2's allocations through the connection's cache (h2_mem.c),
   * which calls our malloc: the allocation torture fails them as it fails
   * ours, so its errors are tested. */
  nghttp2_mem mem = fl__h2_mem_nghttp2(&h->mem, &c->env->stats->h2_session_bytes);
  int rv = nghttp2_session_client_new3(&h->s, cb, c, opt, &mem);
  nghttp2_session_callbacks_del(cb);
  nghttp2_option_del(opt);
  if (rv) return FL_ENOMEM;
  nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                 {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100},
                                 {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, FL__H2_STREAM_WINDOW}};
  if (nghttp2_submit_settings(h->s, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]) ||
      nghttp2_session_set_local_window_size(h->s, NGHTTP2_FLAG_NONE, 0, FL__H2_CONN_WINDOW))
    return FL_ENOMEM;
  c->env->stats->h2_connections++;
  return 0;
}

void fl__h2_session_free(fl__conn *c) {
  fl__h2 *h = h2_of(c);
  if (!h) return;
  fl__defer_cancel(&h->trim);
  if (h->s) nghttp2_session_del(h->s);
  while (!fl__queue_empty(&h->streams)) {
    fl__h2_stream *st = fl__container_of(h->streams.next, fl__h2_stream, node);
    fl__queue_remove(&st->node);
    fl__buf_dispose(&st->held);
    fl__h2_mem_free(&h->mem, st);
  }
  fl__h2_mem_trim(&h->mem);
  fl__buf_dispose(&h->out);
  if (h->why != why_nomem) free((char *)h->why);
  h->why = NULL;
  c->h2 = NULL;
}
