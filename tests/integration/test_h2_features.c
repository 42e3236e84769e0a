/* fl_request features on HTTP/2 streams, against the scripted server
 * (tests/support/h2_server.py, its feat-* routes), each response checked to
 * have come over h2: Basic and Digest authentication (a 401 challenge
 * answered on a stream of the same connection), cookies set on one stream
 * and sent on the next, a multipart form echoed back whole, no Expect:
 * 100-continue on h2 (a large body does not wait), status retries and rate
 * limits, the first-byte, connect and pool timeouts, a window that never
 * opens (the read timeout; the connection's other streams go on), a 103
 * head reaching the trace and event hooks, and PING keep-alive without
 * an ACK (FL_EHTTP2). h2c throughout; auth also over TLS (ALPN h2). */
/* FIXTURES: nginx_tls */
/* LABELS: valgrind */
/* TIMEOUT: 120 */
#define _GNU_SOURCE /* memmem */
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "flurry.h"
#include "test.h"

static fl_loop *loop;
static int h2c_port, tls_port;

static const char *url(int tls, const char *path) {
  static char buf[4][512];
  static int i;
  char *b = buf[i++ % 4];
  snprintf(b, sizeof buf[0], "%s://127.0.0.1:%d%s", tls ? "https" : "http",
           tls ? tls_port : h2c_port, path);
  return b;
}

static void options(fl_client_options *o, int tls) {
  fl_client_options_init(o);
  o->http_version = tls ? FL_HTTP_VERSION_2TLS : FL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
  if (tls) o->ca_file = fl_test_rundir_path("nginx_tls/ca.pem");
}

static fl_client *client_new(int tls) {
  fl_client_options o;
  options(&o, tls);
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  return c;
}

static const char *body(const fl_request *r) {
  return fl_response_body(fl_request_response(r), NULL);
}
static int status(const fl_request *r) { return fl_response_status(fl_request_response(r)); }

/* A response that came whole over HTTP/2. */
static void check_h2(const fl_request *r, int want_status) {
  CHECK_EQ_INT(fl_request_info(r)->http_version, 20);
  CHECK_EQ_INT(fl_response_version(fl_request_response(r)), 20);
  CHECK(fl_request_info(r)->stream_id % 2 == 1);
  CHECK_EQ_INT(status(r), want_status);
}

static int connections_made(const fl_client *c) {
  fl_pool_stats st;
  fl_client_pool_stats(c, &st);
  return (int)st.created;
}

/* The server's record for key k: /_stats or /_log (a fresh client, so the
 * client under test sees no extra stream). Static buffer. */
static const char *server_record(int tls, const char *what, const char *k) {
  static char out[65536];
  char path[128];
  snprintf(path, sizeof path, "/_%s?k=%s", what, k);
  fl_client *c = client_new(tls);
  fl_request *r = fl_test_get(c, url(tls, path), 0);
  size_t n;
  const char *b = fl_response_body(fl_request_response(r), &n);
  CHECK(n < sizeof out);
  memcpy(out, b, n);
  out[n] = '\0';
  fl_request_free(r);
  fl_client_free(c);
  return out;
}

/* ----------------------------------------------------- request heads seen */

typedef struct heads {
  int requests, responses;
  char resp[4][512]; /* the first response heads, as the trace gives them */
} heads;

static void on_trace(fl_request *req, fl_trace_kind kind, const char *data, size_t len, void *ud) {
  (void)req;
  heads *h = ud;
  if (kind == FL_TRACE_REQUEST_HEAD) {
    h->requests++;
    return;
  }
  if (h->responses < 4) {
    size_t n = len < sizeof h->resp[0] - 1 ? len : sizeof h->resp[0] - 1;
    memcpy(h->resp[h->responses], data, n);
    h->resp[h->responses][n] = '\0';
  }
  h->responses++;
}

static fl_request *traced(const char *method, const char *u, heads *h) {
  memset(h, 0, sizeof *h);
  fl_request *r = fl_request_new(method, u);
  CHECK(r);
  fl_request_on_trace(r, on_trace, h);
  return r;
}

/* ---------------------------------------------------------------- auth */

/* r carries a wrong password: the server's second 401 is the result. Then
 * the client goes, having used one connection for all its requests. */
static void wrong_password_then_done(fl_client *c, fl_request *r, const heads *h) {
  fl_test_perform(c, r, 0);
  check_h2(r, 401);
  CHECK_EQ_INT(h->requests, 2);
  fl_request_free(r);
  CHECK_EQ_INT(connections_made(c), 1);
  fl_client_free(c);
}

