/* Public suffixes (publicsuffix.org): which domains are registries such as
 * "com", "co.uk" or "github.io", under which nobody may set a cookie for
 * every site at once.
 *
 * Two sources:
 * - A built-in list (no allocation, always there): every single-label name
 *   (the list's default "*" rule, which covers all TLDs) plus about 130
 *   multi-label suffixes common on the web (co.uk, com.au, co.jp, github.io,
 *   herokuapp.com, ...) and a few wildcard/exception rules (*.ck, !www.ck).
 *   Known limitation: it is not the full list of ~9,000 rules; a site under
 *   a suffix it lacks (e.g. "k12.ca.us") can set a cookie for the suffix.
 * - The full list, loaded from a file in the publicsuffix.org format, e.g.
 *   FL__PSL_SYSTEM_FILE from Debian's "publicsuffix" package. Rules are
 *   matched as ASCII; internationalised rules (UTF-8 in the file) are
 *   skipped, so punycode hosts under IDN suffixes fall back to the other
 *   rules (known limitation; libpsl converts them).
 *
 * The ICANN and the PRIVATE sections are both used, as browsers do for
 * cookies.
 */
#ifndef FL_PSL_H
#define FL_PSL_H

#include <stddef.h>

#define FL__PSL_SYSTEM_FILE "/usr/share/publicsuffix/public_suffix_list.dat"

typedef struct fl__psl fl__psl;

#define FL__PSL_MAX_FILE (16u << 20) /* the real list is ~250 KB */

/* Load the full list from path. 0, FL_EREAD (cannot open or read, no rule in
 * it, or over FL__PSL_MAX_FILE bytes) or FL_ENOMEM. */
int fl__psl_load(fl__psl **out, const char *path);
void fl__psl_free(fl__psl *psl); /* NULL is fine */
/* Number of rules loaded. */
size_t fl__psl_rule_count(const fl__psl *psl);

/* 1 if domain (ASCII, any case, no leading or trailing dot) is a public
 * suffix according to psl, or to the built-in list when psl is NULL;
 * else 0. An empty domain counts as a public suffix. */
int fl__psl_is_public_suffix(const fl__psl *psl, const char *domain);

#endif
