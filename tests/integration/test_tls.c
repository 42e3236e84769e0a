/* HTTPS: verification and its errors, SNI and IP literals, client
 * certificates, keep-alive and session resumption against the nginx_tls
 * fixture (tests/servers/nginx_tls.sh); EOF handling, buffered records and
 * the handshake timeout against a small OpenSSL server run here in a thread.
 */
/* FIXTURES: nginx_tls */
/* TIMEOUT: 120 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "flurry.h"
#include "test.h"

static fl_loop *loop;
static int port;      /* the good server */
static char ca[4200]; /* the test CA */
static char tls_dir[4096];
static char urlbuf[512];

static int variant_port(const char *name) {
  char full[64];
  snprintf(full, sizeof full, "nginx_tls.%s", name);
  return fl_test_server_port(full);
}

static const char *U(const char *host, int p, const char *path) {
  snprintf(urlbuf, sizeof urlbuf, "https://%s:%d%s", host, p, path);
  return urlbuf;
}

static const char *file_in(const char *name) {
  static char buf[4200];
  snprintf(buf, sizeof buf, "%s/%s", tls_dir, name);
  return buf;
}

static fl_client *client_with(const char *ca_file, int insecure) {
  fl_client_options o;
  fl_client_options_init(&o);
  o.ca_file = ca_file;
  o.insecure = insecure;
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  return c;
}

static fl_request *run(fl_client *c, const char *url, int expect) {
  return fl_test_get(c, url, expect);
}

static int status_of(const fl_request *req) { return fl_response_status(fl_request_response(req)); }

static const char *body_of(const fl_request *req, size_t *len) {
  return fl_response_body(fl_request_response(req), len);
}

static void expect_hello(fl_request *req) {
  size_t len;
  CHECK_EQ_INT(status_of(req), 200);
  CHECK_EQ_STR(body_of(req, &len), "Hello, World!");
  CHECK_EQ_INT(len, 13);
}

static void expect_msg(const fl_request *req, const char *part) {
  if (!strstr(fl_request_errmsg(req), part)) {
    fprintf(stderr, "errmsg \"%s\" lacks \"%s\"\n", fl_request_errmsg(req), part);
    exit(1);
  }
}

/* -------------------------------------------------------- against nginx */

static void test_good(void) {
  fl_client *c = client_with(ca, 0);
  fl_request *req = run(c, U("localhost", port, "/hello"), 0);
  expect_hello(req);
  const fl_info *in = fl_request_info(req);
  CHECK(in->connect_us > 0);
  CHECK(in->appconnect_us >= in->connect_us);
  CHECK(in->first_byte_us >= in->appconnect_us);
  CHECK_EQ_INT(in->tls_resumed, 0);
  CHECK_EQ_INT(in->remote_port, port);
  fl_request_free(req);

  /* By address: the certificate's IP SANs are checked, no SNI is sent. */
  fl_request_free(run(c, U("127.0.0.1", port, "/hello"), 0));
  if (fl_test_ipv6_available()) {
    req = run(c, U("[::1]", port, "/get"), 0);
    CHECK_EQ_INT(status_of(req), 200);
    size_t len;
    char host[64];
    snprintf(host, sizeof host, "\"Host\": \"[::1]:%d\"", port);
    CHECK(strstr(body_of(req, &len), host));
    fl_request_free(req);
  }

  /* A 1 MiB download, byte for byte. */
  req = run(c, U("localhost", port, "/files/big.bin"), 0);
  size_t len;
  const char *got = body_of(req, &len);
  CHECK_EQ_INT(len, 1048576);
  FILE *f = fopen(file_in("nginx_tls.files/big.bin"), "rb");
  CHECK(f);
  static char want[1048576];
  CHECK_EQ_INT(fread(want, 1, sizeof want, f), sizeof want);
  fclose(f);
  CHECK(memcmp(got, want, sizeof want) == 0);
  fl_request_free(req);

  /* Uploads: a 1 MiB body from memory (head and body leave in TLS records
   * of one size whatever the socket accepts) and a streamed one. */
  static char big[1 << 20];
  memset(big, 'x', sizeof big);
  req = fl_request_new("POST", U("localhost", port, "/hello"));
  CHECK_EQ_INT(fl_request_set_body(req, big, sizeof big), 0);
  CHECK_EQ_INT(fl_request_perform(c, req), 0);
  expect_hello(req);
  CHECK(fl_request_info(req)->bytes_sent > sizeof big);
  fl_request_free(req);
  req = fl_request_new("POST", U("localhost", port, "/hello"));
  CHECK_EQ_INT(fl_request_set_body(req, "a=1", 3), 0);
  CHECK_EQ_INT(fl_request_perform(c, req), 0);
  expect_hello(req);
  fl_request_free(req);
  fl_client_free(c);
}

