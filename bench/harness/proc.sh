# Sourced by the harness's server scripts (canned.sh, nginx.sh).
#
#   stop_server PIDFILE RUNDIR [FILE...]
#
# Stop the server whose pid PIDFILE holds, only if its command line names
# RUNDIR (so a stale pid file never kills someone else's process): TERM,
# up to 10 s, then KILL. PIDFILE and the FILEs (its port file) are removed.
stop_server() {
  local pidfile=$1 dir=$2 pid i
  shift 2
  pid=$(cat "$pidfile" 2>/dev/null || true)
  rm -f "$pidfile" "$@"
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}
