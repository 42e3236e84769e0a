/* What the HTTP/1.1 carrier's two files share: carrier.c (the ops table,
 * reading responses, an exchange's end) and carrier_send.c (writing
 * requests). Engine-internal; nothing outside engine/carrier*.c includes it. */
#ifndef FL_CARRIER_IMPL_H
#define FL_CARRIER_IMPL_H

#include <errno.h>
#include <string.h>

#include "engine/conn.h"

static inline fl__exchange *fl__h1_next_exchange(const fl__conn *c, const fl__exchange *ex) {
  return ex->node.next == &c->exchanges ? NULL
                                        : fl__container_of(ex->node.next, fl__exchange, node);
}

/* The event a transport call that returned EAGAIN waits for. TCP waits the
 * obvious way; TLS may have to read before it can write, or the reverse. */
static inline uint32_t fl__h1_wait_event(const fl__conn *c, int writing) {
  uint32_t ev = c->tp.ops->wants ? c->tp.ops->wants(&c->tp, writing) : 0;
  return ev ? ev : writing ? FL__POLLOUT : FL__POLLIN;
}

/* Bytes the transport holds already (TLS records read ahead): epoll will
 * not announce them, so read them before sleeping. */
static inline int fl__h1_tp_pending(const fl__conn *c) {
  return c->tp.ops->pending && c->tp.ops->pending(&c->tp);
}

/* The reason for a failed read or write: the transport's own (OpenSSL's
 * for a TLS alert or a bad record) or errno's. */
static inline const char *fl__h1_io_error_text(const fl__conn *c, int sys_errno) {
  const char *why = sys_errno == EPROTO && c->tp.ops->failure ? c->tp.ops->failure(&c->tp) : NULL;
  return why ? why : strerror(sys_errno);
}

/* carrier_send.c: write what can go now; arm EPOLLOUT only when the socket
 * would block. */
void fl__h1_write_some(fl__conn *c);
/* A 100 came, or the wait for one ran out: the held body goes now. */
void fl__h1_continue_body(fl__conn *c);
/* The Expect timer's callback (c->expect_timer). */
void fl__h1_expect_timer_cb(fl__timer *t);
/* carrier.c: read and parse what the connection has (also after a failed
 * send: the server may have answered before it stopped reading). */
void fl__h1_do_read(fl__conn *c);

#endif
