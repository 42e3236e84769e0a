/* OpenTelemetry-shaped spans from flurry's event hooks: fetch each URL
 * given (concurrently, on one client) and print one JSON line per span, in
 * OTLP's JSON field names: one client span per request (named after its
 * method, as OpenTelemetry's HTTP conventions name client spans) and child
 * spans for the pool wait, DNS, connect and TLS steps of each attempt. A
 * W3C traceparent naming the request's span goes out with every attempt
 * (retries and redirect hops too), from the pre-send hook.
 *
 *   otel_spans URL...
 *
 * Exit status: 0 when every request got a response, 1 otherwise. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flurry.h"

/* One request's trace: its span and the child spans open now. */
typedef struct trace {
  fl_request *req;
  char trace_id[33], span_id[17];
  uint64_t start_ns;
  uint64_t open_ns[4]; /* wait, dns, connect, tls: start time, 0 = not open */
  char child_attrs[4][512];
  int err, status, http_version;
  char peer[64];
  char host[256];
  int done;
} trace;

enum { WAIT, DNS, CONNECT, TLS };
static const char *const child_names[] = {"wait", "dns", "connect", "tls"};

static trace *traces;
static int ntraces, remaining, failures;
static uint64_t mono_to_unix; /* add to a CLOCK_MONOTONIC time for UNIX time */
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t clock_ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void random_hex(char *out, size_t bytes) {
  for (size_t i = 0; i < bytes; i++) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17; /* xorshift: ids, not secrets */
    snprintf(out + 2 * i, 3, "%02x", (unsigned)(rng >> 24) & 0xff);
  }
}

static trace *trace_of(const fl_request *req) {
  for (int i = 0; req && i < ntraces; i++)
    if (traces[i].req == req) return &traces[i];
  return NULL;
}

/* JSON string contents of s (quotes and controls escaped) into out. */
static const char *json_esc(const char *s, char *out, size_t cap) {
  size_t o = 0;
  for (; s && *s && o + 7 < cap; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      o += (size_t)snprintf(out + o, cap - o, "\\%c", ch);
    else if (ch < 0x20)
      o += (size_t)snprintf(out + o, cap - o, "\\u%04x", ch);
    else
      out[o++] = (char)ch;
  }
  out[o] = '\0';
  return out;
}

/* Attributes as OTLP JSON: [{"key":K,"value":{"stringValue":V}}, ...]. */
static void attr_str(char *buf, size_t cap, const char *key, const char *v) {
  char esc[1024];
  size_t n = strlen(buf);
  snprintf(buf + n, cap - n, "%s{\"key\":\"%s\",\"value\":{\"stringValue\":\"%s\"}}", n ? "," : "",
           key, json_esc(v, esc, sizeof esc));
}
static void attr_int(char *buf, size_t cap, const char *key, long long v) {
  size_t n = strlen(buf);
  snprintf(buf + n, cap - n, "%s{\"key\":\"%s\",\"value\":{\"intValue\":\"%lld\"}}", n ? "," : "",
           key, v);
}
static void attr_bool(char *buf, size_t cap, const char *key, int v) {
  size_t n = strlen(buf);
  snprintf(buf + n, cap - n, "%s{\"key\":\"%s\",\"value\":{\"boolValue\":%s}}", n ? "," : "", key,
           v ? "true" : "false");
}

static void print_span(const trace *t, const char *span_id, const char *parent, const char *name,
                       int kind, uint64_t start, uint64_t end, const char *attrs, int err) {
  char esc[256];
  printf("{\"traceId\":\"%s\",\"spanId\":\"%s\",\"parentSpanId\":\"%s\",\"name\":\"%s\","
         "\"kind\":%d,\"startTimeUnixNano\":\"%" PRIu64 "\",\"endTimeUnixNano\":\"%" PRIu64 "\","
         "\"attributes\":[%s],\"status\":{\"code\":%d%s%s%s}}\n",
         t->trace_id, span_id, parent, name, kind, start + mono_to_unix, end + mono_to_unix, attrs,
         err ? 2 : 0, err ? ",\"message\":\"" : "",
         err ? json_esc(fl_strerror(err), esc, sizeof esc) : "", err ? "\"" : "");
}

static void child_open(trace *t, int which, uint64_t now) {
  t->open_ns[which] = now;
  t->child_attrs[which][0] = '\0';
}

static void child_close(trace *t, int which, uint64_t now, int err) {
  if (!t->open_ns[which]) return; /* hooks set mid-way: no start seen */
  char id[17];
  random_hex(id, 8);
  print_span(t, id, t->span_id, child_names[which], 1 /* INTERNAL */, t->open_ns[which], now,
             t->child_attrs[which], err);
  t->open_ns[which] = 0;
}

