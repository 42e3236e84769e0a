/* fl_load: N requests over C keep-alive connections on one thread, using only
 * the public API (a plain fl_client loop, not a special bench path). Every
 * response is checked: status 200 and the exact body length of the first.
 *
 *   fl_load [-c CONNECTIONS] [-n REQUESTS] [-d MAX_SECONDS] [-N] [-k] [-P DEPTH]
 *           [--cacert FILE] URL
 *
 * https: --cacert FILE trusts that CA (PEM) instead of the system store; -k
 * does not verify the server. -N asks for a new connection per request
 * (Connection: close), to measure connection setup and TLS handshakes
 * (resumed ones with the client's session cache, which is on). -P DEPTH turns
 * on the client's HTTP/1.1 pipelining (pipeline_depth) and keeps
 * CONNECTIONS x DEPTH requests in flight.
 *
 * Each of the C requests is resent from its own completion callback, so the
 * steady state allocates nothing per request. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flurry.h"

typedef struct bench {
  fl_client *client;
  long target, started, done, errors, bad;
  long handshakes, resumed;
  long expect_len;
  int last_err;
  char last_msg[256];
  double deadline;
} bench;

typedef struct slot {
  bench *b;
  fl_request *req;
} slot;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_done(fl_request *req, int err, void *data);

static void start(slot *s) {
  bench *b = s->b;
  if (b->started >= b->target) return;
  b->started++;
  int err = fl_request_send(b->client, s->req, on_done, s);
  if (err) {
    fprintf(stderr, "send: %s\n", fl_strerror(err));
    exit(1);
  }
}

static void on_done(fl_request *req, int err, void *data) {
  slot *s = data;
  bench *b = s->b;
  b->done++;
  const fl_info *in = fl_request_info(req);
  if (in->appconnect_us) {
    b->handshakes++;
    b->resumed += in->tls_resumed != 0;
  }
  if (err) {
    b->errors++;
    b->last_err = err;
    snprintf(b->last_msg, sizeof b->last_msg, "%s", fl_request_errmsg(req));
  } else {
    size_t len;
    const fl_response *res = fl_request_response(req);
    fl_response_body(res, &len);
    if (b->expect_len < 0) b->expect_len = (long)len;
    if (fl_response_status(res) != 200 || (long)len != b->expect_len) b->bad++;
  }
  if ((b->done & 1023) == 0 && now_s() > b->deadline) b->target = b->started; /* time bound */
  start(s);
}

int main(int argc, char **argv) {
  long conns = 64, total = 100000;
  double max_s = 60;
  long depth = 1;
  int opt, insecure = 0, new_conns = 0;
  const char *cacert = NULL;
  static const struct option longopts[] = {{"cacert", required_argument, NULL, 'C'},
                                           {NULL, 0, NULL, 0}};
  static const char usage[] =
      "usage: %s [-c CONNECTIONS] [-n REQUESTS] [-d MAX_SECONDS] [-N] [-k] [-P DEPTH] [--cacert FILE] "
      "URL\n";
  while ((opt = getopt_long(argc, argv, "c:n:d:NkP:", longopts, NULL)) != -1) {
    switch (opt) {
    case 'c': conns = atol(optarg); break;
    case 'n': total = atol(optarg); break;
    case 'd': max_s = atof(optarg); break;
    case 'N': new_conns = 1; break;
    case 'k': insecure = 1; break;
    case 'P': depth = atol(optarg); break;
    case 'C': cacert = optarg; break;
    default: fprintf(stderr, usage, argv[0]); return 2;
    }
  }
  if (optind != argc - 1 || conns < 1 || total < 1 || depth < 1 || depth > 1024 ||
      conns > 1000000) {
    fprintf(stderr, usage, argv[0]);
    return 2;
  }
  const char *url = argv[optind];
  fl_loop *loop = fl_loop_new();
  fl_client_options o;
  fl_client_options_init(&o);
  o.max_connections = (uint32_t)conns;
  o.insecure = insecure;
  o.pipeline_depth = (uint32_t)depth;
  o.ca_file = cacert;
  fl_client *client = loop ? fl_client_new(loop, &o) : NULL;
  if (!client) {
    fprintf(stderr, "fl_load: cannot create the client%s\n",
            cacert ? " (is --cacert readable?)" : "");
    return 1;
  }
  bench b = {.client = client, .target = total, .expect_len = -1};
  long nslots = conns * depth;
  slot *slots = calloc((size_t)nslots, sizeof *slots);
  if (!slots) {
    fprintf(stderr, "fl_load: out of memory\n");
    return 1;
  }
  for (long i = 0; i < nslots; i++) {
    slots[i].b = &b;
    slots[i].req = fl_request_new("GET", url);
    if (new_conns) fl_request_set_header(slots[i].req, "Connection", "close");
  }
  double t0 = now_s();
  b.deadline = t0 + max_s;
  for (long i = 0; i < nslots; i++) start(&slots[i]);
  fl_loop_run(loop, FL_RUN_DEFAULT);
  double el = now_s() - t0;
  fl_pool_stats st;
  fl_client_pool_stats(client, &st);
  printf("%ld requests in %.3fs over %ld connections (%llu opened)\n", b.done, el, conns,
         (unsigned long long)st.created);
  printf("Requests/sec: %.2f\n", b.done / el);
  printf("errors: %ld, bad responses: %ld\n", b.errors, b.bad);
  if (b.handshakes)
    printf("TLS handshakes: %ld (%ld resumed), %.2f/sec\n", b.handshakes, b.resumed,
           b.handshakes / el);
  if (b.errors) printf("last error: %s: %s\n", fl_strerror(b.last_err), b.last_msg);
  for (long i = 0; i < nslots; i++) fl_request_free(slots[i].req);
  free(slots);
  fl_client_free(client);
  fl_loop_free(loop);
  return (b.errors || b.bad || b.done < total) ? 1 : 0;
}
