// Code shared by the ARM GEMM kernels (gemm_neon.cc for ARMv7 NEON and AArch64 Advanced SIMD,
// gemm_neondot.cc for AArch64 SDOT): the tiling over rows and 16-column blocks, the vector
// epilogue of gemm_epilogue.h, and the int16-pair GEMM (kInt16x2) both run on int16 inputs.
//
// A tile is MR rows x one 16-column block. Its accumulators are 4 int32x4 per row (columns
// c..c+3 in vector c/4), so the block's weights, loaded once per k step, serve MR rows.
#pragma once

#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "kernels/gemm.h"

namespace mmoe::neon {
// Internal linkage: gemm_neondot.cc compiles this header with other instruction-set flags,
// and the linker must not pick its copies for code that runs on CPUs without them.
namespace {

struct TileArgs {
  const GemmArgs* args;
  size_t segment;
  int32_t col0;  // first column of the tile's block, a multiple of 16
  size_t row0;
};

// numerics::RoundHalfEven, then conversion to int32.
inline int32x4_t RoundToInt(float32x4_t v) {
#if defined(__aarch64__)
  return vcvtnq_s32_f32(v);  // fcvtns: to nearest, ties to even
#else
  // ARMv7 NEON converts by truncation only: round with numerics::RoundHalfEven's magic
  // number first (exact for |v| <= 2^22; v is clamped to int16 range), then convert the
  // integer-valued float.
  const float32x4_t magic = vdupq_n_f32(12582912.0f);
  return vcvtq_s32_f32(vsubq_f32(vaddq_f32(v, magic), magic));
#endif
}

// StoreBlockScalar for one row of one block: requantizes (or scales) 16 accumulators into
// `dst`, which points at the block's first column in the row. Float segments hold only their
// real columns (real_cols = segment end - col0); requantized rows are padded to 16.
inline void StoreBlock(const int32x4_t (&acc)[4], const PackedGemm& g, const Segment& seg, int32_t col0,
                       DenseOutput type, int32_t real_cols, void* dst) {
  float32x4_t v[4];
  for (int q = 0; q < 4; ++q) v[q] = vmulq_f32(vcvtq_f32_s32(acc[q]), vld1q_f32(g.multiplier + col0 + 4 * q));
  if (type == DenseOutput::kReal) {
    float* out = static_cast<float*>(dst);
    if (real_cols >= kBlockColumns) {
      for (int q = 0; q < 4; ++q) vst1q_f32(out + 4 * q, v[q]);
    } else {
      float lanes[kBlockColumns];
      for (int q = 0; q < 4; ++q) vst1q_f32(lanes + 4 * q, v[q]);
      std::memcpy(out, lanes, static_cast<size_t>(real_cols) * sizeof(float));
    }
    return;
  }
  int32x4_t r[4];
  const float32x4_t lo = vdupq_n_f32(seg.lo), hi = vdupq_n_f32(seg.hi);
  const int32x4_t zp = vdupq_n_s32(seg.zero_point);
  for (int q = 0; q < 4; ++q) {
    // Clamped before rounding, as numerics::Requantize does. No NaN can occur here (the
    // multipliers are finite), so vmax/vmin agree with numerics::Clamp.
    const float32x4_t c = vminq_f32(vmaxq_f32(v[q], lo), hi);
    r[q] = vaddq_s32(RoundToInt(c), zp);
  }
  // The values are already in the output type's range, so the saturating narrows are exact.
  const int16x8_t q01 = vcombine_s16(vqmovn_s32(r[0]), vqmovn_s32(r[1]));
  const int16x8_t q23 = vcombine_s16(vqmovn_s32(r[2]), vqmovn_s32(r[3]));
  if (type == DenseOutput::kInt16) {
    int16_t* out = static_cast<int16_t*>(dst);
    vst1q_s16(out, q01);
    vst1q_s16(out + 8, q23);
  } else {
    vst1q_s8(static_cast<int8_t*>(dst), vcombine_s8(vqmovn_s16(q01), vqmovn_s16(q23)));
  }
}

// Loads the bias of a block into every row's accumulators.
template <int MR>
inline void InitAccumulators(const int32_t* bias, int32x4_t (&acc)[MR][4]) {
  for (int q = 0; q < 4; ++q) {
    const int32x4_t b = vld1q_s32(bias + 4 * q);
    for (int r = 0; r < MR; ++r) acc[r][q] = b;
  }
}

// Writes the MR rows of a finished tile to its segment's buffer.
template <int MR>
inline void StoreTile(const TileArgs& t, const int32x4_t (&acc)[MR][4]) {
  const GemmArgs& args = *t.args;
  const PackedGemm& g = *args.gemm;
  const Segment& seg = g.segments[t.segment];
  const DenseOutput type = g.segment_types[t.segment];
  const size_t esize = type == DenseOutput::kInt8 ? 1 : (type == DenseOutput::kInt16 ? 2 : 4);
  const size_t stride = static_cast<size_t>(args.dst_stride[t.segment]);
  uint8_t* dst = static_cast<uint8_t*>(args.dst[t.segment]);
  for (int r = 0; r < MR; ++r) {
    StoreBlock(acc[r], g, seg, t.col0, type, seg.end - t.col0,
               dst + ((t.row0 + r) * stride + static_cast<size_t>(t.col0 - seg.begin)) * esize);
  }
}

// Runs kernel.template Tile<rows>(t) for a remainder of `rows` < kMaxRows rows.
template <int MR, typename Kernel>
inline void RunRemainder(const Kernel& kernel, const TileArgs& t, size_t rows) {
  if constexpr (MR > 0) {
    if (rows == MR) return kernel.template Tile<MR>(t);
    RunRemainder<MR - 1>(kernel, t, rows);
  }
}

// Every segment's 16-column blocks, each over all rows in tiles of kMaxRows rows (and one
// smaller tile for the rest). Kernel is a class with `template <int MR> void Tile(const
// TileArgs&) const`.
template <int kMaxRows, typename Kernel>
void RunTiles(const GemmArgs& args, const Kernel& kernel) {
  const PackedGemm& g = *args.gemm;
  for (size_t s = 0; s < g.segments.size(); ++s) {
    const Segment& seg = g.segments[s];
    for (int32_t col0 = seg.begin; col0 < seg.end; col0 += kBlockColumns) {
      TileArgs t{&args, s, col0, 0};
      for (; t.row0 + kMaxRows <= args.m; t.row0 += kMaxRows) kernel.template Tile<kMaxRows>(t);
      RunRemainder<kMaxRows - 1>(kernel, t, args.m - t.row0);
    }
  }
}

}  // namespace

// GEMM over kInt16x2 weights (int16 pairs), for int8 or int16 inputs. Defined in
// gemm_neon.cc, compiled for the baseline instruction set, so the dot-product kernels can
// call it on int16 inputs.
void GemmInt16x2(const GemmArgs& args);

}  // namespace mmoe::neon
