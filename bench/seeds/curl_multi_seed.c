/* The seeds' async workload with libcurl's multi interface, for the demo's
 * table: BASE + TEMPLATE (%d -> 0..COUNT-1) all at once, each body printed
 * in order, then "Done in X.XXXs".  curl_multi_seed BASE COUNT [TEMPLATE] */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct body {
  char *data;
  size_t len;
} body;

static size_t collect(char *p, size_t size, size_t n, void *ud) {
  body *b = ud;
  char *d = realloc(b->data, b->len + size * n + 1);
  if (!d) return 0;
  memcpy(d + b->len, p, size * n);
  b->data = d;
  b->len += size * n;
  d[b->len] = '\0';
  return size * n;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s BASE COUNT [TEMPLATE]\n", argv[0]);
    return 2;
  }
  const char *base = argv[1], *tmpl = argc > 3 ? argv[3] : "/get?id=%d";
  int count = atoi(argv[2]);
  if (count < 1) return 2;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM *multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)count);
  CURL **easy = calloc((size_t)count, sizeof *easy);
  body *bodies = calloc((size_t)count, sizeof *bodies);
  double t0 = now_s();
  for (int i = 0; i < count; i++) {
    char url[1024];
    const char *mark = strstr(tmpl, "%d");
    if (mark)
      snprintf(url, sizeof url, "%s%.*s%d%s", base, (int)(mark - tmpl), tmpl, i, mark + 2);
    else
      snprintf(url, sizeof url, "%s%s", base, tmpl);
    easy[i] = curl_easy_init();
    curl_easy_setopt(easy[i], CURLOPT_URL, url);
    curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(easy[i], CURLOPT_WRITEDATA, &bodies[i]);
    curl_multi_add_handle(multi, easy[i]);
  }
  int running = 1;
  while (running) {
    curl_multi_perform(multi, &running);
    if (running) curl_multi_poll(multi, NULL, 0, 1000, NULL);
  }
  double elapsed = now_s() - t0;
  int failed = 0;
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(multi, &left)))
    if (m->msg == CURLMSG_DONE && m->data.result != CURLE_OK) failed++;
  for (int i = 0; i < count; i++) {
    if (bodies[i].data) fputs(bodies[i].data, stdout);
    if (!bodies[i].len || bodies[i].data[bodies[i].len - 1] != '\n') putchar('\n');
    free(bodies[i].data);
    curl_multi_remove_handle(multi, easy[i]);
    curl_easy_cleanup(easy[i]);
  }
  const char *precise = getenv("SEED_PRECISE"); /* as examples/seed_common.h */
  printf("Done in %.*fs\n", precise && *precise == '1' ? 6 : 3, elapsed);
  free(easy);
  free(bodies);
  curl_multi_cleanup(multi);
  curl_global_cleanup();
  return failed ? 1 : 0;
}
