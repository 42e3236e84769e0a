/* Digest authentication (RFC 7616) end to end: httpbin's /digest-auth for
 * the server (MD5, SHA-256, a wrong password, URL credentials), and our
 * proxy (tests/support/proxy_server.py --digest) for Proxy-Authorization.
 * Each hop's request head is watched through the trace hook. */
/* FIXTURES: httpbin nginx_tls */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flurry.h"
#include "test.h"

static fl_loop *loop;
static int hb;

typedef struct seen {
  int heads, responses, headers_cbs;
  char head[8192];  /* the last request head */
  char first[8192]; /* the first one */
  char body[4096];  /* what the body callback got */
  size_t body_len;
} seen;

static void on_trace(fl_request *req, fl_trace_kind kind, const char *data, size_t len, void *ud) {
  (void)req;
  seen *s = ud;
  if (kind == FL_TRACE_RESPONSE_HEAD) {
    s->responses++;
    return;
  }
  size_t n = len < sizeof s->head - 1 ? len : sizeof s->head - 1;
  memcpy(s->head, data, n);
  s->head[n] = '\0';
  if (s->heads++ == 0) memcpy(s->first, s->head, n + 1);
}

static int on_headers(fl_request *req, void *ud) {
  seen *s = ud;
  s->headers_cbs++;
  CHECK_EQ_INT(fl_response_status(fl_request_response(req)), 200);
  return 0;
}

static int on_body(fl_request *req, const char *chunk, size_t len, void *ud) {
  (void)req;
  seen *s = ud;
  CHECK(s->body_len + len < sizeof s->body);
  memcpy(s->body + s->body_len, chunk, len);
  s->body_len += len;
  s->body[s->body_len] = '\0';
  return 0;
}

/* A streamed body (no rewind): "streamed-body" once, then the end. */
static long stream_once(fl_request *req, char *buf, size_t cap, void *ud) {
  (void)req;
  int *sent = ud;
  if (*sent) return 0;
  *sent = 1;
  CHECK(cap >= 13);
  memcpy(buf, "streamed-body", 13);
  return 13;
}

static fl_request *new_req(const char *url, seen *s) {
  memset(s, 0, sizeof *s);
  fl_request *r = fl_request_new("GET", url);
  CHECK(r);
  fl_request_on_trace(r, on_trace, s);
  return r;
}

static int status(fl_request *r) { return fl_response_status(fl_request_response(r)); }
static const char *body(fl_request *r) { return fl_response_body(fl_request_response(r), NULL); }

