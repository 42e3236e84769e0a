#!/usr/bin/env bash
# User-space instructions per request of flurry-bench and wrk, counted by
# callgrind (this machine's perf has no hardware counters), against
# canned-server on loopback: 64 connections, one thread, unpipelined and
# pipelined 8 deep. Fixed costs (start, connecting, a script's setup) are
# taken out by difference: each tool runs twice, with few and with more
# requests, and the figure is
#     (instructions of the long run - of the short run) / (requests - requests)
# flurry-bench runs a request count (-n); wrk, which has none, two durations
# (its own count of completed requests in each). Every instruction the
# process runs in user space counts (libc, OpenSSL, LuaJIT included); the
# kernel's do not.
#
#   bench/harness/instructions.sh [--requests N] [--build DIR] [--no-build]
#
# --requests N: the long flurry-bench run (default 60000; the short one is a
# third of it). Writes bench/results/instructions.{md,tsv}. Runs take a few
# seconds each under callgrind (about 50x slower than native).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
source bench/harness/lock.sh
orig_args="$*"
requests=60000 build=$root/build-bench do_build=1
while (($#)); do
  case $1 in
    --requests) requests=$2; shift ;;
    --build) build=$2; shift ;;
    --no-build) do_build=0 ;;
    -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "instructions.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ $requests =~ ^[1-9][0-9]*$ ]] && ((requests >= 3000)) || { echo "instructions.sh: --requests >= 3000" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind missing (scripts/bootstrap)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "instructions.sh: wrk missing (scripts/bootstrap --bench)" >&2; exit 1; }
if ((do_build)); then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j2 --target flurry_bench canned_server >/dev/null
fi
fbench=$build/bench/flurry_bench/flurry-bench
[[ -x $fbench ]] || { echo "instructions.sh: $fbench not built" >&2; exit 1; }

server_cpu=0 client_cpu=1
if (($(nproc) < 2)); then client_cpu=0; fi
rundir=$(mktemp -d /tmp/flurry-instructions.XXXXXX)
trap 'bench/harness/canned.sh stop "$rundir" >/dev/null 2>&1 || true; rm -rf "$rundir"' EXIT
port=$(FLB_SERVER_CPU=$server_cpu bench/harness/canned.sh start "$rundir" --build "$build")
url=http://127.0.0.1:$port/hello

# counted CMD...: "instructions requests" of one run under callgrind.
counted() {
  local out=$rundir/run.out log=$rundir/run.log
  lock_take
  taskset -c "$client_cpu" valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" >"$out" 2>"$log" || true
  lock_drop
  local ir n
  ir=$(awk '/Collected :/ {print $NF}' "$log" | tail -1)
  n=$(awk '/ requests in / {print $1}' "$out")
  echo "${ir:-0} ${n:-0}"
}

tsv=bench/results/instructions.tsv md=bench/results/instructions.md
mkdir -p bench/results
printf 'case\ttool\trun\tinstructions\trequests\n' >"$tsv"
short=$((requests / 3))
scripts=$root/bench/scripts
post_body='{"client":"flurry-bench","kind":"post"}' # what post.lua sends
# Cases: NAME|flurry-bench's arguments|wrk's arguments ("-": not run); the
# URL goes last (wrk: before any "--" arguments, written as URL).
cases=(
  "unpipelined||URL"
  "pipelined 8 deep|--pipeline 8|-s $root/bench/peers/wrk_pipeline.lua URL -- 8"
  "static script (post.lua)|-s $scripts/post.lua|-s $scripts/post.lua URL"
  "the same POST without -s|--method POST -H Content-Type:application/json --body $post_body|-"
  "request() script (query.lua)|-s $scripts/query.lua|-s $scripts/query.lua URL"
)
declare -A per_req=()
for c in "${cases[@]}"; do
  IFS='|' read -r name fargs wargs <<<"$c"
  for tool in flurry-bench wrk; do
    [[ $tool == wrk && $wargs == - ]] && continue
    results=()
    for run in short long; do
      if [[ $tool == flurry-bench ]]; then
        n=$([[ $run == short ]] && echo $short || echo "$requests")
        read -r -a extra <<<"$fargs"
        read -r ir got <<<"$(counted "$fbench" -t1 -c64 -n "$n" --timeout 30s "${extra[@]}" "$url")"
      else
        d=$([[ $run == short ]] && echo 2 || echo 6)
        read -r -a extra <<<"${wargs//URL/$url}"
        read -r ir got <<<"$(counted wrk -t1 -c64 -d"${d}s" --timeout 30s "${extra[@]}")"
      fi
      printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$tool" "$run" "$ir" "$got" >>"$tsv"
      echo "  $name, $tool, $run: $ir instructions, $got requests" >&2
      results+=("$ir" "$got")
    done
    per_req[$name.$tool]=$(awk -v i1="${results[0]}" -v n1="${results[1]}" -v i2="${results[2]}" -v n2="${results[3]}" \
      'BEGIN {if (n2 > n1) printf "%.0f", (i2 - i1) / (n2 - n1); else print "-"}')
  done
done

{
  echo "# User-space instructions per request (callgrind)"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), Linux $(uname -r), $(valgrind --version)."
  echo "canned-server on CPU $server_cpu (bench/harness/canned.sh), GET /hello (13 bytes), 64 connections, one client"
  echo "thread on CPU $client_cpu. Each figure: (instructions of a long run - of a short run) / (their"
  echo "difference in requests), so start-up and connecting cancel out. flurry-bench: -n $short and -n $requests;"
  echo "wrk: -d2s and -d6s (under callgrind), its own request counts. Unlike times, these counts do not"
  echo "depend on what else the machine runs."
  echo
  echo "Command: \`bench/harness/instructions.sh${orig_args:+ $orig_args}\`"
  echo
  echo "| case | flurry-bench | wrk | flurry-bench / wrk |"
  echo "|---|---|---|---|"
  for c in "${cases[@]}"; do
    IFS='|' read -r name _ _ <<<"$c"
    f=${per_req[$name.flurry-bench]:--} w=${per_req[$name.wrk]:--}
    echo "| $name | $f | $w | $(awk -v f="$f" -v w="$w" 'BEGIN {if (w + 0 > 0 && f + 0 > 0) printf "%.2f", f / w; else print "-"}') |"
  done
  echo
  echo "Pipelined 8 deep: wrk with bench/peers/wrk_pipeline.lua (8 requests per write), flurry-bench"
  echo "with --pipeline 8. Scripts: the same file for both tools (bench/scripts/). Every run"
  echo "(bench/results/instructions.tsv):"
  echo
  echo '```'
  column -t -s $'\t' "$tsv"
  echo '```'
} >"$md"
cat "$md" >&2
