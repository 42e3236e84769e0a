/* WebSocket frames in and out (see ws_codec.h). */
#include "http/ws_codec.h"

#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/common.h"

/* A chunk of inflated bytes: the most memory a message costs beyond what
 * the cap lets it keep. */
#define INFLATE_CHUNK 16384

int fl__ws_close_code_valid(int code) {
  if (code >= 3000 && code <= 4999) return 1;
  switch (code) {
  case 1000:
  case 1001:
  case 1002:
  case 1003:
  case 1007:
  case 1008:
  case 1009:
  case 1010:
  case 1011:
  case 1012:
  case 1013:
  case 1014: return 1;
  default: return 0; /* 1004-1006 and 1015 are reserved, the rest of 0-2999 unassigned */
  }
}

/* ------------------------------------------------------------------ UTF-8 */

int fl__utf8_feed(fl__utf8 *u, const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    /* ASCII, eight bytes at a time, outside a sequence: text messages are
     * mostly ASCII, and byte by byte this check was 40% of the user-space
     * instructions of an echoed 64-byte message (callgrind). */
    if (!u->need) {
      while (i + 8 <= n) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w & 0x8080808080808080ull) break;
        i += 8;
      }
      if (i == n) break;
    }
    unsigned b = p[i];
    if (u->need) {
      if (b < u->lo || b > u->hi) return -1;
      u->need--;
      u->lo = 0x80, u->hi = 0xBF;
      continue;
    }
    if (b < 0x80) continue;
    /* The first byte decides the length and the range of the second byte
     * (no overlongs, no surrogates, nothing past U+10FFFF). */
    if (b >= 0xC2 && b <= 0xDF) {
      u->need = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
      u->need = 2;
      if (b == 0xE0) u->lo = 0xA0;
      if (b == 0xED) u->hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      u->need = 3;
      if (b == 0xF0) u->lo = 0x90;
      if (b == 0xF4) u->hi = 0x8F;
    } else {
      return -1;
    }
  }
  return 0;
}

int fl__utf8_valid(const char *p, size_t n) {
  fl__utf8 u;
  fl__utf8_init(&u);
  return fl__utf8_feed(&u, (const unsigned char *)p, n) == 0 && fl__utf8_complete(&u);
}

/* -------------------------------------------------------------- receive */

void fl__ws_rx_init(fl__ws_rx *rx, const fl__ws_rx_ops *ops, void *owner, uint64_t max_message,
                    int pieces) {
  memset(rx, 0, sizeof *rx);
  rx->ops = ops;
  rx->owner = owner;
  rx->max_message = max_message;
  rx->pieces = pieces;
  rx->hneed = 2;
  fl__buf_init(&rx->msg);
}

int fl__ws_rx_set_pmd(fl__ws_rx *rx, const fl__ws_pmd *pmd) {
  if (!pmd || !pmd->on) return 0;
  /* Inflating with the largest window reads anything a smaller one made. */
  if (inflateInit2(&rx->zs, -15) != Z_OK) return FL_ENOMEM;
  rx->zs_ready = 1;
  rx->pmd_on = 1;
  rx->pmd_reset = pmd->server_no_context_takeover;
  return 0;
}

void fl__ws_rx_dispose(fl__ws_rx *rx) {
  if (rx->zs_ready) inflateEnd(&rx->zs);
  rx->zs_ready = 0;
  fl__buf_dispose(&rx->msg);
}

__attribute__((format(printf, 3, 4))) static int fail(fl__ws_rx *rx, int code, const char *fmt,
                                                      ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(rx->errmsg, sizeof rx->errmsg, fmt, ap);
  va_end(ap);
  rx->fail_code = code;
  rx->done = 1;
  return FL__WS_FAIL;
}

