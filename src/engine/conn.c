/* Making a new connection for a request: DNS (cache, overrides, c-ares),
 * then Happy Eyeballs TCP connect, then for https the TLS handshake, then
 * the HTTP/1.1 exchange begins. The request stays FL__REQ_CONNECTING (the
 * connect timeout) and the connection FL__CONN_CONNECTING until then. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/client.h"
#include "net/tls.h"


static void fail(fl__conn *conn, int err, const char *msg) {
  fl_request *req = conn->req;
  fl_client *c = conn->client;
  fl__pool_destroy_conn(c, conn); /* also unlinks req->conn */
  if (req) fl__request_finish(req, err, "%s", msg);
}

/* The transport is up: hand the connection to the HTTP/1.1 exchange. */
static void conn_ready(fl__conn *conn) {
  fl_client *c = conn->client;
  fl_request *req = conn->req;
  conn->state = FL__CONN_ACTIVE;
  int err = fl__http1_conn_init(conn);
  if (err)
    fail(conn, err, "out of memory setting up the connection");
  else if (req) {
    fl__http1_start(conn, req);
    fl__pool_pipeline_room(c, conn);
  } else
    fl__pool_release(c, conn, 1);
}

/* One handshake step; then wait for exactly the event OpenSSL needs. */
static void tls_step(fl__conn *conn) {
  fl_loop *loop = conn->client->loop;
  char msg[256];
  uint32_t wait = 0;
  int r = fl__tls_handshake(conn, &wait, msg, sizeof msg);
  if (r == FL__TLS_AGAIN) {
    fl__io_stop(loop, &conn->io, (FL__POLLIN | FL__POLLOUT) & ~wait);
    if (fl__io_start(loop, &conn->io, wait)) fail(conn, FL_ENOMEM, "out of memory");
    return;
  }
  if (r) {
    fail(conn, r, msg);
    return;
  }
  fl_request *req = conn->req;
  if (req) {
    req->info.appconnect_us = fl__now_us() - req->start_us;
    req->info.tls_resumed = fl__tls_resumed(conn);
  }
  fl__io_stop(loop, &conn->io, FL__POLLOUT);
  conn_ready(conn); /* the exchange takes the watcher over */
}

static void tls_io_cb(fl_loop *loop, fl__io *io, uint32_t events) {
  FL__UNUSED(loop), FL__UNUSED(events);
  fl__conn *conn = fl__container_of(io, fl__conn, io);
  fl_client *c = conn->client;
  fl__client_enter(c);
  tls_step(conn);
  fl__client_leave(c);
}

static void start_tls(fl__conn *conn) {
  fl_client *c = conn->client;
  char msg[256];
  fl__io_init(&conn->io, tls_io_cb, conn->fd); /* before anything can fail: destroy closes it */
  int err = fl__tls_conn_start(conn, c->tls, msg, sizeof msg);
  if (err) {
    fail(conn, err, msg);
    return;
  }
  tls_step(conn);
}

/* ---------------------------------------------------------- CONNECT tunnel
 * https through a proxy: "CONNECT host:port", the proxy's 2xx, then TLS with
 * the origin (verified against the origin's name) over the same socket.
 * Proxy credentials go in the CONNECT request only. */
#define TUNNEL_HEAD_MAX 16384

static void tunnel_io_cb(fl_loop *loop, fl__io *io, uint32_t events);

static void tunnel_fail(fl__conn *conn, int err, const char *what, const char *detail) {
  char msg[256];
  fl__msg(msg, sizeof msg, "proxy CONNECT to %s port %u: %s%s", conn->host->name, conn->host->port,
          what, detail ? detail : "");
  fail(conn, err, msg);
}

