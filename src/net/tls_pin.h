/* Public-key pinning for TLS (curl's --pinnedpubkey): the SHA-256 of the
 * peer certificate's SubjectPublicKeyInfo (DER) must be one of the pinned
 * digests. Used by net/tls.c only.
 *
 * The pin is "sha256//BASE64[;sha256//BASE64...]", or the path of a file
 * holding one public key, PEM ("-----BEGIN PUBLIC KEY-----") or DER. As in
 * curl, a pin that cannot be used (an unreadable file, an entry that is not
 * the base64 of a SHA-256 digest) is no setup error: it never matches, and
 * each check says why in its message. */
#ifndef FL_TLS_PIN_H
#define FL_TLS_PIN_H

#include <stddef.h>

#include <openssl/ssl.h>

typedef struct fl__pins fl__pins;

/* Parse spec (a file is read now). 0, or FL_ENOMEM. */
int fl__pins_new(const char *spec, fl__pins **out);
void fl__pins_free(fl__pins *p); /* NULL is fine */
/* After the handshake on ssl with host:port: 0 when the peer's public key
 * is pinned, else FL_EPINNED_PUBKEY with the reason and the peer key's
 * digest in msg. */
int fl__pins_check(const fl__pins *p, SSL *ssl, const char *host, unsigned port, char *msg,
                   size_t cap);

#endif
