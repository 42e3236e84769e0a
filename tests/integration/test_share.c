/* fl_share: 8 threads, each with its own loop and client, sending 100
 * requests each to one TLS origin (nginx_tls) through one share. One DNS
 * lookup in total (the others join it or hit the cache), and every
 * connection opened after some request completed (so after a handshake,
 * whose session tickets arrived before that response) resumes a session.
 * Also: a name looked up through dnsmasq once for 8 threads; a share freed
 * while a client uses it is refused; fl_map_threads and its share. Meant
 * for the TSan build too (label tsan). */
/* FIXTURES: nginx_tls dnsmasq */
/* LABELS: tsan */
/* TIMEOUT: 180 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flurry.h"
#include "test.h"

enum { THREADS = 8, PER_THREAD = 100, CLOSE_EVERY = 4 };

static char ca[4200];
static char dns_servers[64];
static int tls_port, tls12_port;
static atomic_int any_done; /* some request completed: a handshake (and its tickets) is behind us */

typedef struct worker {
  pthread_t tid;
  fl_share *share;
  const char *host;
  int port;
  int insecure;
  int nreq;
  pthread_barrier_t *start;
  /* results, read by the main thread after join */
  int ok, failed;
  int new_conns, full_after, resumed_after, full_before;
  int first_err;
  char errmsg[256];
} worker;

static void *work(void *arg) {
  worker *w = arg;
  fl_loop *loop = fl_loop_new();
  CHECK(loop);
  fl_client_options o;
  fl_client_options_init(&o);
  o.share = w->share;
  o.ca_file = w->insecure ? NULL : ca;
  o.insecure = w->insecure;
  o.dns_servers = dns_servers; /* never the machine's resolver */
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  char url[256];
  snprintf(url, sizeof url, "https://%s:%d/hello", w->host, w->port);
  pthread_barrier_wait(w->start);
  for (int i = 0; i < w->nreq; i++) {
    fl_request *req = fl_request_new("GET", url);
    CHECK(req);
    /* Every CLOSE_EVERY-th response closes its connection: the next
     * request opens a new one. */
    if (i % CLOSE_EVERY == CLOSE_EVERY - 1) fl_request_set_header(req, "Connection", "close");
    int after = atomic_load(&any_done);
    int err = fl_request_perform(c, req);
    if (err == 0 && fl_response_status(fl_request_response(req)) == 200) {
      w->ok++;
      atomic_store(&any_done, 1);
    } else {
      if (!w->failed++) {
        w->first_err = err;
        snprintf(w->errmsg, sizeof w->errmsg, "%s", fl_request_errmsg(req));
      }
    }
    const fl_info *in = fl_request_info(req);
    if (in->num_connects) {
      w->new_conns++;
      if (!after) /* may resume already: another thread's handshake may be done */
        w->full_before += !in->tls_resumed;
      else if (in->tls_resumed)
        w->resumed_after++;
      else
        w->full_after++;
    }
    fl_request_free(req);
  }
  fl_client_free(c);
  CHECK_EQ_INT(fl_loop_free(loop), 0);
  return NULL;
}

static void run_threads(fl_share *share, const char *host, int port, int insecure, int nreq,
                        worker *w) {
  pthread_barrier_t start;
  CHECK_EQ_INT(pthread_barrier_init(&start, NULL, THREADS), 0);
  atomic_store(&any_done, 0);
  for (int t = 0; t < THREADS; t++) {
    memset(&w[t], 0, sizeof w[t]);
    w[t].share = share;
    w[t].host = host;
    w[t].port = port;
    w[t].insecure = insecure;
    w[t].nreq = nreq;
    w[t].start = &start;
    CHECK_EQ_INT(pthread_create(&w[t].tid, NULL, work, &w[t]), 0);
  }
  for (int t = 0; t < THREADS; t++) CHECK_EQ_INT(pthread_join(w[t].tid, NULL), 0);
  pthread_barrier_destroy(&start);
  for (int t = 0; t < THREADS; t++)
    if (w[t].failed) {
      fprintf(stderr, "thread %d: %d failed, first %s: %s\n", t, w[t].failed,
              fl_err_name(w[t].first_err), w[t].errmsg);
      CHECK(0);
    }
}

