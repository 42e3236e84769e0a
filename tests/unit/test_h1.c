/* The HTTP/1.1 codec's response side (src/http/h1.c): header names and
 * values held as spans of the fed bytes and stored at the field's end, or
 * spilled into the list when a span is cut (across llhttp callbacks or
 * across fl__h1_feed calls); pipelined responses, where fl__h1_begin resumes
 * llhttp at the message boundary instead of a fresh init; `used` and
 * wire_bytes of each response.
 *
 * Every feed gets its own heap copy of its bytes, scribbled over as soon as
 * fl__h1_feed returns (the carrier's shared read buffer is overwritten by
 * the next read) and freed after the next feed: a span kept past its feed
 * reads 'X's. */
/* TIMEOUT: 120 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/headers.h"
#include "http/exchange.h"
#include "http/h1.h"
#include "http/response.h"
#include "test.h"

/* ------------------------------------------------------------ the sink */

typedef struct rec {
  fl__exchange ex;
  fl_response res;
  fl__buf body;
  int heads, interims, ends, body_calls;
  int status_at_head;
  int64_t cl_at_head;
} rec;

static rec *rec_of(fl__exchange *ex) { return fl__container_of(ex, rec, ex); }

static int op_start(fl__exchange *ex) {
  (void)ex;
  return 0;
}
static void op_step(fl__exchange *ex, fl__ex_step step) {
  if (step == FL__EX_INTERIM) rec_of(ex)->interims++;
}
static int op_head(fl__exchange *ex) {
  rec *r = rec_of(ex);
  r->heads++;
  r->status_at_head = ex->res->status;
  r->cl_at_head = ex->content_length;
  return 0;
}
static int op_body(fl__exchange *ex, const char *at, size_t n) {
  rec *r = rec_of(ex);
  CHECK_EQ_INT(r->ends, 0); /* nothing after the end mark */
  CHECK_EQ_INT(r->heads, 1);
  if (!at) {
    r->ends++;
    return 0;
  }
  r->body_calls++;
  CHECK(fl__buf_append(&r->body, at, n) == 0);
  return 0;
}
static long op_upload(fl__exchange *ex, char *buf, size_t cap) {
  (void)ex, (void)buf, (void)cap;
  return 0;
}
static void op_done(fl__exchange *ex) { (void)ex; }
static void op_failed(fl__exchange *ex, const fl__ex_failure *f) { (void)ex, (void)f; }

static const fl__exchange_ops ops = {op_start,  op_step, op_head,  op_body,
                                     op_upload, op_done, op_failed};

static void rec_init(rec *r, int head_only) {
  memset(r, 0, sizeof *r);
  fl__exchange_init(&r->ex, &ops);
  fl__response_init(&r->res);
  fl__buf_init(&r->body);
  r->ex.res = &r->res;
  r->ex.head_only = head_only;
  r->cl_at_head = -2;
}

static void rec_dispose(rec *r) {
  fl__response_dispose(&r->res);
  fl__buf_dispose(&r->body);
  fl__exchange_dispose(&r->ex);
}

/* ------------------------------------------------------ the responses */

typedef struct field {
  const char *name, *value;
} field;

typedef struct expect {
  const char *wire; /* the bytes of the whole response, interim heads included */
  int head_only;
  int status, minor, interims;
  const char *reason;
  const field *headers;
  size_t nheaders;
  const field *trailers;
  size_t ntrailers;
  const char *body;
  int64_t content_length;
  unsigned seen;
  int raw;           /* ex->raw set: body is the bytes after the head as they came */
  size_t data_bytes; /* raw: ex->body_bytes wanted (the chunks' data) */
} expect;

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* A value longer than one usual read piece would be (no obs-fold). */
static char long_value[3001];

