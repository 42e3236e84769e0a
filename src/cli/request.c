/* What every request of a run shares: method, header list, body. Built once
 * from the options, applied to each fl_request, and printed for -v exactly
 * as the library writes it. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* Bodies up to this size go out from memory with a Content-Length; larger
 * ones are streamed from the file or from the one shared copy, with their
 * Content-Length (the size is known up front). */
#define FLAT_BODY_MAX (1024 * 1024)

/* ------------------------------------------------------- header list
 * The -H/-A/-e/-b headers, parsed once and applied to every URL's request
 * with the library's add/remove calls. */

static void hl_drop(cli_reqspec *rs, const char *name) {
  size_t j = 0;
  for (size_t i = 0; i < rs->nheaders; i++) {
    if (cli_strcaseeq(rs->headers[i].name, name)) {
      free(rs->headers[i].name);
      free(rs->headers[i].value);
    } else {
      rs->headers[j++] = rs->headers[i];
    }
  }
  rs->nheaders = j;
}

/* "Name:" removes a header, defaults included. */
static void hl_remove(cli_reqspec *rs, const char *name) {
  hl_drop(rs, name);
  if (cli_strcaseeq(name, "User-Agent")) rs->no_user_agent = 1;
  if (cli_strcaseeq(name, "Accept")) rs->no_accept = 1;
  if (cli_strcaseeq(name, "Expect")) rs->no_expect = 1;
}

static void hl_add(cli_reqspec *rs, const char *name, const char *value) {
  rs->headers = cli_xrealloc(rs->headers, (rs->nheaders + 1) * sizeof *rs->headers);
  rs->headers[rs->nheaders++] = (cli_header){cli_strdup(name), cli_strdup(value)};
}

static void hl_set(cli_reqspec *rs, const char *name, const char *value) {
  hl_drop(rs, name);
  hl_add(rs, name, value);
}

/* -------------------------------------------------------------- body */

static int read_error(const char *path) {
  cli_error(CLI_EXIT_READ, "Failed to open/read local data from file/application: %s: %s", path,
            strerror(errno));
  return CLI_EXIT_READ;
}

/* Percent-encode everything but A-Z a-z 0-9 - . _ ~ (as curl_easy_escape). */
static void url_encode(cli_buf *out, const char *p, size_t n) {
  static const char hex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      cli_buf_addc(out, (char)c);
    } else {
      char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
      cli_buf_add(out, esc, 3);
    }
  }
}

/* --data-urlencode: "TEXT", "=TEXT", "NAME=TEXT", "@FILE", "NAME@FILE". */
static int add_urlencoded(cli_body *body, const char *arg) {
  cli_buf out = {0};
  int rc = cli_urlencode_arg(&out, arg);
  if (!rc) cli_body_add_mem(body, out.data ? out.data : "", out.len);
  cli_buf_free(&out);
  return rc;
}

int cli_urlencode_arg(cli_buf *out_, const char *arg) {
  const char *eq = strchr(arg, '='), *at = strchr(arg, '@');
  cli_buf out = {0}, file = {0};
  const char *text = arg;
  size_t len = strlen(arg);
  if (at && (!eq || at < eq)) { /* [NAME]@FILE */
    const char *path = at + 1;
    if (cli_read_file(path, &file)) {
      cli_buf_free(&file);
      return read_error(path);
    }
    cli_buf_add(&out, arg, (size_t)(at - arg));
    if (at > arg) cli_buf_addc(&out, '=');
    text = file.data;
    len = file.len;
  } else if (eq) { /* [NAME]=TEXT */
    cli_buf_add(&out, arg, (size_t)(eq - arg));
    if (eq > arg) cli_buf_addc(&out, '=');
    text = eq + 1;
    len = strlen(text);
  }
  url_encode(&out, text, len);
  cli_buf_add(out_, out.data ? out.data : "", out.len);
  cli_buf_free(&out);
  cli_buf_free(&file);
  return 0;
}

/* One -d/--data-binary/--data-raw/--data-urlencode piece into body. */
static int add_data(cli_body *body, const cli_data *d, int may_stream) {
  if (d->kind == CLI_DATA_URLENCODE) return add_urlencoded(body, d->arg);
  if (d->kind == CLI_DATA_JSON) return cli_json_add(body, d->arg);
  if (d->kind == CLI_DATA_RAW || d->arg[0] != '@') {
    cli_body_add_mem(body, d->arg, strlen(d->arg));
    return 0;
  }
  const char *path = d->arg + 1;
  if (d->kind == CLI_DATA_BINARY && may_stream && strcmp(path, "-") != 0) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return read_error(path);
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > FLAT_BODY_MAX) {
      cli_body_add_file(body, fd, (uint64_t)st.st_size);
      return 0;
    }
    close(fd);
  }
  cli_buf b = {0};
  if (cli_read_file(path, &b)) {
    cli_buf_free(&b);
    return read_error(path);
  }
  if (d->kind == CLI_DATA_ASCII) { /* -d @FILE: CR and LF are dropped */
    size_t j = 0;
    for (size_t i = 0; i < b.len; i++)
      if (b.data[i] != '\r' && b.data[i] != '\n') b.data[j++] = b.data[i];
    b.len = j;
  }
  cli_body_add_mem(body, b.data, b.len);
  cli_buf_free(&b);
  return 0;
}

