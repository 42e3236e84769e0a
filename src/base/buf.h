/* Growable byte buffer with a cap: memory is kept across resets so a reused
 * buffer stops allocating once it has grown to its working size. */
#ifndef FL_BUF_H
#define FL_BUF_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "flurry.h"

typedef struct fl__buf {
  char *data;
  size_t len, cap;
} fl__buf;

static inline void fl__buf_init(fl__buf *b) { b->data = NULL, b->len = b->cap = 0; }
static inline void fl__buf_reset(fl__buf *b) { /* empty, memory kept, still a C string */
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}
static inline void fl__buf_dispose(fl__buf *b) {
  free(b->data);
  fl__buf_init(b);
}
/* Make room for `more` bytes plus a NUL. 0 or FL_ENOMEM. */
static inline int fl__buf_reserve(fl__buf *b, size_t more) {
  if (b->cap - b->len > more) return 0;
  size_t want = b->len + more + 1, cap = b->cap ? b->cap : 32; /* most strings are short */
  while (cap < want) cap *= 2;
  char *p = realloc(b->data, cap);
  if (!p) return FL_ENOMEM;
  b->data = p, b->cap = cap;
  return 0;
}
/* Append and keep the content NUL-terminated. 0 or FL_ENOMEM. */
static inline int fl__buf_append(fl__buf *b, const void *p, size_t n) {
  if (fl__buf_reserve(b, n)) return FL_ENOMEM;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}
static inline int fl__buf_puts(fl__buf *b, const char *s) {
  return fl__buf_append(b, s, strlen(s));
}

#endif
