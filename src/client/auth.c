/* Digest authentication on the request path: which responses are
 * challenges the request answers (401 for the server, 407 for an HTTP
 * proxy it reaches in absolute form), the next hop, and the credentials in
 * each hop's head. The flow is in client/digest.h; declarations in
 * client/request.h. */
#include <string.h>

#include "client/digest.h"
#include "client/request.h"

/* Credentials for the server: the request's, else the URL's. */
static void server_creds(const fl_request *req, const char **user, const char **pass) {
  *user = req->auth_user ? req->auth_user : req->url.user;
  *pass = req->auth_user ? req->auth_pass : req->url.password;
}

/* The HTTP proxy this hop goes through in absolute form, answering Digest. */
static const fl__proxy *digest_proxy(const fl_request *req) {
  const fl__proxy *px = req->route.forward ? req->route.proxy : NULL;
  return px && fl__proxy_digest(px) && fl__proxy_user(px) ? px : NULL;
}

static int has_challenge(const fl_request *req, const char *header) {
  fl__digest d;
  memset(&d, 0, sizeof d);
  int ok = fl__digest_parse(&d, &req->res.headers, header) == 0;
  fl__digest_dispose(&d);
  return ok;
}

/* --anyauth: a challenge of the Basic scheme in any WWW-Authenticate. */
static int offers_basic(const fl_request *req) {
  const fl__headers *h = &req->res.headers;
  for (size_t i = 0; i < h->n; i++) {
    if (!fl__strcaseeq(fl__headers_name(h, i), "WWW-Authenticate")) continue;
    const char *v = fl__headers_value(h, i);
    while (*v == ' ' || *v == ',') v++;
    if (fl__strncaseeq(v, "Basic", 5) && (v[5] == '\0' || v[5] == ' ' || v[5] == ',')) return 1;
  }
  return 0;
}

int fl__auth_digest_wanted(const fl_request *req) {
  int status = req->res.status;
  if (status == 401) {
    const char *user, *pass;
    server_creds(req, &user, &pass);
    if (!req->auth_digest || req->stripped_auth || req->digest_answered ||
        !fl__digest_creds_ok(user, pass) || fl__headers_has(&req->headers, "Authorization"))
      return 0;
    return has_challenge(req, "WWW-Authenticate") || (req->auth_any && offers_basic(req));
  }
  if (status == 407) {
    const fl__proxy *px = digest_proxy(req);
    if (!px || req->proxy_digest_answered ||
        !fl__digest_creds_ok(fl__proxy_user(px), fl__proxy_password(px)) ||
        fl__headers_has(&req->headers, "Proxy-Authorization"))
      return 0;
    return has_challenge(req, "Proxy-Authenticate");
  }
  return 0;
}

/* A hop with a body, whose credentials would wait for a challenge not
 * known yet (and not answered already). */
static int probe_wanted(const fl_request *req) {
  if (!req->has_body && !req->upload_cb) return 0;
  const char *user, *pass;
  server_creds(req, &user, &pass);
  const struct fl__req_digests *dg = req->digests;
  if (req->auth_digest && !req->stripped_auth && !(dg && dg->www.nonce) && !req->digest_answered &&
      fl__digest_creds_ok(user, pass) && !fl__headers_has(&req->headers, "Authorization"))
    return 1;
  const fl__proxy *px = digest_proxy(req);
  return px && !(dg && dg->proxy.nonce) && !req->proxy_digest_answered &&
         !fl__headers_has(&req->headers, "Proxy-Authorization");
}

void fl__auth_probe_end(fl_request *req) {
  if (!req->auth_probe) return;
  req->auth_probe = 0;
  req->hop_drop_body = 0;
}

void fl__auth_probe_begin(fl_request *req) {
  fl__auth_probe_end(req);
  if (req->hop_drop_body || !probe_wanted(req)) return;
  req->auth_probe = 1;
  req->hop_drop_body = 1;
}

