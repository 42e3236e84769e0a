/* Small helpers: growable buffers, strings, base64, JSON strings, files. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static void out_of_memory(void) {
  fputs("flurry: out of memory\n", stderr);
  exit(CLI_EXIT_NOMEM);
}

void *cli_xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) out_of_memory();
  return q;
}

char *cli_strndup(const char *s, size_t n) {
  char *p = cli_xrealloc(NULL, n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *cli_strdup(const char *s) { return cli_strndup(s, strlen(s)); }

/* ------------------------------------------------------------- buffers */

static void buf_reserve(cli_buf *b, size_t extra) {
  if (extra > SIZE_MAX / 2 - b->len) out_of_memory();
  size_t need = b->len + extra + 1;
  if (need <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need) cap *= 2;
  b->data = cli_xrealloc(b->data, cap);
  b->cap = cap;
}

void cli_buf_add(cli_buf *b, const void *p, size_t n) {
  buf_reserve(b, n);
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void cli_buf_adds(cli_buf *b, const char *s) { cli_buf_add(b, s, strlen(s)); }

void cli_buf_addc(cli_buf *b, char c) { cli_buf_add(b, &c, 1); }

void cli_buf_printf(cli_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return; /* only for invalid formats, which -Wformat rules out */
  buf_reserve(b, (size_t)n);
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void cli_buf_free(cli_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* ------------------------------------------------------------- strings */

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

int cli_strcaseeq(const char *a, const char *b) {
  while (*a && lower((unsigned char)*a) == lower((unsigned char)*b)) a++, b++;
  return *a == *b;
}

char *cli_base64(const void *p, size_t n) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unsigned char *s = p;
  char *out = cli_xrealloc(NULL, (n + 2) / 3 * 4 + 1);
  char *o = out;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)s[i] << 16;
    if (i + 1 < n) v |= (uint32_t)s[i + 1] << 8;
    if (i + 2 < n) v |= s[i + 2];
    *o++ = tab[v >> 18];
    *o++ = tab[(v >> 12) & 63];
    *o++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
    *o++ = i + 2 < n ? tab[v & 63] : '=';
  }
  *o = '\0';
  return out;
}

/* Length of a valid UTF-8 sequence at s (1..4), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s) {
  unsigned c = s[0];
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf)
    n = 2, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef)
    n = 3, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4)
    n = 4, cp = c & 0x07;
  else
    return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (s[i] & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

void cli_json_string(cli_buf *b, const char *str) {
  const unsigned char *s = (const unsigned char *)str;
  cli_buf_addc(b, '"');
  while (*s) {
    unsigned c = *s;
    size_t n = utf8_len(s);
    if (c == '"' || c == '\\') {
      cli_buf_addc(b, '\\');
      cli_buf_addc(b, (char)c);
    } else if (c == '\n') {
      cli_buf_adds(b, "\\n");
    } else if (c == '\r') {
      cli_buf_adds(b, "\\r");
    } else if (c == '\t') {
      cli_buf_adds(b, "\\t");
    } else if (c < 0x20 || c == 0x7f || n == 0) {
      /* Controls, and bytes that are not UTF-8 taken as Latin-1. */
      cli_buf_printf(b, "\\u%04x", c);
    } else {
      cli_buf_add(b, s, n);
      s += n;
      continue;
    }
    s++;
  }
  cli_buf_addc(b, '"');
}

int cli_read_file(const char *path, cli_buf *b) {
  int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char chunk[65536];
  int rc = 0;
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      rc = -1;
      break;
    }
    if (n == 0) break;
    cli_buf_add(b, chunk, (size_t)n);
  }
  int saved = errno;
  if (fd != STDIN_FILENO) close(fd);
  if (rc == 0 && !b->data) cli_buf_add(b, "", 0); /* an empty file: "" */
  errno = saved;
  return rc;
}

int cli_mkdirs_for(const char *path) {
  if (!path[0]) return 0;
  char *dir = cli_strdup(path);
  int rc = 0;
  for (char *p = strchr(dir + 1, '/'); p && rc == 0; p = strchr(p + 1, '/')) {
    *p = '\0';
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) rc = -1;
    *p = '/';
  }
  int saved = errno;
  free(dir);
  errno = saved;
  return rc;
}
