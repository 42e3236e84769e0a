/* idle_conns: what idle keep-alive connections cost one client in user
 * space, measured in one process through the public API only.
 *
 *   idle_conns [-n CONNECTIONS] [--hold MS] URL
 *
 * One request first (the client, its DNS and its first connection set up),
 * then the heap (glibc mallinfo2: bytes in use, mmapped chunks included)
 * and the RSS (/proc/self/status VmRSS) are read. Then CONNECTIONS requests
 * go out at once (no pipelining, no per-host limit: one connection each),
 * every request object is freed once all have answered, and both figures
 * are read again with the connections idle in the pool (after --hold MS, 0
 * by default, so that a slow close by the server would show). The
 * difference over the connections added is the cost of one idle
 * connection: everything the library keeps for it (the connection, its
 * parser, watchers, pool entries) plus malloc's overhead; the kernel's
 * socket buffers are not in it. Lines of "key: value" for the harness
 * (bench/harness/idle.sh). Exit 0 when every request succeeded and the
 * connections stayed open. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "flurry.h"

typedef struct state {
  fl_loop *loop;
  long pending, failed;
  int last_err;
  char last_msg[200];
} state;

static void on_done(fl_request *req, int err, void *data) {
  state *s = data;
  if (err) {
    s->failed++;
    s->last_err = err;
    snprintf(s->last_msg, sizeof s->last_msg, "%s", fl_request_errmsg(req));
  }
  if (--s->pending == 0) fl_loop_stop(s->loop);
}

static long heap_in_use(void) {
  struct mallinfo2 mi = mallinfo2();
  return (long)(mi.uordblks + mi.hblkhd);
}

/* VmRSS in bytes (kB in the file), 0 if unreadable. */
static long rss_now(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = 0;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "VmRSS:", 6)) kb = atol(line + 6);
  if (f) fclose(f);
  return kb * 1024;
}

/* n requests at once, all answered, then every request object freed. */
static int send_all(fl_client *c, state *s, const char *url, long n) {
  fl_request **reqs = calloc((size_t)n, sizeof *reqs);
  if (!reqs) return -1;
  s->pending = 0;
  for (long i = 0; i < n; i++) {
    reqs[i] = fl_request_new("GET", url);
    int err = reqs[i] ? fl_request_send(c, reqs[i], on_done, s) : FL_ENOMEM;
    if (err) {
      fprintf(stderr, "idle_conns: request %ld not sent: %s\n", i, fl_strerror(err));
      s->failed++;
      break;
    }
    s->pending++;
  }
  if (s->pending) fl_loop_run(s->loop, FL_RUN_DEFAULT);
  for (long i = 0; i < n; i++) fl_request_free(reqs[i]);
  free(reqs);
  return s->failed ? -1 : 0;
}

static void on_hold(fl_timer *t, void *data) {
  (void)t;
  fl_loop_stop(data);
}

static int usage(void) {
  fprintf(stderr, "usage: idle_conns [-n CONNECTIONS] [--hold MS] URL\n");
  return 2;
}

int main(int argc, char **argv) {
  long n = 10000, hold_ms = 0;
  const char *url = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-n") && i + 1 < argc)
      n = atol(argv[++i]);
    else if (!strcmp(argv[i], "--hold") && i + 1 < argc)
      hold_ms = atol(argv[++i]);
    else if (argv[i][0] != '-' && !url)
      url = argv[i];
    else
      return usage();
  }
  if (!url || n < 1 || hold_ms < 0) return usage();
  /* n sockets and a few more: raise the soft limit to the hard one. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  state s = {0};
  s.loop = fl_loop_new();
  fl_client_options o;
  fl_client_options_init(&o);
  o.max_connections = (uint32_t)n + 1;
  o.max_connections_per_host = 0;
  o.max_connecting_per_host = 0;
  o.idle_timeout_ms = 600000; /* idle for the whole measurement */
  o.http_version = FL_HTTP_VERSION_1_1;
  o.timeouts.total_ms = 60000;
  fl_client *c = s.loop ? fl_client_new(s.loop, &o) : NULL;
  if (!c) {
    fprintf(stderr, "idle_conns: cannot create the client\n");
    return 1;
  }
  int rc = 1;
  if (send_all(c, &s, url, 1)) goto fail;
  malloc_trim(0);
  long heap0 = heap_in_use(), rss0 = rss_now();
  fl_pool_stats p0, p1;
  fl_client_pool_stats(c, &p0);
  if (send_all(c, &s, url, n)) goto fail;
  if (hold_ms) {
    fl_timer *t = fl_timer_new(s.loop);
    if (t && fl_timer_start(t, (uint64_t)hold_ms, 0, on_hold, s.loop) == 0)
      fl_loop_run(s.loop, FL_RUN_DEFAULT);
    fl_timer_free(t);
  }
  malloc_trim(0);
  long heap1 = heap_in_use(), rss1 = rss_now();
  fl_client_pool_stats(c, &p1);
  long added = (long)p1.open - (long)p0.open;
  printf("connections_open: %u\nconnections_idle: %u\nconnections_added: %ld\n", p1.open, p1.idle,
         added);
  printf("heap_before: %ld\nheap_after: %ld\nrss_before: %ld\nrss_after: %ld\n", heap0, heap1, rss0,
         rss1);
  if (added > 0)
    printf("heap_per_idle_connection: %ld\nrss_per_idle_connection: %ld\n", (heap1 - heap0) / added,
           (rss1 - rss0) / added);
  rc = added >= n - 1 ? 0 : 1; /* one request may reuse the first connection */
  if (rc) fprintf(stderr, "idle_conns: only %ld of %ld connections stayed open\n", added, n);
  goto out;
fail:
  fprintf(stderr, "idle_conns: %ld requests failed: %s (%s)\n", s.failed, fl_strerror(s.last_err),
          s.last_msg);
out:
  fl_client_free(c);
  fl_loop_free(s.loop);
  return rc;
}
