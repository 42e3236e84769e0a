/* Streaming content decoding: a chain of zlib / brotli / zstd stages, each
 * with one fixed output buffer, pushing decoded pieces down the chain to a
 * sink.
 * See decode.h for the rules. */
#include "http/decode.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brotli/decode.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "base/common.h"

enum coding { C_GZIP, C_DEFLATE, C_BR, C_ZSTD };

/* Stage states. gzip: RUN -> BETWEEN (member ended; the next two bytes say
 * whether another member follows) -> RUN or DONE. deflate: HEADER (the
 * first two bytes pick zlib or raw) -> RUN -> DONE. br: RUN -> DONE.
 * zstd: RUN -> BETWEEN (frame ended; the next four bytes say whether another
 * frame follows) -> RUN or DONE. */
enum state { S_HEADER, S_RUN, S_BETWEEN, S_DONE };

typedef struct stage {
  enum coding coding;
  enum state state;
  int codec_ready;        /* z or br initialised (to be released) */
  unsigned char stash[4]; /* first bytes held back while deciding */
  size_t nstash;
  uint64_t in_total; /* bytes fed to this stage */
  z_stream z;
  BrotliDecoderState *br;
  ZSTD_DStream *zs;
  size_t zs_mem;      /* its size when last measured (ZSTD_sizeof_DStream) */
  unsigned char *out; /* FL__DECODE_PIECE bytes */
} stage;

struct fl__decoder {
  stage st[FL__DECODE_MAX_CODINGS]; /* st[0] sees the body first */
  size_t n;
  uint64_t max, total_out;
  size_t mem_cur, mem_peak;
  int err; /* sticky: first error */
  int finished;
  int busy;             /* inside feed: a free is deferred to its end */
  int doomed;           /* freed from inside a sink */
  fl__decode_sink sink; /* valid during feed/finish */
  void *sink_data;
  char errmsg[160];
};

/* ------------------------------------------------------- counting memory */

/* Each block carries its size in front; 16 keeps malloc's alignment. */
#define HDR 16
_Static_assert(HDR >= sizeof(size_t) && HDR % _Alignof(max_align_t) == 0, "allocation header");

static void *acct_alloc(fl__decoder *d, size_t n) {
  if (n > SIZE_MAX - HDR) return NULL;
  unsigned char *p = malloc(n + HDR);
  if (!p) return NULL;
  memcpy(p, &n, sizeof n);
  d->mem_cur += n + HDR;
  if (d->mem_cur > d->mem_peak) d->mem_peak = d->mem_cur;
  return p + HDR;
}

static void acct_free(fl__decoder *d, void *ptr) {
  if (!ptr) return;
  unsigned char *p = (unsigned char *)ptr - HDR;
  size_t n;
  memcpy(&n, p, sizeof n);
  d->mem_cur -= n + HDR;
  free(p);
}

static voidpf z_alloc(voidpf opaque, uInt items, uInt size) {
  if (size && items > SIZE_MAX / size) return Z_NULL;
  return acct_alloc(opaque, (size_t)items * size);
}
static void z_free(voidpf opaque, voidpf p) { acct_free(opaque, p); }
static void *br_alloc(void *opaque, size_t n) { return acct_alloc(opaque, n); }
static void br_free(void *opaque, void *p) { acct_free(opaque, p); }

/* ------------------------------------------------------------- errors */

