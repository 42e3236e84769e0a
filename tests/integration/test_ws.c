/* WebSocket through the client (fl_ws_connect): the upgrade request takes
 * the normal path (DNS, TLS with the test CA, a CONNECT tunnel, cookies,
 * extra headers, Basic auth, a redirect before the 101) and at the 101 the
 * connection and the bytes after it move into the fl_ws, which then
 * outlives its request and fl_client_free. Against python3-websockets and
 * node-ws over ws:// and wss://, and the scripted raw server
 * (tests/support/ws_raw_server.py) for every bad handshake and bad frame:
 * each fails with its error or close code, the server saw our close code,
 * and a plain request on the same client still works after it. */
/* FIXTURES: nginx_tls */
/* LABELS: valgrind tsan */
/* TIMEOUT: 120 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flurry.h"
#include "test.h"

static fl_loop *loop;
static int py, node, pys, nodes, raw, proxy;
static char ca[1024];

typedef struct conn {
  fl_ws *ws;
  fl_request *req;
  int opened, open_err, closes, close_err, code;
  int n;
  char last[4096];
  size_t last_len;
  int last_type;
} conn;

static void on_open(fl_ws *ws, int err, void *data) {
  (void)ws;
  conn *c = data;
  c->opened++;
  c->open_err = err;
}

static void on_message(fl_ws *ws, int type, const char *p, size_t n, int flags, void *data) {
  (void)ws;
  (void)flags;
  conn *c = data;
  c->n++;
  c->last_type = type;
  c->last_len = n;
  snprintf(c->last, sizeof c->last, "%.*s", (int)(n < 4000 ? n : 4000), p);
}

static void on_close(fl_ws *ws, int err, int code, const char *reason, void *data) {
  (void)ws;
  (void)reason;
  conn *c = data;
  c->closes++;
  c->close_err = err;
  c->code = code;
}

#define RUN_UNTIL(cond)                                                                            \
  do {                                                                                             \
    for (int i_ = 0; i_ < 4000 && !(cond); i_++) fl_loop_run(loop, FL_RUN_ONCE);                   \
    CHECK(cond);                                                                                   \
  } while (0)

/* Connect c to url on client; wait for open_cb. */
static int open_conn(conn *c, fl_client *client, const char *url, const fl_ws_options *o) {
  memset(c, 0, sizeof *c);
  c->ws = fl_ws_new(o);
  c->req = fl_request_new("GET", url);
  CHECK(c->ws && c->req);
  fl_ws_on_message(c->ws, on_message, c);
  fl_ws_on_close(c->ws, on_close, c);
  CHECK_EQ_INT(fl_ws_connect(c->ws, client, c->req, on_open, c), 0);
  CHECK_EQ_INT(c->opened, 0); /* never from inside the call */
  RUN_UNTIL(c->opened == 1);
  if (c->open_err) CHECK(fl_ws_errmsg(c->ws)[0]); /* a failure says why */
  return c->open_err;
}

static void free_conn(conn *c) {
  fl_ws_free(c->ws);
  fl_request_free(c->req);
  c->ws = NULL;
  c->req = NULL;
}

static void echo_and_close(conn *c, const char *what) {
  int n0 = c->n;
  CHECK_EQ_INT(fl_ws_send(c->ws, FL_WS_TEXT, what, strlen(what)), 0);
  RUN_UNTIL(c->n == n0 + 1);
  CHECK_EQ_STR(c->last, what);
  CHECK_EQ_INT(fl_ws_close(c->ws, 1000, "done"), 0);
  RUN_UNTIL(c->closes == 1);
  CHECK_EQ_INT(c->close_err, 0);
  CHECK_EQ_INT(c->code, 1000);
}

static fl_client *new_client(const char *proxy_url) {
  fl_client_options o;
  fl_client_options_init(&o);
  o.ca_file = ca;
  o.proxy = proxy_url;
  fl_client *client = fl_client_new(loop, &o);
  CHECK(client);
  return client;
}

