/* The engine's shared structures: client, request, response, connection,
 * pool. Data flows one way: client -> pool -> connection -> transport ->
 * reactor; completion flows back through callbacks.
 *
 * Lifetimes
 * - fl_client owns its pool, its hosts and their connections, and the
 *   resolver. Connections are destroyed by the pool only; memory of a
 *   destroyed connection is parked on client->graveyard and freed when no
 *   client code is on the stack (client->depth == 0), so a callback that
 *   frees things cannot pull memory out from under its caller.
 * - fl_request is the user's; while in flight the client links it in
 *   client->inflight and a connection may point at it (conn->req). Both
 *   links are cut before its done callback runs.
 */
#ifndef FL_CLIENT_H
#define FL_CLIENT_H

#include <llhttp.h>
#include <sys/uio.h>

#include "base/buf.h"
#include "base/common.h"
#include "net/dns.h"
#include "base/headers.h"
#include "loop/loop.h"
#include "net/tcp.h"
#include "base/url.h"

typedef struct fl__conn fl__conn;
typedef struct fl__host fl__host;
typedef struct fl__proxy fl__proxy;

/* Response headers the engine acts on, noted once while parsing so the hot
 * path skips lookups for headers that are absent. */
enum { FL__H_KEEP_ALIVE = 1, FL__H_CONTENT_ENCODING = 2, FL__H_SET_COOKIE = 4 };

struct fl_response {
  int status;
  int http_minor;
  unsigned seen; /* FL__H_* present */
  fl__headers headers;
  fl__buf reason;
  fl__buf body;
};

typedef enum fl__req_state {
  FL__REQ_IDLE = 0,   /* built or completed */
  FL__REQ_QUEUED,     /* waiting for a pool slot */
  FL__REQ_CONNECTING, /* a new connection is being made for it */
  FL__REQ_SENDING,    /* writing the request */
  FL__REQ_WAITING,    /* request sent, no response byte yet */
  FL__REQ_RECEIVING,  /* response bytes arriving */
  FL__REQ_COMPLETING, /* result decided, callback deferred */
  FL__REQ_THROTTLED,  /* waiting for a rate-limit token */
  FL__REQ_BACKOFF     /* waiting to retry under the retry policy */
} fl__req_state;

/* Default headers a request may remove. */
enum { FL__DEF_USER_AGENT = 1, FL__DEF_ACCEPT = 2 };

struct fl_request {
  /* what to send */
  char *method;
  char *url_text;
  fl__url url;
  int url_parsed; /* url matches url_text */
  fl__headers headers;
  unsigned removed_defaults;
  fl__buf body;
  int has_body;
  fl_upload_cb upload_cb;
  void *upload_data;
  int64_t upload_len;              /* -1: unknown, sent chunked; else Content-Length */
  int (*upload_rewind)(fl_request *req); /* internal bodies that can be replayed */
  fl_timeouts timeouts;
  int has_timeouts;
  fl_body_cb body_cb;
  void *body_data;
  fl_headers_cb headers_cb;
  void *headers_data;
  fl_trace_cb trace_cb;
  void *trace_data;
  uint64_t max_body;
  int retryable;
  int follow_set, follow, max_redirects; /* per-request redirect choice */
  char *auth_user, *auth_pass;           /* Basic credentials, or NULL */
  uint64_t max_filesize;
  fl_form *form;                         /* multipart body, or NULL */
  char *save_path;                       /* fl_request_save_to, or NULL */
  int save_fd;                           /* open while a body is being saved, else -1 */
  int has_retry;
  fl_retry_policy retry;
  uint64_t throttle_start_us;

  /* in flight */
  fl__req_state state;
  fl_client *client;
  fl__queue inflight_node; /* client->inflight */
  fl__queue wait_node;     /* pool waiters */
  fl__queue pipe_node;     /* conn->queued: pipelined behind conn->req */
  fl__host *host;
  fl__conn *conn;
  fl_done_cb cb;
  void *cb_data;
  fl__timer total_timer;
  fl__timer phase_timer;
  uint64_t phase_deadline; /* loop ms; lazy re-arm for read idle */
  uint32_t read_ms;
  fl__defer complete_defer;
  int want_fresh_conn;     /* retry: never take an idle connection */
  int paused;
  int head_only;           /* HEAD: no body whatever the headers say */
  uint64_t start_us;
  uint64_t body_limit;     /* effective buffered-body cap */

