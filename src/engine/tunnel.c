/* https through a proxy: "CONNECT host:port", the proxy's 2xx, then TLS with
 * the origin (verified against the origin's name) over the same socket.
 * Proxy credentials go in the CONNECT request only. A 407 may be answered
 * once (ep->tunnel_auth: Digest), on the same connection when the proxy
 * keeps it: its body (Content-Length, bounded) is read and dropped, then
 * the CONNECT goes again with the credentials. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/conn.h"
#include "http/h1.h"

#define TUNNEL_HEAD_MAX 16384
#define TUNNEL_407_BODY_MAX 65536

static void tunnel_fail(fl__conn *c, int err, const char *what, const char *detail) {
  fl__conn_failf(c, err, 0, "proxy CONNECT to %s port %u: %s%s", c->ep->host, c->ep->port, what,
                 detail ? detail : "");
}

/* "host:port" ("[v6]:port") of the origin. */
static void target_of(const fl__conn *c, char *target, size_t cap) {
  int v6 = strchr(c->ep->host, ':') != NULL;
  snprintf(target, cap, "%s%s%s:%u", v6 ? "[" : "", c->ep->host, v6 ? "]" : "", c->ep->port);
}

/* The CONNECT request into c->wbuf, with auth (or the endpoint's) as
 * Proxy-Authorization. 0 or FL_ENOMEM. */
static int put_connect(fl__conn *c, const char *auth) {
  char target[300];
  target_of(c, target, sizeof target);
  fl__buf *b = &c->wbuf;
  fl__buf_reset(b);
  if (!auth) auth = c->ep->proxy_auth;
  int err = fl__h1_put_request_line(b, "CONNECT", NULL, NULL, target) ||
            fl__h1_put_header(b, "Host", target) ||
            (auth && fl__h1_put_header(b, "Proxy-Authorization", auth)) ||
            (c->ep->proxy_headers && fl__buf_puts(b, c->ep->proxy_headers)) || fl__h1_end_head(b);
  c->wbuf_off = 0;
  c->tunnel_sent = 0;
  return err ? FL_ENOMEM : 0;
}

/* The answer's header fields (after the status line) into h. */
static int parse_fields(const char *head, fl__headers *h) {
  const char *p = strstr(head, "\r\n");
  while (p && p[2] != '\r') {
    const char *line = p + 2, *end = strstr(line, "\r\n"),
               *colon = memchr(line, ':', (size_t)(end - line));
    if (colon) {
      const char *v = colon + 1, *ve = end;
      while (v < ve && (*v == ' ' || *v == '\t')) v++;
      while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
      if (fl__headers_add(h, line, (size_t)(colon - line), v, (size_t)(ve - v))) return FL_ENOMEM;
    }
    p = end;
  }
  return 0;
}

/* A 407 to answer with the endpoint's tunnel_auth on this connection: 1 if
 * the next CONNECT is under way, 0 if not (the 407 is the outcome), -1 if
 * the connection failed. */
static int answer_407(fl__conn *c) {
  if (!c->ep->tunnel_auth || c->tunnel_answered) return 0;
  c->tunnel_answered = 1;
  fl__headers h;
  fl__headers_init(&h);
  fl__buf auth;
  fl__buf_init(&auth);
  char target[300];
  target_of(c, target, sizeof target);
  int rc = 0, err = parse_fields(c->wbuf.data, &h);
  const char *conn = fl__headers_get(&h, "Connection"),
             *len = fl__headers_get(&h, "Content-Length");
  char *end = NULL;
  unsigned long n = len ? strtoul(len, &end, 10) : 0;
  /* The body must have a length we may read, and the connection must stay. */
  int keeps = strncmp(c->wbuf.data, "HTTP/1.1", 8) == 0 && !(conn && strstr(conn, "close")) &&
              len && *len && end && !*end && n <= TUNNEL_407_BODY_MAX &&
              !fl__headers_has(&h, "Transfer-Encoding");
  if (!err && keeps && c->ep->tunnel_auth(c->ep->tunnel_auth_ctx, &h, target, &auth) == 0) {
    err = put_connect(c, auth.data);
    c->tunnel_discard = (uint32_t)n;
    rc = 1;
  }
  fl__headers_dispose(&h);
  fl__buf_dispose(&auth);
  if (err) {
    tunnel_fail(c, FL_ENOMEM, "out of memory", NULL);
    return -1;
  }
  return rc;
}

