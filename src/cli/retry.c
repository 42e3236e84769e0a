/* --retry: which failed attempts curl tries again, and what Retry-After
 * asks. The waiting and resending are in transfer.c.
 *
 * curl 7.88's rules: a timeout (exit 28) or a name that did not resolve
 * (6); a refused connection only with --retry-connrefused; a response with
 * status 408, 429, 500, 502, 503 or 504 (also when -f made it exit 22);
 * with --retry-all-errors, any failure. Nothing else: a reset (56), an
 * empty reply (52) or another connect failure (7) ends the transfer. */
#define _GNU_SOURCE /* strptime, timegm */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static int transient_status(int status) {
  switch (status) {
  case 408:
  case 429:
  case 500:
  case 502:
  case 503:
  case 504: return 1;
  default: return 0;
  }
}

cli_retry_kind cli_retry_classify(const cli_retry_opts *o, int code, int err, int status) {
  if (code == 28 || code == 6) return CLI_RETRY_TIMEOUT;
  if (o->connrefused && err == FL_ECONN_REFUSED) return CLI_RETRY_CONNREFUSED;
  if ((code == 0 || code == 22) && transient_status(status)) return CLI_RETRY_HTTP;
  if (o->all_errors && code != 0) return CLI_RETRY_ALL;
  return CLI_RETRY_NO;
}

const char *cli_retry_problem(cli_retry_kind kind) {
  switch (kind) {
  case CLI_RETRY_ALL: return "(retrying all errors)";
  case CLI_RETRY_TIMEOUT: return ": timeout";
  case CLI_RETRY_CONNREFUSED: return ": connection refused";
  case CLI_RETRY_HTTP: return ": HTTP error";
  case CLI_RETRY_NO: break;
  }
  return "";
}

/* An HTTP-date in any of the three forms of RFC 9110 5.6.7, as UTC. */
int cli_parse_http_date(const char *s, time_t *out) {
  static const char *const forms[] = {
      "%a, %d %b %Y %H:%M:%S GMT", /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
      "%A, %d-%b-%y %H:%M:%S GMT", /* RFC 850:     Sunday, 06-Nov-94 08:49:37 GMT */
      "%a %b %e %H:%M:%S %Y",      /* asctime:     Sun Nov  6 08:49:37 1994 */
  };
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(s, forms[i], &tm);
    if (end && strspn(end, " \t") == strlen(end)) {
      *out = timegm(&tm);
      return 0;
    }
  }
  return -1;
}

int64_t cli_retry_after_ms(const fl_response *res) {
  const char *v = res ? fl_response_header(res, "Retry-After") : NULL;
  if (!v) return -1;
  v += strspn(v, " \t");
  if (*v >= '0' && *v <= '9') {
    char *end;
    unsigned long long secs = strtoull(v, &end, 10);
    if (strspn(end, " \t") != strlen(end) || secs == 0) return -1;
    if (secs > 100u * 365 * 86400) secs = 100u * 365 * 86400; /* and then some */
    return (int64_t)secs * 1000;
  }
  time_t when;
  if (cli_parse_http_date(v, &when)) return -1;
  time_t now = time(NULL);
  return when > now ? (int64_t)(when - now) * 1000 : -1;
}
