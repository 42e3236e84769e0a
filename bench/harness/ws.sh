#!/usr/bin/env bash
# WebSocket echo (issue 21): flurry-bench --ws-message beside python3-
# websockets' own client and aiohttp's ws_connect (bench/harness/ws_peer.py)
# and the raw blocking C floor (bench/ws_floor.c), all against one node-ws
# echo server (bench/harness/ws_echo_server.js) pinned to CPU 0, each client
# on CPU 1 with one thread, tools in rotating order, several rounds; medians
# with min-max.
#
#   bench/harness/ws.sh [--runs N] [--duration SECONDS] [--conns N]
#                       [--per-conn N] [--size BYTES] [--wss] [--deflate]
#                       [--results DIR] [--build DIR] [--no-build]
#
# Scenarios:
#   one:  one connection, echo round trips for --duration (default 5 s)
#   many: --conns (1,000) connections, --per-conn (100) messages each
#         (flurry-bench -c 1000 -n 100000; the peers split the same total)
# Messages: --size (64) bytes of text. Variants (each its own results file):
#   (neither)  ws://, permessage-deflate offered by every client (their
#              defaults), declined by the server: bench/results/ws.md
#   --wss      wss:// (TLS 1.3, a P-256 certificate of a CA made for the run,
#              given to every client): bench/results/ws-wss.md
#   --deflate  the server accepts permessage-deflate (node-ws's defaults,
#              every message compressed): bench/results/ws-deflate.md
#   --wss --deflate: both, bench/results/ws-wss-deflate.md
# --results DIR: write the files there instead (smoke runs).
# The floor (ws_floor: libc only, one blocking socket, one write(2) of a
# masked frame and read(2)s until the echo is whole, no event loop) runs in
# the plain variant's "one" scenario only: it has one socket, no TLS and no
# zlib. Its messages per CPU-second are the most any client can get from
# this kernel and server; floor / aiohttp is the ceiling of the issue's
# "flurry-bench >= 20x aiohttp" goal on this machine, reported under the
# tables with flurry-bench / floor.
#
# Per run: messages, messages/s over the echo window (from the moment every
# connection is open to the last echo: the upgrades are not in it, for any
# client), client CPU over that window (flurry-bench: its worker thread's
# getrusage; the peers: their process's), and over the whole process
# (/usr/bin/time user + sys: start, upgrades, closes included); the server's
# CPU share over the run. Reports messages per client CPU-second and the
# ratios of flurry-bench's to the peers' (medians). Every run holds the
# benchmark lock (bench/harness/lock.sh). Writes bench/results/ws*.md and
# the .tsv beside each.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
source bench/harness/lock.sh
orig_args="$*"
runs=3 duration=5 conns=1000 per_conn=100 size=64 deflate=0 wss=0 results=bench/results build=$root/build-bench do_build=1
while (($#)); do
  case $1 in
    --runs) runs=$2; shift ;;
    --duration) duration=$2; shift ;;
    --conns) conns=$2; shift ;;
    --per-conn) per_conn=$2; shift ;;
    --size) size=$2; shift ;;
    --deflate) deflate=1 ;;
    --wss) wss=1 ;;
    --results) results=$2; shift ;;
    --build) build=$2; shift ;;
    --no-build) do_build=0 ;;
    -h | --help) sed -n '2,42p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "ws.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
for v in "$runs" "$duration" "$conns" "$per_conn"; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "ws.sh: bad number $v" >&2; exit 2; }
done
[[ $size =~ ^[0-9]+$ ]] || { echo "ws.sh: bad --size" >&2; exit 2; }
((duration <= 30)) || { echo "ws.sh: keep runs short (--duration <= 30)" >&2; exit 2; }

