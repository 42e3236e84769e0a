/* Ordered stdout: one part per transfer, written whole and in command-line
 * order. A part held back goes to memory until all parts together hold
 * HOLD_MAX bytes, then to a temporary file, so a slow first URL cannot make
 * the tool hold every later body in memory. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define HOLD_MAX (64u * 1024 * 1024)

static int stdout_write(cli_outq *q, const void *p, size_t n) {
  if (q->broken) return CLI_EXIT_WRITE;
  if (n && fwrite(p, 1, n, stdout) != n) q->broken = 1;
  /* Flush as we go: output shows up while the transfer runs, and a closed
   * pipe is noticed at once. */
  if (!q->broken && fflush(stdout) != 0) q->broken = 1;
  return q->broken ? CLI_EXIT_WRITE : 0;
}

int cli_out_write(cli_outq *q, cli_out *o, const void *p, size_t n) {
  if (n) o->used = 1;
  if (o->direct) return stdout_write(q, p, n);
  if (!o->spill && q->held + n > HOLD_MAX) {
    o->spill = tmpfile();
    if (!o->spill) {
      cli_msg("cannot create a temporary file to hold output: %s", strerror(errno));
      return CLI_EXIT_WRITE;
    }
  }
  if (o->spill) return fwrite(p, 1, n, o->spill) == n ? 0 : CLI_EXIT_WRITE;
  cli_buf_add(&o->mem, p, n);
  q->held += n;
  return 0;
}

int cli_out_go_direct(cli_outq *q, cli_out *o) {
  if (o->direct) return 0;
  o->direct = 1;
  int rc = stdout_write(q, o->mem.data, o->mem.len);
  q->held -= o->mem.len;
  cli_buf_free(&o->mem);
  if (o->spill) {
    char chunk[65536];
    size_t n;
    if (fflush(o->spill) != 0 || fseek(o->spill, 0, SEEK_SET) != 0) rc = CLI_EXIT_WRITE;
    while (!rc && (n = fread(chunk, 1, sizeof chunk, o->spill)) > 0) rc = stdout_write(q, chunk, n);
    if (ferror(o->spill)) rc = CLI_EXIT_WRITE;
    fclose(o->spill);
    o->spill = NULL;
  }
  return rc;
}

int cli_out_loose(cli_outq *q, const cli_out *current, const void *p, size_t n) {
  if (current && current->direct && current->used) { /* mid-part: wait for its end */
    cli_buf_add(&q->loose, p, n);
    return 0;
  }
  int rc = cli_out_flush_loose(q);
  return rc ? rc : stdout_write(q, p, n);
}

int cli_out_flush_loose(cli_outq *q) {
  if (!q->loose.len) return 0;
  int rc = stdout_write(q, q->loose.data, q->loose.len);
  cli_buf_free(&q->loose);
  return rc;
}

void cli_out_drop(cli_outq *q, cli_out *o) {
  q->held -= o->mem.len;
  cli_buf_free(&o->mem);
  if (o->spill) fclose(o->spill);
  o->spill = NULL;
}
