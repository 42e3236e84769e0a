#!/usr/bin/env python3
"""Scripted HTTP/2 server for flurry client tests: normal and hostile peers.

Usage: python3 h2_server.py --port-file PATH [--host 127.0.0.1|::1]
                            [--tls-dir DIR] [--scenario NAME]

Binds an ephemeral loopback port, writes the port number (decimal, then a
newline) to PATH atomically once listening, and serves until SIGTERM or
SIGINT (exit code 0).  Every connection speaks HTTP/2 by prior knowledge
(h2c), or over TLS with ALPN "h2" when --tls-dir DIR is given (DIR/good.pem
and DIR/good.key, as the nginx_tls fixture writes them).

Frames are written with hyperframe and header blocks with hpack, by hand,
not through the h2 state machine: the server can then break any rule a
scenario asks it to.  Scenarios are picked per request by the :path
(per stream), or per connection by the first request's path when it starts
with /conn/ (or for every connection with --scenario).  The server sends its
SETTINGS only once that first request's headers arrived (or 1 s after the
client's preface), so a connection scenario can change them.  See README.md
beside this file for the list.  Python 3 with python3-h2's hyperframe and
hpack (Debian packages python3-hyperframe, python3-hpack).
"""

import argparse
import json
import os
import selectors
import socket
import struct
import sys
import threading
import time
import traceback
from accept_loop import serve
from urllib.parse import parse_qs

from hpack import Decoder, Encoder
from hyperframe.frame import (ContinuationFrame, DataFrame, Frame, GoAwayFrame,
                              HeadersFrame, PingFrame, RstStreamFrame,
                              SettingsFrame, WindowUpdateFrame)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
ALPHA = b"abcdefghijklmnopqrstuvwxyz"
IDLE_TIMEOUT = 300.0    # seconds a connection may sit without traffic
STALL_TIMEOUT = 60.0    # how long the stalling scenarios hold a connection
FLOOD_TIMEOUT = 30.0    # how long a flood goes on at most
PREFACE_WAIT = 1.0      # SETTINGS go out this long after the client's
                        # preface even if no request arrived

# error codes (RFC 9113 section 7)
NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR = 0, 1, 2, 3
STREAM_CLOSED, FRAME_SIZE_ERROR, REFUSED_STREAM, CANCEL = 5, 6, 7, 8
COMPRESSION_ERROR, ENHANCE_YOUR_CALM = 9, 11


def fill(offset, n):
    """n bytes of the repeating 'a'..'z' pattern, starting at offset."""
    start = offset % 26
    reps = (start + n) // 26 + 1
    return (ALPHA * reps)[start:start + n]


def raw_frame(ftype, flags, stream_id, payload):
    """A frame's bytes, whatever its length (hyperframe checks nothing)."""
    n = len(payload)
    return struct.pack(">BHBBL", n >> 16, n & 0xFFFF, ftype, flags,
                       stream_id & 0x7FFFFFFF) + payload


def hpack_int(value, prefix_bits, first_byte):
    """HPACK integer (RFC 7541 5.1) with the pattern bits of first_byte."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first_byte | value])
    out = bytearray([first_byte | limit])
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def literal_field(name, value):
    """A 'literal never indexed, new name' field: no dynamic table change,
    and the name's bytes exactly as given (upper case survives)."""
    name = name.encode("latin-1") if isinstance(name, str) else name
    value = value.encode("latin-1") if isinstance(value, str) else value
    return (b"\x10" + hpack_int(len(name), 7, 0) + name +
            hpack_int(len(value), 7, 0) + value)


def raw_block(fields):
    return b"".join(literal_field(n, v) for n, v in fields)


# --------------------------------------------------------------------------
# Recording


