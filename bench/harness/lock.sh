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
