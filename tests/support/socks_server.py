#!/usr/bin/env python3
"""A scripted SOCKS4/4a/5 server for flurry's tests.

  socks_server.py --port-file PATH [--mode=MODE]

Listens on 127.0.0.1:0 and writes its port to PATH (atomically) once
listening; serves until SIGTERM. Speaks SOCKS4 (with the 4a extension) and
SOCKS5 (RFC 1928, user/password of RFC 1929) on the same port, by the first
byte of each connection. Standard library only; a thread per connection.

MODE (what the SOCKS5 greeting does):
  normal          no-auth when the client offers only that; user/password
                  when it offers it (default)
  require-auth    user/password only: a client offering none gets 0xFF
  greet-close     close right after reading the greeting
  greet-badver    answer the greeting with version 4

Scenarios by user name (SOCKS5 user/password, or the SOCKS4 user id):
  reply-N         the CONNECT is answered with reply code N (SOCKS4: N is
                  the status byte, e.g. 91), then the connection closes
  badauth         SOCKS5: the authentication fails (status 1)
  badver          the CONNECT reply has a wrong version byte
  close           close instead of answering the CONNECT
  stall           never answer the CONNECT (until the client closes, 30 s)
  bind-name       success, with a host name as the bound address (SOCKS5)
  bind-v6         success, with an IPv6 bound address (SOCKS5)
  split           success, every reply byte written on its own, 5 ms apart
  anything else   (SOCKS5: any password) connect and relay
Targets: loopback only. IP literals as given; the name "localhost" is
127.0.0.1; any other name fails (SOCKS5 reply 4, SOCKS4 91). The name
"socks.log" answers one HTTP request itself with the log: one line per
CONNECT, e.g. "socks5 atyp=3 host=localhost port=80 user=-" or
"socks4 ip=127.0.0.1 port=80 user=id host=-".
"""
import argparse
import os
import select
import signal
import socket
import struct
import sys
import threading
import time

LOG = []
LOG_LOCK = threading.Lock()
MODE = "normal"


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def recv_until_nul(sock, limit=1024):
    data = b""
    while True:
        c = recv_exact(sock, 1)
        if c == b"\0":
            return data
        data += c
        if len(data) > limit:
            raise EOFError


def send(sock, data, user):
    """data, in one write, or a byte at a time for the user "split"."""
    if user != "split":
        sock.sendall(data)
        return
    for i in range(len(data)):
        sock.sendall(data[i:i + 1])
        time.sleep(0.005)


def relay(a, b):
    socks = [a, b]
    try:
        while True:
            readable, _, _ = select.select(socks, [], [], 30)
            if not readable:
                return
            for s in readable:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)
    except OSError:
        return


def stall(sock):
    sock.settimeout(30)
    try:
        while sock.recv(4096):
            pass
    except OSError:
        pass


