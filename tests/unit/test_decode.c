/* Unit tests for src/decode.c: streaming Content-Encoding decoding.
 * All compressed inputs are made here at run time with zlib, libzstd and,
 * when the brotli encoder library is present, libbrotlienc. */
/* TIMEOUT: 120 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>
#include <zstd.h>
#ifdef FL_TEST_HAVE_BROTLIENC
#include <brotli/encode.h>
#endif

#include "base/buf.h"
#include "http/decode.h"
#include "flurry.h"
#include "test.h"

/* ------------------------------------------------------------ helpers */

typedef struct blob {
  unsigned char *p;
  size_t n;
} blob;

/* Every blob made here is freed at the end of main. */
static void *allocs[512];
static size_t nallocs;
static void *tracked(size_t n) {
  CHECK(nallocs < sizeof allocs / sizeof allocs[0]);
  void *p = malloc(n);
  CHECK(p);
  return allocs[nallocs++] = p;
}
static void free_all(void) {
  while (nallocs > 0) free(allocs[--nallocs]);
}

static blob blob_dup(blob a) {
  blob r = {tracked(a.n + 1), a.n};
  CHECK(r.p);
  if (a.n) memcpy(r.p, a.p, a.n);
  return r;
}

static blob blob_cat(blob a, blob b) {
  blob r = {tracked(a.n + b.n + 1), a.n + b.n};
  CHECK(r.p);
  memcpy(r.p, a.p, a.n);
  memcpy(r.p + a.n, b.p, b.n);
  return r;
}

/* wbits: 16+15 gzip, 15 zlib, -15 raw deflate. */
static blob zcompress(const void *src, size_t n, int wbits) {
  z_stream z;
  memset(&z, 0, sizeof z);
  CHECK(deflateInit2(&z, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  blob r = {tracked(deflateBound(&z, n) + 16), 0};
  CHECK(r.p);
  z.next_in = (Bytef *)(uintptr_t)src;
  z.avail_in = (uInt)n;
  z.next_out = r.p;
  z.avail_out = (uInt)deflateBound(&z, n) + 16;
  CHECK(deflate(&z, Z_FINISH) == Z_STREAM_END);
  r.n = z.total_out;
  deflateEnd(&z);
  return r;
}

static blob gz(blob b) { return zcompress(b.p, b.n, 16 + MAX_WBITS); }
static blob zl(blob b) { return zcompress(b.p, b.n, MAX_WBITS); }
static blob raw(blob b) { return zcompress(b.p, b.n, -MAX_WBITS); }

#ifdef FL_TEST_HAVE_BROTLIENC
static blob br(blob b) {
  size_t cap = BrotliEncoderMaxCompressedSize(b.n) + 16;
  blob r = {tracked(cap), cap};
  CHECK(r.p);
  CHECK(BrotliEncoderCompress(5, 22, BROTLI_MODE_GENERIC, b.n, b.p, &r.n, r.p));
  return r;
}
#endif

/* zstd with a window of 2^wlog bytes (0: the level's default); the content
 * size is left out of the frame header when `unsized`, so the header
 * declares the window itself rather than the (smaller) content size. */
static blob zstd_w(blob b, int wlog, int unsized) {
  ZSTD_CCtx *cc = ZSTD_createCCtx();
  CHECK(cc);
  if (wlog) CHECK(!ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, wlog)));
  size_t cap = ZSTD_compressBound(b.n) + 64;
  blob r = {tracked(cap), 0};
  ZSTD_outBuffer out = {r.p, cap, 0};
  ZSTD_inBuffer in = {b.p, b.n, 0};
  if (unsized) /* data before the end: the size is unknown to the header */
    CHECK(!ZSTD_isError(ZSTD_compressStream2(cc, &out, &in, ZSTD_e_continue)));
  size_t left;
  do {
    left = ZSTD_compressStream2(cc, &out, &in, ZSTD_e_end);
    CHECK(!ZSTD_isError(left));
  } while (left);
  r.n = out.pos;
  ZSTD_freeCCtx(cc);
  return r;
}
static blob zs(blob b) { return zstd_w(b, 0, 0); }

