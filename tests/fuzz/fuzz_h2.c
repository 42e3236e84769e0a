/* libFuzzer target: the HTTP/2 response path, through the public API only.
 *
 * A real fl_client speaks h2c with prior knowledge to a loopback listener
 * owned by this process and sends two or three requests at once (streams
 * 1, 3, 5 on one connection). The "server" here reads the client's 24-byte
 * connection preface, sends an empty SETTINGS frame, then the input's frame
 * bytes, written in pieces whose sizes the input chooses, and discards all
 * the client sends. Every request must complete exactly once, with a
 * response or an fl_err that has a message; the loop must not hang once the
 * server has gone quiet; nothing may leak (LSan) and no descriptor may stay
 * open.
 *
 * Input:
 *   byte 0  options: 1 a third request, 2 stream the bodies (headers and
 *           body callbacks), 4 POST a body first, 8 cancel the second
 *           request right after sending it, 16 small caps, 32 abort from
 *           the body callback, 64 free the client from the last completion
 *           callback, 128 end connections with RST instead of FIN
 *   byte 1  seed of the piece sizes
 *   byte 2  largest piece (0: everything in one write)
 *   rest    the server's frames, after its SETTINGS. A connection the
 *           client opens later (a retry after GOAWAY or REFUSED_STREAM) gets
 *           the same bytes again, up to MAX_CONNS connections; after that
 *           they are closed at once.
 * A server that has sent everything and hears nothing closes its oldest
 * connection, so a stream that waits for frames that never come ends too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "flurry.h"
#include "fuzz_loopback.h"

#define MAX_CONNS 4
#define NREQ 3
#define PREFACE_LEN 24

static int lfd = -1;
static int port;

/* The server's first frame: SETTINGS, empty, stream 0. */
static const uint8_t settings_frame[9] = {0, 0, 0, 4, 0, 0, 0, 0, 0};

typedef struct sconn {
  int fd;
  size_t preface; /* client bytes seen, up to PREFACE_LEN */
  int phase;      /* 0: waiting for the preface, 1: SETTINGS, 2: input, 3: all sent */
  size_t off;
} sconn;

typedef struct server {
  sconn c[MAX_CONNS];
  int nconns;
  const uint8_t *in;
  size_t inlen;
  uint32_t rng, maxpiece;
  int rst;
} server;

typedef struct rq {
  fl_request *req;
  int done, sent;
  int err;
} rq;

typedef struct ctx {
  fl_loop *loop;
  fl_client *client;
  rq r[NREQ];
  int want, nsent;
  int opts;
  int finished;
} ctx;

static void die(const char *what) {
  fprintf(stderr, "fuzz_h2: %s\n", what);
  abort();
}

/* What a leaking client would leave behind (fuzz_loopback.h). */
static int count_fds(void) {
  int n = fz_count_fds(lfd);
  if (n < 0) die("opendir /proc/self/fd");
  return n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  signal(SIGPIPE, SIG_IGN);
  lfd = fz_listen_loopback(&port);
  if (lfd < 0) die("listener");
  return 0;
}

/* ------------------------------------------------------------------ server */

static size_t next_piece(server *s, size_t left) {
  if (s->maxpiece == 0) return left;
  s->rng = s->rng * 1103515245u + 12345u;
  size_t p = 1 + (s->rng >> 16) % s->maxpiece;
  return p < left ? p : left;
}

static void conn_close(server *s, sconn *c) {
  if (c->fd < 0) return;
  if (s->rst) {
    struct linger l = {1, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }
  close(c->fd);
  c->fd = -1;
}

/* Send from the current phase's bytes; one piece per pass, so the client
 * runs in between. Returns 1 if anything was written. */
static int conn_write(server *s, sconn *c) {
  const uint8_t *p = c->phase == 1 ? settings_frame : s->in;
  size_t len = c->phase == 1 ? sizeof settings_frame : s->inlen;
  if (c->off >= len) {
    c->phase++;
    c->off = 0;
    return 0;
  }
  size_t want = next_piece(s, len - c->off);
  ssize_t n = send(c->fd, p + c->off, want, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) conn_close(s, c);
    return 0;
  }
  c->off += (size_t)n;
  if (c->off >= len) {
    c->phase++;
    c->off = 0;
  }
  return 1;
}

/* One pass over the server: accept, read, write. Returns 1 if anything happened. */
static int server_step(server *s) {
  int progress = 0;
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) break;
    progress = 1;
    if (s->nconns == MAX_CONNS) {
      close(fd);
      continue;
    }
    sconn *c = &s->c[s->nconns++];
    memset(c, 0, sizeof *c);
    c->fd = fd;
  }
  for (int i = 0; i < s->nconns; i++) {
    sconn *c = &s->c[i];
    if (c->fd < 0) continue;
    uint8_t buf[16384];
    for (;;) {
      ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        progress = 1;
        if (c->preface < PREFACE_LEN) {
          c->preface += (size_t)n;
          if (c->preface >= PREFACE_LEN && c->phase == 0) c->phase = 1;
        }
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        conn_close(s, c); /* the client closed (or reset) it */
        progress = 1;
      }
      break;
    }
    if (c->fd < 0) continue;
    if (c->phase == 1 || c->phase == 2) progress |= conn_write(s, c);
  }
  return progress;
}

static int server_pending(const server *s) {
  for (int i = 0; i < s->nconns; i++)
    if (s->c[i].fd >= 0 && (s->c[i].phase == 1 || s->c[i].phase == 2)) return 1;
  return 0;
}

/* Close the oldest open connection; 0 if none was open. */
static int server_close_oldest(server *s) {
  for (int i = 0; i < s->nconns; i++)
    if (s->c[i].fd >= 0) {
      conn_close(s, &s->c[i]);
      return 1;
    }
  return 0;
}

