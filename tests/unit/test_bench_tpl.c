/* flurry-bench's request templates (bench/flurry_bench/tpl.c): request
 * strings as a Lua script's request() returns them, parsed with llhttp in
 * request mode into messages (method, URL, headers, body), laid out in one
 * block; malformed and incomplete strings refused with where. */
#include <stdio.h>
#include <string.h>

#include "../../bench/flurry_bench/tpl.c"
#include "test.h"

#define ORIGIN "http://127.0.0.1:8080"

static flb_tpl *parse_ok(const char *s) {
  char err[200] = "";
  flb_tpl *t = flb_tpl_parse(s, strlen(s), ORIGIN, err, sizeof err);
  if (!t) fprintf(stderr, "parse failed: %s\n", err);
  CHECK(t);
  CHECK(t->one_block);
  CHECK(t->src_len == strlen(s) && !memcmp(t->src, s, t->src_len));
  return t;
}

static void parse_bad(const char *s, const char *want) {
  char err[200] = "";
  CHECK(!flb_tpl_parse(s, strlen(s), ORIGIN, err, sizeof err));
  if (!strstr(err, want)) fprintf(stderr, "error '%s' lacks '%s'\n", err, want);
  CHECK(strstr(err, want));
}

static void check_one(void) {
  flb_tpl *t = parse_ok("GET /a?b=1 HTTP/1.1\r\nHost: h:1\r\nX-Empty:\r\nX-Two: 2\r\n\r\n");
  CHECK_EQ_INT(t->n, 1);
  flb_msg *m = &t->msgs[0];
  CHECK_EQ_STR(m->method, "GET");
  CHECK_EQ_STR(m->url, ORIGIN "/a?b=1");
  CHECK_EQ_INT(m->nheaders, 3);
  CHECK_EQ_STR(m->headers[0].name, "Host");
  CHECK_EQ_STR(m->headers[0].value, "h:1");
  CHECK_EQ_STR(m->headers[1].name, "X-Empty");
  CHECK_EQ_STR(m->headers[1].value, "");
  CHECK_EQ_STR(m->headers[2].value, "2");
  CHECK(!m->has_body && !m->body_len);
  flb_tpl_free(t);
}

static void check_several(void) {
  /* wrk.format's output for a POST, then a GET, then chunked, then an
   * absolute target: one string, four requests (a pipelined request()). */
  flb_tpl *t = parse_ok(
      "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
      "GET /g HTTP/1.1\r\nHost: h\r\n\r\n"
      "PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
      "DELETE http://other.example:81/x HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  CHECK_EQ_INT(t->n, 4);
  CHECK_EQ_STR(t->msgs[0].method, "POST");
  CHECK(t->msgs[0].has_body && t->msgs[0].body_len == 3 && !memcmp(t->msgs[0].body, "abc", 3));
  CHECK_EQ_INT(t->msgs[0].nheaders, 2);
  CHECK_EQ_STR(t->msgs[1].url, ORIGIN "/g");
  CHECK(!t->msgs[1].has_body);
  CHECK_EQ_INT(t->msgs[1].nheaders, 1);
  CHECK_EQ_STR(t->msgs[1].headers[0].value, "h");
  CHECK_EQ_STR(t->msgs[2].method, "PUT");
  CHECK(t->msgs[2].has_body && t->msgs[2].body_len == 5 && !memcmp(t->msgs[2].body, "abcde", 5));
  CHECK_EQ_STR(t->msgs[3].url, "http://other.example:81/x");
  CHECK(t->msgs[3].has_body && t->msgs[3].body_len == 0);
  flb_tpl_free(t);
}

static void check_many_headers(void) {
  /* More spans than the parser's first array holds. */
  char s[8192];
  size_t n = (size_t)snprintf(s, sizeof s, "GET / HTTP/1.1\r\n");
  for (int i = 0; i < 100; i++) n += (size_t)snprintf(s + n, sizeof s - n, "X-H%d: v%d\r\n", i, i);
  snprintf(s + n, sizeof s - n, "\r\n");
  flb_tpl *t = parse_ok(s);
  CHECK_EQ_INT(t->msgs[0].nheaders, 100);
  CHECK_EQ_STR(t->msgs[0].headers[99].name, "X-H99");
  CHECK_EQ_STR(t->msgs[0].headers[99].value, "v99");
  flb_tpl_free(t);
}

static void check_refused(void) {
  parse_bad("GET / HTTP/1.1\r\nHost x\r\n\r\n", "at 2:");
  parse_bad("GET / HTTP/1.1\r\nHost: x\r\n", "incomplete request");
  parse_bad("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", "incomplete request");
  parse_bad("", "incomplete request");
  parse_bad("NOT A REQUEST\r\n\r\n", "at 1:");
}

static void check_requests(void) {
  /* Onto fl_requests: a fresh one, then changed to the next message. */
  flb_tpl *t = parse_ok("GET /one HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\r\n"
                        "POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi"
                        "GET /three HTTP/1.1\r\nHost: h\r\n\r\n");
  int err = 0;
  fl_request *req = flb_msg_request(&t->msgs[0], &err);
  CHECK(req && !err);
  CHECK_EQ_STR(fl_request_method(req), "GET");
  CHECK_EQ_STR(fl_request_url(req), ORIGIN "/one");
  CHECK_EQ_INT(flb_msg_apply(req, &t->msgs[0], &t->msgs[1]), 0);
  CHECK_EQ_STR(fl_request_method(req), "POST");
  CHECK_EQ_STR(fl_request_url(req), ORIGIN "/two");
  /* A body cannot be taken off a request: a new one is needed. */
  CHECK_EQ_INT(flb_msg_apply(req, &t->msgs[1], &t->msgs[2]), 1);
  CHECK_EQ_INT(flb_msg_apply(req, &t->msgs[1], &t->msgs[1]), 0);
  fl_request_free(req);
  flb_tpl_free(t);
}

int main(void) {
  check_one();
  check_several();
  check_many_headers();
  check_refused();
  check_requests();
  puts("ok");
  return 0;
}