static void test_keep_alive(void) {
  fl_client *c = client_with(ca, 0);
  for (int i = 0; i < 5; i++) {
    fl_request *req = run(c, U("localhost", port, "/hello"), 0);
    expect_hello(req);
    CHECK_EQ_INT(fl_request_info(req)->reused, i > 0);
    if (i > 0) CHECK_EQ_INT(fl_request_info(req)->appconnect_us, 0); /* no handshake */
    fl_request_free(req);
  }
  fl_pool_stats st;
  fl_client_pool_stats(c, &st);
  CHECK_EQ_INT(st.created, 1);
  CHECK_EQ_INT(st.reused, 4);
  /* Same server, same port, another name: another pooled connection (it
   * was verified for another name). Then each name reuses its own. */
  fl_request *req = run(c, U("127.0.0.1", port, "/hello"), 0);
  CHECK_EQ_INT(fl_request_info(req)->reused, 0);
  fl_request_free(req);
  req = run(c, U("localhost", port, "/hello"), 0);
  CHECK_EQ_INT(fl_request_info(req)->reused, 1);
  fl_request_free(req);
  fl_client_pool_stats(c, &st);
  CHECK_EQ_INT(st.created, 2);
  CHECK_EQ_INT(st.idle, 2);
  fl_client_free(c);
}

struct pipe_result {
  int done, err;
};

static void pipe_done(fl_request *req, int err, void *data) {
  (void)req;
  struct pipe_result *r = data;
  r->done++;
  r->err = err;
}

/* HTTP/1.1 pipelining over TLS on one connection: twice the depth in GETs of
 * two kinds, each response matched to its request in order; the queued ones
 * take places as responses free them, and requests ready together share a
 * write (TLS record). */
static void test_pipelining(void) {
  enum { DEPTH = 4, N = 2 * DEPTH };
  fl_client_options o;
  fl_client_options_init(&o);
  o.ca_file = ca;
  o.max_connections = 1;
  o.pipeline_depth = DEPTH;
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  fl_request *reqs[N];
  struct pipe_result res[N];
  memset(res, 0, sizeof res);
  char path[64];
  for (int i = 0; i < N; i++) {
    snprintf(path, sizeof path, i % 2 ? "/get?n=%d" : "/hello", i);
    reqs[i] = fl_request_new("GET", U("localhost", port, path));
    CHECK(reqs[i]);
    CHECK_EQ_INT(fl_request_send(c, reqs[i], pipe_done, &res[i]), 0);
  }
  CHECK_EQ_INT(fl_loop_run(loop, FL_RUN_DEFAULT), 0);
  int pipelined = 0;
  for (int i = 0; i < N; i++) {
    CHECK_EQ_INT(res[i].done, 1);
    CHECK_EQ_INT(res[i].err, 0);
    if (i % 2) {
      size_t len;
      const char *body = body_of(reqs[i], &len);
      char want[32];
      snprintf(want, sizeof want, "/get?n=%d\"", i);
      CHECK_EQ_INT(status_of(reqs[i]), 200);
      CHECK(len > 0 && strstr(body, want) != NULL); /* bodies end in a NUL */
    } else {
      expect_hello(reqs[i]);
    }
    pipelined += fl_request_info(reqs[i])->pipelined;
    fl_request_free(reqs[i]);
  }
  fl_pool_stats st;
  fl_client_pool_stats(c, &st);
  CHECK_EQ_INT(st.created, 1);
  CHECK_EQ_INT(pipelined, N - 1);    /* all but the first: the queued ones too */
  CHECK(st.writes <= N - DEPTH + 1); /* the first DEPTH left in one write */
  fl_client_free(c);
}

