#!/usr/bin/env bash
# Issue 23, group 3: URL globbing beside curl 7.88 on the same commands
# (the fault server): ranges, zero-padded ranges, letters, steps, sets,
# "#N" in -o names, -g, bad globs (exit 3, curl's message), and a glob of
# 50 URLs fetched in one command.
# TIMEOUT: 90
source "$(dirname "$0")/lib.sh"
start_fault_server

same_as_curl "[1-3]" -s "$FAULT/len?n=[1-3]" -w ' %{url_effective}\n'
same_as_curl "[08-10] (zero-padded)" -s "$FAULT/len?n=[08-10]" -w ' %{url_effective}\n'
same_as_curl "[001-003]" -s "$FAULT/ok?x=[001-003]" -w '%{url_effective}\n'
same_as_curl "[a-c]" -s "$FAULT/ok?x=[a-c]" -w '%{url_effective}\n'
same_as_curl "[a-e:2]" -s "$FAULT/ok?x=[a-e:2]" -w '%{url_effective}\n'
same_as_curl "[0-20:10]" -s "$FAULT/ok?x=[0-20:10]" -w '%{url_effective}\n'
same_as_curl "{a,,b}" -s "$FAULT/ok?x={a,,b}" -w '%{url_effective}\n'
same_as_curl "two patterns: the last varies fastest" -s "$FAULT/ok?x=[1-2]{a,b}" \
  -w '%{url_effective}\n'
same_as_curl "escapes" -s "$FAULT/ok?x=\[x\]{a\,b,c}" -w '%{url_effective}\n'
same_as_curl "[] is literal" -s "$FAULT/ok?x=[]" -w '%{url_effective}\n'
same_as_curl "{ok,len?n=2} with -w %{urlnum}" -s "$FAULT/{ok,len?n=2}" -w ' %{urlnum}\n'
same_as_curl "an IPv6 literal is no glob" -s -o /dev/null "http://[::1]:1/x" -w '%{exitcode}\n'

# ---- "#N" in -o names
mkdir -p "$T/f" "$T/c"
flurry -s "$FAULT/len?n=[1-2]&x={a,b}" -o "$T/f/out_#1_#2_#3.txt"
curl_too -s "$FAULT/len?n=[1-2]&x={a,b}" -o "$T/c/out_#1_#2_#3.txt"
check_eq "$RC:$(cd "$T/f" && ls | tr '\n' ' ')" "$CRC:$(cd "$T/c" && ls | tr '\n' ' ')" \
  "#N in -o: the files curl writes"
check_eq "$(cat "$T/f/out_2_b_#3.txt")" "ab" "... each with its body"

# ---- -g: brackets and braces as they are
same_as_curl "-g" -s -g "$FAULT/ok?x=[1-3]{a}" -w '%{url_effective}\n'
same_as_curl "--globoff" -s --globoff "$FAULT/ok?x={a,b}" -w '%{url_effective}\n'

# ---- bad globs: exit 3, curl's message with the place
for bad in '[1-' '{a,b' '[a-5]' '[5-1]' '[1-3:0]' '{a{b}}' 'a}b' 'a]b' '[1-]' '{}' '[1-3:-1]' \
  '[1:2]' '[a-Z]'; do
  same_as_curl "bad glob $bad" -sS "http://127.0.0.1:1/$bad"
  check_eq "$(sed 's/^flurry: //' "$ERR")" "$(sed 's/^curl: //' "$CERR")" "bad glob $bad: curl's message"
done

# ---- one command, 50 URLs of a glob, fetched concurrently
flurry -s "$FAULT/len?n=[1-50]" -w '\n'
check_rc 0 "a glob of 50 URLs"
check_eq "$(wc -l <"$OUT")" "50" "... 50 bodies"
check_eq "$(sed -n 50p "$OUT" | wc -c)" "51" "... in command-line order (the last is 50 bytes)"

done_testing
