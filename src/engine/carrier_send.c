/* HTTP/1.1 requests going out on an open connection (the carrier's write
 * half; the read half and the ops table are in carrier.c): write first and
 * poll only when the socket would block, pipelined heads gathered into one
 * writev, streamed bodies framed chunk by chunk, a body held for its 100
 * (Expect) until the answer or the timer. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "engine/carrier_impl.h"

#define IOV_BATCH 64

static size_t fixed_len(const fl__exchange *ex) { return ex->head.len + ex->body_len; }

/* What may go out now: the head alone while the body waits for a 100. */
static size_t sendable_len(const fl__exchange *ex) {
  return ex->expect_ms ? ex->head.len : fixed_len(ex);
}

/* Frame the next piece of a streamed body into c->wbuf: "<hex>\r\n<data>\r\n"
 * and at the end "0\r\n\r\n" (chunked), or raw bytes of a declared length. */
static int next_chunk(fl__conn *c, fl__exchange *ex) {
  enum { CHUNK = 16384, ROOM = 16 };
  fl__buf *b = &c->wbuf;
  fl__buf_reset(b);
  c->wbuf_off = 0;
  if (fl__buf_reserve(b, CHUNK + ROOM + 2)) return FL_ENOMEM;
  size_t want = CHUNK;
  if (ex->upload_len >= 0) { /* never ask for more than was declared */
    uint64_t left = (uint64_t)ex->upload_len - ex->upload_sent;
    if (left == 0) {
      ex->upload_done = 1;
      return 0;
    }
    if (left < want) want = (size_t)left;
  }
  long n = ex->ops->upload(ex, b->data + ROOM, want);
  if (ex->carrier != c) return FL_ECANCELED; /* the callback cancelled or freed it */
  if (n == FL__EX_UPLOAD_LATER) return FL__EX_UPLOAD_LATER;
  if (n < 0) return FL_EREAD;
  if ((size_t)n > want) n = (long)want;
  if (ex->upload_len >= 0) { /* known length: raw bytes, no chunk framing */
    if (n == 0) return -1;   /* ended early: the server would wait for the rest */
    memmove(b->data, b->data + ROOM, (size_t)n);
    b->len = (size_t)n;
    ex->upload_sent += (uint64_t)n;
    return 0;
  }
  if (n == 0) {
    memcpy(b->data, "0\r\n\r\n", 5);
    b->len = 5;
    ex->upload_done = 1;
    return 0;
  }
  char hex[ROOM];
  int hl = snprintf(hex, sizeof hex, "%lx\r\n", n);
  memmove(b->data + hl, b->data + ROOM, (size_t)n);
  memcpy(b->data, hex, (size_t)hl);
  memcpy(b->data + hl + n, "\r\n", 2);
  b->len = (size_t)hl + (size_t)n + 2;
  return 0;
}

static void sent(fl__conn *c, fl__exchange *ex) {
  c->wnext = fl__h1_next_exchange(c, ex);
  if (ex->wants_sent) ex->ops->step(ex, FL__EX_SENT);
}

static int wait_writable(fl__conn *c) {
  if (fl__io_start(c->env->loop, &c->io, fl__h1_wait_event(c, 1))) {
    fl__conn_fail(c, FL_ENOMEM, 0, "out of memory");
    return -1;
  }
  return 0;
}

/* Gather what is unsent of the fixed parts (head and body) of wnext and the
 * exchanges behind it; *total: their bytes. */
static int gather(const fl__conn *c, struct iovec *iov, size_t *total) {
  int n = 0;
  size_t sum = 0;
  for (const fl__exchange *e = c->wnext; e && n + 2 <= IOV_BATCH; e = fl__h1_next_exchange(c, e)) {
    size_t hl = e->head.len;
    if (e->woff < hl) {
      iov[n].iov_base = e->head.data + e->woff;
      sum += iov[n++].iov_len = hl - e->woff;
    }
    if (e->body_len && !e->expect_ms && e->woff < fixed_len(e)) {
      size_t boff = e->woff > hl ? e->woff - hl : 0;
      iov[n].iov_base = (char *)e->body + boff;
      sum += iov[n++].iov_len = e->body_len - boff;
    }
    if (e->streams || e->expect_ms) break; /* its chunks, or a 100, come next */
  }
  *total = sum;
  return n;
}

/* Credit w written bytes to the exchanges gathered; 1 if all went out. */
static int credit(fl__conn *c, size_t w) {
  for (fl__exchange *e = c->wnext; e && w;) {
    size_t end = sendable_len(e); /* once: the count below may alias it */
    size_t take = end - e->woff;
    if (take > w) take = w;
    e->woff += take;
    w -= take;
    if (e->bytes_sent) *e->bytes_sent += take;
    fl__exchange *next = fl__h1_next_exchange(c, e);
    if (e->woff < end) return 0;
    if (e->streams || e->expect_ms) return 1;
    sent(c, e);
    if (c->state != FL__CONN_OPEN) return 0;
    e = next;
  }
  return 1;
}

