/* Fetch BASE/get?id=N for N in 0..COUNT-1 concurrently on one loop, then
 * print each response body in order and the elapsed time, as the seed
 * programs do:  fetch_concurrent [BASE_URL] [COUNT] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "flurry.h"

static int remaining;

static void on_done(fl_request *req, int err, void *data) {
  (void)req, (void)err, (void)data;
  remaining--;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  const char *base = argc > 1 ? argv[1] : "http://127.0.0.1:8080";
  int count = argc > 2 ? atoi(argv[2]) : 25;
  if (count < 1) return 2;
  fl_loop *loop = fl_loop_new();
  fl_client *client = fl_client_new(loop, NULL);
  fl_request **reqs = calloc((size_t)count, sizeof *reqs);
  if (!loop || !client || !reqs) return 1;
  double t0 = now_s();
  for (int i = 0; i < count; i++) {
    char url[1024];
    snprintf(url, sizeof url, "%s/get?id=%d", base, i);
    reqs[i] = fl_request_new("GET", url);
    int err = reqs[i] ? fl_request_send(client, reqs[i], on_done, NULL) : FL_ENOMEM;
    if (err) {
      fprintf(stderr, "%s: %s\n", url, fl_strerror(err));
      return 1;
    }
    remaining++;
  }
  while (remaining > 0) fl_loop_run(loop, FL_RUN_ONCE);
  double elapsed = now_s() - t0;
  int failed = 0;
  for (int i = 0; i < count; i++) {
    if (fl_request_error(reqs[i])) {
      failed++;
      printf("%s: error: %s\n", fl_request_url(reqs[i]), fl_request_errmsg(reqs[i]));
    } else {
      size_t len;
      const char *body = fl_response_body(fl_request_response(reqs[i]), &len);
      fputs(body, stdout);
      if (len == 0 || body[len - 1] != '\n') putchar('\n');
    }
    fl_request_free(reqs[i]);
  }
  printf("Done in %.3fs\n", elapsed);
  free(reqs);
  fl_client_free(client);
  fl_loop_free(loop);
  return failed ? 1 : 0;
}
