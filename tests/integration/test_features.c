/* Redirects (methods, limits, credentials across origins), Basic auth,
 * decompression as the body streams, size limits and body helpers, against
 * httpbin and nginx. */
/* FIXTURES: httpbin nginx */
/* LABELS: valgrind */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flurry.h"
#include "test.h"

static fl_loop *loop;
static fl_client *client;
static int hb, ngx;
static char url[1024];

static const char *H(const char *path) {
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", hb, path);
  return url;
}

static fl_request *perform(fl_request *req, int expect) {
  return fl_test_perform(client, req, expect);
}

static fl_request *run(const char *method, const char *u, int expect) {
  fl_request *req = fl_request_new(method, u);
  CHECK(req);
  return perform(req, expect);
}

static int status(fl_request *req) { return fl_response_status(fl_request_response(req)); }
static const char *body(fl_request *req) {
  return fl_response_body(fl_request_response(req), NULL);
}

static void test_redirects(void) {
  fl_request *r = run("GET", H("/redirect/3"), 0);
  CHECK_EQ_INT(status(r), 200);
  CHECK_EQ_INT(fl_request_info(r)->redirects, 3);
  CHECK(strstr(fl_request_effective_url(r), "/get"));
  fl_request_free(r);
  r = run("GET", H("/relative-redirect/2"), 0);
  CHECK_EQ_INT(fl_request_info(r)->redirects, 2);
  fl_request_free(r);
  r = run("GET", H("/absolute-redirect/2"), 0);
  CHECK_EQ_INT(fl_request_info(r)->redirects, 2);
  fl_request_free(r);

  /* The limit is an error of its own; unlimited goes on. */
  r = fl_request_new("GET", H("/redirect/5"));
  fl_request_set_follow(r, 1, 2);
  perform(r, FL_ETOO_MANY_REDIRECTS);
  CHECK_EQ_INT(fl_err_curl_code(FL_ETOO_MANY_REDIRECTS), 47);
  fl_request_set_follow(r, 1, -1);
  perform(r, 0);
  CHECK_EQ_INT(fl_request_info(r)->redirects, 5);
  /* Not following: the 3xx is the response. */
  fl_request_set_follow(r, 0, 0);
  perform(r, 0);
  CHECK_EQ_INT(status(r), 302);
  CHECK_EQ_INT(fl_request_info(r)->redirects, 0);
  fl_request_free(r);

  /* 303 turns POST into GET without a body; 307 and 308 keep both. */
  r = fl_request_new("POST", H("/redirect-to?url=/anything&status_code=303"));
  fl_request_set_json(r, "{\"a\":1}");
  perform(r, 0);
  CHECK(strstr(body(r), "\"method\":\"GET\""));
  CHECK(strstr(body(r), "\"data\":\"\""));
  CHECK(!strstr(body(r), "Content-Type"));
  fl_request_free(r);
  r = fl_request_new("POST", H("/redirect-to?url=/anything&status_code=302"));
  fl_request_set_json(r, "{\"a\":1}");
  perform(r, 0);
  CHECK(strstr(body(r), "\"method\":\"GET\""));
  fl_request_free(r);
  int codes[] = {307, 308};
  for (int i = 0; i < 2; i++) {
    char path[128];
    snprintf(path, sizeof path, "/redirect-to?url=/anything&status_code=%d", codes[i]);
    r = fl_request_new("POST", H(path));
    fl_request_set_json(r, "{\"a\":1}");
    perform(r, 0);
    CHECK(strstr(body(r), "\"method\":\"POST\""));
    CHECK(strstr(body(r), "\"json\":{\"a\":1}"));
    fl_request_free(r);
  }
  /* A 3xx without Location is final; redirects only to http(s). */
  r = run("GET", H("/status/304"), 0);
  CHECK_EQ_INT(status(r), 304);
  fl_request_free(r);
  r = run("GET", H("/redirect-to?url=ftp://127.0.0.1/x"), FL_EUNSUPPORTED_PROTOCOL);
  fl_request_free(r);
}

static long upload_left;
static long upload_cb(fl_request *req, char *buf, size_t cap, void *data) {
  (void)req, (void)data, (void)cap;
  if (upload_left-- <= 0) return 0;
  memcpy(buf, "x", 1);
  return 1;
}

typedef struct traced {
  int requests, responses;
  char first_req[64], last_req[64], statuses[64];
} traced;

