/* Cookie jar: storage within the caps, domain and path matching, and the
 * Cookie header. Set-Cookie parsing is in cookie_parse.c, the Netscape
 * cookie file in cookie_file.c. See cookies.h for the rules. */
#include "http/cookies_impl.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

/* -------------------------------------------------------------- basics */

fl__cookie_jar *fl__cookie_jar_new(void) {
  fl__cookie_jar *jar = calloc(1, sizeof *jar);
  if (!jar) return NULL;
  fl__queue_init(&jar->cookies);
  jar->reason = "";
  return jar;
}

void fl__cookie_unlink(fl__cookie_jar *jar, fl__cookie *c) {
  fl__queue_remove(&c->node);
  jar->count--;
  free(c);
}

void fl__cookie_jar_free(fl__cookie_jar *jar) {
  if (!jar) return;
  while (!fl__queue_empty(&jar->cookies))
    fl__cookie_unlink(jar, fl__container_of(jar->cookies.next, fl__cookie, node));
  free(jar->scratch);
  free(jar);
}

void fl__cookie_jar_set_psl(fl__cookie_jar *jar, const fl__psl *psl) { jar->psl = psl; }
size_t fl__cookie_jar_count(const fl__cookie_jar *jar) { return jar->count; }
const char *fl__cookie_jar_reason(const fl__cookie_jar *jar) { return jar->reason; }

void fl__cookie_jar_purge(fl__cookie_jar *jar, int64_t now, int session) {
  fl__queue *q = jar->cookies.next;
  while (q != &jar->cookies) {
    fl__cookie *c = fl__container_of(q, fl__cookie, node);
    q = q->next;
    if (fl__cookie_expired(c, now) || (session && !c->persistent)) fl__cookie_unlink(jar, c);
  }
}

