/* Command-line options: one table gives the parser, --help, and the list
 * that tests compare with the man page (doc/flurry.1).
 *
 * Syntax (curl's): short options may be grouped (-sS) and take their
 * argument attached (-XPOST) or as the next word; long options take theirs
 * as the next word (--request POST); a flag can be switched off again with
 * --no-NAME (--no-silent). Words that are not options are URLs, wherever
 * they appear; after "--" every word is a URL. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum opt_id {
  O_CACERT,
  O_CAPATH,
  O_CERT,
  O_CERT_TYPE,
  O_CONTINUE_AT,
  O_COOKIE,
  O_COOKIE_JAR,
  O_COMPRESSED,
  O_CONNECT_TIMEOUT,
  O_CREATE_DIRS,
  O_DATA,
  O_DATA_BINARY,
  O_DATA_RAW,
  O_DATA_URLENCODE,
  O_DNS_SERVERS,
  O_DUMP_HEADER,
  O_EXPECT100_TIMEOUT,
  O_REFERER,
  O_FAIL,
  O_FORM,
  O_GET,
  O_HEADER,
  O_HELP,
  O_HEAD,
  O_INCLUDE,
  O_INSECURE,
  O_KEY,
  O_KEY_TYPE,
  O_LOCATION,
  O_MAX_FILESIZE,
  O_MAX_REDIRS,
  O_MAX_TIME,
  O_OUTPUT,
  O_PARALLEL,
  O_PARALLEL_MAX,
  O_PROXY,
  O_RANGE,
  O_RATE,
  O_REMOTE_NAME,
  O_REQUEST,
  O_RESOLVE,
  O_RETRY,
  O_RETRY_ALL_ERRORS,
  O_RETRY_CONNREFUSED,
  O_RETRY_DELAY,
  O_RETRY_MAX_TIME,
  O_SHOW_ERROR,
  O_SILENT,
  O_UPLOAD_FILE,
  O_URL,
  O_URL_FILE,
  O_USER,
  O_USER_AGENT,
  O_VERBOSE,
  O_VERSION,
  O_WRITE_OUT,
  O_CIPHERS,
  O_PINNEDPUBKEY,
  O_TLS_MAX,
  O_TLS13_CIPHERS,
  O_TLSV1_2,
  O_TLSV1_3,
  O_DIGEST,
  O_PROXY_DIGEST,
  O_PROXY_USER,
  O_SOCKS4,
  O_SOCKS4A,
  O_SOCKS5,
  O_SOCKS5_HOSTNAME,
  /* HTTP versions (issue 20) */
  O_HTTP1_0,
  O_HTTP1_1,
  O_HTTP2,
  O_HTTP2_PRIOR_KNOWLEDGE,
};


