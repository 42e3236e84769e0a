#!/usr/bin/env bash
# Issue 23's last round beside curl 7.88 on the same commands (the fault
# server): --no-clobber, --remove-on-error, --remote-time, --fail-early,
# --form-string, --data-ascii, --create-file-mode, --request-target,
# -p/--proxytunnel, --proxy-header, --suppress-connect-headers. Files are
# written by each tool into its own directory (f/ and c/) and compared:
# names, contents, times, modes; exit codes as curl's.
# TIMEOUT: 150
source "$(dirname "$0")/lib.sh"
start_fault_server
mkdir f c

# in_dirs WHAT ARGS...: flurry in f/, curl in c/, the same arguments; the
# exit codes and the directories' files (names and bytes) must agree
in_dirs() {
  local what=$1
  shift
  RC=0
  (cd f && "${FL_LAUNCH[@]}" "$FL_CLI" "$@" >"$OUT" 2>"$ERR") || RC=$?
  CRC=0
  (cd c && curl -q "$@" >"$COUT" 2>"$CERR") || CRC=$?
  check_eq "$RC" "$CRC" "$what: exit as curl's"
  if diff -r f c >"$T/dirs.diff" 2>&1; then pass "$what: the same files as curl's"; else
    fail "$what: files differ from curl's: $(ls -l f c | head -20) $(head -c 400 "$T/dirs.diff")"
  fi
}

