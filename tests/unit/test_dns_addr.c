/* Address text for the resolver (src/dns_addr.c): IP literals, the DNS
 * server list as c-ares gets it, resolve overrides. No loop, no network. */
#include <arpa/inet.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "net/dns_addr.h"
#include "test.h"

static void test_parse_ip(void) {
  fl__sockaddr a;
  CHECK(fl__dns_parse_ip("127.0.0.1", &a));
  CHECK_EQ_INT(a.sa.sa_family, AF_INET);
  CHECK_EQ_INT(ntohl(a.in4.sin_addr.s_addr), 0x7f000001);
  CHECK_EQ_INT(a.in4.sin_port, 0);
  CHECK(fl__dns_parse_ip("::1", &a));
  CHECK_EQ_INT(a.sa.sa_family, AF_INET6);
  CHECK_EQ_INT(a.in6.sin6_scope_id, 0);
  CHECK(fl__dns_parse_ip("fe80::1%7", &a));
  CHECK_EQ_INT(a.in6.sin6_scope_id, 7);
  unsigned lo = if_nametoindex("lo");
  if (lo) { /* an interface name as the scope */
    CHECK(fl__dns_parse_ip("fe80::1%lo", &a));
    CHECK_EQ_INT(a.in6.sin6_scope_id, lo);
  }
  const char *bad[] = {"",          "localhost", "1.2.3",          "1.2.3.4.5",       "256.1.1.1",
                       "1.2.3.4%1", "::1%",      "::1%4294967296", "::1%no-such-if0", "[::1]",
                       "::g"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    if (fl__dns_parse_ip(bad[i], &a)) {
      fprintf(stderr, "accepted \"%s\"\n", bad[i]);
      exit(1);
    }
  }
  fl__sockaddr_set_port(&a, 0);
  CHECK(fl__dns_parse_ip("10.0.0.1", &a));
  fl__sockaddr_set_port(&a, 8080);
  CHECK_EQ_INT(ntohs(a.in4.sin_port), 8080);
}

static void expect_servers(const char *in, const char *want) {
  char *csv = NULL, err[128] = "";
  int rc = fl__dns_parse_servers(in, &csv, err, sizeof err);
  if (want) {
    if (rc != 0 || strcmp(csv, want) != 0) {
      fprintf(stderr, "servers \"%s\": rc %d, \"%s\", want \"%s\" (%s)\n", in, rc, csv ? csv : "",
              want, err);
      exit(1);
    }
    free(csv);
  } else {
    CHECK_EQ_INT(rc, FL_EINVAL);
    CHECK(csv == NULL);
    CHECK(strstr(err, "bad DNS server") != NULL);
  }
}

static void test_servers(void) {
  /* Port 53 unless given; IPv6 bracketed so c-ares can tell the port. */
  expect_servers("127.0.0.1", "127.0.0.1:53");
  expect_servers("127.0.0.1:5353,[::1]:5354,::1", "127.0.0.1:5353,[::1]:5354,[::1]:53");
  expect_servers("[fe80::1%7]", "[fe80::1%7]:53");
  expect_servers("1.2.3.4:65535", "1.2.3.4:65535");
  const char *bad[] = {
      "",         ",",          "1.2.3.4,",     "dns.example:53", "1.2.3.4:0", "1.2.3.4:65536",
      "1.2.3.4:", "1.2.3.4:5x", "[1.2.3.4]:53", "[::1]x",         "[::1",      "::1:53x"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) expect_servers(bad[i], NULL);
  /* No error buffer at all is allowed. */
  char *csv = NULL;
  CHECK_EQ_INT(fl__dns_parse_servers("nope", &csv, NULL, 0), FL_EINVAL);
}

static void test_overrides(void) {
  fl__dns_override o;
  char err[160] = "";
  /* Lower-cased host; addresses in Happy Eyeballs order (IPv6 first), the
   * duplicate dropped. */
  CHECK_EQ_INT(fl__dns_parse_override("API.Example.com:443:10.0.0.1,[::1],10.0.0.1,10.0.0.2", &o,
                                      err, sizeof err),
               0);
  CHECK_EQ_STR(o.host, "api.example.com");
  CHECK_EQ_INT(o.port, 443);
  CHECK_EQ_INT(o.naddrs, 3);
  CHECK_EQ_INT(o.addrs[0].sa.sa_family, AF_INET6);
  CHECK_EQ_INT(o.addrs[1].sa.sa_family, AF_INET);
  CHECK_EQ_INT(ntohl(o.addrs[1].in4.sin_addr.s_addr), 0x0a000001);
  CHECK_EQ_INT(ntohl(o.addrs[2].in4.sin_addr.s_addr), 0x0a000002);
  free(o.host);
  CHECK_EQ_INT(fl__dns_parse_override("h:0:::1", &o, err, sizeof err), 0); /* port 0: any port */
  CHECK_EQ_INT(o.port, 0);
  CHECK_EQ_INT(o.naddrs, 1);
  free(o.host);
  struct {
    const char *in, *why;
  } bad[] = {{"h", "expected"},
             {":80:1.2.3.4", "expected"},
             {"h::1.2.3.4", "expected"},
             {"h:123456:1.2.3.4", "expected"},
             {"h:8x:1.2.3.4", "bad port"},
             {"h:65536:1.2.3.4", "bad port"},
             {"h:80:", "bad address"},
             {"h:80:1.2.3.4,", "bad address"},
             {"h:80:[1.2.3.4]", "bad address"},
             {"h:80:example.com", "bad address"}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    err[0] = '\0';
    if (fl__dns_parse_override(bad[i].in, &o, err, sizeof err) != FL_EINVAL ||
        !strstr(err, bad[i].why)) {
      fprintf(stderr, "override \"%s\": message \"%s\", want \"%s\"\n", bad[i].in, err, bad[i].why);
      exit(1);
    }
  }
  /* names DNS could not carry are fine: an override asks no DNS */
  static char longname[5000];
  memset(longname, 'a', 300);
  snprintf(longname + 300, sizeof longname - 300, ":80:1.2.3.4");
  CHECK_EQ_INT(fl__dns_parse_override(longname, &o, err, sizeof err), 0);
  CHECK_EQ_INT((int)strlen(o.host), 300);
  free(o.host);
  memset(longname, 'a', 4097);
  snprintf(longname + 4097, sizeof longname - 4097, ":80:1.2.3.4");
  static char longerr[5200]; /* the message quotes the input */
  CHECK_EQ_INT(fl__dns_parse_override(longname, &o, longerr, sizeof longerr), FL_EINVAL);
  CHECK(strstr(longerr, "host name too long") != NULL);
}

int main(void) {
  FL_TEST_BEGIN();
  test_parse_ip();
  test_servers();
  test_overrides();
  FL_TEST_END();
}
