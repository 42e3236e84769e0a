/* FIXTURES: dnsmasq */
/* The resolver against the dnsmasq fixture (records: a.test 127.0.0.1 TTL
 * 600, six.test ::1, dual.test 127.0.0.1 + ::1, ttl2.test TTL 2, many.test
 * three addresses, other *.test NXDOMAIN, *.fail.test SERVFAIL, *.timeout.test
 * never answered), and against a black-hole UDP socket for timeouts. No
 * query leaves the loopback. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/dns.h"
#include "loop/loop.h"
#include "test.h"

static fl_loop *loop;
static char dns_servers[64];
static int in_resolve; /* set while fl__dns_resolve runs */
static int ncalls;     /* callbacks so far */

typedef struct waiter {
  fl__dns_req req;
  int done;
  int seq;               /* ncalls when it fired */
  fl__resolver *free_me; /* freed from inside the callback */
} waiter;

static void on_done(fl__dns_req *req) {
  waiter *w = req->data;
  CHECK(!in_resolve); /* never from inside the call that started it */
  CHECK(&w->req == req);
  CHECK(req->entry == NULL);
  w->done++;
  w->seq = ncalls++;
  fl_loop_stop(loop); /* let run_until look at its condition */
  if (w->free_me) fl__resolver_free(w->free_me);
}

static int start(fl__resolver *r, waiter *w, const char *host, uint16_t port) {
  int rc;
  memset(w, 0, sizeof *w);
  in_resolve = 1;
  rc = fl__dns_resolve(r, &w->req, host, port, on_done, w);
  in_resolve = 0;
  CHECK(rc == 0 || rc == 1);
  return rc;
}

/* ------------------------------------------------------- running the loop */
static void expire(fl_timer *t, void *data) {
  FL__UNUSED(t);
  *(int *)data = 1;
}

typedef int (*pred_fn)(void *arg);

/* Run the loop until pred(arg) holds or ms pass; returns the elapsed ms. A
 * user timer holds the loop alive (DNS lookups alone do not). */
static uint64_t run_until(pred_fn pred, void *arg, uint64_t ms) {
  fl_timer *t = fl_timer_new(loop);
  int expired = 0;
  uint64_t t0 = fl__now_us();
  CHECK(t != NULL);
  CHECK_EQ_INT(fl_timer_start(t, ms, 0, expire, &expired), 0);
  while (!(pred && pred(arg)) && !expired) fl_loop_run(loop, FL_RUN_ONCE);
  fl_timer_free(t);
  return (fl__now_us() - t0) / 1000;
}

static int calls_reached(void *arg) { return ncalls >= *(int *)arg; }

static uint64_t wait_calls(int n) {
  int target = ncalls + n;
  /* Only a bound against hanging: a loaded machine may answer slowly. */
  uint64_t ms = run_until(calls_reached, &target, 20000);
  CHECK(ncalls >= target);
  return ms;
}

static int nothing_in_flight(void *arg) {
  fl__dns_stats st;
  fl__resolver_stats(arg, &st);
  return st.in_flight == 0;
}

/* ---------------------------------------------------------------- helpers */
static const char *addr_str(const fl__dns_req *req, size_t i, uint16_t *port) {
  static char buf[4][64];
  static int k;
  char *b = buf[k++ % 4];
  uint16_t p;
  CHECK(i < req->naddrs);
  p = fl__sockaddr_str(&req->addrs[i], b, 64);
  if (port) *port = p;
  return b;
}

static fl__resolver_options opts(void) {
  fl__resolver_options o;
  memset(&o, 0, sizeof o);
  o.servers = dns_servers;
  /* c-ares resends a query after a third of this: long, so that a loaded
   * machine neither times a lookup out nor sends it twice (test_coalesce
   * counts the queries dnsmasq saw). */
  o.timeout_ms = 10000;
  o.ttl_min_ms = 1000;
  o.ttl_max_ms = 300000;
  o.negative_ttl_ms = 2000;
  return o;
}

