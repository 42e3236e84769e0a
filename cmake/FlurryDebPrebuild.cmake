# Run by cpack (CPACK_PRE_BUILD_SCRIPTS) after it installed each component
# into its staging directory and before it builds the packages. Debian
# policy, for packages and not for a plain `cmake --install`:
#   - /usr/share/doc/<package>/copyright and changelog.Debian.gz in each
#   - manual pages compressed with gzip -9n
#   - /usr/share/lintian/overrides/<package> from <package>.lintian-overrides
#   - binaries stripped as dh_strip does: no debug symbols and no .comment
#     or .note sections; static libraries keep their symbols
# Variables come from cmake/FlurryPackaging.cmake (CPACK_FL_*). Other
# generators (cpack -G TGZ, ...) get the tree as installed.

if(NOT CPACK_GENERATOR STREQUAL "DEB")
  return()
endif()

if(NOT CPACK_FL_DEB_UPSTREAM STREQUAL CPACK_FL_PROJECT_VERSION)
  message(FATAL_ERROR "packaging/debian/changelog's top entry is ${CPACK_FL_DEB_UPSTREAM}, "
    "flurry is ${CPACK_FL_PROJECT_VERSION}: add a changelog entry first")
endif()

find_program(_fl_gzip gzip REQUIRED)
if(NOT CPACK_FL_STRIP)
  message(FATAL_ERROR "FlurryDebPrebuild: no strip program (CMAKE_STRIP) known")
endif()

# strip ARGS... FILE
function(_fl_strip)
  execute_process(COMMAND "${CPACK_FL_STRIP}" --remove-section=.comment
    --remove-section=.note ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "strip ${ARGN} failed (${rc})")
  endif()
endfunction()

# gzip -9n FILE (in place: FILE.gz; no name, no time stamp: reproducible)
function(_fl_gzip_file file)
  execute_process(COMMAND "${_fl_gzip}" -9nf "${file}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "gzip -9n ${file} failed (${rc})")
  endif()
endfunction()

set(_fl_done 0)
foreach(_fl_pair IN LISTS CPACK_FL_PACKAGES)
  string(REPLACE "=" ";" _fl_pair "${_fl_pair}")
  list(GET _fl_pair 0 _fl_component)
  list(GET _fl_pair 1 _fl_package)
  # With one package per component, each component has its own tree.
  set(_fl_root "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/${_fl_component}${CPACK_PACKAGING_INSTALL_PREFIX}")
  if(NOT IS_DIRECTORY "${_fl_root}")
    continue() # component not being packaged in this run
  endif()

  set(_fl_docdir "${_fl_root}/share/doc/${_fl_package}")
  file(MAKE_DIRECTORY "${_fl_docdir}")
  file(COPY_FILE "${CPACK_FL_DEB_DIR}/copyright" "${_fl_docdir}/copyright")
  file(COPY_FILE "${CPACK_FL_DEB_DIR}/changelog" "${_fl_docdir}/changelog.Debian")
  _fl_gzip_file("${_fl_docdir}/changelog.Debian")
  if(EXISTS "${CPACK_FL_DEB_DIR}/${_fl_package}.lintian-overrides")
    file(MAKE_DIRECTORY "${_fl_root}/share/lintian/overrides")
    file(COPY_FILE "${CPACK_FL_DEB_DIR}/${_fl_package}.lintian-overrides"
      "${_fl_root}/share/lintian/overrides/${_fl_package}")
  endif()

  file(GLOB _fl_pages "${_fl_root}/share/man/man[1-9]/*.[1-9]")
  foreach(_fl_page IN LISTS _fl_pages)
    _fl_gzip_file("${_fl_page}")
  endforeach()

  file(GLOB _fl_bins LIST_DIRECTORIES false "${_fl_root}/bin/*")
  foreach(_fl_f IN LISTS _fl_bins)
    _fl_strip("${_fl_f}")
  endforeach()
  file(GLOB_RECURSE _fl_libs LIST_DIRECTORIES false "${_fl_root}/lib/*.so.*" "${_fl_root}/lib/*.a")
  foreach(_fl_f IN LISTS _fl_libs)
    if(IS_SYMLINK "${_fl_f}")
      continue()
    elseif(_fl_f MATCHES "[.]a$")
      _fl_strip(--strip-debug --enable-deterministic-archives "${_fl_f}")
    else()
      _fl_strip(--strip-unneeded "${_fl_f}")
    endif()
  endforeach()

  # Files under share/ 0644, whatever the umask of the build was.
  file(GLOB_RECURSE _fl_docs "${_fl_root}/share/*")
  foreach(_fl_f IN LISTS _fl_docs)
    file(CHMOD "${_fl_f}" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  endforeach()
  math(EXPR _fl_done "${_fl_done} + 1")
endforeach()

if(_fl_done EQUAL 0)
  message(FATAL_ERROR "FlurryDebPrebuild: no component tree under "
    "${CPACK_TEMPORARY_INSTALL_DIRECTORY} (looked for ${CPACK_FL_PACKAGES})")
endif()
