/* Retry policy (transient errors, statuses, Retry-After, methods, back-off)
 * and rate limits (client-wide and per host), against the fault server and
 * httpbin. */
/* FIXTURES: httpbin */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flurry.h"
#include "test.h"

static fl_loop *loop;
static int fault, hb;

static fl_client *client_with_retry(uint32_t max, uint32_t base_ms) {
  fl_client_options o;
  fl_client_options_init(&o);
  o.retry.max_retries = max;
  o.retry.backoff_base_ms = base_ms;
  o.retry.jitter = 0;
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  return c;
}

static void test_retry_statuses(void) {
  fl_client *c = client_with_retry(2, 20);
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/status?code=503", fault);
  fl_request *r = fl_request_new("GET", url);
  CHECK_EQ_INT(fl_request_perform(c, r), 0);
  CHECK_EQ_INT(fl_response_status(fl_request_response(r)), 503); /* the last attempt's answer */
  CHECK_EQ_INT(fl_request_info(r)->attempts, 3);
  CHECK(fl_request_info(r)->total_us >= (20 + 40) * 1000); /* back-off doubled */
  /* 404 is not in the list: one attempt. */
  snprintf(url, sizeof url, "http://127.0.0.1:%d/status?code=404", fault);
  fl_request_set_url(r, url);
  CHECK_EQ_INT(fl_request_perform(c, r), 0);
  CHECK_EQ_INT(fl_request_info(r)->attempts, 1);
  /* POST is not retried unless the policy says all methods. */
  snprintf(url, sizeof url, "http://127.0.0.1:%d/status?code=503", fault);
  fl_request_set_url(r, url);
  fl_request_set_method(r, "POST");
  CHECK_EQ_INT(fl_request_perform(c, r), 0);
  CHECK_EQ_INT(fl_request_info(r)->attempts, 1);
  fl_retry_policy p;
  fl_retry_policy_init(&p);
  p.max_retries = 1;
  p.all_methods = 1;
  p.backoff_base_ms = 1;
  fl_request_set_retry(r, &p);
  CHECK_EQ_INT(fl_request_perform(c, r), 0);
  CHECK_EQ_INT(fl_request_info(r)->attempts, 2);
  fl_request_free(r);
  fl_client_free(c);
}

static void wake(fl_timer *t, void *data) {
  (void)t;
  *(int *)data = 1;
}

static void on_done(fl_request *req, int err, void *data) {
  (void)req, (void)err;
  ++*(int *)data;
}

static void test_retry_errors(void) {
  fl_client *c = client_with_retry(2, 10);
  fl_request *r = fl_request_new("GET", "http://127.0.0.1:1/");
  CHECK_EQ_INT(fl_request_perform(c, r), FL_ECONN_REFUSED);
  CHECK_EQ_INT(fl_request_info(r)->attempts, 3);
  /* Not transient: a malformed reply is not retried. */
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/garbage", fault);
  fl_request_set_url(r, url);
  CHECK_EQ_INT(fl_request_perform(c, r), FL_EBAD_STATUS_LINE);
  CHECK_EQ_INT(fl_request_info(r)->attempts, 1);
  /* The total timeout bounds every attempt together. */
  fl_timeouts t = {0};
  t.total_ms = 100;
  fl_retry_policy p;
  fl_retry_policy_init(&p);
  p.max_retries = 50;
  p.backoff_base_ms = 30;
  p.jitter = 0;
  fl_request_set_retry(r, &p);
  fl_request_set_timeouts(r, &t);
  fl_request_set_url(r, "http://127.0.0.1:1/");
  CHECK_EQ_INT(fl_request_perform(c, r), FL_ETIMEOUT);
  CHECK(fl_request_info(r)->attempts < 6);
  /* Cancel while backing off: the callback reports the cancel, once. */
  p.backoff_base_ms = 5000;
  fl_request_set_retry(r, &p);
  fl_request_set_timeouts(r, NULL);
  int calls = 0, last = 0;
  CHECK_EQ_INT(fl_request_send(c, r, on_done, &calls), 0);
  fl_timer *t100 = fl_timer_new(loop);
  int fired = 0;
  fl_timer_start(t100, 100, 0, wake, &fired);
  while (!fired) fl_loop_run(loop, FL_RUN_ONCE); /* first attempt refused, now waiting */
  fl_timer_free(t100);
  CHECK_EQ_INT(calls, 0);
  CHECK_EQ_INT(fl_request_cancel(r), 0);
  while (calls == 0) fl_loop_run(loop, FL_RUN_ONCE);
  last = fl_request_error(r);
  CHECK_EQ_INT(last, FL_ECANCELED);
  CHECK_EQ_INT(calls, 1);
  fl_request_free(r);
  fl_client_free(c);
}

static void test_retry_after(void) {
  fl_client_options o;
  fl_client_options_init(&o);
  o.retry.max_retries = 1;
  o.retry.statuses[0] = 200; /* httpbin answers 200 with the header we ask for */
  o.retry.statuses[1] = 0;
  o.retry.backoff_base_ms = 1;
  fl_client *c = fl_client_new(loop, &o);
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/response-headers?Retry-After=1", hb);
  fl_request *r = fl_request_new("GET", url);
  CHECK_EQ_INT(fl_request_perform(c, r), 0);
  CHECK_EQ_INT(fl_request_info(r)->attempts, 2);
  CHECK(fl_request_info(r)->total_us >= 1000000); /* waited as the server asked */
  fl_request_free(r);
  fl_client_free(c);
  /* Asked to wait longer than allowed: no retry. */
  o.retry.retry_after_max_ms = 500;
  c = fl_client_new(loop, &o);
  r = fl_request_new("GET", url);
  CHECK_EQ_INT(fl_request_perform(c, r), 0);
  CHECK_EQ_INT(fl_request_info(r)->attempts, 1);
  CHECK(fl_request_info(r)->total_us < 500000);
  fl_request_free(r);
  fl_client_free(c);
}

