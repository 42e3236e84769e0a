/* Asynchronous name resolution: c-ares on the reactor, overrides, a cache.
 *
 * Shape (this file: answers at once, lookups, waiters, delivery, lifecycle;
 * dns_ares.c: c-ares on the reactor; dns_cache.c: the cache)
 * - One ares_channel per resolver. c-ares tells us which sockets to watch
 *   through the socket-state callback; each gets an fl__io (fl__dns_sock).
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
#include "net/dns_impl.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TIMEOUT_MS 5000

static int lookup_eq(const fl__hash_node *n, const void *name) {
  return strcmp(fl__container_of(n, fl__dns_lookup, h)->name, name) == 0;
}

/* The addresses of the resolver's family (all with family 0): a name
 * without one is not resolved (curl's -4 / -6). */
/* Give back an array of addresses (the request's own two need nothing). */
static void free_addrs(fl__dns_req *req) {
  if (req->addrs && req->addrs != req->few) free(req->addrs);
  req->addrs = req->few;
}

static void set_addrs(const fl__resolver *r, fl__dns_req *req, const fl__sockaddr *addrs, size_t n,
                      int cache_hit) {
  size_t i, kept = 0;
  int want = r->family == 4 ? AF_INET : r->family == 6 ? AF_INET6 : 0;
  req->err = 0;
  req->errmsg[0] = '\0';
  req->cache_hit = cache_hit;
  req->naddrs = 0;
  free_addrs(req);
  for (i = 0; i < n; i++) kept += !want || addrs[i].sa.sa_family == want;
  if (kept > sizeof req->few / sizeof req->few[0] &&
      !(req->addrs = malloc(kept * sizeof *req->addrs))) {
    req->addrs = req->few;
    req->err = FL_ENOMEM;
    fl__msg(req->errmsg, sizeof req->errmsg, "could not resolve host: out of memory");
    return;
  }
  for (i = 0; i < n; i++) {
    if (want && addrs[i].sa.sa_family != want) continue;
    req->addrs[req->naddrs] = addrs[i];
    fl__sockaddr_set_port(&req->addrs[req->naddrs++], req->port);
  }
  if (n && !req->naddrs) {
    req->err = FL_ERESOLVE;
    fl__msg(req->errmsg, sizeof req->errmsg, "could not resolve host: it has no IPv%d address",
            r->family);
  }
}

uint64_t fl__dns_cache_lifetime_ms(const fl__resolver_options *o, uint32_t ttl_s) {
  return fl__dns_cache_clamp_ttl(o->ttl_min_ms, o->ttl_max_ms, ttl_s);
}

int fl__dns_cache_put(fl__resolver *r, const char *name, const fl__sockaddr *addrs, size_t n,
                      uint32_t ttl_s) {
  char key[FL__DNS_NAME_MAX + 1];
  fl__sockaddr ordered[FL__DNS_MAX_ADDRS];
  size_t len = strlen(name);
  if (len == 0 || len > FL__DNS_NAME_MAX || n == 0) return FL_EINVAL;
  fl__dns_lower_copy(key, name, len);
  n = fl__dns_order_addrs(ordered, FL__DNS_MAX_ADDRS, addrs, n);
  fl__dns_cache_store_addrs(&r->cache, key, ordered, n, ttl_s, fl__loop_now(r->loop));
  return 0;
}

/* ------------------------------------------------------------- lookups */
void fl__dns_lookup_maybe_free(fl__dns_lookup *lk) {
  if (lk->in_ares || !lk->delivered) return;
  fl__queue_remove(&lk->node);
  free(lk);
}

static void destroy(fl__resolver *r);

