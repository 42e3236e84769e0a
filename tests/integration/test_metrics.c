/* Per-host pool figures (fl_client_host_stats) and DNS cache figures
 * (fl_client_dns_stats) against the nginx fixture: five requests on a host
 * limited to two connections (two connecting, three waiting; then busy;
 * then two idle), a second host, and the DNS lookups behind them (one
 * lookup joined by the second connection, then cache hits). */
/* FIXTURES: nginx dnsmasq */
/* LABELS: valgrind */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flurry.h"
#include "test.h"

static fl_loop *loop;
static int port;
static int done;
static fl_host_stats seen_busy; /* figures from inside a headers callback */

static void on_done(fl_request *req, int err, void *data) {
  (void)data;
  CHECK_EQ_INT(err, 0);
  CHECK_EQ_INT(fl_response_status(fl_request_response(req)), 200);
  done++;
}

static int on_headers(fl_request *req, void *data) {
  (void)req;
  fl_client *c = data;
  fl_host_stats hs[2];
  CHECK_EQ_INT((int)fl_client_host_stats(c, hs, 2), 1);
  if (hs[0].busy > seen_busy.busy) seen_busy = hs[0];
  return 0;
}

int main(void) {
  FL_TEST_BEGIN();
  port = fl_test_server_port("nginx");
  char dns[64], url[256], url2[256];
  snprintf(dns, sizeof dns, "127.0.0.1:%d", fl_test_server_port("dnsmasq"));
  snprintf(url, sizeof url, "http://a.test:%d/hello", port);
  snprintf(url2, sizeof url2, "http://127.0.0.1:%d/hello", port);
  loop = fl_loop_new();
  CHECK(loop);
  fl_client_options o;
  fl_client_options_init(&o);
  o.max_connections_per_host = 2;
  o.dns_servers = dns;
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);

  CHECK_EQ_INT((int)fl_client_host_stats(c, NULL, 0), 0);
  fl_request *r[5];
  for (int i = 0; i < 5; i++) {
    r[i] = fl_request_new("GET", url);
    CHECK(r[i]);
    fl_request_on_headers(r[i], on_headers, c);
    CHECK_EQ_INT(fl_request_send(c, r[i], on_done, NULL), 0);
  }
  fl_host_stats hs[4];
  CHECK_EQ_INT((int)fl_client_host_stats(c, hs, 4), 1);
  CHECK_EQ_STR(hs[0].host, "a.test");
  CHECK_EQ_INT(hs[0].port, port);
  CHECK_EQ_INT(hs[0].tls, 0);
  CHECK_EQ_INT((int)hs[0].open, 2);
  CHECK_EQ_INT((int)hs[0].connecting, 2);
  CHECK_EQ_INT((int)hs[0].waiting, 3);
  CHECK_EQ_INT((int)(hs[0].idle + hs[0].busy), 0);
  while (done < 5) fl_loop_run(loop, FL_RUN_ONCE);
  CHECK(seen_busy.busy >= 1 && seen_busy.open == 2);
  CHECK_EQ_INT((int)fl_client_host_stats(c, hs, 4), 1);
  CHECK_EQ_INT((int)hs[0].open, 2);
  CHECK_EQ_INT((int)hs[0].idle, 2);
  CHECK_EQ_INT((int)(hs[0].busy + hs[0].connecting + hs[0].waiting), 0);

  fl_dns_stats ds;
  fl_client_dns_stats(c, &ds);
  /* Two connections asked for a.test: one lookup, the other joined it. */
  CHECK_EQ_INT((int)ds.lookups, 1);
  CHECK_EQ_INT((int)ds.joined, 1);
  CHECK_EQ_INT((int)ds.misses, 2);
  CHECK_EQ_INT((int)ds.hits, 0);
  CHECK_EQ_INT((int)ds.entries, 1);
  CHECK_EQ_INT((int)ds.in_flight, 0);

  /* A third connection to a.test is a cache hit; an IP literal is no
   * question at all. A second host shows up in the figures. */
  for (int i = 0; i < 3; i++) { /* closes both idle ones, then a new one */
    fl_request *x = fl_request_new("GET", url);
    fl_request_set_header(x, "Connection", "close");
    fl_test_perform(c, x, 0);
    fl_request_free(x);
  }
  /* A host without connections goes away; a kept-alive one comes back. */
  CHECK_EQ_INT((int)fl_client_host_stats(c, hs, 4), 0);
  fl_request *k = fl_request_new("GET", url);
  fl_test_perform(c, k, 0);
  fl_request_free(k);
  fl_request *y = fl_request_new("GET", url2);
  fl_test_perform(c, y, 0);
  fl_client_dns_stats(c, &ds);
  CHECK_EQ_INT((int)ds.lookups, 1);
  CHECK_EQ_INT((int)ds.misses, 2);
  CHECK_EQ_INT((int)ds.hits, 2);
  CHECK_EQ_INT((int)fl_client_host_stats(c, hs, 1), 2); /* two hosts, one filled */
  size_t n = fl_client_host_stats(c, hs, 4);
  CHECK_EQ_INT((int)n, 2);
  int found = 0;
  for (size_t i = 0; i < n; i++)
    if (strcmp(hs[i].host, "127.0.0.1") == 0) found = hs[i].idle == 1 && hs[i].open == 1;
  CHECK(found);
  fl_request_free(y);
  for (int i = 0; i < 5; i++) fl_request_free(r[i]);
  fl_client_free(c);
  CHECK_EQ_INT(fl_loop_free(loop), 0);
  FL_TEST_END();
}
