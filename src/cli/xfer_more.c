/* Issue 23's groups 5-9 on each transfer (opts_more.c parses them): the
 * request's settings in the library (speed cap, time condition, redirect
 * policy, --anyauth), --proto on the URL, the ETag files, and the
 * -Y/-y speed check, a 1 s timer per transfer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "transfer.h"

struct cli_xpol {
  fl_timer *timer;        /* -Y/-y */
  uint64_t last_bytes;    /* at the previous tick */
  uint64_t last_ms;       /* loop time of the previous tick */
  uint64_t slow_since_ms; /* the speed has been below -Y since; 0 = it is not */
  uint64_t window[5][2];  /* (ms, bytes) of the last ticks: the speed is their average */
  size_t nwindow;
};

static unsigned scheme_bit(const char *url) {
  if (strncmp(url, "https:", 6) == 0) return CLI_PROTO_HTTPS;
  if (strncmp(url, "http:", 5) == 0) return CLI_PROTO_HTTP;
  return CLI_PROTO_OTHER;
}

/* -z: parsed once; a date that is neither a date nor a file is dropped
 * with curl's warning. */
static int time_cond(const cli_pol *m, int *cond, int64_t *when) {
  static int parsed, pcond;
  static int64_t pwhen;
  if (!parsed) {
    parsed = 1;
    if (cli_time_cond(m->time_cond, &pcond, &pwhen) != 0) {
      cli_warn("Illegal date format for -z, --time-cond (and not a file name).");
      cli_warn("Disabling time condition. See curl_getdate(3) for valid date syntax.");
    }
  }
  *cond = pcond;
  *when = pwhen;
  return pcond != FL_TIMECOND_NONE;
}

/* --etag-compare FILE: If-None-Match with its content (lines joined), or
 * "" when it is empty or missing (missing is an error without
 * --etag-save, as curl). */
static int etag_compare(transfer *t, const cli_pol *m) {
  cli_buf b = {0};
  if (cli_read_file(m->etag_compare, &b) != 0) {
    cli_buf_free(&b);
    if (!m->etag_save) {
      cli_t_abort(t, CLI_EXIT_READ, "Failed to open %s", m->etag_compare);
      return CLI_EXIT_READ;
    }
  }
  cli_buf v = {0};
  for (size_t i = 0; i < b.len; i++)
    if (b.data[i] != '\r' && b.data[i] != '\n') cli_buf_addc(&v, b.data[i]);
  int err = fl_request_set_header(t->req, "If-None-Match", v.len ? v.data : "\"\"");
  cli_buf_free(&b);
  cli_buf_free(&v);
  if (err) {
    cli_t_abort(t, fl_err_curl_code(err), "--etag-compare %s: %s", m->etag_compare,
                fl_strerror(err));
    return fl_err_curl_code(err);
  }
  return 0;
}

static uint64_t moved_bytes(const transfer *t) {
  uint64_t sent = t->req ? fl_request_info(t->req)->bytes_sent : 0;
  return t->bytes > sent ? t->bytes : sent; /* curl: the faster direction */
}

/* Each second: the average speed over the last five seconds (as curl's
 * current speed); below -Y for -y seconds ends the transfer with 28. */
static void speed_tick(fl_timer *timer, void *data) {
  (void)timer;
  transfer *t = data;
  struct cli_xpol *x = t->xpol;
  const cli_pol *m = &t->run->cfg->pol;
  if (t->state != T_RUNNING || !t->req) return;
  uint64_t now = fl_loop_now(t->run->loop), bytes = moved_bytes(t);
  if (bytes < x->last_bytes) x->nwindow = 0; /* a retry started over */
  if (x->nwindow == 5)
    memmove(x->window, x->window + 1, 4 * sizeof x->window[0]);
  else
    x->nwindow++;
  x->window[x->nwindow - 1][0] = now;
  x->window[x->nwindow - 1][1] = bytes;
  uint64_t t0 = x->nwindow > 1 ? x->window[0][0] : x->last_ms;
  uint64_t b0 = x->nwindow > 1 ? x->window[0][1] : x->last_bytes;
  double secs = (double)(now - t0) / 1000.0;
  double speed = secs > 0 ? (double)(bytes - b0) / secs : 0;
  if (speed >= (double)m->speed_limit) {
    x->slow_since_ms = 0;
  } else {
    if (!x->slow_since_ms) x->slow_since_ms = x->last_ms ? x->last_ms : now;
    if (now + 50 - x->slow_since_ms >= (uint64_t)m->speed_time * 1000) { /* timer slack */
      cli_t_abort(t, 28,
                  "Operation too slow. Less than %ld bytes/sec transferred the last %ld seconds",
                  m->speed_limit, m->speed_time);
      fl_request_cancel(t->req);
    }
  }
  x->last_ms = now;
  x->last_bytes = bytes;
}

