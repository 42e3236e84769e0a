/* fd watchers and the epoll backend: an fd-indexed watcher table, interest
 * changes recorded and flushed just before epoll_wait, and dispatch of a
 * batch masked by current interest (see loop.h for the rules). */
#include "loop/loop_impl.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Passed to a watcher with any interest set. The kernel always reports ERR
 * and HUP; RDHUP only if the watcher asked for it (registering it for
 * everyone would spin a level-triggered loop on a half-closed socket whose
 * owner only waits for writability). */
#define ALWAYS_EVENTS (EPOLLERR | EPOLLHUP | EPOLLRDHUP)

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

  if ((size_t)fd < loop->nwatchers) return 0;
  while (n <= (size_t)fd) n *= 2;
  w = realloc(loop->watchers, n * sizeof *w);
  if (w == NULL) return FL_ENOMEM;
  memset(w + loop->nwatchers, 0, (n - loop->nwatchers) * sizeof *w);
  loop->watchers = w;
  loop->nwatchers = n;
  return 0;
}

static void queue_change(fl_loop *loop, fl__io *io) {
  /* Already linked means already queued (in changes, or in failed, which is
   * drained before any callback can run). */
  if (!fl__queue_linked(&io->change_node)) fl__queue_insert_tail(&loop->changes, &io->change_node);
}

int fl__io_start(fl_loop *loop, fl__io *io, uint32_t events) {
  assert(io->fd >= 0);
  if (watchers_reserve(loop, io->fd) != 0) return FL_ENOMEM;
  if (loop->watchers[io->fd] != NULL && loop->watchers[io->fd] != io)
    return FL_EINVAL; /* another watcher owns this fd: a caller bug */
  loop->watchers[io->fd] = io;
  io->want |= events;
  if (io->want != io->registered) queue_change(loop, io);
  return 0;
}

void fl__io_stop(fl_loop *loop, fl__io *io, uint32_t events) {
  io->want &= ~events;
  if (io->want != io->registered) queue_change(loop, io);
}

void fl__io_close(fl_loop *loop, fl__io *io) {
  struct epoll_event dummy = {0};
  int i;

  if (io->registered != 0 && epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, &dummy) != 0 &&
      errno != ENOENT && errno != EBADF)
    fl__loop_fatal("epoll_ctl(DEL)");
  io->registered = 0;
  io->want = 0;
  fl__queue_remove(&io->change_node);
  if (io->fd >= 0 && (size_t)io->fd < loop->nwatchers && loop->watchers[io->fd] == io)
    loop->watchers[io->fd] = NULL;
  /* Events of this batch not yet delivered for this fd number belong to the
   * watcher being closed; mark them so that neither it nor a new watcher on
   * a reused fd number receives them. */
  for (i = loop->cur_event + 1; i < loop->nevents; i++)
    if (loop->events[i].data.fd == io->fd) loop->events[i].data.fd = -1;
}

/* Bring the kernel's interest in line with what watchers want. */
static void flush_changes(fl_loop *loop) {
  while (!fl__queue_empty(&loop->changes)) {
    fl__queue *q = loop->changes.next;
    fl__io *io = fl__container_of(q, fl__io, change_node);
    struct epoll_event ev = {.events = io->want, .data.fd = io->fd};
    int op, rc;

    fl__queue_remove(q);
    if (io->want == io->registered) continue;
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
    if (io->want != 0) io->cb(loop, io, EPOLLERR);
  }
}

/* Deliver the batch in loop->events[0, nevents). */
static void dispatch(fl_loop *loop) {
  for (loop->cur_event = 0; loop->cur_event < loop->nevents; loop->cur_event++) {
    struct epoll_event *e = &loop->events[loop->cur_event];
    int fd = e->data.fd;
    fl__io *io;
    uint32_t mask, fired;

    if (fd < 0) continue; /* invalidated by fl__io_close */
    io = (size_t)fd < loop->nwatchers ? loop->watchers[fd] : NULL;
    if (io == NULL) {
      /* Only if an owner closed an fd without fl__io_close while a dup kept
       * the file open: drop the orphan entry so it cannot fire forever.
       * Failure (ENOENT, EBADF) means there is nothing left to drop. */
      struct epoll_event dummy = {0};
      if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, &dummy) != 0 && errno != ENOENT &&
          errno != EBADF)
        fl__loop_fatal("epoll_ctl(DEL)");
      continue;
    }
    mask = io->want ? io->want | ALWAYS_EVENTS : 0;
    fired = e->events & mask;
    if (fired != 0) io->cb(loop, io, fired);
  }
  loop->nevents = 0;
  loop->cur_event = 0;
}

/* Flush changes, wait, dispatch. */
void fl__io_poll(fl_loop *loop, int timeout) {
  int n;

  flush_changes(loop);
  if (!fl__queue_empty(&loop->failed)) timeout = 0;
  n = epoll_wait(loop->epfd, loop->events, FL__LOOP_MAX_EVENTS, timeout);
  if (n < 0) {
    if (errno != EINTR) fl__loop_fatal("epoll_wait");
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