class Recorder:
    """Per key (the k query parameter): requests, connections, the most
    streams open at once on one connection, REFUSED_STREAM answers, and the
    request header lists (for /_log)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.data = {}

    def _entry(self, key):
        return self.data.setdefault(key, {
            "requests": 0, "conns": set(), "max_concurrent": 0,
            "refused": 0, "log": [], "goaways": []})

    def record(self, key, conn_id, headers, open_streams):
        with self.lock:
            e = self._entry(key)
            e["requests"] += 1
            e["conns"].add(conn_id)
            e["max_concurrent"] = max(e["max_concurrent"], open_streams)
            e["log"].append(headers)
            return e["requests"]

    def goaway(self, key, last, code):
        with self.lock:
            self._entry(key)["goaways"].append([last, code])

    def refused(self, key):
        with self.lock:
            self._entry(key)["refused"] += 1

    def stats(self, key):
        with self.lock:
            e = self.data.get(key)
            if e is None:
                return {"connections": 0, "requests": 0, "max_concurrent": 0,
                        "refused": 0, "goaways": []}
            return {"connections": len(e["conns"]), "requests": e["requests"],
                    "max_concurrent": e["max_concurrent"],
                    "refused": e["refused"], "goaways": list(e["goaways"])}

    def log(self, key):
        with self.lock:
            e = self.data.get(key)
            return list(e["log"]) if e else []

    def reset(self, key=None):
        with self.lock:
            if key is None:
                self.data.clear()
            else:
                self.data.pop(key, None)


RECORDER = Recorder()


# --------------------------------------------------------------------------
# Streams and connections


class ClientGone(Exception):
    """EOF or a socket error: the connection is over."""


class Stream:
    def __init__(self, sid, window):
        self.id = sid
        self.window = window       # what we may still send on it
        self.block = b""           # header block being received
        self.headers = None        # decoded request fields
        self.body = bytearray()
        self.ended = False         # the client's END_STREAM arrived
        self.out = bytearray()     # response body still to send
        self.out_end = False       # END_STREAM after self.out
        self.trailers = None       # sent after self.out
        self.done = False          # our side closed (or reset)
        self.no_window_update = False
        self.path = ""
        self.query = {}

    def q(self, name, default):
        value = self.query.get(name)
        if value is None or value == "":
            return default
        if isinstance(default, int):
            return int(value)
        return value


class Conn:
    def __init__(self, sock, conn_id, scenario):
        self.sock = sock
        self.id = conn_id
        self.buf = bytearray()
        self.streams = {}
        self.decoder = Decoder()
        self.encoder = Encoder()
        self.peer_window = 65535          # connection window for our DATA
        self.peer_initial = 65535         # client's SETTINGS_INITIAL_WINDOW_SIZE
        self.peer_max_frame = 16384       # client's SETTINGS_MAX_FRAME_SIZE
        self.peer_table_size = 4096       # client's SETTINGS_HEADER_TABLE_SIZE
        self.settings_sent = False
        self.deferred = []                # frames held until our SETTINGS
        self.forced = scenario            # --scenario
        self.conn_scenario = None         # name of the /conn/ scenario
        self.conn_query = {}
        self.max_streams = 100
        self.initial_window = 65535       # our SETTINGS_INITIAL_WINDOW_SIZE
        self.timers = []                  # [(due, fn)]
        self.last_stream = 0
        self.goaway_sent = False
        self.closing = False              # stop after flushing
        self.completed = 0                # requests complete on this conn
        self.preface_at = None
        self.no_updates = False           # never send WINDOW_UPDATE (/conn/zero-window)
        self.goaway_last = 1 << 31        # streams above it are not processed
        self.held = []                    # goaway-after: requests not yet answered
        self.key = None                   # the k of its first request
        self.ignore_pings = False         # /conn/feat-no-ping-ack: PINGs unanswered

    # -- I/O

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError:
            raise ClientGone()

    def frame(self, f):
        """Send a hyperframe frame, or hold it until our SETTINGS went."""
        data = f.serialize() if not isinstance(f, bytes) else f
        if not self.settings_sent:
            self.deferred.append(data)
        else:
            self.send(data)

    def recv_more(self, timeout):
        pending = getattr(self.sock, "pending", None)
        if not (pending and pending()):
            sel = selectors.DefaultSelector()
            sel.register(self.sock, selectors.EVENT_READ)
            ready = sel.select(timeout)
            sel.close()
            if not ready:
                return None
        try:
            data = self.sock.recv(65536)
        except OSError:
            raise ClientGone()
        if not data:
            raise ClientGone()
        self.buf += data
        return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def close_graceful(self):
        try:
            self.sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                self.sock.settimeout(max(0.01, deadline - time.monotonic()))
                if not self.sock.recv(65536):
                    break
        except OSError:
            pass
        self.close()

    # -- timers

    def at(self, delay_s, fn):
        self.timers.append((time.monotonic() + delay_s, fn))

    def run_timers(self):
        now = time.monotonic()
        due = sorted((t for t in self.timers if t[0] <= now), key=lambda t: t[0])
        self.timers = [t for t in self.timers if t[0] > now]
        for _, fn in due:
            fn()

    def next_timeout(self):
        t = IDLE_TIMEOUT
        if self.timers:
            t = min(t, max(0.0, min(d for d, _ in self.timers) - time.monotonic()))
        if not self.settings_sent and self.preface_at is not None:
            t = min(t, max(0.0, self.preface_at + PREFACE_WAIT - time.monotonic()))
        return t

    # -- our preface

    def send_settings(self):
        if self.settings_sent:
            return
        if self.conn_scenario == "no-settings":
            return  # never: hold everything
        f = SettingsFrame(0)
        f.settings = {SettingsFrame.MAX_CONCURRENT_STREAMS: self.max_streams}
        if self.initial_window != 65535:
            f.settings[SettingsFrame.INITIAL_WINDOW_SIZE] = self.initial_window
        self.settings_sent = True
        out = f.serialize() + b"".join(self.deferred)
        self.deferred = []
        self.send(out)

    def choose_conn_scenario(self, path, query):
        name = self.forced
        if name is None and path.startswith("/conn/"):
            name = path[len("/conn/"):]
        if name is None:
            return
        self.conn_scenario = name
        self.conn_query = query
        if name == "max-streams-1":
            self.max_streams = 1
        elif name == "zero-window":
            self.initial_window = 0
            self.no_updates = True
        elif name == "max-streams":
            self.max_streams = int(query.get("n", "1"))
        elif name == "feat-no-ping-ack":
            self.ignore_pings = True

    # -- sending responses

    def encode(self, fields):
        return self.encoder.encode(fields)

    def send_headers(self, sid, fields, end_stream=False, block=None):
        """One HEADERS (+ CONTINUATION) with fields, split at the client's
        SETTINGS_MAX_FRAME_SIZE."""
        if block is None:
            block = self.encode(fields)
        size = self.peer_max_frame
        first, rest = block[:size], block[size:]
        f = HeadersFrame(sid, data=first)
        if end_stream:
            f.flags.add("END_STREAM")
        if not rest:
            f.flags.add("END_HEADERS")
        frames = [f.serialize()]
        while rest:
            piece, rest = rest[:size], rest[size:]
            c = ContinuationFrame(sid, data=piece)
            if not rest:
                c.flags.add("END_HEADERS")
            frames.append(c.serialize())
        self.frame(b"".join(frames))

    def respond(self, st, status=200, fields=(), body=b"", trailers=None,
                end=True, length=True):
        """Response head, then body (flow-controlled) and trailers."""
        head = [(":status", str(status))]
        if length and body is not None and trailers is None:
            head.append(("content-length", str(len(body))))
        head.extend(fields)
        no_body = not body and trailers is None and end
        self.send_headers(st.id, head, end_stream=no_body)
        if no_body:
            st.done = True
            return
        st.out += body
        st.out_end = end
        st.trailers = trailers
        self.pump()

    def pump(self):
        """Send what the windows allow of every stream's pending body."""
        for st in list(self.streams.values()):
            if st.done:
                continue
            while st.out and self.peer_window > 0 and st.window > 0:
                n = min(len(st.out), self.peer_window, st.window,
                        self.peer_max_frame)
                f = DataFrame(st.id, data=bytes(st.out[:n]))
                del st.out[:n]
                self.peer_window -= n
                st.window -= n
                if not st.out and st.out_end and st.trailers is None:
                    f.flags.add("END_STREAM")
                    st.done = True
                self.frame(f)
            if not st.out and not st.done and st.out_end:
                if st.trailers is not None:
                    self.send_headers(st.id, st.trailers, end_stream=True)
                    st.done = True
                elif st.id:
                    self.frame(DataFrame(st.id, data=b"", flags=["END_STREAM"]))
                    st.done = True

    def rst(self, sid, code):
        self.frame(RstStreamFrame(sid, error_code=code))
        st = self.streams.get(sid)
        if st:
            st.done = True
            st.out = bytearray()

    def goaway(self, last, code, debug=b""):
        self.frame(GoAwayFrame(0, last_stream_id=last, error_code=code,
                               additional_data=debug))
        self.goaway_sent = True

    # -- receiving

    def handle(self, f, length):
        t = f.type
        if t == SettingsFrame.type:
            if "ACK" in f.flags:
                return
            for k, v in f.settings.items():
                if k == SettingsFrame.INITIAL_WINDOW_SIZE:
                    delta = v - self.peer_initial
                    self.peer_initial = v
                    for st in self.streams.values():
                        st.window += delta
                elif k == SettingsFrame.MAX_FRAME_SIZE:
                    self.peer_max_frame = v
                elif k == SettingsFrame.HEADER_TABLE_SIZE:
                    self.peer_table_size = v
                    if v < self.encoder.header_table_size:
                        self.encoder.header_table_size = v
            self.frame(SettingsFrame(0, flags=["ACK"]))
            self.pump()
        elif t == PingFrame.type:
            if "ACK" not in f.flags and not self.ignore_pings:
                self.frame(PingFrame(0, opaque_data=f.opaque_data, flags=["ACK"]))
        elif t == WindowUpdateFrame.type:
            if f.stream_id == 0:
                self.peer_window += f.window_increment
            elif f.stream_id in self.streams:
                self.streams[f.stream_id].window += f.window_increment
            self.pump()
        elif t == RstStreamFrame.type:
            st = self.streams.get(f.stream_id)
            if st:
                st.done = True
                st.out = bytearray()
        elif t == GoAwayFrame.type:
            self.closing = True
            if self.key is not None:
                RECORDER.goaway(self.key, f.last_stream_id, f.error_code)
        elif t == HeadersFrame.type:
            st = self.streams.get(f.stream_id)
            if st is None:
                st = Stream(f.stream_id, self.peer_initial)
                self.streams[f.stream_id] = st
                self.last_stream = max(self.last_stream, f.stream_id)
            st.block += f.data
            if "END_STREAM" in f.flags:
                st.ended = True
            if "END_HEADERS" in f.flags:
                self.headers_done(st)
        elif t == ContinuationFrame.type:
            st = self.streams.get(f.stream_id)
            if st is not None:
                st.block += f.data
                if "END_HEADERS" in f.flags:
                    self.headers_done(st)
        elif t == DataFrame.type:
            st = self.streams.get(f.stream_id)
            n = f.flow_controlled_length
            if n and not self.no_updates:
                if not (st and st.no_window_update):
                    self.frame(WindowUpdateFrame(0, window_increment=n))
                    if st and not ("END_STREAM" in f.flags):
                        self.frame(WindowUpdateFrame(st.id, window_increment=n))
            if st is not None:
                st.body += f.data
                if "END_STREAM" in f.flags:
                    st.ended = True
                    self.maybe_dispatch(st)

    def headers_done(self, st):
        block, st.block = st.block, b""
        fields = [(n, v) for n, v in self.decoder.decode(block)]
        if st.headers is not None:  # trailers
            if st.ended:
                self.maybe_dispatch(st)
            return
        st.headers = fields
        pseudo = dict((n, v) for n, v in fields if n.startswith(":"))
        path = pseudo.get(":path", "/")
        st.path, _, qs = path.partition("?")
        st.query = {k: v[0] for k, v in parse_qs(qs, keep_blank_values=True).items()}
        if self.key is None and st.path not in CONTROL:
            self.key = st.query.get("k", "")
        if not self.settings_sent and self.conn_scenario is None:
            self.choose_conn_scenario(st.path, st.query)
            self.send_settings()
        if st.path == "/no-window-update":
            st.no_window_update = True
        self.on_request_start(st)
        if st.ended:
            self.maybe_dispatch(st)

    def open_streams(self):
        return sum(1 for s in self.streams.values() if not s.done)

    def on_request_start(self, st):
        """Connection scenarios that act when a stream opens."""
        key = st.query.get("k", "")
        if self.conn_scenario in ("max-streams-1", "max-streams"):
            if self.open_streams() > self.max_streams:
                RECORDER.refused(key)
                self.rst(st.id, REFUSED_STREAM)
                st.refused = True

    def maybe_dispatch(self, st):
        if st.done or getattr(st, "dispatched", False):
            return
        st.dispatched = True
        if self.goaway_sent and st.id > self.goaway_last:
            return  # not processed: the client must retry it elsewhere
        key = st.query.get("k", "")
        control = CONTROL.get(st.path)
        if control is not None:
            control(self, st)
            return
        RECORDER.record(key, self.id, st.headers, self.open_streams())
        self.completed += 1
        if self.conn_scenario == "goaway-after":
            # hold the first n, then GOAWAY(last = the n-th) and answer them
            n = int(self.conn_query.get("n", "2"))
            self.held.append(st)
            if self.completed < n:
                return
            self.goaway_last = st.id
            self.goaway(st.id, NO_ERROR)
            self.closing = True
            held, self.held = self.held, []
            for h in held:
                SCENARIOS.get(h.path, sc_not_found)(self, h)
            return
        handler = SCENARIOS.get(st.path, sc_not_found)
        handler(self, st)

    # -- main loop

    def serve(self):
        while True:
            if self.preface_at is None:
                while len(self.buf) < len(PREFACE):
                    self.recv_more(IDLE_TIMEOUT)
                if bytes(self.buf[:len(PREFACE)]) != PREFACE:
                    self.goaway(0, PROTOCOL_ERROR, b"bad preface")
                    self.settings_sent = True
                    self.send(b"".join(self.deferred))
                    return
                del self.buf[:len(PREFACE)]
                self.preface_at = time.monotonic()
                if self.forced is not None:
                    self.choose_conn_scenario("", {})
                    self.send_settings()
            while len(self.buf) >= 9:
                f, length = Frame.parse_frame_header(memoryview(self.buf[:9]))
                if len(self.buf) < 9 + length:
                    break
                body = bytes(self.buf[9:9 + length])
                del self.buf[:9 + length]
                try:
                    f.parse_body(memoryview(body))
                except Exception:  # hyperframe's errors: a broken client frame
                    self.goaway(self.last_stream, PROTOCOL_ERROR, b"bad frame")
                    self.settings_sent = True
                    self.send(b"".join(self.deferred))
                    raise ClientGone()
                self.handle(f, length)
            if self.closing and self.goaway_sent and self.all_done():
                self.close_graceful()
                return
            self.run_timers()
            if (not self.settings_sent and self.preface_at is not None and
                    time.monotonic() >= self.preface_at + PREFACE_WAIT):
                self.send_settings()
            if self.recv_more(self.next_timeout()) is None:
                continue

    def all_done(self):
        return all(s.done or s.id > self.goaway_last
                   or not getattr(s, "dispatched", False)
                   for s in self.streams.values()) and not self.timers


