# Debian packages with CPack: `cpack -G DEB` in a build directory makes
#   libflurry0     component runtime  the shared library
#   libflurry-dev  component dev      header, static library, flurry.pc,
#                                     CMake package, libflurry(3)
#   flurry         component tools    flurry, flurry-bench, their man pages
# Configure with -DCMAKE_INSTALL_PREFIX=/usr for Debian's layout
# (lib/<multiarch>, absolute paths in flurry.pc); any other prefix still
# makes working packages, with libraries in /usr/lib.
# packaging/debian/ holds the changelog (its top entry gives the Debian
# revision), the copyright file, the ldconfig trigger and lintian overrides
# (PACKAGE.lintian-overrides, each tag with its reason);
# cmake/FlurryDebPrebuild.cmake puts them in each package and compresses the
# man pages, as Debian policy wants.
# tests/install/run.sh builds the packages, runs lintian and links a program
# against their unpacked contents.

set(_fl_deb_dir "${PROJECT_SOURCE_DIR}/packaging/debian")
file(STRINGS "${_fl_deb_dir}/changelog" _fl_deb_top LIMIT_COUNT 1)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_fl_deb_dir}/changelog")
if(NOT _fl_deb_top MATCHES "^flurry \\(([^-) ]+)-([^) ]+)\\) ")
  message(FATAL_ERROR "${_fl_deb_dir}/changelog: the first line must be "
    "'flurry (UPSTREAM-REVISION) ...', not '${_fl_deb_top}'")
endif()
set(_fl_deb_upstream "${CMAKE_MATCH_1}")
set(_fl_deb_revision "${CMAKE_MATCH_2}")
if(NOT _fl_deb_upstream STREQUAL PROJECT_VERSION)
  # Not fatal for a build; cpack refuses (cmake/FlurryDebPrebuild.cmake).
  message(WARNING "packaging/debian/changelog's top entry is ${_fl_deb_upstream}, "
    "flurry is ${PROJECT_VERSION}: add a changelog entry before making packages")
endif()

set(FL_PACKAGE_CONTACT "flurry developers <dev@flurry.invalid>" CACHE STRING
  "Maintainer of the Debian packages (Name <address>)")

set(CPACK_PACKAGE_NAME flurry)
set(CPACK_PACKAGE_VENDOR "the flurry developers")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_CONTACT "${FL_PACKAGE_CONTACT}")
set(CPACK_GENERATOR DEB)
set(CPACK_STRIP_FILES OFF) # cmake/FlurryDebPrebuild.cmake strips as dh_strip does
set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build[^/]*/" "__pycache__")

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev tools)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE "${_fl_deb_revision}")
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(_fl_libpkg "libflurry${PROJECT_VERSION_MAJOR}")
set(_fl_full_version "${PROJECT_VERSION}-${_fl_deb_revision}")

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME "${_fl_libpkg}")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
# The full public suffix list (cookies) and the system CA store (https) are
# used when present.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_RECOMMENDS "ca-certificates, publicsuffix")
# The ldconfig trigger; dpkg wants the control member named "triggers".
configure_file("${_fl_deb_dir}/${_fl_libpkg}.triggers"
  "${PROJECT_BINARY_DIR}/packaging/runtime/triggers" COPYONLY)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA "${PROJECT_BINARY_DIR}/packaging/runtime/triggers")
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION
"asynchronous HTTP/1.1 client library for Linux
flurry is an HTTP/1.1 client library in C built for programs that fetch
many URLs at once: an epoll reactor, c-ares for DNS on that reactor,
OpenSSL for https, a keep-alive connection pool, redirects, cookies,
decompression, proxies, retries and rate limits, with callbacks and
blocking helpers.

This package holds the shared library.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libflurry-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
# The static library and flurry.pc's Requires.private need the -dev
# packages of every library libflurry links.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
  "${_fl_libpkg} (= ${_fl_full_version}), libssl-dev, libc-ares-dev, zlib1g-dev, libbrotli-dev, libzstd-dev, libnghttp2-dev, libpsl-dev")
set(CPACK_DEBIAN_DEV_PACKAGE_RECOMMENDS "pkg-config")
set(CPACK_COMPONENT_DEV_DESCRIPTION
"asynchronous HTTP/1.1 client library for Linux (development files)
flurry is an HTTP/1.1 client library in C built for programs that fetch
many URLs at once: an epoll reactor, c-ares for DNS on that reactor,
OpenSSL for https, a keep-alive connection pool, redirects, cookies,
decompression, proxies, retries and rate limits, with callbacks and
blocking helpers.

This package holds the header, the static library, the pkg-config file
(flurry), the CMake package (flurry::flurry, flurry::flurry_static) and
the libflurry(3) manual page.")

set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME flurry)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION web)
set(CPACK_DEBIAN_TOOLS_PACKAGE_RECOMMENDS "ca-certificates, publicsuffix")
set(CPACK_COMPONENT_TOOLS_DESCRIPTION
"fetch many URLs at once, with curl's options; HTTP load generator
flurry fetches URLs over HTTP/1.1 concurrently, with curl's option names
and exit codes, on one thread and keep-alive connections. flurry-bench is
an HTTP/1.1 load generator with wrk's command line and output, plus a
request count, a constant rate, JSON output and pipelining. Both are
built on libflurry.")

# Read by cmake/FlurryDebPrebuild.cmake at cpack time.
set(CPACK_FL_DEB_DIR "${_fl_deb_dir}")
set(CPACK_FL_PROJECT_VERSION "${PROJECT_VERSION}")
set(CPACK_FL_DEB_UPSTREAM "${_fl_deb_upstream}")
set(CPACK_FL_STRIP "${CMAKE_STRIP}")
set(CPACK_FL_PACKAGES
  "runtime=${_fl_libpkg}" "dev=libflurry-dev" "tools=flurry")
set(CPACK_PRE_BUILD_SCRIPTS "${CMAKE_CURRENT_LIST_DIR}/FlurryDebPrebuild.cmake")
set(CPACK_PROJECT_CONFIG_FILE "${CMAKE_CURRENT_LIST_DIR}/FlurryCPackOptions.cmake")

if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(STATUS "flurry: Debian packages (cpack -G DEB) follow Debian's layout "
    "when configured with -DCMAKE_INSTALL_PREFIX=/usr")
endif()

include(CPack)

cpack_add_component(runtime DISPLAY_NAME "libflurry shared library")
cpack_add_component(dev DISPLAY_NAME "libflurry development files" DEPENDS runtime)
cpack_add_component(tools DISPLAY_NAME "flurry and flurry-bench")