/* 1: chunked, many fields (an empty value, repeats, a long one), trailers. */
static const char chunked_wire_fmt[] = "HTTP/1.1 200 OK\r\n"
                                       "Server: flurry-test\r\n"
                                       "X-Empty:\r\n"
                                       "Set-Cookie: a=1\r\n"
                                       "X-Long: %s\r\n"
                                       "set-cookie: b=2; Path=/\r\n"
                                       "X-Empty-Ows:   \r\n"
                                       "X-Ows:  \t spaced value\r\n"
                                       "Content-Encoding: identity\r\n"
                                       "Keep-Alive: timeout=5, max=100\r\n"
                                       "X-Repeat: 1\r\n"
                                       "X-Repeat: 2\r\n"
                                       "x-repeat: 3\r\n"
                                       "Transfer-Encoding: chunked\r\n"
                                       "A: b\r\n"
                                       "\r\n"
                                       "5;ext=1\r\nhello\r\n"
                                       "1a\r\nabcdefghijklmnopqrstuvwxyz\r\n"
                                       "1\r\n!\r\n"
                                       "0\r\n"
                                       "X-Trailer: yes\r\n"
                                       "X-Trailer-Empty:\r\n"
                                       "Y: 123\r\n"
                                       "\r\n";
static char chunked_wire[sizeof chunked_wire_fmt + sizeof long_value];
static field chunked_headers[] = {
    {"Server", "flurry-test"},
    {"X-Empty", ""},
    {"Set-Cookie", "a=1"},
    {"X-Long", long_value},
    {"set-cookie", "b=2; Path=/"},
    {"X-Empty-Ows", ""},
    {"X-Ows", "spaced value"},
    {"Content-Encoding", "identity"},
    {"Keep-Alive", "timeout=5, max=100"},
    {"X-Repeat", "1"},
    {"X-Repeat", "2"},
    {"x-repeat", "3"},
    {"Transfer-Encoding", "chunked"},
    {"A", "b"},
};
static const field chunked_trailers[] = {
    {"X-Trailer", "yes"},
    {"X-Trailer-Empty", ""},
    {"Y", "123"},
};

/* 2: Content-Length framed, a repeated header, an empty value last. */
static const field cl_headers[] = {
    {"Content-Length", "10"}, {"X-A", "1"}, {"X-A", "2"}, {"X-Last-Empty", ""}};
static const expect cl_resp = {
    .wire = "HTTP/1.1 404 Not Found\r\n"
            "Content-Length: 10\r\n"
            "X-A: 1\r\n"
            "X-A: 2\r\n"
            "X-Last-Empty:\r\n"
            "\r\n"
            "0123456789",
    .status = 404,
    .minor = 1,
    .reason = "Not Found",
    .headers = cl_headers,
    .nheaders = N(cl_headers),
    .body = "0123456789",
    .content_length = 10,
};

/* 3: an interim head first; the final one has no reason phrase. */
static const field interim_headers[] = {{"Content-Length", "3"}, {"Set-Cookie", "z=9"}};
static const expect interim_resp = {
    .wire = "HTTP/1.1 103 Early Hints\r\n"
            "Link: </style.css>; rel=preload\r\n"
            "\r\n"
            "HTTP/1.1 201\r\n"
            "Content-Length: 3\r\n"
            "Set-Cookie: z=9\r\n"
            "\r\n"
            "abc",
    .status = 201,
    .minor = 1,
    .interims = 1,
    .reason = "",
    .headers = interim_headers,
    .nheaders = N(interim_headers),
    .body = "abc",
    .content_length = 3,
    .seen = FL__H_SET_COOKIE,
};

/* 4: the answer to a HEAD: a Content-Length and no body. */
static const field head_headers[] = {{"Content-Length", "1000"}, {"ETag", "\"x\""}};
static const expect head_resp = {
    .wire = "HTTP/1.1 200 OK\r\n"
            "Content-Length: 1000\r\n"
            "ETag: \"x\"\r\n"
            "\r\n",
    .head_only = 1,
    .status = 200,
    .minor = 1,
    .reason = "OK",
    .headers = head_headers,
    .nheaders = N(head_headers),
    .body = "",
    .content_length = 1000,
};

