/* canned-server: an HTTP/1.1 server that answers every request with one
 * canned response, so that a load test measures the client and not the
 * server. One thread, one epoll, edge-triggered connections registered once
 * (no epoll_ctl after accept); reads of up to 256 KiB into a shared buffer
 * until the socket is drained, every complete request in them
 * parsed (request line, the headers that frame the message, the body
 * skipped), and the answers to the whole batch written with one writev of
 * iovecs that point at the prebuilt response (one SSL_write of their copy
 * over TLS). Keep-alive by default, pipelining by construction.
 *
 *   canned-server [--port N] [--port-file FILE] [--tls CERT KEY]
 *                 [--body TEXT] [--header "Name: value"]...
 *                 [--record FILE] [--quiet]
 *
 *   --port N          listen on 127.0.0.1:N (default 0: any free port; the
 *                     port is printed on stdout and written to --port-file)
 *   --tls CERT KEY    TLS (PEM files) instead of plain TCP
 *   --body TEXT       response body (default "Hello, World!")
 *   --header H        one more response header, repeatable
 *   --record FILE     append every request to FILE as one JSON line:
 *                     {"method", "target", "version", "headers": [[name,
 *                     value], ...], "body"} (for tests; costs a write each)
 *
 * Every path answers 200 with the body, except /status/NNN (that status,
 * same body). HEAD gets the head alone. "Connection: close" (or HTTP/1.0
 * without keep-alive) closes after the answer. Requests with
 * Transfer-Encoding (no chunked bodies here), heads over 64 KiB or bodies
 * over 128 KiB get 400/431/413 and the connection is closed. SIGINT/SIGTERM
 * end it; it prints the number of requests answered on stderr. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define READ_CAP (256 * 1024) /* the shared read buffer */
#define MAX_HEAD (64 * 1024)
#define MAX_BODY (128 * 1024)
#define MAX_IOV 1024
#define MAX_PENDING (4u << 20) /* unsent output before reading stops */

/* The prebuilt answers: head (status line and headers) and body in one
 * block; HEAD sends the head part only. */
typedef struct answer {
  char *data;
  size_t head_len, len;
} answer;

enum { ANS_KEEP, ANS_CLOSE, ANS_KEEP10, ANS_KINDS };

typedef struct conn {
  int fd;
  SSL *ssl;             /* NULL: plain TCP */
  int handshaking;      /* TLS: SSL_accept not done */
  int read_wants_write; /* TLS: SSL_read asked for writability */
  int read_blocked;     /* unsent output piled up: reading waits for on_writable */
  int close_after;      /* close once the pending output is sent */
  char *stash;          /* bytes of a request not complete yet */
  size_t stash_len;
  char *out; /* output the socket did not take yet */
  size_t out_pos, out_len, out_cap;
} conn;

typedef struct server {
  int ep, lfd;
  SSL_CTX *tls;
  conn **conns; /* by fd */
  size_t nconns_cap;
  answer ans[ANS_KINDS];
  const char *body;
  size_t body_len;
  char *extra_headers; /* "Name: value\r\n"... */
  FILE *record;
  uint64_t requests;
  char *rbuf;
  struct iovec iov[MAX_IOV];
  int niov;
  char *tbuf; /* TLS: the batch's answers, copied */
  size_t tbuf_len, tbuf_cap;
} server;

static volatile sig_atomic_t stopping;
static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "canned-server: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n);
  if (!q && n) die("out of memory");
  return q;
}

static const char *reason_of(int status) {
  switch (status) {
  case 200: return "OK";
  case 201: return "Created";
  case 204: return "No Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 304: return "Not Modified";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 413: return "Content Too Large";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 503: return "Service Unavailable";
  default: return "Status";
  }
}

/* A complete answer for status with conn_hdr ("" or "Connection: ...\r\n").
 * 1xx, 204 and 304 carry no body and no Content-Length. */
