/* For the fuzz targets that run a real client against a loopback listener
 * of their own (fuzz_response.c, fuzz_h2.c, fuzz_ws.c): the listener, the count of
 * descriptors a leaking client would leave behind, and the loop that drives
 * client and scripted server in turns. Included once per
 * target, so its functions are static. */
#ifndef FUZZ_LOOPBACK_H
#define FUZZ_LOOPBACK_H

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

/* A nonblocking listener on 127.0.0.1, an ephemeral port in *port; -1 if
 * it cannot be made. */
static int fz_listen_loopback(int *port) {
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 64) != 0 ||
      getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(sa.sin_port);
  return fd;
}

/* Sockets, epoll, eventfd and timer fds of this process, except_fd (the
 * listener) excepted; -1 if /proc/self/fd cannot be read. */
static int fz_count_fds(int except_fd) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return -1;
  int n = 0, self = dirfd(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    int fd = atoi(e->d_name);
    if (fd == self || fd == except_fd) continue;
    char path[64], target[128];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t k = readlink(path, target, sizeof target - 1);
    if (k <= 0) continue;
    target[k] = '\0';
    if (strncmp(target, "socket:", 7) == 0 || strncmp(target, "anon_inode:", 11) == 0) n++;
  }
  closedir(d);
  return n;
}

static inline long long fz_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A target's scripted server: one step of its I/O (1 if anything moved),
 * whether it still has bytes to send, and closing its oldest connection
 * (1 if there was one). */
typedef struct fz_server_ops {
  int (*step)(void *server);
  int (*pending)(const void *server);
  int (*close_oldest)(void *server);
} fz_server_ops;

/* Client loop and server in turns until *finished reaches want. When
 * nothing moves, time passes a little (a poll on the listener lfd), then
 * the oldest server connection closes, so a stalled exchange ends. NULL,
 * or what went wrong (requests left hanging with every connection closed,
 * or an input running past 20 s). */
static inline const char *fz_drive(fl_loop *loop, const int *finished, int want, int lfd,
                                   const fz_server_ops *ops, void *server) {
  long long quiet_since = 0, start = fz_now_ms();
  int idle = 0;
  while (*finished < want) {
    fl_loop_run(loop, FL_RUN_NOWAIT);
    if (*finished >= want) break;
    if (ops->step(server)) {
      idle = 0;
      quiet_since = 0;
      continue;
    }
    if (++idle < 20) continue;
    struct pollfd pf = {lfd, POLLIN, 0};
    poll(&pf, 1, 1);
    if (idle < 40 || ops->pending(server)) continue;
    idle = 0;
    if (ops->close_oldest(server)) continue;
    if (!quiet_since) quiet_since = fz_now_ms();
    if (fz_now_ms() - quiet_since > 3000) return "requests never completed after the server closed";
    if (fz_now_ms() - start > 20000) return "input took over 20 s";
  }
  return NULL;
}

#endif
