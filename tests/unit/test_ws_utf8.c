/* The incremental UTF-8 check of the WebSocket codec (fl__utf8_feed) against
 * a plain reference decoder (RFC 3629: no overlongs, no surrogates, nothing
 * past U+10FFFF), on long strings, since the check takes ASCII eight bytes
 * at a time outside a sequence: ASCII runs of every length around a
 * multi-byte or bad sequence at every offset, cut at every point; random
 * mixes from a fixed seed, cut at random points. Same verdict, and a valid
 * prefix leaves the same state (a sequence still open or not). */
/* LABELS: valgrind */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/ws_codec.h"
#include "test.h"

/* -1: invalid at some byte; 0: valid and complete; 1: valid so far, ends
 * inside a sequence. */
static int reference(const unsigned char *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned b = p[i];
    size_t len;
    uint32_t cp, min;
    if (b < 0x80) {
      i++;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      len = 2, cp = b & 0x1F, min = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3, cp = b & 0x0F, min = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4, cp = b & 0x07, min = 0x10000;
    } else {
      return -1;
    }
    size_t k = 1;
    for (; k < len && i + k < n; k++) {
      if ((p[i + k] & 0xC0) != 0x80) return -1;
      cp = cp << 6 | (p[i + k] & 0x3F);
    }
    if (k < len) { /* cut short: valid if some continuation completes it
                      (the range rules bind the second byte only) */
      for (unsigned c2 = 0x80; c2 <= 0xBF; c2++) { /* exhaustive on the next byte */
        unsigned char t[4];
        memcpy(t, p + i, k);
        t[k] = (unsigned char)c2;
        for (size_t j = k + 1; j < len; j++) t[j] = 0x80;
        for (unsigned c3 = 0x80; c3 <= (k + 1 < len ? 0xBFu : 0x80u); c3++) {
          if (k + 1 < len) t[k + 1] = (unsigned char)c3;
          uint32_t c = t[0] & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
          for (size_t j = 1; j < len; j++) c = c << 6 | (t[j] & 0x3F);
          if (c >= min && c <= 0x10FFFF && !(c >= 0xD800 && c <= 0xDFFF)) return 1;
        }
      }
      return -1;
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
    i += len;
  }
  return 0;
}

/* fl__utf8_feed over p cut at `cut`: the same three outcomes. */
static int feed2(const unsigned char *p, size_t n, size_t cut) {
  fl__utf8 u;
  fl__utf8_init(&u);
  if (fl__utf8_feed(&u, p, cut) || fl__utf8_feed(&u, p + cut, n - cut)) return -1;
  return fl__utf8_complete(&u) ? 0 : 1;
}

static const char *const seqs[] = {
    "\xC3\xA9",
    "\xE2\x82\xAC",
    "\xF0\x9F\x98\x80",
    "\xF4\x8F\xBF\xBF", /* valid */
    "\xC0\xAF",
    "\xE0\x80\xAF",
    "\xED\xA0\x80",
    "\xF4\x90\x80\x80", /* overlong, surrogate, too big */
    "\xFF",
    "\x80",
    "\xC3",
    "\xE2\x82", /* bad byte, lone continuation, cut */
    "\xF0\x9F\x98",
    "\xC3\x41",
};

static void test_runs(void) {
  unsigned char buf[64];
  int checked = 0;
  for (size_t s = 0; s < sizeof seqs / sizeof seqs[0]; s++) {
    size_t sl = strlen(seqs[s]);
    for (size_t pre = 0; pre <= 20; pre++) {
      for (size_t post = 0; post <= 20; post += 4) {
        size_t n = pre + sl + post;
        memset(buf, 'a', n);
        memcpy(buf + pre, seqs[s], sl);
        int want = reference(buf, n);
        for (size_t cut = 0; cut <= n; cut++) {
          int got = feed2(buf, n, cut);
          if (got != want) {
            fprintf(stderr, "seq %zu pre %zu post %zu cut %zu: got %d, want %d\n", s, pre, post,
                    cut, got, want);
            CHECK(0);
            return;
          }
          checked++;
        }
      }
    }
  }
  CHECK(checked > 10000);
}

static void test_random(void) {
  static const unsigned char pool[] = {'a',  'z',  0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0,
                                       0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0,
                                       0xF4, 0xF5, 0xFF, 0xC3, 0xA9, 0xE2, 0x82, 0xAC};
  unsigned char buf[80];
  srand(21);
  for (int t = 0; t < 100000; t++) {
    size_t n = (size_t)(rand() % 80);
    int ascii_pct = rand() % 100;
    for (size_t i = 0; i < n; i++)
      buf[i] = rand() % 100 < ascii_pct ? (unsigned char)('a' + rand() % 26)
                                        : pool[(size_t)rand() % sizeof pool];
    size_t cut = (size_t)rand() % (n + 1);
    int want = reference(buf, n), got = feed2(buf, n, cut);
    if (got != want) {
      fprintf(stderr, "random case %d (n %zu, cut %zu): got %d, want %d\n", t, n, cut, got, want);
      CHECK(0);
      return;
    }
  }
}

int main(void) {
  test_runs();
  test_random();
  printf("ok\n");
  return 0;
}
