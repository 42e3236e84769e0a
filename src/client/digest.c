/* HTTP Digest authentication (RFC 7616); contract in digest.h. */
#include "client/digest.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/proxy.h"

/* Weakest first: of several challenges, the first with the strongest
 * algorithm is answered. */
static const struct {
  const char *name;
  const EVP_MD *(*md)(void);
} algos[] = {{"MD5", EVP_md5}, {"SHA-256", EVP_sha256}, {"SHA-512-256", EVP_sha512_256}};

/* Values longer than this make a challenge unusable (a bounded header). */
#define VALUE_MAX 2048

void fl__digest_dispose(fl__digest *d) {
  if (d->realm || d->nonce || d->opaque) { /* most requests never had a challenge */
    free(d->realm);
    free(d->nonce);
    free(d->opaque);
  }
  memset(d, 0, sizeof *d);
}

/* ------------------------------------------------------------- parsing */

typedef struct span {
  const char *p;
  size_t n;
  int quoted; /* may hold backslash escapes */
  int set;
} span;

typedef struct challenge {
  span realm, nonce, opaque, algorithm, qop, userhash;
} challenge;

static int is_tchar(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void skip_ows(const char **p) {
  while (**p == ' ' || **p == '\t') (*p)++;
}

static int span_is(const span *s, const char *word) {
  return s->n == strlen(word) && fl__strncaseeq(s->p, word, s->n);
}

/* A token or a quoted-string at *p. 0, or -1 for neither. */
static int parse_value(const char **p, span *v) {
  const char *s = *p;
  memset(v, 0, sizeof *v);
  if (*s == '"') {
    const char *e = ++s;
    while (*e && *e != '"') {
      if (*e == '\\' && e[1]) e++;
      e++;
    }
    if (*e != '"') return -1;
    *v = (span){s, (size_t)(e - s), 1, 1};
    *p = e + 1;
    return 0;
  }
  const char *e = s;
  while (is_tchar((unsigned char)*e)) e++;
  *v = (span){s, (size_t)(e - s), 0, 1};
  *p = e;
  return 0;
}

/* Does a comma-separated qop list (quoted) hold "auth"? */
static int qop_has_auth(const span *q) {
  const char *p = q->p, *end = q->p + q->n;
  while (p < end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) p++;
    const char *e = p;
    while (e < end && *e != ',' && *e != ' ' && *e != '\t') e++;
    if (e - p == 4 && fl__strncaseeq(p, "auth", 4)) return 1;
    p = e;
  }
  return 0;
}

/* The algorithm's index (-1: unknown) and whether it is a -sess one. */
static int algo_of(const challenge *ch, int *sess) {
  *sess = 0;
  if (!ch->algorithm.set) return 0; /* MD5 by default */
  size_t n = ch->algorithm.n;
  if (n > 5 && fl__strncaseeq(ch->algorithm.p + n - 5, "-sess", 5)) {
    *sess = 1;
    n -= 5;
  }
  for (size_t i = 0; i < FL__ARRAY_SIZE(algos); i++)
    if (strlen(algos[i].name) == n && fl__strncaseeq(ch->algorithm.p, algos[i].name, n))
      return (int)i;
  return -1;
}

/* Can we answer it? Then its algorithm's rank, else -1. */
static int usable(const challenge *ch) {
  int sess;
  int algo = algo_of(ch, &sess);
  if (algo < 0 || !ch->nonce.set || ch->nonce.n > VALUE_MAX || ch->realm.n > VALUE_MAX ||
      ch->opaque.n > VALUE_MAX)
    return -1;
  if (ch->qop.set && !qop_has_auth(&ch->qop)) return -1; /* auth-int only */
  return algo;
}

static void param(challenge *ch, const span *name, const span *v) {
  span *dst = span_is(name, "realm")       ? &ch->realm
              : span_is(name, "nonce")     ? &ch->nonce
              : span_is(name, "opaque")    ? &ch->opaque
              : span_is(name, "algorithm") ? &ch->algorithm
              : span_is(name, "qop")       ? &ch->qop
              : span_is(name, "userhash")  ? &ch->userhash
                                           : NULL;
  if (dst && !dst->set) *dst = *v;
}

