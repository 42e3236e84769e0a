/* The out-of-line parts of a request (client/request.h says which and
 * why), each allocated on first use and freed with the request. */
#include <stdio.h>
#include <stdlib.h>

#include "client/request.h"

void fl__request_msgv(fl_request *req, const char *fmt, va_list ap) {
  if (!req->errmsg && !(req->errmsg = malloc(FL__ERRMSG_CAP))) {
    req->errmsg_lost = 1; /* fl_request_errmsg falls back to the code's text */
    return;
  }
  req->errmsg_lost = 0;
  if (vsnprintf(req->errmsg, FL__ERRMSG_CAP, fmt, ap) < 0) req->errmsg[0] = '\0';
}

void fl__request_msg(fl_request *req, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fl__request_msgv(req, fmt, ap);
  va_end(ap);
}

struct fl__req_digests *fl__request_digests(fl_request *req) {
  if (!req->digests) req->digests = calloc(1, sizeof *req->digests);
  return req->digests;
}

struct fl__req_upgrade *fl__request_upgrade(fl_request *req) {
  if (!req->upgrade && (req->upgrade = malloc(sizeof *req->upgrade))) {
    fl__transport_init(&req->upgrade->tp);
    fl__buf_init(&req->upgrade->rest);
  }
  return req->upgrade;
}

void fl__request_upgrade_drop(fl_request *req) {
  struct fl__req_upgrade *u = req->upgrade;
  if (!u) return;
  if (u->tp.fd >= 0 || u->tp.ops) fl__transport_close(&u->tp);
  fl__buf_reset(&u->rest);
}

void fl__request_mem_free(fl_request *req) {
  if (req->upgrade) {
    fl__request_upgrade_drop(req);
    fl__buf_dispose(&req->upgrade->rest);
    free(req->upgrade);
    req->upgrade = NULL;
  }
  free(req->errmsg);
  req->errmsg = NULL;
  if (req->digests) {
    fl__digest_dispose(&req->digests->www);
    fl__digest_dispose(&req->digests->proxy);
    free(req->digests);
    req->digests = NULL;
  }
  fl__speedcap_free(req);
}