static fl__resolver *resolver(const fl__resolver_options *o) {
  fl__resolver *r = NULL;
  char err[256] = "";
  int rc = fl__resolver_new(loop, o, &r, err, sizeof err);
  if (rc) fprintf(stderr, "fl__resolver_new: %d: %s\n", rc, err);
  CHECK_EQ_INT(rc, 0);
  return r;
}

static fl__dns_stats stats(fl__resolver *r) {
  fl__dns_stats st;
  fl__resolver_stats(r, &st);
  return st;
}

/* Resolve through the loop and expect success. */
static void resolve_ok(fl__resolver *r, waiter *w, const char *host, uint16_t port) {
  CHECK_EQ_INT(start(r, w, host, port), 1);
  CHECK_EQ_INT(w->done, 0);
  wait_calls(1);
  CHECK_EQ_INT(w->done, 1);
  if (w->req.err) fprintf(stderr, "%s: %d %s\n", host, w->req.err, w->req.errmsg);
  CHECK_EQ_INT(w->req.err, 0);
  CHECK_EQ_INT(w->req.cache_hit, 0);
  CHECK(w->req.naddrs > 0);
}

/* A UDP socket on 127.0.0.1 that never reads. */
static int sink_fd = -1;
static char sink_servers[64];

static void sink_open(void) { sink_fd = fl_test_udp_sink_open(sink_servers, sizeof sink_servers); }

/* Number of datagrams that reached the sink (drains it). */
static int sink_drain(void) { return fl_test_udp_sink_drain(sink_fd); }

/* Lines "query[A] NAME from ..." in the fixture's query log, or -1 when
 * there is no log (dnsmasq started by hand). */
static int logged_queries(const char *name) {
  char line[512], want[300];
  int n = 0;
  const char *dir = getenv("FL_TEST_RUNDIR");
  FILE *f;
  if (!dir) return -1;
  f = fopen(fl_test_rundir_path("dnsmasq.queries.log"), "r");
  if (!f) return -1;
  snprintf(want, sizeof want, "query[A] %s from ", name);
  while (fgets(line, sizeof line, f)) n += strstr(line, want) != NULL;
  fclose(f);
  return n;
}

/* ------------------------------------------------------------------ tests */
static void test_records(void) {
  fl__resolver_options o = opts();
  fl__resolver *r = resolver(&o);
  waiter w;
  uint16_t port;
  int seen[4] = {0, 0, 0, 0};
  size_t i;

  resolve_ok(r, &w, "a.test", 80);
  CHECK_EQ_INT(w.req.naddrs, 1);
  CHECK_EQ_STR(addr_str(&w.req, 0, &port), "127.0.0.1");
  CHECK_EQ_INT(port, 80);

  /* second lookup: the cache answers at once, with this request's port */
  CHECK_EQ_INT(start(r, &w, "a.test", 443), 0);
  CHECK_EQ_INT(w.req.err, 0);
  CHECK_EQ_INT(w.req.cache_hit, 1);
  CHECK_EQ_STR(addr_str(&w.req, 0, &port), "127.0.0.1");
  CHECK_EQ_INT(port, 443);
  CHECK_EQ_INT(start(r, &w, "A.Test", 8080), 0); /* case-insensitive */
  CHECK_EQ_INT(w.req.cache_hit, 1);
  CHECK_EQ_INT(stats(r).queries, 1);
  CHECK_EQ_INT(stats(r).cache_hits, 2);

  resolve_ok(r, &w, "six.test", 443);
  CHECK_EQ_INT(w.req.naddrs, 1);
  CHECK_EQ_STR(addr_str(&w.req, 0, &port), "::1");
  CHECK_EQ_INT(port, 443);

  resolve_ok(r, &w, "dual.test", 8443);
  CHECK_EQ_INT(w.req.naddrs, 2);
  CHECK_EQ_STR(addr_str(&w.req, 0, &port), "::1"); /* Happy Eyeballs: IPv6 first */
  CHECK_EQ_INT(port, 8443);
  CHECK_EQ_STR(addr_str(&w.req, 1, &port), "127.0.0.1");
  CHECK_EQ_INT(port, 8443);

  resolve_ok(r, &w, "many.test", 1);
  CHECK_EQ_INT(w.req.naddrs, 3);
  for (i = 0; i < 3; i++) {
    const char *s = addr_str(&w.req, i, &port);
    CHECK_EQ_INT(port, 1);
    CHECK(strncmp(s, "127.0.0.", 8) == 0 && s[8] >= '1' && s[8] <= '3' && !s[9]);
    seen[s[8] - '0']++;
  }
  CHECK(seen[1] == 1 && seen[2] == 1 && seen[3] == 1);
  CHECK_EQ_INT(stats(r).queries, 4);
  fl__dns_cancel(r, &w.req); /* three addresses: an array to give back */
  fl__resolver_free(r);
}

