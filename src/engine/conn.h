/* A connection: a transport to one endpoint, made here (DNS, Happy Eyeballs
 * TCP, a CONNECT tunnel through a proxy, TLS), that carries exchanges.
 *
 * What it speaks once open is its carrier (fl__carrier_ops): HTTP/1.1
 * (engine/carrier.c) or HTTP/2 (engine/h2.c), chosen when the transport is
 * up (ALPN, or prior knowledge). conn.c and the pool reach the protocol only
 * through that table. Capacity is the carrier's number: HTTP/1.1 carries one
 * exchange, or up to env->pipeline_depth bodiless GET/HEAD ones when
 * pipelining is on (the responses come back in order); HTTP/2 the peer's
 * stream limit. fl__conn_room says how many more it takes now.
 *
 * Lifetimes
 * - The pool makes, owns and frees connections. A connection reports to
 *   its owner through the owner ops only (ready, idle, room, closed).
 * - fl__conn_close (or a failure) closes the transport, gives every
 *   carried exchange up through its ops (the first with the error, the
 *   rest as orphaned), and calls owner->closed. The memory stays valid
 *   until the owner frees it from the outermost guard leave, so a frame
 *   further up the stack may still look at a closed connection's state.
 * - Exchanges are borrowed: the connection holds one from fl__conn_carry
 *   until its done/failed op, or fl__conn_drop. */
#ifndef FL_CONN_H
#define FL_CONN_H

#include "base/buf.h"
#include "base/common.h"
#include "base/guard.h"
#include "base/headers.h"
#include "engine/h2_state.h"
#include "http/exchange.h"
#include "http/h1.h"
#include "loop/loop.h"
#include "net/dns.h"
#include "net/tcp.h"
#include "net/transport.h"

typedef struct fl__conn fl__conn;
struct fl__host;
struct fl__tls_ctx;

/* A SOCKS proxy between us and the origin (engine/socks.c). */
typedef enum fl__socks_kind {
  FL__SOCKS_NONE = 0,
  FL__SOCKS4,  /* the origin's IPv4 address, resolved here; a user id */
  FL__SOCKS4A, /* the origin's name, resolved by the proxy */
  FL__SOCKS5,  /* the origin's address, resolved here; RFC 1929 user/password */
  FL__SOCKS5H  /* the origin's name, resolved by the proxy */
} fl__socks_kind;

/* HTTP/2 on an endpoint. */
typedef enum fl__h2_mode {
  FL__H2_NO = 0, /* HTTP/1.1 only (ALPN http/1.1) */
  FL__H2_ALPN,   /* TLS: offer h2 and http/1.1, speak what the server picks */
  FL__H2_PRIOR,  /* cleartext h2 from the first byte (h2c prior knowledge) */
  FL__H2_ONLY    /* TLS: a server that does not pick h2 fails (FL_EHTTP2) */
} fl__h2_mode;

/* Where a connection goes; built by the client's route, kept by the pool's
 * host entry for as long as any of its connections lives. */
typedef struct fl__endpoint {
  const char *key;   /* pool key: connections with equal keys are interchangeable */
  uint32_t key_hash; /* fl__hash_str(key), computed once with the key */
  const char *host;  /* origin host: SNI, certificate name, CONNECT target */
  uint16_t port;
  int tls;
  const char *connect_host; /* what is resolved and connected to: the host or a proxy */
  uint16_t connect_port;
  int tunnel;                /* CONNECT through the proxy first (https via a proxy) */
  const char *proxy_auth;    /* Proxy-Authorization for the CONNECT, or NULL */
  const char *proxy_headers; /* more CONNECT header lines ("Name: value\r\n"...), or NULL */
  /* The CONNECT got a 407: a Proxy-Authorization value answering its
   * challenge (res: the 407's headers) for target ("host:port") into out,
   * from the endpoint's maker (the client's Digest), called at most once
   * per connection; 0, or -1 when it cannot answer. NULL: never. ctx lives
   * as long as the pool. */
  int (*tunnel_auth)(const void *ctx, const fl__headers *res, const char *target, fl__buf *out);
  const void *tunnel_auth_ctx;
  fl__socks_kind socks; /* a SOCKS handshake with connect_host first */
  /* SOCKS5 user and password, or the SOCKS4 user id (user), or NULL. Not
   * copied by the pool: whoever builds the endpoint keeps them alive as long
   * as the pool (the client's proxy does). */
  const char *socks_user, *socks_pass;
  fl__h2_mode h2; /* what it may speak (part of the key) */
  /* Connect to this Unix domain socket instead (no DNS; abstract: in the
   * abstract namespace); part of the key. NULL: TCP to connect_host. */
  const char *unix_path;
  int unix_abstract;
} fl__endpoint;