/* Message bytes as they will be delivered (after inflating). */
static int take_bytes(fl__ws_rx *rx, const char *p, size_t n) {
  if (n == 0) return 0;
  /* The first fault in byte order wins, however the bytes were cut: the
   * part within the limit is checked as UTF-8 before the limit fails. */
  size_t within = n;
  if (rx->max_message) {
    uint64_t room = rx->msg_bytes < rx->max_message ? rx->max_message - rx->msg_bytes : 0;
    if (room < within) within = (size_t)room;
  }
  if (rx->msg_op == FL__WS_TEXT && fl__utf8_feed(&rx->utf8, (const unsigned char *)p, within)) {
    rx->msg_bytes += within;
    return fail(rx, FL__WS_INVALID_DATA, "invalid UTF-8 in a text message (at byte %llu or before)",
                (unsigned long long)rx->msg_bytes);
  }
  rx->msg_bytes += n;
  if (within < n)
    return fail(rx, FL__WS_TOO_BIG, "message over the %llu-byte limit",
                (unsigned long long)rx->max_message);
  if (rx->pieces) {
    int first = rx->first_due;
    rx->first_due = 0;
    if (rx->ops->data(rx->owner, rx->msg_op, p, n, first, 0)) return (rx->done = 1), FL__WS_STOP;
    return 0;
  }
  return fl__buf_append(&rx->msg, p, n) ? FL_ENOMEM : 0;
}

static int inflate_bytes(fl__ws_rx *rx, const char *p, size_t n) {
  char out[INFLATE_CHUNK];
  rx->zs.next_in = (Bytef *)(uintptr_t)p;
  rx->zs.avail_in = (uInt)n;
  for (;;) {
    rx->zs.next_out = (Bytef *)out;
    rx->zs.avail_out = sizeof out;
    int r = inflate(&rx->zs, Z_SYNC_FLUSH);
    size_t got = sizeof out - rx->zs.avail_out;
    /* What came out before an error counts first, so the outcome does not
     * depend on where the input was cut. */
    int e = take_bytes(rx, out, got);
    if (e) return e;
    if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR)
      return fail(rx, FL__WS_PROTOCOL_ERROR, "bad compressed data: %s",
                  rx->zs.msg ? rx->zs.msg : "inflate failed");
    if (r == Z_STREAM_END) inflateReset(&rx->zs); /* a final block: a new stream may follow */
    if (rx->zs.avail_in == 0 && rx->zs.avail_out != 0) return 0;
    if (r == Z_BUF_ERROR && got == 0) return 0;
  }
}

static int end_message(fl__ws_rx *rx) {
  if (rx->msg_z) {
    static const char tail[4] = {0, 0, (char)0xff, (char)0xff};
    int e = inflate_bytes(rx, tail, 4);
    if (e) return e;
    if (rx->pmd_reset) inflateReset(&rx->zs);
  }
  if (rx->msg_op == FL__WS_TEXT && !fl__utf8_complete(&rx->utf8))
    return fail(rx, FL__WS_INVALID_DATA, "text message ends inside a UTF-8 sequence");
  int op = rx->msg_op;
  rx->msg_op = 0;
  int stop;
  if (rx->pieces)
    stop = rx->ops->data(rx->owner, op, "", 0, rx->first_due, 1);
  else
    stop = rx->ops->data(rx->owner, op, rx->msg.data ? rx->msg.data : "", rx->msg.len, 1, 1);
  fl__buf_reset(&rx->msg);
  if (stop) return (rx->done = 1), FL__WS_STOP;
  return 0;
}

static int end_control(fl__ws_rx *rx) {
  const char *p = rx->ctl;
  size_t n = rx->ctl_len;
  int code = 0;
  if (rx->op == FL__WS_CLOSE) {
    if (n == 1) return fail(rx, FL__WS_PROTOCOL_ERROR, "close frame with a one-byte payload");
    code = FL__WS_NO_STATUS;
    if (n >= 2) {
      code = ((unsigned char)p[0] << 8) | (unsigned char)p[1];
      if (!fl__ws_close_code_valid(code))
        return fail(rx, FL__WS_PROTOCOL_ERROR, "invalid close code %d", code);
      if (!fl__utf8_valid(p + 2, n - 2))
        return fail(rx, FL__WS_INVALID_DATA, "invalid UTF-8 in the close reason");
      p += 2, n -= 2;
    }
    rx->done = 1; /* nothing after a close frame is read */
  }
  if (rx->ops->control(rx->owner, rx->op, code, p, n)) return (rx->done = 1), FL__WS_STOP;
  return rx->done ? FL__WS_STOP : 0;
}

