/* TLS contexts: one per client (trust store, client certificate, version
 * bounds, cipher lists, pins, ALPN), and the client's session cache keyed
 * by host:port. Contract in tls.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "base/common.h"
#include "loop/loop.h"
#include "net/tls.h"
#include "net/tls_impl.h"
#include "net/tls_pin.h"
#include "net/transport.h"


_Static_assert(FL_TLS_1_0 == TLS1_VERSION && FL_TLS_1_1 == TLS1_1_VERSION &&
                   FL_TLS_1_2 == TLS1_2_VERSION && FL_TLS_1_3 == TLS1_3_VERSION,
               "FL_TLS_* are OpenSSL's version numbers");

/* TLS 1.3 suites in the browsers' order: AES-128-GCM (and its SHA-256 key
 * schedule) costs both ends less than OpenSSL's default AES-256 first. */
static const char default_suites13[] =
    "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384";

/* ------------------------------------------------------------- contexts */

static char *dup_opt(const char *s, int *oom) {
  if (!s) return NULL;
  char *p = strdup(s);
  if (!p) *oom = 1;
  return p;
}

/* FNV-1a over every setting: equal settings, equal id. */
static void make_id(fl__tls_ctx *t) {
  char versions[32];
  snprintf(versions, sizeof versions, "%x-%x", (unsigned)t->min_version, (unsigned)t->max_version);
  const char *parts[] = {t->verify ? "v1" : "v0",
                         t->ca_file,
                         t->ca_path,
                         t->cert,
                         t->key,
                         versions,
                         t->ciphers,
                         t->ciphers13,
                         t->pin_spec};
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < FL__ARRAY_SIZE(parts); i++) {
    const unsigned char *p = (const unsigned char *)(parts[i] ? parts[i] : "\x01");
    for (; *p; p++) h = (h ^ *p) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull; /* separator */
  }
  snprintf(t->id, sizeof t->id, "t%016llx", (unsigned long long)h);
}

void fl__tls_openssl_reason(char *buf, size_t cap) {
  unsigned long e = ERR_peek_error();
  if (e)
    ERR_error_string_n(e, buf, cap);
  else
    snprintf(buf, cap, "unknown error");
  ERR_clear_error();
}

/* Never prompt on the terminal for a key's pass phrase. */
static int no_password(char *buf, int size, int rwflag, void *u) {
  FL__UNUSED(buf), FL__UNUSED(size), FL__UNUSED(rwflag), FL__UNUSED(u);
  return 0;
}

static int new_session_cb(SSL *ssl, SSL_SESSION *sess);

/* The cipher lists, into x. 0, or FL_EBAD_ARGUMENT with OpenSSL's reason
 * when it accepts none of a list. */
static int set_ciphers(SSL_CTX *x, const fl__tls_ctx *t, char *errbuf, size_t cap) {
  char why[256];
  if (t->ciphers && SSL_CTX_set_cipher_list(x, t->ciphers) != 1) {
    fl__tls_openssl_reason(why, sizeof why);
    fl__msg(errbuf, cap, "TLS cipher list \"%s\" refused: %s", t->ciphers, why);
    return FL_EBAD_ARGUMENT;
  }
  const char *suites = t->ciphers13 ? t->ciphers13 : default_suites13;
  if (SSL_CTX_set_ciphersuites(x, suites) != 1) {
    fl__tls_openssl_reason(why, sizeof why);
    fl__msg(errbuf, cap, "TLS 1.3 cipher suites \"%s\" refused: %s", suites, why);
    return FL_EBAD_ARGUMENT;
  }
  return 0;
}

/* Cipher lists are checked by fl_client_new even when the context waits
 * for the first https connection: a throwaway SSL_CTX takes them. */
static int check_ciphers(const fl__tls_ctx *t, char *errbuf, size_t cap) {
  ERR_clear_error();
  SSL_CTX *x = SSL_CTX_new(TLS_client_method());
  if (!x) {
    char why[256];
    fl__tls_openssl_reason(why, sizeof why);
    fl__msg(errbuf, cap, "could not create the TLS context: %s", why);
    return FL_ENOMEM;
  }
  int err = set_ciphers(x, t, errbuf, cap);
  SSL_CTX_free(x);
  ERR_clear_error();
  return err;
}

