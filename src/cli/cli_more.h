/* flurry command-line tool: the options of round two (issue 23) and the
 * files that read them: options_more.c (their table and values), glob.c
 * (URL globbing), config.c (-K and ~/.curlrc), netrc.c (-n), json_opt.c
 * (--json), trace.c (--trace, --stderr). Included by cli.h. */
#ifndef FLURRY_CLI_MORE_H
#define FLURRY_CLI_MORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <flurry.h>

typedef struct cli_config cli_config;
typedef struct cli_buf cli_buf;
typedef struct cli_body cli_body;

/* One option of the tables (options.c's and options_more.c's). */
typedef struct cli_option {
  char short_name; /* 0: long form only */
  const char *long_name;
  const char *arg; /* NULL: a flag */
  int id;          /* options.c's enum, or CLI_MORE_ID_BASE + options_more.c's */
  const char *help;
} cli_option;

#define CLI_MORE_ID_BASE 1000

/* What the round-two options set. */
typedef struct cli_more {
  int fail_with_body;     /* --fail-with-body */
  int json;               /* --json given: its content type and Accept */
  int remote_header_name; /* -J */
  char *output_dir;       /* --output-dir */
  int remote_name_all;    /* --remote-name-all */
  int netrc;              /* 0 no, 1 -n, 2 --netrc-optional */
  char *netrc_file;       /* --netrc-file */
  int globoff;            /* -g */
  int family;             /* -4: 4, -6: 6, 0: either */
  int no_keepalive, no_sessionid;
  long happy_eyeballs_ms; /* -1: the library's */
  int he_set;
  char *stderr_file; /* --stderr */
  char *trace;       /* --trace / --trace-ascii FILE ("-": stdout) */
  int trace_ascii, trace_time;
  int no_buffer;    /* -N */
  int progress_bar; /* -# */
  int no_progress_meter;
  int path_as_is, raw, ignore_content_length, parallel_immediate;
  int ws;           /* --ws: a WebSocket session instead of transfers (ws.c) */
  char **url_query; /* --url-query, in order */
  size_t nurl_query;
  /* connection lifecycle (issue 22): --unix-socket / --abstract-unix-socket
   * (the last one given wins, as curl), --interface (split into an
   * interface name or a local address), --local-port, --keepalive-time,
   * --connect-to (rules as the library takes them; curl's that can never
   * match are dropped). */
  char *unix_socket;
  int unix_abstract;
  char *interface, *local_address;
  int interface_bad; /* "host!NAME" with NAME not an IP literal: exit 45 */
  long local_port, local_port_range;
  long keepalive_time; /* 0: not given (the library's default: off) */
  char **connect_to;   /* NULL-terminated */
  size_t nconnect_to;
  int connect_to_bad; /* a rule with a bad HOST2:PORT2: exit 49, as curl */
  char *connect_to_msg;
} cli_more;

/* options_more.c */
const cli_option *cli_more_options(size_t *n);
/* By long name (name != NULL) or short letter. */
const cli_option *cli_more_find(const char *name, char short_name);
int cli_more_apply(cli_config *cfg, const cli_option *o, const char *name, const char *arg, int on);
/* After the words of one option set were read: URL globs expanded, -O for
 * every URL (--remote-name-all), --url-query added. -1 or an exit code. */
int cli_more_finish(cli_config *cfg);
/* --next: what the new set keeps of the one before (the global options). */
void cli_more_inherit(cli_config *to, const cli_config *from);
void cli_more_free(cli_more *m);
/* The client settings of these options (features.c calls it last). */
void cli_more_client_options(const cli_config *cfg, fl_client_options *o);
/* life_opts.c: the lifecycle options' client settings, and their check
 * before the transfers (-1, or an exit code with its message printed). */
void cli_life_client_options(const cli_config *cfg, fl_client_options *o);
int cli_life_check(const cli_config *cfg);
/* id: 0 --unix-socket, 1 --abstract-unix-socket, 2 --interface,
 * 3 --local-port, 4 --keepalive-time, 5 --connect-to. -1 or exit 2. */
int cli_life_apply(cli_more *m, int id, const char *name, const char *arg);
void cli_life_free(cli_more *m);
/* Return values of cli_apply_option besides -1 (go on) and exit codes. */
#define CLI_OPT_UNKNOWN (-3)
#define CLI_OPT_NEEDS_ARG (-4)
#define CLI_OPT_NEXT (-5) /* -:, --next */
/* options.c: apply one option by name ("url", "--silent", "-o"). */
int cli_apply_option(cli_config *cfg, const char *name, const char *arg);

/* request.c: a --data-urlencode argument, encoded, appended to out. 0 or
 * 26 (its @FILE unreadable; message printed). */
int cli_urlencode_arg(cli_buf *out, const char *arg);
/* json_opt.c: one --json piece (TEXT, @FILE, @-) into body. Always 0: an
 * unreadable file is a warning and adds nothing, as curl's. */
int cli_json_add(cli_body *body, const char *arg);

/* config.c: -K FILE ("-": stdin). -1 or an exit code (26 unreadable). */
int cli_config_file(cli_config *cfg, const char *path);
/* ~/.curlrc as curl finds it (CURL_HOME, XDG_CONFIG_HOME, HOME); a missing
 * one is fine. -1 or an exit code. */
int cli_config_default(cli_config *cfg);

/* glob.c: expand one URL argument into its URLs and their "#N" texts. On
 * a bad pattern: CLI_EXIT_URL (3), with curl's message in err. */
typedef struct cli_glob {
  char **urls;
  char ***parts; /* parts[i][k]: the text of the k-th pattern ("#k+1") of urls[i] */
  size_t n, nparts;
} cli_glob;
int cli_glob_expand(const char *pattern, cli_glob *g, char *err, size_t errcap);
/* name with "#N" replaced by the N-th part (malloc'd). */
char *cli_glob_name(const char *name, char **parts, size_t nparts);
void cli_glob_free(cli_glob *g);

/* netrc.c: "user:password" for host from a netrc file (malloc'd), NULL
 * when none. *err: 0, or an exit code (26 unreadable with -n --netrc-file;
 * a syntax error) with msg set. */
char *cli_netrc_lookup(const char *path, const char *host, const char *user, int *err, char *msg,
                       size_t cap);
/* The netrc file curl reads: NETRC, else $HOME/.netrc. malloc'd. */
char *cli_netrc_default(void);

#endif
