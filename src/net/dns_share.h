/* A DNS answer cache that resolvers on several threads share (an fl_share's):
 * the TTL rules of dns_cache.h, one lookup per name in flight across every
 * thread, answers copied out under the share's lock.
 *
 * A resolver that misses asks fl__dns_share_begin, which says one of:
 * - HIT: the answer, copied out;
 * - OWNER: nobody looks the name up; this resolver does (its c-ares), and
 *   must end with fl__dns_share_finish (an answer or a failure) or
 *   fl__dns_share_abandon (it goes away first);
 * - PARKED: another resolver looks it up. A park was registered: when the
 *   owner finishes, the answer is posted (fl_loop_post) to the parked
 *   resolver's loop and cb(data, answer, retry) runs there, once, so no
 *   loop ever blocks on another thread. retry = 1: the owner went away
 *   without an answer; begin again. A parked lookup that ends first (its
 *   deadline, its resolver freed) calls fl__dns_share_unpark: cb will not
 *   run, and the park is freed by whoever holds it last.
 * The lock covers only the table operations; c-ares and every callback run
 * outside it. */
#ifndef FL_DNS_SHARE_H
#define FL_DNS_SHARE_H

#include "base/common.h"
#include "net/dns_addr.h"

typedef struct fl__dns_share fl__dns_share;
typedef struct fl__dns_park fl__dns_park;

typedef struct fl__dns_answer {
  int err;    /* 0, or an fl_err */
  int status; /* the ares status of a failure (for its message) */
  size_t naddrs;
  fl__sockaddr addrs[FL__DNS_MAX_ADDRS]; /* ordered, port 0 */
} fl__dns_answer;

typedef void (*fl__dns_park_cb)(void *data, const fl__dns_answer *a, int retry);

typedef struct fl__dns_share_stats {
  uint64_t hits;      /* answers from the cache (positive or negative) */
  uint64_t misses;    /* begins that found no answer (owners and parks) */
  uint64_t lookups;   /* owners: lookups handed to some resolver's c-ares */
  uint64_t joined;    /* parks: waits on another thread's lookup */
  uint32_t entries;   /* cache entries (live or not yet dropped) */
  uint32_t in_flight; /* names being looked up */
} fl__dns_share_stats;

enum { FL__DNS_SHARE_HIT = 0, FL__DNS_SHARE_OWNER = 1, FL__DNS_SHARE_PARKED = 2 };

int fl__dns_share_new(uint32_t ttl_min_ms, uint32_t ttl_max_ms, uint32_t negative_ttl_ms,
                      fl__dns_share **out);
/* Nothing may be in flight (every resolver using it was freed). */
void fl__dns_share_free(fl__dns_share *s);

/* name: lower case. now: loop time (ms, CLOCK_MONOTONIC, the same on every
 * thread). Returns FL__DNS_SHARE_* (hit filled for HIT; *park set for
 * PARKED), or FL_ENOMEM. */
int fl__dns_share_begin(fl__dns_share *s, const char *name, uint64_t now, fl__dns_answer *hit,
                        fl_loop *loop, fl__dns_park_cb cb, void *data, fl__dns_park **park);
/* The owner's result: cached by the rules (timeouts and ENOMEM are not),
 * posted to every park. ttl_s: the answer's smallest record TTL. */
void fl__dns_share_finish(fl__dns_share *s, const char *name, const fl__dns_answer *a,
                          uint32_t ttl_s, uint64_t now);
/* An answer that came after the owner gave up (deadline): cache only. */
void fl__dns_share_store(fl__dns_share *s, const char *name, const fl__dns_answer *a,
                         uint32_t ttl_s, uint64_t now);
/* The owner goes away without a result: parks are told to retry. */
void fl__dns_share_abandon(fl__dns_share *s, const char *name);
/* A parked lookup ended on its own: its callback will not run. */
void fl__dns_share_unpark(fl__dns_share *s, fl__dns_park *p);
/* Drop every cache entry (lookups in flight go on; their answers are
 * cached when they come). */
void fl__dns_share_flush(fl__dns_share *s);
void fl__dns_share_get_stats(fl__dns_share *s, fl__dns_share_stats *out);

#endif
