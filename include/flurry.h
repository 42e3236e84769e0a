/* flurry: an asynchronous HTTP/1.1 client library for Linux.
 *
 * Model
 * -----
 * One fl_loop per thread (epoll reactor; the library starts no threads).
 * An fl_client is a session on one loop: connection pool, DNS resolver and
 * cache, defaults, limits and timeouts. An fl_request is built, then sent on
 * a client; it completes exactly once through its callback, never from inside
 * the call that started it. Its fl_response (status, headers, body, facts)
 * lives inside the request.
 *
 * Ownership and lifetimes
 * -----------------------
 * - Whoever calls *_new calls the matching *_free. Nothing here takes
 *   ownership of an object passed to it unless it says so.
 * - fl_loop: freed only after every client on it was freed.
 * - fl_client: may be freed at any time, also from inside a callback. Freeing
 *   it cancels every request in flight: each completes with FL_ECANCELED,
 *   from inside fl_client_free.
 * - fl_request: owned by its creator. While in flight it must not be freed
 *   except by fl_request_free, which cancels it silently (no callback).
 *   After completion it may be inspected, freed, or sent again (buffers are
 *   reused, so a resent request does not allocate in steady state).
 * - fl_response: owned by its request; valid until the request is freed or
 *   sent again. Pointers returned by getters (headers, body) share that
 *   lifetime.
 * - Strings passed in are copied unless a function says otherwise.
 * - Pointers passed to streaming callbacks (body chunks) are borrowed: valid
 *   only during the call.
 *
 * Errors
 * ------
 * Functions return 0 or a negative fl_err. fl_strerror() names the failure;
 * fl_err_curl_code() gives the matching curl exit code; the per-request
 * detail message is fl_request_errmsg().
 */
#ifndef FLURRY_H
#define FLURRY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(FL_BUILDING_LIBRARY)
#define FL_EXPORT __attribute__((visibility("default")))
#else
#define FL_EXPORT
#endif

#define FL_VERSION_MAJOR 0
#define FL_VERSION_MINOR 1
#define FL_VERSION_PATCH 0
#define FL_VERSION_STRING "0.1.0"

FL_EXPORT const char *fl_version(void);
/* "flurry/0.1.0 OpenSSL/3.0.x c-ares/1.18.1 llhttp/8.1.0 zlib/1.2.13" */
FL_EXPORT const char *fl_version_details(void);

/* ------------------------------------------------------------------ errors
 * X(NAME, value, curl exit code, message). Codes whose value is the negated
 * curl code are the primary ones; refinements (a distinct cause that curl
 * folds into one code) live at -1000 and below and map to curl's code. */
#define FL_ERRNO_MAP(X)                                                              \
  X(UNSUPPORTED_PROTOCOL, -1, 1, "unsupported protocol")                             \
  X(INVAL, -2, 2, "invalid argument")                                                \
  X(URL_MALFORMAT, -3, 3, "malformed URL")                                           \
  X(RESOLVE, -6, 6, "could not resolve host: name not found")                        \
  X(CONNECT, -7, 7, "could not connect")                                             \
  X(WEIRD_REPLY, -8, 8, "weird server reply")                                        \
  X(PARTIAL_BODY, -18, 18, "transfer closed with outstanding body data")             \
  X(HTTP_ERROR, -22, 22, "HTTP error status")                                        \
  X(WRITE, -23, 23, "write error")                                                   \
  X(READ, -26, 26, "read error")                                                     \
  X(NOMEM, -27, 27, "out of memory")                                                 \
  X(TIMEOUT, -28, 28, "operation timed out")                                         \
  X(TLS_HANDSHAKE, -35, 35, "TLS handshake failed")                                  \
  X(CANCELED, -42, 42, "request canceled")                                           \
  X(BAD_ARGUMENT, -43, 43, "bad argument")                                           \
  X(TOO_MANY_REDIRECTS, -47, 47, "too many redirects")                               \
  X(EMPTY_REPLY, -52, 52, "empty reply from server")                                 \
  X(SEND, -55, 55, "failed sending data to the peer")                                \
  X(RECV, -56, 56, "failure receiving data from the peer")                           \
  X(CERT_VERIFY, -60, 60, "peer certificate could not be verified")                  \
  X(BAD_ENCODING, -61, 61, "unrecognized or bad content encoding")                   \
  X(FILESIZE_EXCEEDED, -63, 63, "maximum file size exceeded")                        \
  X(DNS_SERVER_FAIL, -1001, 6, "could not resolve host: DNS server failure")         \
  X(DNS_TIMEOUT, -1002, 28, "could not resolve host: DNS timeout")                   \
  X(CONN_REFUSED, -1003, 7, "connection refused")                                    \
  X(HOST_UNREACH, -1004, 7, "host or network unreachable")                           \
  X(CONNECT_TIMEOUT, -1005, 28, "connection timed out")                              \
  X(POOL_TIMEOUT, -1006, 28, "timed out waiting for a pooled connection")            \
  X(FIRST_BYTE_TIMEOUT, -1007, 28, "timed out waiting for the response")             \
  X(READ_TIMEOUT, -1008, 28, "read timed out (connection idle)")                     \
  X(HEADER_TOO_LARGE, -1009, 8, "response headers too large")                        \
  X(TOO_MANY_HEADERS, -1010, 8, "too many response headers")                         \
  X(BAD_STATUS, -1011, 8, "response status out of range")                            \
  X(CONN_RESET, -1012, 56, "connection reset by peer")                               \
  X(BODY_TOO_LARGE, -1013, 63, "response body exceeds the buffer limit")             \
  X(BAD_HEADER, -1014, 43, "control character in request method, URL or header")    \
  X(CALLBACK_ABORT, -1015, 42, "aborted by callback")

