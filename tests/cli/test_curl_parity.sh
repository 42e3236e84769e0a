#!/usr/bin/env bash
# flurry against curl 7.88 on the same commands (nginx and the fault
# server): -i/-I/-D with -L (every hop), -i -L -o past --max-redirs, -r,
# -C (and -C -), -T, --create-dirs, --rate, zstd with --compressed, the
# header limits, and the -w variables.
# FIXTURES: nginx
# (not under valgrind: cli.features covers the same code paths there; this one compares with curl)
# TIMEOUT: 150
source "$(dirname "$0")/lib.sh"
NG=$(server_url nginx)
FILES=$FL_TEST_RUNDIR/nginx.files
start_fault_server
FL_UA="flurry/$("$FL_CLI" -V | awk 'NR == 1 { print $2 }')"

# ---- every hop's header block (-i, -I, -D) with -L
same_as_curl "-i -L" -s -i -L "$NG/redirect"
check_eq "$(grep -c '^HTTP/1.1 ' "$OUT")" 2 "-i -L: two header blocks"
same_as_curl "-I -L" -s -I -L "$NG/redirect"
same_as_curl "-i without -L" -s -i "$NG/redirect"
same_as_curl "-D - -L" -s -D - -L "$NG/redirect"
flurry -s -L -D "$T/hd.txt" -o /dev/null "$NG/redirect"
curl_too -s -L -D "$T/hd.curl" -o /dev/null "$NG/redirect"
check_eq "$(normalize_out "$T/hd.txt")" "$(normalize_out "$T/hd.curl")" "-D FILE -L: both heads, as curl"
flurry -s -D "$T/hd2.txt" -o /dev/null -o /dev/null "$NG/hello" "$NG/redirect"
check_eq "$(grep -c '^HTTP/1.1 ' "$T/hd2.txt")" 2 "-D FILE: one file for every transfer"
# -i -L -o FILE past --max-redirs: the heads received are in the file
flurry -s -i -L --max-redirs 2 -o "$T/loop.out" "$FAULT/loop"
curl_too -s -i -L --max-redirs 2 -o "$T/loop.curl" "$FAULT/loop"
check_eq "$RC" "$CRC" "--max-redirs exceeded: exit as curl's"
check_eq "$(cat "$T/loop.out")" "$(cat "$T/loop.curl")" "-i -L -o: the three heads in the file, as curl"
flurry -s -L --max-redirs 2 -o "$T/loop2.out" "$FAULT/loop"
[[ ! -e $T/loop2.out ]] && pass "without -i no file (as curl)" || fail "a file without -i"

# ---- -r
same_as_curl "-r 0-4" -s -r 0-4 "$NG/files/page.html" -w ' [%{http_code} %{size_download}]'
same_as_curl "-r -3" -s -r -3 "$NG/files/small.txt"
same_as_curl "-r 5 (dash added)" -r 5 "$NG/files/small.txt"
check_contains "$ERR" "must include a dash" "-r 5 warns"
same_as_curl "-r 0-1,3-4 (multipart)" -s -r 0-1,3-4 -o /dev/null "$NG/files/small.txt" -w '%{http_code}'
flurry -s -r 0-1,3-4 "$NG/files/small.txt"
check_contains "$OUT" "Content-Range: bytes 3-4/11" "-r with two ranges: both parts"
same_as_curl "-r on a server without ranges" -s -r 0-4 "$FAULT/len?n=20"

# ---- -C
head -c 1000 "$FILES/page.html" >"$T/part.html"
flurry -s -C - -o "$T/part.html" "$NG/files/page.html" -w '%{http_code} %{size_download}'
check_eq "$RC:$(cat "$OUT")" "0:206 2431" "-C -: the rest, 206"
cmp -s "$T/part.html" "$FILES/page.html" && pass "-C -: the file is whole" || fail "-C -: file differs"
flurry -s -C - -o "$T/part.html" "$NG/files/page.html" -w '%{http_code}'
check_eq "$RC:$(cat "$OUT")" "0:416" "-C - on a complete file: 416, exit 0 (as curl)"
cmp -s "$T/part.html" "$FILES/page.html" && pass "... and the 416 body is not appended" || fail "416 body appended"
head -c 1000 "$FILES/page.html" >"$T/p2.html"
flurry -s -C 1000 -o "$T/p2.html" "$NG/files/page.html"
cmp -s "$T/p2.html" "$FILES/page.html" && pass "-C 1000" || fail "-C 1000: file differs"
same_as_curl "-C OFFSET to stdout" -s -C 3400 "$NG/files/page.html" -w '[%{http_code}]'
same_as_curl "-C - to stdout: from the start" -s -C - "$NG/files/page.html" -w '[%{http_code}]' -o /dev/null
same_as_curl "-f -C - on a complete file: 22" -s -f -C - -o "$T/part.html" "$NG/files/page.html"
same_as_curl "-C on a 404: 33" -s -C 5 "$NG/status/404"
same_as_curl "-C with -X POST and no body: 33" -s -C 5 -X POST "$NG/hello"
same_as_curl "-C wins over -r" -s -C 2 -r 0-4 "$NG/files/small.txt"
head -c 20 /dev/zero >"$T/z20"
flurry -s -C - -o "$T/z20" "$FAULT/len?n=20"
check_eq "$RC:$(wc -c <"$T/z20")" "0:20" "no ranges, but the file is complete: exit 0 (as curl)"
head -c 5 /dev/zero >"$T/z5"
flurry -sS -C - -o "$T/z5" "$FAULT/len?n=20"
check_eq "$RC:$(wc -c <"$T/z5")" "33:5" "no ranges: exit 33, file untouched (as curl)"
check_contains "$ERR" "doesn't seem to support byte ranges" "33 message"
flurry -s -C - -o "$T/fresh.html" "$NG/files/page.html"
cmp -s "$T/fresh.html" "$FILES/page.html" && pass "-C - without a file: from the start" || fail "fresh -C -"

