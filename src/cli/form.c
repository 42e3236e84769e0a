/* -F: multipart/form-data bodies (RFC 7578) built as segment lists, so that
 * file parts are streamed from disk by each transfer, never loaded whole.
 *
 * Argument syntax (curl's):
 *   name=value            a text field, taken literally
 *   name=@PATH[;params]   a file part (filename = basename of PATH)
 *   name=<PATH[;params]   a text field whose value is the file's content
 *   params: type=MIME, filename=NAME; PATH may be "double-quoted". */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

struct cli_form {
  char boundary[48];
  cli_body *body;
  int parts;
};

cli_form *cli_form_new(cli_body *body) {
  cli_form *f = cli_xrealloc(NULL, sizeof *f);
  memset(f, 0, sizeof *f);
  f->body = body;
  unsigned char rnd[8];
  if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
    uint64_t t = (uint64_t)getpid() * 0x9e3779b97f4a7c15u ^ (uint64_t)(uintptr_t)f;
    memcpy(rnd, &t, sizeof rnd);
  }
  int n = snprintf(f->boundary, sizeof f->boundary, "------------------------");
  for (size_t i = 0; i < sizeof rnd; i++)
    n += snprintf(f->boundary + n, sizeof f->boundary - (size_t)n, "%02x", rnd[i]);
  return f;
}

void cli_form_free(cli_form *f) { free(f); }

static const char *guess_type(const char *path) {
  static const struct {
    const char *ext, *type;
  } types[] = {
      {".gif", "image/gif"},       {".jpg", "image/jpeg"},      {".jpeg", "image/jpeg"},
      {".png", "image/png"},       {".svg", "image/svg+xml"},   {".txt", "text/plain"},
      {".htm", "text/html"},       {".html", "text/html"},      {".json", "application/json"},
      {".pdf", "application/pdf"}, {".xml", "application/xml"},
  };
  size_t len = strlen(path);
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    size_t el = strlen(types[i].ext);
    if (len > el && cli_strcaseeq(path + len - el, types[i].ext)) return types[i].type;
  }
  return "application/octet-stream";
}

/* A quoted-string parameter value in a part header (HTML's escaping). */
static void add_quoted(cli_buf *b, const char *s) {
  cli_buf_addc(b, '"');
  for (; *s; s++) {
    if (*s == '"')
      cli_buf_adds(b, "%22");
    else if (*s == '\r')
      cli_buf_adds(b, "%0D");
    else if (*s == '\n')
      cli_buf_adds(b, "%0A");
    else
      cli_buf_addc(b, *s);
  }
  cli_buf_addc(b, '"');
}

/* Reads a PATH that may be double-quoted (with backslash escapes); *p is
 * left on the ';' after it or on the terminating NUL. */
static char *parse_path(const char **p) {
  const char *s = *p;
  cli_buf out = {0};
  if (*s == '"') {
    for (s++; *s && *s != '"'; s++) {
      if (*s == '\\' && s[1]) s++;
      cli_buf_addc(&out, *s);
    }
    if (*s == '"') s++;
    while (*s && *s != ';') s++; /* anything between the quote and ';' is dropped */
  } else {
    while (*s && *s != ';') cli_buf_addc(&out, *s++);
  }
  *p = s;
  if (!out.data) cli_buf_adds(&out, "");
  return out.data;
}

/* Opens PATH for a part: regular files are streamed, anything else (a pipe,
 * "-" for stdin) is read into memory now. */
static int add_file_content(cli_body *body, const char *path) {
  if (strcmp(path, "-") != 0) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return CLI_EXIT_READ;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
      cli_body_add_file(body, fd, (uint64_t)st.st_size);
      return 0;
    }
    close(fd);
  }
  cli_buf data = {0};
  if (cli_read_file(path, &data)) {
    cli_buf_free(&data);
    return CLI_EXIT_READ;
  }
  cli_body_add_mem(body, data.data, data.len);
  cli_buf_free(&data);
  return 0;
}

int cli_form_add_arg(cli_form *f, const char *arg, char *msg, size_t msgcap) {
  int literal = arg[0] == CLI_FORM_LITERAL; /* --form-string: no @FILE, <FILE */
  arg += literal;
  const char *eq = strchr(arg, '=');
  if (!eq || eq == arg) {
    snprintf(msg, msgcap, "-F: expected name=value, got '%s'", arg);
    return CLI_EXIT_USAGE;
  }
  char *name = cli_strndup(arg, (size_t)(eq - arg));
  const char *v = eq + 1;
  char kind = !literal && (*v == '@' || *v == '<') ? *v++ : '=';
  char *path = NULL, *type = NULL, *filename = NULL;
  if (kind != '=') {
    path = parse_path(&v);
    while (*v == ';') {
      v++;
      const char *end = strchr(v, ';');
      size_t len = end ? (size_t)(end - v) : strlen(v);
      if (len > 5 && strncmp(v, "type=", 5) == 0) {
        free(type);
        type = cli_strndup(v + 5, len - 5);
      } else if (len > 9 && strncmp(v, "filename=", 9) == 0) {
        free(filename);
        filename = cli_strndup(v + 9, len - 9);
      }
      v += len;
    }
  }

  cli_buf head = {0};
  cli_buf_printf(&head, "--%s\r\nContent-Disposition: form-data; name=", f->boundary);
  add_quoted(&head, name);
  if (kind == '@') {
    const char *base = filename;
    if (!base) {
      base = strrchr(path, '/');
      base = base ? base + 1 : path;
    }
    cli_buf_adds(&head, "; filename=");
    add_quoted(&head, base);
    cli_buf_printf(&head, "\r\nContent-Type: %s", type ? type : guess_type(path));
  } else if (type) {
    cli_buf_printf(&head, "\r\nContent-Type: %s", type);
  }
  cli_buf_adds(&head, "\r\n\r\n");

  int rc = 0;
  cli_body_add_mem(f->body, head.data, head.len);
  if (kind == '=') {
    cli_body_add_mem(f->body, v, strlen(v));
  } else if ((rc = add_file_content(f->body, path)) != 0) {
    snprintf(msg, msgcap, "Failed to open/read local data from file/application: %s: %s", path,
             strerror(errno));
  }
  cli_body_add_mem(f->body, "\r\n", 2);
  f->parts++;
  cli_buf_free(&head);
  free(name);
  free(path);
  free(type);
  free(filename);
  return rc;
}

void cli_form_finish(cli_form *f, char **content_type) {
  cli_buf tail = {0};
  cli_buf_printf(&tail, "--%s--\r\n", f->boundary);
  cli_body_add_mem(f->body, tail.data, tail.len);
  cli_buf_free(&tail);
  cli_buf ct = {0};
  cli_buf_printf(&ct, "multipart/form-data; boundary=%s", f->boundary);
  *content_type = ct.data;
}
