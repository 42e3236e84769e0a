/* Building requests and reading their outcome: the user-facing accessors.
 * The in-flight machinery is request.c's. */
#include <stdlib.h>
#include <string.h>

#include "client/request.h"
#include "engine/conn.h"

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

static int in_flight(const fl_request *req) { return req->state != FL__REQ_IDLE; }

fl_request *fl_request_new(const char *method, const char *url) {
  if (!method || !url) return NULL;
  fl_request *req = calloc(1, sizeof *req);
  if (!req) return NULL;
  fl__headers_init(&req->headers);
  fl__response_init(&req->res);
  fl__buf_init(&req->body);
  fl__buf_init(&req->origin);
  fl__buf_init(&req->effective_url);
  fl__queue_init(&req->inflight_node);
  fl__route_init(&req->route);
  fl__queue_init(&req->throttle.node);
  fl__queue_init(&req->waiter.node);
  fl__exchange_init(&req->ex, &fl__request_exchange_ops);
  req->upload_len = -1;
  req->save_fd = -1;
  req->http_version = -1;
  if (fl_request_set_method(req, method) || fl_request_set_url(req, url)) {
    fl_request_free(req);
    return NULL;
  }
  return req;
}


void fl_request_free(fl_request *req) {
  if (!req) return;
  if (in_flight(req)) {
    fl__hooks_forbid(req->client, "fl_request_free"); /* aborts: its hooks are running */
    fl__request_abandon(req);
  }
  free(req->method);
  free(req->url_text);
  fl__url_free(&req->url);
  fl__headers_dispose(&req->headers);
  fl__buf_dispose(&req->body);
  fl__response_dispose(&req->res);
  fl__route_dispose(&req->route);
  fl__exchange_dispose(&req->ex);
  fl__buf_dispose(&req->origin);
  fl__buf_dispose(&req->effective_url);
  free(req->auth_user);
  free(req->auth_pass);
  fl__auth_reset(req);
  fl__request_mem_free(req);
  free(req->save_path);
  free(req->unix_path);
  free(req->target);
  free(req);
}

int fl_request_set_request_target(fl_request *req, const char *target) {
  if (!req || in_flight(req)) return FL_EINVAL;
  /* one token of the request line: no space, no control byte */
  for (const char *p = target; p && *p; p++)
    if ((unsigned char)*p <= 0x20 || *p == 0x7f) return FL_EINVAL;
  if (target && !*target) return FL_EINVAL;
  char *copy = target ? dup_str(target) : NULL;
  if (target && !copy) return FL_ENOMEM;
  free(req->target);
  req->target = copy;
  req->head_reusable = 0;
  return 0;
}

int fl_request_set_unix_socket(fl_request *req, const char *path, int abstract) {
  if (!req || in_flight(req) || (path && strlen(path) > 107)) return FL_EINVAL;
  char *copy = path ? dup_str(path) : NULL;
  if (path && !copy) return FL_ENOMEM;
  free(req->unix_path);
  req->unix_path = copy;
  req->unix_abstract = path && abstract;
  req->route_valid = 0; /* the route's target changed */
  return 0;
}

int fl_request_set_url(fl_request *req, const char *url) {
  if (!req || !url) return FL_EINVAL;
  if (in_flight(req)) return FL_EINVAL;
  char *copy = dup_str(url);
  if (!copy) return FL_ENOMEM;
  free(req->url_text);
  req->url_text = copy;
  req->url_parsed = 0;
  req->head_reusable = 0;
  return 0;
}

int fl_request_set_method(fl_request *req, const char *method) {
  if (!req || !method) return FL_EINVAL;
  if (in_flight(req)) return FL_EINVAL;
  if (!fl__token_valid(method, strlen(method))) return FL_EBAD_HEADER;
  char *copy = dup_str(method);
  if (!copy) return FL_ENOMEM;
  free(req->method);
  req->method = copy;
  req->shaped_method = NULL;
  req->head_reusable = 0;
  return 0;
}

static int check_header(fl_request *req, const char *name, const char *value) {
  if (!req || !name || !value) return FL_EINVAL;
  if (in_flight(req)) return FL_EINVAL;
  if (!fl__token_valid(name, strlen(name)) || !fl__field_value_valid(value, strlen(value)))
    return FL_EBAD_HEADER;
  req->head_reusable = 0;
  return 0;
}

int fl_request_add_header(fl_request *req, const char *name, const char *value) {
  int err = check_header(req, name, value);
  if (err) return err;
  return fl__headers_add(&req->headers, name, strlen(name), value, strlen(value));
}