static int end_frame(fl__ws_rx *rx) {
  rx->hlen = 0;
  rx->hneed = 2;
  if (rx->op >= FL__WS_CLOSE) return end_control(rx);
  return rx->fin ? end_message(rx) : 0;
}

/* The first two bytes of a header: everything but the extended length. */
static int check_start(fl__ws_rx *rx) {
  unsigned b0 = rx->hdr[0], b1 = rx->hdr[1];
  rx->fin = (b0 & 0x80) != 0;
  rx->rsv1 = (b0 & 0x40) != 0;
  rx->op = b0 & 0x0F;
  unsigned len7 = b1 & 0x7F;
  if (b1 & 0x80) return fail(rx, FL__WS_PROTOCOL_ERROR, "masked frame from the server");
  if (b0 & 0x30) return fail(rx, FL__WS_PROTOCOL_ERROR, "reserved bits RSV2/RSV3 set");
  int control = rx->op >= FL__WS_CLOSE;
  if ((rx->op > FL__WS_BINARY && rx->op < FL__WS_CLOSE) || rx->op > FL__WS_PONG)
    return fail(rx, FL__WS_PROTOCOL_ERROR, "reserved opcode 0x%X", rx->op);
  if (rx->rsv1 && (!rx->pmd_on || control || rx->op == FL__WS_CONT))
    return fail(rx, FL__WS_PROTOCOL_ERROR,
                rx->pmd_on ? "RSV1 set on a %s frame" : "RSV1 set without an extension%s",
                rx->pmd_on ? (control ? "control" : "continuation") : "");
  if (control && !rx->fin) return fail(rx, FL__WS_PROTOCOL_ERROR, "fragmented control frame");
  if (control && len7 > 125)
    return fail(rx, FL__WS_PROTOCOL_ERROR, "control frame payload over 125 bytes");
  if (rx->op == FL__WS_CONT && !rx->msg_op)
    return fail(rx, FL__WS_PROTOCOL_ERROR, "continuation frame without a message to continue");
  if ((rx->op == FL__WS_TEXT || rx->op == FL__WS_BINARY) && rx->msg_op)
    return fail(rx, FL__WS_PROTOCOL_ERROR, "new message while a fragmented one is unfinished");
  rx->hneed = len7 == 126 ? 4 : len7 == 127 ? 10 : 2;
  return 0;
}

static int start_payload(fl__ws_rx *rx) {
  unsigned len7 = rx->hdr[1] & 0x7F;
  uint64_t len = len7;
  if (len7 == 126) {
    len = ((uint64_t)rx->hdr[2] << 8) | rx->hdr[3];
  } else if (len7 == 127) {
    len = 0;
    for (int i = 2; i < 10; i++) len = (len << 8) | rx->hdr[i];
    if (len >> 63) return fail(rx, FL__WS_PROTOCOL_ERROR, "frame length with its top bit set");
  }
  rx->left = len;
  if (rx->op >= FL__WS_CLOSE) {
    rx->ctl_len = 0;
  } else {
    if (rx->op != FL__WS_CONT) { /* a new message */
      rx->msg_op = rx->op;
      rx->msg_z = rx->rsv1;
      rx->msg_bytes = 0;
      rx->first_due = 1;
      fl__utf8_init(&rx->utf8);
      fl__buf_reset(&rx->msg);
    }
    /* Uncompressed bytes count as they are: a length over the cap fails
     * before any of it is read. */
    if (!rx->msg_z && rx->max_message && len > rx->max_message - rx->msg_bytes &&
        rx->msg_bytes <= rx->max_message)
      return fail(rx, FL__WS_TOO_BIG, "message of at least %llu bytes over the %llu-byte limit",
                  (unsigned long long)(rx->msg_bytes + len), (unsigned long long)rx->max_message);
  }
  return rx->left == 0 ? end_frame(rx) : 0;
}

