#!/usr/bin/env bash
# flurry beside curl 7.88 over HTTP/2 (issue 20): nginx_h2 (h2 over TLS by
# ALPN, h2c by prior knowledge, and its HTTP/1.1 ports) and nghttpd. The
# same commands, the same exit codes and stdout: -i, -I, -D (curl's
# "HTTP/2 200 " status lines, lower-case names), -w '%{http_version}',
# the version options, redirects between h1 and h2 ports, uploads, a 110 KiB
# header block; -Z to one origin on one connection; and where curl 7.88 is
# wrong (several URLs on one h2c connection), flurry is right.
# FIXTURES: nginx_h2 nghttpd
# TIMEOUT: 120
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "curl not installed"; exit 77; }
if ! "$FL_CLI" -V | grep -q nghttp2; then
  echo "this libflurry is built without nghttp2 (flurry -V names no nghttp2): no HTTP/2 to test"
  exit 77
fi

RD=$FL_TEST_RUNDIR
H2=https://localhost:$(cat "$RD/nginx_h2.port")
H2C=http://127.0.0.1:$(cat "$RD/nginx_h2.h2c.port")
H1=https://localhost:$(cat "$RD/nginx_h2.h1.port")
PLAIN=http://127.0.0.1:$(cat "$RD/nginx_h2.plain.port")
CA=(--cacert "$RD/nginx_h2/ca.pem")
NG=https://localhost:$(cat "$RD/nghttpd.port")
NGC=http://127.0.0.1:$(cat "$RD/nghttpd.h2c.port")
GCA=(--cacert "$RD/nghttpd/ca.pem")
FILES=$RD/nginx_h2/nginx_h2.files
W='[%{http_version} %{http_code} %{num_headers} %{size_header}]'

# ---- -w %{http_version} and the version options
same_as_curl "h2 by ALPN (the default)" -s "${CA[@]}" -w "$W" "$H2/hello"
check_contains "$OUT" "Hello, World![2 200 4 " "h2 by ALPN: -w says HTTP/2, 200, 4 fields"
same_as_curl "--http2" -s --http2 "${CA[@]}" -w "$W" "$H2/hello"
same_as_curl "--http1.1 on an h2 server" -s --http1.1 "${CA[@]}" -w "$W" "$H2/hello"
check_contains "$OUT" "[1.1 200" "--http1.1: HTTP/1.1"
same_as_curl "--http2 on an h1-only TLS server" -s --http2 "${CA[@]}" -w "$W" "$H1/hello"
same_as_curl "--http2 on http://" -s --http2 -w "$W" "$PLAIN/hello"
same_as_curl "--http2-prior-knowledge on h2c" -s --http2-prior-knowledge -w "$W" "$H2C/hello"
check_contains "$OUT" "[2 200" "h2c: HTTP/2"
same_as_curl "--http2-prior-knowledge on TLS" -s --http2-prior-knowledge "${CA[@]}" -w "$W" "$H2/hello"
same_as_curl "-0" -s -0 -w "$W" "$PLAIN/get"
same_as_curl "--http1.0 over TLS" -s --http1.0 "${CA[@]}" -w "$W" "$H2/hello"