static void server_tests(fl_client *c) {
  char url[256];
  seen s;
  /* MD5 and SHA-256: no credentials first, then the Digest answer. */
  const char *algos[] = {"MD5", "SHA-256"};
  for (int i = 0; i < 2; i++) {
    snprintf(url, sizeof url, "http://127.0.0.1:%d/digest-auth/auth/user/passwd/%s", hb, algos[i]);
    fl_request *r = new_req(url, &s);
    CHECK_EQ_INT(fl_request_set_digest_auth(r, "user", "passwd"), 0);
    fl_test_perform(c, r, 0);
    CHECK_EQ_INT(status(r), 200);
    CHECK(strstr(body(r), "\"authenticated\":true"));
    CHECK_EQ_INT(s.heads, 2);
    CHECK(!strstr(s.first, "Authorization"));
    CHECK(strstr(s.head, "\r\nAuthorization: Digest username=\"user\""));
    char algo[64];
    snprintf(algo, sizeof algo, "algorithm=%s,", algos[i]);
    CHECK(strstr(s.head, algo));
    CHECK_EQ_INT(fl_request_info(r)->redirects, 0);
    /* Sent again: the same two steps (the challenge is not kept across sends). */
    fl_test_perform(c, r, 0);
    CHECK_EQ_INT(status(r), 200);
    CHECK_EQ_INT(s.heads, 4);
    fl_request_free(r);
  }

  /* A wrong password: the second 401 is the result. */
  snprintf(url, sizeof url, "http://127.0.0.1:%d/digest-auth/auth/user/passwd/MD5", hb);
  fl_request *r = new_req(url, &s);
  fl_request_set_digest_auth(r, "user", "wrong");
  fl_test_perform(c, r, 0);
  CHECK_EQ_INT(status(r), 401);
  CHECK_EQ_INT(s.heads, 2);
  CHECK_EQ_INT(s.responses, 2);
  fl_request_free(r);

  /* Only the final response reaches the user: headers and body callbacks,
   * and the file being saved. */
  r = new_req(url, &s);
  fl_request_set_digest_auth(r, "user", "passwd");
  fl_request_on_headers(r, on_headers, &s);
  fl_request_on_body(r, on_body, &s);
  fl_test_perform(c, r, 0);
  CHECK_EQ_INT(s.headers_cbs, 1);
  CHECK(strstr(s.body, "\"authenticated\":true"));
  fl_request_free(r);
  char path[512];
  snprintf(path, sizeof path, "%s", fl_test_rundir_path("digest-saved.json"));
  r = new_req(url, &s);
  fl_request_set_digest_auth(r, "user", "passwd");
  fl_request_save_to(r, path);
  fl_test_perform(c, r, 0);
  FILE *f = fopen(path, "r");
  CHECK(f);
  char buf[512] = "";
  CHECK(fread(buf, 1, sizeof buf - 1, f) > 0);
  fclose(f);
  unlink(path);
  CHECK(strstr(buf, "\"authenticated\":true"));
  fl_request_free(r);

  /* The URL's credentials, answered with Digest; without Digest chosen
   * they go as Basic (one request, 401). */
  snprintf(url, sizeof url, "http://user:passwd@127.0.0.1:%d/digest-auth/auth/user/passwd/SHA-256",
           hb);
  r = new_req(url, &s);
  fl_request_set_digest_auth(r, NULL, NULL);
  fl_test_perform(c, r, 0);
  CHECK_EQ_INT(status(r), 200);
  fl_request_free(r);
  r = new_req(url, &s);
  fl_test_perform(c, r, 0);
  CHECK_EQ_INT(status(r), 401);
  CHECK_EQ_INT(s.heads, 1);
  CHECK(strstr(s.head, "Authorization: Basic "));
  fl_request_free(r);
  /* Basic set after Digest replaces it. */
  snprintf(url, sizeof url, "http://127.0.0.1:%d/digest-auth/auth/user/passwd/MD5", hb);
  r = new_req(url, &s);
  fl_request_set_digest_auth(r, "user", "passwd");
  fl_request_set_basic_auth(r, "user", "passwd");
  fl_test_perform(c, r, 0);
  CHECK_EQ_INT(status(r), 401);
  CHECK_EQ_INT(s.heads, 1);
  fl_request_free(r);
  /* The caller's own Authorization header wins: no Digest step. */
  r = new_req(url, &s);
  fl_request_set_digest_auth(r, "user", "passwd");
  fl_request_set_header(r, "Authorization", "Bearer x");
  fl_test_perform(c, r, 0);
  CHECK_EQ_INT(status(r), 401);
  CHECK_EQ_INT(s.heads, 1);
  fl_request_free(r);

  /* No challenge: one request, no credentials anywhere. */
  snprintf(url, sizeof url, "http://127.0.0.1:%d/headers", hb);
  r = new_req(url, &s);
  fl_request_set_digest_auth(r, "user", "passwd");
  fl_test_perform(c, r, 0);
  CHECK_EQ_INT(status(r), 200);
  CHECK_EQ_INT(s.heads, 1);
  CHECK(!strstr(body(r), "Authorization"));
  fl_request_free(r);
  /* A Basic challenge is not answered. */
  snprintf(url, sizeof url, "http://127.0.0.1:%d/basic-auth/user/passwd", hb);
  r = new_req(url, &s);
  fl_request_set_digest_auth(r, "user", "passwd");
  fl_test_perform(c, r, 0);
  CHECK_EQ_INT(status(r), 401);
  CHECK_EQ_INT(s.heads, 1);
  fl_request_free(r);

  /* Credentials that cannot go in a header are refused. */
  r = fl_request_new("GET", url);
  CHECK_EQ_INT(fl_request_set_digest_auth(r, "us\r\ner", "p"), FL_EBAD_HEADER);
  CHECK_EQ_INT(fl_request_set_digest_auth(r, "user", "p\n"), FL_EBAD_HEADER);
  fl_request_free(r);
}

