#!/usr/bin/env bash
# flurry-bench --ws-message (issue 21): against the python3-websockets echo
# server of integ.ws (tests/support/ws_server.py), over ws:// and wss://
# (the nginx_tls fixture's CA): -c 4 -n 200 gives 200 echoed messages and no
# error in the text and JSON reports (message size and type, upgrades,
# permessage-deflate agreed or not offered, the CPU figures), -t 2, binary
# messages, -H on the upgrade request; a refused upgrade (the raw server's
# 403), a closed port and a bad CA fail with a clear message and exit 1;
# the usage errors of the new options. `flurry-bench merge` of --ws-message
# runs keeps the WebSocket line and JSON object (upgrades and deflate
# agreements summed, mixed sizes and types said so) and the thread CPU, and
# refuses to merge a WebSocket run with a request run. bench/ws_floor (the
# harness's raw blocking C floor) echoes against the same server and fails
# on a server that closes.
# FIXTURES: nginx_tls
# TIMEOUT: 120
set -uo pipefail
source "$(dirname "$0")/lib.sh"

bench=${FL_BENCH:?FL_BENCH is not set (bench/flurry_bench/CMakeLists.txt sets it)}
PY=/usr/bin/python3 # Debian's, with python3-websockets
TLS=$FL_TEST_RUNDIR/nginx_tls

start_ws() { start_support "$1" "${3:-ws_server.py}" ${2:+"$2"}; } # NAME ARG [SCRIPT]

fb() {
  RC=0
  "${FL_LAUNCH[@]}" "$bench" "$@" >"$OUT" 2>"$ERR" || RC=$?
}
jget() {
  "$PY" -c '
import json, sys
v = json.load(open(sys.argv[1]))
for part in sys.argv[2].split("."):
    v = v[part]
print(str(v).lower() if isinstance(v, bool) else v)
' "$OUT" "$1"
}

start_ws py ""
WS=ws://127.0.0.1:$PORT
start_ws pys "--tls-dir=$TLS"
WSS=wss://localhost:$PORT
start_ws raw "" ws_raw_server.py
RAW=ws://127.0.0.1:$PORT

# ---- usage (nothing is sent)
fb --ws-message 64 -n 10 http://127.0.0.1:1/
check_rc 1 "--ws-message with an http:// URL"
check_contains "$ERR" "needs a ws:// or wss:// URL" "http:// URL: says why"
fb --ws-message x -n 10 "$WS/echo"
check_rc 1 "--ws-message x"
check_contains "$ERR" "bad WebSocket message size" "bad size: says why"
fb --ws-binary -n 10 "$WS/echo"
check_rc 1 "--ws-binary without --ws-message"
fb --ws-message 8 -R 10 -n 10 "$WS/echo"
check_rc 1 "--ws-message with -R"
check_contains "$ERR" "-R does not go with --ws-message" "-R: says why"

# ---- ws://: -c 4 -n 200, text report
fb -t 1 -c 4 -n 200 --ws-message 64 "$WS/echo"
check_rc 0 "ws:// -c 4 -n 200"
check_contains "$OUT" "Running 200 requests test @ $WS/echo" "the start line"
check_contains "$OUT" "  200 requests in " "200 echoes counted"
check_contains "$OUT" "WebSocket: 64-byte text messages echoed one at a time per connection; 4 connections upgraded" \
  "the WebSocket line"
check_not_contains "$OUT" "Errors:" "no errors in the text report"
check_not_contains "$OUT" "Socket errors" "no socket errors"

# ---- JSON, compression offered (websockets agrees), and not offered
fb -t 1 -c 4 -n 200 --ws-message 64 --json "$WS/echo"
check_rc 0 "ws:// --json"
check_json "$OUT" "ws:// --json: JSON"
check_eq "$(jget requests):$(jget bytes):$(jget errors.total)" "200:12800:0" "JSON: 200 echoes of 64 bytes, no error"
check_eq "$(jget protocol):$(jget websocket.connections_upgraded):$(jget websocket.deflate_connections)" \
  "websocket:4:4" "JSON: 4 upgrades, all with permessage-deflate"
check_eq "$(jget latency_us.samples):$(jget latency_us.histogram.count)" "200:200" "JSON: one latency sample per echo"
[[ $(jget thread_cpu_s) != 0.000000 ]] && pass "JSON: the thread CPU time is there" || fail "JSON: no thread CPU time"
fb -t 1 -c 4 -n 200 --ws-message 64 --no-compress --json "$WS/echo"
check_eq "$(jget requests):$(jget errors.total):$(jget websocket.deflate_connections):$(jget websocket.compress_offered)" \
  "200:0:0:false" "--no-compress: nothing agreed"

# ---- -t 2, binary, bigger messages, a header on the upgrade
fb -t 2 -c 4 -n 100 --ws-message 3000 --ws-binary --json -H "X-Bench: 1" "$WS/echo"
check_rc 0 "-t 2 --ws-binary"
check_eq "$(jget requests):$(jget bytes):$(jget errors.total):$(jget websocket.type)" "100:300000:0:binary" \
  "-t 2: 100 binary echoes of 3000 bytes"

# ---- wss:// with the test CA, and a duration
fb -t 1 -c 2 -d 300ms --ws-message 100 --cacert "$TLS/ca.pem" --json "$WSS/echo"
check_rc 0 "wss:// -d 300ms"
n=$(jget requests)
((n > 0)) && pass "wss://: $n echoes in 300 ms" || fail "wss://: no echo"
check_eq "$(jget errors.total):$(jget websocket.connections_upgraded)" "0:2" "wss://: no error, 2 upgrades"

