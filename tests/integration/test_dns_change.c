/* DNS records that change under a running client (issue 22): moving.test
 * starts as 127.0.0.1 and is changed to ::1 at dnsmasq mid-test (its hosts
 * file rewritten, SIGHUP). A client that cached the old answer (TTL clamped
 * long) keeps connecting to the old address until its cache is flushed
 * (fl_client_dns_reload, fl_share_flush_dns); an idle connection to the old
 * address is still reused until max_lifetime_ms retires it, and the
 * connection that replaces it goes to the new address. Both for a plain
 * client and for clients on an fl_share. nginx listens on 127.0.0.1 and
 * ::1 on the same port, so both addresses answer (skipped without IPv6). */
/* FIXTURES: nginx dnsmasq */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flurry.h"
#include "test.h"

static fl_loop *loop;
static char dns[64], url[256];

/* moving.test -> addr at dnsmasq, and wait (bounded) until it answers so. */
static void set_record(const char *addr) {
  FILE *f = fopen(fl_test_rundir_path("dnsmasq.hosts"), "w");
  CHECK(f);
  fprintf(f, "%s moving.test\n", addr);
  CHECK_EQ_INT(fclose(f), 0);
  f = fopen(fl_test_rundir_path("dnsmasq.pidfile"), "r");
  CHECK(f);
  long pid = 0;
  CHECK_EQ_INT(fscanf(f, "%ld", &pid), 1);
  fclose(f);
  CHECK(pid > 1);
  CHECK_EQ_INT(kill((pid_t)pid, SIGHUP), 0);
  /* A client without a cache asks dnsmasq each time. */
  fl_client_options o;
  fl_client_options_init(&o);
  o.dns_servers = dns;
  o.dns_ttl_max_ms = 0;
  o.max_connections = 1;
  o.idle_timeout_ms = 1;
  fl_client *probe = fl_client_new(loop, &o);
  CHECK(probe);
  int seen = 0;
  for (int i = 0; i < 100 && !seen; i++) {
    /* A lookup that straddles the reload may find neither record: again. */
    fl_request *r = fl_request_new("GET", url);
    CHECK(r);
    int err = fl_request_perform(probe, r);
    CHECK(err == 0 || err == FL_ERESOLVE);
    seen = err == 0 && !strcmp(fl_request_info(r)->remote_ip, addr);
    fl_request_free(r);
    fl_client_close_idle(probe);
    if (!seen) usleep(50 * 1000);
  }
  CHECK(seen);
  fl_client_free(probe);
}

/* A GET on c: where it went, and whether on a reused connection. */
static void get(fl_client *c, const char *want_ip, int want_reused) {
  fl_request *r = fl_test_get(c, url, 0);
  CHECK_EQ_INT(fl_response_status(fl_request_response(r)), 200);
  CHECK_EQ_STR(fl_request_info(r)->remote_ip, want_ip);
  if (want_reused >= 0) CHECK_EQ_INT(fl_request_info(r)->reused, want_reused);
  fl_request_free(r);
}

static void on_wait(fl_timer *t, void *data) {
  (void)t;
  *(int *)data = 1;
}
static void wait_ms(uint64_t ms) {
  fl_timer *t = fl_timer_new(loop);
  int fired = 0;
  CHECK(t);
  CHECK_EQ_INT(fl_timer_start(t, ms, 0, on_wait, &fired), 0);
  for (int i = 0; i < 1000 && !fired; i++) fl_loop_run(loop, FL_RUN_ONCE);
  CHECK(fired);
  fl_timer_free(t);
}

static void client_options(fl_client_options *o) {
  fl_client_options_init(o);
  o->dns_servers = dns;
  o->dns_ttl_min_ms = 600000; /* the hosts file's TTL 0 becomes 10 minutes */
  o->dns_ttl_max_ms = 600000;
}

