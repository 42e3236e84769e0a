/* flurry --ws URL: a WebSocket session on the command line, like websocat.
 * Each line of standard input goes out as one text message (without its
 * "\n", and a "\r" before it); each message received is written to
 * standard output followed by a newline. At the end of standard input the
 * client lingers until the replies stop (LINGER_QUIET_MS without a message,
 * LINGER_MAX_MS at most), then closes with 1000, prints what still comes
 * and waits for the server's close (the library's close timeout bounds
 * that); the server may also close first. The linger is there because a
 * server may drop the messages it would have sent after our close frame
 * (RFC 6455 lets it; python3-websockets does): closing at once lost the
 * replies to the last lines of a pipe. Exit 0 when the closing handshake
 * completed (whatever its code), else curl's code for the failure (see
 * doc/flurry.1).
 *
 * Standard input is read by a thread of its own (the public API has no
 * descriptor watcher): it reads blocks and posts them to the loop
 * (fl_loop_post), and waits while more than IN_MAX bytes are posted and not
 * yet sent, so a fast file in front of a slow server uses bounded memory.
 * At the session's end a byte on a pipe wakes it from its poll (no
 * pthread_cancel: nothing is left half-done). Everything else runs on the
 * loop's thread. */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define IN_BLOCK 65536
#define IN_MAX (1u << 20)
#define LINGER_QUIET_MS 1000 /* no message for this long: the replies are over */
#define LINGER_MAX_MS 10000  /* a server that never stops sending */

typedef struct chunk {
  struct session *s;
  size_t n; /* 0: the end of standard input (or a read error, err) */
  int err;
  char data[];
} chunk;

typedef struct session {
  const cli_config *cfg;
  fl_loop *loop;
  fl_client *client;
  fl_request *req;
  fl_ws *ws;
  fl_timer *deadline;
  fl_timer *linger;                  /* after stdin's end, before our close */
  uint64_t linger_start, last_heard; /* loop ms */
  /* the reader thread and what it shares (under mu) */
  pthread_t reader;
  int reader_started, sync_ready;
  int stop_pipe[2]; /* a byte written here ends the reader's wait */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  size_t posted; /* bytes posted and not yet consumed */
  int stop;
  /* loop thread only */
  cli_buf in; /* stdin bytes not yet sent, from in_off on */
  size_t in_off;
  int in_eof, in_err;
  unsigned long line;
  int open, lingering, closing, ended, over_hw;
  int rc; /* the exit code, once decided */
} session;

static void on_chunk(void *data);

/* ------------------------------------------------------------- the reader */

/* Out of memory on the reader's thread: wait a little (1 ms, doubling up to
 * 100 ms) for memory to come back or for the session's end (1: ended).
 * Exiting from this thread would run the process's exit handlers under the
 * loop thread's feet, and the loop cannot be told without an allocation
 * (fl_loop_post): so the block read waits here, nothing lost, and the
 * session goes on once memory is back, or ends for a reason of its own (the
 * server, -m, the loop thread's own out of memory). */
static int wait_for_memory(session *s, int *delay_ms) {
  struct pollfd pf = {s->stop_pipe[0], POLLIN, 0};
  int r = poll(&pf, 1, *delay_ms);
  if (*delay_ms < 100) *delay_ms *= 2;
  return r > 0; /* the stop byte stays there: every later poll sees it */
}

static void *reader_main(void *arg) {
  session *s = arg;
  char buf[IN_BLOCK];
  for (;;) {
    pthread_mutex_lock(&s->mu);
    while (s->posted > IN_MAX && !s->stop) pthread_cond_wait(&s->cv, &s->mu);
    int stop = s->stop;
    pthread_mutex_unlock(&s->mu);
    if (stop) return NULL;
    /* wait for input or for the session's end (a byte on the stop pipe) */
    struct pollfd pf[2] = {{STDIN_FILENO, POLLIN, 0}, {s->stop_pipe[0], POLLIN, 0}};
    if (poll(pf, 2, -1) < 0) {
      if (errno == EINTR) continue;
      pf[0].revents = POLLERR; /* let read say what is wrong */
    }
    if (pf[1].revents) return NULL;
    ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    size_t len = n > 0 ? (size_t)n : 0;
    int delay = 1;
    chunk *c;
    while (!(c = malloc(sizeof *c + len)))
      if (wait_for_memory(s, &delay)) return NULL;
    c->s = s;
    c->n = len;
    c->err = n < 0 ? errno : 0;
    if (len) memcpy(c->data, buf, len);
    pthread_mutex_lock(&s->mu);
    s->posted += len;
    pthread_mutex_unlock(&s->mu);
    while (fl_loop_post(s->loop, on_chunk, c) != 0) {
      if (wait_for_memory(s, &delay)) {
        free(c);
        return NULL;
      }
    }
    if (len == 0) return NULL;
  }
}

