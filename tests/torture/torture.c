/* Allocation torture: `torture SCENARIO` runs a scenario once to count its
 * allocations, then again with allocation 1 failing, then 2, ... until a
 * run makes no more allocations than the one that failed (nothing left to
 * fail). Each run is a forked child (the CLI scenarios, cli and cli_ws: an exec'd CLI built
 * with the same hook), which must
 *   - end in success or FL_ENOMEM (the CLI: exit 0 or 27), never another
 *     error, a crash (a signal), a hang (10 s), or a leak (LSan in ASan
 *     builds, exit 66 through ASAN_OPTIONS);
 *   - close every descriptor it opened.
 * Servers: the scripted fault server (started once here) and, for tls, the
 * nginx_tls fixture; for h2c, the nghttpd fixture; for h2tls, nginx_h2; for ws
 * and cli_ws, the scripted WebSocket server (tests/support/ws_raw_server.py, started here).
 *
 * Each scenario runs in two modes: only allocation N fails, then
 * allocation N and every later one fail (what a process out of memory
 * sees).
 *
 * Environment: FL_TORTURE_MAX caps N (default 20000); FL_TORTURE_STEP tries
 * every STEP-th N only (default 1); FL_TORTURE_MODES=one|from runs one mode;
 * FL_TORTURE_STRICT=1 counts the known findings below as findings (the
 * ctest torture.xfail.* entries, expected to fail until they are fixed). To look at one finding:
 * FL_TORTURE_ONLY=N [FL_TORTURE_MODE=from] FL_TORTURE_BACKTRACE=1 (where
 * the allocation failed, in sanitizer builds). Prints N and the findings;
 * exits 1 if any run failed. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ares.h>

#include "alloc_fail.h"
#include "flurry.h"
#include "test.h"

/* Present in ASan builds only. */
extern void __lsan_do_leak_check(void) __attribute__((weak));

static int fault_port, tls_port;
static int from_mode; /* 1: every allocation from the n-th on fails */
static char tls_ca[4096];

typedef struct result {
  int err;          /* 0 or the fl_err it ended with */
  const char *what; /* where a NULL / error came from, for the report */
} result;

/* An error the scenario may end with when an allocation failed. */
static int acceptable(int err) { return err == 0 || err == FL_ENOMEM; }

static void url_of(char *buf, size_t cap, const char *path) {
  snprintf(buf, cap, "http://127.0.0.1:%d%s", fault_port, path);
}

/* ------------------------------------------------------------ scenarios */

static int get_on(fl_client *c, const char *url, const char *expect_body, int *err_out) {
  fl_request *r = fl_request_new("GET", url);
  if (!r) return *err_out = FL_ENOMEM;
  int err = fl_request_perform(c, r);
  if (err == 0 && expect_body) {
    const char *body = fl_response_body(fl_request_response(r), NULL);
    if (!body || strcmp(body, expect_body) != 0) {
      fprintf(stderr, "  %s: body \"%s\", want \"%s\"\n", url, body ? body : "(null)", expect_body);
      err = FL_EWEIRD_REPLY; /* reported as a wrong result */
    }
  }
  if (err && !acceptable(err))
    fprintf(stderr, "  %s: %s (%s)\n", url, fl_err_name(err), fl_request_errmsg(r));
  fl_request_free(r);
  return *err_out = err;
}

typedef struct env {
  fl_loop *loop;
  fl_client *client;
} env;

static int env_open(env *e, const fl_client_options *o) {
  e->loop = fl_loop_new();
  if (!e->loop) return FL_ENOMEM;
  e->client = fl_client_new(e->loop, o);
  if (!e->client) {
    fl_loop_free(e->loop);
    return FL_ENOMEM;
  }
  return 0;
}

static void env_close(env *e) {
  fl_client_free(e->client);
  if (fl_loop_free(e->loop) != 0) {
    fprintf(stderr, "  fl_loop_free refused: something still uses the loop\n");
    exit(1);
  }
}

static int sc_get(void) {
  env e;
  int err = env_open(&e, NULL);
  if (err) return err;
  char url[256];
  url_of(url, sizeof url, "/ok");
  get_on(e.client, url, "ok", &err);
  env_close(&e);
  return err;
}

static int sc_keepalive(void) {
  env e;
  int err = env_open(&e, NULL);
  if (err) return err;
  char url[256];
  url_of(url, sizeof url, "/keepalive?timeout=5&max=10");
  for (int i = 0; i < 3 && !err; i++) get_on(e.client, url, "ok", &err);
  if (!err) {
    url_of(url, sizeof url, "/chunked?n=100&size=30");
    get_on(e.client, url, NULL, &err);
  }
  env_close(&e);
  return err;
}

static int sc_tls(void) {
  fl_client_options o;
  fl_client_options_init(&o);
  o.ca_file = tls_ca;
  env e;
  int err = env_open(&e, &o);
  if (err) return err;
  char url[256];
  snprintf(url, sizeof url, "https://127.0.0.1:%d/hello", tls_port);
  for (int i = 0; i < 2 && !err; i++) get_on(e.client, url, "Hello, World!", &err);
  env_close(&e);
  return err;
}

