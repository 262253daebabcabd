// qs8/qs16 GEMM for ARMv7 NEON and AArch64 Advanced SIMD. Every product is formed by a
// widening multiply-accumulate of int16 lanes into int32 (vmlal), which is exact. (Multiplying
// int8 by int8 into int16 and adding two products would not be: 2 * 128 * 128 overflows int16.)
//   int8 input:  int16 weight pairs (kInt16x2), inputs widened to int16; the weights of one
//                k-pair are de-interleaved (vuzp) into the first and second k of 8 columns.
//   int16 input: int16 weights in column order per k (kInt16Cols): one k's 16 columns are two
//                vectors, each multiplied by one input lane with no rearranging.
#include <arm_neon.h>

#include <cstring>

#include "kernels/arm/neon_common.h"
#include "kernels/gemm.h"

namespace mmoe {
namespace neon {
namespace {

// Four consecutive inputs of a row, widened to int16 (k_pad is a multiple of 4, so they are
// inside the row).
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

// int8 input: per step of 4 inputs, the block's two k-pairs of weights serve MR rows.
struct Int8InputKernel {
  template <int MR>
  void Run(const Tile<int8_t, int16_t>& t, const TileOutput& out) const {
    const int16_t* w = t.w;
    int32x4_t acc[MR][4];
    InitAccumulators<MR>(t.bias, acc);
    for (int32_t k = 0; k < t.k_pad; k += 4, w += 4 * kBlockColumns) {
      int16x4_t av[MR];
      for (int r = 0; r < MR; ++r) av[r] = LoadInputs4(t.a + r * t.a_stride + k);
      const PairWeights w01 = LoadPairWeights(w);
      for (int r = 0; r < MR; ++r) MultiplyAddPair<0>(acc[r], w01, av[r]);
      const PairWeights w23 = LoadPairWeights(w + 2 * kBlockColumns);
      for (int r = 0; r < MR; ++r) MultiplyAddPair<2>(acc[r], w23, av[r]);
    }
    StoreRows<MR>(acc, out, t.col0, t.dst);
  }
};

// acc[0..3] += w (16 columns of one k, two vectors) * lane kLane of a (8 inputs).
template <int kLane>
__attribute__((always_inline)) inline void MultiplyAddColumns(int32x4_t (&acc)[4], int16x8_t w0, int16x8_t w1,
                                                              int16x8_t a) {
#if defined(__aarch64__)
  acc[0] = vmlal_laneq_s16(acc[0], vget_low_s16(w0), a, kLane);
  acc[1] = vmlal_high_laneq_s16(acc[1], w0, a, kLane);
  acc[2] = vmlal_laneq_s16(acc[2], vget_low_s16(w1), a, kLane);
  acc[3] = vmlal_high_laneq_s16(acc[3], w1, a, kLane);
#else
  const int16x4_t half = kLane < 4 ? vget_low_s16(a) : vget_high_s16(a);
  acc[0] = vmlal_lane_s16(acc[0], vget_low_s16(w0), half, kLane % 4);
  acc[1] = vmlal_lane_s16(acc[1], vget_high_s16(w0), half, kLane % 4);
  acc[2] = vmlal_lane_s16(acc[2], vget_low_s16(w1), half, kLane % 4);
  acc[3] = vmlal_lane_s16(acc[3], vget_high_s16(w1), half, kLane % 4);
#endif
}

// One k (its 16 columns' weights at w) for MR rows, input lane kLane of a[r].
template <int MR, int kLane>
__attribute__((always_inline)) inline void MultiplyAddK(int32x4_t (&acc)[MR][4], const int16_t* w,
                                                        const int16x8_t (&a)[MR]) {
  const int16x8_t w0 = vld1q_s16(w), w1 = vld1q_s16(w + 8);
  for (int r = 0; r < MR; ++r) MultiplyAddColumns<kLane>(acc[r], w0, w1, a[r]);
  StepBarrier();
}

// int16 input: 8 inputs per row and step, one k's weights at a time serving MR rows.
struct Int16InputKernel {
  template <int MR>
  void Run(const Tile<int16_t, int16_t>& t, const TileOutput& out) const {
    const int16_t* w = t.w;
    int32x4_t acc[MR][4];
    InitAccumulators<MR>(t.bias, acc);
    int32_t k = 0;
    for (; k + 8 <= t.k_pad; k += 8, w += 8 * kBlockColumns) {
      int16x8_t av[MR];
      for (int r = 0; r < MR; ++r) av[r] = vld1q_s16(t.a + r * t.a_stride + k);
      MultiplyAddK<MR, 0>(acc, w, av);
      MultiplyAddK<MR, 1>(acc, w + 1 * kBlockColumns, av);
      MultiplyAddK<MR, 2>(acc, w + 2 * kBlockColumns, av);
      MultiplyAddK<MR, 3>(acc, w + 3 * kBlockColumns, av);
      MultiplyAddK<MR, 4>(acc, w + 4 * kBlockColumns, av);
      MultiplyAddK<MR, 5>(acc, w + 5 * kBlockColumns, av);
      MultiplyAddK<MR, 6>(acc, w + 6 * kBlockColumns, av);
      MultiplyAddK<MR, 7>(acc, w + 7 * kBlockColumns, av);
    }
    if (k < t.k_pad) {  // k_pad % 8 == 4: the last 4 inputs, in the low lanes
      int16x8_t av[MR];
      for (int r = 0; r < MR; ++r) av[r] = vcombine_s16(vld1_s16(t.a + r * t.a_stride + k), vdup_n_s16(0));
      MultiplyAddK<MR, 0>(acc, w, av);
      MultiplyAddK<MR, 1>(acc, w + 1 * kBlockColumns, av);
      MultiplyAddK<MR, 2>(acc, w + 2 * kBlockColumns, av);
      MultiplyAddK<MR, 3>(acc, w + 3 * kBlockColumns, av);
    }
    StoreRows<MR>(acc, out, t.col0, t.dst);
  }
};

// Rows per tile: 4 accumulators per row and one step's weight vectors must fit the register
// file (16 q registers on ARMv7, 32 on AArch64).
#if defined(__aarch64__)
constexpr int kRows = 4;
#else
constexpr int kRows = 2;
#endif

}  // namespace

void GemmInt16(const GemmArgs& args) {
  if (args.gemm->input == ElementType::kInt16) {
    RunTiles<kRows, int16_t, int16_t>(args, Int16InputKernel{});
  } else {
    RunTiles<kRows, int8_t, int16_t>(args, Int8InputKernel{});
  }
}

}  // namespace neon

const GemmKernels& NeonGemmKernels() {
  static const GemmKernels table = {"neon", WeightLayout::kInt16x2, WeightLayout::kInt16Cols, neon::GemmInt16,
                                    &NeonRowKernels()};
  return table;
}

}  // namespace mmoe
