/* One HTTP/1.1 exchange on a connection: serialize and write the request
 * (write first, poll only when the socket would block), read and parse the
 * response with llhttp, decide whether the connection may be kept.
 *
 * Syscalls on a busy keep-alive connection: one writev per request, one read
 * per response (a second only when the read filled the buffer), plus a share
 * of the loop's epoll_wait. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/base64.h"
#include "client/client.h"
#include "http/decode.h"


/* ------------------------------------------------------------ transport */

static ssize_t tcp_read(fl__conn *c, char *buf, size_t len) { return recv(c->fd, buf, len, 0); }

static ssize_t tcp_writev(fl__conn *c, const struct iovec *iov, int iovcnt) {
  struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
  return sendmsg(c->fd, &msg, MSG_NOSIGNAL);
}

static const fl__transport_ops tcp_ops = {.read = tcp_read, .writev = tcp_writev};

/* The event a transport call that returned EAGAIN waits for. TCP waits the
 * obvious way; TLS may have to read before it can write, or the reverse. */
static uint32_t wait_event(const fl__conn *conn, int writing) {
  uint32_t ev = conn->tp->wants ? conn->tp->wants(conn, writing) : 0;
  return ev ? ev : writing ? FL__POLLOUT : FL__POLLIN;
}

/* Bytes the transport holds already (TLS records read ahead): epoll will
 * not announce them, so read them before sleeping. */
static int tp_pending(const fl__conn *conn) { return conn->tp->pending && conn->tp->pending(conn); }

/* -------------------------------------------------------- request head */

static int put(fl__buf *b, const char *s) { return fl__buf_puts(b, s); }

static int put_header(fl__buf *b, const char *name, const char *value) {
  return put(b, name) || put(b, ": ") || put(b, value) || put(b, "\r\n");
}

static int is_credential_header(const char *name) {
  return fl__strcaseeq(name, "Authorization") || fl__strcaseeq(name, "Cookie") ||
         fl__strcaseeq(name, "Proxy-Authorization");
}

/* Headers we write ourselves, or drop on this hop. */
static int skip_user_header(const fl_request *req, const char *name) {
  if (fl__strcaseeq(name, "Host") || fl__strcaseeq(name, "Content-Length") ||
      fl__strcaseeq(name, "Transfer-Encoding") || fl__strcaseeq(name, "Cookie"))
    return 1;
  if (req->stripped_auth && is_credential_header(name)) return 1;
  if (req->hop_drop_body && fl__strncaseeq(name, "Content-", 8)) return 1;
  return 0;
}

static int put_basic_auth(fl__buf *b, const char *user, const char *pass) {
  fl__buf plain;
  fl__buf_init(&plain);
  int err = fl__buf_puts(&plain, user) || fl__buf_puts(&plain, ":") || fl__buf_puts(&plain, pass ? pass : "");
  err = err || put(b, "Authorization: Basic ") || fl__base64_encode(plain.data, plain.len, b) || put(b, "\r\n");
  fl__buf_dispose(&plain);
  return err;
}

/* One Cookie header: the caller's (unless stripped) joined with the jar's. */
static int put_cookies(fl__buf *b, const fl_request *req, fl_client *c) {
  const char *mine = req->stripped_auth ? NULL : fl__headers_get(&req->headers, "Cookie");
  const char *jar = fl__client_jar_header(c, req);
  if (!mine && !jar) return 0;
  return put(b, "Cookie: ") || (mine && put(b, mine)) || (mine && jar && put(b, "; ")) ||
         (jar && put(b, jar)) || put(b, "\r\n");
}

/* Appends the head to b (callers reset it when they want it alone). */
int fl__http1_write_head(fl_request *req, fl_client *c, fl__buf *b) {
  const fl__headers *h = &req->headers;
  const char *host = fl__headers_get(h, "Host");
  /* Through a forward proxy the target is in absolute form (RFC 9112 3.2.2). */
  const fl__proxy *px = req->host && !req->host->tls ? req->host->proxy : NULL;
  int err = put(b, req->hop_method) || put(b, " ") ||
            (px && (put(b, req->url.scheme) || put(b, "://") || put(b, req->url.authority))) ||
            put(b, req->url.target) || put(b, " HTTP/1.1\r\n") ||
            put_header(b, "Host", host ? host : req->url.authority);
  if (!err && px && fl__proxy_auth(px) && !fl__headers_has(h, "Proxy-Authorization"))
    err = put_header(b, "Proxy-Authorization", fl__proxy_auth(px));
  if (!err && !(req->removed_defaults & FL__DEF_USER_AGENT) && !fl__headers_has(h, "User-Agent"))
    err = put_header(b, "User-Agent", c->user_agent);
  if (!err && !(req->removed_defaults & FL__DEF_ACCEPT) && !fl__headers_has(h, "Accept"))
    err = put_header(b, "Accept", "*/*");
  if (!err && c->opts.decompress && !fl__headers_has(h, "Accept-Encoding"))
    err = put_header(b, "Accept-Encoding", "gzip, deflate, br");
  if (!err && !req->stripped_auth && !fl__headers_has(h, "Authorization")) {
    if (req->auth_user)
      err = put_basic_auth(b, req->auth_user, req->auth_pass);
    else if (req->url.user)
      err = put_basic_auth(b, req->url.user, req->url.password);
  }
  for (size_t i = 0; !err && i < h->n; i++) {
    const char *name = fl__headers_name(h, i);
    if (!skip_user_header(req, name)) err = put_header(b, name, fl__headers_value(h, i));
  }
  if (!err) err = put_cookies(b, req, c);
  if (!err && !req->hop_drop_body) {
    if (req->upload_cb && req->upload_len < 0) {
      err = put_header(b, "Transfer-Encoding", "chunked");
    } else if (req->upload_cb) {
      char len[32];
      snprintf(len, sizeof len, "%lld", (long long)req->upload_len);
      err = put_header(b, "Content-Length", len);
    } else if (req->has_body || !strcmp(req->hop_method, "POST") || !strcmp(req->hop_method, "PUT") ||
               !strcmp(req->hop_method, "PATCH")) {
      char len[32];
      snprintf(len, sizeof len, "%zu", req->body.len);
      err = put_header(b, "Content-Length", len);
    }
  }
  if (!err) err = put(b, "\r\n");
  return err ? FL_ENOMEM : 0;
}

