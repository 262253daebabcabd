// qs8 GEMM for AArch64 with the dot product (ARMv8.2 SDOT), compiled with
// -march=armv8.2-a+dotprod and chosen only when the CPU reports it (HWCAP_ASIMDDP).
//   int8 input:  sdot on kInt8x4 weights ([16 columns][4 k] per k-group): one instruction
//                adds 4 products to each of 4 columns. Inputs stay signed, so the plain
//                folded bias applies.
//   int16 input: sdot too, on the same kInt8x4 weights, each input split into two int8
//                planes: x = 256 * hi + (lo - 128) + 128, with hi its high byte (signed) and lo
//                its low byte (unsigned; lo - 128 is the byte with its top bit flipped). The sum
//                is 256 * sum(w * hi) + sum(w * (lo - 128)) + (bias + 128 * sum(w)), in int32
//                with wrap-around: every term is exact modulo 2^32 and the verifier keeps the
//                true sum inside int32, so it comes out exact. bias + 128 * sum(w) is
//                2 * bias - bias_u8 (bias_u8 = bias - 128 * sum(w), x86's for vpdpbusd). Two sdot
//                per 4 products of 4 columns, against four smlal for the int16 kernel.
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

// acc[q] += sum_i w[q][lane][i] * a[4 * kLane + i] for the block's 16 columns: one k-group,
// whose weights w then moves past (a four-register ld1 has no immediate offset, only
// post-increment: an advancing pointer saves an address computation per k-group).
template <int MR, int kLane>
__attribute__((always_inline)) inline void DotGroup(int32x4_t (&acc)[MR][4], const int8_t*& w,
                                                    const int8x16_t (&a)[MR]) {
  int8x16x4_t wv;  // one ld1 of 4 registers, advancing w (GCC computes each address instead)
  asm("ld1 {%S0.16b - %V0.16b}, [%1], #64"
      : "=w"(wv), "+r"(w)
      : "m"(*reinterpret_cast<const int8_t(*)[4 * kBlockColumns]>(w)));
  for (int r = 0; r < MR; ++r) {
    acc[r][0] = vdotq_laneq_s32(acc[r][0], wv.val[0], a[r], kLane);
    acc[r][1] = vdotq_laneq_s32(acc[r][1], wv.val[1], a[r], kLane);
    acc[r][2] = vdotq_laneq_s32(acc[r][2], wv.val[2], a[r], kLane);
    acc[r][3] = vdotq_laneq_s32(acc[r][3], wv.val[3], a[r], kLane);
  }
  StepBarrier();
}

// One pass over a tile's k for rows a[r]: per 16 inputs, load16(p) gives the 16 int8 inputs
// from p (one vector, 4 k-groups), and the rest go one k-group at a time, load4(p) giving that
// group's 4 inputs in every 32-bit lane.
template <int MR, typename In, typename Load16, typename Load4>
__attribute__((always_inline)) inline void DotPass(int32x4_t (&acc)[MR][4], const In* const (&a)[MR],
                                                   const int8_t* w, int32_t k_pad, Load16 load16,
                                                   Load4 load4) {
  int32_t k = 0;
  for (; k + 16 <= k_pad; k += 16) {
    int8x16_t av[MR];
    for (int r = 0; r < MR; ++r) av[r] = load16(a[r] + k);
    DotGroup<MR, 0>(acc, w, av);
    DotGroup<MR, 1>(acc, w, av);
    DotGroup<MR, 2>(acc, w, av);
    DotGroup<MR, 3>(acc, w, av);
  }
  for (; k < k_pad; k += 4) {
    int8x16_t av[MR];
    for (int r = 0; r < MR; ++r) av[r] = load4(a[r] + k);
    DotGroup<MR, 0>(acc, w, av);
  }
}

// 4 int8 inputs in every 32-bit lane.
inline int8x16_t Broadcast4(const int8_t* p) {
  return vreinterpretq_s8_s32(vld1q_dup_s32(reinterpret_cast<const int32_t*>(p)));
}

struct DotKernel {
  template <int MR>
  void Run(const Tile<int8_t, int8_t>& t, const TileOutput& out) const {
    const int8_t* a[MR];
    for (int r = 0; r < MR; ++r) a[r] = t.a + r * t.a_stride;
    int32x4_t acc[MR][4];
    InitAccumulators<MR>(t.bias, acc);
    DotPass<MR>(acc, a, t.w, t.k_pad, vld1q_s8, Broadcast4);
    StoreRows<MR>(acc, out, t.col0, t.dst);
  }
};

// The high bytes (kHigh) or the low bytes with their top bit flipped (lo - 128) of 16 int16
// inputs.
template <bool kHigh>
inline int8x16_t Plane16(const int16_t* p) {
  const int8x16_t x0 = vreinterpretq_s8_s16(vld1q_s16(p)), x1 = vreinterpretq_s8_s16(vld1q_s16(p + 8));
  return kHigh ? vuzp2q_s8(x0, x1) : veorq_s8(vuzp1q_s8(x0, x1), vdupq_n_s8(-128));
}
// The same for 4 int16 inputs, in every 32-bit lane.
template <bool kHigh>
inline int8x16_t Plane4(const int16_t* p) {
  const int8x8_t x = vreinterpret_s8_s16(vld1_s16(p));
  const int8x8_t b = kHigh ? vuzp2_s8(x, x) : veor_s8(vuzp1_s8(x, x), vdup_n_s8(-128));
  return vreinterpretq_s8_s32(vdupq_lane_s32(vreinterpret_s32_s8(b), 0));
}

// int16 inputs: the high-byte pass into zeroed accumulators, then acc * 256 + bias + 128 *
// sum(w) (= 2 * bias - bias_u8), then the low-byte pass. Each weight vector is loaded once
// per pass.
struct Int16DotKernel {
  template <int MR>
  void Run(const Tile<int16_t, int8_t>& t, const TileOutput& out) const {
    int32x4_t acc[MR][4];
    for (int r = 0; r < MR; ++r)
      for (int q = 0; q < 4; ++q) acc[r][q] = vdupq_n_s32(0);
    const int16_t* a[MR];
    for (int r = 0; r < MR; ++r) a[r] = t.a + r * t.a_stride;
    DotPass<MR>(acc, a, t.w, t.k_pad, Plane16<true>, Plane4<true>);
    for (int q = 0; q < 4; ++q) {
      const int32x4_t b = vld1q_s32(t.bias + 4 * q);
      const int32x4_t folded = vsubq_s32(vaddq_s32(b, b), vld1q_s32(t.bias_u8 + 4 * q));
      for (int r = 0; r < MR; ++r) acc[r][q] = vmlaq_n_s32(folded, acc[r][q], 256);
    }
    DotPass<MR>(acc, a, t.w, t.k_pad, Plane16<false>, Plane4<false>);
    StoreRows<MR>(acc, out, t.col0, t.dst);
  }
};

// 4 rows: 16 accumulators, 4 weight and 4 input vectors in AArch64's 32 registers.
constexpr int kRows = 4;

void Gemm(const GemmArgs& args) {
  if (args.gemm->input == ElementType::kInt16) {
    RunTiles<kRows, int16_t, int8_t>(args, Int16DotKernel{});
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