# ---- heads: -i, -I, -D, byte for byte
same_as_curl "-i over h2" -s -i "${CA[@]}" "$H2/files/page.html"
check_eq "$(head -n1 "$OUT")" $'HTTP/2 200 \r' "-i: curl's h2 status line"
check_not_contains "$OUT" "Content-Type" "-i: names lower-case"
same_as_curl "-I over h2" -s -I "${CA[@]}" "$H2/files/page.html"
same_as_curl "-D - over h2" -s -D - -o /dev/null "${CA[@]}" "$H2/files/small.txt"
flurry -s -D "$T/d.flurry" -o /dev/null "${CA[@]}" "$H2/files/page.html"
curl_too -s -D "$T/d.curl" -o /dev/null "${CA[@]}" "$H2/files/page.html"
check_eq "$(normalize_out "$T/d.flurry")" "$(normalize_out "$T/d.curl")" "-D FILE over h2, as curl"
same_as_curl "-i over h2c" -s -i --http2-prior-knowledge "$H2C/files/small.txt"
same_as_curl "-i 404 over h2" -s -i "${CA[@]}" "$H2/status/404"
same_as_curl "-f 404 over h2" -s -f "${CA[@]}" "$H2/status/404"
same_as_curl "204 over h2" -s -i "${CA[@]}" -w "$W" "$H2/status/204"
same_as_curl "-i with a 110 KiB header block" -s -i "${CA[@]}" -w "$W" "$H2/big-headers"
same_as_curl "gzip over h2" -s --compressed -i "${CA[@]}" "$H2/gzip/page.html"

# ---- redirects across versions (-i -L: every hop's head)
same_as_curl "-L h2 -> h1" -s -i -L "${CA[@]}" -w "$W" "$H2/to-h1"
same_as_curl "-L h1 -> h2" -s -i -L "${CA[@]}" -w "$W" "$H1/to-h2"
same_as_curl "-L http/1.1 -> h2" -s -i -L "${CA[@]}" -w "$W" "$PLAIN/to-h2"
same_as_curl "-L h2 -> http/1.1" -s -i -L "${CA[@]}" -w "$W" "$H2/to-plain"

# ---- bodies
same_as_curl "1 MiB over h2" -s "${CA[@]}" -o "$T/big.{tool}" -w "$W %{size_download}" "$H2/files/big.bin"
cmp -s "$T/big.flurry" "$FILES/big.bin" && pass "1 MiB identical" || fail "big.bin differs"
head -c 200000 /dev/urandom >"$T/up.bin"
# %{size_upload} on h2 is the DATA bytes, %{size_request} each hop's head as
# text (curl's HTTP/1.1-style form, not the HPACK bytes); the same -A for
# both tools, so that the heads have one length
WU="$W %{size_upload} %{size_request}"
UA=(-A fl-test/1)
same_as_curl "upload over h2" -s "${UA[@]}" "${CA[@]}" --data-binary @"$T/up.bin" -w "$WU" "$H2/upload"
check_contains "$OUT" "received 200000 bytes" "upload: nginx got 200,000 bytes"
check_contains "$OUT" " 200000 " "upload over h2: %{size_upload} is the body"
same_as_curl "upload over h2c" -s "${UA[@]}" --http2-prior-knowledge -T "$T/up.bin" -w "$WU" "$H2C/upload"
same_as_curl "-F over h2" -s "${UA[@]}" "${CA[@]}" -F f=@"$T/up.bin" -F n=1 -w "$WU" "$H2/upload"
same_as_curl "GET over h2: size_request" -s "${UA[@]}" "${CA[@]}" -o /dev/null -w "$WU" "$H2/hello"
# (a body that fits the stream window: curl 7.88 hangs on a 302 to a POST
# of 200,000 bytes; flurry has sent the window's worth before the 302)
head -c 5000 /dev/zero | tr '\0' x >"$T/up5k.txt"
same_as_curl "-L POST h2 -> h2: every head" -s -L "${UA[@]}" "${CA[@]}" -d @"$T/up5k.txt" -o /dev/null -w "$WU" "$H2/to-h2"
same_as_curl "-L POST h2 -> h1: every head" -s -L "${UA[@]}" "${CA[@]}" -d x=1 -o /dev/null -w "$WU" "$H2/to-h1"

# ---- nghttpd
same_as_curl "nghttpd -i" -s -i "${GCA[@]}" "$NG/small.txt"
same_as_curl "nghttpd h2c -i" -s -i --http2-prior-knowledge "$NGC/page.html"
same_as_curl "nghttpd 404" -s -i "${GCA[@]}" -w "$W" "$NG/none"
same_as_curl "nghttpd echo upload" -s "${UA[@]}" "${GCA[@]}" --data-binary @"$T/up.bin" -o "$T/echo.{tool}" -w "$WU" "$NG/echo"
cmp -s "$T/echo.flurry" "$T/up.bin" && pass "nghttpd echoed 200,000 bytes" || fail "echo differs"

