/* SOCKS proxies: SOCKS5 (RFC 1928) with user/password authentication (RFC
 * 1929), SOCKS4 and its 4a extension. After TCP connects to the proxy, a
 * few small messages ask it to connect to the origin; its success reply
 * hands the socket over to the connection (fl__conn_tunnel_done), which
 * then speaks TLS or plain HTTP to the origin as if connected directly.
 *
 * Nonblocking on the loop, one message at a time: each is written whole,
 * then exactly the bytes of its reply are read (never more, so nothing the
 * origin sends is taken here). Every failure of the handshake is
 * FL_EPROXY, named by the proxy's reply code. The connection stays in
 * FL__CONN_CONNECTING, so the connect timeout covers all of it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/conn.h"
#include "net/dns_addr.h"

/* Longest message: SOCKS4a's 8 bytes, a user id and a host name of 255
 * bytes each with their NULs (520); SOCKS5's authentication, 513. */
#define SOCKS_BUF 600
#define NAME_MAX_LEN 255

typedef enum phase {
  RESOLVING,    /* the origin's address (socks4, socks5 with a name) */
  S4_REQUEST,   /* the SOCKS4(a) request out, its 8-byte reply in */
  S5_GREETING,  /* our methods out, the chosen one in */
  S5_AUTH,      /* user and password out, the status in */
  S5_CONNECT,   /* the CONNECT request out, the reply's first 5 bytes in */
  S5_REPLY_REST /* the rest of the reply (its bound address and port) */
} phase;

typedef struct fl__socks fl__socks;
struct fl__socks {
  fl__dns_req dns;
  phase phase;
  int writing; /* sending buf[off, len); else receiving into it */
  size_t off, len;
  size_t expect; /* bytes of the reply to the message being sent */
  int have_addr; /* send addr, not the host name */
  fl__sockaddr addr;
  unsigned char buf[SOCKS_BUF];
};

static int is_v5(const fl__conn *c) {
  return c->ep->socks == FL__SOCKS5 || c->ep->socks == FL__SOCKS5H;
}

