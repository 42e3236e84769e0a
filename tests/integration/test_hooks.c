/* Client-wide event hooks (fl_client_set_hooks): every event's order for a
 * request with a redirect, a retry (policy and stale connection), a reused
 * connection, DNS (dnsmasq: a lookup, then the cache), TLS (a full
 * handshake, then a resumed one), an HTTP/2 stream beside another on one
 * connection, a WebSocket connect; the pre-send hook's headers on every
 * attempt; what a hook may not do (cancel, send, re-hook: FL_EINVAL; free:
 * abort); hooks set while a request is in flight. */
/* FIXTURES: nginx nginx_tls nginx_h2 dnsmasq */
/* LABELS: valgrind */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flurry.h"
#include "test.h"

static fl_loop *loop;
static int nginx, nginx_tls, nginx_h2, dnsmasq;

/* ------------------------------------------------------------ recorder */

typedef struct rec {
  fl_event_kind kind;
  fl_request *req;
  uint64_t t;
  int err, status, resumed, cache_hit, http_version, attempt, port;
  uint64_t conn_id;
  uint32_t stream_id, delay_ms;
  char host[64], address[64], url[128];
} rec;

static rec recs[256];
static int nrec;

static void on_event(const fl_event *ev, void *data) {
  CHECK(data == &recs);
  CHECK(nrec < (int)(sizeof recs / sizeof recs[0]));
  rec *r = &recs[nrec++];
  memset(r, 0, sizeof *r);
  r->kind = ev->kind;
  r->req = ev->req;
  r->t = ev->time_ns;
  r->err = ev->err;
  r->status = ev->status;
  r->resumed = ev->resumed;
  r->cache_hit = ev->cache_hit;
  r->http_version = ev->http_version;
  r->attempt = ev->attempt;
  r->conn_id = ev->conn_id;
  r->port = ev->port;
  r->stream_id = ev->stream_id;
  r->delay_ms = ev->delay_ms;
  CHECK(ev->address); /* "" when not known */
  snprintf(r->host, sizeof r->host, "%s", ev->host ? ev->host : "");
  snprintf(r->address, sizeof r->address, "%s", ev->address);
  snprintf(r->url, sizeof r->url, "%s", ev->url ? ev->url : "");
  if (nrec > 1) CHECK(r->t >= recs[nrec - 2].t); /* monotonic */
}

static const char *kind_name(fl_event_kind k) {
  switch (k) {
  case FL_EV_REQUEST_START: return "start";
  case FL_EV_REQUEST_END: return "end";
  case FL_EV_REDIRECT: return "redirect";
  case FL_EV_RETRY: return "retry";
  case FL_EV_POOL_WAIT_START: return "wait";
  case FL_EV_POOL_WAIT_END: return "/wait";
  case FL_EV_DNS_START: return "dns";
  case FL_EV_DNS_END: return "/dns";
  case FL_EV_CONNECT_START: return "connect";
  case FL_EV_CONNECT_END: return "/connect";
  case FL_EV_TLS_START: return "tls";
  case FL_EV_TLS_END: return "/tls";
  case FL_EV_CONN_REUSED: return "reused";
  case FL_EV_HEAD_SENT: return "head";
  case FL_EV_FIRST_BYTE: return "byte";
  case FL_EV_RESPONSE_END: return "response";
  case FL_EV_UPGRADED: return "upgraded";
  }
  return "?";
}

/* The events of req (all when req is NULL), as "start wait /wait ...". */
static const char *order(const fl_request *req) {
  static char buf[2048];
  buf[0] = '\0';
  for (int i = 0; i < nrec; i++) {
    if (req && recs[i].req != req) continue;
    if (buf[0]) strcat(buf, " ");
    strcat(buf, kind_name(recs[i].kind));
  }
  return buf;
}

static const rec *find(const fl_request *req, fl_event_kind k, int nth) {
  for (int i = 0; i < nrec; i++)
    if (recs[i].req == req && recs[i].kind == k && nth-- == 0) return &recs[i];
  return NULL;
}

static fl_hooks hooks;
static int presend_calls;

