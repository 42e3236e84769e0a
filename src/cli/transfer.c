/* Running the transfers: a window of at most --parallel-max transfers on
 * one client and one loop. --rate paces their starts; --retry sends a
 * failed attempt again after a wait, with curl's rules (retry.c); each
 * result is kept for the exit code; stdout is written in command-line
 * order (output.c), and the -w text of a transfer that wrote nothing there
 * as soon as it ends. What a response does as it arrives is in response.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "transfer.h"

#define RETRY_SLEEP_FIRST_MS 1000u /* curl: one second, then doubling ... */
#define RETRY_SLEEP_MAX_MS 600000u /* ... up to ten minutes */

static void start_more(cli_run *run);
static void send_attempt(transfer *t);
static void finish(transfer *t, int err);

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

/* Can the transfer write to stdout at all (body, -i, -D -)? */
static int writes_stdout(const transfer *t) {
  const char *dump = t->run->cfg->dump_header;
  return cli_t_bound_for_stdout(t) || (dump && strcmp(dump, "-") == 0);
}

/* The part of the transfer now going straight to stdout, if it runs. */
static const cli_out *current_part(const cli_run *run) {
  if (run->next_flush >= run->n) return NULL;
  const transfer *t = &run->t[run->next_flush];
  return t->state == T_RUNNING ? &t->out : NULL;
}

/* Write held parts in order, up to the first transfer still running, whose
 * part then goes straight to stdout. Loose -w text goes out at each part's
 * end. */
static void flush_ordered(cli_run *run) {
  while (run->next_flush < run->n) {
    transfer *t = &run->t[run->next_flush];
    if (!writes_stdout(t)) { /* its body goes to a file: no part to wait for */
      run->next_flush++;
      continue;
    }
    if (t->state == T_WAITING) break;
    int rc = cli_out_go_direct(&run->outq, &t->out);
    if (rc && t->state == T_RUNNING) {
      cli_t_abort(t, rc, "Failure writing output to destination");
      t->stdout_failed = 1;
      if (t->req) fl_request_cancel(t->req);
    } else if (rc && t->code == 0) {
      t->code = rc;
      t->stdout_failed = 1;
      cli_t_report(t, "Failure writing output to destination");
    }
    if (t->state == T_RUNNING) break;
    t->state = T_FLUSHED;
    run->next_flush++;
    cli_out_flush_loose(&run->outq);
  }
}

/* ---------------------------------------------------------- completion */

static void write_out(transfer *t) {
  cli_run *run = t->run;
  fl_request *req = t->req;
  const fl_info *info = req ? fl_request_info(req) : NULL;
  cli_result r = {
      .url = t->spec->url,
      .url_effective = req ? fl_request_effective_url(req) : t->url,
      .method = t->facts.method[0] ? t->facts.method
                : t->upload        ? run->rs->upload_method
                                   : run->rs->method,
      .errormsg = t->errmsg,
      .res = req ? fl_request_response(req) : NULL,
      .exitcode = t->code,
      .num_redirects = info ? info->redirects : 0,
      .size_download = info ? info->bytes_received_raw : t->bytes, /* before decoding, as curl */
      .urlnum = t->spec->urlnum,
      .filename = t->filename,
      .facts = &t->facts,
      .referer = run->cfg->referer_set && run->cfg->referer[0] ? run->cfg->referer : NULL,
      .proxied = run->cfg->proxy != NULL,
  };
  if (info) {
    r.info = *info;
    r.size_upload = cli_size_upload(&t->facts, info->bytes_sent);
    r.size_request = cli_size_request(&t->facts, info->bytes_sent);
  }
  cli_buf out = {0}, errb = {0};
  cli_writeout(run->cfg->writeout, &r, &out, &errb);
  if (out.len) {
    /* after its own output, in command-line order; as soon as possible
     * when its output went to files */
    int rc = writes_stdout(t) ? cli_out_write(&run->outq, &t->out, out.data, out.len)
                              : cli_out_loose(&run->outq, current_part(run), out.data, out.len);
    if (rc && !t->code) {
      t->code = CLI_EXIT_WRITE;
      t->stdout_failed = 1;
      cli_t_report(t, "Failure writing output to destination");
    }
  }
  if (errb.len) cli_stderr_write(errb.data, errb.len);
  cli_buf_free(&out);
  cli_buf_free(&errb);
}

