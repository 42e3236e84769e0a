#!/usr/bin/env bash
# Transfer limits beside curl 7.88 (issue 23, group 5): --limit-rate (the
# library's per-request receive and send caps: paced by pausing the socket,
# no busy loop), --max-filesize (63), --speed-limit/--speed-time (28).
# FIXTURES: nginx
# TIMEOUT: 120
source "$(dirname "$0")/lib.sh"
NG=$(server_url nginx)
FILES=$FL_TEST_RUNDIR/nginx.files
start_fault_server

# ---- --limit-rate: the same bytes as curl, at the pace asked for
TIMEFORMAT='%R %U %S'
{ time flurry_plain -s --limit-rate 512k -o "$T/big.flurry" "$NG/files/big.bin"; } 2>"$T/time.txt"
read -r real user sys <"$T/time.txt"
check_rc 0 "--limit-rate 512k: 1 MiB"
curl_too -s --limit-rate 512k -o "$T/big.curl" "$NG/files/big.bin"
check_eq "$RC" "$CRC" "--limit-rate: exit as curl's"
cmp -s "$T/big.flurry" "$FILES/big.bin" && cmp -s "$T/big.curl" "$FILES/big.bin" &&
  pass "--limit-rate: the file is whole (flurry and curl)" || fail "--limit-rate: file differs"
# 1 MiB at 512 KiB/s is due after 2 s (1.5 s past the first 256 KiB): the
# pace is kept; paused, not polling (a second of CPU would be a busy loop)
awk -v r="$real" 'BEGIN { exit !(r >= 1.5) }' && pass "--limit-rate: took ${real}s (>= 1.5)" ||
  fail "--limit-rate 512k: 1 MiB in ${real}s"
awk -v u="$user" -v s="$sys" 'BEGIN { exit !(u + s < 1.0) }' && pass "--limit-rate: CPU ${user}+${sys}s" ||
  fail "--limit-rate: CPU ${user}+${sys}s: busy waiting?"
# a body that fits in one read still ends when its last byte is due
{ time flurry_plain -s --limit-rate 20k "$FAULT/len?n=40000" -o "$T/small.out"; } 2>"$T/time2.txt"
read -r real _ <"$T/time2.txt"
check_eq "$RC:$(wc -c <"$T/small.out")" "0:40000" "--limit-rate 20k: 40000 bytes"
awk -v r="$real" 'BEGIN { exit !(r >= 1.5) }' && pass "--limit-rate: one read still paced (${real}s)" ||
  fail "--limit-rate 20k: 40000 bytes in ${real}s"
same_as_curl "--limit-rate with -w" -s --limit-rate 1M "$NG/files/page.html" -w '%{http_code} %{size_download}\n'
same_as_curl "--limit-rate 0 (no limit)" -s --limit-rate 0 "$NG/files/small.txt"
same_as_curl "--limit-rate bad value" -s --limit-rate 12x "$NG/files/small.txt"
flurry -s --limit-rate 1k -L "$NG/redirect"
check_eq "$RC:$(cat "$OUT")" "0:Hello, World!" "--limit-rate with -L: the final body"

# ---- --limit-rate caps uploads too (curl limits both ways): a streamed
# (-T) and a fixed (--data-binary) body of 40000 bytes at 20 KiB/s take
# about 1.9 s; asserted: at least half of 40000/20480 s, the server got
# every byte (its log), no busy loop, curl's exit code
head -c 40000 /dev/urandom >"$T/up.bin"
for how in -T --data-binary; do
  arg=$T/up.bin
  [[ $how == --data-binary ]] && arg=@$T/up.bin
  { time flurry_plain -s --limit-rate 20k "$how" "$arg" -o /dev/null "$FAULT/ok?k=up$how"; } 2>"$T/time3.txt"
  read -r real user sys <"$T/time3.txt"
  check_rc 0 "--limit-rate 20k $how: 40000 bytes up"
  curl -q -s "$FAULT/_log?k=up$how" | tail -c 40000 | cmp -s - "$T/up.bin" &&
    pass "--limit-rate $how: the server got the whole body" || fail "--limit-rate $how: body differs"
  awk -v r="$real" 'BEGIN { exit !(r >= 0.98) }' && pass "--limit-rate $how: paced (${real}s >= 0.98)" ||
    fail "--limit-rate 20k $how: 40000 bytes sent in ${real}s"
  awk -v u="$user" -v s="$sys" 'BEGIN { exit !(u + s < 1.0) }' &&
    pass "--limit-rate $how: CPU ${user}+${sys}s" || fail "--limit-rate $how: CPU ${user}+${sys}s: busy waiting?"
  curl_too -s --limit-rate 20k "$how" "$arg" -o /dev/null "$FAULT/ok?k=upc$how"
  check_eq "$CRC" "$RC" "--limit-rate $how: exit as curl's"
done

# ---- --max-filesize: 63 on a declared length above it, as curl
same_as_curl "--max-filesize 10, 20 bytes" -s --max-filesize 10 "$FAULT/len?n=20"
same_as_curl "--max-filesize 20, 20 bytes" -s --max-filesize 20 "$FAULT/len?n=20"
same_as_curl "--max-filesize 1k, 2000 bytes" -s --max-filesize 1k "$FAULT/len?n=2000"
same_as_curl "--max-filesize 2k, 3431 bytes" -s --max-filesize 2k -o "$T/mf.html" "$NG/files/page.html"
[[ ! -e $T/mf.html ]] && pass "--max-filesize: no file written (as curl)" || fail "--max-filesize wrote a file"
# Known difference: without a length curl 7.88 does not check at all; flurry
# stops once the body passes the limit (as curl 8.4 and later do).
flurry -s --max-filesize 100 "$NG/chunked"
check_rc 63 "--max-filesize on a chunked body: 63 once past it (curl >= 8.4)"

# ---- --speed-limit / --speed-time: 28 when slower for that long
same_as_curl "-Y 100 -y 2 on 5 bytes/s" -sS -Y 100 -y 2 -o /dev/null "$FAULT/slow-body?n=100&ms=200"
check_contains "$ERR" "Operation too slow" "28's message"
same_as_curl "--speed-limit under the speed" -s --speed-limit 10 --speed-time 1 "$FAULT/len?n=5000" -o /dev/null -w '%{size_download}'
same_as_curl "-y alone (limit 1 byte/s)" -s -y 2 "$FAULT/slow-body?n=10&ms=100"
same_as_curl "-Y bad value" -s -Y x "$FAULT/len?n=5"

done_testing
