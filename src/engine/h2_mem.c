/* The HTTP/2 carrier's small-block cache: nghttp2 allocates about eleven
 * blocks of 40-240 bytes per request (the request's outbound item and
 * header copy, the stream, header buffers of the response) and frees them
 * when the stream closes; with glibc each such pair costs ~180
 * instructions (calloc and most frees take the slow path once tcache's
 * seven blocks per size are used up). Freed blocks wait here, per size
 * class, for the next stream of the same connection. Contract in
 * h2_impl.h (fl__h2_mem). */
#include <malloc.h>
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
#define CACHED(p, n) ASAN_POISON_MEMORY_REGION((char *)(p) + sizeof(void *), (n) - sizeof(void *))
#define TAKEN(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define CACHED(p, n) ((void)(p), (void)(n))
#define TAKEN(p, n) ((void)(p), (void)(n))
#endif

/* Blocks carry no header of their own: a block's size class is glibc's
 * chunk size for it (its request2size: the request plus 8, rounded up to
 * 16, at least 32), read back at free with malloc_usable_size. Blocks of
 * one chunk size serve each other's requests exactly, so nothing is rounded
 * up (an idle connection's long-lived blocks cost what plain malloc makes
 * them cost). A miss allocates the class's whole usable size (chunk - 8),
 * so that under ASan and memcheck, whose usable size is what was asked
 * for, a cached block also fits every request of its class. */
#define MIN_CHUNK 32
#define CHUNK_STEP 16
#define MAX_CHUNK (MIN_CHUNK + CHUNK_STEP * (FL__H2_MEM_CLASSES - 1))

static size_t chunk_of(size_t n) {
  size_t c = (n + 8 + CHUNK_STEP - 1) & ~(size_t)(CHUNK_STEP - 1);
  return c < MIN_CHUNK ? MIN_CHUNK : c;
}

void *fl__h2_mem_alloc(fl__h2_mem *m, size_t n) {
  size_t chunk = chunk_of(n);
  if (chunk > MAX_CHUNK) return malloc(n);
  size_t cls = (chunk - MIN_CHUNK) / CHUNK_STEP;
  void *p = m->free ? m->free[cls] : NULL;
  if (p) {
    TAKEN(p, chunk - 8);
    memcpy(&m->free[cls], p, sizeof(void *)); /* its successor */
    m->bytes -= chunk;
    return p;
  }
  return malloc(chunk - 8);
}

/* The chunk glibc gave p: the largest class whose requests all fit in it. */
static size_t chunk_held(const void *p) {
  return (malloc_usable_size((void *)p) + 8) & ~(size_t)(CHUNK_STEP - 1);
}

static void free_chunk(fl__h2_mem *m, void *p, size_t chunk) {
  if (chunk < MIN_CHUNK || chunk > MAX_CHUNK || m->bytes + chunk > FL__H2_MEM_BYTES ||
      (!m->free && !(m->free = calloc(FL__H2_MEM_CLASSES, sizeof *m->free)))) {
    free(p);
    return;
  }
  size_t cls = (chunk - MIN_CHUNK) / CHUNK_STEP;
  memcpy(p, &m->free[cls], sizeof(void *));
  CACHED(p, chunk - 8);
  m->free[cls] = p;
  m->bytes += chunk;
}

void fl__h2_mem_free(fl__h2_mem *m, void *p) {
  if (p) free_chunk(m, p, chunk_held(p));
}

void *fl__h2_mem_realloc(fl__h2_mem *m, void *p, size_t n) {
  if (!p) return fl__h2_mem_alloc(m, n);
  size_t have = malloc_usable_size(p);
  if (n <= have) return p;
  void *q = fl__h2_mem_alloc(m, n);
  if (!q) return NULL;
  memcpy(q, p, have);
  fl__h2_mem_free(m, p);
  return q;
}

void fl__h2_mem_trim(fl__h2_mem *m) {
  if (!m->free) return;
  for (size_t i = 0; i < FL__H2_MEM_CLASSES; i++) {
    size_t chunk = MIN_CHUNK + CHUNK_STEP * i;
    while (m->free[i]) {
      void *p = m->free[i];
      TAKEN(p, chunk - 8);
      memcpy(&m->free[i], p, sizeof(void *));
      free(p);
    }
  }
  free(m->free);
  m->free = NULL;
  m->bytes = 0;
}

/* nghttp2's allocator: the cache of the session (its user data). What
 * nghttp2 holds is counted in m->session_bytes, in glibc chunks: a small
 * block's chunk is known from its size (the cache allocates exactly it), a
 * larger one's is read back; a free reads it back anyway. */
static void *ng_malloc(size_t n, void *ud) {
  fl__h2_mem *m = ud;
  void *p = fl__h2_mem_alloc(m, n);
  if (p) *m->session_bytes += chunk_of(n) <= MAX_CHUNK ? chunk_of(n) : chunk_held(p);
  return p;
}
static void ng_free(void *p, void *ud) {
  fl__h2_mem *m = ud;
  if (!p) return;
  size_t chunk = chunk_held(p);
  *m->session_bytes -= chunk;
  free_chunk(m, p, chunk);
}
static void *ng_calloc(size_t n, size_t size, void *ud) {
  if (size && n > SIZE_MAX / size) return NULL;
  void *p = ng_malloc(n * size, ud);
  if (p) memset(p, 0, n * size);
  return p;
}
static void *ng_realloc(void *p, size_t n, void *ud) {
  fl__h2_mem *m = ud;
  size_t had = p ? chunk_held(p) : 0;
  void *q = fl__h2_mem_realloc(m, p, n);
  if (q) *m->session_bytes += chunk_held(q) - had;
  return q;
}

nghttp2_mem fl__h2_mem_nghttp2(fl__h2_mem *m, uint64_t *session_bytes) {
  m->session_bytes = session_bytes;
  return (nghttp2_mem){m, ng_malloc, ng_free, ng_calloc, ng_realloc};
}
