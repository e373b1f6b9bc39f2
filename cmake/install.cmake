# cmake --install: headers, liboflash.a and liboflash.so, oflash.pc, the
# CMake package (find_package(oflash) -> oflash::oflash, the shared library,
# and oflash::oflash_static), the oflash command and its man page.
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/oflash
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(TARGETS oflash oflash_shared EXPORT oflashTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS oflash_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_BINARY_DIR}/oflash.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${PROJECT_BINARY_DIR}/oflash.bash-completion
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME oflash)
install(FILES ${PROJECT_BINARY_DIR}/_oflash DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/site-functions)

set(OFLASH_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/oflash)
install(EXPORT oflashTargets NAMESPACE oflash:: DESTINATION ${OFLASH_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/oflashConfig.cmake.in
  ${PROJECT_BINARY_DIR}/oflashConfig.cmake INSTALL_DESTINATION ${OFLASH_CMAKE_DIR})
# 0.x: a different minor version is a different ABI and API.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(OFLASH_COMPAT SameMinorVersion)
else()
  set(OFLASH_COMPAT SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/oflashConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY ${OFLASH_COMPAT})
install(FILES ${PROJECT_BINARY_DIR}/oflashConfig.cmake ${PROJECT_BINARY_DIR}/oflashConfigVersion.cmake
        DESTINATION ${OFLASH_CMAKE_DIR})

# pkg-config: `pkg-config --cflags --libs oflash` links the shared library;
# with --static the archive's own needs (Libs.private) come too.  Unicorn,
# libxml2, libzip, libsqlite3, libpq and libjansson are opened with dlopen()
# at run time, so they are no link-time requirement.
set(OFLASH_PC_LIBS_PRIVATE "")
foreach(lib ${CMAKE_DL_LIBS} ${CMAKE_THREAD_LIBS_INIT} m)
  if(lib MATCHES "^-")
    string(APPEND OFLASH_PC_LIBS_PRIVATE " ${lib}")
  else()
    string(APPEND OFLASH_PC_LIBS_PRIVATE " -l${lib}")
  endif()
endforeach()
string(STRIP "${OFLASH_PC_LIBS_PRIVATE}" OFLASH_PC_LIBS_PRIVATE)
file(RELATIVE_PATH OFLASH_PC_RELPREFIX /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
string(REGEX REPLACE "/$" "" OFLASH_PC_RELPREFIX "${OFLASH_PC_RELPREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/oflash.pc.in ${PROJECT_BINARY_DIR}/oflash.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/oflash.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
