#!/usr/bin/env bash
# flurry against nginx: -o/-O, big bodies, --max-filesize, -f, write errors
# (23), --resolve, IPv6, --url-file with 1,000 URLs, -o order.
# FIXTURES: nginx
# TIMEOUT: 120
source "$(dirname "$0")/lib.sh"
NG=$(server_url nginx)
PORT=${NG##*:}
FILES=$FL_TEST_RUNDIR/nginx.files

flurry "$NG/hello"
check_rc 0 "GET /hello"
check_eq "$(cat "$OUT")" "Hello, World!" "/hello body"

# ---- -o, -O
flurry -o "$T/hello.txt" "$NG/hello"
check_rc 0 "-o"
check_eq "$(cat "$T/hello.txt")" "Hello, World!" "-o writes the file"
check_eq "$(wc -c <"$OUT")" "0" "-o: nothing on stdout"
flurry -O "$NG/files/small.txt?x=1"
check_rc 0 "-O"
check_eq "$(cat "$T/small.txt")" "small file" "-O names the file after the URL path"
flurry -O "$NG/files/"
check_rc 23 "-O without a file name"
flurry -o "$T/empty.out" "$NG/files/empty.txt"
check_rc 0 "-o with an empty body"
[[ -f $T/empty.out && ! -s $T/empty.out ]] && pass "empty body makes an empty file" || fail "no empty file"
flurry -o "$T/none.out" "$NG/status/204"
check_rc 0 "204"
[[ -f $T/none.out ]] && pass "204 creates the -o file" || fail "204: no -o file"
flurry -o "$T/no/such/dir/x" "$NG/hello"
check_rc 23 "-o into a missing directory"
check_contains "$ERR" "(23)" "write error message"
flurry -o "$T/a.out" "$NG/hello" "$NG/files/small.txt" -o "$T/b.out" "$NG/get"
check_rc 0 "-o for two of three URLs"
check_eq "$(cat "$T/a.out")|$(cat "$T/b.out")" "Hello, World!|small file" "-o files go to URLs in order"
check_contains "$OUT" '"X-Fixture": "nginx"' "the URL without -o writes to stdout"

# ---- big bodies
flurry -o "$T/big.bin" "$NG/files/big.bin"
check_rc 0 "1 MiB to a file"
cmp -s "$T/big.bin" "$FILES/big.bin" && pass "1 MiB file identical" || fail "big.bin differs"
flurry "$NG/files/big.bin"
cmp -s "$OUT" "$FILES/big.bin" && pass "1 MiB on stdout identical" || fail "big.bin on stdout differs"
flurry -w '%{size_download}' -o /dev/null "$NG/files/big.bin"
check_eq "$(cat "$OUT")" "1048576" "%{size_download} of 1 MiB"

# ---- --max-filesize
flurry --max-filesize 1000 -o "$T/mf.bin" "$NG/files/big.bin"
check_rc 63 "--max-filesize below Content-Length"
[[ ! -s $T/mf.bin ]] && pass "nothing written past --max-filesize" || fail "mf.bin has data"
flurry --max-filesize 1M -o /dev/null "$NG/files/big.bin"
check_rc 0 "--max-filesize 1M == size"
flurry --max-filesize 1048575 -o /dev/null "$NG/files/big.bin"
check_rc 63 "--max-filesize one byte short"
flurry --max-filesize 100 "$NG/chunked"
check_rc 63 "--max-filesize on a chunked body (no length)"
[[ $(wc -c <"$OUT") -le 100 ]] && pass "at most 100 bytes written" || fail "wrote $(wc -c <"$OUT") bytes"
flurry --max-filesize 10000 -o /dev/null "$NG/chunked"
check_rc 0 "--max-filesize above a chunked body"

# ---- -f
flurry -f "$NG/status/404"
check_rc 22 "-f on 404"
flurry -f "$NG/status/500"
check_rc 22 "-f on 500"
flurry "$NG/status/500"
check_rc 0 "500 without -f"
check_eq "$(cat "$OUT")" "server error" "500 body without -f"

# ---- stdout closed early: write error 23
rc=0
"${FL_LAUNCH[@]}" "$FL_CLI" -s "$NG/files/big.bin" 2>"$ERR" | head -c 10 >/dev/null || true
rc=${PIPESTATUS[0]}
RC=$rc
check_rc 23 "stdout closed while writing"

# stdout closed with many URLs queued: one message, exit 23, no hang
for ((i = 0; i < 300; i++)); do echo "$NG/files/page.html"; done >"$T/many.txt"
"${FL_LAUNCH[@]}" "$FL_CLI" --url-file "$T/many.txt" 2>"$ERR" | head -c 100 >/dev/null || true
RC=${PIPESTATUS[0]}
check_rc 23 "stdout closed with 300 URLs"
check_eq "$(grep -c '(23)' "$ERR")" "1" "one write error message"

# ---- held output past 64 MiB goes to a temporary file, still in order
start_fault_server
urls=("$FAULT/delay?ms=1500")
for ((i = 0; i < 66; i++)); do urls+=("$NG/files/big.bin"); done
flurry_plain -s "${urls[@]}"
check_rc 0 "slow first URL, then 66 MiB"
want=$( (printf ok; for ((i = 0; i < 66; i++)); do cat "$FILES/big.bin"; done) | sha256sum)
check_eq "$(sha256sum <"$OUT")" "$want" "66 MiB held (memory, then a temporary file) and written in order"

# ---- --resolve: a made-up name
flurry --resolve "made.up.test:$PORT:127.0.0.1" "http://made.up.test:$PORT/get"
check_rc 0 "--resolve"
check_eq "$(json_get "$OUT" headers.Host)" "made.up.test:$PORT" "--resolve keeps the Host"
flurry --resolve "made.up.test:1:127.0.0.1" "http://made.up.test:$PORT/get" -s -m 5 \
  --dns-servers 127.0.0.1:1
[[ $RC != 0 ]] && pass "--resolve only covers its port (exit $RC)" || fail "--resolve matched another port"

# ---- IPv6 literal (nginx listens on ::1 when the kernel has it)
if python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
  flurry "http://[::1]:$PORT/hello" -w ' %{remote_ip}'
  check_rc 0 "IPv6 literal"
  check_eq "$(cat "$OUT")" "Hello, World! ::1" "IPv6 body and %{remote_ip}"
fi

# ---- -I
flurry -I "$NG/files/small.txt"
check_rc 0 "-I"
check_contains "$OUT" "Content-Length: 11" "-I shows Content-Length"
check_not_contains "$OUT" "small file" "-I: no body"

# ---- --url-file with 1,000 URLs: every body, in order, -w per transfer
for ((i = 0; i < 1000; i++)); do echo "$NG/get?i=$i"; done >"$T/urls.txt"
{ echo "# comment"; echo; } >>"$T/urls.txt"
flurry -s --url-file "$T/urls.txt" -w '%{json}\n'
check_rc 0 "--url-file with 1,000 URLs"
python3 - "$OUT" >"$T/order.txt" <<'PY'
import json, sys, re
text = open(sys.argv[1]).read()
dec = json.JSONDecoder()
i, pos, bodies, meta = 0, 0, [], []
while pos < len(text):
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos >= len(text):
        break
    obj, pos = dec.raw_decode(text, pos)
    (meta if "http_code" in obj else bodies).append(obj)
ids = [int(re.search(r"i=(\d+)", b["url"]).group(1)) for b in bodies]
ok = ids == list(range(1000)) and len(meta) == 1000 and \
     all(m["http_code"] == 200 and m["urlnum"] == n for n, m in enumerate(meta))
print("ordered" if ok else "bad: %d bodies, %d json, first ids %s" % (len(bodies), len(meta), ids[:10]))
PY
check_eq "$(cat "$T/order.txt")" "ordered" "1,000 bodies and -w lines in command-line order"
head -n 3 "$T/urls.txt" | "${FL_LAUNCH[@]}" "$FL_CLI" -s --url-file - -o /dev/null -o /dev/null -o /dev/null -w '%{http_code}\n' >"$OUT"
check_eq "$(tr '\n' ' ' <"$OUT")" "200 200 200 " "--url-file - reads stdin"

done_testing
