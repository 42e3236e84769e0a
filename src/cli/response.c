/* What a response does while it arrives: its head goes to -i output, the
 * -D file and -v; its body to the -o file or this transfer's part of
 * stdout; -f and -C decide from the status whether to read on; the trace
 * hook gives every hop's heads, from which -w's facts are counted. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "transfer.h"

uint64_t cli_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void cli_t_abort(transfer *t, int code, const char *fmt, ...) {
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

void cli_t_report(transfer *t, const char *msg) {
  cli_run *run = t->run;
  if (t->quiet) return;
  if (t->stdout_failed) {
    if (run->stdout_reported) return;
    run->stdout_reported = 1;
  }
  if (run->n > 1)
    cli_error(t->code, "%s: %s", t->spec->url, msg);
  else
    cli_error(t->code, "%s", msg);
}

void cli_t_file_done(transfer *t) {
  const cli_more *m = &t->run->cfg->more;
  if (!t->file_opened || !t->filename) return;
  if (t->code && m->remove_on_error) { /* no partial file left behind, as curl */
    if (unlink(t->filename) != 0 && errno != ENOENT)
      cli_msg("warning: cannot remove %s: %s", t->filename, strerror(errno));
    return;
  }
  const fl_response *res = t->req ? fl_request_response(t->req) : NULL;
  const char *lm = res && m->remote_time ? fl_response_header(res, "Last-Modified") : NULL;
  time_t when;
  if (t->code || !lm || cli_parse_http_date(lm, &when) != 0) return;
  struct timespec ts[2] = {{.tv_sec = when}, {.tv_sec = when}}; /* atime too, as curl */
  if (utimensat(AT_FDCWD, t->filename, ts, 0) != 0)
    cli_msg("warning: cannot set the time of %s: %s", t->filename, strerror(errno));
}

int cli_t_bound_for_stdout(const transfer *t) { return !t->spec->outfile && !t->spec->remote_name; }

/* ------------------------------------------------------------ output */

/* --no-clobber: the name, else NAME.1 ... NAME.100, whichever does not
 * exist yet (created exclusively, so a file made meanwhile is not taken);
 * t->filename becomes the one used (-w's filename_effective, as curl). */
