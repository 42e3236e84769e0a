/* HTTP Digest authentication (RFC 7616), for the server (401,
 * WWW-Authenticate -> Authorization) and for an HTTP proxy (407,
 * Proxy-Authenticate -> Proxy-Authorization).
 *
 * The flow is curl's: a request goes without Digest credentials; when its
 * response is a challenge we can answer (fl__digest_wanted), its body is
 * dropped like a followed redirect's and one more request goes to the same
 * URL (fl__digest_next_hop keeps the challenge), whose head carries the
 * credentials computed for it (fl__digest_put_header, from head.c). A
 * second challenge for the same URL is the result. The challenge stays for
 * the rest of the send: later hops to the same origin (redirects) answer it
 * at once, with the nonce count going up.
 *
 * Algorithms: MD5, SHA-256 and SHA-512-256, each also -sess; qop=auth, or
 * the RFC 2069 form when the server offers no qop (auth-int only is not
 * answered). userhash is honoured. Hashing through OpenSSL's EVP. */
#ifndef FL_DIGEST_H
#define FL_DIGEST_H

#include <stdint.h>

#include "base/buf.h"
#include "base/headers.h"

struct fl_request;

/* One parsed challenge. */
typedef struct fl__digest {
  int algo;          /* index into digest.c's table */
  int sess;          /* the -sess variant */
  int qop_auth;      /* qop=auth: nc and cnonce; else RFC 2069 */
  int userhash;
  uint32_t nc;       /* requests answered with this nonce so far */
  char *realm, *nonce, *opaque; /* opaque may be NULL */
} fl__digest;

void fl__digest_dispose(fl__digest *d);
/* The strongest challenge we can answer among the headers named `name`
 * (each may hold several challenges). 0, FL_EINVAL (none usable) or
 * FL_ENOMEM. *d is disposed first and filled only on success. */
int fl__digest_parse(fl__digest *d, const fl__headers *h, const char *name);
/* Append "<header>: Digest ...\r\n" answering d for this request line
 * (method and request-target as sent) into b; header NULL: only the value
 * "Digest ...", no line end. Counts one more use of the nonce. cnonce NULL: a random one (tests pass theirs). 0, FL_ENOMEM, or
 * FL_EINVAL when hashing is not available. */
int fl__digest_put_header(fl__digest *d, fl__buf *b, const char *header, const char *user, const char *pass,
                          const char *method, const char *uri, const char *cnonce);
/* The credentials are fit for a header (no control characters). */
int fl__digest_creds_ok(const char *user, const char *pass);

/* The request's side (client/request.h). */
/* This response is a challenge the request answers with another hop. */
int fl__digest_wanted(const struct fl_request *req);
/* Keep the challenge for the next hop (to the same URL). 0, or an error
 * for the outcome (req->errmsg set). */
int fl__digest_next_hop(struct fl_request *req);
/* A redirect moved the request on: its URL may be answered again. */
void fl__digest_new_url(struct fl_request *req);
/* Forget the challenges (a new send, or the request is freed). */
void fl__digest_reset(struct fl_request *req);
/* The endpoint's tunnel_auth (engine/conn.h) for an HTTP proxy with
 * proxy_digest: the CONNECT's 407 answered with ctx's (an fl__proxy)
 * credentials. */
int fl__digest_tunnel_auth(const void *ctx, const fl__headers *res, const char *target, fl__buf *out);
/* head.c: Authorization and Proxy-Authorization for this hop, if any. */
int fl__digest_put_request_headers(struct fl_request *req, fl__buf *b);

#endif
