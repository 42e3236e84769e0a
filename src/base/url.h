/* URL parsing (RFC 3986) for requests: absolute http(s) URLs.
 *
 * The parser accepts any syntactically valid scheme; the client decides which
 * schemes it supports. Fragments are dropped. Dot segments are removed from
 * the path. Percent-escapes in path and query are kept as given (never
 * re-encoded or decoded). Bytes that can never appear on a request line
 * (CTL, space, DEL) make the URL malformed.
 */
#ifndef FL_URL_H
#define FL_URL_H

#include <stddef.h>
#include <stdint.h>

typedef struct fl__url {
  char *storage;        /* one allocation holding every string below */
  const char *scheme;   /* lower-cased: "http", "https", ... */
  const char *user;     /* percent-decoded userinfo user, or NULL */
  const char *password; /* percent-decoded, or NULL */
  const char *host;     /* lower-cased reg-name, or IP literal without [] */
  int host_is_ipv6;     /* host was a [v6] literal */
  int host_is_ipv4;     /* host is a dotted IPv4 literal */
  uint16_t port;        /* explicit port, else the scheme's default */
  int port_explicit;
  const char *target;    /* origin-form request target: path[?query], never empty */
  const char *authority; /* for the Host header: host or [v6], plus ":port" when
                           the port is not the scheme's default */
} fl__url;

/* 0, FL_EURL_MALFORMAT or FL_ENOMEM (a host name longer than DNS allows is
 * fine here: net/dns.c refuses it when it would have to ask DNS). On error *u is left empty (safe to
 * free). Only http and https require a host; other schemes may have an
 * empty one (host ""). */
int fl__url_parse(fl__url *u, const char *text);
/* The same, keeping "/../" and "/./" in the path (curl's --path-as-is). */
int fl__url_parse_as_is(fl__url *u, const char *text);
void fl__url_free(fl__url *u);
/* Default port for http(80)/https(443); 0 for other schemes. */
uint16_t fl__url_default_port(const char *scheme);
/* Resolve a reference (e.g. a Location header) against an absolute base URL
 * (RFC 3986 section 5.2). *out is malloc'd. 0, FL_EURL_MALFORMAT or FL_ENOMEM.
 * Strict (a reference with a scheme is absolute); fragments are dropped;
 * spaces and bytes >= 0x80 in either input are percent-encoded, other
 * controls and DEL are malformed. The result is not validated: parse it. */
int fl__url_resolve(const char *base, const char *ref, char **out);
/* Append percent-encoded text (unreserved kept, everything else %XX with
 * upper-case hex). Returns the encoded length n, excluding the NUL, in every
 * case (like snprintf). The text and a NUL are written only if n < cap;
 * otherwise nothing is written (dst may be NULL when cap is 0). */
size_t fl__url_encode(char *dst, size_t cap, const char *src, size_t len);

#endif