/* A skippable frame (RFC 8878 3.1.2) with n bytes of user data. */
static blob zstd_skippable(size_t n) {
  blob r = {tracked(8 + n), 8 + n};
  memcpy(r.p, "\x5a\x2a\x4d\x18", 4); /* 0x184D2A5A little-endian */
  r.p[4] = (unsigned char)n, r.p[5] = (unsigned char)(n >> 8), r.p[6] = 0, r.p[7] = 0;
  memset(r.p + 8, 'S', n);
  return r;
}

/* Text that compresses well but not absurdly: ~300 KB. */
static blob sample(size_t n) {
  blob r = {tracked(n), n};
  CHECK(r.p);
  uint32_t x = 12345;
  static const char *words[] = {"flurry ", "gzip ",     "deflate ", "brotli ", "cookie ",
                                "\n",      "HTTP/1.1 ", "200 ",     "OK ",     "\x01\xff"};
  size_t i = 0;
  while (i < n) {
    x = x * 1103515245u + 12345u;
    const char *w = words[(x >> 16) % 10];
    for (size_t k = 0; w[k] && i < n; k++) r.p[i++] = (unsigned char)w[k];
    if ((x >> 8) % 7 == 0 && i < n) r.p[i++] = (unsigned char)(x >> 3); /* some entropy */
  }
  return r;
}

typedef struct collect {
  fl__decoder *free_me; /* sink frees this decoder on its first piece */
  int free_rc;          /* and returns this */
  fl__buf out;
  size_t pieces, max_piece;
  int stop_after; /* return FL_ECALLBACK_ABORT after this many pieces (0 never) */
  int keep;       /* 0: count only */
  uint64_t total;
} collect;

static int sink(void *data, const char *p, size_t n) {
  collect *c = data;
  CHECK(p != NULL && n > 0 && n <= FL__DECODE_PIECE);
  c->pieces++;
  c->total += n;
  if (n > c->max_piece) c->max_piece = n;
  if (c->keep) CHECK(fl__buf_append(&c->out, p, n) == 0);
  if (c->free_me) {
    fl__decoder_free(c->free_me);
    c->free_me = NULL;
    return c->free_rc;
  }
  if (c->stop_after && c->pieces >= (size_t)c->stop_after) return FL_ECALLBACK_ABORT;
  return 0;
}

enum split { WHOLE, BYTES, RANDOM };
static const char *split_name[] = {"whole", "bytes", "random"};

/* Decode in with the given coding and split; returns the error, output in c. */
static int decode(const char *ce, blob in, enum split how, uint64_t max, collect *c, char *msg,
                  size_t msgcap) {
  fl__decoder *d;
  memset(c, 0, sizeof *c);
  c->keep = 1;
  fl__buf_init(&c->out);
  int rc = fl__decoder_init(&d, ce, max, msg, msgcap);
  if (rc) return rc;
  size_t off = 0;
  uint32_t x = (uint32_t)in.n;
  while (rc == 0 && off < in.n) {
    size_t n = in.n - off;
    if (how == BYTES)
      n = 1;
    else if (how == RANDOM) {
      x = x * 1664525u + 1013904223u;
      size_t r = (x >> 8) % 5 == 0 ? (x >> 4) % 70000 : (x >> 4) % 300;
      n = r + 1 < n ? r + 1 : n;
    }
    rc = fl__decoder_feed(d, (const char *)in.p + off, n, sink, c);
    off += n;
  }
  if (rc == 0) rc = fl__decoder_finish(d, sink, c);
  if (msg) snprintf(msg, msgcap, "%s", fl__decoder_errmsg(d));
  fl__decoder_free(d);
  return rc;
}

static void expect_round_trip(const char *ce, blob enc, blob plain) {
  for (int how = WHOLE; how <= RANDOM; how++) {
    if (how == BYTES && enc.n > 200000) continue;
    collect c;
    char msg[200];
    int rc = decode(ce, enc, (enum split)how, 0, &c, msg, sizeof msg);
    if (rc != 0 || c.out.len != plain.n || (plain.n && memcmp(c.out.data, plain.p, plain.n) != 0)) {
      fprintf(stderr, "round trip \"%s\" (%s split): rc %d (%s), %zu bytes, want %zu\n", ce,
              split_name[how], rc, msg, c.out.len, plain.n);
      exit(1);
    }
    CHECK(c.max_piece <= FL__DECODE_PIECE);
    fl__buf_dispose(&c.out);
  }
}

