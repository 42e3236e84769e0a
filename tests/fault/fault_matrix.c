/* The fault matrix (tests/fault/cases.h): `fault_matrix NAME` runs one case.
 *
 * For the case: start the scripted fault server (with its DNS server, or as
 * TLS), make the request with the library and check the fl_ error (and that
 * a failure explains itself), make a second request on the same client
 * (must succeed), free everything and check no descriptor is left; then run
 * the CLI with the same request and check its exit code. A WebSocket case
 * also sends a plain request on the same client beside the upgrade, which
 * must complete whole while the WebSocket fails. With
 * FL_FAULT_CURL=1 it also runs curl (7.88 here) with the same arguments and
 * prints its exit code next to the expected one (information, not a check).
 *
 *   fault_matrix --list     the case names
 *
 * A watchdog ends the process (exit 1) if a case takes over 60 s, so a hang
 * is a failure, also for the expected-to-fail cases. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "flurry.h"
#include "test.h"

typedef struct fcase {
  const char *name;
  const char *xfail; /* why the case is expected to fail today */
  const char *raw;   /* bytes for /raw */
  size_t rawlen;
  const char *end; /* /raw: close (default), reset, keep, stall */
  const char *path;
  const char *host;
  const char *prelude;
  int err, cli, curl, curl_set;
  int follow, decompress, tls;
  uint32_t total_ms, first_byte_ms, read_ms;
  uint64_t max_filesize;
  uint32_t connect_ms, pool_ms; /* more timeouts (the CLI: --connect-timeout) */
  int blackhole;                /* the URL is a listener whose accept queue is full */
  const char *busy;             /* sent first, on a client of one connection */
  uint32_t retries;             /* retry policy: max_retries (the CLI: --retry) */
  uint32_t backoff_ms;          /* its backoff_base_ms, without jitter */
  int attempts;                 /* fl_info.attempts must be this (0: not checked) */
  uint32_t min_ms;              /* the library's request takes at least this long */
  int lib_only;                 /* the CLI has no equivalent option: not run */
  const char *body_lacks;       /* the final body must not contain this */
  const char *msg_lacks;        /* the library's error message must not contain this */
  const char *msg_has;          /* ... and must contain this */
  int err2, cli2;               /* another acceptable outcome, when two checks race (0: none) */
  int h2; /* the scripted HTTP/2 server (h2_server.py), spoken by prior knowledge (h2c) */
  /* A WebSocket (fl_ws_connect; the CLI: --ws with stdin left open) to this
   * path of the scripted WebSocket server (ws_raw_server.py): .err is the
   * open's error, or the close's when it opened (.code its close code);
   * .read_ms is the WebSocket's read timeout (the CLI: -m), .heartbeat_ms
   * its heartbeat. */
  const char *ws;
  uint32_t heartbeat_ms;
  int code;
} fcase;

#define RAW(s) .raw = (s), .rawlen = sizeof(s) - 1
#define CURL(n) .curl = (n), .curl_set = 1
#define CASE(n, ...) {.name = #n, __VA_ARGS__},
#define XFAIL(n, why, ...) {.name = #n, .xfail = why, __VA_ARGS__},
static const fcase cases[] = {
#include "cases.h"
};
#undef CASE
#undef XFAIL

static int port, dns_port, blackhole_port, ws_port;
static char base[64];

static void watchdog(int sig) {
  (void)sig;
  static const char msg[] = "fault_matrix: the case did not finish within 60 s (hang)\n";
  ssize_t w = write(2, msg, sizeof msg - 1);
  (void)w;
  _exit(1);
}

/* ---------------------------------------------------------------- the URL */

static void append(char *dst, size_t cap, const char *s) {
  size_t n = strlen(dst);
  snprintf(dst + n, cap - n, "%s", s);
}

static void percent_encode(char *dst, size_t cap, const char *s, size_t len) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = strlen(dst);
  for (size_t i = 0; i < len && n + 4 < cap; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~' || c == '/' || c == ':') {
      dst[n++] = (char)c;
    } else {
      dst[n++] = '%';
      dst[n++] = hex[c >> 4];
      dst[n++] = hex[c & 15];
    }
  }
  dst[n] = '\0';
}

