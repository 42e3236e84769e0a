/* The WebSocket opening handshake, client side (RFC 6455 4.1, RFC 7692 7):
 * the key, the headers of the upgrade request, and the checks on the 101
 * that answers it. Pure functions over header lists: the request path
 * (client/ws_connect.c) decides when they run. */
#ifndef FL_WS_HANDSHAKE_H
#define FL_WS_HANDSHAKE_H

#include "base/buf.h"
#include "base/headers.h"
#include "http/ws_codec.h"

/* What the client offered. */
typedef struct fl__ws_offer {
  char key[32];                    /* Sec-WebSocket-Key (24 base64 characters) */
  const char *const *subprotocols; /* NULL-terminated, or NULL */
  int pmd;                         /* permessage-deflate offered */
  /* parameters asked of the server when pmd (RFC 7692 7.1) */
  int server_no_context_takeover, client_no_context_takeover;
  int server_max_window_bits; /* 0: not asked */
} fl__ws_offer;

/* A new key: 16 bytes of OpenSSL's RNG, base64. 0 or FL_ENOMEM (the RNG
 * failed). */
int fl__ws_key_new(fl__ws_offer *o);
/* The Sec-WebSocket-Accept a server must answer key with (28 characters). */
void fl__ws_accept_for(const char *key, char out[32]);
/* The value of Sec-WebSocket-Extensions for the offer (empty if none), and
 * of Sec-WebSocket-Protocol ("a, b"). 0 or FL_ENOMEM. */
int fl__ws_extensions_offer(const fl__ws_offer *o, fl__buf *out);
int fl__ws_protocols_offer(const fl__ws_offer *o, fl__buf *out);

/* Parse the server's Sec-WebSocket-Extensions (all lines, joined by ", ")
 * against the offer (RFC 7692's rules: only what was offered, once; known
 * parameters, each once, values as the RFC allows). 0 with *pmd filled, or
 * -1 with the reason in msg. */
int fl__ws_extensions_parse(const char *value, const fl__ws_offer *o, fl__ws_pmd *pmd, char *msg,
                            size_t cap);

/* Check a 101's headers: Upgrade: websocket, Connection: upgrade, the
 * accept key, a subprotocol among those offered (*protocol: its index in
 * o->subprotocols, or -1 for none), the extensions. 0, -1 with the
 * reason in msg, or FL_ENOMEM (not the server's fault). */
int fl__ws_check_101(const fl__headers *h, const fl__ws_offer *o, fl__ws_pmd *pmd, int *protocol,
                     char *msg, size_t cap);

#endif
