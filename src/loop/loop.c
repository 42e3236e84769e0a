/* The reactor: epoll fd watchers, a timer min-heap, deferred callbacks, a
 * thread-safe post queue and the run loop that drives them.
 *
 * Threading: an fl_loop belongs to the one thread that runs it. Every
 * function here except fl_loop_post must be called on that thread, and
 * fl_loop_run / fl_loop_free must not be called from inside a callback of
 * the same loop. fl_loop_post may be called from any thread.
 *
 * One iteration:
 *   update time, run timers, run deferred,
 *   poll (flush interest changes, epoll_wait, update time, dispatch),
 *   run posts, run timers.
 * Nothing here allocates per iteration: the event batch lives in the loop,
 * the fd table and timer heap only grow when a new fd/timer needs room.
 *
 * This file: the run loop, refs, deferred callbacks and posts. The epoll
 * backend and fd watchers are in io_epoll.c, timers in timer.c; the loop
 * struct they share is in loop_impl.h.
 */
#include "loop/loop_impl.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

typedef struct post {
  fl__queue node;
  void (*cb)(void *data);
  void *data;
} post;

void fl__loop_fatal(const char *what) {
  fprintf(stderr, "flurry: fatal: %s: %s\n", what, strerror(errno));
  abort();
}

/* Move every node of from to the empty list to (from ends up empty). */
static void queue_move(fl__queue *from, fl__queue *to) {
  fl__queue_init(to);
  if (fl__queue_empty(from)) return;
  to->next = from->next;
  to->prev = from->prev;
  to->next->prev = to;
  to->prev->next = to;
  fl__queue_init(from);
}

static void post_lock(fl_loop *loop) {
  if (pthread_mutex_lock(&loop->post_mu) != 0) abort();
}

static void post_unlock(fl_loop *loop) {
  if (pthread_mutex_unlock(&loop->post_mu) != 0) abort();
}

/* ---------------------------------------------------------------- deferred */

void fl__defer_init(fl__defer *d, fl__defer_cb cb) {
  fl__queue_init(&d->node);
  d->cb = cb;
}

void fl__defer_schedule(fl_loop *loop, fl__defer *d) {
  if (!fl__queue_linked(&d->node)) fl__queue_insert_tail(&loop->deferred, &d->node);
}

void fl__defer_cancel(fl__defer *d) { fl__queue_remove(&d->node); }

/* Run what was queued when the run started; the rest waits an iteration. */
/* Returns whether any callback ran. */
static int run_deferred(fl_loop *loop) {
  fl__queue pending;
  int ran = 0;

  queue_move(&loop->deferred, &pending);
  while (!fl__queue_empty(&pending)) {
    fl__defer *d = fl__container_of(pending.next, fl__defer, node);
    fl__queue_remove(&d->node);
    d->cb(d);
    ran = 1;
  }
  return ran;
}

/* ------------------------------------------------------------------- posts */

static void wake_cb(fl_loop *loop, fl__io *io, uint32_t events) {
  uint64_t count;
  ssize_t n;

  FL__UNUSED(loop);
  FL__UNUSED(events);
  /* Drain before run_posts takes the queue, so a post queued after the take
   * always leaves the eventfd readable. */
  do n = read(io->fd, &count, sizeof count);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno != EAGAIN) fl__loop_fatal("read(eventfd)");
}

int fl_loop_post(fl_loop *loop, void (*cb)(void *data), void *data) {
  post *p;
  int was_empty;

  if (loop == NULL || cb == NULL) return FL_EINVAL;
  p = malloc(sizeof *p);
  if (p == NULL) return FL_ENOMEM;
  p->cb = cb;
  p->data = data;
  post_lock(loop);
  was_empty = fl__queue_empty(&loop->posts);
  fl__queue_insert_tail(&loop->posts, &p->node);
  post_unlock(loop);
  if (was_empty) {
    uint64_t one = 1;
    ssize_t n;
    do n = write(loop->wakefd, &one, sizeof one);
    while (n < 0 && errno == EINTR);
    /* EAGAIN: the counter is saturated, so the eventfd is readable anyway. */
    if (n < 0 && errno != EAGAIN) fl__loop_fatal("write(eventfd)");
  }
  return 0;
}

static void run_posts(fl_loop *loop) {
  fl__queue pending;

  post_lock(loop);
  queue_move(&loop->posts, &pending);
  post_unlock(loop);
  while (!fl__queue_empty(&pending)) {
    post *p = fl__container_of(pending.next, post, node);
    void (*cb)(void *) = p->cb;
    void *data = p->data;

    fl__queue_remove(&p->node);
    free(p);
    cb(data);
  }
}

static int posts_queued(fl_loop *loop) {
  int queued;

  post_lock(loop);
  queued = !fl__queue_empty(&loop->posts);
  post_unlock(loop);
  return queued;
}

/* -------------------------------------------------------------------- loop */

void fl__loop_ref(fl_loop *loop) { loop->refs++; }

void fl__loop_unref(fl_loop *loop) {
  assert(loop->refs > 0);
  loop->refs--;
}

uint64_t fl__loop_now(const fl_loop *loop) { return loop->now; }

uint64_t fl__loop_now_us(const fl_loop *loop) { return loop->now_us; }

