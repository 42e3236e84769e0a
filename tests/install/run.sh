#!/usr/bin/env bash
# Install flurry and link against it as a user would (scripts/test's install
# stage; about a minute on 2 cores):
#   1. build the library and tools (no tests) in BUILD/lib, check the
#      exports of libflurry.so (only fl_ names, none of fl__) and its
#      .so -> .so.0 -> .so.0.x.y chain
#   2. `cmake --install` to a temporary prefix, then move the prefix
#      elsewhere (everything must be relocatable) and, from there, build
#      tests/install/consumer/main.c with pkg-config (shared, static) and
#      with find_package(flurry CONFIG) (flurry::flurry, flurry::flurry_static),
#      and run all four
#   3. man pages: groff finds nothing to warn about, .TH names this version,
#      the EXAMPLE of libflurry(3) compiles
#   4. Debian packages (packaging/build-debs in BUILD/deb): the three
#      packages, their Depends, no lintian error, md5sums that match, then
#      unpacked with dpkg-deb -x into a temporary root: the consumer built
#      there with pkg-config and with CMake, and run; the commands run
#
#   tests/install/run.sh [-B BUILD] [--no-deb]
#
# BUILD defaults to build-install. Exits non-zero when a check failed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$root/build-install
deb=1
while (($#)); do
  case $1 in
    -B) build=$2; shift ;;
    --no-deb) deb=0 ;;
    -h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install test: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[[ $build = /* ]] || build=$PWD/$build
jobs=${FL_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}
consumer=$root/tests/install/consumer

tmp=$(mktemp -d "${TMPDIR:-/tmp}/flurry-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

passed=0 failed=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
check() { # check DESCRIPTION COMMAND...: pass when the command succeeds
  local what=$1
  shift
  if "$@" >"$tmp/check.log" 2>&1; then pass "$what"; else fail "$what"; sed 's/^/     /' "$tmp/check.log"; fi
}
die() { echo "FAIL $*" >&2; echo "install test: $passed passed, $((failed + 1)) failed"; exit 1; }
# run SECONDS COMMAND...: bounded, output to the log only when it fails
run() {
  local secs=$1
  shift
  if ! timeout "$secs" "$@" >"$tmp/run.log" 2>&1; then
    sed 's/^/     /' "$tmp/run.log" | tail -n 40
    return 1
  fi
}

version=$(sed -n 's/^#define FL_VERSION_STRING "\(.*\)"/\1/p' "$root/include/flurry.h")
major=${version%%.*}
[[ -n $version ]] || die "no FL_VERSION_STRING in include/flurry.h"
echo "flurry $version: build in $build"

# ------------------------------------------------------------ 1. build
run 300 cmake -S "$root" -B "$build/lib" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF \
  -DFL_WERROR=ON -DFL_SANITIZE= -DFL_VALGRIND=OFF || die "configure"
run 900 cmake --build "$build/lib" -j "$jobs" || die "build"

so=$build/lib/libflurry.so
exports() { nm -D --defined-only "$1" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }'; }
check_exports() { # FILE: every exported name is fl_x, none fl__x, and enough of them
  local names bad
  names=$(exports "$1")
  bad=$(grep -vE '^fl_[^_]' <<<"$names" || true)
  [[ -z $bad ]] || { echo "exported but not public: $(echo $bad)"; return 1; }
  (($(wc -l <<<"$names") >= 50)) || { echo "only $(wc -l <<<"$names") exports"; return 1; }
}
check "libflurry.so exports only fl_ names (no fl__)" check_exports "$so"
check "exports carry the version node FLURRY_$major" \
  bash -c "nm -D --defined-only '$so' | grep -q ' fl_version@@FLURRY_$major\$'"
check_chain() { # DIR: libflurry.so -> .so.MAJOR -> .so.VERSION, SONAME .so.MAJOR
  [[ $(readlink "$1/libflurry.so") == "libflurry.so.$major" ]] &&
    [[ $(readlink "$1/libflurry.so.$major") == "libflurry.so.$version" ]] &&
    [[ -f $1/libflurry.so.$version && ! -L $1/libflurry.so.$version ]] &&
    readelf -d "$1/libflurry.so.$version" | grep -q "SONAME.*\[libflurry.so.$major\]" ||
    { ls -l "$1"/libflurry.so*; return 1; }
}
check "libflurry.so -> libflurry.so.$major -> libflurry.so.$version (build tree)" check_chain "$build/lib"

# ----------------------------------------------- 2. install and link, moved
run 120 cmake --install "$build/lib" --prefix "$tmp/prefix" || die "cmake --install"
missing=()
for f in include/flurry.h lib/libflurry.a lib/libflurry.so.$version lib/pkgconfig/flurry.pc \
  lib/cmake/flurry/flurryConfig.cmake lib/cmake/flurry/flurryConfigVersion.cmake \
  lib/cmake/flurry/flurryTargets.cmake lib/cmake/flurry/flurryStaticTargets.cmake \
  bin/flurry bin/flurry-bench share/man/man1/flurry.1 share/man/man1/flurry-bench.1 \
  share/man/man3/libflurry.3; do
  [[ -e $tmp/prefix/$f ]] || missing+=("$f")
done
if ((${#missing[@]})); then fail "cmake --install: missing ${missing[*]}"; else pass "cmake --install put every file in place"; fi
check "libflurry.so chain (installed)" check_chain "$tmp/prefix/lib"
check "installed libflurry.so exports only fl_ names" check_exports "$tmp/prefix/lib/libflurry.so"
if grep -rqF "$tmp/prefix" "$tmp/prefix/lib/pkgconfig" "$tmp/prefix/lib/cmake"; then
  fail "flurry.pc or the CMake package names the install prefix (not relocatable)"
else
  pass "flurry.pc and the CMake package name no absolute prefix"
fi
mv "$tmp/prefix" "$tmp/moved"
p=$tmp/moved

# run_consumer NAME BINARY: runs, prints "ok:", one request completed
run_consumer() {
  local out
  out=$(timeout 20 "$2") || { echo "$out"; return 1; }
  grep -q '^ok: flurry/' <<<"$out" || { echo "$out"; return 1; }
}
needs_libflurry() { readelf -d "$1" | grep -q 'NEEDED.*\[libflurry\.so\.'"$major"'\]'; }
# uses_lib BINARY DIR: the loader takes libflurry from DIR
uses_lib() {
  local got
  got=$(ldd "$1" | awk -v lib="libflurry.so.$major" '$1 == lib && $2 == "=>" { print $3 }')
  [[ -n $got && $(realpath "$got") == $(realpath "$2/libflurry.so.$major") ]] || { ldd "$1"; return 1; }
}

export PKG_CONFIG_PATH=$p/lib/pkgconfig
check "pkg-config --modversion flurry is $version" \
  test "$(pkg-config --modversion flurry)" = "$version"
check "pkg-config: flurry's paths are under the moved prefix" \
  bash -c "pkg-config --cflags --libs flurry | grep -qF -- '-I$p/lib/pkgconfig/../../include -L$p/lib/pkgconfig/../../lib '"
check "Requires.private: libssl libcrypto libcares zlib libbrotlidec libzstd libnghttp2 libpsl" bash -c \
  "pkg-config --print-requires-private flurry | awk '{print \$1}' | sort | tr '\n' ' ' |
   grep -qx 'libbrotlidec libcares libcrypto libnghttp2 libpsl libssl libzstd zlib '"
# Every library libflurry.so needs (but libc) is in the static link line, so
# a dependency added to the build is added to Requires.private too.
needed_in_static() {
  local libs lib missing=()
  libs=" $(pkg-config --static --libs flurry) "
  for lib in $(readelf -d "$p/lib/libflurry.so" | sed -n 's/.*NEEDED.*\[lib\([^].]*\)\.so.*/\1/p'); do
    [[ $lib == c ]] && continue
    [[ $libs == *" -l$lib "* ]] || missing+=("lib$lib")
  done
  ((${#missing[@]} == 0)) || { echo "needed by libflurry.so, missing from flurry.pc: ${missing[*]}"; return 1; }
}
check "pkg-config --static --libs flurry names every library libflurry.so needs" needed_in_static
cflags=$(pkg-config --cflags flurry)
libdir=$(pkg-config --variable=libdir flurry)
# shellcheck disable=SC2086
if run 60 cc -o "$tmp/pc-shared" "$consumer/main.c" $cflags $(pkg-config --libs flurry) \
  -Wl,-rpath,"$libdir"; then
  check "pkg-config, shared: runs" run_consumer pc-shared "$tmp/pc-shared"
  check "pkg-config, shared: links libflurry.so.$major from the moved prefix" \
    uses_lib "$tmp/pc-shared" "$libdir"
else
  fail "pkg-config, shared: build"
fi
# The README's static link: -l:libflurry.a takes the archive over the .so.
static_libs=$(pkg-config --static --libs flurry | sed 's/-lflurry\b/-l:libflurry.a/')
# shellcheck disable=SC2086
if run 60 cc -o "$tmp/pc-static" "$consumer/main.c" $cflags $static_libs; then
  check "pkg-config, static: runs" run_consumer pc-static "$tmp/pc-static"
  check "pkg-config, static: does not need libflurry.so" bash -c "! readelf -d '$tmp/pc-static' | grep -q libflurry"
else
  fail "pkg-config, static: build"
fi
unset PKG_CONFIG_PATH

if run 120 cmake -S "$consumer" -B "$tmp/cmake-build" -DCMAKE_PREFIX_PATH="$p" \
  -DFLURRY_WANT_VERSION="$version" && run 120 cmake --build "$tmp/cmake-build" -j "$jobs"; then
  check "find_package(flurry), flurry::flurry: runs" run_consumer cmake-shared "$tmp/cmake-build/consumer_shared"
  check "find_package(flurry), flurry::flurry: links libflurry.so.$major from the moved prefix" \
    uses_lib "$tmp/cmake-build/consumer_shared" "$p/lib"
  check "find_package(flurry), flurry::flurry_static: runs" run_consumer cmake-static "$tmp/cmake-build/consumer_static"
  check "find_package(flurry), flurry::flurry_static: does not need libflurry.so" \
    bash -c "! readelf -d '$tmp/cmake-build/consumer_static' | grep -q libflurry"
else
  fail "find_package(flurry): configure and build"
fi
check "find_package(flurry 0.0) is refused (SameMinorVersion)" \
  bash -c "! cmake -S '$consumer' -B '$tmp/cmake-old' -DCMAKE_PREFIX_PATH='$p' -DFLURRY_WANT_VERSION=0.0"

# ------------------------------------------------------------ 3. man pages
check_man() { # PAGE: man/groff print no warning; .TH names this version
  local warn
  warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$1" 2>&1 >/dev/null) || true
  [[ -z $warn ]] || { echo "$warn"; return 1; }
  grep -q "^\.TH .*\"flurry $version\"" "$1" || { echo "$(grep '^\.TH' "$1") does not say flurry $version"; return 1; }
}
for page in man1/flurry.1 man1/flurry-bench.1 man3/libflurry.3; do
  check "man page $page" check_man "$p/share/man/$page"
done
# The EXAMPLE of libflurry(3), as printed (roff escapes undone), builds
# against the installation (not run: it wants a server on port 8080).
sed -n '/^\.SH EXAMPLE/,/^\.SH /p' "$p/share/man/man3/libflurry.3" | sed -n '/^\.ft CR/,/^\.ft$/p' |
  sed -e '1d' -e '$d' -e 's/\\e/\\/g' -e 's/\\-/-/g' >"$tmp/example.c"
check "libflurry(3)'s EXAMPLE compiles and links (pkg-config)" bash -c \
  "PKG_CONFIG_PATH='$p/lib/pkgconfig' && export PKG_CONFIG_PATH && test -s '$tmp/example.c' &&
   cc -std=gnu11 -Wall -Wextra -Werror -o '$tmp/example' '$tmp/example.c' \$(pkg-config --cflags --libs flurry)"
check "flurry -V from the prefix" bash -c "'$p/bin/flurry' -V | grep -q '^flurry $version'"
check "flurry-bench -v from the prefix" bash -c "'$p/bin/flurry-bench' -v | grep -q '^flurry-bench $version'"

# ------------------------------------------------------ 4. Debian packages
if ((deb)); then
  if FL_BUILD_JOBS=$jobs timeout 900 "$root/packaging/build-debs" -B "$build/deb" "$tmp/debs" \
    >"$tmp/debs.log" 2>&1; then
    pass "packaging/build-debs: packages built, lintian reports no error"
  else
    fail "packaging/build-debs (lintian errors or a failed build)"
  fi
  sed -n '/^== /,$p' "$tmp/debs.log" | sed 's/^/     /'
  arch=$(dpkg --print-architecture)
  multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
  full=$version-$(sed -n '1s/^flurry ([^-]*-\([^)]*\)).*/\1/p' "$root/packaging/debian/changelog")
  declare -A want=(
    [libflurry$major]="usr/lib/$multiarch/libflurry.so.$version usr/share/doc/libflurry$major/copyright usr/share/doc/libflurry$major/changelog.Debian.gz"
    [libflurry-dev]="usr/include/flurry.h usr/lib/$multiarch/libflurry.a usr/lib/$multiarch/libflurry.so usr/lib/$multiarch/pkgconfig/flurry.pc usr/lib/$multiarch/cmake/flurry/flurryConfig.cmake usr/share/man/man3/libflurry.3.gz usr/share/doc/libflurry-dev/copyright"
    [flurry]="usr/bin/flurry usr/bin/flurry-bench usr/share/man/man1/flurry.1.gz usr/share/man/man1/flurry-bench.1.gz usr/share/doc/flurry/copyright"
  )
  droot=$tmp/root
  mkdir -p "$droot"
  for pkg in "libflurry$major" libflurry-dev flurry; do
    f=$tmp/debs/${pkg}_${full}_$arch.deb
    if [[ ! -f $f ]]; then
      fail "package $pkg: $(basename "$f") not built"
      continue
    fi
    dpkg-deb -x "$f" "$droot"
    missing=()
    for path in ${want[$pkg]}; do [[ -e $droot/$path || -L $droot/$path ]] || missing+=("$path"); done
    if ((${#missing[@]})); then fail "package $pkg lacks ${missing[*]}"; else pass "package $pkg holds its files"; fi
    mkdir -p "$tmp/ctl-$pkg"
    dpkg-deb -e "$f" "$tmp/ctl-$pkg"
    check "package $pkg: md5sums match the contents" \
      bash -c "cd '$droot' && md5sum --quiet -c '$tmp/ctl-$pkg/md5sums'"
  done
  depends() { dpkg-deb --field "$tmp/debs/${1}_${full}_$arch.deb" Depends 2>/dev/null; }
  check "libflurry$major Depends on libssl3, libc-ares2, zlib1g, libbrotli1, libzstd1, libnghttp2-14, libpsl5, libc6 (shlibdeps)" \
    bash -c "d='$(depends "libflurry$major")'; for p in libssl3 libc-ares2 zlib1g libbrotli1 libzstd1 libnghttp2-14 libpsl5 libc6; do grep -q \"\\b\$p \" <<<\"\$d\" || exit 1; done"
  check "libflurry-dev Depends on libflurry$major (= $full)" \
    bash -c "grep -qF 'libflurry$major (= $full)' <<<'$(depends libflurry-dev)'"
  check "libflurry$major has a shlibs file and the ldconfig trigger" \
    bash -c "grep -qx 'libflurry $major libflurry$major (>= $full)' '$tmp/ctl-libflurry$major/shlibs' &&
             grep -qx 'activate-noawait ldconfig' '$tmp/ctl-libflurry$major/triggers'"
  dlib=$droot/usr/lib/$multiarch
  check "libflurry.so chain (package)" check_chain "$dlib"
  check "packaged libflurry.so exports only fl_ names" check_exports "$dlib/libflurry.so.$version"

  # Build against the unpacked root: pkg-config through a sysroot, CMake
  # through CMAKE_PREFIX_PATH.
  # (PKG_CONFIG_PATH, not _LIBDIR: the libraries of Requires.private come
  # from the system, as libflurry-dev's Depends would install them.)
  export PKG_CONFIG_SYSROOT_DIR=$droot PKG_CONFIG_PATH=$dlib/pkgconfig
  # shellcheck disable=SC2046
  if run 60 cc -o "$tmp/deb-pc" "$consumer/main.c" $(pkg-config --cflags --libs flurry) \
    -Wl,-rpath,"$dlib"; then
    check "unpacked packages, pkg-config: runs" run_consumer deb-pc "$tmp/deb-pc"
    check "unpacked packages, pkg-config: links the packaged libflurry.so.$major" uses_lib "$tmp/deb-pc" "$dlib"
  else
    fail "unpacked packages, pkg-config: build"
  fi
  unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_PATH
  if run 120 cmake -S "$consumer" -B "$tmp/deb-cmake" -DCMAKE_PREFIX_PATH="$droot/usr" \
    -DFLURRY_WANT_VERSION="$version" && run 120 cmake --build "$tmp/deb-cmake" -j "$jobs"; then
    check "unpacked packages, find_package(flurry), shared: runs" run_consumer deb-cmake "$tmp/deb-cmake/consumer_shared"
    check "unpacked packages, find_package(flurry), shared: links the packaged library" \
      uses_lib "$tmp/deb-cmake/consumer_shared" "$dlib"
    check "unpacked packages, find_package(flurry), static: runs" run_consumer deb-cmake-static "$tmp/deb-cmake/consumer_static"
  else
    fail "unpacked packages, find_package(flurry): configure and build"
  fi
  check "unpacked packages: flurry -V" bash -c "'$droot/usr/bin/flurry' -V | grep -q '^flurry $version'"
  check "unpacked packages: flurry-bench -v" bash -c "'$droot/usr/bin/flurry-bench' -v | grep -q '^flurry-bench $version'"
fi

echo "install test: $passed passed, $failed failed"
((failed == 0))