static void test_basic(int tls) {
  fl_client *c = client_new(tls);
  heads h;
  /* Sent up front: one request. */
  fl_request *r = traced("GET", url(tls, "/feat-basic?u=ann&p=s3cret"), &h);
  CHECK_EQ_INT(fl_request_set_basic_auth(r, "ann", "s3cret"), 0);
  fl_test_perform(c, r, 0);
  check_h2(r, 200);
  CHECK_EQ_STR(body(r), "basic ok\n");
  CHECK_EQ_INT(h.requests, 1);
  fl_request_free(r);
  /* Answering the server's challenge (any auth): the 401, then the
   * credentials on another stream of the same connection. */
  r = traced("GET", url(tls, "/feat-basic?u=bob&p=pw"), &h);
  CHECK_EQ_INT(fl_request_set_any_auth(r, "bob", "pw"), 0);
  fl_test_perform(c, r, 0);
  check_h2(r, 200);
  CHECK_EQ_STR(body(r), "basic ok\n");
  CHECK_EQ_INT(h.requests, 2);
  CHECK_EQ_INT(h.responses, 2);
  CHECK(strncmp(h.resp[0], "HTTP/2 401 \r\n", 13) == 0);
  CHECK(strstr(h.resp[0], "www-authenticate: Basic realm=\"feat\"\r\n"));
  CHECK_EQ_INT(fl_request_info(r)->reused, 1);
  fl_request_free(r);
  r = traced("GET", url(tls, "/feat-basic?u=bob&p=pw"), &h);
  CHECK_EQ_INT(fl_request_set_any_auth(r, "bob", "wrong"), 0);
  wrong_password_then_done(c, r, &h);
}

/* Streams 'a'..'z' over and over, *data bytes in all. */
static long upload_cb(fl_request *req, char *buf, size_t cap, void *data) {
  (void)req;
  size_t *left = data;
  size_t n = cap < *left ? cap : *left;
  size_t off = 70000 - *left;
  for (size_t i = 0; i < n; i++) buf[i] = (char)('a' + (off + i) % 26);
  *left -= n;
  return (long)n;
}

static void test_digest(int tls) {
  fl_client *c = client_new(tls);
  heads h;
  const char *algs[] = {"MD5", "SHA-256"};
  for (int i = 0; i < 2; i++) {
    char path[128];
    snprintf(path, sizeof path, "/feat-digest?u=dee&p=pa55&alg=%s&k=dg%d%d", algs[i], tls, i);
    fl_request *r = traced("POST", url(tls, path), &h);
    CHECK_EQ_INT(fl_request_set_digest_auth(r, "dee", "pa55"), 0);
    CHECK_EQ_INT(fl_request_set_body(r, "the body", 8), 0);
    fl_test_perform(c, r, 0);
    check_h2(r, 200);
    /* the server checked the answer, and the body came with it */
    CHECK_EQ_STR(body(r), "digest ok\nthe body");
    CHECK_EQ_INT(h.requests, 2);
    CHECK(strncmp(h.resp[0], "HTTP/2 401 \r\n", 13) == 0);
    CHECK(strstr(h.resp[0], "www-authenticate: Digest realm=\"feat@h2\""));
    CHECK_EQ_INT(fl_request_info(r)->reused, 1);
    fl_request_free(r);
    /* both on the server: the challenged one without a body (as curl) */
    snprintf(path, sizeof path, "dg%d%d", tls, i);
    const char *log = server_record(tls, "log", path);
    CHECK(strstr(log, "[\"content-length\", \"0\"]"));
    CHECK(strstr(log, "[\"content-length\", \"8\"]"));
    CHECK(strstr(log, "[\"authorization\", \"Digest "));
  }
  /* A streamed body: none with the first request, all of it after the
   * challenge (no replay needed). */
  size_t left = 70000;
  fl_request *r = traced("PUT", url(tls, "/feat-digest?u=dee&p=pa55"), &h);
  CHECK_EQ_INT(fl_request_set_digest_auth(r, "dee", "pa55"), 0);
  CHECK_EQ_INT(fl_request_set_upload(r, upload_cb, &left), 0);
  fl_test_perform(c, r, 0);
  check_h2(r, 200);
  size_t n;
  const char *b = fl_response_body(fl_request_response(r), &n);
  CHECK_EQ_INT(n, 10 + 70000);
  CHECK(memcmp(b, "digest ok\n", 10) == 0);
  for (size_t i = 0; i < 70000; i++) CHECK(b[10 + i] == 'a' + (char)(i % 26));
  CHECK_EQ_INT(left, 0);
  fl_request_free(r);
  r = traced("GET", url(tls, "/feat-digest?u=dee&p=pa55"), &h);
  CHECK_EQ_INT(fl_request_set_digest_auth(r, "dee", "nope"), 0);
  wrong_password_then_done(c, r, &h);
}

/* ------------------------------------------------------------- cookies */

static void test_cookies(void) {
  fl_client *c = client_new(0);
  fl_request *a = fl_test_get(c, url(0, "/feat-set-cookie?c=sid%3Dabc%3B%20Path%3D%2F"), 0);
  check_h2(a, 200);
  fl_request *b = fl_test_get(c, url(0, "/feat-set-cookie?c=lang%3Den"), 0);
  check_h2(b, 200);
  fl_request *d = fl_test_get(c, url(0, "/headers"), 0);
  check_h2(d, 200);
  /* stream 5 of the one connection carries both cookies */
  CHECK_EQ_INT(fl_request_info(d)->stream_id, 5);
  CHECK_EQ_INT(connections_made(c), 1);
  const char *h = body(d);
  int sid = strstr(h, "[\"cookie\", \"sid=abc\"]") || strstr(h, "[\"cookie\", \"sid=abc; ") ||
            strstr(h, "; sid=abc\"]");
  int lang = strstr(h, "[\"cookie\", \"lang=en\"]") || strstr(h, "[\"cookie\", \"lang=en; ") ||
             strstr(h, "; lang=en\"]");
  if (!sid || !lang) fprintf(stderr, "request fields: %s\n", h);
  CHECK(sid && lang);
  /* set on a redirect's 302, sent on the next hop's stream */
  fl_request *e =
      fl_test_get(c, url(0, "/feat-redirect?to=%2Fheaders&c=hop%3D1%3B%20Path%3D%2Fheaders"), 0);
  check_h2(e, 200);
  CHECK_EQ_INT(fl_request_info(e)->redirects, 1);
  CHECK(strstr(body(e), "hop=1"));
  CHECK(strstr(body(e), "sid=abc"));
  fl_request_free(e);
  CHECK_EQ_INT(connections_made(c), 1);
  char *jar = fl_client_cookies_for(c, url(0, "/"));
  CHECK(jar && strstr(jar, "sid=abc") && strstr(jar, "lang=en"));
  free(jar);
  fl_request_free(a);
  fl_request_free(b);
  fl_request_free(d);
  fl_client_free(c);
}

