/* Set-Cookie (RFC 6265 section 5.2, with the RFC 6265bis hardening) and the
 * cookie-date algorithm (section 5.1.1). See cookies.h for the rules. */
#include "http/cookies_impl.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- dates */

static int is_date_delim(unsigned char c) {
  return c == 0x09 || (c >= 0x20 && c <= 0x2f) || (c >= 0x3b && c <= 0x40) ||
         (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e);
}

/* min..max digits at t[*i], then end of token or a non-digit. */
static int date_num(const char *t, size_t n, size_t *i, size_t min, size_t max, int last) {
  size_t k = 0;
  int v = 0;
  while (*i + k < n && k < max && fl__cookie_is_digit(t[*i + k]))
    v = v * 10 + (t[*i + k] - '0'), k++;
  if (k < min) return -1;
  *i += k;
  if (last && *i < n && fl__cookie_is_digit(t[*i])) return -1;
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
    while (i < len && is_date_delim((unsigned char)s[i])) i++;
    size_t start = i;
    while (i < len && !is_date_delim((unsigned char)s[i])) i++;
    const char *t = s + start;
    size_t n = i - start, k;
    if (n == 0) break;
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
        if (fl__strncaseeq(t, months[m], 3)) found = 1, month = m + 1;
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
  if (!have_time || !have_day || !have_month || !have_year) return -1;
  if (day < 1 || day > 31 || year < 1601 || hh > 23 || mm > 59 || ss > 59) return -1;
  static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (day > mdays[month - 1] || (month == 2 && day == 29 && !leap)) return -1;
  *out = days_from_civil(year, month, day) * 86400 + hh * 3600 + mm * 60 + ss;
  return 0;
}

/* ---------------------------------------------------------- Set-Cookie */

static int is_wsp(char c) { return c == ' ' || c == '\t'; }

static void trim(const char **p, size_t *n) {
  while (*n > 0 && is_wsp(**p)) (*p)++, (*n)--;
  while (*n > 0 && is_wsp((*p)[*n - 1])) (*n)--;
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
  if (n > 0 && v[0] == '-') neg = 1, i = 1;
  if (i == n) return -1;
  int64_t delta = 0;
  for (; i < n; i++) {
    if (!fl__cookie_is_digit(v[i])) return -1;
    if (delta < FL__COOKIE_MAX_AGE) delta = delta * 10 + (v[i] - '0');
  }
  if (neg || delta == 0)
    *expiry = INT64_MIN; /* the earliest time there is: delete */
  else
    *expiry = now + (delta < FL__COOKIE_MAX_AGE ? delta : FL__COOKIE_MAX_AGE);
  return 0;
}

/* An http cookie may not replace or shadow a Secure one (RFC 6265bis). */
static int shadows_secure(fl__cookie_jar *jar, const char *name, size_t nlen, const char *domain,
                          const char *path, size_t plen) {
  fl__queue *q;
  fl__queue_foreach(q, &jar->cookies) {
    fl__cookie *c = fl__container_of(q, fl__cookie, node);
    if (c->secure && strncmp(c->name, name, nlen) == 0 && c->name[nlen] == '\0' &&
        (fl__cookie_domain_match(c->domain, domain) ||
         fl__cookie_domain_match(domain, c->domain)) &&
        fl__cookie_path_match(path, plen, c->path, c->path_len))
      return 1;
  }
  return 0;
}

