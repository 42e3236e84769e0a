#!/usr/bin/env bash
# Host names DNS could not carry (a 64-byte label, 327 bytes in all) are
# fine in a URL: through a proxy (-x: the proxy resolves) and with --resolve
# (answered here) flurry fetches them as curl 7.88 does, and checks a TLS
# certificate against them; only when flurry itself would ask DNS does it
# stop, with exit 6 and a clear message (and no query sent).
# TIMEOUT: 60
source "$(dirname "$0")/lib.sh"
start_fault_server

L64=$(printf 'a%.0s' {1..64})
L63=$(printf 'b%.0s' {1..63})
LONG=$L64.example               # one label over 63
HUGE=$L63.$L63.$L63.$L63.$L63.x # 321 bytes, over 253
PROXY=${FAULT#http://}

# ---- through a proxy: no DNS asked for the origin (the fault server reads
# absolute-form targets, so it serves as the proxy)
same_as_curl "-x with a 64-byte label" -sS -x "http://$PROXY" "http://$LONG/ok?k={tool}1"
check_eq "$(cat "$OUT")" "ok" "... the body"
check_eq "$(curl -q -s "$FAULT/_log?k=flurry1" | head -1 | tr -d "\r")" "GET http://$LONG/ok?k=flurry1 HTTP/1.1" \
  "... the proxy got the long name in the request line"
same_as_curl "-x with a ${#HUGE}-byte name" -sS -x "http://$PROXY" "http://$HUGE/ok?k={tool}2"
check_eq "$(cat "$OUT")" "ok" "... the body"

# ---- --resolve: answered here, no DNS
PORT=${PROXY#*:}
same_as_curl "--resolve a name with a 64-byte label" -sS --resolve "$LONG:$PORT:127.0.0.1" \
  "http://$LONG:$PORT/ok"
check_eq "$(cat "$OUT")" "ok" "... the body"
# (curl 7.88 refuses --resolve entries past 255 bytes: exit 49; flurry takes them)
flurry -sS --resolve "$HUGE:$PORT:127.0.0.1" "http://$HUGE:$PORT/ok"
check_eq "$RC:$(cat "$OUT")" "0:ok" "--resolve a ${#HUGE}-byte name"

# ---- flurry would have to ask DNS: exit 6 at once, as curl's, with a clear message
flurry -sS --dns-servers 127.0.0.1:1 "http://$LONG:$PORT/ok"
check_rc 6 "a 64-byte label to resolve: exit 6"
check_contains "$ERR" "longer than DNS allows" "... saying why"
flurry -sS --dns-servers 127.0.0.1:1 "http://$HUGE:$PORT/ok"
check_rc 6 "a ${#HUGE}-byte name to resolve: exit 6"
flurry -sS --resolve "other.example:$PORT:127.0.0.1" --dns-servers 127.0.0.1:1 "http://$LONG:$PORT/ok"
check_rc 6 "an override for another name does not help"

# ---- TLS: the certificate is checked against the long name (SAN), with
# --resolve to an https server (SNI carries the name: it is under 255 bytes)
mkdir -p "$T/tls"
(
  cd "$T/tls" || exit 1
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -subj "/CN=long-name CA" -days 2
  openssl req -newkey rsa:2048 -nodes -keyout good.key -out good.csr -subj "/CN=long"
  printf 'subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\n' "$LONG" >ext.cnf
  openssl x509 -req -in good.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out good.pem -days 2 \
    -extfile ext.cnf
) >"$T/tls/openssl.log" 2>&1
python3 "$FL_TEST_SRCDIR/support/fault_server.py" --port-file "$T/tls.port" --tls-dir "$T/tls" \
  2>"$T/tls.log" &
PROXY_PID=$! # stopped by lib.sh's cleanup
for ((i = 0; i < 400; i++)); do [[ -s $T/tls.port ]] && break; sleep 0.05; done
TPORT=$(cat "$T/tls.port")
same_as_curl "https via --resolve to a long name" -sS --cacert "$T/tls/ca.pem" \
  --resolve "$LONG:$TPORT:127.0.0.1" "https://$LONG:$TPORT/ok"
check_eq "$RC:$(cat "$OUT")" "0:ok" "... verified and fetched"
same_as_curl "https: a name the certificate lacks fails (60)" -sS --cacert "$T/tls/ca.pem" \
  --resolve "b$LONG:$TPORT:127.0.0.1" "https://b$LONG:$TPORT/ok"
flurry -sS --cacert "$T/tls/ca.pem" --resolve "$HUGE:$TPORT:127.0.0.1" "https://$HUGE:$TPORT/ok"
check_rc 60 "https to a ${#HUGE}-byte name: no SNI, still verified (the name is not in the certificate)"
check_contains "$ERR" "hostname mismatch" "... a hostname mismatch"

done_testing