if ((do_build)); then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j2 --target flurry_bench ws_floor >/dev/null
fi
fbench=$build/bench/flurry_bench/flurry-bench
floor=$build/bench/ws_floor
PY=/usr/bin/python3 # Debian's, with python3-websockets and python3-aiohttp
peer=$root/bench/harness/ws_peer.py
for x in "$fbench" "$floor" /usr/bin/time "$PY"; do [[ -x $x ]] || { echo "ws.sh: $x missing" >&2; exit 1; }; done
"$PY" -c 'import websockets, aiohttp' || { echo "ws.sh: python3-websockets / python3-aiohttp missing" >&2; exit 1; }
[[ -e /usr/share/nodejs/ws ]] && command -v node >/dev/null || { echo "ws.sh: node-ws missing" >&2; exit 1; }

server_cpu=0 client_cpu=1
if (($(nproc) < 2)); then client_cpu=0; fi
rundir=$(mktemp -d /tmp/flurry-harness-ws.XXXXXX)
spid=
cleanup() {
  [[ -n $spid ]] && kill "$spid" 2>/dev/null || true
  rm -rf "$rundir"
}
trap cleanup EXIT
variant=ws tls_args=() tls_dir=() scheme=ws
((wss)) && variant+=-wss
((deflate)) && variant+=-deflate
if ((wss)); then
  # a CA and a server certificate for 127.0.0.1, made for this run
  command -v openssl >/dev/null || { echo "ws.sh: openssl missing" >&2; exit 1; }
  (
    cd "$rundir"
    ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2)
    openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -subj "/CN=ws.sh CA" \
      -addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign,cRLSign
    openssl req -x509 "${ec[@]}" -keyout good.key -out good.pem -subj /CN=localhost \
      -CA ca.pem -CAkey ca.key -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
      -addext basicConstraints=CA:false -addext extendedKeyUsage=serverAuth
  ) >"$rundir/openssl.log" 2>&1 || { echo "ws.sh: could not make the certificates" >&2; cat "$rundir/openssl.log" >&2; exit 1; }
  tls_args=(--cacert "$rundir/ca.pem") tls_dir=("$rundir") scheme=wss
fi
taskset -c "$server_cpu" node bench/harness/ws_echo_server.js "$rundir/port" \
  "$( ((deflate)) && echo deflate || echo plain)" "${tls_dir[@]}" >"$rundir/server.log" 2>&1 &
spid=$!
for ((i = 0; i < 100; i++)); do [[ -s $rundir/port ]] && break; sleep 0.1; done
[[ -s $rundir/port ]] || { echo "ws.sh: the echo server did not start" >&2; cat "$rundir/server.log" >&2; exit 1; }
url=$scheme://127.0.0.1:$(cat "$rundir/port")/
pin=(taskset -c "$client_cpu")
total=$((conns * per_conn))
d=$duration
tls=${tls_args[*]} # the CA path has no spaces (mktemp under /tmp)

# NAME|SCENARIO|COMMAND
tools=(
  "flurry-bench|one|$fbench -t1 -c1 -d${d}s -T 10s --json --ws-message $size ${tls:+$tls }$url"
  "aiohttp|one|$PY $peer aiohttp $url -c 1 -d $d -s $size${tls:+ $tls}"
  "websockets|one|$PY $peer websockets $url -c 1 -d $d -s $size${tls:+ $tls}"
)
((wss || deflate)) || tools+=("raw blocking C floor|one|$floor $url -d $d -s $size")
tools+=(
  "flurry-bench|many|$fbench -t1 -c$conns -n$total -T 30s --json --ws-message $size ${tls:+$tls }$url"
  "aiohttp|many|$PY $peer aiohttp $url -c $conns -n $total -s $size${tls:+ $tls}"
  "websockets|many|$PY $peer websockets $url -c $conns -n $total -s $size${tls:+ $tls}"
)

