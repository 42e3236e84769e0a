/* The client's connection lifecycle options (flurry.h: max_lifetime_ms,
 * TCP keep-alive, interface, local address and ports, the socket-option
 * callback, Unix sockets, connect-to): checked and copied at fl_client_new,
 * handed to the engine through its env (sockopts, max_lifetime_ms) and to
 * routes (unix_socket, connect_to). */
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "client/route.h"
#include "net/dns_addr.h"

/* The user's callback takes (fd, data); the connector's adds the remote. */
static int call_user(void *data, int fd, const fl__sockaddr *remote) {
  const fl_client *c = data;
  FL__UNUSED(remote);
  return c->opts.sockopt_cb(fd, c->opts.sockopt_data);
}

static char *dup_opt(const char *s, int *oom) {
  if (!s) return NULL;
  char *p = strdup(s);
  if (!p) *oom = 1;
  return p;
}

int fl__client_lifecycle_init(fl_client *c, const fl_client_options *o, char *msg, size_t cap) {
  fl__sock_opts *so = &c->sockopts;
  int oom = 0, any = 0;
  memset(so, 0, sizeof *so);
  so->keepalive_idle_s = o->tcp_keepalive_idle_s;
  so->keepalive_interval_s = o->tcp_keepalive_interval_s;
  so->keepalive_count = o->tcp_keepalive_count;
  any |= so->keepalive_idle_s != 0;
  c->interface = dup_opt(o->interface, &oom);
  so->interface = c->interface;
  any |= c->interface != NULL;
  if (o->local_address) {
    if (!fl__dns_parse_ip(o->local_address, &so->local_addr)) {
      fl__msg(msg, cap, "local_address \"%s\": not an IP address", o->local_address);
      return FL_EBAD_ARGUMENT;
    }
    so->has_local_addr = any = 1;
  }
  so->local_port = o->local_port;
  so->local_port_range = o->local_port_range;
  any |= o->local_port != 0;
  if (o->sockopt_cb) {
    so->callback = call_user;
    so->callback_data = c;
    any = 1;
  }
  c->unix_socket = dup_opt(o->unix_socket, &oom);
  if (o->unix_socket && strlen(o->unix_socket) > 107) {
    fl__msg(msg, cap, "unix_socket: path longer than 107 bytes");
    return FL_EBAD_ARGUMENT;
  }
  size_t n = 0;
  while (o->connect_to && o->connect_to[n]) n++;
  if (n) {
    c->connect_to = calloc(n, sizeof *c->connect_to);
    if (!c->connect_to) oom = 1;
    for (size_t i = 0; c->connect_to && i < n; i++) {
      int err = fl__connect_rule_parse(o->connect_to[i], &c->connect_to[i], msg, cap);
      if (err) return err;
      c->nconnect_to++;
    }
  }
  if (oom) {
    fl__msg(msg, cap, "out of memory");
    return FL_ENOMEM;
  }
  c->pool.env.sockopts = any ? so : NULL;
  c->pool.env.max_lifetime_ms = o->max_lifetime_ms;
  /* The copies are kept; the caller's strings are not. */
  c->opts.interface = c->interface;
  c->opts.unix_socket = c->unix_socket;
  c->opts.local_address = NULL;
  c->opts.connect_to = NULL;
  return 0;
}

void fl__client_lifecycle_free(fl_client *c) {
  for (size_t i = 0; i < c->nconnect_to; i++) fl__connect_rule_free(&c->connect_to[i]);
  free(c->connect_to);
  free(c->interface);
  free(c->unix_socket);
  c->connect_to = NULL;
  c->nconnect_to = 0;
  c->interface = c->unix_socket = NULL;
}
