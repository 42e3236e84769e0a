/* Which proxy a URL goes through: the client's option, or with trust_env the
 * environment (http_proxy for http, https_proxy for https, no_proxy for
 * exceptions, or the no_proxy option). Like curl, the upper-case HTTP_PROXY is ignored: a CGI
 * program gets it from the client's "Proxy:" header (httpoxy). */
#include "client/proxy.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/common.h"

struct fl__proxy {
  fl__url url;
  char *auth;    /* "Basic ..." for Proxy-Authorization, or NULL */
  char key[300]; /* identifies the proxy and its credentials in pool keys */
  fl__socks_kind socks;
  int digest; /* an HTTP proxy whose credentials answer Digest challenges */
};

static const struct {
  const char *scheme;
  fl__socks_kind kind;
} schemes[] = {{"http", FL__SOCKS_NONE},
               {"socks4", FL__SOCKS4},
               {"socks4a", FL__SOCKS4A},
               {"socks5", FL__SOCKS5},
               {"socks5h", FL__SOCKS5H}};

/* 0 and the kind for a scheme we speak, -1 for another. */
static int scheme_kind(const char *scheme, fl__socks_kind *kind) {
  for (size_t i = 0; i < FL__ARRAY_SIZE(schemes); i++)
    if (strcmp(scheme, schemes[i].scheme) == 0) {
      *kind = schemes[i].kind;
      return 0;
    }
  return -1;
}

/* digest: the credentials answer a Digest challenge; no Basic up front. */
static int proxy_new(const char *text, int digest, fl__proxy **out, char *err, size_t cap) {
  *out = NULL;
  if (!text || !*text) return 0;
  char buf[1024];
  /* "host:port" without a scheme means http, as curl reads it. */
  snprintf(buf, sizeof buf, "%s%s", strstr(text, "://") ? "" : "http://", text);
  fl__proxy *p = calloc(1, sizeof *p);
  if (!p) return FL_ENOMEM;
  int rc = fl__url_parse(&p->url, buf);
  if (rc || scheme_kind(p->url.scheme, &p->socks)) {
    fl__msg(err, cap, "proxy %s: %s", text,
            rc ? "malformed URL" : "unsupported scheme (http, socks4, socks4a, socks5, socks5h)");
    fl__url_free(&p->url);
    free(p);
    return rc == FL_ENOMEM ? FL_ENOMEM : FL_EINVAL;
  }
  if (!p->url.port_explicit) p->url.port = 1080;
  unsigned long cred_id = 0;
  if (p->url.user) {
    fl__buf plain, enc;
    fl__buf_init(&plain);
    fl__buf_init(&enc);
    int e = fl__buf_puts(&plain, p->url.user) || fl__buf_puts(&plain, ":") ||
            fl__buf_puts(&plain, p->url.password ? p->url.password : "") ||
            fl__buf_puts(&enc, "Basic ") || fl__base64_encode(plain.data, plain.len, &enc);
    for (size_t i = 0; i < plain.len; i++) cred_id = cred_id * 131 + (unsigned char)plain.data[i];
    fl__buf_dispose(&plain);
    if (e) {
      fl__buf_dispose(&enc);
      fl__url_free(&p->url);
      free(p);
      return FL_ENOMEM;
    }
    if (p->socks || digest)
      fl__buf_dispose(&enc); /* SOCKS has its own; Digest waits for the challenge */
    p->auth = enc.data;
    p->digest = digest && !p->socks;
  }
  snprintf(p->key, sizeof p->key, "proxy=%s://%s:%u/%lx", p->url.scheme, p->url.host, p->url.port,
           cred_id);
  *out = p;
  return 0;
}

static void proxy_free(fl__proxy *p) {
  if (!p) return;
  fl__url_free(&p->url);
  free(p->auth);
  free(p);
}

static const char *env2(const char *lower, const char *upper) {
  const char *v = getenv(lower);
  if ((!v || !*v) && upper) v = getenv(upper);
  return v && *v ? v : NULL;
}

/* --proxy-header lines: "Name: value", a token name, no CR or LF. */
static int proxy_headers_init(fl__proxies *ps, const char *const *lines, char *err, size_t cap) {
  fl__buf b;
  fl__buf_init(&b);
  for (size_t i = 0; lines && lines[i]; i++) {
    const char *l = lines[i], *colon = strchr(l, ':');
    if (!colon || colon == l || !fl__token_valid(l, (size_t)(colon - l)) || strpbrk(l, "\r\n")) {
      snprintf(err, cap, "proxy header '%.80s': not a 'Name: value' line", l);
      fl__buf_dispose(&b);
      return FL_EINVAL;
    }
    const char *v = colon + 1;
    while (*v == ' ' || *v == '\t') v++;
    if (fl__headers_add(&ps->headers, l, (size_t)(colon - l), v, strlen(v)) ||
        fl__buf_append(&b, l, (size_t)(colon - l)) || fl__buf_puts(&b, ": ") ||
        fl__buf_puts(&b, v) || fl__buf_puts(&b, "\r\n")) {
      fl__buf_dispose(&b);
      return FL_ENOMEM;
    }
  }
  if (b.len && !(ps->header_block = strdup(b.data))) {
    fl__buf_dispose(&b);
    return FL_ENOMEM;
  }
  fl__buf_dispose(&b);
  return 0;
}

