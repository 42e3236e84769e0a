/* Log-linear histogram: bucket bounds, merge and the summary statistics. */
#include "hist.h"

#include <string.h>

/* Square root by Newton's method: keeps this file (and its unit test) free
 * of libm. x > 0. */
static double square_root(double x) {
  double r = x > 1 ? x : 1;
  for (int i = 0; i < 200; i++) {
    double next = 0.5 * (r + x / r);
    if (next >= r) break; /* decreasing until it converges */
    r = next;
  }
  return r;
}

void flb_hist_reset(flb_hist *h) {
  memset(h, 0, sizeof *h);
  h->min = UINT64_MAX;
}

uint64_t flb_hist_bucket_low(size_t i) {
  if (i < FLB_HIST_LINEAR) return i;
  size_t j = i - FLB_HIST_LINEAR;
  unsigned shift = (unsigned)(j / FLB_HIST_HALF) + 1;
  uint64_t sub = (uint64_t)(j % FLB_HIST_HALF) + FLB_HIST_HALF;
  return sub << shift;
}

uint64_t flb_hist_bucket_high(size_t i) {
  if (i < FLB_HIST_LINEAR) return i;
  unsigned shift = (unsigned)((i - FLB_HIST_LINEAR) / FLB_HIST_HALF) + 1;
  return flb_hist_bucket_low(i) + (UINT64_C(1) << shift) - 1;
}

void flb_hist_merge(flb_hist *dst, const flb_hist *src) {
  if (src->count == 0) return;
  for (size_t i = 0; i < FLB_HIST_BUCKETS; i++) dst->buckets[i] += src->buckets[i];
  dst->count += src->count;
  dst->sum += src->sum;
  dst->sumsq += src->sumsq;
  dst->clamped += src->clamped;
  if (src->min < dst->min) dst->min = src->min;
  if (src->max > dst->max) dst->max = src->max;
}

double flb_hist_mean(const flb_hist *h) {
  return h->count ? (double)h->sum / (double)h->count : 0.0;
}

double flb_hist_stdev(const flb_hist *h) {
  if (h->count < 2) return 0.0;
  double n = (double)h->count, mean = (double)h->sum / n;
  double var = (h->sumsq - n * mean * mean) / (n - 1);
  return var > 0 ? square_root(var) : 0.0; /* rounding can make a tiny variance negative */
}

uint64_t flb_hist_percentile(const flb_hist *h, double p) {
  if (h->count == 0) return 0;
  /* Rank in integers (p in thousandths) so 99.9 is not 99.8999... */
  uint64_t pm = p <= 0 ? 0 : p >= 100 ? 100000 : (uint64_t)(p * 1000 + 0.5);
  uint64_t rank = (pm * h->count + 99999) / 100000;
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < FLB_HIST_BUCKETS; i++) {
    seen += h->buckets[i];
    if (seen >= rank) {
      uint64_t v = flb_hist_bucket_high(i);
      if (v > h->max) v = h->max;
      if (v < h->min) v = h->min;
      return v;
    }
  }
  return h->max;
}

double flb_hist_within(const flb_hist *h, double lo, double hi) {
  if (h->count == 0) return 0.0;
  uint64_t in = 0;
  for (size_t i = 0; i < FLB_HIST_BUCKETS; i++) {
    if (!h->buckets[i]) continue;
    double mid = ((double)flb_hist_bucket_low(i) + (double)flb_hist_bucket_high(i)) / 2;
    if (mid >= lo && mid <= hi) in += h->buckets[i];
  }
  return 100.0 * (double)in / (double)h->count;
}
