/* What each slot of a thread sends: request objects set up from templates
 * (the command line's, one per --urls line, or a script's request strings)
 * and handed to slots, per cycle where the templates change. See worker.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "worker.h"

void flb_tpl_unref(flb_tpl *t) {
  if (t && --t->refs == 0) flb_tpl_free(t);
}

/* Make p send message m of template t (a new request when the old one
 * cannot be changed into it). 0 or an fl_err. */
int flb_preq_set(preq *p, flb_tpl *t, const flb_msg *m) {
  if (p->msg == m) return 0;
  int err = p->req ? flb_msg_apply(p->req, p->msg, m) : 1;
  if (err == 1) {
    fl_request_free(p->req);
    p->req = flb_msg_request(m, &err); /* its body callback is set at each send */
  }
  if (err) return err;
  t->refs++;
  flb_tpl_unref(p->tpl);
  p->tpl = t;
  p->msg = m;
  p->first_len = -1;
  p->head = !strcasecmp(m->method, "HEAD");
  return 0;
}

void flb_preq_free(preq *p) {
  if (!p) return;
  fl_request_free(p->req);
  flb_tpl_unref(p->tpl);
  free(p);
}

/* Room for n items in s (new items get a request object of their own). */
int flb_slot_reserve(slot *s, size_t n) {
  if (n <= s->cap) return 0;
  item *items = realloc(s->items, n * sizeof *items);
  if (!items) return FL_ENOMEM;
  s->items = items;
  for (size_t i = s->cap; i < n; i++) {
    memset(&items[i], 0, sizeof items[i]);
    items[i].s = s;
    if (!(items[i].p = calloc(1, sizeof *items[i].p))) {
      s->cap = i;
      return FL_ENOMEM;
    }
    items[i].p->first_len = -1;
  }
  s->cap = n;
  return 0;
}

/* Set slot s up for the cycle of template t. 0 or an fl_err. */
int flb_slot_take(slot *s, flb_tpl *t) {
  int err = flb_slot_reserve(s, t->n);
  for (size_t i = 0; !err && i < t->n; i++) err = flb_preq_set(s->items[i].p, t, &t->msgs[i]);
  if (!err) s->nitems = t->n;
  return err;
}

/* --urls: give s's request back to its URL and take one of the next URL. */
int flb_slot_next_url(flb_worker *w, slot *s) {
  item *it = &s->items[0];
  preq *p = it->p;
  if (p && p->tpl) {
    p->next_free = w->free_reqs[p->url];
    w->free_reqs[p->url] = p;
  }
  size_t u = w->next_url;
  w->next_url = (u + 1) % w->ntpls;
  p = w->free_reqs[u];
  if (p) {
    w->free_reqs[u] = p->next_free;
  } else {
    if (!(p = calloc(1, sizeof *p))) return FL_ENOMEM;
    p->first_len = -1;
    p->url = u;
    int err = flb_preq_set(p, w->tpls[u], &w->tpls[u]->msgs[0]);
    if (err) {
      flb_preq_free(p);
      it->p = NULL;
      return err;
    }
  }
  it->p = p;
  s->nitems = 1;
  return 0;
}

