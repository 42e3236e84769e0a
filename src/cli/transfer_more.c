/* What round two's options do to one transfer: --output-dir and -J name
 * its file, -n gives it credentials, --fail-with-body its exit code,
 * --trace/--trace-ascii record its bytes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include "transfer.h"

char *cli_t_output_name(const transfer *t, char *name) {
  const char *dir = t->run->cfg->more.output_dir;
  if (!name || !dir) return name;
  cli_buf b = {0};
  cli_buf_printf(&b, "%s/%s", dir, name);
  free(name);
  return b.data;
}

/* -J: Content-Disposition's filename (quoted or not; filename* is not
 * read, as curl 7.88), reduced to its last component so that nothing is
 * written outside the directory: "../../x" and "a\\b" become "x" and "b". */
static char *disposition_name(const char *v) {
  const char *p = v;
  while ((p = strstr(p, "filename")) != NULL) {
    const char *q = p + 8;
    int at_start = p == v || p[-1] == ';' || p[-1] == ' ' || p[-1] == '\t';
    p = q;
    while (*q == ' ' || *q == '\t') q++;
    if (!at_start || *q != '=') continue;
    q++;
    while (*q == ' ' || *q == '\t') q++;
    cli_buf b = {0};
    if (*q == '"') {
      for (q++; *q && *q != '"'; q++) {
        if (*q == '\\' && q[1]) q++;
        cli_buf_addc(&b, *q);
      }
    } else {
      for (; *q && *q != ';' && *q != ' ' && *q != '\t' && *q != '\r'; q++) cli_buf_addc(&b, *q);
    }
    char *name = b.data ? b.data : cli_strdup("");
    const char *base = name;
    for (const char *s = name; *s; s++)
      if (*s == '/' || *s == '\\') base = s + 1;
    char *r = cli_strdup(base);
    free(name);
    return r;
  }
  return NULL;
}

int cli_t_header_name(transfer *t, const fl_response *res) {
  const cli_config *cfg = t->run->cfg;
  if (!cfg->more.remote_header_name || !t->spec->remote_name || t->file) return 0;
  const char *cd = fl_response_header(res, "Content-Disposition");
  char *name = cd ? disposition_name(cd) : NULL;
  if (!name) return 0; /* the URL's name stays */
  if (!name[0] || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
    free(name);
    cli_t_abort(t, CLI_EXIT_WRITE, "Failed writing header");
    return CLI_EXIT_WRITE;
  }
  name = cli_t_output_name(t, name);
  struct stat st;
  if (stat(name, &st) == 0) { /* curl does not overwrite a file named by the server */
    cli_t_abort(t, CLI_EXIT_WRITE, "Failed writing header: refusing to overwrite %s", name);
    free(name);
    return CLI_EXIT_WRITE;
  }
  free(t->filename);
  t->filename = name;
  return 0;
}

/* The host of a URL (lower-case not needed: compared without case). */
static char *url_host(const char *url, char **user, char **pass) {
  const char *p = strstr(url, "://");
  p = p ? p + 3 : url;
  size_t alen = strcspn(p, "/?#");
  const char *at = NULL;
  for (const char *s = p; s < p + alen; s++)
    if (*s == '@') at = s;
  *user = *pass = NULL;
  if (at) {
    const char *colon = memchr(p, ':', (size_t)(at - p));
    *user = cli_strndup(p, (size_t)((colon ? colon : at) - p));
    if (colon) *pass = cli_strndup(colon + 1, (size_t)(at - colon - 1));
    alen -= (size_t)(at + 1 - p);
    p = at + 1;
  }
  size_t hlen = alen;
  if (*p == '[') {
    const char *close = memchr(p, ']', alen);
    hlen = close ? (size_t)(close - p + 1) : alen;
  } else {
    const char *colon = memchr(p, ':', alen);
    if (colon) hlen = (size_t)(colon - p);
  }
  return cli_strndup(p, hlen);
}

int cli_t_netrc(transfer *t) {
  const cli_config *cfg = t->run->cfg;
  const cli_more *m = &cfg->more;
  if (m->path_as_is) fl_request_set_path_as_is(t->req, 1);
  if (m->ignore_content_length) fl_request_ignore_content_length(t->req, 1);
  if (m->raw) fl_request_set_raw(t->req, 1); /* no decoding; chunks as they came */
  if (m->request_target && fl_request_set_request_target(t->req, m->request_target) != 0) {
    cli_t_abort(t, CLI_EXIT_BAD_ARG, "--request-target: not a request target: '%s'",
                m->request_target);
    return CLI_EXIT_BAD_ARG;
  }
  if (!m->netrc || cfg->user) return 0; /* -u wins, as curl */
  char *user, *pass, *host = url_host(t->url, &user, &pass);
  int rc = 0;
  /* --netrc-optional: a URL's credentials win; -n: the file's password */
  if (!(m->netrc == 2 && user)) {
    char *path = m->netrc_file ? cli_strdup(m->netrc_file) : cli_netrc_default();
    char msg[512] = "";
    int err = 0;
    char *cred = path ? cli_netrc_lookup(path, host, user, &err, msg, sizeof msg) : NULL;
    if (err) {
      cli_t_abort(t, err, "%s", msg);
      rc = err;
    } else if (cred) {
      char *b64 = cli_base64(cred, strlen(cred));
      cli_buf v = {0};
      cli_buf_printf(&v, "Basic %s", b64);
      if (fl_request_set_header(t->req, "Authorization", v.data) != 0) rc = CLI_EXIT_NOMEM;
      cli_buf_free(&v);
      free(b64);
    }
    free(cred);
    free(path);
  }
  free(host);
  free(user);
  free(pass);
  return rc;
}

