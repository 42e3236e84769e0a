#!/usr/bin/env python3
"""Self-check for fault_server.py: drives every scenario over raw sockets and
asserts the exact bytes received.  Standard library only.

Usage: python3 tests/support/test_fault_server.py [NAME_SUBSTRING...]
Exit status 0 when all checks pass.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "fault_server.py")
ALPHA = b"abcdefghijklmnopqrstuvwxyz"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
TIMEOUT = 5.0

PORT = None
HOST = "127.0.0.1"


def pattern(n, offset=0):
    return bytes(ALPHA[(offset + i) % 26] for i in range(n))


# --------------------------------------------------------------------------
# Server process


class Server:
    def __init__(self, host="127.0.0.1"):
        self.dir = tempfile.mkdtemp(prefix="fault_server_test_")
        self.port_file = os.path.join(self.dir, "port")
        self.out = open(os.path.join(self.dir, "stdout"), "w+")
        self.err = open(os.path.join(self.dir, "stderr"), "w+")
        self.proc = subprocess.Popen(
            [sys.executable, SERVER, "--port-file", self.port_file,
             "--host", host], stdout=self.out, stderr=self.err)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.port_file):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        with open(self.port_file) as f:
            self.port = int(f.read())

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=5)
        self.out.seek(0)
        self.err.seek(0)
        return rc, self.out.read(), self.err.read()


# --------------------------------------------------------------------------
# Raw socket helpers


def connect(host=None, port=None):
    s = socket.create_connection((host or HOST, port or PORT), timeout=TIMEOUT)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def request(path, method="GET", headers=(), body=b"", version="HTTP/1.1"):
    lines = ["%s %s %s" % (method, path, version), "Host: test"]
    lines += list(headers)
    if body and not any(h.lower().startswith(("content-length",
                                              "transfer-encoding"))
                        for h in headers):
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        data = s.recv(n - len(out))
        if not data:
            raise AssertionError("EOF after %d of %d bytes: %r" % (len(out), n, out))
        out += data
    return out


def recv_to_end(s):
    """Everything until EOF; returns (data, 'eof' | 'reset')."""
    out = b""
    while True:
        try:
            data = s.recv(65536)
        except ConnectionResetError:
            return out, "reset"
        if not data:
            return out, "eof"
        out += data


def expect_bytes(s, expected):
    got = recv_exact(s, len(expected))
    assert got == expected, "expected %r\n     got %r" % (expected[:300], got[:300])


def expect_end(s, how="eof"):
    data, got = recv_to_end(s)
    assert data == b"", "unexpected extra bytes %r" % data[:200]
    assert got == how, "expected %s, got %s" % (how, got)


def expect_keepalive(s):
    """The connection still serves requests: /ok round trip."""
    s.sendall(request("/ok"))
    expect_bytes(s, OK)


def exchange(path, expected, end=None, method="GET", headers=()):
    """One request on a fresh connection; assert the exact response, then
    either keep-alive (end=None) or the given ending ('eof' / 'reset')."""
    with connect() as s:
        s.sendall(request(path, method, headers))
        if end is None:
            expect_bytes(s, expected)
            expect_keepalive(s)
        else:
            data, how = recv_to_end(s)
            assert data == expected, "expected %r\n     got %r" % (expected[:300], data[:300])
            assert how == end, "expected %s, got %s" % (end, how)


def get_body(path, s=None):
    """GET path, parse a Content-Length response, return its body."""
    own = s is None
    s = s or connect()
    try:
        s.sendall(request(path))
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += recv_exact(s, 1)
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return recv_exact(s, length)
    finally:
        if own:
            s.close()


# --------------------------------------------------------------------------
# Checks, one per scenario (plus protocol handling and lifecycle)

CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


@check
def t_ok_keepalive():
    with connect() as s:
        for _ in range(3):
            s.sendall(request("/ok"))
            expect_bytes(s, OK)


@check
def t_echo():
    req = request("/echo?x=1", headers=["X-A: b"])
    with connect() as s:
        s.sendall(req)
        expect_bytes(s, b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(req) + req)
        expect_keepalive(s)


@check
def t_echo_body_content_length():
    req = request("/echo", "POST", body=b"hello body")
    with connect() as s:
        s.sendall(req)
        expect_bytes(s, b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(req) + req)
        expect_keepalive(s)


@check
def t_echo_chunked_with_trailers():
    body = b"5;foo=bar\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\nX-U: 2\r\n\r\n"
    req = request("/echo", "POST", ["Transfer-Encoding: chunked"], body)
    with connect() as s:
        s.sendall(req)
        expect_bytes(s, b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(req) + req)
        expect_keepalive(s)


@check
def t_expect_100_continue():
    head = request("/echo", "PUT", ["Expect: 100-continue", "Content-Length: 4"])
    with connect() as s:
        s.sendall(head)
        expect_bytes(s, b"HTTP/1.1 100 Continue\r\n\r\n")
        s.sendall(b"data")
        req = head + b"data"
        expect_bytes(s, b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(req) + req)
        expect_keepalive(s)


@check
def t_expect_100_continue_chunked():
    head = request("/echo", "POST", ["Expect: 100-continue",
                                     "Transfer-Encoding: chunked"])
    with connect() as s:
        s.sendall(head)
        expect_bytes(s, b"HTTP/1.1 100 Continue\r\n\r\n")
        s.sendall(b"3\r\nabc\r\n0\r\n\r\n")
        req = head + b"3\r\nabc\r\n0\r\n\r\n"
        expect_bytes(s, b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(req) + req)


@check
def t_len():
    exchange("/len?n=0", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    exchange("/len?n=30", b"HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n"
             b"abcdefghijklmnopqrstuvwxyzabcd")
    exchange("/len?n=200000", b"HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n"
             + pattern(200000))


@check
def t_chunked():
    exchange("/chunked?n=30&size=16",
             b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
             b"10;ext=1\r\nabcdefghijklmnop\r\n"
             b"e\r\nqrstuvwxyzabcd\r\n"
             b"0\r\nX-Trailer: yes\r\n\r\n")
    exchange("/chunked?n=0",
             b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
             b"0\r\nX-Trailer: yes\r\n\r\n")


@check
def t_close_delimited():
    exchange("/close-delimited?n=5",
             b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabcde", end="eof")


@check
def t_http10():
    exchange("/http10", b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", end="eof")


@check
def t_truncated():
    exchange("/truncated?n=100&send=3",
             b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc", end="eof")


@check
def t_truncated_chunked():
    exchange("/truncated-chunked",
             b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
             b"5\r\nhello\r\n5\r\nwor", end="eof")


@check
def t_bad_chunk():
    exchange("/bad-chunk",
             b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", end="eof")


@check
def t_bad_chunk_crlf():
    exchange("/bad-chunk-crlf",
             b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
             b"5\r\nhelloXX0\r\n\r\n", end="eof")


@check
def t_empty():
    exchange("/empty", b"", end="eof")


@check
def t_reset():
    exchange("/reset", b"", end="reset")


@check
def t_reset_mid_body():
    exchange("/reset-mid-body",
             b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabcdefghij", end="reset")


@check
def t_garbage():
    exchange("/garbage", b"HELLO WORLD\r\n\r\n", end="eof")


@check
def t_status():
    for code in ("99", "600", "999", "200", "abc", "1x2"):
        exchange("/status?code=" + code,
                 b"HTTP/1.1 %s Whatever\r\nContent-Length: 0\r\n\r\n" % code.encode())


@check
def t_huge_headers():
    kb, split = 8, 100
    lines = [b"HTTP/1.1 200 OK\r\n"]
    for i in range(kb):
        prefix = b"X-Fill-%d: " % i
        line = prefix + pattern(1024 - len(prefix) - 2) + b"\r\n"
        assert len(line) == 1024
        lines.append(line)
    expected = b"".join(lines) + b"Content-Length: 2\r\n\r\nok"
    t0 = time.monotonic()
    exchange("/huge-headers?kb=%d&split=%d" % (kb, split), expected)
    pieces = (len(expected) + split - 1) // split
    assert time.monotonic() - t0 >= (pieces - 1) * 0.005 * 0.9, "not paced"
    # defaults (64 KiB in 1 KiB pieces) and 1 MiB in 64 KiB pieces
    with connect() as s:
        s.sendall(request("/huge-headers"))
        got = recv_exact(s, 17 + 64 * 1024 + 23)
        assert b"\r\nX-Fill-63: " in got and got.endswith(b"\r\n\r\nok")
        expect_keepalive(s)
    with connect() as s:
        s.sendall(request("/huge-headers?kb=1024&split=65536"))
        got = recv_exact(s, 17 + 1024 * 1024 + 23)
        assert got.startswith(b"HTTP/1.1 200 OK\r\nX-Fill-0: abc") and got.endswith(
            b"\r\nContent-Length: 2\r\n\r\nok")
        expect_keepalive(s)


@check
def t_many_headers():
    exchange("/many-headers?n=3",
             b"HTTP/1.1 200 OK\r\nX-H-1: v\r\nX-H-2: v\r\nX-H-3: v\r\n"
             b"Content-Length: 2\r\n\r\nok")
    with connect() as s:
        s.sendall(request("/many-headers?n=1000"))
        head = b"HTTP/1.1 200 OK\r\n" + b"".join(
            b"X-H-%d: v\r\n" % i for i in range(1, 1001)) + b"Content-Length: 2\r\n\r\nok"
        expect_bytes(s, head)


@check
def t_slow_first_byte_and_delay():
    for path in ("/slow-first-byte?ms=200", "/delay?ms=200"):
        with connect() as s:
            t0 = time.monotonic()
            s.sendall(request(path))
            first = recv_exact(s, 1)
            assert time.monotonic() - t0 >= 0.19, "first byte too early"
            expect_bytes(s, OK[1:])
            expect_keepalive(s)


@check
def t_slow_body():
    with connect() as s:
        t0 = time.monotonic()
        s.sendall(request("/slow-body?n=5&ms=50"))
        expect_bytes(s, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
        reads = []
        while sum(map(len, reads)) < 5:
            reads.append(s.recv(100))
            assert reads[-1], "EOF"
        assert b"".join(reads) == b"abcde"
        assert len(reads) >= 4, "bytes not sent separately: %r" % reads
        assert time.monotonic() - t0 >= 0.24
        expect_keepalive(s)


@check
def t_stall_body():
    with connect() as s:
        s.sendall(request("/stall-body?n=100&send=10"))
        expect_bytes(s, b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabcdefghij")
        s.settimeout(0.5)
        try:
            data = s.recv(100)
            raise AssertionError("expected a stall, got %r" % data)
        except socket.timeout:
            pass


@check
def t_1xx():
    exchange("/1xx", b"HTTP/1.1 100 Continue\r\n\r\n"
             b"HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n" + OK)


@check
def t_204_with_body():
    exchange("/204-with-body", b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n")


@check
def t_304():
    exchange("/304", b'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n')


@check
def t_head():
    # HEAD: no body, so the next response starts right after the head.
    exchange("/head", b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", method="HEAD")
    exchange("/head", b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + pattern(1000))


@check
def t_keepalive_header():
    exchange("/keepalive?timeout=7&max=3",
             b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n"
             b"Keep-Alive: timeout=7, max=3\r\nConnection: keep-alive\r\n\r\nok")
    exchange("/keepalive",
             b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n"
             b"Keep-Alive: timeout=5, max=100\r\nConnection: keep-alive\r\n\r\nok")


@check
def t_close_after():
    exchange("/close-after",
             b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n"
             b"Connection: close\r\n\r\nok", end="eof")


@check
def t_idle_close():
    with connect() as s:
        s.sendall(request("/idle-close?ms=150"))
        expect_bytes(s, OK)
        t0 = time.monotonic()
        expect_end(s, "eof")
        dt = time.monotonic() - t0
        assert 0.12 <= dt <= 1.0, "closed after %.3f s" % dt
    with connect() as s:  # default 100 ms
        s.sendall(request("/idle-close"))
        expect_bytes(s, OK)
        t0 = time.monotonic()
        expect_end(s, "eof")
        assert 0.08 <= time.monotonic() - t0 <= 1.0
    with connect() as s:  # a request inside the window keeps it alive
        s.sendall(request("/idle-close?ms=500"))
        expect_bytes(s, OK)
        time.sleep(0.1)
        expect_keepalive(s)
        time.sleep(0.6)
        expect_keepalive(s)


@check
def t_stale_next():
    get_body("/_reset?k=stale")
    with connect() as s:
        s.sendall(request("/stale-next?k=stale"))
        expect_bytes(s, OK)
        s.sendall(request("/ok?k=stale"))
        expect_end(s, "eof")
    exchange("/ok", OK)
    stats = json.loads(get_body("/_stats?k=stale"))
    assert stats == {"connections": 1, "requests": 2}, stats


@check
def t_reset_next():
    with connect() as s:
        s.sendall(request("/reset-next"))
        expect_bytes(s, OK)
        s.sendall(request("/ok"))
        expect_end(s, "reset")
    exchange("/ok", OK)


@check
def t_split():
    expected = b"HTTP/1.1 200 OK\r\nContent-Length: 64\r\n\r\n" + pattern(64)
    for piece in (1, 7):
        with connect() as s:
            s.sendall(request("/split?chunk=%d" % piece))
            reads = []
            while sum(map(len, reads)) < len(expected):
                reads.append(s.recv(4096))
                assert reads[-1], "EOF"
            assert b"".join(reads) == expected
            assert len(reads) > len(expected) // piece // 3, "not split: %d reads" % len(reads)
            assert len(reads[0]) < 17, "status line not split"
            expect_keepalive(s)


@check
def t_dup_headers():
    exchange("/dup-headers",
             b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
             b"X-Case: One\r\nx-case: two\r\nContent-Length: 2\r\n\r\nok")


@check
def t_drop_after_head():
    exchange("/drop-after-head",
             b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", end="eof")


@check
def t_no_length_keepalive():
    exchange("/no-length-keepalive", b"HTTP/1.1 200 OK\r\n\r\nabc", end="eof")


@check
def t_pipeline_echo():
    reqs = [request("/pipeline-echo?i=%d" % i) for i in range(3)]
    reqs.append(request("/pipeline-echo", "POST", body=b"xyz"))
    with connect() as s:
        s.sendall(b"".join(reqs))
        for r in reqs:
            expect_bytes(s, b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(r) + r)
        expect_keepalive(s)


@check
def t_not_found():
    exchange("/nope?x=1", b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n"
             b"Content-Type: text/plain\r\n\r\nnot found")
    exchange("/", b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n"
             b"Content-Type: text/plain\r\n\r\nnot found")


@check
def t_recording():
    get_body("/_reset?k=rec")
    r1 = request("/ok?k=rec", headers=["X-N: 1"])
    r2 = request("/echo?k=rec", "POST", body=b"body!")
    r3 = request("/len?n=1&k=rec")
    with connect() as a:
        a.sendall(r1)
        expect_bytes(a, OK)
        a.sendall(r2)
        recv_exact(a, len(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(r2)) + len(r2))
        with connect() as b:
            b.sendall(r3)
            expect_bytes(b, b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na")
    assert json.loads(get_body("/_stats?k=rec")) == {"connections": 2, "requests": 3}
    assert get_body("/_log?k=rec") == r1 + b"\n----\n" + r2 + b"\n----\n" + r3
    with connect() as s:
        s.sendall(request("/_stats?k=rec"))
        body = b'{"connections": 2, "requests": 3}'
        expect_bytes(s, b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                     b"Content-Type: application/json\r\n\r\n" % len(body) + body)
    exchange("/_reset?k=rec", OK)
    assert json.loads(get_body("/_stats?k=rec")) == {"connections": 0, "requests": 0}
    assert get_body("/_log?k=rec") == b""
    # requests without k are counted under k=""
    get_body("/_reset?all=1")
    exchange("/ok", OK)
    assert json.loads(get_body("/_stats")) == {"connections": 1, "requests": 2}
    assert json.loads(get_body("/_stats?k=")) == {"connections": 1, "requests": 2}


@check
def t_client_connection_close():
    with connect() as s:
        s.sendall(request("/ok", headers=["Connection: close"]))
        expect_bytes(s, OK)
        expect_end(s, "eof")


@check
def t_http10_request_keepalive_rules():
    with connect() as s:
        s.sendall(request("/ok", version="HTTP/1.0"))
        expect_bytes(s, OK)
        expect_end(s, "eof")
    with connect() as s:
        s.sendall(request("/ok", version="HTTP/1.0", headers=["Connection: keep-alive"]))
        expect_bytes(s, OK)
        expect_keepalive(s)


@check
def t_bad_requests_get_400():
    bad = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\nConnection: close\r\n\r\nbad request"
    for raw in (b"BLAH\r\n\r\n",
                b"\x00\x01\x02 garbage \xff\r\n\r\n",
                b"GET /ok HTTP/1.1\r\nNoColonHere\r\n\r\n",
                b"GET /ok HTTP/1.1\r\n folded: x\r\n\r\n",
                b"GET /ok HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
                b"GET /ok HTTP/1.1\r\nContent-Length: \xb2\r\n\r\n",
                b"GET /ok HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                b"POST /ok HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
                b"POST /ok HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n",
                b"POST /ok HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX",
                b"GET /len?n=abc HTTP/1.1\r\n\r\n",
                b"GET /ok HTTP/9\r\n\r\n"):
        with connect() as s:
            s.sendall(raw)
            data, how = recv_to_end(s)
            assert data == bad and how == "eof", (raw, data, how)


@check
def t_client_closes_early():
    with connect() as s:      # partial head
        s.sendall(b"GET /ok HTT")
    with connect() as s:      # partial body
        s.sendall(b"POST /echo HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc")
    with connect() as s:      # closes while a large response is being sent
        s.sendall(request("/len?n=50000000"))
        recv_exact(s, 1000)
    with connect() as s:      # RST from the client side
        s.sendall(request("/slow-body?n=100&ms=5"))
        recv_exact(s, 10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
    with connect() as s:      # connects and closes without sending
        pass
    time.sleep(0.2)
    exchange("/ok", OK)


@check
def t_leading_crlf_and_absolute_form():
    with connect() as s:
        s.sendall(b"\r\n\r\nGET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
        expect_bytes(s, OK)
        s.sendall(b"GET http://example.test:81/status?code=201 HTTP/1.1\r\nHost: x\r\n\r\n")
        expect_bytes(s, b"HTTP/1.1 201 Whatever\r\nContent-Length: 0\r\n\r\n")


@check
def t_byte_at_a_time_request():
    req = request("/echo", "POST", body=b"0123456789")
    with connect() as s:
        for i in range(len(req)):
            s.sendall(req[i:i + 1])
            time.sleep(0.001)
        expect_bytes(s, b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(req) + req)


@check
def t_concurrency_300():
    n = 300
    socks = [connect() for _ in range(n)]
    try:
        t0 = time.monotonic()
        for s in socks:
            s.sendall(request("/slow-first-byte?ms=300"))
        for s in socks:
            expect_bytes(s, OK)
        dt = time.monotonic() - t0
        assert dt < 3.0, "not concurrent: %.2f s" % dt
    finally:
        for s in socks:
            s.close()
    errors = []

    def worker():
        try:
            with connect() as s:
                for _ in range(20):
                    expect_keepalive(s)
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]


# --------------------------------------------------------------------------
# Lifecycle checks (own server processes)


def lifecycle_checks(failures):
    # SIGINT also exits 0; the port file is complete and no .tmp remains.
    srv = Server()
    try:
        with open(srv.port_file) as f:
            content = f.read()
        assert content == "%d\n" % srv.port, repr(content)
        assert not os.path.exists(srv.port_file + ".tmp")
        rc, out, err = srv.stop(signal.SIGINT)
        assert rc == 0 and out == "" and err == "", (rc, out, err)
        print("ok   lifecycle_sigint")
    except Exception as e:
        failures.append("lifecycle_sigint")
        print("FAIL lifecycle_sigint: %r" % e)
    # SIGTERM with connections open and busy threads.
    srv = Server()
    try:
        s1 = connect(port=srv.port)
        s1.sendall(request("/stall-body"))
        s2 = connect(port=srv.port)
        time.sleep(0.2)
        t0 = time.monotonic()
        rc, out, err = srv.stop(signal.SIGTERM)
        assert rc == 0 and out == "" and err == "", (rc, out, err)
        assert time.monotonic() - t0 < 2.5
        s1.close()
        s2.close()
        print("ok   lifecycle_sigterm_busy")
    except Exception as e:
        failures.append("lifecycle_sigterm_busy")
        print("FAIL lifecycle_sigterm_busy: %r" % e)
    # IPv6 loopback
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
        have_v6 = True
    except OSError:
        have_v6 = False
    if not have_v6:
        print("skip lifecycle_ipv6 (no ::1)")
        return
    srv = Server("::1")
    try:
        with connect("::1", srv.port) as s:
            expect_keepalive(s)
        rc, out, err = srv.stop()
        assert rc == 0 and err == "", (rc, err)
        print("ok   lifecycle_ipv6")
    except Exception as e:
        failures.append("lifecycle_ipv6")
        print("FAIL lifecycle_ipv6: %r" % e)


def main():
    global PORT
    args = sys.argv[1:]
    srv = Server()
    PORT = srv.port
    failures = []
    t_start = time.monotonic()
    for fn in CHECKS:
        name = fn.__name__[2:]
        if args and not any(a in name for a in args):
            continue
        t0 = time.monotonic()
        try:
            fn()
            print("ok   %-36s %.2fs" % (name, time.monotonic() - t0))
        except Exception as e:
            failures.append(name)
            print("FAIL %-36s %s: %s" % (name, type(e).__name__, e))
    rc, out, err = srv.stop()
    if rc != 0 or out or err:
        failures.append("server_output")
        print("FAIL server exit %s, stdout %r, stderr %r" % (rc, out[:500], err[:2000]))
    else:
        print("ok   server exited 0 with no output")
    if not args:
        lifecycle_checks(failures)
    print("%d failure(s) in %.1fs" % (len(failures), time.monotonic() - t_start))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
