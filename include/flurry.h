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
#define FL_ERRNO_MAP(X)                                                                            \
  X(UNSUPPORTED_PROTOCOL, -1, 1, "unsupported protocol")                                           \
  X(INVAL, -2, 2, "invalid argument")                                                              \
  X(URL_MALFORMAT, -3, 3, "malformed URL")                                                         \
  X(RESOLVE, -6, 6, "could not resolve host: name not found")                                      \
  X(CONNECT, -7, 7, "could not connect")                                                           \
  X(WEIRD_REPLY, -8, 8, "weird server reply")                                                      \
  X(PARTIAL_BODY, -18, 18, "transfer closed with outstanding body data")                           \
  X(HTTP_ERROR, -22, 22, "HTTP error status")                                                      \
  X(WRITE, -23, 23, "write error")                                                                 \
  X(READ, -26, 26, "read error")                                                                   \
  X(NOMEM, -27, 27, "out of memory")                                                               \
  X(TIMEOUT, -28, 28, "operation timed out")                                                       \
  X(TLS_HANDSHAKE, -35, 35, "TLS handshake failed")                                                \
  X(CANCELED, -42, 42, "request canceled")                                                         \
  X(BAD_ARGUMENT, -43, 43, "bad argument")                                                         \
  X(INTERFACE, -45, 45, "failed binding local connection end")                                     \
  X(TOO_MANY_REDIRECTS, -47, 47, "too many redirects")                                             \
  X(EMPTY_REPLY, -52, 52, "empty reply from server")                                               \
  X(SEND, -55, 55, "failed sending data to the peer")                                              \
  X(RECV, -56, 56, "failure receiving data from the peer")                                         \
  X(CERT_VERIFY, -60, 60, "peer certificate could not be verified")                                \
  X(BAD_ENCODING, -61, 61, "unrecognized or bad content encoding")                                 \
  X(FILESIZE_EXCEEDED, -63, 63, "maximum file size exceeded")                                      \
  X(DNS_SERVER_FAIL, -1001, 6, "could not resolve host: DNS server failure")                       \
  X(DNS_TIMEOUT, -1002, 28, "could not resolve host: DNS timeout")                                 \
  X(CONN_REFUSED, -1003, 7, "connection refused")                                                  \
  X(HOST_UNREACH, -1004, 7, "host or network unreachable")                                         \
  X(CONNECT_TIMEOUT, -1005, 28, "connection timed out")                                            \
  X(POOL_TIMEOUT, -1006, 28, "timed out waiting for a pooled connection")                          \
  X(FIRST_BYTE_TIMEOUT, -1007, 28, "timed out waiting for the response")                           \
  X(READ_TIMEOUT, -1008, 28, "read timed out (connection idle)")                                   \
  X(HEADER_TOO_LARGE, -1009, 8, "response headers too large")                                      \
  X(TOO_MANY_HEADERS, -1010, 8, "too many response headers")                                       \
  X(BAD_STATUS, -1011, 8, "response status out of range")                                          \
  X(CONN_RESET, -1012, 56, "connection reset by peer")                                             \
  X(BODY_TOO_LARGE, -1013, 63, "response body exceeds the buffer limit")                           \
  X(BAD_HEADER, -1014, 43, "control character in request method, URL or header")                   \
  X(CALLBACK_ABORT, -1015, 42, "aborted by callback")                                              \
  X(DRAINING, -1030, 42, "client is draining: new requests are refused")                           \
  X(BAD_STATUS_LINE, -1016, 1, "not an HTTP/1.x response (bad status line or HTTP/0.9)")           \
  X(SEND_REWIND, -65, 65, "redirect needs the request body again, which cannot be replayed")       \
  X(PINNED_PUBKEY, -90, 90, "public key does not match the pinned key")                            \
  X(PROXY, -97, 97, "proxy handshake failed")                                                      \
  X(HTTP2, -16, 16, "HTTP/2 framing layer error")                                                  \
  X(HTTP2_STREAM, -92, 92, "HTTP/2 stream error")                                                  \
  X(WS_REFUSED, -1017, 22, "WebSocket upgrade refused (the answer was not 101)")                   \
  X(WS_HANDSHAKE, -1018, 8, "bad WebSocket handshake (101 with a wrong accept, upgrade or offer)") \
  X(WS_PROTOCOL, -1019, 56, "WebSocket protocol error by the server (closed with 1002 or 1007)")   \
  X(WS_TOO_BIG, -1020, 63, "WebSocket message over the size limit (closed with 1009)")             \
  X(WS_ABNORMAL, -1021, 56, "WebSocket closed abnormally (1006: no close frame)")                  \
  X(WS_CLOSED, -1022, 55, "the WebSocket is closing or closed")                                    \
  X(WS_UTF8, -1023, 43, "WebSocket text to send is not valid UTF-8 (nothing was sent)")

typedef enum fl_err {
  FL_OK = 0,
#define FL__ERR_ENUM(name, val, curl, msg) FL_E##name = (val),
  FL_ERRNO_MAP(FL__ERR_ENUM)
#undef FL__ERR_ENUM
} fl_err;

FL_EXPORT const char *fl_strerror(int err); /* never NULL */
FL_EXPORT const char *fl_err_name(int err); /* "FL_ECONNECT"; never NULL */
FL_EXPORT int fl_err_curl_code(int err);    /* 0 for FL_OK */

/* -------------------------------------------------------------------- loop */
typedef struct fl_loop fl_loop;

typedef enum fl_run_mode {
  FL_RUN_DEFAULT = 0, /* until nothing keeps the loop alive, or fl_loop_stop */
  FL_RUN_ONCE,        /* one iteration, waiting for events if there is work */
  FL_RUN_NOWAIT       /* one iteration, no waiting */
} fl_run_mode;

FL_EXPORT fl_loop *fl_loop_new(void);
/* 0, or FL_EINVAL (nothing freed) while clients or user timers still use it. */
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
 * Each in milliseconds, 0 = no limit; each has one meaning. Time spent
 * waiting for a rate-limit token or backing off between retries counts
 * toward total_ms only. */
typedef struct fl_timeouts {
  uint32_t pool_ms;       /* waiting for a connection slot in the pool */
  uint32_t connect_ms;    /* DNS + TCP (+TLS) connect of a new connection */
  uint32_t first_byte_ms; /* request fully sent -> first response byte */
  uint32_t read_ms;       /* longest silence while receiving the response */
  uint32_t total_ms;      /* whole request, queueing included */
} fl_timeouts;

/* ------------------------------------------------------------------ client */
typedef struct fl_client fl_client;

/* ------------------------------------------------------------------- share
 * Caches that clients on several threads share (libcurl's share interface):
 * DNS answers (TTL-honouring; one lookup per name in flight across all
 * threads: a client whose name another thread is already looking up waits
 * for that answer without blocking its loop, the answer being posted to it)
 * and TLS sessions (a connection one thread opens resumes the session
 * another thread's connection to that host got). Each client still keeps
 * its own pool: connections stay on their loop's thread.
 *
 *   fl_share *share = fl_share_new(NULL);
 *   ...each thread: opts.share = share; client = fl_client_new(loop, &opts);
 *   ...every client freed: fl_share_free(share);
 *
 * Threads: every fl_share_ function and any client using the share may run
 * on any thread at once; the share locks around its cache operations only,
 * never across I/O. Ownership: the creator frees it, and only after every
 * client using it was freed (fl_client_free); freeing it earlier is not
 * allowed: fl_share_free returns FL_EINVAL and frees nothing, and debug
 * builds of the library (without NDEBUG) abort with a message instead.
 * With a share, a client's own dns_ttl_* options are not used (the share's
 * are); its resolve overrides, DNS servers and timeouts still are. TLS
 * sessions are kept per host:port and per TLS settings, so clients with
 * other settings (CA, verification, versions...) never resume each other's
 * sessions; a client with tls_session_cache 0 keeps none. */
typedef struct fl_share fl_share;

typedef struct fl_share_options {
  uint32_t dns_ttl_min_ms;        /* clamp of positive answers' TTLs; default 1000 */
  uint32_t dns_ttl_max_ms;        /* default 300000; 0 = cache nothing (lookups
                                     in flight are still shared) */
  uint32_t dns_negative_ttl_ms;   /* failed lookups; default 2000 */
  int tls_session_cache;          /* default 1; 0: each client keeps its own */
  uint32_t tls_sessions_per_host; /* sessions (TLS 1.3 tickets) kept per host:port
                                     and settings; default 64 (the most; at least 2) */
} fl_share_options;

FL_EXPORT void fl_share_options_init(fl_share_options *o);
/* opts NULL = defaults; copied. NULL on OOM. */
FL_EXPORT fl_share *fl_share_new(const fl_share_options *opts);
/* 0; FL_EINVAL (nothing freed; debug builds abort) while a client uses it. */
FL_EXPORT int fl_share_free(fl_share *share);

/* DNS cache figures (for a share: all its clients; for a client: its own
 * lookups, and the entries of the cache it uses, the share's if any). */
typedef struct fl_dns_stats {
  uint32_t entries;   /* answers cached (positive and negative) */
  uint32_t in_flight; /* lookups in progress */
  uint64_t hits;      /* answered from the cache */
  uint64_t misses;    /* not in the cache: looked up, or joined a lookup in flight */
  uint64_t lookups;   /* of the misses: lookups started (queries to c-ares) */
  uint64_t joined;    /* of the misses: waited on a lookup already in flight */
} fl_dns_stats;
FL_EXPORT void fl_share_dns_stats(const fl_share *share, fl_dns_stats *out);
/* TLS sessions held (TLS 1.2 sessions and unused TLS 1.3 tickets). */
FL_EXPORT uint32_t fl_share_tls_sessions(const fl_share *share);
/* Drop every cached DNS answer now (lookups in flight go on). 0 or FL_EINVAL. */
FL_EXPORT int fl_share_flush_dns(fl_share *share);

/* Retries with back-off: for failures that may pass (connect errors, DNS
 * server failures and timeouts, resets, empty replies, first-byte and read
 * timeouts) and for chosen statuses. Each attempt counts in fl_info. */
