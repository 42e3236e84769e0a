/* TLS with OpenSSL 3.0: one context per client, one state per connection.
 *
 * Context (fl__tls_ctx, owned by the client): an SSL_CTX with the trust
 * store (the system's, or the CA file/directory given), an optional client
 * certificate, the version bounds (TLS 1.2 minimum by default) and cipher
 * lists, ALPN "http/1.1" (a connection that may speak HTTP/2 offers "h2"
 * first, fl__tls_start), verification on unless the client is insecure; the
 * pinned public keys (net/tls_pin.h), checked at the end of every handshake;
 * and the client's session cache, keyed by host name and port. Every TLS setting belongs to the client, so a session can never be
 * resumed, nor a pooled connection reused, under other settings; the pool
 * key still carries the settings' fingerprint (fl__tls_ctx_id).
 *
 * Connection (fl__tls, owned by its transport): the SSL object and the event
 * the last operation that could not go on waits for. Above it, the TLS
 * transport has the same shape as plain TCP (net/transport.h): read/writev
 * return bytes, 0 at EOF, or -1 with errno EAGAIN, ops->wants tells which
 * event that EAGAIN waits for, ops->pending whether decrypted or read-ahead
 * bytes are buffered (drain before sleeping).
 *
 * Sockets are written with send(MSG_NOSIGNAL) through our own BIO: a peer
 * that went away never raises SIGPIPE in the application. */
#ifndef FL_TLS_H
#define FL_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "flurry.h"

typedef struct fl__tls_ctx fl__tls_ctx;
typedef struct fl__tls_store fl__tls_store;
typedef struct fl__tls fl__tls;
typedef struct fl__transport fl__transport;
struct fl__transport_ops;

/* Build the context from the client's options (files are loaded now).
 * 0, or FL_ENOMEM / FL_EBAD_ARGUMENT with a reason in errbuf. */
int fl__tls_ctx_new(const fl_client_options *o, fl__tls_ctx **out, char *errbuf, size_t cap);
void fl__tls_ctx_free(fl__tls_ctx *t); /* NULL is fine; frees the cached sessions */
/* Session stores (tls_sess.c): a thread-safe cache of sessions per
 * "settings id/host:port", keeping per_key sessions per key (0 = the most,
 * 64; at least 2). A context makes its own; fl__tls_ctx_use_store swaps in
 * a shared one (an fl_share's), which must outlive the context. Keys carry
 * the context's settings id, so contexts with other settings never resume
 * each other's sessions. */
int fl__tls_store_new(uint32_t per_key, fl__tls_store **out);
void fl__tls_store_free(fl__tls_store *st);
uint32_t fl__tls_store_count(fl__tls_store *st); /* sessions held */
int fl__tls_ctx_use_store(fl__tls_ctx *t, fl__tls_store *shared);
/* Short fingerprint of every TLS setting, for pool keys ("t3f2a..."). */
const char *fl__tls_ctx_id(const fl__tls_ctx *t);

/* Turn tp (a connected TCP socket, tp->fd) into a TLS transport for host
 * and port (the name is checked against the certificate and sent as SNI;
 * it is borrowed and must outlive the transport). Sets tp->tls and tp->ops,
 * so closing the transport frees the TLS state. 0, or FL_ENOMEM with a
 * reason in msg; FL_ETLS_HANDSHAKE when the version bounds leave no
 * version (maximum below minimum). */
int fl__tls_start(fl__transport *tp, fl__tls_ctx *ctx, const char *host, uint16_t port,
                  int offer_h2, char *msg, size_t cap);
/* One nonblocking handshake step: 0 done, FL__TLS_AGAIN (wait for the event
 * put in *wait: FL__POLLIN or FL__POLLOUT), or FL_ETLS_HANDSHAKE /
 * FL_ECERT_VERIFY / FL_EPINNED_PUBKEY (a pinned public key, checked once the
 * handshake is done, does not match) with the reason in msg. */
#define FL__TLS_AGAIN 1
int fl__tls_handshake(fl__transport *tp, uint32_t *wait, char *msg, size_t cap);
/* The transport leaves its maker (a WebSocket takes the connection after
 * its 101): forget the borrowed host name and context, so it may outlive
 * the pool and the client. Tickets arriving later are not cached. Only
 * after the handshake; harmless for TCP. */
void fl__tls_detach(fl__transport *tp);
/* 1 if the finished handshake resumed a session. */
int fl__tls_resumed(const fl__transport *tp);
/* What ALPN agreed on in the finished handshake: 20 (h2), 11 (http/1.1) or
 * 0 (nothing). */
int fl__tls_alpn(const fl__transport *tp);

extern const struct fl__transport_ops fl__tls_ops;

#endif
