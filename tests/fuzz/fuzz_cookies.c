/* libFuzzer target: cookies (src/http/cookies.c, src/http/psl.c): Set-Cookie
 * parsing, Cookie header building, cookie dates, Netscape cookie files and
 * public suffix list files.
 *
 * Input: byte 0 picks the origin (host, https or not, path) and whether to
 * use a public suffix list from the input; then sections separated by
 * "\n--\n": Set-Cookie values (one per line), a Netscape cookie file, a
 * public suffix list file. Checks, besides memory safety:
 * - every header value is under FL__COOKIE_MAX_HEADER bytes, made of
 *   "name=value" pairs joined by "; " with no control byte;
 * - the jar never holds more than FL__COOKIE_MAX_TOTAL cookies;
 * - save then load into a new jar gives the same Cookie header for every
 *   origin tried (the file format round-trips), and saving the loaded jar
 *   gives the same file;
 * - cookie dates parse to a time in range or fail. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/buf.h"
#include "flurry.h"
#include "http/cookies.h"
#include "http/psl.h"

#define NOW 1800000000 /* fixed "now": 2027-01-15 */

static void die(const char *what, const char *detail) {
  fprintf(stderr, "fuzz_cookies: %s\n  [%s]\n", what, detail ? detail : "");
  abort();
}

static const char *const hosts[] = {"www.example.com", "example.com", "a.b.example.co.uk",
                                    "127.0.0.1",       "[::1]",       "foo.github.io",
                                    "localhost",       "x.ck"};
static const char *const paths[] = {"/", "/a/b/c?q=1", "/a", "", "/a/b/"};

/* A file holding n bytes, as a path (memfd: nothing touches the disk). */
static int mem_file(const char *p, size_t n, char *path, size_t cap) {
  int fd = memfd_create("fuzz_cookies", MFD_CLOEXEC);
  if (fd < 0) die("memfd_create", NULL);
  size_t off = 0;
  while (off < n) {
    ssize_t w = write(fd, p + off, n - off);
    if (w <= 0) die("write", NULL);
    off += (size_t)w;
  }
  snprintf(path, cap, "/proc/self/fd/%d", fd);
  return fd;
}

static void check_header(const fl__buf *b) {
  if (b->len == 0) return;
  if (b->len > FL__COOKIE_MAX_HEADER) die("Cookie header over the cap", b->data);
  for (size_t i = 0; i < b->len; i++) {
    unsigned char c = (unsigned char)b->data[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f) die("control byte in the Cookie header", b->data);
  }
  if (b->data[0] == ' ' || b->data[b->len - 1] == ';') {
    fprintf(stderr, "[%.*s]\n", (int)b->len, b->data);
    die("Cookie header badly joined", NULL);
  }
}

/* The header for origin i into out (reset first). */
static void header_for(fl__cookie_jar *jar, int i, fl__buf *out) {
  fl__cookie_origin o = {hosts[i % 8], paths[i % 5], i & 1, NOW + 10};
  fl__buf_reset(out);
  int n = fl__cookie_jar_header(jar, &o, out);
  if (n < 0 && n != FL_ENOMEM) die("header: unexpected error", fl_err_name(n));
  check_header(out);
}