/* Challenges of one header value: "Scheme param=value, param=value, Scheme
 * ...". The best usable Digest one replaces *best (rank in *best_rank). */
static void scan(const char *p, challenge *best, int *best_rank) {
  challenge cur;
  int in_digest = 0;
  memset(&cur, 0, sizeof cur);
  for (;;) {
    while (*p == ' ' || *p == '\t' || *p == ',') p++;
    const char *t = p;
    while (is_tchar((unsigned char)*p)) p++;
    span name = {t, (size_t)(p - t), 0, 1};
    const char *q = p;
    skip_ows(&q);
    if (name.n && *q == '=' && q[1] != '=') { /* an auth-param */
      q++;
      skip_ows(&q);
      span v;
      if (parse_value(&q, &v)) break; /* an unterminated quote ends it all */
      if (in_digest) param(&cur, &name, &v);
      p = q;
      continue;
    }
    /* a new challenge (or the end, or junk to skip) */
    if (in_digest) {
      int rank = usable(&cur);
      if (rank > *best_rank) { /* the first of the strongest */
        *best = cur;
        *best_rank = rank;
      }
    }
    if (!name.n) {
      if (!*p) break;
      p++; /* junk (a token68's '=' run...): skip a byte */
      in_digest = 0;
      continue;
    }
    in_digest = span_is(&name, "Digest");
    memset(&cur, 0, sizeof cur);
  }
}

static char *copy_span(const span *s) {
  char *out = malloc(s->n + 1), *w = out;
  if (!out) return NULL;
  for (size_t i = 0; i < s->n; i++) {
    if (s->quoted && s->p[i] == '\\' && i + 1 < s->n) i++;
    *w++ = s->p[i];
  }
  *w = '\0';
  return out;
}

int fl__digest_parse(fl__digest *d, const fl__headers *h, const char *name) {
  fl__digest_dispose(d);
  challenge best;
  int rank = -1;
  memset(&best, 0, sizeof best);
  for (size_t i = 0; i < h->n; i++)
    if (fl__strcaseeq(fl__headers_name(h, i), name)) scan(fl__headers_value(h, i), &best, &rank);
  if (rank < 0) return FL_EINVAL;
  d->algo = algo_of(&best, &d->sess);
  d->qop_auth = best.qop.set;
  d->userhash = best.userhash.set && span_is(&best.userhash, "true");
  span empty = {"", 0, 0, 1};
  d->realm = copy_span(best.realm.set ? &best.realm : &empty);
  d->nonce = copy_span(&best.nonce);
  d->opaque = best.opaque.set ? copy_span(&best.opaque) : NULL;
  if (!d->realm || !d->nonce || (best.opaque.set && !d->opaque)) {
    fl__digest_dispose(d);
    return FL_ENOMEM;
  }
  return 0;
}

/* ------------------------------------------------------------- hashing */

/* Lower-case hex of H(parts[0] ":" parts[1] ":" ...) into out (room for
 * 2 * EVP_MAX_MD_SIZE + 1). 0, or -1 if the hash is not available. */
static int hash_hex(const fl__digest *d, char *out, const char *const *parts, size_t n) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok = ctx && EVP_DigestInit_ex(ctx, algos[d->algo].md(), NULL);
  for (size_t i = 0; ok && i < n; i++)
    ok = (i == 0 || EVP_DigestUpdate(ctx, ":", 1)) &&
         EVP_DigestUpdate(ctx, parts[i], strlen(parts[i]));
  ok = ok && EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  if (!ok) return -1;
  static const char hex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < len; i++) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 15];
  }
  out[2 * len] = '\0';
  return 0;
}

static int put_quoted(fl__buf *b, const char *name, const char *value) {
  if (fl__buf_puts(b, name) || fl__buf_puts(b, "=\"")) return -1;
  for (const char *p = value; *p; p++)
    if (((*p == '"' || *p == '\\') && fl__buf_append(b, "\\", 1)) || fl__buf_append(b, p, 1))
      return -1;
  return fl__buf_puts(b, "\"");
}

