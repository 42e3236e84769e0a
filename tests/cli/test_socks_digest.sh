#!/usr/bin/env bash
# SOCKS proxies (-x socks5h://, --socks5-hostname, --socks5, --socks4,
# --socks4a, -U) and Digest authentication (--digest, --proxy-digest),
# each command run by flurry and by curl 7.88: same exit code, same body.
# SOCKS5 servers: microsocks (with and without user/password) and the
# scripted tests/support/socks_server.py (SOCKS4, failures); Digest:
# httpbin, and tests/support/proxy_server.py --digest for the proxy.
# FIXTURES: httpbin nginx nginx_tls
# LABELS: valgrind
# TIMEOUT: 180
source "$(dirname "$0")/lib.sh"
HB=$(server_url httpbin)
NG=$(server_url nginx)
TLS_PORT=$(cat "$FL_TEST_RUNDIR/nginx_tls.port")
CA=$FL_TEST_RUNDIR/nginx_tls/ca.pem
command -v curl >/dev/null || { echo "skipped: curl is not installed"; exit 77; }

# ---- servers of our own, stopped at exit
MY_PIDS=()
stop_mine() {
  local pid
  for pid in "${MY_PIDS[@]}"; do
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  cleanup
}
trap stop_mine EXIT

# start_script NAME [ARG]: tests/support/NAME --port-file F [ARG]; prints the port.
start_script() {
  local pf
  pf=$(mktemp "$T/port.XXXXXX")
  rm -f "$pf"
  python3 "$FL_TEST_SRCDIR/support/$1" --port-file "$pf" ${2:+"$2"} 2>>"$T/servers.log" &
  MY_PIDS+=($!)
  for ((i = 0; i < 400; i++)); do
    [[ -s $pf ]] && break
    sleep 0.05
  done
  [[ -s $pf ]] || { echo "$1 did not start" >&2; exit 1; }
  SCRIPT_PORT=$(cat "$pf")
}

# same ARGS...: run flurry and curl with ARGS; the exit codes and standard
# outputs must match (curl's in $T/curl.out, $CRC).
same() {
  local what=$1
  shift
  flurry -s "$@"
  CRC=0
  curl -s "$@" >"$T/curl.out" 2>"$T/curl.err" || CRC=$?
  check_eq "$RC" "$CRC" "$what: exit code as curl's"
  if cmp -s "$OUT" "$T/curl.out"; then pass "$what: output as curl's"; else
    fail "$what: output differs from curl's: $(head -c 300 "$OUT") / $(head -c 300 "$T/curl.out")"
  fi
}

# ---- SOCKS5 through microsocks
if command -v microsocks >/dev/null; then
  start_script microsocks.py
  MS=$SCRIPT_PORT
  start_script microsocks.py --user=su:sp
  MSA=$SCRIPT_PORT
  same "-x socks5h://" -x "socks5h://127.0.0.1:$MS" "$NG/hello"
  check_eq "$(cat "$OUT")" "Hello, World!" "body through socks5h"
  same "-x socks5://" -x "socks5://127.0.0.1:$MS" "$NG/hello"
  same "--socks5-hostname" --socks5-hostname "127.0.0.1:$MS" "$NG/hello"
  same "--socks5" --socks5 "127.0.0.1:$MS" "$NG/hello"
  same "https through socks5h" -x "socks5h://127.0.0.1:$MS" --cacert "$CA" "https://localhost:$TLS_PORT/hello"
  check_eq "$(cat "$OUT")" "Hello, World!" "https body through socks5h"
  same "https through --socks5" --socks5 "127.0.0.1:$MS" --cacert "$CA" "https://localhost:$TLS_PORT/hello"
  same "-w remote_port through socks" -x "socks5h://127.0.0.1:$MS" -o /dev/null -w '%{http_code} %{remote_port}' \
    "$NG/hello"
  check_eq "$(cat "$OUT")" "200 $MS" "-w: 200 and the proxy's port"
  same "socks5h: user/password in the URL" -x "socks5h://su:sp@127.0.0.1:$MSA" "$NG/hello"
  check_eq "$(cat "$OUT")" "Hello, World!" "body through an authenticating proxy"
  same "socks5h: -U" -x "socks5h://127.0.0.1:$MSA" -U su:sp "$NG/hello"
  same "--socks5-hostname with --proxy-user" --socks5-hostname "127.0.0.1:$MSA" --proxy-user su:sp "$NG/hello"
  same "-U does not replace the URL's credentials" -x "socks5h://xx:yy@127.0.0.1:$MSA" -U su:sp "$NG/hello"
  check_rc 97 "the URL's credentials win over -U (as curl)"
  same "socks5h: wrong password" -x "socks5h://su:nope@127.0.0.1:$MSA" "$NG/hello"
  check_rc 97 "wrong SOCKS5 password: 97"
  same "socks5h: no credentials" -x "socks5h://127.0.0.1:$MSA" "$NG/hello"
  check_rc 97 "SOCKS5 credentials missing: 97"
  same "socks5h: the proxy cannot connect" -x "socks5h://127.0.0.1:$MS" "http://127.0.0.1:1/"
  check_rc 97 "SOCKS5 reply 5: 97"
  flurry -x "socks5h://127.0.0.1:$MS" "http://127.0.0.1:1/"
  check_contains "$ERR" "connection refused (reply 5)" "the message names the reply"
