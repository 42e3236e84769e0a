/* Asynchronous name resolution: c-ares on the reactor, overrides, a cache.
 *
 * Shape
 * - One ares_channel per resolver. c-ares tells us which sockets to watch
 *   through the socket-state callback; each gets an fl__io (sock below).
 *   Readiness calls ares_process_fd; one fl__timer is re-armed after every
 *   call into c-ares from min(ares_timeout, earliest lookup deadline).
 * - A lookup is one ares_getaddrinfo for one lower-cased name. Requests for
 *   a name already being looked up wait on that lookup (r->inflight).
 * - User callbacks run only from a lookup's fl__defer, never from inside
 *   c-ares (whose callbacks may fire synchronously from ares_getaddrinfo, or
 *   from ares_process_fd while c-ares is mid-iteration) and never from
 *   inside fl__dns_resolve. A callback may free the resolver: r->delivering
 *   turns that free into a mark honoured when delivery unwinds.
 * - A lookup that passed its deadline answers its waiters FL_EDNS_TIMEOUT
 *   but stays alive while c-ares holds its callback; if an answer still
 *   comes, it fills the cache.
 * - Local file reads: ares_init_options reads resolv.conf, nsswitch.conf
 *   and host.conf once per resolver; every c-ares lookup reads /etc/hosts
 *   (the "f" in lookups "fb"). Both are short local reads, accepted on the
 *   loop thread; nothing here waits on the network.
 */
#include "net/dns.h"
#include "net/dns_addr.h"

#include <ares.h>
#include <arpa/inet.h>
#include <limits.h>
#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_MAX_ENTRIES 4096
#define NAME_MAX_LEN 254 /* 253 octets plus an optional trailing dot */
#define DEFAULT_TIMEOUT_MS 5000
#define ARES_TRIES 2 /* per-try timeout t, then 2t: 3t fits the budget */
#define HT_INITIAL_BUCKETS 64

/* ------------------------------------------------------------ hash table
 * Chained table of named nodes; buckets double when the load passes 1. */
typedef struct hnode {
  struct hnode *next;
  uint32_t hash;
  const char *name;
} hnode;

typedef struct htable {
  hnode **buckets;
  size_t nbuckets; /* a power of two */
  size_t count;
} htable;

static uint32_t hash_name(const char *s) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 16777619u;
  }
  return h;
}

static int ht_init(htable *t) {
  t->buckets = calloc(HT_INITIAL_BUCKETS, sizeof(*t->buckets));
  t->nbuckets = HT_INITIAL_BUCKETS;
  t->count = 0;
  return t->buckets ? 0 : FL_ENOMEM;
}

static hnode *ht_find(const htable *t, const char *name) {
  uint32_t h = hash_name(name);
  hnode *n;
  for (n = t->buckets[h & (t->nbuckets - 1)]; n; n = n->next)
    if (n->hash == h && strcmp(n->name, name) == 0)
      return n;
  return NULL;
}

static void ht_grow(htable *t) {
  size_t nb = t->nbuckets * 2, i;
  hnode **b = calloc(nb, sizeof(*b));
  if (!b)
    return; /* longer chains, still correct */
  for (i = 0; i < t->nbuckets; i++) {
    hnode *n = t->buckets[i], *next;
    for (; n; n = next) {
      next = n->next;
      n->next = b[n->hash & (nb - 1)];
      b[n->hash & (nb - 1)] = n;
    }
  }
  free(t->buckets);
  t->buckets = b;
  t->nbuckets = nb;
}

/* The name must not be in the table already. */
static void ht_insert(htable *t, hnode *n, const char *name) {
  hnode **slot;
  if (t->count >= t->nbuckets)
    ht_grow(t);
  n->name = name;
  n->hash = hash_name(name);
  slot = &t->buckets[n->hash & (t->nbuckets - 1)];
  n->next = *slot;
  *slot = n;
  t->count++;
}

static void ht_remove(htable *t, hnode *n) {
  hnode **p = &t->buckets[n->hash & (t->nbuckets - 1)];
  for (; *p; p = &(*p)->next) {
    if (*p == n) {
      *p = n->next;
      n->next = NULL;
      t->count--;
      return;
    }
  }
}

