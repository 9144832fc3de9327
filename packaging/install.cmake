# `cmake --install` and `cpack -G DEB` (docs/operations.md, "Installing").
#   PREFIX/bin/cityguard, cityguard-sim
#   PREFIX/share/cityguard/{rules,web,sql,demo,prometheus}/, notifications.json
#   PREFIX/etc/cityguard/cityguard.json   (/etc/cityguard for the prefix /usr)
#   PREFIX/lib/systemd/system/cityguard.service
# The installed binary finds them without flags (src/config/config.cpp, install_layout).
set(CITYGUARD_SHARE ${CMAKE_INSTALL_DATADIR}/cityguard)
install(TARGETS cityguard cityguard-sim RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/config/rules DESTINATION ${CITYGUARD_SHARE})
install(FILES ${CMAKE_SOURCE_DIR}/config/notifications.json DESTINATION ${CITYGUARD_SHARE})
install(FILES ${CMAKE_SOURCE_DIR}/config/cityguard.json DESTINATION ${CITYGUARD_SHARE} RENAME cityguard.example.json)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/web/ DESTINATION ${CITYGUARD_SHARE}/web)
# The migrations are compiled into the binary; the files are for reading and --migrations.
install(DIRECTORY ${CMAKE_SOURCE_DIR}/sql/ DESTINATION ${CITYGUARD_SHARE}/sql)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/config/demo/ DESTINATION ${CITYGUARD_SHARE}/demo)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/config/prometheus/ DESTINATION ${CITYGUARD_SHARE}/prometheus)
# /etc/cityguard for the prefix /usr (as GNUInstallDirs has it), PREFIX/etc/cityguard for any
# other. Decided when installing, not when configuring: `cmake --install BUILD --prefix X` of a
# build configured for /usr must stay inside X, and DESTDIR is prepended by file(INSTALL).
install(CODE "
  if(CMAKE_INSTALL_PREFIX STREQUAL \"/usr\")
    set(cityguard_etc \"/etc/cityguard\")
  else()
    set(cityguard_etc \"\${CMAKE_INSTALL_PREFIX}/etc/cityguard\")
  endif()
  file(INSTALL \"${CMAKE_SOURCE_DIR}/packaging/cityguard.json\" DESTINATION \"\${cityguard_etc}\")
")
# systemd looks in /lib/systemd/system; under another prefix the unit is there to copy.
install(FILES ${CMAKE_SOURCE_DIR}/packaging/cityguard.service DESTINATION lib/systemd/system)

# The Debian package: `cpack -G DEB` in a build configured with -DCMAKE_INSTALL_PREFIX=/usr
# (scripts/package does both). Dependencies are read off the binary by dpkg-shlibdeps.
set(CPACK_PACKAGE_NAME cityguard)
set(CPACK_PACKAGE_VENDOR "CityGuard")
set(CPACK_PACKAGE_CONTACT "CityGuard team <cityguard@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "City safety monitoring and early-warning server")
set(CPACK_PACKAGE_DESCRIPTION
    "Ingests IoT and video-analysis readings, evaluates city-safety warning models, keeps alarms and their history, notifies and escalates, and serves a live dashboard.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_SET_DESTDIR ON)  # stage the absolute /etc/cityguard too
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# adduser for the postinst; the database may live on another machine, so PostgreSQL is a suggestion.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql-15, prometheus, mosquitto")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/packaging/debian/postinst
    ${CMAKE_SOURCE_DIR}/packaging/debian/prerm
    ${CMAKE_SOURCE_DIR}/packaging/debian/postrm
    ${CMAKE_SOURCE_DIR}/packaging/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
