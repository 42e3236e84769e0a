/* h2_idle_mem: what an idle pooled connection costs, HTTP/2 against HTTP/1.1
 * over TLS, measured inside one process through the public API only.
 *
 *   h2_idle_mem [-n CONNECTIONS] [--h1] [--cacert FILE] [-k] URL
 *
 * One request first (the client's SSL_CTX, DNS and the first connection set
 * up), then the heap (glibc mallinfo2: in-use bytes, mmapped chunks
 * included) and RSS are read; then CONNECTIONS requests go out at once with
 * h2_max_concurrent_streams 1 (so each h2 stream needs its own connection,
 * as each HTTP/1.1 request does), every request object is freed once all
 * have answered, and both are read again with the connections idle in the
 * pool. The difference over the new connections is the cost of one idle
 * connection: socket, TLS (OpenSSL's SSL and its buffers), the carrier (for
 * h2 the nghttp2 session), buffers kept; for h2 also nghttp2's part of it
 * (fl_pool_stats.h2_session_bytes). Default: h2 (ALPN, required). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flurry.h"

typedef struct run {
  fl_loop *loop;
  long pending, failed;
  int last_err;
  char last_msg[200];
  long v20, v11;
} run;

static void on_done(fl_request *req, int err, void *data) {
  run *r = data;
  if (err) {
    r->failed++;
    r->last_err = err;
    snprintf(r->last_msg, sizeof r->last_msg, "%s", fl_request_errmsg(req));
  } else if (fl_request_info(req)->http_version == 20) {
    r->v20++;
  } else {
    r->v11++;
  }
  if (--r->pending == 0) fl_loop_stop(r->loop);
}

static long heap_bytes(void) {
  struct mallinfo2 mi = mallinfo2();
  return (long)(mi.uordblks + mi.hblkhd);
}

static long rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long pages = 0, rss = 0;
  if (f) {
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
    fclose(f);
  }
  return rss * 4096;
}

/* n requests at once; returns 0 when all answered. */
static int batch(fl_client *c, run *r, const char *url, long n) {
  fl_request **reqs = calloc((size_t)n, sizeof *reqs);
  if (!reqs) return -1;
  r->pending = 0;
  for (long i = 0; i < n; i++) {
    reqs[i] = fl_request_new("GET", url);
    if (!reqs[i] || fl_request_send(c, reqs[i], on_done, r) != 0) {
      fprintf(stderr, "h2_idle_mem: cannot send request %ld\n", i);
      break;
    }
    r->pending++;
  }
  if (r->pending) fl_loop_run(r->loop, FL_RUN_DEFAULT);
  /* One more pass, as any loop that goes on makes: what the engine defers
   * to the pass after the last completion (an idle HTTP/2 connection gives
   * its spare blocks back then) is done before memory is read. */
  fl_loop_run(r->loop, FL_RUN_NOWAIT);
  for (long i = 0; i < n; i++) fl_request_free(reqs[i]);
  free(reqs);
  return r->failed ? -1 : 0;
}

int main(int argc, char **argv) {
  long n = 200;
  int h1 = 0, insecure = 0;
  const char *cacert = NULL, *url = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-n") && i + 1 < argc)
      n = atol(argv[++i]);
    else if (!strcmp(argv[i], "--h1"))
      h1 = 1;
    else if (!strcmp(argv[i], "-k"))
      insecure = 1;
    else if (!strcmp(argv[i], "--cacert") && i + 1 < argc)
      cacert = argv[++i];
    else if (argv[i][0] != '-' && !url)
      url = argv[i];
    else {
      fprintf(stderr, "usage: h2_idle_mem [-n CONNECTIONS] [--h1] [--cacert FILE] [-k] URL\n");
      return 2;
    }
  }
  if (!url || n < 2) {
    fprintf(stderr, "usage: h2_idle_mem [-n CONNECTIONS] [--h1] [--cacert FILE] [-k] URL\n");
    return 2;
  }
  run r = {0};
  r.loop = fl_loop_new();
  fl_client_options o;
  fl_client_options_init(&o);
  o.max_connections = (uint32_t)n + 1;
  o.max_connections_per_host = 0;
  o.max_connecting_per_host = 0;
  o.http_version = h1 ? FL_HTTP_VERSION_1_1 : FL_HTTP_VERSION_2_ONLY;
  o.h2_max_concurrent_streams = 1; /* one stream per connection: n connections */
  o.ca_file = cacert;
  o.insecure = insecure;
  o.timeouts.total_ms = 30000;
  fl_client *c = r.loop ? fl_client_new(r.loop, &o) : NULL;
  if (!c) {
    fprintf(stderr, "h2_idle_mem: cannot create the client\n");
    return 1;
  }
  int rc = 1;
  if (batch(c, &r, url, 1)) goto fail;
  malloc_trim(0);
  long heap0 = heap_bytes(), rss0 = rss_bytes();
  fl_pool_stats s0;
  fl_client_pool_stats(c, &s0);
  if (batch(c, &r, url, n)) goto fail;
  malloc_trim(0);
  long heap1 = heap_bytes(), rss1 = rss_bytes();
  fl_pool_stats s1;
  fl_client_pool_stats(c, &s1);
  long added = (long)s1.open - (long)s0.open;
  printf("protocol: %s (%ld responses over HTTP/2, %ld over HTTP/1.x)\n", h1 ? "http/1.1" : "h2",
         r.v20, r.v11);
  printf("connections: %u open, %u idle, %llu opened, %llu agreed h2; %ld added\n", s1.open,
         s1.idle, (unsigned long long)s1.created, (unsigned long long)s1.h2_connections, added);
  if (added > 0) {
    printf("per idle connection: heap %ld bytes, RSS %ld bytes\n", (heap1 - heap0) / added,
           (rss1 - rss0) / added);
    /* nghttp2's own share of that heap, as the library counts it */
    printf("of which nghttp2's session: %ld bytes\n",
           (long)(s1.h2_session_bytes - s0.h2_session_bytes) / added);
  }
  rc = added > 0 ? 0 : 1;
  goto out;
fail:
  fprintf(stderr, "h2_idle_mem: %ld requests failed: %s (%s)\n", r.failed, fl_strerror(r.last_err),
          r.last_msg);
out:
  fl_client_free(c);
  fl_loop_free(r.loop);
  return rc;
}
