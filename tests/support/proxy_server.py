#!/usr/bin/env python3
"""A small HTTP forward proxy for flurry's tests.

  proxy_server.py --port-file PATH [--user USER:PASS | --digest USER:PASS[:ALGORITHM]]

Listens on 127.0.0.1:0 and writes its port to PATH once listening. Handles:
  - absolute-form requests (GET http://host:port/path HTTP/1.1): forwards
    them to the origin (loopback only) with an origin-form target, and
    relays the response; one request per upstream connection;
  - CONNECT host:port: opens a tunnel (loopback only) and relays bytes.
With --user, requests without the matching Proxy-Authorization: Basic get
407. With --digest, requests (CONNECT too) without a valid Proxy-Authorization:
Digest (RFC 7616, qop=auth, ALGORITHM MD5 by default; SHA-256, -sess...) get
407 with a Digest challenge (a fresh nonce each time); a CONNECT's 407
keeps the connection (Content-Length body) for the next CONNECT. The
answer's uri may be the request-target as received or, as curl sends it,
its origin form. The proxy adds `X-Seen-Proxy-Authorization: yes|no` to each forwarded
response and keeps a log of request heads it received, served as plain text
at GET http://proxy.invalid/_log (absolute form) for tests to inspect.
Standard library only; a thread per client connection.
"""
import argparse
import base64
import hashlib
import re
import os
import select
import signal
import socket
import sys
import threading

LOG = []
LOG_LOCK = threading.Lock()


def read_head(sock, buf=b""):
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        buf += chunk
        if len(buf) > 1 << 20:
            return None, b""
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head.decode("latin-1"), rest


def loopback(host):
    return host in ("127.0.0.1", "localhost", "::1", "[::1]")


def split_hostport(hp, default):
    if hp.startswith("["):
        host, _, port = hp[1:].partition("]")
        port = port[1:] if port.startswith(":") else ""
    else:
        host, _, port = hp.partition(":")
    return host, int(port) if port else default


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


DIGEST_REALM = "flurry-proxy"


def origin_form(target):
    """/path?query of an absolute-form target (curl puts that in uri=)."""
    if not target.startswith("http://"):
        return target
    return "/" + target[len("http://"):].partition("/")[2]
NONCES = set()
HASHES = {"MD5": "md5", "SHA-256": "sha256", "SHA-512-256": "sha512_256"}


def digest_challenge(algorithm):
    nonce = base64.b64encode(os.urandom(18)).decode()
    with LOG_LOCK:
        NONCES.add(nonce)
    return ('Proxy-Authenticate: Digest realm="%s", qop="auth", algorithm=%s, nonce="%s", '
            'opaque="op4que"\r\n' % (DIGEST_REALM, algorithm, nonce))


def digest_ok(value, method, target, user, password, algorithm):
    """Is value a valid Digest answer to one of our challenges?"""
    if not value or not value.lower().startswith("digest "):
        return False
    params = dict((k.lower(), v1 if v1 else v2) for k, v1, v2 in
                  re.findall(r'([A-Za-z-]+)=(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))', value[7:]))
    base = algorithm[:-5] if algorithm.endswith("-sess") else algorithm

    def h(text):
        return hashlib.new(HASHES[base], text.encode()).hexdigest()

    with LOG_LOCK:
        known = params.get("nonce") in NONCES
    if (not known or params.get("username") != user or params.get("realm") != DIGEST_REALM
            or params.get("uri") not in (target, origin_form(target)) or params.get("qop") != "auth"
            or params.get("algorithm") != algorithm or params.get("opaque") != "op4que"):
        return False
    ha1 = h("%s:%s:%s" % (user, DIGEST_REALM, password))
    if algorithm.endswith("-sess"):
        ha1 = h("%s:%s:%s" % (ha1, params["nonce"], params.get("cnonce", "")))
    ha2 = h("%s:%s" % (method, params["uri"]))
    want = h(":".join([ha1, params["nonce"], params.get("nc", ""), params.get("cnonce", ""), "auth", ha2]))
    return params.get("response") == want