/* The URL of the case (or of its prelude when path is given). */
static void case_url(const fcase *c, const char *path, char *url, size_t cap) {
  url[0] = '\0';
  if (c->host) {
    char host[600] = "";
    if (strcmp(c->host, "@502") == 0) {
      /* 8 labels of 61 bytes and "ok.test": 502 bytes, every label valid */
      for (int i = 0; i < 8; i++)
        append(host, sizeof host, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
      append(host, sizeof host, "ok.test");
    } else {
      snprintf(host, sizeof host, "%s", c->host);
    }
    snprintf(url, cap, "http://%s:%d%s", host, port, path ? path : "/ok");
    return;
  }
  if (c->blackhole && !path) {
    snprintf(url, cap, "http://127.0.0.1:%d/ok", blackhole_port);
    return;
  }
  snprintf(url, cap, "%s", base);
  if (path) {
    append(url, cap, path);
  } else if (c->raw) {
    append(url, cap, "/raw?b=");
    percent_encode(url, cap, c->raw, c->rawlen);
    append(url, cap, "&end=");
    append(url, cap, c->end ? c->end : "close");
  } else {
    append(url, cap, c->path);
  }
}

/* ------------------------------------------------------------ the library */

static fl_client *client_for(fl_loop *loop, const fcase *c) {
  fl_client_options o;
  fl_client_options_init(&o);
  o.follow_redirects = c->follow > 0;
  o.max_redirects = c->follow;
  o.decompress = c->decompress;
  o.max_filesize = c->max_filesize;
  if (c->busy) o.max_connections = 1;
  if (c->retries) {
    o.retry.max_retries = c->retries;
    o.retry.backoff_base_ms = c->backoff_ms;
    o.retry.jitter = 0;
  }
  if (c->tls) o.ca_file = fl_test_rundir_path("nginx_tls/ca.pem");
  if (c->h2) o.http_version = FL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
  char dns[64];
  if (c->host) {
    snprintf(dns, sizeof dns, "127.0.0.1:%d", dns_port);
    o.dns_servers = dns;
    o.dns_timeout_ms = 1000;
    o.dns_negative_ttl_ms = 0;
  }
  fl_client *cl = fl_client_new(loop, &o);
  CHECK(cl);
  return cl;
}

static long long now_ms(void);

static void busy_done(fl_request *req, int err, void *data) {
  (void)req;
  *(int *)data = err + 1; /* 1: succeeded */
}

/* ------------------------------------------------------- the WebSocket */

typedef struct wsr {
  int opened, open_err, closes, close_err, code;
} wsr;

static void ws_opened(fl_ws *ws, int err, void *data) {
  (void)ws;
  wsr *w = data;
  w->opened++;
  w->open_err = err;
}

static void ws_message(fl_ws *ws, int type, const char *p, size_t n, int flags, void *data) {
  (void)ws, (void)type, (void)p, (void)n, (void)flags, (void)data;
}

static void ws_closed(fl_ws *ws, int err, int code, const char *reason, void *data) {
  (void)ws, (void)reason;
  wsr *w = data;
  w->closes++;
  w->close_err = err;
  w->code = code;
}

static void ws_url(const fcase *c, char *url, size_t cap) {
  snprintf(url, cap, "ws://127.0.0.1:%d%s", ws_port, c->ws);
}

/* A plain request on the WebSocket's client, sent with the upgrade: the
 * fault server streams its 12 bytes over ~360 ms, so it is still on the
 * wire while most cases' WebSockets fail (within milliseconds, or by the
 * 300 ms read timeout or heartbeat). It must complete whole whatever the
 * WebSocket's end. Order is not asserted, only the outcome. */
#define WS_SIDE_PATH "/slow-body?n=12&ms=30"
#define WS_SIDE_LEN 12

static void side_done(fl_request *req, int err, void *data) {
  (void)req;
  *(int *)data = err + 1; /* 1: succeeded */
}

/* The WebSocket of the case: its open, then its end; callbacks once each;
 * meanwhile the plain request on the same client goes through. */
static void run_ws(const fcase *c, fl_loop *loop, fl_client *cl) {
  fl_ws_options o;
  fl_ws_options_init(&o);
  o.compress = 0;
  o.read_timeout_ms = c->read_ms;
  o.heartbeat_ms = c->heartbeat_ms;
  fl_ws *ws = fl_ws_new(&o);
  char url[512];
  ws_url(c, url, sizeof url);
  fl_request *req = fl_request_new("GET", url);
  CHECK(ws && req);
  wsr w = {0};
  fl_ws_on_message(ws, ws_message, &w); /* without one, a message waits for fl_ws_recv */
  fl_ws_on_close(ws, ws_closed, &w);
  CHECK_EQ_INT(fl_ws_connect(ws, cl, req, ws_opened, &w), 0);
  char side_url[512];
  case_url(c, WS_SIDE_PATH, side_url, sizeof side_url);
  fl_request *side = fl_request_new("GET", side_url);
  int side_result = 0;
  CHECK(side);
  CHECK_EQ_INT(fl_request_send(cl, side, side_done, &side_result), 0);
  while (!w.opened) fl_loop_run(loop, FL_RUN_ONCE);
  int err = w.open_err, code = 0;
  if (!err) {
    while (!w.closes) fl_loop_run(loop, FL_RUN_ONCE);
    err = w.close_err;
    code = w.code;
  }
  for (int i = 0; i < 3; i++) fl_loop_run(loop, FL_RUN_NOWAIT);
  if (w.opened != 1 || w.closes != (w.open_err ? 0 : 1)) {
    fprintf(stderr, "FAIL %s: open_cb %d times, close_cb %d times\n", c->name, w.opened, w.closes);
    exit(1);
  }
  printf("library: %s, close code %d (%s)\n", err ? fl_err_name(err) : "closed cleanly", code,
         fl_ws_errmsg(ws));
  if ((err != c->err && !(c->err2 && err == c->err2)) || code != c->code) {
    fprintf(stderr, "FAIL %s: the WebSocket ended with %s, code %d (%s); want %s, code %d\n",
            c->name, fl_err_name(err), code, fl_ws_errmsg(ws), fl_err_name(c->err), c->code);
    exit(1);
  }
  if (err) CHECK(fl_ws_errmsg(ws)[0] != '\0');
  fl_ws_free(ws);
  fl_request_free(req);
  while (!side_result) fl_loop_run(loop, FL_RUN_ONCE);
  size_t blen = 0;
  if (side_result != 1) {
    fprintf(stderr, "FAIL %s: the plain request beside the WebSocket failed: %s (%s)\n", c->name,
            fl_err_name(side_result - 1), fl_request_errmsg(side));
    exit(1);
  }
  CHECK_EQ_INT(fl_response_status(fl_request_response(side)), 200);
  fl_response_body(fl_request_response(side), &blen);
  CHECK_EQ_INT((int)blen, WS_SIDE_LEN);
  printf("library: the plain request beside it: 200, %zu bytes\n", blen);
  fl_request_free(side);
}

static void still_works(const fcase *c, fl_loop *loop, fl_client *cl);

static void run_library(const fcase *c) {
  char url[8192];
  fl_loop *loop = fl_loop_new();
  CHECK(loop);
  fl_client *cl = client_for(loop, c);
  if (c->ws) {
    run_ws(c, loop, cl);
    still_works(c, loop, cl);
    return;
  }

  if (c->prelude) {
    case_url(c, c->prelude, url, sizeof url);
    fl_request_free(fl_test_get(cl, url, 0));
  }
  fl_request *busy = NULL;
  int busy_result = 0;
  if (c->busy) { /* takes the one connection for a while */
    case_url(c, c->busy, url, sizeof url);
    busy = fl_request_new("GET", url);
    CHECK(busy);
    CHECK_EQ_INT(fl_request_send(cl, busy, busy_done, &busy_result), 0);
    while (fl_request_info(busy)->connect_us == 0 && busy_result == 0)
      fl_loop_run(loop, FL_RUN_ONCE);
  }
  case_url(c, NULL, url, sizeof url);
  fl_request *req = fl_request_new("GET", url);
  CHECK(req);
  fl_timeouts t = {0};
  t.total_ms = c->total_ms;
  t.first_byte_ms = c->first_byte_ms;
  t.read_ms = c->read_ms;
  t.connect_ms = c->connect_ms;
  t.pool_ms = c->pool_ms;
  fl_request_set_timeouts(req, &t);
  long long t0 = now_ms();
  int err = fl_request_perform(cl, req);
  long long took = now_ms() - t0;
  if (busy) {
    while (busy_result == 0) fl_loop_run(loop, FL_RUN_ONCE);
    if (busy_result != 1) {
      fprintf(stderr, "FAIL %s: the busy request failed: %s (%s)\n", c->name,
              fl_err_name(busy_result - 1), fl_request_errmsg(busy));
      exit(1);
    }
    fl_request_free(busy);
  }
  if (took < c->min_ms) {
    fprintf(stderr, "FAIL %s: the request took %lld ms, want at least %u\n", c->name, took,
            c->min_ms);
    exit(1);
  }
  if (c->attempts && fl_request_info(req)->attempts != c->attempts) {
    fprintf(stderr, "FAIL %s: %d attempts, want %d\n", c->name, fl_request_info(req)->attempts,
            c->attempts);
    exit(1);
  }
  if (err)
    printf("library: %s (%s)\n", fl_err_name(err), fl_request_errmsg(req));
  else
    printf("library: a response, status %d, %d redirects\n",
           fl_response_status(fl_request_response(req)), fl_request_info(req)->redirects);
  if (err != c->err && !(c->err2 && err == c->err2)) {
    fprintf(stderr, "FAIL %s: library returned %s (%s), want %s\n", c->name, fl_err_name(err),
            fl_request_errmsg(req), fl_err_name(c->err));
    exit(1);
  }
  if (err) CHECK(fl_request_errmsg(req)[0] != '\0');
  if (err && c->msg_lacks && strstr(fl_request_errmsg(req), c->msg_lacks)) {
    fprintf(stderr, "FAIL %s: the message says \"%s\": %s\n", c->name, c->msg_lacks,
            fl_request_errmsg(req));
    exit(1);
  }
  if (err && c->msg_has && !strstr(fl_request_errmsg(req), c->msg_has)) {
    fprintf(stderr, "FAIL %s: the message does not say \"%s\": %s\n", c->name, c->msg_has,
            fl_request_errmsg(req));
    exit(1);
  }
  if (!err && c->body_lacks) {
    const char *body = fl_response_body(fl_request_response(req), NULL);
    if (strstr(body, c->body_lacks)) {
      fprintf(stderr, "FAIL %s: the body holds \"%s\": %s\n", c->name, c->body_lacks, body);
      exit(1);
    }
  }
  fl_request_free(req);
  still_works(c, loop, cl);
}

/* A second request on the same client succeeds; then everything is freed. */
static void still_works(const fcase *c, fl_loop *loop, fl_client *cl) {
  char url[8192];
  case_url(c, "/ok", url, sizeof url);
  if (c->host) case_url(&(fcase){.host = "again.ok.test"}, "/ok", url, sizeof url);
  fl_request *req = fl_test_get(cl, url, 0);
  CHECK_EQ_INT(fl_response_status(fl_request_response(req)), 200);
  CHECK_EQ_STR(fl_response_body(fl_request_response(req), NULL), "ok");
  fl_request_free(req);

  fl_client_free(cl);
  CHECK_EQ_INT(fl_loop_free(loop), 0);
}

/* ---------------------------------------------------------------- the CLI */

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run argv with stdout to /dev/null and stderr to errfile; its exit code,
 * or -1 if it was killed (after 30 s, or by a signal). */
static int run_tool(char **argv, const char *errfile, int hold_stdin) {
  fflush(NULL);
  int in[2] = {-1, -1}; /* hold_stdin: a pipe whose write end stays open here */
  if (hold_stdin) CHECK(pipe2(in, O_CLOEXEC) == 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    int out = open("/dev/null", O_WRONLY);
    int err = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0) _exit(126);
    dup2(out, 1);
    dup2(err, 2);
    if (hold_stdin) dup2(in[0], 0);
    execvp(argv[0], argv);
    _exit(127);
  }
  if (hold_stdin) close(in[0]);
  long long deadline = now_ms() + 30000;
  for (;;) {
    int status;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (hold_stdin) close(in[1]);
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      fprintf(stderr, "%s: killed by signal %d\n", argv[0], WTERMSIG(status));
      return -1;
    }
    if (now_ms() > deadline) {
      fprintf(stderr, "%s: still running after 30 s; killing it\n", argv[0]);
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
      if (hold_stdin) close(in[1]);
      return -1;
    }
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
  }
}

