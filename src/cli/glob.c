/* URL globbing as curl does it: {a,b,c} sets, [1-10] and [001-100]
 * (zero-padded to the first number's width), [a-z], steps [0-100:10] and
 * [a-z:2]. The last pattern varies fastest. "\[" "\]" "\{" "\}" "\," are
 * literal; "[]" and an IPv6 literal "[::1]" are not patterns. A bad pattern
 * is curl's exit 3, its message pointing at the place (1-based). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define GLOB_MAX_URLS 1000000 /* a bound on what one argument may become */

typedef struct seg {
  char *text;   /* literal (NULL: a pattern) */
  char **items; /* a pattern's texts */
  size_t nitems;
} seg;

typedef struct parser {
  const char *url;
  seg *segs;
  size_t nsegs;
  cli_buf lit;
  char *err;
  size_t errcap;
} parser;

static int fail(parser *p, const char *what, size_t pos) {
  /* curl's layout: the message with the position, the URL, a caret */
  cli_buf b = {0};
  cli_buf_printf(&b, "%s in URL position %zu:\n%s\n%*s^", what, pos, p->url, (int)(pos - 1), "");
  snprintf(p->err, p->errcap, "%s", b.data);
  cli_buf_free(&b);
  return -1;
}

static seg *new_seg(parser *p) {
  p->segs = cli_xrealloc(p->segs, (p->nsegs + 1) * sizeof *p->segs);
  seg *s = &p->segs[p->nsegs++];
  memset(s, 0, sizeof *s);
  return s;
}

static void flush_lit(parser *p) {
  if (!p->lit.len) return;
  new_seg(p)->text = p->lit.data;
  p->lit = (cli_buf){0};
}

static void add_item(seg *s, const char *t, size_t n) {
  s->items = cli_xrealloc(s->items, (s->nitems + 1) * sizeof *s->items);
  s->items[s->nitems++] = cli_strndup(t, n);
}

static int is_escapable(char c) { return c && strchr("[]{},", c) != NULL; }

