#!/usr/bin/env bash
# flurry --ws URL: stdin lines out as text messages, messages to stdout, one
# per line; stdin's end closes with 1000 and waits for the server's close
# (exit 0); against python3-websockets (tests/support/ws_server.py) over
# ws:// and wss:// (the nginx_tls fixture's CA, -k, a CONNECT proxy with
# -x for both), and the scripted raw server for the failures: refused upgrade (22),
# no server (7), -m (28), a dropped connection (56, 1006), a protocol error
# (56, 1002), --max-filesize (63, 1009), a line that is not UTF-8 (43),
# usage errors (2). Most sessions run as a coprocess, each reply read before
# the next line; piped sessions (all of stdin at once, then its end) print
# every reply: flurry lingers after stdin's end until the replies stop,
# then closes with 1000 (python3-websockets drops what it would send after
# our close frame). Labelled tsan (the CLI reads stdin on a thread of its own);
# not valgrind (over 5 minutes there; integ.ws covers the library).
# FIXTURES: nginx_tls
# LABELS: tsan
# TIMEOUT: 180
source "$(dirname "$0")/lib.sh"

TLS=$FL_TEST_RUNDIR/nginx_tls

start_support py ws_server.py
PY=$PORT
start_support pys ws_server.py "--tls-dir=$TLS"
PYS=$PORT
start_support raw ws_raw_server.py
RAW=$PORT
start_support proxy proxy_server.py
PROXY=$PORT

# A session as a coprocess: ws_start ARGS...; ws_say LINE; ws_hear (one
# line into $LINE, 60 s at most); ws_end (closes its stdin, waits: $RC).
ws_start() {
  : >"$ERR"
  coproc WS { "${FL_LAUNCH[@]}" "$FL_CLI" "$@" 2>"$ERR"; }
  WS_OUT=${WS[0]} WS_IN=${WS[1]}
}
ws_say() { printf '%s\n' "$1" >&"$WS_IN"; }
ws_hear() {
  LINE=""
  if ! IFS= read -r -t 60 LINE <&"$WS_OUT"; then LINE="(nothing)"; fi
}
ws_end() {
  [[ -n ${WS_IN:-} ]] && exec {WS_IN}>&-
  WS_IN=""
  RC=0
  wait "$WS_PID" || RC=$?
}
ws_wait() { # the session ends by itself (stdin still open)
  RC=0
  wait "$WS_PID" || RC=$?
  exec {WS_IN}>&- 2>/dev/null
  WS_IN=""
}

# ---- echo over ws:// and wss://, each reply on its line
for url in "ws://127.0.0.1:$PY/echo" "wss://localhost:$PYS/echo"; do
  ws_start --cacert "$TLS/ca.pem" --ws "$url"
  got=()
  for msg in hello 'wörld' '' 'a b c'; do
    ws_say "$msg"
    ws_hear
    got+=("$LINE")
  done
  ws_end
  check_rc 0 "--ws $url: stdin's end closes cleanly"
  check_eq "$(printf '%s|' "${got[@]}")" "hello|wörld||a b c|" "replies of $url, one per line"
done
# "\r\n" line ends lose the "\r"; a last line without "\n" is sent at the end
ws_start --ws "ws://127.0.0.1:$PY/echo"
printf 'crlf\r\n' >&"$WS_IN"
ws_hear
ws_end
check_eq "$LINE" "crlf" "a CRLF line is sent without the CR"
check_rc 0 "CRLF session"
printf 'one\ntwo' | { "${FL_LAUNCH[@]}" "$FL_CLI" --ws "ws://127.0.0.1:$PY/echo" >"$OUT" 2>"$ERR"; }
RC=$?
check_rc 0 "piped stdin: sent, closed with 1000, exit 0"
check_eq "$(tr '\n' '|' <"$OUT")" "one|two|" "piped stdin: both replies, the unterminated last line's too"

# ---- stdin's end: every reply still printed (the linger before our close)
want=""
for i in $(seq 1 30); do want+="line $i|"; done
for args in "--ws ws://127.0.0.1:$PY/echo" "--compressed --ws ws://127.0.0.1:$PY/frag" \
  "--cacert $TLS/ca.pem --ws wss://localhost:$PYS/echo"; do
  read -r -a argv <<<"$args"
  for i in $(seq 1 30); do echo "line $i"; done |
    { "${FL_LAUNCH[@]}" "$FL_CLI" -v "${argv[@]}" >"$OUT" 2>"$ERR"; }
  RC=$?
  check_rc 0 "30 piped lines, $args"
  check_eq "$(tr '\n' '|' <"$OUT")" "$want" "30 piped lines, $args: 30 replies, in order"
  check_contains "$ERR" "end of input: closing after" "$args: closed after the linger"
  check_contains "$ERR" "WebSocket closed: 1000" "$args: the closing handshake completed"
