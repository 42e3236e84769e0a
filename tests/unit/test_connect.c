/* fl__connect_*: nonblocking connect with Happy Eyeballs, on loopback only.
 *
 * Targets, all made here:
 * - a listener on 127.0.0.1:0 / [::1]:0;
 * - "refused": a socket bound to a port but not listening (the port stays
 *   ours, so nobody can start listening on it mid-test);
 * - "black hole": a listener with backlog 0 whose accept queue we fill first.
 *   Linux drops SYNs to a full accept queue, so a connect to it stays pending
 *   (the SYN is retransmitted after ~1 s and dropped again);
 * - "unreachable": a multicast address (224.0.0.1, ff02::1). TCP connect to
 *   one fails in the kernel with ENETUNREACH before any packet is sent.
 * The IPv6 parts are skipped when AF_INET6 sockets or binding ::1 fail.
 *
 * A nonblocking connect on loopback returns EINPROGRESS here, though it may
 * succeed at once elsewhere; to cover that path this program interposes
 * connect() (see below). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "loop/loop.h"
#include "net/tcp.h"
#include "test.h"

/* connect() for the whole program: to destination port sync_port (when
 * nonzero) it waits for the handshake and returns 0 (or fails with its
 * error), as a nonblocking connect that completes at once would. Other calls
 * go straight to the kernel. */
static uint16_t sync_port;

int connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len) {
  const struct sockaddr *sa;
  memcpy(&sa, &addr, sizeof sa); /* a pointer, or a transparent union of them */
  long r = syscall(SYS_connect, fd, sa, len);
  if (r == 0 || errno != EINPROGRESS || sync_port == 0) return (int)r;
  uint16_t port = sa->sa_family == AF_INET ? ((const struct sockaddr_in *)sa)->sin_port
                                           : ((const struct sockaddr_in6 *)sa)->sin6_port;
  if (ntohs(port) != sync_port) return (int)r;
  struct pollfd p = {.fd = fd, .events = POLLOUT};
  if (poll(&p, 1, 2000) != 1) return -1; /* errno still EINPROGRESS */
  int soerr = 0;
  socklen_t slen = sizeof soerr;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) != 0) return -1;
  if (soerr != 0) {
    errno = soerr;
    return -1;
  }
  return 0;
}

typedef struct result {
  int calls;
  int err;
  int fd;
  fl__sockaddr remote;
  char errmsg[160];
  uint64_t at_us; /* when the callback ran */
  int fds_in_cb;  /* open fds during the callback */
  int free_in_cb; /* the callback frees the (malloc'd) connector */
} result;

static void on_connect(fl__connector *c) {
  result *r = c->data;
  r->calls++;
  r->err = c->err;
  r->fd = c->fd;
  r->remote = c->remote;
  snprintf(r->errmsg, sizeof r->errmsg, "%s", c->errmsg);
  r->at_us = fl__now_us();
  r->fds_in_cb = fl_test_count_fds();
  fl_loop_stop(c->loop); /* end the spin's iteration without waiting */
  if (r->free_in_cb) {
    memset(c, 0xa5, sizeof *c);
    free(c);
  }
}

static void on_spin_timeout(fl_timer *t, void *data) {
  FL__UNUSED(t);
  *(int *)data = 1;
}

/* Run the loop until *until is nonzero (if given) or max_ms passed. */
static void spin(fl_loop *loop, const int *until, uint32_t max_ms) {
  int timed_out = 0;
  fl__loop_update_time(loop); /* the test may have blocked in poll() since */
  fl_timer *t = fl_timer_new(loop);
  CHECK(t);
  CHECK_EQ_INT(fl_timer_start(t, max_ms, 0, on_spin_timeout, &timed_out), 0);
  while (!timed_out && !(until && *until)) fl_loop_run(loop, FL_RUN_ONCE);
  fl_timer_free(t);
}

