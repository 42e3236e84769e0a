#!/usr/bin/env bash
# Issue 23's leftovers beside curl 7.88 on the same commands (the fault
# server): -#/--progress-bar's bar, for one URL and several (in turn);
# --ignore-content-length; -J with -i.
# TIMEOUT: 150
source "$(dirname "$0")/lib.sh"
start_fault_server

# ---- -#: the bar on stderr; the body file as curl's
bar_case() { # WHAT COLUMNS URL [nobar: curl draws no frame]
  local what=$1 cols=$2 url=$3 nobar=${4:-}
  RC=0
  COLUMNS=$cols "$FL_CLI" -# -o "$T/f.body" "$url" 2>"$T/f.bar" </dev/null || RC=$?
  CRC=0
  COLUMNS=$cols curl -q -# -o "$T/c.body" "$url" 2>"$T/c.bar" </dev/null || CRC=$?
  check_eq "$RC" "$CRC" "-# $what: exit as curl's"
  cmp -s "$T/f.body" "$T/c.body" && pass "-# $what: the file is curl's" ||
    fail "-# $what: the file differs from curl's"
  # the last frame of each: what is on screen at the end
  local fl cl
  fl=$(tr '\r' '\n' <"$T/f.bar" | grep -v '^$' | tail -1)
  cl=$(tr '\r' '\n' <"$T/c.bar" | grep -v '^$' | tail -1)
  if [[ -z $nobar ]]; then
    check_contains "$fl" "#" "-# $what: '#' drawn"
    check_contains "$fl" "100.0%" "-# $what: 100.0% at the end"
  fi
  check_eq "$fl" "$cl" "-# $what: the last frame is curl's"
  check_eq "$(tail -c 1 "$T/f.bar" | od -An -c | tr -d ' ')" '\n' "-# $what: ends with a newline"
}
bar_case "known size, 80 columns" 80 "$FAULT/len?n=200000"
bar_case "known size, 40 columns" 40 "$FAULT/len?n=200000"
bar_case "known size, COLUMNS unset (79)" "" "$FAULT/len?n=5000"
bar_case "unknown size (close-delimited)" 60 "$FAULT/close_delimited?n=70000"
bar_case "chunked: its size stays unknown, no frame when fast" 60 "$FAULT/chunked?n=3000" nobar
# a slow body (40 bytes in 10-byte pieces 150 ms apart): several frames,
# each a 50-column line after '\r', growing to 100%
resp="HTTP/1.1%20200%20OK%0d%0aContent-Length:%2040%0d%0a%0d%0a$(printf 'a%.0s' {1..40})"
COLUMNS=50 "$FL_CLI" -# -o "$T/f.body" "$FAULT/raw?b=$resp&split=10&ms=150" 2>"$T/f.bar" </dev/null
frames=$(tr '\r' '\n' <"$T/f.bar" | grep -c '%$')
((frames >= 3)) && pass "-# slow body: $frames frames" || fail "-# slow body: $frames frames"
bad=$(tr '\r' '\n' <"$T/f.bar" | grep '%$' | awk 'length($0) != 50' | wc -l)
check_eq "$bad" 0 "-# slow body: every frame is 50 columns wide"
check_eq "$(tr '\r' '\n' <"$T/f.bar" | grep '%$' | tail -1)" "$(printf '#%.0s' {1..43}) 100.0%" \
  "-# slow body: the last frame is full"
# unknown size, slow: curl's moving pattern, frames as wide as the line
resp="HTTP/1.1%20200%20OK%0d%0a%0d%0a$(printf 'a%.0s' {1..40})"
COLUMNS=50 "$FL_CLI" -# -o "$T/f.body" "$FAULT/raw?b=$resp&split=8&ms=150" 2>"$T/f.bar" </dev/null
check_eq "$RC:$(wc -c <"$T/f.body")" "0:40" "-# unknown size, slow: the body"
frames=$(tr '\r' '\n' <"$T/f.bar" | grep -c '=')
((frames >= 3)) && pass "-# unknown size, slow: $frames moving frames" ||
  fail "-# unknown size, slow: $frames frames: $(cat -A "$T/f.bar" | head -c 300)"
bad=$(tr '\r' '\n' <"$T/f.bar" | grep '=' | awk 'length($0) != 50' | wc -l)
check_eq "$bad" 0 "-# unknown size, slow: every frame is 50 columns wide"
# curl draws nothing with -s, nor for a transfer that never got a response
for args in "-s" "--no-progress-meter"; do
  same_as_curl "-# $args" $args -# -o "$T/x" "$FAULT/len?n=100"
  check_eq "$(wc -c <"$ERR")" "$(wc -c <"$CERR")" "-# $args: stderr as curl's (empty)"
done
flurry -# http://127.0.0.1:1/
curl_too -# http://127.0.0.1:1/
check_eq "$RC" "$CRC" "-# refused: exit as curl's"
check_not_contains "$ERR" "#" "-# refused: no bar"

