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
 */
#include "loop/loop.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define MAX_EVENTS 1024

/* Passed to a watcher with any interest set. The kernel always reports ERR
 * and HUP; RDHUP only if the watcher asked for it (registering it for
 * everyone would spin a level-triggered loop on a half-closed socket whose
 * owner only waits for writability). */
#define ALWAYS_EVENTS (EPOLLERR | EPOLLHUP | EPOLLRDHUP)

typedef struct post {
  fl__queue node;
  void (*cb)(void *data);
  void *data;
} post;

struct fl_loop {
  int epfd;
  uint64_t now; /* cached loop time, ms */
  int stop_flag;
  int running;          /* inside fl_loop_run: catches re-entry */
  unsigned refs;        /* keep-alive count (fl__loop_ref) */
  unsigned attached;    /* clients (fl__loop_attach) */
  unsigned user_timers; /* live fl_timer objects */

  /* fd watchers */
  fl__io **watchers; /* indexed by fd */
  size_t nwatchers;
  fl__queue changes; /* fl__io.change_node: interest to flush */
  fl__queue failed;  /* fl__io.change_node: epoll_ctl refused, owes EPOLLERR */
  struct epoll_event events[MAX_EVENTS];
  int nevents;   /* size of the batch being dispatched, 0 outside dispatch */
  int cur_event; /* index of the event being dispatched */

  /* timers */
  fl__timer **heap;
  size_t heap_len, heap_cap;
  uint64_t timer_seq;

  fl__queue deferred; /* fl__defer.node */

  /* posts from any thread */
  pthread_mutex_t post_mu;
  fl__queue posts; /* post.node, guarded by post_mu */
  int wakefd;      /* eventfd, written when posts goes from empty to non-empty */
  fl__io wake_io;
};

static void fatal(const char *what) {
  fprintf(stderr, "flurry: fatal: %s: %s\n", what, strerror(errno));
  abort();
}

/* Move every node of from to the empty list to (from ends up empty). */
static void queue_move(fl__queue *from, fl__queue *to) {
  fl__queue_init(to);
  if (fl__queue_empty(from))
    return;
  to->next = from->next;
  to->prev = from->prev;
  to->next->prev = to;
  to->prev->next = to;
  fl__queue_init(from);
}

static void post_lock(fl_loop *loop) {
  if (pthread_mutex_lock(&loop->post_mu) != 0)
    abort();
}

static void post_unlock(fl_loop *loop) {
  if (pthread_mutex_unlock(&loop->post_mu) != 0)
    abort();
}

/* ------------------------------------------------------------ fd watchers */

void fl__io_init(fl__io *io, fl__io_cb cb, int fd) {
  io->fd = fd;
  io->want = 0;
  io->registered = 0;
  io->cb = cb;
  fl__queue_init(&io->change_node);
}

static int watchers_reserve(fl_loop *loop, int fd) {
  size_t n = loop->nwatchers ? loop->nwatchers : 64;
  fl__io **w;

  if ((size_t)fd < loop->nwatchers)
    return 0;
  while (n <= (size_t)fd)
    n *= 2;
  w = realloc(loop->watchers, n * sizeof *w);
  if (w == NULL)
    return FL_ENOMEM;
  memset(w + loop->nwatchers, 0, (n - loop->nwatchers) * sizeof *w);
  loop->watchers = w;
  loop->nwatchers = n;
  return 0;
}

static void queue_change(fl_loop *loop, fl__io *io) {
  /* Already linked means already queued (in changes, or in failed, which is
   * drained before any callback can run). */
  if (!fl__queue_linked(&io->change_node))
    fl__queue_insert_tail(&loop->changes, &io->change_node);
}

int fl__io_start(fl_loop *loop, fl__io *io, uint32_t events) {
  assert(io->fd >= 0);
  if (watchers_reserve(loop, io->fd) != 0)
    return FL_ENOMEM;
  if (loop->watchers[io->fd] != NULL && loop->watchers[io->fd] != io)
    return FL_EINVAL; /* another watcher owns this fd: a caller bug */
  loop->watchers[io->fd] = io;
  io->want |= events;
  if (io->want != io->registered)
    queue_change(loop, io);
  return 0;
}

