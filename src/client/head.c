/* A hop's request head: the request line, Host, the client's defaults, the
 * credentials this hop may carry (Basic auth, the proxy's, cookies from the
 * jar), the user's headers and the body's framing. Policy lives here; the
 * codec (http/h1.h) only knows the syntax. */
#include <stdio.h>
#include <string.h>

#include "base/base64.h"
#include "client/request.h"
#include "http/h1.h"

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

static int put_basic_auth(fl__buf *b, const char *user, const char *pass) {
  fl__buf plain;
  fl__buf_init(&plain);
  int err = fl__buf_puts(&plain, user) || fl__buf_puts(&plain, ":") ||
            fl__buf_puts(&plain, pass ? pass : "");
  err = err || fl__buf_puts(b, "Authorization: Basic ") ||
        fl__base64_encode(plain.data, plain.len, b) || fl__buf_puts(b, "\r\n");
  fl__buf_dispose(&plain);
  return err;
}

/* One Cookie header: the caller's (unless stripped) joined with the jar's. */
static int put_cookies(fl__buf *b, fl_request *req) {
  const char *mine = req->stripped_auth ? NULL : fl__headers_get(&req->headers, "Cookie");
  const char *jar = fl__request_jar_header(req);
  if (!mine && !jar) return 0;
  return fl__buf_puts(b, "Cookie: ") || (mine && fl__buf_puts(b, mine)) ||
         (mine && jar && fl__buf_puts(b, "; ")) || (jar && fl__buf_puts(b, jar)) ||
         fl__buf_puts(b, "\r\n");
}

static int put_length(fl__buf *b, long long n) {
  char len[32];
  snprintf(len, sizeof len, "%lld", n);
  return fl__h1_put_header(b, "Content-Length", len);
}

static int put_framing(fl__buf *b, const fl_request *req) {
  if (req->auth_probe) return put_length(b, 0); /* the body waits for the credentials */
  if (req->hop_drop_body) return 0;
  if (req->upload_cb && req->upload_len < 0)
    return fl__h1_put_header(b, "Transfer-Encoding", "chunked");
  if (req->upload_cb) return put_length(b, req->upload_len);
  if (req->has_body || !strcmp(req->hop_method, "POST") || !strcmp(req->hop_method, "PUT") ||
      !strcmp(req->hop_method, "PATCH"))
    return put_length(b, (long long)req->body.len);
  return 0;
}

int fl__request_build_head(fl_request *req) {
  fl_client *c = req->client;
  const fl__headers *h = &req->headers;
  fl__buf *b = &req->ex.head;
  fl__buf_reset(b);
  const char *host = fl__headers_get(h, "Host");
  const fl__proxy *px = req->route.forward ? req->route.proxy : NULL;
  int err = fl__h1_put_request_line(b, req->hop_method, px ? req->url.scheme : NULL,
                                    req->url.authority, req->url.target) ||
            fl__h1_put_header(b, "Host", host ? host : req->url.authority);
  if (!err && px && fl__proxy_auth(px) && !fl__headers_has(h, "Proxy-Authorization"))
    err = fl__h1_put_header(b, "Proxy-Authorization", fl__proxy_auth(px));
  if (!err && !(req->removed_defaults & FL__DEF_USER_AGENT) && !fl__headers_has(h, "User-Agent"))
    err = fl__h1_put_header(b, "User-Agent", c->user_agent);
  if (!err && !(req->removed_defaults & FL__DEF_ACCEPT) && !fl__headers_has(h, "Accept"))
    err = fl__h1_put_header(b, "Accept", "*/*");
  if (!err && c->opts.decompress && !fl__headers_has(h, "Accept-Encoding"))
    err = fl__h1_put_header(b, "Accept-Encoding", "gzip, deflate, br, zstd");
  if (!err && !req->stripped_auth && !req->auth_digest && !fl__headers_has(h, "Authorization")) {
    if (req->auth_user)
      err = put_basic_auth(b, req->auth_user, req->auth_pass);
    else if (req->url.user)
      err = put_basic_auth(b, req->url.user, req->url.password);
  }
  if (!err) err = fl__auth_put_digest_headers(req, b);
  for (size_t i = 0; !err && i < h->n; i++) {
    const char *name = fl__headers_name(h, i);
    if (!skip_user_header(req, name)) err = fl__h1_put_header(b, name, fl__headers_value(h, i));
  }
  if (!err && req->ex.expect_ms && !fl__headers_has(h, "Expect"))
    err = fl__h1_put_header(b, "Expect", "100-continue");
  err = err || put_cookies(b, req) || put_framing(b, req) || fl__h1_end_head(b);
  return err ? FL_ENOMEM : 0;
}
