#!/usr/bin/env bash
# flurry against the scripted HTTP/2 server (tests/support/h2_server.py):
# every hostile case of issue 20 ends in curl's exit code (16: the HTTP/2
# framing layer, the connection; 92: one stream; 28: a timeout), never in a
# hang; a stream error leaves the other streams of the connection unharmed;
# REFUSED_STREAM is retried once, streams a GOAWAY left unprocessed are
# retried on a new connection, SETTINGS_MAX_CONCURRENT_STREAMS=1 keeps one
# connection (where curl 7.88 goes wrong); a 110 KiB header block followed by
# a body is read whole. h2c by prior knowledge, and once over TLS (ALPN h2,
# the nginx_h2 fixture's certificate).
# FIXTURES: nginx_h2
# TIMEOUT: 180
source "$(dirname "$0")/lib.sh"
# the system python (a pyenv shim takes seconds to start on a busy machine)
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
if ! "$FL_CLI" -V | grep -q nghttp2; then
  echo "this libflurry is built without nghttp2 (flurry -V names no nghttp2): no HTTP/2 to test"
  exit 77
fi

H2_PIDS=()
# start_h2 NAME [h2_server.py options]: sets H2 (the server's URL base)
start_h2() {
  local name=$1 pf=$T/$1.port i scheme=http
  shift
  [[ " $* " == *" --tls-dir "* ]] && scheme=https
  /usr/bin/python3 "$FL_TEST_SRCDIR/support/h2_server.py" --port-file "$pf" "$@" 2>"$T/$name.log" &
  H2_PIDS+=($!)
  for ((i = 0; i < 400; i++)); do
    [[ -s $pf ]] && break
    sleep 0.05
  done
  [[ -s $pf ]] || { echo "h2_server $name did not start" >&2; cat "$T/$name.log" >&2; exit 1; }
  if [[ $scheme == https ]]; then H2=https://localhost:$(cat "$pf"); else H2=http://127.0.0.1:$(cat "$pf"); fi
}
stop_h2() {
  local pid
  for pid in "${H2_PIDS[@]}"; do
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  H2_PIDS=()
}
trap 'stop_h2; cleanup' EXIT

PK=(-s --http2-prior-knowledge)
W='%{http_code} %{exitcode} %{http_version}\n'
# one_of LIST WHAT: $RC is one of the exit codes in LIST
one_of() {
  if [[ " $1 " == *" $RC "* ]]; then pass "$2 (exit $RC)"; else fail "$2: exit $RC, want one of $1"; fi
}
stats() { # KEY FIELD
  flurry "${PK[@]}" "$H2/_stats?k=$1"
  "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$OUT" "$2"
}

start_h2 plain
S=$H2

# ---- well-behaved
flurry "${PK[@]}" -w ' %{http_version}' "$S/ok"
check_rc 0 "/ok over h2c"
check_eq "$(cat "$OUT")" "ok 2" "/ok: body, HTTP/2"
flurry "${PK[@]}" -i "$S/trailers"
check_rc 0 "trailers"
check_eq "$(head -n1 "$OUT")" $'HTTP/2 200 \r' "-i: HTTP/2 status line"
# trailers (a HEADERS frame after the DATA) as curl 7.88 writes them: after
# the body with -i, after the header block with -D, without a blank line
same_as_curl "h2 -i: trailers after the body" "${PK[@]}" -i "$S/trailers"
check_contains "$OUT" "x-checksum: abc" "... both trailer fields"
same_as_curl "h2 -D -: trailers after the header block" "${PK[@]}" -D - -o /dev/null "$S/trailers"
check_contains "$OUT" "x-trailer: yes" "... both trailer fields"
same_as_curl "h2 -i: trailers after a 100,000-byte body" "${PK[@]}" -i "$S/trailers?n=100000"
same_as_curl "h2 without -i: no trailers" "${PK[@]}" "$S/trailers"
flurry "${PK[@]}" -m 20 -o /dev/null -w '%{size_download} %{size_header}' "$S/big-headers?kb=110&body=1000"
check_rc 0 "a 110 KiB header block and a body (curl 7.88 hangs here)"
read -r got hsize <"$OUT"
check_eq "$got" 1000 "... the whole 1000-byte body"
((hsize > 110 * 1024)) && pass "... and the whole header block ($hsize bytes)" || fail "header block of $hsize bytes"
# The caps are the same as for HTTP/1.1 (300 KiB of heads): a block in 18
# CONTINUATION frames passes (nghttp2 alone stops at 8), one past the cap
# fails as a too-large head.
flurry "${PK[@]}" -m 20 -o /dev/null -w '%{size_download}' "$S/big-headers?kb=290&body=1000"
check_rc 0 "a 290 KiB header block in 4 KiB fields, then a body"
check_eq "$(cat "$OUT")" 1000 "... the whole 1000-byte body"
flurry "${PK[@]}" -m 20 -o /dev/null "$S/big-headers?kb=310&body=1000"
check_rc 8 "a 310 KiB header block: over the 300 KiB cap, as on HTTP/1.1"
head -c 150000 /dev/urandom >"$T/up.bin"
flurry "${PK[@]}" --data-binary @"$T/up.bin" -o "$T/echo.bin" "$S/echo"
check_rc 0 "150,000-byte upload, echoed"
cmp -s "$T/echo.bin" "$T/up.bin" && pass "echo identical" || fail "echo differs"

