/* The summary: wrk's text layout (same lines, same columns, same units, so
 * scripts that parse wrk's output read ours), or one JSON object. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "flb.h"
#include "flurry.h"

/* ------------------------------------------------------- wrk's units
 * A value is divided by `scale` while it is at least 85% of it, moving to
 * the next unit name; the last name of each list is never reached (that is
 * how wrk prints, e.g. 90 s as "2m" with no decimals). */
typedef struct units {
  double scale;
  const char *base;
  const char *names[6];
} units;

static const units time_us_units = {1000, "us", {"ms", "s", NULL}};
static const units time_s_units = {60, "s", {"m", "h", NULL}};
static const units binary_units = {1024, "", {"K", "M", "G", "T", "P", NULL}};
static const units metric_units = {1000, "", {"k", "M", "G", "T", "P", NULL}};

static void format_units(char *buf, unsigned cap, double n, const units *u, int precision) {
  const char *name = u->base;
  for (int i = 0; u->names[i] && u->names[i + 1] && n >= u->scale * 0.85; i++) {
    n /= u->scale;
    name = u->names[i];
  }
  snprintf(buf, cap, "%.*f%s", precision, n, name);
}

void flb_format_time_us(char *buf, unsigned cap, double us, int precision) {
  if (us >= 1e6)
    format_units(buf, cap, us / 1e6, &time_s_units, precision);
  else
    format_units(buf, cap, us, &time_us_units, precision);
}

static void format_metric(char *buf, unsigned cap, double n, int precision) {
  format_units(buf, cap, n, &metric_units, precision);
}

static void format_binary(char *buf, unsigned cap, double n) {
  format_units(buf, cap, n, &binary_units, 2);
}

typedef void (*formatter)(char *buf, unsigned cap, double n, int precision);

/* A right-aligned cell of `width` columns in which a value with a unit
 * sticks out by the unit's length (up to two letters), as wrk lays it out. */
static void print_cell(double n, formatter fmt, int width) {
  char msg[64];
  fmt(msg, sizeof msg, n, 2);
  size_t len = strlen(msg);
  int pad = 2;
  if (len >= 1 && isalpha((unsigned char)msg[len - 1])) pad--;
  if (len >= 2 && isalpha((unsigned char)msg[len - 2])) pad--;
  width -= pad;
  printf("%*.*s%.*s", width, width, msg, pad, "  ");
}

static void print_row(const char *name, const flb_hist *h, formatter fmt) {
  double mean = flb_hist_mean(h), stdev = flb_hist_stdev(h);
  printf("    %-10s", name);
  print_cell(mean, fmt, 8);
  print_cell(stdev, fmt, 10);
  print_cell(h->count ? (double)h->max : 0, fmt, 9);
  printf("%8.2f%%\n", flb_hist_within(h, mean - stdev, mean + stdev));
}

static uint64_t total_errors(const flb_result *r) {
  uint64_t n = 0;
  for (int k = 0; k < FLB_ERR_KINDS; k++) n += r->errors[k];
  return n;
}

static double runtime_s(const flb_result *r) {
  return r->end_us > r->start_us ? (double)(r->end_us - r->start_us) / 1e6 : 0.0;
}

void flb_print_start(const flb_config *cfg) {
  char d[32];
  if (cfg->duration_us >= 1000000)
    format_units(d, sizeof d, (double)cfg->duration_us / 1e6, &time_s_units, 0);
  else if (cfg->duration_us)
    flb_format_time_us(d, sizeof d, (double)cfg->duration_us, 0);
  if (cfg->duration_us)
    printf("Running %s test @ %s", d, cfg->url);
  else
    printf("Running %llu requests test @ %s", (unsigned long long)cfg->requests, cfg->url);
  if (cfg->nurls > 1) printf(" and %llu more URLs", (unsigned long long)(cfg->nurls - 1));
  printf("\n");
  printf("  %llu threads and %llu connections\n", (unsigned long long)cfg->threads,
         (unsigned long long)cfg->connections);
  fflush(stdout);
}