static int fail(fl__decoder *d, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(fl__decoder *d, int err, const char *fmt, ...) {
  va_list ap;
  if (d->err) return d->err;
  d->err = err;
  va_start(ap, fmt);
  if (vsnprintf(d->errmsg, sizeof d->errmsg, fmt, ap) < 0) d->errmsg[0] = '\0';
  va_end(ap);
  return err;
}

static const char *coding_name(enum coding c) {
  return c == C_GZIP ? "gzip" : c == C_DEFLATE ? "deflate" : c == C_BR ? "br" : "zstd";
}

/* ---------------------------------------------------------- the chain */

static int stage_feed(fl__decoder *d, size_t i, const unsigned char *in, size_t len);

/* Hand decoded bytes to the sink in bounded pieces, enforcing the cap. */
static int deliver(fl__decoder *d, const unsigned char *p, size_t len) {
  while (len > 0) {
    size_t n = len < FL__DECODE_PIECE ? len : FL__DECODE_PIECE;
    if (d->max && (d->total_out + n > d->max || d->total_out + n < d->total_out))
      return fail(d, FL_EFILESIZE_EXCEEDED, "decoded body exceeds the limit of %llu bytes",
                  (unsigned long long)d->max);
    d->total_out += n;
    int rc = d->sink(d->sink_data, (const char *)p, n);
    if (rc == 0 && d->doomed) rc = FL_ECANCELED; /* the consumer freed us: stop here */
    if (rc != 0) return fail(d, rc, "decoding stopped by the body consumer");
    p += n, len -= n;
  }
  return 0;
}

/* Output of stage i goes to stage i + 1, or to the sink after the last. */
static int emit(fl__decoder *d, size_t i, const unsigned char *p, size_t len) {
  if (len == 0) return 0;
  return i + 1 < d->n ? stage_feed(d, i + 1, p, len) : deliver(d, p, len);
}

/* Inflate from *in until it is consumed or the stream ends; advance *in. */
static int inflate_some(fl__decoder *d, size_t i, const unsigned char **in, size_t *len) {
  stage *s = &d->st[i];
  s->z.next_in = (Bytef *)(uintptr_t)*in; /* zlib does not write through it */
  s->z.avail_in = (uInt)*len;
  for (;;) {
    s->z.next_out = s->out;
    s->z.avail_out = FL__DECODE_PIECE;
    int ret = inflate(&s->z, Z_NO_FLUSH);
    size_t produced = FL__DECODE_PIECE - s->z.avail_out;
    if (ret == Z_MEM_ERROR)
      return fail(d, FL_ENOMEM, "out of memory in %s decoder", coding_name(s->coding));
    if (ret == Z_NEED_DICT || ret == Z_DATA_ERROR || ret == Z_STREAM_ERROR)
      return fail(d, FL_EBAD_ENCODING, "corrupt %s data: %s", coding_name(s->coding),
                  ret == Z_NEED_DICT ? "needs a preset dictionary"
                  : s->z.msg         ? s->z.msg
                                     : "stream error");
    /* Keep the caller's view of the input current before emit can fail. */
    size_t used = *len - s->z.avail_in;
    *in += used, *len -= used;
    int rc = emit(d, i, s->out, produced);
    if (rc) return rc;
    if (ret == Z_STREAM_END) {
      s->state = s->coding == C_GZIP ? S_BETWEEN : S_DONE;
      return 0;
    }
    if (*len == 0 && produced < FL__DECODE_PIECE)
      return 0; /* input used up and nothing left inside zlib */
    if (ret == Z_BUF_ERROR && produced == 0 && used == 0) {
      /* No progress: fine when zlib merely had nothing more to give; with
       * input left it would loop forever, so treat it as corrupt. */
      if (*len == 0) return 0;
      return fail(d, FL_EBAD_ENCODING, "%s decoder made no progress", coding_name(s->coding));
    }
    s->z.next_in = (Bytef *)(uintptr_t)*in;
    s->z.avail_in = (uInt)*len;
  }
}

static int brotli_some(fl__decoder *d, size_t i, const unsigned char *in, size_t len) {
  stage *s = &d->st[i];
  for (;;) {
    size_t avail_out = FL__DECODE_PIECE;
    uint8_t *next_out = s->out;
    BrotliDecoderResult r =
        BrotliDecoderDecompressStream(s->br, &len, &in, &avail_out, &next_out, NULL);
    if (r == BROTLI_DECODER_RESULT_ERROR) {
      BrotliDecoderErrorCode code = BrotliDecoderGetErrorCode(s->br);
      /* The ALLOC_* codes (-21 to -30) are the decoder running out of
       * memory, not bad data. */
      if (code <= BROTLI_DECODER_ERROR_ALLOC_CONTEXT_MODES &&
          code >= BROTLI_DECODER_ERROR_ALLOC_BLOCK_TYPE_TREES)
        return fail(d, FL_ENOMEM, "out of memory in br decoder (%s)",
                    BrotliDecoderErrorString(code));
      return fail(d, FL_EBAD_ENCODING, "corrupt br data: %s", BrotliDecoderErrorString(code));
    }
    int rc = emit(d, i, s->out, FL__DECODE_PIECE - avail_out);
    if (rc) return rc;
    if (r == BROTLI_DECODER_RESULT_SUCCESS) {
      s->state = S_DONE; /* anything after the stream is ignored */
      return 0;
    }
    if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) return 0; /* len is 0 here */
    /* NEEDS_MORE_OUTPUT: go round with an empty buffer */
  }
}

