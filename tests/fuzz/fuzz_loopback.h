/* For the fuzz targets that run a real client against a loopback listener
 * of their own (fuzz_response.c, fuzz_h2.c, fuzz_ws.c): the listener, and the count of
 * descriptors a leaking client would leave behind. Included once per
 * target, so its functions are static. */
#ifndef FUZZ_LOOPBACK_H
#define FUZZ_LOOPBACK_H

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#endif
