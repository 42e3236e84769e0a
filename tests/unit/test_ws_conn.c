/* An open fl_ws (src/client/ws.c) over one end of a socket pair, the test
 * playing the server on the other end with exact frames: bytes that came
 * with the 101 are read first; messages whole and in pieces; automatic
 * pongs; the close handshake started by either side; a protocol violation
 * answered with close 1002 then the TCP close; an abnormal close (1006);
 * heartbeat and read timeouts; backpressure and drain; pull mode with a
 * coroutine; fl_ws_free from inside a callback; callbacks exactly once. */
/* LABELS: valgrind tsan */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/ws.h"
#include "flurry.h"
#include "loop/loop.h"
#include "net/tcp.h"
#include "test.h"

static fl_loop *loop;
static int srv = -1; /* the server's end */

typedef struct seen {
  fl__buf log;
  int closes, err, code;
  char reason[128];
  int drains, free_in_message;
} seen;

static void on_message(fl_ws *ws, int type, const char *p, size_t n, int flags, void *data) {
  seen *s = data;
  char h[40];
  snprintf(h, sizeof h, "%c%s%s:", type == FL_WS_TEXT ? 'T' : 'B', flags & FL_WS_FIRST ? "<" : "",
           flags & FL_WS_LAST ? ">" : "");
  fl__buf_puts(&s->log, h);
  fl__buf_append(&s->log, p, n);
  fl__buf_puts(&s->log, "|");
  if (s->free_in_message) fl_ws_free(ws);
}

static void on_close(fl_ws *ws, int err, int code, const char *reason, void *data) {
  (void)ws;
  seen *s = data;
  s->closes++;
  s->err = err;
  s->code = code;
  snprintf(s->reason, sizeof s->reason, "%s", reason);
}

static void on_drain(fl_ws *ws, void *data) {
  (void)ws;
  ((seen *)data)->drains++;
}

/* A WebSocket over a fresh socket pair, as if its 101 had just come with
 * early bytes after it. */
static fl_ws *open_ws(const fl_ws_options *o, seen *s, const char *early, size_t n,
                      const fl__ws_pmd *pmd) {
  int sv[2];
  CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  srv = sv[1];
  fl_ws *ws = fl_ws_new(o);
  CHECK(ws);
  memset(s, 0, sizeof *s);
  fl__buf_init(&s->log);
  fl__buf_puts(&s->log, "");
  fl_ws_on_message(ws, on_message, s);
  fl_ws_on_close(ws, on_close, s);
  fl_ws_on_drain(ws, on_drain, s);
  fl__transport tp;
  fl__transport_init(&tp);
  tp.fd = sv[0];
  tp.ops = &fl__tcp_transport_ops;
  fl__ws_pmd none = {0};
  CHECK_EQ_INT(fl__ws_adopt(ws, loop, &tp, early, n, pmd ? pmd : &none), 0);
  CHECK_EQ_INT(tp.fd, -1); /* moved */
  fl__ws_start(ws);
  return ws;
}

static void done_ws(fl_ws *ws, seen *s) {
  fl_ws_free(ws);
  if (srv >= 0) close(srv);
  srv = -1;
  fl__buf_dispose(&s->log);
  fl_loop_run(loop, FL_RUN_NOWAIT);
}

/* Run the loop until cond or about 5 s. */
#define RUN_UNTIL(cond)                                                                            \
  do {                                                                                             \
    for (int i_ = 0; i_ < 500 && !(cond); i_++) {                                                  \
      fl_loop_run(loop, FL_RUN_NOWAIT);                                                            \
      if (!(cond)) poll(NULL, 0, 10);                                                              \
    }                                                                                              \
    CHECK(cond);                                                                                   \
  } while (0)

static void srv_send(const void *p, size_t n) {
  const char *c = p;
  while (n) {
    ssize_t w = write(srv, c, n);
    if (w < 0 && errno == EAGAIN) {
      fl_loop_run(loop, FL_RUN_NOWAIT);
      continue;
    }
    CHECK(w > 0);
    c += w, n -= (size_t)w;
  }
}

static void srv_frame(int b0, const char *p, size_t n) {
  unsigned char h[4] = {(unsigned char)b0, (unsigned char)n};
  CHECK(n < 126);
  srv_send(h, 2);
  if (n) srv_send(p, n);
}

/* Read one client frame (running the loop meanwhile): opcode|fin<<7 and
 * the unmasked payload; -1 at EOF. */
