/* Multiplex waiting (engine/pool.h): requests to an https origin whose
 * protocol is not known yet wait for the first connection's ALPN answer
 * instead of opening connections of their own, and that wait is charged to
 * their connect timeout:
 * - against a listener that never answers TLS, N requests with a 1 s
 *   connect timeout all fail with FL_ECONNECT_TIMEOUT on the one
 *   connection's timeout (curl 7.88 opens one connection after another and
 *   fails them at 1, 2, ... N s); with HTTP/1.1 only, each opens its own;
 * - when the request the first connection was made for is cancelled, the
 *   others go on: one of them opens a connection and all are answered over
 *   h2 on it;
 * - after a GOAWAY, the streams it left unprocessed wait for one new
 *   connection rather than each opening its own (the scripted server,
 *   tests/support/h2_server.py, /conn/goaway-after);
 * - what an origin speaks is remembered after its last connection went:
 *   a second burst to an HTTP/1.1-only https origin (nginx_tls) opens its
 *   connections at once instead of waiting for one ALPN answer again. */
/* FIXTURES: nghttpd nginx_tls */
/* TIMEOUT: 120 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "flurry.h"
#include "test.h"

enum { N = 4 };

static fl_loop *loop;

struct result {
  int done, err;
  char msg[300];
};

static void on_done(fl_request *req, int err, void *data) {
  struct result *r = data;
  r->done++;
  r->err = err;
  snprintf(r->msg, sizeof r->msg, "%s", err ? fl_request_errmsg(req) : "");
}

/* Takes TCP connections (the kernel's backlog) and never answers. */
static int silent_listener(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  CHECK_EQ_INT(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  CHECK_EQ_INT(listen(fd, 16), 0);
  CHECK_EQ_INT(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

static fl_client *client_for(int version, uint32_t connect_ms) {
  fl_client_options o;
  fl_client_options_init(&o);
  o.ca_file = fl_test_rundir_path("nghttpd/ca.pem");
  o.http_version = version;
  o.timeouts.connect_ms = connect_ms;
  o.timeouts.total_ms = 60000;
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  return c;
}

/* N GETs of url sent in one go (nothing runs between them). */
static void send_all(fl_client *c, const char *url, fl_request **reqs, struct result *res) {
  memset(res, 0, N * sizeof *res);
  for (int i = 0; i < N; i++) {
    reqs[i] = fl_request_new("GET", url);
    CHECK_EQ_INT(fl_request_send(c, reqs[i], on_done, &res[i]), 0);
  }
}

/* N requests at once to url; returns the connections the pool opened. */
static uint64_t run_batch(fl_client *c, const char *url, struct result *res) {
  fl_request *reqs[N];
  send_all(c, url, reqs, res);
  fl_loop_run(loop, FL_RUN_DEFAULT);
  for (int i = 0; i < N; i++) fl_request_free(reqs[i]);
  fl_pool_stats st;
  fl_client_pool_stats(c, &st);
  return st.created;
}

static void test_stalled_tls(void) {
  int port;
  int lfd = silent_listener(&port);
  char url[128];
  snprintf(url, sizeof url, "https://127.0.0.1:%d/", port);
  struct result res[N];

  /* h2 preferred (the https default): one connection, every request ends
   * with it as a connect timeout; the waiters say what they waited for. */
  fl_client *c = client_for(FL_HTTP_VERSION_2TLS, 1000);
  CHECK_EQ_INT(run_batch(c, url, res), 1);
  int waited = 0;
  for (int i = 0; i < N; i++) {
    CHECK_EQ_INT(res[i].done, 1);
    CHECK_EQ_INT(res[i].err, FL_ECONNECT_TIMEOUT);
    if (strstr(res[i].msg, "whether the server speaks HTTP/2")) waited++;
  }
  CHECK_EQ_INT(waited, N - 1);
  fl_client_free(c);

  /* HTTP/1.1 only: nothing to learn, each request opens its own. */
  c = client_for(FL_HTTP_VERSION_1_1, 1000);
  CHECK_EQ_INT(run_batch(c, url, res), N);
  for (int i = 0; i < N; i++) CHECK_EQ_INT(res[i].err, FL_ECONNECT_TIMEOUT);
  fl_client_free(c);
  close(lfd);
}

static void test_first_cancelled(void) {
  char url[128];
  snprintf(url, sizeof url, "https://127.0.0.1:%d/small.txt", fl_test_server_port("nghttpd"));
  fl_client *c = client_for(FL_HTTP_VERSION_2TLS, 30000);
  fl_request *reqs[N];
  struct result res[N];
  send_all(c, url, reqs, res);
  /* The first made the connection; the others wait for its answer. */
  CHECK_EQ_INT(fl_request_cancel(reqs[0]), 0);
  fl_loop_run(loop, FL_RUN_DEFAULT);
  CHECK_EQ_INT(res[0].done, 1);
  CHECK_EQ_INT(res[0].err, FL_ECANCELED);
  for (int i = 1; i < N; i++) {
    CHECK_EQ_INT(res[i].done, 1);
    CHECK_EQ_INT(res[i].err, 0);
    CHECK_EQ_INT(fl_response_status(fl_request_response(reqs[i])), 200);
    CHECK_EQ_INT(fl_request_info(reqs[i])->http_version, 20);
  }
  fl_pool_stats st;
  fl_client_pool_stats(c, &st);
  CHECK_EQ_INT(st.created, 2); /* the cancelled one's, then one for the rest */
  CHECK_EQ_INT(st.h2_connections, 1);
  for (int i = 0; i < N; i++) fl_request_free(reqs[i]);
  fl_client_free(c);
}

static void test_goaway_orphans(void) {
  enum { M = 9 };
  int port = fl_test_h2_server_start(0);
  fl_client *c = client_for(FL_HTTP_VERSION_2_PRIOR_KNOWLEDGE, 30000);
  fl_request *reqs[M];
  struct result res[M];
  memset(res, 0, sizeof res);
  char url[160];
  for (int i = 0; i < M; i++) {
    /* The first sets the connection's scenario: hold two streams, then
     * GOAWAY with the second's id and answer both; seven are left over. */
    if (i == 0)
      snprintf(url, sizeof url, "http://127.0.0.1:%d/conn/goaway-after?n=2&k=gw", port);
    else
      snprintf(url, sizeof url, "http://127.0.0.1:%d/ok?k=gw&i=%d", port, i);
    reqs[i] = fl_request_new("GET", url);
    CHECK_EQ_INT(fl_request_send(c, reqs[i], on_done, &res[i]), 0);
  }
  fl_loop_run(loop, FL_RUN_DEFAULT);
  for (int i = 0; i < M; i++) {
    CHECK_EQ_INT(res[i].done, 1);
    CHECK_EQ_INT(res[i].err, 0);
    CHECK_EQ_INT(fl_response_status(fl_request_response(reqs[i])), 200);
    fl_request_free(reqs[i]);
  }
  fl_pool_stats st;
  fl_client_pool_stats(c, &st);
  CHECK_EQ_INT(st.created, 2); /* the GOAWAY's, then one for every orphan */
  CHECK_EQ_INT(st.h2_connections, 2);
  fl_client_free(c);
}

static void test_learned_kept(void) {
  char url[160];
  snprintf(url, sizeof url, "https://127.0.0.1:%d/", fl_test_server_port("nginx_tls"));
  fl_client_options o;
  fl_client_options_init(&o);
  o.ca_file = fl_test_rundir_path("nginx_tls/ca.pem");
  o.http_version = FL_HTTP_VERSION_2TLS;
  o.max_connecting_per_host = 0;
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  fl_pool_stats st;
  for (int round = 0; round < 2; round++) {
    fl_request *reqs[N];
    struct result res[N];
    send_all(c, url, reqs, res);
    /* Unknown origin: one connection, the rest wait for its answer.
     * Known to speak HTTP/1.1 (learned in round 0, its host entry gone
     * since): every request has a connection of its own at once. */
    fl_client_pool_stats(c, &st);
    CHECK_EQ_INT(st.waiting, round == 0 ? N - 1 : 0);
    CHECK_EQ_INT(st.connecting, round == 0 ? 1 : N);
    fl_loop_run(loop, FL_RUN_DEFAULT);
    for (int i = 0; i < N; i++) {
      CHECK_EQ_INT(res[i].err, 0);
      CHECK_EQ_INT(fl_request_info(reqs[i])->http_version, 11);
      fl_request_free(reqs[i]);
    }
    fl_client_close_idle(c); /* the host entry goes with its connections */
    for (int i = 0; i < 3; i++) fl_loop_run(loop, FL_RUN_NOWAIT);
    fl_client_pool_stats(c, &st);
    CHECK_EQ_INT(st.open, 0);
    CHECK_EQ_INT(fl_client_host_stats(c, NULL, 0), 0);
  }
  fl_client_free(c);
}

int main(void) {
  FL_TEST_BEGIN();
  loop = fl_loop_new();
  test_stalled_tls();
  test_first_cancelled();
  test_goaway_orphans();
  test_learned_kept();
  fl_loop_free(loop);
  FL_TEST_END();
}
