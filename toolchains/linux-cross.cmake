# The part of the Linux cross toolchains (aarch64-linux-gnu.cmake, arm-linux-gnueabihf.cmake)
# that is the same for every Debian cross compiler. The including file sets
#   MMOE_CROSS_TRIPLE     the GNU triple: compiler prefix, /usr/<triple> sysroot, multiarch dir
#   MMOE_CROSS_PROCESSOR  CMAKE_SYSTEM_PROCESSOR
#   MMOE_CROSS_QEMU       the qemu-user program that runs the target's binaries
#   MMOE_CROSS_FLAGS      extra C and C++ flags (may be empty)
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${MMOE_CROSS_PROCESSOR})

set(CMAKE_C_COMPILER ${MMOE_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${MMOE_CROSS_TRIPLE}-g++)
# The target's libraries come from the cross sysroot; programs (flatc) from the host.
set(CMAKE_FIND_ROOT_PATH /usr/${MMOE_CROSS_TRIPLE})
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
set(CMAKE_C_FLAGS_INIT "${MMOE_CROSS_FLAGS} -idirafter /usr/include")
set(CMAKE_CXX_FLAGS_INIT "${MMOE_CROSS_FLAGS} -idirafter /usr/include")

set(MMOE_QEMU_CPU "" CACHE STRING "qemu -cpu for tests (empty: QEMU_CPU from the environment, else qemu's default)")
find_program(MMOE_QEMU_PROGRAM ${MMOE_CROSS_QEMU} NO_CMAKE_FIND_ROOT_PATH)
set(CMAKE_CROSSCOMPILING_EMULATOR ${MMOE_QEMU_PROGRAM} -L /usr/${MMOE_CROSS_TRIPLE})
# The extra sysroot's shared XNNPACK needs libpthreadpool and libcpuinfo, which the runpath of
# our programs does not cover (a runpath serves direct dependencies only): the emulated
# loader gets the directory through LD_LIBRARY_PATH.
if(MMOE_SYSROOT_EXTRA)
  list(APPEND CMAKE_CROSSCOMPILING_EMULATOR -E LD_LIBRARY_PATH=${MMOE_SYSROOT_EXTRA}/usr/lib/${MMOE_CROSS_TRIPLE})
endif()
if(MMOE_QEMU_CPU)
  list(APPEND CMAKE_CROSSCOMPILING_EMULATOR -cpu ${MMOE_QEMU_CPU})
endif()
