/* URL internals shared by url.c (parsing, percent-encoding, the query
 * builder) and url_resolve.c (reference resolution). Included by those two
 * files only. */
#ifndef FL_URL_IMPL_H
#define FL_URL_IMPL_H

#include <stddef.h>
#include <string.h>

#include "base/url.h"

/* Character classes and the scheme prefix: static inline, so each of the
 * two files keeps its own copy under the names it used before the split. */
static inline int is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static inline int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static inline int hex_val(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
static inline unsigned char to_lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}
static inline int is_unreserved(unsigned char c) {
  return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}
static inline int is_subdelim(unsigned char c) {
  return c != 0 && strchr("!$&'()*+,;=", c) != NULL;
}
static inline int is_scheme_char(unsigned char c) {
  return is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.';
}
/* Never allowed anywhere: controls, space, DEL. */
static inline int is_forbidden(unsigned char c) { return c <= 0x20 || c == 0x7f; }

static const char hex_upper[] = "0123456789ABCDEF";

/* Length of a valid scheme at the start of s[0..n) that is followed by ':',
 * or 0 if there is none. */
static inline size_t scheme_prefix(const char *s, size_t n) {
  size_t i = 0;
  if (n == 0 || !is_alpha((unsigned char)s[0])) return 0;
  while (i < n && is_scheme_char((unsigned char)s[i])) i++;
  return (i < n && s[i] == ':') ? i : 0;
}

/* url.c: RFC 3986 section 5.2.4 on in[0..n); writes at most n bytes to
 * out, which may be the same buffer as in. Returns the output length. */
size_t fl__url_remove_dot_segments(const char *in, size_t n, char *out);

#endif
