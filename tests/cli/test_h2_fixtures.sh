#!/usr/bin/env bash
# The HTTP/2 fixtures speak what they promise, checked with curl 7.88 (the
# peer the CLI is compared with): nginx_h2's TLS port agrees h2 by ALPN, its
# h2c port speaks h2 by prior knowledge, its h1 ports stay HTTP/1.1; the
# extra locations (big header block, upload, redirects between h1 and h2)
# answer; nghttpd serves files and echoes uploads over TLS and h2c; many
# transfers with -Z share one connection.
# FIXTURES: nginx_h2 nghttpd
# TIMEOUT: 60
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "curl not installed"; exit 77; }

RD=$FL_TEST_RUNDIR
H2=https://localhost:$(cat "$RD/nginx_h2.port")
H2C=http://127.0.0.1:$(cat "$RD/nginx_h2.h2c.port")
H1=https://localhost:$(cat "$RD/nginx_h2.h1.port")
PLAIN=http://127.0.0.1:$(cat "$RD/nginx_h2.plain.port")
NCA=$RD/nginx_h2/ca.pem
NG=https://localhost:$(cat "$RD/nghttpd.port")
NGC=http://127.0.0.1:$(cat "$RD/nghttpd.h2c.port")
GCA=$RD/nghttpd/ca.pem
W='%{http_version} %{http_code}'

# curl_is WANT WHAT CURL-ARGS...: curl's -w output (after the body) is WANT.
curl_is() {
  local want=$1 what=$2
  shift 2
  curl_too -s --max-time 20 "$@"
  if ((CRC != 0)); then fail "$what: curl exit $CRC ($(head -c 300 "$CERR"))"; return; fi
  local got
  got=$(cat "$COUT") # without the trailing newline
  check_eq "${got: -${#want}}" "$want" "$what"
}

# ---- nginx_h2
curl_is "Hello, World!2 200" "nginx_h2 TLS: h2 by ALPN" --cacert "$NCA" -w "$W" "$H2/hello"
curl_is "Hello, World!2 200" "nginx_h2 TLS: --http2" --http2 --cacert "$NCA" -w "$W" "$H2/hello"
curl_is "Hello, World!1.1 200" "nginx_h2 TLS: --http1.1 still served" --http1.1 --cacert "$NCA" -w "$W" "$H2/hello"
curl_is "Hello, World!2 200" "nginx_h2 h2c: prior knowledge" --http2-prior-knowledge -w "$W" "$H2C/hello"
curl_is "Hello, World!1.1 200" "nginx_h2 h1 port: ALPN gives http/1.1" --http2 --cacert "$NCA" -w "$W" "$H1/hello"
curl_is "Hello, World!1.1 200" "nginx_h2 plain port: HTTP/1.1" -w "$W" "$PLAIN/hello"

curl_too -s --cacert "$NCA" -D "$T/h2.head" -o "$T/h2.body" "$H2/files/100k.bin"
check_eq "$CRC" 0 "100k.bin over h2"
cmp -s "$T/h2.body" "$RD/nginx_h2/nginx_h2.files/100k.bin" && pass "100k.bin identical" || fail "100k.bin differs"
check_eq "$(head -n1 "$T/h2.head" | tr -d '\r')" "HTTP/2 200 " "curl's h2 status line"
check_contains "$T/h2.head" "content-length: 102400" "lower-case h2 field names"

curl_too -s --cacert "$NCA" -o /dev/null -w '%{http_version} %{size_header}' "$H2/big-headers"
check_eq "$CRC" 0 "big header block over h2"
read -r v size <"$COUT"
check_eq "$v" 2 "big header block: h2"
if ((size > 100 * 1024 && size < 120 * 1024)); then pass "header block of $size bytes (100-120 KiB)"; else
  fail "header block of $size bytes, want 100-120 KiB"
fi

head -c 70000 /dev/urandom >"$T/up.bin"
curl_is "received 70000 bytes" "upload over h2 (TLS)" --cacert "$NCA" --data-binary @"$T/up.bin" "$H2/upload"
curl_is "received 70000 bytes" "upload over h2c" --http2-prior-knowledge --data-binary @"$T/up.bin" "$H2C/upload"

curl_is "Hello, World!1.1 200 1" "redirect h2 -> h1" -L --cacert "$NCA" -w "$W %{num_redirects}" "$H2/to-h1"
curl_is "Hello, World!2 200 1" "redirect h1 -> h2" -L --cacert "$NCA" -w "$W %{num_redirects}" "$H1/to-h2"
curl_is "Hello, World!2 200 1" "redirect plain -> h2" -L --cacert "$NCA" -w "$W %{num_redirects}" "$PLAIN/to-h2"
curl_too -s --cacert "$NCA" -o /dev/null -w '%{redirect_url}' "$H2/to-h2c"
check_eq "$(cat "$COUT")" "$H2C/hello" "/to-h2c points at the h2c port"

# -Z: several transfers multiplexed on one h2 connection (one connect in all)
urls=()
for i in 1 2 3 4 5 6; do urls+=(-o /dev/null "$H2/files/small.txt?$i"); done
curl_too -s -Z --cacert "$NCA" -w '%{http_version}:%{num_connects}\n' "${urls[@]}"
check_eq "$CRC" 0 "-Z over h2"
check_eq "$(sort "$COUT" | uniq -c | awk '{printf "%s*%s ", $1, $2}')" "5*2:0 1*2:1 " \
  "-Z: six h2 transfers, one connection"

# ---- nghttpd
curl_is "small file
2 200" "nghttpd TLS: h2" --cacert "$GCA" -w "$W" "$NG/small.txt"
curl_is "small file
2 200" "nghttpd h2c: prior knowledge" --http2-prior-knowledge -w "$W" "$NGC/small.txt"
curl_too -s --cacert "$GCA" --data-binary @"$T/up.bin" -o "$T/echo.bin" "$NG/echo"
cmp -s "$T/echo.bin" "$T/up.bin" && pass "nghttpd echoes an upload" || fail "nghttpd echo differs (curl exit $CRC)"
curl_too -s --http2-prior-knowledge -o "$T/big.bin" "$NGC/big.bin"
cmp -s "$T/big.bin" "$RD/nghttpd.files/big.bin" && pass "nghttpd h2c: 1 MiB file" || fail "nghttpd big.bin differs"
curl_is "2 404" "nghttpd: 404 for a missing file" --http2-prior-knowledge -o /dev/null -w "$W" "$NGC/nothing"

done_testing
