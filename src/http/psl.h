/* Public suffixes (publicsuffix.org): which domains are registries such as
 * "com", "co.uk" or "github.io", under which nobody may set a cookie for
 * every site at once. The rules are libpsl's (the library curl links):
 * its matching, with the list's wildcard and exception rules and IDN
 * (UTF-8 rules are kept in punycode, as hosts are).
 *
 * Two sources:
 * - The latest list on the machine, as curl takes it (psl_latest): the
 *   newer of the list built into libpsl and the system's
 *   (/usr/share/publicsuffix, Debian's "publicsuffix" package). Loaded
 *   once per process, shared read-only: this is what psl NULL means below.
 * - A list file in the publicsuffix.org format (or libpsl's DAFSA), for
 *   tests and for applications that ship their own.
 *
 * The ICANN and the PRIVATE sections are both used, as browsers do for
 * cookies; a name no rule covers falls under the list's default "*" rule
 * (its last label is a public suffix).
 */
#ifndef FL_PSL_H
#define FL_PSL_H

#include <stddef.h>

#define FL__PSL_SYSTEM_FILE "/usr/share/publicsuffix/public_suffix_list.dat"

typedef struct fl__psl fl__psl;

#define FL__PSL_MAX_FILE (16u << 20) /* the real list is ~250 KB */

/* Load a list from path. 0, FL_EREAD (cannot open or read, no rule in it,
 * or over FL__PSL_MAX_FILE bytes) or FL_ENOMEM. */
int fl__psl_load(fl__psl **out, const char *path);
void fl__psl_free(fl__psl *psl); /* NULL is fine */
/* Number of rules loaded, exception rules included (0 for a DAFSA file,
 * which does not say). */
size_t fl__psl_rule_count(const fl__psl *psl);

/* 1 if domain (ASCII, any case, no leading or trailing dot) is a public
 * suffix according to psl, or to the latest list when psl is NULL; else 0.
 * An empty domain counts as a public suffix. */
int fl__psl_is_public_suffix(const fl__psl *psl, const char *domain);

#endif