static void set_addr(fl__sockaddr *a, int family, const char *ip, uint16_t port) {
  memset(a, 0, sizeof *a);
  if (family == AF_INET) {
    a->in4.sin_family = AF_INET;
    a->in4.sin_port = htons(port);
    CHECK_EQ_INT(inet_pton(AF_INET, ip, &a->in4.sin_addr), 1);
  } else {
    a->in6.sin6_family = AF_INET6;
    a->in6.sin6_port = htons(port);
    CHECK_EQ_INT(inet_pton(AF_INET6, ip, &a->in6.sin6_addr), 1);
  }
}

static uint16_t port_of(const fl__sockaddr *a) {
  return ntohs(a->sa.sa_family == AF_INET ? a->in4.sin_port : a->in6.sin6_port);
}

static int same_addr(const fl__sockaddr *a, const fl__sockaddr *b) {
  if (a->sa.sa_family != b->sa.sa_family || port_of(a) != port_of(b)) return 0;
  if (a->sa.sa_family == AF_INET) return a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
  return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, sizeof a->in6.sin6_addr) == 0;
}

/* A socket bound to loopback port 0, listening with backlog unless backlog < 0.
 * Returns the fd and its address, or -1 if the family is unavailable. */
static int bound_socket(int family, int backlog, fl__sockaddr *out) {
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  set_addr(out, family, family == AF_INET ? "127.0.0.1" : "::1", 0);
  if (bind(fd, &out->sa, fl__sockaddr_len(out)) != 0) {
    CHECK_EQ_INT(close(fd), 0);
    return -1;
  }
  socklen_t len = sizeof *out;
  CHECK_EQ_INT(getsockname(fd, &out->sa, &len), 0);
  if (backlog >= 0) CHECK_EQ_INT(listen(fd, backlog), 0);
  return fd;
}

static int have_v6(void) {
  fl__sockaddr a;
  int fd = bound_socket(AF_INET6, -1, &a);
  if (fd < 0) return 0;
  CHECK_EQ_INT(close(fd), 0);
  return 1;
}

/* Wait up to ms for a nonblocking connect; 1 done (SO_ERROR in *soerr), 0 pending. */
static int connect_wait(int fd, int ms, int *soerr) {
  struct pollfd p = {.fd = fd, .events = POLLOUT};
  int n = poll(&p, 1, ms);
  CHECK(n >= 0);
  if (n == 0) return 0;
  socklen_t len = sizeof *soerr;
  CHECK_EQ_INT(getsockopt(fd, SOL_SOCKET, SO_ERROR, soerr, &len), 0);
  return 1;
}

typedef struct blackhole {
  int listen_fd;
  int fillers[8];
  int nfillers;
  fl__sockaddr addr;
} blackhole;

/* Fill a backlog-0 listener until a connect to it stays pending, and check it
 * keeps pending: the premise of the delay tests. */
static void blackhole_open(blackhole *b, int family) {
  b->nfillers = 0;
  b->listen_fd = bound_socket(family, 0, &b->addr);
  CHECK(b->listen_fd >= 0);
  for (;;) {
    CHECK(b->nfillers < (int)FL__ARRAY_SIZE(b->fillers));
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0);
    b->fillers[b->nfillers++] = fd;
    int r = connect(fd, &b->addr.sa, fl__sockaddr_len(&b->addr));
    CHECK(r == 0 || errno == EINPROGRESS);
    int soerr = -1;
    if (r != 0 && !connect_wait(fd, 50, &soerr)) break; /* pending: the accept queue is full */
    CHECK_EQ_INT(soerr == -1 ? 0 : soerr, 0);
  }
  int soerr = 0;
  if (connect_wait(b->fillers[b->nfillers - 1], 100, &soerr)) {
    fprintf(stderr, "full accept queue does not hold connects pending here (so_error %d)\n", soerr);
    exit(1);
  }
}

static void blackhole_close(blackhole *b) {
  for (int i = 0; i < b->nfillers; i++) CHECK_EQ_INT(close(b->fillers[i]), 0);
  CHECK_EQ_INT(close(b->listen_fd), 0);
}