static void expect_error(const char *ce, blob enc, int want, const char *msg_part) {
  for (int how = WHOLE; how <= RANDOM; how++) {
    collect c;
    char msg[200];
    int rc = decode(ce, enc, (enum split)how, 0, &c, msg, sizeof msg);
    if (rc != want || (msg_part && !strstr(msg, msg_part))) {
      fprintf(stderr, "\"%s\" (%s split): rc %d (%s) \"%s\", want %d with \"%s\"\n", ce,
              split_name[how], rc, fl_err_name(rc), msg, want, msg_part ? msg_part : "");
      exit(1);
    }
    fl__buf_dispose(&c.out);
  }
}


/* -------------------------------------------------------------- tests */

static void test_identity(blob plain) {
  expect_round_trip("", plain, plain);
  expect_round_trip("identity", plain, plain);
  expect_round_trip(" IDENTITY , ,identity ", plain, plain);
  fl__decoder *d;
  CHECK(fl__decoder_init(&d, NULL, 0, NULL, 0) == 0);
  CHECK(fl__decoder_is_identity(d));
  collect c = {.keep = 1};
  fl__buf_init(&c.out);
  CHECK(fl__decoder_feed(d, (const char *)plain.p, plain.n, sink, &c) == 0); /* one big feed */
  CHECK(fl__decoder_finish(d, sink, &c) == 0);
  CHECK(c.max_piece == FL__DECODE_PIECE && c.out.len == plain.n);
  CHECK(fl__decoder_total_out(d) == plain.n);
  fl__decoder_free(d);
  fl__buf_dispose(&c.out);
}

static void test_single(blob plain) {
  blob g = gz(plain), z = zl(plain), r = raw(plain);
  expect_round_trip("gzip", g, plain);
  expect_round_trip("x-gzip", g, plain);
  expect_round_trip("GZip", g, plain);
  expect_round_trip("deflate", z, plain);
  expect_round_trip("deflate", r, plain); /* raw deflate fallback */
  expect_round_trip("Deflate", r, plain);

  /* Raw deflate whose first two bytes happen not to form a zlib header must
   * also work for tiny bodies: every length from 0 to 40. */
  for (size_t n = 0; n <= 40; n++) {
    blob small = {plain.p, n};
    blob e1 = raw(small), e2 = zl(small), e3 = gz(small);
    expect_round_trip("deflate", e1, small);
    expect_round_trip("deflate", e2, small);
    expect_round_trip("gzip", e3, small);
  }
  blob zz = zs(plain);
  expect_round_trip("zstd", zz, plain);
  expect_round_trip("ZStd", zz, plain);
  expect_round_trip("zstd", zstd_w(plain, 10, 1), plain); /* small window, unsized */
  for (size_t n = 0; n <= 40; n++) {
    blob small = {plain.p, n};
    expect_round_trip("zstd", zs(small), small);
  }
#ifdef FL_TEST_HAVE_BROTLIENC
  blob b = br(plain);
  expect_round_trip("br", b, plain);
  expect_round_trip("BR", b, plain);
#else
  printf("note: libbrotlienc not available, br round trips skipped\n");
#endif
}

static void test_chains(blob plain) {
  /* "a, b" means a was applied first, then b. */
  blob g = gz(plain), gz_zl = zl(g), gz_raw = raw(g), gg = gz(g);
  expect_round_trip("gzip, deflate", gz_zl, plain);
  expect_round_trip("gzip,deflate", gz_raw, plain);
  expect_round_trip("gzip, identity, gzip", gg, plain);
  blob g3 = gz(gg), g4 = gz(g3), g5 = gz(g4);
  expect_round_trip("gzip, gzip, gzip, gzip, gzip", g5, plain);
  expect_round_trip("x-gzip,gzip , identity,GZIP,gzip", g4, plain);
#ifdef FL_TEST_HAVE_BROTLIENC
  blob g_br = br(g), br_g = gz(br(plain)), brbr = br(br(plain));
  blob z_br_g = gz(br(zl(plain)));
  expect_round_trip("gzip, br", g_br, plain);
  expect_round_trip("br, gzip", br_g, plain);
  expect_round_trip("br, br", brbr, plain);
  expect_round_trip("deflate, br, gzip", z_br_g, plain);
#endif
  blob g_zs = zs(g), zs_g = gz(zs(plain)), zszs = zs(zs(plain));
  expect_round_trip("gzip, zstd", g_zs, plain);
  expect_round_trip("zstd, gzip", zs_g, plain);
  expect_round_trip("zstd, zstd", zszs, plain);
#ifdef FL_TEST_HAVE_BROTLIENC
  expect_round_trip("zstd, br, deflate", zl(br(zs(plain))), plain);
#endif
  /* Wrong order is corrupt data, not silently passed through. */
  expect_error("deflate, gzip", gz_zl, FL_EBAD_ENCODING, "corrupt gzip");
  expect_error("zstd, gzip", g_zs, FL_EBAD_ENCODING, "corrupt gzip");
}

