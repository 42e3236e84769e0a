/* TLS over OpenSSL 3.0: the client's context and session cache, the
 * connection's handshake, and the TLS transport (see tls.h).
 *
 * Costs per request on a kept-alive connection: one SSL_write (one send) for
 * the head and a small body, gathered into one record; one SSL_read per
 * record, with read-ahead so that one recv usually brings every record of a
 * small response. No allocation after the connection's first write. */
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
#include "net/tls_pin.h"
#include "net/transport.h"

enum {
  /* Sessions kept per host:port. A TLS 1.3 ticket is used once and every
   * connection brings a new one, so keeping as many as the pool may open
   * to one host at once lets a burst of new connections all resume. */
  SESS_PER_KEY_MAX = 64,
  SESS_KEYS_MAX = 256, /* host:port entries; the least recently used goes */
  GATHER_CAP = 16384,  /* one full TLS record of plaintext */
};

_Static_assert(FL_TLS_1_0 == TLS1_VERSION && FL_TLS_1_1 == TLS1_1_VERSION &&
                   FL_TLS_1_2 == TLS1_2_VERSION && FL_TLS_1_3 == TLS1_3_VERSION,
               "FL_TLS_* are OpenSSL's version numbers");

/* TLS 1.3 suites in the browsers' order: AES-128-GCM (and its SHA-256 key
 * schedule) costs both ends less than OpenSSL's default AES-256 first. */
static const char default_suites13[] =
    "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384";

/* ------------------------------------------------------------- contexts */

typedef struct sess_entry {
  fl__queue node; /* ctx->sessions, most recently used first */
  int n;
  SSL_SESSION *s[SESS_PER_KEY_MAX]; /* oldest first; each holds one reference */
  char key[];                   /* "host:port" */
} sess_entry;

struct fl__tls_ctx {
  SSL_CTX *ssl_ctx; /* NULL until needed (see fl__tls_ctx_new) */
  int verify;
  int cache_on;
  int per_key; /* sessions kept per host:port, <= SESS_PER_KEY_MAX */
  char *ca_file, *ca_path, *cert, *key;
  int min_version, max_version; /* TLS1_2_VERSION...; max 0 = the highest */
  char *ciphers, *ciphers13;    /* NULL: the defaults */
  char *pin_spec;               /* as given, for the id */
  fl__pins *pins;               /* NULL: no pinning */
  fl__queue sessions;
  uint32_t nkeys;
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
  char key[];            /* session cache key: "host:port" */
};

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
  const char *parts[] = {t->verify ? "v1" : "v0", t->ca_file, t->ca_path,  t->cert,
                         t->key,                  versions,  t->ciphers,   t->ciphers13,
                         t->pin_spec};
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < FL__ARRAY_SIZE(parts); i++) {
    const unsigned char *p = (const unsigned char *)(parts[i] ? parts[i] : "\x01");
    for (; *p; p++) h = (h ^ *p) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull; /* separator */
  }
  snprintf(t->id, sizeof t->id, "t%016llx", (unsigned long long)h);
}

static void openssl_reason(char *buf, size_t cap) {
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
    openssl_reason(why, sizeof why);
    fl__msg(errbuf, cap, "TLS cipher list \"%s\" refused: %s", t->ciphers, why);
    return FL_EBAD_ARGUMENT;
  }
  const char *suites = t->ciphers13 ? t->ciphers13 : default_suites13;
  if (SSL_CTX_set_ciphersuites(x, suites) != 1) {
    openssl_reason(why, sizeof why);
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
    openssl_reason(why, sizeof why);
    fl__msg(errbuf, cap, "could not create the TLS context: %s", why);
    return FL_ENOMEM;
  }
  int err = set_ciphers(x, t, errbuf, cap);
  SSL_CTX_free(x);
  ERR_clear_error();
  return err;
}