/* ------------------------------------------------------------- failures */

static void conn_fail(fl__conn *conn, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void conn_fail(fl__conn *conn, int err, const char *fmt, ...) {
  fl_request *req = conn->req;
  fl_client *c = conn->client;
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fl__pool_destroy_conn(c, conn);
  if (req) fl__request_finish(req, err, "%s", msg);
}

/* The reason for a failed read or write: the transport's own (OpenSSL's
 * for a TLS alert or a bad record) or errno's. */
static const char *io_error_text(const fl__conn *conn, int sys_errno) {
  const char *why = sys_errno == EPROTO && conn->tp && conn->tp->failure ? conn->tp->failure(conn) : NULL;
  return why ? why : strerror(sys_errno);
}

/* Failure before any response byte on a reused connection: retry if allowed. */
static void conn_fail_early(fl__conn *conn, int err, const char *what, int sys_errno) {
  fl_request *req = conn->req;
  if (req && fl__request_retry(req, conn)) return;
  if (err == FL_EEMPTY_REPLY)
    conn_fail(conn, err, "empty reply from server %s port %u", conn->remote_ip, conn->remote_port);
  else
    conn_fail(conn, err, "%s %s port %u: %s", what, conn->remote_ip, conn->remote_port,
              io_error_text(conn, sys_errno));
}

/* ---------------------------------------------------------------- write */

int fl__http1_pipelinable(const fl_request *req) {
  return !req->has_body && !req->upload_cb &&
         (!strcmp(req->hop_method, "GET") || !strcmp(req->hop_method, "HEAD"));
}

/* What this hop sends after the head: a streamed body, a fixed one, or none. */
static int streams_body(const fl_request *req) { return req->upload_cb && !req->hop_drop_body; }
static size_t fixed_body_len(const fl_request *req) {
  return req->upload_cb || req->hop_drop_body ? 0 : req->body.len;
}

static int next_upload_chunk(fl__conn *conn, fl_request *req) {
  /* Frame one chunk from the callback into wbuf: "<hex>\r\n<data>\r\n", or the
   * last chunk "0\r\n\r\n". */
  enum { CHUNK = 16384, ROOM = 16 };
  fl__buf *b = &conn->wbuf;
  fl__buf_reset(b);
  if (fl__buf_reserve(b, CHUNK + ROOM + 2)) return FL_ENOMEM;
  size_t want = CHUNK;
  if (req->upload_len >= 0) { /* never ask for more than was declared */
    uint64_t left = (uint64_t)req->upload_len - conn->upload_sent;
    if (left == 0) {
      conn->upload_done = 1;
      b->len = 0;
      conn->woff = conn->wtotal = 0;
      return 0;
    }
    if (left < want) want = (size_t)left;
  }
  long n = req->upload_cb(req, b->data + ROOM, want, req->upload_data);
  if (conn->req != req) return FL_ECANCELED; /* callback canceled or freed it */
  if (n < 0) return FL_EREAD;
  if ((size_t)n > want) n = (long)want;
  if (req->upload_len >= 0) { /* known length: raw bytes, no chunk framing */
    if (n == 0) return FL_EUPLOAD_SHORT; /* the server would wait for the rest */
    memmove(b->data, b->data + ROOM, (size_t)n);
    b->len = (size_t)n;
    conn->upload_sent += (uint64_t)n;
    conn->woff = 0;
    conn->wtotal = b->len;
    return 0;
  }
  if (n == 0) {
    memcpy(b->data, "0\r\n\r\n", 5);
    b->len = 5;
    conn->upload_done = 1;
  } else {
    char hex[ROOM];
    int hl = snprintf(hex, sizeof hex, "%lx\r\n", n);
    memmove(b->data + hl, b->data + ROOM, (size_t)n);
    memcpy(b->data, hex, (size_t)hl);
    memcpy(b->data + hl + n, "\r\n", 2);
    b->len = (size_t)hl + (size_t)n + 2;
  }
  conn->woff = 0;
  conn->wtotal = b->len;
  return 0;
}

static void sent_all(fl__conn *conn, fl_request *req) {
  if (conn->io.want & FL__POLLOUT) fl__io_stop(conn->client->loop, &conn->io, FL__POLLOUT);
  if (req->state == FL__REQ_SENDING) fl__request_set_state(req, FL__REQ_WAITING);
}

/* Write what we can; arm EPOLLOUT only when the socket would block. */
static void write_some(fl__conn *conn) {
  fl_request *req = conn->req;
  for (;;) {
    if (conn->woff == conn->wtotal) {
      if (!streams_body(req) || conn->upload_done) {
        sent_all(conn, req);
        return;
      }
      int err = next_upload_chunk(conn, req);
      if (err == FL_ECANCELED) return;
      if (err == FL_EUPLOAD_SHORT) {
        conn_fail(conn, FL_EREAD, "the upload ended after %llu of its %lld bytes",
                  (unsigned long long)conn->upload_sent, (long long)req->upload_len);
        return;
      }
      if (err) {
        conn_fail(conn, err, err == FL_EREAD ? "upload callback failed" : "out of memory");
        return;
      }
      if (conn->upload_done && conn->wtotal == 0) continue; /* declared length sent */
    }
    struct iovec iov[2];
    int n = 0;
    size_t head = conn->wbuf.len;
    size_t fixed_len = fixed_body_len(req);
    if (conn->woff < head) {
      iov[n].iov_base = conn->wbuf.data + conn->woff;
      iov[n++].iov_len = head - conn->woff;
    }
    if (fixed_len) {
      size_t boff = conn->woff > head ? conn->woff - head : 0;
      iov[n].iov_base = req->body.data + boff;
      iov[n++].iov_len = fixed_len - boff;
    }
    ssize_t w = conn->tp->writev(conn, iov, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (fl__io_start(conn->client->loop, &conn->io, wait_event(conn, 1)))
          conn_fail(conn, FL_ENOMEM, "out of memory");
        return;
      }
      int e = errno;
      if (!conn->response_started && (e == EPIPE || e == ECONNRESET)) {
        conn_fail_early(conn, FL_ESEND, "failed sending the request to", e);
        return;
      }
      conn_fail(conn, FL_ESEND, "failed sending the request: %s", io_error_text(conn, e));
      return;
    }
    conn->woff += (size_t)w;
    req->info.bytes_sent += (uint64_t)w;
    conn->client->pool.stats.writes++;
    if (conn->woff < conn->wtotal) { /* partial: the socket buffer is full */
      if (fl__io_start(conn->client->loop, &conn->io, wait_event(conn, 1)))
        conn_fail(conn, FL_ENOMEM, "out of memory");
      return;
    }
  }
}