/* ----------------------------------------------------------- multipart */

static void test_multipart(void) {
  enum { FILE_BYTES = 150000 }; /* past the 64 KiB stream window */
  char name[64], file_path[512];
  snprintf(name, sizeof name, "h2_features.%d.upload.bin", (int)getpid());
  snprintf(file_path, sizeof file_path, "%s", fl_test_rundir_path(name));
  FILE *f = fopen(file_path, "w");
  CHECK(f);
  char *content = malloc(FILE_BYTES);
  CHECK(content);
  for (int i = 0; i < FILE_BYTES; i++) content[i] = (char)('A' + (i * 7) % 53);
  CHECK_EQ_INT(fwrite(content, 1, FILE_BYTES, f), FILE_BYTES);
  fclose(f);
  fl_form *form = fl_form_new();
  CHECK(form);
  CHECK_EQ_INT(fl_form_add(form, "field", "a value"), 0);
  CHECK_EQ_INT(fl_form_add_file(form, "upload", file_path, "up.bin", "application/x-test"), 0);
  fl_client *c = client_new(0);
  fl_request *r = fl_request_new("POST", url(0, "/echo?k=mp"));
  CHECK_EQ_INT(fl_request_set_multipart(r, form), 0);
  fl_test_perform(c, r, 0);
  check_h2(r, 200);
  size_t n;
  const char *b = fl_response_body(fl_request_response(r), &n);
  CHECK_EQ_INT(n, fl_request_info(r)->bytes_sent);
  /* the boundary the server was told, and the body framed by it */
  const char *log = server_record(0, "log", "mp");
  const char *ct = strstr(log, "[\"content-type\", \"multipart/form-data; boundary=");
  CHECK(ct);
  ct += strlen("[\"content-type\", \"multipart/form-data; boundary=");
  char boundary[128];
  size_t blen = strcspn(ct, "\"");
  CHECK(blen > 0 && blen < sizeof boundary);
  memcpy(boundary, ct, blen);
  boundary[blen] = '\0';
  char want[512];
  snprintf(want, sizeof want, "[\"content-length\", \"%zu\"]", n);
  CHECK(strstr(log, want));
  snprintf(want, sizeof want,
           "--%s\r\nContent-Disposition: form-data; name=\"field\"\r\n\r\na value\r\n--%s\r\n",
           boundary, boundary);
  CHECK(n > strlen(want) && memcmp(b, want, strlen(want)) == 0);
  const char *file_head = "Content-Disposition: form-data; name=\"upload\"; filename=\"up.bin\"\r\n"
                          "Content-Type: application/x-test\r\n\r\n";
  const char *fh = strstr(b + strlen(want), file_head);
  CHECK(fh == b + strlen(want));
  const char *data = fh + strlen(file_head);
  CHECK((size_t)(data - b) + FILE_BYTES <= n);
  CHECK(memcmp(data, content, FILE_BYTES) == 0);
  snprintf(want, sizeof want, "\r\n--%s--\r\n", boundary);
  CHECK_EQ_INT(n, (size_t)(data - b) + FILE_BYTES + strlen(want));
  CHECK(memcmp(data + FILE_BYTES, want, strlen(want)) == 0);
  fl_request_free(r);
  /* a 307 sends the form again on the next hop's stream (produced anew,
   * the file read again); a 303 turns it into a GET without a body */
  r = fl_request_new("POST", url(0, "/feat-redirect?code=307&to=%2Fecho%3Fk%3Dmp307"));
  CHECK_EQ_INT(fl_request_set_multipart(r, form), 0);
  fl_test_perform(c, r, 0);
  check_h2(r, 200);
  CHECK_EQ_INT(fl_request_info(r)->redirects, 1);
  size_t n2;
  const char *b2 = fl_response_body(fl_request_response(r), &n2);
  CHECK_EQ_INT(n2, n);
  CHECK(memmem(b2, n2, content, FILE_BYTES) != NULL);
  CHECK(strstr(server_record(0, "log", "mp307"), "[\":method\", \"POST\"]"));
  fl_request_free(r);
  r = fl_request_new("POST", url(0, "/feat-redirect?code=303&to=%2Fecho%3Fk%3Dmp303"));
  CHECK_EQ_INT(fl_request_set_multipart(r, form), 0);
  fl_test_perform(c, r, 0);
  check_h2(r, 200);
  fl_response_body(fl_request_response(r), &n2);
  CHECK_EQ_INT(n2, 0);
  CHECK_EQ_STR(fl_response_header(fl_request_response(r), "x-method"), "GET");
  fl_request_free(r);
  CHECK_EQ_INT(connections_made(c), 1);
  fl_client_free(c);
  fl_form_free(form);
  free(content);
  unlink(file_path);
}