/* 302 with a cookie to /echo, which shows the request: the cookie went. */
static int sc_redirect_cookies(void) {
  env e;
  int err = env_open(&e, NULL);
  if (err) return err;
  char url[512];
  url_of(url, sizeof url,
         "/raw?end=keep&b=HTTP/1.1%20302%20Found%0D%0ALocation:%20/echo%3Fk=t%0D%0A"
         "Set-Cookie:%20sid=abc;%20Path=/%0D%0ASet-Cookie:%20lang=en%0D%0A"
         "Content-Length:%200%0D%0A%0D%0A");
  fl_request *r = fl_request_new("GET", url);
  if (!r) {
    env_close(&e);
    return FL_ENOMEM;
  }
  fl_request_add_header(r, "X-Torture", "1"); /* FL_ENOMEM is fine: then it is not sent */
  err = fl_request_perform(e.client, r);
  if (err == 0) {
    const char *body = fl_response_body(fl_request_response(r), NULL);
    /* Without memory for a cookie the jar drops it and the request goes on
     * (src/jar.c, by design): the cookie may be missing only then. */
    int cookie_ok = strstr(body, "sid=abc") || alloc_fail_injected();
    if (!strstr(body, "GET /echo?k=t HTTP/1.1\r\n") || !cookie_ok ||
        fl_request_info(r)->redirects != 1) {
      fprintf(stderr, "  redirect: unexpected final request:\n%s\n", body);
      err = FL_EWEIRD_REPLY;
    }
  } else if (!acceptable(err)) {
    fprintf(stderr, "  redirect: %s (%s)\n", fl_err_name(err), fl_request_errmsg(r));
  }
  fl_request_free(r);
  if (!err) {
    char *cookies = fl_client_cookies_for(e.client, url);
    free(cookies); /* NULL on OOM is fine */
  }
  env_close(&e);
  return err;
}

/* 4,000 bytes of "hello brotli, some text to decode " in 41 bytes of br
 * (BrotliEncoderCompress, quality 5). */
#define BR_BODY                                                                                    \
  "%1B%9F%0F%00%04%B2%6D%A9%1E%FD%6B%7A%7E%41%50%06%BA%60%0E%22%D1%63%65%79%4E%67%FA%3A%7B%15%CF%47%44%3F%C4%8C%D8%38%07%00%28"

/* gzip twice over, then br (zlib's and brotli's allocations go through
 * the library's malloc, so they count too). */
static int sc_gzip(void) {
  env e;
  int err = env_open(&e, NULL); /* decompress is on by default */
  if (err) return err;
  char url[512];
  url_of(url, sizeof url, "/encodings?n=2");
  get_on(e.client, url, "layered", &err);
  if (!err) {
    url_of(url, sizeof url,
           "/raw?end=keep&b=HTTP/1.1%20200%20OK%0D%0AContent-Encoding:%20br%0D%0A"
           "Content-Length:%2041%0D%0A%0D%0A" BR_BODY);
    fl_request *r = fl_request_new("GET", url);
    err = r ? fl_request_perform(e.client, r) : FL_ENOMEM;
    size_t len = 0;
    if (!err) fl_response_body(fl_request_response(r), &len);
    if (!err && len != 4000) err = FL_EWEIRD_REPLY;
    if (err && !acceptable(err))
      fprintf(stderr, "  br: %s (%s)\n", fl_err_name(err), fl_request_errmsg(r));
    fl_request_free(r);
  }
  env_close(&e);
  return err;
}

static int sc_gather(void) {
  env e;
  int err = env_open(&e, NULL);
  if (err) return err;
  fl_gather *g = fl_gather_new(e.client);
  if (!g) {
    env_close(&e);
    return FL_ENOMEM;
  }
  const char *paths[] = {"/ok", "/len?n=100", "/chunked?n=50", "/delay?ms=5", "/status?code=404"};
  char url[256];
  for (size_t i = 0; i < sizeof paths / sizeof paths[0] && !err; i++) {
    url_of(url, sizeof url, paths[i]);
    err = fl_gather_add_get(g, url);
  }
  if (!err) err = fl_gather_set_limit(g, 2);
  if (!err) err = fl_gather_start(g, NULL, NULL);
  if (!err) {
    while (fl_gather_finished(g) < fl_gather_count(g)) fl_loop_run(e.loop, FL_RUN_ONCE);
    for (size_t i = 0; i < fl_gather_count(g); i++) {
      int m = fl_gather_error(g, i);
      if (m && !acceptable(m)) {
        fl_request *r = fl_gather_request(g, i);
        fprintf(stderr, "  gather member %zu: %s (%s)\n", i, fl_err_name(m),
                r ? fl_request_errmsg(r) : "");
      }
      if (m && (!err || !acceptable(m))) err = m;
    }
  }
  fl_gather_free(g);
  env_close(&e);
  return err;
}

typedef struct slot {
  int done, err;
} slot;

static void slot_done(fl_request *req, int err, void *data) {
  slot *sl = data;
  sl->done++;
  sl->err = err;
  if (err && !acceptable(err))
    fprintf(stderr, "  %s: %s (%s)\n", fl_request_url(req), fl_err_name(err),
            fl_request_errmsg(req));
}

/* Six GETs at once on one connection, four deep. */
static int sc_pipeline(void) {
  fl_client_options o;
  fl_client_options_init(&o);
  o.pipeline_depth = 4;
  o.max_connections = 1;
  env e;
  int err = env_open(&e, &o);
  if (err) return err;
  enum { N = 6 };
  fl_request *r[N] = {0};
  slot sl[N];
  memset(sl, 0, sizeof sl);
  char url[256];
  for (int i = 0; i < N; i++) {
    url_of(url, sizeof url, i % 2 ? "/ok" : "/len?n=300");
    r[i] = fl_request_new("GET", url);
    int e2 = r[i] ? fl_request_send(e.client, r[i], slot_done, &sl[i]) : FL_ENOMEM;
    if (e2) {
      sl[i].done = 1;
      sl[i].err = e2;
    }
  }
  for (;;) {
    int pending = 0;
    for (int i = 0; i < N; i++) pending += !sl[i].done;
    if (!pending) break;
    fl_loop_run(e.loop, FL_RUN_ONCE);
  }
  for (int i = 0; i < N; i++) {
    if (sl[i].done != 1) {
      fprintf(stderr, "  request %d completed %d times\n", i, sl[i].done);
      err = FL_EWEIRD_REPLY;
    } else if (sl[i].err && (!err || !acceptable(sl[i].err))) {
      err = sl[i].err;
    }
    fl_request_free(r[i]);
  }
  env_close(&e);
  return err;
}

