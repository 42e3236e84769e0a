/* The seeds' serial program with a persistent session: one client, so one
 * keep-alive connection serves every request, one after another.
 *   seed_serial_session [BASE_URL] [COUNT] [PATH_TEMPLATE]
 *   (defaults http://127.0.0.1:8080, 25, "/get?id=%d") */
#include <stdio.h>
#include <stdlib.h>

#include "flurry.h"
#include "seed_common.h"

int main(int argc, char **argv) {
  const char *base, *tmpl;
  int count;
  if (seed_args(argc, argv, &base, &count, &tmpl)) return 2;
  fl_loop *loop = fl_loop_new();
  fl_client *client = loop ? fl_client_new(loop, NULL) : NULL;
  fl_request *req = fl_request_new("GET", base);
  if (!client || !req) return 1;
  int failed = 0;
  double t0 = seed_now();
  for (int i = 0; i < count; i++) {
    char url[1024];
    seed_url(url, sizeof url, base, tmpl, i);
    /* A completed request can be sent again; its buffers are reused. */
    int err = fl_request_set_url(req, url);
    if (!err) err = fl_request_perform(client, req);
    if (err) {
      failed++;
      printf("%s: error: %s\n", url,
             err == fl_request_error(req) ? fl_request_errmsg(req) : fl_strerror(err));
      continue;
    }
    printf("%s\n", fl_response_body(fl_request_response(req), NULL));
  }
  seed_done(seed_now() - t0);
  fl_request_free(req);
  fl_client_free(client);
  fl_loop_free(loop);
  return failed ? 1 : 0;
}
