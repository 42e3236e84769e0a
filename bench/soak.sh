#!/usr/bin/env bash
# Soak: many keep-alive requests from one fl_client to a local nginx, with
# the client's RSS and open descriptors sampled every second.
#
#   bench/soak.sh [--requests N] [--tls-requests N] [--h2-requests N]
#                 [--connections C] [--no-plain] [--no-tls] [--no-h2]
#                 [--out FILE]
#
# Defaults: 1,000,000 plain requests and 100,000 over TLS (nginx_tls, the
# test CA), 16 in flight; then HTTP/2: 100,000 requests over TLS (ALPN h2)
# to nghttpd (the nghttpd fixture; nginx would end the connection after its
# keepalive_requests), 16 streams in flight on ONE connection for the whole
# run, every 10th completion cancelling another request wherever it is
# (queued, its stream open, its body arriving). The client is bench/soak_client.c (public API
# only), built here against a Release libflurry.a; nginx (one worker) is
# pinned to CPU 0 and the client to CPU 1; each run holds
# /tmp/flurry-bench.lock. Fails (exit 1) if a request fails or gets a wrong
# response (h2: not HTTP/2, or more than one connection), if RSS grows more than 5% from 10% of the run to its end (the
# client's own figures at 10% and 100% of the requests, and every sample
# taken after the 10% mark), or if the descriptors do not return to the
# baseline after the client is freed. Writes the report to FILE (default
# bench/results/soak.md) and prints it.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

command="bench/soak.sh${*:+ $*}"
requests=1000000 tls_requests=100000 h2_requests=100000 conns=16 plain=1 tls=1 h2=1
out=bench/results/soak.md
while (($#)); do
  case $1 in
    --requests) requests=$2; shift ;;
    --tls-requests) tls_requests=$2; shift ;;
    --h2-requests) h2_requests=$2; shift ;;
    --connections) conns=$2; shift ;;
    --no-plain) plain=0 ;;
    --no-tls) tls=0 ;;
    --no-h2) h2=0 ;;
    --out) out=$2; shift ;;
    -h | --help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

bash scripts/bootstrap --bench >&2
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j2 --target flurry_static >/dev/null
client=build-bench/soak_client
# The static library's dependencies, as its pkg-config file lists them.
deps=$(sed -n 's/^Requires.private: *//p' build-bench/flurry.pc)
# shellcheck disable=SC2046,SC2086
cc -O2 -g -Wall -Wextra -Iinclude bench/soak_client.c build-bench/libflurry.a \
  $(pkg-config --libs $deps) -pthread -o "$client"

rundir=$(mktemp -d /tmp/flurry-soak.XXXXXX)
cleanup() {
  tests/servers/stop nginx "$rundir" >/dev/null 2>&1 || true
  tests/servers/stop nginx_tls "$rundir" >/dev/null 2>&1 || true
  tests/servers/stop nghttpd "$rundir" >/dev/null 2>&1 || true
  rm -rf "$rundir"
}
trap cleanup EXIT
pin_nginx() {
  local pid
  for pid in $(pgrep -f "(nginx|nghttpd).*$rundir" || true); do taskset -a -p -c 0 "$pid" >/dev/null || true; done
}

report=$rundir/report.md
failed=0
{
  echo "# Soak"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -sr); flurry $(git describe --always --dirty 2>/dev/null || echo '?')"
  echo "Command: $command (requests $requests, TLS $tls_requests, h2 $h2_requests, $conns in flight)"
  echo
} >"$report"

