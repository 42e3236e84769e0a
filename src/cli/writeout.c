/* -w/--write-out: curl's format language over one finished transfer.
 *
 * %{name} is a variable, %header{NAME} a response header, %{json} every
 * variable as one JSON object (numbers unquoted, absent strings null),
 * %{stdout} / %{stderr} switch where the rest goes; \n \r \t \\ and %% are
 * escapes. Times are seconds with 6 decimals, counted from the start of the
 * transfer, as curl prints them. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef enum var_type { V_STR, V_INT, V_TIME } var_type;

typedef enum var_id {
  W_CONTENT_TYPE, W_ERRORMSG, W_EXITCODE, W_FILENAME_EFFECTIVE, W_HTTP_CODE, W_HTTP_VERSION, W_METHOD, W_NUM_HEADERS,
  W_NUM_REDIRECTS, W_REMOTE_IP, W_REMOTE_PORT, W_RESPONSE_CODE, W_SIZE_DOWNLOAD, W_SIZE_HEADER,
  W_SIZE_UPLOAD, W_SPEED_DOWNLOAD, W_TIME_APPCONNECT, W_TIME_CONNECT, W_TIME_NAMELOOKUP,
  W_TIME_STARTTRANSFER, W_TIME_TOTAL, W_URL, W_URL_EFFECTIVE, W_URLNUM,
} var_id;

/* Sorted by name: %{json} lists them in this order. */
static const struct {
  const char *name;
  var_id id;
  var_type type;
} vars[] = {
    {"content_type", W_CONTENT_TYPE, V_STR},
    {"errormsg", W_ERRORMSG, V_STR},
    {"exitcode", W_EXITCODE, V_INT},
    {"filename_effective", W_FILENAME_EFFECTIVE, V_STR},
    {"http_code", W_HTTP_CODE, V_INT},
    {"http_version", W_HTTP_VERSION, V_STR},
    {"method", W_METHOD, V_STR},
    {"num_headers", W_NUM_HEADERS, V_INT},
    {"num_redirects", W_NUM_REDIRECTS, V_INT},
    {"remote_ip", W_REMOTE_IP, V_STR},
    {"remote_port", W_REMOTE_PORT, V_INT},
    {"response_code", W_RESPONSE_CODE, V_INT},
    {"size_download", W_SIZE_DOWNLOAD, V_INT},
    {"size_header", W_SIZE_HEADER, V_INT},
    {"size_upload", W_SIZE_UPLOAD, V_INT},
    {"speed_download", W_SPEED_DOWNLOAD, V_INT},
    {"time_appconnect", W_TIME_APPCONNECT, V_TIME},
    {"time_connect", W_TIME_CONNECT, V_TIME},
    {"time_namelookup", W_TIME_NAMELOOKUP, V_TIME},
    {"time_starttransfer", W_TIME_STARTTRANSFER, V_TIME},
    {"time_total", W_TIME_TOTAL, V_TIME},
    {"url", W_URL, V_STR},
    {"url_effective", W_URL_EFFECTIVE, V_STR},
    {"urlnum", W_URLNUM, V_INT},
};
#define NVARS (sizeof vars / sizeof vars[0])

static int find_var(const char *name, size_t len) {
  for (size_t i = 0; i < NVARS; i++)
    if (strlen(vars[i].name) == len && strncmp(vars[i].name, name, len) == 0) return (int)i;
  return -1;
}

static uint64_t size_header(const fl_response *res) {
  if (!res) return 0;
  uint64_t n = strlen("HTTP/1.1 000 \r\n\r\n") + strlen(fl_response_reason(res));
  const char *name, *value;
  for (size_t i = 0; fl_response_header_at(res, i, &name, &value) == 0; i++)
    n += strlen(name) + 2 + strlen(value) + 2;
  return n;
}

/* A variable's value: *s for strings (NULL when absent), *num otherwise
 * (times in microseconds). */
