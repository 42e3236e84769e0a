/* One loop per thread: other threads posting work to a loop (fl_loop_post,
 * the only thread-safe call), a worker loop handing finished requests back
 * to the main loop, and fl_map_threads over 200 URLs with 4 threads. Meant
 * for the TSan build (-DFL_SANITIZE=thread); passes in every build. */
/* LABELS: valgrind tsan */
/* TIMEOUT: 120 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flurry.h"
#include "test.h"

static int fault;

static char *url_of(const char *path) {
  char buf[256];
  snprintf(buf, sizeof buf, "http://127.0.0.1:%d%s", fault, path);
  char *s = strdup(buf);
  CHECK(s);
  return s;
}

/* ------------------------------------- many threads post to one loop */

enum { PRODUCERS = 4, JOBS = 50 };

typedef struct hub {
  fl_loop *loop;
  fl_client *client;
  char *url;
  int completed; /* loop thread only */
  int ok;
  int posted_runs;
} hub;

typedef struct job {
  hub *h;
  int producer, seq;
  fl_request *req;
} job;

static void job_done(fl_request *req, int err, void *data) {
  job *j = data;
  hub *h = j->h;
  if (err == 0 && fl_response_status(fl_request_response(req)) == 200) h->ok++;
  fl_request_free(req);
  free(j);
  if (++h->completed == PRODUCERS * JOBS) fl_loop_unref(h->loop); /* let run() return */
}

/* Runs on the loop's thread: start the request the producer asked for. */
static void job_run(void *data) {
  job *j = data;
  j->h->posted_runs++;
  j->req = fl_request_new("GET", j->h->url);
  CHECK(j->req);
  CHECK_EQ_INT(fl_request_send(j->h->client, j->req, job_done, j), 0);
}

typedef struct producer {
  hub *h;
  int id;
  pthread_t tid;
} producer;

static void *produce(void *arg) {
  producer *p = arg;
  for (int i = 0; i < JOBS; i++) {
    job *j = calloc(1, sizeof *j); /* handed over by the post */
    CHECK(j);
    j->h = p->h;
    j->producer = p->id;
    j->seq = i;
    CHECK_EQ_INT(fl_loop_post(p->h->loop, job_run, j), 0);
  }
  return NULL;
}

static void test_post_from_threads(void) {
  hub h;
  memset(&h, 0, sizeof h);
  h.loop = fl_loop_new();
  CHECK(h.loop);
  h.client = fl_client_new(h.loop, NULL);
  CHECK(h.client);
  h.url = url_of("/ok");
  fl_loop_ref(h.loop); /* others will post: keep running until all done */
  producer ps[PRODUCERS];
  for (int i = 0; i < PRODUCERS; i++) {
    ps[i].h = &h;
    ps[i].id = i;
    CHECK_EQ_INT(pthread_create(&ps[i].tid, NULL, produce, &ps[i]), 0);
  }
  fl_loop_run(h.loop, FL_RUN_DEFAULT);
  for (int i = 0; i < PRODUCERS; i++) CHECK_EQ_INT(pthread_join(ps[i].tid, NULL), 0);
  CHECK_EQ_INT(h.posted_runs, PRODUCERS * JOBS);
  CHECK_EQ_INT(h.completed, PRODUCERS * JOBS);
  CHECK_EQ_INT(h.ok, PRODUCERS * JOBS);
  fl_client_free(h.client);
  CHECK_EQ_INT(fl_loop_free(h.loop), 0);
  free(h.url);
}

/* ------------------------- a worker loop hands results to the main loop */

enum { HANDOFFS = 40 };

typedef struct handoff {
  fl_loop *main_loop;
  fl_request *got[HANDOFFS]; /* main loop thread only */
  int ngot;
  char *urls[HANDOFFS];
  atomic_int worker_exited;
} handoff;

typedef struct delivery {
  handoff *ho;
  int index;
  fl_request *req;
} delivery;

/* On the main loop: the request now belongs to this thread. */
static void receive(void *data) {
  delivery *d = data;
  CHECK(d->ho->got[d->index] == NULL);
  d->ho->got[d->index] = d->req;
  if (++d->ho->ngot == HANDOFFS) fl_loop_unref(d->ho->main_loop);
  free(d);
}

/* On the worker's loop. A request may be freed from inside its callback, so
 * the library no longer touches it once this returns: handing it to
 * another thread here is as safe as freeing it. */
static void worker_done(fl_request *req, int err, void *data) {
  delivery *d = data;
  (void)err;
  (void)req;
  /* After this post the worker must not touch req or d. */
  CHECK_EQ_INT(fl_loop_post(d->ho->main_loop, receive, d), 0);
}

