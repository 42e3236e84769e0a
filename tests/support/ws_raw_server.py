#!/usr/bin/env python3
"""Scripted WebSocket server: exact bytes for the bad cases.

  ws_raw_server.py --port-file PATH

Standard library only; one thread per connection; binds 127.0.0.1:0 and
writes the port to PATH (PATH.tmp + rename). Reads the upgrade request,
answers by path, and records per key (?k=KEY) the close code the client
sent (or "none" if it closed TCP without one, "eof-before-close"), served
as plain HTTP by GET /_close?k=KEY (200, body: the code, or "" if the
connection is still open or never came).

Handshake paths (the 101 is correct unless the path says otherwise):
  /hs/refuse           403 with body "go away" (Content-Length)
  /hs/redirect?to=P    302 to P (same server)
  /hs/wrongaccept      101 with a wrong Sec-WebSocket-Accept
  /hs/noupgrade        101 without an Upgrade header
  /hs/ext?v=V          101 with Sec-WebSocket-Extensions: V (V as given)
  /hs/proto?v=V        101 with Sec-WebSocket-Protocol: V
  /hs/cookie           401 unless the request has Cookie: s=1 ... then 101
                       (with it, the first message is the Cookie header)
Frame paths (after a good 101; frames unmasked unless said):
  /early               a text frame "early" in the same write as the 101, then echo
  /echo                echo data frames (unmasked), answer pings, echo closes
  /echo?n=N            the same, and after the N-th whole message echoed, a
                       close frame 1000 of its own (then reads until ours);
                       n=N works on every path that echoes (/hs/ext...)
  /silent              nothing, never closes
  /drop                closes TCP right after the 101 (no close frame)
  /midframe            the 101, a text frame "ok", then the first 10 bytes of a
                       100-byte frame, and closes TCP
  /garbage             the 101, then bytes that are no frame ("\\xff\\xfe...")
  /reset               the 101, a text frame "ok", then a reset (RST)
Fault paths in the handshake (tests/fault):
  /hs/cut              half the 101's head, then closes TCP
  /hs/reset            reads the request, then a reset (RST)
  /hs/garbage          bytes that are no HTTP, then closes TCP
  /bad/NAME            a text frame "ok", then the bad frame NAME:
    masked rsv1 rsv2 rsv3 opcode3 opcodeB ping126 fragping fragclose cont
    utf8 utf8frag closeutf8 close1 len64 newmsg
  /bad/code?c=N        a close frame with code N
After a bad frame the server reads until the client's close frame (the code
is recorded) and its TCP close.
"""
import argparse
import base64
import hashlib
import os
import socket
import struct
import sys
import threading
import time
import urllib.parse

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
closes = {}
lock = threading.Lock()


def frame(b0, payload=b"", mask=False, length=None):
    n = len(payload) if length is None else length
    if n < 126:
        h = bytes([b0, (0x80 if mask else 0) | n])
    elif n <= 0xFFFF:
        h = bytes([b0, (0x80 if mask else 0) | 126]) + struct.pack(">H", n)
    else:
        h = bytes([b0, (0x80 if mask else 0) | 127]) + struct.pack(">Q", n)
    if mask:
        return h + b"\0\0\0\0" + payload
    return h + payload


BAD = {
    "masked": frame(0x81, b"hi", mask=True),
    "rsv1": frame(0xC1, b"hi"),
    "rsv2": frame(0xA1, b"hi"),
    "rsv3": frame(0x91, b"hi"),
    "opcode3": frame(0x83),
    "opcodeB": frame(0x8B),
    "ping126": frame(0x89, b"p" * 126),
    "fragping": frame(0x09, b"p"),
    "fragclose": frame(0x08, b"\x03\xe8"),
    "cont": frame(0x80, b"x"),
    "utf8": frame(0x81, b"a\xc0\xafb"),
    "utf8frag": frame(0x01, b"ok\xe0") + frame(0x00, b"\x80"),
    "closeutf8": frame(0x88, b"\x03\xe8\xff"),
    "close1": frame(0x88, b"\x03"),
    "len64": frame(0x82, b"", length=1 << 40),
    "newmsg": frame(0x01, b"a") + frame(0x81, b"b"),
}


