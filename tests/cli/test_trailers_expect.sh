#!/usr/bin/env bash
# Beside curl 7.88 on the same commands: a chunked response's trailer
# fields with -i (after the body) and -D (after the header block);
# Expect: 100-continue only for a body above 1 MiB; with -H 'Expect:', an
# early final answer to an upload stops the body at once (RFC 9112 9.5).
# TIMEOUT: 90
source "$(dirname "$0")/lib.sh"
start_fault_server

# ---- trailers
raw='HTTP/1.1%20200%20OK%0D%0ATransfer-Encoding:%20chunked%0D%0A%0D%0A2%0D%0Aok%0D%0A0%0D%0AX-Trailer:%20late%0D%0AX-Two:%20b%0D%0A%0D%0A'
same_as_curl "-i: trailers after the body" -s -i "$FAULT/raw?b=$raw"
check_contains "$OUT" "X-Two: b" "... both trailer fields"
same_as_curl "-D -: trailers after the header block" -s -D - "$FAULT/raw?b=$raw"
flurry -s -D "$T/f.hd" -o "$T/f.body" "$FAULT/raw?b=$raw"
curl_too -s -D "$T/c.hd" -o "$T/c.body" "$FAULT/raw?b=$raw"
cmp -s "$T/f.hd" "$T/c.hd" && pass "-D FILE: the same bytes as curl's" || fail "-D FILE differs: $(diff "$T/c.hd" "$T/f.hd")"
cmp -s "$T/f.body" "$T/c.body" && pass "-o FILE: the body alone, as curl's" || fail "-o FILE differs"
same_as_curl "without -i no trailers" -s "$FAULT/raw?b=$raw"
same_as_curl "-I: no body, no trailers" -s -I "$FAULT/raw?b=$raw"
same_as_curl "-i, no trailers: nothing added" -s -i "$FAULT/chunked"
same_as_curl "-i -f on a 4xx with trailers: exit 22" -s -i -f \
  "$FAULT/raw?b=${raw/200%20OK/404%20Not%20Found}"

# ---- Expect: 100-continue above 1 MiB only (curl's threshold)
head -c 1048576 /dev/zero >"$T/1m"
head -c 1048577 /dev/zero >"$T/1m1"
for f in 1m 1m1; do
  same_as_curl "--data-binary of $f" -s -o /dev/null -w '%{http_code}' --data-binary @"$T/$f" \
    "$FAULT/ok?k=$f{tool}"
  want=$(curl -q -s "$FAULT/_log?k=${f}curl" | grep -ac '^Expect: 100-continue')
  got=$(curl -q -s "$FAULT/_log?k=${f}flurry" | grep -ac '^Expect: 100-continue')
  check_eq "$got" "$want" "Expect: 100-continue for a body of $f, as curl"
done
check_eq "$(curl -q -s "$FAULT/_log?k=1mflurry" | grep -ac '^Expect:')" "0" "exactly 1 MiB: no Expect"
check_eq "$(curl -q -s "$FAULT/_log?k=1m1flurry" | grep -ac '^Expect:')" "1" "1 MiB + 1: Expect"

# ---- an early 413 with -H 'Expect:': the rest of a 50 MB body is not sent.
# The server answers at once (its head; the body a second later), then
# reads (and counts) what still comes, as nginx does with
# client_max_body_size.
cat >"$T/early413.py" <<'PY'
import socket, sys, threading
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(16)
open(sys.argv[1] + ".tmp", "w").write(str(srv.getsockname()[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
def serve(conn):
    conn.settimeout(20)
    head = b""
    while b"\r\n\r\n" not in head:
        d = conn.recv(65536)
        if not d:
            return
        head += d
    got = len(head) - head.index(b"\r\n\r\n") - 4
    conn.sendall(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 9\r\n\r\n")
    threading.Timer(1.0, lambda: conn.sendall(b"too large")).start()  # the head is the answer
    try:
        while True:
            d = conn.recv(1 << 20)
            if not d:
                break
            got += len(d)
    except OSError:
        pass
    with open(sys.argv[2], "a") as f:
        f.write("%d\n" % got)
    conn.close()
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
python3 "$T/early413.py" "$T/e413.port" "$T/e413.log" 2>"$T/e413.err" &
PROXY_PID=$! # stopped by lib.sh's cleanup
for ((i = 0; i < 400; i++)); do [[ -s $T/e413.port ]] && break; sleep 0.05; done
E413=http://127.0.0.1:$(cat "$T/e413.port")
head -c 50000000 /dev/zero >"$T/50m"
same_as_curl "-H 'Expect:' with an early 413 to 50 MB" -s -H 'Expect:' --data-binary @"$T/50m" \
  -w '%{http_code}' "$E413/"
check_eq "$(cat "$OUT")" "too large413" "... the 413 is reported"
for ((i = 0; i < 400; i++)); do (($(wc -l <"$T/e413.log") >= 2)) && break; sleep 0.05; done
read -r fl_sent <<<"$(sed -n 1p "$T/e413.log")"
read -r curl_sent <<<"$(sed -n 2p "$T/e413.log")"
echo "body bytes the server got: flurry $fl_sent, curl $curl_sent (of 50000000)"
((fl_sent < 16000000)) && pass "flurry stopped the body after the 413 ($fl_sent bytes sent)" ||
  fail "flurry sent $fl_sent of 50000000 bytes after the 413"

done_testing
