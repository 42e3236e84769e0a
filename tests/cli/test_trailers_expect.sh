#!/usr/bin/env bash
# Beside curl 7.88 on the same commands: a chunked response's trailer
# fields with -i (after the body) and -D (after the header block);
# Expect: 100-continue only for a body above 1 MiB.
# TIMEOUT: 60
source "$(dirname "$0")/lib.sh"
start_fault_server

# ---- trailers
raw='HTTP/1.1%20200%20OK%0D%0ATransfer-Encoding:%20chunked%0D%0A%0D%0A2%0D%0Aok%0D%0A0%0D%0AX-Trailer:%20late%0D%0AX-Two:%20b%0D%0A%0D%0A'
same_as_curl "-i: trailers after the body" -s -i "$FAULT/raw?b=$raw"
check_contains "$OUT" "X-Two: b" "... both trailer fields"
same_as_curl "-D -: trailers after the header block" -s -D - "$FAULT/raw?b=$raw"
flurry -s -D "$T/f.hd" -o "$T/f.body" "$FAULT/raw?b=$raw"
curl_too -s -D "$T/c.hd" -o "$T/c.body" "$FAULT/raw?b=$raw"
cmp -s "$T/f.hd" "$T/c.hd" && pass "-D FILE: the same bytes as curl's" || fail "-D FILE differs: $(diff "$T/c.hd" "$T/f.hd")"
cmp -s "$T/f.body" "$T/c.body" && pass "-o FILE: the body alone, as curl's" || fail "-o FILE differs"
same_as_curl "without -i no trailers" -s "$FAULT/raw?b=$raw"
same_as_curl "-I: no body, no trailers" -s -I "$FAULT/raw?b=$raw"
same_as_curl "-i, no trailers: nothing added" -s -i "$FAULT/chunked"
same_as_curl "-i -f on a 4xx with trailers: exit 22" -s -i -f \
  "$FAULT/raw?b=${raw/200%20OK/404%20Not%20Found}"

# ---- Expect: 100-continue above 1 MiB only (curl's threshold)
head -c 1048576 /dev/zero >"$T/1m"
head -c 1048577 /dev/zero >"$T/1m1"
for f in 1m 1m1; do
  same_as_curl "--data-binary of $f" -s -o /dev/null -w '%{http_code}' --data-binary @"$T/$f" \
    "$FAULT/ok?k=$f{tool}"
  want=$(curl -q -s "$FAULT/_log?k=${f}curl" | grep -ac '^Expect: 100-continue')
  got=$(curl -q -s "$FAULT/_log?k=${f}flurry" | grep -ac '^Expect: 100-continue')
  check_eq "$got" "$want" "Expect: 100-continue for a body of $f, as curl"
done
check_eq "$(curl -q -s "$FAULT/_log?k=1mflurry" | grep -ac '^Expect:')" "0" "exactly 1 MiB: no Expect"
check_eq "$(curl -q -s "$FAULT/_log?k=1m1flurry" | grep -ac '^Expect:')" "1" "1 MiB + 1: Expect"

done_testing
