# Shared helpers for tests/servers/start and tests/servers/stop (sourced).
#
# Conventions, for every server NAME in RUNDIR:
#   RUNDIR/NAME.port      the port, written only once the server answers
#   RUNDIR/NAME.pid       pid of the main process (its own session leader)
#   RUNDIR/NAME.*.pid     pids of helper processes of that fixture
#   RUNDIR/NAME.log       its output; other files NAME.* as the server needs
# Every process is started with setsid, stdio redirected to its log, and a
# command line that contains RUNDIR (stop checks that before it kills, so a
# stale pid file never kills a stranger).

fl_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# System python first: httpbin and gunicorn are Debian packages.
if [[ -z ${FL_PYTHON:-} ]]; then
  if [[ -x /usr/bin/python3 ]]; then FL_PYTHON=/usr/bin/python3; else FL_PYTHON=python3; fi
fi

fl_die() {
  echo "servers: $*" >&2
  exit 1
}

fl_probe() { "$FL_PYTHON" "$fl_here/probe.py" "$@"; }

# fl_free_port [--udp] [--ipv6]
fl_free_port() { fl_probe freeport "$@"; }

fl_have_ipv6() { fl_probe ipv6; }

# fl_alive PID: the process exists and is not a zombie. (Our servers are
# orphans once start exits; PID 1 may reap them only seconds after they die.)
fl_alive() {
  local line rest
  read -r line 2>/dev/null <"/proc/$1/stat" || return 1
  rest=${line##*) }
  [[ -n $rest && ${rest:0:1} != Z && ${rest:0:1} != X ]]
}

# fl_group_alive PGID: some live process is still in that process group.
fl_group_alive() {
  local f line rest
  local -a fields
  for f in /proc/[0-9]*/stat; do
    read -r line 2>/dev/null <"$f" || continue
    rest=${line##*) }
    fields=($rest) # state ppid pgrp ...
    if [[ ${fields[2]:-} == "$1" && ${fields[0]} != Z && ${fields[0]} != X ]]; then return 0; fi
  done
  return 1
}

# fl_launch NAME-OR-NAME.HELPER RUNDIR CMD...: start CMD in its own session,
# output to RUNDIR/<tag>.log, pid to RUNDIR/<tag>.pid.
fl_launch() {
  local tag=$1 rundir=$2
  shift 2
  setsid "$@" </dev/null >>"$rundir/$tag.log" 2>&1 &
  echo $! >"$rundir/$tag.pid"
}

# fl_kill_pidfile PIDFILE RUNDIR: TERM the process group, wait, then KILL.
fl_kill_pidfile() {
  local pidfile=$1 rundir=$2 pid i cmdline
  pid=$(cat "$pidfile" 2>/dev/null || true)
  rm -f "$pidfile"
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  fl_alive "$pid" || return 0
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
  if [[ $cmdline != *"$rundir"* ]]; then
    echo "servers: pid $pid from $pidfile is not ours; not killing it" >&2
    return 0
  fi
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    fl_group_alive "$pid" || return 0
    sleep 0.1
  done
  echo "servers: pid $pid ignored SIGTERM for 10 s; sending SIGKILL" >&2
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    fl_group_alive "$pid" || return 0
    sleep 0.1
  done
  echo "servers: process group $pid still alive after SIGKILL" >&2
  return 1
}

# fl_stop NAME RUNDIR: stop every process of that fixture; harmless if none.
fl_stop() {
  local name=$1 rundir=$2 f rc=0
  rm -f "$rundir/$name.port" "$rundir/$name".*.port
  for f in "$rundir/$name.pid" "$rundir/$name".*.pid; do
    [[ -e $f ]] || continue
    fl_kill_pidfile "$f" "$rundir" || rc=1
  done
  return $rc
}

# fl_wait_ready NAME RUNDIR SECONDS CHECK...: poll CHECK until it succeeds.
# Returns 1 if the main process exits meanwhile (e.g. its port was taken:
# worth a retry), 2 if it is still silent after SECONDS.
fl_wait_ready() {
  local name=$1 rundir=$2 secs=$3 pid deadline
  shift 3
  pid=$(cat "$rundir/$name.pid")
  deadline=$((SECONDS + secs))
  while ((SECONDS < deadline)); do
    if ! fl_alive "$pid"; then
      echo "servers: $name (pid $pid) exited during startup" >&2
      return 1
    fi
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "servers: $name did not answer within $secs s" >&2
  return 2
}