static long upload_chunks(fl_request *req, char *buf, size_t cap, void *data) {
  int *left = data;
  (void)req;
  if (*left <= 0) return 0;
  (*left)--;
  size_t n = cap < 1000 ? cap : 1000;
  memset(buf, 'u', n);
  return (long)n;
}

/* A body from memory, then a streamed chunked body, both echoed back. */
static int sc_upload(void) {
  env e;
  int err = env_open(&e, NULL);
  if (err) return err;
  char url[256];
  url_of(url, sizeof url, "/echo");
  static char body[10000];
  memset(body, 'b', sizeof body);
  fl_request *r = fl_request_new("POST", url);
  if (!r) err = FL_ENOMEM;
  if (!err) err = fl_request_set_body(r, body, sizeof body);
  if (!err) err = fl_request_perform(e.client, r);
  if (!err) {
    size_t len;
    fl_response_body(fl_request_response(r), &len);
    if (len < sizeof body) err = FL_EWEIRD_REPLY;
  }
  fl_request_free(r);
  if (!err) {
    int left = 5;
    r = fl_request_new("PUT", url);
    if (!r) err = FL_ENOMEM;
    if (!err) err = fl_request_set_upload(r, upload_chunks, &left);
    if (!err) err = fl_request_perform(e.client, r);
    if (!err &&
        !strstr(fl_response_body(fl_request_response(r), NULL), "Transfer-Encoding: chunked"))
      err = FL_EWEIRD_REPLY;
    if (err && !acceptable(err))
      fprintf(stderr, "  chunked upload: %s (%s)\n", fl_err_name(err), fl_request_errmsg(r));
    fl_request_free(r);
  }
  env_close(&e);
  return err;
}

static char cookie_file[4096], cookie_out[4096];

/* Load a Netscape cookie file, add a cookie, read the header, save. */
static int sc_cookie_file(void) {
  env e;
  int err = env_open(&e, NULL);
  if (err) return err;
  err = fl_client_cookies_load(e.client, cookie_file);
  if (!err)
    err =
        fl_client_cookies_set(e.client, "http://www.example.test/a/b", "k=v; Path=/a; Max-Age=100");
  if (!err) {
    char *h = fl_client_cookies_for(e.client, "http://www.example.test/a/x");
    if (h && (!strstr(h, "k=v") || !strstr(h, "sess=1"))) {
      fprintf(stderr, "  Cookie header \"%s\"\n", h);
      err = FL_EWEIRD_REPLY;
    }
    free(h); /* NULL: no memory for it (the jar has cookies for that URL) */
  }
  if (!err) err = fl_client_cookies_save(e.client, cookie_out);
  if (err && !acceptable(err)) fprintf(stderr, "  cookie files: %s\n", fl_err_name(err));
  env_close(&e);
  return err;
}

/* 503 three times (a retry policy with tiny back-off), then the 503 stands. */
static int sc_retry(void) {
  fl_client_options o;
  fl_client_options_init(&o);
  o.retry.max_retries = 2;
  o.retry.backoff_base_ms = 1;
  o.retry.backoff_max_ms = 2;
  o.retry.jitter = 0;
  env e;
  int err = env_open(&e, &o);
  if (err) return err;
  char url[256];
  url_of(url, sizeof url, "/status?code=503");
  fl_request *r = fl_request_new("GET", url);
  err = r ? fl_request_perform(e.client, r) : FL_ENOMEM;
  if (!err && fl_response_status(fl_request_response(r)) != 503) err = FL_EWEIRD_REPLY;
  if (err && !acceptable(err))
    fprintf(stderr, "  retry: %s (%s)\n", fl_err_name(err), fl_request_errmsg(r));
  fl_request_free(r);
  env_close(&e);
  return err;
}

static int sc_map(void) {
  env e;
  int err = env_open(&e, NULL);
  if (err) return err;
  char u[3][256];
  url_of(u[0], sizeof u[0], "/ok");
  url_of(u[1], sizeof u[1], "/chunked?n=40");
  url_of(u[2], sizeof u[2], "/len?n=5");
  const char *urls[3] = {u[0], u[1], u[2]};
  fl_request *res[3];
  int failed = fl_map(e.client, urls, 3, 2, res);
  if (failed < 0) {
    err = failed;
  } else {
    for (int i = 0; i < 3; i++) {
      int m = res[i] ? fl_request_error(res[i]) : FL_ENOMEM;
      if (m && !acceptable(m)) fprintf(stderr, "  map %d: %s\n", i, fl_err_name(m));
      if (m && (!err || !acceptable(m))) err = m;
      fl_request_free(res[i]);
    }
  }
  env_close(&e);
  return err;
}

static int dns_port, proxy_port;

/* A name resolved by c-ares (whose allocations count too), then cached. */
static int sc_dns(void) {
  char servers[64];
  snprintf(servers, sizeof servers, "127.0.0.1:%d", dns_port);
  fl_client_options o;
  fl_client_options_init(&o);
  o.dns_servers = servers;
  o.dns_timeout_ms = 500;
  env e;
  int err = env_open(&e, &o);
  if (err) return err;
  char url[256];
  snprintf(url, sizeof url, "http://www.ok.test:%d/ok", fault_port);
  for (int i = 0; i < 2 && !err; i++) get_on(e.client, url, "ok", &err);
  env_close(&e);
  return err;
}

/* Through the test proxy: plain http in absolute form. */
static int sc_proxy(void) {
  char proxy[64];
  snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", proxy_port);
  fl_client_options o;
  fl_client_options_init(&o);
  o.proxy = proxy;
  env e;
  int err = env_open(&e, &o);
  if (err) return err;
  char url[256];
  url_of(url, sizeof url, "/ok");
  get_on(e.client, url, "ok", &err);
  env_close(&e);
  return err;
}

