/* Stackless coroutines: a worker that awaits inside a loop and reads top to
 * bottom, errors at await points (at once and from the loop), cancelling,
 * a parent awaiting its children (also one that ends without awaiting),
 * FL_CORO_YIELD woken by a timer, and FL_AWAIT_GATHER. */
/* FIXTURES: httpbin */
/* LABELS: valgrind */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flurry.h"
#include "test.h"

static fl_loop *loop;
static fl_client *client;
static int port;

static void url_of(char *buf, size_t cap, const char *path) {
  snprintf(buf, cap, "http://127.0.0.1:%d%s", port, path);
}

/* The value of "key" in httpbin's echoed args: {"args":{"n":"5"},...}. */
static long arg_of(fl_request *req, const char *key) {
  const char *body = fl_response_body(fl_request_response(req), NULL);
  char pat[32];
  snprintf(pat, sizeof pat, "\"%s\"", key);
  const char *p = body ? strstr(body, pat) : NULL;
  CHECK(p);
  p += strlen(pat);
  while (*p == ' ' || *p == ':' || *p == '"') p++;
  return strtol(p, NULL, 10);
}

static void count_end(fl_coro *co, void *data) {
  (void)co;
  (*(int *)data)++;
}

/* ------------------------------------------- three awaits inside a loop */

typedef struct summer {
  fl_coro co;
  fl_request *req;
  int i;
  long sum;
  int statuses;
  int resumes; /* times the body was entered */
} summer;

static void summer_body(fl_coro *co) {
  summer *s = FL_CORO_SELF(co, summer, co);
  s->resumes++;
  FL_CORO_BEGIN(co);
  s->req = fl_request_new("GET", "http://unused/");
  CHECK(s->req);
  for (s->i = 1; s->i <= 3; s->i++) {
    char path[64], url[128];
    snprintf(path, sizeof path, "/get?n=%d", s->i * 10);
    url_of(url, sizeof url, path);
    CHECK_EQ_INT(fl_request_set_url(s->req, url), 0);
    FL_AWAIT_SEND(co, client, s->req);
    CHECK_EQ_INT(co->err, 0);
    s->statuses += fl_response_status(fl_request_response(s->req));
    s->sum += arg_of(s->req, "n");
  }
  fl_request_free(s->req);
  s->req = NULL;
  FL_CORO_END(co);
}

static void test_await_in_loop(void) {
  summer s;
  int ended = 0;
  memset(&s, 0, sizeof s);
  fl_coro_start(&s.co, summer_body, count_end, &ended);
  CHECK(!fl_coro_ended(&s.co)); /* waits for the first response */
  CHECK_EQ_INT(s.resumes, 1);
  while (!fl_coro_ended(&s.co)) fl_loop_run(loop, FL_RUN_ONCE);
  CHECK_EQ_INT(ended, 1);
  CHECK_EQ_INT(s.sum, 60);
  CHECK_EQ_INT(s.statuses, 600);
  CHECK_EQ_INT(s.resumes, 4); /* start + one resume per await */
  /* Resuming or cancelling an ended coroutine does nothing. */
  fl_coro_resume(&s.co);
  fl_coro_cancel(&s.co);
  CHECK_EQ_INT(ended, 1);
  CHECK_EQ_INT(s.resumes, 4);
}

/* ------------------------------------------------- errors at awaits */

typedef struct errs {
  fl_coro co;
  fl_request *req;
  int got[4];
  int resumes;
} errs;