static void get_var(const cli_result *r, var_id id, const char **s, uint64_t *num) {
  const fl_info *info = &r->info;
  *s = NULL;
  *num = 0;
  switch (id) {
  case W_CONTENT_TYPE: *s = r->res ? fl_response_header(r->res, "Content-Type") : NULL; break;
  case W_ERRORMSG: *s = r->errormsg && r->errormsg[0] ? r->errormsg : NULL; break;
  case W_EXITCODE: *num = (uint64_t)r->exitcode; break;
  case W_FILENAME_EFFECTIVE: *s = r->filename; break;
  case W_HTTP_CODE:
  case W_RESPONSE_CODE: *num = r->res ? (uint64_t)fl_response_status(r->res) : 0; break;
  case W_HTTP_VERSION:
    if (r->res) *s = fl_response_http_minor(r->res) ? "1.1" : "1.0";
    break;
  case W_METHOD: *s = r->method; break;
  case W_NUM_HEADERS: *num = r->res ? fl_response_header_count(r->res) : 0; break;
  case W_NUM_REDIRECTS: *num = (uint64_t)r->num_redirects; break;
  case W_REMOTE_IP: *s = info->remote_ip[0] ? info->remote_ip : NULL; break;
  case W_REMOTE_PORT: *num = info->remote_port; break;
  case W_SIZE_DOWNLOAD: *num = r->size_download; break;
  case W_SIZE_HEADER: *num = size_header(r->res); break;
  case W_SIZE_UPLOAD: *num = r->size_upload; break;
  case W_SPEED_DOWNLOAD:
    *num = info->total_us ? r->size_download * 1000000u / info->total_us : 0;
    break;
  case W_TIME_APPCONNECT: *num = info->appconnect_us; break;
  case W_TIME_CONNECT: *num = info->connect_us; break;
  case W_TIME_NAMELOOKUP: *num = info->dns_us; break;
  case W_TIME_STARTTRANSFER: *num = info->first_byte_us; break;
  case W_TIME_TOTAL: *num = info->total_us; break;
  case W_URL: *s = r->url; break;
  case W_URL_EFFECTIVE: *s = r->url_effective; break;
  case W_URLNUM: *num = r->urlnum; break;
  }
}

static void put_time(cli_buf *b, uint64_t us) {
  cli_buf_printf(b, "%llu.%06llu", (unsigned long long)(us / 1000000),
                 (unsigned long long)(us % 1000000));
}

static void put_var(cli_buf *b, const cli_result *r, size_t i) {
  const char *s;
  uint64_t num;
  get_var(r, vars[i].id, &s, &num);
  if (vars[i].type == V_TIME) put_time(b, num);
  else if (vars[i].type == V_STR) cli_buf_adds(b, s ? s : "");
  else if (vars[i].id == W_HTTP_CODE || vars[i].id == W_RESPONSE_CODE)
    cli_buf_printf(b, "%03llu", (unsigned long long)num);
  else cli_buf_printf(b, "%llu", (unsigned long long)num);
}

static void put_json(cli_buf *b, const cli_result *r) {
  cli_buf_addc(b, '{');
  for (size_t i = 0; i < NVARS; i++) {
    const char *s;
    uint64_t num;
    get_var(r, vars[i].id, &s, &num);
    cli_buf_printf(b, "%s\"%s\":", i ? "," : "", vars[i].name);
    if (vars[i].type == V_TIME) put_time(b, num);
    else if (vars[i].type == V_INT) cli_buf_printf(b, "%llu", (unsigned long long)num);
    else if (s) cli_json_string(b, s);
    else cli_buf_adds(b, "null");
  }
  cli_buf_adds(b, ",\"flurry_version\":");
  cli_json_string(b, fl_version());
  cli_buf_addc(b, '}');
}

void cli_writeout(const char *fmt, const cli_result *r, cli_buf *out, cli_buf *err) {
  cli_buf *b = out;
  for (const char *p = fmt; *p; p++) {
    if (*p == '\\' && p[1]) {
      char c = p[1] == 'n' ? '\n' : p[1] == 'r' ? '\r' : p[1] == 't' ? '\t' : p[1] == '\\' ? '\\' : 0;
      if (c) {
        cli_buf_addc(b, c);
        p++;
        continue;
      }
    } else if (*p == '%' && p[1] == '%') {
      cli_buf_addc(b, '%');
      p++;
      continue;
    } else if (*p == '%' && p[1] == '{' && strchr(p, '}')) {
      const char *name = p + 2, *end = strchr(p, '}');
      size_t len = (size_t)(end - name);
      int i = find_var(name, len);
      if (i >= 0) put_var(b, r, (size_t)i);
      else if (len == 4 && !strncmp(name, "json", 4)) put_json(b, r);
      else if (len == 6 && !strncmp(name, "stdout", 6)) b = out;
      else if (len == 6 && !strncmp(name, "stderr", 6)) b = err;
      p = end;
      continue;
    } else if (*p == '%' && !strncmp(p + 1, "header{", 7) && strchr(p, '}')) {
      const char *name = p + 8, *end = strchr(p, '}');
      char *h = cli_strndup(name, (size_t)(end - name));
      const char *v = r->res ? fl_response_header(r->res, h) : NULL;
      if (v) cli_buf_adds(b, v);
      free(h);
      p = end;
      continue;
    }
    cli_buf_addc(b, *p);
  }
}

void cli_writeout_check(const char *fmt) {
  for (const char *p = strstr(fmt, "%{"); p; p = strstr(p + 2, "%{")) {
    if (p > fmt && p[-1] == '%') continue; /* "%%{" is a literal */
    const char *name = p + 2, *end = strchr(name, '}');
    if (!end) break;
    size_t len = (size_t)(end - name);
    if (find_var(name, len) < 0 && !(len == 4 && !strncmp(name, "json", 4)) &&
        !(len == 6 && (!strncmp(name, "stdout", 6) || !strncmp(name, "stderr", 6))))
      cli_msg("warning: unknown --write-out variable: '%.*s'", (int)len, name);
  }
}
