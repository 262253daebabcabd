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
set(MMOE_CROSS_TRIPLE arm-linux-gnueabihf)
set(MMOE_CROSS_PROCESSOR armv7-a)
set(MMOE_CROSS_QEMU qemu-arm)
# -Wno-psabi: GCC notes on every std::vector<double> iterator that GCC 7.1 changed how such
# arguments are passed on ARM; nothing here links against code built before GCC 7.
set(MMOE_CROSS_FLAGS "-march=armv7-a -mfpu=neon -mfloat-abi=hard -Wno-psabi")
include(${CMAKE_CURRENT_LIST_DIR}/linux-cross.cmake)