/* -------------------------------------------------------------- Expect */

/* A body far over the Expect threshold, with a 100-continue wait longer
 * than the request's total timeout: on HTTP/1.1 it would wait; on h2 no
 * expect field goes and the body follows the HEADERS at once. */
static void test_no_expect(void) {
  enum { N = 300000 };
  fl_client_options o;
  options(&o, 0);
  o.expect_100_threshold = 1000;
  o.expect_100_timeout_ms = 60000;
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  char *data = malloc(N);
  CHECK(data);
  for (int i = 0; i < N; i++) data[i] = (char)('a' + i % 26);
  fl_request *r = fl_request_new("PUT", url(0, "/echo?k=exp"));
  CHECK_EQ_INT(fl_request_set_body(r, data, N), 0);
  fl_timeouts t = {.total_ms = 20000};
  fl_request_set_timeouts(r, &t);
  fl_test_perform(c, r, 0);
  check_h2(r, 200);
  size_t n;
  const char *b = fl_response_body(fl_request_response(r), &n);
  CHECK_EQ_INT(n, N);
  CHECK(memcmp(b, data, N) == 0);
  fl_request_free(r);
  /* also when the request asks for it itself */
  r = fl_request_new("PUT", url(0, "/echo?k=exp"));
  CHECK_EQ_INT(fl_request_set_body(r, data, N), 0);
  CHECK_EQ_INT(fl_request_set_header(r, "Expect", "100-continue"), 0);
  fl_request_set_timeouts(r, &t);
  fl_test_perform(c, r, 0);
  check_h2(r, 200);
  fl_response_body(fl_request_response(r), &n);
  CHECK_EQ_INT(n, N);
  fl_request_free(r);
  const char *log = server_record(0, "log", "exp");
  CHECK(strstr(log, "[\"content-length\", \"300000\"]"));
  if (strstr(log, "\"expect\"")) fprintf(stderr, "request fields: %s\n", log);
  CHECK(strstr(log, "\"expect\"") == NULL);
  free(data);
  fl_client_free(c);
}

/* ------------------------------------------------ retries, rate limits */

static void test_retries(void) {
  fl_client_options o;
  options(&o, 0);
  fl_retry_policy_init(&o.retry);
  o.retry.max_retries = 3;
  o.retry.backoff_base_ms = 10;
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  /* 503, 503, then 200: three streams on one connection */
  fl_request *r = fl_test_get(c, url(0, "/feat-flaky?k=rt1&fail=2"), 0);
  check_h2(r, 200);
  CHECK_EQ_STR(body(r), "ok");
  CHECK_EQ_INT(fl_request_info(r)->attempts, 3);
  CHECK_EQ_INT(fl_request_info(r)->stream_id, 5);
  fl_request_free(r);
  CHECK(strstr(server_record(0, "stats", "rt1"), "\"connections\": 1, \"requests\": 3,"));
  /* past max_retries: the last 503 is the result */
  r = fl_test_get(c, url(0, "/feat-flaky?k=rt2&fail=9"), 0);
  check_h2(r, 503);
  CHECK_EQ_STR(body(r), "fail 4\n");
  CHECK_EQ_INT(fl_request_info(r)->attempts, 4);
  fl_request_free(r);
  /* a PUT's body goes again, whole, on the retry's stream */
  char *put = malloc(100000);
  CHECK(put);
  for (int i = 0; i < 100000; i++) put[i] = (char)('a' + i % 23);
  r = fl_request_new("PUT", url(0, "/feat-flaky?k=rt4&fail=1"));
  CHECK_EQ_INT(fl_request_set_body(r, put, 100000), 0);
  fl_test_perform(c, r, 0);
  check_h2(r, 200);
  CHECK_EQ_INT(fl_request_info(r)->attempts, 2);
  size_t n;
  const char *b = fl_response_body(fl_request_response(r), &n);
  CHECK_EQ_INT(n, 100000);
  CHECK(memcmp(b, put, n) == 0);
  fl_request_free(r);
  free(put);
  /* a first-byte timeout is a transient error: the next stream answers */
  r = fl_request_new("GET", url(0, "/feat-flaky?k=rt5&fail=1&code=0"));
  fl_timeouts t = {.first_byte_ms = 300};
  fl_request_set_timeouts(r, &t);
  fl_test_perform(c, r, 0);
  check_h2(r, 200);
  CHECK_EQ_INT(fl_request_info(r)->attempts, 2);
  fl_request_free(r);
  /* a POST is not retried (not idempotent) */
  r = fl_request_new("POST", url(0, "/feat-flaky?k=rt3&fail=1"));
  CHECK_EQ_INT(fl_request_set_body(r, "x", 1), 0);
  fl_test_perform(c, r, 0);
  check_h2(r, 503);
  CHECK_EQ_INT(fl_request_info(r)->attempts, 1);
  fl_request_free(r);
  CHECK_EQ_INT(connections_made(c), 1);
  fl_client_free(c);
}

static int order_seen[8], norder;

static void record_order(fl_request *req, int err, void *data) {
  (void)req;
  CHECK_EQ_INT(err, 0);
  order_seen[norder++] = (int)(intptr_t)data;
}

/* 10 per second per host with a burst of 1: five requests sent at once
 * go one token after another, in order, on streams of one connection. */
