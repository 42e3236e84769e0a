#!/usr/bin/env bash
# The example programs (examples/*.c) against the local httpbin: each seed
# program prints every JSON body in order and then "Done in X.XXXs";
# as_completed prints a line per URL; summer prints the right sum.
# FIXTURES: httpbin
# LABELS: valgrind
# TIMEOUT: 120
set -euo pipefail

port=$(cat "$FL_TEST_RUNDIR/httpbin.port")
base="http://127.0.0.1:$port"
bin="$FL_TEST_BUILDDIR/examples"
read -r -a launcher <<<"${FL_TEST_LAUNCHER:-}"
out=$(mktemp)
trap 'rm -f "$out"' EXIT

fail() {
  echo "FAIL: $*" >&2
  echo "---- output ----" >&2
  cat "$out" >&2
  exit 1
}

run() { # run NAME ARGS...: output in $out, fails on a nonzero exit
  local name=$1
  shift
  [[ -x $bin/$name ]] || fail "$bin/$name not built"
  "${launcher[@]}" "$bin/$name" "$@" >"$out" 2>&1 || fail "$name $* exited with $?"
}

n=12
for prog in seed_serial_new seed_serial_session seed_threads seed_gather fetch_concurrent; do
  run "$prog" "$base" "$n"
  # one JSON body per URL, in order, then the timing line last
  mapfile -t ids < <(grep -o '"url":"[^"]*/get?id=[0-9]*"' "$out" | grep -o '[0-9]*"$' | tr -d '"')
  [[ ${#ids[@]} -eq $n ]] || fail "$prog: ${#ids[@]} bodies, want $n"
  for ((i = 0; i < n; i++)); do
    [[ ${ids[i]} == "$i" ]] || fail "$prog: body $i is for id ${ids[i]}"
  done
  tail -n 1 "$out" | grep -Eq '^Done in [0-9]+\.[0-9]{3}s$' || fail "$prog: no 'Done in X.XXXs' last line"
  echo "ok: $prog"
done

# Defaults: N is 25 when not given.
run seed_gather "$base"
[[ $(grep -c '"url":' "$out") -eq 25 ]] || fail "seed_gather default count is not 25"

run as_completed "$base" 20
[[ $(grep -c ' -> ' "$out") -eq 20 ]] || fail "as_completed: not one line per URL"
grep -q ' -> 200 OK$' "$out" || fail "as_completed: no 200"
grep -q ' -> 404 ' "$out" || fail "as_completed: no 404"
grep -Eq ' -> error FL_ECONN(_REFUSED)?: ' "$out" || fail "as_completed: no refused connection"
grep -q ' -> error FL_EURL_MALFORMAT: ' "$out" || fail "as_completed: no malformed URL"
# the two /delay/1 requests finish after every fast one
tail -n 4 "$out" | head -n 2 | grep -c '/delay/1' | grep -qx 2 || fail "as_completed: delayed ones not last"
grep -qx '20 finished, 4 failed' "$out" || fail "as_completed: summary"
echo "ok: as_completed"

run summer "$base" 40
grep -qx 'Sum: 780 (expected 780)' "$out" || fail "summer: wrong sum"
[[ $(grep -c '^worker [0-3]: 10 numbers' "$out") -eq 4 ]] || fail "summer: workers"
tail -n 1 "$out" | grep -Eq '^Done in [0-9]+\.[0-9]{3}s$' || fail "summer: no timing line"
echo "ok: summer"