void fl__loop_update_time(fl_loop *loop) {
  loop->now_us = fl__now_us();
  loop->now = loop->now_us / 1000;
}

uint64_t fl__loop_clock_us(fl_loop *loop) {
  uint64_t now_us = fl__now_us();
  if (now_us > loop->now_us) {
    loop->now_us = now_us;
    loop->now = now_us / 1000;
  }
  return now_us;
}

void fl__loop_attach(fl_loop *loop) { loop->attached++; }

void fl__loop_detach(fl_loop *loop) {
  assert(loop->attached > 0);
  loop->attached--;
}

void fl_loop_ref(fl_loop *loop) { fl__loop_ref(loop); }
void fl_loop_unref(fl_loop *loop) { fl__loop_unref(loop); }
uint64_t fl_loop_now(const fl_loop *loop) { return loop->now; }
void fl_loop_stop(fl_loop *loop) { loop->stop_flag = 1; }

static int loop_alive(fl_loop *loop) {
  return loop->refs > 0 || !fl__queue_empty(&loop->deferred) || posts_queued(loop);
}

/* How long epoll_wait may block, in ms; -1 = until an fd event. A loop with
 * no refs never blocks: nothing but a ref can be waited for (queued posts
 * already made the eventfd readable). */
static int poll_timeout(fl_loop *loop, fl_run_mode mode) {
  uint64_t due;

  if (mode == FL_RUN_NOWAIT || loop->stop_flag || loop->refs == 0 ||
      !fl__queue_empty(&loop->deferred))
    return 0;
  if (loop->heap_len == 0) return -1;
  due = loop->heap[0]->due;
  if (due <= loop->now) return 0;
  return due - loop->now > INT_MAX ? INT_MAX : (int)(due - loop->now);
}

static void iterate(fl_loop *loop, fl_run_mode mode) {
  fl__loop_update_time(loop);
  fl__timer_run_due(loop);
  /* ONCE returns after work was done: deferred callbacks (a request's
   * completion) count, so `while (!done) fl_loop_run(loop, FL_RUN_ONCE)`
   * sees a flag they set without waiting for an unrelated event (an open
   * WebSocket's ref may have none for a long time). As libuv's UV_RUN_ONCE. */
  int ran = run_deferred(loop);
  fl__io_poll(loop, ran && mode == FL_RUN_ONCE ? 0 : poll_timeout(loop, mode));
  run_posts(loop);
  fl__timer_run_due(loop);
}

int fl_loop_run(fl_loop *loop, fl_run_mode mode) {
  int alive = loop_alive(loop);

  assert(!loop->running && "fl_loop_run called from inside a callback of the same loop");
  loop->running = 1;
  if (!alive) fl__loop_update_time(loop);
  /* DEFAULT iterates while alive; ONCE and NOWAIT always do one iteration
   * (ONCE blocks only while something holds a ref). */
  while ((alive || mode != FL_RUN_DEFAULT) && !loop->stop_flag) {
    iterate(loop, mode);
    alive = loop_alive(loop);
    if (mode != FL_RUN_DEFAULT) break;
  }
  loop->stop_flag = 0;
  loop->running = 0;
  return alive;
}

fl_loop *fl_loop_new(void) {
  fl_loop *loop = calloc(1, sizeof *loop);

  if (loop == NULL) return NULL;
  loop->epfd = -1;
  loop->wakefd = -1;
  fl__queue_init(&loop->changes);
  fl__queue_init(&loop->failed);
  fl__queue_init(&loop->deferred);
  fl__queue_init(&loop->posts);
  if (pthread_mutex_init(&loop->post_mu, NULL) != 0) {
    free(loop);
    return NULL;
  }
  loop->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (loop->epfd < 0) goto fail;
  loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (loop->wakefd < 0) goto fail;
  fl__io_init(&loop->wake_io, wake_cb, loop->wakefd);
  if (fl__io_start(loop, &loop->wake_io, FL__POLLIN) != 0) goto fail;
  fl__loop_update_time(loop);
  return loop;

fail:
  if (loop->wakefd >= 0)
    close(loop->wakefd); /* fresh fds: close cannot fail in a way we could act on */
  if (loop->epfd >= 0) close(loop->epfd);
  free(loop->watchers);
  pthread_mutex_destroy(&loop->post_mu);
  free(loop);
  return NULL;
}

int fl_loop_free(fl_loop *loop) {
  if (loop == NULL) return 0;
  assert(!loop->running && "fl_loop_free called from inside a callback of the same loop");
  if (loop->attached > 0 || loop->user_timers > 0) return FL_EINVAL;
  while (posts_queued(loop)) run_posts(loop);
  if (loop->attached > 0 || loop->user_timers > 0)
    return FL_EINVAL; /* a post created a client or timer */
  fl__io_close(loop, &loop->wake_io);
  /* close() of our own valid fds can only fail with EINTR/EIO, after which
   * Linux has released the fd anyway: nothing to retry. */
  if (close(loop->wakefd) != 0 && errno == EBADF) fl__loop_fatal("close(eventfd)");
  if (close(loop->epfd) != 0 && errno == EBADF) fl__loop_fatal("close(epoll)");
  free(loop->watchers);
  free(loop->heap);
  if (pthread_mutex_destroy(&loop->post_mu) != 0) abort();
  free(loop);
  return 0;
}