static void on_trace(fl_request *req, fl_trace_kind kind, const char *data, size_t len, void *ud) {
  (void)req;
  traced *t = ud;
  CHECK(len >= 4 && memcmp(data + len - 4, "\r\n\r\n", 4) == 0); /* whole heads */
  if (kind == FL_TRACE_REQUEST_HEAD) {
    snprintf(t->last_req, sizeof t->last_req, "%.*s", (int)(strchr(data, '\r') - data), data);
    if (t->requests++ == 0) memcpy(t->first_req, t->last_req, sizeof t->first_req);
  } else {
    t->responses++;
    size_t used = strlen(t->statuses);
    snprintf(t->statuses + used, sizeof t->statuses - used, "%.3s ", data + 9);
  }
}

static void test_trace(void) {
  traced t = {0};
  fl_request *r = fl_request_new("GET", H("/redirect/2"));
  fl_request_on_trace(r, on_trace, &t);
  perform(r, 0);
  CHECK_EQ_INT(t.requests, 3); /* one per hop */
  CHECK_EQ_INT(t.responses, 3);
  CHECK_EQ_STR(t.first_req, "GET /redirect/2 HTTP/1.1");
  CHECK_EQ_STR(t.last_req, "GET /get HTTP/1.1");
  CHECK_EQ_STR(t.statuses, "302 302 200 ");
  fl_request_free(r);
}

static void test_redirect_body_rules(void) {
  /* A streamed body cannot be sent again for a 307. */
  fl_request *r = fl_request_new("PUT", H("/redirect-to?url=/anything&status_code=307"));
  upload_left = 3;
  fl_request_set_upload(r, upload_cb, NULL);
  perform(r, FL_ESEND_REWIND);
  fl_request_free(r);
}

static void test_credentials_across_origins(void) {
  /* 127.0.0.1 -> localhost (another host) -> back to 127.0.0.1: Authorization,
   * Cookie and Basic credentials never go past the first hop. */
  char inner[256], mid[512], path[1024];
  snprintf(inner, sizeof inner, "http://127.0.0.1:%d/headers", hb);
  char *enc_inner = NULL;
  {
    const char *pairs[] = {"url", inner};
    char base[128];
    snprintf(base, sizeof base, "http://localhost:%d/redirect-to", hb);
    enc_inner = fl_url_with_query(base, pairs, 1);
  }
  snprintf(mid, sizeof mid, "%s", enc_inner);
  free(enc_inner);
  const char *pairs[] = {"url", mid};
  char *start = fl_url_with_query(H("/redirect-to"), pairs, 1);
  snprintf(path, sizeof path, "%s", start);
  free(start);

  fl_request *r = fl_request_new("GET", path);
  fl_request_add_header(r, "Authorization", "Bearer secret-token");
  fl_request_add_header(r, "Cookie", "session=secret");
  fl_request_add_header(r, "X-Kept", "yes");
  perform(r, 0);
  CHECK_EQ_INT(fl_request_info(r)->redirects, 2);
  const char *b = body(r);
  CHECK(strstr(b, "\"X-Kept\":\"yes\""));
  CHECK(!strstr(b, "secret"));
  CHECK(!strstr(b, "Authorization"));
  CHECK(!strstr(b, "Cookie"));
  fl_request_free(r);

  r = fl_request_new("GET", path);
  fl_request_set_basic_auth(r, "user", "pw");
  perform(r, 0);
  CHECK(!strstr(body(r), "Authorization"));
  fl_request_free(r);

  /* Same origin: credentials stay. */
  r = fl_request_new("GET", H("/redirect-to?url=/headers"));
  fl_request_add_header(r, "Authorization", "Bearer same-origin");
  perform(r, 0);
  CHECK(strstr(body(r), "\"Authorization\":\"Bearer same-origin\""));
  fl_request_free(r);
}