int cli_pol_start(transfer *t) {
  const cli_config *cfg = t->run->cfg;
  const cli_pol *m = &cfg->pol;
  unsigned proto = m->proto_set ? m->proto : CLI_PROTO_HTTP | CLI_PROTO_HTTPS | CLI_PROTO_OTHER;
  unsigned bit = scheme_bit(t->url);
  if (!(proto & bit) && bit != CLI_PROTO_OTHER) {
    size_t n = strcspn(t->url, ":");
    cli_t_abort(t, CLI_EXIT_UNSUPPORTED, "Protocol \"%.*s\" not supported or disabled", (int)n,
                t->url);
    return CLI_EXIT_UNSUPPORTED;
  }
  /* curl's default for redirects: http, https (and ftp, ftps) */
  unsigned redir = proto & (m->proto_redir_set ? m->proto_redir : ~0u);
  unsigned lib =
      (redir & CLI_PROTO_HTTP ? FL_PROTO_HTTP : 0) | (redir & CLI_PROTO_HTTPS ? FL_PROTO_HTTPS : 0);
  fl_request *req = t->req;
  fl_request_set_redirect_protocols(req, lib ? lib : FL_PROTO_NONE);
  fl_request_set_post_redirects(req, m->post_redirs);
  fl_request_set_trusted_redirects(req, m->location_trusted);
  fl_request_set_max_recv_speed(req, m->limit_rate);
  fl_request_set_max_send_speed(req, m->limit_rate); /* both ways, as curl */
  int cond;
  int64_t when;
  if (m->time_cond && time_cond(m, &cond, &when) &&
      fl_request_set_time_condition(req, (fl_timecond)cond, when) != 0) {
    cli_t_abort(t, CLI_EXIT_BAD_ARG, "-z %s: a time the library cannot send", m->time_cond);
    return CLI_EXIT_BAD_ARG;
  }
  if (m->basic && cfg->digest) { /* --anyauth, or --basic with --digest */
    const cli_reqspec *rs = t->run->rs;
    int err = fl_request_set_any_auth(req, rs->digest_user, rs->digest_pass);
    if (err) {
      cli_t_abort(t, fl_err_curl_code(err), "--anyauth: %s", fl_strerror(err));
      return fl_err_curl_code(err);
    }
  }
  if (m->etag_compare && etag_compare(t, m)) return t->abort_code;
  if (m->etag_save && strcmp(m->etag_save, "-") != 0) {
    /* created (emptied) before the transfer, as curl */
    FILE *f = fopen(m->etag_save, "wb");
    if (!f) {
      cli_t_abort(t, CLI_EXIT_WRITE, "Failed creating file for saving etags: \"%s\"", m->etag_save);
      return CLI_EXIT_WRITE;
    }
    fclose(f);
  }
  if (m->speed_limit > 0 || m->speed_time > 0) {
    t->xpol = cli_xrealloc(NULL, sizeof *t->xpol);
    memset(t->xpol, 0, sizeof *t->xpol);
    t->xpol->last_ms = fl_loop_now(t->run->loop);
    t->xpol->timer = fl_timer_new(t->run->loop);
    if (t->xpol->timer) fl_timer_start(t->xpol->timer, 1000, 1000, speed_tick, t);
  }
  return 0;
}

void cli_pol_end(transfer *t) {
  const cli_pol *m = &t->run->cfg->pol;
  if (t->xpol) {
    fl_timer_free(t->xpol->timer);
    free(t->xpol);
    t->xpol = NULL;
  }
  const fl_response *res = t->req ? fl_request_response(t->req) : NULL;
  const char *etag = res && t->status ? fl_response_header(res, "ETag") : NULL;
  if (!m->etag_save || !etag || !*etag) return;
  if (strcmp(m->etag_save, "-") == 0) {
    cli_buf b = {0};
    cli_buf_printf(&b, "%s\n", etag);
    cli_out_write(&t->run->outq, &t->out, b.data, b.len);
    cli_buf_free(&b);
    return;
  }
  FILE *f = fopen(m->etag_save, "ab");
  int bad = !f || fprintf(f, "%s\n", etag) < 0;
  if ((f && fclose(f) != 0) || bad)
    cli_warn("cannot write the ETag to %s: %s", m->etag_save, strerror(errno));
}
