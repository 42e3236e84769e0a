/* Hostile servers, from the fault server: decompression bombs with and
 * without a length, corrupt and over-layered encodings, a redirect with a
 * huge body, credentials on a cross-port redirect, cookie floods. */
/* LABELS: valgrind */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flurry.h"
#include "test.h"

static fl_loop *loop;
static fl_client *client;
static int port, port2;
static char url[512];

static const char *U(const char *path) {
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
  return url;
}

static fl_request *run(fl_request *r, int expect) { return fl_test_perform(client, r, expect); }

static uint64_t streamed;
static int count(fl_request *req, const char *chunk, size_t len, void *data) {
  (void)req, (void)chunk, (void)data;
  streamed += len;
  return 0;
}

static void test_bombs(void) {
  /* 128 MiB of zeros in ~130 KB: stopped at the limit, never held. */
  const char *paths[] = {"/gzip-bomb?mib=128&length=1", "/gzip-bomb?mib=128&length=0"};
  for (int i = 0; i < 2; i++) {
    fl_request *r = fl_request_new("GET", U(paths[i]));
    fl_request_set_max_filesize(r, 1 << 20);
    run(r, FL_EFILESIZE_EXCEEDED);
    CHECK(fl_request_info(r)->bytes_received <= 1 << 20);
    CHECK(fl_request_info(r)->total_us < 5000000);
    fl_request_free(r);
  }
  /* No size limit, buffered: the buffer cap stops it. */
  fl_request *r = fl_request_new("GET", U("/gzip-bomb?mib=128&length=1"));
  fl_request_set_max_body(r, 4 << 20);
  run(r, FL_EBODY_TOO_LARGE);
  fl_request_free(r);
  /* Streamed without limits: decoded in bounded pieces, all of it. */
  r = fl_request_new("GET", U("/gzip-bomb?mib=16&length=1"));
  streamed = 0;
  fl_request_on_body(r, count, NULL);
  run(r, 0);
  CHECK_EQ_INT(streamed, 16u << 20);
  fl_request_free(r);
}

static void test_encodings(void) {
  fl_request *r = run(fl_request_new("GET", U("/corrupt-gzip")), FL_EBAD_ENCODING);
  CHECK_EQ_INT(fl_err_curl_code(FL_EBAD_ENCODING), 61);
  fl_request_free(r);
  r = run(fl_request_new("GET", U("/encodings?n=6")), FL_EBAD_ENCODING);
  fl_request_free(r);
  r = run(fl_request_new("GET", U("/encodings?n=5")), 0);
  CHECK_EQ_STR(fl_response_body(fl_request_response(r), NULL), "layered");
  fl_request_free(r);
}

static void test_redirects(void) {
  /* A 1 MiB redirect body is not read: the connection is dropped instead. */
  fl_request *r = run(fl_request_new("GET", U("/redirect-big?n=1048576")), 0);
  CHECK_EQ_STR(fl_response_body(fl_request_response(r), NULL), "ok");
  CHECK_EQ_INT(fl_request_info(r)->redirects, 1);
  fl_request_free(r);
  /* A loop stops at the limit, on one kept-alive connection. */
  r = fl_request_new("GET", U("/loop"));
  fl_request_set_follow(r, 1, 20);
  run(r, FL_ETOO_MANY_REDIRECTS);
  CHECK_EQ_INT(fl_request_info(r)->redirects, 20);
  CHECK(strstr(fl_request_errmsg(r), "20"));
  fl_request_free(r);
  /* Another port is another origin: no credentials there. */
  char path[128];
  snprintf(path, sizeof path, "/redirect-port?to=%d&path=/echo", port2);
  r = fl_request_new("GET", U(path));
  fl_request_add_header(r, "Authorization", "Bearer top-secret");
  fl_request_add_header(r, "Cookie", "sid=top-secret");
  fl_request_add_header(r, "Proxy-Authorization", "Basic top-secret");
  fl_request_set_basic_auth(r, "user", "top-secret");
  run(r, 0);
  const char *wire = fl_response_body(fl_request_response(r), NULL);
  CHECK(strstr(wire, "GET /echo HTTP/1.1\r\n"));
  CHECK(!strstr(wire, "top-secret"));
  CHECK(!strstr(wire, "Authorization"));
  fl_request_free(r);
}

static void test_cookie_flood(void) {
  /* 1,000 Set-Cookie lines trip the header-count cap before the jar. */
  fl_request *r = run(fl_request_new("GET", U("/cookie-flood?n=1000")), FL_ETOO_MANY_HEADERS);
  fl_request_free(r);
  r = run(fl_request_new("GET", U("/cookie-flood?n=150")), 0);
  fl_request_free(r);
  char *cookies = fl_client_cookies_for(client, U("/"));
  CHECK(cookies);
  CHECK(strstr(cookies, "c0=v0"));
  CHECK(strstr(cookies, "c49=v49"));
  CHECK(!strstr(cookies, "c50="));    /* at most 50 cookies per response */
  CHECK(!strstr(cookies, "big="));    /* oversized */
  CHECK(!strstr(cookies, "sneaky=")); /* public suffix domain */
  CHECK(strlen(cookies) <= 8192);
  free(cookies);
}

int main(void) {
  FL_TEST_BEGIN();
  port = fl_test_fault_start();
  port2 = fl_test_fault_start();
  loop = fl_loop_new();
  client = fl_client_new(loop, NULL);
  test_bombs();
  test_encodings();
  test_redirects();
  test_cookie_flood();
  fl_client_free(client);
  CHECK_EQ_INT(fl_loop_free(loop), 0);
  FL_TEST_END();
}
