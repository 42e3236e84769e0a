#!/usr/bin/env bash
# TLS scenarios of the comparison harness, same nginx (the nginx_tls test
# fixture, one worker pinned to CPU 0), every client pinned to CPU 1 with one
# thread, tools in rotating order, several rounds; medians with min-max,
# ratio to wrk, client CPU time per request and peak RSS (GNU time).
#
#   bench/harness/tls.sh [--connections N] [--runs N] [--duration SECONDS]
#                        [--build DIR] [--no-build] [--server nginx|canned]
#
# 1. keep-alive over TLS, GET /hello (13 bytes), N connections (default 64):
#      wrk -t1 -cN -dD https://127.0.0.1:PORT/hello
#      flurry-bench -t1 -cN -dD --cacert ca.pem https://127.0.0.1:PORT/hello
#      fl_load -c N -n 1000000000 -d D --cacert ca.pem https://127.0.0.1:PORT/hello
#    and pipelined, 8 in flight per connection, for comparison with each other:
#      wrk ... -s bench/peers/wrk_pipeline.lua URL -- 8
#      flurry-bench ... --pipeline 8 --cacert ca.pem URL
# 2. new connections per second (one request each, Connection: close), as
#    bench/tls_bench.sh:
#      wrk -H 'Connection: close' on the port without session cache and
#        tickets (nginx_tls.noresume): wrk's full-handshake baseline;
#      fl_load -N on the normal port: flurry resumes (its session cache);
#      for reference wrk -H 'Connection: close' on the normal port (wrk
#        resumes too: SSL_clear on its per-slot SSL object) and fl_load -N
#        on the no-resumption port (flurry's full handshakes).
# The certificate is RSA 2048, TLS 1.3 is negotiated. Every run is bounded by
# --duration (default 3 s). Each table gives nginx's worker CPU use during
# the runs. Writes bench/results/tls-cN.{md,tsv,png}.
# --server canned: the keep-alive scenario (1.) only, against canned-server
# (bench/harness/canned.sh --tls: a certificate made by the openssl command
# line at start), into bench/results/tls-canned-cN.*.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
source bench/harness/lock.sh
orig_args=$(for a in "$@"; do if [[ $a =~ [[:space:]] ]]; then printf "\"%s\" " "$a"; else printf "%s " "$a"; fi; done); orig_args=${orig_args% }
conns=64 runs=3 duration=3 build=$root/build-bench do_build=1 server=nginx
while (($#)); do
  case $1 in
    --connections) conns=$2; shift ;;
    --runs) runs=$2; shift ;;
    --duration) duration=$2; shift ;;
    --build) build=$2; shift ;;
    --no-build) do_build=0 ;;
    --server) server=$2; shift ;;
    -h | --help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "tls.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ $conns =~ ^[1-9][0-9]*$ && $runs =~ ^[1-9][0-9]*$ && $duration =~ ^[1-9][0-9]*$ ]] ||
  { echo "tls.sh: bad --connections/--runs/--duration" >&2; exit 2; }
((duration <= 30)) || { echo "tls.sh: keep runs short (--duration <= 30)" >&2; exit 2; }
((conns <= 2000)) || { echo "tls.sh: the nginx_tls fixture has worker_connections 4096" >&2; exit 2; }
[[ $server == nginx || $server == canned ]] || { echo "tls.sh: --server nginx or canned" >&2; exit 2; }

if ((do_build)); then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j2 --target flurry_bench fl_load canned_server >/dev/null
fi
fbench=$build/bench/flurry_bench/flurry-bench
flload=$build/bench/fl_load
for x in "$fbench" "$flload" /usr/bin/time; do [[ -x $x ]] || { echo "tls.sh: $x missing" >&2; exit 1; }; done
command -v wrk >/dev/null || { echo "tls.sh: wrk missing (scripts/bootstrap --bench)" >&2; exit 1; }

server_cpu=0 client_cpu=1
if (($(nproc) < 2)); then client_cpu=0; fi
rundir=$(mktemp -d /tmp/flurry-harness-tls.XXXXXX)
trap 'tests/servers/stop nginx_tls "$rundir" >/dev/null 2>&1 || true; bench/harness/canned.sh stop "$rundir" >/dev/null 2>&1 || true; rm -rf "$rundir"' EXIT
pin=(taskset -c "$client_cpu")
name_prefix=tls
if [[ $server == canned ]]; then
  name_prefix=tls-canned
  port=$(FLB_SERVER_CPU=$server_cpu bench/harness/canned.sh start "$rundir" --tls --build "$build")
  full_port=$port
  ca=$rundir/canned.crt
  worker_pid=$(cat "$rundir/canned.pid")
  server_what="canned-server --tls (bench/harness/canned.sh, a certificate made at start by the openssl command line), one thread on CPU $server_cpu"
