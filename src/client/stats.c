/* The client's figures for monitoring: per-host pool figures and DNS cache
 * figures, beside fl_client_pool_stats (session.c). Read from the pool and
 * the resolver on the loop's thread; nothing here changes them. */
#include <stdio.h>
#include <string.h>

#include "client/client.h"
#include "engine/conn.h"
#include "engine/pool.h"
#include "net/dns.h"

static void host_figures(const fl__host *h, fl_host_stats *o) {
  const fl__queue *q;
  memset(o, 0, sizeof *o);
  snprintf(o->host, sizeof o->host, "%s", h->ep.host ? h->ep.host : "");
  o->port = h->ep.port;
  o->tls = h->ep.tls;
  o->open = h->nconns;
  o->waiting = h->nwaiters;
  fl__queue_foreach(q, &h->idle) o->idle++;
  fl__queue_foreach(q, &h->busy) {
    if (fl__container_of(q, fl__conn, host_node)->state == FL__CONN_OPEN)
      o->busy++;
    else
      o->connecting++;
  }
}

size_t fl_client_host_stats(const fl_client *c, fl_host_stats *out, size_t cap) {
  size_t n = 0;
  const fl__queue *q;
  if (!c) return 0;
  fl__queue_foreach(q, &c->pool.hosts) {
    if (out && n < cap) host_figures(fl__container_of(q, fl__host, node), &out[n]);
    n++;
  }
  return n;
}

void fl_client_dns_stats(const fl_client *c, fl_dns_stats *out) {
  fl__dns_stats st;
  if (!out) return;
  memset(out, 0, sizeof *out);
  if (!c || !c->resolver) return;
  fl__resolver_stats(c->resolver, &st);
  out->entries = st.cache_entries;
  out->in_flight = st.names;
  out->hits = st.cache_hits + st.negative_hits;
  out->lookups = st.queries;
  out->joined = st.joined;
  out->misses = st.queries + st.joined;
}