static void show_file(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return;
  char line[512];
  int n = 0;
  while (fgets(line, sizeof line, f) && n++ < 20) fprintf(stderr, "  | %s", line);
  fclose(f);
}

/* argv for the CLI or curl: tool [options] [prelude URL] URL */
static int tool_argv(const fcase *c, const char *tool, char **argv, char bufs[][8192]) {
  int n = 0, b = 0;
  argv[n++] = (char *)tool;
  argv[n++] = "-s";
  argv[n++] = "-S";
  uint32_t ms = 0;
  uint32_t each[3] = {c->total_ms, c->first_byte_ms, c->read_ms};
  for (int i = 0; i < 3; i++)
    if (each[i] && (!ms || each[i] < ms)) ms = each[i];
  if (ms) {
    argv[n++] = "-m";
    snprintf(bufs[b], sizeof bufs[b], "%.3f", ms / 1000.0);
    argv[n++] = bufs[b++];
  }
  if (c->follow) {
    argv[n++] = "-L";
    argv[n++] = "--max-redirs";
    snprintf(bufs[b], sizeof bufs[b], "%d", c->follow);
    argv[n++] = bufs[b++];
  }
  if (c->decompress) argv[n++] = "--compressed";
  if (c->h2) argv[n++] = "--http2-prior-knowledge";
  if (c->connect_ms) {
    argv[n++] = "--connect-timeout";
    snprintf(bufs[b], sizeof bufs[b], "%.3f", c->connect_ms / 1000.0);
    argv[n++] = bufs[b++];
  }
  if (c->retries) {
    argv[n++] = "--retry";
    snprintf(bufs[b], sizeof bufs[b], "%u", c->retries);
    argv[n++] = bufs[b++];
  }
  if (c->max_filesize) {
    argv[n++] = "--max-filesize";
    snprintf(bufs[b], sizeof bufs[b], "%llu", (unsigned long long)c->max_filesize);
    argv[n++] = bufs[b++];
  }
  if (c->tls) {
    argv[n++] = "--cacert";
    snprintf(bufs[b], sizeof bufs[b], "%s", fl_test_rundir_path("nginx_tls/ca.pem"));
    argv[n++] = bufs[b++];
  }
  if (c->host) {
    argv[n++] = "--dns-servers";
    snprintf(bufs[b], sizeof bufs[b], "127.0.0.1:%d", dns_port);
    argv[n++] = bufs[b++];
  }
  if (c->prelude) {
    argv[n++] = "--parallel-max"; /* one at a time: the second reuses the first's connection */
    argv[n++] = "1";
    argv[n++] = "-o";
    argv[n++] = "/dev/null";
    case_url(c, c->prelude, bufs[b], sizeof bufs[b]);
    argv[n++] = bufs[b++];
  }
  if (c->ws) {
    argv[n++] = "--ws";
    ws_url(c, bufs[b], sizeof bufs[b]);
    argv[n++] = bufs[b++];
    argv[n] = NULL;
    return n;
  }
  argv[n++] = "-o";
  argv[n++] = "/dev/null";
  case_url(c, NULL, bufs[b], sizeof bufs[b]);
  argv[n++] = bufs[b++];
  argv[n] = NULL;
  return n;
}

