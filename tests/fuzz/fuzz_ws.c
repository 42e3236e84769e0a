/* libFuzzer target: a WebSocket after a real upgrade, through the public
 * API only (fl_ws_connect, fl_ws_send / _fragment / _ping / _close /
 * _abort / _recv / _free).
 *
 * A real fl_client upgrades ws://127.0.0.1:PORT/fuzz on a loopback listener
 * owned by this process. The "server" here reads the upgrade request,
 * answers with a correct 101 (the accept key computed from the request's
 * Sec-WebSocket-Key; permessage-deflate agreed when the input says so),
 * then sends the input's bytes as its frames, written in pieces whose sizes
 * the input chooses, and discards all the client sends. Once it has sent
 * everything and hears nothing, it closes the connection (FIN or RST), so a
 * WebSocket waiting for frames that never come ends too.
 *
 * Checks: open_cb exactly once and never from inside fl_ws_connect; a
 * failed open says why and has a curl code; after an open, close_cb exactly
 * once, with a code that fits its error (0: the server's code or 1005;
 * FL_EWS_PROTOCOL: 1002 or 1007; FL_EWS_TOO_BIG: 1009; any other: 1006);
 * no message after close_cb nor any callback after fl_ws_free; every text
 * message (summed over its pieces) valid UTF-8 and no message over the
 * cap; in pull mode fl_ws_recv reports the same end as close_cb; the
 * client's own sends give 0, 1, FL_EWS_CLOSED, FL_EINVAL (a send from the
 * wrong state) or the error that ends the connection, never anything else; nothing leaks (LSan), no descriptor
 * stays open, fl_loop_free succeeds.
 *
 * Input:
 *   byte 0  options: 1 fragments mode (callbacks only), 2 pull mode (fl_ws_recv from the
 *           readable callback), 4 the server agrees permessage-deflate,
 *           8 ... with no context takeover both ways, 16 a 1000-byte
 *           message cap, 32 echo every message back (pieces as pieces) and
 *           send a fragmented message with a ping inside at the open,
 *           64 fl_ws_free from inside the second message callback,
 *           128 end the connection with RST instead of FIN
 *   byte 1  seed of the piece sizes
 *   byte 2  largest piece (0: everything in one write)
 *   byte 3  options: 1 the input goes in the same write as the 101 (bytes
 *           that arrive with the handover), 2 fl_ws_close after the third
 *           message, 4 a heartbeat (5 ms, pong within 20 ms), 8 fl_ws_abort
 *           after the second message, 16 the client offers no compression
 *           (a deflate answer then fails the connect), 32 send a message
 *           above the high-water mark at the open
 *   rest    the server's frames
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
#include "http/ws_codec.h"     /* fl__utf8_*: checking what the client delivers */
#include "http/ws_handshake.h" /* fl__ws_accept_for: the server's answer */

static int lfd = -1;
static int port;

static void die(const char *what) {
  fprintf(stderr, "fuzz_ws: %s\n", what);
  abort();
}

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

typedef struct server {
  int fd;
  int phase; /* 0 request, 1 the 101, 2 the input, 3 all sent */
  char req[8192];
  size_t reqlen;
  char head[512];
  size_t headlen;
  size_t off;
  const uint8_t *in;
  size_t inlen;
  uint32_t rng, maxpiece;
  int rst, pmd, pmd_nct, early;
} server;

static size_t next_piece(server *s, size_t left) {
  if (s->maxpiece == 0) return left;
  s->rng = s->rng * 1103515245u + 12345u;
  size_t p = 1 + (s->rng >> 16) % s->maxpiece;
  return p < left ? p : left;
}

static void server_close(server *s) {
  if (s->fd < 0) return;
  if (s->rst) {
    struct linger l = {1, 0};
    setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }
  close(s->fd);
  s->fd = -1;
}

/* The 101 for the request in s->req; 0, or -1 (no key: close). */
static int make_101(server *s) {
  s->req[s->reqlen] = '\0';
  const char *k = strcasestr(s->req, "\r\nSec-WebSocket-Key:");
  if (!k) return -1;
  k += 20;
  while (*k == ' ') k++;
  char key[64];
  size_t n = 0;
  while (k[n] && k[n] != '\r' && n < sizeof key - 1) n++;
  memcpy(key, k, n);
  key[n] = '\0';
  char accept[32];
  fl__ws_accept_for(key, accept);
  s->headlen = (size_t)snprintf(
      s->head, sizeof s->head,
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: %s\r\n%s%s\r\n",
      accept, s->pmd ? "Sec-WebSocket-Extensions: permessage-deflate" : "",
      !s->pmd      ? ""
      : s->pmd_nct ? "; server_no_context_takeover; client_no_context_takeover\r\n"
                   : "\r\n");
  return 0;
}

