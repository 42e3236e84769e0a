#!/usr/bin/env bash
# Issue 23, group 1, beside curl 7.88 on the same commands (the fault
# server): --fail-with-body, --json, -J with -O (never a file outside the
# directory), --output-dir, --remote-name-all.
# TIMEOUT: 150
source "$(dirname "$0")/lib.sh"
start_fault_server

# the request as the server got it, without the User-Agent line, sorted
wire() { curl -q -s "$FAULT/_log?k=$1" | tr -d '\r' | grep -av '^User-Agent:' | sed "s/$1/K/" | sort; }
enc() { # percent-encode $1 (in bash: a python per call is seconds on a loaded machine)
  local LC_ALL=C s=$1 out='' c h i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
      [a-zA-Z0-9._~-]) out+=$c ;;
      *) printf -v h '%%%02X' "'$c"; out+=$h ;;
    esac
  done
  echo "$out"
}
# a response with this Content-Disposition and the body "hi"
cd_url() { echo "$FAULT/raw?b=$(enc "$(printf 'HTTP/1.1 200 OK\r\nContent-Disposition: %s\r\nContent-Length: 2\r\n\r\nhi' "$1")")"; }

# ---- --fail-with-body
same_as_curl "--fail-with-body on a 404: body and exit 22" -s --fail-with-body "$FAULT/status?code=404"
same_as_curl "--fail-with-body on a 200" -s --fail-with-body "$FAULT/ok"
same_as_curl "--fail-with-body -w" -s --fail-with-body -w ' %{http_code} %{exitcode}' \
  "$FAULT/raw?b=$(enc "$(printf 'HTTP/1.1 500 Oops\r\nContent-Length: 4\r\n\r\nbody')")"
same_as_curl "--fail-with-body with -f: 2" -s -f --fail-with-body "$FAULT/ok"
same_as_curl "-f with --fail-with-body: 2" -s --fail-with-body -f "$FAULT/ok"

# ---- --json
for tool in flurry curl; do
  if [[ $tool == flurry ]]; then run=flurry; else run=curl_too; fi
  $run -s -o /dev/null --json '{"a":1}' "$FAULT/ok?k=j1$tool"
  $run -s -o /dev/null --json '{"a":1}' --json '{"b":2}' "$FAULT/ok?k=j2$tool"
  printf '{"z":[1,2]}\n' >"$T/j.json"
  $run -s -o /dev/null --json @"$T/j.json" "$FAULT/ok?k=j3$tool"
  printf '{"in":1}\n' | $run -s -o /dev/null --json @- "$FAULT/ok?k=j4$tool"
  $run -s -o /dev/null --json '{"a":1}' -H 'Accept: text/plain' "$FAULT/ok?k=j5$tool"
  $run -s -o /dev/null --json '{"a":1}' -X PUT "$FAULT/ok?k=j6$tool"
  $run -s -o /dev/null -d x=1 --json '{"b":2}' -d y=2 "$FAULT/ok?k=j7$tool"
done
for k in j1 j2 j3 j4 j5 j6 j7; do
  check_eq "$(wire "${k}flurry")" "$(wire "${k}curl")" "--json request $k on the wire as curl's"
done
same_as_curl "--json @missing: a warning, an empty POST (as curl 7.88)" -s --json @"$T/missing" \
  -w '%{http_code}' -o /dev/null "$FAULT/ok"

# ---- -J: Content-Disposition names the -O file; never outside the directory
jcase() { # jcase WHAT DISPOSITION [more args]
  local what=$1 cd=$2
  shift 2
  rm -rf "$T/jf" "$T/jc"
  mkdir -p "$T/jf" "$T/jc"
  cd "$T/jf" && flurry -s -O -J "$@" "$(cd_url "$cd")"; cd "$T"
  cd "$T/jc" && curl_too -s -O -J "$@" "$(cd_url "$cd")"; cd "$T"
  check_eq "$RC" "$CRC" "-J $what: exit as curl's"
  check_eq "$(cd "$T/jf" && find . -type f | sort)" "$(cd "$T/jc" && find . -type f | sort)" \
    "-J $what: the same files as curl's"
}
jcase "quoted name" 'attachment; filename="x y.txt"; size=3'
jcase "plain name" 'attachment; filename=plain.txt; x=1'
jcase "../../evil.txt" 'attachment; filename="../../evil.txt"'
jcase "/etc/passwd2" 'attachment; filename=/etc/passwd2'
jcase 'a\\b.txt' 'attachment; filename="..\\..\\b.txt"'
jcase "no filename" 'inline'
jcase "filename* only" "attachment; filename*=UTF-8''u.txt"
jcase "empty name: 23" 'attachment; filename=""'
jcase '"..": 23' 'attachment; filename=".."'
[[ ! -e $T/evil.txt && ! -e $T/passwd2 ]] && pass "-J wrote nothing outside the directory" ||
  fail "-J wrote outside the directory"
# an existing file is not overwritten (23, as curl)
mkdir -p "$T/je" && echo keep >"$T/je/evil.txt"
cd "$T/je" && flurry -s -O -J "$(cd_url 'attachment; filename="evil.txt"')"; cd "$T"
check_eq "$RC:$(cat "$T/je/evil.txt")" "23:keep" "-J does not overwrite an existing file"
cd "$T/je" && curl_too -s -O -J "$(cd_url 'attachment; filename="evil.txt"')"; cd "$T"
check_eq "$CRC" "23" "... curl neither"

# ---- --output-dir, --remote-name-all
mkdir -p "$T/of" "$T/oc"
flurry -s --output-dir "$T/of" -o a.txt -O "$FAULT/ok" "$FAULT/len?n=3"
curl_too -s --output-dir "$T/oc" -o a.txt -O "$FAULT/ok" "$FAULT/len?n=3"
check_eq "$RC:$(ls "$T/of" | sort | tr '\n' ' ')" "$CRC:$(ls "$T/oc" | sort | tr '\n' ' ')" \
  "--output-dir with -o and -O: the files curl writes"
rm -rf "$T/of" "$T/oc" && mkdir -p "$T/of" "$T/oc"
cd "$T/jf" && flurry -s -O -J --output-dir "$T/of" "$(cd_url 'attachment; filename="../up.txt"')"; cd "$T"
cd "$T/jc" && curl_too -s -O -J --output-dir "$T/oc" "$(cd_url 'attachment; filename="../up.txt"')"; cd "$T"
check_eq "$RC:$(ls "$T/of")" "$CRC:$(ls "$T/oc")" "-J --output-dir: inside the directory, as curl"
[[ ! -e $T/up.txt ]] && pass "... nothing above it" || fail "-J --output-dir wrote above the directory"
rm -rf "$T/rf" "$T/rc" && mkdir -p "$T/rf" "$T/rc"
cd "$T/rf" && flurry -s --remote-name-all "$FAULT/ok" "$FAULT/len?n=4" -o own.txt; cd "$T"
cd "$T/rc" && curl_too -s --remote-name-all "$FAULT/ok" "$FAULT/len?n=4" -o own.txt; cd "$T"
check_eq "$RC:$(ls "$T/rf" | sort | tr '\n' ' ')" "$CRC:$(ls "$T/rc" | sort | tr '\n' ' ')" \
  "--remote-name-all: -O for the URLs without -o"
check_eq "$(cat "$T/rf/own.txt")" "ok" "... the first -o goes with the first URL"

done_testing
