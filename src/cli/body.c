/* Request bodies as segment lists: memory pieces and ranges of open files,
 * streamed with pread so that concurrent transfers share one descriptor
 * without sharing a file offset. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static void add_segment(cli_body *b, cli_segment seg) {
  if (b->n == b->cap) {
    b->cap = b->cap ? b->cap * 2 : 8;
    b->segs = cli_xrealloc(b->segs, b->cap * sizeof *b->segs);
  }
  b->segs[b->n++] = seg;
  b->total += seg.len;
}

void cli_body_add_mem(cli_body *b, const void *p, size_t n) {
  if (!n) return;
  char *copy = cli_xrealloc(NULL, n);
  memcpy(copy, p, n);
  b->owned = cli_xrealloc(b->owned, (b->nowned + 1) * sizeof *b->owned);
  b->owned[b->nowned++] = copy;
  add_segment(b, (cli_segment){.mem = copy, .fd = -1, .len = n});
}

void cli_body_add_file(cli_body *b, int fd, uint64_t len) {
  cli_body_add_file_range(b, fd, 0, len);
}

void cli_body_add_file_range(cli_body *b, int fd, uint64_t off, uint64_t len) {
  b->fds = cli_xrealloc(b->fds, (b->nfds + 1) * sizeof *b->fds);
  b->fds[b->nfds++] = fd;
  if (len) add_segment(b, (cli_segment){.mem = NULL, .fd = fd, .off = off, .len = len});
}

long cli_body_read(cli_body_cursor *c, char *buf, size_t cap) {
  size_t done = 0;
  while (done < cap && c->seg < c->body->n) {
    const cli_segment *s = &c->body->segs[c->seg];
    uint64_t left = s->len - c->off;
    size_t want = cap - done < left ? cap - done : (size_t)left;
    if (s->mem) {
      memcpy(buf + done, s->mem + c->off, want);
    } else {
      ssize_t n = pread(s->fd, buf + done, want, (off_t)(s->off + c->off));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return -1; /* error, or the file got shorter */
      want = (size_t)n;
    }
    done += want;
    c->off += want;
    if (c->off == s->len) {
      c->seg++;
      c->off = 0;
    }
  }
  return (long)done;
}

int cli_body_flatten(cli_body *b) {
  if (b->flat) return 0;
  if (b->total > SIZE_MAX - 1) return CLI_EXIT_NOMEM;
  char *flat = malloc((size_t)b->total + 1);
  if (!flat) return CLI_EXIT_NOMEM;
  cli_body_cursor c = {.body = b};
  long n = b->total ? cli_body_read(&c, flat, (size_t)b->total) : 0;
  if (n < 0 || (uint64_t)n != b->total) {
    free(flat);
    return CLI_EXIT_READ;
  }
  flat[b->total] = '\0';
  b->flat = flat;
  return 0;
}

void cli_body_free(cli_body *b) {
  for (size_t i = 0; i < b->nowned; i++) free(b->owned[i]);
  for (size_t i = 0; i < b->nfds; i++) close(b->fds[i]);
  free(b->owned);
  free(b->fds);
  free(b->segs);
  free(b->flat);
  memset(b, 0, sizeof *b);
}
