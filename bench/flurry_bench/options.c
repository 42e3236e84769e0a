/* Command line: wrk's options and number formats, plus flurry-bench's own. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flb.h"
#include "flurry.h"

static const char usage_text[] =
    "Usage: flurry-bench <options> <url>\n"
    "  Options (as wrk's):\n"
    "    -c, --connections <N>  Connections to keep open (default 10)\n"
    "    -d, --duration    <T>  Duration of test (default 10s; none with -n)\n"
    "    -t, --threads     <N>  Number of threads to use (default 2)\n"
    "    -H, --header      <H>  Add header to request (\"Name: value\"), repeatable\n"
    "    -L, --latency          Print latency statistics\n"
    "    -T, --timeout     <T>  Per-request timeout, counted as a timeout error\n"
    "                           (default 2s; 0 = none)\n"
    "    -s, --script      <S>  Load Lua script file (wrk's API; arguments after \"--\"\n"
    "                           go to init(args))\n"
    "    -v, --version          Print version details\n"
    "  More:\n"
    "    -n, --requests    <N>  Stop after N requests in total (responses + errors)\n"
    "    -R, --rate        <N>  Constant rate, requests/s in total; latency counts\n"
    "                           from each request's intended send time (as wrk2)\n"
    "        --warmup      <T>  Run this long before measuring\n"
    "        --json             One JSON summary on stdout instead of the text\n"
    "        --pipeline    <N>  HTTP/1.1 pipelining: N requests in flight per connection (GET/HEAD)\n"
    "    -X, --method      <M>  Request method (default GET; POST with a body)\n"
    "        --body        <B>  Request body\n"
    "        --body-file   <F>  Request body from a file\n"
    "        --urls        <F>  URLs from a file, one per line, instead of <url>: each\n"
    "                           request takes the next one (any origins, one pool)\n"
    "    -k, --insecure         Do not verify TLS certificates (https)\n"
    "        --cacert   <FILE>  Trust the CA certificates in FILE (https)\n"
    "        --h2               HTTP/2 (as h2load): h2 by ALPN over TLS, required;\n"
    "                           on http:// h2c by prior knowledge\n"
    "        --h2c              HTTP/2 by prior knowledge on an http:// URL (h2c)\n"
    "    -m, --max-concurrent-streams <N>  HTTP/2 streams in flight per connection\n"
    "                           (-c connections times N in all; default 1, as h2load)\n"
    "  WebSocket (ws:// or wss:// URL):\n"
    "        --ws-message  <S>  Each connection upgrades once, then sends S-byte\n"
    "                           messages one at a time and times each echo; the\n"
    "                           report's requests are echoed messages\n"
    "        --ws-binary        Binary messages (default: text)\n"
    "        --no-compress      Do not offer permessage-deflate (offered by default;\n"
    "                           used when the server agrees)\n"
    "        --hooks            Record every client event (fl_client_set_hooks) into a\n"
    "                           ring buffer: what tracing costs\n"
    "\n"
    "  Numeric arguments may include a SI unit (1k, 1M, 1G)\n"
    "  Time arguments may include a time unit (500ms, 2s, 2m, 2h; plain = s)\n"
    "\n"
    "  flurry-bench merge [--json] A.json B.json ...  one report of several --json runs\n";

enum {
  OPT_WARMUP = 256,
  OPT_JSON,
  OPT_PIPELINE,
  OPT_CACERT,
  OPT_BODY,
  OPT_BODY_FILE,
  OPT_URLS,
  OPT_H2,
  OPT_H2C,
  OPT_WS_MESSAGE,
  OPT_WS_BINARY,
  OPT_NO_COMPRESS,
  OPT_HOOKS
};

static const struct option longopts[] = {
    {"connections", required_argument, NULL, 'c'},
    {"duration", required_argument, NULL, 'd'},
    {"threads", required_argument, NULL, 't'},
    {"header", required_argument, NULL, 'H'},
    {"latency", no_argument, NULL, 'L'},
    {"timeout", required_argument, NULL, 'T'},
    {"requests", required_argument, NULL, 'n'},
    {"rate", required_argument, NULL, 'R'},
    {"method", required_argument, NULL, 'X'},
    {"insecure", no_argument, NULL, 'k'},
    {"script", required_argument, NULL, 's'},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"json", no_argument, NULL, OPT_JSON},
    {"pipeline", required_argument, NULL, OPT_PIPELINE},
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"body", required_argument, NULL, OPT_BODY},
    {"body-file", required_argument, NULL, OPT_BODY_FILE},
    {"urls", required_argument, NULL, OPT_URLS},
    {"h2", no_argument, NULL, OPT_H2},
    {"h2c", no_argument, NULL, OPT_H2C},
    {"hooks", no_argument, NULL, OPT_HOOKS},
    {"max-concurrent-streams", required_argument, NULL, 'm'},
    {"ws-message", required_argument, NULL, OPT_WS_MESSAGE},
    {"ws-binary", no_argument, NULL, OPT_WS_BINARY},
    {"no-compress", no_argument, NULL, OPT_NO_COMPRESS},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'v'},
    {NULL, 0, NULL, 0},
};

/* "100", "10k", "1.5M": a non-negative integer with an optional SI factor. */
static int scan_metric(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || errno || !(v >= 0)) return -1;
  if (*end) {
    static const char units[] = "kmg";
    const char *u = strchr(units, (char)(*end | 0x20));
    if (!u || end[1]) return -1;
    v *= pow(1000, (double)(u - units + 1));
  }
  if (v != floor(v) || v > 1e18) return -1;
  *out = (uint64_t)v;
  return 0;
}

