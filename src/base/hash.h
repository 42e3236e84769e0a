/* One intrusive hash table, and the one string hash.
 *
 * A chained table of nodes embedded in the caller's objects (libuv style:
 * the table never allocates a node, only its bucket array). A node holds
 * its chain link and its 32-bit hash; the caller computes the hash and says
 * what "equal" means through a callback at lookup, so one table type serves
 * every key (strings, origins, pool keys). The bucket array doubles when the
 * load passes 1; a failed growth fails the insert and leaves the table as it
 * was, so a caller never sees a half-inserted node.
 *
 * Not thread-safe; the table belongs to whoever owns the objects in it.
 */
#ifndef FL_HASH_H
#define FL_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct fl__hash_node {
  struct fl__hash_node *next; /* chain; NULL when not in a table */
  uint32_t hash;
} fl__hash_node;

typedef struct fl__hash {
  fl__hash_node **buckets; /* NULL until the first insert */
  size_t nbuckets;         /* 0 or a power of two */
  size_t count;
} fl__hash;

/* Is node n the one for key? (n's hash already equals the key's hash.) */
typedef int (*fl__hash_eq_cb)(const fl__hash_node *n, const void *key);

/* An empty table; allocates nothing (the first insert does). */
void fl__hash_init(fl__hash *t);
/* Free the bucket array; the nodes belong to the caller and are left alone.
 * The table is empty (and usable) afterwards. */
void fl__hash_free(fl__hash *t);

/* The node with this hash for which eq(node, key) holds, or NULL. */
fl__hash_node *fl__hash_find(const fl__hash *t, uint32_t hash, fl__hash_eq_cb eq, const void *key);
/* Add n with hash (n must not be in a table; a key already present is not
 * checked for: find first). 0, or FL_ENOMEM with the table unchanged. */
int fl__hash_insert(fl__hash *t, fl__hash_node *n, uint32_t hash);
/* Take n out of t (n must be in t). */
void fl__hash_remove(fl__hash *t, fl__hash_node *n);

/* Iteration in bucket order: the first node (prev NULL) or the one after
 * prev; NULL at the end. To remove nodes while iterating, take the next node
 * before removing the current one. No inserts while iterating. */
fl__hash_node *fl__hash_next(const fl__hash *t, const fl__hash_node *prev);

/* FNV-1a (32-bit) of a NUL-terminated string. */
uint32_t fl__hash_str(const char *s);

#endif