void fl__io_stop(fl_loop *loop, fl__io *io, uint32_t events) {
  io->want &= ~events;
  if (io->want != io->registered)
    queue_change(loop, io);
}

void fl__io_close(fl_loop *loop, fl__io *io) {
  struct epoll_event dummy = {0};
  int i;

  if (io->registered != 0 && epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, &dummy) != 0 &&
      errno != ENOENT && errno != EBADF)
    fatal("epoll_ctl(DEL)");
  io->registered = 0;
  io->want = 0;
  fl__queue_remove(&io->change_node);
  if (io->fd >= 0 && (size_t)io->fd < loop->nwatchers && loop->watchers[io->fd] == io)
    loop->watchers[io->fd] = NULL;
  /* Events of this batch not yet delivered for this fd number belong to the
   * watcher being closed; mark them so that neither it nor a new watcher on
   * a reused fd number receives them. */
  for (i = loop->cur_event + 1; i < loop->nevents; i++)
    if (loop->events[i].data.fd == io->fd)
      loop->events[i].data.fd = -1;
}

/* Bring the kernel's interest in line with what watchers want. */
static void flush_changes(fl_loop *loop) {
  while (!fl__queue_empty(&loop->changes)) {
    fl__queue *q = loop->changes.next;
    fl__io *io = fl__container_of(q, fl__io, change_node);
    struct epoll_event ev = {.events = io->want, .data.fd = io->fd};
    int op, rc;

    fl__queue_remove(q);
    if (io->want == io->registered)
      continue;
    op = io->registered == 0 ? EPOLL_CTL_ADD : io->want == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
    rc = epoll_ctl(loop->epfd, op, io->fd, &ev);
    /* A stale kernel entry (fd closed without fl__io_close while a dup kept
     * it alive) or a vanished one: switch to the other operation. */
    if (rc != 0 && op == EPOLL_CTL_ADD && errno == EEXIST)
      rc = epoll_ctl(loop->epfd, EPOLL_CTL_MOD, io->fd, &ev);
    else if (rc != 0 && op == EPOLL_CTL_MOD && errno == ENOENT)
      rc = epoll_ctl(loop->epfd, EPOLL_CTL_ADD, io->fd, &ev);
    if (rc == 0 || op == EPOLL_CTL_DEL) {
      io->registered = io->want; /* a failed DEL means the kernel has no entry */
      continue;
    }
    /* ENOMEM, ENOSPC (max_user_watches), EPERM (fd type without poll
     * support): the owner learns of it through EPOLLERR. */
    fl__queue_insert_tail(&loop->failed, q);
  }
}

static void report_failed(fl_loop *loop) {
  while (!fl__queue_empty(&loop->failed)) {
    fl__queue *q = loop->failed.next;
    fl__io *io = fl__container_of(q, fl__io, change_node);

    fl__queue_remove(q);
    if (io->want != 0)
      io->cb(loop, io, EPOLLERR);
  }
}

/* Deliver the batch in loop->events[0, nevents). */
static void dispatch(fl_loop *loop) {
  for (loop->cur_event = 0; loop->cur_event < loop->nevents; loop->cur_event++) {
    struct epoll_event *e = &loop->events[loop->cur_event];
    int fd = e->data.fd;
    fl__io *io;
    uint32_t mask, fired;

    if (fd < 0)
      continue; /* invalidated by fl__io_close */
    io = (size_t)fd < loop->nwatchers ? loop->watchers[fd] : NULL;
    if (io == NULL) {
      /* Only if an owner closed an fd without fl__io_close while a dup kept
       * the file open: drop the orphan entry so it cannot fire forever.
       * Failure (ENOENT, EBADF) means there is nothing left to drop. */
      struct epoll_event dummy = {0};
      if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, &dummy) != 0 && errno != ENOENT &&
          errno != EBADF)
        fatal("epoll_ctl(DEL)");
      continue;
    }
    mask = io->want ? io->want | ALWAYS_EVENTS : 0;
    fired = e->events & mask;
    if (fired != 0)
      io->cb(loop, io, fired);
  }
  loop->nevents = 0;
  loop->cur_event = 0;
}