static answer build_answer(const server *sv, int status, const char *conn_hdr) {
  int bodyless = status < 200 || status == 204 || status == 304;
  char head[1024];
  int n;
  if (bodyless)
    n = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\n%s%s\r\n", status, reason_of(status),
                 conn_hdr, sv->extra_headers);
  else
    n = snprintf(head, sizeof head,
                 "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nContent-Type: text/plain\r\n%s%s\r\n",
                 status, reason_of(status), sv->body_len, conn_hdr, sv->extra_headers);
  if (n < 0 || (size_t)n >= sizeof head) die("response head too long");
  answer a;
  a.head_len = (size_t)n;
  a.len = a.head_len + (bodyless ? 0 : sv->body_len);
  a.data = xrealloc(NULL, a.len + 1);
  memcpy(a.data, head, a.head_len);
  if (!bodyless) memcpy(a.data + a.head_len, sv->body, sv->body_len);
  return a;
}

/* ------------------------------------------------------------- epoll */


static void close_conn(server *sv, conn *c) {
  epoll_ctl(sv->ep, EPOLL_CTL_DEL, c->fd, NULL);
  if (c->ssl) SSL_free(c->ssl);
  close(c->fd);
  sv->conns[c->fd] = NULL;
  free(c->stash);
  free(c->out);
  free(c);
}

