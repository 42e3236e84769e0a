/* The HTTP/1.1 codec: llhttp callbacks into an exchange's response, caps on
 * heads, and the few helpers that serialize a request head. */
#include "http/h1.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void fl__exchange_init(fl__exchange *ex, const fl__exchange_ops *ops) {
  memset(ex, 0, sizeof *ex);
  ex->ops = ops;
  fl__buf_init(&ex->head);
  fl__headers_init(&ex->rh.fields);
  ex->rh.minor = 1;
  fl__queue_init(&ex->node);
  ex->upload_len = -1;
  ex->content_length = -1;
}

void fl__exchange_dispose(fl__exchange *ex) {
  fl__buf_dispose(&ex->head);
  fl__headers_dispose(&ex->rh.fields);
}

/* ----------------------------------------------------------------- parse */

/* Cold and out of line: the callbacks' fast paths stay small leaves. */
static int stop(fl__h1 *h, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), cold, noinline));
static int stop(fl__h1 *h, int err, const char *fmt, ...) {
  h->err = err;
  h->owner_err = 0;
  static _Thread_local char msg[200];
  va_list ap;
  va_start(ap, fmt);
  if (vsnprintf(msg, sizeof msg, fmt, ap) < 0) msg[0] = '\0';
  va_end(ap);
  h->errmsg = msg;
  return HPE_USER;
}

/* An op of the owner failed (it has the message), or dropped the exchange. */
static int __attribute__((cold, noinline)) stop_owner(fl__h1 *h, int err) {
  h->err = err;
  h->owner_err = 1;
  return HPE_USER;
}

#define EX_OR_STOP(h)                                                                              \
  do {                                                                                             \
    if (!(h)->ex) return stop_owner((h), FL_ECANCELED);                                            \
  } while (0)

/* Per callback only additions and two compares against caps made once in
 * fl__h1_init (0 = none became UINT32_MAX); the total over all heads of a
 * response is checked once per head, in on_headers_complete. */
static int __attribute__((cold, noinline)) head_too_large(fl__h1 *h, uint32_t add) {
  if (h->header_bytes > h->head_cap || h->header_bytes < add)
    return stop(h, FL_EHEADER_TOO_LARGE, "response headers exceed %u bytes", h->max_header_bytes);
  return stop(h, FL_EHEADER_TOO_LARGE, "a response header line exceeds %u bytes",
              h->max_line_bytes);
}

static inline int count_head_bytes(fl__h1 *h, size_t n) {
  uint32_t add = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
  h->header_bytes += add;
  h->line_bytes += add;
  if (__builtin_expect(
          h->header_bytes > h->head_cap || h->header_bytes < add || h->line_bytes > h->line_cap, 0))
    return head_too_large(h, add);
  return 0;
}

static int on_message_begin(llhttp_t *p) {
  fl__h1 *h = p->data;
  EX_OR_STOP(h);
  h->header_bytes = 0;
  h->header_count = 0;
  h->line_bytes = 0;
  h->in_trailers = 0;
  h->status_seen = 0;
  h->ex->res->seen = 0;
  return 0;
}

static int on_status(llhttp_t *p, const char *at, size_t n) {
  fl__h1 *h = p->data;
  EX_OR_STOP(h);
  if (count_head_bytes(h, n)) return HPE_USER;
  return fl__buf_append(&h->ex->res->reason, at, n) ? stop(h, FL_ENOMEM, "out of memory") : 0;
}

static int on_status_complete(llhttp_t *p) {
  fl__h1 *h = p->data;
  h->status_seen = 1;
  h->line_bytes = 0;
  if (p->status_code < 100 || p->status_code > 599)
    return stop(h, FL_EBAD_STATUS, "response status %d is outside 100-599", p->status_code);
  return 0;
}

static fl__headers *fields_of(fl__h1 *h) {
  return h->in_trailers ? &h->ex->res->trailers : &h->ex->res->headers;
}

