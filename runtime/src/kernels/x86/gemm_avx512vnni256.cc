// AVX-512 VNNI (EVEX-encoded, 256-bit) instance of the 256-bit VNNI GEMM.
// EVEX encoding: any of ymm0-31 ("v").
#define MMOE_VNNI256_PREFIX ""
#define MMOE_VNNI256_REG "v"
#define MMOE_VNNI256_NAME "avx512vnni256"
#define MMOE_VNNI256_TABLE Avx512Vnni256GemmKernels
#define MMOE_VNNI256_ROWS Avx512RowKernels
#include "kernels/x86/gemm_vnni256.inc"