/* Write from the current phase; one piece per pass, so the client runs in
 * between. 1 if anything was written. */
static int server_write(server *s) {
  const uint8_t *p;
  size_t len;
  if (s->phase == 1) {
    p = (const uint8_t *)s->head;
    len = s->headlen;
  } else {
    p = s->in;
    len = s->inlen;
  }
  if (s->off >= len) {
    s->phase++;
    s->off = 0;
    return 0;
  }
  size_t want = next_piece(s, len - s->off);
  if (s->phase == 1 && s->early) { /* the 101 and the input in one write */
    struct iovec iov[2] = {{(void *)(p + s->off), len - s->off}, {(void *)s->in, s->inlen}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    ssize_t n = sendmsg(s->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) server_close(s);
      return 0;
    }
    size_t u = (size_t)n;
    if (u < len - s->off) {
      s->off += u;
      return 1;
    }
    s->phase = 2;
    s->off = u - (len - s->off);
    if (s->off >= s->inlen) s->phase = 3, s->off = 0;
    return 1;
  }
  ssize_t n = send(s->fd, p + s->off, want, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) server_close(s);
    return 0;
  }
  s->off += (size_t)n;
  if (s->off >= len) {
    s->phase++;
    s->off = 0;
  }
  return 1;
}

/* One pass: accept, read, write. 1 if anything happened. */
static int server_step(server *s) {
  int progress = 0;
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) break;
    progress = 1;
    if (s->fd >= 0 || s->phase) { /* one connection per input */
      close(fd);
      continue;
    }
    s->fd = fd;
  }
  if (s->fd < 0) return progress;
  for (;;) {
    char buf[16384];
    ssize_t n = recv(s->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      progress = 1;
      if (s->phase == 0) {
        size_t take = (size_t)n;
        if (take > sizeof s->req - 1 - s->reqlen) take = sizeof s->req - 1 - s->reqlen;
        memcpy(s->req + s->reqlen, buf, take);
        s->reqlen += take;
        s->req[s->reqlen] = '\0';
        if (strstr(s->req, "\r\n\r\n")) {
          if (make_101(s) != 0) {
            server_close(s);
            return 1;
          }
          s->phase = 1;
        } else if (s->reqlen == sizeof s->req - 1) {
          server_close(s);
          return 1;
        }
      }
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      server_close(s); /* the client closed (or reset) it */
      return 1;
    }
    break;
  }
  if (s->phase == 1 || s->phase == 2) progress |= server_write(s);
  return progress;
}

static void server_reset(server *s) {
  server_close(s);
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) break;
    close(fd);
  }
}

/* ------------------------------------------------------------------ client */

typedef struct ctx {
  fl_loop *loop;
  fl_client *client;
  fl_request *req;
  fl_ws *ws;
  int opts, opts2;
  int frag; /* fragments mode (not in pull mode, whose messages carry no flags) */
  uint64_t max;
  int in_connect;
  int opened, open_err;
  int closed, close_err, close_code;
  int freed;
  int nmsg;
  /* the message being received (pieces summed) */
  int in_msg, msg_type;
  uint64_t msg_bytes;
  fl__utf8 utf8;
  int send_failed, send_closed;
} ctx;

/* A send gives 0, 1 (over the high-water mark), FL_EWS_CLOSED (ending or
 * ended), FL_EINVAL (from a state that allows no send), or the error that
 * is ending the WebSocket as it wrote (the connection broke: close_cb
 * follows, and every later send says FL_EWS_CLOSED). */
static void check_send(ctx *x, int r, const char *what) {
  if (r == 0 || r == 1 || r == FL_EINVAL) return;
  if (r == FL_EWS_CLOSED) {
    x->send_closed = 1;
    return;
  }
  if (r < 0 && fl_err_curl_code(r) > 0 && !x->send_closed && !x->send_failed) {
    x->send_failed = 1;
    return;
  }
  fprintf(stderr, "fuzz_ws: %s returned %s\n", what, fl_err_name(r));
  die("a send failed with an unexpected error");
}

static void finish(ctx *x) {
  fl_ws_free(x->ws);
  x->ws = NULL;
  x->freed = 1;
}

