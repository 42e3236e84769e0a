#!/usr/bin/env bash
# examples/otel_spans against the fault server: three requests (a plain
# GET, a 503 retried once, a redirect); every line is a JSON span, each
# request is one trace with one client span (its method's name, the HTTP
# attributes) and child spans (wait, dns, connect, tls) nested in it in
# time; the traceparent the server got on every attempt names that trace
# and span.
# LABELS: valgrind
source "$(dirname "$0")/lib.sh"

bin=$FL_TEST_BUILDDIR/examples/otel_spans
[[ -x $bin ]] || { echo "$bin not built" >&2; exit 1; }
start_fault_server
redirect="$FAULT/raw?k=otel3&end=keep&b=HTTP/1.1%20302%20Found%0D%0ALocation:%20/ok%3Fk%3Dotel3%0D%0AContent-Length:%200%0D%0A%0D%0A"
"${FL_LAUNCH[@]}" "$bin" "$FAULT/ok?k=otel1" "$FAULT/flaky?k=otel2&fail=1&code=503" "$redirect" >"$OUT" 2>"$ERR"
RC=$?
check_rc 0 "otel_spans exit status"
for k in otel1 otel2 otel3; do
  curl -s "$FAULT/_log?k=$k" >"$T/$k.log"
done

python3 - "$OUT" "$T" <<'PY' >"$T/check.out" 2>&1
import json, re, sys
lines = open(sys.argv[1]).read().splitlines()
spans = [json.loads(l) for l in lines]
assert spans, "no spans"
for s in spans:
    for k in ("traceId", "spanId", "parentSpanId", "name", "startTimeUnixNano", "endTimeUnixNano", "attributes"):
        assert k in s, (k, s)
    assert re.fullmatch(r"[0-9a-f]{32}", s["traceId"]), s
    assert re.fullmatch(r"[0-9a-f]{16}", s["spanId"]), s
    assert int(s["startTimeUnixNano"]) <= int(s["endTimeUnixNano"]), s
traces = {}
for s in spans:
    traces.setdefault(s["traceId"], []).append(s)
assert len(traces) == 3, len(traces)
def attrs(s):
    out = {}
    for a in s["attributes"]:
        v = a["value"]
        out[a["key"]] = next(iter(v.values()))
    return out
by_key = {}
for tid, ss in traces.items():
    roots = [s for s in ss if s["parentSpanId"] == ""]
    assert len(roots) == 1, ss
    root = roots[0]
    a = attrs(root)
    assert root["name"] == "GET" and root["kind"] == 3, root
    assert a["http.request.method"] == "GET", a
    assert a["http.response.status_code"] == "200", a
    assert a["network.protocol.version"] == "1.1", a
    assert a["server.address"] == "127.0.0.1", a
    kids = [s for s in ss if s is not root]
    assert kids, "no child spans"
    for c in kids:
        assert c["parentSpanId"] == root["spanId"], c
        assert c["name"] in ("wait", "dns", "connect", "tls"), c
        assert int(root["startTimeUnixNano"]) <= int(c["startTimeUnixNano"]), c
        assert int(c["endTimeUnixNano"]) <= int(root["endTimeUnixNano"]), c
    key = re.search(r"k=(otel\d)", a["url.full"]).group(1)
    by_key[key] = (root, kids, a)
assert sorted(by_key) == ["otel1", "otel2", "otel3"], by_key.keys()
for key, (root, kids, a) in by_key.items():
    log = open(f"{sys.argv[2]}/{key}.log").read()
    tp = re.findall(r"(?im)^traceparent: (\S+)", log)
    assert tp, f"{key}: no traceparent reached the server"
    assert all(t == f"00-{root['traceId']}-{root['spanId']}-01" for t in tp), (key, tp)
    if key == "otel2":  # the 503 and the retry: both attempts carry it
        assert len(tp) == 2, tp
        assert a.get("http.request.resend_count") == "1", a
        assert sum(1 for c in kids if c["name"] == "wait") == 2, kids
    if key == "otel1":
        assert len(tp) == 1, tp
        assert [c["name"] for c in kids][:3] == ["wait", "dns", "connect"], kids
print("ok", len(spans), "spans")
PY
check_eq "$?" 0 "spans parse and nest: $(tail -3 "$T/check.out")"
done_testing