/* 5: 204 with nothing; 6: a chunked body of no chunks. */
static const field nc_headers[] = {{"X-N", "0"}};
static const expect no_content_resp = {
    .wire = "HTTP/1.1 204 No Content\r\nX-N: 0\r\n\r\n",
    .status = 204,
    .minor = 1,
    .reason = "No Content",
    .headers = nc_headers,
    .nheaders = N(nc_headers),
    .body = "",
    .content_length = -1,
};
static const field empty_chunked_headers[] = {{"Transfer-Encoding", "chunked"}};
static const expect empty_chunked_resp = {
    .wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    .status = 200,
    .minor = 1,
    .reason = "OK",
    .headers = empty_chunked_headers,
    .nheaders = N(empty_chunked_headers),
    .body = "",
    .content_length = -1,
};

static expect chunked_resp, raw_chunked_resp, raw_cl_resp, raw_head_resp;

/* A small raw chunked body: extensions on a chunk and on the last one, a
 * trailer. */
static const field raw_small_headers[] = {{"Transfer-Encoding", "chunked"}};
static const field raw_small_trailers[] = {{"T", "1"}};
static const expect raw_small_resp = {
    .wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            "3;a=b\r\nabc\r\n0;z=1\r\nT: 1\r\n\r\n",
    .status = 200,
    .minor = 1,
    .reason = "OK",
    .headers = raw_small_headers,
    .nheaders = N(raw_small_headers),
    .trailers = raw_small_trailers,
    .ntrailers = N(raw_small_trailers),
    .body = "3;a=b\r\nabc\r\n0;z=1\r\nT: 1\r\n\r\n",
    .content_length = -1,
    .raw = 1,
    .data_bytes = 3,
};

/* A HEAD's answer that says chunked: no body, raw or not; the exchange
 * after it on the connection must not start a raw body. */
static const field raw_head_headers[] = {{"Transfer-Encoding", "chunked"}};

static void make_responses(void) {
  for (size_t i = 0; i < sizeof long_value - 1; i++) long_value[i] = (char)('a' + i % 26);
  long_value[sizeof long_value - 1] = '\0';
  snprintf(chunked_wire, sizeof chunked_wire, chunked_wire_fmt, long_value);
  chunked_resp = (expect){
      .wire = chunked_wire,
      .status = 200,
      .minor = 1,
      .reason = "OK",
      .headers = chunked_headers,
      .nheaders = N(chunked_headers),
      .trailers = chunked_trailers,
      .ntrailers = N(chunked_trailers),
      .body = "helloabcdefghijklmnopqrstuvwxyz!",
      .content_length = -1,
      .seen = FL__H_SET_COOKIE | FL__H_CONTENT_ENCODING | FL__H_KEEP_ALIVE,
  };
  /* The same bytes raw: the body is everything after the head, chunk
   * lines, extension, last chunk and trailer section included; trailers
   * are still stored, body_bytes still counts the chunks' data. */
  raw_chunked_resp = chunked_resp;
  raw_chunked_resp.raw = 1;
  raw_chunked_resp.body = strstr(chunked_wire, "\r\n\r\n") + 4;
  raw_chunked_resp.data_bytes = strlen(chunked_resp.body);
  raw_cl_resp = cl_resp; /* a Content-Length body is the same raw or not */
  raw_cl_resp.raw = 1;
  raw_cl_resp.data_bytes = strlen(cl_resp.body);
  raw_head_resp = (expect){
      .wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
      .head_only = 1,
      .status = 200,
      .minor = 1,
      .reason = "OK",
      .headers = raw_head_headers,
      .nheaders = N(raw_head_headers),
      .body = "",
      .content_length = -1,
      .raw = 1,
  };
}

