/* stderr: messages, -v blocks and the progress meter.
 *
 * stderr is one per process, so its state (is a meter line on screen, are
 * errors silenced) is process state too: the two statics below. Whatever
 * writes to stderr first wipes the meter line; the next tick redraws it. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int meter_on_screen; /* a meter line without its newline is shown */
static int errors_quiet;    /* -s without -S */
static int warnings_quiet;  /* -s */

static void clear_meter_line(void) {
  if (!meter_on_screen) return;
  fputs("\r\033[K", stderr);
  meter_on_screen = 0;
}

void cli_msg_quiet(int quiet) { errors_quiet = quiet; }

static void vmsg(const char *prefix, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void vmsg(const char *prefix, const char *fmt, va_list ap) {
  clear_meter_line();
  fputs("flurry: ", stderr);
  fputs(prefix, stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  fflush(stderr);
}

void cli_msg(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vmsg("", fmt, ap);
  va_end(ap);
}

void cli_warn_quiet(int quiet) { warnings_quiet = quiet; }

void cli_warn(const char *fmt, ...) {
  if (warnings_quiet) return;
  va_list ap;
  va_start(ap, fmt);
  vmsg("warning: ", fmt, ap);
  va_end(ap);
}

void cli_note(const char *fmt, ...) {
  if (warnings_quiet) return;
  va_list ap;
  va_start(ap, fmt);
  vmsg("note: ", fmt, ap);
  va_end(ap);
}

void cli_error(int code, const char *fmt, ...) {
  if (errors_quiet) return;
  char prefix[16];
  snprintf(prefix, sizeof prefix, "(%d) ", code);
  va_list ap;
  va_start(ap, fmt);
  vmsg(prefix, fmt, ap);
  va_end(ap);
}

void cli_stderr_write(const char *p, size_t n) {
  clear_meter_line();
  fwrite(p, 1, n, stderr);
  fflush(stderr);
}

/* --------------------------------------------------------------- meter */

struct cli_meter {
  fl_loop *loop;
  fl_timer *timer;
  uint64_t start_ms;
  size_t total, done, failed;
  uint64_t bytes;
};

static void human_bytes(char *out, size_t cap, double v) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  size_t u = 0;
  while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) v /= 1024, u++;
  if (u == 0)
    snprintf(out, cap, "%.0f %s", v, units[u]);
  else
    snprintf(out, cap, "%.1f %s", v, units[u]);
}

static void draw(cli_meter *m) {
  double secs = (double)(fl_loop_now(m->loop) - m->start_ms) / 1000.0;
  char bytes[32], rate[32];
  human_bytes(bytes, sizeof bytes, (double)m->bytes);
  human_bytes(rate, sizeof rate, secs > 0 ? (double)m->bytes / secs : 0);
  fprintf(stderr, "\r\033[K[%zu/%zu] %zu failed, %s, %s/s, %.1f s", m->done, m->total, m->failed,
          bytes, rate, secs);
  fflush(stderr);
  meter_on_screen = 1;
}

static void tick(fl_timer *t, void *data) {
  (void)t;
  draw(data);
}

cli_meter *cli_meter_new(fl_loop *loop, size_t total) {
  if (!isatty(STDERR_FILENO)) return NULL;
  cli_meter *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  m->loop = loop;
  m->total = total;
  m->start_ms = fl_loop_now(loop);
  m->timer = fl_timer_new(loop);
  if (!m->timer || fl_timer_start(m->timer, 250, 250, tick, m) != 0) {
    fl_timer_free(m->timer);
    free(m);
    return NULL;
  }
  return m;
}

void cli_meter_update(cli_meter *m, size_t done, size_t failed, uint64_t bytes) {
  if (!m) return;
  m->done = done;
  m->failed = failed;
  m->bytes = bytes;
}

void cli_meter_free(cli_meter *m) {
  if (!m) return;
  fl_timer_free(m->timer);
  draw(m);
  fputc('\n', stderr);
  meter_on_screen = 0;
  free(m);
}
