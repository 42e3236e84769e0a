/* The seeds' asyncio program: every request at once on one loop, awaited
 * together with a gather; the bodies come back in submit order.
 *   seed_gather [BASE_URL] [COUNT] [PATH_TEMPLATE]
 *   (defaults http://127.0.0.1:8080, 25, "/get?id=%d") */
#include <stdio.h>
#include <stdlib.h>

#include "flurry.h"
#include "seed_common.h"

static void all_done(fl_gather *g, void *data) {
  (void)g;
  *(int *)data = 1;
}

int main(int argc, char **argv) {
  const char *base, *tmpl;
  int count;
  if (seed_args(argc, argv, &base, &count, &tmpl)) return 2;
  fl_loop *loop = fl_loop_new();
  /* All at once, as asyncio.gather: one connection per request (the
   * default pool limit, 100, would run 200 requests in two waves). */
  fl_client_options opts;
  fl_client_options_init(&opts);
  opts.max_connections = (uint32_t)count;
  fl_client *client = loop ? fl_client_new(loop, &opts) : NULL;
  fl_gather *g = client ? fl_gather_new(client) : NULL;
  if (!g) return 1;
  double t0 = seed_now();
  for (int i = 0; i < count; i++) {
    char url[1024];
    seed_url(url, sizeof url, base, tmpl, i);
    if (fl_gather_add_get(g, url) != 0) return 1;
  }
  int done = 0;
  if (fl_gather_start(g, all_done, &done) != 0) return 1;
  while (!done) fl_loop_run(loop, FL_RUN_ONCE);
  double elapsed = seed_now() - t0;
  for (size_t i = 0; i < fl_gather_count(g); i++) {
    fl_request *req = fl_gather_request(g, i);
    if (fl_gather_error(g, i))
      printf("%s: error: %s\n", fl_request_url(req), fl_request_errmsg(req));
    else
      printf("%s\n", fl_response_body(fl_request_response(req), NULL));
  }
  seed_done(elapsed);
  int failed = (int)fl_gather_failed(g);
  fl_gather_free(g);
  fl_client_free(client);
  fl_loop_free(loop);
  return failed ? 1 : 0;
}
