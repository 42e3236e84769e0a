/* The DNS cache shared across threads (contract in dns_share.h): a mutex
 * around an answer cache (dns_cache.c) and a table of names in flight, each
 * with the parks of the resolvers waiting for it. Answers reach parked
 * resolvers through fl_loop_post, so they are handled on their own thread. */
#include "net/dns_share.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "loop/loop.h"
#include "net/dns_cache.h"

enum { PARK_LISTED, PARK_POSTED, PARK_UNDELIVERABLE };

struct fl__dns_park {
  fl__queue node; /* sh_lookup.parks while listed */
  fl_loop *loop;
  fl__dns_park_cb cb;
  void *data;
  int state;
  int orphan; /* unparked after it was posted: the post frees it, no callback */
  int retry;
  fl__dns_answer answer;
};

typedef struct sh_lookup {
  fl__hash_node h;
  fl__queue parks;
  char name[];
} sh_lookup;

struct fl__dns_share {
  pthread_mutex_t lock;
  fl__dns_cache cache;
  fl__hash inflight; /* sh_lookup by name */
  fl__dns_share_stats stats;
};

static int sh_eq(const fl__hash_node *n, const void *name) {
  return strcmp(fl__container_of(n, sh_lookup, h)->name, name) == 0;
}

int fl__dns_share_new(uint32_t ttl_min_ms, uint32_t ttl_max_ms, uint32_t negative_ttl_ms,
                      fl__dns_share **out) {
  fl__dns_share *s = calloc(1, sizeof *s);
  *out = NULL;
  if (!s || pthread_mutex_init(&s->lock, NULL) != 0) {
    free(s);
    return FL_ENOMEM;
  }
  fl__dns_cache_init(&s->cache, ttl_min_ms, ttl_max_ms, negative_ttl_ms);
  fl__hash_init(&s->inflight);
  *out = s;
  return 0;
}

void fl__dns_share_free(fl__dns_share *s) {
  if (!s) return;
  fl__dns_cache_free(&s->cache);
  fl__hash_free(&s->inflight); /* empty: every resolver finished or abandoned */
  pthread_mutex_destroy(&s->lock);
  free(s);
}

static sh_lookup *find(fl__dns_share *s, const char *name) {
  fl__hash_node *n = fl__hash_find(&s->inflight, fl__hash_str(name), sh_eq, name);
  return n ? fl__container_of(n, sh_lookup, h) : NULL;
}

int fl__dns_share_begin(fl__dns_share *s, const char *name, uint64_t now, fl__dns_answer *hit,
                        fl_loop *loop, fl__dns_park_cb cb, void *data, fl__dns_park **park) {
  int rc;
  size_t len = strlen(name);
  pthread_mutex_lock(&s->lock);
  const fl__dns_entry *e = fl__dns_cache_find(&s->cache, name, now);
  if (e) {
    hit->err = e->err;
    hit->status = e->status;
    hit->naddrs = e->naddrs;
    if (e->naddrs) memcpy(hit->addrs, e->addrs, e->naddrs * sizeof e->addrs[0]);
    s->stats.hits++;
    rc = FL__DNS_SHARE_HIT;
    goto out;
  }
  sh_lookup *lk = find(s, name);
  if (lk) {
    fl__dns_park *p = calloc(1, sizeof *p);
    if (!p) {
      rc = FL_ENOMEM;
      goto out;
    }
    p->loop = loop;
    p->cb = cb;
    p->data = data;
    p->state = PARK_LISTED;
    fl__queue_insert_tail(&lk->parks, &p->node);
    *park = p;
    s->stats.misses++;
    s->stats.joined++;
    rc = FL__DNS_SHARE_PARKED;
    goto out;
  }
  lk = malloc(sizeof *lk + len + 1);
  if (!lk) {
    rc = FL_ENOMEM;
    goto out;
  }
  memcpy(lk->name, name, len + 1);
  fl__queue_init(&lk->parks);
  if (fl__hash_insert(&s->inflight, &lk->h, fl__hash_str(lk->name)) != 0) {
    free(lk);
    rc = FL_ENOMEM;
    goto out;
  }
  s->stats.misses++;
  s->stats.lookups++;
  rc = FL__DNS_SHARE_OWNER;
out:
  pthread_mutex_unlock(&s->lock);
  return rc;
}

