/* flurry-bench merge: several --json reports (runs of flurry-bench on other
 * machines or processes, at the same time) -> one report. Counts add up;
 * the histograms are merged bucket by bucket, so every percentile is the one
 * of a single histogram over all the samples; the window is the longest run,
 * so Requests/sec is all requests over it (the sum of the rates of runs that
 * ran side by side for the same time). The worker threads' CPU is summed
 * (thread_cpu_s, so cpu_us_per_request is over all the runs). WebSocket runs
 * (--ws-message) merge only with WebSocket runs: their "websocket" object is
 * kept (upgrades and deflate agreements summed; sizes or types that differ
 * are reported as mixed). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flb.h"
#include "json.h"

static const char merge_usage[] =
    "Usage: flurry-bench merge [--json] A.json B.json ...\n"
    "  One report (wrk's text, or --json) of flurry-bench --json reports of runs\n"
    "  made at the same time: counts summed, latency histograms merged exactly.\n";

static int bad_input(const char *path, const char *what) {
  fprintf(stderr, "flurry-bench merge: %s: %s\n", path, what);
  return -1;
}

static uint64_t u64_of(const flb_jval *obj, const char *key) {
  const flb_jval *v = flb_json_get(obj, key);
  return v && v->type == FLB_J_NUM ? (v->is_u ? v->u : (uint64_t)(v->num > 0 ? v->num : 0)) : 0;
}

static double num_of(const flb_jval *obj, const char *key) {
  const flb_jval *v = flb_json_get(obj, key);
  return v && v->type == FLB_J_NUM ? v->num : 0.0;
}

/* Add the "histogram" member of obj[key] to h. */
static int add_hist(flb_hist *h, const flb_jval *doc, const char *key, const char *path) {
  const flb_jval *hj = flb_json_get(flb_json_get(doc, key), "histogram");
  if (!hj) return bad_input(path, "no histogram (a report of an older flurry-bench?)");
  if (u64_of(hj, "sub_bits") != FLB_HIST_SUB_BITS || u64_of(hj, "top_bit") != FLB_HIST_TOP_BIT)
    return bad_input(path, "histogram of another layout");
  const flb_jval *b = flb_json_get(hj, "buckets");
  if (!b || b->type != FLB_J_ARR) return bad_input(path, "histogram without buckets");
  flb_hist one;
  flb_hist_reset(&one);
  for (size_t i = 0; i < b->n; i++) {
    const flb_jval *e = &b->items[i];
    if (e->type != FLB_J_ARR || e->n != 3 || !e->items[0].is_u || !e->items[1].is_u ||
        !e->items[2].is_u)
      return bad_input(path, "bad bucket");
    size_t idx = flb_hist_index(e->items[0].u);
    if (flb_hist_bucket_low(idx) != e->items[0].u || flb_hist_bucket_high(idx) != e->items[1].u)
      return bad_input(path, "bucket bounds do not match this layout");
    one.buckets[idx] += e->items[2].u;
  }
  one.count = u64_of(hj, "count");
  uint64_t total = 0;
  for (size_t i = 0; i < FLB_HIST_BUCKETS; i++) total += one.buckets[i];
  if (total != one.count) return bad_input(path, "bucket counts do not add up to the count");
  if (one.count) one.min = u64_of(hj, "min");
  one.max = u64_of(hj, "max");
  one.sum = u64_of(hj, "sum");
  one.sumsq = num_of(hj, "sumsq");
  one.clamped = u64_of(hj, "clamped");
  flb_hist_merge(h, &one);
  return 0;
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 65536, n = 0;
  char *b = malloc(cap);
  for (;;) {
    if (!b) break;
    if (n == cap) {
      char *nb = realloc(b, cap *= 2);
      if (!nb) {
        free(b);
        b = NULL;
        break;
      }
      b = nb;
    }
    size_t got = fread(b + n, 1, cap - n, f);
    n += got;
    if (!got) {
      if (ferror(f)) {
        free(b);
        b = NULL;
      }
      break;
    }
  }
  fclose(f);
  *len = n;
  return b;
}

/* The "websocket" object of a --ws-message run: upgrades summed; the
 * message size, type and compression offer kept from the first report
 * ("several" sizes or types make the WebSocket line say so). A WebSocket
 * run and a request run cannot be merged: a "request" means two things. */