# OUTFILE -> "messages seconds window_cpu_s errors deflate" (flurry-bench's
# JSON report or ws_peer.py's line)
parse() {
  "$PY" - "$1" <<'PYEOF'
import json, sys
t = open(sys.argv[1]).read()
try:
    d = json.loads(t[t.index("{"):t.rindex("}") + 1])
except ValueError:
    print("0 0 0 1 -")
    sys.exit()
if d.get("tool") == "flurry-bench":
    ws = d.get("websocket", {})
    print(d["requests"], d["runtime_s"], d["thread_cpu_s"], d["errors"]["total"],
          "%d/%d" % (ws.get("deflate_connections", 0), ws.get("connections_upgraded", 0)))
elif "messages" in d:
    dfl = "%d/%d" % (d["deflate_connections"], d["connections"]) if "deflate_connections" in d else "-"
    print(d["messages"], d["seconds"], d["cpu_s"], d["errors"], dfl)
else:
    print("0 0 0 1 -")
PYEOF
}
median() { sort -g | awk '{a[NR] = $1} END {if (!NR) print 0; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
minmax() { sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%s-%s", lo, hi}'; }
machine() {
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), Linux $(uname -r), flurry $(git rev-parse --short HEAD)."
  echo "node $(node --version) with node-ws $(node -e 'console.log(require("/usr/share/nodejs/ws/package.json").version)'), python $("$PY" -c 'import sys; print(sys.version.split()[0])'), websockets $("$PY" -c 'import websockets; print(websockets.__version__)'), aiohttp $("$PY" -c 'import aiohttp; print(aiohttp.__version__)')."
  echo "Server: bench/harness/ws_echo_server.js (node-ws, one process) on CPU $server_cpu; each client on CPU $client_cpu, one thread."
}

mkdir -p "$results"
tsv=$results/$variant.tsv md=$results/$variant.md
printf 'tool\tscenario\trun\tmessages\tseconds\tmsg_per_s\twindow_cpu_s\tmsg_per_cpu_s\tprocess_cpu_s\tmsg_per_process_cpu_s\terrors\tdeflate\tserver_cpu_pct\tuser_us_per_msg\tsys_us_per_msg\n' >"$tsv"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
nt=${#tools[@]}
for scen in one many; do
  sel=()
  for ((k = 0; k < nt; k++)); do [[ ${tools[k]} == *"|$scen|"* ]] && sel+=("${tools[k]}"); done
  ns=${#sel[@]}
  for ((i = 0; i < runs; i++)); do
    for ((k = 0; k < ns; k++)); do
      IFS='|' read -r name _ cmd <<<"${sel[(k + i) % ns]}"
      out=$rundir/run.out tf=$rundir/run.time
      read -r -a argv <<<"$cmd"
      srv=$(measured_run "$out" "$tf" "$spid" "${pin[@]}" "${argv[@]}")
      read -r n secs wcpu e dfl <<<"$(parse "$out")"
      read -r pcpu uus sus <<<"$(awk -v n="$n" 'END {printf "%.3f %.1f %.1f", $1 + $2, n ? $1 * 1e6 / n : 0, n ? $2 * 1e6 / n : 0}' "$tf")"
      row=$(awk -v n="$n" -v s="$secs" -v w="$wcpu" -v p="$pcpu" 'BEGIN {
        printf "%.0f\t%.6f\t%.0f\t%.3f\t%.0f", n / ((s > 0) ? s : 1), w, ((w > 0) ? n / w : 0), p, ((p > 0) ? n / p : 0)}')
      IFS=$'\t' read -r mps w mpc p mpp <<<"$row"
      printf '%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$scen" "$((i + 1))" "$n" "$secs" "$mps" \
        "$w" "$mpc" "$p" "$mpp" "$e" "$dfl" "$srv" "$uus" "$sus" >>"$tsv"
      printf '  %-4s round %d %-13s %8s msgs %8s msg/s %8s msg/CPU-s (window) %8s msg/CPU-s (process) %3s errors, server CPU %s%%\n' \
        "$scen" "$((i + 1))" "$name" "$n" "$mps" "$mpc" "$mpp" "$e" "$srv" >&2
      if ((n == 0)); then echo "---- $name output:" >&2; tail -5 "$out" >&2; fi
      sleep 1
    done
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

col() { awk -F'\t' -v t="$1" -v s="$2" -v c="$3" '$1 == t && $2 == s {print $c}' "$tsv"; }
{
  echo "# WebSocket echo$( ((wss)) && echo " over TLS (wss://)")$( ((deflate)) && echo " with permessage-deflate"): flurry-bench --ws-message beside aiohttp and python3-websockets"
  echo
  machine
  echo "$size-byte text messages, one in flight per connection. permessage-deflate offered by every client, $( ((deflate)) && echo "accepted" || echo "declined") by the server. $runs rounds, tools in rotating order."
  if ((wss)); then
    echo "wss://: TLS with a P-256 server certificate from a CA made for the run (every client verifies it: --cacert)."
  fi
  echo "Load average before/after (other work on this machine): $load_before / $load_after."
  echo
  echo "Command: \`bench/harness/ws.sh $orig_args\`"
  for scen in one many; do
    case $scen in
      one) echo; echo "## One connection, echo round trips for $duration s" ;;
      many) echo; echo "## $conns connections, $per_conn messages each ($total in all)" ;;
    esac
    echo
    echo "| client | median msg/s | min-max | msg per client CPU-s (echo window) | min-max | msg per CPU-s (whole process) | flurry-bench's msg/CPU-s over this (window) | user / system us per msg (whole process) | server CPU % | errors |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    fmpc=$(col flurry-bench "$scen" 8 | median)
    for name in flurry-bench aiohttp websockets "raw blocking C floor"; do
      [[ -n $(col "$name" "$scen" 8) ]] || continue
      mps=$(col "$name" "$scen" 6 | median)
      mpsmm=$(col "$name" "$scen" 6 | minmax)
      mpc=$(col "$name" "$scen" 8 | median)
      mpcmm=$(col "$name" "$scen" 8 | minmax)
      mpp=$(col "$name" "$scen" 10 | median)
      srv=$(col "$name" "$scen" 13 | grep -v -- - | median)
      errs=$(col "$name" "$scen" 11 | awk '{s += $1} END {print s + 0}')
      ratio=$(awk -v a="$fmpc" -v b="$mpc" 'BEGIN {if (b > 0) printf "%.1f", a / b; else print "-"}')
      uus=$(col "$name" "$scen" 14 | median)
      sus=$(col "$name" "$scen" 15 | median)
      printf '| %s | %.0f | %s | %.0f | %s | %.0f | %s | %.1f / %.1f | %s | %s |\n' "$name" "$mps" "$mpsmm" "$mpc" "$mpcmm" "$mpp" "$ratio" "$uus" "$sus" "$srv" "$errs"
    done
  done
  echo
  echo "Goal (issue 21): flurry-bench's messages per CPU-second >= 20x aiohttp's."
  flo=$(col "raw blocking C floor" one 8 | median)
  if [[ -n $(col "raw blocking C floor" one 8) ]]; then
    aio=$(col aiohttp one 8 | median)
    fb=$(col flurry-bench one 8 | median)
    echo
    echo "Ceiling on this kernel (one connection, medians of the echo-window figures above): the raw blocking C floor (bench/ws_floor.c: libc only, one write(2) and the read(2)s of the echo per message) gets $(printf '%.0f' "$flo") messages per CPU-second, $(awk -v a="$flo" -v b="$aio" 'BEGIN {if (b > 0) printf "%.1f", a / b; else print "-"}')x aiohttp's: no client can do better than that ratio here. flurry-bench gets $(awk -v a="$fb" -v b="$flo" 'BEGIN {if (b > 0) printf "%.0f", a * 100 / b; else print "-"}')% of the floor."
  fi
  echo
  echo "Commands (each prefixed with \`/usr/bin/time -f '%U %S %M' taskset -c $client_cpu\`):"
  echo
  echo '```'
  for ((k = 0; k < nt; k++)); do
    IFS='|' read -r _ _ cmd <<<"${tools[k]}"
    echo "$cmd" | sed "s|$root/||g; s|$rundir/|RUNDIR/|g; s|$url|$scheme://127.0.0.1:PORT/|g"
  done
  echo '```'
  echo
  echo "Every run ($tsv):"
  echo
  echo '```'
  column -t -s $'\t' "$tsv"
  echo '```'
} >"$md"
cat "$md" >&2
