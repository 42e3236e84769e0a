/* Running the transfers: a window of at most --parallel-max requests on one
 * client and one loop; each body streams to its -o file or to its part of
 * the ordered stdout; results are kept per URL for the exit code.
 *
 * Life of a transfer: WAITING -> RUNNING (request sent) -> DONE (result
 * known, request freed) -> FLUSHED (its stdout part written). */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef enum t_state { T_WAITING, T_RUNNING, T_DONE, T_FLUSHED } t_state;

typedef struct transfer {
  cli_run *run;
  size_t index;
  const cli_url *spec;
  char *url;        /* what is fetched (scheme added, -G query) */
  fl_request *req;
  t_state state;
  int code;         /* exit code of this URL */
  int abort_code;   /* why one of our callbacks aborted the request */
  char *errmsg;     /* our own message for abort_code */
  char *filename;   /* -o / -O target */
  FILE *file;
  int stdout_failed; /* its error is that stdout failed */
  uint64_t bytes;   /* body bytes received */
  cli_out out;      /* this transfer's part of stdout */
  cli_body_cursor cursor;
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
  int stdout_gone;  /* stdout failed: transfers bound for it are stopped */
  int stdout_reported; /* ... and that was said once */
  cli_outq outq;
  cli_meter *meter;
  int cacert_bad;   /* --cacert unreadable: https transfers fail with 77 */
  int cipher_bad;   /* a cipher list OpenSSL refuses: https transfers fail with 59 */
  char cipher_msg[256];
  char user_agent[64];
};

static void start_more(cli_run *run);

/* ------------------------------------------------------------ output */

static void set_abort(transfer *t, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Record why we stop a transfer (the first reason wins). */
static void set_abort(transfer *t, int code, const char *fmt, ...) {
  if (t->abort_code) return;
  t->abort_code = code;
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  free(t->errmsg);
  t->errmsg = cli_strdup(msg);
}

/* -O: the last segment of the URL's path. */
static char *remote_name(const char *url) {
  const char *p = strstr(url, "://");
  p = p ? p + 3 : url;
  size_t len = strcspn(p, "?#");
  const char *slash = NULL;
  for (const char *s = p; s < p + len; s++)
    if (*s == '/') slash = s;
  if (!slash || slash + 1 == p + len) return NULL;
  return cli_strndup(slash + 1, (size_t)(p + len - slash - 1));
}

static int open_file(transfer *t) {
  if (t->file) return 0;
  t->file = fopen(t->filename, "wb");
  if (!t->file) {
    set_abort(t, CLI_EXIT_WRITE, "Failure writing output to destination: %s: %s", t->filename,
              strerror(errno));
    return CLI_EXIT_WRITE;
  }
  return 0;
}

/* Body bytes (and -i headers) to the -o file or to stdout. */
static int sink(transfer *t, const void *p, size_t n) {
  if (t->filename) {
    if (open_file(t)) return CLI_EXIT_WRITE;
    if (n && fwrite(p, 1, n, t->file) != n) {
      set_abort(t, CLI_EXIT_WRITE, "Failure writing output to destination: %s", t->filename);
      return CLI_EXIT_WRITE;
    }
    return 0;
  }
  if (cli_out_write(&t->run->outq, &t->out, p, n)) {
    set_abort(t, CLI_EXIT_WRITE, "Failure writing output to destination");
    t->stdout_failed = 1;
    return CLI_EXIT_WRITE;
  }
  return 0;
}

/* The error message of a failed transfer (naming its URL when there are
 * several). A failed stdout is reported once, not by every transfer. */
static void report(transfer *t, const char *msg) {
  cli_run *run = t->run;
  if (t->stdout_failed) {
    if (run->stdout_reported) return;
    run->stdout_reported = 1;
  }
  if (run->n > 1) cli_error(t->code, "%s: %s", t->spec->url, msg);
  else cli_error(t->code, "%s", msg);
}

/* Write held parts in order, up to the first transfer still running, whose
 * part then goes straight to stdout. */
static void flush_ordered(cli_run *run) {
  while (run->next_flush < run->n) {
    transfer *t = &run->t[run->next_flush];
    if (t->state == T_WAITING) break;
    int rc = cli_out_go_direct(&run->outq, &t->out);
    if (rc && t->state == T_RUNNING) {
      set_abort(t, rc, "Failure writing output to destination");
      t->stdout_failed = 1;
      fl_request_cancel(t->req);
    } else if (rc && t->code == 0) {
      t->code = rc;
      t->stdout_failed = 1;
      report(t, "Failure writing output to destination");
    }
    if (t->state == T_RUNNING) break;
    t->state = T_FLUSHED;
    run->next_flush++;
  }
}

/* --------------------------------------------------------- callbacks */

/* -v: each hop's request head exactly as the library wrote it, and each
 * final response head, as they happen (the library's trace hook). */
static void on_trace(fl_request *req, fl_trace_kind kind, const char *data, size_t len, void *ud) {
  (void)ud;
  const char *mark = kind == FL_TRACE_REQUEST_HEAD ? "> " : "< ";
  cli_buf b = {0};
  if (kind == FL_TRACE_REQUEST_HEAD) {
    const fl_info *info = fl_request_info(req);
    if (info->remote_ip[0])
      cli_buf_printf(&b, "* Connected to %s port %u%s\r\n", info->remote_ip, info->remote_port,
                     info->reused ? " (reused connection)" : "");
  }
  for (const char *p = data, *end = data + len; p < end;) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl ? (size_t)(nl - p + 1) : (size_t)(end - p);
    cli_buf_adds(&b, mark);
    cli_buf_add(&b, p, n);
    p += n;
  }
  cli_stderr_write(b.data, b.len);
  cli_buf_free(&b);
}

