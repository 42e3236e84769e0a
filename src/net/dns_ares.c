/* c-ares on the reactor, for the resolver of dns.c.
 *
 * One ares_channel per resolver. c-ares tells us which sockets to watch
 * through the socket-state callback; each gets an fl__io (fl__dns_sock).
 * Readiness calls ares_process_fd; one fl__timer is re-armed after every
 * call into c-ares from min(ares_timeout, earliest lookup deadline). An
 * answer fills the cache and records the lookup's result; its waiters are
 * answered later from the loop (dns.c), never from inside c-ares.
 */
#include "net/dns_impl.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ARES_TRIES 2 /* per-try timeout t, then 2t: 3t fits the budget */

/* ------------------------------------------------------------ library init */
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_status = ARES_ENOTINITIALIZED;

static void lib_init(void) { lib_status = ares_library_init(ARES_LIB_INIT_ALL); }

/* Like fl__msg into the caller's optional error buffer. */
static void __attribute__((format(printf, 3, 4)))
set_msg(char *buf, size_t cap, const char *fmt, ...) {
  va_list ap;
  if (!buf || !cap) return;
  va_start(ap, fmt);
  vsnprintf(buf, cap, fmt, ap);
  va_end(ap);
}

int fl__dns_ares_library_init(char *errbuf, size_t errcap) {
  pthread_once(&lib_once, lib_init);
  if (lib_status != ARES_SUCCESS) {
    set_msg(errbuf, errcap, "c-ares library init failed: %s", ares_strerror(lib_status));
    return FL_ENOMEM;
  }
  return 0;
}

/* ----------------------------------------------------------- error codes */
static int map_status(int status) {
  switch (status) {
  case ARES_SUCCESS: return 0;
  case ARES_ENOTFOUND:
  case ARES_ENODATA:
  case ARES_ENONAME: return FL_ERESOLVE;
  case ARES_ESERVFAIL:
  case ARES_EREFUSED:
  case ARES_ECONNREFUSED:
  case ARES_EBADRESP: return FL_EDNS_SERVER_FAIL;
  case FL__DNS_STATUS_NOFD: return FL_ERESOLVE;
  case ARES_ETIMEOUT: return FL_EDNS_TIMEOUT;
  case ARES_ENOMEM: return FL_ENOMEM;
  default: return FL_ERESOLVE;
  }
}

/* Can the process open a descriptor now? Asked only after c-ares failed
 * to reach every server. */
static int out_of_fds(void) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    close(fd);
    return 0;
  }
  return errno == EMFILE || errno == ENFILE;
}

void fl__dns_ares_set_error(fl__resolver *r, fl__dns_req *req, int err, int status,
                            const char *name) {
  req->err = err;
  req->naddrs = 0;
  if (status == FL__DNS_STATUS_NOFD) {
    fl__msg(req->errmsg, sizeof req->errmsg,
            "could not resolve host: %s (no socket for the DNS query: out of file descriptors)",
            name);
    return;
  }
  switch (err) {
  case FL_EDNS_SERVER_FAIL:
    fl__msg(req->errmsg, sizeof req->errmsg, "could not resolve host: %s (DNS server failure: %s)",
            name, ares_strerror(status));
    break;
  case FL_EDNS_TIMEOUT:
    fl__msg(req->errmsg, sizeof req->errmsg, "could not resolve host: %s (DNS timeout after %u ms)",
            name, (unsigned)r->timeout_ms);
    break;
  case FL_ENOMEM:
    fl__msg(req->errmsg, sizeof req->errmsg, "could not resolve host: %s (out of memory)", name);
    break;
  default:
    if (status == ARES_ENOTFOUND || status == ARES_ENODATA || status == ARES_ENONAME ||
        status == ARES_SUCCESS)
      fl__msg(req->errmsg, sizeof req->errmsg, "could not resolve host: %s", name);
    else
      fl__msg(req->errmsg, sizeof req->errmsg, "could not resolve host: %s (%s)", name,
              ares_strerror(status));
    break;
  }
}

/* -------------------------------------------------------- c-ares sockets */
static void update_timer(fl__resolver *r);

/* After every call into c-ares. A socket that could not be watched (no
 * memory for its watcher) would never be read: its answers would be lost
 * and the lookups would end at their deadline as DNS timeouts. Instead, end
 * every query now with FL_ENOMEM, which is what happened: ares_cancel
 * answers them (ARES_ECANCELLED, taken as ENOMEM by on_ares_done) and, the
 * channel being idle, closes its sockets, so the next lookup starts afresh.
 * Never called from inside a c-ares callback. */
