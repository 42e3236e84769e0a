/* multipart/form-data (RFC 7578): fields and files, files streamed from disk
 * as the request is written. The total size is computed up front (files are
 * stat'ed when the form is set on a request), so the body goes out with a
 * Content-Length, and the body can be produced again for a 307/308 redirect. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client/request.h"

typedef struct form_part {
  char *head; /* boundary line + part headers + blank line */
  size_t head_len;
  char *value; /* field value, or NULL for a file */
  size_t value_len;
  char *path; /* file to stream, or NULL */
  uint64_t file_size;
} form_part;

struct fl_form {
  form_part *parts;
  size_t n, cap;
  char boundary[48];
  char content_type[96];
  /* streaming state: one request at a time uses a form */
  size_t part;
  int stage; /* 0 head, 1 value/file, 2 CRLF after it, 3 closing boundary, 4 done */
  size_t off;
  int fd;
};

fl_form *fl_form_new(void) {
  fl_form *f = calloc(1, sizeof *f);
  if (!f) return NULL;
  /* A boundary that cannot be predicted from outside the process. */
  unsigned long long a = (unsigned long long)time(NULL) ^ ((unsigned long long)(uintptr_t)f << 16);
  unsigned long long b = (unsigned long long)fl__now_us() * 0x9E3779B97F4A7C15ull;
  snprintf(f->boundary, sizeof f->boundary, "flurry-%016llx%016llx", a, b);
  snprintf(f->content_type, sizeof f->content_type, "multipart/form-data; boundary=%s",
           f->boundary);
  f->fd = -1;
  return f;
}

void fl_form_free(fl_form *f) {
  if (!f) return;
  if (f->fd >= 0) close(f->fd);
  for (size_t i = 0; i < f->n; i++) {
    free(f->parts[i].head);
    free(f->parts[i].value);
    free(f->parts[i].path);
  }
  free(f->parts);
  free(f);
}

/* Quoted-string for names and filenames: escape '"' and '\', and refuse
 * CR/LF, which would end the header. */
static int quote_into(fl__buf *b, const char *s) {
  for (; *s; s++) {
    if (*s == '\r' || *s == '\n') return FL_EBAD_HEADER;
    if ((*s == '"' || *s == '\\') && fl__buf_append(b, "\\", 1)) return FL_ENOMEM;
    if (fl__buf_append(b, s, 1)) return FL_ENOMEM;
  }
  return 0;
}

static int add_part(fl_form *f, const char *name, const char *filename, const char *ctype,
                    const char *value, const char *path) {
  if (!f || !name) return FL_EINVAL;
  if (f->n == f->cap) {
    size_t cap = f->cap ? f->cap * 2 : 8;
    form_part *p = realloc(f->parts, cap * sizeof *p);
    if (!p) return FL_ENOMEM;
    f->parts = p, f->cap = cap;
  }
  fl__buf h;
  fl__buf_init(&h);
  int err = fl__buf_puts(&h, "--") || fl__buf_puts(&h, f->boundary) ||
                    fl__buf_puts(&h, "\r\nContent-Disposition: form-data; name=\"")
                ? FL_ENOMEM
                : 0;
  if (!err) err = quote_into(&h, name);
  if (!err && filename) {
    err = fl__buf_puts(&h, "\"; filename=\"") ? FL_ENOMEM : quote_into(&h, filename);
  }
  if (!err && fl__buf_puts(&h, "\"\r\n")) err = FL_ENOMEM;
  if (!err && ctype) {
    if (!fl__field_value_valid(ctype, strlen(ctype)))
      err = FL_EBAD_HEADER;
    else if (fl__buf_puts(&h, "Content-Type: ") || fl__buf_puts(&h, ctype) ||
             fl__buf_puts(&h, "\r\n"))
      err = FL_ENOMEM;
  }
  if (!err && fl__buf_puts(&h, "\r\n")) err = FL_ENOMEM;
  form_part p = {0};
  if (!err) {
    p.head = h.data, p.head_len = h.len;
    if (value && !(p.value = strdup(value))) err = FL_ENOMEM;
    p.value_len = value ? strlen(value) : 0;
    if (!err && path && !(p.path = strdup(path))) err = FL_ENOMEM;
  }
  if (err) {
    fl__buf_dispose(&h);
    free(p.value);
    return err;
  }
  f->parts[f->n++] = p;
  return 0;
}

