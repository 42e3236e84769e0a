/* The connection lifecycle options of issue 22 (--unix-socket,
 * --abstract-unix-socket, --interface, --local-port, --keepalive-time,
 * --connect-to): their arguments read as curl 7.88 reads them, turned into
 * the library's client options. Their table entries are options_more.c's. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int bad_use(const char *opt, const char *what) {
  cli_msg("option %s: %s", opt, what);
  cli_msg("try 'flurry --help' for more information");
  return CLI_EXIT_USAGE;
}

static void set_str(char **dst, const char *s) {
  free(*dst);
  *dst = s ? cli_strdup(s) : NULL;
}

static int is_ip(const char *s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* A run of decimal digits of at most 6 (curl catches overflow so), or -1. */
static long digits(const char *s, const char **end) {
  long v = 0;
  const char *p = s;
  while (isdigit((unsigned char)*p) && p - s < 7) v = v * 10 + (*p++ - '0');
  *end = p;
  return p == s || p - s > 6 ? -1 : v;
}

/* --local-port N[-M]: as curl, anything after N that is not "-M" (spaces
 * allowed around '-') is ignored; a bad M or M < N is a bad use. */
static int local_port(cli_more *m, const char *name, const char *arg) {
  const char *p;
  long lo = digits(arg, &p);
  if (lo < 0 || lo > 65535) return bad_use(name, "is badly used here");
  long n = 1;
  while (*p == ' ') p++;
  if (*p == '-') {
    p++;
    while (*p == ' ') p++;
    const char *e;
    long hi = digits(p, &e);
    if (hi < 0 || hi > 65535 || *e || hi < lo) return bad_use(name, "is badly used here");
    n = hi - lo + 1;
  }
  m->local_port = lo;
  m->local_port_range = n;
  return -1;
}

/* --interface: "if!NAME" an interface, "host!ADDR" an address, else an IP
 * literal is an address and anything else an interface name. curl would
 * resolve a host name there; flurry asks no resolver: a "host!" that is not
 * a literal is exit 45, as curl's when the name does not resolve. */
static void interface(cli_more *m, const char *arg) {
  set_str(&m->interface, NULL);
  set_str(&m->local_address, NULL);
  m->interface_bad = 0;
  if (strncmp(arg, "if!", 3) == 0) {
    set_str(&m->interface, arg + 3);
  } else if (strncmp(arg, "host!", 5) == 0) {
    set_str(&m->local_address, arg + 5);
    m->interface_bad = !is_ip(arg + 5);
  } else if (is_ip(arg)) {
    set_str(&m->local_address, arg);
  } else {
    set_str(&m->interface, arg);
  }
}

/* One field up to ':' (an IPv6 address in brackets kept whole). */
static const char *field_end(const char *s) {
  if (*s == '[') {
    const char *e = strchr(s, ']');
    if (e) return e + 1 + strcspn(e + 1, ":");
  }
  return s + strcspn(s, ":");
}

/* --connect-to HOST1:PORT1:HOST2[:PORT2]. curl checks a rule only against
 * the request it matches: one that cannot match any (too few fields, PORT1
 * not a port) is ignored, one whose PORT2 is not a port fails with 49.
 * The library wants four well-formed fields: give it those. */
static void connect_to(cli_more *m, const char *arg) {
  const char *h1 = arg, *e1 = field_end(h1);
  if (*e1 != ':') return;
  const char *p1 = e1 + 1, *ep1 = strchr(p1, ':');
  if (!ep1) return;
  if (ep1 > p1) {
    const char *e;
    long v = digits(p1, &e);
    if (e != ep1 || v < 1 || v > 65535) return; /* matches no URL's port */
  }
  const char *h2 = ep1 + 1, *e2 = field_end(h2), *p2 = *e2 == ':' ? e2 + 1 : e2;
  if (*p2) {
    const char *e;
    long v = digits(p2, &e);
    if (*e || v < 1 || v > 65535) {
      m->connect_to_bad = 1;
      if (!m->connect_to_msg) {
        cli_buf b = {0};
        cli_buf_printf(&b, "No valid port number in connect to host string (%s)", p2);
        m->connect_to_msg = b.data;
      }
      return;
    }
  }
  cli_buf b = {0};
  cli_buf_add(&b, h1, (size_t)(ep1 - h1));
  cli_buf_addc(&b, ':');
  cli_buf_add(&b, h2, (size_t)(e2 - h2));
  cli_buf_addc(&b, ':');
  cli_buf_adds(&b, p2);
  m->connect_to = cli_xrealloc(m->connect_to, (m->nconnect_to + 2) * sizeof *m->connect_to);
  m->connect_to[m->nconnect_to++] = b.data;
  m->connect_to[m->nconnect_to] = NULL;
}

int cli_life_apply(cli_more *m, int id, const char *name, const char *arg) {
  switch (id) {
  case 0:
  case 1:
    set_str(&m->unix_socket, arg);
    m->unix_abstract = id == 1;
    break;
  case 2: interface(m, arg); break;
  case 3: return local_port(m, name, arg);
  case 4: {
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (end == arg || *end || errno) return bad_use(name, "expected a proper numerical parameter");
    if (v < 0) return bad_use(name, "expected a positive numerical parameter");
    /* Linux takes at most 32767 s; curl asks for more, gets an error and
     * goes on with the system's: flurry asks for the most it can have. */
    m->keepalive_time = v > 32767 ? 32767 : v;
    break;
  }
  case 5: connect_to(m, arg); break;
  }
  return -1;
}

int cli_life_check(const cli_config *cfg) {
  const cli_more *m = &cfg->more;
  if (m->interface_bad) {
    cli_error(CLI_EXIT_INTERFACE, "Couldn't bind to '%s'", m->local_address);
    return CLI_EXIT_INTERFACE;
  }
  if (m->connect_to_bad) {
    cli_error(CLI_EXIT_SETOPT_SYNTAX, "%s", m->connect_to_msg);
    return CLI_EXIT_SETOPT_SYNTAX;
  }
  return -1;
}

void cli_life_client_options(const cli_config *cfg, fl_client_options *o) {
  const cli_more *m = &cfg->more;
  o->unix_socket = m->unix_socket;
  o->unix_socket_abstract = m->unix_abstract;
  o->interface = m->interface;
  o->local_address = m->interface_bad ? NULL : m->local_address;
  o->local_port = (uint16_t)m->local_port;
  o->local_port_range = (uint32_t)m->local_port_range;
  /* curl sets idle and interval alike; --no-keepalive turns them off */
  if (m->keepalive_time > 0 && !m->no_keepalive)
    o->tcp_keepalive_idle_s = o->tcp_keepalive_interval_s = (uint32_t)m->keepalive_time;
  o->connect_to = (const char *const *)m->connect_to;
}

void cli_life_free(cli_more *m) {
  free(m->unix_socket);
  free(m->interface);
  free(m->local_address);
  for (size_t i = 0; i < m->nconnect_to; i++) free(m->connect_to[i]);
  free(m->connect_to);
  free(m->connect_to_msg);
}
