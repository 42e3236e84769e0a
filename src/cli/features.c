/* The options that map to client settings of the library: timeouts,
 * limits, DNS, redirects, decoding, cookies (-b FILE, -c), TLS (-k,
 * --cacert, versions, ciphers, --pinnedpubkey) and the proxy (-x). curl's defaults differ from the library's in
 * places (no redirects, no Accept-Encoding, no cookie engine unless asked
 * for, no proxy from the environment): they are set here. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* Is a -b argument a cookie file (not a "k=v" string)? As curl: no '='. */
int cli_is_cookie_file(const char *arg) { return strchr(arg, '=') == NULL; }

static int uses_cookie_engine(const cli_config *cfg) {
  if (cfg->cookie_jar) return 1;
  for (size_t i = 0; i < cfg->ncookies; i++)
    if (cli_is_cookie_file(cfg->cookies[i])) return 1;
  return 0;
}

static uint32_t to_ms(double secs) {
  double ms = ceil(secs * 1000.0);
  if (ms > 4294967295.0) return UINT32_MAX;
  return ms < 1 && secs > 0 ? 1 : (uint32_t)ms;
}

void cli_client_options(const cli_config *cfg, fl_client_options *o, int *cacert_bad) {
  fl_client_options_init(o);
  o->max_connections = (uint32_t)cfg->parallel_max;
  if (cfg->connect_timeout > 0) o->timeouts.connect_ms = to_ms(cfg->connect_timeout);
  if (cfg->expect100_timeout > 0) o->expect_100_timeout_ms = to_ms(cfg->expect100_timeout);
  o->timeouts.total_ms = cfg->max_time > 0 ? to_ms(cfg->max_time) : 0;
  o->resolve = (const char *const *)cfg->resolve;
  o->dns_servers = cfg->dns_servers;
  o->follow_redirects = cfg->location;
  o->max_redirects = cfg->max_redirs;
  o->decompress = cfg->compressed;
  o->cookies = uses_cookie_engine(cfg);
  o->max_filesize = cfg->max_filesize;
  o->insecure = cfg->insecure;
  o->proxy = cfg->proxy;
  o->proxy_digest = cfg->proxy_digest;
  /* As curl: without -x, http_proxy, HTTPS_PROXY, ALL_PROXY and NO_PROXY
   * (upper case HTTP_PROXY ignored); --noproxy replaces NO_PROXY. */
  o->trust_env = 1;
  o->no_proxy = cfg->pol.noproxy;
  /* curl's limits: 300 KiB of response headers in all, 100 KiB for one
   * header line, no count limit. */
  o->max_header_bytes = 300 * 1024;
  o->max_header_line_bytes = 100 * 1024;
  o->max_header_count = 0;
  /* --rate: the library holds every attempt to it, with -Z too (curl
   * ignores --rate in parallel mode); over 1000/s curl runs unrestricted. */
  if (cfg->rate > 0 && cfg->rate <= 1000) {
    o->rate_limit = cfg->rate;
    o->rate_burst = 1;
  }
  /* The library fails the whole client on an unreadable CA file; curl fails
   * only the https transfers that need it (exit 77): transfer.c does that
   * when *cacert_bad is set. */
  *cacert_bad = 0;
  if (cfg->cacert && access(cfg->cacert, R_OK) != 0)
    *cacert_bad = 1;
  else
    o->ca_file = cfg->cacert;
  /* curl does not check --capath (OpenSSL looks in it lazily); the library
   * refuses a client whose directory is missing, so leave it out then. */
  struct stat st;
  if (cfg->capath && (stat(cfg->capath, &st) != 0 || !S_ISDIR(st.st_mode)))
    cli_warn("--capath %s is not a directory: not used", cfg->capath);
  else
    o->ca_path = cfg->capath;
  o->client_cert = cfg->cert;
  o->client_key = cfg->cert ? cfg->key : NULL; /* as curl: --key alone does nothing */
  if (cfg->tls_min) o->tls_min_version = cfg->tls_min;
  o->tls_max_version = cfg->tls_max;
  o->tls_ciphers = cfg->ciphers;
  o->tls13_ciphers = cfg->tls13_ciphers;
  o->pinned_pubkey = cfg->pinnedpubkey;
  cli_more_client_options(cfg, o);
  o->http_version = cfg->http_version;
}

static int is_pem(const char *type) { return !type || cli_strcaseeq(type, "PEM"); }

fl_client *cli_client_new(const cli_config *cfg, fl_loop *loop, fl_client_options *o, int *cert_bad,
                          int *err, char *msg, size_t cap) {
  *cert_bad = 0;
  if (cfg->cert_password)
    cli_warn("the password given with -E is not used: the library takes unencrypted keys only");
  int certs = o->client_cert || o->client_key;
  if (certs && (!is_pem(cfg->cert_type) || !is_pem(cfg->key_type))) {
    *cert_bad = 1; /* only PEM: the https transfers fail, as curl's would with a bad file */
  } else {
    fl_client *c = fl_client_new_err(loop, o, err, msg, cap);
    if (c || !certs) return c;
    *cert_bad = 1; /* the files: unreadable, not PEM, or a key that does not match */
  }
  o->client_cert = o->client_key = NULL;
  return fl_client_new_err(loop, o, err, msg, cap);
}