int fl__ws_rx_feed(fl__ws_rx *rx, const char *p, size_t n, size_t *used) {
  size_t i = 0;
  int e = 0;
  while (i < n && !rx->done) {
    if (rx->hlen < rx->hneed || rx->left == 0) { /* in a header */
      while (i < n && rx->hlen < rx->hneed) rx->hdr[rx->hlen++] = (unsigned char)p[i++];
      if (rx->hlen < rx->hneed) break;
      if (rx->hlen == 2 && (e = check_start(rx))) break;
      if (rx->hlen < rx->hneed) continue; /* an extended length follows */
      if ((e = start_payload(rx))) break;
      continue;
    }
    size_t take = n - i < rx->left ? n - i : (size_t)rx->left;
    const char *at = p + i;
    i += take;
    rx->left -= take;
    if (rx->op >= FL__WS_CLOSE) {
      memcpy(rx->ctl + rx->ctl_len, at, take);
      rx->ctl_len = (uint8_t)(rx->ctl_len + take);
    } else if (rx->msg_z) {
      e = inflate_bytes(rx, at, take);
    } else {
      e = take_bytes(rx, at, take);
    }
    if (!e && rx->left == 0) e = end_frame(rx);
    if (e) break;
  }
  if (used) *used = i;
  if (e == FL_ENOMEM) rx->done = 1;
  return e;
}

/* ----------------------------------------------------------------- send */

void fl__ws_tx_init(fl__ws_tx *tx) {
  memset(tx, 0, sizeof *tx);
  tx->rnd_off = sizeof tx->rnd;
}

int fl__ws_tx_set_pmd(fl__ws_tx *tx, const fl__ws_pmd *pmd) {
  if (!pmd || !pmd->on) return 0;
  int bits = pmd->client_max_window_bits ? pmd->client_max_window_bits : 15;
  if (bits < 9) return 0; /* see the header: we send uncompressed */
  if (deflateInit2(&tx->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -bits, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK)
    return FL_ENOMEM;
  tx->zs_ready = 1;
  tx->pmd_on = 1;
  tx->pmd_reset = pmd->client_no_context_takeover;
  return 0;
}

void fl__ws_tx_dispose(fl__ws_tx *tx) {
  if (tx->zs_ready) deflateEnd(&tx->zs);
  tx->zs_ready = 0;
  fl__buf_dispose(&tx->zbuf);
}

/* A fresh masking key (RFC 6455 5.3: unpredictable, from a strong source). */
static int mask_key(fl__ws_tx *tx, unsigned char key[4]) {
  if (tx->rnd_off + 4 > sizeof tx->rnd) {
    if (RAND_bytes(tx->rnd, sizeof tx->rnd) != 1) return FL_ENOMEM;
    tx->rnd_off = 0;
  }
  memcpy(key, tx->rnd + tx->rnd_off, 4);
  tx->rnd_off += 4;
  return 0;
}

static void mask_into(char *dst, const char *src, size_t n, const unsigned char key[4]) {
  uint64_t k8;
  unsigned char k[8] = {key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]};
  memcpy(&k8, k, 8);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v;
    memcpy(&v, src + i, 8);
    v ^= k8;
    memcpy(dst + i, &v, 8);
  }
  for (; i < n; i++) dst[i] = (char)(src[i] ^ key[i & 3]);
}

/* Deflate p into the end of out; the final piece of a message loses the
 * 00 00 FF FF that the receiver puts back (RFC 7692 7.2.1). */