/* Sorted by long name, as --help prints them. */
static const cli_option options[] = {
    {0, "cacert", "FILE", O_CACERT, "CA certificates (PEM) to verify servers with"},
    {0, "capath", "DIR", O_CAPATH, "Directory of hashed CA certificates to verify with"},
    {'E', "cert", "FILE[:PASSWORD]", O_CERT, "Client certificate (PEM) for TLS"},
    {0, "cert-type", "TYPE", O_CERT_TYPE, "Client certificate type: PEM (the only one)"},
    {0, "ciphers", "LIST", O_CIPHERS, "TLS 1.2 ciphers to offer (OpenSSL syntax)"},
    {0, "compressed", NULL, O_COMPRESSED, "Ask for gzip, deflate or br, and decode the body"},
    {0, "connect-timeout", "SECONDS", O_CONNECT_TIMEOUT, "Longest time to set up a connection"},
    {0, "expect100-timeout", "SECONDS", O_EXPECT100_TIMEOUT,
     "How long an upload waits for 100 Continue"},
    {'C', "continue-at", "OFFSET|-", O_CONTINUE_AT, "Resume at OFFSET; '-': after what -o holds"},
    {'b', "cookie", "DATA|FILE", O_COOKIE, "Send cookies: \"k=v; k2=v2\", or read a cookie file"},
    {'c', "cookie-jar", "FILE", O_COOKIE_JAR, "Write the cookies to FILE after the transfers"},
    {0, "create-dirs", NULL, O_CREATE_DIRS, "Create the directories -o and -D files need"},
    {'d', "data", "DATA", O_DATA, "POST data; @FILE reads a file (CR, LF dropped)"},
    {0, "data-binary", "DATA", O_DATA_BINARY, "POST data; @FILE reads a file as is"},
    {0, "data-raw", "DATA", O_DATA_RAW, "POST data; '@' has no special meaning"},
    {0, "data-urlencode", "DATA", O_DATA_URLENCODE,
     "POST data, URL-encoded: [NAME]=TEXT, [NAME]@FILE"},
    {0, "digest", NULL, O_DIGEST, "HTTP Digest authentication with the -u credentials"},
    {0, "dns-servers", "ADDRESSES", O_DNS_SERVERS, "DNS servers to ask: IP[:PORT][,...]"},
    {'D', "dump-header", "FILE", O_DUMP_HEADER, "Write the response headers to FILE ('-': stdout)"},
    {'f', "fail", NULL, O_FAIL, "Fail (exit 22) on HTTP status >= 400; write no body"},
    {'F', "form", "NAME=CONTENT", O_FORM, "multipart/form-data field; @FILE uploads a file"},
    {'G', "get", NULL, O_GET, "Send the -d data in the URL query, with GET"},
    {'I', "head", NULL, O_HEAD, "Send HEAD; show the response headers only"},
    {'H', "header", "\"NAME: VALUE\"", O_HEADER, "Add a header; \"NAME:\" removes one"},
    {'h', "help", NULL, O_HELP, "Show this help and exit"},
    {'0', "http1.0", NULL, O_HTTP1_0, "Speak HTTP/1.0"},
    {0, "http1.1", NULL, O_HTTP1_1, "Speak HTTP/1.1 only (TLS offers no h2)"},
    {0, "http2", NULL, O_HTTP2, "HTTP/2 over TLS when the server agrees (the default)"},
    {0, "http2-prior-knowledge", NULL, O_HTTP2_PRIOR_KNOWLEDGE,
     "HTTP/2 without asking, also on http:// (h2c)"},
    {'i', "include", NULL, O_INCLUDE, "Write the response headers before the body"},
    {'k', "insecure", NULL, O_INSECURE, "Do not verify TLS certificates"},
    {0, "key", "FILE", O_KEY, "Private key (PEM) of the -E certificate"},
    {0, "key-type", "TYPE", O_KEY_TYPE, "Private key type: PEM (the only one)"},
    {'L', "location", NULL, O_LOCATION, "Follow redirects"},
    {0, "max-filesize", "BYTES", O_MAX_FILESIZE, "Fail (exit 63) on a larger body (k, M, G)"},
    {0, "max-redirs", "NUM", O_MAX_REDIRS,
     "Follow at most NUM redirects (default 50, -1 no limit)"},
    {'m', "max-time", "SECONDS", O_MAX_TIME, "Longest time for each transfer"},
    {'o', "output", "FILE", O_OUTPUT, "Write the body to FILE (one -o per URL, in order)"},
    {'Z', "parallel", NULL, O_PARALLEL, "Fetch URLs concurrently (the default)"},
    {0, "parallel-max", "NUM", O_PARALLEL_MAX, "At most NUM transfers at once (default 50)"},
    {0, "pinnedpubkey", "HASHES", O_PINNEDPUBKEY,
     "Server key must match: sha256//BASE64[;...] or FILE"},
    {'x', "proxy", "URL", O_PROXY, "Use a proxy: [http|socks4|socks4a|socks5|socks5h]://HOST:PORT"},
    {0, "proxy-digest", NULL, O_PROXY_DIGEST, "HTTP Digest authentication with the proxy"},
    {'U', "proxy-user", "USER:PASSWORD", O_PROXY_USER,
     "Credentials for the proxy (HTTP or SOCKS5)"},
    {'r', "range", "RANGE", O_RANGE, "Ask for bytes RANGE only: 0-499, 500-, -500, 0-1,5-9"},
    {0, "rate", "N[/s|m|h|d]", O_RATE, "Start at most N transfers per time unit (default /h)"},
    {'e', "referer", "URL", O_REFERER, "Send a Referer header"},
    {'O', "remote-name", NULL, O_REMOTE_NAME, "Write the body to a file named like the URL's"},
    {'X', "request", "METHOD", O_REQUEST, "Request method"},
    {0, "resolve", "HOST:PORT:ADDR[,ADDR]", O_RESOLVE, "Use ADDR for HOST:PORT (no DNS)"},
    {0, "retry", "NUM", O_RETRY, "Retry transient failures NUM times"},
    {0, "retry-all-errors", NULL, O_RETRY_ALL_ERRORS, "With --retry: retry every failure"},
    {0, "retry-connrefused", NULL, O_RETRY_CONNREFUSED,
     "With --retry: retry refused connections too"},
    {0, "retry-delay", "SECONDS", O_RETRY_DELAY, "Wait this long between retries (no back-off)"},
    {0, "retry-max-time", "SECONDS", O_RETRY_MAX_TIME, "Start no retry after this long"},
    {'S', "show-error", NULL, O_SHOW_ERROR, "Show errors even with -s"},
    {'s', "silent", NULL, O_SILENT, "No progress meter, no error messages"},
    {0, "socks4", "HOST[:PORT]", O_SOCKS4, "Use a SOCKS4 proxy (the name resolved here)"},
    {0, "socks4a", "HOST[:PORT]", O_SOCKS4A, "Use a SOCKS4a proxy (it resolves the name)"},
    {0, "socks5", "HOST[:PORT]", O_SOCKS5, "Use a SOCKS5 proxy (the name resolved here)"},
    {0, "socks5-hostname", "HOST[:PORT]", O_SOCKS5_HOSTNAME,
     "Use a SOCKS5 proxy (it resolves the name)"},
    {0, "tls-max", "VERSION", O_TLS_MAX, "Highest TLS version: 1.0, 1.1, 1.2, 1.3 or default"},
    {0, "tls13-ciphers", "LIST", O_TLS13_CIPHERS,
     "TLS 1.3 cipher suites to offer (OpenSSL syntax)"},
    {0, "tlsv1.2", NULL, O_TLSV1_2, "Use TLS 1.2 or later"},
    {0, "tlsv1.3", NULL, O_TLSV1_3, "Use TLS 1.3 or later"},
    {'T', "upload-file", "FILE", O_UPLOAD_FILE,
     "PUT FILE ('-': stdin) to the URL (one -T per URL)"},
    {0, "url", "URL", O_URL, "A URL to fetch (as a plain argument)"},
    {0, "url-file", "FILE", O_URL_FILE, "Read URLs from FILE, one per line ('-': stdin)"},
    {'u', "user", "USER:PASSWORD", O_USER, "Basic authentication (Digest with --digest)"},
    {'A', "user-agent", "NAME", O_USER_AGENT, "User-Agent to send (\"\" sends none)"},
    {'v', "verbose", NULL, O_VERBOSE, "Show the request and response headers on stderr"},
    {'V', "version", NULL, O_VERSION, "Show the version and the libraries, and exit"},
    {'w', "write-out", "FORMAT", O_WRITE_OUT,
     "Write FORMAT after each transfer (@FILE: from a file)"},
};
#define NOPTIONS (sizeof options / sizeof options[0])

