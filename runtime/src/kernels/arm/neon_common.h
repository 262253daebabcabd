// Code shared by the ARM GEMM kernels (gemm_neon.cc for ARMv7 NEON and AArch64 Advanced SIMD,
// gemm_neondot.cc for AArch64 SDOT): the tiling over rows and 16-column blocks and the vector
// epilogues.
//
// A tile is MR rows x one 16-column block. Its accumulators are 4 int32x4 per row (columns
// c..c+3 in vector c/4), so the block's weights, loaded once per k step, serve MR rows. Each
// kernel has two tiles: kMaxRows rows, and one row for the rest of a batch (and batch 1).
#pragma once

#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "kernels/gemm.h"

namespace mmoe::neon {
// How a tile writes its rows: one segment's destination and requantization, set up once per
// segment (RunTiles).
struct TileOutput {
  // kFast8 / kFast16: int8 / int16 outputs of a segment with small products
  // (Segment::small_products; int16 ones with zero point 0, as the verifier requires of every
  // int16 tensor): round first, then saturate and clamp in integers, inlined in the tile.
  // kOther: float outputs, and the general requantization, out of line.
  enum Mode : uint8_t { kFast8, kFast16, kOther } mode = kOther;
  bool clamp = false;                 // the output range is narrower than the type's
  int16_t zero_point = 0;             // kFast8's
  int16_t min = 0, max = 0;           // the output range (out_min, out_max), for the clamp
  const float* multiplier = nullptr;  // per column of the GEMM
  uint8_t* dst = nullptr;             // the segment's column `begin`, row 0
  size_t row_bytes = 0;               // between rows
  size_t esize = 1;                   // bytes per element
  const Segment* seg = nullptr;
  DenseOutput type = DenseOutput::kInt8;
};

// The rows of a tile through the general epilogue, out of line (gemm_neon.cc, baseline NEON,
// shared by every ARM kernel file): float outputs and large products are rare (logits,
// extreme weights), so their code stays out of the tiles. The accumulators arrive as stored
// lanes (rows x 16), so that the tile never takes their address.
void StoreRowsOther(const int32_t* lanes, int rows, const TileOutput& o, int32_t col0, uint8_t* dst);

// Internal linkage: gemm_neondot.cc compiles this header with other instruction-set flags,
// and the linker must not pick its copies for code that runs on CPUs without them.
namespace {

// numerics::RoundHalfEven, then conversion to int32.
inline int32x4_t RoundToInt(float32x4_t v) {
#if defined(__aarch64__)
  return vcvtnq_s32_f32(v);  // fcvtns: to nearest, ties to even
#else
  // ARMv7 NEON converts by truncation only: round with numerics::RoundHalfEven's magic
  // number first, then convert the integer-valued float. Exact for |v| <= 2^22 (clamped
  // values); beyond, v is already an integer and comes back within 2 of itself, far outside
  // int16 on the same side, which is all the saturating epilogue needs.
  const float32x4_t magic = vdupq_n_f32(12582912.0f);
  return vcvtq_s32_f32(vsubq_f32(vaddq_f32(v, magic), magic));
#endif
}

inline TileOutput MakeTileOutput(const GemmArgs& args, size_t s) {
  const PackedGemm& g = *args.gemm;
  const Segment& seg = g.segments[s];
  TileOutput o;
  o.type = g.segment_types[s];
  o.esize = o.type == DenseOutput::kInt8 ? 1 : (o.type == DenseOutput::kInt16 ? 2 : 4);
  o.row_bytes = static_cast<size_t>(args.dst_stride[s]) * o.esize;
  o.dst = static_cast<uint8_t*>(args.dst[s]);
  o.multiplier = g.multiplier;
  o.seg = &seg;
  if (o.type == DenseOutput::kReal || !seg.small_products ||
      (o.type == DenseOutput::kInt16 && seg.zero_point != 0))
    return o;
  // lo and hi are integers (output min and max - zero point), so clamping after rounding
  // gives numerics::Requantize's bytes.
  const int32_t lo = static_cast<int32_t>(seg.lo) + seg.zero_point,
                hi = static_cast<int32_t>(seg.hi) + seg.zero_point;
  o.min = static_cast<int16_t>(lo);
  o.max = static_cast<int16_t>(hi);
  o.zero_point = static_cast<int16_t>(seg.zero_point);
  if (o.type == DenseOutput::kInt8) {
    o.mode = TileOutput::kFast8;
    o.clamp = lo > -128 || hi < 127;
  } else {
    o.mode = TileOutput::kFast16;
    o.clamp = lo > -32768 || hi < 32767;
  }
  return o;
}

// Rounded (exact in int32: small products keep |v| < 2^30), saturated to int16: 8 columns of
// one row.
inline int16x8_t RoundNarrow(int32x4_t a0, int32x4_t a1, float32x4_t m0, float32x4_t m1) {
  const int32x4_t r0 = RoundToInt(vmulq_f32(vcvtq_f32_s32(a0), m0));
  const int32x4_t r1 = RoundToInt(vmulq_f32(vcvtq_f32_s32(a1), m1));
  return vcombine_s16(vqmovn_s32(r0), vqmovn_s32(r1));
}

// Writes the MR rows of a finished tile (block col0, rows from `dst`).
//   int8:  saturate to int16, add the zero point saturating, saturate to int8, clamp. Where the
//          exact value leaves int16, the saturated one stays outside int8 on the same side, so
//          every step keeps clamp(round(v) + zp, min, max).
//   int16: saturate and clamp (the zero point is 0).
template <int MR>
__attribute__((always_inline)) inline void StoreRows(const int32x4_t (&acc)[MR][4], const TileOutput& o,
                                                     int32_t col0, uint8_t* dst) {
  if (o.mode == TileOutput::kOther) {
    int32_t lanes[MR][kBlockColumns];
    for (int r = 0; r < MR; ++r)
      for (int q = 0; q < 4; ++q) vst1q_s32(lanes[r] + 4 * q, acc[r][q]);
    return StoreRowsOther(lanes[0], MR, o, col0, dst);
  }
  // Every field in a local first: the stores below may alias `o` as far as the compiler knows.
  const float* mp = o.multiplier + col0;
  const float32x4_t m0 = vld1q_f32(mp), m1 = vld1q_f32(mp + 4), m2 = vld1q_f32(mp + 8),
                    m3 = vld1q_f32(mp + 12);
  const bool clamp = o.clamp;
  const size_t row_bytes = o.row_bytes;
  if (o.mode == TileOutput::kFast8) {
    const int16x8_t zp = vdupq_n_s16(o.zero_point);
    const int8x16_t lo = vdupq_n_s8(static_cast<int8_t>(o.min)), hi = vdupq_n_s8(static_cast<int8_t>(o.max));
    for (int r = 0; r < MR; ++r) {
      const int16x8_t h0 = vqaddq_s16(RoundNarrow(acc[r][0], acc[r][1], m0, m1), zp);
      const int16x8_t h1 = vqaddq_s16(RoundNarrow(acc[r][2], acc[r][3], m2, m3), zp);
      int8x16_t b = vcombine_s8(vqmovn_s16(h0), vqmovn_s16(h1));
      if (clamp) b = vminq_s8(vmaxq_s8(b, lo), hi);
      vst1q_s8(reinterpret_cast<int8_t*>(dst + r * row_bytes), b);
    }
  } else {
    const int16x8_t lo = vdupq_n_s16(o.min), hi = vdupq_n_s16(o.max);
    for (int r = 0; r < MR; ++r) {
      int16x8_t h0 = RoundNarrow(acc[r][0], acc[r][1], m0, m1);
      int16x8_t h1 = RoundNarrow(acc[r][2], acc[r][3], m2, m3);
      if (clamp) {
        h0 = vminq_s16(vmaxq_s16(h0, lo), hi);
        h1 = vminq_s16(vmaxq_s16(h1, lo), hi);
      }
      int16_t* out = reinterpret_cast<int16_t*>(dst + r * row_bytes);
      vst1q_s16(out, h0);
      vst1q_s16(out + 8, h1);
    }
  }
}

// No code: keeps the loads of a kernel's next k step below this point. GCC's scheduler
// otherwise hoists the weight loads of several steps to the top of a loop iteration, which
// needs more vector registers than there are and spills accumulators (docs/performance.md,
// "ARM").
inline void StepBarrier() { asm volatile("" ::: "memory"); }

// Loads the bias of a block into every row's accumulators.
template <int MR>
inline void InitAccumulators(const int32_t* bias, int32x4_t (&acc)[MR][4]) {
  for (int q = 0; q < 4; ++q) {
    const int32x4_t b = vld1q_s32(bias + 4 * q);
    for (int r = 0; r < MR; ++r) acc[r][q] = b;
  }
}

// One tile's inputs: rows [row0, row0 + MR) of segment `seg`'s inputs from `a` (row stride
// a_stride elements), block col0's packed weights, and where its outputs go.
template <typename In, typename W>
struct Tile {
  const In* a;
  size_t a_stride;
  const W* w;
  int32_t k_pad;
  int32_t col0;
  const int32_t* bias;
  const int32_t* bias_u8;  // PackedGemm::bias_u8 from column col0
  uint8_t* dst;            // row row0, column col0 of the segment's buffer
};

// Every segment's 16-column blocks, each over all rows in tiles of kMaxRows rows and one-row
// tiles for the rest. Kernel is a class with `template <int MR> void Run(const Tile<In, W>&,
// const TileOutput&) const` for MR = kMaxRows and 1.
template <int kMaxRows, typename In, typename W, typename Kernel>
void RunTiles(const GemmArgs& args, const Kernel& kernel) {
  const PackedGemm& g = *args.gemm;
  for (size_t s = 0; s < g.segments.size(); ++s) {
    const Segment& seg = g.segments[s];
    const TileOutput out = MakeTileOutput(args, s);
    for (int32_t col0 = seg.begin; col0 < seg.end; col0 += kBlockColumns) {
      Tile<In, W> t{SegmentInput<In>(args, seg, 0),
                    args.a_stride,
                    BlockWeights<W>(seg, col0),
                    seg.k_pad,
                    col0,
                    g.bias + col0,
                    g.bias_u8 + col0,
                    out.dst + static_cast<size_t>(col0 - seg.begin) * out.esize};
      size_t row = 0;
      for (; row + kMaxRows <= args.m; row += kMaxRows) {
        kernel.template Run<kMaxRows>(t, out);
        t.a += kMaxRows * args.a_stride;
        t.dst += kMaxRows * out.row_bytes;
      }
      for (; row < args.m; ++row) {
        kernel.template Run<1>(t, out);
        t.a += args.a_stride;
        t.dst += out.row_bytes;
      }
    }
  }
}

}  // namespace

}  // namespace mmoe::neon
