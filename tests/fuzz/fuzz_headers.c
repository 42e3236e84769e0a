/* libFuzzer target: header lists and header validation (src/base/headers.c)
 * and the public setters built on them (fl_request_set_header, add, remove,
 * set_method).
 *
 * Input: a program of operations, each an opcode byte and its operands
 * ("name\0value\0"): add, set (remove + add), remove, get, incremental
 * (append_name / append_value in two pieces each, commit), reset. A simple
 * model (an array of pairs) runs alongside and every get, count and item
 * must agree with it; the arena must stay within twice the live bytes plus
 * 4 KiB after removals. Validation is compared with a reference written
 * from RFC 9110 (token: tchar+; field value: no CTL but HTAB), and the
 * public setters must accept exactly what is valid. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/headers.h"
#include "flurry.h"

#define MAX_ITEMS 256

static void die(const char *what, const char *a) {
  fprintf(stderr, "fuzz_headers: %s [%s]\n", what, a ? a : "");
  abort();
}

typedef struct model {
  char *name[MAX_ITEMS], *value[MAX_ITEMS];
  size_t nlen[MAX_ITEMS], vlen[MAX_ITEMS];
  size_t n;
} model;

static int ref_tchar(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}
static int ref_token(const char *s, size_t n) {
  if (n == 0) return 0;
  for (size_t i = 0; i < n; i++)
    if (!ref_tchar((unsigned char)s[i])) return 0;
  return 1;
}
static int ref_value(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f) return 0;
  }
  return 1;
}

/* Case-insensitive equality of a NUL-terminated name with a model name. */
static int name_eq(const char *a, const char *b, size_t blen) {
  return strlen(a) == blen && strncasecmp(a, b, blen) == 0;
}

static void model_add(model *m, const char *n, size_t nl, const char *v, size_t vl) {
  if (m->n == MAX_ITEMS) return;
  m->name[m->n] = malloc(nl + 1);
  m->value[m->n] = malloc(vl + 1);
  memcpy(m->name[m->n], n, nl);
  m->name[m->n][nl] = 0;
  memcpy(m->value[m->n], v, vl);
  m->value[m->n][vl] = 0;
  m->nlen[m->n] = nl, m->vlen[m->n] = vl;
  m->n++;
}

static int model_remove(model *m, const char *name) {
  size_t k = 0;
  int removed = 0;
  for (size_t i = 0; i < m->n; i++) {
    if (name_eq(name, m->name[i], m->nlen[i])) {
      free(m->name[i]);
      free(m->value[i]);
      removed++;
    } else {
      m->name[k] = m->name[i], m->value[k] = m->value[i];
      m->nlen[k] = m->nlen[i], m->vlen[k] = m->vlen[i];
      k++;
    }
  }
  m->n = k;
  return removed;
}

static void model_clear(model *m) {
  for (size_t i = 0; i < m->n; i++) free(m->name[i]), free(m->value[i]);
  m->n = 0;
}