/* Copy the spans held back into the header list (h->ex is set). */
static int spill(fl__h1 *h) {
  fl__headers *hd = fields_of(h);
  int err = 0;
  if (h->name_at) err = fl__headers_append_name(hd, h->name_at, h->name_n);
  if (h->value_at && !err) err = fl__headers_append_value(hd, h->value_at, h->value_n);
  h->name_at = h->value_at = NULL;
  return err;
}

static int __attribute__((noinline)) field_piece(fl__h1 *h, const char *at, size_t n) {
  return spill(h) || fl__headers_append_name(fields_of(h), at, n)
             ? stop(h, FL_ENOMEM, "out of memory")
             : 0;
}

static int __attribute__((noinline)) value_piece(fl__h1 *h, const char *at, size_t n) {
  return spill(h) || fl__headers_append_value(fields_of(h), at, n)
             ? stop(h, FL_ENOMEM, "out of memory")
             : 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t n) {
  fl__h1 *h = p->data;
  EX_OR_STOP(h);
  if (count_head_bytes(h, n)) return HPE_USER;
  if (!h->name_at && !h->value_at && fields_of(h)->pending == 0) { /* the usual: a whole name */
    h->name_at = at;
    h->name_n = n;
    return 0;
  }
  return field_piece(h, at, n);
}

static int on_header_value(llhttp_t *p, const char *at, size_t n) {
  fl__h1 *h = p->data;
  EX_OR_STOP(h);
  if (count_head_bytes(h, n)) return HPE_USER;
  if (h->name_at && !h->value_at) { /* the usual: a whole value after a whole name */
    h->value_at = at;
    h->value_n = n;
    return 0;
  }
  return value_piece(h, at, n);
}

/* The FL__H_* kind of a header some layer above reads, or 0. name is not
 * NUL-terminated. */
static inline __attribute__((always_inline)) unsigned known_header(const char *name, size_t len) {
  switch (len) {
  case 8: return fl__strncaseeq(name, "Location", 8) ? FL__H_OTHER_KNOWN : 0;
  case 10:
    if (fl__strncaseeq(name, "Keep-Alive", 10)) return FL__H_KEEP_ALIVE;
    return fl__strncaseeq(name, "Set-Cookie", 10) ? FL__H_SET_COOKIE : 0;
  case 11: return fl__strncaseeq(name, "Retry-After", 11) ? FL__H_OTHER_KNOWN : 0;
  case 16:
    if (fl__strncaseeq(name, "Content-Encoding", 16)) return FL__H_CONTENT_ENCODING;
    return fl__strncaseeq(name, "WWW-Authenticate", 16) ? FL__H_OTHER_KNOWN : 0;
  case 18: return fl__strncaseeq(name, "Proxy-Authenticate", 18) ? FL__H_OTHER_KNOWN : 0;
  default: return 0;
  }
}

unsigned fl__h1_known_header(const char *name, size_t len) { return known_header(name, len); }

/* Store the field whose value just ended (h->ex is set), and note its kind. */
static int __attribute__((noinline)) store_field(fl__h1 *h) {
  fl__headers *hd = fields_of(h);
  int err;
  if (h->name_at && h->value_at && h->value_at > h->name_at + h->name_n &&
      (size_t)(h->value_at - h->name_at) <= h->name_n + 64) { /* "Name: value": one copy */
    err = fl__headers_add_span(hd, h->name_at, (size_t)(h->value_at - h->name_at) + h->value_n,
                               h->name_n, (size_t)(h->value_at - h->name_at), h->value_n);
  } else if (h->name_at) { /* whole name and value (or none), apart */
    err = fl__headers_add(hd, h->name_at, h->name_n, h->value_at ? h->value_at : "",
                          h->value_at ? h->value_n : 0);
  } else { /* pieces already in the list */
    err = fl__headers_commit(hd);
  }
  h->name_at = h->value_at = NULL;
  if (err) return stop(h, FL_ENOMEM, "out of memory");
  if (!h->in_trailers)
    h->ex->res->seen |=
        known_header(fl__headers_name(hd, hd->n - 1), hd->items[hd->n - 1].name_len);
  return 0;
}

