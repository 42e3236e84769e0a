/* The seeds' serial program without connection reuse: every URL is fetched
 * with fl_get, which makes a new loop and client (so a new connection) per
 * request, then each JSON body is printed in order and the elapsed time.
 *   seed_serial_new [BASE_URL] [COUNT] [PATH_TEMPLATE]
 *   (defaults http://127.0.0.1:8080, 25, "/get?id=%d") */
#include <stdio.h>
#include <stdlib.h>

#include "flurry.h"
#include "seed_common.h"

int main(int argc, char **argv) {
  const char *base, *tmpl;
  int count;
  if (seed_args(argc, argv, &base, &count, &tmpl)) return 2;
  int failed = 0;
  double t0 = seed_now();
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
  seed_done(seed_now() - t0);
  return failed ? 1 : 0;
}
