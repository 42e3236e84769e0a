#!/usr/bin/env bash
# HTTP/2 scenarios of the comparison harness (issue 20): the nginx_h2 test
# fixture (one worker pinned to CPU 0; h2 over TLS by ALPN, h2c by prior
# knowledge, HTTP/1.1 ports beside them), every client pinned to CPU 1 with
# one thread, tools in rotating order, several rounds; medians with min-max,
# ratio to h2load, client CPU time per request (GNU time) and peak RSS, and
# nginx's worker CPU over each run.
#
#   bench/harness/h2.sh [--runs N] [--duration SECONDS] [--build DIR] [--no-build]
#                       [--only load|urls|memory]
#
# 1. Load, GET /hello (13 bytes):
#    tls:  64 connections x 10 streams over TLS:
#            h2load -t1 -c64 -m10 -DD https://127.0.0.1:PORT/hello
#            flurry-bench -t1 -c64 -m10 --h2 -dD --cacert ca.pem (same URL)
#          and HTTP/1.1 over TLS on the same port, side by side:
#            wrk -t1 -c64 -dD, flurry-bench -t1 -c64 -dD
#    h2c:  the same in clear text (h2load and flurry-bench --h2c on the h2c
#          port; wrk and flurry-bench on the plain HTTP/1.1 port)
#    one:  one TLS connection x 100 streams (h2load -c1 -m100, flurry-bench
#          -c1 -m100 --h2)
# 2. 1,000 URLs of one origin (GET /files/small.txt?i=N) through the library
#    over TLS, wall time of the whole process (handshakes included):
#            flurry-bench --urls FILE -n 1000 -t1 -c1 -m100 --h2 (one connection)
#            flurry-bench --urls FILE -n 1000 -t1 -c64 (HTTP/1.1, 64 connections)
#          and the CLI: flurry --http2 --parallel-max 100 --url-file FILE
#          against flurry --http1.1 --parallel-max 64 --url-file FILE.
# 3. Memory of an idle connection: bench/h2_idle_mem -n 500 (h2 over TLS)
#    against --h1 (HTTP/1.1 over TLS): heap and RSS per idle pooled
#    connection, and nghttp2's session's part (fl_pool_stats.h2_session_bytes).
# Every load run is bounded by --duration (default 3 s) and holds the
# benchmark lock (bench/harness/lock.sh). Writes bench/results/h2-load.md,
# h2-urls.md, h2-memory.md (and .tsv beside each).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
source bench/harness/lock.sh
orig_args="$*"
runs=3 duration=3 build=$root/build-bench do_build=1 only=
while (($#)); do
  case $1 in
    --runs) runs=$2; shift ;;
    --duration) duration=$2; shift ;;
    --build) build=$2; shift ;;
    --no-build) do_build=0 ;;
    --only) only=$2; shift ;;
    -h | --help) sed -n '2,34p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "h2.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ -z $only || $only =~ ^(load|urls|memory)$ ]] || { echo "h2.sh: --only load, urls or memory" >&2; exit 2; }
want() { [[ -z $only || $only == "$1" ]]; }
[[ $runs =~ ^[1-9][0-9]*$ && $duration =~ ^[1-9][0-9]*$ ]] || { echo "h2.sh: bad --runs/--duration" >&2; exit 2; }
((duration <= 30)) || { echo "h2.sh: keep runs short (--duration <= 30)" >&2; exit 2; }

if ((do_build)); then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j2 --target flurry_bench h2_idle_mem flurry_cli >/dev/null
fi
fbench=$build/bench/flurry_bench/flurry-bench
idlemem=$build/bench/h2_idle_mem
cli=$build/src/cli/flurry
for x in "$fbench" "$idlemem" "$cli" /usr/bin/time; do [[ -x $x ]] || { echo "h2.sh: $x missing" >&2; exit 1; }; done
for x in wrk h2load; do command -v $x >/dev/null || { echo "h2.sh: $x missing (scripts/bootstrap --bench)" >&2; exit 1; }; done