static void on_event(const fl_event *ev, void *data) {
  (void)data;
  trace *t = trace_of(ev->req);
  if (!t) return; /* a connection whose request went elsewhere */
  uint64_t now = ev->time_ns;
  switch (ev->kind) {
  case FL_EV_REQUEST_START: t->start_ns = now; break;
  case FL_EV_POOL_WAIT_START: child_open(t, WAIT, now); break;
  case FL_EV_POOL_WAIT_END: child_close(t, WAIT, now, ev->err); break;
  case FL_EV_DNS_START:
    child_open(t, DNS, now);
    attr_str(t->child_attrs[DNS], sizeof t->child_attrs[DNS], "server.address", ev->host);
    break;
  case FL_EV_DNS_END:
    attr_bool(t->child_attrs[DNS], sizeof t->child_attrs[DNS], "flurry.dns.cache_hit",
              ev->cache_hit);
    child_close(t, DNS, now, ev->err);
    break;
  case FL_EV_CONNECT_START: child_open(t, CONNECT, now); break;
  case FL_EV_CONNECT_END:
    if (!ev->err) {
      attr_str(t->child_attrs[CONNECT], sizeof t->child_attrs[CONNECT], "network.peer.address",
               ev->address);
      attr_int(t->child_attrs[CONNECT], sizeof t->child_attrs[CONNECT], "network.peer.port",
               ev->port);
    }
    attr_int(t->child_attrs[CONNECT], sizeof t->child_attrs[CONNECT], "flurry.connection.id",
             (long long)ev->conn_id);
    child_close(t, CONNECT, now, ev->err);
    break;
  case FL_EV_TLS_START: child_open(t, TLS, now); break;
  case FL_EV_TLS_END:
    attr_bool(t->child_attrs[TLS], sizeof t->child_attrs[TLS], "tls.resumed", ev->resumed);
    child_close(t, TLS, now, ev->err);
    break;
  case FL_EV_CONN_REUSED:
  case FL_EV_HEAD_SENT:
  case FL_EV_FIRST_BYTE:
  case FL_EV_RESPONSE_END:
  case FL_EV_UPGRADED:
    if (ev->address[0]) snprintf(t->peer, sizeof t->peer, "%s", ev->address);
    if (ev->http_version) t->http_version = ev->http_version;
    break;
  case FL_EV_REDIRECT:
  case FL_EV_RETRY: break; /* the next attempt's spans follow */
  case FL_EV_REQUEST_END: {
    for (int i = 0; i < 4; i++) child_close(t, i, now, ev->err ? ev->err : FL_ECANCELED);
    char attrs[2048] = "", esc[64];
    attr_str(attrs, sizeof attrs, "http.request.method", fl_request_method(ev->req));
    attr_str(attrs, sizeof attrs, "url.full", fl_request_url(ev->req));
    attr_str(attrs, sizeof attrs, "server.address", t->host);
    if (!ev->err) attr_int(attrs, sizeof attrs, "http.response.status_code", ev->status);
    if (t->http_version)
      attr_str(attrs, sizeof attrs, "network.protocol.version",
               t->http_version == 20   ? "2"
               : t->http_version == 10 ? "1.0"
                                       : "1.1");
    if (t->peer[0]) attr_str(attrs, sizeof attrs, "network.peer.address", t->peer);
    const fl_info *in = fl_request_info(ev->req);
    if (in->redirects + in->attempts - 1 + in->retries > 0)
      attr_int(attrs, sizeof attrs, "http.request.resend_count",
               in->redirects + in->attempts - 1 + in->retries);
    if (ev->err)
      attr_str(attrs, sizeof attrs, "error.type", json_esc(fl_err_name(ev->err), esc, sizeof esc));
    print_span(t, t->span_id, "", fl_request_method(ev->req), 3 /* CLIENT */, t->start_ns, now,
               attrs, ev->err);
    break;
  }
  }
}

/* traceparent: version 00, this trace, the request's span as parent of what
 * the server does, sampled. */
static int pre_send(fl_request *req, fl_hook_headers *h, void *data) {
  (void)data;
  trace *t = trace_of(req);
  if (!t) return 0;
  char v[64];
  snprintf(v, sizeof v, "00-%s-%s-01", t->trace_id, t->span_id);
  return fl_hook_headers_add(h, "traceparent", v);
}

static void on_done(fl_request *req, int err, void *data) {
  trace *t = data;
  (void)req;
  t->done = 1;
  if (err) {
    fprintf(stderr, "%s: %s (%s)\n", fl_request_url(req), fl_strerror(err), fl_request_errmsg(req));
    failures++;
  }
  remaining--;
}

/* The URL's host, for server.address (the one it was sent to first). */
static void host_of(const char *url, char *out, size_t cap) {
  const char *p = strstr(url, "://");
  p = p ? p + 3 : url;
  const char *at = strpbrk(p, "@/?#");
  if (at && *at == '@') p = at + 1;
  size_t n = *p == '[' ? strcspn(p, "]") + 1 : strcspn(p, ":/?#");
  snprintf(out, cap, "%.*s", (int)n, p);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s URL...\n", argv[0]);
    return 2;
  }
  mono_to_unix = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
  rng ^= clock_ns(CLOCK_REALTIME);
  fl_loop *loop = fl_loop_new();
  fl_client_options o;
  fl_client_options_init(&o);
  o.retry.max_retries = 1; /* a 503 or a lost connection is tried once more */
  o.retry.backoff_base_ms = 10;
  fl_client *client = loop ? fl_client_new(loop, &o) : NULL;
  ntraces = argc - 1;
  traces = calloc((size_t)ntraces, sizeof *traces);
  if (!client || !traces) return 1;
  fl_hooks hooks = {.on_event = on_event, .pre_send = pre_send};
  fl_client_set_hooks(client, &hooks);
  for (int i = 0; i < ntraces; i++) {
    trace *t = &traces[i];
    random_hex(t->trace_id, 16);
    random_hex(t->span_id, 8);
    host_of(argv[i + 1], t->host, sizeof t->host);
    t->req = fl_request_new("GET", argv[i + 1]);
    if (!t->req) return 1;
    int err = fl_request_send(client, t->req, on_done, t);
    if (err) {
      fprintf(stderr, "%s: %s\n", argv[i + 1], fl_strerror(err));
      failures++;
      continue;
    }
    remaining++;
  }
  while (remaining > 0) fl_loop_run(loop, FL_RUN_ONCE);
  for (int i = 0; i < ntraces; i++) fl_request_free(traces[i].req);
  free(traces);
  fl_client_free(client);
  fl_loop_free(loop);
  return failures ? 1 : 0;
}