/* {a,b}: i at '{'. Returns the index after '}' or -1. */
static long parse_set(parser *p, size_t i) {
  const char *u = p->url;
  seg *s = new_seg(p);
  cli_buf item = {0};
  size_t open = i++;
  for (;; i++) {
    char c = u[i];
    if (!c) {
      cli_buf_free(&item);
      return fail(p, "unmatched brace", open + 1);
    }
    if (c == '\\' && is_escapable(u[i + 1])) {
      cli_buf_addc(&item, u[++i]);
      continue;
    }
    if (c == '{' || c == '[') {
      cli_buf_free(&item);
      return fail(p, "nested brace", i + 1);
    }
    if (c == ',' || c == '}') {
      if (c == '}' && !s->nitems && !item.len) {
        cli_buf_free(&item);
        return fail(p, "empty string within braces", i + 1);
      }
      add_item(s, item.data ? item.data : "", item.len);
      cli_buf_free(&item);
      if (c == '}') return (long)i + 1;
    } else {
      cli_buf_addc(&item, c);
    }
  }
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* [...] holding an IPv6 address (with a zone) is part of the host. */
static int ipv6_literal(const char *u, size_t i, size_t *end) {
  const char *close = strchr(u + i, ']');
  if (!close) return 0;
  size_t n = (size_t)(close - u - i - 1);
  char buf[64];
  if (n == 0 || n >= sizeof buf) return 0;
  memcpy(buf, u + i + 1, n);
  buf[n] = '\0';
  char *pct = strchr(buf, '%');
  if (pct) *pct = '\0';
  struct in6_addr a;
  if (inet_pton(AF_INET6, buf, &a) != 1) return 0;
  *end = (size_t)(close - u) + 1;
  return 1;
}

/* [1-10], [001-100], [a-z], with :STEP. i at '['. */
static long parse_range(parser *p, size_t i) {
  const char *u = p->url;
  size_t start = i + 1, k = start;
  char *end;
  if (is_alpha(u[k]) && u[k + 1] == '-') { /* letters */
    char lo = u[k], hi = u[k + 2];
    unsigned long step = 1;
    k += 3;
    if (!is_alpha(hi)) { /* curl points past the ']' */
      const char *close = strchr(u + k, ']');
      return fail(p, "bad range", close ? (size_t)(close - u) + 2 : k + 1);
    }
    if (u[k] == ':') {
      errno = 0;
      step = strtoul(u + k + 1, &end, 10);
      if (end == u + k + 1 || errno || u[k + 1] == '-') step = 0;
      k = (size_t)(end - u);
    }
    if (u[k] != ']') return fail(p, "bad range", k + 1);
    k++;
    if (!step || lo > hi || (lo >= 'a') != (hi >= 'a')) return fail(p, "bad range", k + 1);
    seg *s = new_seg(p);
    for (int c = lo; c <= hi; c += (int)step) {
      char t = (char)c;
      add_item(s, &t, 1);
    }
    return (long)k;
  }
  if (!is_digit(u[k])) return fail(p, "bad range", start + 1);
  size_t width = 0;
  errno = 0;
  unsigned long long lo = strtoull(u + k, &end, 10);
  if (u[k] == '0' && is_digit(u[k + 1])) width = (size_t)(end - (u + k)); /* [001-100] */
  if (errno || *end != '-') return fail(p, "bad range", start + 1);
  k = (size_t)(end - u) + 1;
  size_t maxpos = k;
  if (!is_digit(u[k])) return fail(p, "bad range", maxpos + 1);
  unsigned long long hi = strtoull(u + k, &end, 10), step = 1;
  k = (size_t)(end - u);
  if (errno || (u[k] != ']' && u[k] != ':')) return fail(p, "bad range", maxpos + 1);
  int badstep = 0;
  if (u[k] == ':') {
    badstep = !is_digit(u[k + 1]);
    step = strtoull(u + k + 1, &end, 10);
    k = (size_t)(end - u);
    while (u[k] && u[k] != ']') k++; /* curl reports past the ']' */
    if (u[k] != ']') return fail(p, "bad range", k + 1);
  }
  k++;
  if (badstep || !step || lo > hi || errno || (hi - lo) / step >= GLOB_MAX_URLS)
    return fail(p, "bad range", k + 1);
  seg *s = new_seg(p);
  for (unsigned long long v = lo;; v += step) {
    char t[32];
    int n = snprintf(t, sizeof t, "%0*llu", (int)width, v);
    add_item(s, t, (size_t)n);
    if (hi - v < step) break;
  }
  return (long)k;
}

static int parse(parser *p) {
  const char *u = p->url;
  for (size_t i = 0; u[i];) {
    char c = u[i];
    size_t end;
    if (c == '\\' && is_escapable(u[i + 1])) {
      cli_buf_addc(&p->lit, u[i + 1]);
      i += 2;
    } else if (c == '{' || (c == '[' && u[i + 1] != ']' && !ipv6_literal(u, i, &end))) {
      flush_lit(p);
      long next = c == '{' ? parse_set(p, i) : parse_range(p, i);
      if (next < 0) return -1;
      i = (size_t)next;
    } else if (c == '[') { /* "[]" or an IPv6 literal: as is */
      size_t stop = u[i + 1] == ']' ? i + 2 : end;
      cli_buf_add(&p->lit, u + i, stop - i);
      i = stop;
    } else if (c == '}' || c == ']') {
      return fail(p, "unmatched close brace/bracket", i + 1);
    } else {
      cli_buf_addc(&p->lit, c);
      i++;
    }
  }
  flush_lit(p);
  return 0;
}

static void free_segs(parser *p) {
  for (size_t i = 0; i < p->nsegs; i++) {
    free(p->segs[i].text);
    for (size_t j = 0; j < p->segs[i].nitems; j++) free(p->segs[i].items[j]);
    free(p->segs[i].items);
  }
  free(p->segs);
  cli_buf_free(&p->lit);
}

int cli_glob_expand(const char *pattern, cli_glob *g, char *err, size_t errcap) {
  parser p = {.url = pattern, .err = err, .errcap = errcap};
  memset(g, 0, sizeof *g);
  if (parse(&p) != 0) {
    free_segs(&p);
    return CLI_EXIT_URL;
  }
  size_t total = 1, npat = 0;
  for (size_t i = 0; i < p.nsegs; i++) {
    if (p.segs[i].text) continue;
    npat++;
    if (total > GLOB_MAX_URLS / p.segs[i].nitems) {
      fail(&p, "too many URLs from one glob", strlen(pattern));
      free_segs(&p);
      return CLI_EXIT_URL;
    }
    total *= p.segs[i].nitems;
  }
  size_t *idx = cli_xrealloc(NULL, (p.nsegs + 1) * sizeof *idx);
  memset(idx, 0, (p.nsegs + 1) * sizeof *idx);
  g->urls = cli_xrealloc(NULL, total * sizeof *g->urls);
  g->parts = cli_xrealloc(NULL, total * sizeof *g->parts);
  g->nparts = npat;
  for (size_t n = 0; n < total; n++) {
    cli_buf b = {0};
    char **parts = cli_xrealloc(NULL, (npat + 1) * sizeof *parts);
    size_t k = 0;
    for (size_t i = 0; i < p.nsegs; i++) {
      if (p.segs[i].text) {
        cli_buf_adds(&b, p.segs[i].text);
      } else {
        const char *t = p.segs[i].items[idx[i]];
        cli_buf_adds(&b, t);
        parts[k++] = cli_strdup(t);
      }
    }
    g->urls[n] = b.data ? b.data : cli_strdup("");
    g->parts[n] = parts;
    /* odometer: the last pattern turns fastest */
    for (size_t i = p.nsegs; i-- > 0;) {
      if (p.segs[i].text) continue;
      if (++idx[i] < p.segs[i].nitems) break;
      idx[i] = 0;
    }
  }
  g->n = total;
  free(idx);
  free_segs(&p);
  return 0;
}

char *cli_glob_name(const char *name, char **parts, size_t nparts) {
  cli_buf b = {0};
  for (const char *s = name; *s;) {
    if (s[0] == '#' && is_digit(s[1])) {
      char *end;
      unsigned long k = strtoul(s + 1, &end, 10);
      if (k >= 1 && k <= nparts) {
        cli_buf_adds(&b, parts[k - 1]);
        s = end;
        continue;
      }
    }
    cli_buf_addc(&b, *s++);
  }
  return b.data ? b.data : cli_strdup("");
}

void cli_glob_free(cli_glob *g) {
  for (size_t i = 0; i < g->n; i++) {
    free(g->urls[i]);
    for (size_t k = 0; k < g->nparts; k++) free(g->parts[i][k]);
    free(g->parts[i]);
  }
  free(g->urls);
  free(g->parts);
  memset(g, 0, sizeof *g);
}
