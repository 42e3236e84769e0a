# Shared helpers for tests/cli/test_*.sh (sourced). Bash, set -u.
#
#   flurry ARGS...          run the CLI (through FL_TEST_LAUNCHER: valgrind
#                           in the valgrind build); stdout -> $OUT, stderr ->
#                           $ERR, exit code -> $RC. Never fails the script.
#   flurry_plain ARGS...    the same without the launcher (timing tests)
#   check_rc N WHAT         $RC is N
#   check_eq GOT WANT WHAT
#   check_contains FILE-OR-STRING NEEDLE WHAT (files: $OUT, $ERR, paths)
#   check_not_contains FILE-OR-STRING NEEDLE WHAT
#   check_json FILE WHAT    FILE holds JSON documents, one per line (or one)
#   server_url NAME         http://127.0.0.1:PORT of a ctest fixture
#   start_fault_server      starts tests/support/fault_server.py; sets FAULT
#   done_testing            exit 0, or 1 if any check failed
# Every test runs in its own directory $T (removed at the end unless a check
# failed), with cwd there.
set -u

: "${FL_CLI:?FL_CLI is not set (tests/CMakeLists.txt passes it)}"
: "${FL_TEST_RUNDIR:?}" "${FL_TEST_SRCDIR:?}"
read -r -a FL_LAUNCH <<<"${FL_TEST_LAUNCHER:-}"

T=$(mktemp -d "$FL_TEST_RUNDIR/cli.$(basename "$0" .sh).XXXXXX")
# python3 is the system interpreter (it has httpbin, h2, websockets): pyenv's
# shim first on PATH costs seconds per start on a busy machine, and the checks
# start it a hundred times per script. A link, not a function, so that
# `python3 ... &` leaves $! the server's own pid.
if [[ -x /usr/bin/python3 ]]; then
  mkdir -p "$T/.bin" && ln -sf /usr/bin/python3 "$T/.bin/python3" && PATH="$T/.bin:$PATH"
fi
OUT=$T/stdout
ERR=$T/stderr
RC=0
FAILS=0
CHECKS=0
FAULT_PID=""
cd "$T" || exit 1

SERVER_PIDS=()
# Stop every server start_canned and start_support started (cleanup does it
# too).
stop_servers() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  SERVER_PIDS=()
}

cleanup() {
  local pid
  stop_servers
  for pid in "$FAULT_PID" "${PROXY_PID:-}"; do
    [[ -n $pid ]] || continue
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  if ((FAILS == 0)); then rm -rf "$T"; fi
}
trap cleanup EXIT

# flurry reads the proxy variables as curl does: tests run without them.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

flurry() {
  RC=0
  "${FL_LAUNCH[@]}" "$FL_CLI" "$@" >"$OUT" 2>"$ERR" || RC=$?
}

flurry_plain() {
  RC=0
  "$FL_CLI" "$@" >"$OUT" 2>"$ERR" || RC=$?
}

fail() {
  FAILS=$((FAILS + 1))
  echo "FAIL: $*" >&2
  if [[ -s $ERR ]]; then
    echo "  stderr:" >&2
    head -c 2000 "$ERR" | sed 's/^/    /' >&2
  fi
}

pass() {
  CHECKS=$((CHECKS + 1))
  echo "ok: $*"
}

check_rc() {
  if [[ $RC == "$1" ]]; then pass "$2 (exit $RC)"; else fail "$2: exit $RC, want $1"; fi
}

check_eq() {
  if [[ $1 == "$2" ]]; then pass "$3"; else fail "$3: got '$1', want '$2'"; fi
}

# The text of $1: the file's content if it names a file, else $1 itself.
text_of() {
  if [[ -f $1 ]]; then cat "$1"; else printf '%s' "$1"; fi
}

check_contains() {
  if text_of "$1" | grep -qF -- "$2"; then pass "$3"; else
    fail "$3: no '$2' in: $(text_of "$1" | head -c 600)"
  fi
}

check_not_contains() {
  if text_of "$1" | grep -qF -- "$2"; then fail "$3: unexpected '$2'"; else pass "$3"; fi
}

check_json() {
  if python3 -c '
import json, sys
text = open(sys.argv[1], encoding="utf-8").read()
lines = [l for l in text.splitlines() if l.strip()]
try:
    json.loads(text)
except ValueError:
    for l in lines:
        json.loads(l)
' "$1" 2>"$T/json.err"; then pass "$2"; else fail "$2: not JSON: $(cat "$T/json.err" | tail -1)"; fi
}

# A JSON field of the single JSON document in $1: json_get FILE KEY[.KEY...]
json_get() {
  python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(v if not isinstance(v, (dict, list)) else json.dumps(v, sort_keys=True))
' "$1" "$2"
}

