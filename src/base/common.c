/* Shared helpers declared in common.h: clock, sockaddr formatting, ASCII
 * case-insensitive comparison, message formatting. */
#include "base/common.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

uint64_t fl__now_us(void) {
  struct timespec ts;
  /* CLOCK_MONOTONIC cannot fail on Linux with a valid pointer; if it ever
   * did, time would stand still and timers would never fire: stop loudly. */
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) abort();
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

socklen_t fl__sockaddr_len(const fl__sockaddr *a) {
  switch (a->sa.sa_family) {
  case AF_INET: return sizeof a->in4;
  case AF_INET6: return sizeof a->in6;
  default: return 0;
  }
}

uint16_t fl__sockaddr_str(const fl__sockaddr *a, char *buf, size_t cap) {
  const void *addr;
  uint16_t port;

  if (cap == 0) return 0;
  buf[0] = '\0';
  if (a->sa.sa_family == AF_INET) {
    addr = &a->in4.sin_addr;
    port = ntohs(a->in4.sin_port);
  } else if (a->sa.sa_family == AF_INET6) {
    addr = &a->in6.sin6_addr;
    port = ntohs(a->in6.sin6_port);
  } else {
    return 0;
  }
  if (inet_ntop(a->sa.sa_family, addr, buf, (socklen_t)cap) == NULL)
    buf[0] = '\0'; /* buffer too small: leave it empty rather than truncated */
  return port;
}

static unsigned char ascii_lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

int fl__strcaseeq(const char *a, const char *b) {
  for (;; a++, b++) {
    unsigned char ca = ascii_lower((unsigned char)*a), cb = ascii_lower((unsigned char)*b);
    if (ca != cb) return 0;
    if (ca == '\0') return 1;
  }
}

int fl__strncaseeq(const char *a, const char *b, size_t n) {
  for (; n > 0; n--, a++, b++) {
    unsigned char ca = ascii_lower((unsigned char)*a), cb = ascii_lower((unsigned char)*b);
    if (ca != cb) return 0;
    if (ca == '\0') return 1;
  }
  return 1;
}

void fl__msg(char *buf, size_t cap, const char *fmt, ...) {
  va_list ap;

  if (cap == 0) return;
  va_start(ap, fmt);
  /* vsnprintf truncates and terminates; a negative result means an encoding
   * error, after which the buffer content is unspecified. */
  if (vsnprintf(buf, cap, fmt, ap) < 0) buf[0] = '\0';
  va_end(ap);
}
