#!/usr/bin/env bash
# Keep-alive throughput of flurry-bench against the load generators people
# use, same nginx, same run: nginx (one worker) pinned to CPU 0, every
# client pinned to CPU 1 with one thread, GET /hello (13 bytes) or --path.
# Tools run in turns (the order rotates each round), several rounds; medians
# with min-max, the ratio to wrk's median, client CPU time per request
# (user+sys from GNU time / requests), peak client RSS, and syscalls per
# request from one extra strace -f -c run of each tool.
#
#   bench/harness/run.sh [--connections "64 512 10000"] [--runs N]
#                        [--duration SECONDS] [--tools "wrk flurry-bench ..."]
#                        [--path PATH] [--build DIR] [--no-strace] [--no-build]
#                        [--tag NAME] [--server nginx|canned] [--client-cpus LIST]
#
# Tools: wrk, flurry-bench, fl_load (the plain library: one fl_client loop,
# bench/fl_load.c), h2load (--h1), ab (-k), curl-multi
# (bench/peers/curl_multi_load), curl-Z (curl --parallel,
# bench/peers/curl_z_load.sh), and the Python peers of bench/peers/py_load.py:
# aiohttp (with uvloop), httpx (AsyncClient), requests (one Session, serial),
# requests-threads (ThreadPool(8), a Session per thread); missing ones are
# skipped and said so. Pipelined (HTTP/1.1, DEPTH requests in flight per
# connection): wrk-pDEPTH (bench/peers/wrk_pipeline.lua), flurry-bench-pDEPTH
# (--pipeline), fl_load-pDEPTH (-P), e.g. --tools "wrk-p8 flurry-bench-p8".
# Scripted (the same Lua file for both tools): wrk-static and
# flurry-bench-static (bench/scripts/post.lua: method, body and a header set
# once; flurry-bench-post sends the same request from the command line,
# without -s), wrk-dynamic and flurry-bench-dynamic (bench/scripts/query.lua:
# a request() function, a new query string per request). Threads: wrk-t2 and
# flurry-bench-t2 (-t2; on --client-cpus, by default the one client CPU).
# --server canned: bench/servers' canned-server (bench/harness/canned.sh; one
# thread, much less CPU per request than nginx, every path gets the 13-byte
# body) instead of nginx; results in keepalive-canned-cN.*.
# The table also gives fl_load / curl-multi (the library against libcurl
# multi), flurry over each peer, and the server's CPU use during each run
# (nginx's worker, user+sys over wall time: near 100% means the server, not
# the client, sets the rate).
# --path PATH: the URL path on bench/harness/nginx.sh (default /hello; /get
# is its ~300-byte JSON shaped like httpbin's); its body size is measured
# once with curl and given in the report.
# Writes bench/results/keepalive-cN.{md,tsv,png} per connection count and
# bench/results/keepalive.md (all of them); another --path writes
# keepalive-P-cN.* (P: the path without its leading /, other characters than
# letters and digits as -, e.g. keepalive-get-c64.*); with --tag NAME the
# per-count files end in -NAME (a focused run next to the full one).
# Every load run is bounded by --duration (default 3 s; strace runs 2 s).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
source bench/harness/lock.sh

orig_args=$(for a in "$@"; do if [[ $a =~ [[:space:]] ]]; then printf "\"%s\" " "$a"; else printf "%s " "$a"; fi; done); orig_args=${orig_args% }
conn_list="64" runs=3 duration=3 tools="wrk flurry-bench fl_load h2load ab curl-multi curl-Z aiohttp httpx requests requests-threads"
build=$root/build-bench do_strace=1 do_build=1 tag="" path=/hello server=nginx client_cpus=""
while (($#)); do
  case $1 in
    --connections) conn_list=$2; shift ;;
    --runs) runs=$2; shift ;;
    --duration) duration=$2; shift ;;
    --tools) tools=$2; shift ;;
    --build) build=$2; shift ;;
    --no-strace) do_strace=0 ;;
    --no-build) do_build=0 ;;
    --tag) tag=-$2; shift ;;
    --path) path=$2; shift ;;
    --server) server=$2; shift ;;
    --client-cpus) client_cpus=$2; shift ;;
    -h | --help) sed -n '2,45p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ $runs =~ ^[1-9][0-9]*$ && $duration =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: bad --runs/--duration" >&2; exit 2; }
