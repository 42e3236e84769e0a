/* Base64 (RFC 4648). */
#include "base/base64.h"

int fl__base64_encode(const char *in, size_t len, fl__buf *out) {
  static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (fl__buf_reserve(out, (len + 2) / 3 * 4)) return FL_ENOMEM;
  const unsigned char *p = (const unsigned char *)in;
  char *o = out->data + out->len;
  size_t i = 0;
  for (; i + 2 < len; i += 3) {
    *o++ = abc[p[i] >> 2];
    *o++ = abc[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
    *o++ = abc[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
    *o++ = abc[p[i + 2] & 63];
  }
  if (i < len) {
    *o++ = abc[p[i] >> 2];
    if (i + 1 < len) {
      *o++ = abc[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
      *o++ = abc[(p[i + 1] & 15) << 2];
    } else {
      *o++ = abc[(p[i] & 3) << 4];
      *o++ = '=';
    }
    *o++ = '=';
  }
  out->len = (size_t)(o - out->data);
  out->data[out->len] = '\0';
  return 0;
}
