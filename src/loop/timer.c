/* Timers: an intrusive binary min-heap ordered by due time, then start
 * order, fired through a ready list so callbacks may start and stop any
 * timer; and the public fl_timer built on it. */
#include "loop/loop_impl.h"

#include <stdlib.h>

/* ------------------------------------------------------------------ timers */

static int timer_less(const fl__timer *a, const fl__timer *b) {
  return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

/* User timers (fl_timer_new) own a slot of the heap from creation on, so
 * fl_timer_start never fails for want of memory (code that must deliver
 * something later, like a gather's kick, relies on it): the heap always
 * has room for the active timers plus every idle user timer. */
static void user_timer_fire(fl__timer *t);
static int is_user(const fl__timer *t) { return t->cb == user_timer_fire; }

static void heap_set(fl_loop *loop, size_t i, fl__timer *t) {
  loop->heap[i] = t;
  t->heap_index = i;
}

static void heap_sift_up(fl_loop *loop, size_t i) {
  fl__timer *t = loop->heap[i];

  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!timer_less(t, loop->heap[parent])) break;
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
    if (child >= n) break;
    if (child + 1 < n && timer_less(loop->heap[child + 1], loop->heap[child])) child++;
    if (!timer_less(loop->heap[child], t)) break;
    heap_set(loop, i, loop->heap[child]);
    i = child;
  }
  heap_set(loop, i, t);
}

static void heap_remove(fl_loop *loop, fl__timer *t) {
  size_t i = t->heap_index;
  if (is_user(t)) loop->user_timers_idle++; /* its slot stays reserved */
  fl__timer *last = loop->heap[--loop->heap_len];

  t->heap_index = SIZE_MAX;
  if (last == t) return;
  heap_set(loop, i, last);
  if (i > 0 && timer_less(last, loop->heap[(i - 1) / 2]))
    heap_sift_up(loop, i);
  else
    heap_sift_down(loop, i);
}

/* Room for `more` timers beyond the active ones and the idle user timers. */
static int heap_reserve(fl_loop *loop, size_t more) {
  size_t need = loop->heap_len + loop->user_timers_idle + more;
  size_t cap = loop->heap_cap ? loop->heap_cap : 16;
  fl__timer **h;

  if (need <= loop->heap_cap) return 0;
  while (cap < need) cap *= 2;
  h = realloc(loop->heap, cap * sizeof *h);
  if (h == NULL) return FL_ENOMEM;
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

  /* An active timer frees its own slot, and an idle user timer has one
   * reserved: only an idle internal timer can fail. */
  if (!fl__timer_active(timer) && !is_user(timer) && heap_reserve(loop, 1) != 0) return FL_ENOMEM;
  fl__timer_stop(timer);
  if (is_user(timer)) loop->user_timers_idle--; /* takes its reserved slot */
  timer->due = timeout_ms > UINT64_MAX - loop->now ? UINT64_MAX : loop->now + timeout_ms;
  timer->seq = loop->timer_seq++;
  loop->heap[loop->heap_len] = timer;
  timer->heap_index = loop->heap_len++;
  heap_sift_up(loop, timer->heap_index);
  return 0;
}

void fl__timer_stop_slow(fl__timer *timer) {
  if (fl__timer_active(timer))
    heap_remove(timer->loop, timer);
  else
    fl__queue_remove(&timer->ready_node); /* due in the current run: now it won't fire */
}

/* Collect every due timer first (they become inactive), then fire them, so
 * that callbacks may start or stop any timer. A timer started from a
 * callback, even with timeout 0, waits for the next run. */
void fl__timer_run_due(fl_loop *loop) {
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

  if (loop == NULL) return NULL;
  ut = calloc(1, sizeof *ut);
  if (ut == NULL) return NULL;
  fl__timer_init(loop, &ut->timer, user_timer_fire);
  loop->user_timers_idle++;
  if (heap_reserve(loop, 0) != 0) { /* its slot, now or never */
    loop->user_timers_idle--;
    free(ut);
    return NULL;
  }
  loop->user_timers++;
  return ut;
}

int fl_timer_start(fl_timer *timer, uint64_t timeout_ms, uint64_t repeat_ms, fl_timer_cb cb,
                   void *data) {
  int rc;

  if (timer == NULL || cb == NULL) return FL_EINVAL;
  rc = fl__timer_start(&timer->timer, timeout_ms);
  if (rc != 0) return rc;
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
  if (timer == NULL) return;
  fl__timer_stop(&timer->timer);
  if (timer->holds_ref) {
    timer->holds_ref = 0;
    fl__loop_unref(timer->timer.loop);
  }
}

void fl_timer_free(fl_timer *timer) {
  if (timer == NULL) return;
  fl_timer_stop(timer);
  timer->timer.loop->user_timers--;
  timer->timer.loop->user_timers_idle--;
  free(timer);
}