else
  tests/servers/start nginx_tls "$rundir" >/dev/null
  port=$(cat "$rundir/nginx_tls.port")
  full_port=$(cat "$rundir/nginx_tls.noresume.port")
  ca=$rundir/nginx_tls/ca.pem
  # Pin the fixture's nginx (master and worker) to the server CPU. Only ours:
  # their command lines name RUNDIR.
  for pid in $(pgrep -f "nginx.*$rundir" || true); do taskset -a -p -c "$server_cpu" "$pid" >/dev/null || true; done
  # nginx's worker: its CPU time is read around every run (near 100% means the
  # server, not the client, sets the rate).
  master_pid=$(pgrep -f "nginx.*$rundir" | head -1 || true) # the worker's command line does not name it
  worker_pid=$(pgrep -P "${master_pid:-0}" -f 'nginx: worker' | head -1 || true)
  server_what="nginx_tls fixture (tests/servers/nginx_tls.sh), 1 worker on CPU $server_cpu"
fi
ka=https://127.0.0.1:$port/hello
hs_res=https://localhost:$port/hello
hs_full=https://localhost:$full_port/hello
big=1000000000

# Tools: NAME|SCENARIO|COMMAND (a shell word list: no spaces in paths)
tools=(
  "wrk|keepalive|wrk -t1 -c$conns -d${duration}s --timeout 10s $ka"
  "flurry-bench|keepalive|$fbench -t1 -c$conns -d${duration}s --timeout 10s --cacert $ca $ka"
  "fl_load|keepalive|$flload -c $conns -n $big -d $duration --cacert $ca $ka"
  "wrk-p8|keepalive|wrk -t1 -c$conns -d${duration}s --timeout 10s -s $root/bench/peers/wrk_pipeline.lua $ka -- 8"
  "flurry-bench-p8|keepalive|$fbench -t1 -c$conns -d${duration}s --timeout 10s --pipeline 8 --cacert $ca $ka"
  "wrk full|handshake|wrk -t1 -c$conns -d${duration}s --timeout 10s -H 'Connection: close' https://127.0.0.1:$full_port/hello"
  "fl_load -N resumed|handshake|$flload -N -c $conns -n $big -d $duration --cacert $ca $hs_res"
  "(ref.) wrk resumed|handshake|wrk -t1 -c$conns -d${duration}s --timeout 10s -H 'Connection: close' $ka"
  "(ref.) fl_load -N full|handshake|$flload -N -c $conns -n $big -d $duration --cacert $ca $hs_full"
)
if [[ $server == canned ]]; then # keep-alive only: no port without resumption here
  kept=()
  for t in "${tools[@]}"; do [[ $t == *"|keepalive|"* ]] && kept+=("$t"); done
  tools=("${kept[@]}")
fi

