/* A request: what the user built (method, URL, headers, body, callbacks)
 * and, while in flight, one attempt at a time through the state machine:
 *
 *   send -> route -> [THROTTLED] -> QUEUED (pool) -> CONNECTING -> SENDING
 *        -> WAITING -> RECEIVING -> done: redirect (next hop, from route),
 *           retry (BACKOFF, then route), or COMPLETING -> callback -> IDLE
 *
 * (send sets ROUTING until the attempt joins the pool.) One state setter
 * (fl__request_set_state) arms the timer of each state; every change goes
 * through it, and it is the call site of the state's hook events.
 *
 * Lifetimes
 * - fl_request is the user's (fl_request_new/free). While in flight the
 *   client links it (inflight_node), the pool may queue its waiter, a
 *   connection may carry its exchange. All three links are cut before its
 *   done callback runs, and fl_request_free cuts them without a callback.
 * - The done callback runs from the loop, exactly once per send, never
 *   from inside fl_request_send. */
#ifndef FL_REQUEST_H
#define FL_REQUEST_H

#include <stdarg.h>

#include "base/buf.h"
#include "base/headers.h"
#include "base/url.h"
#include "client/client.h"
#include "client/digest.h"
#include "client/ratelimit.h"
#include "client/route.h"
#include "engine/pool.h"
#include "http/cookies.h"
#include "http/exchange.h"
#include "http/response.h"
#include "loop/loop.h"
#include "net/transport.h"

typedef enum fl__req_state {
  FL__REQ_IDLE = 0,   /* built or completed */
  FL__REQ_QUEUED,     /* waiting for a pool slot */
  FL__REQ_CONNECTING, /* a new connection is being made for it */
  FL__REQ_SENDING,    /* writing the request */
  FL__REQ_WAITING,    /* request sent, no response byte yet */
  FL__REQ_RECEIVING,  /* response bytes arriving */
  FL__REQ_COMPLETING, /* result decided, callback deferred */
  FL__REQ_THROTTLED,  /* waiting for a rate-limit token */
  FL__REQ_BACKOFF,    /* waiting to retry under the retry policy */
  FL__REQ_ROUTING     /* sent, its attempt not yet queued (route, rate limit) */
} fl__req_state;

/* Default headers a request may remove. */
enum { FL__DEF_USER_AGENT = 1, FL__DEF_ACCEPT = 2, FL__DEF_EXPECT = 4 };

/* Bytes of a followed redirect's body we read before giving up the
 * connection instead. */
#define FL__REDIRECT_DISCARD_CAP 65536

struct fl_request {
  /* what to send */
  char *method;
  char *url_text;
  fl__url url;
  int url_parsed; /* url matches url_text */
  int path_as_is; /* fl_request_set_path_as_is: dot segments kept */
  char *target;   /* fl_request_set_request_target, or NULL: the URL's */
  fl__headers headers;
  unsigned removed_defaults;
  fl__buf body;
  int has_body;
  fl_upload_cb upload_cb;
  void *upload_data;
  int64_t upload_len;                    /* -1: unknown, sent chunked; else Content-Length */
  int (*upload_rewind)(fl_request *req); /* internal bodies that can be replayed */
  int upload_taken; /* this send read body bytes from upload_cb: without upload_rewind,
                      an attempt that took them cannot be sent again */
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
  int auth_digest;                       /* they (or the URL's) answer Digest challenges instead */
  uint64_t max_filesize;
  fl_form *form;   /* multipart body, or NULL */
  char *save_path; /* fl_request_save_to, or NULL */
  int save_fd;     /* open while a body is being saved, else -1 */
  int has_retry;
  fl_retry_policy retry;
  int http_version; /* FL_HTTP_VERSION_*, or -1: the client's */
  /* policy.c: curl's per-transfer policies (fl_request_set_max_recv_speed ...) */
  uint64_t recv_rate;       /* body bytes per second, 0 = no cap */
  uint64_t send_rate;       /* request body bytes per second, 0 = no cap */
  int timecond;             /* fl_timecond */
  int64_t timecond_time;    /* unix seconds */
  unsigned post_redirs;     /* FL_REDIR_POST_* */
  int trusted_redirects;    /* credentials follow the chain to other origins */
  unsigned redir_protocols; /* FL_PROTO_* a redirect may lead to; 0 = all */
  int auth_any;             /* answer Basic or Digest, as the 401 asks (auth.c) */

