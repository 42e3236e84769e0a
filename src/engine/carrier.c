/* HTTP/1.1 exchanges on an open connection: requests written (write first,
 * poll only when the socket would block; pipelined heads gathered into one
 * writev), responses read through the codec in order, and the decision
 * whether the connection may carry more.
 *
 * Syscalls on a busy keep-alive connection: one writev per request, one read
 * per response (a second only when the read filled the buffer), plus a share
 * of the loop's epoll_wait. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "engine/conn.h"

#define IOV_BATCH 64


static fl__exchange *next_exchange(const fl__conn *c, const fl__exchange *ex) {
  return ex->node.next == &c->exchanges ? NULL
                                        : fl__container_of(ex->node.next, fl__exchange, node);
}

/* The event a transport call that returned EAGAIN waits for. TCP waits the
 * obvious way; TLS may have to read before it can write, or the reverse. */
static uint32_t wait_event(const fl__conn *c, int writing) {
  uint32_t ev = c->tp.ops->wants ? c->tp.ops->wants(&c->tp, writing) : 0;
  return ev ? ev : writing ? FL__POLLOUT : FL__POLLIN;
}

/* Bytes the transport holds already (TLS records read ahead): epoll will
 * not announce them, so read them before sleeping. */
static int tp_pending(const fl__conn *c) {
  return c->tp.ops->pending && c->tp.ops->pending(&c->tp);
}

/* The reason for a failed read or write: the transport's own (OpenSSL's
 * for a TLS alert or a bad record) or errno's. */
static const char *io_error_text(const fl__conn *c, int sys_errno) {
  const char *why = sys_errno == EPROTO && c->tp.ops->failure ? c->tp.ops->failure(&c->tp) : NULL;
  return why ? why : strerror(sys_errno);
}

/* ---------------------------------------------------------------- write */

static size_t fixed_len(const fl__exchange *ex) { return ex->head.len + ex->body_len; }

/* What may go out now: the head alone while the body waits for a 100. */
static size_t sendable_len(const fl__exchange *ex) {
  return ex->expect_ms ? ex->head.len : fixed_len(ex);
}

static void do_read(fl__conn *c);

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
  c->wnext = next_exchange(c, ex);
  if (ex->wants_sent) ex->ops->step(ex, FL__EX_SENT);
}

