# Cross build for 64-bit ARM Linux (AArch64, Advanced SIMD) with Debian's cross compiler:
#   apt-get install g++-aarch64-linux-gnu qemu-user
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=toolchains/aarch64-linux-gnu.cmake
# runtime/CMakeLists.txt then builds the NEON and the dot-product (SDOT) kernels.
#
# Tests and build-time test discovery run under qemu-user (CMAKE_CROSSCOMPILING_EMULATOR).
# The emulated CPU is qemu's default ("max", with the dot product), or QEMU_CPU from the
# environment when the tests run (QEMU_CPU=cortex-a53: a core without it), or fixed at
# configure time with -DMMOE_QEMU_CPU=cortex-a53. scripts/test-arm.sh does all of this.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# The target's libraries come from the cross sysroot; programs (flatc) from the host.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
# scripts/make-sysroot.sh unpacks Debian's XNNPACK for the target; -DMMOE_SYSROOT_EXTRA=DIR
# adds it, so that the xnnpack backend cross-builds too.
if(MMOE_SYSROOT_EXTRA)
  list(APPEND CMAKE_FIND_ROOT_PATH ${MMOE_SYSROOT_EXTRA})
endif()
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
# FlatBuffers, doctest, CLI11, nlohmann-json (and Eigen) are header-only: the host's copies
# in /usr/include and their CMake packages serve the target too.
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
# /usr/include is searched last (-idirafter), so the cross glibc and libstdc++ headers win
# over the host's; CMake then sees it as a compiler default and never adds -I/usr/include.
set(CMAKE_C_FLAGS_INIT "-idirafter /usr/include")
set(CMAKE_CXX_FLAGS_INIT "-idirafter /usr/include")

set(MMOE_QEMU_CPU "" CACHE STRING "qemu -cpu for tests (empty: QEMU_CPU from the environment, else qemu's default)")
find_program(MMOE_QEMU_AARCH64 qemu-aarch64 NO_CMAKE_FIND_ROOT_PATH)
set(CMAKE_CROSSCOMPILING_EMULATOR ${MMOE_QEMU_AARCH64} -L /usr/aarch64-linux-gnu)
# The extra sysroot's shared XNNPACK needs libpthreadpool and libcpuinfo, which the runpath of
# our programs does not cover (a runpath serves direct dependencies only): the emulated
# loader gets the directory through LD_LIBRARY_PATH.
if(MMOE_SYSROOT_EXTRA)
  list(APPEND CMAKE_CROSSCOMPILING_EMULATOR -E LD_LIBRARY_PATH=${MMOE_SYSROOT_EXTRA}/usr/lib/aarch64-linux-gnu)
endif()
if(MMOE_QEMU_CPU)
  list(APPEND CMAKE_CROSSCOMPILING_EMULATOR -cpu ${MMOE_QEMU_CPU})
endif()
