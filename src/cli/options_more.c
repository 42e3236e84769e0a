/* The options of round two (issue 23): their table, merged into --help and
 * the parser by options.c, and what each sets. Kept apart from options.c so
 * that the table and its cases grow in one place. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

enum more_id {
  M_FAIL_WITH_BODY = CLI_MORE_ID_BASE,
  M_JSON,
  M_REMOTE_HEADER_NAME,
  M_OUTPUT_DIR,
  M_REMOTE_NAME_ALL,
  M_NETRC,
  M_NETRC_FILE,
  M_NETRC_OPTIONAL,
  M_CONFIG,
  M_DISABLE,
  M_GLOBOFF,
  M_IPV4,
  M_IPV6,
  M_NO_KEEPALIVE,
  M_NO_SESSIONID,
  M_HAPPY_EYEBALLS,
  M_STDERR,
  M_TRACE,
  M_TRACE_ASCII,
  M_TRACE_TIME,
  M_NO_BUFFER,
  M_PROGRESS_BAR,
  M_NO_PROGRESS_METER,
  M_PATH_AS_IS,
  M_RAW,
  M_IGNORE_CONTENT_LENGTH,
  M_URL_QUERY,
  M_NEXT,
  M_PARALLEL_IMMEDIATE,
  /* issue 22, in life_opts.c's order */
  M_UNIX_SOCKET,
  M_ABSTRACT_UNIX_SOCKET,
  M_INTERFACE,
  M_LOCAL_PORT,
  M_KEEPALIVE_TIME,
  M_CONNECT_TO,
  M_WS,
};

/* Sorted by long name within each group of issue 23. */
static const cli_option more[] = {
    /* group 1 */
    {0, "fail-with-body", NULL, M_FAIL_WITH_BODY,
     "Exit 22 on HTTP status >= 400, writing the body"},
    {0, "json", "DATA", M_JSON, "POST JSON (@FILE, @- stdin); sets Content-Type and Accept"},
    {0, "output-dir", "DIR", M_OUTPUT_DIR, "Write -o and -O files into DIR"},
    {'J', "remote-header-name", NULL, M_REMOTE_HEADER_NAME,
     "With -O: name the file from Content-Disposition"},
    {0, "remote-name-all", NULL, M_REMOTE_NAME_ALL, "-O for every URL without its own -o"},
    /* group 2 */
    {'K', "config", "FILE", M_CONFIG, "Read options from FILE ('-': stdin), as curl's"},
    {'q', "disable", NULL, M_DISABLE, "First argument: do not read ~/.curlrc"},
    {'n', "netrc", NULL, M_NETRC, "Credentials from ~/.netrc"},
    {0, "netrc-file", "FILE", M_NETRC_FILE, "Credentials from this netrc FILE"},
    {0, "netrc-optional", NULL, M_NETRC_OPTIONAL, "Like -n, but -u or the URL's win"},
    /* group 3 */
    {'g', "globoff", NULL, M_GLOBOFF, "No URL globbing: [] and {} are literal"},
    /* group 4 */
    {0, "happy-eyeballs-timeout-ms", "MS", M_HAPPY_EYEBALLS,
     "Head start of IPv6 over IPv4 (default 250)"},
    {'4', "ipv4", NULL, M_IPV4, "Connect to IPv4 addresses only"},
    {'6', "ipv6", NULL, M_IPV6, "Connect to IPv6 addresses only"},
    {0, "no-keepalive", NULL, M_NO_KEEPALIVE, "No TCP keep-alive probes on connections"},
    {0, "no-sessionid", NULL, M_NO_SESSIONID, "Do not resume TLS sessions"},
    /* group 10 */
    {'N', "no-buffer", NULL, M_NO_BUFFER, "Write output as it arrives (flurry always does)"},
    {0, "no-progress-meter", NULL, M_NO_PROGRESS_METER, "No progress meter; messages stay"},
    {'#', "progress-bar", NULL, M_PROGRESS_BAR, "Show progress as a bar"},
    {0, "stderr", "FILE", M_STDERR, "Write what goes to stderr to FILE ('-': stdout)"},
    {0, "trace", "FILE", M_TRACE, "Write every byte sent and received to FILE (hex)"},
    {0, "trace-ascii", "FILE", M_TRACE_ASCII, "Like --trace, as text"},
    {0, "trace-time", NULL, M_TRACE_TIME, "Time stamps in -v and --trace output"},
    /* group 11 */
    {0, "ignore-content-length", NULL, M_IGNORE_CONTENT_LENGTH,
     "Read the body to the end of the connection"},
    {':', "next", NULL, M_NEXT, "Options after this apply to the URLs after it"},
    {0, "parallel-immediate", NULL, M_PARALLEL_IMMEDIATE, "Open new connections at once"},
    {0, "path-as-is", NULL, M_PATH_AS_IS, "Send /../ and /./ in the URL's path as given"},
    {0, "raw", NULL, M_RAW, "No decoding of content or transfer encodings"},
    {0, "url-query", "DATA", M_URL_QUERY, "Add DATA to the URL query (as --data-urlencode)"},
    /* issue 22: connection lifecycle (life_opts.c) */
    {0, "abstract-unix-socket", "NAME", M_ABSTRACT_UNIX_SOCKET,
     "Connect to this abstract Unix socket instead"},
    {0, "connect-to", "H1:P1:H2:P2", M_CONNECT_TO, "Connect to H2:P2 for requests to H1:P1"},
    {0, "interface", "NAME", M_INTERFACE, "Bind to interface (if!NAME) or address (host!ADDR)"},
    {0, "keepalive-time", "SECONDS", M_KEEPALIVE_TIME, "TCP keep-alive idle time and interval"},
    {0, "local-port", "NUM[-NUM]", M_LOCAL_PORT, "Bind to a local port from this range"},
    {0, "unix-socket", "PATH", M_UNIX_SOCKET, "Connect through this Unix domain socket"},
    /* issue 21: a WebSocket session (ws.c) */
    {0, "ws", NULL, M_WS, "WebSocket: stdin lines out as text messages, messages to stdout"},
};
#define NMORE (sizeof more / sizeof more[0])

