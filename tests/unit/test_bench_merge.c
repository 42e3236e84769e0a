/* flurry-bench merge (bench/flurry_bench/merge.c): latency samples split at
 * random over three runs, each run's --json report written as flurry-bench
 * writes it and read back as `flurry-bench merge` reads it; the merged
 * histogram must equal one histogram of all the samples, bucket by bucket,
 * so every percentile is the same. Also the JSON reader on its own. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../bench/flurry_bench/hist.c"
#include "../../bench/flurry_bench/json.c"
#include "../../bench/flurry_bench/merge.c"
#include "../../bench/flurry_bench/report.c"
#include "test.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* Latency-like: a body around 100-400 us, a tail to seconds, some clamped. */
static uint64_t sample(void) {
  switch (rnd() % 10) {
  case 0: return rnd() % 2048;
  case 1: return 1000 + rnd() % 5000000;
  case 2: return rnd() % 1000 == 0 ? FLB_HIST_MAX + 1 + rnd() % 1000 : rnd() % (FLB_HIST_MAX + 1);
  default: return 100 + rnd() % 300;
  }
}

/* The report of one run as text, as `flurry-bench --json` prints it. */
static char *report_text(const flb_result *r, uint64_t threads, size_t *len) {
  flb_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.url = "http://127.0.0.1:1/x";
  cfg.method = "GET";
  cfg.threads = threads;
  cfg.connections = 8 * threads;
  cfg.duration_us = 2000000;
  char *text = NULL;
  FILE *f = open_memstream(&text, len);
  CHECK(f);
  flb_report_json_to(f, &cfg, r);
  CHECK(fclose(f) == 0);
  return text;
}

static void check_split_merge(size_t n, int parts) {
  static flb_hist all;
  static flb_result runs[3];
  CHECK(parts <= 3);
  flb_hist_reset(&all);
  for (int k = 0; k < parts; k++) {
    memset(&runs[k], 0, sizeof runs[k]);
    flb_hist_reset(&runs[k].latency);
    flb_hist_reset(&runs[k].rate);
    runs[k].start_us = 1000;
    runs[k].end_us = 1000 + 2000000 + (uint64_t)k * 1000;
    runs[k].errors[FLB_ERR_READ] = (uint64_t)k;
  }
  for (size_t i = 0; i < n; i++) {
    uint64_t v = sample();
    flb_hist_record(&all, v);
    flb_result *r = &runs[rnd() % (uint64_t)parts];
    flb_hist_record(&r->latency, v);
    r->complete++;
    r->bytes += 100;
    if (i % 97 == 0) flb_hist_record(&r->rate, 1000 + rnd() % 100000);
  }
  flb_merged m;
  CHECK(flb_merged_init(&m) == 0);
  for (int k = 0; k < parts; k++) {
    size_t len;
    char *text = report_text(&runs[k], (uint64_t)k + 1, &len);
    CHECK(flb_merged_add(&m, text, len, "run") == 0);
    free(text);
  }
  const flb_hist *h = &m.r->latency;
  CHECK_EQ_INT(m.reports, parts);
  CHECK_EQ_INT(m.r->instances, parts);
  CHECK_EQ_INT(h->count, all.count);
  CHECK_EQ_INT(h->min, all.min);
  CHECK_EQ_INT(h->max, all.max);
  CHECK_EQ_INT(h->sum, all.sum);
  CHECK_EQ_INT(h->clamped, all.clamped);
  for (size_t i = 0; i < FLB_HIST_BUCKETS; i++) CHECK_EQ_INT(h->buckets[i], all.buckets[i]);
  for (double p = 0.5; p <= 100.0; p += 0.5)
    CHECK_EQ_INT(flb_hist_percentile(h, p), flb_hist_percentile(&all, p));
  static const double ps[] = {0.1, 1, 10, 33.3, 90, 99, 99.9, 99.99, 99.999, 100};
  for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
    CHECK_EQ_INT(flb_hist_percentile(h, ps[i]), flb_hist_percentile(&all, ps[i]));
  double d = flb_hist_stdev(h) - flb_hist_stdev(&all);
  CHECK(d < 1e-6 * flb_hist_stdev(&all) + 1e-9 && -d < 1e-6 * flb_hist_stdev(&all) + 1e-9);
  /* Counts add up; the window is the longest run's. */
  CHECK_EQ_INT(m.r->complete, n);
  CHECK_EQ_INT(m.r->bytes, 100 * n);
  CHECK_EQ_INT(m.r->errors[FLB_ERR_READ], parts * (parts - 1) / 2);
  CHECK_EQ_INT(m.cfg.threads, parts * (parts + 1) / 2);
  CHECK_EQ_INT(m.r->end_us - m.r->start_us, 2000000 + (uint64_t)(parts - 1) * 1000);

  /* A merged report merges again like its parts (merge of merges). */
  size_t len;
  char *text = report_text(m.r, 1, &len);
  flb_merged again;
  CHECK(flb_merged_init(&again) == 0);
  CHECK(flb_merged_add(&again, text, len, "merged") == 0);
  free(text);
  CHECK_EQ_INT(again.r->instances, parts);
  for (size_t i = 0; i < FLB_HIST_BUCKETS; i++)
    CHECK_EQ_INT(again.r->latency.buckets[i], all.buckets[i]);
  flb_merged_dispose(&again);
  flb_merged_dispose(&m);
}

