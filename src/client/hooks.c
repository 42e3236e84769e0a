/* Client-wide event hooks (fl_client_set_hooks): each event has one call
 * site, behind one test of c->hooks.on_event; this file turns what the
 * site knows into an fl_event, stamps it (the loop's clock, or a clock read
 * with precise_time), and runs the user's hook
 * with c->in_hook set (what a hook may call is checked against it).
 *
 * Where each event comes from (doc/ARCHITECTURE.md has the table):
 * - the request's state setter (request.h): REQUEST_START (leaving IDLE),
 *   REQUEST_END (back to IDLE), POOL_WAIT_START (entering QUEUED),
 *   POOL_WAIT_END (leaving it), FIRST_BYTE (entering RECEIVING, which only
 *   the sink's FL__EX_FIRST_BYTE step does);
 * - the connection (engine/conn.c, through env->on_event): DNS, CONNECT,
 *   TLS start and end, also for a connection no exchange waits on any more;
 * - the sink (receive.c): CONN_REUSED (ops->start), HEAD_SENT (ops->step), RESPONSE_END / UPGRADED (ops->done), pre_send (ops->start);
 * - retry (request.c's one retry function) and redirect (redirect.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/request.h"
#include "engine/conn.h"

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void emit(fl_client *c, fl_event *ev) {
  void (*fn)(const fl_event *, void *) = c->hooks.on_event;
  if (!fn) return;
  /* The loop's clock unless asked: a clock read per event costs more than
   * the rest of the event where the clock is a system call (kvm-clock). */
  ev->time_ns = c->hooks.precise_time ? mono_ns() : fl__loop_now_us(c->loop) * 1000u;
  c->in_hook++;
  fn(ev, c->hooks.data);
  c->in_hook--;
}

void fl__hooks_forbid(const fl_client *c, const char *fn) {
  if (!c || !c->in_hook) return;
  fprintf(stderr, "flurry: %s called from an event hook (not allowed: see fl_hooks in flurry.h)\n",
          fn);
  abort();
}

static void conn_event(const fl__conn_env *env, fl__conn *conn, fl__exchange *ex, fl__conn_event e,
                       int err);

int fl_client_set_hooks(fl_client *c, const fl_hooks *hooks) {
  if (!c || c->in_hook) return FL_EINVAL;
  if (hooks)
    c->hooks = *hooks;
  else
    memset(&c->hooks, 0, sizeof c->hooks);
  c->pool.env.on_event = c->hooks.on_event ? conn_event : NULL;
  c->hooks_on = c->hooks.on_event || c->hooks.pre_send;
  fl__client_send_checks(c);
  return 0;
}

static fl_request *req_of_ex(fl__exchange *ex) {
  return ex && ex->ops == &fl__request_exchange_ops ? fl__container_of(ex, fl_request, ex) : NULL;
}

static void event_init(fl_event *ev, fl_event_kind kind, fl_request *req, int err) {
  memset(ev, 0, sizeof *ev);
  ev->kind = kind;
  ev->req = req;
  ev->err = err;
  ev->address = "";
  if (req) ev->attempt = req->info.attempts + req->info.retries;
}

/* --------------------------------------------------------- connections */

static void conn_event(const fl__conn_env *env, fl__conn *conn, fl__exchange *ex, fl__conn_event e,
                       int err) {
  static const fl_event_kind kinds[] = {[FL__CONN_EV_DNS_START] = FL_EV_DNS_START,
                                        [FL__CONN_EV_DNS_END] = FL_EV_DNS_END,
                                        [FL__CONN_EV_CONNECT_START] = FL_EV_CONNECT_START,
                                        [FL__CONN_EV_CONNECT_END] = FL_EV_CONNECT_END,
                                        [FL__CONN_EV_TLS_START] = FL_EV_TLS_START,
                                        [FL__CONN_EV_TLS_END] = FL_EV_TLS_END};
  fl_client *c = fl__container_of(env, fl_client, pool.env);
  fl_event ev;
  event_init(&ev, kinds[e], req_of_ex(ex), err);
  const fl__endpoint *ep = conn->ep;
  ev.conn_id = conn->id;
  switch (e) {
  case FL__CONN_EV_DNS_START:
  case FL__CONN_EV_DNS_END:
    ev.host = ep->connect_host;
    ev.port = ep->connect_port;
    ev.cache_hit = conn->dns_cache_hit;
    break;
  case FL__CONN_EV_CONNECT_START:
    ev.host = ep->unix_path ? ep->unix_path : ep->connect_host;
    ev.port = ep->unix_path ? 0 : ep->connect_port;
    break;
  case FL__CONN_EV_CONNECT_END:
    ev.host = ep->unix_path ? ep->unix_path : ep->connect_host;
    ev.address = err ? "" : (ep->unix_path ? ep->unix_path : conn->remote_ip);
    ev.port = err ? 0 : conn->remote_port;
    break;
  case FL__CONN_EV_TLS_START:
  case FL__CONN_EV_TLS_END:
    ev.host = ep->host;
    ev.address = conn->remote_ip;
    ev.port = conn->remote_port;
    ev.resumed = conn->tls_resumed;
    ev.http_version = conn->alpn;
    break;
  }
  emit(c, &ev);
}