def reply(sock, status, text, extra="", keep=False):
    body = text.encode()
    sock.sendall(("HTTP/1.1 %s\r\nContent-Length: %d\r\n%s%s\r\n"
                  % (status, len(body), "" if keep else "Connection: close\r\n", extra)).encode()
                 + body)


def handle(client, auth, digest):
    try:
        rest = b""
        while True:
            head, rest = read_head(client, rest)
            if head is None:
                return
            lines = head.split("\r\n")
            method, target, version = lines[0].split(" ", 2)
            headers = [l.split(":", 1) for l in lines[1:] if ":" in l]
            hmap = {k.strip().lower(): v.strip() for k, v in headers}
            with LOG_LOCK:
                LOG.append(head)
            seen = "proxy-authorization" in hmap
            if target == "http://proxy.invalid/_log":
                with LOG_LOCK:
                    reply(client, "200 OK", "\n----\n".join(LOG))
                return
            if auth and hmap.get("proxy-authorization") != "Basic " + auth:
                reply(client, "407 Proxy Authentication Required", "auth needed",
                      'Proxy-Authenticate: Basic realm="test"\r\n')
                return
            if digest and not digest_ok(hmap.get("proxy-authorization"), method, target, *digest):
                # A CONNECT's 407 keeps the connection for the next try.
                keep = method == "CONNECT"
                reply(client, "407 Proxy Authentication Required", "digest needed",
                      digest_challenge(digest[2]), keep=keep)
                if keep:
                    continue
                return
            break
        if method == "CONNECT":
            host, port = split_hostport(target, 443)
            if not loopback(host):
                reply(client, "403 Forbidden", "loopback only")
                return
            upstream = socket.create_connection((host.strip("[]"), port), timeout=10)
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
            relay(client, upstream)
            upstream.close()
            return
        if not target.startswith("http://"):
            reply(client, "400 Bad Request", "absolute-form expected")
            return
        hostport, _, path = target[len("http://"):].partition("/")
        host, port = split_hostport(hostport, 80)
        if not loopback(host):
            reply(client, "403 Forbidden", "loopback only")
            return
        length = int(hmap.get("content-length", "0") or 0)
        while len(rest) < length:
            chunk = client.recv(65536)
            if not chunk:
                break
            rest += chunk
        kept = [(k, v) for k, v in headers
                if k.strip().lower() not in ("proxy-authorization", "proxy-connection", "connection")]
        out = "%s /%s %s\r\n" % (method, path, version)
        out += "".join("%s:%s\r\n" % (k, v) for k, v in kept) + "Connection: close\r\n\r\n"
        upstream = socket.create_connection((host.strip("[]"), port), timeout=10)
        upstream.sendall(out.encode("latin-1") + rest[:length])
        resp_head, resp_rest = read_head(upstream)
        if resp_head is None:
            reply(client, "502 Bad Gateway", "no response")
            return
        resp_lines = [l for l in resp_head.split("\r\n")
                      if not l.lower().startswith("connection:")]
        resp_lines.insert(1, "X-Seen-Proxy-Authorization: " + ("yes" if seen else "no"))
        resp_lines.insert(2, "Connection: close")
        client.sendall(("\r\n".join(resp_lines) + "\r\n\r\n").encode("latin-1") + resp_rest)
        while True:
            data = upstream.recv(65536)
            if not data:
                break
            client.sendall(data)
        upstream.close()
    except (OSError, ValueError):
        pass
    finally:
        try:
            client.close()
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--user")
    ap.add_argument("--digest")
    args = ap.parse_args()
    auth = base64.b64encode(args.user.encode()).decode() if args.user else None
    digest = None
    if args.digest:
        parts = args.digest.split(":")
        digest = (parts[0], parts[1], parts[2] if len(parts) > 2 else "MD5")
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(256)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.getsockname()[1])
    os.rename(tmp, args.port_file)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    while True:
        try:
            client, _ = srv.accept()
        except OSError:
            continue
        threading.Thread(target=handle, args=(client, auth, digest), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