const cli_option *cli_more_options(size_t *n) {
  *n = NMORE;
  return more;
}

const cli_option *cli_more_find(const char *name, char short_name) {
  for (size_t i = 0; i < NMORE; i++)
    if (name ? strcmp(more[i].long_name, name) == 0 : more[i].short_name == short_name)
      return &more[i];
  return NULL;
}

static void set_str(char **dst, const char *s) {
  free(*dst);
  *dst = cli_strdup(s);
}

static int bad(const char *opt, const char *what) {
  cli_msg("option %s: %s", opt, what);
  cli_msg("try 'flurry --help' for more information");
  return CLI_EXIT_USAGE;
}

/* --stderr: from now on, as curl. */
static int redirect_stderr(const char *path) {
  fflush(stderr);
  if (strcmp(path, "-") == 0) return dup2(STDOUT_FILENO, STDERR_FILENO) < 0 ? -1 : 0;
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) return -1;
  int rc = dup2(fd, STDERR_FILENO) < 0 ? -1 : 0;
  close(fd);
  return rc;
}

int cli_more_apply(cli_config *cfg, const cli_option *o, const char *name, const char *arg,
                   int on) {
  cli_more *m = &cfg->more;
  if (!on && (o->id == M_IPV4 || o->id == M_IPV6 || o->id == M_NEXT)) /* as curl */
    return bad(name, "used '--no-' for option that isn't a boolean");
  switch ((enum more_id)o->id) {
  case M_FAIL_WITH_BODY:
    if (on && cfg->fail) return bad(name, "is badly used here"); /* curl: not with -f */
    m->fail_with_body = on;
    break;
  case M_JSON:
    m->json = 1;
    cfg->data = cli_xrealloc(cfg->data, (cfg->ndata + 1) * sizeof *cfg->data);
    cfg->data[cfg->ndata++] = (cli_data){.kind = CLI_DATA_JSON, .arg = cli_strdup(arg)};
    break;
  case M_REMOTE_HEADER_NAME: m->remote_header_name = on; break;
  case M_OUTPUT_DIR: set_str(&m->output_dir, arg); break;
  case M_REMOTE_NAME_ALL: m->remote_name_all = on; break;
  case M_NETRC: m->netrc = on; break;
  case M_NETRC_OPTIONAL: m->netrc = on ? 2 : 0; break;
  case M_NETRC_FILE:
    set_str(&m->netrc_file, arg);
    if (!m->netrc) m->netrc = 1;
    break;
  case M_CONFIG: return cli_config_file(cfg, arg);
  case M_DISABLE: break; /* only as the first argument (options.c) */
  case M_GLOBOFF: m->globoff = on; break;
  case M_IPV4: m->family = 4; break;
  case M_IPV6: m->family = 6; break;
  case M_NO_KEEPALIVE: m->no_keepalive = on; break;
  case M_NO_SESSIONID: m->no_sessionid = on; break;
  case M_HAPPY_EYEBALLS: {
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (end == arg || *end || errno || v < 0 || v > 86400000)
      return bad(name, "expected a proper numerical parameter");
    m->happy_eyeballs_ms = v;
    m->he_set = 1;
    break;
  }
  case M_STDERR:
    if (redirect_stderr(arg) != 0) cli_warn("Failed to open %s", arg); /* curl goes on too */
    set_str(&m->stderr_file, arg);
    break;
  case M_TRACE:
  case M_TRACE_ASCII:
    set_str(&m->trace, arg);
    m->trace_ascii = o->id == M_TRACE_ASCII;
    break;
  case M_TRACE_TIME: m->trace_time = on; break;
  case M_NO_BUFFER: m->no_buffer = on; break;
  case M_PROGRESS_BAR: m->progress_bar = on; break;
  case M_NO_PROGRESS_METER: m->no_progress_meter = on; break;
  case M_PATH_AS_IS: m->path_as_is = on; break;
  case M_RAW: m->raw = on; break;
  case M_WS: m->ws = on; break;
  case M_IGNORE_CONTENT_LENGTH: m->ignore_content_length = on; break;
  case M_URL_QUERY: {
    m->url_query = cli_xrealloc(m->url_query, (m->nurl_query + 2) * sizeof *m->url_query);
    m->url_query[m->nurl_query++] = cli_strdup(arg);
    m->url_query[m->nurl_query] = NULL;
    break;
  }
  case M_NEXT: return CLI_OPT_NEXT;
  case M_PARALLEL_IMMEDIATE: m->parallel_immediate = on; break;
  case M_UNIX_SOCKET:
  case M_ABSTRACT_UNIX_SOCKET:
  case M_INTERFACE:
  case M_LOCAL_PORT:
  case M_KEEPALIVE_TIME:
  case M_CONNECT_TO: return cli_life_apply(m, o->id - M_UNIX_SOCKET, name, arg);
  }
  return -1;
}

