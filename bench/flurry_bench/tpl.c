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
  if (t->one_block) { /* flb_tpl_parse's: everything in one allocation */
    free(t);
    return;
  }
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

flb_tpl *flb_tpl_single(const char *method, const char *url, const flb_hdr *headers,
                        size_t nheaders, const char *body, size_t body_len, int has_body) {
  flb_tpl *t = calloc(1, sizeof *t);
  if (!t || !(t->msgs = calloc(1, sizeof *t->msgs))) {
    free(t);
    return NULL;
  }
  t->n = 1;
  flb_msg *m = t->msgs;
  int bad = !(m->method = dup_n(method, strlen(method))) || !(m->url = dup_n(url, strlen(url)));
  for (size_t i = 0; !bad && i < nheaders; i++)
    bad = add_header(m, headers[i].name, strlen(headers[i].name), headers[i].value,
                     strlen(headers[i].value));
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

/* ------------------------------------------------------------ parsing
 * Two passes: llhttp marks where each part of each request lies in the
 * string (spans), then one allocation takes the template, its messages,
 * their headers and every string. A template a request() call makes is then
 * one malloc and one free. */

enum { SP_URL, SP_FIELD, SP_VALUE, SP_HEADER_END, SP_HEAD_END, SP_BODY, SP_MESSAGE_END };

typedef struct span {
  unsigned kind;
  unsigned aux; /* SP_HEAD_END: the method; and whether a body is framed */
  size_t off, len;
} span;

typedef struct parse_state {
  const char *s;
  span *spans;
  size_t n, cap;
  span small[48];
  int oom;
} parse_state;

static parse_state *state_of(llhttp_t *p) { return p->data; }

static int mark(llhttp_t *p, unsigned kind, unsigned aux, const char *at, size_t len) {
  parse_state *st = state_of(p);
  if (st->n == st->cap) {
    size_t cap = st->cap * 2;
    span *sp =
        st->spans == st->small ? malloc(cap * sizeof *sp) : realloc(st->spans, cap * sizeof *sp);
    if (!sp) {
      st->oom = 1;
      return -1;
    }
    if (st->spans == st->small) memcpy(sp, st->small, sizeof st->small);
    st->spans = sp;
    st->cap = cap;
  }
  span *m = &st->spans[st->n++];
  m->kind = kind;
  m->aux = aux;
  m->off = at ? (size_t)(at - st->s) : 0;
  m->len = len;
  return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t n) { return mark(p, SP_URL, 0, at, n); }
static int on_field(llhttp_t *p, const char *at, size_t n) { return mark(p, SP_FIELD, 0, at, n); }
static int on_value(llhttp_t *p, const char *at, size_t n) { return mark(p, SP_VALUE, 0, at, n); }
static int on_value_complete(llhttp_t *p) { return mark(p, SP_HEADER_END, 0, NULL, 0); }
static int on_body(llhttp_t *p, const char *at, size_t n) { return mark(p, SP_BODY, 0, at, n); }
static int on_message_complete(llhttp_t *p) { return mark(p, SP_MESSAGE_END, 0, NULL, 0); }
static int on_headers_complete(llhttp_t *p) {
  /* A body is sent when the string framed one (Content-Length, even 0, or
   * chunked), as wrk sends the string as it is. */
  unsigned framed = p->content_length > 0 || (p->flags & (F_CONTENT_LENGTH | F_CHUNKED));
  return mark(p, SP_HEAD_END, (unsigned)p->method << 1 | framed, NULL, 0);
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

static int is_absolute(const char *s, size_t n) {
  return (n >= 7 && !strncasecmp(s, "http://", 7)) || (n >= 8 && !strncasecmp(s, "https://", 8));
}

/* Copy the spans of one kind that run from spans[*i] on (llhttp may cut a
 * part in several) to *out; returns the bytes copied. */
static size_t gather(const parse_state *st, size_t *i, unsigned kind, char *out) {
  size_t n = 0;
  while (*i < st->n && st->spans[*i].kind == kind) {
    const span *sp = &st->spans[(*i)++];
    if (out) memcpy(out + n, st->s + sp->off, sp->len);
    n += sp->len;
  }
  return n;
}

/* Lay the parsed requests out in one block (pass 2). */
static flb_tpl *build(const parse_state *st, size_t len, const char *origin) {
  size_t olen = strlen(origin), nmsgs = 0, nhdrs = 0, bytes = len + 1;
  /* Sizes first. */
  for (size_t i = 0; i < st->n;) {
    const span *sp = &st->spans[i];
    size_t k;
    switch (sp->kind) {
    case SP_URL:
      k = i;
      bytes += gather(st, &i, SP_URL, NULL) + 1;
      if (!is_absolute(st->s + st->spans[k].off, st->spans[k].len)) bytes += olen;
      break;
    case SP_FIELD:
      bytes += gather(st, &i, SP_FIELD, NULL) + 1;
      nhdrs++;
      break;
    case SP_VALUE: bytes += gather(st, &i, SP_VALUE, NULL) + 1; break;
    case SP_BODY: bytes += gather(st, &i, SP_BODY, NULL); break;
    case SP_MESSAGE_END: nmsgs++, bytes += 1, i++; break; /* the body's NUL */
    default: i++;
    }
  }
  size_t head = sizeof(flb_tpl) + nmsgs * sizeof(flb_msg) + nhdrs * sizeof(flb_hdr);
  char *block = calloc(1, head + bytes);
  if (!block) return NULL;
  flb_tpl *t = (flb_tpl *)(void *)block;
  t->msgs = (flb_msg *)(void *)(block + sizeof *t);
  flb_hdr *hdrs = (flb_hdr *)(void *)(block + sizeof *t + nmsgs * sizeof(flb_msg));
  char *str = block + head;
  t->one_block = 1;
  t->src = str;
  memcpy(t->src, st->s, len);
  t->src_len = len;
  str += len + 1;
  flb_msg *m = t->msgs;
  m->headers = hdrs;
  for (size_t i = 0; i < st->n;) {
    const span *sp = &st->spans[i];
    size_t n, k;
    switch (sp->kind) {
    case SP_URL:
      m->url = str;
      k = i;
      if (!is_absolute(st->s + st->spans[k].off, st->spans[k].len)) {
        memcpy(str, origin, olen);
        str += olen;
      }
      str += gather(st, &i, SP_URL, str) + 1;
      break;
    case SP_FIELD:
      m->headers[m->nheaders].name = str;
      str += gather(st, &i, SP_FIELD, str) + 1;
      break;
    case SP_VALUE:
      m->headers[m->nheaders].value = str;
      str += gather(st, &i, SP_VALUE, str) + 1;
      break;
    case SP_HEADER_END:
      if (!m->headers[m->nheaders].value) /* an empty value: the name's NUL */
        m->headers[m->nheaders].value =
            m->headers[m->nheaders].name + strlen(m->headers[m->nheaders].name);
      m->nheaders++;
      i++;
      break;
    case SP_HEAD_END:
      m->method = (char *)llhttp_method_name((llhttp_method_t)(sp->aux >> 1));
      m->has_body = sp->aux & 1;
      i++;
      break;
    case SP_BODY:
      m->body = str;
      n = gather(st, &i, SP_BODY, str);
      m->body_len += n;
      str += n;
      break;
    case SP_MESSAGE_END:
      if (!m->body && m->has_body) m->body = str;
      *str++ = 0;
      if (!m->url) m->url = t->src + len; /* "": llhttp demands a target, so not reached */
      t->n++;
      m++;
      if ((size_t)(m - t->msgs) < nmsgs)
        m->headers = hdrs + (m[-1].headers - hdrs) + m[-1].nheaders;
      i++;
      break;
    default: i++;
    }
  }
  return t;
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
  st.s = s;
  st.spans = st.small;
  st.n = 0;
  st.cap = sizeof st.small / sizeof st.small[0];
  st.oom = 0;
  llhttp_t parser;
  llhttp_init(&parser, HTTP_REQUEST, &settings);
  parser.data = &st;
  llhttp_errno_t rc = llhttp_execute(&parser, s, len);
  flb_tpl *t = NULL;
  if (st.oom) {
    snprintf(err, errlen, "out of memory");
  } else if (rc != HPE_OK) {
    where(err, errlen, llhttp_get_error_reason(&parser), s, llhttp_get_error_pos(&parser));
  } else if (llhttp_finish(&parser) != HPE_OK || !st.n ||
             st.spans[st.n - 1].kind != SP_MESSAGE_END) {
    where(err, errlen, "incomplete request", s,
          s + len); /* bytes of a request left over, or none */
  } else if (!(t = build(&st, len, origin))) {
    snprintf(err, errlen, "out of memory");
  }
  if (st.spans != st.small) free(st.spans);
  return t;
}

/* ------------------------------------------------------ onto requests */

/* Whether header i of m goes onto requests. Content-Length never: the
 * library writes the body's own. Host only when it differs from the URL's
 * authority, which the library writes anyway: a request string's Host
 * (wrk.format always writes one) then costs nothing per request. */
static int put_on_request(const flb_msg *m, size_t i) {
  const char *name = m->headers[i].name;
  if (!strcasecmp(name, "Content-Length")) return 0;
  if (strcasecmp(name, "Host")) return 1;
  const char *a = strstr(m->url, "://");
  if (!a) return 1;
  a += 3;
  size_t n = strcspn(a, "/?#");
  const char *at = memchr(a, '@', n);
  if (at) n -= (size_t)(at + 1 - a), a = at + 1;
  return strlen(m->headers[i].value) != n || strncasecmp(m->headers[i].value, a, n);
}

/* Headers of m: the first of each name replaces any the request has, the
 * following ones of that name are added. */
static int put_headers(fl_request *req, const flb_msg *m) {
  for (size_t i = 0; i < m->nheaders; i++) {
    if (!put_on_request(m, i)) continue;
    int again = 0;
    for (size_t k = 0; k < i && !again; k++)
      again = put_on_request(m, k) && !strcasecmp(m->headers[k].name, m->headers[i].name);
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
    if (strcmp(a->headers[i].name, b->headers[i].name) ||
        strcmp(a->headers[i].value, b->headers[i].value))
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
    /* Names prev put on the request and m does not go; m's are set over
     * the rest. */
    for (size_t i = 0; !err && i < prev->nheaders; i++) {
      if (!put_on_request(prev, i)) continue;
      int kept = 0;
      for (size_t k = 0; k < m->nheaders && !kept; k++)
        kept = put_on_request(m, k) && !strcasecmp(prev->headers[i].name, m->headers[k].name);
      if (!kept) err = fl_request_remove_header(req, prev->headers[i].name);
    }
    if (!err) err = put_headers(req, m);
  }
  if (!err && m->has_body &&
      (!prev->has_body || prev->body_len != m->body_len ||
       memcmp(prev->body, m->body, m->body_len)))
    err = fl_request_set_body(req, m->body, m->body_len);
  return err;
}
