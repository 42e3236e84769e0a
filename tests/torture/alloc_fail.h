/* Allocation failure injection for the torture tests: see alloc_fail.c. */
#ifndef FL_ALLOC_FAIL_H
#define FL_ALLOC_FAIL_H

#include <stddef.h>

/* Fail the n-th allocation counted from now (only that one); 0 disarms. */
void alloc_fail_arm(long n);
/* The same; with from_then_on, every allocation after the n-th fails too. */
void alloc_fail_arm_mode(long n, int from_then_on);
/* Counting allocators for other libraries' hooks (c-ares). */
void *alloc_fail_malloc(size_t n);
void *alloc_fail_realloc(void *p, size_t n);
void alloc_fail_free(void *p);
/* Allocations counted since the last arm. */
long alloc_fail_count(void);
/* 1 once the armed failure happened. */
int alloc_fail_injected(void);

#endif