server_cpu=0 client_cpu=1
if (($(nproc) < 2)); then client_cpu=0; fi
rundir=$(mktemp -d /tmp/flurry-harness-h2.XXXXXX)
trap 'tests/servers/stop nginx_h2 "$rundir" >/dev/null 2>&1 || true; rm -rf "$rundir"' EXIT
tests/servers/start nginx_h2 "$rundir" >/dev/null
port=$(cat "$rundir/nginx_h2.port")
h2c_port=$(cat "$rundir/nginx_h2.h2c.port")
plain_port=$(cat "$rundir/nginx_h2.plain.port")
ca=$rundir/nginx_h2/ca.pem
for pid in $(pgrep -f "nginx.*$rundir" || true); do taskset -a -p -c "$server_cpu" "$pid" >/dev/null || true; done
master_pid=$(pgrep -f "nginx.*$rundir" | head -1 || true)
worker_pid=$(pgrep -P "${master_pid:-0}" -f 'nginx: worker' | head -1 || true)
pin=(taskset -c "$client_cpu")
tls=https://127.0.0.1:$port/hello
h2c=http://127.0.0.1:$h2c_port/hello
plain=http://127.0.0.1:$plain_port/hello
d=$duration

# NAME|SCENARIO|COMMAND
tools=(
  "h2load|tls|h2load -t1 -c64 -m10 -D$d $tls"
  "flurry-bench --h2|tls|$fbench -t1 -c64 -m10 --h2 -d${d}s --timeout 10s --cacert $ca $tls"
  "wrk (HTTP/1.1)|tls|wrk -t1 -c64 -d${d}s --timeout 10s $tls"
  "flurry-bench (HTTP/1.1)|tls|$fbench -t1 -c64 -d${d}s --timeout 10s --cacert $ca $tls"
  "h2load h2c|h2c|h2load -t1 -c64 -m10 -D$d $h2c"
  "flurry-bench --h2c|h2c|$fbench -t1 -c64 -m10 --h2c -d${d}s --timeout 10s $h2c"
  "wrk (HTTP/1.1 plain)|h2c|wrk -t1 -c64 -d${d}s --timeout 10s $plain"
  "flurry-bench (HTTP/1.1 plain)|h2c|$fbench -t1 -c64 -d${d}s --timeout 10s $plain"
  "h2load 1x100|one|h2load -t1 -c1 -m100 -D$d $tls"
  "flurry-bench --h2 1x100|one|$fbench -t1 -c1 -m100 --h2 -d${d}s --timeout 10s --cacert $ca $tls"
)