  /* across the hops of one send (redirects) */
  const char *hop_method;  /* method of the current hop (GET after 303) */
  int hop_drop_body;       /* a redirect turned the request into a bodiless GET */
  int stripped_auth;       /* left the first origin: credentials never sent again */
  fl__buf origin;          /* "scheme://host:port" of the first hop */
  fl__buf effective_url;
  int discarding;          /* body of a redirect we follow: counted, dropped */
  uint64_t discarded;
  struct fl__decoder *decoder;
  uint64_t decoded_total;

  /* outcome */
  int err;
  char errmsg[256];
  fl_info info;
  fl_response res;
};

/* The transport: plain TCP or TLS, same shape (wrk's sock / curl's
 * connection filters). read/write return >0 bytes, 0 for EOF (read only),
 * or -1 with errno set (EAGAIN when it would block).
 * wants and pending are NULL for TCP. wants: the event (FL__POLLIN or
 * FL__POLLOUT) the last read (writing == 0) or write that returned EAGAIN
 * waits for, 0 if that call went on (TLS may read to write, or write to
 * read). pending: 1 if bytes are buffered in the transport, readable without
 * waiting for the socket. close: also closes the fd (NULL: close(fd)). */
typedef struct fl__transport_ops {
  ssize_t (*read)(fl__conn *c, char *buf, size_t len);
  ssize_t (*writev)(fl__conn *c, const struct iovec *iov, int iovcnt);
  void (*close)(fl__conn *c);
  uint32_t (*wants)(const fl__conn *c, int writing);
  int (*pending)(const fl__conn *c);
  /* Why the last read or write failed with EPROTO (a TLS alert, a bad
   * record...), or NULL; valid until the connection is closed. */
  const char *(*failure)(const fl__conn *c);
} fl__transport_ops;

typedef enum fl__conn_state {
  FL__CONN_RESOLVING = 1,
  FL__CONN_CONNECTING,
  FL__CONN_IDLE,
  FL__CONN_ACTIVE,
  FL__CONN_DEAD
} fl__conn_state;

/* One read buffer per client, shared by its connections: the parser takes
 * every read at once and a connection keeps no unparsed bytes (bytes after a
 * complete response mean it is not reused), so 10,000 connections cost no
 * 10,000 buffers. Safe because the loop is never re-entered. */
#define FL__READ_BUF_SIZE 65536

struct fl__conn {
  fl_client *client;
  fl__host *host;
  fl__conn_state state;
  fl__queue host_node; /* host->idle while idle, host->busy otherwise */
  fl__queue lru_node;  /* pool->idle_lru while idle */
  int fd;
  fl__io io;
  const fl__transport_ops *tp;
  struct fl__tls *tls; /* https: TLS state (tls.c), freed by tp->close */
  fl__defer drain_defer; /* reads bytes the transport buffered, after a resume
                            (http1.c); cancelled by tp->close; cb is NULL
                            until the exchange set it up */
  fl__defer flush_defer; /* sends the pipelined heads appended during one loop
                            pass in one write (http1.c); cancelled when the
                            connection is destroyed */
  fl_request *req; /* current exchange, or NULL */
  fl__queue queued; /* pipelined requests written after req, in order */
  uint32_t inflight; /* req + queued */
  int pipeline_ok;   /* req may have others queued behind it */
  /* connecting: DNS and Happy Eyeballs state, freed once connected */
  struct fl__connecting *cx;
  uint64_t connect_start_us;
  /* exchange */
  llhttp_t parser;
  fl__buf wbuf;         /* serialized request head */
  size_t woff;          /* bytes of head+body already written */
  size_t wtotal;        /* head + fixed body */
  int upload_done;
  uint64_t upload_sent;  /* streamed body bytes of a known-length upload */
  int response_started; /* a byte of the response arrived */
  int message_done;
  int tunnel_sent;      /* CONNECT request written (proxy tunnel) */
  int cb_err;           /* set by a parser callback that stopped llhttp */
  char errbuf[160];     /* detail for cb_err */
  uint32_t header_bytes, header_count;
  int keep_alive;       /* decided at message completion */
  /* keep-alive accounting */
  uint32_t requests_done;
  uint32_t max_requests; /* from Keep-Alive: max=; 0 = unknown */
  uint64_t idle_expiry;  /* loop ms */
  uint32_t idle_ms;      /* from Keep-Alive: timeout=, else client's */
  fl__timer idle_timer;
  int reused;
  char remote_ip[46];
  uint16_t remote_port;
};