static void errs_body(fl_coro *co) {
  errs *e = FL_CORO_SELF(co, errs, co);
  e->resumes++;
  FL_CORO_BEGIN(co);
  /* Found at send time: no yield, co->err at once. */
  e->req = fl_request_new("GET", "http://[::1/");
  FL_AWAIT_SEND(co, client, e->req);
  e->got[0] = co->err;
  CHECK_EQ_INT(e->resumes, 1);
  fl_request_set_url(e->req, "ftp://127.0.0.1/");
  FL_AWAIT_SEND(co, client, e->req);
  e->got[1] = co->err;
  /* From the loop: a refused connection. */
  fl_request_set_url(e->req, "http://127.0.0.1:1/");
  FL_AWAIT_SEND(co, client, e->req);
  e->got[2] = co->err;
  CHECK_EQ_INT(e->resumes, 2);
  /* An HTTP error status is a response, not an error. */
  {
    char url[128];
    url_of(url, sizeof url, "/status/404");
    fl_request_set_url(e->req, url);
  }
  FL_AWAIT_SEND(co, client, e->req);
  e->got[3] = co->err;
  CHECK_EQ_INT(fl_response_status(fl_request_response(e->req)), 404);
  FL_CORO_END(co);
}

static void test_errors(void) {
  errs e;
  int ended = 0;
  memset(&e, 0, sizeof e);
  fl_coro_start(&e.co, errs_body, count_end, &ended);
  while (!fl_coro_ended(&e.co)) fl_loop_run(loop, FL_RUN_ONCE);
  CHECK_EQ_INT(ended, 1);
  CHECK_EQ_INT(e.got[0], FL_EURL_MALFORMAT);
  CHECK_EQ_INT(e.got[1], FL_EUNSUPPORTED_PROTOCOL);
  CHECK(e.got[2] == FL_ECONN_REFUSED || e.got[2] == FL_ECONNECT);
  CHECK_EQ_INT(e.got[3], 0);
  fl_request_free(e.req);
}

/* --------------------------------------------------------- cancelling */

typedef struct slow {
  fl_coro co;
  fl_request *req;
  int first, second, third;
  int after; /* reached the code after the awaits */
} slow;

static void slow_body(fl_coro *co) {
  slow *s = FL_CORO_SELF(co, slow, co);
  FL_CORO_BEGIN(co);
  FL_AWAIT_SEND(co, client, s->req);
  s->first = co->err;
  if (co->err == FL_ECANCELED) {
    /* every later await fails at once */
    FL_AWAIT_SEND(co, client, s->req);
    s->second = co->err;
    FL_AWAIT_UNTIL(co, 0);
    s->third = co->err;
    FL_CORO_EXIT(co);
  }
  s->after = 1;
  FL_CORO_END(co);
}

static void test_cancel(void) {
  char url[128];
  url_of(url, sizeof url, "/delay/10");
  slow s;
  int ended = 0;
  memset(&s, 0, sizeof s);
  s.req = fl_request_new("GET", url);
  fl_coro_start(&s.co, slow_body, count_end, &ended);
  for (int i = 0; i < 3; i++) fl_loop_run(loop, FL_RUN_NOWAIT);
  CHECK(!fl_coro_ended(&s.co));
  fl_coro_cancel(&s.co);
  CHECK_EQ_INT(ended, 0); /* the request's cancel completes from the loop */
  while (!fl_coro_ended(&s.co)) fl_loop_run(loop, FL_RUN_ONCE);
  CHECK_EQ_INT(ended, 1);
  CHECK_EQ_INT(s.first, FL_ECANCELED);
  CHECK_EQ_INT(s.second, FL_ECANCELED);
  CHECK_EQ_INT(s.third, FL_ECANCELED);
  CHECK_EQ_INT(s.after, 0);
  fl_request_free(s.req);
}

/* ----------------------------------------- a parent awaiting children */

typedef struct child {
  fl_coro co;
  struct parent *parent;
  fl_request *req;
  int n;
  long value;
} child;

typedef struct parent {
  fl_coro co;
  child kids[5];
  int i;
  int running;
  long sum;
  int kid_ends;
} parent;