static int add_ws(flb_merged *m, const flb_jval *d, int first) {
  const flb_jval *ws = flb_json_get(d, "websocket");
  int is_ws = ws && ws->type == FLB_J_OBJ;
  if (!first && is_ws != m->cfg.ws) return -1;
  if (!is_ws) return 0;
  const flb_jval *type = flb_json_get(ws, "type"), *size = flb_json_get(ws, "message_size");
  const flb_jval *offer = flb_json_get(ws, "compress_offered");
  const char *t = type && type->type == FLB_J_STR ? type->str : "text";
  int binary = !strcmp(t, "binary");
  int offered = offer && offer->type == FLB_J_BOOL && offer->boolean;
  /* a merged report's "mixed" type and null size merge on as mixed */
  int mixed = (strcmp(t, "mixed") ? 0 : FLB_WS_MIXED_TYPE) |
              (size && size->type == FLB_J_NUM ? 0 : FLB_WS_MIXED_SIZE);
  if (first) {
    m->cfg.ws = 1;
    m->cfg.ws_message = u64_of(ws, "message_size");
    m->cfg.ws_binary = binary;
    m->cfg.ws_compress = offered;
  } else {
    if (m->cfg.ws_message != u64_of(ws, "message_size")) mixed |= FLB_WS_MIXED_SIZE;
    if (m->cfg.ws_binary != binary) mixed |= FLB_WS_MIXED_TYPE;
    m->cfg.ws_compress |= offered; /* offered by at least one run */
  }
  m->cfg.ws_mixed |= mixed;
  m->r->ws_opened += u64_of(ws, "connections_upgraded");
  m->r->ws_deflate += u64_of(ws, "deflate_connections");
  return 0;
}

static int add_report(flb_merged *m, const flb_jval *d, const char *path, int first) {
  const flb_jval *tool = flb_json_get(d, "tool");
  if (!tool || tool->type != FLB_J_STR || strcmp(tool->str, "flurry-bench"))
    return bad_input(path, "not a flurry-bench --json report");
  flb_result *r = m->r;
  if (add_hist(&r->latency, d, "latency_us", path) ||
      add_hist(&r->rate, d, "thread_req_per_sec", path))
    return -1;
  const flb_jval *url = flb_json_get(d, "url"), *method = flb_json_get(d, "method");
  const char *u = url && url->type == FLB_J_STR ? url->str : "?";
  const char *me = method && method->type == FLB_J_STR ? method->str : "?";
  if (first) {
    m->url = strdup(u);
    m->method = strdup(me);
  } else {
    if (m->url && strcmp(m->url, u)) free(m->url), m->url = strdup("(several URLs)");
    if (m->method && strcmp(m->method, me)) free(m->method), m->method = strdup("(several)");
  }
  m->cfg.threads += u64_of(d, "threads");
  m->cfg.connections += u64_of(d, "connections");
  m->cfg.requests += u64_of(d, "requests_limit");
  const flb_jval *rate = flb_json_get(d, "rate");
  if (rate && rate->type == FLB_J_NUM) m->cfg.rate += rate->num;
  uint64_t dur = (uint64_t)(num_of(d, "duration_s") * 1e6 + 0.5);
  if (dur > m->cfg.duration_us) m->cfg.duration_us = dur;
  uint64_t rt = (uint64_t)(num_of(d, "runtime_s") * 1e6 + 0.5);
  if (rt > m->runtime_us) m->runtime_us = rt;
  if (first) {
    m->cfg.warmup_us = (uint64_t)(num_of(d, "warmup_s") * 1e6 + 0.5);
    m->cfg.timeout_us = (uint64_t)(num_of(d, "timeout_s") * 1e6 + 0.5);
  }
  r->complete += u64_of(d, "requests");
  r->bytes += u64_of(d, "bytes");
  r->instances += u64_of(d, "instances") ? u64_of(d, "instances") : 1;
  const flb_jval *e = flb_json_get(d, "errors");
  if (!e) return bad_input(path, "no errors object");
  r->errors[FLB_ERR_CONNECT] += u64_of(e, "connect");
  r->errors[FLB_ERR_READ] += u64_of(e, "read");
  r->errors[FLB_ERR_WRITE] += u64_of(e, "write");
  r->errors[FLB_ERR_TIMEOUT] += u64_of(e, "timeout");
  r->errors[FLB_ERR_STATUS] += u64_of(e, "status");
  r->length_mismatch += u64_of(e, "length_mismatch");
  const flb_jval *pv = flb_json_get(d, "responses_by_version");
  if (pv) {
    r->by_version[0] += u64_of(pv, "1.0");
    r->by_version[1] += u64_of(pv, "1.1");
    r->by_version[2] += u64_of(pv, "2");
  }
  r->conns_opened += u64_of(d, "connections_opened");
  const flb_jval *proto = flb_json_get(d, "protocol");
  if (proto && proto->type == FLB_J_STR) {
    if (!r->protocol[0])
      snprintf(r->protocol, sizeof r->protocol, "%s", proto->str);
    else if (strcmp(r->protocol, proto->str))
      snprintf(r->protocol, sizeof r->protocol, "mixed");
  }
  if (u64_of(d, "streams_per_connection") > m->cfg.streams)
    m->cfg.streams = u64_of(d, "streams_per_connection");
  r->h2_conns += u64_of(d, "h2_connections");
  const flb_jval *lag = flb_json_get(d, "send_lag_us");
  if (lag) {
    r->lag_count += u64_of(lag, "count");
    r->lag_sum_us += num_of(lag, "sum");
    if (u64_of(lag, "max") > r->lag_max_us) r->lag_max_us = u64_of(lag, "max");
  }
  r->cpu_us += (uint64_t)(num_of(d, "thread_cpu_s") * 1e6 + 0.5);
  if (add_ws(m, d, first)) return bad_input(path, "a WebSocket run merged with a plain one");
  const flb_jval *fe = flb_json_get(d, "first_error");
  if (fe && fe->type == FLB_J_STR && !r->first_err) {
    r->first_err = FL_EINVAL; /* only its text is kept */
    snprintf(r->first_err_msg, sizeof r->first_err_msg, "%s", fe->str);
  }
  return 0;
}