static void test_bad_headers(void) {
  fl__decoder *d = (fl__decoder *)1;
  char msg[200];
  CHECK(fl__decoder_init(&d, "gzip, gzip, gzip, gzip, gzip, gzip", 0, msg, sizeof msg) ==
        FL_EBAD_ENCODING);
  CHECK(d == NULL);
  CHECK(strstr(msg, "more than 5"));
  CHECK(fl__decoder_init(&d, "identity,identity,identity,identity,identity,identity", 0, msg,
                         sizeof msg) == FL_EBAD_ENCODING);
  CHECK(fl__decoder_init(&d, "br,gzip,deflate,identity,x-gzip", 0, msg, sizeof msg) == 0);
  fl__decoder_free(d);
  CHECK(fl__decoder_init(&d, "compress", 0, msg, sizeof msg) == FL_EBAD_ENCODING);
  CHECK_EQ_STR(msg, "unsupported content coding \"compress\"");
  CHECK(fl__decoder_init(&d, "gzip, zstd", 0, msg, sizeof msg) == 0);
  fl__decoder_free(d);
  CHECK(fl__decoder_init(&d, "gzip, zst", 0, msg, sizeof msg) == FL_EBAD_ENCODING);
  CHECK_EQ_STR(msg, "unsupported content coding \"zst\"");
  CHECK(fl__decoder_init(&d, "x-zstd", 0, NULL, 0) == FL_EBAD_ENCODING);
  CHECK(fl__decoder_init(&d, "gzip;q=1", 0, NULL, 0) == FL_EBAD_ENCODING);
  CHECK(fl__decoder_init(&d, "gzipx", 0, NULL, 0) == FL_EBAD_ENCODING);
  CHECK(fl__decoder_init(&d, "x-deflate", 0, NULL, 0) == FL_EBAD_ENCODING);
  CHECK(fl__decoder_init(&d, " , ,", 0, NULL, 0) == 0);
  CHECK(fl__decoder_is_identity(d));
  fl__decoder_free(d);
  fl__decoder_free(NULL);
}

