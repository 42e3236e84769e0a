# nghttpd fixture (sourced by start): nghttp2's own server (Debian package
# nghttp2-server), a second HTTP/2 implementation beside nginx. Two
# processes, each serving RUNDIR/nghttpd.files/ (the files of the nginx
# fixture: big.bin 1 MiB random, small.txt, empty.txt, page.html, plus
# 100k.bin random) with --echo-upload (a POST or PUT gets its body back):
#
#   port file (RUNDIR/...)   listens (127.0.0.1 only)
#   nghttpd.port             TLS, ALPN h2 only; certificate for localhost
#                            and 127.0.0.1 signed by a test CA made by the
#                            openssl CLI at every start
#   nghttpd.h2c.port         plain HTTP/2 by prior knowledge (h2c)
#
# nghttpd answers "GET /" (no index) and unknown files with 404. Its
# SETTINGS_MAX_CONCURRENT_STREAMS is 100.
# Files in RUNDIR/nghttpd/: ca.pem (the CA to trust), good.pem, good.key,
# and the other test certificates; logs in RUNDIR/nghttpd.log and
# RUNDIR/nghttpd.h2c.log.

# shellcheck source=nginx_tls.sh
source "$fl_here/nginx_tls.sh" # fl_tls_certs, fl_nginx_files
FL_PORT_FLAGS="" # nghttpd binds 127.0.0.1 only

fl_server_launch() {
  local port=$1 rd=$rundir/nghttpd nghttpd h2c
  nghttpd=$(command -v nghttpd) || fl_die "nghttpd: not installed (nghttp2-server; run scripts/bootstrap)"
  command -v openssl >/dev/null || fl_die "nghttpd: openssl CLI not installed (run scripts/bootstrap)"
  mkdir -p "$rd"
  if [[ -z ${FL_TLS_CERTS_MADE:-} ]]; then
    fl_tls_certs "$rd"
    FL_TLS_CERTS_MADE=1
  fi
  fl_nginx_files "$rundir" # -> RUNDIR/nghttpd.files
  head -c 102400 /dev/urandom >"$rundir/$name.files/100k.bin"
  h2c=$(fl_free_port)
  while [[ $h2c == "$port" ]]; do h2c=$(fl_free_port); done
  FL_NGHTTPD_H2C=$h2c
  echo "$h2c" >"$rundir/nghttpd.h2c.port"
  fl_launch nghttpd "$rundir" "$nghttpd" -a 127.0.0.1 -d "$rundir/$name.files" --echo-upload \
    "$port" "$rd/good.key" "$rd/good.pem"
  fl_launch nghttpd.h2c "$rundir" "$nghttpd" -a 127.0.0.1 -d "$rundir/$name.files" --echo-upload \
    --no-tls "$h2c"
}

fl_server_probe() {
  curl -sf -o /dev/null --max-time 2 --cacert "$rundir/nghttpd/ca.pem" \
    "https://localhost:$1/small.txt" || return 1
  curl -sf -o /dev/null --max-time 2 --http2-prior-knowledge \
    "http://127.0.0.1:$FL_NGHTTPD_H2C/small.txt"
}