static void check_connected_fd(int fd) {
  CHECK(fd >= 0);
  int fdflags = fcntl(fd, F_GETFD);
  CHECK(fdflags >= 0 && (fdflags & FD_CLOEXEC));
  int flflags = fcntl(fd, F_GETFL);
  CHECK(flflags >= 0 && (flflags & O_NONBLOCK));
  int nodelay = 0;
  socklen_t len = sizeof nodelay;
  CHECK_EQ_INT(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len), 0);
  CHECK_EQ_INT(nodelay, 1);
  fl__sockaddr peer;
  len = sizeof peer;
  CHECK_EQ_INT(getpeername(fd, &peer.sa, &len), 0);
}

/* Accept the connection the test made, so the listener's queue is empty. */
static void accept_one(int listen_fd) {
  struct pollfd p = {.fd = listen_fd, .events = POLLIN};
  CHECK_EQ_INT(poll(&p, 1, 1000), 1);
  int fd = accept(listen_fd, NULL, NULL);
  CHECK(fd >= 0);
  CHECK_EQ_INT(close(fd), 0);
}

static int io_fired;
static void on_io(fl_loop *loop, fl__io *io, uint32_t events) {
  FL__UNUSED(loop);
  FL__UNUSED(io);
  if (events & FL__POLLOUT) io_fired++;
  fl_loop_stop(loop);
}

/* ------------------------------------------------------------------ cases */

static void test_success(fl_loop *loop, int family) {
  fl__sockaddr addr;
  int lfd = bound_socket(family, 16, &addr);
  CHECK(lfd >= 0);
  int base = fl_test_count_fds();
  fl__connector c;
  result r = {0};
  CHECK_EQ_INT(fl__connect_start(loop, &c, &addr, 1, 250, on_connect, &r), 0);
  CHECK_EQ_INT(r.calls, 0); /* never from inside start */
  spin(loop, &r.calls, 5000);
  CHECK_EQ_INT(r.calls, 1);
  CHECK_EQ_INT(r.err, 0);
  CHECK_EQ_STR(r.errmsg, "");
  CHECK(same_addr(&r.remote, &addr));
  check_connected_fd(r.fd);
  CHECK_EQ_INT(r.fds_in_cb, base + 1);
  accept_one(lfd);

  /* The winner's watcher is gone: the caller can watch the fd itself. */
  fl__io io;
  fl__io_init(&io, on_io, r.fd);
  io_fired = 0;
  CHECK_EQ_INT(fl__io_start(loop, &io, FL__POLLOUT), 0);
  spin(loop, &io_fired, 2000);
  CHECK_EQ_INT(io_fired, 1);
  fl__io_close(loop, &io);

  fl__connect_cancel(&c); /* finished: must not touch the caller's fd */
  CHECK(fcntl(r.fd, F_GETFD) >= 0);
  CHECK_EQ_INT(close(r.fd), 0);
  CHECK_EQ_INT(close(lfd), 0);
  spin(loop, NULL, 20);
  CHECK_EQ_INT(r.calls, 1);
}

static void test_refused(fl_loop *loop, int family) {
  fl__sockaddr addr;
  int bfd = bound_socket(family, -1, &addr);
  CHECK(bfd >= 0);
  int base = fl_test_count_fds();
  fl__connector c;
  result r = {0};
  CHECK_EQ_INT(fl__connect_start(loop, &c, &addr, 1, 250, on_connect, &r), 0);
  CHECK_EQ_INT(r.calls, 0);
  spin(loop, &r.calls, 5000);
  CHECK_EQ_INT(r.calls, 1);
  CHECK_EQ_INT(r.err, FL_ECONN_REFUSED);
  CHECK_EQ_INT(r.fd, -1);
  CHECK_EQ_INT(r.fds_in_cb, base);
  char want[160];
  snprintf(want, sizeof want, "connect to %s port %u failed: Connection refused",
           family == AF_INET ? "127.0.0.1" : "::1", (unsigned)port_of(&addr));
  CHECK_EQ_STR(r.errmsg, want);
  CHECK_EQ_INT(close(bfd), 0);
}