int flb_merged_init(flb_merged *m) {
  memset(m, 0, sizeof *m);
  m->cfg.http_version = FL_HTTP_VERSION_1_1; /* the protocol line shows if any run spoke h2 */
  m->r = calloc(1, sizeof *m->r);
  if (!m->r) return -1;
  flb_hist_reset(&m->r->latency);
  flb_hist_reset(&m->r->rate);
  return 0;
}

int flb_merged_add(flb_merged *m, const char *text, size_t len, const char *name) {
  char err[128];
  flb_jval *d = flb_json_parse(text, len, err, sizeof err);
  if (!d) return bad_input(name, err);
  int rc = add_report(m, d, name, m->reports == 0);
  flb_json_free(d);
  if (rc) return -1;
  m->reports++;
  m->cfg.url = m->url ? m->url : "?";
  m->cfg.method = m->method ? m->method : "?";
  m->r->start_us = 0;
  m->r->end_us = m->runtime_us;
  return 0;
}

void flb_merged_dispose(flb_merged *m) {
  free(m->url);
  free(m->method);
  free(m->r);
  memset(m, 0, sizeof *m);
}

int flb_merge_main(int argc, char **argv) {
  int json = 0, i = 1;
  for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
    if (!strcmp(argv[i], "--json"))
      json = 1;
    else if (!strcmp(argv[i], "--latency") || !strcmp(argv[i], "-L"))
      continue; /* always shown */
    else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      fputs(merge_usage, stdout);
      return 0;
    } else if (!strcmp(argv[i], "--")) {
      i++;
      break;
    } else {
      fprintf(stderr, "flurry-bench merge: unknown option %s\n%s", argv[i], merge_usage);
      return 1;
    }
  }
  if (i >= argc) {
    fprintf(stderr, "flurry-bench merge: no reports given\n%s", merge_usage);
    return 1;
  }
  flb_merged m;
  if (flb_merged_init(&m)) return 1;
  int rc = 0;
  for (int k = i; k < argc && !rc; k++) {
    size_t len;
    errno = 0;
    char *text = read_file(argv[k], &len);
    if (!text) {
      rc = bad_input(argv[k], strerror(errno ? errno : ENOMEM));
      break;
    }
    rc = flb_merged_add(&m, text, len, argv[k]);
    free(text);
  }
  if (!rc) {
    m.cfg.latency = 1;
    if (json) {
      flb_report_json(&m.cfg, m.r);
    } else {
      printf("Merged %llu runs @ %s\n", (unsigned long long)m.r->instances, m.cfg.url);
      printf("  %llu threads and %llu connections in all\n", (unsigned long long)m.cfg.threads,
             (unsigned long long)m.cfg.connections);
      flb_report_text(&m.cfg, m.r);
    }
  }
  flb_merged_dispose(&m);
  return rc ? 1 : 0;
}
