/* curl_multi_load: the libcurl peer of the comparison harness. C easy
 * handles on one multi handle (one thread), each re-added as soon as it
 * finishes, so C keep-alive connections stay busy, driven the way most
 * libcurl multi programs are: curl_multi_perform + curl_multi_poll.
 *
 *   curl_multi_load [-c CONNECTIONS] [-n REQUESTS] [-d MAX_SECONDS] URL
 *
 * Prints "N requests in X.XXXs ...", "Requests/sec: X" and the error count;
 * exits 1 on any error (transfer failure, status >= 400, or a body length
 * different from the first one). */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

typedef struct load {
  long target, started, done, errors;
  curl_off_t expect_len;
  double deadline;
} load;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *data) {
  (void)ptr;
  (void)data;
  return size * nmemb;
}

static void usage(const char *argv0) {
  fprintf(stderr, "usage: %s [-c CONNECTIONS] [-n REQUESTS] [-d MAX_SECONDS] URL\n", argv0);
  exit(2);
}

int main(int argc, char **argv) {
  long conns = 64, total = 100000;
  double max_s = 60;
  int opt;
  while ((opt = getopt(argc, argv, "c:n:d:")) != -1) {
    switch (opt) {
    case 'c': conns = atol(optarg); break;
    case 'n': total = atol(optarg); break;
    case 'd': max_s = atof(optarg); break;
    default: usage(argv[0]);
    }
  }
  if (optind != argc - 1 || conns < 1 || total < 1) usage(argv[0]);
  const char *url = argv[optind];

  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return 1;
  CURLM *multi = curl_multi_init();
  CURL **easy = calloc((size_t)conns, sizeof *easy);
  if (!multi || !easy) return 1;
  curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, conns);
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, conns);
  load l = {.target = total, .expect_len = -1};
  for (long i = 0; i < conns; i++) {
    easy[i] = curl_easy_init();
    if (!easy[i]) return 1;
    curl_easy_setopt(easy[i], CURLOPT_URL, url);
    curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(easy[i], CURLOPT_NOSIGNAL, 1L);
  }
  double t0 = now_s();
  l.deadline = t0 + max_s;
  for (long i = 0; i < conns && l.started < l.target; i++, l.started++)
    curl_multi_add_handle(multi, easy[i]);

  int running = 1;
  while (running || l.started < l.target) {
    if (curl_multi_perform(multi, &running) != CURLM_OK) break;
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(multi, &left))) {
      if (m->msg != CURLMSG_DONE) continue;
      CURL *e = m->easy_handle;
      l.done++;
      long status = 0;
      curl_off_t len = 0;
      curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
      curl_easy_getinfo(e, CURLINFO_SIZE_DOWNLOAD_T, &len);
      if (l.expect_len < 0 && m->data.result == CURLE_OK) l.expect_len = len;
      if (m->data.result != CURLE_OK || status >= 400 || len != l.expect_len) l.errors++;
      curl_multi_remove_handle(multi, e);
      if ((l.done & 1023) == 0 && now_s() > l.deadline) l.target = l.started; /* time bound */
      if (l.started < l.target) {
        l.started++;
        curl_multi_add_handle(multi, e);
        running = 1;
      }
    }
    if (running && curl_multi_poll(multi, NULL, 0, 1000, NULL) != CURLM_OK) break;
  }
  double el = now_s() - t0;
  printf("%ld requests in %.3fs over %ld connections\n", l.done, el, conns);
  printf("Requests/sec: %.2f\n", (double)l.done / el);
  printf("errors: %ld\n", l.errors);
  for (long i = 0; i < conns; i++) {
    curl_multi_remove_handle(multi, easy[i]);
    curl_easy_cleanup(easy[i]);
  }
  free(easy);
  curl_multi_cleanup(multi);
  curl_global_cleanup();
  return l.errors ? 1 : 0;
}
