/* TLS internals shared by net/tls_ctx.c (contexts, the session cache) and
 * net/tls.c (handshake, BIO, the transport). Private to src/net/tls*.c. */
#ifndef FL_TLS_IMPL_H
#define FL_TLS_IMPL_H

#include <openssl/ssl.h>

#include "base/common.h"
#include "net/tls.h"
#include "net/tls_pin.h"

enum {
  /* Sessions kept per host:port. A TLS 1.3 ticket is used once and every
   * connection brings a new one, so keeping as many as the pool may open
   * to one host at once lets a burst of new connections all resume. */
  SESS_PER_KEY_MAX = 64,
  SESS_KEYS_MAX = 256, /* host:port entries; the least recently used goes */
  GATHER_CAP = 16384,  /* one full TLS record of plaintext */
};

struct fl__tls_ctx {
  SSL_CTX *ssl_ctx; /* NULL until needed (see fl__tls_ctx_new) */
  int verify;
  int cache_on;
  char *ca_file, *ca_path, *cert, *key;
  int min_version, max_version; /* TLS1_2_VERSION...; max 0 = the highest */
  char *ciphers, *ciphers13;    /* NULL: the defaults */
  char *pin_spec;               /* as given, for the id */
  fl__pins *pins;               /* NULL: no pinning */
  fl__tls_store *store;         /* the session cache: the ctx's own, or an fl_share's */
  int own_store;
  char id[24];
};

struct fl__tls {
  SSL *ssl;
  fl__tls_ctx *ctx;
  uint32_t rwant, wwant; /* event the last read / write that could not go on waits for */
  int dead;              /* fatal error: no close_notify, session not kept */
  int eof;               /* the peer closed: close quietly */
  char *gather;          /* GATHER_CAP bytes, on first need */
  char failure[160];     /* OpenSSL's reason for a protocol failure after the handshake */
  const char *host;      /* peer name, borrowed from the caller of fl__tls_start */
  uint16_t port;
  char key[]; /* session cache key: "settings id/host:port" */
};

/* tls_ctx.c */
/* Build t->ssl_ctx on first need. 0, or an error with the reason in errbuf. */
int fl__tls_ctx_setup(fl__tls_ctx *t, char *errbuf, size_t cap);
/* Offer a cached session for c's host:port, if one is fresh. */
void fl__tls_session_offer(fl__tls_ctx *t, fl__tls *c);
/* tls_sess.c: the store's operations, each under its lock. put: keep sess
 * (a reference the caller hands over) under key; 1 if kept. offer: set the
 * newest usable session for key on ssl (a TLS 1.3 ticket leaves the store). */
int fl__tls_store_put(fl__tls_store *st, const char *key, SSL_SESSION *sess);
void fl__tls_store_offer(fl__tls_store *st, const char *key, SSL *ssl);
/* OpenSSL's first queued error, as text; clears the queue. */
void fl__tls_openssl_reason(char *buf, size_t cap);

#endif