/* libzstd allocates through its own allocator unless built with the
 * experimental custom-memory API; we stay on the stable API and account for
 * its memory by asking its size after each call. */
static void zstd_account(fl__decoder *d, stage *s) {
  size_t now = ZSTD_sizeof_DStream(s->zs);
  d->mem_cur = d->mem_cur - s->zs_mem + now;
  s->zs_mem = now;
  if (d->mem_cur > d->mem_peak) d->mem_peak = d->mem_cur;
}

/* Decode from *in until it is consumed or a frame ends; advance *in. */
static int zstd_some(fl__decoder *d, size_t i, const unsigned char **in, size_t *len) {
  stage *s = &d->st[i];
  ZSTD_inBuffer zin = {*in, *len, 0};
  for (;;) {
    ZSTD_outBuffer zout = {s->out, FL__DECODE_PIECE, 0};
    size_t before = zin.pos;
    size_t ret = ZSTD_decompressStream(s->zs, &zout, &zin);
    zstd_account(d, s);
    if (ZSTD_isError(ret)) {
      ZSTD_ErrorCode code = ZSTD_getErrorCode(ret);
      if (code == ZSTD_error_memory_allocation)
        return fail(d, FL_ENOMEM, "out of memory in zstd decoder");
      if (code == ZSTD_error_frameParameter_windowTooLarge)
        return fail(d, FL_EBAD_ENCODING, "corrupt zstd data: a window over %u bytes",
                    1u << FL__DECODE_ZSTD_WINDOW_LOG);
      return fail(d, FL_EBAD_ENCODING, "corrupt zstd data: %s", ZSTD_getErrorName(ret));
    }
    /* Keep the caller's view of the input current before emit can fail. */
    *in += zin.pos - before, *len -= zin.pos - before;
    int rc = emit(d, i, s->out, zout.pos);
    if (rc) return rc;
    if (ret == 0) { /* a frame ended and everything was flushed */
      s->state = S_BETWEEN;
      return 0;
    }
    if (zin.pos == zin.size && zout.pos < FL__DECODE_PIECE)
      return 0; /* input used up and nothing left inside zstd */
    if (zin.pos == before && zout.pos == 0)
      return fail(d, FL_EBAD_ENCODING, "zstd decoder made no progress");
  }
}

/* A zstd frame or a skippable frame starts with these (little-endian). */
static int zstd_magic(const unsigned char b[4]) {
  uint32_t m = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
  return m == ZSTD_MAGICNUMBER || (m & 0xFFFFFFF0u) == 0x184D2A50u;
}

/* zstd stage: frames one after the other; bytes after the last frame that
 * do not start another are trailing garbage, ignored as for gzip. */
static int zstd_feed(fl__decoder *d, size_t i, const unsigned char *in, size_t len) {
  stage *s = &d->st[i];
  while (len > 0) {
    if (s->state == S_DONE) return 0;
    if (s->state == S_BETWEEN) {
      while (s->nstash < 4 && len > 0) s->stash[s->nstash++] = *in++, len--;
      if (s->nstash < 4) return 0;
      if (!zstd_magic(s->stash)) {
        s->state = S_DONE;
        return 0;
      }
      s->state = S_RUN;
      const unsigned char *sp = s->stash;
      size_t sn = s->nstash;
      s->nstash = 0;
      int rc = zstd_some(d, i, &sp, &sn);
      if (rc) return rc;
      continue; /* (a 4-byte frame cannot end inside its magic) */
    }
    int rc = zstd_some(d, i, &in, &len);
    if (rc) return rc;
  }
  return 0;
}

