/* A connection's life: made (DNS, Happy Eyeballs TCP, the tunnel, TLS),
 * carrying exchanges (engine/carrier.c), closed. Contract in conn.h. */
#include "engine/conn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net/tls.h"

/* DNS and connect state: only while connecting, so that an established
 * connection carries none of it (memory at 10,000 connections). */
struct fl__connecting {
  fl__dns_req dns;
  fl__connector connector;
};

void fl__conn_init(fl__conn *c, const fl__conn_env *env, const fl__conn_owner_ops *owner,
                   const fl__endpoint *ep) {
  memset(c, 0, sizeof *c);
  c->env = env;
  c->owner = owner;
  c->ep = ep;
  c->state = FL__CONN_RESOLVING;
  c->carrier = &fl__h1_carrier;
  fl__transport_init(&c->tp);
  fl__queue_init(&c->exchanges);
  fl__queue_init(&c->host_node);
  fl__queue_init(&c->lru_node);
  fl__queue_init(&c->room_node);
  fl__buf_init(&c->wbuf);
  fl__defer_init(&c->drain_defer, NULL); /* callbacks: the carrier's open */
  fl__defer_init(&c->flush_defer, NULL);
  fl__h1_init(&c->h1, env->max_header_bytes, env->max_header_count, env->max_header_line_bytes);
  fl__timer_init(env->loop, &c->expect_timer, NULL); /* callback: the carrier's open */
  c->idle_ms = env->idle_ms;
}

static fl__exchange *first_exchange(const fl__conn *c) {
  return fl__queue_empty(&c->exchanges) ? NULL
                                        : fl__container_of(c->exchanges.next, fl__exchange, node);
}

/* The one call site of each connection event: the owner's hooks, when it
 * has any (one test otherwise), whether or not an exchange is attached. */
static inline void conn_event(fl__conn *c, fl__conn_event ev, int err) {
  if (FL__UNLIKELY(c->env->on_event != NULL))
    c->env->on_event(c->env, c, first_exchange(c), ev, err);
}

/* Connect-time steps go to the exchange the connection was made for. */
static void step_first(fl__conn *c, fl__ex_step step) {
  fl__exchange *ex = first_exchange(c);
  if (ex) ex->ops->step(ex, step);
}

/* ---------------------------------------------------------------- close */

static void cancel_connect(fl__conn *c) {
  fl__socks_cancel(c);
  if (!c->cx) return; /* past TCP connect (TLS handshake or tunnel) */
  if (c->state == FL__CONN_CONNECTING) fl__connect_cancel(&c->cx->connector);
  fl__dns_cancel(c->env->resolver, &c->cx->dns); /* also frees its addresses */
  free(c->cx);
  c->cx = NULL;
}

static void close_with(fl__conn *c, int err, const char *msg, int early) {
  if (c->state == FL__CONN_DEAD) return;
  int was_open = c->state == FL__CONN_OPEN;
  cancel_connect(c);
  c->state = FL__CONN_DEAD;
  if (c->tp.fd >= 0) {
    if (!err && was_open && c->carrier->goodbye) c->carrier->goodbye(c);
    fl__io_close(c->env->loop, &c->io);
    fl__transport_close(&c->tp);
  }
  c->carrier->close(c);
  fl__queue gone;
  fl__queue_init(&gone);
  while (!fl__queue_empty(&c->exchanges)) {
    fl__exchange *ex = first_exchange(c);
    fl__queue_remove(&ex->node);
    fl__queue_insert_tail(&gone, &ex->node);
    ex->carrier = NULL;
  }
  c->nexchanges = 0;
  int reused = c->reused;
  c->owner->closed(c); /* c->ep may be gone from here on */
  /* What the server processed gets the error; what it never did (pipelined
   * behind, refused, past a GOAWAY) goes out again. */
  while (!fl__queue_empty(&gone)) {
    fl__exchange *ex = fl__container_of(gone.next, fl__exchange, node);
    fl__queue_remove(&ex->node);
    fl__ex_failure f = {.err = err, .msg = msg};
    if (err && !ex->unprocessed) {
      f.early = early && reused && !ex->response_started;
    } else {
      f.err = FL_ERECV;
      f.msg = "the connection closed before the pipelined response";
      f.orphaned = 1;
    }
    ex->ops->failed(ex, &f);
  }
}

void fl__conn_close(fl__conn *c, int err, const char *msg) { close_with(c, err, msg, 0); }

void fl__conn_fail(fl__conn *c, int err, int early, const char *msg) {
  close_with(c, err, msg, early);
}

