/* The connector's socket step (net/sockopt.h) and Unix domain sockets, on
 * loopback: TCP keep-alive values on the connected socket, binding to
 * "lo" and to a bad interface (FL_EINTERFACE), a local address of the wrong
 * family, a local port range (the port used is in it; a range whose ports
 * are all taken is FL_EINTERFACE), the socket-option callback (called with
 * the socket before connect; refusing fails with FL_ECONNECT), and Unix
 * sockets: a path, an abstract name, a missing path and a regular file
 * (FL_ECONNECT, the path in the message). */
/* LABELS: valgrind */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "loop/loop.h"
#include "net/tcp.h"
#include "test.h"

static fl_loop *loop;
static int calls, got_err, got_fd;
static char got_msg[160];

static void on_connect(fl__connector *c) {
  calls++;
  got_err = c->err;
  got_fd = c->fd;
  snprintf(got_msg, sizeof got_msg, "%s", c->errmsg);
}

static void wait_result(void) {
  for (int i = 0; i < 2000 && !calls; i++) fl_loop_run(loop, FL_RUN_ONCE);
  CHECK_EQ_INT(calls, 1);
}

static int listener(fl__sockaddr *addr) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(fd >= 0);
  memset(addr, 0, sizeof *addr);
  addr->in4.sin_family = AF_INET;
  addr->in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK_EQ_INT(bind(fd, &addr->sa, sizeof addr->in4), 0);
  CHECK_EQ_INT(listen(fd, 16), 0);
  socklen_t len = sizeof addr->in4;
  CHECK_EQ_INT(getsockname(fd, &addr->sa, &len), 0);
  return fd;
}

/* Connect to addr with o; result in calls/got_*. */
static void run(const fl__sockaddr *addr, const fl__sock_opts *o) {
  fl__connector c;
  memset(&c, 0, sizeof c);
  calls = 0;
  CHECK_EQ_INT(fl__connect_start_opts(loop, &c, addr, 1, 250, o, on_connect, NULL), 0);
  wait_result();
}

static int getint(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  CHECK_EQ_INT(getsockopt(fd, level, name, &v, &len), 0);
  return v;
}

static int seen_fd = -1;
static int sock_cb(void *data, int fd, const fl__sockaddr *remote) {
  int *refuse = data;
  seen_fd = fd;
  CHECK(remote == NULL || remote->sa.sa_family == AF_INET);
  return *refuse;
}

static void test_tcp_options(void) {
  fl__sockaddr addr;
  int lfd = listener(&addr);

  /* Keep-alive off by default; on with the given values. */
  fl__sock_opts o;
  memset(&o, 0, sizeof o);
  run(&addr, &o);
  CHECK_EQ_INT(got_err, 0);
  CHECK_EQ_INT(getint(got_fd, SOL_SOCKET, SO_KEEPALIVE), 0);
  close(got_fd);
  o.keepalive_idle_s = 7;
  o.keepalive_interval_s = 3;
  o.keepalive_count = 4;
  run(&addr, &o);
  CHECK_EQ_INT(got_err, 0);
  CHECK_EQ_INT(getint(got_fd, SOL_SOCKET, SO_KEEPALIVE), 1);
  CHECK_EQ_INT(getint(got_fd, IPPROTO_TCP, TCP_KEEPIDLE), 7);
  CHECK_EQ_INT(getint(got_fd, IPPROTO_TCP, TCP_KEEPINTVL), 3);
  CHECK_EQ_INT(getint(got_fd, IPPROTO_TCP, TCP_KEEPCNT), 4);
  CHECK_EQ_INT(getint(got_fd, IPPROTO_TCP, TCP_NODELAY), 1);
  close(got_fd);

  /* Interfaces: lo works (bound to the device, or to its address without
   * the privilege); a name that does not exist is FL_EINTERFACE. */
  memset(&o, 0, sizeof o);
  o.interface = "lo";
  run(&addr, &o);
  CHECK_EQ_INT(got_err, 0);
  close(got_fd);
  o.interface = "nosuchif0";
  run(&addr, &o);
  CHECK_EQ_INT(got_err, FL_EINTERFACE);
  CHECK(strstr(got_msg, "nosuchif0") != NULL);
  CHECK_EQ_INT(fl_err_curl_code(got_err), 45);

  /* A local IPv6 address for an IPv4 remote. */
  memset(&o, 0, sizeof o);
  o.has_local_addr = 1;
  o.local_addr.in6.sin6_family = AF_INET6;
  o.local_addr.in6.sin6_addr = in6addr_loopback;
  run(&addr, &o);
  CHECK_EQ_INT(got_err, FL_EINTERFACE);

  /* A local port range: take a port, hold the first of a range of two. */
  int hold = socket(AF_INET, SOCK_STREAM, 0);
  fl__sockaddr h;
  memset(&h, 0, sizeof h);
  h.in4.sin_family = AF_INET;
  h.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK_EQ_INT(bind(hold, &h.sa, sizeof h.in4), 0);
  socklen_t hl = sizeof h.in4;
  CHECK_EQ_INT(getsockname(hold, &h.sa, &hl), 0);
  uint16_t p = ntohs(h.in4.sin_port);
  memset(&o, 0, sizeof o);
  o.has_local_addr = 1;
  o.local_addr = h;
  o.local_addr.in4.sin_port = 0;
  o.local_port = p;
  o.local_port_range = 1; /* only the held one */
  run(&addr, &o);
  CHECK_EQ_INT(got_err, FL_EINTERFACE);
  CHECK(strstr(got_msg, "port") != NULL);
  if (p < 65535) {
    int next = socket(AF_INET, SOCK_STREAM, 0); /* is p+1 free? then the range finds it */
    fl__sockaddr t = h;
    t.in4.sin_port = htons((uint16_t)(p + 1));
    int free_next = bind(next, &t.sa, sizeof t.in4) == 0;
    close(next);
    if (free_next) {
      o.local_port_range = 2;
      o.has_local_addr = 0; /* the port alone: any address */
      run(&addr, &o);
      CHECK_EQ_INT(got_err, 0);
      fl__sockaddr l;
      socklen_t ll = sizeof l;
      CHECK_EQ_INT(getsockname(got_fd, &l.sa, &ll), 0);
      CHECK_EQ_INT(ntohs(l.in4.sin_port), p + 1);
      close(got_fd);
    }
  }
  close(hold);

  /* The callback sees the socket before connect; refusing fails it. */
  int refuse = 0;
  memset(&o, 0, sizeof o);
  o.callback = sock_cb;
  o.callback_data = &refuse;
  run(&addr, &o);
  CHECK_EQ_INT(got_err, 0);
  CHECK_EQ_INT(seen_fd, got_fd);
  close(got_fd);
  refuse = 1;
  run(&addr, &o);
  CHECK_EQ_INT(got_err, FL_ECONNECT);
  CHECK(strstr(got_msg, "callback") != NULL);
  close(lfd);
}