  /* in flight */
  fl__req_state state;
  fl_client *client;
  fl__queue inflight_node; /* client->inflight */
  fl__route route;         /* this hop's origin and endpoint */
  char *unix_path;         /* fl_request_set_unix_socket, or NULL: the client's */
  int unix_abstract;
  uint64_t route_client;     /* the route was built for this client (its id) and */
  int route_valid;           /* the current URL: resends reuse it */
  int head_reusable;         /* ex.head is this request's hop-0 head and nothing it
                              depends on changed since (setters clear it) */
  const char *shaped_method; /* hop_method that shaped_* describe; setters clear it */
  int shaped_head, shaped_pipelinable;
  int in_send;                     /* inside fl_request_send (a grant there is immediate) */
  const fl_timeouts *timeouts_now; /* in flight: the request's timeouts or its client's */
  int retry_on;                    /* in flight: the retry policy may retry at all */
  fl_loop *timers_loop;            /* the timers and the defer below are set up for it */
  fl__throttle throttle;           /* the rate limiter's queue */
  fl__waiter waiter;               /* the pool's queue */
  fl__exchange ex;                 /* carried by a connection */
  fl_done_cb cb;
  void *cb_data;
  fl__timer total_timer;
  fl__timer phase_timer;
  uint64_t phase_deadline; /* loop ms; lazy re-arm for read idle */
  uint32_t read_ms;
  fl__defer complete_defer;
  int want_fresh_conn;           /* retry: never take an idle connection */
  int paused;                    /* by the user (fl_request_pause) */
  int rate_paused;               /* by the speed cap, until its timer fires */
  int rate_done;                 /* ... and the response is complete: it completes then */
  struct fl__speedcap *speedcap; /* the cap's clock and timer (policy.c), or NULL */
  uint64_t start_us;
  uint64_t body_limit;     /* effective buffered-body cap */
  uint64_t filesize_now;   /* effective max_filesize (0: none): set by send, and by the
                            setter in flight */
  uint64_t settled_client; /* the client (id) timeouts_now, retry_on, body_limit and
                              filesize_now were worked out for; 0: again at the next
                              send (their setters clear it) */

  /* WebSocket upgrade (client/ws_connect.c): a 101 hands the connection
   * over into upgrade->tp and ->rest; the WebSocket takes them in its done
   * callback, and what is left there is closed at the next send or free. */
  struct fl_ws *ws;                /* the WebSocket this request opens, or NULL */
  struct fl__req_upgrade *upgrade; /* allocated by the first fl_ws_connect, or NULL */

  /* across the hops of one send (redirects) */
  const char *hop_method; /* method of the current hop (GET after 303) */
  int hop_drop_body;      /* a redirect turned the request into a bodiless GET */
  int stripped_auth;      /* left the first origin: credentials never sent again */
  fl__buf origin;         /* "scheme://host:port" of the first hop */
  fl__buf effective_url;
  int discarding; /* body of a redirect we follow: counted, dropped */
  uint64_t discarded;
  struct fl__decoder *decoder;
  struct fl__req_digests *digests; /* the Digest challenges being answered, or NULL */
  int digest_answered;             /* this URL's 401 was answered already: another is final */
  int proxy_digest_answered;       /* the same for the proxy's 407 */
  int auth_probe;                  /* this hop's body was left out until a challenge comes
                                (hop_drop_body set for it alone) */

  /* outcome */
  int err;
  char *errmsg;    /* FL__ERRMSG_CAP bytes, or NULL: no message yet (request_mem.c) */
  int errmsg_lost; /* a message could not be kept (no memory for the buffer) */
  fl_info info;
  fl_response res;
};

/* The parts of a request most never use, out of line and allocated on
 * first use (request_mem.c), so that a request a benchmark or a server
 * sends over and over stays small; each is freed with the request.
 * - errmsg: the outcome's message, FL__ERRMSG_CAP bytes from the first
 *   message on (a request that never fails has none). When that allocation
 *   fails the message is lost and fl_request_errmsg says fl_strerror(err).
 * - digests: the server's and the proxy's Digest challenges (auth.c), from
 *   the first challenge answered.
 * - speedcap: the receive speed cap's clock and timer (policy.c), from the
 *   first body byte of a capped request.
 * - upgrade: where a WebSocket upgrade's connection lands, from the first
 *   fl_ws_connect (FL_ENOMEM from it without memory). */