static void test_failures(void) {
  fl__resolver_options o = opts();
  fl__resolver *r = resolver(&o);
  waiter w;

  /* NXDOMAIN */
  CHECK_EQ_INT(start(r, &w, "nx.test", 80), 1);
  wait_calls(1);
  CHECK_EQ_INT(w.req.err, FL_ERESOLVE);
  CHECK_EQ_STR(w.req.errmsg, "could not resolve host: nx.test");
  CHECK_EQ_INT(w.req.naddrs, 0);
  /* negative cache: same error at once */
  CHECK_EQ_INT(start(r, &w, "NX.test", 80), 0);
  CHECK_EQ_INT(w.req.err, FL_ERESOLVE);
  CHECK_EQ_STR(w.req.errmsg, "could not resolve host: nx.test");
  CHECK_EQ_INT(stats(r).negative_hits, 1);

  /* the server refuses: a server failure, also cached */
  CHECK_EQ_INT(start(r, &w, "x.fail.test", 80), 1);
  wait_calls(1);
  if (w.req.err != FL_EDNS_SERVER_FAIL)
    fprintf(stderr, "x.fail.test: %d %s\n", w.req.err, w.req.errmsg);
  CHECK_EQ_INT(w.req.err, FL_EDNS_SERVER_FAIL);
  CHECK(strstr(w.req.errmsg, "x.fail.test") != NULL);
  CHECK_EQ_INT(start(r, &w, "x.fail.test", 80), 0);
  CHECK_EQ_INT(w.req.err, FL_EDNS_SERVER_FAIL);
  CHECK_EQ_INT(stats(r).negative_hits, 2);
  CHECK_EQ_INT(stats(r).queries, 2);
  fl__resolver_free(r);

  /* negative_ttl 0: no negative caching */
  o.negative_ttl_ms = 0;
  r = resolver(&o);
  CHECK_EQ_INT(start(r, &w, "nx.test", 80), 1);
  wait_calls(1);
  CHECK_EQ_INT(w.req.err, FL_ERESOLVE);
  CHECK_EQ_INT(start(r, &w, "nx.test", 80), 1);
  wait_calls(1);
  CHECK_EQ_INT(w.req.err, FL_ERESOLVE);
  CHECK_EQ_INT(stats(r).queries, 2);
  CHECK_EQ_INT(stats(r).negative_hits, 0);
  fl__resolver_free(r);

  /* negative entries expire */
  o.negative_ttl_ms = 100;
  r = resolver(&o);
  CHECK_EQ_INT(start(r, &w, "nx.test", 80), 1);
  wait_calls(1);
  CHECK_EQ_INT(start(r, &w, "nx.test", 80), 0);
  run_until(NULL, NULL, 150);
  CHECK_EQ_INT(start(r, &w, "nx.test", 80), 1);
  wait_calls(1);
  CHECK_EQ_INT(w.req.err, FL_ERESOLVE);
  fl__resolver_free(r);
}

/* A lookup given timeout_ms 300 ends after 300 ms, not at the resolver's
 * 5 s default: the ceiling lies between the two, far from 300 ms, because a
 * loaded machine (ASan, valgrind, ctest -j) answers a 300 ms timer late. */
#define TIMEOUT_CEIL_MS 4000

