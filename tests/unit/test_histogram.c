/* flurry-bench's latency histogram (bench/flurry_bench/hist.c): bucket
 * arithmetic, percentiles against a sorted array, merging, and the summary
 * statistics against brute force. */
#include <stdint.h>
#include <stdlib.h>


#include "../../bench/flurry_bench/hist.c"
#include "test.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint64_t rnd64(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static double absd(double x) { return x < 0 ? -x : x; } /* no libm in tests */

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Latency-like values: mostly small, a long tail, a few huge (clamped). */
static uint64_t sample(void) {
  uint64_t r = rnd64();
  switch (r % 8) {
  case 0: return rnd64() % 100;                       /* exact range */
  case 1: return rnd64() % 5000;                      /* around the first octave */
  case 2: return (rnd64() % 1000000) + 1000;          /* up to a second */
  case 3: return (uint64_t)1 << (rnd64() % 30);       /* powers of two: bucket edges */
  case 4: return ((uint64_t)1 << (rnd64() % 30)) - 1; /* just below them */
  case 5: return rnd64() % (FLB_HIST_MAX + 1);        /* anywhere in range */
  case 6: return r % 64 == 6 ? FLB_HIST_MAX + 1 + rnd64() % 1000000 : 40 + rnd64() % 40;
  default: return 50 + rnd64() % 200;
  }
}

static void check_buckets(void) {
  CHECK_EQ_INT(FLB_HIST_BUCKETS, 2048 + 19 * 1024);
  /* Exact below 2048. */
  for (uint64_t v = 0; v < FLB_HIST_LINEAR; v++) {
    CHECK_EQ_INT(flb_hist_index(v), v);
    CHECK_EQ_INT(flb_hist_bucket_low(v), v);
    CHECK_EQ_INT(flb_hist_bucket_high(v), v);
  }
  /* Buckets tile the range without gaps or overlaps, widths double per
   * octave, and each bucket is at most 1/1024 of its values wide. */
  uint64_t expect_low = 0;
  for (size_t i = 0; i < FLB_HIST_BUCKETS; i++) {
    uint64_t lo = flb_hist_bucket_low(i), hi = flb_hist_bucket_high(i);
    CHECK_EQ_INT(lo, expect_low);
    CHECK(hi >= lo);
    CHECK_EQ_INT(flb_hist_index(lo), i);
    CHECK_EQ_INT(flb_hist_index(hi), i);
    if (lo >= FLB_HIST_LINEAR) CHECK((hi - lo + 1) * 1024 <= lo);
    expect_low = hi + 1;
  }
  CHECK_EQ_INT(expect_low - 1, FLB_HIST_MAX);
  /* Edges: 2048 starts the first 2-wide bucket; the top clamps. */
  CHECK_EQ_INT(flb_hist_index(2048), 2048);
  CHECK_EQ_INT(flb_hist_index(2049), 2048);
  CHECK_EQ_INT(flb_hist_index(2050), 2049);
  CHECK_EQ_INT(flb_hist_index(4095), 2048 + 1023);
  CHECK_EQ_INT(flb_hist_index(4096), 3072);
  CHECK_EQ_INT(flb_hist_index(FLB_HIST_MAX), FLB_HIST_BUCKETS - 1);
  CHECK_EQ_INT(flb_hist_index(FLB_HIST_MAX + 1), FLB_HIST_BUCKETS - 1);
  CHECK_EQ_INT(flb_hist_index(UINT64_MAX), FLB_HIST_BUCKETS - 1);
  /* Random values land in the bucket that contains them. */
  for (int k = 0; k < 200000; k++) {
    uint64_t v = rnd64() % (FLB_HIST_MAX + 1);
    size_t i = flb_hist_index(v);
    CHECK(flb_hist_bucket_low(i) <= v && v <= flb_hist_bucket_high(i));
  }
}

static void check_empty_and_one(void) {
  static flb_hist h;
  flb_hist_reset(&h);
  CHECK_EQ_INT(h.count, 0);
  CHECK(flb_hist_mean(&h) == 0 && flb_hist_stdev(&h) == 0);
  CHECK_EQ_INT(flb_hist_percentile(&h, 50), 0);
  CHECK(flb_hist_within(&h, 0, 1e9) == 0);
  flb_hist_record(&h, 123456);
  CHECK_EQ_INT(h.min, 123456);
  CHECK_EQ_INT(h.max, 123456);
  CHECK(flb_hist_mean(&h) == 123456.0);
  CHECK(flb_hist_stdev(&h) == 0);
  /* One value: every percentile is that value (clamped to min/max). */
  CHECK_EQ_INT(flb_hist_percentile(&h, 1), 123456);
  CHECK_EQ_INT(flb_hist_percentile(&h, 100), 123456);
}

/* Percentile rank as the histogram defines it: ceil(p/100 * n), >= 1. */
static size_t rank_of(double p, size_t n) {
  uint64_t pm = (uint64_t)(p * 1000 + 0.5);
  size_t r = (size_t)((pm * n + 99999) / 100000);
  return r ? r : 1;
}