static void socks_fail(fl__conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void socks_fail(fl__conn *c, const char *fmt, ...) {
  char detail[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  fl__conn_failf(c, FL_EPROXY, 0, "%s proxy %s port %u: %s", is_v5(c) ? "SOCKS5" : "SOCKS4",
                 c->ep->connect_host, c->ep->connect_port, detail); /* frees c->socks */
}

void fl__socks_cancel(fl__conn *c) {
  fl__socks *s = c->socks;
  if (!s) return;
  fl__dns_cancel(c->env->resolver, &s->dns);
  free(s);
  c->socks = NULL;
}

/* Send the len bytes in buf, then read a reply of `expect` bytes. */
static void send_then_read(fl__socks *s, phase ph, size_t len, size_t expect) {
  s->phase = ph;
  s->writing = 1;
  s->off = 0;
  s->len = len;
  s->expect = expect;
}

static void put_port(unsigned char *p, uint16_t port) {
  p[0] = (unsigned char)(port >> 8);
  p[1] = (unsigned char)port;
}

/* ----------------------------------------------------------- SOCKS4(a) */

static int socks4_request(fl__conn *c) {
  fl__socks *s = c->socks;
  const char *user = c->ep->socks_user ? c->ep->socks_user : "";
  size_t ulen = strlen(user), hlen = strlen(c->ep->host);
  unsigned char *b = s->buf;
  b[0] = 4;
  b[1] = 1; /* CONNECT */
  put_port(b + 2, c->ep->port);
  if (s->have_addr) {
    memcpy(b + 4, &s->addr.in4.sin_addr, 4);
  } else { /* 4a: 0.0.0.1 says "the name follows the user id" */
    b[4] = b[5] = b[6] = 0;
    b[7] = 1;
  }
  if (ulen > NAME_MAX_LEN) {
    socks_fail(c, "the user id is longer than %d bytes", NAME_MAX_LEN);
    return -1;
  }
  size_t n = 8;
  memcpy(b + n, user, ulen + 1);
  n += ulen + 1;
  if (!s->have_addr) {
    if (hlen > NAME_MAX_LEN) {
      socks_fail(c, "the host name is longer than %d bytes", NAME_MAX_LEN);
      return -1;
    }
    memcpy(b + n, c->ep->host, hlen + 1);
    n += hlen + 1;
  }
  send_then_read(s, S4_REQUEST, n, 8);
  return 0;
}

static const char *socks4_reply_text(int code) {
  switch (code) {
  case 91: return "request rejected or failed";
  case 92: return "request rejected: the proxy cannot reach our identd";
  case 93: return "request rejected: identd reports another user id";
  default: return "unknown reply";
  }
}

/* ---------------------------------------------------------------- SOCKS5 */

static void socks5_greeting(fl__conn *c) {
  fl__socks *s = c->socks;
  s->buf[0] = 5;
  s->buf[1] = 1;
  s->buf[2] = 0; /* no authentication */
  if (c->ep->socks_user) {
    s->buf[1] = 2;
    s->buf[3] = 2; /* user/password */
  }
  send_then_read(s, S5_GREETING, 2u + s->buf[1], 2);
}

static int socks5_auth(fl__conn *c) {
  fl__socks *s = c->socks;
  const char *user = c->ep->socks_user, *pass = c->ep->socks_pass ? c->ep->socks_pass : "";
  size_t ulen = strlen(user), plen = strlen(pass);
  if (ulen > NAME_MAX_LEN || plen > NAME_MAX_LEN) {
    socks_fail(c, "user name or password longer than %d bytes", NAME_MAX_LEN);
    return -1;
  }
  unsigned char *b = s->buf;
  b[0] = 1; /* the sub-negotiation's version */
  b[1] = (unsigned char)ulen;
  memcpy(b + 2, user, ulen);
  b[2 + ulen] = (unsigned char)plen;
  memcpy(b + 3 + ulen, pass, plen);
  send_then_read(s, S5_AUTH, 3 + ulen + plen, 2);
  return 0;
}

static int socks5_connect(fl__conn *c) {
  fl__socks *s = c->socks;
  unsigned char *b = s->buf;
  size_t n = 4;
  b[0] = 5;
  b[1] = 1; /* CONNECT */
  b[2] = 0;
  if (s->have_addr && s->addr.sa.sa_family == AF_INET) {
    b[3] = 1;
    memcpy(b + n, &s->addr.in4.sin_addr, 4);
    n += 4;
  } else if (s->have_addr) {
    b[3] = 4;
    memcpy(b + n, &s->addr.in6.sin6_addr, 16);
    n += 16;
  } else {
    size_t hlen = strlen(c->ep->host);
    if (hlen > NAME_MAX_LEN) {
      socks_fail(c, "the host name is longer than %d bytes", NAME_MAX_LEN);
      return -1;
    }
    b[3] = 3;
    b[n++] = (unsigned char)hlen;
    memcpy(b + n, c->ep->host, hlen);
    n += hlen;
  }
  put_port(b + n, c->ep->port);
  send_then_read(s, S5_CONNECT, n + 2, 5);
  return 0;
}

static const char *socks5_reply_text(int code) {
  static const char *const text[] = {"succeeded",
                                     "general SOCKS server failure",
                                     "connection not allowed by ruleset",
                                     "network unreachable",
                                     "host unreachable",
                                     "connection refused",
                                     "TTL expired",
                                     "command not supported",
                                     "address type not supported"};
  return code >= 0 && code < (int)FL__ARRAY_SIZE(text) ? text[code] : "unknown reply";
}

/* ----------------------------------------------------------- the steps */

static void done(fl__conn *c) {
  fl__socks_cancel(c); /* frees the state */
  fl__conn_tunnel_done(c);
}

/* A whole reply is in buf. 1: another message or read was set up; 0: the
 * handshake ended (done or failed). */
static int got_reply(fl__conn *c) {
  fl__socks *s = c->socks;
  const unsigned char *b = s->buf;
  switch (s->phase) {
  case S4_REQUEST:
    if (b[0] != 0) {
      socks_fail(c, "bad reply (version %d, not 0)", b[0]);
      return 0;
    }
    if (b[1] != 90) {
      socks_fail(c, "cannot connect to %s port %u: %s (reply %d)", c->ep->host, c->ep->port,
                 socks4_reply_text(b[1]), b[1]);
      return 0;
    }
    done(c);
    return 0;
  case S5_GREETING:
    if (b[0] != 5) {
      socks_fail(c, "not a SOCKS5 proxy (reply version %d)", b[0]);
      return 0;
    }
    if (b[1] == 0) return socks5_connect(c) == 0;
    if (b[1] == 2 && c->ep->socks_user) return socks5_auth(c) == 0;
    if (b[1] == 0xFF)
      socks_fail(c, "no acceptable authentication method (we offered %s)",
                 c->ep->socks_user ? "none and user/password" : "none");
    else
      socks_fail(c, "the proxy chose authentication method %d, which we did not offer", b[1]);
    return 0;
  case S5_AUTH:
    if (b[1] != 0) {
      socks_fail(c, "user/password authentication failed (status %d)", b[1]);
      return 0;
    }
    return socks5_connect(c) == 0;
  case S5_CONNECT: {
    if (b[0] != 5) {
      socks_fail(c, "bad reply (version %d)", b[0]);
      return 0;
    }
    if (b[1] != 0) {
      socks_fail(c, "cannot connect to %s port %u: %s (reply %d)", c->ep->host, c->ep->port,
                 socks5_reply_text(b[1]), b[1]);
      return 0;
    }
    /* Of the bound address, one byte is in; the port's two follow it. */
    size_t rest = b[3] == 1 ? 4 - 1 + 2 : b[3] == 4 ? 16 - 1 + 2 : b[3] == 3 ? (size_t)b[4] + 2 : 0;
    if (!rest) {
      socks_fail(c, "bad reply (address type %d)", b[3]);
      return 0;
    }
    s->phase = S5_REPLY_REST;
    s->off = 0;
    s->len = rest;
    return 1;
  }
  case S5_REPLY_REST: done(c); return 0;
  case RESOLVING: break;
  }
  return 0;
}

static int want(fl__conn *c, uint32_t ev) {
  fl_loop *loop = c->env->loop;
  fl__io_stop(loop, &c->io, (FL__POLLIN | FL__POLLOUT) & ~ev);
  if (fl__io_start(loop, &c->io, ev) == 0) return 0;
  fl__conn_fail(c, FL_ENOMEM, 0, "out of memory");
  return -1;
}

static void step(fl__conn *c) {
  for (;;) {
    fl__socks *s = c->socks;
    if (s->writing) {
      ssize_t n = send(c->tp.fd, s->buf + s->off, s->len - s->off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        want(c, FL__POLLOUT);
        return;
      }
      if (n < 0) {
        socks_fail(c, "send failed: %s", strerror(errno));
        return;
      }
      s->off += (size_t)n;
      if (s->off < s->len) continue;
      s->writing = 0;
      s->off = 0;
      s->len = s->expect;
      continue;
    }
    ssize_t n = recv(c->tp.fd, s->buf + s->off, s->len - s->off, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      want(c, FL__POLLIN);
      return;
    }
    if (n <= 0) {
      socks_fail(c, "%s",
                 n == 0 ? "the proxy closed the connection during the handshake" : strerror(errno));
      return;
    }
    s->off += (size_t)n;
    if (s->off == s->len && !got_reply(c)) return;
  }
}

static void io_cb(fl_loop *loop, fl__io *io, uint32_t events) {
  FL__UNUSED(loop), FL__UNUSED(events);
  fl__conn *c = fl__container_of(io, fl__conn, io);
  fl__guard *g = c->env->guard;
  fl__guard_enter(g);
  if (c->socks) step(c);
  fl__guard_leave(g);
}

/* The origin's address is known (or the proxy resolves the name): the
 * first message. */
static void begin(fl__conn *c) {
  if (is_v5(c))
    socks5_greeting(c);
  else if (socks4_request(c))
    return; /* failed */
  step(c);
}

/* socks4 and socks5 send an address: SOCKS4 an IPv4 one; SOCKS5 IPv4 when
 * the name has one (a proxy is likelier to reach it), else IPv6. */
static void resolved(fl__conn *c) {
  fl__socks *s = c->socks;
  if (s->dns.err) {
    socks_fail(c, "could not resolve %s: %s", c->ep->host, s->dns.errmsg);
    return;
  }
  const fl__sockaddr *pick = NULL;
  for (size_t i = 0; i < s->dns.naddrs && !pick; i++)
    if (s->dns.addrs[i].sa.sa_family == AF_INET) pick = &s->dns.addrs[i];
  if (!pick && is_v5(c) && s->dns.naddrs) pick = &s->dns.addrs[0];
  if (!pick) {
    socks_fail(c,
               "%s has no IPv4 address (SOCKS4 carries only IPv4; socks4a lets the proxy resolve)",
               c->ep->host);
    return;
  }
  s->addr = *pick;
  s->have_addr = 1;
  begin(c);
}

static void dns_cb(fl__dns_req *d) {
  fl__conn *c = d->data;
  fl__guard *g = c->env->guard;
  fl__guard_enter(g);
  resolved(c);
  fl__guard_leave(g);
}

void fl__socks_start(fl__conn *c) {
  const fl__endpoint *ep = c->ep;
  fl__socks *s = calloc(1, sizeof *s);
  if (!s) {
    fl__conn_fail(c, FL_ENOMEM, 0, "out of memory starting the SOCKS handshake");
    return;
  }
  c->socks = s;
  fl__io_init(&c->io, io_cb, c->tp.fd);
  int proxy_resolves = ep->socks == FL__SOCKS4A || ep->socks == FL__SOCKS5H;
  fl__sockaddr lit;
  if (fl__dns_parse_ip(ep->host, &lit)) {
    /* An IP literal goes as an address, whoever would have resolved it;
     * SOCKS4 carries no IPv6 (socks4a sends it as a name). */
    if (lit.sa.sa_family == AF_INET || is_v5(c)) {
      s->addr = lit;
      s->have_addr = 1;
    } else if (!proxy_resolves) {
      socks_fail(c, "SOCKS4 cannot carry the IPv6 address %s", ep->host);
      return;
    }
    begin(c);
    return;
  }
  if (proxy_resolves) {
    begin(c);
    return;
  }
  s->phase = RESOLVING;
  if (fl__dns_resolve(c->env->resolver, &s->dns, ep->host, ep->port, dns_cb, c) == 0) resolved(c);
}
