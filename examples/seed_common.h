/* Shared by the seed programs: the clock and the URL of request i.
 * A URL is BASE + TEMPLATE with the first "%d" replaced by i; the default
 * template is "/get?id=%d" (the seeds' /get), "/delay/1?id=%d" for theirs. */
#ifndef SEED_COMMON_H
#define SEED_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SEED_DEFAULT_TEMPLATE "/get?id=%d"

static inline double seed_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The seed programs' command line: [BASE [COUNT [TEMPLATE]]]. 0, or 2 (the
 * exit status) when COUNT is not a positive number. */
static inline int seed_args(int argc, char **argv, const char **base, int *count,
                            const char **tmpl) {
  *base = argc > 1 ? argv[1] : "http://127.0.0.1:8080";
  *count = argc > 2 ? atoi(argv[2]) : 25;
  *tmpl = argc > 3 ? argv[3] : SEED_DEFAULT_TEMPLATE;
  return *count < 1 ? 2 : 0;
}

/* "Done in X.XXXs" as the seeds print it; SEED_PRECISE=1 in the environment
 * gives microseconds (the bench harness: 25 x /get takes ~10 ms). */
static inline void seed_done(double elapsed) {
  const char *precise = getenv("SEED_PRECISE");
  printf("Done in %.*fs\n", precise && *precise == '1' ? 6 : 3, elapsed);
}

/* Spliced by hand: the template comes from the command line, so it is never
 * used as a printf format. */
static inline void seed_url(char *buf, size_t cap, const char *base, const char *tmpl, int i) {
  const char *mark = strstr(tmpl, "%d");
  if (!mark) {
    snprintf(buf, cap, "%s%s", base, tmpl);
    return;
  }
  snprintf(buf, cap, "%s%.*s%d%s", base, (int)(mark - tmpl), tmpl, i, mark + 2);
}

#endif
