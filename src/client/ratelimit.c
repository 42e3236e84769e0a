/* Token buckets; contract in ratelimit.h. */
#include "client/ratelimit.h"

#include <stdlib.h>
#include <string.h>

typedef struct fl__bucket {
  fl__queue node;      /* rl->buckets, most recently used first */
  fl__hash_node hnode; /* rl->by_origin */
  double tokens;
  uint64_t last_us;
  char key[]; /* the origin */
} fl__bucket;

#define MAX_BUCKETS 4096 /* a crawler's host count must not grow memory forever */

static double burst_of(const fl__ratelimit *rl, double rate) {
  double b = rl->burst ? (double)rl->burst : rate;
  return b < 1 ? 1 : b;
}

static void refill(const fl__ratelimit *rl, double rate, double *tokens, uint64_t *last,
                   uint64_t now) {
  double b = burst_of(rl, rate);
  *tokens += (double)(now - *last) * rate / 1e6;
  if (*tokens > b) *tokens = b;
  *last = now;
}

static int origin_eq(const fl__hash_node *n, const void *key) {
  return strcmp(fl__container_of(n, fl__bucket, hnode)->key, key) == 0;
}

static fl__bucket *host_bucket(fl__ratelimit *rl, const char *key, uint64_t now) {
  uint32_t hash = fl__hash_str(key);
  fl__hash_node *found = fl__hash_find(&rl->by_origin, hash, origin_eq, key);
  if (found) {
    fl__bucket *b = fl__container_of(found, fl__bucket, hnode);
    fl__queue_remove(&b->node); /* most recently used first */
    fl__queue_insert_head(&rl->buckets, &b->node);
    return b;
  }
  if (rl->by_origin.count >= MAX_BUCKETS) { /* forget the least recently used host */
    fl__bucket *old = fl__container_of(rl->buckets.prev, fl__bucket, node);
    fl__queue_remove(&old->node);
    fl__hash_remove(&rl->by_origin, &old->hnode);
    free(old);
  }
  size_t n = strlen(key) + 1;
  fl__bucket *b = malloc(sizeof *b + n);
  if (!b) return NULL;
  memcpy(b->key, key, n);
  b->tokens = burst_of(rl, rl->per_host);
  b->last_us = now;
  if (fl__hash_insert(&rl->by_origin, &b->hnode, hash)) {
    free(b);
    return NULL;
  }
  fl__queue_insert_head(&rl->buckets, &b->node);
  return b;
}

/* Take a token for origin if both buckets have one; else how many µs until
 * they could (0 = taken). */
static uint64_t try_take(fl__ratelimit *rl, const char *origin, uint64_t now) {
  double need_global = 0, need_host = 0;
  fl__bucket *hb = NULL;
  if (rl->rate > 0) {
    refill(rl, rl->rate, &rl->tokens, &rl->tokens_us, now);
    if (rl->tokens < 1) need_global = (1 - rl->tokens) * 1e6 / rl->rate;
  }
  if (rl->per_host > 0) {
    hb = host_bucket(rl, origin, now);
    if (hb) {
      refill(rl, rl->per_host, &hb->tokens, &hb->last_us, now);
      if (hb->tokens < 1) need_host = (1 - hb->tokens) * 1e6 / rl->per_host;
    }
  }
  double wait = need_global > need_host ? need_global : need_host;
  if (wait > 0) return (uint64_t)wait + 1;
  if (rl->rate > 0) rl->tokens -= 1;
  if (hb) hb->tokens -= 1;
  return 0;
}

static void arm(fl__ratelimit *rl, uint64_t wait_us) {
  uint64_t ms = (wait_us + 999) / 1000;
  if (fl__timer_start(&rl->timer, ms ? ms : 1)) fl__timer_stop(&rl->timer);
}

/* Let queued attempts go, oldest first, while tokens last. One whose host
 * bucket is empty does not hold back others to other hosts. */
static void release_queued(fl__ratelimit *rl) {
  uint64_t now = fl__now_us(), soonest = 0;
  fl__queue *q = rl->throttled.next;
  while (q != &rl->throttled) {
    fl__queue *next = q->next;
    fl__throttle *t = fl__container_of(q, fl__throttle, node);
    uint64_t wait = try_take(rl, t->origin, now);
    if (wait == 0) {
      fl__queue_remove(&t->node);
      t->release(t, now - t->since_us);
    } else if (!soonest || wait < soonest) {
      soonest = wait;
    }
    q = next;
  }
  if (!fl__queue_empty(&rl->throttled)) arm(rl, soonest);
}

static void timer_cb(fl__timer *timer) {
  fl__ratelimit *rl = fl__container_of(timer, fl__ratelimit, timer);
  fl__guard_enter(rl->guard);
  release_queued(rl);
  fl__guard_leave(rl->guard);
}

void fl__ratelimit_init(fl__ratelimit *rl, fl_loop *loop, fl__guard *guard, double rate,
                        double per_host, uint32_t burst) {
  memset(rl, 0, sizeof *rl);
  rl->rate = rate;
  rl->per_host = per_host;
  rl->burst = burst;
  rl->guard = guard;
  fl__queue_init(&rl->throttled);
  fl__queue_init(&rl->buckets);
  fl__hash_init(&rl->by_origin);
  fl__timer_init(loop, &rl->timer, timer_cb);
  rl->tokens = burst_of(rl, rate);
  rl->tokens_us = fl__now_us();
}

void fl__ratelimit_free(fl__ratelimit *rl) {
  fl__timer_stop(&rl->timer);
  while (!fl__queue_empty(&rl->buckets)) {
    fl__bucket *b = fl__container_of(rl->buckets.next, fl__bucket, node);
    fl__queue_remove(&b->node);
    free(b);
  }
  fl__hash_free(&rl->by_origin);
}

int fl__ratelimit_admit(fl__ratelimit *rl, fl__throttle *t) {
  uint64_t now = fl__now_us();
  uint64_t wait = fl__queue_empty(&rl->throttled) ? try_take(rl, t->origin, now) : 1;
  if (wait == 0) return 0;
  t->since_us = now;
  fl__queue_insert_tail(&rl->throttled, &t->node);
  if (!fl__timer_active(&rl->timer)) arm(rl, wait);
  return 1;
}

uint64_t fl__ratelimit_cancel(fl__throttle *t) {
  if (!fl__queue_linked(&t->node)) return 0;
  fl__queue_remove(&t->node);
  uint64_t now = fl__now_us();
  return now > t->since_us ? now - t->since_us : 0;
}