else
  echo "skipping the microsocks part: microsocks is not installed"
fi
same "no SOCKS proxy listening" -x "socks5h://127.0.0.1:1" "$NG/hello"
check_rc 7 "no proxy listening: 7"

# ---- SOCKS4, SOCKS4a and failures through the scripted server
start_script socks_server.py
SS=$SCRIPT_PORT
same "--socks4" --socks4 "127.0.0.1:$SS" "$NG/hello"
check_eq "$(cat "$OUT")" "Hello, World!" "body through socks4"
same "--socks4a" --socks4a "127.0.0.1:$SS" "$NG/hello"
same "-x socks4://" -x "socks4://127.0.0.1:$SS" "$NG/hello"
same "-x socks4a://, a name" -x "socks4a://127.0.0.1:$SS" "http://localhost:${NG##*:}/hello"
same "socks4 user id" -x "socks4://someone@127.0.0.1:$SS" "$NG/hello"
flurry -x "socks5h://127.0.0.1:$SS" http://socks.log/
check_contains "$OUT" "user=someone" "the user id went to the SOCKS4 proxy"
check_contains "$OUT" "host=localhost" "socks4a sent the name"
same "socks4 rejected (91)" -x "socks4://reply-91@127.0.0.1:$SS" "$NG/hello"
check_rc 97 "SOCKS4 reply 91: 97"
same "socks4a, identd (92)" -x "socks4a://reply-92@127.0.0.1:$SS" "$NG/hello"
same "socks4 closed" -x "socks4://close@127.0.0.1:$SS" "$NG/hello"
same "socks5 reply 2" -x "socks5h://reply-2:x@127.0.0.1:$SS" "$NG/hello"
check_rc 97 "SOCKS5 reply 2: 97"
same "socks5 auth failed" -x "socks5h://badauth:x@127.0.0.1:$SS" "$NG/hello"
same "socks5 bad reply version" -x "socks5h://badver:x@127.0.0.1:$SS" "$NG/hello"
same "socks5 bound name" -x "socks5h://bind-name:x@127.0.0.1:$SS" "$NG/hello"
same "socks5 bound IPv6" -x "socks5h://bind-v6:x@127.0.0.1:$SS" "$NG/hello"
check_eq "$(cat "$OUT")" "Hello, World!" "body after an IPv6 bound address"
flurry --connect-timeout 0.5 -x "socks5h://stall:x@127.0.0.1:$SS" "$NG/hello"
check_rc 28 "a stalled handshake ends at the connect timeout: 28"
check_contains "$ERR" "SOCKS handshake" "the timeout names the handshake"
start_script socks_server.py --mode=require-auth
same "socks5 requires credentials" -x "socks5h://127.0.0.1:$SCRIPT_PORT" "$NG/hello"
check_rc 97 "no acceptable method: 97"
start_script socks_server.py --mode=greet-badver
same "not a SOCKS5 proxy" -x "socks5h://127.0.0.1:$SCRIPT_PORT" "$NG/hello"

