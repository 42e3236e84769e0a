/* Address text for the resolver (dns_addr.c): parsing what users write
 * (IP literals, "ip[:port],..." DNS servers, "host:port:addr,..." resolve
 * overrides) and ordering address lists. Callers own every buffer. */
#ifndef FL_DNS_ADDR_H
#define FL_DNS_ADDR_H

#include <stddef.h>
#include <stdint.h>

#include "base/common.h"

#define FL__DNS_MAX_ADDRS 16 /* addresses kept per name */

/* A --resolve style override: host (lower case, malloc'd: the caller frees
 * it) answers with addrs (ordered, port 0). */
typedef struct fl__dns_override {
  char *host; /* lower case */
  uint16_t port;
  size_t naddrs;
  fl__sockaddr addrs[FL__DNS_MAX_ADDRS]; /* ordered, port 0 */
} fl__dns_override;

/* dst = the len bytes of src in ASCII lower case, NUL-terminated
 * (dst has room for len + 1). */
void fl__dns_lower_copy(char *dst, const char *src, size_t len);
void fl__sockaddr_set_port(fl__sockaddr *a, uint16_t port);
/* An IPv4 or IPv6 literal (no brackets; IPv6 may carry "%scope", an
 * interface name or number) into *out with port 0. 1 if it is one. */
int fl__dns_parse_ip(const char *s, fl__sockaddr *out);
/* "ip[:port],[v6]:port,..." -> *csv_out, the normalised list c-ares takes
 * (malloc'd: the caller frees it). 0, FL_EINVAL (reason in errbuf, which
 * may be NULL with errcap 0) or FL_ENOMEM. */
int fl__dns_parse_servers(const char *s, char **csv_out, char *errbuf, size_t errcap);
/* "host:port:addr[,addr...]" (addr may be "[v6]") -> *o. 0, FL_EINVAL
 * (reason in errbuf) or FL_ENOMEM. */
int fl__dns_parse_override(const char *s, fl__dns_override *o, char *errbuf, size_t errcap);
/* Happy Eyeballs order (RFC 8305 section 4): IPv6 first, then alternating
 * families, each family in its given order; duplicates dropped. Writes at
 * most cap addresses to out (which must not overlap in); returns the count. */
size_t fl__dns_order_addrs(fl__sockaddr *out, size_t cap, const fl__sockaddr *in, size_t n);

#endif