static void accept_all(server *sv) {
  for (;;) {
    int fd = accept4(sv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        fprintf(stderr, "canned-server: accept: %s\n", strerror(errno));
      return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if ((size_t)fd >= sv->nconns_cap) {
      size_t cap = sv->nconns_cap ? sv->nconns_cap : 1024;
      while (cap <= (size_t)fd) cap *= 2;
      sv->conns = xrealloc(sv->conns, cap * sizeof *sv->conns);
      memset(sv->conns + sv->nconns_cap, 0, (cap - sv->nconns_cap) * sizeof *sv->conns);
      sv->nconns_cap = cap;
    }
    conn *c = calloc(1, sizeof *c);
    if (!c) die("out of memory");
    c->fd = fd;
    if (sv->tls) {
      c->ssl = SSL_new(sv->tls);
      if (!c->ssl || !SSL_set_fd(c->ssl, fd)) die("SSL_new failed");
      c->handshaking = 1;
    }
    sv->conns[fd] = c;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.fd = fd};
    if (epoll_ctl(sv->ep, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl add: %s", strerror(errno));
  }
}

/* ------------------------------------------------------------ output */

/* Append n bytes at p to a growing buffer (first size: first_cap). */
static void append_to(char **buf, size_t *len, size_t *cap, size_t first_cap, const char *p,
                      size_t n) {
  if (*len + n > *cap) {
    size_t c = *cap ? *cap : first_cap;
    while (c < *len + n) c *= 2;
    *buf = xrealloc(*buf, c);
    *cap = c;
  }
  memcpy(*buf + *len, p, n);
  *len += n;
}

static void out_append(conn *c, const char *p, size_t n) {
  if (c->out_pos == c->out_len) c->out_pos = c->out_len = 0;
  append_to(&c->out, &c->out_len, &c->out_cap, 4096, p, n);
}

/* Write what is pending in c->out. 0, or -1 when the connection is gone. */
static int flush_out(server *sv, conn *c) {
  (void)sv;
  while (c->out_pos < c->out_len) {
    size_t left = c->out_len - c->out_pos;
    if (c->ssl) {
      ERR_clear_error();
      int n = SSL_write(c->ssl, c->out + c->out_pos, left > INT_MAX ? INT_MAX : (int)left);
      if (n <= 0) {
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) return 0; /* the next edge */
        return -1;
      }
      c->out_pos += (size_t)n;
    } else {
      ssize_t n = write(c->fd, c->out + c->out_pos, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        return -1;
      }
      c->out_pos += (size_t)n;
    }
  }
  c->out_pos = c->out_len = 0;
  return 0;
}

/* Queue n bytes at p (which stays valid until send_batch) for c. */
static void queue(server *sv, conn *c, const char *p, size_t n) {
  if (c->ssl) {
    append_to(&sv->tbuf, &sv->tbuf_len, &sv->tbuf_cap, 65536, p, n);
    return;
  }
  if (c->out_len > c->out_pos) { /* behind earlier output: keep the order */
    out_append(c, p, n);
    return;
  }
  if (sv->niov == MAX_IOV) { /* a huge batch: write what we have first */
    for (int i = 0; i < sv->niov; i++) out_append(c, sv->iov[i].iov_base, sv->iov[i].iov_len);
    sv->niov = 0;
    out_append(c, p, n);
    return;
  }
  sv->iov[sv->niov].iov_base = (void *)p;
  sv->iov[sv->niov].iov_len = n;
  sv->niov++;
}

/* Send the batch queued for c: one writev (plain) or one SSL_write (TLS);
 * what the socket does not take is copied to c->out. 0 or -1 (gone). */
static int send_batch(server *sv, conn *c) {
  if (c->ssl) {
    if (!sv->tbuf_len) return flush_out(sv, c);
    if (c->out_len > c->out_pos) {
      out_append(c, sv->tbuf, sv->tbuf_len);
      sv->tbuf_len = 0;
      return flush_out(sv, c);
    }
    ERR_clear_error();
    int n = SSL_write(c->ssl, sv->tbuf, (int)sv->tbuf_len);
    size_t done = 0;
    if (n > 0) {
      done = (size_t)n;
    } else {
      int e = SSL_get_error(c->ssl, n);
      if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) {
        sv->tbuf_len = 0;
        return -1;
      }
    }
    if (done < sv->tbuf_len) out_append(c, sv->tbuf + done, sv->tbuf_len - done);
    sv->tbuf_len = 0;
    return 0;
  }
  if (!sv->niov) return flush_out(sv, c);
  size_t total = 0;
  for (int i = 0; i < sv->niov; i++) total += sv->iov[i].iov_len;
  ssize_t n;
  do n = writev(c->fd, sv->iov, sv->niov);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
    sv->niov = 0;
    return -1;
  }
  size_t done = n > 0 ? (size_t)n : 0;
  if (done < total) { /* keep the rest, in order */
    size_t skip = done;
    for (int i = 0; i < sv->niov; i++) {
      size_t len = sv->iov[i].iov_len;
      if (skip >= len) {
        skip -= len;
        continue;
      }
      out_append(c, (const char *)sv->iov[i].iov_base + skip, len - skip);
      skip = 0;
    }
  }
  sv->niov = 0;
  (void)total;
  return 0;
}

/* ----------------------------------------------------------- requests */

static void json_str(FILE *f, const char *p, size_t n) {
  fputc('"', f);
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)p[i];
    if (ch == '"' || ch == '\\')
      fprintf(f, "\\%c", ch);
    else if (ch < 0x20 || ch >= 0x7f)
      fprintf(f, "\\u%04x", ch);
    else
      fputc(ch, f);
  }
  fputc('"', f);
}

/* --record: the request as one JSON line. */
static void record(server *sv, const char *method, size_t mlen, const char *target, size_t tlen,
                   const char *version, size_t vlen, const char *hdrs, const char *hdrs_end,
                   const char *body, size_t blen) {
  FILE *f = sv->record;
  fputs("{\"method\": ", f);
  json_str(f, method, mlen);
  fputs(", \"target\": ", f);
  json_str(f, target, tlen);
  fputs(", \"version\": ", f);
  json_str(f, version, vlen);
  fputs(", \"headers\": [", f);
  int first = 1;
  for (const char *p = hdrs; p < hdrs_end;) {
    const char *eol = memmem(p, (size_t)(hdrs_end - p), "\r\n", 2);
    if (!eol) eol = hdrs_end;
    const char *colon = memchr(p, ':', (size_t)(eol - p));
    if (colon) {
      const char *v = colon + 1;
      while (v < eol && (*v == ' ' || *v == '\t')) v++;
      const char *ve = eol;
      while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
      fputs(first ? "[" : ", [", f);
      json_str(f, p, (size_t)(colon - p));
      fputs(", ", f);
      json_str(f, v, (size_t)(ve - v));
      fputc(']', f);
      first = 0;
    }
    p = eol + 2;
  }
  fputs("], \"body\": ", f);
  json_str(f, body, blen);
  fputs("}\n", f);
  fflush(f);
}