static void child_body(fl_coro *co) {
  child *c = FL_CORO_SELF(co, child, co);
  FL_CORO_BEGIN(co);
  if (c->n == 0) FL_CORO_EXIT(co); /* ends inside fl_coro_start */
  {
    char path[64], url[128];
    snprintf(path, sizeof path, "/get?n=%d", c->n);
    url_of(url, sizeof url, path);
    c->req = fl_request_new("GET", url);
  }
  FL_AWAIT_SEND(co, client, c->req);
  CHECK_EQ_INT(co->err, 0);
  c->value = arg_of(c->req, "n");
  fl_request_free(c->req);
  c->req = NULL;
  FL_CORO_END(co);
}

static void child_end(fl_coro *co, void *data) {
  parent *p = data;
  child *c = FL_CORO_SELF(co, child, co);
  p->sum += c->value;
  p->running--;
  p->kid_ends++;
  fl_coro_resume(&p->co); /* may be running: runs again once it yields */
}

static void parent_body(fl_coro *co) {
  parent *p = FL_CORO_SELF(co, parent, co);
  FL_CORO_BEGIN(co);
  for (p->i = 0; p->i < 5; p->i++) {
    p->kids[p->i].parent = p;
    p->kids[p->i].n = p->i * 7; /* kid 0 ends at once */
    p->running++;
    fl_coro_start(&p->kids[p->i].co, child_body, child_end, p);
  }
  CHECK_EQ_INT(p->kid_ends, 1);
  FL_AWAIT_UNTIL(co, p->running == 0);
  CHECK_EQ_INT(co->err, 0);
  FL_CORO_END(co);
}

static void test_children(void) {
  parent *p = calloc(1, sizeof *p);
  int ended = 0;
  CHECK(p);
  fl_coro_start(&p->co, parent_body, count_end, &ended);
  while (!fl_coro_ended(&p->co)) fl_loop_run(loop, FL_RUN_ONCE);
  CHECK_EQ_INT(ended, 1);
  CHECK_EQ_INT(p->kid_ends, 5);
  CHECK_EQ_INT(p->sum, 7 + 14 + 21 + 28);
  free(p);
}

/* ------------------------------------------- yield, woken by a timer */

typedef struct ticker {
  fl_coro co;
  int ticks;
  int errs;
} ticker;

static void ticker_body(fl_coro *co) {
  ticker *t = FL_CORO_SELF(co, ticker, co);
  FL_CORO_BEGIN(co);
  while (t->ticks < 3) {
    FL_CORO_YIELD(co);
    if (co->err) break;
    t->ticks++;
  }
  FL_CORO_YIELD(co); /* cancelled here */
  t->errs = co->err;
  FL_CORO_END(co);
}

static void tick(fl_timer *timer, void *data) {
  ticker *t = data;
  if (t->ticks < 3)
    fl_coro_resume(&t->co);
  else
    fl_coro_cancel(&t->co);
  if (fl_coro_ended(&t->co)) fl_timer_stop(timer);
}

static void test_yield(void) {
  ticker t;
  int ended = 0;
  memset(&t, 0, sizeof t);
  fl_coro_start(&t.co, ticker_body, count_end, &ended);
  fl_timer *timer = fl_timer_new(loop);
  CHECK_EQ_INT(fl_timer_start(timer, 5, 5, tick, &t), 0);
  while (!fl_coro_ended(&t.co)) fl_loop_run(loop, FL_RUN_ONCE);
  fl_timer_free(timer);
  CHECK_EQ_INT(t.ticks, 3);
  CHECK_EQ_INT(t.errs, FL_ECANCELED);
  CHECK_EQ_INT(ended, 1);
}

/* Cancelling a coroutine that waits in FL_AWAIT_UNTIL resumes it. */
typedef struct waiter {
  fl_coro co;
  int err;
} waiter;

static void waiter_body(fl_coro *co) {
  waiter *w = FL_CORO_SELF(co, waiter, co);
  FL_CORO_BEGIN(co);
  FL_AWAIT_UNTIL(co, 0);
  w->err = co->err;
  FL_CORO_END(co);
}

