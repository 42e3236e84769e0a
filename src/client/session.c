/* The session: fl_client options, setup and teardown of what its requests
 * share (struct fl_client in client.h; it cancels requests, so it sits above
 * request.h, which client.h does not know). */
#include "client/client.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/request.h"
#include "net/share.h"
#include "net/tls.h"

void fl_client_options_init(fl_client_options *o) {
  memset(o, 0, sizeof *o);
  o->max_connections = 100;
  o->max_connections_per_host = 0;
  o->idle_timeout_ms = 15000;
  o->timeouts.connect_ms = 30000;
  o->timeouts.total_ms = 300000;
  o->max_header_bytes = 64 * 1024;
  o->max_header_count = 200;
  o->max_body_bytes = 64u * 1024 * 1024;
  o->dns_timeout_ms = 5000;
  o->dns_ttl_min_ms = 1000;
  o->dns_ttl_max_ms = 300000;
  o->dns_negative_ttl_ms = 2000;
  o->happy_eyeballs_delay_ms = 250;
  fl_retry_policy_init(&o->retry);
  o->follow_redirects = 1;
  o->max_redirects = 10;
  o->decompress = 1;
  o->cookies = 1;
  o->tls_session_cache = 1;
  o->max_connecting_per_host = 4;
  o->expect_100_threshold = 1024 * 1024;
  o->expect_100_timeout_ms = 1000;
  o->tls_min_version = FL_TLS_1_2;
  o->tls_max_version = 0; /* the highest */
  o->http_version = FL_HTTP_VERSION_DEFAULT;
  o->h2_max_concurrent_streams = 100;
}

