#!/usr/bin/env bash
# flurry-bench -s: wrk's Lua API, one script of bench/scripts/ for each of
# wrk's example scripts (post, counter, report, auth, delay, pipeline, setup,
# stop, addr), run against canned-servers this test starts, which record
# every request they get (--record): each script's effect is asserted on
# what the server received and on what flurry-bench printed.
# TIMEOUT: 120
set -uo pipefail
source "$(dirname "$0")/lib.sh"

bench=${FL_BENCH:?FL_BENCH is not set (bench/flurry_bench/CMakeLists.txt sets it)}
: "${FL_CANNED:?FL_CANNED is not set (bench/servers/CMakeLists.txt sets it)}"
scripts=$FL_TEST_SRCDIR/../bench/scripts

# fb ARGS...: flurry-bench, stdout -> $OUT, stderr -> $ERR, exit code -> $RC.
fb() {
  RC=0
  "${FL_LAUNCH[@]}" "$bench" "$@" >"$OUT" 2>"$ERR" || RC=$?
}

# rec NAME PYTHON: run PYTHON with r = the list of recorded requests of
# server NAME (dicts: method, target, version, headers [[n, v]...], body) and
# h(req, name) = the first value of that header (case-insensitive) or None;
# print what it prints.
rec() {
  python3 - "$T/$1.rec" "$2" <<'PY'
import collections, json, sys
r = [json.loads(line) for line in open(sys.argv[1])]
def h(req, name):
    for n, v in req["headers"]:
        if n.lower() == name.lower():
            return v
    return None
exec(sys.argv[2])
PY
}

requests_line() { awk '/ requests in / {print $1}' "$OUT"; }

# Built without LuaJIT: nothing to test here.
if "$bench" -v | grep -q -- ' -lua$'; then
  echo "skipped: flurry-bench was built without LuaJIT"
  exit 77
fi

start_canned main --header 'X-Session: s3cret'
main=$PORT
url=http://127.0.0.1:$main

# ---- post: method, body and a header from the script; -H joins wrk.headers
fb -t 1 -c 2 -n 20 -H 'X-Extra: yes' -s "$scripts/post.lua" "$url/submit"
check_rc 0 "post.lua"
check_eq "$(requests_line)" 20 "post.lua: 20 responses"
check_eq "$(rec main '
want = "{\"client\":\"flurry-bench\",\"kind\":\"post\"}"
ok = [q for q in r if q["method"] == "POST" and q["target"] == "/submit" and q["body"] == want
      and h(q, "Content-Type") == "application/json" and h(q, "Content-Length") == str(len(want))
      and h(q, "X-Extra") == "yes" and h(q, "Host") == "127.0.0.1:'"$main"'"]
print(len(r), len(ok))')" "20 20" "post.lua: every request a POST with the body, its type and length, -H and Host"

# ---- counter: request() per request, path and header from a counter per thread
: >"$T/main.rec"
fb -t 2 -c 4 -n 40 -s "$scripts/counter.lua" "$url/"
check_rc 0 "counter.lua"
check_eq "$(rec main '
c = collections.Counter(q["target"] for q in r)
same = all(q["target"] == "/item/" + str(h(q, "X-Seq")) for q in r)
print(len(r), same, sorted(c.items()) == sorted(("/item/%d" % i, 2) for i in range(1, 21)))')" "40 True True" \
  "counter.lua: /item/1../item/20 from each of the 2 threads, X-Seq matching the path"

# ---- report: done() with the summary, percentiles and latency(i)
: >"$T/main.rec"
fb -t 1 -c 2 -n 200 -s "$scripts/report.lua" "$url/"
check_rc 0 "report.lua"
check_contains "$OUT" "requests=200 bytes=" "report.lua: summary.requests"
check_contains "$OUT" "errors=0" "report.lua: summary.errors"
check_contains "$OUT" "counted=200" "report.lua: latency(i) counts add up to the requests"
check_eq "$(awk -F= '/^p50=/ {a = $2} /^p90=/ {b = $2} /^p99=/ {c = $2} /^p99.9=/ {d = $2}
  /^min=/ {split($0, m, /[= ]/); lo = m[2]; hi = m[4]}
  END {print (lo <= a && a <= b && b <= c && c <= d && d <= hi && lo > 0) ? "ordered" : "not ordered"}' "$OUT")" \
  ordered "report.lua: min <= p50 <= p90 <= p99 <= p99.9 <= max"