def read_head(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None, b""
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    return (method, target, headers), rest


def read_frames(conn, buf):
    """Yield (b0, payload) of client frames; None at EOF."""
    while True:
        while len(buf) < 2:
            c = conn.recv(65536)
            if not c:
                yield None
                return
            buf += c
        n = buf[1] & 0x7F
        hl = 2
        if n == 126:
            hl = 4
        elif n == 127:
            hl = 10
        while len(buf) < hl + 4:
            c = conn.recv(65536)
            if not c:
                yield None
                return
            buf += c
        if n == 126:
            n = struct.unpack(">H", buf[2:4])[0]
        elif n == 127:
            n = struct.unpack(">Q", buf[2:10])[0]
        while len(buf) < hl + 4 + n:
            c = conn.recv(65536)
            if not c:
                yield None
                return
            buf += c
        key = buf[hl:hl + 4]
        p = bytes(b ^ key[i & 3] for i, b in enumerate(buf[hl + 4:hl + 4 + n]))
        b0 = buf[0]
        buf = buf[hl + 4 + n:]
        yield b0, p


def record(key, what):
    with lock:
        closes[key] = what


def reset(conn):
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def serve(conn):
    rst = False
    try:
        req, rest = read_head(conn)
        if not req:
            return
        _, target, h = req
        u = urllib.parse.urlsplit(target)
        q = dict(urllib.parse.parse_qsl(u.query))
        path, key = u.path, q.get("k", "")
        if path == "/_close":
            body = str(closes.get(key, "")).encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                         % len(body) + body)
            return
        if path == "/hs/refuse":
            conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 7\r\n\r\ngo away")
            return
        if path == "/hs/redirect":
            loc = q.get("to", "/echo")
            conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n"
                         % loc.encode())
            return
        if path == "/hs/cut":
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: webs")
            return
        if path == "/hs/reset":
            rst = True
            return
        if path == "/hs/garbage":
            conn.sendall(b"\x16\x03\x01\x00 not HTTP at all\r\n\r\n")
            return
        if path == "/hs/cookie" and "s=1" not in h.get("cookie", ""):
            conn.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
            return
        accept = base64.b64encode(hashlib.sha1(h.get("sec-websocket-key", "").encode() + GUID)
                                  .digest()).decode()
        lines = ["HTTP/1.1 101 Switching Protocols"]
        if path != "/hs/noupgrade":
            lines.append("Upgrade: websocket")
        lines.append("Connection: Upgrade")
        lines.append("Sec-WebSocket-Accept: " + ("AAAA" + accept[4:] if path == "/hs/wrongaccept"
                                                 else accept))
        if path == "/hs/ext":
            lines.append("Sec-WebSocket-Extensions: " + q.get("v", ""))
        if path == "/hs/proto":
            lines.append("Sec-WebSocket-Protocol: " + q.get("v", ""))
        out = ("\r\n".join(lines) + "\r\n\r\n").encode()
        if path == "/early":
            out += frame(0x81, b"early")
        if path == "/hs/cookie":
            out += frame(0x81, h.get("cookie", "").encode())
        conn.sendall(out)
        if path == "/drop":
            return
        if path == "/midframe":
            conn.sendall(frame(0x81, b"ok") + frame(0x82, b"x" * 100)[:10])
            return
        if path == "/garbage":
            conn.sendall(b"\xff\xfe garbage after the 101")
        if path == "/reset":
            conn.sendall(frame(0x81, b"ok"))
            time.sleep(0.05)
            rst = True
            return
        if path.startswith("/bad/"):
            name = path[5:]
            bad = BAD.get(name)
            if name == "code":
                bad = frame(0x88, struct.pack(">H", int(q.get("c", "0"))))
            conn.sendall(frame(0x81, b"ok") + (bad or b""))
        got = "none"
        echoes = ("/echo", "/early", "/hs/cookie", "/hs/ext", "/hs/proto")
        left = int(q["n"]) if path in echoes and "n" in q else -1  # messages before our close
        for f in read_frames(conn, bytearray(rest)):
            if f is None:
                break
            b0, p = f
            op = b0 & 0x0F
            if op == 8:
                got = str(struct.unpack(">H", p[:2])[0]) if len(p) >= 2 else "1005"
                if left == 0:  # ours went first: this is the answer
                    break
                if not path.startswith("/bad/"):
                    conn.sendall(frame(0x88, p[:2]))
                    break
            elif op == 9 and path != "/silent":
                conn.sendall(frame(0x8A, p))
            elif path in echoes and op != 10:
                conn.sendall(frame(b0, p))  # RSV1 too: our own deflate stream echoed inflates in step
                if left > 0 and b0 & 0x80 and op in (0, 1, 2):
                    left -= 1
                    if left == 0:
                        conn.sendall(frame(0x88, struct.pack(">H", 1000)))
        record(key, got)
    except (OSError, ValueError):
        pass
    finally:
        try:
            if rst:
                reset(conn)
            else:
                conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(512)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(tmp, args.port_file)
    while True:
        conn, _ = s.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    sys.exit(main())
