/* Making a new connection for a request: DNS (cache, overrides, c-ares),
 * then Happy Eyeballs TCP connect, then the HTTP/1.1 exchange begins. */
#include <string.h>
#include <unistd.h>

#include "client.h"


static void fail(fl__conn *conn, int err, const char *msg) {
  fl_request *req = conn->req;
  fl_client *c = conn->client;
  fl__pool_destroy_conn(c, conn); /* also unlinks req->conn */
  if (req) fl__request_finish(req, err, "%s", msg);
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
    conn->state = FL__CONN_ACTIVE;
    if (req) req->info.connect_us = fl__now_us() - req->start_us;
    int err = fl__http1_conn_init(conn);
    if (err)
      fail(conn, err, "out of memory setting up the connection");
    else if (req)
      fl__http1_start(conn, req);
    else
      fl__pool_release(c, conn, 1);
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
    req->info.dns_us = fl__now_us() - conn->connect_start_us;
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
  int r = fl__dns_resolve(c->resolver, &conn->dns, conn->host->name, conn->host->port, dns_cb, conn);
  if (r == 0) dns_done(conn);
}

void fl__conn_cancel_connect(fl__conn *conn) {
  if (conn->state == FL__CONN_RESOLVING)
    fl__dns_cancel(conn->client->resolver, &conn->dns);
  else if (conn->state == FL__CONN_CONNECTING)
    fl__connect_cancel(&conn->connector);
}