/* ---------------------------------------------------------------- the end */

static void end_session(session *s, int rc) {
  if (s->ended) return;
  s->ended = 1;
  s->rc = rc;
  fl_timer_stop(s->deadline);
  fl_timer_stop(s->linger);
}

/* A line or the close could not be queued (out of memory): the WebSocket
 * is still open, but going on would lose that line or never close, so the
 * session ends with the error. */
static void send_failed(session *s, int err, const char *what) {
  int rc = fl_err_curl_code(err);
  cli_error(rc, "cannot send %s: %s", what, fl_strerror(err));
  fl_ws_abort(s->ws);
  end_session(s, rc);
}

static void close_now(session *s) {
  s->closing = 1;
  int e = fl_ws_close(s->ws, 1000, NULL);
  /* FL_EWS_CLOSED: the WebSocket is ending already, close_cb says how */
  if (e && e != FL_EWS_CLOSED) send_failed(s, e, "the close frame");
}

/* The linger's check: close once nothing came for LINGER_QUIET_MS (bytes
 * of ours still queued count as activity: the server has not seen them),
 * or LINGER_MAX_MS after it began; else look again when the quiet would
 * be over. */
static void on_linger(fl_timer *t, void *data) {
  (void)t;
  session *s = data;
  if (s->ended || s->closing) return;
  uint64_t now = fl_loop_now(s->loop);
  if (fl_ws_buffered(s->ws)) s->last_heard = now;
  uint64_t quiet_end = s->last_heard + LINGER_QUIET_MS, max_end = s->linger_start + LINGER_MAX_MS;
  uint64_t until = quiet_end < max_end ? quiet_end : max_end;
  if (now >= until) {
    if (s->cfg->verbose)
      cli_msg("end of input: closing after %llu ms", (unsigned long long)(now - s->linger_start));
    close_now(s);
    return;
  }
  if (fl_timer_start(s->linger, until - now, 0, on_linger, s) != 0) close_now(s);
}

/* Standard input is done and everything was queued: linger for the
 * replies, then close with 1000 (close at once if no timer can be had). */
static void maybe_close(session *s) {
  if (!s->open || s->lingering || s->closing || s->ended || !s->in_eof || s->in_off < s->in.len)
    return;
  s->lingering = 1;
  s->linger_start = s->last_heard = fl_loop_now(s->loop);
  if (!s->linger) s->linger = fl_timer_new(s->loop);
  if (!s->linger || fl_timer_start(s->linger, LINGER_QUIET_MS, 0, on_linger, s) != 0) close_now(s);
}

/* Send every whole line of s->in (and the rest once stdin ended). */
static void pump(session *s) {
  if (!s->open || s->closing || s->ended) return;
  size_t consumed = 0;
  while (!s->over_hw && !s->ended && s->in_off < s->in.len) {
    const char *p = s->in.data + s->in_off;
    size_t left = s->in.len - s->in_off;
    const char *nl = memchr(p, '\n', left);
    if (!nl && !s->in_eof) break; /* a partial line: wait for its end */
    size_t n = nl ? (size_t)(nl - p) : left, used = nl ? n + 1 : n;
    s->line++;
    if (n && p[n - 1] == '\r') n--;
    int e = fl_ws_send(s->ws, FL_WS_TEXT, p, n);
    s->in_off += used;
    consumed += used;
    if (e == 1) {
      s->over_hw = 1; /* wait for drain_cb */
    } else if (e == FL_EWS_UTF8) {
      cli_error(CLI_EXIT_BAD_ARG, "line %lu of standard input is not valid UTF-8: not sent",
                s->line);
      s->rc = CLI_EXIT_BAD_ARG;
      s->in_eof = 1; /* send nothing more: close */
      s->in_off = s->in.len;
    } else if (e == FL_EWS_CLOSED) {
      break; /* the WebSocket is ending: close_cb says why */
    } else if (e) {
      char what[64];
      snprintf(what, sizeof what, "line %lu", s->line);
      send_failed(s, e, what);
      break;
    }
  }
  if (s->in_off == s->in.len) {
    s->in.len = 0;
    s->in_off = 0;
  } else if (s->in_off > IN_BLOCK) {
    memmove(s->in.data, s->in.data + s->in_off, s->in.len - s->in_off);
    s->in.len -= s->in_off;
    s->in_off = 0;
  }
  if (consumed) {
    pthread_mutex_lock(&s->mu);
    s->posted = s->posted > consumed ? s->posted - consumed : 0;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
  }
  maybe_close(s);
}