void cli_more_inherit(cli_config *to, const cli_config *from) {
  /* curl's global options: they hold for the whole command line */
  to->silent = from->silent;
  to->show_error = from->show_error;
  to->verbose = from->verbose;
  to->parallel = from->parallel;
  to->parallel_max = from->parallel_max;
  const cli_more *f = &from->more;
  cli_more *t = &to->more;
  t->trace_ascii = f->trace_ascii;
  t->trace_time = f->trace_time;
  t->no_buffer = f->no_buffer;
  t->progress_bar = f->progress_bar;
  t->no_progress_meter = f->no_progress_meter;
  t->parallel_immediate = f->parallel_immediate;
  if (f->trace) t->trace = cli_strdup(f->trace);
  if (f->stderr_file) t->stderr_file = cli_strdup(f->stderr_file);
}

/* --url-query: "+DATA" as is, else as --data-urlencode encodes it. */
static void add_query(cli_buf *q, const char *arg) {
  if (q->len) cli_buf_addc(q, '&');
  if (arg[0] == '+') {
    cli_buf_adds(q, arg + 1);
    return;
  }
  cli_buf e = {0};
  cli_urlencode_arg(&e, arg);
  for (size_t i = 0; i < e.len; i++) { /* curl writes a space as '+' in a query */
    if (e.data[i] == '%' && i + 2 < e.len && e.data[i + 1] == '2' && e.data[i + 2] == '0') {
      cli_buf_addc(q, '+');
      i += 2;
    } else if (e.data[i] == '%' && i + 2 < e.len) { /* and its escapes in lower case */
      char esc[3] = {'%', (char)tolower((unsigned char)e.data[i + 1]),
                     (char)tolower((unsigned char)e.data[i + 2])};
      cli_buf_add(q, esc, 3);
      i += 2;
    } else {
      cli_buf_addc(q, e.data[i]);
    }
  }
  cli_buf_free(&e);
}

static char *with_query(const char *url, const char *query) {
  cli_buf b = {0};
  const char *hash = strchr(url, '#');
  size_t len = hash ? (size_t)(hash - url) : strlen(url);
  cli_buf_add(&b, url, len);
  const char *qm = memchr(url, '?', len);
  if (!qm)
    cli_buf_addc(&b, '?');
  else if (url[len - 1] != '?' && url[len - 1] != '&')
    cli_buf_addc(&b, '&');
  cli_buf_adds(&b, query);
  return b.data;
}

