// AVX-VNNI (VEX-encoded) instance of the 256-bit VNNI GEMM.
// VEX encoding: the {vex} pseudo-prefix, and registers ymm0-15 only ("x").
#define MMOE_VNNI256_PREFIX "%{vex%} "  // %{ %}: literal braces in GCC asm templates
#define MMOE_VNNI256_REG "x"
#define MMOE_VNNI256_NAME "avxvnni"
#define MMOE_VNNI256_TABLE AvxVnniGemmKernels
#define MMOE_VNNI256_ROWS Avx2RowKernels
#include "kernels/x86/gemm_vnni256.inc"
