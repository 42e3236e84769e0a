/* as_completed: a callback per request as each one finishes, printing its
 * status or its error. Among COUNT fetches of BASE/get, a few are meant to
 * go wrong or slow: an HTTP 404, a refused port and a malformed URL fail
 * fast; one delayed request finishes last.
 *   as_completed [BASE_URL] [COUNT]   (defaults http://127.0.0.1:8080, 25) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "flurry.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double t0;

static void each(fl_gather *g, size_t i, fl_request *req, int err, void *data) {
  (void)g, (void)data;
  if (err)
    printf("[%6.3fs] #%zu %s -> error %s: %s\n", now_s() - t0, i, fl_request_url(req),
           fl_err_name(err), fl_request_errmsg(req));
  else
    printf("[%6.3fs] #%zu %s -> %d %s\n", now_s() - t0, i, fl_request_url(req),
           fl_response_status(fl_request_response(req)),
           fl_response_reason(fl_request_response(req)));
}

static void all_done(fl_gather *g, void *data) {
  printf("%zu finished, %zu failed\n", fl_gather_finished(g), fl_gather_failed(g));
  *(int *)data = 1;
}

int main(int argc, char **argv) {
  const char *base = argc > 1 ? argv[1] : "http://127.0.0.1:8080";
  int count = argc > 2 ? atoi(argv[2]) : 25;
  if (count < 1) return 2;
  fl_loop *loop = fl_loop_new();
  fl_client *client = loop ? fl_client_new(loop, NULL) : NULL;
  fl_gather *g = client ? fl_gather_new(client) : NULL;
  if (!g) return 1;
  for (int i = 0; i < count; i++) {
    char url[1024];
    switch (i % 10) {
    case 1: snprintf(url, sizeof url, "%s/delay/1?id=%d", base, i); break;
    case 4: snprintf(url, sizeof url, "%s/status/404", base); break;
    case 6: snprintf(url, sizeof url, "http://127.0.0.1:1/refused?id=%d", i); break;
    case 8: snprintf(url, sizeof url, "http://[::1/malformed?id=%d", i); break;
    default: snprintf(url, sizeof url, "%s/get?id=%d", base, i); break;
    }
    if (fl_gather_add_get(g, url) != 0) return 1;
  }
  int done = 0;
  fl_gather_set_limit(g, 10);
  fl_gather_on_each(g, each, NULL);
  t0 = now_s();
  if (fl_gather_start(g, all_done, &done) != 0) return 1;
  while (!done) fl_loop_run(loop, FL_RUN_ONCE);
  printf("Done in %.3fs\n", now_s() - t0);
  fl_gather_free(g);
  fl_client_free(client);
  fl_loop_free(loop);
  return 0;
}
