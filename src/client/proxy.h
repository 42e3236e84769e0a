/* Which proxy a URL goes through: the client's option, or with trust_env
 * the environment (http_proxy, https_proxy, all_proxy, no_proxy). An HTTP
 * proxy or a SOCKS one (socks4, socks4a, socks5, socks5h). The proxies
 * belong to the client and live as long as it (endpoints point into them). */
#ifndef FL_PROXY_H
#define FL_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "base/headers.h"
#include "base/url.h"
#include "engine/conn.h"
#include "flurry.h"

typedef struct fl__proxy fl__proxy;

typedef struct fl__proxies {
  fl__proxy *http, *https;
  char *no_proxy;
  int tunnel_all;      /* opts->proxy_tunnel: http:// through CONNECT too */
  char *header_block;  /* opts->proxy_headers as "Name: value\r\n"..., or NULL */
  fl__headers headers; /* the same, for a forward proxy's requests */
} fl__proxies;

/* From opts->proxy / opts->trust_env. 0, FL_ENOMEM or FL_EINVAL (reason in err). */
int fl__proxies_init(fl__proxies *ps, const fl_client_options *opts, char *err, size_t cap);
void fl__proxies_free(fl__proxies *ps);
const fl__proxy *fl__proxy_for(const fl__proxies *ps, const fl__url *u); /* NULL: direct */
const char *fl__proxy_host(const fl__proxy *p);
uint16_t fl__proxy_port(const fl__proxy *p);
const char *fl__proxy_auth(const fl__proxy *p); /* "Basic ..." or NULL (SOCKS, Digest) */
const char *fl__proxy_key(const fl__proxy *p);
fl__socks_kind fl__proxy_socks(const fl__proxy *p); /* FL__SOCKS_NONE: an HTTP proxy */
const char *fl__proxy_user(const fl__proxy *p);     /* percent-decoded, or NULL */
const char *fl__proxy_password(const fl__proxy *p);
/* Credentials for Digest challenges only (fl_client_options.proxy_digest). */
int fl__proxy_digest(const fl__proxy *p);

#endif