static void test_peers(void) {
  fl_client *client = new_client(NULL);
  const struct {
    const char *scheme;
    int *port;
  } peers[] = {{"ws", &py}, {"ws", &node}, {"wss", &pys}, {"wss", &nodes}};
  for (size_t i = 0; i < 4; i++) {
    for (int compress = 0; compress <= 1; compress++) {
      char url[200];
      snprintf(url, sizeof url, "%s://localhost:%d/ext", peers[i].scheme, *peers[i].port);
      fl_ws_options o;
      fl_ws_options_init(&o);
      o.compress = compress;
      conn c;
      CHECK_EQ_INT(open_conn(&c, client, url, &o), 0);
      CHECK_EQ_INT(fl_response_status(fl_request_response(c.req)), 101);
      RUN_UNTIL(c.n == 1);
      CHECK_EQ_INT(strstr(c.last, "permessage-deflate") != NULL, compress);
      CHECK_EQ_INT(strstr(fl_ws_extensions(c.ws), "permessage-deflate") != NULL, compress);
      echo_and_close(&c, "h\xC3\xA9llo through the client");
      free_conn(&c);
    }
  }
  /* the connection left the pool for good: nothing idle, nothing in use */
  fl_pool_stats st;
  fl_client_pool_stats(client, &st);
  CHECK_EQ_INT(st.open, 0);
  fl_client_free(client);
}

static void test_outlives_request_and_client(void) {
  /* wss: the TLS state and a late session ticket must not reach the freed
   * client's context or pool host */
  for (int p = 0; p < 2; p++) {
    fl_client *client = new_client(NULL);
    char url[200];
    snprintf(url, sizeof url, "wss://localhost:%d/echo", p ? nodes : pys);
    conn c;
    CHECK_EQ_INT(open_conn(&c, client, url, NULL), 0);
    fl_request_free(c.req);
    c.req = NULL;
    fl_client_free(client);
    echo_and_close(&c, "still here");
    fl_ws_free(c.ws);
  }
}

static void test_client_path(void) {
  fl_client *client = new_client(NULL);
  char url[300];
  conn c;
  /* extra headers and Basic auth reach the server */
  snprintf(url, sizeof url, "ws://u:pw@127.0.0.1:%d/headers", py);
  memset(&c, 0, sizeof c);
  c.ws = fl_ws_new(NULL);
  c.req = fl_request_new("GET", url);
  fl_request_add_header(c.req, "X-Flurry-Test", "yes");
  fl_ws_on_message(c.ws, on_message, &c);
  fl_ws_on_close(c.ws, on_close, &c);
  CHECK_EQ_INT(fl_ws_connect(c.ws, client, c.req, on_open, &c), 0);
  RUN_UNTIL(c.opened && (c.open_err || c.n == 1));
  CHECK_EQ_INT(c.open_err, 0);
  CHECK(strstr(c.last, "\"X-Flurry-Test\": \"yes\""));
  CHECK(strstr(c.last, "\"Authorization\": \"Basic dTpwdw==\""));
  CHECK(strstr(c.last, "\"Sec-WebSocket-Version\": \"13\""));
  echo_and_close(&c, "x");
  free_conn(&c);
  /* cookies from the jar */
  snprintf(url, sizeof url, "ws://127.0.0.1:%d/hs/cookie", raw);
  char http[300];
  snprintf(http, sizeof http, "http://127.0.0.1:%d/", raw);
  CHECK_EQ_INT(fl_client_cookies_set(client, http, "s=1; Path=/"), 0);
  CHECK_EQ_INT(open_conn(&c, client, url, NULL), 0);
  RUN_UNTIL(c.n == 1);
  CHECK_EQ_STR(c.last, "s=1");
  echo_and_close(&c, "y");
  free_conn(&c);
  /* a redirect before the 101 is followed */
  snprintf(url, sizeof url, "ws://127.0.0.1:%d/hs/redirect?to=/echo", raw);
  CHECK_EQ_INT(open_conn(&c, client, url, NULL), 0);
  CHECK(strstr(fl_request_effective_url(c.req), "/echo"));
  echo_and_close(&c, "z");
  free_conn(&c);
  /* bytes that came with the 101 are the WebSocket's */
  snprintf(url, sizeof url, "ws://127.0.0.1:%d/early", raw);
  CHECK_EQ_INT(open_conn(&c, client, url, NULL), 0);
  RUN_UNTIL(c.n == 1);
  CHECK_EQ_STR(c.last, "early");
  echo_and_close(&c, "after early");
  free_conn(&c);
  /* wss through an HTTP proxy's CONNECT tunnel */
  fl_client *via = new_client(NULL);
  fl_client_free(via);
  char purl[100];
  snprintf(purl, sizeof purl, "http://127.0.0.1:%d", proxy);
  via = new_client(purl);
  snprintf(url, sizeof url, "wss://localhost:%d/echo", pys);
  CHECK_EQ_INT(open_conn(&c, via, url, NULL), 0);
  echo_and_close(&c, "tunneled");
  free_conn(&c);
  fl_client_free(via);
  /* TLS verification is on: an unknown CA fails the connect */
  fl_client_options o;
  fl_client_options_init(&o);
  fl_client *strict = fl_client_new(loop, &o); /* system store: no test CA */
  CHECK_EQ_INT(open_conn(&c, strict, url, NULL), FL_ECERT_VERIFY);
  free_conn(&c);
  fl_client_free(strict);
  fl_client_free(client);
}