/* How a connection is being made, for the owner's event hooks: conn.c is
 * the one call site of each (env->on_event), whether or not an exchange
 * is attached. */
typedef enum fl__conn_event {
  FL__CONN_EV_DNS_START = 1,
  FL__CONN_EV_DNS_END, /* err; c->dns_cache_hit */
  FL__CONN_EV_CONNECT_START,
  FL__CONN_EV_CONNECT_END, /* err; c->remote_ip/port once connected */
  FL__CONN_EV_TLS_START,
  FL__CONN_EV_TLS_END /* err; c->tls_resumed, c->alpn */
} fl__conn_event;

/* What every connection of one pool shares; the pool's owner fills it. */
typedef struct fl__conn_env {
  fl_loop *loop;
  fl__guard *guard; /* entered on every entry from the loop */
  fl__resolver *resolver;
  struct fl__tls_ctx *tls;
  char *rbuf; /* FL__READ_BUF_SIZE bytes, shared (see below) */
  uint32_t happy_eyeballs_delay_ms;
  uint32_t max_header_bytes, max_header_count, max_header_line_bytes;
  uint32_t pipeline_depth; /* <= 1: no pipelining */
  uint32_t idle_ms;        /* default keep-alive idle time */
  uint32_t h2_max_streams; /* our cap on streams per HTTP/2 connection; 0 = the peer's */
  uint32_t h2_ping_ms;     /* PING an HTTP/2 connection this often; 0 = never */
  fl_pool_stats *stats;    /* writes are counted here */
  const struct fl__sock_opts *sockopts; /* each new socket's step before connect; or NULL */
  uint32_t max_lifetime_ms;             /* not reused once this old; 0 = no limit */
  /* The owner's event hooks, or NULL (then each event costs one test). ex:
   * the exchange the connection is made for, or NULL. */
  void (*on_event)(const struct fl__conn_env *env, fl__conn *c, fl__exchange *ex, fl__conn_event ev,
                   int err);
} fl__conn_env;

/* One read buffer per client, shared by its connections: the codec takes
 * every read at once and a connection keeps no unparsed bytes (bytes after a
 * complete response belong to the next carried exchange, or mean it is not
 * reused), so 10,000 connections cost no 10,000 buffers. Safe because the
 * loop is never re-entered. */
#define FL__READ_BUF_SIZE 65536
/* Bytes read per readiness event before yielding to the loop, so a sender
 * faster than the parser cannot starve timers or other connections. */
#define FL__READ_BUDGET (16u * FL__READ_BUF_SIZE)

/* The owner's side (the pool). */
typedef struct fl__conn_owner_ops {
  void (*connected)(fl__conn *c);          /* TCP connected (tunnel and TLS may follow) */
  void (*answered)(fl__conn *c);           /* the first response byte on it arrived */
  void (*ready)(fl__conn *c);              /* open: carries exchanges now */
  void (*idle)(fl__conn *c, int reusable); /* carries nothing after a response */
  void (*room)(fl__conn *c);               /* a pipelined response ended, others remain */
  void (*closed)(fl__conn *c);             /* closed: unlink it, free it later */
} fl__conn_owner_ops;

/* What an open connection speaks. Each op gets the connection; exchanges
 * are linked in c->exchanges (oldest first) and counted in c->nexchanges
 * by conn.c before start, and unlinked by the carrier when it gives one up. */
typedef struct fl__carrier_ops {
  int version; /* 11 or 20 (fl_info.http_version) */
  /* The transport is up: take the watcher over. 0 or FL_ENOMEM. */
  int (*open)(fl__conn *c);
  /* ex (linked, counted) goes out now. */
  void (*start)(fl__conn *c, fl__exchange *ex);
  /* Give ex up without a call to its ops (its owner cancelled). */
  void (*drop)(fl__conn *c, fl__exchange *ex);
  /* ex->paused changed. */
  void (*pause)(fl__conn *c, fl__exchange *ex);
  /* How many more exchanges it takes now (the connection is open). */
  uint32_t (*room)(const fl__conn *c, int pipelinable);
  /* After a user callback: does it still hold ex? Compares pointers only
   * (ex may be freed). */
  int (*carries)(const fl__conn *c, const fl__exchange *ex);
  /* The connection is closing (transport closed already): stop timers,
   * forget exchanges, set ex->unprocessed on each carried one the server
   * never processed (those are sent again elsewhere). */
  void (*close)(fl__conn *c);
  /* Carrying nothing (idle in the pool): watch the socket as the protocol
   * wants. 0, or an error (then it is not kept). */
  int (*watch_idle)(fl__conn *c);
  /* Free what it holds (after close). */
  void (*dispose)(fl__conn *c);
  /* Or NULL. We close the connection by choice (idle expiry, close_idle,
   * the client's end, its lifetime; not a failure): tell the server, in
   * one write that never waits (HTTP/2's GOAWAY). Called with the state
   * DEAD already and the transport still open. */
  void (*goodbye)(fl__conn *c);
} fl__carrier_ops;

