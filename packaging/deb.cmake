# The Debian package: `cpack -G DEB` (packaging/build-deb.sh) makes sluice_<version>_<arch>.deb
# from what the install rules in CMakeLists.txt put in place. Its dependencies are computed by
# dpkg-shlibdeps (from dpkg-dev) from the libraries the binary links.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sluice)
set(CPACK_PACKAGE_VERSION ${SLUICE_PACKAGE_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "io_uring load balancer and rate-limiting proxy")
set(CPACK_PACKAGE_DESCRIPTION
    "sluice is an L4 (TCP) and L7 (HTTP/1.1) load balancer and rate-limiting proxy: one
io_uring event loop per core, shared-nothing workers, YAML configuration, hot reload,
graceful drain, Prometheus metrics and an admin API. It needs Linux 6.0 or later.
The package installs a sandboxed systemd unit (not enabled), an example configuration
in /etc/sluice/sluice.yaml and a logrotate rule for its access log.")
set(SLUICE_PACKAGE_MAINTAINER "sluice developers <sluice@invalid>" CACHE STRING
    "The Maintainer field of the Debian package")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${SLUICE_PACKAGE_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS logrotate)
# The package's paths are the install rules' paths for the prefix /usr: /usr/bin, /etc,
# /lib/systemd/system. DESTDIR mode lets the absolute ones (/etc, /lib) land in the package.
set(CPACK_SET_DESTDIR ON)
# The build tree keeps its debug information; the package does not (Debian ships stripped
# binaries). build-deb.sh strips its copy itself.
set(CPACK_STRIP_FILES ON)
set(CPACK_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})

# conffiles: dpkg keeps an administrator's edits to these across upgrades and asks before
# replacing them. The maintainer scripts only tell systemd about the unit (deb/README.md).
configure_file(${CMAKE_CURRENT_LIST_DIR}/deb/conffiles.in ${CMAKE_CURRENT_BINARY_DIR}/deb/conffiles
               @ONLY)
foreach(script postinst prerm postrm)
  file(COPY ${CMAKE_CURRENT_LIST_DIR}/deb/${script} DESTINATION ${CMAKE_CURRENT_BINARY_DIR}/deb
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                        WORLD_READ WORLD_EXECUTE)
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_BINARY_DIR}/deb/conffiles ${CMAKE_CURRENT_BINARY_DIR}/deb/postinst
    ${CMAKE_CURRENT_BINARY_DIR}/deb/prerm ${CMAKE_CURRENT_BINARY_DIR}/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