typedef struct fl_retry_policy {
  uint32_t max_retries;        /* 0 = off (the default) */
  int all_methods;             /* 0: idempotent methods only (GET HEAD OPTIONS PUT DELETE TRACE) */
  int on_errors;               /* default 1: retry the transient failures above */
  uint16_t statuses[8];        /* retry on these statuses (0 ends the list);
                                  default 429 502 503 504 */
  uint32_t backoff_base_ms;    /* default 100: attempt n waits up to base * 2^(n-1) */
  uint32_t backoff_max_ms;     /* cap, default 10000 */
  int jitter;                  /* default 1: wait a random time in [delay/2, delay] */
  uint32_t retry_after_max_ms; /* honour Retry-After up to this (default 60000;
                                  longer asks end the retries); 0 = ignore it */
} fl_retry_policy;
FL_EXPORT void fl_retry_policy_init(fl_retry_policy *p);

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
  const char *dns_servers;          /* "ip[:port],[ipv6]:port"; NULL = system */
  const char *const *resolve;       /* NULL-terminated "host:port:addr[,addr]" */
  uint32_t dns_timeout_ms;          /* whole lookup; default 5000 */
  uint32_t dns_ttl_min_ms;          /* cache clamp; default 1000 */
  uint32_t dns_ttl_max_ms;          /* default 300000; 0 disables the cache */
  uint32_t dns_negative_ttl_ms;     /* default 2000 */
  uint32_t happy_eyeballs_delay_ms; /* default 250 */
  /* Address family (curl's -4 / -6): 4 = connect to IPv4 addresses only,
   * 6 = IPv6 only, 0 = both (default). Names, overrides and literals with
   * no address of that family fail with FL_ERESOLVE. Other values:
   * fl_client_new fails (FL_EINVAL). */
  int ip_family;
  /* HTTP behaviour */
  int follow_redirects;  /* default 1 (per request: fl_request_set_follow) */
  int max_redirects;     /* default 10; -1 = unlimited (FL_ETOO_MANY_REDIRECTS) */
  int decompress;        /* send Accept-Encoding: gzip, deflate, br and decode
                                        bodies as they stream; default 1 */
  int cookies;           /* keep a cookie jar (RFC 6265); default 1 */
  uint64_t max_filesize; /* decoded body bytes, buffered or streamed;
                                        0 = none; FL_EFILESIZE_EXCEEDED */
  fl_retry_policy retry; /* default: off */
  /* Rate limits shared by every request of the client (token buckets; each
   * attempt takes a token before it gets a connection). 0 = none. */
  double rate_limit;          /* requests per second, whole client */
  double rate_limit_per_host; /* requests per second per scheme://host:port */
  uint32_t rate_burst;        /* bucket size; 0 = one second's worth (min 1) */
  /* TLS (https). Verification is on and the system CA store is used unless
   * told otherwise. Files are loaded by fl_client_new, which returns NULL
   * when one cannot be read or the key does not match the certificate.
   * Without any file option, the TLS context (and the system store, ~20 ms)
   * is set up at the client's first https request instead. */
  const char *ca_file;     /* PEM bundle to trust instead of the system store */
  const char *ca_path;     /* directory of hashed CA certs (c_rehash) */
  const char *client_cert; /* PEM client certificate (chain) */
  const char *client_key;  /* its PEM private key; NULL = in client_cert */
  int insecure;            /* 1 = do not verify the server (tests only); default 0 */
  int tls_session_cache;   /* resume TLS sessions per host:port; default 1 */
  /* Proxy: "http://[user:pass@]host[:port]" (default port 1080 as curl).
   * http URLs go through it in absolute form; https URLs through a CONNECT
   * tunnel, with TLS verified against the origin. Its credentials go only to
   * the proxy (Proxy-Authorization; for https in the CONNECT request only);
   * the pool keeps connections per proxy and credentials. A refused tunnel
   * is FL_ERECV (curl's 56). NULL = none, unless trust_env.
   * SOCKS: "socks5h://", "socks5://", "socks4a://", "socks4://" (same
   * syntax): every URL goes through a SOCKS handshake after TCP connects to
   * the proxy, then plain HTTP (origin-form) or TLS with the origin over the
   * same socket. socks5h and socks4a send the host name for the proxy to
   * resolve; socks5 and socks4 resolve it here (IPv4 first; socks4 needs an
   * IPv4 address) and send the address. user:pass is RFC 1929
   * authentication for SOCKS5 (each at most 255 bytes), the user id for
   * SOCKS4. Any handshake failure is FL_EPROXY (curl's 97), its message
   * naming the proxy's reply code; the connect timeout covers it. */
  const char *proxy;
  int trust_env; /* use http_proxy, https_proxy, no_proxy (and
                                        HTTPS_PROXY, NO_PROXY, then all_proxy and
                                        ALL_PROXY for either scheme) when proxy is NULL */
  /* HTTP/1.1 pipelining: up to this many requests in flight on one
   * connection, for GET and HEAD without a body, once no new connection may
   * be opened (the pool limits). Requests whose connection fails before their
   * response are sent again once on a fresh connection. Requests that become
   * ready in the same loop pass share one write (the server reads them in
   * one go); with it on, a GET or HEAD is written at the end of the pass it
   * was started in rather than at once. Default 1 = off. */
  uint32_t pipeline_depth;
  /* New connections to one host whose TCP connect is in progress at once;
   * the next starts as each completes, so a burst of requests never
   * overflows a small server's listen backlog (dropped SYNs wait 1, 3, 7 s
   * for their retransmits). Default 4; 0 = no limit. */
  uint32_t max_connecting_per_host;
  /* One response header line (name and value) may take at most this many
   * bytes; 0 (default) = only max_header_bytes applies. curl: 100 KiB.
   * On HTTP/2 nghttp2 sets two limits of its own, whatever these caps say:
   * one field of more than 64 KiB, or a header block in more than 8
   * CONTINUATION frames (about 144 KiB at the default 16 KiB frame size),
   * fails the connection (FL_EHTTP2: HPACK's state cannot go on past a
   * field it refused), not only the stream. */
  uint32_t max_header_line_bytes;
  /* Expect: 100-continue. A request whose body is more than this many bytes
   * (or is streamed without a length) says it, and one that has the header
   * already waits the same way: its body goes after a 100 response, or
   * after expect_100_timeout_ms without one; a final status instead ends
   * the upload and the connection is not reused. Defaults (curl's): 1 MiB
   * and 1000 ms; threshold 0 = never added by the library. */
  uint64_t expect_100_threshold;
  uint32_t expect_100_timeout_ms;
  /* TLS versions offered (FL_TLS_*). tls_min_version: default FL_TLS_1_2
   * (0 means the same), or FL_TLS_1_3; lower minimums are refused
   * (fl_client_new fails). tls_max_version: default 0 = the highest OpenSSL
   * has (1.3), or FL_TLS_1_2, FL_TLS_1_3. A server
   * that cannot meet the bounds fails the request with FL_ETLS_HANDSHAKE;
   * so does every https request when the maximum is below the minimum (as
   * curl's --tlsv1.3 --tls-max 1.2). Other values: fl_client_new fails. */
  int tls_min_version;
  int tls_max_version;
  /* Ciphers in OpenSSL's syntax (curl's --ciphers and --tls13-ciphers).
   * tls_ciphers: the TLS 1.2 list ("ECDHE-RSA-AES128-GCM-SHA256:..."; NULL
   * = OpenSSL's default). tls13_ciphers: the TLS 1.3 suites
   * ("TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256"; NULL = AES-128-GCM,
   * ChaCha20, AES-256-GCM). A list OpenSSL refuses makes fl_client_new fail
   * (FL_EBAD_ARGUMENT, with OpenSSL's reason from fl_client_new_err); a
   * server that shares no cipher with the list fails with FL_ETLS_HANDSHAKE.
   * Copied. */
  const char *tls_ciphers;
  const char *tls13_ciphers;
  /* Public-key pinning (curl's --pinnedpubkey): after each handshake, the
   * SHA-256 of the server certificate's SubjectPublicKeyInfo (DER) must be
   * one of "sha256//BASE64[;sha256//BASE64...]", or the key in a file
   * (PEM "BEGIN PUBLIC KEY", or DER) when the string does not start with
   * "sha256//". Checked also with insecure set, after verification
   * otherwise. A mismatch fails the request with FL_EPINNED_PUBKEY (curl's
   * 90), the server's key digest in fl_request_errmsg. As in curl, a pin
   * that can never match (unreadable file, malformed entry) is not a setup
   * error: requests fail with FL_EPINNED_PUBKEY saying why. The file is
   * read by fl_client_new. Copied. NULL = no pinning. Compute a digest with
   *   openssl x509 -in cert.pem -pubkey -noout | openssl pkey -pubin -outform der |
   *   openssl dgst -sha256 -binary | base64 */
  const char *pinned_pubkey;
  /* Digest authentication with an HTTP proxy (RFC 7616, curl's
   * --proxy-digest): the proxy URL's credentials are not sent as Basic up
   * front; a 407 whose Proxy-Authenticate offers Digest is answered once,
   * on the next request to the same URL, with a Proxy-Authorization computed
   * for it (the first request goes without its body, as for
   * fl_request_set_digest_auth). For https URLs the CONNECT is answered
   * the same way, on the same connection (a proxy that closes it after its
   * 407 is not answered: FL_ERECV, as any refused tunnel). Default 0. */
  int proxy_digest;
  /* HTTP version (enum fl_http_version; curl's --http1.0, --http1.1,
   * --http2, --http2-prior-knowledge). Default FL_HTTP_VERSION_DEFAULT:
   * https offers h2 and http/1.1 by ALPN and speaks what the server picks;
   * http:// speaks HTTP/1.1. Per request: fl_request_set_http_version.
   * While an origin that may speak h2 has not answered yet, its requests
   * wait for the first connection's ALPN answer instead of opening more
   * (curl's multiplex waiting): so the first burst to an HTTP/1.1-only
   * https origin waits one handshake before its other connections open.
   * That wait counts as connecting: a request that waited its connect
   * timeout for the answer fails with FL_ECONNECT_TIMEOUT rather than
   * opening a connection of its own. The answer is kept after the
   * origin's last connection went (for the 256 origins learned last), so
   * a later burst to an HTTP/1.1-only origin does not wait again. For origins known to speak HTTP/1.1 only, choose
   * FL_HTTP_VERSION_1_1: no wait. */
  int http_version;
  /* HTTP/2: PING an idle h2 connection every this many ms, and close it when
   * no ACK came within the same time. 0 (default) = no PING. */
  uint32_t h2_ping_interval_ms;
  /* HTTP/2: streams at once on one connection, on top of the server's
   * SETTINGS_MAX_CONCURRENT_STREAMS (the lower wins). Default 100; 0 = the
   * server's alone. Requests to an origin share its HTTP/2 connection; one
   * full at the server's limit makes them wait for room (RFC 9113 9.1), one
   * full at this cap lets another connection open (pool limits allowing). */
  uint32_t h2_max_concurrent_streams;
  /* Hosts that go direct, not through proxy or the environment's proxies
   * (curl's --noproxy, NO_PROXY's syntax): names separated by commas; a
   * name matches itself and its subdomains (a leading dot is ignored); an
   * IP address matches itself, or its network with /BITS; "*" alone
   * matches every host. Set (also "") it replaces no_proxy / NO_PROXY of
   * trust_env. Copied. NULL = the environment's (with trust_env), none
   * otherwise. */
  const char *no_proxy;
  /* Caches shared with clients on other threads (see fl_share above);
   * borrowed: the share must outlive the client. NULL (default) = the
   * client's own DNS cache and TLS sessions. */
  fl_share *share;
  /* ---- Connection lifecycle (long-lived servers) ----
   * A connection is not reused once it is this old (curl's
   * CURLOPT_MAXLIFETIME_CONN), so DNS and load-balancer changes are picked
   * up; it finishes what it carries first. 0 (default) = no limit. */
  uint32_t max_lifetime_ms;
  /* TCP keep-alive probes after tcp_keepalive_idle_s seconds of silence,
   * every tcp_keepalive_interval_s (0 = the idle time), giving up after
   * tcp_keepalive_count (0 = the system's). idle 0 (default) = off, as curl. */
  uint32_t tcp_keepalive_idle_s;
  uint32_t tcp_keepalive_interval_s;
  uint32_t tcp_keepalive_count;
  /* Bind new sockets to this network interface (SO_BINDTODEVICE; without
   * the privilege, to the interface's address of the remote's family, as
   * curl does). A name that does not exist fails the request with
   * FL_EINTERFACE (curl's 45). Copied. NULL = none. */
  const char *interface;
  /* Bind new sockets to this local IP address (a literal; fl_client_new
   * fails with FL_EBAD_ARGUMENT otherwise); a remote of the other family
   * fails with FL_EINTERFACE. Copied. NULL = none. */
  const char *local_address;
  /* Local port range local_port .. local_port + local_port_range - 1
   * (curl's --local-port N[-M]); every port taken: FL_EINTERFACE.
   * local_port 0 (default) = any; range 0 = just local_port. */
  uint16_t local_port;
  uint32_t local_port_range;
  /* Called with each new socket (TCP or Unix) after flurry's own options,
   * before connect, on the loop's thread: set what you need (SO_MARK,
   * IP_TOS...). Return 0, or nonzero to fail that connection attempt
   * (FL_ECONNECT). Do not close the fd. NULL = none. */
  int (*sockopt_cb)(int fd, void *data);
  void *sockopt_data;
  /* Connect every request to this Unix domain socket instead of TCP (the
   * URL still gives the Host header and path; https runs TLS over it,
   * checking the URL's name). unix_socket_abstract 1: a Linux abstract
   * socket name (no file). A path that does not exist or is not a socket
   * fails with FL_ECONNECT (curl's 7). Per request:
   * fl_request_set_unix_socket. Proxies are not used for it. Copied. */
  const char *unix_socket;
  int unix_socket_abstract;
  /* curl's --connect-to: NULL-terminated "HOST1:PORT1:HOST2:PORT2" rules.
   * A request to HOST1:PORT1 (empty HOST1 or PORT1: any) connects to
   * HOST2:PORT2 instead (empty: the URL's own) and is otherwise unchanged:
   * Host header, cookies and TLS (SNI, the certificate is checked against
   * the URL's name) stay the URL's. The first matching rule wins; IPv6
   * addresses in brackets. A rule that does not parse makes fl_client_new
   * fail (FL_EBAD_ARGUMENT). Not applied to a request that goes through a
   * proxy (the proxy is asked for the URL's host:port; curl asks a tunnel or
   * SOCKS proxy for HOST2:PORT2 instead): list the host in no_proxy to
   * have its rule apply. A Unix socket target wins over them. Copied. */
  const char *const *connect_to;
  /* curl's --proxytunnel: http:// requests through an HTTP proxy go
   * through a CONNECT tunnel too (as https ones always do), instead of
   * being sent to the proxy in absolute form. Default 0. */
  int proxy_tunnel;
  /* curl's --proxy-header: NULL-terminated "Name: value" lines for the
   * proxy only: in every CONNECT request, and added to requests sent to a
   * forward proxy (plain http:// without proxy_tunnel); never sent through
   * a tunnel to the server. A line without a colon, with a bad name or a
   * CR/LF makes fl_client_new fail (FL_EBAD_ARGUMENT). Copied. */
  const char *const *proxy_headers;
} fl_client_options;