# --------------------------------------------------------------------------
# Scenarios (per stream, by :path). Each gets the connection and the stream
# whose request is complete (headers, and body up to END_STREAM).


def sc_not_found(c, st):
    c.respond(st, 404, [("content-type", "text/plain")], b"not found")


def sc_ok(c, st):
    c.respond(st, 200, [("content-type", "text/plain")], b"ok")


def sc_echo(c, st):
    method = dict(st.headers).get(":method", "")
    c.respond(st, 200, [("content-type", "application/octet-stream"),
                        ("x-method", method)], bytes(st.body))


def sc_headers(c, st):
    body = json.dumps([[n, v] for n, v in st.headers]).encode() + b"\n"
    c.respond(st, 200, [("content-type", "application/json")], body)


def sc_len(c, st):
    n = st.q("n", 10)
    c.respond(st, 200, [("content-type", "application/octet-stream")], fill(0, n))


def sc_status(c, st):
    c.respond(st, st.q("code", 200), [], b"")


def sc_trailers(c, st):
    """Body "ok" (or n pattern bytes), then trailers x-trailer: yes and
    x-checksum: abc."""
    n = st.q("n", -1)
    c.respond(st, 200, [("content-type", "text/plain")], b"ok" if n < 0 else fill(0, n),
              trailers=[("x-trailer", "yes"), ("x-checksum", "abc")])


