/* Nonblocking TCP connect with Happy Eyeballs (RFC 8305); contract in tcp.h.
 *
 * Scheduling, in one place:
 * - Attempts start in address order, one at a time; each start (re)arms the
 *   delay timer while addresses remain.
 * - The timer firing starts the next address. At FL__CONNECT_MAX_ATTEMPTS the
 *   timer is left unarmed: an inactive timer with addresses left means "a
 *   start is due", and the next failure makes it at once.
 * - An attempt failing asynchronously starts the next address at once when
 *   nothing else is pending (or a start was due); otherwise it is just closed
 *   and the others keep running against the timer.
 * - An attempt failing synchronously (socket(), connect(), watcher) happens
 *   exactly when a start was due, so the next address is tried at once.
 * - Outcomes found inside fl__connect_start go through fail_defer; outcomes
 *   found from the loop (io, timer) call back directly. The callback is the
 *   last thing touching the connector: it may free or restart it.
 */
#include "net/tcp.h"
#include "net/transport.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct fl__connect_attempt attempt;

/* On Linux the descriptor is released even when close() reports an error
 * (EINTR included), and a connect socket has no pending data to lose: there
 * is nothing to retry or report. */
static void close_fd(int fd) {
  if (close(fd) != 0) {
    /* deliberately ignored, see above */
  }
}

/* How much an errno tells the user; the most telling failure is reported. */
static int errno_rank(int e) {
  switch (e) {
  case 0: return 0;
  case EMFILE:
  case ENFILE: return 4; /* no socket at all: the cause, whatever else failed */
  case ECONNREFUSED: return 3;
  case ENETUNREACH:
  case EHOSTUNREACH:
  case EADDRNOTAVAIL:
  case EAFNOSUPPORT: return 2;
  default: return 1;
  }
}

static int errno_to_err(int e) {
  switch (errno_rank(e)) {
  case 4: return FL_ECONNECT; /* curl's 7 when socket() fails */
  case 3: return FL_ECONN_REFUSED;
  case 2: return FL_EHOST_UNREACH;
  default: return e == ENOMEM ? FL_ENOMEM : FL_ECONNECT;
  }
}

/* Remember a failed attempt if it says at least as much as the one kept. */
static void note_failure(fl__connector *c, const fl__sockaddr *addr, int e) {
  char ip[64];
  if (c->unix_len) {
    /* A Unix socket: missing, not a socket or not listening is curl's 7. */
    const char *p = c->unix_target->addr.sun_path;
    c->last_errno = e == ENOMEM ? ENOMEM : ECONNRESET; /* ranks as FL_ECONNECT */
    fl__msg(c->errmsg, sizeof c->errmsg, "connect to %s%s failed: %s", p[0] ? "" : "@",
            p[0] ? p : p + 1, strerror(e));
    return;
  }
  if (errno_rank(e) < errno_rank(c->last_errno)) return;
  c->last_errno = e;
  uint16_t port = fl__sockaddr_str(addr, ip, sizeof ip);
  if (e == EMFILE || e == ENFILE)
    fl__msg(c->errmsg, sizeof c->errmsg,
            "cannot open a socket to connect to %s port %u: out of file descriptors (%s)", ip,
            (unsigned)port, e == EMFILE ? "the process's limit, EMFILE" : "the system's, ENFILE");
  else
    fl__msg(c->errmsg, sizeof c->errmsg, "connect to %s port %u failed: %s", ip, (unsigned)port,
            strerror(e));
}

/* 0 or an errno. Not for a Unix socket (it has no Nagle to turn off). */
static int set_nodelay(const fl__connector *c, int fd) {
  int one = 1;
  if (c->unix_len) return 0;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) return errno;
  return 0;
}

static void attempt_close(fl__connector *c, attempt *a) {
  fl__io_close(c->loop, &a->io);
  close_fd(a->io.fd);
  a->io.fd = -1;
  a->active = 0;
  c->nattempts--;
}

/* Attempt slot i, or NULL when it is past the inline ones and `more` is
 * not allocated (then none of them is active). */
