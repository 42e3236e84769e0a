#!/usr/bin/env bash
# flurry options that rest on library features: -L/--max-redirs (47),
# cookie files (-b FILE, -c), --compressed (61, decoded --max-filesize),
# TLS (-k, --cacert: 35, 60, 77; -E, --key, --cert-type, --capath: 58,
# compared with curl) and the proxy (-x).
# FIXTURES: httpbin nginx nginx_tls
# LABELS: valgrind
# TIMEOUT: 120
source "$(dirname "$0")/lib.sh"
HB=$(server_url httpbin)
HB_PORT=${HB##*:}
NG=$(server_url nginx)
start_fault_server

# ---- -L, --max-redirs
flurry "$NG/redirect" -o /dev/null -w '%{http_code}'
check_rc 0 "302 without -L"
check_eq "$(cat "$OUT")" "302" "without -L the 302 is the result"
flurry -L "$NG/redirect" -w ' %{num_redirects} %{url_effective}'
check_rc 0 "-L"
check_eq "$(cat "$OUT")" "Hello, World! 1 $NG/hello" "-L follows; %{num_redirects}, %{url_effective}"
flurry -L "$HB/redirect/5" -o /dev/null -w '%{num_redirects}'
check_rc 0 "-L through 5 redirects (default limit 50)"
check_eq "$(cat "$OUT")" "5" "5 redirects counted"
flurry -L --max-redirs 2 "$HB/redirect/5"
check_rc 47 "--max-redirs 2 with 5 redirects"
flurry -L --max-redirs -1 "$HB/redirect/3" -o /dev/null
check_rc 0 "--max-redirs -1: no limit"
flurry -L --max-redirs 0 "$NG/redirect"
check_rc 47 "--max-redirs 0 with one redirect"
# credentials set by -u/-b/-H are not sent to another host:port (as curl)
flurry -L -u user:pw -b "k=v" "$FAULT/redirect-port?to=$HB_PORT&path=/headers"
check_rc 0 "-L to another port"
check_not_contains "$OUT" "Authorization" "-u is not sent to another port"
check_not_contains "$OUT" "Cookie" "-b string is not sent to another port"
flurry -L -d "a=1" "$HB/redirect-to?url=/get&status_code=302"
check_rc 0 "-L after a POST"
check_eq "$(json_get "$OUT" url)" "$HB/get" "POST then 302: GET on the next hop"

# ---- cookie files
flurry -L -c "$T/jar.txt" "$HB/cookies/set?a=1&b=two"
check_rc 0 "-c with cookies set across a redirect"
check_eq "$(json_get "$OUT" cookies.b)" "two" "the jar sends cookies on the next hop"
check_contains "$T/jar.txt" "Netscape HTTP Cookie File" "-c writes a Netscape file"
check_contains "$T/jar.txt" $'\tb\ttwo' "-c has the cookie"
flurry -b "$T/jar.txt" -b "x=y" "$HB/cookies"
check_rc 0 "-b FILE"
check_eq "$(json_get "$OUT" cookies.a),$(json_get "$OUT" cookies.x)" "1,y" "-b FILE and -b string together"
flurry -b "$T/no-such-jar.txt" "$HB/cookies"
check_rc 0 "-b with a missing file is no error (as curl)"
flurry -b "$T/jar.txt" -c "$T/jar2.txt" "$HB/cookies/delete?a"
check_rc 0 "-b and -c"
check_not_contains "$T/jar2.txt" $'\ta\t1' "a deleted cookie leaves the jar"
check_contains "$T/jar2.txt" $'\tb\ttwo' "the other cookie stays"
flurry -c "$T/no/such/dir/jar" "$HB/get" -o /dev/null
check_rc 0 "-c into a missing directory: a warning (as curl)"
check_contains "$ERR" "cannot save cookies" "-c failure warning"

# ---- --compressed
flurry --compressed "$NG/gzip/page.html" -w '%{size_download}' -o "$T/page.html"
check_rc 0 "--compressed"
cmp -s "$T/page.html" "$FL_TEST_RUNDIR/nginx.files/page.html" && pass "gzip body decoded" ||
  fail "decoded page differs"
# curl counts the bytes as received, before decoding (not the 3431 decoded)
curl_too --compressed "$NG/gzip/page.html" -w '%{size_download}' -o "$T/page.curl.html"
check_eq "$(cat "$OUT")" "$(cat "$COUT")" "%{size_download} counts received bytes, as curl"
[[ $(cat "$OUT") -lt 3431 ]] && pass "%{size_download} is the compressed size" ||
  fail "%{size_download} $(cat "$OUT") is not below the decoded 3431"
flurry -v --compressed "$HB/gzip"
check_eq "$(json_get "$OUT" gzipped)" "True" "httpbin /gzip decoded"
check_contains "$ERR" "> Accept-Encoding: gzip, deflate, br" "-v shows Accept-Encoding"
flurry --compressed "$HB/brotli"
check_eq "$(json_get "$OUT" brotli)" "True" "br decoded"
flurry --compressed "$HB/deflate"
check_eq "$(json_get "$OUT" deflated)" "True" "deflate decoded"
flurry "$HB/get"
check_not_contains "$OUT" "Accept-Encoding" "no Accept-Encoding without --compressed"
flurry --compressed "$FAULT/corrupt-gzip"
check_rc 61 "corrupt gzip: bad content encoding"
flurry --compressed --max-filesize 1M -o /dev/null "$FAULT/gzip-bomb?mib=10"
check_rc 63 "--max-filesize counts decoded bytes (gzip bomb, with length)"
flurry --compressed --max-filesize 1M -o /dev/null "$FAULT/gzip-bomb?mib=10&length=0"
check_rc 63 "--max-filesize counts decoded bytes (gzip bomb, no length)"

# ---- TLS
TLS_PORT=$(cat "$FL_TEST_RUNDIR/nginx_tls.port")
CA=$FL_TEST_RUNDIR/nginx_tls/ca.pem
tls_port() { cat "$FL_TEST_RUNDIR/nginx_tls.$1.port"; }
flurry --cacert "$CA" "https://127.0.0.1:$TLS_PORT/hello" -w ' %{time_appconnect}'
check_rc 0 "https with --cacert"
check_contains "$OUT" "Hello, World! " "https body"
awk '{ exit !($3 > 0) }' "$OUT" && pass "%{time_appconnect} > 0" || fail "time_appconnect: $(cat "$OUT")"
flurry --cacert "$CA" --resolve "localhost:$TLS_PORT:127.0.0.1" "https://localhost:$TLS_PORT/get"
check_rc 0 "https by name (--resolve)"
check_eq "$(json_get "$OUT" headers.Host)" "localhost:$TLS_PORT" "Host over TLS"
flurry "https://127.0.0.1:$TLS_PORT/hello"
check_rc 60 "https without the test CA: not verified"
flurry -k "https://127.0.0.1:$TLS_PORT/hello"
check_rc 0 "-k"
for v in expired wronghost selfsigned unknownca; do
  flurry --cacert "$CA" "https://127.0.0.1:$(tls_port "$v")/hello"
  check_rc 60 "certificate $v"
done
flurry -k "https://127.0.0.1:$(tls_port expired)/hello"
check_rc 0 "-k accepts an expired certificate"
flurry --cacert "$CA" "https://127.0.0.1:$(tls_port tls10)/hello"
check_rc 35 "TLS 1.0 only server: handshake fails"
flurry --cacert "$T/missing.pem" "https://127.0.0.1:$TLS_PORT/hello" "$NG/hello"
check_rc 77 "--cacert unreadable"
check_contains "$OUT" "Hello, World!" "... the http URL still works"
flurry -v --cacert "$CA" "https://127.0.0.1:$TLS_PORT/hello"
check_contains "$ERR" "> GET /hello HTTP/1.1" "-v over https"

# ---- client certificates (-E, --key, --cert-type) and --capath, as curl
TLSD=$FL_TEST_RUNDIR/nginx_tls
CC="https://localhost:$(tls_port clientcert)/hello"
same_as_curl "no client certificate: nginx's 400" -s --cacert "$CA" "$CC" -o /dev/null -w '%{http_code}'
same_as_curl "-E with --key" -s --cacert "$CA" -E "$TLSD/client.pem" --key "$TLSD/client.key" "$CC"
cat "$TLSD/client.pem" "$TLSD/client.key" >"$T/both.pem"
same_as_curl "-E with the key in the same file" -s --cacert "$CA" -E "$T/both.pem" --cert-type pem "$CC"
same_as_curl "-E file missing: 58" -s --cacert "$CA" -E "$T/nope.pem" "$CC"
same_as_curl "-E with a key that does not match: 58" -s --cacert "$CA" -E "$TLSD/client.pem" \
  --key "$TLSD/good.key" "$CC"
same_as_curl "--cert-type DER with a PEM file: 58" -s --cacert "$CA" -E "$TLSD/client.pem" \
  --key "$TLSD/client.key" --cert-type DER "$CC"
same_as_curl "-E unusable, but the URL is http" -s -E "$T/nope.pem" "$NG/hello"
mkdir -p "$T/capath"
cp "$CA" "$T/capath/"
openssl rehash "$T/capath" 2>/dev/null || c_rehash "$T/capath" >/dev/null
same_as_curl "--capath" -s --capath "$T/capath" "https://localhost:$TLS_PORT/hello"
same_as_curl "--capath that is no directory: not used" -s --capath "$T/nope" \
  "https://localhost:$TLS_PORT/hello"

# ---- -x (the fault server echoes what a forward proxy receives)
flurry -v -x "$FAULT" "http://origin.test/echo?k=proxy"
check_rc 0 "-x"
check_eq "$(head -n 1 "$OUT" | tr -d '\r')" "GET http://origin.test/echo?k=proxy HTTP/1.1" \
  "absolute-form request through the proxy"
check_contains "$OUT" "Host: origin.test" "Host is the origin's"
grep '^>' "$ERR" | sed -e 's/^> \{0,1\}//' | tr -d '\r' | sed '/^$/d' >"$T/shown"
tr -d '\r' <"$OUT" | sed -n '1,/^$/p' | sed '$d' >"$T/received"
cmp -s "$T/shown" "$T/received" && pass "-v -x shows the exact request head" ||
  fail "-v -x differs: $(diff "$T/shown" "$T/received")"
flurry -v -x "http://us%40r:p%3Aw@${FAULT#http://}" "http://origin.test/echo"
check_contains "$OUT" "Proxy-Authorization: Basic $(printf 'us@r:p:w' | base64)" "proxy credentials"
grep '^>' "$ERR" | sed -e 's/^> \{0,1\}//' | tr -d '\r' | sed '/^$/d' >"$T/shown"
tr -d '\r' <"$OUT" | sed -n '1,/^$/p' | sed '$d' >"$T/received"
cmp -s "$T/shown" "$T/received" && pass "-v shows Proxy-Authorization as sent" ||
  fail "-v proxy auth differs: $(diff "$T/shown" "$T/received")"
flurry -x "http://127.0.0.1:1" "http://origin.test/"
check_rc 7 "proxy refuses: 7"

# ---- -x with https: a CONNECT tunnel, TLS checked against the origin
python3 "$FL_TEST_SRCDIR/support/proxy_server.py" --port-file "$T/proxy.port" --user=pu:pp \
  2>"$T/proxy.log" &
PROXY_PID=$!
for ((i = 0; i < 400; i++)); do [[ -s $T/proxy.port ]] && break; sleep 0.05; done
PROXY_PORT=$(cat "$T/proxy.port")
flurry -x "http://pu:pp@127.0.0.1:$PROXY_PORT" --cacert "$CA" "https://localhost:$TLS_PORT/hello"
check_rc 0 "https through the CONNECT tunnel"
check_eq "$(cat "$OUT")" "Hello, World!" "body through the tunnel"
same_as_curl "%{http_connect} through the tunnel" -s -o /dev/null -w '%{http_connect} %{http_code}' \
  -x "http://pu:pp@127.0.0.1:$PROXY_PORT" --cacert "$CA" "https://localhost:$TLS_PORT/hello"
flurry -x "http://127.0.0.1:$PROXY_PORT" --cacert "$CA" "https://localhost:$TLS_PORT/hello"
check_rc 56 "tunnel refused (407): 56, as curl"
flurry -x "http://pu:pp@127.0.0.1:$PROXY_PORT" "https://localhost:$(tls_port selfsigned)/hello"
check_rc 60 "certificate checked through the tunnel: 60"
kill "$PROXY_PID" 2>/dev/null
wait "$PROXY_PID" 2>/dev/null

done_testing