# ---- -Z: many URLs to one h2 origin share one connection (as curl)
urls=()
for i in $(seq 1 20); do urls+=(-o /dev/null "$H2/files/small.txt?$i"); done
flurry -s -Z "${CA[@]}" -w '%{http_version}:%{num_connects}\n' "${urls[@]}"
check_rc 0 "-Z, 20 URLs over h2"
check_eq "$(sort "$OUT" | uniq -c | awk '{printf "%s*%s ", $1, $2}')" "19*2:0 1*2:1 " \
  "-Z: 20 h2 transfers, one connection"
curl_too -s -Z "${CA[@]}" -w '%{http_version}:%{num_connects}\n' "${urls[@]}"
check_eq "$(sort "$OUT")" "$(sort "$COUT")" "-Z: as curl's"
urls=()
for i in $(seq 1 20); do urls+=(-o /dev/null "$NGC/small.txt?$i"); done
flurry -s -Z --http2-prior-knowledge -w '%{http_version}:%{num_connects}\n' "${urls[@]}"
check_rc 0 "-Z, 20 URLs over nghttpd h2c"
check_eq "$(sort "$OUT" | uniq -c | awk '{printf "%s*%s ", $1, $2}')" "19*2:0 1*2:1 " \
  "-Z over h2c: one connection"

# ---- where curl 7.88 is wrong: several URLs on one h2c connection (curl
# fails every transfer after the first with 16; flurry fetches them all)
flurry -s --http2-prior-knowledge -w ' %{http_version}\n' "$H2C/hello" "$H2C/hello" "$H2C/files/small.txt"
check_rc 0 "h2c, three URLs in a row"
check_eq "$(cat "$OUT")" "Hello, World! 2
Hello, World! 2
small file
 2" "h2c, three URLs: all answered over h2"

# ---- --limit-rate over HTTP/2: the stream pauses on its last bytes, its end
# comes while it is paused, and the transfer ends when the pause does (it
# used to wait for -m: the end of a stream with nothing left held was never
# delivered). 100 KiB at 64 KiB/s is due after 1.5 s.
TIMEFORMAT='%R'
for u in "$H2" "$H2C"; do
  opt=(--http2 "${CA[@]}"); [[ $u == "$H2C" ]] && opt=(--http2-prior-knowledge)
  { time flurry_plain -s "${opt[@]}" --limit-rate 64k -m 30 -o "$T/lr.out" \
      -w '%{http_version} %{size_download}' "$u/files/100k.bin"; } 2>"$T/lr.time"
  check_eq "$RC:$(cat "$OUT")" "0:2 102400" "--limit-rate over h2 ($u): ends with every byte"
  cmp -s "$T/lr.out" "$FILES/100k.bin" && pass "--limit-rate over h2: the file is whole" ||
    fail "--limit-rate over h2 ($u): file differs"
  awk -v r="$(cat "$T/lr.time")" 'BEGIN { exit !(r >= 0.75) }' &&
    pass "--limit-rate over h2: paced ($(cat "$T/lr.time")s)" || fail "--limit-rate over h2: $(cat "$T/lr.time")s"
done