/* Build the SSL_CTX. 0, or an fl_err with the reason in errbuf. */
static int ctx_setup(fl__tls_ctx *t, char *errbuf, size_t cap) {
  static const unsigned char alpn[] = "\x08http/1.1";
  char why[256];
  ERR_clear_error();
  SSL_CTX *x = SSL_CTX_new(TLS_client_method());
  if (!x) {
    openssl_reason(why, sizeof why);
    fl__msg(errbuf, cap, "could not create the TLS context: %s", why);
    return FL_ENOMEM;
  }
  int err = set_ciphers(x, t, errbuf, cap);
  if (err) goto fail;
  err = FL_EBAD_ARGUMENT;
  /* A maximum below the minimum is refused later, by fl__tls_start. */
  if (SSL_CTX_set_min_proto_version(x, t->min_version) != 1 ||
      (t->max_version >= t->min_version && SSL_CTX_set_max_proto_version(x, t->max_version) != 1)) {
    openssl_reason(why, sizeof why);
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
      openssl_reason(why, sizeof why);
      fl__msg(errbuf, cap, "could not load CA file %s: %s", t->ca_file ? t->ca_file : t->ca_path,
              why);
      goto fail;
    }
  } else if (t->verify && SSL_CTX_set_default_verify_paths(x) != 1) {
    openssl_reason(why, sizeof why);
    fl__msg(errbuf, cap, "could not load the system CA store: %s", why);
    goto fail;
  }
  if (t->cert) {
    const char *key = t->key ? t->key : t->cert;
    if (SSL_CTX_use_certificate_chain_file(x, t->cert) != 1) {
      openssl_reason(why, sizeof why);
      fl__msg(errbuf, cap, "could not load client certificate %s: %s", t->cert, why);
      goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(x, key, SSL_FILETYPE_PEM) != 1) {
      openssl_reason(why, sizeof why);
      fl__msg(errbuf, cap, "could not load client key %s: %s", key, why);
      goto fail;
    }
    if (SSL_CTX_check_private_key(x) != 1) {
      openssl_reason(why, sizeof why);
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
  fl__queue_init(&t->sessions);
  t->verify = !o->insecure;
  t->cache_on = o->tls_session_cache != 0;
  uint32_t conns = o->max_connections_per_host ? o->max_connections_per_host : o->max_connections;
  t->per_key = conns == 0 || conns > SESS_PER_KEY_MAX ? SESS_PER_KEY_MAX
               : conns < 2                            ? 2
                                                      : (int)conns;
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
    err = ctx_setup(t, errbuf, cap);
  else if (t->ciphers || t->ciphers13)
    err = check_ciphers(t, errbuf, cap);
  if (err) {
    fl__tls_ctx_free(t);
    return err;
  }
  *out = t;
  return 0;
}

static void entry_free(fl__tls_ctx *t, sess_entry *e) {
  for (int i = 0; i < e->n; i++) SSL_SESSION_free(e->s[i]);
  fl__queue_remove(&e->node);
  t->nkeys--;
  free(e);
}

void fl__tls_ctx_free(fl__tls_ctx *t) {
  if (!t) return;
  while (!fl__queue_empty(&t->sessions))
    entry_free(t, fl__container_of(t->sessions.next, sess_entry, node));
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

static sess_entry *entry_find(fl__tls_ctx *t, const char *key) {
  fl__queue *q;
  fl__queue_foreach(q, &t->sessions) {
    sess_entry *e = fl__container_of(q, sess_entry, node);
    if (strcmp(e->key, key) == 0) {
      fl__queue_remove(q);
      fl__queue_insert_head(&t->sessions, q);
      return e;
    }
  }
  return NULL;
}

static int is_tls13(const SSL_SESSION *s) {
  return SSL_SESSION_get_protocol_version(s) >= TLS1_3_VERSION;
}

/* A new session or TLS 1.3 ticket arrived (during the handshake for TLS 1.2,
 * with the first reads after it for 1.3). Returns 1 when we keep the
 * reference OpenSSL hands us. */
static int new_session_cb(SSL *ssl, SSL_SESSION *sess) {
  fl__tls *c = SSL_get_app_data(ssl);
  if (!c || c->dead || !SSL_SESSION_is_resumable(sess)) return 0;
  fl__tls_ctx *t = c->ctx;
  sess_entry *e = entry_find(t, c->key);
  if (!e) {
    size_t klen = strlen(c->key) + 1;
    e = malloc(sizeof *e + klen);
    if (!e) return 0;
    e->n = 0;
    memcpy(e->key, c->key, klen);
    fl__queue_insert_head(&t->sessions, &e->node);
    if (++t->nkeys > SESS_KEYS_MAX)
      entry_free(t, fl__container_of(t->sessions.prev, sess_entry, node));
  }
  if (!is_tls13(sess)) { /* a TLS 1.2 session replaces what we had: reusable */
    for (int i = 0; i < e->n; i++) SSL_SESSION_free(e->s[i]);
    e->n = 0;
  }
  if (e->n == t->per_key) {
    SSL_SESSION_free(e->s[0]);
    memmove(e->s, e->s + 1, (size_t)(e->n - 1) * sizeof e->s[0]);
    e->n--;
  }
  e->s[e->n++] = sess;
  return 1;
}

static int expired(const SSL_SESSION *s, time_t now) {
  long t0 = SSL_SESSION_get_time(s), life = SSL_SESSION_get_timeout(s);
  return life > 0 && now - t0 >= life;
}

/* Offer the newest usable session for this host:port. A TLS 1.3 ticket
 * leaves the cache (RFC 8446 C.4: use each once; the server sends a fresh
 * one on every connection); a TLS 1.2 session stays for the next. */
static void session_offer(fl__tls_ctx *t, fl__tls *c) {
  sess_entry *e = entry_find(t, c->key);
  if (!e) return;
  time_t now = time(NULL);
  while (e->n > 0) {
    SSL_SESSION *s = e->s[e->n - 1];
    int once = is_tls13(s);
    if (!SSL_SESSION_is_resumable(s) || expired(s, now)) {
      SSL_SESSION_free(s);
      e->n--;
      continue;
    }
    SSL_set_session(c->ssl, s); /* takes its own reference */
    if (once) {
      SSL_SESSION_free(s);
      e->n--;
    }
    break;
  }
  if (e->n == 0) entry_free(t, e);
}

/* ------------------------------------------------------------------ BIO
 * A socket BIO of our own: send(MSG_NOSIGNAL) so that writing to a peer
 * that went away returns EPIPE instead of killing the process. */

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static int bio_fd(BIO *b) { return (int)(intptr_t)BIO_get_data(b); }

static int would_block(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == EINTR; }

static int bio_write(BIO *b, const char *buf, int len) {
  BIO_clear_retry_flags(b);
  ssize_t n = send(bio_fd(b), buf, (size_t)len, MSG_NOSIGNAL);
  if (n >= 0) return (int)n;
  if (would_block(errno)) BIO_set_retry_write(b);
  return -1;
}

static int bio_read(BIO *b, char *buf, int len) {
  BIO_clear_retry_flags(b);
  ssize_t n = recv(bio_fd(b), buf, (size_t)len, 0);
  if (n > 0) return (int)n;
  if (n == 0) {
    BIO_set_flags(b, BIO_FLAGS_IN_EOF); /* OpenSSL asks BIO_eof() after a 0 */
    return 0;
  }
  if (would_block(errno)) BIO_set_retry_read(b);
  return -1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
  FL__UNUSED(num), FL__UNUSED(ptr);
  switch (cmd) {
  case BIO_CTRL_FLUSH: return 1; /* nothing buffered here */
  case BIO_CTRL_EOF: return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
  default: return 0;
  }
}

static void bio_method_init(void) {
  BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "flurry socket");
  if (m && BIO_meth_set_write(m, bio_write) && BIO_meth_set_read(m, bio_read) &&
      BIO_meth_set_ctrl(m, bio_ctrl)) {
    bio_method = m;
    return;
  }
  BIO_meth_free(m);
}

/* ------------------------------------------------------------ handshake */

static int is_ip_literal(const char *host) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

int fl__tls_start(fl__transport *tp, fl__tls_ctx *t, const char *host, uint16_t port, char *msg,
                  size_t cap) {
  char why[256];
  if (t->max_version && t->max_version < t->min_version) {
    fl__msg(msg, cap,
            "TLS handshake with %s port %u not tried: the maximum version (TLS 1.%d) is below "
            "the minimum (TLS 1.%d)",
            host, port, t->max_version - FL_TLS_1_0, t->min_version - FL_TLS_1_0);
    return FL_ETLS_HANDSHAKE;
  }
  if (!t->ssl_ctx) {
    int err = ctx_setup(t, msg, cap);
    if (err) return err;
  }
  if (pthread_once(&bio_once, bio_method_init) != 0 || !bio_method) {
    fl__msg(msg, cap, "could not set up TLS: out of memory");
    return FL_ENOMEM;
  }
  size_t klen = strlen(host) + sizeof ":65535";
  fl__tls *c = calloc(1, sizeof *c + klen);
  if (!c) {
    fl__msg(msg, cap, "could not set up TLS: out of memory");
    return FL_ENOMEM;
  }
  snprintf(c->key, klen, "%s:%u", host, port);
  c->ctx = t;
  ERR_clear_error();
  c->ssl = SSL_new(t->ssl_ctx);
  BIO *b = c->ssl ? BIO_new(bio_method) : NULL;
  if (!b) goto fail;
  BIO_set_data(b, (void *)(intptr_t)tp->fd);
  BIO_set_init(b, 1);
  SSL_set_bio(c->ssl, b, b); /* the SSL owns it; the fd stays ours */
  SSL_set_app_data(c->ssl, c);
  SSL_set_connect_state(c->ssl);
  if (is_ip_literal(host)) {
    /* No SNI for addresses (RFC 6066 section 3); check the IP SAN. */
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), host) != 1) goto fail;
  } else {
    char name[256];
    size_t n = strlen(host);
    if (n && host[n - 1] == '.') n--; /* "example.com." is example.com on the wire */
    if (n >= sizeof name) n = sizeof name - 1;
    memcpy(name, host, n);
    name[n] = '\0';
    SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set_tlsext_host_name(c->ssl, name) != 1 || SSL_set1_host(c->ssl, name) != 1) goto fail;
  }
  if (t->cache_on) session_offer(t, c);
  c->host = host;
  c->port = port;
  tp->tls = c;
  tp->ops = &fl__tls_ops;
  return 0;
