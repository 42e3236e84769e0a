#!/usr/bin/env bash
# flurry against httpbin: methods, headers, bodies (-d, --data-binary,
# --data-raw, -G, -F), auth, cookies, -I, -i, -v, -f, -w.
# FIXTURES: httpbin
# TIMEOUT: 120
source "$(dirname "$0")/lib.sh"
HB=$(server_url httpbin)
VERSION=$("$FL_CLI" -V | awk 'NR == 1 { print $2 }')

# ---- GET and the default headers
flurry "$HB/get?a=1&b=two"
check_rc 0 "GET /get"
check_eq "$(json_get "$OUT" args.b)" "two" "query arrives"
check_eq "$(json_get "$OUT" headers.User-Agent)" "flurry/$VERSION" "default User-Agent"
check_eq "$(json_get "$OUT" headers.Accept)" "*/*" "default Accept"

# ---- methods
flurry -X PUT -d x=1 "$HB/put"
check_rc 0 "-X PUT with -d"
check_eq "$(json_get "$OUT" form.x)" "1" "PUT body"
flurry -X DELETE "$HB/delete"
check_rc 0 "-X DELETE"
check_eq "$(json_get "$OUT" url)" "$HB/delete" "DELETE reached /delete"
flurry --request PATCH --data-raw 'p=q' "$HB/patch"
check_rc 0 "--request PATCH"
check_eq "$(json_get "$OUT" form.p)" "q" "PATCH body"
flurry -XPOST "$HB/post"
check_rc 0 "-XPOST (attached argument), no body"
check_eq "$(json_get "$OUT" headers.Content-Length)" "0" "POST without body sends Content-Length: 0"

# ---- headers: add, repeat, replace, remove, empty
flurry -H "X-One: 1" -H "X-Two: two words" -H "Accept:" -H "User-Agent: custom/1" -H "X-Empty;" "$HB/headers"
check_rc 0 "-H"
check_eq "$(json_get "$OUT" headers.X-One)" "1" "-H adds a header"
check_eq "$(json_get "$OUT" headers.X-Two)" "two words" "-H value with spaces"
check_eq "$(json_get "$OUT" headers.User-Agent)" "custom/1" "-H replaces User-Agent"
check_not_contains "$OUT" '"Accept"' "-H 'Accept:' removes the default"
check_eq "$(json_get "$OUT" headers.X-Empty)" "" "-H 'X-Empty;' sends it empty"
printf 'X-From-File: yes\nX-Second: 2\n' >"$T/headers.txt"
flurry -H @"$T/headers.txt" "$HB/headers"
check_eq "$(json_get "$OUT" headers.X-From-File)" "yes" "-H @file"
check_eq "$(json_get "$OUT" headers.X-Second)" "2" "-H @file, second line"
flurry -H "Host: example.test" "$HB/headers"
check_eq "$(json_get "$OUT" headers.Host)" "example.test" "-H Host replaces Host"

# ---- -A, -e, -u, -b
flurry -A "agent/2.0" -e "http://ref.test/page" "$HB/headers"
check_eq "$(json_get "$OUT" headers.User-Agent)" "agent/2.0" "-A"
check_eq "$(json_get "$OUT" headers.Referer)" "http://ref.test/page" "-e"
flurry -A "" "$HB/headers"
check_not_contains "$OUT" "User-Agent" "-A '' sends no User-Agent"
flurry -u alice:s3cret "$HB/basic-auth/alice/s3cret"
check_rc 0 "-u"
check_eq "$(json_get "$OUT" authenticated)" "True" "-u authenticates"
flurry -u alice:wrong -w '%{http_code}' -o /dev/null "$HB/basic-auth/alice/s3cret"
check_eq "$(cat "$OUT")" "401" "-u with a wrong password: 401"
flurry -f -u alice:wrong "$HB/basic-auth/alice/s3cret"
check_rc 22 "-f with 401"
flurry -b "a=1; b=two" -b "c=3" "$HB/cookies"
check_rc 0 "-b string"
check_eq "$(json_get "$OUT" cookies.b)" "two" "-b sends the cookies"
check_eq "$(json_get "$OUT" cookies.c)" "3" "several -b are joined"

