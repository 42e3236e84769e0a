/* gather / as_completed / map: results in submit order, exactly-once
 * callbacks, members that fail (refused, malformed, unsupported) next to
 * good ones, the concurrency limit, cancelling halfway from inside a
 * callback, freeing at any point, and a 10,000-request map with
 * concurrency 100 on one thread (against the fault server). */
/* FIXTURES: httpbin */
/* LABELS: valgrind */
/* TIMEOUT: 120 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flurry.h"
#include "test.h"

static fl_loop *loop;
static fl_client *client;
static int httpbin;

static char *url_of(int port, const char *path) {
  char buf[256];
  snprintf(buf, sizeof buf, "http://127.0.0.1:%d%s", port, path);
  char *s = strdup(buf);
  CHECK(s);
  return s;
}

/* Callback bookkeeping: per-member counts and the completion order. */
typedef struct track {
  int each[64];
  int done;
  int order[64];
  int norder;
  int inside_start; /* set while fl_gather_start runs */
  size_t max_inflight, limit;
  int cancel_after; /* cancel from each_cb after this many; 0 = never */
  int free_after;   /* free from each_cb after this many; 0 = never */
  fl_gather *g;
} track;

static void on_each(fl_gather *g, size_t i, fl_request *req, int err, void *data) {
  track *t = data;
  CHECK(!t->inside_start);
  CHECK(i < 64);
  CHECK(req == fl_gather_request(g, i));
  CHECK_EQ_INT(fl_gather_error(g, i), err);
  CHECK_EQ_INT(t->done, 0); /* every each_cb comes before done_cb */
  t->each[i]++;
  t->order[t->norder++] = (int)i;
  if (t->limit) {
    fl_pool_stats st;
    fl_client_pool_stats(client, &st);
    size_t inflight = st.in_use + st.connecting + st.waiting;
    if (inflight > t->max_inflight) t->max_inflight = inflight;
  }
  if (t->cancel_after && t->norder == t->cancel_after) CHECK_EQ_INT(fl_gather_cancel(g), 0);
  if (t->free_after && t->norder == t->free_after) {
    fl_gather_free(g);
    t->g = NULL;
  }
}

static void on_done(fl_gather *g, void *data) {
  track *t = data;
  CHECK(!t->inside_start);
  CHECK(g == t->g);
  CHECK_EQ_INT(fl_gather_finished(g), fl_gather_count(g));
  t->done++;
}

static void start(track *t, fl_gather *g) {
  t->g = g;
  CHECK_EQ_INT(fl_gather_on_each(g, on_each, t), 0);
  t->inside_start = 1;
  CHECK_EQ_INT(fl_gather_start(g, on_done, t), 0);
  t->inside_start = 0;
  CHECK_EQ_INT(fl_gather_start(g, on_done, t), FL_EINVAL);    /* once */
  CHECK_EQ_INT(fl_gather_add_get(g, "http://x/"), FL_EINVAL); /* no adds after start */
}

static void run_until_done(track *t) {
  while (!t->done && t->g) fl_loop_run(loop, FL_RUN_ONCE);
  for (int i = 0; i < 5; i++) fl_loop_run(loop, FL_RUN_NOWAIT); /* nothing more may fire */
}

/* The "id" query argument httpbin echoes back. */
static int echoed_id(fl_request *req) {
  const char *body = fl_response_body(fl_request_response(req), NULL);
  const char *p = body ? strstr(body, "\"id\"") : NULL;
  CHECK(p);
  p += 4;
  while (*p == ' ' || *p == ':' || *p == '"') p++;
  return atoi(p);
}

