// GEMM micro-kernels of the optimised backends, one table per instruction set, chosen once
// per session from the CPU's features (cpu_features.h).
//
// A GEMM computes, for rows i < m and the padded columns of every segment,
//   acc[i][c] = bias[c] + sum_k W[c][k] * a[i][k]
// and writes each segment's columns to its buffer: requantized int8/int16
// (clamp(round_half_even(float(acc) * multiplier[c]), lo, hi) + zero_point, per segment) or, for
// float segments, float(acc) * multiplier[c]. Results equal the reference kernels' bytes.
#pragma once

#include <cstddef>

#include "kernels/packed_gemm.h"

namespace mmoe {

struct GemmArgs {
  const PackedGemm* gemm = nullptr;
  size_t m = 0;                         // rows (items)
  const void* a = nullptr;              // [m][a_stride] int8 or int16 (gemm->input)
  size_t a_stride = 0;                  // elements; >= gemm->k_pad
  void* const* dst = nullptr;           // per segment: [m][dst_stride[s]] of the segment's type
  const int32_t* dst_stride = nullptr;  // per segment, elements; a multiple of 16
};

// A tile's mixture for one task: out[i][c] for c < width (rows padded to 16 may be written
// whole), with the arithmetic of rows::Mix.
struct MixArgs {
  const void* const* experts = nullptr;  // per mixed expert: [batch][in_stride]
  bool experts_int16 = false;
  size_t in_stride = 0;
  const int32_t* zero_points = nullptr;  // per mixed expert
  const float* scales = nullptr;         // per mixed expert
  const float* probs = nullptr;          // [batch][n], or nullptr (weight 1)
  int32_t n = 0;
  int32_t width = 0;
  size_t batch = 0;
  MixOutput out;
  void* dst = nullptr;  // [batch][out_stride] of out.type
  size_t out_stride = 0;
};

// The per-item operations of a tile, vectorised across items or channels with exactly the
// arithmetic of kernels/row_ops.h.
struct RowKernels {
  // n floats -> int8 (numerics::QuantizeFeature).
  void (*quantize)(const float* x, size_t n, float inv_scale, int32_t zero_point, int8_t* q);
  // Logits [batch][z_stride] -> probabilities [batch][n] (rows::Softmax).
  void (*softmax)(const float* z, size_t z_stride, size_t batch, int32_t n, float* probs);
  void (*mix)(const MixArgs& args);
  // Logits [batch][z_stride] (column 0) -> scores[i * scores_stride] (rows::TaskScore).
  void (*task_output)(const float* z, size_t z_stride, size_t batch, bool sigmoid, float* scores,
                      size_t scores_stride);
  // `batch` rows of `width` floats -> int8, column c with inv_scales[c] and zero_points[c]
  // (rows::QuantizeColumns: a concat's part).
  void (*quantize_columns)(const float* x, size_t x_stride, size_t batch, int32_t width,
                           const float* inv_scales, const int32_t* zero_points, int8_t* y, size_t y_stride);
  // `batch` items' embeddings (rows::Embedding).
  void (*embedding)(const EmbeddingLookup& e, const IdBatch& ids, size_t batch, float* out,
                    size_t out_stride);
  // n floats -> int16 (numerics::QuantizeFeature16): a model whose input is int16.
  void (*quantize16)(const float* x, size_t n, float inv_scale, int16_t* q);
};

// One-row GEMMs (a batch of one). A tile kernel spends as much time finding its blocks (segment
// loops, tile dispatch, per-segment parameters) as multiplying one row by them, so a
// one-row GEMM runs from chunks resolved once when an executor is created, with every pointer
// and epilogue parameter in place: up to GemmKernels::gemv_blocks 16-column blocks with the
// same k_pad, in up to gemv_parts parts of as many blocks each, the blocks of a part reading
// the same input row (the experts' later layers: one part per expert). A chunk's kernel keeps
// one accumulator per block (or two partial sums) and broadcasts each input group once per part.
struct GemvBlock {
  void* dst;     // row 0, the block's first column, in its segment's buffer
  float lo, hi;  // requantized outputs: the segment's clamp bounds (Segment::lo, hi)
  int32_t zero_point;
  DenseOutput type;
  int8_t real_cols;  // float outputs: columns written (the rest of the block is padding)
};

struct GemvChunk;
// reverse: run the k-groups last to first (the same integer sums; see
// ProgramExecutor::gemv_reverse_).
using GemvFn = void (*)(const GemvChunk& chunk, bool reverse);

constexpr int kGemvMaxBlocks = 8;
constexpr int kGemvMaxParts = 4;

struct GemvChunk {
  GemvFn kernel;                 // for (input type, parts, blocks per part), from GemmKernels::gemv
  const PackedGemm* gemm;        // bias, bias_u8 and multiplier tables
  const void* a[kGemvMaxParts];  // part p's input row (int8 or int16, gemm->input)
  // Part p's first block's packed weights; its block b's at w[p] + b * w_block_bytes. int8
  // input: the GEMM's layout (kInt8x4: 64 bytes per k-group of 4; kInt16x2: 64 bytes per
  // k-group of 2); int16 input: Segment::weights_i8 (kInt16x2 order, int8: 32 bytes per k-group
  // of 2).
  const uint8_t* w[kGemvMaxParts];
  int32_t w_block_bytes;
  int32_t column;    // block 0's first column; block j's (part by part) is column + 16 j
  int32_t k_groups;  // k-groups per block: k_pad / 4 (kInt8x4) or k_pad / 2
  int32_t parts, blocks;
  GemvBlock block[kGemvMaxBlocks];
};

// The k-groups of a one-row chunk in order (reversed: last to first), spread over KU partial
// sums: step(u, k) adds k-group k into partial sum u (integer sums: exact in any order).
template <int KU, typename Step>
__attribute__((always_inline)) inline void ForEachKGroup(int32_t groups, bool reverse, const Step& step) {
  const int32_t last = reverse ? groups - 1 : 0, dir = reverse ? -1 : 1;
  int32_t k = 0;
  for (; k + KU <= groups; k += KU) {
#pragma GCC unroll 4
    for (int u = 0; u < KU; ++u) step(u, last + dir * (k + u));
  }
#pragma GCC unroll 4
  for (int u = 0; u + 1 < KU; ++u) {
    if (k + u < groups) step(u, last + dir * (k + u));
  }
}

struct GemmKernels {
  const char* isa;            // "avx512vnni", "avx2", "neondot", "generic", ...
  WeightLayout int8_layout;   // packing its int8-input GEMMs expect
  WeightLayout int16_layout;  // and its int16-input GEMMs (kInt16x2 or kInt16Cols)
  void (*gemm)(const GemmArgs& args);
  const RowKernels* rows;
  // Items per tile when the session leaves the choice to the backend (tile_items 0), measured
  // on the seed model (docs/performance.md): larger tiles load each GEMM's weights into L1 once
  // per more items, smaller ones keep a tile's activations in L1.
  int preferred_tile = 64;
  // The one-row kernel for chunks of `parts` (1..gemv_parts) parts of `blocks_per_part` blocks
  // (parts * blocks_per_part <= gemv_blocks), or nullptr: this ISA has none and `gemm` runs
  // one-row GEMMs too.
  GemvFn (*gemv)(bool int16_input, int parts, int blocks_per_part) = nullptr;
  int gemv_blocks = 0;  // <= kGemvMaxBlocks
  int gemv_parts = 0;   // <= kGemvMaxParts
};

// Segment `seg`'s packed weights from the 16-column block that starts at column col0: every
// layout holds k_pad weights per column and keeps each block's columns together.
template <typename T>
inline const T* BlockWeights(const Segment& seg, int32_t col0) {
  return static_cast<const T*>(seg.weights) + static_cast<size_t>(col0 - seg.begin) * seg.k_pad;
}

// Row `row` of segment `seg`'s inputs (elements of type T).
template <typename T>
inline const T* SegmentInput(const GemmArgs& args, const Segment& seg, size_t row) {
  return static_cast<const T*>(args.a) + row * args.a_stride + seg.a_offset;
}

// Row kernels per instruction set.
const RowKernels& GenericRowKernels();
const RowKernels& Avx2RowKernels();
const RowKernels& Avx512RowKernels();
const RowKernels& NeonRowKernels();

// Kernels for `isa`, or nullptr when this build has none or the CPU cannot run them.
// isa == nullptr or "": the best available.
const GemmKernels* FindGemmKernels(const char* isa);

// One-row kernels per instruction set (GemmKernels::gemv).
GemvFn Avx512VnniGemv(bool int16_input, int parts, int blocks_per_part);

// Per-ISA tables (defined only where built for the target architecture).
const GemmKernels& GenericGemmKernels();
const GemmKernels& Avx2GemmKernels();
const GemmKernels& AvxVnniGemmKernels();
const GemmKernels& Avx512VnniGemmKernels();
const GemmKernels& Avx512Vnni256GemmKernels();
const GemmKernels& NeonGemmKernels();
const GemmKernels& NeonDotGemmKernels();
const GemmKernels& NeonI8mmGemmKernels();

}  // namespace mmoe
