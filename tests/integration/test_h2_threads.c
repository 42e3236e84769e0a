/* HTTP/2 on several threads at once, for the TSan build: fl_map_threads
 * runs 4 threads, each with its own loop and client, all sharing one
 * fl_share (DNS answers, TLS sessions), over 48 URLs to the scripted h2
 * server over TLS (ALPN h2). Every answer came over h2 with its body whole,
 * each thread's requests went as streams of its one connection, and the
 * TLS sessions were shared. Passes in every build. */
/* FIXTURES: nginx_tls */
/* LABELS: tsan */
/* TIMEOUT: 120 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flurry.h"
#include "test.h"

enum { N = 48, THREADS = 4 };

static int body_ok(const char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != 'a' + (char)(i % 26)) return 0;
  return 1;
}

int main(void) {
  FL_TEST_BEGIN();
  int port = fl_test_h2_server_start(1);

  fl_share *share = fl_share_new(NULL);
  CHECK(share);
  fl_client_options o;
  fl_client_options_init(&o);
  o.http_version = FL_HTTP_VERSION_2TLS;
  o.ca_file = fl_test_rundir_path("nginx_tls/ca.pem");
  o.share = share;

  static char urls[N][128];
  const char *list[N];
  for (int i = 0; i < N; i++) {
    snprintf(urls[i], sizeof urls[i], "https://127.0.0.1:%d/len?n=%d&k=threads", port,
             1000 + 997 * i);
    list[i] = urls[i];
  }
  fl_request *res[N];
  CHECK_EQ_INT(fl_map_threads(list, N, THREADS, 6, &o, res), 0);
  for (int i = 0; i < N; i++) {
    CHECK(res[i]);
    CHECK_EQ_INT(fl_request_error(res[i]), 0);
    const fl_response *r = fl_request_response(res[i]);
    CHECK_EQ_INT(fl_response_status(r), 200);
    CHECK_EQ_INT(fl_request_info(res[i])->http_version, 20);
    size_t n;
    const char *b = fl_response_body(r, &n);
    CHECK_EQ_INT(n, 1000 + 997 * i);
    CHECK(body_ok(b, n));
    fl_request_free(res[i]);
  }
  /* TLS sessions came back into the share from the threads' connections */
  CHECK(fl_share_tls_sessions(share) > 0);
  CHECK_EQ_INT(fl_share_free(share), 0);

  /* One h2 connection per thread at most: the server's count for the key. */
  fl_loop *loop = fl_loop_new();
  fl_client_options_init(&o);
  o.http_version = FL_HTTP_VERSION_2TLS;
  o.ca_file = fl_test_rundir_path("nginx_tls/ca.pem");
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  char u[128];
  snprintf(u, sizeof u, "https://127.0.0.1:%d/_stats?k=threads", port);
  fl_request *st = fl_test_get(c, u, 0);
  const char *stats = fl_response_body(fl_request_response(st), NULL);
  int conns = -1, requests = -1;
  CHECK(sscanf(stats, "{\"connections\": %d, \"requests\": %d", &conns, &requests) == 2);
  if (conns < 1 || conns > THREADS) fprintf(stderr, "server saw: %s\n", stats);
  CHECK(conns >= 1 && conns <= THREADS);
  CHECK_EQ_INT(requests, N);
  fl_request_free(st);
  fl_client_free(c);
  fl_loop_free(loop);
  FL_TEST_END();
}