static char inbuf[1 << 20];
static size_t inlen;
static int srv_fill(size_t need) {
  for (int i = 0; i < 500 && inlen < need; i++) {
    ssize_t r = read(srv, inbuf + inlen, sizeof inbuf - inlen);
    if (r > 0) {
      inlen += (size_t)r;
      continue;
    }
    if (r == 0) return -1;
    fl_loop_run(loop, FL_RUN_NOWAIT);
    poll(NULL, 0, 5);
  }
  return inlen >= need ? 0 : -1;
}
static int srv_read_frame(char *payload, size_t *n) {
  if (srv_fill(2)) return -1;
  const unsigned char *h = (const unsigned char *)inbuf;
  CHECK(h[1] & 0x80); /* masked */
  size_t len = h[1] & 0x7F, hl = 2;
  if (len == 126) {
    if (srv_fill(4)) return -1;
    len = ((size_t)h[2] << 8) | h[3], hl = 4;
  } else if (len == 127) {
    if (srv_fill(10)) return -1;
    len = 0;
    for (int i = 2; i < 10; i++) len = (len << 8) | h[i];
    hl = 10;
  }
  if (srv_fill(hl + 4 + len)) return -1;
  const unsigned char *key = h + hl;
  for (size_t i = 0; i < len; i++) payload[i] = (char)(inbuf[hl + 4 + i] ^ key[i & 3]);
  *n = len;
  int b0 = h[0];
  memmove(inbuf, inbuf + hl + 4 + len, inlen - (hl + 4 + len));
  inlen -= hl + 4 + len;
  return b0;
}
static int srv_eof(void) {
  for (int i = 0; i < 500; i++) {
    char c;
    ssize_t r = read(srv, &c, 1);
    if (r == 0) return 1;
    if (r > 0) return 0;
    fl_loop_run(loop, FL_RUN_NOWAIT);
    poll(NULL, 0, 5);
  }
  return 0;
}

static char pl[1 << 20];
static size_t pn;

static void test_early_echo_ping_close_by_server(void) {
  seen s;
  /* a text message came in the same read as the 101 */
  const char early[] = "\x81\x05hello";
  fl_ws *ws = open_ws(NULL, &s, early, 7, NULL);
  RUN_UNTIL(strstr(s.log.data, "hello"));
  CHECK_EQ_INT(fl_ws_send(ws, FL_WS_TEXT, "hi", 2), 0);
  CHECK_EQ_INT(srv_read_frame(pl, &pn), 0x81);
  CHECK(pn == 2 && memcmp(pl, "hi", 2) == 0);
  /* fragmented, with a ping between: the pong carries the ping's payload */
  srv_frame(0x01, "ab", 2);
  srv_frame(0x89, "pay", 3);
  srv_frame(0x80, "cd", 2);
  CHECK_EQ_INT(srv_read_frame(pl, &pn), 0x8A);
  CHECK(pn == 3 && memcmp(pl, "pay", 3) == 0);
  RUN_UNTIL(strstr(s.log.data, "abcd"));
  CHECK_EQ_STR(s.log.data, "T<>:hello|T<>:abcd|");
  /* the server closes: we echo its code, it closes TCP, close_cb says so */
  srv_frame(0x88,
            "\x03\xE9"
            "away",
            6);
  CHECK_EQ_INT(srv_read_frame(pl, &pn), 0x88);
  CHECK(pn == 2 && pl[0] == 0x03 && pl[1] == (char)0xE9);
  CHECK_EQ_INT(fl_ws_send(ws, FL_WS_TEXT, "x", 1), FL_EWS_CLOSED);
  close(srv);
  srv = -1;
  RUN_UNTIL(s.closes == 1);
  CHECK_EQ_INT(s.err, 0);
  CHECK_EQ_INT(s.code, 1001);
  CHECK_EQ_STR(s.reason, "away");
  fl_loop_run(loop, FL_RUN_NOWAIT);
  CHECK_EQ_INT(s.closes, 1);
  done_ws(ws, &s);
}

static void test_close_by_client(void) {
  seen s;
  fl_ws *ws = open_ws(NULL, &s, NULL, 0, NULL);
  CHECK_EQ_INT(fl_ws_close(ws, 999, NULL), FL_EINVAL);
  CHECK_EQ_INT(fl_ws_close(ws, 1000, "\xC0"), FL_EINVAL);
  CHECK_EQ_INT(fl_ws_close(ws, 4000, "done"), 0);
  CHECK_EQ_INT(fl_ws_close(ws, 1000, NULL), FL_EWS_CLOSED);
  CHECK_EQ_INT(srv_read_frame(pl, &pn), 0x88);
  CHECK(pn == 6 && memcmp(pl,
                          "\x0F\xA0"
                          "done",
                          6) == 0);
  srv_frame(0x81, "late", 4); /* still delivered */
  srv_frame(0x88, "\x0F\xA0", 2);
  close(srv);
  srv = -1;
  RUN_UNTIL(s.closes == 1);
  CHECK_EQ_INT(s.err, 0);
  CHECK_EQ_INT(s.code, 4000);
  CHECK_EQ_STR(s.log.data, "T<>:late|");
  done_ws(ws, &s);
}