static void after_ares(fl__resolver *r) {
  if (r->watch_failed && r->have_channel) {
    r->watch_failed = 0;
    r->cancel_oom = 1;
    ares_cancel(r->channel);
    r->cancel_oom = 0;
  }
  update_timer(r);
}

static void on_sock_io(fl_loop *loop, fl__io *io, uint32_t events) {
  fl__dns_sock *s = fl__container_of(io, fl__dns_sock, io);
  fl__resolver *r = s->r; /* s may be freed by ares_process_fd */
  ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;
  uint32_t bad = EPOLLERR | EPOLLHUP;
  FL__UNUSED(loop);

  if ((events & (FL__POLLIN | EPOLLRDHUP | bad)) && (s->want & FL__POLLIN)) rfd = io->fd;
  if ((events & FL__POLLOUT) || ((events & bad) && (s->want & FL__POLLOUT))) wfd = io->fd;
  if (rfd == ARES_SOCKET_BAD && wfd == ARES_SOCKET_BAD)
    rfd = io->fd; /* an error on a socket c-ares watches: let it read and fail */
  ares_process_fd(r->channel, rfd, wfd);
  after_ares(r);
}

static long find_sock(const fl__resolver *r, int fd) {
  size_t i;
  for (i = 0; i < r->nsocks; i++)
    if (r->socks[i]->io.fd == fd) return (long)i;
  return -1;
}

static void sock_forget(fl__resolver *r, size_t i) {
  fl__dns_sock *s = r->socks[i];
  fl__io_close(r->loop, &s->io);
  free(s);
  r->socks[i] = r->socks[--r->nsocks];
}

/* c-ares: watch fd for these directions (both 0: it is about to close). */
static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable) {
  fl__resolver *r = data;
  long i = find_sock(r, fd);
  uint32_t want = (readable ? FL__POLLIN : 0) | (writable ? FL__POLLOUT : 0);
  uint32_t off, on;
  fl__dns_sock *s;

  if (!want) {
    if (i >= 0) sock_forget(r, (size_t)i);
    return;
  }
  if (i < 0) {
    if (r->nsocks == r->capsocks) {
      size_t cap = r->capsocks ? r->capsocks * 2 : 4;
      fl__dns_sock **v = realloc(r->socks, cap * sizeof(*v));
      if (!v) {
        r->stats.watch_errors++;
        r->watch_failed = 1; /* see after_ares */
        return;
      }
      r->socks = v;
      r->capsocks = cap;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
      r->stats.watch_errors++;
      r->watch_failed = 1;
      return;
    }
    fl__io_init(&s->io, on_sock_io, fd);
    s->r = r;
    r->socks[r->nsocks++] = s;
  } else {
    s = r->socks[i];
  }
  off = s->want & ~want;
  on = want & ~s->want;
  if (off) fl__io_stop(r->loop, &s->io, off);
  if (on && fl__io_start(r->loop, &s->io, on) != 0) {
    r->stats.watch_errors++;
    r->watch_failed = 1;
    on = 0;
  }
  s->want = (s->want & ~off) | on;
}

/* ------------------------------------------------------------- answers */
/* Collect addresses and the smallest TTL from a c-ares answer. */
static size_t collect(const struct ares_addrinfo *ai, fl__sockaddr *out, uint32_t *ttl_out) {
  fl__sockaddr raw[64];
  size_t n = 0;
  int ttl = INT_MAX;
  const struct ares_addrinfo_node *node;
  const struct ares_addrinfo_cname *cn;

  for (node = ai->nodes; node && n < FL__ARRAY_SIZE(raw); node = node->ai_next) {
    fl__sockaddr *a = &raw[n];
    memset(a, 0, sizeof(*a));
    if (node->ai_family == AF_INET && node->ai_addrlen >= sizeof(a->in4))
      memcpy(&a->in4, node->ai_addr, sizeof(a->in4));
    else if (node->ai_family == AF_INET6 && node->ai_addrlen >= sizeof(a->in6))
      memcpy(&a->in6, node->ai_addr, sizeof(a->in6));
    else
      continue;
    fl__sockaddr_set_port(a, 0);
    if (node->ai_ttl < ttl) ttl = node->ai_ttl;
    n++;
  }
  for (cn = ai->cnames; cn; cn = cn->next)
    if (cn->ttl < ttl) ttl = cn->ttl;
  *ttl_out = ttl < 0 ? 0 : (uint32_t)ttl;
  return fl__dns_order_addrs(out, FL__DNS_MAX_ADDRS, raw, n);
}

