/* Following redirects: which responses are followed, how the method and
 * body change, and which credentials may go to the next hop. */
#include <stdlib.h>
#include <string.h>

#include "client/request.h"

static int is_redirect_status(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

static int follow_enabled(const fl_request *req, int *max) {
  if (req->follow_set) {
    *max = req->max_redirects;
    return req->follow;
  }
  *max = req->client->opts.max_redirects;
  return req->client->opts.follow_redirects;
}

int fl__redirect_wanted_3xx(const fl_request *req) {
  if (fl__auth_digest_wanted(req)) return 1;
  int max;
  if (!follow_enabled(req, &max) || !is_redirect_status(req->res.status)) return 0;
  return fl__headers_get(&req->res.headers, "Location") != NULL; /* else it is final */
}

static int method_is(const char *m, const char *want) { return strcmp(m, want) == 0; }

/* Move req to its next hop. 0, or an error to complete it with. */
int fl__redirect_next_hop(fl_request *req) {
  int max;
  follow_enabled(req, &max);
  if (max >= 0 && req->info.redirects >= max) {
    fl__request_msg(req, "maximum (%d) redirects followed", max);
    return FL_ETOO_MANY_REDIRECTS;
  }
  const char *loc = fl__headers_get(&req->res.headers, "Location");
  while (*loc == ' ' || *loc == '\t') loc++;
  size_t n = strlen(loc);
  while (n && (loc[n - 1] == ' ' || loc[n - 1] == '\t')) n--;
  if (req->info.redirects == 0) { /* first redirect: remember where the chain began */
    fl__buf_reset(&req->effective_url);
    if (fl__origin_of(&req->url, &req->origin) || fl__buf_puts(&req->effective_url, req->url_text))
      return FL_ENOMEM;
  }
  char *trimmed = strndup(loc, n), *next = NULL;
  if (!trimmed) return FL_ENOMEM;
  int err = fl__url_resolve(req->effective_url.data, trimmed, &next);
  fl__url nu;
  memset(&nu, 0, sizeof nu);
  if (!err) err = fl__url_parse(&nu, next);
  if (err) {
    fl__request_msg(req, "redirect to a malformed Location: %s", trimmed);
    free(trimmed);
    free(next);
    return err == FL_ENOMEM ? err : FL_EURL_MALFORMAT;
  }
  free(trimmed);
  if (!fl__scheme_supported(nu.scheme)) {
    fl__request_msg(req, "redirect to unsupported protocol \"%s\"", nu.scheme);
    fl__url_free(&nu);
    free(next);
    return FL_EUNSUPPORTED_PROTOCOL;
  }
  if (!fl__redirect_scheme_allowed(req, nu.scheme)) {
    fl__request_msg(req, "redirect to protocol \"%s\", which is not allowed", nu.scheme);
    fl__url_free(&nu);
    free(next);
    return FL_EUNSUPPORTED_PROTOCOL;
  }
  int status = req->res.status;
  unsigned keep = req->post_redirs; /* fl_request_set_post_redirects */
  int post = method_is(req->hop_method, "POST");
  int to_get =
      (status == 303 && !method_is(req->hop_method, "HEAD") && !(keep & FL_REDIR_POST_303)) ||
      (status == 301 && post && !(keep & FL_REDIR_POST_301)) ||
      (status == 302 && post && !(keep & FL_REDIR_POST_302));
  if (to_get) {
    req->hop_method = "GET";
    req->hop_drop_body = 1;
  } else if (req->upload_cb && !req->upload_rewind && !req->hop_drop_body) {
    fl__url_free(&nu);
    free(next);
    fl__request_msg(
        req, "%d redirect keeps the method and body, and a streamed body cannot be sent again",
        status);
    return FL_ESEND_REWIND;
  }
  /* Credentials stay with the first origin: once the chain leaves it they
   * are dropped for good, even if a later hop comes back. */
  fl__buf origin;
  fl__buf_init(&origin);
  if (fl__origin_of(&nu, &origin)) {
    fl__url_free(&nu);
    free(next);
    return FL_ENOMEM;
  }
  if (strcmp(origin.data, req->origin.data) != 0 && !req->trusted_redirects) req->stripped_auth = 1;
  fl__buf_dispose(&origin);
  fl__buf_reset(&req->effective_url);
  err = fl__buf_puts(&req->effective_url, next);
  free(next);
  if (err) {
    fl__url_free(&nu);
    return FL_ENOMEM;
  }
  fl__url_free(&req->url);
  req->url = nu;
  req->route_valid = 0;
  req->url_parsed = 0; /* the next send starts again from the user's URL */
  req->info.redirects++;
  if (fl__hooked(req->client)) fl__hook_redirect(req, status);
  return 0;
}