int fl__cookie_jar_set(fl__cookie_jar *jar, const char *s, size_t len, const fl__cookie_origin *o) {
  jar->reason = "";
  for (size_t i = 0; i < len; i++)
    if (fl__cookie_is_ctl((unsigned char)s[i])) /* NUL included */
      return ignore(jar, "control character in Set-Cookie");

  const char *semi = memchr(s, ';', len);
  size_t nvlen = semi ? (size_t)(semi - s) : len;
  const char *eq = memchr(s, '=', nvlen);
  if (!eq) return ignore(jar, "no '=' in the name=value pair");
  const char *name = s, *value = eq + 1;
  size_t nlen = (size_t)(eq - s), vlen = nvlen - nlen - 1;
  trim(&name, &nlen);
  trim(&value, &vlen);
  if (nlen == 0) return ignore(jar, "empty cookie name");
  if (memchr(name, '\t', nlen) || memchr(value, '\t', vlen))
    return ignore(jar, "TAB in cookie name or value");
  if (nlen + vlen > FL__COOKIE_MAX_SIZE) return ignore(jar, "cookie too big");

  /* Attributes: the last of each kind wins; Max-Age beats Expires. */
  int have_max_age = 0, have_expires = 0, secure = 0, http_only = 0;
  int64_t max_age_exp = 0, expires = 0;
  const char *dattr = NULL, *pattr = NULL;
  size_t dlen = 0, plen = 0;
  const char *p = semi ? semi + 1 : s + len, *end = s + len;
  while (p < end) {
    const char *av_end = memchr(p, ';', (size_t)(end - p));
    if (!av_end) av_end = end;
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
    if (valn > FL__COOKIE_MAX_ATTR) continue;
    if (ieq(key, klen, "expires")) {
      if (fl__cookie_parse_date(val, valn, &expires) == 0) have_expires = 1;
    } else if (ieq(key, klen, "max-age")) {
      if (parse_max_age(val, valn, o->now, &max_age_exp) == 0) have_max_age = 1;
    } else if (ieq(key, klen, "domain")) {
      if (valn > 0 && val[0] == '.') val++, valn--;
      dattr = valn ? val : NULL, dlen = valn; /* empty: as if absent */
    } else if (ieq(key, klen, "path")) {
      if (memchr(val, '\t', valn)) /* the file format could not hold it */
        return ignore(jar, "TAB in the Path attribute");
      pattr = (valn && val[0] == '/') ? val : NULL, plen = valn; /* else default */
    } else if (ieq(key, klen, "secure")) {
      secure = 1;
    } else if (ieq(key, klen, "httponly")) {
      http_only = 1;
    }
  }

  int persistent = have_max_age || have_expires;
  int64_t expiry = have_max_age ? max_age_exp : expires;
  if (persistent && expiry > o->now + FL__COOKIE_MAX_AGE) expiry = o->now + FL__COOKIE_MAX_AGE;

  char host[256], dom[FL__COOKIE_MAX_ATTR + 1];
  if (fl__cookie_canon_host(o->host, host, sizeof host) != 0)
    return ignore(jar, "bad request host");
  int host_only = 1;
  const char *domain = host;
  if (dattr) {
    for (size_t i = 0; i < dlen; i++)
      dom[i] = (dattr[i] >= 'A' && dattr[i] <= 'Z') ? (char)(dattr[i] + 32) : dattr[i];
    dom[dlen] = '\0';
    if (fl__cookie_is_ip(host)) {
      if (strcmp(dom, host) != 0) return ignore(jar, "Domain attribute for an IP address host");
    } else if (fl__psl_is_public_suffix(jar->psl, dom)) {
      if (strcmp(dom, host) != 0) return ignore(jar, "Domain attribute is a public suffix");
    } else if (!fl__cookie_domain_match(host, dom)) {
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
    path = fl__cookie_req_path(o->path, &rlen);
    plen = rlen;
    while (plen > 0 && path[plen - 1] != '/') plen--;
    if (plen > 0) plen--; /* drop the last "/" itself */
    if (plen == 0) path = "/", plen = 1;
  }

  if (secure && !o->is_https) return ignore(jar, "Secure cookie from an insecure origin");
  if (nlen >= 9 && fl__strncaseeq(name, "__Secure-", 9) && !secure)
    return ignore(jar, "__Secure- cookie without Secure");
  if (nlen >= 7 && fl__strncaseeq(name, "__Host-", 7) && (!secure || dattr || !pattr || plen != 1))
    return ignore(jar, "__Host- cookie without Secure, with Domain, or Path other than /");
  if (!o->is_https && shadows_secure(jar, name, nlen, domain, path, plen))
    return ignore(jar, "would overwrite a Secure cookie from an insecure origin");

  fl__cookie *old = fl__cookie_find(jar, name, nlen, domain, path, plen);
  if (persistent && expiry <= o->now) {
    if (old) fl__cookie_unlink(jar, old);
    return ignore(jar, old ? "expired: cookie deleted" : "expired");
  }
  fl__cookie *c = fl__cookie_alloc(name, nlen, value, vlen, domain, strlen(domain), path, plen);
  if (!c) return FL_ENOMEM;
  c->host_only = (unsigned)host_only;
  c->dot = !host_only;
  c->secure = (unsigned)secure;
  c->http_only = (unsigned)http_only;
  c->persistent = (unsigned)persistent;
  c->expires = expiry;
  fl__cookie_store(jar, c, old, o->now);
  return 1;
}

int fl__cookie_jar_set_headers(fl__cookie_jar *jar, const fl__headers *h,
                               const fl__cookie_origin *origin) {
  int stored = 0, seen = 0;
  for (size_t i = 0; i < h->n && seen < FL__COOKIE_MAX_PER_RESPONSE; i++) {
    if (!fl__strcaseeq(fl__headers_name(h, i), "set-cookie")) continue;
    seen++;
    int rc = fl__cookie_jar_set(jar, fl__headers_value(h, i), h->items[i].value_len, origin);
    if (rc < 0) return rc;
    stored += rc;
  }
  return stored;
}