int fl_request_set_header(fl_request *req, const char *name, const char *value) {
  int err = check_header(req, name, value);
  if (err) return err;
  fl__headers_remove(&req->headers, name);
  return fl__headers_add(&req->headers, name, strlen(name), value, strlen(value));
}

int fl_request_remove_header(fl_request *req, const char *name) {
  if (!req || !name) return FL_EINVAL;
  if (in_flight(req)) return FL_EINVAL;
  if (!fl__token_valid(name, strlen(name))) return FL_EBAD_HEADER;
  req->head_reusable = 0;
  fl__headers_remove(&req->headers, name);
  if (fl__strcaseeq(name, "User-Agent")) req->removed_defaults |= FL__DEF_USER_AGENT;
  if (fl__strcaseeq(name, "Accept")) req->removed_defaults |= FL__DEF_ACCEPT;
  if (fl__strcaseeq(name, "Expect")) req->removed_defaults |= FL__DEF_EXPECT;
  return 0;
}

int fl_request_set_body(fl_request *req, const void *body, size_t len) {
  if (!req || (!body && len)) return FL_EINVAL;
  if (in_flight(req)) return FL_EINVAL;
  fl__buf_reset(&req->body);
  req->head_reusable = 0;
  if (len && fl__buf_append(&req->body, body, len)) return FL_ENOMEM;
  req->has_body = 1;
  req->upload_cb = NULL;
  req->upload_rewind = NULL;
  return 0;
}

int fl_request_set_upload(fl_request *req, fl_upload_cb cb, void *data) {
  if (!req || !cb) return FL_EINVAL;
  if (in_flight(req)) return FL_EINVAL;
  req->upload_cb = cb;
  req->upload_data = data;
  req->upload_len = -1;
  req->head_reusable = 0;
  req->upload_rewind = NULL;
  req->has_body = 0;
  fl__buf_reset(&req->body);
  return 0;
}

void fl_request_set_timeouts(fl_request *req, const fl_timeouts *t) {
  if (!req) return;
  req->settled_client = 0; /* timeouts_now again at the next send */
  if (t) {
    req->timeouts = *t;
    req->has_timeouts = 1;
  } else {
    req->has_timeouts = 0;
  }
}

void fl_request_on_body(fl_request *req, fl_body_cb cb, void *data) {
  if (!req) return;
  req->body_cb = cb;
  req->body_data = data;
}

void fl_request_set_path_as_is(fl_request *req, int on) {
  if (!req || req->path_as_is == !!on) return;
  req->path_as_is = !!on;
  req->url_parsed = 0; /* parsed again at the next send */
}

void fl_request_ignore_content_length(fl_request *req, int on) {
  if (!req) return;
  req->ex.ignore_content_length = !!on;
  req->shaped_method = NULL; /* pipelinable is worked out again (request.c) */
}

void fl_request_set_raw(fl_request *req, int on) {
  if (req) req->ex.raw = !!on;
}

void fl_request_keep_headers(fl_request *req, int keep) {
  if (req) req->ex.known_headers_only = !keep;
}

void fl_request_on_headers(fl_request *req, fl_headers_cb cb, void *data) {
  if (!req) return;
  req->headers_cb = cb;
  req->headers_data = data;
}

void fl_request_set_max_body(fl_request *req, uint64_t max) {
  if (!req) return;
  req->max_body = max;
  req->settled_client = 0; /* body_limit again at the next send */
}

void fl_request_set_retryable(fl_request *req, int retryable) {
  if (req) req->retryable = retryable != 0;
}

int fl_request_set_http_version(fl_request *req, int version) {
  if (!req || in_flight(req) || version < FL_HTTP_VERSION_DEFAULT ||
      version > FL_HTTP_VERSION_2_ONLY)
    return FL_EINVAL;
  if (req->http_version != version) req->route_valid = 0; /* the route depends on it */
  req->http_version = version;
  return 0;
}

int fl_request_error(const fl_request *req) { return req ? req->err : FL_EINVAL; }
/* A message lost for want of memory says what the code says. */
const char *fl_request_errmsg(const fl_request *req) {
  if (!req) return "";
  if (req->errmsg_lost) return fl_strerror(req->err);
  return req->errmsg ? req->errmsg : "";
}
const char *fl_request_url(const fl_request *req) { return req ? req->url_text : NULL; }
const char *fl_request_method(const fl_request *req) { return req ? req->method : NULL; }
const fl_info *fl_request_info(const fl_request *req) { return req ? &req->info : NULL; }

const fl_response *fl_request_response(const fl_request *req) {
  if (!req || req->res.status == 0) return NULL;
  return &req->res;
}