/* ---------------------------------------------------------------- parse */

static int cb_abort(fl__conn *conn, int err) {
  conn->cb_err = err;
  return HPE_USER;
}

static int on_message_begin(llhttp_t *p) {
  fl__conn *conn = p->data;
  conn->header_bytes = 0;
  conn->header_count = 0;
  if (conn->req) conn->req->res.seen = 0;
  return 0;
}

static int count_header_bytes(fl__conn *conn, size_t n) {
  conn->header_bytes += (uint32_t)(n > UINT32_MAX ? UINT32_MAX : n);
  uint32_t cap = conn->client->opts.max_header_bytes;
  return cap && conn->header_bytes > cap;
}

static int on_status(llhttp_t *p, const char *at, size_t n) {
  fl__conn *conn = p->data;
  if (!conn->req) return cb_abort(conn, FL_ECANCELED);
  if (count_header_bytes(conn, n)) return cb_abort(conn, FL_EHEADER_TOO_LARGE);
  return fl__buf_append(&conn->req->res.reason, at, n) ? cb_abort(conn, FL_ENOMEM) : 0;
}

static int on_status_complete(llhttp_t *p) {
  fl__conn *conn = p->data;
  if (p->status_code < 100 || p->status_code > 599) return cb_abort(conn, FL_EBAD_STATUS);
  return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t n) {
  fl__conn *conn = p->data;
  if (!conn->req) return cb_abort(conn, FL_ECANCELED);
  if (count_header_bytes(conn, n)) return cb_abort(conn, FL_EHEADER_TOO_LARGE);
  return fl__headers_append_name(&conn->req->res.headers, at, n) ? cb_abort(conn, FL_ENOMEM) : 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t n) {
  fl__conn *conn = p->data;
  if (!conn->req) return cb_abort(conn, FL_ECANCELED);
  if (count_header_bytes(conn, n)) return cb_abort(conn, FL_EHEADER_TOO_LARGE);
  return fl__headers_append_value(&conn->req->res.headers, at, n) ? cb_abort(conn, FL_ENOMEM) : 0;
}