static void test_rate_limit(void) {
  enum { N = 5 };
  fl_client_options o;
  options(&o, 0);
  o.rate_limit_per_host = 10;
  o.rate_burst = 1;
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  fl_request *r[N];
  norder = 0;
  uint64_t t0 = fl_loop_now(loop);
  for (int i = 0; i < N; i++) {
    r[i] = fl_request_new("GET", url(0, "/ok?k=rl"));
    CHECK_EQ_INT(fl_request_send(c, r[i], record_order, (void *)(intptr_t)i), 0);
  }
  fl_loop_run(loop, FL_RUN_DEFAULT);
  uint64_t took = fl_loop_now(loop) - t0;
  CHECK_EQ_INT(norder, N);
  CHECK_EQ_INT(fl_request_info(r[0])->throttled_us, 0);
  for (int i = 0; i < N; i++) {
    CHECK_EQ_INT(order_seen[i], i);
    check_h2(r[i], 200);
    if (i > 0) CHECK(fl_request_info(r[i])->throttled_us > fl_request_info(r[i - 1])->throttled_us);
  }
  /* four intervals of 100 ms at least (a lower bound only) */
  CHECK(took >= 350);
  CHECK(fl_request_info(r[N - 1])->throttled_us >= 350000);
  for (int i = 0; i < N; i++) fl_request_free(r[i]);
  CHECK(strstr(server_record(0, "stats", "rl"), "\"connections\": 1, \"requests\": 5,"));
  CHECK_EQ_INT(connections_made(c), 1);
  fl_client_free(c);
}

/* ------------------------------------------------------------ timeouts */

typedef struct outcome {
  int done, err;
} outcome;

static void on_done(fl_request *req, int err, void *data) {
  (void)req;
  outcome *o = data;
  o->done++;
  o->err = err;
}

/* A stream the server accepts and never answers: first_byte fires; the
 * stream beside it on the same connection is answered, and the connection
 * takes the next one. */
static void test_first_byte(void) {
  fl_client *c = client_new(0);
  outcome a = {0}, b = {0};
  fl_request *ra = fl_request_new("GET", url(0, "/feat-silent"));
  fl_timeouts t = {.first_byte_ms = 300};
  fl_request_set_timeouts(ra, &t);
  fl_request *rb = fl_request_new("GET", url(0, "/delay?ms=600"));
  CHECK_EQ_INT(fl_request_send(c, ra, on_done, &a), 0);
  CHECK_EQ_INT(fl_request_send(c, rb, on_done, &b), 0);
  fl_loop_run(loop, FL_RUN_DEFAULT);
  CHECK_EQ_INT(a.done, 1);
  CHECK_EQ_INT(a.err, FL_EFIRST_BYTE_TIMEOUT);
  CHECK(fl_request_errmsg(ra)[0]);
  CHECK_EQ_INT(b.done, 1);
  CHECK_EQ_INT(b.err, 0);
  check_h2(rb, 200);
  fl_request *rc = fl_test_get(c, url(0, "/ok"), 0);
  check_h2(rc, 200);
  CHECK_EQ_INT(fl_request_info(rc)->reused, 1);
  CHECK_EQ_INT(connections_made(c), 1);
  fl_request_free(ra);
  fl_request_free(rb);
  fl_request_free(rc);
  fl_client_free(c);
}

/* A TLS listener whose TCP handshake the kernel completes but that never
 * answers the ClientHello: the connect timeout (TCP + TLS) fires. */