static void test_members(blob plain) {
  blob a = {plain.p, 1000}, b = {plain.p + 1000, 70000}, c = {plain.p + 71000, 5};
  blob ga = gz(a), gb = gz(b), gc = gz(c);
  blob ab = blob_cat(ga, gb), abc = blob_cat(ab, gc);
  blob want = {plain.p, 71005};
  expect_round_trip("gzip", abc, want);

  /* An empty member in between. */
  blob e = {plain.p, 0};
  blob ge = gz(e), ae = blob_cat(ga, ge), aeb = blob_cat(ae, gb);
  expect_round_trip("gzip", aeb, (blob){plain.p, 71000});

  /* Trailing garbage after the last member is ignored (as curl does). */
  blob junk = {(unsigned char *)"this is not gzip\n", 17};
  blob aj = blob_cat(ga, junk);
  expect_round_trip("gzip", aj, a);
  blob nul = {(unsigned char *)"\0\0\0\0", 4};
  blob an = blob_cat(ga, nul);
  expect_round_trip("gzip", an, a);
  blob one = {(unsigned char *)"\x1f", 1};
  blob a1 = blob_cat(ga, one);
  expect_round_trip("gzip", a1, a);
  /* ... but a second member that starts and then breaks is corrupt. */
  blob bad2 = blob_cat(ga, (blob){(unsigned char *)"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
                                                   "\xff\xff\xff\xff",
                                  14});
  expect_error("gzip", bad2, FL_EBAD_ENCODING, "corrupt gzip");
  /* ... and a second member cut short is truncated. */
  blob trunc2 = blob_cat(ga, (blob){gb.p, gb.n / 2});
  expect_error("gzip", trunc2, FL_EBAD_ENCODING, "truncated gzip");
  /* deflate and br: data after the end is ignored too. */
  blob z = zl(a), zj = blob_cat(z, junk);
  expect_round_trip("deflate", zj, a);
#ifdef FL_TEST_HAVE_BROTLIENC
  blob bb = br(a), bj = blob_cat(bb, junk);
  expect_round_trip("br", bj, a);
#endif

  /* zstd: frames one after the other, skippable frames between them,
   * garbage after the last one ignored (also when shorter than a magic). */
  blob za = zs(a), zb = zs(b), zc = zs(c);
  blob zab = blob_cat(za, zb), zabc = blob_cat(zab, zc);
  expect_round_trip("zstd", zabc, want);
  blob zsk = blob_cat(blob_cat(za, zstd_skippable(300)), zb);
  expect_round_trip("zstd", zsk, (blob){plain.p, 71000});
  expect_round_trip("zstd", blob_cat(zstd_skippable(5), za), a);
  expect_round_trip("zstd", blob_cat(za, junk), a);
  expect_round_trip("zstd", blob_cat(za, nul), a);
  expect_round_trip("zstd", blob_cat(za, (blob){(unsigned char *)"\x28\xb5\x2f", 3}), a);
  /* ... but a second frame cut short is truncated. */
  expect_error("zstd", blob_cat(za, (blob){zb.p, zb.n / 2}), FL_EBAD_ENCODING, "truncated zstd");
}

static void test_corrupt(blob plain) {
  blob g = gz(plain);
  /* Bad magic. */
  blob m = blob_dup(g);
  m.p[0] = 'x';
  expect_error("gzip", m, FL_EBAD_ENCODING, "corrupt gzip");
  /* Flipped bytes in the compressed data (caught by deflate or the CRC). */
  blob f = blob_dup(g);
  for (size_t i = 100; i < 120; i++) f.p[i] ^= 0x5a;
  expect_error("gzip", f, FL_EBAD_ENCODING, "corrupt gzip");
  /* Wrong CRC in the trailer. */
  blob crc = blob_dup(g);
  crc.p[crc.n - 8] ^= 1;
  expect_error("gzip", crc, FL_EBAD_ENCODING, "incorrect data check");
  /* Plain text declared as gzip / deflate. */
  blob text = {(unsigned char *)"<html>hello</html>", 18};
  expect_error("gzip", text, FL_EBAD_ENCODING, "corrupt gzip");
  expect_error("deflate", text, FL_EBAD_ENCODING, NULL);
  /* zlib stream with a bad Adler-32. */
  blob z = zl(plain);
  z.p[z.n - 1] ^= 1;
  expect_error("deflate", z, FL_EBAD_ENCODING, "corrupt deflate");
  /* zlib stream asking for a preset dictionary (FDICT). */
  blob dict = {(unsigned char *)"\x78\xbb\x00\x00\x00\x01\x4b\x04\x00", 9};
  expect_error("deflate", dict, FL_EBAD_ENCODING, "dictionary");
#ifdef FL_TEST_HAVE_BROTLIENC
  blob b = br(plain);
  for (size_t i = 50; i < 70; i++) b.p[i] ^= 0xa5;
  expect_error("br", b, FL_EBAD_ENCODING, "corrupt br");
#endif
  expect_error("br", text, FL_EBAD_ENCODING, NULL);
  expect_error("zstd", text, FL_EBAD_ENCODING, "corrupt zstd");
  blob zz = blob_dup(zs(plain));
  for (size_t i = zz.n / 2; i < zz.n / 2 + 20; i++) zz.p[i] ^= 0xa5;
  expect_error("zstd", zz, FL_EBAD_ENCODING, "corrupt zstd");
  /* A frame whose window is over 8 MiB (RFC 9659) is refused before its
   * window is allocated; 8 MiB itself is fine. */
  blob small = {plain.p, 5000};
  expect_error("zstd", zstd_w(small, 24, 1), FL_EBAD_ENCODING, "a window over 8388608 bytes");
  expect_round_trip("zstd", zstd_w(small, 23, 1), small);

  /* After an error the decoder stays failed. */
  fl__decoder *d;
  collect c = {0};
  CHECK(fl__decoder_init(&d, "gzip", 0, NULL, 0) == 0);
  CHECK(fl__decoder_feed(d, (const char *)m.p, m.n, sink, &c) == FL_EBAD_ENCODING);
  CHECK(fl__decoder_feed(d, (const char *)g.p, g.n, sink, &c) == FL_EBAD_ENCODING);
  CHECK(fl__decoder_finish(d, sink, &c) == FL_EBAD_ENCODING);
  CHECK(c.total == 0);
  fl__decoder_free(d);
}