static void on_ares_done(void *arg, int status, int timeouts, struct ares_addrinfo *ai) {
  fl__dns_lookup *lk = arg;
  fl__resolver *r = lk->r;
  fl__sockaddr addrs[FL__DNS_MAX_ADDRS];
  size_t n = 0;
  uint32_t ttl = 0;
  FL__UNUSED(timeouts);

  lk->in_ares = 0;
  r->stats.in_flight--;
  if (status == ARES_ECANCELLED && r->cancel_oom) status = ARES_ENOMEM;
  if (status == ARES_EDESTRUCTION && r->reloading) {
    /* The channel is being rebuilt: fl__dns_ares_reload starts lk again. */
    if (ai) ares_freeaddrinfo(ai);
    return;
  }
  if (status == ARES_EDESTRUCTION) {
    /* From ares_destroy: the resolver is going away and frees lk itself. */
    if (ai) ares_freeaddrinfo(ai);
    return;
  }
  if (status == ARES_SUCCESS) {
    n = ai ? collect(ai, addrs, &ttl) : 0;
    if (n == 0) status = ARES_ENODATA;
  }
  if (ai) ares_freeaddrinfo(ai);
  /* c-ares says only that no server could be reached; when the reason is
   * ours (no descriptor for its socket), say so, and do not cache it. */
  if (status == ARES_ECONNREFUSED && out_of_fds()) status = FL__DNS_STATUS_NOFD;

  if (!lk->done) {
    /* fl__dns_lookup_finish caches the answer (ours or the share's). */
    lk->naddrs = n;
    lk->ttl = ttl;
    if (n) memcpy(lk->addrs, addrs, n * sizeof(addrs[0]));
    fl__dns_lookup_finish(r, lk, map_status(status), status);
  } else if (status == ARES_SUCCESS) {
    /* Too late for the waiters (deadline), not for the cache. */
    if (r->share) {
      fl__dns_answer a = {.err = 0, .naddrs = n};
      memcpy(a.addrs, addrs, n * sizeof(addrs[0]));
      fl__dns_share_store(r->share, lk->name, &a, ttl, fl__loop_now(r->loop));
    } else {
      fl__dns_cache_store_addrs(&r->cache, lk->name, addrs, n, ttl, fl__loop_now(r->loop));
    }
  }
  fl__dns_lookup_maybe_free(lk); /* a lookup that already timed out is done now */
}

/* ------------------------------------------------------------- the timer */
static void update_timer(fl__resolver *r) {
  uint64_t next = UINT64_MAX;
  struct timeval tv, *tvp = ares_timeout(r->channel, NULL, &tv);

  if (tvp) next = (uint64_t)tvp->tv_sec * 1000u + ((uint64_t)tvp->tv_usec + 999u) / 1000u;
  if (!fl__queue_empty(&r->pending)) {
    fl__dns_lookup *first = fl__container_of(r->pending.next, fl__dns_lookup, pending);
    uint64_t now = fl__loop_now(r->loop);
    uint64_t left = first->deadline > now ? first->deadline - now : 0;
    if (left < next) next = left;
  }
  if (next == UINT64_MAX)
    fl__timer_stop(&r->timer);
  else if (fl__timer_start(&r->timer, next) != 0)
    r->stats.watch_errors++; /* c-ares is still driven by its sockets */
}

void fl__dns_ares_rearm(fl__resolver *r) { update_timer(r); }

void fl__dns_ares_on_timer(fl__timer *t) {
  fl__resolver *r = fl__container_of(t, fl__resolver, timer);
  uint64_t now = fl__loop_now(r->loop);

  ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  while (!fl__queue_empty(&r->pending)) {
    fl__dns_lookup *lk = fl__container_of(r->pending.next, fl__dns_lookup, pending);
    if (lk->deadline > now) break;
    fl__dns_lookup_finish(r, lk, FL_EDNS_TIMEOUT, ARES_ETIMEOUT);
  }
  after_ares(r);
}