/* The response head rebuilt from what was parsed, for the trace hook. */
static void trace_response_head(fl__conn *conn, fl_request *req) {
  fl__buf *b = &conn->client->scratch; /* a reused scratch buffer */
  char line[64];
  snprintf(line, sizeof line, "HTTP/1.%d %d ", req->res.http_minor, req->res.status);
  fl__buf_reset(b);
  int err = fl__buf_puts(b, line) || fl__buf_puts(b, fl_response_reason(&req->res)) || fl__buf_puts(b, "\r\n");
  const fl__headers *h = &req->res.headers;
  for (size_t i = 0; !err && i < h->n; i++)
    err = fl__buf_puts(b, fl__headers_name(h, i)) || fl__buf_puts(b, ": ") ||
          fl__buf_puts(b, fl__headers_value(h, i)) || fl__buf_puts(b, "\r\n");
  if (!err && !fl__buf_puts(b, "\r\n"))
    req->trace_cb(req, FL_TRACE_RESPONSE_HEAD, b->data, b->len, req->trace_data);
}

static unsigned classify(const char *name, size_t len) {
  switch (len) {
  case 10:
    if (fl__strcaseeq(name, "Keep-Alive")) return FL__H_KEEP_ALIVE;
    if (fl__strcaseeq(name, "Set-Cookie")) return FL__H_SET_COOKIE;
    return 0;
  case 16:
    return fl__strcaseeq(name, "Content-Encoding") ? FL__H_CONTENT_ENCODING : 0;
  default:
    return 0;
  }
}

static int on_header_value_complete(llhttp_t *p) {
  fl__conn *conn = p->data;
  fl_request *req = conn->req;
  if (!req) return cb_abort(conn, FL_ECANCELED);
  uint32_t cap = conn->client->opts.max_header_count;
  if (cap && ++conn->header_count > cap) return cb_abort(conn, FL_ETOO_MANY_HEADERS);
  fl__headers *h = &req->res.headers;
  if (fl__headers_commit(h)) return cb_abort(conn, FL_ENOMEM);
  req->res.seen |= classify(fl__headers_name(h, h->n - 1), h->items[h->n - 1].name_len);
  return 0;
}

static uint64_t filesize_limit(const fl_request *req) {
  return req->max_filesize ? req->max_filesize : req->client->opts.max_filesize;
}

static int on_headers_complete(llhttp_t *p) {
  fl__conn *conn = p->data;
  fl_request *req = conn->req;
  if (!req) return cb_abort(conn, FL_ECANCELED);
  if (fl__headers_commit(&req->res.headers)) return cb_abort(conn, FL_ENOMEM);
  int status = p->status_code;
  req->res.status = status;
  req->res.http_minor = p->http_minor;
  if (status == 101) return cb_abort(conn, FL_EWEIRD_REPLY); /* we never ask to upgrade */
  if (status < 200) return 1; /* interim response: skipped at its end */
  if (req->trace_cb) trace_response_head(conn, req);
  if (req->res.seen & FL__H_SET_COOKIE) fl__client_store_cookies(conn->client, req);
  int no_body = req->head_only || status == 204 || status == 304;
  if (fl__redirect_wanted(req)) {
    /* Not the user's response: its body is counted and dropped, undecoded. */
    req->discarding = 1;
    return no_body ? 1 : 0;
  }
  if (req->headers_cb) {
    int r = req->headers_cb(req, req->headers_data);
    if (conn->req != req) return cb_abort(conn, FL_ECANCELED);
    if (r < 0) return cb_abort(conn, FL_ECALLBACK_ABORT);
  }
  if (req->save_path) {
    req->save_fd = open(req->save_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (req->save_fd < 0) {
      fl__msg(conn->errbuf, sizeof conn->errbuf, "cannot write %s: %s", req->save_path, strerror(errno));
      return cb_abort(conn, FL_EWRITE);
    }
  }
  if (no_body) return 1;
  const char *coding =
      req->res.seen & FL__H_CONTENT_ENCODING ? fl__headers_get(&req->res.headers, "Content-Encoding") : NULL;
  uint64_t limit = filesize_limit(req);
  if (coding && conn->client->opts.decompress) {
    int err = fl__decoder_init(&req->decoder, coding, limit, conn->errbuf, sizeof conn->errbuf);
    if (err) return cb_abort(conn, err);
    if (fl__decoder_is_identity(req->decoder)) {
      fl__decoder_free(req->decoder);
      req->decoder = NULL;
    }
  }
  /* A declared length over the limit fails before the body is read. */
  if (!req->decoder && limit && (p->flags & F_CONTENT_LENGTH) && p->content_length > limit)
    return cb_abort(conn, FL_EFILESIZE_EXCEEDED);
  return 0;
}

/* Decoded body bytes: to the user's callback or the buffer, within caps. */
static int deliver(void *data, const char *at, size_t n) {
  fl__conn *conn = data;
  fl_request *req = conn->req;
  req->info.bytes_received += n;
  uint64_t limit = filesize_limit(req);
  if (limit && req->info.bytes_received > limit) return FL_EFILESIZE_EXCEEDED;
  if (req->save_fd >= 0) {
    for (size_t off = 0; off < n;) {
      ssize_t w = write(req->save_fd, at + off, n - off);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        fl__msg(conn->errbuf, sizeof conn->errbuf, "cannot write %s: %s", req->save_path, strerror(errno));
        return FL_EWRITE;
      }
      off += (size_t)w;
    }
    return 0;
  }
  if (req->body_cb) {
    int r = req->body_cb(req, at, n, req->body_data);
    if (conn->req != req) return FL_ECANCELED;
    return r < 0 ? FL_ECALLBACK_ABORT : 0;
  }
  if (req->body_limit && req->res.body.len + n > req->body_limit) return FL_EBODY_TOO_LARGE;
  return fl__buf_append(&req->res.body, at, n) ? FL_ENOMEM : 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n) {
  fl__conn *conn = p->data;
  fl_request *req = conn->req;
  if (!req) return cb_abort(conn, FL_ECANCELED);
  if (req->discarding) {
    req->discarded += n;
    return req->discarded > FL__REDIRECT_DISCARD_CAP ? cb_abort(conn, FL__EREDIRECT_NOW) : 0;
  }
  int err = req->decoder ? fl__decoder_feed(req->decoder, at, n, deliver, conn) : deliver(conn, at, n);
  return err ? cb_abort(conn, err) : 0;
}

