/* UTF-8 of the text we send (src/client/ws_api.c): fl_ws_send and
 * fl_ws_send_fragment refuse text that is not valid UTF-8 with FL_EWS_UTF8
 * and put nothing on the wire, also when the bad byte is in a later piece
 * of a fragmented message or the last piece ends inside a character; a
 * piece may end inside a character that the next completes; binary is
 * never checked; after a refusal the message can still be completed. An
 * open fl_ws over a socket pair, the test reading the client's frames. */
/* LABELS: valgrind tsan */
#include <errno.h>
#include <poll.h>
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
static int srv = -1;

static fl_ws *open_ws(int compress) {
  int sv[2];
  CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  srv = sv[1];
  fl_ws *ws = fl_ws_new(NULL);
  CHECK(ws);
  fl__transport tp;
  fl__transport_init(&tp);
  tp.fd = sv[0];
  tp.ops = &fl__tcp_transport_ops;
  fl__ws_pmd pmd = {0};
  pmd.on = compress;
  CHECK_EQ_INT(fl__ws_adopt(ws, loop, &tp, NULL, 0, &pmd), 0);
  fl__ws_start(ws);
  return ws;
}

/* 1 if the client wrote nothing more (after letting the loop run). */
static int wire_quiet(void) {
  for (int i = 0; i < 3; i++) fl_loop_run(loop, FL_RUN_NOWAIT);
  char c;
  ssize_t r = recv(srv, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static char inbuf[1 << 16];
static size_t inlen;

/* One client frame: b0 (fin and opcode), its unmasked payload into p. */
static int read_frame(char *p, size_t *n) {
  for (int i = 0; i < 500; i++) {
    ssize_t r = read(srv, inbuf + inlen, sizeof inbuf - inlen);
    if (r > 0) inlen += (size_t)r;
    if (inlen >= 2) {
      const unsigned char *h = (const unsigned char *)inbuf;
      CHECK(h[1] & 0x80);
      size_t len = h[1] & 0x7F;
      CHECK(len < 126);
      if (inlen >= 6 + len) {
        for (size_t k = 0; k < len; k++) p[k] = (char)(inbuf[6 + k] ^ h[2 + (k & 3)]);
        *n = len;
        int b0 = h[0];
        memmove(inbuf, inbuf + 6 + len, inlen - 6 - len);
        inlen -= 6 + len;
        return b0;
      }
    }
    fl_loop_run(loop, FL_RUN_NOWAIT);
    poll(NULL, 0, 5);
  }
  return -1;
}

#define EXPECT_FRAME(b0, payload)                                                                  \
  do {                                                                                             \
    char p_[128];                                                                                  \
    size_t n_ = 0;                                                                                 \
    CHECK_EQ_INT(read_frame(p_, &n_), (b0));                                                       \
    CHECK(n_ == sizeof(payload) - 1 && memcmp(p_, (payload), n_) == 0);                            \
  } while (0)

static void close_ws(fl_ws *ws) {
  fl_ws_free(ws);
  close(srv);
  srv = -1;
  inlen = 0;
  fl_loop_run(loop, FL_RUN_NOWAIT);
}

static void test_whole(void) {
  fl_ws *ws = open_ws(0);
  static const char *const bad[] = {
      "a\xC0\xAF",         /* overlong */
      "\xED\xA0\x80",      /* surrogate */
      "\xF4\x90\x80\x80",  /* past U+10FFFF */
      "\xFF",              /* never valid */
      "ends in \xE2\x82",  /* cut character */
      "\x80 continuation", /* no start */
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    CHECK_EQ_INT(fl_ws_send(ws, FL_WS_TEXT, bad[i], strlen(bad[i])), FL_EWS_UTF8);
  CHECK(wire_quiet()); /* nothing was sent */
  CHECK(fl_err_curl_code(FL_EWS_UTF8) > 0);
  CHECK(strstr(fl_strerror(FL_EWS_UTF8), "UTF-8"));
  /* still open: good text and any binary go */
  CHECK_EQ_INT(fl_ws_send(ws, FL_WS_TEXT, "h\xC3\xA9 \xF0\x9F\x98\x80", 8), 0);
  EXPECT_FRAME(0x81, "h\xC3\xA9 \xF0\x9F\x98\x80");
  CHECK_EQ_INT(fl_ws_send(ws, FL_WS_BINARY, "\xC0\xAF", 2), 0);
  EXPECT_FRAME(0x82, "\xC0\xAF");
  CHECK_EQ_INT(fl_ws_send(ws, FL_WS_TEXT, "", 0), 0);
  EXPECT_FRAME(0x81, "");
  close_ws(ws);
}

static void test_fragments(void) {
  fl_ws *ws = open_ws(0);
  /* a character split over two pieces is fine */
  CHECK_EQ_INT(fl_ws_send_fragment(ws, FL_WS_TEXT, "ok\xE2\x82", 4, 0), 0);
  EXPECT_FRAME(0x01, "ok\xE2\x82");
  CHECK_EQ_INT(fl_ws_send_fragment(ws, 0, "\xAC!", 2, 1), 0);
  EXPECT_FRAME(0x80, "\xAC!");
  /* a bad byte in a later piece: refused, nothing sent, the message open */
  CHECK_EQ_INT(fl_ws_send_fragment(ws, FL_WS_TEXT, "x\xED", 2, 0), 0);
  EXPECT_FRAME(0x01, "x\xED");
  CHECK_EQ_INT(fl_ws_send_fragment(ws, 0, "\xA0\x80", 2, 0), FL_EWS_UTF8); /* a surrogate */
  CHECK_EQ_INT(fl_ws_send_fragment(ws, 0, "A", 1, 1), FL_EWS_UTF8);        /* cut short */
  CHECK(wire_quiet());
  CHECK_EQ_INT(fl_ws_send(ws, FL_WS_TEXT, "y", 1), FL_EINVAL); /* still open */
  /* control frames still go between pieces, and the message can end well */
  CHECK_EQ_INT(fl_ws_ping(ws, "p", 1), 0);
  EXPECT_FRAME(0x89, "p");
  CHECK_EQ_INT(fl_ws_send_fragment(ws, 0, "\x9F", 1, 0), 0);
  EXPECT_FRAME(0x00, "\x9F");
  CHECK_EQ_INT(fl_ws_send_fragment(ws, 0, "\xBF\xC3", 2, 1), FL_EWS_UTF8); /* ends cut */
  CHECK_EQ_INT(fl_ws_send_fragment(ws, 0, "\xBFz", 2, 1), 0);
  EXPECT_FRAME(0x80, "\xBFz");
  /* a first piece that is bad opens nothing */
  CHECK_EQ_INT(fl_ws_send_fragment(ws, FL_WS_TEXT, "\xC1", 1, 0), FL_EWS_UTF8);
  CHECK_EQ_INT(fl_ws_send(ws, FL_WS_TEXT, "fresh", 5), 0);
  EXPECT_FRAME(0x81, "fresh");
  /* a new text message starts from a clean state, even after a binary one */
  CHECK_EQ_INT(fl_ws_send_fragment(ws, FL_WS_BINARY, "\xE2", 1, 0), 0);
  EXPECT_FRAME(0x02, "\xE2");
  CHECK_EQ_INT(fl_ws_send_fragment(ws, 0, "\xFF", 1, 1), 0);
  EXPECT_FRAME(0x80, "\xFF");
  CHECK_EQ_INT(fl_ws_send_fragment(ws, FL_WS_TEXT, "\x82\xAC", 2, 1), FL_EWS_UTF8);
  CHECK_EQ_INT(fl_ws_send_fragment(ws, FL_WS_TEXT, "a", 1, 1), 0);
  EXPECT_FRAME(0x81, "a");
  close_ws(ws);
}

static void test_compressed(void) {
  /* with permessage-deflate the check runs on the text before compressing */
  fl_ws *ws = open_ws(1);
  CHECK_EQ_INT(fl_ws_send(ws, FL_WS_TEXT, "bad \xC3", 5), FL_EWS_UTF8);
  CHECK_EQ_INT(fl_ws_send_fragment(ws, FL_WS_TEXT, "abc\xC3", 4, 0), 0);
  CHECK_EQ_INT(fl_ws_send_fragment(ws, 0, "(", 1, 1), FL_EWS_UTF8);
  CHECK_EQ_INT(fl_ws_send_fragment(ws, 0, "\xA9", 1, 1), 0);
  close_ws(ws);
}

int main(void) {
  int fds = fl_test_count_fds();
  loop = fl_loop_new();
  test_whole();
  test_fragments();
  test_compressed();
  fl_loop_run(loop, FL_RUN_NOWAIT);
  CHECK_EQ_INT(fl_loop_free(loop), 0);
  CHECK_EQ_INT(fl_test_count_fds(), fds);
  printf("ok\n");
  return 0;
}