# soak NAME URL REQUESTS [client options...]
soak() {
  local name=$1 url=$2 n=$3
  shift 3
  local log=$rundir/$name.out samples=$rundir/$name.samples
  : >"$samples"
  flock /tmp/flurry-bench.lock bash -c '
    taskset -c 1 "$@" &
    pid=$!
    echo "$pid" >"$0.pid"
    wait "$pid"' "$log" "$client" -c "$conns" -n "$n" "$@" "$url" >"$log" 2>&1 &
  local runner=$! pid="" t0=$SECONDS
  # the client's pid once it runs (the lock may make it wait)
  while [[ -z $pid ]] && kill -0 "$runner" 2>/dev/null; do
    pid=$(cat "$log.pid" 2>/dev/null || true)
    sleep 0.1
  done
  # one sample a second: seconds, RSS (kB), descriptors, requests done
  while [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; do
    local rss fds done_
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l || true)
    done_=$(awk '/^progress/ {d = $2} END {print d + 0}' "$log")
    [[ -n $rss ]] && echo "$((SECONDS - t0)) $rss $fds $done_" >>"$samples"
    sleep 1
  done
  local rc=0
  wait "$runner" || rc=$?
  python3 - "$name" "$n" "$log" "$samples" "$rc" >>"$report" <<'PY' || failed=1
import sys
name, n, log, samples, rc = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
lines = open(log).read().split("\n")
prog = [tuple(int(x) for x in l.split()[1:5]) for l in lines if l.startswith("progress ")]
base = next((l.split()[1:3] for l in lines if l.startswith("baseline ")), None)
after = next((l.split()[1:3] for l in lines if l.startswith("after ")), None)
errs = next((l for l in lines if l.startswith("errors ")), "errors ?")
rows = [tuple(int(x) for x in l.split()) for l in open(samples) if l.strip()]
def at(frac):
    want = n * frac
    return next((p for p in prog if p[0] >= want), prog[-1] if prog else None)
start, mid, end = at(0.10), at(0.50), at(1.0)
problems = []
if rc != 0:
    problems.append("the client exited %d (%s)" % (rc, errs))
if not (start and end and base and after):
    problems.append("missing figures in the client's output")
else:
    growth = (end[2] - start[2]) / start[2] * 100
    late = [r for r in rows if r[3] >= n * 0.10]
    worst = max([r[1] for r in late] + [end[2]])
    worst_growth = (worst - start[2]) / start[2] * 100
    if growth > 5 or worst_growth > 5:
        problems.append("RSS grew %.1f%% (worst sample %.1f%%) after 10%% of the run" % (growth, worst_growth))
    if int(after[0]) != int(base[0]):
        problems.append("descriptors: %s at the baseline, %s after" % (base[0], after[0]))
    if rows and rows[-1][2] != rows[0][2]:
        problems.append("sampled descriptors: %d first, %d last" % (rows[0][2], rows[-1][2]))
print("## %s: %d requests" % (name, n))
print()
print("| point | requests done | RSS (kB) | open fds |")
print("|---|---|---|---|")
if base:
    print("| baseline (before the client) | 0 | %s | %s |" % (base[1], base[0]))
for label, p in (("start (10%)", start), ("middle (50%)", mid), ("end (100%)", end)):
    if p:
        print("| %s | %d | %d | %d |" % (label, p[0], p[2], p[3]))
if after:
    print("| after (client freed) | %d | %s | %s |" % (end[0] if end else 0, after[1], after[0]))
print()
if rows:
    dur = rows[-1][0] - rows[0][0]
    print("%d samples, one a second over %d s: RSS %d-%d kB, fds %d-%d. %s."
          % (len(rows), dur, min(r[1] for r in rows), max(r[1] for r in rows),
             min(r[2] for r in rows), max(r[2] for r in rows), errs))
if start and end:
    print("RSS from 10%% to the end: %+.2f%% (limit +5%%)." % ((end[2] - start[2]) / start[2] * 100))
print()
print("**%s**%s" % ("FAIL" if problems else "PASS", (": " + "; ".join(problems)) if problems else ""))
print()
sys.exit(1 if problems else 0)
PY
}

if ((plain)); then
  tests/servers/start nginx "$rundir" >/dev/null
  pin_nginx
  soak plain "http://127.0.0.1:$(cat "$rundir/nginx.port")/hello" "$requests"
  tests/servers/stop nginx "$rundir" >/dev/null 2>&1 || true
fi
if ((tls)); then
  tests/servers/start nginx_tls "$rundir" >/dev/null
  pin_nginx
  soak tls "https://127.0.0.1:$(cat "$rundir/nginx_tls.port")/hello" "$tls_requests" \
    --cacert "$rundir/nginx_tls/ca.pem"
  tests/servers/stop nginx_tls "$rundir" >/dev/null 2>&1 || true
fi

if ((h2)); then
  tests/servers/start nghttpd "$rundir" >/dev/null
  pin_nginx
  soak h2 "https://127.0.0.1:$(cat "$rundir/nghttpd.port")/small.txt" "$h2_requests" \
    --cacert "$rundir/nghttpd/ca.pem" --h2 --cancel-every 10
  tests/servers/stop nghttpd "$rundir" >/dev/null 2>&1 || true
fi

mkdir -p "$(dirname "$out")"
cp "$report" "$out"
cat "$out"
if ((failed)); then
  echo "soak: FAILED" >&2
  exit 1
fi
echo "soak: passed" >&2
