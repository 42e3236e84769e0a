/* ws_floor: the smallest WebSocket echo client there can be, as the floor of
 * bench/harness/ws.sh. libc only: one blocking TCP socket, the upgrade
 * written and checked by hand (the accept key with a SHA-1 of its own), then
 * for each message one write(2) of a masked text frame (a fresh mask each
 * time, as RFC 6455 asks) and read(2)s until the echo frame is whole. No
 * event loop, no buffering layer, no allocation after the start: what any
 * client must pay per echo on this kernel (two syscalls and the TCP/loopback
 * work behind them, the sleep and the wake-up), and little more. Its
 * messages per CPU-second bound what flurry-bench (or any client) can reach
 * against the same server; over aiohttp's, in the same run, it is the
 * ceiling of the ratio the issue asks about.
 *
 *   ws_floor ws://IP:PORT/PATH -s SIZE (-n MESSAGES | -d SECONDS)
 *
 * Prints one JSON line in ws_peer.py's shape: messages, errors, seconds (the
 * echo window: after the upgrade, before the close), cpu_s (this process's
 * user + system CPU over that window, getrusage), total_cpu_s. Exit 0 when
 * every echo came back whole and of the right size, 1 otherwise.
 *
 * Only what the benchmark needs: IP literals (no DNS), no TLS, no
 * extensions (none offered), a server that answers each message with one
 * unfragmented frame; a ping is answered, anything else unexpected ends the
 * run as an error. */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SIZE (1u << 20)

static int fd = -1;
static unsigned char rbuf[MAX_SIZE + 64];
static size_t rlen; /* bytes in rbuf */
static unsigned char wbuf[MAX_SIZE + 16];

static void die(const char *what) {
  fprintf(stderr, "ws_floor: %s\n", what);
  printf("{\"client\": \"ws_floor\", \"messages\": 0, \"errors\": 1, \"seconds\": 0, "
         "\"cpu_s\": 0, \"error\": \"%s\"}\n",
         what);
  exit(1);
}

/* ------------------------------------------------ SHA-1 (FIPS 180-4), base64 */

static uint32_t rol(uint32_t x, int n) { return x << n | x >> (32 - n); }

static void sha1_block(uint32_t h[5], const unsigned char *p) {
  uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
           p[4 * i + 3];
  for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  for (int i = 0; i < 80; i++) {
    uint32_t f, k;
    if (i < 20)
      f = (b & c) | (~b & d), k = 0x5a827999;
    else if (i < 40)
      f = b ^ c ^ d, k = 0x6ed9eba1;
    else if (i < 60)
      f = (b & c) | (b & d) | (c & d), k = 0x8f1bbcdc;
    else
      f = b ^ c ^ d, k = 0xca62c1d6;
    uint32_t t = rol(a, 5) + f + e + k + w[i];
    e = d, d = c, c = rol(b, 30), b = a, a = t;
  }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

/* out: 20 bytes. Short inputs only (the key and the GUID: 60 bytes). */
static void sha1(const char *msg, size_t n, unsigned char out[20]) {
  uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
  unsigned char blk[128] = {0};
  size_t full = n / 64 * 64;
  for (size_t i = 0; i < full; i += 64) sha1_block(h, (const unsigned char *)msg + i);
  size_t rest = n - full, nb = rest < 56 ? 64 : 128;
  memcpy(blk, msg + full, rest);
  blk[rest] = 0x80;
  uint64_t bits = (uint64_t)n * 8;
  for (int i = 0; i < 8; i++) blk[nb - 1 - i] = (unsigned char)(bits >> (8 * i));
  for (size_t i = 0; i < nb; i += 64) sha1_block(h, blk + i);
  for (int i = 0; i < 20; i++) out[i] = (unsigned char)(h[i / 4] >> (24 - 8 * (i % 4)));
}

static void base64(const unsigned char *in, size_t n, char *out) {
  static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                 (i + 2 < n ? in[i + 2] : 0);
    *out++ = t[v >> 18 & 63];
    *out++ = t[v >> 12 & 63];
    *out++ = i + 1 < n ? t[v >> 6 & 63] : '=';
    *out++ = i + 2 < n ? t[v & 63] : '=';
  }
  *out = 0;
}

/* ------------------------------------------------------------- socket I/O */