static void on_chunk(void *data) {
  chunk *c = data;
  session *s = c->s;
  if (!s->ended) {
    if (c->n) {
      cli_buf_add(&s->in, c->data, c->n);
    } else {
      s->in_eof = 1;
      if (c->err) {
        cli_error(CLI_EXIT_READ, "cannot read standard input: %s", strerror(c->err));
        s->rc = CLI_EXIT_READ;
      }
    }
    pump(s);
  }
  free(c);
}

/* -------------------------------------------------------------- callbacks */

static void on_message(fl_ws *ws, int type, const char *p, size_t n, int flags, void *data) {
  (void)ws, (void)type, (void)flags;
  session *s = data;
  if (s->ended) return;
  s->last_heard = fl_loop_now(s->loop);
  if ((n && fwrite(p, 1, n, stdout) != n) || putchar('\n') == EOF || fflush(stdout) != 0) {
    cli_error(CLI_EXIT_WRITE, "Failure writing output to destination");
    fl_ws_abort(s->ws);
    end_session(s, CLI_EXIT_WRITE);
  }
}

static void on_drain(fl_ws *ws, void *data) {
  (void)ws;
  session *s = data;
  s->over_hw = 0;
  pump(s);
}

static void on_close(fl_ws *ws, int err, int code, const char *reason, void *data) {
  session *s = data;
  if (s->ended) return;
  if (err == 0) {
    if (s->cfg->verbose) cli_msg("WebSocket closed: %d%s%s", code, reason[0] ? " " : "", reason);
    end_session(s, s->rc);
    return;
  }
  int rc = fl_err_curl_code(err);
  cli_error(rc, "WebSocket ended: %s (close code %d)",
            fl_ws_errmsg(ws)[0] ? fl_ws_errmsg(ws) : fl_strerror(err), code);
  end_session(s, rc);
}

static void on_open(fl_ws *ws, int err, void *data) {
  session *s = data;
  if (s->ended) return;
  if (err) {
    int rc = fl_err_curl_code(err);
    cli_error(rc, "%s", fl_ws_errmsg(ws)[0] ? fl_ws_errmsg(ws) : fl_strerror(err));
    end_session(s, rc);
    return;
  }
  s->open = 1;
  if (s->cfg->verbose) {
    const char *ext = fl_ws_extensions(ws), *proto = fl_ws_protocol(ws);
    cli_msg("WebSocket open%s%s%s%s", ext[0] ? ", extensions: " : "", ext,
            proto ? ", subprotocol: " : "", proto ? proto : "");
  }
  pump(s);
}

static void on_deadline(fl_timer *t, void *data) {
  (void)t;
  session *s = data;
  cli_error(28, "Operation timed out after %.0f milliseconds", s->cfg->max_time * 1000.0);
  fl_ws_abort(s->ws);
  end_session(s, 28);
}

/* -v: the upgrade's heads, as the transfers show theirs. */
static void on_trace(fl_request *req, fl_trace_kind kind, const char *data, size_t len, void *ud) {
  (void)req, (void)ud;
  const char *mark = kind == FL_TRACE_REQUEST_HEAD ? "> " : "< ";
  cli_buf b = {0};
  for (const char *p = data, *end = data + len; p < end;) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl ? (size_t)(nl - p + 1) : (size_t)(end - p);
    cli_buf_adds(&b, mark);
    cli_buf_add(&b, p, n);
    p += n;
  }
  if (b.len) cli_stderr_write(b.data, b.len);
  cli_buf_free(&b);
}

/* ------------------------------------------------------------------ run */

static int setup_error(const char *why, int err) {
  int code = strncmp(why, "proxy ", 6) == 0 ? 7
             : err == FL_EINVAL || err == 0 ? CLI_EXIT_BAD_ARG
                                            : fl_err_curl_code(err);
  cli_error(code, "cannot set up the client: %s", why);
  return code;
}

