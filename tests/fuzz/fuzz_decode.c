/* libFuzzer target: the content-decoding chain (src/http/decode.c): gzip,
 * deflate, br, zstd.
 *
 * Input: byte 0 bits 0-1 choose the mode, the rest as below.
 * - mode 0: a Content-Encoding value up to the first '\n', then the body.
 * - mode 1: byte 1 is a chain of up to 4 codings (2 bits each: gzip,
 *   deflate, br, zstd; mode 3: identity instead of zstd), then the body.
 * - mode 2 (round trip): the body is compressed here (gzip, zlib deflate,
 *   raw deflate, br when available, zstd; byte 1 modulo 5) and decoded; the
 *   output must equal the body.
 * Byte 0 bits 2-4 pick max_decoded (none, 1, 100, 4096, 65536, ...); byte 2
 * seeds the sizes of the pieces fed. Checks: no more than max_decoded bytes
 * ever reach the sink, pieces are 1..FL__DECODE_PIECE bytes, errors are the
 * documented ones and have a message, a dead decoder stays dead, memory is
 * bounded (fl__decoder_mem_peak). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#ifdef FL_FUZZ_HAVE_BROTLIENC
#include <brotli/encode.h>
#endif

#include "flurry.h"
#include "http/decode.h"

static void die(const char *what, const char *detail) {
  fprintf(stderr, "fuzz_decode: %s [%s]\n", what, detail ? detail : "");
  abort();
}

typedef struct sink_state {
  uint64_t total, max;
  unsigned char *copy; /* mode 2: the decoded bytes */
  size_t copy_len, copy_cap;
} sink_state;

static int sink(void *data, const char *p, size_t n) {
  sink_state *s = data;
  if (!p || n == 0 || n > FL__DECODE_PIECE) die("sink: bad piece", NULL);
  s->total += n;
  if (s->max && s->total > s->max) die("sink: more than max_decoded", NULL);
  if (s->copy) {
    if (s->copy_len + n > s->copy_cap) return FL_EWRITE; /* more than went in */
    memcpy(s->copy + s->copy_len, p, n);
    s->copy_len += n;
  }
  return 0;
}

static int expected(int err) {
  return err == 0 || err == FL_EBAD_ENCODING || err == FL_EFILESIZE_EXCEEDED || err == FL_ENOMEM ||
         err == FL_EWRITE;
}

