/* Unit tests for src/cookies.c (RFC 6265 jar, Netscape cookie file) and
 * src/psl.c (public suffixes). Time is passed in, so everything here is
 * deterministic. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/cookies.h"
#include "flurry.h"
#include "base/headers.h"
#include "http/psl.h"
#include "test.h"

#define NOW ((int64_t)1700000000) /* 2023-11-14 22:13:20 UTC */

static fl__cookie_jar *jar;
static char dir[4096]; /* private scratch directory */

/* Set-Cookie from http(s)://host path at time now; returns set's result. */
static int set_at(const char *url_host, const char *path, int https, int64_t now, const char *sc) {
  fl__cookie_origin o = {url_host, path, https, now};
  return fl__cookie_jar_set(jar, sc, strlen(sc), &o);
}
static int set(const char *host, const char *path, const char *sc) {
  return set_at(host, path, 0, NOW, sc);
}
static int set_s(const char *host, const char *path, const char *sc) {
  return set_at(host, path, 1, NOW, sc);
}

/* Cookie header for a request (static buffer; "" when none). */
static const char *hdr_at(const char *host, const char *path, int https, int64_t now) {
  static char out[16384];
  fl__buf b;
  fl__buf_init(&b);
  fl__cookie_origin o = {host, path, https, now};
  int n = fl__cookie_jar_header(jar, &o, &b);
  CHECK(n >= 0);
  CHECK(b.len < sizeof out);
  CHECK((n == 0) == (b.len == 0));
  memcpy(out, b.len ? b.data : "", b.len);
  out[b.len] = '\0';
  fl__buf_dispose(&b);
  return out;
}
static const char *hdr(const char *host, const char *path) { return hdr_at(host, path, 0, NOW); }
static const char *hdr_s(const char *host, const char *path) { return hdr_at(host, path, 1, NOW); }

static void fresh(void) {
  fl__cookie_jar_free(jar);
  jar = fl__cookie_jar_new();
  CHECK(jar);
}

static void expect_ignored(int rc, const char *why_part) {
  if (rc != 0 || !strstr(fl__cookie_jar_reason(jar), why_part)) {
    fprintf(stderr, "expected ignored (\"%s\"), got %d, reason \"%s\"\n", why_part, rc,
            fl__cookie_jar_reason(jar));
    exit(1);
  }
}

static char *path_in_dir(const char *name) {
  static char p[2][4200];
  static int k;
  k ^= 1;
  snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
  return p[k];
}

static void write_file(const char *path, const char *text, size_t len) {
  FILE *f = fopen(path, "wb");
  CHECK(f);
  CHECK(fwrite(text, 1, len, f) == len);
  CHECK(fclose(f) == 0);
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  CHECK(f);
  static char buf[1 << 20];
  *len = fread(buf, 1, sizeof buf - 1, f);
  buf[*len] = '\0';
  fclose(f);
  return buf;
}

/* ---------------------------------------------------------------- dates */