# ---- --digest against httpbin
for algo in MD5 SHA-256; do
  same "--digest $algo" --digest -u user:passwd "$HB/digest-auth/auth/user/passwd/$algo"
  check_contains "$OUT" '"authenticated":true' "--digest $algo authenticates"
done
same "--digest, wrong password" --digest -u user:wrong -w '%{http_code}' "$HB/digest-auth/auth/user/passwd/MD5"
check_eq "$(cat "$OUT")" "401" "a wrong password: the second 401 is the result"
same "--digest -f, wrong password" --digest -f -u user:wrong "$HB/digest-auth/auth/user/passwd/MD5"
check_rc 22 "-f with a wrong password: 22"
same "--digest, credentials in the URL" --digest "http://user:passwd@${HB#http://}/digest-auth/auth/user/passwd/MD5"
same "--digest, no challenge" --digest -u user:passwd "$HB/get?x=1" -o /dev/null -w '%{http_code}'
same "-u without --digest" -u user:passwd -w '%{http_code}' -o /dev/null "$HB/digest-auth/auth/user/passwd/MD5"
check_eq "$(cat "$OUT")" "401" "Basic on a Digest resource: 401"
flurry -v --digest -u user:passwd "$HB/digest-auth/auth/user/passwd/MD5" -o /dev/null
check_contains "$ERR" "> Authorization: Digest username=\"user\"" "-v shows the Digest credentials"

# ---- --proxy-digest
start_script proxy_server.py --digest=pu:pp
PD=$SCRIPT_PORT
same "--proxy-digest" --proxy-digest -x "http://127.0.0.1:$PD" -U pu:pp -A t "$HB/get?via=proxy"
check_contains "$OUT" '"via":"proxy"' "through the Digest proxy"
same "--proxy-digest, wrong password" --proxy-digest -x "http://127.0.0.1:$PD" -U pu:no -w '%{http_code}' \
  -o /dev/null "$HB/get"
check_eq "$(cat "$OUT")" "407" "a wrong proxy password: 407"
same "Basic to a Digest proxy" -x "http://pu:pp@127.0.0.1:$PD" -w '%{http_code}' -o /dev/null "$HB/get"
same "--proxy-digest, https (CONNECT)" --proxy-digest -x "http://127.0.0.1:$PD" -U pu:pp --cacert "$CA" \
  "https://localhost:$TLS_PORT/hello"
check_eq "$(cat "$OUT")" "Hello, World!" "https through the Digest proxy"
same "--proxy-digest, https, wrong password" --proxy-digest -x "http://127.0.0.1:$PD" -U pu:no --cacert "$CA" \
  "https://localhost:$TLS_PORT/hello"
check_rc 56 "the tunnel refused after the answer: 56"
same "--proxy-digest, a POST body" --proxy-digest -x "http://127.0.0.1:$PD" -U pu:pp -A t -d hello=there "$HB/post"
check_contains "$OUT" '"hello":"there"' "the body went with the answered request"
printf 'uploaded-file' >"$T/up.txt"
same "--proxy-digest, -T" --proxy-digest -x "http://127.0.0.1:$PD" -U pu:pp -T "$T/up.txt" -o /dev/null \
  -w '%{http_code}' "$HB/put"
flurry --proxy-digest -x "http://127.0.0.1:$PD" -U pu:pp -T "$T/up.txt" "$HB/put"
check_contains "$OUT" '"data":"uploaded-file"' "the file went with the answered request"
same "--digest, POST to a resource that takes none" --digest -u user:passwd -d x -o /dev/null -w '%{http_code}' \
  "$HB/digest-auth/auth/user/passwd/MD5"
same "--proxy-digest and --digest" --proxy-digest -x "http://pu:pp@127.0.0.1:$PD" --digest -u user:passwd \
  "$HB/digest-auth/auth/user/passwd/SHA-256"
check_contains "$OUT" '"authenticated":true' "both Digest challenges answered"

done_testing