/* One URL spec becomes the URLs of its glob, their -o names with "#N"
 * filled in. -1 or an exit code. */
static int expand(cli_url *spec, cli_url **out, size_t *nout, int globoff) {
  cli_glob g = {0};
  char err[512];
  if (globoff || !strpbrk(spec->url, "[]{}")) {
    *out = cli_xrealloc(*out, (*nout + 1) * sizeof **out);
    (*out)[(*nout)++] = *spec;
    return -1;
  }
  if (cli_glob_expand(spec->url, &g, err, sizeof err) != 0) {
    cli_error(CLI_EXIT_URL, "%s", err);
    free(spec->url); /* it is in neither list now */
    free(spec->outfile);
    free(spec->upload);
    return CLI_EXIT_URL;
  }
  *out = cli_xrealloc(*out, (*nout + g.n) * sizeof **out);
  for (size_t i = 0; i < g.n; i++) {
    cli_url u = *spec;
    u.url = cli_strdup(g.urls[i]);
    u.outfile = spec->outfile ? cli_glob_name(spec->outfile, g.parts[i], g.nparts) : NULL;
    u.upload = spec->upload ? cli_strdup(spec->upload) : NULL;
    (*out)[(*nout)++] = u;
  }
  free(spec->url);
  free(spec->outfile);
  free(spec->upload);
  cli_glob_free(&g);
  return -1;
}

int cli_more_finish(cli_config *cfg) {
  cli_more *m = &cfg->more;
  if (m->fail_with_body && cfg->fail) return bad("--fail", "is badly used here");
  /* -J with -i/-I or -C -: curl 7.88 refuses them together (exit 2) once the
   * whole command line is read, so a later --no-include makes it fine */
  if (m->remote_header_name && (cfg->include || cfg->head || cfg->resume_auto)) {
    cli_msg("%s and --remote-header-name cannot be combined",
            cfg->include || cfg->head ? "showing headers" : "--continue-at");
    cli_msg("try 'flurry --help' for more information");
    return CLI_EXIT_USAGE;
  }
  cli_url *urls = NULL;
  size_t n = 0;
  int rc = -1;
  for (size_t i = 0; i < cfg->nurls; i++) {
    if (rc >= 0) { /* after a bad glob: only free the rest */
      free(cfg->urls[i].url);
      free(cfg->urls[i].outfile);
      free(cfg->urls[i].upload);
      continue;
    }
    cfg->urls[i].urlnum = i; /* a glob's URLs share it, as curl's %{urlnum} */
    rc = expand(&cfg->urls[i], &urls, &n, m->globoff);
  }
  free(cfg->urls);
  cfg->urls = urls;
  cfg->nurls = n;
  if (rc >= 0) return rc;
  cli_buf q = {0};
  for (size_t i = 0; i < m->nurl_query; i++) add_query(&q, m->url_query[i]);
  for (size_t i = 0; i < cfg->nurls; i++) {
    cli_url *u = &cfg->urls[i];
    if (m->remote_name_all && !u->outfile && !u->remote_name && i >= cfg->nouts) u->remote_name = 1;
    if (q.len) {
      char *nu = with_query(u->url, q.data);
      free(u->url);
      u->url = nu;
    }
    if (m->output_dir && u->outfile && u->outfile[0] != '/') {
      cli_buf p = {0};
      cli_buf_printf(&p, "%s/%s", m->output_dir, u->outfile);
      free(u->outfile);
      u->outfile = p.data;
    }
  }
  cli_buf_free(&q);
  return -1;
}

void cli_more_free(cli_more *m) {
  free(m->output_dir);
  free(m->netrc_file);
  free(m->stderr_file);
  free(m->trace);
  for (size_t i = 0; i < m->nurl_query; i++) free(m->url_query[i]);
  free(m->url_query);
  cli_life_free(m);
  memset(m, 0, sizeof *m);
}

void cli_more_client_options(const cli_config *cfg, fl_client_options *o) {
  const cli_more *m = &cfg->more;
  o->ip_family = m->family;
  if (m->no_sessionid) o->tls_session_cache = 0;
  if (m->he_set) o->happy_eyeballs_delay_ms = (uint32_t)m->happy_eyeballs_ms;
  if (m->parallel_immediate) o->max_connecting_per_host = 0; /* every connection at once */
  if (m->raw) o->decompress = 0; /* --raw: bodies as they came (no --compressed decoding) */
  /* --no-keepalive: the library sends no TCP keep-alive probes anyway */
  cli_life_client_options(cfg, o);
}
