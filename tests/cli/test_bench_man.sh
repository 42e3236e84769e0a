#!/usr/bin/env bash
# flurry-bench: its --help and doc/flurry-bench.1 list the same options (long
# and short forms), and every option of the man page is one the command
# accepts. The same check as tests/cli/test_usage.sh makes for flurry(1).
# No server: nothing here sends a request.
# TIMEOUT: 120
set -euo pipefail

bench=${FL_BENCH:?FL_BENCH is not set (bench/flurry_bench/CMakeLists.txt sets it)}
read -r -a launcher <<<"${FL_TEST_LAUNCHER:-}"
man=${FL_TEST_SRCDIR:?}/../doc/flurry-bench.1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
same() { # GOT WANT WHAT
  if [[ $1 == "$2" ]]; then ok "$3"; else
    bad "$3"
    diff <(echo "$1") <(echo "$2") | sed 's/^/    /' >&2 || true
  fi
}

"${launcher[@]}" "$bench" --help >"$tmp/help" 2>"$tmp/help.err" || bad "--help exited $?"
grep -q '^Usage: flurry-bench' "$tmp/help" && ok "--help prints the usage" || bad "--help: no usage line"

# --help lines look like "    -c, --connections <N>  ..." or "        --json  ...".
# The usage does not list --help itself; the man page does.
help_long=$({ grep -oE '^ +(-[A-Za-z], +)?--[a-z][a-z0-9-]*' "$tmp/help" | grep -oE -- '--[a-z0-9-]+'; echo --help; } | sort -u)
help_short=$({ grep -oE '^ +-[A-Za-z],' "$tmp/help" | tr -d ' ,'; echo -h; } | sort -u)

# Man page options: the first line after each .TP inside the OPTIONS section.
awk '/^\.SH / { in_opts = ($2 == "OPTIONS") } in_opts && prev == ".TP" { print } { prev = $1 }' \
  "$man" >"$tmp/man.tp"
man_long=$(grep -oE '\\-\\-[a-z][a-z0-9\\-]*' "$tmp/man.tp" | sed 's/\\//g' | sort -u)
man_short=$(grep -oE '^\.B \\-[A-Za-z],' "$tmp/man.tp" | sed -E 's/^\.B \\(-[A-Za-z]),/\1/' | sort -u)

same "$man_long" "$help_long" "long options in --help == in doc/flurry-bench.1"
same "$man_short" "$help_short" "short options in --help == in doc/flurry-bench.1"
count=$(wc -l <<<"$man_long")
((count >= 16)) && ok "the man page lists $count options" || bad "the man page lists only $count options"

# Each option is known to the parser: given one argument and two URLs, it
# ends in "more than one URL", a complaint about its argument, or help or
# version; never in "unknown option". No request is sent.
known() { # OPTION: 0 unless flurry-bench calls it unknown
  "${launcher[@]}" "$bench" "$1" 1 http://127.0.0.1:1/ http://127.0.0.1:1/ \
    >"$tmp/opt.out" 2>"$tmp/opt.err" || true
  ! grep -q 'unknown option' "$tmp/opt.err"
}
known --no-such-option && bad "--no-such-option is not reported as unknown" ||
  ok "an unknown option is reported as such"
for opt in $man_long $man_short; do
  known "$opt" && ok "$opt is accepted" || bad "$opt: flurry-bench does not know it"
done

((fails == 0))
