/* What happens to a new socket between socket() and connect() (sockopt.c):
 * TCP keep-alive, binding to a network interface, a local address and a
 * local port range, and the user's socket-option callback. The connector
 * (tcp.c) runs it on every attempt's socket when given options. */
#ifndef FL_SOCKOPT_H
#define FL_SOCKOPT_H

#include <stdint.h>

#include "base/common.h"

typedef struct fl__sock_opts {
  /* TCP keep-alive probes (SO_KEEPALIVE, TCP_KEEPIDLE/INTVL/CNT); 0 = off. */
  uint32_t keepalive_idle_s;
  uint32_t keepalive_interval_s; /* 0 = the same as idle */
  uint32_t keepalive_count;      /* 0 = the system's */
  /* SO_BINDTODEVICE to this interface; without the privilege (EPERM) the
   * socket is bound to the interface's address of the socket's family
   * instead (as curl does). An interface that does not exist, or has no
   * address of that family, is FL_EINTERFACE. NULL = none. */
  const char *interface;
  /* Bind to this address (port 0 unless a port range is set); its family
   * must be the remote's, else the attempt fails (FL_EINTERFACE).
   * has_local_addr 0 = none. */
  fl__sockaddr local_addr;
  int has_local_addr;
  /* Local ports local_port .. local_port + local_port_range - 1 are tried in
   * turn (curl's --local-port N[-M]); all taken is FL_EINTERFACE. 0 = any. */
  uint16_t local_port;
  uint32_t local_port_range; /* 0 or 1: just local_port */
  /* Handed each new socket before connect (remote: the address about to be
   * connected, NULL for a Unix socket); nonzero fails that attempt with
   * FL_ECONNECT. NULL = none. */
  int (*callback)(void *data, int fd, const fl__sockaddr *remote);
  void *callback_data;
} fl__sock_opts;

/* Prepare fd (family AF_INET, AF_INET6 or AF_UNIX) to connect to remote
 * (NULL for AF_UNIX). 0, or an fl_err (FL_EINTERFACE, FL_ECONNECT,
 * FL_ENOMEM) with the reason in msg. */
int fl__sock_prepare(const fl__sock_opts *o, int fd, int family, const fl__sockaddr *remote,
                     char *msg, size_t cap);

#endif