/* addrs[0] refused: the next starts at once, long before the delay. */
static void test_refused_then_success(fl_loop *loop, int bad_family, int good_family) {
  fl__sockaddr addrs[2];
  int bfd = bound_socket(bad_family, -1, &addrs[0]);
  int lfd = bound_socket(good_family, 16, &addrs[1]);
  CHECK(bfd >= 0 && lfd >= 0);
  int base = fl_test_count_fds();
  fl__connector c;
  result r = {0};
  uint64_t t0 = fl__now_us();
  CHECK_EQ_INT(fl__connect_start(loop, &c, addrs, 2, 3000, on_connect, &r), 0);
  spin(loop, &r.calls, 5000);
  CHECK_EQ_INT(r.calls, 1);
  CHECK_EQ_INT(r.err, 0);
  CHECK(same_addr(&r.remote, &addrs[1]));
  CHECK(r.at_us - t0 < 1000 * 1000);
  check_connected_fd(r.fd);
  CHECK_EQ_INT(r.fds_in_cb, base + 1);
  accept_one(lfd);
  CHECK_EQ_INT(close(r.fd), 0);
  CHECK_EQ_INT(close(lfd), 0);
  CHECK_EQ_INT(close(bfd), 0);
}

/* addrs[0] never answers: addrs[1] starts after the delay and wins; the
 * pending loser is closed before the callback. */
static void test_blackhole_then_success(fl_loop *loop, int bad_family, int good_family,
                                        int free_in_cb) {
  const uint32_t delay_ms = 100;
  blackhole bh;
  blackhole_open(&bh, bad_family);
  fl__sockaddr addrs[2];
  addrs[0] = bh.addr;
  int lfd = bound_socket(good_family, 16, &addrs[1]);
  CHECK(lfd >= 0);
  int base = fl_test_count_fds();
  fl__connector *c = malloc(sizeof *c);
  CHECK(c);
  result r = {0};
  r.free_in_cb = free_in_cb;
  fl__loop_update_time(loop); /* the delay counts from the cached loop time */
  uint64_t t0 = fl__now_us();
  CHECK_EQ_INT(fl__connect_start(loop, c, addrs, 2, delay_ms, on_connect, &r), 0);
  spin(loop, &r.calls, 5000);
  CHECK_EQ_INT(r.calls, 1);
  CHECK_EQ_INT(r.err, 0);
  CHECK(same_addr(&r.remote, &addrs[1]));
  /* Loop time has millisecond resolution: allow for the truncation. */
  uint64_t elapsed = r.at_us - t0;
  CHECK(elapsed + 1000 >= delay_ms * 1000);
  /* Started by the delay, not after the first attempt gave up (it never
   * does: its SYNs are dropped). Generous: valgrind on a loaded machine. */
  CHECK(elapsed < 2500 * 1000);
  CHECK_EQ_INT(r.fds_in_cb, base + 1); /* the loser is already closed */
  check_connected_fd(r.fd);
  accept_one(lfd);
  CHECK_EQ_INT(close(r.fd), 0);
  if (!free_in_cb) free(c);
  CHECK_EQ_INT(close(lfd), 0);
  blackhole_close(&bh);
}

static void test_cancel(fl_loop *loop) {
  blackhole bh;
  blackhole_open(&bh, AF_INET);
  fl__sockaddr addrs[3] = {bh.addr, bh.addr, bh.addr};
  int base = fl_test_count_fds();
  fl__connector c;
  result r = {0};
  fl__loop_update_time(loop);
  CHECK_EQ_INT(fl__connect_start(loop, &c, addrs, 3, 30, on_connect, &r), 0);
  spin(loop, NULL, 50); /* two attempts pending */
  CHECK(fl_test_count_fds() >= base + 2);
  fl__connect_cancel(&c);
  CHECK_EQ_INT(fl_test_count_fds(), base);
  fl__connect_cancel(&c); /* idempotent */
  spin(loop, NULL, 150);  /* past any delay */
  CHECK_EQ_INT(r.calls, 0);
  CHECK_EQ_INT(fl_test_count_fds(), base);
  blackhole_close(&bh);
  base = fl_test_count_fds();

  /* Cancel before the deferred report of an immediate failure. */
  fl__sockaddr mc;
  set_addr(&mc, AF_INET, "224.0.0.1", 80);
  CHECK_EQ_INT(fl__connect_start(loop, &c, &mc, 1, 30, on_connect, &r), 0);
  fl__connect_cancel(&c);
  spin(loop, NULL, 50);
  CHECK_EQ_INT(r.calls, 0);

  /* Cancel on a connector that never started. */
  fl__connector idle;
  memset(&idle, 0, sizeof idle);
  fl__connect_cancel(&idle);
  CHECK_EQ_INT(fl_test_count_fds(), base);
}