static void test_cancel_until(void) {
  waiter w;
  int ended = 0;
  memset(&w, 0, sizeof w);
  fl_coro_start(&w.co, waiter_body, count_end, &ended);
  fl_coro_resume(&w.co); /* spurious: cond still false */
  CHECK(!fl_coro_ended(&w.co));
  fl_coro_cancel(&w.co);
  CHECK(fl_coro_ended(&w.co));
  CHECK_EQ_INT(w.err, FL_ECANCELED);
  CHECK_EQ_INT(ended, 1);
}

/* ------------------------------------------------------ await a gather */

typedef struct fan {
  fl_coro co;
  fl_gather *g;
  long sum;
  int i;
} fan;

static void fan_body(fl_coro *co) {
  fan *f = FL_CORO_SELF(co, fan, co);
  FL_CORO_BEGIN(co);
  f->g = fl_gather_new(client);
  for (f->i = 0; f->i < 8; f->i++) {
    char path[64], url[128];
    snprintf(path, sizeof path, "/get?n=%d", f->i);
    url_of(url, sizeof url, path);
    CHECK_EQ_INT(fl_gather_add_get(f->g, url), 0);
  }
  fl_gather_set_limit(f->g, 3);
  FL_AWAIT_GATHER(co, f->g);
  CHECK_EQ_INT(co->err, 0);
  CHECK_EQ_INT(fl_gather_finished(f->g), 8);
  for (f->i = 0; f->i < 8; f->i++) {
    CHECK_EQ_INT(fl_gather_error(f->g, (size_t)f->i), 0);
    f->sum += arg_of(fl_gather_request(f->g, (size_t)f->i), "n");
  }
  fl_gather_free(f->g); /* from inside the gather's done callback */
  f->g = NULL;
  /* A cancelled gather await. */
  f->g = fl_gather_new(client);
  {
    char url[128];
    url_of(url, sizeof url, "/delay/10");
    fl_gather_add_get(f->g, url);
    fl_gather_add_get(f->g, url);
  }
  FL_AWAIT_GATHER(co, f->g);
  CHECK_EQ_INT(co->err, FL_ECANCELED);
  CHECK_EQ_INT(fl_gather_error(f->g, 0), FL_ECANCELED);
  CHECK_EQ_INT(fl_gather_error(f->g, 1), FL_ECANCELED);
  fl_gather_free(f->g);
  f->g = NULL;
  FL_CORO_END(co);
}

/* Once the first gather is summed (the body then awaits the slow one),
 * cancel the coroutine from outside. */
static void cancel_fan(fl_timer *timer, void *data) {
  fan *f = data;
  if (f->sum == 0) return;
  CHECK_EQ_INT(f->sum, 28);
  CHECK(!fl_coro_ended(&f->co));
  CHECK(f->g != NULL);
  fl_coro_cancel(&f->co);
  fl_timer_stop(timer);
}

static void test_gather(void) {
  fan f;
  int ended = 0;
  memset(&f, 0, sizeof f);
  fl_timer *timer = fl_timer_new(loop);
  CHECK_EQ_INT(fl_timer_start(timer, 10, 10, cancel_fan, &f), 0);
  fl_coro_start(&f.co, fan_body, count_end, &ended);
  while (!fl_coro_ended(&f.co)) fl_loop_run(loop, FL_RUN_ONCE);
  fl_timer_free(timer);
  CHECK_EQ_INT(f.sum, 28);
  CHECK_EQ_INT(ended, 1);
}

int main(void) {
  FL_TEST_BEGIN();
  port = fl_test_server_port("httpbin");
  loop = fl_loop_new();
  CHECK(loop);
  client = fl_client_new(loop, NULL);
  CHECK(client);
  test_await_in_loop();
  test_errors();
  test_cancel();
  test_children();
  test_yield();
  test_cancel_until();
  test_gather();
  fl_client_free(client);
  CHECK_EQ_INT(fl_loop_free(loop), 0);
  FL_TEST_END();
}