/* One request on a new connection that the server then closes; returns
 * whether its handshake resumed a session. */
static int closing_request(fl_client *c, const char *url) {
  fl_request *req = fl_request_new("GET", url);
  CHECK(req);
  CHECK_EQ_INT(fl_request_set_header(req, "Connection", "close"), 0);
  int err = fl_request_perform(c, req);
  if (err) {
    fprintf(stderr, "GET %s: %s (%s)\n", url, fl_err_name(err), fl_request_errmsg(req));
    exit(1);
  }
  expect_hello(req);
  CHECK_EQ_INT(fl_request_info(req)->reused, 0);
  CHECK(fl_request_info(req)->appconnect_us > 0);
  int resumed = fl_request_info(req)->tls_resumed;
  fl_request_free(req);
  return resumed;
}

static void test_resumption(void) {
  /* TLS 1.3: each ticket is used once; every connection brings a new one. */
  fl_client *c = client_with(ca, 0);
  const char *url = U("localhost", port, "/hello");
  char good[512];
  snprintf(good, sizeof good, "%s", url);
  CHECK_EQ_INT(closing_request(c, good), 0);
  for (int i = 0; i < 3; i++) CHECK_EQ_INT(closing_request(c, good), 1);
  /* Another name for the same server is another cache key: no resumption
   * (the session was verified for "localhost", not for this name). */
  CHECK_EQ_INT(closing_request(c, U("127.0.0.1", port, "/hello")), 0);
  CHECK_EQ_INT(closing_request(c, U("127.0.0.1", port, "/hello")), 1);
  fl_pool_stats st;
  fl_client_pool_stats(c, &st);
  CHECK_EQ_INT(st.created, 6);
  fl_client_free(c);

  /* TLS 1.2: one session serves several connections. */
  c = client_with(ca, 0);
  int p12 = variant_port("tls12");
  snprintf(good, sizeof good, "%s", U("localhost", p12, "/hello"));
  CHECK_EQ_INT(closing_request(c, good), 0);
  for (int i = 0; i < 3; i++) CHECK_EQ_INT(closing_request(c, good), 1);
  fl_client_free(c);

  /* A new client starts with an empty cache; the cache can be turned off. */
  fl_client_options o;
  fl_client_options_init(&o);
  CHECK_EQ_INT(o.tls_session_cache, 1);
  o.ca_file = ca;
  o.tls_session_cache = 0;
  c = fl_client_new(loop, &o);
  CHECK(c);
  snprintf(good, sizeof good, "%s", U("localhost", port, "/hello"));
  CHECK_EQ_INT(closing_request(c, good), 0);
  CHECK_EQ_INT(closing_request(c, good), 0);
  fl_client_free(c);
}

