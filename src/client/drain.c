/* Shutdown and reload for long-lived servers (contract in flurry.h):
 * closing idle connections, draining (new sends refused, in-flight ones
 * finish, one callback when the last did, an optional deadline cancelling
 * the rest) and reloading DNS. The request side calls
 * fl__client_drain_note whenever a request leaves c->inflight. */
#include "client/client.h"
#include "client/request.h"
#include "net/share.h"

void fl_client_close_idle(fl_client *c) {
  if (!c || c->free_requested) return;
  fl__guard_enter(&c->guard);
  fl__pool_close_idle(&c->pool);
  fl__guard_leave(&c->guard);
}

/* From the loop: the last request finished. */
static void on_check(fl__defer *d) {
  fl_client *c = fl__container_of(d, fl_client, drain.check);
  if (c->drain.reported || c->free_requested || !fl__queue_empty(&c->inflight)) return;
  c->drain.reported = 1;
  fl__timer_stop(&c->drain.deadline);
  fl__guard_enter(&c->guard);
  fl__pool_close_idle(&c->pool); /* what finished left its connection idle */
  fl_drain_cb cb = c->drain.cb;
  if (cb) cb(c, c->drain.timed_out ? FL_ETIMEOUT : 0, c->drain.data); /* may free c */
  fl__guard_leave(&c->guard);
}

void fl__client_drain_note(fl_client *c) {
  if (!c->drain.reported && fl__queue_empty(&c->inflight))
    fl__defer_schedule(c->loop, &c->drain.check);
}

/* The deadline: cancel what is left; each completes with FL_ECANCELED from
 * the loop, and the last one's note reports. */
static void on_deadline(fl__timer *t) {
  fl_client *c = fl__container_of(t, fl_client, drain.deadline);
  fl__queue *q, *next;
  c->drain.timed_out = 1;
  fl__guard_enter(&c->guard);
  for (q = c->inflight.next; q != &c->inflight; q = next) {
    fl_request *req = fl__container_of(q, fl_request, inflight_node);
    next = q->next;
    if (req->state != FL__REQ_COMPLETING)
      fl__request_finish(req, FL_ECANCELED, "canceled: the client's drain deadline passed");
  }
  fl__guard_leave(&c->guard);
}

int fl_client_drain(fl_client *c, uint32_t deadline_ms, fl_drain_cb cb, void *data) {
  if (!c || c->free_requested || c->drain.on) return FL_EINVAL;
  if (c->guard.depth > 0 || c->in_hook) return FL_EINVAL; /* inside one of our callbacks or hooks */
  c->drain.on = 1;
  fl__client_send_checks(c);
  c->drain.cb = cb;
  c->drain.data = data;
  fl__timer_init(c->loop, &c->drain.deadline, on_deadline);
  fl__defer_init(&c->drain.check, on_check);
  if (deadline_ms && fl__timer_start(&c->drain.deadline, deadline_ms) != 0) {
    c->drain.on = 0;
    fl__client_send_checks(c);
    return FL_ENOMEM;
  }
  fl_client_close_idle(c);
  fl__client_drain_note(c); /* nothing in flight: report from the loop */
  return 0;
}

void fl__client_drain_free(fl_client *c) {
  if (!c->drain.on) return;
  fl__timer_stop(&c->drain.deadline);
  fl__defer_cancel(&c->drain.check);
}

int fl_client_dns_reload(fl_client *c) {
  if (!c) return FL_EINVAL;
  if (c->share) fl__dns_share_flush(c->share->dns);
  return fl__resolver_reload(c->resolver);
}
