/* Header lists in one arena (see headers.h). */
#include "base/headers.h"

#include <string.h>

#include "base/common.h"

void fl__headers_init(fl__headers *h) {
  memset(h, 0, sizeof *h);
  fl__buf_init(&h->arena);
}

void fl__headers_dispose(fl__headers *h) {
  fl__buf_dispose(&h->arena);
  free(h->items);
  fl__headers_init(h);
}

static int push_item(fl__headers *h, fl__header_ref ref) {
  if (h->n == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 16;
    fl__header_ref *items = realloc(h->items, cap * sizeof *items);
    if (!items) return FL_ENOMEM;
    h->items = items, h->cap = cap;
  }
  h->items[h->n++] = ref;
  return 0;
}

/* One reservation and two copies: the name, then the value, each followed
 * by a NUL. */
int fl__headers_add(fl__headers *h, const char *name, size_t nlen, const char *value, size_t vlen) {
  size_t at = h->arena.len, need = nlen + vlen + 2;
  if (at + need > UINT32_MAX || fl__buf_reserve(&h->arena, need)) return FL_ENOMEM;
  char *d = h->arena.data + at;
  memcpy(d, name, nlen);
  d[nlen] = '\0';
  memcpy(d + nlen + 1, value, vlen);
  d[nlen + 1 + vlen] = '\0';
  h->arena.len = at + need;
  fl__header_ref ref = {(uint32_t)at, (uint32_t)nlen, (uint32_t)(at + nlen + 1), (uint32_t)vlen};
  return push_item(h, ref);
}

int fl__headers_add_span(fl__headers *h, const char *p, size_t n, size_t nlen, size_t voff,
                         size_t vlen) {
  size_t at = h->arena.len;
  if (at + n + 1 > UINT32_MAX || fl__buf_reserve(&h->arena, n + 1)) return FL_ENOMEM;
  char *d = h->arena.data + at;
  memcpy(d, p, n);
  d[nlen] = '\0'; /* over the ':' */
  d[voff + vlen] = '\0';
  h->arena.len = at + voff + vlen + 1;
  fl__header_ref ref = {(uint32_t)at, (uint32_t)nlen, (uint32_t)(at + voff), (uint32_t)vlen};
  return push_item(h, ref);
}

/* Move the live names and values to the front of the arena. Items are in
 * arena order (every add and commit appends) and each name is followed by
 * its value, so copying forward in item order never overwrites a live byte. */
static void compact(fl__headers *h) {
  size_t w = 0;
  for (size_t i = 0; i < h->n; i++) {
    fl__header_ref *r = &h->items[i];
    size_t len = (size_t)r->value_off + r->value_len + 1 - r->name_off;
    uint32_t value_rel = r->value_off - r->name_off;
    memmove(h->arena.data + w, h->arena.data + r->name_off, len);
    r->name_off = (uint32_t)w;
    r->value_off = (uint32_t)w + value_rel;
    w += len;
  }
  h->arena.len = w;
}

int fl__headers_remove(fl__headers *h, const char *name) {
  size_t kept = 0, live = 0;
  int removed = 0;
  for (size_t i = 0; i < h->n; i++) {
    if (fl__strcaseeq(fl__headers_name(h, i), name)) {
      removed++;
    } else {
      live += (size_t)h->items[i].value_off + h->items[i].value_len + 1 - h->items[i].name_off;
      h->items[kept++] = h->items[i];
    }
  }
  h->n = kept;
  /* Removed bytes stay in the arena until it is reset; a list that is only
   * ever changed (set_header on a request resent forever) would grow
   * without bound, so compact once they outweigh the live ones. */
  if (removed && h->pending == 0 && h->arena.len > 2 * live + 4096) compact(h);
  return removed;
}

const char *fl__headers_get(const fl__headers *h, const char *name) {
  for (size_t i = 0; i < h->n; i++)
    if (fl__strcaseeq(fl__headers_name(h, i), name)) return fl__headers_value(h, i);
  return NULL;
}

int fl__headers_has(const fl__headers *h, const char *name) {
  return fl__headers_get(h, name) != NULL;
}

/* Incremental building: the name is appended, NUL-terminated at the switch to
 * the value; value pieces follow; commit records the pair. Pieces arrive in
 * order and nothing else is appended meanwhile, so offsets stay valid. */
int fl__headers_append_name(fl__headers *h, const char *p, size_t n) {
  if (h->pending == 2 && fl__headers_commit(h)) return FL_ENOMEM;
  if (h->pending == 0) {
    h->pending = 1;
    h->pending_name_off = (uint32_t)h->arena.len;
  }
  return fl__buf_append(&h->arena, p, n);
}

int fl__headers_append_value(fl__headers *h, const char *p, size_t n) {
  if (h->pending == 0) { /* value without a name: treat as empty name */
    h->pending = 1;
    h->pending_name_off = (uint32_t)h->arena.len;
  }
  if (h->pending == 1) {
    if (fl__buf_append(&h->arena, "", 1)) return FL_ENOMEM; /* end of name */
    h->pending = 2;
    h->pending_value_off = (uint32_t)h->arena.len;
  }
  return fl__buf_append(&h->arena, p, n);
}

int fl__headers_commit(fl__headers *h) {
  if (h->pending == 0) return 0;
  if (h->pending == 1) { /* name without a value */
    if (fl__buf_append(&h->arena, "", 1)) return FL_ENOMEM;
    h->pending_value_off = (uint32_t)h->arena.len;
  }
  fl__header_ref ref;
  ref.name_off = h->pending_name_off;
  ref.name_len = h->pending_value_off - h->pending_name_off - 1;
  ref.value_off = h->pending_value_off;
  ref.value_len = (uint32_t)h->arena.len - h->pending_value_off;
  h->pending = 0;
  if (fl__buf_append(&h->arena, "", 1)) return FL_ENOMEM;
  return push_item(h, ref);
}

int fl__token_valid(const char *s, size_t n) {
  static const char extra[] = "!#$%&'*+-.^_`|~";
  if (n == 0) return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    int ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
             (c && strchr(extra, c));
    if (!ok) return 0;
  }
  return 1;
}

int fl__field_value_valid(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f) return 0;
  }
  return 1;
}
