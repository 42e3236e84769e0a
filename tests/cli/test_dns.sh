#!/usr/bin/env bash
# flurry --dns-servers against the dnsmasq fixture: names found (6 when
# not), server failure, DNS timeout (28), IPv6-only names; --resolve wins.
# FIXTURES: dnsmasq nginx
# LABELS: valgrind
source "$(dirname "$0")/lib.sh"
DNS=127.0.0.1:$(cat "$FL_TEST_RUNDIR/dnsmasq.port")
NG=$(server_url nginx)
PORT=${NG##*:}

flurry --dns-servers "$DNS" "http://a.test:$PORT/hello" -w ' %{remote_ip}'
check_rc 0 "a.test through dnsmasq"
check_eq "$(cat "$OUT")" "Hello, World! 127.0.0.1" "a.test body and address"
flurry --dns-servers "$DNS" "http://nope.test:$PORT/hello"
check_rc 6 "NXDOMAIN"
check_contains "$ERR" "nope.test" "the message names the host"
# --retry takes a name not found as transient, as curl (exit 6 is retried)
flurry -sS --retry 1 --retry-delay 0.1 --dns-servers "$DNS" "http://nope.test:$PORT/hello"
check_rc 6 "NXDOMAIN with --retry 1"
check_eq "$(grep -c '(6)' "$ERR")" 2 "NXDOMAIN: two attempts"
flurry --dns-servers "$DNS" "http://fail.test:$PORT/hello"
check_rc 6 "SERVFAIL"
flurry --dns-servers "$DNS" --connect-timeout 1 "http://timeout.test:$PORT/hello"
check_rc 28 "no DNS answer within --connect-timeout"
flurry --dns-servers "$DNS" "http://many.test:$PORT/get"
check_rc 0 "a name with several addresses"
check_eq "$(json_get "$OUT" headers.Host)" "many.test:$PORT" "Host keeps the name"
if python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
  flurry --dns-servers "$DNS" "http://six.test:$PORT/hello" -w ' %{remote_ip}'
  check_rc 0 "IPv6-only name"
  check_eq "$(cat "$OUT")" "Hello, World! ::1" "six.test over ::1"
fi
flurry --dns-servers "$DNS" --resolve "nope.test:$PORT:127.0.0.1" "http://nope.test:$PORT/hello"
check_rc 0 "--resolve wins over DNS"
flurry --dns-servers "not-an-address" "http://a.test:$PORT/hello"
check_rc 43 "a --dns-servers value the library refuses"
# several URLs on one name: looked up once, every transfer succeeds
urls=()
for ((i = 0; i < 20; i++)); do urls+=("http://a.test:$PORT/hello"); done
flurry -s --dns-servers "$DNS" "${urls[@]}"
check_rc 0 "20 URLs through dnsmasq"
check_eq "$(cat "$OUT")" "$(for ((i = 0; i < 20; i++)); do printf 'Hello, World!'; done)" "20 bodies"

done_testing