# ---- stream errors (92), the other streams of the connection unharmed
for path in "rst?code=2" uppercase no-status "bad-status?v=abc" "bad-pseudo?kind=unknown" \
  "bad-pseudo?kind=request" "bad-pseudo?kind=after-regular" "bad-pseudo?kind=duplicate"; do
  # (-w lines come as transfers end: sorted by %{urlnum})
  flurry "${PK[@]}" -m 20 -Z -w "%{urlnum} $W" -o /dev/null "$S/delay?ms=300" -o /dev/null "$S/$path" \
    -o /dev/null "$S/ok" -o /dev/null "$S/len?n=100000"
  sort -n "$OUT" >"$T/sorted"
  check_eq "$(sed -n 2p "$T/sorted" | cut -d' ' -f3)" 92 "/$path: a stream error (92)"
  check_eq "$(sed -n '1p;3p;4p' "$T/sorted" | cut -d' ' -f2- | tr '\n' '|')" "200 0 2|200 0 2|200 0 2|" \
    "/$path: the other three streams unharmed"
done
flurry "${PK[@]}" -m 20 "$S/content-length?cl=10&n=5"
one_of "92 18" "content-length disagreeing with the DATA"
flurry "${PK[@]}" -m 20 "$S/rst-flood?n=10000"
check_rc 92 "RST_STREAM flood: the stream's error"

# ---- connection errors (16)
flurry "${PK[@]}" -m 20 "$S/goaway-mid-body?n=100&send=10&code=2"
check_rc 16 "GOAWAY(INTERNAL_ERROR) mid-body"
flurry "${PK[@]}" -m 20 -w '%{size_download}' "$S/goaway-mid-body?n=100&send=10&code=0&finish=1"
check_rc 0 "GOAWAY(NO_ERROR) mid-body, the body finished"
check_eq "$(cat "$OUT" | tail -c 3)" 100 "... all 100 bytes"
flurry "${PK[@]}" -m 20 "$S/oversized-frame"
check_rc 16 "a DATA frame over SETTINGS_MAX_FRAME_SIZE"
flurry "${PK[@]}" -m 20 "$S/hpack-table-overflow"
check_rc 16 "HPACK table size update past SETTINGS_HEADER_TABLE_SIZE"
flurry "${PK[@]}" -m 20 "$S/continuation-flood"
one_of "8 16 92" "CONTINUATION flood: stopped at the header cap (8, as a too-large HTTP/1.1 head)"
flurry "${PK[@]}" -m 20 "$S/goaway?code=11"
check_rc 16 "GOAWAY(ENHANCE_YOUR_CALM) before an answer"
flurry "${PK[@]}" -m 20 "$S/close"
one_of "16 52 55 56 92" "the connection closed, no GOAWAY"
flurry "${PK[@]}" -m 20 -w '%{exitcode}' "$S/data-after-close"
check_rc 0 "DATA on a closed stream after the answer: the answer stands"

# ---- floods: bounded work, never a hang
flurry "${PK[@]}" -m 20 "$S/ping-flood?n=10000"
one_of "0 16" "PING flood"
flurry "${PK[@]}" -m 20 "$S/settings-flood?n=10000"
one_of "0 16" "SETTINGS flood"

# ---- timeouts (28)
flurry "${PK[@]}" -m 1 "$S/stall-body?n=100&send=10"
check_rc 28 "a body that stalls: --max-time"
head -c 200000 /dev/urandom >"$T/big.bin"
flurry "${PK[@]}" -m 2 --data-binary @"$T/big.bin" "$S/no-window-update"
check_rc 28 "a stream window that never opens: --max-time"
flurry "${PK[@]}" -m 3 "$S/conn/no-settings"
one_of "16 28" "a server that never sends SETTINGS"

# ---- retries: REFUSED_STREAM once, GOAWAY's unprocessed streams
flurry "${PK[@]}" -w "$W" "$S/refused-once?k=ro"
check_eq "$RC:$(cat "$OUT")" "0:ok200 0 2" "REFUSED_STREAM: retried once"
check_eq "$(stats ro requests):$(stats ro refused)" "2:1" "... the server saw two attempts"
urls=(-o /dev/null "$S/conn/goaway-after?n=2&k=ga")
for i in 1 2 3 4 5; do urls+=(-o /dev/null "$S/ok?k=ga&i=$i"); done
flurry "${PK[@]}" -Z -m 20 -w "$W" "${urls[@]}"
check_rc 0 "GOAWAY then the answers to the processed streams: every transfer succeeds"
check_eq "$(sort "$OUT" | uniq -c | awk '{printf "%s*%s %s %s ", $1, $2, $3, $4}')" "6*200 0 2 " \
  "... six answers over h2 (curl 7.88 sometimes fails one with 16)"
urls=(-o /dev/null "$S/conn/max-streams-1?ms=200&k=ms")
for i in 1 2 3 4 5; do urls+=(-o /dev/null "$S/delay?ms=50&k=ms&i=$i"); done
flurry "${PK[@]}" -Z -m 30 -w "$W" "${urls[@]}"
check_rc 0 "SETTINGS_MAX_CONCURRENT_STREAMS=1: every transfer succeeds"
check_eq "$(stats ms connections)" 1 "... on one connection (RFC 9113 9.1; curl 7.88 opens one per refused stream)"

# ---- over TLS: ALPN h2
start_h2 tls --tls-dir "$FL_TEST_RUNDIR/nginx_h2"
flurry -s --cacert "$FL_TEST_RUNDIR/nginx_h2/ca.pem" -w ' %{http_version}' "$H2/ok"
check_eq "$RC:$(cat "$OUT")" "0:ok 2" "TLS, ALPN h2"
flurry -s --cacert "$FL_TEST_RUNDIR/nginx_h2/ca.pem" -m 20 "$H2/uppercase"
check_rc 92 "TLS: a stream error"

done_testing
