/* A small JSON reader for flurry-bench's own --json output (merge). Whole
 * documents in memory, into a tree; numbers keep their exact unsigned value
 * when they are plain integers. */
#ifndef FLB_JSON_H
#define FLB_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef enum { FLB_J_NULL, FLB_J_BOOL, FLB_J_NUM, FLB_J_STR, FLB_J_ARR, FLB_J_OBJ } flb_jtype;

typedef struct flb_jval {
  flb_jtype type;
  int boolean;
  double num;
  uint64_t u;             /* the value, when is_u */
  int is_u;               /* a non-negative integer literal that fits in 64 bits */
  char *str;              /* FLB_J_STR */
  struct flb_jval *items; /* FLB_J_ARR and FLB_J_OBJ values */
  char **keys;            /* FLB_J_OBJ */
  size_t n;
  size_t cap; /* room in items (and keys) */
} flb_jval;

/* NULL with a message ("what at byte N") in err. */
flb_jval *flb_json_parse(const char *s, size_t len, char *err, size_t errlen);
void flb_json_free(flb_jval *v);
/* The member key of an object, or NULL. */
const flb_jval *flb_json_get(const flb_jval *obj, const char *key);

#endif
