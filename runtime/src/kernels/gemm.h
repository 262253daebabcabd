// GEMM micro-kernels of the optimised backends, one table per instruction set, chosen once
// per session from the CPU's features (cpu_features.h).
//
// A GEMM computes, for rows i < m and the padded columns of every segment,
//   acc[i][c] = bias[c] + sum_k W[c][k] * a[i][k]
// and writes each segment's columns to its buffer: requantized int8/int16
// (clamp(round_half_even(float(acc) * multiplier[c]), lo[c], hi[c]) + zero_point[c]) or, for
// float segments, float(acc) * multiplier[c]. Results equal the reference kernels' bytes.
#pragma once

#include <cstddef>

#include "plan/program.h"

namespace mmoe {

struct GemmArgs {
  const PackedGemm* gemm = nullptr;
  size_t m = 0;                         // rows (items)
  const void* a = nullptr;              // [m][a_stride] int8 or int16 (gemm->input)
  size_t a_stride = 0;                  // elements; >= gemm->k_pad
  void* const* dst = nullptr;           // per segment: [m][dst_stride[s]] of the segment's type
  const int32_t* dst_stride = nullptr;  // per segment, elements; a multiple of 16
};

struct GemmKernels {
  const char* isa;           // "avx512vnni", "avx2", "neondot", "generic", ...
  WeightLayout int8_layout;  // packing its int8-input GEMMs expect
  void (*gemm)(const GemmArgs& args);
};

// Kernels for `isa`, or nullptr when this build has none or the CPU cannot run them.
// isa == nullptr or "": the best available.
const GemmKernels* FindGemmKernels(const char* isa);

// Per-ISA tables (defined only where built for the target architecture).
const GemmKernels& GenericGemmKernels();
const GemmKernels& Avx2GemmKernels();
const GemmKernels& AvxVnniGemmKernels();
const GemmKernels& Avx512VnniGemmKernels();
const GemmKernels& Avx512Vnni256GemmKernels();
const GemmKernels& NeonGemmKernels();
const GemmKernels& NeonDotGemmKernels();

}  // namespace mmoe