static void test_timeout(void) {
  fl__resolver_options o = opts();
  fl__resolver *r;
  waiter w, w2;
  uint64_t ms;

  o.servers = sink_servers;
  o.timeout_ms = 300;
  r = resolver(&o);
  CHECK_EQ_INT(start(r, &w, "a.test", 80), 1);
  ms = wait_calls(1);
  CHECK_EQ_INT(w.req.err, FL_EDNS_TIMEOUT);
  CHECK(strstr(w.req.errmsg, "a.test") != NULL);
  CHECK(strstr(w.req.errmsg, "timeout") != NULL);
  if (ms < 250 || ms >= TIMEOUT_CEIL_MS)
    fprintf(stderr, "timeout after %llu ms\n", (unsigned long long)ms);
  CHECK(ms >= 250 && ms < TIMEOUT_CEIL_MS);
  CHECK(sink_drain() > 0); /* the queries did go to the sink */

  /* timeouts are not cached: a new lookup, and its own deadline */
  CHECK_EQ_INT(start(r, &w, "a.test", 80), 1);
  CHECK_EQ_INT(start(r, &w2, "a.test", 81), 1); /* joins it */
  ms = wait_calls(2);
  CHECK_EQ_INT(w.req.err, FL_EDNS_TIMEOUT);
  CHECK_EQ_INT(w2.req.err, FL_EDNS_TIMEOUT);
  CHECK(w.seq < w2.seq);
  CHECK(ms >= 250 && ms < TIMEOUT_CEIL_MS);
  CHECK_EQ_INT(stats(r).queries, 2);
  CHECK_EQ_INT(stats(r).joined, 1);
  CHECK_EQ_INT(stats(r).negative_hits, 0);
  /* c-ares gives up on its own soon after; nothing leaks either way */
  run_until(nothing_in_flight, r, 10000);
  CHECK_EQ_INT(stats(r).in_flight, 0);
  CHECK_EQ_INT(stats(r).sockets, 0);
  fl__resolver_free(r);
  sink_drain();

  /* a server that forwards to an upstream that never answers */
  o = opts();
  o.timeout_ms = 300;
  r = resolver(&o);
  CHECK_EQ_INT(start(r, &w, "x.timeout.test", 80), 1);
  ms = wait_calls(1);
  CHECK_EQ_INT(w.req.err, FL_EDNS_TIMEOUT);
  CHECK(ms >= 250 && ms < TIMEOUT_CEIL_MS);
  fl__resolver_free(r);
}

static void test_ttl(void) {
  fl__resolver_options o = opts();
  fl__resolver *r;
  waiter w;
  uint64_t t0;

  o.ttl_min_ms = 0;
  r = resolver(&o);
  resolve_ok(r, &w, "ttl2.test", 80);
  t0 = fl__loop_now(loop);
  CHECK_EQ_INT(start(r, &w, "ttl2.test", 80), 0);
  CHECK_EQ_INT(w.req.cache_hit, 1);
  /* dual.test carries TTL 0: with ttl_min 0 it is not kept at all */
  resolve_ok(r, &w, "dual.test", 80);
  CHECK_EQ_INT(start(r, &w, "dual.test", 80), 1);
  wait_calls(1);
  CHECK_EQ_INT(w.req.err, 0);
  CHECK_EQ_INT(stats(r).queries, 3);

  /* Past ttl2's 2 s (what is left of it: a slow machine may have spent it). */
  if (fl__loop_now(loop) - t0 < 2100) run_until(NULL, NULL, 2100 - (fl__loop_now(loop) - t0));
  CHECK_EQ_INT(start(r, &w, "ttl2.test", 80), 1); /* expired: asks again */
  wait_calls(1);
  CHECK_EQ_INT(w.req.err, 0);
  CHECK_EQ_INT(stats(r).queries, 4);
  fl__resolver_free(r);
}