static FILE *open_unclobbered(transfer *t) {
  int fd = open(t->filename, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  for (int i = 1; fd < 0 && errno == EEXIST && i <= 100; i++) {
    cli_buf alt = {0};
    cli_buf_printf(&alt, "%s.%d", t->filename, i);
    fd = open(alt.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      free(t->filename);
      t->filename = cli_strdup(alt.data);
    }
    cli_buf_free(&alt);
  }
  FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
  if (!f && fd >= 0) close(fd);
  return f;
}

int cli_t_open_file(transfer *t) {
  if (t->file) return 0;
  /* -C: what is there stays and the rest is appended, as curl */
  if (t->resume)
    t->file = fopen(t->filename, "ab");
  else
    t->file = t->run->cfg->more.no_clobber ? open_unclobbered(t) : fopen(t->filename, "wb");
  if (t->file) t->file_opened = 1;
  if (!t->file) {
    cli_t_abort(t, CLI_EXIT_WRITE, "Failure writing output to destination: %s: %s", t->filename,
                strerror(errno));
    return CLI_EXIT_WRITE;
  }
  struct stat st;
  t->file_init = t->resume && fstat(fileno(t->file), &st) == 0 ? (uint64_t)st.st_size : 0;
  t->written = 0;
  return 0;
}

void cli_t_rewind_file(transfer *t) {
  if (!t->file || !t->written) return;
  struct stat st;
  if (fflush(t->file) != 0 || fstat(fileno(t->file), &st) != 0 || !S_ISREG(st.st_mode)) return;
  cli_note("throwing away %llu bytes", (unsigned long long)t->written);
  if (ftruncate(fileno(t->file), (off_t)t->file_init) != 0 ||
      fseeko(t->file, (off_t)t->file_init, SEEK_SET) != 0)
    cli_msg("warning: %s: cannot truncate: %s", t->filename, strerror(errno));
  t->written = 0;
}

/* Body bytes (and -i heads) to the -o file or to stdout. */
static int sink(transfer *t, const void *p, size_t n) {
  if (t->filename) {
    if (cli_t_open_file(t)) return CLI_EXIT_WRITE;
    if (n && fwrite(p, 1, n, t->file) != n) {
      cli_t_abort(t, CLI_EXIT_WRITE, "Failure writing output to destination: %s", t->filename);
      return CLI_EXIT_WRITE;
    }
    t->written += n;
    return 0;
  }
  if (cli_out_write(&t->run->outq, &t->out, p, n)) {
    cli_t_abort(t, CLI_EXIT_WRITE, "Failure writing output to destination");
    t->stdout_failed = 1;
    return CLI_EXIT_WRITE;
  }
  return 0;
}

/* -D: "-" is this transfer's part of stdout; a file is shared by all. */
static void dump_head(transfer *t, const char *p, size_t n) {
  cli_run *run = t->run;
  if (strcmp(run->cfg->dump_header, "-") == 0) {
    if (cli_out_write(&run->outq, &t->out, p, n)) {
      cli_t_abort(t, CLI_EXIT_WRITE, "Failure writing output to destination");
      t->stdout_failed = 1;
    }
  } else if (!run->dump || fwrite(p, 1, n, run->dump) != n || fflush(run->dump) != 0) {
    if (!run->dump_failed) cli_msg("warning: cannot write headers to %s", run->cfg->dump_header);
    run->dump_failed = 1;
  }
}

/* -i (or -I) and -D together: line by line, each line to the output, then
 * to the -D stream, as curl 7.88 writes them (its write and header
 * callbacks take each header line in turn): with -D - both are stdout, so
 * every line shows twice in a row, not the head twice over. */
static void both_heads(transfer *t, const char *p, size_t n) {
  for (const char *end = p + n; p < end;) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t m = nl ? (size_t)(nl - p + 1) : (size_t)(end - p);
    if (!t->abort_code) sink(t, p, m);
    dump_head(t, p, m);
    p += m;
  }
}

/* --------------------------------------------------------- callbacks */

