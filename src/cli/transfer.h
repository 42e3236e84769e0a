/* One run of the tool: its transfers and what they share. Private to
 * transfer.c (their lives: start, attempts, retries, the end) and
 * response.c (what a response does: headers, body, output files, -D, -i,
 * the facts -w reads).
 *
 * Life of a transfer: WAITING -> RUNNING (attempts, and the waits between
 * them under --retry) -> DONE (result known, request freed) -> FLUSHED
 * (its stdout part written). */
#ifndef FLURRY_CLI_TRANSFER_H
#define FLURRY_CLI_TRANSFER_H

#include "cli.h"

typedef enum t_state { T_WAITING, T_RUNNING, T_DONE, T_FLUSHED } t_state;

typedef struct transfer {
  cli_run *run;
  size_t index;
  const cli_url *spec;
  char *url;       /* what is fetched (scheme added, -G query, -T name) */
  fl_request *req; /* kept across the attempts of --retry */
  t_state state;
  int code;       /* exit code of this URL (of the attempt, until the last) */
  int abort_code; /* why one of our callbacks stopped the attempt */
  int ok_stop;    /* ... and it is a success (-C: the file was complete) */
  char *errmsg;   /* our own message for abort_code */
  int status;     /* HTTP status of the attempt's final response, 0: none */
  int discard;    /* the body is read but not written (-C and 416) */
  char *filename; /* -o / -O target */
  FILE *file;
  uint64_t file_init; /* its size when opened (-C appends) */
  uint64_t written;   /* bytes written to it by this attempt */
  int stdout_failed;  /* its error is that stdout failed */
  uint64_t bytes;     /* body bytes received by this attempt */
  cli_out out;        /* this transfer's part of stdout */
  /* the request body of -T (else the shared one of cli_reqspec) */
  int upload;      /* -T given for this URL */
  cli_body upbody; /* -T FILE: a regular file, sent with its length */
  int upfd;        /* -T - or a pipe: streamed chunked; -1 none */
  cli_body_cursor cursor;
  uint64_t resume; /* -C: the offset asked for, 0 none */
  /* --retry */
  long retries_left;
  uint64_t retry_sleep_ms;
  uint64_t first_ms; /* loop time of the first attempt (--retry-max-time) */
  fl_timer *timer;
  /* -w facts gathered from the trace hook during the attempt */
  uint64_t send_us; /* tool clock when the attempt was sent */
  cli_facts facts;
  struct cli_xpol *xpol; /* xfer_more.c's state, or NULL */
  cli_bar *bar;          /* -#: from the final response's head to its turn's end */
  int bar_ended;         /* -#: the transfer ended (its bar waits for its turn) */
  int file_opened;       /* the -o file was created or opened by this transfer */
  int quiet;             /* stopped by --fail-early: no message, no -w */
} transfer;

struct cli_run {
  const cli_config *cfg;
  const cli_reqspec *rs;
  fl_loop *loop;
  fl_client *client;
  transfer *t;
  size_t n;
  size_t next_start, next_flush, active, done, failed;
  uint64_t bytes;
  int starting;
  int stdout_gone;     /* stdout failed: transfers bound for it are stopped */
  int stdout_reported; /* ... and that was said once */
  cli_outq outq;
  cli_meter *meter;
  int cacert_bad; /* --cacert unreadable: https transfers fail with 77 */
  int cert_bad;   /* -E / --key unusable: https transfers fail with 58 */
  int cipher_bad; /* a cipher list OpenSSL refuses: https transfers fail with 59 */
  char cipher_msg[256];
  FILE *dump; /* -D FILE, shared by every transfer */
  int dump_failed;
  /* --rate: transfers are started no faster than the client's limit lets
   * them go, so none waits inside the library with its -m clock running */
  uint64_t next_start_ms;
  fl_timer *rate_timer;
  FILE *trace;         /* --trace / --trace-ascii */
  size_t bar_turn;     /* -# with several URLs: the transfer whose bar is drawn */
  int fail_early_code; /* --fail-early: the first failure's code, which ends the run */
};

/* response.c */
uint64_t cli_now_us(void);
/* Record why we stop a transfer (the first reason wins). */
void cli_t_abort(transfer *t, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Set the callbacks (headers, body, trace) of t's request. */
void cli_t_hooks(transfer *t);
/* The error message of a failed transfer (naming its URL when there are
 * several). A failed stdout is reported once. */
void cli_t_report(transfer *t, const char *msg);
/* Open the -o file now (an empty body still creates it). 0 or 23. */
int cli_t_open_file(transfer *t);
/* Before another attempt: drop what this one wrote into the -o file (back
 * to its size before the transfer), as curl does. */
void cli_t_rewind_file(transfer *t);
int cli_t_bound_for_stdout(const transfer *t);
/* The response's trailer fields to -i output and the -D file. */
void cli_t_trailers(transfer *t);
/* The -o file closed with the transfer's final code: --remove-on-error
 * removes it after a failure, --remote-time dates it after a success. */
void cli_t_file_done(transfer *t);

/* transfer_more.c: round two's options on one transfer */
/* --output-dir in front of a -O name (name is freed; NULL stays NULL). */
char *cli_t_output_name(const transfer *t, char *name);
/* -#: the bar at the head, the body's bytes, the end (its newline). */
void cli_t_bar_head(transfer *t);
void cli_t_bar_body(transfer *t);
void cli_t_bar_end(transfer *t, int ok);
/* -# with several URLs (not -Z): bars in turn instead of the meter. */
int cli_run_bars(const cli_run *run);
/* -J: the file named by Content-Disposition. 0 or 23. */
int cli_t_header_name(transfer *t, const fl_response *res);
/* -n: credentials from the netrc file (and --path-as-is,
 * --ignore-content-length). 0 or an exit code. */
int cli_t_netrc(transfer *t);
/* --fail-with-body: a status >= 400 is exit 22, its body written. */
void cli_t_fail_with_body(transfer *t);
void cli_trace_open(cli_run *run);
void cli_trace_close(cli_run *run);
/* One --trace record: what ("=> Send header", "<= Recv data"), bytes. */
void cli_trace(transfer *t, const char *what, const char *data, size_t len);

/* xfer_more.c: issue 23's groups 5-9 on a transfer. After its request is
 * built: 0, or an exit code (t aborted with it). At its end: the ETag
 * file, the speed check's timer. */
int cli_pol_start(transfer *t);
void cli_pol_end(transfer *t);

#endif