static void test_protocol_failure(void) {
  /* A reserved opcode: close 1002 goes out, then the TCP close. */
  seen s;
  fl_ws *ws = open_ws(NULL, &s, NULL, 0, NULL);
  srv_frame(0x83, "", 0);
  CHECK_EQ_INT(srv_read_frame(pl, &pn), 0x88);
  CHECK(pn >= 2 && pl[0] == 0x03 && pl[1] == (char)0xEA);
  CHECK(srv_eof());
  RUN_UNTIL(s.closes == 1);
  CHECK_EQ_INT(s.err, FL_EWS_PROTOCOL);
  CHECK_EQ_INT(s.code, 1002);
  CHECK(strstr(fl_ws_errmsg(ws), "opcode"));
  done_ws(ws, &s);
  /* invalid UTF-8: 1007; too big: 1009 */
  ws = open_ws(NULL, &s, NULL, 0, NULL);
  srv_frame(0x81, "\xFF", 1);
  CHECK_EQ_INT(srv_read_frame(pl, &pn), 0x88);
  CHECK(pl[0] == 0x03 && pl[1] == (char)0xEF);
  RUN_UNTIL(s.closes == 1);
  CHECK_EQ_INT(s.err, FL_EWS_PROTOCOL);
  CHECK_EQ_INT(s.code, 1007);
  done_ws(ws, &s);
  fl_ws_options o;
  fl_ws_options_init(&o);
  o.max_message = 10;
  ws = open_ws(&o, &s, NULL, 0, NULL);
  srv_frame(0x82, "0123456789A", 11);
  CHECK_EQ_INT(srv_read_frame(pl, &pn), 0x88);
  CHECK(pl[0] == 0x03 && pl[1] == (char)0xF1);
  RUN_UNTIL(s.closes == 1);
  CHECK_EQ_INT(s.err, FL_EWS_TOO_BIG);
  CHECK_EQ_INT(s.code, 1009);
  done_ws(ws, &s);
}

static void test_abnormal_and_timeouts(void) {
  seen s;
  fl_ws *ws = open_ws(NULL, &s, NULL, 0, NULL);
  srv_frame(0x81, "a", 1);
  close(srv);
  srv = -1;
  RUN_UNTIL(s.closes == 1);
  CHECK_EQ_INT(s.err, FL_EWS_ABNORMAL);
  CHECK_EQ_INT(s.code, 1006);
  CHECK_EQ_STR(s.log.data, "T<>:a|");
  done_ws(ws, &s);
  /* heartbeat: pings go out; answered ones keep it alive, a missing pong ends it */
  fl_ws_options o;
  fl_ws_options_init(&o);
  o.heartbeat_ms = 50;
  o.pong_timeout_ms = 1000; /* generous: the answers come from this busy test */
  ws = open_ws(&o, &s, NULL, 0, NULL);
  for (int i = 0; i < 2; i++) {
    CHECK_EQ_INT(srv_read_frame(pl, &pn), 0x89);
    srv_frame(0x8A, pl, pn);
  }
  CHECK_EQ_INT(s.closes, 0);
  RUN_UNTIL(s.closes == 1); /* no more pongs */
  CHECK_EQ_INT(s.err, FL_ETIMEOUT);
  CHECK_EQ_INT(s.code, 1006);
  done_ws(ws, &s);
  /* read timeout: data keeps it alive, silence ends it */
  fl_ws_options_init(&o);
  o.read_timeout_ms = 500;
  ws = open_ws(&o, &s, NULL, 0, NULL);
  for (int i = 0; i < 4; i++) {
    poll(NULL, 0, 50);
    srv_frame(0x81, "k", 1);
    fl_loop_run(loop, FL_RUN_NOWAIT);
  }
  CHECK_EQ_INT(s.closes, 0);
  RUN_UNTIL(s.closes == 1);
  CHECK_EQ_INT(s.err, FL_EREAD_TIMEOUT);
  done_ws(ws, &s);
}

