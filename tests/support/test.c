/* Test support: fd counting, fixture servers, the fault server. See test.h. */
#define _GNU_SOURCE
#include "test.h"

#include "flurry.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int fl_test_fds_at_start_;

#define FAULT_MAX 8
#define FAULT_START_TIMEOUT_MS 20000 /* a python start on a loaded CI machine */
#define FAULT_STOP_TIMEOUT_MS 5000

static struct fault_server {
  pid_t pid;
  char port_file[4096];
} faults[FAULT_MAX];
static int nfaults;
static int atexit_registered;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("test support: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *env_dir(const char *name) {
  const char *v = getenv(name);
  if (!v || !*v) die("%s is not set: run the tests through ctest", name);
  return v;
}

int fl_test_count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) die("opendir /proc/self/fd: %s", strerror(errno));
  int self = dirfd(d), n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    if (atoi(e->d_name) == self) continue;
    n++;
  }
  closedir(d);
  return n;
}

const char *fl_test_rundir_path(const char *file) {
  static char buf[4096];
  int n = snprintf(buf, sizeof buf, "%s/%s", env_dir("FL_TEST_RUNDIR"), file);
  if (n < 0 || (size_t)n >= sizeof buf)
    die("path too long: %s/%s", env_dir("FL_TEST_RUNDIR"), file);
  return buf;
}

/* Reads a decimal port from path. Returns the port, 0 if the file is absent
 * or does not hold a whole number yet, -1 if it holds garbage. *complete is
 * set when the number is followed by a newline. */
static int read_port_file(const char *path, int *complete) {
  char text[32];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  *complete = 0;
  if (fd < 0) return 0;
  ssize_t n;
  do {
    n = read(fd, text, sizeof text - 1);
  } while (n < 0 && errno == EINTR);
  close(fd);
  if (n <= 0) return 0;
  text[n] = '\0';
  char *end;
  long port = strtol(text, &end, 10);
  if (end == text) return -1;
  if (*end == '\n')
    *complete = 1;
  else if (*end != '\0' && *end != '\r' && *end != ' ')
    return -1;
  if (port < 1 || port > 65535) return -1;
  return (int)port;
}

int fl_test_server_port(const char *name) {
  char file[256], path[4096];
  snprintf(file, sizeof file, "%s.port", name);
  snprintf(path, sizeof path, "%s", fl_test_rundir_path(file));
  int complete;
  int port = read_port_file(path, &complete);
  if (port <= 0)
    die("fixture server '%s' is not running (no port in %s); declare it in the test "
        "source with a line /* FIXTURES: %s */ and run through ctest",
        name, path, name);
  return port;
}

int fl_test_ipv6_available(void) {
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  struct sockaddr_in6 a;
  memset(&a, 0, sizeof a);
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
  close(fd);
  return ok;
}

void fl_test_skip(const char *why) {
  printf("skipped: %s\n", why);
  fflush(stdout);
  fl_test_fault_stop();
  exit(77);
}

/* ------------------------------------------------------------ fault server */

static void close_fds_from(int lowfd) {
  if (close_range((unsigned)lowfd, ~0U, 0) == 0) return;
  long max = sysconf(_SC_OPEN_MAX);
  if (max < 0 || max > 65536) max = 65536;
  for (int fd = lowfd; fd < max; fd++) close(fd);
}

/* In the child between fork and exec: async-signal-safe calls only. */
static void exec_fault_server(pid_t parent, const char *python, char *const argv[]) {
  /* Die with the test, also when it crashes or is killed by ctest. */
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent) _exit(126);
  setpgid(0, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGTERM, &dfl, NULL);
  sigaction(SIGINT, &dfl, NULL);
  sigaction(SIGPIPE, &dfl, NULL);
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0 && devnull != 0) {
    dup2(devnull, 0);
    close(devnull);
  }
  close_fds_from(3); /* stdout/stderr stay: the server's messages join the test's */
  if (strchr(python, '/'))
    execv(python, argv);
  else
    execvp(python, argv);
  _exit(127);
}