static int by_long_name(const void *a, const void *b) {
  return strcmp((*(const cli_option *const *)a)->long_name,
                (*(const cli_option *const *)b)->long_name);
}

void cli_print_help(FILE *out) {
  fputs("Usage: flurry [options...] URL [URL...]\n"
        "Fetch every URL over HTTP/1.1 or HTTP/2, concurrently; options and exit codes are "
        "curl's.\n\n",
        out);
  /* this table, options_more.c's and opts_more.c's, merged by long name */
  size_t nmore, npol, nall = NOPTIONS;
  const cli_option *more = cli_more_options(&nmore), *pol = cli_pol_options(&npol);
  const cli_option **all = cli_xrealloc(NULL, (NOPTIONS + nmore + npol) * sizeof *all);
  for (size_t i = 0; i < NOPTIONS; i++) all[i] = &options[i];
  for (size_t i = 0; i < nmore; i++) all[nall++] = &more[i];
  for (size_t i = 0; i < npol; i++) all[nall++] = &pol[i];
  qsort(all, nall, sizeof *all, by_long_name);
  for (size_t i = 0; i < nall; i++) {
    const cli_option *o = all[i];
    char left[64];
    if (o->short_name)
      snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->long_name, o->arg ? " " : "",
               o->arg ? o->arg : "");
    else
      snprintf(left, sizeof left, "    --%s%s%s", o->long_name, o->arg ? " " : "",
               o->arg ? o->arg : "");
    if (strlen(left) > 30)
      fprintf(out, " %s\n %-30s %s\n", left, "", o->help);
    else
      fprintf(out, " %-30s %s\n", left, o->help);
  }
  fputs("\n-w variables (curl 7.88's): %{http_code} %{response_code} %{http_version}\n"
        "  %{content_type} %{num_headers} %{header_json} %{size_download} %{size_upload}\n"
        "  %{size_header} %{size_request} %{speed_download} %{speed_upload} %{method}\n"
        "  %{num_redirects} %{redirect_url} %{num_connects} %{url} %{url_effective} %{urlnum}\n"
        "  %{scheme} %{referer} %{filename_effective} %{remote_ip} %{remote_port}\n"
        "  %{time_namelookup} %{time_connect} %{time_appconnect} %{time_pretransfer}\n"
        "  %{time_redirect} %{time_starttransfer} %{time_total} %{exitcode} %{errormsg}\n"
        "  %{ssl_verify_result} %{http_connect} %{json} %{onerror} %header{NAME}\n"
        "  %{stdout} %{stderr}; \\n \\r \\t \\\\ %%\n"
        "See flurry(1).\n",
        out);
  free(all);
}

void cli_print_version(FILE *out) {
  fprintf(out, "flurry %s (%s)\n", fl_version(), fl_version_details());
  fputs("Protocols: http https\n"
        "Features: AsynchDNS HTTP2 IPv6 Largefile SSL libz brotli zstd cookies proxy\n",
        out);
}

/* ------------------------------------------------------------- values */

static int usage_error(const char *opt, const char *what) {
  cli_msg("option %s: %s", opt, what);
  cli_msg("try 'flurry --help' for more information");
  return CLI_EXIT_USAGE;
}