parse() { # OUTFILE -> "requests req_per_s errors protocol"
  awk '/ requests in / {n = $1} /^Requests\/sec:/ {r = $2}
       /Socket errors:/ {gsub(",", ""); e += $4 + $6 + $8 + $10}
       /Non-2xx or 3xx/ {e += $NF}
       /^  Protocol: / {p = $2; sub(",", "", p)}
       /^finished in/ {r = $4}
       /^requests:/ {n = $8; e += $10 + $12 + $14}
       /^status codes:/ {e += $7 + $9}
       /^Application protocol:/ {p = $3}
       END {print n + 0, r + 0, e + 0, (p == "" ? "http/1.1" : p)}' "$1"
}
median() { sort -g | awk '{a[NR] = $1} END {if (!NR) print 0; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
minmax() { sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%s-%s", lo, hi}'; }
machine() {
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), Linux $(uname -r), flurry $(git rev-parse --short HEAD)."
  echo "$(h2load --version 2>/dev/null | head -1), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2 || true), $(nginx -v 2>&1 | sed 's/nginx version: //'), $(openssl version | cut -d' ' -f1-2)."
  echo "Server: the nginx_h2 fixture (tests/servers/nginx_h2.sh), 1 worker on CPU $server_cpu; each client on CPU $client_cpu, one thread."
}

mkdir -p bench/results
# ------------------------------------------------------------ 1. load
if want load; then
tsv=bench/results/h2-load.tsv md=bench/results/h2-load.md
printf 'tool\tscenario\trun\trequests\treq_per_s\terrors\tcpu_us_per_req\tpeak_rss_kb\tprotocol\tserver_cpu_pct\n' >"$tsv"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
nt=${#tools[@]}
for ((i = 0; i < runs; i++)); do
  for ((k = 0; k < nt; k++)); do
    IFS='|' read -r name scen cmd <<<"${tools[(k + i) % nt]}"
    out=$rundir/run.out tf=$rundir/run.time
    read -r -a argv <<<"$cmd"
    srv=$(measured_run "$out" "$tf" "$worker_pid" "${pin[@]}" "${argv[@]}")
    read -r n r e p <<<"$(parse "$out")"
    read -r cpu rss <<<"$(awk -v n="$n" 'END {printf "%.3f %d", n ? ($1 + $2) * 1e6 / n : 0, $3}' "$tf")"
    printf '%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$scen" "$((i + 1))" "$n" "$r" "$e" "$cpu" "$rss" "$p" "$srv" >>"$tsv"
    printf '  round %d %-30s %10s req/s %8s requests %4s errors %8s us CPU/req %7s KB %s server CPU %s%%\n' \
      "$((i + 1))" "$name" "$r" "$n" "$e" "$cpu" "$rss" "$p" "$srv" >&2
    if ((n == 0)); then echo "---- $name output:" >&2; tail -5 "$out" >&2; fi
    sleep 1
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "# HTTP/2 load: flurry-bench beside h2load (and wrk over HTTP/1.1)"
  echo
  machine
  echo "GET /hello (13 bytes). $runs rounds of $duration s, tools in rotating order."
  echo "Load average before/after (other work on this machine): $load_before / $load_after."
  echo
  echo "Command: \`bench/harness/h2.sh $orig_args\`"
  for scen in tls h2c one; do
    case $scen in
      tls) echo; echo "## Over TLS: 64 connections x 10 streams (h2), 64 connections (HTTP/1.1)"; base=h2load ;;
      h2c) echo; echo "## Clear text: h2c 64 connections x 10 streams, HTTP/1.1 64 connections"; base="h2load h2c" ;;
      one) echo; echo "## One TLS connection x 100 streams"; base="h2load 1x100" ;;
    esac
    echo
    echo "| tool | protocol | median req/s | min-max | ratio to $base (medians) | ratio (median of rounds) | client CPU us/request | CPU/request over $base's | peak RSS KB | server CPU % | errors |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    bmed=$(awk -F'\t' -v t="$base" '$1 == t {print $5}' "$tsv" | median)
    bcpu=$(awk -F'\t' -v t="$base" '$1 == t {print $7}' "$tsv" | median)
    for ((k = 0; k < nt; k++)); do
      IFS='|' read -r name s _ <<<"${tools[k]}"
      [[ $s == "$scen" ]] || continue
      med=$(awk -F'\t' -v t="$name" '$1 == t {print $5}' "$tsv" | median)
      mm=$(awk -F'\t' -v t="$name" '$1 == t {printf "%.0f\n", $5}' "$tsv" | minmax)
      pr=$(awk -F'\t' -v a="$name" -v b="$base" '$1 == b {w[$3] = $5} $1 == a {x[$3] = $5}
        END {for (r in x) if (w[r] > 0) print x[r] / w[r]}' "$tsv" | median)
      cpu=$(awk -F'\t' -v t="$name" '$1 == t {print $7}' "$tsv" | median)
      rss=$(awk -F'\t' -v t="$name" '$1 == t && $8 > m {m = $8} END {print m + 0}' "$tsv")
      errs=$(awk -F'\t' -v t="$name" '$1 == t {s += $6} END {print s + 0}' "$tsv")
      srv=$(awk -F'\t' -v t="$name" '$1 == t && $10 != "-" {print $10}' "$tsv" | median)
      proto=$(awk -F'\t' -v t="$name" '$1 == t {print $9}' "$tsv" | sort -u | paste -sd/)
      printf '| %s | %s | %.0f | %s | %s | %.2f | %.2f | %s | %s | %s | %s |\n' "$name" "$proto" "$med" "$mm" \
        "$(awk -v a="$med" -v b="$bmed" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}')" "$pr" "$cpu" \
        "$(awk -v a="$cpu" -v b="$bcpu" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}')" "$rss" "$srv" "$errs"
    done
  done
  echo
  echo "Targets (issue 20): over TLS, 64 x 10, flurry-bench req/s >= h2load's, and its client CPU per request <= 0.8 x h2load's."
  echo
  echo "Commands (client side, each prefixed with \`/usr/bin/time -f '%U %S %M' taskset -c $client_cpu\`):"
  echo
  echo '```'
  for ((k = 0; k < nt; k++)); do
    IFS='|' read -r _ _ cmd <<<"${tools[k]}"
    echo "$cmd" | sed "s|$root/||g; s|$rundir/|RUNDIR/|g; s|:$port/|:PORT/|g; s|:$h2c_port/|:H2C_PORT/|g; s|:$plain_port/|:PLAIN_PORT/|g"
  done
  echo '```'
  echo
  echo "Every run (bench/results/h2-load.tsv):"
  echo
  echo '```'
  column -t -s $'\t' "$tsv"
  echo '```'
} >"$md"
cat "$md" >&2
fi

