/* The resolver's answer cache (dns_cache.c): positive entries live for the
 * smallest record TTL clamped to [ttl_min_ms, ttl_max_ms], failures for
 * negative_ttl_ms (timeouts and ENOMEM are never cached); ttl_max_ms == 0
 * disables the cache. At most 4096 entries: when full, expired entries go
 * first, then the oldest. Keys are lower-case names (the caller folds case).
 * Times are loop times in ms, passed in by the caller. */
#ifndef FL_DNS_CACHE_H
#define FL_DNS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "base/common.h"
#include "base/hash.h"
#include "net/dns_addr.h"

typedef struct fl__dns_entry {
  fl__hash_node node; /* in cache->table, by name */
  fl__queue age;      /* cache->age, oldest first */
  uint64_t expires;   /* loop time, ms */
  int err;            /* 0, or the fl_err of a negative entry */
  int status;         /* ares status of a negative entry (for the message) */
  size_t naddrs;
  fl__sockaddr addrs[FL__DNS_MAX_ADDRS];
  char name[];
} fl__dns_entry;

typedef struct fl__dns_cache {
  fl__hash table;
  fl__queue age;
  uint32_t ttl_min_ms, ttl_max_ms; /* positive entries; ttl_max_ms 0: no cache */
  uint32_t negative_ttl_ms;
} fl__dns_cache;

void fl__dns_cache_init(fl__dns_cache *c, uint32_t ttl_min_ms, uint32_t ttl_max_ms,
                        uint32_t negative_ttl_ms);
void fl__dns_cache_free(fl__dns_cache *c); /* drops every entry */
static inline size_t fl__dns_cache_count(const fl__dns_cache *c) { return c->table.count; }

/* The live entry for name, or NULL (an expired one is dropped on the way).
 * Valid until the next store. */
const fl__dns_entry *fl__dns_cache_find(fl__dns_cache *c, const char *name, uint64_t now);
/* A positive answer (addrs already ordered, port 0) whose smallest record
 * TTL is ttl_s seconds; replaces an older entry for name. */
void fl__dns_cache_store_addrs(fl__dns_cache *c, const char *name, const fl__sockaddr *addrs,
                               size_t n, uint32_t ttl_s, uint64_t now);
/* Not an ares status: the lookup failed because the process had no
 * descriptor for c-ares's socket (EMFILE, ENFILE). Never cached (it says
 * nothing about the name, and the descriptors may come back at once). */
#define FL__DNS_STATUS_NOFD (-1000)

/* A failed lookup (err an fl_err, status the ares status). */
void fl__dns_cache_store_error(fl__dns_cache *c, const char *name, int err, int status,
                               uint64_t now);

/* The lifetime (ms) of a positive entry whose smallest record TTL is ttl_s
 * seconds: clamped to [ttl_min_ms, ttl_max_ms], 0 (not cached) when
 * ttl_max_ms is 0. */
uint64_t fl__dns_cache_clamp_ttl(uint32_t ttl_min_ms, uint32_t ttl_max_ms, uint32_t ttl_s);

#endif
