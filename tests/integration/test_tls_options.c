/* TLS version bounds, cipher lists and public-key pinning against the
 * nginx_tls fixture (tests/servers/nginx_tls.sh): its TLS 1.2-only and TLS
 * 1.3-only servers, and the good one (TLS 1.2 and 1.3, RSA key). The
 * expected pins are computed here with the openssl CLI, as a user would.
 */
/* FIXTURES: nginx_tls */
/* TIMEOUT: 120 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flurry.h"
#include "net/tls.h"
#include "test.h"

static fl_loop *loop;
static int port, port12, port13; /* good (1.2 + 1.3), 1.2 only, 1.3 only */
static char tls_dir[4096], ca[4200], pin[64], urlbuf[512];

static int variant_port(const char *name) {
  char full[64];
  snprintf(full, sizeof full, "nginx_tls.%s", name);
  return fl_test_server_port(full);
}

static const char *U(int p, const char *path) {
  snprintf(urlbuf, sizeof urlbuf, "https://localhost:%d%s", p, path);
  return urlbuf;
}

static const char *file_in(const char *name) {
  static char buf[4200];
  snprintf(buf, sizeof buf, "%s/%s", tls_dir, name);
  return buf;
}

/* Run a shell command; its first output line, without the newline. */
static void sh(const char *cmd, char *out, size_t cap) {
  FILE *p = popen(cmd, "r");
  CHECK(p);
  out[0] = '\0';
  if (!fgets(out, (int)cap, p)) out[0] = '\0';
  CHECK_EQ_INT(pclose(p), 0);
  out[strcspn(out, "\r\n")] = '\0';
}

/* The curl way: sha256 of the certificate's public key (DER), in base64. */
static void pin_of(const char *cert, char *out, size_t cap) {
  char cmd[9000];
  snprintf(cmd, sizeof cmd,
           "openssl x509 -in '%s' -pubkey -noout | openssl pkey -pubin -outform der | "
           "openssl dgst -sha256 -binary | base64",
           cert);
  sh(cmd, out, cap);
  CHECK(strlen(out) == 44);
}

static void expect_msg(const fl_request *req, const char *part) {
  if (!strstr(fl_request_errmsg(req), part)) {
    fprintf(stderr, "errmsg \"%s\" lacks \"%s\"\n", fl_request_errmsg(req), part);
    exit(1);
  }
}

static void expect_hello(fl_request *req) {
  size_t len;
  CHECK_EQ_INT(fl_response_status(fl_request_response(req)), 200);
  CHECK_EQ_STR(fl_response_body(fl_request_response(req), &len), "Hello, World!");
}

/* Options trusting the test CA. */
static fl_client_options opts(void) {
  fl_client_options o;
  fl_client_options_init(&o);
  o.ca_file = ca;
  return o;
}

static fl_client *client(const fl_client_options *o) {
  fl_client *c = fl_client_new(loop, o);
  CHECK(c);
  return c;
}

/* GET url on a new client made with o; the request's error must be expect.
 * Returns the request (caller frees). */
static fl_request *get_with(const fl_client_options *o, const char *url, int expect) {
  fl_client *c = client(o);
  fl_request *req = fl_test_get(c, url, expect);
  fl_client_free(c);
  return req;
}

static void test_defaults(void) {
  fl_client_options o;
  fl_client_options_init(&o);
  CHECK_EQ_INT(o.tls_min_version, FL_TLS_1_2);
  CHECK_EQ_INT(o.tls_max_version, 0);
  CHECK(o.tls_ciphers == NULL && o.tls13_ciphers == NULL && o.pinned_pubkey == NULL);
  CHECK_EQ_INT(fl_err_curl_code(FL_EPINNED_PUBKEY), 90);
  CHECK_EQ_STR(fl_err_name(FL_EPINNED_PUBKEY), "FL_EPINNED_PUBKEY");
  /* The defaults reach both single-version servers. */
  o = opts();
  int ports[] = {port12, port13};
  for (int i = 0; i < 2; i++) {
    fl_request *req = get_with(&o, U(ports[i], "/hello"), 0);
    expect_hello(req);
    fl_request_free(req);
  }
}

