/* Digest authentication (client/digest.c): challenge parsing (several
 * schemes and challenges in one header or many, quoting, what cannot be
 * answered) and the credentials computed, against RFC 7616's examples
 * (section 3.9.1) and values computed independently with Python's hashlib
 * for the forms the RFC has no example of. */
#include <string.h>

#include "base/headers.h"
#include "client/digest.h"
#include "test.h"

static fl__headers h;
static fl__buf out;

static int parse(fl__digest *d, const char *v1, const char *v2) {
  fl__headers_reset(&h);
  CHECK(fl__headers_add(&h, "Content-Type", 12, "text/plain", 10) == 0);
  if (v1) CHECK(fl__headers_add(&h, "WWW-Authenticate", 16, v1, strlen(v1)) == 0);
  if (v2) CHECK(fl__headers_add(&h, "www-authenticate", 16, v2, strlen(v2)) == 0);
  return fl__digest_parse(d, &h, "WWW-Authenticate");
}

/* The credentials d gives; the header line (valid until the next call). */
static const char *answer(fl__digest *d, const char *user, const char *pass, const char *method,
                          const char *uri, const char *cnonce) {
  fl__buf_reset(&out);
  CHECK(fl__digest_put_header(d, &out, "Authorization", user, pass, method, uri, cnonce) == 0);
  return out.data;
}

static void has(const char *line, const char *part) {
  if (!strstr(line, part)) {
    fprintf(stderr, "\"%s\" lacks \"%s\"\n", line, part);
    exit(1);
  }
}

static void lacks(const char *line, const char *part) {
  if (strstr(line, part)) {
    fprintf(stderr, "\"%s\" has \"%s\"\n", line, part);
    exit(1);
  }
}

#define RFC_NONCE "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
#define RFC_OPAQUE "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
#define RFC_CNONCE "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
#define RFC_CHALLENGE(algo)                                                                        \
  "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=" algo                \
  ", nonce=\"" RFC_NONCE "\", opaque=\"" RFC_OPAQUE "\""