/* Seconds, fractions allowed, as milliseconds-friendly double. */
static int parse_seconds(const char *opt, const char *s, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end || errno || !isfinite(v) || v < 0 || v > 4294967.0)
    return usage_error(opt, "expected a proper numerical parameter");
  *out = v;
  return -1;
}

static int parse_long(const char *opt, const char *s, long min, long max, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (end == s || *end || errno || v < min || v > max)
    return usage_error(opt, "expected a proper numerical parameter");
  *out = v;
  return -1;
}

/* Bytes with an optional k, M or G suffix (powers of 1024). */
static int parse_size(const char *opt, const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  if (*s == '-') return usage_error(opt, "expected a proper numerical parameter");
  unsigned long long v = strtoull(s, &end, 10);
  unsigned shift = 0;
  switch (*end) {
  case 'k':
  case 'K':
    shift = 10;
    end++;
    break;
  case 'm':
  case 'M':
    shift = 20;
    end++;
    break;
  case 'g':
  case 'G':
    shift = 30;
    end++;
    break;
  default: break;
  }
  if (end == s || *end || errno || v > (UINT64_MAX >> shift))
    return usage_error(opt, "expected a proper numerical parameter");
  *out = (uint64_t)v << shift;
  return -1;
}

/* HOST:PORT:ADDR[,ADDR...]; HOST and ADDR may be [bracketed] IPv6. */
static int check_resolve(const char *opt, const char *s) {
  const char *p = s;
  if (*p == '[') p = strchr(p, ']');
  p = p ? strchr(p, ':') : NULL;
  if (!p || p == s) return usage_error(opt, "expected HOST:PORT:ADDR[,ADDR...]");
  char *end;
  long port = strtol(p + 1, &end, 10);
  if (end == p + 1 || *end != ':' || port < 1 || port > 65535 || !end[1])
    return usage_error(opt, "expected HOST:PORT:ADDR[,ADDR...]");
  return -1;
}

/* --tls-max: curl's version names. */
static int parse_tls_max(cli_config *cfg, const char *opt, const char *s) {
  static const struct {
    const char *name;
    int version;
  } names[] = {{"default", 0},
               {"1.0", FL_TLS_1_0},
               {"1.1", FL_TLS_1_1},
               {"1.2", FL_TLS_1_2},
               {"1.3", FL_TLS_1_3}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(s, names[i].name) == 0) {
      cfg->tls_max = names[i].version;
      return -1;
    }
  return usage_error(opt, "is badly used here");
}

/* -H "Name: value", "Name:" (remove), "Name;" (empty value). */
static int add_header_line(cli_config *cfg, const char *opt, const char *line) {
  size_t len = strlen(line);
  while (len && (line[len - 1] == '\r' || line[len - 1] == '\n')) len--;
  if (!len) return -1;
  const char *colon = memchr(line, ':', len);
  const char *semi = memchr(line, ';', len);
  cli_header h = {0};
  if (colon && colon > line) {
    h.name = cli_strndup(line, (size_t)(colon - line));
    const char *v = colon + 1;
    while (*v == ' ' || *v == '\t') v++;
    size_t vlen = len - (size_t)(v - line);
    while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t')) vlen--;
    h.value = vlen ? cli_strndup(v, vlen) : NULL;
  } else if (semi && semi > line && semi == line + len - 1) {
    h.name = cli_strndup(line, (size_t)(semi - line));
    h.value = cli_strdup("");
  } else {
    return usage_error(opt, "expected \"NAME: VALUE\"");
  }
  cfg->headers = cli_xrealloc(cfg->headers, (cfg->nheaders + 1) * sizeof *cfg->headers);
  cfg->headers[cfg->nheaders++] = h;
  return -1;
}

/* --rate N/U: N transfers per second, minute, hour or day (curl's default
 * unit: the hour). */
static int parse_rate(const char *opt, const char *s, double *out) {
  char *end;
  errno = 0;
  long long n = strtoll(s, &end, 10);
  double unit = 3600;
  if (end == s || errno || n < 1) return usage_error(opt, "expected N[/s|/m|/h|/d], N >= 1");
  if (*end == '/') {
    switch (end[1]) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: return usage_error(opt, "expected N[/s|/m|/h|/d], N >= 1");
    }
    end += 2;
  }
  if (*end) return usage_error(opt, "expected N[/s|/m|/h|/d], N >= 1");
  *out = (double)n / unit;
  return -1;
}

/* -E FILE[:PASSWORD]; "\:" is a colon in the file name. */
static void set_cert(cli_config *cfg, const char *arg) {
  cli_buf file = {0};
  const char *p = arg;
  for (; *p && *p != ':'; p++) {
    if (p[0] == '\\' && p[1] == ':') p++;
    cli_buf_addc(&file, *p);
  }
  free(cfg->cert);
  free(cfg->cert_password);
  cfg->cert = file.data ? file.data : cli_strdup("");
  cfg->cert_password = *p == ':' ? cli_strdup(p + 1) : NULL;
}