fl__cookie *fl__cookie_alloc(const char *name, size_t nlen, const char *value, size_t vlen,
                             const char *domain, size_t dlen, const char *path, size_t plen) {
  fl__cookie *c = malloc(sizeof *c + nlen + vlen + dlen + plen + 4);
  if (!c) return NULL;
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

int fl__cookie_is_ip(const char *host) {
  struct in_addr a4;
  return strchr(host, ':') != NULL || inet_pton(AF_INET, host, &a4) == 1;
}

/* RFC 6265 5.1.3: identical, or host ends with "." + domain and is a name. */
int fl__cookie_domain_match(const char *host, const char *domain) {
  size_t hl = strlen(host), dl = strlen(domain);
  if (hl == dl) return fl__strcaseeq(host, domain);
  return hl > dl && host[hl - dl - 1] == '.' && fl__strcaseeq(host + hl - dl, domain) &&
         !fl__cookie_is_ip(host);
}

/* RFC 6265 5.1.4. */
int fl__cookie_path_match(const char *req, size_t rl, const char *cpath, size_t cl) {
  if (cl > rl || memcmp(req, cpath, cl) != 0) return 0;
  return cl == rl || cpath[cl - 1] == '/' || req[cl] == '/';
}

/* Lower-cased host without [] or a trailing dot, into buf. 0 or -1. */
int fl__cookie_canon_host(const char *host, char *buf, size_t cap) {
  size_t n = host ? strlen(host) : 0;
  if (n >= 2 && host[0] == '[' && host[n - 1] == ']') host++, n -= 2;
  if (n > 0 && host[n - 1] == '.') n--;
  if (n == 0 || n >= cap) return -1;
  for (size_t i = 0; i < n; i++) {
    char ch = host[i];
    buf[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
  }
  buf[n] = '\0';
  return 0;
}

/* The path part of a request target: up to "?" or "#"; "/" if it does not
 * start with "/". */
const char *fl__cookie_req_path(const char *target, size_t *len) {
  if (!target || target[0] != '/') {
    *len = 1;
    return "/";
  }
  *len = strcspn(target, "?#");
  return target;
}

fl__cookie *fl__cookie_find(fl__cookie_jar *jar, const char *name, size_t nlen, const char *domain,
                            const char *path, size_t plen) {
  fl__queue *q;
  fl__queue_foreach(q, &jar->cookies) {
    fl__cookie *c = fl__container_of(q, fl__cookie, node);
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
    if (fl__strcaseeq(fl__container_of(q, fl__cookie, node)->domain, domain)) same++;
  }
  if (same < FL__COOKIE_MAX_PER_DOMAIN && jar->count < FL__COOKIE_MAX_TOTAL) return;
  q = jar->cookies.next;
  while (q != &jar->cookies) {
    fl__cookie *c = fl__container_of(q, fl__cookie, node);
    q = q->next;
    if (fl__cookie_expired(c, now)) {
      if (fl__strcaseeq(c->domain, domain)) same--;
      fl__cookie_unlink(jar, c);
    }
  }
  q = jar->cookies.next;
  while (same >= FL__COOKIE_MAX_PER_DOMAIN && q != &jar->cookies) {
    fl__cookie *c = fl__container_of(q, fl__cookie, node);
    q = q->next;
    if (fl__strcaseeq(c->domain, domain)) {
      fl__cookie_unlink(jar, c);
      same--;
    }
  }
  while (jar->count >= FL__COOKIE_MAX_TOTAL)
    fl__cookie_unlink(jar, fl__container_of(jar->cookies.next, fl__cookie, node));
}

/* Put c in the jar: in old's place (taking its creation order), or last. */
void fl__cookie_store(fl__cookie_jar *jar, fl__cookie *c, fl__cookie *old, int64_t now) {
  if (old) {
    c->seq = old->seq;
    fl__queue_insert_tail(&old->node, &c->node); /* just before old */
    jar->count++;
    fl__cookie_unlink(jar, old);
    return;
  }
  make_room(jar, c->domain, now);
  c->seq = jar->next_seq++;
  fl__queue_insert_tail(&jar->cookies, &c->node);
  jar->count++;
}

/* -------------------------------------------------------------- Cookie */

static int by_path_then_age(const void *a, const void *b) {
  const fl__cookie *x = *(fl__cookie *const *)a, *y = *(fl__cookie *const *)b;
  if (x->path_len != y->path_len) return x->path_len > y->path_len ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int fl__cookie_jar_header(fl__cookie_jar *jar, const fl__cookie_origin *o, fl__buf *out) {
  char host[256];
  if (fl__cookie_canon_host(o->host, host, sizeof host) != 0) return 0;
  size_t rlen, n = 0;
  const char *rpath = fl__cookie_req_path(o->path, &rlen);
  if (jar->scratch_cap < jar->count) {
    fl__cookie **ns = realloc(jar->scratch, jar->count * sizeof *ns);
    if (!ns) return FL_ENOMEM;
    jar->scratch = ns, jar->scratch_cap = jar->count;
  }
  fl__queue *q = jar->cookies.next;
  while (q != &jar->cookies) {
    fl__cookie *c = fl__container_of(q, fl__cookie, node);
    q = q->next;
    if (fl__cookie_expired(c, o->now)) {
      fl__cookie_unlink(jar, c);
      continue;
    }
    if ((c->host_only ? fl__strcaseeq(host, c->domain)
                      : fl__cookie_domain_match(host, c->domain)) &&
        fl__cookie_path_match(rpath, rlen, c->path, c->path_len) && (!c->secure || o->is_https))
      jar->scratch[n++] = c;
  }
  if (n > 1) qsort(jar->scratch, n, sizeof *jar->scratch, by_path_then_age);
  size_t used = 0;
  int added = 0;
  for (size_t i = 0; i < n; i++) {
    fl__cookie *c = jar->scratch[i];
    size_t nl = strlen(c->name), vl = strlen(c->value), need = nl + 1 + vl + (added ? 2 : 0);
    if (used + need > FL__COOKIE_MAX_HEADER) break;
    if ((added && fl__buf_append(out, "; ", 2)) || fl__buf_append(out, c->name, nl) ||
        fl__buf_append(out, "=", 1) || fl__buf_append(out, c->value, vl))
      return FL_ENOMEM;
    used += need;
    added++;
  }
  return added;
}