def sc_1xx(c, st):
    c.send_headers(st.id, [(":status", "103"), ("link", "</x>; rel=preload")])
    sc_ok(c, st)


def sc_delay(c, st):
    c.at(st.q("ms", 100) / 1000.0, lambda: sc_ok(c, st) if not st.done else None)


def sc_slow_body(c, st):
    n, ms = st.q("n", 10), st.q("ms", 10)
    c.send_headers(st.id, [(":status", "200"), ("content-length", str(n))])

    def step(i):
        if st.done:
            return
        st.out += fill(i, 1)
        st.out_end = i == n - 1
        c.pump()
        if i + 1 < n:
            c.at(ms / 1000.0, lambda: step(i + 1))
    if n:
        c.at(ms / 1000.0, lambda: step(0))
    else:
        c.frame(DataFrame(st.id, data=b"", flags=["END_STREAM"]))
        st.done = True


def sc_stall_body(c, st):
    """Head with content-length n, `send` bytes, then nothing (the stream
    stays open; the connection answers PINGs and other streams)."""
    n, send = st.q("n", 100), st.q("send", 10)
    c.respond(st, 200, [("content-length", str(n))], fill(0, send), end=False,
              length=False)


def sc_big_headers(c, st):
    """kb KiB of fields of `field` KiB each (x-big-NN), then `body` bytes."""
    kb, field, body = st.q("kb", 110), st.q("field", 4), st.q("body", 2)
    fields = [("content-length", str(body))]
    total, i = 0, 0
    while total < kb * 1024:
        size = min(field * 1024, kb * 1024 - total)
        name = "x-big-%02d" % i
        fields.append((name, fill(i, max(1, size - len(name))).decode()))
        total += size
        i += 1
    block = c.encode([(":status", "200")]) + raw_block(fields)
    c.send_headers(st.id, None, block=block, end_stream=body == 0)
    if body:
        st.out += fill(0, body)
        st.out_end = True
        c.pump()
    else:
        st.done = True