static void server_reset(server *s) {
  for (int i = 0; i < s->nconns; i++) conn_close(s, &s->c[i]);
  s->nconns = 0;
  for (;;) { /* connections the client opened but we never accepted */
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) break;
    close(fd);
  }
}

/* ------------------------------------------------------------------ client */

static int on_headers(fl_request *req, void *data) {
  (void)data;
  int st = fl_response_status(fl_request_response(req));
  if (st < 100 || st > 999) die("headers callback with a status out of range");
  return 0;
}

static int on_body(fl_request *req, const char *chunk, size_t len, void *data) {
  ctx *x = data;
  (void)req;
  if (len == 0) die("empty body chunk");
  volatile char sink = chunk[0] ^ chunk[len - 1];
  (void)sink;
  return (x->opts & 32) ? -1 : 0;
}

static void check_result(fl_request *req, int err) {
  if (err > 0) die("positive error code");
  if (err) {
    if (fl_request_errmsg(req)[0] == '\0') die("an error without a message");
    if (fl_err_curl_code(err) <= 0) die("an error without a curl code");
    return;
  }
  const fl_response *res = fl_request_response(req);
  int st = fl_response_status(res);
  if (st < 100 || st > 999) die("response status out of range");
  size_t len = 0;
  const char *body = fl_response_body(res, &len);
  if (!body || body[len] != '\0') die("body not NUL-terminated");
  size_t nh = fl_response_header_count(res);
  for (size_t i = 0; i < nh; i++) {
    const char *n, *v;
    if (fl_response_header_at(res, i, &n, &v) != 0 || !n || !v) die("header_at");
  }
  (void)fl_response_header(res, "content-type");
  const fl_info *info = fl_request_info(req);
  if (info->http_version != 20) die("a response over h2c that is not HTTP/2");
}

static void on_done(fl_request *req, int err, void *data) {
  ctx *x = data;
  int i = -1;
  for (int k = 0; k < x->want; k++)
    if (req == x->r[k].req) i = k;
  if (i < 0) die("callback for an unknown request");
  rq *q = &x->r[i];
  if (!q->sent) die("callback for a request never sent");
  if (q->done++) die("a request completed twice");
  q->err = err;
  x->finished++;
  check_result(req, err);
  if (getenv("FUZZ_H2_VERBOSE")) /* what a seed does: FUZZ_H2_VERBOSE=1 fuzz_h2 FILE */
    fprintf(stderr, "fuzz_h2: request %d: %s status %d (%s)\n", i, err ? fl_err_name(err) : "ok",
            err ? 0 : fl_response_status(fl_request_response(req)), fl_request_errmsg(req));
  if (x->finished == x->want && (x->opts & 64)) {
    fl_client_free(x->client);
    x->client = NULL;
  }
}

static void send_one(ctx *x, int i) {
  rq *q = &x->r[i];
  q->sent = 1;
  int err = fl_request_send(x->client, q->req, on_done, x);
  if (err) {
    /* refused at once: no callback will come */
    q->done = 1;
    q->err = err;
    x->finished++;
    return;
  }
  if (i == 1 && (x->opts & 8)) fl_request_cancel(q->req);
}

static int step_cb(void *s) { return server_step(s); }
static int pending_cb(const void *s) { return server_pending(s); }
static int close_oldest_cb(void *s) { return server_close_oldest(s); }
static const fz_server_ops server_ops = {step_cb, pending_cb, close_oldest_cb};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3) return 0;
  int fds_baseline = count_fds();

  static server s;
  memset(&s, 0, sizeof s);
  ctx x;
  memset(&x, 0, sizeof x);
  x.opts = data[0];
  s.rng = data[1];
  s.maxpiece = data[2];
  s.rst = (x.opts & 128) != 0;
  s.in = data + 3;
  s.inlen = size - 3;

  fl_client_options o;
  fl_client_options_init(&o);
  o.http_version = FL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
  o.dns_servers = "127.0.0.1:1"; /* never the real resolver */
  o.dns_timeout_ms = 100;
  o.max_connections = 4;
  if (x.opts & 16) {
    o.max_header_bytes = 600;
    o.max_header_count = 8;
    o.max_body_bytes = 4096;
  }
  x.want = (x.opts & 1) ? 3 : 2;

  x.loop = fl_loop_new();
  if (!x.loop) die("fl_loop_new");
  x.client = fl_client_new(x.loop, &o);
  if (!x.client) die("fl_client_new");

  char url[128];
  for (int i = 0; i < x.want; i++) {
    snprintf(url, sizeof url, "http://127.0.0.1:%d/r%d?q=%d", port, i, i);
    x.r[i].req = fl_request_new(i == 0 && (x.opts & 4) ? "POST" : "GET", url);
    if (!x.r[i].req) die("fl_request_new");
    if (x.opts & 2) {
      fl_request_on_headers(x.r[i].req, on_headers, &x);
      fl_request_on_body(x.r[i].req, on_body, &x);
    }
  }
  if (x.opts & 4) fl_request_set_body(x.r[0].req, "a=1&b=2", 7);
  for (int i = 0; i < x.want; i++) send_one(&x, i);

  const char *stuck = fz_drive(x.loop, &x.finished, x.want, lfd, &server_ops, &s);
  if (stuck) die(stuck);

  if (x.client) fl_client_free(x.client);
  for (int i = 0; i < x.want; i++) {
    if (x.r[i].done != 1) die("a request did not complete exactly once");
    fl_request_free(x.r[i].req);
  }
  if (fl_loop_free(x.loop) != 0) die("fl_loop_free refused: something still uses the loop");
  server_reset(&s);
  if (count_fds() != fds_baseline) die("file descriptors left open");
  return 0;
}
