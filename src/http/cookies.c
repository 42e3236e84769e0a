/* Cookie jar: Set-Cookie parsing and storage, Cookie header building, and
 * the Netscape cookie file. See cookies.h for the rules.
 *
 * The jar is one list in creation order (a replaced cookie keeps its place
 * and sequence number), so "oldest" is always the list head and saving in
 * list order is stable. */
#include "http/cookies.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/common.h"

typedef struct cookie {
  fl__queue node;
  uint64_t seq;     /* creation order */
  int64_t expires;  /* unix seconds; only if persistent */
  char *name, *value, *domain, *path; /* all in this allocation */
  size_t path_len;
  unsigned host_only : 1, secure : 1, http_only : 1, persistent : 1;
  unsigned dot : 1; /* domain written with a leading "." in the file */
} cookie;

struct fl__cookie_jar {
  fl__queue cookies;
  size_t count;
  uint64_t next_seq;
  const fl__psl *psl;
  const char *reason;
  cookie **scratch; /* matching cookies while building a header */
  size_t scratch_cap;
};

/* -------------------------------------------------------------- basics */

fl__cookie_jar *fl__cookie_jar_new(void) {
  fl__cookie_jar *jar = calloc(1, sizeof *jar);
  if (!jar)
    return NULL;
  fl__queue_init(&jar->cookies);
  jar->reason = "";
  return jar;
}

static void cookie_unlink(fl__cookie_jar *jar, cookie *c) {
  fl__queue_remove(&c->node);
  jar->count--;
  free(c);
}

void fl__cookie_jar_free(fl__cookie_jar *jar) {
  if (!jar)
    return;
  while (!fl__queue_empty(&jar->cookies))
    cookie_unlink(jar, fl__container_of(jar->cookies.next, cookie, node));
  free(jar->scratch);
  free(jar);
}

void fl__cookie_jar_set_psl(fl__cookie_jar *jar, const fl__psl *psl) { jar->psl = psl; }
size_t fl__cookie_jar_count(const fl__cookie_jar *jar) { return jar->count; }
const char *fl__cookie_jar_reason(const fl__cookie_jar *jar) { return jar->reason; }

static int expired(const cookie *c, int64_t now) { return c->persistent && c->expires <= now; }

void fl__cookie_jar_purge(fl__cookie_jar *jar, int64_t now, int session) {
  fl__queue *q = jar->cookies.next;
  while (q != &jar->cookies) {
    cookie *c = fl__container_of(q, cookie, node);
    q = q->next;
    if (expired(c, now) || (session && !c->persistent))
      cookie_unlink(jar, c);
  }
}

static cookie *cookie_alloc(const char *name, size_t nlen, const char *value, size_t vlen,
                            const char *domain, size_t dlen, const char *path, size_t plen) {
  cookie *c = malloc(sizeof *c + nlen + vlen + dlen + plen + 4);
  if (!c)
    return NULL;
  memset(c, 0, sizeof *c);
  char *p = (char *)(c + 1);
  c->name = p, memcpy(p, name, nlen), p[nlen] = '\0', p += nlen + 1;
  c->value = p, memcpy(p, value, vlen), p[vlen] = '\0', p += vlen + 1;
  c->domain = p, memcpy(p, domain, dlen), p[dlen] = '\0', p += dlen + 1;
  c->path = p, memcpy(p, path, plen), p[plen] = '\0';
  c->path_len = plen;
  return c;
}

/* ------------------------------------------------------------ matching */

static int is_ip(const char *host) {
  struct in_addr a4;
  return strchr(host, ':') != NULL || inet_pton(AF_INET, host, &a4) == 1;
}

/* RFC 6265 5.1.3: identical, or host ends with "." + domain and is a name. */
static int domain_match(const char *host, const char *domain) {
  size_t hl = strlen(host), dl = strlen(domain);
  if (hl == dl)
    return fl__strcaseeq(host, domain);
  return hl > dl && host[hl - dl - 1] == '.' && fl__strcaseeq(host + hl - dl, domain) &&
         !is_ip(host);
}

