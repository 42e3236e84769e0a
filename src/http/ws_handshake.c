/* The WebSocket opening handshake (see ws_handshake.h). */
#include "http/ws_handshake.h"

#include <openssl/rand.h>
#include <openssl/evp.h>
#include <stdio.h>

#include "base/base64.h"
#include "base/common.h"

static const char GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

int fl__ws_key_new(fl__ws_offer *o) {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) return FL_ENOMEM;
  fl__buf b;
  fl__buf_init(&b);
  if (fl__base64_encode((const char *)raw, sizeof raw, &b)) return FL_ENOMEM;
  snprintf(o->key, sizeof o->key, "%s", b.data);
  fl__buf_dispose(&b);
  return 0;
}

/* No allocation of ours (base64 into out): a failure here is no "wrong
 * accept key" found when memory is short. */
void fl__ws_accept_for(const char *key, char out[32]) {
  char in[128];
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned mdlen = 0;
  int n = snprintf(in, sizeof in, "%s%s", key, GUID);
  out[0] = '\0';
  if (n > 0 && (size_t)n < sizeof in && EVP_Digest(in, (size_t)n, md, &mdlen, EVP_sha1(), NULL) &&
      mdlen == 20)
    EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen); /* 28 characters and a NUL */
}

int fl__ws_extensions_offer(const fl__ws_offer *o, fl__buf *out) {
  if (!o->pmd) return 0;
  /* client_max_window_bits without a value: the server may bound our window. */
  int e = fl__buf_puts(out, "permessage-deflate; client_max_window_bits");
  if (!e && o->server_no_context_takeover) e = fl__buf_puts(out, "; server_no_context_takeover");
  if (!e && o->client_no_context_takeover) e = fl__buf_puts(out, "; client_no_context_takeover");
  if (!e && o->server_max_window_bits) {
    char t[40];
    snprintf(t, sizeof t, "; server_max_window_bits=%d", o->server_max_window_bits);
    e = fl__buf_puts(out, t);
  }
  return e;
}

int fl__ws_protocols_offer(const fl__ws_offer *o, fl__buf *out) {
  for (size_t i = 0; o->subprotocols && o->subprotocols[i]; i++)
    if ((i && fl__buf_puts(out, ", ")) || fl__buf_puts(out, o->subprotocols[i])) return FL_ENOMEM;
  return 0;
}

/* ---------------------------------------------------- extension parsing */