void fl__conn_failf(fl__conn *c, int err, int early, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  close_with(c, err, msg, early);
}

void fl__conn_dispose(fl__conn *c) {
  c->carrier->dispose(c);
  fl__buf_dispose(&c->wbuf);
}

void fl__conn_drop(fl__conn *c, fl__exchange *ex) {
  if (ex->carrier != c) return;
  if (c->state != FL__CONN_OPEN) { /* not started: nothing of it went out */
    fl__queue_remove(&ex->node);
    ex->carrier = NULL;
    c->nexchanges--;
    close_with(c, 0, NULL, 0); /* made for it: the rest are orphaned */
    return;
  }
  c->carrier->drop(c, ex);
}

void fl__conn_carry(fl__conn *c, fl__exchange *ex) {
  ex->carrier = c;
  ex->unprocessed = 0;
  ex->stream_id = 0;
  fl__queue_insert_tail(&c->exchanges, &ex->node);
  c->nexchanges++;
  if (c->state == FL__CONN_OPEN) c->carrier->start(c, ex);
}

void fl__conn_update_pause(fl__conn *c, fl__exchange *ex) {
  if (ex->carrier == c && c->state == FL__CONN_OPEN) c->carrier->pause(c, ex);
}

/* -------------------------------------------------------------- connect */

/* The transport is up: the carrier takes the connection over. */
static void transport_ready(fl__conn *c) {
  c->state = FL__CONN_OPEN;
  /* ALPN's answer, or h2c by prior knowledge on a cleartext connection. */
  if (c->alpn == 20 || (!c->ep->tls && c->ep->h2 == FL__H2_PRIOR)) c->carrier = &fl__h2_carrier;
  if (c->carrier->open(c)) {
    fl__conn_fail(c, FL_ENOMEM, 0, "out of memory setting up the connection");
    return;
  }
  fl__exchange *ex = first_exchange(c);
  if (!ex) { /* what it was made for went elsewhere */
    c->owner->idle(c, 1);
    return;
  }
  c->carrier->start(c, ex);
  if (c->state == FL__CONN_OPEN) c->owner->ready(c);
}

/* One handshake step; then wait for exactly the event OpenSSL needs. */
static void tls_step(fl__conn *c) {
  fl_loop *loop = c->env->loop;
  char msg[256];
  uint32_t wait = 0;
  int r = fl__tls_handshake(&c->tp, &wait, msg, sizeof msg);
  if (r == FL__TLS_AGAIN) {
    fl__io_stop(loop, &c->io, (FL__POLLIN | FL__POLLOUT) & ~wait);
    if (fl__io_start(loop, &c->io, wait)) fl__conn_fail(c, FL_ENOMEM, 0, "out of memory");
    return;
  }
  if (r) {
    conn_event(c, FL__CONN_EV_TLS_END, r);
    fl__conn_fail(c, r, 0, msg);
    return;
  }
  c->tls_resumed = fl__tls_resumed(&c->tp);
  c->alpn = fl__tls_alpn(&c->tp);
  conn_event(c, FL__CONN_EV_TLS_END, 0);
  if (c->ep->h2 == FL__H2_ONLY && c->alpn != 20) {
    fl__conn_failf(c, FL_EHTTP2, 0, "%s port %u did not agree on HTTP/2 (ALPN %s)", c->ep->host,
                   c->ep->port, c->alpn == 11 ? "http/1.1" : "none");
    return;
  }
  step_first(c, FL__EX_TLS_DONE);
  fl__io_stop(loop, &c->io, FL__POLLOUT);
  transport_ready(c); /* the carrier takes the watcher over */
}

static void tls_io_cb(fl_loop *loop, fl__io *io, uint32_t events) {
  FL__UNUSED(loop), FL__UNUSED(events);
  fl__conn *c = fl__container_of(io, fl__conn, io);
  fl__guard *g = c->env->guard;
  fl__guard_enter(g);
  tls_step(c);
  fl__guard_leave(g);
}

static void start_tls(fl__conn *c) {
  char msg[256];
  fl__io_init(&c->io, tls_io_cb, c->tp.fd);
  int offer_h2 = c->ep->h2 != FL__H2_NO;
  conn_event(c, FL__CONN_EV_TLS_START, 0);
  int err = fl__tls_start(&c->tp, c->env->tls, c->ep->host, c->ep->port, offer_h2, msg, sizeof msg);
  if (err) {
    conn_event(c, FL__CONN_EV_TLS_END, err);
    fl__conn_fail(c, err, 0, msg);
    return;
  }
  tls_step(c);
}