static void test_basic_auth(void) {
  fl_request *r = fl_request_new("GET", H("/basic-auth/user/passwd"));
  fl_request_set_basic_auth(r, "user", "passwd");
  perform(r, 0);
  CHECK_EQ_INT(status(r), 200);
  fl_request_set_basic_auth(r, "user", "wrong");
  perform(r, 0);
  CHECK_EQ_INT(status(r), 401);
  fl_request_free(r);
  /* From the URL, percent-decoded, and never in the Host header. */
  snprintf(url, sizeof url, "http://u%%40x:p%%3Ay@127.0.0.1:%d/basic-auth/u@x/p:y", hb);
  r = run("GET", url, 0);
  CHECK_EQ_INT(status(r), 200);
  fl_request_free(r);
  snprintf(url, sizeof url, "http://user:passwd@127.0.0.1:%d/headers", hb);
  r = run("GET", url, 0);
  char host[64];
  snprintf(host, sizeof host, "\"Host\":\"127.0.0.1:%d\"", hb);
  CHECK(strstr(body(r), host));
  CHECK(strstr(body(r), "\"Authorization\":\"Basic dXNlcjpwYXNzd2Q=\""));
  fl_request_free(r);
  r = fl_request_new("GET", H("/hidden-basic-auth/user/passwd"));
  fl_request_set_basic_auth(r, "user", "passwd");
  perform(r, 0);
  CHECK_EQ_INT(status(r), 200);
  fl_request_free(r);
}

static void test_decompression(void) {
  const char *paths[] = {"/gzip", "/deflate", "/brotli"};
  const char *flags[] = {"\"gzipped\":true", "\"deflated\":true", "\"brotli\":true"};
  for (int i = 0; i < 3; i++) {
    fl_request *r = run("GET", H(paths[i]), 0);
    CHECK_EQ_INT(status(r), 200);
    CHECK(strstr(body(r), flags[i]));
    fl_request_free(r);
  }
  /* nginx: gzip streamed chunked, decoded to the exact file. */
  snprintf(url, sizeof url, "http://127.0.0.1:%d/gzip/big.bin", ngx);
  fl_request *z = run("GET", url, 0);
  CHECK_EQ_STR(fl_response_header(fl_request_response(z), "Content-Encoding"), "gzip");
  snprintf(url, sizeof url, "http://127.0.0.1:%d/files/big.bin", ngx);
  fl_request *plain = run("GET", url, 0);
  size_t zl, pl;
  const char *zb = fl_response_body(fl_request_response(z), &zl);
  const char *pb = fl_response_body(fl_request_response(plain), &pl);
  CHECK_EQ_INT(zl, pl);
  CHECK(memcmp(zb, pb, pl) == 0);
  fl_request_free(z);
  fl_request_free(plain);
  /* Off: the body stays encoded, and we do not ask for encodings. */
  fl_client_options o;
  fl_client_options_init(&o);
  o.decompress = 0;
  fl_client *raw = fl_client_new(loop, &o);
  fl_request *r = fl_request_new("GET", H("/headers"));
  CHECK_EQ_INT(fl_request_perform(raw, r), 0);
  CHECK(!strstr(body(r), "Accept-Encoding"));
  fl_request_free(r);
  fl_client_free(raw);
}

static void test_size_limits(void) {
  /* Declared length over the limit: fails before reading the body. */
  snprintf(url, sizeof url, "http://127.0.0.1:%d/files/big.bin", ngx);
  fl_request *r = fl_request_new("GET", url);
  fl_request_set_max_filesize(r, 1000);
  perform(r, FL_EFILESIZE_EXCEEDED);
  CHECK(fl_request_info(r)->bytes_received == 0);
  CHECK_EQ_INT(fl_err_curl_code(FL_EFILESIZE_EXCEEDED), 63);
  /* No length: stops mid-transfer, counting decoded bytes. */
  snprintf(url, sizeof url, "http://127.0.0.1:%d/gzip/big.bin", ngx);
  fl_request_set_url(r, url);
  fl_request_set_max_filesize(r, 5000);
  perform(r, FL_EFILESIZE_EXCEEDED);
  CHECK(fl_request_info(r)->bytes_received <= 5000);
  fl_request_free(r);
}