struct fl__host {
  fl__queue node;  /* pool->hosts */
  fl__host *hash_next; /* pool->buckets chain */
  uint32_t hash;
  char *key;       /* "scheme://host:port", + "#tls-settings-id" for https */
  char *name;      /* host name or IP literal */
  uint16_t port;
  int tls;
  fl__queue idle;  /* idle conns, most recently used first */
  fl__queue busy;  /* connecting or active conns */
  fl__conn *pipe_fill; /* pipelining: the connection being filled (the last one
                          a pipelinable request went to), or NULL; cleared
                          when it is destroyed */
  uint32_t nconns;
  uint32_t nrefs;   /* requests pointing at this host */
  const fl__proxy *proxy;   /* forward proxy the connections go to, or NULL */
  const char *connect_name; /* what we resolve and connect to: name or the proxy */
  uint16_t connect_port;
};

typedef struct fl__pool {
  fl__queue hosts;
  fl__queue idle_lru; /* idle conns of every host, oldest first */
  fl__queue waiters;  /* FIFO of requests waiting for a slot */
  uint32_t total;     /* open conns (resolving, connecting, idle, active) */
  int waking, wake_again;
  fl__host **buckets; /* hash table of hosts by key */
  size_t nbuckets, nhosts;
  fl_pool_stats stats;
} fl__pool;

struct fl_client {
  fl_loop *loop;
  fl_client_options opts;
  char *user_agent;
  char *dns_servers;
  struct fl__tls_ctx *tls; /* TLS context (tls.c); made at the first https
                              request unless a TLS file option forced it */
  fl__resolver *resolver;
  fl__pool pool;
  fl__queue inflight;
  fl__queue graveyard; /* destroyed conns awaiting free (via host_node) */
  struct fl__cookie_jar *jar; /* NULL when cookies are off */
  fl__proxy *proxy_http, *proxy_https;
  char *no_proxy;
  uint64_t rng;               /* back-off jitter */
  double tokens;              /* client-wide rate-limit bucket */
  uint64_t tokens_us;
  fl__queue throttled;        /* requests waiting for a token, oldest first */
  fl__queue buckets;          /* per-origin buckets, most recently used first */
  struct fl__bucket **bucket_slots; /* the same by origin hash (ratelimit.c), on first use */
  uint32_t nbuckets;
  fl__timer throttle_timer;
  fl__buf scratch;
  char *rbuf;                 /* FL__READ_BUF_SIZE, shared by the connections */
  int depth;           /* nesting of client code on the stack */
  int free_requested;
};

