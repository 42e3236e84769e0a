/* Shared internals: intrusive queue, container_of, clocks, sockaddr union. */
#ifndef FL_COMMON_H
#define FL_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "flurry.h"
#include "base/hash.h" /* fl__hash_str, for the tables keyed by origin */

#define fl__container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#define FL__ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define FL__UNUSED(x) ((void)(x))
/* A branch almost never taken (an event hook set, say): kept off the hot path. */
#define FL__UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Circular doubly linked list with a sentinel head. A node is re-initialised
 * (points to itself) after removal, so removing it twice is harmless. */
typedef struct fl__queue {
  struct fl__queue *next, *prev;
} fl__queue;

static inline void fl__queue_init(fl__queue *q) { q->next = q->prev = q; }
static inline int fl__queue_empty(const fl__queue *q) { return q->next == q; }
static inline void fl__queue_insert_tail(fl__queue *h, fl__queue *n) {
  n->next = h;
  n->prev = h->prev;
  h->prev->next = n;
  h->prev = n;
}
static inline void fl__queue_insert_head(fl__queue *h, fl__queue *n) {
  n->next = h->next;
  n->prev = h;
  h->next->prev = n;
  h->next = n;
}
static inline void fl__queue_remove(fl__queue *n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->next = n->prev = n;
}
static inline int fl__queue_linked(const fl__queue *n) { return n->next != n; }
#define fl__queue_foreach(q, h) for ((q) = (h)->next; (q) != (h); (q) = (q)->next)

/* Monotonic clock, microseconds (vDSO, no syscall). */
uint64_t fl__now_us(void);

typedef union fl__sockaddr {
  struct sockaddr sa;
  struct sockaddr_in in4;
  struct sockaddr_in6 in6;
} fl__sockaddr;

socklen_t fl__sockaddr_len(const fl__sockaddr *a);
/* "127.0.0.1" / "::1" into buf (>= 46 bytes); returns the port. */
uint16_t fl__sockaddr_str(const fl__sockaddr *a, char *buf, size_t cap);

/* Case-insensitive ASCII comparisons (locale-independent). */
int fl__strcaseeq(const char *a, const char *b);
int fl__strncaseeq(const char *a, const char *b, size_t n);

/* Format into a fixed message buffer; always NUL-terminates. */
void fl__msg(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
