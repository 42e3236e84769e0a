/* Request templates: building, parsing (llhttp, request mode) and putting
 * them on fl_requests. */
#include "tpl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "llhttp.h"

static char *dup_n(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (!p) return NULL;
  if (n) memcpy(p, s, n);
  p[n] = 0;
  return p;
}

static void msg_dispose(flb_msg *m) {
  free(m->method);
  free(m->url);
  for (size_t i = 0; i < m->nheaders; i++) {
    free(m->headers[i].name);
    free(m->headers[i].value);
  }
  free(m->headers);
  free(m->body);
  memset(m, 0, sizeof *m);
}

void flb_tpl_free(flb_tpl *t) {
  if (!t) return;
  for (size_t i = 0; i < t->n; i++) msg_dispose(&t->msgs[i]);
  free(t->msgs);
  free(t->src);
  free(t);
}

static int add_header(flb_msg *m, const char *name, size_t nlen, const char *value, size_t vlen) {
  flb_hdr *h = realloc(m->headers, (m->nheaders + 1) * sizeof *h);
  if (!h) return -1;
  m->headers = h;
  h[m->nheaders].name = dup_n(name, nlen);
  h[m->nheaders].value = dup_n(value, vlen);
  m->nheaders++;
  return h[m->nheaders - 1].name && h[m->nheaders - 1].value ? 0 : -1;
}

flb_tpl *flb_tpl_single(const char *method, const char *url, const flb_hdr *headers, size_t nheaders,
                        const char *body, size_t body_len, int has_body) {
  flb_tpl *t = calloc(1, sizeof *t);
  if (!t || !(t->msgs = calloc(1, sizeof *t->msgs))) {
    free(t);
    return NULL;
  }
  t->n = 1;
  flb_msg *m = t->msgs;
  int bad = !(m->method = dup_n(method, strlen(method))) || !(m->url = dup_n(url, strlen(url)));
  for (size_t i = 0; !bad && i < nheaders; i++)
    bad = add_header(m, headers[i].name, strlen(headers[i].name), headers[i].value, strlen(headers[i].value));
  if (!bad && has_body) {
    m->has_body = 1;
    m->body_len = body_len;
    bad = !(m->body = dup_n(body ? body : "", body_len));
  }
  if (bad) {
    flb_tpl_free(t);
    return NULL;
  }
  return t;
}

/* ------------------------------------------------------------ parsing */

typedef struct parse_state {
  flb_tpl *t;
  const char *origin;
  flb_msg cur;
  char *field, *value, *target; /* the spans under way (llhttp may split them) */
  size_t field_len, value_len, target_len;
  int oom;
} parse_state;

static int append(char **p, size_t *len, const char *at, size_t n) {
  char *q = realloc(*p, *len + n + 1);
  if (!q) return -1;
  memcpy(q + *len, at, n);
  *len += n;
  q[*len] = 0;
  *p = q;
  return 0;
}

static parse_state *state_of(llhttp_t *p) { return p->data; }

static int on_url(llhttp_t *p, const char *at, size_t n) {
  parse_state *st = state_of(p);
  return append(&st->target, &st->target_len, at, n) ? (st->oom = 1, -1) : 0;
}

static int on_field(llhttp_t *p, const char *at, size_t n) {
  parse_state *st = state_of(p);
  return append(&st->field, &st->field_len, at, n) ? (st->oom = 1, -1) : 0;
}

static int on_value(llhttp_t *p, const char *at, size_t n) {
  parse_state *st = state_of(p);
  return append(&st->value, &st->value_len, at, n) ? (st->oom = 1, -1) : 0;
}

static int on_value_complete(llhttp_t *p) {
  parse_state *st = state_of(p);
  int bad = add_header(&st->cur, st->field ? st->field : "", st->field_len, st->value ? st->value : "",
                       st->value_len);
  st->field_len = st->value_len = 0;
  if (st->field) st->field[0] = 0;
  if (st->value) st->value[0] = 0;
  return bad ? (st->oom = 1, -1) : 0;
}

static int on_headers_complete(llhttp_t *p) {
  parse_state *st = state_of(p);
  const char *method = llhttp_method_name((llhttp_method_t)p->method);
  st->cur.method = dup_n(method, strlen(method));
  const char *target = st->target ? st->target : "";
  int absolute = !strncasecmp(target, "http://", 7) || !strncasecmp(target, "https://", 8);
  size_t olen = absolute ? 0 : strlen(st->origin);
  st->cur.url = malloc(olen + st->target_len + 1);
  if (!st->cur.method || !st->cur.url) return st->oom = 1, -1;
  memcpy(st->cur.url, st->origin, olen);
  memcpy(st->cur.url + olen, target, st->target_len + 1);
  st->target_len = 0;
  /* A body is sent when the string framed one (Content-Length, even 0, or
   * chunked), as wrk sends the string as it is. */
  st->cur.has_body = p->content_length > 0 || (p->flags & (F_CONTENT_LENGTH | F_CHUNKED));
  return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n) {
  parse_state *st = state_of(p);
  return append(&st->cur.body, &st->cur.body_len, at, n) ? (st->oom = 1, -1) : 0;
}