/* The callback frees the connector on every path (ASan checks nothing
 * touches it afterwards). */
static void test_free_in_callback(fl_loop *loop) {
  fl__sockaddr ok, refused, unreach;
  int lfd = bound_socket(AF_INET, 16, &ok);
  int bfd = bound_socket(AF_INET, -1, &refused);
  CHECK(lfd >= 0 && bfd >= 0);
  set_addr(&unreach, AF_INET, "224.0.0.1", 80);
  const fl__sockaddr *targets[] = {&ok, &refused, &unreach};
  const int want[] = {0, FL_ECONN_REFUSED, FL_EHOST_UNREACH};
  for (size_t i = 0; i < FL__ARRAY_SIZE(targets); i++) {
    fl__connector *c = malloc(sizeof *c);
    CHECK(c);
    result r = {0};
    r.free_in_cb = 1;
    CHECK_EQ_INT(fl__connect_start(loop, c, targets[i], 1, 50, on_connect, &r), 0);
    spin(loop, &r.calls, 5000);
    CHECK_EQ_INT(r.calls, 1);
    CHECK_EQ_INT(r.err, want[i]);
    if (r.fd >= 0) {
      accept_one(lfd);
      CHECK_EQ_INT(close(r.fd), 0);
    }
    spin(loop, NULL, 10);
  }
  CHECK_EQ_INT(close(lfd), 0);
  CHECK_EQ_INT(close(bfd), 0);
}

/* Every address fails (asynchronously and synchronously): one callback,
 * reporting the most telling error (refused over unreachable). */
static void test_all_fail(fl_loop *loop, int v6) {
  fl__sockaddr addrs[5];
  size_t n = 0;
  int fds[3];
  int nfds = 0;
  set_addr(&addrs[n++], AF_INET, "224.0.0.1", 80);
  fds[nfds++] = bound_socket(AF_INET, -1, &addrs[n++]);
  CHECK(fds[nfds - 1] >= 0);
  fds[nfds++] = bound_socket(AF_INET, -1, &addrs[n++]);
  CHECK(fds[nfds - 1] >= 0);
  if (v6) {
    fds[nfds++] = bound_socket(AF_INET6, -1, &addrs[n++]);
    CHECK(fds[nfds - 1] >= 0);
  }
  set_addr(&addrs[n++], AF_INET, "224.0.0.2", 80);
  int base = fl_test_count_fds();
  fl__connector c;
  result r = {0};
  uint64_t t0 = fl__now_us();
  CHECK_EQ_INT(fl__connect_start(loop, &c, addrs, n, 3000, on_connect, &r), 0);
  CHECK_EQ_INT(r.calls, 0);
  spin(loop, &r.calls, 5000);
  CHECK_EQ_INT(r.calls, 1);
  CHECK(r.at_us - t0 < 2500 * 1000); /* failures chain at once, not after the 3 s delay */
  CHECK_EQ_INT(r.err, FL_ECONN_REFUSED);
  CHECK_EQ_INT(r.fd, -1);
  CHECK(strstr(r.errmsg, "Connection refused") != NULL);
  CHECK_EQ_INT(r.fds_in_cb, base);
  spin(loop, NULL, 100);
  CHECK_EQ_INT(r.calls, 1);
  for (int i = 0; i < nfds; i++) CHECK_EQ_INT(close(fds[i]), 0);
}

