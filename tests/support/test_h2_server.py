#!/usr/bin/env python3
"""Self-check of h2_server.py (ctest: support.h2_server).

  python3 tests/support/test_h2_server.py [NAME_SUBSTRING...]

Starts the server (h2c, and once over TLS with a throwaway certificate),
drives every scenario with python3-h2 as the client, and asserts what
arrives: through h2's events for the well-behaved scenarios, frame by frame
(hyperframe, hpack) for the hostile ones that h2 itself would refuse.
Exit 0 when every check passed, 1 otherwise.  About 10 s.
"""

import json
import os
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

import h2.config
import h2.connection
import h2.events
from hpack import Decoder
from hpack.exceptions import HPACKError
from hyperframe.frame import Frame

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "h2_server.py")
ALPHA = b"abcdefghijklmnopqrstuvwxyz"
FAILS = []
CHECKS = [0]


def fill(offset, n):
    start = offset % 26
    return (ALPHA * ((start + n) // 26 + 1))[start:start + n]


def check(cond, what):
    CHECKS[0] += 1
    if cond:
        print("ok: " + what)
    else:
        FAILS.append(what)
        print("FAIL: " + what)


class Server:
    def __init__(self, *args):
        self.dir = tempfile.mkdtemp(prefix="h2srv.")
        pf = os.path.join(self.dir, "port")
        self.proc = subprocess.Popen([sys.executable, SERVER, "--port-file", pf] + list(args),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while not os.path.exists(pf):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("h2_server did not start: %s" % self.proc.stderr.read())
            time.sleep(0.02)
        self.port = int(open(pf).read())

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)
        return self.proc.returncode, out, err


def connect(port, tls_ctx=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if tls_ctx is not None:
        s = tls_ctx.wrap_socket(s, server_hostname="localhost")
    return s


class Client:
    """python3-h2 as the client; events collected per stream."""

    def __init__(self, port, tls_ctx=None, settings=None):
        self.sock = connect(port, tls_ctx)
        cfg = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        self.h2 = h2.connection.H2Connection(config=cfg)
        self.h2.initiate_connection()
        if settings:
            self.h2.update_settings(settings)
        self.events = []
        self.closed = False
        self.flush()

    def flush(self):
        data = self.h2.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, path, method="GET", body=None, end=True, extra=()):
        """A new stream; end=False leaves it open for send_body."""
        sid = self.h2.get_next_available_stream_id()
        headers = [(":method", method), (":scheme", "http"), (":authority", "localhost"),
                   (":path", path)] + list(extra)
        self.h2.send_headers(sid, headers, end_stream=end and not body)
        if body:
            self.send_body(sid, body)
        self.flush()
        return sid

    def send_body(self, sid, body):
        """Send as much of body as the windows allow; returns what is left."""
        while body:
            n = min(len(body), self.h2.local_flow_control_window(sid),
                    self.h2.max_outbound_frame_size)
            if n <= 0:
                self.flush()
                return body
            self.h2.send_data(sid, body[:n])
            body = body[n:]
        self.h2.end_stream(sid)
        self.flush()
        return b""

    def pump(self, timeout):
        """Read for up to timeout s; False once the connection ended."""
        if self.closed:
            return False
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return True
        try:
            data = self.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return False
        for ev in self.h2.receive_data(data):
            self.events.append(ev)
            if isinstance(ev, h2.events.DataReceived):
                self.h2.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        self.flush()
        return True

    def until(self, pred, timeout=10):
        deadline = time.monotonic() + timeout
        while not pred() and time.monotonic() < deadline:
            if not self.pump(0.05) and not pred():
                break
        return pred()

    def of(self, sid, cls):
        return [e for e in self.events if getattr(e, "stream_id", None) == sid and isinstance(e, cls)]

    def ended(self, sid):
        return bool(self.of(sid, h2.events.StreamEnded) or self.of(sid, h2.events.StreamReset))

    def response(self, sid, timeout=10):
        """(status, headers dict, body, trailers) once the stream ended."""
        self.until(lambda: self.ended(sid), timeout)
        resp = self.of(sid, h2.events.ResponseReceived)
        headers = dict(resp[0].headers) if resp else {}
        body = b"".join(e.data for e in self.of(sid, h2.events.DataReceived))
        tr = self.of(sid, h2.events.TrailersReceived)
        return headers.get(":status"), headers, body, dict(tr[0].headers) if tr else None

    def close(self):
        self.sock.close()


class Raw:
    """Client bytes from python3-h2, the server's frames read one by one."""

    def __init__(self, port, path, method="GET", settings=None, tls_ctx=None):
        """path: one path (stream 1) or a list (streams 1, 3, ...), all sent
        at once with the preface."""
        self.sock = connect(port, tls_ctx)
        cfg = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        self.h2 = h2.connection.H2Connection(config=cfg)
        self.h2.initiate_connection()
        if settings:
            self.h2.update_settings(settings)
        for i, p in enumerate([path] if isinstance(path, str) else path):
            self.h2.send_headers(1 + 2 * i, [(":method", method), (":scheme", "http"),
                                             (":authority", "localhost"), (":path", p)],
                                 end_stream=True)
        self.sock.sendall(self.h2.data_to_send())
        self.buf = b""
        self.eof = False
        self.nbytes = 0

    def frame(self, timeout=5):
        """The next frame, or None on EOF/timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 9:
                f, n = Frame.parse_frame_header(memoryview(self.buf[:9]))
                if len(self.buf) >= 9 + n:
                    body, self.buf = self.buf[9:9 + n], self.buf[9 + n:]
                    f.parse_body(memoryview(body))
                    f.raw_length = n
                    return f
            left = deadline - time.monotonic()
            if left <= 0 or self.eof:
                return None
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return None
            try:
                data = self.sock.recv(1 << 20)
            except OSError:
                data = b""
            if not data:
                self.eof = True
                continue
            self.nbytes += len(data)
            self.buf += data

    def frames(self, stop=None, timeout=5, limit=100000):
        """Frames until EOF, timeout, `limit` frames or stop(frame)."""
        out = []
        while len(out) < limit:
            f = self.frame(timeout)
            if f is None:
                break
            out.append(f)
            if stop and stop(f):
                break
        return out

    def stream_frames(self, sid=1, **kw):
        return [f for f in self.frames(**kw) if f.stream_id == sid]

    def wait_eof(self, timeout=5):
        deadline = time.monotonic() + timeout
        while not self.eof and time.monotonic() < deadline:
            self.frame(deadline - time.monotonic())
        return self.eof

    def close(self):
        self.sock.close()


def end_stream(f):
    return f.stream_id == 1 and "END_STREAM" in f.flags


def decode_block(frames, sid=1):
    block = b"".join(f.data for f in frames
                     if f.stream_id == sid and f.type in (0x1, 0x9))
    d = Decoder()
    d.max_header_list_size = 1 << 20
    return d.decode(block)


# --------------------------------------------------------------------------
# Tests: test_NAME(port); each builds its own connections.

def test_ok(port):
    c = Client(port)
    status, hd, body, _ = c.response(c.request("/ok"))
    check(status == "200" and body == b"ok" and hd.get("content-length") == "2", "/ok")
    status, _, body, _ = c.response(c.request("/nothing-here"))
    check(status == "404" and body == b"not found", "unknown path: 404")
    status, _, _, _ = c.response(c.request("/status?code=503"))
    check(status == "503", "/status?code=503")
    c.close()


def test_echo_and_windows(port):
    c = Client(port)
    body = fill(0, 300000)
    sid = c.request("/echo", method="POST", end=False)
    left = c.send_body(sid, body)
    while left:
        c.pump(0.05)
        left = c.send_body(sid, left)
    status, hd, got, _ = c.response(sid)
    check(status == "200" and got == body and hd.get("x-method") == "POST",
          "/echo: 300,000 bytes up and back through both windows")
    status, _, got, _ = c.response(c.request("/len?n=200000"))
    check(status == "200" and got == fill(0, 200000), "/len?n=200000")
    c.close()


def test_headers_log_stats(port):
    c = Client(port)
    c.response(c.request("/_reset?k=hl"))
    _, _, body, _ = c.response(c.request("/headers?k=hl", extra=[("x-one", "1")]))
    fields = json.loads(body)
    check([n for n, _ in fields][:5] == [":method", ":scheme", ":authority", ":path", "x-one"],
          "/headers lists the request's fields in order")
    _, _, body, _ = c.response(c.request("/_stats?k=hl"))
    st = json.loads(body)
    check(st["requests"] == 1 and st["connections"] == 1, "/_stats counts requests and connections")
    _, _, body, _ = c.response(c.request("/_log?k=hl"))
    check(json.loads(body)[0][3] == [":path", "/headers?k=hl"], "/_log keeps the header lists")
    c.close()


def test_goaway_recorded(port):
    c = Client(port)
    c.response(c.request("/ok?k=gr"))
    c.h2.close_connection(error_code=0)
    c.flush()
    c.close()
    got, deadline = [], time.monotonic() + 10
    while not got and time.monotonic() < deadline:
        s = Client(port)
        _, _, body, _ = s.response(s.request("/_stats?k=gr"))
        s.close()
        got = json.loads(body)["goaways"]
        if not got:
            time.sleep(0.05)
    check(got == [[0, 0]], "/_stats lists the client's GOAWAY(0, NO_ERROR): %r" % got)


def test_concurrent(port):
    c = Client(port)
    sids = [c.request("/delay?ms=%d" % (600 - 200 * i)) for i in range(4)]
    c.until(lambda: all(c.ended(s) for s in sids))
    order = [e.stream_id for e in c.events if isinstance(e, h2.events.StreamEnded)]
    check(sorted(order) == sorted(sids) and order == sids[::-1],
          "4 concurrent /delay streams answered as their delays end (%s)" % order)
    c.close()


def test_trailers_1xx(port):
    c = Client(port)
    status, _, body, tr = c.response(c.request("/trailers"))
    check(status == "200" and body == b"ok" and tr == {"x-trailer": "yes", "x-checksum": "abc"},
          "/trailers")
    status, _, body, tr = c.response(c.request("/trailers?n=100000"))
    check(status == "200" and body == fill(0, 100000) and tr == {"x-trailer": "yes", "x-checksum": "abc"},
          "/trailers?n=100000")
    sid = c.request("/1xx")
    status, _, body, _ = c.response(sid)
    info = c.of(sid, h2.events.InformationalResponseReceived)
    check(info and dict(info[0].headers)[":status"] == "103" and status == "200",
          "/1xx: 103 then 200")
    sid = c.request("/slow-body?n=5&ms=20")
    status, _, body, _ = c.response(sid)
    check(body == fill(0, 5) and len(c.of(sid, h2.events.DataReceived)) >= 5,
          "/slow-body: 5 bytes in separate frames")
    c.close()


def test_big_headers(port):
    r = Raw(port, "/big-headers?kb=110&body=1000")
    frames = r.stream_frames(stop=end_stream)
    kinds = [f.type for f in frames]
    check(kinds[0] == 0x1 and 0x9 in kinds and "END_HEADERS" not in frames[0].flags,
          "/big-headers: HEADERS then CONTINUATION")
    fields = decode_block(frames)
    size = sum(len(n) + len(v) for n, v in fields)
    check(100 * 1024 <= size <= 120 * 1024, "/big-headers: %d bytes of fields" % size)
    data = b"".join(f.data for f in frames if f.type == 0x0)
    check(data == fill(0, 1000) and all(f.raw_length <= 16384 for f in frames),
          "/big-headers: then the 1000-byte body, no frame over 16384")
    r.close()


def test_continuation_flood(port):
    r = Raw(port, "/continuation-flood?max=2000000")
    frames = r.stream_frames(timeout=5)
    check(frames[0].type == 0x1 and all(f.type == 0x9 for f in frames[1:])
          and not any("END_HEADERS" in f.flags for f in frames),
          "/continuation-flood: CONTINUATION after CONTINUATION, never END_HEADERS")
    check(r.nbytes >= 2000000 and r.eof, "/continuation-flood: 2 MB, then the connection closes")
    r.close()
    r = Raw(port, "/continuation-flood")
    r.frames(limit=20)
    r.close()  # an endless flood stops when the client goes
    c = Client(port)
    check(c.response(c.request("/ok"))[0] == "200", "server fine after a flood the client left")
    c.close()


def test_hpack_overflow(port):
    r = Raw(port, "/hpack-table-overflow")
    frames = r.stream_frames(stop=end_stream)
    block = b"".join(f.data for f in frames if f.type == 0x1)
    check(block[:1] == b"\x3f", "/hpack-table-overflow: a table size update first")
    try:
        Decoder().decode(block)
        check(False, "/hpack-table-overflow: decoder with a 4096 table refuses it")
    except HPACKError:
        check(True, "/hpack-table-overflow: decoder with a 4096 table refuses it")
    r.close()


def test_no_window_update(port):
    c = Client(port)
    sid = c.request("/no-window-update", method="POST", end=False)
    left = c.send_body(sid, fill(0, 100000))
    c.until(lambda: False, timeout=0.8)
    check(len(left) == 100000 - 65535 and c.h2.local_flow_control_window(sid) == 0
          and not c.ended(sid), "/no-window-update: the upload stalls at 65535 bytes")
    sid2 = c.request("/ok")
    check(c.response(sid2)[0] == "200", "/no-window-update: other streams go on")
    c.close()


def test_rst(port):
    c = Client(port)
    sid = c.request("/rst?code=8")
    c.until(lambda: c.ended(sid))
    rs = c.of(sid, h2.events.StreamReset)
    check(rs and rs[0].error_code == 8, "/rst?code=8: RST_STREAM CANCEL")
    c.close()
    r = Raw(port, "/rst-flood?n=1000")
    frames = r.stream_frames(timeout=1)
    check(len(frames) == 1000 and all(f.type == 0x3 and f.error_code == 2 for f in frames),
          "/rst-flood?n=1000: 1000 RST_STREAM frames")
    r.close()


def test_floods(port):
    r = Raw(port, "/ping-flood?n=1000")
    frames = r.frames(stop=end_stream)
    pings = [f for f in frames if f.type == 0x6 and "ACK" not in f.flags]
    check(len(pings) == 1000 and frames[-1].stream_id == 1, "/ping-flood: 1000 PINGs, then /ok")
    r.close()
    r = Raw(port, "/settings-flood?n=1000")
    frames = r.frames(stop=end_stream)
    sets = [f for f in frames if f.type == 0x4 and "ACK" not in f.flags]
    check(len(sets) == 1001 and frames[-1].stream_id == 1,
          "/settings-flood: 1000 SETTINGS after the first, then /ok")
    r.close()


def test_data_after_close(port):
    r = Raw(port, "/data-after-close")
    frames = r.stream_frames(timeout=1)
    ends = [i for i, f in enumerate(frames) if "END_STREAM" in f.flags]
    check(ends and frames[-1].type == 0x0 and frames[-1].data == b"late" and ends[0] < len(frames) - 1,
          "/data-after-close: DATA after END_STREAM")
    r.close()


def test_bad_heads(port):
    want = {
        "/bad-pseudo?kind=unknown": [(":status", "200"), (":foo", "bar")],
        "/bad-pseudo?kind=request": [(":status", "200"), (":path", "/")],
        "/bad-pseudo?kind=after-regular": [("x-a", "1"), (":status", "200")],
        "/bad-pseudo?kind=duplicate": [(":status", "200"), (":status", "204")],
        "/no-status": [("content-type", "text/plain")],
        "/bad-status?v=2x0": [(":status", "2x0")],
        "/uppercase": [(":status", "200"), ("X-Upper", "1")],
    }
    for path, fields in want.items():
        r = Raw(port, path)
        frames = r.stream_frames(stop=end_stream)
        got = [(n.decode(), v.decode()) for n, v in
               Decoder().decode(b"".join(f.data for f in frames if f.type == 0x1), raw=True)]
        check(got[:len(fields)] == fields and frames[-1].data == b"ok", "%s: %s" % (path, fields))
        r.close()


def test_content_length(port):
    r = Raw(port, "/content-length?cl=10&n=5")
    frames = r.stream_frames(stop=end_stream)
    check(dict(decode_block(frames)).get("content-length") == "10" and
          b"".join(f.data for f in frames if f.type == 0) == fill(0, 5),
          "/content-length: says 10, sends 5")
    r.close()


def test_goaway(port):
    r = Raw(port, "/goaway-mid-body?n=100&send=10&code=2")
    frames = r.frames(timeout=5)
    ga = [f for f in frames if f.type == 0x7]
    data = b"".join(f.data for f in frames if f.type == 0x0)
    check(ga and ga[0].last_stream_id == 1 and ga[0].error_code == 2 and data == fill(0, 10) and r.eof,
          "/goaway-mid-body: 10 of 100 bytes, GOAWAY(1, INTERNAL_ERROR), close")
    r.close()
    r = Raw(port, "/goaway-mid-body?n=100&send=10&code=0&finish=1")
    frames = r.frames(timeout=5)
    data = b"".join(f.data for f in frames if f.type == 0x0)
    check(data == fill(0, 100) and any(f.type == 0x7 for f in frames) and r.eof,
          "/goaway-mid-body finish=1: GOAWAY(NO_ERROR), the rest of the body, close")
    r.close()
    r = Raw(port, "/goaway?code=11")
    frames = r.frames(timeout=5)
    check(any(f.type == 0x7 and f.error_code == 11 and f.last_stream_id == 0 for f in frames)
          and r.eof, "/goaway?code=11: GOAWAY(0, ENHANCE_YOUR_CALM), close")
    r.close()
    r = Raw(port, "/close")
    frames = r.frames(timeout=5)
    check(r.eof and not any(f.stream_id == 1 for f in frames), "/close: EOF, no answer")
    r.close()


def test_goaway_after(port):
    # (python3-h2 as a client gives up at the GOAWAY: read the frames raw)
    r = Raw(port, ["/conn/goaway-after?n=2&k=ga", "/ok?k=ga", "/ok?k=ga", "/ok?k=ga"])
    frames = r.frames(timeout=5)
    kinds = [(f.type, f.stream_id) for f in frames if f.type in (0x1, 0x7)]
    ga = [f for f in frames if f.type == 0x7]
    check(ga and ga[0].last_stream_id == 3 and ga[0].error_code == 0,
          "goaway-after n=2: GOAWAY(last=3, NO_ERROR)")
    check(kinds.index((0x7, 0)) < kinds.index((0x1, 1)) < kinds.index((0x1, 3)),
          "goaway-after: the processed streams 1 and 3 answered after the GOAWAY")
    check(not any(f.stream_id in (5, 7) for f in frames) and r.eof,
          "goaway-after: streams 5 and 7 unanswered, then close")
    r.close()


def test_oversized(port):
    r = Raw(port, "/oversized-frame")
    frames = r.stream_frames(timeout=2)
    check(any(f.type == 0 and f.raw_length == 16384 + 1000 for f in frames),
          "/oversized-frame: a DATA frame of 17384 bytes")
    r.close()


def test_refused_once(port):
    c = Client(port)
    c.response(c.request("/_reset?k=ro"))
    sid = c.request("/refused-once?k=ro")
    c.until(lambda: c.ended(sid))
    rs = c.of(sid, h2.events.StreamReset)
    check(rs and rs[0].error_code == 7, "/refused-once: first REFUSED_STREAM")
    check(c.response(c.request("/refused-once?k=ro"))[0] == "200", "/refused-once: then 200")
    c.close()


def test_max_streams_1(port):
    c = Client(port)
    s1 = c.request("/conn/max-streams-1?k=ms0")
    c.until(lambda: any(isinstance(e, h2.events.RemoteSettingsChanged) for e in c.events))
    rsc = [e for e in c.events if isinstance(e, h2.events.RemoteSettingsChanged)]
    check(rsc and rsc[0].changed_settings[3].new_value == 1,
          "max-streams-1: SETTINGS_MAX_CONCURRENT_STREAMS=1")
    check(c.response(s1)[0] == "200", "max-streams-1: the first request answered")
    c.close()
    # two streams at once (sent before the SETTINGS arrive): the second refused
    r = Raw(port, ["/conn/max-streams-1?ms=300&k=ms", "/ok?k=ms"])
    frames = r.frames(stop=end_stream, timeout=5)
    check(any(f.type == 0x3 and f.stream_id == 3 and f.error_code == 7 for f in frames),
          "max-streams-1: a second open stream gets REFUSED_STREAM")
    check(any(f.stream_id == 1 and "END_STREAM" in f.flags for f in frames),
          "max-streams-1: the first (?ms=300) answered")
    r.close()
    c = Client(port)
    _, _, body, _ = c.response(c.request("/_stats?k=ms"))
    check(json.loads(body)["refused"] == 1, "max-streams-1: /_stats counts the refusal")
    c.close()


def test_zero_window(port):
    c = Client(port)
    s1 = c.request("/conn/zero-window")
    c.response(s1)
    sid = c.request("/echo", method="POST", end=False)
    left = c.send_body(sid, b"hello")
    c.until(lambda: False, timeout=0.5)
    check(left == b"hello" and c.h2.local_flow_control_window(sid) == 0 and not c.ended(sid),
          "zero-window: SETTINGS_INITIAL_WINDOW_SIZE=0, not a byte of a body goes")
    c.close()


def test_no_settings(port):
    r = Raw(port, "/conn/no-settings")
    f = r.frame(timeout=1.5)
    check(f is None and r.nbytes == 0 and not r.eof, "no-settings: not a byte in 1.5 s")
    r.close()


def test_stall(port):
    r = Raw(port, "/stall-body?n=100&send=10")
    frames = r.stream_frames(timeout=0.7)
    check(dict(decode_block(frames)).get("content-length") == "100" and
          b"".join(f.data for f in frames if f.type == 0) == fill(0, 10)
          and not any("END_STREAM" in f.flags for f in frames) and not r.eof,
          "/stall-body: 10 of 100 bytes, then silence")
    r.close()


def test_forced_scenario(_port):
    srv = Server("--scenario", "max-streams-1")
    try:
        s = connect(srv.port)
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        s.settimeout(5)
        data = s.recv(100)
        f, n = Frame.parse_frame_header(memoryview(data[:9]))
        f.parse_body(memoryview(data[9:9 + n]))
        check(f.type == 0x4 and f.settings.get(3) == 1,
              "--scenario max-streams-1: SETTINGS right after the preface")
        s.close()
    finally:
        rc, out, err = srv.stop()
        check(rc == 0 and not out and not err, "--scenario server: exit 0 on SIGTERM, silent")


def test_tls(_port):
    d = tempfile.mkdtemp(prefix="h2tls.")
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost", "-days", "2",
                        "-keyout", os.path.join(d, "good.key"), "-out", os.path.join(d, "good.pem")],
                       check=True, capture_output=True)
        srv = Server("--tls-dir", d)
        try:
            ctx = ssl.create_default_context(cafile=os.path.join(d, "good.pem"))
            ctx.set_alpn_protocols(["h2"])
            c = Client(srv.port, tls_ctx=ctx)
            check(c.sock.selected_alpn_protocol() == "h2", "TLS: ALPN h2")
            status, _, body, _ = c.response(c.request("/len?n=100000"))
            check(status == "200" and body == fill(0, 100000), "TLS: /len?n=100000")
            c.close()
            ctx = ssl.create_default_context(cafile=os.path.join(d, "good.pem"))
            ctx.set_alpn_protocols(["http/1.1"])
            try:
                s = connect(srv.port, ctx)
                s.settimeout(5)
                got = s.recv(10)
                check(got == b"", "TLS: a client without h2 in ALPN is closed")
            except (OSError, ssl.SSLError):
                check(True, "TLS: a client without h2 in ALPN is refused")
        finally:
            srv.stop()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_feat_routes(port):
    """The feat-* routes (tests/integration/test_h2_features.c)."""
    import base64
    import gzip
    import hashlib
    import re
    c = Client(port)
    status, h, body, _ = c.response(c.request("/feat-basic?u=a&p=b"))
    check(status == "401" and h.get("www-authenticate") == 'Basic realm="feat"',
          "feat-basic: 401 with a Basic challenge")
    auth = "Basic " + base64.b64encode(b"a:b").decode()
    status, _, body, _ = c.response(c.request("/feat-basic?u=a&p=b", extra=[("authorization", auth)]))
    check(status == "200" and body == b"basic ok\n", "feat-basic: the right credentials")
    path = "/feat-digest?u=dee&p=pw&alg=SHA-256"
    status, h, _, _ = c.response(c.request(path))
    ch = dict(re.findall(r'(\w+)="?([^",]*)"?', h.get("www-authenticate", "")))
    check(status == "401" and ch.get("algorithm") == "SHA-256" and ch.get("qop") == "auth",
          "feat-digest: 401 with a SHA-256 challenge")

    def H(x):
        return hashlib.sha256(x.encode()).hexdigest()
    ha1, ha2 = H("dee:%s:pw" % ch.get("realm")), H("POST:" + path)
    resp = H("%s:%s:00000001:cn:auth:%s" % (ha1, ch.get("nonce"), ha2))
    auth = ('Digest username="dee", realm="%s", nonce="%s", uri="%s", algorithm=SHA-256, '
            'response="%s", qop=auth, nc=00000001, cnonce="cn"' % (ch.get("realm"), ch.get("nonce"),
                                                                    path, resp))
    status, _, body, _ = c.response(c.request(path, method="POST", body=b"xyz",
                                              extra=[("authorization", auth)]))
    check(status == "200" and body == b"digest ok\nxyz", "feat-digest: the right answer")
    bad = auth.replace(resp, "0" * 64)
    status, _, _, _ = c.response(c.request(path, method="POST", body=b"xyz",
                                           extra=[("authorization", bad)]))
    check(status == "401", "feat-digest: a wrong answer is challenged again")
    status, h, _, _ = c.response(c.request("/feat-set-cookie?c=x%3D1%3B%20Path%3D%2F"))
    check(status == "200" and h.get("set-cookie") == "x=1; Path=/", "feat-set-cookie")
    got = [c.response(c.request("/feat-flaky?k=sf&fail=2"))[::2] for _ in range(3)]
    check(got == [("503", b"fail 1\n"), ("503", b"fail 2\n"), ("200", b"ok")],
          "feat-flaky: two 503s, then ok (%r)" % got)
    status, _, body, _ = c.response(c.request("/feat-flaky?k=sf2&fail=0", method="PUT", body=b"b"))
    check(status == "200" and body == b"b", "feat-flaky: a body is echoed once it passes")
    status, h, _, _ = c.response(c.request("/feat-redirect?code=307&to=%2Fok&c=r%3D1"))
    check(status == "307" and h.get("location") == "/ok" and h.get("set-cookie") == "r=1",
          "feat-redirect")
    status, h, body, _ = c.response(c.request("/feat-gzip?n=5000"))
    check(status == "200" and h.get("content-encoding") == "gzip" and
          gzip.decompress(body) == fill(0, 5000), "feat-gzip")
    silent = c.request("/feat-silent")
    status, _, _, _ = c.response(c.request("/ok"))
    c.pump(0.3)
    check(status == "200" and not c.of(silent, h2.events.ResponseReceived),
          "feat-silent: no answer, the stream beside it answered")
    c.close()
    for name, acked in (("/conn/feat-no-ping-ack", False), ("/ok", True)):
        c = Client(port)
        c.response(c.request(name))
        c.h2.ping(b"feat-pin")
        c.flush()
        c.until(lambda: any(isinstance(e, h2.events.PingAckReceived) for e in c.events), 0.5)
        got = any(isinstance(e, h2.events.PingAckReceived) for e in c.events)
        check(got == acked, "%s: PING %s" % (name, "acknowledged" if acked else "never acknowledged"))
        c.close()


def main():
    names = sys.argv[1:]
    tests = [(n, f) for n, f in sorted(globals().items()) if n.startswith("test_") and callable(f)]
    tests = [(n, f) for n, f in tests if not names or any(s in n for s in names)]
    srv = Server()
    try:
        for name, fn in tests:
            t0 = time.monotonic()
            try:
                fn(srv.port)
            except Exception as e:  # a crash is a failed check, the rest still runs
                import traceback
                traceback.print_exc()
                check(False, "%s raised %r" % (name, e))
            print("   (%s: %.1f s)" % (name, time.monotonic() - t0))
    finally:
        rc, out, err = srv.stop()
    check(rc == 0 and not out, "exit 0 on SIGTERM, nothing on stdout")
    check(not err, "nothing on stderr (%s)" % err.decode(errors="replace")[-2000:])
    print("%d checks, %d failed" % (CHECKS[0], len(FAILS)))
    for f in FAILS:
        print("FAILED: " + f)
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
