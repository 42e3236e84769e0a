/* A transport: a connected socket and the ops that move bytes over it, plain
 * TCP or TLS, one shape (wrk's sock, curl's connection filters). Above the
 * transport nothing knows which it is.
 *
 * read/writev return >0 bytes, 0 for EOF (read only), or -1 with errno set
 * (EAGAIN when it would block). wants and pending are NULL for TCP.
 * - wants: the event (FL__POLLIN or FL__POLLOUT) the last read (writing == 0)
 *   or write that returned EAGAIN waits for; 0 if that call went on (TLS may
 *   read to write, or write to read).
 * - pending: 1 if bytes are buffered in the transport, readable without
 *   waiting for the socket (epoll will not announce them).
 * - failure: why the last read or write failed with EPROTO (a TLS alert, a
 *   bad record...), or NULL; valid until close.
 * - close: frees the transport's state and closes the fd.
 *
 * Ownership: whoever connected the socket owns the transport (a connection
 * embeds one); fl__transport_close is called exactly once, by that owner. */
#ifndef FL_TRANSPORT_H
#define FL_TRANSPORT_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef struct fl__transport fl__transport;

typedef struct fl__transport_ops {
  ssize_t (*read)(fl__transport *t, char *buf, size_t len);
  ssize_t (*writev)(fl__transport *t, const struct iovec *iov, int iovcnt);
  void (*close)(fl__transport *t);
  uint32_t (*wants)(const fl__transport *t, int writing);
  int (*pending)(const fl__transport *t);
  const char *(*failure)(const fl__transport *t);
} fl__transport_ops;

struct fl__transport {
  int fd;                       /* -1 when there is none */
  const fl__transport_ops *ops; /* NULL until the socket is connected */
  struct fl__tls *tls;          /* TLS state (net/tls.c), or NULL */
};

/* Plain TCP over a connected socket (net/tcp.c). */
extern const fl__transport_ops fl__tcp_transport_ops;

static inline void fl__transport_init(fl__transport *t) {
  t->fd = -1;
  t->ops = 0;
  t->tls = 0;
}

/* Closes the fd (through the ops when there are any) and resets t. */
void fl__transport_close(fl__transport *t);

#endif
