/* flurry-bench: a wrk-compatible HTTP/1.1 load generator on flurry's public
 * API. Shared types of its parts:
 *
 *   options.c  command line -> flb_config
 *   tpl.c      request templates (command line, or a script's request
 *              strings parsed with llhttp) and putting them on fl_requests
 *   worker.c   one thread: one fl_loop, one fl_client, C slots whose
 *              requests are resent from their completion callbacks; results
 *              published once, at the end
 *   slots.c    what each slot sends (templates onto request objects)
 *   wsbench.c  --ws-message: WebSocket echo slots on the same thread
 *   script.c   wrk's Lua API (LuaJIT): one Lua state per thread, one for
 *              setup() and done()
 *   report.c   wrk's text summary, or one JSON object with the histograms
 *   merge.c    flurry-bench merge: JSON reports of several runs -> one
 *   json.c     a JSON reader for merge
 *   main.c     threads, signals, the end of the run */
#ifndef FLB_H
#define FLB_H

#include <stdint.h>
#include <stdio.h>

#include "flurry.h"
#include "hist.h"
#include "tpl.h"

typedef struct flb_script flb_script;

typedef struct flb_config {
  const char *url; /* the URL, or the first of --urls */
  uint64_t threads;
  uint64_t connections;
  uint64_t duration_us; /* 0: none (only with -n) */
  uint64_t requests;    /* -n: total to finish; 0 = no limit */
  double rate;          /* -R: total requests/s; 0 = as fast as possible */
  uint64_t warmup_us;
  uint64_t timeout_us; /* per request, whole exchange; 0 = none */
  uint64_t pipeline;   /* --pipeline N: requests in flight per connection */
  int http_version;    /* enum fl_http_version: HTTP/1.1 unless --h2 / --h2c */
  uint64_t streams;    /* -m N: HTTP/2 streams in flight per connection (h2load's) */
  int latency;         /* --latency: print the percentile table */
  int hooks;           /* --hooks: every client event recorded into a ring buffer (what
                          event hooks cost; see bench/harness/hooks.sh) */
  int json;            /* --json: one JSON object instead of the text */
  int insecure;        /* -k: do not verify TLS certificates */
  const char *cacert;  /* --cacert FILE */
  const char *method;  /* -X/--method; default GET, or POST with a body */
  int method_given;
  flb_hdr *headers; /* -H "Name: value", in order (both parts malloc'd) */
  uint64_t nheaders;
  char *body; /* --body / --body-file (malloc'd); NULL = none */
  size_t body_len;
  char **urls; /* --urls FILE: every URL (malloc'd), round-robin */
  uint64_t nurls;
  const char *urls_file;
  /* --ws-message SIZE: WebSocket mode (ws://, wss://): each connection
   * upgrades once, then echoes SIZE-byte messages one at a time; a
   * "request" of the report is one message and its echo (wsbench.c). */
  int ws;
  uint64_t ws_message;
  int ws_binary;      /* --ws-binary: binary messages instead of text */
  int ws_compress;    /* offer permessage-deflate (default; --no-compress: not) */
  int ws_mixed;       /* merge only: FLB_WS_MIXED_* when the runs differed */
  const char *script; /* -s FILE */
  char **script_args; /* init(args): args[0] is the URL, then what follows "--" */
  int nscript_args;
  flb_script *main_script; /* setup() and done() (main.c) */
  fl_share *share;         /* the threads' DNS and TLS session caches (main.c) */
} flb_config;

/* 0 and the config filled in, 1 for --help / --version (printed; exit 0),
 * or -1 after printing the problem and the usage to stderr (exit 1). */
int flb_parse_args(flb_config *cfg, int argc, char **argv);
void flb_config_free(flb_config *cfg);

/* Error kinds, as wrk counts them, plus length mismatches (reported as
 * read errors) kept apart for the JSON summary. */
enum {
  FLB_ERR_CONNECT,
  FLB_ERR_READ,
  FLB_ERR_WRITE,
  FLB_ERR_TIMEOUT,
  FLB_ERR_STATUS,
  FLB_ERR_KINDS
};

typedef struct flb_result {
  uint64_t complete; /* responses (any status) */
  uint64_t bytes;    /* response bytes: status line, headers, body */
  uint64_t errors[FLB_ERR_KINDS];
  uint64_t length_mismatch;  /* part of errors[FLB_ERR_READ] */
  uint64_t start_us, end_us; /* the measured window, CLOCK_MONOTONIC */
  uint64_t cpu_us;           /* the threads' CPU time (user + system) in it */
  double lag_sum_us;         /* -R: how late requests went out, in total */
  uint64_t lag_max_us;
  uint64_t lag_count;
  flb_hist latency;   /* us; from the send call, or from the intended
                               send time with -R */
  flb_hist rate;      /* requests/s of this thread per 100 ms tick */
  uint64_t instances; /* merge: how many runs this sums (0 or 1: one) */
  int fatal;          /* fl_err that stopped the thread before the end */
  char fatal_msg[256];
  int first_err; /* first failed request, for the message */
  char first_err_msg[256];
  /* The protocol spoken: responses by HTTP version (1.0, 1.1, 2), and the
   * connections the pool opened (of them, those that agreed on h2). */
  uint64_t by_version[3];
  uint64_t conns_opened, h2_conns;
  uint64_t ws_opened, ws_deflate; /* WebSocket mode: upgrades that succeeded,
                                     and of them those that agreed on deflate */
  char protocol[16];              /* merge: the reports' "protocol" ("mixed" when they
                        differ); empty: from by_version and the URL */
} flb_result;

typedef struct flb_worker flb_worker;

/* Thread `index` of cfg->threads; res is written by the thread only.
 * script: the thread's own Lua state (or NULL), owned by the caller. */
flb_worker *flb_worker_new(const flb_config *cfg, uint64_t index, flb_result *res,
                           flb_script *script);
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
void flb_report_json_to(FILE *f, const flb_config *cfg, const flb_result *r);

/* Merging --json reports (merge.c). */
#define FLB_WS_MIXED_SIZE 1 /* WebSocket runs of several message sizes */
#define FLB_WS_MIXED_TYPE 2 /* text runs and binary runs */
typedef struct flb_merged {
  flb_config cfg; /* url, method: the first report's ("(several ...)" when
                         they differ); threads, connections: summed */
  flb_result *r;  /* counts summed, histograms merged; end_us: the
                         longest runtime (start_us 0) */
  char *url, *method;
  uint64_t runtime_us;
  uint64_t reports;
} flb_merged;
int flb_merged_init(flb_merged *m);
/* Add one report (the text of a --json output); name is for messages.
 * 0, or -1 after saying why on stderr. */
int flb_merged_add(flb_merged *m, const char *text, size_t len, const char *name);
void flb_merged_dispose(flb_merged *m);
/* flurry-bench merge [--json] A.json B.json ...: the exit code. */
int flb_merge_main(int argc, char **argv);
void flb_print_start(const flb_config *cfg);
/* wrk's unit formatting (exposed for the tests of the output shapes). */
void flb_format_time_us(char *buf, unsigned cap, double us, int precision);

#endif
