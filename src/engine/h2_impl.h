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
  int closed;              /* nghttp2 closed it (close_code) */
  uint32_t close_code;
  int err; /* our reason to end it (a cap, a bad head), or 0 */
  char close_msg[160];
  uint64_t body_off; /* fixed request body bytes handed to nghttp2 */
} fl__h2_stream;

struct fl__h2 {
  nghttp2_session *s;
  fl__queue streams; /* every fl__h2_stream not freed yet */
  fl__exchange *cur; /* whose op runs now (fl__conn_carries) */
  fl__buf out;       /* bytes from nghttp2 not written yet */
  size_t out_off;
  int in_session;    /* inside mem_recv or mem_send: no re-entry */
  int flush_again;   /* a flush was asked for meanwhile */
  int answered;      /* the server sent its first byte */
  int settings_seen; /* its SETTINGS came: its stream limit is known */
  int goaway;        /* received or sent: no new streams */
  int goaway_recv;   /* the server sent one: last_stream_id is its */
  int goaway_sent;   /* we sent one */
  int peer_gone;     /* the server closed its side: nothing more to send */
  uint32_t goaway_code;
  int32_t last_stream_id;
  int ping_out;         /* a PING waits for its ACK */
  uint32_t block_bytes; /* of the header block being received */
  char why[200];        /* a connection error's reason */
};

typedef struct fl__h2 fl__h2;

/* h2.c: the session and its I/O. */
int fl__h2_session_new(fl__conn *c);
void fl__h2_session_free(fl__conn *c);
fl__h2_stream *fl__h2_stream_of(fl__h2 *h, int32_t id);
void fl__h2_read(fl__conn *c);
void fl__h2_flush(fl__conn *c);
/* The carrier's goodbye op: GOAWAY(NO_ERROR), one write, no wait. */
void fl__h2_goodbye(fl__conn *c);
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
/* Frees st once nghttp2 closed it and no exchange holds it. */
void fl__h2_stream_release(fl__conn *c, fl__h2_stream *st);
/* h2_send.c: write soon (from the loop), or now when outside nghttp2. */
void fl__h2_flush_soon(fl__conn *c);

#endif
