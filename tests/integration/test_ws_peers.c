/* The WebSocket codec and connection (client/ws.c) against two real
 * implementations, python3-websockets and node-ws (tests/support/
 * ws_server.py), over plain TCP with the opening handshake done here by
 * hand (src/http/ws_handshake.c): text and binary echo, 1 MiB messages
 * both ways, compressed (with the window bits each server answers: 12 from
 * websockets, 15 from node-ws) and not, with and without context takeover,
 * fragmented replies, subprotocols, a close with a code, and a heartbeat
 * that a server never answers. The request path (DNS, TLS, proxies) is
 * covered by integ.ws. */
/* LABELS: valgrind tsan */
/* TIMEOUT: 60 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/headers.h"
#include "client/ws.h"
#include "flurry.h"
#include "http/ws_handshake.h"
#include "loop/loop.h"
#include "net/tcp.h"
#include "test.h"

static fl_loop *loop;

typedef struct got {
  fl__buf msgs; /* "T:len:data|" per message, data only if short */
  int n, closes, err, code, types[64];
  size_t lens[64];
  char reason[64];
  uint64_t sum[64]; /* byte sum of each message */
} got;

static void on_message(fl_ws *ws, int type, const char *p, size_t n, int flags, void *data) {
  (void)ws;
  got *g = data;
  CHECK(flags == (FL_WS_FIRST | FL_WS_LAST));
  if (g->n < 64) {
    g->types[g->n] = type;
    g->lens[g->n] = n;
    for (size_t i = 0; i < n; i++) g->sum[g->n] += (unsigned char)p[i];
  }
  g->n++;
  char h[32];
  snprintf(h, sizeof h, "%c:", type == FL_WS_TEXT ? 'T' : 'B');
  fl__buf_puts(&g->msgs, h);
  if (n <= 200) fl__buf_append(&g->msgs, p, n);
  fl__buf_puts(&g->msgs, "|");
}

static void on_close(fl_ws *ws, int err, int code, const char *reason, void *data) {
  (void)ws;
  got *g = data;
  g->closes++;
  g->err = err;
  g->code = code;
  snprintf(g->reason, sizeof g->reason, "%s", reason);
}

#define RUN_UNTIL(cond)                                                                            \
  do {                                                                                             \
    for (int i_ = 0; i_ < 2000 && !(cond); i_++) fl_loop_run(loop, FL_RUN_ONCE);                   \
    CHECK(cond);                                                                                   \
  } while (0)

