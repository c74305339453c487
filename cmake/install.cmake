# Installation: headers, static libraries, a CMake package and pkg-config
# files. Imported targets (find_package(policysync CONFIG)):
#   policysync::policysync  store, reader, parser, names, snapshots, pipeline
#   policysync::kafka       Consumer, EmbeddedCluster/Publisher, AdminServer;
#                           brings policysync::policysync
# Their dependencies (liburcu-qsbr, Hyperscan, simdjson, libidn2, xxHash,
# libunistring, librdkafka >= 2.6.1 as rdkafka-static, cpp-httplib) are found
# by the package itself.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set_target_properties(policysync_core PROPERTIES OUTPUT_NAME policysync EXPORT_NAME core)
set_target_properties(policysync_consumer PROPERTIES OUTPUT_NAME policysync_state EXPORT_NAME state)
set_target_properties(policysync_kafka PROPERTIES OUTPUT_NAME policysync_kafka EXPORT_NAME kafka_adapter)

install(TARGETS policysync_core policysync_consumer policysync_kafka
  EXPORT policysync-targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY include/policysync DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(POLICYSYNC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/policysync)
install(EXPORT policysync-targets NAMESPACE policysync:: DESTINATION ${POLICYSYNC_CMAKE_DIR})
configure_package_config_file(cmake/policysync-config.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/policysync-config.cmake INSTALL_DESTINATION ${POLICYSYNC_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/policysync-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/policysync-config.cmake
              ${CMAKE_CURRENT_SOURCE_DIR}/cmake/rdkafka.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/policysync-config-version.cmake
        DESTINATION ${POLICYSYNC_CMAKE_DIR})

# pkg-config: DPDK applications are usually built with meson + pkg-config.
foreach(pc policysync policysync-kafka)
  configure_file(cmake/${pc}.pc.in ${CMAKE_CURRENT_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/${pc}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()
