/* Retry policy: which outcomes are worth another attempt, and how long to
 * wait before it (exponential back-off with jitter, or the server's
 * Retry-After within a cap). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/request.h"
#include "http/cookies.h"
#include "http/method.h"

void fl_retry_policy_init(fl_retry_policy *p) {
  memset(p, 0, sizeof *p);
  p->on_errors = 1;
  p->statuses[0] = 429, p->statuses[1] = 502, p->statuses[2] = 503, p->statuses[3] = 504;
  p->backoff_base_ms = 100;
  p->backoff_max_ms = 10000;
  p->jitter = 1;
  p->retry_after_max_ms = 60000;
}

void fl_request_set_retry(fl_request *req, const fl_retry_policy *policy) {
  if (!req) return;
  req->has_retry = policy != NULL;
  req->settled_client = 0; /* retry_on again at the next send */
  if (policy) req->retry = *policy;
}

static const fl_retry_policy *policy_of(const fl_request *req) {
  return req->has_retry ? &req->retry : &req->client->opts.retry;
}

static int transient(int err) {
  switch (err) {
  case FL_ECONNECT:
  case FL_ECONN_REFUSED:
  case FL_EHOST_UNREACH:
  case FL_ECONNECT_TIMEOUT:
  case FL_EDNS_SERVER_FAIL:
  case FL_EDNS_TIMEOUT:
  case FL_ECONN_RESET:
  case FL_EEMPTY_REPLY:
  case FL_ESEND:
  case FL_ERECV:
  case FL_EFIRST_BYTE_TIMEOUT:
  case FL_EREAD_TIMEOUT: return 1;
  default: return 0;
  }
}

static int method_allowed(const fl_request *req, const fl_retry_policy *p) {
  return p->all_methods || fl__method_idempotent(req->hop_method);
}

/* Retry-After: delay-seconds or an HTTP-date. -1 when absent or unusable. */
static int64_t retry_after_ms(const fl_request *req) {
  const char *v = fl__headers_get(&req->res.headers, "Retry-After");
  if (!v) return -1;
  while (*v == ' ') v++;
  if (*v >= '0' && *v <= '9') {
    char *end;
    long long s = strtoll(v, &end, 10);
    return (*end == '\0' || *end == ' ') && s >= 0 && s < 86400 * 365 ? s * 1000 : -1;
  }
  int64_t when;
  if (fl__cookie_parse_date(v, strlen(v), &when) != 0) return -1;
  int64_t d = (when - (int64_t)time(NULL)) * 1000;
  return d < 0 ? 0 : d;
}

static uint64_t next_random(fl_client *c) {
  /* xorshift64*: jitter needs spread, not secrecy */
  uint64_t x = c->rng ? c->rng : (fl__now_us() | 1) * 0x9E3779B97F4A7C15ull;
  x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
  c->rng = x;
  return x * 0x2545F4914F6CDD1Dull;
}

int64_t fl__retry_delay_ms(fl_request *req, int err) {
  const fl_retry_policy *p = policy_of(req);
  if (p->max_retries == 0 || (uint32_t)req->info.attempts > p->max_retries) return -1;
  if (!method_allowed(req, p)) return -1;
  if (req->upload_cb && !req->upload_rewind) return -1; /* the body cannot be sent again */
  int64_t server_ms = -1;
  if (err) {
    if (!p->on_errors || !transient(err)) return -1;
  } else {
    int hit = 0;
    for (size_t i = 0; i < FL__ARRAY_SIZE(p->statuses) && p->statuses[i]; i++)
      if (p->statuses[i] == req->res.status) hit = 1;
    if (!hit) return -1;
    if (p->retry_after_max_ms) {
      server_ms = retry_after_ms(req);
      if (server_ms > (int64_t)p->retry_after_max_ms) return -1; /* asked to wait too long */
    }
  }
  int shift = req->info.attempts - 1 < 20 ? req->info.attempts - 1 : 20;
  uint64_t delay = (uint64_t)p->backoff_base_ms << shift;
  if (delay > p->backoff_max_ms) delay = p->backoff_max_ms;
  if (p->jitter && delay > 1) delay = delay / 2 + next_random(req->client) % (delay / 2 + 1);
  if (server_ms >= 0 && (uint64_t)server_ms > delay) delay = (uint64_t)server_ms;
  return (int64_t)delay;
}