static void verbose_head(fl_request *req, fl_trace_kind kind, const char *data, size_t len) {
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

/* An HTTP/2 response head as curl 7.88 writes it for -i, -I and -D: the
 * status line "HTTP/2 200 " (no reason phrase, the space kept) and the
 * fields as they came, names lower-case, each line ending in CRLF. The
 * trace text of an h2 head may spell its status line otherwise ("HTTP/2
 * 200", "HTTP/2.0 200 OK", or an HTTP/1.x line): this makes it curl's, byte
 * for byte. h2: the response is HTTP/2 (fl_response_version), else only a
 * head whose text starts "HTTP/2" is. Returns 0 (out untouched) when the
 * head is not HTTP/2. */
static int h2_head(const char *data, size_t len, int h2, cli_buf *out) {
  if (len < 10 || memcmp(data, h2 ? "HTTP/" : "HTTP/2", h2 ? 5 : 6) != 0) return 0;
  const char *end = data + len;
  const char *nl = memchr(data, '\n', len);
  const char *sp = memchr(data, ' ', nl ? (size_t)(nl - data) : len);
  if (!nl || !sp || end - sp < 4) return 0;
  cli_buf_adds(out, "HTTP/2 ");
  cli_buf_add(out, sp + 1, 3);
  cli_buf_adds(out, " \r\n");
  for (const char *p = nl + 1; p < end;) {
    const char *e = memchr(p, '\n', (size_t)(end - p));
    size_t n = e ? (size_t)(e - p) : (size_t)(end - p);
    if (n && p[n - 1] == '\r') n--;
    if (n) {
      const char *colon = memchr(p, ':', n);
      size_t name = colon ? (size_t)(colon - p) : n;
      for (size_t i = 0; i < name; i++)
        cli_buf_addc(out, p[i] >= 'A' && p[i] <= 'Z' ? (char)(p[i] + 32) : p[i]);
      cli_buf_add(out, p + name, n - name);
    }
    cli_buf_adds(out, "\r\n");
    if (!n) return 1; /* the blank line ends the head */
    p = e ? e + 1 : end;
  }
  cli_buf_adds(out, "\r\n");
  return 1;
}

/* The request line of a head from the trace hook ends in " HTTP/2" when
 * the hop goes as an HTTP/2 stream. */
static int is_h2_head(const char *data, size_t len) {
  const char *eol = memchr(data, '\r', len);
  size_t n = eol ? (size_t)(eol - data) : len;
  return n >= 7 && memcmp(data + n - 7, " HTTP/2", 7) == 0;
}

uint64_t cli_size_request(const cli_facts *f, uint64_t bytes_sent) {
  uint64_t hop = bytes_sent > f->hop_sent ? bytes_sent - f->hop_sent : 0;
  return f->request_bytes + (f->hop_h2 ? f->hop_head : hop);
}

uint64_t cli_size_upload(const cli_facts *f, uint64_t bytes_sent) {
  uint64_t hop = bytes_sent > f->hop_sent ? bytes_sent - f->hop_sent : 0;
  if (f->hop_h2) return hop;
  return hop > f->hop_head ? hop - f->hop_head : 0; /* its body, with any chunk framing */
}

/* Every hop's request head as written and final response head as parsed
 * (the library's trace hook): -v, -i and -I (every hop, as curl with -L),
 * -D, and the counts behind -w. A write error here stops the transfer at
 * its next headers or body callback. */
static void on_trace(fl_request *req, fl_trace_kind kind, const char *data, size_t len, void *ud) {
  transfer *t = ud;
  const cli_config *cfg = t->run->cfg;
  cli_facts *f = &t->facts;
  uint64_t now = cli_now_us() - t->send_us;
  if (cfg->verbose) verbose_head(req, kind, data, len);
  cli_trace(t, kind == FL_TRACE_REQUEST_HEAD ? "=> Send header" : "<= Recv header", data, len);
  if (kind == FL_TRACE_REQUEST_HEAD) {
    if (f->nresponses) f->redirect_us = f->last_head_us; /* a hop after a response */
    f->pretransfer_us = now;
    uint64_t sent = fl_request_info(req)->bytes_sent;              /* the head is not written yet */
    if (f->hop_head) f->request_bytes = cli_size_request(f, sent); /* the hop before ends */
    f->hop_sent = sent;
    f->hop_head = len;
    f->hop_h2 = is_h2_head(data, len);
    if (!fl_request_info(req)->reused) f->num_connects++;
    const char *sp = memchr(data, ' ', len); /* borrowed bytes: not NUL-terminated */
    size_t m = sp ? (size_t)(sp - data) : len;
    if (m >= sizeof f->method) m = sizeof f->method - 1;
    memcpy(f->method, data, m);
    f->method[m] = '\0';
    return;
  }
  cli_buf h2 = {0};
  const fl_response *res = fl_request_response(req);
  if (h2_head(data, len, res && fl_response_version(res) == 20, &h2)) {
    data = h2.data;
    len = h2.len;
  }
  f->header_bytes += len;
  f->nresponses++;
  f->last_head_us = now;
  int include = cfg->include || cfg->head;
  if (include && cfg->dump_header) {
    both_heads(t, data, len);
  } else if (include) {
    if (!t->abort_code) sink(t, data, len);
  } else if (cfg->dump_header) {
    dump_head(t, data, len);
  }
  cli_buf_free(&h2);
}

/* "bytes 100-199/1000": 100; -1 without a start ("bytes * / 1000"). */
static int64_t range_start(const char *v) {
  if (!v) return -1;
  while (*v && !(*v >= '0' && *v <= '9') && *v != '*') v++;
  if (!(*v >= '0' && *v <= '9')) return -1;
  return (int64_t)strtoull(v, NULL, 10);
}

/* -C: did the server answer the range asked for? As curl: a 416 means
 * there is nothing more (its body is not written), a response the size of
 * what we have means the file was complete, anything else without the
 * right Content-Range cannot be resumed (33). 0 to read on, -1 to stop. */
static int check_resume(transfer *t, const fl_response *res, int status) {
  if (status == 416) {
    t->discard = 1;
    return 0;
  }
  if (range_start(fl_response_header(res, "Content-Range")) == (int64_t)t->resume) return 0;
  const char *cl = fl_response_header(res, "Content-Length");
  if (cl && strtoull(cl, NULL, 10) == t->resume) {
    t->ok_stop = 1; /* "the entire document is already downloaded" */
    return -1;
  }
  cli_t_abort(t, CLI_EXIT_RANGE, "HTTP server doesn't seem to support byte ranges. Cannot resume.");
  return -1;
}

static int on_headers(fl_request *req, void *data) {
  transfer *t = data;
  const cli_config *cfg = t->run->cfg;
  const fl_response *res = fl_request_response(req);
  t->status = fl_response_status(res);
  if (t->abort_code) return -1; /* -i or -D could not write the head */
  /* As curl: with -i the headers were written even when -f fails here. */
  if (cfg->fail && t->status >= 400) {
    cli_t_abort(t, CLI_EXIT_HTTP, "The requested URL returned error: %d", t->status);
    return -1;
  }
  cli_t_bar_head(t);
  if (t->resume && !t->upload && !t->run->rs->has_body) return check_resume(t, res, t->status);
  return cli_t_header_name(t, res) ? -1 : 0;
}

static int on_body(fl_request *req, const char *chunk, size_t len, void *data) {
  (void)req;
  transfer *t = data;
  t->bytes += len; /* decoded bytes; the library enforces --max-filesize */
  t->run->bytes += len;
  cli_t_bar_body(t);
  if (t->abort_code) return -1;
  cli_trace(t, "<= Recv data", chunk, len);
  if (t->discard) return 0;
  return sink(t, chunk, len) ? -1 : 0;
}

/* A chunked response's trailer fields, as curl writes them: after the body
 * with -i, after the header block in the -D file. */
void cli_t_trailers(transfer *t) {
  const cli_config *cfg = t->run->cfg;
  const fl_response *res = t->req ? fl_request_response(t->req) : NULL;
  size_t n = res ? fl_response_trailer_count(res) : 0;
  /* --raw: they were in the body already, as curl's */
  if (!n || t->abort_code || (!cfg->include && !cfg->dump_header) || cfg->head || cfg->more.raw)
    return;
  cli_buf b = {0};
  for (size_t i = 0; i < n; i++) {
    const char *name, *value;
    if (fl_response_trailer_at(res, i, &name, &value) == 0)
      cli_buf_printf(&b, "%s: %s\r\n", name, value);
  }
  if (cfg->include && cfg->dump_header)
    both_heads(t, b.data, b.len);
  else if (cfg->include)
    sink(t, b.data, b.len);
  else
    dump_head(t, b.data, b.len);
  cli_buf_free(&b);
}

void cli_t_hooks(transfer *t) {
  const cli_config *cfg = t->run->cfg;
  fl_request_on_headers(t->req, on_headers, t);
  fl_request_on_body(t->req, on_body, t);
  if (cfg->verbose || cfg->include || cfg->head || cfg->dump_header || cfg->writeout ||
      cfg->more.trace)
    fl_request_on_trace(t->req, on_trace, t);
}
