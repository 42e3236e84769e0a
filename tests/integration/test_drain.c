/* Shutdown and reload: fl_client_close_idle, fl_client_drain (requests in
 * flight finish, new sends refused at once with FL_EDRAINING, one callback
 * after the last request's, a deadline cancelling a request whose server
 * never answers, a second drain and a drain from inside a callback refused,
 * connections closed at the end) against nginx and a silent listener made
 * here; fl_client_dns_reload against dnsmasq (the cache is dropped, the
 * c-ares channel rebuilt with lookups in flight asked again). */
/* FIXTURES: nginx dnsmasq */
/* LABELS: valgrind */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "flurry.h"
#include "test.h"

static fl_loop *loop;
static int nginx;
static char events[512];
static int dones, drained, drain_err;

static void note(const char *s) { strncat(events, s, sizeof events - strlen(events) - 1); }

static void on_done(fl_request *req, int err, void *data) {
  (void)req;
  (void)data;
  note(err == 0 ? "ok " : err == FL_ECANCELED ? "canceled " : "error ");
  dones++;
}

static void on_drained(fl_client *c, int err, void *data) {
  (void)data;
  fl_pool_stats st;
  fl_client_pool_stats(c, &st);
  note(err == 0 ? "drained" : err == FL_ETIMEOUT ? "drained-timeout" : "drained-error");
  CHECK_EQ_INT((int)st.idle, 0); /* closed before the callback */
  drained++;
  drain_err = err;
}

