/* The loop's private state, shared by the files of src/loop/ only: loop.c
 * (run, posts, deferred callbacks, refs), io_epoll.c (fd watchers and the
 * epoll backend) and timer.c (the timer heap and user timers). */
#ifndef FL_LOOP_IMPL_H
#define FL_LOOP_IMPL_H

#include <pthread.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "loop/loop.h"

#define FL__LOOP_MAX_EVENTS 1024

struct fl_loop {
  int epfd;
  uint64_t now;    /* cached loop time, ms */
  uint64_t now_us; /* the same, us: when the loop last woke */
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
  struct epoll_event events[FL__LOOP_MAX_EVENTS];
  int nevents;   /* size of the batch being dispatched, 0 outside dispatch */
  int cur_event; /* index of the event being dispatched */

  /* timers */
  fl__timer **heap;
  size_t heap_len, heap_cap;
  size_t user_timers_idle; /* user timers not in the heap: each has a slot reserved */
  uint64_t timer_seq;

  fl__queue deferred; /* fl__defer.node */

  /* posts from any thread */
  pthread_mutex_t post_mu;
  fl__queue posts; /* post.node, guarded by post_mu */
  int wakefd;      /* eventfd, written when posts goes from empty to non-empty */
  fl__io wake_io;
};

/* loop.c: report a failed syscall that leaves the loop unusable, abort. */
void fl__loop_fatal(const char *what) __attribute__((noreturn));
/* io_epoll.c: flush interest changes, epoll_wait up to timeout ms (-1:
 * until an event), update loop time, dispatch the batch. */
void fl__io_poll(fl_loop *loop, int timeout);
/* timer.c: fire every timer due at the cached loop time. */
void fl__timer_run_due(fl_loop *loop);

#endif