static int is_tchar(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *skip_ws(const char *s) {
  while (*s == ' ' || *s == '\t') s++;
  return s;
}

/* A token at s into out (at most cap-1 bytes kept); returns the end. */
static const char *token(const char *s, char *out, size_t cap) {
  size_t n = 0;
  for (; is_tchar((unsigned char)*s); s++)
    if (n + 1 < cap) out[n++] = *s;
  out[n] = '\0';
  return s;
}

/* A parameter value: a token or a quoted string (RFC 7692 7.1: either, with
 * the same meaning). NULL on a broken quote. */
static const char *param_value(const char *s, char *out, size_t cap) {
  if (*s != '"') return token(s, out, cap);
  size_t n = 0;
  for (s++; *s && *s != '"'; s++) {
    if (*s == '\\' && s[1]) s++;
    if (n + 1 < cap) out[n++] = *s;
  }
  out[n] = '\0';
  return *s == '"' ? s + 1 : NULL;
}

/* Window bits: exactly 8-15 in decimal, no sign, no leading zero. */
static int window_bits(const char *v) {
  if (strlen(v) == 1 && v[0] == '8') return 8;
  if (strlen(v) == 1 && v[0] == '9') return 9;
  if (strlen(v) == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5') return 10 + (v[1] - '0');
  return -1;
}

#define BAD(...) return (fl__msg(msg, cap, __VA_ARGS__), -1)

int fl__ws_extensions_parse(const char *value, const fl__ws_offer *o, fl__ws_pmd *pmd, char *msg,
                            size_t cap) {
  memset(pmd, 0, sizeof *pmd);
  const char *s = value ? value : "";
  for (;;) {
    s = skip_ws(s);
    while (*s == ',') s = skip_ws(s + 1);
    if (!*s) break;
    char name[64];
    const char *e = token(s, name, sizeof name);
    if (e == s) BAD("bad Sec-WebSocket-Extensions in the 101: \"%s\"", value);
    s = e;
    if (!fl__strcaseeq(name, "permessage-deflate"))
      BAD("the server answered with extension \"%s\", which was not offered", name);
    if (!o->pmd) BAD("the server answered with permessage-deflate, which was not offered");
    if (pmd->on) BAD("the server listed permessage-deflate twice");
    pmd->on = 1;
    unsigned seen = 0;
    for (;;) {
      s = skip_ws(s);
      if (*s == ',' || !*s) break;
      if (*s != ';') BAD("bad Sec-WebSocket-Extensions in the 101: \"%s\"", value);
      s = skip_ws(s + 1);
      char p[64], v[64];
      e = token(s, p, sizeof p);
      if (e == s) BAD("bad permessage-deflate parameter in \"%s\"", value);
      s = skip_ws(e);
      int has_value = 0;
      v[0] = '\0';
      if (*s == '=') {
        s = param_value(skip_ws(s + 1), v, sizeof v);
        if (!s) BAD("bad quoted value in \"%s\"", value);
        has_value = 1;
      }
      static const char *const known[] = {"server_no_context_takeover",
                                          "client_no_context_takeover", "server_max_window_bits",
                                          "client_max_window_bits"};
      int k = -1;
      for (int i = 0; i < 4; i++)
        if (fl__strcaseeq(p, known[i])) k = i;
      if (k < 0) BAD("unknown permessage-deflate parameter \"%s\"", p);
      if (seen & (1u << k)) BAD("permessage-deflate parameter \"%s\" repeated", p);
      seen |= 1u << k;
      if (k < 2 && has_value) BAD("permessage-deflate parameter \"%s\" takes no value", p);
      if (k == 0) pmd->server_no_context_takeover = 1;
      if (k == 1) pmd->client_no_context_takeover = 1;
      if (k >= 2) {
        int bits = has_value ? window_bits(v) : -1;
        if (bits < 0) BAD("permessage-deflate %s=\"%s\" is not 8-15", p, v);
        if (k == 2) {
          if (o->server_max_window_bits && bits > o->server_max_window_bits)
            BAD("server_max_window_bits=%d is above the %d offered", bits,
                o->server_max_window_bits);
          pmd->server_max_window_bits = bits;
        } else {
          pmd->client_max_window_bits = bits;
        }
      }
    }
    if (o->server_no_context_takeover && !pmd->server_no_context_takeover)
      BAD("the server did not accept server_no_context_takeover");
    if (o->server_max_window_bits && !pmd->server_max_window_bits)
      BAD("the server did not accept server_max_window_bits");
    if (o->client_no_context_takeover) pmd->client_no_context_takeover = 1; /* ours to keep */
  }
  return 0;
}

/* 1 if the comma-separated list v holds token t (case-insensitive). */
static int list_has(const char *v, const char *t) {
  size_t tl = strlen(t);
  for (const char *s = v; s && *s;) {
    s = skip_ws(s);
    const char *e = s;
    while (*e && *e != ',') e++;
    const char *end = e;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t')) end--;
    if ((size_t)(end - s) == tl && fl__strncaseeq(s, t, tl)) return 1;
    s = *e ? e + 1 : e;
  }
  return 0;
}

int fl__ws_check_101(const fl__headers *h, const fl__ws_offer *o, fl__ws_pmd *pmd, int *protocol,
                     char *msg, size_t cap) {
  *protocol = -1;
  memset(pmd, 0, sizeof *pmd);
  const char *up = fl__headers_get(h, "Upgrade");
  if (!up || !list_has(up, "websocket")) BAD("101 without \"Upgrade: websocket\"");
  const char *conn = fl__headers_get(h, "Connection");
  if (!conn || !list_has(conn, "upgrade")) BAD("101 without \"Connection: Upgrade\"");
  char want[32];
  fl__ws_accept_for(o->key, want);
  const char *acc = fl__headers_get(h, "Sec-WebSocket-Accept");
  if (!acc) BAD("101 without Sec-WebSocket-Accept");
  if (strcmp(acc, want) != 0)
    BAD("wrong Sec-WebSocket-Accept \"%.40s\" (expected \"%s\")", acc, want);
  /* Repeated header lines are one list (RFC 9110 5.3). */
  fl__buf ext;
  fl__buf_init(&ext);
  const char *proto = NULL;
  int nproto = 0;
  for (size_t i = 0; i < h->n; i++) {
    const char *name = fl__headers_name(h, i);
    if (fl__strcaseeq(name, "Sec-WebSocket-Protocol")) {
      proto = fl__headers_value(h, i);
      nproto++;
    } else if (fl__strcaseeq(name, "Sec-WebSocket-Extensions")) {
      if ((ext.len && fl__buf_puts(&ext, ", ")) || fl__buf_puts(&ext, fl__headers_value(h, i))) {
        fl__buf_dispose(&ext);
        snprintf(msg, cap, "out of memory");
        return FL_ENOMEM;
      }
    }
  }
  int r = fl__ws_extensions_parse(ext.data, o, pmd, msg, cap);
  fl__buf_dispose(&ext);
  if (r) return r;
  if (nproto > 1 || (proto && strchr(proto, ',')))
    BAD("the server chose more than one subprotocol");
  if (proto) {
    for (int i = 0; o->subprotocols && o->subprotocols[i]; i++)
      if (strcmp(o->subprotocols[i], proto) == 0) *protocol = i;
    if (*protocol < 0) BAD("the server chose subprotocol \"%.60s\", which was not offered", proto);
  }
  return 0;
}
