/* libFuzzer target: DNS address text (src/net/dns_addr.c): IP literals,
 * DNS server lists ("ip[:port],[v6]:port,...") and resolve overrides
 * ("host:port:addr[,addr]"), and the same through the public options
 * (fl_client_new with dns_servers / resolve).
 *
 * Input: byte 0 picks what to parse; the rest is the text (up to a NUL).
 * Checks: a server list that parses gives a normalised list that parses
 * again to itself; an override has a lower-case host, 1..FL__DNS_MAX_ADDRS
 * addresses, each an IPv4 or IPv6 address with port 0; an IP literal gives
 * an address of its family; errors are the documented ones and carry a
 * reason. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flurry.h"
#include "net/dns_addr.h"

static void die(const char *what, const char *a, const char *b) {
  fprintf(stderr, "fuzz_dns_addr: %s\n  [%s]\n  [%s]\n", what, a ? a : "", b ? b : "");
  abort();
}

static void check_addr(const fl__sockaddr *a, const char *text) {
  if (a->in4.sin_family == AF_INET) {
    if (a->in4.sin_port != 0) die("address with a port", text, NULL);
  } else if (a->in6.sin6_family == AF_INET6) {
    if (a->in6.sin6_port != 0) die("address with a port", text, NULL);
  } else {
    die("address of no family", text, NULL);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 4096) return 0;
  char text[4100];
  memcpy(text, data + 1, size - 1);
  text[size - 1] = '\0';
  char err[256];

  switch (data[0] % 4) {
  case 0: {
    fl__sockaddr a;
    memset(&a, 0, sizeof a);
    if (fl__dns_parse_ip(text, &a)) {
      check_addr(&a, text);
      struct in_addr v4;
      if (inet_pton(AF_INET, text, &v4) == 1 && a.in4.sin_family != AF_INET)
        die("a dotted quad is not IPv4", text, NULL);
    }
    break;
  }
  case 1: {
    char *csv = NULL;
    err[0] = '\0';
    int rc = fl__dns_parse_servers(text, &csv, err, sizeof err);
    if (rc == 0) {
      if (!csv) die("servers: success without a list", text, NULL);
      char *again = NULL;
      if (fl__dns_parse_servers(csv, &again, err, sizeof err) != 0)
        die("servers: own output refused", text, csv);
      if (strcmp(again, csv) != 0) die("servers: not a fixed point", csv, again);
      free(again);
      free(csv);
    } else if (rc == FL_EINVAL) {
      if (!err[0]) die("servers: refused without a reason", text, NULL);
      if (csv) die("servers: refused but gave a list", text, csv);
    } else if (rc != FL_ENOMEM) {
      die("servers: unexpected error", text, fl_err_name(rc));
    }
    break;
  }
  case 2: {
    fl__dns_override o;
    memset(&o, 0, sizeof o);
    err[0] = '\0';
    int rc = fl__dns_parse_override(text, &o, err, sizeof err);
    if (rc == 0) {
      if (!o.host || o.naddrs == 0 || o.naddrs > FL__DNS_MAX_ADDRS)
        die("override: bad result", text, o.host);
      for (const char *h = o.host; *h; h++)
        if (*h >= 'A' && *h <= 'Z') die("override: host not lower-cased", text, o.host);
      for (size_t i = 0; i < o.naddrs; i++) check_addr(&o.addrs[i], text);
      free(o.host);
    } else if (rc == FL_EINVAL) {
      if (!err[0]) die("override: refused without a reason", text, NULL);
      free(o.host);
    } else if (rc != FL_ENOMEM) {
      die("override: unexpected error", text, fl_err_name(rc));
    }
    break;
  }
  default: {
    /* The same text through the public options: a client is made or not,
     * never a crash; nothing is resolved. */
    static fl_loop *loop;
    if (!loop) loop = fl_loop_new();
    fl_client_options o;
    fl_client_options_init(&o);
    const char *resolve[3] = {text, "fixed.test:80:127.0.0.1", NULL};
    if (data[0] & 4)
      o.dns_servers = text;
    else
      o.resolve = resolve;
    fl_client *c = fl_client_new(loop, &o);
    fl_client_free(c);
    break;
  }
  }
  return 0;
}
