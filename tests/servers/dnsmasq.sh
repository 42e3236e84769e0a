# dnsmasq fixture (sourced by start): an authoritative-only DNS server on
# 127.0.0.1:PORT, UDP and TCP. Tests point c-ares at it. Records:
#
#   a.test        A 127.0.0.1                          TTL 600
#   six.test      AAAA ::1 only (A query: NOERROR, no data)  TTL 0
#   dual.test     A 127.0.0.1 and AAAA ::1             TTL 0
#   ttl2.test     A 127.0.0.1                          TTL 2
#   many.test     A 127.0.0.1, 127.0.0.2, 127.0.0.3    TTL 600 (order rotates)
#   coalesce.test A 127.0.0.1                          TTL 600 (integ.dns counts
#                 its queries in the log: no other test may ask for it)
#   moving.test   A 127.0.0.1 from RUNDIR/dnsmasq.hosts (a hosts file: TTL 0)
#                 A test may change it at run time: rewrite that file (one
#                 "ADDRESS NAME" line per record, moving.test only) and send
#                 SIGHUP to the pid in RUNDIR/dnsmasq.pidfile; dnsmasq then
#                 clears its cache and reads the file again.
#   <other>.test  NXDOMAIN (e.g. nope.test)
#   fail.test and *.fail.test          SERVFAIL (UDP; forwarded to the helper
#                                      dns_upstream.py, which answers SERVFAIL;
#                                      over TCP dnsmasq just closes)
#   timeout.test and *.timeout.test    never answered (the helper drops them)
#   any name outside .test             REFUSED (no upstream servers)
#
# Every query is logged, one line "query[A] NAME from 127.0.0.1" each, to
# RUNDIR/dnsmasq.queries.log (tests may count queries there).
# Files: dnsmasq.pid, dnsmasq.upstream.pid, dnsmasq.log, dnsmasq.upstream.log,
# dnsmasq.queries.log.

FL_PORT_FLAGS="--udp"

fl_server_launch() {
  local port=$1 upstream i
  local dnsmasq=/usr/sbin/dnsmasq
  [[ -x $dnsmasq ]] || dnsmasq=$(command -v dnsmasq) ||
    fl_die "dnsmasq: not installed (run scripts/bootstrap)"
  rm -f "$rundir/dnsmasq.upstream.port"
  fl_launch dnsmasq.upstream "$rundir" "$FL_PYTHON" "$fl_here/dns_upstream.py" \
    --port-file "$rundir/dnsmasq.upstream.port"
  for ((i = 0; i < 100; i++)); do
    [[ -s $rundir/dnsmasq.upstream.port ]] && break
    sleep 0.1
  done
  upstream=$(cat "$rundir/dnsmasq.upstream.port" 2>/dev/null) ||
    { echo "dnsmasq: dns_upstream.py did not start" >&2; return 1; }
  : >"$rundir/dnsmasq.queries.log"
  echo "127.0.0.1 moving.test" >"$rundir/dnsmasq.hosts"
  fl_launch dnsmasq "$rundir" "$dnsmasq" --keep-in-foreground --conf-file=/dev/null \
    --no-resolv --no-hosts --no-poll --bind-interfaces --listen-address=127.0.0.1 \
    --port="$port" --user="$(id -un)" --group="$(id -gn)" \
    --pid-file="$rundir/dnsmasq.pidfile" \
    --log-queries --log-facility="$rundir/dnsmasq.queries.log" \
    --local=/test/ \
    --addn-hosts="$rundir/dnsmasq.hosts" \
    --host-record=a.test,127.0.0.1,600 \
    --host-record=coalesce.test,127.0.0.1,600 \
    --host-record=six.test,::1,0 \
    --host-record=dual.test,127.0.0.1,::1,0 \
    --host-record=ttl2.test,127.0.0.1,2 \
    --host-record=many.test,127.0.0.1,600 \
    --host-record=many.test,127.0.0.2,600 \
    --host-record=many.test,127.0.0.3,600 \
    --server="/fail.test/127.0.0.1#$upstream" \
    --server="/timeout.test/127.0.0.1#$upstream"
}

fl_server_probe() {
  local out
  fl_probe dns "$(cat "$rundir/dnsmasq.upstream.port")" fail.test >/dev/null || return 1
  out=$(fl_probe dns "$1" a.test A) && [[ $out == *"A 127.0.0.1 "* ]] || return 1
  out=$(fl_probe dns "$1" a.test A --tcp) && [[ $out == *"A 127.0.0.1 "* ]]
}
