/* DNS without the network: TTL arithmetic, Happy Eyeballs order, option
 * parsing, and the answers that come at once (literals, overrides, cache,
 * localhost names). DNS servers point at a UDP socket that the test holds
 * but never reads, so any query that slipped out would be seen there. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/dns.h"
#include "loop/loop.h"
#include "test.h"

static fl__sockaddr addr(const char *ip) {
  fl__sockaddr a;
  memset(&a, 0, sizeof a);
  if (inet_pton(AF_INET, ip, &a.in4.sin_addr) == 1) {
    a.in4.sin_family = AF_INET;
  } else {
    CHECK(inet_pton(AF_INET6, ip, &a.in6.sin6_addr) == 1);
    a.in6.sin6_family = AF_INET6;
  }
  return a;
}

static const char *str(const fl__sockaddr *a, uint16_t *port) {
  static char buf[8][64];
  static int i;
  char *b = buf[i++ % 8];
  uint16_t p = fl__sockaddr_str(a, b, 64);
  if (port) *port = p;
  return b;
}

/* A UDP socket on 127.0.0.1 that never reads: a black-hole DNS server. */
static int sink_fd = -1;
static char sink_servers[64];

static void sink_open(void) { sink_fd = fl_test_udp_sink_open(sink_servers, sizeof sink_servers); }

/* Number of datagrams that reached the sink (drains it). */
static int sink_drain(void) { return fl_test_udp_sink_drain(sink_fd); }

static fl__resolver_options base_opts(void) {
  fl__resolver_options o;
  memset(&o, 0, sizeof o);
  o.servers = sink_servers;
  o.timeout_ms = 5000;
  o.ttl_min_ms = 1000;
  o.ttl_max_ms = 300000;
  o.negative_ttl_ms = 2000;
  return o;
}

static fl__resolver *new_resolver(fl_loop *loop, const fl__resolver_options *o) {
  fl__resolver *r = NULL;
  char err[256];
  int rc = fl__resolver_new(loop, o, &r, err, sizeof err);
  if (rc != 0) fprintf(stderr, "fl__resolver_new: %d %s\n", rc, err);
  CHECK_EQ_INT(rc, 0);
  CHECK(r != NULL);
  return r;
}

static void test_lifetime(void) {
  fl__resolver_options o;
  memset(&o, 0, sizeof o);
  o.ttl_min_ms = 1000;
  o.ttl_max_ms = 300000;
  CHECK_EQ_INT(fl__dns_cache_lifetime_ms(&o, 0), 1000);
  CHECK_EQ_INT(fl__dns_cache_lifetime_ms(&o, 1), 1000);
  CHECK_EQ_INT(fl__dns_cache_lifetime_ms(&o, 5), 5000);
  CHECK_EQ_INT(fl__dns_cache_lifetime_ms(&o, 300), 300000);
  CHECK_EQ_INT(fl__dns_cache_lifetime_ms(&o, 600), 300000);
  CHECK_EQ_INT(fl__dns_cache_lifetime_ms(&o, UINT32_MAX), 300000); /* no overflow */
  o.ttl_min_ms = 0;
  CHECK_EQ_INT(fl__dns_cache_lifetime_ms(&o, 0), 0);
  CHECK_EQ_INT(fl__dns_cache_lifetime_ms(&o, 2), 2000);
  o.ttl_max_ms = 0; /* cache disabled */
  CHECK_EQ_INT(fl__dns_cache_lifetime_ms(&o, 60), 0);
  o.ttl_min_ms = 5000; /* min above max: max wins */
  o.ttl_max_ms = 2000;
  CHECK_EQ_INT(fl__dns_cache_lifetime_ms(&o, 1), 2000);
  o.ttl_max_ms = UINT32_MAX;
  CHECK_EQ_INT(fl__dns_cache_lifetime_ms(&o, UINT32_MAX), UINT32_MAX);
}

