/* The WebSocket frame codec (src/http/ws_codec.c): every bad input of
 * issue 21's list fails with its RFC 6455 close code; every stream gives
 * the same messages whatever offsets the bytes are cut at; UTF-8 is checked
 * across fragments and fails at the first impossible byte; permessage-
 * deflate round trips, keeps its context, and a deflate bomb ends in 1009
 * with bounded memory; frames we send are masked and well formed. */
/* LABELS: valgrind */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/buf.h"
#include "http/ws_codec.h"
#include "test.h"

/* ------------------------------------------------------------ recorder */

typedef struct rec {
  fl__buf log;
  uint64_t piece_bytes; /* pieces mode: bytes handed on */
  int stop_after;       /* stop the feed after this many events (0: never) */
  int events;
} rec;

static void logf_(rec *r, const char *s, size_t n) { fl__buf_append(&r->log, s, n); }

static int on_data(void *owner, int op, const char *p, size_t n, int first, int last) {
  rec *r = owner;
  char h[32];
  snprintf(h, sizeof h, "%s%s%s:", op == FL__WS_TEXT ? "T" : "B", first ? "<" : "",
           last ? ">" : "");
  logf_(r, h, strlen(h));
  if (n > 64) { /* long ones by length */
    snprintf(h, sizeof h, "#%zu", n);
    logf_(r, h, strlen(h));
  } else {
    logf_(r, p, n);
  }
  logf_(r, "|", 1);
  r->piece_bytes += n;
  return r->stop_after && ++r->events >= r->stop_after;
}

static int on_control(void *owner, int op, int code, const char *p, size_t n) {
  rec *r = owner;
  char h[32];
  if (op == FL__WS_CLOSE)
    snprintf(h, sizeof h, "C%d:", code);
  else
    snprintf(h, sizeof h, "%s:", op == FL__WS_PING ? "PI" : "PO");
  logf_(r, h, strlen(h));
  logf_(r, p, n);
  logf_(r, "|", 1);
  return r->stop_after && ++r->events >= r->stop_after;
}

static const fl__ws_rx_ops ops = {on_data, on_control};

/* ------------------------------------------------------- frame builder */