static void write_all(const void *p, size_t n) {
  const char *c = p;
  while (n) {
    ssize_t k = write(fd, c, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) die("write failed");
    c += k, n -= (size_t)k;
  }
}

/* One read(2) more into rbuf; dies at EOF. */
static void read_more(void) {
  if (rlen == sizeof rbuf) die("frame too big");
  for (;;) {
    ssize_t k = read(fd, rbuf + rlen, sizeof rbuf - rlen);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) die("read failed");
    if (k == 0) die("the server closed the connection");
    rlen += (size_t)k;
    return;
  }
}

static void consume(size_t n) {
  memmove(rbuf, rbuf + n, rlen - n);
  rlen -= n;
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint32_t next_mask(void) { /* xorshift64*: fresh per frame, no syscall */
  rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
  return (uint32_t)((rng * 0x2545f4914f6cdd1du) >> 32);
}

/* One masked frame of `n` payload bytes (wbuf is written whole in one go). */
static size_t frame(int opcode, const unsigned char *payload, size_t n) {
  size_t h = 0;
  wbuf[h++] = (unsigned char)(0x80 | opcode);
  if (n < 126) {
    wbuf[h++] = (unsigned char)(0x80 | n);
  } else if (n < 65536) {
    wbuf[h++] = 0x80 | 126;
    wbuf[h++] = (unsigned char)(n >> 8), wbuf[h++] = (unsigned char)n;
  } else {
    wbuf[h++] = 0x80 | 127;
    for (int i = 7; i >= 0; i--) wbuf[h++] = (unsigned char)((uint64_t)n >> (8 * i));
  }
  uint32_t m = next_mask();
  unsigned char mk[4] = {(unsigned char)(m >> 24), (unsigned char)(m >> 16),
                         (unsigned char)(m >> 8), (unsigned char)m};
  memcpy(wbuf + h, mk, 4);
  h += 4;
  for (size_t i = 0; i < n; i++) wbuf[h + i] = payload[i] ^ mk[i & 3];
  return h + n;
}

/* Read one whole frame; returns its opcode, sets *len and *off (the payload
 * in rbuf); the caller consumes off + len. */
static int read_frame(size_t *off, size_t *len) {
  for (;;) {
    if (rlen >= 2) {
      if (rbuf[1] & 0x80) die("masked frame from the server");
      if ((rbuf[0] & 0x80) == 0) die("fragmented frame (not expected from the echo server)");
      size_t h = 2;
      uint64_t n = rbuf[1] & 0x7f;
      if (n == 126) {
        h = 4;
        if (rlen >= h) n = (uint64_t)rbuf[2] << 8 | rbuf[3];
      } else if (n == 127) {
        h = 10;
        if (rlen >= h) {
          n = 0;
          for (int i = 2; i < 10; i++) n = n << 8 | rbuf[i];
        }
      }
      if (n > MAX_SIZE) die("frame too big");
      if (rlen >= h && rlen >= h + n) {
        *off = h;
        *len = (size_t)n;
        return rbuf[0] & 0x0f;
      }
    }
    read_more();
  }
}

/* ---------------------------------------------------------------- upgrade */

static void connect_and_upgrade(const char *url) {
  if (strncmp(url, "ws://", 5)) die("only ws://IP:PORT/PATH URLs");
  const char *hp = url + 5, *slash = strchr(hp, '/');
  const char *path = slash ? slash : "/";
  char hostport[128];
  size_t hl = slash ? (size_t)(slash - hp) : strlen(hp);
  if (hl == 0 || hl >= sizeof hostport) die("bad URL");
  memcpy(hostport, hp, hl);
  hostport[hl] = 0;
  char host[128], *colon = strrchr(hostport, ':');
  const char *port = "80";
  snprintf(host, sizeof host, "%s", hostport);
  if (colon && !strchr(colon, ']')) {
    host[colon - hostport] = 0;
    port = colon + 1;
  }
  if (host[0] == '[') { /* [v6] */
    memmove(host, host + 1, strlen(host));
    char *rb = strchr(host, ']');
    if (rb) *rb = 0;
  }
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
  struct addrinfo *ai;
  if (getaddrinfo(host, port, &hints, &ai)) die("the host must be an IP literal");
  fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen)) die("connect failed");
  freeaddrinfo(ai);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  unsigned char nonce[16];
  if (getrandom(nonce, sizeof nonce, 0) != (ssize_t)sizeof nonce) die("getrandom failed");
  memcpy(&rng, nonce, sizeof rng);
  rng |= 1;
  char key[32], req[1024];
  base64(nonce, sizeof nonce, key);
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
                   path, hostport, key);
  if (n <= 0 || (size_t)n >= sizeof req) die("URL too long");
  write_all(req, (size_t)n);

  char *end;
  for (;;) {
    rbuf[rlen < sizeof rbuf ? rlen : sizeof rbuf - 1] = 0;
    if ((end = strstr((char *)rbuf, "\r\n\r\n"))) break;
    if (rlen > 16384) die("response head too long");
    read_more();
  }
  *end = 0;
  if (strncmp((char *)rbuf, "HTTP/1.1 101", 12)) die("upgrade refused (no 101)");
  char both[96], want[32];
  unsigned char digest[20];
  snprintf(both, sizeof both, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
  sha1(both, strlen(both), digest);
  base64(digest, sizeof digest, want);
  /* header names are case-insensitive: find the value after the name */
  int ok = 0;
  for (char *line = strstr((char *)rbuf, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
    if (strncasecmp(line + 2, "Sec-WebSocket-Accept:", 21)) continue;
    char *v = line + 2 + 21;
    while (*v == ' ' || *v == '\t') v++;
    ok = !strncmp(v, want, strlen(want)) &&
         (v[strlen(want)] == '\r' || v[strlen(want)] == 0 || v[strlen(want)] == ' ');
  }
  if (!ok) die("bad Sec-WebSocket-Accept");
  consume((size_t)(end + 4 - (char *)rbuf)); /* bytes after the head stay */
}

/* ------------------------------------------------------------------- main */

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts); /* vDSO: no syscall */
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void) {
  fputs("usage: ws_floor ws://IP:PORT/PATH [-s SIZE] (-n MESSAGES | -d SECONDS)\n", stderr);
  exit(2);
}