static int build_body(cli_reqspec *rs, const cli_config *cfg, char **content_type) {
  if (cfg->ndata) {
    for (size_t i = 0; i < cfg->ndata; i++) {
      if (i && cfg->data[i].kind != CLI_DATA_JSON) cli_body_add_mem(&rs->body, "&", 1);
      int rc = add_data(&rs->body, &cfg->data[i], !cfg->get);
      if (rc) return rc;
    }
    if (cfg->get) {
      int rc = cli_body_flatten(&rs->body);
      if (rc) return rc == CLI_EXIT_READ ? read_error("(data)") : rc;
      rs->query = cli_strdup(rs->body.flat);
      cli_body_free(&rs->body);
      return 0;
    }
    *content_type =
        cli_strdup(cfg->more.json ? "application/json" : "application/x-www-form-urlencoded");
    rs->has_body = 1;
  } else if (cfg->nforms) {
    cli_form *f = cli_form_new(&rs->body);
    for (size_t i = 0; i < cfg->nforms; i++) {
      char msg[512];
      int rc = cli_form_add_arg(f, cfg->forms[i], msg, sizeof msg);
      if (rc) {
        if (rc == CLI_EXIT_USAGE)
          cli_msg("%s", msg);
        else
          cli_error(rc, "%s", msg);
        cli_form_free(f);
        return rc;
      }
    }
    cli_form_finish(f, content_type);
    cli_form_free(f);
    rs->has_body = 1;
  }
  if (rs->has_body && rs->body.total <= FLAT_BODY_MAX) {
    int rc = cli_body_flatten(&rs->body);
    if (rc == CLI_EXIT_READ) return read_error("(form file)");
    if (rc) return rc;
  }
  return 0;
}

/* ------------------------------------------------------------ reqspec */

int cli_reqspec_init(cli_reqspec *rs, const cli_config *cfg) {
  memset(rs, 0, sizeof *rs);
  char *content_type = NULL;
  int rc = build_body(rs, cfg, &content_type);
  if (rc) {
    free(content_type);
    return rc;
  }
  rs->method = cfg->method ? cfg->method : cfg->head ? "HEAD" : rs->has_body ? "POST" : "GET";
  rs->upload_method = cfg->method ? cfg->method : "PUT";

  if (cfg->user_agent_set) {
    if (cfg->user_agent[0])
      hl_set(rs, "User-Agent", cfg->user_agent);
    else
      hl_remove(rs, "User-Agent");
  }
  if (cfg->referer_set && cfg->referer[0]) hl_set(rs, "Referer", cfg->referer);
  if (cfg->digest) { /* with --basic too, xfer_more.c makes it --anyauth */
    rs->digest = 1;
    if (cfg->user) {
      const char *colon = strchr(cfg->user, ':');
      rs->digest_user =
          colon ? cli_strndup(cfg->user, (size_t)(colon - cfg->user)) : cli_strdup(cfg->user);
      rs->digest_pass = cli_strdup(colon ? colon + 1 : "");
    }
  } else if (cfg->user) {
    char *b64 = cli_base64(cfg->user, strlen(cfg->user));
    size_t n = strlen(b64) + 8;
    char *v = cli_xrealloc(NULL, n);
    snprintf(v, n, "Basic %s", b64);
    hl_set(rs, "Authorization", v);
    free(v);
    free(b64);
  }
  if (cfg->pol.bearer) {
    cli_buf b = {0};
    cli_buf_printf(&b, "Bearer %s", cfg->pol.bearer);
    hl_set(rs, "Authorization", b.data);
    cli_buf_free(&b);
  }
  cli_buf cookie = {0};
  for (size_t i = 0; i < cfg->ncookies; i++) {
    if (cli_is_cookie_file(cfg->cookies[i])) continue; /* loaded into the jar */
    if (cookie.len) cli_buf_adds(&cookie, "; ");
    cli_buf_adds(&cookie, cfg->cookies[i]);
  }
  if (cookie.len) hl_set(rs, "Cookie", cookie.data);
  cli_buf_free(&cookie);
  if (content_type) hl_set(rs, "Content-Type", content_type);
  if (cfg->more.json) hl_set(rs, "Accept", "application/json"); /* --json */
  free(content_type);
  /* The library asks for gzip, deflate and br; its decoder also does zstd
   * (as curl 7.88 asks for). */
  if (cfg->compressed) hl_set(rs, "Accept-Encoding", "gzip, deflate, br, zstd");
  if (cfg->range) {
    cli_buf r = {0};
    cli_buf_printf(&r, "bytes=%s", cfg->range);
    hl_set(rs, "Range", r.data);
    cli_buf_free(&r);
  }

  /* -H last: the first -H of a name replaces what the tool or the library
   * would send; further ones of that name add lines. */
  for (size_t i = 0; i < cfg->nheaders; i++) {
    const cli_header *h = &cfg->headers[i];
    int seen = 0;
    for (size_t j = 0; j < i; j++)
      if (cli_strcaseeq(cfg->headers[j].name, h->name)) seen = 1;
    if (!h->value)
      hl_remove(rs, h->name);
    else if (seen)
      hl_add(rs, h->name, h->value);
    else
      hl_set(rs, h->name, h->value);
  }
  return 0;
}