/* client.c */
void fl__client_enter(fl_client *c);
void fl__client_leave(fl_client *c); /* may free the client */
/* Decide the request's outcome now and complete it from the loop. */
void fl__request_finish(fl_request *req, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* redirect.c: the final bytes of a response arrived (connection already
 * released): follow a redirect or complete the request. */
void fl__request_response_done(fl_request *req);
/* 1 if this response (status and headers known) is a redirect we follow. */
int fl__redirect_wanted(const fl_request *req);
/* Bytes of a followed redirect's body we read before giving up the
 * connection instead. */
#define FL__REDIRECT_DISCARD_CAP 65536
/* Internal parser-callback code: stop reading a redirect body, follow now. */
#define FL__EREDIRECT_NOW (-100000)
/* Internal: a known-length upload ended early. */
#define FL_EUPLOAD_SHORT (-100001)
/* cookies.c glue: store the response's Set-Cookie headers in the jar. */
void fl__client_store_cookies(fl_client *c, fl_request *req);
/* jar.c: the client's cookie jar. The header value lives in the client's
 * scratch buffer until the next call (NULL when no cookie applies). */
int fl__client_jar_init(fl_client *c);
void fl__client_jar_free(fl_client *c);
const char *fl__client_jar_header(fl_client *c, const fl_request *req);
/* "scheme://host:port" of u into out (reset first). */
int fl__origin_of(const fl__url *u, fl__buf *out);
/* Schemes this build can fetch. */
int fl__scheme_supported(const char *scheme);

/* proxy.c */
int fl__proxy_init(fl_client *c, char *err, size_t cap);
void fl__proxy_free_all(fl_client *c);
const fl__proxy *fl__proxy_for(const fl_client *c, const fl__url *u); /* NULL: direct */
const char *fl__proxy_host(const fl__proxy *p);
uint16_t fl__proxy_port(const fl__proxy *p);
const char *fl__proxy_auth(const fl__proxy *p); /* "Basic ..." or NULL */
const char *fl__proxy_key(const fl__proxy *p);
/* retry.c: ms to wait before another attempt, or -1 for none. */
int64_t fl__retry_delay_ms(fl_request *req, int err);
/* ratelimit.c: each attempt goes through here to the pool. */
void fl__ratelimit_init(fl_client *c);
void fl__ratelimit_free(fl_client *c);
void fl__request_dispatch(fl_request *req);
/* client.c: start the next attempt after delay_ms. */
void fl__request_backoff(fl_request *req, int64_t delay_ms);

/* Pool handed req a connection (idle or freshly made). */
void fl__request_attach(fl_request *req, fl__conn *conn);
/* State change: arms the phase timer that belongs to the new state. */
void fl__request_set_state(fl_request *req, fl__req_state st);
/* Response bytes arrived: push the read-idle deadline (no timer work). */
void fl__request_activity(fl_request *req);
/* conn failed before any response byte; 1 if req was re-queued for a retry. */
int fl__request_retry(fl_request *req, fl__conn *conn);
/* fl_request_free on an in-flight request: cancel without a callback. */
void fl__request_abandon(fl_request *req);

/* pool.c */
void fl__pool_init(fl__pool *p);
/* Find a connection for req now, start one, or queue req. */
void fl__pool_acquire(fl_client *c, fl_request *req);
void fl__pool_leave_queue(fl_client *c, fl_request *req);
/* The exchange on conn ended; keep it if reusable, else destroy. */
void fl__pool_release(fl_client *c, fl__conn *conn, int reusable);
/* A connection began its first exchange or finished a pipelined response:
 * with pipelining on, requests waiting for a slot may queue behind it now
 * (they are written at the end of the loop pass, never from here). */
void fl__pool_pipeline_room(fl_client *c, fl__conn *conn);
void fl__pool_destroy_conn(fl_client *c, fl__conn *conn);
void fl__pool_close_all(fl_client *c);
void fl__pool_free_graveyard(fl_client *c);
void fl__pool_unref_host(fl_client *c, fl_request *req);

/* http1.c: the exchange on a connection */
int fl__http1_conn_init(fl__conn *conn); /* after connect: register io */
void fl__http1_start(fl__conn *conn, fl_request *req);
void fl__http1_idle_io(fl__conn *conn);  /* conn went idle */
int fl__http1_write_head(fl_request *req, fl_client *c, fl__buf *out);
void fl__http1_resume(fl__conn *conn);
/* Bodiless GET and HEAD may share a connection with others in flight. */
int fl__http1_pipelinable(const fl_request *req);
/* Queue req behind the requests in flight on conn (pipelining). */
void fl__http1_pipeline(fl__conn *conn, fl_request *req);
/* client.c: req's connection went away before its pipelined response. */
void fl__request_requeue(fl_request *req);
void fl__http1_pause(fl__conn *conn);

/* conn.c: connection setup */
void fl__conn_start_connect(fl__conn *conn, fl_request *req);
void fl__conn_cancel_connect(fl__conn *conn);

#endif