/* Build the SSL_CTX. 0, or an fl_err with the reason in errbuf. */
int fl__tls_ctx_setup(fl__tls_ctx *t, char *errbuf, size_t cap) {
  static const unsigned char alpn[] = "\x08http/1.1";
  char why[256];
  ERR_clear_error();
  SSL_CTX *x = SSL_CTX_new(TLS_client_method());
  if (!x) {
    fl__tls_openssl_reason(why, sizeof why);
    fl__msg(errbuf, cap, "could not create the TLS context: %s", why);
    return FL_ENOMEM;
  }
  int err = set_ciphers(x, t, errbuf, cap);
  if (err) goto fail;
  err = FL_EBAD_ARGUMENT;
  /* A maximum below the minimum is refused later, by fl__tls_start. */
  if (SSL_CTX_set_min_proto_version(x, t->min_version) != 1 ||
      (t->max_version >= t->min_version && SSL_CTX_set_max_proto_version(x, t->max_version) != 1)) {
    fl__tls_openssl_reason(why, sizeof why);
    fl__msg(errbuf, cap, "could not set the TLS versions: %s", why);
    goto fail;
  }
  /* A peer closing without close_notify reads as EOF: HTTP framing tells a
   * complete message from a truncated one (FL_EPARTIAL_BODY). */
  SSL_CTX_set_options(x, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(x, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_read_ahead(x, 1);
  SSL_CTX_set_default_passwd_cb(x, no_password);
  SSL_CTX_set_verify(x, t->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
  if (SSL_CTX_set_alpn_protos(x, alpn, sizeof alpn - 1) != 0) { /* 0 is success here */
    err = FL_ENOMEM;
    fl__msg(errbuf, cap, "could not set ALPN");
    goto fail;
  }
  struct stat st;
  if (t->ca_path && stat(t->ca_path, &st) != 0) {
    fl__msg(errbuf, cap, "CA directory %s: %s", t->ca_path, strerror(errno));
    goto fail;
  }
  if (t->ca_path && !S_ISDIR(st.st_mode)) {
    fl__msg(errbuf, cap, "CA directory %s: not a directory", t->ca_path);
    goto fail;
  }
  if (t->ca_file || t->ca_path) {
    if (SSL_CTX_load_verify_locations(x, t->ca_file, t->ca_path) != 1) {
      fl__tls_openssl_reason(why, sizeof why);
      fl__msg(errbuf, cap, "could not load CA file %s: %s", t->ca_file ? t->ca_file : t->ca_path,
              why);
      goto fail;
    }
  } else if (t->verify && SSL_CTX_set_default_verify_paths(x) != 1) {
    fl__tls_openssl_reason(why, sizeof why);
    fl__msg(errbuf, cap, "could not load the system CA store: %s", why);
    goto fail;
  }
  if (t->cert) {
    const char *key = t->key ? t->key : t->cert;
    if (SSL_CTX_use_certificate_chain_file(x, t->cert) != 1) {
      fl__tls_openssl_reason(why, sizeof why);
      fl__msg(errbuf, cap, "could not load client certificate %s: %s", t->cert, why);
      goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(x, key, SSL_FILETYPE_PEM) != 1) {
      fl__tls_openssl_reason(why, sizeof why);
      fl__msg(errbuf, cap, "could not load client key %s: %s", key, why);
      goto fail;
    }
    if (SSL_CTX_check_private_key(x) != 1) {
      fl__tls_openssl_reason(why, sizeof why);
      fl__msg(errbuf, cap, "client key %s does not match certificate %s", key, t->cert);
      goto fail;
    }
  }
  if (t->cache_on) {
    /* Our cache only: OpenSSL's internal one is keyed by session id, not by
     * the host we connect to. */
    SSL_CTX_set_session_cache_mode(x, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
    SSL_CTX_sess_set_new_cb(x, new_session_cb);
  } else {
    SSL_CTX_set_session_cache_mode(x, SSL_SESS_CACHE_OFF);
  }
  t->ssl_ctx = x;
  return 0;
fail:
  ERR_clear_error();
  SSL_CTX_free(x);
  return err;
}

int fl__tls_ctx_new(const fl_client_options *o, fl__tls_ctx **out, char *errbuf, size_t cap) {
  *out = NULL;
  if (o->client_key && !o->client_cert) {
    fl__msg(errbuf, cap, "client_key given without client_cert");
    return FL_EBAD_ARGUMENT;
  }
  int min = o->tls_min_version ? o->tls_min_version : FL_TLS_1_2, max = o->tls_max_version;
  if (min != FL_TLS_1_2 && min != FL_TLS_1_3) {
    fl__msg(errbuf, cap, "tls_min_version 0x%x: not FL_TLS_1_2 or FL_TLS_1_3", (unsigned)min);
    return FL_EBAD_ARGUMENT;
  }
  if (max && (max < FL_TLS_1_0 || max > FL_TLS_1_3)) {
    fl__msg(errbuf, cap, "tls_max_version 0x%x: not a TLS version (FL_TLS_1_0..FL_TLS_1_3)",
            (unsigned)max);
    return FL_EBAD_ARGUMENT;
  }
  fl__tls_ctx *t = calloc(1, sizeof *t);
  if (!t) {
    fl__msg(errbuf, cap, "out of memory");
    return FL_ENOMEM;
  }
  int oom = 0;
  t->verify = !o->insecure;
  t->cache_on = o->tls_session_cache != 0;
  /* Sessions kept per host: as many as the pool may open to it at once. */
  uint32_t conns = o->max_connections_per_host ? o->max_connections_per_host : o->max_connections;
  if (fl__tls_store_new(conns, &t->store) != 0) oom = 1;
  t->own_store = 1;
  t->ca_file = dup_opt(o->ca_file, &oom);
  t->ca_path = dup_opt(o->ca_path, &oom);
  t->cert = dup_opt(o->client_cert, &oom);
  t->key = dup_opt(o->client_key, &oom);
  t->min_version = min; /* the FL_TLS_* values are OpenSSL's TLS1_x_VERSION */
  t->max_version = max;
  t->ciphers = dup_opt(o->tls_ciphers, &oom);
  t->ciphers13 = dup_opt(o->tls13_ciphers, &oom);
  t->pin_spec = dup_opt(o->pinned_pubkey, &oom);
  if (!oom && t->pin_spec && fl__pins_new(t->pin_spec, &t->pins) != 0) oom = 1;
  if (oom) {
    fl__tls_ctx_free(t);
    fl__msg(errbuf, cap, "out of memory");
    return FL_ENOMEM;
  }
  make_id(t);
  /* Files named by the user are loaded now, so that a wrong path fails
   * fl_client_new. Otherwise the context waits for the first https
   * connection: an http-only client never pays for the system store. */
  int err = 0;
  if (t->ca_file || t->ca_path || t->cert)
    err = fl__tls_ctx_setup(t, errbuf, cap);
  else if (t->ciphers || t->ciphers13)
    err = check_ciphers(t, errbuf, cap);
  if (err) {
    fl__tls_ctx_free(t);
    return err;
  }
  *out = t;
  return 0;
}

void fl__tls_ctx_free(fl__tls_ctx *t) {
  if (!t) return;
  if (t->own_store) fl__tls_store_free(t->store);
  SSL_CTX_free(t->ssl_ctx);
  free(t->ca_file);
  free(t->ca_path);
  free(t->cert);
  free(t->key);
  free(t->ciphers);
  free(t->ciphers13);
  free(t->pin_spec);
  fl__pins_free(t->pins);
  free(t);
}

const char *fl__tls_ctx_id(const fl__tls_ctx *t) { return t ? t->id : ""; }

/* -------------------------------------------------------- session cache */

int fl__tls_ctx_use_store(fl__tls_ctx *t, fl__tls_store *shared) {
  if (t->own_store) fl__tls_store_free(t->store);
  t->store = shared;
  t->own_store = 0;
  return 0;
}

/* A new session or TLS 1.3 ticket arrived (during the handshake for TLS 1.2,
 * with the first reads after it for 1.3). Returns 1 when we keep the
 * reference OpenSSL hands us. */
static int new_session_cb(SSL *ssl, SSL_SESSION *sess) {
  fl__tls *c = SSL_get_app_data(ssl);
  if (!c || c->dead || !c->ctx || !SSL_SESSION_is_resumable(sess)) return 0; /* detached */
  /* The store keeps a copy: the object OpenSSL hands us stays its
   * connection's (which may still change it), so no SSL_SESSION is ever
   * used on two threads; the connection keeps its own reference (0). */
  SSL_SESSION *copy = SSL_SESSION_dup(sess);
  if (copy && !fl__tls_store_put(c->ctx->store, c->key, copy)) SSL_SESSION_free(copy);
  return 0;
}

/* Offer the newest usable session for this host:port. A TLS 1.3 ticket
 * leaves the cache unless it is the last one (tls_sess.c); a TLS 1.2
 * session stays for the next. */
void fl__tls_session_offer(fl__tls_ctx *t, fl__tls *c) {
  fl__tls_store_offer(t->store, c->key, c->ssl);
}
