/* libFuzzer target: the whole response path, through the public API only.
 *
 * A real fl_client sends one or two requests to a loopback listener owned by
 * this process; the "server" here answers each request head it receives with
 * the next segment of the input, written in pieces whose sizes the input
 * chooses. Every request must complete exactly once, with a response or an
 * fl_err that has a message; the loop must not hang once the server has gone
 * quiet; nothing may leak (LSan) and no descriptor may stay open.
 *
 * Input:
 *   byte 0  options A: 1 follow redirects (max 3), 2 cookie jar, 4 decompress,
 *           8 a second request (sent from the first one's callback, so it
 *           reuses the kept-alive connection), 16 pipelining (depth 2, one
 *           connection, both requests sent at once), 32 HEAD first,
 *           64 stream the body (headers and body callbacks), 128 small caps
 *   byte 1  options B: 1 end connections with RST instead of FIN, 2 close
 *           after every segment, 4 POST a body first, 8 cancel the second
 *           request right after sending it, 16 abort from the body callback,
 *           32 chunked upload first, 64 max_filesize 1000, 128 free the
 *           client from the last completion callback
 *   byte 2  seed of the piece sizes
 *   byte 3  largest piece (0: each segment in one write)
 *   rest    segments separated by "\n~~~\n": the k-th request head the
 *           server receives (on whichever connection) is answered with the
 *           k-th segment; an empty segment closes that connection without a
 *           reply; a request with no segment left gets the connection closed.
 * The last segment's connection is closed after it; a server that has sent
 * everything and hears nothing closes its oldest connection, so a response
 * that waits for bytes that will never come ends too.
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

#define MAX_CONNS 16
#define MAX_SEGS 64
#define SEP "\n~~~\n"

static int lfd = -1;
static int port;

typedef struct sconn {
  int fd;
  uint32_t tail; /* last 4 request bytes seen, for "\r\n\r\n" across reads */
  /* queued output: segments given to this connection, in order */
  const uint8_t *out[MAX_SEGS];
  size_t outlen[MAX_SEGS];
  int close_after[MAX_SEGS];
  int nout, head;
  size_t off;
} sconn;

typedef struct server {
  sconn c[MAX_CONNS];
  int nconns;
  const uint8_t *seg[MAX_SEGS];
  size_t seglen[MAX_SEGS];
  int nsegs, next_seg;
  uint32_t rng, maxpiece;
  int rst, close_each;
} server;

typedef struct rq {
  fl_request *req;
  int done, sent;
  int err;
} rq;

typedef struct ctx {
  fl_loop *loop;
  fl_client *client;
  rq r[2];
  int want; /* requests to complete */
  int opts_a, opts_b;
  int finished; /* completions so far */
  int free_client_in_cb;
} ctx;

static void die(const char *what) {
  fprintf(stderr, "fuzz_response: %s\n", what);
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

static uint32_t next_piece(server *s, size_t left) {
  if (s->maxpiece == 0) return (uint32_t)(left > UINT32_MAX ? UINT32_MAX : left);
  s->rng = s->rng * 1103515245u + 12345u;
  uint32_t p = 1 + (s->rng >> 16) % s->maxpiece;
  return p;
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

/* A request head arrived on c: queue the next segment (or close). */
static void on_request_head(server *s, sconn *c) {
  if (s->next_seg >= s->nsegs || c->nout == MAX_SEGS) {
    c->out[c->nout] = NULL; /* close when reached */
    c->outlen[c->nout] = 0;
    c->close_after[c->nout] = 1;
    if (c->nout < MAX_SEGS) c->nout++;
    return;
  }
  int k = s->next_seg++;
  c->out[c->nout] = s->seg[k];
  c->outlen[c->nout] = s->seglen[k];
  c->close_after[c->nout] = s->seglen[k] == 0 || k == s->nsegs - 1 || s->close_each;
  c->nout++;
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
        for (ssize_t j = 0; j < n; j++) {
          c->tail = c->tail << 8 | buf[j];
          if (c->tail == 0x0d0a0d0a) on_request_head(s, c);
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
    while (c->head < c->nout) {
      const uint8_t *p = c->out[c->head];
      size_t left = c->outlen[c->head] - c->off;
      if (left > 0) {
        size_t want = next_piece(s, left);
        if (want > left) want = left;
        ssize_t n = send(c->fd, p + c->off, want, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
          if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) conn_close(s, c);
          break;
        }
        progress = 1;
        c->off += (size_t)n;
        /* one piece per pass: the client runs in between */
        if (c->off < c->outlen[c->head]) break;
      }
      int close_now = c->close_after[c->head];
      c->head++;
      c->off = 0;
      if (close_now) {
        conn_close(s, c);
        break;
      }
    }
  }
  return progress;
}

static int server_pending(const server *s) {
  for (int i = 0; i < s->nconns; i++)
    if (s->c[i].fd >= 0 && s->c[i].head < s->c[i].nout) return 1;
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
  /* connections the client opened but we never accepted */
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) break;
    close(fd);
  }
}

/* ------------------------------------------------------------------ client */