static char *read_path(const char *path, size_t *len) {
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  char *buf = NULL;
  size_t cap = 0;
  *len = 0;
  for (;;) {
    if (cap - *len < 4096) {
      char *nb = realloc(buf, cap + 65536);
      if (!nb) break;
      buf = nb, cap += 65536;
    }
    size_t got = fread(buf + *len, 1, cap - *len, f);
    if (!got) break;
    *len += got;
  }
  fclose(f);
  return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 1 << 20) return 0;
  int mode = data[0];
  const char *p = (const char *)data + 1, *end = (const char *)data + size;
  const char *sec[3] = {p, NULL, NULL};
  size_t seclen[3] = {(size_t)(end - p), 0, 0};
  for (int k = 1; k < 3; k++) {
    const char *sep = memmem(sec[k - 1], seclen[k - 1], "\n--\n", 4);
    if (!sep) break;
    sec[k] = sep + 4;
    seclen[k] = (size_t)(sec[k - 1] + seclen[k - 1] - sec[k]);
    seclen[k - 1] = (size_t)(sep - sec[k - 1]);
  }

  fl__psl *psl = NULL;
  char path[64];
  if ((mode & 0x80) && sec[2]) {
    int fd = mem_file(sec[2], seclen[2], path, sizeof path);
    int rc = fl__psl_load(&psl, path);
    if (rc != 0 && rc != FL_EREAD && rc != FL_ENOMEM)
      die("psl load: unexpected error", fl_err_name(rc));
    if (rc == 0 && fl__psl_rule_count(psl) == 0) die("psl load: success without a rule", NULL);
    close(fd);
  }

  fl__cookie_jar *jar = fl__cookie_jar_new();
  if (!jar) return 0;
  if (psl) fl__cookie_jar_set_psl(jar, psl);

  /* Set-Cookie values, one per line, from the origin byte 0 picks */
  fl__cookie_origin o = {hosts[mode & 7], paths[(mode >> 3) % 5], (mode >> 6) & 1, NOW};
  const char *line = sec[0], *lend = sec[0] + seclen[0];
  while (line < lend) {
    const char *nl = memchr(line, '\n', (size_t)(lend - line));
    size_t n = (size_t)((nl ? nl : lend) - line);
    int rc = fl__cookie_jar_set(jar, line, n, &o);
    if (rc < 0 && rc != FL_ENOMEM) die("set: unexpected error", fl_err_name(rc));
    if (rc == 0 && fl__cookie_jar_reason(jar) == NULL) die("set: no reason", NULL);
    int64_t t;
    if (fl__cookie_parse_date(line, n, &t) == 0 && (t < -62167219200LL || t > 253402300799LL))
      die("a cookie date out of the years 0-9999", NULL);
    line = nl ? nl + 1 : lend;
  }
  /* A Netscape file */
  if (sec[1]) {
    int fd = mem_file(sec[1], seclen[1], path, sizeof path);
    int rc = fl__cookie_jar_load(jar, path, NOW);
    if (rc < 0 && rc != FL_ENOMEM) die("load: unexpected error", fl_err_name(rc));
    close(fd);
  }
  if (fl__cookie_jar_count(jar) > FL__COOKIE_MAX_TOTAL) die("more cookies than the cap", NULL);

  /* Headers now; then through a file into a new jar: the same headers. */
  fl__buf h1[8], h2;
  for (int i = 0; i < 8; i++) {
    fl__buf_init(&h1[i]);
    header_for(jar, i, &h1[i]);
  }
  fl__buf_init(&h2);
  /* save writes a temporary file next to its path and renames it: a real
   * directory (in memory when /dev/shm exists) */
  char dir[64], saved[96], saved2[96];
  snprintf(dir, sizeof dir, "%s/fuzz_cookies.XXXXXX",
           access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
  if (!mkdtemp(dir)) die("mkdtemp", NULL);
  snprintf(saved, sizeof saved, "%s/a", dir);
  snprintf(saved2, sizeof saved2, "%s/b", dir);
  if (fl__cookie_jar_save(jar, saved, NOW + 10) == 0) {
    fl__cookie_jar *jar2 = fl__cookie_jar_new();
    if (jar2) {
      if (psl) fl__cookie_jar_set_psl(jar2, psl);
      int rc = fl__cookie_jar_load(jar2, saved, NOW + 10);
      if (rc >= 0) {
        for (int i = 0; i < 8; i++) {
          header_for(jar2, i, &h2);
          if (h1[i].len != h2.len || (h2.len && memcmp(h1[i].data, h2.data, h2.len) != 0)) {
            fprintf(stderr, "origin %d: before [%.*s]\n  after [%.*s]\n", i, (int)h1[i].len,
                    h1[i].data ? h1[i].data : "", (int)h2.len, h2.data ? h2.data : "");
            die("save and load changed the Cookie header", NULL);
          }
        }
        if (fl__cookie_jar_save(jar2, saved2, NOW + 10) == 0) {
          size_t la = 0, lb = 0;
          char *a = read_path(saved, &la), *b = read_path(saved2, &lb);
          if (a && b && (la != lb || memcmp(a, b, la) != 0)) {
            fprintf(stderr, "first:\n%.*s\nsecond:\n%.*s\n", (int)la, a, (int)lb, b);
            die("saving a loaded file changed it", NULL);
          }
          free(a);
          free(b);
        }
      }
      fl__cookie_jar_free(jar2);
    }
  }
  unlink(saved);
  unlink(saved2);
  rmdir(dir);
  for (int i = 0; i < 8; i++) fl__buf_dispose(&h1[i]);
  fl__buf_dispose(&h2);
  fl__cookie_jar_purge(jar, NOW + 100000000, 1);
  fl__cookie_jar_free(jar);
  fl__psl_free(psl);
  return 0;
}