static void test_truncated(blob plain) {
  blob g = gz(plain), z = zl(plain), r = raw(plain);
  expect_error("gzip", (blob){g.p, g.n - 4}, FL_EBAD_ENCODING, "truncated gzip");
  expect_error("gzip", (blob){g.p, g.n / 2}, FL_EBAD_ENCODING, "truncated gzip");
  expect_error("gzip", (blob){g.p, 5}, FL_EBAD_ENCODING, "truncated gzip");
  expect_error("deflate", (blob){z.p, z.n - 1}, FL_EBAD_ENCODING, "truncated deflate");
  expect_error("deflate", (blob){z.p, 1}, FL_EBAD_ENCODING, "truncated deflate");
  expect_error("deflate", (blob){r.p, r.n / 3}, FL_EBAD_ENCODING, "truncated deflate");
  blob zz = zs(plain);
  expect_error("zstd", (blob){zz.p, zz.n - 1}, FL_EBAD_ENCODING, "truncated zstd");
  expect_error("zstd", (blob){zz.p, 3}, FL_EBAD_ENCODING, "truncated zstd");
  expect_error("gzip, zstd", zs((blob){g.p, g.n - 3}), FL_EBAD_ENCODING, "truncated gzip");
#ifdef FL_TEST_HAVE_BROTLIENC
  blob b = br(plain);
  expect_error("br", (blob){b.p, b.n - 1}, FL_EBAD_ENCODING, "truncated br");
  /* Truncated inner stream of a chain: the outer one is complete. */
  blob gb = gz(plain), gb_br = br((blob){gb.p, gb.n - 3});
  expect_error("gzip, br", gb_br, FL_EBAD_ENCODING, "truncated gzip");
#endif
}

static void test_empty(void) {
  static const char *ces[] = {
      "", "identity", "gzip", "deflate", "br", "zstd", "gzip, br, deflate, zstd"};
  for (size_t i = 0; i < sizeof ces / sizeof ces[0]; i++) {
    fl__decoder *d;
    collect c = {0};
    CHECK(fl__decoder_init(&d, ces[i], 10, NULL, 0) == 0);
    CHECK(fl__decoder_feed(d, "", 0, sink, &c) == 0);
    CHECK(fl__decoder_finish(d, sink, &c) == 0);
    CHECK(fl__decoder_finish(d, sink, &c) == 0); /* twice is fine */
    CHECK(c.pieces == 0 && fl__decoder_total_out(d) == 0);
    CHECK_EQ_STR(fl__decoder_errmsg(d), "");
    fl__decoder_free(d);
  }
  /* A gzip of nothing is not an empty body but decodes to nothing. */
  blob e = gz((blob){(unsigned char *)"", 0});
  expect_round_trip("gzip", e, (blob){(unsigned char *)"", 0});
  expect_round_trip("zstd", zs((blob){(unsigned char *)"", 0}), (blob){(unsigned char *)"", 0});
}

