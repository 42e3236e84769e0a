/* SOCKS proxies: socks5 and socks5h through microsocks (with and without
 * user/password), http and https origins; socks4, socks4a and every failure
 * through our scripted server (tests/support/socks_server.py), which logs
 * what each CONNECT carried (an address or the name). */
/* FIXTURES: nginx nginx_tls dnsmasq */
/* TIMEOUT: 120 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flurry.h"
#include "test.h"

static fl_loop *loop;
static char ca[512], dns[64];

/* Through the proxy "<prefix>127.0.0.1:<port>" (prefix: "socks5h://u:p@"). */
static fl_client *client_via(const char *prefix, int port) {
  char proxy[512];
  snprintf(proxy, sizeof proxy, "%s127.0.0.1:%d", prefix, port);
  fl_client_options o;
  fl_client_options_init(&o);
  o.proxy = proxy;
  o.ca_file = ca;
  o.dns_servers = dns;
  o.timeouts.connect_ms = 10000;
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  return c;
}

static const char *body(fl_request *r) { return fl_response_body(fl_request_response(r), NULL); }

/* GET url through c; the body must be want. */
static void get_body(fl_client *c, const char *url, const char *want) {
  fl_request *r = fl_test_get(c, url, 0);
  CHECK_EQ_INT(fl_response_status(fl_request_response(r)), 200);
  CHECK_EQ_STR(body(r), want);
  fl_request_free(r);
}

/* GET url through c; it must fail with err and a message holding want. */
static void get_fails(fl_client *c, const char *url, int err, const char *want) {
  fl_request *r = fl_test_get(c, url, err);
  if (!strstr(fl_request_errmsg(r), want)) {
    fprintf(stderr, "%s: message \"%s\" lacks \"%s\"\n", url, fl_request_errmsg(r), want);
    exit(1);
  }
  fl_request_free(r);
}

/* The scripted server's log (every CONNECT so far), through socks5h. */
static char *socks_log(int port) {
  fl_client *c = client_via("socks5h://", port);
  fl_request *r = fl_test_get(c, "http://socks.log/", 0);
  char *log = strdup(body(r));
  fl_request_free(r);
  fl_client_free(c);
  return log;
}

static void log_has(int port, const char *line) {
  char *log = socks_log(port);
  if (!strstr(log, line)) {
    fprintf(stderr, "the SOCKS log lacks \"%s\":\n%s", line, log);
    exit(1);
  }
  free(log);
}

