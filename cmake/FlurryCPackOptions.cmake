# Read by cpack before each generator runs (CPACK_PROJECT_CONFIG_FILE).

# CPackDeb puts CPACK_PACKAGE_DESCRIPTION_SUMMARY (which CPack takes from
# project(DESCRIPTION)) in front of every component's description, unless it
# is CPack's own default text. Each flurry package's description begins with
# its own synopsis line (cmake/FlurryPackaging.cmake), so give CPackDeb the
# default text to leave alone.
if(CPACK_GENERATOR STREQUAL "DEB")
  set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${CPACK_DEFAULT_PACKAGE_DESCRIPTION_SUMMARY}")
endif()