/* The proxy answered: 2xx opens the tunnel; anything else ends here. */
static int answered(fl__conn *c) {
  const char *h = c->wbuf.data;
  int status = 0;
  if (strncmp(h, "HTTP/1.", 7) == 0 && h[8] == ' ') status = atoi(h + 9);
  if (status == 407) {
    int r = answer_407(c);
    if (r) return r > 0;
  }
  if (status < 200 || status > 299) {
    char detail[64];
    snprintf(detail, sizeof detail, "%d", status);
    tunnel_fail(c, status ? FL_ERECV : FL_EWEIRD_REPLY,
                status ? "the proxy answered HTTP " : "bad answer from the proxy",
                status ? detail : NULL);
    return 0;
  }
  fl__buf_reset(&c->wbuf);
  c->wbuf_off = 0;
  fl__conn_tunnel_done(c);
  return 0;
}

static void step(fl__conn *c) {
  fl_loop *loop = c->env->loop;
again:
  while (c->tunnel_discard) { /* a 407's body, before the next CONNECT */
    char tmp[4096];
    ssize_t n =
        recv(c->tp.fd, tmp, c->tunnel_discard < sizeof tmp ? c->tunnel_discard : sizeof tmp, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      tunnel_fail(c, n == 0 ? FL_ECONNECT : FL_ERECV, "the proxy closed the connection",
                  n < 0 ? strerror(errno) : NULL);
      return;
    }
    c->tunnel_discard -= (uint32_t)n;
  }
  while (!c->tunnel_sent) {
    ssize_t n = send(c->tp.fd, c->wbuf.data + c->wbuf_off, c->wbuf.len - c->wbuf_off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (fl__io_start(loop, &c->io, FL__POLLOUT)) tunnel_fail(c, FL_ENOMEM, "out of memory", NULL);
      return;
    }
    if (n < 0) {
      tunnel_fail(c, FL_ESEND, "send failed: ", strerror(errno));
      return;
    }
    c->wbuf_off += (size_t)n;
    if (c->wbuf_off == c->wbuf.len) {
      c->tunnel_sent = 1;
      fl__buf_reset(&c->wbuf); /* now holds the answer */
      c->wbuf_off = 0;
      fl__io_stop(loop, &c->io, FL__POLLOUT);
      if (fl__io_start(loop, &c->io, FL__POLLIN)) {
        tunnel_fail(c, FL_ENOMEM, "out of memory", NULL);
        return;
      }
    }
  }
  for (;;) {
    char tmp[2048];
    /* Read only up to the end of the head: TLS bytes must stay in the socket. */
    ssize_t n = recv(c->tp.fd, tmp, sizeof tmp, MSG_PEEK);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      tunnel_fail(c, n == 0 ? FL_ECONNECT : FL_ERECV, "the proxy closed the connection",
                  n < 0 ? strerror(errno) : NULL);
      return;
    }
    size_t old = c->wbuf.len, take = (size_t)n;
    if (fl__buf_append(&c->wbuf, tmp, take)) {
      tunnel_fail(c, FL_ENOMEM, "out of memory", NULL);
      return;
    }
    char *end = strstr(c->wbuf.data + (old > 3 ? old - 3 : 0), "\r\n\r\n");
    if (end) take = (size_t)(end + 4 - c->wbuf.data) - old;
    c->wbuf.len = old + take;
    c->wbuf.data[c->wbuf.len] = '\0';
    if (recv(c->tp.fd, tmp, take, 0) != (ssize_t)take) { /* consume what we used */
      tunnel_fail(c, FL_ERECV, "read failed", NULL);
      return;
    }
    if (end) {
      if (answered(c)) goto again; /* a 407 answered: the next CONNECT */
      return;
    }
    if (c->wbuf.len > TUNNEL_HEAD_MAX) {
      tunnel_fail(c, FL_EHEADER_TOO_LARGE, "the proxy's answer is too large", NULL);
      return;
    }
  }
}

static void io_cb(fl_loop *loop, fl__io *io, uint32_t events) {
  FL__UNUSED(loop), FL__UNUSED(events);
  fl__conn *c = fl__container_of(io, fl__conn, io);
  fl__guard *g = c->env->guard;
  fl__guard_enter(g);
  step(c);
  fl__guard_leave(g);
}

void fl__tunnel_start(fl__conn *c) {
  fl__io_init(&c->io, io_cb, c->tp.fd);
  if (put_connect(c, NULL)) {
    tunnel_fail(c, FL_ENOMEM, "out of memory", NULL);
    return;
  }
  step(c);
}