static attempt *attempt_at(fl__connector *c, size_t i) {
  if (i < FL__CONNECT_INLINE_ATTEMPTS) return &c->first[i];
  return c->more ? &c->more[i - FL__CONNECT_INLINE_ATTEMPTS] : NULL;
}

/* A free slot, allocating the rest the first time the inline ones are all
 * busy; NULL without memory. */
static attempt *attempt_slot(fl__connector *c) {
  for (size_t i = 0; i < FL__CONNECT_MAX_ATTEMPTS; i++) {
    if (i == FL__CONNECT_INLINE_ATTEMPTS && !c->more) {
      size_t n = FL__CONNECT_MAX_ATTEMPTS - FL__CONNECT_INLINE_ATTEMPTS;
      if (!(c->more = calloc(n, sizeof *c->more))) return NULL;
      for (size_t k = 0; k < n; k++) {
        c->more[k].io.fd = -1;
        c->more[k].owner = c;
      }
    }
    attempt *a = attempt_at(c, i);
    if (!a->active) return a;
  }
  return NULL;
}

/* Every attempt is closed: give the extra slots and a Unix target back. */
static void free_more(fl__connector *c) {
  free(c->more);
  c->more = NULL;
  free(c->unix_target);
  c->unix_target = NULL;
}

static void close_all(fl__connector *c) {
  for (size_t i = 0; i < FL__CONNECT_MAX_ATTEMPTS && c->nattempts > 0; i++) {
    attempt *a = attempt_at(c, i);
    if (a && a->active) attempt_close(c, a);
  }
  fl__timer_stop(&c->delay_timer);
}

/* fd (already detached from any watcher, TCP_NODELAY set) won: close the rest. */
static void win(fl__connector *c, int fd, size_t addr_index) {
  close_all(c);
  c->fd = fd;
  c->remote = c->addrs[addr_index];
  c->err = 0;
  c->errmsg[0] = '\0';
}

/* Final step: nothing may touch c after cb returns (it may free c). */
static void report(fl__connector *c) {
  fl__timer_stop(&c->delay_timer);
  fl__defer_cancel(&c->fail_defer);
  c->running = 0;
  free_more(c); /* every attempt is closed (won, or all failed) */
  if (c->fd < 0 && c->hard_err) {
    c->err = c->hard_err;
  } else if (c->fd < 0) {
    c->err = c->last_errno ? errno_to_err(c->last_errno) : FL_ECONNECT;
    if (!c->errmsg[0]) fl__msg(c->errmsg, sizeof c->errmsg, "connect failed");
  }
  c->cb(c);
}

static void on_writable(fl_loop *loop, fl__io *io, uint32_t events);

/* Start addrs[c->next++]. Returns 1 in progress, 0 connected at once (c->fd
 * set, everything else closed), -1 failed (noted, nothing left open). */
static int attempt_start(fl__connector *c) {
  size_t index = c->next++;
  const fl__sockaddr *addr = &c->addrs[index];
  int family = c->unix_len ? AF_UNIX : addr->sa.sa_family;
  const struct sockaddr *sa =
      c->unix_len ? (const struct sockaddr *)&c->unix_target->addr : &addr->sa;
  socklen_t salen = c->unix_len ? c->unix_len : fl__sockaddr_len(addr);
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    note_failure(c, addr, errno);
    return -1;
  }
  if (c->sopts) {
    int err = fl__sock_prepare(c->sopts, fd, family, c->unix_len ? NULL : addr, c->errmsg,
                               sizeof c->errmsg);
    if (err) {
      close_fd(fd);
      c->hard_err = err;
      c->next = c->naddrs; /* the other addresses would fail alike */
      return -1;
    }
  }
  int e = 0;
  if (connect(fd, sa, salen) == 0) {
    /* Possible on loopback; reported from the loop like any other outcome. */
    e = set_nodelay(c, fd);
    if (e == 0) {
      win(c, fd, index);
      return 0;
    }
  } else if (errno != EINPROGRESS && errno != EINTR && !(c->unix_len && errno == EAGAIN)) {
    /* EINTR: the connect goes on asynchronously, like EINPROGRESS (and
     * EAGAIN on a Unix socket: its backlog is full, writability says when). */
    e = errno;
  }
  attempt *a = e == 0 ? attempt_slot(c) : NULL;
  if (e == 0 && !a) e = ENOMEM; /* callers keep nattempts below the cap: no memory for more */
  if (e == 0) {
    fl__io_init(&a->io, on_writable, fd);
    int rc = fl__io_start(c->loop, &a->io, FL__POLLOUT);
    if (rc != 0) e = rc == FL_ENOMEM ? ENOMEM : EBADF; /* EBADF: the fd is someone else's */
  }
  if (e != 0) {
    close_fd(fd);
    note_failure(c, addr, e);
    return -1;
  }
  a->active = 1;
  a->addr_index = index;
  c->nattempts++;
  return 1;
}