void fl__dns_lookup_finish(fl__resolver *r, fl__dns_lookup *lk, int err, int status) {
  uint64_t now = fl__loop_now(r->loop);
  lk->done = 1;
  lk->err = err;
  lk->status = status;
  fl__hash_remove(&r->inflight, &lk->h);
  fl__queue_remove(&lk->pending);
  if (lk->park) { /* our own deadline came first */
    fl__dns_share_unpark(r->share, lk->park);
    lk->park = NULL;
  }
  if (lk->share_owner) {
    fl__dns_answer a = {.err = err, .status = status, .naddrs = err ? 0 : lk->naddrs};
    if (a.naddrs) memcpy(a.addrs, lk->addrs, a.naddrs * sizeof a.addrs[0]);
    lk->share_owner = 0;
    fl__dns_share_finish(r->share, lk->name, &a, lk->ttl, now);
  } else if (!r->share && err == 0) {
    fl__dns_cache_store_addrs(&r->cache, lk->name, lk->addrs, lk->naddrs, lk->ttl, now);
  } else if (!r->share) {
    fl__dns_cache_store_error(&r->cache, lk->name, err, status, now);
  }
  fl__defer_schedule(r->loop, &lk->deliver);
}

/* Deferred: answer every waiter. A callback may cancel other waiters, start
 * lookups, or free the resolver. */
static void on_deliver(fl__defer *d) {
  fl__dns_lookup *lk = fl__container_of(d, fl__dns_lookup, deliver);
  fl__resolver *r = lk->r;

  r->delivering++;
  while (!r->dead && !fl__queue_empty(&lk->waiters)) {
    fl__queue *q = lk->waiters.next;
    fl__dns_req *req = fl__container_of(q, fl__dns_req, node);
    fl__queue_remove(q);
    req->entry = NULL;
    req->cache_hit = 0;
    if (lk->err)
      fl__dns_ares_set_error(r, req, lk->err, lk->status, lk->name);
    else
      set_addrs(r, req, lk->addrs, lk->naddrs, 0);
    req->cb(req);
  }
  r->delivering--;
  if (r->dead) {
    if (!r->delivering) destroy(r);
    return;
  }
  lk->delivered = 1;
  fl__dns_lookup_maybe_free(lk);
}

/* ------------------------------------------------------------- lifecycle */
static void destroy(fl__resolver *r) {
  size_t i;

  r->dead = 1;
  fl__dns_ares_destroy(r);
  while (!fl__queue_empty(&r->lookups)) {
    fl__dns_lookup *lk = fl__container_of(r->lookups.next, fl__dns_lookup, node);
    fl__queue_remove(&lk->node);
    fl__defer_cancel(&lk->deliver);
    if (lk->park) fl__dns_share_unpark(r->share, lk->park);
    if (lk->share_owner) fl__dns_share_abandon(r->share, lk->name); /* parks retry */
    free(lk);
  }
  fl__dns_cache_free(&r->cache);
  fl__hash_free(&r->inflight);
  free(r->servers);
  for (i = 0; i < r->noverrides; i++) free(r->overrides[i].host);
  free(r->overrides);
  free(r);
}

void fl__resolver_free(fl__resolver *r) {
  if (!r) return;
  if (r->delivering) {
    r->dead = 1; /* on_deliver finishes the job once the callback returns */
    return;
  }
  destroy(r);
}

int fl__resolver_new(fl_loop *loop, const fl__resolver_options *opts, fl__resolver **out,
                     char *errbuf, size_t errcap) {
  fl__resolver *r;
  size_t n = 0, i;
  int err;

  *out = NULL;
  if (errbuf && errcap) errbuf[0] = '\0';
  err = fl__dns_ares_library_init(errbuf, errcap);
  if (err) return err;
  r = calloc(1, sizeof(*r));
  if (!r) return FL_ENOMEM;
  r->loop = loop;
  r->timeout_ms = opts->timeout_ms ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
  r->family = opts->family;
  r->share = opts->share;
  if (opts->servers && !(r->servers = strdup(opts->servers))) {
    free(r);
    return FL_ENOMEM;
  }
  fl__dns_cache_init(&r->cache, opts->ttl_min_ms, opts->ttl_max_ms, opts->negative_ttl_ms);
  fl__hash_init(&r->inflight);
  fl__queue_init(&r->lookups);
  fl__queue_init(&r->pending);
  fl__timer_init(loop, &r->timer, fl__dns_ares_on_timer);

  if (opts->resolve)
    while (opts->resolve[n]) n++;
  if (n) {
    r->overrides = calloc(n, sizeof(*r->overrides));
    if (!r->overrides) {
      err = FL_ENOMEM;
      goto fail;
    }
    for (i = 0; i < n; i++) {
      err = fl__dns_parse_override(opts->resolve[i], &r->overrides[i], errbuf, errcap);
      if (err) goto fail;
      r->noverrides++;
    }
  }
  err = fl__dns_ares_init(r, opts->servers, errbuf, errcap);
  if (err) goto fail;
  *out = r;
  return 0;

fail:
  destroy(r);
  return err;
}