static void test_coalesce(void) {
  enum { N = 100 };
  static waiter ws[N];
  fl__resolver_options o = opts();
  fl__resolver *r = resolver(&o);
  int i, first = ncalls, logged = logged_queries("coalesce.test");
  uint16_t port;

  for (i = 0; i < N; i++) CHECK_EQ_INT(start(r, &ws[i], "coalesce.test", (uint16_t)(1000 + i)), 1);
  CHECK_EQ_INT(stats(r).queries, 1);
  CHECK_EQ_INT(stats(r).joined, N - 1);
  CHECK_EQ_INT(stats(r).in_flight, 1);
  wait_calls(N);
  for (i = 0; i < N; i++) {
    CHECK_EQ_INT(ws[i].done, 1);
    CHECK_EQ_INT(ws[i].seq, first + i); /* in arrival order */
    CHECK_EQ_INT(ws[i].req.err, 0);
    CHECK_EQ_STR(addr_str(&ws[i].req, 0, &port), "127.0.0.1");
    CHECK_EQ_INT(port, 1000 + i);
  }
  if (logged >= 0) { /* on the wire too: one A query (dnsmasq logs it soon after). A name
                      * no other test asks for: tests run in parallel on one dnsmasq */
    for (i = 0; i < 250 && logged_queries("coalesce.test") < logged + 1; i++)
      run_until(NULL, NULL, 20);
    run_until(NULL, NULL, 50);
    CHECK_EQ_INT(logged_queries("coalesce.test"), logged + 1);
  }
  fl__resolver_free(r);

  /* with the cache off there is still one query per name in flight */
  o.ttl_max_ms = 0;
  r = resolver(&o);
  for (i = 0; i < 10; i++) CHECK_EQ_INT(start(r, &ws[i], "a.test", 80), 1);
  wait_calls(10);
  CHECK_EQ_INT(stats(r).queries, 1);
  CHECK_EQ_INT(start(r, &ws[0], "a.test", 80), 1); /* nothing kept */
  wait_calls(1);
  CHECK_EQ_INT(ws[0].req.err, 0);
  CHECK_EQ_INT(stats(r).queries, 2);
  CHECK_EQ_INT(stats(r).cache_entries, 0);
  fl__resolver_free(r);
}

static void test_cancel(void) {
  fl__resolver_options o = opts();
  fl__resolver *r = resolver(&o);
  waiter w1, w2, w3, w4;

  CHECK_EQ_INT(start(r, &w1, "dual.test", 1), 1);
  CHECK_EQ_INT(start(r, &w2, "dual.test", 2), 1);
  CHECK_EQ_INT(start(r, &w3, "dual.test", 3), 1);
  fl__dns_cancel(r, &w2.req);
  wait_calls(2);
  run_until(NULL, NULL, 20);
  CHECK_EQ_INT(w1.done, 1);
  CHECK_EQ_INT(w2.done, 0);
  CHECK_EQ_INT(w3.done, 1);
  fl__dns_cancel(r, &w1.req); /* harmless after completion */

  /* every waiter gone: the lookup still completes and fills the cache */
  CHECK_EQ_INT(start(r, &w4, "six.test", 80), 1);
  fl__dns_cancel(r, &w4.req);
  CHECK_EQ_INT(stats(r).in_flight, 1);
  run_until(nothing_in_flight, r, 10000);
  CHECK_EQ_INT(w4.done, 0);
  CHECK_EQ_INT(start(r, &w4, "six.test", 80), 0);
  CHECK_EQ_INT(w4.req.cache_hit, 1);
  CHECK_EQ_INT(stats(r).queries, 2);
  fl__resolver_free(r);
}

