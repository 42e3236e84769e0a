/* Rate limits: token buckets for the whole client and per origin, shared by
 * every request and every attempt. An attempt without a token waits in a
 * FIFO until the limiter's timer lets it go, through the release callback
 * stored in its throttle node.
 *
 * The limiter belongs to the client; throttle nodes to their requests (a
 * node is queued at most once, until released or cancelled). */
#ifndef FL_RATELIMIT_H
#define FL_RATELIMIT_H

#include "base/common.h"
#include "base/guard.h"
#include "base/hash.h"
#include "loop/loop.h"

typedef struct fl__throttle fl__throttle;
struct fl__throttle {
  fl__queue node;
  const char *origin; /* "scheme://host:port", valid while queued */
  uint64_t since_us;  /* when it was queued */
  void (*release)(fl__throttle *t, uint64_t waited_us); /* may go now */
};

typedef struct fl__ratelimit {
  double rate, per_host; /* requests per second; <= 0: no limit */
  uint32_t burst;        /* 0: one second's worth */
  double tokens;         /* client-wide bucket */
  uint64_t tokens_us;
  fl__queue throttled; /* oldest first */
  fl__queue buckets;   /* per-origin buckets, most recently used first */
  fl__hash by_origin;  /* the same by origin */
  fl__timer timer;
  fl__guard *guard;
} fl__ratelimit;

void fl__ratelimit_init(fl__ratelimit *rl, fl_loop *loop, fl__guard *guard, double rate,
                        double per_host, uint32_t burst);
void fl__ratelimit_free(fl__ratelimit *rl);
static inline int fl__ratelimit_on(const fl__ratelimit *rl) {
  return rl->rate > 0 || rl->per_host > 0;
}
/* 0: a token was taken, go now. 1: t is queued; t->release runs later. */
int fl__ratelimit_admit(fl__ratelimit *rl, fl__throttle *t);
/* Off the queue (a cancel, a timeout): the microseconds it waited there,
 * which count as throttled too; 0 and harmless when not queued. */
uint64_t fl__ratelimit_cancel(fl__throttle *t);

#endif