void cli_t_fail_with_body(transfer *t) {
  if (t->run->cfg->more.fail_with_body && !t->code && t->status >= 400) {
    t->code = CLI_EXIT_HTTP;
    free(t->errmsg);
    cli_buf b = {0};
    cli_buf_printf(&b, "The requested URL returned error: %d", t->status);
    t->errmsg = b.data;
  }
}

/* ------------------------------------------------------------- trace */

void cli_trace_open(cli_run *run) {
  const cli_more *m = &run->cfg->more;
  if (!m->trace) return;
  if (strcmp(m->trace, "-") == 0) {
    run->trace = stdout;
    return;
  }
  run->trace = fopen(m->trace, "w");
  if (!run->trace) cli_warn("Failed to create/open output %s: %s", m->trace, strerror(errno));
}

void cli_trace_close(cli_run *run) {
  if (run->trace && run->trace != stdout) fclose(run->trace);
  if (run->trace) fflush(stdout);
  run->trace = NULL;
}

/* curl's layout: "=> Send header, N bytes (0xN)" then 16 bytes a line in
 * hex with their text, or (--trace-ascii) the text a line at a time. */
void cli_trace(transfer *t, const char *what, const char *data, size_t len) {
  cli_run *run = t->run;
  FILE *f = run->trace;
  if (!f) return;
  const cli_more *m = &run->cfg->more;
  if (m->trace_time) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    fprintf(f, "%02d:%02d:%02d.%06ld ", tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec);
  }
  fprintf(f, "%s, %zu bytes (0x%zx)\n", what, len, len);
  if (m->trace_ascii) {
    for (size_t i = 0; i < len;) {
      fprintf(f, "%04zx: ", i);
      size_t j = i;
      while (j < len && data[j] != '\n') {
        unsigned char c = (unsigned char)data[j];
        if (c != '\r') fputc(c >= 0x20 && c < 0x7f ? c : '.', f);
        j++;
      }
      fputc('\n', f);
      i = j + 1;
    }
  } else {
    for (size_t i = 0; i < len; i += 16) {
      fprintf(f, "%04zx: ", i);
      for (size_t k = 0; k < 16; k++)
        if (i + k < len)
          fprintf(f, "%02x ", (unsigned char)data[i + k]);
        else
          fputs("   ", f);
      for (size_t k = 0; k < 16 && i + k < len; k++) {
        unsigned char c = (unsigned char)data[i + k];
        fputc(c >= 0x20 && c < 0x7f ? c : '.', f);
      }
      fputc('\n', f);
    }
  }
  fflush(f);
}

/* -#: curl draws its bar for each transfer of a serial run, one line after
 * the other. flurry's transfers run at once, so the bars take turns in
 * command-line order: the first unfinished transfer's bar is drawn, the
 * others' updates are kept until their turn (one that ended meanwhile gets
 * its last frame then, at once). With -Z curl draws its parallel meter
 * instead, and flurry its one-line meter. -s and --no-progress-meter hide
 * it, as curl.
 * The size is the response's Content-Length; the count is of body bytes as
 * delivered (decoded with --compressed, where curl counts them before). */
static uint64_t bar_total(const transfer *t) {
  const fl_response *res = fl_request_response(t->req);
  const char *cl = res ? fl_response_header(res, "Content-Length") : NULL;
  if (!cl) return 0;
  char *end;
  unsigned long long v = strtoull(cl, &end, 10);
  return end != cl && !*end ? (uint64_t)v : 0;
}

static int bar_on(const cli_run *run) {
  const cli_config *cfg = run->cfg;
  return cfg->more.progress_bar && !cfg->silent && !cfg->more.no_progress_meter &&
         (run->n == 1 || !cfg->parallel);
}

int cli_run_bars(const cli_run *run) { return run->n > 1 && bar_on(run); }

void cli_t_bar_head(transfer *t) {
  if (!bar_on(t->run)) return;
  if (!t->bar) t->bar = cli_bar_new(t->run->loop, t->index != t->run->bar_turn);
  /* the size is not known yet (as libcurl's calls before the head): this
   * call only starts the clock, it draws nothing */
  cli_bar_update(t->bar, t->bytes, 0);
}

void cli_t_bar_body(transfer *t) {
  if (t->bar) cli_bar_update(t->bar, t->bytes, bar_total(t));
}

void cli_t_bar_end(transfer *t, int ok) {
  cli_run *run = t->run;
  if (!bar_on(run)) return;
  if (t->bar) {
    uint64_t total = bar_total(t);
    const fl_response *res = t->req ? fl_request_response(t->req) : NULL;
    /* A body ended by the connection's close has its size at the end: libcurl
     * makes that its last call's total (100%); a chunked one stays unknown. */
    if (ok && !total && res && !fl_response_header(res, "Transfer-Encoding")) total = t->bytes;
    cli_bar_update(t->bar, t->bytes, total);
  }
  t->bar_ended = 1;
  /* Its turn (or a later one's, kept): the finished bars in order, then the
   * next unfinished one's, drawn from where it is. */
  while (run->bar_turn < run->n) {
    transfer *u = &run->t[run->bar_turn];
    cli_bar_show(u->bar);
    if (!u->bar_ended) return;
    cli_bar_free(u->bar);
    u->bar = NULL;
    run->bar_turn++;
  }
}
