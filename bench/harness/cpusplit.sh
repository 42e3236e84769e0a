#!/usr/bin/env bash
# User and system CPU time per request of flurry-bench and wrk against
# canned-server (64 connections, GET /hello), unpipelined and pipelined 8
# deep: where the client's CPU goes. Three alternating rounds of 3 s, each
# client under /usr/bin/time on CPU 1, the server on CPU 0.
#
#   bench/harness/cpusplit.sh [--build DIR] [--rounds N]
#
# Prints one line per run; bench/results/cpu-split.md keeps a run.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
source bench/harness/lock.sh
build=$root/build-bench rounds=3
while (($#)); do
  case $1 in
    --build) build=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "cpusplit.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
fb=$build/bench/flurry_bench/flurry-bench
[[ -x $fb ]] || { echo "cpusplit.sh: $fb not built (bench/harness/run.sh builds it)" >&2; exit 1; }
rundir=$(mktemp -d /tmp/flurry-cpusplit.XXXXXX)
trap 'bench/harness/canned.sh stop "$rundir" >/dev/null 2>&1 || true; rm -rf "$rundir"' EXIT
port=$(FLB_SERVER_CPU=0 bench/harness/canned.sh start "$rundir" --build "$build")
url=http://127.0.0.1:$port/hello
for ((round = 1; round <= rounds; round++)); do
  for tool in wrk flurry-bench wrk-p8 flurry-bench-p8; do
    case $tool in
      wrk) cmd=(wrk -t1 -c64 -d3s "$url") ;;
      flurry-bench) cmd=("$fb" -t1 -c64 -d3s "$url") ;;
      wrk-p8) cmd=(wrk -t1 -c64 -d3s -s bench/peers/wrk_pipeline.lua "$url" -- 8) ;;
      flurry-bench-p8) cmd=("$fb" -t1 -c64 -d3s --pipeline 8 "$url") ;;
    esac
    lock_take
    out=$({ /usr/bin/time -f 'TIME %U %S' taskset -c 1 "${cmd[@]}"; } 2>&1)
    lock_drop
    n=$(awk '/ requests in /{print $1}' <<<"$out")
    awk -v t="$tool" -v r="$round" -v n="${n:-0}" '/^TIME/ && n > 0 {
      printf "%-16s round %d  user %.2f us/req  system %.2f us/req  total %.2f us/req\n",
             t, r, $2 * 1e6 / n, $3 * 1e6 / n, ($2 + $3) * 1e6 / n }' <<<"$out"
  done
done