static void test_backpressure(void) {
  seen s;
  fl_ws_options o;
  fl_ws_options_init(&o);
  o.high_water = 64 * 1024;
  fl_ws *ws = open_ws(&o, &s, NULL, 0, NULL);
  static char big[16384];
  memset(big, 'z', sizeof big);
  int r = 0, sent = 0;
  for (; sent < 1000 && r == 0; sent++) r = fl_ws_send(ws, FL_WS_BINARY, big, sizeof big);
  CHECK_EQ_INT(r, 1); /* the server reads nothing: the queue passed the mark */
  CHECK(fl_ws_buffered(ws) > o.high_water);
  CHECK_EQ_INT(s.drains, 0);
  for (int i = 0; i < sent; i++) {
    int b0 = srv_read_frame(pl, &pn);
    CHECK_EQ_INT(b0, 0x82);
    CHECK_EQ_INT(pn, sizeof big);
  }
  RUN_UNTIL(s.drains == 1);
  CHECK_EQ_INT(fl_ws_buffered(ws), 0);
  done_ws(ws, &s);
}

static void test_free_inside_callback(void) {
  seen s;
  fl_ws *ws = open_ws(NULL, &s, NULL, 0, NULL);
  s.free_in_message = 1;
  srv_frame(0x81, "one", 3);
  srv_frame(0x81, "two", 3);
  RUN_UNTIL(strstr(s.log.data, "one"));
  CHECK(srv_eof()); /* freed: the connection closed at once */
  CHECK_EQ_STR(s.log.data, "T<>:one|");
  CHECK_EQ_INT(s.closes, 0); /* no callback after fl_ws_free */
  close(srv);
  srv = -1;
  fl__buf_dispose(&s.log);
  /* fl_ws_abort: close_cb once with FL_ECANCELED */
  ws = open_ws(NULL, &s, NULL, 0, NULL);
  CHECK_EQ_INT(fl_ws_abort(ws), 0);
  CHECK_EQ_INT(s.closes, 0); /* never from inside the call */
  RUN_UNTIL(s.closes == 1);
  CHECK_EQ_INT(s.err, FL_ECANCELED);
  CHECK_EQ_INT(fl_ws_abort(ws), FL_EINVAL);
  done_ws(ws, &s);
}

/* Pull mode through a coroutine: an echo that reads top to bottom. */
typedef struct echo {
  fl_coro co;
  fl_ws *ws;
  fl_ws_msg msg;
  int n, end_err, end_code;
} echo;

static void echo_body(fl_coro *co) {
  echo *e = FL_CORO_SELF(co, echo, co);
  FL_CORO_BEGIN(co);
  for (;;) {
    FL_AWAIT_WS_RECV(co, e->ws, &e->msg);
    if (co->err || e->msg.type == FL_WS_CLOSE) break;
    fl_ws_send(e->ws, e->msg.type, e->msg.data, e->msg.len);
    e->n++;
  }
  e->end_err = e->msg.err;
  e->end_code = e->msg.code;
  FL_CORO_END(co);
}

static void test_pull_coroutine(void) {
  int sv[2];
  CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  srv = sv[1];
  echo e = {0};
  e.ws = fl_ws_new(NULL);
  fl__transport tp;
  fl__transport_init(&tp);
  tp.fd = sv[0];
  tp.ops = &fl__tcp_transport_ops;
  fl__ws_pmd none = {0};
  CHECK_EQ_INT(fl__ws_adopt(e.ws, loop, &tp,
                            "\x82\x01"
                            "A\x82\x01"
                            "B",
                            6, &none),
               0);
  fl__ws_start(e.ws);
  fl_coro_start(&e.co, echo_body, NULL, NULL);
  CHECK_EQ_INT(srv_read_frame(pl, &pn), 0x82);
  CHECK(pn == 1 && pl[0] == 'A');
  CHECK_EQ_INT(srv_read_frame(pl, &pn), 0x82);
  CHECK(pn == 1 && pl[0] == 'B');
  srv_frame(0x81, "C", 1);
  CHECK_EQ_INT(srv_read_frame(pl, &pn), 0x81);
  srv_frame(0x88, "\x03\xE8", 2);
  CHECK_EQ_INT(srv_read_frame(pl, &pn), 0x88);
  close(srv);
  srv = -1;
  RUN_UNTIL(fl_coro_ended(&e.co));
  CHECK_EQ_INT(e.n, 3);
  CHECK_EQ_INT(e.end_err, 0);
  CHECK_EQ_INT(e.end_code, 1000);
  fl_ws_free(e.ws);
}

int main(void) {
  int fds = fl_test_count_fds();
  loop = fl_loop_new();
  test_early_echo_ping_close_by_server();
  test_close_by_client();
  test_protocol_failure();
  test_abnormal_and_timeouts();
  test_backpressure();
  test_free_inside_callback();
  test_pull_coroutine();
  fl_loop_run(loop, FL_RUN_NOWAIT);
  CHECK_EQ_INT(fl_loop_free(loop), 0);
  CHECK_EQ_INT(fl_test_count_fds(), fds);
  printf("ok\n");
  return 0;
}
