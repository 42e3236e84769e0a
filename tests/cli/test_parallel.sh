#!/usr/bin/env bash
# flurry with many URLs: stdout in command-line order whatever finishes
# first, the exit code of the first failing URL, --parallel-max (200 in
# flight at once), the 200 x /delay/1 timing target, and the progress meter
# on a terminal.
# FIXTURES: httpbin
# TIMEOUT: 120
source "$(dirname "$0")/lib.sh"
HB=$(server_url httpbin)
start_fault_server

# ---- order: the slow first URL's body still comes first
flurry -s "$HB/delay/1?n=first" "$HB/get?n=second" "$HB/get?n=third"
check_rc 0 "three URLs"
order=$(grep -o '"n":"[a-z]*"' "$OUT" | tr '\n' ' ')
check_eq "$order" '"n":"first" "n":"second" "n":"third" ' "bodies in command-line order"
python3 -c '
import json, sys
dec, text, pos, n = json.JSONDecoder(), open(sys.argv[1]).read(), 0, 0
while pos < len(text):
    obj, pos = dec.raw_decode(text, pos)
    while pos < len(text) and text[pos].isspace(): pos += 1
    n += 1
assert n == 3, n' "$OUT" && pass "bodies are whole, not interleaved" || fail "interleaved bodies"
# -w of transfers writing to files: as each completes (the issue's script
# reading progress); of transfers writing to stdout: after their body
flurry -s -w '%{url}\n' -o /dev/null -o /dev/null "$HB/delay/1?n=1" "$HB/get?n=2"
check_eq "$(tr '\n' ' ' <"$OUT")" "$HB/get?n=2 $HB/delay/1?n=1 " "-w lines as the transfers complete"
flurry -s -w '[%{url}]' "$HB/delay/1?n=1" "$HB/get?n=2"
check_eq "$(grep -o '\[[^]]*\]' "$OUT" | tr '\n' ' ')" "[$HB/delay/1?n=1] [$HB/get?n=2] " \
  "-w after each body on stdout, in command-line order"
python3 -c '
import sys
t = open(sys.argv[1]).read()
a = t.index("[%s]" % sys.argv[2]); b = t.index(sys.argv[3])
assert a < b, (a, b)' "$OUT" "$HB/delay/1?n=1" '"n":"2"' && pass "a -w text comes right after its own body" ||
  fail "-w text not after its body"
# a file-bound slow transfer does not hold up the stdout ones
flurry -s -w '[%{url}]\n' -o /dev/null "$HB/delay/1?n=1" "$HB/get?n=2"
check_eq "$(grep -o '^\[[^]]*\]' "$OUT" | head -1)" "[$HB/get?n=2]" "a body on stdout does not wait for a file-bound transfer"

# ---- exit code of the first failing URL in command-line order
flurry -s -f "$HB/get" "$HB/delay/1" "$HB/status/404" "http://127.0.0.1:1/"
check_rc 22 "22 (3rd URL) before 7 (4th), though 7 comes first in time"
flurry -s "http://127.0.0.1:1/" "$HB/delay/1" "ftp://x/"
check_rc 7 "7 (1st) before 1 (3rd)"
flurry -sS "$HB/get" "$FAULT/empty" "$HB/get"
check_rc 52 "a failure in the middle"
check_eq "$(grep -c '"url"' "$OUT")" "2" "the other bodies are written"
check_contains "$ERR" "$FAULT/empty" "the error names its URL"

# ---- --parallel-max bounds concurrency (lower bounds only: timing-safe)
start=$(date +%s.%N)
flurry_plain -s --parallel-max 1 "$FAULT/delay?ms=300" "$FAULT/delay?ms=300" "$FAULT/delay?ms=300" \
  "$FAULT/delay?ms=300"
secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
check_rc 0 "--parallel-max 1"
check_eq "$(cat "$OUT")" "okokokok" "--parallel-max 1 bodies"
awk -v s="$secs" 'BEGIN { exit !(s >= 1.2) }' && pass "--parallel-max 1 runs one at a time (${secs}s)" ||
  fail "--parallel-max 1 took only ${secs}s"

# ---- --parallel-max 200: 200 transfers in flight at once. The fault
# server's /gate answers none of the 200 before all 200 wait there (503
# after 30 s otherwise): concurrency proved without a clock, which on a
# loaded CI machine (ASan, ctest -j, httpbin shared with other tests) says
# little.
for ((i = 0; i < 200; i++)); do echo "$FAULT/gate?k=p200&n=200&i=$i"; done >"$T/gate_urls"
flurry_plain -s --parallel-max 200 --url-file "$T/gate_urls" -w '%{http_code}\n'
check_rc 0 "200 URLs at a gate of 200"
check_eq "$(grep -c '^ok200$' "$OUT")" "200" "--parallel-max 200: all 200 waited at the gate together"

# ---- 200 x /delay/1 with --parallel-max 200 (the timing target, printed;
# the bound only rules out a few at a time: 200 one by one take 200 s)
for ((i = 0; i < 200; i++)); do echo "$HB/delay/1?i=$i"; done >"$T/urls"
start=$(date +%s.%N)
flurry_plain -s --parallel-max 200 --url-file "$T/urls" -w '%{http_code}\n'
secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
check_rc 0 "200 x /delay/1"
check_eq "$(grep -c '^200$' "$OUT")" "200" "200 responses"
echo "timing: 200 x /delay/1 with --parallel-max 200: ${secs}s"
awk -v s="$secs" 'BEGIN { exit !(s < 30) }' && pass "200 x /delay/1 in ${secs}s (< 30 s)" || fail "took ${secs}s"

# ---- progress meter: only on a terminal, only with several URLs, not with -s
if command -v script >/dev/null; then
  cmd="$FL_CLI -o /dev/null -o /dev/null -o /dev/null $FAULT/delay?ms=600 $FAULT/ok $FAULT/empty"
  script -qec "$cmd" /dev/null >"$T/tty.out" 2>&1 </dev/null || true
  check_contains "$T/tty.out" "[3/3] 1 failed" "meter on a terminal: done/total and failures"
  check_contains "$T/tty.out" "/s" "meter shows a rate"
  script -qec "$FL_CLI -s -o /dev/null -o /dev/null $FAULT/delay?ms=600 $FAULT/ok" /dev/null \
    >"$T/tty2.out" 2>&1 </dev/null || true
  check_not_contains "$T/tty2.out" "[2/2]" "no meter with -s"
  script -qec "$FL_CLI -o /dev/null $FAULT/delay?ms=600" /dev/null >"$T/tty3.out" 2>&1 </dev/null || true
  check_not_contains "$T/tty3.out" "[1/1]" "no meter for one URL"
  flurry -o /dev/null -o /dev/null "$FAULT/delay?ms=600" "$FAULT/ok"
  check_not_contains "$ERR" "[2/2]" "no meter when stderr is not a terminal"
fi

done_testing
