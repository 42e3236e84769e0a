/* The fixture servers answer: a plain-socket HTTP GET to httpbin and nginx
 * (also over [::1] when available), and hand-built DNS queries to dnsmasq
 * for the records tests rely on (see tests/servers/dnsmasq.sh). Also starts
 * and stops the fault server when its script exists. */
/* FIXTURES: httpbin nginx dnsmasq */
/* LABELS: valgrind */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "test.h"

static void set_timeouts(int fd) {
  struct timeval tv = {5, 0};
  CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
  CHECK(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0);
}

static int connect_to(int family, int port) {
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK(fd >= 0);
  set_timeouts(fd);
  if (family == AF_INET6) {
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
    a.sin6_addr = in6addr_loopback;
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
  } else {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
  }
  return fd;
}

/* GET path with Connection: close; the whole response into buf. */
static size_t http_get(int family, int port, const char *path, char *buf, size_t cap) {
  int fd = connect_to(family, port);
  char req[256];
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: fixture\r\nConnection: close\r\n\r\n",
                   path);
  CHECK(send(fd, req, (size_t)n, MSG_NOSIGNAL) == n);
  size_t len = 0;
  for (;;) {
    CHECK(len < cap - 1);
    ssize_t r = recv(fd, buf + len, cap - 1 - len, 0);
    CHECK(r >= 0);
    if (r == 0) break;
    len += (size_t)r;
  }
  buf[len] = '\0';
  close(fd);
  return len;
}

static void check_http(void) {
  static char buf[65536];
  http_get(AF_INET, fl_test_server_port("httpbin"), "/get", buf, sizeof buf);
  CHECK(strncmp(buf, "HTTP/1.1 200 ", 13) == 0);
  CHECK(strstr(buf, "\"url\"") != NULL);

  int nginx = fl_test_server_port("nginx");
  size_t len = http_get(AF_INET, nginx, "/hello", buf, sizeof buf);
  CHECK(strncmp(buf, "HTTP/1.1 200 ", 13) == 0);
  CHECK(strstr(buf, "\r\nContent-Length: 13\r\n") != NULL);
  CHECK(len > 13);
  CHECK_EQ_STR(buf + len - 13, "Hello, World!");

  http_get(AF_INET, nginx, "/status/404", buf, sizeof buf);
  CHECK(strncmp(buf, "HTTP/1.1 404 ", 13) == 0);
  http_get(AF_INET, nginx, "/chunked", buf, sizeof buf);
  CHECK(strstr(buf, "\r\nTransfer-Encoding: chunked\r\n") != NULL);

  if (fl_test_ipv6_available()) {
    http_get(AF_INET6, nginx, "/hello", buf, sizeof buf);
    CHECK(strncmp(buf, "HTTP/1.1 200 ", 13) == 0);
  }
}

/* One DNS query over UDP; returns the rcode, and the first A record (or 0)
 * through *addr and its TTL through *ttl. */
static int dns_query_a(int port, const char *name, uint32_t *addr, uint32_t *ttl, int *answers) {
  unsigned char q[512], r[512];
  size_t n = 0;
  const uint16_t id = 0x4242;
  unsigned char hdr[12] = {id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  memcpy(q, hdr, sizeof hdr);
  n = sizeof hdr;
  for (const char *p = name; *p;) {
    const char *dot = strchr(p, '.');
    size_t l = dot ? (size_t)(dot - p) : strlen(p);
    q[n++] = (unsigned char)l;
    memcpy(q + n, p, l);
    n += l;
    p += l + (dot ? 1 : 0);
  }
  q[n++] = 0;
  q[n++] = 0, q[n++] = 1; /* QTYPE A */
  q[n++] = 0, q[n++] = 1; /* QCLASS IN */

  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  CHECK(fd >= 0);
  set_timeouts(fd);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(sendto(fd, q, n, 0, (struct sockaddr *)&a, sizeof a) == (ssize_t)n);
  ssize_t got = recv(fd, r, sizeof r, 0);
  close(fd);
  CHECK(got >= 12);
  CHECK(r[0] == (id >> 8) && r[1] == (id & 0xff));
  CHECK(r[2] & 0x80); /* QR: a response */

  *answers = r[6] << 8 | r[7];
  *addr = 0;
  *ttl = 0;
  size_t off = n; /* the question is echoed as sent */
  for (int i = 0; i < *answers && off + 12 <= (size_t)got; i++) {
    off += 2; /* compressed name pointer */
    int type = r[off] << 8 | r[off + 1];
    uint32_t t = (uint32_t)r[off + 4] << 24 | (uint32_t)r[off + 5] << 16 |
                 (uint32_t)r[off + 6] << 8 | r[off + 7];
    int rdlen = r[off + 8] << 8 | r[off + 9];
    off += 10;
    if (type == 1 && rdlen == 4 && !*addr) {
      memcpy(addr, r + off, 4);
      *ttl = t;
    }
    off += (size_t)rdlen;
  }
  return r[3] & 0x0f;
}

static void check_dns(void) {
  int port = fl_test_server_port("dnsmasq");
  uint32_t addr, ttl;
  int answers;
  CHECK_EQ_INT(dns_query_a(port, "a.test", &addr, &ttl, &answers), 0);
  CHECK_EQ_INT(answers, 1);
  CHECK_EQ_INT(addr, htonl(INADDR_LOOPBACK));
  CHECK_EQ_INT(ttl, 600);
  CHECK_EQ_INT(dns_query_a(port, "ttl2.test", &addr, &ttl, &answers), 0);
  CHECK_EQ_INT(ttl, 2);
  CHECK_EQ_INT(dns_query_a(port, "many.test", &addr, &ttl, &answers), 0);
  CHECK_EQ_INT(answers, 3);
  CHECK_EQ_INT(dns_query_a(port, "six.test", &addr, &ttl, &answers), 0);
  CHECK_EQ_INT(answers, 0);
  CHECK_EQ_INT(dns_query_a(port, "nope.test", &addr, &ttl, &answers), 3); /* NXDOMAIN */
  CHECK_EQ_INT(dns_query_a(port, "fail.test", &addr, &ttl, &answers), 2); /* SERVFAIL */
}

static void check_fault_server(void) {
  char script[4096];
  const char *src = getenv("FL_TEST_SRCDIR");
  CHECK(src != NULL);
  snprintf(script, sizeof script, "%s/support/fault_server.py", src);
  if (access(script, R_OK) != 0) {
    printf("fault_server.py not there yet; not checked\n");
    return;
  }
  int before = fl_test_count_fds();
  int port = fl_test_fault_start();
  CHECK(port > 0);
  CHECK_EQ_INT(fl_test_count_fds(), before);
  close(connect_to(AF_INET, port));
  fl_test_fault_stop();
  CHECK_EQ_INT(fl_test_count_fds(), before);
}

int main(void) {
  FL_TEST_BEGIN();
  check_http();
  check_dns();
  check_fault_server();
  FL_TEST_END();
}
