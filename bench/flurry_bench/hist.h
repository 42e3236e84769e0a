/* A log-linear histogram of non-negative integers (microseconds for
 * latency, requests/s for rate samples), HdrHistogram-style, in fixed memory.
 *
 * Values below 2^FLB_HIST_SUB_BITS are counted exactly, one bucket each.
 * Above that, every power-of-two range [2^k, 2^(k+1)) is cut into
 * 2^(FLB_HIST_SUB_BITS-1) equal buckets, so any value is known to within
 * 1/1024 of itself (three significant digits). Values from
 * 2^FLB_HIST_TOP_BIT up (about 17.9 minutes in microseconds) land in the
 * top bucket and are counted in `clamped`; count, min, max and sum stay
 * exact for every value.
 *
 * One histogram per thread, written only by that thread; merged at the end.
 * Recording is a few integer operations and touches no memory but the
 * struct: no locks, no allocation. */
#ifndef FLB_HIST_H
#define FLB_HIST_H

#include <stddef.h>
#include <stdint.h>

#define FLB_HIST_SUB_BITS 11
#define FLB_HIST_LINEAR (1u << FLB_HIST_SUB_BITS) /* exact values 0..2047 */
#define FLB_HIST_HALF (FLB_HIST_LINEAR / 2)       /* buckets per power of two */
#define FLB_HIST_TOP_BIT 30
#define FLB_HIST_MAX ((UINT64_C(1) << FLB_HIST_TOP_BIT) - 1) /* largest distinct value */
#define FLB_HIST_BUCKETS (FLB_HIST_LINEAR + (FLB_HIST_TOP_BIT - FLB_HIST_SUB_BITS) * FLB_HIST_HALF)

typedef struct flb_hist {
  uint64_t count;
  uint64_t min; /* UINT64_MAX while empty */
  uint64_t max;
  uint64_t sum;
  uint64_t clamped; /* values above FLB_HIST_MAX (kept in the top bucket) */
  double sumsq;     /* for the standard deviation */
  uint64_t buckets[FLB_HIST_BUCKETS];
} flb_hist;

void flb_hist_reset(flb_hist *h);

/* Bucket of value v (values above FLB_HIST_MAX share the top bucket). */
static inline size_t flb_hist_index(uint64_t v) {
  if (v < FLB_HIST_LINEAR) return (size_t)v;
  if (v > FLB_HIST_MAX) v = FLB_HIST_MAX;
  unsigned k = 63u - (unsigned)__builtin_clzll(v);   /* 2^k <= v < 2^(k+1) */
  unsigned shift = k - (FLB_HIST_SUB_BITS - 1);      /* bucket width 2^shift */
  size_t sub = (size_t)(v >> shift) - FLB_HIST_HALF; /* 0..HALF-1 */
  return FLB_HIST_LINEAR + (size_t)(k - FLB_HIST_SUB_BITS) * FLB_HIST_HALF + sub;
}

static inline void flb_hist_record(flb_hist *h, uint64_t v) {
  h->buckets[flb_hist_index(v)]++;
  h->count++;
  h->sum += v;
  h->sumsq += (double)v * (double)v;
  if (v < h->min) h->min = v;
  if (v > h->max) h->max = v;
  if (v > FLB_HIST_MAX) h->clamped++;
}

/* Smallest and largest value that share bucket i. */
uint64_t flb_hist_bucket_low(size_t i);
uint64_t flb_hist_bucket_high(size_t i);

/* dst += src. */
void flb_hist_merge(flb_hist *dst, const flb_hist *src);

/* 0 for an empty histogram. */
double flb_hist_mean(const flb_hist *h);
/* Sample standard deviation (n - 1), as wrk reports it; 0 below 2 values. */
double flb_hist_stdev(const flb_hist *h);
/* Value at percentile p (0 < p <= 100): the value of rank ceil(p/100 * count)
 * in sorted order, reported as the highest value of its bucket (never above
 * max, never below min). Exact below 2048; 0 for an empty histogram. */
uint64_t flb_hist_percentile(const flb_hist *h, double p);
/* Percentage of values within [lo, hi] (bucket by bucket: a bucket counts
 * when its middle lies inside). 0 for an empty histogram. */
double flb_hist_within(const flb_hist *h, double lo, double hi);

#endif
