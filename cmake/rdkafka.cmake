# librdkafka >= 2.6.1 as the imported target rdkafka::static: the static archive
# (librdkafka.a) with the libraries it needs, from pkg-config's rdkafka-static.
#
# Why >= 2.6.1: older versions build the SASL/SCRAM client-final message with a
# wrong nonce, which Kafka 4.x brokers reject. Debian 12 ships 2.0.2, so
# scripts/librdkafka/build makes 2.8.0 from Debian 13's source package and the
# Makefile points PKG_CONFIG_PATH at it. Why static: a binary then always runs
# the librdkafka it was compiled against, never Debian's 2.0.2 found first by
# the dynamic loader.
#
# POLICYSYNC_RDKAFKA_PREFIX, when set, is searched first (the TSan build sets
# it to scripts/librdkafka/build --tsan's prefix); unset, scripts/librdkafka/
# build's own prefix is used if that build ran. The installed package does
# not need it: it ships the archive (cmake/install.cmake).
if(NOT TARGET rdkafka::static)
  find_package(PkgConfig REQUIRED)
  # A plain `cmake -S . -B build` after scripts/install-deps: the prefix
  # scripts/librdkafka/build installed into (its cache), if it is there.
  if(NOT POLICYSYNC_RDKAFKA_PREFIX AND EXISTS "${PROJECT_SOURCE_DIR}/scripts/librdkafka/build")
    execute_process(COMMAND "${PROJECT_SOURCE_DIR}/scripts/librdkafka/build" --prefix
      OUTPUT_VARIABLE _policysync_rdkafka_cache OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(EXISTS "${_policysync_rdkafka_cache}/lib/pkgconfig/rdkafka-static.pc")
      set(POLICYSYNC_RDKAFKA_PREFIX "${_policysync_rdkafka_cache}" CACHE PATH
        "Prefix of a librdkafka >= 2.6.1 (scripts/librdkafka/build's)" FORCE)
    endif()
  endif()
  if(POLICYSYNC_RDKAFKA_PREFIX)
    # First in pkg-config's own search path: ahead of PKG_CONFIG_PATH entries
    # from the environment (the Makefile exports the plain build's there, and
    # the TSan build must not pick it up).
    set(ENV{PKG_CONFIG_PATH} "${POLICYSYNC_RDKAFKA_PREFIX}/lib/pkgconfig:$ENV{PKG_CONFIG_PATH}")
  endif()
  # A changed prefix (e.g. the TSan flavour) must be searched again.
  if(NOT "${POLICYSYNC_RDKAFKA_PREFIX}" STREQUAL "${_POLICYSYNC_RDKAFKA_PREFIX_FOUND}")
    unset(__pkg_config_checked_RDKAFKA_STATIC CACHE)
    unset(RDKAFKA_ARCHIVE CACHE)
    set(_POLICYSYNC_RDKAFKA_PREFIX_FOUND "${POLICYSYNC_RDKAFKA_PREFIX}" CACHE INTERNAL "")
  endif()
  pkg_check_modules(RDKAFKA_STATIC rdkafka-static>=2.6.1)
  if(NOT RDKAFKA_STATIC_FOUND)
    message(FATAL_ERROR "librdkafka >= 2.6.1 (rdkafka-static) not found: run "
      "scripts/librdkafka/build (scripts/install-deps runs it), or pass "
      "-DPOLICYSYNC_RDKAFKA_PREFIX=DIR")
  endif()
  find_library(RDKAFKA_ARCHIVE NAMES librdkafka.a HINTS ${RDKAFKA_STATIC_LIBDIR} NO_DEFAULT_PATH)
  if(NOT RDKAFKA_ARCHIVE)
    message(FATAL_ERROR "rdkafka-static.pc found, but no librdkafka.a in ${RDKAFKA_STATIC_LIBDIR}")
  endif()
  add_library(rdkafka::static STATIC IMPORTED)
  # pkg-config's Libs: the archive itself (kept out: it is the location) and
  # the -l libraries it needs (ssl, sasl2, zstd, lz4, curl, z, ...).
  set_target_properties(rdkafka::static PROPERTIES
    IMPORTED_LOCATION "${RDKAFKA_ARCHIVE}"
    INTERFACE_INCLUDE_DIRECTORIES "${RDKAFKA_STATIC_INCLUDEDIR}"
    INTERFACE_LINK_LIBRARIES "${RDKAFKA_STATIC_LINK_LIBRARIES}")
  message(STATUS "librdkafka ${RDKAFKA_STATIC_VERSION}: ${RDKAFKA_ARCHIVE}")
endif()