# ---- merge: the WebSocket object, summed
fb -t 1 -c 2 -n 40 --ws-message 64 --json "$WS/echo"
cp "$OUT" "$T/ws1.json"
fb -t 1 -c 3 -n 60 --ws-message 64 --no-compress --json "$WS/echo"
cp "$OUT" "$T/ws2.json"
fb -t 1 -c 1 -n 10 --ws-message 300 --ws-binary --json "$WS/echo"
cp "$OUT" "$T/ws3.json"
fb merge --json "$T/ws1.json" "$T/ws2.json"
check_rc 0 "merge of two --ws-message runs"
check_json "$OUT" "merge --json: JSON"
check_eq "$(jget requests):$(jget bytes):$(jget errors.total):$(jget protocol)" "100:6400:0:websocket" \
  "merge: 40 + 60 echoes of 64 bytes"
check_eq "$(jget websocket.message_size):$(jget websocket.type):$(jget websocket.compress_offered)" \
  "64:text:true" "merge: size, type, compression offered by one run"
check_eq "$(jget websocket.connections_upgraded):$(jget websocket.deflate_connections)" "5:2" \
  "merge: upgrades 2 + 3, deflate 2 + 0"
check_eq "$("$PY" -c '
import json, sys
a, b, m = (json.load(open(p)) for p in sys.argv[1:])
print(abs(m["thread_cpu_s"] - a["thread_cpu_s"] - b["thread_cpu_s"]) < 2e-6 and m["thread_cpu_s"] > 0)
' "$T/ws1.json" "$T/ws2.json" "$OUT")" "True" "merge: the threads' CPU summed"
fb merge "$T/ws1.json" "$T/ws2.json"
check_rc 0 "merge (text)"
check_contains "$OUT" "  100 requests in " "merge text: 100 echoes"
check_contains "$OUT" "WebSocket: 64-byte text messages echoed one at a time per connection; 5 connections upgraded, 2 with permessage-deflate" \
  "merge text: the WebSocket line"
fb merge --json "$T/ws1.json" "$T/ws3.json"
check_rc 0 "merge of text and binary runs of two sizes"
check_eq "$(jget websocket.message_size):$(jget websocket.type):$(jget requests)" "None:mixed:50" \
  "merge: mixed sizes (null) and types"
cp "$OUT" "$T/mixed.json"
fb merge --json "$T/mixed.json" "$T/ws1.json"
check_eq "$(jget websocket.message_size):$(jget websocket.type):$(jget websocket.connections_upgraded)" \
  "None:mixed:5" "merge of a merged report: still mixed, upgrades summed"
fb merge "$T/ws1.json" "$T/ws3.json"
check_contains "$OUT" "WebSocket: mixed-size mixed messages" "merge text: mixed"
"$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
del d["websocket"]
d["protocol"] = "http/1.1"
json.dump(d, open(sys.argv[2], "w"))
' "$T/ws1.json" "$T/plain.json"
fb merge --json "$T/ws1.json" "$T/plain.json"
check_rc 1 "merge of a WebSocket run and a request run"
check_contains "$ERR" "a WebSocket run merged with a plain one" "merge ws + plain: says why"
fb merge --json "$T/plain.json" "$T/ws1.json"
check_rc 1 "merge of a request run and a WebSocket run"

# ---- bench/ws_floor: the harness's floor against the same echo server
floor=${FL_WS_FLOOR:?FL_WS_FLOOR is not set (bench/CMakeLists.txt sets it)}
RC=0
"${FL_LAUNCH[@]}" "$floor" "$WS/echo" -n 200 -s 64 >"$OUT" 2>"$ERR" || RC=$?
check_rc 0 "ws_floor -n 200"
check_eq "$(jget messages):$(jget errors)" "200:0" "ws_floor: 200 echoes, no error"
RC=0
"${FL_LAUNCH[@]}" "$floor" "$WS/echo" -n 3 -s 70000 >"$OUT" 2>"$ERR" || RC=$?
check_eq "$RC:$(jget messages):$(jget errors)" "0:3:0" "ws_floor: 70000-byte messages (64-bit lengths)"
RC=0
"${FL_LAUNCH[@]}" "$floor" "$WS/close?code=1001" -n 3 >"$OUT" 2>"$ERR" || RC=$?
check_rc 1 "ws_floor: a server that closes"
check_contains "$ERR" "unexpected frame" "ws_floor: says why"
RC=0
"${FL_LAUNCH[@]}" "$floor" "$RAW/hs/refuse" -n 3 >"$OUT" 2>"$ERR" || RC=$?
check_rc 1 "ws_floor: a refused upgrade"
check_contains "$ERR" "upgrade refused" "ws_floor: refused, says so"

# ---- failures: clear message, exit 1
fb -t 1 -c 2 -n 10 --ws-message 8 "$RAW/hs/refuse"
check_rc 1 "a refused upgrade"
check_contains "$ERR" "upgrade refused with HTTP 403" "refused: the status"
fb -t 1 -c 1 -n 10 --ws-message 8 "$WSS/echo"
check_rc 1 "wss:// without the CA"
check_contains "$ERR" "no WebSocket connection opened" "bad CA: says no connection opened"
check_contains "$ERR" "certificate" "bad CA: the certificate is named"
# a port that was just free
closed=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fb -t 1 -c 1 -n 10 --ws-message 8 "ws://127.0.0.1:$closed/"
check_rc 1 "a closed port"
check_contains "$ERR" "refused" "closed port: connection refused"

done_testing