static uint64_t streamed;
static int count_body(fl_request *req, const char *chunk, size_t len, void *data) {
  (void)req, (void)chunk, (void)data;
  streamed += len;
  return 0;
}

/* A streamed body, then one saved to a file. */
static int sc_stream(void) {
  env e;
  int err = env_open(&e, NULL);
  if (err) return err;
  char url[256];
  url_of(url, sizeof url, "/chunked?n=5000&size=700");
  fl_request *r = fl_request_new("GET", url);
  if (!r) err = FL_ENOMEM;
  streamed = 0;
  if (!err) {
    fl_request_on_body(r, count_body, NULL);
    err = fl_request_perform(e.client, r);
    if (!err && streamed != 5000) err = FL_EWEIRD_REPLY;
  }
  fl_request_free(r);
  if (!err) {
    url_of(url, sizeof url, "/len?n=3000");
    r = fl_request_new("GET", url);
    if (!r) err = FL_ENOMEM;
    if (!err) err = fl_request_save_to(r, fl_test_rundir_path("torture.saved"));
    if (!err) err = fl_request_perform(e.client, r);
    if (err && !acceptable(err))
      fprintf(stderr, "  save_to: %s (%s)\n", fl_err_name(err), fl_request_errmsg(r));
    fl_request_free(r);
  }
  env_close(&e);
  return err;
}

/* --------------------------------------------------------------- the CLI */

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ws_port; /* the scripted WebSocket server (ws, cli_ws) */

/* What cli_ws sends (its standard input) and must print when it exits 0. */
#define CLI_WS_LINES "one\nzw\xC3\xA9i\n"

/* Run the torture CLI with allocation n failing; its exit code (-1 killed;
 * CLI_BAD_OUTPUT: exit 0 with the wrong output). *count and *injected come
 * from its report. cli: transfers (-Z, three URLs of the fault server);
 * cli_ws: flurry --ws --compressed with two lines on standard input against
 * the raw server's echo with permessage-deflate, which closes (1000) after
 * echoing both, so the session never waits for the linger after stdin's
 * end; exit 0 must have printed both replies. */
#define CLI_BAD_OUTPUT 201
static int run_cli(const char *name, long n, long *count, int *injected) {
  const char *cli = getenv("FL_TORTURE_CLI");
  if (!cli || !*cli) {
    fprintf(stderr, "FL_TORTURE_CLI is not set: run through ctest\n");
    exit(1);
  }
  int ws = strcmp(name, "cli_ws") == 0;
  char report[4096], errfile[4096], outfile[4096], infile[4096], at[32], u[3][256];
  snprintf(report, sizeof report, "%s", fl_test_rundir_path("torture.cli.report"));
  snprintf(errfile, sizeof errfile, "%s", fl_test_rundir_path("torture.cli.stderr"));
  snprintf(outfile, sizeof outfile, "%s", fl_test_rundir_path("torture.cli.stdout"));
  snprintf(infile, sizeof infile, "%s", fl_test_rundir_path("torture.cli_ws.stdin"));
  snprintf(at, sizeof at, "%ld", n);
  if (ws) {
    snprintf(u[0], sizeof u[0], "ws://127.0.0.1:%d/hs/ext?v=permessage-deflate&n=2", ws_port);
  } else {
    url_of(u[0], sizeof u[0], "/ok");
    url_of(u[1], sizeof u[1], "/chunked?n=70&size=20");
    url_of(u[2], sizeof u[2], "/encodings?n=1");
  }
  unlink(report);
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int out = open(ws ? outfile : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644),
        err = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644),
        in = open(ws ? infile : "/dev/null", O_RDONLY);
    if (out < 0 || err < 0 || in < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    setenv("FL_TORTURE_FAIL_AT", at, 1);
    setenv("FL_TORTURE_MODE", from_mode ? "from" : "one", 1);
    setenv("FL_TORTURE_REPORT", report, 1);
    if (ws)
      execl(cli, cli, "-s", "-S", "--compressed", "--ws", u[0], (char *)NULL);
    else
      execl(cli, cli, "-s", "-S", "-Z", "--compressed", "-w", "%{http_code}\n", u[0], u[1], u[2],
            (char *)NULL);
    _exit(127);
  }
  long long deadline = now_ms() + 20000;
  int status, rc = -1;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (now_ms() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      fprintf(stderr, "  CLI with allocation %ld failing: still running after 20 s\n", n);
      return -1;
    }
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
  }
  if (WIFEXITED(status))
    rc = WEXITSTATUS(status);
  else
    fprintf(stderr, "  CLI with allocation %ld failing: killed by signal %d\n", n,
            WTERMSIG(status));
  *count = 0;
  *injected = 0;
  FILE *f = fopen(report, "r");
  if (f) {
    if (fscanf(f, "%ld %d", count, injected) != 2) *count = 0;
    fclose(f);
  }
  if (ws && rc == 0) { /* a clean end loses nothing */
    char got[256] = "";
    f = fopen(outfile, "r");
    size_t k = f ? fread(got, 1, sizeof got - 1, f) : 0;
    got[k] = 0;
    if (f) fclose(f);
    if (strcmp(got, CLI_WS_LINES) != 0) {
      fprintf(stderr, "  CLI --ws with allocation %ld failing: exit 0 but printed \"%s\"\n", n,
              got);
      rc = CLI_BAD_OUTPUT;
    }
  }
  if (rc != 0 && rc != 27) {
    fprintf(stderr, "  CLI with allocation %ld failing: exit %d; its stderr:\n", n, rc);
    f = fopen(errfile, "r");
    if (f) {
      char line[512];
      for (int i = 0; i < 30 && fgets(line, sizeof line, f); i++) fprintf(stderr, "  | %s", line);
      fclose(f);
    }
  }
  return rc;
}

/* ---------------------------------------------------------------- runner */

