/* The request head on an HTTP/2 stream (RFC 9113 8.2.2, RFC 9110 7.6.1):
 * pseudo-headers first (:method, :scheme, :authority, :path), names
 * lower-case, Host folded into :authority, and no connection-specific
 * field: Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding,
 * Upgrade, TE other than "trailers", and every field the Connection field
 * names. The scripted server's /headers (tests/support/h2_server.py, h2c)
 * answers with the fields it received, in order, as JSON; the trace hook's
 * text of the head leaves the same fields out. */
/* TIMEOUT: 60 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flurry.h"
#include "test.h"

static fl_loop *loop;
static int port;
static char trace[8192];

static void on_trace(fl_request *req, fl_trace_kind kind, const char *data, size_t len, void *ud) {
  (void)req, (void)ud;
  if (kind == FL_TRACE_REQUEST_HEAD) snprintf(trace, sizeof trace, "%.*s", (int)len, data);
}

static long empty_upload(fl_request *req, char *buf, size_t cap, void *data) {
  (void)req, (void)buf, (void)cap, (void)data;
  return 0;
}

static void has(const char *body, const char *needle, int want) {
  if (!strstr(body, needle) != !want) {
    fprintf(stderr, "%s \"%s\" in: %s\n", want ? "missing" : "unexpected", needle, body);
    exit(1);
  }
}

#define LONG_NAME "X-Long-Option-Named-By-Connection-Well-Past-Sixty-Four-Characters-Of-Name"

/* A PUT with a streamed body of unknown length (on HTTP/1.1 it would carry
 * Transfer-Encoding: chunked) and every kind of connection-specific field. */
static void test_dropped(fl_client *c) {
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/headers", port);
  fl_request *r = fl_request_new("PUT", url);
  CHECK_EQ_INT(fl_request_set_upload(r, empty_upload, NULL), 0);
  fl_request_on_trace(r, on_trace, NULL);
  CHECK_EQ_INT(fl_request_set_header(r, "Host", "example.test:8080"), 0);
  CHECK_EQ_INT(fl_request_add_header(r, "X-Before", "1"), 0); /* named by a later Connection */
  CHECK_EQ_INT(fl_request_add_header(r, "Connection", "x-before , X-FOO,,\t" LONG_NAME), 0);
  CHECK_EQ_INT(fl_request_add_header(r, "Connection", "x-second"), 0);
  CHECK_EQ_INT(fl_request_add_header(r, "X-Foo", "1"), 0);
  CHECK_EQ_INT(fl_request_add_header(r, "X-Second", "2"), 0);
  CHECK_EQ_INT(fl_request_add_header(r, LONG_NAME, "3"), 0);
  CHECK_EQ_INT(fl_request_add_header(r, "X-Foobar", "kept"), 0); /* a longer name: not named */
  CHECK_EQ_INT(fl_request_add_header(r, "X-Fo", "kept"), 0);     /* a shorter one */
  CHECK_EQ_INT(fl_request_add_header(r, "Keep-Alive", "300"), 0);
  CHECK_EQ_INT(fl_request_add_header(r, "Proxy-Connection", "keep-alive"), 0);
  CHECK_EQ_INT(fl_request_add_header(r, "Upgrade", "websocket"), 0);
  CHECK_EQ_INT(fl_request_add_header(r, "TE", "trailers"), 0);
  CHECK_EQ_INT(fl_request_add_header(r, "X-Bar", "2"), 0);
  fl_test_perform(c, r, 0);
  CHECK_EQ_INT(fl_response_status(fl_request_response(r)), 200);
  size_t n;
  const char *body = fl_response_body(fl_request_response(r), &n);
  /* pseudo-headers first, Host as :authority */
  char start[256];
  snprintf(start, sizeof start,
           "[[\":method\", \"PUT\"], [\":scheme\", \"http\"], "
           "[\":authority\", \"example.test:8080\"], [\":path\", \"/headers\"], ");
  if (strncmp(body, start, strlen(start)) != 0) {
    fprintf(stderr, "the head does not start with the pseudo-headers: %s\n", body);
    exit(1);
  }
  has(body + strlen(start), "\":", 0); /* no pseudo-header after the first regular field */
  has(body, "[\"host\"", 0);
  has(body, "[\"connection\"", 0);
  has(body, "[\"keep-alive\"", 0);
  has(body, "[\"proxy-connection\"", 0);
  has(body, "[\"transfer-encoding\"", 0);
  has(body, "[\"upgrade\"", 0);
  has(body, "[\"expect\"", 0);
  has(body, "[\"x-foo\"", 0);
  has(body, "[\"x-before\"", 0);
  has(body, "[\"x-second\"", 0);
  has(body, "x-long-option", 0);
  has(body, "[\"x-foobar\", \"kept\"]", 1);
  has(body, "[\"x-fo\", \"kept\"]", 1);
  has(body, "[\"x-bar\", \"2\"]", 1);
  has(body, "[\"te\", \"trailers\"]", 1);
  /* the trace hook's text: the same fields left out */
  has(trace, "PUT /headers HTTP/2\r\nHost: example.test:8080\r\n", 1);
  has(trace, "X-Foo:", 0);
  has(trace, "X-Before:", 0);
  has(trace, "X-Second:", 0);
  has(trace, LONG_NAME ":", 0);
  has(trace, "Connection:", 0);
  has(trace, "Keep-Alive:", 0);
  has(trace, "Upgrade:", 0);
  has(trace, "X-Foobar: kept\r\n", 1);
  has(trace, "X-Bar: 2\r\n", 1);
  fl_request_free(r);
}

/* TE with anything but "trailers" goes, also when Connection names it (as
 * HTTP/1.1 asks of TE); "trailers" stays even then. A head without a
 * Connection field keeps its other fields. */
static void test_te(fl_client *c) {
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/headers", port);
  fl_request *r = fl_request_new("GET", url);
  CHECK_EQ_INT(fl_request_set_header(r, "TE", "gzip"), 0);
  CHECK_EQ_INT(fl_request_set_header(r, "X-A", "1"), 0);
  fl_test_perform(c, r, 0);
  const char *body = fl_response_body(fl_request_response(r), NULL);
  has(body, "[\"te\"", 0);
  has(body, "[\"x-a\", \"1\"]", 1);
  has(body, "[\":authority\", \"127.0.0.1:", 1);
  fl_request_free(r);
  r = fl_request_new("GET", url);
  CHECK_EQ_INT(fl_request_set_header(r, "Connection", "TE"), 0);
  CHECK_EQ_INT(fl_request_set_header(r, "TE", "trailers"), 0);
  fl_test_perform(c, r, 0);
  body = fl_response_body(fl_request_response(r), NULL);
  has(body, "[\"te\", \"trailers\"]", 1);
  has(body, "[\"connection\"", 0);
  fl_request_free(r);
}

int main(void) {
  FL_TEST_BEGIN();
  loop = fl_loop_new();
  CHECK(loop);
  port = fl_test_h2_server_start(0);
  fl_client_options o;
  fl_client_options_init(&o);
  o.http_version = FL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  test_dropped(c);
  test_te(c);
  fl_client_free(c);
  fl_loop_free(loop);
  FL_TEST_END();
}
