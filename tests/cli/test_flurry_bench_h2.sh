#!/usr/bin/env bash
# flurry-bench over HTTP/2 (issue 20): --h2 (ALPN over TLS) and --h2c (prior
# knowledge) with -m streams per connection against nginx_h2 and nghttpd;
# the report says which protocol was spoken (text "Protocol:" line, JSON
# protocol, responses_by_version, connections_opened, h2_connections); no
# silent switch to h2 without --h2; a TLS server without h2 fails --h2 runs;
# merge sums the versions; the usage errors of the new options.
# FIXTURES: nginx_h2 nghttpd
# TIMEOUT: 120
set -uo pipefail
source "$(dirname "$0")/lib.sh"
# the system python (a pyenv shim takes seconds to start on a busy machine)
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3

bench=${FL_BENCH:?FL_BENCH is not set (bench/flurry_bench/CMakeLists.txt sets it)}
fb() {
  RC=0
  "${FL_LAUNCH[@]}" "$bench" "$@" >"$OUT" 2>"$ERR" || RC=$?
}
# jget KEY[.KEY...]: a member of the JSON report in $OUT ("1.1" and "1.0"
# are keys of responses_by_version, not paths)
jget() {
  "$PY" -c '
import json, sys
v = json.load(open(sys.argv[1]))
k = sys.argv[2]
for part in (k.split(".", 1) if k.startswith("responses_by_version.") else k.split(".")):
    v = v[part]
print(v)
' "$OUT" "$1"
}

RD=$FL_TEST_RUNDIR
H2=https://localhost:$(cat "$RD/nginx_h2.port")
H2C=http://127.0.0.1:$(cat "$RD/nginx_h2.h2c.port")
H1=https://localhost:$(cat "$RD/nginx_h2.h1.port")
CA=(--cacert "$RD/nginx_h2/ca.pem")
NGC=http://127.0.0.1:$(cat "$RD/nghttpd.h2c.port")

# ---- usage (no request goes out)
fb -m 4 -n 1 "$H2C/hello"
check_rc 1 "-m without --h2"
check_contains "$ERR" "-m is for HTTP/2" "-m without --h2: says why"
fb --h2c -n 1 "$H2/hello"
check_rc 1 "--h2c on https://"
fb --h2 --pipeline 4 -n 1 "$H2/hello"
check_rc 1 "--h2 with --pipeline"
fb --h2 -m 0 -n 1 "$H2/hello"
check_rc 1 "-m 0"

# ---- without --h2: HTTP/1.1 on an h2 server, as wrk (no "Protocol:" line)
fb -t 1 -c 2 -n 50 "${CA[@]}" --json "$H2/hello"
check_rc 0 "no --h2 against an h2 server"
check_eq "$(jget protocol):$(jget responses_by_version.1.1)" "http/1.1:50" "no --h2: HTTP/1.1 spoken"
fb -t 1 -c 2 -n 50 "${CA[@]}" "$H2/hello"
check_not_contains "$OUT" "Protocol:" "no --h2: wrk's text, no Protocol line"

if ! "$bench" -v | grep -q nghttp2; then
  echo "this libflurry is built without nghttp2 (flurry-bench -v names no nghttp2): HTTP/2 runs skipped"
  done_testing
fi

# ---- --h2 over TLS: -c 2 -m 8, 400 requests
fb -t 1 -c 2 -m 8 -n 400 "${CA[@]}" --h2 --json "$H2/hello"
check_rc 0 "--h2 -c 2 -m 8"
check_json "$OUT" "--h2: JSON"
check_eq "$(jget protocol)" "h2" "--h2: protocol h2"
check_eq "$(jget requests):$(jget responses_by_version.2):$(jget errors.total)" "400:400:0" \
  "--h2: 400 responses over HTTP/2, no error"
check_eq "$(jget connections_opened):$(jget h2_connections):$(jget streams_per_connection)" "2:2:8" \
  "--h2: two connections, both h2, 8 streams each"
cp "$OUT" "$T/a.json"
fb -t 1 -c 2 -m 8 -n 400 "${CA[@]}" --h2 "$H2/hello"
check_contains "$OUT" "Protocol: h2, 400 of 400 responses over HTTP/2; 2 connections opened, 2 of them h2, 8 streams each at most" \
  "--h2: the text report's Protocol line"

# ---- --h2c: one connection, 10 streams, nginx and nghttpd
fb -t 1 -c 1 -m 10 -n 300 --h2c --json "$H2C/hello"
check_eq "$(jget protocol):$(jget responses_by_version.2):$(jget connections_opened):$(jget errors.total)" \
  "h2c:300:1:0" "--h2c on nginx: 300 responses on one connection"
cp "$OUT" "$T/b.json"
fb -t 2 -c 4 -m 10 -n 1000 --h2c --json "$NGC/small.txt"
check_eq "$(jget protocol):$(jget responses_by_version.2):$(jget connections_opened):$(jget errors.total)" \
  "h2c:1000:4:0" "--h2c on nghttpd, -t 2 -c 4 -m 10"

# ---- --h2 against a TLS server without h2: every request fails
fb -t 1 -c 1 -n 5 -d 5s "${CA[@]}" --h2 --json "$H1/hello"
check_eq "$(jget responses_by_version.2):$(jget responses_by_version.1.1)" "0:0" \
  "--h2 on an h1-only server: no response"
[[ $(jget errors.total) -ge 1 ]] && pass "--h2 on an h1-only server: errors counted" ||
  fail "--h2 on an h1-only server: no error counted"

# ---- merge keeps the protocol
fb merge --json "$T/a.json" "$T/b.json"
check_rc 0 "merge of an h2 and an h2c run"
check_eq "$(jget responses_by_version.2):$(jget connections_opened):$(jget protocol)" "700:3:mixed" \
  "merge: versions and connections summed, h2 and h2c make mixed"
fb merge --json "$T/a.json" "$T/a.json"
check_eq "$(jget protocol)" "h2" "merge of two h2 runs: h2"

done_testing