int fl__digest_creds_ok(const char *user, const char *pass) {
  for (const char *s = user; s && *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f) return 0;
  for (const char *s = pass; s && *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f) return 0;
  return user != NULL;
}

int fl__digest_put_header(fl__digest *d, fl__buf *b, const char *header, const char *user,
                          const char *pass, const char *method, const char *uri,
                          const char *cnonce) {
  char ha1[2 * EVP_MAX_MD_SIZE + 1], ha2[sizeof ha1], resp[sizeof ha1], uhash[sizeof ha1];
  char random[33] = "", nc[9];
  unsigned char rnd[16];
  if (!pass) pass = "";
  d->nc++;
  snprintf(nc, sizeof nc, "%08x", (unsigned)d->nc);
  if (!cnonce && (d->qop_auth || d->sess)) {
    if (RAND_bytes(rnd, sizeof rnd) != 1) return FL_EINVAL;
    for (size_t i = 0; i < sizeof rnd; i++) snprintf(random + 2 * i, 3, "%02x", rnd[i]);
  }
  if (!cnonce) cnonce = random;
  const char *a1[] = {user, d->realm, pass};
  if (hash_hex(d, ha1, a1, 3)) return FL_EINVAL;
  if (d->sess) {
    const char *s1[] = {ha1, d->nonce, cnonce};
    char tmp[sizeof ha1];
    if (hash_hex(d, tmp, s1, 3)) return FL_EINVAL;
    memcpy(ha1, tmp, sizeof ha1);
  }
  const char *a2[] = {method, uri};
  if (hash_hex(d, ha2, a2, 2)) return FL_EINVAL;
  const char *r6[] = {ha1, d->nonce, nc, cnonce, "auth", ha2}, *r3[] = {ha1, d->nonce, ha2};
  if (d->qop_auth ? hash_hex(d, resp, r6, 6) : hash_hex(d, resp, r3, 3)) return FL_EINVAL;
  if (d->userhash) {
    const char *u[] = {user, d->realm};
    if (hash_hex(d, uhash, u, 2)) return FL_EINVAL;
  }
  int err = (header && (fl__buf_puts(b, header) || fl__buf_puts(b, ": "))) ||
            fl__buf_puts(b, "Digest ") || put_quoted(b, "username", d->userhash ? uhash : user) ||
            fl__buf_puts(b, ", ") || put_quoted(b, "realm", d->realm) || fl__buf_puts(b, ", ") ||
            put_quoted(b, "nonce", d->nonce) || fl__buf_puts(b, ", ") ||
            put_quoted(b, "uri", uri) || fl__buf_puts(b, ", algorithm=") ||
            fl__buf_puts(b, algos[d->algo].name) || (d->sess && fl__buf_puts(b, "-sess")) ||
            fl__buf_puts(b, ", ") || put_quoted(b, "response", resp) ||
            (d->opaque && (fl__buf_puts(b, ", ") || put_quoted(b, "opaque", d->opaque))) ||
            (d->qop_auth && (fl__buf_puts(b, ", qop=auth, nc=") || fl__buf_puts(b, nc) ||
                             fl__buf_puts(b, ", ") || put_quoted(b, "cnonce", cnonce))) ||
            (d->userhash && fl__buf_puts(b, ", userhash=true")) ||
            (header && fl__buf_puts(b, "\r\n"));
  return err ? FL_ENOMEM : 0;
}

/* ------------------------------------------------------ the CONNECT's */

int fl__digest_tunnel_auth(const void *ctx, const fl__headers *res, const char *target,
                           fl__buf *out) {
  const fl__proxy *px = ctx;
  if (!fl__digest_creds_ok(fl__proxy_user(px), fl__proxy_password(px))) return -1;
  fl__digest d;
  memset(&d, 0, sizeof d);
  int err = fl__digest_parse(&d, res, "Proxy-Authenticate");
  if (!err)
    err = fl__digest_put_header(&d, out, NULL, fl__proxy_user(px), fl__proxy_password(px),
                                "CONNECT", target, NULL);
  fl__digest_dispose(&d);
  return err ? -1 : 0;
}
