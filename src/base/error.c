/* Error table and version strings. */
#include <ares.h>
#include <brotli/decode.h>
#include <pthread.h>
#include <llhttp.h>
#include <nghttp2/nghttp2.h>
#include <openssl/opensslv.h>
#include <stdio.h>
#include <zlib.h>

#include "flurry.h"

const char *fl_version(void) { return FL_VERSION_STRING; }

static char details[256];
static pthread_once_t details_once = PTHREAD_ONCE_INIT;

static void format_details(void) {
  snprintf(details, sizeof details,
           "flurry/%s %s c-ares/%s llhttp/%d.%d.%d nghttp2/%s zlib/%s brotli/%u.%u.%u",
           FL_VERSION_STRING, OPENSSL_VERSION_TEXT, ares_version(NULL), LLHTTP_VERSION_MAJOR,
           LLHTTP_VERSION_MINOR, LLHTTP_VERSION_PATCH, nghttp2_version(0)->version_str,
           zlibVersion(), BrotliDecoderVersion() >> 24, (BrotliDecoderVersion() >> 12) & 0xfff,
           BrotliDecoderVersion() & 0xfff);
}

/* Thread-safe: filled once. */
const char *fl_version_details(void) {
  pthread_once(&details_once, format_details);
  return details;
}

const char *fl_strerror(int err) {
  switch (err) {
  case FL_OK: return "no error";
#define FL__ERR_MSG(name, val, curl, msg)                                                          \
  case FL_E##name: return msg;
    FL_ERRNO_MAP(FL__ERR_MSG)
#undef FL__ERR_MSG
  }
  return "unknown error";
}

const char *fl_err_name(int err) {
  switch (err) {
  case FL_OK: return "FL_OK";
#define FL__ERR_NAME(name, val, curl, msg)                                                         \
  case FL_E##name: return "FL_E" #name;
    FL_ERRNO_MAP(FL__ERR_NAME)
#undef FL__ERR_NAME
  }
  return "FL_EUNKNOWN";
}

int fl_err_curl_code(int err) {
  switch (err) {
  case FL_OK: return 0;
#define FL__ERR_CURL(name, val, curl, msg)                                                         \
  case FL_E##name: return curl;
    FL_ERRNO_MAP(FL__ERR_CURL)
#undef FL__ERR_CURL
  }
  return 1;
}