/* engine/carrier.c */
extern const fl__carrier_ops fl__h1_carrier;
/* engine/h2_send.c (HTTP/2: engine/h2*.c) */
extern const fl__carrier_ops fl__h2_carrier;

typedef enum fl__conn_state {
  FL__CONN_RESOLVING = 1,
  FL__CONN_CONNECTING, /* TCP, then the tunnel and TLS */
  FL__CONN_OPEN,
  FL__CONN_DEAD
} fl__conn_state;

struct fl__conn {
  const fl__conn_env *env;
  const fl__conn_owner_ops *owner;
  const fl__endpoint *ep;
  fl__conn_state state;
  const fl__carrier_ops *carrier; /* HTTP/1.1 until open says otherwise */
  fl__transport tp;
  fl__io io;
  fl__defer drain_defer; /* reads what the transport buffered (after a resume
                            or a read budget ran out) */
  fl__defer flush_defer; /* writes the pipelined heads added in one loop pass
                            in one write */
  /* exchanges */
  fl__queue exchanges; /* carried, oldest first: the first's response is read */
  uint32_t nexchanges;
  fl__exchange *wnext; /* first carried exchange not fully written, or NULL */
  int pipelining;      /* what it carries may be followed by more */
  /* The carrier's protocol state, in one storage: HTTP/1.1's parser, or
   * the HTTP/2 session's state (engine/h2_state.h) once the connection
   * speaks h2 (then h2 points at it). */
  union {
    fl__h1 h1;
    fl__h2 h2_state;
  };
  fl__buf wbuf; /* a streamed body's current chunk, framed */
  size_t wbuf_off;
  int send_errno;         /* the peer stopped taking the request (EPIPE,
                            ECONNRESET): no more writes, its answer is read */
  fl__timer expect_timer; /* Expect: 100-continue wait of the exchange being written */
  /* connecting: DNS and Happy Eyeballs state, freed once connected */
  struct fl__connecting *cx;
  int tunnel_sent;         /* the CONNECT request is out (engine/tunnel.c) */
  int tunnel_answered;     /* a 407 was answered (ep->tunnel_auth): no second try */
  uint32_t tunnel_discard; /* bytes of the 407's body still to read and drop */
  struct fl__socks *socks; /* the SOCKS handshake's state, only during it */
  int dns_cache_hit;
  int tls_resumed;
  int alpn;              /* what TLS agreed on: 0 nothing, 11 http/1.1, 20 h2 */
  fl__h2 *h2;            /* &h2_state on an HTTP/2 connection, else NULL */
  uint32_t peer_streams; /* HTTP/2: the server's stream limit, once its SETTINGS came; 0 before */
  int reused;            /* carried an exchange before */
  uint32_t id;           /* the pool's number for it (event hooks), from 1 */
  char remote_ip[46];
  uint16_t remote_port;
  char local_ip[46];
  uint16_t local_port;
  /* keep-alive accounting */
  uint64_t created_ms; /* loop time its connect started (max_lifetime_ms) */
  uint32_t requests_done;
  uint32_t max_requests; /* from Keep-Alive: max=; 0 = unknown */
  uint32_t idle_ms;      /* from Keep-Alive: timeout=, else env->idle_ms */
  /* the pool's */
  struct fl__host *host;
  int connecting_counted; /* counted in the host's connect attempts */
  int opening_counted;    /* counted in the host's connections not open yet */
  fl__queue host_node;    /* host's idle or busy list; the graveyard once closed */
  fl__queue lru_node;     /* pool's idle list, oldest first */
  fl__queue room_node;    /* host's roomy list: busy, took pipelined requests, may have room */
  uint64_t idle_expiry;   /* loop ms */
  fl__timer idle_timer;
};

/* Set up a connection (no I/O yet). */
void fl__conn_init(fl__conn *c, const fl__conn_env *env, const fl__conn_owner_ops *owner,
                   const fl__endpoint *ep);
/* Start making the transport; its outcome comes as owner->ready, or as a
 * failure of what it carries and owner->closed. */
