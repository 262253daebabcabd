// qs8/qs16 GEMM for ARMv7 NEON and AArch64 Advanced SIMD (cores without the dot product).
//   int8 input:  int8 weights (kInt8x4, the sdot layout), int8 x int8 products in int16 lanes,
//                pairs of them added into int32 (smull, smlal, sadalp; Int8InputKernel).
//   int16 input: int16 weights in column order per k (kInt16Cols): one k's 16 columns are two
//                vectors, each multiplied by one input lane (smlal by lane) with no rearranging.
#include <arm_neon.h>

#include "kernels/arm/neon_common.h"
#include "kernels/gemm.h"

namespace mmoe {
namespace neon {
namespace {

// int8 input: int8 x int8 products in int16 lanes (smull), two of them summed there (smlal) and
// the pairs added into int32 (sadalp): exact, since the verifier keeps weights in [-127, 127],
// so |a w1 + a' w2| <= 2 * 128 * 127 < 2^15. Weights are kInt8x4 ([16 columns][4 k] per
// k-group, as sdot reads them): the low 8 bytes of a group's vector q hold columns 4q and
// 4q + 1, the high 8 bytes columns 4q + 2 and 4q + 3, times the group's 4 inputs repeated.
// Accumulator acc[r][2q + h] holds two partial sums for each of its two columns; a pairwise
// add per vector pair gives the block's 16 sums at the end. 16 multiply-accumulates in 3
// instructions, against 4 in one for smlal on widened inputs.
//
// AArch64: the group's inputs in every 32-bit lane of a q register, so that the high halves
// multiply with smull2 / smlal2; ARMv7: in a d register.
#if defined(__aarch64__)
using Group = int8x16_t;
// The k-group at p, then p += 4: one ld1r with post-increment (GCC emits ldr + dup for
// vld1q_dup_s32, and computes each row's address apart).
inline Group LoadGroup(const int8_t*& p) {
  Group v;
  asm("ld1r {%0.4s}, [%1], #4" : "=w"(v), "+r"(p) : "m"(*reinterpret_cast<const int8_t(*)[4]>(p)));
  return v;
}
inline int16x8_t MulLow(int8x16_t w, Group a) { return vmull_s8(vget_low_s8(w), vget_low_s8(a)); }
inline int16x8_t MulHigh(int8x16_t w, Group a) { return vmull_high_s8(w, a); }
inline int16x8_t MulAddLow(int16x8_t p, int8x16_t w, Group a) {
  return vmlal_s8(p, vget_low_s8(w), vget_low_s8(a));
}
inline int16x8_t MulAddHigh(int16x8_t p, int8x16_t w, Group a) { return vmlal_high_s8(p, w, a); }
inline int32x4_t PairSums(int32x4_t x, int32x4_t y) { return vpaddq_s32(x, y); }
#else
using Group = int8x8_t;
inline Group LoadGroup(const int8_t*& p) {
  const Group v = vreinterpret_s8_s32(vld1_dup_s32(reinterpret_cast<const int32_t*>(p)));
  p += 4;
  return v;
}
inline int16x8_t MulLow(int8x16_t w, Group a) { return vmull_s8(vget_low_s8(w), a); }
inline int16x8_t MulHigh(int8x16_t w, Group a) { return vmull_s8(vget_high_s8(w), a); }
inline int16x8_t MulAddLow(int16x8_t p, int8x16_t w, Group a) { return vmlal_s8(p, vget_low_s8(w), a); }
inline int16x8_t MulAddHigh(int16x8_t p, int8x16_t w, Group a) { return vmlal_s8(p, vget_high_s8(w), a); }
inline int32x4_t PairSums(int32x4_t x, int32x4_t y) {
  return vcombine_s32(vpadd_s32(vget_low_s32(x), vget_high_s32(x)),
                      vpadd_s32(vget_low_s32(y), vget_high_s32(y)));
}
#endif

// acc + the pairwise sums of p; the first step starts the sums (saddlp, no zeroed registers).
template <bool kFirst>
inline int32x4_t AddPairs(int32x4_t acc, int16x8_t p) {
  if constexpr (kFirst) return vpaddlq_s16(p);
  return vpadalq_s16(acc, p);
}

// Weight vectors of each k-group loaded at a time: AArch64 two (vectors q and q + 1, one ldp);
// ARMv7 one, as its 16 registers hold no more beside 8 accumulators (two spilled them).
#if defined(__aarch64__)
constexpr int kVectorsPerLoad = 2;
#else
constexpr int kVectorsPerLoad = 1;
#endif

// One step of two k-groups (8 inputs) for MR rows: their products summed in int16 before the
// pairwise add.
template <int MR, bool kFirst>
__attribute__((always_inline)) inline void Int8Step(int32x4_t (&acc)[MR][8], const int8_t* (&a)[MR],
                                                    const int8_t* w) {
  Group a0[MR], a1[MR];
  for (int r = 0; r < MR; ++r) {
    a0[r] = LoadGroup(a[r]);
    a1[r] = LoadGroup(a[r]);
  }
#pragma GCC unroll 4  // the accumulators stay in registers only if every index is a constant
  for (int q = 0; q < 4; q += kVectorsPerLoad) {
    int8x16_t w0[kVectorsPerLoad], w1[kVectorsPerLoad];
    for (int h = 0; h < kVectorsPerLoad; ++h) {
      w0[h] = vld1q_s8(w + 16 * (q + h));
      w1[h] = vld1q_s8(w + 4 * kBlockColumns + 16 * (q + h));
    }
    for (int h = 0; h < kVectorsPerLoad; ++h) {
      const int c = 2 * (q + h);
      for (int r = 0; r < MR; ++r) {
        acc[r][c] = AddPairs<kFirst>(acc[r][c], MulAddLow(MulLow(w0[h], a0[r]), w1[h], a1[r]));
        acc[r][c + 1] = AddPairs<kFirst>(acc[r][c + 1], MulAddHigh(MulHigh(w0[h], a0[r]), w1[h], a1[r]));
      }
    }
    StepBarrier();
  }
}

#if !defined(__aarch64__)
// clang-format off
// Group 0's weight vectors q, q + 1 into q10-q11 and group 1's into q12-q13 (32 bytes each).
#define MMOE_V7_LOAD "vld1.8 {d20-d23}, [%[w]]!\n" "vld1.8 {d24-d27}, [%[w1]]!\n"
// One weight vector of each group (g0, g1: low and high d halves) times the groups' inputs
// (d16, d17), the product pairs summed into accumulators ca (low half) and cb (high half).
#define MMOE_V7_VECTOR(g0lo, g0hi, g1lo, g1hi, ca, cb)         \
  "vmull.s8 q14, " g0lo ", d16\n" "vmull.s8 q15, " g0hi ", d16\n" \
  "vmlal.s8 q14, " g1lo ", d17\n" "vmlal.s8 q15, " g1hi ", d17\n" \
  "vpadal.s16 %q[" ca "], q14\n" "vpadal.s16 %q[" cb "], q15\n"
// clang-format on

// ARMv7: a whole one-row tile's sums (sums[q]: columns 4q..4q+3, bias added). The steps of 8
// inputs run in assembly: GCC keeps the intrinsics version's 8 accumulators on the stack,
// storing them every step (18 extra instructions of 60); here they stay in registers, 34
// instructions per 128 multiply-accumulates (each group's weights by two 32-byte loads). Inputs
// live in d16-d17, weights in q10-q13, products in q14-q15.
inline void Int8RowV7(const int8_t* a, const int8_t* w, int32_t k_pad, const int32_t* bias,
                      int32x4_t (&sums)[4]) {
  int32x4_t c0 = vdupq_n_s32(0), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
  int32_t steps = k_pad / 8;
  if (steps > 0) {
    const int8_t* w1;
    asm volatile(
        "1:\n"
        "vld1.32 {d16[]}, [%[a]]!\n"
        "vld1.32 {d17[]}, [%[a]]!\n"
        "add %[w1], %[w], #64\n"
        // clang-format off
        MMOE_V7_LOAD MMOE_V7_VECTOR("d20", "d21", "d24", "d25", "c0", "c1")
                     MMOE_V7_VECTOR("d22", "d23", "d26", "d27", "c2", "c3")
        MMOE_V7_LOAD MMOE_V7_VECTOR("d20", "d21", "d24", "d25", "c4", "c5")
                     MMOE_V7_VECTOR("d22", "d23", "d26", "d27", "c6", "c7")
        // clang-format on
        "mov %[w], %[w1]\n"
        "subs %[n], %[n], #1\n"
        "bne 1b\n"
        : [c0] "+w"(c0), [c1] "+w"(c1), [c2] "+w"(c2), [c3] "+w"(c3), [c4] "+w"(c4), [c5] "+w"(c5),
          [c6] "+w"(c6), [c7] "+w"(c7), [a] "+r"(a), [w] "+r"(w), [n] "+r"(steps), [w1] "=&r"(w1)
        :
        : "d16", "d17", "d20", "d21", "d22", "d23", "d24", "d25", "d26", "d27", "d28", "d29", "d30", "d31",
          "cc", "memory");
  }
  if (k_pad % 8 != 0) {  // the last k-group alone
    const Group g = LoadGroup(a);
    int32x4_t* c[8] = {&c0, &c1, &c2, &c3, &c4, &c5, &c6, &c7};
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) {
      const int8x16_t w0 = vld1q_s8(w + 16 * q);
      *c[2 * q] = vpadalq_s16(*c[2 * q], MulLow(w0, g));
      *c[2 * q + 1] = vpadalq_s16(*c[2 * q + 1], MulHigh(w0, g));
    }
  }
  sums[0] = vaddq_s32(PairSums(c0, c1), vld1q_s32(bias));
  sums[1] = vaddq_s32(PairSums(c2, c3), vld1q_s32(bias + 4));
  sums[2] = vaddq_s32(PairSums(c4, c5), vld1q_s32(bias + 8));
  sums[3] = vaddq_s32(PairSums(c6, c7), vld1q_s32(bias + 12));
}
#undef MMOE_V7_LOAD
#undef MMOE_V7_VECTOR
#endif

struct Int8InputKernel {
  template <int MR>
  void Run(const Tile<int8_t, int8_t>& t, const TileOutput& out) const {
#if defined(__aarch64__)
    const int8_t* a[MR];  // each row's next k-group
    for (int r = 0; r < MR; ++r) a[r] = t.a + r * t.a_stride;
    const int8_t* w = t.w;
    int32x4_t acc[MR][8];
    int32_t k = 0;
    if (t.k_pad >= 8) {
      Int8Step<MR, true>(acc, a, w);
      k = 8;
      w += 8 * kBlockColumns;
    } else {
      for (int r = 0; r < MR; ++r)
        for (int v = 0; v < 8; ++v) acc[r][v] = vdupq_n_s32(0);
    }
    for (; k + 8 <= t.k_pad; k += 8, w += 8 * kBlockColumns) Int8Step<MR, false>(acc, a, w);
    if (k < t.k_pad) {  // k_pad % 8 == 4: the last k-group alone
      Group a0[MR];
      for (int r = 0; r < MR; ++r) a0[r] = LoadGroup(a[r]);
      for (int q = 0; q < 4; ++q) {
        const int8x16_t w0 = vld1q_s8(w + 16 * q);
        for (int r = 0; r < MR; ++r) {
          acc[r][2 * q] = vpadalq_s16(acc[r][2 * q], MulLow(w0, a0[r]));
          acc[r][2 * q + 1] = vpadalq_s16(acc[r][2 * q + 1], MulHigh(w0, a0[r]));
        }
      }
    }
    int32x4_t sums[MR][4];
    for (int q = 0; q < 4; ++q) {
      const int32x4_t b = vld1q_s32(t.bias + 4 * q);
      for (int r = 0; r < MR; ++r) sums[r][q] = vaddq_s32(PairSums(acc[r][2 * q], acc[r][2 * q + 1]), b);
    }
#else
    static_assert(MR == 1, "ARMv7 tiles are one row");
    int32x4_t sums[1][4];
    Int8RowV7(t.a, t.w, t.k_pad, t.bias, sums[0]);
#endif
    StoreRows<MR>(sums, out, t.col0, t.dst);
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

// One k's 16 int16 weights (two vectors) at w, which then moves past them. ARMv7: one 32-byte
// load with post-increment (its vld1 has no immediate offset, and GCC turns an advancing
// pointer back into computed addresses, an instruction per load).
inline int16x8x2_t LoadColumns(const int16_t*& w) {
#if defined(__aarch64__)
  const int16x8x2_t v = {{vld1q_s16(w), vld1q_s16(w + 8)}};
  w += kBlockColumns;
#else
  int16x8x2_t v;
  asm("vld1.16 %h0, [%1]!" : "=w"(v), "+r"(w) : "m"(*reinterpret_cast<const int16_t(*)[kBlockColumns]>(w)));
#endif
  return v;
}

// One k for MR rows, input lane kLane of a[r].
template <int MR, int kLane>
__attribute__((always_inline)) inline void MultiplyAddK(int32x4_t (&acc)[MR][4], const int16_t*& w,
                                                        const int16x8_t (&a)[MR]) {
  const int16x8x2_t wv = LoadColumns(w);
  for (int r = 0; r < MR; ++r) MultiplyAddColumns<kLane>(acc[r], wv.val[0], wv.val[1], a[r]);
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
    for (; k + 8 <= t.k_pad; k += 8) {
      int16x8_t av[MR];
      for (int r = 0; r < MR; ++r) av[r] = vld1q_s16(t.a + r * t.a_stride + k);
      MultiplyAddK<MR, 0>(acc, w, av);
      MultiplyAddK<MR, 1>(acc, w, av);
      MultiplyAddK<MR, 2>(acc, w, av);
      MultiplyAddK<MR, 3>(acc, w, av);
      MultiplyAddK<MR, 4>(acc, w, av);
      MultiplyAddK<MR, 5>(acc, w, av);
      MultiplyAddK<MR, 6>(acc, w, av);
      MultiplyAddK<MR, 7>(acc, w, av);
    }
    if (k < t.k_pad) {  // k_pad % 8 == 4: the last 4 inputs, in the low lanes
      int16x8_t av[MR];
      for (int r = 0; r < MR; ++r) av[r] = vcombine_s16(vld1_s16(t.a + r * t.a_stride + k), vdup_n_s16(0));
      MultiplyAddK<MR, 0>(acc, w, av);
      MultiplyAddK<MR, 1>(acc, w, av);
      MultiplyAddK<MR, 2>(acc, w, av);
      MultiplyAddK<MR, 3>(acc, w, av);
    }
    StoreRows<MR>(acc, out, t.col0, t.dst);
  }
};

// Rows per tile: a row's accumulators (8 for int8 input, 4 for int16) and one step's weight,
// input and product vectors must fit the register file (16 q registers on ARMv7, 32 on AArch64).
#if defined(__aarch64__)
constexpr int kRows8 = 2;
constexpr int kRows16 = 4;
#else
constexpr int kRows8 = 1;
constexpr int kRows16 = 2;
#endif

// The int8-input GEMM on its own. On AArch64 without GCC's first scheduling pass: it moves all
// of a step's multiplies ahead of their accumulations, which then needs 33 vector registers
// and costs 3 register copies per step (cortex-a53 seed model: 13,101 -> 12,807 instructions
// per item). The int16 kernel gains from that pass, so only this function goes without it.
#if defined(__aarch64__)
__attribute__((optimize("no-schedule-insns")))
#endif
__attribute__((noinline)) void
GemmInt8(const GemmArgs& args) {
  RunTiles<kRows8, int8_t, int8_t>(args, Int8InputKernel{});
}

void Gemm(const GemmArgs& args) {
  if (args.gemm->input == ElementType::kInt16) {
    RunTiles<kRows16, int16_t, int16_t>(args, Int16InputKernel{});
  } else {
    GemmInt8(args);
  }
}

// The general epilogue of one row of one block (what StoreBlockScalar computes): clamp in
// float, round, add the zero point; or scale to float, real columns only.
void StoreBlock(const int32x4_t (&acc)[4], const float32x4_t (&m)[4], const TileOutput& o, int32_t col0,
                void* dst) {
  const Segment& seg = *o.seg;
  float32x4_t v[4];
  for (int q = 0; q < 4; ++q) v[q] = vmulq_f32(vcvtq_f32_s32(acc[q]), m[q]);
  if (o.type == DenseOutput::kReal) {
    // Only the real columns: whole vectors, then the last one's lanes.
    float* out = static_cast<float*>(dst);
    const int32_t real_cols = seg.end - col0;
    int q = 0;
    for (; q < 4 && 4 * q + 4 <= real_cols; ++q) vst1q_f32(out + 4 * q, v[q]);
    const int32_t rest = real_cols - 4 * q;
    if (q == 4 || rest <= 0) return;
    if (rest >= 2) vst1_f32(out + 4 * q, vget_low_f32(v[q]));
    if (rest == 3) vst1q_lane_f32(out + 4 * q + 2, v[q], 2);
    if (rest == 1) vst1q_lane_f32(out + 4 * q, v[q], 0);
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
  if (o.type == DenseOutput::kInt16) {
    int16_t* out = static_cast<int16_t*>(dst);
    vst1q_s16(out, q01);
    vst1q_s16(out + 8, q23);
  } else {
    vst1q_s8(static_cast<int8_t*>(dst), vcombine_s8(vqmovn_s16(q01), vqmovn_s16(q23)));
  }
}

}  // namespace

void StoreRowsOther(const int32_t* lanes, int rows, const TileOutput& o, int32_t col0, uint8_t* dst) {
  // The multipliers once: the float stores could alias them as far as GCC knows.
  const float* mp = o.multiplier + col0;
  const float32x4_t m[4] = {vld1q_f32(mp), vld1q_f32(mp + 4), vld1q_f32(mp + 8), vld1q_f32(mp + 12)};
#pragma GCC unroll 1
  for (int r = 0; r < rows; ++r, lanes += kBlockColumns) {
    const int32x4_t acc[4] = {vld1q_s32(lanes), vld1q_s32(lanes + 4), vld1q_s32(lanes + 8),
                              vld1q_s32(lanes + 12)};
    StoreBlock(acc, m, o, col0, dst + r * o.row_bytes);
  }
}

}  // namespace neon

const GemmKernels& NeonGemmKernels() {
  static const GemmKernels table = {"neon", WeightLayout::kInt8x4, WeightLayout::kInt16Cols, neon::Gemm,
                                    &NeonRowKernels()};
  return table;
}

}  // namespace mmoe