def sc_continuation_flood(c, st):
    """HEADERS without END_HEADERS, then CONTINUATION frames of whole
    literal fields, never END_HEADERS, until `max` bytes went out
    [1 GiB], the client closes, or 30 s pass; then the connection closes."""
    limit = st.q("max", 1 << 30)
    size = c.peer_max_frame
    field = literal_field("x-flood", "f" * 1000)
    per = max(1, (size - 16) // len(field))
    payload = field * per
    c.frame(HeadersFrame(st.id, data=c.encode([(":status", "200")]) + payload))
    sent, deadline = 0, time.monotonic() + FLOOD_TIMEOUT
    frame = ContinuationFrame(st.id, data=payload).serialize()
    try:
        while sent < limit and time.monotonic() < deadline:
            c.send(frame)
            sent += len(frame)
    except ClientGone:
        pass
    raise ClientGone()


def sc_hpack_table_overflow(c, st):
    """A dynamic table size update above the client's
    SETTINGS_HEADER_TABLE_SIZE (4096 unless it said otherwise): a
    COMPRESSION_ERROR for the client."""
    size = st.q("size", max(c.peer_table_size, 4096) * 2)
    block = hpack_int(size, 5, 0x20) + c.encode([(":status", "200")]) + \
        raw_block([("content-length", "2")])
    c.send_headers(st.id, None, block=block)
    st.out += b"ok"
    st.out_end = True
    c.pump()


def sc_no_window_update(c, st):
    """The request body's window is never given back: a body over 65535
    bytes stalls. The answer comes only if the whole body arrived."""
    sc_echo(c, st)


def sc_rst(c, st):
    c.rst(st.id, st.q("code", INTERNAL_ERROR))


def sc_rst_flood(c, st):
    """n RST_STREAM frames on this stream in one write (all but the first on
    a closed stream)."""
    n, code = st.q("n", 10000), st.q("code", INTERNAL_ERROR)
    c.frame(RstStreamFrame(st.id, error_code=code).serialize() * n)
    st.done = True


def sc_ping_flood(c, st):
    """n PINGs in one write, then the /ok answer."""
    n = st.q("n", 10000)
    c.frame(b"".join(PingFrame(0, opaque_data=struct.pack(">Q", i)).serialize()
                     for i in range(n)))
    sc_ok(c, st)


def sc_settings_flood(c, st):
    """n SETTINGS frames (each setting MAX_CONCURRENT_STREAMS to 100) in one
    write, then the /ok answer."""
    n = st.q("n", 10000)
    f = SettingsFrame(0)
    f.settings = {SettingsFrame.MAX_CONCURRENT_STREAMS: c.max_streams}
    c.frame(f.serialize() * n)
    sc_ok(c, st)


def sc_data_after_close(c, st):
    """/ok with END_STREAM, then a DATA frame on that closed stream."""
    sc_ok(c, st)
    c.frame(raw_frame(0, 0x1, st.id, b"late"))


def sc_bad_pseudo(c, st):
    kind = st.q("kind", "unknown")
    fields = {
        "unknown": [(":status", "200"), (":foo", "bar")],
        "request": [(":status", "200"), (":path", "/")],
        "after-regular": [("x-a", "1"), (":status", "200")],
        "duplicate": [(":status", "200"), (":status", "204")],
    }[kind]
    block = raw_block(fields + [("content-length", "2")])
    c.send_headers(st.id, None, block=block)
    st.out += b"ok"
    st.out_end = True
    c.pump()


def sc_no_status(c, st):
    c.send_headers(st.id, None, block=raw_block([("content-type", "text/plain"),
                                                ("content-length", "2")]))
    st.out += b"ok"
    st.out_end = True
    c.pump()


def sc_bad_status(c, st):
    v = st.q("v", "abc")
    c.send_headers(st.id, None, block=raw_block([(":status", v),
                                                ("content-length", "2")]))
    st.out += b"ok"
    st.out_end = True
    c.pump()


def sc_uppercase(c, st):
    c.send_headers(st.id, None, block=c.encode([(":status", "200")]) +
                   raw_block([("X-Upper", "1"), ("content-length", "2")]))
    st.out += b"ok"
    st.out_end = True
    c.pump()


def sc_content_length(c, st):
    """content-length cl, but n bytes of DATA."""
    cl, n = st.q("cl", 10), st.q("n", 5)
    c.send_headers(st.id, [(":status", "200"), ("content-length", str(cl))])
    st.out += fill(0, n)
    st.out_end = True
    c.pump()


def sc_goaway_mid_body(c, st):
    """Head with content-length n, `send` bytes, GOAWAY(last = this stream,
    code); then with finish=1 the rest of the body (a graceful drain) and
    close, else close at once."""
    n, send = st.q("n", 100), st.q("send", 10)
    code, finish = st.q("code", INTERNAL_ERROR), st.q("finish", 0)
    c.send_headers(st.id, [(":status", "200"), ("content-length", str(n))])
    c.frame(DataFrame(st.id, data=fill(0, send)))
    c.goaway(st.id, code, b"mid-body")
    c.goaway_last = st.id
    if finish:
        c.frame(DataFrame(st.id, data=fill(send, n - send), flags=["END_STREAM"]))
        st.done = True
        c.closing = True
        return
    raise ClientGone()


def sc_goaway(c, st):
    """GOAWAY(last, code) at once, this stream unanswered, then close."""
    c.goaway(st.q("last", 0), st.q("code", NO_ERROR), b"bye")
    raise ClientGone()


def sc_oversized_frame(c, st):
    """/ok head, then one DATA frame of `size` bytes (default: the client's
    SETTINGS_MAX_FRAME_SIZE + 1000), over what the client allowed."""
    size = st.q("size", c.peer_max_frame + 1000)
    c.send_headers(st.id, [(":status", "200"), ("content-length", str(size))])
    c.frame(raw_frame(0, 0x1, st.id, fill(0, size)))
    st.done = True


def sc_refused_once(c, st):
    """RST_STREAM REFUSED_STREAM for the first request with key k, /ok for
    later ones."""
    key = st.query.get("k", "")
    if RECORDER.stats(key)["requests"] == 1:
        RECORDER.refused(key)
        c.rst(st.id, REFUSED_STREAM)
        return
    sc_ok(c, st)


def sc_close(c, st):
    """The TCP connection closes (FIN), no GOAWAY, the stream unanswered."""
    raise ClientGone()


# Feature routes (feat-*): what a client feature needs of a server, for
# tests/integration/test_h2_features.c.


def feat_auth_fail(c, st, challenge):
    c.respond(st, 401, [("www-authenticate", challenge),
                        ("content-type", "text/plain")], b"who are you\n")


def sc_feat_basic(c, st):
    """401 with a Basic challenge unless the authorization field is Basic
    user:pass (the query's u and p [user, pass]); then 200 "basic ok"."""
    import base64
    want = "Basic " + base64.b64encode(
        ("%s:%s" % (st.q("u", "user"), st.q("p", "pass"))).encode()).decode()
    if dict(st.headers).get("authorization") == want:
        c.respond(st, 200, [("content-type", "text/plain")], b"basic ok\n")
    else:
        feat_auth_fail(c, st, 'Basic realm="feat"')


FEAT_NONCE = "feat-nonce-%d" % os.getpid()


def sc_feat_digest(c, st):
    """Digest (RFC 7616, qop=auth) with algorithm `alg` [MD5; or SHA-256]
    for u:p [user:pass]: 401 with a challenge unless the authorization
    field answers it (username, realm, nonce, uri = this :path, response
    computed); then 200 "digest ok", the body a request had echoed after."""
    import hashlib
    import re
    alg = st.q("alg", "MD5")
    hfn = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}[alg]
    H = lambda s: hfn(s.encode()).hexdigest()  # noqa: E731
    realm, user, pw = "feat@h2", st.q("u", "user"), st.q("p", "pass")
    fields = dict(st.headers)
    auth = fields.get("authorization", "")
    if auth.startswith("Digest "):
        p = dict((m.group(1).lower(), m.group(2) if m.group(2) is not None else m.group(3))
                 for m in re.finditer(r'([A-Za-z]+)=(?:"([^"]*)"|([^,\s]*))', auth[7:]))
        ha1 = H("%s:%s:%s" % (user, realm, pw))
        ha2 = H("%s:%s" % (fields.get(":method", ""), p.get("uri", "")))
        want = H("%s:%s:%s:%s:%s:%s" % (ha1, p.get("nonce"), p.get("nc"), p.get("cnonce"),
                                         p.get("qop"), ha2))
        if (p.get("username") == user and p.get("realm") == realm and
                p.get("nonce") == FEAT_NONCE and p.get("uri") == fields.get(":path") and
                p.get("qop") == "auth" and p.get("response") == want):
            c.respond(st, 200, [("content-type", "text/plain")],
                      b"digest ok\n" + bytes(st.body))
            return
    feat_auth_fail(c, st, 'Digest realm="%s", qop="auth", algorithm=%s, nonce="%s", '
                   'opaque="feat-opaque"' % (realm, alg, FEAT_NONCE))


