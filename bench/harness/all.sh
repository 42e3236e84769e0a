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
# About 20 minutes on a 2-core machine; every load run is bounded by
# --duration (default 3 s). Results and plots in bench/results/.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

runs="" duration=3
while (($#)); do
  case $1 in
    --runs) runs=$2; shift ;;
    --duration) duration=$2; shift ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "all.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ -z $runs || $runs =~ ^[1-9][0-9]*$ ]] || { echo "all.sh: bad --runs" >&2; exit 2; }

bash scripts/bootstrap --bench >&2
main_tools="wrk flurry-bench fl_load h2load ab curl-multi curl-Z aiohttp httpx requests requests-threads wrk-p8 flurry-bench-p8 fl_load-p8"
get_tools="wrk flurry-bench fl_load h2load ab curl-multi aiohttp wrk-p8 flurry-bench-p8 fl_load-p8"
scale_tools="wrk flurry-bench fl_load h2load ab curl-multi"
step() { echo "== all.sh: $* ($(date -u +%H:%M:%S))" >&2; }

step "1/5 keep-alive /hello, 64 connections"
"$here/run.sh" --connections 64 --runs "${runs:-5}" --duration "$duration" --tools "$main_tools"
step "2/5 keep-alive /get, 64 connections"
"$here/run.sh" --path /get --connections 64 --runs "${runs:-3}" --duration "$duration" --no-build --tools "$get_tools"
step "3/5 keep-alive at 1, 512, 10000 connections"
"$here/run.sh" --connections "1 512 10000" --runs "${runs:-3}" --duration "$duration" --no-build --tools "$scale_tools"
step "4/5 TLS"
"$here/tls.sh" --runs "${runs:-3}" --duration "$duration" --no-build
step "5/5 seed workloads on httpbin"
"$here/seeds.sh" ${runs:+--runs "$runs"}
step "summary"
{
  echo "# flurry's targets against the latest harness run"
  echo
  echo "Made by \`bench/harness/all.sh${runs:+ --runs $runs}\` ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores,"
  echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)). Each figure comes from one report in this"
  echo "directory, where every run, the commands and the machine are given; ratios are"
  echo "between tools measured in the same run. \"nginx's core\" is the server's CPU use"
  echo "during the runs (user+sys over wall time of its one worker): near 100%, the"
  echo "server, not the client, sets the rate."
  echo
  python3 "$here/summary.py" bench/results
} >bench/results/summary.md
cat bench/results/summary.md
