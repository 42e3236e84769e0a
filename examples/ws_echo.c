/* ws_echo: a WebSocket client on flurry's public API.
 *
 *   ws_echo [OPTIONS] URL MSG...      send each MSG as a text message, print
 *                                     each reply on its own line, close 1000
 *   ws_echo [OPTIONS] --echo-all URL  echo every message back (same type,
 *                                     same payload) until the server closes
 *
 * OPTIONS: --cacert FILE, --max-message BYTES (default 4 MiB), --no-compress,
 * -H 'Name: value' (repeatable), --subprotocol NAME (repeatable).
 *
 * Exit status: 0 when the closing handshake completed (whatever the code,
 * also a close we started because the server broke the protocol); 1 on a
 * failed connect or an abnormal close (the error goes to stderr); 2 on bad
 * usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flurry.h"

typedef struct app {
  fl_ws *ws;
  int echo_all;
  char **msgs;
  int nmsgs, replies;
  int done, status;
} app;

static void usage(void) {
  fprintf(stderr, "usage: ws_echo [--cacert FILE] [--max-message BYTES] [--no-compress]\n"
                  "               [-H 'Name: value'] [--subprotocol NAME] URL MSG...\n"
                  "       ws_echo [options] --echo-all URL\n");
  exit(2);
}

static void on_message(fl_ws *ws, int type, const char *msg, size_t len, int flags, void *data) {
  app *a = data;
  (void)flags;
  if (a->echo_all) {
    if (fl_ws_send(ws, type, msg, len) < 0) fprintf(stderr, "ws_echo: send failed\n");
    return;
  }
  fwrite(msg, 1, len, stdout);
  fputc('\n', stdout);
  fflush(stdout);
  if (++a->replies == a->nmsgs) fl_ws_close(ws, 1000, NULL);
}

static void on_close(fl_ws *ws, int err, int code, const char *reason, void *data) {
  app *a = data;
  a->done = 1;
  /* We failed the connection for the server's protocol error: our close
   * frame went out, which ends the handshake from our side. */
  if (err == 0 || err == FL_EWS_PROTOCOL || err == FL_EWS_TOO_BIG) {
    if (err) fprintf(stderr, "ws_echo: closed with %d: %s\n", code, fl_ws_errmsg(ws));
    a->status = 0;
    return;
  }
  fprintf(stderr, "ws_echo: %s (close code %d%s%s): %s\n", fl_strerror(err), code,
          *reason ? ", " : "", reason, fl_ws_errmsg(ws));
  a->status = 1;
}

static void on_open(fl_ws *ws, int err, void *data) {
  app *a = data;
  if (err) {
    fprintf(stderr, "ws_echo: connect failed: %s: %s\n", fl_strerror(err), fl_ws_errmsg(ws));
    a->done = 1;
    a->status = 1;
    return;
  }
  for (int i = 0; i < a->nmsgs; i++) fl_ws_send(ws, FL_WS_TEXT, a->msgs[i], strlen(a->msgs[i]));
  if (!a->echo_all && a->nmsgs == 0) fl_ws_close(ws, 1000, NULL);
}

int main(int argc, char **argv) {
  app a = {0};
  fl_ws_options wo;
  fl_ws_options_init(&wo);
  fl_client_options co;
  fl_client_options_init(&co);
  const char *url = NULL, *protos[16] = {0};
  const char *hdrs[64];
  int nprotos = 0, nhdrs = 0;
  a.msgs = calloc((size_t)argc, sizeof *a.msgs);
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i];
    if (!strcmp(s, "--echo-all")) {
      a.echo_all = 1;
    } else if (!strcmp(s, "--no-compress")) {
      wo.compress = 0;
    } else if (!strcmp(s, "--cacert") && i + 1 < argc) {
      co.ca_file = argv[++i];
    } else if (!strcmp(s, "--max-message") && i + 1 < argc) {
      char *end;
      wo.max_message = strtoull(argv[++i], &end, 10);
      if (*end) usage();
    } else if (!strcmp(s, "-H") && i + 1 < argc && nhdrs < 64) {
      hdrs[nhdrs++] = argv[++i];
    } else if (!strcmp(s, "--subprotocol") && i + 1 < argc && nprotos < 15) {
      protos[nprotos++] = argv[++i];
    } else if (s[0] == '-' && s[1]) {
      usage();
    } else if (!url) {
      url = s;
    } else {
      a.msgs[a.nmsgs++] = argv[i];
    }
  }
  if (!url || (a.echo_all && a.nmsgs)) usage();
  if (nprotos) wo.subprotocols = protos;

  fl_loop *loop = fl_loop_new();
  fl_client *client = fl_client_new(loop, &co);
  if (!client) {
    fprintf(stderr, "ws_echo: could not set up the client (CA file?)\n");
    return 1;
  }
  fl_request *req = fl_request_new("GET", url);
  for (int i = 0; i < nhdrs; i++) {
    const char *colon = strchr(hdrs[i], ':');
    if (!colon) usage();
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)(colon - hdrs[i]), hdrs[i]);
    const char *v = colon + 1;
    while (*v == ' ') v++;
    fl_request_add_header(req, name, v);
  }
  a.ws = fl_ws_new(&wo);
  fl_ws_on_message(a.ws, on_message, &a);
  fl_ws_on_close(a.ws, on_close, &a);
  int err = fl_ws_connect(a.ws, client, req, on_open, &a);
  if (err) {
    fprintf(stderr, "ws_echo: %s: %s\n", fl_strerror(err), fl_ws_errmsg(a.ws));
    a.status = 1;
  } else {
    while (!a.done) fl_loop_run(loop, FL_RUN_ONCE);
  }
  fl_ws_free(a.ws);
  fl_request_free(req);
  fl_client_free(client);
  fl_loop_run(loop, FL_RUN_NOWAIT);
  fl_loop_free(loop);
  free(a.msgs);
  return a.status;
}