void fl_request_set_follow(fl_request *req, int follow, int max_redirects) {
  if (!req) return;
  req->follow_set = 1;
  req->follow = follow != 0;
  req->max_redirects = max_redirects < 0 ? -1 : max_redirects;
}

static int set_auth(fl_request *req, const char *user, const char *password, int digest) {
  if (!req || in_flight(req)) return FL_EINVAL;
  char *u = user ? dup_str(user) : NULL, *p = password ? dup_str(password) : NULL;
  if ((user && !u) || (password && !p)) {
    free(u);
    free(p);
    return FL_ENOMEM;
  }
  free(req->auth_user);
  free(req->auth_pass);
  req->head_reusable = 0;
  req->auth_user = u;
  req->auth_pass = p;
  req->auth_digest = digest;
  req->auth_any = 0;
  return 0;
}

int fl_request_set_basic_auth(fl_request *req, const char *user, const char *password) {
  return set_auth(req, user, password, 0);
}

int fl_request_set_digest_auth(fl_request *req, const char *user, const char *password) {
  if (user && !fl__digest_creds_ok(user, password)) return FL_EBAD_HEADER;
  return set_auth(req, user, password, 1);
}

int fl_request_set_json(fl_request *req, const char *json) {
  if (!req || !json) return FL_EINVAL;
  int err = fl_request_set_body(req, json, strlen(json));
  return err ? err : fl_request_set_header(req, "Content-Type", "application/json");
}

int fl_request_set_form(fl_request *req, const char *const *pairs, size_t npairs) {
  if (!req || (npairs && !pairs) || in_flight(req)) return FL_EINVAL;
  fl__buf b;
  fl__buf_init(&b);
  int err = 0;
  for (size_t i = 0; i < npairs && !err; i++) {
    const char *k = pairs[2 * i], *v = pairs[2 * i + 1];
    if (!k) {
      err = FL_EINVAL;
      break;
    }
    if (i && fl__buf_append(&b, "&", 1)) err = FL_ENOMEM;
    for (int part = 0; part < 2 && !err && (part == 0 || v); part++) {
      const char *s = part ? v : k;
      if (part && fl__buf_append(&b, "=", 1)) err = FL_ENOMEM;
      size_t need = fl__url_encode(NULL, 0, s, strlen(s));
      if (!err && fl__buf_reserve(&b, need + 1)) err = FL_ENOMEM;
      if (!err) b.len += fl__url_encode(b.data + b.len, b.cap - b.len, s, strlen(s));
    }
  }
  if (!err) err = fl_request_set_body(req, b.data ? b.data : "", b.len);
  if (!err) err = fl_request_set_header(req, "Content-Type", "application/x-www-form-urlencoded");
  fl__buf_dispose(&b);
  return err;
}

void fl_request_set_max_filesize(fl_request *req, uint64_t max) {
  if (!req) return;
  req->max_filesize = max;
  req->settled_client = 0; /* filesize_now again at the next send */
  if (req->client)         /* in flight: what its body is held to from now on */
    req->filesize_now = max ? max : req->client->opts.max_filesize;
}

const char *fl_request_effective_url(const fl_request *req) {
  if (!req) return NULL;
  return req->effective_url.len ? req->effective_url.data : req->url_text;
}

int fl_request_save_to(fl_request *req, const char *path) {
  if (!req || in_flight(req)) return FL_EINVAL;
  char *copy = path ? dup_str(path) : NULL;
  if (path && !copy) return FL_ENOMEM;
  free(req->save_path);
  req->save_path = copy;
  return 0;
}

int fl_request_set_upload_sized(fl_request *req, fl_upload_cb cb, void *data, uint64_t length) {
  if (length > INT64_MAX) return FL_EINVAL;
  int err = fl_request_set_upload(req, cb, data);
  if (!err) req->upload_len = (int64_t)length;
  return err;
}

void fl_request_on_trace(fl_request *req, fl_trace_cb cb, void *data) {
  if (!req) return;
  req->trace_cb = cb;
  req->trace_data = data;
}

void fl_request_pause(fl_request *req) {
  if (!req || req->paused) return;
  req->paused = 1;
  req->ex.paused = 1;
  if (req->ex.carrier) fl__conn_update_pause(req->ex.carrier, &req->ex); /* else at its start */
}

void fl_request_resume(fl_request *req) {
  if (!req || !req->paused) return;
  req->paused = 0;
  req->ex.paused = req->rate_paused; /* the speed cap's pause holds (policy.c) */
  if (req->ex.carrier) fl__conn_update_pause(req->ex.carrier, &req->ex);
}