/* Dynamic script: request() for s's next cycle. 0 or -1 (fatal said). */
int flb_slot_from_script(flb_worker *w, slot *s) {
  flb_tpl *t = w->first; /* the answer fetched at setup, used once */
  w->first = NULL;
  if (!t) {
    size_t len;
    const char *str = flb_script_request(w->script, &len);
    if (!str) {
      flb_worker_script_failed(w);
      return -1;
    }
    if (w->script && flb_script_stopped(w->script)) flb_worker_stop(w);
    if (w->cur && w->cur->src_len == len && !memcmp(w->cur->src, str, len)) {
      t = w->cur;
    } else {
      char why[200];
      t = flb_tpl_parse(str, len, w->origin, why, sizeof why);
      if (!t) {
        char msg[256];
        snprintf(msg, sizeof msg, "request(): %s", why);
        flb_worker_fatal(w, FL_EINVAL, msg);
        return -1;
      }
      t->refs = 1;
      flb_tpl_unref(w->cur);
      w->cur = t;
    }
  }
  int err = flb_slot_take(s, t);
  if (err) {
    flb_worker_fatal(w, err, "request(): cannot make the request");
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------------ origins */

/* Where the script's requests go: the URL's origin, or thread.addr. With a
 * host name, thread.addr becomes a resolve override for that name (TLS
 * still checks the name); with an address literal, the address itself. */
static int script_origin(flb_worker *w) {
  const char *url = w->cfg->url;
  const char *a = strstr(url, "://");
  if (!a) return FL_EURL_MALFORMAT;
  a += 3;
  size_t alen = strcspn(a, "/?#");
  int n = snprintf(w->origin, sizeof w->origin, "%.*s", (int)(a - url + (ptrdiff_t)alen), url);
  if (n < 0 || (size_t)n >= sizeof w->origin) return FL_EURL_MALFORMAT;
  char ip[64];
  uint16_t port;
  if (flb_script_addr(w->script, ip, sizeof ip, &port)) return 0;
  /* The host part of the authority (no user info, no port). */
  const char *at = memchr(a, '@', alen);
  const char *host = at ? at + 1 : a, *end = a + alen, *host_end;
  if (*host == '[') {
    host_end = memchr(host, ']', (size_t)(end - host));
    if (!host_end) return FL_EURL_MALFORMAT;
    host_end++;
  } else {
    host_end = memchr(host, ':', (size_t)(end - host));
    if (!host_end) host_end = end;
  }
  char hostname[256];
  size_t hl = (size_t)(host_end - host);
  if (hl >= sizeof hostname) return FL_EURL_MALFORMAT;
  memcpy(hostname, host, hl);
  hostname[hl] = 0;
  int v6 = strchr(ip, ':') != NULL;
  char plain[256]; /* the host without brackets */
  snprintf(plain, sizeof plain, "%.*s", hostname[0] == '[' ? (int)hl - 2 : (int)hl,
           hostname[0] == '[' ? hostname + 1 : hostname);
  int literal = hostname[0] == '[' || strspn(plain, "0123456789.") == strlen(plain);
  int scheme_len = (int)(a - url);
  if (literal) {
    n = snprintf(w->origin, sizeof w->origin, "%.*s%s%s%s:%u", scheme_len, url, v6 ? "[" : "", ip,
                 v6 ? "]" : "", (unsigned)port);
  } else {
    n = snprintf(w->origin, sizeof w->origin, "%.*s%s:%u", scheme_len, url, hostname,
                 (unsigned)port);
    char rule[400];
    snprintf(rule, sizeof rule, "%s:%u:%s%s%s", hostname, (unsigned)port, v6 ? "[" : "", ip,
             v6 ? "]" : "");
    if (!(w->resolve[0] = strdup(rule))) return FL_ENOMEM;
  }
  return n < 0 || (size_t)n >= sizeof w->origin ? FL_EURL_MALFORMAT : 0;
}

/* The templates: the command line's, or the static script's string. */
int flb_worker_templates(flb_worker *w) {
  const flb_config *cfg = w->cfg;
  if (w->script) {
    int err = script_origin(w);
    if (err) {
      snprintf(w->res->fatal_msg, sizeof w->res->fatal_msg, "the script's origin from %s",
               cfg->url);
      return err;
    }
    size_t len;
    const char *str = flb_script_request(w->script, &len);
    if (!str) {
      snprintf(w->res->fatal_msg, sizeof w->res->fatal_msg, "%s", flb_script_error(w->script));
      return FL_ECALLBACK_ABORT;
    }
    char why[200];
    flb_tpl *t = flb_tpl_parse(str, len, w->origin, why, sizeof why);
    if (!t) {
      snprintf(w->res->fatal_msg, sizeof w->res->fatal_msg, "request: %s", why);
      return FL_EINVAL;
    }
    t->refs = 1;
    if (w->dynamic) { /* this first answer is slot 0's first cycle */
      w->first = w->cur = t;
      return 0;
    }
    w->tpls = calloc(1, sizeof *w->tpls);
    if (!w->tpls) {
      flb_tpl_unref(t);
      return FL_ENOMEM;
    }
    w->tpls[0] = t;
    w->ntpls = 1;
    return 0;
  }
  size_t n = cfg->nurls ? cfg->nurls : 1;
  w->tpls = calloc(n, sizeof *w->tpls);
  w->free_reqs = calloc(n, sizeof *w->free_reqs);
  if (!w->tpls || !w->free_reqs) return FL_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    w->tpls[i] = flb_tpl_single(cfg->method, cfg->nurls ? cfg->urls[i] : cfg->url, cfg->headers,
                                cfg->nheaders, cfg->body, cfg->body_len, cfg->body != NULL);
    if (!w->tpls[i]) return FL_ENOMEM;
    w->tpls[i]->refs = 1;
    w->ntpls++;
  }
  w->next_url = (size_t)(w->index % n); /* threads start at different URLs */
  return 0;
}
