/* Which proxy a URL goes through: the client's option, or with trust_env
 * the environment (http_proxy, https_proxy, no_proxy). The proxies belong to
 * the client and live as long as it. */
#ifndef FL_PROXY_H
#define FL_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "base/url.h"
#include "flurry.h"

typedef struct fl__proxy fl__proxy;

typedef struct fl__proxies {
  fl__proxy *http, *https;
  char *no_proxy;
} fl__proxies;

/* From opts->proxy / opts->trust_env. 0, FL_ENOMEM or FL_EINVAL (reason in err). */
int fl__proxies_init(fl__proxies *ps, const fl_client_options *opts, char *err, size_t cap);
void fl__proxies_free(fl__proxies *ps);
const fl__proxy *fl__proxy_for(const fl__proxies *ps, const fl__url *u); /* NULL: direct */
const char *fl__proxy_host(const fl__proxy *p);
uint16_t fl__proxy_port(const fl__proxy *p);
const char *fl__proxy_auth(const fl__proxy *p); /* "Basic ..." or NULL */
const char *fl__proxy_key(const fl__proxy *p);

#endif
