/* What the HTTP/2 carrier's files (engine/h2*.c) share: the session and stream
 * state of the HTTP/2 carrier. Contract in h2.h. */
#ifndef FL_H2_IMPL_H
#define FL_H2_IMPL_H

#include <nghttp2/nghttp2.h>

#include "engine/h2.h"
#include "http/h1.h"

/* Receive windows we open: per stream (what a paused stream may hold) and
 * for the connection. */
#define FL__H2_STREAM_WINDOW (256 * 1024)
#define FL__H2_CONN_WINDOW (4 * 1024 * 1024)
/* Header-block bytes (HEADERS and its CONTINUATIONs) past which a block is
 * a flood, not a head: the connection is dropped instead of decoding on
 * (h2_recv.c). Twice the largest cap on a response's heads (the CLI's
 * 300 KiB, as curl's). */
#define FL__H2_BLOCK_MAX (2u * 300 * 1024)

void *fl__h2_mem_alloc(fl__h2_mem *m, size_t n);
void fl__h2_mem_free(fl__h2_mem *m, void *p);
void *fl__h2_mem_realloc(fl__h2_mem *m, void *p, size_t n);
void fl__h2_mem_trim(fl__h2_mem *m);
static inline int fl__h2_mem_holds(const fl__h2_mem *m) { return m->free != NULL; }
/* An nghttp2 allocator over m (m must outlive the session); what the
 * session holds is added to and taken from *session_bytes. */
nghttp2_mem fl__h2_mem_nghttp2(fl__h2_mem *m, uint64_t *session_bytes);

/* One stream: the exchange it carries and what it keeps of the response.
 * nghttp2's stream user data; freed once closed and given up. */
typedef struct fl__h2_stream {
  fl__queue node;   /* the session's streams */
  fl__exchange *ex; /* NULL once given up (done, failed, dropped) */
  int32_t id;
  int status;              /* :status of the head being read */
  int final_seen;          /* a final head came: more headers are trailers */
  uint32_t head_bytes;     /* of the head being read (as the header list size) */
  uint32_t head_count;     /* its fields */
  uint32_t all_head_bytes; /* of every head of the response */
  uint64_t wire_bytes;     /* header and DATA bytes */
  fl__buf held;            /* DATA that came while paused */
  size_t held_off;         /* delivered of it */
  int remote_ended;        /* DATA with END_STREAM came: no window to give back */
  int closed;              /* nghttp2 closed it (close_code) */
  uint32_t close_code;
  int err; /* our reason to end it (a cap, a bad head), or 0 */
  char close_msg[160];
  uint64_t body_off; /* fixed request body bytes handed to nghttp2 */
} fl__h2_stream;


/* h2.c: the session and its I/O. */
/* A connection error's reason, replacing any earlier one (kept in the
 * heap: most connections never need it). */
void fl__h2_set_why(fl__h2 *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int fl__h2_session_new(fl__conn *c);
void fl__h2_session_free(fl__conn *c);
void fl__h2_read(fl__conn *c);
void fl__h2_flush(fl__conn *c);
/* The carrier's goodbye op: GOAWAY(NO_ERROR), one write, no wait. */
void fl__h2_goodbye(fl__conn *c);
/* nghttp2 had no memory for something it must do (a window update, a
 * reset, a PING): the connection fails with FL_ENOMEM from the loop (at
 * once when outside nghttp2). Returns what a callback returns to stop
 * nghttp2 (NGHTTP2_ERR_CALLBACK_FAILURE). */
int fl__h2_nomem(fl__conn *c);
/* fl__h2_nomem when rv (an nghttp2 call's result) is NGHTTP2_ERR_NOMEM. */
static inline void fl__h2_check(fl__conn *c, int rv) {
  if (rv == NGHTTP2_ERR_NOMEM) fl__h2_nomem(c);
}
/* h2_recv.c: nghttp2's callbacks for received (and sent) frames. */
void fl__h2_recv_callbacks(nghttp2_session_callbacks *cb);
/* h2_stream.c: a stream's outcome to its owner, exactly once. */
/* The body's bytes to the owner (its stream window is given back as it
 * takes them): 0, or 1 if the stream went away. */
int fl__h2_deliver(fl__conn *c, fl__h2_stream *st, const uint8_t *data, size_t len);
/* The response ended cleanly: the body's end to the owner, then done. */
void fl__h2_response_end(fl__conn *c, fl__h2_stream *st);
/* A resumed stream's held bytes, then its end if it came. */
void fl__h2_drain_held(fl__conn *c, fl__h2_stream *st);
void fl__h2_stream_done(fl__conn *c, fl__h2_stream *st);
void fl__h2_stream_fail(fl__conn *c, fl__h2_stream *st, int err, const char *msg, int orphaned);
/* Ours ends it: RST_STREAM(CANCEL), and the owner hears err now. */
void fl__h2_stream_abort(fl__conn *c, fl__h2_stream *st, int err, const char *msg);
/* A new stream's state, zeroed (from the connection's cache), or NULL. */
fl__h2_stream *fl__h2_stream_new(fl__h2 *h);
/* Frees st once nghttp2 closed it and no exchange holds it. */
void fl__h2_stream_release(fl__conn *c, fl__h2_stream *st);
/* h2_send.c: write soon (from the loop), or now when outside nghttp2. */
void fl__h2_flush_soon(fl__conn *c);

#endif
