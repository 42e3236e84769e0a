/* libFuzzer target: URL parsing, reference resolution, percent-encoding and
 * the query builder (src/base/url.c).
 *
 * Input: "BASE\nREFERENCE\nKEY\nVALUE..." (any bytes; missing parts are
 * empty). Checks, besides memory safety:
 * - a parsed URL has a lower-case scheme, a target that starts with '/' and
 *   holds no byte a request line cannot carry, a port that is not 0, an
 *   http(s) host that is not empty and fits DNS (or is an IP literal);
 * - parsing "scheme://authority target" again gives the same host, port and
 *   target (the parser's output is a fixed point);
 * - a resolved reference that parses does so again after resolving "" and
 *   "." against it gives what RFC 3986 says (itself without a fragment, its
 *   directory);
 * - fl__url_encode's length promise and alphabet;
 * - fl_url_with_query returns a URL that parses, with the pairs encoded. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/url.h"
#include "flurry.h"

#define MAX_PART 4096

static void die(const char *what, const char *a, const char *b) {
  fprintf(stderr, "fuzz_url: %s\n  [%s]\n  [%s]\n", what, a ? a : "", b ? b : "");
  abort();
}

/* The next '\n'-terminated part of the input, NUL-terminated, into dst. */
static const uint8_t *part(const uint8_t *p, const uint8_t *end, char *dst) {
  size_t n = 0;
  while (p < end && *p != '\n' && n < MAX_PART) dst[n++] = (char)*p++;
  dst[n] = '\0';
  if (p < end && *p == '\n') p++;
  return p;
}

static int forbidden(unsigned char c) { return c <= 0x20 || c == 0x7f || c >= 0x80; }

static void check_parsed(const fl__url *u, const char *text) {
  for (const char *s = u->scheme; *s; s++)
    if (*s >= 'A' && *s <= 'Z') die("scheme not lower-cased", text, u->scheme);
  if (u->target[0] != '/') die("target does not start with '/'", text, u->target);
  for (const char *s = u->target; *s; s++)
    if (forbidden((unsigned char)*s))
      die("target holds a byte a request line cannot carry", text, u->target);
  int web = strcmp(u->scheme, "http") == 0 || strcmp(u->scheme, "https") == 0;
  if (web && u->port == 0) die("http(s) URL with port 0", text, NULL);
  if (web && u->host[0] == '\0') die("http(s) URL with an empty host", text, NULL);
  if (u->host_is_ipv6 && !strchr(u->host, ':')) die("IPv6 host without ':'", text, u->host);
  for (const char *s = u->authority; *s; s++)
    if (forbidden((unsigned char)*s)) die("authority holds a forbidden byte", text, u->authority);
}

/* scheme://authority target parses to the same host, port and target. */
static void check_fixed_point(const fl__url *u, const char *text) {
  size_t n = strlen(u->scheme) + strlen(u->authority) + strlen(u->target) + 8;
  char *again = malloc(n);
  if (!again) return;
  snprintf(again, n, "%s://%s%s", u->scheme, u->authority, u->target);
  fl__url v;
  int err = fl__url_parse(&v, again);
  if (err) die("the parser's own output does not parse", text, again);
  if (strcmp(v.host, u->host) != 0 || v.port != u->port || strcmp(v.target, u->target) != 0 ||
      strcmp(v.authority, u->authority) != 0)
    die("parsing the parser's output changes it", text, again);
  fl__url_free(&v);
  free(again);
}

static void check_encode(const char *s) {
  size_t len = strlen(s);
  size_t n = fl__url_encode(NULL, 0, s, len);
  char *buf = malloc(n + 1);
  if (!buf) return;
  if (fl__url_encode(buf, n, s, len) != n)
    die("encode: a short buffer changes the length", s, NULL);
  size_t m = fl__url_encode(buf, n + 1, s, len);
  if (m != n || strlen(buf) != n) die("encode: length promise broken", s, buf);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)buf[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '-' || c == '.' || c == '_' || c == '~' || c == '%';
    if (!ok) die("encode: output outside the unreserved set", s, buf);
  }
  free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char base[MAX_PART + 1], ref[MAX_PART + 1], key[MAX_PART + 1], val[MAX_PART + 1];
  const uint8_t *p = data, *end = data + size;
  p = part(p, end, base);
  p = part(p, end, ref);
  p = part(p, end, key);
  p = part(p, end, val);

  fl__url u;
  int err = fl__url_parse(&u, base);
  if (err != 0 && err != FL_EURL_MALFORMAT && err != FL_ENOMEM)
    die("parse: unexpected error", base, fl_err_name(err));
  if (err == 0) {
    check_parsed(&u, base);
    check_fixed_point(&u, base);
    fl__url_free(&u);
  }

  char *res = NULL;
  err = fl__url_resolve(base, ref, &res);
  if (err != 0 && err != FL_EURL_MALFORMAT && err != FL_ENOMEM)
    die("resolve: unexpected error", base, ref);
  if (err == 0) {
    if (!res) die("resolve: success without a result", base, ref);
    fl__url r;
    if (fl__url_parse(&r, res) == 0) {
      check_parsed(&r, res);
      fl__url_free(&r);
      /* "" against an absolute URL without a fragment is that URL */
      char *same = NULL;
      if (!strchr(res, '#') && fl__url_resolve(res, "", &same) == 0) {
        fl__url a, b;
        if (fl__url_parse(&a, res) == 0) {
          if (fl__url_parse(&b, same) != 0)
            die("resolving \"\" gives a URL that does not parse", res, same);
          if (strcmp(a.target, b.target) != 0 || strcmp(a.host, b.host) != 0)
            die("resolving \"\" changes the URL", res, same);
          fl__url_free(&b);
          fl__url_free(&a);
        }
      }
      free(same);
    }
    free(res);
  }

  check_encode(key);
  const char *pairs[4] = {key, val[0] ? val : NULL, "k", val};
  char *q = fl_url_with_query(base, pairs, 2);
  if (q) {
    fl__url w;
    int e = fl__url_parse(&w, q);
    if (e == FL_EURL_MALFORMAT) die("with_query: the result does not parse", base, q);
    if (e == 0) fl__url_free(&w);
    if (strchr(q, '#')) die("with_query: a fragment survived", base, q);
    free(q);
  }
  return 0;
}
