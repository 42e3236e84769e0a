# flurry's TLS version bounds (--tlsv1.2, --tlsv1.3, --tls-max), cipher
# lists (--ciphers, --tls13-ciphers) and --pinnedpubkey, each command run
# with curl too (7.88, the one installed): the exit codes must be the same.
# Servers: nginx_tls's good one (TLS 1.2 + 1.3), its TLS 1.2-only and TLS
# 1.3-only ones, the self-signed one; plain nginx for http.
# FIXTURES: nginx nginx_tls
# TIMEOUT: 120
source "$FL_TEST_SRCDIR/cli/lib.sh"

command -v curl >/dev/null || { echo "skipped: no curl to compare with"; exit 77; }
command -v openssl >/dev/null || { echo "skipped: no openssl CLI"; exit 77; }

CA=$FL_TEST_RUNDIR/nginx_tls/ca.pem
tls_port() { cat "$FL_TEST_RUNDIR/nginx_tls${1:+.$1}.port"; }
GOOD=https://localhost:$(tls_port)/hello
V12=https://localhost:$(tls_port tls12)/hello
V13=https://localhost:$(tls_port tls13)/hello
SELF=https://localhost:$(tls_port selfsigned)/hello
NG=$(server_url nginx)

# The pin as curl's documentation computes it.
pin_of() {
  openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | base64
}
PIN=$(pin_of "$FL_TEST_RUNDIR/nginx_tls/good.pem")
SELF_PIN=$(pin_of "$FL_TEST_RUNDIR/nginx_tls/selfsigned.pem")
[[ ${#PIN} == 44 ]] || { echo "could not compute the pin: '$PIN'"; exit 1; }
WRONG=${PIN/#?/A}
[[ $WRONG != "$PIN" ]] || WRONG=${PIN/#?/B}
openssl x509 -in "$FL_TEST_RUNDIR/nginx_tls/good.pem" -pubkey -noout >"$T/good.pub.pem"
openssl pkey -pubin -in "$T/good.pub.pem" -outform der -out "$T/good.pub.der"
openssl x509 -in "$FL_TEST_RUNDIR/nginx_tls/selfsigned.pem" -pubkey -noout >"$T/self.pub.pem"

# same WANT WHAT ARGS...: curl (curl_too, lib.sh) and flurry both exit WANT
# for ARGS.
same() {
  local want=$1 what=$2
  shift 2
  curl_too -s -S -o /dev/null "$@"
  flurry -s -S -o /dev/null "$@"
  if [[ $CRC != "$want" ]]; then
    fail "$what: curl exits $CRC here, the test expects $want (curl $*: $(head -c 300 "$CERR"))"
  elif [[ $RC != "$CRC" ]]; then
    fail "$what: flurry exits $RC, curl $CRC (flurry $*)"
  else
    pass "$what (both exit $RC)"
  fi
}

# ---- versions
same 0 "--tlsv1.2 on a 1.2-only server" --cacert "$CA" --tlsv1.2 "$V12"
same 35 "--tlsv1.3 on a 1.2-only server" --cacert "$CA" --tlsv1.3 "$V12"
check_contains "$ERR" "TLS handshake with localhost port" "... says it was the handshake"
same 0 "--tlsv1.3 on a 1.3-only server" --cacert "$CA" --tlsv1.3 "$V13"
same 35 "--tls-max 1.2 on a 1.3-only server" --cacert "$CA" --tls-max 1.2 "$V13"
check_contains "$ERR" "protocol version" "... with OpenSSL's reason"
same 0 "--tls-max 1.2 on a 1.2-only server" --cacert "$CA" --tls-max 1.2 "$V12"
same 0 "--tls-max 1.3 --tlsv1.2 on a 1.3-only server" --cacert "$CA" --tls-max 1.3 --tlsv1.2 "$V13"
same 0 "--tls-max default" --cacert "$CA" --tls-max default "$GOOD"
same 0 "--tlsv1.3 --tls-max 1.3" --cacert "$CA" --tlsv1.3 --tls-max 1.3 "$GOOD"
same 35 "--tlsv1.3 --tls-max 1.2: no version left" --cacert "$CA" --tlsv1.3 --tls-max 1.2 "$GOOD"
check_contains "$ERR" "the maximum version (TLS 1.2) is below the minimum (TLS 1.3)" "... and why"
same 35 "--tls-max 1.1" --cacert "$CA" --tls-max 1.1 "$GOOD"
same 35 "--tls-max 1.0" --cacert "$CA" --tls-max 1.0 "$GOOD"
same 2 "--tls-max 1.4 is bad usage" --cacert "$CA" --tls-max 1.4 "$GOOD"
check_contains "$ERR" "option --tls-max: is badly used here" "... curl's words"
same 2 "--tls-max without a value" --cacert "$CA" "$GOOD" --tls-max
same 2 "--no-tlsv1.2 is bad usage" --cacert "$CA" --no-tlsv1.2 "$GOOD"
same 0 "http ignores the TLS bounds" --tlsv1.3 --tls-max 1.2 "$NG/hello"

# ---- ciphers
same 0 "--ciphers with an RSA suite" --cacert "$CA" --ciphers ECDHE-RSA-AES128-GCM-SHA256 "$V12"
same 35 "--ciphers with only ECDSA suites (RSA key)" --cacert "$CA" \
  --ciphers ECDHE-ECDSA-AES128-GCM-SHA256 "$V12"
same 0 "--tls13-ciphers ChaCha20" --cacert "$CA" --tls13-ciphers TLS_CHACHA20_POLY1305_SHA256 "$V13"
same 35 "--tls13-ciphers CCM (nginx has none)" --cacert "$CA" --tls13-ciphers TLS_AES_128_CCM_SHA256 "$V13"
same 59 "--ciphers OpenSSL refuses" --cacert "$CA" --ciphers NO-SUCH-CIPHER "$GOOD"
check_contains "$ERR" "(59) failed setting cipher list: NO-SUCH-CIPHER" "... curl's message"
same 59 "--tls13-ciphers OpenSSL refuses" --cacert "$CA" --tls13-ciphers TLS_NO_SUCH "$GOOD"
check_contains "$ERR" "(59) failed setting TLS 1.3 cipher suite: TLS_NO_SUCH" "... curl's message"
same 59 "--ciphers ''" --cacert "$CA" --ciphers "" "$GOOD"
same 35 "--tls13-ciphers '' (no TLS 1.3 suite, no cipher at all)" --cacert "$CA" --tls13-ciphers "" "$GOOD"
same 59 "a refused list comes before an unreadable --cacert" --cacert "$T/missing.pem" \
  --ciphers NO-SUCH-CIPHER "$GOOD"
same 0 "a refused list does not stop http" --ciphers NO-SUCH-CIPHER "$NG/hello"
# one run, both kinds: the http URL works, the https one exits 59
flurry --ciphers NO-SUCH-CIPHER "$GOOD" "$NG/hello"
check_rc 59 "https and http with a refused list"
check_contains "$OUT" "Hello, World!" "... the http body is there"

# ---- --pinnedpubkey
same 0 "the right pin" --cacert "$CA" --pinnedpubkey "sha256//$PIN" "$GOOD"
same 0 "the right pin on 1.2 and 1.3 servers" --cacert "$CA" --pinnedpubkey "sha256//$PIN" \
  "$V12" -o /dev/null "$V13"
same 0 "the right pin among others" --cacert "$CA" \
  --pinnedpubkey "sha256//$WRONG;sha256//$PIN" "$GOOD"
same 90 "a wrong pin" --cacert "$CA" --pinnedpubkey "sha256//$WRONG" "$GOOD"
check_contains "$ERR" "(90) public key of localhost port" "... message"
check_contains "$ERR" "(sha256//$PIN) does not match the pinned key" "... naming the server's key"
same 90 "a wrong pin with -k" -k --pinnedpubkey "sha256//$WRONG" "$GOOD"
same 90 "a malformed pin" --cacert "$CA" --pinnedpubkey "sha256//garbage" "$GOOD"
same 90 "an empty pin" --cacert "$CA" --pinnedpubkey "" "$GOOD"
same 0 "a PEM public key file" --cacert "$CA" --pinnedpubkey "$T/good.pub.pem" "$GOOD"
same 0 "a DER public key file" --cacert "$CA" --pinnedpubkey "$T/good.pub.der" "$GOOD"
same 90 "another key's file" --cacert "$CA" --pinnedpubkey "$T/self.pub.pem" "$GOOD"
same 90 "a missing key file" --cacert "$CA" --pinnedpubkey "$T/missing.pem" "$GOOD"
check_contains "$ERR" "cannot read the pinned key file" "... says so"
same 60 "verification fails before the pin is looked at" --cacert "$CA" \
  --pinnedpubkey "sha256//$SELF_PIN" "$SELF"
same 0 "-k and the self-signed server's own pin" -k --pinnedpubkey "sha256//$SELF_PIN" "$SELF"
same 0 "http ignores the pin" --pinnedpubkey "sha256//$WRONG" "$NG/hello"

done_testing
