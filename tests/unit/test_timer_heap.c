/* Timer heap: ordering, removal, restarts and stops from inside callbacks. */
#include <stdint.h>
#include <stdlib.h>

#include "loop/loop.h"
#include "test.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint32_t rnd(uint32_t n) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state % n);
}

/* ------------------------------------------- 10,000 random timers in order */
#define NTIMERS 10000

typedef struct rt {
  fl__timer t;
  int fired;
  int stopped;
  int restarts_left;
} rt;

static rt timers[NTIMERS];
static int expected_left; /* fires still expected before we drop the ref */
static uint64_t last_due, last_seq;
static int nfired;

static void rt_cb(fl__timer *t) {
  rt *r = fl__container_of(t, rt, t);
  fl_loop *loop = t->loop;

  CHECK(!r->stopped);
  CHECK(!fl__timer_active(t));
  CHECK(t->due <= fl__loop_now(loop));
  /* (due, seq) never goes backwards */
  CHECK(t->due > last_due || (t->due == last_due && t->seq > last_seq) || nfired == 0);
  last_due = t->due;
  last_seq = t->seq;
  nfired++;
  r->fired++;

  if (r->restarts_left > 0) {
    r->restarts_left--;
    CHECK_EQ_INT(fl__timer_start(t, rnd(4)), 0); /* fires again later: not counted down */
  } else {
    expected_left--;
  }
  /* Now and then stop another timer that has not fired yet, perhaps one
   * due in this very run: it must never fire. */
  if (rnd(8) == 0) {
    rt *o = &timers[rnd(NTIMERS)];
    if (o != r && !o->fired && !o->stopped) {
      fl__timer_stop(&o->t);
      o->stopped = 1;
      expected_left -= 1;
    }
  }
  if (expected_left == 0) fl__loop_unref(loop);
}

static void test_random_order(void) {
  fl_loop *loop = fl_loop_new();
  int i, nstopped = 0;

  CHECK(loop != NULL);
  for (i = 0; i < NTIMERS; i++) {
    fl__timer_init(loop, &timers[i].t, rt_cb);
    CHECK(!fl__timer_active(&timers[i].t));
    timers[i].restarts_left = rnd(10) == 0 ? 1 + (int)rnd(3) : 0;
    CHECK_EQ_INT(fl__timer_start(&timers[i].t, rnd(40)), 0);
    CHECK(fl__timer_active(&timers[i].t));
  }
  /* Restart a few (new due, new seq) and stop a quarter at random. */
  for (i = 0; i < NTIMERS / 10; i++)
    CHECK_EQ_INT(fl__timer_start(&timers[rnd(NTIMERS)].t, rnd(40)), 0);
  for (i = 0; i < NTIMERS / 4; i++) {
    rt *r = &timers[rnd(NTIMERS)];
    fl__timer_stop(&r->t);
    CHECK(!fl__timer_active(&r->t));
    if (!r->stopped) {
      r->stopped = 1;
      nstopped++;
    }
    fl__timer_stop(&r->t); /* harmless twice */
  }
  expected_left = NTIMERS - nstopped;
  fl_loop_ref(loop);
  CHECK_EQ_INT(fl_loop_run(loop, FL_RUN_DEFAULT), 0);
  CHECK_EQ_INT(expected_left, 0);
  for (i = 0; i < NTIMERS; i++) {
    if (timers[i].stopped)
      CHECK(timers[i].fired <= 1 + 3); /* may have fired before being stopped */
    else
      CHECK(timers[i].fired >= 1 && timers[i].restarts_left == 0);
    CHECK(!fl__timer_active(&timers[i].t));
  }
  CHECK(nfired >= NTIMERS - nstopped);
  CHECK_EQ_INT(fl_loop_free(loop), 0);
}

/* --------------------------------- stopping (and freeing) a timer due now */
typedef struct pair {
  fl__timer a;
  fl__timer *b; /* malloc'd, freed by a's callback */
  int a_fired, b_fired;
} pair;
static pair pr;

static void b_cb(fl__timer *t) {
  FL__UNUSED(t);
  pr.b_fired++;
}

static void a_cb(fl__timer *t) {
  FL__UNUSED(t);
  pr.a_fired++;
  CHECK(!fl__timer_active(pr.b)); /* popped into the ready list */
  fl__timer_stop(pr.b);
  free(pr.b); /* ASan would catch a later touch */
  pr.b = NULL;
}