/* The proxy answered: 2xx opens the tunnel; anything else ends here. */
static void tunnel_answered(fl__conn *conn) {
  const char *h = conn->wbuf.data;
  int status = 0;
  if (strncmp(h, "HTTP/1.", 7) == 0 && h[8] == ' ') status = atoi(h + 9);
  if (status < 200 || status > 299) {
    char detail[64];
    snprintf(detail, sizeof detail, "%d", status);
    tunnel_fail(conn, status ? FL_ERECV : FL_EWEIRD_REPLY,
                status ? "the proxy answered HTTP " : "bad answer from the proxy", status ? detail : NULL);
    return;
  }
  fl__buf_reset(&conn->wbuf);
  fl__io_close(conn->client->loop, &conn->io); /* TLS registers its own watcher */
  start_tls(conn);
}

static void tunnel_step(fl__conn *conn) {
  fl_loop *loop = conn->client->loop;
  while (!conn->tunnel_sent) {
    ssize_t n = send(conn->fd, conn->wbuf.data + conn->woff, conn->wbuf.len - conn->woff, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (fl__io_start(loop, &conn->io, FL__POLLOUT)) tunnel_fail(conn, FL_ENOMEM, "out of memory", NULL);
      return;
    }
    if (n < 0) {
      tunnel_fail(conn, FL_ESEND, "send failed: ", strerror(errno));
      return;
    }
    conn->woff += (size_t)n;
    if (conn->woff == conn->wbuf.len) {
      conn->tunnel_sent = 1;
      fl__buf_reset(&conn->wbuf); /* now holds the answer */
      fl__io_stop(loop, &conn->io, FL__POLLOUT);
      if (fl__io_start(loop, &conn->io, FL__POLLIN)) {
        tunnel_fail(conn, FL_ENOMEM, "out of memory", NULL);
        return;
      }
    }
  }
  for (;;) {
    char tmp[2048];
    /* Read only up to the end of the head: TLS bytes must stay in the socket. */
    ssize_t n = recv(conn->fd, tmp, sizeof tmp, MSG_PEEK);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      tunnel_fail(conn, n == 0 ? FL_ECONNECT : FL_ERECV, "the proxy closed the connection",
                  n < 0 ? strerror(errno) : NULL);
      return;
    }
    size_t old = conn->wbuf.len, take = (size_t)n;
    if (fl__buf_append(&conn->wbuf, tmp, take)) {
      tunnel_fail(conn, FL_ENOMEM, "out of memory", NULL);
      return;
    }
    char *end = strstr(conn->wbuf.data + (old > 3 ? old - 3 : 0), "\r\n\r\n");
    if (end) take = (size_t)(end + 4 - conn->wbuf.data) - old;
    conn->wbuf.len = old + take;
    conn->wbuf.data[conn->wbuf.len] = '\0';
    if (recv(conn->fd, tmp, take, 0) != (ssize_t)take) { /* consume what we used */
      tunnel_fail(conn, FL_ERECV, "read failed", NULL);
      return;
    }
    if (end) {
      tunnel_answered(conn);
      return;
    }
    if (conn->wbuf.len > TUNNEL_HEAD_MAX) {
      tunnel_fail(conn, FL_EHEADER_TOO_LARGE, "the proxy's answer is too large", NULL);
      return;
    }
  }
}

static void tunnel_io_cb(fl_loop *loop, fl__io *io, uint32_t events) {
  FL__UNUSED(loop), FL__UNUSED(events);
  fl__conn *conn = fl__container_of(io, fl__conn, io);
  fl_client *c = conn->client;
  fl__client_enter(c);
  tunnel_step(conn);
  fl__client_leave(c);
}

static void start_tunnel(fl__conn *conn) {
  const char *auth = fl__proxy_auth(conn->host->proxy);
  char target[300];
  int v6 = strchr(conn->host->name, ':') != NULL;
  snprintf(target, sizeof target, "%s%s%s:%u", v6 ? "[" : "", conn->host->name, v6 ? "]" : "",
           conn->host->port);
  fl__buf *b = &conn->wbuf;
  fl__buf_reset(b);
  int err = fl__buf_puts(b, "CONNECT ") || fl__buf_puts(b, target) || fl__buf_puts(b, " HTTP/1.1\r\nHost: ") ||
            fl__buf_puts(b, target) || fl__buf_puts(b, "\r\n") ||
            (auth && (fl__buf_puts(b, "Proxy-Authorization: ") || fl__buf_puts(b, auth) ||
                      fl__buf_puts(b, "\r\n"))) ||
            fl__buf_puts(b, "\r\n");
  fl__io_init(&conn->io, tunnel_io_cb, conn->fd);
  if (err) {
    tunnel_fail(conn, FL_ENOMEM, "out of memory", NULL);
    return;
  }
  conn->woff = 0;
  conn->tunnel_sent = 0;
  tunnel_step(conn);
}