/* HTTP versions, for fl_client_options.http_version and
 * fl_request_set_http_version. */
enum fl_http_version {
  FL_HTTP_VERSION_DEFAULT = 0, /* = FL_HTTP_VERSION_2TLS */
  /* HTTP/1.0 request line; the connection is kept only when the server says
   * Keep-Alive (curl -0). */
  FL_HTTP_VERSION_1_0,
  FL_HTTP_VERSION_1_1, /* HTTP/1.1 only; TLS offers ALPN http/1.1 (curl --http1.1) */
  /* h2 over TLS when ALPN agrees on it, else HTTP/1.1; http:// stays
   * HTTP/1.1 (curl --http2, curl's default). */
  FL_HTTP_VERSION_2TLS,
  /* h2 on http:// from the first byte, without an Upgrade (h2c); TLS offers
   * h2 by ALPN (curl --http2-prior-knowledge). */
  FL_HTTP_VERSION_2_PRIOR_KNOWLEDGE,
  /* h2 required: a TLS server that does not agree on h2 fails the request
   * with FL_EHTTP2; http:// is spoken as with prior knowledge. */
  FL_HTTP_VERSION_2_ONLY
};

/* TLS protocol versions (the values on the wire), for tls_min_version and
 * tls_max_version. flurry speaks 1.2 and 1.3; 1.0 and 1.1 exist only as
 * maximums, which leave no version to offer (FL_ETLS_HANDSHAKE). */
enum fl_tls_version {
  FL_TLS_1_0 = 0x0301,
  FL_TLS_1_1 = 0x0302,
  FL_TLS_1_2 = 0x0303,
  FL_TLS_1_3 = 0x0304
};

FL_EXPORT void fl_client_options_init(fl_client_options *opts);
/* opts may be NULL for defaults; they are copied. NULL on bad options/OOM. */
FL_EXPORT fl_client *fl_client_new(fl_loop *loop, const fl_client_options *opts);
/* The same, saying why it failed: *err gets the code (FL_EINVAL, FL_ENOMEM,
 * FL_EBAD_ARGUMENT...) and msg the reason (a proxy URL, a CA file...). */
FL_EXPORT fl_client *fl_client_new_err(fl_loop *loop, const fl_client_options *opts, int *err,
                                       char *msg, size_t msg_cap);
FL_EXPORT void fl_client_free(fl_client *client);
FL_EXPORT fl_loop *fl_client_loop(const fl_client *client);

typedef struct fl_pool_stats {
  uint32_t open; /* connections open (connecting, idle or in use) */
  uint32_t idle;
  uint32_t in_use;
  uint32_t connecting;
  uint32_t waiting;          /* requests queued for a slot */
  uint64_t created;          /* connections ever opened */
  uint64_t reused;           /* requests served by a reused connection */
  uint64_t writes;           /* socket writes that sent request bytes (pipelined
                            requests queued together share one) */
  uint64_t h2_connections;   /* connections ever opened that agreed on HTTP/2 */
  uint64_t h2_streams;       /* HTTP/2 streams ever opened */
  uint64_t h2_session_bytes; /* heap nghttp2 holds now for the open HTTP/2
                                sessions (glibc chunks: what malloc spends) */
} fl_pool_stats;
FL_EXPORT void fl_client_pool_stats(const fl_client *client, fl_pool_stats *out);
/* Per-host pool figures: one entry per origin the pool keeps connections
 * or waiters for (with a proxy, per origin and proxy). Fills at most cap
 * entries of out (which may be NULL with cap 0) and returns how many hosts
 * there are, so a second call with a larger array gets them all. Loop
 * thread only; a snapshot. */
typedef struct fl_host_stats {
  char host[256]; /* the origin's host name (truncated if longer) */
  uint16_t port;
  int tls;             /* https */
  uint32_t open;       /* connections: connecting + idle + busy */
  uint32_t idle;       /* kept alive, carrying nothing */
  uint32_t busy;       /* carrying a request */
  uint32_t connecting; /* resolving, connecting, handshaking */
  uint32_t waiting;    /* requests queued for a connection to it */
} fl_host_stats;
FL_EXPORT size_t fl_client_host_stats(const fl_client *client, fl_host_stats *out, size_t cap);
/* DNS cache figures of this client (fl_dns_stats is declared with fl_share):
 * its hits, misses, lookups started and joined, names in flight for it;
 * entries of the cache it uses (the share's, with one). Loop thread only. */
FL_EXPORT void fl_client_dns_stats(const fl_client *client, fl_dns_stats *out);

/* ---- Shutdown and reload (long-lived servers)
 * fl_client_close_idle: close every idle keep-alive connection now (busy
 * ones finish what they carry). Loop thread; not from inside a callback
 * of this client is fine too.
 *
 * fl_client_drain: stop taking work and let the work in flight finish.
 * From then on fl_request_send fails at once with FL_EDRAINING (the
 * client can still be freed, and its statistics read). Requests in flight
 * (queued, connecting, waiting for a response, backing off) go on; idle
 * connections are closed now and every connection once the last request
 * finished. cb(client, err, data) runs once, from the loop, never from
 * inside fl_client_drain, when the last request finished: err 0, or
 * FL_ETIMEOUT when deadline_ms (0 = none) passed first and the requests
 * left were cancelled (each completing with FL_ECANCELED, before cb). cb
 * may free the client. Returns 0; FL_EINVAL for a second drain, or when
 * called from inside a callback of one of this client's requests (headers,
 * body, done: call it from the loop instead, e.g. a timer or fl_loop_post).
 * Freeing the client while it drains cancels the rest without cb. */
typedef void (*fl_drain_cb)(fl_client *client, int err, void *data);
FL_EXPORT void fl_client_close_idle(fl_client *client);
FL_EXPORT int fl_client_drain(fl_client *client, uint32_t deadline_ms, fl_drain_cb cb, void *data);
/* Drop the client's cached DNS answers (and its share's, with one) and
 * re-read /etc/resolv.conf (unless dns_servers was given): the c-ares
 * channel is rebuilt, and lookups in flight are asked again on the new
 * one (their waiters keep waiting, their deadlines unchanged). Loop
 * thread. 0, or FL_ENOMEM / FL_EINVAL (the new configuration cannot be
 * used; the client keeps resolving as before). */
FL_EXPORT int fl_client_dns_reload(fl_client *client);

/* Cookie jar (when options.cookies is on). Files use the Netscape format
 * that curl's -b FILE / -c FILE read and write. Returns 0 or an fl_err
 * (FL_EREAD for a missing or unreadable file, FL_EWRITE, FL_EINVAL when the
 * client keeps no jar). */
