#!/usr/bin/env bash
# flurry --retry, --retry-delay, --retry-max-time, --retry-all-errors,
# --retry-connrefused against the fault server's /flaky (it counts the
# attempts per key: /_stats?k=K), each compared with curl 7.88 on the same
# command where a difference could hide. Waits are lower bounds only.
# LABELS: valgrind
# TIMEOUT: 150
source "$(dirname "$0")/lib.sh"
start_fault_server

# requests the fault server saw for key $1
attempts() { curl -q -s "$FAULT/_stats?k=$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])'; }
secs_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }'; }

# ---- statuses: 503 twice, then 200; each attempt's body stays on stdout
flurry -s --retry 2 --retry-delay 0.1 "$FAULT/flaky?k=s1&fail=2" -w ' [%{http_code}]'
check_rc 0 "--retry 2 over two 503s"
check_eq "$(cat "$OUT")" $'fail 1\nfail 2\nok [200]' "each attempt's body on stdout, -w once"
check_eq "$(attempts s1)" 3 "three attempts"
curl_too -s --retry 2 "$FAULT/flaky?k=c1&fail=2" -w ' [%{http_code}]'
check_eq "$(cat "$OUT")" "$(cat "$COUT")" "stdout as curl's"
check_eq "$(attempts c1)" 3 "curl made three attempts too"

flurry --retry 1 --retry-delay 0.1 "$FAULT/flaky?k=s2&fail=5"
check_rc 0 "retries used up: the last 503 is the result (no -f)"
check_eq "$(attempts s2)" 2 "--retry 1: two attempts"
check_contains "$ERR" "Problem : HTTP error. Will retry in 0 seconds. 1 retries left." "curl's warning"
flurry -s --retry 1 --retry-delay 0.1 "$FAULT/flaky?k=s3&fail=5"
check_not_contains "$ERR" "Will retry" "-s hides the warning"

for code in 408 429 500 502 504; do
  flurry -s --retry 1 --retry-delay 0.1 "$FAULT/flaky?k=st$code&fail=1&code=$code"
  check_eq "$(attempts st$code):$(cat "$OUT")" "2:$(printf 'fail 1\nok')" "$code is retried"
done
for code in 404 501; do
  same_as_curl "$code is not retried" -s --retry 2 "$FAULT/flaky?k=n$code{tool}&fail=1&code=$code"
done

# ---- -f: the 503 is exit 22, and retried
flurry -sS -f --retry 2 --retry-delay 0.1 "$FAULT/flaky?k=f1&fail=5"
check_rc 22 "-f --retry 2, always 503"
check_eq "$(attempts f1)" 3 "-f: three attempts"
check_eq "$(grep -c '(22) The requested URL returned error: 503' "$ERR")" 3 "each attempt's error shown (-S)"
flurry -sS -f --retry 2 --retry-delay 0.1 "$FAULT/flaky?k=f2&fail=1"
check_rc 0 "-f --retry: 503 then 200"
check_eq "$(cat "$OUT")" "ok" "-f: the failed attempt wrote nothing"
curl_too -sS -f --retry 2 "$FAULT/flaky?k=f3&fail=1"
check_eq "$RC:$(cat "$OUT")" "$CRC:$(cat "$COUT")" "-f --retry as curl"

# ---- -o FILE: cut back before the next attempt (curl's "Throwing away")
flurry --retry 2 --retry-delay 0.1 -o "$T/r.out" "$FAULT/flaky?k=o1&fail=1"
check_rc 0 "--retry -o"
check_eq "$(cat "$T/r.out")" "ok" "-o holds only the last attempt"
check_contains "$ERR" "throwing away 7 bytes" "-o: the note"
printf 'ABC' >"$T/resume.out"
flurry -s --retry 2 --retry-delay 0.1 -C 3 -o "$T/resume.out" "$FAULT/flaky?k=o2&fail=1&code=503"
check_rc 33 "-C on a server without ranges: 33, not retried"
check_eq "$(attempts o2)" 1 "a 33 is not retried"

# ---- Retry-After: seconds, and an HTTP-date; it replaces the back-off
start=$(date +%s.%N)
flurry -s --retry 1 --retry-delay 0.1 "$FAULT/flaky?k=a1&fail=1&after=2"
s=$(secs_since "$start")
check_eq "$RC:$(attempts a1)" "0:2" "Retry-After: 2 honoured"
awk -v s="$s" 'BEGIN { exit !(s >= 1.9) }' && pass "waited ${s}s >= 2 s" || fail "Retry-After 2: only ${s}s"
date3=$(python3 -c 'import email.utils, time, urllib.parse; print(urllib.parse.quote(email.utils.formatdate(time.time() + 3, usegmt=True)))')
start=$(date +%s.%N)
flurry -s --retry 1 --retry-delay 0.1 "$FAULT/flaky?k=a2&fail=1&after=$date3"
s=$(secs_since "$start")
check_eq "$RC:$(attempts a2)" "0:2" "Retry-After as an HTTP-date"
awk -v s="$s" 'BEGIN { exit !(s >= 1.9) }' && pass "waited ${s}s for the date" || fail "date: only ${s}s"

