/* JSON reader: recursive descent over a complete document. */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct reader {
  const char *s, *end, *p;
  const char *why;
  int depth;
} reader;

static void ws(reader *r) {
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) r->p++;
}

static int fail(reader *r, const char *why) {
  if (!r->why) r->why = why;
  return -1;
}

static void dispose(flb_jval *v) {
  if (v->type == FLB_J_STR) free(v->str);
  if (v->type == FLB_J_ARR || v->type == FLB_J_OBJ) {
    for (size_t i = 0; i < v->n; i++) {
      dispose(&v->items[i]);
      if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
  }
  memset(v, 0, sizeof *v);
}

static int hex4(reader *r, unsigned *out) {
  if (r->end - r->p < 4) return fail(r, "short \\u escape");
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = *r->p++;
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
      v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      v |= (unsigned)(c - 'A' + 10);
    else
      return fail(r, "bad \\u escape");
  }
  *out = v;
  return 0;
}

/* A string at r->p (the opening quote) into a malloc'd UTF-8 copy. */
static int string(reader *r, char **out) {
  r->p++;
  size_t cap = 16, n = 0;
  char *b = malloc(cap);
  if (!b) return fail(r, "out of memory");
  for (;;) {
    if (r->p >= r->end) {
      free(b);
      return fail(r, "unterminated string");
    }
    unsigned char c = (unsigned char)*r->p++;
    unsigned cp = c;
    if (c == '"') break;
    if (c < 0x20) {
      free(b);
      return fail(r, "control character in string");
    }
    if (c == '\\') {
      if (r->p >= r->end) {
        free(b);
        return fail(r, "unterminated string");
      }
      char e = *r->p++;
      switch (e) {
      case '"':
      case '\\':
      case '/': cp = (unsigned char)e; break;
      case 'b': cp = '\b'; break;
      case 'f': cp = '\f'; break;
      case 'n': cp = '\n'; break;
      case 'r': cp = '\r'; break;
      case 't': cp = '\t'; break;
      case 'u':
        if (hex4(r, &cp)) {
          free(b);
          return -1;
        }
        if (cp >= 0xd800 && cp < 0xdc00 && r->end - r->p >= 6 && r->p[0] == '\\' &&
            r->p[1] == 'u') {
          unsigned lo;
          r->p += 2;
          if (hex4(r, &lo)) {
            free(b);
            return -1;
          }
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
        break;
      default: free(b); return fail(r, "bad escape");
      }
    }
    if (n + 5 > cap) {
      char *nb = realloc(b, cap *= 2);
      if (!nb) {
        free(b);
        return fail(r, "out of memory");
      }
      b = nb;
    }
    if (c == '\\' && cp >= 0x80) { /* encode the escaped code point */
      if (cp < 0x800) {
        b[n++] = (char)(0xc0 | (cp >> 6));
      } else if (cp < 0x10000) {
        b[n++] = (char)(0xe0 | (cp >> 12));
        b[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
      } else {
        b[n++] = (char)(0xf0 | (cp >> 18));
        b[n++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        b[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
      }
      b[n++] = (char)(0x80 | (cp & 0x3f));
    } else {
      b[n++] = (char)cp;
    }
  }
  b[n] = 0;
  *out = b;
  return 0;
}

static int value(reader *r, flb_jval *v);

static int push(reader *r, flb_jval *v, flb_jval *item, char *key) {
  if (v->n == v->cap) { /* grow geometrically: histograms have thousands of buckets */
    size_t cap = v->cap ? 2 * v->cap : 4;
    flb_jval *items = realloc(v->items, cap * sizeof *items);
    if (!items) return fail(r, "out of memory");
    v->items = items;
    if (v->type == FLB_J_OBJ) {
      char **keys = realloc(v->keys, cap * sizeof *keys);
      if (!keys) return fail(r, "out of memory");
      v->keys = keys;
    }
    v->cap = cap;
  }
  if (v->type == FLB_J_OBJ) v->keys[v->n] = key;
  v->items[v->n++] = *item;
  return 0;
}

static int container(reader *r, flb_jval *v, char close) {
  v->type = close == '}' ? FLB_J_OBJ : FLB_J_ARR;
  if (++r->depth > 64) return fail(r, "nested too deep");
  r->p++;
  ws(r);
  if (r->p < r->end && *r->p == close) {
    r->p++;
    r->depth--;
    return 0;
  }
  for (;;) {
    char *key = NULL;
    flb_jval item;
    memset(&item, 0, sizeof item);
    ws(r);
    if (v->type == FLB_J_OBJ) {
      if (r->p >= r->end || *r->p != '"') return fail(r, "expected a key");
      if (string(r, &key)) return -1;
      ws(r);
      if (r->p >= r->end || *r->p != ':') {
        free(key);
        return fail(r, "expected ':'");
      }
      r->p++;
    }
    if (value(r, &item) || push(r, v, &item, key)) {
      dispose(&item);
      free(key);
      return -1;
    }
    ws(r);
    if (r->p < r->end && *r->p == ',') {
      r->p++;
      continue;
    }
    if (r->p < r->end && *r->p == close) {
      r->p++;
      r->depth--;
      return 0;
    }
    return fail(r, "expected ',' or the end of the container");
  }
}

static int number(reader *r, flb_jval *v) {
  const char *start = r->p;
  int plain = 1;
  if (r->p < r->end && *r->p == '-') r->p++, plain = 0;
  while (r->p < r->end && ((*r->p >= '0' && *r->p <= '9') || *r->p == '.' || *r->p == 'e' ||
                           *r->p == 'E' || *r->p == '+' || *r->p == '-')) {
    if (*r->p < '0' || *r->p > '9') plain = 0;
    r->p++;
  }
  size_t n = (size_t)(r->p - start);
  char buf[64];
  if (n == 0 || n >= sizeof buf) return fail(r, "bad number");
  memcpy(buf, start, n);
  buf[n] = 0;
  char *end;
  v->type = FLB_J_NUM;
  v->num = strtod(buf, &end);
  if (*end) return fail(r, "bad number");
  if (plain && n <= 20) {
    uint64_t u = 0;
    int over = 0;
    for (size_t i = 0; i < n; i++) {
      uint64_t d = (uint64_t)(buf[i] - '0');
      if (u > (UINT64_MAX - d) / 10) over = 1;
      u = u * 10 + d;
    }
    if (!over) v->u = u, v->is_u = 1;
  }
  return 0;
}

static int word(reader *r, const char *w) {
  size_t n = strlen(w);
  if ((size_t)(r->end - r->p) < n || memcmp(r->p, w, n)) return fail(r, "unexpected character");
  r->p += n;
  return 0;
}

static int value(reader *r, flb_jval *v) {
  ws(r);
  if (r->p >= r->end) return fail(r, "unexpected end");
  switch (*r->p) {
  case '{': return container(r, v, '}');
  case '[': return container(r, v, ']');
  case '"': v->type = FLB_J_STR; return string(r, &v->str);
  case 't':
    v->type = FLB_J_BOOL;
    v->boolean = 1;
    return word(r, "true");
  case 'f': v->type = FLB_J_BOOL; return word(r, "false");
  case 'n': v->type = FLB_J_NULL; return word(r, "null");
  default: return number(r, v);
  }
}

flb_jval *flb_json_parse(const char *s, size_t len, char *err, size_t errlen) {
  reader r = {s, s + len, s, NULL, 0};
  flb_jval *v = calloc(1, sizeof *v);
  if (!v) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  if (value(&r, v) == 0) {
    ws(&r);
    if (r.p != r.end) fail(&r, "trailing characters");
  }
  if (r.why) {
    snprintf(err, errlen, "%s at byte %zu", r.why, (size_t)(r.p - s));
    flb_json_free(v);
    return NULL;
  }
  return v;
}

void flb_json_free(flb_jval *v) {
  if (!v) return;
  dispose(v);
  free(v);
}

const flb_jval *flb_json_get(const flb_jval *obj, const char *key) {
  if (!obj || obj->type != FLB_J_OBJ) return NULL;
  for (size_t i = 0; i < obj->n; i++)
    if (!strcmp(obj->keys[i], key)) return &obj->items[i];
  return NULL;
}
