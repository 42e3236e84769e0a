/* Public-key pinning (see tls_pin.h): every form of pin becomes a list of
 * SHA-256 digests of a DER SubjectPublicKeyInfo, compared after each
 * handshake (a resumed session carries the peer certificate, so it is
 * checked too). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/common.h"
#include "net/tls_pin.h"

enum {
  DIGEST_LEN = 32,        /* SHA-256 */
  B64_LEN = 44,           /* its base64, padded */
  FILE_MAX = 1024 * 1024, /* curl's cap on a pinned key file */
};

struct fl__pins {
  size_t n;
  unsigned char (*digests)[DIGEST_LEN];
  char problem[200]; /* why (part of) the pin can never match, or "" */
};

static int b64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/* The digest whose base64 is s[0..len): 44 characters ending in '=', or the
 * same 43 without the padding. 1 on success. */
static int decode_digest(const char *s, size_t len, unsigned char out[DIGEST_LEN]) {
  if (len == B64_LEN && s[B64_LEN - 1] == '=') len--;
  if (len != B64_LEN - 1) return 0;
  uint32_t acc = 0;
  int bits = 0;
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    int v = b64_value((unsigned char)s[i]);
    if (v < 0) return 0;
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (unsigned char)(acc >> bits);
    }
  }
  /* 43 characters carry 258 bits: the last 2 must be 0 (canonical form) */
  return o == DIGEST_LEN && (acc & ((1u << bits) - 1)) == 0;
}

static int sha256(const unsigned char *p, size_t len, unsigned char out[DIGEST_LEN]) {
  unsigned int n = 0;
  int ok = EVP_Digest(p, len, out, &n, EVP_sha256(), NULL) == 1 && n == DIGEST_LEN;
  ERR_clear_error();
  return ok;
}

/* "sha256//B64;sha256//B64...": entries that do not parse are skipped
 * (the first one is named in problem). */
static int parse_list(fl__pins *p, const char *spec) {
  size_t max = 1;
  for (const char *s = spec; *s; s++) max += *s == ';';
  p->digests = malloc(max * sizeof *p->digests);
  if (!p->digests) return FL_ENOMEM;
  for (const char *s = spec;;) {
    const char *end = strchr(s, ';');
    if (!end) end = s + strlen(s);
    const char *e = end;
    while (s < e && (*s == ' ' || *s == '\t')) s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
    size_t len = (size_t)(e - s);
    if (len > 8 && strncmp(s, "sha256//", 8) == 0 &&
        decode_digest(s + 8, len - 8, p->digests[p->n]))
      p->n++;
    else if (!p->problem[0])
      fl__msg(p->problem, sizeof p->problem,
              "pinned '%.*s' is not sha256// followed by a base64 SHA-256 digest",
              (int)(len > 60 ? 60 : len), s);
    if (!*end) break;
    s = end + 1;
  }
  return 0;
}

/* A file with one public key, PEM or DER. */
static int load_file(fl__pins *p, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fl__msg(p->problem, sizeof p->problem, "cannot read the pinned key file %s: %s", path,
            strerror(errno));
    return 0;
  }
  unsigned char *data = malloc(FILE_MAX + 1);
  p->digests = malloc(sizeof *p->digests);
  if (!data || !p->digests) {
    fclose(f);
    free(data);
    return FL_ENOMEM;
  }
  size_t n = fread(data, 1, FILE_MAX + 1, f);
  int rerr = ferror(f) ? errno : 0;
  fclose(f);
  const unsigned char *der = data;
  long der_len = (long)n;
  unsigned char *pem_der = NULL;
  if (rerr) {
    fl__msg(p->problem, sizeof p->problem, "cannot read the pinned key file %s: %s", path,
            strerror(rerr));
    goto out;
  }
  if (n > FILE_MAX) {
    fl__msg(p->problem, sizeof p->problem, "pinned key file %s: larger than 1 MiB", path);
    goto out;
  }
  /* PEM when it has a PUBLIC KEY block, else the bytes are the DER */
  BIO *b = BIO_new_mem_buf(data, (int)n);
  char *name = NULL;
  long pem_len = 0;
  if (b && PEM_bytes_read_bio(&pem_der, &pem_len, &name, PEM_STRING_PUBLIC, b, NULL, NULL) == 1) {
    der = pem_der;
    der_len = pem_len;
  }
  OPENSSL_free(name);
  BIO_free(b);
  const unsigned char *q = der;
  X509_PUBKEY *k = der ? d2i_X509_PUBKEY(NULL, &q, der_len) : NULL;
  int whole = k && q == der + der_len;
  X509_PUBKEY_free(k);
  if (!whole)
    fl__msg(p->problem, sizeof p->problem, "pinned key file %s holds no public key (PEM or DER)",
            path);
  else if (sha256(der, (size_t)der_len, p->digests[0]))
    p->n = 1;
  else
    fl__msg(p->problem, sizeof p->problem, "pinned key file %s: could not hash it", path);
out:
  ERR_clear_error();
  OPENSSL_free(pem_der);
  free(data);
  return 0;
}

int fl__pins_new(const char *spec, fl__pins **out) {
  fl__pins *p = calloc(1, sizeof *p);
  *out = NULL;
  if (!p) return FL_ENOMEM;
  int err = strncmp(spec, "sha256//", 8) == 0 ? parse_list(p, spec) : load_file(p, spec);
  if (err) {
    fl__pins_free(p);
    return err;
  }
  *out = p;
  return 0;
}

void fl__pins_free(fl__pins *p) {
  if (!p) return;
  free(p->digests);
  free(p);
}

int fl__pins_check(const fl__pins *p, SSL *ssl, const char *host, unsigned port, char *msg,
                   size_t cap) {
  X509 *cert = SSL_get0_peer_certificate(ssl);
  unsigned char *der = NULL, md[DIGEST_LEN];
  int len = cert ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der) : 0;
  int hashed = len > 0 && sha256(der, (size_t)len, md);
  OPENSSL_free(der);
  if (!hashed) {
    fl__msg(msg, cap, "public key of %s port %u does not match the pinned key: %s", host, port,
            cert ? "could not hash it" : "the server sent no certificate");
    return FL_EPINNED_PUBKEY;
  }
  for (size_t i = 0; i < p->n; i++)
    if (memcmp(p->digests[i], md, DIGEST_LEN) == 0) return 0;
  char b64[B64_LEN + 4];
  EVP_EncodeBlock((unsigned char *)b64, md, DIGEST_LEN);
  if (p->problem[0])
    fl__msg(msg, cap, "public key of %s port %u (sha256//%s) does not match the pinned key; %s",
            host, port, b64, p->problem);
  else
    fl__msg(msg, cap, "public key of %s port %u (sha256//%s) does not match the pinned key", host,
            port, b64);
  return FL_EPINNED_PUBKEY;
}
