/* flurry command-line tool: types shared by its files.
 *
 * The tool is built only on the public API (<flurry.h>); nothing here may
 * include a library-internal header. Names: cli_ for what crosses files,
 * static for the rest. */
#ifndef FLURRY_CLI_H
#define FLURRY_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <flurry.h>

#include "cli_more.h"

/* curl exit codes the tool produces itself (the rest come from
 * fl_err_curl_code). */
enum {
  CLI_EXIT_OK = 0,
  CLI_EXIT_UNSUPPORTED = 1,
  CLI_EXIT_USAGE = 2,
  CLI_EXIT_URL = 3,
  CLI_EXIT_HTTP = 22,
  CLI_EXIT_WRITE = 23,
  CLI_EXIT_READ = 26,
  CLI_EXIT_NOMEM = 27,
  CLI_EXIT_BAD_ARG = 43,
  CLI_EXIT_INTERFACE = 45,     /* curl's CURLE_INTERFACE_FAILED */
  CLI_EXIT_SETOPT_SYNTAX = 49, /* curl's CURLE_SETOPT_OPTION_SYNTAX */
  CLI_EXIT_RANGE = 33,         /* curl's CURLE_RANGE_ERROR: cannot resume */
  CLI_EXIT_CERT = 58,          /* curl's CURLE_SSL_CERTPROBLEM: client certificate */
  CLI_EXIT_FILESIZE = 63,
  CLI_EXIT_CACERT = 77, /* curl's CURLE_SSL_CACERT_BADFILE */
  CLI_EXIT_CIPHER = 59, /* curl's CURLE_SSL_CIPHER */
};

/* ------------------------------------------------------------------ util.c */
/* Allocation failures end the program with exit code 27 (curl's "out of
 * memory"): a command-line tool has nothing better to do, and it keeps
 * every caller simple. */
void *cli_xrealloc(void *p, size_t n);
char *cli_strdup(const char *s);
char *cli_strndup(const char *s, size_t n);

/* Growable byte buffer; NUL-terminated once something was added. */
typedef struct cli_buf {
  char *data;
  size_t len, cap;
} cli_buf;

