/* Opening a WebSocket: the upgrade is an ordinary request on the client
 * (route, pool, DNS, TLS, proxy, cookies, auth, redirects, timeouts), marked
 * so that the engine hands its connection over at the 101 (never pipelined,
 * always HTTP/1.1). Its done callback checks the 101 (RFC 6455 4.2.2, RFC
 * 7692) and gives the transport to the fl_ws. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/request.h"
#include "client/ws.h"
#include "net/tls.h"

/* ws:// -> http://, wss:// -> https:// (the request path fetches those);
 * http(s):// as given. NULL for any other scheme; *err says which. */
static char *http_url(const char *url, int *err) {
  static const struct {
    const char *from, *to;
  } map[] = {{"ws://", "http://"},
             {"wss://", "https://"},
             {"http://", "http://"},
             {"https://", "https://"}};
  for (size_t i = 0; i < sizeof map / sizeof *map; i++) {
    size_t fl = strlen(map[i].from);
    if (fl__strncaseeq(url, map[i].from, fl)) {
      size_t n = strlen(map[i].to) + strlen(url + fl) + 1;
      char *out = malloc(n);
      if (!out) {
        *err = FL_ENOMEM;
        return NULL;
      }
      snprintf(out, n, "%s%s", map[i].to, url + fl);
      return out;
    }
  }
  *err = strstr(url, "://") ? FL_EUNSUPPORTED_PROTOCOL : FL_EURL_MALFORMAT;
  return NULL;
}

static int set_headers(fl_ws *ws, fl_request *req) {
  fl__buf ext, protos;
  fl__buf_init(&ext);
  fl__buf_init(&protos);
  int e = fl__ws_extensions_offer(&ws->offer, &ext) || fl__ws_protocols_offer(&ws->offer, &protos)
              ? FL_ENOMEM
              : 0;
  if (!e) e = fl_request_set_header(req, "Upgrade", "websocket");
  if (!e) e = fl_request_set_header(req, "Connection", "Upgrade");
  if (!e) e = fl_request_set_header(req, "Sec-WebSocket-Key", ws->offer.key);
  if (!e) e = fl_request_set_header(req, "Sec-WebSocket-Version", "13");
  if (!e) fl_request_remove_header(req, "Sec-WebSocket-Extensions");
  if (!e) fl_request_remove_header(req, "Sec-WebSocket-Protocol");
  if (!e && ext.len) e = fl_request_set_header(req, "Sec-WebSocket-Extensions", ext.data);
  if (!e && protos.len) e = fl_request_set_header(req, "Sec-WebSocket-Protocol", protos.data);
  fl__buf_dispose(&ext);
  fl__buf_dispose(&protos);
  return e;
}

/* The upgrade request completed: check its answer, take the connection. */
static int take_over(fl_ws *ws, fl_request *req, int err) {
  if (err) {
    fl__msg(ws->errmsg, sizeof ws->errmsg, "%s", fl_request_errmsg(req));
    if (!ws->errmsg[0]) fl__msg(ws->errmsg, sizeof ws->errmsg, "%s", fl_strerror(err));
    return err;
  }
  const fl_response *res = fl_request_response(req);
  int status = fl_response_status(res);
  if (status != 101) {
    fl__msg(ws->errmsg, sizeof ws->errmsg, "WebSocket upgrade refused: %d %s", status,
            fl_response_reason(res));
    return FL_EWS_REFUSED;
  }
  struct fl__req_upgrade *up = req->upgrade; /* fl_ws_connect made it */
  if (!up || up->tp.fd < 0) {
    fl__msg(ws->errmsg, sizeof ws->errmsg, "101 without a connection to take over");
    return FL_EWS_HANDSHAKE;
  }
  fl__ws_pmd pmd;
  int proto = -1;
  char why[200];
  int bad = fl__ws_check_101(&res->headers, &ws->offer, &pmd, &proto, why, sizeof why);
  if (bad) {
    fl__msg(ws->errmsg, sizeof ws->errmsg, "%s%s",
            bad == FL_ENOMEM ? "" : "bad WebSocket handshake: ", why);
    fl__transport_close(&up->tp);
    return bad == FL_ENOMEM ? FL_ENOMEM : FL_EWS_HANDSHAKE;
  }
  if (proto >= 0 && !(ws->protocol = strdup(ws->protos[proto]))) {
    fl__transport_close(&up->tp);
    return FL_ENOMEM;
  }
  fl__tls_detach(&up->tp); /* nothing borrowed from the pool or the client */
  if (fl__ws_adopt(ws, ws->loop, &up->tp, up->rest.data, up->rest.len, &pmd)) {
    fl__msg(ws->errmsg, sizeof ws->errmsg, "out of memory");
    return FL_ENOMEM;
  }
  fl__buf_reset(&up->rest);
  return 0;
}

