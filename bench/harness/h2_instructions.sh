#!/usr/bin/env bash
# User-space instructions per HTTP/2 request of flurry-bench and h2load,
# counted by callgrind, against the nginx_h2 fixture (h2c by prior
# knowledge, and h2 over TLS): as bench/harness/instructions.sh does for
# HTTP/1.1, each tool runs twice (-n SHORT and -n LONG requests) and the
# figure is
#     (instructions of the long run - of the short run) / (LONG - SHORT)
# so start-up, connecting and handshakes cancel out. Every instruction the
# process runs in user space counts (libc, nghttp2, OpenSSL included); the
# kernel's do not. Unlike times, these counts hardly depend on what else the
# machine runs (only through how many responses one read brings).
#
#   bench/harness/h2_instructions.sh [--requests N] [--build DIR] [--no-build]
#                                    [--fbench PATH] [--label TEXT] [--no-peer]
#
# --requests N: the long runs (default 30000; the short ones a third of it).
# --fbench PATH: count this flurry-bench instead (an older build, to compare),
# named --label TEXT in the output; --no-peer: without h2load.
# Cases: h2c 64 connections x 10 streams, h2c 1 x 100, TLS 64 x 10; GET
# /hello (13 bytes). Writes bench/results/h2-instructions.tsv and prints a
# table (bench/results/h2-instructions.md is written by hand from it).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
source bench/harness/lock.sh
requests=30000 build=$root/build-bench do_build=1 fbench= label=flurry-bench peer=1
while (($#)); do
  case $1 in
    --requests) requests=$2; shift ;;
    --build) build=$2; shift ;;
    --no-build) do_build=0 ;;
    --fbench) fbench=$2; do_build=0; shift ;;
    --label) label=$2; shift ;;
    --no-peer) peer=0 ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "h2_instructions.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ $requests =~ ^[1-9][0-9]*$ ]] && ((requests >= 3000)) || { echo "h2_instructions.sh: --requests >= 3000" >&2; exit 2; }
for x in valgrind h2load; do command -v $x >/dev/null || { echo "h2_instructions.sh: $x missing (scripts/bootstrap --bench)" >&2; exit 1; }; done
if ((do_build)); then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j2 --target flurry_bench >/dev/null
fi
fbench=${fbench:-$build/bench/flurry_bench/flurry-bench}
[[ -x $fbench ]] || { echo "h2_instructions.sh: $fbench not built" >&2; exit 1; }

server_cpu=0 client_cpu=1
if (($(nproc) < 2)); then client_cpu=0; fi
rundir=$(mktemp -d /tmp/flurry-h2-instructions.XXXXXX)
trap 'tests/servers/stop nginx_h2 "$rundir" >/dev/null 2>&1 || true; rm -rf "$rundir"' EXIT
tests/servers/start nginx_h2 "$rundir" >/dev/null
for pid in $(pgrep -f "nginx.*$rundir" || true); do taskset -a -p -c "$server_cpu" "$pid" >/dev/null || true; done
tls=https://127.0.0.1:$(cat "$rundir/nginx_h2.port")/hello
h2c=http://127.0.0.1:$(cat "$rundir/nginx_h2.h2c.port")/hello
ca=$rundir/nginx_h2/ca.pem

# counted N CMD...: "instructions requests" of one run under callgrind (the
# command's request count: flurry-bench's "N requests in", h2load's
# "requests: ... N succeeded").
counted() {
  local out=$rundir/run.out log=$rundir/run.log
  lock_take
  taskset -c "$client_cpu" valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" >"$out" 2>"$log" || true
  lock_drop
  local ir n
  ir=$(awk '/Collected :/ {print $NF}' "$log" | tail -1)
  n=$(awk '/ requests in / {print $1} /^requests:/ {print $8}' "$out" | tail -1)
  echo "${ir:-0} ${n:-0}"
}

# NAME|flurry-bench arguments|h2load arguments (the URL last in both)
cases=(
  "h2c 64x10|-c64 -m10 --h2c $h2c|-c64 -m10 $h2c"
  "h2c 1x100|-c1 -m100 --h2c $h2c|-c1 -m100 $h2c"
  "tls 64x10|-c64 -m10 --h2 --cacert $ca $tls|-c64 -m10 $tls"
)
tsv=bench/results/h2-instructions.tsv
mkdir -p bench/results
[[ -s $tsv ]] || printf 'case\ttool\tinstructions_short\trequests_short\tinstructions_long\trequests_long\tper_request\n' >"$tsv"
short=$((requests / 3))
printf '%-10s  %-24s %12s\n' case tool per-request >&2
for c in "${cases[@]}"; do
  IFS='|' read -r name fargs hargs <<<"$c"
  tools=("$label")
  ((peer)) && tools+=(h2load)
  for tool in "${tools[@]}"; do
    r=()
    for n in "$short" "$requests"; do
      if [[ $tool == h2load ]]; then
        read -r -a a <<<"$hargs"
        read -r ir got <<<"$(counted h2load -t1 -n "$n" "${a[@]}")"
      else
        read -r -a a <<<"$fargs"
        read -r ir got <<<"$(counted "$fbench" -t1 -n "$n" --timeout 30s "${a[@]}")"
      fi
      r+=("$ir" "$got")
    done
    per=$(awk -v i1="${r[0]}" -v n1="${r[1]}" -v i2="${r[2]}" -v n2="${r[3]}" \
      'BEGIN {if (n2 > n1) printf "%.0f", (i2 - i1) / (n2 - n1); else print "-"}')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$tool" "${r[0]}" "${r[1]}" "${r[2]}" "${r[3]}" "$per" >>"$tsv"
    printf '%-10s  %-24s %12s\n' "$name" "$tool" "$per" >&2
  done
done
