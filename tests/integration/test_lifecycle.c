/* Connection lifecycle options end to end: Unix domain socket targets (a
 * path and an abstract name, per client and per request, served by a small
 * HTTP server in a thread here; a missing path is FL_ECONNECT), connect-to
 * rules against nginx (plain, and TLS still checking the URL's name against
 * nginx_tls), a bad rule, TCP keep-alive seen from the socket-option
 * callback, binding to "lo" and to a missing interface (FL_EINTERFACE, curl
 * 45), a local port, and max_lifetime_ms (an old connection is not reused). */
/* FIXTURES: nginx nginx_tls */
/* LABELS: valgrind */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "flurry.h"
#include "test.h"

static fl_loop *loop;
static int nginx, nginx_tls;
static char ca[4200];

/* ---------------------------------------------- a server on a Unix socket */
typedef struct userver {
  int lfd;
  pthread_t tid;
  atomic_int accepted;
} userver;

static void *userve(void *arg) {
  userver *u = arg;
  for (;;) {
    int fd = accept(u->lfd, NULL, NULL);
    if (fd < 0) return NULL; /* shut down */
    atomic_fetch_add(&u->accepted, 1);
    char buf[4096];
    size_t have = 0;
    for (;;) { /* keep-alive: answer each request head */
      ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
      if (n <= 0) break;
      have += (size_t)n;
      buf[have] = '\0';
      char *end;
      while ((end = strstr(buf, "\r\n\r\n")) != NULL) {
        static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nunix";
        if (write(fd, resp, sizeof resp - 1) < 0) break;
        size_t used = (size_t)(end + 4 - buf);
        memmove(buf, buf + used, have - used + 1);
        have -= used;
      }
    }
    close(fd);
  }
}

static void userver_start(userver *u, const char *name, int abstract) {
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  memcpy(a.sun_path + (abstract ? 1 : 0), name, strlen(name));
  if (!abstract) unlink(name);
  u->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK(u->lfd >= 0);
  socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name) + 1);
  CHECK_EQ_INT(bind(u->lfd, (struct sockaddr *)&a, len), 0);
  CHECK_EQ_INT(listen(u->lfd, 8), 0);
  atomic_init(&u->accepted, 0);
  CHECK_EQ_INT(pthread_create(&u->tid, NULL, userve, u), 0);
}

static void userver_stop(userver *u) {
  shutdown(u->lfd, SHUT_RDWR); /* accept fails: the thread returns */
  pthread_join(u->tid, NULL);
  close(u->lfd);
}

static fl_client *client_of(fl_client_options *o) {
  int err = 0;
  char msg[256];
  fl_client *c = fl_client_new_err(loop, o, &err, msg, sizeof msg);
  if (!c) fprintf(stderr, "fl_client_new: %s: %s\n", fl_err_name(err), msg);
  CHECK(c);
  return c;
}

static const char *body_of(fl_request *r) {
  size_t len;
  return fl_response_body(fl_request_response(r), &len);
}

static void test_unix(void) {
  char path[512], abs_name[64], url[256];
  snprintf(path, sizeof path, "%s", fl_test_rundir_path("lifecycle.sock"));
  snprintf(abs_name, sizeof abs_name, "flurry-lifecycle-%d", (int)getpid());
  userver u, ua;
  userver_start(&u, path, 0);
  userver_start(&ua, abs_name, 1);

  fl_client_options o;
  fl_client_options_init(&o);
  o.unix_socket = path;
  fl_client *c = client_of(&o);
  for (int i = 0; i < 2; i++) { /* the second on the same connection */
    fl_request *r = fl_test_get(c, "http://localhost/v1.41/containers/json", 0);
    CHECK_EQ_INT(fl_response_status(fl_request_response(r)), 200);
    CHECK_EQ_STR(body_of(r), "unix");
    CHECK_EQ_INT(fl_request_info(r)->reused, i);
    fl_request_free(r);
  }
  CHECK_EQ_INT(atomic_load(&u.accepted), 1);
  fl_client_free(c);

  /* Per request, on a TCP client; the same URL over TCP is another
   * connection (the pool key has the target). */
  fl_client *t = client_of(NULL);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/hello", nginx);
  fl_request *r = fl_request_new("GET", url);
  CHECK_EQ_INT(fl_request_set_unix_socket(r, abs_name, 1), 0);
  fl_test_perform(t, r, 0);
  CHECK_EQ_STR(body_of(r), "unix");
  CHECK_EQ_INT(fl_request_set_unix_socket(r, NULL, 0), 0);
  fl_test_perform(t, r, 0);
  CHECK_EQ_STR(body_of(r), "Hello, World!");
  CHECK_EQ_INT(fl_request_info(r)->reused, 0);
  /* A path that is not there: FL_ECONNECT (curl 7), naming it. */
  char missing[600];
  snprintf(missing, sizeof missing, "%s.missing", path);
  CHECK_EQ_INT(fl_request_set_unix_socket(r, missing, 0), 0);
  fl_test_perform(t, r, FL_ECONNECT);
  CHECK(strstr(fl_request_errmsg(r), missing) != NULL);
  CHECK_EQ_INT(fl_err_curl_code(fl_request_error(r)), 7);
  fl_request_free(r);
  fl_client_free(t);
  userver_stop(&u);
  userver_stop(&ua);
  unlink(path);
}