# ---- -d and friends
flurry -d a=1 -d b=2 "$HB/post"
check_rc 0 "-d -d"
check_eq "$(json_get "$OUT" form.a),$(json_get "$OUT" form.b)" "1,2" "-d pieces joined with &"
check_eq "$(json_get "$OUT" headers.Content-Type)" "application/x-www-form-urlencoded" "-d content type"
printf 'x=1\r\n&y=2\n' >"$T/form.txt"
flurry -d @"$T/form.txt" "$HB/post"
check_eq "$(json_get "$OUT" form.x),$(json_get "$OUT" form.y)" "1,2" "-d @file drops CR and LF"
printf 'line1\nline2\n' >"$T/lines.txt"
flurry --data-binary @"$T/lines.txt" -H "Content-Type: text/plain" "$HB/post"
check_eq "$(json_get "$OUT" data)" $'line1\nline2' "--data-binary @file keeps newlines"
check_eq "$(json_get "$OUT" headers.Content-Type)" "text/plain" "-H replaces the -d content type"
flurry --data-raw @lines.txt "$HB/post"
check_eq "$(json_get "$OUT" form.@lines\\.txt 2>/dev/null || json_get "$OUT" data)" "" "--data-raw keeps @"
check_contains "$OUT" '"@lines.txt"' "--data-raw sends the @ literally"
printf 'a b&c' >"$T/enc.txt"
flurry --data-urlencode "name=x y&z" --data-urlencode "=only é" --data-urlencode "f@$T/enc.txt" \
  --data-urlencode "plain" "$HB/post"
check_rc 0 "--data-urlencode"
check_eq "$(json_get "$OUT" form)" '{"f": "a b&c", "name": "x y&z", "only \u00e9": "", "plain": ""}' \
  "--data-urlencode forms (as curl)"
flurry -G --data-urlencode "q=a b" "$HB/get"
check_eq "$(json_get "$OUT" args.q)" "a b" "-G --data-urlencode"
flurry --data-urlencode "f@$T/missing" "$HB/post"
check_rc 26 "--data-urlencode @missing"
printf 'from stdin' | "${FL_LAUNCH[@]}" "$FL_CLI" -s --data-binary @- -H "Content-Type: text/plain" "$HB/post" >"$OUT"
check_eq "$(json_get "$OUT" data)" "from stdin" "--data-binary @- reads stdin"
# a large body is streamed from the file, with its Content-Length (as curl)
head -c 3000000 /dev/zero | tr '\0' 'z' >"$T/big.txt"
flurry --data-binary @"$T/big.txt" -H "Content-Type: text/plain" -w '%{size_upload}' -o "$T/post.json" "$HB/post"
check_rc 0 "--data-binary @3MB file"
check_eq "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["data"]))' "$T/post.json")" \
  "3000000" "3 MB body arrives whole"
check_eq "$(json_get "$T/post.json" headers.Content-Length)" "3000000" "large body streamed with its Content-Length"
check_eq "$(cat "$OUT")" "3000000" "%{size_upload}"
flurry -G -d a=1 -d "b=x%20y" "$HB/get?z=0"
check_rc 0 "-G"
check_eq "$(json_get "$OUT" args.a),$(json_get "$OUT" args.z),$(json_get "$OUT" args.b)" "1,0,x y" \
  "-G puts -d in the query"
check_eq "$(json_get "$OUT" url)" "$HB/get?z=0&a=1&b=x%20y" "-G appends with &"
flurry -G -d "b=x y" "$HB/get"
check_rc 3 "-G with a space in the data: malformed URL (as curl)"

# ---- -F multipart
printf 'hello file\n' >"$T/hello.txt"
flurry -F name=alice -F "doc=@$T/hello.txt" -F "inline=<$T/hello.txt" "$HB/post"
check_rc 0 "-F"
check_eq "$(json_get "$OUT" form.name)" "alice" "-F text field"
check_eq "$(json_get "$OUT" files.doc)" "hello file" "-F file part"
check_eq "$(json_get "$OUT" form.inline)" "hello file" "-F name=<file is a field"
check_contains "$(json_get "$OUT" headers.Content-Type)" "multipart/form-data; boundary=" "-F content type"
[[ $(json_get "$OUT" headers.Content-Length) =~ ^[0-9]+$ ]] && pass "small form has a Content-Length" ||
  fail "small form without Content-Length"
check_not_contains "$OUT" "Transfer-Encoding" "small form is not chunked"
flurry -F "big=@$T/big.txt" -F after=1 "$HB/post"
check_rc 0 "-F with a 3 MB file"
check_eq "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["files"]["big"]))' "$OUT")" \
  "3000000" "3 MB file part arrives whole (streamed)"
check_eq "$(json_get "$OUT" form.after)" "1" "field after a streamed file"
[[ $(json_get "$OUT" headers.Content-Length) -gt 3000000 ]] && pass "large form has its Content-Length" ||
  fail "large form without Content-Length"

