/* A request the server never processed goes out again on a new connection
 * (an HTTP/2 stream refused with REFUSED_STREAM, or left past a GOAWAY's
 * last-stream-id; an HTTP/1.1 request on a kept-alive connection the
 * server had closed), but never with less than its whole body: a streamed
 * upload whose bytes were already read, and which cannot rewind, fails with
 * the stream's own error and says why; one that can rewind (a multipart
 * form, read again from its file) arrives whole. The scripted HTTP/2 server
 * (tests/support/h2_server.py, h2c) refuses or GOAWAYs the first request of
 * a key once its body arrived and echoes later ones; the fault server's
 * /stale-next closes the connection when the next request arrives. */
/* TIMEOUT: 120 */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flurry.h"
#include "test.h"

enum { BODY = 100000 };

static fl_loop *loop;
static int h2_port, h1_port;
static char file_path[256];
static char file_bytes[BODY];

static const char *url(int port, const char *path) {
  static char buf[256];
  snprintf(buf, sizeof buf, "http://127.0.0.1:%d%s", port, path);
  return buf;
}

static fl_client *client_new(int h2) {
  fl_client_options o;
  fl_client_options_init(&o);
  if (h2) o.http_version = FL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  return c;
}

struct upload {
  size_t off, len;
  int calls;
};

/* The pattern of file_bytes, from where it stopped: a source that cannot
 * go back. */
static long upload_cb(fl_request *req, char *buf, size_t cap, void *data) {
  (void)req;
  struct upload *u = data;
  u->calls++;
  size_t n = u->len - u->off < cap ? u->len - u->off : cap;
  memcpy(buf, file_bytes + u->off, n);
  u->off += n;
  return (long)n;
}

static void make_file(void) {
  for (size_t i = 0; i < BODY; i++) file_bytes[i] = (char)('a' + (i * 7 + i / 26) % 26);
  snprintf(file_path, sizeof file_path, "%s", fl_test_rundir_path("integ.h2_resend.upload.bin"));
  FILE *f = fopen(file_path, "wb");
  CHECK(f);
  CHECK_EQ_INT(fwrite(file_bytes, 1, BODY, f), BODY);
  CHECK_EQ_INT(fclose(f), 0);
}

/* The server's count of requests with key k (the first, refused or
 * GOAWAYed, included). */
static int server_requests(fl_client *c, const char *k) {
  char path[64];
  snprintf(path, sizeof path, "/_stats?k=%s", k);
  fl_request *r = fl_test_get(c, url(h2_port, path), 0);
  size_t n;
  const char *body = fl_response_body(fl_request_response(r), &n);
  const char *p = strstr(body, "\"requests\": ");
  CHECK(p);
  int v = atoi(p + strlen("\"requests\": "));
  fl_request_free(r);
  return v;
}

/* A streamed upload (sized or not) of BODY bytes, taken whole before the
 * server refused it: not resent, the stream's error with the reason. */
static void test_streamed_not_resent(fl_client *c, const char *route, int sized, int want_err,
                                     const char *k) {
  char path[128];
  snprintf(path, sizeof path, "%s?k=%s", route, k);
  fl_request *r = fl_request_new("PUT", url(h2_port, path));
  struct upload u = {.len = BODY};
  if (sized)
    CHECK_EQ_INT(fl_request_set_upload_sized(r, upload_cb, &u, BODY), 0);
  else
    CHECK_EQ_INT(fl_request_set_upload(r, upload_cb, &u), 0);
  fl_test_perform(c, r, want_err);
  const char *msg = fl_request_errmsg(r);
  if (!strstr(msg, "not sent again") || !strstr(msg, "streamed request body")) {
    fprintf(stderr, "%s: message does not say why it was not resent: %s\n", route, msg);
    exit(1);
  }
  CHECK_EQ_INT(u.off, BODY); /* the server had all of it before it refused */
  CHECK_EQ_INT(fl_request_info(r)->retries, 0);
  CHECK_EQ_INT(server_requests(c, k), 1); /* nothing went out a second time */
  fl_request_free(r);
}

/* An empty streamed upload: nothing was taken, so the resend loses
 * nothing and goes ahead. */
static void test_streamed_empty_resent(fl_client *c, const char *route, const char *k) {
  char path[128];
  snprintf(path, sizeof path, "%s?k=%s", route, k);
  fl_request *r = fl_request_new("PUT", url(h2_port, path));
  struct upload u = {.len = 0};
  CHECK_EQ_INT(fl_request_set_upload(r, upload_cb, &u), 0);
  fl_test_perform(c, r, 0);
  CHECK_EQ_INT(fl_response_status(fl_request_response(r)), 200);
  CHECK_EQ_INT(fl_request_info(r)->retries, 1);
  CHECK_EQ_INT(server_requests(c, k), 2);
  fl_request_free(r);
}

