// qs8/qs16 GEMM for ARMv7 NEON and AArch64 Advanced SIMD, on int16 weight pairs (kInt16x2)
// for both input types: int8 inputs are widened to int16, and every product is formed by a
// widening multiply-accumulate into int32 (vmlal), which is exact. (Multiplying int8 by int8
// into int16 and adding two products would not be: 2 * 128 * 128 overflows int16.)
//
// The weights of one k-pair are de-interleaved once (vuzp) into the first and second k of 8
// columns; vmlal_lane then multiplies them by one input lane for 4 columns at a time.
#include <arm_neon.h>

#include <cstring>

#include "kernels/arm/neon_common.h"
#include "kernels/gemm.h"

namespace mmoe {
namespace neon {
namespace {

// Four consecutive inputs of a row, widened to int16 (k_pad is a multiple of 4, so they are
// inside the row).
inline int16x4_t LoadInputs4(const int16_t* p) { return vld1_s16(p); }
inline int16x4_t LoadInputs4(const int8_t* p) {
  int32_t bytes;
  std::memcpy(&bytes, p, sizeof(bytes));
  return vget_low_s16(vmovl_s8(vreinterpret_s8_s32(vdup_n_s32(bytes))));
}

// The weights of one k-pair of a block (64 bytes, [16 columns][2]) de-interleaved:
// lo.val[0] / lo.val[1] hold the first / second k of columns 0-7, hi those of columns 8-15.
struct PairWeights {
  int16x8x2_t lo, hi;
};
inline PairWeights LoadPairWeights(const int16_t* w) {
  return {vuzpq_s16(vld1q_s16(w), vld1q_s16(w + 8)), vuzpq_s16(vld1q_s16(w + 16), vld1q_s16(w + 24))};
}

// acc[c] += w[c][0] * a[kLane] + w[c][1] * a[kLane + 1] for the block's 16 columns.
template <int kLane>
inline void MultiplyAddPair(int32x4_t (&acc)[4], const PairWeights& w, int16x4_t a) {
  acc[0] = vmlal_lane_s16(acc[0], vget_low_s16(w.lo.val[0]), a, kLane);
  acc[0] = vmlal_lane_s16(acc[0], vget_low_s16(w.lo.val[1]), a, kLane + 1);
  acc[1] = vmlal_lane_s16(acc[1], vget_high_s16(w.lo.val[0]), a, kLane);
  acc[1] = vmlal_lane_s16(acc[1], vget_high_s16(w.lo.val[1]), a, kLane + 1);
  acc[2] = vmlal_lane_s16(acc[2], vget_low_s16(w.hi.val[0]), a, kLane);
  acc[2] = vmlal_lane_s16(acc[2], vget_low_s16(w.hi.val[1]), a, kLane + 1);
  acc[3] = vmlal_lane_s16(acc[3], vget_high_s16(w.hi.val[0]), a, kLane);
  acc[3] = vmlal_lane_s16(acc[3], vget_high_s16(w.hi.val[1]), a, kLane + 1);
}

// One tile: per step of 4 inputs, the block's two k-pairs of weights serve MR rows.
template <typename In>
struct Int16x2Kernel {
  template <int MR>
  void Tile(const TileArgs& t) const {
    const GemmArgs& args = *t.args;
    const PackedGemm& g = *args.gemm;
    const Segment& seg = g.segments[t.segment];
    const int16_t* w = BlockWeights<int16_t>(seg, t.col0);
    const In* a = SegmentInput<In>(args, seg, t.row0);
    int32x4_t acc[MR][4];
    InitAccumulators<MR>(g.bias + t.col0, acc);
    for (int32_t k = 0; k < seg.k_pad; k += 4, w += 4 * kBlockColumns) {
      int16x4_t av[MR];
      for (int r = 0; r < MR; ++r) av[r] = LoadInputs4(a + r * args.a_stride + k);
      const PairWeights w01 = LoadPairWeights(w);
      for (int r = 0; r < MR; ++r) MultiplyAddPair<0>(acc[r], w01, av[r]);
      const PairWeights w23 = LoadPairWeights(w + 2 * kBlockColumns);
      for (int r = 0; r < MR; ++r) MultiplyAddPair<2>(acc[r], w23, av[r]);
    }
    StoreTile<MR>(t, acc);
  }
};

// Rows per tile: 4 accumulators per row and one k-pair's 4 weight vectors must fit the
// register file (16 q registers on ARMv7, 32 on AArch64).
#if defined(__aarch64__)
constexpr int kRows = 4;
#else
constexpr int kRows = 2;
#endif

}  // namespace

void GemmInt16x2(const GemmArgs& args) {
  if (args.gemm->input == ElementType::kInt16) {
    RunTiles<kRows>(args, Int16x2Kernel<int16_t>{});
  } else {
    RunTiles<kRows>(args, Int16x2Kernel<int8_t>{});
  }
}

}  // namespace neon

const GemmKernels& NeonGemmKernels() {
  static const GemmKernels table = {"neon", WeightLayout::kInt16x2, neon::GemmInt16x2, &NeonRowKernels()};
  return table;
}

}  // namespace mmoe