static int on_header_value_complete(llhttp_t *p) {
  fl__h1 *h = p->data;
  EX_OR_STOP(h);
  if (h->max_header_count && ++h->header_count > h->max_header_count)
    return stop(h, FL_ETOO_MANY_HEADERS, "response has more than %u headers", h->max_header_count);
  h->line_bytes = 0;
  if (h->name_at && h->ex->known_headers_only && !h->in_trailers &&
      !known_header(h->name_at, h->name_n)) { /* parsed, checked, not wanted */
    h->name_at = h->value_at = NULL;
    return 0;
  }
  return store_field(h);
}

/* The framing switches of ex->h1_special, before the head goes up. */
static void __attribute__((cold, noinline)) special_framing(fl__h1 *h, llhttp_t *p) {
  fl__exchange *ex = h->ex;
  if (ex->ignore_content_length && !(p->flags & F_CHUNKED)) /* as curl's option: llhttp */
    p->flags &= (uint16_t)~F_CONTENT_LENGTH; /* then reads the body to the end of the connection */
  /* A raw chunked body: llhttp pauses at its first byte (h1_feed goes on
   * from there). Any other body is the same raw or not. */
  int status = p->status_code;
  h->hc_body = ex->raw && (p->flags & F_CHUNKED) && !ex->head_only && status != 204 &&
                       status != 304 && status != 101
                   ? HPE_PAUSED
                   : 0;
}

static int on_headers_complete(llhttp_t *p) {
  fl__h1 *h = p->data;
  EX_OR_STOP(h);
  fl__exchange *ex = h->ex;
  fl_response *res = ex->res;
  if (fl__headers_commit(&res->headers)) return stop(h, FL_ENOMEM, "out of memory");
  int status = p->status_code;
  res->status = status;
  res->http_minor = p->http_minor;
  res->version = p->http_minor ? 11 : 10;
  if (status == 101 && !ex->upgrade_tp)
    return stop(h, FL_EWEIRD_REPLY, "unexpected 101 Switching Protocols"); /* never asked */
  h->all_head_bytes += h->header_bytes;
  uint32_t all =
      h->max_header_bytes > FL__H1_ALL_HEADS_MAX ? h->max_header_bytes : FL__H1_ALL_HEADS_MAX;
  if (h->all_head_bytes > all)
    return stop(h, FL_EHEADER_TOO_LARGE, "response heads (%u interim) exceed %u bytes in all",
                h->interim_heads, all);
  if (status < 200 && status != 101) { /* interim: shown to the owner, skipped, counted */
    if (++h->interim_heads > FL__H1_INTERIM_MAX)
      return stop(h, FL_EHEADER_TOO_LARGE, "more than %u interim (1xx) responses",
                  FL__H1_INTERIM_MAX);
    if (status == 100) h->continue_seen = 1;
    ex->ops->step(ex, FL__EX_INTERIM);
    if (h->ex != ex) return stop_owner(h, FL_ECANCELED);
    return 1;
  }
  if (__builtin_expect(ex->h1_special != 0, 0)) special_framing(h, p);
  ex->content_length = (p->flags & F_CONTENT_LENGTH) ? (int64_t)p->content_length : -1;
  int r = ex->ops->head(ex);
  if (h->ex != ex) return stop_owner(h, FL_ECANCELED);
  if (r < 0) return stop_owner(h, r);
  /* 101: what follows its head is the upgraded protocol's (200 first: the
   * usual status is one test) */
  if (ex->head_only || (status != 200 && (status == 204 || status == 304 || status == 101)))
    return 1;
  return h->hc_body; /* 0, or HPE_PAUSED: a raw body starts here */
}

static int on_body(llhttp_t *p, const char *at, size_t n) {
  fl__h1 *h = p->data;
  EX_OR_STOP(h);
  fl__exchange *ex = h->ex;
  h->body_bytes += n;
  ex->body_bytes += n;
  int r = ex->ops->body(ex, at, n);
  if (h->ex != ex) return stop_owner(h, FL_ECANCELED);
  return r < 0 ? stop_owner(h, r) : 0;
}

