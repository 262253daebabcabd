# iOS (arm64, device) cross build with Xcode's clang:
#   cmake -S . -B build-ios -G Xcode -DCMAKE_TOOLCHAIN_FILE=toolchains/ios.cmake \
#         -DMMOE_BUILD_TOOLS=OFF -DMMOE_BUILD_BENCH=OFF -DFLATC=$(which flatc) \
#         -DFLATBUFFERS_INCLUDE_DIR=$(brew --prefix flatbuffers)/include
# Builds the runtime as a static library for the app (the tools and tests do not run on iOS).
# CMake's own iOS support does the work; this file only fixes the choices. The runtime's ARM
# kernels are selected from CMAKE_SYSTEM_PROCESSOR (arm64), as in the Linux cross builds, and
# the dot-product kernels are chosen at run time (sysctl hw.optional.arm.FEAT_DotProd).
set(CMAKE_SYSTEM_NAME iOS)
set(CMAKE_OSX_ARCHITECTURES arm64)
set(CMAKE_SYSTEM_PROCESSOR arm64)
set(CMAKE_OSX_DEPLOYMENT_TARGET 13.0 CACHE STRING "Minimum iOS version")
set(CMAKE_XCODE_ATTRIBUTE_ONLY_ACTIVE_ARCH NO)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(BUILD_SHARED_LIBS OFF CACHE BOOL "iOS apps link the runtime statically")
# The host's flatc generates the schema header.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