/* "10" (seconds), "10s", "500ms", "250us", "2m", "1h" -> microseconds. */
static int scan_time(const char *s, uint64_t *out_us) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || errno || !(v >= 0)) return -1;
  double scale;
  if (!*end || !strcasecmp(end, "s"))
    scale = 1e6;
  else if (!strcasecmp(end, "ms"))
    scale = 1e3;
  else if (!strcasecmp(end, "us"))
    scale = 1;
  else if (!strcasecmp(end, "m"))
    scale = 60e6;
  else if (!strcasecmp(end, "h"))
    scale = 3600e6;
  else
    return -1;
  v *= scale;
  if (v > 1e15) return -1;
  *out_us = (uint64_t)llround(v);
  return 0;
}

/* "Name: value" -> header; the name must be non-empty token characters. */
static int add_header(flb_config *cfg, const char *arg) {
  const char *colon = strchr(arg, ':');
  if (!colon || colon == arg) return -1;
  size_t n = (size_t)(colon - arg);
  while (n && (arg[n - 1] == ' ' || arg[n - 1] == '\t')) n--;
  if (!n) return -1;
  const char *value = colon + 1;
  while (*value == ' ' || *value == '\t') value++;
  size_t vlen = strlen(value);
  while (vlen && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t')) vlen--;
  flb_hdr *h = realloc(cfg->headers, (cfg->nheaders + 1) * sizeof *h);
  if (!h) return -1;
  cfg->headers = h;
  h[cfg->nheaders].name = strndup(arg, n);
  h[cfg->nheaders].value = strndup(value, vlen);
  cfg->nheaders++;
  return h[cfg->nheaders - 1].name && h[cfg->nheaders - 1].value ? 0 : -1;
}

/* The whole file at path into a malloc'd buffer (NUL-terminated too). */
static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char *b = malloc(cap);
  while (b) {
    if (n + 1 >= cap) {
      char *nb = realloc(b, cap *= 2);
      if (!nb) break;
      b = nb;
    }
    size_t got = fread(b + n, 1, cap - n - 1, f);
    n += got;
    if (got == 0) {
      if (ferror(f)) break;
      fclose(f);
      b[n] = 0;
      *len = n;
      return b;
    }
  }
  free(b);
  fclose(f);
  return NULL;
}

/* --urls: one URL a line; blank lines and lines starting with # skipped. */
static int read_urls(flb_config *cfg, const char *path) {
  size_t len;
  char *text = slurp(path, &len);
  if (!text) return -1;
  for (char *line = text, *next; line < text + len; line = next) {
    char *nl = memchr(line, '\n', (size_t)(text + len - line));
    next = nl ? nl + 1 : text + len;
    char *end = nl ? nl : text + len;
    while (line < end && (*line == ' ' || *line == '\t')) line++;
    while (end > line && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t')) end--;
    if (line == end || *line == '#') continue;
    char **u = realloc(cfg->urls, (cfg->nurls + 1) * sizeof *u);
    if (!u || !(u[cfg->nurls] = strndup(line, (size_t)(end - line)))) {
      if (u) cfg->urls = u;
      free(text);
      return -1;
    }
    cfg->urls = u;
    cfg->nurls++;
  }
  free(text);
  return 0;
}

__attribute__((format(printf, 1, 2))) static int bad(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "flurry-bench: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n%s", usage_text);
  va_end(ap);
  return -1;
}