/* Multicast destinations fail inside connect() with ENETUNREACH. */
static void test_unreachable(fl_loop *loop, int family) {
  fl__sockaddr addr;
  const char *ip = family == AF_INET ? "224.0.0.1" : "ff02::1";
  set_addr(&addr, family, ip, 80);
  int base = fl_test_count_fds();
  fl__connector c;
  result r = {0};
  CHECK_EQ_INT(fl__connect_start(loop, &c, &addr, 1, 50, on_connect, &r), 0);
  CHECK_EQ_INT(r.calls, 0); /* failed at once, yet reported from the loop */
  CHECK_EQ_INT(fl_test_count_fds(), base);
  spin(loop, &r.calls, 5000);
  CHECK_EQ_INT(r.calls, 1);
  CHECK_EQ_INT(r.err, FL_EHOST_UNREACH);
  CHECK_EQ_INT(r.fd, -1);
  char want[160];
  snprintf(want, sizeof want, "connect to %s port 80 failed: Network is unreachable", ip);
  CHECK_EQ_STR(r.errmsg, want);
}

/* No more than FL__CONNECT_MAX_ATTEMPTS at once; the address past the cap
 * waits until an attempt fails, then starts at once. */
static void test_cap(fl_loop *loop) {
  enum { N = FL__CONNECT_MAX_ATTEMPTS };
  blackhole a, b;
  blackhole_open(&a, AF_INET);
  blackhole_open(&b, AF_INET);
  fl__sockaddr addrs[N + 1];
  addrs[0] = b.addr; /* b's listener is closed later: this attempt then fails */
  for (int i = 1; i < N; i++) addrs[i] = a.addr;
  int lfd = bound_socket(AF_INET, 16, &addrs[N]);
  CHECK(lfd >= 0);
  int base = fl_test_count_fds();
  fl__connector c;
  result r = {0};
  fl__loop_update_time(loop);
  uint64_t t0 = fl__now_us();
  CHECK_EQ_INT(fl__connect_start(loop, &c, addrs, N + 1, 5, on_connect, &r), 0);
  /* Each attempt's 5 ms delay counts from when the previous one started:
   * on a loaded machine (ASan, valgrind) the wake-ups are late and the
   * delays add up, so wait for the N attempts (bounded), not for 5 N ms;
   * then ten delays more, in which the address past the cap must not start. */
  for (int i = 0; i < 1000 && c.nattempts < N; i++) spin(loop, NULL, 5);
  spin(loop, NULL, 50);
  CHECK_EQ_INT(r.calls, 0);
  CHECK_EQ_INT(c.nattempts, N);
  CHECK_EQ_INT((int)c.next, N);
  CHECK_EQ_INT(fl_test_count_fds(), base + N);
  /* With b's listener gone, the retransmitted SYN of attempt 0 (~1 s after
   * it started) meets a reset: it fails, and the waiting address starts. */
  for (int i = 0; i < b.nfillers; i++) CHECK_EQ_INT(close(b.fillers[i]), 0);
  CHECK_EQ_INT(close(b.listen_fd), 0);
  spin(loop, &r.calls, 10000);
  CHECK_EQ_INT(r.calls, 1);
  CHECK_EQ_INT(r.err, 0);
  CHECK(same_addr(&r.remote, &addrs[N]));
  CHECK(r.at_us - t0 >= 900 * 1000);
  /* b's sockets are gone, the winner is open, all N losers are closed. */
  CHECK_EQ_INT(r.fds_in_cb, base - (b.nfillers + 1) + 1);
  accept_one(lfd);
  CHECK_EQ_INT(close(r.fd), 0);
  CHECK_EQ_INT(close(lfd), 0);
  blackhole_close(&a);
}

/* connect() returning 0: the outcome still comes from the loop; everything
 * else is closed at once; cancel before the report closes the winner too. */
