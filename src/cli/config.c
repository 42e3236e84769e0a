/* -K/--config and ~/.curlrc, in curl's syntax: one option per line, its
 * name with or without dashes; without dashes the parameter may follow
 * '=' or ':' ("url = http://x/", "max-time: 5"); a parameter with spaces is
 * quoted, with \\ \" \t \n \r \v escapes; lines starting with '#' are
 * comments. As curl 7.88: an unreadable file is exit 26; an unknown option
 * or a missing parameter is a warning naming the file and line, and the
 * rest is read. */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define CONFIG_DEPTH_MAX 16 /* -K inside a config file inside ... */

static int depth;

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* A quoted parameter from p (after the '"'); *p moves past it. */
static char *quoted(const char **pp) {
  cli_buf b = {0};
  const char *p = *pp;
  for (; *p && *p != '"'; p++) {
    if (*p == '\\' && p[1]) {
      p++;
      switch (*p) {
      case 't': cli_buf_addc(&b, '\t'); break;
      case 'n': cli_buf_addc(&b, '\n'); break;
      case 'r': cli_buf_addc(&b, '\r'); break;
      case 'v': cli_buf_addc(&b, '\v'); break;
      default: cli_buf_addc(&b, *p); break; /* \\ \" and any other letter as itself */
      }
    } else {
      cli_buf_addc(&b, *p);
    }
  }
  if (*p == '"') p++;
  *pp = p;
  return b.data ? b.data : cli_strdup("");
}

static int config_line(cli_config *cfg, const char *file, unsigned lineno, const char *line) {
  const char *p = line;
  while (is_space(*p)) p++;
  if (!*p || *p == '#') return -1;
  const char *name = p;
  int dashed = *p == '-';
  while (*p && !is_space(*p) && (dashed || (*p != '=' && *p != ':'))) p++;
  char *opt = cli_strndup(name, (size_t)(p - name));
  while (is_space(*p)) p++;
  if (!dashed && (*p == '=' || *p == ':')) {
    p++;
    while (is_space(*p)) p++;
  }
  char *arg = NULL;
  if (*p == '"') {
    p++;
    arg = quoted(&p);
  } else if (*p) {
    const char *s = p;
    while (*p && !is_space(*p)) p++;
    arg = cli_strndup(s, (size_t)(p - s));
  }
  int rc = cli_apply_option(cfg, opt, arg);
  const char *bare = opt[0] == '-' ? opt + 1 + (opt[1] == '-') : opt;
  if (rc == CLI_OPT_UNKNOWN || rc == CLI_OPT_NEEDS_ARG || rc == CLI_EXIT_USAGE) {
    if (!cfg->silent)
      cli_msg("%s:%u: warning: '%s' %s", file, lineno, bare,
              rc == CLI_OPT_UNKNOWN     ? "is unknown"
              : rc == CLI_OPT_NEEDS_ARG ? "requires parameter"
                                        : "had a bad parameter");
    rc = -1;
  } else if (rc == CLI_OPT_NEXT) {
    cli_msg("%s:%u: warning: '%s' is not supported in a config file", file, lineno, bare);
    rc = -1;
  }
  free(opt);
  free(arg);
  return rc;
}

int cli_config_file(cli_config *cfg, const char *path) {
  cli_buf b = {0};
  int bad = depth >= CONFIG_DEPTH_MAX || cli_read_file(path, &b) != 0;
  if (bad && errno == EISDIR && depth < CONFIG_DEPTH_MAX) { /* curl 7.88 reads it as empty */
    cli_buf_free(&b);
    return -1;
  }
  if (bad) {
    cli_msg("cannot read config from '%s'%s%s", path, depth >= CONFIG_DEPTH_MAX ? "" : ": ",
            depth >= CONFIG_DEPTH_MAX ? " (nested too deep)" : strerror(errno));
    cli_msg("option -K: error encountered when reading a file");
    cli_buf_free(&b);
    return CLI_EXIT_READ;
  }
  const char *shown = strcmp(path, "-") == 0 ? "<stdin>" : path;
  int rc = -1;
  unsigned lineno = 0;
  depth++;
  for (char *line = b.data; rc < 0 && line && *line;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    rc = config_line(cfg, shown, ++lineno, line);
    line = nl ? nl + 1 : NULL;
  }
  depth--;
  cli_buf_free(&b);
  return rc;
}

/* curl 7.88's places, first found wins: $CURL_HOME, $XDG_CONFIG_HOME,
 * $HOME, then the home directory of the user. */
int cli_config_default(cli_config *cfg) {
  const char *env[] = {"CURL_HOME", "XDG_CONFIG_HOME", "HOME"};
  for (size_t i = 0; i <= sizeof env / sizeof env[0]; i++) {
    const char *dir = NULL;
    if (i < sizeof env / sizeof env[0]) {
      dir = getenv(env[i]);
    } else {
      struct passwd *pw = getpwuid(geteuid());
      dir = pw ? pw->pw_dir : NULL;
    }
    if (!dir || !*dir) continue;
    cli_buf path = {0};
    cli_buf_printf(&path, "%s/.curlrc", dir);
    int found = access(path.data, R_OK) == 0;
    int rc = found ? cli_config_file(cfg, path.data) : -1;
    cli_buf_free(&path);
    if (found) return rc;
  }
  return -1;
}
