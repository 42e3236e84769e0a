/* Options of issue 23's groups 5-9, as curl 7.88 has them: transfer limits
 * (--limit-rate, -Y, -y), the proxy bypass list (--noproxy), the
 * authentication scheme (--basic, --anyauth, --oauth2-bearer), time
 * conditions and ETags (-z, --etag-save, --etag-compare) and the redirect
 * policy (--post301/302/303, --location-trusted, --proto, --proto-redir).
 * options.c merges this table into its parser and --help. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum {
  M_ANYAUTH = CLI_POL_ID_BASE,
  M_BASIC,
  M_ETAG_COMPARE,
  M_ETAG_SAVE,
  M_LIMIT_RATE,
  M_LOCATION_TRUSTED,
  M_NOPROXY,
  M_OAUTH2_BEARER,
  M_POST301,
  M_POST302,
  M_POST303,
  M_PROTO,
  M_PROTO_REDIR,
  M_SPEED_LIMIT,
  M_SPEED_TIME,
  M_TIME_COND,
};

static const cli_option table[] = {
    {0, "anyauth", NULL, M_ANYAUTH, "Authenticate as the 401 asks: Basic or Digest"},
    {0, "basic", NULL, M_BASIC, "Basic authentication with -u (default); with --digest: either"},
    {0, "etag-compare", "FILE", M_ETAG_COMPARE, "Send If-None-Match with the ETag in FILE"},
    {0, "etag-save", "FILE", M_ETAG_SAVE, "Write the response's ETag to FILE"},
    {0, "limit-rate", "SPEED", M_LIMIT_RATE,
     "Send and read each body at most SPEED bytes/s (k, M, G)"},
    {0, "location-trusted", NULL, M_LOCATION_TRUSTED,
     "Like -L, and send credentials to other hosts too"},
    {0, "noproxy", "HOSTS", M_NOPROXY, "Go direct to these hosts: NAME,IP[/BITS],... or *"},
    {0, "oauth2-bearer", "TOKEN", M_OAUTH2_BEARER, "Send Authorization: Bearer TOKEN"},
    {0, "post301", NULL, M_POST301, "Keep POST after a 301 redirect"},
    {0, "post302", NULL, M_POST302, "Keep POST after a 302 redirect"},
    {0, "post303", NULL, M_POST303, "Keep POST after a 303 redirect"},
    {0, "proto", "PROTOCOLS", M_PROTO, "Allow only these protocols: [=+-]http,https,all"},
    {0, "proto-redir", "PROTOCOLS", M_PROTO_REDIR, "Allow redirects only to these protocols"},
    {'Y', "speed-limit", "SPEED", M_SPEED_LIMIT, "Fail (exit 28) below SPEED bytes/s for -y s"},
    {'y', "speed-time", "SECONDS", M_SPEED_TIME, "How long -Y's speed may last (default 30)"},
    {'z', "time-cond", "TIME|-TIME|FILE", M_TIME_COND,
     "Only if modified since TIME (-TIME: unmodified)"},
};
#define NTABLE (sizeof table / sizeof table[0])

const cli_option *cli_pol_options(size_t *n) {
  *n = NTABLE;
  return table;
}

const cli_option *cli_pol_find(const char *name, char short_name) {
  for (size_t i = 0; i < NTABLE; i++)
    if (name ? strcmp(table[i].long_name, name) == 0 : table[i].short_name == short_name)
      return &table[i];
  return NULL;
}

static int badly_used(const char *opt) {
  cli_msg("option %s: is badly used here", opt);
  cli_msg("try 'flurry --help' for more information");
  return CLI_EXIT_USAGE;
}

static int not_numeric(const char *opt) {
  cli_msg("option %s: expected a proper numerical parameter", opt);
  cli_msg("try 'flurry --help' for more information");
  return CLI_EXIT_USAGE;
}

/* --limit-rate: N with an optional k, M, G (powers of 1024), as curl. */
static int parse_speed(const char *opt, const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  if (*s == '-') return not_numeric(opt);
  double v = strtod(s, &end);
  if (end == s || errno || v < 0) return not_numeric(opt);
  double unit = 1;
  switch (*end) {
  case 'k':
  case 'K': unit = 1024.0; break;
  case 'm':
  case 'M': unit = 1024.0 * 1024; break;
  case 'g':
  case 'G': unit = 1024.0 * 1024 * 1024; break;
  case '\0': break;
  default: return not_numeric(opt);
  }
  if (*end && end[1]) return not_numeric(opt);
  *out = (uint64_t)(v * unit);
  return -1;
}