static void test_free(void) {
  fl__resolver_options o = opts();
  fl__resolver *r = resolver(&o), *r2;
  waiter w[6];
  int before = ncalls;

  /* freed with lookups in flight (and one stuck on the sink) */
  CHECK_EQ_INT(start(r, &w[0], "a.test", 80), 1);
  CHECK_EQ_INT(start(r, &w[1], "many.test", 80), 1);
  CHECK_EQ_INT(start(r, &w[2], "nx.test", 80), 1);
  CHECK_EQ_INT(start(r, &w[3], "localhost", 80), 1); /* answered, not delivered */
  o.servers = sink_servers;
  r2 = resolver(&o);
  CHECK_EQ_INT(start(r2, &w[4], "a.test", 80), 1);
  CHECK(stats(r).sockets + stats(r2).sockets > 0);
  fl__resolver_free(r);
  fl__resolver_free(r2);
  run_until(NULL, NULL, 100);
  CHECK_EQ_INT(ncalls, before);
  sink_drain();

  /* freed from inside a callback: the other waiters hear nothing */
  o = opts();
  r = resolver(&o);
  CHECK_EQ_INT(start(r, &w[0], "dual.test", 80), 1);
  w[0].free_me = r;
  CHECK_EQ_INT(start(r, &w[1], "dual.test", 80), 1);
  CHECK_EQ_INT(start(r, &w[2], "dual.test", 80), 1);
  CHECK_EQ_INT(start(r, &w[3], "many.test", 80), 1);
  CHECK_EQ_INT(start(r, &w[5], "nx.test", 80), 1);
  wait_calls(1);
  run_until(NULL, NULL, 200);
  CHECK_EQ_INT(ncalls, before + 1);
  CHECK_EQ_INT(w[0].done, 1);
  CHECK_EQ_INT(w[1].done + w[2].done + w[3].done + w[5].done, 0);
}

/* A callback that starts the next lookup. */
static fl__resolver *chain_r;
static waiter chain_w[3];
static int chain_n;
static void chain_cb(fl__dns_req *req) {
  static const char *names[] = {"a.test", "six.test", "dual.test"};
  CHECK(!in_resolve);
  CHECK_EQ_INT(req->err, 0);
  ncalls++;
  fl_loop_stop(loop);
  if (++chain_n < 3) {
    in_resolve = 1;
    CHECK_EQ_INT(
        fl__dns_resolve(chain_r, &chain_w[chain_n].req, names[chain_n], 80, chain_cb, NULL), 1);
    in_resolve = 0;
  }
}

static void test_chain(void) {
  fl__resolver_options o = opts();
  chain_r = resolver(&o);
  memset(chain_w, 0, sizeof chain_w);
  CHECK_EQ_INT(fl__dns_resolve(chain_r, &chain_w[0].req, "a.test", 80, chain_cb, NULL), 1);
  wait_calls(3);
  CHECK_EQ_INT(chain_n, 3);
  CHECK_EQ_STR(addr_str(&chain_w[2].req, 0, NULL), "::1");
  fl__resolver_free(chain_r);
}

/* localhost never reaches a DNS server: the servers are the sink. */
static void test_localhost(void) {
  fl__resolver_options o = opts();
  fl__resolver *r;
  waiter w;
  uint16_t port;

  o.servers = sink_servers;
  o.timeout_ms = 300;
  r = resolver(&o);
  sink_drain();
  resolve_ok(r, &w, "localhost", 8080);
  CHECK_EQ_STR(addr_str(&w.req, w.req.naddrs - 1, &port), "127.0.0.1");
  CHECK_EQ_INT(port, 8080);
  CHECK_EQ_INT(start(r, &w, "localhost.", 80), 0);
  CHECK_EQ_INT(start(r, &w, "api.localhost", 80), 0);
  CHECK_EQ_STR(addr_str(&w.req, 0, NULL), "::1");
  CHECK_EQ_INT(sink_drain(), 0);
  CHECK_EQ_INT(stats(r).sockets, 0);
  fl__resolver_free(r);
}

int main(void) {
  FL_TEST_BEGIN();
  snprintf(dns_servers, sizeof dns_servers, "127.0.0.1:%d", fl_test_server_port("dnsmasq"));
  loop = fl_loop_new();
  CHECK(loop != NULL);
  sink_open();

  test_records();
  test_failures();
  test_timeout();
  test_coalesce();
  test_cancel();
  test_free();
  test_chain();
  test_localhost();
  test_ttl();

  CHECK_EQ_INT(fl_loop_free(loop), 0);
  close(sink_fd);
  FL_TEST_END();
}