static int on_message_complete(llhttp_t *p) {
  parse_state *st = state_of(p);
  flb_tpl *t = st->t;
  flb_msg *m = realloc(t->msgs, (t->n + 1) * sizeof *m);
  if (!m) return st->oom = 1, -1;
  t->msgs = m;
  if (st->cur.has_body && !st->cur.body) st->cur.body = dup_n("", 0);
  t->msgs[t->n++] = st->cur;
  memset(&st->cur, 0, sizeof st->cur);
  return 0;
}

/* "what at line:column" of position pos in s. */
static void where(char *err, size_t errlen, const char *what, const char *s, const char *pos) {
  int line = 1, col = 1;
  for (const char *c = s; c < pos; c++) {
    col++;
    if (*c == '\n') line++, col = 1;
  }
  snprintf(err, errlen, "%s at %d:%d", what, line, col);
}

flb_tpl *flb_tpl_parse(const char *s, size_t len, const char *origin, char *err, size_t errlen) {
  llhttp_settings_t settings; /* local: parsers of several threads at once */
  llhttp_settings_init(&settings);
  settings.on_url = on_url;
  settings.on_header_field = on_field;
  settings.on_header_value = on_value;
  settings.on_header_value_complete = on_value_complete;
  settings.on_headers_complete = on_headers_complete;
  settings.on_body = on_body;
  settings.on_message_complete = on_message_complete;
  parse_state st;
  memset(&st, 0, sizeof st);
  st.origin = origin;
  st.t = calloc(1, sizeof *st.t);
  if (!st.t) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  llhttp_t parser;
  llhttp_init(&parser, HTTP_REQUEST, &settings);
  parser.data = &st;
  llhttp_errno_t rc = llhttp_execute(&parser, s, len);
  int ok = rc == HPE_OK && !st.oom;
  if (!ok) {
    if (st.oom) snprintf(err, errlen, "out of memory");
    else where(err, errlen, llhttp_get_error_reason(&parser), s, llhttp_get_error_pos(&parser));
  } else if (llhttp_finish(&parser) != HPE_OK || st.t->n == 0) {
    /* Bytes of a request left over, or none at all. */
    where(err, errlen, "incomplete request", s, s + len);
    ok = 0;
  }
  msg_dispose(&st.cur);
  free(st.field);
  free(st.value);
  free(st.target);
  if (!ok) {
    flb_tpl_free(st.t);
    return NULL;
  }
  st.t->src = dup_n(s, len);
  if (!st.t->src) {
    flb_tpl_free(st.t);
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  st.t->src_len = len;
  return st.t;
}

/* ------------------------------------------------------ onto requests */

/* Headers of m: the first of each name replaces any the request has, the
 * following ones of that name are added. */
static int put_headers(fl_request *req, const flb_msg *m) {
  for (size_t i = 0; i < m->nheaders; i++) {
    int again = 0;
    for (size_t k = 0; k < i && !again; k++) again = !strcasecmp(m->headers[k].name, m->headers[i].name);
    int err = again ? fl_request_add_header(req, m->headers[i].name, m->headers[i].value)
                    : fl_request_set_header(req, m->headers[i].name, m->headers[i].value);
    if (err) return err;
  }
  return 0;
}

fl_request *flb_msg_request(const flb_msg *m, int *err) {
  fl_request *req = fl_request_new(m->method, m->url);
  if (!req) {
    *err = FL_ENOMEM;
    return NULL;
  }
  /* wrk sends the request line, Host, and the given headers only. */
  *err = fl_request_remove_header(req, "User-Agent");
  if (!*err) *err = fl_request_remove_header(req, "Accept");
  if (!*err) *err = put_headers(req, m);
  if (!*err && m->has_body) *err = fl_request_set_body(req, m->body, m->body_len);
  if (*err) {
    fl_request_free(req);
    return NULL;
  }
  return req;
}

static int same_headers(const flb_msg *a, const flb_msg *b) {
  if (a->nheaders != b->nheaders) return 0;
  for (size_t i = 0; i < a->nheaders; i++)
    if (strcmp(a->headers[i].name, b->headers[i].name) || strcmp(a->headers[i].value, b->headers[i].value))
      return 0;
  return 1;
}

int flb_msg_apply(fl_request *req, const flb_msg *prev, const flb_msg *m) {
  if (prev == m) return 0;
  if (prev->has_body && !m->has_body) return 1; /* no way to drop a body */
  int err = 0;
  if (strcmp(prev->method, m->method)) err = fl_request_set_method(req, m->method);
  if (!err && strcmp(prev->url, m->url)) err = fl_request_set_url(req, m->url);
  if (!err && !same_headers(prev, m)) {
    /* Names prev had and m has not go; m's are set over the rest. */
    for (size_t i = 0; !err && i < prev->nheaders; i++) {
      int kept = 0;
      for (size_t k = 0; k < m->nheaders && !kept; k++) kept = !strcasecmp(prev->headers[i].name, m->headers[k].name);
      if (!kept) err = fl_request_remove_header(req, prev->headers[i].name);
    }
    if (!err) err = put_headers(req, m);
  }
  if (!err && m->has_body &&
      (!prev->has_body || prev->body_len != m->body_len || memcmp(prev->body, m->body, m->body_len)))
    err = fl_request_set_body(req, m->body, m->body_len);
  return err;
}