/* pre_send: a traceparent-like header naming the attempt, on every attempt */
static int pre_send(fl_request *req, fl_hook_headers *h, void *data) {
  CHECK(data == &recs);
  CHECK(req);
  presend_calls++;
  char v[64];
  snprintf(v, sizeof v, "attempt-%d", presend_calls);
  CHECK_EQ_INT(fl_hook_headers_add(h, "X-Hook", v), 0);
  CHECK_EQ_INT(fl_hook_headers_add(h, "Bad Name", "x"), FL_EBAD_HEADER);
  CHECK_EQ_INT(fl_hook_headers_add(h, "X-Bad", "a\r\nb"), FL_EBAD_HEADER);
  return 0;
}

static fl_client *hooked_client(fl_client_options *o) {
  fl_client_options d;
  if (!o) {
    fl_client_options_init(&d);
    o = &d;
  }
  o->ca_file = fl_test_rundir_path("nginx_tls/ca.pem");
  fl_client *c = fl_client_new(loop, o);
  CHECK(c);
  hooks = (fl_hooks){.on_event = on_event, .pre_send = pre_send, .data = &recs};
  CHECK_EQ_INT(fl_client_set_hooks(c, &hooks), 0);
  nrec = 0;
  presend_calls = 0;
  return c;
}

static char urlbuf[256];
static const char *U(const char *scheme, const char *host, int port, const char *path) {
  snprintf(urlbuf, sizeof urlbuf, "%s://%s:%d%s", scheme, host, port, path);
  return urlbuf;
}