check_eq "$(awk '/ requests in / {n = $1} /^requests=/ {split($1, a, "="); m = a[2]} END {print n == m}' "$OUT")" 1 \
  "report.lua: done() after the usual report, same count"

# ---- auth: response() reads a header, request() uses it from then on
: >"$T/main.rec"
fb -t 1 -c 2 -n 50 -s "$scripts/auth.lua" "$url/"
check_rc 0 "auth.lua"
check_eq "$(rec main '
logins = [q for q in r if q["method"] == "POST" and q["target"] == "/login" and q["body"] == "user=bench"]
data = [q for q in r if q["method"] == "GET" and q["target"] == "/api/data"]
authed = [q for q in data if h(q, "Authorization") == "Bearer s3cret"]
print(len(r), 1 <= len(logins) <= 2, len(logins) + len(data) == len(r), len(authed) == len(data) > 0)')" \
  "50 True True True" "auth.lua: log in (once per connection at most), then every request with the session"

# ---- delay: delay() before every request (200 ms: at most 5 in 1 s on 1 connection)
: >"$T/main.rec"
fb -t 1 -c 1 -d 1s -s "$scripts/delay.lua" "$url/" -- 200
check_rc 0 "delay.lua"
n=$(rec main 'print(len(r))')
if ((n >= 1 && n <= 6)); then pass "delay.lua -- 200: $n requests in 1 s on one connection"; else
  fail "delay.lua -- 200: $n requests in 1 s (want 1-6)"; fi

# ---- pipeline: one request() string of 4 requests (args after --)
: >"$T/main.rec"
fb -t 1 -c 2 -n 400 -s "$scripts/pipeline.lua" "$url/" -- 4
check_rc 0 "pipeline.lua"
check_eq "$(requests_line)" 400 "pipeline.lua: 400 responses"
check_eq "$(rec main '
c = collections.Counter(q["target"] for q in r)
print(sorted(c.items()))')" "[('/batch?i=1', 100), ('/batch?i=2', 100), ('/batch?i=3', 100), ('/batch?i=4', 100)]" \
  "pipeline.lua -- 4: 100 batches of the 4 requests"

# ---- setup: setup() per thread, thread:set/get between the states, done()
: >"$T/main.rec"
fb -t 2 -c 4 -n 200 -s "$scripts/setup.lua" "$url/"
check_rc 0 "setup.lua"
check_contains "$OUT" "thread 1 (t1, weight 10): sent 100, answered 100" "setup.lua: thread 1's globals back in done()"
check_contains "$OUT" "thread 2 (t2, weight 20): sent 100, answered 100" "setup.lua: thread 2's globals back in done()"
check_contains "$OUT" "answered 200 of 200" "setup.lua: response() ran for every response"
check_eq "$(rec main 'print(sorted(collections.Counter(q["target"] for q in r).items()))')" \
  "[('/thread/1/t1', 100), ('/thread/2/t2', 100)]" "setup.lua: each thread's paths from the values setup() gave it"

# ---- stop: each thread stops itself after 25 responses, long before -d
: >"$T/main.rec"
fb -t 2 -c 4 -d 30s --json -s "$scripts/stop.lua" "$url/" -- 25
check_rc 0 "stop.lua"
check_eq "$(json_get "$OUT" requests | awk '{print ($1 >= 50 && $1 <= 54) ? "ok" : $1}')" ok \
  "stop.lua -- 25: 2 threads x 25 responses (plus at most the other connection's)"
check_eq "$(json_get "$OUT" runtime_s | awk '{print ($1 < 25) ? "early" : $1}')" early "stop.lua: the run ended before -d"

# ---- addr: thread.addr sends the requests elsewhere; Host stays the URL's
start_canned other
other=$PORT
: >"$T/main.rec"
RC=0
FLB_ADDR_PORT=$other "${FL_LAUNCH[@]}" "$bench" -t 2 -c 2 -n 20 -s "$scripts/addr.lua" "http://localhost:$main/a" \
  >"$OUT" 2>"$ERR" || RC=$?
check_rc 0 "addr.lua (host name)"
check_eq "$(grep -c "^thread addr: 127.0.0.1:$other\$" "$OUT")" 2 "addr.lua: init() of each thread printed its address"
check_eq "$(rec other 'print(len(r), all(q["target"] == "/a" and h(q, "Host") == "localhost:'"$main"'" for q in r))')" \
  "20 True" "addr.lua: all 20 requests went to thread.addr, with the URL's Host"
