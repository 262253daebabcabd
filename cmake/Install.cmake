# Installs the runtime as a CMake package (find_package(mmoe) -> mmoe::runtime) and with a
# pkg-config file (mmoe.pc), for app build systems. Only the runtime and its public headers
# are installed: apps need nothing else.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set_target_properties(mmoe_runtime PROPERTIES OUTPUT_NAME mmoe EXPORT_NAME runtime)
install(TARGETS mmoe_runtime mmoe_schema_headers EXPORT mmoeTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/runtime/include/mmoe DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT mmoeTargets NAMESPACE mmoe:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/mmoe)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/mmoeConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/mmoeConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/mmoe)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/mmoeConfigVersion.cmake
                                 COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/mmoeConfig.cmake ${PROJECT_BINARY_DIR}/mmoeConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/mmoe)

# pkg-config: a static runtime also needs its private link dependencies.
set(MMOE_PC_PRIVATE_LIBS "-lpthread ${MMOE_PC_EXTRA_LIBS}")
# The .pc file finds its prefix relative to itself, so an installed tree can be moved.
file(RELATIVE_PATH MMOE_PC_TO_PREFIX "${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig" "${CMAKE_INSTALL_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/mmoe.pc.in ${PROJECT_BINARY_DIR}/mmoe.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/mmoe.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
