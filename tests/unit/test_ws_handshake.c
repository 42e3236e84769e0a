/* The WebSocket opening handshake (src/http/ws_handshake.c): the key and
 * its accept value (RFC 6455's own example), the offer headers, and every
 * way a 101 can be wrong: no Upgrade or Connection, a wrong accept, a
 * subprotocol not offered, and Sec-WebSocket-Extensions answers that break
 * RFC 7692 (not offered, listed twice, unknown or repeated parameters,
 * window bits outside 8-15). */
/* LABELS: valgrind */
#include <stdio.h>
#include <string.h>

#include "base/headers.h"
#include "http/ws_handshake.h"
#include "test.h"

static void test_key_and_accept(void) {
  char acc[32];
  fl__ws_accept_for("dGhlIHNhbXBsZSBub25jZQ==", acc); /* RFC 6455 1.3 */
  CHECK_EQ_STR(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  fl__ws_offer a = {0}, b = {0};
  CHECK(fl__ws_key_new(&a) == 0 && fl__ws_key_new(&b) == 0);
  CHECK_EQ_INT(strlen(a.key), 24);
  CHECK(strcmp(a.key, b.key) != 0);
  CHECK(a.key[22] == '=' && a.key[23] == '=');
}

static void test_offers(void) {
  const char *const protos[] = {"chat", "superchat", NULL};
  fl__ws_offer o = {.pmd = 1, .subprotocols = protos};
  fl__buf b;
  fl__buf_init(&b);
  CHECK(fl__ws_extensions_offer(&o, &b) == 0);
  CHECK_EQ_STR(b.data, "permessage-deflate; client_max_window_bits");
  fl__buf_reset(&b);
  o.server_no_context_takeover = o.client_no_context_takeover = 1;
  o.server_max_window_bits = 10;
  CHECK(fl__ws_extensions_offer(&o, &b) == 0);
  CHECK_EQ_STR(b.data, "permessage-deflate; client_max_window_bits; server_no_context_takeover; "
                       "client_no_context_takeover; server_max_window_bits=10");
  fl__buf_reset(&b);
  CHECK(fl__ws_protocols_offer(&o, &b) == 0);
  CHECK_EQ_STR(b.data, "chat, superchat");
  fl__buf_dispose(&b);
}

static int ext(const char *v, const fl__ws_offer *o, fl__ws_pmd *pmd) {
  char msg[200] = "";
  int r = fl__ws_extensions_parse(v, o, pmd, msg, sizeof msg);
  if (r) CHECK(msg[0]); /* a failure says why */
  return r;
}

static void test_extensions(void) {
  fl__ws_offer o = {.pmd = 1};
  fl__ws_pmd p;
  CHECK(ext(NULL, &o, &p) == 0 && !p.on);
  CHECK(ext("", &o, &p) == 0 && !p.on);
  CHECK(ext("permessage-deflate", &o, &p) == 0 && p.on && !p.server_no_context_takeover);
  CHECK(ext("permessage-deflate; server_no_context_takeover; client_no_context_takeover", &o, &p) ==
        0);
  CHECK(p.server_no_context_takeover && p.client_no_context_takeover);
  CHECK(ext("permessage-deflate;server_max_window_bits=10;client_max_window_bits=\"9\"", &o, &p) ==
        0);
  CHECK_EQ_INT(p.server_max_window_bits, 10);
  CHECK_EQ_INT(p.client_max_window_bits, 9);
  CHECK(ext("PerMessage-Deflate ; client_max_window_bits=15", &o, &p) == 0 && p.on);
  /* RFC 7692's rules */
  CHECK(ext("permessage-deflate; foo", &o, &p) < 0); /* unknown */
  CHECK(ext("permessage-deflate; server_no_context_takeover; server_no_context_takeover", &o, &p) <
        0);                                                                /* repeated */
  CHECK(ext("permessage-deflate; server_max_window_bits=7", &o, &p) < 0);  /* below 8 */
  CHECK(ext("permessage-deflate; server_max_window_bits=16", &o, &p) < 0); /* above 15 */
  CHECK(ext("permessage-deflate; client_max_window_bits=08", &o, &p) < 0); /* not plain */
  CHECK(ext("permessage-deflate; client_max_window_bits", &o, &p) < 0);    /* value needed */
  CHECK(ext("permessage-deflate; server_max_window_bits", &o, &p) < 0);
  CHECK(ext("permessage-deflate; server_no_context_takeover=1", &o, &p) < 0); /* no value */
  CHECK(ext("permessage-deflate, permessage-deflate", &o, &p) < 0);           /* listed twice */
  CHECK(ext("x-webkit-deflate-frame", &o, &p) < 0);                           /* not offered */
  CHECK(ext("permessage-deflate; client_max_window_bits=\"10", &o, &p) < 0);  /* broken quote */
  CHECK(ext("permessage-deflate garbage", &o, &p) < 0);
  fl__ws_offer none = {0};
  CHECK(ext("permessage-deflate", &none, &p) < 0); /* compression was not offered */
  /* what we asked of the server must be in its answer */
  fl__ws_offer ask = {.pmd = 1, .server_no_context_takeover = 1};
  CHECK(ext("permessage-deflate", &ask, &p) < 0);
  CHECK(ext("permessage-deflate; server_no_context_takeover", &ask, &p) == 0);
  fl__ws_offer bits = {.pmd = 1, .server_max_window_bits = 10};
  CHECK(ext("permessage-deflate", &bits, &p) < 0);
  CHECK(ext("permessage-deflate; server_max_window_bits=11", &bits, &p) < 0);
  CHECK(ext("permessage-deflate; server_max_window_bits=9", &bits, &p) == 0);
  fl__ws_offer cnct = {.pmd = 1, .client_no_context_takeover = 1};
  CHECK(ext("permessage-deflate", &cnct, &p) == 0 && p.client_no_context_takeover);
}

static fl__headers hs;
static void hadd(const char *n, const char *v) { fl__headers_add(&hs, n, strlen(n), v, strlen(v)); }

static int check101(const fl__ws_offer *o, int *proto, fl__ws_pmd *pmd) {
  char msg[200] = "";
  int r = fl__ws_check_101(&hs, o, pmd, proto, msg, sizeof msg);
  if (r) CHECK(msg[0]);
  return r;
}

static void good_head(const fl__ws_offer *o) {
  char acc[32];
  fl__ws_accept_for(o->key, acc);
  fl__headers_reset(&hs);
  hadd("Upgrade", "WebSocket");
  hadd("Connection", "keep-alive, Upgrade");
  hadd("Sec-WebSocket-Accept", acc);
}

static void test_101(void) {
  fl__headers_init(&hs);
  const char *const protos[] = {"chat", "v2.json", NULL};
  fl__ws_offer o = {.pmd = 1, .subprotocols = protos};
  CHECK(fl__ws_key_new(&o) == 0);
  int proto;
  fl__ws_pmd pmd;
  good_head(&o);
  CHECK(check101(&o, &proto, &pmd) == 0 && proto == -1 && !pmd.on);
  good_head(&o);
  hadd("Sec-WebSocket-Protocol", "v2.json");
  hadd("Sec-WebSocket-Extensions", "permessage-deflate");
  hadd("sec-websocket-extensions", "");
  CHECK(check101(&o, &proto, &pmd) == 0 && proto == 1 && pmd.on);
  /* extension lines are one list: two lines naming it is "listed twice" */
  good_head(&o);
  hadd("Sec-WebSocket-Extensions", "permessage-deflate");
  hadd("Sec-WebSocket-Extensions", "permessage-deflate");
  CHECK(check101(&o, &proto, &pmd) < 0);
  /* subprotocols */
  good_head(&o);
  hadd("Sec-WebSocket-Protocol", "other");
  CHECK(check101(&o, &proto, &pmd) < 0);
  good_head(&o);
  hadd("Sec-WebSocket-Protocol", "CHAT"); /* case matters */
  CHECK(check101(&o, &proto, &pmd) < 0);
  good_head(&o);
  hadd("Sec-WebSocket-Protocol", "chat, v2.json");
  CHECK(check101(&o, &proto, &pmd) < 0);
  fl__ws_offer noproto = o;
  noproto.subprotocols = NULL;
  good_head(&noproto);
  hadd("Sec-WebSocket-Protocol", "chat");
  CHECK(check101(&noproto, &proto, &pmd) < 0);
  /* Upgrade, Connection, accept */
  char acc[32];
  fl__ws_accept_for(o.key, acc);
  fl__headers_reset(&hs);
  hadd("Connection", "Upgrade");
  hadd("Sec-WebSocket-Accept", acc);
  CHECK(check101(&o, &proto, &pmd) < 0);
  fl__headers_reset(&hs);
  hadd("Upgrade", "h2c");
  hadd("Connection", "Upgrade");
  hadd("Sec-WebSocket-Accept", acc);
  CHECK(check101(&o, &proto, &pmd) < 0);
  fl__headers_reset(&hs);
  hadd("Upgrade", "websocket");
  hadd("Sec-WebSocket-Accept", acc);
  CHECK(check101(&o, &proto, &pmd) < 0);
  fl__headers_reset(&hs);
  hadd("Upgrade", "websocket");
  hadd("Connection", "Upgrade");
  CHECK(check101(&o, &proto, &pmd) < 0);
  fl__headers_reset(&hs);
  hadd("Upgrade", "websocket");
  hadd("Connection", "Upgrade");
  hadd("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  CHECK(check101(&o, &proto, &pmd) < 0);
  fl__headers_dispose(&hs);
}

int main(void) {
  test_key_and_accept();
  test_offers();
  test_extensions();
  test_101();
  printf("ok\n");
  return 0;
}