done
# a server that speaks first, stdin empty: its message is printed too
flurry --ws "ws://127.0.0.1:$PY/big?n=30" </dev/null
check_rc 0 "empty stdin"
check_eq "$(cat "$OUT")" "abcdefghijklmnopqrstuvwxyzabcd" "empty stdin: the server's message printed"

# ---- TLS: verification on (60), -k, and a CONNECT tunnel with -x
ws_start --ws "wss://localhost:$PYS/echo"
ws_wait
check_rc 60 "wss without the test CA"
check_contains "$ERR" "certificate" "the reason is said"
ws_start -k --ws "wss://localhost:$PYS/echo"
ws_say insecure
ws_hear
ws_end
check_eq "$LINE" "insecure" "-k"
check_rc 0 "-k session"
ws_start -x "http://127.0.0.1:$PROXY" --cacert "$TLS/ca.pem" --ws "wss://localhost:$PYS/echo"
ws_say tunneled
ws_hear
ws_end
check_eq "$LINE" "tunneled" "-x: wss through a CONNECT proxy"
check_rc 0 "-x session"
ws_start -x "http://127.0.0.1:$PROXY" --ws "ws://127.0.0.1:$PY/echo"
ws_say "plain tunnel"
ws_hear
ws_end
check_eq "$LINE" "plain tunnel" "-x: ws:// through a CONNECT tunnel too (no absolute-form upgrade)"
check_rc 0 "-x ws:// session"

# ---- -H reaches the server; --compressed offers permessage-deflate
ws_start -H 'X-Ws-Test: 42' --ws "ws://127.0.0.1:$PY/headers"
ws_hear
ws_end
check_contains "$LINE" '"X-Ws-Test": "42"' "-H on the upgrade request"
check_not_contains "$LINE" "permessage-deflate" "no compression offered without --compressed"
ws_start --compressed --ws "ws://127.0.0.1:$PY/ext"
ws_hear
ws_say "compressed both ways"
ws_hear
ws_end
check_rc 0 "--compressed session"
check_eq "$LINE" "compressed both ways" "--compressed echo"
ws_start --compressed --ws "ws://127.0.0.1:$PY/ext"
ws_hear
ws_end
check_contains "$LINE" "permessage-deflate" "--compressed: the server agreed permessage-deflate"

# ---- -v shows the upgrade's heads and the close
ws_start -v --ws "ws://127.0.0.1:$PY/echo"
ws_say v
ws_hear
ws_end
check_rc 0 "-v session"
check_contains "$ERR" "> GET /echo HTTP/1.1" "-v: the request head"
check_contains "$ERR" "< HTTP/1.1 101" "-v: the 101"
check_contains "$ERR" "WebSocket closed: 1000" "-v: the close code"

# ---- the server closes first (stdin still open): exit 0
ws_start --ws "ws://127.0.0.1:$PY/close?code=4001&reason=bye"
ws_wait
check_rc 0 "the server's close ends the session cleanly"

# ---- failures, with curl's codes
ws_start --ws "ws://127.0.0.1:$RAW/hs/refuse"
ws_wait
check_rc 22 "a refused upgrade"
check_contains "$ERR" "403" "the status is said"
ws_start --ws "ws://127.0.0.1:1/echo"
ws_wait
check_rc 7 "nothing listening"
ws_start -m 1 --ws "ws://127.0.0.1:$RAW/silent"
ws_wait
check_rc 28 "-m ends a session"
ws_start --ws "ws://127.0.0.1:$RAW/drop"
ws_wait
check_rc 56 "a connection dropped without a close frame"
check_contains "$ERR" "1006" "1006 is said"
ws_start --ws "ws://127.0.0.1:$RAW/bad/opcode3"
ws_wait
check_rc 56 "a protocol error by the server"
check_contains "$ERR" "1002" "1002 is said"
ws_start --max-filesize 1000 --ws "ws://127.0.0.1:$PY/big?n=5000"
ws_wait
check_rc 63 "--max-filesize caps a message"
check_contains "$ERR" "1009" "1009 is said"
ws_start --ws "ws://127.0.0.1:$PY/echo"
ws_say "fine"
ws_hear
printf 'bad \xff\n' >&"$WS_IN"
ws_wait
check_eq "$LINE" "fine" "the line before"
check_rc 43 "a line that is not UTF-8"
check_contains "$ERR" "not valid UTF-8" "the reason is said"

# ---- usage
flurry --ws "ws://127.0.0.1:$PY/echo" "ws://127.0.0.1:$PY/echo" </dev/null
check_rc 2 "--ws takes one URL"
flurry --ws -d x "ws://127.0.0.1:$PY/echo" </dev/null
check_rc 2 "--ws sends no body"

done_testing