/* A server frame: b0 as given (FIN/RSV/opcode), unmasked unless mask. */
static void frame(fl__buf *b, int b0, const void *p, size_t n, int mask) {
  unsigned char h[14];
  size_t hl = 2;
  h[0] = (unsigned char)b0;
  if (n < 126) {
    h[1] = (unsigned char)n;
  } else if (n <= 0xFFFF) {
    h[1] = 126, h[2] = (unsigned char)(n >> 8), h[3] = (unsigned char)n, hl = 4;
  } else {
    h[1] = 127;
    for (int i = 0; i < 8; i++) h[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
    hl = 10;
  }
  if (mask) {
    h[1] |= 0x80;
    memset(h + hl, 0, 4);
    hl += 4;
  }
  fl__buf_append(b, h, hl);
  if (n) fl__buf_append(b, p, n);
}

static void frame_s(fl__buf *b, int b0, const char *s) { frame(b, b0, s, strlen(s), 0); }

/* Feed all of in in pieces cut at the given offsets (sorted; -1 ends).
 * Returns the feed result of the last call made. */
static int feed_cut(fl__ws_rx *rx, const fl__buf *in, const size_t *cuts, size_t ncuts) {
  size_t at = 0;
  int r = 0;
  for (size_t i = 0; i <= ncuts; i++) {
    size_t end = i < ncuts ? cuts[i] : in->len;
    size_t used = 0;
    /* Each piece is a fresh copy, scribbled over after the call. */
    size_t n = end - at;
    char *copy = malloc(n ? n : 1);
    memcpy(copy, in->data + at, n);
    r = fl__ws_rx_feed(rx, copy, n, &used);
    memset(copy, 'X', n);
    free(copy);
    if (r) return r;
    CHECK_EQ_INT(used, n);
    at = end;
  }
  return r;
}

/* The log of feeding in whole (with pmd when given). */
static char *run(const fl__buf *in, int pieces, uint64_t max, const fl__ws_pmd *pmd, int *res,
                 int *code) {
  fl__ws_rx rx;
  rec r = {0};
  fl__buf_init(&r.log);
  fl__buf_puts(&r.log, "");
  fl__ws_rx_init(&rx, &ops, &r, max, pieces);
  CHECK(fl__ws_rx_set_pmd(&rx, pmd) == 0);
  *res = feed_cut(&rx, in, NULL, 0);
  *code = rx.fail_code;
  fl__ws_rx_dispose(&rx);
  return r.log.data;
}

/* Feeding in at every single cut, at every pair of cuts, and byte by byte
 * gives the same log and result as feeding it whole. */
static void check_all_cuts(const fl__buf *in, int pieces, const fl__ws_pmd *pmd) {
  int res0, code0;
  char *whole = run(in, pieces, 0, pmd, &res0, &code0);
  size_t n = in->len;
  for (size_t a = 0; a <= n; a++) {
    for (size_t b = a; b <= n; b += (n > 200 ? 17 : 1)) {
      fl__ws_rx rx;
      rec r = {0};
      fl__buf_init(&r.log);
      fl__buf_puts(&r.log, "");
      fl__ws_rx_init(&rx, &ops, &r, 0, pieces);
      CHECK(fl__ws_rx_set_pmd(&rx, pmd) == 0);
      size_t cuts[2] = {a, b};
      int res = feed_cut(&rx, in, cuts, 2);
      CHECK_EQ_INT(res, res0);
      CHECK_EQ_INT(rx.fail_code, code0);
      if (!pieces) CHECK_EQ_STR(r.log.data, whole);
      fl__ws_rx_dispose(&rx);
      fl__buf_dispose(&r.log);
    }
  }
  /* byte by byte */
  fl__ws_rx rx;
  rec r = {0};
  fl__buf_init(&r.log);
  fl__buf_puts(&r.log, "");
  fl__ws_rx_init(&rx, &ops, &r, 0, 0);
  CHECK(fl__ws_rx_set_pmd(&rx, pmd) == 0);
  int res = 0;
  for (size_t i = 0; i < n && res == 0; i++) {
    size_t used;
    res = fl__ws_rx_feed(&rx, in->data + i, 1, &used);
  }
  CHECK_EQ_INT(res, res0);
  if (!pieces) CHECK_EQ_STR(r.log.data, whole);
  fl__ws_rx_dispose(&rx);
  fl__buf_dispose(&r.log);
  free(whole);
}

/* Expect feeding in (whole) to fail with code. */
static void expect_fail(const char *what, const fl__buf *in, int code, const fl__ws_pmd *pmd,
                        uint64_t max) {
  int res, got;
  char *log = run(in, 0, max, pmd, &res, &got);
  if (res != FL__WS_FAIL || got != code) {
    fprintf(stderr, "%s: result %d code %d, wanted %d (log %s)\n", what, res, got, code, log);
    exit(1);
  }
  free(log);
  check_all_cuts(in, 0, pmd); /* and the same wherever it is cut */
}

/* --------------------------------------------------------------- tests */

static void test_utf8(void) {
  CHECK(fl__utf8_valid("", 0));
  CHECK(fl__utf8_valid("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80", 16));
  CHECK(fl__utf8_valid("\xF4\x8F\xBF\xBF", 4)); /* U+10FFFF */
  static const char *const bad[] = {
      "\xC0\xAF",         "\xC1\xBF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80",
      "\xF5\x80\x80\x80", "\xFF",     "\x80",         "\xC3",         "\xE2\x82"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    CHECK(!fl__utf8_valid(bad[i], strlen(bad[i])));
  /* Fails at the deciding byte, not at the end: E0 80 cannot become valid. */
  fl__utf8 u;
  fl__utf8_init(&u);
  CHECK(fl__utf8_feed(&u, (const unsigned char *)"ok\xE0", 3) == 0);
  CHECK(!fl__utf8_complete(&u));
  CHECK(fl__utf8_feed(&u, (const unsigned char *)"\x80", 1) == -1);
  fl__utf8_init(&u);
  CHECK(fl__utf8_feed(&u, (const unsigned char *)"\xED", 1) == 0);
  CHECK(fl__utf8_feed(&u, (const unsigned char *)"\xA0", 1) == -1); /* a surrogate */
}

static void test_messages_and_cuts(void) {
  fl__buf in;
  fl__buf_init(&in);
  frame_s(&in, 0x81, "hello");
  frame_s(&in, 0x82, "bin");
  frame_s(&in, 0x81, "");
  /* fragmented text with a ping and a pong between the fragments; the euro
   * sign's three bytes are split over the fragments */
  frame_s(&in, 0x01, "frag\xE2");
  frame_s(&in, 0x89, "p1");
  frame_s(&in, 0x00, "\x82");
  frame_s(&in, 0x8A, "");
  frame_s(&in, 0x80, "\xAC!");
  char mid[300];
  memset(mid, 'm', sizeof mid); /* 16-bit length */
  frame(&in, 0x82, mid, sizeof mid, 0);
  frame_s(&in, 0x88,
          "\x03\xE8"
          "bye");
  int res, code;
  char *log = run(&in, 0, 0, NULL, &res, &code);
  CHECK_EQ_INT(res, FL__WS_STOP); /* the close ends the feed */
  CHECK_EQ_STR(log, "T<>:hello|B<>:bin|T<>:|PI:p1|PO:|T<>:frag\xE2\x82\xAC!|B<>:#300|C1000:bye|");
  free(log);
  log = run(&in, 1, 0, NULL, &res, &code);
  CHECK_EQ_STR(log, "T<:hello|T>:|B<:bin|B>:|T<>:|T<:frag\xE2|PI:p1|T:\x82|PO:|T:\xAC!|T>:|B<:#300|"
                    "B>:|C1000:bye|");
  free(log);
  check_all_cuts(&in, 0, NULL);
  check_all_cuts(&in, 1, NULL);
  /* 64-bit length, and bytes after the close are not read */
  fl__buf_reset(&in);
  char *big = malloc(70000);
  memset(big, 'b', 70000);
  frame(&in, 0x82, big, 70000, 0);
  frame_s(&in, 0x88, "");
  frame_s(&in, 0x81, "after");
  log = run(&in, 0, 0, NULL, &res, &code);
  CHECK_EQ_STR(log, "B<>:#70000|C1005:|");
  free(log);
  free(big);
  fl__buf_dispose(&in);
}

static void test_stop(void) {
  /* An op that asks to stop ends the feed right there, with used saying
   * how far it got. */
  fl__buf in;
  fl__buf_init(&in);
  frame_s(&in, 0x81, "one");
  frame_s(&in, 0x81, "two");
  fl__ws_rx rx;
  rec r = {0};
  fl__buf_init(&r.log);
  r.stop_after = 1;
  fl__ws_rx_init(&rx, &ops, &r, 0, 0);
  size_t used = 0;
  CHECK_EQ_INT(fl__ws_rx_feed(&rx, in.data, in.len, &used), FL__WS_STOP);
  CHECK_EQ_INT(used, 5);
  CHECK_EQ_STR(r.log.data, "T<>:one|");
  fl__ws_rx_dispose(&rx);
  fl__buf_dispose(&r.log);
  fl__buf_dispose(&in);
}

static void test_bad_input(void) {
  fl__buf in;
  fl__buf_init(&in);
#define BAD_CASE(what, code, build)                                                                \
  do {                                                                                             \
    fl__buf_reset(&in);                                                                            \
    frame_s(&in, 0x81, "ok");                                                                      \
    build;                                                                                         \
    expect_fail(what, &in, code, NULL, 0);                                                         \
  } while (0)
  BAD_CASE("masked", 1002, frame(&in, 0x81, "hi", 2, 1));
  BAD_CASE("rsv1 without extension", 1002, frame_s(&in, 0xC1, "hi"));
  BAD_CASE("rsv2", 1002, frame_s(&in, 0xA1, "hi"));
  BAD_CASE("rsv3", 1002, frame_s(&in, 0x91, "hi"));
  BAD_CASE("opcode 3", 1002, frame_s(&in, 0x83, "hi"));
  BAD_CASE("opcode 7", 1002, frame_s(&in, 0x87, ""));
  BAD_CASE("opcode B", 1002, frame_s(&in, 0x8B, ""));
  BAD_CASE("opcode F", 1002, frame_s(&in, 0x8F, ""));
  char big[200];
  memset(big, 'x', sizeof big);
  BAD_CASE("ping over 125", 1002, frame(&in, 0x89, big, 126, 0));
  BAD_CASE("close over 125", 1002, frame(&in, 0x88, big, 126, 0));
  BAD_CASE("fragmented ping", 1002, frame_s(&in, 0x09, "p"));
  BAD_CASE("fragmented close", 1002, frame_s(&in, 0x08, "\x03\xE8"));
  BAD_CASE("continuation without start", 1002, frame_s(&in, 0x80, "x"));
  BAD_CASE("new message inside a fragmented one", 1002,
           (frame_s(&in, 0x01, "a"), frame_s(&in, 0x81, "b")));
  BAD_CASE("invalid utf-8", 1007, frame_s(&in, 0x81, "a\xC0\xAF"));
  BAD_CASE("text ends in a sequence", 1007, frame_s(&in, 0x81, "a\xE2\x82"));
  BAD_CASE("invalid utf-8 in a close reason", 1007, frame_s(&in, 0x88, "\x03\xE8\xFF"));
  BAD_CASE("one-byte close", 1002, frame(&in, 0x88, "\x03", 1, 0));
  static const int codes[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535};
  for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
    char pl[2] = {(char)(codes[i] >> 8), (char)codes[i]};
    char what[40];
    snprintf(what, sizeof what, "close code %d", codes[i]);
    BAD_CASE(what, 1002, frame(&in, 0x88, pl, 2, 0));
  }
  /* valid ones pass */
  static const int good[] = {1000, 1001, 1003, 1007, 1011, 1014, 3000, 4999};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) CHECK(fl__ws_close_code_valid(good[i]));
  /* a 64-bit length over the cap fails from the header alone */
  fl__buf_reset(&in);
  in.len = 0;
  fl__buf_append(&in, "\x82\x7F\x00\x00\x00\x01\x00\x00\x00\x00", 10); /* 4 GiB */
  expect_fail("64-bit length over the cap", &in, 1009, NULL, 4u << 20);
  fl__buf_reset(&in);
  fl__buf_append(&in, "\x82\x7F\x80\x00\x00\x00\x00\x00\x00\x01", 10);
  expect_fail("64-bit length with the top bit", &in, 1002, NULL, 0);
  /* the cap counts across fragments */
  fl__buf_reset(&in);
  frame(&in, 0x02, big, 100, 0);
  frame(&in, 0x80, big, 100, 0);
  expect_fail("fragments over the cap", &in, 1009, NULL, 150);
  /* the first fragment's invalid UTF-8 fails before the message ends */
  fl__buf_reset(&in);
  frame_s(&in, 0x01, "ok\xF5");
  expect_fail("utf-8 in the first fragment", &in, 1007, NULL, 0);
  fl__buf_reset(&in);
  frame_s(&in, 0x01, "ok\xE0");
  frame_s(&in, 0x00, "\x80");
  expect_fail("utf-8 across fragments", &in, 1007, NULL, 0);
  fl__buf_dispose(&in);
#undef BAD_CASE
}

