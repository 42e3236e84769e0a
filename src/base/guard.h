/* A re-entry guard: counts how deep code of one owner (a client) is on the
 * stack. Every entry from the loop into that code enters and leaves it; the
 * outermost leave runs the owner's hook, which frees what was only
 * unlinked while deeper frames could still hold pointers to it (closed
 * connections, a client freed from inside its own callback). h2o's
 * _delay_free, in one counter.
 *
 * Lower layers (connections, the pool) keep a pointer to their owner's
 * guard and never know what the hook does. */
#ifndef FL_GUARD_H
#define FL_GUARD_H

typedef struct fl__guard fl__guard;
struct fl__guard {
  int depth;
  void (*on_outermost_leave)(fl__guard *g); /* set by the owner; may free the owner */
};

static inline void fl__guard_enter(fl__guard *g) { g->depth++; }
static inline void fl__guard_leave(fl__guard *g) {
  if (--g->depth == 0 && g->on_outermost_leave) g->on_outermost_leave(g);
}

#endif