/* ----------------------------------------------------------------- types */
typedef struct centry {
  hnode h;
  fl__queue age;    /* r->cache_age, oldest first */
  uint64_t expires; /* loop time, ms */
  int err;          /* 0, or the fl_err of a negative entry */
  int status;       /* ares status of a negative entry (for the message) */
  size_t naddrs;
  fl__sockaddr addrs[FL__DNS_MAX_ADDRS];
  char name[];
} centry;

typedef struct lookup {
  fl__resolver *r;
  hnode h;           /* in r->inflight until the result is known */
  fl__queue node;    /* r->lookups: every live lookup */
  fl__queue pending; /* r->pending, start order = deadline order, until done */
  fl__queue waiters; /* fl__dns_req.node */
  fl__defer deliver;
  uint64_t deadline;
  unsigned in_ares : 1;   /* c-ares still holds our callback */
  unsigned done : 1;      /* result known */
  unsigned delivered : 1; /* waiters answered */
  int err;
  int status;
  size_t naddrs;
  fl__sockaddr addrs[FL__DNS_MAX_ADDRS];
  char name[];
} lookup;

typedef struct sock {
  fl__io io;
  fl__resolver *r;
  uint32_t want;
} sock;

struct fl__resolver {
  fl_loop *loop;
  ares_channel channel;
  int have_channel;
  uint32_t timeout_ms;
  fl__resolver_options opts; /* numbers only; strings are not kept */
  fl__dns_override *overrides;
  size_t noverrides;
  sock **socks;
  size_t nsocks, capsocks;
  fl__timer timer;
  htable cache;
  fl__queue cache_age;
  htable inflight;
  fl__queue lookups;
  fl__queue pending;
  int delivering; /* inside a user callback */
  int dead;       /* fl__resolver_free was called during delivery */
  fl__dns_stats stats;
};

/* ------------------------------------------------------------ library init */
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_status = ARES_ENOTINITIALIZED;

static void lib_init(void) { lib_status = ares_library_init(ARES_LIB_INIT_ALL); }

/* Like fl__msg into the caller's optional error buffer. */
static void __attribute__((format(printf, 3, 4)))
set_msg(char *buf, size_t cap, const char *fmt, ...) {
  va_list ap;
  if (!buf || !cap)
    return;
  va_start(ap, fmt);
  vsnprintf(buf, cap, fmt, ap);
  va_end(ap);
}

uint64_t fl__dns_cache_lifetime_ms(const fl__resolver_options *o, uint32_t ttl_s) {
  uint64_t ms = (uint64_t)ttl_s * 1000u;
  if (o->ttl_max_ms == 0)
    return 0;
  if (ms < o->ttl_min_ms)
    ms = o->ttl_min_ms;
  if (ms > o->ttl_max_ms)
    ms = o->ttl_max_ms;
  return ms;
}

/* ----------------------------------------------------------- error codes */
static int map_status(int status) {
  switch (status) {
  case ARES_SUCCESS:
    return 0;
  case ARES_ENOTFOUND:
  case ARES_ENODATA:
  case ARES_ENONAME:
    return FL_ERESOLVE;
  case ARES_ESERVFAIL:
  case ARES_EREFUSED:
  case ARES_ECONNREFUSED:
  case ARES_EBADRESP:
    return FL_EDNS_SERVER_FAIL;
  case ARES_ETIMEOUT:
    return FL_EDNS_TIMEOUT;
  case ARES_ENOMEM:
    return FL_ENOMEM;
  default:
    return FL_ERESOLVE;
  }
}

