#!/usr/bin/env bash
# flurry: usage errors, --help/--version, --help vs the man page, and the
# exit codes that need no server (1, 2, 3, 4, 7, 26, and -s/-S).
# LABELS: valgrind
# TIMEOUT: 120
source "$(dirname "$0")/lib.sh"

# ---- help and version
flurry --help
check_rc 0 "--help"
check_contains "$OUT" "Usage: flurry" "--help prints usage"
flurry -h
check_rc 0 "-h"
flurry -V
check_rc 0 "-V"
check_contains "$OUT" "flurry 0." "-V names flurry"
check_contains "$OUT" "c-ares/" "-V lists the libraries"
check_contains "$OUT" "llhttp/" "-V lists llhttp"

# ---- --help and doc/flurry.1 list the same options
man=$FL_TEST_SRCDIR/../doc/flurry.1
flurry --help
help_opts=$(grep -oE '^ +(-[A-Za-z0-9#:], )?--[a-z][a-z0-9.-]*' "$OUT" | grep -oE -- '--[a-z0-9.-]+' | sort -u)
man_opts=$(awk 'prev == ".TP" { print } { prev = $1 }' "$man" | grep -oE '\\-\\-[a-z][a-z0-9.\\-]*' |
  sed 's/\\//g' | sort -u)
check_eq "$man_opts" "$help_opts" "options in --help == options in doc/flurry.1"
# and the short forms agree too
help_short=$(grep -oE '^ +-[A-Za-z0-9#:],' "$OUT" | tr -d ' ,' | sort -u)
man_short=$(awk 'prev == ".TP" { print } { prev = $1 }' "$man" | grep -oE '^\.B \\-[A-Za-z0-9#:],' |
  sed -E 's/^\.B \\(-[A-Za-z0-9#:]),/\1/' | sort -u)
check_eq "$man_short" "$help_short" "short options in --help == in doc/flurry.1"
count=$(echo "$help_opts" | wc -l)
((count >= 38)) && pass "--help lists $count options" || fail "--help lists only $count options"

# ---- HTTP versions (issue 20): known options, the last one wins; no server
# on port 1, so each gets as far as connecting (7)
check_contains "$help_short" "-0" "-0 (--http1.0) in --help and the man page"
for v in --http1.0 -0 --http1.1 --http2 --http2-prior-knowledge --no-http2; do
  flurry -s $v http://127.0.0.1:1/
  check_rc 7 "$v is known"
done
flurry -s --http2-prior-knowledge --http1.1 http://127.0.0.1:1/
check_rc 7 "two version options"
flurry -V
check_contains "$OUT" "HTTP2" "-V lists the HTTP2 feature"

# ---- bad usage: exit 2 (as curl)
flurry --no-such-option http://127.0.0.1:1/
check_rc 2 "unknown long option"
check_contains "$ERR" "option --no-such-option: is unknown" "unknown option message"
flurry -j http://127.0.0.1:1/
check_rc 2 "unknown short option"
flurry http://127.0.0.1:1/ -X
check_rc 2 "missing argument"
check_contains "$ERR" "requires parameter" "missing argument message"
flurry --max-time
check_rc 2 "missing argument (long)"
flurry
check_rc 2 "no URL"
check_contains "$ERR" "no URL specified" "no URL message"
flurry -m abc http://127.0.0.1:1/
check_rc 2 "-m abc"
flurry -m -1 http://127.0.0.1:1/
check_rc 2 "-m -1"
flurry --connect-timeout 1x http://127.0.0.1:1/
check_rc 2 "--connect-timeout 1x"
flurry --max-filesize lots http://127.0.0.1:1/
check_rc 2 "--max-filesize lots"
flurry --parallel-max 0 http://127.0.0.1:1/
check_rc 2 "--parallel-max 0"
flurry --max-redirs -2 http://127.0.0.1:1/
check_rc 2 "--max-redirs -2"
flurry --resolve nonsense http://127.0.0.1:1/
check_rc 2 "--resolve without port and address"
flurry -H novalue http://127.0.0.1:1/
check_rc 2 "-H without a colon"
flurry -F novalue http://127.0.0.1:1/
check_rc 2 "-F without ="
flurry -d x -F a=b http://127.0.0.1:1/
check_rc 2 "-d with -F"
flurry -I -d x http://127.0.0.1:1/
check_rc 2 "-I with -d"
flurry --no-max-time http://127.0.0.1:1/
check_rc 2 "--no- on an option with an argument"
# issue 23, groups 5-9: bad values are usage errors; --proto refuses the URL
for opt in "--limit-rate 1x" "-Y abc" "--speed-time -1" "--proto ="; do
  # shellcheck disable=SC2086
  flurry $opt http://127.0.0.1:1/
  check_rc 2 "$opt"