/* ------------------------------------------------------------- channel */
int fl__dns_ares_init(fl__resolver *r, const char *servers, char *errbuf, size_t errcap) {
  struct ares_options o;
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS;
  int st;
  char lookups[] = "fb";
  char *csv = NULL;

  if (servers) {
    int err = fl__dns_parse_servers(servers, &csv, errbuf, errcap);
    if (err) return err;
  }
  memset(&o, 0, sizeof o);
  o.sock_state_cb = on_sock_state;
  o.sock_state_cb_data = r;
  o.timeout = (int)(r->timeout_ms / (1 + 2 * (ARES_TRIES - 1)));
  if (o.timeout < 1) o.timeout = 1;
  o.tries = ARES_TRIES;
  o.lookups = lookups;
  st = ares_init_options(&r->channel, &o, mask);
  if (st != ARES_SUCCESS) {
    free(csv);
    set_msg(errbuf, errcap, "c-ares init failed: %s", ares_strerror(st));
    return st == ARES_ENOMEM ? FL_ENOMEM : FL_EINVAL;
  }
  r->have_channel = 1;
  if (csv) {
    st = ares_set_servers_ports_csv(r->channel, csv);
    free(csv);
    if (st != ARES_SUCCESS) {
      set_msg(errbuf, errcap, "bad DNS servers \"%s\": %s", servers, ares_strerror(st));
      return st == ARES_ENOMEM ? FL_ENOMEM : FL_EINVAL;
    }
  }
  return 0;
}

void fl__dns_ares_destroy(fl__resolver *r) {
  if (r->have_channel) {
    ares_destroy(r->channel); /* EDESTRUCTION callbacks, sockets closed */
    r->have_channel = 0;
  }
  while (r->nsocks) /* c-ares closes its sockets through on_sock_state */
    sock_forget(r, r->nsocks - 1);
  free(r->socks);
  r->socks = NULL;
  r->capsocks = 0;
  fl__timer_stop(&r->timer);
}

int fl__dns_ares_reload(fl__resolver *r) {
  ares_channel old = r->channel;
  fl__dns_sock **socks = r->socks;
  size_t nsocks = r->nsocks, cap = r->capsocks;
  /* The new channel first, with its own (empty) socket list. */
  r->socks = NULL;
  r->nsocks = r->capsocks = 0;
  r->have_channel = 0;
  int err = fl__dns_ares_init(r, r->servers, NULL, 0);
  if (err) {
    if (r->have_channel) ares_destroy(r->channel); /* made, then refused the servers */
    r->have_channel = 1;
    free(r->socks);
    r->channel = old;
    r->socks = socks;
    r->nsocks = nsocks;
    r->capsocks = cap;
    return err;
  }
  ares_channel fresh = r->channel;
  fl__dns_sock **fresh_socks = r->socks;
  size_t fresh_n = r->nsocks, fresh_cap = r->capsocks;
  /* Destroy the old one with its sockets in view (c-ares closes them
   * through on_sock_state); its lookups' callbacks see r->reloading. */
  r->channel = old;
  r->socks = socks;
  r->nsocks = nsocks;
  r->capsocks = cap;
  fl__queue *q, *next;
  fl__queue_foreach(q, &r->lookups) {
    fl__dns_lookup *lk = fl__container_of(q, fl__dns_lookup, node);
    lk->reask = lk->in_ares;
  }
  r->reloading = 1;
  ares_destroy(old);
  r->reloading = 0;
  while (r->nsocks) sock_forget(r, r->nsocks - 1);
  free(r->socks);
  r->channel = fresh;
  r->socks = fresh_socks;
  r->nsocks = fresh_n;
  r->capsocks = fresh_cap;
  /* Every lookup the old channel held: not done, ask again; done (it timed
   * out), let go. */
  for (q = r->lookups.next; q != &r->lookups; q = next) {
    fl__dns_lookup *lk = fl__container_of(q, fl__dns_lookup, node);
    next = q->next;
    if (!lk->reask) continue;
    lk->reask = 0;
    if (lk->done) {
      fl__dns_lookup_maybe_free(lk);
      continue;
    }
    lk->in_ares = 1;
    r->stats.in_flight++;
    fl__dns_ares_start(r, lk);
  }
  after_ares(r);
  return 0;
}

void fl__dns_ares_start(fl__resolver *r, fl__dns_lookup *lk) {
  static const struct ares_addrinfo_hints hints = {0, AF_UNSPEC, SOCK_STREAM, 0};
  /* May call on_ares_done before returning (hosts file, immediate errors):
   * that only records the result and schedules delivery. */
  ares_getaddrinfo(r->channel, lk->name, NULL, &hints, on_ares_done, lk);
  after_ares(r);
}