static void test_all_ok(void) {
  enum { N = 30 };
  track t;
  memset(&t, 0, sizeof t);
  fl_gather *g = fl_gather_new(client);
  CHECK(g);
  for (int i = 0; i < N; i++) {
    char path[64];
    snprintf(path, sizeof path, "/get?id=%d", i);
    char *u = url_of(httpbin, path);
    if (i % 2) {
      CHECK_EQ_INT(fl_gather_add_get(g, u), 0);
    } else {
      fl_request *req = fl_request_new("GET", u);
      CHECK_EQ_INT(fl_gather_add(g, req), 0);
    }
    free(u);
  }
  CHECK_EQ_INT(fl_gather_count(g), N);
  CHECK_EQ_INT(fl_gather_error(g, 0), FL_EINVAL); /* not finished yet */
  CHECK_EQ_INT(fl_gather_set_limit(g, 7), 0);
  t.limit = 7;
  start(&t, g);
  run_until_done(&t);
  CHECK_EQ_INT(t.done, 1);
  CHECK(t.max_inflight <= 7);
  CHECK_EQ_INT(fl_gather_failed(g), 0);
  for (int i = 0; i < N; i++) {
    CHECK_EQ_INT(t.each[i], 1);
    CHECK_EQ_INT(fl_gather_error(g, (size_t)i), 0);
    fl_request *req = fl_gather_request(g, (size_t)i);
    CHECK_EQ_INT(fl_response_status(fl_request_response(req)), 200);
    CHECK_EQ_INT(echoed_id(req), i); /* results in submit order */
  }
  /* take: the caller owns it now; the result stays readable */
  fl_request *mine = fl_gather_take(g, 3);
  CHECK(mine);
  CHECK(fl_gather_request(g, 3) == NULL);
  CHECK(fl_gather_take(g, 3) == NULL);
  CHECK_EQ_INT(fl_gather_error(g, 3), 0);
  CHECK(fl_gather_take(g, N) == NULL);
  fl_gather_free(g);
  CHECK_EQ_INT(echoed_id(mine), 3);
  fl_request_free(mine);
}

static void test_errors(void) {
  /* good, refused, malformed, unsupported, 404, good, bad port text */
  char *urls[7] = {
      url_of(httpbin, "/get?id=0"),      strdup("http://127.0.0.1:1/"),
      strdup("http://[::1/x"),           strdup("ftp://127.0.0.1/"),
      url_of(httpbin, "/status/404"),    url_of(httpbin, "/get?id=5"),
      strdup("http://127.0.0.1:99999/"),
  };
  int want[7] = {0, FL_ECONN_REFUSED, FL_EURL_MALFORMAT, FL_EUNSUPPORTED_PROTOCOL, 0,
                 0, FL_EURL_MALFORMAT};
  track t;
  memset(&t, 0, sizeof t);
  fl_gather *g = fl_gather_new(client);
  for (int i = 0; i < 7; i++) CHECK_EQ_INT(fl_gather_add_get(g, urls[i]), 0);
  start(&t, g);
  run_until_done(&t);
  CHECK_EQ_INT(t.done, 1);
  for (int i = 0; i < 7; i++) {
    CHECK_EQ_INT(t.each[i], 1);
    int err = fl_gather_error(g, (size_t)i);
    if (want[i] == FL_ECONN_REFUSED)
      CHECK(err == FL_ECONN_REFUSED || err == FL_ECONNECT);
    else
      CHECK_EQ_INT(err, want[i]);
    if (err) CHECK(fl_request_errmsg(fl_gather_request(g, (size_t)i))[0] != '\0');
  }
  CHECK_EQ_INT(fl_gather_failed(g), 4);
  CHECK_EQ_INT(fl_response_status(fl_request_response(fl_gather_request(g, 4))), 404);
  CHECK_EQ_INT(echoed_id(fl_gather_request(g, 0)), 0);
  CHECK_EQ_INT(echoed_id(fl_gather_request(g, 5)), 5);
  fl_gather_free(g);

  /* Only failures, with a limit: the send errors free their slots at once. */
  memset(&t, 0, sizeof t);
  g = fl_gather_new(client);
  for (int i = 0; i < 20; i++) fl_gather_add_get(g, i % 2 ? "http://[::1/" : "gopher://h/");
  fl_gather_set_limit(g, 3);
  start(&t, g);
  run_until_done(&t);
  CHECK_EQ_INT(t.done, 1);
  CHECK_EQ_INT(fl_gather_failed(g), 20);
  for (int i = 0; i < 20; i++) CHECK_EQ_INT(t.each[i], 1);
  fl_gather_free(g);
  for (int i = 0; i < 7; i++) free(urls[i]);
}