int cli_ws_run(const cli_config *cfg, const cli_reqspec *rs) {
  if (cfg->nurls != 1) {
    cli_msg("--ws takes exactly one URL");
    return CLI_EXIT_USAGE;
  }
  if (rs->has_body || cfg->nuploads) {
    cli_msg("--ws sends no request body (-d, -F, -T, --json)");
    return CLI_EXIT_USAGE;
  }
  int life = cli_life_check(cfg);
  if (life >= 0) return life;
  session s;
  memset(&s, 0, sizeof s);
  s.cfg = cfg;
  s.rc = 0;
  fl_client_options o;
  int cacert_bad = 0, cert_bad = 0;
  cli_client_options(cfg, &o, &cacert_bad);
  char why[256] = "out of memory";
  if (cli_tls_ciphers_check(&o, why, sizeof why)) return setup_error(why, FL_EINVAL);
  char *url = cli_reqspec_url(rs, cfg->urls[0].url);
  int tls = !strncmp(url, "wss:", 4) || !strncmp(url, "https:", 6);
  if (tls && cacert_bad) {
    cli_error(CLI_EXIT_CACERT, "error setting certificate verify locations: %s", cfg->cacert);
    free(url);
    return CLI_EXIT_CACERT;
  }
  s.loop = fl_loop_new();
  int err = FL_ENOMEM;
  s.client = s.loop ? cli_client_new(cfg, s.loop, &o, &cert_bad, &err, why, sizeof why) : NULL;
  if (!s.client) {
    free(url);
    if (s.loop) fl_loop_free(s.loop);
    return setup_error(why, err);
  }
  int rc = cli_client_start(cfg, s.client);
  if (!rc && tls && cert_bad) {
    cli_error(CLI_EXIT_CERT, "unable to use client certificate %s", cfg->cert ? cfg->cert : "");
    rc = CLI_EXIT_CERT;
  }
  fl_ws_options wo;
  fl_ws_options_init(&wo);
  wo.compress = cfg->compressed; /* permessage-deflate only with --compressed */
  if (cfg->max_filesize) wo.max_message = cfg->max_filesize;
  if (!rc) {
    s.req = fl_request_new("GET", url);
    s.ws = fl_ws_new(&wo);
    if (!s.req || !s.ws) {
      cli_error(CLI_EXIT_NOMEM, "out of memory making the request");
      rc = CLI_EXIT_NOMEM;
    }
  }
  if (!rc) {
    err = cli_reqspec_apply(rs, s.req, NULL, NULL);
    if (err) {
      rc = fl_err_curl_code(err);
      cli_error(rc, "cannot set up the request: %s", fl_strerror(err));
    }
  }
  free(url);
  if (!rc) {
    if (pipe2(s.stop_pipe, O_CLOEXEC) != 0) {
      cli_error(CLI_EXIT_NOMEM, "cannot make a pipe: %s", strerror(errno));
      rc = CLI_EXIT_NOMEM;
    }
  }
  if (!rc) {
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    s.sync_ready = 1;
    if (cfg->verbose) fl_request_on_trace(s.req, on_trace, &s);
    fl_ws_on_message(s.ws, on_message, &s);
    fl_ws_on_close(s.ws, on_close, &s);
    fl_ws_on_drain(s.ws, on_drain, &s);
    err = fl_ws_connect(s.ws, s.client, s.req, on_open, &s);
    if (err) {
      rc = fl_err_curl_code(err);
      cli_error(rc, "%s", fl_ws_errmsg(s.ws)[0] ? fl_ws_errmsg(s.ws) : fl_strerror(err));
    } else {
      if (cfg->max_time > 0 && (s.deadline = fl_timer_new(s.loop)))
        fl_timer_start(s.deadline, (uint64_t)(cfg->max_time * 1000.0), 0, on_deadline, &s);
      if (pthread_create(&s.reader, NULL, reader_main, &s) == 0) {
        s.reader_started = 1;
      } else {
        cli_error(CLI_EXIT_NOMEM, "cannot start the standard input reader");
        fl_ws_abort(s.ws);
        end_session(&s, CLI_EXIT_NOMEM);
      }
      while (!s.ended) fl_loop_run(s.loop, FL_RUN_ONCE);
      rc = s.rc;
      if (s.reader_started) { /* it may wait in poll or on cv: wake it */
        pthread_mutex_lock(&s.mu);
        s.stop = 1;
        pthread_cond_signal(&s.cv);
        pthread_mutex_unlock(&s.mu);
        ssize_t w;
        do w = write(s.stop_pipe[1], "x", 1);
        while (w < 0 && errno == EINTR);
        pthread_join(s.reader, NULL);
      }
    }
    fl_timer_free(s.deadline);
    fl_timer_free(s.linger);
    fl_ws_free(s.ws); /* no callback after this */
    s.ws = NULL;
  }
  fl_ws_free(s.ws);
  fl_request_free(s.req);
  cli_client_finish(cfg, s.client);
  fl_client_free(s.client);
  fl_loop_free(s.loop); /* runs chunks still posted: freed, unread */
  if (s.sync_ready) {
    pthread_cond_destroy(&s.cv);
    pthread_mutex_destroy(&s.mu);
    close(s.stop_pipe[0]);
    close(s.stop_pipe[1]);
  }
  cli_buf_free(&s.in);
  return rc;
}
