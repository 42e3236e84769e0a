/* Nonblocking TCP connect with Happy Eyeballs (RFC 8305).
 *
 * Attempts start in the given address order; the next starts after
 * attempt_delay_ms or at once when an attempt fails; the first to connect
 * wins and every other attempt is closed. SO_ERROR is checked on writability.
 * The winner gets TCP_NODELAY. Sockets are SOCK_NONBLOCK|SOCK_CLOEXEC.
 * With socket options (sopts), each attempt's socket is prepared between
 * socket() and connect() (net/sockopt.h); a bind that fails (FL_EINTERFACE)
 * ends the whole connect, since every other address would fail alike.
 * Unix domain sockets (fl__connect_start_unix) take the same path with one
 * "address"; they get no TCP_NODELAY, keep-alive nor bind.
 * The overall timeout belongs to the caller (connect timeout spans DNS too).
 */
#ifndef FL_TCP_H
#define FL_TCP_H

#include <sys/un.h>

#include "base/common.h"
#include "loop/loop.h"
#include "net/sockopt.h"

#define FL__CONNECT_MAX_ATTEMPTS 16
#define FL__CONNECT_INLINE_ATTEMPTS 2

typedef struct fl__connector fl__connector;
typedef void (*fl__connect_cb)(fl__connector *c);

struct fl__connector {
  /* result, valid in the callback */
  int err; /* 0, FL_ECONN_REFUSED, FL_EHOST_UNREACH, FL_ECONNECT, FL_EINTERFACE, FL_ENOMEM */
  int fd;  /* connected socket (caller owns it), -1 on error */
  fl__sockaddr remote; /* address that won */
  char errmsg[160];
  /* private */
  const fl__sock_opts *sopts; /* or NULL */
  fl_loop *loop;
  int hard_err;       /* a failure that ends the connect (a bind) */
  socklen_t unix_len; /* > 0: connecting to unix_target->addr */
  /* A Unix connect's target, allocated by fl__connect_start_unix and freed
   * when the connect ends (TCP connects, nearly all, carry a pointer only). */
  struct fl__connect_unix {
    struct sockaddr_un addr;
    fl__sockaddr stub; /* the one "address" of a Unix connect */
  } * unix_target;
  fl__connect_cb cb;
  void *data;
  const fl__sockaddr *addrs;
  size_t naddrs, next;
  uint32_t delay_ms;
  fl__timer delay_timer;
  fl__defer fail_defer; /* reports outcomes found inside fl__connect_start (both kinds) */
  int nattempts;
  /* Attempts at once: the first FL__CONNECT_INLINE_ATTEMPTS here (one per
   * family is the common case), the rest up to FL__CONNECT_MAX_ATTEMPTS in
   * `more`, allocated when a third runs at once and freed when the connect
   * ends (10,000 connects in flight cost 10,000 small connectors). */
  struct fl__connect_attempt {
    fl__io io;
    int active;
    size_t addr_index;
    fl__connector *owner; /* back-pointer for the io callback */
  } first[FL__CONNECT_INLINE_ATTEMPTS], *more;
  int last_errno;
  int running; /* started, not yet reported or cancelled */
};

/* addrs must stay valid until the callback or cancel. Returns 0: cb fires
 * later, exactly once (also for immediate failures), unless cancelled.
 * naddrs == 0 is FL_EINVAL returned at once. c must not be running (never
 * started, finished or cancelled); it may be restarted from its callback.
 * The delay counts from the cached loop time. */
int fl__connect_start(fl_loop *loop, fl__connector *c, const fl__sockaddr *addrs, size_t naddrs,
                      uint32_t attempt_delay_ms, fl__connect_cb cb, void *data);
/* The same with socket options (NULL: none), borrowed until the callback
 * or cancel. */
int fl__connect_start_opts(fl_loop *loop, fl__connector *c, const fl__sockaddr *addrs,
                           size_t naddrs, uint32_t attempt_delay_ms, const fl__sock_opts *sopts,
                           fl__connect_cb cb, void *data);
/* Connect to the Unix domain socket at path (abstract: in the abstract
 * namespace, no file). Same callback contract; errors: FL_ECONNECT (no such
 * file, not a socket, nobody listening: "connect to PATH failed: ..."),
 * FL_ENOMEM. FL_EINVAL at once when the path does not fit (108 bytes). */
int fl__connect_start_unix(fl_loop *loop, fl__connector *c, const char *path, int abstract,
                           const fl__sock_opts *sopts, fl__connect_cb cb, void *data);
/* Close every attempt; no callback. Harmless when idle (zero-initialised, or
 * after fl__connect_start returned an error) or finished; the fd handed to a
 * callback is the caller's and is never closed here. */
void fl__connect_cancel(fl__connector *c);

#endif
