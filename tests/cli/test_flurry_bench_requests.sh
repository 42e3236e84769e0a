#!/usr/bin/env bash
# flurry-bench without a script: --method, --body, --body-file, repeated -H,
# --urls (round-robin over URLs of two origins), asserted on what
# canned-servers (started here, recording every request) received; --json's
# histogram and `flurry-bench merge` (counts add up, the merged percentiles
# are those of the summed buckets); -t 2 against one server.
# TIMEOUT: 120
set -uo pipefail
source "$(dirname "$0")/lib.sh"

bench=${FL_BENCH:?FL_BENCH is not set (bench/flurry_bench/CMakeLists.txt sets it)}
: "${FL_CANNED:?FL_CANNED is not set (bench/servers/CMakeLists.txt sets it)}"

fb() {
  RC=0
  "${FL_LAUNCH[@]}" "$bench" "$@" >"$OUT" 2>"$ERR" || RC=$?
}

rec() {
  python3 - "$T/$1.rec" "$2" <<'PY'
import collections, json, sys
r = [json.loads(line) for line in open(sys.argv[1])]
def h(req, name):
    return [v for n, v in req["headers"] if n.lower() == name.lower()]
exec(sys.argv[2])
PY
}

start_canned a
a=$PORT
start_canned b
b=$PORT

# ---- --method, --body, repeated -H
fb -t 1 -c 2 -n 10 --method PUT --body 'k=v&x=1' -H 'X-A: 1' -H 'X-A: 2' -H 'X-B:  spaced  ' \
  "http://127.0.0.1:$a/put?q=1"
check_rc 0 "--method PUT --body"
check_eq "$(rec a 'print(len(r), all(q["method"] == "PUT" and q["target"] == "/put?q=1" and q["body"] == "k=v&x=1"
  and h(q, "Content-Length") == ["7"] and h(q, "X-A") == ["1", "2"] and h(q, "X-B") == ["spaced"]
  and h(q, "User-Agent") == [] for q in r))')" "10 True" \
  "PUT with the body and its length, both X-A headers in order, X-B trimmed, no User-Agent of our own"
: >"$T/a.rec"
fb -t 1 -c 1 -n 3 --body 'abc' "http://127.0.0.1:$a/"
check_eq "$(rec a 'print([q["method"] for q in r])')" "['POST', 'POST', 'POST']" "--body without --method: POST"
: >"$T/a.rec"
fb -t 1 -c 1 -n 3 -X DELETE "http://127.0.0.1:$a/x"
check_eq "$(rec a 'print([(q["method"], h(q, "Content-Length")) for q in r][0])')" "('DELETE', [])" "-X DELETE, no body"

# ---- --body-file: every byte value, as the file holds it
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 3)' >"$T/body.bin"
: >"$T/a.rec"
fb -t 1 -c 1 -n 4 --body-file "$T/body.bin" -H 'Content-Type: application/octet-stream' "http://127.0.0.1:$a/upload"
check_rc 0 "--body-file"
check_eq "$(rec a '
want = open("'"$T/body.bin"'", "rb").read().decode("latin-1")
print(len(r), all(q["method"] == "POST" and q["body"] == want and h(q, "Content-Length") == ["768"] for q in r))')" \
  "4 True" "--body-file: 768 bytes, all 256 values, sent as they are"
fb -t 1 -c 1 -n 1 --body-file "$T/missing" "http://127.0.0.1:$a/"
check_rc 1 "--body-file of a missing file"

# ---- --urls: round-robin over two origins, in one pool per thread
{
  echo "# two origins, four URLs"
  echo "http://127.0.0.1:$a/one"
  echo
  echo "http://127.0.0.1:$b/two"
  echo "http://localhost:$a/three"
  echo "  http://127.0.0.1:$b/four?x=1  "
} >"$T/urls"
: >"$T/a.rec"
: >"$T/b.rec"
fb -t 2 -c 4 -n 80 -H 'X-Run: urls' --urls "$T/urls" --json
check_rc 0 "--urls"
check_eq "$(json_get "$OUT" requests)" 80 "--urls: 80 responses"
check_eq "$(json_get "$OUT" urls)" 4 "--json: 4 URLs"
check_eq "$(rec a 'print(sorted(collections.Counter((q["target"], h(q, "Host")[0], h(q, "X-Run")[0]) for q in r).items()))')" \
  "[(('/one', '127.0.0.1:$a', 'urls'), 20), (('/three', 'localhost:$a', 'urls'), 20)]" \
  "--urls: 20 each of /one and /three on the first origin (Host as in each URL)"