static void connect_done(fl_request *req, int err, void *data) {
  fl_ws *ws = data;
  req->ws = NULL;
  req->ex.upgrade_tp = NULL;
  req->ex.upgrade_rest = NULL;
  ws->req = NULL;
  ws->client = NULL;
  fl__ws_enter(ws);
  if (ws->abort_pending && !err) { /* fl_ws_abort came after the request completed */
    err = FL_ECANCELED;
    fl__msg(ws->errmsg, sizeof ws->errmsg, "aborted");
    fl__request_upgrade_drop(req);
  }
  ws->abort_pending = 0;
  err = take_over(ws, req, err);
  if (req->upgrade) fl__buf_reset(&req->upgrade->rest);
  if (err) ws->state = FL__WS_NEW; /* may connect again */
  ws->open_cb(ws, err, ws->open_data);
  if (!err) fl__ws_start(ws);
  fl__ws_leave(ws);
}

int fl_ws_connect(fl_ws *ws, fl_client *client, fl_request *req, fl_ws_open_cb cb, void *data) {
  if (!ws || !client || !req || !cb || ws->freed || ws->state != FL__WS_NEW) return FL_EINVAL;
  int err = 0;
  char *url = http_url(fl_request_url(req), &err);
  if (!url) return err;
  err = fl_request_set_url(req, url);
  free(url);
  if (!err) err = fl_request_set_method(req, "GET");
  /* RFC 6455 upgrades an HTTP/1.1 connection; over HTTP/2 it would be RFC
   * 8441's extended CONNECT, a later addition behind the same API. */
  if (!err) err = fl_request_set_http_version(req, FL_HTTP_VERSION_1_1);
  ws->offer.subprotocols = ws->opts.subprotocols;
  ws->offer.pmd = ws->opts.compress != 0;
  ws->offer.server_no_context_takeover = ws->offer.client_no_context_takeover =
      ws->opts.compress_no_context_takeover != 0;
  ws->offer.server_max_window_bits = ws->opts.compress_window_bits;
  if (!err) err = fl__ws_key_new(&ws->offer);
  if (!err) err = set_headers(ws, req);
  struct fl__req_upgrade *up = err ? NULL : fl__request_upgrade(req);
  if (!err && !up) err = FL_ENOMEM;
  if (err) return err;
  ws->loop = fl_client_loop(client);
  ws->client = client;
  ws->req = req;
  ws->open_cb = cb;
  ws->open_data = data;
  ws->errmsg[0] = '\0';
  req->ws = ws;
  req->ex.upgrade_tp = &up->tp; /* a 101 hands the connection over */
  req->ex.upgrade_rest = &up->rest;
  ws->state = FL__WS_CONNECTING;
  err = fl_request_send(client, req, connect_done, ws);
  if (err) {
    req->ws = NULL;
    req->ex.upgrade_tp = NULL;
    req->ex.upgrade_rest = NULL;
    ws->req = NULL;
    ws->client = NULL;
    ws->state = FL__WS_NEW;
    fl__msg(ws->errmsg, sizeof ws->errmsg, "%s", fl_request_errmsg(req));
  }
  return err;
}

void fl__ws_connect_cancel(fl_ws *ws, int notify) {
  fl_request *req = ws->req;
  if (!req) return;
  if (notify) { /* its done callback reports FL_ECANCELED to open_cb */
    ws->abort_pending = 1;
    fl_request_cancel(req);
    return;
  }
  req->ws = NULL;
  req->ex.upgrade_tp = NULL;
  req->ex.upgrade_rest = NULL;
  ws->req = NULL;
  ws->client = NULL;
  fl__request_abandon(req); /* no callback: the WebSocket is being freed */
}