static int on_message_complete(llhttp_t *p) {
  fl__conn *conn = p->data;
  fl_request *req = conn->req;
  if (!req) return cb_abort(conn, FL_ECANCELED);
  if (req->res.status < 200) { /* 1xx done: the final response follows */
    req->res.status = 0;
    fl__headers_reset(&req->res.headers);
    fl__buf_reset(&req->res.reason);
    return 0;
  }
  if (req->decoder) {
    int err = fl__decoder_finish(req->decoder, deliver, conn);
    if (conn->req != req) return cb_abort(conn, FL_ECANCELED);
    if (err) return cb_abort(conn, err);
  }
  conn->message_done = 1;
  return HPE_PAUSED; /* stop exactly here: bytes after it mean no reuse */
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
    .on_message_complete = on_message_complete,
};

static const llhttp_settings_t *parser_settings(void) { return &settings; }

/* Keep-Alive: timeout=N, max=M (RFC 2068 19.7.1.1). max is taken as the
 * connection's total request budget, the cautious reading of the two in use. */
static void apply_keep_alive_header(fl__conn *conn, const char *v) {
  for (const char *s = v; s && *s;) {
    while (*s == ' ' || *s == ',' || *s == '\t') s++;
    if (fl__strncaseeq(s, "timeout=", 8) || fl__strncaseeq(s, "max=", 4)) {
      int is_timeout = (s[0] | 0x20) == 't';
      const char *num = strchr(s, '=') + 1;
      char *end;
      long val = strtol(num, &end, 10);
      if (end != num && val >= 0) {
        if (is_timeout) {
          /* Leave a margin so we never send into a connection the server is
           * just closing. */
          uint64_t ms = (uint64_t)val * 1000;
          ms = ms > 1000 ? ms - 500 : ms / 2;
          if (ms < conn->idle_ms) conn->idle_ms = (uint32_t)ms;
        } else {
          conn->max_requests = val > (long)UINT32_MAX ? UINT32_MAX : (uint32_t)val;
          if (val == 0) conn->max_requests = 1; /* no further request */
        }
      }
    }
    s = strchr(s, ',');
  }
}

/* The next pipelined request becomes the connection's current one. */
static void promote_next(fl__conn *conn, size_t bytes_waiting) {
  fl_request *next = fl__container_of(conn->queued.next, fl_request, pipe_node);
  fl__queue_remove(&next->pipe_node);
  conn->req = next;
  llhttp_init(&conn->parser, HTTP_RESPONSE, parser_settings());
  conn->parser.data = conn;
  conn->message_done = 0;
  conn->header_bytes = conn->header_count = 0;
  conn->response_started = bytes_waiting > 0;
  if (bytes_waiting) {
    next->info.first_byte_us = fl__now_us() - next->start_us;
    fl__request_set_state(next, FL__REQ_RECEIVING);
  }
}