fail:
  openssl_reason(why, sizeof why);
  fl__msg(msg, cap, "could not set up TLS for %s: %s", host, why);
  SSL_free(c->ssl);
  free(c);
  return FL_ENOMEM;
}

static int handshake_error(fl__transport *tp, int ssl_err, int sys_errno, char *msg, size_t cap) {
  fl__tls *c = tp->tls;
  const char *host = c->host;
  long vr = SSL_get_verify_result(c->ssl);
  if (c->ctx->verify && vr != X509_V_OK) {
    const char *why = X509_verify_cert_error_string(vr);
    if (vr == X509_V_ERR_HOSTNAME_MISMATCH || vr == X509_V_ERR_IP_ADDRESS_MISMATCH)
      fl__msg(msg, cap, "SSL certificate problem: %s (the certificate is not valid for '%s')", why,
              host);
    else
      fl__msg(msg, cap, "SSL certificate problem: %s", why);
    ERR_clear_error();
    return FL_ECERT_VERIFY;
  }
  if (ERR_peek_error()) {
    char why[256];
    openssl_reason(why, sizeof why);
    fl__msg(msg, cap, "TLS handshake with %s port %u failed: %s", host, c->port, why);
  } else if (ssl_err == SSL_ERROR_SYSCALL && sys_errno) {
    fl__msg(msg, cap, "TLS handshake with %s port %u failed: %s", host, c->port,
            strerror(sys_errno));
  } else if (ssl_err == SSL_ERROR_SYSCALL || ssl_err == SSL_ERROR_ZERO_RETURN) {
    fl__msg(msg, cap, "TLS handshake with %s port %u failed: connection closed by the server",
            host, c->port);
  } else {
    fl__msg(msg, cap, "TLS handshake with %s port %u failed (SSL error %d)", host,
            c->port, ssl_err);
  }
  return FL_ETLS_HANDSHAKE;
}

