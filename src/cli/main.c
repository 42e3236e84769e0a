/* flurry: fetch many URLs at once, with curl's options and exit codes.
 * Built only on the public API of libflurry. */
#include <signal.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"

/* Thousands of concurrent transfers need as many descriptors. */
static void raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

static int run(const cli_config *cfg) {
  cli_msg_quiet(cfg->silent && !cfg->show_error);
  cli_warn_quiet(cfg->silent);
  cli_reqspec rs;
  int rc = cli_reqspec_init(&rs, cfg);
  if (rc == 0) rc = cfg->more.ws ? cli_ws_run(cfg, &rs) : cli_run_all(cfg, &rs);
  cli_reqspec_free(&rs);
  return rc;
}

int main(int argc, char **argv) {
  /* A closed stdout pipe is a write error (exit 23), not a signal. */
  signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();

  cli_config cfg;
  memset(&cfg, 0, sizeof cfg);
  int rc = cli_parse_args(argc, argv, &cfg); /* -1: go on; else the exit code */
  /* -: sets run one after the other; the exit code is the last one's, as curl */
  for (const cli_config *c = &cfg; rc < 0 && c; c = c->next) {
    int r = run(c);
    if (!c->next) rc = r;
  }
  cli_config_free(&cfg);
  if (fflush(stdout) != 0 && rc == 0) rc = CLI_EXIT_WRITE;
  return rc;
}
