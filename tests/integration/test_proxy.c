/* Forward proxy for http: absolute-form targets, credentials only for the
 * proxy, pool keys per proxy, environment (trust_env) and no_proxy, against
 * a small proxy of ours (tests/support/proxy_server.py) and httpbin. */
/* FIXTURES: httpbin nginx_tls */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flurry.h"
#include "test.h"

static fl_loop *loop;
static int hb;

static fl_client *client_via(const char *proxy, int trust_env) {
  fl_client_options o;
  fl_client_options_init(&o);
  o.proxy = proxy;
  o.trust_env = trust_env;
  return fl_client_new(loop, &o);
}

static fl_request *get(fl_client *c, const char *url, int expect) {
  return fl_test_get(c, url, expect);
}

static const char *header(fl_request *r, const char *name) {
  return fl_response_header(fl_request_response(r), name);
}

int main(void) {
  FL_TEST_BEGIN();
  hb = fl_test_server_port("httpbin");
  int open_proxy = fl_test_script_start("proxy_server.py", NULL);
  int auth_proxy = fl_test_script_start("proxy_server.py", "--user=pu:pp");
  loop = fl_loop_new();
  char url[256], proxy[256], log_url[] = "http://proxy.invalid/_log";

  /* Through the proxy: absolute-form request line, Host kept. */
  snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", open_proxy);
  fl_client *c = client_via(proxy, 0);
  CHECK(c);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/get?via=proxy", hb);
  fl_request *r = get(c, url, 0);
  CHECK_EQ_INT(fl_response_status(fl_request_response(r)), 200);
  CHECK_EQ_STR(header(r, "X-Seen-Proxy-Authorization"), "no");
  CHECK(strstr(fl_response_body(fl_request_response(r), NULL), "\"via\":\"proxy\""));
  CHECK_EQ_INT(fl_request_info(r)->remote_port, open_proxy);
  fl_request_free(r);
  r = get(c, log_url, 0);
  char line[300];
  snprintf(line, sizeof line,
           "GET http://127.0.0.1:%d/get?via=proxy HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", hb, hb);
  CHECK(strstr(fl_response_body(fl_request_response(r), NULL), line));
  fl_request_free(r);
  fl_client_free(c);

  /* Proxy credentials go to the proxy only; without them, 407. */
  snprintf(proxy, sizeof proxy, "http://pu:pp@127.0.0.1:%d", auth_proxy);
  c = client_via(proxy, 0);
  r = get(c, url, 0);
  CHECK_EQ_INT(fl_response_status(fl_request_response(r)), 200);
  CHECK_EQ_STR(header(r, "X-Seen-Proxy-Authorization"), "yes");
  /* httpbin (the origin) never saw them. */
  fl_request_free(r);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/headers", hb);
  r = get(c, url, 0);
  CHECK(!strstr(fl_response_body(fl_request_response(r), NULL), "Proxy-Authorization"));
  fl_request_free(r);
  fl_client_free(c);
  snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", auth_proxy);
  c = client_via(proxy, 0);
  r = get(c, url, 0);
  CHECK_EQ_INT(fl_response_status(fl_request_response(r)), 407);
  fl_request_free(r);
  fl_client_free(c);

  /* trust_env: http_proxy is used, and no_proxy bypasses it. */
  snprintf(proxy, sizeof proxy, "127.0.0.1:%d", open_proxy); /* no scheme: http */
  setenv("http_proxy", proxy, 1);
  unsetenv("no_proxy");
  unsetenv("NO_PROXY");
  c = client_via(NULL, 1);
  r = get(c, url, 0);
  CHECK_EQ_INT(fl_request_info(r)->remote_port, open_proxy);
  fl_request_free(r);
  fl_client_free(c);
  setenv("no_proxy", "example.com, 127.0.0.1", 1);
  c = client_via(NULL, 1);
  r = get(c, url, 0);
  CHECK_EQ_INT(fl_request_info(r)->remote_port, hb); /* direct */
  fl_request_free(r);
  fl_client_free(c);
  /* Without trust_env the environment is ignored. */
  unsetenv("no_proxy");
  c = client_via(NULL, 0);
  r = get(c, url, 0);
  CHECK_EQ_INT(fl_request_info(r)->remote_port, hb);
  fl_request_free(r);
  fl_client_free(c);
  unsetenv("http_proxy");

  /* Bad proxy settings are refused when the client is made. */
  CHECK(client_via("ftp://127.0.0.1:1", 0) == NULL); /* socks5:// and the like are test_socks.c's */
  CHECK(client_via("http://exa mple:1", 0) == NULL);
  /* A proxy that refuses connections is a connect error. */
  c = client_via("http://127.0.0.1:1", 0);
  fl_request_free(get(c, url, FL_ECONN_REFUSED));
  fl_client_free(c);

  /* https through a CONNECT tunnel, TLS verified against the origin. */
  char ca[512];
  snprintf(ca, sizeof ca, "%s", fl_test_rundir_path("nginx_tls/ca.pem"));
  int tls_port = fl_test_server_port("nginx_tls");
  fl_client_options o;
  fl_client_options_init(&o);
  o.ca_file = ca;
  snprintf(proxy, sizeof proxy, "http://pu:pp@127.0.0.1:%d", auth_proxy);
  o.proxy = proxy;
  c = fl_client_new(loop, &o);
  CHECK(c);
  snprintf(url, sizeof url, "https://localhost:%d/hello", tls_port);
  r = get(c, url, 0);
  CHECK_EQ_STR(fl_response_body(fl_request_response(r), NULL), "Hello, World!");
  CHECK(fl_request_info(r)->appconnect_us > 0);
  fl_request_free(r);
  r = get(c, url, 0); /* the tunnelled connection is pooled and reused */
  CHECK(fl_request_info(r)->reused);
  fl_request_free(r);
  fl_client_free(c);
  /* Without the proxy's credentials the tunnel is refused: curl's 56. */
  snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", auth_proxy);
  o.proxy = proxy;
  c = fl_client_new(loop, &o);
  /* The credentials travelled in the CONNECT request (the proxy's log). */
  r = get(c, log_url, 0);
  char connect_line[200];
  snprintf(
      connect_line, sizeof connect_line,
      "CONNECT localhost:%d HTTP/1.1\r\nHost: localhost:%d\r\nProxy-Authorization: Basic cHU6cHA=",
      tls_port, tls_port);
  CHECK(strstr(fl_response_body(fl_request_response(r), NULL), connect_line));
  fl_request_free(r);
  r = get(c, url, FL_ERECV);
  CHECK(strstr(fl_request_errmsg(r), "407"));
  fl_request_free(r);
  fl_client_free(c);

  CHECK_EQ_INT(fl_loop_free(loop), 0);
  FL_TEST_END();
}