static int on_headers(fl_request *req, void *data) {
  transfer *t = data;
  const cli_config *cfg = t->run->cfg;
  const fl_response *res = fl_request_response(req);
  int status = fl_response_status(res);
  /* As curl: with -i the headers are written even when -f then fails. */
  if (cfg->include || cfg->head) {
    cli_buf b = {0};
    cli_format_response_head(res, "", &b);
    int rc = sink(t, b.data, b.len);
    cli_buf_free(&b);
    if (rc) return -1;
  }
  if (cfg->fail && status >= 400) {
    set_abort(t, CLI_EXIT_HTTP, "The requested URL returned error: %d", status);
    return -1;
  }
  return 0;
}

static int on_body(fl_request *req, const char *chunk, size_t len, void *data) {
  (void)req;
  transfer *t = data;
  t->bytes += len; /* decoded bytes; the library enforces --max-filesize */
  t->run->bytes += len;
  return sink(t, chunk, len) ? -1 : 0;
}

/* ---------------------------------------------------------- completion */

static void write_out(transfer *t, int err) {
  cli_run *run = t->run;
  fl_request *req = t->req;
  cli_result r = {
      .url = t->spec->url,
      .url_effective = req ? fl_request_effective_url(req) : t->url,
      .method = run->rs->method,
      .errormsg = t->errmsg,
      .res = req ? fl_request_response(req) : NULL,
      .exitcode = t->code,
      .num_redirects = req ? fl_request_info(req)->redirects : 0,
      .size_download = t->bytes,
      .urlnum = t->index,
      .filename = t->filename,
  };
  if (req) r.info = *fl_request_info(req);
  if (run->rs->has_body && !err) r.size_upload = run->rs->body.total;
  cli_buf out = {0}, errb = {0};
  cli_writeout(run->cfg->writeout, &r, &out, &errb);
  if (out.len && cli_out_write(&run->outq, &t->out, out.data, out.len) && !t->code) {
    t->code = CLI_EXIT_WRITE;
    t->stdout_failed = 1;
    report(t, "Failure writing output to destination");
  }
  if (errb.len) cli_stderr_write(errb.data, errb.len);
  cli_buf_free(&out);
  cli_buf_free(&errb);
}

/* The exit code of a finished transfer, with errmsg set to match. */
static int result_code(transfer *t, int err) {
  if (err && t->abort_code && (err == FL_ECALLBACK_ABORT || err == FL_ECANCELED))
    return t->abort_code; /* we stopped it; errmsg says why */
  if (err) {
    const char *msg = t->req ? fl_request_errmsg(t->req) : "";
    free(t->errmsg);
    t->errmsg = cli_strdup(msg[0] ? msg : fl_strerror(err));
    return fl_err_curl_code(err);
  }
  return t->abort_code;
}

/* Close the -o file; a successful transfer with an empty body still
 * creates it. */
static void close_file(transfer *t) {
  if (!t->code && t->filename && open_file(t) == 0 && fflush(t->file) != 0)
    set_abort(t, CLI_EXIT_WRITE, "Failure writing output to destination: %s", t->filename);
  if (t->file && fclose(t->file) != 0 && !t->code)
    set_abort(t, CLI_EXIT_WRITE, "Failure writing output to destination: %s", t->filename);
  t->file = NULL;
  if (!t->code && t->abort_code) t->code = t->abort_code;
}

static int bound_for_stdout(const transfer *t) { return !t->spec->outfile && !t->spec->remote_name; }

/* stdout failed (a closed pipe, a full disk): its reader is gone, so stop
 * every transfer that would write there, quietly; -o transfers go on. */
static void stop_stdout_transfers(cli_run *run) {
  run->stdout_gone = 1;
  for (size_t i = run->next_flush; i < run->n; i++) {
    transfer *t = &run->t[i];
    if (t->state != T_RUNNING || !bound_for_stdout(t) || !t->req) continue;
    set_abort(t, CLI_EXIT_WRITE, "Failure writing output to destination");
    t->stdout_failed = 1;
    fl_request_cancel(t->req);
  }
}