/* The raw server's record of the close code we sent for key. */
static void check_sent_code(fl_client *client, const char *key, const char *want) {
  char url[200];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/_close?k=%s", raw, key);
  for (int i = 0; i < 100; i++) {
    fl_request *r = fl_test_get(client, url, 0);
    size_t n;
    const char *body = fl_response_body(fl_request_response(r), &n);
    int done = n > 0;
    if (done && strcmp(body, want) != 0) {
      fprintf(stderr, "%s: the server got close %s, want %s\n", key, body, want);
      exit(1);
    }
    fl_request_free(r);
    if (done) return;
    fl_loop_run(loop, FL_RUN_NOWAIT);
  }
  fprintf(stderr, "%s: the server recorded no close\n", key);
  exit(1);
}

static void test_bad_handshakes(void) {
  fl_client *client = new_client(NULL);
  char url[300];
  conn c;
  snprintf(url, sizeof url, "ws://127.0.0.1:%d/hs/refuse", raw);
  CHECK_EQ_INT(open_conn(&c, client, url, NULL), FL_EWS_REFUSED);
  CHECK_EQ_INT(fl_response_status(fl_request_response(c.req)), 403);
  size_t n;
  CHECK_EQ_STR(fl_response_body(fl_request_response(c.req), &n), "go away");
  CHECK_EQ_INT(c.closes, 0);
  free_conn(&c);
  static const char *const bad[] = {
      "/hs/wrongaccept",
      "/hs/noupgrade",
      "/hs/ext?v=permessage-deflate;%20foo",
      "/hs/ext?v=permessage-deflate;%20server_no_context_takeover;%20server_no_context_takeover",
      "/hs/ext?v=permessage-deflate;%20server_max_window_bits=7",
      "/hs/ext?v=permessage-deflate;%20client_max_window_bits=16",
      "/hs/ext?v=permessage-deflate,%20permessage-deflate",
      "/hs/ext?v=x-webkit-deflate-frame",
      "/hs/proto?v=other",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    snprintf(url, sizeof url, "ws://127.0.0.1:%d%s", raw, bad[i]);
    int e = open_conn(&c, client, url, NULL);
    if (e != FL_EWS_HANDSHAKE) {
      fprintf(stderr, "%s: %d (%s), want FL_EWS_HANDSHAKE\n", bad[i], e, fl_ws_errmsg(c.ws));
      exit(1);
    }
    free_conn(&c);
  }
  /* an extension answer the client did not offer */
  fl_ws_options o;
  fl_ws_options_init(&o);
  o.compress = 0;
  snprintf(url, sizeof url, "ws://127.0.0.1:%d/hs/ext?v=permessage-deflate", raw);
  CHECK_EQ_INT(open_conn(&c, client, url, &o), FL_EWS_HANDSHAKE);
  free_conn(&c);
  /* a good answer still opens */
  snprintf(url, sizeof url,
           "ws://127.0.0.1:%d/hs/ext?v=permessage-deflate;%%20server_max_window_bits=\"10\"", raw);
  CHECK_EQ_INT(open_conn(&c, client, url, NULL), 0);
  echo_and_close(&c, "compressed, and echoed as sent");
  free_conn(&c);
  /* cancelling a connect: abort reports FL_ECANCELED once; free says nothing */
  snprintf(url, sizeof url, "ws://127.0.0.1:%d/echo", raw);
  memset(&c, 0, sizeof c);
  c.ws = fl_ws_new(NULL);
  c.req = fl_request_new("GET", url);
  CHECK_EQ_INT(fl_ws_connect(c.ws, client, c.req, on_open, &c), 0);
  CHECK_EQ_INT(fl_ws_abort(c.ws), 0);
  RUN_UNTIL(c.opened == 1);
  CHECK_EQ_INT(c.open_err, FL_ECANCELED);
  free_conn(&c);
  memset(&c, 0, sizeof c);
  c.ws = fl_ws_new(NULL);
  c.req = fl_request_new("GET", url);
  CHECK_EQ_INT(fl_ws_connect(c.ws, client, c.req, on_open, &c), 0);
  fl_ws_free(c.ws);
  for (int i = 0; i < 20; i++) fl_loop_run(loop, FL_RUN_NOWAIT);
  CHECK_EQ_INT(c.opened, 0);
  fl_request_free(c.req);
  fl_client_free(client);
}