FL_EXPORT int fl_client_cookies_load(fl_client *client, const char *path);
FL_EXPORT int fl_client_cookies_save(const fl_client *client, const char *path);
/* Store a Set-Cookie header value as if received from url. */
FL_EXPORT int fl_client_cookies_set(fl_client *client, const char *url, const char *set_cookie);
/* The Cookie header value the client would send to url (malloc'd; NULL when
 * none). */
FL_EXPORT char *fl_client_cookies_for(fl_client *client, const char *url);

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
/* Body streamed from a callback, length known in advance: sent with
 * Content-Length, no chunk framing. The callback is asked for at most the
 * bytes still due; ending early fails the request with FL_EREAD. */
FL_EXPORT int fl_request_set_upload_sized(fl_request *req, fl_upload_cb cb, void *data,
                                          uint64_t length);
FL_EXPORT void fl_request_set_timeouts(fl_request *req, const fl_timeouts *t);
/* Tracing each hop (for -v style output and debugging): the request head
 * exactly as written (after redirects too, one call per hop), and each
 * final response head as parsed (status line and headers in arrival order,
 * CRLF-terminated). Borrowed bytes; the request must not be freed inside. */
typedef enum fl_trace_kind { FL_TRACE_REQUEST_HEAD = 1, FL_TRACE_RESPONSE_HEAD } fl_trace_kind;
typedef void (*fl_trace_cb)(fl_request *req, fl_trace_kind kind, const char *data, size_t len,
                            void *userdata);
FL_EXPORT void fl_request_on_trace(fl_request *req, fl_trace_cb cb, void *data);

/* ------------------------------------------------------------ event hooks
 * Client-wide hooks for tracers (aiohttp's TraceConfig, OpenTelemetry): one
 * callback sees every step of every request on the client, and a pre-send
 * hook may add headers to each attempt (a W3C traceparent).
 *
 *   static void on_event(const fl_event *ev, void *data) { ... }
 *   fl_hooks h = {.on_event = on_event, .pre_send = add_traceparent, .data = tracer};
 *   fl_client_set_hooks(client, &h);
 *
 * Cost: with no hook set each event site is one predictable test; nothing is
 * allocated and no clock is read. With hooks, events carry the loop's
 * clock (CLOCK_MONOTONIC read once per loop iteration, when the loop woke
 * for the work, and at each send): no clock read per event, microsecond
 * resolution, events of one loop pass share their time. precise_time = 1
 * reads CLOCK_MONOTONIC for each event instead (nanoseconds; on a virtual
 * machine without a fast vDSO clock that is ~150 ns per event).
 *
 * Events of one request, in order (a reused connection skips DNS..TLS; a
 * cache hit still reports DNS_START/DNS_END with cache_hit = 1):
 *   REQUEST_START
 *   { POOL_WAIT_START POOL_WAIT_END
 *     [DNS_START DNS_END] [CONNECT_START CONNECT_END] [TLS_START TLS_END] | CONN_REUSED
 *     HEAD_SENT FIRST_BYTE (RESPONSE_END | UPGRADED)
 *     [REDIRECT | RETRY] }...
 *   REQUEST_END
 * A failed step ends with err set (DNS_END, CONNECT_END, TLS_END), then
 * RETRY (another attempt follows) or REQUEST_END. RETRY also follows a
 * response whose status the retry policy retries, and a reused connection
 * the server had closed (resent at once on a fresh one, delay_ms 0).
 * An HTTP/2 stream reports the same events: a stream on a connection that
 * carried or carries others reports CONN_REUSED (stream_id set from
 * FIRST_BYTE on). A WebSocket connect (fl_ws_connect) is a request: its 101
 * ends with UPGRADED instead of RESPONSE_END, then REQUEST_END.
 *
 * Connection events (DNS_*, CONNECT_*, TLS_*) name the request the
 * connection was made for; req is NULL when that request went elsewhere
 * meanwhile (cancelled, or given another connection) while the connection
 * goes on being made. conn_id ties them to the later CONN_REUSED ones.
 *
 * What a hook may do: read the event and the request (fl_request_info,
 * fl_request_url, fl_request_method, fl_request_response once
 * FIRST_BYTE came), read client statistics, call fl_loop_now, post
 * (fl_loop_post), start timers. What it may not: send, cancel or free any
 * request, free, drain or re-hook the client, run the loop. fl_request_send,
 * fl_request_cancel, fl_client_drain and fl_client_set_hooks return
 * FL_EINVAL when called from a hook; fl_request_free and fl_client_free
 * from a hook print why and abort (they cannot report an error, and going
 * on would use freed memory). Do such work from the loop instead (a
 * zero-delay timer or fl_loop_post).
 *
 * Pointers in fl_event (strings included) are borrowed: valid during the
 * call only. Hooks run on the client's loop thread, never from
 * fl_client_set_hooks. */
typedef enum fl_event_kind {
  FL_EV_REQUEST_START = 1, /* fl_request_send took it (method and URL readable) */
  FL_EV_REQUEST_END,       /* err: its outcome; right before its done callback */
  FL_EV_REDIRECT,          /* status: the redirect; url: the next hop's URL */
  FL_EV_RETRY,             /* err (or status) of the attempt that failed; attempt: the
                              next one's number (2 = first retry); delay_ms before it */
  FL_EV_POOL_WAIT_START,   /* an attempt asks the pool for a connection */
  FL_EV_POOL_WAIT_END,     /* it got one (err 0), or left the queue (err: why) */
  FL_EV_DNS_START,         /* host: the name looked up (the proxy's, with a proxy) */
  FL_EV_DNS_END,           /* err; cache_hit: answered by the client's or the share's
                              cache, an override or an IP literal */
  FL_EV_CONNECT_START,     /* host, port: what is connected to */
  FL_EV_CONNECT_END,       /* err; address, port: the address that won (Happy Eyeballs) */
  FL_EV_TLS_START,         /* host: the name TLS checks (SNI) */
  FL_EV_TLS_END,           /* err; resumed: a session was resumed; http_version: what
                              ALPN agreed (20 h2, 11 http/1.1, 0 none) */
  FL_EV_CONN_REUSED,       /* the attempt goes on a connection that carried (or carries)
                              others: pooled keep-alive, pipelined, or another HTTP/2 stream */
  FL_EV_HEAD_SENT,         /* the request head is handed to the connection's write */
  FL_EV_FIRST_BYTE,        /* the first byte of the response arrived */
  FL_EV_RESPONSE_END,      /* the response is complete: status */
  FL_EV_UPGRADED           /* a WebSocket connect's 101: the connection is the fl_ws's */
} fl_event_kind;

typedef struct fl_event {
  fl_event_kind kind;
  fl_request *req;      /* the request, or NULL (connection events, see above) */
  uint64_t time_ns;     /* CLOCK_MONOTONIC in nanoseconds: the loop's (see Cost above), or
                           read for the event with precise_time */
  int err;              /* 0 or a negative fl_err (fl_request_errmsg may say more at
                           REQUEST_END) */
  int status;           /* REDIRECT, RETRY (0 when an error decided), RESPONSE_END, UPGRADED */
  const char *host;     /* DNS_*, CONNECT_START, TLS_*: a name; NULL otherwise */
  const char *address;  /* CONNECT_END and later connection events: the peer's IP text
                           (or a Unix socket path); "" before connected */
  uint16_t port;        /* CONNECT_*: the peer's port */
  uint64_t conn_id;     /* the connection (unique per client), 0 before one is known */
  int http_version;     /* 11 or 20 where known (TLS_END: ALPN's answer) */
  uint32_t stream_id;   /* HTTP/2 stream, once assigned (FIRST_BYTE on); 0 on HTTP/1.x */
  int resumed;          /* TLS_END: the handshake resumed a session */
  int cache_hit;        /* DNS_END */
  int attempt;          /* RETRY: the next attempt's number; else the current one's */
  uint32_t delay_ms;    /* RETRY: wait before it */
  const char *url;      /* REDIRECT: where to */
} fl_event;

/* Added headers of one attempt (fl_hooks.pre_send). */
typedef struct fl_hook_headers fl_hook_headers;
/* Add a header line to the attempt about to be written (not to the
 * request: the next attempt asks pre_send again). Copied. 0, FL_EBAD_HEADER
 * (a name that is not a token, CR/LF in the value) or FL_ENOMEM. Only
 * during pre_send. */
FL_EXPORT int fl_hook_headers_add(fl_hook_headers *h, const char *name, const char *value);

typedef struct fl_hooks {
  /* Every event above; NULL: none. */
  void (*on_event)(const fl_event *ev, void *data);
  /* Called as each attempt's head is built (every retry and redirect hop,
   * on HTTP/1.1 and HTTP/2, after the library's own headers): add headers
   * with fl_hook_headers_add. Return 0, or a negative value to fail the
   * request (FL_ECALLBACK_ABORT). Same rules as on_event. NULL: none. */
  int (*pre_send)(fl_request *req, fl_hook_headers *h, void *data);
  void *data;
  int precise_time; /* 1: each event reads the clock (see Cost above); 0: the loop's time */
} fl_hooks;
/* Set (copied) or clear (NULL) the client's hooks. Takes effect at once,
 * also for requests in flight: they report the events that happen from
 * now on (a hook set mid-request may see REQUEST_END without
 * REQUEST_START; a hook cleared sees no more). 0, or FL_EINVAL (no
 * client, or called from a hook). Loop thread. */
FL_EXPORT int fl_client_set_hooks(fl_client *client, const fl_hooks *hooks);
/* Stream the body instead of buffering it. */
FL_EXPORT void fl_request_on_body(fl_request *req, fl_body_cb cb, void *data);
FL_EXPORT void fl_request_on_headers(fl_request *req, fl_headers_cb cb, void *data);
/* keep = 0: the response's headers are parsed and checked as always (caps,
 * framing), but only those the library acts on are stored (Location,
 * Set-Cookie, Content-Encoding, Keep-Alive, WWW-/Proxy-Authenticate,
 * Retry-After): fl_response_header() finds no other. For load generators
 * that never read headers; trailers are kept. Default 1. */
FL_EXPORT void fl_request_keep_headers(fl_request *req, int keep);
/* on = 1: send the URL's path as given, "/../" and "/./" included (curl's
 * --path-as-is; the default removes dot segments, RFC 3986 5.2.4). For the
 * request's own URL; redirects are resolved as usual. Default 0. */
FL_EXPORT void fl_request_set_path_as_is(fl_request *req, int on);
/* The request target sent instead of the URL's path and query (curl's
 * --request-target, CURLOPT_REQUEST_TARGET): "*" for OPTIONS *, a path
 * with no leading "/", anything the server wants. Sent as it is, on every
 * hop (a redirect too, as curl) and also through a forward proxy (no
 * absolute form then); on HTTP/2 it is the :path. The URL still names the
 * server. No spaces or control bytes (FL_EINVAL); copied; NULL = the
 * URL's again. */
