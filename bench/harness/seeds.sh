#!/usr/bin/env bash
# The seed workloads, timed: the seeds' programs fetch BASE + TEMPLATE (%d ->
# 0..COUNT-1) all at once, print every JSON body, then "Done in X.XXXs"
# (here with SEED_PRECISE=1: microseconds).
# Two workloads, 25 x /get?id=%d and 200 x /delay/1?id=%d, against httpbin
# under gunicorn (tests/servers/start httpbin: one worker, 256 threads)
# pinned to CPU 0, every client pinned to CPU 1. The concurrent ways only
# (the serial ones take 200 s over /delay/1 by construction):
#
#   flurry-async      build/examples/seed_gather (one loop, fl_gather)
#   flurry-8-threads  build/examples/seed_threads (fl_map_threads, 8 threads)
#   curl-multi        build/bench/seeds/curl_multi_seed (libcurl multi)
#   aiohttp-gather    bench/seeds/seeds.py (one ClientSession, gather)
#   requests-threads  bench/seeds/seeds.py (ThreadPoolExecutor(8), a Session)
#
#   bench/harness/seeds.sh [--runs N] [--base URL] [--tools "flurry-async ..."]
#                          [--build DIR] [--no-build]
#
# --runs N     rounds per workload (default 5 for /get, 3 for /delay/1)
# --base URL   use that httpbin instead of starting one here (not pinned)
# --no-build   use the binaries already in --build (default build-bench)
#
# First one untimed warm-up run of each tool per workload (gunicorn's first
# requests are slow), then the rounds: tools in turns, the order rotating
# each round, 0.5 s apart, each run under `timeout 60`. A run counts as an
# error (and its time is left out) if it exits non-zero, prints no "Done in"
# or lacks the body of any of the COUNT URLs (checked by the ids in the
# bodies' "url" fields). Missing tools are skipped and said so. Writes
# bench/results/seeds.{md,tsv,png}: per workload the median, min-max and the
# time over libcurl multi's (medians, and the median of the per-round ratios).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
source bench/harness/lock.sh

orig_args=$(for a in "$@"; do if [[ $a =~ [[:space:]] ]]; then printf "\"%s\" " "$a"; else printf "%s " "$a"; fi; done); orig_args=${orig_args% }
runs="" base="" build=$root/build-bench do_build=1
tools="flurry-async flurry-8-threads curl-multi aiohttp-gather requests-threads"
while (($#)); do
  case $1 in
    --runs) runs=$2; shift ;;
    --base) base=$2; shift ;;
    --tools) tools=$2; shift ;;
    --build) build=$2; shift ;;
    --no-build) do_build=0 ;;
    -h | --help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "seeds.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ -z $runs || $runs =~ ^[1-9][0-9]?$ ]] || { echo "seeds.sh: bad --runs (1-99)" >&2; exit 2; }

# "label|count|template|default rounds"
workloads=("25 x /get|25|/get?id=%d|5" "200 x /delay/1|200|/delay/1?id=%d|3")

server_cpu=0 client_cpu=1
if (($(nproc) < 2)); then client_cpu=0; fi
pin=(taskset -c "$client_cpu")
py=/usr/bin/python3
[[ -x $py ]] || py=python3

# ------------------------------------------------------------------ build
if ((do_build)); then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j2 --target seed_gather seed_threads >/dev/null
  cmake --build "$build" -j2 --target curl_multi_seed >/dev/null 2>&1 || true
fi
gather=$build/examples/seed_gather
threads=$build/examples/seed_threads
curlmulti=$build/bench/seeds/curl_multi_seed
seedspy=$root/bench/seeds/seeds.py

have_tool() {
  case $1 in
    flurry-async) [[ -x $gather ]] ;;
    flurry-8-threads) [[ -x $threads ]] ;;
    curl-multi) [[ -x $curlmulti ]] ;;
    aiohttp-gather) "$py" -c 'import aiohttp' 2>/dev/null ;;
    requests-threads) "$py" -c 'import requests' 2>/dev/null ;;
    *) return 1 ;;
  esac
}
why_missing() {
  case $1 in
    flurry-async | flurry-8-threads | curl-multi) echo "not built (curl_multi_seed needs libcurl's headers)" ;;
    aiohttp-gather) echo "$py cannot import aiohttp (python3-aiohttp)" ;;
    requests-threads) echo "$py cannot import requests (python3-requests)" ;;
    *) echo "unknown tool" ;;
  esac
}
active=() skipped=()
for t in $tools; do
  if have_tool "$t"; then
    active+=("$t")
  else
    echo "seeds.sh: $t skipped: $(why_missing "$t")" >&2
    skipped+=("$t ($(why_missing "$t"))")
  fi