/* The rest of httpbin's endpoints the issue names. */
static void test_more_endpoints(void) {
  fl_request *r = fl_request_new("PUT", H("/put"));
  fl_request_set_json(r, "{\"p\":1}");
  perform(r, 0);
  CHECK(strstr(body(r), "\"json\":{\"p\":1}"));
  fl_request_set_method(r, "DELETE");
  fl_request_set_url(r, H("/delete"));
  fl_request_set_body(r, "", 0);
  perform(r, 0);
  CHECK_EQ_INT(status(r), 200);
  fl_request_free(r);
  r = run("GET", H("/stream/5"), 0); /* five JSON lines, chunked */
  int lines = 0;
  for (const char *p = body(r); (p = strchr(p, '\n')); p++) lines++;
  CHECK_EQ_INT(lines, 5);
  fl_request_free(r);
  r = run("GET", H("/bytes/5000"), 0);
  size_t len;
  fl_response_body(fl_request_response(r), &len);
  CHECK_EQ_INT(len, 5000);
  fl_request_free(r);
  r = run("GET", H("/drip?numbytes=5&duration=0.5&delay=0"), 0);
  CHECK_EQ_STR(body(r), "*****");
  fl_request_free(r);
  r = fl_request_new("GET", H("/range/100"));
  fl_request_set_header(r, "Range", "bytes=10-19");
  perform(r, 0);
  CHECK_EQ_INT(status(r), 206);
  CHECK_EQ_STR(body(r), "klmnopqrst");
  fl_request_free(r);
  /* 301 from POST: GET, like curl and browsers. */
  r = fl_request_new("POST", H("/redirect-to?url=/anything&status_code=301"));
  fl_request_set_body(r, "x=1", 3);
  perform(r, 0);
  CHECK(strstr(body(r), "\"method\":\"GET\""));
  fl_request_free(r);
  /* A long chain ends at the limit. */
  r = fl_request_new("GET", H("/absolute-redirect/50"));
  perform(r, FL_ETOO_MANY_REDIRECTS);
  CHECK_EQ_INT(fl_request_info(r)->redirects, 10); /* the library's default limit */
  fl_request_free(r);
}

static void test_save_to(void) {
  char path[256];
  snprintf(path, sizeof path, "%s", fl_test_rundir_path("features.download.bin"));
  snprintf(url, sizeof url, "http://127.0.0.1:%d/gzip/big.bin", ngx); /* decoded on the way */
  fl_request *r = fl_request_new("GET", url);
  CHECK_EQ_INT(fl_request_save_to(r, path), 0);
  perform(r, 0);
  size_t len;
  fl_response_body(fl_request_response(r), &len);
  CHECK_EQ_INT(len, 0); /* went to the file, not the buffer */
  FILE *f = fopen(path, "rb");
  CHECK(f);
  fseek(f, 0, SEEK_END);
  CHECK_EQ_INT(ftell(f), 1 << 20);
  fclose(f);
  CHECK_EQ_INT(fl_request_save_to(r, "/nonexistent/dir/file"), 0);
  perform(r, FL_EWRITE);
  CHECK_EQ_INT(fl_err_curl_code(FL_EWRITE), 23);
  fl_request_free(r);
}

static void test_body_helpers(void) {
  fl_request *r = fl_request_new("POST", H("/post"));
  const char *form[] = {"name", "a b&c", "empty", ""};
  CHECK_EQ_INT(fl_request_set_form(r, form, 2), 0);
  perform(r, 0);
  CHECK(strstr(body(r), "\"form\":{\"empty\":\"\",\"name\":\"a b&c\"}"));
  fl_request_free(r);
  r = fl_request_new("PATCH", H("/patch"));
  CHECK_EQ_INT(fl_request_set_json(r, "{\"n\":[1,2]}"), 0);
  perform(r, 0);
  CHECK(strstr(body(r), "\"json\":{\"n\":[1,2]}"));
  fl_request_free(r);
}

static void test_multipart(void) {
  char path[256];
  snprintf(path, sizeof path, "%s", fl_test_rundir_path("features.upload.txt"));
  FILE *f = fopen(path, "w");
  CHECK(f);
  for (int i = 0; i < 5000; i++) fputs("0123456789", f); /* 50,000 bytes: several reads */
  fclose(f);
  fl_form *form = fl_form_new();
  CHECK_EQ_INT(fl_form_add(form, "field", "va\"lue"), 0);
  CHECK_EQ_INT(fl_form_add(form, "empty", ""), 0);
  CHECK_EQ_INT(fl_form_add_file(form, "upload", path, NULL, "text/plain"), 0);
  CHECK_EQ_INT(fl_form_add(form, "bad\r\nname", "x"), FL_EBAD_HEADER);
  fl_request *r = fl_request_new("POST", H("/post"));
  CHECK_EQ_INT(fl_request_set_multipart(r, form), 0);
  perform(r, 0);
  const char *b = body(r);
  CHECK(strstr(b, "\"field\":\"va\\\"lue\""));
  CHECK(strstr(b, "\"empty\":\"\""));
  CHECK(strstr(b, "\"upload\":\"0123456789012"));
  CHECK(strstr(b, "multipart/form-data; boundary=flurry-"));
  /* Sent again (the body is produced anew), and through a 307. */
  perform(r, 0);
  CHECK(strstr(body(r), "\"upload\":\"0123456789012"));
  fl_request_set_url(r, H("/redirect-to?url=/post&status_code=307"));
  perform(r, 0);
  CHECK(strstr(body(r), "\"upload\":\"0123456789012"));
  fl_request_free(r);
  /* A missing file is a read error found before sending. */
  fl_form *missing = fl_form_new();
  fl_form_add_file(missing, "f", "/nonexistent/file", NULL, NULL);
  r = fl_request_new("POST", H("/post"));
  CHECK_EQ_INT(fl_request_set_multipart(r, missing), FL_EREAD);
  fl_request_free(r);
  fl_form_free(missing);
  fl_form_free(form);
}

