#!/usr/bin/env bash
# flurry against the scripted fault server: exit codes 8, 18, 28, 52, 55,
# 56, 63, -w on failures, and the exact request bytes (-v, -F, -d).
# LABELS: valgrind
# TIMEOUT: 150
source "$(dirname "$0")/lib.sh"
start_fault_server

# ---- exit codes of server faults
flurry "$FAULT/garbage"
check_rc 1 "not HTTP (no status line): unsupported protocol, as curl"
flurry "$FAULT/bad-chunk"
check_rc 56 "bad chunk size: receive error, as curl"
flurry "$FAULT/bad-chunk-crlf"
check_rc 56 "chunk data without its CRLF: receive error, as curl"
# curl's header limits: 300 KiB in all, no count limit
flurry "$FAULT/huge-headers?kb=100"
check_rc 0 "100 KiB of headers (curl takes up to 300 KiB)"
flurry "$FAULT/huge-headers?kb=290"
check_rc 0 "290 KiB of headers"
flurry "$FAULT/many-headers?n=5000"
check_rc 0 "5000 header lines (curl has no count limit)"
flurry "$FAULT/huge-headers?kb=310"
check_rc 8 "310 KiB of headers: over the cap (curl 7.88: 56)"
flurry "$FAULT/truncated?n=100&send=10"
check_rc 18 "Content-Length body cut short: partial"
check_eq "$(wc -c <"$OUT")" "10" "the 10 bytes that came are written"
flurry "$FAULT/truncated-chunked"
check_rc 18 "chunked body cut short: partial"
flurry "$FAULT/empty"
check_rc 52 "empty reply"
check_contains "$ERR" "(52)" "52 message"
flurry "$FAULT/reset"
check_rc 56 "reset before the response"
flurry "$FAULT/reset-mid-body"
check_rc 56 "reset in the body"
flurry -m 0.5 "$FAULT/delay?ms=5000"
check_rc 28 "-m 0.5, server silent"
flurry -m 1 "$FAULT/stall-body?n=100&send=10"
check_rc 28 "-m 1, body stalls"
flurry --max-filesize 5 "$FAULT/close-delimited?n=10"
check_rc 63 "--max-filesize without a length"
flurry --max-filesize 5 "$FAULT/len?n=10"
check_rc 63 "--max-filesize with a length"
flurry "$FAULT/1xx"
check_rc 0 "1xx responses are skipped"
check_eq "$(cat "$OUT")" "ok" "body after 1xx"
flurry "$FAULT/close-delimited?n=30"
check_rc 0 "close-delimited body"
check_eq "$(cat "$OUT")" "abcdefghijklmnopqrstuvwxyzabcd" "close-delimited body bytes"

# ---- 55/56: the server resets while a large body is still being sent
cat >"$T/rst.py" <<'PY'
import os, socket, struct, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, _ = s.accept()
    c.recv(1024)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
PY
python3 "$T/rst.py" "$T/rst.port" &
rst_pid=$!
for ((i = 0; i < 400; i++)); do [[ -s $T/rst.port ]] && break; sleep 0.05; done
head -c 20000000 /dev/zero >"$T/zeros"
# Without Expect the body goes at once and the reset cuts it (curl: 55)...
flurry -H "Expect:" --data-binary @"$T/zeros" "http://127.0.0.1:$(cat "$T/rst.port")/"
check_rc 55 "reset while sending the body"
# ...with it (added for a body over 1 MiB, as curl does) the body waits for
# a 100 that never comes and the reset is a receive error (curl: 56).
flurry --data-binary @"$T/zeros" "http://127.0.0.1:$(cat "$T/rst.port")/"
check_rc 56 "reset while waiting for 100 Continue"
kill "$rst_pid" 2>/dev/null
wait "$rst_pid" 2>/dev/null

# ---- -w of failed transfers
flurry -s -w '%{http_code} %{exitcode} %{json}' "$FAULT/truncated?n=100&send=10" -o /dev/null
check_rc 18 "-w on a partial transfer"
check_eq "$(cut -d' ' -f1-2 "$OUT")" "200 18" "-w http_code and exitcode of a partial body"
cut -d' ' -f3- "$OUT" >"$T/json"
check_json "$T/json" "-w %{json} of a partial body"
check_eq "$(json_get "$T/json" size_download)" "10" "json size_download"
check_contains "$(json_get "$T/json" errormsg)" "outstanding" "json errormsg"