/* Would the library take this cipher list? Asked of a throwaway client
 * (insecure: no CA store to load), the only way the public API has. */
static int cipher_list_refused(const char *list, int tls13) {
  fl_loop *loop = fl_loop_new();
  if (!loop) return 0; /* cannot tell: the real client will */
  fl_client_options t;
  fl_client_options_init(&t);
  t.insecure = 1;
  if (tls13)
    t.tls13_ciphers = list;
  else
    t.tls_ciphers = list;
  int err = 0;
  char why[256];
  fl_client *c = fl_client_new_err(loop, &t, &err, why, sizeof why);
  fl_client_free(c);
  fl_loop_free(loop);
  return c == NULL && err == FL_EBAD_ARGUMENT;
}

/* The library refuses a client with a list OpenSSL refuses; curl fails
 * only the https transfers (exit 59), in this order. The lists are dropped
 * from o, and o gets version bounds that leave no TLS version: nothing (a
 * redirect to https) goes out with ciphers other than asked for. */
int cli_tls_ciphers_check(fl_client_options *o, char *msg, size_t cap) {
  const char *bad = NULL;
  if (o->tls_ciphers && cipher_list_refused(o->tls_ciphers, 0))
    snprintf(msg, cap, "failed setting cipher list: %s", bad = o->tls_ciphers);
  else if (o->tls13_ciphers && cipher_list_refused(o->tls13_ciphers, 1))
    snprintf(msg, cap, "failed setting TLS 1.3 cipher suite: %s", bad = o->tls13_ciphers);
  if (!bad) return 0;
  o->tls_ciphers = o->tls13_ciphers = NULL;
  o->tls_min_version = FL_TLS_1_3;
  o->tls_max_version = FL_TLS_1_2;
  return CLI_EXIT_CIPHER;
}

/* Percent-encode what may not stand in a URL's userinfo as it is. */
static void add_userinfo_part(cli_buf *b, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        strchr("-._~", c))
      cli_buf_addc(b, (char)c);
    else
      cli_buf_printf(b, "%%%02X", c);
  }
}

void cli_proxy_add_user(cli_config *cfg) {
  const char *url = cfg->proxy, *sep = strstr(url, "://");
  const char *hostpart = sep ? sep + 3 : url;
  const char *at = strchr(hostpart, '@'), *slash = strchr(hostpart, '/');
  if (at && (!slash || at < slash)) return; /* as curl: the URL's credentials win */
  const char *up = cfg->proxy_user, *colon = strchr(up, ':');
  cli_buf b = {0};
  if (sep) cli_buf_add(&b, url, (size_t)(sep + 3 - url));
  add_userinfo_part(&b, up, colon ? (size_t)(colon - up) : strlen(up));
  cli_buf_addc(&b, ':');
  if (colon) add_userinfo_part(&b, colon + 1, strlen(colon + 1));
  cli_buf_addc(&b, '@');
  cli_buf_adds(&b, hostpart);
  free(cfg->proxy);
  cfg->proxy = b.data;
}

int cli_client_start(const cli_config *cfg, fl_client *client) {
  for (size_t i = 0; i < cfg->ncookies; i++) {
    const char *path = cfg->cookies[i];
    if (!cli_is_cookie_file(path)) continue;
    /* As curl: a cookie file that does not exist is no error (the usual
     * "-b jar -c jar" on a first run). */
    if (access(path, F_OK) != 0) continue;
    int err = fl_client_cookies_load(client, path);
    if (err) cli_msg("warning: cannot read cookies from %s: %s", path, fl_strerror(err));
  }
  return 0;
}

/* -c -: the jar goes to stdout, as curl writes it, after every transfer's
 * output. The library saves to a path only (a temporary file beside it,
 * then a rename): through a private temporary file, copied out. */
static void jar_to_stdout(fl_client *client) {
  const char *dir = getenv("TMPDIR");
  char path[4096];
  snprintf(path, sizeof path, "%s/flurry-jar-XXXXXX", dir && *dir ? dir : "/tmp");
  int fd = mkstemp(path);
  if (fd < 0) {
    cli_msg("warning: cannot save cookies to stdout: no temporary file");
    return;
  }
  close(fd);
  int err = fl_client_cookies_save(client, path);
  FILE *f = err ? NULL : fopen(path, "re");
  if (f) {
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
      if (fwrite(chunk, 1, n, stdout) != n) break;
    if (ferror(f)) err = FL_EREAD;
    fclose(f);
    fflush(stdout);
  } else if (!err) {
    err = FL_EREAD;
  }
  unlink(path);
  if (err) cli_msg("warning: cannot save cookies to stdout: %s", fl_strerror(err));
}

void cli_client_finish(const cli_config *cfg, fl_client *client) {
  if (!cfg->cookie_jar) return;
  if (strcmp(cfg->cookie_jar, "-") == 0) {
    jar_to_stdout(client);
    return;
  }
  int err = fl_client_cookies_save(client, cfg->cookie_jar);
  if (err) cli_msg("warning: cannot save cookies to %s: %s", cfg->cookie_jar, fl_strerror(err));
}