((duration <= 30)) || { echo "run.sh: keep runs short (--duration <= 30)" >&2; exit 2; }
[[ $path =~ ^/[^[:space:]]*$ ]] || { echo "run.sh: --path must start with / (and have no spaces)" >&2; exit 2; }
[[ $server == nginx || $server == canned ]] || { echo "run.sh: --server nginx or canned" >&2; exit 2; }
# Result files: keepalive-cN for /hello, keepalive-P-cN for another path
# (P: the path without its leading /, anything but letters and digits as -).
prefix=keepalive
[[ $server == canned ]] && prefix=keepalive-canned
if [[ $path != /hello ]]; then
  slug=${path#/}
  slug=${slug//[^[:alnum:]]/-}
  prefix=$prefix-${slug:-root}
fi

server_cpu=0 client_cpu=1
if (($(nproc) < 2)); then client_cpu=0; fi
client_cpus=${client_cpus:-$client_cpu}

# ------------------------------------------------------------------ build
if ((do_build)); then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j2 --target flurry_bench fl_load canned_server >/dev/null
  cmake --build "$build" -j2 --target curl_multi_load >/dev/null 2>&1 || true
fi
fbench=$build/bench/flurry_bench/flurry-bench
curlmulti=$build/bench/peers/curl_multi_load
flload=$build/bench/fl_load
pyload=$root/bench/peers/py_load.py
curlz=$root/bench/peers/curl_z_load.sh
py=/usr/bin/python3 # the Debian one: it has the peers' packages
[[ -x $fbench ]] || { echo "run.sh: $fbench not built" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "run.sh: GNU time (/usr/bin/time) needed" >&2; exit 1; }

have_tool() {
  case $1 in
    wrk | h2load | ab) command -v "$1" >/dev/null ;;
    flurry-bench) [[ -x $fbench ]] ;;
    curl-multi) [[ -x $curlmulti ]] ;;
    fl_load) [[ -x $flload ]] ;;
    curl-Z) command -v curl >/dev/null ;;
    aiohttp) "$py" -c 'import aiohttp, uvloop' 2>/dev/null ;;
    httpx) "$py" -c 'import httpx' 2>/dev/null ;;
    requests | requests-threads) "$py" -c 'import requests' 2>/dev/null ;;
    wrk-p[1-9]* | flurry-bench-p[1-9]* | fl_load-p[1-9]*)
      [[ ${1##*-p} =~ ^[0-9]+$ ]] && have_tool "${1%-p*}" ;;
    wrk-static | wrk-dynamic | wrk-t2) have_tool wrk ;;
    flurry-bench-static | flurry-bench-dynamic) [[ -x $fbench ]] && "$fbench" -v | grep -q '+lua' ;;
    flurry-bench-post | flurry-bench-t2) [[ -x $fbench ]] ;;
    *) return 1 ;;
  esac
}
active=()
for t in $tools; do
  if have_tool "$t"; then active+=("$t"); else echo "run.sh: $t not available: skipped" >&2; fi
