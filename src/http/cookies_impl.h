/* Cookie jar internals shared by cookies.c (the jar: storage, matching,
 * the Cookie header), cookie_parse.c (Set-Cookie and cookie dates) and
 * cookie_file.c (the Netscape cookie file). Included by those files only.
 *
 * The jar is one list in creation order (a replaced cookie keeps its place
 * and sequence number), so "oldest" is always the list head and saving in
 * list order is stable. */
#ifndef FL_COOKIES_IMPL_H
#define FL_COOKIES_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "base/common.h"
#include "http/cookies.h"

typedef struct fl__cookie {
  fl__queue node;
  uint64_t seq;                       /* creation order */
  int64_t expires;                    /* unix seconds; only if persistent */
  char *name, *value, *domain, *path; /* all in this allocation */
  size_t path_len;
  unsigned host_only : 1, secure : 1, http_only : 1, persistent : 1;
  unsigned dot : 1; /* domain written with a leading "." in the file */
} fl__cookie;

struct fl__cookie_jar {
  fl__queue cookies;
  size_t count;
  uint64_t next_seq;
  const fl__psl *psl;
  const char *reason;
  fl__cookie **scratch; /* matching cookies while building a header */
  size_t scratch_cap;
};

static inline int fl__cookie_expired(const fl__cookie *c, int64_t now) {
  return c->persistent && c->expires <= now;
}
static inline int fl__cookie_is_digit(char c) { return c >= '0' && c <= '9'; }
/* CTL other than HTAB. */
static inline int fl__cookie_is_ctl(unsigned char c) {
  return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* cookies.c */
/* One allocation holding the cookie and its four strings; flags zero. */
fl__cookie *fl__cookie_alloc(const char *name, size_t nlen, const char *value, size_t vlen,
                             const char *domain, size_t dlen, const char *path, size_t plen);
/* Take c out of the jar and free it. */
void fl__cookie_unlink(fl__cookie_jar *jar, fl__cookie *c);
/* Put c in the jar: in old's place (taking its creation order), or last
 * (making room within the caps first). */
void fl__cookie_store(fl__cookie_jar *jar, fl__cookie *c, fl__cookie *old, int64_t now);
/* The cookie with this name, domain (case-insensitive) and path, or NULL. */
fl__cookie *fl__cookie_find(fl__cookie_jar *jar, const char *name, size_t nlen, const char *domain,
                            const char *path, size_t plen);
/* An IP address literal (IPv6 without [], or dotted IPv4)? */
int fl__cookie_is_ip(const char *host);
/* RFC 6265 5.1.3 domain-match and 5.1.4 path-match. */
int fl__cookie_domain_match(const char *host, const char *domain);
int fl__cookie_path_match(const char *req, size_t rl, const char *cpath, size_t cl);
/* Lower-cased host without [] or a trailing dot, into buf. 0 or -1. */
int fl__cookie_canon_host(const char *host, char *buf, size_t cap);
/* The path part of a request target ("/" if it does not start with "/"). */
const char *fl__cookie_req_path(const char *target, size_t *len);

#endif
