#!/usr/bin/env bash
# --raw beside curl 7.88 on the same commands (the fault server), compared
# byte for byte (cmp, no normalizing): a chunked body with chunk
# extensions and trailers comes out as the server sent it (chunk-size
# lines, the last chunk and the trailer section in the body; no trailers
# after it with -i or in -D), whole or cut into pieces of 1, 3 and 7 bytes;
# two raw responses on one kept-alive connection; gzip and zstd bodies not
# decoded with --compressed; size_download as curl counts it.
# TIMEOUT: 90
source "$(dirname "$0")/lib.sh"
start_fault_server

# same_bytes WHAT ARGS...: exit code, stdout and the files f.* / c.* (any
# -o "{tool}.body" argument) identical to curl's
same_bytes() {
  local what=$1
  shift
  flurry "${@//\{tool\}/f}"
  curl_too "${@//\{tool\}/c}"
  check_eq "$RC" "$CRC" "$what: exit as curl's"
  if cmp -s "$OUT" "$COUT"; then pass "$what: stdout byte for byte curl's"; else
    fail "$what: stdout differs from curl's: $(cmp "$COUT" "$OUT" 2>&1)
      curl: $(od -c "$COUT" | head -8)
    flurry: $(od -c "$OUT" | head -8)"
  fi
}

hd='HTTP/1.1%20200%20OK%0D%0ATransfer-Encoding:%20chunked%0D%0A%0D%0A'
# chunk extensions (on a data chunk and on the last one), an upper-case
# size, two trailer fields
body='2;ext=1%0D%0Aok%0D%0A1A;n%0D%0Aabcdefghijklmnopqrstuvwxyz%0D%0A0;last=y%0D%0AX-Trailer:%20late%0D%0AX-Two:%20b%0D%0A%0D%0A'
url="$FAULT/raw?b=$hd$body"

same_bytes "--raw: chunked, extensions, trailers" -s --raw "$url"
check_eq "$(head -c 9 "$OUT" | tr '\r\n' '~~')" "2;ext=1~~" "... the first chunk-size line, extension and all"
check_contains "$OUT" "X-Two: b" "... the trailer section in the body"
for split in 1 3 7; do
  same_bytes "--raw, the response in $split-byte pieces" -s --raw "$url&split=$split&ms=1"
done
same_bytes "--raw -i: head, then the raw body; no trailers after it" -s --raw -i "$url"
check_eq "$(grep -ac 'X-Two: b' "$OUT")" "1" "... the trailers once (in the body)"
same_bytes "--raw -D -: no trailers after the header block" -s --raw -D - -o "{tool}.body" "$url"
cmp -s f.body c.body && pass "--raw -o: the file is curl's" || fail "--raw -o: the file differs"
same_bytes "--raw -w size_download: the chunks' data, as curl" -s --raw -o /dev/null \
  -w '%{size_download} %{http_code}' "$url"
check_eq "$(cat "$OUT")" "28 200" "... 28 bytes of data"
same_bytes "without --raw: the decoded body" -s "$url"

# two raw responses on one connection: the second is parsed from where the
# first ended (serial, as curl)
kurl="$FAULT/raw?b=$hd${body}&end=keep"
same_bytes "--raw, two URLs on one kept-alive connection" -s --raw "$kurl" "$kurl"
check_eq "$(grep -ac '^0;last=y' "$OUT")" "2" "... both raw bodies whole"
flurry -s --raw --parallel-max 1 -o /dev/null -o /dev/null -w '%{num_connects}' "$kurl" "$kurl"
check_eq "$RC:$(cat "$OUT")" "0:10" "... the second on the first's connection"

# a malformed chunk still fails as curl does (56), raw or not
bad="$FAULT/raw?b=${hd}2%0D%0Aok%0D%0Azz%0D%0A%0D%0A"
flurry -s --raw "$bad"
curl_too -s --raw "$bad"
check_eq "$RC" "56" "--raw: a malformed chunk size is exit 56"
check_eq "$CRC" "56" "... as curl's"
# a body cut short
flurry -s --raw "$FAULT/raw?b=${hd}5%0D%0Aab"
check_eq "$RC" "18" "--raw: a chunked body cut short is exit 18"

# content codings: the bytes as sent
same_bytes "--raw --compressed: the gzip bytes" -s --raw --compressed "$FAULT/encodings?n=1"
check_eq "$(head -c 2 "$OUT" | od -An -tx1 | tr -d ' ')" "1f8b" "... a gzip member"
same_bytes "--raw --compressed -i: gzip, head and body" -s --raw --compressed -i "$FAULT/encodings?n=1"
same_bytes "--compressed without --raw: decoded" -s --compressed "$FAULT/encodings?n=1"
check_eq "$(cat "$OUT")" "layered" "... to the text"
same_bytes "--raw --compressed: zstd bytes" -s --raw --compressed "$FAULT/zstd?n=100"

done_testing
