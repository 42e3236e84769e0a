/* The step between socket() and connect(): see sockopt.h. Each failure
 * names what it tried; curl reports these as "Failed binding local
 * connection end" (exit 45), so do we (FL_EINTERFACE). */
#include "net/sockopt.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

static int keepalive(const fl__sock_opts *o, int fd, char *msg, size_t cap) {
  int one = 1;
  int idle = (int)o->keepalive_idle_s;
  int intvl = (int)(o->keepalive_interval_s ? o->keepalive_interval_s : o->keepalive_idle_s);
  int cnt = (int)o->keepalive_count;
  if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl) != 0 ||
      (cnt && setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt) != 0)) {
    fl__msg(msg, cap, "could not set TCP keep-alive: %s", strerror(errno));
    return FL_ECONNECT;
  }
  return 0;
}

/* The first address of family on interface name, into *out (port 0).
 * 1 found, 0 the interface has none of that family, -1 no such interface. */
static int interface_addr(const char *name, int family, fl__sockaddr *out) {
  struct ifaddrs *all, *i;
  int found = if_nametoindex(name) ? 0 : -1;
  if (found < 0 || getifaddrs(&all) != 0) return found;
  for (i = all; i; i = i->ifa_next) {
    if (!i->ifa_addr || strcmp(i->ifa_name, name) != 0 || i->ifa_addr->sa_family != family)
      continue;
    memset(out, 0, sizeof *out);
    memcpy(out, i->ifa_addr, family == AF_INET ? sizeof out->in4 : sizeof out->in6);
    found = 1;
    break;
  }
  freeifaddrs(all);
  return found;
}

static void set_port(fl__sockaddr *a, uint16_t port) {
  if (a->sa.sa_family == AF_INET)
    a->in4.sin_port = htons(port);
  else
    a->in6.sin6_port = htons(port);
}

/* Bind fd to a (any port, or one of the range). */
static int bind_to(const fl__sock_opts *o, int fd, fl__sockaddr a, char *msg, size_t cap) {
  char ip[64];
  fl__sockaddr_str(&a, ip, sizeof ip);
  if (!o->local_port) {
    set_port(&a, 0);
    if (bind(fd, &a.sa, fl__sockaddr_len(&a)) == 0) return 0;
    fl__msg(msg, cap, "could not bind to %s: %s", ip, strerror(errno));
    return FL_EINTERFACE;
  }
  uint32_t n = o->local_port_range > 1 ? o->local_port_range : 1;
  int e = 0;
  for (uint32_t i = 0; i < n && o->local_port + i <= 65535; i++) {
    set_port(&a, (uint16_t)(o->local_port + i));
    if (bind(fd, &a.sa, fl__sockaddr_len(&a)) == 0) return 0;
    e = errno;
    if (e != EADDRINUSE && e != EACCES) break;
  }
  if (n > 1)
    fl__msg(msg, cap, "bind to %s with a local port in %u-%u failed: %s", ip,
            (unsigned)o->local_port, (unsigned)(o->local_port + n - 1), strerror(e));
  else
    fl__msg(msg, cap, "bind to %s port %u failed: %s", ip, (unsigned)o->local_port, strerror(e));
  return FL_EINTERFACE;
}

static void any_addr(fl__sockaddr *a, int family) {
  memset(a, 0, sizeof *a);
  a->sa.sa_family = (sa_family_t)family;
  if (family == AF_INET6) a->in6.sin6_addr = in6addr_any;
}

static int bind_local(const fl__sock_opts *o, int fd, int family, char *msg, size_t cap) {
  fl__sockaddr a;
  int have = 0;
  if (o->interface) {
    size_t n = strlen(o->interface);
    if (n == 0 || n >= IF_NAMESIZE || !if_nametoindex(o->interface)) {
      fl__msg(msg, cap, "could not bind to interface \"%s\": no such interface", o->interface);
      return FL_EINTERFACE;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o->interface, (socklen_t)n) != 0) {
      if (errno != EPERM && errno != EACCES) {
        fl__msg(msg, cap, "could not bind to interface \"%s\": %s", o->interface, strerror(errno));
        return FL_EINTERFACE;
      }
      /* Not permitted (no CAP_NET_RAW): bind to its address instead. */
      int r = interface_addr(o->interface, family, &a);
      if (r <= 0) {
        fl__msg(msg, cap, "could not bind to interface \"%s\": %s", o->interface,
                r < 0 ? "no such interface" : "it has no address of the remote's family");
        return FL_EINTERFACE;
      }
      have = 1;
    }
  }
  if (o->has_local_addr) {
    if (o->local_addr.sa.sa_family != family) {
      char ip[64];
      fl__sockaddr_str(&o->local_addr, ip, sizeof ip);
      fl__msg(msg, cap, "could not bind to %s: not of the remote address's family", ip);
      return FL_EINTERFACE;
    }
    a = o->local_addr;
    have = 1;
  }
  if (!have && o->local_port) any_addr(&a, family), have = 1;
  return have ? bind_to(o, fd, a, msg, cap) : 0;
}

int fl__sock_prepare(const fl__sock_opts *o, int fd, int family, const fl__sockaddr *remote,
                     char *msg, size_t cap) {
  int err = 0;
  if (family != AF_UNIX) {
    if (o->keepalive_idle_s && (err = keepalive(o, fd, msg, cap)) != 0) return err;
    if ((err = bind_local(o, fd, family, msg, cap)) != 0) return err;
  }
  if (o->callback && o->callback(o->callback_data, fd, remote) != 0) {
    fl__msg(msg, cap, "the socket-option callback refused the socket");
    return FL_ECONNECT;
  }
  return 0;
}