static void *worker_main(void *arg) {
  handoff *ho = arg;
  fl_loop *loop = fl_loop_new();
  CHECK(loop);
  fl_client *c = fl_client_new(loop, NULL);
  CHECK(c);
  for (int i = 0; i < HANDOFFS; i++) {
    delivery *d = calloc(1, sizeof *d);
    CHECK(d);
    d->ho = ho;
    d->index = i;
    d->req = fl_request_new("GET", ho->urls[i]);
    CHECK(d->req);
    CHECK_EQ_INT(fl_request_send(c, d->req, worker_done, d), 0);
  }
  fl_loop_run(loop, FL_RUN_DEFAULT); /* returns when nothing is in flight */
  fl_client_free(c);
  CHECK_EQ_INT(fl_loop_free(loop), 0);
  atomic_store(&ho->worker_exited, 1);
  return NULL;
}

static void test_handoff(void) {
  handoff ho;
  memset(&ho, 0, sizeof ho);
  ho.main_loop = fl_loop_new();
  CHECK(ho.main_loop);
  for (int i = 0; i < HANDOFFS; i++) {
    char path[64];
    snprintf(path, sizeof path, "/len?n=%d", 100 + i);
    ho.urls[i] = url_of(path);
  }
  fl_loop_ref(ho.main_loop);
  pthread_t tid;
  CHECK_EQ_INT(pthread_create(&tid, NULL, worker_main, &ho), 0);
  fl_loop_run(ho.main_loop, FL_RUN_DEFAULT);
  CHECK_EQ_INT(pthread_join(tid, NULL), 0);
  CHECK(atomic_load(&ho.worker_exited));
  CHECK_EQ_INT(ho.ngot, HANDOFFS);
  for (int i = 0; i < HANDOFFS; i++) {
    fl_request *r = ho.got[i];
    CHECK(r);
    CHECK_EQ_INT(fl_request_error(r), 0);
    size_t len;
    fl_response_body(fl_request_response(r), &len);
    CHECK_EQ_INT(len, 100 + i);
    fl_request_free(r);
    free(ho.urls[i]);
  }
  CHECK_EQ_INT(fl_loop_free(ho.main_loop), 0);
}

/* --------------------------------------------------------- map_threads */

static void test_map_threads(void) {
  enum { N = 200 };
  char *urls[N];
  fl_request *res[N];
  for (int i = 0; i < N; i++) {
    char path[64];
    if (i == 17)
      snprintf(path, sizeof path, "/reset");
    else
      snprintf(path, sizeof path, "/len?n=%d", i);
    urls[i] = url_of(path);
  }
  free(urls[42]);
  urls[42] = strdup("http://[::1/"); /* fails at send, on some thread */
  CHECK_EQ_INT(fl_map_threads((const char *const *)urls, N, 4, 8, NULL, res), 2);
  for (int i = 0; i < N; i++) {
    CHECK(res[i]);
    CHECK_EQ_STR(fl_request_url(res[i]), urls[i]);
    if (i == 17) {
      CHECK(fl_request_error(res[i]) != 0);
    } else if (i == 42) {
      CHECK_EQ_INT(fl_request_error(res[i]), FL_EURL_MALFORMAT);
    } else {
      CHECK_EQ_INT(fl_request_error(res[i]), 0);
      size_t len;
      fl_response_body(fl_request_response(res[i]), &len);
      CHECK_EQ_INT(len, i);
    }
    fl_request_free(res[i]);
  }
  /* Default share per thread, more threads than URLs, custom options. */
  fl_client_options o;
  fl_client_options_init(&o);
  o.max_connections = 2;
  CHECK_EQ_INT(fl_map_threads((const char *const *)urls, 3, 16, 0, &o, res), 0);
  for (int i = 0; i < 3; i++) fl_request_free(res[i]);
  CHECK_EQ_INT(fl_map_threads((const char *const *)urls, 30, 3, 0, NULL, res), 1); /* /reset */
  for (int i = 0; i < 30; i++) {
    CHECK_EQ_STR(fl_request_url(res[i]), urls[i]);
    fl_request_free(res[i]);
  }
  CHECK_EQ_INT(fl_map_threads((const char *const *)urls, 3, 0, 1, NULL, res), FL_EINVAL);
  CHECK_EQ_INT(fl_map_threads(NULL, 0, 2, 1, NULL, NULL), 0);
  for (int i = 0; i < N; i++) free(urls[i]);
}

int main(void) {
  FL_TEST_BEGIN();
  fault = fl_test_fault_start();
  /* First, while no thread has used the library yet: lazily initialised
   * globals would then race between the map's threads, and TSan sees it. */
  test_map_threads();
  test_post_from_threads();
  test_handoff();
  FL_TEST_END();
}
