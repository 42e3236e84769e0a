#!/usr/bin/env bash
# Time conditions and ETags beside curl 7.88 (issue 23, group 8): -z DATE,
# -z -DATE, -z FILE (If-Modified-Since / If-Unmodified-Since; curl's date
# forms), the 200 that misses the condition taken as a 304, --etag-save,
# --etag-compare. Servers: nginx (ETag, Last-Modified; If-Modified-Since
# only on an exact match), python's http.server (304 on If-Modified-Since,
# no ETag) and the fault server's /echo (the request as sent).
# FIXTURES: nginx
# TIMEOUT: 90
source "$(dirname "$0")/lib.sh"
NG=$(server_url nginx)
start_fault_server

mkdir -p "$T/www"
printf 'served by http.server\n' >"$T/www/doc.txt"
touch -d '2020-06-15 12:00:00 UTC' "$T/www/doc.txt"
python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$T/www" >"$T/pyhttp.log" 2>&1 &
PROXY_PID=$! # stopped by lib.sh's cleanup
for ((i = 0; i < 400; i++)); do grep -q 'port [0-9]' "$T/pyhttp.log" 2>/dev/null && break; sleep 0.05; done
PY=http://127.0.0.1:$(grep -oE 'port [0-9]+' "$T/pyhttp.log" | head -1 | cut -d' ' -f2)

# ---- the dates curl reads, as sent (the fault server echoes the request)
for d in "Sun, 06 Nov 1994 08:49:37 GMT" "Sunday, 06-Nov-94 08:49:37 GMT" "Sun Nov  6 08:49:37 1994" \
  "6 Nov 1994" "19941106" "19941106 08:49" "Nov 6 1994 08:49:37 +0200" "6 Nov 1994 08:49:37 PST" \
  "-6 Nov 1994" "+6 Nov 1994"; do
  same_as_curl "-z '$d'" -s -z "$d" "$FAULT/echo"
done
check_contains "$OUT" "If-Modified-Since: Sun, 06 Nov 1994 00:00:00 GMT" "-z +DATE: If-Modified-Since"
same_as_curl "-z -DATE: If-Unmodified-Since" -s -z "-6 Nov 1994" "$FAULT/echo"
check_contains "$OUT" "If-Unmodified-Since: Sun, 06 Nov 1994 00:00:00 GMT" "If-Unmodified-Since sent"
same_as_curl "-z garbage: warned, no condition" -s -z "not a date" "$FAULT/echo"
check_not_contains "$OUT" "Modified-Since" "-z garbage: no header"
flurry -z "not a date" "$FAULT/echo"
check_contains "$ERR" "Illegal date format for -z" "-z garbage: curl's warning"
touch -d '2021-03-04 05:06:07 UTC' "$T/stamp"
same_as_curl "-z FILE: its time" -s -z "$T/stamp" "$FAULT/echo"
check_contains "$OUT" "If-Modified-Since: Thu, 04 Mar 2021 05:06:07 GMT" "-z FILE"

# ---- the server answers 304 (http.server)
same_as_curl "-z later than the document: 304" -s -z "1 Jan 2021" -w '[%{http_code}]' "$PY/doc.txt"
check_eq "$(cat "$OUT")" "[304]" "304, no body"
same_as_curl "-z earlier: the document" -s -z "1 Jan 2019" -w '[%{http_code}]' "$PY/doc.txt"
same_as_curl "-z with -o on a 304" -s -z "1 Jan 2021" -o "$T/py.out" "$PY/doc.txt"
[[ ! -e $T/py.out ]] && pass "-z 304: no file (as curl)" || fail "-z 304 wrote a file"
same_as_curl "-z -i on a 304" -s -i -z "1 Jan 2021" "$PY/doc.txt"

# ---- a 200 that misses the condition is a 304 (nginx matches dates exactly;
# http.server ignores If-Unmodified-Since)
same_as_curl "-z future date, nginx 200: taken as 304" -s -z "1 Jan 2037" -w '[%{http_code}]' \
  "$NG/files/page.html"
check_eq "$(cat "$OUT")" "[304]" "no body, 304"
same_as_curl "-z -i: the 200's head, no body" -s -i -z "1 Jan 2037" "$NG/files/page.html"
same_as_curl "-z -DATE before the document: taken as 304" -s -z "-1 Jan 2019" -w '[%{http_code}]' \
  "$PY/doc.txt"
same_as_curl "-z -DATE after it: the document" -s -z "-1 Jan 2021" -w '[%{http_code}]' "$PY/doc.txt"
same_as_curl "-z -FILE equal to Last-Modified: taken as 304" -s -z "-$T/www/doc.txt" \
  -w '[%{http_code}]' "$PY/doc.txt"
same_as_curl "-z past date, nginx: the document" -s -z "1 Jan 2000" -w '[%{http_code}]' "$NG/files/small.txt"

# ---- --etag-save / --etag-compare
flurry -s --etag-save "$T/etag.flurry" -o /dev/null "$NG/files/page.html"
curl_too -s --etag-save "$T/etag.curl" -o /dev/null "$NG/files/page.html"
check_eq "$RC:$(cat "$T/etag.flurry")" "$CRC:$(cat "$T/etag.curl")" "--etag-save: the same file as curl's"
cmp -s "$T/etag.flurry" "$T/etag.curl" && pass "--etag-save: byte for byte" || fail "--etag-save bytes differ"
same_as_curl "--etag-compare: the ETag matches, 304" -s --etag-compare "$T/etag.curl" -w '[%{http_code}]' \
  "$NG/files/page.html"
check_eq "$(cat "$OUT")" "[304]" "--etag-compare: 304"
printf '"other"\n' >"$T/etag.other"
same_as_curl "--etag-compare: another ETag, the document" -s --etag-compare "$T/etag.other" \
  -w '[%{http_code}]' -o /dev/null "$NG/files/page.html"
same_as_curl "--etag-compare missing file: 26" -s --etag-compare "$T/none" "$NG/files/small.txt"
same_as_curl "--etag-compare on /echo" -s --etag-compare "$T/etag.other" "$FAULT/echo"
for tool in flurry curl; do
  rm -f "$T/both.$tool"
  [[ $tool == flurry ]] && run=flurry || run=curl_too
  $run -s --etag-compare "$T/both.$tool" --etag-save "$T/both.$tool" -w '[%{http_code}]' -o /dev/null \
    "$NG/files/small.txt"
done
check_eq "$RC $(cat "$OUT")" "$CRC $(cat "$COUT")" "--etag-compare + --etag-save, no file yet: as curl"
cmp -s "$T/both.flurry" "$T/both.curl" && pass "... and the ETag saved" || fail "both: ETag files differ"
same_as_curl "--etag-compare + --etag-save, file there: 304" -s --etag-compare "$T/both.curl" \
  --etag-save "$T/both2" -w '[%{http_code}]' "$NG/files/small.txt"
for tool in flurry curl; do
  [[ $tool == flurry ]] && run=flurry || run=curl_too
  $run -s --etag-save "$T/noetag.$tool" "$PY/doc.txt" -o /dev/null
done
check_eq "$(wc -c <"$T/noetag.flurry")" "$(wc -c <"$T/noetag.curl")" "--etag-save without an ETag: empty file, as curl"

done_testing