/* RFC 6265 5.1.4. */
static int path_match(const char *req, size_t rl, const char *cpath, size_t cl) {
  if (cl > rl || memcmp(req, cpath, cl) != 0)
    return 0;
  return cl == rl || cpath[cl - 1] == '/' || req[cl] == '/';
}

/* Lower-cased host without [] or a trailing dot, into buf. 0 or -1. */
static int canon_host(const char *host, char *buf, size_t cap) {
  size_t n = host ? strlen(host) : 0;
  if (n >= 2 && host[0] == '[' && host[n - 1] == ']')
    host++, n -= 2;
  if (n > 0 && host[n - 1] == '.')
    n--;
  if (n == 0 || n >= cap)
    return -1;
  for (size_t i = 0; i < n; i++) {
    char ch = host[i];
    buf[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
  }
  buf[n] = '\0';
  return 0;
}

/* The path part of a request target: up to "?" or "#"; "/" if it does not
 * start with "/". */
static const char *req_path(const char *target, size_t *len) {
  if (!target || target[0] != '/') {
    *len = 1;
    return "/";
  }
  *len = strcspn(target, "?#");
  return target;
}

static cookie *find(fl__cookie_jar *jar, const char *name, size_t nlen, const char *domain,
                    const char *path, size_t plen) {
  fl__queue *q;
  fl__queue_foreach(q, &jar->cookies) {
    cookie *c = fl__container_of(q, cookie, node);
    if (c->path_len == plen && memcmp(c->path, path, plen) == 0 &&
        strncmp(c->name, name, nlen) == 0 && c->name[nlen] == '\0' &&
        fl__strcaseeq(c->domain, domain))
      return c;
  }
  return NULL;
}

/* Before adding a cookie for domain: keep within the caps, dropping expired
 * cookies first, then the oldest (list head first). */
static void make_room(fl__cookie_jar *jar, const char *domain, int64_t now) {
  size_t same = 0;
  fl__queue *q;
  fl__queue_foreach(q, &jar->cookies) {
    if (fl__strcaseeq(fl__container_of(q, cookie, node)->domain, domain))
      same++;
  }
  if (same < FL__COOKIE_MAX_PER_DOMAIN && jar->count < FL__COOKIE_MAX_TOTAL)
    return;
  q = jar->cookies.next;
  while (q != &jar->cookies) {
    cookie *c = fl__container_of(q, cookie, node);
    q = q->next;
    if (expired(c, now)) {
      if (fl__strcaseeq(c->domain, domain))
        same--;
      cookie_unlink(jar, c);
    }
  }
  q = jar->cookies.next;
  while (same >= FL__COOKIE_MAX_PER_DOMAIN && q != &jar->cookies) {
    cookie *c = fl__container_of(q, cookie, node);
    q = q->next;
    if (fl__strcaseeq(c->domain, domain)) {
      cookie_unlink(jar, c);
      same--;
    }
  }
  while (jar->count >= FL__COOKIE_MAX_TOTAL)
    cookie_unlink(jar, fl__container_of(jar->cookies.next, cookie, node));
}

/* Put c in the jar: in old's place (taking its creation order), or last. */
static void store(fl__cookie_jar *jar, cookie *c, cookie *old, int64_t now) {
  if (old) {
    c->seq = old->seq;
    fl__queue_insert_tail(&old->node, &c->node); /* just before old */
    jar->count++;
    cookie_unlink(jar, old);
    return;
  }
  make_room(jar, c->domain, now);
  c->seq = jar->next_seq++;
  fl__queue_insert_tail(&jar->cookies, &c->node);
  jar->count++;
}

/* ---------------------------------------------------------------- dates */

static int is_date_delim(unsigned char c) {
  return c == 0x09 || (c >= 0x20 && c <= 0x2f) || (c >= 0x3b && c <= 0x40) ||
         (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e);
}
static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* min..max digits at t[*i], then end of token or a non-digit. */
static int date_num(const char *t, size_t n, size_t *i, size_t min, size_t max, int last) {
  size_t k = 0;
  int v = 0;
  while (*i + k < n && k < max && is_digit(t[*i + k]))
    v = v * 10 + (t[*i + k] - '0'), k++;
  if (k < min)
    return -1;
  *i += k;
  if (last && *i < n && is_digit(t[*i]))
    return -1;
  return v;
}

static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int fl__cookie_parse_date(const char *s, size_t len, int64_t *out) {
  static const char months[12][4] = {"jan", "feb", "mar", "apr", "may", "jun",
                                     "jul", "aug", "sep", "oct", "nov", "dec"};
  int have_time = 0, have_day = 0, have_month = 0, have_year = 0;
  int hh = 0, mm = 0, ss = 0, day = 0, month = 0, year = 0;
  size_t i = 0;

  while (i < len) {
    while (i < len && is_date_delim((unsigned char)s[i]))
      i++;
    size_t start = i;
    while (i < len && !is_date_delim((unsigned char)s[i]))
      i++;
    const char *t = s + start;
    size_t n = i - start, k;
    if (n == 0)
      break;
    if (!have_time) {
      int h, m, sec;
      k = 0;
      if ((h = date_num(t, n, &k, 1, 2, 0)) >= 0 && k < n && t[k++] == ':' &&
          (m = date_num(t, n, &k, 1, 2, 0)) >= 0 && k < n && t[k++] == ':' &&
          (sec = date_num(t, n, &k, 1, 2, 1)) >= 0) {
        have_time = 1, hh = h, mm = m, ss = sec;
        continue;
      }
    }
    if (!have_day) {
      k = 0;
      int v = date_num(t, n, &k, 1, 2, 1);
      if (v >= 0) {
        have_day = 1, day = v;
        continue;
      }
    }
    if (!have_month && n >= 3) {
      int found = 0;
      for (int m = 0; m < 12 && !found; m++)
        if (fl__strncaseeq(t, months[m], 3))
          found = 1, month = m + 1;
      if (found) {
        have_month = 1;
        continue;
      }
    }
    if (!have_year) {
      k = 0;
      int v = date_num(t, n, &k, 2, 4, 1);
      if (v >= 0) {
        have_year = 1, year = v;
        continue;
      }
    }
  }
  if (have_year && year >= 70 && year <= 99)
    year += 1900;
  else if (have_year && year >= 0 && year <= 69)
    year += 2000;
  if (!have_time || !have_day || !have_month || !have_year)
    return -1;
  if (day < 1 || day > 31 || year < 1601 || hh > 23 || mm > 59 || ss > 59)
    return -1;
  static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (day > mdays[month - 1] || (month == 2 && day == 29 && !leap))
    return -1;
  *out = days_from_civil(year, month, day) * 86400 + hh * 3600 + mm * 60 + ss;
  return 0;
}

/* ---------------------------------------------------------- Set-Cookie */

static int is_ctl(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }
static int is_wsp(char c) { return c == ' ' || c == '\t'; }

static void trim(const char **p, size_t *n) {
  while (*n > 0 && is_wsp(**p))
    (*p)++, (*n)--;
  while (*n > 0 && is_wsp((*p)[*n - 1]))
    (*n)--;
}

static int ieq(const char *p, size_t n, const char *lit) {
  return strlen(lit) == n && fl__strncaseeq(p, lit, n);
}

static int ignore(fl__cookie_jar *jar, const char *why) {
  jar->reason = why;
  return 0;
}

/* Max-Age value: -1 to ignore the attribute, else 0 with *expiry set. */
static int parse_max_age(const char *v, size_t n, int64_t now, int64_t *expiry) {
  size_t i = 0;
  int neg = 0;
  if (n > 0 && v[0] == '-')
    neg = 1, i = 1;
  if (i == n)
    return -1;
  int64_t delta = 0;
  for (; i < n; i++) {
    if (!is_digit(v[i]))
      return -1;
    if (delta < FL__COOKIE_MAX_AGE)
      delta = delta * 10 + (v[i] - '0');
  }
  if (neg || delta == 0)
    *expiry = INT64_MIN; /* the earliest time there is: delete */
  else
    *expiry = now + (delta < FL__COOKIE_MAX_AGE ? delta : FL__COOKIE_MAX_AGE);
  return 0;
}

/* An http cookie may not replace or shadow a Secure one (RFC 6265bis). */
static int shadows_secure(fl__cookie_jar *jar, const char *name, size_t nlen,
                          const char *domain, const char *path, size_t plen) {
  fl__queue *q;
  fl__queue_foreach(q, &jar->cookies) {
    cookie *c = fl__container_of(q, cookie, node);
    if (c->secure && strncmp(c->name, name, nlen) == 0 && c->name[nlen] == '\0' &&
        (domain_match(c->domain, domain) || domain_match(domain, c->domain)) &&
        path_match(path, plen, c->path, c->path_len))
      return 1;
  }
  return 0;
}

int fl__cookie_jar_set(fl__cookie_jar *jar, const char *s, size_t len,
                       const fl__cookie_origin *o) {
  jar->reason = "";
  for (size_t i = 0; i < len; i++)
    if (is_ctl((unsigned char)s[i])) /* NUL included */
      return ignore(jar, "control character in Set-Cookie");

  const char *semi = memchr(s, ';', len);
  size_t nvlen = semi ? (size_t)(semi - s) : len;
  const char *eq = memchr(s, '=', nvlen);
  if (!eq)
    return ignore(jar, "no '=' in the name=value pair");
  const char *name = s, *value = eq + 1;
  size_t nlen = (size_t)(eq - s), vlen = nvlen - nlen - 1;
  trim(&name, &nlen);
  trim(&value, &vlen);
  if (nlen == 0)
    return ignore(jar, "empty cookie name");
  if (memchr(name, '\t', nlen) || memchr(value, '\t', vlen))
    return ignore(jar, "TAB in cookie name or value");
  if (nlen + vlen > FL__COOKIE_MAX_SIZE)
    return ignore(jar, "cookie too big");

  /* Attributes: the last of each kind wins; Max-Age beats Expires. */
  int have_max_age = 0, have_expires = 0, secure = 0, http_only = 0;
  int64_t max_age_exp = 0, expires = 0;
  const char *dattr = NULL, *pattr = NULL;
  size_t dlen = 0, plen = 0;
  const char *p = semi ? semi + 1 : s + len, *end = s + len;
  while (p < end) {
    const char *av_end = memchr(p, ';', (size_t)(end - p));
    if (!av_end)
      av_end = end;
    const char *key = p, *val = "";
    size_t klen = (size_t)(av_end - p), valn = 0;
    const char *aeq = memchr(p, '=', klen);
    if (aeq) {
      val = aeq + 1, valn = (size_t)(av_end - aeq - 1);
      klen = (size_t)(aeq - p);
    }
    p = av_end < end ? av_end + 1 : end;
    trim(&key, &klen);
    trim(&val, &valn);
    if (valn > FL__COOKIE_MAX_ATTR)
      continue;
    if (ieq(key, klen, "expires")) {
      if (fl__cookie_parse_date(val, valn, &expires) == 0)
        have_expires = 1;
    } else if (ieq(key, klen, "max-age")) {
      if (parse_max_age(val, valn, o->now, &max_age_exp) == 0)
        have_max_age = 1;
    } else if (ieq(key, klen, "domain")) {
      if (valn > 0 && val[0] == '.')
        val++, valn--;
      dattr = valn ? val : NULL, dlen = valn; /* empty: as if absent */
    } else if (ieq(key, klen, "path")) {
      pattr = (valn && val[0] == '/') ? val : NULL, plen = valn; /* else default */
    } else if (ieq(key, klen, "secure")) {
      secure = 1;
    } else if (ieq(key, klen, "httponly")) {
      http_only = 1;
    }
  }

  int persistent = have_max_age || have_expires;
  int64_t expiry = have_max_age ? max_age_exp : expires;
  if (persistent && expiry > o->now + FL__COOKIE_MAX_AGE)
    expiry = o->now + FL__COOKIE_MAX_AGE;

  char host[256], dom[FL__COOKIE_MAX_ATTR + 1];
  if (canon_host(o->host, host, sizeof host) != 0)
    return ignore(jar, "bad request host");
  int host_only = 1;
  const char *domain = host;
  if (dattr) {
    for (size_t i = 0; i < dlen; i++)
      dom[i] = (dattr[i] >= 'A' && dattr[i] <= 'Z') ? (char)(dattr[i] + 32) : dattr[i];
    dom[dlen] = '\0';
    if (is_ip(host)) {
      if (strcmp(dom, host) != 0)
        return ignore(jar, "Domain attribute for an IP address host");
    } else if (fl__psl_is_public_suffix(jar->psl, dom)) {
      if (strcmp(dom, host) != 0)
        return ignore(jar, "Domain attribute is a public suffix");
    } else if (!domain_match(host, dom)) {
      return ignore(jar, "Domain attribute does not match the host");
    } else {
      host_only = 0, domain = dom;
    }
  }

  /* Path: the attribute, or the default path (RFC 6265 5.1.4): the request
   * path up to, not including, its last "/"; "/" if that leaves nothing. */
  const char *path = pattr;
  if (!path) {
    size_t rlen;
    path = req_path(o->path, &rlen);
    plen = rlen;
    while (plen > 0 && path[plen - 1] != '/')
      plen--;
    if (plen > 0)
      plen--; /* drop the last "/" itself */
    if (plen == 0)
      path = "/", plen = 1;
  }

  if (secure && !o->is_https)
    return ignore(jar, "Secure cookie from an insecure origin");
  if (nlen >= 9 && fl__strncaseeq(name, "__Secure-", 9) && !secure)
    return ignore(jar, "__Secure- cookie without Secure");
  if (nlen >= 7 && fl__strncaseeq(name, "__Host-", 7) &&
      (!secure || dattr || !pattr || plen != 1))
    return ignore(jar, "__Host- cookie without Secure, with Domain, or Path other than /");
  if (!o->is_https && shadows_secure(jar, name, nlen, domain, path, plen))
    return ignore(jar, "would overwrite a Secure cookie from an insecure origin");

  cookie *old = find(jar, name, nlen, domain, path, plen);
  if (persistent && expiry <= o->now) {
    if (old)
      cookie_unlink(jar, old);
    return ignore(jar, old ? "expired: cookie deleted" : "expired");
  }
  cookie *c = cookie_alloc(name, nlen, value, vlen, domain, strlen(domain), path, plen);
  if (!c)
    return FL_ENOMEM;
  c->host_only = (unsigned)host_only;
  c->dot = !host_only;
  c->secure = (unsigned)secure;
  c->http_only = (unsigned)http_only;
  c->persistent = (unsigned)persistent;
  c->expires = expiry;
  store(jar, c, old, o->now);
  return 1;
}

int fl__cookie_jar_set_headers(fl__cookie_jar *jar, const fl__headers *h,
                               const fl__cookie_origin *origin) {
  int stored = 0, seen = 0;
  for (size_t i = 0; i < h->n && seen < FL__COOKIE_MAX_PER_RESPONSE; i++) {
    if (!fl__strcaseeq(fl__headers_name(h, i), "set-cookie"))
      continue;
    seen++;
    int rc = fl__cookie_jar_set(jar, fl__headers_value(h, i), h->items[i].value_len, origin);
    if (rc < 0)
      return rc;
    stored += rc;
  }
  return stored;
}

/* -------------------------------------------------------------- Cookie */

static int by_path_then_age(const void *a, const void *b) {
  const cookie *x = *(cookie *const *)a, *y = *(cookie *const *)b;
  if (x->path_len != y->path_len)
    return x->path_len > y->path_len ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int fl__cookie_jar_header(fl__cookie_jar *jar, const fl__cookie_origin *o, fl__buf *out) {
  char host[256];
  if (canon_host(o->host, host, sizeof host) != 0)
    return 0;
  size_t rlen, n = 0;
  const char *rpath = req_path(o->path, &rlen);
  if (jar->scratch_cap < jar->count) {
    cookie **ns = realloc(jar->scratch, jar->count * sizeof *ns);
    if (!ns)
      return FL_ENOMEM;
    jar->scratch = ns, jar->scratch_cap = jar->count;
  }
  fl__queue *q = jar->cookies.next;
  while (q != &jar->cookies) {
    cookie *c = fl__container_of(q, cookie, node);
    q = q->next;
    if (expired(c, o->now)) {
      cookie_unlink(jar, c);
      continue;
    }
    if ((c->host_only ? fl__strcaseeq(host, c->domain) : domain_match(host, c->domain)) &&
        path_match(rpath, rlen, c->path, c->path_len) && (!c->secure || o->is_https))
      jar->scratch[n++] = c;
  }
  if (n > 1)
    qsort(jar->scratch, n, sizeof *jar->scratch, by_path_then_age);
  size_t used = 0;
  int added = 0;
  for (size_t i = 0; i < n; i++) {
    cookie *c = jar->scratch[i];
    size_t nl = strlen(c->name), vl = strlen(c->value), need = nl + 1 + vl + (added ? 2 : 0);
    if (used + need > FL__COOKIE_MAX_HEADER)
      break;
    if ((added && fl__buf_append(out, "; ", 2)) || fl__buf_append(out, c->name, nl) ||
        fl__buf_append(out, "=", 1) || fl__buf_append(out, c->value, vl))
      return FL_ENOMEM;
    used += need;
    added++;
  }
  return added;
}

/* ---------------------------------------------------------- cookie file */

static const char file_header[] = "# Netscape HTTP Cookie File\n"
                                  "# This file was generated by flurry. Edit at your own risk.\n"
                                  "\n";
#define HTTPONLY_PREFIX "#HttpOnly_"

static int parse_bool(const char *s, int *out) {
  if (fl__strcaseeq(s, "TRUE"))
    return *out = 1, 0;
  if (fl__strcaseeq(s, "FALSE"))
    return *out = 0, 0;
  return -1;
}

static int has_ctl(const char *s) {
  for (; *s; s++)
    if (is_ctl((unsigned char)*s) || *s == '\t')
      return 1;
  return 0;
}

/* One line (NUL-terminated, no newline). 1 loaded, 0 skipped, or FL_ENOMEM. */
static int load_line(fl__cookie_jar *jar, char *line, int64_t now) {
  int http_only = 0;
  if (strncmp(line, HTTPONLY_PREFIX, sizeof HTTPONLY_PREFIX - 1) == 0) {
    http_only = 1;
    line += sizeof HTTPONLY_PREFIX - 1;
  } else if (line[0] == '#' || line[strspn(line, " \t")] == '\0') {
    return 0;
  }
  char *f[7];
  size_t nf = 0;
  for (char *p = line;; p++) {
    if (nf == 7)
      return 0; /* more than 7 fields */
    f[nf++] = p;
    p = strchr(p, '\t');
    if (!p)
      break;
    *p = '\0';
  }
  if (nf != 7)
    return 0;
  int dot = f[0][0] == '.', subdomains, secure;
  const char *domain = f[0] + dot, *path = f[2], *name = f[5], *value = f[6];
  if (!*domain || parse_bool(f[1], &subdomains) || path[0] != '/' || parse_bool(f[3], &secure))
    return 0;
  int64_t expiry = 0;
  const char *e = f[4];
  if (!*e)
    return 0;
  for (; *e; e++) {
    if (!is_digit(*e) || expiry > (INT64_MAX - 9) / 10)
      return 0;
    expiry = expiry * 10 + (*e - '0');
  }
  size_t nlen = strlen(name), vlen = strlen(value);
  if (nlen == 0 || nlen + vlen > FL__COOKIE_MAX_SIZE || has_ctl(domain) || has_ctl(path) ||
      has_ctl(name) || has_ctl(value) || strlen(domain) > 255 ||
      strlen(path) > FL__COOKIE_MAX_ATTR)
    return 0;
  if (expiry != 0 && expiry <= now)
    return 0;
  if (subdomains && (is_ip(domain) || fl__psl_is_public_suffix(jar->psl, domain)))
    return 0; /* a domain cookie for "com" or an IP would be sent everywhere */
  cookie *c = cookie_alloc(name, nlen, value, vlen, domain, strlen(domain), path, strlen(path));
  if (!c)
    return FL_ENOMEM;
  c->host_only = !subdomains;
  c->dot = (unsigned)dot;
  c->secure = (unsigned)secure;
  c->http_only = (unsigned)http_only;
  c->persistent = expiry != 0;
  c->expires = expiry;
  store(jar, c, find(jar, name, nlen, domain, path, c->path_len), now);
  return 1;
}

int fl__cookie_jar_load(fl__cookie_jar *jar, const char *path, int64_t now) {
  FILE *f = fopen(path, "re");
  if (!f)
    return FL_EREAD;
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int loaded = 0, rc = 0;
  while (rc >= 0 && (n = getline(&line, &cap, f)) >= 0) {
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
      line[--n] = '\0';
    if (strlen(line) != (size_t)n)
      continue; /* NUL inside the line */
    rc = load_line(jar, line, now);
    if (rc > 0)
      loaded += rc;
  }
  int read_error = ferror(f);
  free(line);
  fclose(f);
  if (rc < 0)
    return rc;
  return read_error ? FL_EREAD : loaded;
}

int fl__cookie_jar_save(fl__cookie_jar *jar, const char *path, int64_t now) {
  size_t plen = strlen(path);
  char *tmp = malloc(plen + 8);
  if (!tmp)
    return FL_ENOMEM;
  memcpy(tmp, path, plen);
  memcpy(tmp + plen, ".XXXXXX", 8);
  int fd = mkstemp(tmp); /* mode 0600: cookies are secrets */
  if (fd >= 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
    close(fd);
    unlink(tmp);
    fd = -1;
  }
  if (fd < 0) {
    free(tmp);
    return FL_EWRITE;
  }
  FILE *f = fdopen(fd, "w");
  if (!f) {
    close(fd);
    unlink(tmp);
    free(tmp);
    return FL_EWRITE;
  }
  int bad = fputs(file_header, f) < 0;
  fl__queue *q;
  fl__queue_foreach(q, &jar->cookies) {
    const cookie *c = fl__container_of(q, cookie, node);
    if (bad || expired(c, now))
      continue;
    bad = fprintf(f, "%s%s%s\t%s\t%s\t%s\t%lld\t%s\t%s\n", c->http_only ? HTTPONLY_PREFIX : "",
                  c->dot ? "." : "", c->domain, c->host_only ? "FALSE" : "TRUE", c->path,
                  c->secure ? "TRUE" : "FALSE", c->persistent ? (long long)c->expires : 0LL,
                  c->name, c->value) < 0;
  }
  if (fflush(f) != 0 || fsync(fileno(f)) != 0)
    bad = 1;
  if (fclose(f) != 0)
    bad = 1;
  if (!bad && rename(tmp, path) != 0)
    bad = 1;
  if (bad) {
    int saved = errno;
    unlink(tmp);
    errno = saved;
  }
  free(tmp);
  return bad ? FL_EWRITE : 0;
}