static void check_fields(const char *what, const fl__headers *got, const field *want, size_t n,
                         const char *ctx) {
  if (got->n != n) {
    fprintf(stderr, "%s: %zu %s, want %zu\n", ctx, got->n, what, n);
    for (size_t i = 0; i < got->n; i++)
      fprintf(stderr, "  [%zu] \"%s\": \"%s\"\n", i, fl__headers_name(got, i),
              fl__headers_value(got, i));
    exit(1);
  }
  for (size_t i = 0; i < n; i++) {
    const char *name = fl__headers_name(got, i), *value = fl__headers_value(got, i);
    if (strcmp(name, want[i].name) != 0 || strcmp(value, want[i].value) != 0 ||
        got->items[i].name_len != strlen(want[i].name) ||
        got->items[i].value_len != strlen(want[i].value)) {
      fprintf(stderr, "%s: %s[%zu] is \"%s\" (%u): \"%.80s\" (%u), want \"%s\": \"%.80s\"\n", ctx,
              what, i, name, got->items[i].name_len, value, got->items[i].value_len, want[i].name,
              want[i].value);
      exit(1);
    }
  }
  CHECK_EQ_INT(got->pending, 0);
}

static void check_rec(const rec *r, const expect *e, const char *ctx) {
  const fl_response *res = &r->res;
  if (res->status != e->status || r->ends != 1 || r->heads != 1) {
    fprintf(stderr, "%s: status %d, %d heads, %d ends; want %d, 1, 1\n", ctx, res->status, r->heads,
            r->ends, e->status);
    exit(1);
  }
  CHECK_EQ_INT(r->status_at_head, e->status);
  CHECK_EQ_INT(res->http_minor, e->minor);
  CHECK_EQ_INT(r->interims, e->interims);
  /* What the API returns: after a 1xx head the final one's (possibly empty)
   * reason, never the interim one's left in the buffer. */
  if (res->reason.len != strlen(e->reason) || strcmp(fl_response_reason(res), e->reason) != 0) {
    fprintf(stderr, "%s: reason \"%s\" (%zu bytes), want \"%s\"\n", ctx, fl_response_reason(res),
            res->reason.len, e->reason);
    exit(1);
  }
  check_fields("headers", &res->headers, e->headers, e->nheaders, ctx);
  check_fields("trailers", &res->trailers, e->trailers, e->ntrailers, ctx);
  size_t blen = strlen(e->body);
  if (r->body.len != blen || (blen && memcmp(r->body.data, e->body, blen) != 0)) {
    fprintf(stderr, "%s: body \"%.*s\", want \"%s\"\n", ctx, (int)r->body.len,
            r->body.data ? r->body.data : "", e->body);
    exit(1);
  }
  CHECK_EQ_INT(r->ex.body_bytes, e->raw ? e->data_bytes : blen);
  if (r->cl_at_head != e->content_length || r->ex.content_length != e->content_length) {
    fprintf(stderr, "%s: content_length %lld at the head, %lld after; want %lld\n", ctx,
            (long long)r->cl_at_head, (long long)r->ex.content_length,
            (long long)e->content_length);
    exit(1);
  }
  CHECK_EQ_INT(res->seen, e->seen);
}

/* ------------------------------------------------------------ feeding */

/* One run: the responses of want[0..n) back to back on one parser, the
 * bytes cut at the offsets cuts[0..ncuts) (ascending), each piece fed from
 * its own heap copy the way the carrier feeds its read buffer: after
 * FL__H1_DONE the next exchange begins and parsing goes on with the rest. */
typedef struct run {
  const expect *const *want;
  size_t n;
  const size_t *cuts;
  size_t ncuts;
} run;

static unsigned long nruns;