/* ------------------------------------------------------------- deflate */

/* Raw deflate of p with a sync flush and the tail removed (what a server
 * sends), continuing the context in zs. */
static void zpayload(z_stream *zs, fl__buf *out, const void *p, size_t n) {
  fl__buf_reset(out);
  fl__buf_reserve(out, n + 1024);
  zs->next_in = (Bytef *)(uintptr_t)p;
  zs->avail_in = (uInt)n;
  do {
    fl__buf_reserve(out, 65536);
    zs->next_out = (Bytef *)out->data + out->len;
    zs->avail_out = 65536;
    deflate(zs, Z_SYNC_FLUSH);
    out->len += 65536 - zs->avail_out;
  } while (zs->avail_out == 0);
  CHECK(out->len >= 4 && memcmp(out->data + out->len - 4, "\0\0\xff\xff", 4) == 0);
  out->len -= 4;
}

static void test_deflate(void) {
  fl__ws_pmd pmd = {.on = 1};
  z_stream zs = {0};
  CHECK(deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  fl__buf in, z;
  fl__buf_init(&in);
  fl__buf_init(&z);
  const char *m1 = "compressed hello, compressed hello, compressed hello \xE2\x82\xAC";
  zpayload(&zs, &z, m1, strlen(m1));
  frame(&in, 0xC1, z.data, z.len, 0);
  /* the second message uses the first one's context (takeover), and comes
   * in three fragments with a ping between */
  zpayload(&zs, &z, m1, strlen(m1));
  size_t third = z.len / 3;
  frame(&in, 0x41, z.data, third, 0);
  frame_s(&in, 0x89, "x");
  frame(&in, 0x00, z.data + third, third, 0);
  frame(&in, 0x80, z.data + 2 * third, z.len - 2 * third, 0);
  frame_s(&in, 0x81, "plain"); /* uncompressed messages may be mixed in */
  int res, code;
  char *log = run(&in, 0, 0, &pmd, &res, &code);
  CHECK_EQ_INT(res, 0);
  char want[300];
  snprintf(want, sizeof want, "T<>:%s|PI:x|T<>:%s|T<>:plain|", m1, m1);
  CHECK_EQ_STR(log, want);
  free(log);
  check_all_cuts(&in, 0, &pmd);
  /* rsv1 on a continuation or a control frame is still an error */
  fl__buf_reset(&in);
  frame_s(&in, 0x01, "a");
  frame_s(&in, 0xC0, "b");
  expect_fail("rsv1 on a continuation", &in, 1002, &pmd, 0);
  fl__buf_reset(&in);
  frame_s(&in, 0xC9, "");
  expect_fail("rsv1 on a ping", &in, 1002, &pmd, 0);
  /* garbage that is not deflate */
  fl__buf_reset(&in);
  frame(&in, 0xC2, "\xFF\xFF\xFF\xFF", 4, 0);
  expect_fail("bad deflate data", &in, 1002, &pmd, 0);
  /* compressed invalid UTF-8 */
  z_stream zs2 = {0};
  CHECK(deflateInit2(&zs2, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  zpayload(&zs2, &z, "bad \xC0\xAF utf8", 12);
  fl__buf_reset(&in);
  frame(&in, 0xC1, z.data, z.len, 0);
  expect_fail("compressed bad utf-8", &in, 1007, &pmd, 0);
  deflateEnd(&zs2);
  deflateEnd(&zs);
  fl__buf_dispose(&in);
  fl__buf_dispose(&z);
}

static void test_bomb(void) {
  /* 64 MiB of zeros is about 64 KB compressed: with a 4 MiB cap it ends
   * in 1009 after about 4 MiB of output, in either mode. */
  z_stream zs = {0};
  CHECK(deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  size_t chunk = 1 << 20;
  char *zeros = calloc(1, chunk);
  fl__buf z, in;
  fl__buf_init(&z);
  fl__buf_init(&in);
  fl__buf all;
  fl__buf_init(&all);
  for (int i = 0; i < 64; i++) {
    zs.next_in = (Bytef *)zeros;
    zs.avail_in = (uInt)chunk;
    do {
      fl__buf_reserve(&all, 65536);
      zs.next_out = (Bytef *)all.data + all.len;
      zs.avail_out = 65536;
      deflate(&zs, i == 63 ? Z_SYNC_FLUSH : Z_NO_FLUSH);
      all.len += 65536 - zs.avail_out;
    } while (zs.avail_out == 0);
  }
  all.len -= 4;
  CHECK(all.len < 1u << 20);
  frame(&in, 0xC2, all.data, all.len, 0);
  fl__ws_pmd pmd = {.on = 1};
  for (int pieces = 0; pieces <= 1; pieces++) {
    fl__ws_rx rx;
    rec r = {0};
    fl__buf_init(&r.log);
    fl__ws_rx_init(&rx, &ops, &r, 4u << 20, pieces);
    CHECK(fl__ws_rx_set_pmd(&rx, &pmd) == 0);
    size_t used;
    CHECK_EQ_INT(fl__ws_rx_feed(&rx, in.data, in.len, &used), FL__WS_FAIL);
    CHECK_EQ_INT(rx.fail_code, 1009);
    CHECK(rx.msg.cap <= (8u << 20));
    CHECK(r.piece_bytes <= (4u << 20));
    fl__ws_rx_dispose(&rx);
    fl__buf_dispose(&r.log);
  }
  deflateEnd(&zs);
  free(zeros);
  fl__buf_dispose(&z);
  fl__buf_dispose(&in);
  fl__buf_dispose(&all);
}

/* ---------------------------------------------------------------- send */

/* Turn our masked frames into the server's view (unmasked), checking the
 * mask bit on each. */
static void unmask_all(const fl__buf *out, fl__buf *plain) {
  size_t i = 0;
  while (i < out->len) {
    const unsigned char *h = (const unsigned char *)out->data + i;
    CHECK(h[1] & 0x80);
    uint64_t n = h[1] & 0x7F;
    size_t hl = 2;
    if (n == 126) n = ((uint64_t)h[2] << 8) | h[3], hl = 4;
    if (n == 127) {
      n = 0;
      for (int k = 2; k < 10; k++) n = (n << 8) | h[k];
      hl = 10;
    }
    const unsigned char *key = h + hl;
    unsigned char nh[14];
    memcpy(nh, h, hl);
    nh[1] &= 0x7F;
    fl__buf_append(plain, nh, hl);
    for (uint64_t k = 0; k < n; k++) {
      char c = (char)(h[hl + 4 + k] ^ key[k & 3]);
      fl__buf_append(plain, &c, 1);
    }
    i += hl + 4 + n;
  }
  CHECK_EQ_INT(i, out->len);
}

static void test_send(void) {
  fl__ws_tx tx;
  fl__ws_tx_init(&tx);
  fl__buf out, plain;
  fl__buf_init(&out);
  fl__buf_init(&plain);
  static const size_t sizes[] = {0, 1, 125, 126, 65535, 65536, 100000};
  char *p = malloc(100000);
  for (size_t i = 0; i < 100000; i++) p[i] = (char)('a' + i % 26);
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
    CHECK(fl__ws_tx_frame(&tx, &out, FL__WS_BINARY, 1, 0, p, sizes[i]) == 0);
  CHECK(fl__ws_tx_frame(&tx, &out, FL__WS_TEXT, 0, 0, "fr", 2) == 0);
  CHECK(fl__ws_tx_frame(&tx, &out, FL__WS_PING, 1, 0, "pp", 2) == 0);
  CHECK(fl__ws_tx_frame(&tx, &out, FL__WS_BINARY, 1, 0, "x", 1) == FL_EINVAL); /* one is open */
  CHECK(fl__ws_tx_frame(&tx, &out, FL__WS_CONT, 1, 0, "ag", 2) == 0);
  CHECK(fl__ws_tx_frame(&tx, &out, FL__WS_CONT, 1, 0, "x", 1) == FL_EINVAL); /* none open */
  CHECK(fl__ws_tx_frame(&tx, &out, FL__WS_PING, 1, 0, p, 126) == FL_EINVAL);
  CHECK(fl__ws_tx_close(&tx, &out, 1000, "done", 4) == 0);
  /* two identical frames get different masks */
  size_t a = out.len;
  CHECK(fl__ws_tx_frame(&tx, &out, FL__WS_TEXT, 1, 0, "same", 4) == 0);
  size_t b = out.len;
  CHECK(fl__ws_tx_frame(&tx, &out, FL__WS_TEXT, 1, 0, "same", 4) == 0);
  CHECK(memcmp(out.data + a + 2, out.data + b + 2, 8) != 0);
  out.len = a;
  unmask_all(&out, &plain);
  int res, code;
  char *log = run(&plain, 0, 0, NULL, &res, &code);
  CHECK_EQ_STR(log, "B<>:|B<>:a|B<>:#125|B<>:#126|B<>:#65535|B<>:#65536|B<>:#100000|PI:pp|T<>:frag|"
                    "C1000:done|");
  free(log);
  fl__ws_tx_dispose(&tx);

  /* compressed, with and without context takeover, fragmented too */
  for (int reset = 0; reset <= 1; reset++) {
    fl__ws_pmd pmd = {
        .on = 1, .client_no_context_takeover = reset, .server_no_context_takeover = reset};
    fl__ws_tx_init(&tx);
    CHECK(fl__ws_tx_set_pmd(&tx, &pmd) == 0);
    fl__buf_reset(&out);
    fl__buf_reset(&plain);
    for (int k = 0; k < 3; k++) CHECK(fl__ws_tx_frame(&tx, &out, FL__WS_TEXT, 1, 1, p, 1000) == 0);
    CHECK(out.len < 1000); /* the later copies compress to almost nothing with takeover */
    CHECK(fl__ws_tx_frame(&tx, &out, FL__WS_BINARY, 0, 1, p, 500) == 0);
    CHECK(fl__ws_tx_frame(&tx, &out, FL__WS_CONT, 0, 1, p, 0) == 0);
    CHECK(fl__ws_tx_frame(&tx, &out, FL__WS_CONT, 1, 1, p + 500, 500) == 0);
    CHECK(fl__ws_tx_frame(&tx, &out, FL__WS_TEXT, 1, 1, "", 0) == 0);
    CHECK(fl__ws_tx_frame(&tx, &out, FL__WS_TEXT, 1, 0, "raw", 3) == 0);
    /* an empty compressed message, and one whose last fragment is empty,
     * leave the receiver's inflater in step for the next one */
    CHECK(fl__ws_tx_frame(&tx, &out, FL__WS_TEXT, 1, 1, "", 0) == 0);
    CHECK(fl__ws_tx_frame(&tx, &out, FL__WS_BINARY, 0, 1, p, 300) == 0);
    CHECK(fl__ws_tx_frame(&tx, &out, FL__WS_CONT, 1, 1, p, 0) == 0);
    CHECK(fl__ws_tx_frame(&tx, &out, FL__WS_TEXT, 1, 1, p, 1000) == 0);
    unmask_all(&out, &plain);
    /* the receiver's view of the same agreement */
    log = run(&plain, 0, 0, &pmd, &res, &code);
    CHECK_EQ_INT(res, 0);
    CHECK_EQ_STR(log, "T<>:#1000|T<>:#1000|T<>:#1000|B<>:#1000|T<>:|T<>:raw|T<>:|B<>:#300|T<>:#1000|");
    free(log);
    fl__ws_tx_dispose(&tx);
  }
  /* a client window of 8 bits: zlib cannot keep to it, so nothing is compressed */
  fl__ws_pmd pmd8 = {.on = 1, .client_max_window_bits = 8};
  fl__ws_tx_init(&tx);
  CHECK(fl__ws_tx_set_pmd(&tx, &pmd8) == 0);
  fl__buf_reset(&out);
  CHECK(fl__ws_tx_frame(&tx, &out, FL__WS_TEXT, 1, 1, "abc", 3) == 0);
  CHECK((out.data[0] & 0x40) == 0);
  fl__ws_tx_dispose(&tx);
  free(p);
  fl__buf_dispose(&out);
  fl__buf_dispose(&plain);
}

int main(void) {
  test_utf8();
  test_messages_and_cuts();
  test_stop();
  test_bad_input();
  test_deflate();
  test_bomb();
  test_send();
  printf("ok\n");
  return 0;
}