static void test_stop_other_due_same_run(void) {
  fl_loop *loop = fl_loop_new();

  CHECK(loop != NULL);
  pr.b = malloc(sizeof *pr.b);
  CHECK(pr.b != NULL);
  fl__timer_init(loop, &pr.a, a_cb);
  fl__timer_init(loop, pr.b, b_cb);
  CHECK_EQ_INT(fl__timer_start(&pr.a, 0), 0);
  CHECK_EQ_INT(fl__timer_start(pr.b, 0), 0); /* same due, later seq: after a */
  fl_loop_run(loop, FL_RUN_NOWAIT);
  CHECK_EQ_INT(pr.a_fired, 1);
  CHECK_EQ_INT(pr.b_fired, 0);
  CHECK_EQ_INT(fl_loop_free(loop), 0);
}

/* ------------------------- 0 timeout: fires on the next run, not this one */
static fl__timer z1, z2, z3;
static int z1_fired, z2_fired, z3_fired, z2_fired_seen_by_z3;

static void z2_cb(fl__timer *t) {
  FL__UNUSED(t);
  z2_fired++;
}
static void z1_cb(fl__timer *t) {
  FL__UNUSED(t);
  z1_fired++;
  CHECK_EQ_INT(fl__timer_start(&z2, 0), 0);
}
static void z3_cb(fl__timer *t) {
  FL__UNUSED(t);
  z3_fired++;
  z2_fired_seen_by_z3 = z2_fired; /* z3 runs in z1's run, after z1 */
}

static void test_zero_timeout(void) {
  fl_loop *loop = fl_loop_new();

  CHECK(loop != NULL);
  fl__timer_init(loop, &z1, z1_cb);
  fl__timer_init(loop, &z2, z2_cb);
  fl__timer_init(loop, &z3, z3_cb);
  CHECK_EQ_INT(fl__timer_start(&z1, 0), 0);
  CHECK_EQ_INT(fl__timer_start(&z3, 0), 0);
  CHECK_EQ_INT(z1_fired, 0); /* never from inside the start call */
  /* One iteration runs timers twice: z1 and z3 in the first run, z2 (started
   * with 0 by z1) in the second. */
  CHECK_EQ_INT(fl_loop_run(loop, FL_RUN_NOWAIT), 0);
  CHECK_EQ_INT(z1_fired, 1);
  CHECK_EQ_INT(z3_fired, 1);
  CHECK_EQ_INT(z2_fired_seen_by_z3, 0);
  CHECK_EQ_INT(z2_fired, 1);
  CHECK(!fl__timer_active(&z2));
  CHECK_EQ_INT(fl_loop_free(loop), 0);
}

/* ---------------------------------- restart itself, restart active timers */
static fl__timer self_t;
static int self_count;

static void self_cb(fl__timer *t) {
  if (++self_count < 5)
    CHECK_EQ_INT(fl__timer_start(t, 1), 0);
  else
    fl__loop_unref(t->loop);
}

static fl__timer late_t;
static int late_fired;
static void late_cb(fl__timer *t) {
  FL__UNUSED(t);
  late_fired++;
}

static void test_restart(void) {
  fl_loop *loop = fl_loop_new();
  uint64_t t0;

  CHECK(loop != NULL);
  fl__timer_init(loop, &self_t, self_cb);
  CHECK_EQ_INT(fl__timer_start(&self_t, 1), 0);
  fl_loop_ref(loop);
  CHECK_EQ_INT(fl_loop_run(loop, FL_RUN_DEFAULT), 0);
  CHECK_EQ_INT(self_count, 5);

  /* An active timer restarted with a shorter timeout fires at the new time;
   * its old position is gone (it fires once). */
  fl__timer_init(loop, &late_t, late_cb);
  CHECK_EQ_INT(fl__timer_start(&late_t, 100000), 0);
  CHECK_EQ_INT(fl__timer_start(&late_t, 20), 0);
  t0 = fl__now_us();
  fl_loop_ref(loop); /* lets ONCE block until the timer is due */
  while (late_fired == 0) CHECK_EQ_INT(fl_loop_run(loop, FL_RUN_ONCE), 1);
  fl_loop_unref(loop);
  CHECK(fl__now_us() - t0 >= 19000); /* ms clock granularity */
  CHECK_EQ_INT(late_fired, 1);
  CHECK(!fl__timer_active(&late_t));
  CHECK_EQ_INT(fl_loop_free(loop), 0);
}

int main(void) {
  FL_TEST_BEGIN();
  test_random_order();
  test_stop_other_due_same_run();
  test_zero_timeout();
  test_restart();
  FL_TEST_END();
}