static void do_run(const run *rn, const char *label) {
  nruns++;
  char all[8192];
  size_t total = 0, lens[8];
  CHECK(rn->n <= 8);
  for (size_t i = 0; i < rn->n; i++) {
    lens[i] = strlen(rn->want[i]->wire);
    CHECK(total + lens[i] <= sizeof all);
    memcpy(all + total, rn->want[i]->wire, lens[i]);
    total += lens[i];
  }
  char ctx[256];
  int o = snprintf(ctx, sizeof ctx, "%s, cuts at", label);
  for (size_t i = 0; i < rn->ncuts && o < (int)sizeof ctx - 16; i++)
    o += snprintf(ctx + o, sizeof ctx - (size_t)o, " %zu", rn->cuts[i]);

  rec recs[8];
  for (size_t i = 0; i < rn->n; i++) {
    rec_init(&recs[i], rn->want[i]->head_only);
    recs[i].ex.raw = (uint8_t)rn->want[i]->raw;
  }
  fl__h1 h;
  fl__h1_init(&h, 65536, 200, 8192);
  size_t cur = 0;           /* the exchange being parsed */
  size_t consumed = 0;      /* of its response's bytes, as fed */
  uint64_t wire[8] = {0};   /* h.wire_bytes at each DONE */
  size_t used_sum[8] = {0}; /* bytes of the DONE feed's piece that were its */
  fl__h1_begin(&h, &recs[0].ex);

  size_t off = 0;
  char *prev_piece = NULL;
  for (size_t p = 0; p <= rn->ncuts; p++) {
    size_t end = p < rn->ncuts ? rn->cuts[p] : total;
    CHECK(end >= off && end <= total);
    size_t len = end - off;
    if (len == 0) continue;
    char *piece = malloc(len);
    CHECK(piece);
    memcpy(piece, all + off, len);
    const char *data = piece;
    while (len > 0) {
      if (cur >= rn->n) {
        fprintf(stderr, "%s: bytes left after the last response\n", ctx);
        exit(1);
      }
      size_t used = (size_t)-1;
      int r = fl__h1_feed(&h, data, len, &used);
      if (r == FL__H1_MORE) {
        consumed += len;
        break;
      }
      if (r != FL__H1_DONE) {
        fprintf(stderr, "%s: response %zu: fl__h1_feed returned %d (%s)\n", ctx, cur, r, h.errmsg);
        exit(1);
      }
      consumed += used;
      if (consumed != lens[cur] || used > len) {
        fprintf(stderr, "%s: response %zu ended after %zu bytes (used %zu of %zu), want %zu\n", ctx,
                cur, consumed, used, len, lens[cur]);
        exit(1);
      }
      used_sum[cur] = used;
      wire[cur] = h.wire_bytes;
      CHECK(fl__h1_keep_alive(&h));
      data += used;
      len -= used;
      consumed = 0;
      if (++cur < rn->n) fl__h1_begin(&h, &recs[cur].ex);
    }
    /* The next read overwrites the buffer: scribble over this piece (not a
     * memset, which the compiler may drop before a free) and keep it until
     * the next piece was fed, so a span kept past its feed reads 'X's. */
    for (volatile char *v = piece; v < piece + (end - off); v++) *v = 'X';
    free(prev_piece);
    prev_piece = piece;
    off = end;
  }
  free(prev_piece);
  if (cur != rn->n) {
    fprintf(stderr, "%s: %zu of %zu responses done\n", ctx, cur, rn->n);
    exit(1);
  }
  for (size_t i = 0; i < rn->n; i++) {
    char c2[300];
    snprintf(c2, sizeof c2, "%s: response %zu", ctx, i);
    check_rec(&recs[i], rn->want[i], c2);
    if (wire[i] != lens[i]) {
      fprintf(stderr, "%s: wire_bytes %llu, want %zu\n", c2, (unsigned long long)wire[i], lens[i]);
      exit(1);
    }
    CHECK(used_sum[i] > 0);
  }
  for (size_t i = 0; i < rn->n; i++) rec_dispose(&recs[i]);
}

static size_t total_len(const expect *const *want, size_t n) {
  size_t t = 0;
  for (size_t i = 0; i < n; i++) t += strlen(want[i]->wire);
  return t;
}

