// A GEMM as the kernels read it: segments of output columns, each with its own inputs and
// packed weights, and the per-column bias and multiplier tables. Weight layouts belong to the
// kernels that read them; the planner (plan/) packs through PackedWeightIndex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/kernels.h"

namespace mmoe {

// Packed weight layouts. Output columns come in blocks of 16 (zero-padded); within a block
// the weights of one k-group are contiguous, column-major:
//   kInt8x4:  int8,  [n_pad/16][k_pad/4][16][4]   (x86 VNNI vpdpbusd, ARM sdot)
//   kInt16x2: int16, [n_pad/16][k_pad/2][16][2]   (pmaddwd / vpdpwssd, smlal; int16 inputs)
//   kInt8Rows: int8, [n_pad][k_pad], one contiguous row per column (portable dot products)
//   kInt16Cols: int16, [n_pad/16][k_pad][16]          (ARM smlal by input lane; int16 inputs)
//   kInt8x8:  int8,  [n_pad/16][k_pad/8][8][2][8], column pairs of 8 k (ARM smmla); when
//             k_pad % 8 == 4 the last 4 k of a block follow as one kInt8x4 group [16][4]
enum class WeightLayout : uint8_t { kInt8x4 = 0, kInt16x2 = 1, kInt8Rows = 2, kInt16Cols = 3, kInt8x8 = 4 };
constexpr int kWeightLayouts = 5;

// Whether a layout holds int16 weights.
inline bool Int16Weights(WeightLayout layout) {
  return layout == WeightLayout::kInt16x2 || layout == WeightLayout::kInt16Cols;
}

constexpr int kBlockColumns = 16;
constexpr int kPadK = 4;  // every activation row is padded to a multiple of 4 elements

// Where weight (column `col` of a segment, input `k`) goes in the segment's packed weights.
inline size_t PackedWeightIndex(WeightLayout layout, int32_t k_pad, int32_t col, int32_t k) {
  const size_t block = static_cast<size_t>(col / kBlockColumns),
               cc = static_cast<size_t>(col % kBlockColumns);
  switch (layout) {
    case WeightLayout::kInt8Rows:
      return static_cast<size_t>(col) * static_cast<size_t>(k_pad) + static_cast<size_t>(k);
    case WeightLayout::kInt8x4:
      return ((block * static_cast<size_t>(k_pad / 4) + static_cast<size_t>(k / 4)) * kBlockColumns + cc) *
                 4 +
             static_cast<size_t>(k % 4);
    case WeightLayout::kInt16Cols:
      return (block * static_cast<size_t>(k_pad) + static_cast<size_t>(k)) * kBlockColumns + cc;
    case WeightLayout::kInt8x8: {
      const int32_t full = k_pad / 8 * 8;  // k in whole groups of 8
      const size_t base = block * kBlockColumns * static_cast<size_t>(k_pad);
      if (k < full) {
        return base + static_cast<size_t>(k / 8) * 8 * kBlockColumns + cc / 2 * 16 + cc % 2 * 8 +
               static_cast<size_t>(k % 8);
      }
      return base + static_cast<size_t>(full) * kBlockColumns + cc * 4 + static_cast<size_t>(k - full);
    }
    case WeightLayout::kInt16x2:
      break;
  }
  return ((block * static_cast<size_t>(k_pad / 2) + static_cast<size_t>(k / 2)) * kBlockColumns + cc) * 2 +
         static_cast<size_t>(k % 2);
}

// One layer (or several narrow ones side by side) of a GEMM: a run of output columns with its
// own weights and inputs, written to one destination with one element type.
struct Segment {
  int32_t begin = 0;              // first column in the GEMM's per-column tables, a multiple of 16
  int32_t end = 0;                // one past the last real column
  int32_t k = 0, k_pad = 0;       // the layer's inputs; k_pad is a multiple of 4
  int32_t a_offset = 0;           // element of each input row where the layer's inputs start
  const void* weights = nullptr;  // packed (layout of the GEMM), first block = column `begin`
  // The one-row kernels' int8 copy of weights the GEMM holds as int16 (half the bytes a
  // batch-1 call brings into L1), where the kernels have one-row kernels (x86 so far):
  // int16-input GEMMs in the GEMM's order (kInt16x2), widened as loaded; int8-input GEMMs of
  // a kInt16x2 layout (AVX2) in kInt8x4 order. Otherwise nullptr.
  const int8_t* weights_i8 = nullptr;
  // Requantized segments: clamp bounds (output min - zp, max - zp) and the zero point, which
  // are per layer. Padding columns (multiplier 0) requantize to the zero point.
  float lo = 0.0f, hi = 0.0f;
  int32_t zero_point = 0;
  // |float(acc) * multiplier| < 2^30 for every column and any input (bounded from the weights,
  // bias and input type when packed): rounding cannot overflow int32, so a vector epilogue may
  // round first and clamp after, in integers, with saturating narrowing. Same bytes: lo and hi
  // are integers, so clamp-then-round equals round-then-clamp.
  bool small_products = false;
};

struct PackedGemm {
  int32_t n_pad = 0;  // outputs (all segments); a multiple of 16
  ElementType input = ElementType::kInt8;
  WeightLayout layout = WeightLayout::kInt8x4;
  // Per padded column: folded bias for the signed input; for int8 input also the bias for the
  // input shifted to uint8 (x + 128), which vpdpbusd needs: bias - 128 * sum_k w.
  const int32_t* bias = nullptr;
  const int32_t* bias_u8 = nullptr;
  const float* multiplier = nullptr;
  std::vector<Segment> segments;
  std::vector<DenseOutput> segment_types;  // per segment (its destination's type)
  int64_t macs = 0;                        // real (unpadded) multiply-accumulates per item
};

}  // namespace mmoe