static void test_versions(void) {
  fl_client_options o = opts();
  fl_request *req;

  /* 1.3-only server, maximum 1.2: curl's --tls-max 1.2 (exit 35). */
  o.tls_max_version = FL_TLS_1_2;
  req = get_with(&o, U(port13, "/hello"), FL_ETLS_HANDSHAKE);
  expect_msg(req, "TLS handshake with localhost port");
  expect_msg(req, "protocol version");
  CHECK_EQ_INT(fl_err_curl_code(fl_request_error(req)), 35);
  fl_request_free(req);
  /* ... while a server with 1.2 answers under the same bounds. */
  expect_hello(req = get_with(&o, U(port12, "/hello"), 0));
  fl_request_free(req);
  expect_hello(req = get_with(&o, U(port, "/hello"), 0));
  fl_request_free(req);

  /* 1.2-only server, minimum 1.3: curl's --tlsv1.3 (exit 35). */
  o = opts();
  o.tls_min_version = FL_TLS_1_3;
  req = get_with(&o, U(port12, "/hello"), FL_ETLS_HANDSHAKE);
  expect_msg(req, "TLS handshake with localhost port");
  CHECK_EQ_INT(fl_err_curl_code(fl_request_error(req)), 35);
  fl_request_free(req);
  expect_hello(req = get_with(&o, U(port13, "/hello"), 0));
  fl_request_free(req);

  /* Exactly 1.3, exactly 1.2. */
  o.tls_max_version = FL_TLS_1_3;
  expect_hello(req = get_with(&o, U(port, "/hello"), 0));
  fl_request_free(req);
  o.tls_min_version = FL_TLS_1_2;
  o.tls_max_version = FL_TLS_1_2;
  expect_hello(req = get_with(&o, U(port, "/hello"), 0));
  fl_request_free(req);

  /* Bounds that leave no version: every https request fails at once, as
   * curl's --tlsv1.3 --tls-max 1.2 and --tls-max 1.1 do (exit 35). */
  o.tls_min_version = FL_TLS_1_3;
  o.tls_max_version = FL_TLS_1_2;
  req = get_with(&o, U(port, "/hello"), FL_ETLS_HANDSHAKE);
  expect_msg(req, "maximum version (TLS 1.2) is below the minimum (TLS 1.3)");
  fl_request_free(req);
  o.tls_min_version = 0; /* the default, 1.2 */
  o.tls_max_version = FL_TLS_1_1;
  req = get_with(&o, U(port, "/hello"), FL_ETLS_HANDSHAKE);
  expect_msg(req, "maximum version (TLS 1.1) is below the minimum (TLS 1.2)");
  fl_request_free(req);

  /* Values flurry does not speak, or not versions at all. */
  o = opts();
  o.tls_min_version = FL_TLS_1_1;
  CHECK(fl_client_new(loop, &o) == NULL);
  o.tls_min_version = 0x0305;
  CHECK(fl_client_new(loop, &o) == NULL);
  o.tls_min_version = 0;
  o.tls_max_version = 0x0305;
  CHECK(fl_client_new(loop, &o) == NULL);
  o.tls_max_version = 3;
  CHECK(fl_client_new(loop, &o) == NULL);
}