static void test_limit_and_sink(blob plain) {
  blob g = gz(plain);
  collect c;
  /* The limit is inclusive. */
  CHECK(decode("gzip", g, RANDOM, plain.n, &c, NULL, 0) == 0);
  CHECK(c.out.len == plain.n);
  fl__buf_dispose(&c.out);
  char msg[200];
  CHECK(decode("gzip", g, RANDOM, plain.n - 1, &c, msg, sizeof msg) == FL_EFILESIZE_EXCEEDED);
  CHECK(c.out.len <= plain.n - 1);
  CHECK(strstr(msg, "exceeds the limit"));
  fl__buf_dispose(&c.out);
  CHECK(decode("zstd", zs(plain), RANDOM, plain.n, &c, NULL, 0) == 0);
  CHECK(c.out.len == plain.n);
  fl__buf_dispose(&c.out);
  CHECK(decode("zstd", zs(plain), RANDOM, plain.n - 1, &c, msg, sizeof msg) ==
        FL_EFILESIZE_EXCEEDED);
  CHECK(c.out.len <= plain.n - 1);
  fl__buf_dispose(&c.out);
  CHECK(decode("", plain, WHOLE, 1000, &c, NULL, 0) == FL_EFILESIZE_EXCEEDED);
  CHECK(c.out.len == 0); /* the first piece (16 KiB) would cross it */
  fl__buf_dispose(&c.out);

  /* The sink stops decoding; its value comes back as is. */
  fl__decoder *d;
  memset(&c, 0, sizeof c);
  c.stop_after = 2;
  CHECK(fl__decoder_init(&d, "gzip", 0, NULL, 0) == 0);
  CHECK(fl__decoder_feed(d, (const char *)g.p, g.n, sink, &c) == FL_ECALLBACK_ABORT);
  CHECK(c.pieces == 2);
  CHECK(fl__decoder_feed(d, "x", 1, sink, &c) == FL_ECALLBACK_ABORT);
  CHECK(fl__decoder_finish(d, sink, &c) == FL_ECALLBACK_ABORT);
  CHECK(c.pieces == 2);
  fl__decoder_free(d);

  /* The sink may free the decoder (deferred to the end of feed). */
  static const char *ces[] = {"gzip", "", "gzip, gzip", "zstd"};
  blob gg = gz(g);
  blob ins[] = {g, plain, gg, zs(plain)};
  for (int i = 0; i < 4; i++)
    for (int rcv = 0; rcv < 2; rcv++) {
      memset(&c, 0, sizeof c);
      CHECK(fl__decoder_init(&d, ces[i], 0, NULL, 0) == 0);
      c.free_me = d;
      c.free_rc = rcv ? FL_EWRITE : 0;
      int rc = fl__decoder_feed(d, (const char *)ins[i].p, ins[i].n, sink, &c);
      CHECK_EQ_INT(rc, rcv ? FL_EWRITE : FL_ECANCELED);
      CHECK(c.pieces == 1); /* no piece after the free */
    }

  /* Feeding after a successful finish is ignored. */
  memset(&c, 0, sizeof c);
  CHECK(fl__decoder_init(&d, "gzip", 0, NULL, 0) == 0);
  CHECK(fl__decoder_feed(d, (const char *)g.p, g.n, sink, &c) == 0);
  CHECK(fl__decoder_finish(d, sink, &c) == 0);
  CHECK(fl__decoder_feed(d, (const char *)g.p, g.n, sink, &c) == 0);
  CHECK(c.total == plain.n);
  fl__decoder_free(d);
}

