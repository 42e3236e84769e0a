/* Reference resolution (RFC 3986 section 5.2): a Location header against
 * the URL it answered. See url.h. */
#include "base/url_impl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flurry.h"

/* ---------------------------------------------------- reference resolution */

typedef struct uri_part {
  const char *s;
  size_t n;
  int has;
} uri_part;

typedef struct uri_parts {
  uri_part scheme, auth, path, query;
} uri_parts;

/* Split a URI reference into components (RFC 3986 appendix B, except that
 * a scheme must be syntactically valid; "1x:y" is a relative path). The
 * fragment is ignored. */
static void split_ref(const char *s, size_t n, uri_parts *p) {
  size_t i = 0;
  memset(p, 0, sizeof *p);
  size_t sl = scheme_prefix(s, n);
  if (sl > 0) {
    p->scheme.s = s;
    p->scheme.n = sl;
    p->scheme.has = 1;
    i = sl + 1;
  }
  if (n - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
    i += 2;
    p->auth.s = s + i;
    while (i < n && s[i] != '/' && s[i] != '?' && s[i] != '#') i++;
    p->auth.n = (size_t)(s + i - p->auth.s);
    p->auth.has = 1;
  }
  p->path.s = s + i;
  while (i < n && s[i] != '?' && s[i] != '#') i++;
  p->path.n = (size_t)(s + i - p->path.s);
  p->path.has = 1;
  if (i < n && s[i] == '?') {
    i++;
    p->query.s = s + i;
    while (i < n && s[i] != '#') i++;
    p->query.n = (size_t)(s + i - p->query.s);
    p->query.has = 1;
  }
}

/* Copy s with spaces and bytes >= 0x80 percent-encoded (as curl does for a
 * Location header). Other controls and DEL fail with FL_EURL_MALFORMAT. */
static int encode_loose(const char *s, char **out, size_t *outlen) {
  size_t n = 0;
  *out = NULL;
  for (const char *p = s; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c < 0x20 || c == 0x7f) return FL_EURL_MALFORMAT;
    n += (c == ' ' || c >= 0x80) ? 3 : 1;
    if (n > SIZE_MAX / 4) return FL_ENOMEM;
  }
  char *e = malloc(n + 1);
  if (!e) return FL_ENOMEM;
  size_t k = 0;
  for (const char *p = s; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == ' ' || c >= 0x80) {
      e[k++] = '%';
      e[k++] = hex_upper[c >> 4];
      e[k++] = hex_upper[c & 15];
    } else {
      e[k++] = (char)c;
    }
  }
  e[k] = '\0';
  *out = e;
  *outlen = k;
  return 0;
}

int fl__url_resolve(const char *base, const char *ref, char **out) {
  if (!out) return FL_EINVAL;
  *out = NULL;
  if (!base || !ref) return FL_EURL_MALFORMAT;

  /* Both may carry spaces and raw bytes >= 0x80 (a Location header often
   * does): they are percent-encoded. Other controls and DEL are malformed. */
  char *ebase = NULL, *eref = NULL, *merged = NULL, *res = NULL;
  size_t bn = 0, en = 0;
  int err = encode_loose(base, &ebase, &bn);
  if (err == 0) err = encode_loose(ref, &eref, &en);
  if (err != 0) goto fail;

  uri_parts B, R;
  uri_part scheme, auth, query;
  const char *path;
  size_t pathn;
  int dots;
  char *w;
  split_ref(ebase, bn, &B);
  split_ref(eref, en, &R);
  if (!B.scheme.has) {
    err = FL_EURL_MALFORMAT;
    goto fail;
  }
  /* merged path: base path + "/" + reference path; the result: every part of
   * base and reference fits */
  merged = malloc(bn + en + 2);
  res = malloc(bn + en + 8);
  if (!merged || !res) {
    err = FL_ENOMEM;
    goto fail;
  }

  /* RFC 3986 section 5.2.2 (strict: a reference with a scheme is absolute) */
  dots = 1;
  if (R.scheme.has) {
    scheme = R.scheme;
    auth = R.auth;
    path = R.path.s;
    pathn = R.path.n;
    query = R.query;
  } else {
    scheme = B.scheme;
    if (R.auth.has) {
      auth = R.auth;
      path = R.path.s;
      pathn = R.path.n;
      query = R.query;
    } else {
      auth = B.auth;
      if (R.path.n == 0) {
        path = B.path.s;
        pathn = B.path.n;
        dots = 0;
        query = R.query.has ? R.query : B.query;
      } else if (R.path.s[0] == '/') {
        path = R.path.s;
        pathn = R.path.n;
        query = R.query;
      } else {
        /* 5.2.3 merge */
        size_t m = 0;
        if (B.auth.has && B.path.n == 0) {
          merged[m++] = '/';
        } else {
          size_t keep = B.path.n;
          while (keep > 0 && B.path.s[keep - 1] != '/') keep--;
          memcpy(merged, B.path.s, keep);
          m = keep;
        }
        memcpy(merged + m, R.path.s, R.path.n);
        m += R.path.n;
        path = merged;
        pathn = m;
        query = R.query;
      }
    }
  }

  /* 5.3 recomposition, without a fragment */
  w = res;
  for (size_t i = 0; i < scheme.n; i++) *w++ = (char)to_lower((unsigned char)scheme.s[i]);
  *w++ = ':';
  if (auth.has) {
    *w++ = '/';
    *w++ = '/';
    memcpy(w, auth.s, auth.n);
    w += auth.n;
  }
  if (dots) {
    w += fl__url_remove_dot_segments(path, pathn, w);
  } else {
    memcpy(w, path, pathn);
    w += pathn;
  }
  if (query.has) {
    *w++ = '?';
    memcpy(w, query.s, query.n);
    w += query.n;
  }
  *w = '\0';

  free(ebase);
  free(eref);
  free(merged);
  *out = res;
  return 0;

fail:
  free(ebase);
  free(eref);
  free(merged);
  free(res);
  return err;
}
