/* The HTTP/2 carrier's small-block cache: nghttp2 allocates about eleven
 * blocks of 40-240 bytes per request (the request's outbound item and
 * header copy, the stream, header buffers of the response) and frees them
 * when the stream closes; with glibc each such pair costs ~180
 * instructions (calloc and most frees take the slow path once tcache's
 * seven blocks per size are used up). Freed blocks wait here, per size
 * class, for the next stream of the same connection. Contract in
 * h2_impl.h (fl__h2_mem). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/h2_impl.h"

/* Under ASan a cached block's payload is poisoned until it is handed out
 * again, so a use after free (of our streams above all) is still caught. */
#if defined(__SANITIZE_ADDRESS__)
#define FL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FL_ASAN 1
#endif
#endif
#ifdef FL_ASAN
#include <sanitizer/asan_interface.h>
#define CACHED(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define TAKEN(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define CACHED(p, n) ((void)(p), (void)(n))
#define TAKEN(p, n) ((void)(p), (void)(n))
#endif

/* Each block starts with this header (16 bytes: malloc's alignment is
 * kept for the payload): its class, and the next cached block while it
 * waits. */
typedef union hdr {
  struct {
    size_t cls; /* a class index, or BIG (a plain malloc of any size) */
    union hdr *next;
  } h;
  max_align_t align_;
} hdr;
#define BIG ((size_t)-1)

static const size_t class_size[FL__H2_MEM_CLASSES] = {64, 128, 256, 512};
/* blocks cached per class: FL__H2_MEM_CLASS_BYTES of payload */
static const uint32_t class_cap[FL__H2_MEM_CLASSES] = {
    FL__H2_MEM_CLASS_BYTES / 64, FL__H2_MEM_CLASS_BYTES / 128, FL__H2_MEM_CLASS_BYTES / 256,
    FL__H2_MEM_CLASS_BYTES / 512};

static size_t class_of(size_t n) {
  return n <= 64 ? 0 : n <= 128 ? 1 : n <= 256 ? 2 : n <= 512 ? 3 : BIG;
}

void *fl__h2_mem_alloc(fl__h2_mem *m, size_t n) {
  size_t cls = class_of(n);
  hdr *b;
  if (cls != BIG && m->free[cls]) {
    b = m->free[cls];
    m->free[cls] = b->h.next;
    m->nfree[cls]--;
    TAKEN(b + 1, class_size[cls]);
    return b + 1;
  }
  b = malloc(sizeof *b + (cls == BIG ? n : class_size[cls]));
  if (!b) return NULL;
  b->h.cls = cls;
  return b + 1;
}

void fl__h2_mem_free(fl__h2_mem *m, void *p) {
  if (!p) return;
  hdr *b = (hdr *)p - 1;
  size_t cls = b->h.cls;
  if (cls == BIG || m->nfree[cls] >= class_cap[cls]) {
    free(b);
    return;
  }
  CACHED(p, class_size[cls]);
  b->h.next = m->free[cls];
  m->free[cls] = b;
  m->nfree[cls]++;
}

void *fl__h2_mem_realloc(fl__h2_mem *m, void *p, size_t n) {
  if (!p) return fl__h2_mem_alloc(m, n);
  hdr *b = (hdr *)p - 1;
  if (b->h.cls == BIG) {
    hdr *nb = realloc(b, sizeof *b + n);
    return nb ? nb + 1 : NULL;
  }
  size_t have = class_size[b->h.cls];
  if (n <= have) return p;
  void *q = fl__h2_mem_alloc(m, n);
  if (!q) return NULL;
  memcpy(q, p, have);
  fl__h2_mem_free(m, p);
  return q;
}

void fl__h2_mem_trim(fl__h2_mem *m) {
  for (size_t i = 0; i < FL__H2_MEM_CLASSES; i++) {
    while (m->free[i]) {
      hdr *b = m->free[i];
      m->free[i] = b->h.next;
      TAKEN(b + 1, class_size[i]);
      free(b);
    }
    m->nfree[i] = 0;
  }
}

/* nghttp2's allocator: the cache of the session (its user data). */
static void *ng_malloc(size_t n, void *ud) { return fl__h2_mem_alloc(ud, n); }
static void ng_free(void *p, void *ud) { fl__h2_mem_free(ud, p); }
static void *ng_calloc(size_t n, size_t size, void *ud) {
  if (size && n > SIZE_MAX / size) return NULL;
  void *p = fl__h2_mem_alloc(ud, n * size);
  if (p) memset(p, 0, n * size);
  return p;
}
static void *ng_realloc(void *p, size_t n, void *ud) { return fl__h2_mem_realloc(ud, p, n); }

nghttp2_mem fl__h2_mem_nghttp2(fl__h2_mem *m) {
  return (nghttp2_mem){m, ng_malloc, ng_free, ng_calloc, ng_realloc};
}