static void test_ciphers(void) {
  fl_client_options o = opts();
  fl_request *req;

  /* The fixture's key is RSA: an ECDSA-only TLS 1.2 list shares nothing
   * with it (curl: exit 35), an RSA one works. */
  o.tls_ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
  req = get_with(&o, U(port12, "/hello"), FL_ETLS_HANDSHAKE);
  expect_msg(req, "handshake failure");
  fl_request_free(req);
  o.tls_ciphers = "ECDHE-RSA-AES128-GCM-SHA256";
  expect_hello(req = get_with(&o, U(port12, "/hello"), 0));
  fl_request_free(req);

  /* TLS 1.3: nginx does not enable the CCM suites. */
  o = opts();
  o.tls13_ciphers = "TLS_AES_128_CCM_SHA256";
  req = get_with(&o, U(port13, "/hello"), FL_ETLS_HANDSHAKE);
  fl_request_free(req);
  o.tls13_ciphers = "TLS_CHACHA20_POLY1305_SHA256";
  expect_hello(req = get_with(&o, U(port13, "/hello"), 0));
  fl_request_free(req);

  /* Lists OpenSSL refuses fail fl_client_new, with or without files to
   * load, and with OpenSSL's reason. */
  o = opts();
  o.tls_ciphers = "NO-SUCH-CIPHER";
  CHECK(fl_client_new(loop, &o) == NULL);
  o.ca_file = NULL;
  CHECK(fl_client_new(loop, &o) == NULL);
  o.tls_ciphers = NULL;
  o.tls13_ciphers = "TLS_NO_SUCH_SUITE";
  CHECK(fl_client_new(loop, &o) == NULL);
  o.ca_file = ca;
  CHECK(fl_client_new(loop, &o) == NULL);

  char why[256] = "";
  int err = 0;
  fl_client_options_init(&o);
  o.tls_ciphers = "NO-SUCH-CIPHER";
  CHECK(fl_client_new_err(loop, &o, &err, why, sizeof why) == NULL);
  CHECK_EQ_INT(err, FL_EBAD_ARGUMENT);
  CHECK(strstr(why, "TLS cipher list \"NO-SUCH-CIPHER\" refused: error:"));
  CHECK(strstr(why, "no cipher match"));
  fl_client_options_init(&o);
  o.tls13_ciphers = "TLS_NO_SUCH_SUITE";
  CHECK(fl_client_new_err(loop, &o, &err, why, sizeof why) == NULL);
  CHECK_EQ_INT(err, FL_EBAD_ARGUMENT);
  CHECK(strstr(why, "TLS 1.3 cipher suites \"TLS_NO_SUCH_SUITE\" refused: error:"));
  /* Version values flurry does not take say so too. */
  fl_client_options_init(&o);
  o.tls_min_version = FL_TLS_1_1;
  CHECK(fl_client_new_err(loop, &o, &err, why, sizeof why) == NULL);
  CHECK_EQ_INT(err, FL_EBAD_ARGUMENT);
  CHECK(strstr(why, "tls_min_version 0x302: not FL_TLS_1_2 or FL_TLS_1_3"));
}

/* Every setting changes the context's fingerprint, which the pool keys
 * carry (and sessions live in the context itself). */
static void test_fingerprint(void) {
  char ids[8][32], why[256];
  fl_client_options o;
  for (int i = 0; i < 8; i++) {
    fl_client_options_init(&o);
    switch (i) {
    case 1: o.tls_min_version = FL_TLS_1_3; break;
    case 2: o.tls_max_version = FL_TLS_1_2; break;
    case 3: o.tls_ciphers = "ECDHE-RSA-AES128-GCM-SHA256"; break;
    case 4: o.tls13_ciphers = "TLS_AES_128_GCM_SHA256"; break;
    case 5: o.pinned_pubkey = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="; break;
    case 6: o.pinned_pubkey = "sha256//BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="; break;
    case 7: o.tls_max_version = FL_TLS_1_3; break;
    default: break;
    }
    fl__tls_ctx *t = NULL;
    CHECK_EQ_INT(fl__tls_ctx_new(&o, &t, why, sizeof why), 0);
    snprintf(ids[i], sizeof ids[i], "%s", fl__tls_ctx_id(t));
    fl__tls_ctx_free(t);
    for (int j = 0; j < i; j++) CHECK(strcmp(ids[i], ids[j]) != 0);
  }
  /* Equal settings, equal fingerprint. */
  fl_client_options_init(&o);
  o.tls_min_version = FL_TLS_1_3;
  fl__tls_ctx *t = NULL;
  CHECK_EQ_INT(fl__tls_ctx_new(&o, &t, why, sizeof why), 0);
  CHECK_EQ_STR(fl__tls_ctx_id(t), ids[1]);
  fl__tls_ctx_free(t);
}

