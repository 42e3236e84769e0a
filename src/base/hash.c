/* The intrusive hash table and FNV-1a string hash of hash.h. */
#include "base/hash.h"

#include <stdlib.h>

#include "flurry.h"

#define MIN_BUCKETS 16

void fl__hash_init(fl__hash *t) {
  t->buckets = NULL;
  t->nbuckets = 0;
  t->count = 0;
}

void fl__hash_free(fl__hash *t) {
  free(t->buckets);
  fl__hash_init(t);
}

fl__hash_node *fl__hash_find(const fl__hash *t, uint32_t hash, fl__hash_eq_cb eq, const void *key) {
  fl__hash_node *n;

  if (t->nbuckets == 0) return NULL;
  for (n = t->buckets[hash & (t->nbuckets - 1)]; n; n = n->next)
    if (n->hash == hash && eq(n, key)) return n;
  return NULL;
}

/* Rehash into a bucket array of nb (a power of two). 0 or FL_ENOMEM, in
 * which case nothing changed. */
static int resize(fl__hash *t, size_t nb) {
  fl__hash_node **b = calloc(nb, sizeof *b);
  size_t i;

  if (b == NULL) return FL_ENOMEM;
  for (i = 0; i < t->nbuckets; i++) {
    fl__hash_node *n = t->buckets[i], *next;
    for (; n; n = next) {
      next = n->next;
      n->next = b[n->hash & (nb - 1)];
      b[n->hash & (nb - 1)] = n;
    }
  }
  free(t->buckets);
  t->buckets = b;
  t->nbuckets = nb;
  return 0;
}

int fl__hash_insert(fl__hash *t, fl__hash_node *n, uint32_t hash) {
  fl__hash_node **slot;

  if (t->count >= t->nbuckets) {
    size_t nb = t->nbuckets ? t->nbuckets * 2 : MIN_BUCKETS;
    if (nb < t->nbuckets || resize(t, nb) != 0) return FL_ENOMEM;
  }
  n->hash = hash;
  slot = &t->buckets[hash & (t->nbuckets - 1)];
  n->next = *slot;
  *slot = n;
  t->count++;
  return 0;
}

void fl__hash_remove(fl__hash *t, fl__hash_node *n) {
  fl__hash_node **p;

  if (t->nbuckets == 0) return;
  for (p = &t->buckets[n->hash & (t->nbuckets - 1)]; *p; p = &(*p)->next) {
    if (*p == n) {
      *p = n->next;
      n->next = NULL;
      t->count--;
      return;
    }
  }
}

fl__hash_node *fl__hash_next(const fl__hash *t, const fl__hash_node *prev) {
  size_t i = 0;

  if (prev) {
    if (prev->next) return prev->next;
    i = (prev->hash & (t->nbuckets - 1)) + 1;
  }
  for (; i < t->nbuckets; i++)
    if (t->buckets[i]) return t->buckets[i];
  return NULL;
}

uint32_t fl__hash_str(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}
