/* flurry-bench: a wrk-compatible HTTP/1.1 load generator on flurry's public
 * API. Shared types of its parts:
 *
 *   options.c  command line -> flb_config
 *   worker.c   one thread: one fl_loop, one fl_client, C requests resent from
 *              their completion callbacks; results published once, at the end
 *   report.c   wrk's text summary, or one JSON object
 *   main.c     threads, signals, the end of the run */
#ifndef FLB_H
#define FLB_H

#include <stdint.h>

#include "hist.h"

typedef struct flb_header {
  char *name; /* malloc'd copy of the "Name" part of -H "Name: value" */
  const char *value;
} flb_header;

typedef struct flb_config {
  const char *url;
  uint64_t threads;
  uint64_t connections;
  uint64_t duration_us;  /* 0: none (only with -n) */
  uint64_t requests;     /* -n: total to finish; 0 = no limit */
  double rate;           /* -R: total requests/s; 0 = as fast as possible */
  uint64_t warmup_us;
  uint64_t timeout_us;   /* per request, whole exchange; 0 = none */
  uint64_t pipeline;     /* --pipeline N: requests in flight per connection */
  int latency;           /* --latency: print the percentile table */
  int json;              /* --json: one JSON object instead of the text */
  int insecure;          /* -k: do not verify TLS certificates */
  const char *cacert;    /* --cacert FILE */
  const char *method;    /* -X; default GET */
  flb_header *headers;
  uint64_t nheaders;
} flb_config;

/* 0 and the config filled in, 1 for --help / --version (printed; exit 0),
 * or -1 after printing the problem and the usage to stderr (exit 1). */
int flb_parse_args(flb_config *cfg, int argc, char **argv);
void flb_config_free(flb_config *cfg);

/* Error kinds, as wrk counts them, plus length mismatches (reported as
 * read errors) kept apart for the JSON summary. */
enum { FLB_ERR_CONNECT, FLB_ERR_READ, FLB_ERR_WRITE, FLB_ERR_TIMEOUT, FLB_ERR_STATUS, FLB_ERR_KINDS };

typedef struct flb_result {
  uint64_t complete;        /* responses (any status) */
  uint64_t bytes;           /* response bytes: status line, headers, body */
  uint64_t errors[FLB_ERR_KINDS];
  uint64_t length_mismatch; /* part of errors[FLB_ERR_READ] */
  uint64_t start_us, end_us; /* the measured window, CLOCK_MONOTONIC */
  double lag_sum_us;        /* -R: how late requests went out, in total */
  uint64_t lag_max_us;
  uint64_t lag_count;
  flb_hist latency;         /* us; from the send call, or from the intended
                               send time with -R */
  flb_hist rate;            /* requests/s of this thread per 100 ms tick */
  int fatal;                /* fl_err that stopped the thread before the end */
  char fatal_msg[256];
  int first_err;            /* first failed request, for the message */
  char first_err_msg[256];
} flb_result;

typedef struct flb_worker flb_worker;

/* Thread `index` of cfg->threads; res is written by the thread only. */
flb_worker *flb_worker_new(const flb_config *cfg, uint64_t index, flb_result *res);
void flb_worker_free(flb_worker *w);
/* pthread entry point: arg is an flb_worker. */
void *flb_worker_main(void *arg);

/* Set by main on SIGINT/SIGTERM; workers look at it on their 100 ms tick. */
void flb_request_stop(void);
int flb_stop_requested(void);
/* Each worker calls this once, as it ends. */
void flb_worker_finished(void);
uint64_t flb_workers_finished(void);

uint64_t flb_now_us(void);
/* Kind (FLB_ERR_*) of a failed request's fl_err. */
int flb_err_kind(int err);

/* Print the summary of the merged result `r` (its hists merged). */
void flb_report_text(const flb_config *cfg, const flb_result *r);
void flb_report_json(const flb_config *cfg, const flb_result *r);
void flb_print_start(const flb_config *cfg);
/* wrk's unit formatting (exposed for the tests of the output shapes). */
void flb_format_time_us(char *buf, unsigned cap, double us, int precision);

#endif