/* DNS and connect state: only while connecting, so that an established
 * connection carries none of it (memory at 10,000 connections). */
struct fl__connecting {
  fl__dns_req dns;
  fl__connector connector;
};

static void cx_free(fl__conn *conn) {
  free(conn->cx);
  conn->cx = NULL;
}

static void connect_cb(fl__connector *k) {
  fl__conn *conn = k->data;
  fl_client *c = conn->client;
  fl__client_enter(c);
  fl_request *req = conn->req;
  int err = k->err, fd = k->fd;
  char msg[sizeof k->errmsg];
  memcpy(msg, k->errmsg, sizeof msg);
  fl__sockaddr remote = k->remote;
  cx_free(conn); /* the connector is done with; it may be freed in its callback */
  if (err) {
    fail(conn, err, msg);
  } else {
    conn->fd = fd;
    conn->remote_port = fl__sockaddr_str(&remote, conn->remote_ip, sizeof conn->remote_ip);
    if (req) req->info.connect_us = fl__now_us() - req->start_us;
    if (conn->host->tls && conn->host->proxy)
      start_tunnel(conn);
    else if (conn->host->tls)
      start_tls(conn);
    else
      conn_ready(conn);
  }
  fl__client_leave(c);
}

static void start_tcp(fl__conn *conn) {
  fl_client *c = conn->client;
  conn->state = FL__CONN_CONNECTING;
  struct fl__connecting *cx = conn->cx;
  int err = fl__connect_start(c->loop, &cx->connector, cx->dns.addrs, cx->dns.naddrs,
                              c->opts.happy_eyeballs_delay_ms, connect_cb, conn);
  if (err) fail(conn, err, "could not start connecting");
}

static void dns_done(fl__conn *conn) {
  fl_request *req = conn->req;
  fl__dns_req *d = &conn->cx->dns;
  if (req) {
    req->info.dns_us = fl__now_us() - req->start_us;
    req->info.dns_cache_hit = d->cache_hit;
  }
  if (d->err) {
    char msg[sizeof d->errmsg];
    memcpy(msg, d->errmsg, sizeof msg); /* fail() frees d */
    fail(conn, d->err, msg);
    return;
  }
  start_tcp(conn);
}

static void dns_cb(fl__dns_req *d) {
  fl__conn *conn = d->data;
  fl_client *c = conn->client;
  fl__client_enter(c);
  dns_done(conn);
  fl__client_leave(c);
}

void fl__conn_start_connect(fl__conn *conn, fl_request *req) {
  fl_client *c = conn->client;
  conn->req = req;
  conn->state = FL__CONN_RESOLVING;
  conn->connect_start_us = fl__now_us();
  fl__request_set_state(req, FL__REQ_CONNECTING);
  conn->cx = calloc(1, sizeof *conn->cx);
  if (!conn->cx) {
    fail(conn, FL_ENOMEM, "out of memory creating a connection");
    return;
  }
  int r = fl__dns_resolve(c->resolver, &conn->cx->dns, conn->host->connect_name,
                          conn->host->connect_port, dns_cb, conn);
  if (r == 0) dns_done(conn);
}

void fl__conn_cancel_connect(fl__conn *conn) {
  if (!conn->cx) return; /* past TCP connect (TLS handshake or tunnel) */
  if (conn->state == FL__CONN_RESOLVING)
    fl__dns_cancel(conn->client->resolver, &conn->cx->dns);
  else if (conn->state == FL__CONN_CONNECTING)
    fl__connect_cancel(&conn->cx->connector);
  cx_free(conn);
}
