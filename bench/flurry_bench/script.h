/* wrk's Lua scripting (LuaJIT), as wrk documents it: the `wrk` table
 * (scheme, host, port, method, path, headers, body, thread), wrk.format,
 * wrk.lookup, wrk.connect, and the optional globals setup(thread),
 * init(args), delay(), request(), response(status, headers, body) and
 * done(summary, latency, requests).
 *
 * As in wrk, every thread has a Lua state of its own (init, request,
 * response, delay run there, on that thread only), and one more state runs
 * setup() for each thread before any starts and done() after all ended.
 *
 * Order (main.c, then worker.c):
 *   main = flb_script_new(cfg)            the script loaded in the main state
 *   flb_script_resolve(main)              wrk.resolve: lookup, connect check
 *   for each thread i:
 *     ts[i] = flb_script_new(cfg)
 *     flb_script_thread_init(main, ts[i]) setup(thread) in main, init(args) in ts[i]
 *   ... the run: flb_script_request / _response / _delay on ts[i] ...
 *   flb_script_done(main, ...)            done(summary, latency, requests)
 *
 * Built without LuaJIT (FLB_HAVE_LUA undefined), flb_script_new says so and
 * returns NULL. */
#ifndef FLB_SCRIPT_H
#define FLB_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "flb.h"
#include "flurry.h"

/* A Lua state with wrk's API and cfg->script run in it: wrk.scheme, host,
 * port, path from cfg->url, the -H headers in wrk.headers, --method/--body
 * (when given) in wrk.method/wrk.body. NULL after printing why to stderr. */
flb_script *flb_script_new(const flb_config *cfg);
void flb_script_free(flb_script *s);

/* wrk.resolve(host, service) in the main state: the addresses of the URL's
 * host that accept a connection, in wrk.addrs. 0, or -1 (said on stderr)
 * when none does. */
int flb_script_resolve(flb_script *main_state);

/* setup(thread) in the main state for the thread whose state is ts (it may
 * set thread.addr and thread:set globals), then wrk.init(args) in ts.
 * 0 or -1 (said on stderr). */
int flb_script_thread_init(flb_script *main_state, flb_script *ts, const flb_config *cfg);

/* What the script defines, after init. */
int flb_script_has_request(const flb_script *ts);  /* a global request(): called per cycle */
int flb_script_has_response(const flb_script *ts); /* a global response() */
int flb_script_has_delay(const flb_script *ts);
int flb_script_has_done(const flb_script *main_state);

/* The thread's address (thread.addr): numeric host into ip (no brackets) and
 * the port. 0, or -1 when it has none. */
int flb_script_addr(const flb_script *ts, char *ip, size_t iplen, uint16_t *port);

/* request() (or wrk.request() when there is no global one): the string it
 * returned, valid until the next call into ts; NULL on an error (see
 * flb_script_error). */
const char *flb_script_request(flb_script *ts, size_t *len);
/* response(status, headers, body). 0 or -1. */
int flb_script_response(flb_script *ts, const fl_response *res, const char *body, size_t len);
/* delay(): milliseconds. 0 or -1. */
int flb_script_delay(flb_script *ts, uint64_t *ms);
/* wrk.thread:stop() was called (from any state). */
int flb_script_stopped(const flb_script *ts);
/* The last error of a call into ts ("request(): message"). */
const char *flb_script_error(const flb_script *ts);

/* done(summary, latency, requests) in the main state with the merged
 * result. 0 or -1 (said on stderr). */
int flb_script_done(flb_script *main_state, const flb_result *r, uint64_t runtime_us);

#endif
