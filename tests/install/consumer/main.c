/* A program built against an installed flurry (tests/install/run.sh builds it
 * with pkg-config and with find_package(flurry), shared and static). It
 * needs no server: it checks that header and library agree, reads the error
 * table, and runs a loop with one request to a closed loopback port. */
#include <flurry.h>
#include <stdio.h>
#include <string.h>

static int done_calls;

static void done(fl_request *req, int err, void *data) {
  (void)req;
  (void)data;
  done_calls++;
  printf("request: %s\n", err ? fl_err_name(err) : "a response");
}

int main(int argc, char **argv) {
  const char *url = argc > 1 ? argv[1] : "http://127.0.0.1:1/";
  if (strcmp(fl_version(), FL_VERSION_STRING) != 0) {
    fprintf(stderr, "header says %s, library says %s\n", FL_VERSION_STRING, fl_version());
    return 1;
  }
  if (fl_err_curl_code(FL_ECONNECT) != 7 || !*fl_strerror(FL_ECONNECT)) {
    fprintf(stderr, "error table: FL_ECONNECT is not curl's 7\n");
    return 1;
  }

  fl_loop *loop = fl_loop_new();
  fl_client *client = loop ? fl_client_new(loop, NULL) : NULL;
  fl_request *req = fl_request_new("GET", url);
  if (!loop || !client || !req) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }
  fl_timeouts t = {.total_ms = 5000};
  fl_request_set_timeouts(req, &t);
  int rc = fl_request_send(client, req, done, NULL);
  if (rc == 0) fl_loop_run(loop, FL_RUN_DEFAULT);
  fl_request_free(req);
  fl_client_free(client);
  if (fl_loop_free(loop) != 0) {
    fprintf(stderr, "fl_loop_free refused\n");
    return 1;
  }
  if (rc != 0 || done_calls != 1) {
    fprintf(stderr, "send returned %d, callback ran %d times\n", rc, done_calls);
    return 1;
  }
  printf("ok: %s\n", fl_version_details());
  return 0;
}