static int name_is(const char *p, size_t n, const char *name, size_t name_len) {
  return n == name_len && !strncasecmp(p, name, name_len);
}

/* The value of a header line [p, eol) whose name has name_len letters. */
static const char *value_of(const char *p, const char *eol, size_t name_len, size_t *len) {
  const char *v = p + name_len + 1;
  while (v < eol && (*v == ' ' || *v == '\t')) v++;
  const char *e = eol;
  while (e > v && (e[-1] == ' ' || e[-1] == '\t')) e--;
  *len = (size_t)(e - v);
  return v;
}

static int has_token(const char *v, size_t n, const char *tok) {
  size_t tl = strlen(tok);
  for (size_t i = 0; i + tl <= n; i++)
    if (!strncasecmp(v + i, tok, tl)) return 1;
  return 0;
}

/* Move the answers queued for c (iovecs or the TLS copy) to c->out, so
 * that what follows goes out after them. */
static void unqueue(server *sv, conn *c) {
  for (int i = 0; i < sv->niov; i++) out_append(c, sv->iov[i].iov_base, sv->iov[i].iov_len);
  sv->niov = 0;
  if (sv->tbuf_len) out_append(c, sv->tbuf, sv->tbuf_len);
  sv->tbuf_len = 0;
}

/* An error answer, then close. */
static void refuse(server *sv, conn *c, int status) {
  answer a = build_answer(sv, status, "Connection: close\r\n");
  unqueue(sv, c);
  out_append(c, a.data, a.len);
  free(a.data);
  c->close_after = 1;
}

/* Parse and answer every complete request in [buf, buf + len). Returns the
 * bytes consumed; sets c->close_after when the connection must close. */