/* The protocol spoken, from the responses' versions: "h2" (HTTP/2 over
 * TLS), "h2c", "http/1.1", "http/1.0", "mixed", or "none" (no response). */
static const char *protocol(const flb_config *cfg, const flb_result *r) {
  if (r->protocol[0]) return r->protocol;
  if (cfg->ws) return "websocket";
  const uint64_t *v = r->by_version;
  int kinds = (v[0] > 0) + (v[1] > 0) + (v[2] > 0);
  if (kinds > 1) return "mixed";
  if (v[2]) return cfg->url && !strncasecmp(cfg->url, "https:", 6) ? "h2" : "h2c";
  if (v[1]) return "http/1.1";
  if (v[0]) return "http/1.0";
  return "none";
}

/* "text", "binary", or "mixed" (a merge of text and binary runs). */
static const char *ws_type(const flb_config *cfg) {
  if (cfg->ws_mixed & FLB_WS_MIXED_TYPE) return "mixed";
  return cfg->ws_binary ? "binary" : "text";
}

void flb_report_text(const flb_config *cfg, const flb_result *r) {
  static const double pct[] = {50, 75, 90, 99};
  char a[64], b[64];
  double secs = runtime_s(r);

  printf("  Thread Stats%6s%11s%8s%12s\n", "Avg", "Stdev", "Max", "+/- Stdev");
  print_row("Latency", &r->latency, flb_format_time_us);
  print_row("Req/Sec", &r->rate, format_metric);
  if (cfg->latency) {
    printf("  Latency Distribution\n");
    for (size_t i = 0; i < sizeof pct / sizeof pct[0]; i++) {
      printf("%7.0f%%", pct[i]);
      print_cell((double)flb_hist_percentile(&r->latency, pct[i]), flb_format_time_us, 10);
      printf("\n");
    }
  }
  flb_format_time_us(a, sizeof a, secs * 1e6, 2);
  format_binary(b, sizeof b, (double)r->bytes);
  printf("  %llu requests in %s, %sB read\n", (unsigned long long)r->complete, a, b);
  /* Not in wrk's output: only when HTTP/2 was asked for or spoken. */
  if (cfg->http_version != FL_HTTP_VERSION_1_1 || r->by_version[2])
    printf("  Protocol: %s, %llu of %llu responses over HTTP/2; %llu connections opened, "
           "%llu of them h2, %llu streams each at most\n",
           protocol(cfg, r), (unsigned long long)r->by_version[2], (unsigned long long)r->complete,
           (unsigned long long)r->conns_opened, (unsigned long long)r->h2_conns,
           (unsigned long long)(cfg->streams ? cfg->streams : 1));
  /* Not in wrk's output: what a "request" was in WebSocket mode. */
  if (cfg->ws) {
    char size[32] = "mixed-size";
    if (!(cfg->ws_mixed & FLB_WS_MIXED_SIZE))
      snprintf(size, sizeof size, "%llu-byte", (unsigned long long)cfg->ws_message);
    printf("  WebSocket: %s %s messages echoed one at a time per connection; "
           "%llu connections upgraded, %llu with permessage-deflate\n",
           size, ws_type(cfg), (unsigned long long)r->ws_opened, (unsigned long long)r->ws_deflate);
  }
  const uint64_t *e = r->errors;
  if (e[FLB_ERR_CONNECT] || e[FLB_ERR_READ] || e[FLB_ERR_WRITE] || e[FLB_ERR_TIMEOUT])
    printf("  Socket errors: connect %llu, read %llu, write %llu, timeout %llu\n",
           (unsigned long long)e[FLB_ERR_CONNECT], (unsigned long long)e[FLB_ERR_READ],
           (unsigned long long)e[FLB_ERR_WRITE], (unsigned long long)e[FLB_ERR_TIMEOUT]);
  if (e[FLB_ERR_STATUS])
    printf("  Non-2xx or 3xx responses: %llu\n", (unsigned long long)e[FLB_ERR_STATUS]);
  printf("Requests/sec: %9.2f\n", secs > 0 ? (double)r->complete / secs : 0.0);
  format_binary(b, sizeof b, secs > 0 ? (double)r->bytes / secs : 0.0);
  printf("Transfer/sec: %10sB\n", b);
  uint64_t errs = total_errors(r);
  if (errs) printf("Errors: %llu (see above)\n", (unsigned long long)errs);
}

