/* fl_share: the caches that clients on several threads may share (the DNS
 * answers of dns_share.h, the TLS sessions of tls_sess.c). Each part keeps
 * its own lock; the share itself only counts the clients attached to it, so
 * that freeing it while one still uses it is refused (and caught in debug
 * builds). */
#ifndef FL_SHARE_H
#define FL_SHARE_H

#include <stdatomic.h>

#include "flurry.h"
#include "net/dns_share.h"
#include "net/tls.h"

struct fl_share {
  fl__dns_share *dns;
  fl__tls_store *tls; /* NULL: clients keep their own sessions */
  atomic_uint users;  /* clients attached */
};

/* A client starts / stops using s (any thread). */
void fl__share_attach(fl_share *s);
void fl__share_detach(fl_share *s);

#endif