/* HTTP/2 by prior knowledge (h2c) against nghttpd: four streams at once on
 * one connection (two GETs, a 404, a POST echoed back), then a GET on the
 * same connection. nghttp2's own allocations count too: the library gives
 * it an nghttp2_mem whose blocks come from our malloc (engine/h2_mem.c,
 * when its cache has none), which the --wrap link reaches. */
static int h2c_port;

/* Four requests sent at once on one client, so on one HTTP/2 connection
 * (paths[3] is a POST of "posted body"), each checked for status, HTTP/2
 * and body (NULL: not checked); then a GET of again on the same connection
 * that must answer again_body. what: the scenario's name in messages. */
enum { H2_N = 4 };
static int h2_four_streams(env *e, const char *what, const char *base,
                           const char *const paths[H2_N], const int want_status[H2_N],
                           const char *const want_body[H2_N], const char *again,
                           const char *again_body) {
  int err = 0;
  fl_request *r[H2_N] = {0};
  slot sl[H2_N];
  memset(sl, 0, sizeof sl);
  char url[256];
  for (int i = 0; i < H2_N; i++) {
    snprintf(url, sizeof url, "%s%s", base, paths[i]);
    r[i] = fl_request_new(i == 3 ? "POST" : "GET", url);
    int e2 = r[i] ? 0 : FL_ENOMEM;
    if (!e2 && i == 3) e2 = fl_request_set_body(r[i], "posted body", 11);
    if (!e2) e2 = fl_request_send(e->client, r[i], slot_done, &sl[i]);
    if (e2) {
      sl[i].done = 1;
      sl[i].err = e2;
    }
  }
  for (;;) {
    int pending = 0;
    for (int i = 0; i < H2_N; i++) pending += !sl[i].done;
    if (!pending) break;
    fl_loop_run(e->loop, FL_RUN_ONCE);
  }
  for (int i = 0; i < H2_N; i++) {
    if (sl[i].done != 1) {
      fprintf(stderr, "  %s request %d completed %d times\n", what, i, sl[i].done);
      err = FL_EWEIRD_REPLY;
    } else if (sl[i].err) {
      if (!err || !acceptable(sl[i].err)) err = sl[i].err;
    } else {
      const fl_response *res = fl_request_response(r[i]);
      const char *body = fl_response_body(res, NULL);
      if (fl_response_status(res) != want_status[i] || fl_request_info(r[i])->http_version != 20 ||
          (want_body[i] && strcmp(body, want_body[i]) != 0)) {
        fprintf(stderr, "  %s request %d: status %d, HTTP %d, body \"%.40s\"\n", what, i,
                fl_response_status(res), fl_request_info(r[i])->http_version, body);
        err = FL_EWEIRD_REPLY;
      }
    }
    fl_request_free(r[i]);
  }
  if (!err) { /* the same connection again */
    snprintf(url, sizeof url, "%s%s", base, again);
    get_on(e->client, url, again_body, &err);
  }
  return err;
}

static int sc_h2c(void) {
  fl_client_options o;
  fl_client_options_init(&o);
  o.http_version = FL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
  env e;
  int err = env_open(&e, &o);
  if (err) return err;
  static const char *const paths[H2_N] = {"/small.txt", "/page.html", "/nope", "/echo"};
  static const int want_status[H2_N] = {200, 200, 404, 200};
  static const char *const want[H2_N] = {"small file\n", NULL, NULL, "posted body"};
  char base[64];
  snprintf(base, sizeof base, "http://127.0.0.1:%d", h2c_port);
  err = h2_four_streams(&e, "h2c", base, paths, want_status, want, "/small.txt", "small file\n");
  env_close(&e);
  return err;
}

/* HTTP/2 over TLS (ALPN h2) against nginx: what sc_h2c does over h2c, the
 * ALPN answer and its multiplex wait included: four streams at once on one
 * connection (two GETs, a 404, a POST whose body nginx reads and drops),
 * then a GET on the same connection. */
static int h2tls_port;
static char h2tls_ca[4096];

static int sc_h2tls(void) {
  fl_client_options o;
  fl_client_options_init(&o);
  o.ca_file = h2tls_ca;
  env e;
  int err = env_open(&e, &o);
  if (err) return err;
  static const char *const paths[H2_N] = {"/files/small.txt", "/many-streams", "/status/404",
                                          "/hello"};
  static const int want_status[H2_N] = {200, 200, 404, 200};
  static const char *const want[H2_N] = {"small file\n", "stream\n", "not found\n",
                                         "Hello, World!"};
  char base[64];
  snprintf(base, sizeof base, "https://127.0.0.1:%d", h2tls_port);
  err = h2_four_streams(&e, "h2tls", base, paths, want_status, want, "/many-streams", "stream\n");
  env_close(&e);
  return err;
}

/* WebSocket: an upgrade on a client, then a text message, a fragmented
 * binary one with a ping between its pieces, and the closing handshake,
 * against the scripted raw server's echo (tests/support/ws_raw_server.py);
 * once plain and once with permessage-deflate (the server echoes our
 * compressed frames, which inflate in step). Then a plain GET on the same
 * client. Callbacks exactly once: open_cb per connect, close_cb after an
 * open; the WebSocket ends in success or FL_ENOMEM. */
typedef struct wsc {
  int opened, open_err, closes, close_err, code, nmsg;
  char got[64];
} wsc;

static void ws_opened(fl_ws *ws, int err, void *data) {
  (void)ws;
  wsc *w = data;
  w->opened++;
  w->open_err = err;
}

static void ws_message(fl_ws *ws, int type, const char *p, size_t n, int flags, void *data) {
  (void)ws, (void)flags;
  wsc *w = data;
  w->nmsg++;
  size_t at = strlen(w->got);
  snprintf(w->got + at, sizeof w->got - at, "%c%.*s|", type == FL_WS_TEXT ? 'T' : 'B', (int)n, p);
}