static void test_connect_to(void) {
  char rule[128], rule2[128], url[256];
  snprintf(rule, sizeof rule, "example.invalid:8080:127.0.0.1:%d", nginx);
  snprintf(rule2, sizeof rule2, ":%d:localhost:%d", 4443, nginx_tls);
  const char *rules[] = {rule, rule2, NULL};
  fl_client_options o;
  fl_client_options_init(&o);
  o.connect_to = rules;
  o.ca_file = ca;
  fl_client *c = client_of(&o);
  fl_request *r = fl_test_get(c, "http://example.invalid:8080/hello", 0);
  CHECK_EQ_STR(body_of(r), "Hello, World!");
  fl_request_free(r);
  /* TLS checks the URL's name: localhost is in the certificate... */
  r = fl_test_get(c, "https://localhost:4443/hello", 0);
  CHECK_EQ_STR(body_of(r), "Hello, World!");
  fl_request_free(r);
  /* ...wrong.invalid is not, wherever the connection goes. */
  r = fl_test_get(c, "https://wrong.invalid:4443/hello", FL_ECERT_VERIFY);
  fl_request_free(r);
  /* No rule for this port: connects where the URL says (nothing there). */
  snprintf(url, sizeof url, "http://127.0.0.1:%d/hello", nginx);
  r = fl_test_get(c, url, 0);
  fl_request_free(r);
  fl_client_free(c);

  const char *bad[] = {"a:1:b", NULL};
  o.connect_to = bad;
  int err = 0;
  char msg[256];
  CHECK(fl_client_new_err(loop, &o, &err, msg, sizeof msg) == NULL);
  CHECK_EQ_INT(err, FL_EBAD_ARGUMENT);
  CHECK(strstr(msg, "a:1:b") != NULL);
}

static int cb_calls, cb_keepidle;
static int sockopt(int fd, void *data) {
  (void)data;
  int v = 0;
  socklen_t len = sizeof v;
  cb_calls++;
  if (getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, &len) == 0) cb_keepidle = v;
  return 0;
}

static void test_socket_options(void) {
  char url[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/hello", nginx);
  fl_client_options o;
  fl_client_options_init(&o);
  o.tcp_keepalive_idle_s = 17;
  o.sockopt_cb = sockopt;
  o.interface = "lo";
  fl_client *c = client_of(&o);
  fl_request *r = fl_test_get(c, url, 0);
  CHECK_EQ_INT(cb_calls, 1);
  CHECK_EQ_INT(cb_keepidle, 17);
  fl_request_free(r);
  fl_client_free(c);

  fl_client_options_init(&o);
  o.interface = "nosuchif0";
  c = client_of(&o);
  r = fl_test_get(c, url, FL_EINTERFACE);
  CHECK_EQ_INT(fl_err_curl_code(fl_request_error(r)), 45);
  CHECK(strstr(fl_request_errmsg(r), "nosuchif0") != NULL);
  fl_request_free(r);
  fl_client_free(c);

  /* A local port: find a free one, then ask for it. */
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof a;
  CHECK_EQ_INT(bind(s, (struct sockaddr *)&a, sizeof a), 0);
  CHECK_EQ_INT(getsockname(s, (struct sockaddr *)&a, &alen), 0);
  close(s);
  fl_client_options_init(&o);
  o.local_address = "127.0.0.1";
  o.local_port = ntohs(a.sin_port);
  o.local_port_range = 10;
  c = client_of(&o);
  r = fl_test_get(c, url, 0);
  CHECK(fl_request_info(r)->local_port >= o.local_port &&
        fl_request_info(r)->local_port < o.local_port + 10);
  fl_request_free(r);
  fl_client_free(c);

  o.local_address = "not-an-ip";
  int err = 0;
  CHECK(fl_client_new_err(loop, &o, &err, NULL, 0) == NULL);
  CHECK_EQ_INT(err, FL_EBAD_ARGUMENT);
}

static int waited;
static void on_wait(fl_timer *t, void *data) {
  (void)t, (void)data;
  waited = 1;
}

static void wait_ms(uint64_t ms) {
  fl_timer *t = fl_timer_new(loop);
  waited = 0;
  fl_timer_start(t, ms, 0, on_wait, NULL);
  while (!waited) fl_loop_run(loop, FL_RUN_ONCE);
  fl_timer_free(t);
}

static void test_max_lifetime(void) {
  char url[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/hello", nginx);
  for (int limit = 0; limit < 2; limit++) {
    fl_client_options o;
    fl_client_options_init(&o);
    o.max_lifetime_ms = limit ? 30 : 0;
    fl_client *c = client_of(&o);
    fl_request *r = fl_test_get(c, url, 0);
    fl_request_free(r);
    wait_ms(60); /* past the limit */
    r = fl_test_get(c, url, 0);
    CHECK_EQ_INT(fl_request_info(r)->reused, !limit);
    fl_request_free(r);
    fl_pool_stats st;
    fl_client_pool_stats(c, &st);
    CHECK_EQ_INT((int)st.created, limit ? 2 : 1);
    fl_client_free(c);
  }
}

int main(void) {
  FL_TEST_BEGIN();
  nginx = fl_test_server_port("nginx");
  nginx_tls = fl_test_server_port("nginx_tls");
  snprintf(ca, sizeof ca, "%s/ca.pem", fl_test_rundir_path("nginx_tls"));
  loop = fl_loop_new();
  CHECK(loop);
  test_unix();
  test_connect_to();
  test_socket_options();
  test_max_lifetime();
  CHECK_EQ_INT(fl_loop_free(loop), 0);
  FL_TEST_END();
}