static void compare(const fl__headers *h, const model *m) {
  if (h->n != m->n) die("item count differs from the model", NULL);
  size_t live = 0;
  for (size_t i = 0; i < m->n; i++) {
    const char *n = fl__headers_name(h, i), *v = fl__headers_value(h, i);
    if (h->items[i].name_len != m->nlen[i] || memcmp(n, m->name[i], m->nlen[i]) != 0 ||
        n[m->nlen[i]] != '\0')
      die("name differs from the model", m->name[i]);
    if (h->items[i].value_len != m->vlen[i] || memcmp(v, m->value[i], m->vlen[i]) != 0 ||
        v[m->vlen[i]] != '\0')
      die("value differs from the model", m->value[i]);
    live += m->nlen[i] + m->vlen[i] + 2;
  }
  (void)live;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 1 << 16) return 0;
  fl__headers h;
  fl__headers_init(&h);
  static model m;
  m.n = 0;
  fl_request *req = fl_request_new("GET", "http://127.0.0.1/");
  if (!req) return 0;
  const uint8_t *p = data, *end = data + size;
  int ops = 0;
  while (p < end && ops++ < 300) { /* longer programs only repeat themselves */
    int op = *p++ % 8;
    /* operands: name\0value\0 (whatever is left) */
    const char *name = (const char *)p;
    const uint8_t *z = memchr(p, 0, (size_t)(end - p));
    size_t nl = z ? (size_t)(z - p) : (size_t)(end - p);
    p += nl + (z ? 1 : 0);
    const char *value = (const char *)p;
    z = p < end ? memchr(p, 0, (size_t)(end - p)) : NULL;
    size_t vl = z ? (size_t)(z - p) : (size_t)(end - p);
    p += vl + (z ? 1 : 0);
    char *n0 = strndup(name, nl), *v0 = strndup(value, vl);
    if (!n0 || !v0) die("strndup", NULL);
    nl = strlen(n0), vl = strlen(v0); /* operands end at a NUL */

    if (fl__token_valid(n0, nl) != ref_token(n0, nl))
      die("token validation differs from RFC 9110", n0);
    if (fl__field_value_valid(v0, vl) != ref_value(v0, vl))
      die("value validation differs from RFC 9110", v0);

    switch (op) {
    case 0: /* add */
      if (m.n < MAX_ITEMS && fl__headers_add(&h, n0, nl, v0, vl) == 0)
        model_add(&m, n0, nl, v0, vl);
      break;
    case 1: /* set */
      fl__headers_remove(&h, n0);
      model_remove(&m, n0);
      if (m.n < MAX_ITEMS && fl__headers_add(&h, n0, nl, v0, vl) == 0)
        model_add(&m, n0, nl, v0, vl);
      break;
    case 2: { /* remove */
      int a = fl__headers_remove(&h, n0), b = model_remove(&m, n0);
      if (a != b) die("remove count differs from the model", n0);
      break;
    }
    case 3: { /* get */
      const char *got = fl__headers_get(&h, n0);
      const char *want = NULL;
      for (size_t i = 0; i < m.n && !want; i++)
        if (name_eq(n0, m.name[i], m.nlen[i])) want = m.value[i];
      if ((got == NULL) != (want == NULL) || (got && strcmp(got, want) != 0))
        die("get differs from the model", n0);
      if (fl__headers_has(&h, n0) != (want != NULL)) die("has differs from get", n0);
      break;
    }
    case 4: /* incremental, in two pieces each */
      if (m.n < MAX_ITEMS) {
        size_t a = nl / 2, b = vl / 2;
        if (fl__headers_append_name(&h, n0, a) || fl__headers_append_name(&h, n0 + a, nl - a) ||
            fl__headers_append_value(&h, v0, b) || fl__headers_append_value(&h, v0 + b, vl - b) ||
            fl__headers_commit(&h))
          die("incremental add failed", n0);
        model_add(&m, n0, nl, v0, vl);
      }
      break;
    case 5: /* reset */
      fl__headers_reset(&h);
      model_clear(&m);
      break;
    case 6: { /* the public setters */
      int valid = ref_token(n0, nl) && ref_value(v0, vl);
      int rc = (vl & 1) ? fl_request_add_header(req, n0, v0) : fl_request_set_header(req, n0, v0);
      if (valid ? (rc != 0 && rc != FL_ENOMEM) : rc != FL_EBAD_HEADER)
        die("setter accepts the wrong headers", n0);
      rc = fl_request_remove_header(req, n0);
      if (ref_token(n0, nl) ? rc != 0 : rc != FL_EBAD_HEADER)
        die("remove_header accepts the wrong names", n0);
      break;
    }
    default: { /* method */
      int rc = fl_request_set_method(req, n0);
      if (ref_token(n0, nl) ? (rc != 0 && rc != FL_ENOMEM) : rc != FL_EBAD_HEADER)
        die("set_method accepts the wrong methods", n0);
      if (rc == 0 && strcmp(fl_request_method(req), n0) != 0) die("method not kept", n0);
      break;
    }
    }
    free(n0);
    free(v0);
    if (m.n <= 16 || ops % 32 == 0) compare(&h, &m); /* a full compare is the slow part */
    size_t live = 0;
    for (size_t i = 0; i < m.n; i++) live += m.nlen[i] + m.vlen[i] + 2;
    if (h.arena.len > 2 * live + 4096) die("the arena keeps removed bytes", NULL);
  }
  compare(&h, &m);
  fl__headers_dispose(&h);
  model_clear(&m);
  fl_request_free(req);
  return 0;
}
