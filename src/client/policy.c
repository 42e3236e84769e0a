/* Per-transfer policies that curl's command line has: a receive speed cap
 * (--limit-rate), a time condition (-z), what a redirect keeps (--post30x,
 * --location-trusted) and where it may lead (--proto-redir), and
 * authentication with whatever scheme the server asks for (--anyauth, whose
 * flow is auth.c's). The setters are here; the request path calls the
 * fl__ hooks below. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/request.h"
#include "engine/conn.h"
#include "http/cookies.h"

static int in_flight(const fl_request *req) { return req->state != FL__REQ_IDLE; }

/* ------------------------------------------------------------ speed cap */

void fl_request_set_max_recv_speed(fl_request *req, uint64_t bytes_per_second) {
  if (req && !in_flight(req)) req->recv_rate = bytes_per_second;
}

static void apply_pause(fl_request *req) {
  req->ex.paused = req->paused || req->rate_paused;
  if (req->ex.carrier) fl__conn_update_pause(req->ex.carrier, &req->ex);
}

/* The cap's state: its clock, counted from the first body byte of the hop
 * (t0_us 0: none yet), and the timer that ends a pause. */
struct fl__speedcap {
  fl_request *req;
  fl_loop *loop; /* the timer is set up for it */
  uint64_t t0_us;
  uint64_t bytes; /* body bytes since t0 */
  fl__timer timer;
};

static void speedcap_timer_cb(fl__timer *t) {
  fl_request *req = fl__container_of(t, struct fl__speedcap, timer)->req;
  fl_client *c = req->client;
  if (!c) return;
  fl__guard_enter(&c->guard);
  req->rate_paused = 0;
  if (req->rate_done) { /* the whole body came early: it completes now */
    req->rate_done = 0;
    req->ex.paused = req->paused;
    fl__request_exchange_done(req);
  } else {
    apply_pause(req);
  }
  fl__guard_leave(&c->guard);
}

/* The bytes so far are due at t0 + bytes / rate; while they are early by
 * a millisecond or more, the socket is left unread until then. The next
 * read then brings what the server sent meanwhile, so the average holds
 * to the rate over the body; a body that ends early completes when its
 * last bytes were due (receive.c holds the completion for the timer).
 * The state is allocated by the first body byte; without memory for it
 * (or for the timer) the transfer runs uncapped, as it would have. */
void fl__speedcap_account(fl_request *req, size_t n) {
  if (!req->recv_rate) return;
  struct fl__speedcap *s = req->speedcap;
  if (!s) {
    if (!(s = calloc(1, sizeof *s))) return;
    s->req = req;
    req->speedcap = s;
  }
  if (s->loop != req->client->loop) { /* first use, or another client's loop: stopped */
    s->loop = req->client->loop;
    fl__timer_init(s->loop, &s->timer, speedcap_timer_cb);
  }
  uint64_t now = fl__now_us();
  if (!s->t0_us) s->t0_us = now;
  s->bytes += n;
  double due_us = (double)s->bytes * 1e6 / (double)req->recv_rate;
  double early_us = due_us - (double)(now - s->t0_us);
  if (early_us < 1000 || req->rate_paused) return;
  uint64_t ms = (uint64_t)(early_us / 1000.0);
  if (fl__timer_start(&s->timer, ms)) return; /* no memory: run uncapped */
  req->rate_paused = 1;
  apply_pause(req);
}

void fl__speedcap_stop(fl_request *req) {
  struct fl__speedcap *s = req->speedcap;
  if (s) s->t0_us = s->bytes = 0;
  req->rate_done = 0;
  if (!req->rate_paused) return;
  fl__timer_stop(&s->timer); /* paused: s exists */
  req->rate_paused = 0;
  req->ex.paused = req->paused;
}

void fl__speedcap_free(fl_request *req) {
  struct fl__speedcap *s = req->speedcap;
  if (!s) return;
  if (s->loop) fl__timer_stop(&s->timer);
  free(s);
  req->speedcap = NULL;
}

/* ------------------------------------------------------- time condition */

int fl_request_set_time_condition(fl_request *req, fl_timecond cond, int64_t unix_time) {
  if (!req || in_flight(req) || cond < FL_TIMECOND_NONE || cond > FL_TIMECOND_IFUNMODSINCE)
    return FL_EINVAL;
  fl_request_remove_header(req, "If-Modified-Since");
  fl_request_remove_header(req, "If-Unmodified-Since");
  req->timecond = cond;
  req->timecond_time = unix_time;
  if (cond == FL_TIMECOND_NONE) return 0;
  /* RFC 9110 5.6.7: IMF-fixdate, always GMT */
  static const char days[][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char months[][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t t = (time_t)unix_time;
  struct tm tm;
  if (!gmtime_r(&t, &tm)) return FL_EINVAL;
  char date[64];
  snprintf(date, sizeof date, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
           months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return fl_request_set_header(
      req, cond == FL_TIMECOND_IFMODSINCE ? "If-Modified-Since" : "If-Unmodified-Since", date);
}

/* As curl: a document without a (readable) Last-Modified meets it. */
int fl__timecond_unmet(const fl_request *req) {
  if (!req->timecond) return 0;
  if (req->res.status == 304) return 1;
  const char *lm = fl__headers_get(&req->res.headers, "Last-Modified");
  int64_t doc;
  if (!lm || fl__cookie_parse_date(lm, strlen(lm), &doc) != 0) return 0;
  if (req->timecond == FL_TIMECOND_IFMODSINCE) return doc <= req->timecond_time;
  return doc >= req->timecond_time; /* curl's test, at one-second resolution */
}

/* ----------------------------------------------------------- redirects */

void fl_request_set_post_redirects(fl_request *req, unsigned mask) {
  if (req && !in_flight(req)) req->post_redirs = mask;
}

void fl_request_set_trusted_redirects(fl_request *req, int trusted) {
  if (req && !in_flight(req)) req->trusted_redirects = trusted != 0;
}

void fl_request_set_redirect_protocols(fl_request *req, unsigned mask) {
  if (req && !in_flight(req)) req->redir_protocols = mask;
}

int fl__redirect_scheme_allowed(const fl_request *req, const char *scheme) {
  if (!req->redir_protocols) return 1;
  unsigned bit = strcmp(scheme, "https") == 0  ? FL_PROTO_HTTPS
                 : strcmp(scheme, "http") == 0 ? FL_PROTO_HTTP
                                               : 0;
  return (req->redir_protocols & bit) != 0;
}

/* ------------------------------------------------------------- anyauth */

int fl_request_set_any_auth(fl_request *req, const char *user, const char *password) {
  /* Digest first: nothing goes up front, and a challenge decides (auth.c) */
  int err = fl_request_set_digest_auth(req, user, password);
  if (!err) req->auth_any = 1;
  return err;
}