/* Start addresses until one is in progress, one connected at once, or none is
 * left; arm the delay timer for the next. Returns 1 when the outcome is known
 * (c->fd set, or every address failed): the caller reports it. */
static int start_next(fl__connector *c) {
  while (c->next < c->naddrs && c->nattempts < FL__CONNECT_MAX_ATTEMPTS) {
    int r = attempt_start(c);
    if (r == 0) return 1;
    if (r > 0) {
      if (c->next < c->naddrs) {
        /* Without a timer (ENOMEM) the next address waits for a failure; the
         * caller's connect timeout still bounds the whole thing. */
        if (fl__timer_start(&c->delay_timer, c->delay_ms) != 0) fl__timer_stop(&c->delay_timer);
      } else {
        fl__timer_stop(&c->delay_timer);
      }
      return 0;
    }
  }
  if (c->next >= c->naddrs) fl__timer_stop(&c->delay_timer);
  return c->nattempts == 0 && c->next >= c->naddrs;
}

static void on_writable(fl_loop *loop, fl__io *io, uint32_t events) {
  FL__UNUSED(loop);
  attempt *a = fl__container_of(io, attempt, io);
  fl__connector *c = a->owner;
  int fd = io->fd;
  int e = 0;
  socklen_t len = sizeof e;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
    e = errno;
  else if (e == 0 && !(events & FL__POLLOUT))
    e = ECONNRESET; /* hang-up without a recorded error */
  if (e == 0) e = set_nodelay(c, fd);
  if (e == 0) {
    size_t index = a->addr_index;
    fl__io_close(c->loop, io); /* the caller registers its own watcher on fd */
    a->active = 0;
    a->io.fd = -1;
    c->nattempts--;
    win(c, fd, index);
    report(c);
    return;
  }

  note_failure(c, &c->addrs[a->addr_index], e);
  attempt_close(c, a);
  if (c->next < c->naddrs && (c->nattempts == 0 || !fl__timer_active(&c->delay_timer))) {
    if (start_next(c)) report(c);
    return;
  }
  if (c->nattempts == 0) report(c); /* every address tried, every attempt failed */
}

static void on_delay(fl__timer *t) {
  fl__connector *c = fl__container_of(t, fl__connector, delay_timer);
  if (c->nattempts >= FL__CONNECT_MAX_ATTEMPTS) return; /* due: the next failure starts it */
  if (start_next(c)) report(c);
}

static void on_deferred(fl__defer *d) { report(fl__container_of(d, fl__connector, fail_defer)); }

static int connect_start(fl_loop *loop, fl__connector *c, const fl__sockaddr *addrs, size_t naddrs,
                         uint32_t attempt_delay_ms, fl__connect_cb cb, void *data);

int fl__connect_start(fl_loop *loop, fl__connector *c, const fl__sockaddr *addrs, size_t naddrs,
                      uint32_t attempt_delay_ms, fl__connect_cb cb, void *data) {
  return fl__connect_start_opts(loop, c, addrs, naddrs, attempt_delay_ms, NULL, cb, data);
}

int fl__connect_start_opts(fl_loop *loop, fl__connector *c, const fl__sockaddr *addrs,
                           size_t naddrs, uint32_t attempt_delay_ms, const fl__sock_opts *sopts,
                           fl__connect_cb cb, void *data) {
  if (c) {
    c->unix_len = 0;
    c->unix_target = NULL; /* a Unix target is freed when its connect ends */
    c->sopts = sopts;
  }
  return connect_start(loop, c, addrs, naddrs, attempt_delay_ms, cb, data);
}