static void reap(struct fault_server *f) {
  if (f->pid <= 0) return;
  if (kill(-f->pid, SIGTERM) != 0) kill(f->pid, SIGTERM);
  long long deadline = now_ms() + FAULT_STOP_TIMEOUT_MS;
  for (;;) {
    pid_t r = waitpid(f->pid, NULL, WNOHANG);
    if (r == f->pid || (r < 0 && errno == ECHILD)) break;
    if (r < 0 && errno != EINTR) break;
    if (now_ms() >= deadline) {
      fprintf(stderr, "test support: fault server %d ignored SIGTERM; killing it\n", (int)f->pid);
      if (kill(-f->pid, SIGKILL) != 0) kill(f->pid, SIGKILL);
      while (waitpid(f->pid, NULL, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    sleep_ms(5);
  }
  unlink(f->port_file);
  f->pid = 0;
}

static void fault_stop_at_exit(void) { fl_test_fault_stop(); }

int fl_test_fault_start(void) { return fl_test_script_start("fault_server.py", NULL); }

int fl_test_script_start(const char *name, const char *extra_arg) {
  static unsigned seq;
  if (nfaults == FAULT_MAX) die("more than %d fault servers at once", FAULT_MAX);

  char script[4096];
  snprintf(script, sizeof script, "%s/support/%s", env_dir("FL_TEST_SRCDIR"), name);
  if (access(script, R_OK) != 0) die("%s: %s", script, strerror(errno));

  const char *dir = getenv("FL_TEST_RUNDIR");
  if (!dir || !*dir) dir = getenv("TMPDIR");
  if (!dir || !*dir) dir = "/tmp";
  struct fault_server *f = &faults[nfaults];
  snprintf(f->port_file, sizeof f->port_file, "%s/fault.%d.%u.port", dir, (int)getpid(), seq++);
  unlink(f->port_file);

  const char *python = getenv("FL_TEST_PYTHON");
  if (!python || !*python)
    python = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
  char *argv[] = {(char *)python, script, "--port-file", f->port_file, (char *)extra_arg, NULL};

  if (!atexit_registered) {
    atexit(fault_stop_at_exit);
    atexit_registered = 1;
  }
  fflush(NULL);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) exec_fault_server(parent, python, argv);
  f->pid = pid;
  nfaults++;

  /* The server writes its port once it listens. A number without its
   * newline may be a partial write: accept it only once it stops changing. */
  long long deadline = now_ms() + FAULT_START_TIMEOUT_MS;
  int last = 0;
  for (;;) {
    int status;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      f->pid = 0;
      die("fault server exited during startup (%s %d)",
          WIFEXITED(status) ? "exit status" : "signal",
          WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    }
    int complete;
    int port = read_port_file(f->port_file, &complete);
    if (port < 0) die("fault server wrote garbage to %s", f->port_file);
    if (port > 0 && (complete || port == last)) return port;
    last = port;
    if (now_ms() >= deadline)
      die("fault server did not write %s within %d s", f->port_file, FAULT_START_TIMEOUT_MS / 1000);
    sleep_ms(port > 0 ? 50 : 10);
  }
}

int fl_test_h2_server_start(int tls) {
  if (!tls) return fl_test_script_start("h2_server.py", NULL);
  char arg[4200];
  snprintf(arg, sizeof arg, "--tls-dir=%s", fl_test_rundir_path("nginx_tls"));
  return fl_test_script_start("h2_server.py", arg);
}

void fl_test_fault_stop(void) {
  while (nfaults > 0) reap(&faults[--nfaults]);
}

/* ------------------------------------------------------------- DNS sink */

int fl_test_udp_sink_open(char *servers, size_t cap) {
  struct sockaddr_in sa;
  socklen_t len = sizeof sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
      getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
    die("DNS sink socket: %s", strerror(errno));
  snprintf(servers, cap, "127.0.0.1:%d", ntohs(sa.sin_port));
  return fd;
}

int fl_test_udp_sink_drain(int fd) {
  char buf[600];
  int n = 0;
  while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) >= 0) n++;
  if (errno != EAGAIN && errno != EWOULDBLOCK) die("DNS sink recv: %s", strerror(errno));
  return n;
}

fl_request *fl_test_perform(fl_client *client, fl_request *req, int expect) {
  CHECK(req);
  int err = fl_request_perform(client, req);
  if (err != expect) {
    fprintf(stderr, "%s %s: got %s (%s), want %s\n", fl_request_method(req), fl_request_url(req),
            fl_err_name(err), fl_request_errmsg(req), fl_err_name(expect));
    exit(1);
  }
  if (err) CHECK(fl_request_errmsg(req)[0] != '\0');
  return req;
}

fl_request *fl_test_get(fl_client *client, const char *url, int expect) {
  return fl_test_perform(client, fl_request_new("GET", url), expect);
}
