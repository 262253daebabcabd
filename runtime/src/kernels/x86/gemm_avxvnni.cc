// AVX-VNNI (VEX-encoded) instance of the 256-bit VNNI GEMM.
#define MMOE_DPBUSD256 _mm256_dpbusd_avx_epi32
#define MMOE_DPWSSD256 _mm256_dpwssd_avx_epi32
#define MMOE_VNNI256_NAME "avxvnni"
#define MMOE_VNNI256_TABLE AvxVnniGemmKernels
#define MMOE_VNNI256_ROWS Avx2RowKernels
#include "kernels/x86/gemm_vnni256.inc"
