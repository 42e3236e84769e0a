/* libFuzzer target: the WebSocket frame codec's receive side
 * (src/http/ws_codec.c), the bytes a server sends after the 101.
 *
 * Byte 0: bit 0 permessage-deflate agreed, bit 1 pieces mode, bit 2 the
 * server takes no context over, bits 3-5 the message cap (none, 1, 125,
 * 4096, 65536, 1 MiB, ...); byte 1 seeds the sizes of the pieces fed; the
 * rest is the stream. Checks: the same stream cut differently gives the same
 * messages and the same outcome; no message (whole or summed pieces) is
 * over the cap; a failure has a close code of 1002, 1007 or 1009 and a
 * message; text messages are valid UTF-8; close codes are valid; nothing
 * is read after a close frame or a failure. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flurry.h"
#include "http/ws_codec.h"

static void die(const char *what) {
  fprintf(stderr, "fuzz_ws_frame: %s\n", what);
  abort();
}

typedef struct sink {
  uint64_t max, msg_bytes, hash, events;
  fl__buf text; /* the current text message, to check its UTF-8 */
  int in_text;
} sink;

static int on_data(void *owner, int op, const char *p, size_t n, int first, int last) {
  sink *s = owner;
  if (first) s->msg_bytes = 0, s->in_text = op == FL__WS_TEXT, fl__buf_reset(&s->text);
  s->msg_bytes += n;
  if (s->max && s->msg_bytes > s->max) die("message over the cap delivered");
  if (s->in_text && fl__buf_append(&s->text, p, n)) die("oom");
  if (last && s->in_text && !fl__utf8_valid(s->text.data ? s->text.data : "", s->text.len))
    die("invalid UTF-8 delivered");
  for (size_t i = 0; i < n; i++) s->hash = s->hash * 31 + (unsigned char)p[i];
  s->hash = s->hash * 7 + (uint64_t)op + (last ? 1000 : 0);
  s->events++;
  return 0;
}

static int on_control(void *owner, int op, int code, const char *p, size_t n) {
  sink *s = owner;
  if (n > 125) die("control payload over 125");
  if (op == FL__WS_CLOSE && code != FL__WS_NO_STATUS && !fl__ws_close_code_valid(code))
    die("invalid close code delivered");
  for (size_t i = 0; i < n; i++) s->hash = s->hash * 31 + (unsigned char)p[i];
  s->hash = s->hash * 11 + (uint64_t)op + (uint64_t)code;
  s->events++;
  return 0;
}

static const fl__ws_rx_ops ops = {on_data, on_control};

static int run(const uint8_t *d, size_t n, int mode, uint64_t max, unsigned seed, uint64_t *hash,
               int *code) {
  fl__ws_pmd pmd = {.on = mode & 1, .server_no_context_takeover = (mode >> 2) & 1};
  sink s = {.max = max};
  fl__buf_init(&s.text);
  fl__ws_rx rx;
  fl__ws_rx_init(&rx, &ops, &s, max, (mode >> 1) & 1);
  if (fl__ws_rx_set_pmd(&rx, &pmd)) die("oom");
  int r = 0;
  size_t at = 0;
  while (at < n && r == 0) {
    size_t piece = seed ? 1 + (seed * 2654435761u + at) % (seed + 1) : n - at;
    if (piece > n - at) piece = n - at;
    size_t used = 0;
    r = fl__ws_rx_feed(&rx, (const char *)d + at, piece, &used);
    if (used > piece) die("used more than fed");
    if (r == 0 && used != piece) die("not all used without a stop");
    at += used;
  }
  if (r == FL__WS_FAIL) {
    if (rx.fail_code != 1002 && rx.fail_code != 1007 && rx.fail_code != 1009) die("bad close code");
    if (!rx.errmsg[0]) die("a failure without a message");
    size_t used = 1;
    if (fl__ws_rx_feed(&rx, "x", 1, &used) != 0 || used != 0) die("read after a failure");
  }
  *hash = s.hash ^ (s.events << 32);
  *code = r == FL__WS_FAIL ? rx.fail_code : r;
  fl__ws_rx_dispose(&rx);
  fl__buf_dispose(&s.text);
  return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  static const uint64_t caps[8] = {0, 1, 125, 4096, 65536, 1u << 20, 16, 300};
  int mode = data[0] & 7;
  uint64_t max = caps[(data[0] >> 3) & 7];
  unsigned seed = data[1];
  uint64_t h1, h2;
  int c1, c2;
  run(data + 2, size - 2, mode, max, 0, &h1, &c1);
  run(data + 2, size - 2, mode, max, seed, &h2, &c2);
  if (c1 != c2) die("the outcome depends on the cuts");
  if (!((mode >> 1) & 1) && h1 != h2) die("the messages depend on the cuts");
  return 0;
}