/* Whole, then cut once at every offset, then byte by byte. */
static void every_split(const expect *const *want, size_t n, const char *label) {
  size_t total = total_len(want, n);
  do_run(&(run){want, n, NULL, 0}, label);
  for (size_t k = 1; k < total; k++) do_run(&(run){want, n, &k, 1}, label);
  size_t *cuts = malloc(total * sizeof *cuts);
  CHECK(cuts);
  for (size_t k = 0; k + 1 < total; k++) cuts[k] = k + 1;
  do_run(&(run){want, n, cuts, total - 1}, label);
  free(cuts);
}

/* Cut twice, at every pair of offsets (three feeds): a span may begin in
 * one feed, run through a second and end in a third. */
static void every_two_splits(const expect *const *want, size_t n, const char *label) {
  size_t total = total_len(want, n);
  for (size_t a = 1; a < total; a++)
    for (size_t b = a + 1; b < total; b++) do_run(&(run){want, n, (size_t[]){a, b}, 2}, label);
}

/* ---------------------------------------------------------------- tests */

static void test_one_response(void) {
  const expect *const one[] = {&chunked_resp};
  every_split(one, 1, "chunked with trailers");
  const expect *const cl[] = {&cl_resp};
  every_split(cl, 1, "Content-Length");
  every_two_splits(cl, 1, "Content-Length");
  const expect *const interim[] = {&interim_resp};
  every_split(interim, 1, "interim then final");
  every_two_splits(interim, 1, "interim then final");
}

/* The chunked response without its long header, cut at every pair of
 * offsets (the long one makes that too many runs). */
static void test_chunked_two_splits(void) {
  static const field headers[] = {
      {"X-Empty", ""},   {"Set-Cookie", "a=1"}, {"X-Empty-Ows", ""},
      {"X-Repeat", "1"}, {"X-Repeat", "2"},     {"Transfer-Encoding", "chunked"},
  };
  static const field trailers[] = {{"X-T", "yes"}, {"X-T-Empty", ""}};
  static const expect e = {
      .wire = "HTTP/1.1 200 OK\r\n"
              "X-Empty:\r\n"
              "Set-Cookie: a=1\r\n"
              "X-Empty-Ows:   \r\n"
              "X-Repeat: 1\r\n"
              "X-Repeat: 2\r\n"
              "Transfer-Encoding: chunked\r\n"
              "\r\n"
              "3\r\nabc\r\n"
              "0\r\n"
              "X-T: yes\r\n"
              "X-T-Empty:\r\n"
              "\r\n",
      .status = 200,
      .minor = 1,
      .reason = "OK",
      .headers = headers,
      .nheaders = N(headers),
      .trailers = trailers,
      .ntrailers = N(trailers),
      .body = "abc",
      .content_length = -1,
      .seen = FL__H_SET_COOKIE,
  };
  const expect *const one[] = {&e};
  every_two_splits(one, 1, "small chunked with trailers");
}

/* Pipelined: the responses in one buffer (and cut everywhere); after each
 * DONE, fl__h1_begin for the next exchange resumes llhttp at the boundary.
 * Framing of one response must not leak into the next: Content-Length then
 * chunked, chunked then Content-Length, a HEAD answer's length, 204. */
static void test_pipelined(void) {
  const expect *const cl_then_chunked[] = {&cl_resp, &chunked_resp};
  every_split(cl_then_chunked, 2, "pipelined: Content-Length, chunked");
  const expect *const chunked_then_cl[] = {&chunked_resp, &cl_resp};
  every_split(chunked_then_cl, 2, "pipelined: chunked, Content-Length");
  const expect *const mix[] = {&head_resp,    &cl_resp, &no_content_resp, &empty_chunked_resp,
                               &interim_resp, &cl_resp, &head_resp,       &empty_chunked_resp};
  every_split(mix, N(mix), "pipelined: HEAD, CL, 204, empty chunked, 1xx, CL, HEAD, chunked");
  const expect *const pair[] = {&cl_resp, &empty_chunked_resp, &head_resp};
  every_two_splits(pair, N(pair), "pipelined: CL, empty chunked, HEAD");
}