static int wait_writable(fl__conn *c) {
  if (fl__io_start(c->env->loop, &c->io, wait_event(c, 1))) {
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
  for (const fl__exchange *e = c->wnext; e && n + 2 <= IOV_BATCH; e = next_exchange(c, e)) {
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
    fl__exchange *next = next_exchange(c, e);
    if (e->woff < end) return 0;
    if (e->streams || e->expect_ms) return 1;
    sent(c, e);
    if (c->state != FL__CONN_OPEN) return 0;
    e = next;
  }
  return 1;
}

/* Write what we can; arm EPOLLOUT only when the socket would block. */
static void write_some(fl__conn *c) {
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
        do_read(c);
        return;
      }
      fl__conn_failf(c, FL_ESEND, 0, "failed sending the request: %s", io_error_text(c, e));
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
static void continue_body(fl__conn *c) {
  fl__exchange *ex = c->wnext;
  if (!ex || !ex->awaiting_continue) return;
  fl__timer_stop(&c->expect_timer);
  ex->awaiting_continue = 0;
  ex->expect_ms = 0;
  write_some(c);
}

static void expect_timer_cb(fl__timer *t) {
  fl__conn *c = fl__container_of(t, fl__conn, expect_timer);
  fl__guard *g = c->env->guard;
  fl__guard_enter(g);
  if (c->state == FL__CONN_OPEN) continue_body(c);
  fl__guard_leave(g);
}

/* ----------------------------------------------------------------- read */

/* Keep-Alive: timeout=N, max=M (RFC 2068 19.7.1.1). max is taken as the
 * connection's total request budget, the cautious reading of the two in use. */
static void apply_keep_alive_header(fl__conn *c, const char *v) {
  for (const char *s = v; s && *s;) {
    while (*s == ' ' || *s == ',' || *s == '\t') s++;
    if (fl__strncaseeq(s, "timeout=", 8) || fl__strncaseeq(s, "max=", 4)) {
      int is_timeout = (s[0] | 0x20) == 't';
      const char *num = strchr(s, '=') + 1;
      char *end;
      long val = strtol(num, &end, 10);
      if (end != num && val >= 0) {
        if (is_timeout) {
          /* Leave a margin so we never send into a connection the server is
           * just closing. */
          uint64_t ms = (uint64_t)val * 1000;
          ms = ms > 1000 ? ms - 500 : ms / 2;
          if (ms < c->idle_ms) c->idle_ms = (uint32_t)ms;
        } else {
          c->max_requests = val > (long)UINT32_MAX ? UINT32_MAX : (uint32_t)val;
          if (val == 0) c->max_requests = 1; /* no further request */
        }
      }
    }
    s = strchr(s, ',');
  }
}

/* The response of the first exchange is complete; extra bytes follow it.
 * 1 if the next pipelined exchange took over and parsing goes on. */
static int exchange_done(fl__conn *c, size_t extra) {
  /* its response was just read: the list holds it */
  fl__exchange *ex = fl__container_of(c->exchanges.next, fl__exchange, node);
  fl__queue_remove(&ex->node);
  ex->carrier = NULL;
  ex->wire_bytes = c->h1.wire_bytes;
  c->nexchanges--;
  c->h1.ex = NULL;
  c->requests_done++;
  /* A request not all sent (an early answer to an upload, a final status
   * instead of 100) leaves the server expecting the rest: not reusable. */
  int unsent = c->wnext == ex || c->send_errno;
  if (c->wnext == ex) {
    c->wnext = NULL;
    ex->awaiting_continue = 0;
    fl__timer_stop(&c->expect_timer);
  }
  if (c->nexchanges > 0) {                      /* pipelined: the next response follows */
    if (!fl__h1_keep_alive(&c->h1) || unsent) { /* the rest go out again elsewhere */
      fl__conn_close(c, 0, NULL);
      ex->ops->done(ex);
      return 0;
    }
    fl__exchange *next =
        fl__container_of(c->exchanges.next, fl__exchange, node); /* nexchanges > 0 */
    fl__h1_begin(&c->h1, next);
    if (next->paused) fl__io_stop(c->env->loop, &c->io, FL__POLLIN);
    if (extra) {
      next->response_started = 1;
      next->ops->step(next, FL__EX_FIRST_BYTE);
    }
    ex->ops->done(ex);                                /* its callback runs later, from the loop */
    if (c->state == FL__CONN_OPEN) c->owner->room(c); /* a waiting request may take the place */
    return c->state == FL__CONN_OPEN && c->h1.ex == next;
  }
  int keep = fl__h1_keep_alive(&c->h1) && extra == 0 && !unsent;
  if (ex->res->seen & FL__H_KEEP_ALIVE)
    apply_keep_alive_header(c, fl__headers_get(&ex->res->headers, "Keep-Alive"));
  if (c->max_requests && c->requests_done >= c->max_requests) keep = 0;
  /* An HTTP/1.0 request did not ask for keep-alive: kept only if the
   * server said it keeps it anyway. */
  if (ex->rh.minor == 0 && !(ex->res->seen & FL__H_KEEP_ALIVE)) keep = 0;
  if (c->idle_ms == 0) keep = 0;
  c->wnext = NULL;
  c->pipelining = 0;
  c->owner->idle(c, keep); /* released before the next hop may want it */
  ex->ops->done(ex);
  return 0;
}

static void parse_failed(fl__conn *c, int r) {
  if (c->state != FL__CONN_OPEN) return; /* an op closed it */
  fl__exchange *ex = c->h1.ex;
  if (!ex) {
    fl__conn_close(c, 0, NULL);
    return;
  }
  if (r == FL__EX_ABANDON_BODY) { /* a long redirect body: drop the connection, go on */
    fl__queue_remove(&ex->node);
    ex->carrier = NULL;
    c->nexchanges--;
    c->h1.ex = NULL;
    fl__conn_close(c, 0, NULL);
    ex->ops->done(ex);
    return;
  }
  fl__conn_fail(c, r, 0, c->h1.owner_err ? NULL : c->h1.errmsg);
}

/* Feed bytes to the codec. 1 if more reads belong to this exchange. */
static int feed(fl__conn *c, const char *data, size_t len) {
  for (;;) { /* once per response in these bytes (pipelining) */
    size_t used = 0;
    int r = fl__h1_feed(&c->h1, data, len, &used);
    if (c->h1.continue_seen) {
      c->h1.continue_seen = 0;
      if (r == FL__H1_MORE) continue_body(c);
    }
    if (r == FL__H1_MORE) return c->state == FL__CONN_OPEN;
    if (r != FL__H1_DONE) {
      parse_failed(c, r);
      return 0;
    }
    fl__exchange *up = c->h1.ex;
    if (up->upgrade_tp && up->res->status == 101) { /* the connection is the owner's now */
      fl__conn_upgrade(c, up, data + used, len - used);
      return 0;
    }
    if (!exchange_done(c, len - used)) return 0;
    data += used;
    len -= used;
    if (len == 0) return 1;
  }
}

/* The server went away before answering, after refusing the request's
 * bytes: that refusal is the error to report. */
static void send_failed(fl__conn *c) {
  fl__conn_failf(c, FL_ESEND, 1, "failed sending the request to %s port %u: %s", c->remote_ip,
                 c->remote_port, io_error_text(c, c->send_errno));
}

static void on_eof(fl__conn *c, fl__exchange *ex) {
  if (!ex->response_started) {
    if (c->send_errno)
      send_failed(c);
    else
      fl__conn_failf(c, FL_EEMPTY_REPLY, 1, "empty reply from server %s port %u", c->remote_ip,
                     c->remote_port);
    return;
  }
  int r = fl__h1_eof(&c->h1);
  if (r == FL__H1_DONE)
    exchange_done(c, 0);
  else
    parse_failed(c, r);
}

static void do_read(fl__conn *c) {
  char *rbuf = c->env->rbuf;
  for (size_t budget = FL__READ_BUDGET;;) {
    fl__exchange *ex = c->h1.ex;
    if (c->state != FL__CONN_OPEN || !ex || ex->paused) return;
    if (budget < FL__READ_BUF_SIZE) { /* yield: timers and other connections run */
      if (tp_pending(c)) fl__defer_schedule(c->env->loop, &c->drain_defer);
      return; /* level-triggered: epoll says again what the socket holds */
    }
    ssize_t n = c->tp.ops->read(&c->tp, rbuf, FL__READ_BUF_SIZE);
    if (n > 0) {
      if (!ex->response_started) {
        ex->response_started = 1;
        if (c->requests_done == 0) c->owner->answered(c); /* the server took it */
        ex->ops->step(ex, FL__EX_FIRST_BYTE);
      } else {
        ex->ops->step(ex, FL__EX_ACTIVITY);
      }
      budget -= (size_t)n;
      if (!feed(c, rbuf, (size_t)n)) return;
      if (c->wnext == ex && ex->res->status >= 200) { /* answered mid-upload: RFC 9112 9.5 */
        c->wnext = NULL;                              /* no more of the body, and the */
        c->send_errno = ECANCELED;                    /* connection is not reused */
        ex->awaiting_continue = 0;
        fl__timer_stop(&c->expect_timer);
        if (c->io.want & FL__POLLOUT) fl__io_stop(c->env->loop, &c->io, FL__POLLOUT);
      }
      if ((size_t)n < FL__READ_BUF_SIZE && !tp_pending(c)) return; /* drained: wait for epoll */
      continue;
    }
    if (n == 0) {
      on_eof(c, ex);
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    int e = errno, err = e == ECONNRESET ? FL_ECONN_RESET : FL_ERECV;
    if (!ex->response_started && c->send_errno)
      send_failed(c);
    else if (!ex->response_started)
      fl__conn_failf(c, err, 1, "failed receiving from %s port %u: %s", c->remote_ip,
                     c->remote_port, io_error_text(c, e));
    else
      fl__conn_failf(c, err, 0, "failed receiving the response after %llu body bytes: %s",
                     (unsigned long long)c->h1.body_bytes, io_error_text(c, e));
    return;
  }
}

/* ------------------------------------------------------------ lifecycle */

/* TLS: EPOLLOUT stays armed exactly while a blocked read or write waits for
 * it (a read that must write first would otherwise never be woken, and a
 * write interest left behind would spin the loop). */
static void tls_settle_out(fl__conn *c) {
  int need =
      c->tp.ops->wants(&c->tp, 0) == FL__POLLOUT || c->tp.ops->wants(&c->tp, 1) == FL__POLLOUT;
  int have = (c->io.want & FL__POLLOUT) != 0;
  if (need && !have && fl__io_start(c->env->loop, &c->io, FL__POLLOUT))
    fl__conn_fail(c, FL_ENOMEM, 0, "out of memory");
  else if (!need && have)
    fl__io_stop(c->env->loop, &c->io, FL__POLLOUT);
}

static void io_cb(fl_loop *loop, fl__io *io, uint32_t events) {
  FL__UNUSED(loop);
  fl__conn *c = fl__container_of(io, fl__conn, io);
  fl__guard *g = c->env->guard;
  fl__guard_enter(g);
  if (c->nexchanges == 0) {
    /* An idle connection has nothing to say: readable means the server
     * closed it (or sent garbage). Either way it cannot be reused. */
    fl__conn_close(c, 0, NULL);
  } else {
    uint32_t wr = FL__POLLOUT | EPOLLERR, rd = FL__POLLIN | EPOLLHUP | EPOLLERR;
    if (c->tp.ops->wants) { /* TLS: a write may wait to read, a read to write */
      if (c->tp.ops->wants(&c->tp, 1) == FL__POLLIN) wr |= FL__POLLIN;
      if (c->tp.ops->wants(&c->tp, 0) == FL__POLLOUT) rd |= FL__POLLOUT;
    }
    if ((events & wr) && c->wnext) write_some(c);
    if (c->state == FL__CONN_OPEN && c->nexchanges && (events & rd)) do_read(c);
    if (c->state == FL__CONN_OPEN && c->nexchanges && c->tp.ops->wants) tls_settle_out(c);
  }
  fl__guard_leave(g);
}

static void drain_defer_cb(fl__defer *d) {
  fl__conn *c = fl__container_of(d, fl__conn, drain_defer);
  fl__guard *g = c->env->guard;
  fl__guard_enter(g);
  if (c->state == FL__CONN_OPEN && c->nexchanges) {
    do_read(c);
    if (c->state == FL__CONN_OPEN && c->nexchanges && c->tp.ops->wants) tls_settle_out(c);
  }
  fl__guard_leave(g);
}

/* Pipelined heads added in one loop pass (typically one per response just
 * completed) leave in one write: the server then reads them in one go too. */
static void flush_defer_cb(fl__defer *d) {
  fl__conn *c = fl__container_of(d, fl__conn, flush_defer);
  fl__guard *g = c->env->guard;
  fl__guard_enter(g);
  if (c->state == FL__CONN_OPEN && c->wnext && !(c->io.want & FL__POLLOUT)) write_some(c);
  fl__guard_leave(g);
}

static int h1_open(fl__conn *c) {
  fl__defer_init(&c->drain_defer, drain_defer_cb);
  fl__defer_init(&c->flush_defer, flush_defer_cb);
  c->expect_timer.cb = expect_timer_cb;
  c->io.cb = io_cb; /* TLS: the handshake's registered watcher is taken over */
  return fl__io_start(c->env->loop, &c->io, FL__POLLIN);
}

static void h1_start(fl__conn *c, fl__exchange *ex) {
  int first = c->exchanges.next == &ex->node; /* carried: the list is not empty */
  if (c->nexchanges == 1) c->pipelining = ex->pipelinable && c->env->pipeline_depth > 1;
  ex->woff = 0;
  ex->upload_sent = 0;
  ex->upload_done = 0;
  ex->response_started = 0;
  ex->awaiting_continue = 0;
  ex->content_length = -1;
  if (first) fl__h1_begin(&c->h1, ex);
  int err = ex->ops->start(ex);
  if (c->state != FL__CONN_OPEN || ex->carrier != c) return; /* a hook cancelled it */
  /* A resend's head as it was, no trace: one test */
  if (FL__UNLIKELY(err || ex->rh.gen != ex->head_gen || ex->wants_head_out)) {
    if (!err && ex->rh.gen != ex->head_gen) { /* the head is new: its HTTP/1.1 text */
      if (fl__h1_put_head(&ex->head, &ex->rh)) {
        err = FL_ENOMEM;
        ex->head_gen = 0;
      } else {
        ex->head_gen = ex->rh.gen;
      }
    }
    if (!err && ex->wants_head_out) {
      ex->ops->step(ex, FL__EX_HEAD_OUT);
      if (c->state != FL__CONN_OPEN || ex->carrier != c) return; /* the trace hook cancelled it */
    }
  }
  if (err) { /* nothing of it was written: the connection is still good */
    fl__queue_remove(&ex->node);
    ex->carrier = NULL;
    if (c->h1.ex == ex) c->h1.ex = NULL;
    if (--c->nexchanges == 0) c->owner->idle(c, 1);
    fl__ex_failure f = {.err = err};
    ex->ops->failed(ex, &f);
    return;
  }
  if (!c->wnext) c->wnext = ex;
  if (ex->streams) c->wbuf_off = c->wbuf.len = 0;
  if (first && ex->paused) fl__io_stop(c->env->loop, &c->io, FL__POLLIN);
  /* With pipelining on, requests that others may follow within this loop
   * pass (completions resend in bursts) leave with them, in one write. */
  if (c->pipelining) {
    if (!(c->io.want & FL__POLLOUT)) fl__defer_schedule(c->env->loop, &c->flush_defer);
  } else {
    write_some(c);
  }
}

/* Cut off mid-exchange: the connection cannot be reused; the rest are
 * orphaned. */
static void h1_drop(fl__conn *c, fl__exchange *ex) {
  fl__queue_remove(&ex->node);
  ex->carrier = NULL;
  c->nexchanges--;
  if (c->h1.ex == ex) c->h1.ex = NULL;
  if (c->wnext == ex) c->wnext = NULL;
  fl__conn_close(c, 0, NULL);
}

/* Only the first exchange's response is read: its pause is the socket's.
 * An upload waiting for its owner (a send speed cap) goes on too. */
static void h1_pause(fl__conn *c, fl__exchange *ex) {
  if (c->state != FL__CONN_OPEN || ex != c->h1.ex) return;
  if (ex->paused)
    fl__io_stop(c->env->loop, &c->io, FL__POLLIN);
  else if (fl__io_start(c->env->loop, &c->io, FL__POLLIN))
    fl__conn_fail(c, FL_ENOMEM, 0, "out of memory");
  else if (tp_pending(c))
    fl__defer_schedule(c->env->loop, &c->drain_defer);
  if (ex->upload_wait && c->state == FL__CONN_OPEN && c->wnext == ex && ex->carrier == c) {
    ex->upload_wait = 0;
    write_some(c);
  }
}

static uint32_t h1_room(const fl__conn *c, int pipelinable) { return fl__h1_room(c, pipelinable); }

static int h1_carries(const fl__conn *c, const fl__exchange *ex) { return c->h1.ex == ex; }

/* Every exchange behind the first never got its response read. */
static void h1_close(fl__conn *c) {
  fl__timer_stop(&c->expect_timer);
  fl__defer_cancel(&c->flush_defer);
  fl__defer_cancel(&c->drain_defer);
  c->h1.ex = NULL;
  c->wnext = NULL;
  fl__queue *q;
  fl__queue_foreach(q, &c->exchanges) {
    if (q != c->exchanges.next) fl__container_of(q, fl__exchange, node)->unprocessed = 1;
  }
}

static int h1_watch_idle(fl__conn *c) { return fl__h1_watch_idle(c); }

static void h1_dispose(fl__conn *c) { FL__UNUSED(c); }

const fl__carrier_ops fl__h1_carrier = {.version = 11,
                                        .open = h1_open,
                                        .start = h1_start,
                                        .drop = h1_drop,
                                        .pause = h1_pause,
                                        .room = h1_room,
                                        .carries = h1_carries,
                                        .close = h1_close,
                                        .watch_idle = h1_watch_idle,
                                        .dispose = h1_dispose};