# ---- --retry-max-time
same_as_curl "Retry-After past --retry-max-time: no retry" \
  --retry 3 --retry-max-time 3 "$FAULT/flaky?k=m1{tool}&fail=5&after=5" -w ' %{http_code}'
check_contains "$ERR" "The Retry-After: time would make this command line exceed the maximum" "its warning"
check_eq "$(attempts m1flurry)" 1 "one attempt"
flurry -s --retry 20 --retry-delay 0.3 --retry-max-time 1 "$FAULT/flaky?k=m2&fail=50"
n=$(attempts m2)
((n >= 2 && n <= 6)) && pass "--retry-max-time 1 stops the retries ($n attempts of 21)" ||
  fail "--retry-max-time 1: $n attempts"

# ---- errors: curl's transient set only
flurry -sS --retry 2 "http://127.0.0.1:1/"
check_rc 7 "refused: not retried without --retry-connrefused"
check_eq "$(grep -c '(7)' "$ERR")" 1 "one attempt"
flurry -sS --retry 2 --retry-connrefused --retry-delay 0.1 "http://127.0.0.1:1/"
check_rc 7 "--retry-connrefused"
check_eq "$(grep -c '(7)' "$ERR")" 3 "three attempts, each failure shown"
same_as_curl "reset: not retried" -s --retry 2 "$FAULT/flaky?k=e1{tool}&fail=1&code=0"
check_eq "$(attempts e1flurry)" 1 "reset: one attempt"
same_as_curl "empty reply: not retried" -s --retry 2 "$FAULT/flaky?k=e2{tool}&fail=1&code=52"
flurry -s --retry 2 --retry-all-errors --retry-delay 0.1 "$FAULT/flaky?k=e3&fail=1&code=52"
check_eq "$RC:$(cat "$OUT"):$(attempts e3)" "0:ok:2" "--retry-all-errors retries an empty reply"
flurry --retry 1 --retry-all-errors --retry-delay 0.1 "$FAULT/flaky?k=e4&fail=1&code=0"
check_contains "$ERR" "Problem (retrying all errors)" "--retry-all-errors: curl's words"
flurry -s -f --retry 1 --retry-all-errors --retry-delay 0.1 "$FAULT/flaky?k=e5&fail=1&code=404"
check_eq "$RC:$(attempts e5)" "0:2" "--retry-all-errors with -f retries a 404"

# -m bounds each attempt, and a timeout is retried. -m 1, not 0.3: both
# attempts must reach the server to be counted, and this test runs under
# valgrind (stage 3) on a loaded machine
flurry -s -m 1 --retry 1 --retry-delay 0.1 "$FAULT/delay?ms=5000&k=t1"
check_rc 28 "-m --retry: both attempts time out"
check_eq "$(attempts t1)" 2 "a timeout is retried"

# ---- uploads: a file is sent again whole; stdin is not
printf 'payload' >"$T/up.txt"
flurry -s --retry 1 --retry-delay 0.1 -T "$T/up.txt" "$FAULT/flaky?k=u1&fail=1"
check_eq "$RC:$(attempts u1)" "0:2" "-T FILE is retried"
check_eq "$(curl -q -s "$FAULT/_log?k=u1" | grep -c '^payload')" 2 "each attempt sends the whole file"
printf 'payload' | flurry -s --retry 2 --retry-delay 0.1 -T - "$FAULT/flaky?k=u2&fail=1"
check_eq "$RC:$(attempts u2)" "0:1" "-T - is not retried (stdin is gone)"

# ---- several URLs: each its own retries
flurry -s --retry 1 --retry-delay 0.1 -w '%{urlnum}:%{http_code} ' -o /dev/null -o /dev/null \
  "$FAULT/flaky?k=p1&fail=1" "$FAULT/flaky?k=p2&fail=0"
check_eq "$(tr ' ' '\n' <"$OUT" | grep . | sort | tr '\n' ' ')" "0:200 1:200 " "two URLs, one retried"

# usage
flurry --retry x "$FAULT/ok"
check_rc 2 "--retry x"
flurry --retry-delay -1 "$FAULT/ok"
check_rc 2 "--retry-delay -1"

done_testing