static void test_cert_errors(void) {
  fl_client *c = client_with(ca, 0);
  fl_request *req = run(c, U("localhost", variant_port("expired"), "/hello"), FL_ECERT_VERIFY);
  expect_msg(req, "SSL certificate problem: certificate has expired");
  CHECK_EQ_INT(fl_err_curl_code(fl_request_error(req)), 60);
  fl_request_free(req);

  req = run(c, U("localhost", variant_port("wronghost"), "/hello"), FL_ECERT_VERIFY);
  expect_msg(req, "hostname mismatch");
  expect_msg(req, "'localhost'");
  fl_request_free(req);
  req = run(c, U("127.0.0.1", variant_port("wronghost"), "/hello"), FL_ECERT_VERIFY);
  expect_msg(req, "IP address mismatch");
  fl_request_free(req);

  req = run(c, U("localhost", variant_port("selfsigned"), "/hello"), FL_ECERT_VERIFY);
  expect_msg(req, "self-signed certificate");
  fl_request_free(req);

  req = run(c, U("localhost", variant_port("unknownca"), "/hello"), FL_ECERT_VERIFY);
  expect_msg(req, "unable to get local issuer certificate");
  fl_request_free(req);

  /* A failed handshake leaves nothing in the pool. */
  fl_pool_stats st;
  fl_client_pool_stats(c, &st);
  CHECK_EQ_INT(st.open, 0);
  fl_client_free(c);

  /* The system store does not know the test CA. */
  c = fl_client_new(loop, NULL);
  CHECK(c);
  req = run(c, U("localhost", port, "/hello"), FL_ECERT_VERIFY);
  expect_msg(req, "unable to get local issuer certificate");
  fl_request_free(req);
  fl_client_free(c);
}

static void test_insecure(void) {
  fl_client *c = client_with(NULL, 1);
  const char *names[] = {"selfsigned", "expired", "wronghost", "unknownca"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    fl_request *req = run(c, U("localhost", variant_port(names[i]), "/hello"), 0);
    expect_hello(req);
    fl_request_free(req);
  }
  fl_client_free(c);
}

static void test_tls10_refused(void) {
  fl_client *c = client_with(ca, 0);
  fl_request *req = run(c, U("localhost", variant_port("tls10"), "/hello"), FL_ETLS_HANDSHAKE);
  expect_msg(req, "TLS handshake with localhost port");
  CHECK_EQ_INT(fl_err_curl_code(fl_request_error(req)), 35);
  fl_request_free(req);
  fl_client_free(c);
}

static void test_client_cert(void) {
  int p = variant_port("clientcert");
  fl_client *c = client_with(ca, 0);
  fl_request *req = run(c, U("localhost", p, "/hello"), 0);
  CHECK_EQ_INT(status_of(req), 400); /* nginx: "No required SSL certificate was sent" */
  size_t len;
  CHECK(strstr(body_of(req, &len), "No required SSL certificate"));
  fl_request_free(req);
  fl_client_free(c);

  fl_client_options o;
  fl_client_options_init(&o);
  o.ca_file = ca;
  char cert[4200], key[4200];
  snprintf(cert, sizeof cert, "%s", file_in("client.pem"));
  snprintf(key, sizeof key, "%s", file_in("client.key"));
  o.client_cert = cert;
  o.client_key = key;
  c = fl_client_new(loop, &o);
  CHECK(c);
  memset(cert, 0, sizeof cert); /* the client keeps its own copies */
  memset(key, 0, sizeof key);
  expect_hello(req = run(c, U("localhost", p, "/hello"), 0));
  fl_request_free(req);
  fl_client_free(c);
}

static void test_bad_options(void) {
  fl_client_options o;
  fl_client_options_init(&o);
  o.ca_file = "/nonexistent/ca.pem";
  CHECK(fl_client_new(loop, &o) == NULL);
  fl_client_options_init(&o);
  o.ca_path = "/nonexistent";
  CHECK(fl_client_new(loop, &o) == NULL);
  o.ca_path = ca; /* a file, not a directory */
  CHECK(fl_client_new(loop, &o) == NULL);
  fl_client_options_init(&o);
  o.client_cert = "/nonexistent/client.pem";
  CHECK(fl_client_new(loop, &o) == NULL);
  char cert[4200];
  snprintf(cert, sizeof cert, "%s", file_in("client.pem"));
  o.client_cert = cert;
  o.client_key = file_in("good.key"); /* not the certificate's key */
  CHECK(fl_client_new(loop, &o) == NULL);
  fl_client_options_init(&o);
  o.client_key = cert; /* a key without a certificate */
  CHECK(fl_client_new(loop, &o) == NULL);
  /* A CA directory works (hashed names are looked up lazily). */
  fl_client_options_init(&o);
  o.ca_path = tls_dir;
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  fl_client_free(c);
}

