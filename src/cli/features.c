/* Options that rest on library features which arrive one by one: redirects,
 * cookie files, decoding, TLS, proxies. Each one is either wired to the
 * library below, or listed in `pending`: using it then fails with exit
 * code 4 (curl's "feature not built in") and a message naming the option,
 * never silently. When the library gains a feature, move its option out of
 * `pending` and wire it here. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Is a -b argument a cookie file (not a "k=v" string)? */
static int is_cookie_file(const char *arg) { return strchr(arg, '=') == NULL; }

static int uses_cookie_file(const cli_config *cfg) {
  for (size_t i = 0; i < cfg->ncookies; i++)
    if (is_cookie_file(cfg->cookies[i])) return 1;
  return 0;
}

typedef struct pending_feature {
  const char *option;
  const char *needs;
  int (*used)(const cli_config *cfg);
} pending_feature;

static int used_location(const cli_config *c) { return c->location; }
static int used_cookie_file(const cli_config *c) { return uses_cookie_file(c); }
static int used_cookie_jar(const cli_config *c) { return c->cookie_jar != NULL; }
static int used_compressed(const cli_config *c) { return c->compressed; }
static int used_insecure(const cli_config *c) { return c->insecure; }
static int used_cacert(const cli_config *c) { return c->cacert != NULL; }
static int used_proxy(const cli_config *c) { return c->proxy != NULL; }

static const pending_feature pending[] = {
    {"-L/--location", "redirect following", used_location},
    {"-b/--cookie FILE", "cookie files", used_cookie_file},
    {"-c/--cookie-jar", "cookie files", used_cookie_jar},
    {"--compressed", "content decoding", used_compressed},
    {"-k/--insecure", "TLS", used_insecure},
    {"--cacert", "TLS", used_cacert},
    {"-x/--proxy", "proxies", used_proxy},
};

int cli_features_check(const cli_config *cfg) {
  for (size_t i = 0; i < sizeof pending / sizeof pending[0]; i++) {
    if (!pending[i].used(cfg)) continue;
    cli_error(CLI_EXIT_NOT_BUILT, "option %s: this build of libflurry has no %s yet",
              pending[i].option, pending[i].needs);
    return CLI_EXIT_NOT_BUILT;
  }
  return 0;
}

void cli_features_client(const cli_config *cfg, fl_client_options *o) {
  /* curl's defaults, which are not the library's: no redirects, no
   * Accept-Encoding, no cookie engine unless asked for. */
  o->follow_redirects = cfg->location;
  o->max_redirects = cfg->max_redirs;
  o->decompress = cfg->compressed;
  o->cookies = uses_cookie_file(cfg) || cfg->cookie_jar != NULL;
}

int cli_features_client_ready(const cli_config *cfg, fl_client *client) {
  (void)cfg;
  (void)client;
  return 0;
}

int cli_features_client_done(const cli_config *cfg, fl_client *client) {
  (void)cfg;
  (void)client;
  return 0;
}

int cli_features_request(const cli_config *cfg, fl_request *req) {
  (void)cfg;
  (void)req;
  return 0;
}

const char *cli_effective_url(const fl_request *req) { return fl_request_url(req); }

int cli_num_redirects(const fl_request *req) { return fl_request_info(req)->redirects; }