FL_EXPORT int fl_request_set_request_target(fl_request *req, const char *target);
/* on = 1: an HTTP/1.x response's Content-Length is ignored; its body (not
 * chunked) is read until the server closes the connection, which is then
 * not reused (curl's --ignore-content-length, for servers that announce a
 * wrong length). A chunked body is still read by its chunks; HTTP/2 ends a
 * body with its stream, as always. fl_info's content_length is then -1.
 * Default 0. */
FL_EXPORT void fl_request_ignore_content_length(fl_request *req, int on);
/* on = 1: the response body as the server sent it (curl's --raw,
 * CURLOPT_HTTP_TRANSFER_DECODING and CURLOPT_HTTP_CONTENT_DECODING off):
 * no content decoding (a gzip body stays gzip, Accept-Encoding is still
 * sent if the client asks for it), and an HTTP/1.1 chunked body goes to
 * the body callback, file or buffer byte for byte, chunk-size lines,
 * chunk extensions, the last chunk and the trailer section included. The
 * chunks are still parsed to find the end (a malformed one fails as
 * always) and the trailers are still stored (fl_response_trailer).
 * HTTP/2 has no chunks: there it only turns decoding off. fl_info's
 * received byte counts stay the chunks' data, without the framing (as
 * curl's size_download). Default 0. */
FL_EXPORT void fl_request_set_raw(fl_request *req, int on);
/* Cap on the buffered body (overrides the client's); 0 = client default. */
FL_EXPORT void fl_request_set_max_body(fl_request *req, uint64_t max);
/* Retry policy for this request (copied; NULL = the client's). */
FL_EXPORT void fl_request_set_retry(fl_request *req, const fl_retry_policy *policy);
/* Follow redirects for this request (overrides the client's choice);
 * max_redirects -1 = unlimited. */
FL_EXPORT void fl_request_set_follow(fl_request *req, int follow, int max_redirects);
/* Basic authentication (RFC 7617). Also taken from the URL's userinfo
 * (percent-decoded). Never sent to another scheme, host or port after a
 * redirect, nor restored later in the chain. */
FL_EXPORT int fl_request_set_basic_auth(fl_request *req, const char *user, const char *password);
/* Digest authentication (RFC 7616; curl's --digest): MD5, SHA-256 and
 * SHA-512-256, each also -sess, with qop=auth (or the RFC 2069 form when
 * the server offers no qop). As curl does, the first request goes without
 * credentials, and without its body (Content-Length: 0: a body is sent
 * once, with the credentials, and a streamed one needs no replay; a server
 * that answers it without a challenge never gets the body); a 401 whose
 * WWW-Authenticate offers Digest (the strongest algorithm when several are
 * offered) is answered once, on one more request to the same URL (the
 * 401's body is dropped unread, as a followed redirect's); a second 401 is
 * the result. user NULL: the URL's userinfo, answered with Digest.
 * Replaces Basic credentials set before (and Basic replaces these). Like
 * Basic, never sent after the chain left the first origin. */
FL_EXPORT int fl_request_set_digest_auth(fl_request *req, const char *user, const char *password);
/* Body helpers: JSON text with Content-Type: application/json; a form
 * (application/x-www-form-urlencoded) from 2*npairs strings key, value... */
FL_EXPORT int fl_request_set_json(fl_request *req, const char *json);
FL_EXPORT int fl_request_set_form(fl_request *req, const char *const *pairs, size_t npairs);
/* Stream the (decoded) body of the final response into a file, created or
 * truncated when its headers arrive; FL_EWRITE when it cannot be written.
 * NULL stops saving. (Writes go to the local disk from the loop thread.) */
FL_EXPORT int fl_request_save_to(fl_request *req, const char *path);
/* Limit on decoded body bytes for this request (0 = the client's). */
FL_EXPORT void fl_request_set_max_filesize(fl_request *req, uint64_t max);

/* ---- transfer policies as curl's options have them (each also in
 * libflurry(3)); all are settings of the request, refused (FL_EINVAL) or
 * ignored while it is in flight, kept across sends. */
/* Read the response body no faster than bytes_per_second on average
 * (curl's --limit-rate, CURLOPT_MAX_RECV_SPEED_LARGE): when the body is
 * ahead of that pace, the request stops reading its socket (as
 * fl_request_pause does, so TCP flow control slows the server) and a timer
 * resumes it when the pace catches up; no busy loop. A body that arrives
 * sooner (a small one in one read) completes when its last byte was due.
 * Counted from the first body byte of the final response, bytes as
 * received (before decoding). Downloads only
 * (fl_request_set_max_send_speed caps the upload). A
 * read_ms timeout counts a pause as silence. 0 (default) = no cap. */
FL_EXPORT void fl_request_set_max_recv_speed(fl_request *req, uint64_t bytes_per_second);
/* Send the request body no faster than bytes_per_second on average
 * (curl's --limit-rate for uploads, CURLOPT_MAX_SEND_SPEED_LARGE): a
 * tenth of a second's worth (at most 16 KiB) goes at once, then the body
 * is written only as fast as the pace allows; ahead of it, the request
 * writes nothing until a timer says the next piece is due (no busy loop;
 * TCP flow control carries the pace to the server). A fixed body
 * (fl_request_set_body and the helpers) is given out piece by piece like
 * a streamed one, still with its Content-Length. Counted from the body's
 * first byte, on each hop that sends it. 0 (default) = no cap. */
FL_EXPORT void fl_request_set_max_send_speed(fl_request *req, uint64_t bytes_per_second);
/* A conditional request on the document's time (curl's -z, CURLOPT_TIMECONDITION):
 * IFMODSINCE sends If-Modified-Since, IFUNMODSINCE If-Unmodified-Since,
 * with unix_time as an HTTP-date (replacing a header of that name set
 * before). A 304 answers it; and as curl, when a server ignores the header
 * and answers 200 with a Last-Modified that does not meet the condition,
 * the response is made a 304: status 304, headers as received, its body
 * not read (the connection is closed instead). Either way
 * fl_info.timecond_unmet is 1. FL_TIMECOND_NONE removes the condition. */
typedef enum fl_timecond {
  FL_TIMECOND_NONE = 0,
  FL_TIMECOND_IFMODSINCE = 1,
  FL_TIMECOND_IFUNMODSINCE = 2
} fl_timecond;
FL_EXPORT int fl_request_set_time_condition(fl_request *req, fl_timecond cond, int64_t unix_time);
/* Redirects of a POST (curl's --post301/--post302/--post303): by default a
 * 301 or 302 turns a POST into a GET without its body, and a 303 turns any
 * method but HEAD into a GET; each bit set keeps the method and body for
 * that status instead (RFC 9110 allows both for 301 and 302). */
enum { FL_REDIR_POST_301 = 1, FL_REDIR_POST_302 = 2, FL_REDIR_POST_303 = 4 };
FL_EXPORT void fl_request_set_post_redirects(fl_request *req, unsigned mask);
/* trusted = 1 (curl's --location-trusted): credentials (Basic, Digest, the
 * user's Authorization and Cookie headers) go to every hop of a redirect
 * chain, other hosts too. Default 0: only to the first origin. */
FL_EXPORT void fl_request_set_trusted_redirects(fl_request *req, int trusted);
/* Schemes a redirect may lead to (curl's --proto-redir); a Location with
 * another fails the request with FL_EUNSUPPORTED_PROTOCOL (curl's 1).
 * 0 (default) = every scheme flurry speaks; FL_PROTO_NONE = no redirect
 * at all (each fails so). */
enum { FL_PROTO_HTTP = 1, FL_PROTO_HTTPS = 2, FL_PROTO_NONE = 0x100 };
FL_EXPORT void fl_request_set_redirect_protocols(fl_request *req, unsigned mask);
/* Authentication with whatever scheme the server asks for (curl's
 * --anyauth): the first request goes without credentials (and without
 * its body, as for Digest); a 401 whose WWW-Authenticate offers Digest is
 * answered with Digest, one that offers only Basic with Basic, on one more
 * request to the same URL; a second 401 is the result. user NULL: the
 * URL's userinfo. Replaces Basic or Digest credentials set before. */
FL_EXPORT int fl_request_set_any_auth(fl_request *req, const char *user, const char *password);

/* URL of the last hop (after redirects); the request URL before sending. */
FL_EXPORT const char *fl_request_effective_url(const fl_request *req);

/* multipart/form-data: fields and files; files are streamed from disk when
 * the request is sent (their size is taken at fl_request_set_multipart, so
 * the body has a Content-Length). The form must outlive the sends of every
 * request it is set on. */
typedef struct fl_form fl_form;
FL_EXPORT fl_form *fl_form_new(void);
FL_EXPORT void fl_form_free(fl_form *form);
FL_EXPORT int fl_form_add(fl_form *form, const char *name, const char *value);
/* filename and content_type may be NULL (basename of path; application/octet-stream). */
FL_EXPORT int fl_form_add_file(fl_form *form, const char *name, const char *path,
                               const char *filename, const char *content_type);
/* FL_EREAD when a file cannot be opened. */
FL_EXPORT int fl_request_set_multipart(fl_request *req, fl_form *form);

/* Connect this request to a Unix domain socket (see unix_socket in the
 * client options; abstract 1: an abstract name); overrides the client's.
 * NULL = the client's choice. Copied. 0 or FL_ENOMEM / FL_EINVAL (path
 * longer than 107 bytes). */
FL_EXPORT int fl_request_set_unix_socket(fl_request *req, const char *path, int abstract);

/* Allow a retry on a fresh connection for non-idempotent methods when a
 * reused connection fails before any response byte. */
FL_EXPORT void fl_request_set_retryable(fl_request *req, int retryable);

/* The HTTP version for this request (enum fl_http_version), overriding the
 * client's http_version. 0, or FL_EINVAL for an unknown version or while
 * the request is in flight. */
FL_EXPORT int fl_request_set_http_version(fl_request *req, int version);

/* Start the request. Returns 0 (cb will fire exactly once, later, from the
 * loop) or a negative fl_err found at once (bad URL, control bytes...; cb
 * will not fire). Valid URL schemes: http and https. */
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

/* Facts about one request, readable after (and during) it. Times are in
 * microseconds, each counted from the send call to the end of that phase
 * (as curl's -w times are); 0 where the phase did not happen (a reused
 * connection has no DNS or connect phase). */
