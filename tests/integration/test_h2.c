/* HTTP/2 through the library against nghttpd (tests/servers/nghttpd.sh):
 * h2c by prior knowledge and h2 by ALPN, many streams on one connection,
 * request bodies (fixed and streamed) echoed back, a cancelled stream whose
 * connection lives on, a paused stream that does not stall the others, and
 * which versions fail or fall back against an h2-only TLS server (nghttpd)
 * and an HTTP/1.1-only one (nginx_h2's h1 port). */
/* FIXTURES: nghttpd nginx_h2 */
/* TIMEOUT: 120 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flurry.h"
#include "test.h"

static fl_loop *loop;
static int tls_port, h2c_port;
static char urlbuf[512];

static const char *U(int tls, const char *path) {
  snprintf(urlbuf, sizeof urlbuf, "%s://127.0.0.1:%d%s", tls ? "https" : "http",
           tls ? tls_port : h2c_port, path);
  return urlbuf;
}

static fl_client *client_for(int version) {
  fl_client_options o;
  fl_client_options_init(&o);
  o.ca_file = fl_test_rundir_path("nghttpd/ca.pem");
  o.http_version = version;
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  return c;
}

struct result {
  int done, err;
  size_t streamed;
};

static void on_done(fl_request *req, int err, void *data) {
  (void)req;
  struct result *r = data;
  r->done++;
  r->err = err;
}

/* Many GETs at once over h2c: one connection, one stream each. */
static void test_many_streams_h2c(void) {
  enum { N = 20 };
  fl_client *c = client_for(FL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
  fl_request *reqs[N];
  struct result res[N];
  memset(res, 0, sizeof res);
  for (int i = 0; i < N; i++) {
    reqs[i] = fl_request_new("GET", U(0, "/small.txt"));
    CHECK_EQ_INT(fl_request_send(c, reqs[i], on_done, &res[i]), 0);
  }
  fl_loop_run(loop, FL_RUN_DEFAULT);
  uint32_t ids = 0;
  for (int i = 0; i < N; i++) {
    CHECK_EQ_INT(res[i].done, 1);
    CHECK_EQ_INT(res[i].err, 0);
    const fl_response *r = fl_request_response(reqs[i]);
    CHECK_EQ_INT(fl_response_status(r), 200);
    CHECK_EQ_INT(fl_response_version(r), 20);
    CHECK_EQ_STR(fl_response_reason(r), "");
    const fl_info *in = fl_request_info(reqs[i]);
    CHECK_EQ_INT(in->http_version, 20);
    CHECK(in->stream_id % 2 == 1);
    ids |= 1u << (in->stream_id / 2 % 32);
    fl_request_free(reqs[i]);
  }
  CHECK(ids != 0);
  fl_pool_stats st;
  fl_client_pool_stats(c, &st);
  CHECK_EQ_INT(st.created, 1);
  CHECK_EQ_INT(st.h2_connections, 1);
  CHECK_EQ_INT(st.h2_streams, N);
  /* nghttp2's heap is counted while the session lives (a session holds
   * its HPACK tables and buffers: tens of KB) and given back with it. */
  CHECK(st.h2_session_bytes > 8000 && st.h2_session_bytes < 1000000);
  fl_client_close_idle(c);
  for (int i = 0; i < 3; i++) fl_loop_run(loop, FL_RUN_NOWAIT);
  fl_client_pool_stats(c, &st);
  CHECK_EQ_INT(st.open, 0);
  CHECK_EQ_INT(st.h2_session_bytes, 0);
  fl_client_free(c);
}

/* TLS with ALPN: h2 agreed; the second request is a stream on the same
 * connection (reused). */
static void test_alpn(void) {
  fl_client *c = client_for(FL_HTTP_VERSION_DEFAULT);
  fl_request *a = fl_test_get(c, U(1, "/small.txt"), 0);
  CHECK_EQ_INT(fl_request_info(a)->http_version, 20);
  CHECK_EQ_INT(fl_request_info(a)->stream_id, 1);
  CHECK_EQ_INT(fl_request_info(a)->reused, 0);
  fl_request *b = fl_test_get(c, U(1, "/small.txt"), 0);
  CHECK_EQ_INT(fl_request_info(b)->stream_id, 3);
  CHECK_EQ_INT(fl_request_info(b)->reused, 1);
  fl_pool_stats st;
  fl_client_pool_stats(c, &st);
  CHECK_EQ_INT(st.created, 1);
  fl_request_free(a);
  fl_request_free(b);
  fl_client_free(c);
}

static long upload_cb(fl_request *req, char *buf, size_t cap, void *data) {
  (void)req;
  size_t *left = data;
  size_t n = cap < *left ? cap : *left;
  for (size_t i = 0; i < n; i++) buf[i] = (char)('a' + (*left - i) % 26);
  *left -= n;
  return (long)n;
}

/* Bodies go out under flow control (more than the 64 KiB initial window)
 * and come back whole. */
static void test_uploads(void) {
  fl_client *c = client_for(FL_HTTP_VERSION_DEFAULT);
  size_t n = 200000;
  char *body = malloc(n);
  for (size_t i = 0; i < n; i++) body[i] = (char)('A' + i % 23);
  fl_request *req = fl_request_new("POST", U(1, "/echo"));
  CHECK_EQ_INT(fl_request_set_body(req, body, n), 0);
  CHECK_EQ_INT(fl_request_perform(c, req), 0);
  size_t len;
  const char *got = fl_response_body(fl_request_response(req), &len);
  CHECK_EQ_INT(len, n);
  CHECK(memcmp(got, body, n) == 0);
  CHECK_EQ_INT(fl_request_info(req)->bytes_sent, n);
  fl_request_free(req);
  /* streamed, length unknown (no chunked framing on h2) */
  size_t left = 150000;
  req = fl_request_new("PUT", U(1, "/echo"));
  CHECK_EQ_INT(fl_request_set_upload(req, upload_cb, &left), 0);
  CHECK_EQ_INT(fl_request_perform(c, req), 0);
  fl_response_body(fl_request_response(req), &len);
  CHECK_EQ_INT(len, 150000);
  CHECK_EQ_INT(left, 0);
  fl_request_free(req);
  free(body);
  fl_client_free(c);
}

struct canceller {
  struct result r;
  int cancel_at_body;
};

static int cancel_body(fl_request *req, const char *chunk, size_t len, void *data) {
  (void)chunk;
  struct canceller *k = data;
  k->r.streamed += len;
  if (k->cancel_at_body) fl_request_cancel(req);
  k->cancel_at_body = 0;
  return 0;
}

/* Cancelling one stream resets it; the others on the connection finish. */
static void test_cancel_one_stream(void) {
  fl_client *c = client_for(FL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
  struct canceller k = {.cancel_at_body = 1};
  fl_request *a = fl_request_new("GET", U(0, "/big.bin"));
  fl_request_on_body(a, cancel_body, &k);
  struct result rb = {0}, rc = {0};
  fl_request *b = fl_request_new("GET", U(0, "/big.bin"));
  fl_request *d = fl_request_new("GET", U(0, "/100k.bin"));
  CHECK_EQ_INT(fl_request_send(c, a, on_done, &k.r), 0);
  CHECK_EQ_INT(fl_request_send(c, b, on_done, &rb), 0);
  CHECK_EQ_INT(fl_request_send(c, d, on_done, &rc), 0);
  fl_loop_run(loop, FL_RUN_DEFAULT);
  CHECK_EQ_INT(k.r.err, FL_ECANCELED);
  CHECK_EQ_INT(rb.err, 0);
  CHECK_EQ_INT(rc.err, 0);
  size_t len;
  fl_response_body(fl_request_response(b), &len);
  CHECK_EQ_INT(len, 1024 * 1024);
  fl_response_body(fl_request_response(d), &len);
  CHECK_EQ_INT(len, 102400);
  fl_pool_stats st;
  fl_client_pool_stats(c, &st);
  CHECK_EQ_INT(st.created, 1); /* the connection lived on */
  fl_request *e = fl_test_get(c, U(0, "/small.txt"), 0);
  fl_client_pool_stats(c, &st);
  CHECK_EQ_INT(st.created, 1);
  fl_request_free(a);
  fl_request_free(b);
  fl_request_free(d);
  fl_request_free(e);
  fl_client_free(c);
}

/* A request cancelled as soon as it was sent on an open connection (its
 * HEADERS still in nghttp2's queue, the stream unknown to nghttp2) and
 * freed: its stream is cancelled too, so no late response reaches the
 * freed request (ASan) or a later one, and the connection's count of
 * streams stays right (it hung the next requests when it did not). */
static void test_cancel_before_headers_left(void) {
  fl_client *c = client_for(FL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
  fl_request *first = fl_test_get(c, U(0, "/small.txt"), 0); /* open, SETTINGS seen */
  fl_request_free(first);
  for (int round = 0; round < 3; round++) {
    struct result rx = {0}, ry = {0};
    fl_request *x = fl_request_new("GET", U(0, "/100k.bin"));
    fl_request *y = fl_request_new("GET", U(0, "/small.txt"));
    CHECK_EQ_INT(fl_request_send(c, x, on_done, &rx), 0);
    CHECK_EQ_INT(fl_request_send(c, y, on_done, &ry), 0);
    CHECK_EQ_INT(fl_request_cancel(x), 0);
    fl_loop_run(loop, FL_RUN_DEFAULT);
    CHECK_EQ_INT(rx.done, 1);
    CHECK_EQ_INT(rx.err, FL_ECANCELED);
    fl_request_free(x);
    CHECK_EQ_INT(ry.done, 1);
    CHECK_EQ_INT(ry.err, 0);
    size_t len;
    CHECK_EQ_STR(fl_response_body(fl_request_response(y), &len), "small file\n");
    /* sent again at once, cancelled again: the same request object */
    CHECK_EQ_INT(fl_request_send(c, y, on_done, &ry), 0);
    CHECK_EQ_INT(fl_request_cancel(y), 0);
    fl_loop_run(loop, FL_RUN_DEFAULT);
    CHECK_EQ_INT(ry.done, 2);
    CHECK_EQ_INT(ry.err, FL_ECANCELED);
    fl_request_free(y);
  }
  /* more streams than were ever open at once still go on that connection */
  enum { N = 8 };
  fl_request *r[N];
  struct result res[N];
  memset(res, 0, sizeof res);
  for (int i = 0; i < N; i++) {
    r[i] = fl_request_new("GET", U(0, "/small.txt"));
    CHECK_EQ_INT(fl_request_send(c, r[i], on_done, &res[i]), 0);
  }
  fl_loop_run(loop, FL_RUN_DEFAULT);
  for (int i = 0; i < N; i++) {
    CHECK_EQ_INT(res[i].done, 1);
    CHECK_EQ_INT(res[i].err, 0);
    fl_request_free(r[i]);
  }
  fl_pool_stats st;
  fl_client_pool_stats(c, &st);
  CHECK_EQ_INT(st.created, 1);
  CHECK_EQ_INT(st.in_use, 0);
  CHECK_EQ_INT(st.idle, 1);
  fl_client_free(c);
}

struct pauser {
  struct result r;
  int paused_once;
  fl_request *other; /* its completion resumes us */
  struct result *other_r;
};

static int pause_body(fl_request *req, const char *chunk, size_t len, void *data) {
  (void)chunk;
  struct pauser *p = data;
  p->r.streamed += len;
  if (!p->paused_once) {
    p->paused_once = 1;
    fl_request_pause(req);
  }
  return 0;
}

static struct pauser *resume_me;
static fl_request *resume_req;
static int resumed_after_other;

static void other_done(fl_request *req, int err, void *data) {
  on_done(req, err, data);
  resumed_after_other = resume_me->r.done == 0; /* the paused one had not finished */
  fl_request_resume(resume_req);
}

/* A paused stream holds its own bytes: another stream of the same
 * connection finishes meanwhile; resumed, it gets every byte. */
static void test_pause_per_stream(void) {
  fl_client *c = client_for(FL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
  struct pauser p = {0};
  struct result rb = {0};
  fl_request *a = fl_request_new("GET", U(0, "/big.bin"));
  fl_request_on_body(a, pause_body, &p);
  fl_request *b = fl_request_new("GET", U(0, "/big.bin"));
  resume_me = &p;
  resume_req = a;
  CHECK_EQ_INT(fl_request_send(c, a, on_done, &p.r), 0);
  CHECK_EQ_INT(fl_request_send(c, b, other_done, &rb), 0);
  fl_loop_run(loop, FL_RUN_DEFAULT);
  CHECK_EQ_INT(rb.err, 0);
  CHECK_EQ_INT(resumed_after_other, 1);
  CHECK_EQ_INT(p.r.err, 0);
  CHECK_EQ_INT(p.r.streamed, 1024 * 1024);
  fl_pool_stats st;
  fl_client_pool_stats(c, &st);
  CHECK_EQ_INT(st.created, 1);
  fl_request_free(a);
  fl_request_free(b);
  fl_client_free(c);
}

/* Per-request HTTP/1.1 against an h2-only TLS server (nghttpd): no ALPN in
 * common, nghttpd goes on without and closes at the HTTP/1.1 request: an
 * error (empty reply, as curl --http1.1 says there), not a hang;
 * FL_HTTP_VERSION_2_ONLY on it works. Against an HTTP/1.1-only TLS server
 * (nginx_h2's h1 port, ALPN http/1.1): FL_HTTP_VERSION_2_ONLY fails with
 * FL_EHTTP2 saying why, FL_HTTP_VERSION_2TLS (and the default) falls back
 * to HTTP/1.1. */
static void test_versions(void) {
  fl_client *c = client_for(FL_HTTP_VERSION_DEFAULT);
  fl_request *req = fl_request_new("GET", U(1, "/small.txt"));
  CHECK_EQ_INT(fl_request_set_http_version(req, 99), FL_EINVAL);
  CHECK_EQ_INT(fl_request_set_http_version(req, FL_HTTP_VERSION_2_ONLY), 0);
  CHECK_EQ_INT(fl_request_perform(c, req), 0);
  CHECK_EQ_INT(fl_request_info(req)->http_version, 20);
  fl_request_free(req);
  req = fl_request_new("GET", U(1, "/small.txt"));
  CHECK_EQ_INT(fl_request_set_http_version(req, FL_HTTP_VERSION_1_1), 0);
  fl_test_perform(c, req, FL_EEMPTY_REPLY);
  fl_request_free(req);
  fl_client_options o;
  fl_client_options_init(&o);
  o.http_version = 42;
  CHECK(fl_client_new(loop, &o) == NULL);
  fl_client_free(c);

  char h1url[128];
  snprintf(h1url, sizeof h1url, "https://localhost:%d/hello", fl_test_server_port("nginx_h2.h1"));
  const int versions[] = {FL_HTTP_VERSION_2_ONLY, FL_HTTP_VERSION_2TLS, FL_HTTP_VERSION_DEFAULT};
  for (int i = 0; i < 3; i++) {
    fl_client_options_init(&o);
    o.ca_file = fl_test_rundir_path("nginx_h2/ca.pem");
    o.http_version = versions[i];
    c = fl_client_new(loop, &o);
    CHECK(c);
    if (versions[i] == FL_HTTP_VERSION_2_ONLY) {
      req = fl_test_get(c, h1url, FL_EHTTP2);
      CHECK(strstr(fl_request_errmsg(req), "did not agree on HTTP/2"));
      CHECK_EQ_INT(fl_err_curl_code(FL_EHTTP2), 16);
    } else {
      req = fl_test_get(c, h1url, 0);
      CHECK_EQ_INT(fl_request_info(req)->http_version, 11);
      CHECK_EQ_INT(fl_response_version(fl_request_response(req)), 11);
      CHECK_EQ_INT(fl_response_status(fl_request_response(req)), 200);
    }
    fl_request_free(req);
    fl_client_free(c);
  }
}

static void nothing(fl_timer *t, void *data) {
  (void)t;
  (void)data;
}

/* PING keep-alive: an idle connection pinged every 500 ms (nghttpd
 * acknowledges) is still the one the next request takes 1.6 s later. An
 * ACK missing at the next tick fails the connection, so the interval is
 * also the time nghttpd (shared with other tests) and a loaded machine
 * have to answer: 100 ms was too short for a busy CI run. */
static void test_ping(void) {
  fl_client_options o;
  fl_client_options_init(&o);
  o.http_version = FL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
  o.h2_ping_interval_ms = 500;
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  fl_request *a = fl_test_get(c, U(0, "/small.txt"), 0);
  fl_timer *t = fl_timer_new(loop);
  CHECK_EQ_INT(fl_timer_start(t, 1600, 0, nothing, NULL), 0);
  fl_loop_run(loop, FL_RUN_DEFAULT);
  fl_timer_free(t);
  fl_request *b = fl_test_get(c, U(0, "/small.txt"), 0);
  CHECK_EQ_INT(fl_request_info(b)->reused, 1);
  CHECK_EQ_INT(fl_request_info(b)->stream_id, 3);
  fl_pool_stats st;
  fl_client_pool_stats(c, &st);
  CHECK_EQ_INT(st.created, 1);
  fl_request_free(a);
  fl_request_free(b);
  fl_client_free(c);
}

int main(void) {
  FL_TEST_BEGIN();
  tls_port = fl_test_server_port("nghttpd");
  h2c_port = fl_test_server_port("nghttpd.h2c");
  loop = fl_loop_new();
  test_many_streams_h2c();
  test_alpn();
  test_uploads();
  test_cancel_one_stream();
  test_cancel_before_headers_left();
  test_pause_per_stream();
  test_versions();
  test_ping();
  fl_loop_free(loop);
  FL_TEST_END();
}
