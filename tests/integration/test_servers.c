/* The client against real servers: httpbin (gunicorn), nginx over IPv4 and
 * IPv6, and DNS through dnsmasq with the client's own DNS options. Never
 * asks the machine's configured resolver: names are *.test on our dnsmasq,
 * IP literals, localhost, or resolve overrides. */
/* FIXTURES: httpbin nginx dnsmasq */
/* LABELS: valgrind */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "flurry.h"
#include "test.h"

static fl_loop *loop;

static fl_client *client_with(const char *dns_servers, const char *const *resolve) {
  fl_client_options o;
  fl_client_options_init(&o);
  o.dns_servers = dns_servers;
  o.resolve = resolve;
  o.dns_timeout_ms = 2000;
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  return c;
}

static fl_request *get(fl_client *c, const char *url, int expect) {
  return fl_test_get(c, url, expect);
}

static void test_httpbin(void) {
  int port = fl_test_server_port("httpbin");
  fl_client *c = client_with(NULL, NULL);
  char url[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/get?id=7&name=a%%20b", port);
  fl_request *req = get(c, url, 0);
  const fl_response *res = fl_request_response(req);
  CHECK_EQ_INT(fl_response_status(res), 200);
  const char *body = fl_response_body(res, NULL);
  CHECK(strstr(body, "\"id\":\"7\""));
  CHECK(strstr(body, "\"name\":\"a b\""));
  CHECK(strstr(body, "\"User-Agent\":\"flurry/" FL_VERSION_STRING "\""));
  fl_request_free(req);

  /* A JSON body, echoed back by httpbin's /post. */
  snprintf(url, sizeof url, "http://127.0.0.1:%d/post", port);
  req = fl_request_new("POST", url);
  fl_request_set_header(req, "Content-Type", "application/json");
  fl_request_set_body(req, "{\"k\": 42}", 9);
  CHECK_EQ_INT(fl_request_perform(c, req), 0);
  CHECK(strstr(fl_response_body(fl_request_response(req), NULL), "\"json\":{\"k\":42}"));
  fl_request_free(req);

  /* Chunked stream and exact byte counts. */
  snprintf(url, sizeof url, "http://127.0.0.1:%d/stream-bytes/100000?chunk_size=3000", port);
  req = get(c, url, 0);
  size_t len;
  fl_response_body(fl_request_response(req), &len);
  CHECK_EQ_INT(len, 100000);
  fl_request_free(req);

  /* Status codes are results, not errors. */
  snprintf(url, sizeof url, "http://127.0.0.1:%d/status/418", port);
  req = get(c, url, 0);
  CHECK_EQ_INT(fl_response_status(fl_request_response(req)), 418);
  fl_request_free(req);

  /* The query builder encodes what it is given. */
  snprintf(url, sizeof url, "http://127.0.0.1:%d/get", port);
  const char *pairs[] = {"q", "a&b=c d", "e", "\xc3\xa9"};
  char *built = fl_url_with_query(url, pairs, 2);
  CHECK(built);
  req = get(c, built, 0);
  body = fl_response_body(fl_request_response(req), NULL);
  CHECK(strstr(body, "\"q\":\"a&b=c d\""));
  CHECK(strstr(body, "\"e\":\"\xc3\xa9\"") || strstr(body, "\"e\":\"\\u00e9\""));
  fl_request_free(req);
  free(built);
  fl_client_free(c);
}

typedef struct counter {
  int done, errors;
} counter;

static void count_done(fl_request *req, int err, void *data) {
  counter *k = data;
  k->done++;
  if (err || fl_response_status(fl_request_response(req)) != 200) k->errors++;
  size_t len;
  fl_response_body(fl_request_response(req), &len);
  if (len != 13) k->errors++;
}

static void test_nginx(void) {
  int port = fl_test_server_port("nginx");
  fl_client_options o;
  fl_client_options_init(&o);
  o.max_connections = 8;
  fl_client *c = fl_client_new(loop, &o);
  enum { N = 2000 };
  static fl_request *reqs[N];
  counter k = {0, 0};
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/hello", port);
  for (int i = 0; i < N; i++) {
    reqs[i] = fl_request_new("GET", url);
    CHECK_EQ_INT(fl_request_send(c, reqs[i], count_done, &k), 0);
  }
  while (k.done < N) fl_loop_run(loop, FL_RUN_ONCE);
  CHECK_EQ_INT(k.errors, 0);
  fl_pool_stats st;
  fl_client_pool_stats(c, &st);
  CHECK_EQ_INT(st.created, 8);
  CHECK_EQ_INT(st.reused, N - 8);
  for (int i = 0; i < N; i++) fl_request_free(reqs[i]);

  /* IPv6 literal, when this machine has ::1 (nginx listens there too). */
  int s6 = socket(AF_INET6, SOCK_STREAM, 0);
  if (s6 >= 0) {
    close(s6);
    snprintf(url, sizeof url, "http://[::1]:%d/hello", port);
    fl_request *req = fl_request_new("GET", url);
    int err = fl_request_perform(c, req);
    if (err == 0) {
      CHECK_EQ_STR(fl_request_info(req)->remote_ip, "::1");
      CHECK_EQ_STR(fl_response_body(fl_request_response(req), NULL), "Hello, World!");
    } else {
      printf("skip IPv6: %s\n", fl_request_errmsg(req));
    }
    fl_request_free(req);
  }
  fl_client_free(c);
}

static void test_dns(void) {
  int nginx = fl_test_server_port("nginx");
  char servers[64], url[128];
  snprintf(servers, sizeof servers, "127.0.0.1:%d", fl_test_server_port("dnsmasq"));
  fl_client *c = client_with(servers, NULL);

  snprintf(url, sizeof url, "http://a.test:%d/hello", nginx);
  fl_request *req = get(c, url, 0);
  CHECK_EQ_INT(fl_response_status(fl_request_response(req)), 200);
  CHECK(!fl_request_info(req)->dns_cache_hit);
  /* The Host header carries the name, not the address. */
  fl_request_free(req);

  /* Same host and port: the pooled connection is reused, no lookup at all. */
  snprintf(url, sizeof url, "http://a.test:%d/get", nginx);
  req = get(c, url, 0);
  CHECK(fl_request_info(req)->reused);
  fl_request_free(req);

  /* Dual-stack name: Happy Eyeballs tries ::1 first; either way we connect. */
  snprintf(url, sizeof url, "http://dual.test:%d/hello", nginx);
  req = get(c, url, 0);
  CHECK_EQ_STR(fl_response_body(fl_request_response(req), NULL), "Hello, World!");
  fl_request_free(req);

  snprintf(url, sizeof url, "http://nope.test:%d/hello", nginx);
  fl_request_free(get(c, url, FL_ERESOLVE));
  CHECK_EQ_INT(fl_err_curl_code(FL_ERESOLVE), 6);
  snprintf(url, sizeof url, "http://x.fail.test:%d/hello", nginx);
  fl_request_free(get(c, url, FL_EDNS_SERVER_FAIL));
  CHECK_EQ_INT(fl_err_curl_code(FL_EDNS_SERVER_FAIL), 6);
  fl_client_free(c);

  /* DNS timeout: a short lookup budget against a name that is never answered. */
  fl_client_options o;
  fl_client_options_init(&o);
  o.dns_servers = servers;
  o.dns_timeout_ms = 300;
  c = fl_client_new(loop, &o);
  snprintf(url, sizeof url, "http://x.timeout.test:%d/hello", nginx);
  fl_request_free(get(c, url, FL_EDNS_TIMEOUT));
  fl_client_free(c);

  /* Resolve overrides answer before DNS (the DNS server here knows nothing). */
  char rule[128];
  snprintf(rule, sizeof rule, "example.invalid:%d:127.0.0.1", nginx);
  const char *resolve[] = {rule, NULL};
  c = client_with(servers, resolve);
  snprintf(url, sizeof url, "http://example.invalid:%d/hello", nginx);
  req = get(c, url, 0);
  CHECK(fl_request_info(req)->dns_cache_hit);
  fl_request_free(req);
  fl_client_free(c);

  /* Bad DNS options are refused at client creation. */
  fl_client_options_init(&o);
  o.dns_servers = "not-an-ip";
  CHECK(fl_client_new(loop, &o) == NULL);
  fl_client_options_init(&o);
  const char *bad[] = {"no-port-or-address", NULL};
  o.resolve = bad;
  CHECK(fl_client_new(loop, &o) == NULL);
}

static void test_blocking_helpers(void) {
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/hello", fl_test_server_port("nginx"));
  fl_request *req = NULL;
  CHECK_EQ_INT(fl_get(url, &req), 0);
  CHECK(req);
  CHECK_EQ_STR(fl_response_body(fl_request_response(req), NULL), "Hello, World!");
  fl_request_free(req);
  CHECK_EQ_INT(fl_get("http://127.0.0.1:1/", &req), FL_ECONN_REFUSED);
  CHECK(req == NULL);
}

int main(void) {
  FL_TEST_BEGIN();
  loop = fl_loop_new();
  CHECK(loop);
  test_httpbin();
  test_nginx();
  test_dns();
  test_blocking_helpers();
  CHECK_EQ_INT(fl_loop_free(loop), 0);
  FL_TEST_END();
}
