#!/usr/bin/env bash
# Keep-alive throughput of the plain library (fl_load: a plain fl_client loop,
# one thread) against wrk, same nginx, same run. nginx (one worker) is pinned
# to CPU 0, the clients to CPU 1. Runs alternate; medians reported.
#   bench/core_vs_wrk.sh [--runs N] [--requests N] [--connections N]
# Writes bench/results/core_vs_wrk.md.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
runs=5 requests=100000 conns=64
while (($#)); do
  case $1 in
    --runs) runs=$2; shift ;;
    --requests) requests=$2; shift ;;
    --connections) conns=$2; shift ;;
    *) echo "usage: $0 [--runs N] [--requests N] [--connections N]" >&2; exit 2 ;;
  esac
  shift
done

bash scripts/bootstrap --bench >&2
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j"$(nproc)" --target fl_load >/dev/null
fl_load=build-bench/bench/fl_load

rundir=$(mktemp -d /tmp/flurry-bench.XXXXXX)
trap 'tests/servers/stop nginx "$rundir" >/dev/null 2>&1 || true; rm -rf "$rundir"' EXIT
tests/servers/start nginx "$rundir" >/dev/null
port=$(cat "$rundir/nginx.port")
url="http://127.0.0.1:$port/hello"
for pid in $(pgrep -f "nginx.*$rundir" || true); do taskset -a -p -c 0 "$pid" >/dev/null || true; done
client_cpu="taskset -c 1"

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

wrk_rps=() fl_rps=() wrk_cpu=() fl_cpu=()
TIMEFORMAT='%U %S'
# run_timed OUTFILE CMD...: stdout to OUTFILE, prints "user sys" CPU seconds.
run_timed() { local out=$1; shift; { time "$@" >"$out"; } 2>&1 | tail -1; }
for ((i = 1; i <= runs; i++)); do
  # wrk runs for a time, fl_load for a request count: compare rates and CPU per request.
  t=$(run_timed "$rundir/w.out" $client_cpu wrk -t1 -c"$conns" -d3s "$url")
  w=$(awk '/Requests\/sec/ {print $2}' "$rundir/w.out")
  wn=$(awk '/requests in/ {print $1}' "$rundir/w.out")
  wrk_cpu+=("$(echo "$t" | awk -v n="$wn" '{printf "%.2f", ($1 + $2) * 1e6 / n}')")
  t=$(run_timed "$rundir/f.out" $client_cpu "$fl_load" -c "$conns" -n "$requests" "$url")
  f=$(awk '/Requests\/sec/ {print $2}' "$rundir/f.out")
  fl_cpu+=("$(echo "$t" | awk -v n="$requests" '{printf "%.2f", ($1 + $2) * 1e6 / n}')")
  echo "run $i: wrk $w req/s ${wrk_cpu[-1]} us CPU/req; fl_load $f req/s ${fl_cpu[-1]} us CPU/req" >&2
  wrk_rps+=("$w") fl_rps+=("$f")
done
wm=$(printf '%s\n' "${wrk_rps[@]}" | median)
fm=$(printf '%s\n' "${fl_rps[@]}" | median)
wc=$(printf '%s\n' "${wrk_cpu[@]}" | median)
fc=$(printf '%s\n' "${fl_cpu[@]}" | median)

# Syscalls per request (strace -c counts; strace slows both alike).
wrk_out=$(strace -f -c -o "$rundir/wrk.strace" wrk -t1 -c"$conns" -d2s "$url")
wrk_reqs=$(echo "$wrk_out" | awk '/requests in/ {print $1}')
wrk_calls=$(awk '/^100.00|total/ {print $4; exit}' "$rundir/wrk.strace")
strace -f -c -o "$rundir/fl.strace" "$fl_load" -c "$conns" -n "$requests" "$url" >/dev/null
fl_calls=$(awk '/^100.00|total/ {print $4; exit}' "$rundir/fl.strace")
wrk_spr=$(awk -v c="$wrk_calls" -v r="$wrk_reqs" 'BEGIN {printf "%.2f", c / r}')
fl_spr=$(awk -v c="$fl_calls" -v r="$requests" 'BEGIN {printf "%.2f", c / r}')

mkdir -p bench/results
{
  echo "# Keep-alive throughput: fl_load vs wrk"
  echo
  echo "$(date -u +%Y-%m-%d), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)),"
  echo "nginx 1 worker on CPU 0, client on CPU 1, $conns connections, GET /hello (13 bytes)."
  echo "Command: \`bench/core_vs_wrk.sh --runs $runs --requests $requests --connections $conns\`"
  echo
  echo "| client | median req/s | runs (req/s) | ratio to wrk | client CPU us/request (median) | syscalls/request |"
  echo "|---|---|---|---|---|---|"
  echo "| wrk -t1 -c$conns -d3s | $wm | ${wrk_rps[*]} | 1.00 | $wc | $wrk_spr |"
  echo "| fl_load -c $conns -n $requests | $fm | ${fl_rps[*]} | $(awk -v a="$fm" -v b="$wm" 'BEGIN {printf "%.2f", a / b}') | $fc | $fl_spr |"
  echo
  echo "Syscalls from \`strace -f -c\` over one run of each (wrk: $wrk_reqs requests in 2 s; fl_load: $requests requests)."
  echo
  echo '```'
  echo "fl_load:"
  head -12 "$rundir/fl.strace"
  echo "wrk:"
  head -12 "$rundir/wrk.strace"
  echo '```'
} | tee bench/results/core_vs_wrk.md
