/* -w/--write-out: curl's format language over one finished transfer.
 *
 * %{name} is a variable, %header{NAME} a response header, %{json} every
 * variable as one JSON object (numbers unquoted, absent strings null),
 * %{header_json} the response headers as JSON, %{onerror} ends the text
 * unless the transfer failed, %{stdout} / %{stderr} switch where the rest
 * goes; \n \r \t \\ and %% are escapes. Times are seconds with 6
 * decimals, counted from the start of the transfer, as curl prints them. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef enum var_type { V_STR, V_INT, V_TIME, V_CODE } var_type;

typedef enum var_id {
  W_CERTS,
  W_CONTENT_TYPE,
  W_ERRORMSG,
  W_EXITCODE,
  W_FILENAME_EFFECTIVE,
  W_FTP_ENTRY_PATH,
  W_HTTP_CODE,
  W_HTTP_CONNECT,
  W_HTTP_VERSION,
  W_LOCAL_IP,
  W_LOCAL_PORT,
  W_METHOD,
  W_NUM_CERTS,
  W_NUM_CONNECTS,
  W_NUM_HEADERS,
  W_NUM_REDIRECTS,
  W_PROXY_SSL_VERIFY_RESULT,
  W_REDIRECT_URL,
  W_REFERER,
  W_REMOTE_IP,
  W_REMOTE_PORT,
  W_RESPONSE_CODE,
  W_SCHEME,
  W_SIZE_DOWNLOAD,
  W_SIZE_HEADER,
  W_SIZE_REQUEST,
  W_SIZE_UPLOAD,
  W_SPEED_DOWNLOAD,
  W_SPEED_UPLOAD,
  W_SSL_VERIFY_RESULT,
  W_TIME_APPCONNECT,
  W_TIME_CONNECT,
  W_TIME_NAMELOOKUP,
  W_TIME_PRETRANSFER,
  W_TIME_REDIRECT,
  W_TIME_STARTTRANSFER,
  W_TIME_TOTAL,
  W_URL,
  W_URL_EFFECTIVE,
  W_URLNUM,
} var_id;

/* curl 7.88's variables, sorted by name: %{json} lists them in this order.
 * (header_json, json, onerror, stdout and stderr are handled apart.) */