int fl__resolver_reload(fl__resolver *r) {
  uint32_t a = r->cache.ttl_min_ms, b = r->cache.ttl_max_ms, c = r->cache.negative_ttl_ms;
  fl__dns_cache_free(&r->cache);
  fl__dns_cache_init(&r->cache, a, b, c);
  return fl__dns_ares_reload(r);
}

void fl__resolver_stats(const fl__resolver *r, fl__dns_stats *out) {
  *out = r->stats;
  out->cache_entries = (uint32_t)fl__dns_cache_count(&r->cache);
  if (r->share) {
    fl__dns_share_stats st;
    fl__dns_share_get_stats(r->share, &st);
    out->cache_entries = st.entries;
  }
  out->sockets = (uint32_t)r->nsocks;
  out->names = (uint32_t)r->inflight.count;
}

/* --------------------------------------------------------------- resolve */
/* Overrides hold lower-cased names; host may be in any case and of any
 * length (a name DNS could not carry may still be overridden). */
static const fl__dns_override *find_override(const fl__resolver *r, const char *host,
                                             uint16_t port) {
  size_t i;
  for (i = 0; i < r->noverrides; i++)
    if (r->overrides[i].port == port && fl__strcaseeq(r->overrides[i].host, host))
      return &r->overrides[i];
  return NULL;
}

/* What a DNS query can carry (RFC 1035 2.3.4): 253 bytes, one trailing dot
 * aside, in labels of at most 63. Checked only before asking DNS: through
 * a proxy or with an override such a name is fine (as curl). */
static int dns_name_fits(const char *name, size_t n) {
  size_t i, label = 0;
  if (n > 0 && name[n - 1] == '.') n--;
  if (n > FL__DNS_NAME_MAX - 1) return 0;
  for (i = 0; i < n; i++) {
    label = name[i] == '.' ? 0 : label + 1;
    if (label > 63) return 0;
  }
  return 1;
}

/* RFC 6761 6.3: "localhost." and names under .localhost are loopback and
 * never go to DNS. Plain "localhost" goes to c-ares, which answers it from
 * /etc/hosts (or loopback when absent) without DNS traffic. */
static int is_localhost_subname(const char *name, size_t len) {
  static const char suffix[] = ".localhost";
  size_t sl = sizeof suffix - 1;
  if (len && name[len - 1] == '.') {
    len--;
    if (len == sl - 1 && memcmp(name, suffix + 1, len) == 0) return 1; /* "localhost." */
  }
  return len > sl && memcmp(name + len - sl, suffix, sl) == 0;
}

/* Bytes no host name may hold (a failed literal, a URL fragment...): such
 * names are refused at once instead of being sent to DNS. */
static int plausible_name(const char *name) {
  const unsigned char *p;
  for (p = (const unsigned char *)name; *p; p++)
    if (*p <= ' ' || *p == 0x7f || strchr(":%[]/\\@", *p)) return 0;
  return 1;
}

