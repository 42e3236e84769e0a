/* The TLS session cache: sessions (TLS 1.2) and tickets (TLS 1.3) kept per
 * key ("<settings id>/host:port"), most recently used key first. One store
 * per client, or one in an fl_share that clients on several threads use:
 * every operation takes the store's mutex, and none does I/O under it
 * (OpenSSL's new-session callback and SSL_set_session only touch memory).
 * Uncontended, the lock costs a few tens of nanoseconds per handshake.
 *
 * TLS 1.3 tickets are used once while fresh ones are at hand (RFC 8446 C.4:
 * a reused ticket links two connections); the last one is kept and offered
 * again rather than fall back to a full handshake when a burst of new
 * connections (on many threads, say) outruns the tickets servers send
 * (OpenSSL servers: two after a full handshake, one after a resumption). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ssl.h>

#include "base/common.h"
#include "net/tls.h"
#include "net/tls_impl.h"

typedef struct sess_entry {
  fl__queue node; /* store->keys, most recently used first */
  int n;
  SSL_SESSION *s[SESS_PER_KEY_MAX]; /* oldest first; each holds one reference */
  char key[];
} sess_entry;

struct fl__tls_store {
  pthread_mutex_t lock;
  fl__queue keys;
  uint32_t nkeys;
  int per_key; /* sessions kept per key, 2..SESS_PER_KEY_MAX */
};

int fl__tls_store_new(uint32_t per_key, fl__tls_store **out) {
  fl__tls_store *s = calloc(1, sizeof *s);
  *out = NULL;
  if (!s || pthread_mutex_init(&s->lock, NULL) != 0) {
    free(s);
    return FL_ENOMEM;
  }
  fl__queue_init(&s->keys);
  s->per_key = per_key == 0 || per_key > SESS_PER_KEY_MAX ? SESS_PER_KEY_MAX
               : per_key < 2                              ? 2
                                                          : (int)per_key;
  *out = s;
  return 0;
}

static void entry_free(fl__tls_store *st, sess_entry *e) {
  for (int i = 0; i < e->n; i++) SSL_SESSION_free(e->s[i]);
  fl__queue_remove(&e->node);
  st->nkeys--;
  free(e);
}

void fl__tls_store_free(fl__tls_store *st) {
  if (!st) return;
  while (!fl__queue_empty(&st->keys))
    entry_free(st, fl__container_of(st->keys.next, sess_entry, node));
  pthread_mutex_destroy(&st->lock);
  free(st);
}

static sess_entry *entry_find(fl__tls_store *st, const char *key) {
  fl__queue *q;
  fl__queue_foreach(q, &st->keys) {
    sess_entry *e = fl__container_of(q, sess_entry, node);
    if (strcmp(e->key, key) == 0) {
      fl__queue_remove(q);
      fl__queue_insert_head(&st->keys, q);
      return e;
    }
  }
  return NULL;
}

static int is_tls13(const SSL_SESSION *s) {
  return SSL_SESSION_get_protocol_version(s) >= TLS1_3_VERSION;
}

int fl__tls_store_put(fl__tls_store *st, const char *key, SSL_SESSION *sess) {
  int kept = 0;
  pthread_mutex_lock(&st->lock);
  sess_entry *e = entry_find(st, key);
  if (!e) {
    size_t klen = strlen(key) + 1;
    e = malloc(sizeof *e + klen);
    if (!e) goto out;
    e->n = 0;
    memcpy(e->key, key, klen);
    fl__queue_insert_head(&st->keys, &e->node);
    if (++st->nkeys > SESS_KEYS_MAX)
      entry_free(st, fl__container_of(st->keys.prev, sess_entry, node));
  }
  if (!is_tls13(sess)) { /* a TLS 1.2 session replaces what we had: reusable */
    for (int i = 0; i < e->n; i++) SSL_SESSION_free(e->s[i]);
    e->n = 0;
  }
  if (e->n == st->per_key) {
    SSL_SESSION_free(e->s[0]);
    memmove(e->s, e->s + 1, (size_t)(e->n - 1) * sizeof e->s[0]);
    e->n--;
  }
  e->s[e->n++] = sess;
  kept = 1;
out:
  pthread_mutex_unlock(&st->lock);
  return kept;
}

static int expired(const SSL_SESSION *s, time_t now) {
  long t0 = SSL_SESSION_get_time(s), life = SSL_SESSION_get_timeout(s);
  return life > 0 && now - t0 >= life;
}

void fl__tls_store_offer(fl__tls_store *st, const char *key, SSL *ssl) {
  time_t now = time(NULL);
  pthread_mutex_lock(&st->lock);
  sess_entry *e = entry_find(st, key);
  while (e && e->n > 0) {
    SSL_SESSION *s = e->s[e->n - 1];
    int once = is_tls13(s);
    if (!SSL_SESSION_is_resumable(s) || expired(s, now)) {
      SSL_SESSION_free(s);
      e->n--;
      continue;
    }
    /* Each connection gets its own copy: no SSL_SESSION object is used by
     * two connections (on two threads) at once. */
    SSL_SESSION *copy = SSL_SESSION_dup(s);
    if (copy) {
      SSL_set_session(ssl, copy); /* takes its own reference */
      SSL_SESSION_free(copy);
    }
    if (once && e->n > 1) {
      SSL_SESSION_free(s);
      e->n--;
    }
    break;
  }
  if (e && e->n == 0) entry_free(st, e);
  pthread_mutex_unlock(&st->lock);
}

uint32_t fl__tls_store_count(fl__tls_store *st) {
  uint32_t n = 0;
  fl__queue *q;
  pthread_mutex_lock(&st->lock);
  fl__queue_foreach(q, &st->keys) n += (uint32_t)fl__container_of(q, sess_entry, node)->n;
  pthread_mutex_unlock(&st->lock);
  return n;
}