/* The next exchange begins before any of its bytes came (a reused
 * keep-alive connection), and with bytes of it already read. */
static void test_begin_then_feed(void) {
  rec a, b;
  rec_init(&a, 0);
  rec_init(&b, 0);
  fl__h1 h;
  fl__h1_init(&h, 0, 0, 0);
  fl__h1_begin(&h, &a.ex);
  size_t used = 0, la = strlen(cl_resp.wire), lb = strlen(chunked_resp.wire);
  CHECK_EQ_INT(fl__h1_feed(&h, cl_resp.wire, la, &used), FL__H1_DONE);
  CHECK_EQ_INT(used, la);
  CHECK_EQ_INT(h.wire_bytes, la);
  fl__h1_begin(&h, &b.ex);
  CHECK_EQ_INT(h.wire_bytes, 0);
  CHECK_EQ_INT(fl__h1_feed(&h, chunked_resp.wire, lb, &used), FL__H1_DONE);
  CHECK_EQ_INT(used, lb);
  CHECK_EQ_INT(h.wire_bytes, lb);
  check_rec(&a, &cl_resp, "begin then feed: first");
  check_rec(&b, &chunked_resp, "begin then feed: second");
  rec_dispose(&a);
  rec_dispose(&b);
}

/* A message that ends at the close (no length, not chunked): fl__h1_eof
 * ends it; wire_bytes counts it all. */
static void test_close_delimited(void) {
  rec a;
  rec_init(&a, 0);
  fl__h1 h;
  fl__h1_init(&h, 0, 0, 0);
  fl__h1_begin(&h, &a.ex);
  static const char w1[] = "HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nsome", w2[] = " bytes";
  size_t used = 0;
  CHECK_EQ_INT(fl__h1_feed(&h, w1, sizeof w1 - 1, &used), FL__H1_MORE);
  CHECK_EQ_INT(fl__h1_feed(&h, w2, sizeof w2 - 1, &used), FL__H1_MORE);
  CHECK_EQ_INT(fl__h1_eof(&h), FL__H1_DONE);
  CHECK_EQ_INT(h.wire_bytes, sizeof w1 - 1 + sizeof w2 - 1);
  CHECK_EQ_INT(a.ends, 1);
  CHECK_EQ_INT(a.ex.content_length, -1);
  CHECK_EQ_INT(a.body.len, 10);
  CHECK(memcmp(a.body.data, "some bytes", 10) == 0);
  CHECK(!fl__h1_keep_alive(&h));
  rec_dispose(&a);
}

/* --raw: the chunked body byte for byte, cut everywhere, beside and
 * between ordinary responses on one parser (llhttp's callbacks are
 * swapped for the raw body and back). */
static void test_raw(void) {
  const expect *const one_small[] = {&raw_small_resp};
  const expect *const two[] = {&raw_chunked_resp, &chunked_resp};
  every_split(two, 2, "raw chunked, chunked");
  const expect *const mix[] = {
      &raw_small_resp,     &cl_resp,        &raw_cl_resp,  &raw_head_resp,
      &empty_chunked_resp, &raw_small_resp, &interim_resp, &raw_small_resp};
  every_split(mix, N(mix), "raw, CL, raw CL, raw HEAD, empty chunked, raw, 1xx CL, raw");
  every_two_splits(one_small, 1, "raw small, cut twice");
}

int main(void) {
  FL_TEST_BEGIN();
  make_responses();
  test_begin_then_feed();
  test_close_delimited();
  test_one_response();
  test_chunked_two_splits();
  test_pipelined();
  test_raw();
  printf("%lu runs\n", nruns);
  FL_TEST_END();
}
