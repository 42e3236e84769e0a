/* A hop's request head as data (ex->rh): method, target, authority, the
 * client's defaults, the credentials this hop may carry (Basic auth, the
 * proxy's, cookies from the jar), the user's headers and the body's
 * framing. Policy lives here; each carrier writes its own wire form
 * (HTTP/1.1 text, HPACK) and drops what its protocol forbids. */
#include <stdio.h>
#include <string.h>

#include "base/base64.h"
#include "client/request.h"

static int is_credential_header(const char *name) {
  return fl__strcaseeq(name, "Authorization") || fl__strcaseeq(name, "Cookie") ||
         fl__strcaseeq(name, "Proxy-Authorization");
}

/* Headers we write ourselves, or drop on this hop. */
static int skip_user_header(const fl_request *req, const char *name) {
  if (fl__strcaseeq(name, "Host") || fl__strcaseeq(name, "Content-Length") ||
      fl__strcaseeq(name, "Transfer-Encoding") || fl__strcaseeq(name, "Cookie"))
    return 1;
  if (req->stripped_auth && is_credential_header(name)) return 1;
  if (req->hop_drop_body && !req->auth_probe && fl__strncaseeq(name, "Content-", 8)) return 1;
  return 0;
}

static int add(fl__headers *h, const char *name, const char *value) {
  return fl__headers_add(h, name, strlen(name), value, strlen(value));
}

static int put_basic_auth(fl__headers *h, const char *user, const char *pass) {
  fl__buf plain, v;
  fl__buf_init(&plain);
  fl__buf_init(&v);
  int err = fl__buf_puts(&plain, user) || fl__buf_puts(&plain, ":") ||
            fl__buf_puts(&plain, pass ? pass : "");
  err = err || fl__buf_puts(&v, "Basic ") || fl__base64_encode(plain.data, plain.len, &v) ||
        fl__headers_add(h, "Authorization", 13, v.data, v.len);
  fl__buf_dispose(&plain);
  fl__buf_dispose(&v);
  return err;
}

/* One Cookie header: the caller's (unless stripped) joined with the jar's. */
static int put_cookies(fl__headers *h, fl_request *req) {
  const char *mine = req->stripped_auth ? NULL : fl__headers_get(&req->headers, "Cookie");
  const char *jar = fl__request_jar_header(req);
  if (!mine || !jar) return mine || jar ? add(h, "Cookie", mine ? mine : jar) : 0;
  fl__buf v;
  fl__buf_init(&v);
  int err = fl__buf_puts(&v, mine) || fl__buf_puts(&v, "; ") || fl__buf_puts(&v, jar) ||
            fl__headers_add(h, "Cookie", 6, v.data, v.len);
  fl__buf_dispose(&v);
  return err;
}

static int put_length(fl__headers *h, long long n) {
  char len[32];
  snprintf(len, sizeof len, "%lld", n);
  return add(h, "Content-Length", len);
}

static int put_framing(fl__headers *h, const fl_request *req) {
  if (req->auth_probe) return put_length(h, 0); /* the body waits for the credentials */
  if (req->hop_drop_body) return 0;
  if (req->upload_cb && req->upload_len < 0) return add(h, "Transfer-Encoding", "chunked");
  if (req->upload_cb) return put_length(h, req->upload_len);
  if (req->has_body || !strcmp(req->hop_method, "POST") || !strcmp(req->hop_method, "PUT") ||
      !strcmp(req->hop_method, "PATCH"))
    return put_length(h, (long long)req->body.len);
  return 0;
}

int fl__request_build_head(fl_request *req) {
  fl_client *c = req->client;
  const fl__headers *h = &req->headers;
  fl__req_head *rh = &req->ex.rh;
  fl__headers *out = &rh->fields;
  fl__headers_reset(out);
  const char *host = fl__headers_get(h, "Host");
  const fl__proxy *px = req->route.forward ? req->route.proxy : NULL;
  rh->method = req->hop_method;
  rh->scheme = req->url.scheme;
  rh->authority = host ? host : req->url.authority;
  rh->path = req->target ? req->target : req->url.target;
  rh->absolute = px != NULL && !req->target; /* a target set is sent as it is */
  rh->minor = fl__request_http_version(req) == FL_HTTP_VERSION_1_0 ? 0 : 1;
  if (++rh->gen == 0) rh->gen = 1;
  int err = 0;
  if (px && fl__proxy_auth(px) && !fl__headers_has(h, "Proxy-Authorization"))
    err = add(out, "Proxy-Authorization", fl__proxy_auth(px));
  if (!err && !(req->removed_defaults & FL__DEF_USER_AGENT) && !fl__headers_has(h, "User-Agent"))
    err = add(out, "User-Agent", c->user_agent);
  if (!err && !(req->removed_defaults & FL__DEF_ACCEPT) && !fl__headers_has(h, "Accept"))
    err = add(out, "Accept", "*/*");
  if (!err && c->opts.decompress && !fl__headers_has(h, "Accept-Encoding"))
    err = add(out, "Accept-Encoding", "gzip, deflate, br, zstd");
  if (!err && !req->stripped_auth && !req->auth_digest && !fl__headers_has(h, "Authorization")) {
    if (req->auth_user)
      err = put_basic_auth(out, req->auth_user, req->auth_pass);
    else if (req->url.user)
      err = put_basic_auth(out, req->url.user, req->url.password);
  }
  if (!err) err = fl__auth_put_digest_headers(req, out);
  for (size_t i = 0; !err && i < h->n; i++) {
    const char *name = fl__headers_name(h, i);
    if (!skip_user_header(req, name)) err = add(out, name, fl__headers_value(h, i));
  }
  if (px) /* --proxy-header: to a forward proxy, after the user's own */
    for (size_t i = 0; !err && i < c->proxies.headers.n; i++)
      err = add(out, fl__headers_name(&c->proxies.headers, i),
                fl__headers_value(&c->proxies.headers, i));
  if (!err && req->ex.expect_ms && !fl__headers_has(h, "Expect"))
    err = add(out, "Expect", "100-continue");
  err = err || put_cookies(out, req) || put_framing(out, req);
  return err ? FL_ENOMEM : 0;
}