/* Flush changes, wait, dispatch. */
static void io_poll(fl_loop *loop, int timeout) {
  int n;

  flush_changes(loop);
  if (!fl__queue_empty(&loop->failed))
    timeout = 0;
  n = epoll_wait(loop->epfd, loop->events, MAX_EVENTS, timeout);
  if (n < 0) {
    if (errno != EINTR)
      fatal("epoll_wait");
    n = 0;
  }
  fl__loop_update_time(loop);
  /* From here on fl__io_close invalidates events of the batch, also while
   * the failure reports run. */
  loop->nevents = n;
  loop->cur_event = -1;
  report_failed(loop);
  dispatch(loop);
}

/* ------------------------------------------------------------------ timers */

static int timer_less(const fl__timer *a, const fl__timer *b) {
  return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_set(fl_loop *loop, size_t i, fl__timer *t) {
  loop->heap[i] = t;
  t->heap_index = i;
}

static void heap_sift_up(fl_loop *loop, size_t i) {
  fl__timer *t = loop->heap[i];

  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!timer_less(t, loop->heap[parent]))
      break;
    heap_set(loop, i, loop->heap[parent]);
    i = parent;
  }
  heap_set(loop, i, t);
}

static void heap_sift_down(fl_loop *loop, size_t i) {
  fl__timer *t = loop->heap[i];
  size_t n = loop->heap_len;

  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= n)
      break;
    if (child + 1 < n && timer_less(loop->heap[child + 1], loop->heap[child]))
      child++;
    if (!timer_less(loop->heap[child], t))
      break;
    heap_set(loop, i, loop->heap[child]);
    i = child;
  }
  heap_set(loop, i, t);
}

static void heap_remove(fl_loop *loop, fl__timer *t) {
  size_t i = t->heap_index;
  fl__timer *last = loop->heap[--loop->heap_len];

  t->heap_index = SIZE_MAX;
  if (last == t)
    return;
  heap_set(loop, i, last);
  if (i > 0 && timer_less(last, loop->heap[(i - 1) / 2]))
    heap_sift_up(loop, i);
  else
    heap_sift_down(loop, i);
}

static int heap_reserve(fl_loop *loop) {
  size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 16;
  fl__timer **h;

  if (loop->heap_len < loop->heap_cap)
    return 0;
  h = realloc(loop->heap, cap * sizeof *h);
  if (h == NULL)
    return FL_ENOMEM;
  loop->heap = h;
  loop->heap_cap = cap;
  return 0;
}

void fl__timer_init(fl_loop *loop, fl__timer *timer, fl__timer_cb cb) {
  timer->loop = loop;
  timer->cb = cb;
  timer->due = 0;
  timer->seq = 0;
  timer->heap_index = SIZE_MAX;
  fl__queue_init(&timer->ready_node);
}

int fl__timer_start(fl__timer *timer, uint64_t timeout_ms) {
  fl_loop *loop = timer->loop;

  /* An active timer frees its own slot, so only an inactive one can fail. */
  if (!fl__timer_active(timer) && heap_reserve(loop) != 0)
    return FL_ENOMEM;
  fl__timer_stop(timer);
  timer->due = timeout_ms > UINT64_MAX - loop->now ? UINT64_MAX : loop->now + timeout_ms;
  timer->seq = loop->timer_seq++;
  loop->heap[loop->heap_len] = timer;
  timer->heap_index = loop->heap_len++;
  heap_sift_up(loop, timer->heap_index);
  return 0;
}

void fl__timer_stop(fl__timer *timer) {
  if (fl__timer_active(timer))
    heap_remove(timer->loop, timer);
  else
    fl__queue_remove(&timer->ready_node); /* due in the current run: now it won't fire */
}

/* Collect every due timer first (they become inactive), then fire them, so
 * that callbacks may start or stop any timer. A timer started from a
 * callback, even with timeout 0, waits for the next run. */
