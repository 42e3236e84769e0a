/* -#/--progress-bar: curl 7.88's bar on stderr. A known size draws a line
 * of '#' scaled to the width with the percentage after it, redrawn in
 * place with '\r'; an unknown size draws a moving pattern instead (a small
 * marker running to and fro, four '#' on a wave). At most 10 redraws
 * a second, except the one that reaches 100%; a transfer that drew
 * anything ends its line with a newline, as curl does. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"

#define BAR_MAX 256 /* widest line, as curl */
#define BAR_TICKS 200

struct cli_bar {
  fl_loop *loop;
  int width;
  unsigned calls; /* updates taken; the newline at the end needs one */
  uint64_t prev;
  uint64_t prev_ms;
  unsigned tick; /* phase of the sine wave of the unknown-size pattern */
  int pos, step; /* its marker's column and direction */
  int hidden;    /* not its turn: the last update is kept, nothing drawn */
  int held;
  uint64_t held_now, held_total;
};

/* COLUMNS (21..9999) as curl reads it, else the terminal's width (curl asks
 * stdin's terminal), else 79; at most BAR_MAX. */
static int bar_width(void) {
  int w = 0;
  const char *c = getenv("COLUMNS");
  if (c && *c) {
    char *end;
    long v = strtol(c, &end, 10);
    if (!*end && v > 20 && v < 10000) w = (int)v;
  }
  if (!w) {
    struct winsize ws;
    if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) w = ws.ws_col;
  }
  if (!w) return 79;
  return w > BAR_MAX ? BAR_MAX : w;
}

cli_bar *cli_bar_new(fl_loop *loop, int hidden) {
  cli_bar *b = calloc(1, sizeof *b);
  if (!b) return NULL;
  b->loop = loop;
  b->hidden = hidden;
  b->width = bar_width();
  b->step = 1;
  return b;
}

/* One frame of the unknown-size pattern; the marker moves only when bytes
 * came since the last frame. */
static void fly(cli_bar *b, int moved) {
  char line[BAR_MAX + 2];
  int w = b->width;
  memset(line, ' ', (size_t)w);
  line[w] = '\r';
  line[w + 1] = '\0';
  memcpy(line + b->pos, "-=O=-", 5);
  for (unsigned k = 0; k < 4; k++) {
    double phase = 2.0 * M_PI * (double)((b->tick + 5 * k) % BAR_TICKS) / BAR_TICKS;
    int col = (int)((1.0 - cos(phase)) / 2.0 * (w - 2)); /* from the left, as curl's */
    line[col] = '#';
  }
  fputs(line, stderr);
  b->tick = (b->tick + 2) % BAR_TICKS;
  if (moved) b->pos += b->step;
  if (b->pos >= w - 6) {
    b->pos = w - 6;
    b->step = -1;
  } else if (b->pos < 0) {
    b->pos = 0;
    b->step = 1;
  }
}

void cli_bar_update(cli_bar *b, uint64_t now, uint64_t total) {
  if (!b) return;
  if (b->hidden) {
    b->held = 1;
    b->held_now = now;
    b->held_total = total;
    return;
  }
  uint64_t ms = fl_loop_now(b->loop);
  if (b->calls) {
    if (total) {
      if (now == b->prev) return;
      if (ms - b->prev_ms < 100 && now < total) return;
    } else {
      if (ms - b->prev_ms < 100) return;
      fly(b, now != b->prev);
    }
  }
  b->calls++;
  if (total && now != b->prev) {
    if (now > total) total = now; /* more than announced */
    double frac = (double)now / (double)total;
    int barwidth = b->width - 7;
    int n = (int)(barwidth * frac);
    char line[BAR_MAX + 1];
    memset(line, '#', (size_t)n);
    line[n] = '\0';
    fprintf(stderr, "\r%-*s %5.1f%%", barwidth, line, frac * 100.0);
  }
  fflush(stderr);
  b->prev = now;
  b->prev_ms = ms;
}

void cli_bar_show(cli_bar *b) {
  if (!b || !b->hidden) return;
  b->hidden = 0;
  if (b->held) cli_bar_update(b, b->held_now, b->held_total);
}

void cli_bar_free(cli_bar *b) {
  if (!b) return;
  if (b->calls) {
    fputc('\n', stderr);
    fflush(stderr);
  }
  free(b);
}
