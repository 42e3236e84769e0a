/* The parts of one flurry-bench thread (worker.c: the loop, the requests
 * and their accounting; slots.c: what each slot sends, from the command
 * line's templates, --urls or a script). Private to those two files. */
#ifndef FLB_WORKER_H
#define FLB_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "flb.h"
#include "flurry.h"
#include "script.h"

typedef struct slot slot;
typedef struct flb_wsconn flb_wsconn;

/* A request object and the template message it is set up to send. */
typedef struct preq {
  fl_request *req;
  flb_tpl *tpl; /* holds msg (a reference) */
  const flb_msg *msg;
  size_t url;        /* --urls: the URL (template) it belongs to */
  int64_t first_len; /* body length of its first response without a
                           Content-Length; -1 */
  int head;          /* HEAD: no body expected */
  struct preq *next_free;
} preq;

/* One request of a slot's cycle. */
typedef struct item {
  slot *s;
  preq *p;
  uint64_t body_len; /* body bytes of the response under way */
  char *body;        /* response(): the body, when the script has one */
  size_t body_cap;
  uint64_t sent_ms; /* loop time of the send, for --timeout */
  int busy;         /* in flight */
  int timed_out;    /* cancelled by the --timeout sweep */
} item;

struct slot {
  flb_worker *w;
  fl_client *client; /* its requests' client (HTTP/2: slot i's is clients[i mod -c]) */
  item *items;
  size_t nitems; /* requests in the current cycle */
  size_t cap;
  size_t pending;     /* of those, not finished yet */
  double intended_us; /* -R: when this cycle was due */
  fl_timer *delay;    /* script delay(): created at first use */
  slot *next_idle;
};

struct flb_worker {
  const flb_config *cfg;
  uint64_t index;
  flb_result *res;
  flb_script *script; /* this thread's Lua state, or NULL */
  fl_loop *loop;
  fl_client *client; /* clients[0] */
  /* HTTP/2: one client per connection (-c), as h2load's connections are
   * independent; the library keeps one h2 connection per origin (RFC 9113
   * 9.1). HTTP/1.1: one client, its pool holds the -c connections. */
  fl_client **clients;
  size_t nclients;
  fl_timer *tick;  /* TICK_MS: rate samples, stop flag, timeouts */
  fl_timer *phase; /* end of the warmup, then end of the run */
  uint64_t phase_due_us;
  fl_timer *pace; /* -R: the next due cycle */
  slot *slots;
  uint64_t nslots;
  uint64_t nconns;
  uint64_t quota;    /* -n share of this thread; 0 = no limit */
  uint64_t budget;   /* sends left while measuring (with a quota) */
  uint64_t finished; /* measured responses and failures (for the quota) */
  uint64_t inflight;
  uint64_t tick_count, tick_start_us;
  uint64_t sweep_floor_ms; /* --timeout: no request in flight was sent before it (tick_cb) */
  /* responses by fl_info.http_version (10, 11, 20), one add each; summed
   * into res->by_version when the thread ends */
#define FLB_HTTP_VERSIONS 21
  uint64_t by_http[FLB_HTTP_VERSIONS];
  int measuring, stopping;
  uint64_t cpu_start_us; /* the thread's CPU time when measuring began */
  /* templates */
  flb_tpl **tpls; /* the command line's (one per URL) or the static script's */
  size_t ntpls;
  preq **free_reqs; /* --urls: per template, requests set up for it */
  size_t next_url;
  flb_tpl *cur;     /* dynamic script: the last template parsed */
  flb_tpl *first;   /* dynamic script: request()'s first answer, for slot 0 */
  char origin[320]; /* scheme://authority the script's targets go to */
  char *resolve[2]; /* client option: thread.addr for the URL's host */
  int dynamic, want_body, has_delay;
  /* -R */
  double rate, interval_us, next_us;
  slot *idle;
  /* --ws-message (wsbench.c): one WebSocket per connection */
  flb_wsconn *wsconns;
  size_t nws;
  size_t ws_live;       /* connecting or open */
  size_t ws_connecting; /* upgrades not finished yet */
  int ws_sending;       /* all finished: messages go out */
  int ws_closing;       /* the end: closes are ours */
  char *ws_payload;
  struct flb_hook_ring *ring; /* --hooks */
};

/* worker.c: end the thread's run (measured window closed, loop stopped);
 * the same with a fatal error (the first one is kept); with the script's
 * last error. */
void flb_worker_stop(flb_worker *w);
void flb_worker_fatal(flb_worker *w, int err, const char *msg);
void flb_worker_script_failed(flb_worker *w);
/* The warmup (--warmup) or the measured window starts now. */
void flb_worker_begin(flb_worker *w);
/* Count an error of kind (FLB_ERR_*); the first one's message is kept. */
void flb_worker_note_error(flb_worker *w, int kind, int err, const char *msg);

/* wsbench.c: the WebSocket mode. Setup (the fl_ws objects and their
 * upgrade requests), start (the connects; messages follow each open),
 * the -T sweep from the tick, and the end (closes, bounded wait, frees).
 * Setup returns 0 or an fl_err. */
int flb_ws_setup(flb_worker *w);
void flb_ws_start(flb_worker *w); /* fatal errors end the run */
void flb_ws_sweep(flb_worker *w, uint64_t now_ms, uint64_t limit_ms);
void flb_ws_teardown(flb_worker *w);

/* slots.c */
void flb_tpl_unref(flb_tpl *t);
/* Make p send message m of template t (a new request when the old one
 * cannot be changed into it). 0 or an fl_err. */
int flb_preq_set(preq *p, flb_tpl *t, const flb_msg *m);
void flb_preq_free(preq *p);
/* Room for n items in s (new items get a request object of their own). */
int flb_slot_reserve(slot *s, size_t n);
/* Set slot s up for the cycle of template t. 0 or an fl_err. */
int flb_slot_take(slot *s, flb_tpl *t);
/* --urls: give s's request back to its URL and take one of the next URL. */
int flb_slot_next_url(flb_worker *w, slot *s);
/* Dynamic script: request() for s's next cycle. 0 or -1 (fatal said). */
int flb_slot_from_script(flb_worker *w, slot *s);
/* The thread's templates: the command line's (one per URL), or the script's
 * (its origin and thread.addr first). 0 or an fl_err (res->fatal_msg set). */
int flb_worker_templates(flb_worker *w);

#endif