static void check_bad_input(void) {
  flb_merged m;
  CHECK(flb_merged_init(&m) == 0);
  static const char *bad[] = {
      "",
      "{",
      "[1, 2]",
      "{\"tool\": \"wrk\"}",
      /* bucket bounds of another layout */
      "{\"tool\": \"flurry-bench\", \"latency_us\": {\"histogram\": {\"sub_bits\": 11, \"top_bit\": 30, "
      "\"count\": 1, \"buckets\": [[2048, 2050, 1]]}}}",
      /* counts that do not add up */
      "{\"tool\": \"flurry-bench\", \"latency_us\": {\"histogram\": {\"sub_bits\": 11, \"top_bit\": 30, "
      "\"count\": 2, \"buckets\": [[5, 5, 1]]}}}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    CHECK(flb_merged_add(&m, bad[i], strlen(bad[i]), "bad") != 0);
  CHECK_EQ_INT(m.reports, 0);
  flb_merged_dispose(&m);
}

static void check_json_reader(void) {
  char err[128];
  const char *doc =
      "{\"a\": [1, 18446744073709551615, -2.5e3, true, false, null], \"s\": \"x\\u00e9\\ud83d\\ude00\\n\"}";
  flb_jval *v = flb_json_parse(doc, strlen(doc), err, sizeof err);
  CHECK(v);
  const flb_jval *a = flb_json_get(v, "a");
  CHECK(a && a->type == FLB_J_ARR && a->n == 6);
  CHECK(a->items[1].is_u && a->items[1].u == UINT64_MAX);
  CHECK(!a->items[2].is_u && a->items[2].num == -2500.0);
  CHECK(a->items[3].type == FLB_J_BOOL && a->items[3].boolean && !a->items[4].boolean);
  CHECK(a->items[5].type == FLB_J_NULL);
  CHECK_EQ_STR(flb_json_get(v, "s")->str, "x\xc3\xa9\xf0\x9f\x98\x80\n");
  CHECK(!flb_json_get(v, "missing"));
  flb_json_free(v);
  static const char *bad[] = {"{\"a\" 1}", "[1,]", "\"open", "01x", "{} {}", "[\"\\q\"]"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    CHECK(!flb_json_parse(bad[i], strlen(bad[i]), err, sizeof err));
}

int main(void) {
  check_json_reader();
  check_bad_input();
  check_split_merge(50000, 2);
  check_split_merge(80000, 3);
  check_split_merge(10, 3); /* runs with few or no samples */
  puts("ok");
  return 0;
}
