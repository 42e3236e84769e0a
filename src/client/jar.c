/* The client's cookie jar on the request path: every response's Set-Cookie
 * headers go in, and each hop's Cookie header comes out. Cookies follow the
 * jar's RFC 6265 rules (cookies.h); this file only adapts requests to them. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/request.h"
#include "http/cookies.h"

static int64_t unix_now(void) { return (int64_t)time(NULL); }

static void origin_of_req(const fl_request *req, fl__cookie_origin *o) {
  o->host = req->url.host;
  o->path = req->url.target;
  o->is_https = strcmp(req->url.scheme, "https") == 0;
  o->now = unix_now();
}

int fl__client_jar_init(fl_client *c) {
  if (!c->opts.cookies) return 0;
  c->jar = fl__cookie_jar_new();
  if (!c->jar) return FL_ENOMEM;
  fl__cookie_jar_set_psl(c->jar, NULL); /* the latest list, as curl (http/psl.h) */
  return 0;
}

void fl__client_jar_free(fl_client *c) {
  fl__cookie_jar_free(c->jar);
  c->jar = NULL;
  fl__buf_dispose(&c->scratch);
}

const char *fl__request_jar_header(fl_request *req) {
  fl_client *c = req->client;
  if (!c->jar || fl__cookie_jar_count(c->jar) == 0) return NULL; /* the common fast path */
  fl__cookie_origin o;
  origin_of_req(req, &o);
  fl__buf_reset(&c->scratch);
  int n = fl__cookie_jar_header(c->jar, &o, &c->scratch);
  return n > 0 ? c->scratch.data : NULL;
}

void fl__request_store_cookies(fl_request *req) {
  fl_client *c = req->client;
  if (!c->jar || !fl__headers_has(&req->res.headers, "Set-Cookie")) return;
  fl__cookie_origin o;
  origin_of_req(req, &o);
  fl__cookie_jar_set_headers(c->jar, &req->res.headers,
                             &o); /* ENOMEM: the cookie is lost, not the response */
}

int fl_client_cookies_load(fl_client *c, const char *path) {
  if (!c || !path || !c->jar) return FL_EINVAL;
  int n = fl__cookie_jar_load(c->jar, path, unix_now());
  return n < 0 ? n : 0;
}

int fl_client_cookies_save(const fl_client *c, const char *path) {
  if (!c || !path || !c->jar) return FL_EINVAL;
  return fl__cookie_jar_save(c->jar, path, unix_now());
}

static int parse_origin(const char *url, fl__url *u, fl__cookie_origin *o) {
  int err = fl__url_parse(u, url);
  if (err) return err;
  o->host = u->host;
  o->path = u->target;
  o->is_https = strcmp(u->scheme, "https") == 0;
  o->now = unix_now();
  return 0;
}

int fl_client_cookies_set(fl_client *c, const char *url, const char *set_cookie) {
  if (!c || !url || !set_cookie || !c->jar) return FL_EINVAL;
  fl__url u;
  fl__cookie_origin o;
  int err = parse_origin(url, &u, &o);
  if (err) return err;
  int r = fl__cookie_jar_set(c->jar, set_cookie, strlen(set_cookie), &o);
  fl__url_free(&u);
  return r < 0 ? r : 0;
}

char *fl_client_cookies_for(fl_client *c, const char *url) {
  if (!c || !url || !c->jar) return NULL;
  fl__url u;
  fl__cookie_origin o;
  if (parse_origin(url, &u, &o)) return NULL;
  fl__buf out;
  fl__buf_init(&out);
  int n = fl__cookie_jar_header(c->jar, &o, &out);
  fl__url_free(&u);
  if (n <= 0) {
    fl__buf_dispose(&out);
    return NULL;
  }
  return out.data; /* malloc'd by the buffer: the caller frees it */
}