parse() { # OUTFILE -> "requests req_per_s errors extra"
  awk '/ requests in / {n = $1} /^Requests\/sec:/ {r = $2}
       /Socket errors:/ {gsub(",", ""); e += $4 + $6 + $8 + $10}
       /Non-2xx or 3xx/ {e += $NF}
       /^errors:/ {gsub(",", ""); e += $2 + $5}
       /^TLS handshakes:/ {gsub(/\(/, "", $4); x = sprintf("%.1f%%-resumed", $3 ? 100 * $4 / $3 : 0)}
       END {print n + 0, r + 0, e + 0, (x == "" ? "-" : x)}' "$1"
}
median() { sort -g | awk '{a[NR] = $1} END {if (!NR) print 0; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
minmax() { sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%s-%s", lo, hi}'; }

mkdir -p bench/results
tsv=bench/results/$name_prefix-c$conns.tsv md=bench/results/$name_prefix-c$conns.md
printf 'tool\tscenario\trun\trequests\treq_per_s\terrors\tcpu_us_per_req\tpeak_rss_kb\tresumed\tserver_cpu_pct\n' >"$tsv"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
nt=${#tools[@]}
for ((i = 0; i < runs; i++)); do
  for ((k = 0; k < nt; k++)); do
    IFS='|' read -r name scen cmd <<<"${tools[(k + i) % nt]}"
    out=$rundir/run.out tf=$rundir/run.time
    argv=()
    eval "argv=($cmd)"
    srv=$(measured_run "$out" "$tf" "$worker_pid" "${pin[@]}" "${argv[@]}")
    read -r n r e x <<<"$(parse "$out")"
    read -r cpu rss <<<"$(awk -v n="$n" 'END {printf "%.3f %d", n ? ($1 + $2) * 1e6 / n : 0, $3}' "$tf")"
    printf '%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$scen" "$((i + 1))" "$n" "$r" "$e" "$cpu" "$rss" "$x" "$srv" >>"$tsv"
    printf '  round %d %-24s %10s req/s %8s requests %4s errors %8s us CPU/req %7s KB %s server CPU %s%%\n' \
      "$((i + 1))" "$name" "$r" "$n" "$e" "$cpu" "$rss" "$x" "$srv" >&2
    if ((n == 0)); then echo "---- $name output:" >&2; tail -5 "$out" >&2; fi
    sleep 1
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

dat=$rundir/plot.dat
: >"$dat"
{
  if [[ $server == canned ]]; then
    echo "# TLS keep-alive, $conns connections, against canned-server"
  else
    echo "# TLS: keep-alive and new connections, $conns connections"
  fi
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), Linux $(uname -r)."
  echo "$(openssl version | cut -d' ' -f1-2), $(nginx -v 2>&1 | sed 's/nginx version: //'), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2 || true), flurry $("$fbench" -v | cut -d' ' -f2)."
  echo "$server_what; each client on CPU $client_cpu, one thread."
  echo "TLS 1.3, RSA 2048 certificate, GET /hello (13 bytes). $runs rounds of $duration s, tools in rotating order."
  echo "Load average before/after: $load_before / $load_after."
  echo
  echo "Command: \`bench/harness/tls.sh $orig_args\`"
  for scen in keepalive handshake; do
    [[ " ${tools[*]} " == *"|$scen|"* ]] || continue
    echo
    if [[ $scen == keepalive ]]; then
      echo "## Keep-alive over TLS (req/s)"
      base=wrk
    else
      echo "## New connections per second (one request each, Connection: close)"
      base="wrk full"
    fi
    echo
    echo "| tool | median /s | min-max | ratio to $base (medians) | ratio to $base (median of rounds) | client CPU us/request | peak RSS KB | server CPU % (median) | errors | TLS sessions resumed |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    bmed=$(awk -F'\t' -v t="$base" '$1 == t {print $5}' "$tsv" | median)
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
      res=$(awk -F'\t' -v t="$name" '$1 == t && $9 != "-" {sub("%-resumed", "", $9); printf "%s%s%%", sep, $9; sep = " "}' "$tsv")
      ratio=$(awk -v a="$med" -v b="$bmed" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}')
      printf '| %s | %.0f | %s | %s | %.2f | %.2f | %s | %s | %s | %s |\n' "$name" "$med" "$mm" "$ratio" "$pr" "$cpu" "$rss" "$srv" "$errs" "${res:--}"
      printf '"%s" %.0f %s %s %s\n' "$name" "$med" "${mm%-*}" "${mm#*-}" "$ratio" >>"$dat.$scen"
    done
  done
  echo
  if [[ $server == nginx ]]; then
    echo "wrk keeps one SSL object per connection slot and SSL_clear()s it on reconnect, so"
    echo "against a server that allows resumption it resumes as well; its full-handshake rate"
    echo "is measured on the port where nginx has no session cache and no tickets."
    echo
  fi
  echo "Commands (client side, each prefixed with \`/usr/bin/time -f '%U %S %M' taskset -c $client_cpu\`):"
  echo
  echo '```'
  for ((k = 0; k < nt; k++)); do
    IFS='|' read -r _ _ cmd <<<"${tools[k]}"
    echo "$cmd" | sed "s|$root/||g; s|$rundir/|RUNDIR/|g; s|:$port/|:PORT/|g; s|:$full_port/|:NORESUME_PORT/|g"
  done
  echo '```'
  echo
  echo "Every run (bench/results/$name_prefix-c$conns.tsv):"
  echo
  echo '```'
  column -t -s $'\t' "$tsv"
  echo '```'
  echo
  echo "![TLS, $conns connections, $server](${name_prefix}-c$conns.png)"
} >"$md"

if command -v gnuplot >/dev/null; then
  layout="1,2" hs_plot=1 hs_cmds=""
  if [[ $server == canned ]]; then
    layout="1,1" hs_plot=0
  else
    hs_cmds='set title "new connections (Connection: close)"
set ylabel "connections/s"
plot "'$dat.handshake'" using 0:2:xtic(1) with boxes lc rgb "#ed7d31", \
     "" using 0:2:3:4 with yerrorbars lc rgb "black" pt 0, \
     "" using 0:4:(sprintf("%sx", stringcolumn(5))) with labels offset 0,1'
  fi
  gnuplot <<PLOT
set terminal pngcairo size $([[ $hs_plot == 1 ]] && echo 1100 || echo 700),480 noenhanced font ",11"
set output "bench/results/$name_prefix-c$conns.png"
set multiplot layout $layout title "TLS, $conns connections, $server, 1 client thread (median, min-max of $runs)"
set style fill solid 0.6 border -1
set boxwidth 0.6
set yrange [0:*]
set grid ytics
set xtics rotate by -20
unset key
set title "keep-alive GET /hello"
set ylabel "requests/s"
plot "$dat.keepalive" using 0:2:xtic(1) with boxes lc rgb "#4472c4", \
     "" using 0:2:3:4 with yerrorbars lc rgb "black" pt 0, \
     "" using 0:4:(sprintf("%sx", stringcolumn(5))) with labels offset 0,1
$hs_cmds
unset multiplot
PLOT
fi
cat "$md" >&2