typedef enum fl_err {
  FL_OK = 0,
#define FL__ERR_ENUM(name, val, curl, msg) FL_E##name = (val),
  FL_ERRNO_MAP(FL__ERR_ENUM)
#undef FL__ERR_ENUM
} fl_err;

FL_EXPORT const char *fl_strerror(int err);  /* never NULL */
FL_EXPORT const char *fl_err_name(int err);  /* "FL_ECONNECT"; never NULL */
FL_EXPORT int fl_err_curl_code(int err);     /* 0 for FL_OK */

/* -------------------------------------------------------------------- loop */
typedef struct fl_loop fl_loop;

typedef enum fl_run_mode {
  FL_RUN_DEFAULT = 0, /* until nothing keeps the loop alive, or fl_loop_stop */
  FL_RUN_ONCE,        /* one iteration, waiting for events if there is work */
  FL_RUN_NOWAIT       /* one iteration, no waiting */
} fl_run_mode;

FL_EXPORT fl_loop *fl_loop_new(void);
/* Returns FL_EBUSY-like FL_EINVAL if clients or timers still use it. */
FL_EXPORT int fl_loop_free(fl_loop *loop);
/* Returns 0 when the loop has nothing left to do, 1 if it still has. */
FL_EXPORT int fl_loop_run(fl_loop *loop, fl_run_mode mode);
FL_EXPORT void fl_loop_stop(fl_loop *loop);
/* Thread-safe: queue cb(data) to run on the loop's thread and wake it.
 * The only fl_ function that may be called from another thread. Returns
 * FL_ENOMEM or 0. Posted callbacks still queued when the loop is freed run
 * from fl_loop_free. */
FL_EXPORT int fl_loop_post(fl_loop *loop, void (*cb)(void *data), void *data);
/* Keep fl_loop_run(FL_RUN_DEFAULT) running while a ref is held (e.g. while
 * other threads may post). Loop thread only. */
FL_EXPORT void fl_loop_ref(fl_loop *loop);
FL_EXPORT void fl_loop_unref(fl_loop *loop);
/* Loop time in milliseconds (monotonic), cached once per iteration. */
FL_EXPORT uint64_t fl_loop_now(const fl_loop *loop);

/* User timers: one-shot or repeating, on the loop's timer heap. */
typedef struct fl_timer fl_timer;
typedef void (*fl_timer_cb)(fl_timer *timer, void *data);
FL_EXPORT fl_timer *fl_timer_new(fl_loop *loop);
FL_EXPORT int fl_timer_start(fl_timer *timer, uint64_t timeout_ms, uint64_t repeat_ms,
                             fl_timer_cb cb, void *data);
FL_EXPORT void fl_timer_stop(fl_timer *timer);
FL_EXPORT void fl_timer_free(fl_timer *timer); /* stops it; safe inside its cb */

/* ---------------------------------------------------------------- timeouts
 * Each in milliseconds, 0 = no limit; each has one meaning. */
typedef struct fl_timeouts {
  uint32_t pool_ms;       /* waiting for a connection slot in the pool */
  uint32_t connect_ms;    /* DNS + TCP (+TLS) connect of a new connection */
  uint32_t first_byte_ms; /* request fully sent -> first response byte */
  uint32_t read_ms;       /* longest silence while receiving the response */
  uint32_t total_ms;      /* whole request, queueing included */
} fl_timeouts;

/* ------------------------------------------------------------------ client */
typedef struct fl_client fl_client;

