// qs8 GEMM for AArch64 with the dot product (ARMv8.2 SDOT), compiled with
// -march=armv8.2-a+dotprod and chosen only when the CPU reports it (HWCAP_ASIMDDP).
//   int8 input:  sdot on kInt8x4 weights ([16 columns][4 k] per k-group): one instruction
//                adds 4 products to each of 4 columns. Inputs stay signed, so the plain
//                folded bias applies (vpdpbusd's uint8 shift and bias_u8 are x86 matters).
//   int16 input: the NEON kernel on kInt16x2 weights (gemm_neon.cc).
#include <arm_neon.h>

#include <cstring>

#include "kernels/arm/neon_common.h"
#include "kernels/gemm.h"

namespace mmoe {
namespace neon {
namespace {

// The 4 weight vectors (columns 0-3, 4-7, 8-11, 12-15) of one k-group of a block.
struct GroupWeights {
  int8x16_t v[4];
};
inline GroupWeights LoadGroupWeights(const int8_t* w) {
  return {{vld1q_s8(w), vld1q_s8(w + 16), vld1q_s8(w + 32), vld1q_s8(w + 48)}};
}

// acc[c] += sum_i w[c][i] * a[4 * kGroup + i] for the block's 16 columns.
template <int kGroup>
inline void DotGroup(int32x4_t (&acc)[4], const GroupWeights& w, int8x16_t a) {
  for (int q = 0; q < 4; ++q) acc[q] = vdotq_laneq_s32(acc[q], w.v[q], a, kGroup);
}

// One tile: per k-group, the block's weights serve MR rows. Inputs are read 16 at a time
// (4 k-groups) where the row has them, then one group (4 bytes, broadcast) at a time.
struct DotKernel {
  template <int MR>
  void Tile(const TileArgs& t) const {
    const GemmArgs& args = *t.args;
    const PackedGemm& g = *args.gemm;
    const Segment& seg = g.segments[t.segment];
    const int8_t* w = BlockWeights<int8_t>(seg, t.col0);
    const int8_t* a = SegmentInput<int8_t>(args, seg, t.row0);
    int32x4_t acc[MR][4];
    InitAccumulators<MR>(g.bias + t.col0, acc);
    int32_t k = 0;
    for (; k + 16 <= seg.k_pad; k += 16, w += 16 * kBlockColumns) {
      int8x16_t av[MR];
      for (int r = 0; r < MR; ++r) av[r] = vld1q_s8(a + r * args.a_stride + k);
      const GroupWeights w0 = LoadGroupWeights(w);
      for (int r = 0; r < MR; ++r) DotGroup<0>(acc[r], w0, av[r]);
      const GroupWeights w1 = LoadGroupWeights(w + 4 * kBlockColumns);
      for (int r = 0; r < MR; ++r) DotGroup<1>(acc[r], w1, av[r]);
      const GroupWeights w2 = LoadGroupWeights(w + 8 * kBlockColumns);
      for (int r = 0; r < MR; ++r) DotGroup<2>(acc[r], w2, av[r]);
      const GroupWeights w3 = LoadGroupWeights(w + 12 * kBlockColumns);
      for (int r = 0; r < MR; ++r) DotGroup<3>(acc[r], w3, av[r]);
    }
    for (; k < seg.k_pad; k += 4, w += 4 * kBlockColumns) {
      const GroupWeights wg = LoadGroupWeights(w);
      for (int r = 0; r < MR; ++r) {
        int32_t bytes;
        std::memcpy(&bytes, a + r * args.a_stride + k, sizeof(bytes));
        DotGroup<0>(acc[r], wg, vreinterpretq_s8_s32(vdupq_n_s32(bytes)));
      }
    }
    StoreTile<MR>(t, acc);
  }
};

// 4 rows: 16 accumulators, 4 weight and 4 input vectors in AArch64's 32 registers.
constexpr int kRows = 4;

void Gemm(const GemmArgs& args) {
  if (args.gemm->input == ElementType::kInt16) {
    GemmInt16x2(args);
  } else {
    RunTiles<kRows>(args, DotKernel{});
  }
}

}  // namespace
}  // namespace neon

const GemmKernels& NeonDotGemmKernels() {
  static const GemmKernels table = {"neondot", WeightLayout::kInt8x4, neon::Gemm, &NeonRowKernels()};
  return table;
}

}  // namespace mmoe