/* llhttp takes any chunk size that fits 64 bits; one that does not fit 63
 * (a signed offset, as curl's) is a server error, not 16 EiB to wait for. */
static int on_chunk_header(llhttp_t *p) {
  fl__h1 *h = p->data;
  if (p->content_length > (uint64_t)INT64_MAX)
    return stop(h, FL_ERECV, "malformed chunked encoding: chunk size %llx is too large",
                (unsigned long long)p->content_length);
  if (p->content_length == 0) { /* the last chunk: fields after it are trailers */
    h->in_trailers = 1;
    h->line_bytes = 0;
  }
  return 0;
}

static int on_message_complete(llhttp_t *p) {
  fl__h1 *h = p->data;
  EX_OR_STOP(h);
  fl__exchange *ex = h->ex;
  if (ex->res->status < 200 && ex->res->status != 101) { /* 1xx done: the final one follows */
    fl__response_reset(ex->res);
    return 0;
  }
  int r = ex->ops->body(ex, NULL, 0);
  if (h->ex != ex) return stop_owner(h, FL_ECANCELED);
  if (r < 0) return stop_owner(h, r);
  h->message_done = 1;
  return HPE_PAUSED; /* stop exactly here: the bytes after it are the next response's */
}

/* A raw body: llhttp still parses the chunks (sizes, the end, the
 * trailers: stored as always), but h1_feed hands the input up, framing
 * and all, so the decoded pieces are only counted (the body's size is
 * its chunks' data, as curl's size_download with --raw). */
static int on_body_raw(llhttp_t *p, const char *at, size_t n) {
  fl__h1 *h = p->data;
  (void)at;
  EX_OR_STOP(h);
  h->body_bytes += n;
  h->ex->body_bytes += n;
  return 0;
}

static int on_message_complete_raw(llhttp_t *p) {
  fl__h1 *h = p->data;
  h->raw_end = 1;
  return HPE_PAUSED; /* h1_feed sends the bytes up to here, then ends the body */
}

/* Constant, so threads share it without a race (llhttp_settings_init only
 * zeroes the struct; designated initializers zero the rest). */
static const llhttp_settings_t settings = {
    .on_message_begin = on_message_begin,
    .on_status = on_status,
    .on_status_complete = on_status_complete,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_chunk_header = on_chunk_header,
    .on_message_complete = on_message_complete,
};

static const llhttp_settings_t raw_settings = {
    .on_message_begin = on_message_begin,
    .on_status = on_status,
    .on_status_complete = on_status_complete,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body_raw,
    .on_chunk_header = on_chunk_header,
    .on_message_complete = on_message_complete_raw,
};

void fl__h1_init(fl__h1 *h, uint32_t max_header_bytes, uint32_t max_header_count,
                 uint32_t max_line_bytes) {
  memset(h, 0, sizeof *h);
  h->max_header_bytes = max_header_bytes;
  h->max_header_count = max_header_count;
  h->max_line_bytes = max_line_bytes;
  h->head_cap = max_header_bytes ? max_header_bytes : UINT32_MAX;
  h->line_cap = max_line_bytes ? max_line_bytes : UINT32_MAX;
  h->errmsg = "";
}

void fl__h1_begin(fl__h1 *h, fl__exchange *ex) {
  /* Paused at the end of a complete message, llhttp stands at the start of
   * the next one (it clears its per-message flags there): resuming is
   * enough. Anything else starts from a clean parser. */
  if (h->message_done && h->parser.error == HPE_PAUSED) {
    h->parser.error = HPE_OK; /* llhttp_resume's whole work (api.c), its test just made */
  } else {
    llhttp_init(&h->parser, HTTP_RESPONSE, &settings);
    h->parser.data = h;
  }
  h->ex = ex;
  h->wire_bytes = 0;
  h->name_at = h->value_at = NULL;
  h->header_bytes = h->header_count = 0;
  h->all_head_bytes = h->interim_heads = 0;
  h->body_bytes = 0;
  h->message_done = 0;
  h->err = 0;
  h->line_bytes = 0;
  h->in_trailers = 0;
  h->status_seen = 0;
  h->continue_seen = 0;
  ex->body_bytes = 0;
}