static int connect_start(fl_loop *loop, fl__connector *c, const fl__sockaddr *addrs, size_t naddrs,
                         uint32_t attempt_delay_ms, fl__connect_cb cb, void *data) {
  if (!c) return FL_EINVAL;
  c->running = 0;
  c->fd = -1;
  c->err = FL_EINVAL;
  c->errmsg[0] = '\0';
  if (!loop || !addrs || naddrs == 0 || !cb) return FL_EINVAL;

  c->err = 0;
  memset(&c->remote, 0, sizeof c->remote);
  c->loop = loop;
  c->cb = cb;
  c->data = data;
  c->addrs = addrs;
  c->naddrs = naddrs;
  c->next = 0;
  c->delay_ms = attempt_delay_ms;
  fl__timer_init(loop, &c->delay_timer, on_delay);
  fl__defer_init(&c->fail_defer, on_deferred);
  c->nattempts = 0;
  c->more = NULL; /* freed when the last connect ended */
  for (size_t i = 0; i < FL__CONNECT_INLINE_ATTEMPTS; i++) {
    c->first[i].active = 0;
    c->first[i].io.fd = -1;
    c->first[i].owner = c;
  }
  c->last_errno = 0;
  c->hard_err = 0;
  c->running = 1;
  if (start_next(c)) fl__defer_schedule(loop, &c->fail_defer);
  return 0;
}

int fl__connect_start_unix(fl_loop *loop, fl__connector *c, const char *path, int abstract,
                           const fl__sock_opts *sopts, fl__connect_cb cb, void *data) {
  size_t n = path ? strlen(path) : 0;
  if (!c) return FL_EINVAL;
  c->unix_len = 0;
  c->sopts = sopts;
  struct sockaddr_un *sun = NULL;
  if (n == 0 || n + (abstract ? 1 : 0) >= sizeof sun->sun_path) {
    c->running = 0;
    c->fd = -1;
    c->err = FL_EINVAL;
    fl__msg(c->errmsg, sizeof c->errmsg, "bad Unix socket path");
    return FL_EINVAL;
  }
  struct fl__connect_unix *u = calloc(1, sizeof *u);
  if (!u) {
    c->running = 0;
    c->fd = -1;
    c->err = FL_ENOMEM;
    fl__msg(c->errmsg, sizeof c->errmsg, "out of memory connecting to a Unix socket");
    return FL_ENOMEM;
  }
  sun = &u->addr;
  sun->sun_family = AF_UNIX;
  memcpy(sun->sun_path + (abstract ? 1 : 0), path, n); /* abstract: a leading NUL */
  c->unix_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (abstract ? 1 : 0) +
                            (abstract ? 0 : 1));
  u->stub.sa.sa_family = AF_UNIX;
  c->unix_target = u;
  int err = connect_start(loop, c, &u->stub, 1, 0, cb, data);
  if (err) {
    free(u);
    c->unix_target = NULL;
  }
  return err;
}

void fl__connect_cancel(fl__connector *c) {
  if (!c || !c->running) return;
  c->running = 0;
  close_all(c);
  free_more(c);
  fl__defer_cancel(&c->fail_defer);
  if (c->fd >= 0) {
    /* connected at once, report still pending: nobody else owns it yet */
    close_fd(c->fd);
    c->fd = -1;
  }
}

/* ------------------------------------------------------------- transport */

static ssize_t tcp_read(fl__transport *t, char *buf, size_t len) {
  return recv(t->fd, buf, len, 0);
}

static ssize_t tcp_writev(fl__transport *t, const struct iovec *iov, int iovcnt) {
  struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
  return sendmsg(t->fd, &msg, MSG_NOSIGNAL);
}

const fl__transport_ops fl__tcp_transport_ops = {.read = tcp_read, .writev = tcp_writev};

void fl__transport_close(fl__transport *t) {
  if (t->ops && t->ops->close)
    t->ops->close(t);
  else if (t->fd >= 0)
    close_fd(t->fd);
  fl__transport_init(t);
}
