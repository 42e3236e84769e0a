/* A parsed response: status line, headers, and (when buffered) the body.
 * Owned by whoever asked for it (a request embeds one); the HTTP/1.1 codec
 * fills the head, the owner the body. */
#ifndef FL_RESPONSE_H
#define FL_RESPONSE_H

#include "base/buf.h"
#include "base/headers.h"

/* Response headers the client acts on, noted once while parsing so the hot
 * path skips lookups for headers that are absent. */
/* Headers a layer above reads; OTHER_KNOWN: Location, Retry-After,
 * WWW-/Proxy-Authenticate (kept when only known headers are). */
enum {
  FL__H_KEEP_ALIVE = 1,
  FL__H_CONTENT_ENCODING = 2,
  FL__H_SET_COOKIE = 4,
  FL__H_OTHER_KNOWN = 8
};

struct fl_response {
  int status; /* 0 until a final head arrived */
  int http_minor;
  int version;   /* 10, 11 or 20; 0 until a head arrived */
  unsigned seen; /* FL__H_* present */
  fl__headers headers;
  fl__headers trailers; /* of a chunked body, kept apart (RFC 9110 6.5) */
  fl__buf reason;
  fl__buf body;
};

void fl__response_init(fl_response *r);
/* Forget everything (a new attempt or hop); memory is kept for reuse. */
void fl__response_reset(fl_response *r);
void fl__response_dispose(fl_response *r);

#endif