/* Blocking connect + handshake by hand; then the fl_ws takes the socket. */
static fl_ws *connect_ws(int port, const char *path, const fl_ws_options *o, got *g) {
  memset(g, 0, sizeof *g);
  fl__buf_init(&g->msgs);
  fl__buf_puts(&g->msgs, "");
  fl_ws *ws = fl_ws_new(o);
  CHECK(ws);
  fl_ws_on_message(ws, on_message, g);
  fl_ws_on_close(ws, on_close, g);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK_EQ_INT(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  fl__ws_offer *off = &ws->offer;
  off->subprotocols = o ? o->subprotocols : NULL;
  off->pmd = o ? o->compress : 1;
  off->server_no_context_takeover = off->client_no_context_takeover =
      o ? o->compress_no_context_takeover : 0;
  CHECK_EQ_INT(fl__ws_key_new(off), 0);
  fl__buf req, ext, pr;
  fl__buf_init(&req);
  fl__buf_init(&ext);
  fl__buf_init(&pr);
  fl__ws_extensions_offer(off, &ext);
  fl__ws_protocols_offer(off, &pr);
  char line[512];
  snprintf(line, sizeof line,
           "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n",
           path, port, off->key);
  fl__buf_puts(&req, line);
  if (ext.len)
    fl__buf_puts(&req, "Sec-WebSocket-Extensions: "), fl__buf_puts(&req, ext.data),
        fl__buf_puts(&req, "\r\n");
  if (pr.len)
    fl__buf_puts(&req, "Sec-WebSocket-Protocol: "), fl__buf_puts(&req, pr.data),
        fl__buf_puts(&req, "\r\n");
  fl__buf_puts(&req, "\r\n");
  CHECK(write(fd, req.data, req.len) == (ssize_t)req.len);
  char buf[8192];
  size_t n = 0;
  char *end = NULL;
  while (!end) {
    ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
    CHECK(r > 0);
    n += (size_t)r;
    buf[n] = '\0';
    end = strstr(buf, "\r\n\r\n");
  }
  CHECK(strncmp(buf, "HTTP/1.1 101", 12) == 0);
  fl__headers h;
  fl__headers_init(&h);
  for (char *l = strstr(buf, "\r\n") + 2; l < end;) {
    char *e = strstr(l, "\r\n");
    char *colon = memchr(l, ':', (size_t)(e - l));
    CHECK(colon);
    char *v = colon + 1;
    while (*v == ' ') v++;
    fl__headers_add(&h, l, (size_t)(colon - l), v, (size_t)(e - v));
    l = e + 2;
  }
  fl__ws_pmd pmd;
  int proto;
  char why[200];
  if (fl__ws_check_101(&h, off, &pmd, &proto, why, sizeof why)) {
    fprintf(stderr, "handshake: %s\n", why);
    exit(1);
  }
  if (proto >= 0) ws->protocol = strdup(ws->protos[proto]);
  fl__transport tp;
  fl__transport_init(&tp);
  tp.fd = fd;
  tp.ops = &fl__tcp_transport_ops;
  CHECK_EQ_INT(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
  char *rest = end + 4;
  CHECK_EQ_INT(fl__ws_adopt(ws, loop, &tp, rest, n - (size_t)(rest - buf), &pmd), 0);
  fl__ws_start(ws);
  fl__headers_dispose(&h);
  fl__buf_dispose(&req);
  fl__buf_dispose(&ext);
  fl__buf_dispose(&pr);
  return ws;
}

static void finish(fl_ws *ws, got *g) {
  if (g->closes == 0) {
    CHECK_EQ_INT(fl_ws_close(ws, 1000, "bye"), 0);
    RUN_UNTIL(g->closes == 1);
    CHECK_EQ_INT(g->err, 0);
    CHECK_EQ_INT(g->code, 1000);
  }
  fl_ws_free(ws);
  fl__buf_dispose(&g->msgs);
  fl_loop_run(loop, FL_RUN_NOWAIT);
}

static void run_peer(const char *name, int port, int node) {
  got g;
  char *big = malloc(1 << 20);
  for (int compress = 0; compress <= 1; compress++) {
    for (int nct = 0; nct <= compress; nct++) {
      fl_ws_options o;
      fl_ws_options_init(&o);
      o.compress = compress;
      o.compress_no_context_takeover = nct;
      fl_ws *ws = connect_ws(port, "/ext", &o, &g);
      RUN_UNTIL(g.n == 1);
      const char *agreed = fl_ws_extensions(ws);
      fprintf(stderr, "%s compress=%d nct=%d: server says [%.*s], we use [%s]\n", name, compress,
              nct, (int)g.lens[0], g.msgs.data + 2, agreed);
      CHECK_EQ_INT(strstr(agreed, "permessage-deflate") != NULL, compress);
      if (nct) CHECK(strstr(agreed, "server_no_context_takeover"));
      /* text, binary, empty, UTF-8, 1 MiB both ways (random-ish bytes compress
       * little; repeated ones a lot) */
      CHECK_EQ_INT(fl_ws_send(ws, FL_WS_TEXT, "h\xC3\xA9llo", 6), 0);
      CHECK_EQ_INT(fl_ws_send(ws, FL_WS_BINARY, "\0\1\2", 3), 0);
      CHECK_EQ_INT(fl_ws_send(ws, FL_WS_TEXT, "", 0), 0);
      uint64_t seed = 42, want = 0;
      for (int i = 0; i < 1 << 20; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        big[i] = (char)(i < (1 << 19) ? (seed >> 56) : 'r');
        want += (unsigned char)big[i];
      }
      CHECK(fl_ws_send(ws, FL_WS_BINARY, big, 1 << 20) >= 0);
      for (int k = 0; k < 3; k++) CHECK(fl_ws_send(ws, FL_WS_TEXT, "again and again", 15) >= 0);
      RUN_UNTIL(g.n == 8);
      CHECK(strncmp(strchr(g.msgs.data, '|') + 1, "T:h\xC3\xA9llo|B:\0\1\2|T:|", 20) == 0);
      CHECK_EQ_INT(g.lens[4], 1 << 20);
      CHECK_EQ_INT(g.types[4], FL_WS_BINARY);
      CHECK(g.sum[4] == want);
      finish(ws, &g);
    }
  }
  /* fragmented (and compressed) replies come whole */
  fl_ws *ws = connect_ws(port, "/frag", NULL, &g);
  CHECK_EQ_INT(fl_ws_send(ws, FL_WS_TEXT, "fragments of a text message \xE2\x82\xAC!", 32), 0);
  RUN_UNTIL(g.n == 1);
  CHECK_EQ_STR(g.msgs.data, "T:fragments of a text message \xE2\x82\xAC!|");
  finish(ws, &g);
  /* a big message from the server, above our cap: 1009 */
  fl_ws_options o;
  fl_ws_options_init(&o);
  o.max_message = 1000;
  ws = connect_ws(port, "/big?n=5000", &o, &g);
  RUN_UNTIL(g.closes == 1);
  CHECK_EQ_INT(g.err, FL_EWS_TOO_BIG);
  CHECK_EQ_INT(g.code, 1009);
  finish(ws, &g);
  /* subprotocols */
  const char *const protos[] = {"other", "chat", NULL};
  fl_ws_options_init(&o);
  o.subprotocols = protos;
  ws = connect_ws(port, "/echo", &o, &g);
  CHECK_EQ_STR(fl_ws_protocol(ws), "chat");
  finish(ws, &g);
  /* the server closes with a code */
  ws = connect_ws(port, "/close?code=4001&reason=see%20you", NULL, &g);
  RUN_UNTIL(g.closes == 1);
  CHECK_EQ_INT(g.err, 0);
  CHECK_EQ_INT(g.code, 4001);
  CHECK_EQ_STR(g.reason, "see you");
  finish(ws, &g);
  /* heartbeat: answered by both; websockets' /noping never answers */
  fl_ws_options_init(&o);
  o.heartbeat_ms = 100;
  o.pong_timeout_ms = 2000; /* a loaded machine answers late, not never */
  ws = connect_ws(port, "/echo", &o, &g);
  uint64_t t0 = fl_loop_now(loop);
  while (fl_loop_now(loop) - t0 < 500) fl_loop_run(loop, FL_RUN_ONCE); /* ~5 pings, answered */
  CHECK_EQ_INT(g.closes, 0);
  finish(ws, &g);
  if (!node) {
    ws = connect_ws(port, "/noping", &o, &g);
    RUN_UNTIL(g.closes == 1);
    CHECK_EQ_INT(g.err, FL_ETIMEOUT);
    CHECK_EQ_INT(g.code, 1006);
    finish(ws, &g);
  }
  free(big);
}

int main(void) {
  int fds = fl_test_count_fds();
  loop = fl_loop_new();
  int py = fl_test_script_start("ws_server.py", NULL);
  int node = fl_test_script_start("ws_server.py", "--node");
  run_peer("python3-websockets", py, 0);
  run_peer("node-ws", node, 1);
  fl_test_fault_stop();
  CHECK_EQ_INT(fl_loop_free(loop), 0);
  CHECK_EQ_INT(fl_test_count_fds(), fds);
  printf("ok\n");
  return 0;
}