int fl__tls_handshake(fl__transport *tp, uint32_t *wait, char *msg, size_t cap) {
  fl__tls *c = tp->tls;
  ERR_clear_error();
  errno = 0;
  int r = SSL_do_handshake(c->ssl);
  if (r == 1) {
    if (!c->ctx->pins) return 0;
    int err = fl__pins_check(c->ctx->pins, c->ssl, c->host, c->port, msg, cap);
    if (err) c->dead = 1; /* no close_notify; its session will fail the same way */
    return err;
  }
  int sys_errno = errno;
  int e = SSL_get_error(c->ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    *wait = e == SSL_ERROR_WANT_READ ? FL__POLLIN : FL__POLLOUT;
    return FL__TLS_AGAIN;
  }
  c->dead = 1;
  return handshake_error(tp, e, sys_errno, msg, cap);
}

int fl__tls_resumed(const fl__transport *tp) {
  return tp->tls && SSL_session_reused(tp->tls->ssl);
}

/* ------------------------------------------------------------ transport */

/* Map a failed SSL_read_ex/SSL_write_ex to the transport's contract. */
static ssize_t io_fail(fl__tls *c, int writing, int sys_errno) {
  uint32_t *want = writing ? &c->wwant : &c->rwant;
  int e = SSL_get_error(c->ssl, 0);
  switch (e) {
  case SSL_ERROR_WANT_READ:
  case SSL_ERROR_WANT_WRITE:
    *want = e == SSL_ERROR_WANT_READ ? FL__POLLIN : FL__POLLOUT;
    errno = EAGAIN;
    return -1;
  case SSL_ERROR_ZERO_RETURN: /* close_notify, or EOF without it */
    c->eof = 1;
    *want = 0;
    if (!writing) return 0;
    errno = EPIPE;
    return -1;
  case SSL_ERROR_SYSCALL:
    ERR_clear_error();
    c->dead = 1;
    if (sys_errno == 0 && !writing) return 0;
    errno = sys_errno ? sys_errno : EPIPE;
    return -1;
  default: /* a TLS protocol failure: alert, bad record... */
    openssl_reason(c->failure, sizeof c->failure); /* and clears the queue */
    c->dead = 1;
    errno = EPROTO;
    return -1;
  }
}