def sc_feat_set_cookie(c, st):
    """200 "set" with set-cookie: the query's c [a=1] (URL-decoded), as is."""
    c.respond(st, 200, [("set-cookie", st.q("c", "a=1")),
                        ("content-type", "text/plain")], b"set\n")


def sc_feat_flaky(c, st):
    """Request I under key k (counted as /_stats counts them): status
    `code` [503] with body "fail I" while I <= fail [1] (code 0: no answer
    at all, as /feat-silent), then /ok, or /echo for a request with a
    body."""
    n = RECORDER.stats(st.query.get("k", ""))["requests"]
    if n <= st.q("fail", 1):
        if st.q("code", 503) != 0:
            c.respond(st, st.q("code", 503), [("content-type", "text/plain")],
                      b"fail %d\n" % n)
    elif st.body:
        sc_echo(c, st)
    else:
        sc_ok(c, st)


def sc_feat_redirect(c, st):
    """Status `code` [302] with location: `to` [/ok] (URL-decoded), and
    set-cookie: `c` when given; the request body is not read back."""
    fields = [("location", st.q("to", "/ok")), ("content-type", "text/plain")]
    if st.q("c", ""):
        fields.append(("set-cookie", st.q("c", "")))
    c.respond(st, st.q("code", 302), fields, b"moved\n")