done
((${#active[@]})) || { echo "run.sh: no tools" >&2; exit 1; }

# ---------------------------------------------------------------- server
ulimit -n "$(ulimit -Hn)" # 10,000 connections need it (hard limit here: 20000)
rundir=$(mktemp -d /tmp/flurry-harness.XXXXXX)
cleanup() {
  bench/harness/nginx.sh stop "$rundir" >/dev/null 2>&1 || true
  bench/harness/canned.sh stop "$rundir" >/dev/null 2>&1 || true
  rm -rf "$rundir"
}
trap cleanup EXIT
if [[ $server == canned ]]; then
  port=$(FLB_SERVER_CPU=$server_cpu bench/harness/canned.sh start "$rundir" --build "$build")
  server_what="canned-server (bench/servers, one thread) on CPU $server_cpu (bench/harness/canned.sh)"
else
  port=$(FLB_SERVER_CPU=$server_cpu bench/harness/nginx.sh start "$rundir")
  server_what="nginx 1 worker on CPU $server_cpu (bench/harness/nginx.sh)"
fi
url=http://127.0.0.1:$port$path
# The body size, measured once (with /get it varies by a few bytes with each
# client's Host, Accept and User-Agent headers, which it echoes).
code=$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)
[[ $code == 200 ]] || { echo "run.sh: GET $path answered ${code:-nothing}, not 200" >&2; exit 1; }
body_bytes=$(curl -s "$url" | wc -c)
echo "run.sh: GET $path: $body_bytes-byte body (curl)" >&2
what="GET $path ($body_bytes-byte body with curl)"
[[ $path == /hello ]] && what="GET /hello ($body_bytes-byte body)"
pin=(taskset -c "$client_cpus")
# The server process (nginx's worker: the master's only child): its CPU time
# is read around every run.
if [[ $server == canned ]]; then
  worker_pid=$(cat "$rundir/canned.pid")
else
  worker_pid=$(pgrep -P "$(cat "$rundir/nginx.pid")" | head -1 || true)
fi
# server_ticks: the worker's user+sys clock ticks so far (0 if unknown).
server_ticks() {
  awk '{print $14 + $15}' "/proc/$worker_pid/stat" 2>/dev/null || echo 0
}
hz=$(getconf CLK_TCK)

# tool_cmd TOOL CONNS SECONDS: the exact command line (printed into the report).
tool_cmd() {
  local t=$1 c=$2 d=$3
  case $t in
    wrk) echo "wrk -t1 -c$c -d${d}s --timeout 10s $url" ;;
    flurry-bench) echo "$fbench -t1 -c$c -d${d}s --timeout 10s $url" ;;
    h2load) echo "h2load --h1 -t1 -c$c -D$d $url" ;;
    # ab stops after -n even with -t (and -t alone means -n 50000).
    ab) echo "ab -k -q -c$c -t$d -n20000000 $url" ;;
    curl-multi) echo "$curlmulti -c $c -n 1000000000 -d $d $url" ;;
    fl_load) echo "$flload -c $c -n 1000000000 -d $d $url" ;;
    curl-Z) echo "$curlz -c $c -d $d $url" ;;
    aiohttp) echo "$py $pyload aiohttp-uvloop -c $c -d $d $url" ;;
    httpx) echo "$py $pyload httpx -c $c -d $d $url" ;;
    requests) echo "$py $pyload requests -c $c -d $d $url" ;;
    requests-threads) echo "$py $pyload requests-threads -c $c -d $d $url" ;;
    wrk-p[0-9]*) echo "wrk -t1 -c$c -d${d}s --timeout 10s -s $root/bench/peers/wrk_pipeline.lua $url -- ${t##*-p}" ;;
    flurry-bench-p[0-9]*) echo "$fbench -t1 -c$c -d${d}s --timeout 10s --pipeline ${t##*-p} $url" ;;
    fl_load-p[0-9]*) echo "$flload -c $c -P ${t##*-p} -n 1000000000 -d $d $url" ;;
    wrk-static) echo "wrk -t1 -c$c -d${d}s --timeout 10s -s $root/bench/scripts/post.lua $url" ;;
    flurry-bench-static) echo "$fbench -t1 -c$c -d${d}s --timeout 10s -s $root/bench/scripts/post.lua $url" ;;
    # The request post.lua makes, from the command line (no spaces: the
    # command is split on them).
    flurry-bench-post) echo "$fbench -t1 -c$c -d${d}s --timeout 10s --method POST -H Content-Type:application/json --body {\"client\":\"flurry-bench\",\"kind\":\"post\"} $url" ;;
    wrk-dynamic) echo "wrk -t1 -c$c -d${d}s --timeout 10s -s $root/bench/scripts/query.lua $url" ;;
    flurry-bench-dynamic) echo "$fbench -t1 -c$c -d${d}s --timeout 10s -s $root/bench/scripts/query.lua $url" ;;
    wrk-t2) echo "wrk -t2 -c$c -d${d}s --timeout 10s $url" ;;
    flurry-bench-t2) echo "$fbench -t2 -c$c -d${d}s --timeout 10s $url" ;;
  esac
}

# parse TOOL OUTFILE -> "requests req_per_s errors"
parse() {
  local t=$1 f=$2
  case ${t%-p[0-9]*} in
    wrk | flurry-bench | wrk-* | flurry-bench-*)
      awk '/ requests in / {n = $1} /^Requests\/sec:/ {r = $2}
           /Socket errors:/ {gsub(",", ""); e += $4 + $6 + $8 + $10}
           /Non-2xx or 3xx/ {e += $NF}
           END {print n + 0, r + 0, e + 0}' "$f" ;;
    h2load)
      awk '/^finished in/ {r = $4} /^requests:/ {n = $8; e = $10 + $12 + $14}
           /^status codes:/ {e += $7 + $9}
           END {print n + 0, r + 0, e + 0}' "$f" ;;
    ab)
      awk '/^Complete requests:/ {n = $3} /^Requests per second:/ {r = $4}
           /^Failed requests:/ {e += $3} /^Non-2xx responses:/ {e += $3}
           END {print n + 0, r + 0, e + 0}' "$f" ;;
    curl-multi | curl-Z | aiohttp | httpx | requests | requests-threads)
      awk '/ requests in / {n = $1} /^Requests\/sec:/ {r = $2} /^errors:/ {e = $2}
           END {print n + 0, r + 0, e + 0}' "$f" ;;
    fl_load) # "errors: E, bad responses: B"
      awk '/ requests in / {n = $1} /^Requests\/sec:/ {r = $2} /^errors:/ {gsub(",", ""); e = $2 + $5}
           END {print n + 0, r + 0, e + 0}' "$f" ;;
  esac
}

