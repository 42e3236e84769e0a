#!/usr/bin/env bash
# Issue 23, groups 4, 10 and 11, beside curl 7.88 on the same commands (the
# fault server): -4/-6, --no-keepalive, --no-sessionid,
# --happy-eyeballs-timeout-ms; --stderr, --trace, --trace-ascii,
# --trace-time, -N, -#, --no-progress-meter; --url-query, -:/--next,
# --parallel-max, --parallel-immediate, --raw.
# TIMEOUT: 90
source "$(dirname "$0")/lib.sh"
start_fault_server
PORT=${FAULT##*:}

# ---- group 4
same_as_curl "-4" -s -4 "$FAULT/ok"
same_as_curl "-6 to an IPv4 address: 7" -s -6 "$FAULT/ok"
same_as_curl "-4 to an IPv6 address: 7" -s -4 "http://[::1]:$PORT/ok"
same_as_curl "-6 with a name that has only IPv4: 6" -s -6 --resolve "v4.test:$PORT:127.0.0.1" \
  "http://v4.test:$PORT/ok"
same_as_curl "-4 picks the IPv4 address of a dual name" -s -4 --resolve "dual.test:$PORT:::1,127.0.0.1" \
  "http://dual.test:$PORT/ok" -w ' %{remote_ip}'
same_as_curl "--ipv4 --no-ipv4" -s --ipv4 --no-ipv4 "$FAULT/ok"
same_as_curl "--no-keepalive" -s --no-keepalive "$FAULT/ok"
same_as_curl "--no-sessionid" -s --no-sessionid "$FAULT/ok"
same_as_curl "--happy-eyeballs-timeout-ms" -s --happy-eyeballs-timeout-ms 50 "$FAULT/ok"
same_as_curl "--happy-eyeballs-timeout-ms x: 2" -s --happy-eyeballs-timeout-ms x "$FAULT/ok"

# ---- group 10
flurry -sS --stderr "$T/f.err" http://127.0.0.1:1/
curl_too -sS --stderr "$T/c.err" http://127.0.0.1:1/
check_eq "$RC" "$CRC" "--stderr: exit as curl's"
check_eq "$(wc -c <"$ERR")" "0" "--stderr: nothing on standard error"
check_contains "$T/f.err" "(7)" "--stderr FILE: the message is in the file"
same_as_curl "--stderr -: messages to stdout" -s --stderr - http://127.0.0.1:1/ -w '[%{exitcode}]'
flurry -sS --stderr - http://127.0.0.1:1/
curl_too -sS --stderr - http://127.0.0.1:1/
check_eq "$RC:$(grep -c '(7)' "$OUT")" "$CRC:$(grep -c '(7)' "$COUT")" "... the message on stdout, as curl's"
for tr in trace trace-ascii; do
  flurry -s --$tr "$T/f.$tr" "$FAULT/len?n=20" -o /dev/null
  curl_too -s --$tr "$T/c.$tr" "$FAULT/len?n=20" -o /dev/null
  check_eq "$RC" "$CRC" "--$tr: exit as curl's"
  for line in "=> Send header, " "<= Recv header, " "<= Recv data, 20 bytes (0x14)"; do
    check_contains "$T/f.$tr" "$line" "--$tr: '$line' as curl writes it"
    check_contains "$T/c.$tr" "$line" "... curl writes it too"
  done
done
check_contains "$T/f.trace" "0000: 61 62 63 64 65 66 67 68 69 6a 6b 6c 6d 6e 6f 70 abcdefghijklmnop" \
  "--trace: 16 bytes a line, hex and text, as curl"
check_contains "$T/c.trace" "0000: 61 62 63 64 65 66 67 68 69 6a 6b 6c 6d 6e 6f 70 abcdefghijklmnop" \
  "... curl's line"
check_contains "$T/f.trace-ascii" "0000: GET /len?n=20 HTTP/1.1" "--trace-ascii: the request line as text"
flurry -s --trace-ascii - --trace-time "$FAULT/ok"
grep -qE '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6} => Send header' "$OUT" &&
  pass "--trace-time: records start with the time" || fail "--trace-time: $(head -3 "$OUT")"
same_as_curl "-N" -s -N "$FAULT/len?n=5"
same_as_curl "-#" -s -# "$FAULT/len?n=5"
same_as_curl "--no-progress-meter" --no-progress-meter "$FAULT/len?n=5"
same_as_curl "--no-progress-meter keeps errors" --no-progress-meter http://127.0.0.1:1/
check_contains "$ERR" "(7)" "... the message is shown"

# ---- group 11
wire() { curl -q -s "$FAULT/_log?k=$1" | tr -d '\r' | head -1 | sed "s/$1/K/"; }
for tool in flurry curl; do
  if [[ $tool == flurry ]]; then run=flurry; else run=curl_too; fi
  $run -s -o /dev/null --url-query 'a=b c&d' --url-query '+x=y' --url-query '@'"$T/f.err" \
    "$FAULT/ok?k=q1$tool"
  $run -s -o /dev/null --url-query 'n=1' "$FAULT/ok?k=q2$tool#frag"
done
for tool in flurry curl; do
  if [[ $tool == flurry ]]; then run=flurry; else run=curl_too; fi
  $run -s -o /dev/null --path-as-is "$FAULT/a/../b/./x?k=p1$tool"
  $run -s -o /dev/null "$FAULT/a/../b/./x?k=p2$tool"
done
check_eq "$(wire p1flurry)" "$(wire p1curl)" "--path-as-is: the path curl sends"
check_eq "$(wire p1flurry)" "GET /a/../b/./x?k=K HTTP/1.1" "... with its dot segments"
check_eq "$(wire p2flurry)" "$(wire p2curl)" "without it: dot segments removed, as curl"
check_eq "$(wire q1flurry)" "$(wire q1curl)" "--url-query: the query curl sends"
check_eq "$(wire q2flurry)" "$(wire q2curl)" "--url-query before a fragment"
same_as_curl "-: with its own options" -s "$FAULT/len?n=2" -: -i "$FAULT/ok" --next -w '[%{http_code}]' \
  "$FAULT/len?n=3"
same_as_curl "-: exit code: the last set's" -s http://127.0.0.1:1/ --next "$FAULT/ok"
same_as_curl "-: exit code: the last set's (failing)" -s "$FAULT/ok" --next http://127.0.0.1:1/
same_as_curl "-: -o per set" -s -o "$T/n1" "$FAULT/ok" -: "$FAULT/len?n=4"
check_eq "$(cat "$T/n1")" "ok" "... the first set's file"
# (curl -Z writes bodies as they finish; flurry in command-line order)
for opt in "--parallel-max 2" "--parallel-immediate"; do
  # shellcheck disable=SC2086
  flurry -s -Z $opt "$FAULT/len?n=[1-5]"
  # shellcheck disable=SC2086
  curl_too -s -Z $opt "$FAULT/len?n=[1-5]"
  check_eq "$RC:$(cat "$OUT")" "$CRC:aababcabcdabcde" "-Z $opt: five bodies, exit as curl's"
  check_eq "$(fold -w1 "$COUT" | sort | tr -d '\n')" "$(fold -w1 "$OUT" | sort | tr -d '\n')" \
    "... the bytes curl writes"
done
same_as_curl "--raw with --compressed: the zstd bytes as sent" -s --raw --compressed "$FAULT/zstd?n=100"

done_testing