static void set_error(fl__resolver *r, fl__dns_req *req, int err, int status,
                      const char *name) {
  req->err = err;
  req->naddrs = 0;
  switch (err) {
  case FL_EDNS_SERVER_FAIL:
    fl__msg(req->errmsg, sizeof req->errmsg, "could not resolve host: %s (DNS server failure: %s)",
            name, ares_strerror(status));
    break;
  case FL_EDNS_TIMEOUT:
    fl__msg(req->errmsg, sizeof req->errmsg,
            "could not resolve host: %s (DNS timeout after %u ms)", name,
            (unsigned)r->timeout_ms);
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

static void set_addrs(fl__dns_req *req, const fl__sockaddr *addrs, size_t n, int cache_hit) {
  size_t i;
  req->err = 0;
  req->errmsg[0] = '\0';
  req->cache_hit = cache_hit;
  req->naddrs = n;
  for (i = 0; i < n; i++) {
    req->addrs[i] = addrs[i];
    fl__sockaddr_set_port(&req->addrs[i], req->port);
  }
}

/* ------------------------------------------------------------ the cache */
static void cache_drop(fl__resolver *r, centry *e) {
  ht_remove(&r->cache, &e->h);
  fl__queue_remove(&e->age);
  free(e);
}

static centry *cache_find(fl__resolver *r, const char *name) {
  hnode *n = ht_find(&r->cache, name);
  centry *e;
  if (!n)
    return NULL;
  e = fl__container_of(n, centry, h);
  if (fl__loop_now(r->loop) >= e->expires) {
    cache_drop(r, e);
    return NULL;
  }
  return e;
}

/* Make room for one more entry: drop the expired ones, else the oldest. */
static void cache_make_room(fl__resolver *r) {
  uint64_t now = fl__loop_now(r->loop);
  fl__queue *q, *next;
  if (r->cache.count < CACHE_MAX_ENTRIES)
    return;
  for (q = r->cache_age.next; q != &r->cache_age; q = next) {
    centry *e = fl__container_of(q, centry, age);
    next = q->next;
    if (now >= e->expires)
      cache_drop(r, e);
  }
  if (r->cache.count >= CACHE_MAX_ENTRIES)
    cache_drop(r, fl__container_of(r->cache_age.next, centry, age));
}

/* Store a result for name (lower case); replaces an older entry. */
static void cache_store(fl__resolver *r, const char *name, int err, int status,
                        const fl__sockaddr *addrs, size_t naddrs, uint64_t lifetime_ms) {
  hnode *old = ht_find(&r->cache, name);
  size_t len = strlen(name);
  centry *e;

  if (old)
    cache_drop(r, fl__container_of(old, centry, h));
  if (lifetime_ms == 0)
    return;
  cache_make_room(r);
  e = malloc(sizeof(*e) + len + 1);
  if (!e)
    return; /* the cache is an optimisation */
  memcpy(e->name, name, len + 1);
  e->expires = fl__loop_now(r->loop) + lifetime_ms;
  e->err = err;
  e->status = status;
  e->naddrs = naddrs;
  if (naddrs)
    memcpy(e->addrs, addrs, naddrs * sizeof(*addrs));
  ht_insert(&r->cache, &e->h, e->name);
  fl__queue_insert_tail(&r->cache_age, &e->age);
}

static void cache_store_result(fl__resolver *r, const lookup *lk) {
  uint64_t life;
  if (lk->err == 0)
    return; /* positive results are stored with their TTL by the caller */
  if (lk->err == FL_EDNS_TIMEOUT || lk->err == FL_ENOMEM || r->opts.ttl_max_ms == 0)
    return;
  life = r->opts.negative_ttl_ms;
  cache_store(r, lk->name, lk->err, lk->status, NULL, 0, life);
}

int fl__dns_cache_put(fl__resolver *r, const char *name, const fl__sockaddr *addrs, size_t n,
                      uint32_t ttl_s) {
  char key[NAME_MAX_LEN + 1];
  fl__sockaddr ordered[FL__DNS_MAX_ADDRS];
  size_t len = strlen(name);
  if (len == 0 || len > NAME_MAX_LEN || n == 0)
    return FL_EINVAL;
  fl__dns_lower_copy(key, name, len);
  n = fl__dns_order_addrs(ordered, FL__DNS_MAX_ADDRS, addrs, n);
  cache_store(r, key, 0, 0, ordered, n, fl__dns_cache_lifetime_ms(&r->opts, ttl_s));
  return 0;
}

/* -------------------------------------------------------- c-ares sockets */
static void update_timer(fl__resolver *r);

static void on_sock_io(fl_loop *loop, fl__io *io, uint32_t events) {
  sock *s = fl__container_of(io, sock, io);
  fl__resolver *r = s->r; /* s may be freed by ares_process_fd */
  ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;
  uint32_t bad = EPOLLERR | EPOLLHUP;
  FL__UNUSED(loop);

  if ((events & (FL__POLLIN | EPOLLRDHUP | bad)) && (s->want & FL__POLLIN))
    rfd = io->fd;
  if ((events & FL__POLLOUT) || ((events & bad) && (s->want & FL__POLLOUT)))
    wfd = io->fd;
  if (rfd == ARES_SOCKET_BAD && wfd == ARES_SOCKET_BAD)
    rfd = io->fd; /* an error on a socket c-ares watches: let it read and fail */
  ares_process_fd(r->channel, rfd, wfd);
  update_timer(r);
}

static long find_sock(const fl__resolver *r, int fd) {
  size_t i;
  for (i = 0; i < r->nsocks; i++)
    if (r->socks[i]->io.fd == fd)
      return (long)i;
  return -1;
}

static void sock_forget(fl__resolver *r, size_t i) {
  sock *s = r->socks[i];
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
  sock *s;

  if (!want) {
    if (i >= 0)
      sock_forget(r, (size_t)i);
    return;
  }
  if (i < 0) {
    if (r->nsocks == r->capsocks) {
      size_t cap = r->capsocks ? r->capsocks * 2 : 4;
      sock **v = realloc(r->socks, cap * sizeof(*v));
      if (!v) {
        r->stats.watch_errors++; /* the lookup will end at its deadline */
        return;
      }
      r->socks = v;
      r->capsocks = cap;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
      r->stats.watch_errors++;
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
  if (off)
    fl__io_stop(r->loop, &s->io, off);
  if (on && fl__io_start(r->loop, &s->io, on) != 0) {
    r->stats.watch_errors++;
    on = 0;
  }
  s->want = (s->want & ~off) | on;
}

/* ------------------------------------------------------------- lookups */
static void maybe_free_lookup(lookup *lk) {
  if (lk->in_ares || !lk->delivered)
    return;
  fl__queue_remove(&lk->node);
  free(lk);
}

/* The result is known: stop accepting waiters, answer them from the loop. */
static void finish_lookup(fl__resolver *r, lookup *lk, int err, int status) {
  lk->done = 1;
  lk->err = err;
  lk->status = status;
  ht_remove(&r->inflight, &lk->h);
  fl__queue_remove(&lk->pending);
  fl__defer_schedule(r->loop, &lk->deliver);
}

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
    if (node->ai_ttl < ttl)
      ttl = node->ai_ttl;
    n++;
  }
  for (cn = ai->cnames; cn; cn = cn->next)
    if (cn->ttl < ttl)
      ttl = cn->ttl;
  *ttl_out = ttl < 0 ? 0 : (uint32_t)ttl;
  return fl__dns_order_addrs(out, FL__DNS_MAX_ADDRS, raw, n);
}

static void on_ares_done(void *arg, int status, int timeouts, struct ares_addrinfo *ai) {
  lookup *lk = arg;
  fl__resolver *r = lk->r;
  fl__sockaddr addrs[FL__DNS_MAX_ADDRS];
  size_t n = 0;
  uint32_t ttl = 0;
  FL__UNUSED(timeouts);

  lk->in_ares = 0;
  r->stats.in_flight--;
  if (status == ARES_EDESTRUCTION) {
    /* From ares_destroy: the resolver is going away and frees lk itself. */
    if (ai)
      ares_freeaddrinfo(ai);
    return;
  }
  if (status == ARES_SUCCESS) {
    n = ai ? collect(ai, addrs, &ttl) : 0;
    if (n == 0)
      status = ARES_ENODATA;
  }
  if (ai)
    ares_freeaddrinfo(ai);

  if (status == ARES_SUCCESS)
    cache_store(r, lk->name, 0, 0, addrs, n, fl__dns_cache_lifetime_ms(&r->opts, ttl));
  if (!lk->done) {
    lk->naddrs = n;
    if (n)
      memcpy(lk->addrs, addrs, n * sizeof(addrs[0]));
    finish_lookup(r, lk, map_status(status), status);
    cache_store_result(r, lk);
  }
  maybe_free_lookup(lk); /* a lookup that already timed out is done now */
}

static void destroy(fl__resolver *r);

/* Deferred: answer every waiter. A callback may cancel other waiters, start
 * lookups, or free the resolver. */
static void on_deliver(fl__defer *d) {
  lookup *lk = fl__container_of(d, lookup, deliver);
  fl__resolver *r = lk->r;

  r->delivering++;
  while (!r->dead && !fl__queue_empty(&lk->waiters)) {
    fl__queue *q = lk->waiters.next;
    fl__dns_req *req = fl__container_of(q, fl__dns_req, node);
    fl__queue_remove(q);
    req->entry = NULL;
    req->cache_hit = 0;
    if (lk->err)
      set_error(r, req, lk->err, lk->status, lk->name);
    else
      set_addrs(req, lk->addrs, lk->naddrs, 0);
    req->cb(req);
  }
  r->delivering--;
  if (r->dead) {
    if (!r->delivering)
      destroy(r);
    return;
  }
  lk->delivered = 1;
  maybe_free_lookup(lk);
}

/* ------------------------------------------------------------- the timer */
static void update_timer(fl__resolver *r) {
  uint64_t next = UINT64_MAX;
  struct timeval tv, *tvp = ares_timeout(r->channel, NULL, &tv);

  if (tvp)
    next = (uint64_t)tvp->tv_sec * 1000u + ((uint64_t)tvp->tv_usec + 999u) / 1000u;
  if (!fl__queue_empty(&r->pending)) {
    lookup *first = fl__container_of(r->pending.next, lookup, pending);
    uint64_t now = fl__loop_now(r->loop);
    uint64_t left = first->deadline > now ? first->deadline - now : 0;
    if (left < next)
      next = left;
  }
  if (next == UINT64_MAX)
    fl__timer_stop(&r->timer);
  else if (fl__timer_start(&r->timer, next) != 0)
    r->stats.watch_errors++; /* c-ares is still driven by its sockets */
}

static void on_timer(fl__timer *t) {
  fl__resolver *r = fl__container_of(t, fl__resolver, timer);
  uint64_t now = fl__loop_now(r->loop);

  ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  while (!fl__queue_empty(&r->pending)) {
    lookup *lk = fl__container_of(r->pending.next, lookup, pending);
    if (lk->deadline > now)
      break;
    finish_lookup(r, lk, FL_EDNS_TIMEOUT, ARES_ETIMEOUT);
  }
  update_timer(r);
}

/* ------------------------------------------------------------- lifecycle */
static void destroy(fl__resolver *r) {
  size_t i;

  r->dead = 1;
  if (r->have_channel) {
    ares_destroy(r->channel); /* EDESTRUCTION callbacks, sockets closed */
    r->have_channel = 0;
  }
  while (r->nsocks) /* c-ares closes its sockets through on_sock_state */
    sock_forget(r, r->nsocks - 1);
  free(r->socks);
  fl__timer_stop(&r->timer);
  while (!fl__queue_empty(&r->lookups)) {
    lookup *lk = fl__container_of(r->lookups.next, lookup, node);
    fl__queue_remove(&lk->node);
    fl__defer_cancel(&lk->deliver);
    free(lk);
  }
  while (!fl__queue_empty(&r->cache_age))
    cache_drop(r, fl__container_of(r->cache_age.next, centry, age));
  free(r->cache.buckets);
  free(r->inflight.buckets);
  for (i = 0; i < r->noverrides; i++)
    free(r->overrides[i].host);
  free(r->overrides);
  free(r);
}

void fl__resolver_free(fl__resolver *r) {
  if (!r)
    return;
  if (r->delivering) {
    r->dead = 1; /* on_deliver finishes the job once the callback returns */
    return;
  }
  destroy(r);
}

static int init_channel(fl__resolver *r, const char *servers, char *errbuf, size_t errcap) {
  struct ares_options o;
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS;
  int st;
  char lookups[] = "fb";
  char *csv = NULL;

  if (servers) {
    int err = fl__dns_parse_servers(servers, &csv, errbuf, errcap);
    if (err)
      return err;
  }
  memset(&o, 0, sizeof o);
  o.sock_state_cb = on_sock_state;
  o.sock_state_cb_data = r;
  o.timeout = (int)(r->timeout_ms / (1 + 2 * (ARES_TRIES - 1)));
  if (o.timeout < 1)
    o.timeout = 1;
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

int fl__resolver_new(fl_loop *loop, const fl__resolver_options *opts, fl__resolver **out,
                     char *errbuf, size_t errcap) {
  fl__resolver *r;
  size_t n = 0, i;
  int err;

  *out = NULL;
  if (errbuf && errcap)
    errbuf[0] = '\0';
  pthread_once(&lib_once, lib_init);
  if (lib_status != ARES_SUCCESS) {
    set_msg(errbuf, errcap, "c-ares library init failed: %s", ares_strerror(lib_status));
    return FL_ENOMEM;
  }
  r = calloc(1, sizeof(*r));
  if (!r)
    return FL_ENOMEM;
  r->loop = loop;
  r->opts = *opts;
  r->opts.servers = NULL;
  r->opts.resolve = NULL;
  r->timeout_ms = opts->timeout_ms ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
  fl__queue_init(&r->cache_age);
  fl__queue_init(&r->lookups);
  fl__queue_init(&r->pending);
  fl__timer_init(loop, &r->timer, on_timer);
  if (ht_init(&r->cache) || ht_init(&r->inflight)) {
    err = FL_ENOMEM;
    goto fail;
  }

  if (opts->resolve)
    while (opts->resolve[n])
      n++;
  if (n) {
    r->overrides = calloc(n, sizeof(*r->overrides));
    if (!r->overrides) {
      err = FL_ENOMEM;
      goto fail;
    }
    for (i = 0; i < n; i++) {
      err = fl__dns_parse_override(opts->resolve[i], &r->overrides[i], errbuf, errcap);
      if (err)
        goto fail;
      r->noverrides++;
    }
  }
  err = init_channel(r, opts->servers, errbuf, errcap);
  if (err)
    goto fail;
  *out = r;
  return 0;

fail:
  destroy(r);
  return err;
}

void fl__resolver_stats(const fl__resolver *r, fl__dns_stats *out) {
  *out = r->stats;
  out->cache_entries = (uint32_t)r->cache.count;
  out->sockets = (uint32_t)r->nsocks;
}

/* --------------------------------------------------------------- resolve */
static const fl__dns_override *find_override(const fl__resolver *r, const char *name, uint16_t port) {
  size_t i;
  for (i = 0; i < r->noverrides; i++)
    if (r->overrides[i].port == port && strcmp(r->overrides[i].host, name) == 0)
      return &r->overrides[i];
  return NULL;
}

/* RFC 6761 6.3: "localhost." and names under .localhost are loopback and
 * never go to DNS. Plain "localhost" goes to c-ares, which answers it from
 * /etc/hosts (or loopback when absent) without DNS traffic. */
static int is_localhost_subname(const char *name, size_t len) {
  static const char suffix[] = ".localhost";
  size_t sl = sizeof suffix - 1;
  if (len && name[len - 1] == '.') {
    len--;
    if (len == sl - 1 && memcmp(name, suffix + 1, len) == 0)
      return 1; /* "localhost." */
  }
  return len > sl && memcmp(name + len - sl, suffix, sl) == 0;
}

/* Bytes no host name may hold (a failed literal, a URL fragment...): such
 * names are refused at once instead of being sent to DNS. */
static int plausible_name(const char *name) {
  const unsigned char *p;
  for (p = (const unsigned char *)name; *p; p++)
    if (*p <= ' ' || *p == 0x7f || strchr(":%[]/\\@", *p))
      return 0;
  return 1;
}

static int literal(fl__dns_req *req, const char *host, size_t len) {
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  fl__sockaddr a;
  if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
    if (len - 2 >= sizeof buf)
      return 0;
    memcpy(buf, host + 1, len - 2);
    buf[len - 2] = '\0';
    if (!fl__dns_parse_ip(buf, &a) || a.sa.sa_family != AF_INET6)
      return 0;
  } else if (!fl__dns_parse_ip(host, &a)) {
    return 0;
  }
  set_addrs(req, &a, 1, 1);
  return 1;
}

int fl__dns_resolve(fl__resolver *r, fl__dns_req *req, const char *host, uint16_t port,
                    fl__dns_cb cb, void *data) {
  static const struct ares_addrinfo_hints hints = {0, AF_UNSPEC, SOCK_STREAM, 0};
  char name[NAME_MAX_LEN + 1];
  size_t len = host ? strlen(host) : 0;
  const fl__dns_override *o;
  centry *e;
  hnode *h;
  lookup *lk;

  req->err = 0;
  req->naddrs = 0;
  req->cache_hit = 0;
  req->errmsg[0] = '\0';
  req->cb = cb;
  req->data = data;
  req->entry = NULL;
  req->port = port;
  fl__queue_init(&req->node);

  if (len == 0) {
    set_error(r, req, FL_ERESOLVE, ARES_SUCCESS, "(empty host name)");
    return 0;
  }
  if (literal(req, host, len))
    return 0;
  if (len > NAME_MAX_LEN) {
    set_error(r, req, FL_ERESOLVE, ARES_EBADNAME, "(name too long)");
    return 0;
  }
  fl__dns_lower_copy(name, host, len);
  if (!plausible_name(name)) {
    set_error(r, req, FL_ERESOLVE, ARES_EBADNAME, name);
    return 0;
  }

  o = find_override(r, name, port);
  if (o) {
    set_addrs(req, o->addrs, o->naddrs, 1);
    return 0;
  }
  if (is_localhost_subname(name, len)) {
    fl__sockaddr lo[2];
    memset(lo, 0, sizeof lo);
    lo[0].in6.sin6_family = AF_INET6;
    lo[0].in6.sin6_addr = in6addr_loopback;
    lo[1].in4.sin_family = AF_INET;
    lo[1].in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    set_addrs(req, lo, 2, 1);
    return 0;
  }

  e = cache_find(r, name);
  if (e) {
    if (e->err) {
      r->stats.negative_hits++;
      set_error(r, req, e->err, e->status, name);
      req->cache_hit = 1;
    } else {
      r->stats.cache_hits++;
      set_addrs(req, e->addrs, e->naddrs, 1);
    }
    return 0;
  }

  h = ht_find(&r->inflight, name);
  if (h) {
    lk = fl__container_of(h, lookup, h);
    fl__queue_insert_tail(&lk->waiters, &req->node);
    req->entry = lk;
    r->stats.joined++;
    return 1;
  }

  lk = calloc(1, sizeof(*lk) + len + 1);
  if (!lk) {
    set_error(r, req, FL_ENOMEM, ARES_ENOMEM, name);
    return 0;
  }
  memcpy(lk->name, name, len + 1);
  lk->r = r;
  fl__queue_init(&lk->waiters);
  fl__defer_init(&lk->deliver, on_deliver);
  lk->deadline = fl__loop_now(r->loop) + r->timeout_ms;
  lk->in_ares = 1;
  ht_insert(&r->inflight, &lk->h, lk->name);
  fl__queue_insert_tail(&r->lookups, &lk->node);
  fl__queue_insert_tail(&r->pending, &lk->pending);
  fl__queue_insert_tail(&lk->waiters, &req->node);
  req->entry = lk;
  r->stats.queries++;
  r->stats.in_flight++;
  /* May call on_ares_done before returning (hosts file, immediate errors):
   * that only records the result and schedules delivery. */
  ares_getaddrinfo(r->channel, lk->name, NULL, &hints, on_ares_done, lk);
  update_timer(r);
  return 1;
}

void fl__dns_cancel(fl__resolver *r, fl__dns_req *req) {
  FL__UNUSED(r);
  if (!req->entry)
    return;
  /* The lookup goes on without waiters: its answer still fills the cache. */
  fl__queue_remove(&req->node);
  req->entry = NULL;
}
