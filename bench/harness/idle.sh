#!/usr/bin/env bash
# Memory per connection (issue 22), against the harness's nginx (one worker
# on CPU 0, its own descriptor limit; bench/harness/nginx.sh), each client
# on CPU 1 with one thread:
#
# 1. Idle: bench/idle_conns -n N: N keep-alive HTTP/1.1 connections opened
#    on one client and left idle in its pool; heap (mallinfo2, in use) and
#    RSS per idle connection. Target: <= 4 KB each in user space.
# 2. Busy: wrk -t1 -cN and flurry-bench -t1 -cN against the same server,
#    alternating (which goes first rotates), peak RSS from /usr/bin/time.
#    Target: flurry-bench's peak RSS no more than wrk's.
#
#   bench/harness/idle.sh [--connections N] [--runs R] [--duration S] [--build DIR] [--no-build]
#                         [--base FLURRY-BENCH]
#
# Defaults: 10000 connections, 3 runs of each, 3 s. --base: another
# flurry-bench binary (an older build) run beside the two in each busy round.
# The busy runs go first, the idle ones after on a fresh nginx. Every run
# holds the benchmark lock (bench/harness/lock.sh). Writes
# bench/results/idle-memory.md and .tsv.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
source bench/harness/lock.sh
orig_args="$*"
conns=10000 runs=3 duration=3 build=$root/build-bench do_build=1 base=
while (($#)); do
  case $1 in
    --connections) conns=$2; shift ;;
    --runs) runs=$2; shift ;;
    --duration) duration=$2; shift ;;
    --build) build=$2; shift ;;
    --no-build) do_build=0 ;;
    --base) base=$2; shift ;;
    -h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "idle.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ $conns =~ ^[1-9][0-9]*$ && $runs =~ ^[1-9][0-9]*$ && $duration =~ ^[1-9][0-9]*$ ]] ||
  { echo "idle.sh: --connections, --runs and --duration take positive integers" >&2; exit 2; }
command -v wrk >/dev/null || { echo "idle.sh: wrk missing (scripts/bootstrap --bench)" >&2; exit 1; }
if ((do_build)); then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j2 --target flurry_bench idle_conns >/dev/null
fi
fbench=$build/bench/flurry_bench/flurry-bench idle=$build/bench/idle_conns
[[ -x $fbench && -x $idle ]] || { echo "idle.sh: $fbench or $idle not built" >&2; exit 1; }
# The client needs N sockets and a few more; nginx has its own limit.
ulimit -n "$(ulimit -Hn)"
(($(ulimit -n) > conns + 100)) || { echo "idle.sh: descriptor limit $(ulimit -n) too low for $conns" >&2; exit 1; }

server_cpu=0 client_cpu=1
if (($(nproc) < 2)); then client_cpu=0; fi
rundir=$(mktemp -d /tmp/flurry-idle.XXXXXX)
trap 'bench/harness/nginx.sh stop "$rundir" >/dev/null 2>&1 || true; rm -rf "$rundir"' EXIT
pin=(taskset -c "$client_cpu")
# A fresh nginx for each part: after 10,000 connections closed at once by
# an idle run, a load run right behind it got no request through.
fresh_nginx() {
  bench/harness/nginx.sh stop "$rundir" >/dev/null 2>&1 || true
  port=$(FLB_SERVER_CPU=$server_cpu FLB_NGINX_CONNECTIONS=$((conns * 2 < 20000 ? conns * 2 : 20000)) \
    bench/harness/nginx.sh start "$rundir")
  worker_pid=$(pgrep -P "$(cat "$rundir/nginx.pid")" | head -1 || true)
  url=http://127.0.0.1:$port/hello
}

median() { sort -g | awk '{a[NR] = $1} END {if (!NR) print 0; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
minmax() { sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%s-%s", lo, hi}'; }
field() { awk -v k="$1:" '$1 == k {print $2}' "$2"; }

tsv=bench/results/idle-memory.tsv
mkdir -p bench/results
printf 'part\ttool\trun\theap_per_conn\trss_per_conn\tpeak_rss_kb\treq_per_s\tserver_cpu\n' >"$tsv"

# 2. busy: wrk and flurry-bench, rotating which goes first (first, on a fresh nginx)
fresh_nginx
run_tool() { # tool round
  local out=$rundir/$1.out tf=$rundir/$1.time argv srv rps
  case $1 in
    wrk) argv=(wrk -t1 -c"$conns" -d"${duration}s" --timeout 10s "$url") ;;
    flurry-bench) argv=("$fbench" -t1 -c"$conns" -d"${duration}s" --timeout 10s "$url") ;;
    base) argv=("$base" -t1 -c"$conns" -d"${duration}s" --timeout 10s "$url") ;;
  esac
  srv=$(measured_run "$out" "$tf" "$worker_pid" "${pin[@]}" "${argv[@]}")
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  printf 'busy\t%s\t%d\t-\t-\t%s\t%s\t%s\n' "$1" "$2" "$(cut -d' ' -f3 "$tf")" "${rps:--}" "$srv" >>"$tsv"
  echo "busy round $2: $1 peak RSS $(cut -d' ' -f3 "$tf") KB, ${rps:--} req/s, server CPU $srv%" >&2
}
for ((r = 1; r <= runs; r++)); do
  if ((r % 2)); then order=(wrk flurry-bench); else order=(flurry-bench wrk); fi
  if [[ -n $base ]]; then order+=(base); fi
  for t in "${order[@]}"; do run_tool "$t" "$r"; done
