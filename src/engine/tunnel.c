/* https through a proxy: "CONNECT host:port", the proxy's 2xx, then TLS with
 * the origin (verified against the origin's name) over the same socket.
 * Proxy credentials go in the CONNECT request only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/conn.h"
#include "http/h1.h"

#define TUNNEL_HEAD_MAX 16384

static void tunnel_fail(fl__conn *c, int err, const char *what, const char *detail) {
  fl__conn_failf(c, err, 0, "proxy CONNECT to %s port %u: %s%s", c->ep->host, c->ep->port, what,
                 detail ? detail : "");
}

/* The proxy answered: 2xx opens the tunnel; anything else ends here. */
static void answered(fl__conn *c) {
  const char *h = c->wbuf.data;
  int status = 0;
  if (strncmp(h, "HTTP/1.", 7) == 0 && h[8] == ' ') status = atoi(h + 9);
  if (status < 200 || status > 299) {
    char detail[64];
    snprintf(detail, sizeof detail, "%d", status);
    tunnel_fail(c, status ? FL_ERECV : FL_EWEIRD_REPLY,
                status ? "the proxy answered HTTP " : "bad answer from the proxy", status ? detail : NULL);
    return;
  }
  fl__buf_reset(&c->wbuf);
  c->wbuf_off = 0;
  fl__conn_tunnel_done(c);
}

static void step(fl__conn *c) {
  fl_loop *loop = c->env->loop;
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
      answered(c);
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
  char target[300];
  int v6 = strchr(c->ep->host, ':') != NULL;
  snprintf(target, sizeof target, "%s%s%s:%u", v6 ? "[" : "", c->ep->host, v6 ? "]" : "", c->ep->port);
  fl__buf *b = &c->wbuf;
  fl__buf_reset(b);
  int err = fl__h1_put_request_line(b, "CONNECT", NULL, NULL, target) || fl__h1_put_header(b, "Host", target) ||
            (c->ep->proxy_auth && fl__h1_put_header(b, "Proxy-Authorization", c->ep->proxy_auth)) ||
            fl__h1_end_head(b);
  fl__io_init(&c->io, io_cb, c->tp.fd);
  if (err) {
    tunnel_fail(c, FL_ENOMEM, "out of memory", NULL);
    return;
  }
  c->wbuf_off = 0;
  c->tunnel_sent = 0;
  step(c);
}
