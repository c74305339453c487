# Debian packages (make package: cpack -G DEB in the build directory):
#   policysync         kafka_consumer, policyctl, policysync.service, a
#                      commented /etc/policysync/policysync.conf
#   libpolicysync-dev  headers, static libraries (librdkafka's archive
#                      included, as libpolicysync_rdkafka.a), CMake package,
#                      pkg-config files
# The runtime package's Depends come from dpkg-shlibdeps (the Debian shared
# libraries the binaries link); the dev package's are the -dev packages its
# static archives need on a link line.
include(GNUInstallDirs)

install(TARGETS kafka_consumer policyctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  COMPONENT runtime)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/policysync.service
  DESTINATION lib/systemd/system COMPONENT runtime)
# Absolute: /etc is not under the prefix. A conffile (dpkg keeps local edits).
install(FILES ${CMAKE_CURRENT_LIST_DIR}/policysync.conf DESTINATION /etc/policysync
  COMPONENT runtime)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR}
  COMPONENT runtime)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME policysync)
set(CPACK_PACKAGE_VENDOR "policysync")
set(CPACK_PACKAGE_CONTACT "policysync maintainers <policysync@localhost>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME policysync)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION
  "domain-policy tables kept in sync from Kafka for DNS/TLS filtering data planes\n\
kafka_consumer keeps a data plane's policy tables in sync with a provisioning\n\
service over Kafka (SYNC_COMPLETE atomic swaps, safe-watermark commits,\n\
snapshots, readiness); policyctl is the provisioning side's tool.\n\
Runs as policysync.service (Type=notify: ready once the policy is).")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA ${CMAKE_CURRENT_LIST_DIR}/conffiles)

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libpolicysync-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
  "liburcu-dev, libhyperscan-dev, libsimdjson-dev, libidn2-dev, libxxhash-dev, libunistring-dev, libcpp-httplib-dev, libssl-dev, libsasl2-dev, libzstd-dev, liblz4-dev, zlib1g-dev, libcurl4-openssl-dev")
set(CPACK_DEBIAN_DEV_DESCRIPTION
  "policysync: headers and static libraries to embed it in a data plane\n\
PolicyStore and Reader (wait-free RCU lookups), the message parser, the\n\
Kafka Consumer a DPDK main lcore polls, snapshots and fleet status; with a\n\
CMake package (find_package(policysync)) and pkg-config files.")

include(CPack)