static void test_bad_frames(void) {
  fl_client *client = new_client(NULL);
  static const struct {
    const char *name;
    int err, code;
  } cases[] = {
      {"masked", FL_EWS_PROTOCOL, 1002},      {"rsv1", FL_EWS_PROTOCOL, 1002},
      {"rsv2", FL_EWS_PROTOCOL, 1002},        {"rsv3", FL_EWS_PROTOCOL, 1002},
      {"opcode3", FL_EWS_PROTOCOL, 1002},     {"opcodeB", FL_EWS_PROTOCOL, 1002},
      {"ping126", FL_EWS_PROTOCOL, 1002},     {"fragping", FL_EWS_PROTOCOL, 1002},
      {"fragclose", FL_EWS_PROTOCOL, 1002},   {"cont", FL_EWS_PROTOCOL, 1002},
      {"utf8", FL_EWS_PROTOCOL, 1007},        {"utf8frag", FL_EWS_PROTOCOL, 1007},
      {"closeutf8", FL_EWS_PROTOCOL, 1007},   {"close1", FL_EWS_PROTOCOL, 1002},
      {"len64", FL_EWS_TOO_BIG, 1009},        {"newmsg", FL_EWS_PROTOCOL, 1002},
      {"code?c=0", FL_EWS_PROTOCOL, 1002},    {"code?c=999", FL_EWS_PROTOCOL, 1002},
      {"code?c=1004", FL_EWS_PROTOCOL, 1002}, {"code?c=1005", FL_EWS_PROTOCOL, 1002},
      {"code?c=1006", FL_EWS_PROTOCOL, 1002}, {"code?c=1015", FL_EWS_PROTOCOL, 1002},
      {"code?c=5000", FL_EWS_PROTOCOL, 1002},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char url[200], key[16], want[16];
    snprintf(key, sizeof key, "b%zu", i);
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/bad/%s%sk=%s", raw, cases[i].name,
             strchr(cases[i].name, '?') ? "&" : "?", key);
    conn c;
    CHECK_EQ_INT(open_conn(&c, client, url, NULL), 0);
    RUN_UNTIL(c.closes == 1);
    if (c.close_err != cases[i].err || c.code != cases[i].code) {
      fprintf(stderr, "%s: %s/%d, want %s/%d (%s)\n", cases[i].name, fl_err_name(c.close_err),
              c.code, fl_err_name(cases[i].err), cases[i].code, fl_ws_errmsg(c.ws));
      exit(1);
    }
    CHECK_EQ_STR(c.last, "ok"); /* the good frame before it was delivered */
    snprintf(want, sizeof want, "%d", cases[i].code);
    check_sent_code(client, key, want); /* and other requests go on */
    free_conn(&c);
  }
  /* no close frame at all: 1006 */
  char url[200];
  snprintf(url, sizeof url, "ws://127.0.0.1:%d/drop", raw);
  conn c;
  CHECK_EQ_INT(open_conn(&c, client, url, NULL), 0);
  RUN_UNTIL(c.closes == 1);
  CHECK_EQ_INT(c.close_err, FL_EWS_ABNORMAL);
  CHECK_EQ_INT(c.code, 1006);
  free_conn(&c);
  /* a silent server and a read timeout */
  fl_ws_options o;
  fl_ws_options_init(&o);
  o.read_timeout_ms = 200;
  snprintf(url, sizeof url, "ws://127.0.0.1:%d/silent", raw);
  CHECK_EQ_INT(open_conn(&c, client, url, &o), 0);
  RUN_UNTIL(c.closes == 1);
  CHECK_EQ_INT(c.close_err, FL_EREAD_TIMEOUT);
  free_conn(&c);
  fl_client_free(client);
}

