/* An exchange: one request and its response, as a connection carries it.
 *
 * The owner (a request, in the client layer) fills the request side and
 * the ops (its sink), then hands the exchange to a carrier (an HTTP/1.1
 * connection, or an HTTP/2 stream). The carrier writes the request head
 * (ex->rh) in its wire format, feeds the response through its codec, and
 * reports back only through the ops: this is the one way up from the
 * engine.
 *
 * Rules
 * - ops are called by the carrier while it holds the exchange; done or
 *   failed is the last call, exactly once per carrying, and the carrier
 *   forgets the exchange before making it.
 * - Any op may drop the exchange (fl__conn_drop, after a user callback
 *   cancelled or freed the request): the carrier checks after each op and
 *   calls nothing more for it.
 * - Borrowed pointers (body bytes) are valid only during the call. */
#ifndef FL_EXCHANGE_H
#define FL_EXCHANGE_H

#include <stdint.h>

#include "base/buf.h"
#include "base/common.h"
#include "base/headers.h"
#include "http/response.h"

typedef struct fl__exchange fl__exchange;

/* The request head as data, built once by the owner; each carrier writes
 * its own wire form from it (HTTP/1.1 text, HPACK) and may cache that form
 * while gen stays the same (a resent request reuses its head). */
typedef struct fl__req_head {
  const char *method;    /* the strings are borrowed from the owner */
  const char *scheme;    /* "http" or "https" */
  const char *authority; /* Host on HTTP/1.1, :authority on HTTP/2 */
  const char *path;      /* origin-form target ("/p?q") */
  int absolute;          /* HTTP/1.1 to a forward proxy: absolute-form target */
  int minor;             /* HTTP/1.x request line: 1, or 0 for HTTP/1.0 */
  fl__headers fields;    /* the other fields in order (no Host); framing included */
  uint32_t gen;          /* bumped by every rebuild (never 0 once built) */
} fl__req_head;

/* The steps of one exchange, in order; a reused connection skips the
 * first three, and ops->start comes between TLS_DONE and SENT. One call
 * site per step: hooks and timers hang off these. */
typedef enum fl__ex_step {
  FL__EX_RESOLVED,  /* DNS answered for the new connection carrying it */
  FL__EX_CONNECTED, /* TCP connected */
  FL__EX_TLS_DONE,  /* TLS handshake done */
  FL__EX_HEAD_OUT,  /* (only if wants_head_out) the head goes out now, in ex->head as HTTP/1.1-style
                        text (the wire form on HTTP/1.1), for the trace hook */
  FL__EX_SENT,      /* all of its request is written (only if wants_sent) */
  FL__EX_INTERIM,   /* a 1xx head is in ex->res (until the step returns) */
  FL__EX_FIRST_BYTE, /* the first byte of its response arrived */
  FL__EX_ACTIVITY    /* more response bytes arrived */
} fl__ex_step;

/* Why the carrier gave an exchange up. */
typedef struct fl__ex_failure {
  int err;         /* FL_E... or an error the owner's own op returned */
  const char *msg; /* NULL when an op of the owner failed: it knows why */
  int early;       /* nothing of the response arrived and the connection was
                      a reused one: the server likely closed it while idle */
  int orphaned;    /* the connection went away before this exchange's
                      response (pipelined behind another): send it again */
} fl__ex_failure;

/* Returned by head or body: the owner wants no more of this body (a long
 * redirect body); the carrier drops the connection instead of reading on,
 * then calls done. */
#define FL__EX_ABANDON_BODY (-100000)
/* Returned by upload: nothing now (a send speed cap); the carrier stops
 * writing this body, sets upload_wait, and goes on when the owner calls
 * fl__conn_update_pause. */
#define FL__EX_UPLOAD_LATER (-100001)