static void ws_closed(fl_ws *ws, int err, int code, const char *reason, void *data) {
  (void)ws, (void)reason;
  wsc *w = data;
  w->closes++;
  w->close_err = err;
  w->code = code;
}

/* Worst of two results: a finding beats FL_ENOMEM beats 0. */
static int ws_worse(int a, int b) { return !acceptable(a) ? a : !acceptable(b) ? b : a ? a : b; }

static int ws_session(fl_loop *loop, fl_client *client, const char *path, int compress) {
  fl_ws_options o;
  fl_ws_options_init(&o);
  o.compress = compress;
  o.close_timeout_ms = 3000;
  wsc w = {0};
  fl_ws *ws = fl_ws_new(&o);
  char url[256];
  snprintf(url, sizeof url, "ws://127.0.0.1:%d%s", ws_port, path);
  fl_request *req = fl_request_new("GET", url);
  int err = 0;
  if (!ws || !req) {
    err = FL_ENOMEM;
    goto out;
  }
  fl_ws_on_message(ws, ws_message, &w);
  fl_ws_on_close(ws, ws_closed, &w);
  err = fl_ws_connect(ws, client, req, ws_opened, &w);
  if (err) goto out; /* refused at once: no callback */
  if (w.opened) {
    fprintf(stderr, "  open_cb from inside fl_ws_connect\n");
    err = FL_EWEIRD_REPLY;
    goto out;
  }
  while (!w.opened) fl_loop_run(loop, FL_RUN_ONCE);
  if (w.open_err) {
    err = w.open_err;
    if (!acceptable(err))
      fprintf(stderr, "  ws open: %s (%s)\n", fl_err_name(err), fl_ws_errmsg(ws));
    goto out;
  }
  int se = fl_ws_send(ws, FL_WS_TEXT, "h\xC3\xA9llo", 6);
  if (!se) se = fl_ws_send_fragment(ws, FL_WS_BINARY, "ab", 2, 0);
  if (!se) se = fl_ws_ping(ws, "p", 1);
  if (!se) se = fl_ws_send_fragment(ws, FL_WS_BINARY, "cd", 2, 1);
  if (!se) {
    while (w.nmsg < 2 && !w.closes) fl_loop_run(loop, FL_RUN_ONCE);
    se = w.closes ? 0 : fl_ws_close(ws, 1000, "bye");
  }
  if (se == FL_EWS_CLOSED || se == 1) se = 0; /* ending already: close_cb says why */
  if (se) { /* a send or the close could not be queued: end it now */
    err = se;
    if (!acceptable(se)) fprintf(stderr, "  ws send: %s\n", fl_err_name(se));
    if (fl_ws_abort(ws) != 0 && !w.closes) {
      fprintf(stderr, "  ws: fl_ws_abort refused an open WebSocket\n");
      err = FL_EWEIRD_REPLY;
    }
  }
  while (!w.closes) fl_loop_run(loop, FL_RUN_ONCE);
  for (int i = 0; i < 3; i++) fl_loop_run(loop, FL_RUN_NOWAIT);
  if (w.closes != 1 || w.opened != 1) {
    fprintf(stderr, "  ws: open_cb %d times, close_cb %d times\n", w.opened, w.closes);
    err = FL_EWEIRD_REPLY;
  } else if (!se) {
    err = w.close_err == FL_ECANCELED ? FL_ENOMEM : w.close_err;
    if (err == 0 && (w.code != 1000 || strcmp(w.got, "Th\xC3\xA9llo|Babcd|") != 0)) {
      fprintf(stderr, "  ws: closed %d, got \"%s\"\n", w.code, w.got);
      err = FL_EWEIRD_REPLY;
    } else if (!acceptable(err)) {
      fprintf(stderr, "  ws close: %s, code %d (%s)\n", fl_err_name(err), w.code, fl_ws_errmsg(ws));
    }
  }
out:
  fl_ws_free(ws);
  fl_request_free(req);
  return err;
}

static int sc_ws(void) {
  env e;
  int err = env_open(&e, NULL);
  if (err) return err;
  err = ws_session(e.loop, e.client, "/echo", 0);
  err = ws_worse(err, ws_session(e.loop, e.client, "/hs/ext?v=permessage-deflate", 1));
  char url[256];
  int e2 = 0;
  url_of(url, sizeof url, "/ok");
  get_on(e.client, url, "ok", &e2); /* other requests on the client are unharmed */
  env_close(&e);
  return ws_worse(err, e2);
}

typedef struct scenario {
  const char *name;
  int (*fn)(void);
} scenario;

static const scenario scenarios[] = {
    {"get", sc_get},       {"keepalive", sc_keepalive},
    {"tls", sc_tls},       {"redirect_cookies", sc_redirect_cookies},
    {"gzip", sc_gzip},     {"gather", sc_gather},
    {"cli", NULL},         {"pipeline", sc_pipeline},
    {"upload", sc_upload}, {"cookie_file", sc_cookie_file},
    {"retry", sc_retry},   {"map", sc_map},
    {"dns", sc_dns},       {"proxy", sc_proxy},
    {"stream", sc_stream}, {"h2c", sc_h2c},
    {"h2tls", sc_h2tls},   {"ws", sc_ws},
    {"cli_ws", NULL},
};


/* A run's verdict (the child's exit code): CHILD_CLEAN, CHILD_INJECTED, or
 * a finding: CHILD_HANG, CHILD_FDS, CHILD_BAD (something else), 100 + the
 * curl code of the error it ended with (108: also a wrong response), 66
 * (LSan: a leak), 200 (a crash). */
enum { CHILD_CLEAN = 0, CHILD_BAD = 1, CHILD_HANG = 2, CHILD_FDS = 3, CHILD_INJECTED = 10 };