void fl__conn_tunnel_done(fl__conn *c) {
  fl__io_close(c->env->loop, &c->io); /* TLS registers its own watcher */
  if (c->ep->tls) {
    start_tls(c);
    return;
  }
  fl__io_init(&c->io, NULL, c->tp.fd); /* the carrier sets the callback */
  transport_ready(c);
}

static void connect_cb(fl__connector *k) {
  fl__conn *c = k->data;
  fl__guard *g = c->env->guard;
  fl__guard_enter(g);
  int err = k->err, fd = k->fd;
  char msg[sizeof k->errmsg];
  memcpy(msg, k->errmsg, sizeof msg);
  fl__sockaddr remote = k->remote;
  fl__dns_cancel(c->env->resolver, &c->cx->dns); /* frees the addresses it connected to */
  free(c->cx); /* the connector is done with; it may be freed in its callback */
  c->cx = NULL;
  if (err) {
    conn_event(c, FL__CONN_EV_CONNECT_END, err);
    fl__conn_fail(c, err, 0, msg);
  } else {
    c->tp.fd = fd;
    c->tp.ops = &fl__tcp_transport_ops;
    c->remote_port = fl__sockaddr_str(&remote, c->remote_ip, sizeof c->remote_ip);
    fl__sockaddr local;
    socklen_t llen = sizeof local;
    if (getsockname(fd, &local.sa, &llen) == 0)
      c->local_port = fl__sockaddr_str(&local, c->local_ip, sizeof c->local_ip);
    conn_event(c, FL__CONN_EV_CONNECT_END, 0);
    c->owner->connected(c);
    step_first(c, FL__EX_CONNECTED);
    if (c->state != FL__CONN_CONNECTING) {
      /* closed by a step */
    } else if (c->ep->socks) {
      fl__socks_start(c);
    } else if (c->ep->tunnel) {
      fl__tunnel_start(c);
    } else if (c->ep->tls) {
      start_tls(c);
    } else {
      fl__io_init(&c->io, NULL, fd); /* the carrier sets the callback */
      transport_ready(c);
    }
  }
  fl__guard_leave(g);
}

static void dns_done(fl__conn *c) {
  fl__dns_req *d = &c->cx->dns;
  c->dns_cache_hit = d->cache_hit;
  conn_event(c, FL__CONN_EV_DNS_END, d->err);
  if (d->err) {
    char msg[sizeof d->errmsg];
    memcpy(msg, d->errmsg, sizeof msg); /* closing frees d */
    fl__conn_fail(c, d->err, 0, msg);
    return;
  }
  step_first(c, FL__EX_RESOLVED);
  if (c->state != FL__CONN_RESOLVING) return;
  c->state = FL__CONN_CONNECTING;
  conn_event(c, FL__CONN_EV_CONNECT_START, 0);
  int err =
      fl__connect_start_opts(c->env->loop, &c->cx->connector, d->addrs, d->naddrs,
                             c->env->happy_eyeballs_delay_ms, c->env->sockopts, connect_cb, c);
  if (err) {
    conn_event(c, FL__CONN_EV_CONNECT_END, err);
    fl__conn_fail(c, err, 0, "could not start connecting");
  }
}

static void dns_cb(fl__dns_req *d) {
  fl__conn *c = d->data;
  fl__guard *g = c->env->guard;
  fl__guard_enter(g);
  dns_done(c);
  fl__guard_leave(g);
}

void fl__conn_connect(fl__conn *c) {
  c->state = FL__CONN_RESOLVING;
  c->created_ms = fl__loop_now(c->env->loop);
  c->cx = calloc(1, sizeof *c->cx);
  if (!c->cx) {
    fl__conn_fail(c, FL_ENOMEM, 0, "out of memory creating a connection");
    return;
  }
  if (c->ep->unix_path) { /* no DNS */
    c->state = FL__CONN_CONNECTING;
    conn_event(c, FL__CONN_EV_CONNECT_START, 0);
    if (fl__connect_start_unix(c->env->loop, &c->cx->connector, c->ep->unix_path,
                               c->ep->unix_abstract, c->env->sockopts, connect_cb, c) != 0) {
      conn_event(c, FL__CONN_EV_CONNECT_END, FL_ECONNECT);
      fl__conn_fail(c, FL_ECONNECT, 0, "bad Unix socket path");
    }
    return;
  }
  conn_event(c, FL__CONN_EV_DNS_START, 0);
  int r = fl__dns_resolve(c->env->resolver, &c->cx->dns, c->ep->connect_host, c->ep->connect_port,
                          dns_cb, c);
  if (r == 0) dns_done(c);
}
