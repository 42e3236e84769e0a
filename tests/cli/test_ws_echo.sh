#!/usr/bin/env bash
# examples/ws_echo with the issue's command line against python3-websockets
# and node-ws (tests/support/ws_server.py), over ws:// and wss:// (the
# nginx_tls fixture's test CA), with and without compression; --echo-all
# against the raw server (a close by the server, a protocol error answered
# with 1002, a dropped connection), --subprotocol, -H, --max-message, and a
# refused upgrade.
# FIXTURES: nginx_tls
# LABELS: valgrind
# TIMEOUT: 120
source "$(dirname "$0")/lib.sh"

ECHO=$FL_TEST_BUILDDIR/examples/ws_echo
[[ -x $ECHO ]] || { echo "ws_echo not built" >&2; exit 1; }
TLS=$FL_TEST_RUNDIR/nginx_tls

start_ws() { start_support "$1" "${3:-ws_server.py}" ${2:+"$2"}; } # NAME ARG [SCRIPT]

ws_echo() {
  RC=0
  "${FL_LAUNCH[@]}" "$ECHO" "$@" >"$OUT" 2>"$ERR" || RC=$?
}

start_ws py ""
PY=$PORT
start_ws node --node
NODE=$PORT
start_ws pys "--tls-dir=$TLS"
PYS=$PORT
start_ws nodes "--node-tls=$TLS"
NODES=$PORT
start_ws raw "" ws_raw_server.py
RAW=$PORT

for url in "ws://127.0.0.1:$PY" "ws://127.0.0.1:$NODE" "wss://localhost:$PYS" "wss://localhost:$NODES"; do
  for comp in "" --no-compress; do
    ws_echo --cacert "$TLS/ca.pem" $comp "$url/echo" hello 'wörld' 'a b c'
    check_rc 0 "ws_echo $comp $url"
    check_eq "$(cat "$OUT")" $'hello\nwörld\na b c' "replies of $comp $url"
    ws_echo --cacert "$TLS/ca.pem" $comp "$url/ext" one
    check_rc 0 "ws_echo $comp $url/ext"
    if [[ -z $comp ]]; then
      check_contains "$OUT" "permessage-deflate" "$url agreed compression"
    else
      check_not_contains "$OUT" "permessage-deflate" "$url: no compression offered"
    fi
    # fragmented (and compressed) replies come whole
    ws_echo --cacert "$TLS/ca.pem" $comp "$url/frag" "fragmented reply of some length"
    check_rc 0 "ws_echo $comp $url/frag"
    check_eq "$(cat "$OUT")" "fragmented reply of some length" "frag reply of $comp $url"
  done
done

# --subprotocol and -H
ws_echo --subprotocol nope --subprotocol chat -H 'X-Ws-Test: 42' "ws://127.0.0.1:$PY/headers" ping
check_rc 0 "headers"
check_contains "$OUT" '"X-Ws-Test": "42"' "-H reached the server"
check_contains "$OUT" '"Sec-WebSocket-Protocol": "nope, chat"' "--subprotocol offered both"
# --max-message: a bigger message fails the connection with 1009; the close
# was ours (the server broke our limit), so the exit code is 0 in --echo-all
ws_echo --max-message 1000 --echo-all "ws://127.0.0.1:$NODE/big?n=5000"
check_rc 0 "--max-message exceeded (--echo-all)"
check_contains "$ERR" "1009" "1009 said"
# --echo-all: the server's close ends it cleanly
ws_echo --echo-all "ws://127.0.0.1:$PY/close?code=4001&reason=bye"
check_rc 0 "--echo-all, server closes with 4001"
# a protocol error by the server: we close with 1002, exit 0
ws_echo --echo-all "ws://127.0.0.1:$RAW/bad/opcode3"
check_rc 0 "--echo-all, protocol error"
check_contains "$ERR" "1002" "1002 said"
# a connection dropped without a close frame: non-zero
ws_echo --echo-all "ws://127.0.0.1:$RAW/drop"
check_rc 1 "--echo-all, dropped"
check_contains "$ERR" "1006" "1006 said"
# a refused upgrade and a bad CA: non-zero with the reason
ws_echo "ws://127.0.0.1:$RAW/hs/refuse" hi
check_rc 1 "refused"
check_contains "$ERR" "403" "the status said"
ws_echo "wss://localhost:$PYS/echo" hi
check_rc 1 "unknown CA"
check_contains "$ERR" "certificate" "verification failure said"
ws_echo
check_rc 2 "no URL"

done_testing
