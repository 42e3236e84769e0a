/* Cookie jar (RFC 6265, with the RFC 6265bis hardening browsers ship), and
 * the Netscape cookie file format that curl's -b FILE / -c FILE use.
 *
 * Every time-dependent call takes `now` (unix seconds) from the caller, so
 * tests are deterministic.
 *
 * Storing (fl__cookie_jar_set), per RFC 6265 section 5.2/5.3:
 * - The whole Set-Cookie value is ignored if it holds a control byte (CTL
 *   other than HTAB, or a NUL inside len); the cookie is ignored if it has
 *   no "=" before the first ";", an empty name, a TAB in its name, value or
 *   Path attribute (the file format could not hold it), or name + value longer than
 *   FL__COOKIE_MAX_SIZE. Attribute values longer than FL__COOKIE_MAX_ATTR
 *   are ignored (the attribute, not the cookie).
 * - Domain: host-only unless a Domain attribute is given (a leading "." is
 *   dropped, case folded). The request host must domain-match it, else the
 *   cookie is ignored. A Domain that is a public suffix (see psl.h: "com",
 *   "co.uk", "github.io"...) is refused, unless it equals the host, in which
 *   case the cookie becomes host-only. For an IP-address host only
 *   host-only cookies exist: a Domain equal to the IP makes a host-only
 *   cookie, any other Domain is refused.
 * - Path: the attribute if it starts with "/", else the default path of the
 *   request path ("/a/b" -> "/a", "/a" -> "/").
 * - Max-Age wins over Expires whatever their order; Max-Age <= 0 or an
 *   Expires not after `now` deletes the stored cookie of that name, domain
 *   and path and stores nothing. Expiry is capped at FL__COOKIE_MAX_AGE
 *   from now (RFC 6265bis: 400 days). Expires uses the date algorithm of
 *   RFC 6265 section 5.1.1; an unparsable date is ignored (session cookie).
 * - Secure cookies are only accepted from https origins. A cookie from
 *   http may not replace, shadow or delete a Secure cookie of the same name
 *   whose domain and path overlap ("leave secure cookies alone").
 * - Prefixes: "__Secure-" names need Secure (and https); "__Host-" names
 *   also need no Domain attribute and Path=/.
 * - HttpOnly is kept as a flag (no effect on what an HTTP client sends);
 *   SameSite and unknown attributes are ignored.
 * - A cookie with the same name, domain and path replaces the old one,
 *   keeping its creation order and its place in the jar.
 * - Caps: FL__COOKIE_MAX_PER_DOMAIN cookies with the same domain value and
 *   FL__COOKIE_MAX_TOTAL in all; when full, expired cookies are dropped
 *   first, then the oldest created. The per-response cap
 *   FL__COOKIE_MAX_PER_RESPONSE is applied by fl__cookie_jar_set_headers;
 *   callers that call fl__cookie_jar_set themselves must count.
 *
 * Sending (fl__cookie_jar_header), RFC 6265 section 5.4: cookies whose
 * domain matches the host (exactly for host-only cookies), whose path
 * path-matches the request path, not expired, and Secure only over https;
 * longer paths first, then earlier created; "a=1; b=2". Cookies that would
 * take the value beyond FL__COOKIE_MAX_HEADER bytes are not added (adding
 * stops at the first that does not fit).
 *
 * Known limitations: cookies are kept in one list and every call scans it
 * (fine for the caps above); the per-domain cap counts the cookie's domain
 * value, not the registrable domain; no last-access-time based eviction.
 */
#ifndef FL_COOKIES_H
#define FL_COOKIES_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/headers.h"
#include "http/psl.h"

#define FL__COOKIE_MAX_PER_RESPONSE 50 /* Set-Cookie headers used per response */
#define FL__COOKIE_MAX_PER_DOMAIN 150
#define FL__COOKIE_MAX_TOTAL 3000
#define FL__COOKIE_MAX_SIZE 4096   /* name + value */
#define FL__COOKIE_MAX_ATTR 1024   /* one attribute value */
#define FL__COOKIE_MAX_HEADER 8192 /* outgoing Cookie value */
#define FL__COOKIE_MAX_AGE (400 * 86400)

typedef struct fl__cookie_jar fl__cookie_jar;