/* The transfer has its result (err from the library, 0 for a response). */
static void finish(transfer *t, int err) {
  cli_run *run = t->run;
  t->code = result_code(t, err);
  close_file(t);
  if (t->code) report(t, t->errmsg ? t->errmsg : "");
  if (run->cfg->writeout && !run->stdout_gone) write_out(t, err);

  /* Only the exit code and the held output are needed from here on. */
  fl_request_free(t->req);
  t->req = NULL;
  free(t->url);
  free(t->errmsg);
  free(t->filename);
  t->url = t->errmsg = t->filename = NULL;
  t->state = T_DONE;
  run->active--;
  run->done++;
  if (t->code) run->failed++;
  cli_meter_update(run->meter, run->done, run->failed, run->bytes);
  flush_ordered(run);
  if (run->outq.broken && !run->stdout_gone) stop_stdout_transfers(run);
  start_more(run);
}

static void on_done(fl_request *req, int err, void *data) {
  (void)req;
  finish(data, err);
}

/* --------------------------------------------------------------- start */

static void start(cli_run *run, transfer *t) {
  t->state = T_RUNNING;
  run->active++;
  if (run->stdout_gone && bound_for_stdout(t)) {
    t->stdout_failed = 1;
    set_abort(t, CLI_EXIT_WRITE, "Failure writing output to destination");
    finish(t, 0);
    return;
  }
  t->url = cli_reqspec_url(run->rs, t->spec->url);
  if (t->spec->outfile) t->filename = cli_strdup(t->spec->outfile);
  if (t->spec->remote_name && !(t->filename = remote_name(t->url))) {
    set_abort(t, CLI_EXIT_WRITE, "Remote file name has no length");
    finish(t, 0);
    return;
  }
  t->req = fl_request_new(run->rs->method, t->url);
  if (!t->req) {
    set_abort(t, CLI_EXIT_BAD_ARG, "cannot make a request with method '%s'", run->rs->method);
    finish(t, 0);
    return;
  }
  if (run->cipher_bad && !strncmp(t->url, "https:", 6)) {
    set_abort(t, run->cipher_bad, "%s", run->cipher_msg);
    finish(t, 0);
    return;
  }
  if (run->cacert_bad && !strncmp(t->url, "https:", 6)) {
    set_abort(t, CLI_EXIT_CACERT, "error setting certificate file: %s", run->cfg->cacert);
    finish(t, 0);
    return;
  }
  int err = cli_reqspec_apply(run->rs, t->req, &t->cursor);
  if (err) {
    set_abort(t, fl_err_curl_code(err), "cannot set up the request: %s", fl_strerror(err));
    finish(t, 0);
    return;
  }
  fl_request_on_headers(t->req, on_headers, t);
  fl_request_on_body(t->req, on_body, t);
  if (run->cfg->verbose) fl_request_on_trace(t->req, on_trace, t);
  err = fl_request_send(run->client, t->req, on_done, t);
  if (err) finish(t, err);
}

static void start_more(cli_run *run) {
  if (run->starting) return; /* finish() of a transfer that failed at once */
  run->starting = 1;
  while (run->active < (size_t)run->cfg->parallel_max && run->next_start < run->n) {
    transfer *t = &run->t[run->next_start++];
    start(run, t);
  }
  run->starting = 0;
  flush_ordered(run);
}

/* -------------------------------------------------------------- driver */

int cli_run_all(const cli_config *cfg, const cli_reqspec *rs) {
  cli_run run = {.cfg = cfg, .rs = rs, .n = cfg->nurls};
  fl_client_options o;
  cli_client_options(cfg, &o, &run.cacert_bad);
  run.cipher_bad = cli_tls_ciphers_check(&o, run.cipher_msg, sizeof run.cipher_msg);
  if (o.user_agent) snprintf(run.user_agent, sizeof run.user_agent, "%s", o.user_agent);
  else snprintf(run.user_agent, sizeof run.user_agent, "flurry/%s", fl_version());

  run.loop = fl_loop_new();
  run.client = run.loop ? fl_client_new(run.loop, &o) : NULL;
  if (!run.client) {
    cli_error(CLI_EXIT_BAD_ARG, "cannot set up the client (check --resolve, --dns-servers, --proxy)");
    if (run.loop) fl_loop_free(run.loop);
    return CLI_EXIT_BAD_ARG;
  }
  int rc = cli_client_start(cfg, run.client);
  if (rc) {
    fl_client_free(run.client);
    fl_loop_free(run.loop);
    return rc;
  }
  if (cfg->writeout) cli_writeout_check(cfg->writeout);

  run.t = cli_xrealloc(NULL, run.n * sizeof *run.t);
  memset(run.t, 0, run.n * sizeof *run.t);
  for (size_t i = 0; i < run.n; i++)
    run.t[i] = (transfer){.run = &run, .index = i, .spec = &cfg->urls[i]};
  if (run.n > 1 && !cfg->silent) run.meter = cli_meter_new(run.loop, run.n);

  start_more(&run);
  while (run.done < run.n) fl_loop_run(run.loop, FL_RUN_ONCE);
  cli_meter_free(run.meter);

  cli_client_finish(cfg, run.client);
  fl_client_free(run.client);
  fl_loop_free(run.loop);

  int code = 0;
  for (size_t i = 0; i < run.n; i++) {
    transfer *t = &run.t[i];
    if (!code) code = t->code;
    cli_out_drop(&run.outq, &t->out);
  }
  free(run.t);
  return code;
}