done
((${#active[@]})) || { echo "seeds.sh: no tools" >&2; exit 1; }

# ---------------------------------------------------------------- server
rundir=$(mktemp -d /tmp/flurry-seeds.XXXXXX)
started=0
cleanup() {
  if ((started)); then tests/servers/stop httpbin "$rundir" >/dev/null 2>&1 || true; fi
  rm -rf "$rundir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [[ -z $base ]]; then
  started=1
  echo "seeds.sh: starting httpbin (gunicorn) on CPU $server_cpu..." >&2
  # The affinity is inherited by gunicorn's arbiter and its worker.
  taskset -c "$server_cpu" tests/servers/start httpbin "$rundir" >&2
  base="http://127.0.0.1:$(cat "$rundir/httpbin.port")"
  # Check it on gunicorn's processes (its session: arbiter and worker).
  server_affinity=$(for p in $(pgrep -s "$(cat "$rundir/httpbin.pid")" 2>/dev/null || true); do
    taskset -cp "$p" 2>/dev/null | sed 's/.*: //'
  done | sort -u | paste -sd' ' || true)
  server="httpbin under gunicorn (tests/servers/start httpbin: 1 worker, gthread, 256 threads), pinned to CPU $server_cpu (its processes' affinity: ${server_affinity:-?})"
  [[ $server_affinity == "$server_cpu" ]] ||
    echo "seeds.sh: warning: server affinity is '${server_affinity:-?}', not $server_cpu" >&2
else
  server="$base (given with --base; not pinned)"
fi
base=${base%/}

# tool_cmd TOOL COUNT TEMPLATE: the client's command line.
tool_cmd() {
  local t=$1 n=$2 tm=$3
  case $t in
    flurry-async) echo "$gather $base $n $tm" ;;
    flurry-8-threads) echo "$threads $base $n $tm" ;;
    curl-multi) echo "$curlmulti $base $n $tm" ;;
    aiohttp-gather | requests-threads) echo "$py $seedspy $t $base $n $tm" ;;
  esac
}

# run_one TOOL COUNT TEMPLATE OUT -> "seconds bodies exit" (seconds "-" when
# no "Done in"; bodies: distinct ids 0..COUNT-1 among the bodies' "url"s).
run_one() {
  local t=$1 n=$2 tm=$3 out=$4 rc=0 secs bodies
  # shellcheck disable=SC2046 # the command line is split on purpose (no spaces in it)
  lock_take
  SEED_PRECISE=1 timeout 60 "${pin[@]}" $(tool_cmd "$t" "$n" "$tm") >"$out" 2>&1 || rc=$?
  lock_drop
  secs=$(awk '/^Done in / {s = $3; sub(/s$/, "", s)} END {print (s == "" ? "-" : s)}' "$out")
  bodies=$(grep -o '"url": *"[^"]*"' "$out" | grep -oE '[?&]id=[0-9]+' | cut -d= -f2 |
    awk -v n="$n" '$1 < n' | sort -un | wc -l || true)
  echo "$secs $bodies $rc"
}

median() { sort -g | awk '{a[NR] = $1} END {if (!NR) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
minmax() { sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {if (NR) printf "%s-%s", lo, hi; else print "-"}'; }
# sec SECONDS: milliseconds with a decimal (the programs print microseconds
# with SEED_PRECISE=1).
sec() { awk -v s="$1" 'BEGIN {if (s == "-") print "-"; else printf "%.4f", s}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a != "-" && b != "-" && b > 0) printf "%.2f", a / b; else print "-"}'; }

machine() {
  local v
  v=$("$py" - <<'PY' 2>/dev/null || true
import importlib.metadata as m, platform
out = ["Python " + platform.python_version()]
for name in ("gunicorn", "httpbin", "aiohttp", "requests"):
    try:
        out.append("%s %s" % (name, m.version(name)))
    except Exception:
        pass
print(", ".join(out))
PY
)
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), Linux $(uname -r)."
  echo "Tools: ${v:-python3}; libcurl $(pkg-config --modversion libcurl 2>/dev/null || echo '-'); flurry $(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt" 2>/dev/null || echo '?') (Release, $build), git $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src include 2>/dev/null || echo ' with uncommitted changes in src/')."
}