static size_t serve(server *sv, conn *c, char *buf, size_t len) {
  size_t pos = 0;
  while (pos < len && !c->close_after) {
    char *p = buf + pos, *end = buf + len;
    char *head_end = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
    if (!head_end) {
      if ((size_t)(end - p) > MAX_HEAD) refuse(sv, c, 431);
      break;
    }
    /* Request line: METHOD SP TARGET SP HTTP/1.x */
    char *eol = memmem(p, (size_t)(head_end + 2 - p), "\r\n", 2);
    char *sp1 = memchr(p, ' ', (size_t)(eol - p));
    char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    if (!sp1 || !sp2 || sp1 == p || sp2 == sp1 + 1 || eol - sp2 - 1 != 8 ||
        memcmp(sp2 + 1, "HTTP/1.", 7)) {
      refuse(sv, c, 400);
      break;
    }
    int http10 = sp2[8] == '0';
    size_t body_len = 0;
    int conn_close = 0, conn_keep = 0, bad = 0;
    char *hdrs = eol + 2;
    for (char *h = hdrs; h < head_end + 2;) {
      char *le = memmem(h, (size_t)(head_end + 2 - h), "\r\n", 2);
      size_t n = (size_t)(le - h), vlen;
      char *colon = memchr(h, ':', n);
      if (colon) {
        size_t nl = (size_t)(colon - h);
        if (name_is(h, nl, "content-length", 14)) {
          const char *v = value_of(h, le, nl, &vlen);
          size_t cl = 0;
          for (size_t i = 0; i < vlen; i++) {
            if (v[i] < '0' || v[i] > '9' || cl > MAX_BODY) {
              bad = 400;
              break;
            }
            cl = cl * 10 + (size_t)(v[i] - '0');
          }
          if (!vlen) bad = 400;
          body_len = cl;
        } else if (name_is(h, nl, "connection", 10)) {
          const char *v = value_of(h, le, nl, &vlen);
          if (has_token(v, vlen, "close")) conn_close = 1;
          if (has_token(v, vlen, "keep-alive")) conn_keep = 1;
        } else if (name_is(h, nl, "transfer-encoding", 17)) {
          bad = 400;
        }
      }
      h = le + 2;
    }
    if (!bad && body_len > MAX_BODY) bad = 413;
    if (bad) {
      refuse(sv, c, bad);
      break;
    }
    char *body = head_end + 4;
    if ((size_t)(end - body) < body_len) break; /* the body is not all here */
    pos = (size_t)(body + body_len - buf);
    sv->requests++;
    if (sv->record)
      record(sv, p, (size_t)(sp1 - p), sp1 + 1, (size_t)(sp2 - sp1 - 1), sp2 + 1, 8, hdrs, head_end,
             body, body_len);

    int close = conn_close || (http10 && !conn_keep);
    int kind = close ? ANS_CLOSE : http10 ? ANS_KEEP10 : ANS_KEEP;
    int is_head = sp1 - p == 4 && !memcmp(p, "HEAD", 4);
    if (sp2 - sp1 - 1 >= 11 && !memcmp(sp1 + 1, "/status/", 8)) {
      int st = 0;
      for (char *d = sp1 + 9; d < sp1 + 12; d++)
        st = *d >= '0' && *d <= '9' ? st * 10 + (*d - '0') : -1000;
      if (st >= 100 && st <= 599) {
        answer a = build_answer(sv, st,
                                kind == ANS_CLOSE    ? "Connection: close\r\n"
                                : kind == ANS_KEEP10 ? "Connection: keep-alive\r\n"
                                                     : "");
        unqueue(sv, c); /* rare path: through the copied output, in order */
        out_append(c, a.data, is_head ? a.head_len : a.len);
        free(a.data);
        if (close) c->close_after = 1;
        continue;
      }
    }
    const answer *a = &sv->ans[kind];
    queue(sv, c, a->data, is_head ? a->head_len : a->len);
    if (close) c->close_after = 1;
  }
  return pos;
}

/* ------------------------------------------------------------- events
 * Connections are edge-triggered, registered once for input and output
 * (never changed with epoll_ctl): each readable edge is read until the
 * socket is drained, each writable edge flushes what is pending. */

/* Read what the socket holds (TLS: until the records run out), serve it,
 * send the answers; again while a full buffer says there may be more. */
static void on_readable(server *sv, conn *c) {
  char *buf = sv->rbuf;
  for (;;) {
    size_t have = 0;
    if (c->stash_len) {
      memcpy(buf, c->stash, c->stash_len);
      have = c->stash_len;
      c->stash_len = 0;
    }
    int eof = 0, failed = 0, drained = 0;
    while (have < READ_CAP) {
      size_t room = READ_CAP - have;
      if (c->ssl) {
        ERR_clear_error();
        int n = SSL_read(c->ssl, buf + have, room > INT_MAX ? INT_MAX : (int)room);
        if (n > 0) {
          have += (size_t)n;
          continue;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ)
          drained = 1;
        else if (e == SSL_ERROR_WANT_WRITE)
          drained = c->read_wants_write = 1;
        else if (e == SSL_ERROR_ZERO_RETURN)
          eof = 1;
        else
          failed = 1;
        break;
      }
      ssize_t n = read(c->fd, buf + have, room);
      if (n > 0) {
        have += (size_t)n;
        if ((size_t)n < room) drained = 1; /* a short read: nothing more for now */
        if (drained) break;
        continue;
      }
      if (n == 0)
        eof = 1;
      else if (errno == EINTR)
        continue;
      else if (errno == EAGAIN || errno == EWOULDBLOCK)
        drained = 1;
      else
        failed = 1;
      break;
    }
    if (failed) {
      close_conn(sv, c);
      return;
    }
    size_t used = serve(sv, c, buf, have);
    if (send_batch(sv, c) != 0) {
      close_conn(sv, c);
      return;
    }
    if (used < have && !c->close_after) {
      c->stash = xrealloc(c->stash, have - used);
      memcpy(c->stash, buf + used, have - used);
      c->stash_len = have - used;
    }
    if (eof) c->close_after = 1; /* the peer is done sending: answer what it sent, then close */
    if (c->close_after) {
      if (c->out_pos == c->out_len) close_conn(sv, c);
      return; /* else closed once the output is out (on_writable) */
    }
    if (c->out_len - c->out_pos >= MAX_PENDING) {
      c->read_blocked = 1; /* the peer does not read: on_writable resumes */
      return;
    }
    if (drained) return;
  }
}

