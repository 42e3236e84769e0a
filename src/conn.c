/* Making a new connection for a request: DNS (cache, overrides, c-ares),
 * then Happy Eyeballs TCP connect, then for https the TLS handshake, then
 * the HTTP/1.1 exchange begins. The request stays FL__REQ_CONNECTING (the
 * connect timeout) and the connection FL__CONN_CONNECTING until then. */
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "tls.h"


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
  else if (req)
    fl__http1_start(conn, req);
  else
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

static void connect_cb(fl__connector *k) {
  fl__conn *conn = k->data;
  fl_client *c = conn->client;
  fl__client_enter(c);
  fl_request *req = conn->req;
  if (k->err) {
    fail(conn, k->err, k->errmsg);
  } else {
    conn->fd = k->fd;
    conn->remote_port = fl__sockaddr_str(&k->remote, conn->remote_ip, sizeof conn->remote_ip);
    if (req) req->info.connect_us = fl__now_us() - req->start_us;
    if (conn->host->tls)
      start_tls(conn);
    else
      conn_ready(conn);
  }
  fl__client_leave(c);
}

static void start_tcp(fl__conn *conn) {
  fl_client *c = conn->client;
  conn->state = FL__CONN_CONNECTING;
  int err = fl__connect_start(c->loop, &conn->connector, conn->dns.addrs, conn->dns.naddrs,
                              c->opts.happy_eyeballs_delay_ms, connect_cb, conn);
  if (err) fail(conn, err, "could not start connecting");
}

static void dns_done(fl__conn *conn) {
  fl_request *req = conn->req;
  if (req) {
    req->info.dns_us = fl__now_us() - req->start_us;
    req->info.dns_cache_hit = conn->dns.cache_hit;
  }
  if (conn->dns.err) {
    fail(conn, conn->dns.err, conn->dns.errmsg);
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
  if (conn->host->tls && conn->host->proxy) {
    fail(conn, FL_EUNSUPPORTED_PROTOCOL, "https through a proxy (CONNECT tunnel) is not supported yet");
    return;
  }
  int r = fl__dns_resolve(c->resolver, &conn->dns, conn->host->connect_name,
                          conn->host->connect_port, dns_cb, conn);
  if (r == 0) dns_done(conn);
}

void fl__conn_cancel_connect(fl__conn *conn) {
  if (conn->state == FL__CONN_RESOLVING)
    fl__dns_cancel(conn->client->resolver, &conn->dns);
  else if (conn->state == FL__CONN_CONNECTING)
    fl__connect_cancel(&conn->connector);
}