# ------------------------------------------------------------ 2. 1,000 URLs
if want urls; then
urls=$rundir/urls.txt
for ((i = 0; i < 1000; i++)); do echo "https://127.0.0.1:$port/files/small.txt?i=$i"; done >"$urls"
utsv=bench/results/h2-urls.tsv umd=bench/results/h2-urls.md
printf 'way\trun\tseconds\tresponses\tconnections\tprotocol\n' >"$utsv"
ways=(
  "flurry-bench h2, 1 connection x 100 streams|$fbench --urls $urls -n 1000 -t1 -c1 -m100 --h2 --cacert $ca --json"
  "flurry-bench HTTP/1.1, 64 connections|$fbench --urls $urls -n 1000 -t1 -c64 --cacert $ca --json"
  "flurry --http2 --parallel-max 100|$cli -s --http2 --parallel-max 100 --cacert $ca --url-file $urls -w \\n@%{http_version}@%{num_connects}@\\n"
  "flurry --http1.1 --parallel-max 64|$cli -s --http1.1 --parallel-max 64 --cacert $ca --url-file $urls -w \\n@%{http_version}@%{num_connects}@\\n"
)
nw=${#ways[@]}
for ((i = 0; i < runs; i++)); do
  for ((k = 0; k < nw; k++)); do
    IFS='|' read -r name cmd <<<"${ways[(k + i) % nw]}"
    read -r -a argv <<<"$cmd"
    out=$rundir/urls.out
    lock_take
    t0=$(date +%s.%N)
    "${pin[@]}" "${argv[@]}" >"$out" 2>"$rundir/urls.err" || true
    t1=$(date +%s.%N)
    lock_drop
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
    if [[ $name == flurry-bench* ]]; then
      read -r n c p < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["requests"], d["connections_opened"], d["protocol"])' "$out" 2>/dev/null || echo "0 0 -")
    else
      read -r n c p < <(awk -F@ '/^@/ {n++; c += $3; v[$2]++} END {s = ""; for (k in v) s = s (s == "" ? "" : "/") k; print n + 0, c + 0, (s == "" ? "-" : s)}' "$out")
    fi
    printf '%s\t%d\t%s\t%s\t%s\t%s\n' "$name" "$((i + 1))" "$secs" "$n" "$c" "$p" >>"$utsv"
    printf '  round %d %-40s %s s, %s responses, %s connections, %s\n' "$((i + 1))" "$name" "$secs" "$n" "$c" "$p" >&2
    sleep 1
  done
done
{
  echo "# 1,000 URLs of one origin: HTTP/2 on one connection against HTTP/1.1 on 64"
  echo
  machine
  echo "GET /files/small.txt?i=0..999 (11 bytes each) over TLS; wall time of the whole process (start, TLS handshakes, 1,000 responses, exit). $runs rounds, in rotating order."
  echo
  echo "| way | median s | min-max s | responses | connections | protocol |"
  echo "|---|---|---|---|---|---|"
  for ((k = 0; k < nw; k++)); do
    IFS='|' read -r name _ <<<"${ways[k]}"
    med=$(awk -F'\t' -v t="$name" '$1 == t {print $3}' "$utsv" | median)
    mm=$(awk -F'\t' -v t="$name" '$1 == t {print $3}' "$utsv" | minmax)
    resp=$(awk -F'\t' -v t="$name" '$1 == t {print $4}' "$utsv" | sort -u | paste -sd/)
    conns=$(awk -F'\t' -v t="$name" '$1 == t {print $5}' "$utsv" | sort -u | paste -sd/)
    proto=$(awk -F'\t' -v t="$name" '$1 == t {print $6}' "$utsv" | sort -u | paste -sd/)
    printf '| %s | %.3f | %s | %s | %s | %s |\n' "$name" "$med" "$mm" "$resp" "$conns" "$proto"
  done
  echo
  echo "Target (issue 20): h2 on one connection finishes no slower than HTTP/1.1 on 64 connections."
  echo
  echo "Commands (each prefixed with \`taskset -c $client_cpu\`; URLs in RUNDIR/urls.txt):"
  echo
  echo '```'
  for ((k = 0; k < nw; k++)); do
    IFS='|' read -r _ cmd <<<"${ways[k]}"
    echo "$cmd" | sed "s|$root/||g; s|$rundir/|RUNDIR/|g"
  done
  echo '```'
} >"$umd"
cat "$umd" >&2
fi

