# Android (NDK) cross build: a thin wrapper over the NDK's own toolchain file.
#   export ANDROID_NDK=/path/to/android-ndk-r26
#   cmake -S . -B build-android-arm64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=toolchains/android.cmake \
#         -DANDROID_ABI=arm64-v8a -DMMOE_BUILD_TOOLS=OFF -DMMOE_BUILD_BENCH=OFF
# ANDROID_ABI: arm64-v8a (default; NEON, and SDOT where the phone has it) or armeabi-v7a (NEON).
# ANDROID_PLATFORM: the minimum API level (default android-24; getauxval needs 18+).
# Only the runtime (and examples/apps) build for the device; flatc runs on the host, found on
# PATH (apt-get install flatbuffers-compiler) or given with -DFLATC=/path/to/flatc. FlatBuffers'
# headers come from -DFLATBUFFERS_INCLUDE_DIR=... (the host's /usr/include works: header-only).
# The same runtime/CMakeLists.txt as the Linux cross builds picks the ARM kernels from
# CMAKE_SYSTEM_PROCESSOR (aarch64 / armv7-a), which the NDK sets from ANDROID_ABI.
if(NOT DEFINED ENV{ANDROID_NDK} AND NOT ANDROID_NDK)
  message(FATAL_ERROR "toolchains/android.cmake: set ANDROID_NDK (environment) to the NDK's directory")
endif()
if(NOT ANDROID_NDK)
  set(ANDROID_NDK $ENV{ANDROID_NDK})
endif()
if(NOT ANDROID_ABI)
  set(ANDROID_ABI arm64-v8a)
endif()
if(NOT ANDROID_PLATFORM)
  set(ANDROID_PLATFORM android-24)
endif()
set(ANDROID_STL c++_static)
if(ANDROID_ABI STREQUAL "armeabi-v7a")
  set(ANDROID_ARM_NEON ON)
endif()
include(${ANDROID_NDK}/build/cmake/android.toolchain.cmake)
# Host programs (flatc) from the host; the device's libraries from the NDK sysroot.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
# Header-only host packages (CLI11, nlohmann-json) for the optional command-line tool.
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
