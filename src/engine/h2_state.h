/* The HTTP/2 carrier's state of one connection (engine/h2*.c). It is
 * declared apart from h2_impl.h so that struct fl__conn can hold it in the
 * storage the HTTP/1.1 parser uses on an HTTP/1.1 connection: an h2
 * connection never parses HTTP/1.1 (a CONNECT tunnel's answer is read
 * before TLS agrees on h2), so the state costs an idle h2 connection no
 * allocation of its own. Owned and used by the h2 carrier only; the rest of
 * the engine sees fl__conn's h2 pointer (NULL on HTTP/1.1). */
#ifndef FL_H2_STATE_H
#define FL_H2_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/common.h"
#include "http/exchange.h"
#include "loop/loop.h"

struct nghttp2_session;
struct fl__h2_stream;
struct fl__conn;

/* h2_mem.c: a per-connection cache of small blocks for nghttp2's
 * allocations and our streams. A block of up to 512 bytes freed goes to a
 * list per size (glibc's chunk sizes, 32 to 528 bytes in steps of 16) and
 * serves the next allocation of that size; larger ones are plain
 * malloc/free. At most FL__H2_MEM_BYTES wait, and fl__h2_mem_trim gives
 * them all back (the lists too) (when the connection still has no
 * stream a loop pass after its last one ended, and when it is freed), so an
 * idle connection keeps none. Single-threaded, as the connection is.
 * Failures are malloc's (the allocation torture injects them as for any
 * other allocation). */
#define FL__H2_MEM_CLASSES 32
#define FL__H2_MEM_BYTES (128 * 1024)
typedef struct fl__h2_mem {
  void **free;             /* FL__H2_MEM_CLASSES lists; allocated when a first block waits */
  size_t bytes;            /* of the blocks waiting (at most FL__H2_MEM_BYTES) */
  uint64_t *session_bytes; /* what nghttp2 holds, in glibc chunks (a gauge
                              shared by the client's sessions) */
} fl__h2_mem;

struct fl__h2 {
  struct nghttp2_session *s;
  fl__h2_mem mem; /* nghttp2's blocks and our streams */
  fl__defer trim; /* idle: give mem's blocks back (h2.c) */
  struct fl__conn *conn;
  struct fl__h2_stream *rx; /* the stream whose header block is being received */
  fl__queue streams;        /* every fl__h2_stream not freed yet */
  fl__exchange *cur;        /* whose op runs now (fl__conn_carries) */
  fl__buf out;              /* bytes from nghttp2 not written yet */
  size_t out_off;
  size_t unacked;  /* DATA bytes of this read: the connection window they took */
  const char *why; /* a connection error's reason (fl__h2_set_why), or NULL */
  uint32_t goaway_code;
  int32_t last_stream_id;
  uint32_t block_bytes;       /* of the header block being received */
  unsigned in_session : 1;    /* inside mem_recv or mem_send: no re-entry */
  unsigned flush_again : 1;   /* a flush was asked for meanwhile */
  unsigned answered : 1;      /* the server sent its first byte */
  unsigned settings_seen : 1; /* its SETTINGS came: its stream limit is known */
  unsigned goaway : 1;        /* received or sent: no new streams */
  unsigned goaway_recv : 1;   /* the server sent one: last_stream_id is its */
  unsigned goaway_sent : 1;   /* we sent one */
  unsigned peer_gone : 1;     /* the server closed its side: nothing more to send */
  unsigned nomem : 1;         /* nghttp2 had no memory for a frame: the connection fails */
  unsigned ping_out : 1;      /* a PING waits for its ACK */
};
typedef struct fl__h2 fl__h2;

#endif