int main(void) {
  FL_TEST_BEGIN();
  fl__headers_init(&h);
  fl__digest d;
  memset(&d, 0, sizeof d);

  /* RFC 7616 3.9.1: SHA-256 offered first, MD5 second; the stronger is
   * answered, each with the RFC's response. */
  CHECK_EQ_INT(parse(&d, RFC_CHALLENGE("SHA-256"), RFC_CHALLENGE("MD5")), 0);
  const char *a = answer(&d, "Mufasa", "Circle of Life", "GET", "/dir/index.html", RFC_CNONCE);
  has(a,
      "Authorization: Digest username=\"Mufasa\", realm=\"http-auth@example.org\", nonce=\"" RFC_NONCE
      "\", uri=\"/dir/index.html\", algorithm=SHA-256, "
      "response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\", opaque=\"" RFC_OPAQUE
      "\", qop=auth, nc=00000001, cnonce=\"" RFC_CNONCE "\"\r\n");
  /* The same nonce again: the count goes up (and so the response changes). */
  a = answer(&d, "Mufasa", "Circle of Life", "GET", "/dir/index.html", RFC_CNONCE);
  has(a, "nc=00000002");
  lacks(a, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
  /* Both challenges in one header value, MD5 first: still SHA-256. */
  CHECK_EQ_INT(parse(&d, RFC_CHALLENGE("MD5") ", " RFC_CHALLENGE("SHA-256"), NULL), 0);
  has(answer(&d, "Mufasa", "Circle of Life", "GET", "/dir/index.html", RFC_CNONCE),
      "algorithm=SHA-256");
  CHECK_EQ_INT(parse(&d, RFC_CHALLENGE("MD5"), NULL), 0);
  a = answer(&d, "Mufasa", "Circle of Life", "GET", "/dir/index.html", RFC_CNONCE);
  has(a, "algorithm=MD5, response=\"8ca523f5e9506fed4657c9700eebdbec\"");
  /* A random cnonce when none is given: 32 hex digits. */
  a = answer(&d, "Mufasa", "Circle of Life", "GET", "/dir/index.html", NULL);
  const char *cn = strstr(a, "cnonce=\"");
  CHECK(cn && strspn(cn + 8, "0123456789abcdef") == 32 && cn[40] == '"');

  /* Among other schemes (and a token68), with the algorithm left out (MD5)
   * and no qop: the RFC 2069 form, no nc or cnonce. */
  CHECK_EQ_INT(parse(&d,
                     "Negotiate abc==, Basic realm=\"x\", Digest realm=\"testrealm@host.com\", "
                     "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", Bearer",
                     NULL),
               0);
  a = answer(&d, "Mufasa", "Circle Of Life", "GET", "/dir/index.html", NULL);
  has(a, "algorithm=MD5, response=\"670fd8c2df070c60b045671b8b24ff02\"");
  lacks(a, "qop");
  lacks(a, "cnonce");
  lacks(a, "opaque");

  /* -sess, and userhash (the user name is H(user:realm)). */
  CHECK_EQ_INT(parse(&d, RFC_CHALLENGE("MD5-sess"), NULL), 0);
  has(answer(&d, "Mufasa", "Circle of Life", "GET", "/dir/index.html", RFC_CNONCE),
      "algorithm=MD5-sess, response=\"e783283f46242139c486a698fec7211d\"");
  CHECK_EQ_INT(
      parse(&d,
            "Digest realm=\"http-auth@example.org\", qop=auth, algorithm=SHA-512-256-sess, "
            "nonce=\"" RFC_NONCE "\", userhash=true",
            NULL),
      0);
  answer(&d, "Mufasa", "Circle of Life", "GET", "/", RFC_CNONCE);
  a = answer(&d, "Mufasa", "Circle of Life", "POST", "/dir/index.html", RFC_CNONCE);
  has(a, "username=\"e2dfabd1a96ddf867710b653b6e6857d1f147086de7d7ef79dcd249859872570\"");
  has(a, "algorithm=SHA-512-256-sess, "
         "response=\"a33a1a7ae0ae7bb89200258f78ae26d81b98ec02aa3565e285693424a8551bce\"");
  has(a, "nc=00000002");
  has(a, "userhash=true");

  /* Quoting: escapes are undone when parsing, done again when writing;
   * tokens work for values too; names are case-insensitive. */
  CHECK_EQ_INT(
      parse(&d, "DIGEST Realm=\"a \\\"quoted\\\" \\\\realm\", NONCE=abc123, Algorithm=md5", NULL),
      0);
  CHECK_EQ_STR(d.realm, "a \"quoted\" \\realm");
  CHECK_EQ_STR(d.nonce, "abc123");
  a = answer(&d, "us\"er", "pw", "GET", "/", NULL);
  has(a, "username=\"us\\\"er\", realm=\"a \\\"quoted\\\" \\\\realm\", nonce=\"abc123\"");

  /* Nothing we can answer: FL_EINVAL. */
  CHECK_EQ_INT(parse(&d, NULL, NULL), FL_EINVAL);
  CHECK_EQ_INT(parse(&d, "Basic realm=\"x\"",
                     "Newauth realm=\"apps\", type=1, title=\"Login \\\"apps\\\"\""),
               FL_EINVAL);
  CHECK_EQ_INT(parse(&d, "Digest realm=\"r\", qop=\"auth-int\", nonce=\"n\"", NULL), FL_EINVAL);
  CHECK_EQ_INT(parse(&d, "Digest realm=\"r\"", NULL), FL_EINVAL); /* no nonce */
  CHECK_EQ_INT(parse(&d, "Digest realm=\"r\", nonce=\"n\", algorithm=SHA-1", NULL), FL_EINVAL);
  CHECK_EQ_INT(parse(&d, "Digest realm=\"r\", nonce=\"unterminated", NULL), FL_EINVAL);
  CHECK_EQ_INT(parse(&d, "Digest", NULL), FL_EINVAL);
  /* ... unless another challenge can be. */
  CHECK_EQ_INT(
      parse(&d, "Digest realm=\"r\", nonce=\"n\", algorithm=SHA-1, Digest realm=\"s\", nonce=\"m\"",
            NULL),
      0);
  CHECK_EQ_STR(d.realm, "s");
  /* A realm left out is empty; opaque is echoed only when given. */
  CHECK_EQ_INT(parse(&d, "Digest nonce=\"n\"", NULL), 0);
  a = answer(&d, "u", "p", "GET", "/", NULL);
  has(a, "realm=\"\"");
  lacks(a, "opaque");

  /* Credentials with control characters never go into a header. */
  CHECK(fl__digest_creds_ok("user", "pass"));
  CHECK(fl__digest_creds_ok("user", NULL));
  CHECK(!fl__digest_creds_ok(NULL, "pass"));
  CHECK(!fl__digest_creds_ok("us\r\ner", "pass"));
  CHECK(!fl__digest_creds_ok("user", "pa\nss"));

  fl__digest_dispose(&d);
  fl__headers_dispose(&h);
  fl__buf_dispose(&out);
  FL_TEST_END();
}