/* 128 MiB of zeros, compressed here (about 130 KB). */
static blob make_bomb(int wbits) {
  static unsigned char zeros[1 << 20];
  z_stream z;
  memset(&z, 0, sizeof z);
  CHECK(deflateInit2(&z, 9, Z_DEFLATED, wbits, 9, Z_RLE) == Z_OK);
  size_t cap = 1 << 20;
  blob r = {tracked(cap), 0};
  CHECK(r.p);
  z.next_out = r.p;
  z.avail_out = (uInt)cap;
  for (int i = 0; i < 128; i++) {
    z.next_in = zeros;
    z.avail_in = sizeof zeros;
    CHECK(deflate(&z, i == 127 ? Z_FINISH : Z_NO_FLUSH) != Z_STREAM_ERROR);
    CHECK(z.avail_in == 0 && z.avail_out > 0);
  }
  r.n = z.total_out;
  deflateEnd(&z);
  return r;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Feed enc in reads of `chunk` bytes. */
static void bomb_case(const char *ce, blob enc, uint64_t max, size_t chunk) {
  fl__decoder *d;
  collect c = {0}; /* count only: nothing is kept */
  double t0 = now_s();
  CHECK(fl__decoder_init(&d, ce, max, NULL, 0) == 0);
  int rc = 0;
  size_t off = 0, fed_when_failed = 0;
  while (rc == 0 && off < enc.n) {
    size_t n = enc.n - off < chunk ? enc.n - off : chunk;
    rc = fl__decoder_feed(d, (const char *)enc.p + off, n, sink, &c);
    off += n;
    fed_when_failed = off;
  }
  if (rc == 0) rc = fl__decoder_finish(d, sink, &c);
  double dt = now_s() - t0;
  size_t peak = fl__decoder_mem_peak(d);
  printf("bomb \"%s\" %zu bytes, max %llu: %s after %zu input bytes, %llu delivered, "
         "peak %zu bytes, %.3f s\n",
         ce, enc.n, (unsigned long long)max, fl_err_name(rc), fed_when_failed,
         (unsigned long long)c.total, peak, dt);
  if (max) {
    CHECK_EQ_INT(rc, FL_EFILESIZE_EXCEEDED);
    CHECK(c.total <= max);
    CHECK(c.total + FL__DECODE_PIECE > max);
    CHECK(enc.n <= chunk || fed_when_failed < enc.n / 16); /* stopped early */
  } else {
    CHECK_EQ_INT(rc, 0);
    CHECK(c.total == (uint64_t)128 << 20);
  }
  CHECK(c.max_piece <= FL__DECODE_PIECE);
  fl__decoder_free(d);
  if (strstr(ce, "br") == NULL && strstr(ce, "zstd") == NULL)
    CHECK(peak < 256 * 1024);                             /* zlib stages: buffers + state */
  if (strstr(ce, "zstd")) CHECK(peak < 10 * 1024 * 1024); /* at most an 8 MiB window + state */
}

/* 128 MiB of zeros as one zstd frame (window 2^wlog, size in the header). */
static blob make_zstd_bomb(int wlog) {
  static unsigned char zeros[1 << 20];
  ZSTD_CCtx *cc = ZSTD_createCCtx();
  CHECK(cc);
  CHECK(!ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, wlog)));
  CHECK(!ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(cc, (unsigned long long)128 << 20)));
  size_t cap = 1 << 20;
  blob r = {tracked(cap), 0};
  ZSTD_outBuffer out = {r.p, cap, 0};
  for (int i = 0; i < 128; i++) {
    ZSTD_inBuffer in = {zeros, sizeof zeros, 0};
    size_t left;
    do {
      left = ZSTD_compressStream2(cc, &out, &in, i == 127 ? ZSTD_e_end : ZSTD_e_continue);
      CHECK(!ZSTD_isError(left) && out.pos < cap);
    } while (in.pos < in.size || (i == 127 && left));
  }
  r.n = out.pos;
  ZSTD_freeCCtx(cc);
  return r;
}

static void test_bomb(void) {
  blob g = make_bomb(16 + MAX_WBITS);
  CHECK(g.n < 200 * 1024);             /* about 1:1000 */
  bomb_case("gzip", g, 1 << 20, 4096); /* arriving in 4 KiB reads */
  bomb_case("gzip", g, 1 << 20, g.n);  /* all in one feed: stops inside it */
  bomb_case("gzip", g, 0, 16384);      /* all of it, streamed: memory stays flat */
  blob z = make_bomb(MAX_WBITS);
  bomb_case("deflate", z, 1 << 20, 4096);
  /* A bomb inside a bomb. */
  blob gg = gz(g);
  bomb_case("gzip, gzip", gg, 1 << 20, 4096);
#ifdef FL_TEST_HAVE_BROTLIENC
  blob b = br(g);
  bomb_case("gzip, br", b, 1 << 20, 4096);
#endif
  blob zb = make_zstd_bomb(23);
  CHECK(zb.n < 200 * 1024);
  bomb_case("zstd", zb, 1 << 20, 64); /* ~32 KiB of zeros per input byte */
  bomb_case("zstd", zb, 1 << 20, zb.n);
  bomb_case("zstd", zb, 0, 16384);
  bomb_case("gzip, zstd", zs(g), 1 << 20, 4096);
}

int main(void) {
  FL_TEST_BEGIN();
  blob plain = sample(300000);
  test_identity(plain);
  test_single(plain);
  test_chains(plain);
  test_bad_headers();
  test_members(plain);
  test_corrupt(plain);
  test_truncated(plain);
  test_empty();
  test_limit_and_sink(plain);
  test_bomb();
  free_all();
  FL_TEST_END();
}
