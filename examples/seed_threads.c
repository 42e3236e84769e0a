/* The seeds' ThreadPool(8) program, but every thread asynchronous:
 * fl_map_threads spreads the URLs over 8 threads, each with its own loop
 * and client, and returns the results in order.
 *   seed_threads [BASE_URL] [COUNT] [PATH_TEMPLATE]
 *   (defaults http://127.0.0.1:8080, 25, "/get?id=%d") */
#include <stdio.h>
#include <stdlib.h>

#include "flurry.h"
#include "seed_common.h"

int main(int argc, char **argv) {
  const char *base, *tmpl;
  int count;
  if (seed_args(argc, argv, &base, &count, &tmpl)) return 2;
  char **urls = calloc((size_t)count, sizeof *urls);
  fl_request **res = calloc((size_t)count, sizeof *res);
  if (!urls || !res) return 1;
  for (int i = 0; i < count; i++) {
    urls[i] = malloc(1024);
    if (!urls[i]) return 1;
    seed_url(urls[i], 1024, base, tmpl, i);
  }
  double t0 = seed_now();
  /* 8 threads; 0 = each takes up to an equal share at a time */
  int failed = fl_map_threads((const char *const *)urls, (size_t)count, 8, 0, NULL, res);
  double elapsed = seed_now() - t0;
  if (failed < 0) {
    fprintf(stderr, "fl_map_threads: %s\n", fl_strerror(failed));
    return 1;
  }
  for (int i = 0; i < count; i++) {
    if (fl_request_error(res[i]))
      printf("%s: error: %s\n", urls[i], fl_request_errmsg(res[i]));
    else
      printf("%s\n", fl_response_body(fl_request_response(res[i]), NULL));
    fl_request_free(res[i]);
    free(urls[i]);
  }
  seed_done(elapsed);
  free(urls);
  free(res);
  return failed ? 1 : 0;
}