/* A bad head is a weird reply (curl's 8); bad framing inside the body, such
 * as a malformed chunk, is a receive error (curl's 56, "Malformed encoding
 * found in chunked-encoding"). */
static int parse_error(fl__h1 *h, llhttp_errno_t e) {
  int final_head = h->ex && h->ex->res->status >= 200;
  /* Not even a status line (HTTP/0.9, another protocol): curl's 1. */
  int err = !h->status_seen ? FL_EBAD_STATUS_LINE : final_head ? FL_ERECV : FL_EWEIRD_REPLY;
  return stop(h, err, "%s: %s (%s)",
              err == FL_ERECV ? "malformed body encoding" : "invalid response",
              llhttp_get_error_reason(&h->parser), llhttp_errno_name(e)),
         err;
}

/* Raw body bytes up to the owner. 0, or HPE_USER with h->err set. */
static int raw_up(fl__h1 *h, const char *at, size_t n) {
  fl__exchange *ex = h->ex;
  if (!ex) return stop_owner(h, FL_ECANCELED);
  if (!n) return 0;
  int r = ex->ops->body(ex, at, n);
  if (h->ex != ex) return stop_owner(h, FL_ECANCELED);
  return r < 0 ? stop_owner(h, r) : 0;
}

static int __attribute__((cold, noinline)) raw_more(fl__h1 *h, const char *data, size_t len) {
  h->wire_bytes += len;
  if ((h->name_at || h->value_at) && h->ex && spill(h)) /* a trailer field cut by the feed */
    return stop(h, FL_ENOMEM, "out of memory"), FL_ENOMEM;
  return raw_up(h, data, len) ? h->err : FL__H1_MORE;
}

/* llhttp paused in a raw exchange: at the first byte of the body (hc_body)
 * or after its last (raw_end). The bytes between go up as they are; llhttp
 * goes on parsing them for the framing. */
static int __attribute__((cold, noinline))
raw_feed(fl__h1 *h, const char *data, size_t len, size_t *used) {
  const char *from = data; /* not yet sent up */
  for (;;) {
    const char *pos = llhttp_get_error_pos(&h->parser);
    if (h->raw_end) { /* the message ends at pos */
      h->raw_end = h->raw = 0;
      h->parser.settings = (void *)&settings;
      if (raw_up(h, from, (size_t)(pos - from))) return h->err;
      fl__exchange *ex = h->ex;
      int r = ex->ops->body(ex, NULL, 0);
      if (h->ex != ex) return stop_owner(h, FL_ECANCELED), FL_ECANCELED;
      if (r < 0) return stop_owner(h, r), r;
      h->message_done = 1; /* llhttp stays paused here, as on_message_complete leaves it */
      *used = (size_t)(pos - data);
      h->wire_bytes += *used;
      return FL__H1_DONE;
    }
    if (!h->raw) { /* paused by on_headers_complete: the body starts at pos */
      h->hc_body = 0;
      h->raw = 1;
      h->parser.settings = (void *)&raw_settings;
      from = pos;
    }
    llhttp_resume(&h->parser);
    llhttp_errno_t e = llhttp_execute(&h->parser, pos, (size_t)(data + len - pos));
    if (e == HPE_OK) {
      h->wire_bytes += (size_t)(from - data); /* the head's part; raw_more adds the rest */
      return raw_more(h, from, len - (size_t)(from - data));
    }
    h->name_at = h->value_at = NULL;
    if (e != HPE_PAUSED || (!h->raw_end && h->raw)) { /* an error, or an owner's stop */
      h->parser.settings = (void *)&settings;
      h->raw = h->raw_end = 0;
      if (h->err) return h->err;
      return parse_error(h, e);
    }
  }
}