static int fault;

static void test_cancel_halfway(void) {
  /* 0-2 are quick; 3.. are slow. Limit 3: when the third finishes, 3 and 4
   * are in flight and 5..9 not sent yet. */
  track t;
  memset(&t, 0, sizeof t);
  fl_gather *g = fl_gather_new(client);
  for (int i = 0; i < 10; i++) {
    char *u = url_of(fault, i < 3 ? "/ok" : "/delay?ms=5000");
    fl_gather_add_get(g, u);
    free(u);
  }
  fl_gather_set_limit(g, 3);
  t.cancel_after = 3;
  start(&t, g);
  run_until_done(&t);
  CHECK_EQ_INT(t.done, 1);
  for (int i = 0; i < 10; i++) {
    CHECK_EQ_INT(t.each[i], 1);
    CHECK_EQ_INT(fl_gather_error(g, (size_t)i), i < 3 ? 0 : FL_ECANCELED);
  }
  CHECK_EQ_INT(fl_gather_failed(g), 7);
  CHECK(fl_request_info(fl_gather_request(g, 9))->total_us == 0); /* never sent */
  CHECK_EQ_INT(fl_gather_cancel(g), FL_EINVAL);                   /* finished */
  fl_gather_free(g);

  /* Cancel from outside a callback, twice; then an empty gather; and cancel
   * before start. */
  memset(&t, 0, sizeof t);
  g = fl_gather_new(client);
  CHECK_EQ_INT(fl_gather_cancel(g), FL_EINVAL);
  for (int i = 0; i < 4; i++) {
    char *u = url_of(fault, "/delay?ms=5000");
    fl_gather_add_get(g, u);
    free(u);
  }
  start(&t, g);
  fl_loop_run(loop, FL_RUN_NOWAIT);
  CHECK_EQ_INT(fl_gather_cancel(g), 0);
  CHECK_EQ_INT(fl_gather_cancel(g), 0);
  CHECK_EQ_INT(t.norder, 0); /* not from inside cancel */
  run_until_done(&t);
  CHECK_EQ_INT(t.done, 1);
  CHECK_EQ_INT(t.norder, 4);
  for (int i = 0; i < 4; i++) CHECK_EQ_INT(fl_gather_error(g, (size_t)i), FL_ECANCELED);
  fl_gather_free(g);

  memset(&t, 0, sizeof t);
  g = fl_gather_new(client);
  start(&t, g);
  CHECK_EQ_INT(t.done, 0);
  run_until_done(&t);
  CHECK_EQ_INT(t.done, 1);
  fl_gather_free(g);
}

static void free_in_done(fl_gather *g, void *data) {
  (*(int *)data)++;
  fl_gather_free(g);
}

static void test_free_anywhere(void) {
  /* From inside each_cb, with members still in flight and unsent. */
  track t;
  memset(&t, 0, sizeof t);
  fl_gather *g = fl_gather_new(client);
  for (int i = 0; i < 10; i++) {
    char *u = url_of(fault, i < 2 ? "/ok" : "/delay?ms=3000");
    fl_gather_add_get(g, u);
    free(u);
  }
  fl_gather_set_limit(g, 4);
  t.free_after = 2;
  start(&t, g);
  while (t.g) fl_loop_run(loop, FL_RUN_ONCE);
  for (int i = 0; i < 5; i++) fl_loop_run(loop, FL_RUN_NOWAIT);
  CHECK_EQ_INT(t.norder, 2);
  CHECK_EQ_INT(t.done, 0);

  /* From inside done_cb. */
  int dones = 0;
  g = fl_gather_new(client);
  char *u = url_of(fault, "/ok");
  fl_gather_add_get(g, u);
  fl_gather_add_get(g, "http://[::1/");
  CHECK_EQ_INT(fl_gather_start(g, free_in_done, &dones), 0);
  while (!dones) fl_loop_run(loop, FL_RUN_ONCE);
  for (int i = 0; i < 5; i++) fl_loop_run(loop, FL_RUN_NOWAIT);
  CHECK_EQ_INT(dones, 1);

  /* From outside, while running (a deferred failure pending too). */
  g = fl_gather_new(client);
  fl_gather_add_get(g, u);
  fl_gather_add_get(g, "http://[::1/");
  CHECK_EQ_INT(fl_gather_start(g, free_in_done, &dones), 0);
  fl_gather_free(g);
  for (int i = 0; i < 5; i++) fl_loop_run(loop, FL_RUN_NOWAIT);
  CHECK_EQ_INT(dones, 1);

  /* Never started. */
  g = fl_gather_new(client);
  fl_gather_add_get(g, u);
  fl_gather_free(g);
  free(u);

  fl_pool_stats st;
  fl_client_pool_stats(client, &st);
  CHECK_EQ_INT(st.in_use + st.connecting + st.waiting, 0);
}

