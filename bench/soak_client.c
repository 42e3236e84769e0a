/* soak_client: the client side of bench/soak.sh (built by it, not by CMake).
 *
 *   soak_client [-c CONNECTIONS] [-n REQUESTS] [--cacert FILE] [--h2]
 *               [--cancel-every K] URL
 *
 * Counts its descriptors and RSS, waits a little (so that an outside
 * sampler sees the baseline), then sends REQUESTS keep-alive GETs of URL
 * over CONNECTIONS requests in flight on one fl_client (each resent from its
 * own completion callback, as fl_load does), checking every response (200
 * and the first body's length). --h2: HTTP/2 (by prior knowledge on
 * http://, by ALPN on https://), every response must be HTTP/2 and the
 * pool must have made one connection for the whole run.
 * --cancel-every K: at every K-th completion the next slot's request, in
 * flight at any stage, is cancelled (fl_request_cancel) and counted apart
 * (FL_ECANCELED is not an error). It prints one line per checkpoint (every
 * 1% of the requests):
 *   progress DONE TOTAL RSS_KB FDS
 * then frees everything, waits again, and prints
 *   baseline FDS RSS_KB / after FDS RSS_KB /
 *   errors N bad N done N cancelled N connections N http2 N
 * Exits 1 if any request failed or was wrong, 0 otherwise. Public API only. */
#define _GNU_SOURCE
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flurry.h"

typedef struct slot slot;

typedef struct soak {
  fl_client *client;
  long target, started, done, errors, bad, expect_len, next_mark, step;
  long cancel_every, cancelled, h2;
  int want_h2;
  slot *slots;
  long nslots;
  int last_err;
  char last_msg[256];
} soak;

struct slot {
  soak *s;
  fl_request *req;
  long index;
  int busy;       /* sent, its callback not run yet */
  int cancelling; /* cancelled, its callback not run yet */
};

static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return -1;
  int n = 0, self = dirfd(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.' && atoi(e->d_name) != self) n++;
  closedir(d);
  return n;
}

static long rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long kb = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
  fclose(f);
  return kb;
}

static void pause_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void on_done(fl_request *req, int err, void *data);

static void start(slot *sl) {
  soak *s = sl->s;
  if (s->started >= s->target) return;
  s->started++;
  sl->busy = 1;
  int err = fl_request_send(s->client, sl->req, on_done, sl);
  if (err) {
    fprintf(stderr, "soak_client: send: %s\n", fl_strerror(err));
    exit(1);
  }
}

static void on_done(fl_request *req, int err, void *data) {
  slot *sl = data;
  soak *s = sl->s;
  s->done++;
  sl->busy = 0;
  sl->cancelling = 0;
  if (err == FL_ECANCELED) {
    s->cancelled++;
  } else if (err) {
    s->errors++;
    s->last_err = err;
    snprintf(s->last_msg, sizeof s->last_msg, "%s", fl_request_errmsg(req));
  } else {
    size_t len;
    const fl_response *res = fl_request_response(req);
    fl_response_body(res, &len);
    if (s->expect_len < 0) s->expect_len = (long)len;
    if (fl_response_status(res) != 200 || (long)len != s->expect_len) s->bad++;
    if (fl_request_info(req)->http_version == 20)
      s->h2++;
    else if (s->want_h2)
      s->bad++;
  }
  if (s->done >= s->next_mark) {
    printf("progress %ld %ld %ld %d\n", s->done, s->target, rss_kb(), count_fds());
    fflush(stdout);
    s->next_mark += s->step;
  }
  start(sl);
  if (s->cancel_every && s->done % s->cancel_every == 0) {
    /* a slot at a varying distance: this one, sent again just now, or
     * one sent a while ago */
    long k = s->done / s->cancel_every;
    slot *other = &s->slots[(sl->index + k % s->nslots) % s->nslots];
    /* FL_EINVAL: it has completed already, its callback is on its way */
    if (other->busy && !other->cancelling && fl_request_cancel(other->req) == 0)
      other->cancelling = 1;
  }
}

int main(int argc, char **argv) {
  long conns = 16, total = 1000000;
  const char *cacert = NULL;
  long cancel_every = 0;
  int h2 = 0;
  static const struct option longopts[] = {{"cacert", required_argument, NULL, 'C'},
                                           {"h2", no_argument, NULL, 'H'},
                                           {"cancel-every", required_argument, NULL, 'K'},
                                           {NULL, 0, NULL, 0}};
  int opt;
  while ((opt = getopt_long(argc, argv, "c:n:", longopts, NULL)) != -1) {
    switch (opt) {
    case 'c': conns = atol(optarg); break;
    case 'n': total = atol(optarg); break;
    case 'C': cacert = optarg; break;
    case 'H': h2 = 1; break;
    case 'K': cancel_every = atol(optarg); break;
    default:
      fprintf(
          stderr,
          "usage: %s [-c CONNECTIONS] [-n REQUESTS] [--cacert FILE] [--h2] [--cancel-every K] URL\n",
          argv[0]);
      return 2;
    }
  }
  if (optind != argc - 1 || conns < 1 || total < 1) {
    fprintf(
        stderr,
        "usage: %s [-c CONNECTIONS] [-n REQUESTS] [--cacert FILE] [--h2] [--cancel-every K] URL\n",
        argv[0]);
    return 2;
  }
  const char *url = argv[optind];
  int fds0 = count_fds();
  long rss0 = rss_kb();
  printf("baseline %d %ld\n", fds0, rss0);
  fflush(stdout);
  pause_ms(1500);

  fl_loop *loop = fl_loop_new();
  fl_client_options o;
  fl_client_options_init(&o);
  o.max_connections = (uint32_t)conns;
  o.ca_file = cacert;
  if (h2) o.http_version = FL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
  fl_client *client = loop ? fl_client_new(loop, &o) : NULL;
  if (!client) {
    fprintf(stderr, "soak_client: cannot create the client\n");
    return 1;
  }
  soak s = {.client = client, .target = total, .expect_len = -1, .cancel_every = cancel_every};
  s.want_h2 = h2;
  s.step = total / 100 ? total / 100 : 1;
  s.next_mark = s.step;
  slot *slots = calloc((size_t)conns, sizeof *slots);
  if (!slots) return 1;
  s.slots = slots;
  s.nslots = conns;
  for (long i = 0; i < conns; i++) {
    slots[i].s = &s;
    slots[i].index = i;
    slots[i].req = fl_request_new("GET", url);
    if (!slots[i].req) return 1;
  }
  for (long i = 0; i < conns; i++) start(&slots[i]);
  fl_loop_run(loop, FL_RUN_DEFAULT);

  fl_pool_stats ps;
  fl_client_pool_stats(client, &ps);
  for (long i = 0; i < conns; i++) fl_request_free(slots[i].req);
  free(slots);
  fl_client_free(client);
  fl_loop_free(loop);
  pause_ms(1500);
  printf("after %d %ld\n", count_fds(), rss_kb());
  printf("errors %ld bad %ld done %ld cancelled %ld connections %u http2 %ld\n", s.errors, s.bad,
         s.done, s.cancelled, (unsigned)ps.created, s.h2);
  if (s.errors) printf("last error: %s: %s\n", fl_strerror(s.last_err), s.last_msg);
  if (s.want_h2 && ps.created != 1) {
    printf("HTTP/2: %u connections, want one for the whole run\n", (unsigned)ps.created);
    return 1;
  }
  return (s.errors || s.bad || s.done != total) ? 1 : 0;
}
