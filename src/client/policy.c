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

/* The caps' state: the receive cap's clock, counted from the first body
 * byte of the hop (t0_us 0: none yet); the send cap's, from the first byte
 * of the request body; and the timer that ends a pause of either. */
struct fl__speedcap {
  fl_request *req;
  fl_loop *loop; /* the timer is set up for it */
  uint64_t t0_us;
  uint64_t bytes; /* body bytes since t0 */
  fl__timer timer;
  /* the send cap: a paced body goes through ops->upload, a fixed one too
   * (send_fixed: from req->body at send_off) */
  int send_fixed, send_waiting; /* waiting: the timer lets the body go on */
  uint64_t send_t0_us, send_bytes, send_off;
};

static void speedcap_timer_cb(fl__timer *t) {
  struct fl__speedcap *s = fl__container_of(t, struct fl__speedcap, timer);
  fl_request *req = s->req;
  fl_client *c = req->client;
  if (!c) return;
  fl__guard_enter(&c->guard);
  /* One timer for both caps: each goes on, and pauses again if still ahead
   * (the carrier resumes a waiting upload in fl__conn_update_pause). */
  s->send_waiting = 0;
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
static struct fl__speedcap *cap_state(fl_request *req) {
  struct fl__speedcap *s = req->speedcap;
  if (!s) {
    if (!(s = calloc(1, sizeof *s))) return NULL;
    s->req = req;
    req->speedcap = s;
  }
  if (s->loop != req->client->loop) { /* first use, or another client's loop: stopped */
    s->loop = req->client->loop;
    fl__timer_init(s->loop, &s->timer, speedcap_timer_cb);
  }
  return s;
}

void fl__speedcap_account(fl_request *req, size_t n) {
  if (!req->recv_rate) return;
  struct fl__speedcap *s = cap_state(req);
  if (!s) return;
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
  req->rate_done = 0;
  if (!s) return;
  s->t0_us = s->bytes = 0;
  if (!req->rate_paused && !s->send_waiting) return;
  fl__timer_stop(&s->timer);
  req->rate_paused = 0;
  s->send_waiting = 0;
  req->ex.paused = req->paused;
}

void fl__speedcap_free(fl_request *req) {
  struct fl__speedcap *s = req->speedcap;
  if (!s) return;
  if (s->loop) fl__timer_stop(&s->timer);
  free(s);
  req->speedcap = NULL;
}

/* ------------------------------------------------------ send speed cap */

void fl_request_set_max_send_speed(fl_request *req, uint64_t bytes_per_second) {
  if (req && !in_flight(req)) req->send_rate = bytes_per_second;
}

void fl__sendcap_begin(fl_request *req) {
  fl__exchange *ex = &req->ex;
  struct fl__speedcap *s = cap_state(req);
  if (!s) return; /* no memory: uncapped (on_upload passes through) */
  s->send_t0_us = s->send_bytes = s->send_off = 0;
  s->send_waiting = 0;
  ex->upload_wait = 0; /* (the carrier's; set on no hot path, so reset here) */
  s->send_fixed = !ex->streams && ex->body_len > 0;
  if (s->send_fixed) { /* the carrier asks for it piece by piece, as a streamed one */
    ex->streams = 1;
    ex->upload_len = (int64_t)ex->body_len;
    ex->body = NULL;
    ex->body_len = 0;
  }
}

/* A token bucket: one piece (a tenth of a second's worth, 1 byte to 16
 * KiB) may go at once, then the bytes sent stay within rate * elapsed of
 * that. Ahead, nothing goes until the timer says the next piece is due:
 * no busy loop, and TCP carries the pace to the server. */
long fl__sendcap_upload(fl_request *req, char *buf, size_t cap) {
  struct fl__speedcap *s = req->speedcap;
  if (!s) return req->upload_cb(req, buf, cap, req->upload_data); /* uncapped */
  uint64_t now = fl__now_us();
  if (!s->send_t0_us) s->send_t0_us = now;
  double rate = (double)req->send_rate;
  double piece = rate / 10 < 1 ? 1 : rate / 10 > 16384 ? 16384 : rate / 10;
  double avail = (double)(now - s->send_t0_us) * rate / 1e6 + piece - (double)s->send_bytes;
  double need = (double)cap < piece ? (double)cap : piece;
  if (avail < need) {
    uint64_t ms = (uint64_t)((need - avail) * 1000.0 / rate) + 1;
    if (!fl__timer_start(&s->timer, ms)) { /* no memory: it goes uncapped */
      s->send_waiting = 1;
      return FL__EX_UPLOAD_LATER;
    }
  } else if (avail < (double)cap) {
    cap = (size_t)avail;
  }
  long n;
  if (s->send_fixed) {
    size_t left = req->body.len - (size_t)s->send_off;
    n = (long)(cap < left ? cap : left);
    memcpy(buf, req->body.data + s->send_off, (size_t)n);
    s->send_off += (uint64_t)n;
  } else {
    n = req->upload_cb(req, buf, cap, req->upload_data);
  }
  if (n > 0) s->send_bytes += (uint64_t)n;
  return n;
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
