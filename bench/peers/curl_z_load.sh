#!/usr/bin/env bash
# curl_z_load: the curl command-line peer of the comparison harness.
# curl --parallel --parallel-max C over a config file of N copies of URL
# (N sized so the transfer list outlasts the duration), stopped after D
# seconds (SIGINT from timeout) if it has not finished; completions are the
# -w lines curl printed, each checked (status 200, body length of the first).
# curl's stdout is line-buffered (stdbuf -oL) so that no completed line is
# lost in the stdio buffer at the SIGINT: that costs curl one write(2) per
# request, which shows in its syscalls per request.
#
#   bench/peers/curl_z_load.sh [-c CONNECTIONS] [-d SECONDS] [-n URLS] URL
#
# Prints "N requests in X.XXXs ...", "Requests/sec: X", "errors: E" (as the
# other peer drivers). Exit status 1 when there were errors.
set -euo pipefail
conns=64 secs=3 n=""
while getopts c:d:n: o; do
  case $o in
    c) conns=$OPTARG ;;
    d) secs=$OPTARG ;;
    n) n=$OPTARG ;;
    *) echo "usage: $0 [-c CONNECTIONS] [-d SECONDS] [-n URLS] URL" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
(($# == 1)) || { echo "usage: $0 [-c CONNECTIONS] [-d SECONDS] [-n URLS] URL" >&2; exit 2; }
url=$1
# curl -Z managed ~25k req/s here at 64 connections; 60k/s of URLs per second
# of duration keeps it busy to the end without a huge list.
[[ -n $n ]] || n=$((secs * 60000))
tmp=$(mktemp -d /tmp/curl-z-load.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
awk -v n="$n" -v u="$url" 'BEGIN {for (i = 0; i < n; i++) printf "url = \"%s\"\noutput = \"/dev/null\"\n", u}' >"$tmp/urls"
t0=$(date +%s.%N)
rc=0
timeout -s INT "$secs" stdbuf -oL curl -s -Z --parallel-max "$conns" --parallel-immediate \
  -w '%{http_code} %{size_download}\n' -K "$tmp/urls" >"$tmp/out" 2>"$tmp/err" || rc=$?
t1=$(date +%s.%N)
awk -v t0="$t0" -v t1="$t1" -v c="$conns" -v rc="$rc" '
  # a line cut short by the SIGINT at the deadline is not a completion
  NF != 2 || $1 == "000" {next}
  !seen++ {len = $2}
  {n++; if ($1 != 200 || $2 != len) e++}
  END {
    el = t1 - t0
    printf "%d requests in %.3fs over %d connections (curl -Z, exit %d)\n", n, el, c, rc
    printf "Requests/sec: %.2f\n", (el > 0 ? n / el : 0)
    printf "errors: %d\n", e + 0
    exit e > 0
  }' "$tmp/out"