static void test_connect(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK(fd >= 0);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  CHECK(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
  CHECK(listen(fd, 8) == 0);
  CHECK(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
  char u[128];
  snprintf(u, sizeof u, "https://127.0.0.1:%d/ok", ntohs(sa.sin_port));
  for (int version = FL_HTTP_VERSION_2TLS; version <= FL_HTTP_VERSION_2_ONLY; version++) {
    fl_client_options o;
    options(&o, 1);
    o.http_version = version;
    o.timeouts.connect_ms = 300;
    fl_client *c = fl_client_new(loop, &o);
    CHECK(c);
    fl_request *r = fl_test_get(c, u, FL_ECONNECT_TIMEOUT);
    fl_request_free(r);
    fl_client_free(c);
  }
  close(fd);
}

static fl_request *to_cancel;

static void cancel_other(fl_request *req, int err, void *data) {
  on_done(req, err, data);
  CHECK_EQ_INT(fl_request_cancel(to_cancel), 0);
}

/* The connection's one stream is taken (by the server's
 * SETTINGS_MAX_CONCURRENT_STREAMS 1, or the client's own cap) and no
 * other connection may open: the next request times out in the pool; once
 * the stream is free the connection takes the next one. */
static void test_pool(int client_cap) {
  fl_client_options o;
  options(&o, 0);
  o.max_connections = 1;
  if (client_cap) o.h2_max_concurrent_streams = 1;
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  fl_request *first = fl_test_get(c, url(0, client_cap ? "/ok" : "/conn/max-streams-1"), 0);
  check_h2(first, 200);
  outcome a = {0}, b = {0};
  fl_request *ra = fl_request_new("GET", url(0, "/feat-silent"));
  fl_request *rb = fl_request_new("GET", url(0, "/ok"));
  fl_timeouts t = {.pool_ms = 300};
  fl_request_set_timeouts(rb, &t);
  to_cancel = ra;
  CHECK_EQ_INT(fl_request_send(c, ra, on_done, &a), 0);
  CHECK_EQ_INT(fl_request_send(c, rb, cancel_other, &b), 0);
  fl_loop_run(loop, FL_RUN_DEFAULT);
  CHECK_EQ_INT(b.done, 1);
  CHECK_EQ_INT(b.err, FL_EPOOL_TIMEOUT);
  CHECK_EQ_INT(a.done, 1);
  CHECK_EQ_INT(a.err, FL_ECANCELED); /* it held the stream until then */
  fl_request *rc = fl_test_get(c, url(0, "/ok"), 0);
  check_h2(rc, 200);
  CHECK_EQ_INT(fl_request_info(rc)->stream_id, 5);
  CHECK_EQ_INT(connections_made(c), 1);
  fl_request_free(first);
  fl_request_free(ra);
  fl_request_free(rb);
  fl_request_free(rc);
  fl_client_free(c);
}

/* The server's SETTINGS_INITIAL_WINDOW_SIZE is 0 and no WINDOW_UPDATE ever
 * comes: a request body cannot start. Its read timeout fails it; a GET on
 * the same connection meanwhile, and one after, are answered. */
static void test_zero_window(void) {
  fl_client *c = client_new(0);
  fl_request *first = fl_test_get(c, url(0, "/conn/zero-window"), 0);
  check_h2(first, 200);
  outcome a = {0}, b = {0};
  fl_request *ra = fl_request_new("POST", url(0, "/echo"));
  CHECK_EQ_INT(fl_request_set_body(ra, "held back", 9), 0);
  fl_timeouts t = {.read_ms = 400};
  fl_request_set_timeouts(ra, &t);
  fl_request *rb = fl_request_new("GET", url(0, "/len?n=100000"));
  CHECK_EQ_INT(fl_request_send(c, ra, on_done, &a), 0);
  CHECK_EQ_INT(fl_request_send(c, rb, on_done, &b), 0);
  fl_loop_run(loop, FL_RUN_DEFAULT);
  CHECK_EQ_INT(a.done, 1);
  if (a.err != FL_EREAD_TIMEOUT)
    fprintf(stderr, "zero window: %s (%s)\n", fl_err_name(a.err), fl_request_errmsg(ra));
  CHECK_EQ_INT(a.err, FL_EREAD_TIMEOUT);
  CHECK_EQ_INT(b.done, 1);
  CHECK_EQ_INT(b.err, 0);
  check_h2(rb, 200);
  size_t n;
  fl_response_body(fl_request_response(rb), &n);
  CHECK_EQ_INT(n, 100000);
  /* and with only a total timeout */
  fl_request *rd = fl_request_new("PUT", url(0, "/echo"));
  CHECK_EQ_INT(fl_request_set_body(rd, "held back", 9), 0);
  fl_timeouts total = {.total_ms = 400};
  fl_request_set_timeouts(rd, &total);
  fl_test_perform(c, rd, FL_ETIMEOUT);
  fl_request *rc = fl_test_get(c, url(0, "/ok"), 0);
  check_h2(rc, 200);
  CHECK_EQ_INT(connections_made(c), 1);
  fl_request_free(first);
  fl_request_free(ra);
  fl_request_free(rb);
  fl_request_free(rc);
  fl_request_free(rd);
  fl_client_free(c);
}

/* ------------------------------------------- decoding, pacing, saving */

static int pattern_ok(const char *p, size_t off, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != 'a' + (char)((off + i) % 26)) return 0;
  return 1;
}

typedef struct decoded {
  size_t got;
  int bad, pauses;
  fl_timer *timer;
  fl_request *req;
} decoded;

static void resume_cb(fl_timer *t, void *data) {
  (void)t;
  fl_request_resume(((decoded *)data)->req);
}

/* Pauses after every 40,000 decoded bytes, resumed by a timer. */
static int on_decoded(fl_request *req, const char *p, size_t n, void *data) {
  decoded *d = data;
  if (!pattern_ok(p, d->got, n)) d->bad = 1;
  size_t before = d->got / 40000;
  d->got += n;
  if (d->got / 40000 != before) {
    d->pauses++;
    fl_request_pause(req);
    CHECK_EQ_INT(fl_timer_start(d->timer, 20, 0, resume_cb, d), 0);
  }
  return 0;
}

/* A gzip body decoded as it streams (buffered; streamed with pauses while
 * another stream goes on); an upload under max_send_speed; a body saved to
 * a file. */
static void test_decode_pace_save(void) {
  fl_client *c = client_new(0);
  fl_request *r = fl_test_get(c, url(0, "/feat-gzip?n=300000"), 0);
  check_h2(r, 200);
  size_t n;
  const char *b = fl_response_body(fl_request_response(r), &n);
  CHECK_EQ_INT(n, 300000);
  CHECK(pattern_ok(b, 0, n));
  CHECK(fl_request_info(r)->bytes_received_raw < 10000);
  CHECK_EQ_INT(fl_request_info(r)->bytes_received, 300000);
  fl_request_free(r);

  decoded d = {0};
  d.timer = fl_timer_new(loop);
  CHECK(d.timer);
  d.req = fl_request_new("GET", url(0, "/feat-gzip?n=200000"));
  fl_request_on_body(d.req, on_decoded, &d);
  fl_request *other = fl_request_new("GET", url(0, "/len?n=100000"));
  outcome od = {0}, oo = {0};
  CHECK_EQ_INT(fl_request_send(c, d.req, on_done, &od), 0);
  CHECK_EQ_INT(fl_request_send(c, other, on_done, &oo), 0);
  fl_loop_run(loop, FL_RUN_DEFAULT);
  CHECK_EQ_INT(od.err, 0);
  CHECK_EQ_INT(oo.err, 0);
  check_h2(d.req, 200);
  CHECK_EQ_INT(d.got, 200000);
  CHECK_EQ_INT(d.bad, 0);
  CHECK(d.pauses >= 4);
  fl_timer_free(d.timer);
  fl_request_free(d.req);
  fl_request_free(other);

  /* 100,000 bytes at 250,000 bytes/s: not before 0.3 s (a lower bound) */
  char *up = malloc(100000);
  CHECK(up);
  for (int i = 0; i < 100000; i++) up[i] = (char)('a' + i % 26);
  r = fl_request_new("PUT", url(0, "/echo"));
  CHECK_EQ_INT(fl_request_set_body(r, up, 100000), 0);
  fl_request_set_max_send_speed(r, 250000);
  uint64_t t0 = fl_loop_now(loop);
  fl_test_perform(c, r, 0);
  uint64_t took = fl_loop_now(loop) - t0;
  check_h2(r, 200);
  b = fl_response_body(fl_request_response(r), &n);
  CHECK_EQ_INT(n, 100000);
  CHECK(memcmp(b, up, n) == 0);
  if (took < 300)
    fprintf(stderr, "100,000 bytes at 250,000/s took %llu ms\n", (unsigned long long)took);
  CHECK(took >= 300);
  fl_request_free(r);
  free(up);

  char path[512];
  char name[64];
  snprintf(name, sizeof name, "h2_features.%d.saved", (int)getpid());
  snprintf(path, sizeof path, "%s", fl_test_rundir_path(name));
  r = fl_request_new("GET", url(0, "/feat-gzip?n=120000"));
  CHECK_EQ_INT(fl_request_save_to(r, path), 0);
  fl_test_perform(c, r, 0);
  check_h2(r, 200);
  FILE *f = fopen(path, "rb");
  CHECK(f);
  char *saved = malloc(130000);
  CHECK(saved);
  size_t got = fread(saved, 1, 130000, f);
  fclose(f);
  CHECK_EQ_INT(got, 120000);
  CHECK(pattern_ok(saved, 0, got));
  free(saved);
  unlink(path);
  fl_request_free(r);
  CHECK_EQ_INT(connections_made(c), 1);
  fl_client_free(c);
}

/* ---------------------------------------------------- caps, cancelling */

static void cancel_in(fl_timer *t, void *data) {
  (void)t;
  CHECK_EQ_INT(fl_request_cancel(data), 0);
}

/* A body over the request's buffer cap, and one over its file size cap,
 * each fail their own stream; the stream beside them is answered whole,
 * and the connection goes on. Then cancelling requests that wait: one for
 * a stream of the full connection (max streams 1), one for a rate-limit
 * token; the connection still takes the next request. */
static void test_caps_and_cancel(void) {
  fl_client_options o;
  options(&o, 0);
  o.rate_limit_per_host = 0.5; /* a token every 2 s: the third request waits */
  o.rate_burst = 2;
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  outcome a = {0}, b = {0}, d = {0};
  fl_request *ra = fl_request_new("GET", url(0, "/len?n=200000"));
  fl_request_set_max_body(ra, 50000);
  fl_request *rd = fl_request_new("GET", url(0, "/len?n=200000"));
  fl_request_set_max_filesize(rd, 1000);
  fl_request *rb = fl_request_new("GET", url(0, "/len?n=150000"));
  CHECK_EQ_INT(fl_request_send(c, ra, on_done, &a), 0);
  CHECK_EQ_INT(fl_request_send(c, rb, on_done, &b), 0);
  fl_loop_run(loop, FL_RUN_DEFAULT);
  CHECK_EQ_INT(a.err, FL_EBODY_TOO_LARGE);
  CHECK_EQ_INT(b.err, 0);
  check_h2(rb, 200);
  size_t n;
  fl_response_body(fl_request_response(rb), &n);
  CHECK_EQ_INT(n, 150000);
  /* the bucket is empty now: this one waits for a token, and is cancelled */
  fl_timer *t = fl_timer_new(loop);
  CHECK(t);
  CHECK_EQ_INT(fl_request_send(c, rd, on_done, &d), 0);
  CHECK_EQ_INT(fl_timer_start(t, 100, 0, cancel_in, rd), 0);
  fl_loop_run(loop, FL_RUN_DEFAULT);
  CHECK_EQ_INT(d.done, 1);
  CHECK_EQ_INT(d.err, FL_ECANCELED);
  CHECK(fl_request_info(rd)->throttled_us > 0);
  fl_client_free(c);

  /* the file size cap, on a client without a rate limit */
  options(&o, 0);
  o.max_connections = 1;
  c = fl_client_new(loop, &o);
  CHECK(c);
  memset(&d, 0, sizeof d);
  memset(&b, 0, sizeof b);
  CHECK_EQ_INT(fl_request_send(c, rd, on_done, &d), 0);
  CHECK_EQ_INT(fl_request_send(c, rb, on_done, &b), 0);
  fl_loop_run(loop, FL_RUN_DEFAULT);
  CHECK_EQ_INT(d.err, FL_EFILESIZE_EXCEEDED);
  CHECK_EQ_INT(b.err, 0);
  fl_response_body(fl_request_response(rb), &n);
  CHECK_EQ_INT(n, 150000);
  CHECK_EQ_INT(connections_made(c), 1);
  fl_client_free(c);

  /* waiting for a stream of a full connection, then cancelled */
  options(&o, 0);
  o.max_connections = 1;
  c = fl_client_new(loop, &o);
  CHECK(c);
  fl_request *first = fl_test_get(c, url(0, "/conn/max-streams-1"), 0);
  outcome s = {0}, w = {0};
  fl_request *silent = fl_request_new("GET", url(0, "/feat-silent"));
  fl_request *waiter = fl_request_new("GET", url(0, "/ok"));
  CHECK_EQ_INT(fl_request_send(c, silent, on_done, &s), 0);
  CHECK_EQ_INT(fl_request_send(c, waiter, on_done, &w), 0);
  CHECK_EQ_INT(fl_timer_start(t, 100, 0, cancel_in, waiter), 0);
  while (!w.done) fl_loop_run(loop, FL_RUN_ONCE);
  CHECK_EQ_INT(w.err, FL_ECANCELED);
  CHECK_EQ_INT(s.done, 0); /* the stream it waited for is still open */
  CHECK_EQ_INT(fl_request_cancel(silent), 0);
  fl_loop_run(loop, FL_RUN_DEFAULT);
  CHECK_EQ_INT(s.err, FL_ECANCELED);
  /* the freed stream takes the next request at once */
  fl_request *next = fl_test_get(c, url(0, "/ok"), 0);
  check_h2(next, 200);
  CHECK_EQ_INT(fl_request_info(next)->stream_id, 5);
  CHECK_EQ_INT(connections_made(c), 1);
  fl_timer_free(t);
  fl_request_free(first);
  fl_request_free(silent);
  fl_request_free(waiter);
  fl_request_free(next);
  fl_request_free(ra);
  fl_request_free(rb);
  fl_request_free(rd);
  fl_client_free(c);
}

/* ------------------------------------------------------------------ 1xx */

static int ev_first_byte, ev_response_end, ev_status;

static void on_event(const fl_event *ev, void *data) {
  (void)data;
  if (ev->kind == FL_EV_FIRST_BYTE) {
    ev_first_byte++;
    CHECK_EQ_INT(ev->http_version, 20);
  }
  if (ev->kind == FL_EV_RESPONSE_END) {
    ev_response_end++;
    ev_status = ev->status;
  }
}

static void test_early_hints(void) {
  fl_client *c = client_new(0);
  fl_hooks hk = {.on_event = on_event};
  CHECK_EQ_INT(fl_client_set_hooks(c, &hk), 0);
  heads h;
  fl_request *r = traced("GET", url(0, "/1xx"), &h);
  fl_test_perform(c, r, 0);
  check_h2(r, 200);
  CHECK_EQ_STR(body(r), "ok");
  CHECK_EQ_INT(h.responses, 2);
  CHECK_EQ_STR(h.resp[0], "HTTP/2 103 \r\nlink: </x>; rel=preload\r\n\r\n");
  CHECK(strncmp(h.resp[1], "HTTP/2 200 \r\n", 13) == 0);
  CHECK(strstr(h.resp[1], "link") == NULL);
  CHECK(fl_response_header(fl_request_response(r), "link") == NULL);
  CHECK_EQ_INT(ev_first_byte, 1);
  CHECK_EQ_INT(ev_response_end, 1);
  CHECK_EQ_INT(ev_status, 200);
  fl_request_free(r);
  fl_client_free(c);
}

/* ----------------------------------------------------------------- PING */

/* The server never acknowledges a PING: the next tick fails the
 * connection and its stream with FL_EHTTP2; the client opens a new one. */
static void test_ping_unanswered(void) {
  fl_client_options o;
  options(&o, 0);
  o.h2_ping_interval_ms = 250;
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  fl_request *r = fl_test_get(c, url(0, "/conn/feat-no-ping-ack?ms=30000"), FL_EHTTP2);
  CHECK(strstr(fl_request_errmsg(r), "PING"));
  fl_request_free(r);
  fl_pool_stats st;
  fl_client_pool_stats(c, &st);
  CHECK_EQ_INT(st.open, 0);
  r = fl_test_get(c, url(0, "/ok"), 0);
  check_h2(r, 200);
  CHECK_EQ_INT(fl_request_info(r)->reused, 0);
  CHECK_EQ_INT(connections_made(c), 2);
  fl_request_free(r);
  fl_client_free(c);
}

int main(void) {
  FL_TEST_BEGIN();
  loop = fl_loop_new();
  CHECK(loop);
  h2c_port = fl_test_h2_server_start(0);
  tls_port = fl_test_h2_server_start(1);
  for (int tls = 0; tls <= 1; tls++) {
    test_basic(tls);
    test_digest(tls);
  }
  test_cookies();
  test_multipart();
  test_no_expect();
  test_retries();
  test_rate_limit();
  test_first_byte();
  test_connect();
  test_pool(0);
  test_pool(1);
  test_zero_window();
  test_caps_and_cancel();
  test_decode_pace_save();
  test_early_hints();
  test_ping_unanswered();
  fl_loop_free(loop);
  FL_TEST_END();
}