# ---- -T
printf 'hello upload\n' >"$T/up.txt"
cp "$T/up.txt" "$T/sp ace.txt"
for tool in flurry curl; do
  if [[ $tool == flurry ]]; then run=flurry; else run=curl_too; fi
  $run -s -T "$T/up.txt" "$FAULT/up/?k=t1$tool" -o /dev/null
  $run -s -T "$T/sp ace.txt" "$FAULT/a/b/?k=t2$tool" -o /dev/null
  $run -s -T "$T/up.txt" "$FAULT?k=t3$tool" -o /dev/null
  $run -s -T "$T/up.txt" "$FAULT/a/b?k=t4$tool" -o /dev/null
  $run -s -T "$T/up.txt" -X POST "$FAULT/up/?k=t5$tool" -o /dev/null
  $run -s -T "$T/up.txt" -C 6 "$FAULT/up/?k=t6$tool" -o /dev/null
  printf 'stdin\n' | $run -s -T - "$FAULT/up/?k=t7$tool" -o /dev/null
  $run -s -T "$T/up.txt" "$FAULT/one/?k=t8$tool" "$FAULT/two/?k=t8$tool" -o /dev/null -o /dev/null
done
for k in t1 t2 t3 t4 t5 t6 t7 t8; do
  # the wire, without User-Agent and curl's Expect (the library does not
  # send it yet), header order aside
  want=$(curl -q -s "$FAULT/_log?k=${k}curl" | grep -av '^User-Agent:\|^Expect:' | sed "s/${k}curl/K/" | sort)
  got=$(curl -q -s "$FAULT/_log?k=${k}flurry" | grep -av '^User-Agent:\|^Expect:' | sed "s/${k}flurry/K/" | sort)
  check_eq "$got" "$want" "-T request $k on the wire as curl's"
done
check_contains "$(curl -q -s "$FAULT/_log?k=t2flurry")" "PUT /a/b/sp%20ace.txt?k=" "-T: the name is added, encoded"
same_as_curl "-T a missing file: 26" -s -T "$T/nope.txt" "$FAULT/up/"
same_as_curl "-T with -d: 2" -s -T "$T/up.txt" -d x "$FAULT/up/"
same_as_curl "-T with -I: 2" -s -T "$T/up.txt" -I "$FAULT/up/"

# ---- --create-dirs
flurry -s --create-dirs -o "$T/new/a/b/x.txt" "$NG/hello"
check_eq "$RC:$(cat "$T/new/a/b/x.txt")" "0:Hello, World!" "--create-dirs -o"
check_eq "$(stat -c %a "$T/new/a/b")" "750" "directories 0750, as curl"
same_as_curl "-o into a missing directory without --create-dirs: 23" -s -o "$T/none/x" "$NG/hello"

# ---- --rate: starts spaced out, each transfer's -m still its own. Twelve
# URLs at 4/s: the last starts 2.75 s in, past -m 2 if the wait counted,
# while each transfer has 2 s of its own (a loaded machine needs more than
# the few ms an /ok takes on a quiet one).
start=$(date +%s.%N)
rate_urls=()
for ((i = 1; i <= 12; i++)); do rate_urls+=("$FAULT/ok?r=$i"); done
flurry_plain -s --rate 4/s -m 2 "${rate_urls[@]}"
secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
check_eq "$RC:$(cat "$OUT")" "0:$(printf 'ok%.0s' {1..12})" "--rate 4/s -m 2 with twelve URLs: none times out"
awk -v s="$secs" 'BEGIN { exit !(s >= 2.7) }' && pass "--rate 4/s: twelve starts took ${secs}s (>= 2.75 s)" ||
  fail "--rate 4/s: only ${secs}s"
same_as_curl "--rate 2/x: 2" -s --rate 2/x "$FAULT/ok"
same_as_curl "--rate 0: 2" -s --rate 0 "$FAULT/ok"