/* A multipart form streams its file and can rewind: the resend reads it
 * again from the start and the second request carries every byte. */
static void test_form_resent_whole(fl_client *c, int port, const char *route, const char *k) {
  char path[128];
  snprintf(path, sizeof path, "%s?k=%s", route, k);
  fl_request *r = fl_request_new("PUT", url(port, path));
  fl_form *form = fl_form_new();
  CHECK(form);
  CHECK_EQ_INT(fl_form_add(form, "note", "whole"), 0);
  CHECK_EQ_INT(fl_form_add_file(form, "file", file_path, "up.bin", NULL), 0);
  CHECK_EQ_INT(fl_request_set_multipart(r, form), 0);
  if (port == h1_port) fl_request_set_retryable(r, 1);
  fl_test_perform(c, r, 0);
  const fl_response *res = fl_request_response(r);
  CHECK_EQ_INT(fl_response_status(res), 200);
  CHECK_EQ_INT(fl_request_info(r)->retries, 1);
  size_t n;
  const char *body = fl_response_body(res, &n);
  /* the echo (h2: the body; h1: the raw request) holds the file whole,
   * once, and the form's closing boundary */
  const char *at = memmem(body, n, file_bytes, BODY);
  CHECK(at);
  CHECK(!memmem(at + 1, n - (size_t)(at + 1 - body), file_bytes, BODY));
  CHECK(memmem(body, n, "name=\"note\"\r\n\r\nwhole\r\n", 22));
  CHECK(n >= 2 && !memcmp(body + n - 2, "\r\n", 2) && memmem(body, n, "--\r\n", 4));
  if (port == h2_port) CHECK_EQ_INT(server_requests(c, k), 2);
  fl_request_free(r);
  fl_form_free(form);
}

static void on_done(fl_request *req, int err, void *data) {
  (void)req;
  *(int *)data = err;
}

/* HTTP/1.1: a kept-alive connection the server closed when the request
 * arrived. A streamed body that cannot rewind is not retried (even with
 * fl_request_set_retryable); a form is, whole. */
static void test_h1_stale(void) {
  fl_client *c = client_new(0);
  fl_request *r = fl_test_get(c, url(h1_port, "/stale-next"), 0);
  fl_request_free(r);
  r = fl_request_new("PUT", url(h1_port, "/echo"));
  struct upload u = {.len = BODY};
  CHECK_EQ_INT(fl_request_set_upload(r, upload_cb, &u), 0);
  fl_request_set_retryable(r, 1);
  int err = 1;
  CHECK_EQ_INT(fl_request_send(c, r, on_done, &err), 0);
  fl_loop_run(loop, FL_RUN_DEFAULT);
  CHECK(err < 0); /* which error depends on when the close is seen: not a response */
  CHECK(fl_request_errmsg(r)[0]);
  CHECK_EQ_INT(fl_request_info(r)->retries, 0);
  fl_request_free(r);
  r = fl_test_get(c, url(h1_port, "/stale-next"), 0);
  fl_request_free(r);
  test_form_resent_whole(c, h1_port, "/echo", "h1");
  fl_client_free(c);
}

int main(void) {
  FL_TEST_BEGIN();
  loop = fl_loop_new();
  CHECK(loop);
  make_file();
  h2_port = fl_test_h2_server_start(0);
  h1_port = fl_test_fault_start();
  fl_client *c = client_new(1);
  test_streamed_not_resent(c, "/fix-refused-echo", 0, FL_EHTTP2_STREAM, "ref-chunked");
  test_streamed_not_resent(c, "/fix-refused-echo", 1, FL_EHTTP2_STREAM, "ref-sized");
  test_streamed_empty_resent(c, "/fix-refused-echo", "ref-empty");
  test_form_resent_whole(c, h2_port, "/fix-refused-echo", "ref-form");
  fl_client_free(c);
  /* GOAWAY closes the connection: a client each time */
  c = client_new(1);
  test_streamed_not_resent(c, "/fix-goaway-echo", 0, FL_EHTTP2_STREAM, "ga-chunked");
  fl_client_free(c);
  c = client_new(1);
  test_form_resent_whole(c, h2_port, "/fix-goaway-echo", "ga-form");
  fl_client_free(c);
  test_h1_stale();
  unlink(file_path);
  fl_loop_free(loop);
  FL_TEST_END();
}