static void test_order(void) {
  fl__sockaddr in[8], out[8];
  size_t n;

  in[0] = addr("10.0.0.1");
  in[1] = addr("10.0.0.2");
  in[2] = addr("2001:db8::1");
  in[3] = addr("2001:db8::2");
  in[4] = addr("10.0.0.3");
  n = fl__dns_order_addrs(out, 8, in, 5);
  CHECK_EQ_INT(n, 5);
  CHECK_EQ_STR(str(&out[0], NULL), "2001:db8::1");
  CHECK_EQ_STR(str(&out[1], NULL), "10.0.0.1");
  CHECK_EQ_STR(str(&out[2], NULL), "2001:db8::2");
  CHECK_EQ_STR(str(&out[3], NULL), "10.0.0.2");
  CHECK_EQ_STR(str(&out[4], NULL), "10.0.0.3");

  /* capped */
  n = fl__dns_order_addrs(out, 3, in, 5);
  CHECK_EQ_INT(n, 3);
  CHECK_EQ_STR(str(&out[2], NULL), "2001:db8::2");

  /* one family keeps its order; duplicates go */
  in[0] = addr("10.0.0.9");
  in[1] = addr("10.0.0.1");
  in[2] = addr("10.0.0.9");
  in[3] = addr("10.0.0.5");
  n = fl__dns_order_addrs(out, 8, in, 4);
  CHECK_EQ_INT(n, 3);
  CHECK_EQ_STR(str(&out[0], NULL), "10.0.0.9");
  CHECK_EQ_STR(str(&out[1], NULL), "10.0.0.1");
  CHECK_EQ_STR(str(&out[2], NULL), "10.0.0.5");

  /* IPv6 only, and more IPv6 than IPv4 */
  in[0] = addr("::1");
  in[1] = addr("::2");
  in[2] = addr("::3");
  in[3] = addr("127.0.0.1");
  n = fl__dns_order_addrs(out, 8, in, 4);
  CHECK_EQ_INT(n, 4);
  CHECK_EQ_STR(str(&out[0], NULL), "::1");
  CHECK_EQ_STR(str(&out[1], NULL), "127.0.0.1");
  CHECK_EQ_STR(str(&out[2], NULL), "::2");
  CHECK_EQ_STR(str(&out[3], NULL), "::3");
  CHECK_EQ_INT(fl__dns_order_addrs(out, 8, in, 0), 0);
}

static void expect_bad_options(fl_loop *loop, const char *servers, const char *override,
                               const char *want_in_msg) {
  fl__resolver_options o = base_opts();
  const char *list[2] = {override, NULL};
  fl__resolver *r = (fl__resolver *)&o; /* must be reset to NULL */
  char err[256];
  o.servers = servers;
  o.resolve = override ? list : NULL;
  memset(err, 0, sizeof err);
  CHECK_EQ_INT(fl__resolver_new(loop, &o, &r, err, sizeof err), FL_EINVAL);
  CHECK(r == NULL);
  if (!strstr(err, want_in_msg)) fprintf(stderr, "message \"%s\" lacks \"%s\"\n", err, want_in_msg);
  CHECK(strstr(err, want_in_msg) != NULL);
}

static void test_bad_options(fl_loop *loop) {
  static const char *bad_overrides[] = {
      "nohost",    ":80:1.2.3.4",   "h::1.2.3.4",       "h:99999:1.2.3.4", "h:80:",
      "h:80:bad",  "h:80:1.2.3.4,", "h:80:[1.2.3.4]",   "h:x:1.2.3.4",     "h:80:1.2.3.4,,::1",
      "h:80:[::1", "h:8080",        "h:123456:1.2.3.4", "h:80:1.2.3.4.5",  "h:80:1.2.3.4 ",
      NULL};
  static const char *bad_servers[] = {
      "",         "1.2.3.4:",   "1.2.3.4:0",   "1.2.3.4:65536",    "abc",
      "[::1",     "[::1]x",     "[::1]:",      "1.2.3.4,,5.6.7.8", "[1.2.3.4]:53",
      " 1.2.3.4", "1.2.3.4:5x", "1.2.3.4:53,", "localhost",        NULL};
  size_t i;
  for (i = 0; bad_overrides[i]; i++)
    expect_bad_options(loop, NULL, bad_overrides[i], bad_overrides[i]);
  for (i = 0; bad_servers[i]; i++) expect_bad_options(loop, bad_servers[i], NULL, "DNS server");
  /* a good override next to a bad server still fails, and vice versa */
  expect_bad_options(loop, "1.2.3.4:x", "h:80:1.2.3.4", "DNS server");
  expect_bad_options(loop, sink_servers, "h:80", "override");
}

static void test_good_servers(fl_loop *loop) {
  static const char *good[] = {"127.0.0.1", "127.0.0.1:5353,[::1]:53,::1", "[::1]",
                               "192.0.2.1:65535", NULL};
  size_t i;
  for (i = 0; good[i]; i++) {
    fl__resolver_options o = base_opts();
    o.servers = good[i];
    fl__resolver_free(new_resolver(loop, &o));
  }
}

