#!/usr/bin/env bash
# HTTPS against wrk, same nginx (the nginx_tls fixture), same run. nginx (one
# worker) is pinned to CPU 0, the clients to CPU 1. Runs alternate; medians.
#
#   bench/tls_bench.sh [--runs N] [--requests N] [--handshakes N]
#                      [--connections N] [--seconds S] [--out FILE]
#
# 1. TLS keep-alive throughput, GET /hello (13 bytes):
#      wrk -t1 -cC -dS https://127.0.0.1:PORT/hello
#      fl_load -c C -n REQUESTS --cacert ca.pem https://127.0.0.1:PORT/hello
# 2. New connections per second, one request each (Connection: close):
#      fl_load -N on the normal port: flurry's session cache resumes them;
#      wrk -H "Connection: close" on the port without session cache and
#      tickets (nginx_tls.noresume): wrk's full-handshake rate.
#    Also shown, for reference: wrk on the normal port (wrk keeps each
#    connection's SSL object and SSL_clear()s it, so it resumes too) and
#    fl_load -N on the no-resumption port (our full handshakes).
# The certificate is RSA 2048 (as most servers), TLS 1.3 is negotiated.
# Results go to stdout, and to FILE with --out (markdown).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
runs=3 requests=300000 handshakes=10000 conns=64 secs=5 out=""
usage() { sed -n '5,6p' "$0" | sed 's/^# \{0,1\}/usage: /' >&2; exit 2; }
while (($#)); do
  case $1 in
    --runs) runs=$2; shift ;;
    --requests) requests=$2; shift ;;
    --handshakes) handshakes=$2; shift ;;
    --connections) conns=$2; shift ;;
    --seconds) secs=$2; shift ;;
    --out) out=$2; shift ;;
    *) usage ;;
  esac
  shift
done

command -v wrk >/dev/null || bash scripts/bootstrap --bench >&2
builddir=${FL_BENCH_BUILD:-build-bench}
cmake -S . -B "$builddir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$builddir" -j2 --target fl_load >/dev/null
fl_load=$builddir/bench/fl_load

rundir=$(mktemp -d /tmp/flurry-tls-bench.XXXXXX)
trap 'tests/servers/stop nginx_tls "$rundir" >/dev/null 2>&1 || true; rm -rf "$rundir"' EXIT
tests/servers/start nginx_tls "$rundir" >/dev/null
port=$(cat "$rundir/nginx_tls.port")
full_port=$(cat "$rundir/nginx_tls.noresume.port")
ca=$rundir/nginx_tls/ca.pem
for pid in $(pgrep -f "nginx.*$rundir" || true); do taskset -a -p -c 0 "$pid" >/dev/null || true; done
on_cpu1=(taskset -c 1)

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
wrk_rate() { awk '/Requests\/sec/ {print $2}' "$1"; }
fl_rate() { awk '/Requests\/sec/ {print $2}' "$1"; }
fl_check() { # fl_load failed or answered badly: show why and stop
  if ! grep -q '^errors: 0, bad responses: 0' "$1"; then
    echo "fl_load failed:" >&2
    cat "$1" >&2
    exit 1
  fi
}