static fl_client *client_via(const char *proxy, int digest) {
  fl_client_options o;
  fl_client_options_init(&o);
  o.proxy = proxy;
  o.proxy_digest = digest;
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  return c;
}

static void proxy_tests(void) {
  int md5 = fl_test_script_start("proxy_server.py", "--digest=pu:pp");
  int sess = fl_test_script_start("proxy_server.py", "--digest=pu:pp:SHA-256-sess");
  char proxy[128], url[256];
  seen s;
  snprintf(url, sizeof url, "http://127.0.0.1:%d/get?via=proxy", hb);

  /* 407, then Proxy-Authorization: Digest; the proxy checks the answer. */
  int ports[] = {md5, sess};
  for (int i = 0; i < 2; i++) {
    snprintf(proxy, sizeof proxy, "http://pu:pp@127.0.0.1:%d", ports[i]);
    fl_client *c = client_via(proxy, 1);
    fl_request *r = new_req(url, &s);
    fl_test_perform(c, r, 0);
    CHECK_EQ_INT(status(r), 200);
    CHECK(strstr(body(r), "\"via\":\"proxy\""));
    CHECK_EQ_INT(s.heads, 2);
    CHECK(!strstr(s.first, "Proxy-Authorization"));
    CHECK(strstr(s.head, "\r\nProxy-Authorization: Digest username=\"pu\""));
    /* the uri is the request-target as sent: absolute form */
    char uri[300];
    snprintf(uri, sizeof uri, "uri=\"%s\"", url);
    CHECK(strstr(s.head, uri));
    CHECK(!strstr(body(r), "Proxy-Authorization")); /* httpbin never saw it */
    fl_request_free(r);
    fl_client_free(c);
  }

  /* Both the proxy's and the server's challenge: 407, 401, 200. */
  snprintf(proxy, sizeof proxy, "http://pu:pp@127.0.0.1:%d", md5);
  fl_client *c = client_via(proxy, 1);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/digest-auth/auth/user/passwd/SHA-256", hb);
  fl_request *r = new_req(url, &s);
  fl_request_set_digest_auth(r, "user", "passwd");
  fl_test_perform(c, r, 0);
  CHECK_EQ_INT(status(r), 200);
  CHECK_EQ_INT(s.heads, 3);
  CHECK(strstr(s.head, "Proxy-Authorization: Digest "));
  CHECK(strstr(s.head, "\r\nAuthorization: Digest "));
  fl_request_free(r);
  fl_client_free(c);

  /* https: the CONNECT's 407 is answered on the same connection; the
   * tunnel is pooled. A wrong password: the second 407 refuses the tunnel. */
  char ca[512];
  snprintf(ca, sizeof ca, "%s", fl_test_rundir_path("nginx_tls/ca.pem"));
  int tls = fl_test_server_port("nginx_tls");
  for (int i = 0; i < 2; i++) {
    fl_client_options o;
    fl_client_options_init(&o);
    snprintf(proxy, sizeof proxy, "http://pu:%s@127.0.0.1:%d", i ? "nope" : "pp", sess);
    o.proxy = proxy;
    o.proxy_digest = 1;
    o.ca_file = ca;
    fl_client *tc = fl_client_new(loop, &o);
    CHECK(tc);
    snprintf(url, sizeof url, "https://localhost:%d/hello", tls);
    r = fl_test_get(tc, url, i ? FL_ERECV : 0);
    if (i) {
      CHECK(strstr(fl_request_errmsg(r), "407"));
    } else {
      CHECK_EQ_STR(body(r), "Hello, World!");
      fl_request_free(r);
      r = fl_test_get(tc, url, 0);
      CHECK(fl_request_info(r)->reused);
    }
    fl_request_free(r);
    fl_client_free(tc);
  }
  snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", sess);
  c = client_via(proxy, 0);
  r = fl_test_get(c, "http://proxy.invalid/_log", 0);
  char line[256];
  snprintf(line, sizeof line,
           "CONNECT localhost:%d HTTP/1.1\r\nHost: localhost:%d\r\n"
           "Proxy-Authorization: Digest username=\"pu\", realm=\"flurry-proxy\"",
           tls, tls);
  CHECK(strstr(body(r), line));
  fl_request_free(r);
  fl_client_free(c);

  /* A body waits for the credentials (as curl): the first request says
   * Content-Length: 0, the answered one carries it; so a streamed body is
   * read once and needs no replay. */
  snprintf(proxy, sizeof proxy, "http://pu:pp@127.0.0.1:%d", md5);
  c = client_via(proxy, 1);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/post", hb);
  r = new_req(url, &s);
  fl_request_set_method(r, "POST");
  fl_request_set_json(r, "{\"k\":\"fixed-body\"}");
  fl_test_perform(c, r, 0);
  CHECK_EQ_INT(status(r), 200);
  CHECK_EQ_INT(s.heads, 2);
  CHECK(strstr(s.first, "\r\nContent-Length: 0\r\n"));
  CHECK(strstr(s.first, "\r\nContent-Type: application/json\r\n"));
  CHECK(strstr(body(r), "fixed-body"));
  fl_request_free(r);
  int sent = 0;
  r = new_req(url, &s);
  fl_request_set_method(r, "POST");
  fl_request_set_upload_sized(r, stream_once, &sent, 13);
  fl_test_perform(c, r, 0);
  CHECK_EQ_INT(status(r), 200);
  CHECK(strstr(s.first, "\r\nContent-Length: 0\r\n"));
  CHECK(strstr(s.head, "\r\nContent-Length: 13\r\n"));
  CHECK(strstr(body(r), "streamed-body"));
  fl_request_free(r);
  fl_client_free(c);

  /* A wrong proxy password: the second 407 is the result. */
  snprintf(url, sizeof url, "http://127.0.0.1:%d/get", hb);
  snprintf(proxy, sizeof proxy, "http://pu:nope@127.0.0.1:%d", md5);
  c = client_via(proxy, 1);
  r = new_req(url, &s);
  fl_test_perform(c, r, 0);
  CHECK_EQ_INT(status(r), 407);
  CHECK_EQ_INT(s.heads, 2);
  fl_request_free(r);
  fl_client_free(c);
  /* Without proxy_digest the credentials go as Basic: refused at once. */
  snprintf(proxy, sizeof proxy, "http://pu:pp@127.0.0.1:%d", md5);
  c = client_via(proxy, 0);
  r = new_req(url, &s);
  fl_test_perform(c, r, 0);
  CHECK_EQ_INT(status(r), 407);
  CHECK_EQ_INT(s.heads, 1);
  CHECK(strstr(s.head, "Proxy-Authorization: Basic "));
  fl_request_free(r);
  fl_client_free(c);
  fl_test_fault_stop();
}