/* Write what we can; arm EPOLLOUT only when the socket would block. */
void fl__h1_write_some(fl__conn *c) {
  size_t streamed = 0; /* a streamed body yields now and then, so an early answer is read */
  while (c->state == FL__CONN_OPEN) {
    fl__exchange *ex = c->wnext;
    if (!ex) {
      if (c->io.want & FL__POLLOUT) fl__io_stop(c->env->loop, &c->io, FL__POLLOUT);
      return;
    }
    if (ex->expect_ms && ex->woff >= ex->head.len) { /* the body waits for a 100 */
      if (!ex->awaiting_continue) {
        ex->awaiting_continue = 1;
        if (fl__timer_start(&c->expect_timer, ex->expect_ms)) { /* no timer: send now */
          ex->awaiting_continue = 0;
          ex->expect_ms = 0;
        }
      }
      if (ex->awaiting_continue) {
        if (c->io.want & FL__POLLOUT) fl__io_stop(c->env->loop, &c->io, FL__POLLOUT);
        return;
      }
      continue;
    }
    struct iovec iov[IOV_BATCH];
    int n = 0, chunk = 0, alone = 0;
    size_t total = 0;
    if (ex->woff == 0 && !(ex->body_len | ex->streams | ex->expect_ms) &&
        ex->node.next == &c->exchanges) {
      /* The usual request: a head alone, nothing behind it (no walk over
       * the exchanges to gather or to credit). */
      iov[0].iov_base = ex->head.data;
      total = iov[0].iov_len = ex->head.len;
      n = alone = 1;
    } else if (ex->woff == fixed_len(ex) && ex->streams) {
      if (c->wbuf_off == c->wbuf.len) {
        if (ex->upload_done) {
          sent(c, ex);
          continue;
        }
        int err = next_chunk(c, ex);
        if (err == FL_ECANCELED) return;
        if (err == FL__EX_UPLOAD_LATER) { /* a speed cap: the owner says when */
          ex->upload_wait = 1;
          if (c->io.want & FL__POLLOUT) fl__io_stop(c->env->loop, &c->io, FL__POLLOUT);
          return;
        }
        if (err == -1) {
          fl__conn_failf(c, FL_EREAD, 0, "the upload ended after %llu of its %lld bytes",
                         (unsigned long long)ex->upload_sent, (long long)ex->upload_len);
          return;
        }
        if (err) {
          fl__conn_fail(c, err, 0, err == FL_EREAD ? "upload callback failed" : "out of memory");
          return;
        }
        if (c->wbuf_off == c->wbuf.len) continue; /* the declared length is all out */
      }
      iov[0].iov_base = c->wbuf.data + c->wbuf_off;
      total = iov[0].iov_len = c->wbuf.len - c->wbuf_off;
      n = chunk = 1;
    } else {
      n = gather(c, iov, &total);
      if (n == 0) {
        sent(c, ex);
        continue;
      }
    }
    ssize_t w = c->tp.ops->writev(&c->tp, iov, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        wait_writable(c);
        return;
      }
      int e = errno;
      if (e == EPIPE || e == ECONNRESET) {
        /* The server stopped reading, maybe after answering (an early 413
         * or 501 to an upload, RFC 9112 9.5): read what it said. Whatever
         * comes, the connection carries nothing more. */
        c->send_errno = e;
        c->wnext = NULL;
        fl__timer_stop(&c->expect_timer);
        if (c->io.want & FL__POLLOUT) fl__io_stop(c->env->loop, &c->io, FL__POLLOUT);
        fl__h1_do_read(c);
        return;
      }
      fl__conn_failf(c, FL_ESEND, 0, "failed sending the request: %s", fl__h1_io_error_text(c, e));
      return;
    }
    c->env->stats->writes++;
    if (alone && (size_t)w == total) { /* what credit does for one exchange written whole */
      ex->woff = total;
      if (ex->bytes_sent) *ex->bytes_sent += total;
      sent(c, ex);
      continue;
    }
    if (chunk) {
      c->wbuf_off += (size_t)w;
      if (ex->bytes_sent) *ex->bytes_sent += (uint64_t)w;
      if ((streamed += (size_t)w) >= 256 * 1024 && (size_t)w == total) {
        wait_writable(c);
        return;
      }
    } else if (!credit(c, (size_t)w)) {
      if (c->state != FL__CONN_OPEN) return;
    }
    if ((size_t)w < total) { /* partial: the socket buffer is full */
      wait_writable(c);
      return;
    }
  }
}

/* A 100 came, or the wait for one ran out: the held body goes now. */
void fl__h1_continue_body(fl__conn *c) {
  fl__exchange *ex = c->wnext;
  if (!ex || !ex->awaiting_continue) return;
  fl__timer_stop(&c->expect_timer);
  ex->awaiting_continue = 0;
  ex->expect_ms = 0;
  fl__h1_write_some(c);
}

void fl__h1_expect_timer_cb(fl__timer *t) {
  fl__conn *c = fl__container_of(t, fl__conn, expect_timer);
  fl__guard *g = c->env->guard;
  fl__guard_enter(g);
  if (c->state == FL__CONN_OPEN) fl__h1_continue_body(c);
  fl__guard_leave(g);
}