/* One request on a new connection that the server then closes; returns
 * whether its handshake resumed a session. */
static int closing_request(fl_client *c, const char *url) {
  fl_request *req = fl_request_new("GET", url);
  CHECK(req);
  CHECK_EQ_INT(fl_request_set_header(req, "Connection", "close"), 0);
  fl_test_perform(c, req, 0);
  expect_hello(req);
  int resumed = fl_request_info(req)->tls_resumed;
  fl_request_free(req);
  return resumed;
}

static void test_pinning(void) {
  fl_client_options o = opts();
  fl_request *req;
  char spec[512], wrong[64];

  /* The right pin; also among others, with a malformed entry (curl skips
   * what does not match), and without the base64 padding. */
  snprintf(spec, sizeof spec, "sha256//%s", pin);
  o.pinned_pubkey = spec;
  expect_hello(req = get_with(&o, U(port, "/hello"), 0));
  fl_request_free(req);
  snprintf(spec, sizeof spec, "sha256//not-base64;sha256//%.43s", pin);
  expect_hello(req = get_with(&o, U(port12, "/hello"), 0));
  fl_request_free(req);

  /* The pin is checked on every connection, resumed ones too (TLS 1.2
   * session ids and TLS 1.3 tickets both keep the peer's certificate). */
  snprintf(spec, sizeof spec, "sha256//%s", pin);
  int ports[] = {port, port12};
  for (int i = 0; i < 2; i++) {
    fl_client *c = client(&o);
    CHECK_EQ_INT(closing_request(c, U(ports[i], "/hello")), 0);
    CHECK_EQ_INT(closing_request(c, U(ports[i], "/hello")), 1);
    fl_client_free(c);
  }

  /* A wrong pin: curl's exit 90, with the server's digest in the message
   * (so that the user can compare). Also with insecure: curl checks the
   * pin with -k too. */
  snprintf(wrong, sizeof wrong, "%s", pin);
  wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
  snprintf(spec, sizeof spec, "sha256//%s", wrong);
  char server_digest[128];
  snprintf(server_digest, sizeof server_digest, "(sha256//%s)", pin);
  for (int insecure = 0; insecure < 2; insecure++) {
    o.insecure = insecure;
    req = get_with(&o, U(port, "/hello"), FL_EPINNED_PUBKEY);
    expect_msg(req, "public key of localhost port");
    expect_msg(req, "does not match the pinned key");
    expect_msg(req, server_digest);
    CHECK_EQ_INT(fl_err_curl_code(fl_request_error(req)), 90);
    fl_request_free(req);
  }
  o.insecure = 0;

  /* A keep-alive client: the failed connection is not pooled, the next
   * request fails the same way. */
  fl_client *c = client(&o);
  for (int i = 0; i < 2; i++)
    fl_request_free(fl_test_get(c, U(port12, "/hello"), FL_EPINNED_PUBKEY));
  fl_pool_stats st;
  fl_client_pool_stats(c, &st);
  CHECK_EQ_INT(st.open, 0);
  fl_client_free(c);

  /* Verification comes first: the self-signed server's own pin does not
   * get it past a failed verification (curl: 60), but with insecure it
   * does. */
  char self_pin[64];
  pin_of(file_in("selfsigned.pem"), self_pin, sizeof self_pin);
  snprintf(spec, sizeof spec, "sha256//%s", self_pin);
  int pself = variant_port("selfsigned");
  fl_request_free(get_with(&o, U(pself, "/hello"), FL_ECERT_VERIFY));
  o.insecure = 1;
  expect_hello(req = get_with(&o, U(pself, "/hello"), 0));
  fl_request_free(req);
  snprintf(spec, sizeof spec, "sha256//%s", pin); /* the good server's */
  fl_request_free(get_with(&o, U(pself, "/hello"), FL_EPINNED_PUBKEY));
  o.insecure = 0;

  /* Malformed pins are no setup error (as curl): they never match, and the
   * message says why. */
  o.pinned_pubkey = "sha256//garbage";
  req = get_with(&o, U(port, "/hello"), FL_EPINNED_PUBKEY);
  expect_msg(req, "'sha256//garbage' is not sha256// followed by a base64 SHA-256 digest");
  fl_request_free(req);
  o.pinned_pubkey = "sha256//";
  fl_request_free(get_with(&o, U(port, "/hello"), FL_EPINNED_PUBKEY));
}