static void add_url(cli_config *cfg, const char *url) {
  cfg->urls = cli_xrealloc(cfg->urls, (cfg->nurls + 1) * sizeof *cfg->urls);
  cfg->urls[cfg->nurls++] = (cli_url){.url = cli_strdup(url)};
}

/* One URL per line; blank lines and lines starting with '#' are skipped. */
static int read_url_file(cli_config *cfg, const char *path) {
  cli_buf b = {0};
  if (cli_read_file(path, &b)) {
    cli_msg("--url-file %s: %s", path, strerror(errno));
    cli_buf_free(&b);
    return CLI_EXIT_READ;
  }
  for (char *line = b.data; line && *line;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    while (*line == ' ' || *line == '\t') line++;
    size_t n = strlen(line);
    while (n && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
      line[--n] = '\0';
    if (n && *line != '#') add_url(cfg, line);
    line = nl ? nl + 1 : NULL;
  }
  cli_buf_free(&b);
  return -1;
}

static void push_str(char ***list, size_t *n, const char *s) {
  *list = cli_xrealloc(*list, (*n + 2) * sizeof **list);
  (*list)[(*n)++] = cli_strdup(s);
  (*list)[*n] = NULL;
}

static void set_str(char **dst, const char *s) {
  free(*dst);
  *dst = cli_strdup(s);
}

/* Applies one option. Returns -1 to go on, or an exit code. */
static int apply(cli_config *cfg, const cli_option *o, const char *name, const char *arg, int on) {
  if (o->id >= CLI_POL_ID_BASE) return cli_pol_apply(cfg, o, name, arg, on);
  if (o->id >= CLI_MORE_ID_BASE) return cli_more_apply(cfg, o, name, arg, on);
  switch ((enum opt_id)o->id) {
  case O_CACERT: set_str(&cfg->cacert, arg); break;
  case O_CAPATH: set_str(&cfg->capath, arg); break;
  case O_CERT: set_cert(cfg, arg); break;
  case O_CERT_TYPE: set_str(&cfg->cert_type, arg); break;
  case O_CONTINUE_AT:
    cfg->resume = 1;
    cfg->resume_auto = strcmp(arg, "-") == 0;
    cfg->resume_from = 0;
    return cfg->resume_auto ? -1 : parse_size(name, arg, &cfg->resume_from);
  case O_CREATE_DIRS: cfg->create_dirs = on; break;
  case O_DUMP_HEADER: set_str(&cfg->dump_header, arg); break;
  case O_KEY: set_str(&cfg->key, arg); break;
  case O_KEY_TYPE: set_str(&cfg->key_type, arg); break;
  case O_RANGE: set_str(&cfg->range, arg); break;
  case O_RATE: return parse_rate(name, arg, &cfg->rate);
  case O_RETRY: return parse_long(name, arg, 0, 1000000000L, &cfg->retry.count);
  case O_RETRY_ALL_ERRORS: cfg->retry.all_errors = on; break;
  case O_RETRY_CONNREFUSED: cfg->retry.connrefused = on; break;
  case O_RETRY_DELAY: return parse_seconds(name, arg, &cfg->retry.delay);
  case O_RETRY_MAX_TIME: return parse_seconds(name, arg, &cfg->retry.max_time);
  case O_UPLOAD_FILE: push_str(&cfg->uploads, &cfg->nuploads, arg); break;
  case O_COOKIE: push_str(&cfg->cookies, &cfg->ncookies, arg); break;
  case O_COOKIE_JAR: set_str(&cfg->cookie_jar, arg); break;
  case O_COMPRESSED: cfg->compressed = on; break;
  case O_CONNECT_TIMEOUT: return parse_seconds(name, arg, &cfg->connect_timeout);
  case O_EXPECT100_TIMEOUT: return parse_seconds(name, arg, &cfg->expect100_timeout);
  case O_DATA:
  case O_DATA_BINARY:
  case O_DATA_RAW:
  case O_DATA_URLENCODE: {
    static const cli_data_kind kinds[] = {[O_DATA] = CLI_DATA_ASCII,
                                          [O_DATA_BINARY] = CLI_DATA_BINARY,
                                          [O_DATA_RAW] = CLI_DATA_RAW,
                                          [O_DATA_URLENCODE] = CLI_DATA_URLENCODE};
    cfg->data = cli_xrealloc(cfg->data, (cfg->ndata + 1) * sizeof *cfg->data);
    cfg->data[cfg->ndata++] = (cli_data){.kind = kinds[o->id], .arg = cli_strdup(arg)};
    break;
  }
  case O_DNS_SERVERS: set_str(&cfg->dns_servers, arg); break;
  case O_REFERER:
    set_str(&cfg->referer, arg);
    cfg->referer_set = 1;
    break;
  case O_FAIL: cfg->fail = on; break;
  case O_FORM: push_str(&cfg->forms, &cfg->nforms, arg); break;
  case O_GET: cfg->get = on; break;
  case O_HEADER:
    if (arg[0] == '@') {
      cli_buf b = {0};
      if (cli_read_file(arg + 1, &b)) {
        cli_msg("option %s: %s: %s", name, arg + 1, strerror(errno));
        cli_buf_free(&b);
        return CLI_EXIT_READ;
      }
      int rc = -1;
      for (char *line = b.data; rc < 0 && line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        rc = add_header_line(cfg, name, line);
        line = nl ? nl + 1 : NULL;
      }
      cli_buf_free(&b);
      return rc;
    }
    return add_header_line(cfg, name, arg);
  case O_HELP: cli_print_help(stdout); return CLI_EXIT_OK;
  case O_HEAD: cfg->head = on; break;
  case O_INCLUDE: cfg->include = on; break;
  case O_INSECURE: cfg->insecure = on; break;
  case O_LOCATION: cfg->location = on; break;
  case O_MAX_FILESIZE: return parse_size(name, arg, &cfg->max_filesize);
  case O_MAX_REDIRS: {
    long v;
    int rc = parse_long(name, arg, -1, 1000000, &v);
    if (rc < 0) cfg->max_redirs = (int)v;
    return rc;
  }
  case O_MAX_TIME: return parse_seconds(name, arg, &cfg->max_time);
  case O_OUTPUT:
  case O_REMOTE_NAME:
    cfg->outs = cli_xrealloc(cfg->outs, (cfg->nouts + 1) * sizeof *cfg->outs);
    cfg->outs[cfg->nouts++] = (cli_outspec){.file = o->id == O_OUTPUT ? cli_strdup(arg) : NULL};
    break;
  case O_PARALLEL: cfg->parallel = on; break;
  case O_PARALLEL_MAX: return parse_long(name, arg, 1, 65536, &cfg->parallel_max);
  case O_PROXY: set_str(&cfg->proxy, arg); break;
  case O_PROXY_DIGEST: cfg->proxy_digest = on; break;
  case O_PROXY_USER: set_str(&cfg->proxy_user, arg); break;
  case O_DIGEST: cfg->digest = on; break;
  case O_SOCKS4:
  case O_SOCKS4A:
  case O_SOCKS5:
  case O_SOCKS5_HOSTNAME: {
    /* As curl: the same as -x with that scheme (the last of them wins). */
    static const char *const schemes[] = {[O_SOCKS4] = "socks4",
                                          [O_SOCKS4A] = "socks4a",
                                          [O_SOCKS5] = "socks5",
                                          [O_SOCKS5_HOSTNAME] = "socks5h"};
    const char *sep = strstr(arg, "://");
    cli_buf b = {0};
    cli_buf_printf(&b, "%s://%s", schemes[o->id], sep ? sep + 3 : arg);
    free(cfg->proxy);
    cfg->proxy = b.data;
    break;
  }
  case O_REQUEST: set_str(&cfg->method, arg); break;
  case O_RESOLVE: {
    int rc = check_resolve(name, arg);
    if (rc < 0) push_str(&cfg->resolve, &cfg->nresolve, arg);
    return rc;
  }
  case O_SHOW_ERROR: cfg->show_error = on; break;
  case O_SILENT: cfg->silent = on; break;
  case O_URL: add_url(cfg, arg); break;
  case O_URL_FILE: return read_url_file(cfg, arg);
  case O_USER: set_str(&cfg->user, arg); break;
  case O_USER_AGENT:
    set_str(&cfg->user_agent, arg);
    cfg->user_agent_set = 1;
    break;
  case O_VERBOSE: cfg->verbose = on; break;
  case O_VERSION: cli_print_version(stdout); return CLI_EXIT_OK;
  case O_CIPHERS: set_str(&cfg->ciphers, arg); break;
  case O_PINNEDPUBKEY: set_str(&cfg->pinnedpubkey, arg); break;
  case O_TLS13_CIPHERS: set_str(&cfg->tls13_ciphers, arg); break;
  case O_TLS_MAX: return parse_tls_max(cfg, name, arg);
  case O_TLSV1_2:
  case O_TLSV1_3:
    if (!on) return usage_error(name, "used '--no-' for option that isn't a boolean");
    cfg->tls_min = o->id == O_TLSV1_2 ? FL_TLS_1_2 : FL_TLS_1_3;
    break;
  case O_HTTP1_0:
  case O_HTTP1_1:
  case O_HTTP2:
  case O_HTTP2_PRIOR_KNOWLEDGE: {
    /* As curl: the last one wins; --no-http2 and the like go back to the
     * default (h2 over TLS when the server agrees). */
    static const int versions[] = {[O_HTTP1_0] = FL_HTTP_VERSION_1_0,
                                   [O_HTTP1_1] = FL_HTTP_VERSION_1_1,
                                   [O_HTTP2] = FL_HTTP_VERSION_2TLS,
                                   [O_HTTP2_PRIOR_KNOWLEDGE] = FL_HTTP_VERSION_2_PRIOR_KNOWLEDGE};
    cfg->http_version = on ? versions[o->id] : FL_HTTP_VERSION_DEFAULT;
    break;
  }
  case O_WRITE_OUT:
    if (arg[0] == '@') {
      cli_buf b = {0};
      if (cli_read_file(arg + 1, &b)) {
        cli_msg("option %s: %s: %s", name, arg + 1, strerror(errno));
        cli_buf_free(&b);
        return CLI_EXIT_READ;
      }
      free(cfg->writeout);
      cfg->writeout = b.data;
    } else {
      set_str(&cfg->writeout, arg);
    }
    break;
  }
  return -1;
}

static const cli_option *find_long(const char *name) {
  for (size_t i = 0; i < NOPTIONS; i++)
    if (strcmp(options[i].long_name, name) == 0) return &options[i];
  const cli_option *o = cli_more_find(name, 0);
  return o ? o : cli_pol_find(name, 0);
}

static const cli_option *find_short(char c) {
  for (size_t i = 0; i < NOPTIONS; i++)
    if (options[i].short_name == c) return &options[i];
  const cli_option *o = cli_more_find(NULL, c);
  return o ? o : cli_pol_find(NULL, c);
}

static int unknown(const char *word) {
  cli_msg("option %s: is unknown", word);
  cli_msg("try 'flurry --help' for more information");
  return CLI_EXIT_USAGE;
}

int cli_apply_option(cli_config *cfg, const char *name, const char *arg) {
  const cli_option *o;
  int on = 1;
  if (name[0] == '-' && name[1] && name[1] != '-' && !name[2]) {
    o = find_short(name[1]);
  } else {
    const char *n = name[0] == '-' && name[1] == '-' ? name + 2 : name;
    o = find_long(n);
    if (!o && strncmp(n, "no-", 3) == 0 && (o = find_long(n + 3)) != NULL && !o->arg) on = 0;
  }
  if (!o || (!on && o->arg)) return CLI_OPT_UNKNOWN;
  if (o->arg && !arg) return CLI_OPT_NEEDS_ARG;
  char word[64];
  snprintf(word, sizeof word, "%s%s", name[0] == '-' ? "" : "--", name);
  return apply(cfg, o, word, o->arg ? arg : NULL, on);
}

static void config_defaults(cli_config *cfg) {
  cfg->max_redirs = 50;
  cfg->parallel_max = 50;
}

static int check_config(cli_config *cfg);

int cli_parse_args(int argc, char **argv, cli_config *cfg) {
  config_defaults(cfg);
  cli_config *first = cfg;
  int only_urls = 0;
  /* ~/.curlrc first, unless -q (--disable) is the first argument, as curl */
  if (!(argc > 1 && (strcmp(argv[1], "-q") == 0 || strcmp(argv[1], "--disable") == 0))) {
    int rc = cli_config_default(cfg);
    if (rc >= 0) return rc;
  }
  for (int i = 1; i < argc; i++) {
    const char *w = argv[i];
    int rc = -1;
    if (i == 1 && (strcmp(w, "-q") == 0 || strcmp(w, "--disable") == 0)) continue;
    if (only_urls || w[0] != '-' || !w[1]) {
      add_url(cfg, w);
    } else if (strcmp(w, "--") == 0) {
      only_urls = 1;
    } else if (w[1] == '-') {
      const char *name = w + 2;
      const cli_option *o = find_long(name);
      int on = 1;
      if (!o && strncmp(name, "no-", 3) == 0) {
        o = find_long(name + 3);
        if (!o || o->arg) return unknown(w);
        on = 0;
      }
      if (!o) return unknown(w);
      const char *arg = NULL;
      if (o->arg) {
        if (i + 1 >= argc) return usage_error(w, "requires parameter");
        arg = argv[++i];
      }
      rc = apply(cfg, o, w, arg, on);
    } else {
      for (const char *p = w + 1; *p && rc < 0; p++) {
        char name[3] = {'-', *p, '\0'};
        const cli_option *o = find_short(*p);
        if (!o) return unknown(name);
        if (!o->arg) {
          rc = apply(cfg, o, name, NULL, 1);
          continue;
        }
        const char *arg = p[1] ? p + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!arg) return usage_error(name, "requires parameter");
        rc = apply(cfg, o, name, arg, 1);
        break;
      }
    }
    if (rc == CLI_OPT_NEXT) { /* -: the options after it are a new set */
      rc = check_config(cfg);
      if (rc >= 0) return rc;
      cfg->next = cli_xrealloc(NULL, sizeof *cfg->next);
      memset(cfg->next, 0, sizeof *cfg->next);
      config_defaults(cfg->next);
      cli_more_inherit(cfg->next, cfg);
      cfg = cfg->next;
      continue;
    }
    if (rc >= 0) return rc;
  }
  (void)first;
  return check_config(cfg);
}