/* The exit code of a finished attempt, with errmsg set to match. */
static int result_code(transfer *t, int err) {
  if (err == FL_ECALLBACK_ABORT && t->ok_stop && !t->abort_code) return 0; /* -C: complete */
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
 * creates it, but a 304 (-z, --etag-compare) does not, as curl. */
static void close_file(transfer *t) {
  if (!t->code && t->filename && (t->file || t->status != 304) && cli_t_open_file(t) == 0 &&
      fflush(t->file) != 0)
    cli_t_abort(t, CLI_EXIT_WRITE, "Failure writing output to destination: %s", t->filename);
  if (t->file && fclose(t->file) != 0 && !t->code)
    cli_t_abort(t, CLI_EXIT_WRITE, "Failure writing output to destination: %s", t->filename);
  t->file = NULL;
  if (!t->code && t->abort_code) t->code = t->abort_code;
  cli_t_file_done(t);
}

/* --fail-early: the first failure ends the run, as curl: nothing more
 * starts, what runs is stopped quietly, and its code is the exit code. */
static void stop_early(cli_run *run, int code) {
  run->fail_early_code = code;
  for (size_t i = run->next_start; i < run->n; i++) { /* never started */
    run->t[i].state = T_DONE;
    run->t[i].bar_ended = 1;
    run->done++;
  }
  run->next_start = run->n;
  for (size_t i = 0; i < run->n; i++) {
    transfer *u = &run->t[i];
    if (u->state != T_RUNNING || !u->req) continue;
    u->quiet = 1;
    cli_t_abort(u, code, "stopped by --fail-early");
    if (fl_request_cancel(u->req) != 0) { /* waiting to retry: end it now */
      fl_timer_stop(u->timer);
      u->retries_left = 0;
      finish(u, 0);
    }
  }
}

/* stdout failed (a closed pipe, a full disk): its reader is gone, so stop
 * every transfer that would write there, quietly; -o transfers go on. */
static void stop_stdout_transfers(cli_run *run) {
  run->stdout_gone = 1;
  for (size_t i = run->next_flush; i < run->n; i++) {
    transfer *t = &run->t[i];
    if (t->state != T_RUNNING || !cli_t_bound_for_stdout(t) || !t->req) continue;
    cli_t_abort(t, CLI_EXIT_WRITE, "Failure writing output to destination");
    t->stdout_failed = 1;
    if (fl_request_cancel(t->req) != 0) { /* waiting to retry: end it now */
      fl_timer_stop(t->timer);
      t->retries_left = 0;
      finish(t, 0);
    }
  }
}

static void retry_cb(fl_timer *timer, void *data) {
  (void)timer;
  send_attempt(data);
}

/* --retry: send the attempt again later if curl would. 1 if it will be. */
static int retry_later(transfer *t, int err) {
  cli_run *run = t->run;
  const cli_retry_opts *o = &run->cfg->retry;
  if (t->retries_left <= 0 || !t->req || t->stdout_failed || t->upfd >= 0) return 0;
  uint64_t elapsed = fl_loop_now(run->loop) - t->first_ms;
  uint64_t max_ms = o->max_time > 0 ? (uint64_t)(o->max_time * 1000.0) : 0;
  if (max_ms && elapsed >= max_ms) return 0;
  cli_retry_kind kind = cli_retry_classify(o, t->code, err, t->status);
  if (kind == CLI_RETRY_NO) return 0;
  uint64_t sleep_ms = t->retry_sleep_ms;
  if (kind == CLI_RETRY_HTTP) {
    int64_t after = cli_retry_after_ms(fl_request_response(t->req));
    if (after > 0) {
      if (max_ms && elapsed + (uint64_t)after > max_ms) {
        cli_warn("The Retry-After: time would make this command line exceed the maximum "
                 "allowed time for retries.");
        return 0;
      }
      sleep_ms = (uint64_t)after;
    }
  }
  if (t->code) cli_t_report(t, t->errmsg ? t->errmsg : "");
  cli_warn("Problem %s. Will retry in %llu seconds. %ld retries left.", cli_retry_problem(kind),
           (unsigned long long)(sleep_ms / 1000), t->retries_left);
  t->retries_left--;
  if (o->delay <= 0) {
    t->retry_sleep_ms *= 2;
    if (t->retry_sleep_ms > RETRY_SLEEP_MAX_MS) t->retry_sleep_ms = RETRY_SLEEP_MAX_MS;
  }
  cli_t_rewind_file(t);
  t->code = t->abort_code = t->ok_stop = t->status = t->discard = 0;
  free(t->errmsg);
  t->errmsg = NULL;
  t->bytes = 0;
  if (!t->timer) t->timer = fl_timer_new(run->loop);
  if (!t->timer || fl_timer_start(t->timer, sleep_ms, 0, retry_cb, t) != 0) send_attempt(t);
  return 1;
}

/* The transfer has its result (err from the library, 0 for a response). */
static void finish(transfer *t, int err) {
  cli_run *run = t->run;
  t->code = result_code(t, err);
  if (retry_later(t, err)) return;
  if (!err && !t->code) cli_t_trailers(t);
  cli_t_fail_with_body(t);
  close_file(t);
  cli_t_bar_end(t, !err && !t->code);
  if (t->code) cli_t_report(t, t->errmsg ? t->errmsg : "");
  if (run->cfg->writeout && !run->stdout_gone && !t->quiet) write_out(t);

  cli_pol_end(t);
  /* Only the exit code and the held output are needed from here on. */
  fl_request_free(t->req);
  fl_timer_free(t->timer);
  cli_body_free(&t->upbody);
  if (t->upfd > STDERR_FILENO) close(t->upfd);
  t->req = NULL;
  t->timer = NULL;
  t->upfd = -1;
  free(t->url);
  free(t->errmsg);
  free(t->filename);
  t->url = t->errmsg = t->filename = NULL;
  t->state = T_DONE;
  run->active--;
  run->done++;
  if (t->code) run->failed++;
  if (t->code && run->cfg->more.fail_early && !run->fail_early_code) stop_early(run, t->code);
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

/* -T - or a pipe: read as the library asks (chunked, length unknown). */
static long stream_cb(fl_request *req, char *buf, size_t cap, void *data) {
  (void)req;
  transfer *t = data;
  for (;;) {
    ssize_t n = read(t->upfd, buf, cap);
    if (n >= 0) return (long)n;
    if (errno != EINTR) return -1;
  }
}

/* -T FILE: a regular file goes with its length (from -C's offset on, with
 * a Content-Range), anything else streamed. 0 or 26. */
static int open_upload(transfer *t) {
  const char *path = t->spec->upload;
  if (strcmp(path, "-") == 0) {
    t->upfd = STDIN_FILENO;
    return 0;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    int e = fd < 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : errno;
    if (fd >= 0) close(fd);
    cli_t_abort(t, CLI_EXIT_READ, "Failed to open/read local data from file/application: %s: %s",
                path, strerror(e));
    return CLI_EXIT_READ;
  }
  if (!S_ISREG(st.st_mode)) {
    t->upfd = fd;
    return 0;
  }
  uint64_t size = (uint64_t)st.st_size, off = t->resume < size ? t->resume : size;
  cli_body_add_file_range(&t->upbody, fd, off, size - off);
  if (off) {
    char range[96];
    snprintf(range, sizeof range, "bytes %llu-%llu/%llu", (unsigned long long)off,
             (unsigned long long)(size - 1), (unsigned long long)size);
    if (fl_request_set_header(t->req, "Content-Range", range)) return CLI_EXIT_NOMEM;
  }
  return 0;
}

static void send_attempt(transfer *t) {
  t->send_us = cli_now_us();
  memset(&t->facts, 0, sizeof t->facts);
  t->cursor.seg = 0;
  t->cursor.off = 0;
  int err = fl_request_send(t->run->client, t->req, on_done, t);
  if (err) finish(t, err);
}

/* Fail a transfer before it was sent. */
/* RFC 9110 token characters: what fl_request_new accepts as a method. */
static int method_is_token(const char *m) {
  if (!*m) return 0;
  for (; *m; m++)
    if (!strchr("!#$%&'*+-.^_`|~", *m) &&
        !((*m >= '0' && *m <= '9') || ((*m | 0x20) >= 'a' && (*m | 0x20) <= 'z')))
      return 0;
  return 1;
}

static void fail_early(transfer *t) {
  t->retries_left = 0;
  finish(t, 0);
}

static void start(cli_run *run, transfer *t) {
  const cli_config *cfg = run->cfg;
  t->state = T_RUNNING;
  t->upfd = -1;
  t->first_ms = fl_loop_now(run->loop);
  run->active++;
  if (run->stdout_gone && cli_t_bound_for_stdout(t)) {
    t->stdout_failed = 1;
    cli_t_abort(t, CLI_EXIT_WRITE, "Failure writing output to destination");
    fail_early(t);
    return;
  }
  char *url = cli_reqspec_url(run->rs, t->spec->url);
  t->upload = t->spec->upload != NULL;
  t->url = t->upload ? cli_upload_url(url, t->spec->upload) : cli_strdup(url);
  free(url);
  if (t->spec->outfile) t->filename = cli_strdup(t->spec->outfile);
  if (t->spec->remote_name && !(t->filename = cli_t_output_name(t, remote_name(t->url)))) {
    cli_t_abort(t, CLI_EXIT_WRITE, "Remote file name has no length");
    fail_early(t);
    return;
  }
  if (t->filename && cfg->create_dirs && cli_mkdirs_for(t->filename) != 0) {
    cli_t_abort(t, CLI_EXIT_WRITE, "Failed to create the directories of %s: %s", t->filename,
                strerror(errno));
    fail_early(t);
    return;
  }
  if (cfg->resume) {
    struct stat st;
    if (!cfg->resume_auto)
      t->resume = cfg->resume_from;
    else if (t->filename && !t->upload && stat(t->filename, &st) == 0)
      t->resume = (uint64_t)st.st_size;
  }
  const char *method = t->upload ? run->rs->upload_method : run->rs->method;
  t->req = fl_request_new(method, t->url);
  if (!t->req) { /* a method that is no token (43), else no memory (27) */
    if (method_is_token(method))
      cli_t_abort(t, 27, "out of memory making the request");
    else
      cli_t_abort(t, CLI_EXIT_BAD_ARG, "cannot make a request with method '%s'", method);
    fail_early(t);
    return;
  }
  int https = !strncmp(t->url, "https:", 6);
  if (https && run->cipher_bad) {
    cli_t_abort(t, run->cipher_bad, "%s", run->cipher_msg);
    fail_early(t);
    return;
  }
  if (https && run->cacert_bad) {
    cli_t_abort(t, CLI_EXIT_CACERT, "error setting certificate verify locations: %s", cfg->cacert);
    fail_early(t);
    return;
  }
  if (https && run->cert_bad) {
    cli_t_abort(t, CLI_EXIT_CERT,
                "unable to use client certificate %s%s%s (PEM files, key matching)",
                cfg->cert ? cfg->cert : "", cfg->key ? " with key " : "", cfg->key ? cfg->key : "");
    fail_early(t);
    return;
  }
  if (t->upload && open_upload(t)) {
    fail_early(t);
    return;
  }
  const cli_body *body = t->upload && t->upfd < 0 ? &t->upbody : NULL;
  int err = cli_reqspec_apply(run->rs, t->req, body, &t->cursor);
  if (!err && t->upfd >= 0) err = fl_request_set_upload(t->req, stream_cb, t);
  if (!err && t->resume && !t->upload) {
    char range[48];
    snprintf(range, sizeof range, "bytes=%llu-", (unsigned long long)t->resume);
    err = fl_request_set_header(t->req, "Range", range);
  }
  if (err) {
    cli_t_abort(t, fl_err_curl_code(err), "cannot set up the request: %s", fl_strerror(err));
    fail_early(t);
    return;
  }
  if (cli_t_netrc(t)) {
    fail_early(t);
    return;
  }
  if (cli_pol_start(t)) { /* after -n: --anyauth takes its credentials */
    fail_early(t);
    return;
  }
  cli_t_hooks(t);
  t->retries_left = cfg->retry.count;
  t->retry_sleep_ms =
      cfg->retry.delay > 0 ? (uint64_t)(cfg->retry.delay * 1000.0) : RETRY_SLEEP_FIRST_MS;
  send_attempt(t);
}

static void rate_cb(fl_timer *timer, void *data) {
  (void)timer;
  start_more(data);
}

/* --rate: 1 if the next transfer may start now; else the timer is set. */
static int rate_allows(cli_run *run) {
  double rate = run->cfg->rate;
  if (rate <= 0 || rate > 1000) return 1; /* curl: over 1000/s runs unrestricted */
  uint64_t now = fl_loop_now(run->loop), interval = (uint64_t)(1000.0 / rate + 0.999);
  if (now >= run->next_start_ms) {
    run->next_start_ms = now + interval;
    return 1;
  }
  if (!run->rate_timer) run->rate_timer = fl_timer_new(run->loop);
  if (run->rate_timer) fl_timer_start(run->rate_timer, run->next_start_ms - now, 0, rate_cb, run);
  return 0;
}

static void start_more(cli_run *run) {
  if (run->starting) return; /* finish() of a transfer that failed at once */
  run->starting = 1;
  while (run->active < (size_t)run->cfg->parallel_max && run->next_start < run->n &&
         rate_allows(run)) {
    transfer *t = &run->t[run->next_start++];
    start(run, t);
  }
  run->starting = 0;
  flush_ordered(run);
}

/* -------------------------------------------------------------- driver */

static void open_dump(cli_run *run) {
  const char *path = run->cfg->dump_header;
  if (!path || strcmp(path, "-") == 0) return;
  if (run->cfg->create_dirs) cli_mkdirs_for(path);
  run->dump = fopen(path, "wb");
  if (!run->dump) {
    cli_msg("warning: cannot write headers to %s: %s", path, strerror(errno));
    run->dump_failed = 1;
  }
}

int cli_run_all(const cli_config *cfg, const cli_reqspec *rs) {
  cli_run run = {.cfg = cfg, .rs = rs, .n = cfg->nurls};
  int life = cli_life_check(cfg);
  if (life >= 0) return life;
  fl_client_options o;
  cli_client_options(cfg, &o, &run.cacert_bad);
  run.cipher_bad = cli_tls_ciphers_check(&o, run.cipher_msg, sizeof run.cipher_msg);

  run.loop = fl_loop_new();
  int err = FL_ENOMEM;
  char why[256] = "out of memory";
  run.client =
      run.loop ? cli_client_new(cfg, run.loop, &o, &run.cert_bad, &err, why, sizeof why) : NULL;
  if (!run.client) {
    /* The library's reason, with curl's code: an unusable proxy is a
     * connect failure (7), another refused value a bad argument (43). */
    int code = strncmp(why, "proxy ", 6) == 0 ? 7
               : err == FL_EINVAL || err == 0 ? CLI_EXIT_BAD_ARG
                                              : fl_err_curl_code(err);
    cli_error(code, "cannot set up the client: %s", why);
    if (run.loop) fl_loop_free(run.loop);
    return code;
  }
  int rc = cli_client_start(cfg, run.client);
  if (rc) {
    fl_client_free(run.client);
    fl_loop_free(run.loop);
    return rc;
  }
  if (cfg->writeout) cli_writeout_check(cfg->writeout);
  open_dump(&run);
  cli_trace_open(&run);

  run.t = cli_xrealloc(NULL, run.n * sizeof *run.t);
  memset(run.t, 0, run.n * sizeof *run.t);
  for (size_t i = 0; i < run.n; i++)
    run.t[i] = (transfer){.run = &run, .index = i, .spec = &cfg->urls[i], .upfd = -1};
  if (run.n > 1 && !cfg->silent && !cfg->more.no_progress_meter && !cli_run_bars(&run))
    run.meter = cli_meter_new(run.loop, run.n);

  start_more(&run);
  while (run.done < run.n) fl_loop_run(run.loop, FL_RUN_ONCE);
  cli_meter_free(run.meter);
  fl_timer_free(run.rate_timer);
  cli_trace_close(&run);

  cli_client_finish(cfg, run.client);
  fl_client_free(run.client);
  fl_loop_free(run.loop);
  if (run.dump && fclose(run.dump) != 0 && !run.dump_failed)
    cli_msg("warning: cannot write headers to %s", cfg->dump_header);

  int code = 0;
  for (size_t i = 0; i < run.n; i++) {
    transfer *t = &run.t[i];
    if (!code) code = t->code;
    cli_out_drop(&run.outq, &t->out);
  }
  if (run.fail_early_code) code = run.fail_early_code;
  cli_out_flush_loose(&run.outq);
  cli_buf_free(&run.outq.loose);
  free(run.t);
  return code;
}