static void test_immediate_success(fl_loop *loop) {
  fl__sockaddr ok, unreach;
  int lfd = bound_socket(AF_INET, 16, &ok);
  CHECK(lfd >= 0);
  set_addr(&unreach, AF_INET, "224.0.0.1", 80);
  blackhole bh;
  blackhole_open(&bh, AF_INET);
  sync_port = port_of(&ok);
  int base = fl_test_count_fds();

  /* Alone, then after a synchronous failure; the callback frees c. */
  fl__sockaddr lists[2][2] = {{ok}, {unreach, ok}};
  for (size_t n = 1; n <= 2; n++) {
    fl__connector *c = malloc(sizeof *c);
    CHECK(c);
    result r = {0};
    r.free_in_cb = 1;
    CHECK_EQ_INT(fl__connect_start(loop, c, lists[n - 1], n, 250, on_connect, &r), 0);
    CHECK_EQ_INT(r.calls, 0);
    CHECK_EQ_INT(fl_test_count_fds(), base + 1);
    spin(loop, &r.calls, 5000);
    CHECK_EQ_INT(r.calls, 1);
    CHECK_EQ_INT(r.err, 0);
    CHECK_EQ_STR(r.errmsg, "");
    CHECK(same_addr(&r.remote, &ok));
    check_connected_fd(r.fd);
    accept_one(lfd);
    CHECK_EQ_INT(close(r.fd), 0);
  }

  /* From the delay timer while a pending attempt runs: it is closed. */
  fl__sockaddr addrs[2] = {bh.addr, ok};
  fl__connector c;
  result r = {0};
  fl__loop_update_time(loop);
  CHECK_EQ_INT(fl__connect_start(loop, &c, addrs, 2, 20, on_connect, &r), 0);
  spin(loop, &r.calls, 5000);
  CHECK_EQ_INT(r.calls, 1);
  CHECK_EQ_INT(r.err, 0);
  CHECK(same_addr(&r.remote, &ok));
  CHECK_EQ_INT(r.fds_in_cb, base + 1);
  accept_one(lfd);
  CHECK_EQ_INT(close(r.fd), 0);

  /* Cancelled before the report: the connected fd is closed, no callback. */
  memset(&r, 0, sizeof r);
  CHECK_EQ_INT(fl__connect_start(loop, &c, &ok, 1, 250, on_connect, &r), 0);
  CHECK_EQ_INT(fl_test_count_fds(), base + 1);
  fl__connect_cancel(&c);
  CHECK_EQ_INT(fl_test_count_fds(), base);
  spin(loop, NULL, 30);
  CHECK_EQ_INT(r.calls, 0);
  accept_one(lfd);

  sync_port = 0;
  blackhole_close(&bh);
  CHECK_EQ_INT(close(lfd), 0);
}

static void test_invalid(fl_loop *loop) {
  fl__sockaddr addr;
  set_addr(&addr, AF_INET, "127.0.0.1", 1);
  fl__connector c;
  result r = {0};
  CHECK_EQ_INT(fl__connect_start(loop, &c, &addr, 0, 50, on_connect, &r), FL_EINVAL);
  CHECK_EQ_INT(c.fd, -1);
  fl__connect_cancel(&c); /* harmless after a failed start */
  CHECK_EQ_INT(fl__connect_start(loop, &c, NULL, 1, 50, on_connect, &r), FL_EINVAL);
  CHECK_EQ_INT(fl__connect_start(loop, &c, &addr, 1, 50, NULL, &r), FL_EINVAL);
  spin(loop, NULL, 20);
  CHECK_EQ_INT(r.calls, 0);
}

int main(void) {
  FL_TEST_BEGIN();
  fl_loop *loop = fl_loop_new();
  CHECK(loop);
  int v6 = have_v6();
  if (!v6) printf("skip: IPv6 loopback unavailable, IPv6 cases skipped\n");

  test_invalid(loop);
  test_success(loop, AF_INET);
  test_refused(loop, AF_INET);
  test_refused_then_success(loop, AF_INET, AF_INET);
  test_blackhole_then_success(loop, AF_INET, AF_INET, 0);
  test_blackhole_then_success(loop, AF_INET, AF_INET, 1);
  test_cancel(loop);
  test_free_in_callback(loop);
  test_all_fail(loop, v6);
  test_unreachable(loop, AF_INET);
  test_immediate_success(loop);
  if (v6) {
    test_success(loop, AF_INET6);
    test_refused(loop, AF_INET6);
    test_refused_then_success(loop, AF_INET6, AF_INET);
    test_blackhole_then_success(loop, AF_INET6, AF_INET, 0);
    test_unreachable(loop, AF_INET6);
  }
  test_cap(loop);

  CHECK_EQ_INT(fl_loop_free(loop), 0);
  FL_TEST_END();
}