/* A listener that takes connections but never answers. */
static int silent_listener(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  CHECK_EQ_INT(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  CHECK_EQ_INT(listen(fd, 8), 0);
  CHECK_EQ_INT(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

static int drain_inside;
static void on_done_drain(fl_request *req, int err, void *data) {
  (void)req;
  (void)err;
  drain_inside = fl_client_drain(data, 0, NULL, NULL);
  dones++;
}

static void test_drain(void) {
  char url[256], hang[256];
  int sport, sfd = silent_listener(&sport);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/hello", nginx);
  snprintf(hang, sizeof hang, "http://127.0.0.1:%d/never", sport);
  fl_client *c = fl_client_new(loop, NULL);
  CHECK(c);

  /* Close idle: one kept-alive connection, then none. */
  fl_request *r = fl_test_get(c, url, 0);
  fl_pool_stats st;
  fl_client_pool_stats(c, &st);
  CHECK_EQ_INT((int)st.idle, 1);
  fl_client_close_idle(c);
  fl_client_pool_stats(c, &st);
  CHECK_EQ_INT((int)st.open, 0);

  /* A drain from inside a request's callback is refused. */
  dones = 0;
  CHECK_EQ_INT(fl_request_send(c, r, on_done_drain, c), 0);
  while (dones < 1) fl_loop_run(loop, FL_RUN_ONCE);
  CHECK_EQ_INT(drain_inside, FL_EINVAL);

  /* Three to nginx, one to the silent listener; drain with a deadline. */
  fl_request *rs[4];
  dones = 0;
  events[0] = '\0';
  for (int i = 0; i < 4; i++) {
    rs[i] = fl_request_new("GET", i < 3 ? url : hang);
    CHECK_EQ_INT(fl_request_send(c, rs[i], on_done, NULL), 0);
  }
  CHECK_EQ_INT(fl_client_drain(c, 300, on_drained, NULL), 0);
  CHECK_EQ_INT(fl_client_drain(c, 0, on_drained, NULL), FL_EINVAL); /* twice */
  CHECK_EQ_INT(fl_request_send(c, r, on_done, NULL), FL_EDRAINING); /* at once */
  CHECK_EQ_INT(fl_request_error(r), FL_EDRAINING);
  CHECK(strstr(fl_request_errmsg(r), "draining") != NULL);
  CHECK_EQ_INT(drained, 0); /* never from inside the call */
  for (int i = 0; i < 2000 && !drained; i++) fl_loop_run(loop, FL_RUN_ONCE);
  CHECK_EQ_STR(events, "ok ok ok canceled drained-timeout");
  CHECK_EQ_INT(drain_err, FL_ETIMEOUT);
  CHECK_EQ_INT(fl_request_error(rs[3]), FL_ECANCELED);
  fl_client_pool_stats(c, &st);
  CHECK_EQ_INT((int)st.open, 0);
  for (int i = 0; i < 4; i++) fl_request_free(rs[i]);
  fl_request_free(r);
  fl_client_free(c);

  /* No deadline; nothing in flight: the callback still comes from the loop. */
  c = fl_client_new(loop, NULL);
  drained = 0;
  events[0] = '\0';
  dones = 0;
  fl_request *a = fl_request_new("GET", url), *b = fl_request_new("GET", url);
  CHECK_EQ_INT(fl_request_send(c, a, on_done, NULL), 0);
  CHECK_EQ_INT(fl_request_send(c, b, on_done, NULL), 0);
  CHECK_EQ_INT(fl_client_drain(c, 0, on_drained, NULL), 0);
  for (int i = 0; i < 2000 && !drained; i++) fl_loop_run(loop, FL_RUN_ONCE);
  CHECK_EQ_STR(events, "ok ok drained");
  fl_request_free(a);
  fl_request_free(b);
  fl_client_free(c);
  c = fl_client_new(loop, NULL);
  drained = 0;
  CHECK_EQ_INT(fl_client_drain(c, 0, on_drained, NULL), 0);
  CHECK_EQ_INT(drained, 0);
  for (int i = 0; i < 100 && !drained; i++) fl_loop_run(loop, FL_RUN_ONCE);
  CHECK_EQ_INT(drained, 1);
  fl_client_free(c);
  /* Freed while draining: no callback. */
  c = fl_client_new(loop, NULL);
  a = fl_request_new("GET", hang);
  CHECK_EQ_INT(fl_request_send(c, a, on_done, NULL), 0);
  drained = 0;
  CHECK_EQ_INT(fl_client_drain(c, 0, on_drained, NULL), 0);
  fl_client_free(c);
  for (int i = 0; i < 5; i++) fl_loop_run(loop, FL_RUN_NOWAIT);
  CHECK_EQ_INT(drained, 0);
  fl_request_free(a);
  close(sfd);
}

static void test_dns_reload(void) {
  char dns[64], url[256];
  snprintf(dns, sizeof dns, "127.0.0.1:%d", fl_test_server_port("dnsmasq"));
  snprintf(url, sizeof url, "http://a.test:%d/hello", nginx);
  fl_client_options o;
  fl_client_options_init(&o);
  o.dns_servers = dns;
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  fl_request *r = fl_test_get(c, url, 0);
  fl_request_free(r);
  fl_dns_stats ds;
  fl_client_dns_stats(c, &ds);
  CHECK_EQ_INT((int)ds.lookups, 1);
  CHECK_EQ_INT((int)ds.entries, 1);
  CHECK_EQ_INT(fl_client_dns_reload(c), 0);
  fl_client_dns_stats(c, &ds);
  CHECK_EQ_INT((int)ds.entries, 0);
  /* A lookup in flight when the channel is rebuilt is asked again. */
  fl_client_close_idle(c);
  dones = 0;
  events[0] = '\0';
  r = fl_request_new("GET", url);
  CHECK_EQ_INT(fl_request_send(c, r, on_done, NULL), 0);
  fl_loop_run(loop, FL_RUN_NOWAIT); /* the lookup is out */
  CHECK_EQ_INT(fl_client_dns_reload(c), 0);
  for (int i = 0; i < 2000 && !dones; i++) fl_loop_run(loop, FL_RUN_ONCE);
  CHECK_EQ_STR(events, "ok ");
  fl_client_dns_stats(c, &ds);
  CHECK(ds.lookups >= 2); /* 3 when it was still out: asked again on the new channel */
  CHECK_EQ_INT((int)ds.in_flight, 0);
  fl_request_free(r);
  /* A name nobody answers, reloaded mid-lookup: still one timeout. */
  fl_client_free(c);
  o.dns_timeout_ms = 600;
  c = fl_client_new(loop, &o);
  r = fl_request_new("GET", "http://x.timeout.test/");
  dones = 0;
  events[0] = '\0';
  CHECK_EQ_INT(fl_request_send(c, r, on_done, NULL), 0);
  fl_loop_run(loop, FL_RUN_NOWAIT);
  CHECK_EQ_INT(fl_client_dns_reload(c), 0);
  for (int i = 0; i < 2000 && !dones; i++) fl_loop_run(loop, FL_RUN_ONCE);
  CHECK_EQ_STR(events, "error ");
  CHECK_EQ_INT(fl_request_error(r), FL_EDNS_TIMEOUT);
  fl_request_free(r);
  fl_client_free(c);
}

int main(void) {
  FL_TEST_BEGIN();
  nginx = fl_test_server_port("nginx");
  loop = fl_loop_new();
  CHECK(loop);
  test_drain();
  test_dns_reload();
  CHECK_EQ_INT(fl_loop_free(loop), 0);
  FL_TEST_END();
}