/* ------------------------------------------------------------- JSON */

static void json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

/* The histogram itself, enough to merge it exactly with others: every
 * non-empty bucket as [lowest value, highest value, count]. */
static void json_buckets(FILE *f, const flb_hist *h) {
  fprintf(f,
          ", \"histogram\": {\"sub_bits\": %d, \"top_bit\": %d, \"count\": %llu, \"min\": %llu, "
          "\"max\": %llu, \"sum\": %llu, \"sumsq\": %.17g, \"clamped\": %llu, \"buckets\": [",
          FLB_HIST_SUB_BITS, FLB_HIST_TOP_BIT, (unsigned long long)h->count,
          (unsigned long long)(h->count ? h->min : 0), (unsigned long long)h->max,
          (unsigned long long)h->sum, h->sumsq, (unsigned long long)h->clamped);
  int first = 1;
  for (size_t i = 0; i < FLB_HIST_BUCKETS; i++) {
    if (!h->buckets[i]) continue;
    fprintf(f, "%s[%llu, %llu, %llu]", first ? "" : ", ",
            (unsigned long long)flb_hist_bucket_low(i), (unsigned long long)flb_hist_bucket_high(i),
            (unsigned long long)h->buckets[i]);
    first = 0;
  }
  fprintf(f, "]}");
}

static void json_hist(FILE *f, const char *name, const flb_hist *h, int with_percentiles) {
  double mean = flb_hist_mean(h), stdev = flb_hist_stdev(h);
  fprintf(f,
          "  \"%s\": {\"samples\": %llu, \"min\": %llu, \"mean\": %.2f, \"stdev\": %.2f, "
          "\"max\": %llu, \"within_stdev_pct\": %.2f",
          name, (unsigned long long)h->count, (unsigned long long)(h->count ? h->min : 0), mean,
          stdev, (unsigned long long)h->max, flb_hist_within(h, mean - stdev, mean + stdev));
  if (with_percentiles) {
    static const struct {
      const char *key;
      double p;
    } pct[] = {{"p50", 50}, {"p75", 75},     {"p90", 90},
               {"p99", 99}, {"p99_9", 99.9}, {"p99_99", 99.99}};
    for (size_t i = 0; i < sizeof pct / sizeof pct[0]; i++)
      fprintf(f, ", \"%s\": %llu", pct[i].key,
              (unsigned long long)flb_hist_percentile(h, pct[i].p));
  }
  json_buckets(f, h);
  fprintf(f, "},\n");
}

