#!/usr/bin/env bash
# Issue 23, group 2, beside curl 7.88 on the same commands (the fault
# server): -K config files in curl's syntax (url =, quotes and escapes,
# comments, --opt value, opt: value, -K -), bad lines and unreadable files,
# .curlrc from CURL_HOME / XDG_CONFIG_HOME / HOME and -q; -n, --netrc-file,
# --netrc-optional, and a netrc file that cannot be parsed.
# TIMEOUT: 90
source "$(dirname "$0")/lib.sh"
start_fault_server

# the request as the server got it, without the User-Agent line, sorted
wire() { curl -q -s "$FAULT/_log?k=$1" | tr -d '\r' | grep -av '^User-Agent:' | sed "s/$1/K/" | sort; }
# both tools with a given environment and no -q (curl_too adds -q)
both_env() { # both_env WHAT ENV-ASSIGNMENTS... -- ARGS...
  local what=$1 envs=()
  shift
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  RC=0
  env "${envs[@]}" "$FL_CLI" "${@//\{tool\}/flurry}" >"$OUT" 2>"$ERR" || RC=$?
  CRC=0
  env -u http_proxy -u HTTP_PROXY -u https_proxy -u HTTPS_PROXY -u all_proxy -u ALL_PROXY \
    "${envs[@]}" curl "${@//\{tool\}/curl}" >"$COUT" 2>"$CERR" || CRC=$?
  check_eq "$RC" "$CRC" "$what: exit as curl's"
  check_eq "$(normalize_out "$OUT")" "$(normalize_out "$COUT")" "$what: stdout as curl's"
}

# ---- -K: curl's syntax
cat >"$T/k1.cfg" <<EOF
# a comment
   # an indented comment
url = "$FAULT/echo?k=k1{tool}"
--header "X-Quoted: a \\"b\\" \\\\ c\\td"
user-agent: "agent with spaces"
-H "X-Dashed: 1"
header = "X-Eq: 2"
silent
include
EOF
for tool in flurry curl; do sed "s/{tool}/$tool/" "$T/k1.cfg" >"$T/k1.$tool.cfg"; done
flurry -K "$T/k1.flurry.cfg"
curl_too -K "$T/k1.curl.cfg"
check_eq "$RC" "$CRC" "-K: exit as curl's"
check_eq "$(wire k1flurry)" "$(wire k1curl)" "-K: the request as curl's"
check_contains "$(wire k1flurry)" 'X-Quoted: a "b" \ c' "-K: quoted value with escapes"
check_contains "$OUT" "HTTP/1.1 200" "-K: include from the file"
# -K - reads standard input; options after it on the command line still count
printf 'url %s\n' "$FAULT/len?n=3" | flurry -K - -w ' %{http_code}'
printf 'url %s\n' "$FAULT/len?n=3" | curl_too -K - -w ' %{http_code}'
check_eq "$RC:$(cat "$OUT")" "$CRC:$(cat "$COUT")" "-K -"
# bad lines: a warning naming the file and line; the rest is read
printf 'url = %s\nbogus-opt\nmax-time\nwrite-out "[%%{http_code}]"\n' "$FAULT/ok" >"$T/bad.cfg"
same_as_curl "-K with an unknown option and a missing parameter" -K "$T/bad.cfg"
check_contains "$ERR" "bad.cfg:2: warning: 'bogus-opt' is unknown" "the unknown option named with file:line"
check_contains "$ERR" "bad.cfg:3: warning: 'max-time' requires parameter" "the missing parameter named"
same_as_curl "-K unreadable: 26" -s -K "$T/missing.cfg" "$FAULT/ok"
check_contains "$ERR" "missing.cfg" "... naming the file"
same_as_curl "-K a directory: read as empty (curl 7.88)" -s -K "$T" "$FAULT/ok"

# ---- .curlrc: CURL_HOME, then XDG_CONFIG_HOME, then HOME; -q skips it
mkdir -p "$T/ch" "$T/xdg" "$T/home"
printf 'write-out = "[ch %%{http_code}]"\n' >"$T/ch/.curlrc"
printf 'write-out = "[xdg %%{http_code}]"\n' >"$T/xdg/.curlrc"
printf 'write-out = "[home %%{http_code}]"\n' >"$T/home/.curlrc"
both_env ".curlrc from CURL_HOME" CURL_HOME="$T/ch" XDG_CONFIG_HOME="$T/xdg" HOME="$T/home" -- -s "$FAULT/ok"
check_eq "$(cat "$OUT")" "ok[ch 200]" "... CURL_HOME's"
both_env ".curlrc from XDG_CONFIG_HOME" -u CURL_HOME XDG_CONFIG_HOME="$T/xdg" HOME="$T/home" -- -s "$FAULT/ok"
both_env ".curlrc from HOME" -u CURL_HOME -u XDG_CONFIG_HOME HOME="$T/home" -- -s "$FAULT/ok"
check_eq "$(cat "$OUT")" "ok[home 200]" "... HOME's"
both_env "-q: no .curlrc" CURL_HOME="$T/ch" HOME="$T/home" -- -q -s "$FAULT/ok"
check_eq "$(cat "$OUT")" "ok" "... none"
both_env "-q not first: .curlrc read" CURL_HOME="$T/ch" HOME="$T/home" -- -s -q "$FAULT/ok"

# ---- netrc
cat >"$T/netrc" <<'EOF'
# comment
machine other.example login x password y
machine 127.0.0.1
  login alice
  password "se cret"
macdef init
  some macro text

default login bob password pw
EOF
printf 'default login "bob\n' >"$T/bad.netrc"
for tool in flurry curl; do
  if [[ $tool == flurry ]]; then run=flurry; else run=curl_too; fi
  $run -s -o /dev/null --netrc-file "$T/netrc" "$FAULT/ok?k=n1$tool"
  $run -s -o /dev/null --netrc-file "$T/netrc" "http://localhost:${FAULT##*:}/ok?k=n2$tool"
  $run -s -o /dev/null --netrc-file "$T/netrc" -u z:z "$FAULT/ok?k=n3$tool"
  $run -s -o /dev/null --netrc-file "$T/netrc" "http://carol:x@${FAULT#http://}/ok?k=n4$tool"
  $run -s -o /dev/null --netrc-optional --netrc-file "$T/netrc" "http://carol:x@${FAULT#http://}/ok?k=n5$tool"
  HOME=$T/nohome $run -s -o /dev/null -n "$FAULT/ok?k=n6$tool"
done
for k in n1 n2 n3 n4 n5 n6; do
  check_eq "$(wire "${k}flurry" | grep -a '^Authorization' || echo none)" \
    "$(wire "${k}curl" | grep -a '^Authorization' || echo none)" "netrc $k: the credentials curl sends"
done
mkdir -p "$T/nh" && cp "$T/netrc" "$T/nh/.netrc"
both_env "-n reads HOME's .netrc" HOME="$T/nh" -- -q -s -n -o /dev/null -w '%{http_code}' "$FAULT/echo"
HOME=$T/nh flurry -q -s -n "$FAULT/echo"
check_contains "$OUT" "Authorization: Basic YWxpY2U6c2UgY3JldA==" "... alice's"
same_as_curl "an unparsable netrc: 26" -s --netrc-file "$T/bad.netrc" "$FAULT/ok"
flurry -sS --netrc-file "$T/bad.netrc" "$FAULT/ok"
check_contains "$ERR" "bad.netrc:1" "... naming the file and line"
same_as_curl "--netrc-file missing: no credentials, no error" -s --netrc-file "$T/none" "$FAULT/ok"

done_testing
