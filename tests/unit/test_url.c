/* Unit tests for src/url.c: parsing, resolution, encoding, query builder. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flurry.h"
#include "test.h"
#include "base/url.h"

static int failures;

static int same(const char *a, const char *b) {
  if (!a || !b) return a == b;
  return strcmp(a, b) == 0;
}

static const char *show(const char *s) { return s ? s : "(null)"; }

/* ------------------------------------------------------------ parse table */

#define MAL FL_EURL_MALFORMAT
#define N NULL

typedef struct pcase {
  const char *in;
  int err;
  const char *scheme, *user, *password, *host;
  int v4, v6;
  unsigned port;
  int explicit_port;
  const char *target, *authority;
} pcase;

/* Error rows only need the input and the error. */
#define BAD(in)                                                                                    \
  { in, MAL, N, N, N, N, 0, 0, 0, 0, N, N }

static const pcase parse_cases[] = {
    /* schemes and their case */
    {"http://example.com/", 0, "http", N, N, "example.com", 0, 0, 80, 0, "/", "example.com"},
    {"HTTP://EXAMPLE.COM/A/B", 0, "http", N, N, "example.com", 0, 0, 80, 0, "/A/B", "example.com"},
    {"HtTpS://Example.com", 0, "https", N, N, "example.com", 0, 0, 443, 0, "/", "example.com"},
    {"svn+SSH-x.1://h/", 0, "svn+ssh-x.1", N, N, "h", 0, 0, 0, 0, "/", "h"},
    {"foo://h:21/x", 0, "foo", N, N, "h", 0, 0, 21, 1, "/x", "h:21"},
    BAD("1http://h/"),
    BAD("://h/"),
    BAD("http:/h/"),
    BAD("http:h"),
    BAD("http:"),
    BAD("mailto:a@b"),
    BAD("example.com/path"),
    BAD(""),
    BAD("ht tp://h/"),
    BAD("h_ttp://h/"),
    BAD(" http://h/"),
    BAD("http://h/ "),

    /* userinfo */
    {"http://user:pass@h/", 0, "http", "user", "pass", "h", 0, 0, 80, 0, "/", "h"},
    {"http://us%3Aer:p%40ss%3a@h/", 0, "http", "us:er", "p@ss:", "h", 0, 0, 80, 0, "/", "h"},
    {"http://a@b:c@d@host:8080/x", 0, "http", "a@b", "c@d", "host", 0, 0, 8080, 1, "/x",
     "host:8080"},
    {"http://user@h/", 0, "http", "user", N, "h", 0, 0, 80, 0, "/", "h"},
    {"http://user:@h/", 0, "http", "user", "", "h", 0, 0, 80, 0, "/", "h"},
    {"http://:pw@h/", 0, "http", "", "pw", "h", 0, 0, 80, 0, "/", "h"},
    {"http://:@h/", 0, "http", "", "", "h", 0, 0, 80, 0, "/", "h"},
    {"http://@h/", 0, "http", N, N, "h", 0, 0, 80, 0, "/", "h"},
    {"http://u:p:q@h/", 0, "http", "u", "p:q", "h", 0, 0, 80, 0, "/", "h"},
    {"http://u%zz:%4@h/", 0, "http", "u%zz", "%4", "h", 0, 0, 80, 0, "/", "h"},
    {"http://u%C3%A4:\xc3\xb6@h/", 0, "http", "u\xc3\xa4", "\xc3\xb6", "h", 0, 0, 80, 0, "/", "h"},
    {"http://u%0D%0A:x@h/", 0, "http", "u\r\n", "x", "h", 0, 0, 80, 0, "/", "h"},
    BAD("http://u%00@h/"),
    BAD("http://u:p%00@h/"),
    BAD("http://u@/"),
    BAD("http://u:p@:80/"),
    /* '@' after the authority is not userinfo */
    {"http://h/p@x", 0, "http", N, N, "h", 0, 0, 80, 0, "/p@x", "h"},
    {"http://h?@evil/", 0, "http", N, N, "h", 0, 0, 80, 0, "/?@evil/", "h"},
    {"http://h#@evil/", 0, "http", N, N, "h", 0, 0, 80, 0, "/", "h"},

    /* IPv4 versus reg-names */
    {"http://1.2.3.4/", 0, "http", N, N, "1.2.3.4", 1, 0, 80, 0, "/", "1.2.3.4"},
    {"http://255.255.255.255:65535/", 0, "http", N, N, "255.255.255.255", 1, 0, 65535, 1, "/",
     "255.255.255.255:65535"},
    {"http://0.0.0.0/", 0, "http", N, N, "0.0.0.0", 1, 0, 80, 0, "/", "0.0.0.0"},
    {"http://127.0.0.1:8080", 0, "http", N, N, "127.0.0.1", 1, 0, 8080, 1, "/", "127.0.0.1:8080"},
    {"http://256.1.1.1/", 0, "http", N, N, "256.1.1.1", 0, 0, 80, 0, "/", "256.1.1.1"},
    {"http://1.2.3/", 0, "http", N, N, "1.2.3", 0, 0, 80, 0, "/", "1.2.3"},
    {"http://1.2.3.4.5/", 0, "http", N, N, "1.2.3.4.5", 0, 0, 80, 0, "/", "1.2.3.4.5"},
    {"http://0x7f.1/", 0, "http", N, N, "0x7f.1", 0, 0, 80, 0, "/", "0x7f.1"},
    {"http://01.2.3.4/", 0, "http", N, N, "01.2.3.4", 0, 0, 80, 0, "/", "01.2.3.4"},
    {"http://1.2.3.4./", 0, "http", N, N, "1.2.3.4.", 0, 0, 80, 0, "/", "1.2.3.4."},
    {"http://2130706433/", 0, "http", N, N, "2130706433", 0, 0, 80, 0, "/", "2130706433"},
    {"http://1.2.3.0004/", 0, "http", N, N, "1.2.3.0004", 0, 0, 80, 0, "/", "1.2.3.0004"},
    {"http://Ex-Ample_~.COM/", 0, "http", N, N, "ex-ample_~.com", 0, 0, 80, 0, "/",
     "ex-ample_~.com"},
    {"http://%65xample.COM/", 0, "http", N, N, "example.com", 0, 0, 80, 0, "/", "example.com"},
    {"http://a!$&'()*+,;=b/", 0, "http", N, N, "a!$&'()*+,;=b", 0, 0, 80, 0, "/", "a!$&'()*+,;=b"},
    BAD("http://ex%2Fample/"),
    BAD("http://ex%zzample/"),
    BAD("http://ex%4/"),
    BAD("http://ex%C3%A4mple/"),
    BAD("http://ex\xc3\xa4mple.com/"),
    BAD("http://ex<ample/"),
    BAD("http://ex\"ample/"),
    BAD("http://h\\evil.com/"),
    BAD("http:///path"),
    BAD("http://"),
    BAD("http://:80/"),
    BAD("http://?q"),

    /* IPv6 literals */
    {"http://[::1]/", 0, "http", N, N, "::1", 0, 1, 80, 0, "/", "[::1]"},
    {"http://[::1]:8080/x", 0, "http", N, N, "::1", 0, 1, 8080, 1, "/x", "[::1]:8080"},
    {"http://[2001:DB8::A]:80/", 0, "http", N, N, "2001:db8::a", 0, 1, 80, 1, "/", "[2001:db8::a]"},
    {"http://[::ffff:1.2.3.4]/", 0, "http", N, N, "::ffff:1.2.3.4", 0, 1, 80, 0, "/",
     "[::ffff:1.2.3.4]"},
    {"http://u:p@[::1]:/", 0, "http", "u", "p", "::1", 0, 1, 80, 0, "/", "[::1]"},
    {"https://[1:2:3:4:5:6:7:8]?x", 0, "https", N, N, "1:2:3:4:5:6:7:8", 0, 1, 443, 0, "/?x",
     "[1:2:3:4:5:6:7:8]"},
    BAD("http://[::1/"),
    BAD("http://[]/"),
    BAD("http://[1.2.3.4]/"),
    BAD("http://[::1]x/"),
    BAD("http://[::1]:x/"),
    BAD("http://[fe80::1%25eth0]/"), /* zone ids are rejected */
    BAD("http://[v1.fe]/"),          /* IPvFuture is rejected */
    BAD("http://[:::1]/"),
    BAD("http://[1:2:3:4:5:6:7:8:9]/"),
    BAD("http://::1/"),
    BAD("http://[::1]]/"),

    /* ports */
    {"http://h:8080/", 0, "http", N, N, "h", 0, 0, 8080, 1, "/", "h:8080"},
    {"http://h:/", 0, "http", N, N, "h", 0, 0, 80, 0, "/", "h"},
    {"http://h:", 0, "http", N, N, "h", 0, 0, 80, 0, "/", "h"},
    {"http://h:1/", 0, "http", N, N, "h", 0, 0, 1, 1, "/", "h:1"},
    {"http://h:65535/", 0, "http", N, N, "h", 0, 0, 65535, 1, "/", "h:65535"},
    {"http://h:80/", 0, "http", N, N, "h", 0, 0, 80, 1, "/", "h"},
    {"http://h:0080/", 0, "http", N, N, "h", 0, 0, 80, 1, "/", "h"},
    {"https://h:443/", 0, "https", N, N, "h", 0, 0, 443, 1, "/", "h"},
    {"https://h:80/", 0, "https", N, N, "h", 0, 0, 80, 1, "/", "h:80"},
    {"http://h:443/", 0, "http", N, N, "h", 0, 0, 443, 1, "/", "h:443"},
    {"foo://h/", 0, "foo", N, N, "h", 0, 0, 0, 0, "/", "h"},
    BAD("http://h:0/"),
    BAD("http://h:00/"),
    BAD("http://h:65536/"),
    BAD("http://h:99999999999999999999/"),
    BAD("http://h:8a/"),
    BAD("http://h:a/"),
    BAD("http://h:-1/"),
    BAD("http://h:+80/"),
    BAD("http://h:1:2/"),

    /* paths: empty, dot segments */
    {"http://h", 0, "http", N, N, "h", 0, 0, 80, 0, "/", "h"},
    {"http://h?q=1", 0, "http", N, N, "h", 0, 0, 80, 0, "/?q=1", "h"},
    {"http://h/a/b/../c/./d", 0, "http", N, N, "h", 0, 0, 80, 0, "/a/c/d", "h"},
    {"http://h/../../x", 0, "http", N, N, "h", 0, 0, 80, 0, "/x", "h"},
    {"http://h/a/..", 0, "http", N, N, "h", 0, 0, 80, 0, "/", "h"},
    {"http://h/a/.", 0, "http", N, N, "h", 0, 0, 80, 0, "/a/", "h"},
    {"http://h/./", 0, "http", N, N, "h", 0, 0, 80, 0, "/", "h"},
    {"http://h/..", 0, "http", N, N, "h", 0, 0, 80, 0, "/", "h"},
    {"http://h/a/..b/.c/b..", 0, "http", N, N, "h", 0, 0, 80, 0, "/a/..b/.c/b..", "h"},
    {"http://h/a//../b", 0, "http", N, N, "h", 0, 0, 80, 0, "/a/b", "h"},
    {"http://h/a/b/..?x/../y", 0, "http", N, N, "h", 0, 0, 80, 0, "/a/?x/../y", "h"},
    {"http://h/%2e%2e/x", 0, "http", N, N, "h", 0, 0, 80, 0, "/%2e%2e/x", "h"},
    {"http://h/A//B/", 0, "http", N, N, "h", 0, 0, 80, 0, "/A//B/", "h"},
    /* queries and fragments */
    {"http://h/p?a=1?b=2", 0, "http", N, N, "h", 0, 0, 80, 0, "/p?a=1?b=2", "h"},
    {"http://h/p?a=/../b", 0, "http", N, N, "h", 0, 0, 80, 0, "/p?a=/../b", "h"},
    {"http://h/p?", 0, "http", N, N, "h", 0, 0, 80, 0, "/p?", "h"},
    {"http://h/p#frag", 0, "http", N, N, "h", 0, 0, 80, 0, "/p", "h"},
    {"http://h/p?q#f?g", 0, "http", N, N, "h", 0, 0, 80, 0, "/p?q", "h"},
    {"http://h#f", 0, "http", N, N, "h", 0, 0, 80, 0, "/", "h"},
    {"http://h/#", 0, "http", N, N, "h", 0, 0, 80, 0, "/", "h"},
    /* escapes kept, printable ASCII passed through, high bytes encoded */
    {"http://h/a%zz%4", 0, "http", N, N, "h", 0, 0, 80, 0, "/a%zz%4", "h"},
    {"http://h/a%2Fb?c%3D%", 0, "http", N, N, "h", 0, 0, 80, 0, "/a%2Fb?c%3D%", "h"},
    {"http://h/a|b{c}\\^`\"<>", 0, "http", N, N, "h", 0, 0, 80, 0, "/a|b{c}\\^`\"<>", "h"},
    {"http://h/\xc3\xa4?\xc3\xb6=1", 0, "http", N, N, "h", 0, 0, 80, 0, "/%C3%A4?%C3%B6=1", "h"},
    {"http://h/\x80\xff", 0, "http", N, N, "h", 0, 0, 80, 0, "/%80%FF", "h"},
    {"http://h/x#\xc3\xa4", 0, "http", N, N, "h", 0, 0, 80, 0, "/x", "h"},
    /* control bytes, DEL and space are malformed anywhere */
    BAD("http://h/a\tb"),
    BAD("http://h/a\rb"),
    BAD("http://h/a\nb"),
    BAD("http://h/a\x7f"),
    BAD("http://h/\x01"),
    BAD("http://h/\x1f"),
    BAD("http://h/a b"),
    BAD("http://h/?a b"),
    BAD("http://h/?a\r\nX-Evil: 1"),
    BAD("http://h/#a b"),
    BAD("http://h\r\n/"),
    BAD("http://u\t@h/"),
};