#define CHECK_ORDER(req, want)                                                                     \
  do {                                                                                             \
    const char *got_ = order(req);                                                                 \
    if (strcmp(got_, want) != 0) {                                                                 \
      fprintf(stderr, "%s:%d: events\n  got:  %s\n  want: %s\n", __FILE__, __LINE__, got_, want);  \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

/* ------------------------------------------------------------- orders */

static void test_redirect_and_reuse(void) {
  fl_client *c = hooked_client(NULL);
  fl_request *req = fl_request_new("GET", U("http", "127.0.0.1", nginx, "/redirect"));
  CHECK(req);
  CHECK_EQ_INT(fl_request_perform(c, req), 0);
  CHECK_EQ_INT(fl_response_status(fl_request_response(req)), 200);
  CHECK_ORDER(req, "start wait /wait dns /dns connect /connect head byte response redirect "
                   "wait /wait reused head byte response end");
  const rec *r = find(req, FL_EV_REDIRECT, 0);
  CHECK_EQ_INT(r->status, 302);
  CHECK(strstr(r->url, "/hello"));
  CHECK_EQ_INT(find(req, FL_EV_DNS_END, 0)->cache_hit, 1); /* an IP literal */
  const rec *ce = find(req, FL_EV_CONNECT_END, 0);
  CHECK_EQ_STR(ce->address, "127.0.0.1");
  CHECK_EQ_INT(ce->port, nginx);
  CHECK(ce->conn_id > 0);
  uint64_t conn_id = ce->conn_id;
  CHECK_EQ_INT(find(req, FL_EV_CONN_REUSED, 0)->conn_id, ce->conn_id);
  CHECK_EQ_INT(find(req, FL_EV_RESPONSE_END, 0)->status, 302);
  CHECK_EQ_INT(find(req, FL_EV_RESPONSE_END, 1)->status, 200);
  CHECK_EQ_INT(find(req, FL_EV_REQUEST_END, 0)->status, 200);
  CHECK_EQ_INT(presend_calls, 2); /* each hop */

  /* A second request on the same client: a reused connection. */
  nrec = 0;
  fl_request *again = fl_request_new("GET", U("http", "127.0.0.1", nginx, "/hello"));
  CHECK_EQ_INT(fl_request_perform(c, again), 0);
  CHECK_ORDER(again, "start wait /wait reused head byte response end");
  CHECK_EQ_INT(find(again, FL_EV_CONN_REUSED, 0)->conn_id, conn_id);
  CHECK_EQ_INT(find(again, FL_EV_CONN_REUSED, 0)->http_version, 11);
  fl_request_free(again);
  fl_request_free(req);
  fl_client_free(c);
}

/* Counting the X-Hook lines in an echoed request. */
static int count_of(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++) n++;
  return n;
}

/* A loopback port nothing listens on (bound, then closed). */
static int closed_port_number(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
  CHECK(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
  close(fd);
  return ntohs(a.sin_port);
}

static void test_retries(int fault) {
  /* A stale keep-alive connection: the server closes it on the next
   * request, which goes again at once on a fresh connection. */
  fl_client *c = hooked_client(NULL);
  fl_request *first = fl_request_new("GET", U("http", "127.0.0.1", fault, "/stale-next"));
  CHECK_EQ_INT(fl_request_perform(c, first), 0);
  nrec = 0;
  presend_calls = 0;
  fl_request *req = fl_request_new("GET", U("http", "127.0.0.1", fault, "/echo"));
  CHECK_EQ_INT(fl_request_perform(c, req), 0);
  CHECK_EQ_INT(fl_request_info(req)->retries, 1);
  CHECK_ORDER(req, "start wait /wait reused head retry wait /wait dns /dns connect /connect "
                   "head byte response end");
  const rec *r = find(req, FL_EV_RETRY, 0);
  CHECK(r->err < 0);
  CHECK_EQ_INT(r->delay_ms, 0);
  CHECK_EQ_INT(r->attempt, 2);
  /* pre_send ran for both attempts; the echo shows only the second's header */
  CHECK_EQ_INT(presend_calls, 2);
  size_t n;
  const char *body = fl_response_body(fl_request_response(req), &n);
  CHECK_EQ_INT(count_of(body, "X-Hook:"), 1);
  CHECK(strstr(body, "X-Hook: attempt-2\r\n"));
  fl_request_free(first);
  fl_request_free(req);
  fl_client_free(c);

  /* The retry policy: a 503, then the answer, on the same connection. */
  fl_client_options o;
  fl_client_options_init(&o);
  o.retry.max_retries = 2;
  o.retry.backoff_base_ms = 1;
  o.retry.jitter = 0;
  c = hooked_client(&o);
  req = fl_request_new("GET", U("http", "127.0.0.1", fault, "/flaky?k=hooks&fail=1&code=503"));
  CHECK_EQ_INT(fl_request_perform(c, req), 0);
  CHECK_EQ_INT(fl_response_status(fl_request_response(req)), 200);
  CHECK_ORDER(req, "start wait /wait dns /dns connect /connect head byte response retry "
                   "wait /wait reused head byte response end");
  r = find(req, FL_EV_RETRY, 0);
  CHECK_EQ_INT(r->err, 0);
  CHECK_EQ_INT(r->status, 503);
  CHECK_EQ_INT(r->attempt, 2);
  CHECK_EQ_INT(r->delay_ms, 1);
  CHECK_EQ_INT(find(req, FL_EV_RESPONSE_END, 0)->status, 503);
  fl_request_free(req);

  /* A connect that fails: CONNECT_END says why, then REQUEST_END. */
  nrec = 0;
  int closed_port = closed_port_number();
  req = fl_request_new("GET", U("http", "127.0.0.1", closed_port, "/"));
  fl_retry_policy none;
  fl_retry_policy_init(&none);
  fl_request_set_retry(req, &none);
  CHECK(fl_request_perform(c, req) < 0);
  CHECK_ORDER(req, "start wait /wait dns /dns connect /connect end");
  CHECK(find(req, FL_EV_CONNECT_END, 0)->err < 0);
  CHECK_EQ_STR(find(req, FL_EV_CONNECT_END, 0)->address, "");
  CHECK(find(req, FL_EV_REQUEST_END, 0)->err < 0);
  fl_request_free(req);
  fl_client_free(c);
}

static void test_dns(void) {
  fl_client_options o;
  fl_client_options_init(&o);
  char servers[64];
  snprintf(servers, sizeof servers, "127.0.0.1:%d", dnsmasq);
  o.dns_servers = servers;
  fl_client *c = hooked_client(&o);
  fl_request *req = fl_request_new("GET", U("http", "a.test", nginx, "/hello"));
  CHECK_EQ_INT(fl_request_perform(c, req), 0);
  CHECK_ORDER(req, "start wait /wait dns /dns connect /connect head byte response end");
  const rec *d = find(req, FL_EV_DNS_START, 0);
  CHECK_EQ_STR(d->host, "a.test");
  CHECK_EQ_INT(find(req, FL_EV_DNS_END, 0)->cache_hit, 0);
  CHECK_EQ_INT(find(req, FL_EV_DNS_END, 0)->err, 0);
  /* a new connection to the name: the cache answers */
  fl_client_close_idle(c);
  nrec = 0;
  CHECK_EQ_INT(fl_request_perform(c, req), 0);
  CHECK_ORDER(req, "start wait /wait dns /dns connect /connect head byte response end");
  CHECK_EQ_INT(find(req, FL_EV_DNS_END, 0)->cache_hit, 1);
  /* a name that does not exist: DNS_END with the error */
  nrec = 0;
  fl_request_set_url(req, U("http", "nope.test", nginx, "/hello"));
  CHECK_EQ_INT(fl_request_perform(c, req), FL_ERESOLVE);
  CHECK_ORDER(req, "start wait /wait dns /dns end");
  CHECK_EQ_INT(find(req, FL_EV_DNS_END, 0)->err, FL_ERESOLVE);
  CHECK_EQ_INT(find(req, FL_EV_REQUEST_END, 0)->err, FL_ERESOLVE);
  fl_request_free(req);
  fl_client_free(c);

  /* Through a share: the second client's lookup is the share's cache hit. */
  fl_share *share = fl_share_new(NULL);
  CHECK(share);
  o.share = share;
  for (int i = 0; i < 2; i++) {
    c = hooked_client(&o);
    req = fl_request_new("GET", U("http", "a.test", nginx, "/hello"));
    CHECK_EQ_INT(fl_request_perform(c, req), 0);
    CHECK_ORDER(req, "start wait /wait dns /dns connect /connect head byte response end");
    CHECK_EQ_INT(find(req, FL_EV_DNS_END, 0)->cache_hit, i);
    fl_request_free(req);
    fl_client_free(c);
  }
  CHECK_EQ_INT(fl_share_free(share), 0);
}

static void test_tls(void) {
  fl_client *c = hooked_client(NULL);
  for (int i = 0; i < 2; i++) {
    nrec = 0;
    fl_request *req = fl_request_new("GET", U("https", "localhost", nginx_tls, "/hello"));
    CHECK_EQ_INT(fl_request_set_header(req, "Connection", "close"), 0);
    CHECK_EQ_INT(fl_request_perform(c, req), 0);
    CHECK_ORDER(req, "start wait /wait dns /dns connect /connect tls /tls head byte response end");
    const rec *t = find(req, FL_EV_TLS_END, 0);
    CHECK_EQ_INT(t->err, 0);
    CHECK_EQ_INT(t->resumed, i); /* full, then resumed */
    CHECK_EQ_STR(find(req, FL_EV_TLS_START, 0)->host, "localhost");
    CHECK_EQ_INT(fl_request_info(req)->tls_resumed, i);
    fl_request_free(req);
  }
  fl_client_free(c);
}

static int done_count;
static void count_done(fl_request *req, int err, void *data) {
  (void)req, (void)data;
  CHECK_EQ_INT(err, 0);
  done_count++;
}

static void test_h2(void) {
  fl_client_options o;
  fl_client_options_init(&o);
  o.http_version = FL_HTTP_VERSION_2TLS;
  o.ca_file = fl_test_rundir_path("nginx_h2/ca.pem");
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  hooks = (fl_hooks){.on_event = on_event, .data = &recs};
  CHECK_EQ_INT(fl_client_set_hooks(c, &hooks), 0);
  nrec = 0;
  /* Two at once: the second waits for the first connection's ALPN answer,
   * then goes as a second stream on it. */
  fl_request *a = fl_request_new("GET", U("https", "localhost", nginx_h2, "/hello"));
  fl_request *b = fl_request_new("GET", U("https", "localhost", nginx_h2, "/hello"));
  done_count = 0;
  CHECK_EQ_INT(fl_request_send(c, a, count_done, NULL), 0);
  CHECK_EQ_INT(fl_request_send(c, b, count_done, NULL), 0);
  for (int i = 0; i < 4000 && done_count < 2; i++) fl_loop_run(loop, FL_RUN_ONCE);
  CHECK_EQ_INT(done_count, 2);
  CHECK_ORDER(a, "start wait /wait dns /dns connect /connect tls /tls head byte response end");
  CHECK_ORDER(b, "start wait /wait reused head byte response end");
  CHECK_EQ_INT(find(a, FL_EV_TLS_END, 0)->http_version, 20);
  const rec *ra = find(a, FL_EV_FIRST_BYTE, 0), *rb = find(b, FL_EV_FIRST_BYTE, 0);
  CHECK_EQ_INT(ra->http_version, 20);
  CHECK_EQ_INT(rb->http_version, 20);
  CHECK_EQ_INT(ra->conn_id, rb->conn_id); /* one connection, two streams */
  CHECK(ra->stream_id > 0 && rb->stream_id > 0 && ra->stream_id != rb->stream_id);
  CHECK_EQ_INT(find(b, FL_EV_CONN_REUSED, 0)->conn_id, ra->conn_id);
  CHECK_EQ_INT(find(b, FL_EV_RESPONSE_END, 0)->stream_id, rb->stream_id);
  fl_request_free(a);
  fl_request_free(b);
  fl_client_free(c);
}

static int ws_opened, ws_err;
static void ws_on_open(fl_ws *ws, int err, void *data) {
  (void)ws, (void)data;
  ws_opened = 1;
  ws_err = err;
}

static void test_ws(void) {
  int port = fl_test_script_start("ws_server.py", NULL);
  fl_client *c = hooked_client(NULL);
  fl_ws *ws = fl_ws_new(NULL);
  fl_request *req = fl_request_new("GET", U("ws", "127.0.0.1", port, "/echo"));
  CHECK(ws && req);
  CHECK_EQ_INT(fl_ws_connect(ws, c, req, ws_on_open, NULL), 0);
  for (int i = 0; i < 4000 && !ws_opened; i++) fl_loop_run(loop, FL_RUN_ONCE);
  CHECK_EQ_INT(ws_opened, 1);
  CHECK_EQ_INT(ws_err, 0);
  CHECK_ORDER(req, "start wait /wait dns /dns connect /connect head byte upgraded end");
  CHECK_EQ_INT(find(req, FL_EV_UPGRADED, 0)->status, 101);
  CHECK_EQ_INT(find(req, FL_EV_REQUEST_END, 0)->status, 101);
  fl_ws_free(ws);
  fl_request_free(req);
  fl_client_free(c);
}

/* ---------------------------------------------------------- bad input */

static fl_client *bad_client;
static fl_request *bad_other;
static int bad_checked, bad_free;

static void bad_hook(const fl_event *ev, void *data) {
  (void)data;
  if (ev->kind != FL_EV_FIRST_BYTE) return;
  CHECK_EQ_INT(fl_request_cancel(ev->req), FL_EINVAL);
  CHECK_EQ_INT(fl_request_send(bad_client, bad_other, NULL, NULL), FL_EINVAL);
  CHECK_EQ_INT(fl_client_set_hooks(bad_client, NULL), FL_EINVAL);
  CHECK_EQ_INT(fl_client_drain(bad_client, 0, NULL, NULL), FL_EINVAL);
  /* reading is fine */
  CHECK(fl_request_info(ev->req));
  fl_pool_stats st;
  fl_client_pool_stats(bad_client, &st);
  bad_checked++;
  if (bad_free) fl_request_free(ev->req); /* aborts */
}

static void test_bad_input(void) {
  bad_client = fl_client_new(loop, NULL);
  fl_hooks h = {.on_event = bad_hook};
  CHECK_EQ_INT(fl_client_set_hooks(NULL, &h), FL_EINVAL);
  CHECK_EQ_INT(fl_client_set_hooks(bad_client, &h), 0);
  bad_other = fl_request_new("GET", U("http", "127.0.0.1", nginx, "/hello"));
  fl_request *req = fl_request_new("GET", U("http", "127.0.0.1", nginx, "/hello"));
  CHECK_EQ_INT(fl_request_perform(bad_client, req), 0); /* the refused calls changed nothing */
  CHECK_EQ_INT(bad_checked, 1);
  CHECK_EQ_INT(fl_response_status(fl_request_response(req)), 200);

  fl_request_free(req);
  fl_client_free(bad_client);

  /* Freeing the request from a hook: a message and abort, in a child (on
   * its own loop and client: nothing of the parent's is shared). */
  fflush(NULL);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    loop = fl_loop_new();
    bad_client = fl_client_new(loop, NULL);
    fl_client_set_hooks(bad_client, &h);
    bad_free = 1;
    fl_request *r = fl_request_new("GET", U("http", "127.0.0.1", nginx, "/hello"));
    fl_request_perform(bad_client, r);
    _exit(0); /* not reached */
  }
  int status = 0;
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
  bad_client = NULL;
  fl_request_free(bad_other);
}

static int abort_send(fl_request *req, fl_hook_headers *h, void *data) {
  (void)req, (void)h, (void)data;
  return -1;
}

static void test_pre_send_abort(void) {
  fl_client *c = fl_client_new(loop, NULL);
  fl_hooks h = {.pre_send = abort_send};
  CHECK_EQ_INT(fl_client_set_hooks(c, &h), 0);
  fl_request *req = fl_request_new("GET", U("http", "127.0.0.1", nginx, "/hello"));
  CHECK_EQ_INT(fl_request_perform(c, req), FL_ECALLBACK_ABORT);
  CHECK(strstr(fl_request_errmsg(req), "pre-send"));
  /* hooks cleared: the same request goes through */
  CHECK_EQ_INT(fl_client_set_hooks(c, NULL), 0);
  CHECK_EQ_INT(fl_request_perform(c, req), 0);
  fl_request_free(req);
  fl_client_free(c);
}

/* Hooks set while a request is in flight report what happens from then on:
 * its end without its start. Cleared, they report nothing. */
static void test_set_in_flight(void) {
  fl_client *c = fl_client_new(loop, NULL);
  fl_request *req = fl_request_new("GET", U("http", "127.0.0.1", nginx, "/hello"));
  done_count = 0;
  CHECK_EQ_INT(fl_request_send(c, req, count_done, NULL), 0);
  nrec = 0;
  fl_hooks h = {.on_event = on_event, .data = &recs};
  CHECK_EQ_INT(fl_client_set_hooks(c, &h), 0);
  for (int i = 0; i < 4000 && done_count < 1; i++) fl_loop_run(loop, FL_RUN_ONCE);
  CHECK_EQ_INT(done_count, 1);
  const char *got = order(req);
  CHECK(strncmp(got, "start", 5) != 0);
  CHECK(strlen(got) >= 3 && strcmp(got + strlen(got) - 3, "end") == 0);
  CHECK_EQ_INT(fl_client_set_hooks(c, NULL), 0);
  nrec = 0;
  CHECK_EQ_INT(fl_request_perform(c, req), 0);
  CHECK_EQ_INT(nrec, 0);
  fl_request_free(req);
  fl_client_free(c);
}

int main(void) {
  FL_TEST_BEGIN();
  signal(SIGPIPE, SIG_IGN);
  loop = fl_loop_new();
  CHECK(loop);
  nginx = fl_test_server_port("nginx");
  nginx_tls = fl_test_server_port("nginx_tls");
  nginx_h2 = fl_test_server_port("nginx_h2");
  dnsmasq = fl_test_server_port("dnsmasq");
  int fault = fl_test_fault_start();
  test_redirect_and_reuse();
  test_retries(fault);
  test_dns();
  test_tls();
  test_h2();
  test_ws();
  test_bad_input();
  test_pre_send_abort();
  test_set_in_flight();
  CHECK_EQ_INT(fl_loop_free(loop), 0);
  FL_TEST_END();
}
