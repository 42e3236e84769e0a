#!/usr/bin/env bash
# The harness's nginx: one worker pinned to one CPU, keep-alive without
# limits, enough descriptors and backlog for 10,000 connections.
#
#   bench/harness/nginx.sh start RUNDIR   start; print the port (RUNDIR/nginx.port)
#   bench/harness/nginx.sh stop RUNDIR    stop what start started (harmless if none)
#
#   GET /hello  200 "Hello, World!" (13 bytes, text/plain), as the test fixture
#   GET /get    200 JSON shaped like httpbin's /get, ~300 bytes (it echoes the
#               client's Host, Accept and User-Agent, as httpbin does)
#
# Environment: FLB_SERVER_CPU (default 0), FLB_NGINX_CONNECTIONS (default
# 20000: worker_connections and the descriptor limit, at most the hard
# limit). Own config rather than tests/servers/nginx.sh because that one has
# worker_connections 4096 and no knob for it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/proc.sh"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

usage() {
  echo "usage: $0 start|stop RUNDIR" >&2
  exit 2
}
(($# == 2)) || usage
cmd=$1
mkdir -p "$2"
rundir=$(cd "$2" && pwd)

stop() { stop_server "$rundir/nginx.pid" "$rundir" "$rundir/nginx.port"; }

conf() {
  local port=$1 conns=$2
  if ((EUID == 0)); then echo "user root;"; fi
  cat <<CONF
worker_processes 1;
worker_rlimit_nofile $conns;
daemon off;
master_process on;
pid $rundir/nginx.pidfile;
error_log $rundir/nginx.error.log warn;
events {
  worker_connections $conns;
  multi_accept on;
}
http {
  access_log off;
  client_body_temp_path $rundir/nginx.tmp/body;
  proxy_temp_path $rundir/nginx.tmp/proxy;
  fastcgi_temp_path $rundir/nginx.tmp/fastcgi;
  uwsgi_temp_path $rundir/nginx.tmp/uwsgi;
  scgi_temp_path $rundir/nginx.tmp/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  tcp_nodelay on;
  server_tokens off;
  server {
    listen 127.0.0.1:$port default_server backlog=4096;
    server_name _;
    location = /hello {
      default_type text/plain;
      return 200 'Hello, World!';
    }
    location = /get {
      default_type application/json;
      return 200 '{\n  "args": {},\n  "headers": {\n    "Accept": "\$http_accept",\n    "Host": "\$http_host",\n    "User-Agent": "\$http_user_agent",\n    "X-Amzn-Trace-Id": "Root=1-65f0c0de-2b7d4a1f9c3e8b6a5d4c3b2a",\n    "X-Fixture": "nginx"\n  },\n  "origin": "\$remote_addr",\n  "url": "http://\$http_host\$request_uri",\n  "server": "flurry test fixture (nginx)"\n}\n';
    }
  }
}
CONF
}

start() {
  local nginx=/usr/sbin/nginx port conns hard _
  [[ -x $nginx ]] || nginx=$(command -v nginx) || { echo "nginx not installed (scripts/bootstrap)" >&2; exit 1; }
  stop
  conns=${FLB_NGINX_CONNECTIONS:-20000}
  hard=$(ulimit -Hn)
  if [[ $hard != unlimited ]] && ((conns > hard)); then conns=$hard; fi
  mkdir -p "$rundir/nginx.tmp"
  for _ in 1 2 3; do # a free port may be taken before nginx binds it
    port=$(python3 "$root/tests/servers/probe.py" freeport)
    conf "$port" "$conns" >"$rundir/nginx.conf"
    "$nginx" -t -q -p "$rundir/" -e "$rundir/nginx.error.log" -c "$rundir/nginx.conf"
    (
      ulimit -n "$conns"
      exec setsid taskset -c "${FLB_SERVER_CPU:-0}" "$nginx" -p "$rundir/" \
        -e "$rundir/nginx.error.log" -c "$rundir/nginx.conf" </dev/null >>"$rundir/nginx.log" 2>&1
    ) &
    echo $! >"$rundir/nginx.pid"
    for ((i = 0; i < 100; i++)); do
      if python3 "$root/tests/servers/probe.py" http "$port" /hello >/dev/null 2>&1; then
        echo "$port" >"$rundir/nginx.port"
        echo "$port"
        return 0
      fi
      kill -0 "$(cat "$rundir/nginx.pid")" 2>/dev/null || break
      sleep 0.1
    done
    stop
  done
  echo "nginx did not start; see $rundir/nginx.error.log" >&2
  exit 1
}

case $cmd in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
