/* Reference resolution (RFC 3986 section 5.2) for %{redirect_url}: the
 * absolute URL a Location header points to. The library resolves its own
 * redirects but has no public resolver; this one only needs to be right
 * for absolute http(s) bases. */
#include <string.h>

#include "cli.h"

typedef struct parts {
  const char *scheme, *auth, *path, *query; /* NULL: absent */
  size_t scheme_n, auth_n, path_n, query_n;
} parts;

static void split(const char *s, parts *p) {
  memset(p, 0, sizeof *p);
  size_t n = strcspn(s, ":/?#");
  if (s[n] == ':' && n > 0) {
    p->scheme = s, p->scheme_n = n;
    s += n + 1;
  }
  if (s[0] == '/' && s[1] == '/') {
    s += 2;
    p->auth = s, p->auth_n = strcspn(s, "/?#");
    s += p->auth_n;
  }
  p->path = s, p->path_n = strcspn(s, "?#");
  s += p->path_n;
  if (*s == '?') {
    p->query = s + 1, p->query_n = strcspn(s + 1, "#");
  }
}

/* RFC 3986 5.2.4, appending the result to out. */
static void remove_dots(cli_buf *out, const char *in, size_t n) {
  size_t start = out->len;
  const char *end = in + n;
  while (in < end) {
    size_t left = (size_t)(end - in);
    if (left >= 3 && !strncmp(in, "../", 3))
      in += 3;
    else if (left >= 2 && !strncmp(in, "./", 2))
      in += 2;
    else if ((left >= 3 && !strncmp(in, "/./", 3)) || (left == 2 && !strncmp(in, "/.", 2)))
      in += 2;
    else if ((left >= 4 && !strncmp(in, "/../", 4)) || (left == 3 && !strncmp(in, "/..", 3))) {
      in += 3;
      while (out->len > start && out->data[out->len - 1] != '/') out->len--;
      if (out->len > start) out->len--;
      out->data[out->len] = '\0';
    } else if ((left == 1 && *in == '.') || (left == 2 && !strncmp(in, "..", 2))) {
      in = end;
    } else {
      const char *seg = in + (*in == '/');
      size_t m = (size_t)(seg - in) + strcspn(seg, "/");
      if (m > left) m = left;
      cli_buf_add(out, in, m);
      in += m;
    }
  }
  if (!out->data) cli_buf_add(out, "", 0);
}

char *cli_url_resolve(const char *base, const char *ref) {
  parts b, r;
  split(base, &b);
  split(ref, &r);
  cli_buf out = {0};
  const parts *auth_from = &r, *query_from = &r;
  if (r.scheme) {
    cli_buf_add(&out, r.scheme, r.scheme_n);
  } else {
    cli_buf_add(&out, b.scheme ? b.scheme : "http", b.scheme ? b.scheme_n : 4);
    if (!r.auth) auth_from = &b;
  }
  cli_buf_addc(&out, ':');
  if (auth_from->auth) {
    cli_buf_adds(&out, "//");
    cli_buf_add(&out, auth_from->auth, auth_from->auth_n);
  }
  if (r.scheme || r.auth) {
    remove_dots(&out, r.path, r.path_n);
  } else if (r.path_n == 0) {
    cli_buf_add(&out, b.path, b.path_n);
    if (!r.query) query_from = &b;
  } else if (r.path[0] == '/') {
    remove_dots(&out, r.path, r.path_n);
  } else { /* merge (5.2.3), then remove dots */
    cli_buf merged = {0};
    if (b.auth && b.path_n == 0) {
      cli_buf_addc(&merged, '/');
    } else {
      const char *slash = NULL;
      for (const char *q = b.path; q < b.path + b.path_n; q++)
        if (*q == '/') slash = q;
      if (slash) cli_buf_add(&merged, b.path, (size_t)(slash - b.path + 1));
    }
    cli_buf_add(&merged, r.path, r.path_n);
    remove_dots(&out, merged.data, merged.len);
    cli_buf_free(&merged);
  }
  if (query_from->query) {
    cli_buf_addc(&out, '?');
    cli_buf_add(&out, query_from->query, query_from->query_n);
  }
  const char *frag = strchr(ref, '#');
  if (frag) cli_buf_adds(&out, frag);
  return out.data;
}