ka_url="https://127.0.0.1:$port/hello"
wrk_ka=() fl_ka=() wrk_hs=() wrk_hs_res=() fl_hs=() fl_hs_full=() fl_resumed=()
for ((i = 1; i <= runs; i++)); do
  "${on_cpu1[@]}" wrk -t1 -c"$conns" -d"${secs}s" "$ka_url" >"$rundir/w.out"
  wrk_ka+=("$(wrk_rate "$rundir/w.out")")
  "${on_cpu1[@]}" "$fl_load" -c "$conns" -n "$requests" --cacert "$ca" "$ka_url" >"$rundir/f.out" ||
    true
  fl_check "$rundir/f.out"
  fl_ka+=("$(fl_rate "$rundir/f.out")")

  "${on_cpu1[@]}" wrk -t1 -c"$conns" -d"${secs}s" -H "Connection: close" \
    "https://127.0.0.1:$full_port/hello" >"$rundir/w.out"
  wrk_hs+=("$(wrk_rate "$rundir/w.out")")
  "${on_cpu1[@]}" "$fl_load" -N -c "$conns" -n "$handshakes" --cacert "$ca" \
    "https://localhost:$port/hello" >"$rundir/f.out" || true
  fl_check "$rundir/f.out"
  fl_hs+=("$(fl_rate "$rundir/f.out")")
  fl_resumed+=("$(awk '/TLS handshakes/ {gsub(/\(/, "", $4); printf "%.1f", 100 * $4 / $3}' "$rundir/f.out")")

  "${on_cpu1[@]}" wrk -t1 -c"$conns" -d"${secs}s" -H "Connection: close" "$ka_url" >"$rundir/w.out"
  wrk_hs_res+=("$(wrk_rate "$rundir/w.out")")
  "${on_cpu1[@]}" "$fl_load" -N -c "$conns" -n "$((handshakes / 2))" --cacert "$ca" \
    "https://localhost:$full_port/hello" >"$rundir/f.out" || true
  fl_check "$rundir/f.out"
  fl_hs_full+=("$(fl_rate "$rundir/f.out")")
  echo "run $i: keep-alive wrk ${wrk_ka[-1]} fl_load ${fl_ka[-1]} req/s;" \
    "new connections: wrk full ${wrk_hs[-1]}, fl_load resumed ${fl_hs[-1]} (${fl_resumed[-1]}% resumed)," \
    "wrk resumed ${wrk_hs_res[-1]}, fl_load full ${fl_hs_full[-1]} /s" >&2
done
m() { printf '%s\n' "$@" | median; }
wka=$(m "${wrk_ka[@]}") fka=$(m "${fl_ka[@]}")
whs=$(m "${wrk_hs[@]}") fhs=$(m "${fl_hs[@]}")
whr=$(m "${wrk_hs_res[@]}") fhf=$(m "${fl_hs_full[@]}")

report() {
  echo "# HTTPS: fl_load vs wrk (bench/tls_bench.sh)"
  echo
  echo "$(date -u +%Y-%m-%d), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)),"
  echo "$(openssl version | cut -d' ' -f1-2), nginx $(nginx -v 2>&1 | sed 's|.*/||'), 1 worker on CPU 0; clients on CPU 1."
  echo "TLS 1.3, RSA 2048 certificate, GET /hello (13 bytes), $conns connections, $runs runs, medians."
  echo "Command: \`bench/tls_bench.sh --runs $runs --requests $requests --handshakes $handshakes --connections $conns --seconds $secs\`"
  echo
  echo "| measure | client | median | runs | ratio |"
  echo "|---|---|---|---|---|"
  echo "| keep-alive req/s | wrk -t1 -c$conns -d${secs}s | $wka | ${wrk_ka[*]} | 1.00 |"
  echo "| keep-alive req/s | fl_load -c $conns -n $requests | $fka | ${fl_ka[*]} | $(ratio "$fka" "$wka") |"
  echo "| new connections/s | wrk -H 'Connection: close', full handshakes (noresume port) | $whs | ${wrk_hs[*]} | 1.00 |"
  echo "| new connections/s | fl_load -N, resumed (${fl_resumed[*]} % resumed) | $fhs | ${fl_hs[*]} | $(ratio "$fhs" "$whs") |"
  echo "| new connections/s | (ref.) wrk -H 'Connection: close' on the resuming port | $whr | ${wrk_hs_res[*]} | $(ratio "$whr" "$whs") |"
  echo "| new connections/s | (ref.) fl_load -N, full handshakes (noresume port) | $fhf | ${fl_hs_full[*]} | $(ratio "$fhf" "$whs") |"
  echo
  echo "wrk keeps one SSL object per connection slot and SSL_clear()s it on reconnect,"
  echo "so against a server that allows resumption it resumes as well; its full-handshake"
  echo "rate is measured on the port where nginx has no session cache and no tickets."
}
if [[ -n $out ]]; then
  mkdir -p "$(dirname "$out")"
  report | tee "$out"
else
  report
fi
