/* fl_share: caches shared by clients on several threads (see share.h and
 * the contract in flurry.h). */
#include "net/share.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fl_share_options_init(fl_share_options *o) {
  if (!o) return;
  memset(o, 0, sizeof *o);
  o->dns_ttl_min_ms = 1000;
  o->dns_ttl_max_ms = 300000;
  o->dns_negative_ttl_ms = 2000;
  o->tls_session_cache = 1;
  o->tls_sessions_per_host = 64;
}

fl_share *fl_share_new(const fl_share_options *opts) {
  fl_share_options o;
  if (opts)
    o = *opts;
  else
    fl_share_options_init(&o);
  fl_share *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  atomic_init(&s->users, 0);
  if (fl__dns_share_new(o.dns_ttl_min_ms, o.dns_ttl_max_ms, o.dns_negative_ttl_ms, &s->dns) != 0 ||
      (o.tls_session_cache && fl__tls_store_new(o.tls_sessions_per_host, &s->tls) != 0)) {
    fl__dns_share_free(s->dns);
    free(s);
    return NULL;
  }
  return s;
}

int fl_share_free(fl_share *s) {
  if (!s) return 0;
  unsigned users = atomic_load(&s->users);
  if (users) {
#ifndef NDEBUG
    fprintf(stderr, "flurry: fl_share_free while %u client(s) still use the share\n", users);
    abort();
#endif
    return FL_EINVAL;
  }
  fl__dns_share_free(s->dns);
  fl__tls_store_free(s->tls);
  free(s);
  return 0;
}

void fl__share_attach(fl_share *s) { atomic_fetch_add(&s->users, 1); }
void fl__share_detach(fl_share *s) { atomic_fetch_sub(&s->users, 1); }

int fl_share_flush_dns(fl_share *s) {
  if (!s) return FL_EINVAL;
  fl__dns_share_flush(s->dns);
  return 0;
}

void fl_share_dns_stats(const fl_share *s, fl_dns_stats *out) {
  if (!out) return;
  memset(out, 0, sizeof *out);
  if (!s) return;
  fl__dns_share_stats st;
  fl__dns_share_get_stats(s->dns, &st);
  out->entries = st.entries;
  out->in_flight = st.in_flight;
  out->hits = st.hits;
  out->misses = st.misses;
  out->lookups = st.lookups;
  out->joined = st.joined;
}

uint32_t fl_share_tls_sessions(const fl_share *s) {
  return s && s->tls ? fl__tls_store_count(s->tls) : 0;
}