static int calls;
static void count_cb(fl__dns_req *req) {
  FL__UNUSED(req);
  calls++;
}

static void test_literals_and_overrides(fl_loop *loop) {
  const char *ovr[] = {"Example.COM:443:192.0.2.7,[2001:db8::7],2001:db8::8",
                       "v4only.test:80:192.0.2.1", NULL};
  fl__resolver_options o = base_opts();
  fl__resolver *r;
  fl__dns_req req;
  fl__dns_stats st;
  uint16_t port;

  o.resolve = ovr;
  r = new_resolver(loop, &o);
  memset(&req, 0, sizeof req);

  CHECK_EQ_INT(fl__dns_resolve(r, &req, "127.0.0.1", 8080, count_cb, NULL), 0);
  CHECK_EQ_INT(req.err, 0);
  CHECK_EQ_INT(req.naddrs, 1);
  CHECK_EQ_INT(req.cache_hit, 1);
  CHECK_EQ_STR(str(&req.addrs[0], &port), "127.0.0.1");
  CHECK_EQ_INT(port, 8080);

  CHECK_EQ_INT(fl__dns_resolve(r, &req, "[::1]", 443, count_cb, NULL), 0);
  CHECK_EQ_INT(req.naddrs, 1);
  CHECK_EQ_STR(str(&req.addrs[0], &port), "::1");
  CHECK_EQ_INT(port, 443);
  CHECK_EQ_INT(fl__dns_resolve(r, &req, "2001:db8::1", 1, count_cb, NULL), 0);
  CHECK_EQ_STR(str(&req.addrs[0], &port), "2001:db8::1");
  CHECK_EQ_INT(fl__dns_resolve(r, &req, "fe80::1%1", 1, count_cb, NULL), 0);
  CHECK_EQ_INT(req.addrs[0].in6.sin6_scope_id, 1);

  CHECK_EQ_INT(fl__dns_resolve(r, &req, "example.com", 443, count_cb, NULL), 0);
  CHECK_EQ_INT(req.err, 0);
  CHECK_EQ_INT(req.cache_hit, 1);
  CHECK_EQ_INT(req.naddrs, 3);
  CHECK_EQ_STR(str(&req.addrs[0], &port), "2001:db8::7");
  CHECK_EQ_INT(port, 443);
  CHECK_EQ_STR(str(&req.addrs[1], &port), "192.0.2.7");
  CHECK_EQ_INT(port, 443);
  CHECK_EQ_STR(str(&req.addrs[2], NULL), "2001:db8::8");
  CHECK_EQ_INT(fl__dns_resolve(r, &req, "EXAMPLE.com", 443, count_cb, NULL), 0);
  CHECK_EQ_INT(req.naddrs, 3);
  CHECK_EQ_INT(fl__dns_resolve(r, &req, "v4only.test", 80, count_cb, NULL), 0);
  CHECK_EQ_STR(str(&req.addrs[0], &port), "192.0.2.1");
  CHECK_EQ_INT(port, 80);

  /* "foo.localhost" and "localhost." are loopback without c-ares */
  CHECK_EQ_INT(fl__dns_resolve(r, &req, "app.LocalHost", 3000, count_cb, NULL), 0);
  CHECK_EQ_INT(req.naddrs, 2);
  CHECK_EQ_STR(str(&req.addrs[0], &port), "::1");
  CHECK_EQ_INT(port, 3000);
  CHECK_EQ_STR(str(&req.addrs[1], NULL), "127.0.0.1");
  CHECK_EQ_INT(fl__dns_resolve(r, &req, "localhost.", 1, count_cb, NULL), 0);
  CHECK_EQ_INT(req.naddrs, 2);

  /* names that cannot be host names fail at once */
  CHECK_EQ_INT(fl__dns_resolve(r, &req, "", 80, count_cb, NULL), 0);
  CHECK_EQ_INT(req.err, FL_ERESOLVE);
  CHECK(req.errmsg[0] != '\0');
  CHECK_EQ_INT(fl__dns_resolve(r, &req, "[127.0.0.1]", 80, count_cb, NULL), 0);
  CHECK_EQ_INT(req.err, FL_ERESOLVE);
  CHECK(strstr(req.errmsg, "[127.0.0.1]") != NULL);
  CHECK_EQ_INT(fl__dns_resolve(r, &req, "a b", 80, count_cb, NULL), 0);
  CHECK_EQ_INT(req.err, FL_ERESOLVE);
  CHECK_EQ_INT(fl__dns_resolve(r, &req, "fe80::1%nosuchif0", 80, count_cb, NULL), 0);
  CHECK_EQ_INT(req.err, FL_ERESOLVE);
  {
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CHECK_EQ_INT(fl__dns_resolve(r, &req, longname, 80, count_cb, NULL), 0);
    CHECK_EQ_INT(req.err, FL_ERESOLVE);
  }

  fl__resolver_stats(r, &st);
  CHECK_EQ_INT(st.queries, 0);
  CHECK_EQ_INT(calls, 0);
  CHECK_EQ_INT(sink_drain(), 0);

  /* same host, other port: not the override; goes to c-ares, pending */
  CHECK_EQ_INT(fl__dns_resolve(r, &req, "example.com", 80, count_cb, NULL), 1);
  fl__resolver_stats(r, &st);
  CHECK_EQ_INT(st.queries, 1);
  fl__dns_cancel(r, &req);
  fl__dns_cancel(r, &req); /* harmless twice */
  fl__resolver_free(r);
  CHECK_EQ_INT(calls, 0);
  sink_drain(); /* the query above did reach the sink */
}

