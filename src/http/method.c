#include "http/method.h"

#include <string.h>

int fl__method_idempotent(const char *m) {
  static const char *const ok[] = {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    if (strcmp(m, ok[i]) == 0) return 1;
  return 0;
}

int fl__method_pipelinable(const char *m) {
  return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}