typedef struct fl_client_options {
  uint32_t max_connections;          /* total; default 100; 0 = unlimited */
  uint32_t max_connections_per_host; /* default 0 = unlimited */
  uint32_t idle_timeout_ms;          /* keep-alive expiry; default 15000 */
  fl_timeouts timeouts;              /* defaults for requests; connect 30000 */
  uint32_t max_header_bytes;         /* response header cap; default 65536 */
  uint32_t max_header_count;         /* default 200 */
  uint64_t max_body_bytes;           /* buffered body cap; default 64 MiB */
  const char *user_agent;            /* default "flurry/VERSION" */
  /* DNS */
  const char *dns_servers;           /* "ip[:port],[ipv6]:port"; NULL = system */
  const char *const *resolve;        /* NULL-terminated "host:port:addr[,addr]" */
  uint32_t dns_timeout_ms;           /* whole lookup; default 5000 */
  uint32_t dns_ttl_min_ms;           /* cache clamp; default 1000 */
  uint32_t dns_ttl_max_ms;           /* default 300000; 0 disables the cache */
  uint32_t dns_negative_ttl_ms;      /* default 2000 */
  uint32_t happy_eyeballs_delay_ms;  /* default 250 */
} fl_client_options;

FL_EXPORT void fl_client_options_init(fl_client_options *opts);
/* opts may be NULL for defaults; they are copied. NULL on bad options/OOM. */
FL_EXPORT fl_client *fl_client_new(fl_loop *loop, const fl_client_options *opts);
FL_EXPORT void fl_client_free(fl_client *client);
FL_EXPORT fl_loop *fl_client_loop(const fl_client *client);

typedef struct fl_pool_stats {
  uint32_t open;       /* connections open (connecting, idle or in use) */
  uint32_t idle;
  uint32_t in_use;
  uint32_t connecting;
  uint32_t waiting;    /* requests queued for a slot */
  uint64_t created;    /* connections ever opened */
  uint64_t reused;     /* requests served by a reused connection */
} fl_pool_stats;
FL_EXPORT void fl_client_pool_stats(const fl_client *client, fl_pool_stats *out);

/* ----------------------------------------------------------------- request */
typedef struct fl_request fl_request;
typedef struct fl_response fl_response;

/* err is 0 with a response (any HTTP status), or a negative fl_err.
 * The request may be freed or resent from inside the callback. */
typedef void (*fl_done_cb)(fl_request *req, int err, void *data);
/* Streaming body: called per decoded chunk; return 0 to go on, or a
 * negative value to abort the request (it completes with FL_ECALLBACK_ABORT).
 * The request may be paused from inside. */
typedef int (*fl_body_cb)(fl_request *req, const char *chunk, size_t len, void *data);
/* Headers arrived (status and headers readable); same return convention. */
typedef int (*fl_headers_cb)(fl_request *req, void *data);
/* Streaming upload: fill buf with up to cap bytes; return bytes written,
 * 0 at the end, or a negative value to abort (FL_EREAD). Sent chunked. */
typedef long (*fl_upload_cb)(fl_request *req, char *buf, size_t cap, void *data);

/* NULL on OOM. The URL is parsed at send time (errors come from send). */
FL_EXPORT fl_request *fl_request_new(const char *method, const char *url);
FL_EXPORT void fl_request_free(fl_request *req);
FL_EXPORT int fl_request_set_url(fl_request *req, const char *url);
FL_EXPORT int fl_request_set_method(fl_request *req, const char *method);
/* Replace every header of that name (also a default such as User-Agent). */
FL_EXPORT int fl_request_set_header(fl_request *req, const char *name, const char *value);
/* Add one more header line, keeping others of that name. */
FL_EXPORT int fl_request_add_header(fl_request *req, const char *name, const char *value);
/* Remove every header of that name, defaults included (Host excepted). */
FL_EXPORT int fl_request_remove_header(fl_request *req, const char *name);
/* Body from memory, copied; sent with Content-Length. */
FL_EXPORT int fl_request_set_body(fl_request *req, const void *body, size_t len);
/* Body streamed from a callback with chunked transfer encoding. */
FL_EXPORT int fl_request_set_upload(fl_request *req, fl_upload_cb cb, void *data);
FL_EXPORT void fl_request_set_timeouts(fl_request *req, const fl_timeouts *t);
/* Stream the body instead of buffering it. */
FL_EXPORT void fl_request_on_body(fl_request *req, fl_body_cb cb, void *data);
FL_EXPORT void fl_request_on_headers(fl_request *req, fl_headers_cb cb, void *data);
/* Cap on the buffered body (overrides the client's); 0 = client default. */
FL_EXPORT void fl_request_set_max_body(fl_request *req, uint64_t max);
/* Allow a retry on a fresh connection for non-idempotent methods when a
 * reused connection fails before any response byte. */