static void run_timers(fl_loop *loop) {
  fl__queue ready;

  fl__queue_init(&ready);
  while (loop->heap_len > 0 && loop->heap[0]->due <= loop->now) {
    fl__timer *t = loop->heap[0];
    heap_remove(loop, t);
    fl__queue_insert_tail(&ready, &t->ready_node);
  }
  while (!fl__queue_empty(&ready)) {
    fl__timer *t = fl__container_of(ready.next, fl__timer, ready_node);
    fl__queue_remove(&t->ready_node);
    t->cb(t);
  }
}

/* ------------------------------------------------------------ user timers */

struct fl_timer {
  fl__timer timer;
  fl_timer_cb cb;
  void *data;
  uint64_t repeat_ms;
  int holds_ref;
};

static void user_timer_fire(fl__timer *t) {
  fl_timer *ut = fl__container_of(t, fl_timer, timer);

  /* Re-arm (or drop the ref) before the callback, which may stop, restart
   * or free the timer. Re-arming reuses the slot just freed: cannot fail. */
  if (ut->repeat_ms == 0 || fl__timer_start(&ut->timer, ut->repeat_ms) != 0) {
    ut->holds_ref = 0;
    fl__loop_unref(t->loop);
  }
  ut->cb(ut, ut->data);
}

fl_timer *fl_timer_new(fl_loop *loop) {
  fl_timer *ut;

  if (loop == NULL)
    return NULL;
  ut = calloc(1, sizeof *ut);
  if (ut == NULL)
    return NULL;
  fl__timer_init(loop, &ut->timer, user_timer_fire);
  loop->user_timers++;
  return ut;
}

int fl_timer_start(fl_timer *timer, uint64_t timeout_ms, uint64_t repeat_ms, fl_timer_cb cb,
                   void *data) {
  int rc;

  if (timer == NULL || cb == NULL)
    return FL_EINVAL;
  rc = fl__timer_start(&timer->timer, timeout_ms);
  if (rc != 0)
    return rc;
  timer->cb = cb;
  timer->data = data;
  timer->repeat_ms = repeat_ms;
  if (!timer->holds_ref) {
    timer->holds_ref = 1;
    fl__loop_ref(timer->timer.loop);
  }
  return 0;
}

void fl_timer_stop(fl_timer *timer) {
  if (timer == NULL)
    return;
  fl__timer_stop(&timer->timer);
  if (timer->holds_ref) {
    timer->holds_ref = 0;
    fl__loop_unref(timer->timer.loop);
  }
}

void fl_timer_free(fl_timer *timer) {
  if (timer == NULL)
    return;
  fl_timer_stop(timer);
  timer->timer.loop->user_timers--;
  free(timer);
}

/* ---------------------------------------------------------------- deferred */

void fl__defer_init(fl__defer *d, fl__defer_cb cb) {
  fl__queue_init(&d->node);
  d->cb = cb;
}

void fl__defer_schedule(fl_loop *loop, fl__defer *d) {
  if (!fl__queue_linked(&d->node))
    fl__queue_insert_tail(&loop->deferred, &d->node);
}

void fl__defer_cancel(fl__defer *d) { fl__queue_remove(&d->node); }

/* Run what was queued when the run started; the rest waits an iteration. */
static void run_deferred(fl_loop *loop) {
  fl__queue pending;

  queue_move(&loop->deferred, &pending);
  while (!fl__queue_empty(&pending)) {
    fl__defer *d = fl__container_of(pending.next, fl__defer, node);
    fl__queue_remove(&d->node);
    d->cb(d);
  }
}

/* ------------------------------------------------------------------- posts */

static void wake_cb(fl_loop *loop, fl__io *io, uint32_t events) {
  uint64_t count;
  ssize_t n;

  FL__UNUSED(loop);
  FL__UNUSED(events);
  /* Drain before run_posts takes the queue, so a post queued after the take
   * always leaves the eventfd readable. */
  do
    n = read(io->fd, &count, sizeof count);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno != EAGAIN)
    fatal("read(eventfd)");
}