/* Findings reported to whoever owns the code, not fixed yet: a run of this
 * scenario ending with this verdict is printed as KNOWN and does not fail
 * the test. Remove the line once it is fixed. */
static const struct known {
  const char *scenario;
  int mode; /* 0: only allocation N fails, 1: N and after, -1: either */
  int verdict;
  const char *why;
} known[] = {
    {"dns", -1, 106,
     "c-ares 1.18.1: when creating one of the two queries (A, AAAA) fails for "
     "want of memory and the other answers 'no data', ares_getaddrinfo reports "
     "ENOTFOUND: FL_ERESOLVE (and a negative cache entry) instead of FL_ENOMEM"},
    {"dns", 1, 128,
     "c-ares 1.18.1 with every allocation failing: it cannot create the second "
     "query nor read the first one's answer (that needs memory), so the lookup "
     "ends at its deadline: FL_EDNS_TIMEOUT instead of FL_ENOMEM"},
};

static const struct known *known_finding(const scenario *s, int verdict) {
  if (getenv("FL_TORTURE_STRICT")) return NULL; /* the torture.xfail.* tests */
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strcmp(known[i].scenario, s->name) == 0 && known[i].verdict == verdict &&
        (known[i].mode < 0 || known[i].mode == from_mode))
      return &known[i];
  return NULL;
}

static void watchdog(int sig) {
  (void)sig;
  static const char msg[] = "  run did not finish within 10 s (hang)\n";
  ssize_t w = write(2, msg, sizeof msg - 1);
  (void)w;
  _exit(CHILD_HANG);
}

/* One run with allocation n failing (0: none). Returns the child's verdict:
 * CHILD_CLEAN (n was never reached), CHILD_INJECTED (reached, and the result
 * was acceptable) or anything else (a finding). *count: allocations made. */
static int run_once(const scenario *s, long n, long *count) {
  if (!s->fn) {
    int injected = 0;
    int rc = run_cli(s->name, n ? n : LONG_MAX, count, &injected);
    if (rc != 0 && rc != 27) return rc < 0 ? 200 : rc;
    if (rc == 27 && !injected) {
      fprintf(stderr, "  CLI exit 27 though no allocation failed\n");
      return CHILD_BAD;
    }
    return injected ? CHILD_INJECTED : CHILD_CLEAN;
  }
  int pipefd[2];
  if (pipe(pipefd) != 0) return CHILD_BAD;
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return CHILD_BAD;
  if (pid == 0) {
    close(pipefd[0]);
    signal(SIGALRM, watchdog);
    alarm(10);
    int fds = fl_test_count_fds();
    alloc_fail_arm_mode(n ? n : LONG_MAX, from_mode); /* n == 0: count only */
    int err = s->fn();
    long c = alloc_fail_count();
    int inj = alloc_fail_injected();
    alloc_fail_arm(0);
    ssize_t w = write(pipefd[1], &c, sizeof c);
    (void)w;
    close(pipefd[1]);
    int verdict = inj ? CHILD_INJECTED : CHILD_CLEAN;
    if (!acceptable(err)) {
      fprintf(stderr, "  ended with %s\n", fl_err_name(err));
      verdict = 100 + fl_err_curl_code(err);
    } else if (err == FL_ENOMEM && !inj) {
      fprintf(stderr, "  FL_ENOMEM though no allocation failed\n");
      verdict = CHILD_BAD;
    }
    if (fl_test_count_fds() != fds - 1) { /* the pipe's write end is closed */
      fprintf(stderr, "  descriptors left open: %d at start, %d at end\n", fds - 1,
              fl_test_count_fds());
      verdict = CHILD_FDS;
    }
    fflush(NULL);
    /* LSan (ASan builds) checks for leaks now; then _exit, so that no
     * atexit handler (such as the one stopping the fault server) runs. */
    if (__lsan_do_leak_check) __lsan_do_leak_check();
    _exit(verdict);
  }
  close(pipefd[1]);
  *count = 0;
  ssize_t r = read(pipefd[0], count, sizeof *count);
  (void)r;
  close(pipefd[0]);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    fprintf(stderr, "  killed by signal %d\n", WTERMSIG(status));
    return 200;
  }
  return WEXITSTATUS(status);
}

static int torture(const scenario *s) {
  long max = getenv("FL_TORTURE_MAX") ? atol(getenv("FL_TORTURE_MAX")) : 20000;
  if (getenv("FL_TORTURE_ONLY")) { /* one run, to look at a finding */
    long count, at = atol(getenv("FL_TORTURE_ONLY"));
    from_mode = getenv("FL_TORTURE_MODE") && strcmp(getenv("FL_TORTURE_MODE"), "from") == 0;
    int v = run_once(s, at, &count);
    printf("%s with allocation %ld%s failing: verdict %d, %ld allocations\n", s->name, at,
           from_mode ? " and all after it" : "", v, count);
    return v != CHILD_INJECTED && v != CHILD_CLEAN;
  }
  long step = getenv("FL_TORTURE_STEP") ? atol(getenv("FL_TORTURE_STEP")) : 1;
  if (step < 1) step = 1;
  long count = 0;
  long long t0 = now_ms();
  int v = run_once(s, 0, &count);
  if (v != CHILD_CLEAN) {
    fprintf(stderr, "%s: the scenario fails without any allocation failing (verdict %d)\n", s->name,
            v);
    return 1;
  }
  printf("%s: %ld allocations in a clean run\n", s->name, count);
  fflush(stdout);
  int findings = 0, nknown = 0;
  long n, runs = 0, last = count;
  for (n = 1; n <= max; n += step) {
    v = run_once(s, n, &count);
    runs++;
    if (v == CHILD_CLEAN) break; /* the run made fewer than n allocations */
    const struct known *k = v != CHILD_INJECTED ? known_finding(s, v) : NULL;
    if (k) {
      if (nknown++ == 0)
        fprintf(stderr, "%s: KNOWN finding (not failing the test): %s\n", s->name, k->why);
      fprintf(stderr, "%s: KNOWN with allocation %ld failing (verdict %d)\n", s->name, n, v);
    } else if (v != CHILD_INJECTED) {
      findings++;
      fprintf(stderr, "%s: FINDING with allocation %ld%s failing (verdict %d, %s)\n", s->name, n,
              from_mode ? " and all after it" : "", v,
              v == 66           ? "LSan: leak"
              : v == 200        ? "crash"
              : v == CHILD_HANG ? "hang"
              : v == CHILD_FDS  ? "descriptors left open"
                                : "bad result");
      if (findings >= 20) {
        fprintf(stderr, "%s: 20 findings, stopping\n", s->name);
        break;
      }
    }
    if (count > last) last = count;
  }
  printf(
      "%s, %s: N = 1..%ld (%ld runs, up to %ld allocations a run), %d finding(s), %d known, %.1f s\n",
      s->name, from_mode ? "allocations N and after fail" : "allocation N fails", n - 1, runs, last,
      findings, nknown, (now_ms() - t0) / 1000.0);
  return findings ? 1 : 0;
}