FL_EXPORT void fl_request_set_retryable(fl_request *req, int retryable);

/* Start the request. Returns 0 (cb will fire exactly once, later, from the
 * loop) or a negative fl_err found at once (bad URL, control bytes...; cb
 * will not fire). Valid URL schemes: http (https once TLS is built). */
FL_EXPORT int fl_request_send(fl_client *client, fl_request *req, fl_done_cb cb, void *data);
/* Cancel an in-flight request: its callback fires from the loop with
 * FL_ECANCELED. No-op (returns FL_EINVAL) if it is not in flight. */
FL_EXPORT int fl_request_cancel(fl_request *req);
/* Flow control for streaming bodies: stop/start reading the socket. */
FL_EXPORT void fl_request_pause(fl_request *req);
FL_EXPORT void fl_request_resume(fl_request *req);

FL_EXPORT int fl_request_error(const fl_request *req);          /* 0 or fl_err */
FL_EXPORT const char *fl_request_errmsg(const fl_request *req); /* detail; "" if none */
FL_EXPORT const char *fl_request_url(const fl_request *req);
FL_EXPORT const char *fl_request_method(const fl_request *req);

/* Facts about one request, readable after (and during) it. Times in
 * microseconds from the send call; 0 where a phase did not happen. */
typedef struct fl_info {
  uint64_t queue_us;      /* waiting for a pool slot */
  uint64_t dns_us;        /* name lookup (cache hits are ~0) */
  uint64_t connect_us;    /* TCP connected (since send) */
  uint64_t appconnect_us; /* TLS done (since send) */
  uint64_t first_byte_us; /* first response byte (since send) */
  uint64_t total_us;
  int dns_cache_hit;
  int reused;             /* served on a pooled keep-alive connection */
  int retries;            /* transparent retries on a fresh connection */
  int tls_resumed;
  char remote_ip[46];
  uint16_t remote_port;
  uint64_t bytes_sent;
  uint64_t bytes_received; /* body bytes as decoded */
} fl_info;
FL_EXPORT const fl_info *fl_request_info(const fl_request *req);

/* ---------------------------------------------------------------- response
 * Valid once the headers callback or the done callback (err == 0) ran. */
FL_EXPORT const fl_response *fl_request_response(const fl_request *req);
FL_EXPORT int fl_response_status(const fl_response *res);
FL_EXPORT const char *fl_response_reason(const fl_response *res);
FL_EXPORT int fl_response_http_minor(const fl_response *res); /* 0 or 1 */
/* First header of that name (case-insensitive), or NULL. */
FL_EXPORT const char *fl_response_header(const fl_response *res, const char *name);
FL_EXPORT size_t fl_response_header_count(const fl_response *res);
/* i-th header in arrival order; 0 or FL_EINVAL when out of range. */
FL_EXPORT int fl_response_header_at(const fl_response *res, size_t i, const char **name,
                                    const char **value);
/* Buffered body (NUL-terminated for convenience; len excludes it). */
FL_EXPORT const char *fl_response_body(const fl_response *res, size_t *len);

/* ----------------------------------------------------------- blocking use */
/* Send req on client and run the client's loop until req completes.
 * Not from inside a callback on that loop. Returns the request's error. */
FL_EXPORT int fl_request_perform(fl_client *client, fl_request *req);
/* One GET on a private loop and client. *out gets the completed request
 * (free it with fl_request_free) on success and on HTTP-level results. */
FL_EXPORT int fl_get(const char *url, fl_request **out);

/* ------------------------------------------------------------------- URLs */
/* Query builder. pairs is a flat array of 2*npairs strings: key0, value0,
 * key1, value1, ... (npairs counts key/value PAIRS). Each pair is appended
 * to url as "key=value", percent-encoded (everything but A-Z a-z 0-9 - . _ ~
 * becomes %XX, so a space is "%20"); a NULL value appends just "key", an
 * empty one "key=". Pairs are joined with '&', after a '?' if url has no
 * query yet, or after its query with '&' (none if it already ends in '?' or
 * '&'). A fragment ("#...") in url is dropped. npairs 0 returns a copy of
 * url without its fragment. Returns a malloc'd string (caller frees), or
 * NULL on OOM, a NULL key, NULL url/pairs, or a url that does not parse. */
FL_EXPORT char *fl_url_with_query(const char *url, const char *const *pairs, size_t npairs);

#ifdef __cplusplus
}
#endif
#endif /* FLURRY_H */
