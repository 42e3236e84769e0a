#!/usr/bin/env bash
# Issue 22's CLI options beside curl 7.88 on the same commands: --unix-socket
# and --abstract-unix-socket (a small Unix socket HTTP server; a missing path
# and a path that is no socket: 7), --interface (lo, an address, if!/host!
# forms; an interface that does not exist: 45), --local-port (a free range;
# a taken port: 45; bad ranges: 2), --keepalive-time, --connect-to (made-up
# host names that are never resolved; repeated rules; a bad PORT2: 49).
# Also nginx on its Unix socket (keep-alive over it, a 404, a 1 MiB file).
# FIXTURES: nginx
# TIMEOUT: 120
source "$(dirname "$0")/lib.sh"
start_fault_server
PORT=${FAULT##*:}

# A Unix socket HTTP server (python's http.server binds TCP only): answers
# every GET with its request line, Host header and the socket's name.
cat >"$T/unix_server.py" <<'EOF'
import http.server, os, socketserver, sys
addr = sys.argv[1]  # "@NAME": the abstract socket NAME
if addr.startswith("@"):
    addr = "\0" + addr[1:]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("%s|%s|%s\n" % (self.requestline, self.headers.get("Host"), addr.strip("\0"))).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
class S(socketserver.UnixStreamServer):
    def get_request(self):  # a Unix peer has no (host, port) address
        req, _ = self.socket.accept()
        return req, ("unix", 0)
srv = S(addr, H)
open(sys.argv[2], "w").write("up\n")
srv.serve_forever()
EOF
UNIX_PIDS=()
start_unix() { # start_unix ADDRESS READY-FILE
  python3 "$T/unix_server.py" "$1" "$2" 2>"$T/unix.log" &
  UNIX_PIDS+=($!)
  local i
  for ((i = 0; i < 400; i++)); do
    [[ -s $2 ]] && return 0
    sleep 0.05
  done
  echo "unix server did not start: $(cat "$T/unix.log")" >&2
  exit 1
}
trap 'for p in "${UNIX_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; cleanup' EXIT

# ---- --unix-socket, --abstract-unix-socket
SOCK=$T/http.sock
start_unix "$SOCK" "$T/unix.ready"
same_as_curl "--unix-socket" -s --unix-socket "$SOCK" http://localhost/v1.41/containers/json
check_contains "$OUT" "GET /v1.41/containers/json HTTP/1.1|localhost|$SOCK" \
  "... the URL's path and Host over the socket"
same_as_curl "--unix-socket, a made-up host (never resolved)" -s --unix-socket "$SOCK" \
  http://no-such-host.invalid:8080/x -w ' %{http_code}'
check_contains "$OUT" "|no-such-host.invalid:8080|" "... its Host header"
same_as_curl "--unix-socket: a missing path: 7" -s --unix-socket "$T/nothere.sock" http://localhost/
same_as_curl "--unix-socket: a file that is not a socket: 7" -s --unix-socket "$T/unix_server.py" \
  http://localhost/
same_as_curl "--unix-socket: a directory: 7" -s --unix-socket "$T" http://localhost/
same_as_curl "--unix-socket with two URLs" -s --unix-socket "$SOCK" http://localhost/a http://localhost/b
ABS=flurry-life-$$-$RANDOM
start_unix "@$ABS" "$T/abs.ready"
# nginx on its Unix socket (the fixture's RUNDIR/nginx.sock)
NGSOCK=$FL_TEST_RUNDIR/nginx.sock
if [[ -S $NGSOCK ]]; then
  same_as_curl "--unix-socket to nginx" -s --unix-socket "$NGSOCK" http://localhost/hello
  same_as_curl "--unix-socket to nginx: a 404 and its code" -s --unix-socket "$NGSOCK" \
    -w ' %{http_code}' http://localhost/status/404
  flurry -s --parallel-max 1 --unix-socket "$NGSOCK" -w '%{num_connects} ' http://localhost/hello \
    http://localhost/files/small.txt
  check_eq "$RC:$(cat "$OUT")" "0:Hello, World!1 small file
0 " "--unix-socket to nginx: two URLs on one kept-alive connection"
  flurry -s --unix-socket "$NGSOCK" -o "$T/big.bin" http://localhost/files/big.bin
  cmp -s "$T/big.bin" "$FL_TEST_RUNDIR/nginx.files/big.bin" && pass "--unix-socket to nginx: 1 MiB whole" ||
    fail "--unix-socket to nginx: 1 MiB file differs (exit $RC)"
else
  echo "# nginx has no Unix socket here (its run directory's path is too long): skipped"
fi

same_as_curl "--abstract-unix-socket" -s --abstract-unix-socket "$ABS" http://localhost/abs
check_contains "$OUT" "GET /abs HTTP/1.1|localhost|$ABS" "... served by the abstract socket"
same_as_curl "--abstract-unix-socket: a name nobody listens on: 7" -s \
  --abstract-unix-socket "$ABS-none" http://localhost/
same_as_curl "--unix-socket then --abstract-unix-socket: the last wins" -s --unix-socket \
  "$T/nothere.sock" --abstract-unix-socket "$ABS" http://localhost/last
same_as_curl "--abstract-unix-socket then --unix-socket: the last wins" -s \
  --abstract-unix-socket "$ABS-none" --unix-socket "$SOCK" http://localhost/last

# ---- --interface
same_as_curl "--interface lo" -s --interface lo "$FAULT/ok"
same_as_curl "--interface if!lo" -s --interface 'if!lo' "$FAULT/ok"
same_as_curl "--interface 127.0.0.1" -s --interface 127.0.0.1 "$FAULT/ok"
same_as_curl "--interface host!127.0.0.1" -s --interface 'host!127.0.0.1' "$FAULT/ok"
same_as_curl "--interface host!127.0.0.2 (a local address)" -s --interface 'host!127.0.0.2' \
  "$FAULT/echo" -o /dev/null -w '%{local_ip}'
check_eq "$(cat "$OUT")" "127.0.0.2" "... the connection's local address"
same_as_curl "--interface if!nosuchif0: 45" -s --interface 'if!nosuchif0' "$FAULT/ok"
same_as_curl "--interface host!192.0.2.1 (not ours): 45" -s --interface 'host!192.0.2.1' "$FAULT/ok"
# curl binds nothing when the address is not of the remote's family; the
# library refuses (FL_EINTERFACE): flurry alone
flurry -s --interface ::1 "$FAULT/ok"
check_rc 45 "--interface ::1 to an IPv4 address: 45 (curl: not bound, goes on)"
# curl would ask the resolver about a plain name that is no interface: flurry alone
flurry -s --interface nosuchif0 "$FAULT/ok"
check_rc 45 "--interface nosuchif0: 45 (curl's code)"
flurry -sS --interface nosuchif0 "$FAULT/ok"
check_contains "$ERR" "(45)" "... with a message"
check_contains "$ERR" "nosuchif0" "... naming the interface"
flurry -s --interface 'host!no-such-name' "$FAULT/ok"
check_rc 45 "--interface host!NAME: 45 (flurry resolves no name there)"

# ---- --local-port
free_range() { # a range of 20 ports nobody uses now
  python3 - <<'EOF'
import random, socket
for _ in range(50):
    lo = random.randint(20000, 30000)
    try:
        ss = []
        for p in range(lo, lo + 20):
            s = socket.socket(); s.bind(("127.0.0.1", p)); ss.append(s)
        print("%d-%d" % (lo, lo + 19)); break
    except OSError:
        pass
    finally:
        for s in ss: s.close()
EOF
}
RANGE=$(free_range)
same_as_curl "--local-port $RANGE" -s --local-port "$RANGE" "$FAULT/ok"
flurry -s --local-port "$RANGE" "$FAULT/ok" -w ' %{local_port}'
lp=$(awk '{print $2}' "$OUT")
((lp >= ${RANGE%-*} && lp <= ${RANGE#*-})) && pass "--local-port: local port $lp in $RANGE" ||
  fail "--local-port: local port '$lp' not in $RANGE"
same_as_curl "--local-port with spaces around '-'" -s --local-port "${RANGE%-*} - ${RANGE#*-}" "$FAULT/ok"
same_as_curl "--local-port 0: any" -s --local-port 0 "$FAULT/ok"
same_as_curl "--local-port: the port the server listens on (taken): 45" -s --local-port "$PORT" "$FAULT/ok"
for bad in x 70000 5-3 -5 "1-x" "1-700000"; do
  same_as_curl "--local-port '$bad': 2" -s --local-port "$bad" "$FAULT/ok"
done

# ---- --keepalive-time
same_as_curl "--keepalive-time 5" -s --keepalive-time 5 "$FAULT/ok"
same_as_curl "--keepalive-time 0" -s --keepalive-time 0 "$FAULT/ok"
same_as_curl "--keepalive-time 100000 (over Linux's limit)" -s --keepalive-time 100000 "$FAULT/ok"
same_as_curl "--keepalive-time with --no-keepalive" -s --no-keepalive --keepalive-time 5 "$FAULT/ok"
same_as_curl "--keepalive-time with --unix-socket" -s --keepalive-time 5 --unix-socket "$SOCK" \
  http://localhost/ka
same_as_curl "--keepalive-time x: 2" -s --keepalive-time x "$FAULT/ok"
same_as_curl "--keepalive-time -1: 2" -s --keepalive-time -1 "$FAULT/ok"

# ---- --connect-to (made-up names: never resolved, the rule supplies the address)
same_as_curl "--connect-to a made-up host" -s --connect-to "example.invalid:80:127.0.0.1:$PORT" \
  http://example.invalid/echo -w '%{remote_ip}:%{remote_port}'
check_contains "$OUT" "Host: example.invalid" "... the URL's Host header"
same_as_curl "--connect-to: empty HOST1 and PORT1 match any" -s --connect-to "::127.0.0.1:$PORT" \
  http://made.up.invalid:1234/ok
same_as_curl "--connect-to: empty HOST2 keeps the URL's host" -s --connect-to "127.0.0.1:1::$PORT" \
  http://127.0.0.1:1/ok
same_as_curl "--connect-to: the first matching rule wins" -s \
  --connect-to "other.invalid:80:127.0.0.1:1" --connect-to "a.invalid:80:127.0.0.1:$PORT" \
  --connect-to "a.invalid:80:127.0.0.1:1" http://a.invalid/ok
same_as_curl "--connect-to: host names match in any case" -s --connect-to "A.Invalid:80:127.0.0.1:$PORT" \
  http://a.invalid/ok
same_as_curl "--connect-to: a rule for another port is not used: 7" -s \
  --connect-to "127.0.0.1:2:127.0.0.1:$PORT" http://127.0.0.1:1/ok
same_as_curl "--connect-to: IPv6 in brackets" -s --connect-to "v6.invalid:80:[::1]:1" http://v6.invalid/ok
same_as_curl "--connect-to: a rule that can never match is ignored" -s --connect-to bad \
  --connect-to "127.0.0.1:x:127.0.0.1:1" "$FAULT/ok"
same_as_curl "--connect-to: a bad PORT2: 49" -s --connect-to "127.0.0.1:$PORT:127.0.0.1:99999" "$FAULT/ok"
same_as_curl "--connect-to to a unix socket URL is not used" -s --connect-to "::127.0.0.1:1" \
  --unix-socket "$SOCK" http://localhost/u

done_testing