void fl__conn_connect(fl__conn *c);
/* HTTP/1.1's room, inline for the pool's hot path. */
static inline uint32_t fl__h1_room(const fl__conn *c, int pipelinable) {
  if (c->nexchanges == 0) return 1;
  uint32_t depth = c->env->pipeline_depth;
  if (!c->pipelining || !pipelinable || c->nexchanges >= depth) return 0;
  if (c->max_requests && c->requests_done + c->nexchanges >= c->max_requests) return 0;
  return depth - c->nexchanges;
}
/* How many more exchanges like ex it can take now (0 if it is not open). */
static inline uint32_t fl__conn_room(const fl__conn *c, int pipelinable) {
  if (c->state != FL__CONN_OPEN) return 0;
  if (c->carrier == &fl__h1_carrier) return fl__h1_room(c, pipelinable);
  return c->carrier->room(c, pipelinable);
}
/* The one way for the layer above to ask whether c still carries ex after
 * a call into user code (pointers compared only: ex may be gone). */
static inline int fl__conn_carries(const fl__conn *c, const fl__exchange *ex) {
  if (c->carrier == &fl__h1_carrier) return c->h1.ex == ex; /* the hot path: no call */
  return c->carrier->carries(c, ex);
}
/* Open (carrying or able to), and whether an exchange given now would wait
 * behind another's response (HTTP/1.1 pipelining). */
static inline int fl__conn_is_open(const fl__conn *c) { return c->state == FL__CONN_OPEN; }
/* What a connection not yet open is doing, for a timeout's message:
 * " (while resolving)", " (during the SOCKS handshake)", " (during the TLS
 * handshake)" or "". */
static inline const char *fl__conn_phase_text(const fl__conn *c) {
  if (c->state == FL__CONN_RESOLVING) return " (while resolving)";
  if (c->socks) return " (during the SOCKS handshake)";
  return c->tp.tls ? " (during the TLS handshake)" : "";
}
/* The HTTP version its carrier speaks: 11 or 20 (fl_info.http_version). */
static inline int fl__conn_version(const fl__conn *c) { return c->carrier->version; }
static inline int fl__conn_queues_behind(const fl__conn *c) {
  return c->carrier == &fl__h1_carrier && c->nexchanges > 0;
}
/* Carry ex: written at once when the connection is open and free, else when
 * its turn comes. */
void fl__conn_carry(fl__conn *c, fl__exchange *ex);
/* Give ex up without a call to its ops (its owner cancelled). An exchange
 * cut off mid-message leaves the connection unusable: it is closed, and the
 * others it carried are orphaned. */
void fl__conn_drop(fl__conn *c, fl__exchange *ex);
/* ex->paused changed (ex is carried by c). */
void fl__conn_update_pause(fl__conn *c, fl__exchange *ex);
/* Carrying nothing: keep reading so a close by the server shows at once. */
static inline int fl__h1_watch_idle(fl__conn *c) {
  fl_loop *loop = c->env->loop;
  if (c->io.want & FL__POLLOUT) fl__io_stop(loop, &c->io, FL__POLLOUT);
  if (!(c->io.want & FL__POLLIN)) return fl__io_start(loop, &c->io, FL__POLLIN);
  return 0;
}
static inline int fl__conn_watch_idle(fl__conn *c) {
  if (c->carrier == &fl__h1_carrier) return fl__h1_watch_idle(c); /* each keep-alive: no call */
  return c->carrier->watch_idle(c);
}
/* Close now; err != 0 fails the first exchange with it (msg says why). */
void fl__conn_close(fl__conn *c, int err, const char *msg);
/* Frees what the connection still holds (after close). */
void fl__conn_dispose(fl__conn *c);

/* engine/tunnel.c: after TCP, "CONNECT host:port" to the proxy; on its 2xx
 * calls fl__conn_tunnel_done. */
void fl__tunnel_start(fl__conn *c);
/* The proxy's handshake (CONNECT's 2xx, the SOCKS reply) is done and the
 * socket reaches the origin: TLS with it, or open. */
void fl__conn_tunnel_done(fl__conn *c);
/* engine/socks.c: after TCP, the SOCKS handshake (resolving the origin
 * first for socks4 and socks5); then fl__conn_tunnel_done, or a failure
 * (FL_EPROXY). fl__socks_cancel frees its state (harmless without). */
void fl__socks_start(fl__conn *c);
void fl__socks_cancel(fl__conn *c);
/* engine/upgrade.c, for carrier.c: a 101 answered ex, an upgrade
 * (ex->upgrade_tp): the transport and the rest bytes go to its owner, the
 * connection closes without closing them (the pool forgets it), then
 * ex->ops->done. */
void fl__conn_upgrade(fl__conn *c, fl__exchange *ex, const char *rest, size_t n);
/* conn.c, for carrier.c and tunnel.c: fail the first exchange with err and
 * close. msg NULL: the error came from the exchange's own ops. early: the
 * failure came before any byte of the response (a stale reused connection
 * is likely; the owner may retry). */
void fl__conn_fail(fl__conn *c, int err, int early, const char *msg);
void fl__conn_failf(fl__conn *c, int err, int early, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