/* --------------------------------------- against a scripted TLS server */

enum mode {
  M_PARTIAL = 1,     /* Content-Length: 100, 10 bytes, close without close_notify */
  M_CLOSE_AT_END,    /* whole message, Connection: close, close without close_notify */
  M_CLOSE_DELIMITED, /* no length: the body ends with close_notify */
  M_TINY_RECORDS,    /* the response in 1-byte records, all in one segment; keep-alive */
  M_SILENT,          /* TCP only: never answers the ClientHello */
  M_PLAIN,           /* answers in plain HTTP */
  M_SLOW_READER,     /* reads the request body only after 300 ms; answers its length and sum */
  M_BAD_RECORD,      /* the head and 10 body bytes, then a record that fails to decrypt */
};

static struct {
  int lfd, port;
  SSL_CTX *ctx;
  pthread_t thread;
  atomic_int mode;
} srv;

/* Read the request head; 0 when it ended. */
static int read_head(SSL *s) {
  char buf[4096];
  size_t have = 0;
  while (have < sizeof buf - 1) {
    int n = SSL_read(s, buf + have, (int)(sizeof buf - 1 - have));
    if (n <= 0) return -1;
    have += (size_t)n;
    buf[have] = '\0';
    if (strstr(buf, "\r\n\r\n")) return 0;
  }
  return -1;
}

static void write_all(SSL *s, const char *p) {
  size_t len = strlen(p);
  while (len) {
    int n = SSL_write(s, p, (int)len);
    if (n <= 0) return;
    p += n, len -= (size_t)n;
  }
}

static void wait_peer_close(int fd, SSL *s) {
  char buf[512];
  if (s)
    while (SSL_read(s, buf, sizeof buf) > 0) {
    }
  else
    while (recv(fd, buf, sizeof buf, 0) > 0) {
    }
}

/* Sum of the body bytes, each weighted by its position: a byte lost,
 * doubled or moved changes it. */
static uint64_t body_sum(uint64_t sum, const unsigned char *p, size_t n, uint64_t *pos) {
  for (size_t i = 0; i < n; i++) sum += (uint64_t)p[i] * (++*pos);
  return sum;
}

static void slow_reader(SSL *s) {
  usleep(300 * 1000); /* the client's writes block meanwhile */
  static char buf[65536];
  size_t have = 0;
  char *end = NULL;
  while (!end) {
    int n = SSL_read(s, buf + have, (int)(sizeof buf - 1 - have));
    if (n <= 0) return;
    have += (size_t)n;
    buf[have] = '\0';
    end = strstr(buf, "\r\n\r\n");
  }
  const char *cl = strstr(buf, "Content-Length: ");
  CHECK(cl && cl < end);
  uint64_t want = strtoull(cl + 16, NULL, 10), got = 0, pos = 0, sum = 0;
  size_t head = (size_t)(end + 4 - buf);
  got = have - head;
  sum = body_sum(sum, (unsigned char *)buf + head, got, &pos);
  while (got < want) {
    int n = SSL_read(s, buf, sizeof buf);
    if (n <= 0) return;
    got += (uint64_t)n;
    sum = body_sum(sum, (unsigned char *)buf, (size_t)n, &pos);
  }
  char body[64], resp[160];
  snprintf(body, sizeof body, "%llu %llu", (unsigned long long)got, (unsigned long long)sum);
  snprintf(resp, sizeof resp,
           "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s", strlen(body),
           body);
  write_all(s, resp);
  SSL_shutdown(s);
}