static char *dup_or_null(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

static void outermost_leave(fl__guard *g);

static int setup_fail(int err, const char *why, int *err_out, char *msg, size_t cap) {
  if (err_out) *err_out = err;
  if (msg && cap) fl__msg(msg, cap, "%s", why);
  return err;
}

fl_client *fl_client_new(fl_loop *loop, const fl_client_options *opts) {
  return fl_client_new_err(loop, opts, NULL, NULL, 0);
}

fl_client *fl_client_new_err(fl_loop *loop, const fl_client_options *opts, int *err_out, char *msg,
                             size_t cap) {
  if (err_out) *err_out = 0;
  if (msg && cap) msg[0] = '\0';
  if (!loop) {
    setup_fail(FL_EINVAL, "no loop given", err_out, msg, cap);
    return NULL;
  }
  if (opts && opts->ip_family != 0 && opts->ip_family != 4 && opts->ip_family != 6) {
    setup_fail(FL_EINVAL, "ip_family must be 0, 4 or 6", err_out, msg, cap);
    return NULL;
  }
  fl_client *c = calloc(1, sizeof *c);
  if (!c) {
    setup_fail(FL_ENOMEM, "out of memory", err_out, msg, cap);
    return NULL;
  }
  static _Atomic uint64_t last_id; /* clients are made on many threads */
  c->id = atomic_fetch_add(&last_id, 1) + 1;
  if (opts)
    c->opts = *opts;
  else
    fl_client_options_init(&c->opts);
  c->loop = loop;
  fl__pool_init(&c->pool);
  fl__queue_init(&c->inflight);
  c->user_agent =
      dup_or_null(c->opts.user_agent ? c->opts.user_agent : "flurry/" FL_VERSION_STRING);
  c->dns_servers = dup_or_null(c->opts.dns_servers);
  c->opts.user_agent = c->user_agent;
  c->opts.dns_servers = c->dns_servers;
  c->opts.resolve = NULL; /* consumed by the resolver below, not kept */
  fl__resolver_options ro = {
      .servers = c->dns_servers,
      .resolve = opts ? opts->resolve : NULL,
      .timeout_ms = c->opts.dns_timeout_ms,
      .ttl_min_ms = c->opts.dns_ttl_min_ms,
      .ttl_max_ms = c->opts.dns_ttl_max_ms,
      .negative_ttl_ms = c->opts.dns_negative_ttl_ms,
      .family = c->opts.ip_family,
      .share = c->opts.share ? c->opts.share->dns : NULL,
  };
  char errbuf[256] = "out of memory";
  fl__buf_init(&c->scratch);
  c->rbuf = malloc(FL__READ_BUF_SIZE);
  int err = 0;
  if (!c->rbuf || !c->user_agent || (opts && opts->dns_servers && !c->dns_servers)) {
    err = FL_ENOMEM;
  } else if (c->opts.http_version < FL_HTTP_VERSION_DEFAULT ||
             c->opts.http_version > FL_HTTP_VERSION_2_ONLY) {
    err = FL_EINVAL;
    snprintf(errbuf, sizeof errbuf, "unknown http_version %d", c->opts.http_version);
  } else if ((err = fl__client_lifecycle_init(c, &c->opts, errbuf, sizeof errbuf)) == 0 &&
             (err = fl__client_jar_init(c)) == 0 &&
             (err = fl__proxies_init(&c->proxies, &c->opts, errbuf, sizeof errbuf)) == 0 &&
             (err = fl__tls_ctx_new(&c->opts, &c->tls, errbuf, sizeof errbuf)) == 0)
    err = fl__resolver_new(loop, &ro, &c->resolver, errbuf, sizeof errbuf);
  if (err) {
    setup_fail(err, errbuf, err_out, msg, cap);
    fl__client_lifecycle_free(c);
    fl__tls_ctx_free(c->tls);
    fl__client_jar_free(c);
    fl__proxies_free(&c->proxies);
    free(c->rbuf);
    free(c->user_agent);
    free(c->dns_servers);
    free(c);
    return NULL;
  }
  if (c->opts.share) {
    c->share = c->opts.share;
    fl__share_attach(c->share);
    if (c->share->tls) fl__tls_ctx_use_store(c->tls, c->share->tls);
  }
  /* The TLS context keeps its own copies of the file names. */
  c->opts.ca_file = c->opts.ca_path = c->opts.client_cert = c->opts.client_key = NULL;
  c->opts.tls_ciphers = c->opts.tls13_ciphers = c->opts.pinned_pubkey = NULL;
  c->opts.proxy = NULL; /* parsed into c->proxies; the caller's string is not kept */
  c->guard.on_outermost_leave = outermost_leave;
  fl__conn_env *env = &c->pool.env;
  env->loop = loop;
  env->guard = &c->guard;
  env->resolver = c->resolver;
  env->tls = c->tls;
  env->rbuf = c->rbuf;
  env->happy_eyeballs_delay_ms = c->opts.happy_eyeballs_delay_ms;
  env->max_header_bytes = c->opts.max_header_bytes;
  env->max_header_count = c->opts.max_header_count;
  env->max_header_line_bytes = c->opts.max_header_line_bytes;
  env->pipeline_depth = c->opts.pipeline_depth;
  env->idle_ms = c->opts.idle_timeout_ms;
  env->h2_max_streams = c->opts.h2_max_concurrent_streams;
  env->h2_ping_ms = c->opts.h2_ping_interval_ms;
  c->pool.max_total = c->opts.max_connections;
  c->pool.max_per_host = c->opts.max_connections_per_host;
  c->pool.max_connecting = c->opts.max_connecting_per_host;
  fl__ratelimit_init(&c->ratelimit, loop, &c->guard, c->opts.rate_limit,
                     c->opts.rate_limit_per_host, c->opts.rate_burst);
  fl__loop_attach(loop);
  return c;
}

fl_loop *fl_client_loop(const fl_client *c) { return c ? c->loop : NULL; }

void fl_client_pool_stats(const fl_client *c, fl_pool_stats *out) {
  if (c && out) fl__pool_stats(&c->pool, out);
}

static void client_destroy(fl_client *c) {
  fl__client_drain_free(c);
  fl__pool_free_graveyard(&c->pool);
  fl__resolver_free(c->resolver);
  fl__tls_ctx_free(c->tls);
  fl__client_jar_free(c);
  fl__proxies_free(&c->proxies);
  fl__ratelimit_free(&c->ratelimit);
  fl__loop_detach(c->loop);
  if (c->share) fl__share_detach(c->share); /* after the resolver and TLS context */
  fl__client_lifecycle_free(c);
  free(c->rbuf);
  free(c->user_agent);
  free(c->dns_servers);
  free(c);
}

/* No client code is on the stack any more: free what was only unlinked. */
static void outermost_leave(fl__guard *g) {
  fl_client *c = fl__container_of(g, fl_client, guard);
  if (c->free_requested)
    client_destroy(c);
  else if (!fl__queue_empty(&c->pool.graveyard))
    fl__pool_free_graveyard(&c->pool);
}

void fl_client_free(fl_client *c) {
  if (!c || c->free_requested) return;
  fl__hooks_forbid(c, "fl_client_free"); /* aborts: one of its hooks is running */
  c->free_requested = 1;
  fl__client_send_checks(c);
  c->pool.stopping = 1;
  fl__guard_enter(&c->guard);
  /* Each in-flight request completes with FL_ECANCELED, from here. */
  while (!fl__queue_empty(&c->inflight))
    fl__request_cancel_for_free(fl__container_of(c->inflight.next, fl_request, inflight_node));
  fl__pool_close_all(&c->pool);
  fl__guard_leave(&c->guard);
}