int fl__proxies_init(fl__proxies *ps, const fl_client_options *o, char *err, size_t cap) {
  const char *http = o->proxy, *https = o->proxy, *no = NULL;
  ps->http = ps->https = NULL;
  ps->no_proxy = NULL;
  ps->tunnel_all = o->proxy_tunnel != 0;
  ps->header_block = NULL;
  fl__headers_init(&ps->headers);
  if (!o->proxy && o->trust_env) {
    const char *all = env2("all_proxy", "ALL_PROXY");
    http = env2("http_proxy", NULL);
    https = env2("https_proxy", "HTTPS_PROXY");
    if (!http) http = all;
    if (!https) https = all;
    no = env2("no_proxy", "NO_PROXY");
  }
  if (o->no_proxy) no = o->no_proxy; /* --noproxy replaces the environment's */
  int rc = proxy_new(http, o->proxy_digest, &ps->http, err, cap);
  if (!rc) rc = proxy_new(https, o->proxy_digest, &ps->https, err, cap);
  if (!rc && no && !(ps->no_proxy = strdup(no))) rc = FL_ENOMEM;
  if (!rc) rc = proxy_headers_init(ps, o->proxy_headers, err, cap);
  if (rc) fl__proxies_free(ps);
  return rc;
}

void fl__proxies_free(fl__proxies *ps) {
  proxy_free(ps->http);
  proxy_free(ps->https);
  free(ps->no_proxy);
  free(ps->header_block);
  fl__headers_dispose(&ps->headers);
  fl__headers_init(&ps->headers);
  ps->http = ps->https = NULL;
  ps->no_proxy = NULL;
  ps->header_block = NULL;
}

/* An address (v4 or v6 text) in the network "net[/bits]" (no bits: the
 * address itself), as curl's NO_PROXY matching. */
static int in_network(const char *addr, int v6, const char *entry, size_t n) {
  char net[64];
  if (n >= sizeof net) return 0;
  memcpy(net, entry, n);
  net[n] = '\0';
  char *slash = strchr(net, '/');
  int max = v6 ? 128 : 32, bits = max;
  if (slash) {
    *slash = '\0';
    bits = atoi(slash + 1);
    if (bits <= 0 || bits > max) bits = max;
  }
  unsigned char a[16], b[16];
  int af = v6 ? AF_INET6 : AF_INET;
  if (inet_pton(af, addr, a) != 1 || inet_pton(af, net, b) != 1) return 0;
  int whole = bits / 8, rest = bits % 8;
  if (memcmp(a, b, (size_t)whole) != 0) return 0;
  if (!rest) return 1;
  unsigned char mask = (unsigned char)(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

/* no_proxy (curl's rules): "*" alone matches every host; entries are
 * separated by commas or blanks; a name matches itself and its subdomains
 * (leading and trailing dots ignored, case-insensitive); an IP address
 * matches an entry that is that address or a network holding it. */
static int bypassed(const char *list, const fl__url *u) {
  if (strcmp(list, "*") == 0) return 1;
  const char *host = u->host;
  size_t hl = strlen(host);
  int ip = u->host_is_ipv4 || u->host_is_ipv6;
  if (!ip && hl && host[hl - 1] == '.') hl--;
  for (const char *s = list; *s;) {
    while (*s == ',' || *s == ' ' || *s == '\t') s++;
    const char *e = s;
    while (*e && *e != ',' && *e != ' ' && *e != '\t') e++;
    size_t n = (size_t)(e - s);
    const char *name = s;
    s = e;
    if (!n) continue;
    if (ip) {
      if (in_network(host, u->host_is_ipv6, name, n)) return 1;
      continue;
    }
    if (name[n - 1] == '.') n--;
    if (n && *name == '.') name++, n--;
    if (!n || n > hl) continue;
    if (fl__strncaseeq(host + hl - n, name, n) && (n == hl || host[hl - n - 1] == '.')) return 1;
  }
  return 0;
}

const fl__proxy *fl__proxy_for(const fl__proxies *ps, const fl__url *u) {
  const fl__proxy *p = strcmp(u->scheme, "https") == 0 ? ps->https : ps->http;
  if (!p || (ps->no_proxy && bypassed(ps->no_proxy, u))) return NULL;
  return p;
}

const char *fl__proxy_host(const fl__proxy *p) { return p->url.host; }
uint16_t fl__proxy_port(const fl__proxy *p) { return p->url.port; }
const char *fl__proxy_auth(const fl__proxy *p) { return p->auth; }
const char *fl__proxy_key(const fl__proxy *p) { return p->key; }
fl__socks_kind fl__proxy_socks(const fl__proxy *p) { return p->socks; }
int fl__proxy_digest(const fl__proxy *p) { return p->digest; }
const char *fl__proxy_user(const fl__proxy *p) { return p->url.user; }
const char *fl__proxy_password(const fl__proxy *p) { return p->url.password; }
