/* fl_response: the one reset, and the public read-only accessors. */
#include "http/response.h"

void fl__response_init(fl_response *r) {
  r->status = 0;
  r->http_minor = 0;
  r->version = 0;
  r->seen = 0;
  fl__headers_init(&r->headers);
  fl__headers_init(&r->trailers);
  fl__buf_init(&r->reason);
  fl__buf_init(&r->body);
}

void fl__response_reset(fl_response *r) {
  r->status = 0;
  r->http_minor = 0;
  r->version = 0;
  r->seen = 0;
  fl__headers_reset(&r->headers);
  fl__headers_reset(&r->trailers);
  fl__buf_reset(&r->reason);
  fl__buf_reset(&r->body);
}

void fl__response_dispose(fl_response *r) {
  fl__headers_dispose(&r->headers);
  fl__headers_dispose(&r->trailers);
  fl__buf_dispose(&r->reason);
  fl__buf_dispose(&r->body);
}

int fl_response_status(const fl_response *res) { return res ? res->status : 0; }
const char *fl_response_reason(const fl_response *res) {
  return res && res->reason.data ? res->reason.data : "";
}
int fl_response_http_minor(const fl_response *res) { return res ? res->http_minor : 0; }
int fl_response_version(const fl_response *res) { return res ? res->version : 0; }

const char *fl_response_header(const fl_response *res, const char *name) {
  if (!res || !name) return NULL;
  return fl__headers_get(&res->headers, name);
}

size_t fl_response_header_count(const fl_response *res) { return res ? res->headers.n : 0; }

int fl_response_header_at(const fl_response *res, size_t i, const char **name, const char **value) {
  if (!res || i >= res->headers.n) return FL_EINVAL;
  if (name) *name = fl__headers_name(&res->headers, i);
  if (value) *value = fl__headers_value(&res->headers, i);
  return 0;
}

const char *fl_response_body(const fl_response *res, size_t *len) {
  if (len) *len = res ? res->body.len : 0;
  if (!res) return NULL;
  return res->body.data ? res->body.data : "";
}

const char *fl_response_trailer(const fl_response *res, const char *name) {
  if (!res || !name) return NULL;
  return fl__headers_get(&res->trailers, name);
}

size_t fl_response_trailer_count(const fl_response *res) { return res ? res->trailers.n : 0; }

int fl_response_trailer_at(const fl_response *res, size_t i, const char **name,
                           const char **value) {
  if (!res || i >= res->trailers.n) return FL_EINVAL;
  if (name) *name = fl__headers_name(&res->trailers, i);
  if (value) *value = fl__headers_value(&res->trailers, i);
  return 0;
}
