/* HTTP/2 trailers (a HEADERS frame after the DATA) reach
 * fl_response_trailer, apart from the headers: over h2c and TLS, after a
 * short body and a long one, buffered, streamed, and on a stream paused
 * while they arrived; several streams with trailers on one connection. The
 * scripted server (tests/support/h2_server.py /trailers) sends x-trailer:
 * yes and x-checksum: abc. */
/* FIXTURES: nginx_tls */
/* TIMEOUT: 120 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flurry.h"
#include "test.h"

static fl_loop *loop;
static int h2c_port, tls_port;

static const char *url(int tls, const char *path) {
  static char buf[512];
  snprintf(buf, sizeof buf, "%s://127.0.0.1:%d%s", tls ? "https" : "http",
           tls ? tls_port : h2c_port, path);
  return buf;
}

static fl_client *client_new(int tls) {
  fl_client_options o;
  fl_client_options_init(&o);
  o.http_version = tls ? FL_HTTP_VERSION_2TLS : FL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
  if (tls) o.ca_file = fl_test_rundir_path("nginx_tls/ca.pem");
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  return c;
}

/* The two trailers, in order, and not among the headers. */
static void check_trailers(const fl_request *req) {
  const fl_response *res = fl_request_response(req);
  CHECK_EQ_INT(fl_response_version(res), 20);
  CHECK_EQ_INT(fl_response_status(res), 200);
  CHECK_EQ_INT(fl_response_trailer_count(res), 2);
  CHECK_EQ_STR(fl_response_trailer(res, "x-trailer"), "yes");
  CHECK_EQ_STR(fl_response_trailer(res, "X-Checksum"), "abc");
  const char *n, *v;
  CHECK_EQ_INT(fl_response_trailer_at(res, 0, &n, &v), 0);
  CHECK_EQ_STR(n, "x-trailer");
  CHECK_EQ_INT(fl_response_trailer_at(res, 1, &n, &v), 0);
  CHECK_EQ_STR(n, "x-checksum");
  CHECK(fl_response_header(res, "x-trailer") == NULL);
  CHECK(fl_response_header(res, "x-checksum") == NULL);
  CHECK_EQ_STR(fl_response_header(res, "content-type"), "text/plain");
}

static int body_ok(const char *p, size_t off, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != 'a' + (char)((off + i) % 26)) return 0;
  return 1;
}

static void test_buffered(int tls) {
  fl_client *c = client_new(tls);
  fl_request *r = fl_test_get(c, url(tls, "/trailers"), 0);
  size_t n;
  CHECK_EQ_STR(fl_response_body(fl_request_response(r), &n), "ok");
  check_trailers(r);
  fl_request_free(r);
  r = fl_test_get(c, url(tls, "/trailers?n=300000"), 0); /* past the stream window */
  const char *b = fl_response_body(fl_request_response(r), &n);
  CHECK_EQ_INT(n, 300000);
  CHECK(body_ok(b, 0, n));
  check_trailers(r);
  fl_request_free(r);
  fl_client_free(c);
}

struct streamed {
  size_t got;
  int bad, done, err, paused;
  fl_request *req;
};

static void resume_cb(fl_timer *t, void *data) {
  (void)t;
  struct streamed *s = data;
  fl_request_resume(s->req);
}

static fl_timer *resume_timer;

/* Takes the body as it comes; with paused set, pauses at the first chunk
 * until a timer resumes it (the rest, and the trailers, come meanwhile). */
static int on_body(fl_request *req, const char *p, size_t n, void *data) {
  struct streamed *s = data;
  if (!body_ok(p, s->got, n)) s->bad = 1;
  s->got += n;
  if (s->paused == 1) {
    s->paused = 2;
    fl_request_pause(req);
    CHECK_EQ_INT(fl_timer_start(resume_timer, 300, 0, resume_cb, s), 0);
  }
  return 0;
}

static void on_done(fl_request *req, int err, void *data) {
  (void)req;
  struct streamed *s = data;
  s->done++;
  s->err = err;
}

/* Streamed bodies, one paused while its end and trailers arrive, two
 * streams at once on one connection. */
static void test_streamed(int tls) {
  fl_client *c = client_new(tls);
  resume_timer = fl_timer_new(loop);
  CHECK(resume_timer);
  struct streamed s[2];
  memset(s, 0, sizeof s);
  s[0].paused = 1;
  for (int i = 0; i < 2; i++) {
    s[i].req = fl_request_new("GET", url(tls, "/trailers?n=200000"));
    fl_request_on_body(s[i].req, on_body, &s[i]);
    CHECK_EQ_INT(fl_request_send(c, s[i].req, on_done, &s[i]), 0);
  }
  fl_loop_run(loop, FL_RUN_DEFAULT);
  for (int i = 0; i < 2; i++) {
    CHECK_EQ_INT(s[i].done, 1);
    CHECK_EQ_INT(s[i].err, 0);
    CHECK_EQ_INT(s[i].got, 200000);
    CHECK_EQ_INT(s[i].bad, 0);
    check_trailers(s[i].req);
    CHECK_EQ_INT(fl_request_info(s[i].req)->http_version, 20);
    fl_request_free(s[i].req);
  }
  CHECK_EQ_INT(s[0].paused, 2);
  fl_pool_stats st;
  fl_client_pool_stats(c, &st);
  CHECK_EQ_INT(st.created, 1);
  fl_timer_free(resume_timer);
  fl_client_free(c);
}

int main(void) {
  FL_TEST_BEGIN();
  loop = fl_loop_new();
  CHECK(loop);
  h2c_port = fl_test_h2_server_start(0);
  tls_port = fl_test_h2_server_start(1);
  for (int tls = 0; tls <= 1; tls++) {
    test_buffered(tls);
    test_streamed(tls);
  }
  fl_loop_free(loop);
  FL_TEST_END();
}