static int zlib_header_ok(unsigned char cmf, unsigned char flg) {
  return (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && ((unsigned)cmf << 8 | flg) % 31 == 0;
}

static int stage_feed(fl__decoder *d, size_t i, const unsigned char *in, size_t len) {
  stage *s = &d->st[i];
  int rc;

  s->in_total += len;
  if (s->coding == C_BR) return s->state == S_DONE ? 0 : brotli_some(d, i, in, len);
  if (s->coding == C_ZSTD) return zstd_feed(d, i, in, len);

  while (len > 0) {
    switch (s->state) {
    case S_DONE: return 0; /* trailing garbage */

    case S_HEADER:    /* deflate: zlib-wrapped or raw? */
    case S_BETWEEN: { /* gzip: another member or garbage? */
      if (s->nstash + len < 2) {
        s->stash[s->nstash++] = in[0];
        return 0;
      }
      unsigned char b0 = s->nstash ? s->stash[0] : in[0];
      unsigned char b1 = s->nstash ? in[0] : in[1];
      if (s->state == S_BETWEEN) {
        if (b0 != 0x1f || b1 != 0x8b) {
          s->state = S_DONE;
          return 0;
        }
        if (inflateReset(&s->z) != Z_OK)
          return fail(d, FL_EBAD_ENCODING, "gzip decoder reset failed");
      } else if (!zlib_header_ok(b0, b1)) {
        if (inflateReset2(&s->z, -MAX_WBITS) != Z_OK)
          return fail(d, FL_EBAD_ENCODING, "deflate decoder reset failed");
      }
      s->state = S_RUN;
      if (s->nstash) {
        const unsigned char *sp = s->stash;
        size_t sn = s->nstash;
        s->nstash = 0;
        if ((rc = inflate_some(d, i, &sp, &sn)) != 0) return rc;
      }
      break;
    }

    case S_RUN:
      if ((rc = inflate_some(d, i, &in, &len)) != 0) return rc;
      break;
    }
  }
  return 0;
}

/* ------------------------------------------------------------- parsing */

static int is_ows(char c) { return c == ' ' || c == '\t'; }

int fl__decoder_init(fl__decoder **out, const char *ce, uint64_t max_decoded, char *errmsg,
                     size_t errmsg_cap) {
  enum coding list[FL__DECODE_MAX_CODINGS];
  size_t ncodings = 0, nlisted = 0;

  *out = NULL;
  if (errmsg && errmsg_cap) errmsg[0] = '\0';
  for (const char *p = ce ? ce : ""; *p;) {
    while (is_ows(*p) || *p == ',') p++;
    const char *tok = p;
    while (*p && *p != ',') p++;
    size_t n = (size_t)(p - tok);
    while (n > 0 && is_ows(tok[n - 1])) n--;
    if (n == 0) continue;
    if (++nlisted > FL__DECODE_MAX_CODINGS) {
      if (errmsg)
        fl__msg(errmsg, errmsg_cap, "more than %d content codings", FL__DECODE_MAX_CODINGS);
      return FL_EBAD_ENCODING;
    }
    if ((n == 4 && fl__strncaseeq(tok, "gzip", 4)) || (n == 6 && fl__strncaseeq(tok, "x-gzip", 6)))
      list[ncodings++] = C_GZIP;
    else if (n == 7 && fl__strncaseeq(tok, "deflate", 7))
      list[ncodings++] = C_DEFLATE;
    else if (n == 2 && fl__strncaseeq(tok, "br", 2))
      list[ncodings++] = C_BR;
    else if (n == 4 && fl__strncaseeq(tok, "zstd", 4))
      list[ncodings++] = C_ZSTD;
    else if (!(n == 8 && fl__strncaseeq(tok, "identity", 8))) {
      if (errmsg)
        fl__msg(errmsg, errmsg_cap, "unsupported content coding \"%.*s\"", (int)(n > 40 ? 40 : n),
                tok);
      return FL_EBAD_ENCODING;
    }
  }

  fl__decoder *d = calloc(1, sizeof *d);
  if (!d) return FL_ENOMEM;
  d->max = max_decoded;
  d->mem_cur = d->mem_peak = sizeof *d;
  for (size_t k = 0; k < ncodings; k++) {
    stage *s = &d->st[d->n++];
    s->coding = list[ncodings - 1 - k]; /* undo the last applied first */
    s->out = acct_alloc(d, FL__DECODE_PIECE);
    if (!s->out) goto nomem;
    if (s->coding == C_BR) {
      s->br = BrotliDecoderCreateInstance(br_alloc, br_free, d);
      if (!s->br) goto nomem;
      s->state = S_RUN;
    } else if (s->coding == C_ZSTD) {
      s->zs = ZSTD_createDStream();
      if (!s->zs) goto nomem;
      s->codec_ready = 1;
      /* RFC 9659: a zstd content coding uses at most an 8 MiB window, so
       * a server cannot make us allocate more (libzstd's default: 128 MiB). */
      if (ZSTD_isError(
              ZSTD_DCtx_setParameter(s->zs, ZSTD_d_windowLogMax, FL__DECODE_ZSTD_WINDOW_LOG)))
        goto nomem;
      zstd_account(d, s);
      s->state = S_RUN;
    } else {
      s->z.zalloc = z_alloc;
      s->z.zfree = z_free;
      s->z.opaque = d;
      /* gzip: 16 + wbits = gzip wrapper only; deflate starts as zlib and may
       * switch to raw once the header was seen. */
      int wbits = s->coding == C_GZIP ? 16 + MAX_WBITS : MAX_WBITS;
      if (inflateInit2(&s->z, wbits) != Z_OK) goto nomem;
      s->state = s->coding == C_GZIP ? S_RUN : S_HEADER;
    }
    s->codec_ready = 1;
  }
  *out = d;
  return 0;

nomem:
  fl__decoder_free(d);
  return FL_ENOMEM;
}

/* --------------------------------------------------------------- API */

static void release(fl__decoder *d);

int fl__decoder_feed(fl__decoder *d, const char *in, size_t len, fl__decode_sink sink,
                     void *sink_data) {
  if (d->err) return d->err;
  if (d->finished || len == 0) return 0;
  d->sink = sink, d->sink_data = sink_data;
  d->busy = 1;
  const unsigned char *p = (const unsigned char *)in;
  int rc = 0;
  if (d->n == 0) rc = deliver(d, p, len);
  /* zlib counts in uInt: feed huge buffers in slices. */
  while (d->n > 0 && rc == 0 && len > 0) {
    size_t n = len > (1u << 30) ? (1u << 30) : len;
    rc = stage_feed(d, 0, p, n);
    p += n, len -= n;
  }
  d->busy = 0;
  if (d->doomed) release(d);
  return rc;
}

int fl__decoder_finish(fl__decoder *d, fl__decode_sink sink, void *sink_data) {
  FL__UNUSED(sink);
  FL__UNUSED(sink_data);
  if (d->err) return d->err;
  if (d->finished) return 0;
  /* Every stage drains its output as it goes, so nothing is pending here;
   * only check that each stream came to its end. The outermost incomplete
   * stage is the one to blame. */
  for (size_t i = 0; i < d->n; i++) {
    stage *s = &d->st[i];
    int complete = s->state == S_DONE || s->state == S_BETWEEN || s->in_total == 0;
    if (!complete)
      return fail(d, FL_EBAD_ENCODING, "truncated %s stream (body ended after %llu encoded bytes)",
                  coding_name(s->coding), (unsigned long long)s->in_total);
  }
  d->finished = 1;
  return 0;
}

void fl__decoder_free(fl__decoder *d) {
  if (!d) return;
  if (d->busy) {
    d->doomed = 1; /* from inside a sink: released when feed returns */
    return;
  }
  release(d);
}

static void release(fl__decoder *d) {
  for (size_t i = 0; i < d->n; i++) {
    stage *s = &d->st[i];
    if (s->codec_ready) {
      if (s->coding == C_BR)
        BrotliDecoderDestroyInstance(s->br);
      else if (s->coding == C_ZSTD)
        ZSTD_freeDStream(s->zs);
      else
        inflateEnd(&s->z);
    }
    acct_free(d, s->out);
  }
  free(d);
}

const char *fl__decoder_errmsg(const fl__decoder *d) { return d->errmsg; }
int fl__decoder_is_identity(const fl__decoder *d) { return d->n == 0; }
uint64_t fl__decoder_total_out(const fl__decoder *d) { return d->total_out; }
size_t fl__decoder_mem_peak(const fl__decoder *d) { return d->mem_peak; }