static void test_pin_files(void) {
  char cmd[24000], out[64], pem[4200], der[4200], junk[4200];
  snprintf(pem, sizeof pem, "%s", file_in("pin_test.pub.pem"));
  snprintf(der, sizeof der, "%s", file_in("pin_test.pub.der"));
  snprintf(junk, sizeof junk, "%s", file_in("pin_test.junk"));
  snprintf(cmd, sizeof cmd,
           "openssl x509 -in '%s' -pubkey -noout > '%s' && openssl pkey -pubin -in '%s' "
           "-outform der -out '%s' && echo 'not a key' > '%s' && echo ok",
           file_in("good.pem"), pem, pem, der, junk);
  sh(cmd, out, sizeof out);
  CHECK_EQ_STR(out, "ok");

  fl_client_options o = opts();
  fl_request *req;
  o.pinned_pubkey = pem;
  expect_hello(req = get_with(&o, U(port, "/hello"), 0));
  fl_request_free(req);
  o.pinned_pubkey = der;
  expect_hello(req = get_with(&o, U(port13, "/hello"), 0));
  fl_request_free(req);

  /* Another key in the file: a mismatch. */
  snprintf(cmd, sizeof cmd, "openssl x509 -in '%s' -pubkey -noout > '%s' && echo ok",
           file_in("selfsigned.pem"), pem);
  sh(cmd, out, sizeof out);
  o.pinned_pubkey = pem;
  req = get_with(&o, U(port, "/hello"), FL_EPINNED_PUBKEY);
  expect_msg(req, "does not match the pinned key");
  fl_request_free(req);

  /* A file that cannot be read, or holds no key: curl's 90 too. */
  o.pinned_pubkey = "/nonexistent/pin.pem";
  req = get_with(&o, U(port, "/hello"), FL_EPINNED_PUBKEY);
  expect_msg(req, "cannot read the pinned key file /nonexistent/pin.pem: No such file");
  fl_request_free(req);
  o.pinned_pubkey = junk;
  req = get_with(&o, U(port, "/hello"), FL_EPINNED_PUBKEY);
  expect_msg(req, "holds no public key (PEM or DER)");
  fl_request_free(req);
  remove(pem);
  remove(der);
  remove(junk);
}

/* Plain http ignores every TLS setting. */
static void test_http_unaffected(void) {
  fl_client_options o;
  fl_client_options_init(&o);
  o.tls_min_version = FL_TLS_1_3;
  o.tls_max_version = FL_TLS_1_2;
  o.pinned_pubkey = "sha256//garbage";
  fl_client *c = client(&o);
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/", fl_test_server_port("nginx_tls"));
  /* The TLS port answers plain http with nginx's 400: a response all the
   * same, no TLS involved. */
  fl_request *req = fl_test_get(c, url, 0);
  CHECK_EQ_INT(fl_response_status(fl_request_response(req)), 400);
  fl_request_free(req);
  fl_client_free(c);
}

int main(void) {
  FL_TEST_BEGIN();
  port = fl_test_server_port("nginx_tls");
  port12 = variant_port("tls12");
  port13 = variant_port("tls13");
  snprintf(tls_dir, sizeof tls_dir, "%s", fl_test_rundir_path("nginx_tls"));
  snprintf(ca, sizeof ca, "%s/ca.pem", tls_dir);
  pin_of(file_in("good.pem"), pin, sizeof pin);
  loop = fl_loop_new();
  CHECK(loop);
  test_defaults();
  test_versions();
  test_ciphers();
  test_fingerprint();
  test_pinning();
  test_pin_files();
  test_http_unaffected();
  CHECK_EQ_INT(fl_loop_free(loop), 0);
  FL_TEST_END();
}