static int check_config(cli_config *cfg) {
  if (cfg->nurls == 0) {
    cli_msg("no URL specified");
    cli_msg("try 'flurry --help' for more information");
    return CLI_EXIT_USAGE;
  }
  if (cfg->nouts > cfg->nurls)
    cli_msg("warning: more -o/-O options than URLs; the rest are ignored");
  for (size_t i = 0; i < cfg->nouts && i < cfg->nurls; i++) {
    const char *file = cfg->outs[i].file;
    /* "-o -" is standard output, as curl's */
    cfg->urls[i].outfile = file && strcmp(file, "-") != 0 ? cli_strdup(file) : NULL;
    cfg->urls[i].remote_name = file == NULL;
  }
  if (cfg->proxy_user && cfg->proxy) cli_proxy_add_user(cfg);
  if (cfg->range) {
    /* As curl: "500" means "500-"; anything but digits, '-' and ',' is sent
     * as given, with a warning. */
    if (cfg->range[0] >= '0' && cfg->range[0] <= '9' && !strchr(cfg->range, '-')) {
      if (!cfg->silent)
        cli_msg("warning: a range must include a dash (-): using \"%s-\"", cfg->range);
      size_t n = strlen(cfg->range);
      cfg->range = cli_xrealloc(cfg->range, n + 2);
      memcpy(cfg->range + n, "-", 2);
    } else if (strspn(cfg->range, "0123456789-,") != strlen(cfg->range) && !cfg->silent) {
      cli_msg("warning: a range has only digits, '-' and ','; \"%s\" is sent as is", cfg->range);
    }
  }
  if (cfg->nuploads > cfg->nurls)
    cli_msg("warning: more -T options than URLs; the rest are ignored");
  for (size_t i = 0; i < cfg->nuploads && i < cfg->nurls; i++)
    cfg->urls[i].upload = cli_strdup(cfg->uploads[i]);
  if (cfg->nuploads && (cfg->ndata || cfg->nforms)) {
    cli_msg("you can only select one HTTP request method: -T (PUT) and %s (POST)",
            cfg->ndata ? "-d/--data" : "-F/--form");
    return CLI_EXIT_USAGE;
  }
  if (cfg->nuploads && cfg->head) {
    cli_msg("you can only select one HTTP request method: -T (PUT) and -I (HEAD)");
    return CLI_EXIT_USAGE;
  }
  if (cfg->nforms && cfg->ndata) {
    cli_msg("-F and -d/--data cannot be used together (only one request body)");
    return CLI_EXIT_USAGE;
  }
  if (cfg->head && (cfg->nforms || (cfg->ndata && !cfg->get))) {
    cli_msg("-I sends HEAD, which has no body: drop -d/-F (or use -G)");
    return CLI_EXIT_USAGE;
  }
  return cli_more_finish(cfg);
}

