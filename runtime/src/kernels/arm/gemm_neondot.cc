// qs8 GEMM for AArch64 with the dot product (ARMv8.2 SDOT), compiled with
// -march=armv8.2-a+dotprod and chosen only when the CPU reports it (HWCAP_ASIMDDP).
//   int8 input:  sdot on kInt8x4 weights ([16 columns][4 k] per k-group): one instruction
//                adds 4 products to each of 4 columns. Inputs stay signed, so the plain
//                folded bias applies (vpdpbusd's uint8 shift and bias_u8 are x86 matters).
//   int16 input: sdot too, on the same kInt8x4 weights, each input split into two int8
//                planes: x = 256 * hi + (lo - 128) + 128, with hi its high byte (signed) and lo
//                its low byte (unsigned; lo - 128 is the byte with its top bit flipped). The sum
//                is 256 * sum(w * hi) + sum(w * (lo - 128)) + (bias + 128 * sum(w)), in int32
//                with wrap-around: every term is exact modulo 2^32 and the verifier keeps the
//                true sum inside int32, so it comes out exact. Two sdot per 4 products per
//                column, against four smlal for the int16 kernel.
//
// The 4-row tile keeps its 16 accumulators in registers from the bias to the epilogue: per
// k-group it loads the group's 4 weight vectors and uses them at once for the 4 rows (16 + 4
// weights + 4 inputs = 24 of the 32 vector registers), with a StepBarrier between k-groups.
#include <arm_neon.h>

#include "kernels/arm/neon_common.h"
#include "kernels/gemm.h"

