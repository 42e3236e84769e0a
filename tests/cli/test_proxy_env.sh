#!/usr/bin/env bash
# The proxy environment variables and --noproxy beside curl 7.88 (issue 23,
# group 6): http_proxy (lower case only), HTTPS_PROXY/https_proxy,
# ALL_PROXY/all_proxy, NO_PROXY/no_proxy (names, subdomains, IPs, CIDR, *),
# --noproxy replacing NO_PROXY, -x over the environment, -x "" for none.
# Whether a transfer went through tests/support/proxy_server.py shows in
# the X-Seen-Proxy-Authorization header it adds (-i), and in its log.
# FIXTURES: nginx nginx_tls
# TIMEOUT: 120
source "$(dirname "$0")/lib.sh"
NG=$(server_url nginx)
TLS_PORT=$(cat "$FL_TEST_RUNDIR/nginx_tls.port")
CA=$FL_TEST_RUNDIR/nginx_tls/ca.pem

python3 "$FL_TEST_SRCDIR/support/proxy_server.py" --port-file "$T/proxy.port" 2>"$T/proxy.log" &
PROXY_PID=$!
for ((i = 0; i < 400; i++)); do [[ -s $T/proxy.port ]] && break; sleep 0.05; done
[[ -s $T/proxy.port ]] || { echo "proxy did not start" >&2; exit 1; }
PX=http://127.0.0.1:$(cat "$T/proxy.port")

# env_both WHAT "VAR=VALUE ..." ARGS...: flurry and curl with exactly these
# proxy variables (no others), the same exit code and stdout; sets VIA to
# "proxy" or "direct" for flurry (curl's must agree).
env_both() {
  local what=$1 vars=$2 clean=(env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY
    -u all_proxy -u ALL_PROXY -u no_proxy -u NO_PROXY)
  shift 2
  # shellcheck disable=SC2086
  RC=0; "${clean[@]}" $vars "${FL_LAUNCH[@]}" "$FL_CLI" "$@" >"$OUT" 2>"$ERR" || RC=$?
  # shellcheck disable=SC2086
  CRC=0; "${clean[@]}" $vars curl -q "$@" >"$COUT" 2>"$CERR" || CRC=$?
  if [[ $RC == "$CRC" ]]; then pass "$what: exit $RC, as curl"; else
    fail "$what: exit $RC, curl's $CRC"; fi
  if diff <(normalize_out "$COUT") <(normalize_out "$OUT") >"$T/curl.diff"; then
    pass "$what: stdout as curl's"
  else fail "$what: stdout differs from curl's: $(head -c 600 "$T/curl.diff")"; fi
  VIA=direct
  grep -qi '^X-Seen-Proxy-Authorization' "$OUT" && VIA=proxy
}

env_both "http_proxy" "http_proxy=$PX" -s -i "$NG/hello"
check_eq "$VIA" proxy "http_proxy: through the proxy"
env_both "HTTP_PROXY (upper case) is ignored" "HTTP_PROXY=$PX" -s -i "$NG/hello"
check_eq "$VIA" direct "HTTP_PROXY: direct"
env_both "ALL_PROXY" "ALL_PROXY=$PX" -s -i "$NG/hello"
check_eq "$VIA" proxy "ALL_PROXY: through the proxy"
env_both "all_proxy" "all_proxy=$PX" -s -i "$NG/hello"
check_eq "$VIA" proxy "all_proxy: through the proxy"
env_both "http_proxy without a scheme" "http_proxy=${PX#http://}" -s -i "$NG/hello"
check_eq "$VIA" proxy "host:port proxy: http"
env_both "NO_PROXY=127.0.0.1" "http_proxy=$PX NO_PROXY=127.0.0.1" -s -i "$NG/hello"
check_eq "$VIA" direct "NO_PROXY: direct"
env_both "no_proxy=127.0.0.0/8" "http_proxy=$PX no_proxy=127.0.0.0/8" -s -i "$NG/hello"
check_eq "$VIA" direct "no_proxy CIDR: direct"
env_both "no_proxy=10.0.0.0/8" "http_proxy=$PX no_proxy=10.0.0.0/8" -s -i "$NG/hello"
check_eq "$VIA" proxy "no_proxy other network: proxy"
env_both "NO_PROXY=*" "ALL_PROXY=$PX NO_PROXY=*" -s -i "$NG/hello"
check_eq "$VIA" direct "NO_PROXY=*: direct"
env_both "no_proxy of a name and subdomains" "http_proxy=$PX no_proxy=.example.test" -s -i \
  --resolve "www.example.test:${NG##*:}:127.0.0.1" "http://www.example.test:${NG##*:}/hello"
check_eq "$VIA" direct "no_proxy .example.test: www.example.test direct"
env_both "no_proxy does not match a longer name" "http_proxy=$PX no_proxy=calhost" -s -i \
  "http://localhost:${NG##*:}/hello"
check_eq "$VIA" proxy "no_proxy calhost: localhost through the proxy"
env_both "--noproxy replaces NO_PROXY" "http_proxy=$PX NO_PROXY=127.0.0.1" -s -i --noproxy "" "$NG/hello"
check_eq "$VIA" proxy "--noproxy \"\": proxy"
env_both "--noproxy 127.0.0.1" "http_proxy=$PX" -s -i --noproxy 127.0.0.1 "$NG/hello"
check_eq "$VIA" direct "--noproxy: direct"
env_both "--noproxy applies to -x" "" -s -i -x "$PX" --noproxy localhost,127.0.0.1 "$NG/hello"
check_eq "$VIA" direct "--noproxy with -x: direct"
env_both "-x over the environment" "http_proxy=http://127.0.0.1:1" -s -i -x "$PX" "$NG/hello"
check_eq "$VIA" proxy "-x wins"
env_both "-x \"\": no proxy" "http_proxy=$PX" -s -i -x "" "$NG/hello"
check_eq "$VIA" direct "-x \"\": direct"
env_both "a proxy that refuses: 7" "http_proxy=http://127.0.0.1:1" -s "$NG/hello"

# https: HTTPS_PROXY (either case) tunnels with CONNECT; http_proxy does not apply
: >"$T/seen"
for v in HTTPS_PROXY https_proxy; do
  env_both "$v for https" "$v=$PX" -s --cacert "$CA" "https://localhost:$TLS_PORT/hello"
  check_eq "$(cat "$OUT")" "Hello, World!" "$v: body through the tunnel"
done
env_both "http_proxy is not for https" "http_proxy=http://127.0.0.1:1" -s --cacert "$CA" \
  "https://localhost:$TLS_PORT/hello"
curl_too -s -x "$PX" http://proxy.invalid/_log
check_eq "$(grep -c "^CONNECT localhost:$TLS_PORT" "$COUT")" 4 "4 CONNECTs (flurry and curl, both cases)"

done_testing
