/* HTTP/1.1 exchanges on an open connection: the carrier's ops table,
 * responses read through the codec in order, an exchange's end, and the
 * decision whether the connection may carry more. Requests are written by
 * carrier_send.c.
 *
 * Syscalls on a busy keep-alive connection: one writev per request, one read
 * per response (a second only when the read filled the buffer), plus a share
 * of the loop's epoll_wait. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "engine/carrier_impl.h"

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
      if (r == FL__H1_MORE) fl__h1_continue_body(c);
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
                 c->remote_port, fl__h1_io_error_text(c, c->send_errno));
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

void fl__h1_do_read(fl__conn *c) {
  char *rbuf = c->env->rbuf;
  for (size_t budget = FL__READ_BUDGET;;) {
    fl__exchange *ex = c->h1.ex;
    if (c->state != FL__CONN_OPEN || !ex || ex->paused) return;
    if (budget < FL__READ_BUF_SIZE) { /* yield: timers and other connections run */
      if (fl__h1_tp_pending(c)) fl__defer_schedule(c->env->loop, &c->drain_defer);
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
      if ((size_t)n < FL__READ_BUF_SIZE && !fl__h1_tp_pending(c))
        return; /* drained: wait for epoll */
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
                     c->remote_port, fl__h1_io_error_text(c, e));
    else
      fl__conn_failf(c, err, 0, "failed receiving the response after %llu body bytes: %s",
                     (unsigned long long)c->h1.body_bytes, fl__h1_io_error_text(c, e));
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
    if ((events & wr) && c->wnext) fl__h1_write_some(c);
    if (c->state == FL__CONN_OPEN && c->nexchanges && (events & rd)) fl__h1_do_read(c);
    if (c->state == FL__CONN_OPEN && c->nexchanges && c->tp.ops->wants) tls_settle_out(c);
  }
  fl__guard_leave(g);
}

static void drain_defer_cb(fl__defer *d) {
  fl__conn *c = fl__container_of(d, fl__conn, drain_defer);
  fl__guard *g = c->env->guard;
  fl__guard_enter(g);
  if (c->state == FL__CONN_OPEN && c->nexchanges) {
    fl__h1_do_read(c);
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
  if (c->state == FL__CONN_OPEN && c->wnext && !(c->io.want & FL__POLLOUT)) fl__h1_write_some(c);
  fl__guard_leave(g);
}

static int h1_open(fl__conn *c) {
  fl__defer_init(&c->drain_defer, drain_defer_cb);
  fl__defer_init(&c->flush_defer, flush_defer_cb);
  c->expect_timer.cb = fl__h1_expect_timer_cb;
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
    fl__h1_write_some(c);
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
  else if (fl__h1_tp_pending(c))
    fl__defer_schedule(c->env->loop, &c->drain_defer);
  if (ex->upload_wait && c->state == FL__CONN_OPEN && c->wnext == ex && ex->carrier == c) {
    ex->upload_wait = 0;
    fl__h1_write_some(c);
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