static ssize_t tls_read(fl__transport *tp, char *buf, size_t len) {
  fl__tls *c = tp->tls;
  size_t n;
  ERR_clear_error();
  errno = 0;
  if (SSL_read_ex(c->ssl, buf, len, &n)) {
    c->rwant = 0;
    return (ssize_t)n;
  }
  return io_fail(c, 0, errno);
}

/* Records go out in at most GATHER_CAP pieces. A piece is cut the same way
 * from the same offset every time, so a write retried after EAGAIN hands
 * OpenSSL the same bytes, as it requires. Small pieces followed by more
 * (head + body) are gathered into one record; large ones are written in
 * place. Returns the bytes written before blocking, if any. */
static ssize_t tls_writev(fl__transport *tp, const struct iovec *iov, int iovcnt) {
  fl__tls *c = tp->tls;
  size_t total = 0, off = 0;
  int i = 0;
  for (;;) {
    while (i < iovcnt && off == iov[i].iov_len) i++, off = 0;
    if (i == iovcnt) return (ssize_t)total;
    const char *p = (const char *)iov[i].iov_base + off;
    size_t len = iov[i].iov_len - off;
    if (len < GATHER_CAP && i + 1 < iovcnt) {
      if (!c->gather && !(c->gather = malloc(GATHER_CAP))) {
        if (total) return (ssize_t)total;
        errno = ENOMEM;
        return -1;
      }
      size_t g = 0, o = off;
      for (int j = i; j < iovcnt && g < GATHER_CAP;) {
        size_t take = iov[j].iov_len - o;
        if (take > GATHER_CAP - g) take = GATHER_CAP - g;
        memcpy(c->gather + g, (const char *)iov[j].iov_base + o, take);
        g += take, o += take;
        if (o == iov[j].iov_len) j++, o = 0;
      }
      p = c->gather;
      len = g;
    }
    size_t n;
    ERR_clear_error();
    errno = 0;
    if (!SSL_write_ex(c->ssl, p, len, &n)) {
      ssize_t r = io_fail(c, 1, errno);
      return total ? (ssize_t)total : r;
    }
    c->wwant = 0;
    total += n;
    while (n) { /* advance (i, off) by n */
      size_t step = iov[i].iov_len - off;
      if (step > n) step = n;
      off += step, n -= step;
      if (off == iov[i].iov_len) i++, off = 0;
    }
  }
}

static uint32_t tls_wants(const fl__transport *tp, int writing) {
  return writing ? tp->tls->wwant : tp->tls->rwant;
}

static int tls_pending(const fl__transport *tp) { return SSL_has_pending(tp->tls->ssl); }

/* Orderly close: one close_notify, never waiting for the peer's. A session
 * is kept resumable only by a connection that ended cleanly (OpenSSL drops
 * it from use when an SSL is freed without a shutdown). */
static void tls_close(fl__transport *tp) {
  fl__tls *c = tp->tls;
  if (c) {
    if (!c->dead && SSL_is_init_finished(c->ssl)) {
      if (c->eof) SSL_set_quiet_shutdown(c->ssl, 1); /* the peer is gone: nothing to send */
      ERR_clear_error();
      SSL_shutdown(c->ssl);
    }
    ERR_clear_error();
    SSL_free(c->ssl);
    free(c->gather);
    free(c);
    tp->tls = NULL;
  }
  close(tp->fd);
}

static const char *tls_failure(const fl__transport *tp) {
  return tp->tls && tp->tls->failure[0] ? tp->tls->failure : NULL;
}

const fl__transport_ops fl__tls_ops = {tls_read, tls_writev, tls_close, tls_wants, tls_pending,
                                       tls_failure};
