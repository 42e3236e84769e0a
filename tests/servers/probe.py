#!/usr/bin/env python3
"""Probes for the fixture servers (stdlib only).

  probe.py freeport [--udp] [--ipv6]
      Print a port that is free on 127.0.0.1 for TCP (and UDP with --udp,
      and on [::1] with --ipv6). The port is closed again before printing,
      so a race with another process is possible; callers retry.
  probe.py http PORT [PATH] [HOST]
      Exit 0 if an HTTP/1.x response arrives from HOST:PORT (default
      127.0.0.1) for GET PATH (default /); prints the status line.
  probe.py dns PORT NAME [A|AAAA] [--tcp]
      Send one query to 127.0.0.1:PORT and print "rcode=NAME" and one line
      per answer: "TYPE ADDRESS ttl=N". Exit 0 if the server answered at all
      (whatever the rcode), 1 on timeout or garbage.
  probe.py ipv6
      Exit 0 if a socket can bind [::1].
"""
import random
import socket
import struct
import sys

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
QTYPES = {"A": 1, "AAAA": 28}


def ipv6_available():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        return False
    try:
        s.bind(("::1", 0))
        return True
    except OSError:
        return False
    finally:
        s.close()


def freeport(udp, ipv6):
    for _ in range(50):
        socks = []
        try:
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(t)
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            extra = []
            if udp:
                extra.append((socket.AF_INET, socket.SOCK_DGRAM, "127.0.0.1"))
            if ipv6:
                extra.append((socket.AF_INET6, socket.SOCK_STREAM, "::1"))
            for fam, typ, addr in extra:
                s = socket.socket(fam, typ)
                socks.append(s)
                s.bind((addr, port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise SystemExit("probe.py: no free port found")


def http(port, path, host):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        s.connect((host, port))
        s.sendall(("GET %s HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n" % path).encode())
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    if not line.startswith("HTTP/1."):
        print("no HTTP response: %r" % data[:80])
        return 1
    print(line)
    return 0


def dns_query(name, qtype):
    qid = random.randint(0, 0xFFFF)
    msg = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        msg += bytes([len(label)]) + label.encode()
    msg += b"\0" + struct.pack(">HH", QTYPES[qtype], 1)
    return qid, msg


def skip_name(buf, off):
    while True:
        n = buf[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n


def dns(port, name, qtype, tcp):
    qid, msg = dns_query(name, qtype)
    if tcp:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(3)
            s.connect(("127.0.0.1", port))
            s.sendall(struct.pack(">H", len(msg)) + msg)
            buf = b""
            while len(buf) < 2 or len(buf) < 2 + struct.unpack(">H", buf[:2])[0]:
                chunk = s.recv(4096)
                if not chunk:
                    break
                buf += chunk
            buf = buf[2:]
    else:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(3)
            s.sendto(msg, ("127.0.0.1", port))
            buf, _ = s.recvfrom(4096)
    if len(buf) < 12:
        print("short DNS reply")
        return 1
    rid, flags, qd, an, _, _ = struct.unpack(">HHHHHH", buf[:12])
    if rid != qid:
        print("DNS id mismatch")
        return 1
    print("rcode=%s" % RCODES.get(flags & 0xF, str(flags & 0xF)))
    off = 12
    for _ in range(qd):
        off = skip_name(buf, off) + 4
    for _ in range(an):
        off = skip_name(buf, off)
        rtype, _, ttl, rdlen = struct.unpack(">HHIH", buf[off:off + 10])
        off += 10
        rdata = buf[off:off + rdlen]
        off += rdlen
        if rtype == 1:
            print("A %s ttl=%d" % (socket.inet_ntop(socket.AF_INET, rdata), ttl))
        elif rtype == 28:
            print("AAAA %s ttl=%d" % (socket.inet_ntop(socket.AF_INET6, rdata), ttl))
        else:
            print("type%d ttl=%d" % (rtype, ttl))
    return 0


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    cmd, args = argv[1], argv[2:]
    flags = {a for a in args if a.startswith("--")}
    args = [a for a in args if not a.startswith("--")]
    try:
        if cmd == "freeport":
            print(freeport("--udp" in flags, "--ipv6" in flags))
            return 0
        if cmd == "ipv6":
            return 0 if ipv6_available() else 1
        if cmd == "http":
            return http(int(args[0]), args[1] if len(args) > 1 else "/",
                        args[2] if len(args) > 2 else "127.0.0.1")
        if cmd == "dns":
            return dns(int(args[0]), args[1], args[2] if len(args) > 2 else "A", "--tcp" in flags)
    except (OSError, ValueError, IndexError, struct.error) as e:
        print("probe failed: %s" % e)
        return 1
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