static void serve(int fd) {
  int mode = atomic_load(&srv.mode);
  if (mode == M_SILENT) {
    wait_peer_close(fd, NULL);
    close(fd);
    return;
  }
  if (mode == M_PLAIN) {
    char buf[512];
    if (recv(fd, buf, sizeof buf, 0) > 0) {
      const char *r = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      if (send(fd, r, strlen(r), MSG_NOSIGNAL) < 0) {
      }
    }
    close(fd);
    return;
  }
  SSL *s = SSL_new(srv.ctx);
  CHECK(s);
  SSL_set_fd(s, fd);
  if (SSL_accept(s) != 1) goto out;
  if (mode == M_SLOW_READER) {
    slow_reader(s);
    goto out;
  }
  if (read_head(s) != 0) goto out;
  switch (mode) {
  case M_PARTIAL:
    write_all(s, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
    break; /* no close_notify */
  case M_CLOSE_AT_END:
    write_all(s, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
    break;
  case M_BAD_RECORD: {
    write_all(s, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
    /* An application-data record header and 32 bytes that are no record. */
    unsigned char junk[5 + 32] = {0x17, 0x03, 0x03, 0x00, 0x20};
    for (size_t i = 5; i < sizeof junk; i++) junk[i] = (unsigned char)(i * 37);
    CHECK_EQ_INT(send(fd, junk, sizeof junk, MSG_NOSIGNAL), (ssize_t)sizeof junk);
    wait_peer_close(fd, NULL);
    break;
  }
  case M_CLOSE_DELIMITED:
    write_all(s, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end");
    SSL_shutdown(s);
    break;
  case M_TINY_RECORDS: {
    /* Every record into memory first, then one send: the client reads
     * them all ahead at once and must drain them without waiting for the
     * socket, which stays silent until it closes. */
    BIO *mem = BIO_new(BIO_s_mem());
    CHECK(mem);
    SSL_set0_wbio(s, mem);
    const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!";
    for (const char *p = r; *p; p++) CHECK_EQ_INT(SSL_write(s, p, 1), 1);
    char *data;
    long n = BIO_get_mem_data(mem, &data);
    CHECK_EQ_INT(send(fd, data, (size_t)n, MSG_NOSIGNAL), n);
    wait_peer_close(fd, NULL);
    break;
  }
  default: break;
  }
out:
  SSL_free(s);
  close(fd);
}

static void *server_main(void *arg) {
  (void)arg;
  /* This thread may write to peers that left: EPIPE, never a signal. The
   * main thread keeps SIGPIPE fatal, so a library write raising it would
   * kill the test. */
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, NULL);
  for (;;) {
    int fd = accept(srv.lfd, NULL, NULL);
    if (fd < 0) {
      if (errno == EINTR) continue;
      break; /* shut down */
    }
    serve(fd);
  }
  return NULL;
}

static void server_start(void) {
  srv.ctx = SSL_CTX_new(TLS_server_method());
  CHECK(srv.ctx);
  char key[4200];
  snprintf(key, sizeof key, "%s", file_in("good.key"));
  CHECK_EQ_INT(SSL_CTX_use_certificate_chain_file(srv.ctx, file_in("good.pem")), 1);
  CHECK_EQ_INT(SSL_CTX_use_PrivateKey_file(srv.ctx, key, SSL_FILETYPE_PEM), 1);
  srv.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK(srv.lfd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof a;
  CHECK_EQ_INT(bind(srv.lfd, (struct sockaddr *)&a, sizeof a), 0);
  int small = 32768; /* a small receive window: a slow reader blocks the client soon */
  CHECK_EQ_INT(setsockopt(srv.lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
  CHECK_EQ_INT(listen(srv.lfd, 16), 0);
  CHECK_EQ_INT(getsockname(srv.lfd, (struct sockaddr *)&a, &alen), 0);
  srv.port = ntohs(a.sin_port);
  CHECK_EQ_INT(pthread_create(&srv.thread, NULL, server_main, NULL), 0);
}

static void server_stop(void) {
  shutdown(srv.lfd, SHUT_RDWR); /* wakes accept */
  pthread_join(srv.thread, NULL);
  close(srv.lfd);
  SSL_CTX_free(srv.ctx);
}

/* One request to the scripted server in mode m, on a client of its own. */
static fl_request *scripted(enum mode m, int expect, uint32_t connect_ms) {
  atomic_store(&srv.mode, m);
  fl_client_options o;
  fl_client_options_init(&o);
  o.ca_file = ca;
  fl_client *c = fl_client_new(loop, &o);
  CHECK(c);
  fl_request *req = fl_request_new("GET", U("127.0.0.1", srv.port, "/x"));
  fl_timeouts t = {.connect_ms = connect_ms, .read_ms = 10000, .total_ms = 30000};
  fl_request_set_timeouts(req, &t);
  int err = fl_request_perform(c, req);
  if (err != expect) {
    fprintf(stderr, "mode %d: got %s (%s), want %s\n", m, fl_err_name(err), fl_request_errmsg(req),
            fl_err_name(expect));
    exit(1);
  }
  fl_client_free(c); /* closes the connection: the server goes on */
  return req;
}

static void test_scripted(void) {
  size_t len;
  fl_request *req = scripted(M_PARTIAL, FL_EPARTIAL_BODY, 10000);
  expect_msg(req, "10 bytes received");
  fl_request_free(req);

  req = scripted(M_CLOSE_AT_END, 0, 10000);
  CHECK_EQ_STR(body_of(req, &len), "hello");
  fl_request_free(req);

  /* A record that fails to decrypt mid-body: a receive error that says
   * what OpenSSL found, not just "protocol error". */
  req = scripted(M_BAD_RECORD, FL_ERECV, 10000);
  expect_msg(req, "after 10 body bytes");
  expect_msg(req, "bad record mac");
  fl_request_free(req);

  req = scripted(M_CLOSE_DELIMITED, 0, 10000);
  CHECK_EQ_STR(body_of(req, &len), "until the end");
  fl_request_free(req);

  req = scripted(M_TINY_RECORDS, 0, 10000);
  expect_hello(req);
  CHECK(fl_request_info(req)->total_us < 5000000); /* not a read timeout */
  fl_request_free(req);

  /* The connect timeout covers the handshake. */
  req = scripted(M_SILENT, FL_ECONNECT_TIMEOUT, 300);
  expect_msg(req, "during the TLS handshake");
  fl_request_free(req);

  req = scripted(M_PLAIN, FL_ETLS_HANDSHAKE, 10000);
  expect_msg(req, "TLS handshake with 127.0.0.1 port");
  fl_request_free(req);

  /* A 4 MiB body into a server that is not reading yet: writes block, are
   * retried with the same bytes (as OpenSSL requires), and all arrive in
   * order. */
  enum { BIG = 4 << 20 };
  static unsigned char big[BIG];
  uint64_t pos = 0, sum = 0;
  for (size_t i = 0; i < BIG; i++) big[i] = (unsigned char)(i * 7 + (i >> 12));
  sum = body_sum(0, big, BIG, &pos);
  atomic_store(&srv.mode, M_SLOW_READER);
  fl_client *c = client_with(ca, 0);
  req = fl_request_new("PUT", U("127.0.0.1", srv.port, "/upload"));
  CHECK_EQ_INT(fl_request_set_body(req, big, BIG), 0);
  int err = fl_request_perform(c, req);
  if (err) fprintf(stderr, "upload: %s (%s)\n", fl_err_name(err), fl_request_errmsg(req));
  CHECK_EQ_INT(err, 0);
  char want[64];
  snprintf(want, sizeof want, "%d %llu", BIG, (unsigned long long)sum);
  CHECK_EQ_STR(body_of(req, &len), want);
  fl_request_free(req);
  fl_client_free(c);
}

/* Paused right after the headers, while the body sits in records OpenSSL
 * read ahead and the socket stays silent: resuming must still deliver it. */
static int headers_seen;
static int pause_at_headers(fl_request *req, void *data) {
  (void)data;
  headers_seen = 1;
  fl_request_pause(req);
  return 0;
}

static void resume_cb(fl_timer *t, void *data) {
  (void)t;
  fl_request_resume(data);
}

static void on_done(fl_request *req, int err, void *data);

static void test_resume_with_buffered_records(void) {
  atomic_store(&srv.mode, M_TINY_RECORDS);
  fl_client *c = client_with(ca, 0);
  fl_request *req = fl_request_new("GET", U("127.0.0.1", srv.port, "/x"));
  fl_timeouts t = {.connect_ms = 10000, .read_ms = 5000, .total_ms = 30000};
  fl_request_set_timeouts(req, &t);
  fl_request_on_headers(req, pause_at_headers, NULL);
  int result = 0;
  headers_seen = 0;
  CHECK_EQ_INT(fl_request_send(c, req, on_done, &result), 0);
  while (!headers_seen && !result) fl_loop_run(loop, FL_RUN_ONCE);
  CHECK(headers_seen);
  fl_timer *tm = fl_timer_new(loop);
  CHECK(tm);
  CHECK_EQ_INT(fl_timer_start(tm, 50, 0, resume_cb, req), 0);
  while (!result) fl_loop_run(loop, FL_RUN_ONCE);
  if (result != 1)
    fprintf(stderr, "resume: %s (%s)\n", fl_err_name(result), fl_request_errmsg(req));
  CHECK_EQ_INT(result, 1);
  expect_hello(req);
  CHECK(fl_request_info(req)->total_us < 4000000); /* not a read timeout */
  fl_timer_free(tm);
  fl_request_free(req);
  fl_client_free(c);
}

/* Cancel and free in the middle of a handshake: nothing leaks. */
static void on_done(fl_request *req, int err, void *data) {
  (void)req;
  *(int *)data = err ? err : 1;
}

static void test_cancel_mid_handshake(void) {
  atomic_store(&srv.mode, M_SILENT);
  fl_client *c = client_with(ca, 0);
  fl_request *req = fl_request_new("GET", U("127.0.0.1", srv.port, "/"));
  int result = 0;
  CHECK_EQ_INT(fl_request_send(c, req, on_done, &result), 0);
  fl_pool_stats st;
  for (int i = 0; i < 1000; i++) {
    fl_loop_run(loop, FL_RUN_NOWAIT);
    fl_client_pool_stats(c, &st);
    if (st.connecting == 1 && fl_request_info(req)->connect_us) break;
    usleep(1000);
  }
  CHECK(fl_request_info(req)->connect_us > 0); /* TCP is up, TLS is not */
  CHECK_EQ_INT(fl_request_cancel(req), 0);
  while (!result) fl_loop_run(loop, FL_RUN_ONCE);
  CHECK_EQ_INT(result, FL_ECANCELED);

  /* And the client freed with a handshake in flight. */
  result = 0;
  CHECK_EQ_INT(fl_request_send(c, req, on_done, &result), 0);
  for (int i = 0; i < 1000 && !fl_request_info(req)->connect_us; i++) {
    fl_loop_run(loop, FL_RUN_NOWAIT);
    usleep(1000);
  }
  fl_client_free(c);
  CHECK_EQ_INT(result, FL_ECANCELED);
  fl_request_free(req);
}

int main(void) {
  FL_TEST_BEGIN();
  port = fl_test_server_port("nginx_tls");
  snprintf(tls_dir, sizeof tls_dir, "%s", fl_test_rundir_path("nginx_tls"));
  snprintf(ca, sizeof ca, "%s/ca.pem", tls_dir);
  loop = fl_loop_new();
  CHECK(loop);
  test_good();
  test_keep_alive();
  test_pipelining();
  test_resumption();
  test_cert_errors();
  test_insecure();
  test_tls10_refused();
  test_client_cert();
  test_bad_options();
  server_start();
  test_scripted();
  test_resume_with_buffered_records();
  test_cancel_mid_handshake();
  server_stop();
  CHECK_EQ_INT(fl_loop_free(loop), 0);
  FL_TEST_END();
}
