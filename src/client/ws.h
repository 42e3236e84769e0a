/* fl_ws: a WebSocket connection (client/ws.c) and its opening over a
 * request (client/ws_connect.c).
 *
 *   NEW -> CONNECTING (the upgrade request in flight) -> OPEN
 *       -> CLOSING (our close frame is queued; the server's may come)
 *       -> LINGER (the end is decided; what is queued goes out, bounded by
 *          close_timeout_ms) -> ENDED (transport closed; close_cb deferred)
 *
 * Lifetimes
 * - Once open, the fl_ws owns its transport (moved out of the connection
 *   at the 101, with its TLS state and no pointer into the pool or the
 *   client) and the bytes read after the 101; it needs only its loop.
 * - Every entry from the loop (I/O, timers, defers) counts in depth; a
 *   fl_ws_free inside a callback closes everything at once and frees the
 *   memory when the outermost entry leaves. */
#ifndef FL_CLIENT_WS_H
#define FL_CLIENT_WS_H

#include "base/buf.h"
#include "base/common.h"
#include "http/ws_codec.h"
#include "http/ws_handshake.h"
#include "loop/loop.h"
#include "net/transport.h"

typedef enum fl__ws_state {
  FL__WS_NEW = 0,
  FL__WS_CONNECTING,
  FL__WS_OPEN,
  FL__WS_CLOSING,
  FL__WS_LINGER,
  FL__WS_ENDED
} fl__ws_state;

/* A message waiting for fl_ws_recv. */
typedef struct fl__ws_qmsg {
  fl__queue node;
  int type, flags;
  size_t len;
  char data[];
} fl__ws_qmsg;

struct fl_ws {
  fl_ws_options opts;
  char **protos; /* copied subprotocol names, NULL-terminated */
  fl__ws_state state;
  fl_loop *loop;
  /* connecting (ws_connect.c) */
  fl_client *client;
  fl_request *req;
  fl_ws_open_cb open_cb;
  void *open_data;
  fl__ws_offer offer;
  int abort_pending; /* fl_ws_abort while connecting */
  /* open */
  fl__transport tp;
  fl__io io;
  fl__ws_rx rx;
  fl__ws_tx tx;
  fl__buf out; /* frames queued, masked, from out_off on */
  size_t out_off;
  int above_hw;  /* a send reported the high-water mark; drain_cb is due */
  fl__buf early; /* bytes that came with the 101 */
  int rpaused;   /* a message waits in the pull queue */
  fl__timer hb_timer, pong_timer, read_timer, close_timer;
  int timers_ready; /* set up (at the adoption) */
  int loop_ref;     /* holds a loop ref (from the adoption to the end) */
  uint64_t last_read_ms;
  fl__defer io_defer;  /* read what is buffered (early bytes, TLS, resume) */
  fl__defer end_defer; /* close_cb / the end in pull mode, from the loop */
  fl__defer drain_defer;
  int close_sent, close_got;
  int peer_code; /* the server's close frame */
  fl__buf peer_reason;
  int end_err, end_code;
  fl__buf end_reason;
  int end_reported;
  /* pull mode */
  fl__queue msgs;
  fl__ws_qmsg *taken;
  /* callbacks */
  fl_ws_message_cb message_cb;
  void *message_data;
  fl_ws_close_cb close_cb;
  void *close_data;
  fl_ws_event_cb drain_cb, readable_cb;
  void *drain_data, *readable_data;
  /* the text message we send in pieces (ws_api.c): its UTF-8 so far */
  fl__utf8 tx_utf8;
  int tx_text;
  /* re-entry */
  int depth, freed;
  char *protocol;
  char extensions[160];
  char errmsg[256];
};

/* ws.c, for ws_connect.c: the 101 was checked; take tp (moved: *tp is reset)
 * and the bytes read after the 101 (copied), with what the handshake agreed.
 * 0, or FL_ENOMEM (tp is then closed). */
int fl__ws_adopt(fl_ws *ws, fl_loop *loop, fl__transport *tp, const char *early, size_t n,
                 const fl__ws_pmd *pmd);
/* After open_cb ran (err 0): feed the early bytes and start reading. */
void fl__ws_start(fl_ws *ws);
void fl__ws_enter(fl_ws *ws);
void fl__ws_leave(fl_ws *ws); /* may free ws: do not touch it after */
/* ws.c, for ws_api.c: queue one frame (op, fin) of p; kick the write queue
 * (0, or an error after which the WebSocket is ending); queue the close
 * frame; end the WebSocket (err, close code, reason) through the close
 * callback; re-arm the read/write interest. */
int fl__ws_frame_out(fl_ws *ws, int op, int fin, const char *p, size_t n);
int fl__ws_kick(fl_ws *ws);
int fl__ws_send_close(fl_ws *ws, int code, const char *reason, size_t rlen);
void fl__ws_end(fl_ws *ws, int err, int code, const char *reason);
void fl__ws_update_io(fl_ws *ws);
/* ws_connect.c: a connect in progress is given up (fl_ws_abort, fl_ws_free). */
void fl__ws_connect_cancel(fl_ws *ws, int notify);

#endif
