/* Public suffix rules: a built-in subset, or the full list in a string hash
 * set. Rules are kept in their textual form ("co.uk", "*.ck", "!www.ck"),
 * so a lookup is three probes: "!D", "D", "*.<parent of D>". */
#include "http/psl.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flurry.h"

/* Multi-label rules only: the default rule already makes every single
 * label ("com", "uk", "io") a public suffix. Each entry was checked against
 * the publicsuffix.org list of 2023-02. */
/* Grouped by hand, several entries a line. */
/* clang-format off */
static const char *const builtin[] = {
    /* ICANN */
    "co.uk", "org.uk", "ac.uk", "gov.uk", "ltd.uk", "plc.uk", "me.uk", "net.uk", "nhs.uk",
    "police.uk", "com.au", "net.au", "org.au", "edu.au", "gov.au", "asn.au", "id.au", "co.jp",
    "ne.jp", "or.jp", "ac.jp", "go.jp", "ad.jp", "ed.jp", "gr.jp", "lg.jp", "co.nz", "org.nz",
    "net.nz", "govt.nz", "ac.nz", "co.za", "org.za", "gov.za", "com.br", "net.br", "org.br",
    "gov.br", "com.cn", "net.cn", "org.cn", "gov.cn", "edu.cn", "co.in", "net.in", "org.in",
    "gov.in", "ac.in", "co.kr", "or.kr", "com.mx", "org.mx", "gob.mx", "com.tw", "org.tw",
    "com.sg", "edu.sg", "gov.sg", "com.hk", "org.hk", "co.il", "org.il", "ac.il", "com.tr",
    "org.tr", "com.ar", "com.ua", "co.id", "com.my", "com.ph", "com.vn", "com.pl", "co.at",
    "or.at", "com.es", "com.ru", "com.de",
    "*.ck", "!www.ck", "*.bd", "*.np", "*.er", "*.fk", "*.jm", "*.kh", "*.mm", "*.pg",
    /* PRIVATE */
    "github.io", "githubusercontent.com", "gitlab.io", "herokuapp.com", "appspot.com",
    "blogspot.com", "cloudfront.net", "azurewebsites.net", "netlify.app", "vercel.app",
    "pages.dev", "workers.dev", "web.app", "firebaseapp.com", "elasticbeanstalk.com", "fly.dev",
    "onrender.com", "glitch.me", "readthedocs.io", "duckdns.org", "dyndns.org",
    "s3.amazonaws.com", "myshopify.com", "co.com",
};
/* clang-format on */

struct fl__psl {
  char *text;   /* the file's bytes; each rule is NUL-terminated in place */
  char **slots; /* open addressing into text, power-of-two size, NULL = empty */
  size_t mask, count;
};

static uint64_t hash(const char *s, size_t n) {
  uint64_t h = 1469598103934665603u; /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211u;
  return h;
}

static int set_has(const fl__psl *psl, const char *s, size_t n) {
  for (size_t i = (size_t)hash(s, n) & psl->mask;; i = (i + 1) & psl->mask) {
    const char *e = psl->slots[i];
    if (!e) return 0;
    if (strncmp(e, s, n) == 0 && e[n] == '\0') return 1;
  }
}

/* Add rule s (NUL-terminated, n bytes, kept where it is: inside text). */
static int set_add(fl__psl *psl, char *s, size_t n) {
  if ((psl->count + 1) * 2 > psl->mask + 1) { /* keep load <= 1/2 */
    size_t ncap = (psl->mask + 1) * 2;
    char **ns = calloc(ncap, sizeof *ns);
    if (!ns) return FL_ENOMEM;
    for (size_t i = 0; i <= psl->mask; i++) {
      char *e = psl->slots[i];
      if (!e) continue;
      size_t j = (size_t)hash(e, strlen(e)) & (ncap - 1);
      while (ns[j]) j = (j + 1) & (ncap - 1);
      ns[j] = e;
    }
    free(psl->slots);
    psl->slots = ns, psl->mask = ncap - 1;
  }
  if (set_has(psl, s, n)) return 0;
  size_t i = (size_t)hash(s, n) & psl->mask;
  while (psl->slots[i]) i = (i + 1) & psl->mask;
  psl->slots[i] = s;
  psl->count++;
  return 0;
}

void fl__psl_free(fl__psl *psl) {
  if (!psl) return;
  free(psl->slots);
  free(psl->text);
  free(psl);
}

size_t fl__psl_rule_count(const fl__psl *psl) { return psl->count; }