# ---- the request on the wire (/echo returns the raw request)
flurry -v -H "X-A: 1" -e "http://r.test/" -u "u:p" -b "k=v" "$FAULT/echo?k=v1"
check_rc 0 "-v against /echo"
# the ">" lines of -v are exactly the request head the server received
grep '^>' "$ERR" | sed -e 's/^> \{0,1\}//' | tr -d '\r' | sed '/^$/d' >"$T/shown"
tr -d '\r' <"$OUT" | sed -n '1,/^$/p' | sed '$d' >"$T/received"
if cmp -s "$T/shown" "$T/received"; then pass "-v shows the exact request head"; else
  fail "-v differs from the wire: $(diff "$T/shown" "$T/received" | head -20)"
fi
check_contains "$OUT" "Authorization: Basic dTpw" "-u sends Basic base64(user:pass)"
check_contains "$OUT" "Cookie: k=v" "-b sends Cookie"
check_contains "$OUT" "Referer: http://r.test/" "-e sends Referer"

flurry -v "http://us%3Aer:p%40ss@${FAULT#http://}/echo"
check_contains "$OUT" "Authorization: Basic $(printf 'us:er:p@ss' | base64)" "URL userinfo: Basic auth"
grep '^>' "$ERR" | sed -e 's/^> \{0,1\}//' | tr -d '\r' | sed '/^$/d' >"$T/shown"
tr -d '\r' <"$OUT" | sed -n '1,/^$/p' | sed '$d' >"$T/received"
cmp -s "$T/shown" "$T/received" && pass "-v with URL userinfo: exact head" || fail "-v userinfo head differs"
flurry -o - "$FAULT/ok"
check_eq "$(cat "$OUT")" "ok" "-o - is stdout"

flurry -v -d "a=1" -d "b=2" "$FAULT/echo"
grep '^>' "$ERR" | sed -e 's/^> \{0,1\}//' | tr -d '\r' | sed '/^$/d' >"$T/shown"
tr -d '\r' <"$OUT" | sed -n '1,/^$/p' | sed '$d' >"$T/received"
cmp -s "$T/shown" "$T/received" && pass "-v with -d: exact head" || fail "-v -d head differs"
check_eq "$(tail -c 7 "$OUT")" "a=1&b=2" "-d body bytes"

printf 'one\ntwo\n' >"$T/part.txt"
flurry -F "f=@$T/part.txt;type=text/x-test;filename=renamed.txt" -F "g=v" -F "q=@\"$T/part.txt\"" "$FAULT/echo"
check_rc 0 "-F with type and filename"
check_contains "$OUT" 'Content-Disposition: form-data; name="f"; filename="renamed.txt"' "-F filename="
check_contains "$OUT" "Content-Type: text/x-test" "-F type="
check_contains "$OUT" 'Content-Disposition: form-data; name="q"; filename="part.txt"' "-F quoted path"
check_contains "$OUT" 'Content-Disposition: form-data; name="g"' "-F text part"
python3 - "$OUT" <<'PY' && pass "-F body is well-formed multipart" || fail "-F body malformed"
import sys, re
raw = open(sys.argv[1], "rb").read()
head, body = raw.split(b"\r\n\r\n", 1)
m = re.search(rb"boundary=(\S+)", head)
b = m.group(1)
assert body.startswith(b"--" + b + b"\r\n"), body[:80]
assert body.endswith(b"\r\n--" + b + b"--\r\n"), body[-80:]
parts = body.split(b"--" + b)[1:-1]
assert len(parts) == 3, len(parts)
assert parts[0].endswith(b"\r\n\r\none\ntwo\n\r\n"), parts[0]
m = re.search(rb"Content-Length: (\d+)", head)
assert int(m.group(1)) == len(body), (m.group(1), len(body))
PY

# ---- the same checks through several URLs at once: bodies stay in order
flurry -s "$FAULT/delay?ms=400&k=a" "$FAULT/len?n=5" "$FAULT/status?code=201" "$FAULT/ok"
check_rc 0 "four URLs"
check_eq "$(cat "$OUT")" "okabcdeok" "bodies in command-line order"
flurry -s "$FAULT/ok" "$FAULT/empty" "$FAULT/garbage" "$FAULT/ok"
check_rc 52 "first failing URL's code (52 before 8)"
check_eq "$(cat "$OUT")" "okok" "bodies of the good URLs"

done_testing
