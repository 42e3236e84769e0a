/* Public suffix rules through libpsl: a list file loaded into its own
 * context, or the latest list (built-in or the system's), loaded once per
 * process as curl does. Hosts are lower-cased here; libpsl wants them so. */
#include "http/psl.h"

#include <libpsl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "flurry.h"

struct fl__psl {
  psl_ctx_t *ctx;
};

/* The latest list: never freed, it lives as long as the process (as the
 * built-in one does inside libpsl). */
static psl_ctx_t *latest;
static pthread_once_t latest_once = PTHREAD_ONCE_INIT;
static void load_latest(void) {
  latest = psl_latest(NULL);
  if (!latest) latest = (psl_ctx_t *)psl_builtin(); /* never freed either */
}

int fl__psl_load(fl__psl **out, const char *path) {
  *out = NULL;
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > FL__PSL_MAX_FILE)
    return FL_EREAD;
  fl__psl *p = malloc(sizeof *p);
  if (!p) return FL_ENOMEM;
  p->ctx = psl_load_file(path);
  /* a file without a rule is no list (libpsl would still take it) */
  if (!p->ctx || (psl_suffix_count(p->ctx) == 0 && psl_suffix_wildcard_count(p->ctx) == 0 &&
                  psl_suffix_exception_count(p->ctx) == 0)) {
    psl_free(p->ctx);
    free(p);
    return FL_EREAD;
  }
  *out = p;
  return 0;
}

void fl__psl_free(fl__psl *psl) {
  if (!psl) return;
  psl_free(psl->ctx);
  free(psl);
}

size_t fl__psl_rule_count(const fl__psl *psl) {
  /* libpsl counts wildcard rules among the suffixes, exceptions apart */
  int n = psl_suffix_count(psl->ctx), x = psl_suffix_exception_count(psl->ctx);
  return (size_t)(n > 0 ? n : 0) + (size_t)(x > 0 ? x : 0);
}

int fl__psl_is_public_suffix(const fl__psl *psl, const char *domain) {
  size_t n = strlen(domain);
  if (n == 0) return 1;
  char small[256], *lower = n < sizeof small ? small : malloc(n + 1);
  if (!lower) return 1; /* no memory: refuse the cookie rather than widen it */
  for (size_t i = 0; i <= n; i++) {
    char c = domain[i];
    lower[i] = c >= 'A' && c <= 'Z' ? (char)(c | 0x20) : c;
  }
  const psl_ctx_t *ctx = psl ? psl->ctx : NULL;
  if (!ctx) {
    pthread_once(&latest_once, load_latest);
    ctx = latest;
  }
  int pub = ctx ? psl_is_public_suffix(ctx, lower) : 1;
  if (lower != small) free(lower);
  return pub != 0;
}