static void run_cli(const fcase *c) {
  if (c->lib_only) {
    printf("cli: not run (no equivalent option)\n");
    return;
  }
  const char *cli = getenv("FL_CLI");
  if (!cli || !*cli) {
    fprintf(stderr, "FL_CLI is not set: run through ctest\n");
    exit(1);
  }
  char *argv[40];
  static char bufs[12][8192];
  tool_argv(c, cli, argv, bufs);
  char errfile[4096];
  snprintf(errfile, sizeof errfile, "%s", fl_test_rundir_path("fault"));
  append(errfile, sizeof errfile, ".");
  append(errfile, sizeof errfile, c->name);
  append(errfile, sizeof errfile, ".stderr");
  int rc = run_tool(argv, errfile, c->ws != NULL);
  printf("cli: exit %d\n", rc);
  if (rc != c->cli && !(c->cli2 && rc == c->cli2)) {
    fprintf(stderr, "FAIL %s: the CLI exited %d, want %d; its stderr:\n", c->name, rc, c->cli);
    show_file(errfile);
    exit(1);
  }
  unlink(errfile);

  if (getenv("FL_FAULT_CURL") && !(c->curl_set && c->curl < 0) && !c->host) {
    tool_argv(c, "curl", argv, bufs);
    /* curl has no --parallel-max without -Z: it runs URLs one by one anyway */
    int k = 0;
    for (int i = 0; argv[i]; i++) {
      if (strcmp(argv[i], "--parallel-max") == 0) {
        i++;
        continue;
      }
      argv[k++] = argv[i];
    }
    argv[k] = NULL;
    snprintf(errfile, sizeof errfile, "%s", fl_test_rundir_path("fault"));
    append(errfile, sizeof errfile, ".");
    append(errfile, sizeof errfile, c->name);
    append(errfile, sizeof errfile, ".curl");
    int crc = run_tool(argv, errfile, c->ws != NULL);
    int want = c->curl_set ? c->curl : c->cli;
    printf("curl: exit %d (%s: %d)%s\n", crc,
           c->curl_set ? "table says curl gives" : "same as the CLI", want,
           crc == want ? "" : "  <-- differs");
    show_file(errfile);
    unlink(errfile);
  }
}

