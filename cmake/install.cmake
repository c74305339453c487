# Installation: headers, static libraries, a CMake package and pkg-config
# files. Imported targets (find_package(policysync CONFIG)):
#   policysync::policysync  store, reader, parser, names, snapshots, pipeline
#   policysync::kafka       Consumer, EmbeddedCluster/Publisher, AdminServer;
#                           brings policysync::policysync
# Their dependencies (liburcu-qsbr, Hyperscan, simdjson, libidn2, xxHash,
# libunistring, cpp-httplib, OpenSSL, Cyrus SASL, zstd, lz4, zlib, libcurl:
# Debian's -dev packages) are found by the package itself. librdkafka is not
# a dependency: the package ships the static archive it was built with
# (>= 2.6.1, Debian 12's is 2.0.2) as libpolicysync_rdkafka.a.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set_target_properties(policysync_core PROPERTIES OUTPUT_NAME policysync EXPORT_NAME core)
set_target_properties(policysync_consumer PROPERTIES OUTPUT_NAME policysync_state EXPORT_NAME state)
set_target_properties(policysync_kafka PROPERTIES OUTPUT_NAME policysync_kafka EXPORT_NAME kafka_adapter)

install(TARGETS policysync_core policysync_consumer policysync_kafka
  EXPORT policysync-targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
install(DIRECTORY include/policysync DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev)
# librdkafka's static archive, under policysync's name, and what it links.
install(FILES ${RDKAFKA_ARCHIVE} DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RENAME libpolicysync_rdkafka.a COMPONENT dev)
set(POLICYSYNC_RDKAFKA_DEPS ${RDKAFKA_STATIC_LIBRARIES})  # m;dl;pthread;rt;z;crypto;ssl;...
list(TRANSFORM RDKAFKA_STATIC_LIBRARIES PREPEND "-l" OUTPUT_VARIABLE _rdkafka_l)
list(JOIN _rdkafka_l " " POLICYSYNC_RDKAFKA_PC_LIBS)

set(POLICYSYNC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/policysync)
install(EXPORT policysync-targets NAMESPACE policysync:: DESTINATION ${POLICYSYNC_CMAKE_DIR}
  COMPONENT dev)
configure_package_config_file(cmake/policysync-config.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/policysync-config.cmake INSTALL_DESTINATION ${POLICYSYNC_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/policysync-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/policysync-config.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/policysync-config-version.cmake
        DESTINATION ${POLICYSYNC_CMAKE_DIR} COMPONENT dev)

# pkg-config: DPDK applications are usually built with meson + pkg-config.
# From LIBDIR/pkgconfig back to the prefix: "../.." for lib, "../../.." for
# lib/x86_64-linux-gnu (GNUInstallDirs' choice under /usr on Debian).
file(RELATIVE_PATH PC_UP_TO_PREFIX "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
string(REGEX REPLACE "/$" "" PC_UP_TO_PREFIX "${PC_UP_TO_PREFIX}")
foreach(pc policysync policysync-kafka)
  configure_file(cmake/${pc}.pc.in ${CMAKE_CURRENT_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/${pc}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
    COMPONENT dev)
endforeach()