# ---- -# with several URLs: curl's serial run draws one bar per transfer,
# each ending its line; flurry's transfers run at once and their bars take
# turns in command-line order: the same lines. The second body is slow (its
# bar comes after the third transfer has ended), the last is refused (no
# bar, an error line; curl's exit code is its last transfer's).
last_frames() { # the last frame of each bar line (lines with a percentage)
  local line
  while IFS= read -r line; do printf '%s\n' "${line##*$'\r'}"; done <"$1" | grep '%$'
}
slow="HTTP/1.1%20200%20OK%0d%0aContent-Length:%2040%0d%0a%0d%0a$(printf 'b%.0s' {1..40})"
multi=(-o "{tool}1" "$FAULT/len?n=200000" -o "{tool}2" "$FAULT/raw?b=$slow&split=10&ms=100"
  -o "{tool}3" "$FAULT/len?n=3000" -o "{tool}4" "$FAULT/len?n=70000" -o "{tool}5" "http://127.0.0.1:1/")
RC=0
COLUMNS=60 "$FL_CLI" -# "${multi[@]//\{tool\}/f}" 2>"$T/fm.bar" </dev/null || RC=$?
CRC=0
COLUMNS=60 curl -q -# "${multi[@]//\{tool\}/c}" 2>"$T/cm.bar" </dev/null || CRC=$?
check_eq "$RC" "$CRC" "-# five URLs: exit as curl's"
for i in 1 2 3 4; do
  cmp -s "f$i" "c$i" && pass "-# five URLs: file $i is curl's" || fail "-# five URLs: file $i differs"
done
check_eq "$(last_frames "$T/fm.bar" | wc -l)" 4 "-# five URLs: four bars (none for the refused one)"
check_eq "$(last_frames "$T/fm.bar")" "$(last_frames "$T/cm.bar")" "-# five URLs: the bars' last frames are curl's, in order"
check_not_contains "$(tr '\r' '\n' <"$T/fm.bar")" "Xfers" "-# five URLs: no meter"
# -Z: curl draws its parallel meter instead of bars; flurry its one-line meter
RC=0
COLUMNS=60 "$FL_CLI" -# -Z "${multi[@]//\{tool\}/z}" 2>"$T/fz.bar" </dev/null || RC=$?
check_eq "$RC" "$CRC" "-# -Z: exit as curl's"
check_eq "$(last_frames "$T/fz.bar" | grep -c '^#')" 0 "-# -Z: no bars (a meter, as curl)"

# ---- --ignore-content-length: the body is read until the server closes
crlf=%0d%0a
short="HTTP/1.1%20200%20OK${crlf}Content-Length:%203${crlf}${crlf}abcdefghij"
long="HTTP/1.1%20200%20OK${crlf}Content-Length:%20100${crlf}${crlf}abcdefghij"
chunked="HTTP/1.1%20200%20OK${crlf}Transfer-Encoding:%20chunked${crlf}${crlf}5${crlf}hello${crlf}0${crlf}${crlf}"
same_as_curl "--ignore-content-length: a length too short" -s --ignore-content-length \
  "$FAULT/raw?b=$short" -w ' [%{size_download}]'
check_eq "$(cat "$OUT")" "abcdefghij [10]" "... all 10 bytes"
same_as_curl "without it: 3 bytes" -s "$FAULT/raw?b=$short"
check_eq "$(cat "$OUT")" "abc" "... only 3"
same_as_curl "--ignore-content-length: a length too long is no error" -s --ignore-content-length \
  "$FAULT/raw?b=$long" -w ' [%{size_download}]'
same_as_curl "without it: exit 18" -s "$FAULT/raw?b=$long"
same_as_curl "--ignore-content-length: chunked still by its chunks" -s --ignore-content-length \
  "$FAULT/raw?b=$chunked"
same_as_curl "--ignore-content-length -o FILE" -s --ignore-content-length -o "{tool}.out" \
  "$FAULT/raw?b=$short"
cmp -s flurry.out curl.out && pass "... the files are the same" || fail "... the files differ"
same_as_curl "--ignore-content-length with a Content-Length body and the connection kept" -s \
  --ignore-content-length -m 2 "$FAULT/raw?b=$short&end=stall" -w ' [%{size_download}]'

# ---- -J with -i, -I or -C -: curl 7.88 refuses them (exit 2) once the
# command line is read; with -D the file is named from Content-Disposition
for args in "-J -O -i" "-s -J -O -i" "-J -i" "-J -O -I" "-J --no-include -O -i" "-J -O -C -"; do
  same_as_curl "$args" $args "$FAULT/ok"
  check_contains "$ERR" "cannot be combined" "$args: the message"
  check_contains "$CERR" "cannot be combined" "... curl's says so too"
done
cd_resp="HTTP/1.1%20200%20OK${crlf}Content-Disposition:%20attachment;%20filename=%22cd.txt%22${crlf}Content-Length:%205${crlf}${crlf}hello"
mkdir f c
for args in "-J -O -i --no-include" "-J -O -D hdr" "-J -O -C 0"; do
  rm -f f/* c/*
  (cd f && "$FL_CLI" -s $args "$FAULT/raw?b=$cd_resp" >out 2>err) ; RC=$?
  (cd c && curl -q -s $args "$FAULT/raw?b=$cd_resp" >out 2>err) ; CRC=$?
  check_eq "$RC" "$CRC" "$args: exit as curl's"
  check_eq "$(cd f && ls | tr '\n' ' ')" "$(cd c && ls | tr '\n' ' ')" "$args: the files curl writes"
  check_eq "$(cat f/cd.txt 2>&1)" "hello" "$args: cd.txt named from Content-Disposition"
  cmp -s f/cd.txt c/cd.txt && pass "$args: cd.txt is curl's" || fail "$args: cd.txt differs"
done

done_testing