static void microsocks_tests(int ng, int tls) {
  char url[256], tls_url[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/hello", ng);
  snprintf(tls_url, sizeof tls_url, "https://localhost:%d/hello", tls);
  int open = fl_test_script_start("microsocks.py", NULL);
  int auth = fl_test_script_start("microsocks.py", "--user=su:sp");

  /* socks5h and socks5, http and https (TLS verified against the origin
   * name, over the proxied socket); the connection is pooled and reused. */
  const char *kinds[] = {"socks5h://", "socks5://"};
  for (int k = 0; k < 2; k++) {
    fl_client *c = client_via(kinds[k], open);
    fl_request *r = fl_test_get(c, url, 0);
    CHECK_EQ_STR(body(r), "Hello, World!");
    CHECK_EQ_INT(fl_request_info(r)->remote_port, open); /* the proxy's address */
    fl_request_free(r);
    r = fl_test_get(c, url, 0);
    CHECK(fl_request_info(r)->reused);
    fl_request_free(r);
    r = fl_test_get(c, tls_url, 0);
    CHECK_EQ_STR(body(r), "Hello, World!");
    CHECK(fl_request_info(r)->appconnect_us > 0);
    fl_request_free(r);
    r = fl_test_get(c, tls_url, 0);
    CHECK(fl_request_info(r)->reused);
    fl_request_free(r);
    fl_client_free(c);
  }

  /* RFC 1929 user/password: right, wrong, missing. */
  fl_client *c = client_via("socks5h://su:sp@", auth);
  get_body(c, url, "Hello, World!");
  get_body(c, tls_url, "Hello, World!");
  fl_client_free(c);
  c = client_via("socks5://su:sp@", auth);
  get_body(c, url, "Hello, World!");
  fl_client_free(c);
  c = client_via("socks5h://su:nope@", auth);
  get_fails(c, url, FL_EPROXY, "authentication failed");
  fl_client_free(c);
  c = client_via("socks5h://", auth);
  get_fails(c, url, FL_EPROXY, "no acceptable authentication method");
  fl_client_free(c);
  /* Credentials the proxy does not ask for are fine. */
  c = client_via("socks5h://su:sp@", open);
  get_body(c, url, "Hello, World!");
  fl_client_free(c);

  /* The proxy cannot connect: its reply code is named (5, refused). */
  c = client_via("socks5h://", open);
  get_fails(c, "http://127.0.0.1:1/", FL_EPROXY, "(reply 5)");
  CHECK_EQ_INT(fl_err_curl_code(FL_EPROXY), 97);
  fl_client_free(c);
  /* No proxy listening: a connect error, as without a proxy (curl's 7). */
  c = client_via("socks5h://", 1);
  fl_request_free(fl_test_get(c, url, FL_ECONN_REFUSED));
  fl_client_free(c);
  fl_test_fault_stop();
}

static void scripted_tests(int ng, int fault) {
  int s = fl_test_script_start("socks_server.py", NULL);
  int req_auth = fl_test_script_start("socks_server.py", "--mode=require-auth");
  int greet_close = fl_test_script_start("socks_server.py", "--mode=greet-close");
  int greet_badver = fl_test_script_start("socks_server.py", "--mode=greet-badver");
  char url[256], line[256];
  snprintf(url, sizeof url, "http://localhost:%d/hello", ng);

  /* socks4 resolves here and sends the IPv4 address; socks4a sends the
   * name; both carry the user id. */
  fl_client *c = client_via("socks4://someone@", s);
  get_body(c, url, "Hello, World!");
  fl_client_free(c);
  snprintf(line, sizeof line, "socks4 ip=127.0.0.1 port=%d user=someone host=-", ng);
  log_has(s, line);
  c = client_via("socks4a://", s);
  get_body(c, url, "Hello, World!");
  fl_client_free(c);
  snprintf(line, sizeof line, "socks4 ip=- port=%d user=- host=localhost", ng);
  log_has(s, line);
  /* socks5 sends the address, socks5h the name. */
  c = client_via("socks5://", s);
  get_body(c, url, "Hello, World!");
  fl_client_free(c);
  snprintf(line, sizeof line, "socks5 atyp=1 host=127.0.0.1 port=%d user=-", ng);
  log_has(s, line);
  c = client_via("socks5h://", s);
  get_body(c, url, "Hello, World!");
  fl_client_free(c);
  snprintf(line, sizeof line, "socks5 atyp=3 host=localhost port=%d user=-", ng);
  log_has(s, line);
  /* An IPv6 literal goes as an address (atyp 4) even with socks5h; SOCKS4
   * cannot carry one. */
  c = client_via("socks5h://", s);
  get_fails(c, "http://[::1]:1/", FL_EPROXY, "(reply 5)");
  fl_client_free(c);
  log_has(s, "socks5 atyp=4 host=::1 port=1 user=-");
  c = client_via("socks4://", s);
  get_fails(c, "http://[::1]:1/", FL_EPROXY, "IPv6");
  fl_client_free(c);

  /* Local resolution goes through the client's resolver (dnsmasq here):
   * IPv4 first for socks5, only IPv4 for socks4; a name that does not
   * resolve is a proxy failure (curl's 97 too). */
  c = client_via("socks5://", s);
  snprintf(url, sizeof url, "http://dual.test:%d/hello", ng);
  get_body(c, url, "Hello, World!");
  snprintf(line, sizeof line, "socks5 atyp=1 host=127.0.0.1 port=%d", ng);
  log_has(s, line);
  get_fails(c, "http://six.test:1/", FL_EPROXY, "(reply 5)");
  log_has(s, "socks5 atyp=4 host=::1 port=1");
  get_fails(c, "http://nope.test/", FL_EPROXY, "could not resolve nope.test");
  fl_client_free(c);
  c = client_via("socks4://", s);
  get_fails(c, "http://six.test:1/", FL_EPROXY, "no IPv4 address");
  fl_client_free(c);
  /* The proxy resolves for socks5h: it cannot, reply 4. */
  c = client_via("socks5h://", s);
  get_fails(c, "http://a.test/", FL_EPROXY, "host unreachable (reply 4)");
  fl_client_free(c);

  /* Plain http through SOCKS uses origin-form targets (absolute form is
   * for HTTP proxies only). */
  c = client_via("socks5h://", s);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/echo", fault);
  fl_request *r = fl_test_get(c, url, 0);
  CHECK(strncmp(body(r), "GET /echo HTTP/1.1\r\n", 20) == 0);
  fl_request_free(r);
  /* Bound addresses of every type are read whole (name, IPv6). */
  fl_client_free(c);
  c = client_via("socks5h://bind-name:x@", s);
  r = fl_test_get(c, url, 0);
  CHECK(strncmp(body(r), "GET /echo HTTP/1.1\r\n", 20) == 0);
  fl_request_free(r);
  fl_client_free(c);
  c = client_via("socks5h://bind-v6:x@", s);
  r = fl_test_get(c, url, 0);
  CHECK(strncmp(body(r), "GET /echo HTTP/1.1\r\n", 20) == 0);
  fl_request_free(r);
  fl_client_free(c);
  /* Replies that come a byte at a time are put together. */
  const char *split[] = {"socks5h://split:x@", "socks5://split:x@", "socks4a://split@",
                         "socks4://split@"};
  for (int i = 0; i < 4; i++) {
    c = client_via(split[i], s);
    r = fl_test_get(c, url, 0);
    CHECK(strncmp(body(r), "GET /echo HTTP/1.1\r\n", 20) == 0);
    fl_request_free(r);
    fl_client_free(c);
  }

  /* Failures, each FL_EPROXY with the reason. */
  static const struct {
    const char *proxy, *want;
  } fails[] = {
      {"socks5h://reply-2:x@", "connection not allowed by ruleset (reply 2)"},
      {"socks5h://reply-1:x@", "general SOCKS server failure (reply 1)"},
      {"socks5h://reply-99:x@", "unknown reply (reply 99)"},
      {"socks5h://badauth:x@", "authentication failed (status 1)"},
      {"socks5h://badver:x@", "bad reply (version 4)"},
      {"socks5h://close:x@", "closed the connection"},
      {"socks4a://reply-91@", "request rejected or failed (reply 91)"},
      {"socks4a://reply-92@", "identd (reply 92)"},
      {"socks4://badver@", "bad reply (version 4, not 0)"},
      {"socks4://close@", "closed the connection"},
  };
  snprintf(url, sizeof url, "http://localhost:%d/hello", ng);
  for (size_t i = 0; i < sizeof fails / sizeof fails[0]; i++) {
    c = client_via(fails[i].proxy, s);
    get_fails(c, url, FL_EPROXY, fails[i].want);
    fl_client_free(c);
  }
  c = client_via("socks5h://", req_auth);
  get_fails(c, url, FL_EPROXY, "no acceptable authentication method (we offered none)");
  fl_client_free(c);
  c = client_via("socks5h://", greet_close);
  get_fails(c, url, FL_EPROXY, "closed the connection");
  fl_client_free(c);
  c = client_via("socks5h://", greet_badver);
  get_fails(c, url, FL_EPROXY, "not a SOCKS5 proxy (reply version 4)");
  fl_client_free(c);
  /* User ids and user names too long for the protocol (host names cannot
   * be: the URL parser refuses names DNS cannot hold). */
  char longuser[300], prefix[400];
  memset(longuser, 'u', 256);
  longuser[256] = '\0';
  snprintf(prefix, sizeof prefix, "socks4://%s@", longuser);
  c = client_via(prefix, s);
  get_fails(c, url, FL_EPROXY, "the user id is longer than 255 bytes");
  fl_client_free(c);
  snprintf(prefix, sizeof prefix, "socks5h://%s:x@", longuser);
  c = client_via(prefix, s);
  get_fails(c, url, FL_EPROXY, "longer than 255 bytes");
  fl_client_free(c);

  /* The connect timeout covers the handshake. */
  fl_client_options o;
  fl_client_options_init(&o);
  char proxy[128];
  snprintf(proxy, sizeof proxy, "socks5h://stall:x@127.0.0.1:%d", s);
  o.proxy = proxy;
  o.timeouts.connect_ms = 300;
  c = fl_client_new(loop, &o);
  get_fails(c, url, FL_ECONNECT_TIMEOUT, "during the SOCKS handshake");
  fl_client_free(c);
  /* Cancelled mid-handshake and mid-resolution: nothing leaks (ASan, fds). */
  snprintf(proxy, sizeof proxy, "socks4://stall@127.0.0.1:%d", s);
  o.timeouts.connect_ms = 10000;
  c = fl_client_new(loop, &o);
  r = fl_request_new("GET", url);
  CHECK(fl_request_send(c, r, NULL, NULL) == 0);
  for (int i = 0; i < 20; i++) fl_loop_run(loop, FL_RUN_NOWAIT);
  fl_request_free(r);
  fl_client_free(c);
  fl_test_fault_stop();
}

int main(void) {
  FL_TEST_BEGIN();
  snprintf(ca, sizeof ca, "%s", fl_test_rundir_path("nginx_tls/ca.pem"));
  snprintf(dns, sizeof dns, "127.0.0.1:%d", fl_test_server_port("dnsmasq"));
  int ng = fl_test_server_port("nginx"), tls = fl_test_server_port("nginx_tls");
  loop = fl_loop_new();
  int fault = fl_test_fault_start();
  scripted_tests(ng, fault);
  if (access("/usr/bin/microsocks", X_OK) != 0) {
    fl_loop_free(loop);
    FL_TEST_SKIP("microsocks is not installed (scripts/bootstrap installs it)");
  }
  microsocks_tests(ng, tls);
  CHECK_EQ_INT(fl_loop_free(loop), 0);
  FL_TEST_END();
}