static void test_plain_client(void) {
  set_record("127.0.0.1");
  fl_client_options o;
  client_options(&o);
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  get(c, "127.0.0.1", 0);
  set_record("::1");
  /* A new connection, but the cached answer: the old address. */
  fl_client_close_idle(c);
  get(c, "127.0.0.1", 0);
  fl_dns_stats ds;
  fl_client_dns_stats(c, &ds);
  CHECK_EQ_INT((int)ds.lookups, 1);
  CHECK(ds.hits >= 1);
  /* Flushed: looked up again, the new address. */
  CHECK_EQ_INT(fl_client_dns_reload(c), 0);
  fl_client_close_idle(c);
  get(c, "::1", 0);
  fl_client_dns_stats(c, &ds);
  CHECK_EQ_INT((int)ds.lookups, 2);
  fl_client_free(c);
}

/* The cache flushed, an idle connection to the old address is still
 * reused; once max_lifetime_ms passed it is not, and the new one goes to
 * the new address. */
static void test_max_lifetime(void) {
  set_record("127.0.0.1");
  fl_client_options o;
  client_options(&o);
  o.max_lifetime_ms = 1500;
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  get(c, "127.0.0.1", 0);
  set_record("::1");
  CHECK_EQ_INT(fl_client_dns_reload(c), 0);
  /* Still young (unless this machine took 1.5 s since): reused, old address. */
  fl_request *r = fl_test_get(c, url, 0);
  if (fl_request_info(r)->reused) CHECK_EQ_STR(fl_request_info(r)->remote_ip, "127.0.0.1");
  fl_request_free(r);
  wait_ms(1600);
  get(c, "::1", 0);
  get(c, "::1", 1); /* the new connection is reused in turn */
  fl_client_free(c);
}

/* Two clients on one share: the second uses the first's cached answer
 * (no lookup of its own) after the record changed; fl_share_flush_dns drops
 * it for both, and fl_client_dns_reload on one flushes the share's too. */
static void test_share(void) {
  set_record("127.0.0.1");
  fl_share_options so;
  fl_share_options_init(&so);
  so.dns_ttl_min_ms = 600000;
  so.dns_ttl_max_ms = 600000;
  fl_share *share = fl_share_new(&so);
  CHECK(share);
  fl_client_options o;
  client_options(&o);
  o.share = share;
  fl_client *a = fl_client_new(loop, &o);
  fl_client *b = fl_client_new(loop, &o);
  CHECK(a && b);
  get(a, "127.0.0.1", 0);
  set_record("::1");
  get(b, "127.0.0.1", 0);
  fl_dns_stats ds;
  fl_client_dns_stats(b, &ds);
  CHECK_EQ_INT((int)ds.lookups, 0); /* the share's answer, from a's lookup */
  CHECK_EQ_INT(fl_share_flush_dns(share), 0);
  fl_client_close_idle(a);
  fl_client_close_idle(b);
  get(b, "::1", 0);
  get(a, "::1", 0); /* b's new answer, through the share */
  fl_client_dns_stats(a, &ds);
  CHECK_EQ_INT((int)ds.lookups, 1);
  /* Back to the old address; a reload on a flushes what b sees too. */
  set_record("127.0.0.1");
  fl_client_close_idle(b);
  get(b, "::1", 0);
  CHECK_EQ_INT(fl_client_dns_reload(a), 0);
  fl_client_close_idle(b);
  get(b, "127.0.0.1", 0);
  fl_share_dns_stats(share, &ds);
  CHECK_EQ_INT((int)ds.lookups, 3);
  fl_client_free(a);
  fl_client_free(b);
  CHECK_EQ_INT(fl_share_free(share), 0);
}

int main(void) {
  FL_TEST_BEGIN();
  if (!fl_test_ipv6_available()) FL_TEST_SKIP("no IPv6 loopback (::1) for the changed record");
  snprintf(dns, sizeof dns, "127.0.0.1:%d", fl_test_server_port("dnsmasq"));
  snprintf(url, sizeof url, "http://moving.test:%d/hello", fl_test_server_port("nginx"));
  loop = fl_loop_new();
  CHECK(loop);
  test_plain_client();
  test_max_lifetime();
  test_share();
  set_record("127.0.0.1"); /* as the fixture started */
  CHECK_EQ_INT(fl_loop_free(loop), 0);
  FL_TEST_END();
}
