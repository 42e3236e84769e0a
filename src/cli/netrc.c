/* -n/--netrc: credentials for a host from a netrc file (machine, default,
 * login, password, account, macdef; values may be quoted with \" and \\
 * escapes, as curl 7.88 reads them). A missing file is no error; one that
 * cannot be parsed (an unterminated quote) is curl's exit 26. */
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

typedef struct lexer {
  const char *p;
  unsigned line;
  int bad;
} lexer;

/* The next token (malloc'd), NULL at the end or on an error (lx->bad). */
static char *token(lexer *lx) {
  for (;;) {
    while (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r' || *lx->p == '\n') {
      if (*lx->p == '\n') lx->line++;
      lx->p++;
    }
    if (*lx->p != '#') break;
    while (*lx->p && *lx->p != '\n') lx->p++; /* a comment */
  }
  if (!*lx->p) return NULL;
  cli_buf b = {0};
  if (*lx->p == '"') {
    const char *p = lx->p + 1;
    for (; *p && *p != '"' && *p != '\n'; p++) {
      if (*p == '\\' && p[1] && p[1] != '\n') p++;
      cli_buf_addc(&b, *p);
    }
    if (*p != '"') {
      cli_buf_free(&b);
      lx->bad = 1;
      return NULL;
    }
    lx->p = p + 1;
  } else {
    const char *s = lx->p;
    while (*lx->p && !strchr(" \t\r\n", *lx->p)) lx->p++;
    cli_buf_add(&b, s, (size_t)(lx->p - s));
  }
  return b.data ? b.data : cli_strdup("");
}

/* macdef NAME: its lines up to an empty line are a macro, not tokens. */
static void skip_macro(lexer *lx) {
  while (*lx->p && *lx->p != '\n') lx->p++;
  while (*lx->p) {
    if (lx->p[0] == '\n' && (lx->p[1] == '\n' || lx->p[1] == '\0')) break;
    if (*lx->p == '\n') lx->line++;
    lx->p++;
  }
}

char *cli_netrc_lookup(const char *path, const char *host, const char *user, int *err, char *msg,
                       size_t cap) {
  *err = 0;
  cli_buf file = {0};
  if (cli_read_file(path, &file) != 0) {
    cli_buf_free(&file);
    return NULL; /* as curl: no file, no credentials */
  }
  lexer lx = {.p = file.data, .line = 1};
  /* Entries for the host ("default" for any) in order. Without a user
   * name the first one's login and password; with one (the URL's), the
   * password of the entry with that login, else that of the last entry for
   * the host, as curl 7.88 does. */
  int in_match = 0, done = 0;
  char *login = NULL, *password = NULL, *t;
  while (!done && (t = token(&lx)) != NULL) {
    if (strcmp(t, "machine") == 0 || strcmp(t, "default") == 0) {
      if (in_match && (login || password) &&
          (!user || (login && strcmp(login, user) == 0))) { /* the entry we wanted ended */
        free(t);
        break;
      }
      in_match = 0;
      if (strcmp(t, "default") == 0) {
        in_match = 1;
      } else {
        char *name = token(&lx);
        in_match = name && cli_strcaseeq(name, host);
        free(name);
      }
    } else if (strcmp(t, "login") == 0 || strcmp(t, "password") == 0 || strcmp(t, "account") == 0) {
      char *v = token(&lx);
      if (in_match && v && t[0] == 'l') {
        free(login);
        login = v;
        v = NULL;
      } else if (in_match && v && t[0] == 'p') {
        free(password);
        password = v;
        v = NULL;
      }
      free(v);
    } else if (strcmp(t, "macdef") == 0) {
      skip_macro(&lx);
    }
    free(t);
  }
  if (lx.bad) {
    *err = CLI_EXIT_READ;
    snprintf(msg, cap, "%s:%u: .netrc parser error (an unterminated quote)", path, lx.line);
    free(login);
    free(password);
    cli_buf_free(&file);
    return NULL;
  }
  cli_buf_free(&file);
  if (!login && !password) return NULL;
  cli_buf r = {0};
  cli_buf_printf(&r, "%s:%s", user ? user : login ? login : "", password ? password : "");
  free(login);
  free(password);
  return r.data;
}

char *cli_netrc_default(void) {
  const char *home = getenv("HOME");
  if (!home || !*home) {
    struct passwd *pw = getpwuid(geteuid());
    home = pw ? pw->pw_dir : NULL;
  }
  if (!home) return NULL;
  cli_buf b = {0};
  cli_buf_printf(&b, "%s/.netrc", home);
  return b.data;
}
