/* Base64 (RFC 4648), for Basic credentials. */
#ifndef FL_BASE64_H
#define FL_BASE64_H

#include <stddef.h>

#include "base/buf.h"

/* Append base64 of in to out. 0 or FL_ENOMEM. */
int fl__base64_encode(const char *in, size_t len, fl__buf *out);

#endif