int main(void) {
  FL_TEST_BEGIN();
  hb = fl_test_server_port("httpbin");
  loop = fl_loop_new();
  fl_client *c = fl_client_new(loop, NULL);
  server_tests(c);
  fl_client_free(c);
  /* Without a cookie jar (httpbin's cookies kept heads from being reused):
   * the answered request is built anew, and a resend starts over. */
  fl_client_options o;
  fl_client_options_init(&o);
  o.cookies = 0;
  c = fl_client_new(loop, &o);
  char url[256];
  seen s;
  snprintf(url, sizeof url, "http://127.0.0.1:%d/digest-auth/auth/user/passwd/MD5", hb);
  fl_request *r = new_req(url, &s);
  fl_request_set_digest_auth(r, "user", "passwd");
  for (int i = 1; i <= 3; i++) {
    fl_test_perform(c, r, 0);
    CHECK_EQ_INT(status(r), 200);
    CHECK_EQ_INT(s.heads, 2 * i);
    CHECK(!strstr(s.first, "Authorization"));
    CHECK(strstr(s.head, "\r\nAuthorization: Digest "));
  }
  fl_request_free(r);
  fl_client_free(c);
  proxy_tests();
  CHECK_EQ_INT(fl_loop_free(loop), 0);
  FL_TEST_END();
}