static void run_unix(const char *path, int abstract, const fl__sock_opts *o) {
  fl__connector c;
  memset(&c, 0, sizeof c);
  calls = 0;
  CHECK_EQ_INT(fl__connect_start_unix(loop, &c, path, abstract, o, on_connect, NULL), 0);
  wait_result();
}

static int unix_listener(const char *path, int abstract) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  memcpy(a.sun_path + (abstract ? 1 : 0), path, strlen(path));
  socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
  if (!abstract) unlink(path);
  CHECK_EQ_INT(bind(fd, (struct sockaddr *)&a, len), 0);
  CHECK_EQ_INT(listen(fd, 4), 0);
  return fd;
}

static void test_unix(void) {
  char path[512], file[512], abs_name[64];
  snprintf(path, sizeof path, "%s", fl_test_rundir_path("sockopt.sock"));
  snprintf(file, sizeof file, "%s", fl_test_rundir_path("sockopt.notsock"));
  snprintf(abs_name, sizeof abs_name, "flurry-test-%d", (int)getpid());
  if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) fl_test_skip("rundir too long");
  int lfd = unix_listener(path, 0);
  int refuse = 0;
  fl__sock_opts o;
  memset(&o, 0, sizeof o);
  o.keepalive_idle_s = 5; /* TCP-only options are not applied to a Unix socket */
  o.callback = sock_cb;
  o.callback_data = &refuse;
  run_unix(path, 0, &o);
  CHECK_EQ_INT(got_err, 0);
  CHECK_EQ_INT(seen_fd, got_fd);
  close(got_fd);
  close(lfd);
  unlink(path);

  int afd = unix_listener(abs_name, 1);
  run_unix(abs_name, 1, NULL);
  CHECK_EQ_INT(got_err, 0);
  close(got_fd);
  close(afd);
  run_unix(abs_name, 1, NULL); /* nobody listens any more */
  CHECK_EQ_INT(got_err, FL_ECONNECT);
  CHECK(strstr(got_msg, abs_name) != NULL);

  run_unix(path, 0, NULL); /* removed */
  CHECK_EQ_INT(got_err, FL_ECONNECT);
  CHECK(strstr(got_msg, path) != NULL);
  FILE *f = fopen(file, "w");
  CHECK(f);
  fclose(f);
  run_unix(file, 0, NULL); /* not a socket */
  CHECK_EQ_INT(got_err, FL_ECONNECT);
  CHECK_EQ_INT(fl_err_curl_code(got_err), 7);
  unlink(file);

  fl__connector c;
  memset(&c, 0, sizeof c);
  char longp[200];
  memset(longp, 'x', sizeof longp - 1);
  longp[sizeof longp - 1] = '\0';
  CHECK_EQ_INT(fl__connect_start_unix(loop, &c, longp, 0, NULL, on_connect, NULL), FL_EINVAL);
}

int main(void) {
  FL_TEST_BEGIN();
  loop = fl_loop_new();
  CHECK(loop);
  test_tcp_options();
  test_unix();
  CHECK_EQ_INT(fl_loop_free(loop), 0);
  FL_TEST_END();
}