int fl_loop_post(fl_loop *loop, void (*cb)(void *data), void *data) {
  post *p;
  int was_empty;

  if (loop == NULL || cb == NULL)
    return FL_EINVAL;
  p = malloc(sizeof *p);
  if (p == NULL)
    return FL_ENOMEM;
  p->cb = cb;
  p->data = data;
  post_lock(loop);
  was_empty = fl__queue_empty(&loop->posts);
  fl__queue_insert_tail(&loop->posts, &p->node);
  post_unlock(loop);
  if (was_empty) {
    uint64_t one = 1;
    ssize_t n;
    do
      n = write(loop->wakefd, &one, sizeof one);
    while (n < 0 && errno == EINTR);
    /* EAGAIN: the counter is saturated, so the eventfd is readable anyway. */
    if (n < 0 && errno != EAGAIN)
      fatal("write(eventfd)");
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

void fl__loop_update_time(fl_loop *loop) { loop->now = fl__now_us() / 1000; }

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
  if (loop->heap_len == 0)
    return -1;
  due = loop->heap[0]->due;
  if (due <= loop->now)
    return 0;
  return due - loop->now > INT_MAX ? INT_MAX : (int)(due - loop->now);
}

static void iterate(fl_loop *loop, fl_run_mode mode) {
  fl__loop_update_time(loop);
  run_timers(loop);
  run_deferred(loop);
  io_poll(loop, poll_timeout(loop, mode));
  run_posts(loop);
  run_timers(loop);
}

int fl_loop_run(fl_loop *loop, fl_run_mode mode) {
  int alive = loop_alive(loop);

  assert(!loop->running && "fl_loop_run called from inside a callback of the same loop");
  loop->running = 1;
  if (!alive)
    fl__loop_update_time(loop);
  /* DEFAULT iterates while alive; ONCE and NOWAIT always do one iteration
   * (ONCE blocks only while something holds a ref). */
  while ((alive || mode != FL_RUN_DEFAULT) && !loop->stop_flag) {
    iterate(loop, mode);
    alive = loop_alive(loop);
    if (mode != FL_RUN_DEFAULT)
      break;
  }
  loop->stop_flag = 0;
  loop->running = 0;
  return alive;
}

fl_loop *fl_loop_new(void) {
  fl_loop *loop = calloc(1, sizeof *loop);

  if (loop == NULL)
    return NULL;
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
  if (loop->epfd < 0)
    goto fail;
  loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (loop->wakefd < 0)
    goto fail;
  fl__io_init(&loop->wake_io, wake_cb, loop->wakefd);
  if (fl__io_start(loop, &loop->wake_io, FL__POLLIN) != 0)
    goto fail;
  fl__loop_update_time(loop);
  return loop;

fail:
  if (loop->wakefd >= 0)
    close(loop->wakefd); /* fresh fds: close cannot fail in a way we could act on */
  if (loop->epfd >= 0)
    close(loop->epfd);
  free(loop->watchers);
  pthread_mutex_destroy(&loop->post_mu);
  free(loop);
  return NULL;
}

int fl_loop_free(fl_loop *loop) {
  if (loop == NULL)
    return 0;
  assert(!loop->running && "fl_loop_free called from inside a callback of the same loop");
  if (loop->attached > 0 || loop->user_timers > 0)
    return FL_EINVAL;
  while (posts_queued(loop))
    run_posts(loop);
  if (loop->attached > 0 || loop->user_timers > 0)
    return FL_EINVAL; /* a post created a client or timer */
  fl__io_close(loop, &loop->wake_io);
  /* close() of our own valid fds can only fail with EINTR/EIO, after which
   * Linux has released the fd anyway: nothing to retry. */
  if (close(loop->wakefd) != 0 && errno == EBADF)
    fatal("close(eventfd)");
  if (close(loop->epfd) != 0 && errno == EBADF)
    fatal("close(epoll)");
  free(loop->watchers);
  free(loop->heap);
  if (pthread_mutex_destroy(&loop->post_mu) != 0)
    abort();
  free(loop);
  return 0;
}