# ---- zstd with --compressed
same_as_curl "zstd body" -s --compressed "$FAULT/zstd?n=5000" -w ' %{http_code}'
same_as_curl "zstd, three frames, chunked" -s --compressed "$FAULT/zstd?n=100000&frames=3&chunked=1"
flurry -s --compressed "$FAULT/echo" -o "$T/echo.txt"
check_contains "$T/echo.txt" "Accept-Encoding: gzip, deflate, br, zstd" "--compressed asks for zstd"
flurry -s --compressed --max-filesize 100000 "$FAULT/zstd?n=200000000&zeros=1" -o /dev/null
check_rc 63 "a zstd bomb stops at --max-filesize"
flurry -s "$FAULT/zstd?n=100" -o "$T/raw.zst"
check_eq "$(zstd -dc "$T/raw.zst" | head -c 5)" "abcde" "without --compressed the zstd bytes are kept"

# ---- curl's header limits
same_as_curl "100 KiB of headers" -s "$FAULT/huge-headers?kb=100" -w ' %{num_headers}'
same_as_curl "5000 header lines" -s "$FAULT/many-headers?n=5000" -w ' %{num_headers}'
flurry -s "$FAULT/huge-headers?kb=310"
curl_too -s "$FAULT/huge-headers?kb=310"
((RC != 0 && CRC != 0)) && pass "310 KiB of headers fail in both (flurry $RC, curl $CRC)" ||
  fail "310 KiB: flurry $RC, curl $CRC"

# ---- -w variables (times, ports and the version aside)
# (errormsg: the library words its messages its own way)
wvars='%{certs}|%{content_type}|%{exitcode}|%{filename_effective}|%{ftp_entry_path}|%{http_code}|%{http_connect}|%{http_version}|%{method}|%{num_certs}|%{num_connects}|%{num_headers}|%{num_redirects}|%{proxy_ssl_verify_result}|%{redirect_url}|%{referer}|%{remote_ip}|%{remote_port}|%{response_code}|%{scheme}|%{size_download}|%{size_header}|%{size_upload}|%{ssl_verify_result}|%{url}|%{url_effective}|%{urlnum}'
same_as_curl "-w: a redirect not followed" -s -o /dev/null -w "$wvars|%{header_json}" "$NG/redirect"
same_as_curl "-w: -L with -e" -s -o /dev/null -L -e http://ref.test/ -w "$wvars|%{header_json}" "$NG/redirect"
same_as_curl "-w: a POST redirected" -s -o /dev/null -L -d abcdef -w "$wvars" "$NG/redirect"
# (header_json: curl 7.88 gives {} here, flurry the last response's)
same_as_curl "-w: --max-redirs reached" -s -o /dev/null -L --max-redirs 1 -w "$wvars" "$FAULT/loop"
same_as_curl "-w: no connection" -s -w "$wvars|%{header_json}" "http://127.0.0.1:1/"
flurry -s -w '%{errormsg}' "http://127.0.0.1:1/"
check_contains "$OUT" "refused" "%{errormsg} of a refused connection"
same_as_curl "-w: repeated headers" -s -o /dev/null -w '%{header_json}' "$FAULT/dup-headers"
same_as_curl "-w %{onerror}: success" -s -o /dev/null -w 'a%{onerror}b' "$NG/hello"
same_as_curl "-w %{onerror}: failure" -s -o /dev/null -w 'a%{onerror}b%{exitcode}' "http://127.0.0.1:1/"
# sizes of requests: the same but for the User-Agent's length
flurry -s -o /dev/null -L -d abcdef -w '%{size_request} %{size_upload}' "$NG/redirect"
curl_too -s -o /dev/null -L -d abcdef -w '%{size_request} %{size_upload}' "$NG/redirect"
ua_delta=$((2 * (${#FL_UA} - 11))) # two requests; "curl/7.88.1" is 11 bytes
read -r fr fu <"$OUT"
read -r cr cu <"$COUT"
check_eq "$((fr - ua_delta)) $fu" "$cr $cu" "%{size_request} %{size_upload} as curl's"
flurry -s -o /dev/null -w '%{json}' "$NG/hello"
check_json "$OUT" "-w %{json}"
check_eq "$(json_get "$OUT" num_connects):$(json_get "$OUT" method):$(json_get "$OUT" scheme)" "1:GET:HTTP" \
  "%{json} has the new variables"
flurry -s -o /dev/null -w '%{local_ip} %{local_port}' "$NG/hello"
read -r lip lport <"$OUT"
curl_too -s -o /dev/null -w '%{local_ip}' "$NG/hello"
check_eq "$lip" "$(cat "$COUT")" "%{local_ip} as curl's"
[[ $lport =~ ^[0-9]+$ && $lport -gt 0 ]] && pass "%{local_port} is a port ($lport)" || fail "%{local_port}: '$lport'"
flurry -s -o /dev/null -w '%{time_pretransfer} %{time_starttransfer} %{time_redirect}' -L "$NG/redirect"
read -r pre start redir <"$OUT"
awk -v p="$pre" -v s="$start" -v r="$redir" 'BEGIN { exit !(p > 0 && r > 0 && r <= p) }' &&
  pass "time_redirect <= time_pretransfer, both set with -L ($redir $pre)" || fail "times: $(cat "$OUT")"

done_testing