/* 1: a pipelined request took over and parsing goes on; 0: exchange over. */
static int message_complete(fl__conn *conn, size_t extra) {
  fl_request *req = conn->req;
  fl_client *c = conn->client;
  if (!fl__queue_empty(&conn->queued)) {
    int server_keeps = llhttp_should_keep_alive(&conn->parser);
    conn->requests_done++;
    conn->inflight--;
    req->conn = NULL;
    fl__decoder_free(req->decoder);
    req->decoder = NULL;
    if (!server_keeps) { /* the rest go out again on a fresh connection */
      conn->req = NULL;
      fl__pool_destroy_conn(c, conn);
      fl__request_response_done(req);
      return 0;
    }
    promote_next(conn, extra);
    fl__request_response_done(req); /* its callback runs later, from the loop */
    fl__pool_pipeline_room(c, conn); /* a waiting request may take the freed place */
    return conn->state == FL__CONN_ACTIVE && conn->req;
  }
  int keep = llhttp_should_keep_alive(&conn->parser) && extra == 0;
  if (req->res.seen & FL__H_KEEP_ALIVE)
    apply_keep_alive_header(conn, fl__headers_get(&req->res.headers, "Keep-Alive"));
  conn->requests_done++;
  if (conn->max_requests && conn->requests_done >= conn->max_requests) keep = 0;
  if (conn->idle_ms == 0) keep = 0;
  conn->req = NULL;
  conn->inflight = 0;
  req->conn = NULL;
  fl__pool_release(c, conn, keep);
  fl__decoder_free(req->decoder);
  req->decoder = NULL;
  fl__request_response_done(req);
  return 0;
}

/* A bad head is a weird reply (curl's 8); bad framing inside the body, such
 * as a malformed chunk, is a receive error (curl's 56, "Malformed encoding
 * found in chunked-encoding"). */
static int map_parse_error(const fl__conn *conn, llhttp_errno_t e) {
  if (e == HPE_INVALID_STATUS) return FL_EBAD_STATUS;
  return conn->req && conn->req->res.status >= 200 ? FL_ERECV : FL_EWEIRD_REPLY;
}

/* Feed bytes to the parser. Returns 1 if the connection is still usable for
 * more reads of this exchange, 0 if the exchange ended (either way). */
static int parse(fl__conn *conn, const char *data, size_t len) {
  llhttp_errno_t e;
  for (;;) { /* once per response in these bytes (pipelining) */
    conn->cb_err = 0;
    conn->errbuf[0] = '\0';
    e = llhttp_execute(&conn->parser, data, len);
    if (e == HPE_OK) return 1;
    if (!(e == HPE_PAUSED && conn->message_done)) break;
    size_t used = (size_t)(llhttp_get_error_pos(&conn->parser) - data);
    if (!message_complete(conn, len - used)) return 0;
    data += used;
    len -= used;
    if (len == 0) return 1;
  }
  if (conn->cb_err == FL_ECANCELED || !conn->req) {
    fl__pool_destroy_conn(conn->client, conn);
    return 0;
  }
  if (conn->cb_err) {
    int err = conn->cb_err;
    switch (err) {
    case FL_EHEADER_TOO_LARGE:
      conn_fail(conn, err, "response headers exceed %u bytes", conn->client->opts.max_header_bytes);
      break;
    case FL_ETOO_MANY_HEADERS:
      conn_fail(conn, err, "response has more than %u headers", conn->client->opts.max_header_count);
      break;
    case FL_EBAD_STATUS:
      conn_fail(conn, err, "response status %d is outside 100-599", conn->parser.status_code);
      break;
    case FL_EBODY_TOO_LARGE:
      conn_fail(conn, err, "response body exceeds %llu bytes",
                (unsigned long long)conn->req->body_limit);
      break;
    case FL_ECALLBACK_ABORT:
      conn_fail(conn, err, "a response callback asked to abort");
      break;
    case FL_EWEIRD_REPLY:
      conn_fail(conn, err, "unexpected 101 Switching Protocols");
      break;
    case FL__EREDIRECT_NOW: { /* a long redirect body: drop the connection, go on */
      fl_request *req = conn->req;
      fl__pool_destroy_conn(conn->client, conn);
      fl__request_response_done(req);
      break;
    }
    case FL_EBAD_ENCODING:
      conn_fail(conn, err, "%s", conn->errbuf[0] ? conn->errbuf
                                 : conn->req->decoder ? fl__decoder_errmsg(conn->req->decoder)
                                                      : "bad content encoding");
      break;
    case FL_EWRITE:
      conn_fail(conn, err, "%s", conn->errbuf[0] ? conn->errbuf : "write error");
      break;
    case FL_EFILESIZE_EXCEEDED:
      conn_fail(conn, err, "maximum file size exceeded (%llu bytes)",
                (unsigned long long)filesize_limit(conn->req));
      break;
    default:
      conn_fail(conn, err, "%s", fl_strerror(err));
    }
    return 0;
  }
  int err = map_parse_error(conn, e);
  conn_fail(conn, err, "%s: %s (%s)",
            err == FL_ERECV ? "malformed body encoding" : "invalid response",
            llhttp_get_error_reason(&conn->parser), llhttp_errno_name(e));
  return 0;
}