int main(int argc, char **argv) {
  const char *url = NULL;
  unsigned long size = 64, count = 0;
  double duration = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-s") && i + 1 < argc)
      size = strtoul(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "-n") && i + 1 < argc)
      count = strtoul(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "-d") && i + 1 < argc)
      duration = strtod(argv[++i], NULL);
    else if (argv[i][0] != '-' && !url)
      url = argv[i];
    else
      usage();
  }
  if (!url || (!count && !(duration > 0)) || size > MAX_SIZE) usage();

  static unsigned char payload[MAX_SIZE];
  for (unsigned long i = 0; i < size; i++) payload[i] = (unsigned char)('a' + i % 26);
  connect_and_upgrade(url);

  unsigned long done = 0, errors = 0;
  double c0 = cpu_s(), t0 = mono_s(), deadline = t0 + duration, t1 = t0;
  while (count ? done < count : (t1 = mono_s()) < deadline) {
    write_all(wbuf, frame(0x1, payload, size));
    for (;;) {
      size_t off, len;
      int op = read_frame(&off, &len);
      if (op == 0x9) { /* ping: pong with its payload, then go on waiting */
        unsigned char p[125];
        memcpy(p, rbuf + off, len);
        consume(off + len);
        write_all(wbuf, frame(0xa, p, len));
        continue;
      }
      if (op == 0xa) { /* unsolicited pong: ignored */
        consume(off + len);
        continue;
      }
      if (op != 0x1 && op != 0x2) die("unexpected frame (a close?) during the run");
      if (len != size || memcmp(rbuf + off, payload, size)) errors++;
      consume(off + len);
      break;
    }
    done++;
  }
  if (count) t1 = mono_s();
  double c1 = cpu_s();

  /* close 1000, and wait for the server's close frame */
  unsigned char code[2] = {0x03, 0xe8};
  write_all(wbuf, frame(0x8, code, 2));
  for (;;) {
    size_t off, len;
    int op = read_frame(&off, &len);
    consume(off + len);
    if (op == 0x8) break;
  }
  close(fd);
  printf("{\"client\": \"ws_floor\", \"messages\": %lu, \"errors\": %lu, \"seconds\": %.6f, "
         "\"cpu_s\": %.6f, \"total_cpu_s\": %.6f}\n",
         done, errors, t1 - t0, c1 - c0, cpu_s());
  return errors ? 1 : 0;
}
