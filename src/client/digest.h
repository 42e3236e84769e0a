/* HTTP Digest authentication (RFC 7616), for the server (401,
 * WWW-Authenticate -> Authorization) and for an HTTP proxy (407,
 * Proxy-Authenticate -> Proxy-Authorization; a CONNECT's 407 through the
 * endpoint's tunnel_auth).
 *
 * The flow is curl's: a request goes without Digest credentials; when its
 * response is a challenge we can answer (client/auth.c), its body is
 * dropped like a followed redirect's and one more request goes to the same
 * URL with the challenge kept, whose head carries the credentials computed
 * for it (fl__digest_put_header). A second challenge for the same URL is
 * the result. The challenge stays for the rest of the send: later hops to
 * the same origin (redirects) answer it at once, the nonce count going up.
 *
 * Algorithms: MD5, SHA-256 and SHA-512-256, each also -sess; qop=auth, or
 * the RFC 2069 form when the server offers no qop (auth-int only is not
 * answered). userhash is honoured. Hashing through OpenSSL's EVP. */
#ifndef FL_DIGEST_H
#define FL_DIGEST_H

#include <stdint.h>

#include "base/buf.h"
#include "base/headers.h"

/* One parsed challenge. */
typedef struct fl__digest {
  int algo;     /* index into digest.c's table */
  int sess;     /* the -sess variant */
  int qop_auth; /* qop=auth: nc and cnonce; else RFC 2069 */
  int userhash;
  uint32_t nc;                  /* requests answered with this nonce so far */
  char *realm, *nonce, *opaque; /* opaque may be NULL */
} fl__digest;

void fl__digest_dispose(fl__digest *d);
/* The strongest challenge we can answer among the headers named `name`
 * (each may hold several challenges). 0, FL_EINVAL (none usable) or
 * FL_ENOMEM. *d is disposed first and filled only on success. */
int fl__digest_parse(fl__digest *d, const fl__headers *h, const char *name);
/* Append "<header>: Digest ...\r\n" answering d for this request line
 * (method and request-target as sent) into b; header NULL: only the value
 * "Digest ...", no line end. Counts one more use of the nonce. cnonce
 * NULL: a random one (tests pass theirs). 0, FL_ENOMEM, or FL_EINVAL when
 * hashing is not available. */
int fl__digest_put_header(fl__digest *d, fl__buf *b, const char *header, const char *user,
                          const char *pass, const char *method, const char *uri,
                          const char *cnonce);
/* The credentials are fit for a header (no control characters). */
int fl__digest_creds_ok(const char *user, const char *pass);

/* The endpoint's tunnel_auth (engine/conn.h) for an HTTP proxy with
 * proxy_digest: the CONNECT's 407 answered with ctx's (an fl__proxy)
 * credentials. */
int fl__digest_tunnel_auth(const void *ctx, const fl__headers *res, const char *target,
                           fl__buf *out);

#endif