void cli_buf_add(cli_buf *b, const void *p, size_t n);
void cli_buf_adds(cli_buf *b, const char *s);
void cli_buf_addc(cli_buf *b, char c);
void cli_buf_printf(cli_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_buf_free(cli_buf *b);
/* Base64 (RFC 4648, padded) of n bytes into a malloc'd string. */
char *cli_base64(const void *p, size_t n);
/* Append s as a JSON string (quoted), escaping controls, quotes and bytes
 * that are not valid UTF-8 (as \u00XX). */
void cli_json_string(cli_buf *b, const char *s);
/* Read a whole file ("-" = stdin) into b. 0, or -1 with errno set. */
int cli_read_file(const char *path, cli_buf *b);
int cli_strcaseeq(const char *a, const char *b); /* ASCII, locale-free */
/* --create-dirs: make the directories of path that do not exist (mode
 * 0750, as curl). 0, or -1 with errno set. */
int cli_mkdirs_for(const char *path);

/* -------------------------------------------------------------- progress.c
 * Everything written to stderr goes through here, so that messages and the
 * progress meter line do not garble each other. */
/* Usage problems and warnings: "flurry: MESSAGE", always shown. */
void cli_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A failure with its exit code: "flurry: (CODE) MESSAGE", hidden by -s
 * unless -S. */
void cli_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_msg_quiet(int quiet); /* -s without -S */
/* Warnings and notes as curl's ("warning: ..."), hidden by -s (even with -S). */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn_quiet(int quiet);
/* Raw bytes to stderr (-v blocks), after clearing the meter line. */
void cli_stderr_write(const char *p, size_t n);

typedef struct cli_meter cli_meter;
/* A one-line meter on stderr, redrawn every 250 ms from a timer on loop.
 * NULL when stderr is not a terminal (or OOM): then every call is a no-op. */
cli_meter *cli_meter_new(fl_loop *loop, size_t total);
void cli_meter_update(cli_meter *m, size_t done, size_t failed, uint64_t bytes);
/* Final redraw, newline, stop the timer, free. */
void cli_meter_free(cli_meter *m);

/* bar.c: -#'s bar for one transfer, as curl 7.88 draws it on stderr. */
typedef struct cli_bar cli_bar;
/* hidden: updates are only remembered until cli_bar_show (another
 * transfer's bar is on the line). NULL on OOM: every call a no-op. */
cli_bar *cli_bar_new(fl_loop *loop, int hidden);
/* now bytes of total (0: size unknown) came; redraws at most 10 times a
 * second (always at 100%). */
void cli_bar_update(cli_bar *b, uint64_t now, uint64_t total);
/* A hidden bar's turn: drawn from its last update on. */
void cli_bar_show(cli_bar *b);
/* The newline after a bar that was updated, then free. */
void cli_bar_free(cli_bar *b);

/* ------------------------------------------------------------------ body.c
 * A request body as a list of segments: bytes in memory or a range of an
 * open file, read with pread so that every transfer streams it on its own. */
typedef struct cli_segment {
  const char *mem; /* NULL: file segment */
  int fd;
  uint64_t off, len;
} cli_segment;

typedef struct cli_body {
  cli_segment *segs;
  size_t n, cap;
  uint64_t total;
  char **owned; /* memory the segments point into */
  size_t nowned;
  int *fds; /* files to close */
  size_t nfds;
  char *flat; /* the whole body, when small enough to send from memory */
} cli_body;

/* Add bytes (copied) / a range of an open file (the body closes fd). */
void cli_body_add_mem(cli_body *b, const void *p, size_t n);
void cli_body_add_file(cli_body *b, int fd, uint64_t len);
/* len bytes of an open file from offset off (the body closes fd). */
void cli_body_add_file_range(cli_body *b, int fd, uint64_t off, uint64_t len);
/* Concatenate everything into b->flat (reading file segments). 0 or an
 * exit code (26 read error, 27 OOM). */
int cli_body_flatten(cli_body *b);
void cli_body_free(cli_body *b);

/* Streaming position of one transfer in a body. */
typedef struct cli_body_cursor {
  const cli_body *body;
  size_t seg;
  uint64_t off;
} cli_body_cursor;
/* Copy up to cap bytes; returns bytes copied, 0 at the end, -1 on a read
 * error (a file shorter than it was). */
long cli_body_read(cli_body_cursor *c, char *buf, size_t cap);

/* ------------------------------------------------------------------ form.c */
/* A multipart/form-data body being written into body. */
typedef struct cli_form cli_form;
cli_form *cli_form_new(cli_body *body);
void cli_form_free(cli_form *f);
/* Parse one -F argument and add its part. 0 or an exit code (2 bad syntax,
 * 26 unreadable file); msg explains. */
int cli_form_add_arg(cli_form *f, const char *arg, char *msg, size_t msgcap);
/* Add the closing delimiter; *content_type gets the malloc'd header value. */
void cli_form_finish(cli_form *f, char **content_type);

/* --------------------------------------------------------------- options.c */
typedef struct cli_header {
  char *name;
  char *value; /* NULL: remove this header (-H "Name:") */
} cli_header;

typedef struct cli_url {
  char *url;
  char *outfile;   /* -o FILE, or NULL: stdout */
  int remote_name; /* -O */
  char *upload;    /* -T FILE ("-": stdin), or NULL */
  size_t urlnum;   /* position of its argument (the URLs of a glob share it) */
} cli_url;

/* A -d/--data-binary/--data-raw/--data-urlencode piece, in command-line
 * order. */
typedef enum cli_data_kind {
  CLI_DATA_ASCII,
  CLI_DATA_BINARY,
  CLI_DATA_RAW,
  CLI_DATA_URLENCODE,
  CLI_DATA_JSON /* --json: as --data-binary, joined without '&' */
} cli_data_kind;
typedef struct cli_data {
  cli_data_kind kind;
  char *arg;
} cli_data;

/* -o / -O, in command-line order: the nth goes to the nth URL. */
typedef struct cli_outspec {
  char *file; /* NULL for -O */
} cli_outspec;

/* The --retry family, as curl: which failures and how long to wait. */
typedef struct cli_retry_opts {
  long count;      /* --retry: 0 = off */
  double delay;    /* --retry-delay seconds; 0 = back-off from 1 s, doubling to 10 min */
  double max_time; /* --retry-max-time seconds; 0 = none */
  int all_errors;  /* --retry-all-errors */
  int connrefused; /* --retry-connrefused */
} cli_retry_opts;

/* Issue 23's groups 5-9 (opts_more.c parses them; xfer_more.c and
 * timecond.c apply them). */
typedef struct cli_pol {
  uint64_t limit_rate;          /* --limit-rate: bytes/s, 0 = none */
  long speed_limit, speed_time; /* -Y bytes/s, -y seconds; 0 = unset */
  char *noproxy;                /* --noproxy, NULL = NO_PROXY's */
  int basic;                    /* --basic; with --digest (cfg->digest), or --anyauth (both),
                 answer whichever the 401 asks for (curl's auth bits) */
  char *bearer;                 /* --oauth2-bearer */
  char *time_cond;              /* -z: DATE, -DATE, +DATE or FILE */
  char *etag_save, *etag_compare;
  unsigned post_redirs; /* --post301/302/303: FL_REDIR_POST_* */
  int location_trusted;
  unsigned proto, proto_redir; /* CLI_PROTO_* bits allowed */
  int proto_set, proto_redir_set;
} cli_pol;

typedef struct cli_config {
  char *method;        /* -X */
  cli_header *headers; /* -H, in order */
  size_t nheaders;
  cli_data *data; /* -d, --data-binary, --data-raw, --data-urlencode */
  size_t ndata;
  char **forms; /* -F arguments */
  size_t nforms;
  cli_url *urls;
  size_t nurls;
  cli_outspec *outs;
  size_t nouts;
  int get, head, include, silent, show_error, verbose, fail;
  int location, max_redirs, compressed, insecure, parallel;
  char *cacert, *proxy;
  char *proxy_user;         /* -U, --proxy-user: put into the proxy URL */
  int digest, proxy_digest; /* --digest, --proxy-digest */
  char *user, *user_agent, *referer;
  int user_agent_set, referer_set;
  char **cookies; /* -b arguments (strings or files) */
  size_t ncookies;
  char *cookie_jar;                 /* -c */
  double connect_timeout, max_time; /* seconds, 0 = none */
  double expect100_timeout;         /* seconds, 0 = the library's (curl's) 1 s */
  uint64_t max_filesize;            /* 0 = none */
  char **resolve;                   /* NULL-terminated */
  size_t nresolve;
  char *dns_servers;
  char *writeout; /* -w, already read from @file */
  long parallel_max;
  cli_retry_opts retry;
  double rate;    /* --rate: transfers started per second, 0 = no limit */
  char **uploads; /* -T, in order: the nth goes to the nth URL */
  size_t nuploads;
  char *dump_header;    /* -D FILE, "-" = stdout */
  char *range;          /* -r, without "bytes=" */
  int resume;           /* -C given */
  int resume_auto;      /* -C -: from the size of the -o file */
  uint64_t resume_from; /* -C OFFSET */
  int create_dirs;
  char *cert, *cert_password, *key, *cert_type, *key_type, *capath;
  /* TLS: --tlsv1.2/--tlsv1.3, --tls-max (FL_TLS_*, 0 = default) */
  int tls_min, tls_max;
  char *ciphers, *tls13_ciphers, *pinnedpubkey;
  cli_more more;           /* round two's options (cli_more.h) */
  cli_pol pol;             /* issue 23's groups 5-9 (opts_more.c) */
  struct cli_config *next; /* -: the next set of options and URLs, or NULL */
  int http_version;        /* --http1.0 ... --http2-prior-knowledge: enum fl_http_version */
} cli_config;

/* ------------------------------------------------------------ opts_more.c
 * Their own option table (ids from CLI_POL_ID_BASE), which options.c merges
 * into the parser and --help next to options_more.c's. */
#define CLI_POL_ID_BASE 2000
const cli_option *cli_pol_options(size_t *n);
/* By long name (name != NULL) or short letter; NULL if not one of them. */
const cli_option *cli_pol_find(const char *name, char short_name);
/* Apply one of them: -1 to go on, or an exit code. */
int cli_pol_apply(cli_config *cfg, const cli_option *o, const char *name, const char *arg, int on);
void cli_pol_free(cli_pol *p);
/* timecond.c: a date as curl_getdate(3) reads it (unix seconds): 0 or -1. */
int cli_parse_date(const char *s, int64_t *out);
/* -z's argument: *cond an fl_timecond, *when its time. -1 (and
 * FL_TIMECOND_NONE) when it is neither a date nor a file. */
int cli_time_cond(const char *arg, int *cond, int64_t *when);
/* Protocols of --proto / --proto-redir (curl's names; flurry speaks two). */
enum { CLI_PROTO_HTTP = 1, CLI_PROTO_HTTPS = 2, CLI_PROTO_OTHER = 4 };

/* Parse argv into cfg. Returns -1 to go on, or an exit code (0 after -h/-V,
 * 2 for bad usage, 26 for an unreadable file...). */
int cli_parse_args(int argc, char **argv, cli_config *cfg);
/* features.c: put cfg->proxy_user into cfg->proxy as its userinfo (as curl,
 * credentials already in the URL win). */
void cli_proxy_add_user(cli_config *cfg);
void cli_config_free(cli_config *cfg);
void cli_print_help(FILE *out);
void cli_print_version(FILE *out);

/* -------------------------------------------------------------- features.c
 * Options that are client settings of the library. */
int cli_is_cookie_file(const char *arg); /* a -b argument naming a file */
/* Fill o from cfg. *cacert_bad: --cacert names a file that cannot be read
 * (then https transfers fail with 77, as curl's). */
void cli_client_options(const cli_config *cfg, fl_client_options *o, int *cacert_bad);
/* Make the client. When it cannot be made with the client certificate
 * (unreadable, not PEM, key not matching), it is made without and *cert_bad
 * set: https transfers then fail with 58, as curl's. NULL: still no client. */
fl_client *cli_client_new(const cli_config *cfg, fl_loop *loop, fl_client_options *o, int *cert_bad,
                          int *err, char *msg, size_t cap);
/* --ciphers / --tls13-ciphers that OpenSSL refuses (o from
 * cli_client_options): 0, or CLI_EXIT_CIPHER with curl's message in msg;
 * then https transfers fail with it, as curl's. */
int cli_tls_ciphers_check(fl_client_options *o, char *msg, size_t cap);
/* After fl_client_new: load -b cookie files. 0 or an exit code. */
int cli_client_start(const cli_config *cfg, fl_client *client);
/* At the end: save the -c cookie jar (a failure is a warning, as curl's). */
void cli_client_finish(const cli_config *cfg, fl_client *client);

/* --------------------------------------------------------------- request.c
 * The parts of a request shared by every URL: method, header list, body. */
typedef struct cli_reqspec {
  const char *method;
  const char *upload_method; /* -T: PUT unless -X */
  cli_header *headers;       /* name/value after -A, -e, -u, -b, -H ... */
  size_t nheaders;
  int no_user_agent, no_accept, no_expect; /* defaults removed */
  cli_body body;
  int has_body;
  char *query; /* -G: data for the URL query */
  int digest;  /* --digest: answer Digest challenges with these (NULL: the URL's) */
  char *digest_user, *digest_pass;
} cli_reqspec;

/* Build the shared request parts from cfg. 0 or an exit code (message
 * printed). */
int cli_reqspec_init(cli_reqspec *rs, const cli_config *cfg);
void cli_reqspec_free(cli_reqspec *rs);
/* The URL to fetch for one argument: scheme added when missing, -G query
 * appended. malloc'd. */
char *cli_reqspec_url(const cli_reqspec *rs, const char *arg);
/* Apply the headers and a body to req (made with rs->method): body, or
 * rs's own when NULL; cursor is the transfer's upload position. 0 or an
 * fl_err. */
int cli_reqspec_apply(const cli_reqspec *rs, fl_request *req, const cli_body *body,
                      cli_body_cursor *cursor);
/* -T: the URL with the file's name (percent-encoded) added when its path
 * is empty or ends in "/", as curl; else a copy. malloc'd. */
char *cli_upload_url(const char *url, const char *path);

/* -------------------------------------------------------------- writeout.c */
/* What the tool itself saw of a transfer's last attempt, through the
 * library's trace hook: every request head written and response head
 * received, redirects included. Times in microseconds since the send. */
typedef struct cli_facts {
  uint64_t request_bytes;  /* curl's size_request of the hops before the last (cli_size_request) */
  uint64_t hop_sent;       /* bytes_sent before the last hop's head */
  uint64_t hop_head;       /* the last hop's head */
  int hop_h2;              /* the last hop went as an HTTP/2 stream */
  uint64_t header_bytes;   /* response heads received, every hop */
  unsigned num_connects;   /* hops written on a new connection */
  unsigned nresponses;     /* response heads received */
  uint64_t pretransfer_us; /* the last request head was written */
  uint64_t redirect_us;    /* the last redirect's response head arrived */
  uint64_t last_head_us;
  char method[32]; /* of the last request written */
} cli_facts;

/* curl's size_request and size_upload of a transfer whose info says
 * bytes_sent. HTTP/1.x: the bytes written (head and body) of every hop;
 * the last hop's body. HTTP/2 (bytes_sent counts DATA only): a hop's head
 * as the trace hook wrote it (curl counts its HTTP/1.1-style head, not the
 * HPACK bytes); the last hop's DATA bytes. */
uint64_t cli_size_request(const cli_facts *f, uint64_t bytes_sent);
uint64_t cli_size_upload(const cli_facts *f, uint64_t bytes_sent);

/* What -w can tell about one finished transfer. */
typedef struct cli_result {
  const char *url;           /* as given */
  const char *url_effective; /* last hop */
  const char *method;
  const char *errormsg;   /* "" or NULL: none */
  const fl_response *res; /* NULL: no response */
  fl_info info;
  const char *filename; /* -o / -O file, or NULL */
  int exitcode, num_redirects;
  uint64_t size_download, size_upload, size_request;
  size_t urlnum; /* 0-based position in the URL list */
  const cli_facts *facts;
  const char *referer; /* -e */
  int proxied;         /* -x: through a proxy */
} cli_result;

/* Expand fmt; text goes to out until %{stderr} switches to err. */
void cli_writeout(const char *fmt, const cli_result *r, cli_buf *out, cli_buf *err);
/* Warn once about unknown variables. */
void cli_writeout_check(const char *fmt);
/* urlref.c: ref resolved against the absolute URL base (RFC 3986 5.2),
 * malloc'd. */
char *cli_url_resolve(const char *base, const char *ref);

/* ---------------------------------------------------------------- output.c
 * stdout in command-line order: each transfer writes into its own part;
 * the part of the first unfinished transfer goes straight to stdout, later
 * ones are held (in memory, then in a temporary file past a cap) until
 * every earlier transfer finished. */
typedef struct cli_outq {
  uint64_t held; /* bytes held in memory by all parts */
  int broken;    /* stdout failed: later writes fail at once */
  cli_buf loose; /* text that belongs to no part, waiting for a part's end */
} cli_outq;

typedef struct cli_out {
  cli_buf mem;
  FILE *spill;
  int direct;
  int used; /* something was written into this part */
} cli_out;

/* 0 or CLI_EXIT_WRITE. */
int cli_out_write(cli_outq *q, cli_out *o, const void *p, size_t n);
/* Text that is part of no transfer's output (the -w text of a transfer
 * whose body went to a file): written at once unless `current`, the part
 * now going straight to stdout, is in the middle of its output; then it
 * waits for cli_out_flush_loose at that part's end. 0 or CLI_EXIT_WRITE. */
int cli_out_loose(cli_outq *q, const cli_out *current, const void *p, size_t n);
int cli_out_flush_loose(cli_outq *q);
/* Write what o holds to stdout and send the rest straight there. */
int cli_out_go_direct(cli_outq *q, cli_out *o);
/* Release what o holds without writing it. */
void cli_out_drop(cli_outq *q, cli_out *o);

/* ----------------------------------------------------------------- retry.c
 * curl's --retry rules, applied by the tool to each finished attempt. */
typedef enum cli_retry_kind {
  CLI_RETRY_NO,
  CLI_RETRY_ALL,         /* --retry-all-errors */
  CLI_RETRY_TIMEOUT,     /* exit 28, or 6 (name not resolved) */
  CLI_RETRY_CONNREFUSED, /* --retry-connrefused */
  CLI_RETRY_HTTP,        /* 408 429 500 502 503 504 */
} cli_retry_kind;
/* code: the attempt's exit code; err: its fl_err (0: a response came);
 * status: the response status (0: none). */
cli_retry_kind cli_retry_classify(const cli_retry_opts *o, int code, int err, int status);
/* curl's words for the warning: "Problem : HTTP error. Will retry ..." */
const char *cli_retry_problem(cli_retry_kind kind);
/* Retry-After (RFC 9110 10.2.3) in ms: delay-seconds or an HTTP-date;
 * -1 when absent, zero, in the past or unusable (curl then backs off as
 * usual). */
int64_t cli_retry_after_ms(const fl_response *res);
/* An HTTP-date (RFC 9110 5.6.7's three forms) as UTC seconds. 0 or -1. */
int cli_parse_http_date(const char *s, time_t *out);

/* -------------------------------------------------------------- transfer.c */
typedef struct cli_run cli_run;
/* Fetch every URL of cfg; returns the exit code. */
int cli_run_all(const cli_config *cfg, const cli_reqspec *rs);
/* ws.c: --ws, a WebSocket session on the one URL of cfg (stdin lines out,
 * messages to stdout); returns the exit code. */
int cli_ws_run(const cli_config *cfg, const cli_reqspec *rs);

#endif
