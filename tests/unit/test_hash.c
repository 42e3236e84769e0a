/* The intrusive hash table (base/hash.h): insert, find, remove, growth,
 * iteration, and chains of nodes whose hashes are forced equal. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/hash.h"
#include "base/common.h"
#include "test.h"

typedef struct item {
  fl__hash_node node;
  char key[16];
  int seen;
} item;

static int item_eq(const fl__hash_node *n, const void *key) {
  return strcmp(fl__container_of(n, item, node)->key, key) == 0;
}

static item *find(const fl__hash *t, uint32_t hash, const char *key) {
  fl__hash_node *n = fl__hash_find(t, hash, item_eq, key);
  return n ? fl__container_of(n, item, node) : NULL;
}

/* Every node reachable by iteration exactly once; returns the count. */
static size_t walk(const fl__hash *t, item *items, size_t nitems) {
  size_t n = 0, i;
  for (i = 0; i < nitems; i++) items[i].seen = 0;
  for (fl__hash_node *h = fl__hash_next(t, NULL); h; h = fl__hash_next(t, h)) {
    item *it = fl__container_of(h, item, node);
    CHECK(it >= items && it < items + nitems);
    CHECK(it->seen == 0);
    it->seen = 1;
    n++;
  }
  return n;
}

static void test_fnv(void) {
  /* FNV-1a 32-bit reference values */
  CHECK_EQ_INT(fl__hash_str(""), 2166136261u);
  CHECK_EQ_INT(fl__hash_str("a"), 0xe40c292cu);
  CHECK_EQ_INT(fl__hash_str("foobar"), 0xbf9cf968u);
  CHECK(fl__hash_str("http://a:80") != fl__hash_str("http://b:80"));
}

static void test_empty(void) {
  fl__hash t;
  fl__hash_init(&t);
  CHECK(t.count == 0 && t.nbuckets == 0 && t.buckets == NULL);
  CHECK(find(&t, fl__hash_str("x"), "x") == NULL);
  CHECK(fl__hash_next(&t, NULL) == NULL);
  fl__hash_free(&t);
  fl__hash_free(&t); /* twice: harmless */
}

#define N 5000
static item items[N];

static void test_insert_find_remove_grow(void) {
  fl__hash t;
  size_t i, nb_before;

  fl__hash_init(&t);
  for (i = 0; i < N; i++) {
    snprintf(items[i].key, sizeof items[i].key, "host-%zu", i);
    CHECK(find(&t, fl__hash_str(items[i].key), items[i].key) == NULL);
    CHECK_EQ_INT(fl__hash_insert(&t, &items[i].node, fl__hash_str(items[i].key)), 0);
    CHECK_EQ_INT(t.count, i + 1);
    /* load factor at most 1, buckets a power of two */
    CHECK(t.count <= t.nbuckets);
    CHECK((t.nbuckets & (t.nbuckets - 1)) == 0);
  }
  CHECK(t.nbuckets >= N && t.nbuckets < 2 * N);
  for (i = 0; i < N; i++) CHECK(find(&t, fl__hash_str(items[i].key), items[i].key) == &items[i]);
  CHECK(find(&t, fl__hash_str("host-5000"), "host-5000") == NULL);
  CHECK_EQ_INT(walk(&t, items, N), N);

  /* remove every other one; the rest stay findable; no shrink */
  nb_before = t.nbuckets;
  for (i = 0; i < N; i += 2) {
    fl__hash_remove(&t, &items[i].node);
    CHECK(items[i].node.next == NULL);
  }
  CHECK_EQ_INT(t.count, N / 2);
  CHECK_EQ_INT(t.nbuckets, nb_before);
  for (i = 0; i < N; i++) {
    item *f = find(&t, fl__hash_str(items[i].key), items[i].key);
    CHECK(i % 2 ? f == &items[i] : f == NULL);
  }
  CHECK_EQ_INT(walk(&t, items, N), N / 2);

  /* remove the rest while iterating (next taken before the removal) */
  for (fl__hash_node *h = fl__hash_next(&t, NULL), *next; h; h = next) {
    next = fl__hash_next(&t, h);
    fl__hash_remove(&t, h);
  }
  CHECK_EQ_INT(t.count, 0);
  CHECK(fl__hash_next(&t, NULL) == NULL);

  /* a removed node goes back in */
  CHECK_EQ_INT(fl__hash_insert(&t, &items[7].node, fl__hash_str(items[7].key)), 0);
  CHECK(find(&t, fl__hash_str(items[7].key), items[7].key) == &items[7]);
  fl__hash_free(&t);
  CHECK(t.count == 0 && t.buckets == NULL);
}

/* Every node with the same hash: one chain, told apart by eq alone. */
static void test_collisions(void) {
  enum { M = 200 };
  static item same[M];
  const uint32_t h = 0x12345678u;
  fl__hash t;
  size_t i;

  fl__hash_init(&t);
  for (i = 0; i < M; i++) {
    snprintf(same[i].key, sizeof same[i].key, "k%zu", i);
    CHECK_EQ_INT(fl__hash_insert(&t, &same[i].node, h), 0);
  }
  CHECK_EQ_INT(t.count, M);
  for (i = 0; i < M; i++) CHECK(find(&t, h, same[i].key) == &same[i]);
  CHECK(find(&t, h, "nope") == NULL);
  /* the same key under another hash is not found: the hash is compared first */
  CHECK(find(&t, h ^ 1, "k0") == NULL);
  CHECK_EQ_INT(walk(&t, same, M), M);

  /* remove from the head, the middle and the tail of the chain */
  fl__hash_remove(&t, &same[M - 1].node); /* inserted last: chain head */
  fl__hash_remove(&t, &same[M / 2].node);
  fl__hash_remove(&t, &same[0].node); /* inserted first: chain tail */
  CHECK_EQ_INT(t.count, M - 3);
  for (i = 0; i < M; i++) {
    item *f = find(&t, h, same[i].key);
    CHECK((i == 0 || i == M / 2 || i == M - 1) ? f == NULL : f == &same[i]);
  }
  CHECK_EQ_INT(walk(&t, same, M), M - 3);

  /* hashes equal modulo the bucket count but not equal: same chain */
  fl__hash_node *other = &same[0].node;
  CHECK_EQ_INT(fl__hash_insert(&t, other, h + (uint32_t)t.nbuckets), 0);
  CHECK(find(&t, h + (uint32_t)t.nbuckets, "k0") == &same[0]);
  CHECK(find(&t, h, "k0") == NULL);
  fl__hash_free(&t);
}

int main(void) {
  FL_TEST_BEGIN();
  test_fnv();
  test_empty();
  test_insert_find_remove_grow();
  test_collisions();
  FL_TEST_END();
}