check_eq "$(rec b 'print(sorted(collections.Counter(q["target"] for q in r).items()))')" \
  "[('/four?x=1', 20), ('/two', 20)]" "--urls: 20 each of /two and /four on the second"
echo "# nothing" >"$T/empty"
fb -t 1 -c 1 -n 1 --urls "$T/empty"
check_rc 1 "--urls with no URL in the file"
fb -t 1 -c 1 -n 1 --urls "$T/urls" "http://127.0.0.1:$a/"
check_rc 1 "--urls and a URL"
echo "ftp://127.0.0.1/x" >"$T/bad-urls"
fb -t 1 -c 1 -n 1 --urls "$T/bad-urls"
check_rc 1 "--urls with a URL that is not http(s)"

# ---- -t 2: both threads work, the count is exact
: >"$T/a.rec"
fb -t 2 -c 4 -n 1000 --json "http://127.0.0.1:$a/t2"
check_rc 0 "-t 2"
check_eq "$(json_get "$OUT" requests) $(json_get "$OUT" threads) $(rec a 'print(len(r))')" "1000 2 1000" "-t 2 -n 1000: 1000 requests"

# ---- --json carries the histogram; merge adds runs up exactly
fb -t 1 -c 2 -n 300 --json "http://127.0.0.1:$a/m" && cp "$OUT" "$T/run1.json"
fb -t 2 -c 4 -n 500 --json "http://127.0.0.1:$b/m" && cp "$OUT" "$T/run2.json"
fb -t 1 -c 1 -n 50 --json "http://127.0.0.1:$a/m" && cp "$OUT" "$T/run3.json"
check_eq "$(python3 - "$T/run1.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
h = d["latency_us"]["histogram"]
print(h["count"] == d["requests"] == sum(c for lo, hi, c in h["buckets"]) == d["latency_us"]["samples"],
      all(lo <= hi for lo, hi, c in h["buckets"]), h["min"] == d["latency_us"]["min"])
PY
)" "True True True" "--json: the histogram's buckets add up to the request count"
fb merge --json "$T/run1.json" "$T/run2.json" "$T/run3.json"
check_rc 0 "merge --json"
cp "$OUT" "$T/merged.json"
check_eq "$(python3 - "$T/run1.json" "$T/run2.json" "$T/run3.json" "$T/merged.json" <<'PY'
import collections, json, sys
runs = [json.load(open(p)) for p in sys.argv[1:4]]
m = json.load(open(sys.argv[4]))
buckets = collections.Counter()
for d in runs:
    for lo, hi, c in d["latency_us"]["histogram"]["buckets"]:
        buckets[(lo, hi)] += c
n = sum(buckets.values())
lo_all = min(d["latency_us"]["min"] for d in runs)
hi_all = max(d["latency_us"]["max"] for d in runs)
def pct(p):  # rank ceil(p/100 n) over the summed buckets, the bucket's top within [min, max]
    rank = max(1, -(-round(p * 1000) * n // 100000))
    seen = 0
    for (lo, hi) in sorted(buckets):
        seen += buckets[(lo, hi)]
        if seen >= rank:
            return min(max(hi, lo_all), hi_all)
checks = [
    m["requests"] == sum(d["requests"] for d in runs) == 850,
    m["instances"] == 3,
    m["threads"] == 4 and m["connections"] == 7,
    m["errors"]["total"] == 0,
    sorted((lo, hi, c) for lo, hi, c in m["latency_us"]["histogram"]["buckets"])
        == sorted((lo, hi, c) for (lo, hi), c in buckets.items()),
    all(m["latency_us"][k] == pct(p) for k, p in
        [("p50", 50), ("p75", 75), ("p90", 90), ("p99", 99), ("p99_9", 99.9), ("p99_99", 99.99)]),
    m["latency_us"]["min"] == lo_all and m["latency_us"]["max"] == hi_all,
    abs(m["runtime_s"] - max(d["runtime_s"] for d in runs)) < 1e-6,
]
print(checks)
PY
)" "[True, True, True, True, True, True, True, True]" \
  "merge: counts summed, buckets summed, percentiles those of the summed histogram"
fb merge "$T/run1.json" "$T/run2.json"
check_rc 0 "merge (text)"
check_contains "$OUT" "Merged 2 runs @ (several URLs)" "merge: first line"
check_contains "$OUT" "  Latency Distribution" "merge: the percentile table"
check_contains "$OUT" "  800 requests in " "merge: 800 requests"
fb merge "$T/run1.json" "$T/urls"
check_rc 1 "merge of something that is not a report"
fb merge
check_rc 1 "merge without reports"

stop_servers
done_testing
