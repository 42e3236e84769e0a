#!/usr/bin/env bash
# Authentication schemes beside curl 7.88 (issue 23, group 7): --basic,
# --anyauth (Basic or Digest, whichever the 401 asks for), --oauth2-bearer;
# what goes on the wire is checked on the fault server's /echo.
# FIXTURES: httpbin
# TIMEOUT: 90
source "$(dirname "$0")/lib.sh"
HB=$(server_url httpbin)
start_fault_server

# ---- --anyauth: the scheme the challenge names
same_as_curl "--anyauth, Basic challenge" -s --anyauth -u user:passwd "$HB/basic-auth/user/passwd"
check_contains "$OUT" '"authenticated":true' "--anyauth answered Basic"
for algo in MD5 SHA-256; do
  same_as_curl "--anyauth, Digest $algo challenge" -s --anyauth -u user:passwd \
    "$HB/digest-auth/auth/user/passwd/$algo"
  check_contains "$OUT" '"authenticated":true' "--anyauth answered Digest $algo"
done
same_as_curl "--anyauth, wrong password (401 is the result)" -s --anyauth -u user:wrong \
  -w '%{http_code}' "$HB/digest-auth/auth/user/passwd/MD5"
same_as_curl "--anyauth -f, wrong password: 22" -s -f --anyauth -u user:wrong \
  "$HB/basic-auth/user/passwd"
same_as_curl "--anyauth without a challenge: one request" -s --anyauth -u user:passwd \
  -w '%{http_code}' "$HB/get?x=1"
check_not_contains "$OUT" '"Authorization"' "--anyauth: no credentials without a challenge"
same_as_curl "--anyauth, credentials in the URL" -s --anyauth \
  "http://user:passwd@${HB#http://}/digest-auth/auth/user/passwd/MD5"
# the first request goes without credentials: the server sees them only
# once it asked (its log of the key's requests)
flurry -s --anyauth -u user:passwd "$FAULT/echo?k=any"
check_not_contains "$OUT" "Authorization" "--anyauth: nothing up front"

# ---- --basic, --digest, --anyauth add schemes (curl's bits): with both
# Basic and Digest allowed, the 401 decides; --no-X takes one away
same_as_curl "--digest --basic on a Basic server" -s --digest --basic -u user:passwd \
  "$HB/basic-auth/user/passwd"
same_as_curl "--basic --digest on a Digest server" -s --basic --digest -u user:passwd \
  "$HB/digest-auth/auth/user/passwd/MD5"
same_as_curl "--anyauth --basic on a Digest server" -s --anyauth --basic -u user:passwd \
  -w '%{http_code}' -o /dev/null "$HB/digest-auth/auth/user/passwd/MD5"
flurry -s --digest --no-digest -u user:passwd "$FAULT/echo"
curl_too -s --digest --no-digest -u user:passwd "$FAULT/echo"
check_eq "$(grep -c '^Authorization: Basic dXNlcjpwYXNzd2Q=' "$OUT")" \
  "$(grep -c '^Authorization: Basic dXNlcjpwYXNzd2Q=' "$COUT")" "--digest --no-digest: Basic up front, as curl"
same_as_curl "--anyauth --no-basic: Digest" -s --anyauth --no-basic -u user:passwd \
  -w '%{http_code}' -o /dev/null "$HB/digest-auth/auth/user/passwd/MD5"
same_as_curl "--digest --basic: nothing up front" -s --digest --basic -u user:passwd "$FAULT/echo"
same_as_curl "--basic" -s --basic -u user:passwd "$HB/basic-auth/user/passwd"

# ---- --oauth2-bearer
same_as_curl "--oauth2-bearer" -s --oauth2-bearer tok3n "$HB/bearer"
check_contains "$OUT" '"token":"tok3n"' "--oauth2-bearer: the token arrives"
same_as_curl "no bearer: 401" -s -w '%{http_code}' -o /dev/null "$HB/bearer"
flurry -s --oauth2-bearer tok3n "$FAULT/echo"
curl_too -s --oauth2-bearer tok3n "$FAULT/echo"
check_eq "$(grep -i '^Authorization' "$OUT")" "$(grep -i '^Authorization' "$COUT")" \
  "--oauth2-bearer: the same header line as curl's"
same_as_curl "-H Authorization wins over --oauth2-bearer" -s --oauth2-bearer tok3n \
  -H 'Authorization: Bearer other' "$HB/bearer"

done_testing