/* The echo client of the README, as a coroutine. */
typedef struct echo {
  fl_coro co;
  fl_client *client;
  fl_request *req;
  fl_ws *ws;
  fl_ws_msg msg;
  int replies;
} echo;

static void echo_body(fl_coro *co) {
  echo *e = FL_CORO_SELF(co, echo, co);
  FL_CORO_BEGIN(co);
  FL_AWAIT_WS_CONNECT(co, e->ws, e->client, e->req);
  if (co->err) FL_CORO_EXIT(co);
  fl_ws_send(e->ws, FL_WS_TEXT, "one", 3);
  fl_ws_send(e->ws, FL_WS_TEXT, "two", 3);
  for (;;) {
    FL_AWAIT_WS_RECV(co, e->ws, &e->msg);
    if (co->err || e->msg.type == FL_WS_CLOSE) break;
    if (++e->replies == 2) fl_ws_close(e->ws, 1000, NULL);
  }
  FL_CORO_END(co);
}

static void test_coroutine(void) {
  echo e = {0};
  e.client = new_client(NULL);
  char url[200];
  snprintf(url, sizeof url, "wss://localhost:%d/echo", nodes);
  e.req = fl_request_new("GET", url);
  e.ws = fl_ws_new(NULL);
  fl_coro_start(&e.co, echo_body, NULL, NULL);
  RUN_UNTIL(fl_coro_ended(&e.co));
  CHECK_EQ_INT(e.co.err, 0);
  CHECK_EQ_INT(e.replies, 2);
  CHECK_EQ_INT(e.msg.type, FL_WS_CLOSE);
  CHECK_EQ_INT(e.msg.err, 0);
  CHECK_EQ_INT(e.msg.code, 1000);
  fl_ws_free(e.ws);
  fl_request_free(e.req);
  fl_client_free(e.client);
}

int main(void) {
  int fds = fl_test_count_fds();
  snprintf(ca, sizeof ca, "%s", fl_test_rundir_path("nginx_tls/ca.pem"));
  char tls[1100];
  snprintf(tls, sizeof tls, "--tls-dir=%s", fl_test_rundir_path("nginx_tls"));
  py = fl_test_script_start("ws_server.py", NULL);
  node = fl_test_script_start("ws_server.py", "--node");
  pys = fl_test_script_start("ws_server.py", tls);
  char ntls[1200];
  snprintf(ntls, sizeof ntls, "--node-tls=%s", fl_test_rundir_path("nginx_tls"));
  nodes = fl_test_script_start("ws_server.py", ntls);
  raw = fl_test_script_start("ws_raw_server.py", NULL);
  proxy = fl_test_script_start("proxy_server.py", NULL);
  int fds_servers = fl_test_count_fds();
  loop = fl_loop_new();
  test_peers();
  test_outlives_request_and_client();
  test_client_path();
  test_bad_handshakes();
  test_bad_frames();
  test_coroutine();
  fl_loop_run(loop, FL_RUN_NOWAIT);
  CHECK_EQ_INT(fl_loop_free(loop), 0);
  CHECK_EQ_INT(fl_test_count_fds(), fds_servers);
  fl_test_fault_stop();
  (void)fds;
  printf("ok\n");
  return 0;
}
