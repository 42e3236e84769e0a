/* Header lists: ordered (name, value) pairs with case-insensitive lookup and
 * repeats, stored in one arena so a reused list stops allocating.
 * Strings returned are NUL-terminated and live until the list changes. */
#ifndef FL_HEADERS_H
#define FL_HEADERS_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

typedef struct fl__header_ref {
  uint32_t name_off, name_len, value_off, value_len;
} fl__header_ref;

typedef struct fl__headers {
  fl__buf arena;
  fl__header_ref *items;
  size_t n, cap;
  /* incremental building (response parsing) */
  uint32_t pending_name_off, pending_value_off;
  int pending; /* 0 none, 1 in name, 2 in value */
} fl__headers;

void fl__headers_init(fl__headers *h);
static inline void fl__headers_reset(fl__headers *h) { /* empty, keeps memory */
  fl__buf_reset(&h->arena);
  h->n = 0;
  h->pending = 0;
}
void fl__headers_dispose(fl__headers *h);

int fl__headers_add(fl__headers *h, const char *name, size_t nlen, const char *value, size_t vlen);
int fl__headers_remove(fl__headers *h, const char *name); /* returns count removed */
const char *fl__headers_get(const fl__headers *h, const char *name);
int fl__headers_has(const fl__headers *h, const char *name);
static inline const char *fl__headers_name(const fl__headers *h, size_t i) {
  return h->arena.data + h->items[i].name_off;
}
static inline const char *fl__headers_value(const fl__headers *h, size_t i) {
  return h->arena.data + h->items[i].value_off;
}

/* A name and value lying in one span of bytes, as on the wire ("Name: value"):
 * the span is copied once; the name is p[0, nlen), the value p[voff, voff +
 * vlen), with nlen < voff and voff + vlen <= n. */
int fl__headers_add_span(fl__headers *h, const char *p, size_t n, size_t nlen, size_t voff,
                         size_t vlen);

/* Incremental: pieces of a name, then pieces of its value, then commit. */
int fl__headers_append_name(fl__headers *h, const char *p, size_t n);
int fl__headers_append_value(fl__headers *h, const char *p, size_t n);
int fl__headers_commit(fl__headers *h);

/* Validation for what we send. A token (RFC 9110) for names and methods;
 * values may hold any byte but CTLs other than HTAB (so no CR, LF, NUL). */
int fl__token_valid(const char *s, size_t n);
int fl__field_value_valid(const char *s, size_t n);

#endif
