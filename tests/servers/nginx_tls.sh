# nginx_tls fixture (sourced by start): nginx with TLS on loopback, with a
# test CA made by the openssl CLI at every start. Same locations as the
# plain nginx fixture (/hello, /get, /files/..., see nginx.sh), one worker,
# keep-alive 60 s. Each server block has its own free port and listens on
# 127.0.0.1 (and [::1] when the kernel has it):
#
#   port file (RUNDIR/...)        certificate / behaviour
#   nginx_tls.port                good: CN localhost, SAN DNS:localhost,
#                                 IP:127.0.0.1, IP:::1; RSA 2048; TLS 1.2+1.3
#   nginx_tls.expired.port        same names, valid 2020-01-01..2020-02-01
#   nginx_tls.wronghost.port      SAN DNS:wrong.example only
#   nginx_tls.selfsigned.port     self-signed, names as the good one
#   nginx_tls.unknownca.port      signed by a second CA nobody trusts
#   nginx_tls.tls10.port          good certificate, but only TLS 1.0
#                                 (ssl_ciphers DEFAULT:@SECLEVEL=0)
#   nginx_tls.tls12.port          good certificate, only TLS 1.2 (sessions
#                                 resumed by ticket or id, not 1.3 tickets)
#   nginx_tls.tls13.port          good certificate, only TLS 1.3
#   nginx_tls.noresume.port       good certificate, no session cache and no
#                                 tickets: every handshake is a full one
#   nginx_tls.clientcert.port     good certificate; ssl_verify_client on with
#                                 the test CA: without a client certificate
#                                 nginx answers 400 ("No required SSL
#                                 certificate was sent")
#
# Files in RUNDIR/nginx_tls/: ca.pem (the CA to trust), client.pem and
# client.key (a client certificate signed by the CA), the other keys and
# certificates, nginx.conf, error.log, access.log (only with
# FL_NGINX_ACCESS_LOG=1), nginx_tls.files/ (static files), nginx_tls.tmp/.
# TLS session tickets and the shared session cache are on (resumption).

# shellcheck source=nginx.sh
source "$fl_here/nginx.sh" # FL_PORT_FLAGS, fl_nginx_locations, fl_nginx_files

FL_TLS_VARIANTS="expired wronghost selfsigned unknownca tls10 tls12 noresume clientcert tls13"

fl_tls_openssl_cnf() {
  local d=$1
  cat <<CNF
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ ca_ext ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ server_ext ]
basicConstraints = CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = \${ENV::FL_SAN}
[ client_ext ]
basicConstraints = CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = $d
database = $d/ca.index
new_certs_dir = $d/ca.newcerts
serial = $d/ca.serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[ any ]
commonName = supplied
CNF
}