static void free_list(char **list, size_t n) {
  for (size_t i = 0; i < n; i++) free(list[i]);
  free(list);
}

void cli_config_free(cli_config *cfg) {
  if (cfg->next) {
    cli_config_free(cfg->next);
    free(cfg->next);
  }
  cli_more_free(&cfg->more);
  free(cfg->method);
  for (size_t i = 0; i < cfg->nheaders; i++) {
    free(cfg->headers[i].name);
    free(cfg->headers[i].value);
  }
  free(cfg->headers);
  for (size_t i = 0; i < cfg->ndata; i++) free(cfg->data[i].arg);
  free(cfg->data);
  free_list(cfg->forms, cfg->nforms);
  for (size_t i = 0; i < cfg->nurls; i++) {
    free(cfg->urls[i].url);
    free(cfg->urls[i].outfile);
    free(cfg->urls[i].upload);
  }
  free(cfg->urls);
  for (size_t i = 0; i < cfg->nouts; i++) free(cfg->outs[i].file);
  free(cfg->outs);
  free(cfg->cacert);
  free(cfg->proxy);
  free(cfg->proxy_user);
  free(cfg->user);
  free(cfg->user_agent);
  free(cfg->referer);
  free_list(cfg->cookies, cfg->ncookies);
  free(cfg->cookie_jar);
  free_list(cfg->resolve, cfg->nresolve);
  free(cfg->dns_servers);
  free(cfg->writeout);
  free_list(cfg->uploads, cfg->nuploads);
  free(cfg->dump_header);
  free(cfg->range);
  free(cfg->cert);
  free(cfg->cert_password);
  free(cfg->key);
  free(cfg->cert_type);
  free(cfg->key_type);
  free(cfg->capath);
  free(cfg->ciphers);
  free(cfg->tls13_ciphers);
  free(cfg->pinnedpubkey);
  cli_pol_free(&cfg->pol);
  memset(cfg, 0, sizeof *cfg);
}
