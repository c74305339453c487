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
# POLICYSYNC_RDKAFKA_PREFIX, when set, is searched first (the Makefile sets it
# to scripts/librdkafka/build's prefix; the installed package records the one
# it was built with). Used by the build and by the installed package.
if(NOT TARGET rdkafka::static)
  find_package(PkgConfig REQUIRED)
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
  pkg_check_modules(RDKAFKA_STATIC REQUIRED rdkafka-static>=2.6.1)
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