namespace mmoe {
namespace neon {
namespace {

// acc[q] += sum_i w[q][lane][i] * a[4 * kLane + i] for the block's 16 columns: one k-group.
template <int MR, int kLane>
__attribute__((always_inline)) inline void DotGroup(int32x4_t (&acc)[MR][4], const int8_t* w,
                                                    const int8x16_t (&a)[MR]) {
  const int8x16_t w0 = vld1q_s8(w), w1 = vld1q_s8(w + 16), w2 = vld1q_s8(w + 32), w3 = vld1q_s8(w + 48);
  for (int r = 0; r < MR; ++r) {
    acc[r][0] = vdotq_laneq_s32(acc[r][0], w0, a[r], kLane);
    acc[r][1] = vdotq_laneq_s32(acc[r][1], w1, a[r], kLane);
    acc[r][2] = vdotq_laneq_s32(acc[r][2], w2, a[r], kLane);
    acc[r][3] = vdotq_laneq_s32(acc[r][3], w3, a[r], kLane);
  }
  StepBarrier();
}

struct DotKernel {
  template <int MR>
  void Run(const Tile<int8_t, int8_t>& t, const TileOutput& out) const {
    const int8_t* a[MR];
    for (int r = 0; r < MR; ++r) a[r] = t.a + r * t.a_stride;
    const int8_t* w = t.w;
    int32x4_t acc[MR][4];
    InitAccumulators<MR>(t.bias, acc);
    int32_t k = 0;
    // 16 inputs (4 k-groups) per row and step.
    for (; k + 16 <= t.k_pad; k += 16, w += 16 * kBlockColumns) {
      int8x16_t av[MR];
      for (int r = 0; r < MR; ++r) av[r] = vld1q_s8(a[r] + k);
      DotGroup<MR, 0>(acc, w, av);
      DotGroup<MR, 1>(acc, w + 4 * kBlockColumns, av);
      DotGroup<MR, 2>(acc, w + 8 * kBlockColumns, av);
      DotGroup<MR, 3>(acc, w + 12 * kBlockColumns, av);
    }
    // The last k_pad % 16 inputs, one k-group (4 bytes, loaded into every lane) at a time.
    for (; k < t.k_pad; k += 4, w += 4 * kBlockColumns) {
      int8x16_t av[MR];
      for (int r = 0; r < MR; ++r) {
        av[r] = vreinterpretq_s8_s32(vld1q_dup_s32(reinterpret_cast<const int32_t*>(a[r] + k)));
      }
      DotGroup<MR, 0>(acc, w, av);
    }
    StoreRows<MR>(acc, out, t.col0, t.dst);
  }
};

// The two planes of 16 int16 inputs: high bytes, and low bytes - 128.
struct Planes {
  int8x16_t hi, lo;
};
inline Planes Split16(const int16_t* p) {
  const int8x16_t x0 = vreinterpretq_s8_s16(vld1q_s16(p)), x1 = vreinterpretq_s8_s16(vld1q_s16(p + 8));
  return {vuzp2q_s8(x0, x1), veorq_s8(vuzp1q_s8(x0, x1), vdupq_n_s8(-128))};
}
// The planes of 4 int16 inputs, in every 32-bit lane.
inline Planes Split4(const int16_t* p) {
  const int8x8_t x = vreinterpret_s8_s16(vld1_s16(p));
  const int8x8_t hi = vuzp2_s8(x, x), lo = veor_s8(vuzp1_s8(x, x), vdup_n_s8(-128));
  return {vreinterpretq_s8_s32(vdupq_lane_s32(vreinterpret_s32_s8(hi), 0)),
          vreinterpretq_s8_s32(vdupq_lane_s32(vreinterpret_s32_s8(lo), 0))};
}

// One k-group of both planes for MR rows.
template <int MR, int kLane>
__attribute__((always_inline)) inline void DotGroupPlanes(int32x4_t (&hi)[MR][4], int32x4_t (&lo)[MR][4],
                                                          const int8_t* w, const Planes (&a)[MR]) {
  const int8x16_t w0 = vld1q_s8(w), w1 = vld1q_s8(w + 16), w2 = vld1q_s8(w + 32), w3 = vld1q_s8(w + 48);
  for (int r = 0; r < MR; ++r) {
    hi[r][0] = vdotq_laneq_s32(hi[r][0], w0, a[r].hi, kLane);
    hi[r][1] = vdotq_laneq_s32(hi[r][1], w1, a[r].hi, kLane);
    hi[r][2] = vdotq_laneq_s32(hi[r][2], w2, a[r].hi, kLane);
    hi[r][3] = vdotq_laneq_s32(hi[r][3], w3, a[r].hi, kLane);
    lo[r][0] = vdotq_laneq_s32(lo[r][0], w0, a[r].lo, kLane);
    lo[r][1] = vdotq_laneq_s32(lo[r][1], w1, a[r].lo, kLane);
    lo[r][2] = vdotq_laneq_s32(lo[r][2], w2, a[r].lo, kLane);
    lo[r][3] = vdotq_laneq_s32(lo[r][3], w3, a[r].lo, kLane);
  }
  StepBarrier();
}

struct Int16DotKernel {
  template <int MR>
  void Run(const Tile<int16_t, int8_t>& t, const TileOutput& out) const {
    const int8_t* w = t.w;
    int32x4_t hi[MR][4], lo[MR][4];
    for (int q = 0; q < 4; ++q) {
      // bias + 128 * sum(w) = 2 * bias - bias_u8 (modulo 2^32, like the rest).
      const int32x4_t b = vld1q_s32(t.bias + 4 * q);
      const int32x4_t folded = vsubq_s32(vaddq_s32(b, b), vld1q_s32(t.bias_u8 + 4 * q));
      for (int r = 0; r < MR; ++r) {
        lo[r][q] = folded;
        hi[r][q] = vdupq_n_s32(0);
      }
    }
    int32_t k = 0;
    for (; k + 16 <= t.k_pad; k += 16, w += 16 * kBlockColumns) {
      Planes a[MR];
      for (int r = 0; r < MR; ++r) a[r] = Split16(t.a + r * t.a_stride + k);
      DotGroupPlanes<MR, 0>(hi, lo, w, a);
      DotGroupPlanes<MR, 1>(hi, lo, w + 4 * kBlockColumns, a);
      DotGroupPlanes<MR, 2>(hi, lo, w + 8 * kBlockColumns, a);
      DotGroupPlanes<MR, 3>(hi, lo, w + 12 * kBlockColumns, a);
    }
    for (; k < t.k_pad; k += 4, w += 4 * kBlockColumns) {
      Planes a[MR];
      for (int r = 0; r < MR; ++r) a[r] = Split4(t.a + r * t.a_stride + k);
      DotGroupPlanes<MR, 0>(hi, lo, w, a);
    }
    for (int r = 0; r < MR; ++r)
      for (int q = 0; q < 4; ++q) lo[r][q] = vmlaq_n_s32(lo[r][q], hi[r][q], 256);
    StoreRows<MR>(lo, out, t.col0, t.dst);
  }
};

// int8 input, 4 rows: 16 accumulators, 4 weight and 4 input vectors in AArch64's 32 registers.
// int16 input, 2 rows: 2 x 8 accumulators, 4 weight and 4 input (plane) vectors.
constexpr int kRows = 4;
constexpr int kRows16 = 2;

void Gemm(const GemmArgs& args) {
  if (args.gemm->input == ElementType::kInt16) {
    RunTiles<kRows16, int16_t, int8_t>(args, Int16DotKernel{});
  } else {
    RunTiles<kRows, int8_t, int8_t>(args, DotKernel{});
  }
}

}  // namespace
}  // namespace neon

const GemmKernels& NeonDotGemmKernels() {
  static const GemmKernels table = {"neondot", WeightLayout::kInt8x4, WeightLayout::kInt8x4, neon::Gemm,
                                    &NeonRowKernels()};
  return table;
}

}  // namespace mmoe
