#!/usr/bin/env python3
"""A broken upstream DNS server for the dnsmasq fixture (stdlib only).

dnsmasq forwards two test domains here:
  *.timeout.test / timeout.test -> never answered (the query is dropped)
  anything else (fail.test)      -> answered with rcode SERVFAIL

Usage: dns_upstream.py --port-file FILE
Binds UDP 127.0.0.1:0, writes the port to FILE, and runs until killed.
"""
import os
import signal
import socket
import sys

SERVFAIL = 2


def qname(msg):
    labels, off = [], 12
    while off < len(msg) and msg[off] != 0:
        n = msg[off]
        labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace").lower())
        off += 1 + n
    return ".".join(labels), off + 5  # past the root label, QTYPE and QCLASS


def main():
    if len(sys.argv) != 3 or sys.argv[1] != "--port-file":
        sys.exit(__doc__)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    tmp = sys.argv[2] + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(tmp, sys.argv[2])
    while True:
        msg, peer = s.recvfrom(4096)
        if len(msg) < 12:
            continue
        name, end = qname(msg)
        if name == "timeout.test" or name.endswith(".timeout.test"):
            continue
        flags = 0x8000 | (msg[2] & 0x79) << 8 | 0x0080 | SERVFAIL  # QR, opcode+RD, RA
        reply = msg[:2] + flags.to_bytes(2, "big") + b"\x00\x01\x00\x00\x00\x00\x00\x00"
        s.sendto(reply + msg[12:end], peer)


if __name__ == "__main__":
    main()