static int literal(const fl__resolver *r, fl__dns_req *req, const char *host, size_t len) {
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  fl__sockaddr a;
  if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
    if (len - 2 >= sizeof buf) return 0;
    memcpy(buf, host + 1, len - 2);
    buf[len - 2] = '\0';
    if (!fl__dns_parse_ip(buf, &a) || a.sa.sa_family != AF_INET6) return 0;
  } else if (!fl__dns_parse_ip(host, &a)) {
    return 0;
  }
  set_addrs(r, req, &a, 1, 1);
  if (req->err) { /* an address of the other family: it cannot be reached (curl: 7) */
    req->err = FL_ECONNECT;
    fl__msg(req->errmsg, sizeof req->errmsg, "cannot connect to %s over IPv%d only", host,
            r->family);
  }
  return 1;
}

static void start_ares(fl__resolver *r, fl__dns_lookup *lk) {
  lk->in_ares = 1;
  r->stats.queries++;
  r->stats.in_flight++;
  fl__dns_ares_start(r, lk);
}

static void on_park(void *data, const fl__dns_answer *a, int retry);

/* Ask the share about lk's name (lk is in r->inflight and r->pending):
 * a hit fills lk's result and returns FL__DNS_SHARE_HIT (the caller
 * answers); otherwise lk owns the lookup (c-ares started) or waits parked
 * on another thread's, or failed (out of memory), with its result on the
 * way through fl__dns_lookup_finish. */
static int share_begin(fl__resolver *r, fl__dns_lookup *lk) {
  fl__dns_answer a;
  int rc = fl__dns_share_begin(r->share, lk->name, fl__loop_now(r->loop), &a, r->loop, on_park, lk,
                               &lk->park);
  switch (rc) {
  case FL__DNS_SHARE_HIT:
    lk->err = a.err;
    lk->status = a.status;
    lk->naddrs = a.naddrs;
    if (a.naddrs) memcpy(lk->addrs, a.addrs, a.naddrs * sizeof a.addrs[0]);
    return rc;
  case FL__DNS_SHARE_OWNER:
    lk->share_owner = 1;
    start_ares(r, lk);
    return rc;
  case FL__DNS_SHARE_PARKED:
    r->stats.joined++;
    fl__dns_ares_rearm(r); /* our own deadline still holds */
    return rc;
  default: fl__dns_lookup_finish(r, lk, FL_ENOMEM, ARES_ENOMEM); return rc;
  }
}

/* Posted from the thread whose lookup we waited on: its answer, or retry
 * (it went away without one). Runs on our loop's thread. */
static void on_park(void *data, const fl__dns_answer *a, int retry) {
  fl__dns_lookup *lk = data;
  fl__resolver *r = lk->r;
  lk->park = NULL;
  if (retry) {
    if (share_begin(r, lk) != FL__DNS_SHARE_HIT) return;
    r->stats.cache_hits++;
    fl__dns_lookup_finish(r, lk, lk->err, lk->status);
    return;
  }
  lk->naddrs = a->err ? 0 : a->naddrs;
  if (lk->naddrs) memcpy(lk->addrs, a->addrs, lk->naddrs * sizeof a->addrs[0]);
  fl__dns_lookup_finish(r, lk, a->err, a->status);
}