def sc_feat_gzip(c, st):
    """n [100000] pattern bytes gzip-compressed, content-encoding: gzip."""
    import gzip
    c.respond(st, 200, [("content-encoding", "gzip"), ("content-type", "text/plain")],
              gzip.compress(fill(0, st.q("n", 100000))))


def sc_feat_silent(c, st):
    """The stream is accepted and never answered (no HEADERS); the
    connection goes on serving others and answering PINGs."""



# Control endpoints (not recorded)


def ctl_stats(c, st):
    body = json.dumps(RECORDER.stats(st.query.get("k", ""))).encode()
    c.respond(st, 200, [("content-type", "application/json")], body)


def ctl_log(c, st):
    body = json.dumps(RECORDER.log(st.query.get("k", ""))).encode()
    c.respond(st, 200, [("content-type", "application/json")], body)


def ctl_reset(c, st):
    if st.query.get("all") == "1":
        RECORDER.reset()
    else:
        RECORDER.reset(st.query.get("k", ""))
    sc_ok(c, st)


CONTROL = {"/_stats": ctl_stats, "/_log": ctl_log, "/_reset": ctl_reset}

SCENARIOS = {
    "/ok": sc_ok,
    "/": sc_ok,
    "/echo": sc_echo,
    "/headers": sc_headers,
    "/len": sc_len,
    "/status": sc_status,
    "/trailers": sc_trailers,
    "/1xx": sc_1xx,
    "/delay": sc_delay,
    "/slow-body": sc_slow_body,
    "/stall-body": sc_stall_body,
    "/big-headers": sc_big_headers,
    "/continuation-flood": sc_continuation_flood,
    "/hpack-table-overflow": sc_hpack_table_overflow,
    "/no-window-update": sc_no_window_update,
    "/rst": sc_rst,
    "/rst-flood": sc_rst_flood,
    "/ping-flood": sc_ping_flood,
    "/settings-flood": sc_settings_flood,
    "/data-after-close": sc_data_after_close,
    "/bad-pseudo": sc_bad_pseudo,
    "/no-status": sc_no_status,
    "/bad-status": sc_bad_status,
    "/uppercase": sc_uppercase,
    "/content-length": sc_content_length,
    "/goaway-mid-body": sc_goaway_mid_body,
    "/goaway": sc_goaway,
    "/oversized-frame": sc_oversized_frame,
    "/refused-once": sc_refused_once,
    "/close": sc_close,
    "/feat-basic": sc_feat_basic,
    "/feat-digest": sc_feat_digest,
    "/feat-set-cookie": sc_feat_set_cookie,
    "/feat-flaky": sc_feat_flaky,
    "/feat-silent": sc_feat_silent,
    "/feat-redirect": sc_feat_redirect,
    "/feat-gzip": sc_feat_gzip,
    "/conn/feat-no-ping-ack": lambda c, st: sc_conn(c, st),
}


