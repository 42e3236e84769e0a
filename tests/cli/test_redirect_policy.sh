#!/usr/bin/env bash
# The redirect policy beside curl 7.88 (issue 23, group 9): --post301,
# --post302, --post303 (httpbin's /redirect-to then /anything, which echoes
# the method and body), --location-trusted (credentials to another port),
# --proto and --proto-redir (exit 1, on the URL and on a redirect).
# FIXTURES: httpbin nginx
# TIMEOUT: 90
source "$(dirname "$0")/lib.sh"
HB=$(server_url httpbin)
HB_PORT=${HB##*:}
NG=$(server_url nginx)
start_fault_server

# ---- POST after 301, 302, 303: GET by default; --post30x keeps it
for code in 301 302 303; do
  url="$HB/redirect-to?url=/anything&status_code=$code"
  same_as_curl "-d -L $code" -s -L -d a=1 "$url"
  check_eq "$(json_get "$OUT" method)" GET "-d -L $code: GET"
  same_as_curl "-d -L --post$code" -s -L -d a=1 --post$code "$url"
  check_eq "$(json_get "$OUT" method):$(json_get "$OUT" form.a)" POST:1 "--post$code: POST with its body"
done
same_as_curl "--post301 on a 302: GET" -s -L -d a=1 --post301 "$HB/redirect-to?url=/anything&status_code=302"
same_as_curl "--post301 --post302 --post303 on a 303" -s -L -d a=1 --post301 --post302 --post303 \
  "$HB/redirect-to?url=/anything&status_code=303"
same_as_curl "PUT after a 303: GET" -s -L -T /dev/null "$HB/redirect-to?url=/anything&status_code=303" \
  -o /dev/null -w '%{http_code} %{method}'
same_as_curl "307 keeps POST anyway" -s -L -d a=1 "$HB/redirect-to?url=/anything&status_code=307"

# ---- --location-trusted: credentials go to the other port too
redir="$FAULT/redirect-port?to=$HB_PORT&path=/headers"
same_as_curl "-L -u to another port: not sent" -s -L -u user:pw "$redir"
check_not_contains "$OUT" "Authorization" "-L: no credentials to another port"
same_as_curl "--location-trusted -u: sent" -s --location-trusted -u user:pw "$redir"
check_contains "$OUT" "Basic dXNlcjpwdw==" "--location-trusted: the credentials arrive"
same_as_curl "--location-trusted --oauth2-bearer" -s --location-trusted --oauth2-bearer t0k "$redir"
check_contains "$OUT" "Bearer t0k" "--location-trusted: the bearer token arrives"
same_as_curl "-L --oauth2-bearer: not sent" -s -L --oauth2-bearer t0k "$redir"
check_not_contains "$OUT" "Bearer" "-L: no bearer token to another port"

# ---- --proto, --proto-redir: exit 1 for a protocol not allowed
same_as_curl "--proto =https on an http URL" -s --proto =https "$NG/hello"
same_as_curl "--proto -http on an http URL" -s --proto -http "$NG/hello"
same_as_curl "--proto =http,https" -s --proto =http,https "$NG/hello"
same_as_curl "--proto -all,+http" -s --proto -all,+http "$NG/hello"
same_as_curl "--proto with an unknown name (warned)" -s --proto =http,gopherx "$NG/hello"
same_as_curl "--proto =" -s --proto = "$NG/hello"
same_as_curl "--proto-redir =https, http redirect" -s -L --proto-redir =https "$NG/redirect"
same_as_curl "--proto-redir =http, http redirect" -s -L --proto-redir =http "$NG/redirect"
same_as_curl "--proto-redir -all" -s -L --proto-redir -all "$NG/redirect"
same_as_curl "--proto-redir without -L: no redirect" -s --proto-redir -all "$NG/redirect" -w '%{http_code}'
same_as_curl "--proto =http, redirect to https" -s -L --proto =http \
  "$HB/redirect-to?url=https://127.0.0.1:1/x&status_code=302"
same_as_curl "--proto-redir =https, redirect to https (refused port: 7)" -s -L --proto-redir =https \
  "$HB/redirect-to?url=https://127.0.0.1:1/x&status_code=302"

done_testing