# ------------------------------------------------------------- workloads
mkdir -p bench/results
tsv=bench/results/seeds.tsv md=bench/results/seeds.md png=bench/results/seeds.png
printf 'workload\ttool\tround\tseconds\tbodies\tcount\texit\tok\n' >"$tsv"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for w in "${workloads[@]}"; do
  IFS='|' read -r label count tmpl defruns <<<"$w"
  rounds=${runs:-$defruns}
  echo "== $label: ${active[*]}; a warm-up run each, then $rounds rounds" >&2
  for ((i = 0; i <= rounds; i++)); do # round 0: the warm-up, not counted
    for ((k = 0; k < ${#active[@]}; k++)); do
      t=${active[(k + i) % ${#active[@]}]} # rotate the order each round
      out=$rundir/$t.$count.$i.out
      read -r secs bodies rc <<<"$(run_one "$t" "$count" "$tmpl" "$out")"
      ok=1
      [[ $rc == 0 && $secs != - && $bodies == "$count" ]] || ok=0
      printf '%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n' "$label" "$t" "$i" "$secs" "$bodies" "$count" "$rc" "$ok" >>"$tsv"
      printf '  %-8s %-17s %8s s %4s/%s bodies exit %s%s\n' "$( ((i)) && echo "round $i" || echo warm-up)" \
        "$t" "$secs" "$bodies" "$count" "$rc" "$( ((ok)) || echo '  ERROR')" >&2
      if ((!ok)); then echo "---- $t output (tail):" >&2; tail -3 "$out" >&2; fi
      sleep 0.5
    done
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report
# times WORKLOAD TOOL: the good timed runs' seconds.
times() { awk -F'\t' -v w="$1" -v t="$2" '$1 == w && $2 == t && $3 > 0 && $8 == 1 {print $4}' "$tsv"; }
# round_ratios WORKLOAD TOOL: TOOL's time over curl-multi's, per round.
round_ratios() {
  awk -F'\t' -v w="$1" -v t="$2" '$1 == w && $3 > 0 && $8 == 1 && $2 == "curl-multi" {c[$3] = $4}
    $1 == w && $3 > 0 && $8 == 1 && $2 == t {x[$3] = $4}
    END {for (r in x) if (c[r] > 0) print x[r] / c[r]}' "$tsv"
}
have_curl=0
[[ " ${active[*]} " == *" curl-multi "* ]] && have_curl=1
declare -A med_of=()
{
  echo "# Seed workloads: flurry and its peers against httpbin"
  echo
  machine
  echo "Server: $server. Each client on CPU $client_cpu (\`taskset -c $client_cpu\`, \`timeout 60\`)."
  echo "Times are each program's own \"Done in\" (from the first request to the last body, start-up"
  echo "excluded). One untimed warm-up run of each tool per workload first (gunicorn's first requests"
  echo "are slow), then rounds with the tools in rotating order, 0.5 s apart."
  echo "Load average before/after (other work on this machine): $load_before / $load_after."
  ((${#skipped[@]})) && echo "Skipped: ${skipped[*]}."
  echo
  echo "Command: \`bench/harness/seeds.sh${orig_args:+ $orig_args}\`"
  for w in "${workloads[@]}"; do
    IFS='|' read -r label count tmpl defruns <<<"$w"
    rounds=${runs:-$defruns}
    curl_med=-
    ((have_curl)) && curl_med=$(times "$label" curl-multi | median)
    echo
    echo "## $label ($tmpl, all at once), $rounds rounds"
    echo
    echo "| tool | median s | min-max s | / libcurl multi (medians) | / libcurl multi (median of rounds) | errors |"
    echo "|---|---|---|---|---|---|"
    for t in "${active[@]}"; do
      med=$(times "$label" "$t" | median)
      mm=$(times "$label" "$t" | minmax)
      pr=$(round_ratios "$label" "$t" | median)
      errs=$(awk -F'\t' -v w="$label" -v t="$t" '$1 == w && $2 == t && $3 > 0 && $8 == 0 {e++} END {print e + 0}' "$tsv")
      med_of[$label|$t]=$(sec "$med")
      printf '| %s | %s | %s | %s | %s | %s |\n' "$t" \
        "$(sec "$med")" "$mm" \
        "$(ratio "$med" "$curl_med")" "$(awk -v p="$pr" 'BEGIN {if (p == "-") print "-"; else printf "%.2f", p}')" \
        "$errs"
    done
  done
  echo
  echo "Ratios are times (below 1: faster than libcurl multi). Errors: timed runs that exited non-zero,"
  echo "printed no \"Done in\" or lacked a body (left out of the times); the warm-up is not counted."
  echo "Times are the programs' own \"Done in\" (run with SEED_PRECISE=1: microseconds), from the"
  echo "first request started to the last body in; process start-up is not in them. requests-threads is ThreadPoolExecutor(8) over blocking calls: 200 x /delay/1"
  echo "takes 25 s by construction (8 at a time)."
  echo
  echo "Targets:"
  echo
  a=${med_of[25 x /get|flurry-async]:--} c=${med_of[25 x /get|curl-multi]:--}
  verdict=$(awk -v a="$a" -v c="$c" 'BEGIN {if (a == "-" || c == "-") print "not measured"; else if (a < c) print "met"; else print "not met"}')
  echo "- 25 x /get: flurry async faster than libcurl multi: $verdict (medians $a s / $c s)."
  a=${med_of[200 x /delay/1|flurry-async]:--}
  verdict=$(awk -v a="$a" 'BEGIN {if (a == "-") print "not measured"; else if (a <= 1.15) print "met"; else print "not met"}')
  echo "- 200 x /delay/1: flurry async <= 1.15 s: $verdict (median $a s)."
  echo
  echo "Commands (client side, each prefixed with \`timeout 60 taskset -c $client_cpu\`; BASE: the server):"
  echo
  echo '```'
  for w in "${workloads[@]}"; do
    IFS='|' read -r _ count tmpl _ <<<"$w"
    for t in "${active[@]}"; do tool_cmd "$t" "$count" "$tmpl" | sed "s|$root/||g; s|$base|BASE|"; done
  done
  echo '```'
  echo
  echo "Every run (bench/results/seeds.tsv; round 0 is the warm-up, ok 0 an error):"
  echo
  echo '```'
  column -t -s $'\t' "$tsv"
  echo '```'
  echo
  echo "![seed workloads](seeds.png)"
} >"$md"

if command -v gnuplot >/dev/null; then
  for w in "${workloads[@]}"; do
    IFS='|' read -r label _ _ _ <<<"$w"
    dat=$rundir/plot.${label//[^[:alnum:]]/_}.dat
    curl_med=-
    ((have_curl)) && curl_med=$(times "$label" curl-multi | median)
    : >"$dat"
    for t in "${active[@]}"; do
      med=$(times "$label" "$t" | median)
      mm=$(times "$label" "$t" | minmax)
      [[ $med == - ]] && continue
      printf '"%s" %s %s %s %s\n' "$t" "$med" "${mm%-*}" "${mm#*-}" "$(ratio "$med" "$curl_med")" >>"$dat"
    done
  done
  get_dat=$rundir/plot.25_x__get.dat delay_dat=$rundir/plot.200_x__delay_1.dat
  # The /delay/1 panel's scale: up to the slowest of the ~1 s tools, so the
  # 25 s of requests-threads (clipped, its time in its label) does not hide them.
  dmax=$(awk '$2 < 5 && $4 > m {m = $4} END {m *= 1.3; print (m < 1.5 ? 1.5 : m)}' "$delay_dat" 2>/dev/null || echo 1.5)
  if [[ -s $get_dat && -s $delay_dat ]]; then
    gnuplot <<PLOT
set terminal pngcairo size 1100,520 noenhanced font ",11"
set output "$png"
set multiplot layout 1,2 title "Seed workloads against httpbin (gunicorn): \"Done in\" seconds, median and min-max; labels: time / libcurl multi"
set ylabel "seconds (lower is better)"
set style fill solid 0.6 border -1
set boxwidth 0.6
set yrange [0:*]
set offsets 0, 0, graph 0.12, 0
set grid ytics
set xtics rotate by -30
set key top left
set title "25 x /get?id=N"
plot "$get_dat" using 0:2:xtic(1) with boxes lc rgb "#4472c4" notitle, \
     "" using 0:2:3:4 with yerrorbars lc rgb "black" pt 0 notitle, \
     "" using 0:4:(sprintf("%sx", stringcolumn(5))) with labels offset 0,1 notitle
set title "200 x /delay/1?id=N"
set yrange [0:$dmax]
plot "$delay_dat" using 0:2:xtic(1) with boxes lc rgb "#4472c4" notitle, \
     "" using 0:2:3:4 with yerrorbars lc rgb "black" pt 0 notitle, \
     "" using 0:(\$4 > $dmax * 0.85 ? $dmax * 0.85 : \$4):(\$2 > $dmax ? sprintf("%.1f s, %sx", \$2, stringcolumn(5)) : sprintf("%sx", stringcolumn(5))) with labels offset 0,1 notitle, \
     1.15 with lines dt 2 lc rgb "red" title "target 1.15 s"
unset multiplot
PLOT
  else
    echo "seeds.sh: no good runs to plot" >&2
  fi
fi
cat "$md" >&2