/* ------------------------------------------------------------------ main */

static int read_port(const char *path) {
  for (int i = 0; i < 200; i++) {
    FILE *f = fopen(path, "r");
    int p = 0;
    if (f) {
      if (fscanf(f, "%d", &p) != 1) p = 0;
      fclose(f);
    }
    if (p > 0) return p;
    struct timespec ts = {0, 10000000};
    nanosleep(&ts, NULL);
  }
  fprintf(stderr, "no port in %s\n", path);
  exit(1);
}

int main(int argc, char **argv) {
  size_t ncases = sizeof cases / sizeof cases[0];
  if (argc == 2 && strcmp(argv[1], "--list") == 0) {
    for (size_t i = 0; i < ncases; i++)
      printf("%s%s\n", cases[i].xfail ? "xfail." : "", cases[i].name);
    return 0;
  }
  if (argc != 2) {
    fprintf(stderr, "usage: %s NAME | --list\n", argv[0]);
    return 2;
  }
  const char *name = argv[1];
  if (strncmp(name, "xfail.", 6) == 0) name += 6;
  const fcase *c = NULL;
  for (size_t i = 0; i < ncases; i++)
    if (strcmp(cases[i].name, name) == 0) c = &cases[i];
  if (!c) {
    fprintf(stderr, "no case %s\n", name);
    return 2;
  }
  signal(SIGALRM, watchdog);
  alarm(60);
  if (c->xfail) printf("expected to fail until fixed: %s\n", c->xfail);

  FL_TEST_BEGIN();
  char dns_file[4096] = "", arg[4200] = "";
  if (c->host) {
    snprintf(dns_file, sizeof dns_file, "%s", fl_test_rundir_path("fault"));
    snprintf(dns_file + strlen(dns_file), sizeof dns_file - strlen(dns_file), ".%d.dns.port",
             (int)getpid());
    unlink(dns_file);
    snprintf(arg, sizeof arg, "--dns-port-file=%s", dns_file);
  } else if (c->tls) {
    snprintf(arg, sizeof arg, "--tls-dir=%s", fl_test_rundir_path("nginx_tls"));
  }
  port = fl_test_script_start(c->h2 ? "h2_server.py" : "fault_server.py", arg[0] ? arg : NULL);
  if (c->ws) ws_port = fl_test_script_start("ws_raw_server.py", NULL);
  if (c->host) {
    dns_port = read_port(dns_file);
    unlink(dns_file);
  }
  snprintf(base, sizeof base, "%s://%s:%d", c->tls ? "https" : "http", "127.0.0.1", port);

  /* A listener that never accepts, with its queue full: SYNs are dropped
   * and a connect stays pending. */
  int bh_listener = -1, bh_filler = -1;
  if (c->blackhole) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    bh_listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(bh_listener >= 0);
    CHECK(bind(bh_listener, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(listen(bh_listener, 0) == 0);
    CHECK(getsockname(bh_listener, (struct sockaddr *)&a, &alen) == 0);
    blackhole_port = ntohs(a.sin_port);
    bh_filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(bh_filler >= 0);
    CHECK(connect(bh_filler, (struct sockaddr *)&a, sizeof a) == 0);
  }

  run_library(c);
  run_cli(c);
  if (c->blackhole) {
    close(bh_filler);
    close(bh_listener);
  }
  FL_TEST_END();
}
