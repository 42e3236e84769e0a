/* The resolver's answer cache: a hash table of entries by name (base/hash)
 * and a list in insertion order for eviction. See dns_cache.h. */
#include "net/dns_cache.h"

#include <stdlib.h>
#include <string.h>

#define CACHE_MAX_ENTRIES 4096

static int entry_eq(const fl__hash_node *n, const void *name) {
  return strcmp(fl__container_of(n, fl__dns_entry, node)->name, name) == 0;
}

void fl__dns_cache_init(fl__dns_cache *c, uint32_t ttl_min_ms, uint32_t ttl_max_ms,
                        uint32_t negative_ttl_ms) {
  fl__hash_init(&c->table);
  fl__queue_init(&c->age);
  c->ttl_min_ms = ttl_min_ms;
  c->ttl_max_ms = ttl_max_ms;
  c->negative_ttl_ms = negative_ttl_ms;
}

uint64_t fl__dns_cache_clamp_ttl(uint32_t ttl_min_ms, uint32_t ttl_max_ms, uint32_t ttl_s) {
  uint64_t ms = (uint64_t)ttl_s * 1000u;
  if (ttl_max_ms == 0) return 0;
  if (ms < ttl_min_ms) ms = ttl_min_ms;
  if (ms > ttl_max_ms) ms = ttl_max_ms;
  return ms;
}

static void cache_drop(fl__dns_cache *c, fl__dns_entry *e) {
  fl__hash_remove(&c->table, &e->node);
  fl__queue_remove(&e->age);
  free(e);
}

void fl__dns_cache_free(fl__dns_cache *c) {
  while (!fl__queue_empty(&c->age))
    cache_drop(c, fl__container_of(c->age.next, fl__dns_entry, age));
  fl__hash_free(&c->table);
}

static fl__dns_entry *lookup(const fl__dns_cache *c, const char *name) {
  fl__hash_node *n = fl__hash_find(&c->table, fl__hash_str(name), entry_eq, name);
  return n ? fl__container_of(n, fl__dns_entry, node) : NULL;
}

const fl__dns_entry *fl__dns_cache_find(fl__dns_cache *c, const char *name, uint64_t now) {
  fl__dns_entry *e = lookup(c, name);
  if (!e) return NULL;
  if (now >= e->expires) {
    cache_drop(c, e);
    return NULL;
  }
  return e;
}

/* Make room for one more entry: drop the expired ones, else the oldest. */
static void cache_make_room(fl__dns_cache *c, uint64_t now) {
  fl__queue *q, *next;
  if (c->table.count < CACHE_MAX_ENTRIES) return;
  for (q = c->age.next; q != &c->age; q = next) {
    fl__dns_entry *e = fl__container_of(q, fl__dns_entry, age);
    next = q->next;
    if (now >= e->expires) cache_drop(c, e);
  }
  if (c->table.count >= CACHE_MAX_ENTRIES)
    cache_drop(c, fl__container_of(c->age.next, fl__dns_entry, age));
}

/* Store a result for name (lower case); replaces an older entry. */
static void cache_store(fl__dns_cache *c, const char *name, int err, int status,
                        const fl__sockaddr *addrs, size_t naddrs, uint64_t now,
                        uint64_t lifetime_ms) {
  fl__dns_entry *old = lookup(c, name);
  size_t len = strlen(name);
  fl__dns_entry *e;

  if (old) cache_drop(c, old);
  if (lifetime_ms == 0) return;
  cache_make_room(c, now);
  e = malloc(sizeof(*e) + len + 1);
  if (!e) return; /* the cache is an optimisation */
  memcpy(e->name, name, len + 1);
  e->expires = now + lifetime_ms;
  e->err = err;
  e->status = status;
  e->naddrs = naddrs;
  if (naddrs) memcpy(e->addrs, addrs, naddrs * sizeof(*addrs));
  if (fl__hash_insert(&c->table, &e->node, fl__hash_str(e->name)) != 0) {
    free(e);
    return;
  }
  fl__queue_insert_tail(&c->age, &e->age);
}

void fl__dns_cache_store_addrs(fl__dns_cache *c, const char *name, const fl__sockaddr *addrs,
                               size_t n, uint32_t ttl_s, uint64_t now) {
  cache_store(c, name, 0, 0, addrs, n, now,
              fl__dns_cache_clamp_ttl(c->ttl_min_ms, c->ttl_max_ms, ttl_s));
}

void fl__dns_cache_store_error(fl__dns_cache *c, const char *name, int err, int status,
                               uint64_t now) {
  if (err == 0) return; /* positive results are stored with their TTL */
  if (err == FL_EDNS_TIMEOUT || err == FL_ENOMEM || status == FL__DNS_STATUS_NOFD ||
      c->ttl_max_ms == 0)
    return;
  cache_store(c, name, err, status, NULL, 0, now, c->negative_ttl_ms);
}