/* ------------------------------------------------------------ requests */

void fl__hook_request(fl_request *req, fl_event_kind kind, int err, int status) {
  fl_event ev;
  event_init(&ev, kind, req, err);
  ev.status = status;
  const fl__conn *conn = req->ex.carrier;
  if (conn) {
    ev.conn_id = conn->id;
    ev.address = conn->remote_ip;
    ev.port = conn->remote_port;
    ev.http_version = fl__conn_version(conn);
  } else if (req->state != FL__REQ_QUEUED && req->state != FL__REQ_ROUTING) {
    ev.address = req->info.remote_ip; /* the connection let it go (a response's end) */
    ev.port = req->info.remote_port;
    ev.http_version = req->res.version;
  }
  ev.stream_id = req->ex.stream_id;
  emit(req->client, &ev);
}

void fl__hook_state(fl_request *req, fl__req_state old, fl__req_state st) {
  if (old == st) return;
  if (old == FL__REQ_IDLE) {
    fl__hook_request(req, FL_EV_REQUEST_START, 0, 0);
    return;
  }
  if (old == FL__REQ_QUEUED) /* granted (err 0), or given up (the outcome's error) */
    fl__hook_request(req, FL_EV_POOL_WAIT_END,
                     st == FL__REQ_IDLE || st == FL__REQ_COMPLETING ? req->err : 0, 0);
  if (st == FL__REQ_QUEUED)
    fl__hook_request(req, FL_EV_POOL_WAIT_START, 0, 0);
  else if (st == FL__REQ_RECEIVING) /* only the first byte moves a request there */
    fl__hook_request(req, FL_EV_FIRST_BYTE, 0, 0);
  else if (st == FL__REQ_IDLE)
    fl__hook_request(req, FL_EV_REQUEST_END, req->err, req->err ? 0 : req->res.status);
}

void fl__hook_retry(fl_request *req, int err, uint32_t delay_ms, int next_attempt) {
  fl_event ev;
  event_init(&ev, FL_EV_RETRY, req, err);
  ev.status = err ? 0 : req->res.status;
  ev.delay_ms = delay_ms;
  ev.attempt = next_attempt;
  ev.address = req->info.remote_ip;
  ev.port = req->info.remote_port;
  emit(req->client, &ev);
}

void fl__hook_redirect(fl_request *req, int status) {
  fl_event ev;
  event_init(&ev, FL_EV_REDIRECT, req, 0);
  ev.status = status;
  ev.url = req->effective_url.data;
  ev.address = req->info.remote_ip;
  ev.port = req->info.remote_port;
  emit(req->client, &ev);
}

/* ------------------------------------------------------------ pre-send */

/* fl_hook_headers is the attempt's head fields (ex.rh.fields), rebuilt for
 * every attempt while a pre_send hook is set. */
int fl_hook_headers_add(fl_hook_headers *h, const char *name, const char *value) {
  if (!h || !name || !value) return FL_EINVAL;
  size_t nl = strlen(name), vl = strlen(value);
  if (!nl || !fl__token_valid(name, nl) || !fl__field_value_valid(value, vl)) return FL_EBAD_HEADER;
  return fl__headers_add((fl__headers *)h, name, nl, value, vl) ? FL_ENOMEM : 0;
}

int fl__hook_pre_send(fl_request *req) {
  fl_client *c = req->client;
  c->in_hook++;
  int r = c->hooks.pre_send(req, (fl_hook_headers *)&req->ex.rh.fields, c->hooks.data);
  c->in_hook--;
  if (r >= 0) return 0;
  fl__request_msg(req, "the pre-send hook asked to abort");
  return FL_ECALLBACK_ABORT;
}
