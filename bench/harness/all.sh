#!/usr/bin/env bash
# The whole comparison harness, one command: every scenario, then the
# targets against what was measured (bench/results/summary.md).
#
#   bench/harness/all.sh [--runs N] [--duration SECONDS]
#
#   1. keep-alive GET /hello, 64 connections: every tool, pipelined ones too
#      (run.sh; 5 rounds unless --runs)
#   2. keep-alive GET /get (~300-byte JSON), 64 connections (run.sh --path)
#   3. keep-alive at 1, 512 and 10,000 connections (run.sh)
#   4. TLS keep-alive and new connections per second (tls.sh)
#   5. the seed workloads on httpbin: 25 x /get, 200 x /delay/1 (seeds.sh)
#   6. the same against canned-server (bench/servers, far less CPU per
#      request than nginx): keep-alive at 64 connections with every tool
#      that can reach it, scripted runs (-s, wrk's and ours on the same
#      Lua files) and -t2 included; at 1, 512 and 10,000 connections; TLS
#      keep-alive (run.sh and tls.sh --server canned). /get is left out: the
#      canned body is the same on every path.
#   7. user-space instructions per request under callgrind (instructions.sh)
# About 35 minutes on a 2-core machine; every load run is bounded by
# --duration (default 3 s) and holds the benchmark lock (bench/harness/
# lock.sh) while it runs. Results and plots in bench/results/.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

runs="" duration=3
while (($#)); do
  case $1 in
    --runs) runs=$2; shift ;;
    --duration) duration=$2; shift ;;
    -h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "all.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ -z $runs || $runs =~ ^[1-9][0-9]*$ ]] || { echo "all.sh: bad --runs" >&2; exit 2; }

bash scripts/bootstrap --bench >&2
main_tools="wrk flurry-bench fl_load h2load ab curl-multi curl-Z aiohttp httpx requests requests-threads wrk-p8 flurry-bench-p8 fl_load-p8"
get_tools="wrk flurry-bench fl_load h2load ab curl-multi aiohttp wrk-p8 flurry-bench-p8 fl_load-p8"
scale_tools="wrk flurry-bench fl_load h2load ab curl-multi"
canned_tools="wrk flurry-bench fl_load h2load ab curl-multi wrk-p8 flurry-bench-p8 fl_load-p8 wrk-static flurry-bench-static flurry-bench-post wrk-dynamic flurry-bench-dynamic wrk-t2 flurry-bench-t2"
step() { echo "== all.sh: $* ($(date -u +%H:%M:%S))" >&2; }

step "1/7 keep-alive /hello, 64 connections"
"$here/run.sh" --connections 64 --runs "${runs:-5}" --duration "$duration" --tools "$main_tools"
step "2/7 keep-alive /get, 64 connections"
"$here/run.sh" --path /get --connections 64 --runs "${runs:-3}" --duration "$duration" --no-build --tools "$get_tools"
step "3/7 keep-alive at 1, 512, 10000 connections"
"$here/run.sh" --connections "1 512 10000" --runs "${runs:-3}" --duration "$duration" --no-build --tools "$scale_tools"
step "4/7 TLS"
"$here/tls.sh" --runs "${runs:-3}" --duration "$duration" --no-build
step "5/7 seed workloads on httpbin"
"$here/seeds.sh" ${runs:+--runs "$runs"}
step "6/7 canned-server: keep-alive at 64 connections, scripts, -t2; 1, 512, 10000 connections; TLS"
"$here/run.sh" --server canned --connections 64 --runs "${runs:-5}" --duration "$duration" --no-build --tools "$canned_tools"
"$here/run.sh" --server canned --connections "1 512 10000" --runs "${runs:-3}" --duration "$duration" --no-build --tools "$scale_tools"
"$here/tls.sh" --server canned --runs "${runs:-3}" --duration "$duration" --no-build
step "7/7 instructions per request (callgrind)"
"$here/instructions.sh" --no-build
step "summary"
{
  echo "# flurry's targets against the latest harness run"
  echo
  echo "Made by \`bench/harness/all.sh${runs:+ --runs $runs}\` ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores,"
  echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)). Each figure comes from one report in this"
  echo "directory, where every run, the commands and the machine are given; ratios are"
  echo "between tools measured in the same run. \"nginx's core\" / \"server core\" is the"
  echo "server's CPU use during the runs (user+sys over wall time of nginx's one worker,"
  echo "or of canned-server's one thread): near 100%, the server, not the client, sets the"
  echo "rate. Rows that say \"canned\" were measured against canned-server (bench/servers)."
  echo
  python3 "$here/summary.py" bench/results
} >bench/results/summary.md
cat bench/results/summary.md