int fl_form_add(fl_form *f, const char *name, const char *value) {
  if (!value) return FL_EINVAL;
  return add_part(f, name, NULL, NULL, value, NULL);
}

int fl_form_add_file(fl_form *f, const char *name, const char *path, const char *filename,
                     const char *content_type) {
  if (!path) return FL_EINVAL;
  if (!filename) {
    const char *slash = strrchr(path, '/');
    filename = slash ? slash + 1 : path;
  }
  return add_part(f, name, filename, content_type ? content_type : "application/octet-stream", NULL,
                  path);
}

static size_t closing_len(const fl_form *f) { return 2 + strlen(f->boundary) + 4; } /* --B--\r\n */

static int form_rewind(fl_request *req) {
  fl_form *f = req->upload_data;
  if (f->fd >= 0) close(f->fd);
  f->fd = -1;
  f->part = 0, f->stage = 0, f->off = 0;
  return 0;
}

/* Copy from a memory span into buf; advances the stage when it is used up. */
static size_t copy_span(fl_form *f, const char *p, size_t len, char *buf, size_t cap) {
  size_t n = len - f->off < cap ? len - f->off : cap;
  memcpy(buf, p + f->off, n);
  f->off += n;
  if (f->off == len) f->stage++, f->off = 0;
  return n;
}

static long form_read(fl_request *req, char *buf, size_t cap, void *data) {
  (void)req;
  fl_form *f = data;
  size_t total = 0;
  while (total < cap && f->stage != 4) {
    if (f->part == f->n) { /* after the last part */
      char closing[64];
      snprintf(closing, sizeof closing, "--%s--\r\n", f->boundary);
      f->stage = 0;
      total += copy_span(f, closing, strlen(closing), buf + total, cap - total);
      if (f->stage == 1) f->stage = 4;
      continue;
    }
    form_part *p = &f->parts[f->part];
    if (f->stage == 0) {
      total += copy_span(f, p->head, p->head_len, buf + total, cap - total);
    } else if (f->stage == 1 && !p->path) {
      if (p->value_len == 0)
        f->stage = 2;
      else
        total += copy_span(f, p->value, p->value_len, buf + total, cap - total);
    } else if (f->stage == 1) {
      if (f->fd < 0 && (f->fd = open(p->path, O_RDONLY | O_CLOEXEC)) < 0) return -1;
      /* A regular local file: read() does not wait on the network. */
      ssize_t r = read(f->fd, buf + total, cap - total);
      if (r < 0) {
        if (errno == EINTR) continue;
        return -1;
      }
      f->off += (size_t)r;
      total += (size_t)r;
      if (r == 0 || f->off >= p->file_size) {
        if (f->off != p->file_size) return -1; /* file changed size since it was measured */
        close(f->fd);
        f->fd = -1;
        f->stage = 2, f->off = 0;
      }
    } else if (f->stage == 2) {
      total += copy_span(f, "\r\n", 2, buf + total, cap - total);
      if (f->stage == 3) f->part++, f->stage = 0;
    }
  }
  return (long)total;
}

int fl_request_set_multipart(fl_request *req, fl_form *f) {
  if (!req || !f || req->state != FL__REQ_IDLE) return FL_EINVAL;
  uint64_t total = closing_len(f);
  for (size_t i = 0; i < f->n; i++) {
    form_part *p = &f->parts[i];
    if (p->path) {
      struct stat st;
      if (stat(p->path, &st) != 0 || !S_ISREG(st.st_mode)) {
        fl__request_msg(req, "cannot read form file %s", p->path);
        return FL_EREAD;
      }
      p->file_size = (uint64_t)st.st_size;
    }
    total += p->head_len + (p->path ? p->file_size : p->value_len) + 2;
  }
  int err = fl_request_set_upload(req, form_read, f);
  if (err) return err;
  req->upload_len = (int64_t)total;
  req->upload_rewind = form_rewind;
  return fl_request_set_header(req, "Content-Type", f->content_type);
}