median() { sort -g | awk '{a[NR] = $1} END {if (!NR) print 0; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
minmax() { sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%s-%s", lo, hi}'; }

machine() {
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), Linux $(uname -r)."
  echo "Tools: $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2 || true); $(h2load --version 2>/dev/null | head -1); $(ab -V 2>/dev/null | head -1 | sed 's/This is //; s/, Version/ /; s/ <.*//'); $(nginx -v 2>&1 | sed 's/nginx version: //'); libcurl $(pkg-config --modversion libcurl 2>/dev/null || echo '-'); flurry $("$fbench" -v | cut -d' ' -f2)."
}

# ------------------------------------------------------------- scenarios
scenario() {
  local c=$1
  local name=$prefix-c$c$tag
  local tsv=bench/results/$name.tsv md=bench/results/$name.md
  local load_before load_after i k t n r e cpu rss pratio
  mkdir -p bench/results
  load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  printf 'tool\trun\trequests\treq_per_s\terrors\tcpu_us_per_req\tpeak_rss_kb\tserver_cpu_pct\tserver_us_per_req\n' >"$tsv"
  echo "== $c connections, GET $path: ${active[*]}, $runs rounds of ${duration}s" >&2
  for ((i = 0; i < runs; i++)); do
    for ((k = 0; k < ${#active[@]}; k++)); do
      t=${active[(k + i) % ${#active[@]}]} # rotate the order each round
      local out=$rundir/$t.$c.$i.out tf=$rundir/$t.$c.$i.time
      local ticks0 ticks1 t0 t1 srv
      lock_take
      ticks0=$(server_ticks) t0=$(date +%s.%N)
      # shellcheck disable=SC2046
      /usr/bin/time -f '%U %S %M' -o "$tf" "${pin[@]}" $(tool_cmd "$t" "$c" "$duration") >"$out" 2>&1 || true
      ticks1=$(server_ticks) t1=$(date +%s.%N)
      lock_drop
      srv=$(awk -v a="$ticks0" -v b="$ticks1" -v t0="$t0" -v t1="$t1" -v hz="$hz" \
        'BEGIN {if (b > 0 && t1 > t0) printf "%.0f", (b - a) / hz / (t1 - t0) * 100; else print "-"}')
      read -r n r e <<<"$(parse "$t" "$out")"
      read -r cpu rss <<<"$(awk -v n="$n" 'END {printf "%.3f %d", n ? ($1 + $2) * 1e6 / n : 0, $3}' "$tf")"
      # The server's CPU per request: its CPU time over the run / the
      # requests the tool counted (its window is a little shorter: an
      # overestimate by a few percent, the same for every tool).
      srv_us=$(awk -v a="$ticks0" -v b="$ticks1" -v hz="$hz" -v n="$n" \
        'BEGIN {if (b > 0 && n > 0) printf "%.2f", (b - a) / hz * 1e6 / n; else print "-"}')
      printf '%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$((i + 1))" "$n" "$r" "$e" "$cpu" "$rss" "$srv" "$srv_us" >>"$tsv"
      printf '  round %d %-20s %10s req/s %8s requests %4s errors %7s us CPU/req %7s KB RSS, server CPU %s%% (%s us/req)\n' \
        "$((i + 1))" "$t" "$r" "$n" "$e" "$cpu" "$rss" "$srv" "$srv_us" >&2
      if ((n == 0)); then echo "---- $t output:" >&2; tail -5 "$out" >&2; fi
      sleep 1
    done
  done
  load_after=$(cut -d' ' -f1-3 /proc/loadavg)

  # Syscalls per request: one more run of each tool under strace.
  declare -A sys_per_req=()
  # Not above 1,024 connections: strace slows connects so much that the
  # 2 s runs end before most connections are up (0 requests measured).
  if ((do_strace && c <= 1024)) && command -v strace >/dev/null; then
    for t in "${active[@]}"; do
      local sout=$rundir/$t.$c.strace.out sf=$rundir/$t.$c.strace
      lock_take
      # shellcheck disable=SC2046
      strace -f -c -o "$sf" "${pin[@]}" $(tool_cmd "$t" "$c" 2) >"$sout" 2>&1 || true
      lock_drop
      read -r n r e <<<"$(parse "$t" "$sout")"
      local calls
      calls=$(awk '$NF == "total" {print $4; exit}' "$sf")
      sys_per_req[$t]=$(awk -v c="${calls:-0}" -v n="$n" 'BEGIN {if (n > 0) printf "%.2f", c / n; else print "-"}')
      echo "  strace $t: ${calls:-?} syscalls / $n requests = ${sys_per_req[$t]}" >&2
      sleep 1
    done
  fi

  local wrk_med=0
  if [[ " ${active[*]} " == *" wrk "* ]]; then
    wrk_med=$(awk -F'\t' '$1 == "wrk" {print $4}' "$tsv" | median)
  fi
  local dat=$rundir/plot.$c.dat
  : >"$dat"
  {
    local against=""
    [[ $server == canned ]] && against=", against canned-server"
    if [[ $path == /hello ]]; then
      echo "# Keep-alive throughput, $c connections$against"
    else
      echo "# Keep-alive throughput, GET $path ($body_bytes-byte body), $c connections$against"
    fi
    echo
    machine
    echo "$server_what, each client on CPU $client_cpus with one thread (-t2 tools: two),"
    echo "$what, keep-alive. $runs rounds of ${duration} s, tools in rotating order."
    echo "Load average before/after (other work on this machine): $load_before / $load_after."
    echo
    echo "Command: \`bench/harness/run.sh $orig_args\`"
    echo
    echo "| tool | median req/s | min-max req/s | ratio to wrk (medians) | ratio to wrk (median of rounds) | client CPU us/request (median) | peak RSS KB | syscalls/request | server CPU % (median) | server CPU us/request (median) | errors |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    for t in "${active[@]}"; do
      local med mm ratio cpu_med rss_max errs srv_med
      med=$(awk -F'\t' -v t="$t" '$1 == t {print $4}' "$tsv" | median)
      mm=$(awk -F'\t' -v t="$t" '$1 == t {printf "%.0f\n", $4}' "$tsv" | minmax)
      ratio=$(awk -v a="$med" -v b="$wrk_med" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}')
      cpu_med=$(awk -F'\t' -v t="$t" '$1 == t {print $6}' "$tsv" | median)
      rss_max=$(awk -F'\t' -v t="$t" '$1 == t && $7 > m {m = $7} END {print m + 0}' "$tsv")
      errs=$(awk -F'\t' -v t="$t" '$1 == t {s += $5} END {print s + 0}' "$tsv")
      srv_med=$(awk -F'\t' -v t="$t" '$1 == t && $8 != "-" {print $8}' "$tsv" | median)
      srv_us_med=$(awk -F'\t' -v t="$t" '$1 == t && $9 != "-" {print $9}' "$tsv" | median)
      # Paired: this tool's rate over wrk's in the same round, median of rounds
      # (robust to load that comes and goes between rounds).
      pratio=$(awk -F'\t' -v t="$t" '$1 == "wrk" {w[$2] = $4} $1 == t {x[$2] = $4}
        END {for (r in x) if (w[r] > 0) print x[r] / w[r]}' "$tsv" | median)
      [[ $wrk_med == 0 ]] && pratio=-
      printf '| %s | %.0f | %s | %s | %s | %.2f | %s | %s | %s | %s | %s |\n' "$t" "$med" "$mm" "$ratio" \
        "$(awk -v p="$pratio" 'BEGIN {if (p == "-") print "-"; else printf "%.2f", p}')" "$cpu_med" \
        "$rss_max" "${sys_per_req[$t]:--}" "$srv_med" "$srv_us_med" "$errs"
      lo=${mm%-*} hi=${mm#*-}
      printf '"%s" %.0f %s %s %s\n' "$t" "$med" "$lo" "$hi" "$ratio" >>"$dat"
    done
    # Ratios between two tools measured in this run: medians, and the median
    # of the per-round ratios.
    local pairs=() a b
    for t in curl-multi curl-Z aiohttp httpx requests requests-threads; do
      for a in fl_load flurry-bench; do pairs+=("$a/$t"); done
    done
    for a in "${active[@]}"; do # pipelined: against wrk pipelined alike, and libcurl multi
      case $a in flurry-bench-p[0-9]* | fl_load-p[0-9]*) pairs+=("$a/wrk-p${a##*-p}" "$a/curl-multi") ;; esac
    done
    # Scripts: against the same request without -s, and wrk with the same script.
    pairs+=(flurry-bench-static/flurry-bench-post flurry-bench-static/wrk-static
      flurry-bench-dynamic/flurry-bench flurry-bench-dynamic/wrk-dynamic
      flurry-bench-t2/flurry-bench wrk-t2/wrk flurry-bench-t2/wrk-t2)
    local shown=0
    for p in "${pairs[@]}"; do
      a=${p%/*} b=${p#*/}
      [[ " ${active[*]} " == *" $a "* && " ${active[*]} " == *" $b "* ]] || continue
      if ((!shown)); then
        echo
        echo "Ratios in this run (of the medians, and the median of the per-round ratios):"
        echo
        echo "| ratio | medians | per round |"
        echo "|---|---|---|"
        shown=1
      fi
      local ma mb
      ma=$(awk -F'\t' -v t="$a" '$1 == t {print $4}' "$tsv" | median)
      mb=$(awk -F'\t' -v t="$b" '$1 == t {print $4}' "$tsv" | median)
      pratio=$(awk -F'\t' -v a="$a" -v b="$b" '$1 == b {w[$2] = $4} $1 == a {x[$2] = $4}
        END {for (r in x) if (w[r] > 0) print x[r] / w[r]}' "$tsv" | median)
      printf '| %s / %s%s | %s | %s |\n' "$a" "$b" \
        "$([[ $p == fl_load/curl-multi ]] && echo ' (the library vs libcurl multi; target >= 3x)')" \
        "$(awk -v x="$ma" -v y="$mb" 'BEGIN {if (y > 0) printf "%.2fx", x / y; else print "-"}')" \
        "$(awk -v x="$pratio" 'BEGIN {printf "%.2fx", x}')"
    done
    echo
    echo "Commands (client side, each prefixed with \`/usr/bin/time -f '%U %S %M' taskset -c $client_cpus\`;"
    echo "the strace runs: \`strace -f -c taskset -c $client_cpus ...\` with 2 s):"
    echo
    echo '```'
    for t in "${active[@]}"; do tool_cmd "$t" "$c" "$duration" | sed "s|$root/||; s|$port|PORT|"; done
    echo '```'
    echo
    echo "Every run (bench/results/$name.tsv):"
    echo
    echo '```'
    column -t -s $'\t' "$tsv"
    echo '```'
    echo
    echo "![keep-alive throughput, GET $path, $c connections](${name}.png)"
  } >"$md"

  if command -v gnuplot >/dev/null; then
    gnuplot <<PLOT
set terminal pngcairo size 1000,520 noenhanced font ",11"
set output "bench/results/${name}.png"
set title "Keep-alive GET $path ($body_bytes-byte body), $c connections, $server, 1 client thread (median, min-max of $runs)"
set ylabel "requests/s"
set style fill solid 0.6 border -1
set boxwidth 0.6
set yrange [0:*]
set grid ytics
set xtics rotate by -30
unset key
plot "$dat" using 0:2:xtic(1) with boxes lc rgb "#4472c4", \
     "" using 0:2:3:4 with yerrorbars lc rgb "black" pt 0, \
     "" using 0:4:(sprintf("%sx", stringcolumn(5))) with labels offset 0,1
PLOT
  fi
  cat "$md" >&2
}

for c in $conn_list; do
  [[ $c =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: bad connection count $c" >&2; exit 2; }
  scenario "$c"
done

# bench/results/keepalive.md: every scenario measured so far, GET /hello
# (keepalive-cN*) first, then the other paths (keepalive-P-cN*), each by
# connection count.
{
  echo "# Keep-alive throughput: flurry-bench and its peers"
  echo
  echo "Made by \`bench/harness/run.sh\`; one section per path and connection count (the newest run of each)."
  for f in $(
    printf '%s\n' bench/results/keepalive-c[0-9]*.md | sort -V
    printf '%s\n' bench/results/keepalive-*.md | grep -v '^bench/results/keepalive-c[0-9]' | sort -V
  ); do
    [[ -f $f ]] || continue
    echo
    sed 's/^# /## /' "$f"
  done
} >bench/results/keepalive.md