static void on_writable(server *sv, conn *c) {
  if (flush_out(sv, c) != 0 || (c->close_after && c->out_pos == c->out_len)) {
    close_conn(sv, c);
    return;
  }
  int resume = (c->read_blocked && c->out_len - c->out_pos < MAX_PENDING) || c->read_wants_write;
  if (resume) {
    c->read_blocked = c->read_wants_write = 0;
    on_readable(sv, c);
  }
}

static void handshake(server *sv, conn *c) {
  ERR_clear_error();
  int r = SSL_accept(c->ssl);
  if (r == 1) {
    c->handshaking = 0;
    on_readable(sv, c); /* data may have come with the last flight */
    return;
  }
  int e = SSL_get_error(c->ssl, r);
  if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) close_conn(sv, c);
  /* else the next edge, either way, comes back here */
}

static void on_event(server *sv, int fd, uint32_t ev) {
  if (fd == sv->lfd) {
    accept_all(sv);
    return;
  }
  conn *c = (size_t)fd < sv->nconns_cap ? sv->conns[fd] : NULL;
  if (!c) return; /* closed earlier in this batch */
  if (c->handshaking) {
    handshake(sv, c);
    return;
  }
  if (ev & EPOLLOUT) {
    on_writable(sv, c);
    if ((size_t)fd >= sv->nconns_cap || sv->conns[fd] != c) return;
  }
  if (c->close_after && (ev & (EPOLLERR | EPOLLHUP))) { /* gone before its answers */
    close_conn(sv, c);
    return;
  }
  if ((ev & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) && !c->read_blocked &&
      !c->read_wants_write && !c->close_after)
    on_readable(sv, c);
}

/* --------------------------------------------------------------- main */

static void usage(void) {
  fprintf(stderr,
          "usage: canned-server [--port N] [--port-file FILE] [--tls CERT KEY] [--body TEXT]\n"
          "                     [--header \"Name: value\"]... [--record FILE] [--quiet]\n");
  exit(2);
}