/* 8 threads x 100 requests to one TLS origin through one share. */
static void test_tls_origin(const char *what, int port) {
  worker w[THREADS];
  /* localhost comes from /etc/hosts with TTL 0, which the cache would keep
   * 1 s (the minimum): keep it for the whole test, however slow the machine. */
  fl_share_options so;
  fl_share_options_init(&so);
  so.dns_ttl_min_ms = 600000;
  fl_share *share = fl_share_new(&so);
  CHECK(share);
  run_threads(share, "localhost", port, 0, PER_THREAD, w);
  int ok = 0, conns = 0, full_before = 0, full_after = 0, resumed_after = 0;
  for (int t = 0; t < THREADS; t++) {
    ok += w[t].ok;
    conns += w[t].new_conns;
    full_before += w[t].full_before;
    full_after += w[t].full_after;
    resumed_after += w[t].resumed_after;
  }
  fl_dns_stats ds;
  fl_share_dns_stats(share, &ds);
  printf("%s: %d requests, %d connections: %d full handshakes before the first response, "
         "%d after it, %d resumed; DNS: %llu lookup(s), %llu joined, %llu hits\n",
         what, ok, conns, full_before, full_after, resumed_after, (unsigned long long)ds.lookups,
         (unsigned long long)ds.joined, (unsigned long long)ds.hits);
  CHECK_EQ_INT(ok, THREADS * PER_THREAD);
  /* Each thread's first connection, plus one per CLOSE_EVERY requests. */
  CHECK(conns >= THREADS * (PER_THREAD / CLOSE_EVERY));
  CHECK_EQ_INT(full_after, 0);
  CHECK(full_before >= 1 && full_before <= THREADS);
  CHECK(full_before + resumed_after + full_after <= conns);
  CHECK(resumed_after >= conns - THREADS); /* all but (at most) each thread's first */
  CHECK_EQ_INT((int)ds.lookups, 1);
  CHECK_EQ_INT((int)(ds.hits + ds.misses), conns); /* one question per new connection */
  CHECK_EQ_INT((int)ds.joined, (int)ds.misses - 1);
  CHECK_EQ_INT((int)ds.in_flight, 0);
  CHECK(ds.entries == 1);
  CHECK(fl_share_tls_sessions(share) > 0);
  CHECK_EQ_INT(fl_share_free(share), 0);
}

/* A name only dnsmasq knows, asked by 8 threads at once: one query. */
static void test_dnsmasq_once(void) {
  worker w[THREADS];
  fl_share *share = fl_share_new(NULL);
  CHECK(share);
  run_threads(share, "a.test", tls_port, 1, 2, w);
  fl_dns_stats ds;
  fl_share_dns_stats(share, &ds);
  printf("a.test from 8 threads: %llu lookup(s), %llu joined, %llu hits\n",
         (unsigned long long)ds.lookups, (unsigned long long)ds.joined,
         (unsigned long long)ds.hits);
  CHECK_EQ_INT((int)ds.lookups, 1);
  CHECK_EQ_INT((int)ds.misses, (int)ds.joined + 1);
  CHECK(ds.misses + ds.hits >= THREADS);
  /* Flushed: the next client asks again. */
  CHECK_EQ_INT(fl_share_flush_dns(share), 0);
  fl_share_dns_stats(share, &ds);
  CHECK_EQ_INT((int)ds.entries, 0);
  CHECK_EQ_INT(fl_share_free(share), 0);
}

/* Freeing a share a client still uses: refused (FL_EINVAL) by a release
 * build of the library, an abort with a message in a debug build. */
static void test_free_in_use(void) {
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    fl_share *share = fl_share_new(NULL);
    fl_loop *loop = fl_loop_new();
    fl_client_options o;
    fl_client_options_init(&o);
    o.share = share;
    fl_client *c = fl_client_new(loop, &o);
    if (!share || !loop || !c) _exit(3);
    if (fl_share_free(share) != FL_EINVAL) _exit(4);
    fl_client_free(c);
    if (fl_share_free(share) != 0) _exit(5);
    fl_loop_free(loop);
    _exit(0);
  }
  int st;
  CHECK_EQ_INT(waitpid(pid, &st, 0), pid);
  CHECK((WIFEXITED(st) && WEXITSTATUS(st) == 0) || (WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT));
}

/* fl_map_threads shares one DNS lookup across its threads (its own share). */
static void test_map_threads(void) {
  enum { N = 64 };
  const char *urls[N];
  char url[256];
  snprintf(url, sizeof url, "https://a.test:%d/hello", tls_port);
  for (int i = 0; i < N; i++) urls[i] = url;
  fl_request *res[N];
  fl_client_options o;
  fl_client_options_init(&o);
  o.insecure = 1;
  o.dns_servers = dns_servers;
  fl_share *share = fl_share_new(NULL);
  CHECK(share);
  o.share = share;
  CHECK_EQ_INT(fl_map_threads(urls, N, 4, 2, &o, res), 0);
  for (int i = 0; i < N; i++) {
    CHECK_EQ_INT(fl_response_status(fl_request_response(res[i])), 200);
    fl_request_free(res[i]);
  }
  fl_dns_stats ds;
  fl_share_dns_stats(share, &ds);
  CHECK_EQ_INT((int)ds.lookups, 1);
  CHECK_EQ_INT(fl_share_free(share), 0);
  /* Without options: a share of its own, freed before it returns. */
  o.share = NULL;
  CHECK_EQ_INT(fl_map_threads(urls, 8, 4, 1, &o, res), 0);
  for (int i = 0; i < 8; i++) fl_request_free(res[i]);
}

int main(void) {
  FL_TEST_BEGIN();
  tls_port = fl_test_server_port("nginx_tls");
  tls12_port = fl_test_server_port("nginx_tls.tls12");
  snprintf(ca, sizeof ca, "%s/ca.pem", fl_test_rundir_path("nginx_tls"));
  snprintf(dns_servers, sizeof dns_servers, "127.0.0.1:%d", fl_test_server_port("dnsmasq"));
  test_free_in_use();
  test_tls_origin("TLS 1.3", tls_port);
  test_tls_origin("TLS 1.2", tls12_port);
  test_dnsmasq_once();
  test_map_threads();
  FL_TEST_END();
}