int flb_parse_args(flb_config *cfg, int argc, char **argv) {
  int duration_given = 0, c;
  const char *body_file = NULL, *body_text = NULL;
  memset(cfg, 0, sizeof *cfg);
  cfg->threads = 2;
  cfg->connections = 10;
  cfg->duration_us = 10 * 1000000ull;
  cfg->timeout_us = 2 * 1000000ull;
  cfg->method = "GET";
  cfg->http_version = FL_HTTP_VERSION_1_1; /* as wrk, whatever the server offers */
  cfg->ws_compress = 1;                    /* as fl_ws's default */
  int ws_flags = 0;

  opterr = 0;
  while ((c = getopt_long(argc, argv, ":c:d:t:H:LT:n:R:X:ks:m:hv", longopts, NULL)) != -1) {
    uint64_t n;
    switch (c) {
    case 'c':
      if (scan_metric(optarg, &cfg->connections)) return bad("bad connection count '%s'", optarg);
      break;
    case 'd':
      if (scan_time(optarg, &cfg->duration_us)) return bad("bad duration '%s'", optarg);
      duration_given = 1;
      break;
    case 't':
      if (scan_metric(optarg, &cfg->threads)) return bad("bad thread count '%s'", optarg);
      break;
    case 'H':
      if (add_header(cfg, optarg)) return bad("bad header '%s' (want \"Name: value\")", optarg);
      break;
    case 'L': cfg->latency = 1; break;
    case 'T':
      if (scan_time(optarg, &cfg->timeout_us)) return bad("bad timeout '%s'", optarg);
      break;
    case 'n':
      if (scan_metric(optarg, &cfg->requests) || !cfg->requests)
        return bad("bad request count '%s'", optarg);
      break;
    case 'R':
      if (scan_metric(optarg, &n) || !n) return bad("bad rate '%s'", optarg);
      cfg->rate = (double)n;
      break;
    case 'X':
      cfg->method = optarg;
      cfg->method_given = 1;
      break;
    case 'k': cfg->insecure = 1; break;
    case 's': cfg->script = optarg; break;
    case OPT_BODY:
      body_text = optarg;
      body_file = NULL;
      break;
    case OPT_BODY_FILE:
      body_file = optarg;
      body_text = NULL;
      break;
    case OPT_URLS: cfg->urls_file = optarg; break;
    case OPT_WARMUP:
      if (scan_time(optarg, &cfg->warmup_us)) return bad("bad warmup '%s'", optarg);
      break;
    case OPT_JSON: cfg->json = 1; break;
    case OPT_PIPELINE:
      if (scan_metric(optarg, &cfg->pipeline) || !cfg->pipeline)
        return bad("bad pipeline depth '%s'", optarg);
      break;
    case OPT_CACERT: cfg->cacert = optarg; break;
    case OPT_H2: cfg->http_version = FL_HTTP_VERSION_2_ONLY; break;
    case OPT_H2C: cfg->http_version = FL_HTTP_VERSION_2_PRIOR_KNOWLEDGE; break;
    case OPT_HOOKS: cfg->hooks = 1; break;
    case 'm':
      if (scan_metric(optarg, &cfg->streams) || !cfg->streams || cfg->streams > 1u << 20)
        return bad("bad stream count '%s'", optarg);
      break;
    case OPT_WS_MESSAGE:
      /* 0 is a valid (empty) message; the cap keeps one message per
       * connection in memory reasonable */
      if (scan_metric(optarg, &cfg->ws_message) || cfg->ws_message > (1u << 30))
        return bad("bad WebSocket message size '%s' (0 to 1G bytes)", optarg);
      cfg->ws = 1;
      break;
    case OPT_WS_BINARY:
      cfg->ws_binary = 1;
      ws_flags = 1;
      break;
    case OPT_NO_COMPRESS:
      cfg->ws_compress = 0;
      ws_flags = 1;
      break;
    case 'h': fputs(usage_text, stdout); return 1;
    case 'v':
#ifdef FLB_HAVE_LUA
      printf("flurry-bench %s [%s] +lua\n", fl_version(), fl_version_details());
#else
      printf("flurry-bench %s [%s] -lua\n", fl_version(), fl_version_details());
#endif
      return 1;
    case ':': return bad("option %s needs a value", argv[optind - 1]);
    default: return bad("unknown option %s", argv[optind - 1]);
    }
  }
  if (ws_flags && !cfg->ws) return bad("%s", "--ws-binary and --no-compress need --ws-message");
  if (cfg->ws) {
    const char *other = cfg->urls_file                             ? "--urls"
                        : cfg->script                              ? "-s"
                        : cfg->rate > 0                            ? "-R"
                        : cfg->pipeline                            ? "--pipeline"
                        : cfg->streams                             ? "-m"
                        : cfg->http_version != FL_HTTP_VERSION_1_1 ? "--h2/--h2c"
                        : body_text || body_file                   ? "--body"
                        : cfg->method_given                        ? "-X"
                                                                   : NULL;
    if (other) return bad("%s does not go with --ws-message", other);
  }
  if (cfg->urls_file) {
    if (optind < argc) return bad("%s", "a URL and --urls: give one or the other");
    if (cfg->script)
      return bad("%s", "--urls and -s do not go together (a script chooses its paths)");
    if (read_urls(cfg, cfg->urls_file))
      return bad("%s: %s", cfg->urls_file, strerror(errno ? errno : ENOMEM));
    if (!cfg->nurls) return bad("%s: no URLs in it", cfg->urls_file);
    cfg->url = cfg->urls[0];
  } else {
    if (optind >= argc) return bad("%s", "no URL given");
    /* Arguments after the URL: the script's (wrk takes them after "--"). */
    if (optind != argc - 1 && !cfg->script) return bad("%s", "more than one URL");
    cfg->url = argv[optind];
    cfg->script_args = &argv[optind];
    cfg->nscript_args = argc - optind;
  }
  if (body_text) {
    cfg->body_len = strlen(body_text);
    cfg->body = strdup(body_text);
    if (!cfg->body) return bad("%s", "out of memory");
  } else if (body_file) {
    cfg->body = slurp(body_file, &cfg->body_len);
    if (!cfg->body) return bad("--body-file %s: %s", body_file, strerror(errno ? errno : ENOMEM));
  }
  if (cfg->body && !cfg->method_given) cfg->method = "POST";
  if (!cfg->threads) return bad("%s", "need at least one thread");
  if (!cfg->connections || cfg->connections < cfg->threads)
    return bad("%s", "number of connections must be >= threads");
  int h2 = cfg->http_version != FL_HTTP_VERSION_1_1;
  if (cfg->streams && !h2)
    return bad("%s", "-m is for HTTP/2 (--h2 or --h2c); HTTP/1.1 has --pipeline");
  if (h2 && cfg->pipeline > 1)
    return bad("%s", "--pipeline is HTTP/1.1's; HTTP/2 has -m (streams per connection)");
  if (h2 && !cfg->streams) cfg->streams = 1;
  /* With -n and no -d the run ends when the count is reached. */
  if (cfg->requests && !duration_given) cfg->duration_us = 0;
  if (!cfg->requests && !cfg->duration_us) return bad("%s", "duration must be > 0");
  if (cfg->ws) {
    const char *u = cfg->url;
    char *check = fl_url_with_query(u, NULL, 0);
    int ok = check && (!strncasecmp(u, "ws://", 5) || !strncasecmp(u, "wss://", 6));
    free(check);
    if (!ok) {
      fprintf(stderr, "invalid URL: %s\n", u);
      return bad("%s", "--ws-message needs a ws:// or wss:// URL");
    }
    return 0;
  }
  for (uint64_t i = 0; i < (cfg->nurls ? cfg->nurls : 1); i++) {
    const char *u = cfg->nurls ? cfg->urls[i] : cfg->url;
    char *check = fl_url_with_query(u, NULL, 0);
    if (!check || (strncasecmp(u, "http://", 7) && strncasecmp(u, "https://", 8))) {
      free(check);
      fprintf(stderr, "invalid URL: %s\n", u);
      return bad("%s", "need an http:// or https:// URL");
    }
    free(check);
    if (cfg->http_version == FL_HTTP_VERSION_2_PRIOR_KNOWLEDGE && strncasecmp(u, "http://", 7))
      return bad("--h2c needs an http:// URL (%s): over TLS use --h2", u);
  }
  return 0;
}

void flb_config_free(flb_config *cfg) {
  for (uint64_t i = 0; i < cfg->nheaders; i++) {
    free(cfg->headers[i].name);
    free(cfg->headers[i].value);
  }
  free(cfg->headers);
  for (uint64_t i = 0; i < cfg->nurls; i++) free(cfg->urls[i]);
  free(cfg->urls);
  free(cfg->body);
  cfg->headers = NULL;
  cfg->urls = NULL;
  cfg->body = NULL;
  cfg->nheaders = cfg->nurls = 0;
}
