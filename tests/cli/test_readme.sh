#!/usr/bin/env bash
# The README's C code blocks compile (with every warning an error) against
# the library just built; whole programs also link and run without
# crashing: the first thing a newcomer copies keeps working.
source "$(dirname "$0")/lib.sh"
readme=$FL_TEST_SRCDIR/../README.md
build=${FL_TEST_BUILDDIR:?}

# each ```c ... ``` block into its own file
awk -v dir="$T" '/^```c[[:space:]]*$/ { n++; f = sprintf("%s/readme%d.c", dir, n); inblk = 1; next }
  /^```/ && inblk { inblk = 0; close(f); next }
  inblk { print > f }' "$readme"
blocks=("$T"/readme*.c)
[[ -e ${blocks[0]} ]] && pass "README has ${#blocks[@]} C block(s)" || fail "no C block in README.md"

# A whole program (it has main) is built as pasted, linked and run. A
# fragment (a function to paste into one's own file) is compiled alone, with
# <flurry.h> before it when it includes nothing itself.
for c in "${blocks[@]}"; do
  name=$(basename "$c" .c)
  if ! grep -q '^#include' "$c"; then
    { echo '#include <flurry.h>'; cat "$c"; } >"$T/$name.frag.c"
    mv "$T/$name.frag.c" "$c"
  fi
  flags=(-std=c11 -Wall -Wextra -Werror -I"$FL_TEST_SRCDIR/../include")
  if ! grep -qE '^int main\(' "$c"; then
    if cc "${flags[@]}" -Wno-unused-function -c -o "$T/$name.o" "$c" 2>"$T/$name.log"; then
      pass "$name (a fragment) compiles"
    else
      fail "$name does not compile: $(head -c 600 "$T/$name.log")"
    fi
    continue
  fi
  if cc "${flags[@]}" -o "$T/$name" "$c" -L"$build" -lflurry -Wl,-rpath,"$build" 2>"$T/$name.log"; then
    pass "$name compiles and links as pasted"
  else
    fail "$name does not compile: $(head -c 600 "$T/$name.log")"
    continue
  fi
  # It asks a port nothing listens on (or whatever it names): it must end,
  # reporting the failure, not crash or hang.
  RC=0
  timeout 20 "$T/$name" >"$OUT" 2>"$ERR" || RC=$?
  ((RC < 124)) && pass "$name runs to its end (exit $RC)" || fail "$name: exit $RC (crash or hang)"
done

done_testing
