/* Allocation failure injection for the torture tests.
 *
 * Linked only into the torture executables, with
 *   -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup
 * so that every call to those functions from the objects of that link (the
 * library's, the CLI's, the test's) comes here first; the library itself is
 * built as always, so release builds pay nothing. Calls made inside other
 * shared libraries (OpenSSL, c-ares, zlib, libc's own) are not seen.
 *
 * alloc_fail_arm(n) makes the n-th counted allocation from then on fail
 * (return NULL, errno ENOMEM) and only that one; alloc_fail_arm_mode(n, 1)
 * makes it and every later one fail; 0 disarms. A process can also be
 * armed from its environment: FL_TORTURE_FAIL_AT=N (counted from the
 * start), FL_TORTURE_MODE=from for the second mode, and
 * FL_TORTURE_REPORT=PATH gets "COUNT INJECTED\n" at exit (used for the
 * CLI, which is exec'd). c-ares can be pointed here too (the torture
 * runner does): alloc_fail_malloc/realloc/free count like the wrappers. */
#define _GNU_SOURCE
#include "alloc_fail.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

/* ASan and UBSan builds have it: FL_TORTURE_BACKTRACE=1 prints where the
 * first injected failure happens. */
extern void __sanitizer_print_stack_trace(void) __attribute__((weak));

static atomic_long fail_at; /* 0: never */
static atomic_int fail_on;  /* 1: every allocation from fail_at on fails */
static atomic_long counted; /* allocations seen since arming */
static atomic_int injected; /* the failure happened */

void alloc_fail_arm(long n) { alloc_fail_arm_mode(n, 0); }

void alloc_fail_arm_mode(long n, int from_then_on) {
  atomic_store(&counted, 0);
  atomic_store(&injected, 0);
  atomic_store(&fail_on, from_then_on);
  atomic_store(&fail_at, n);
}

long alloc_fail_count(void) { return atomic_load(&counted); }
int alloc_fail_injected(void) { return atomic_load(&injected); }

static int fail_now(void) {
  long at = atomic_load(&fail_at);
  if (at <= 0) return 0;
  long k = atomic_fetch_add(&counted, 1) + 1;
  if (k != at && !(k > at && atomic_load(&fail_on))) return 0;
  if (!atomic_exchange(&injected, 1) && getenv("FL_TORTURE_BACKTRACE") &&
      __sanitizer_print_stack_trace) {
    fprintf(stderr, "allocation %ld fails here:\n", k);
    __sanitizer_print_stack_trace();
  }
  errno = ENOMEM;
  return 1;
}

void *__wrap_malloc(size_t n) { return fail_now() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) { return fail_now() ? NULL : __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t n) { return fail_now() ? NULL : __real_realloc(p, n); }
char *__wrap_strdup(const char *s) { return fail_now() ? NULL : __real_strdup(s); }
char *__wrap_strndup(const char *s, size_t n) { return fail_now() ? NULL : __real_strndup(s, n); }

static void report(void) {
  const char *path = getenv("FL_TORTURE_REPORT");
  if (!path || !*path) return;
  long count = alloc_fail_count();
  int inj = alloc_fail_injected();
  alloc_fail_arm(0);
  FILE *f = fopen(path, "w");
  if (!f) return;
  fprintf(f, "%ld %d\n", count, inj);
  fclose(f);
}

__attribute__((constructor)) static void arm_from_env(void) {
  const char *at = getenv("FL_TORTURE_FAIL_AT");
  const char *mode = getenv("FL_TORTURE_MODE");
  if (at && *at) {
    alloc_fail_arm_mode(atol(at), mode && strcmp(mode, "from") == 0);
    atexit(report);
  }
}

/* For ares_library_init_mem: c-ares's own allocations, counted and failed
 * like ours. */
void *alloc_fail_malloc(size_t n) { return __wrap_malloc(n); }
void *alloc_fail_realloc(void *p, size_t n) { return __wrap_realloc(p, n); }
void alloc_fail_free(void *p) { free(p); }