static int parse_count(const char *opt, const char *s, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (end == s || *end || errno || v < 0) return not_numeric(opt);
  *out = v;
  return -1;
}

/* curl's protocol list: words separated by commas, each with a modifier:
 * '+' adds (the default), '-' removes, '=' allows only what follows; "all"
 * is every protocol. Starts from every protocol; unknown names are warned
 * about and ignored. */
static int parse_protocols(const char *opt, const char *s, unsigned *out) {
  static const char *const others[] = {
      "dict",  "file", "ftp",   "ftps",   "gopher", "gophers", "imap", "imaps", "ldap",
      "ldaps", "mqtt", "pop3",  "pop3s",  "rtmp",   "rtsp",    "scp",  "sftp",  "smb",
      "smbs",  "smtp", "smtps", "telnet", "tftp",   "ws",      "wss"};
  const unsigned all = CLI_PROTO_HTTP | CLI_PROTO_HTTPS | CLI_PROTO_OTHER;
  unsigned set = all;
  for (const char *p = s; *p;) {
    char mod = '+';
    if (*p == '+' || *p == '-' || *p == '=') mod = *p++;
    size_t n = strcspn(p, ",");
    if (mod == '=') set = 0;
    unsigned bit = 0;
    if (n == 3 && strncmp(p, "all", 3) == 0)
      bit = all;
    else if (n == 4 && strncmp(p, "http", 4) == 0)
      bit = CLI_PROTO_HTTP;
    else if (n == 5 && strncmp(p, "https", 5) == 0)
      bit = CLI_PROTO_HTTPS;
    else if (n) {
      for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        if (strlen(others[i]) == n && strncmp(p, others[i], n) == 0) bit = CLI_PROTO_OTHER;
      if (!bit) cli_warn("unrecognized protocol '%.*s'", (int)n, p);
    } else if (mod != '+' && mod != '=') {
      return badly_used(opt);
    }
    if (mod == '-')
      set &= ~bit;
    else
      set |= bit;
    p += n;
    while (*p == ',') p++;
  }
  if (strcmp(s, "=") == 0) return badly_used(opt);
  *out = set;
  return -1;
}

static void set_str(char **dst, const char *s) {
  free(*dst);
  *dst = cli_strdup(s);
}

int cli_pol_apply(cli_config *cfg, const cli_option *o, const char *name, const char *arg, int on) {
  cli_pol *m = &cfg->pol;
  int id = o->id;
  switch (id) {
  case M_ANYAUTH: /* as curl: every scheme; --no-anyauth changes nothing */
    if (on) cfg->digest = m->basic = 1;
    break;
  case M_BASIC: m->basic = on; break;
  case M_ETAG_COMPARE: set_str(&m->etag_compare, arg); break;
  case M_ETAG_SAVE: set_str(&m->etag_save, arg); break;
  case M_LIMIT_RATE: return parse_speed(name, arg, &m->limit_rate);
  case M_LOCATION_TRUSTED:
    m->location_trusted = on;
    cfg->location = on; /* as curl: it implies -L */
    break;
  case M_NOPROXY: set_str(&m->noproxy, arg); break;
  case M_OAUTH2_BEARER: set_str(&m->bearer, arg); break;
  case M_POST301:
  case M_POST302:
  case M_POST303: {
    unsigned bit = id == M_POST301   ? FL_REDIR_POST_301
                   : id == M_POST302 ? FL_REDIR_POST_302
                                     : FL_REDIR_POST_303;
    m->post_redirs = on ? m->post_redirs | bit : m->post_redirs & ~bit;
    break;
  }
  case M_PROTO: m->proto_set = 1; return parse_protocols(name, arg, &m->proto);
  case M_PROTO_REDIR: m->proto_redir_set = 1; return parse_protocols(name, arg, &m->proto_redir);
  case M_SPEED_LIMIT: return parse_count(name, arg, &m->speed_limit);
  case M_SPEED_TIME: return parse_count(name, arg, &m->speed_time);
  case M_TIME_COND: set_str(&m->time_cond, arg); break;
  default: break;
  }
  return -1;
}

void cli_pol_free(cli_pol *m) {
  free(m->noproxy);
  free(m->bearer);
  free(m->time_cond);
  free(m->etag_save);
  free(m->etag_compare);
  memset(m, 0, sizeof *m);
}