/* Compress in with the chosen codec into *out (malloc'd). 0 if it could. */
static int compress_with(int which, const unsigned char *in, size_t n, unsigned char **out,
                         size_t *outlen, const char **coding) {
  if (which == 4) {
    size_t cap = ZSTD_compressBound(n);
    *out = malloc(cap ? cap : 1);
    if (!*out) return -1;
    *outlen = ZSTD_compress(*out, cap, in, n, 3);
    if (ZSTD_isError(*outlen)) {
      free(*out);
      return -1;
    }
    *coding = "zstd";
    return 0;
  }
  if (which == 3) {
#ifdef FL_FUZZ_HAVE_BROTLIENC
    size_t cap = BrotliEncoderMaxCompressedSize(n);
    if (!cap) cap = n + 1024;
    *out = malloc(cap);
    if (!*out) return -1;
    *outlen = cap;
    if (!BrotliEncoderCompress(1, 18, BROTLI_MODE_GENERIC, n, in, outlen, *out)) {
      free(*out);
      return -1;
    }
    *coding = "br";
    return 0;
#else
    which = 0;
#endif
  }
  static const int wbits[] = {31, 15, -15};
  static const char *const names[] = {"gzip", "deflate", "deflate"};
  z_stream z;
  memset(&z, 0, sizeof z);
  if (deflateInit2(&z, 6, Z_DEFLATED, wbits[which], 8, Z_DEFAULT_STRATEGY) != Z_OK) return -1;
  size_t cap = deflateBound(&z, (uLong)n) + 64;
  *out = malloc(cap);
  if (!*out) {
    deflateEnd(&z);
    return -1;
  }
  z.next_in = (Bytef *)(uintptr_t)in;
  z.avail_in = (uInt)n;
  z.next_out = *out;
  z.avail_out = (uInt)cap;
  int rc = deflate(&z, Z_FINISH);
  *outlen = cap - z.avail_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) {
    free(*out);
    return -1;
  }
  *coding = names[which];
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3 || size > 1 << 20) return 0;
  static const uint64_t maxes[] = {0, 1, 100, 4096, 65536, 1 << 20, 0, 16384};
  int mode = data[0] & 3;
  int identity_chain = mode == 3;
  if (mode == 3) mode = 1;
  uint64_t max = maxes[(data[0] >> 2) & 7];
  uint32_t rng = data[2];
  const unsigned char *body = data + 3;
  size_t blen = size - 3;
  char header[256] = "";
  unsigned char *packed = NULL;

  if (mode == 0) {
    const unsigned char *nl = memchr(body, '\n', blen);
    size_t hn = nl ? (size_t)(nl - body) : blen;
    if (hn >= sizeof header) hn = sizeof header - 1;
    memcpy(header, body, hn);
    header[hn] = '\0';
    if (strlen(header) != hn) return 0; /* a NUL inside: not a header value */
    body += nl ? hn + 1 : blen;
    blen -= nl ? hn + 1 : blen;
  } else if (mode == 1) {
    const char *const codings[] = {"gzip", "deflate", "br", identity_chain ? "identity" : "zstd"};
    int k = 1 + (data[1] >> 6) % 4;
    for (int i = 0; i < k; i++) {
      if (i) strcat(header, ", ");
      strcat(header, codings[(data[1] >> (2 * i)) & 3]);
    }
  } else {
    size_t plen;
    const char *coding;
    if (compress_with(data[1] % 5, body, blen, &packed, &plen, &coding) != 0) return 0;
    snprintf(header, sizeof header, "%s", coding);
    max = 0;
    body = packed;
    blen = plen;
  }

  char msg[128];
  fl__decoder *d = NULL;
  int err = fl__decoder_init(&d, header, max, msg, sizeof msg);
  if (err) {
    if (err != FL_EBAD_ENCODING && err != FL_ENOMEM) die("init: unexpected error", header);
    if (err == FL_EBAD_ENCODING && !msg[0]) die("init: no message", header);
    if (d) die("init failed but gave a decoder", header);
    free(packed);
    return 0;
  }
  sink_state s = {0, max, NULL, 0, 0};
  if (mode == 2) {
    s.copy_cap = size - 3;
    s.copy = malloc(s.copy_cap + 1);
  }
  size_t off = 0;
  while (off < blen && !err) {
    rng = rng * 1103515245u + 12345u;
    size_t piece = 1 + (rng >> 16) % 4096;
    if (piece > blen - off) piece = blen - off;
    err = fl__decoder_feed(d, (const char *)body + off, piece, sink, &s);
    off += piece;
  }
  if (!err) err = fl__decoder_finish(d, sink, &s);
  if (!expected(err)) die("feed/finish: unexpected error", fl_err_name(err));
  if (err && err != FL_EWRITE && !fl__decoder_errmsg(d)[0])
    die("an error without a message", header);
  if (err) {
    /* dead stays dead */
    int again = fl__decoder_feed(d, "x", 1, sink, &s);
    if (again != err) die("a failed decoder came back to life", fl_err_name(again));
  }
  if (fl__decoder_total_out(d) != s.total) die("total_out disagrees with the sink", NULL);
  if (fl__decoder_mem_peak(d) > (size_t)80 << 20) die("decoder used over 80 MiB", header);
  if (mode == 2) {
    if (err) die("round trip: decoding our own compression failed", fl_err_name(err));
    if (s.copy_len != size - 3 || memcmp(s.copy, data + 3, s.copy_len) != 0)
      die("round trip: output differs from the input", header);
  }
  fl__decoder_free(d);
  free(s.copy);
  free(packed);
  return 0;
}