typedef struct fl_info {
  uint64_t queue_us;      /* got a pool slot: an idle connection or a new one (0: at once) */
  uint64_t dns_us;        /* name resolved (cache hits: right after queue) */
  uint64_t connect_us;    /* TCP connected (since send) */
  uint64_t appconnect_us; /* TLS done (since send) */
  uint64_t first_byte_us; /* first response byte: the loop's wake-up that read it */
  uint64_t total_us;
  int dns_cache_hit;
  int reused;            /* served on a pooled keep-alive connection */
  int retries;           /* transparent retries on a fresh connection */
  int tls_resumed;       /* this request's new connection resumed a TLS session */
  int redirects;         /* redirects followed */
  int pipelined;         /* sent behind another request on a busy connection */
  int attempts;          /* attempts made under the retry policy (1 = no retry) */
  uint64_t throttled_us; /* time spent waiting for the rate limit */
  char remote_ip[46];
  uint16_t remote_port;
  uint64_t bytes_sent;
  uint64_t bytes_received;     /* body bytes as decoded */
  uint64_t bytes_received_raw; /* body bytes as received, before decoding (curl's size_download) */
  uint32_t num_connects;       /* new connections made for it (every hop and attempt) */
  char local_ip[46];           /* this end of the connection it went on */
  uint16_t local_port;
  /* The final response as it came off the connection (after TLS): status
   * line, headers, interim heads, chunk framing and trailers, body before
   * decoding; what wrk counts as transferred. 0 until it completed. */
  uint64_t wire_bytes_received;
  int64_t content_length; /* its Content-Length; -1 if none (curl's CONTENT_LENGTH_DOWNLOAD_T) */
  int http_version;       /* of the final response: 10, 11 or 20 (0 before any) */
  uint32_t stream_id;     /* HTTP/2 stream id of the final attempt; 0 on HTTP/1.x.
                             (reused is 1 also for a stream on an existing h2
                             connection) */
  int timecond_unmet;     /* fl_request_set_time_condition: the document did not meet it
                             (curl's CURLINFO_CONDITION_UNMET): a 304, or a 200 made one */
} fl_info;
FL_EXPORT const fl_info *fl_request_info(const fl_request *req);

/* ---------------------------------------------------------------- response
 * Valid once the headers callback or the done callback (err == 0) ran. */
FL_EXPORT const fl_response *fl_request_response(const fl_request *req);
FL_EXPORT int fl_response_status(const fl_response *res);
FL_EXPORT const char *fl_response_reason(const fl_response *res);
FL_EXPORT int fl_response_http_minor(const fl_response *res); /* 0 or 1 (0 for HTTP/2) */
/* 10, 11 or 20 (HTTP/1.0, HTTP/1.1, HTTP/2); 0 without a response. An
 * HTTP/2 response has no reason phrase (fl_response_reason is ""). */
FL_EXPORT int fl_response_version(const fl_response *res);
/* First header of that name (case-insensitive), or NULL. */
FL_EXPORT const char *fl_response_header(const fl_response *res, const char *name);
FL_EXPORT size_t fl_response_header_count(const fl_response *res);
/* i-th header in arrival order; 0 or FL_EINVAL when out of range. */
FL_EXPORT int fl_response_header_at(const fl_response *res, size_t i, const char **name,
                                    const char **value);
/* Buffered body (NUL-terminated for convenience; len excludes it). */
FL_EXPORT const char *fl_response_body(const fl_response *res, size_t *len);
/* Trailer fields of a chunked response (RFC 9110 6.5) or of an HTTP/2
 * response (the HEADERS after its DATA), kept apart from the headers;
 * valid once the done callback ran. Same rules as the header getters. */
FL_EXPORT const char *fl_response_trailer(const fl_response *res, const char *name);
FL_EXPORT size_t fl_response_trailer_count(const fl_response *res);
FL_EXPORT int fl_response_trailer_at(const fl_response *res, size_t i, const char **name,
                                     const char **value);

/* ----------------------------------------------------------- blocking use */
/* Send req on client and run the client's loop until req completes.
 * Not from inside a callback on that loop. Returns the request's error. */
FL_EXPORT int fl_request_perform(fl_client *client, fl_request *req);
/* One GET on a private loop and client. *out gets the completed request
 * (free it with fl_request_free) on success and on HTTP-level results. */
FL_EXPORT int fl_get(const char *url, fl_request **out);

/* --------------------------------------------------------------- WebSocket
 * A WebSocket client (RFC 6455, with permessage-deflate, RFC 7692), at the
 * level of aiohttp's ws_connect: the upgrade is an ordinary request on a
 * client (same DNS, TLS verification, proxy tunnel, cookies, auth, headers,
 * redirects before the 101, timeouts), and at the 101 its connection leaves
 * the pool for good and becomes the WebSocket's. Through an HTTP proxy
 * both ws:// and wss:// go through a CONNECT tunnel (a proxy does not relay
 * an upgrade sent to it in absolute form).
 *
 *   fl_ws *ws = fl_ws_new(NULL);                 // default options
 *   fl_request *req = fl_request_new("GET", "wss://example.org/chat");
 *   fl_ws_on_message(ws, on_message, ctx);        // or fl_ws_recv / FL_AWAIT_WS_RECV
 *   fl_ws_on_close(ws, on_close, ctx);
 *   fl_ws_connect(ws, client, req, on_open, ctx); // on_open(ws, err): then send
 *   ... fl_ws_send(ws, FL_WS_TEXT, "hi", 2); ... fl_ws_close(ws, 1000, "bye");
 *
 * Ownership and lifetimes
 * - fl_ws is the caller's (fl_ws_new / fl_ws_free); it belongs to the
 *   thread of the client's loop, and that loop must outlive it.
 * - fl_ws_connect borrows req and client until open_cb has run. req must not
 *   be sent, cancelled or freed meanwhile (fl_ws_abort or fl_ws_free the
 *   WebSocket instead). ws:// and wss:// become http:// and https:// in req
 *   (its URL getters show those); the upgrade headers are added to it.
 * - After open_cb (whatever err), req is completed and the caller's again:
 *   its response is the 101, or the refusal (FL_EWS_REFUSED: any status but
 *   101, body included) or the last redirect. An open fl_ws holds nothing of
 *   the request or the client: it may outlive both, fl_client_free
 *   included (the connection, its TLS state and any bytes read after the 101
 *   are its own).
 * - fl_ws_free may be called at any time, also from inside any of its
 *   callbacks: the connection is closed at once without a closing
 *   handshake and no callback runs after it.
 *
 * Callbacks, exactly once each, never from inside the call that started
 * what they report: open_cb once per fl_ws_connect; close_cb once after a
 * successful open (never if the open failed); message callbacks between
 * the two. Borrowed bytes (message data, reasons) are valid during the call.
 *
 * The connect takes a request rather than a URL so that a WebSocket over an
 * HTTP/2 stream (RFC 8441, extended CONNECT) can come later behind the same
 * calls: today the upgrade always goes on its own HTTP/1.1 connection,
 * never pipelined. */
typedef struct fl_ws fl_ws;

enum fl_ws_type { FL_WS_TEXT = 1, FL_WS_BINARY = 2, FL_WS_CLOSE = 8 };
/* Message flags (fragments mode): this call holds the first / last piece
 * of its message; a whole message has both. */
enum { FL_WS_FIRST = 1, FL_WS_LAST = 2 };

typedef struct fl_ws_options {
  /* Subprotocols to offer (Sec-WebSocket-Protocol), NULL-terminated, or NULL.
   * A server choosing one not offered fails the connect (FL_EWS_HANDSHAKE). */
  const char *const *subprotocols;
  /* Offer permessage-deflate (default 1). Messages are compressed both ways
   * when the server agrees; context takeover and window bits as it answers. */
  int compress;
  int compress_no_context_takeover; /* ask for no context takeover both ways
                                        (less memory per connection); default 0 */
  int compress_window_bits;         /* server_max_window_bits to ask (8-15); 0 = none */
  /* Largest message received, in bytes after inflating; bigger ones fail
   * the connection with close 1009 (FL_EWS_TOO_BIG). Default 4 MiB; 0 = no
   * limit. */
  uint64_t max_message;
  /* 1: hand received messages on in pieces as their bytes arrive (flags say
   * first / last); 0 (default): whole messages. */
  int fragments;
  /* Send a ping every heartbeat_ms of the connection (0 = off, the default);
   * if its pong does not come within pong_timeout_ms (default: heartbeat_ms),
   * the connection is dropped: close_cb with FL_ETIMEOUT and code 1006. */
  uint32_t heartbeat_ms;
  uint32_t pong_timeout_ms;
  /* Longest silence from the server before the connection is dropped
   * (FL_EREAD_TIMEOUT, code 1006). 0 (default) = none. */
  uint32_t read_timeout_ms;
  /* After our close frame, how long to wait for the server's (default
   * 5000): then the connection is dropped (close_cb err 0 if the close was
   * ours and clean so far, code 1006). */
  uint32_t close_timeout_ms;
  /* Send queue high-water mark in bytes (default 1 MiB): fl_ws_send
   * returns 1 once the bytes waiting exceed it; drain_cb says when they
   * fell back below it. Nothing is ever dropped. */
  size_t high_water;
} fl_ws_options;
FL_EXPORT void fl_ws_options_init(fl_ws_options *o);

/* err 0: open (fl_ws_protocol says the subprotocol). Else FL_EWS_REFUSED,
 * FL_EWS_HANDSHAKE, FL_ECANCELED, or any request error (FL_ECONNECT,
 * FL_ECERT_VERIFY, timeouts...); detail in fl_ws_errmsg. */
typedef void (*fl_ws_open_cb)(fl_ws *ws, int err, void *data);
/* A message (type FL_WS_TEXT, UTF-8 checked, or FL_WS_BINARY), or a piece
 * of one in fragments mode. */
typedef void (*fl_ws_message_cb)(fl_ws *ws, int type, const char *msg, size_t len, int flags,
                                 void *data);
/* The WebSocket ended. err 0: the closing handshake completed (code and
 * reason are the server's close frame; 1005 when it had none), whoever
 * started it. FL_EWS_PROTOCOL / FL_EWS_TOO_BIG: the server broke the
 * protocol, we sent close `code` (1002, 1007, 1009) and dropped the
 * connection. FL_EWS_ABNORMAL: the connection ended without a close frame
 * (code 1006). FL_ETIMEOUT (heartbeat), FL_EREAD_TIMEOUT, FL_ECANCELED
 * (fl_ws_abort), FL_ESEND, FL_ERECV...: code 1006. The fl_ws may be freed
 * from inside. */
typedef void (*fl_ws_close_cb)(fl_ws *ws, int err, int code, const char *reason, void *data);
typedef void (*fl_ws_event_cb)(fl_ws *ws, void *data);

/* opts may be NULL for defaults; copied (subprotocol names too). NULL on
 * OOM or bad options (window bits outside 8-15). */
