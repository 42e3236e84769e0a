#!/usr/bin/env bash
# The harness's canned-server (bench/servers/canned.c): one thread pinned to
# one CPU, the same 13-byte "Hello, World!" body nginx.sh gives /hello (every
# path gets it), keep-alive, pipelining; plain or TLS with a certificate the
# openssl command line makes at start (RSA 2048, CN and SAN localhost and
# 127.0.0.1, self-signed: clients trust RUNDIR/canned.crt with --cacert).
#
#   bench/harness/canned.sh start RUNDIR [--tls] [--build DIR]
#       start; print the port (also in RUNDIR/canned.port; the pid in
#       RUNDIR/canned.pid; with --tls RUNDIR/canned.crt and canned.key)
#   bench/harness/canned.sh stop RUNDIR    stop what start started (harmless if none)
#
# Environment: FLB_SERVER_CPU (default 0). The binary is DIR/bench/servers/
# canned-server (default build-bench), built by run.sh / tls.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/proc.sh"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

usage() {
  echo "usage: $0 start|stop RUNDIR [--tls] [--build DIR]" >&2
  exit 2
}
(($# >= 2)) || usage
cmd=$1
mkdir -p "$2"
rundir=$(cd "$2" && pwd)
shift 2
tls=0 build=$root/build-bench
while (($#)); do
  case $1 in
    --tls) tls=1 ;;
    --build) build=$2; shift ;;
    *) usage ;;
  esac
  shift
done

stop() { stop_server "$rundir/canned.pid" "$rundir" "$rundir/canned.port"; }

start() {
  local bin=$build/bench/servers/canned-server args=()
  [[ -x $bin ]] || { echo "canned.sh: $bin not built (cmake --build $build --target canned_server)" >&2; exit 1; }
  stop
  if ((tls)); then
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
      -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
      -keyout "$rundir/canned.key" -out "$rundir/canned.crt" 2>"$rundir/openssl.log" ||
      { cat "$rundir/openssl.log" >&2; exit 1; }
    args=(--tls "$rundir/canned.crt" "$rundir/canned.key")
  fi
  (
    ulimit -n "$(ulimit -Hn)"
    exec setsid taskset -c "${FLB_SERVER_CPU:-0}" "$bin" --port-file "$rundir/canned.port" --quiet "${args[@]}" \
      </dev/null >>"$rundir/canned.log" 2>&1
  ) &
  echo $! >"$rundir/canned.pid"
  for ((i = 0; i < 100; i++)); do
    if [[ -s $rundir/canned.port ]]; then
      cat "$rundir/canned.port"
      return 0
    fi
    kill -0 "$(cat "$rundir/canned.pid")" 2>/dev/null || break
    sleep 0.05
  done
  stop
  echo "canned-server did not start; see $rundir/canned.log" >&2
  exit 1
}

case $cmd in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