static void test_map(void) {
  enum { N = 10000 };
  char **urls = calloc(N, sizeof *urls);
  fl_request **res = calloc(N, sizeof *res);
  CHECK(urls && res);
  for (int i = 0; i < N; i++) {
    char path[64];
    snprintf(path, sizeof path, "/ok?k=m%d", i);
    urls[i] = url_of(fault, path);
  }
  fl_client_options o;
  fl_client_options_init(&o);
  o.max_connections = 0; /* only the map's bound applies */
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  CHECK_EQ_INT(fl_map(c, (const char *const *)urls, N, 100, res), 0);
  for (int i = 0; i < N; i++) {
    CHECK(res[i]);
    CHECK_EQ_STR(fl_request_url(res[i]), urls[i]);
    CHECK_EQ_INT(fl_request_error(res[i]), 0);
    size_t len;
    CHECK_EQ_STR(fl_response_body(fl_request_response(res[i]), &len), "ok");
    fl_request_free(res[i]);
  }
  fl_pool_stats st;
  fl_client_pool_stats(c, &st);
  CHECK(st.created <= 100); /* never more than 100 at a time */
  CHECK(st.reused >= N - 100);
  fl_client_free(c);

  /* Failures are counted, results still complete and in order. */
  const char *mixed[4] = {urls[0], "http://[::1/", "http://127.0.0.1:1/", urls[3]};
  CHECK_EQ_INT(fl_map(client, mixed, 4, 0, res), 2);
  CHECK_EQ_INT(fl_request_error(res[0]), 0);
  CHECK_EQ_INT(fl_request_error(res[1]), FL_EURL_MALFORMAT);
  CHECK(fl_request_error(res[2]) == FL_ECONN_REFUSED || fl_request_error(res[2]) == FL_ECONNECT);
  CHECK_EQ_STR(fl_request_url(res[3]), urls[3]);
  for (int i = 0; i < 4; i++) fl_request_free(res[i]);
  /* Bad arguments: nothing runs, results are NULL. */
  const char *with_null[2] = {urls[0], NULL};
  res[0] = (fl_request *)1;
  CHECK_EQ_INT(fl_map(client, with_null, 2, 1, res), FL_EINVAL);
  CHECK(res[0] == NULL);
  CHECK_EQ_INT(fl_map(NULL, mixed, 1, 1, res), FL_EINVAL);
  CHECK_EQ_INT(fl_map(client, NULL, 0, 1, NULL), 0);
  for (int i = 0; i < N; i++) free(urls[i]);
  free(urls);
  free(res);
}

int main(void) {
  FL_TEST_BEGIN();
  httpbin = fl_test_server_port("httpbin");
  fault = fl_test_fault_start();
  loop = fl_loop_new();
  CHECK(loop);
  client = fl_client_new(loop, NULL);
  CHECK(client);
  CHECK(fl_gather_new(NULL) == NULL);
  test_all_ok();
  test_errors();
  test_cancel_halfway();
  test_free_anywhere();
  test_map();
  fl_client_free(client);
  CHECK_EQ_INT(fl_loop_free(loop), 0);
  FL_TEST_END();
}