static void got_message(ctx *x, fl_ws *ws, int type, const char *p, size_t n, int flags) {
  if (x->freed) die("a message after fl_ws_free");
  if (x->closed) die("a message after close_cb");
  if (!x->opened || x->open_err) die("a message before a successful open");
  if (type != FL_WS_TEXT && type != FL_WS_BINARY) die("a message of an unknown type");
  if (!p && n) die("a message with no bytes");
  int first = (flags & FL_WS_FIRST) != 0, last = (flags & FL_WS_LAST) != 0;
  if (!x->frag && !(first && last)) die("a piece in whole-message mode");
  if (first != !x->in_msg) die("FIRST flag out of order");
  if (first) {
    x->in_msg = 1;
    x->msg_type = type;
    x->msg_bytes = 0;
    fl__utf8_init(&x->utf8);
  } else if (type != x->msg_type) {
    die("the type changed within a message");
  }
  x->msg_bytes += n;
  if (x->max && x->msg_bytes > x->max) die("a message over the cap");
  if (type == FL_WS_TEXT && fl__utf8_feed(&x->utf8, (const unsigned char *)p, n) != 0)
    die("invalid UTF-8 delivered");
  if (last) {
    if (type == FL_WS_TEXT && !fl__utf8_complete(&x->utf8))
      die("a text message ends mid-character");
    x->in_msg = 0;
  }
  if (x->opts & 32) { /* echo, piece by piece */
    int r;
    if (x->frag)
      r = fl_ws_send_fragment(ws, type, p, n, last);
    else
      r = fl_ws_send(ws, type, p, n);
    check_send(x, r, "echo");
  }
  if (!last) return;
  x->nmsg++;
  if (x->nmsg == 2 && (x->opts & 64)) {
    finish(x);
    return;
  }
  if (x->nmsg == 2 && (x->opts2 & 8)) {
    int r = fl_ws_abort(ws);
    if (r != 0) die("fl_ws_abort of an open WebSocket failed");
  }
  if (x->nmsg == 3 && (x->opts2 & 2)) check_send(x, fl_ws_close(ws, 1000, "bye"), "close");
}

static void on_message(fl_ws *ws, int type, const char *p, size_t n, int flags, void *data) {
  got_message(data, ws, type, p, n, flags);
}

static void check_end(ctx *x, int err, int code, const char *reason) {
  if (err > 0) die("a positive error");
  if (!reason) die("close reason NULL");
  if (!fl__utf8_valid(reason, strlen(reason))) die("close reason not UTF-8");
  if (err == 0) {
    if (code != 1005 && !(code >= 1000 && code <= 4999)) die("a clean close with a bad code");
  } else if (err == FL_EWS_PROTOCOL) {
    if (code != 1002 && code != 1007) die("FL_EWS_PROTOCOL without 1002 or 1007");
  } else if (err == FL_EWS_TOO_BIG) {
    if (code != 1009) die("FL_EWS_TOO_BIG without 1009");
  } else if (code != 1006) {
    die("an abnormal end without 1006");
  }
  if (err && fl_err_curl_code(err) <= 0) die("an error without a curl code");
  if (err && err != FL_ECANCELED && !fl_ws_errmsg(x->ws)[0]) die("an end without a message");
}

static void on_close(fl_ws *ws, int err, int code, const char *reason, void *data) {
  ctx *x = data;
  if (x->freed) die("close_cb after fl_ws_free");
  if (ws != x->ws) die("close_cb for another WebSocket");
  if (!x->opened || x->open_err) die("close_cb without a successful open");
  if (x->closed++) die("close_cb twice");
  x->close_err = err;
  x->close_code = code;
  check_end(x, err, code, reason);
  if (x->opts & 2) { /* pull mode: fl_ws_recv ends the same way, once the queue is empty */
    fl_ws_msg m;
    int r;
    while ((r = fl_ws_recv(ws, &m)) == 1 && m.type != FL_WS_CLOSE)
      got_message(x, ws, m.type, m.data, m.len, FL_WS_FIRST | FL_WS_LAST);
    if (x->freed) return;
    if (r != 1 || m.type != FL_WS_CLOSE || m.err != err || m.code != code)
      die("fl_ws_recv's end differs from close_cb's");
  }
}

static void on_readable(fl_ws *ws, void *data) {
  ctx *x = data;
  if (x->freed) die("readable_cb after fl_ws_free");
  fl_ws_msg m;
  while (!x->freed && fl_ws_recv(ws, &m) == 1) {
    if (m.type == FL_WS_CLOSE) return;
    if (m.data[m.len] != '\0') die("a pulled message not NUL-terminated");
    got_message(x, ws, m.type, m.data, m.len, FL_WS_FIRST | FL_WS_LAST);
  }
}