FL_EXPORT fl_ws *fl_ws_new(const fl_ws_options *opts);
FL_EXPORT void fl_ws_free(fl_ws *ws);
/* Upgrade req (method GET; URL ws://, wss://, http:// or https://) on
 * client. 0 (open_cb will run) or an error found at once (FL_EINVAL: used
 * already; FL_EUNSUPPORTED_PROTOCOL; any fl_request_send error). */
FL_EXPORT int fl_ws_connect(fl_ws *ws, fl_client *client, fl_request *req, fl_ws_open_cb cb,
                            void *data);
/* Set before or after connecting (a message arriving with no callback and no
 * fl_ws_recv waits in fl_ws_recv's queue). */
FL_EXPORT void fl_ws_on_message(fl_ws *ws, fl_ws_message_cb cb, void *data);
FL_EXPORT void fl_ws_on_close(fl_ws *ws, fl_ws_close_cb cb, void *data);
/* The send queue fell from above the high-water mark to below it. */
FL_EXPORT void fl_ws_on_drain(fl_ws *ws, fl_ws_event_cb cb, void *data);
/* Pull mode (no message callback): a message or the end is ready. */
FL_EXPORT void fl_ws_on_readable(fl_ws *ws, fl_ws_event_cb cb, void *data);

/* Send a whole message (type FL_WS_TEXT or FL_WS_BINARY). Copied (and
 * masked) at once. Text must be valid UTF-8 (RFC 6455 5.6: a server fails
 * the connection with 1007 otherwise): FL_EWS_UTF8 and nothing sent if it
 * is not. 0: queued or sent; 1: queued, and the queue is now above the
 * high-water mark (wait for drain_cb before sending more); FL_EWS_CLOSED
 * after fl_ws_close or the end; FL_EINVAL before open, for a bad type, or
 * while a fragmented send is open; FL_ENOMEM; the error ending the
 * WebSocket if writing failed (close_cb follows). */
FL_EXPORT int fl_ws_send(fl_ws *ws, int type, const void *data, size_t len);
/* A message sent in pieces: type on the first piece (ignored after), last
 * = 1 on the final one. Control frames may go between pieces. Returns as
 * fl_ws_send. A text message's UTF-8 is checked across its pieces: a piece
 * may end inside a character that the next one completes, but a piece with
 * a byte that no continuation can make valid, or a last piece that ends
 * inside a character, gives FL_EWS_UTF8 and is not sent (the message stays
 * open: send a valid piece, or end it with a valid last one). */
FL_EXPORT int fl_ws_send_fragment(fl_ws *ws, int type, const void *data, size_t len, int last);
/* A ping (payload <= 125 bytes; FL_EINVAL otherwise). Pongs to the
 * server's pings are sent automatically. */
FL_EXPORT int fl_ws_ping(fl_ws *ws, const void *data, size_t len);
/* Start the closing handshake: code 1000-1003, 1007-1014 or 3000-4999 (0
 * = 1000), reason UTF-8 of at most 123 bytes (NULL = none); FL_EINVAL
 * otherwise. close_cb runs once the server answered (or close_timeout_ms
 * passed). Messages arriving meanwhile are still delivered. */
FL_EXPORT int fl_ws_close(fl_ws *ws, int code, const char *reason);
/* End now, without a closing handshake: a pending connect completes with
 * FL_ECANCELED, an open WebSocket's close_cb runs with FL_ECANCELED (both
 * from the loop). FL_EINVAL when there is nothing to abort. */
FL_EXPORT int fl_ws_abort(fl_ws *ws);

/* Pull mode. */
typedef struct fl_ws_msg {
  int type;         /* FL_WS_TEXT, FL_WS_BINARY, or FL_WS_CLOSE: the end */
  const char *data; /* the message (or the close reason); valid until the
                       next fl_ws_recv or fl_ws_free */
  size_t len;
  int err;  /* FL_WS_CLOSE: close_cb's err */
  int code; /* FL_WS_CLOSE: close_cb's code */
} fl_ws_msg;
/* 1: *msg holds the next message (or, once all were taken, the end, again
 * on every call); 0: none yet (readable_cb comes when there is); FL_EINVAL
 * with a message callback set or before a connect. Reading from the socket
 * stops while a message waits here (backpressure). */
FL_EXPORT int fl_ws_recv(fl_ws *ws, fl_ws_msg *msg);

/* Bytes queued and not yet written to the socket. */
FL_EXPORT size_t fl_ws_buffered(const fl_ws *ws);
/* The subprotocol the server chose, or NULL. */
FL_EXPORT const char *fl_ws_protocol(const fl_ws *ws);
/* The extensions in use as agreed ("permessage-deflate; ..."), or "". */
FL_EXPORT const char *fl_ws_extensions(const fl_ws *ws);
/* Why the connect or the WebSocket failed; "" if it did not. */
FL_EXPORT const char *fl_ws_errmsg(const fl_ws *ws);
FL_EXPORT fl_loop *fl_ws_loop(const fl_ws *ws); /* NULL before a connect */

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

/* ------------------------------------------------ coroutines and groups
 * Async code that reads top to bottom, on one loop, without a runtime:
 * stackless coroutines (FL_CORO_*, FL_AWAIT_*), groups of requests
 * (fl_gather: gather and as_completed), fl_map (grequests.map) and
 * fl_map_threads (one loop and client per thread). All built on the API
 * above; like it, each object belongs to the thread of its loop. */

/* ---- gather / as_completed
 * A group of requests sent on one client. One callback when all are done
 * (results in submit order), and optionally one per request as each one
 * finishes. A member's failure is its own: the others keep their results.
 *
 *   fl_gather *g = fl_gather_new(client);
 *   for (i = 0; i < n; i++) fl_gather_add_get(g, urls[i]);
 *   fl_gather_set_limit(g, 100);             // at most 100 in flight
 *   fl_gather_on_each(g, print_one, NULL);   // as_completed (optional)
 *   fl_gather_start(g, all_done, NULL);      // gather
 *   ...run the loop; in all_done (or after it):
 *   for (i = 0; i < fl_gather_count(g); i++)
 *     if (fl_gather_error(g, i) == 0)
 *       use(fl_request_response(fl_gather_request(g, i)));
 *   fl_gather_free(g);                       // frees the requests too
 *
 * That is also the asynchronous form of fl_map: a gather of GETs with a
 * limit. Rules:
 * - fl_gather_add takes ownership of the request (on success); the gather
 *   frees it in fl_gather_free unless fl_gather_take gave it back. Members
 *   are numbered from 0 in the order they were added; add before start.
 * - Members are sent in that order, at most `limit` at a time. A member
 *   whose send fails at once (malformed URL...) completes with that error,
 *   from the loop like the others; it does not stop the group.
 * - each_cb fires exactly once per member, done_cb exactly once per gather
 *   after the last each_cb; both from the loop, never from inside
 *   fl_gather_start. A gather with no member completes on the next loop
 *   iteration.
 * - fl_gather_cancel: every member not finished yet completes with
 *   FL_ECANCELED (each_cb still fires for each, then done_cb once).
 *   Members already finished, or whose completion is already under way,
 *   keep their result. May be called from inside each_cb.
 * - fl_gather_free may be called at any time, also from inside either
 *   callback: members in flight are cancelled silently (no more callbacks).
 * - Do not send, resend, cancel or free a member request yourself while the
 *   gather holds it. Free a gather before its client. */
typedef struct fl_gather fl_gather;
/* All members finished (or were cancelled). */
typedef void (*fl_gather_cb)(fl_gather *g, void *data);
/* Member `index` finished with err (0: req holds a response, any status). */
typedef void (*fl_gather_each_cb)(fl_gather *g, size_t index, fl_request *req, int err, void *data);

/* NULL on OOM or a NULL client. */
FL_EXPORT fl_gather *fl_gather_new(fl_client *client);
FL_EXPORT void fl_gather_free(fl_gather *g);
/* Takes ownership of req (which must not be in flight) on success.
 * FL_EINVAL after start or for NULL; FL_ENOMEM. */
FL_EXPORT int fl_gather_add(fl_gather *g, fl_request *req);
/* fl_gather_add(g, fl_request_new("GET", url)). A malformed URL is not an
 * error here: that member completes with FL_EURL_MALFORMAT. */
FL_EXPORT int fl_gather_add_get(fl_gather *g, const char *url);
/* At most `limit` members in flight; 0 (default) = all at once (the
 * client's max_connections still bounds connections; the rest queue in its
 * pool). Before start. */
FL_EXPORT int fl_gather_set_limit(fl_gather *g, size_t limit);
/* as_completed: cb fires as each member finishes. Before start. */
FL_EXPORT int fl_gather_on_each(fl_gather *g, fl_gather_each_cb cb, void *data);
/* Send the members; done_cb (may be NULL) fires once when all finished.
 * 0, or FL_EINVAL if already started. */
FL_EXPORT int fl_gather_start(fl_gather *g, fl_gather_cb done_cb, void *data);
/* 0, or FL_EINVAL if not started or already finished. */
FL_EXPORT int fl_gather_cancel(fl_gather *g);

FL_EXPORT size_t fl_gather_count(const fl_gather *g);    /* members added */
FL_EXPORT size_t fl_gather_finished(const fl_gather *g); /* members finished */
FL_EXPORT size_t fl_gather_failed(const fl_gather *g);   /* finished with err != 0 */
/* Member i's result: 0 (a response) or its fl_err; FL_EINVAL when i is out
 * of range or the member has not finished. Use this rather than
 * fl_request_error: a member cancelled before it was sent has no error of
 * its own. */
FL_EXPORT int fl_gather_error(const fl_gather *g, size_t i);
/* Member i's request (borrowed; NULL if out of range or taken). */
FL_EXPORT fl_request *fl_gather_request(const fl_gather *g, size_t i);
/* Give member i's request back to the caller (who frees it). Only once it
 * finished; NULL otherwise. Its result stays readable with fl_gather_error. */
FL_EXPORT fl_request *fl_gather_take(fl_gather *g, size_t i);

/* ---- map (grequests.map)
 * GET each of urls[0..n-1] on client, at most `concurrency` at a time (0 =
 * all at once), running the client's loop until all finished (not from
 * inside a callback on that loop). results[i] gets the request for urls[i]:
 * its response, or its error in fl_request_error / fl_request_errmsg; the
 * caller frees each. Returns the number of URLs that failed (0 = every one
 * got a response, whatever its status), or a negative fl_err (FL_EINVAL,
 * FL_ENOMEM) if the map could not run, with every results[i] NULL. For the
 * asynchronous form, use a gather with a limit (above).
 *
 *   fl_request *res[3];
 *   const char *urls[3] = {"http://127.0.0.1:8080/get?id=0", ...};
 *   int failed = fl_map(client, urls, 3, 2, res);
 *   for (i = 0; failed >= 0 && i < 3; i++) { ...; fl_request_free(res[i]); } */