# ---- -I, -i
flurry -I "$HB/get"
check_rc 0 "-I"
check_eq "$(head -n 1 "$OUT" | tr -d '\r')" "HTTP/1.1 200 OK" "-I prints the status line"
check_contains "$OUT" "Content-Type: application/json" "-I prints headers"
check_not_contains "$OUT" '"args"' "-I prints no body"
flurry -i "$HB/get"
check_rc 0 "-i"
check_eq "$(head -n 1 "$OUT" | tr -d '\r')" "HTTP/1.1 200 OK" "-i starts with the status line"
check_contains "$OUT" '"args"' "-i then the body"
check_eq "$(grep -c $'^\r$' "$OUT")" "1" "-i: one blank line between head and body"

# ---- -v: what was sent is what arrived
flurry -v -H "X-Verbose: 1" -A "verbose/1" "$HB/headers"
check_rc 0 "-v"
check_contains "$ERR" "> GET /headers HTTP/1.1" "-v request line"
check_contains "$ERR" "< HTTP/1.1 200 OK" "-v status line"
check_contains "$ERR" "* Connected to 127.0.0.1 port" "-v connected line"
sent=$(grep '^> [A-Za-z-]*:' "$ERR" | sed 's/^> \([^:]*\):.*/\1/' | sort | tr '\n' ' ')
got=$(python3 -c 'import json,sys; print(" ".join(sorted(json.load(open(sys.argv[1]))["headers"])) + " ")' "$OUT")
check_eq "$sent" "$got" "-v shows exactly the headers httpbin received"
flurry -v -d a=1 "$HB/post"
check_contains "$ERR" "> Content-Length: 3" "-v shows Content-Length of the body"

# ---- status codes, -f
flurry "$HB/status/404"
check_rc 0 "404 without -f"
flurry -f "$HB/status/404"
check_rc 22 "-f on 404"
check_eq "$(wc -c <"$OUT")" "0" "-f writes no body"
check_contains "$ERR" "The requested URL returned error: 404" "-f message"
flurry -f -i "$HB/status/503"
check_rc 22 "-f -i on 503"
check_contains "$OUT" "503" "-f -i writes the headers (as curl)"
flurry -f "$HB/status/200"
check_rc 0 "-f on 200"

# ---- timeouts
flurry -m 0.5 "$HB/delay/3"
check_rc 28 "-m 0.5 against /delay/3"

# ---- -w
flurry -w '%{http_code} %{response_code} %{method} %{content_type} %{num_headers} %header{content-type}\n' \
  -o /dev/null "$HB/get"
check_eq "$(cat "$OUT")" "200 200 GET application/json 7 application/json" "-w variables"
flurry -s -w '%{size_download}|%{url_effective}|%{url}|%{remote_ip}|%{exitcode}|%{errormsg}|%{http_version}' \
  -o "$T/body" "$HB/bytes/1234"
check_eq "$(cat "$OUT")" "1234|$HB/bytes/1234|$HB/bytes/1234|127.0.0.1|0||1.1" "-w more variables"
check_eq "$(wc -c <"$T/body")" "1234" "-o gets the body"
flurry -w '%{time_namelookup} %{time_connect} %{time_starttransfer} %{time_total}' -o /dev/null "$HB/get"
if [[ $(cat "$OUT") =~ ^[0-9]+\.[0-9]{6}\ [0-9]+\.[0-9]{6}\ [0-9]+\.[0-9]{6}\ [0-9]+\.[0-9]{6}$ ]]; then
  pass "-w times have 6 decimals"
else
  fail "-w times: $(cat "$OUT")"
fi
flurry -w '%{json}' -o /dev/null "$HB/get"
check_json "$OUT" "-w %{json} is JSON"
check_eq "$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
ok = isinstance(d["http_code"], int) and isinstance(d["time_total"], float) and \
     isinstance(d["size_download"], int) and isinstance(d["remote_port"], int) and \
     isinstance(d["url_effective"], str) and d["errormsg"] is None and d["exitcode"] == 0
print("typed" if ok else d)' "$OUT")" "typed" "-w %{json} types"
flurry -s -w '%{json}' "http://127.0.0.1:1/"
check_json "$OUT" "-w %{json} of a failed transfer"
check_eq "$(json_get "$OUT" exitcode),$(json_get "$OUT" http_code)" "7,0" "json exitcode and http_code"
printf '%s' '%{http_code}\n' >"$T/fmt"
flurry -w @"$T/fmt" -o /dev/null "$HB/get"
check_eq "$(cat "$OUT")" "200" "-w @file"
flurry -w 'a%{stderr}b%{stdout}c 100%%\t|' -o /dev/null "$HB/get"
check_eq "$(cat "$OUT")" $'ac 100%\t|' "-w %{stdout}, %%, \\t"
check_eq "$(cat "$ERR")" "b" "-w %{stderr}"
flurry -w '%{nonsense}' -o /dev/null "$HB/get"
check_contains "$ERR" "unknown --write-out variable" "-w warns about unknown variables"

done_testing
