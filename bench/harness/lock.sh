# Sourced by the harness scripts: each measured run holds the machine-wide
# benchmark lock, so that only one benchmark runs at a time on a shared
# machine (others wait between our runs, never during one).
#
#   lock_take; ...the measured run, server CPU readings included...; lock_drop
#
# FLB_LOCK: the lock file (default /tmp/flurry-bench.lock; empty: no lock).
FLB_LOCK=${FLB_LOCK-/tmp/flurry-bench.lock}
lock_take() {
  [[ -n $FLB_LOCK ]] && command -v flock >/dev/null || return 0
  exec 9>>"$FLB_LOCK"
  flock 9
}
lock_drop() {
  [[ -n $FLB_LOCK ]] && command -v flock >/dev/null || return 0
  flock -u 9
  exec 9>&-
}

# measured_run OUT TIMEFILE PID CMD...: one client run under the lock, its
# output into OUT and /usr/bin/time's "user sys maxrss" into TIMEFILE;
# prints the CPU share (percent, or "-") process PID (the server's worker)
# had over the run.
proc_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
measured_run() {
  local out=$1 tf=$2 pid=$3 a b t0 t1
  shift 3
  lock_take
  a=$(proc_ticks "$pid") t0=$(date +%s.%N)
  /usr/bin/time -f '%U %S %M' -o "$tf" "$@" >"$out" 2>&1 || true
  b=$(proc_ticks "$pid") t1=$(date +%s.%N)
  lock_drop
  awk -v a="$a" -v b="$b" -v t0="$t0" -v t1="$t1" -v hz="$(getconf CLK_TCK)" \
    'BEGIN {if (b > 0 && t1 > t0) printf "%.0f", (b - a) / hz / (t1 - t0) * 100; else print "-"}'
}
