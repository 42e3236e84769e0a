/* The HTTP/1.1 codec: request heads out, responses in (llhttp, strict).
 *
 * The parser belongs to the connection (responses come in order); it
 * parses one exchange's response at a time into ex->res and hands head and
 * body to the exchange's ops. It knows nothing of connections, pools,
 * redirects or cookies.
 *
 * Caps: max_header_bytes and max_header_count apply to each head; all the
 * heads of one response together (1xx interim ones included) may take at
 * most FL__H1_ALL_HEADS_MAX bytes and FL__H1_INTERIM_MAX interim heads, so a
 * flood of "100 Continue" ends as a too-large head, as curl's 300 KiB
 * total does. */
#ifndef FL_H1_H
#define FL_H1_H

#include <llhttp.h>

#include "base/buf.h"
#include "http/exchange.h"

#define FL__H1_ALL_HEADS_MAX (300u * 1024)
#define FL__H1_INTERIM_MAX 1000u

typedef struct fl__h1 {
  llhttp_t parser;
  fl__exchange *ex; /* whose response is being parsed; NULL once dropped */
  uint32_t max_header_bytes, max_header_count; /* 0: no cap */
  uint32_t max_line_bytes;                     /* one field, name and value; 0: no cap */
  uint32_t head_cap, line_cap;                 /* the same, UINT32_MAX for none */
  uint32_t header_bytes, header_count;         /* of this head */
  uint32_t line_bytes;                         /* of the field being parsed */
  int in_trailers;                             /* after the last chunk */
  int status_seen;                             /* the status line parsed */
  int continue_seen;                           /* a 100 arrived (the carrier clears it) */
  uint32_t all_head_bytes, interim_heads;      /* of this response */
  uint64_t body_bytes;                         /* as received, before decoding */
  uint64_t wire_bytes;                         /* of this response as read: heads, framing, body */
  /* A header's name and value as single spans of the bytes being fed, not
   * copied yet: a field that arrives whole is stored with one copy at its
   * end; anything else (split spans, the end of a feed) spills them. */
  const char *name_at, *value_at;
  size_t name_n, value_n;
  int message_done;
  /* A raw body (ex->raw, chunked): on_headers_complete returns hc_body
   * (HPE_PAUSED, else always 0) so the feed learns where the body starts;
   * from there to the end of the message the input goes up as it is, while
   * llhttp still parses the framing (with raw_settings: no decoded body). */
  int hc_body;
  int raw;       /* 1: the raw body is going up */
  int raw_end;   /* llhttp paused at the end of the raw message */
  int err;       /* set by a callback that stopped llhttp */
  int owner_err; /* err came from the exchange's ops (they know why) */
  /* Why, when the codec itself failed: text in a buffer of the thread's
   * (not one per connection: 10,000 connections would carry 10,000),
   * valid until the next codec failure on this thread; the carrier reads
   * it right after the feed that failed. "" before any failure. */
  const char *errmsg;
} fl__h1;

enum { FL__H1_MORE = 0, FL__H1_DONE = 1 };

void fl__h1_init(fl__h1 *h, uint32_t max_header_bytes, uint32_t max_header_count,
                 uint32_t max_line_bytes);
/* Parse the response of ex from the next byte on. */
void fl__h1_begin(fl__h1 *h, fl__exchange *ex);
/* Feed response bytes. FL__H1_MORE: all used, the message goes on;
 * FL__H1_DONE: the message ended after *used bytes (the rest belong to the
 * next response); < 0: an error, h->errmsg says why unless h->owner_err,
 * and h->ex is NULL if an op dropped the exchange. */
int fl__h1_feed(fl__h1 *h, const char *data, size_t len, size_t *used);
/* The peer closed: FL__H1_DONE if that ends the message (a body delimited
 * by the close), else an error as for fl__h1_feed. */
int fl__h1_eof(fl__h1 *h);
/* After FL__H1_DONE: may the connection carry another exchange? */
static inline int fl__h1_keep_alive(const fl__h1 *h) {
  const llhttp_t *p = &h->parser;
  /* The usual answer, settled without llhttp's walk (the same outcome):
   * HTTP/1.1 framed by Content-Length, no Connection: close, no
   * Transfer-Encoding. */
  if (p->http_major == 1 && p->http_minor == 1 &&
      (p->flags & (F_CONNECTION_CLOSE | F_TRANSFER_ENCODING | F_CONTENT_LENGTH)) ==
          F_CONTENT_LENGTH)
    return 1;
  return llhttp_should_keep_alive(p);
}

/* Serializing a request head. 0 or FL_ENOMEM. With a scheme, the target
 * is in absolute form: scheme://authority/target (to a forward proxy). */
/* The FL__H_* kind of a response field some layer above reads, or 0
 * (name need not be NUL-terminated; any case). */
unsigned fl__h1_known_header(const char *name, size_t len);
/* A request head (ex->rh) as HTTP/1.x text into b (reset first). */
int fl__h1_put_head(fl__buf *b, const fl__req_head *rh);
int fl__h1_put_request_line(fl__buf *b, const char *method, const char *scheme,
                            const char *authority, const char *target);
int fl__h1_put_header(fl__buf *b, const char *name, const char *value);
int fl__h1_end_head(fl__buf *b);

#endif
