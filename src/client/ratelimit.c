/* Rate limits: token buckets for the whole client and per origin, shared by
 * every request and every attempt. A request without a token waits in a FIFO
 * until the client's timer says the head can go. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"

typedef struct fl__bucket {
  fl__queue node;            /* c->buckets, most recently used first */
  struct fl__bucket *chain;  /* c->bucket_slots[hash % BUCKET_SLOTS] */
  uint32_t hash;
  double tokens;
  uint64_t last_us;
  char key[]; /* "scheme://host:port" */
} fl__bucket;

static double burst_of(const fl_client *c, double rate) {
  double b = c->opts.rate_burst ? (double)c->opts.rate_burst : rate;
  return b < 1 ? 1 : b;
}

static void refill(const fl_client *c, double rate, double *tokens, uint64_t *last, uint64_t now) {
  double b = burst_of(c, rate);
  *tokens += (double)(now - *last) * rate / 1e6;
  if (*tokens > b) *tokens = b;
  *last = now;
}

#define MAX_BUCKETS 4096 /* a crawler's host count must not grow memory forever */
#define BUCKET_SLOTS 4096 /* hash chains: about one bucket each when full */

static void bucket_unchain(fl_client *c, fl__bucket *b) {
  fl__bucket **pp = &c->bucket_slots[b->hash % BUCKET_SLOTS];
  while (*pp != b) pp = &(*pp)->chain;
  *pp = b->chain;
}

static fl__bucket *host_bucket(fl_client *c, const char *key, uint64_t now) {
  if (!c->bucket_slots && !(c->bucket_slots = calloc(BUCKET_SLOTS, sizeof *c->bucket_slots)))
    return NULL;
  uint32_t hash = fl__hash_str(key);
  fl__bucket **slot = &c->bucket_slots[hash % BUCKET_SLOTS];
  for (fl__bucket *b = *slot; b; b = b->chain) {
    if (b->hash == hash && strcmp(b->key, key) == 0) {
      fl__queue_remove(&b->node); /* most recently used first */
      fl__queue_insert_head(&c->buckets, &b->node);
      return b;
    }
  }
  if (c->nbuckets >= MAX_BUCKETS) { /* forget the least recently used host */
    fl__bucket *old = fl__container_of(c->buckets.prev, fl__bucket, node);
    fl__queue_remove(&old->node);
    bucket_unchain(c, old);
    free(old);
    c->nbuckets--;
  }
  size_t n = strlen(key) + 1;
  fl__bucket *b = malloc(sizeof *b + n);
  if (!b) return NULL;
  memcpy(b->key, key, n);
  b->hash = hash;
  b->tokens = burst_of(c, c->opts.rate_limit_per_host);
  b->last_us = now;
  fl__queue_insert_head(&c->buckets, &b->node);
  b->chain = *slot;
  *slot = b;
  c->nbuckets++;
  return b;
}

void fl__ratelimit_free(fl_client *c) {
  while (!fl__queue_empty(&c->buckets)) {
    fl__bucket *b = fl__container_of(c->buckets.next, fl__bucket, node);
    fl__queue_remove(&b->node);
    free(b);
  }
  free(c->bucket_slots);
  c->bucket_slots = NULL;
  c->nbuckets = 0;
}

/* Take a token for req if both buckets have one; else how many µs until
 * they could (0 = taken). */
static uint64_t try_take(fl_client *c, fl_request *req, uint64_t now) {
  double need_global = 0, need_host = 0;
  fl__bucket *hb = NULL;
  if (c->opts.rate_limit > 0) {
    refill(c, c->opts.rate_limit, &c->tokens, &c->tokens_us, now);
    if (c->tokens < 1) need_global = (1 - c->tokens) * 1e6 / c->opts.rate_limit;
  }
  if (c->opts.rate_limit_per_host > 0) {
    char key[320]; /* the origin, as fl__origin_of writes it; on the heap only if long */
    int n = snprintf(key, sizeof key, "%s://%s:%u", req->url.scheme, req->url.host, req->url.port);
    if (n >= 0 && (size_t)n < sizeof key) {
      hb = host_bucket(c, key, now);
    } else {
      fl__buf heap;
      fl__buf_init(&heap);
      if (fl__origin_of(&req->url, &heap) == 0) hb = host_bucket(c, heap.data, now);
      fl__buf_dispose(&heap);
    }
    if (hb) {
      refill(c, c->opts.rate_limit_per_host, &hb->tokens, &hb->last_us, now);
      if (hb->tokens < 1) need_host = (1 - hb->tokens) * 1e6 / c->opts.rate_limit_per_host;
    }
  }
  double wait = need_global > need_host ? need_global : need_host;
  if (wait > 0) return (uint64_t)wait + 1;
  if (c->opts.rate_limit > 0) c->tokens -= 1;
  if (hb) hb->tokens -= 1;
  return 0;
}

static void arm(fl_client *c, uint64_t wait_us) {
  uint64_t ms = (wait_us + 999) / 1000;
  if (fl__timer_start(&c->throttle_timer, ms ? ms : 1)) fl__timer_stop(&c->throttle_timer);
}

/* Let queued requests go, oldest first, while tokens last. A request whose
 * host bucket is empty does not hold back others to other hosts. */
static void release_queued(fl_client *c) {
  uint64_t now = fl__now_us(), soonest = 0;
  fl__queue *q = c->throttled.next;
  while (q != &c->throttled) {
    fl__queue *next = q->next;
    fl_request *req = fl__container_of(q, fl_request, wait_node);
    uint64_t wait = try_take(c, req, now);
    if (wait == 0) {
      fl__queue_remove(&req->wait_node);
      req->info.throttled_us += now - req->throttle_start_us;
      fl__pool_acquire(c, req);
    } else if (!soonest || wait < soonest) {
      soonest = wait;
    }
    q = next;
  }
  if (!fl__queue_empty(&c->throttled)) arm(c, soonest);
}

static void throttle_timer_cb(fl__timer *t) {
  fl_client *c = fl__container_of(t, fl_client, throttle_timer);
  fl__client_enter(c);
  release_queued(c);
  fl__client_leave(c);
}

void fl__ratelimit_init(fl_client *c) {
  fl__queue_init(&c->throttled);
  fl__queue_init(&c->buckets);
  fl__timer_init(c->loop, &c->throttle_timer, throttle_timer_cb);
  c->tokens = burst_of(c, c->opts.rate_limit);
  c->tokens_us = fl__now_us();
}

/* Every attempt comes through here on its way to the pool. */
void fl__request_dispatch(fl_request *req) {
  fl_client *c = req->client;
  if (c->opts.rate_limit <= 0 && c->opts.rate_limit_per_host <= 0) {
    fl__pool_acquire(c, req);
    return;
  }
  uint64_t now = fl__now_us();
  uint64_t wait = fl__queue_empty(&c->throttled) ? try_take(c, req, now) : 1;
  if (wait == 0) {
    fl__pool_acquire(c, req);
    return;
  }
  req->state = FL__REQ_THROTTLED;
  req->throttle_start_us = now;
  fl__queue_insert_tail(&c->throttled, &req->wait_node);
  if (!fl__timer_active(&c->throttle_timer)) arm(c, wait);
}