check_eq "$(rec main 'print(len(r))')" 0 "addr.lua: none to the URL's own port"
: >"$T/other.rec"
RC=0
FLB_ADDR_PORT=$other "${FL_LAUNCH[@]}" "$bench" -t 1 -c 2 -n 10 -s "$scripts/addr.lua" "$url/b" >"$OUT" 2>"$ERR" || RC=$?
check_rc 0 "addr.lua (address literal)"
check_eq "$(rec other 'print(len(r), all(h(q, "Host") == "127.0.0.1:'"$main"'" for q in r))')" "10 True" \
  "addr.lua with 127.0.0.1 in the URL: thread.addr's port, the URL's Host"

# ---- the rest of the API: args, wrk fields, response() arguments, headers
cat >"$T/api.lua" <<'EOF'
bad = 0
function init(args)
   print(string.format("args[0]=%s args[1]=%s args[2]=%s", args[0], args[1], tostring(args[2])))
   print(string.format("scheme=%s host=%s port=%s path=%s method=%s", wrk.scheme, wrk.host, wrk.port, wrk.path, wrk.method))
   print("thread is userdata: " .. tostring(type(wrk.thread) == "userdata"))
   wrk.headers["x-lower"] = "1"
   wrk.headers["X-LOWER"] = "2" -- the same header, whatever the case
   ok = 0
end
function response(status, headers, body)
   if status == 200 and body == "pong" and headers["content-length"] == "4" then ok = ok + 1 else bad = bad + 1 end
end
EOF
start_canned pong --body pong
fb -t 1 -c 1 -n 5 -s "$T/api.lua" "http://127.0.0.1:$PORT/p/q?x=1" -- first second
check_rc 0 "api.lua"
check_contains "$OUT" "args[0]=http://127.0.0.1:$PORT/p/q?x=1 args[1]=first args[2]=second" "init(args): [0] the URL, then the arguments after --"
check_contains "$OUT" "scheme=http host=127.0.0.1 port=$PORT path=/p/q?x=1 method=GET" "wrk.scheme, host, port, path, method"
check_contains "$OUT" "thread is userdata: true" "wrk.thread in the thread's state"
check_eq "$(rec pong 'print(len(r), all(h(q, "x-lower") == "2" and len([1 for n, v in q["headers"] if n.lower() == "x-lower"]) == 1 for q in r))')" \
  "5 True" "wrk.headers: one header whatever the case of its name"
cat >"$T/count.lua" <<'EOF'
function done(summary)
   local ok, bad = 0, 0
   for _, t in ipairs(threads) do ok = ok + t:get("ok"); bad = bad + t:get("bad") end
   print("ok=" .. ok .. " bad=" .. bad)
end
threads = {}
function setup(thread) table.insert(threads, thread) end
EOF
cat "$T/api.lua" "$T/count.lua" >"$T/api2.lua"
fb -t 2 -c 2 -n 10 -s "$T/api2.lua" "http://127.0.0.1:$PORT/"
check_contains "$OUT" "ok=10 bad=0" "response(status, headers, body): status, case-insensitive headers, the body"

# ---- refusals and script errors
echo 'this is not lua' >"$T/syntax.lua"
fb -t 1 -c 1 -n 1 -s "$T/syntax.lua" "$url/"
check_rc 1 "a script that does not compile"
check_contains "$ERR" "syntax.lua" "its error names the file"
echo 'function request() return "GET / HTTP/1.1\r\nHost x\r\n\r\n" end' >"$T/garbage.lua"
fb -t 1 -c 1 -n 5 -s "$T/garbage.lua" "$url/"
check_rc 1 "request() returning a malformed request"
check_contains "$ERR" "at 2:" "the parse error says where"
echo 'function request() error("boom") end' >"$T/boom.lua"
fb -t 1 -c 1 -d 2s -s "$T/boom.lua" "$url/"
check_rc 1 "request() raising an error"
check_contains "$ERR" "boom" "the error message reaches stderr"
printf '%s\n' "$url/a" >"$T/urls"
fb -t 1 -c 1 -n 1 -s "$scripts/post.lua" --urls "$T/urls"
check_rc 1 "-s with --urls"
check_contains "$ERR" "Usage: flurry-bench" "refused with the usage"

stop_servers
done_testing