done
flurry --proto =https http://127.0.0.1:1/
check_rc 1 "--proto =https on an http URL"
flurry --etag-compare "$T/missing" http://127.0.0.1:1/
check_rc 26 "--etag-compare missing"
# -s does not hide usage errors
flurry -s --bogus http://127.0.0.1:1/
check_rc 2 "-s --bogus"
check_contains "$ERR" "is unknown" "usage errors shown under -s"

# ---- exit codes without a server
flurry ftp://127.0.0.1/x
check_rc 1 "ftp:// is unsupported"
check_contains "$ERR" "(1)" "message has the code"
flurry 'http://[::1'
check_rc 3 "malformed URL"
flurry 'http://'
check_rc 3 "URL without a host"
flurry http://127.0.0.1:1/
check_rc 7 "connection refused on port 1"
check_contains "$ERR" "flurry: (7)" "error message format"
flurry 127.0.0.1:1/no-scheme
check_rc 7 "scheme-less URL gets http://"
flurry -s http://127.0.0.1:1/
check_rc 7 "-s keeps the exit code"
check_eq "$(cat "$ERR")" "" "-s hides the error"
flurry -sS http://127.0.0.1:1/
check_rc 7 "-sS"
check_contains "$ERR" "(7)" "-S shows the error under -s"
flurry -s --no-silent http://127.0.0.1:1/
check_contains "$ERR" "(7)" "--no-silent turns -s off"

# URLs as arguments of --url, after --; -Z and --parallel are accepted
flurry --url http://127.0.0.1:1/
check_rc 7 "--url"
flurry -Z --parallel -- http://127.0.0.1:1/
check_rc 7 "-Z --parallel -- URL"
# what the library refuses to send: 43, before any connection
flurry -H $'X-Bad: a\r\nInjected: 1' http://127.0.0.1:1/
check_rc 43 "-H with CR LF inside"
flurry -X 'GE T' http://127.0.0.1:1/
check_rc 43 "-X with a space"

# read errors: a missing @FILE is 26 (before any connection is tried)
flurry -d @"$T/missing" http://127.0.0.1:1/
check_rc 26 "-d @missing"
flurry --data-binary @"$T/missing" http://127.0.0.1:1/
check_rc 26 "--data-binary @missing"
flurry -F "f=@$T/missing" http://127.0.0.1:1/
check_rc 26 "-F f=@missing"
flurry -F "f=<$T/missing" http://127.0.0.1:1/
check_rc 26 "-F f=<missing"
flurry --url-file "$T/missing"
check_rc 26 "--url-file missing"
flurry -w @"$T/missing" http://127.0.0.1:1/
check_rc 26 "-w @missing"
flurry --data-raw @"$T/missing" http://127.0.0.1:1/
check_rc 7 "--data-raw: @ is not special"

# options that rest on library features (redirects, decoding, TLS, proxy,
# cookie files) are accepted; here the transfer itself fails to connect
for opt in "-L" "--compressed" "-k" "--cacert $T/missing-ca.pem" "-x http://127.0.0.1:1" \
  "-b $T/missing-cookies.txt" "-c $T/jar.txt" "--max-redirs 3"; do
  # shellcheck disable=SC2086
  flurry $opt http://127.0.0.1:1/
  check_rc 7 "$opt is accepted; the connect fails"
done
flurry --cacert "$T/missing-ca.pem" https://127.0.0.1:1/
check_rc 77 "--cacert unreadable: https transfers fail with 77 (as curl)"

# the exit code is that of the first failing URL in command-line order
flurry ftp://127.0.0.1/x http://127.0.0.1:1/
check_rc 1 "first failing URL decides (1 before 7)"
flurry http://127.0.0.1:1/ ftp://127.0.0.1/x
check_rc 7 "first failing URL decides (7 before 1)"
check_contains "$ERR" "http://127.0.0.1:1/" "messages name the URL with several URLs"

done_testing
