/* flurry-bench: start the threads, wait for them (or for SIGINT/SIGTERM,
 * which ends the run early and still prints the summary), merge their
 * results and print them. Exit 0 when the run took place (errors or not:
 * they are in the summary, and its last line says so), 1 when it could not. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "flb.h"
#include "flurry.h"
#include "script.h"

/* Enough descriptors for every connection (soft limit up to the hard one). */
static void raise_fd_limit(uint64_t connections) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rlim_t want = (rlim_t)connections + 64;
  if (rl.rlim_cur >= want) return;
  rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
    fprintf(stderr, "flurry-bench: warning: %llu connections but only %llu file descriptors\n",
            (unsigned long long)connections, (unsigned long long)rl.rlim_cur);
}

/* -s: the main state (setup, done) and one state per thread, set up as wrk
 * does before any thread starts. 0 or -1 (said on stderr). */
static int start_scripts(flb_config *cfg, flb_script **states) {
  cfg->main_script = flb_script_new(cfg);
  if (!cfg->main_script || flb_script_resolve(cfg->main_script)) return -1;
  for (uint64_t i = 0; i < cfg->threads; i++) {
    states[i] = flb_script_new(cfg);
    if (!states[i] || flb_script_thread_init(cfg->main_script, states[i], cfg)) return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  flb_config cfg;
  if (argc > 1 && !strcmp(argv[1], "merge")) return flb_merge_main(argc - 1, argv + 1);
  int rc = flb_parse_args(&cfg, argc, argv);
  if (rc) {
    flb_config_free(&cfg);
    return rc > 0 ? 0 : 1;
  }
  raise_fd_limit(cfg.connections);

  /* Signals are taken by this thread only (sigtimedwait below); the workers
   * inherit the blocked mask. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  signal(SIGPIPE, SIG_IGN);

  flb_result *results = calloc(cfg.threads, sizeof *results);
  flb_worker **workers = calloc(cfg.threads, sizeof *workers);
  pthread_t *tids = calloc(cfg.threads, sizeof *tids);
  flb_result *total = calloc(1, sizeof *total);
  flb_script **states = calloc(cfg.threads, sizeof *states);
  if (!results || !workers || !tids || !total || !states) {
    fprintf(stderr, "flurry-bench: out of memory\n");
    return 1;
  }
  if (cfg.script && start_scripts(&cfg, states)) {
    for (uint64_t i = 0; i < cfg.threads; i++) flb_script_free(states[i]);
    flb_script_free(cfg.main_script);
    flb_config_free(&cfg);
    return 1;
  }
  if (!cfg.json) flb_print_start(&cfg);
  cfg.share = fl_share_new(NULL); /* NULL: each thread keeps its own caches */

  uint64_t started = 0;
  for (; started < cfg.threads; started++) {
    workers[started] = flb_worker_new(&cfg, started, &results[started], states[started]);
    if (!workers[started] ||
        pthread_create(&tids[started], NULL, flb_worker_main, workers[started]) != 0) {
      fprintf(stderr, "flurry-bench: unable to create thread %llu: %s\n",
              (unsigned long long)started, strerror(errno));
      flb_worker_free(workers[started]);
      flb_request_stop();
      break;
    }
  }
  /* Wait for the workers, waking every 50 ms to look for a signal. */
  while (flb_workers_finished() < started) {
    struct timespec ts = {0, 50 * 1000 * 1000};
    if (sigtimedwait(&sigs, NULL, &ts) > 0) flb_request_stop();
  }

  flb_hist_reset(&total->latency);
  flb_hist_reset(&total->rate);
  int fatal = 0;
  const char *fatal_msg = "";
  for (uint64_t i = 0; i < started; i++) {
    pthread_join(tids[i], NULL);
    flb_worker_free(workers[i]);
    flb_result *r = &results[i];
    if (r->fatal && !fatal) {
      fatal = r->fatal;
      fatal_msg = r->fatal_msg;
    }
    total->complete += r->complete;
    total->bytes += r->bytes;
    for (int k = 0; k < FLB_ERR_KINDS; k++) total->errors[k] += r->errors[k];
    total->length_mismatch += r->length_mismatch;
    for (int v = 0; v < 3; v++) total->by_version[v] += r->by_version[v];
    total->conns_opened += r->conns_opened;
    total->h2_conns += r->h2_conns;
    total->cpu_us += r->cpu_us;
    total->ws_opened += r->ws_opened;
    total->ws_deflate += r->ws_deflate;
    total->lag_sum_us += r->lag_sum_us;
    total->lag_count += r->lag_count;
    if (r->lag_max_us > total->lag_max_us) total->lag_max_us = r->lag_max_us;
    if (r->end_us > r->start_us) { /* a thread with nothing to do has no window */
      if (!total->start_us || r->start_us < total->start_us) total->start_us = r->start_us;
      if (r->end_us > total->end_us) total->end_us = r->end_us;
    }
    flb_hist_merge(&total->latency, &r->latency);
    flb_hist_merge(&total->rate, &r->rate);
    if (r->first_err && !total->first_err) {
      total->first_err = r->first_err;
      memcpy(total->first_err_msg, r->first_err_msg, sizeof total->first_err_msg);
    }
  }

  if (fatal) {
    fprintf(stderr, "flurry-bench: %s: %s\n", cfg.url, fatal_msg);
    rc = 1;
  } else if (started < cfg.threads) {
    rc = 1;
  } else {
    if (cfg.json)
      flb_report_json(&cfg, total);
    else
      flb_report_text(&cfg, total);
    if (total->first_err) fprintf(stderr, "flurry-bench: first error: %s\n", total->first_err_msg);
    fflush(stdout);
    if (cfg.main_script && flb_script_has_done(cfg.main_script) &&
        flb_script_done(cfg.main_script, total,
                        total->end_us > total->start_us ? total->end_us - total->start_us : 0))
      rc = 1;
    fflush(stdout);
  }
  for (uint64_t i = 0; i < cfg.threads; i++) flb_script_free(states[i]);
  flb_script_free(cfg.main_script);
  free(states);
  free(results);
  free(workers);
  free(tids);
  free(total);
  fl_share_free(cfg.share); /* every worker's client was freed on its thread */
  flb_config_free(&cfg);
  return rc;
}