# fl_tls_certs DIR: a CA, leaf certificates and a client certificate.
fl_tls_certs() {
  local d=$1 good_san="DNS:localhost,IP:127.0.0.1,IP:::1"
  local ossl=(openssl)
  rm -rf "$d/ca.newcerts" "$d/ca.index" "$d/ca.serial"
  mkdir -p "$d/ca.newcerts"
  : >"$d/ca.index"
  echo 1000 >"$d/ca.serial"
  fl_tls_openssl_cnf "$d" >"$d/openssl.cnf"
  export OPENSSL_CONF=$d/openssl.cnf FL_SAN=$good_san
  ec() { "${ossl[@]}" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
  # CAs: the trusted one and an unknown one
  ec "$d/ca.key"
  "${ossl[@]}" req -x509 -new -key "$d/ca.key" -subj "/CN=flurry test CA" -days 30 \
    -config "$d/openssl.cnf" -extensions ca_ext -out "$d/ca.pem"
  ec "$d/other_ca.key"
  "${ossl[@]}" req -x509 -new -key "$d/other_ca.key" -subj "/CN=flurry unknown CA" -days 30 \
    -config "$d/openssl.cnf" -extensions ca_ext -out "$d/other_ca.pem"
  # good: RSA 2048 like most real servers (the handshake cost is realistic)
  "${ossl[@]}" genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/good.key" 2>/dev/null
  sign() { # sign NAME CN SAN CA [extra x509 args]
    local name=$1 cn=$2 san=$3 ca=$4
    shift 4
    [[ -e $d/$name.key ]] || ec "$d/$name.key"
    FL_SAN=$san "${ossl[@]}" req -new -key "$d/$name.key" -subj "/CN=$cn" \
      -config "$d/openssl.cnf" -out "$d/$name.csr"
    FL_SAN=$san "${ossl[@]}" x509 -req -in "$d/$name.csr" -CA "$d/$ca.pem" -CAkey "$d/$ca.key" \
      -CAcreateserial -days 30 -extfile "$d/openssl.cnf" "$@" -out "$d/$name.pem" 2>/dev/null
  }
  sign good localhost "$good_san" ca -extensions server_ext
  sign wronghost wrong.example "DNS:wrong.example" ca -extensions server_ext
  sign unknownca localhost "$good_san" other_ca -extensions server_ext
  sign client "flurry test client" "DNS:client.invalid" ca -extensions client_ext
  # expired: `openssl ca` can set dates in the past
  ec "$d/expired.key"
  "${ossl[@]}" req -new -key "$d/expired.key" -subj "/CN=localhost" -config "$d/openssl.cnf" \
    -out "$d/expired.csr"
  "${ossl[@]}" ca -batch -config "$d/openssl.cnf" -cert "$d/ca.pem" -keyfile "$d/ca.key" \
    -startdate 20200101000000Z -enddate 20200201000000Z -extfile "$d/openssl.cnf" \
    -extensions server_ext -notext -in "$d/expired.csr" -out "$d/expired.pem" 2>/dev/null
  # self-signed
  ec "$d/selfsigned.key"
  "${ossl[@]}" req -x509 -new -key "$d/selfsigned.key" -subj "/CN=localhost" -days 30 \
    -config "$d/openssl.cnf" -extensions server_ext -out "$d/selfsigned.pem"
  unset OPENSSL_CONF FL_SAN
  local f
  for f in ca good wronghost unknownca client expired selfsigned; do
    [[ -s $d/$f.pem ]] || fl_die "nginx_tls: could not make $d/$f.pem"
  done
}

# fl_tls_server PORT IPV6 CERT KEY EXTRA...: one server block.
fl_tls_server() {
  local port=$1 ipv6=$2 cert=$3 key=$4
  shift 4
  echo "  server {"
  echo "    listen 127.0.0.1:$port ssl;"
  if ((ipv6)); then echo "    listen [::1]:$port ssl;"; fi
  echo "    server_name _;"
  echo "    ssl_certificate $cert;"
  echo "    ssl_certificate_key $key;"
  local line
  for line in "$@"; do echo "    $line"; done
  fl_nginx_locations "$rd"
  echo "  }"
}

fl_tls_conf() {
  local ipv6=$1 good=$2 access_log=off
  if [[ ${FL_NGINX_ACCESS_LOG:-0} == 1 ]]; then access_log="$rd/access.log"; fi
  echo "# generated by tests/servers/nginx_tls.sh"
  if ((EUID == 0)); then echo "user root;"; fi
  fl_nginx_main "$rd/nginx.pidfile" "$rd/error.log" "$rd/$name.tmp" "$access_log"
  cat <<CONF
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_cache shared:fl_tls:10m;
  ssl_session_timeout 1h;
  ssl_session_tickets on;
CONF
  fl_tls_server "$good" "$ipv6" "$rd/good.pem" "$rd/good.key"
  fl_tls_server "${FL_TLS_PORTS[expired]}" "$ipv6" "$rd/expired.pem" "$rd/expired.key"
  fl_tls_server "${FL_TLS_PORTS[wronghost]}" "$ipv6" "$rd/wronghost.pem" "$rd/wronghost.key"
  fl_tls_server "${FL_TLS_PORTS[selfsigned]}" "$ipv6" "$rd/selfsigned.pem" "$rd/selfsigned.key"
  fl_tls_server "${FL_TLS_PORTS[unknownca]}" "$ipv6" "$rd/unknownca.pem" "$rd/unknownca.key"
  fl_tls_server "${FL_TLS_PORTS[tls10]}" "$ipv6" "$rd/good.pem" "$rd/good.key" \
    "ssl_protocols TLSv1;" "ssl_ciphers DEFAULT:@SECLEVEL=0;"
  fl_tls_server "${FL_TLS_PORTS[tls12]}" "$ipv6" "$rd/good.pem" "$rd/good.key" \
    "ssl_protocols TLSv1.2;"
  fl_tls_server "${FL_TLS_PORTS[tls13]}" "$ipv6" "$rd/good.pem" "$rd/good.key" \
    "ssl_protocols TLSv1.3;"
  fl_tls_server "${FL_TLS_PORTS[noresume]}" "$ipv6" "$rd/good.pem" "$rd/good.key" \
    "ssl_session_cache off;" "ssl_session_tickets off;"
  fl_tls_server "${FL_TLS_PORTS[clientcert]}" "$ipv6" "$rd/good.pem" "$rd/good.key" \
    "ssl_verify_client on;" "ssl_client_certificate $rd/ca.pem;"
  echo "}"
}

fl_server_launch() {
  local port=$1 ipv6=0 nginx=/usr/sbin/nginx v p
  local rd=$rundir/nginx_tls
  [[ -x $nginx ]] || nginx=$(command -v nginx) || fl_die "nginx: not installed (run scripts/bootstrap)"
  command -v openssl >/dev/null || fl_die "nginx_tls: openssl CLI not installed (run scripts/bootstrap)"
  if fl_have_ipv6; then ipv6=1; fi
  mkdir -p "$rd"
  # Fresh certificates at every start; retries with other ports keep them.
  if [[ -z ${FL_TLS_CERTS_MADE:-} ]]; then
    fl_tls_certs "$rd"
    FL_TLS_CERTS_MADE=1
  fi
  fl_nginx_files "$rd" # -> $rd/nginx_tls.files, .tmp (the locations use them)
  declare -gA FL_TLS_PORTS=()
  for v in $FL_TLS_VARIANTS; do
    p=$(fl_free_port $FL_PORT_FLAGS)
    while [[ $p == "$port" || " ${FL_TLS_PORTS[*]} " == *" $p "* ]]; do p=$(fl_free_port $FL_PORT_FLAGS); done
    FL_TLS_PORTS[$v]=$p
  done
  fl_tls_conf "$ipv6" "$port" >"$rd/nginx.conf"
  "$nginx" -t -q -p "$rd/" -e "$rd/error.log" -c "$rd/nginx.conf" ||
    fl_die "nginx_tls: bad generated config $rd/nginx.conf"
  for v in $FL_TLS_VARIANTS; do
    echo "${FL_TLS_PORTS[$v]}" >"$rundir/nginx_tls.$v.port"
  done
  fl_launch nginx_tls "$rundir" "$nginx" -p "$rd/" -e "$rd/error.log" -c "$rd/nginx.conf"
}

fl_server_probe() {
  local ca=$rundir/nginx_tls/ca.pem
  curl -sf -o /dev/null --max-time 2 --cacert "$ca" "https://localhost:$1/hello" || return 1
  if fl_have_ipv6; then curl -sf -o /dev/null --max-time 2 --cacert "$ca" "https://[::1]:$1/hello"; fi
}