static void on_eof(fl__conn *conn) {
  fl_request *req = conn->req;
  if (!conn->response_started) {
    conn_fail_early(conn, FL_EEMPTY_REPLY, "", 0);
    return;
  }
  conn->cb_err = 0;
  llhttp_errno_t e = llhttp_finish(&conn->parser);
  if (conn->message_done) {
    message_complete(conn, 0);
    return;
  }
  if (!conn->req) {
    fl__pool_destroy_conn(conn->client, conn);
    return;
  }
  if (req->res.status == 0 || e == HPE_OK)
    conn_fail(conn, FL_EWEIRD_REPLY, "connection closed in the middle of the response headers");
  else if (req->head_only)
    conn_fail(conn, FL_EWEIRD_REPLY, "connection closed during a HEAD response");
  else
    conn_fail(conn, FL_EPARTIAL_BODY, "transfer closed with outstanding body data (%llu bytes received)",
              (unsigned long long)req->info.bytes_received);
}

static void do_read(fl__conn *conn) {
  for (;;) {
    fl_request *req = conn->req;
    if (!req || req->paused) return;
    char *rbuf = conn->client->rbuf;
    ssize_t n = conn->tp->read(conn, rbuf, FL__READ_BUF_SIZE);
    if (n > 0) {
      if (!conn->response_started) {
        conn->response_started = 1;
        req->info.first_byte_us = fl__now_us() - req->start_us;
        fl__request_set_state(req, FL__REQ_RECEIVING);
      } else {
        fl__request_activity(req);
      }
      if (!parse(conn, rbuf, (size_t)n)) return;
      if ((size_t)n < FL__READ_BUF_SIZE && !tp_pending(conn)) return; /* drained: wait for epoll */
      continue;
    }
    if (n == 0) {
      on_eof(conn);
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    int e = errno;
    if (!conn->response_started) {
      conn_fail_early(conn, e == ECONNRESET ? FL_ECONN_RESET : FL_ERECV, "failed receiving from", e);
      return;
    }
    conn_fail(conn, e == ECONNRESET ? FL_ECONN_RESET : FL_ERECV,
              "failed receiving the response after %llu body bytes: %s",
              (unsigned long long)req->info.bytes_received, io_error_text(conn, e));
    return;
  }
}

/* ------------------------------------------------------------ lifecycle */

/* TLS: EPOLLOUT stays armed exactly while a blocked read or write waits for
 * it (a read that must write first would otherwise never be woken, and a
 * write interest left behind would spin the loop). */
static void tls_settle_out(fl__conn *conn) {
  int need = conn->tp->wants(conn, 0) == FL__POLLOUT || conn->tp->wants(conn, 1) == FL__POLLOUT;
  int have = (conn->io.want & FL__POLLOUT) != 0;
  if (need && !have && fl__io_start(conn->client->loop, &conn->io, FL__POLLOUT))
    conn_fail(conn, FL_ENOMEM, "out of memory");
  else if (!need && have)
    fl__io_stop(conn->client->loop, &conn->io, FL__POLLOUT);
}

static void conn_io_cb(fl_loop *loop, fl__io *io, uint32_t events) {
  FL__UNUSED(loop);
  fl__conn *conn = fl__container_of(io, fl__conn, io);
  fl_client *c = conn->client;
  fl__client_enter(c);
  if (conn->state == FL__CONN_IDLE || !conn->req) {
    /* An idle connection has nothing to say: readable means the server
     * closed it (or sent garbage). Either way it cannot be reused. */
    fl__pool_destroy_conn(c, conn);
  } else {
    uint32_t wr = FL__POLLOUT | EPOLLERR, rd = FL__POLLIN | EPOLLHUP | EPOLLERR;
    if (conn->tp->wants) { /* TLS: a write may wait to read, a read to write */
      if (conn->tp->wants(conn, 1) == FL__POLLIN) wr |= FL__POLLIN;
      if (conn->tp->wants(conn, 0) == FL__POLLOUT) rd |= FL__POLLOUT;
    }
    if ((events & wr) && conn->woff < conn->wtotal) write_some(conn);
    else if ((events & wr & ~EPOLLERR) && conn->req && streams_body(conn->req) && !conn->upload_done)
      write_some(conn);
    if (conn->state == FL__CONN_ACTIVE && conn->req && (events & rd))
      do_read(conn);
    if (conn->tp->wants && conn->state == FL__CONN_ACTIVE && conn->req) tls_settle_out(conn);
  }
  fl__client_leave(c);
}

/* A resumed request whose transport holds bytes already (TLS records read
 * ahead before the pause) gets them from the loop: epoll will not say. */
static void drain_defer_cb(fl__defer *d) {
  fl__conn *conn = fl__container_of(d, fl__conn, drain_defer);
  fl_client *c = conn->client;
  fl__client_enter(c);
  if (conn->state == FL__CONN_ACTIVE && conn->req) {
    do_read(conn);
    if (conn->tp->wants && conn->state == FL__CONN_ACTIVE && conn->req) tls_settle_out(conn);
  }
  fl__client_leave(c);
}

/* Pipelined heads queued in one loop pass (typically one per response just
 * completed) leave in one write: the server then reads them in one go too. */
static void flush_defer_cb(fl__defer *d) {
  fl__conn *conn = fl__container_of(d, fl__conn, flush_defer);
  fl_client *c = conn->client;
  fl__client_enter(c);
  if (conn->state == FL__CONN_ACTIVE && conn->req && conn->woff < conn->wtotal &&
      !(conn->io.want & FL__POLLOUT))
    write_some(conn);
  fl__client_leave(c);
}

int fl__http1_conn_init(fl__conn *conn) {
  fl_client *c = conn->client;
  fl__defer_init(&conn->drain_defer, drain_defer_cb);
  fl__defer_init(&conn->flush_defer, flush_defer_cb);
  if (conn->tp) {
    conn->io.cb = conn_io_cb; /* TLS: take over the handshake's registered watcher */
  } else {
    conn->tp = &tcp_ops;
    fl__io_init(&conn->io, conn_io_cb, conn->fd); /* before a failure: destroy closes it */
  }
  return fl__io_start(c->loop, &conn->io, FL__POLLIN);
}

void fl__http1_start(fl__conn *conn, fl_request *req) {
  conn->req = req;
  req->conn = conn;
  req->info.reused = conn->reused;
  memcpy(req->info.remote_ip, conn->remote_ip, sizeof req->info.remote_ip);
  req->info.remote_port = conn->remote_port;
  llhttp_init(&conn->parser, HTTP_RESPONSE, parser_settings());
  conn->parser.data = conn;
  conn->response_started = 0;
  conn->message_done = 0;
  conn->upload_done = 0;
  conn->upload_sent = 0;
  conn->header_bytes = conn->header_count = 0;
  fl__request_set_state(req, FL__REQ_SENDING);
  fl__buf_reset(&conn->wbuf);
  if (fl__http1_write_head(req, conn->client, &conn->wbuf)) {
    conn_fail(conn, FL_ENOMEM, "out of memory writing the request");
    return;
  }
  conn->pipeline_ok = fl__http1_pipelinable(req);
  if (req->trace_cb) req->trace_cb(req, FL_TRACE_REQUEST_HEAD, conn->wbuf.data, conn->wbuf.len, req->trace_data);
  conn->woff = 0;
  conn->wtotal = conn->wbuf.len + fixed_body_len(req);
  if (streams_body(req) && req->upload_rewind && req->upload_rewind(req)) {
    conn_fail(conn, FL_EREAD, "cannot read the request body again");
    return;
  }
  if (req->paused) fl__http1_pause(conn);
  /* With pipelining on, requests that others may follow within this loop
   * pass (completions resend in bursts) leave with them, in one write. */
  if (conn->pipeline_ok && conn->client->opts.pipeline_depth > 1)
    fl__defer_schedule(conn->client->loop, &conn->flush_defer);
  else
    write_some(conn);
}

void fl__http1_pipeline(fl__conn *conn, fl_request *req) {
  req->conn = conn;
  req->info.reused = 1;
  req->info.pipelined = 1;
  memcpy(req->info.remote_ip, conn->remote_ip, sizeof req->info.remote_ip);
  req->info.remote_port = conn->remote_port;
  fl__queue_insert_tail(&conn->queued, &req->pipe_node);
  conn->inflight++;
  if (conn->woff == conn->wtotal) { /* everything before it is out: start afresh */
    fl__buf_reset(&conn->wbuf);
    conn->woff = conn->wtotal = 0;
  }
  size_t before = conn->wbuf.len;
  if (fl__http1_write_head(req, conn->client, &conn->wbuf)) {
    fl__queue_remove(&req->pipe_node);
    conn->inflight--;
    req->conn = NULL;
    fl__request_finish(req, FL_ENOMEM, "out of memory writing the request");
    return;
  }
  if (req->trace_cb)
    req->trace_cb(req, FL_TRACE_REQUEST_HEAD, conn->wbuf.data + before, conn->wbuf.len - before,
                  req->trace_data);
  conn->wtotal = conn->wbuf.len;
  fl__request_set_state(req, FL__REQ_WAITING);
  /* Not written at once: others may join it before the loop polls again
   * (with EPOLLOUT armed, the writable event sends it anyway). */
  if (!(conn->io.want & FL__POLLOUT)) fl__defer_schedule(conn->client->loop, &conn->flush_defer);
}

void fl__http1_idle_io(fl__conn *conn) {
  /* Keep EPOLLIN armed while idle: a close by the server shows up at once. */
  fl_loop *loop = conn->client->loop;
  if (conn->io.want & FL__POLLOUT) fl__io_stop(loop, &conn->io, FL__POLLOUT);
  if (!(conn->io.want & FL__POLLIN) && fl__io_start(loop, &conn->io, FL__POLLIN))
    fl__pool_destroy_conn(conn->client, conn);
}

void fl__http1_pause(fl__conn *conn) { fl__io_stop(conn->client->loop, &conn->io, FL__POLLIN); }

void fl__http1_resume(fl__conn *conn) {
  if (fl__io_start(conn->client->loop, &conn->io, FL__POLLIN))
    conn_fail(conn, FL_ENOMEM, "out of memory");
  else if (tp_pending(conn))
    fl__defer_schedule(conn->client->loop, &conn->drain_defer);
}