# ------------------------------------------------------------ 3. idle memory
if want memory; then
mtsv=bench/results/h2-memory.tsv mmd=bench/results/h2-memory.md
printf 'protocol\trun\theap_bytes_per_conn\trss_bytes_per_conn\tconnections\tnghttp2_session_bytes_per_conn\n' >"$mtsv"
for ((i = 0; i < runs; i++)); do
  for proto in h2 http/1.1; do
    args=(-n 500 --cacert "$ca")
    [[ $proto == h2 ]] || args+=(--h1)
    lock_take
    "${pin[@]}" "$idlemem" "${args[@]}" "$tls" >"$rundir/mem.out" 2>&1 || true
    lock_drop
    read -r heap rssb < <(awk '/^per idle connection:/ {print $5, $8}' "$rundir/mem.out")
    conns=$(awk '/^connections:/ {print $2 "/" $8}' "$rundir/mem.out")
    sess=$(awk '/^of which nghttp2/ {print $5}' "$rundir/mem.out")
    printf '%s\t%d\t%s\t%s\t%s\t%s\n' "$proto" "$((i + 1))" "${heap:-0}" "${rssb:-0}" "$conns" "${sess:-0}" >>"$mtsv"
    printf '  round %d %-9s heap %s B/conn, RSS %s B/conn (open/h2: %s)\n' "$((i + 1))" "$proto" "${heap:-?}" "${rssb:-?}" "$conns" >&2
  done
done
{
  echo "# Memory of an idle connection: HTTP/2 against HTTP/1.1, both over TLS"
  echo
  machine
  echo "bench/h2_idle_mem: one request, then 500 at once with one stream per connection (h2_max_concurrent_streams 1), all request objects freed, the connections idle in the pool; heap (glibc mallinfo2, in use) and RSS before and after, over the connections added. $runs runs each."
  echo
  echo "| protocol | heap bytes per idle connection (median) | RSS bytes per idle connection (median) | connections open / agreed h2 |"
  echo "|---|---|---|---|"
  for proto in h2 http/1.1; do
    printf '| %s | %s | %s | %s |\n' "$proto" \
      "$(awk -F'\t' -v t="$proto" '$1 == t {print $3}' "$mtsv" | median)" \
      "$(awk -F'\t' -v t="$proto" '$1 == t {print $4}' "$mtsv" | median)" \
      "$(awk -F'\t' -v t="$proto" '$1 == t {print $5}' "$mtsv" | sort -u | paste -sd' ')"
  done
  echo
  h2m=$(awk -F'\t' '$1 == "h2" {print $3}' "$mtsv" | median)
  h1m=$(awk -F'\t' '$1 == "http/1.1" {print $3}' "$mtsv" | median)
  sm=$(awk -F'\t' '$1 == "h2" {print $6}' "$mtsv" | median)
  echo "nghttp2's session per idle h2 connection (fl_pool_stats.h2_session_bytes, counted in its allocator): $sm bytes (median)."
  echo
  echo "Target (issue 20): an idle h2 connection costs no more than an idle TLS HTTP/1.1 connection plus nghttp2's session: $h2m against $h1m + $sm = $(awk -v a="$h1m" -v b="$sm" 'BEGIN {print a + b}'): $(awk -v h="$h2m" -v a="$h1m" -v b="$sm" 'BEGIN {d = a + b - h; if (d >= 0) printf "met, %d bytes under", d; else printf "missed, %d bytes over", -d}')."
  echo
  echo "Commands: \`taskset -c $client_cpu build-bench/bench/h2_idle_mem -n 500 --cacert RUNDIR/nginx_h2/ca.pem https://127.0.0.1:PORT/hello\` (h2) and the same with \`--h1\`."
} >"$mmd"
cat "$mmd" >&2
fi