static void test_cache(fl_loop *loop) {
  fl__resolver_options o = base_opts();
  fl__resolver *r;
  fl__dns_req req;
  fl__dns_stats st;
  fl__sockaddr in[2];
  uint16_t port;
  int i;

  r = new_resolver(loop, &o);
  memset(&req, 0, sizeof req);
  in[0] = addr("192.0.2.10");
  in[1] = addr("2001:db8::10");
  CHECK_EQ_INT(fl__dns_cache_put(r, "Cached.Test", in, 2, 60), 0);
  CHECK_EQ_INT(fl__dns_resolve(r, &req, "cached.test", 8080, count_cb, NULL), 0);
  CHECK_EQ_INT(req.err, 0);
  CHECK_EQ_INT(req.cache_hit, 1);
  CHECK_EQ_INT(req.naddrs, 2);
  CHECK_EQ_STR(str(&req.addrs[0], &port), "2001:db8::10");
  CHECK_EQ_INT(port, 8080);
  CHECK_EQ_STR(str(&req.addrs[1], &port), "192.0.2.10");
  CHECK_EQ_INT(port, 8080);
  CHECK_EQ_INT(fl__dns_resolve(r, &req, "CACHED.test", 9, count_cb, NULL), 0);
  CHECK_EQ_STR(str(&req.addrs[1], &port), "192.0.2.10");
  CHECK_EQ_INT(port, 9);
  fl__resolver_stats(r, &st);
  CHECK_EQ_INT(st.cache_hits, 2);
  CHECK_EQ_INT(st.cache_entries, 1);
  CHECK_EQ_INT(st.queries, 0);

  /* capacity: the oldest entry makes room for the newest */
  for (i = 0; i < 4100; i++) {
    char name[32];
    snprintf(name, sizeof name, "n%d.test", i);
    CHECK_EQ_INT(fl__dns_cache_put(r, name, in, 1, 60), 0);
  }
  fl__resolver_stats(r, &st);
  CHECK_EQ_INT(st.cache_entries, 4096);
  CHECK_EQ_INT(fl__dns_resolve(r, &req, "n4099.test", 80, count_cb, NULL), 0);
  CHECK_EQ_INT(fl__dns_resolve(r, &req, "n4.test", 80, count_cb, NULL), 0);
  CHECK_EQ_INT(fl__dns_resolve(r, &req, "n3.test", 80, count_cb, NULL), 1); /* evicted */
  fl__dns_cancel(r, &req);
  fl__resolver_free(r);

  /* expiry follows loop time */
  o.ttl_min_ms = 50;
  o.ttl_max_ms = 50;
  r = new_resolver(loop, &o);
  CHECK_EQ_INT(fl__dns_cache_put(r, "short.test", in, 1, 600), 0);
  CHECK_EQ_INT(fl__dns_resolve(r, &req, "short.test", 80, count_cb, NULL), 0);
  usleep(60 * 1000);
  fl__loop_update_time(loop);
  CHECK_EQ_INT(fl__dns_resolve(r, &req, "short.test", 80, count_cb, NULL), 1);
  fl__dns_cancel(r, &req);
  fl__resolver_free(r);

  /* ttl_max 0: nothing is cached */
  o.ttl_min_ms = 1000;
  o.ttl_max_ms = 0;
  r = new_resolver(loop, &o);
  CHECK_EQ_INT(fl__dns_cache_put(r, "none.test", in, 1, 600), 0);
  fl__resolver_stats(r, &st);
  CHECK_EQ_INT(st.cache_entries, 0);
  fl__resolver_free(r);
  CHECK_EQ_INT(calls, 0);
  sink_drain();
}