static void test_cookies(void) {
  fl_client *c = fl_client_new(loop, NULL);
  fl_request *r = fl_request_new("GET", H("/cookies/set?a=1&b=2"));
  CHECK_EQ_INT(fl_request_perform(c, r), 0); /* sets, then redirects to /cookies */
  CHECK_EQ_INT(fl_request_info(r)->redirects, 1);
  CHECK(strstr(body(r), "\"cookies\":{\"a\":\"1\",\"b\":\"2\"}"));
  fl_request_set_url(r, H("/cookies/delete?a"));
  CHECK_EQ_INT(fl_request_perform(c, r), 0);
  CHECK(strstr(body(r), "\"cookies\":{\"b\":\"2\"}"));
  /* Host-only: localhost is another host and gets none. */
  char other[128];
  snprintf(other, sizeof other, "http://localhost:%d/cookies", hb);
  char *none = fl_client_cookies_for(c, other);
  CHECK(none == NULL);
  char *mine = fl_client_cookies_for(c, H("/cookies"));
  CHECK_EQ_STR(mine, "b=2");
  free(mine);
  /* The caller's Cookie header is joined with the jar's, in one header. */
  fl_request_set_url(r, H("/cookies"));
  fl_request_set_header(r, "Cookie", "mine=x");
  CHECK_EQ_INT(fl_request_perform(c, r), 0);
  CHECK(strstr(body(r), "\"b\":\"2\""));
  CHECK(strstr(body(r), "\"mine\":\"x\""));
  fl_request_remove_header(r, "Cookie");
  /* Save and load (Netscape format) into another client. */
  char path[256];
  snprintf(path, sizeof path, "%s", fl_test_rundir_path("features.cookies.txt"));
  CHECK_EQ_INT(fl_client_cookies_save(c, path), 0);
  fl_client *d = fl_client_new(loop, NULL);
  CHECK_EQ_INT(fl_client_cookies_load(d, path), 0);
  CHECK_EQ_INT(fl_request_perform(d, r), 0);
  CHECK(strstr(body(r), "\"cookies\":{\"b\":\"2\"}"));
  CHECK_EQ_INT(fl_client_cookies_load(d, "/nonexistent/cookies.txt"), FL_EREAD);
  /* Public suffix domains are refused. */
  CHECK_EQ_INT(fl_client_cookies_set(d, "http://www.example.co.uk/", "s=1; Domain=co.uk"), 0);
  CHECK(fl_client_cookies_for(d, "http://other.co.uk/") == NULL);
  fl_request_free(r);
  fl_client_free(c);
  fl_client_free(d);
  /* Cookies off: nothing kept. */
  fl_client_options o;
  fl_client_options_init(&o);
  o.cookies = 0;
  c = fl_client_new(loop, &o);
  r = fl_request_new("GET", H("/cookies/set?a=1"));
  CHECK_EQ_INT(fl_request_perform(c, r), 0);
  CHECK(strstr(body(r), "\"cookies\":{}"));
  CHECK_EQ_INT(fl_client_cookies_save(c, path), FL_EINVAL);
  fl_request_free(r);
  fl_client_free(c);
}

int main(void) {
  FL_TEST_BEGIN();
  hb = fl_test_server_port("httpbin");
  ngx = fl_test_server_port("nginx");
  loop = fl_loop_new();
  client = fl_client_new(loop, NULL);
  CHECK(client);
  test_redirects();
  test_redirect_body_rules();
  test_trace();
  test_credentials_across_origins();
  test_basic_auth();
  test_decompression();
  test_size_limits();
  test_body_helpers();
  test_save_to();
  test_more_endpoints();
  test_multipart();
  test_cookies();
  fl_client_free(client);
  CHECK_EQ_INT(fl_loop_free(loop), 0);
  FL_TEST_END();
}