def sc_fix_refused_echo(c, st):
    """RST_STREAM REFUSED_STREAM for the first request with key k (sent once
    its whole body arrived), /echo for later ones."""
    key = st.query.get("k", "")
    if RECORDER.stats(key)["requests"] == 1:
        RECORDER.refused(key)
        c.rst(st.id, REFUSED_STREAM)
        return
    sc_echo(c, st)


def sc_fix_goaway_echo(c, st):
    """The first request with key k (once its whole body arrived): GOAWAY
    (NO_ERROR) whose last-stream-id leaves this stream unprocessed, then the
    connection closes; /echo for later ones."""
    key = st.query.get("k", "")
    if RECORDER.stats(key)["requests"] == 1:
        c.goaway(st.id - 2 if st.id > 2 else 0, NO_ERROR, b"fix")
        raise ClientGone()
    sc_echo(c, st)


SCENARIOS["/fix-refused-echo"] = sc_fix_refused_echo
SCENARIOS["/fix-goaway-echo"] = sc_fix_goaway_echo


def sc_conn(c, st):
    """A /conn/ path itself: /ok, after ms milliseconds if given."""
    if "ms" in st.query:
        sc_delay(c, st)
    else:
        sc_ok(c, st)


for _name in ("max-streams-1", "max-streams", "zero-window", "goaway-after",
              "no-settings"):
    SCENARIOS["/conn/" + _name] = sc_conn


# --------------------------------------------------------------------------
# Serving


TLS_CTX = None
FORCED = None


def serve_connection(sock, conn_id):
    conn = None
    try:
        if TLS_CTX is not None:
            sock = TLS_CTX.wrap_socket(sock, server_side=True)
            if sock.selected_alpn_protocol() != "h2":
                sock.close()
                return
        conn = Conn(sock, conn_id, FORCED)
        if FORCED == "no-settings":
            conn.conn_scenario = "no-settings"
        conn.serve()
    except ClientGone:
        pass
    except OSError:
        pass
    except Exception:
        traceback.print_exc(file=sys.stderr)
    finally:
        try:
            sock.close()
        except OSError:
            pass


def start_connection(sock, conn_id):
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(IDLE_TIMEOUT)
        threading.Thread(target=serve_connection, args=(sock, conn_id),
                         daemon=True).start()
    except Exception as e:
        print("h2_server: dropping connection: %s" % e, file=sys.stderr)
        sock.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--tls-dir", help="serve TLS (ALPN h2) with DIR/good.pem and DIR/good.key")
    ap.add_argument("--scenario", help="connection scenario for every connection "
                    "(max-streams-1, zero-window, goaway-after, no-settings)")
    args = ap.parse_args()

    global TLS_CTX, FORCED
    FORCED = args.scenario
    if args.tls_dir:
        import ssl
        TLS_CTX = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        TLS_CTX.load_cert_chain(os.path.join(args.tls_dir, "good.pem"),
                                os.path.join(args.tls_dir, "good.key"))
        TLS_CTX.set_alpn_protocols(["h2"])

    serve(args.host, args.port_file, start_connection, "h2_server")


if __name__ == "__main__":
    main()