static const struct {
  const char *name;
  var_id id;
  var_type type;
} vars[] = {
    {"certs", W_CERTS, V_STR},
    {"content_type", W_CONTENT_TYPE, V_STR},
    {"errormsg", W_ERRORMSG, V_STR},
    {"exitcode", W_EXITCODE, V_INT},
    {"filename_effective", W_FILENAME_EFFECTIVE, V_STR},
    {"ftp_entry_path", W_FTP_ENTRY_PATH, V_STR},
    {"http_code", W_HTTP_CODE, V_CODE},
    {"http_connect", W_HTTP_CONNECT, V_CODE},
    {"http_version", W_HTTP_VERSION, V_STR},
    {"local_ip", W_LOCAL_IP, V_STR},
    {"local_port", W_LOCAL_PORT, V_INT},
    {"method", W_METHOD, V_STR},
    {"num_certs", W_NUM_CERTS, V_INT},
    {"num_connects", W_NUM_CONNECTS, V_INT},
    {"num_headers", W_NUM_HEADERS, V_INT},
    {"num_redirects", W_NUM_REDIRECTS, V_INT},
    {"proxy_ssl_verify_result", W_PROXY_SSL_VERIFY_RESULT, V_INT},
    {"redirect_url", W_REDIRECT_URL, V_STR},
    {"referer", W_REFERER, V_STR},
    {"remote_ip", W_REMOTE_IP, V_STR},
    {"remote_port", W_REMOTE_PORT, V_INT},
    {"response_code", W_RESPONSE_CODE, V_CODE},
    {"scheme", W_SCHEME, V_STR},
    {"size_download", W_SIZE_DOWNLOAD, V_INT},
    {"size_header", W_SIZE_HEADER, V_INT},
    {"size_request", W_SIZE_REQUEST, V_INT},
    {"size_upload", W_SIZE_UPLOAD, V_INT},
    {"speed_download", W_SPEED_DOWNLOAD, V_INT},
    {"speed_upload", W_SPEED_UPLOAD, V_INT},
    {"ssl_verify_result", W_SSL_VERIFY_RESULT, V_INT},
    {"time_appconnect", W_TIME_APPCONNECT, V_TIME},
    {"time_connect", W_TIME_CONNECT, V_TIME},
    {"time_namelookup", W_TIME_NAMELOOKUP, V_TIME},
    {"time_pretransfer", W_TIME_PRETRANSFER, V_TIME},
    {"time_redirect", W_TIME_REDIRECT, V_TIME},
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

/* Response heads as the tool rebuilt them (every hop, from the trace
 * hook); without it the last head only. */
static uint64_t size_header(const cli_result *r) {
  if (r->facts && r->facts->nresponses) return r->facts->header_bytes;
  if (!r->res || !fl_response_status(r->res)) return 0;
  uint64_t n = fl_response_version(r->res) == 20
                   ? strlen("HTTP/2 000 \r\n\r\n") /* no reason phrase */
                   : strlen("HTTP/1.1 000 \r\n\r\n") + strlen(fl_response_reason(r->res));
  const char *name, *value;
  for (size_t i = 0; fl_response_header_at(r->res, i, &name, &value) == 0; i++)
    n += strlen(name) + 2 + strlen(value) + 2;
  return n;
}

static int status_of(const cli_result *r) { return r->res ? fl_response_status(r->res) : 0; }

/* %{redirect_url}: where a redirect not followed (no -L, or --max-redirs
 * reached) would have gone. malloc'd or NULL. */
static char *redirect_url(const cli_result *r) {
  int st = status_of(r);
  const char *loc = st >= 300 && st < 400 ? fl_response_header(r->res, "Location") : NULL;
  return loc && r->url_effective ? cli_url_resolve(r->url_effective, loc) : NULL;
}

static uint64_t per_second(uint64_t bytes, uint64_t us) { return us ? bytes * 1000000u / us : 0; }

/* A variable's value: *s for strings (NULL when absent), *num otherwise
 * (times in microseconds). *owned is set to a string to free. */
static void get_var(const cli_result *r, var_id id, const char **s, uint64_t *num, char **owned) {
  const fl_info *info = &r->info;
  const cli_facts *f = r->facts;
  int https = r->url_effective && !strncmp(r->url_effective, "https:", 6);
  *s = NULL;
  *num = 0;
  *owned = NULL;
  switch (id) {
  case W_CERTS: *s = ""; break; /* curl: empty without --certinfo */
  case W_CONTENT_TYPE: *s = r->res ? fl_response_header(r->res, "Content-Type") : NULL; break;
  case W_ERRORMSG: *s = r->errormsg && r->errormsg[0] ? r->errormsg : NULL; break;
  case W_EXITCODE: *num = (uint64_t)r->exitcode; break;
  case W_FILENAME_EFFECTIVE: *s = r->filename; break;
  case W_FTP_ENTRY_PATH: break;
  case W_HTTP_CODE:
  case W_RESPONSE_CODE: *num = (uint64_t)status_of(r); break;
  case W_HTTP_CONNECT:
    /* a CONNECT tunnel only carries https through a proxy, and only a 2xx
     * answer lets a response through it */
    if (r->proxied && https && status_of(r)) *num = 200;
    break;
  case W_HTTP_VERSION: {
    /* curl's spelling: "1.0", "1.1", "2" */
    int v = status_of(r) ? fl_response_version(r->res) : 0;
    *s = v == 20 ? "2" : v == 11 ? "1.1" : v == 10 ? "1.0" : "0";
    break;
  }
  case W_LOCAL_IP: *s = info->local_ip[0] ? info->local_ip : NULL; break;
  case W_LOCAL_PORT: *num = info->local_port; break;
  case W_METHOD: *s = f && f->method[0] ? f->method : r->method; break;
  case W_NUM_CERTS: break;
  case W_NUM_CONNECTS: *num = f ? f->num_connects : 0; break;
  case W_NUM_HEADERS: *num = r->res ? fl_response_header_count(r->res) : 0; break;
  case W_NUM_REDIRECTS: *num = (uint64_t)r->num_redirects; break;
  case W_PROXY_SSL_VERIFY_RESULT: break; /* no HTTPS proxies */
  case W_REDIRECT_URL: *s = *owned = redirect_url(r); break;
  case W_REFERER: *s = r->referer; break;
  case W_REMOTE_IP: *s = info->remote_ip[0] ? info->remote_ip : NULL; break;
  case W_REMOTE_PORT: *num = info->remote_port; break;
  case W_SCHEME:
    if (r->url_effective && (info->remote_ip[0] || status_of(r))) *s = https ? "HTTPS" : "HTTP";
    break;
  case W_SIZE_DOWNLOAD: *num = r->size_download; break;
  case W_SIZE_HEADER: *num = size_header(r); break;
  case W_SIZE_REQUEST: *num = r->size_request; break;
  case W_SIZE_UPLOAD: *num = r->size_upload; break;
  case W_SPEED_DOWNLOAD: *num = per_second(r->size_download, info->total_us); break;
  case W_SPEED_UPLOAD: *num = per_second(r->size_upload, info->total_us); break;
  case W_SSL_VERIFY_RESULT:
    /* 0: verified, or nothing to verify. The library does not say which
     * X509 check failed: 1 is OpenSSL's "unspecified" code. */
    *num = https && r->exitcode == 60 ? 1 : 0;
    break;
  case W_TIME_APPCONNECT: *num = info->appconnect_us; break;
  case W_TIME_CONNECT: *num = info->connect_us; break;
  case W_TIME_NAMELOOKUP: *num = info->dns_us; break;
  case W_TIME_PRETRANSFER: *num = f ? f->pretransfer_us : 0; break;
  case W_TIME_REDIRECT: *num = f && r->num_redirects ? f->redirect_us : 0; break;
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
  char *owned;
  get_var(r, vars[i].id, &s, &num, &owned);
  if (vars[i].type == V_TIME)
    put_time(b, num);
  else if (vars[i].type == V_STR)
    cli_buf_adds(b, s ? s : "");
  else if (vars[i].type == V_CODE)
    cli_buf_printf(b, "%03llu", (unsigned long long)num);
  else
    cli_buf_printf(b, "%llu", (unsigned long long)num);
  free(owned);
}

static void put_json(cli_buf *b, const cli_result *r) {
  cli_buf_addc(b, '{');
  for (size_t i = 0; i < NVARS; i++) {
    const char *s;
    uint64_t num;
    char *owned;
    get_var(r, vars[i].id, &s, &num, &owned);
    cli_buf_printf(b, "%s\"%s\":", i ? "," : "", vars[i].name);
    if (vars[i].type == V_TIME)
      put_time(b, num);
    else if (vars[i].type != V_STR)
      cli_buf_printf(b, "%llu", (unsigned long long)num);
    else if (s)
      cli_json_string(b, s);
    else
      cli_buf_adds(b, "null");
    free(owned);
  }
  cli_buf_adds(b, ",\"flurry_version\":");
  cli_json_string(b, fl_version());
  cli_buf_addc(b, '}');
}

/* %{header_json}: the last response's headers, names in lower case, each
 * with the list of its values in arrival order (curl's layout). */
static void put_header_json(cli_buf *b, const fl_response *res) {
  cli_buf_addc(b, '{');
  const char *name, *value, *n2, *v2;
  int first = 1;
  for (size_t i = 0; res && fl_response_header_at(res, i, &name, &value) == 0; i++) {
    int seen = 0;
    for (size_t j = 0; j < i && !seen && fl_response_header_at(res, j, &n2, &v2) == 0; j++)
      seen = cli_strcaseeq(n2, name);
    if (seen) continue;
    char *lower = cli_strdup(name);
    for (char *p = lower; *p; p++)
      if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
    cli_buf_adds(b, first ? "" : ",\n");
    first = 0;
    cli_json_string(b, lower);
    free(lower);
    cli_buf_adds(b, ":[");
    int k = 0;
    for (size_t j = i; fl_response_header_at(res, j, &n2, &v2) == 0; j++) {
      if (!cli_strcaseeq(n2, name)) continue;
      if (k++) cli_buf_addc(b, ',');
      cli_json_string(b, v2);
    }
    cli_buf_addc(b, ']');
  }
  cli_buf_adds(b, "\n}");
}

void cli_writeout(const char *fmt, const cli_result *r, cli_buf *out, cli_buf *err) {
  cli_buf *b = out;
  for (const char *p = fmt; *p; p++) {
    if (*p == '\\' && p[1]) {
      char c = p[1] == 'n'    ? '\n'
               : p[1] == 'r'  ? '\r'
               : p[1] == 't'  ? '\t'
               : p[1] == '\\' ? '\\'
                              : 0;
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
      if (i >= 0)
        put_var(b, r, (size_t)i);
      else if (len == 4 && !strncmp(name, "json", 4))
        put_json(b, r);
      else if (len == 11 && !strncmp(name, "header_json", 11))
        put_header_json(b, r->res);
      else if (len == 6 && !strncmp(name, "stdout", 6))
        b = out;
      else if (len == 6 && !strncmp(name, "stderr", 6))
        b = err;
      else if (len == 7 && !strncmp(name, "onerror", 7) && r->exitcode == 0)
        return;
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
    int i = find_var(name, len);
    if (i < 0 && !(len == 4 && !strncmp(name, "json", 4)) &&
        !(len == 11 && !strncmp(name, "header_json", 11)) &&
        !(len == 7 && !strncmp(name, "onerror", 7)) &&
        !(len == 6 && (!strncmp(name, "stdout", 6) || !strncmp(name, "stderr", 6))))
      cli_msg("warning: unknown --write-out variable: '%.*s'", (int)len, name);
  }
}
