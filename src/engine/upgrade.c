/* The handover at a 101 (RFC 9110 15.2.2): an upgrade request's connection
 * stops being HTTP. Its transport (TLS state included) and whatever was
 * read after the 101's head move to the exchange's owner; the connection
 * then closes without touching them, so the pool forgets it for good and
 * nothing of the owner's new connection stays in the pool. */
#include "engine/conn.h"

void fl__conn_upgrade(fl__conn *c, fl__exchange *ex, const char *rest, size_t n) {
  fl__queue_remove(&ex->node);
  ex->carrier = NULL;
  ex->wire_bytes = c->h1.wire_bytes;
  c->nexchanges--;
  c->h1.ex = NULL;
  c->wnext = NULL;
  int err = n && fl__buf_append(ex->upgrade_rest, rest, n) ? FL_ENOMEM : 0;
  if (!err) {
    fl__io_close(c->env->loop, &c->io); /* the fd leaves the loop's table, still open */
    *ex->upgrade_tp = c->tp;
    fl__transport_init(&c->tp);
  }
  fl__conn_close(c, 0, NULL); /* carries nothing now: no exchange is failed */
  if (err) {
    fl__ex_failure f = {.err = err, .msg = "out of memory taking over the upgraded connection"};
    ex->ops->failed(ex, &f);
    return;
  }
  ex->ops->done(ex);
}