#define FL__ERRMSG_CAP 256

struct fl__req_digests {
  fl__digest www;   /* the server's challenge being answered (nonce NULL: none) */
  fl__digest proxy; /* the HTTP proxy's */
};

/* A WebSocket upgrade's catch (ws_connect.c): the connection after the
 * 101 and the bytes read after it. */
struct fl__req_upgrade {
  fl__transport tp;
  fl__buf rest;
};
/* req->upgrade, allocated on first use: NULL without memory. */
struct fl__req_upgrade *fl__request_upgrade(fl_request *req);
/* Close an upgraded connection nobody took, drop its bytes (harmless
 * without one). */
void fl__request_upgrade_drop(fl_request *req);

/* Set the outcome's message (formatted as printf). */
void fl__request_msg(fl_request *req, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fl__request_msgv(fl_request *req, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Forget the message (errmsg_lost is reset by the next send). */
static inline void fl__request_msg_clear(fl_request *req) {
  if (req->errmsg) req->errmsg[0] = '\0';
}
static inline int fl__request_has_msg(const fl_request *req) {
  return (req->errmsg && req->errmsg[0]) || req->errmsg_lost;
}
/* The Digest challenges, allocated on first use: NULL without memory. */
struct fl__req_digests *fl__request_digests(fl_request *req);
/* A challenge is being answered (the head carries credentials). */
static inline int fl__request_has_digest(const fl_request *req) {
  return req->digests && (req->digests->www.nonce || req->digests->proxy.nonce);
}
/* Free what request_mem.c allocated (fl_request_free). */
void fl__request_mem_free(fl_request *req);

/* request.c: the state machine */
/* The state setter's timer part (request.c): the deadline of st, one of
 * QUEUED..RECEIVING. */
void fl__request_arm_state(fl_request *req, fl__req_state old, fl__req_state st);
/* Start the current hop's next attempt: route, rate limit, pool. */
void fl__request_attempt(fl_request *req);
/* Decide the outcome now (the retry policy may turn an error into another
 * attempt) and complete from the loop. fmt NULL keeps req->errmsg. */
void fl__request_finish(fl_request *req, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* End the current attempt: off every queue, off its connection. */
void fl__request_detach_attempt(fl_request *req);
/* fl_request_free on an in-flight request: cancel without a callback. */
void fl__request_abandon(fl_request *req);
/* fl_client_free: complete it now with FL_ECANCELED. */
void fl__request_cancel_for_free(fl_request *req);
/* The exchange ended (receive.c hands these on). */
void fl__request_exchange_done(fl_request *req);
void fl__request_exchange_failed(fl_request *req, const fl__ex_failure *f);
/* Drop the decoder and the file being saved (end of a response). */
void fl__request_end_body(fl_request *req);

/* hooks.c: the request's events (call only when req->client->hooks.on_event
 * is set: the caller's test is the cost without hooks). */
void fl__hook_request(fl_request *req, fl_event_kind kind, int err, int status);
/* The state setter's events: REQUEST_START/END, POOL_WAIT_START/END. */
void fl__hook_state(fl_request *req, fl__req_state old, fl__req_state st);
/* A retry is decided (RETRY), before its attempt starts. */
void fl__hook_retry(fl_request *req, int err, uint32_t delay_ms, int next_attempt);
/* A redirect is followed to req->effective_url (REDIRECT). */
void fl__hook_redirect(fl_request *req, int status);
/* The pre-send hook on this attempt's head (ex.rh just built): 0, or an
 * error for the attempt (req->errmsg set). */
int fl__hook_pre_send(fl_request *req);
static inline int fl__hooked(const fl_client *c) { return FL__UNLIKELY(c->hooks.on_event != NULL); }

/* The one state setter: every state change of a request goes through it.
 * It arms the deadline that belongs to the new state and is the one call
 * site of the events a state change is (request start and end, pool wait
 * start and end). Inline: a state without a timer (ROUTING, COMPLETING,
 * IDLE...) costs a store and one test without hooks. QUEUED's deadline is
 * armed by to_pool (request.c), only when the pool did not grant at once. */
void fl__request_set_state_hooked(fl_request *req, fl__req_state old, fl__req_state st);
static inline void fl__request_set_state(fl_request *req, fl__req_state st) {
  fl__req_state old = req->state;
  req->state = st;
  if (fl__hooked(req->client)) /* events, then the deadline: one call, nothing kept across it */
    fl__request_set_state_hooked(req, old, st);
  else if (st > FL__REQ_QUEUED && st <= FL__REQ_RECEIVING)
    fl__request_arm_state(req, old, st);
}

/* receive.c: the exchange's ops (the sink). */
extern const fl__exchange_ops fl__request_exchange_ops;

/* head.c: this hop's request head into req->ex.rh (a new rh.gen). 0 or FL_ENOMEM. */
int fl__request_build_head(fl_request *req);

/* redirect.c */
/* This response is not the user's: a redirect we follow, or a Digest
 * challenge we answer (digest.h); its body is dropped. */
int fl__redirect_wanted_3xx(const fl_request *req); /* status 300-407 */
/* A status that may be a redirect or a challenge: 300-407 (one compare). */
static inline int fl__status_may_move(int status) { return (unsigned)(status - 300) <= 107u; }
static inline int fl__redirect_wanted(const fl_request *req) {
  return fl__status_may_move(req->res.status) && fl__redirect_wanted_3xx(req);
}
/* Move req to its next hop, or an error (req->errmsg says why). */
int fl__redirect_next_hop(fl_request *req);
/* auth.c: Digest on the request path (client/digest.h has the flow). */
/* This response is a challenge (401, 407) the request answers with another hop. */
int fl__auth_digest_wanted(const fl_request *req);
/* Keep the challenge for the next hop (to the same URL). 0, or an error
 * for the outcome (req->errmsg set). */
int fl__auth_digest_next_hop(fl_request *req);
/* A redirect moved the request on: its URL may be answered again. */
void fl__auth_new_url(fl_request *req);
/* Forget the challenges (a new send, or the request is freed). */
void fl__auth_reset(fl_request *req);
/* As curl: while Digest credentials wait for a challenge, a hop with a body
 * goes without it (Content-Length: 0), so it is sent once, with the
 * credentials (and a streamed body needs no replay). begin: for the hop
 * about to start (after its route); end: its response or failure came. */
void fl__auth_probe_begin(fl_request *req);
void fl__auth_probe_end(fl_request *req);
/* head.c: Authorization and Proxy-Authorization: Digest for this hop, if
 * any. 0 or FL_ENOMEM. */
int fl__auth_put_digest_headers(fl_request *req, fl__headers *h);
/* The HTTP version this send asks for (FL_HTTP_VERSION_*): the request's
 * or its client's. */
static inline int fl__request_http_version(const fl_request *req) {
  return req->http_version >= 0 ? req->http_version : req->client->opts.http_version;
}
/* retry.c: ms to wait before another attempt, or -1 for none. err is the
 * attempt's error, or 0 with a response whose status decides. */
int64_t fl__retry_delay_ms(fl_request *req, int err);
/* policy.c */
/* Body bytes of the user's response arrived: pause for the speed cap. */
void fl__speedcap_account(fl_request *req, size_t n);
/* The attempt ends: stop the cap's timer, undo its pause. */
void fl__speedcap_stop(fl_request *req);
/* Free the cap's state (the request is freed). */
void fl__speedcap_free(fl_request *req);
/* A hop with a body starts and send_rate is set: the body is paced
 * (fl__sendcap_upload gives it out); without memory for the cap's state
 * it goes uncapped. */
void fl__sendcap_begin(fl_request *req);
/* ops->upload for a paced body: up to cap bytes, or FL__EX_UPLOAD_LATER
 * with the cap's timer set for when more is due. */
long fl__sendcap_upload(fl_request *req, char *buf, size_t cap);
/* A final response misses the time condition (its Last-Modified). */
int fl__timecond_unmet(const fl_request *req);
/* May a redirect lead to this scheme? */
int fl__redirect_scheme_allowed(const fl_request *req, const char *scheme);
/* jar.c */
void fl__request_store_cookies(fl_request *req);
/* No cookie can apply: a cheap test (inline: each send's head reuse asks). */
static inline int fl__request_jar_empty(const fl_request *req) {
  const fl_client *c = req->client;
  return !c->jar || fl__cookie_jar_count(c->jar) == 0;
}
const char *fl__request_jar_header(fl_request *req); /* valid until the next call */

#endif