/* On the parked resolver's thread. A park unparked meanwhile was marked
 * orphan on this same thread, so the flag needs no lock (and the share may
 * be gone by now). */
static void park_run(void *data) {
  fl__dns_park *p = data;
  if (!p->orphan) p->cb(p->data, &p->answer, p->retry);
  free(p);
}

/* Under the lock: take name out of the table; its parks, with their
 * answers filled in, move to *out. */
static void take_parks(fl__dns_share *s, const char *name, const fl__dns_answer *a,
                       fl__queue *out) {
  sh_lookup *lk = find(s, name);
  if (!lk) return;
  fl__hash_remove(&s->inflight, &lk->h);
  while (!fl__queue_empty(&lk->parks)) {
    fl__dns_park *p = fl__container_of(lk->parks.next, fl__dns_park, node);
    fl__queue_remove(&p->node);
    p->state = PARK_POSTED;
    p->retry = a == NULL;
    if (a) p->answer = *a;
    fl__queue_insert_tail(out, &p->node);
  }
  free(lk);
}

/* Outside the lock: post each park to its loop. */
static void post_parks(fl__dns_share *s, fl__queue *parks) {
  while (!fl__queue_empty(parks)) {
    fl__dns_park *p = fl__container_of(parks->next, fl__dns_park, node);
    fl__queue_remove(&p->node); /* before the post: park_run may free p at once */
    if (fl_loop_post(p->loop, park_run, p) == 0) continue;
    /* No memory to post: the parked lookup ends at its own deadline. */
    pthread_mutex_lock(&s->lock);
    if (p->orphan)
      free(p);
    else
      p->state = PARK_UNDELIVERABLE;
    pthread_mutex_unlock(&s->lock);
  }
}

static void cache_put(fl__dns_share *s, const char *name, const fl__dns_answer *a, uint32_t ttl_s,
                      uint64_t now) {
  if (a->err == 0)
    fl__dns_cache_store_addrs(&s->cache, name, a->addrs, a->naddrs, ttl_s, now);
  else
    fl__dns_cache_store_error(&s->cache, name, a->err, a->status, now);
}

void fl__dns_share_finish(fl__dns_share *s, const char *name, const fl__dns_answer *a,
                          uint32_t ttl_s, uint64_t now) {
  fl__queue parks;
  fl__queue_init(&parks);
  pthread_mutex_lock(&s->lock);
  cache_put(s, name, a, ttl_s, now);
  take_parks(s, name, a, &parks);
  pthread_mutex_unlock(&s->lock);
  post_parks(s, &parks);
}

void fl__dns_share_store(fl__dns_share *s, const char *name, const fl__dns_answer *a,
                         uint32_t ttl_s, uint64_t now) {
  pthread_mutex_lock(&s->lock);
  cache_put(s, name, a, ttl_s, now);
  pthread_mutex_unlock(&s->lock);
}

void fl__dns_share_abandon(fl__dns_share *s, const char *name) {
  fl__queue parks;
  fl__queue_init(&parks);
  pthread_mutex_lock(&s->lock);
  take_parks(s, name, NULL, &parks);
  pthread_mutex_unlock(&s->lock);
  post_parks(s, &parks);
}

void fl__dns_share_unpark(fl__dns_share *s, fl__dns_park *p) {
  pthread_mutex_lock(&s->lock);
  if (p->state == PARK_POSTED) {
    p->orphan = 1; /* park_run frees it */
    p = NULL;
  } else if (p->state == PARK_LISTED) {
    fl__queue_remove(&p->node); /* its name stays in flight for the others */
  }
  pthread_mutex_unlock(&s->lock);
  free(p);
}

void fl__dns_share_flush(fl__dns_share *s) {
  pthread_mutex_lock(&s->lock);
  uint32_t a = s->cache.ttl_min_ms, b = s->cache.ttl_max_ms, c = s->cache.negative_ttl_ms;
  fl__dns_cache_free(&s->cache);
  fl__dns_cache_init(&s->cache, a, b, c);
  pthread_mutex_unlock(&s->lock);
}

void fl__dns_share_get_stats(fl__dns_share *s, fl__dns_share_stats *out) {
  pthread_mutex_lock(&s->lock);
  *out = s->stats;
  out->entries = (uint32_t)fl__dns_cache_count(&s->cache);
  out->in_flight = (uint32_t)s->inflight.count;
  pthread_mutex_unlock(&s->lock);
}
