/* Blocking helpers: a loop over the asynchronous path (as curl's easy API
 * runs its multi interface). */
#include <stdlib.h>

#include "flurry.h"

static void mark_done(fl_request *req, int err, void *data) {
  (void)req;
  (void)err;
  *(int *)data = 1;
}

int fl_request_perform(fl_client *client, fl_request *req) {
  int done = 0;
  int err = fl_request_send(client, req, mark_done, &done);
  if (err) return err;
  while (!done) fl_loop_run(fl_client_loop(client), FL_RUN_ONCE);
  return fl_request_error(req);
}

int fl_get(const char *url, fl_request **out) {
  if (!out) return FL_EINVAL;
  *out = NULL;
  fl_loop *loop = fl_loop_new();
  if (!loop) return FL_ENOMEM;
  fl_client *client = fl_client_new(loop, NULL);
  fl_request *req = client ? fl_request_new("GET", url) : NULL;
  int err = FL_ENOMEM;
  if (req) err = fl_request_perform(client, req);
  fl_client_free(client);
  fl_loop_free(loop);
  if (req && err == 0)
    *out = req;
  else
    fl_request_free(req);
  return err;
}