def serve_log(sock):
    """Answer one HTTP request with the log."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            return
        buf += chunk
    with LOG_LOCK:
        body = ("\n".join(LOG) + "\n").encode()
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                 % len(body) + body)


def open_target(host, port):
    """A connected socket to a loopback target, or None."""
    if host == "localhost":
        host = "127.0.0.1"
    if host not in ("127.0.0.1", "::1"):
        return None
    try:
        return socket.create_connection((host, port), timeout=10)
    except OSError:
        return None


def scenario_code(user):
    if user.startswith("reply-"):
        try:
            return int(user[6:])
        except ValueError:
            return None
    return None


# ---------------------------------------------------------------- SOCKS4

def socks4(sock):
    head = recv_exact(sock, 7)  # after the version byte
    cmd, port = head[0], struct.unpack("!H", head[1:3])[0]
    ip = socket.inet_ntoa(head[3:7])
    user = recv_until_nul(sock).decode("latin-1")
    host = None
    if ip.startswith("0.0.0.") and ip != "0.0.0.0":
        host = recv_until_nul(sock).decode("latin-1")
    with LOG_LOCK:
        LOG.append("socks4 ip=%s port=%d user=%s host=%s"
                   % ("-" if host else ip, port, user or "-", host or "-"))

    def reply(status, version=0):
        send(sock, bytes([version, status]) + struct.pack("!H", port) + b"\0\0\0\0", user)

    if cmd != 1:
        reply(91)
        return
    code = scenario_code(user)
    if code is not None:
        reply(code)
        return
    if user == "close":
        return
    if user == "stall":
        stall(sock)
        return
    if user == "badver":
        reply(90, version=4)
        return
    if host == "socks.log":
        reply(90)
        serve_log(sock)
        return
    upstream = open_target(host or ip, port)
    if not upstream:
        reply(91)
        return
    reply(90)
    relay(sock, upstream)
    upstream.close()


# ---------------------------------------------------------------- SOCKS5

def socks5(sock):
    nmethods = recv_exact(sock, 1)[0]
    methods = recv_exact(sock, nmethods)
    if MODE == "greet-close":
        return
    if MODE == "greet-badver":
        sock.sendall(b"\x04\x00")
        return
    user = ""
    if 2 in methods:
        sock.sendall(b"\x05\x02")
        ver, ulen = recv_exact(sock, 2)
        user = recv_exact(sock, ulen).decode("latin-1")
        plen = recv_exact(sock, 1)[0]
        recv_exact(sock, plen)
        if user == "badauth":
            sock.sendall(b"\x01\x01")
            return
        send(sock, b"\x01\x00", user)
    elif 0 in methods and MODE != "require-auth":
        sock.sendall(b"\x05\x00")
    else:
        sock.sendall(b"\x05\xff")
        return
    ver, cmd, _, atyp = recv_exact(sock, 4)
    if atyp == 1:
        host = socket.inet_ntoa(recv_exact(sock, 4))
    elif atyp == 4:
        host = socket.inet_ntop(socket.AF_INET6, recv_exact(sock, 16))
    elif atyp == 3:
        host = recv_exact(sock, recv_exact(sock, 1)[0]).decode("latin-1")
    else:
        return
    port = struct.unpack("!H", recv_exact(sock, 2))[0]
    with LOG_LOCK:
        LOG.append("socks5 atyp=%d host=%s port=%d user=%s" % (atyp, host, port, user or "-"))

    def reply(code, bound=b"\x01\x7f\x00\x00\x01", version=5):
        send(sock, bytes([version, code, 0]) + bound + struct.pack("!H", 4321), user)

    if cmd != 1:
        reply(7)
        return
    code = scenario_code(user)
    if code is not None:
        reply(code)
        return
    if user == "close":
        return
    if user == "stall":
        stall(sock)
        return
    if user == "badver":
        reply(0, version=4)
        return
    if host == "socks.log":
        reply(0)
        serve_log(sock)
        return
    upstream = open_target(host, port)
    if not upstream:
        reply(4 if host not in ("127.0.0.1", "::1", "localhost") else 5)
        return
    if user == "bind-name":
        reply(0, b"\x03\x0abound.test")
    elif user == "bind-v6":
        reply(0, b"\x04" + socket.inet_pton(socket.AF_INET6, "::1"))
    else:
        reply(0)
    relay(sock, upstream)
    upstream.close()


def handle(sock):
    try:
        first = sock.recv(1)
        if first == b"\x04":
            socks4(sock)
        elif first == b"\x05":
            socks5(sock)
    except (OSError, EOFError, ValueError):
        pass
    finally:
        try:
            sock.close()
        except OSError:
            pass


def main():
    global MODE
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--mode", default="normal",
                    choices=["normal", "require-auth", "greet-close", "greet-badver"])
    args = ap.parse_args()
    MODE = args.mode
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(256)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.getsockname()[1])
    os.rename(tmp, args.port_file)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    while True:
        try:
            client, _ = srv.accept()
        except OSError:
            continue
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=handle, args=(client,), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
