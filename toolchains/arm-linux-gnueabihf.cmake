# Cross build for 32-bit ARM Linux (ARMv7-A with NEON, hard-float ABI) with Debian's cross
# compiler:
#   apt-get install g++-arm-linux-gnueabihf qemu-user
#   cmake -S . -B build-armv7 -DCMAKE_TOOLCHAIN_FILE=toolchains/arm-linux-gnueabihf.cmake
# runtime/CMakeLists.txt then builds the NEON kernels. -mfpu=neon does not let GCC vectorise
# float code (NEON flushes denormals; only -funsafe-math-optimizations would allow it), so
# scalar float arithmetic stays IEEE-exact on VFP.
#
# Tests and build-time test discovery run under qemu-user (CMAKE_CROSSCOMPILING_EMULATOR),
# on the CPU named by QEMU_CPU in the environment when the tests run (QEMU_CPU=cortex-a15),
# or fixed at configure time with -DMMOE_QEMU_CPU=cortex-a15. scripts/test-arm.sh does this.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7-a)

set(CMAKE_C_COMPILER arm-linux-gnueabihf-gcc)
set(CMAKE_CXX_COMPILER arm-linux-gnueabihf-g++)
# The target's libraries come from the cross sysroot; programs (flatc) from the host.
set(CMAKE_FIND_ROOT_PATH /usr/arm-linux-gnueabihf)
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
# -Wno-psabi: GCC notes on every std::vector<double> iterator that GCC 7.1 changed how such
# arguments are passed on ARM; nothing here links against code built before GCC 7.
set(MMOE_ARMV7_FLAGS "-march=armv7-a -mfpu=neon -mfloat-abi=hard -idirafter /usr/include -Wno-psabi")
set(CMAKE_C_FLAGS_INIT "${MMOE_ARMV7_FLAGS}")
set(CMAKE_CXX_FLAGS_INIT "${MMOE_ARMV7_FLAGS}")

set(MMOE_QEMU_CPU "" CACHE STRING "qemu -cpu for tests (empty: QEMU_CPU from the environment, else qemu's default)")
find_program(MMOE_QEMU_ARM qemu-arm NO_CMAKE_FIND_ROOT_PATH)
set(CMAKE_CROSSCOMPILING_EMULATOR ${MMOE_QEMU_ARM} -L /usr/arm-linux-gnueabihf)
# The extra sysroot's shared XNNPACK needs libpthreadpool and libcpuinfo, which the runpath of
# our programs does not cover (a runpath serves direct dependencies only): the emulated
# loader gets the directory through LD_LIBRARY_PATH.
if(MMOE_SYSROOT_EXTRA)
  list(APPEND CMAKE_CROSSCOMPILING_EMULATOR -E LD_LIBRARY_PATH=${MMOE_SYSROOT_EXTRA}/usr/lib/arm-linux-gnueabihf)
endif()
if(MMOE_QEMU_CPU)
  list(APPEND CMAKE_CROSSCOMPILING_EMULATOR -cpu ${MMOE_QEMU_CPU})
endif()