int fl__h1_feed(fl__h1 *h, const char *data, size_t len, size_t *used) {
  h->err = 0;
  llhttp_errno_t e = llhttp_execute(&h->parser, data, len);
  if (e == HPE_OK) {
    /* A raw body's bytes (after the feed that started it) all go up. */
    if (__builtin_expect(h->raw, 0)) return raw_more(h, data, len);
    h->wire_bytes += len;
    /* The bytes are the caller's only until we return. */
    if ((h->name_at || h->value_at) && h->ex && spill(h))
      return stop(h, FL_ENOMEM, "out of memory"), FL_ENOMEM;
    return FL__H1_MORE;
  }
  h->name_at = h->value_at = NULL;
  if (e == HPE_PAUSED && h->message_done) {
    *used = (size_t)(llhttp_get_error_pos(&h->parser) - data);
    h->wire_bytes += *used;
    return FL__H1_DONE;
  }
  if (e == HPE_PAUSED && (h->raw || h->hc_body)) return raw_feed(h, data, len, used);
  if (h->err) return h->err;
  return parse_error(h, e);
}

int fl__h1_eof(fl__h1 *h) {
  h->err = 0;
  llhttp_errno_t e = llhttp_finish(&h->parser);
  if (h->message_done) return FL__H1_DONE;
  if (h->err) return h->err;
  if (!h->ex) return stop_owner(h, FL_ECANCELED), FL_ECANCELED;
  if (h->ex->res->status == 0 || e == HPE_OK)
    return stop(h, FL_EWEIRD_REPLY, "connection closed in the middle of the response headers"),
           FL_EWEIRD_REPLY;
  if (h->ex->head_only)
    return stop(h, FL_EWEIRD_REPLY, "connection closed during a HEAD response"), FL_EWEIRD_REPLY;
  return stop(h, FL_EPARTIAL_BODY,
              "transfer closed with outstanding body data (%llu bytes received)",
              (unsigned long long)h->body_bytes),
         FL_EPARTIAL_BODY;
}


/* ------------------------------------------------------------- serialize */

int fl__h1_put_request_line(fl__buf *b, const char *method, const char *scheme,
                            const char *authority, const char *target) {
  /* Through a forward proxy the target is in absolute form (RFC 9112 3.2.2). */
  return fl__buf_puts(b, method) || fl__buf_puts(b, " ") ||
                 (scheme && (fl__buf_puts(b, scheme) || fl__buf_puts(b, "://") ||
                             fl__buf_puts(b, authority))) ||
                 fl__buf_puts(b, target) || fl__buf_puts(b, " HTTP/1.1\r\n")
             ? FL_ENOMEM
             : 0;
}

int fl__h1_put_header(fl__buf *b, const char *name, const char *value) {
  return fl__buf_puts(b, name) || fl__buf_puts(b, ": ") || fl__buf_puts(b, value) ||
                 fl__buf_puts(b, "\r\n")
             ? FL_ENOMEM
             : 0;
}

int fl__h1_end_head(fl__buf *b) { return fl__buf_puts(b, "\r\n") ? FL_ENOMEM : 0; }

int fl__h1_put_head(fl__buf *b, const fl__req_head *rh) {
  fl__buf_reset(b);
  int err = fl__buf_puts(b, rh->method) || fl__buf_puts(b, " ") ||
            (rh->absolute && (fl__buf_puts(b, rh->scheme) || fl__buf_puts(b, "://") ||
                              fl__buf_puts(b, rh->authority))) ||
            fl__buf_puts(b, rh->path) ||
            fl__buf_puts(b, rh->minor ? " HTTP/1.1\r\nHost: " : " HTTP/1.0\r\nHost: ") ||
            fl__buf_puts(b, rh->authority) || fl__buf_puts(b, "\r\n");
  const fl__headers *h = &rh->fields;
  for (size_t i = 0; !err && i < h->n; i++)
    err = fl__h1_put_header(b, fl__headers_name(h, i), fl__headers_value(h, i));
  return err || fl__h1_end_head(b) ? FL_ENOMEM : 0;
}