static void check_parse_case(const pcase *c) {
  fl__url u;
  int err = fl__url_parse(&u, c->in);
  if (err != c->err) {
    fprintf(stderr, "parse \"%s\": err %d, want %d\n", c->in, err, c->err);
    failures++;
    fl__url_free(&u);
    return;
  }
  if (err != 0) {
    /* *u must be left empty */
    if (u.storage || u.scheme || u.host || u.target || u.authority || u.user || u.port) {
      fprintf(stderr, "parse \"%s\": failed but *u not empty\n", c->in);
      failures++;
    }
    fl__url_free(&u);
    return;
  }
#define FIELD_STR(f)                                                                               \
  if (!same(u.f, c->f)) {                                                                          \
    fprintf(stderr, "parse \"%s\": " #f " \"%s\", want \"%s\"\n", c->in, show(u.f), show(c->f));   \
    failures++;                                                                                    \
  }
#define FIELD_INT(f, want)                                                                         \
  if ((long)u.f != (long)(want)) {                                                                 \
    fprintf(stderr, "parse \"%s\": " #f " %ld, want %ld\n", c->in, (long)u.f, (long)(want));       \
    failures++;                                                                                    \
  }
  FIELD_STR(scheme)
  FIELD_STR(user)
  FIELD_STR(password)
  FIELD_STR(host)
  FIELD_STR(target)
  FIELD_STR(authority)
  FIELD_INT(host_is_ipv4, c->v4)
  FIELD_INT(host_is_ipv6, c->v6)
  FIELD_INT(port, c->port)
  FIELD_INT(port_explicit, c->explicit_port)
#undef FIELD_STR
#undef FIELD_INT
  fl__url_free(&u);
  CHECK(u.storage == NULL && u.host == NULL);
}

static void test_parse_misc(void) {
  fl__url u;
  /* as is: dot segments stay (curl's --path-as-is) */
  CHECK_EQ_INT(fl__url_parse_as_is(&u, "http://h/a/../b/./c?x=/../"), 0);
  CHECK_EQ_STR(u.target, "/a/../b/./c?x=/../");
  fl__url_free(&u);
  CHECK_EQ_INT(fl__url_parse(&u, "http://h/a/../b/./c"), 0);
  CHECK_EQ_STR(u.target, "/b/c");
  fl__url_free(&u);
  /* DNS's length limits are not the URL's: a 64-byte label and a 300-byte
   * name parse (a proxy or a resolve override may reach them) */
  {
    char text[400], host[301];
    memset(host, 'a', 300);
    host[300] = '\0';
    host[64] = '.';
    snprintf(text, sizeof text, "http://%s:81/x", host);
    CHECK_EQ_INT(fl__url_parse(&u, text), 0);
    CHECK_EQ_STR(u.host, host);
    fl__url_free(&u);
  }
  /* every string lives in the one storage block */
  CHECK_EQ_INT(fl__url_parse(&u, "HTTP://U:P@Host:81/a/../b?c#d"), 0);
  const char *fields[] = {u.scheme, u.user, u.password, u.host, u.target, u.authority};
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    CHECK(fields[i] != NULL);
    CHECK(fields[i] >= u.storage);
    CHECK(fields[i] < u.storage + 200);
  }
  CHECK_EQ_STR(u.target, "/b?c");
  CHECK_EQ_STR(u.authority, "host:81");
  CHECK_EQ_STR(u.user, "U");
  fl__url_free(&u);
  fl__url_free(&u); /* idempotent */
  fl__url_free(NULL);

  /* NULL input */
  CHECK_EQ_INT(fl__url_parse(&u, NULL), FL_EURL_MALFORMAT);
  CHECK(u.storage == NULL);
  fl__url_free(&u);
  CHECK_EQ_INT(fl__url_parse(NULL, "http://h/"), FL_EINVAL);

  /* a failed parse over a used struct leaves it empty (not freed twice) */
  CHECK_EQ_INT(fl__url_parse(&u, "http://h:0/"), FL_EURL_MALFORMAT);
  CHECK(u.storage == NULL && u.target == NULL);
  fl__url_free(&u);

  /* long path of dot segments and many high bytes */
  {
    size_t n = 3000;
    char *s = malloc(16 + 3 * n + 1), *w = s;
    CHECK(s != NULL);
    w += sprintf(w, "http://h");
    for (size_t i = 0; i < n / 3; i++) w += sprintf(w, "/a/..");
    *w++ = '/';
    for (size_t i = 0; i < 100; i++) *w++ = (char)0xe9;
    *w = '\0';
    CHECK_EQ_INT(fl__url_parse(&u, s), 0);
    CHECK_EQ_INT(strlen(u.target), 1 + 300);
    CHECK(strncmp(u.target, "/%E9%E9", 7) == 0);
    fl__url_free(&u);
    free(s);
  }

  CHECK_EQ_INT(fl__url_default_port("http"), 80);
  CHECK_EQ_INT(fl__url_default_port("https"), 443);
  CHECK_EQ_INT(fl__url_default_port("ftp"), 0);
  CHECK_EQ_INT(fl__url_default_port("HTTP"), 0); /* schemes arrive lower-cased */
  CHECK_EQ_INT(fl__url_default_port(NULL), 0);
}

/* ---------------------------------------------------------------- resolve */

typedef struct rcase {
  const char *ref, *want;
} rcase;

/* The examples of RFC 3986 section 5.4.1 ("normal") and 5.4.2 ("abnormal"),
 * all against the base "http://a/b/c/d;p?q". Where the RFC's result has a
 * fragment, ours omits it: fl__url_resolve drops fragments, which are never
 * sent. */
static const rcase rfc_cases[] = {
    /* 5.4.1 normal examples */
    {"g:h", "g:h"},
    {"g", "http://a/b/c/g"},
    {"./g", "http://a/b/c/g"},
    {"g/", "http://a/b/c/g/"},
    {"/g", "http://a/g"},
    {"//g", "http://g"},
    {"?y", "http://a/b/c/d;p?y"},
    {"g?y", "http://a/b/c/g?y"},
    {"#s", "http://a/b/c/d;p?q"},  /* RFC: http://a/b/c/d;p?q#s */
    {"g#s", "http://a/b/c/g"},     /* RFC: http://a/b/c/g#s */
    {"g?y#s", "http://a/b/c/g?y"}, /* RFC: http://a/b/c/g?y#s */
    {";x", "http://a/b/c/;x"},
    {"g;x", "http://a/b/c/g;x"},
    {"g;x?y#s", "http://a/b/c/g;x?y"}, /* RFC: http://a/b/c/g;x?y#s */
    {"", "http://a/b/c/d;p?q"},
    {".", "http://a/b/c/"},
    {"./", "http://a/b/c/"},
    {"..", "http://a/b/"},
    {"../", "http://a/b/"},
    {"../g", "http://a/b/g"},
    {"../..", "http://a/"},
    {"../../", "http://a/"},
    {"../../g", "http://a/g"},
    /* 5.4.2 abnormal examples */
    {"../../../g", "http://a/g"},
    {"../../../../g", "http://a/g"},
    {"/./g", "http://a/g"},
    {"/../g", "http://a/g"},
    {"g.", "http://a/b/c/g."},
    {".g", "http://a/b/c/.g"},
    {"g..", "http://a/b/c/g.."},
    {"..g", "http://a/b/c/..g"},
    {"./../g", "http://a/b/g"},
    {"./g/.", "http://a/b/c/g/"},
    {"g/./h", "http://a/b/c/g/h"},
    {"g/../h", "http://a/b/c/h"},
    {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
    {"g;x=1/../y", "http://a/b/c/y"},
    {"g?y/./x", "http://a/b/c/g?y/./x"},
    {"g?y/../x", "http://a/b/c/g?y/../x"},
    {"g#s/./x", "http://a/b/c/g"},  /* RFC: http://a/b/c/g#s/./x */
    {"g#s/../x", "http://a/b/c/g"}, /* RFC: http://a/b/c/g#s/../x */
    {"http:g", "http:g"},           /* strict parser */
};

typedef struct r3case {
  const char *base, *ref;
  int err;
  const char *want;
} r3case;

static const r3case more_resolve[] = {
    {"http://a", "g", 0, "http://a/g"},
    {"http://a", "", 0, "http://a"},
    {"http://a", "?x", 0, "http://a?x"},
    {"http://a/b#frag", "", 0, "http://a/b"},
    /* an empty reference path takes the base path as is (RFC 3986 5.2.2) */
    {"http://a/x/../y?q", "", 0, "http://a/x/../y?q"},
    {"http://a/x/../y?q", "?z", 0, "http://a/x/../y?z"},
    {"http://a/x/../y?q", "z", 0, "http://a/z"},
    {"http://a/b?q#frag", "#other", 0, "http://a/b?q"},
    {"HTTP://a/b/c", "d", 0, "http://a/b/d"},
    {"http://a/b/c", "HTTPS://X/./y/../z", 0, "https://X/z"},
    {"http://a/b/c", "//other:81/x/../y?z#f", 0, "http://other:81/y?z"},
    {"http://u:p@a:8080/b/c", "d?e", 0, "http://u:p@a:8080/b/d?e"},
    {"http://[::1]:8080/b/c", "/x", 0, "http://[::1]:8080/x"},
    {"http://a/b/c", "/a b/\xc3\xa4", 0, "http://a/a%20b/%C3%A4"},
    {"http://a/b/c", "x?q r", 0, "http://a/b/x?q%20r"},
    {"http://a/b/c", "/a%20b", 0, "http://a/a%20b"},
    {"http://a/b/c", "1x:y", 0, "http://a/b/1x:y"},
    {"http://a/b/c", "./1x:y", 0, "http://a/b/1x:y"},
    {"http://a/b/c", "/a\rb", MAL, NULL},
    {"http://a/b/c", "/a\nb", MAL, NULL},
    {"http://a/b/c", "/a\tb", MAL, NULL},
    {"http://a/b/c", "/a\x7f", MAL, NULL},
    {"/relative", "g", MAL, NULL},
    {"a/b", "g", MAL, NULL},
    {"", "g", MAL, NULL},
    {"http://a/b c/d", "g", 0, "http://a/b%20c/g"},
    {"http://a/\xc3\xa4/d", "", 0, "http://a/%C3%A4/d"},
    {"http://a/b\tc", "g", MAL, NULL},
    {"http://a/b\r", "g", MAL, NULL},
};

static void test_resolve(void) {
  const char *base = "http://a/b/c/d;p?q";
  for (size_t i = 0; i < sizeof rfc_cases / sizeof rfc_cases[0]; i++) {
    char *out = (char *)1;
    int err = fl__url_resolve(base, rfc_cases[i].ref, &out);
    if (err != 0 || !same(out, rfc_cases[i].want)) {
      fprintf(stderr, "resolve(\"%s\"): err %d, \"%s\", want \"%s\"\n", rfc_cases[i].ref, err,
              show(out), rfc_cases[i].want);
      failures++;
    }
    free(out);
  }
  for (size_t i = 0; i < sizeof more_resolve / sizeof more_resolve[0]; i++) {
    const r3case *c = &more_resolve[i];
    char *out = (char *)1;
    int err = fl__url_resolve(c->base, c->ref, &out);
    if (err != c->err || !same(out, c->want)) {
      fprintf(stderr, "resolve(\"%s\", \"%s\"): err %d, \"%s\", want %d \"%s\"\n", c->base, c->ref,
              err, show(out), c->err, show(c->want));
      failures++;
    }
    free(out);
  }
  char *out = (char *)1;
  CHECK_EQ_INT(fl__url_resolve(NULL, "g", &out), FL_EURL_MALFORMAT);
  CHECK(out == NULL);
  CHECK_EQ_INT(fl__url_resolve("http://a/", NULL, &out), FL_EURL_MALFORMAT);
  CHECK(out == NULL);
  CHECK_EQ_INT(fl__url_resolve("http://a/", "g", NULL), FL_EINVAL);

  /* a resolved Location parses back into a request */
  CHECK_EQ_INT(fl__url_resolve("http://h:8080/dir/page?x", "../other/./p q?y#z", &out), 0);
  CHECK_EQ_STR(out, "http://h:8080/other/p%20q?y");
  fl__url u;
  CHECK_EQ_INT(fl__url_parse(&u, out), 0);
  CHECK_EQ_STR(u.target, "/other/p%20q?y");
  CHECK_EQ_STR(u.authority, "h:8080");
  fl__url_free(&u);
  free(out);
}

/* ----------------------------------------------------------------- encode */

static void test_encode(void) {
  char buf[64];
  CHECK_EQ_INT(fl__url_encode(buf, sizeof buf, "aZ09-._~", 8), 8);
  CHECK_EQ_STR(buf, "aZ09-._~");
  CHECK_EQ_INT(fl__url_encode(buf, sizeof buf, " &=/?#%+:@", 10), 30);
  CHECK_EQ_STR(buf, "%20%26%3D%2F%3F%23%25%2B%3A%40");
  CHECK_EQ_INT(fl__url_encode(buf, sizeof buf, "\xc3\xa4\xff\x01\x7f", 5), 15);
  CHECK_EQ_STR(buf, "%C3%A4%FF%01%7F");
  /* embedded NUL with an explicit length */
  CHECK_EQ_INT(fl__url_encode(buf, sizeof buf, "a\0b", 3), 5);
  CHECK_EQ_STR(buf, "a%00b");
  CHECK_EQ_INT(fl__url_encode(buf, sizeof buf, "", 0), 0);
  CHECK_EQ_STR(buf, "");
  /* size queries and exact fits: written only when n < cap */
  CHECK_EQ_INT(fl__url_encode(NULL, 0, "a b", 3), 5);
  memset(buf, 'X', sizeof buf);
  CHECK_EQ_INT(fl__url_encode(buf, 5, "a b", 3), 5);
  CHECK(buf[0] == 'X');
  CHECK_EQ_INT(fl__url_encode(buf, 6, "a b", 3), 5);
  CHECK_EQ_STR(buf, "a%20b");
}

/* ---------------------------------------------------------- query builder */

typedef struct qcase {
  const char *url;
  const char *pairs[8];
  size_t npairs;
  const char *want;
} qcase;

static const qcase query_cases[] = {
    {"http://h/p", {"q", "a b"}, 1, "http://h/p?q=a%20b"},
    {"http://h/p", {"a", "1", "b", "2", "c", "3"}, 3, "http://h/p?a=1&b=2&c=3"},
    {"http://h/p?x=1", {"a", "&=", "b", ""}, 2, "http://h/p?x=1&a=%26%3D&b="},
    {"http://h/p?", {"k", "v"}, 1, "http://h/p?k=v"},
    {"http://h/p?x=1&", {"k", "v"}, 1, "http://h/p?x=1&k=v"},
    {"http://h/p#frag", {"k", "v"}, 1, "http://h/p?k=v"},
    {"http://h/p?x#f?g", {"k", "v"}, 1, "http://h/p?x&k=v"},
    {"http://h", {"k", "v"}, 1, "http://h?k=v"},
    {"http://h/", {"k y", "a+b/c?d#e%f"}, 1, "http://h/?k%20y=a%2Bb%2Fc%3Fd%23e%25f"},
    {"http://h/", {"\xc3\xa4", "\xe2\x82\xac"}, 1, "http://h/?%C3%A4=%E2%82%AC"},
    {"http://h/", {"flag", NULL, "k", "v"}, 2, "http://h/?flag&k=v"},
    {"http://h/", {"", ""}, 1, "http://h/?="},
    {"http://h/p?x=1#f", {NULL}, 0, "http://h/p?x=1"},
    {"http://h/p", {NULL}, 0, "http://h/p"},
};

static void test_with_query(void) {
  for (size_t i = 0; i < sizeof query_cases / sizeof query_cases[0]; i++) {
    const qcase *c = &query_cases[i];
    char *out = fl_url_with_query(c->url, c->pairs, c->npairs);
    if (!same(out, c->want)) {
      fprintf(stderr, "with_query(\"%s\", %zu): \"%s\", want \"%s\"\n", c->url, c->npairs,
              show(out), c->want);
      failures++;
    }
    free(out);
  }
  const char *kv[] = {"k", "v"};
  const char *nullkey[] = {NULL, "v"};
  CHECK(fl_url_with_query(NULL, kv, 1) == NULL);
  CHECK(fl_url_with_query("http://h/", NULL, 1) == NULL);
  CHECK(fl_url_with_query("http://h/", nullkey, 1) == NULL);
  CHECK(fl_url_with_query("not a url", kv, 1) == NULL);
  CHECK(fl_url_with_query("http://h:0/", kv, 1) == NULL);
  CHECK(fl_url_with_query("http://h/\r\n", kv, 1) == NULL);
  /* pairs may be NULL when there are none */
  char *out = fl_url_with_query("http://h/", NULL, 0);
  CHECK_EQ_STR(out, "http://h/");
  free(out);

  /* the result parses, and its query is what we built */
  const char *pairs[] = {"q", "a b&c=d", "n", "1"};
  out = fl_url_with_query("HTTP://H:80/s?x", pairs, 2);
  CHECK_EQ_STR(out, "HTTP://H:80/s?x&q=a%20b%26c%3Dd&n=1");
  fl__url u;
  CHECK_EQ_INT(fl__url_parse(&u, out), 0);
  CHECK_EQ_STR(u.target, "/s?x&q=a%20b%26c%3Dd&n=1");
  CHECK_EQ_STR(u.authority, "h");
  fl__url_free(&u);
  free(out);
}

int main(void) {
  FL_TEST_BEGIN();
  for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++)
    check_parse_case(&parse_cases[i]);
  test_parse_misc();
  test_resolve();
  test_encode();
  test_with_query();
  if (failures) fprintf(stderr, "%d failure(s)\n", failures);
  CHECK_EQ_INT(failures, 0);
  FL_TEST_END();
}
