/* Minimal test support: assertions that report file:line, fd-leak checks,
 * and access to the servers the ctest fixtures started.
 *
 * A test program is `int main(void)` that calls FL_TEST_BEGIN(), runs its
 * checks, and ends with FL_TEST_END() (which fails on leaked fds). Each
 * program runs in its own process under ctest's timeout. */
#ifndef FL_TEST_H
#define FL_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                     \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
  do {                                                                                             \
    long long va_ = (long long)(a), vb_ = (long long)(b);                                          \
    if (va_ != vb_) {                                                                              \
      fprintf(stderr, "%s:%d: CHECK_EQ_INT failed: %s == %lld, %s == %lld\n", __FILE__, __LINE__,  \
              #a, va_, #b, vb_);                                                                   \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

#define CHECK_EQ_STR(a, b)                                                                         \
  do {                                                                                             \
    const char *sa_ = (a), *sb_ = (b);                                                             \
    if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                                                   \
      fprintf(stderr, "%s:%d: CHECK_EQ_STR failed: %s == \"%s\", %s == \"%s\"\n", __FILE__,        \
              __LINE__, #a, sa_ ? sa_ : "(null)", #b, sb_ ? sb_ : "(null)");                       \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

/* Number of open fds of this process (from /proc/self/fd). */
int fl_test_count_fds(void);
/* Port of a fixture server ("httpbin", "nginx", "nginx_tls", "dnsmasq"),
 * read from $FL_TEST_RUNDIR/<name>.port; exits with a message if absent. */
int fl_test_server_port(const char *name);
/* A black-hole DNS server: a UDP socket on 127.0.0.1 that never answers.
 * Returns its fd and writes "127.0.0.1:PORT" to servers. */
int fl_test_udp_sink_open(char *servers, size_t cap);
/* Datagrams that reached the sink since the last call (drains it). */
int fl_test_udp_sink_drain(int fd);
/* Path of a file in $FL_TEST_RUNDIR (static buffer). */
const char *fl_test_rundir_path(const char *file);

/* 1 if this machine can bind [::1] (the nginx fixture then also listens
 * on [::1] at the same port). */
int fl_test_ipv6_available(void);
/* Report "skipped: why" and end the test with exit code 77, which ctest
 * counts as skipped. */
void fl_test_skip(const char *why) __attribute__((noreturn));
#define FL_TEST_SKIP(why) fl_test_skip(why)

/* The scripted fault server (tests/support/fault_server.py), one per call,
 * on a free loopback port: returns its port (exits with a message if it does
 * not start within 10 s); stopped by fl_test_fault_stop or at exit. It is
 * also killed if the thread that started it dies (PR_SET_PDEATHSIG), so
 * start it from the main thread. Its stdout/stderr are the test's. */
int fl_test_fault_start(void);
/* Perform req on client and return it; exit the test (naming the request,
 * the error got and the one wanted) unless the result is expect. A failure
 * must explain itself: its message may not be empty. */
struct fl_client;
struct fl_request;
struct fl_request *fl_test_perform(struct fl_client *client, struct fl_request *req, int expect);
/* The same for a new GET of url (the caller frees the request). */
struct fl_request *fl_test_get(struct fl_client *client, const char *url, int expect);
/* Another script of tests/support/ that takes --port-file PATH (plus one
 * optional argument, e.g. "--user=u:p"), started and stopped the same way. */
int fl_test_script_start(const char *script, const char *extra_arg);
/* The scripted HTTP/2 server (support/h2_server.py): h2c, or with tls h2
 * by ALPN with the nginx_tls fixture's certificate (list that fixture). */
int fl_test_h2_server_start(int tls);
void fl_test_fault_stop(void);

extern int fl_test_fds_at_start_;
#define FL_TEST_BEGIN() (fl_test_fds_at_start_ = fl_test_count_fds())
#define FL_TEST_END()                                                                              \
  do {                                                                                             \
    fl_test_fault_stop();                                                                          \
    int fds_now_ = fl_test_count_fds();                                                            \
    if (fds_now_ != fl_test_fds_at_start_) {                                                       \
      fprintf(stderr, "fd leak: %d open at start, %d at end\n", fl_test_fds_at_start_, fds_now_);  \
      return 1;                                                                                    \
    }                                                                                              \
    printf("ok\n");                                                                                \
    return 0;                                                                                      \
  } while (0)

#endif