U="$FAULT/len?n=5"
# ---- --no-clobber: NAME.1, NAME.2 ... instead of overwriting
echo old >f/out
echo old >c/out
in_dirs "--no-clobber, the name taken" -s --no-clobber -o out -w '%{filename_effective}' "$U"
check_eq "$(cat "$OUT")" "out.1" "... written to out.1 (filename_effective)"
check_eq "$(cat f/out)" "old" "... the old file untouched"
in_dirs "--no-clobber again" -s --no-clobber -o out "$U"
[[ -f f/out.2 ]] && pass "... then out.2" || fail "--no-clobber: no out.2"
in_dirs "--no-clobber -O" -s --no-clobber -O "$FAULT/len?n=7"
[[ -f f/len ]] && pass "... -O: the URL's name, free" || fail "--no-clobber -O: no file 'len'"
for i in $(seq 3 100); do touch "f/out.$i" "c/out.$i"; done
in_dirs "--no-clobber, out and out.1 ... out.100 all taken" -s --no-clobber -o out "$U"
check_eq "$RC" 23 "... exit 23"
in_dirs "without --no-clobber: overwritten" -s -o out "$U"
rm -f f/* c/*

# ---- --remove-on-error: no partial file after a failure
in_dirs "--remove-on-error, a body cut short" -s --remove-on-error -o part "$FAULT/truncated"
check_eq "$RC" 18 "... exit 18"
[[ ! -e f/part ]] && pass "... the partial file removed" || fail "--remove-on-error left f/part"
in_dirs "without it the partial file stays" -s -o part "$FAULT/truncated"
[[ -s f/part ]] && pass "... f/part kept" || fail "the partial file is missing"
in_dirs "--remove-on-error -f on a 404" -s -f --remove-on-error -o nf "$FAULT/status?code=404"
echo keep >f/z
echo keep >c/z
in_dirs "--remove-on-error, refused: a file never opened stays" -s --remove-on-error -o z http://127.0.0.1:1/
check_eq "$(cat f/z)" "keep" "... untouched"
in_dirs "--remove-on-error, a success keeps its file" -s --remove-on-error -o ok "$U"
rm -f f/* c/*

# ---- --remote-time: the file dated by Last-Modified
lm="HTTP/1.1%20200%20OK%0D%0ALast-Modified:%20Wed,%2021%20Oct%202015%2007:28:00%20GMT%0D%0AContent-Length:%202%0D%0A%0D%0Aok"
in_dirs "--remote-time" -s --remote-time -o dated "$FAULT/raw?b=$lm"
check_eq "$(stat -c %Y f/dated)" "$(stat -c %Y c/dated)" "... the mtime is curl's"
check_eq "$(stat -c %Y f/dated)" "1445412480" "... 2015-10-21 07:28:00 UTC"
in_dirs "--remote-time -O" -s --remote-time -O "$FAULT/raw?b=$lm"
check_eq "$(stat -c %Y f/raw)" "1445412480" "... -O too"
in_dirs "without --remote-time: written now" -s -o now "$FAULT/raw?b=$lm"
(($(stat -c %Y f/now) > 1445412480)) && pass "... the file's own time" || fail "dated without --remote-time"
in_dirs "--remote-time, no Last-Modified" -s --remote-time -o plain "$U"
(($(stat -c %Y f/plain) > 1445412480)) && pass "... the file's own time" || fail "dated without a header"
rm -f f/* c/*

# ---- --fail-early: the first failure ends the run with its code
slow="HTTP/1.1%20200%20OK%0D%0AContent-Length:%2030%0D%0A%0D%0A$(printf 's%.0s' {1..30})"
in_dirs "--fail-early, the first URL refused" -s --fail-early http://127.0.0.1:1/ -o late \
  "$FAULT/raw?b=$slow&split=10&ms=300"
check_eq "$RC" 7 "... exit 7"
[[ ! -e f/late ]] && pass "... the slow transfer stopped (no file)" || fail "--fail-early: f/late written"
rm -f f/* c/*
# (flurry runs them at once: which files were written before the failure
# depends on timing, so only the exit code and the message are compared)
flurry -S -s -f --fail-early -o one "$U" "$FAULT/status?code=404" \
  -o three "$FAULT/raw?b=$slow&split=10&ms=300"
curl_too -S -s -f --fail-early -o one "$U" "$FAULT/status?code=404" \
  -o three "$FAULT/raw?b=$slow&split=10&ms=300"
check_eq "$RC" "$CRC" "--fail-early -f, a 404 second: exit as curl's"
check_eq "$RC" 22 "... exit 22"
check_eq "$(grep -c . "$ERR")" 1 "... one error message (the 404's)"
check_contains "$ERR" "404" "... naming the 404"
[[ ! -e three ]] && pass "... the slow third stopped (no file)" || fail "--fail-early: 'three' written"
rm -f one three f/* c/*
in_dirs "--fail-early, no failure: all run" -s --fail-early -o a "$U" -o b "$FAULT/len?n=9"
flurry -s --fail-early -w '%{http_code}\n' http://127.0.0.1:1/ "$FAULT/raw?b=$slow&split=10&ms=300"
check_eq "$RC:$(cat "$OUT")" "7:000" "--fail-early: no -w for the stopped transfer"
rm -f f/* c/*

# ---- --form-string: "@" and "<" are text
flurry -s --form-string 'a=@nofile' --form-string 'b=<nofile' -F 'c=x' "$FAULT/echo"
curl_too -s --form-string 'a=@nofile' --form-string 'b=<nofile' -F 'c=x' "$FAULT/echo"
check_eq "$RC" "$CRC" "--form-string: exit as curl's"
for tool in OUT COUT; do
  body=$(tr -d '\r' <"${!tool}" | sed -n '/name="a"/,/^--/p' | sed -n 3p)
  check_eq "$body" "@nofile" "--form-string ($tool): a is the text @nofile"
  body=$(tr -d '\r' <"${!tool}" | sed -n '/name="b"/,/^--/p' | sed -n 3p)
  check_eq "$body" "<nofile" "--form-string ($tool): b is the text <nofile"
done
same_as_curl "-F a=@nofile: a file that cannot be read" -s -F 'a=@nofile' "$FAULT/echo"
check_eq "$RC" 26 "... exit 26"

# ---- --data-ascii: -d
flurry -s --data-ascii 'a=1&b=2' --data-ascii @/dev/null "$FAULT/echo"
cp "$OUT" "$T/ascii.out"
flurry -s -d 'a=1&b=2' -d @/dev/null "$FAULT/echo"
cmp -s "$OUT" "$T/ascii.out" && pass "--data-ascii: the request -d sends" || fail "--data-ascii differs from -d"
same_as_curl "--data-ascii beside curl" -s --data-ascii 'x=1' -o /dev/null -w '%{http_code} %{size_upload}' "$FAULT/echo"

# ---- --create-file-mode: checked, no effect on HTTP files (as curl 7.88)
in_dirs "--create-file-mode 0600" -s --create-file-mode 0600 -o m "$U"
check_eq "$(stat -c %a f/m)" "$(stat -c %a c/m)" "... the file's mode is curl's ($(stat -c %a c/m))"
for bad in 999 abc 8 -1; do
  same_as_curl "--create-file-mode $bad" -s --create-file-mode "$bad" "$U"
done
check_eq "$RC" 2 "... a bad mode is exit 2"

# ---- --request-target: the request line's target as given (-v shows it)
reqline() { grep -a -m1 '^> [A-Z]' "$1" | tr -d '\r'; }
for target in '*' /echo?q=1 nolead; do
  flurry -s -v -X OPTIONS --request-target "$target" "$FAULT/echo"
  curl_too -s -v -X OPTIONS --request-target "$target" "$FAULT/echo"
  check_eq "$RC:$(reqline "$ERR")" "$CRC:$(reqline "$CERR")" "--request-target $target: the request line is curl's"
done
check_eq "$(reqline "$ERR")" "> OPTIONS nolead HTTP/1.1" "... OPTIONS nolead"
flurry -s --request-target '/echo?t=1' "$FAULT/other/path"
check_eq "$RC:$(head -1 "$OUT" | tr -d '\r')" "0:GET /echo?t=1 HTTP/1.1" "... what the server got (its echo)"
flurry -s --request-target 'a b' "$FAULT/echo"
check_eq "$RC" 43 "--request-target with a space: exit 43"

# ---- -p/--proxytunnel and --proxy-header, through tests/support/proxy_server.py
python3 "$FL_TEST_SRCDIR/support/proxy_server.py" --port-file "$T/proxy.port" 2>"$T/proxy.log" &
PROXY_PID=$!
for ((i = 0; i < 400; i++)); do [[ -s $T/proxy.port ]] && break; sleep 0.05; done
[[ -s $T/proxy.port ]] || { echo "proxy did not start" >&2; exit 1; }
PX=http://127.0.0.1:$(cat "$T/proxy.port")
plog() { curl -q -s -x "$PX" http://proxy.invalid/_log; }
connects() { plog | grep -c '^CONNECT '; }
fport=${FAULT##*:}

n0=$(connects)
flurry -s -x "$PX" -p "$FAULT/echo?k=tun"
curl_too -s -x "$PX" -p "$FAULT/echo?k=tun"
check_eq "$RC:$(head -1 "$OUT")" "$CRC:$(head -1 "$COUT")" "-p: exit and the origin's request line as curl's"
check_eq "$(head -1 "$OUT" | tr -d '\r')" "GET /echo?k=tun HTTP/1.1" "... origin form, through the tunnel"
check_eq "$(connects)" "$((n0 + 2))" "... a CONNECT each (flurry and curl)"
check_contains "$(plog)" "CONNECT 127.0.0.1:$fport HTTP/1.1" "... to the origin's host and port"
flurry -s -x "$PX" "$FAULT/echo?k=fwd"
check_eq "$(connects)" "$((n0 + 2))" "without -p: no CONNECT for http://"
check_contains "$(plog)" "GET http://127.0.0.1:$fport/echo?k=fwd" "... the absolute form to the proxy"

flurry -s -x "$PX" -p --proxy-header 'X-Px: one' --proxy-header 'X-Empty;' -H 'X-Srv: two' "$FAULT/echo?k=ph"
check_rc 0 "--proxy-header with -p"
connect_head=$(plog | awk 'BEGIN { RS = "\n----\n" } /^CONNECT / { h = $0 } END { print h }')
check_contains "$connect_head" "X-Px: one" "... in the CONNECT request"
check_contains "$connect_head" "X-Empty:" "... 'Name;' as an empty value"
check_not_contains "$connect_head" "X-Srv" "... -H headers not in the CONNECT"
check_not_contains "$OUT" "X-Px" "... not sent through the tunnel to the server"
check_contains "$OUT" "X-Srv: two" "... -H goes to the server"
for tool in flurry curl_too; do
  $tool -s -x "$PX" --proxy-header 'X-Px: fwd' "$FAULT/echo?k=phf"
done
check_contains "$OUT" "X-Px: fwd" "--proxy-header to a forward proxy: with the request (flurry)"
check_contains "$COUT" "X-Px: fwd" "... as curl sends it"
same_as_curl "-p -i --suppress-connect-headers: the server's head only" -s -i -p \
  --suppress-connect-headers -x "$PX" "$FAULT/len?n=3"
check_eq "$(head -1 "$OUT" | tr -d '\r')" "HTTP/1.1 200 OK" "... no 'Connection established'"
# a tunnel the proxy refuses (it connects to loopback only): 56, as curl
same_as_curl "-p, the CONNECT refused (403)" -s -x "$PX" -p http://192.0.2.1:9/
check_eq "$RC" 56 "... exit 56"

done_testing