FL_EXPORT int fl_map(fl_client *client, const char *const *urls, size_t n, size_t concurrency,
                     fl_request **results);

/* fl_map over `nthreads` threads. This helper starts threads, at the
 * caller's request (the rest of the library never does): each runs its own
 * loop and client (made with opts, which may be NULL) and takes the next
 * URL from the shared list whenever one of its `concurrency_per_thread`
 * slots is free (0 = an equal share, ceil(n / nthreads)). Blocks until
 * every thread finished and was joined, so results are plain data for the
 * caller. Returns like fl_map; FL_EINVAL for nthreads == 0. Each result
 * request belongs to the calling thread afterwards (it was completed and
 * its loop freed; it can be resent on any client). */
FL_EXPORT int fl_map_threads(const char *const *urls, size_t n, unsigned nthreads,
                             size_t concurrency_per_thread, const fl_client_options *opts,
                             fl_request **results);

/* ---- stackless coroutines
 * A coroutine is a function `void body(fl_coro *co)` whose progress lives in
 * an fl_coro embedded in the caller's struct. FL_AWAIT_* return from the
 * body after recording where it stopped; when the awaited thing completes,
 * the body is called again and FL_CORO_BEGIN's switch jumps back to that
 * point (protothreads: a switch on __LINE__, no stack switching).
 *
 *   typedef struct worker {
 *     fl_coro co;             // the coroutine's state: any member
 *     fl_client *client;
 *     fl_request *req;
 *     int i;                  // loop counters live here, not in locals
 *     long total;
 *   } worker;
 *
 *   static void worker_body(fl_coro *co) {
 *     worker *w = FL_CORO_SELF(co, worker, co); // recomputed on each entry
 *     FL_CORO_BEGIN(co);
 *     for (w->i = 0; w->i < 3; w->i++) {
 *       char url[64];                           // dead after the await
 *       snprintf(url, sizeof url, "http://127.0.0.1:8080/get?n=%d", w->i);
 *       fl_request_set_url(w->req, url);
 *       FL_AWAIT_SEND(co, w->client, w->req);
 *       if (co->err) break;                     // FL_ECONN_REFUSED, ...
 *       w->total += fl_response_status(fl_request_response(w->req));
 *     }
 *     FL_CORO_END(co);
 *   }
 *
 *   fl_coro_start(&w->co, worker_body, on_worker_end, NULL);
 *   while (!fl_coro_ended(&w->co)) fl_loop_run(loop, FL_RUN_ONCE);
 *
 * THE RULES
 * 1. State lives in the struct, not in locals. Locals do not survive an
 *    await: the body returns there and is entered again from the top. Only
 *    values recomputed before FL_CORO_BEGIN (such as the struct pointer)
 *    or set after the last await may be kept in locals.
 * 2. No `switch` statement around an await, and at most one await per
 *    source line: the macros are `case __LINE__:` labels of the switch in
 *    FL_CORO_BEGIN, so an inner switch would capture them (a second await
 *    on one line is a duplicate-case compile error). Use if/else chains.
 *    (GCC's computed goto would lift this, but is not portable C.)
 * 3. Errors arrive at any await: check co->err after each one (0, or a
 *    negative fl_err such as FL_ECANCELED). FL_AWAIT_SEND sets it from the
 *    request's completion, or at once if the send itself failed (then it
 *    does not yield). A response with status 404 is co->err == 0.
 * 4. The body ends only by reaching FL_CORO_END or FL_CORO_EXIT: never
 *    `return` from it (a return is taken as a yield to nowhere). Then
 *    done_cb runs; the struct may be freed from there, not before.
 * 5. To cancel, call fl_coro_cancel: the await in progress completes with
 *    FL_ECANCELED (it cancels the awaited request or gather), and so does
 *    every later await, at once; the body should then reach its end.
 * 6. fl_coro_start runs the body at once, up to its first await, like a
 *    function call; if it ends without awaiting, done_cb runs before
 *    fl_coro_start returns. Resuming a coroutine that is running (say from
 *    a child's done_cb) is not recursive: it runs again after it yields.
 * 7. A coroutine runs on the thread of the loop whose callbacks resume it. */
typedef struct fl_coro fl_coro;
typedef void (*fl_coro_fn)(fl_coro *co);
/* The body reached its end. */
typedef void (*fl_coro_done_cb)(fl_coro *co, void *data);

/* Visible so it can be embedded; only err is for the body to read. */
struct fl_coro {
  int err;  /* result of the last await: 0 or a negative fl_err */
  int line; /* resume point: 0 = top, -1 = ended (macros) */
  fl_coro_fn fn;
  fl_coro_done_cb done_cb;
  void *data;
  fl_request *awaiting;  /* the request FL_AWAIT_SEND waits for */
  fl_gather *awaiting_g; /* the gather FL_AWAIT_GATHER waits for */
  fl_ws *awaiting_ws;    /* the WebSocket FL_AWAIT_WS_CONNECT waits for */
  unsigned char running, again, woken, canceled;
};

/* Start co (any previous state is reset) and run it up to its first await.
 * done_cb (may be NULL) runs once when the body ends. */
FL_EXPORT void fl_coro_start(fl_coro *co, fl_coro_fn fn, fl_coro_done_cb done_cb, void *data);
/* Run co again from where it waits: wakes FL_CORO_YIELD, re-checks
 * FL_AWAIT_UNTIL. Harmless on a coroutine waiting for a request or a
 * gather (it goes on waiting) or one that ended. */
FL_EXPORT void fl_coro_resume(fl_coro *co);
/* See rule 5. No-op on an ended coroutine. */
FL_EXPORT void fl_coro_cancel(fl_coro *co);
FL_EXPORT int fl_coro_ended(const fl_coro *co);
/* Used by the macros: send req (or start g) so that its completion resumes
 * co. 0, or the error of fl_request_send / fl_gather_start (no yield then);
 * FL_ECANCELED after fl_coro_cancel. */
FL_EXPORT int fl_coro_send(fl_coro *co, fl_client *client, fl_request *req);
FL_EXPORT int fl_coro_gather(fl_coro *co, fl_gather *g);
/* Used by the WebSocket macros: connect so that open resumes co; make ws's
 * readable_cb resume co. */
FL_EXPORT int fl_coro_ws_connect(fl_coro *co, fl_ws *ws, fl_client *client, fl_request *req);
FL_EXPORT void fl_coro_ws_watch(fl_coro *co, fl_ws *ws);

/* The struct holding member `field` == co (container_of). */
#define FL_CORO_SELF(co, type, field) ((type *)(void *)((char *)(co)-offsetof(type, field)))

#define FL_CORO_BEGIN(co)                                                                          \
  switch ((co)->line) {                                                                            \
  case 0:
#define FL_CORO_END(co)                                                                            \
  }                                                                                                \
  (co)->line = -1;                                                                                 \
  return
/* End the body here (as if it reached FL_CORO_END). */
#define FL_CORO_EXIT(co)                                                                           \
  do {                                                                                             \
    (co)->line = -1;                                                                               \
    return;                                                                                        \
  } while (0)

/* Internal: yield until cond holds; cond is evaluated again on each resume. */
#define FL__CORO_WAIT(co, cond)                                                                    \
  if (!(cond)) {                                                                                   \
    (co)->line = __LINE__;                                                                         \
    return;                                                                                        \
  case __LINE__:                                                                                   \
    if (!(cond)) return;                                                                           \
  }

/* Wait until side-effect-free cond holds, re-checked each time co is
 * resumed (fl_coro_resume): co->err = 0, or FL_ECANCELED if cancelled first. */
#define FL_AWAIT_UNTIL(co, cond)                                                                   \
  do {                                                                                             \
    FL__CORO_WAIT(co, (cond) || (co)->canceled)                                                    \
    (co)->err = (cond) ? 0 : FL_ECANCELED;                                                         \
  } while (0)

/* Yield once: go on at the next fl_coro_resume (co->err = 0), or when
 * cancelled (co->err = FL_ECANCELED). */
#define FL_CORO_YIELD(co)                                                                          \
  do {                                                                                             \
    (co)->woken = 0;                                                                               \
    FL__CORO_WAIT(co, (co)->woken || (co)->canceled)                                               \
    (co)->err = (co)->woken ? 0 : FL_ECANCELED;                                                    \
  } while (0)

/* Send req on client and wait for it; then co->err is its result (0: the
 * response is in req). */
#define FL_AWAIT_SEND(co, client, req)                                                             \
  do {                                                                                             \
    (co)->err = fl_coro_send((co), (client), (req));                                               \
    if ((co)->err == 0) {                                                                          \
      FL__CORO_WAIT(co, (co)->awaiting == NULL)                                                    \
    }                                                                                              \
  } while (0)

/* Start gather g and wait until all its members finished (asyncio.gather);
 * co->err is 0 (members hold their own results) or FL_ECANCELED. */
#define FL_AWAIT_GATHER(co, g)                                                                     \
  do {                                                                                             \
    (co)->err = fl_coro_gather((co), (g));                                                         \
    if ((co)->err == 0) {                                                                          \
      FL__CORO_WAIT(co, (co)->awaiting_g == NULL)                                                  \
    }                                                                                              \
  } while (0)

/* Upgrade req on client into ws (fl_ws_connect) and wait for the open;
 * co->err is open_cb's err. */
#define FL_AWAIT_WS_CONNECT(co, ws, client, req)                                                   \
  do {                                                                                             \
    (co)->err = fl_coro_ws_connect((co), (ws), (client), (req));                                   \
    if ((co)->err == 0) {                                                                          \
      FL__CORO_WAIT(co, (co)->awaiting_ws == NULL)                                                 \
    }                                                                                              \
  } while (0)

/* Wait for the next message of ws (pull mode, fl_ws_recv) into *msg (a
 * fl_ws_msg that lives in the coroutine's struct): co->err = 0 and msg->type
 * FL_WS_TEXT / FL_WS_BINARY, or FL_WS_CLOSE once the WebSocket ended
 * (msg->err, msg->code say how); FL_ECANCELED if cancelled first. */
#define FL_AWAIT_WS_RECV(co, ws, msg)                                                              \
  do {                                                                                             \
    fl_coro_ws_watch((co), (ws));                                                                  \
    FL__CORO_WAIT(co, ((co)->err = fl_ws_recv((ws), (msg))) != 0 || (co)->canceled)                \
    (co)->err = (co)->err == 1 ? 0 : (co)->err < 0 ? (co)->err : FL_ECANCELED;                     \
  } while (0)

#ifdef __cplusplus
}
#endif
#endif /* FLURRY_H */