static int on_headers(fl_request *req, void *data) {
  (void)data;
  const fl_response *res = fl_request_response(req);
  int st = fl_response_status(res);
  if (st < 100 || st > 999) die("headers callback with a status out of range");
  return 0;
}

static int on_body(fl_request *req, const char *chunk, size_t len, void *data) {
  ctx *x = data;
  (void)req;
  if (len == 0) die("empty body chunk");
  volatile char sink = chunk[0] ^ chunk[len - 1];
  (void)sink;
  return (x->opts_b & 16) ? -1 : 0;
}

static void on_done(fl_request *req, int err, void *data);

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
}

static int send_one(ctx *x, int i) {
  rq *q = &x->r[i];
  int err = fl_request_send(x->client, q->req, on_done, x);
  if (err) {
    /* refused at once: no callback will come */
    q->done = 1;
    q->err = err;
    x->finished++;
    return err;
  }
  q->sent = 1;
  if (i == 1 && (x->opts_b & 8)) fl_request_cancel(q->req);
  return 0;
}

static void on_done(fl_request *req, int err, void *data) {
  ctx *x = data;
  int i = req == x->r[0].req ? 0 : req == x->r[1].req ? 1 : -1;
  if (i < 0) die("callback for an unknown request");
  rq *q = &x->r[i];
  if (!q->sent) die("callback for a request never sent");
  if (q->done++) die("a request completed twice");
  q->err = err;
  x->finished++;
  check_result(req, err);
  if (i == 0 && x->want == 2 && !(x->opts_a & 16)) send_one(x, 1);
  if (x->finished == x->want && x->free_client_in_cb) {
    fl_client_free(x->client);
    x->client = NULL;
  }
}

static int step_cb(void *s) { return server_step(s); }
static int pending_cb(const void *s) { return server_pending(s); }
static int close_oldest_cb(void *s) { return server_close_oldest(s); }
static const fz_server_ops server_ops = {step_cb, pending_cb, close_oldest_cb};

static long upload(fl_request *req, char *buf, size_t cap, void *data) {
  int *left = data;
  (void)req;
  if (*left <= 0) return 0;
  size_t n = cap < 700 ? cap : 700;
  memset(buf, 'u', n);
  (*left)--;
  return (long)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 4) return 0;
  int fds_baseline = count_fds();

  static server s;
  memset(&s, 0, sizeof s);
  ctx x;
  memset(&x, 0, sizeof x);
  x.opts_a = data[0];
  x.opts_b = data[1];
  s.rng = data[2];
  s.maxpiece = data[3];
  s.rst = x.opts_b & 1;
  s.close_each = (x.opts_b & 2) != 0;
  const uint8_t *p = data + 4, *end = data + size;
  while (s.nsegs < MAX_SEGS) {
    const uint8_t *sep = memmem(p, (size_t)(end - p), SEP, sizeof SEP - 1);
    s.seg[s.nsegs] = p;
    s.seglen[s.nsegs] = (size_t)((sep ? sep : end) - p);
    s.nsegs++;
    if (!sep) break;
    p = sep + sizeof SEP - 1;
  }

  fl_client_options o;
  fl_client_options_init(&o);
  o.follow_redirects = x.opts_a & 1;
  o.max_redirects = 3;
  o.cookies = (x.opts_a & 2) != 0;
  o.decompress = (x.opts_a & 4) != 0;
  o.insecure = 1;                /* https redirects: no CA store to load */
  o.dns_servers = "127.0.0.1:1"; /* other names: refused at once, never the real resolver */
  o.dns_timeout_ms = 100;
  o.max_connections = 4;
  if (x.opts_a & 16) {
    o.pipeline_depth = 2;
    o.max_connections = 1;
  }
  if (x.opts_a & 128) {
    o.max_header_bytes = 600;
    o.max_header_count = 8;
    o.max_body_bytes = 4096;
  }
  if (x.opts_b & 64) o.max_filesize = 1000;
  x.want = (x.opts_a & (8 | 16)) ? 2 : 1;
  x.free_client_in_cb = (x.opts_b & 128) != 0;

  x.loop = fl_loop_new();
  if (!x.loop) die("fl_loop_new");
  x.client = fl_client_new(x.loop, &o);
  if (!x.client) die("fl_client_new");

  char url[128];
  int upload_left = 3;
  for (int i = 0; i < x.want; i++) {
    snprintf(url, sizeof url, "http://127.0.0.1:%d/r%d?q=%d", port, i, i);
    const char *method = (i == 0 && (x.opts_a & 32)) ? "HEAD" : "GET";
    if (i == 0 && (x.opts_b & (4 | 32))) method = "POST";
    x.r[i].req = fl_request_new(method, url);
    if (!x.r[i].req) die("fl_request_new");
    if (x.opts_a & 64) {
      fl_request_on_headers(x.r[i].req, on_headers, &x);
      fl_request_on_body(x.r[i].req, on_body, &x);
    }
  }
  if (x.opts_b & 4)
    fl_request_set_body(x.r[0].req, "a=1&b=2", 7);
  else if (x.opts_b & 32)
    fl_request_set_upload(x.r[0].req, upload, &upload_left);

  send_one(&x, 0);
  if (x.want == 2 && (x.opts_a & 16)) send_one(&x, 1);

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