server_url() {
  local f=$FL_TEST_RUNDIR/$1.port
  [[ -s $f ]] || { echo "fixture $1 is not running ($f missing)" >&2; exit 1; }
  echo "http://127.0.0.1:$(cat "$f")"
}

start_fault_server() {
  local pf=$T/fault.port i
  python3 "$FL_TEST_SRCDIR/support/fault_server.py" --port-file "$pf" 2>"$T/fault.log" &
  FAULT_PID=$!
  for ((i = 0; i < 400; i++)); do # up to 20 s on a busy machine
    [[ -s $pf ]] && break
    sleep 0.05
  done
  [[ -s $pf ]] || { echo "fault server did not start" >&2; cat "$T/fault.log" >&2; exit 1; }
  FAULT="http://127.0.0.1:$(cat "$pf")"
}

# start_support NAME SCRIPT [ARG...]: tests/support/SCRIPT (python, with
# --port-file) on a free loopback port, its stderr in $T/NAME.log; sets PORT.
start_support() {
  local name=$1 script=$2 pf=$T/$1.port i
  shift 2
  rm -f "$pf"
  python3 "$FL_TEST_SRCDIR/support/$script" --port-file "$pf" "$@" 2>"$T/$name.log" &
  SERVER_PIDS+=($!)
  for ((i = 0; i < 400; i++)); do # up to 20 s on a busy machine
    [[ -s $pf ]] && break
    sleep 0.05
  done
  [[ -s $pf ]] || { echo "$name ($script) did not start" >&2; cat "$T/$name.log" >&2; exit 1; }
  PORT=$(cat "$pf")
}

# start_canned NAME [canned-server options]: bench/servers' canned-server
# ($FL_CANNED) on a free loopback port, recording requests into $T/NAME.rec
# (emptied once it is up); sets PORT.
start_canned() {
  local name=$1 i
  shift
  rm -f "$T/$name.port" "$T/$name.rec"
  "${FL_CANNED:?FL_CANNED is not set}" --port-file "$T/$name.port" --record "$T/$name.rec" \
    --quiet "$@" 2>"$T/$name.log" &
  SERVER_PIDS+=($!)
  for ((i = 0; i < 400; i++)); do # up to 20 s on a busy machine
    [[ -s $T/$name.port ]] && break
    sleep 0.05
  done
  [[ -s $T/$name.port ]] || { echo "canned-server $name did not start" >&2; cat "$T/$name.log" >&2; exit 1; }
  PORT=$(cat "$T/$name.port")
  : >"$T/$name.rec"
}

done_testing() {
  echo "$CHECKS checks passed, $FAILS failed"
  if ((FAILS)); then
    echo "(files kept in $T)"
    exit 1
  fi
  exit 0
}

# ---- comparing with curl 7.88 (installed as curl by scripts/bootstrap)
#   curl_too ARGS...        run curl on the same arguments, without a
#                           .curlrc or proxy variables: stdout -> $COUT,
#                           stderr -> $CERR, exit code -> $CRC
#   same_as_curl WHAT ARGS...  run flurry and curl: the same exit code and
#                           the same stdout, once Date lines (and "date" in
#                           header JSON) and the
#                           User-Agent products are dropped; "{tool}" in an
#                           argument becomes "flurry" or "curl" (for
#                           servers that count requests per key)
COUT=$T/curl.stdout
CERR=$T/curl.stderr
CRC=0

curl_too() {
  CRC=0
  env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u all_proxy -u ALL_PROXY \
    -u no_proxy -u NO_PROXY curl -q "$@" >"$COUT" 2>"$CERR" || CRC=$?
}

normalize_out() {
  sed -e '/^Date: /d' -e '/^date: /d' -e 's#"date":\["[^"]*"\]#"date":["DATE"]#g' -e 's#curl/[0-9][0-9.]*#PRODUCT#g' \
    -e 's#flurry/[0-9][0-9.]*#PRODUCT#g' "$1"
}

same_as_curl() {
  local what=$1
  shift
  flurry "${@//\{tool\}/flurry}"
  curl_too "${@//\{tool\}/curl}"
  if [[ $RC == "$CRC" ]]; then pass "$what: exit $RC, as curl"; else
    fail "$what: exit $RC, curl's $CRC (curl said: $(head -c 300 "$CERR"))"
  fi
  if diff <(normalize_out "$COUT") <(normalize_out "$OUT") >"$T/curl.diff"; then
    pass "$what: stdout as curl's"
  else
    fail "$what: stdout differs from curl's (< curl, > flurry): $(head -c 800 "$T/curl.diff")"
  fi
}