int fl__auth_digest_next_hop(fl_request *req) {
  int proxy = req->res.status == 407;
  struct fl__req_digests *dg = fl__request_digests(req);
  int err = !dg     ? FL_ENOMEM
            : proxy ? fl__digest_parse(&dg->proxy, &req->res.headers, "Proxy-Authenticate")
                    : fl__digest_parse(&dg->www, &req->res.headers, "WWW-Authenticate");
  if (err && err != FL_ENOMEM && !proxy && req->auth_any && offers_basic(req)) {
    req->auth_digest = 0; /* --anyauth: Basic it is, on the next hop (head.c) */
    req->digest_answered = 1;
    req->head_reusable = 0; /* the first hop's head has no credentials */
    return 0;
  }
  if (err) {
    fl__request_msg(req, "%s", err == FL_ENOMEM ? "out of memory" : "no usable Digest challenge");
    return err;
  }
  if (proxy)
    req->proxy_digest_answered = 1;
  else
    req->digest_answered = 1;
  return 0;
}

void fl__auth_new_url(fl_request *req) {
  req->digest_answered = 0;
  req->proxy_digest_answered = 0;
}

void fl__auth_reset(fl_request *req) {
  req->auth_probe = 0;
  if (req->auth_any) req->auth_digest = 1; /* a new send asks again */
  struct fl__req_digests *dg = req->digests;
  if (dg && (dg->www.nonce || dg->www.realm)) fl__digest_dispose(&dg->www);
  if (dg && (dg->proxy.nonce || dg->proxy.realm)) fl__digest_dispose(&dg->proxy);
  fl__auth_new_url(req);
}

/* The digest's uri: the request-target as the one who checks it sees it.
 * The proxy gets the absolute form we send (RFC 7616 3.4); the server gets
 * the origin form, also when a proxy rewrote the line (curl does the same). */
static int digest_uri(const fl_request *req, int for_proxy, fl__buf *out) {
  fl__buf_reset(out);
  if (for_proxy && (fl__buf_puts(out, req->url.scheme) || fl__buf_puts(out, "://") ||
                    fl__buf_puts(out, req->url.authority)))
    return FL_ENOMEM;
  return fl__buf_puts(out, req->url.target) ? FL_ENOMEM : 0;
}

/* One Digest field: the value computed into a scratch buffer, then added. */
static int add_digest(fl__digest *d, fl__headers *h, const char *name, const char *user,
                      const char *pass, const char *method, const char *uri) {
  fl__buf v;
  fl__buf_init(&v);
  int err = fl__digest_put_header(d, &v, NULL, user, pass, method, uri, NULL);
  if (!err && fl__headers_add(h, name, strlen(name), v.data, v.len)) err = FL_ENOMEM;
  fl__buf_dispose(&v);
  return err;
}

int fl__auth_put_digest_headers(fl_request *req, fl__headers *h) {
  const fl__proxy *px = digest_proxy(req);
  struct fl__req_digests *dg = req->digests;
  if (!dg) return 0;
  int www = dg->www.nonce && req->auth_digest && !req->stripped_auth &&
            !fl__headers_has(&req->headers, "Authorization");
  int prx = px && dg->proxy.nonce && !fl__headers_has(&req->headers, "Proxy-Authorization");
  if (!www && !prx) return 0;
  fl__buf uri;
  fl__buf_init(&uri);
  int err = 0;
  if (prx) {
    err = digest_uri(req, 1, &uri);
    if (!err)
      err = add_digest(&dg->proxy, h, "Proxy-Authorization", fl__proxy_user(px),
                       fl__proxy_password(px), req->hop_method, uri.data);
  }
  const char *user, *pass;
  server_creds(req, &user, &pass);
  if (!err && www && fl__digest_creds_ok(user, pass)) {
    err = digest_uri(req, 0, &uri);
    if (!err) err = add_digest(&dg->www, h, "Authorization", user, pass, req->hop_method, uri.data);
  }
  fl__buf_dispose(&uri);
  return err;
}
