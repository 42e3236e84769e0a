/* The seeds' serial program without connection reuse: every URL is fetched
 * with fl_get, which makes a new loop and client (so a new connection) per
 * request, then each JSON body is printed in order and the elapsed time.
 *   seed_serial_new [BASE_URL] [COUNT] [PATH_TEMPLATE]
 *   (defaults http://127.0.0.1:8080, 25, "/get?id=%d") */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "flurry.h"
#include "seed_common.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  const char *base = argc > 1 ? argv[1] : "http://127.0.0.1:8080";
  int count = argc > 2 ? atoi(argv[2]) : 25;
  const char *tmpl = argc > 3 ? argv[3] : SEED_DEFAULT_TEMPLATE;
  if (count < 1) return 2;
  int failed = 0;
  double t0 = now_s();
  for (int i = 0; i < count; i++) {
    char url[1024];
    seed_url(url, sizeof url, base, tmpl, i);
    fl_request *req = NULL;
    int err = fl_get(url, &req);
    if (err) {
      failed++;
      printf("%s: error: %s\n", url, fl_strerror(err));
      continue;
    }
    printf("%s\n", fl_response_body(fl_request_response(req), NULL));
    fl_request_free(req);
  }
  seed_done(now_s() - t0);
  return failed ? 1 : 0;
}