int fl__dns_resolve(fl__resolver *r, fl__dns_req *req, const char *host, uint16_t port,
                    fl__dns_cb cb, void *data) {
  char name[FL__DNS_NAME_MAX + 1];
  size_t len = host ? strlen(host) : 0;
  const fl__dns_override *o;
  const fl__dns_entry *e;
  fl__hash_node *h;
  uint32_t hash;
  fl__dns_lookup *lk;

  req->err = 0;
  req->naddrs = 0;
  free_addrs(req);
  req->cache_hit = 0;
  req->errmsg[0] = '\0';
  req->cb = cb;
  req->data = data;
  req->entry = NULL;
  req->port = port;
  fl__queue_init(&req->node);

  if (len == 0) {
    fl__dns_ares_set_error(r, req, FL_ERESOLVE, ARES_SUCCESS, "(empty host name)");
    return 0;
  }
  if (literal(r, req, host, len)) return 0;
  o = find_override(r, host, port);
  if (o) {
    set_addrs(r, req, o->addrs, o->naddrs, 1);
    return 0;
  }
  if (!dns_name_fits(host, len)) {
    req->err = FL_ERESOLVE;
    fl__msg(req->errmsg, sizeof req->errmsg,
            "could not resolve host: the name is longer than DNS allows: %.100s...", host);
    return 0;
  }
  fl__dns_lower_copy(name, host, len);
  if (!plausible_name(name)) {
    fl__dns_ares_set_error(r, req, FL_ERESOLVE, ARES_EBADNAME, name);
    return 0;
  }
  if (is_localhost_subname(name, len)) {
    fl__sockaddr lo[2];
    memset(lo, 0, sizeof lo);
    lo[0].in6.sin6_family = AF_INET6;
    lo[0].in6.sin6_addr = in6addr_loopback;
    lo[1].in4.sin_family = AF_INET;
    lo[1].in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    set_addrs(r, req, lo, 2, 1);
    return 0;
  }

  e = r->share ? NULL : fl__dns_cache_find(&r->cache, name, fl__loop_now(r->loop));
  if (e) {
    if (e->err) {
      r->stats.negative_hits++;
      fl__dns_ares_set_error(r, req, e->err, e->status, name);
      req->cache_hit = 1;
    } else {
      r->stats.cache_hits++;
      set_addrs(r, req, e->addrs, e->naddrs, 1);
    }
    return 0;
  }

  hash = fl__hash_str(name);
  h = fl__hash_find(&r->inflight, hash, lookup_eq, name);
  if (h) {
    lk = fl__container_of(h, fl__dns_lookup, h);
    fl__queue_insert_tail(&lk->waiters, &req->node);
    req->entry = lk;
    r->stats.joined++;
    return 1;
  }

  lk = calloc(1, sizeof(*lk) + len + 1);
  if (!lk) {
    fl__dns_ares_set_error(r, req, FL_ENOMEM, ARES_ENOMEM, name);
    return 0;
  }
  memcpy(lk->name, name, len + 1);
  lk->r = r;
  fl__queue_init(&lk->waiters);
  fl__defer_init(&lk->deliver, on_deliver);
  lk->deadline = fl__loop_now(r->loop) + r->timeout_ms;
  if (fl__hash_insert(&r->inflight, &lk->h, hash) != 0) {
    free(lk);
    fl__dns_ares_set_error(r, req, FL_ENOMEM, ARES_ENOMEM, name);
    return 0;
  }
  fl__queue_insert_tail(&r->lookups, &lk->node);
  fl__queue_insert_tail(&r->pending, &lk->pending);
  if (r->share && share_begin(r, lk) == FL__DNS_SHARE_HIT) {
    /* Answered from the shared cache: no lookup after all. */
    int err = lk->err;
    fl__hash_remove(&r->inflight, &lk->h);
    fl__queue_remove(&lk->pending);
    fl__queue_remove(&lk->node);
    if (err) {
      r->stats.negative_hits++;
      fl__dns_ares_set_error(r, req, err, lk->status, name);
    } else {
      r->stats.cache_hits++;
      set_addrs(r, req, lk->addrs, lk->naddrs, 1);
    }
    req->cache_hit = 1;
    free(lk);
    return 0;
  }
  fl__queue_insert_tail(&lk->waiters, &req->node);
  req->entry = lk;
  if (!r->share) start_ares(r, lk);
  return 1;
}

void fl__dns_cancel(fl__resolver *r, fl__dns_req *req) {
  FL__UNUSED(r);
  free_addrs(req);
  req->naddrs = 0;
  if (!req->entry) return;
  /* The lookup goes on without waiters: its answer still fills the cache. */
  fl__queue_remove(&req->node);
  req->entry = NULL;
}
