#!/usr/bin/env bash
# flurry-bench (bench/flurry_bench) against the nginx fixture: wrk's output
# line shapes, -n, --json, error counting, -R, and the refusals.
# FIXTURES: nginx
# TIMEOUT: 180
set -euo pipefail

bench=${FL_BENCH:?FL_BENCH is not set (bench/flurry_bench/CMakeLists.txt sets it)}
read -r -a launcher <<<"${FL_TEST_LAUNCHER:-}"
port=$(cat "$FL_TEST_RUNDIR/nginx.port")
url=http://127.0.0.1:$port/hello
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
  echo "FAIL: $*" >&2
  for f in "$tmp"/*.out "$tmp"/*.err; do
    [[ -s $f ]] && { echo "---- $f" >&2; cat "$f" >&2; }
  done
  exit 1
}
fb() { "${launcher[@]}" "$bench" "$@"; }
# json FILE PYTHON-EXPR: evaluate EXPR with d = the parsed JSON; print it.
json() { python3 -c "import json, sys; d = json.load(open(sys.argv[1])); print($2)" "$1"; }

# Line shape: numbers (with their units) become N, runs of blanks one blank.
shape() {
  sed -E -e 's#(https?://)[^ ]+#URL#' \
    -e 's/[0-9]+(\.[0-9]+)?(us|ms|s|m|h|k|M|G|T|K|B|KB|MB|GB|TB|%)?/N/g' \
    -e 's/[ \t]+/ /g' "$1"
}

# ---- 1. a 1 s run at -c 8: wrk's lines, a rate, no errors
fb -t 2 -c 8 -d 1s --latency "$url" >"$tmp/run.out" 2>"$tmp/run.err" || fail "run exited $?"
expect=(
  '^Running 1s test @ http://127\.0\.0\.1:[0-9]+/hello$'
  '^  2 threads and 8 connections$'
  '^  Thread Stats   Avg      Stdev     Max   \+/- Stdev$'
  '^    Latency +[0-9.]+(us|ms|s) +[0-9.]+(us|ms|s) +[0-9.]+(us|ms|s) +[0-9.]+%$'
  '^    Req/Sec +[0-9.]+[kMG]? +[0-9.]+[kMG]? +[0-9.]+[kMG]? +[0-9.]+%$'
  '^  Latency Distribution$'
  '^     50% +[0-9.]+(us|ms|s)$'
  '^     75% +[0-9.]+(us|ms|s)$'
  '^     90% +[0-9.]+(us|ms|s)$'
  '^     99% +[0-9.]+(us|ms|s)$'
  '^  [0-9]+ requests in [0-9.]+(us|ms|s), [0-9.]+[KMGT]?B read$'
  '^Requests/sec: +[0-9]+\.[0-9]{2}$'
  '^Transfer/sec: +[0-9.]+[KMGT]?B$'
)
mapfile -t lines <"$tmp/run.out"
((${#lines[@]} == ${#expect[@]})) || fail "expected ${#expect[@]} lines, got ${#lines[@]}"
for i in "${!expect[@]}"; do
  [[ ${lines[i]} =~ ${expect[i]} ]] || fail "line $((i + 1)) '${lines[i]}' does not match /${expect[i]}/"
done
rps=$(awk '/^Requests\/sec:/ {print $2}' "$tmp/run.out")
awk -v r="$rps" 'BEGIN {exit !(r > 0)}' || fail "Requests/sec is $rps"
! grep -qE 'Socket errors|Non-2xx|^Errors' "$tmp/run.out" || fail "errors in a clean run"
# Fixed-width columns exactly as wrk's (header line is byte-identical above).
awk '/^    (Latency|Req\/Sec)/ && length($0) != 50 {exit 1}' "$tmp/run.out" ||
  fail "stats rows are not 50 columns wide"

# Same shapes as real wrk's output, line by line, when wrk is installed.
if command -v wrk >/dev/null; then
  wrk -t 2 -c 8 -d 1s --latency "$url" >"$tmp/wrk.out" 2>&1 || fail "wrk exited $?"
  diff <(shape "$tmp/wrk.out") <(shape "$tmp/run.out") >"$tmp/shape.diff" ||
    fail "line shapes differ from wrk's: $(cat "$tmp/shape.diff")"
else
  echo "wrk not installed: shape comparison with wrk skipped"
fi

# ---- 2. -n 1000 does exactly 1000 requests; --json is one JSON object
fb -t 2 -c 8 -n 1000 --json "$url" >"$tmp/n.out" 2>"$tmp/n.err" || fail "-n run exited $?"
[[ $(json "$tmp/n.out" "d['requests']") == 1000 ]] || fail "-n 1000 did $(json "$tmp/n.out" "d['requests']")"
[[ $(json "$tmp/n.out" "d['errors']['total']") == 0 ]] || fail "-n 1000 had errors"
[[ $(json "$tmp/n.out" "d['latency_us']['samples']") == 1000 ]] || fail "latency samples != 1000"
[[ $(json "$tmp/n.out" "d['bytes'] > 13000 and d['latency_us']['p99'] >= d['latency_us']['p50'] > 0") == True ]] ||
  fail "implausible byte count or percentiles"
# Default text output also stops at exactly N.
fb -t 1 -c 3 -n 10 "$url" >"$tmp/n10.out" 2>"$tmp/n10.err" || fail "-n 10 exited $?"
grep -qE '^  10 requests in ' "$tmp/n10.out" || fail "-n 10 (text) did not report 10 requests"
grep -q '^Running 10 requests test @ ' "$tmp/n10.out" || fail "-n without -d: no 'Running N requests' line"

# ---- 3. status errors: 404s are responses counted as Non-2xx
fb -t 1 -c 2 -n 50 "http://127.0.0.1:$port/status/404" >"$tmp/404.out" 2>"$tmp/404.err" || fail "404 run exited $?"
grep -qE '^  Non-2xx or 3xx responses: 50$' "$tmp/404.out" || fail "404s not counted"
grep -qE '^Errors: 50 \(see above\)$' <(tail -n 1 "$tmp/404.out") || fail "last line does not report the errors"

# ---- 4. a refused port: connect errors, said so on the last line
fb -t 1 -c 2 -d 500ms http://127.0.0.1:1/ >"$tmp/refused.out" 2>"$tmp/refused.err" || fail "refused run exited $?"
grep -qE '^  Socket errors: connect [1-9][0-9]*, read 0, write 0, timeout 0$' "$tmp/refused.out" ||
  fail "connect errors not counted"
tail -n 1 "$tmp/refused.out" | grep -qE '^Errors: [1-9][0-9]* \(see above\)$' || fail "last line is not 'Errors: N'"
grep -q 'refused' "$tmp/refused.err" || fail "no first-error detail on stderr"
fb -t 1 -c 2 -d 300ms --json http://127.0.0.1:1/ >"$tmp/refused_json.out" 2>/dev/null || fail "refused --json exited $?"
[[ $(json "$tmp/refused_json.out" "d['errors']['connect'] > 0 and d['requests'] == 0") == True ]] ||
  fail "--json connect errors"

# ---- 5. -R 200 for 2 s: about 400 requests, latency from the schedule
fb -t 2 -c 8 -R 200 -d 2s --json "$url" >"$tmp/rate.out" 2>"$tmp/rate.err" || fail "-R run exited $?"
n=$(json "$tmp/rate.out" "d['requests']")
# Not above the schedule (+20%); below it by at most 30%, as a loaded CI
# machine's late wake-ups lose some of the last ones (half the rate: 200)
((n >= 280 && n <= 480)) || fail "-R 200 -d 2s did $n requests (want 400, -30% +20%)"
[[ $(json "$tmp/rate.out" "d['rate'] == 200 and d['errors']['total'] == 0") == True ]] || fail "-R json"

# ---- 6. --warmup is not measured; --timeout against a server that never answers
# (runtime 0.5 s without the warmup, 1.5 s with it: the upper bound leaves
# a loaded machine 0.8 s of lateness; a 300 ms warmup left it 0.3 s)
fb -t 1 -c 2 -d 500ms --warmup 1s --json "$url" >"$tmp/warm.out" 2>"$tmp/warm.err" || fail "--warmup exited $?"
[[ $(json "$tmp/warm.out" "0.4 < d['runtime_s'] < 1.3 and d['requests'] > 0") == True ]] ||
  fail "--warmup: runtime $(json "$tmp/warm.out" "d['runtime_s']")"
# A listener that accepts and stays silent (killed by the trap; 20 s at most).
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
held, end = [], time.time() + 20
s.settimeout(0.2)
while time.time() < end:
    try: held.append(s.accept()[0])
    except socket.timeout: pass
' "$tmp/silent.port" &
silent_pid=$!
trap 'kill $silent_pid 2>/dev/null; rm -rf "$tmp"' EXIT
for ((i = 0; i < 200; i++)); do [[ -s $tmp/silent.port ]] && break; sleep 0.1; done
[[ -s $tmp/silent.port ]] || fail "silent server did not start"
fb -t 1 -c 2 -d 1s --timeout 200ms --json "http://127.0.0.1:$(cat "$tmp/silent.port")/" \
  >"$tmp/timeout.out" 2>"$tmp/timeout.err" || fail "--timeout exited $?"
[[ $(json "$tmp/timeout.out" "d['errors']['timeout'] >= 4 and d['requests'] == 0") == True ]] ||
  fail "--timeout 200ms: $(json "$tmp/timeout.out" "d['errors']")"

# ---- 7. pipelining: exactly -n requests, no errors, over -c connections
fb -t 1 -c 2 -n 2000 --pipeline 4 --json "$url" >"$tmp/pipe.out" 2>"$tmp/pipe.err" ||
  fail "--pipeline 4 failed: $(cat "$tmp/pipe.err")"
[[ $(json "$tmp/pipe.out" "d['requests'] == 2000 and d['errors']['total'] == 0") == True ]] ||
  fail "--pipeline 4 -n 2000: $(cat "$tmp/pipe.out")"

# ---- 8. the request on the wire is wrk's: request line, Host, then the -H
# headers (no User-Agent or Accept of the library's), so the server does the
# same work for both tools. The fault server records what it received.
python3 "${FL_TEST_SRCDIR:?}/support/fault_server.py" --port-file "$tmp/fault.port" 2>"$tmp/fault.err" &
fault_pid=$!
trap 'kill $silent_pid $fault_pid 2>/dev/null; rm -rf "$tmp"' EXIT
for ((i = 0; i < 200; i++)); do [[ -s $tmp/fault.port ]] && break; sleep 0.1; done
[[ -s $tmp/fault.port ]] || fail "fault server did not start"
fport=$(cat "$tmp/fault.port")
fb -t 1 -c 1 -n 2 -H 'X-Test: 1' --json "http://127.0.0.1:$fport/echo?k=wire" >"$tmp/wire.out" 2>"$tmp/wire.err" ||
  fail "run against the fault server exited $?"
python3 - "$fport" <<'PY' || fail "the request on the wire is not wrk's"
import sys, urllib.request
port = sys.argv[1]
log = urllib.request.urlopen("http://127.0.0.1:%s/_log?k=wire" % port, timeout=5).read()
want = b"GET /echo?k=wire HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nX-Test: 1\r\n\r\n" % port.encode()
got = log.split(b"\n----\n")
if got != [want, want]:
    sys.exit("got %r, want 2 x %r" % (got, want))
PY

# ---- 9. refusals: bad options, bad URL
for args in "-c 1 -t 2 $url" "-d 1x $url" "-n 0 $url" "-c 2" "-t 1 -c 2 -d 1s not-a-url"; do
  # shellcheck disable=SC2086
  if fb $args >"$tmp/bad.out" 2>"$tmp/bad.err"; then fail "accepted bad arguments: $args"; fi
  grep -q 'Usage: flurry-bench' "$tmp/bad.err" || fail "no usage for: $args"
done
rm -f "$tmp"/bad.*
echo ok