int main(int argc, char **argv) {
  server sv;
  memset(&sv, 0, sizeof sv);
  const char *port_file = NULL, *cert = NULL, *key = NULL, *record_path = NULL;
  int port = 0, quiet = 0;
  sv.body = "Hello, World!";
  size_t extra_len = 0;
  sv.extra_headers = xrealloc(NULL, 1);
  sv.extra_headers[0] = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--port") && i + 1 < argc)
      port = atoi(argv[++i]);
    else if (!strcmp(a, "--port-file") && i + 1 < argc)
      port_file = argv[++i];
    else if (!strcmp(a, "--tls") && i + 2 < argc) {
      cert = argv[++i];
      key = argv[++i];
    } else if (!strcmp(a, "--body") && i + 1 < argc)
      sv.body = argv[++i];
    else if (!strcmp(a, "--record") && i + 1 < argc)
      record_path = argv[++i];
    else if (!strcmp(a, "--quiet"))
      quiet = 1;
    else if (!strcmp(a, "--header") && i + 1 < argc) {
      const char *h = argv[++i];
      if (!strchr(h, ':') || strpbrk(h, "\r\n")) die("bad header '%s'", h);
      size_t n = strlen(h);
      sv.extra_headers = xrealloc(sv.extra_headers, extra_len + n + 3);
      memcpy(sv.extra_headers + extra_len, h, n);
      memcpy(sv.extra_headers + extra_len + n, "\r\n", 3);
      extra_len += n + 2;
    } else
      usage();
  }
  if (port < 0 || port > 65535) usage();
  sv.body_len = strlen(sv.body);
  sv.ans[ANS_KEEP] = build_answer(&sv, 200, "");
  sv.ans[ANS_CLOSE] = build_answer(&sv, 200, "Connection: close\r\n");
  sv.ans[ANS_KEEP10] = build_answer(&sv, 200, "Connection: keep-alive\r\n");
  sv.rbuf = xrealloc(NULL, READ_CAP);
  if (record_path && !(sv.record = fopen(record_path, "a")))
    die("%s: %s", record_path, strerror(errno));

  if (cert) {
    sv.tls = SSL_CTX_new(TLS_server_method());
    if (!sv.tls || SSL_CTX_use_certificate_chain_file(sv.tls, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(sv.tls, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(sv.tls) != 1) {
      ERR_print_errors_fp(stderr);
      die("cannot load %s / %s", cert, key);
    }
    SSL_CTX_set_mode(sv.tls, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_session_cache_mode(sv.tls, SSL_SESS_CACHE_SERVER);
  }

  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  sv.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (sv.lfd < 0) die("socket: %s", strerror(errno));
  int one = 1;
  setsockopt(sv.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(sv.lfd, (struct sockaddr *)&addr, sizeof addr) != 0)
    die("bind port %d: %s", port, strerror(errno));
  if (listen(sv.lfd, 4096) != 0) die("listen: %s", strerror(errno));
  socklen_t alen = sizeof addr;
  getsockname(sv.lfd, (struct sockaddr *)&addr, &alen);
  port = ntohs(addr.sin_port);

  sv.ep = epoll_create1(EPOLL_CLOEXEC);
  if (sv.ep < 0) die("epoll_create1: %s", strerror(errno));
  struct epoll_event lev = {.events = EPOLLIN, .data.fd = sv.lfd};
  if (epoll_ctl(sv.ep, EPOLL_CTL_ADD, sv.lfd, &lev) != 0) die("epoll_ctl: %s", strerror(errno));

  if (port_file) { /* written whole, then renamed: readers never see half */
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 || rename(tmp, port_file) != 0)
      die("%s: %s", port_file, strerror(errno));
  }
  if (!quiet) {
    printf("%d\n", port);
    fflush(stdout);
  }

  struct epoll_event evs[512];
  while (!stopping) {
    int n = epoll_wait(sv.ep, evs, 512, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait: %s", strerror(errno));
    }
    for (int i = 0; i < n; i++) on_event(&sv, evs[i].data.fd, evs[i].events);
  }

  for (size_t fd = 0; fd < sv.nconns_cap; fd++)
    if (sv.conns[fd]) close_conn(&sv, sv.conns[fd]);
  free(sv.conns);
  close(sv.ep);
  close(sv.lfd);
  if (sv.tls) SSL_CTX_free(sv.tls);
  if (sv.record) fclose(sv.record);
  for (int k = 0; k < ANS_KINDS; k++) free(sv.ans[k].data);
  free(sv.rbuf);
  free(sv.tbuf);
  free(sv.extra_headers);
  if (!quiet)
    fprintf(stderr, "canned-server: %llu requests answered\n", (unsigned long long)sv.requests);
  return 0;
}