done

fresh_nginx
# 1. idle (after the busy runs, on a fresh nginx)
for ((r = 1; r <= runs; r++)); do
  out=$rundir/idle.out tf=$rundir/idle.time
  srv=$(measured_run "$out" "$tf" "$worker_pid" "${pin[@]}" "$idle" -n "$conns" "$url")
  h=$(field heap_per_idle_connection "$out") m=$(field rss_per_idle_connection "$out")
  [[ -n $h ]] || { echo "idle.sh: idle_conns failed:" >&2; cat "$out" >&2; exit 1; }
  printf 'idle\tidle_conns\t%d\t%s\t%s\t%s\t-\t%s\n' "$r" "$h" "$m" "$(cut -d' ' -f3 "$tf")" "$srv" >>"$tsv"
  echo "idle run $r: heap $h B, RSS $m B per idle connection ($(field connections_added "$out") added)" >&2
done

col() { awk -F'\t' -v p="$1" -v t="$2" -v c="$3" 'NR > 1 && $1 == p && $2 == t {print $c}' "$tsv"; }
heap_med=$(col idle idle_conns 4 | median) rss_med=$(col idle idle_conns 5 | median)
wrk_rss=$(col busy wrk 6 | median) fb_rss=$(col busy flurry-bench 6 | median)
wrk_rps=$(col busy wrk 7 | median) fb_rps=$(col busy flurry-bench 7 | median)
{
  echo "# Memory per connection: $conns idle connections, and $conns busy ones beside wrk"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), Linux $(uname -r), flurry $(git rev-parse --short HEAD)."
  echo "$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2 || true), $(nginx -v 2>&1 | sed 's/nginx version: //'). Load average before the report: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Server: bench/harness/nginx.sh, 1 worker on CPU $server_cpu; each client on CPU $client_cpu, one thread. $runs runs each."
  echo
  echo "Command: \`bench/harness/idle.sh $orig_args\`"
  echo
  echo "## Idle keep-alive connections on one client (target: <= 4096 bytes each in user space)"
  echo
  echo "| measure | median | min-max |"
  echo "|---|---|---|"
  echo "| heap bytes per idle connection (mallinfo2 in use) | $heap_med | $(col idle idle_conns 4 | minmax) |"
  echo "| RSS bytes per idle connection (VmRSS) | $rss_med | $(col idle idle_conns 5 | minmax) |"
  echo
  echo "\`taskset -c $client_cpu $build/bench/idle_conns -n $conns http://127.0.0.1:PORT/hello\`"
  echo
  echo "## $conns busy connections: peak RSS beside wrk (target: flurry-bench <= wrk)"
  echo
  echo "| tool | median peak RSS KB | min-max | median req/s |"
  echo "|---|---|---|---|"
  echo "| wrk | $wrk_rss | $(col busy wrk 6 | minmax) | $wrk_rps |"
  echo "| flurry-bench | $fb_rss | $(col busy flurry-bench 6 | minmax) | $fb_rps |"
  if [[ -n $base ]]; then
    echo "| flurry-bench --base ($base) | $(col busy base 6 | median) | $(col busy base 6 | minmax) | $(col busy base 7 | median) |"
  fi
  echo
  awk -v a="$fb_rss" -v b="$wrk_rss" 'BEGIN {if (b > 0) printf "flurry-bench / wrk peak RSS (medians): %.3f\n", a / b}'
  echo
  echo "\`/usr/bin/time -f '%U %S %M' taskset -c $client_cpu wrk -t1 -c$conns -d${duration}s --timeout 10s http://127.0.0.1:PORT/hello\` and the same with \`$build/bench/flurry_bench/flurry-bench\`."
  echo
  echo "Every run: bench/results/idle-memory.tsv."
} >bench/results/idle-memory.md
cat bench/results/idle-memory.md
