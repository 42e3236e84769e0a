/* Proxies and routes (client/proxy.c, client/route.c): which schemes are
 * proxies, what a route through each asks of the connection (absolute
 * form, CONNECT, a SOCKS handshake and its credentials), pool keys that
 * tell proxies and credentials apart, and the environment (all_proxy). */
#include <stdlib.h>
#include <string.h>

#include "client/proxy.h"
#include "client/route.h"
#include "test.h"

static fl__proxies ps;
static fl__route r;
static fl__url u;

/* The route of url through proxy (NULL: none); the key is copied to key. */
static const fl__endpoint *route(const char *proxy, const char *url, char *key, size_t cap) {
  fl_client_options o;
  fl_client_options_init(&o);
  o.proxy = proxy;
  char err[160];
  fl__proxies_free(&ps);
  CHECK_EQ_INT(fl__proxies_init(&ps, &o, err, sizeof err), 0);
  fl__url_free(&u);
  CHECK_EQ_INT(fl__url_parse(&u, url), 0);
  CHECK_EQ_INT(fl__route_build(&r, &u, &ps, NULL, FL_HTTP_VERSION_DEFAULT, NULL), 0);
  if (key) snprintf(key, cap, "%s", r.ep.key);
  return &r.ep;
}

int main(void) {
  FL_TEST_BEGIN();
  fl__route_init(&r);
  memset(&u, 0, sizeof u);
  memset(&ps, 0, sizeof ps);
  char k1[512], k2[512], k3[512], k4[512], k5[512];

  /* SOCKS: no absolute form, no CONNECT, the handshake's kind and
   * credentials; the TCP connection goes to the proxy (default port 1080). */
  const fl__endpoint *ep =
      route("socks5h://su:s%3Ap@proxy.test", "http://origin.test/x", k1, sizeof k1);
  CHECK_EQ_INT(ep->socks, FL__SOCKS5H);
  CHECK_EQ_INT(r.forward, 0);
  CHECK_EQ_INT(ep->tunnel, 0);
  CHECK(ep->proxy_auth == NULL);
  CHECK_EQ_STR(ep->socks_user, "su");
  CHECK_EQ_STR(ep->socks_pass, "s:p"); /* percent-decoded */
  CHECK_EQ_STR(ep->connect_host, "proxy.test");
  CHECK_EQ_INT(ep->connect_port, 1080);
  CHECK_EQ_STR(ep->host, "origin.test");
  CHECK_EQ_INT(ep->port, 80);
  ep = route("socks5h://su:s%3Ap@proxy.test", "https://origin.test/x", NULL, 0);
  CHECK_EQ_INT(ep->socks, FL__SOCKS5H);
  CHECK_EQ_INT(ep->tunnel, 0);
  CHECK_EQ_INT(ep->tls, 1);
  CHECK_EQ_INT(route("socks5://p:1", "http://o/", NULL, 0)->socks, FL__SOCKS5);
  CHECK_EQ_INT(route("socks4a://p:1", "http://o/", NULL, 0)->socks, FL__SOCKS4A);
  ep = route("socks4://someone@p:1", "http://o/", NULL, 0);
  CHECK_EQ_INT(ep->socks, FL__SOCKS4);
  CHECK_EQ_STR(ep->socks_user, "someone");
  CHECK(ep->socks_pass == NULL);

  /* An HTTP proxy: absolute form for http, CONNECT with Basic for https. */
  ep = route("http://pu:pp@proxy.test:3128", "http://origin.test/", k2, sizeof k2);
  CHECK_EQ_INT(ep->socks, FL__SOCKS_NONE);
  CHECK_EQ_INT(r.forward, 1);
  CHECK(ep->socks_user == NULL);
  ep = route("http://pu:pp@proxy.test:3128", "https://origin.test/", NULL, 0);
  CHECK_EQ_INT(ep->tunnel, 1);
  CHECK_EQ_STR(ep->proxy_auth, "Basic cHU6cHA=");

  /* Keys: another scheme, other credentials, another proxy, none. */
  route("socks5://su:s%3Ap@proxy.test", "http://origin.test/x", k3, sizeof k3);
  route("socks5h://su:other@proxy.test", "http://origin.test/x", k4, sizeof k4);
  route(NULL, "http://origin.test/x", k5, sizeof k5);
  const char *keys[] = {k1, k2, k3, k4, k5};
  for (int i = 0; i < 5; i++)
    for (int j = i + 1; j < 5; j++) CHECK(strcmp(keys[i], keys[j]) != 0);
  route("socks5h://su:s%3Ap@proxy.test", "http://origin.test/other/path", k2, sizeof k2);
  CHECK_EQ_STR(k1, k2); /* same origin, proxy and credentials: one pool */

  /* Schemes that are not proxies we speak are refused. */
  fl_client_options o;
  fl_client_options_init(&o);
  char err[160];
  o.proxy = "ftp://proxy.test";
  fl__proxies_free(&ps);
  CHECK_EQ_INT(fl__proxies_init(&ps, &o, err, sizeof err), FL_EINVAL);
  CHECK(strstr(err, "socks5h"));
  o.proxy = "socks6://proxy.test";
  CHECK_EQ_INT(fl__proxies_init(&ps, &o, err, sizeof err), FL_EINVAL);

  /* proxy_digest: no Basic credentials up front (absolute form or CONNECT). */
  o.proxy = "http://pu:pp@proxy.test";
  o.proxy_digest = 1;
  CHECK_EQ_INT(fl__proxies_init(&ps, &o, err, sizeof err), 0);
  fl__url_free(&u);
  CHECK_EQ_INT(fl__url_parse(&u, "https://origin.test/"), 0);
  const fl__proxy *p = fl__proxy_for(&ps, &u);
  CHECK(p && fl__proxy_auth(p) == NULL && fl__proxy_digest(p));
  CHECK_EQ_STR(fl__proxy_user(p), "pu");
  fl__proxies_free(&ps);

  /* trust_env: all_proxy serves both schemes unless a specific one is set;
   * no_proxy still applies. */
  setenv("all_proxy", "socks5h://envproxy:1080", 1);
  unsetenv("http_proxy");
  unsetenv("https_proxy");
  unsetenv("HTTPS_PROXY");
  unsetenv("no_proxy");
  unsetenv("NO_PROXY");
  setenv("https_proxy", "http://tls-proxy:8080", 1);
  fl_client_options_init(&o);
  o.trust_env = 1;
  CHECK_EQ_INT(fl__proxies_init(&ps, &o, err, sizeof err), 0);
  fl__url_free(&u);
  CHECK_EQ_INT(fl__url_parse(&u, "http://origin.test/"), 0);
  p = fl__proxy_for(&ps, &u);
  CHECK(p && fl__proxy_socks(p) == FL__SOCKS5H);
  CHECK_EQ_STR(fl__proxy_host(p), "envproxy");
  fl__url_free(&u);
  CHECK_EQ_INT(fl__url_parse(&u, "https://origin.test/"), 0);
  p = fl__proxy_for(&ps, &u);
  CHECK(p && fl__proxy_socks(p) == FL__SOCKS_NONE);
  CHECK_EQ_STR(fl__proxy_host(p), "tls-proxy");
  fl__proxies_free(&ps);
  setenv("no_proxy", "origin.test", 1);
  CHECK_EQ_INT(fl__proxies_init(&ps, &o, err, sizeof err), 0);
  CHECK(fl__proxy_for(&ps, &u) == NULL);
  fl__proxies_free(&ps);
  unsetenv("all_proxy");
  unsetenv("https_proxy");
  unsetenv("no_proxy");

  fl__url_free(&u);
  fl__route_dispose(&r);
  FL_TEST_END();
}