static int completed;
static void count(fl_request *req, int err, void *data) {
  (void)req, (void)data;
  CHECK_EQ_INT(err, 0);
  completed++;
}

static uint64_t run_batch(fl_client *c, const char *const *urls, int n) {
  fl_request *reqs[32];
  completed = 0;
  uint64_t t0 = fl_loop_now(loop);
  for (int i = 0; i < n; i++) {
    reqs[i] = fl_request_new("GET", urls[i]);
    CHECK_EQ_INT(fl_request_send(c, reqs[i], count, NULL), 0);
  }
  while (completed < n) fl_loop_run(loop, FL_RUN_ONCE);
  uint64_t took = fl_loop_now(loop) - t0;
  for (int i = 0; i < n; i++) fl_request_free(reqs[i]);
  return took;
}

static void test_rate_limits(void) {
  char a[128], b[128];
  snprintf(a, sizeof a, "http://127.0.0.1:%d/ok", fault);
  snprintf(b, sizeof b, "http://localhost:%d/ok", fault);
  const char *same[10] = {a, a, a, a, a, a, a, a, a, a};
  /* 20/s with a burst of 1: ten requests take at least 9 intervals. */
  fl_client_options o;
  fl_client_options_init(&o);
  o.rate_limit = 20;
  o.rate_burst = 1;
  fl_client *c = fl_client_new(loop, &o);
  uint64_t ms = run_batch(c, same, 10);
  CHECK(ms >= 430);
  CHECK(ms < 5000); /* not whole seconds apart (generous: a loaded ASan run) */
  fl_client_free(c);
  /* Per host 4/s: two hosts go side by side, not one after the other. The
   * gap between the two (4 intervals, 1 s) is what the eight requests
   * themselves may take on a loaded machine: wide, not 100 ms intervals. */
  fl_client_options_init(&o);
  o.rate_limit_per_host = 4;
  o.rate_burst = 1;
  c = fl_client_new(loop, &o);
  const char *mixed[8] = {a, b, a, b, a, b, a, b};
  ms = run_batch(c, mixed, 8);
  if (ms < 730 || ms >= 1700)
    fprintf(stderr, "8 requests on two hosts at 4/s each: %llu ms\n", (unsigned long long)ms);
  CHECK(ms >= 730); /* 4 per host: 3 intervals of 250 ms */
  CHECK(ms < 1700); /* not 7 intervals (1,750 ms) */
  fl_client_free(c);
}

static int finished;
static void count_any(fl_request *req, int err, void *data) {
  (void)req, (void)err, (void)data;
  finished++;
}

/* Per-host buckets past their cap (4,096 origins): the oldest are forgotten
 * (a forgotten origin starts again with a full bucket), recent ones are
 * found again and still empty. 4,200 loopback addresses (127.0.x.y) where
 * nothing listens: every request is refused at once. */
static void test_many_host_buckets(void) {
  enum { HOSTS = 4200 };
  fl_client_options o;
  fl_client_options_init(&o);
  o.rate_limit_per_host = 0.02; /* an emptied bucket refills in 50 s: never here */
  o.rate_burst = 1;
  o.max_connections = 256;
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  static fl_request *reqs[HOSTS];
  char url[64];
  finished = 0;
  for (int i = 0; i < HOSTS; i++) {
    snprintf(url, sizeof url, "http://127.0.%d.%d:%d/", 1 + i / 250, 1 + i % 250, fault);
    reqs[i] = fl_request_new("GET", url);
    CHECK_EQ_INT(fl_request_send(c, reqs[i], count_any, NULL), 0);
  }
  while (finished < HOSTS) fl_loop_run(loop, FL_RUN_ONCE);
  for (int i = 0; i < HOSTS; i++) {
    CHECK_EQ_INT(fl_request_info(reqs[i])->throttled_us, 0); /* each its own bucket */
    fl_request_free(reqs[i]);
  }
  /* The first origin was forgotten: a full bucket again, no wait. */
  snprintf(url, sizeof url, "http://127.0.1.1:%d/", fault);
  fl_request *first = fl_request_new("GET", url);
  fl_request_perform(c, first);
  CHECK_EQ_INT(fl_request_info(first)->throttled_us, 0);
  /* The last is remembered, its token spent: it waits, here until its
   * total timeout. */
  snprintf(url, sizeof url, "http://127.0.%d.%d:%d/", 1 + (HOSTS - 1) / 250, 1 + (HOSTS - 1) % 250,
           fault);
  fl_request *last = fl_request_new("GET", url);
  fl_timeouts t = {.total_ms = 200};
  fl_request_set_timeouts(last, &t);
  CHECK_EQ_INT(fl_request_perform(c, last), FL_ETIMEOUT);
  CHECK(fl_request_info(last)->throttled_us >=
        100000); /* its wait counts, though it got no token */
  fl_request_free(first);
  fl_request_free(last);
  fl_client_free(c);
}

int main(void) {
  FL_TEST_BEGIN();
  fault = fl_test_fault_start();
  hb = fl_test_server_port("httpbin");
  loop = fl_loop_new();
  test_retry_statuses();
  test_retry_errors();
  test_retry_after();
  test_rate_limits();
  test_many_host_buckets();
  CHECK_EQ_INT(fl_loop_free(loop), 0);
  FL_TEST_END();
}