static void check_random(size_t n) {
  static flb_hist h, a, b, m;
  uint64_t *v = malloc(n * sizeof *v);
  CHECK(v);
  flb_hist_reset(&h);
  flb_hist_reset(&a);
  flb_hist_reset(&b);
  double sum = 0;
  for (size_t i = 0; i < n; i++) {
    v[i] = sample();
    sum += (double)v[i];
    flb_hist_record(&h, v[i]);
    flb_hist_record(i % 3 ? &a : &b, v[i]); /* two "threads" */
  }
  qsort(v, n, sizeof *v, cmp_u64);

  /* count, min, max, mean, stdev: exact (up to floating point). */
  CHECK_EQ_INT(h.count, n);
  CHECK_EQ_INT(h.min, v[0]);
  CHECK_EQ_INT(h.max, v[n - 1]);
  double mean = sum / (double)n, ss = 0;
  for (size_t i = 0; i < n; i++) ss += ((double)v[i] - mean) * ((double)v[i] - mean);
  double var = ss / (double)(n - 1), stdev = flb_hist_stdev(&h);
  CHECK(absd(flb_hist_mean(&h) - mean) <= 1e-9 * mean);
  CHECK(absd(stdev * stdev - var) <= 1e-6 * var); /* no libm here: compare squares */
  uint64_t clamped = 0;
  for (size_t i = 0; i < n; i++) clamped += v[i] > FLB_HIST_MAX;
  CHECK_EQ_INT(h.clamped, clamped);

  /* Percentiles: the value of that rank, to within its bucket. */
  static const double ps[] = {0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100};
  for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
    uint64_t exact = v[rank_of(ps[k], n) - 1];
    uint64_t got = flb_hist_percentile(&h, ps[k]);
    if (exact > FLB_HIST_MAX) {
      CHECK(got >= FLB_HIST_MAX - (FLB_HIST_MAX >> 10) && got <= h.max);
      continue;
    }
    CHECK_EQ_INT(flb_hist_index(got), flb_hist_index(exact));
    CHECK(got >= exact || got == h.max);
    if (exact < FLB_HIST_LINEAR)
      CHECK_EQ_INT(got, exact);
    else
      CHECK((double)(got - exact) <= (double)exact / 1024.0);
  }

  /* within: against brute force, allowing the values that share a bucket
   * with either bound. */
  double lo = mean - stdev, hi = mean + stdev;
  size_t in = 0, edge = 0;
  for (size_t i = 0; i < n; i++) {
    if ((double)v[i] >= lo && (double)v[i] <= hi) in++;
    size_t bi = flb_hist_index(v[i]);
    if ((lo >= 0 && bi == flb_hist_index((uint64_t)lo)) || bi == flb_hist_index((uint64_t)hi))
      edge++;
  }
  double got_pct = flb_hist_within(&h, lo, hi), want_pct = 100.0 * (double)in / (double)n;
  CHECK(absd(got_pct - want_pct) <= 100.0 * (double)edge / (double)n + 1e-9);

  /* Merging the two halves gives the whole. */
  flb_hist_reset(&m);
  flb_hist_merge(&m, &a);
  flb_hist_merge(&m, &b);
  CHECK_EQ_INT(m.count, h.count);
  CHECK_EQ_INT(m.min, h.min);
  CHECK_EQ_INT(m.max, h.max);
  CHECK_EQ_INT(m.sum, h.sum);
  CHECK_EQ_INT(m.clamped, h.clamped);
  CHECK(absd(m.sumsq - h.sumsq) <= 1e-9 * h.sumsq);
  for (size_t i = 0; i < FLB_HIST_BUCKETS; i++) CHECK_EQ_INT(m.buckets[i], h.buckets[i]);
  for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++)
    CHECK_EQ_INT(flb_hist_percentile(&m, ps[k]), flb_hist_percentile(&h, ps[k]));
  /* Merging an empty histogram changes nothing (min stays). */
  flb_hist_reset(&a);
  flb_hist_merge(&m, &a);
  CHECK_EQ_INT(m.min, h.min);
  CHECK_EQ_INT(m.count, h.count);
  free(v);
}

/* A known small set: 1..100 once each. */
static void check_known(void) {
  static flb_hist h;
  flb_hist_reset(&h);
  for (uint64_t i = 1; i <= 100; i++) flb_hist_record(&h, i);
  CHECK_EQ_INT(flb_hist_percentile(&h, 50), 50);
  CHECK_EQ_INT(flb_hist_percentile(&h, 75), 75);
  CHECK_EQ_INT(flb_hist_percentile(&h, 90), 90);
  CHECK_EQ_INT(flb_hist_percentile(&h, 99), 99);
  CHECK_EQ_INT(flb_hist_percentile(&h, 99.9), 100);
  CHECK_EQ_INT(flb_hist_percentile(&h, 100), 100);
  CHECK(flb_hist_mean(&h) == 50.5);
  CHECK(absd(flb_hist_stdev(&h) - 29.011491975882016) < 1e-9); /* sqrt(2525/3) */
  /* mean +- stdev = [21.49, 79.51]: the 58 values 22..79. */
  CHECK(absd(flb_hist_within(&h, 50.5 - 29.0115, 50.5 + 29.0115) - 58.0) < 1e-9);
}

int main(void) {
  FL_TEST_BEGIN();
  check_buckets();
  check_empty_and_one();
  check_known();
  check_random(1000);
  check_random(200000);
  for (int round = 0; round < 20; round++) check_random(2 + (size_t)(rnd64() % 5000));
  FL_TEST_END();
}
