#!/usr/bin/env python3
"""Scripted HTTP/1.1 fault server for flurry client tests.

Sends exact, scripted bytes per scenario (chosen by the request path) and
records the raw bytes of every request it receives.  Standard library only.

Usage: python3 fault_server.py --port-file PATH [--host 127.0.0.1|::1]

Binds an ephemeral loopback port, writes the port number (decimal, followed by
a newline) to PATH atomically once listening, and serves until SIGTERM or
SIGINT (exit code 0).  See README.md next to this file for the scenarios.
"""

import argparse
import json
import os
import select
import socket
import struct
import sys
import threading
import time
import traceback
from accept_loop import serve, write_port_file
from urllib.parse import unquote, unquote_to_bytes

ALPHA = b"abcdefghijklmnopqrstuvwxyz"
MAX_HEAD = 4 << 20            # request head size limit (bytes)
MAX_BODY = 256 << 20          # request body size limit (bytes)
IDLE_TIMEOUT = 300.0          # seconds a connection may sit without traffic
DRAIN_TIMEOUT = 2.0           # seconds to wait for the peer's FIN on close
STALL_TIMEOUT = 60.0          # /stall-body: how long to hold the socket

OK_RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
               b"Content-Type: text/plain\r\n\r\nok")
RESP_400 = (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n"
            b"Connection: close\r\n\r\nbad request")
RESP_404 = (b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n"
            b"Content-Type: text/plain\r\n\r\nnot found")
CONTINUE_100 = b"HTTP/1.1 100 Continue\r\n\r\n"

# What the connection loop does after a scenario ran.
KEEP = "keep"    # keep-alive (unless the request asked to close)
CLOSE = "close"  # graceful close (FIN)
DONE = "done"    # the scenario already closed the socket itself


class BadRequest(Exception):
    """The client sent something we cannot parse: answer 400 and close."""


class ClientGone(Exception):
    """The client closed the connection in the middle of a request."""


# --------------------------------------------------------------------------
# Helpers


def fill(offset, n):
    """n bytes of the repeating 'a'..'z' pattern, starting at offset."""
    start = offset % 26
    reps = (start + n) // 26 + 1
    return (ALPHA * reps)[start:start + n]