# ---- heads over nginx h2c and nghttpd (TLS and h2c): -I and -D - as curl
# writes them, and -Z to nginx's h2c port on one connection
same_as_curl "-I over nginx h2c" -s -I --http2-prior-knowledge "$H2C/files/page.html"
check_eq "$(head -n1 "$OUT")" $'HTTP/2 200 \r' "-I over h2c: curl's h2 status line"
check_contains "$OUT" $'\r\ncontent-length: ' "-I over h2c: names lower-case"
same_as_curl "-D - over nginx h2c" -s -D - -o /dev/null --http2-prior-knowledge "$H2C/files/small.txt"
same_as_curl "-D - with the body over nginx h2c" -s -D - --http2-prior-knowledge "$H2C/hello"
same_as_curl "-I 404 over nginx h2c" -s -I --http2-prior-knowledge -w "$W" "$H2C/status/404"
same_as_curl "-I over nghttpd" -s -I "${GCA[@]}" "$NG/page.html"
check_eq "$(head -n1 "$OUT")" $'HTTP/2 200 \r' "-I over nghttpd: curl's h2 status line"
same_as_curl "-I over nghttpd h2c" -s -I --http2-prior-knowledge "$NGC/page.html"
# nghttpd answers a HEAD for a missing file with a 404 and 148 bytes of
# DATA: a stream error (92) for both; flurry has written the head that came
# before it, curl 7.88 had not passed it on yet (it buffers the h2 head):
# the exit code is compared, and flurry's head checked.
flurry -s -I "${GCA[@]}" "$NG/none"
curl_too -s -I "${GCA[@]}" "$NG/none"
check_eq "$RC:$CRC" "92:92" "-I 404 over nghttpd, DATA after the HEAD's head: exit 92, as curl"
check_eq "$(head -n1 "$OUT")" $'HTTP/2 404 \r' "-I 404 over nghttpd: the head that came"
same_as_curl "-D - over nghttpd" -s -D - -o /dev/null "${GCA[@]}" "$NG/small.txt"
same_as_curl "-D - over nghttpd h2c" -s -D - -o /dev/null --http2-prior-knowledge "$NGC/small.txt"
# -i or -I with -D -: each header line twice in a row, as curl writes them
same_as_curl "-I -D - over nghttpd h2c" -s -I -D - --http2-prior-knowledge "$NGC/page.html"
same_as_curl "-i -D - over nginx h2c" -s -i -D - --http2-prior-knowledge "$H2C/hello"
same_as_curl "-i -D - over nginx h2" -s -i -D - "${CA[@]}" "$H2/files/small.txt"
same_as_curl "-i -D - over HTTP/1.1" -s -i -D - "$PLAIN/hello"

# -Z, 12 URLs to nginx's h2c port: one connection, every body. curl 7.88
# fails the transfers after the first there (exit 16: its h2c reuse bug);
# then its output for the same paths over nginx's TLS h2 port is the
# reference (the same files, the same -w).
urls=() tls_urls=()
for i in $(seq 1 12); do
  urls+=("$H2C/files/small.txt?z$i")
  tls_urls+=("$H2/files/small.txt?z$i")
done
ZW='%{http_version}:%{http_code}:%{size_download}\n'
flurry -s -Z --http2-prior-knowledge -w "$ZW" "${urls[@]}"
check_rc 0 "-Z, 12 URLs over nginx h2c"
sort "$OUT" >"$T/z.flurry"
check_eq "$(grep -c '^small file$' "$T/z.flurry")" 12 "-Z over nginx h2c: 12 bodies"
check_eq "$(grep -c '^2:200:11$' "$T/z.flurry")" 12 "-Z over nginx h2c: 12 h2 answers"
curl_too -s -Z --http2-prior-knowledge -w "$ZW" "${urls[@]}"
if ((CRC != 0)); then
  echo "# curl 7.88 -Z over h2c: exit $CRC; comparing with curl over TLS h2"
  curl_too -s -Z "${CA[@]}" -w "$ZW" "${tls_urls[@]}"
fi
check_eq "$CRC" 0 "-Z: curl's reference run"
check_eq "$(cat "$T/z.flurry")" "$(sort "$COUT")" "-Z over nginx h2c: the output curl gives"
flurry -s -Z --http2-prior-knowledge -o /dev/null -w '%{num_connects}\n' "${urls[@]}"
check_eq "$(awk '{n += $1} END {print n}' "$OUT")" 1 "-Z over nginx h2c: one connection for 12"