static int deflate_into(fl__ws_tx *tx, fl__buf *out, const char *p, size_t n, int fin) {
  size_t start = out->len;
  tx->zs.next_in = (Bytef *)(uintptr_t)p;
  tx->zs.avail_in = (uInt)n;
  do {
    size_t room = n / 2 + 64;
    if (fl__buf_reserve(out, room)) return FL_ENOMEM;
    tx->zs.next_out = (Bytef *)out->data + out->len;
    tx->zs.avail_out = (uInt)room;
    int r = deflate(&tx->zs, Z_SYNC_FLUSH);
    if (r != Z_OK && r != Z_BUF_ERROR) return FL_ENOMEM;
    out->len += room - tx->zs.avail_out;
  } while (tx->zs.avail_out == 0);
  size_t got = out->len - start;
  if (fin && got >= 4 && memcmp(out->data + out->len - 4, "\0\0\xff\xff", 4) == 0) out->len -= 4;
  /* Nothing to say (an empty message, or an empty last fragment): at a byte
   * boundary the receiver's 00 00 FF FF needs a stored-block header byte in
   * front to be a block (RFC 7692 7.2.3.6), or the inflater loses its place. */
  if (fin && out->len == start && fl__buf_append(out, "", 1)) return FL_ENOMEM;
  if (fin && tx->pmd_reset) deflateReset(&tx->zs);
  return 0;
}

static int put_frame(fl__ws_tx *tx, fl__buf *out, int b0, const char *p, size_t n) {
  unsigned char h[14];
  size_t hl = 2;
  h[0] = (unsigned char)b0;
  if (n < 126) {
    h[1] = (unsigned char)(0x80 | n);
  } else if (n <= 0xFFFF) {
    h[1] = 0x80 | 126;
    h[2] = (unsigned char)(n >> 8), h[3] = (unsigned char)n;
    hl = 4;
  } else {
    h[1] = 0x80 | 127;
    for (int i = 0; i < 8; i++) h[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
    hl = 10;
  }
  if (mask_key(tx, h + hl)) return FL_ENOMEM;
  if (fl__buf_reserve(out, hl + 4 + n)) return FL_ENOMEM;
  memcpy(out->data + out->len, h, hl + 4);
  mask_into(out->data + out->len + hl + 4, p, n, h + hl);
  out->len += hl + 4 + n;
  out->data[out->len] = '\0';
  return 0;
}

int fl__ws_tx_frame(fl__ws_tx *tx, fl__buf *out, int opcode, int fin, int compress, const char *p,
                    size_t n) {
  if (opcode >= FL__WS_CLOSE) {
    if (n > 125) return FL_EINVAL;
    return put_frame(tx, out, 0x80 | opcode, p, n);
  }
  if ((opcode == FL__WS_CONT) != (tx->in_message != 0)) return FL_EINVAL;
  int rsv1 = 0;
  if (opcode != FL__WS_CONT) {
    tx->msg_z = compress && tx->pmd_on;
    rsv1 = tx->msg_z;
  }
  tx->in_message = !fin;
  int b0 = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  if (!tx->msg_z) return put_frame(tx, out, b0, p, n);
  fl__buf_reset(&tx->zbuf);
  if (deflate_into(tx, &tx->zbuf, p, n, fin)) return FL_ENOMEM;
  return put_frame(tx, out, b0, tx->zbuf.data ? tx->zbuf.data : "", tx->zbuf.len);
}

int fl__ws_tx_close(fl__ws_tx *tx, fl__buf *out, int code, const char *reason, size_t rlen) {
  char pl[125];
  if (rlen > 123) return FL_EINVAL;
  pl[0] = (char)(code >> 8), pl[1] = (char)code;
  if (rlen) memcpy(pl + 2, reason, rlen);
  return fl__ws_tx_frame(tx, out, FL__WS_CLOSE, 1, 0, pl, rlen + 2);
}