static void on_open(fl_ws *ws, int err, void *data) {
  ctx *x = data;
  if (x->in_connect) die("open_cb from inside fl_ws_connect");
  if (x->freed) die("open_cb after fl_ws_free");
  if (ws != x->ws) die("open_cb for another WebSocket");
  if (x->opened++) die("open_cb twice");
  x->open_err = err;
  if (err) {
    if (err > 0) die("a positive error");
    if (!fl_ws_errmsg(ws)[0]) die("a failed open without a message");
    if (fl_err_curl_code(err) <= 0) die("an error without a curl code");
    return;
  }
  if (x->opts & 32) {
    check_send(x, fl_ws_send(ws, FL_WS_TEXT, "h\xC3\xA9llo", 6), "send");
    check_send(x, fl_ws_send_fragment(ws, FL_WS_BINARY, "ab", 2, 0), "fragment");
    check_send(x, fl_ws_ping(ws, "p", 1), "ping");
    check_send(x, fl_ws_send_fragment(ws, FL_WS_BINARY, "cd", 2, 1), "fragment");
  }
  if (x->opts2 & 32) {
    static char big[1 << 16];
    for (int i = 0; i < 20 && !x->freed; i++) {
      int r = fl_ws_send(ws, FL_WS_BINARY, big, sizeof big);
      check_send(x, r, "big send");
      if (r == 1) break; /* over the high-water mark: stop there */
    }
  }
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ended(const ctx *x) { return x->freed || (x->opened && (x->open_err || x->closed)); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 4) return 0;
  int fds_baseline = count_fds();

  static server s;
  memset(&s, 0, sizeof s);
  s.fd = -1;
  ctx x;
  memset(&x, 0, sizeof x);
  x.opts = data[0];
  x.opts2 = data[3];
  s.rng = data[1];
  s.maxpiece = data[2];
  s.rst = (x.opts & 128) != 0;
  s.pmd = (x.opts & 4) != 0;
  s.pmd_nct = (x.opts & 8) != 0;
  s.early = (x.opts2 & 1) != 0;
  s.in = data + 4;
  s.inlen = size - 4;

  fl_client_options o;
  fl_client_options_init(&o);
  o.dns_servers = "127.0.0.1:1"; /* never the real resolver */
  o.dns_timeout_ms = 100;
  fl_ws_options wo;
  fl_ws_options_init(&wo);
  x.frag = (x.opts & 1) && !(x.opts & 2);
  wo.fragments = x.frag;
  wo.compress = !(x.opts2 & 16);
  wo.compress_no_context_takeover = (x.opts & 8) != 0;
  if (x.opts & 16) wo.max_message = 1000;
  if (x.opts2 & 4) wo.heartbeat_ms = 5, wo.pong_timeout_ms = 20;
  wo.close_timeout_ms = 300;
  wo.high_water = 100000;
  x.max = wo.max_message;

  x.loop = fl_loop_new();
  if (!x.loop) die("fl_loop_new");
  x.client = fl_client_new(x.loop, &o);
  if (!x.client) die("fl_client_new");
  x.ws = fl_ws_new(&wo);
  if (!x.ws) die("fl_ws_new");
  char url[128];
  snprintf(url, sizeof url, "ws://127.0.0.1:%d/fuzz", port);
  x.req = fl_request_new("GET", url);
  if (!x.req) die("fl_request_new");
  if (x.opts & 2) {
    fl_ws_on_readable(x.ws, on_readable, &x);
  } else {
    fl_ws_on_message(x.ws, on_message, &x);
  }
  fl_ws_on_close(x.ws, on_close, &x);
  x.in_connect = 1;
  int e = fl_ws_connect(x.ws, x.client, x.req, on_open, &x);
  x.in_connect = 0;
  if (e) die("fl_ws_connect refused a good URL");

  long long quiet_since = 0, start = now_ms();
  int idle = 0;
  while (!ended(&x)) {
    fl_loop_run(x.loop, FL_RUN_NOWAIT);
    if (ended(&x)) break;
    if (server_step(&s)) {
      idle = 0;
      quiet_since = 0;
      continue;
    }
    if (++idle < 20) continue;
    struct pollfd pf = {lfd, POLLIN, 0};
    poll(&pf, 1, 1);
    if (idle < 40 || s.phase == 1 || s.phase == 2) continue;
    idle = 0;
    if (s.fd >= 0) {
      server_close(&s); /* all sent, nothing heard: end it */
      continue;
    }
    if (!quiet_since) quiet_since = now_ms();
    if (now_ms() - quiet_since > 3000) die("the WebSocket never ended after the server closed");
    if (now_ms() - start > 20000) die("input took over 20 s");
  }
  /* what follows the end must stay quiet */
  for (int i = 0; i < 3; i++) fl_loop_run(x.loop, FL_RUN_NOWAIT);
  if (x.opened != 1 && !x.freed) die("open_cb did not run exactly once");
  if (x.opened && !x.open_err && !x.freed && x.closed != 1) die("close_cb did not run once");

  if (x.ws) fl_ws_free(x.ws);
  fl_request_free(x.req);
  fl_client_free(x.client);
  if (fl_loop_free(x.loop) != 0) die("fl_loop_free refused: something still uses the loop");
  server_reset(&s);
  if (count_fds() != fds_baseline) die("file descriptors left open");
  return 0;
}
