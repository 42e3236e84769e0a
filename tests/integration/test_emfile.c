/* The process out of file descriptors (EMFILE, issue 22): the descriptors
 * below a lowered soft RLIMIT_NOFILE are all taken (dup), then
 * - a request that needs a new connection fails at once with FL_ECONNECT
 *   and a message that says why (out of file descriptors);
 * - a request on an idle pooled connection still succeeds (no new fd);
 * - a request whose name needs a DNS lookup (c-ares cannot open its
 *   socket) fails with FL_ERESOLVE and a message that says why;
 * - nothing hangs, nothing leaks, and once the descriptors are back the same
 *   client connects and resolves again. */
/* FIXTURES: nginx dnsmasq */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "flurry.h"
#include "test.h"

enum { MAX_HOLD = 4096 };
static int held[MAX_HOLD], nheld;
static struct rlimit saved;

static void take_rest(void);

/* Lower the soft limit and take every descriptor below it. */
static void exhaust(void) {
  CHECK_EQ_INT(getrlimit(RLIMIT_NOFILE, &saved), 0);
  struct rlimit low = saved;
  low.rlim_cur = 256;
  CHECK_EQ_INT(setrlimit(RLIMIT_NOFILE, &low), 0);
  nheld = 0;
  take_rest();
}

/* Take the descriptors that were given back since (a closed connection's). */
static void take_rest(void) {
  for (;;) {
    int fd = dup(0);
    if (fd < 0) {
      CHECK_EQ_INT(errno, EMFILE);
      break;
    }
    CHECK(nheld < MAX_HOLD);
    held[nheld++] = fd;
  }
}

static void restore(void) {
  while (nheld > 0) close(held[--nheld]);
  CHECK_EQ_INT(setrlimit(RLIMIT_NOFILE, &saved), 0);
}

static void on_done(fl_request *req, int err, void *data) {
  (void)req;
  (void)err;
  (void)data;
}

static int contains(const char *s, const char *part) { return s && strstr(s, part) != NULL; }

/* A GET that must fail with err and a message naming the cause. */
static void get_fails(fl_client *c, const char *url, int err) {
  fl_request *r = fl_test_get(c, url, err);
  const char *msg = fl_request_errmsg(r);
  if (!contains(msg, "file descriptors")) {
    fprintf(stderr, "%s: message \"%s\" does not say file descriptors ran out\n", url, msg);
    CHECK(0);
  }
  fl_request_free(r);
}

int main(void) {
  FL_TEST_BEGIN();
  int nginx = fl_test_server_port("nginx");
  char dns[64], ip_url[256], name_url[256];
  snprintf(dns, sizeof dns, "127.0.0.1:%d", fl_test_server_port("dnsmasq"));
  snprintf(ip_url, sizeof ip_url, "http://127.0.0.1:%d/hello", nginx);
  snprintf(name_url, sizeof name_url, "http://a.test:%d/hello", nginx);
  int fds0 = fl_test_count_fds();
  fl_loop *loop = fl_loop_new();
  CHECK(loop);
  fl_client_options o;
  fl_client_options_init(&o);
  o.dns_servers = dns;
  o.dns_negative_ttl_ms = 600000; /* a failure cached would outlast the test */
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);

  /* A connection made and left idle in the pool. */
  fl_request *r = fl_test_get(c, ip_url, 0);
  fl_request_free(r);

  exhaust();
  /* The idle connection needs no new descriptor. */
  r = fl_test_get(c, ip_url, 0);
  CHECK_EQ_INT(fl_request_info(r)->reused, 1);
  fl_request_free(r);
  /* A second connection (the first is busy with the first request). */
  fl_request *busy = fl_request_new("GET", ip_url);
  CHECK_EQ_INT(fl_request_send(c, busy, on_done, NULL), 0);
  get_fails(c, ip_url, FL_ECONNECT);
  fl_request_free(busy); /* cancelled mid-response: its connection closes */
  fl_client_close_idle(c);
  take_rest();
  get_fails(c, ip_url, FL_ECONNECT);
  get_fails(c, name_url, FL_ERESOLVE);
  restore();

  /* Descriptors back: the same client connects and resolves again. */
  r = fl_test_get(c, ip_url, 0);
  fl_request_free(r);
  r = fl_test_get(c, name_url, 0);
  fl_request_free(r);
  fl_client_free(c);
  CHECK_EQ_INT(fl_loop_free(loop), 0);
  CHECK_EQ_INT(fl_test_count_fds(), fds0);
  FL_TEST_END();
}
