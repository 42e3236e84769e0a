/* Reactor internals: fd watchers, timers, deferred callbacks.
 *
 * The loop is single-threaded: an fl_loop and everything on it belong to the
 * thread that runs it; only fl_loop_post may be called from other threads.
 * fl_loop_run must not be called from inside a callback of the same loop.
 * - fd watchers live in a table indexed by fd; epoll carries the fd, never a
 *   pointer. Interest changes are recorded and flushed just before
 *   epoll_wait, and only when they change what the kernel has. Fired events
 *   are masked by the watcher's current interest (EPOLLERR/EPOLLHUP are
 *   delivered whenever any interest is set). A watcher closed during a batch
 *   never receives the rest of that batch's events, nor does a new watcher
 *   registered on the same fd number within the batch.
 * - Timers sit on a binary min-heap (O(log n) start/stop) ordered by due time
 *   then start sequence; loop time is cached once per iteration. Timers due
 *   are collected first, then fired, so callbacks may start/stop any timer.
 * - Deferred callbacks run once per iteration, before polling; the ones
 *   scheduled while running wait for the next iteration (no starvation).
 */
#ifndef FL_LOOP_H
#define FL_LOOP_H

#include <stdint.h>
#include <sys/epoll.h>

#include "base/common.h"

#define FL__POLLIN EPOLLIN
#define FL__POLLOUT EPOLLOUT

typedef struct fl__io fl__io;
/* events: the fired subset of (FL__POLLIN|FL__POLLOUT|EPOLLERR|EPOLLHUP|EPOLLRDHUP) */
typedef void (*fl__io_cb)(fl_loop *loop, fl__io *io, uint32_t events);

struct fl__io {
  int fd;
  uint32_t want;       /* interest the owner asked for */
  uint32_t registered; /* interest the kernel has (loop-private) */
  fl__io_cb cb;
  fl__queue change_node; /* loop-private: pending interest change */
};

void fl__io_init(fl__io *io, fl__io_cb cb, int fd);
/* Add events to the interest set; the watcher is put in the fd table.
 * FL_ENOMEM if the table cannot grow, FL_EINVAL if another watcher holds the
 * fd. The kernel is told at the next poll; if it refuses (e.g. ENOSPC), the
 * watcher gets one EPOLLERR. EPOLLRDHUP arrives only if put in events. */
int fl__io_start(fl_loop *loop, fl__io *io, uint32_t events);
/* Remove events from the interest set (the watcher stays in the table). */
void fl__io_stop(fl_loop *loop, fl__io *io, uint32_t events);
/* Forget the watcher: removes it from epoll at once (if registered) and from
 * the table, and drops its undelivered events. Call before close(fd). */
void fl__io_close(fl_loop *loop, fl__io *io);

typedef struct fl__timer fl__timer;
typedef void (*fl__timer_cb)(fl__timer *timer);

struct fl__timer {
  fl_loop *loop;
  fl__timer_cb cb;
  uint64_t due;         /* loop time, ms */
  uint64_t seq;         /* tie-break: start order */
  size_t heap_index;    /* SIZE_MAX when not active */
  fl__queue ready_node; /* loop-private: due, about to fire (timer inactive) */
};

void fl__timer_init(fl_loop *loop, fl__timer *timer, fl__timer_cb cb);
/* (Re)start: fires once, timeout_ms after the cached loop time. 0 or FL_ENOMEM. */
int fl__timer_start(fl__timer *timer, uint64_t timeout_ms);
void fl__timer_stop_slow(fl__timer *timer);
static inline void fl__timer_stop(fl__timer *timer) { /* harmless when not active */
  if (timer->heap_index != SIZE_MAX || timer->ready_node.next != &timer->ready_node)
    fl__timer_stop_slow(timer);
}
static inline int fl__timer_active(const fl__timer *t) { return t->heap_index != SIZE_MAX; }

typedef struct fl__defer fl__defer;
typedef void (*fl__defer_cb)(fl__defer *d);
struct fl__defer {
  fl__queue node;
  fl__defer_cb cb;
};
void fl__defer_init(fl__defer *d, fl__defer_cb cb);
void fl__defer_schedule(fl_loop *loop, fl__defer *d); /* idempotent */
void fl__defer_cancel(fl__defer *d);                  /* harmless when not queued */

/* Keep-alive count for fl_loop_run(FL_RUN_DEFAULT): in-flight requests and
 * user timers hold a ref; idle connections and DNS sockets do not. */
void fl__loop_ref(fl_loop *loop);
void fl__loop_unref(fl_loop *loop);
/* Cached loop time (ms) and refresh (called by the loop each iteration). */
uint64_t fl__loop_now(const fl_loop *loop);
void fl__loop_update_time(fl_loop *loop);
/* Read the clock (fl__now_us) and move the cached time forward to it: timers
 * armed right after it count from the real moment, not from the loop's last
 * wake-up (which may be long ago when called from outside the loop, as a
 * request sent between runs). Never moves it back. Returns the reading. */
uint64_t fl__loop_clock_us(fl_loop *loop);
/* When the loop last woke (after its wait), us: the time of the events it
 * is dispatching, without asking the clock again. */
uint64_t fl__loop_now_us(const fl_loop *loop);
/* Count of live objects that must be gone before fl_loop_free (clients). */
void fl__loop_attach(fl_loop *loop);
void fl__loop_detach(fl_loop *loop);

#endif
