/* The WebSocket frame codec (RFC 6455), client side: frames in from the
 * server (parsed, validated, inflated when permessage-deflate is on,
 * assembled into messages or handed on as pieces) and frames out to it
 * (always masked). It knows nothing of sockets, timers or the handshake:
 * bytes in, calls out, so every rule can be tested on byte strings.
 *
 * Why our own framing rather than wslay (libwslay 1.1.1): wslay validates
 * no UTF-8 at all, has no permessage-deflate, and applies its message size
 * cap to the bytes on the wire, so a compressed message would be inflated
 * uncapped by whoever sits above it. Those are the three things a client
 * at aiohttp's level must do inside the parser: UTF-8 checked incrementally
 * across fragments (failing at the first byte that cannot start or continue
 * a valid sequence), and the size cap applied to inflated bytes as they are
 * produced (a deflate bomb ends in close 1009 having used one chunk of
 * memory). What is left of wslay's value once those are ours (the frame
 * header) is sixty lines.
 *
 * Failures: fl__ws_rx_feed returns FL__WS_FAIL with rx->fail_code the close
 * code to send (1002 protocol, 1007 invalid UTF-8, 1009 too big) and
 * rx->errmsg saying what the server did. After a failure or a close frame
 * the receiver takes no more bytes. */
#ifndef FL_WS_CODEC_H
#define FL_WS_CODEC_H

#include <stdint.h>
#include <zlib.h>

#include "base/buf.h"

enum {
  FL__WS_CONT = 0x0,
  FL__WS_TEXT = 0x1,
  FL__WS_BINARY = 0x2,
  FL__WS_CLOSE = 0x8,
  FL__WS_PING = 0x9,
  FL__WS_PONG = 0xA
};

/* Close codes (RFC 6455 7.4.1). */
enum {
  FL__WS_NORMAL = 1000,
  FL__WS_GOING_AWAY = 1001,
  FL__WS_PROTOCOL_ERROR = 1002,
  FL__WS_NO_STATUS = 1005, /* a close frame without a code: never sent */
  FL__WS_ABNORMAL = 1006,  /* no close frame at all: never sent */
  FL__WS_INVALID_DATA = 1007,
  FL__WS_TOO_BIG = 1009
};

/* 1 if code may appear in a close frame (1000-1003, 1007-1014 except the
 * unassigned ones RFC 6455 and the IANA registry do not define, 3000-4999). */
int fl__ws_close_code_valid(int code);

/* ------------------------------------------------------------------ UTF-8
 * Incremental validation: feed any split of the bytes; -1 at the first byte
 * that no continuation can make valid (overlongs, surrogates, > U+10FFFF
 * are caught at the byte that decides them). */
typedef struct fl__utf8 {
  uint8_t need;   /* continuation bytes still due */
  uint8_t lo, hi; /* the range the next continuation byte must fall in */
} fl__utf8;

static inline void fl__utf8_init(fl__utf8 *u) { u->need = 0, u->lo = 0x80, u->hi = 0xBF; }
int fl__utf8_feed(fl__utf8 *u, const unsigned char *p, size_t n); /* 0 or -1 */
static inline int fl__utf8_complete(const fl__utf8 *u) { return u->need == 0; }
int fl__utf8_valid(const char *p, size_t n); /* whole string: 1 or 0 */

/* -------------------------------------------------- permessage-deflate
 * What the handshake agreed (RFC 7692 7.1). Window bits 0 = not given (15).
 * client_* bind what we send, server_* what we receive. */
typedef struct fl__ws_pmd {
  int on;
  int server_no_context_takeover, client_no_context_takeover;
  int server_max_window_bits, client_max_window_bits;
} fl__ws_pmd;

/* -------------------------------------------------------------- receive */
#define FL__WS_FAIL (-1)
#define FL__WS_STOP (-2) /* an op returned nonzero: stopped at *used */

