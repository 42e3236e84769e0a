/* Request templates: what one connection slot sends per cycle (one request,
 * or several for a pipelined Lua string), independent of any fl_request, and
 * how a template gets onto one.
 *
 * A template comes from the command line (-X/--method, -H, --body, the URL
 * or each --urls line) or from a request string a Lua script returned,
 * parsed with llhttp in request mode. */
#ifndef FLB_TPL_H
#define FLB_TPL_H

#include <stddef.h>

#include "flurry.h"

typedef struct flb_hdr {
  char *name, *value; /* owned */
} flb_hdr;

typedef struct flb_msg {
  char *method;
  char *url; /* absolute: the origin's scheme://authority + the target */
  flb_hdr *headers;
  size_t nheaders;
  char *body;
  size_t body_len;
  int has_body; /* a body (maybe empty) is sent with a Content-Length */
} flb_msg;

typedef struct flb_tpl {
  flb_msg *msgs;
  size_t n;
  char *src; /* the string parsed (scripts), for recognising it again */
  size_t src_len;
  int refs;      /* worker.c: slots built from it, plus one while current */
  int one_block; /* flb_tpl_parse's: the template and its strings in one allocation */
} flb_tpl;

/* A template of one message. Strings are copied; body may be NULL (none). */
flb_tpl *flb_tpl_single(const char *method, const char *url, const flb_hdr *headers,
                        size_t nheaders, const char *body, size_t body_len, int has_body);

/* Parse the HTTP/1.1 request(s) in s[0..len) (llhttp, request mode). A target
 * in origin form ("/path?q") is appended to origin ("http://host:port"); an
 * absolute one is taken as it is. NULL with a message in err (for
 * malformed or incomplete input: "what at line:column"). */
flb_tpl *flb_tpl_parse(const char *s, size_t len, const char *origin, char *err, size_t errlen);

void flb_tpl_free(flb_tpl *t);

/* A new request that sends m (the library's User-Agent and Accept removed,
 * so that only m's headers go out, as wrk sends them). NULL with *err set. */
fl_request *flb_msg_request(const flb_msg *m, int *err);

/* Turn req, which was sending prev, into one that sends m: only what differs
 * is set. Returns 0, 1 when req cannot be changed that way (a body that
 * must go away: make a new request instead), or an fl_err. */
int flb_msg_apply(fl_request *req, const flb_msg *prev, const flb_msg *m);

#endif
