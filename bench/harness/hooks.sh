#!/usr/bin/env bash
# What client-wide event hooks cost: CPU per request of flurry-bench with
# every event of every request recorded into a ring buffer (--hooks: one
# fl_event callback, its clock read, a 4096-entry ring) against the same
# run without hooks, against canned-server on loopback (64 connections,
# one thread, client and server pinned to their own CPU). Rounds
# alternate off/on so drift hits both alike; each run holds the benchmark
# lock. CPU is the client's user+sys (/usr/bin/time) over its -n requests.
#
#   bench/harness/hooks.sh [--requests N] [--rounds R] [--pipeline D] [--build DIR] [--no-build]
#
# Defaults: 300000 requests per run, 5 rounds, unpipelined. Prints each
# run, the medians (us of CPU per request) and the ratio on/off, and the
# server's CPU share; writes bench/results/hooks.md.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
source bench/harness/lock.sh
orig_args="$*"
requests=300000 rounds=5 pipeline=1 build=$root/build-bench do_build=1
while (($#)); do
  case $1 in
    --requests) requests=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --pipeline) pipeline=$2; shift ;;
    --build) build=$2; shift ;;
    --no-build) do_build=0 ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "hooks.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ $requests =~ ^[1-9][0-9]*$ && $rounds =~ ^[1-9][0-9]*$ && $pipeline =~ ^[1-9][0-9]*$ ]] ||
  { echo "hooks.sh: --requests, --rounds and --pipeline take positive numbers" >&2; exit 2; }
if ((do_build)); then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j2 --target flurry_bench canned_server >/dev/null
fi
fbench=$build/bench/flurry_bench/flurry-bench
[[ -x $fbench ]] || { echo "hooks.sh: $fbench not built" >&2; exit 1; }

server_cpu=0 client_cpu=1
if (($(nproc) < 2)); then client_cpu=0; fi
rundir=$(mktemp -d /tmp/flurry-hooks.XXXXXX)
trap 'bench/harness/canned.sh stop "$rundir" >/dev/null 2>&1 || true; rm -rf "$rundir"' EXIT
port=$(FLB_SERVER_CPU=$server_cpu bench/harness/canned.sh start "$rundir" --build "$build")
spid=$(cat "$rundir/canned.pid")
url=http://127.0.0.1:$port/hello
pipe=()
((pipeline > 1)) && pipe=(--pipeline "$pipeline")

# one MODE: "us_per_request server_cpu_percent" of one run
one() {
  local mode=$1 extra=() share
  [[ $mode == on ]] && extra=(--hooks)
  share=$(measured_run "$rundir/out" "$rundir/time" "$spid" \
    taskset -c "$client_cpu" "$fbench" -t 1 -c 64 -n "$requests" "${pipe[@]}" "${extra[@]}" "$url")
  if ! grep -q "requests in" "$rundir/out"; then
    echo "hooks.sh: flurry-bench failed:" >&2
    cat "$rundir/out" >&2
    exit 1
  fi
  if [[ $mode == on ]] && ! grep -q "hook events recorded" "$rundir/out"; then
    echo "hooks.sh: --hooks recorded nothing" >&2
    exit 1
  fi
  awk -v n="$requests" -v s="$share" '{printf "%.4f %s\n", ($1 + $2) * 1e6 / n, s}' "$rundir/time"
}

off=() on=()
log=""
for ((r = 1; r <= rounds; r++)); do
  read -r a sa < <(one off)
  read -r b sb < <(one on)
  off+=("$a") on+=("$b")
  line="round $r: off $a us/request (server CPU $sa%), on $b us/request (server CPU $sb%)"
  echo "$line"
  log+="| $r | $a | $b | $sa / $sb |"$'\n'
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
moff=$(median "${off[@]}") mon=$(median "${on[@]}")
ratio=$(awk -v a="$moff" -v b="$mon" 'BEGIN {printf "%.3f", b / a}')
echo "median CPU per request: hooks off $moff us, hooks on $mon us, ratio on/off $ratio (target <= 1.05)"

mkdir -p bench/results
{
  echo "# Event hooks: CPU per request, hooks off vs on (bench/harness/hooks.sh)"
  echo
  echo "\`bench/harness/hooks.sh $orig_args\` on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs:"
  echo "flurry-bench -t 1 -c 64 -n $requests ${pipe[*]} against canned-server, client on CPU"
  echo "$client_cpu, server on CPU $server_cpu. \"on\" adds --hooks: every fl_event of every request"
  echo "recorded into a 4096-entry ring buffer. CPU = client user+sys / requests."
  echo
  echo "| round | off (us/req) | on (us/req) | server CPU % (off / on) |"
  echo "|---|---|---|---|"
  printf '%s' "$log"
  echo
  echo "Median: off $moff us, on $mon us per request; ratio on/off **$ratio** (target <= 1.05)."
} >bench/results/hooks.md