void flb_report_json_to(FILE *f, const flb_config *cfg, const flb_result *r) {
  double secs = runtime_s(r);
  fprintf(f, "{\n  \"tool\": \"flurry-bench\",\n  \"version\": ");
  json_string(f, fl_version());
  fprintf(f, ",\n  \"url\": ");
  json_string(f, cfg->url);
  fprintf(f, ",\n  \"urls\": %llu", (unsigned long long)(cfg->nurls ? cfg->nurls : 1));
  fprintf(f, ",\n  \"method\": ");
  json_string(f, cfg->method);
  fprintf(f, ",\n  \"script\": ");
  if (cfg->script)
    json_string(f, cfg->script);
  else
    fprintf(f, "null");
  fprintf(f, ",\n  \"instances\": %llu", (unsigned long long)(r->instances ? r->instances : 1));
  fprintf(f, ",\n  \"threads\": %llu,\n  \"connections\": %llu,\n",
          (unsigned long long)cfg->threads, (unsigned long long)cfg->connections);
  fprintf(f, "  \"duration_s\": %.3f,\n  \"requests_limit\": %llu,\n",
          (double)cfg->duration_us / 1e6, (unsigned long long)cfg->requests);
  if (cfg->rate > 0)
    fprintf(f, "  \"rate\": %.0f,\n", cfg->rate);
  else
    fprintf(f, "  \"rate\": null,\n");
  fprintf(f, "  \"warmup_s\": %.3f,\n  \"timeout_s\": %.3f,\n", (double)cfg->warmup_us / 1e6,
          (double)cfg->timeout_us / 1e6);
  fprintf(f, "  \"runtime_s\": %.6f,\n  \"requests\": %llu,\n  \"bytes\": %llu,\n", secs,
          (unsigned long long)r->complete, (unsigned long long)r->bytes);
  fprintf(f, "  \"requests_per_sec\": %.2f,\n  \"bytes_per_sec\": %.2f,\n",
          secs > 0 ? (double)r->complete / secs : 0.0, secs > 0 ? (double)r->bytes / secs : 0.0);
  fprintf(f, "  \"protocol\": \"%s\",\n", protocol(cfg, r));
  /* CPU of the worker threads over the measured window (not the setup
   * before it, nor the main thread): the cost per request of the client */
  fprintf(f, "  \"thread_cpu_s\": %.6f,\n  \"cpu_us_per_request\": %.3f,\n",
          (double)r->cpu_us / 1e6, r->complete ? (double)r->cpu_us / (double)r->complete : 0.0);
  fprintf(f,
          "  \"responses_by_version\": {\"1.0\": %llu, \"1.1\": %llu, \"2\": %llu},\n"
          "  \"connections_opened\": %llu,\n  \"h2_connections\": %llu,\n"
          "  \"streams_per_connection\": %llu,\n",
          (unsigned long long)r->by_version[0], (unsigned long long)r->by_version[1],
          (unsigned long long)r->by_version[2], (unsigned long long)r->conns_opened,
          (unsigned long long)r->h2_conns, (unsigned long long)(cfg->streams ? cfg->streams : 1));
  if (cfg->ws) {
    fprintf(f, "  \"websocket\": {\"message_size\": ");
    if (cfg->ws_mixed & FLB_WS_MIXED_SIZE)
      fprintf(f, "null"); /* a merge of runs of several sizes */
    else
      fprintf(f, "%llu", (unsigned long long)cfg->ws_message);
    fprintf(f,
            ", \"type\": \"%s\", \"compress_offered\": %s, \"connections_upgraded\": %llu, "
            "\"deflate_connections\": %llu},\n",
            ws_type(cfg), cfg->ws_compress ? "true" : "false", (unsigned long long)r->ws_opened,
            (unsigned long long)r->ws_deflate);
  }
  json_hist(f, "latency_us", &r->latency, 1);
  json_hist(f, "thread_req_per_sec", &r->rate, 0);
  if (cfg->rate > 0)
    fprintf(
        f, "  \"send_lag_us\": {\"mean\": %.2f, \"max\": %llu, \"count\": %llu, \"sum\": %.17g},\n",
        r->lag_count ? r->lag_sum_us / (double)r->lag_count : 0.0,
        (unsigned long long)r->lag_max_us, (unsigned long long)r->lag_count, r->lag_sum_us);
  fprintf(f,
          "  \"errors\": {\"connect\": %llu, \"read\": %llu, \"write\": %llu, \"timeout\": %llu, "
          "\"status\": %llu, \"length_mismatch\": %llu, \"total\": %llu},\n",
          (unsigned long long)r->errors[FLB_ERR_CONNECT],
          (unsigned long long)r->errors[FLB_ERR_READ], (unsigned long long)r->errors[FLB_ERR_WRITE],
          (unsigned long long)r->errors[FLB_ERR_TIMEOUT],
          (unsigned long long)r->errors[FLB_ERR_STATUS], (unsigned long long)r->length_mismatch,
          (unsigned long long)total_errors(r));
  fprintf(f, "  \"first_error\": ");
  if (r->first_err)
    json_string(f, r->first_err_msg);
  else
    fprintf(f, "null");
  fprintf(f, "\n}\n");
}

void flb_report_json(const flb_config *cfg, const flb_result *r) {
  flb_report_json_to(stdout, cfg, r);
}
