# Cross build for 64-bit ARM Linux (AArch64, Advanced SIMD) with Debian's cross compiler:
#   apt-get install g++-aarch64-linux-gnu qemu-user
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=toolchains/aarch64-linux-gnu.cmake
# runtime/CMakeLists.txt then builds the NEON and the dot-product (SDOT) kernels.
#
# Tests and build-time test discovery run under qemu-user (CMAKE_CROSSCOMPILING_EMULATOR).
# The emulated CPU is qemu's default ("max", with the dot product), or QEMU_CPU from the
# environment when the tests run (QEMU_CPU=cortex-a53: a core without it), or fixed at
# configure time with -DMMOE_QEMU_CPU=cortex-a53. scripts/test-arm.sh does all of this.
set(MMOE_CROSS_TRIPLE aarch64-linux-gnu)
set(MMOE_CROSS_PROCESSOR aarch64)
set(MMOE_CROSS_QEMU qemu-aarch64)
set(MMOE_CROSS_FLAGS "")
include(${CMAKE_CURRENT_LIST_DIR}/linux-cross.cmake)
