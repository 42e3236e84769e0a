/* TLS over OpenSSL 3.0: a connection's handshake and the TLS transport (see
 * tls.h); contexts and the session cache are in tls_ctx.c.
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
#include "net/tls_impl.h"
#include "net/tls_pin.h"
#include "net/transport.h"

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

void fl__tls_detach(fl__transport *tp) {
  if (!tp->tls) return;
  tp->tls->ctx = NULL; /* the SSL object holds its own reference to the SSL_CTX */
  tp->tls->host = NULL;
}

int fl__tls_start(fl__transport *tp, fl__tls_ctx *t, const char *host, uint16_t port, int offer_h2,
                  char *msg, size_t cap) {
  char why[256];
  if (t->max_version && t->max_version < t->min_version) {
    fl__msg(msg, cap,
            "TLS handshake with %s port %u not tried: the maximum version (TLS 1.%d) is below "
            "the minimum (TLS 1.%d)",
            host, port, t->max_version - FL_TLS_1_0, t->min_version - FL_TLS_1_0);
    return FL_ETLS_HANDSHAKE;
  }
  if (!t->ssl_ctx) {
    int err = fl__tls_ctx_setup(t, msg, cap);
    if (err) return err;
  }
  if (pthread_once(&bio_once, bio_method_init) != 0 || !bio_method) {
    fl__msg(msg, cap, "could not set up TLS: out of memory");
    return FL_ENOMEM;
  }
  size_t klen = strlen(t->id) + 1 + strlen(host) + sizeof ":65535";
  fl__tls *c = calloc(1, sizeof *c + klen);
  if (!c) {
    fl__msg(msg, cap, "could not set up TLS: out of memory");
    return FL_ENOMEM;
  }
  snprintf(c->key, klen, "%s/%s:%u", t->id, host, port);
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
  /* ALPN per connection: the context's is "http/1.1"; h2 is offered first
   * when the endpoint may speak it (0 is success here). */
  static const unsigned char h2_alpn[] = "\x02h2\x08http/1.1";
  if (offer_h2 && SSL_set_alpn_protos(c->ssl, h2_alpn, sizeof h2_alpn - 1) != 0) goto fail;
  if (is_ip_literal(host)) {
    /* No SNI for addresses (RFC 6066 section 3); check the IP SAN. */
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), host) != 1) goto fail;
  } else {
    size_t n = strlen(host);
    if (n && host[n - 1] == '.') n--; /* "example.com." is example.com on the wire */
    char *name = strndup(host, n);
    if (!name) goto fail;
    SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    /* SNI carries at most 255 bytes (OpenSSL's limit); a longer name (one
     * reached through --resolve or a proxy) goes without SNI, as curl's,
     * and the certificate is still checked against the whole name. */
    int ok = (n > 255 || SSL_set_tlsext_host_name(c->ssl, name) == 1) &&
             SSL_set1_host(c->ssl, name) == 1;
    free(name);
    if (!ok) goto fail;
  }
  if (t->cache_on) fl__tls_session_offer(t, c);
  c->host = host;
  c->port = port;
  tp->tls = c;
  tp->ops = &fl__tls_ops;
  return 0;
fail:
  fl__tls_openssl_reason(why, sizeof why);
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
    fl__tls_openssl_reason(why, sizeof why);
    fl__msg(msg, cap, "TLS handshake with %s port %u failed: %s", host, c->port, why);
  } else if (ssl_err == SSL_ERROR_SYSCALL && sys_errno) {
    fl__msg(msg, cap, "TLS handshake with %s port %u failed: %s", host, c->port,
            strerror(sys_errno));
  } else if (ssl_err == SSL_ERROR_SYSCALL || ssl_err == SSL_ERROR_ZERO_RETURN) {
    fl__msg(msg, cap, "TLS handshake with %s port %u failed: connection closed by the server", host,
            c->port);
  } else {
    fl__msg(msg, cap, "TLS handshake with %s port %u failed (SSL error %d)", host, c->port,
            ssl_err);
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

int fl__tls_resumed(const fl__transport *tp) { return tp->tls && SSL_session_reused(tp->tls->ssl); }

int fl__tls_alpn(const fl__transport *tp) {
  const unsigned char *p = NULL;
  unsigned len = 0;
  if (!tp->tls) return 0;
  SSL_get0_alpn_selected(tp->tls->ssl, &p, &len);
  if (len == 2 && memcmp(p, "h2", 2) == 0) return 20;
  if (len == 8 && memcmp(p, "http/1.1", 8) == 0) return 11;
  return 0;
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
    fl__tls_openssl_reason(c->failure, sizeof c->failure); /* and clears the queue */
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

const fl__transport_ops fl__tls_ops = {tls_read,  tls_writev,  tls_close,
                                       tls_wants, tls_pending, tls_failure};