void cli_reqspec_free(cli_reqspec *rs) {
  for (size_t i = 0; i < rs->nheaders; i++) {
    free(rs->headers[i].name);
    free(rs->headers[i].value);
  }
  free(rs->headers);
  cli_body_free(&rs->body);
  free(rs->query);
  free(rs->digest_user);
  free(rs->digest_pass);
  memset(rs, 0, sizeof *rs);
}

char *cli_reqspec_url(const cli_reqspec *rs, const char *arg) {
  cli_buf b = {0};
  if (!strstr(arg, "://")) cli_buf_adds(&b, "http://"); /* curl's guess */
  const char *hash = strchr(arg, '#');
  size_t len = hash && rs->query ? (size_t)(hash - arg) : strlen(arg);
  cli_buf_add(&b, arg, len);
  if (rs->query) {
    const char *q = memchr(arg, '?', len);
    if (!q)
      cli_buf_addc(&b, '?');
    else if (arg[len - 1] != '?' && arg[len - 1] != '&')
      cli_buf_addc(&b, '&');
    cli_buf_adds(&b, rs->query);
  }
  return b.data;
}

static long upload_cb(fl_request *req, char *buf, size_t cap, void *data) {
  (void)req;
  return cli_body_read(data, buf, cap);
}

int cli_reqspec_apply(const cli_reqspec *rs, fl_request *req, const cli_body *body,
                      cli_body_cursor *cursor) {
  int err = 0;
  if (rs->no_user_agent) err = fl_request_remove_header(req, "User-Agent");
  if (!err && rs->no_accept) err = fl_request_remove_header(req, "Accept");
  if (!err && rs->no_expect)
    err = fl_request_remove_header(req, "Expect"); /* no automatic 100-continue */
  if (!err && rs->digest) err = fl_request_set_digest_auth(req, rs->digest_user, rs->digest_pass);
  for (size_t i = 0; !err && i < rs->nheaders; i++)
    err = fl_request_add_header(req, rs->headers[i].name, rs->headers[i].value);
  if (!body && rs->has_body) body = &rs->body;
  if (!err && body) {
    *cursor = (cli_body_cursor){.body = body};
    if (body->flat)
      err = fl_request_set_body(req, body->flat, (size_t)body->total);
    else
      err = fl_request_set_upload_sized(req, upload_cb, cursor, body->total);
  }
  return err;
}

/* curl_easy_escape's set: everything but A-Z a-z 0-9 - . _ ~ */
static void escape_name(cli_buf *out, const char *name) { url_encode(out, name, strlen(name)); }

char *cli_upload_url(const char *url, const char *path) {
  if (strcmp(path, "-") == 0) return cli_strdup(url);
  const char *name = strrchr(path, '/');
  name = name ? name + 1 : path;
  const char *auth = strstr(url, "://");
  auth = auth ? auth + 3 : url;
  size_t pathpos = strcspn(auth, "/?#");
  const char *p = auth + pathpos;         /* the path, or its end */
  const char *end = p + strcspn(p, "?#"); /* end of the path */
  cli_buf b = {0};
  if (p == end) { /* no path at all: "/NAME" */
    cli_buf_add(&b, url, (size_t)(p - url));
    cli_buf_addc(&b, '/');
  } else if (end[-1] == '/') { /* a directory: its file gets the name */
    cli_buf_add(&b, url, (size_t)(end - url));
  } else {
    return cli_strdup(url);
  }
  escape_name(&b, name);
  cli_buf_adds(&b, end);
  return b.data;
}