static void test_dates(void) {
  static const struct {
    const char *in;
    int ok;
    int64_t t;
  } cases[] = {
      {"Sun, 06 Nov 1994 08:49:37 GMT", 1, 784111777},
      {"Sunday, 06-Nov-94 08:49:37 GMT", 1, 784111777},
      {"Sun Nov  6 08:49:37 1994", 1, 784111777},
      {"sun, 6 nOvEmBeR 1994 8:49:37", 1, 784111777},
      {"06 Nov 1994 08:49:37 +0100", 1, 784111777}, /* zone ignored, per the RFC */
      {"Thu, 01 Jan 1970 00:00:00 GMT", 1, 0},
      {"Wed, 31 Dec 1969 23:59:59 GMT", 1, -1},
      {"Tue, 19 Jan 2038 03:14:08 GMT", 1, 2147483648LL},
      {"Fri, 31 Dec 9999 23:59:59 GMT", 1, 253402300799LL},
      {"Thu, 29 Feb 2024 12:00:00 GMT", 1, 1709208000},
      {"Sat, 01-Jan-00 00:00:00 GMT", 1, 946684800}, /* 00 -> 2000 */
      {"Thu, 01-Jan-70 00:00:00 GMT", 1, 0},         /* 70 -> 1970 */
      {"Sat, 01-Jan-2000 00:00:00 GMT", 1, 946684800},
      {"Mon, 01 Jan 1601 00:00:00 GMT", 1, -11644473600LL},
      {"Wed, 29 Feb 2023 12:00:00 GMT", 0, 0}, /* not a leap year */
      {"Wed, 30 Feb 2022 10:00:00 GMT", 0, 0},
      {"Wed, 31 Apr 2022 10:00:00 GMT", 0, 0},
      {"Sun, 01 Jan 1600 00:00:00 GMT", 0, 0}, /* before 1601 */
      {"Sun, 06 Nov 1994 24:00:00 GMT", 0, 0},
      {"Sun, 06 Nov 1994 08:60:00 GMT", 0, 0},
      {"Sun, 06 Nov 1994 GMT", 0, 0},       /* no time */
      {"Sun, Nov 1994 08:49:37 GMT", 0, 0}, /* no day: 1994 is the year */
      {"Sun, 06 1994 08:49:37 GMT", 0, 0},  /* no month */
      {"Sun, 06 Nov 08:49:37 GMT", 0, 0},   /* no year */
      {"Sun, 006 Nov 1994 08:49:37 GMT", 0, 0},
      {"Sun, 06 Nov 19945 08:49:37 GMT", 0, 0},
      {"Sun, 32 Nov 1994 08:49:37 GMT", 0, 0},
      {"", 0, 0},
      {"garbage", 0, 0},
      {"0", 0, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int64_t t = 42;
    int rc = fl__cookie_parse_date(cases[i].in, strlen(cases[i].in), &t);
    if ((rc == 0) != cases[i].ok || (rc == 0 && t != cases[i].t)) {
      fprintf(stderr, "date \"%s\": rc %d t %lld, want ok=%d t=%lld\n", cases[i].in, rc,
              (long long)t, cases[i].ok, (long long)cases[i].t);
      exit(1);
    }
  }
}

/* ---------------------------------------------------------- domains */

static void test_host_only_and_domain(void) {
  fresh();
  CHECK(set("example.com", "/", "a=1") == 1);
  CHECK_EQ_STR(fl__cookie_jar_reason(jar), "");
  CHECK_EQ_STR(hdr("example.com", "/"), "a=1");
  CHECK_EQ_STR(hdr("EXAMPLE.COM.", "/"), "a=1"); /* case and trailing dot */
  CHECK_EQ_STR(hdr("www.example.com", "/"), ""); /* host-only */
  CHECK_EQ_STR(hdr("other.com", "/"), "");
  CHECK_EQ_STR(hdr("xexample.com", "/"), "");

  CHECK(set("www.example.com", "/", "b=2; Domain=example.com") == 1);
  CHECK(set("www.example.com", "/", "c=3; domain=.Example.COM") == 1);
  CHECK_EQ_STR(hdr("example.com", "/"), "a=1; b=2; c=3");
  CHECK_EQ_STR(hdr("www.example.com", "/"), "b=2; c=3");
  CHECK_EQ_STR(hdr("a.b.example.com", "/"), "b=2; c=3");
  CHECK_EQ_STR(hdr("notexample.com", "/"), "");
  CHECK_EQ_STR(hdr("example.com.evil.net", "/"), "");

  fresh();
  expect_ignored(set("www.example.com", "/", "d=4; Domain=other.com"), "does not match");
  expect_ignored(set("www.example.com", "/", "d=4; Domain=www2.example.com"), "does not match");
  expect_ignored(set("example.com", "/", "d=4; Domain=sub.example.com"), "does not match");
  expect_ignored(set("example.com", "/", "d=4; Domain=ample.com"), "does not match");
  /* Empty Domain (or just ".") is as if absent: host-only. */
  CHECK(set("www.example.com", "/", "e=5; Domain=") == 1);
  CHECK(set("www.example.com", "/", "f=6; Domain=.") == 1);
  CHECK_EQ_STR(hdr("www.example.com", "/"), "e=5; f=6");
  CHECK_EQ_STR(hdr("x.www.example.com", "/"), "");
  /* Domain equal to the host is a domain cookie. */
  CHECK(set("www.example.com", "/", "g=7; Domain=www.example.com") == 1);
  CHECK_EQ_STR(hdr("x.www.example.com", "/"), "g=7");
  CHECK_EQ_INT(fl__cookie_jar_count(jar), 3);
}

static void test_public_suffixes(void) {
  fresh();
  expect_ignored(set("example.com", "/", "a=1; Domain=com"), "public suffix");
  expect_ignored(set("example.com", "/", "a=1; Domain=.COM"), "public suffix");
  expect_ignored(set("www.example.co.uk", "/", "a=1; Domain=co.uk"), "public suffix");
  expect_ignored(set("x.org.uk", "/", "a=1; Domain=org.uk"), "public suffix");
  expect_ignored(set("user.github.io", "/", "a=1; Domain=github.io"), "public suffix");
  expect_ignored(set("example.net", "/", "a=1; Domain=net"), "public suffix");
  expect_ignored(set("a.example.ck", "/", "a=1; Domain=example.ck"), "public suffix"); /* *.ck */
  expect_ignored(set("box.local", "/", "a=1; Domain=local"), "public suffix");
  CHECK_EQ_INT(fl__cookie_jar_count(jar), 0);
  /* Registrable domains under them are fine. */
  CHECK(set("www.example.co.uk", "/", "b=2; Domain=example.co.uk") == 1);
  CHECK(set("a.user.github.io", "/", "c=3; Domain=user.github.io") == 1);
  CHECK(set("a.www.ck", "/", "d=4; Domain=www.ck") == 1); /* !www.ck exception */
  CHECK_EQ_STR(hdr("shop.example.co.uk", "/"), "b=2");
  CHECK_EQ_STR(hdr("other.co.uk", "/"), "");
  CHECK_EQ_STR(hdr("user.github.io", "/"), "c=3");
  CHECK_EQ_STR(hdr("www.ck", "/"), "d=4");
  /* A Domain equal to a host that is itself a suffix: host-only. */
  CHECK(set("co.uk", "/", "e=5; Domain=co.uk") == 1);
  CHECK(set("localhost", "/", "f=6; Domain=localhost") == 1);
  CHECK_EQ_STR(hdr("co.uk", "/"), "e=5");
  CHECK_EQ_STR(hdr("x.co.uk", "/"), "");
  CHECK_EQ_STR(hdr("localhost", "/"), "f=6");
  CHECK_EQ_STR(hdr("a.localhost", "/"), "");

  /* Built-in list directly. */
  CHECK(fl__psl_is_public_suffix(NULL, "com"));
  CHECK(fl__psl_is_public_suffix(NULL, "CO.UK"));
  CHECK(fl__psl_is_public_suffix(NULL, "anything"));
  CHECK(fl__psl_is_public_suffix(NULL, ""));
  CHECK(!fl__psl_is_public_suffix(NULL, "example.com"));
  CHECK(!fl__psl_is_public_suffix(NULL, "example.co.uk"));
  CHECK(fl__psl_is_public_suffix(NULL, "foo.bd"));
  CHECK(!fl__psl_is_public_suffix(NULL, "a.foo.bd"));
}

static void test_psl_file(void) {
  const char *path = path_in_dir("psl.dat");
  const char *text = "// a comment line\n"
                     "\n"
                     "com\n"
                     "  co.uk  trailing words are ignored\n"
                     "foo.example\r\n"
                     "*.ck\n"
                     "!www.ck\n"
                     "upper.example\n"
                     "\xc3\xa9t\xc3\xa9.example\n" /* UTF-8: libpsl keeps it as punycode */
                     "// ===END===\n";
  write_file(path, text, strlen(text));
  fl__psl *psl;
  CHECK(fl__psl_load(&psl, path) == 0);
  CHECK_EQ_INT(fl__psl_rule_count(psl), 7); /* the exception counts */
  CHECK(fl__psl_is_public_suffix(psl, "com"));
  CHECK(fl__psl_is_public_suffix(psl, "co.uk"));
  CHECK(fl__psl_is_public_suffix(psl, "foo.example"));
  CHECK(fl__psl_is_public_suffix(psl, "UPPER.Example"));      /* hosts in any case */
  CHECK(fl__psl_is_public_suffix(psl, "xn--t-9fab.example")); /* the IDN rule */
  CHECK(fl__psl_is_public_suffix(psl, "x.ck"));
  CHECK(!fl__psl_is_public_suffix(psl, "www.ck"));
  CHECK(!fl__psl_is_public_suffix(psl, "a.x.ck"));
  CHECK(fl__psl_is_public_suffix(psl, "org"));        /* default rule */
  CHECK(!fl__psl_is_public_suffix(psl, "github.io")); /* not in this list */
  CHECK(!fl__psl_is_public_suffix(psl, "bar.foo.example"));

  fresh();
  fl__cookie_jar_set_psl(jar, psl);
  expect_ignored(set("bar.foo.example", "/", "a=1; Domain=foo.example"), "public suffix");
  CHECK(set("a.user.github.io", "/", "a=1; Domain=github.io") == 1);
  fl__cookie_jar_free(jar);
  jar = NULL;
  fl__psl_free(psl);

  fl__psl *none;
  CHECK(fl__psl_load(&none, path_in_dir("does-not-exist")) == FL_EREAD);
  CHECK(none == NULL);
  write_file(path, "// only comments\n", 17);
  CHECK(fl__psl_load(&none, path) == FL_EREAD);

  /* The system list, when installed (Debian package "publicsuffix"). */
  fl__psl *sys;
  if (fl__psl_load(&sys, FL__PSL_SYSTEM_FILE) == 0) {
    printf("system public suffix list: %zu rules\n", fl__psl_rule_count(sys));
    CHECK(fl__psl_rule_count(sys) > 5000);
    CHECK(fl__psl_is_public_suffix(sys, "com"));
    CHECK(fl__psl_is_public_suffix(sys, "co.uk"));
    CHECK(fl__psl_is_public_suffix(sys, "github.io"));
    CHECK(fl__psl_is_public_suffix(sys, "k12.ca.us"));
    CHECK(fl__psl_is_public_suffix(sys, "anything.ck"));
    CHECK(!fl__psl_is_public_suffix(sys, "www.ck"));
    CHECK(!fl__psl_is_public_suffix(sys, "example.com"));
    CHECK(!fl__psl_is_public_suffix(sys, "bbc.co.uk"));
    fl__psl_free(sys);
  } else {
    printf("note: %s not installed, system list not tested\n", FL__PSL_SYSTEM_FILE);
  }
  fl__psl_free(NULL);
}

static void test_ip_hosts(void) {
  fresh();
  CHECK(set("127.0.0.1", "/", "a=1; Domain=127.0.0.1") == 1); /* equal: host-only */
  expect_ignored(set("127.0.0.1", "/", "b=2; Domain=0.0.1"), "IP address");
  expect_ignored(set("192.168.1.1", "/", "b=2; Domain=168.1.1"), "IP address");
  expect_ignored(set("192.168.1.1", "/", "b=2; Domain=1"), "IP address");
  expect_ignored(set("10.0.0.1", "/", "b=2; Domain=example.com"), "IP address");
  CHECK(set("127.0.0.1", "/", "c=3") == 1);
  CHECK_EQ_STR(hdr("127.0.0.1", "/"), "a=1; c=3");
  CHECK_EQ_STR(hdr("127.0.0.2", "/"), "");
  CHECK_EQ_STR(hdr("1.127.0.0.1", "/"), "");
  /* IPv6, with and without brackets. */
  CHECK(set("[::1]", "/", "v6=1") == 1);
  expect_ignored(set("::1", "/", "v6b=1; Domain=1"), "IP address");
  CHECK_EQ_STR(hdr("::1", "/"), "v6=1");
  CHECK_EQ_STR(hdr("[::1]", "/"), "v6=1");
  CHECK_EQ_STR(hdr("::2", "/"), "");
  /* A domain cookie never matches an IP host that ends like it. */
  CHECK(set("www.0.1", "/", "d=4; Domain=0.1") == 1); /* "0.1" is not a suffix we know */
  CHECK_EQ_STR(hdr("10.0.0.1", "/"), "");
  /* Bad hosts. */
  expect_ignored(set("", "/", "x=1"), "host");
  expect_ignored(set(".", "/", "x=1"), "host");
}

/* ------------------------------------------------------------------ paths */

static void test_paths(void) {
  fresh();
  CHECK(set("h.test", "/a/b", "p=1") == 1); /* default path /a */
  CHECK_EQ_STR(hdr("h.test", "/a"), "p=1");
  CHECK_EQ_STR(hdr("h.test", "/a/"), "p=1");
  CHECK_EQ_STR(hdr("h.test", "/a/x"), "p=1");
  CHECK_EQ_STR(hdr("h.test", "/a/b/c?q=1"), "p=1");
  CHECK_EQ_STR(hdr("h.test", "/a?x"), "p=1");
  CHECK_EQ_STR(hdr("h.test", "/"), "");
  CHECK_EQ_STR(hdr("h.test", "/ab"), "");
  CHECK_EQ_STR(hdr("h.test", "/b"), "");
  CHECK_EQ_STR(hdr("h.test", "/A"), ""); /* paths are case-sensitive */

  fresh();
  CHECK(set("h.test", "/a/b/", "q=1") == 1);       /* default path /a/b */
  CHECK(set("h.test", "/top", "r=1") == 1);        /* default path / */
  CHECK(set("h.test", "", "s=1") == 1);            /* empty: / */
  CHECK(set("h.test", NULL, "t=1") == 1);          /* none: / */
  CHECK(set("h.test", "/a/b?x=/c/d", "u=1") == 1); /* query ignored: /a */
  CHECK(set("h.test", "/", "v=1; Path=/x/") == 1);
  CHECK(set("h.test", "/z/y", "w=1; Path=relative") == 1);  /* not "/...": default /z */
  CHECK(set("h.test", "/z/y", "x=1; Path=") == 1);          /* empty: default /z */
  CHECK(set("h.test", "/", "y=1; Path=/m; Path=bad") == 1); /* last wins: default / */
  CHECK_EQ_STR(hdr("h.test", "/a/b/c"), "q=1; u=1; r=1; s=1; t=1; y=1");
  CHECK_EQ_STR(hdr("h.test", "/a/bc"), "u=1; r=1; s=1; t=1; y=1");
  CHECK_EQ_STR(hdr("h.test", "/x/"), "v=1; r=1; s=1; t=1; y=1");
  CHECK_EQ_STR(hdr("h.test", "/x/y"), "v=1; r=1; s=1; t=1; y=1");
  CHECK_EQ_STR(hdr("h.test", "/x"), "r=1; s=1; t=1; y=1");
  CHECK_EQ_STR(hdr("h.test", "/z"), "w=1; x=1; r=1; s=1; t=1; y=1");
  CHECK_EQ_STR(hdr("h.test", "*"), "r=1; s=1; t=1; y=1"); /* not a path: "/" */
}

/* --------------------------------------------------------------- expiry */

static void test_expiry(void) {
  fresh();
  CHECK(set("h.test", "/", "m=1; Max-Age=100") == 1);
  CHECK_EQ_STR(hdr_at("h.test", "/", 0, NOW + 99), "m=1");
  CHECK_EQ_INT(fl__cookie_jar_count(jar), 1);
  CHECK_EQ_STR(hdr_at("h.test", "/", 0, NOW + 100), ""); /* expired: dropped */
  CHECK_EQ_INT(fl__cookie_jar_count(jar), 0);

  /* Max-Age=0 and negative delete. */
  CHECK(set("h.test", "/", "a=1") == 1);
  CHECK(set("h.test", "/", "b=1; Max-Age=1000") == 1);
  CHECK_EQ_INT(fl__cookie_jar_count(jar), 2);
  expect_ignored(set("h.test", "/", "a=; Max-Age=0"), "deleted");
  expect_ignored(set("h.test", "/", "b=x; Max-Age=-5"), "deleted");
  CHECK_EQ_INT(fl__cookie_jar_count(jar), 0);
  expect_ignored(set("h.test", "/", "c=1; Max-Age=-0"), "expired");
  CHECK_EQ_INT(fl__cookie_jar_count(jar), 0);

  /* Expires in the past deletes; only the cookie with that name, domain
   * and path. */
  CHECK(set("h.test", "/", "e=1; Expires=Wed, 01 Jan 2031 00:00:00 GMT") == 1);
  CHECK(set("h.test", "/", "e=2; Path=/p") == 1);
  CHECK(set("h.test", "/", "f=1") == 1);
  expect_ignored(set("h.test", "/", "e=; Expires=Thu, 01 Jan 1970 00:00:00 GMT"), "deleted");
  CHECK_EQ_STR(hdr("h.test", "/p"), "e=2; f=1");
  /* Expires exactly now is in the past. */
  expect_ignored(set("h.test", "/", "f=; Expires=Tue, 14 Nov 2023 22:13:20 GMT"), "deleted");
  CHECK_EQ_STR(hdr("h.test", "/p"), "e=2");

  /* Max-Age wins over Expires, in either order. */
  fresh();
  CHECK(set("h.test", "/", "x=1; Max-Age=100; Expires=Thu, 01 Jan 1970 00:00:00 GMT") == 1);
  CHECK(set("h.test", "/", "y=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=100") == 1);
  CHECK_EQ_STR(hdr("h.test", "/"), "x=1; y=1");
  expect_ignored(set("h.test", "/", "x=1; Expires=Wed, 01 Jan 2031 00:00:00 GMT; max-age=0"),
                 "deleted");
  CHECK_EQ_STR(hdr("h.test", "/"), "y=1");
  /* An invalid Max-Age is ignored: Expires applies. */
  CHECK(set("h.test", "/", "z=1; Max-Age=abc; Expires=Thu, 01 Jan 1970 00:00:00 GMT") == 0);
  CHECK(set("h.test", "/", "z=1; Max-Age=1e3") == 1);     /* ignored: session cookie */
  CHECK(set("h.test", "/", "w=1; Max-Age=+5") == 1);      /* ignored: session cookie */
  CHECK(set("h.test", "/", "u=1; Expires=someday") == 1); /* bad date: session */
  CHECK_EQ_STR(hdr_at("h.test", "/", 0, NOW + 10 * 365 * 86400), "z=1; w=1; u=1");

  /* Expiry capped at 400 days (checked through the saved file). */
  fresh();
  CHECK(set("h.test", "/", "big=1; Max-Age=999999999999999999999") == 1);
  CHECK(set("h.test", "/", "far=1; Expires=Fri, 31 Dec 9999 23:59:59 GMT") == 1);
  CHECK(set("h.test", "/", "near=1; Max-Age=60") == 1);
  const char *p = path_in_dir("cap.txt");
  CHECK(fl__cookie_jar_save(jar, p, NOW) == 0);
  size_t n;
  const char *text = read_file(p, &n);
  char want[512];
  snprintf(want, sizeof want,
           "h.test\tFALSE\t/\tFALSE\t%lld\tbig\t1\n"
           "h.test\tFALSE\t/\tFALSE\t%lld\tfar\t1\n"
           "h.test\tFALSE\t/\tFALSE\t%lld\tnear\t1\n",
           (long long)(NOW + 400 * 86400), (long long)(NOW + 400 * 86400), (long long)(NOW + 60));
  CHECK(strstr(text, want) != NULL);
  CHECK_EQ_STR(hdr_at("h.test", "/", 0, NOW + 400 * 86400 - 1), "big=1; far=1");

  /* Purge: expired ones, then session ones on request. */
  fresh();
  CHECK(set("h.test", "/", "s=1") == 1);
  CHECK(set("h.test", "/", "p=1; Max-Age=10") == 1);
  CHECK(set("h.test", "/", "q=1; Max-Age=1000") == 1);
  fl__cookie_jar_purge(jar, NOW + 10, 0);
  CHECK_EQ_INT(fl__cookie_jar_count(jar), 2);
  fl__cookie_jar_purge(jar, NOW + 10, 1);
  CHECK_EQ_INT(fl__cookie_jar_count(jar), 1);
  CHECK_EQ_STR(hdr("h.test", "/"), "q=1");
}

/* --------------------------------------------------------------- secure */

static void test_secure(void) {
  fresh();
  CHECK(set_s("example.com", "/", "s=1; Secure") == 1);
  CHECK(set_s("example.com", "/", "t=1") == 1);
  CHECK_EQ_STR(hdr_s("example.com", "/"), "s=1; t=1");
  CHECK_EQ_STR(hdr("example.com", "/"), "t=1");
  expect_ignored(set("example.com", "/", "u=1; Secure"), "insecure origin");

  /* Leave secure cookies alone: http may not overwrite, shadow or delete. */
  expect_ignored(set("example.com", "/", "s=2"), "overwrite a Secure");
  expect_ignored(set("example.com", "/", "s=2; Path=/deeper"), "overwrite a Secure");
  expect_ignored(set("www.example.com", "/", "s=2"), "overwrite a Secure");
  expect_ignored(set("example.com", "/", "s=; Max-Age=0"), "overwrite a Secure");
  CHECK_EQ_STR(hdr_s("example.com", "/"), "s=1; t=1");
  CHECK(set("other.com", "/", "s=2") == 1);     /* unrelated domain */
  CHECK(set("example.com", "/", "t=2") == 1);   /* t is not Secure */
  CHECK(set_s("example.com", "/", "s=3") == 1); /* https may replace it */
  CHECK_EQ_STR(hdr("example.com", "/"), "s=3; t=2");

  /* A Secure cookie on a narrower path does not block a wider one. */
  fresh();
  CHECK(set_s("example.com", "/", "n=1; Secure; Path=/admin") == 1);
  CHECK(set("example.com", "/", "n=2; Path=/") == 1);
  CHECK_EQ_STR(hdr_s("example.com", "/admin"), "n=1; n=2");
  CHECK_EQ_STR(hdr("example.com", "/admin"), "n=2");

  /* Prefixes. */
  fresh();
  expect_ignored(set_s("example.com", "/", "__Secure-a=1"), "__Secure-");
  expect_ignored(set_s("example.com", "/", "__secure-a=1"), "__Secure-");
  CHECK(set_s("example.com", "/", "__Secure-a=1; Secure; Domain=example.com; Path=/x") == 1);
  CHECK(set_s("example.com", "/", "__Host-b=1; Secure; Path=/") == 1);
  expect_ignored(set_s("example.com", "/", "__Host-c=1; Secure"), "__Host-");
  expect_ignored(set_s("example.com", "/", "__Host-c=1; Secure; Path=/a"), "__Host-");
  expect_ignored(set_s("example.com", "/", "__Host-c=1; Path=/"), "__Host-");
  expect_ignored(set_s("www.example.com", "/", "__Host-c=1; Secure; Path=/; Domain=example.com"),
                 "__Host-");
  expect_ignored(set("example.com", "/", "__Host-c=1; Secure; Path=/"), "insecure");
  CHECK_EQ_STR(hdr_s("example.com", "/x"), "__Secure-a=1; __Host-b=1");
}

/* ----------------------------------------------------- parsing details */

static void test_parsing(void) {
  fresh();
  CHECK(set("h.test", "/", "  a  =  1  ") == 1);
  CHECK(set("h.test", "/", "b==x=") == 1); /* value "=x=" */
  CHECK(set("h.test", "/", "c=") == 1);    /* empty value */
  CHECK(set("h.test", "/", "d=\"quoted v\"; Foo; Bar=baz; HttpOnly") == 1);
  CHECK(set("h.test", "/", "e=1;;; ;Path=/") == 1);
  CHECK(set("h.test", "/", "f=1; SameSite=Strict; Priority=High") == 1);
  CHECK_EQ_STR(hdr("h.test", "/"), "a=1; b==x=; c=; d=\"quoted v\"; e=1; f=1");
  expect_ignored(set("h.test", "/", "=novalue"), "empty cookie name");
  expect_ignored(set("h.test", "/", "  =x"), "empty cookie name");
  expect_ignored(set("h.test", "/", "noequals"), "no '='");
  expect_ignored(set("h.test", "/", "noequals; a=b"), "no '='");
  expect_ignored(set("h.test", "/", ""), "no '='");

  /* Control bytes anywhere (but HTAB) ignore the whole line; a TAB inside
   * the name or value too (the cookie file could not hold it). */
  static const char *bad[] = {"x=a\x01z",   "x\x7f=1", "x=1; Path=/\n", "x=1\r",
                              "x=\x1b[31m", "x=a\tb",  "x\ty=1"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) CHECK(set("h.test", "/", bad[i]) == 0);
  fl__cookie_origin o = {"h.test", "/", 0, NOW};
  CHECK(fl__cookie_jar_set(jar, "x=a\0b", 5, &o) == 0);
  expect_ignored(0, "control character");
  CHECK(set("h.test", "/", "\tt=1\t;\tPath=/\t") == 1); /* HTAB around is whitespace */
  CHECK_EQ_INT(fl__cookie_jar_count(jar), 7);
  /* Not NUL-terminated input: only len bytes are read. */
  CHECK(fl__cookie_jar_set(jar, "y=12345", 3, &o) == 1);
  CHECK(strstr(hdr("h.test", "/"), "; y=1"));

  /* Same name, domain and path replaces in place; other paths coexist. */
  fresh();
  CHECK(set("h.test", "/", "k=1") == 1);
  CHECK(set("h.test", "/", "l=1") == 1);
  CHECK(set("h.test", "/", "k=2") == 1);
  CHECK(set("h.test", "/", "k=3; Path=/") == 1);
  CHECK(set("h.test", "/", "K=4") == 1); /* names are case-sensitive */
  CHECK_EQ_STR(hdr("h.test", "/"), "k=3; l=1; K=4");
  CHECK_EQ_INT(fl__cookie_jar_count(jar), 3);
}

static void test_order(void) {
  fresh();
  CHECK(set("h.test", "/", "a=1; Path=/") == 1);
  CHECK(set("h.test", "/", "b=2; Path=/x/y") == 1);
  CHECK(set("h.test", "/", "c=3; Path=/x") == 1);
  CHECK(set("h.test", "/", "d=4; Path=/") == 1);
  CHECK(set("www.h.test", "/", "e=5; Path=/x; Domain=h.test") == 1);
  CHECK_EQ_STR(hdr("h.test", "/x/y/z"), "b=2; c=3; e=5; a=1; d=4");
  /* A replaced cookie keeps its creation time, so its place. */
  CHECK(set("h.test", "/", "a=9") == 1);
  CHECK_EQ_STR(hdr("h.test", "/x/y/z"), "b=2; c=3; e=5; a=9; d=4");
  /* After deletion and re-creation it is the newest. */
  CHECK(set("h.test", "/", "a=; Max-Age=0") == 0);
  CHECK(set("h.test", "/", "a=10") == 1);
  CHECK_EQ_STR(hdr("h.test", "/x/y/z"), "b=2; c=3; e=5; d=4; a=10");
}

/* ------------------------------------------------------------------ caps */

static void test_caps(void) {
  char sc[8192];
  fresh();
  /* Flood: 1000 cookies for one host keep the newest 150. */
  for (int i = 0; i < 1000; i++) {
    snprintf(sc, sizeof sc, "n%d=v%d", i, i);
    CHECK(set("flood.test", "/", sc) == 1);
  }
  CHECK_EQ_INT(fl__cookie_jar_count(jar), FL__COOKIE_MAX_PER_DOMAIN);
  const char *h = hdr("flood.test", "/");
  CHECK(strncmp(h, "n850=v850; n851=v851", 20) == 0);
  CHECK(strstr(h, "n849=") == NULL);
  CHECK(strstr(h, "; n999=v999") != NULL);
  /* Expired cookies go first when the domain is full. */
  CHECK(set("flood.test", "/", "n998=x; Max-Age=5") == 1); /* replaces, keeps place */
  CHECK(set_at("flood.test", "/", 0, NOW + 10, "late=1") == 1);
  CHECK_EQ_INT(fl__cookie_jar_count(jar), FL__COOKIE_MAX_PER_DOMAIN);
  h = hdr_at("flood.test", "/", 0, NOW + 10);
  CHECK(strncmp(h, "n850=v850", 9) == 0); /* n850 survived: n998 went instead */
  CHECK(strstr(h, "n998") == NULL && strstr(h, "; late=1") != NULL);
  /* Other domains are unaffected. */
  CHECK(set("other.test", "/", "o=1") == 1);
  CHECK_EQ_INT(fl__cookie_jar_count(jar), FL__COOKIE_MAX_PER_DOMAIN + 1);

  /* Total cap: 25 domains x 150 > 3000: the oldest go. */
  fresh();
  char host[64];
  for (int d = 0; d < 25; d++) {
    snprintf(host, sizeof host, "d%d.test", d);
    for (int i = 0; i < 150; i++) {
      snprintf(sc, sizeof sc, "c%d=%d", i, i);
      CHECK(set(host, "/", sc) == 1);
    }
  }
  CHECK_EQ_INT(fl__cookie_jar_count(jar), FL__COOKIE_MAX_TOTAL);
  CHECK_EQ_STR(hdr("d0.test", "/"), "");
  CHECK_EQ_STR(hdr("d4.test", "/"), "");
  CHECK(strncmp(hdr("d5.test", "/"), "c0=0; c1=1", 10) == 0);
  CHECK(strncmp(hdr("d24.test", "/"), "c0=0; c1=1", 10) == 0);

  /* Size: name + value up to 4096 bytes. */
  fresh();
  memset(sc, 'v', sizeof sc);
  memcpy(sc, "big=", 4);
  sc[3 + 4093 + 1] = '\0'; /* "big" + "=" + 4093 bytes: 4096 */
  CHECK(set("h.test", "/", sc) == 1);
  sc[3 + 4093 + 1] = 'v';
  sc[3 + 4094 + 1] = '\0'; /* 4097 */
  memcpy(sc, "bi2=", 4);
  expect_ignored(set("h.test", "/", sc), "too big");
  CHECK_EQ_INT(fl__cookie_jar_count(jar), 1);
  /* Attributes over 1024 bytes are ignored, not the cookie. */
  fresh();
  memset(sc, 'p', sizeof sc);
  memcpy(sc, "pa=1; Path=/", 12);
  sc[12 + 1100] = '\0';
  CHECK(set("h.test", "/a/b", sc) == 1); /* path attribute ignored: default /a */
  CHECK_EQ_STR(hdr("h.test", "/a"), "pa=1");

  /* Outgoing header: stops before 8 KiB. */
  fresh();
  for (int i = 0; i < 10; i++) {
    memset(sc, 'a' + i, 1003);
    sc[0] = 'k', sc[1] = (char)('0' + i), sc[2] = '=';
    sc[1003] = '\0';
    CHECK(set("h.test", "/", sc) == 1);
  }
  h = hdr("h.test", "/");
  CHECK_EQ_INT(strlen(h), 8 * 1003 + 7 * 2); /* 8 fit in 8192, the 9th not */
  CHECK(strncmp(h, "k0=", 3) == 0);
  CHECK(strstr(h, "k7=") && !strstr(h, "k8="));

  /* Per response: at most 50 Set-Cookie headers are used. */
  fresh();
  fl__headers hs;
  fl__headers_init(&hs);
  CHECK(fl__headers_add(&hs, "Content-Type", 12, "text/plain", 10) == 0);
  for (int i = 0; i < 60; i++) {
    int n = snprintf(sc, sizeof sc, "r%d=%d", i, i);
    CHECK(fl__headers_add(&hs, i % 2 ? "set-cookie" : "Set-Cookie", 10, sc, (size_t)n) == 0);
  }
  fl__cookie_origin o = {"h.test", "/", 0, NOW};
  CHECK_EQ_INT(fl__cookie_jar_set_headers(jar, &hs, &o), FL__COOKIE_MAX_PER_RESPONSE);
  CHECK_EQ_INT(fl__cookie_jar_count(jar), FL__COOKIE_MAX_PER_RESPONSE);
  CHECK(strstr(hdr("h.test", "/"), "r49=49") && !strstr(hdr("h.test", "/"), "r50="));
  fl__headers_dispose(&hs);
}

/* ------------------------------------------------------------- the file */

static const char canonical[] =
    "# Netscape HTTP Cookie File\n"
    "# This file was generated by flurry. Edit at your own risk.\n"
    "\n"
    ".example.com\tTRUE\t/\tFALSE\t0\tsession\tvalue with spaces\n"
    "example.com\tFALSE\t/path\tTRUE\t1900000000\tsecure\ta=b=c\n"
    "#HttpOnly_.example.org\tTRUE\t/\tFALSE\t1800000000\thttponly\t\n"
    "#HttpOnly_host.example.org\tFALSE\t/a/b\tTRUE\t0\tboth\t\"quoted\"\n"
    "nodot.example.net\tTRUE\t/\tFALSE\t1750000000\tsub\t1\n"
    ".dot.example.net\tFALSE\t/\tFALSE\t1750000000\tdotfalse\t2\n"
    "127.0.0.1\tFALSE\t/\tFALSE\t0\tip\t3\n"
    "Mixed.Case.Example\tFALSE\t/\tFALSE\t0\tcase\t4\n"
    "example.com\tFALSE\t/\tFALSE\t0\tunicode\t\xc3\xa9t\xc3\xa9\n";

static void test_file_round_trip(void) {
  const char *in = path_in_dir("in.txt");
  write_file(in, canonical, sizeof canonical - 1);
  fresh();
  CHECK_EQ_INT(fl__cookie_jar_load(jar, in, NOW), 9);
  CHECK_EQ_INT(fl__cookie_jar_count(jar), 9);
  char out[4200];
  snprintf(out, sizeof out, "%s", path_in_dir("out.txt"));
  CHECK(fl__cookie_jar_save(jar, out, NOW) == 0);
  size_t n;
  const char *text = read_file(out, &n);
  if (n != sizeof canonical - 1 || memcmp(text, canonical, n) != 0) {
    fprintf(stderr, "round trip differs:\n--- want\n%s--- got\n%s---\n", canonical, text);
    exit(1);
  }
  struct stat st;
  CHECK(stat(out, &st) == 0);
  CHECK_EQ_INT(st.st_mode & 0777, 0600);

  /* What was loaded behaves as its flags say. */
  CHECK_EQ_STR(hdr("www.example.com", "/"), "session=value with spaces");
  CHECK_EQ_STR(hdr_s("example.com", "/path/x"),
               "secure=a=b=c; session=value with spaces; unicode=\xc3\xa9t\xc3\xa9");
  CHECK_EQ_STR(hdr("example.com", "/path/x"),
               "session=value with spaces; unicode=\xc3\xa9t\xc3\xa9");
  CHECK_EQ_STR(hdr("x.example.org", "/"), "httponly=");
  CHECK_EQ_STR(hdr_s("host.example.org", "/a/b"), "both=\"quoted\"; httponly=");
  CHECK_EQ_STR(hdr("a.nodot.example.net", "/"), "sub=1"); /* TRUE without a dot */
  CHECK_EQ_STR(hdr("a.dot.example.net", "/"), "");        /* FALSE with a dot */
  CHECK_EQ_STR(hdr("dot.example.net", "/"), "dotfalse=2");
  CHECK_EQ_STR(hdr("127.0.0.1", "/"), "ip=3");
  CHECK_EQ_STR(hdr("mixed.case.example", "/"), "case=4");

  /* Again, from what we wrote: still identical. */
  fresh();
  CHECK_EQ_INT(fl__cookie_jar_load(jar, out, NOW), 9);
  CHECK(fl__cookie_jar_save(jar, out, NOW) == 0);
  text = read_file(out, &n);
  CHECK(n == sizeof canonical - 1 && memcmp(text, canonical, n) == 0);

  /* Cookies from Set-Cookie: leading dot and flags as curl writes them;
   * jar order is creation order; expired ones are not written. */
  fresh();
  CHECK(set_s("www.example.com", "/a/b", "d=1; Domain=example.com; Max-Age=3600; HttpOnly") == 1);
  CHECK(set_s("www.example.com", "/a/b", "h=2; Secure") == 1);
  CHECK(set_s("www.example.com", "/a/b", "gone=1; Max-Age=10") == 1);
  CHECK(set_s("www.example.com", "/a/b", "d=3; Domain=example.com; Max-Age=7200; HttpOnly") == 1);
  CHECK(fl__cookie_jar_save(jar, out, NOW + 10) == 0);
  text = read_file(out, &n);
  char want[1024];
  snprintf(want, sizeof want,
           "# Netscape HTTP Cookie File\n"
           "# This file was generated by flurry. Edit at your own risk.\n"
           "\n"
           "#HttpOnly_.example.com\tTRUE\t/a\tFALSE\t%lld\td\t3\n"
           "www.example.com\tFALSE\t/a\tTRUE\t0\th\t2\n",
           (long long)(NOW + 7200));
  CHECK_EQ_STR(text, want);
  /* An empty jar writes just the header. */
  fresh();
  CHECK(fl__cookie_jar_save(jar, out, NOW) == 0);
  text = read_file(out, &n);
  CHECK(strncmp(text, "# Netscape HTTP Cookie File\n", 28) == 0 && text[n - 1] == '\n');
  CHECK(strstr(text, "\t") == NULL);
}

static void test_file_malformed(void) {
  static char text[200000];
  size_t n = (size_t)snprintf(text, sizeof text, "%s",
                              "# comment\n"
                              "\n"
                              "   \t \n"
                              "good.test\tFALSE\t/\tFALSE\t0\tok1\tv\r\n" /* CRLF is fine */
                              "good.test\tFALSE\t/\tFALSE\t0\ttoo\tmany\tfields\n"
                              "good.test\tFALSE\t/\tFALSE\t0\tfew\n"
                              "good.test\tMAYBE\t/\tFALSE\t0\tbadbool\tv\n"
                              "good.test\tFALSE\t/\tYES\t0\tbadbool2\tv\n"
                              "good.test\tFALSE\tnoslash\tFALSE\t0\tbadpath\tv\n"
                              "good.test\tFALSE\t/\tFALSE\tsoon\tbadexp\tv\n"
                              "good.test\tFALSE\t/\tFALSE\t-5\tnegexp\tv\n"
                              "good.test\tFALSE\t/\tFALSE\t99999999999999999999999\thugeexp\tv\n"
                              "good.test\tFALSE\t/\tFALSE\t\temptyexp\tv\n"
                              "good.test\tFALSE\t/\tFALSE\t0\t\temptyname\n"
                              "\tFALSE\t/\tFALSE\t0\tnodomain\tv\n"
                              ".\tTRUE\t/\tFALSE\t0\tdotonly\tv\n"
                              "good.test\tFALSE\t/\tFALSE\t0\tctl\tv\x01x\n"
                              "good.test\tFALSE\t/\tFALSE\t1000\texpired\tv\n" /* expired at NOW */
                              "#HttpOnly_\n"
                              "#HttpOnly_good.test\tFALSE\t/\n"
                              ".com\tTRUE\t/\tFALSE\t0\tsuffix\tv\n" /* public suffix */
                              "co.uk\tTRUE\t/\tFALSE\t0\tsuffix2\tv\n"
                              "10.0.0.1\tTRUE\t/\tFALSE\t0\tipdomain\tv\n"
                              "co.uk\tFALSE\t/\tFALSE\t0\thostonly\tv\n" /* host-only is fine */
                              "good.test\ttrue\t/\tfalse\t0\tok2\tv\n"   /* case ignored */
                              "good.test\tFALSE\t/\tFALSE\t0\tok3\tv");  /* no final newline */
  /* A huge line and a line with a NUL in it, then one more good line. */
  memset(text + n, 'x', 100000);
  n += 100000;
  text[n++] = '\n';
  static const char nul_line[] = "good.test\tFALSE\t/\tFALSE\t0\tnul\tv\0x\n";
  memcpy(text + n, nul_line, sizeof nul_line - 1);
  n += sizeof nul_line - 1;
  /* note: "ok3" has no newline, so the huge line continues it: skipped */
  static const char tail[] = "good.test\tFALSE\t/\tFALSE\t0\tok4\tv\n\xff\xfe\0garbage\n";
  memcpy(text + n, tail, sizeof tail - 1);
  n += sizeof tail - 1;
  const char *p = path_in_dir("bad.txt");
  write_file(p, text, n);
  fresh();
  CHECK_EQ_INT(fl__cookie_jar_load(jar, p, NOW), 4);
  CHECK_EQ_STR(hdr("good.test", "/"), "ok1=v; ok2=v; ok4=v");
  CHECK_EQ_STR(hdr("co.uk", "/"), "hostonly=v");
  CHECK_EQ_STR(hdr("x.co.uk", "/"), "");

  /* A later duplicate replaces the earlier one in its place. */
  const char *dup = "a.test\tFALSE\t/\tFALSE\t0\tx\t1\n"
                    "a.test\tFALSE\t/\tFALSE\t0\ty\t2\n"
                    "A.TEST\tFALSE\t/\tFALSE\t0\tx\t3\n";
  write_file(p, dup, strlen(dup));
  fresh();
  CHECK_EQ_INT(fl__cookie_jar_load(jar, p, NOW), 3);
  CHECK_EQ_INT(fl__cookie_jar_count(jar), 2);
  CHECK_EQ_STR(hdr("a.test", "/"), "x=3; y=2");

  /* Loading adds to what is there and respects the caps. */
  static char many[200 * 64];
  size_t m = 0;
  for (int i = 0; i < 200; i++)
    m += (size_t)snprintf(many + m, sizeof many - m, "f.test\tFALSE\t/\tFALSE\t0\tc%d\tv\n", i);
  write_file(p, many, m);
  CHECK_EQ_INT(fl__cookie_jar_load(jar, p, NOW), 200);
  CHECK_EQ_INT(fl__cookie_jar_count(jar), 2 + FL__COOKIE_MAX_PER_DOMAIN);

  /* Empty file, missing file, a directory. */
  write_file(p, "", 0);
  CHECK_EQ_INT(fl__cookie_jar_load(jar, p, NOW), 0);
  CHECK_EQ_INT(fl__cookie_jar_load(jar, path_in_dir("missing.txt"), NOW), FL_EREAD);
  CHECK(fl__cookie_jar_load(jar, dir, NOW) == FL_EREAD || fl__cookie_jar_load(jar, dir, NOW) == 0);
}

static void test_file_save_errors(void) {
  fresh();
  CHECK(set("h.test", "/", "a=1") == 1);
  /* Directory does not exist: error, nothing left behind. */
  CHECK(fl__cookie_jar_save(jar, path_in_dir("nodir/cookies.txt"), NOW) == FL_EWRITE);
  /* Saving over an existing file replaces it. */
  const char *p = path_in_dir("over.txt");
  write_file(p, "old content\n", 12);
  CHECK(fl__cookie_jar_save(jar, p, NOW) == 0);
  size_t n;
  CHECK(strstr(read_file(p, &n), "h.test\tFALSE\t/\tFALSE\t0\ta\t1\n"));
  /* No temporary files remain in the directory. */
  DIR *d = opendir(dir);
  CHECK(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) CHECK(strstr(e->d_name, ".txt.") == NULL);
  closedir(d);
}

static void remove_dir(void) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  char p[8400];
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    unlink(p);
  }
  closedir(d);
  rmdir(dir);
}

int main(void) {
  FL_TEST_BEGIN();
  const char *base = getenv("FL_TEST_RUNDIR");
  snprintf(dir, sizeof dir, "%s/cookies.XXXXXX", base && *base ? base : "/tmp");
  CHECK(mkdtemp(dir) != NULL);
  atexit(remove_dir); /* also when a CHECK fails */

  test_dates();
  test_host_only_and_domain();
  test_public_suffixes();
  test_psl_file();
  test_ip_hosts();
  test_paths();
  test_expiry();
  test_secure();
  test_parsing();
  test_order();
  test_caps();
  test_file_round_trip();
  test_file_malformed();
  test_file_save_errors();

  fl__cookie_jar_free(jar);
  FL_TEST_END();
}