int main(int argc, char **argv) {
  FL_TEST_BEGIN();
  if (argc < 2) {
    fprintf(stderr, "usage: %s SCENARIO... (", argv[0]);
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
      fprintf(stderr, "%s%s", i ? " " : "", scenarios[i].name);
    fprintf(stderr, ")\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  /* c-ares's allocations go through the same counter (before any use). */
  if (ares_library_init_mem(ARES_LIB_INIT_ALL, alloc_fail_malloc, alloc_fail_free,
                            alloc_fail_realloc) != ARES_SUCCESS) {
    fprintf(stderr, "ares_library_init_mem failed\n");
    return 1;
  }
  fault_port = fl_test_fault_start();
  int failed = 0, warmed = 0;
  for (int a = 1; a < argc; a++) {
    const scenario *s = NULL;
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
      if (strcmp(scenarios[i].name, argv[a]) == 0) s = &scenarios[i];
    if (!s) {
      fprintf(stderr, "no scenario %s\n", argv[a]);
      return 2;
    }
    /* Process-wide state that the library sets up once (the public suffix
     * list, c-ares and OpenSSL initialisation) is set up here, before the
     * runs fork, except for "get", whose runs cover it too. */
    if (s->fn != sc_get && !warmed) {
      fl_loop *l = fl_loop_new();
      fl_client *c = l ? fl_client_new(l, NULL) : NULL;
      fl_client_free(c);
      if (l) fl_loop_free(l);
      warmed = 1;
    }
    if (s->fn == sc_tls) {
      tls_port = fl_test_server_port("nginx_tls");
      snprintf(tls_ca, sizeof tls_ca, "%s", fl_test_rundir_path("nginx_tls/ca.pem"));
    }
    if (s->fn == sc_dns && !dns_port) {
      char file[4096], arg[4200];
      snprintf(file, sizeof file, "%s", fl_test_rundir_path("torture.dns.port"));
      unlink(file);
      snprintf(arg, sizeof arg, "--dns-port-file=%s", file);
      fl_test_script_start("fault_server.py", arg);
      FILE *f = fopen(file, "r");
      if (!f || fscanf(f, "%d", &dns_port) != 1) {
        fprintf(stderr, "no DNS port in %s\n", file);
        return 1;
      }
      fclose(f);
    }
    if (s->fn == sc_h2c && !h2c_port) {
      fl_test_server_port("nghttpd"); /* the fixture is up */
      FILE *f = fopen(fl_test_rundir_path("nghttpd.h2c.port"), "r");
      if (!f || fscanf(f, "%d", &h2c_port) != 1) {
        fprintf(stderr, "no h2c port in nghttpd.h2c.port\n");
        return 1;
      }
      fclose(f);
    }
    if (s->fn == sc_h2tls) {
      h2tls_port = fl_test_server_port("nginx_h2");
      snprintf(h2tls_ca, sizeof h2tls_ca, "%s", fl_test_rundir_path("nginx_h2/ca.pem"));
    }
    if ((s->fn == sc_ws || !strcmp(s->name, "cli_ws")) && !ws_port)
      ws_port = fl_test_script_start("ws_raw_server.py", NULL);
    if (!strcmp(s->name, "cli_ws")) {
      FILE *f = fopen(fl_test_rundir_path("torture.cli_ws.stdin"), "w");
      CHECK(f);
      fputs(CLI_WS_LINES, f);
      fclose(f);
    }
    if (s->fn == sc_proxy && !proxy_port)
      proxy_port = fl_test_script_start("proxy_server.py", NULL);
    if (s->fn == sc_cookie_file) {
      snprintf(cookie_file, sizeof cookie_file, "%s", fl_test_rundir_path("torture.cookies.in"));
      snprintf(cookie_out, sizeof cookie_out, "%s", fl_test_rundir_path("torture.cookies.out"));
      FILE *f = fopen(cookie_file, "w");
      CHECK(f);
      fprintf(f, "# Netscape HTTP Cookie File\n\n"
                 ".example.test\tTRUE\t/\tFALSE\t0\tsess\t1\n"
                 "#HttpOnly_www.example.test\tFALSE\t/a\tTRUE\t4102444800\tsecure\tyes\n"
                 "bad line\n"
                 "other.test\tFALSE\t/\tFALSE\t0\tz\t9\n");
      fclose(f);
    }
    const char *modes = getenv("FL_TORTURE_MODES"); /* "one", "from"; default both */
    for (from_mode = 0; from_mode <= 1; from_mode++) {
      if (modes && strcmp(modes, from_mode ? "from" : "one") != 0) continue;
      failed |= torture(s);
      if (getenv("FL_TORTURE_ONLY")) break;
    }
  }
  if (failed) return 1;
  FL_TEST_END();
}