/* The request a cookie comes from or goes to. */
typedef struct fl__cookie_origin {
  const char *host; /* host name or IP literal (IPv6 with or without []) */
  const char *path; /* request target: path, "?query" ignored; NULL = "/" */
  int is_https;
  int64_t now; /* unix seconds */
} fl__cookie_origin;

fl__cookie_jar *fl__cookie_jar_new(void);      /* NULL on OOM */
void fl__cookie_jar_free(fl__cookie_jar *jar); /* NULL is fine */

/* Public suffix rules: psl is borrowed and must outlive the jar; NULL (the
 * default) means the built-in list of psl.h. */
void fl__cookie_jar_set_psl(fl__cookie_jar *jar, const fl__psl *psl);

/* Parse one Set-Cookie value (len bytes, need not be NUL-terminated).
 * Returns 1 if a cookie was stored (new or replacing one), 0 if nothing
 * was stored (ignored, or a deletion: see fl__cookie_jar_reason), or
 * FL_ENOMEM. */
int fl__cookie_jar_set(fl__cookie_jar *jar, const char *value, size_t len,
                       const fl__cookie_origin *origin);

/* Every Set-Cookie header of a response, in order, at most
 * FL__COOKIE_MAX_PER_RESPONSE of them. Returns how many were stored, or
 * FL_ENOMEM. */
int fl__cookie_jar_set_headers(fl__cookie_jar *jar, const fl__headers *h,
                               const fl__cookie_origin *origin);

/* Append the Cookie header value for a request to out (nothing when no
 * cookie applies). Returns the number of cookies added, or FL_ENOMEM.
 * Drops expired cookies it meets. */
int fl__cookie_jar_header(fl__cookie_jar *jar, const fl__cookie_origin *origin, fl__buf *out);

/* Cookies stored, expired ones included until a call meets them. */
size_t fl__cookie_jar_count(const fl__cookie_jar *jar);
/* Why the last fl__cookie_jar_set stored nothing, e.g. "domain is a public
 * suffix"; "" after a store. Static string. */
const char *fl__cookie_jar_reason(const fl__cookie_jar *jar);
/* Drop every cookie expired at now; session cookies too if `session`. */
void fl__cookie_jar_purge(fl__cookie_jar *jar, int64_t now, int session);

/* Netscape cookie file, one cookie a line, 7 TAB-separated fields:
 *   [#HttpOnly_][.]domain  TRUE|FALSE  path  TRUE|FALSE  expiry  name  value
 * field 2 says whether subdomains match (domain cookie) and field 4 whether
 * the cookie is Secure; expiry is unix seconds, 0 for a session cookie.
 * Lines starting with "#" (except "#HttpOnly_") and blank lines are
 * comments; lines ending in CRLF are accepted.
 *
 * Load adds the file's cookies to the jar (a later duplicate replaces an
 * earlier one) and skips, without failing, every malformed line (wrong
 * field count, TRUE/FALSE misspelt (case is ignored), path not starting
 * with "/", expiry not a number, empty name, a name with ';' or '=' or a
 * value with ';' (no Set-Cookie can make those), control bytes, too big, a
 * domain cookie (TRUE) for a public suffix or an IP address) and every
 * cookie already expired at now. Returns the number of cookies
 * loaded, FL_EREAD if the file cannot be opened, or FL_ENOMEM.
 *
 * Save writes the header line "# Netscape HTTP Cookie File", a comment and
 * a blank line, then every cookie not expired at now (session cookies
 * included, with expiry 0), in jar order: the order cookies were first
 * loaded or created. Loading a file this way and saving it reproduces its
 * cookie lines byte for byte, including a leading "." or its absence
 * (kept apart from the TRUE/FALSE flag, which alone decides matching).
 * The file is written to a temporary file in the same directory (mode 0600)
 * and renamed over path. Returns 0 or FL_EWRITE (errno kept). */
int fl__cookie_jar_load(fl__cookie_jar *jar, const char *path, int64_t now);
int fl__cookie_jar_save(fl__cookie_jar *jar, const char *path, int64_t now);

/* RFC 6265 section 5.1.1 cookie-date parser. 0 and *out (unix seconds), or
 * -1 if s is not a date. Exposed for tests. */
int fl__cookie_parse_date(const char *s, size_t len, int64_t *out);

#endif