typedef struct fl__exchange_ops {
  /* Its turn to be written has come on an open connection: fill in the
   * request side now (the head reflects the moment it leaves: cookies
   * set by a response a moment ago, the connection it goes on). 0, or an
   * error (the owner has the message): the carrier gives it up unsent. */
  int (*start)(fl__exchange *ex);
  void (*step)(fl__exchange *ex, fl__ex_step step);
  /* A final (>= 200) head is in ex->res. 0 to read the body, or an error
   * (< 0) to stop. ex->content_length is set. */
  int (*head)(fl__exchange *ex);
  /* Body bytes as they arrived (still content-coded); at == NULL marks the
   * end of the body. 0, or an error (< 0) to stop. */
  int (*body)(fl__exchange *ex, const char *at, size_t n);
  /* Streamed request body: up to cap bytes into buf; 0 at the end, < 0 if
   * the source failed. */
  long (*upload)(fl__exchange *ex, char *buf, size_t cap);
  /* The response is complete (the connection was released first, so the
   * next hop of a redirect may reuse it). */
  void (*done)(fl__exchange *ex);
  void (*failed)(fl__exchange *ex, const fl__ex_failure *f);
} fl__exchange_ops;

struct fl__exchange {
  const fl__exchange_ops *ops;
  /* Request side, set by the owner before carrying (the head and body by
   * ops->start at the latest) and left alone while carried. */
  fl__req_head rh; /* the request head (filled by ops->start) */
  fl__buf head;    /* its text form, written by the carrier for rh.gen == head_gen */
  uint32_t head_gen;
  const char *body; /* fixed body (borrowed), body_len bytes */
  size_t body_len;
  int streams;        /* the body comes from ops->upload */
  int64_t upload_len; /* streamed: -1 chunked, else the Content-Length */
  int head_only;      /* HEAD: no body whatever the headers say */
  int pipelinable;    /* bodiless GET/HEAD: may share a connection */
  /* An upgrade (a WebSocket's opening): a 101 is its final answer, and the
   * connection then leaves the pool for the owner: its transport moves into
   * *upgrade_tp and the bytes read after the 101 are appended to
   * *upgrade_rest (engine/upgrade.c). NULL: a 101 is a weird reply. */
  struct fl__transport *upgrade_tp;
  fl__buf *upgrade_rest;
  int known_headers_only; /* store only the response headers the library acts on */
  int wants_sent;         /* the sink asks for FL__EX_SENT (set by start) */
  int wants_head_out;     /* the sink asks for FL__EX_HEAD_OUT (a trace hook; set by start) */
  int paused;             /* the owner stopped reading (fl__conn_update_pause) */
  uint32_t expect_ms;     /* Expect: 100-continue sent: wait this long for a 100
                          before the body; 0 = send the body at once */
  fl_response *res;       /* where the response head goes */
  uint64_t *bytes_sent;   /* the owner's counter, added to as bytes leave */
  /* HTTP/1.x framing switches, read together (one test per response when
   * neither is set): ignore_content_length: a body not chunked ends with
   * the connection (curl's --ignore-content-length); raw: the body goes to
   * ops->body as it came, a chunked one with its chunk-size lines,
   * extensions and trailer section (curl's --raw). */
  union {
    struct {
      uint8_t ignore_content_length, raw;
    };
    uint16_t h1_special;
  };
  /* Carrier side. */
  void *carrier;        /* the connection carrying it, or NULL */
  fl__queue node;       /* the carrier's list */
  size_t woff;          /* bytes of head and fixed body written */
  uint64_t upload_sent; /* streamed bytes of a known-length upload */
  int upload_done;
  int upload_wait; /* upload said FL__EX_UPLOAD_LATER; writing waits for the owner */
  int response_started;
  int awaiting_continue;  /* head out, body held for a 100 (or the timeout) */
  uint32_t stream_id;     /* HTTP/2 stream of this carrying; 0 on HTTP/1.x */
  int unprocessed;        /* the server never processed it (behind another on
                             HTTP/1.1, refused or past GOAWAY on HTTP/2): a
                             close resends it elsewhere (orphaned) */
  int64_t content_length; /* of the response, -1 if not given */
  uint64_t body_bytes;    /* of the response, as received */
  uint64_t wire_bytes;    /* of the response as read: heads, framing, body */
};

void fl__exchange_init(fl__exchange *ex, const fl__exchange_ops *ops);
void fl__exchange_dispose(fl__exchange *ex);

#endif