# ---- auth, retries, cookies and 1xx on h2 streams, beside curl, against the
# scripted h2 server over TLS (ALPN h2, nginx_h2's certificate): each needs
# a second stream on the connection. Over h2c curl 7.88 fails that second
# stream (exit 16), so there flurry's output is compared with curl's over
# TLS. {tool} keys the server's counters per tool.
start_support h2s h2_server.py --tls-dir "$RD/nginx_h2"
HS=https://localhost:$PORT
start_support h2c h2_server.py
HC=http://127.0.0.1:$PORT
h2_pair() { # WHAT PATH ARGS...: over TLS as curl; over h2c the same output
  local what=$1 path=$2
  shift 2
  same_as_curl "$what over h2" -s "${CA[@]}" "$@" -w ' %{http_version} %{http_code}' "$HS$path"
  cp "$COUT" "$T/pair.curl"
  flurry -s --http2-prior-knowledge "${@//\{tool\}/flurry}" -w ' %{http_version} %{http_code}' \
    "$HC${path//\{tool\}/flurry}"
  check_eq "$RC:$(normalize_out "$OUT")" "0:$(normalize_out "$T/pair.curl")" "$what over h2c: as curl over h2"
}
h2_pair "--digest POST" "/feat-digest?u=dee&p=pa55" --digest -u dee:pa55 -d hello
check_contains "$OUT" "digest ok" "--digest over h2c: the server checked the answer"
h2_pair "--digest, wrong password" "/feat-digest?u=dee&p=pa55" --digest -u dee:nope
h2_pair "--anyauth" "/feat-basic?u=bob&p=pw" --anyauth -u bob:pw
h2_pair "-u (Basic up front)" "/feat-basic?u=bob&p=pw" -u bob:pw
h2_pair "--retry on 503" "/feat-flaky?k={tool}-r&fail=1" --retry 2 --retry-delay 0
check_contains "$OUT" "fail 1" "--retry over h2c: the 503's body, then"
check_contains "$OUT" "ok 2 200" "--retry over h2c: the retry's answer"
h2_pair "-L with a cookie from the 302" "/feat-redirect?to=%2Fok&c=hop%3D1" -L -c "$T/jar.{tool}"
check_eq "$(grep -v '^#' "$T/jar.flurry")" "$(grep -v '^#' "$T/jar.curl" | sed 's/^localhost/127.0.0.1/')" \
  "-L -c over h2c: the 302's cookie in the jar, as curl's"
flurry -s --http2-prior-knowledge -L -c "$T/jar2" "$HC/feat-redirect?to=%2Fheaders&c=hop%3D1"
check_contains "$OUT" '["cookie", "hop=1"]' "-L over h2c: the 302's cookie sent on the next stream"
# -c -: the jar on stdout after the body, as curl (it went to a file named "-")
flurry -s --http2-prior-knowledge -c - "$HC/feat-set-cookie?c=a%3D1"
curl_too -s "${CA[@]}" -c - "$HS/feat-set-cookie?c=a%3D1"
check_eq "$RC:$(grep -v '^#' "$OUT")" "0:$(grep -v '^#' "$COUT" | sed 's/^localhost/127.0.0.1/')" \
  "-c - over h2c: the body, then the jar, as curl's over h2"
check_contains "$OUT" "# Netscape HTTP Cookie File" "-c -: the jar's header on stdout"
[[ ! -e $T/- ]] && pass "-c -: no file named -" || fail "-c -: wrote a file named -"
h2_pair "-i with a 103" "/1xx" -i
check_contains "$OUT" $'HTTP/2 103 \r\nlink: </x>; rel=preload\r\n\r\nHTTP/2 200 \r\n' "-i over h2c: the 103, then the 200"
stop_servers

done_testing