def head(status_line, *headers):
    """Response head: status line + header lines + blank line, as bytes."""
    lines = [status_line] + list(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def is_digits(s):
    """Strictly ASCII decimal digits (str.isdigit also accepts e.g. '\xb2')."""
    return bool(s) and all(c in "0123456789" for c in s)


TCHAR = set("!#$%&'*+-.^_`|~0123456789"
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def parse_query(query):
    """Query string -> dict of first values (percent-decoded, latin-1)."""
    out = {}
    for part in query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        key = unquote(key.replace("+", " "), encoding="latin-1")
        value = unquote_to_bytes(value.replace("+", " ")).decode("latin-1")
        out.setdefault(key, value)
    return out


# --------------------------------------------------------------------------
# Recording


class Recorder:
    """Raw request bytes and connection ids, keyed by the `k` parameter."""

    def __init__(self):
        self.lock = threading.Lock()
        self.logs = {}   # k -> [raw request bytes, ...]
        self.conns = {}  # k -> set of connection ids

    def record(self, key, conn_id, raw):
        with self.lock:
            self.logs.setdefault(key, []).append(raw)
            self.conns.setdefault(key, set()).add(conn_id)

    def log(self, key):
        with self.lock:
            return b"\n----\n".join(self.logs.get(key, []))

    def stats(self, key):
        with self.lock:
            return {"connections": len(self.conns.get(key, ())),
                    "requests": len(self.logs.get(key, ()))}

    def reset(self, key=None):
        with self.lock:
            if key is None:
                self.logs.clear()
                self.conns.clear()
            else:
                self.logs.pop(key, None)
                self.conns.pop(key, None)


RECORDER = Recorder()


# --------------------------------------------------------------------------
# Connection


class Conn:
    """One accepted TCP connection with its receive buffer."""

    def __init__(self, sock, conn_id):
        self.sock = sock
        self.id = conn_id
        self.buf = bytearray()
        self.closed = False
        self.next_action = None    # "close"/"reset": set by /stale-next etc.
        self.idle_close_ms = None  # set by /idle-close

    # -- reading

    def recv_more(self):
        """Append received bytes to buf; False on EOF."""
        data = self.sock.recv(65536)
        if not data:
            return False
        self.buf += data
        return True

    def read_until(self, delim, limit):
        """Bytes up to and including delim; raises ClientGone on EOF."""
        start = 0
        while True:
            i = self.buf.find(delim, start)
            if i >= 0:
                end = i + len(delim)
                out = bytes(self.buf[:end])
                del self.buf[:end]
                return out
            if len(self.buf) > limit:
                raise BadRequest("line or head too long")
            start = max(0, len(self.buf) - len(delim) + 1)
            if not self.recv_more():
                raise ClientGone()

    def read_exact(self, n):
        while len(self.buf) < n:
            if not self.recv_more():
                raise ClientGone()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def wait_readable(self, seconds):
        """True if data (or EOF) arrives within `seconds`."""
        if self.buf:
            return True
        poller = select.poll()
        poller.register(self.sock.fileno(), select.POLLIN)
        return bool(poller.poll(max(0, int(seconds * 1000))))

    # -- writing

    def send(self, data):
        self.sock.sendall(data)

    def send_split(self, data, piece, delay):
        """Write data `piece` bytes at a time, sleeping `delay` s between."""
        for off in range(0, len(data), piece):
            if off:
                time.sleep(delay)
            self.sock.sendall(data[off:off + piece])

    def send_fill(self, n, offset=0):
        """Send n pattern bytes without building them all in memory."""
        sent = 0
        while sent < n:
            piece = min(65536, n - sent)
            self.sock.sendall(fill(offset + sent, piece))
            sent += piece

    # -- closing

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass

    def close_graceful(self):
        """FIN, then discard input until the peer's FIN (so that unread data
        does not turn our close into an RST), then close."""
        if self.closed:
            return
        try:
            self.sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + DRAIN_TIMEOUT
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.sock.settimeout(left)
                if not self.sock.recv(65536):
                    break
        except OSError:
            pass
        self.close()

    def close_reset(self):
        """Close with SO_LINGER {1, 0}: the peer sees an RST."""
        if self.closed:
            return
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close()


# --------------------------------------------------------------------------
# Request parsing


class Request:
    def __init__(self, method, target, version, headers):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers  # [(name, value)] in order received
        self.raw = b""          # head + body exactly as received
        self.body = b""         # decoded body
        path = target
        if not path.startswith("/") and "://" in path:  # absolute-form: drop scheme and authority
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        path, _, query = path.partition("?")
        self.path = path
        self.query = parse_query(query)

    def values(self, name):
        name = name.lower()
        return [v for n, v in self.headers if n.lower() == name]

    def tokens(self, name):
        return {t.strip().lower()
                for v in self.values(name) for t in v.split(",") if t.strip()}

    @property
    def keep_alive(self):
        conn = self.tokens("connection")
        if "close" in conn:
            return False
        if self.version == "HTTP/1.0":
            return "keep-alive" in conn
        return True

    def int_param(self, name, default):
        value = self.query.get(name)
        if value is None or value == "":
            return default
        if not is_digits(value):
            raise BadRequest("bad parameter %s=%r" % (name, value))
        return int(value)


def parse_head(data):
    text = data[:-4].decode("latin-1")
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        raise BadRequest("bad request line")
    method, target, version = parts
    if (not method or not set(method) <= TCHAR or not target
            or len(version) != 8 or not version.startswith("HTTP/")
            or not is_digits(version[5]) or version[6] != "."
            or not is_digits(version[7])):
        raise BadRequest("bad request line")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or not set(name) <= TCHAR:
            raise BadRequest("bad header line")
        headers.append((name, value.strip(" \t")))
    return Request(method, target, version, headers)


def body_framing(req):
    """('chunked', None), ('length', n) or ('none', 0)."""
    te = req.values("transfer-encoding")
    cl = req.values("content-length")
    if te:
        codings = [c.strip().lower() for v in te for c in v.split(",")]
        if cl or codings != ["chunked"]:
            raise BadRequest("unsupported transfer-encoding")
        return "chunked", None
    if cl:
        values = {c.strip() for v in cl for c in v.split(",")}
        if len(values) != 1:
            raise BadRequest("conflicting content-length")
        value = values.pop()
        if not is_digits(value) or int(value) > MAX_BODY:
            raise BadRequest("bad content-length")
        return "length", int(value)
    return "none", 0


def read_chunked(conn):
    """Decode a chunked body; returns (raw bytes, decoded body)."""
    raw = bytearray()
    body = bytearray()
    while True:
        line = conn.read_until(b"\r\n", 4096)
        raw += line
        size = line[:-2].split(b";", 1)[0].strip(b" \t")
        if not size or any(c not in b"0123456789abcdefABCDEF" for c in size):
            raise BadRequest("bad chunk size")
        n = int(size, 16)
        if len(body) + n > MAX_BODY:
            raise BadRequest("body too large")
        if n == 0:
            break
        data = conn.read_exact(n + 2)
        raw += data
        if data[-2:] != b"\r\n":
            raise BadRequest("missing CRLF after chunk data")
        body += data[:-2]
    while True:  # trailer section, ends with an empty line
        line = conn.read_until(b"\r\n", 65536)
        raw += line
        if line == b"\r\n":
            break
        if b":" not in line:
            raise BadRequest("bad trailer line")
    return bytes(raw), bytes(body)


def read_request(conn):
    """Next request on conn, or None on a clean EOF between requests."""
    while True:  # ignore empty lines before a request line (RFC 9112 2.2)
        while conn.buf[:2] == b"\r\n":
            del conn.buf[:2]
        if conn.buf and conn.buf != b"\r":
            break
        if not conn.recv_more():
            if conn.buf:
                raise ClientGone()
            return None
    data = conn.read_until(b"\r\n\r\n", MAX_HEAD)
    req = parse_head(data)
    kind, length = body_framing(req)
    if kind != "none" and length != 0 and \
            "100-continue" in req.tokens("expect"):
        conn.send(CONTINUE_100)
    if kind == "chunked":
        raw_body, req.body = read_chunked(conn)
    else:
        raw_body = req.body = conn.read_exact(length)
    req.raw = data + raw_body
    return req


# --------------------------------------------------------------------------
# Scenarios: fn(conn, req) -> KEEP | CLOSE | DONE


def sc_ok(conn, req):
    conn.send(OK_RESPONSE)
    return KEEP


def sc_echo(conn, req):
    conn.send(head("HTTP/1.1 200 OK", "Content-Length: %d" % len(req.raw))
              + req.raw)
    return KEEP


def sc_pipe_batch(conn, req):
    # How many requests arrived together: this one plus the complete heads
    # already buffered behind it (a pipelining client's one write).
    batch = 1 + bytes(conn.buf).count(b"\r\n\r\n")
    body = b"%d" % batch
    conn.send(head("HTTP/1.1 200 OK", "Content-Length: %d" % len(body)) + body)
    return KEEP


def sc_len(conn, req):
    n = req.int_param("n", 10)
    conn.send(head("HTTP/1.1 200 OK", "Content-Length: %d" % n))
    conn.send_fill(n)
    return KEEP


def sc_chunked(conn, req):
    n = req.int_param("n", 100)
    size = max(1, req.int_param("size", 26))
    conn.send(head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked"))
    for off in range(0, n, size):
        piece = min(size, n - off)
        ext = ";ext=1" if off == 0 else ""
        conn.send(b"%x%s\r\n%s\r\n" % (piece, ext.encode(), fill(off, piece)))
    conn.send(b"0\r\nX-Trailer: yes\r\n\r\n")
    return KEEP


def sc_close_delimited(conn, req):
    n = req.int_param("n", 10)
    conn.send(head("HTTP/1.1 200 OK", "Connection: close"))
    conn.send_fill(n)
    return CLOSE


def sc_http10(conn, req):
    conn.send(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
    return CLOSE


def sc_truncated(conn, req):
    n = req.int_param("n", 100)
    send = req.int_param("send", 10)
    conn.send(head("HTTP/1.1 200 OK", "Content-Length: %d" % n))
    conn.send_fill(send)
    return CLOSE


def sc_truncated_chunked(conn, req):
    conn.send(head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked")
              + b"5\r\nhello\r\n5\r\nwor")
    return CLOSE


def sc_bad_chunk(conn, req):
    conn.send(head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked")
              + b"zz\r\n")
    return CLOSE


def sc_bad_chunk_crlf(conn, req):
    conn.send(head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked")
              + b"5\r\nhelloXX0\r\n\r\n")
    return CLOSE


def sc_empty(conn, req):
    return CLOSE


def sc_reset(conn, req):
    conn.close_reset()
    return DONE


def sc_reset_mid_body(conn, req):
    conn.send(head("HTTP/1.1 200 OK", "Content-Length: 100") + fill(0, 10))
    time.sleep(0.05)  # let the client read what was sent before the RST
    conn.close_reset()
    return DONE


def sc_garbage(conn, req):
    conn.send(b"HELLO WORLD\r\n\r\n")
    return CLOSE


def sc_status(conn, req):
    code = req.query.get("code", "200")
    conn.send(head("HTTP/1.1 %s Whatever" % code, "Content-Length: 0"))
    return KEEP


def sc_huge_headers(conn, req):
    kb = req.int_param("kb", 64)
    split = max(1, req.int_param("split", 1024))
    lines = [b"HTTP/1.1 200 OK\r\n"]
    for i in range(kb):
        prefix = b"X-Fill-%d: " % i
        lines.append(prefix + fill(0, 1024 - len(prefix) - 2) + b"\r\n")
    lines.append(b"Content-Length: 2\r\n\r\nok")
    conn.send_split(b"".join(lines), split, 0.005)
    return KEEP


def sc_many_headers(conn, req):
    n = req.int_param("n", 100)
    fields = ["X-H-%d: v" % i for i in range(1, n + 1)]
    conn.send(head("HTTP/1.1 200 OK", *fields, "Content-Length: 2") + b"ok")
    return KEEP


def sc_slow_first_byte(conn, req):
    time.sleep(req.int_param("ms", 100) / 1000.0)
    conn.send(OK_RESPONSE)
    return KEEP


_GATES = {}  # key -> number of requests now waiting at that gate
_GATES_COND = threading.Condition()


def sc_gate(conn, req):
    """?k=K&n=N&s=S: hold every request under key K until N of them wait
    at once (then all get /ok), or S seconds [30] pass (503 "gate: M of N").
    Proves N requests in flight together, whatever the machine's speed."""
    key = req.query.get("k", "")
    n = req.int_param("n", 2)
    deadline = time.monotonic() + req.int_param("s", 30)
    with _GATES_COND:
        _GATES[key] = _GATES.get(key, 0) + 1
        _GATES_COND.notify_all()
        while _GATES[key] < n and time.monotonic() < deadline:
            _GATES_COND.wait(max(0.0, deadline - time.monotonic()))
        seen = _GATES[key]
        opened = seen >= n
    # A gate once open stays open for the late ones of its key (the count
    # only grows): a client that sent N at once sees N answers of /ok.
    if opened:
        conn.send(OK_RESPONSE)
        return KEEP
    body = b"gate: %d of %d\n" % (seen, n)
    conn.send(head("HTTP/1.1 503 Gate Not Reached", "Content-Length: %d" % len(body))
              + body)
    return KEEP


def sc_slow_body(conn, req):
    n = req.int_param("n", 10)
    delay = req.int_param("ms", 10) / 1000.0
    conn.send(head("HTTP/1.1 200 OK", "Content-Length: %d" % n))
    for i in range(n):
        time.sleep(delay)
        conn.send(fill(i, 1))
    return KEEP


def sc_stall_body(conn, req):
    n = req.int_param("n", 100)
    send = req.int_param("send", 10)
    conn.send(head("HTTP/1.1 200 OK", "Content-Length: %d" % n))
    conn.send_fill(send)
    deadline = time.monotonic() + STALL_TIMEOUT
    try:  # discard anything the client sends until it closes or time is up
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            conn.sock.settimeout(left)
            if not conn.sock.recv(65536):
                break
    except OSError:
        pass
    conn.close()
    return DONE


def sc_1xx(conn, req):
    conn.send(b"HTTP/1.1 100 Continue\r\n\r\n"
              b"HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n")
    conn.send(OK_RESPONSE)
    return KEEP


def sc_204_with_body(conn, req):
    conn.send(b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n")
    return KEEP


def sc_304(conn, req):
    conn.send(b'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n')
    return KEEP


def sc_head(conn, req):
    conn.send(head("HTTP/1.1 200 OK", "Content-Length: 1000"))
    if req.method != "HEAD":
        conn.send_fill(1000)
    return KEEP


def sc_keepalive(conn, req):
    timeout = req.query.get("timeout", "5")
    maximum = req.query.get("max", "100")
    conn.send(head("HTTP/1.1 200 OK", "Content-Length: 2",
                   "Content-Type: text/plain",
                   "Keep-Alive: timeout=%s, max=%s" % (timeout, maximum),
                   "Connection: keep-alive") + b"ok")
    return KEEP


def sc_close_after(conn, req):
    conn.send(head("HTTP/1.1 200 OK", "Content-Length: 2",
                   "Content-Type: text/plain", "Connection: close") + b"ok")
    return CLOSE


def sc_idle_close(conn, req):
    conn.idle_close_ms = req.int_param("ms", 100)
    conn.send(OK_RESPONSE)
    return KEEP


def sc_stale_next(conn, req):
    conn.next_action = "close"
    conn.send(OK_RESPONSE)
    return KEEP


def sc_reset_next(conn, req):
    conn.next_action = "reset"
    conn.send(OK_RESPONSE)
    return KEEP


def sc_split(conn, req):
    piece = max(1, req.int_param("chunk", 1))
    data = head("HTTP/1.1 200 OK", "Content-Length: 64") + fill(0, 64)
    conn.send_split(data, piece, 0.002)
    return KEEP


def sc_dup_headers(conn, req):
    conn.send(head("HTTP/1.1 200 OK", "Set-Cookie: a=1", "Set-Cookie: b=2",
                   "X-Case: One", "x-case: two", "Content-Length: 2") + b"ok")
    return KEEP


def sc_drop_after_head(conn, req):
    conn.send(head("HTTP/1.1 200 OK", "Content-Length: 10"))
    return CLOSE


def sc_no_length_keepalive(conn, req):
    conn.send(b"HTTP/1.1 200 OK\r\n\r\nabc")
    return CLOSE


# Hostile content for the client's decoding, redirect and cookie rules.
_BOMB = {}


def _bomb(mib):
    """gzip of mib MiB of zeros (~1 KiB per MiB), made once and kept."""
    if mib not in _BOMB:
        import zlib
        c = zlib.compressobj(9, zlib.DEFLATED, 31)
        zeros = bytes(1 << 20)
        _BOMB[mib] = b"".join(c.compress(zeros) for _ in range(mib)) + c.flush()
    return _BOMB[mib]


def sc_gzip_bomb(conn, req):
    """?mib=M&length=0|1: gzip inflating to M MiB, with or without a length."""
    body = _bomb(req.int_param("mib", 128))
    framing = ("Content-Length: %d" % len(body)) if req.int_param("length", 1) else "Connection: close"
    conn.send(head("HTTP/1.1 200 OK", "Content-Encoding: gzip", framing) + body)
    return KEEP if req.int_param("length", 1) else CLOSE


def sc_corrupt_gzip(conn, req):
    import zlib
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    body = bytearray(c.compress(b"hello world " * 100) + c.flush())
    body[20] ^= 0xFF
    body[21] ^= 0xFF
    conn.send(head("HTTP/1.1 200 OK", "Content-Encoding: gzip",
                   "Content-Length: %d" % len(body)) + bytes(body))
    return KEEP


def sc_encodings(conn, req):
    """?n=N: the body gzip-encoded N times, the header listing N codings."""
    import zlib
    n = req.int_param("n", 6)
    body = b"layered"
    for _ in range(n):
        c = zlib.compressobj(9, zlib.DEFLATED, 31)
        body = c.compress(body) + c.flush()
    conn.send(head("HTTP/1.1 200 OK", "Content-Encoding: " + ", ".join(["gzip"] * n),
                   "Content-Length: %d" % len(body)) + body)
    return KEEP


def sc_redirect_big(conn, req):
    """302 to /ok with an n-byte body (a client should not read it all)."""
    n = req.int_param("n", 1 << 20)
    conn.send(head("HTTP/1.1 302 Found", "Location: /ok", "Content-Length: %d" % n))
    conn.send_fill(n)
    return KEEP


def sc_redirect_port(conn, req):
    """302 to another port given as ?to=PORT&path=/x (a cross-port hop)."""
    to = req.int_param("to", 1)
    path = req.query.get("path", "/echo")
    conn.send(head("HTTP/1.1 302 Found", "Location: http://127.0.0.1:%d%s" % (to, path),
                   "Content-Length: 0"))
    return KEEP


def sc_loop(conn, req):
    """302 back to itself, forever."""
    conn.send(head("HTTP/1.1 302 Found", "Location: /loop", "Content-Length: 0"))
    return KEEP


def sc_cookie_flood(conn, req):
    """?n=N Set-Cookie headers, and one oversized cookie."""
    n = req.int_param("n", 1000)
    lines = ["Set-Cookie: c%d=v%d" % (i, i) for i in range(n)]
    lines.append("Set-Cookie: big=" + "x" * 8000)
    lines.append("Set-Cookie: sneaky=1; Domain=com")
    lines.append("Content-Length: 2")
    conn.send(head("HTTP/1.1 200 OK", *lines) + b"ok")
    return KEEP


def sc_flaky(conn, req):
    """?k=K&fail=N&code=C&after=S: the first N requests under key K fail,
    the later ones get /ok. A failure is status C [503] with a body
    "fail I\n" (I: the attempt number) and Retry-After: S when given; C=0
    resets the connection instead, C=52 closes it without a byte."""
    attempt = RECORDER.stats(req.query.get("k", ""))["requests"]
    if attempt > req.int_param("fail", 1):
        conn.send(OK_RESPONSE)
        return KEEP
    code = req.int_param("code", 503)
    if code == 0:
        conn.close_reset()
        return DONE
    if code == 52:
        return CLOSE
    body = b"fail %d\n" % attempt
    fields = ["Content-Length: %d" % len(body), "Content-Type: text/plain"]
    if "after" in req.query:
        fields.append("Retry-After: %s" % req.query["after"])
    conn.send(head("HTTP/1.1 %d Flaky" % code, *fields) + body)
    return KEEP


_ZSTD = {}


def _zstd(data, frames):
    """data split into `frames` zstd frames, by the zstd command (no zstd
    module in Python's standard library before 3.14)."""
    import subprocess
    key = (data, frames)
    if key not in _ZSTD:
        step = -(-len(data) // frames) if data else 0
        parts = [data[i * step:(i + 1) * step] for i in range(frames)]
        _ZSTD[key] = b"".join(subprocess.run(["zstd", "-q", "-c", "-3"], input=p, check=True,
                                             stdout=subprocess.PIPE).stdout for p in parts)
    return _ZSTD[key]


def sc_zstd(conn, req):
    """?n=N&frames=F&chunked=0|1&zeros=0|1: N pattern bytes (or zeros),
    Content-Encoding: zstd in F frames [1], with a length or chunked."""
    n = req.int_param("n", 1000)
    data = bytes(n) if req.int_param("zeros", 0) else fill(0, n)
    body = _zstd(data, max(1, req.int_param("frames", 1)))
    if req.int_param("chunked", 0):
        conn.send(head("HTTP/1.1 200 OK", "Content-Encoding: zstd", "Transfer-Encoding: chunked")
                  + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
    else:
        conn.send(head("HTTP/1.1 200 OK", "Content-Encoding: zstd",
                       "Content-Length: %d" % len(body)) + body)
    return KEEP


def sc_long_header(conn, req):
    """?kb=K&n=N: N [1] header lines of K KiB [100] each (name, ": ", value
    and CRLF together), then the body ok."""
    size = req.int_param("kb", 100) * 1024
    lines = []
    for i in range(req.int_param("n", 1)):
        prefix = b"X-Long-%d: " % i
        lines.append(prefix + fill(0, size - len(prefix) - 2) + b"\r\n")
    conn.send(b"HTTP/1.1 200 OK\r\n" + b"".join(lines) + b"Content-Length: 2\r\n\r\nok")
    return KEEP


# Generic scripted bytes (tests/fault): the exact bytes, split, then an end.
FLOOD_MAX_SECONDS = 30.0


def _end(conn, how):
    """End a scripted exchange: close (FIN), reset (RST), keep, or stall
    (hold the socket until the client closes or STALL_TIMEOUT passes)."""
    if how == "reset":
        conn.close_reset()
        return DONE
    if how == "keep":
        return KEEP
    if how == "stall":
        deadline = time.monotonic() + STALL_TIMEOUT
        try:
            while time.monotonic() < deadline:
                conn.sock.settimeout(max(0.01, deadline - time.monotonic()))
                if not conn.sock.recv(65536):
                    break
        except OSError:
            pass
        conn.close()
        return DONE
    return CLOSE


def _raw_bytes(req, name, default=""):
    return req.query.get(name, default).encode("latin-1")


def sc_raw(conn, req):
    """?b=BYTES&split=N&ms=T&end=close|reset|keep|stall: BYTES (percent-
    decoded) exactly, in N-byte pieces T ms apart (default: one write)."""
    data = _raw_bytes(req, "b")
    split = req.int_param("split", 0)
    delay = req.int_param("ms", 0) / 1000.0
    if split > 0:
        conn.send_split(data, split, delay)
    elif data:
        conn.send(data)
    return _end(conn, req.query.get("end", "close"))


def sc_flood(conn, req):
    """?pre=P&b=B&max=M&post=Q&end=E: P, then B over and over until M bytes
    of B went out [1 GiB] (or the client closes, or 30 s pass), then Q."""
    pre, unit, post = _raw_bytes(req, "pre"), _raw_bytes(req, "b", "x"), _raw_bytes(req, "post")
    limit = req.int_param("max", 1 << 30)
    if pre:
        conn.send(pre)
    block = unit * max(1, 65536 // max(1, len(unit)))
    sent, deadline = 0, time.monotonic() + FLOOD_MAX_SECONDS
    while sent < limit and time.monotonic() < deadline:
        piece = block[:limit - sent]
        conn.send(piece)
        sent += len(piece)
    if post:
        conn.send(post)
    return _end(conn, req.query.get("end", "close"))


def sc_next(conn, req):
    """/ok now; the next request on this connection gets ?b=BYTES, then
    ?end=close|reset (a kept-alive connection that fails after its first
    byte, for instance)."""
    conn.next_action = ("bytes", _raw_bytes(req, "b"), req.query.get("end", "close"))
    conn.send(OK_RESPONSE)
    return KEEP


def sc_tls_close_notify(conn, req):
    """TLS only: the head (Content-Length: 100) and 10 body bytes, then a
    close_notify alert and a close."""
    conn.send(head("HTTP/1.1 200 OK", "Content-Length: 100") + fill(0, 10))
    try:
        conn.sock = conn.sock.unwrap()
    except (OSError, ValueError, AttributeError):
        pass
    conn.close_graceful()
    return DONE


def sc_tls_alert(conn, req):
    """TLS only: the head and 10 body bytes, then a fatal alert record
    (internal_error) written in the clear, then a close."""
    conn.send(head("HTTP/1.1 200 OK", "Content-Length: 100") + fill(0, 10))
    time.sleep(0.05)
    try:
        os.write(conn.sock.fileno(), b"\x15\x03\x03\x00\x02\x02\x50")
    except OSError:
        pass
    conn.close_graceful()
    return DONE


def sc_tls_bad_record(conn, req):
    """TLS only: the head and 10 body bytes, then an application-data record
    of 32 random bytes that cannot decrypt, then a close."""
    conn.send(head("HTTP/1.1 200 OK", "Content-Length: 100") + fill(0, 10))
    time.sleep(0.05)
    try:
        os.write(conn.sock.fileno(), b"\x17\x03\x03\x00\x20" + os.urandom(32))
    except OSError:
        pass
    conn.close_graceful()
    return DONE


def sc_not_found(conn, req):
    conn.send(RESP_404)
    return KEEP


# Control endpoints (not recorded).


def ctl_log(conn, req):
    body = RECORDER.log(req.query.get("k", ""))
    conn.send(head("HTTP/1.1 200 OK", "Content-Length: %d" % len(body),
                   "Content-Type: application/octet-stream") + body)
    return KEEP


def ctl_stats(conn, req):
    body = json.dumps(RECORDER.stats(req.query.get("k", ""))).encode()
    conn.send(head("HTTP/1.1 200 OK", "Content-Length: %d" % len(body),
                   "Content-Type: application/json") + body)
    return KEEP


def ctl_reset(conn, req):
    if req.query.get("all") == "1":
        RECORDER.reset()
    else:
        RECORDER.reset(req.query.get("k", ""))
    conn.send(OK_RESPONSE)
    return KEEP


SCENARIOS = {
    "/gzip-bomb": sc_gzip_bomb,
    "/corrupt-gzip": sc_corrupt_gzip,
    "/encodings": sc_encodings,
    "/redirect-big": sc_redirect_big,
    "/redirect-port": sc_redirect_port,
    "/cookie-flood": sc_cookie_flood,
    "/loop": sc_loop,
    "/flaky": sc_flaky,
    "/zstd": sc_zstd,
    "/long-header": sc_long_header,
    "/ok": sc_ok,
    "/echo": sc_echo,
    "/len": sc_len,
    "/chunked": sc_chunked,
    "/close-delimited": sc_close_delimited,
    "/http10": sc_http10,
    "/truncated": sc_truncated,
    "/truncated-chunked": sc_truncated_chunked,
    "/bad-chunk": sc_bad_chunk,
    "/bad-chunk-crlf": sc_bad_chunk_crlf,
    "/empty": sc_empty,
    "/reset": sc_reset,
    "/reset-mid-body": sc_reset_mid_body,
    "/garbage": sc_garbage,
    "/status": sc_status,
    "/huge-headers": sc_huge_headers,
    "/many-headers": sc_many_headers,
    "/slow-first-byte": sc_slow_first_byte,
    "/slow-body": sc_slow_body,
    "/stall-body": sc_stall_body,
    "/1xx": sc_1xx,
    "/204-with-body": sc_204_with_body,
    "/304": sc_304,
    "/head": sc_head,
    "/keepalive": sc_keepalive,
    "/close-after": sc_close_after,
    "/idle-close": sc_idle_close,
    "/stale-next": sc_stale_next,
    "/reset-next": sc_reset_next,
    "/split": sc_split,
    "/dup-headers": sc_dup_headers,
    "/delay": sc_slow_first_byte,
    "/gate": sc_gate,
    "/drop-after-head": sc_drop_after_head,
    "/no-length-keepalive": sc_no_length_keepalive,
    "/pipeline-echo": sc_echo,
    "/pipe-batch": sc_pipe_batch,
    "/raw": sc_raw,
    "/flood": sc_flood,
    "/next": sc_next,
    "/tls-close-notify": sc_tls_close_notify,
    "/tls-alert": sc_tls_alert,
    "/tls-bad-record": sc_tls_bad_record,
}

CONTROL = {
    "/_log": ctl_log,
    "/_stats": ctl_stats,
    "/_reset": ctl_reset,
}


# --------------------------------------------------------------------------
# Serving


TLS_CTX = None  # ssl.SSLContext with --tls-dir: every connection is TLS


def serve_connection(conn):
    try:
        if TLS_CTX is not None:
            conn.sock = TLS_CTX.wrap_socket(conn.sock, server_side=True)
        while True:
            if conn.idle_close_ms is not None:
                ms, conn.idle_close_ms = conn.idle_close_ms, None
                if not conn.wait_readable(ms / 1000.0):
                    conn.close_graceful()
                    return
            try:
                req = read_request(conn)
                if req is None:
                    return
                control = CONTROL.get(req.path)
                if control is None:
                    RECORDER.record(req.query.get("k", ""), conn.id, req.raw)
                if isinstance(conn.next_action, tuple):
                    _, data, how = conn.next_action
                    conn.next_action = None
                    if data:
                        conn.send(data)
                    if _end(conn, how) == DONE:
                        return
                    conn.close_graceful()
                    return
                if conn.next_action == "reset":
                    conn.close_reset()
                    return
                if conn.next_action == "close":
                    conn.close_graceful()
                    return
                handler = control or SCENARIOS.get(req.path, sc_not_found)
                action = handler(conn, req)
            except BadRequest:
                conn.send(RESP_400)
                conn.close_graceful()
                return
            if action == DONE:
                return
            if action == CLOSE or not req.keep_alive:
                conn.close_graceful()
                return
    except (OSError, ClientGone):
        pass  # client went away (EOF, reset, timeout): nothing to report
    except Exception:
        traceback.print_exc(file=sys.stderr)
    finally:
        conn.close()


def start_connection(sock, conn_id):
    try:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(IDLE_TIMEOUT)
        t = threading.Thread(target=serve_connection,
                             args=(Conn(sock, conn_id),), daemon=True)
        t.start()
    except Exception as e:  # e.g. cannot start a new thread
        print("fault_server: dropping connection: %s" % e, file=sys.stderr)
        sock.close()


# --------------------------------------------------------------------------
# DNS (--dns-port-file): a scripted resolver on UDP and TCP 127.0.0.1:PORT.
# Names (any label in front is allowed, e.g. x.ok.test):
#   ok.test         A 127.0.0.1 (AAAA: no data)
#   nxdomain.test   NXDOMAIN              servfail.test  SERVFAIL
#   refused.test    REFUSED               nodata.test    no error, no address
#   silent.test     never answered        garbled.test   an answer cut short
#   truncated.test  UDP: TC set, nothing else; TCP: A 127.0.0.1
#   truncated-bad.test  UDP: TC set; TCP: the connection closes unanswered
#   otherid.test    answered with another query id (never matches)
# Anything else: NXDOMAIN.

DNS_A, DNS_AAAA = 1, 28


def dns_question(msg):
    """(name, qtype, end offset of the question) of a query."""
    labels, off = [], 12
    while off < len(msg) and msg[off] != 0:
        n = msg[off]
        labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace").lower())
        off += 1 + n
    qtype = int.from_bytes(msg[off + 1:off + 3], "big") if off + 3 <= len(msg) else 0
    return ".".join(labels), qtype, off + 5


def dns_answer(msg, tcp):
    """The reply bytes for a query, or None to stay silent."""
    if len(msg) < 12:
        return None
    name, qtype, end = dns_question(msg)
    qid, question = msg[:2], msg[12:end]

    def is_(base):
        return name == base or name.endswith("." + base)

    def reply(rcode, answers=b"", count=0, tc=0, ident=qid):
        flags = 0x8000 | (msg[2] & 0x79) << 8 | 0x0080 | rcode | (0x0200 if tc else 0)
        return (ident + flags.to_bytes(2, "big") + b"\x00\x01" + count.to_bytes(2, "big")
                + b"\x00\x00\x00\x00" + question + answers)

    a_record = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x7f\x00\x00\x01"
    if is_("silent.test"):
        return None
    if is_("truncated-bad.test"):
        return b"" if tcp else reply(0, tc=1)
    if is_("truncated.test") and not tcp:
        return reply(0, tc=1)
    if is_("ok.test") or is_("truncated.test"):
        return reply(0, a_record, 1) if qtype == DNS_A else reply(0)
    if is_("nodata.test"):
        return reply(0)
    if is_("servfail.test"):
        return reply(2)
    if is_("refused.test"):
        return reply(5)
    if is_("garbled.test"):
        return reply(0, a_record[:7], 1)
    if is_("otherid.test"):
        return reply(0, a_record, 1, ident=bytes([msg[0] ^ 0x55, msg[1]]))
    return reply(3)


def dns_udp(sock):
    while True:
        try:
            msg, peer = sock.recvfrom(4096)
            out = dns_answer(msg, False)
            if out:
                sock.sendto(out, peer)
        except OSError:
            time.sleep(0.01)


def dns_tcp_conn(c):
    try:
        c.settimeout(10)
        buf = b""
        while True:
            while len(buf) < 2 or len(buf) < 2 + int.from_bytes(buf[:2], "big"):
                data = c.recv(4096)
                if not data:
                    return
                buf += data
            n = int.from_bytes(buf[:2], "big")
            msg, buf = buf[2:2 + n], buf[2 + n:]
            out = dns_answer(msg, True)
            if out is None:
                continue
            if out == b"":
                return
            c.sendall(len(out).to_bytes(2, "big") + out)
    except OSError:
        pass
    finally:
        c.close()


def dns_tcp(lsock):
    while True:
        try:
            c, _ = lsock.accept()
        except OSError:
            time.sleep(0.01)
            continue
        threading.Thread(target=dns_tcp_conn, args=(c,), daemon=True).start()


def start_dns(port_file):
    """UDP and TCP on one free 127.0.0.1 port; writes the port to port_file."""
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            t.bind(("127.0.0.1", port))
        except OSError:
            u.close()
            t.close()
            continue
        t.listen(64)
        threading.Thread(target=dns_udp, args=(u,), daemon=True).start()
        threading.Thread(target=dns_tcp, args=(t,), daemon=True).start()
        write_port_file(port_file, port)
        return
    raise SystemExit("fault_server: no free port for DNS")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--tls-dir", help="serve TLS with DIR/good.pem and DIR/good.key")
    ap.add_argument("--dns-port-file", help="also run the scripted DNS server")
    args = ap.parse_args()

    global TLS_CTX
    if args.tls_dir:
        import ssl
        TLS_CTX = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        TLS_CTX.load_cert_chain(os.path.join(args.tls_dir, "good.pem"),
                                os.path.join(args.tls_dir, "good.key"))
    if args.dns_port_file:
        start_dns(args.dns_port_file)

    serve(args.host, args.port_file, start_connection, "fault_server")


if __name__ == "__main__":
    main()