/* The whole file in one NUL-terminated buffer (*len bytes before the NUL). */
static int read_file(const char *path, char **out, size_t *len) {
  *out = NULL;
  FILE *f = fopen(path, "re");
  if (!f) return FL_EREAD;
  size_t cap = 0, n = 0;
  char *buf = NULL;
  int rc = 0;
  for (;;) {
    if (cap - n < 2) {
      size_t ncap = cap ? cap * 2 : 256 * 1024;
      if (ncap > FL__PSL_MAX_FILE + 1) {
        rc = FL_EREAD; /* not a public suffix list: far too big */
        break;
      }
      char *nb = realloc(buf, ncap);
      if (!nb) {
        rc = FL_ENOMEM;
        break;
      }
      buf = nb, cap = ncap;
    }
    size_t got = fread(buf + n, 1, cap - n - 1, f);
    n += got;
    if (got == 0) {
      if (ferror(f)) rc = FL_EREAD;
      break;
    }
  }
  fclose(f);
  if (rc) {
    free(buf);
    return rc;
  }
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return 0;
}

/* A rule is the first whitespace-delimited word of a line; "//" starts a
 * comment line. Rules with bytes outside printable ASCII are skipped. The
 * file is read into one buffer and the rules point into it, so loading the
 * ~9,000 rules of the full list takes a handful of allocations. */
int fl__psl_load(fl__psl **out, const char *path) {
  *out = NULL;
  char *text;
  size_t len;
  int rc = read_file(path, &text, &len);
  if (rc) return rc;
  fl__psl *psl = calloc(1, sizeof *psl);
  if (!psl || !(psl->slots = calloc(1024, sizeof *psl->slots))) {
    free(psl);
    free(text);
    return FL_ENOMEM;
  }
  psl->text = text;
  psl->mask = 1023;
  char *line = text, *end = text + len;
  while (rc == 0 && line < end) {
    char *eol = memchr(line, '\n', (size_t)(end - line));
    char *next = eol ? eol + 1 : end;
    char *p = line;
    while (p < next && (*p == ' ' || *p == '\t')) p++;
    if (!(next - p >= 2 && p[0] == '/' && p[1] == '/')) {
      size_t n = 0, ascii = 1;
      for (; p + n < next && p[n] && p[n] != ' ' && p[n] != '\t' && p[n] != '\r' && p[n] != '\n';
           n++) {
        unsigned char c = (unsigned char)p[n];
        if (c <= 0x20 || c >= 0x7f)
          ascii = 0;
        else if (c >= 'A' && c <= 'Z')
          p[n] = (char)(c + 32);
      }
      /* The byte after the rule is whitespace, a line end or the NUL after
       * the text (p + n <= end): never part of a rule, so end it there. */
      if (n > 0 && n < 256 && ascii) {
        p[n] = '\0';
        rc = set_add(psl, p, n);
      }
    }
    line = next;
  }
  if (rc == 0 && psl->count == 0) rc = FL_EREAD;
  if (rc) {
    fl__psl_free(psl);
    return rc;
  }
  *out = psl;
  return 0;
}

static int has_rule(const fl__psl *psl, const char *s, size_t n) {
  if (psl) return set_has(psl, s, n);
  for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
    if (strncmp(builtin[i], s, n) == 0 && builtin[i][n] == '\0') return 1;
  return 0;
}

int fl__psl_is_public_suffix(const fl__psl *psl, const char *domain) {
  char buf[260]; /* "!" or "*." + domain */
  size_t n = strlen(domain);
  if (n == 0) return 1;
  if (n > 253) return 0; /* not a valid DNS name, so no rule can match */
  buf[0] = '!';
  for (size_t i = 0; i < n; i++) {
    char c = domain[i];
    buf[1 + i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
  }
  buf[1 + n] = '\0';
  const char *d = buf + 1;

  /* An exception rule "!D" means D's suffix is its parent: D is not one. */
  if (has_rule(psl, buf, n + 1)) return 0;
  if (has_rule(psl, d, n)) return 1;
  const char *dot = memchr(d, '.', n);
  if (!dot) return 1; /* default rule "*": every TLD */
  /* Wildcard "*.P" matches one label directly under P. */
  size_t plen = n - (size_t)(dot + 1 - d);
  char wild[260];
  wild[0] = '*', wild[1] = '.';
  memcpy(wild + 2, dot + 1, plen);
  return has_rule(psl, wild, plen + 2);
}