/* "localhost" goes through c-ares (/etc/hosts, or its RFC 6761 fallback),
 * which answers synchronously; the callback must still come from the loop. */
static int lh_done;
static fl_loop *lh_loop;
static void lh_cb(fl__dns_req *req) {
  lh_done++;
  CHECK(req->data == &lh_done);
  fl__loop_unref(lh_loop); /* as a request would when it moves on */
}

static void test_localhost(fl_loop *loop) {
  fl__resolver_options o = base_opts();
  fl__resolver *r = new_resolver(loop, &o);
  fl__dns_req req, req2;
  fl__dns_stats st;
  size_t i;
  int saw_v4 = 0;
  uint16_t port;

  memset(&req, 0, sizeof req);
  memset(&req2, 0, sizeof req2);
  CHECK_EQ_INT(fl__dns_resolve(r, &req, "LocalHost", 8080, lh_cb, &lh_done), 1);
  CHECK_EQ_INT(lh_done, 0); /* not from inside fl__dns_resolve */
  lh_loop = loop;
  fl__loop_ref(loop);
  while (!lh_done) fl_loop_run(loop, FL_RUN_ONCE);
  CHECK_EQ_INT(lh_done, 1);
  CHECK_EQ_INT(req.err, 0);
  CHECK_EQ_INT(req.cache_hit, 0);
  CHECK(req.naddrs >= 1);
  for (i = 0; i < req.naddrs; i++) {
    const char *s = str(&req.addrs[i], &port);
    CHECK_EQ_INT(port, 8080);
    CHECK(strcmp(s, "127.0.0.1") == 0 || strcmp(s, "::1") == 0);
    saw_v4 |= strcmp(s, "127.0.0.1") == 0;
  }
  CHECK(saw_v4);
  /* second time from the cache */
  CHECK_EQ_INT(fl__dns_resolve(r, &req, "localhost", 80, lh_cb, &lh_done), 0);
  CHECK_EQ_INT(req.cache_hit, 1);
  fl__resolver_stats(r, &st);
  CHECK_EQ_INT(st.queries, 1);
  CHECK_EQ_INT(st.cache_hits, 1);
  CHECK_EQ_INT(st.sockets, 0);
  CHECK_EQ_INT(sink_drain(), 0); /* no DNS traffic at all */

  /* freed with deliveries pending: no callback. Without a cache, the
   * second request (the first is answered, not yet delivered) needs a
   * lookup of its own. */
  fl__resolver_free(r);
  o.ttl_max_ms = 0;
  r = new_resolver(loop, &o);
  CHECK_EQ_INT(fl__dns_resolve(r, &req, "localhost", 80, lh_cb, &lh_done), 1);
  CHECK_EQ_INT(fl__dns_resolve(r, &req2, "localhost", 80, lh_cb, &lh_done), 1);
  fl__resolver_stats(r, &st);
  CHECK_EQ_INT(st.queries, 2);
  CHECK_EQ_INT(st.cache_entries, 0);
  fl__resolver_free(r);
  fl_loop_run(loop, FL_RUN_NOWAIT);
  fl_loop_run(loop, FL_RUN_NOWAIT);
  CHECK_EQ_INT(lh_done, 1);
  CHECK_EQ_INT(sink_drain(), 0);
}

int main(void) {
  fl_loop *loop;

  FL_TEST_BEGIN();
  loop = fl_loop_new();
  CHECK(loop != NULL);
  sink_open();
  test_lifetime();
  test_order();
  test_bad_options(loop);
  test_good_servers(loop);
  test_literals_and_overrides(loop);
  test_cache(loop);
  test_localhost(loop);
  CHECK_EQ_INT(fl_loop_free(loop), 0);
  close(sink_fd);
  FL_TEST_END();
}
