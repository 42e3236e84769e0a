/* Workers that fetch numbers and sum them, in the style of aiohttp's
 * "summer" example, written with flurry's stackless coroutines: each worker
 * awaits its requests one after another, reading top to bottom; a main
 * coroutine starts the workers and awaits them together.
 *
 * Numbers 0..COUNT-1 are dealt to WORKERS workers; a worker fetches
 * BASE/get?n=K, reads K back out of the echoed JSON ("args": {"n": "K"})
 * and adds it to its sum. The program prints each worker's share, the total
 * and the expected total.
 *   summer [BASE_URL] [COUNT]   (defaults http://127.0.0.1:8080, 25) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flurry.h"

enum { WORKERS = 4 };

typedef struct worker {
  fl_coro co; /* the worker's state: all of it lives in this struct */
  struct job *job;
  int id;
  fl_request *req;
  long k; /* next number to fetch */
  long sum;
  int fetched, failed;
} worker;

typedef struct job {
  fl_coro co;
  const char *base;
  long count;
  fl_client *client;
  worker workers[WORKERS];
  int i;
  int running;
  long total;
} job;

/* "n" of httpbin's echoed args, or -1. */
static long echoed_n(const fl_request *req) {
  const char *body = fl_response_body(fl_request_response(req), NULL);
  const char *p = body ? strstr(body, "\"n\"") : NULL;
  if (!p) return -1;
  p += 3;
  while (*p == ' ' || *p == ':' || *p == '"') p++;
  char *end;
  long v = strtol(p, &end, 10);
  return end == p ? -1 : v;
}

static void worker_body(fl_coro *co) {
  worker *w = FL_CORO_SELF(co, worker, co);
  job *j = w->job;
  FL_CORO_BEGIN(co);
  w->req = fl_request_new("GET", j->base);
  if (!w->req) FL_CORO_EXIT(co);
  for (w->k = w->id; w->k < j->count; w->k += WORKERS) {
    char url[1024];
    snprintf(url, sizeof url, "%s/get?n=%ld", j->base, w->k);
    fl_request_set_url(w->req, url);
    FL_AWAIT_SEND(co, j->client, w->req);
    if (co->err) {
      fprintf(stderr, "worker %d: %s: %s\n", w->id, url, fl_request_errmsg(w->req));
      w->failed++;
      continue;
    }
    long n = echoed_n(w->req);
    if (n != w->k) {
      fprintf(stderr, "worker %d: %s: unexpected reply\n", w->id, url);
      w->failed++;
      continue;
    }
    w->sum += n;
    w->fetched++;
  }
  fl_request_free(w->req);
  w->req = NULL;
  FL_CORO_END(co);
}

/* A worker ended: count it and wake the main coroutine. */
static void worker_ended(fl_coro *co, void *data) {
  job *j = data;
  (void)co;
  j->running--;
  fl_coro_resume(&j->co);
}

static void main_body(fl_coro *co) {
  job *j = FL_CORO_SELF(co, job, co);
  FL_CORO_BEGIN(co);
  for (j->i = 0; j->i < WORKERS; j->i++) {
    worker *w = &j->workers[j->i];
    w->job = j;
    w->id = j->i;
    j->running++;
    fl_coro_start(&w->co, worker_body, worker_ended, j);
  }
  FL_AWAIT_UNTIL(co, j->running == 0); /* all workers, awaited together */
  for (j->i = 0; j->i < WORKERS; j->i++) {
    worker *w = &j->workers[j->i];
    printf("worker %d: %d numbers, sum %ld%s\n", w->id, w->fetched, w->sum,
           w->failed ? " (some failed)" : "");
    j->total += w->sum;
  }
  FL_CORO_END(co);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  static job j;
  j.base = argc > 1 ? argv[1] : "http://127.0.0.1:8080";
  j.count = argc > 2 ? atol(argv[2]) : 25;
  if (j.count < 1) return 2;
  fl_loop *loop = fl_loop_new();
  j.client = loop ? fl_client_new(loop, NULL) : NULL;
  if (!j.client) return 1;
  double t0 = now_s();
  fl_coro_start(&j.co, main_body, NULL, NULL);
  while (!fl_coro_ended(&j.co)) fl_loop_run(loop, FL_RUN_ONCE);
  long expected = j.count * (j.count - 1) / 2;
  printf("Sum: %ld (expected %ld)\n", j.total, expected);
  printf("Done in %.3fs\n", now_s() - t0);
  fl_client_free(j.client);
  fl_loop_free(loop);
  return j.total == expected ? 0 : 1;
}