typedef struct fl__ws_rx_ops {
  /* Message bytes (inflated, UTF-8 checked so far). Whole mode: one call
   * per message, first and last both 1. Piece mode: pieces as they come,
   * the last call has last = 1 (maybe with n = 0). Nonzero stops the feed. */
  int (*data)(void *owner, int opcode, const char *p, size_t n, int first, int last);
  /* A ping, a pong, or a close (code: FL__WS_NO_STATUS when the frame had
   * none; code and UTF-8 reason already validated). */
  int (*control)(void *owner, int opcode, int code, const char *p, size_t n);
} fl__ws_rx_ops;

typedef struct fl__ws_rx {
  const fl__ws_rx_ops *ops;
  void *owner;
  uint64_t max_message; /* inflated bytes per message; 0 = no cap */
  int pieces;           /* hand on pieces instead of whole messages */
  /* permessage-deflate (fl__ws_rx_set_pmd) */
  int pmd_on, pmd_reset; /* reset: the server takes no context over */
  z_stream zs;
  int zs_ready;
  /* frame header */
  unsigned char hdr[14];
  uint8_t hlen, hneed;
  uint8_t op, fin, rsv1;
  uint64_t left; /* payload bytes of this frame still to come */
  /* message */
  uint8_t msg_op; /* 0: none open */
  uint8_t msg_z;  /* the message is compressed */
  uint8_t first_due;
  uint64_t msg_bytes;
  fl__utf8 utf8;
  fl__buf msg; /* whole mode: the message so far */
  char ctl[125];
  uint8_t ctl_len;
  int done; /* a close frame was parsed, or the stream failed */
  int fail_code;
  char errmsg[160];
} fl__ws_rx;

void fl__ws_rx_init(fl__ws_rx *rx, const fl__ws_rx_ops *ops, void *owner, uint64_t max_message,
                    int pieces);
/* 0 or FL_ENOMEM. */
int fl__ws_rx_set_pmd(fl__ws_rx *rx, const fl__ws_pmd *pmd);
void fl__ws_rx_dispose(fl__ws_rx *rx);
/* Feed server bytes. 0: all used; FL__WS_STOP: an op asked to stop after
 * *used bytes; FL__WS_FAIL: see above; FL_ENOMEM. */
int fl__ws_rx_feed(fl__ws_rx *rx, const char *p, size_t n, size_t *used);

/* ----------------------------------------------------------------- send */
typedef struct fl__ws_tx {
  int pmd_on, pmd_reset;
  int window_bits;
  z_stream zs;
  int zs_ready;
  int in_message;         /* a fragmented message we send is open */
  int msg_z;              /* ... and is compressed */
  fl__buf zbuf;           /* a compressed payload before masking */
  unsigned char rnd[256]; /* masking keys from OpenSSL's RNG, 64 at a time */
  unsigned rnd_off;
} fl__ws_tx;

void fl__ws_tx_init(fl__ws_tx *tx);
/* 0 or FL_ENOMEM. A client window of 8 bits is below what zlib's deflate
 * can promise (it uses 9): messages then go uncompressed, which RFC 7692
 * allows per message. */
int fl__ws_tx_set_pmd(fl__ws_tx *tx, const fl__ws_pmd *pmd);
void fl__ws_tx_dispose(fl__ws_tx *tx);
/* Append one masked frame carrying payload p (compressed first when a data
 * frame of a compressed message) to out. opcode: TEXT/BINARY start a message
 * (CONT continues one), fin ends it; control frames any time. compress:
 * compress this message (only read on its first frame). 0, FL_ENOMEM, or
 * FL_EINVAL (a control payload over 125 bytes, a continuation with no
 * message open, a new message while one is open). */
int fl__ws_tx_frame(fl__ws_tx *tx, fl__buf *out, int opcode, int fin, int compress, const char *p,
                    size_t n);
/* A close frame's payload: the code (big-endian) and the reason. */
int fl__ws_tx_close(fl__ws_tx *tx, fl__buf *out, int code, const char *reason, size_t rlen);

#endif
