// qs8 GEMM for AArch64 with the int8 matrix multiply (Armv8.6 I8MM: SMMLA), compiled with
// -march=armv8.2-a+dotprod+i8mm and chosen only when the CPU reports both (HWCAP2_I8MM,
// HWCAP_ASIMDDP).
//   int8 input:  smmla on kInt8x8 weights. One instruction multiplies a 2 x 8 block of inputs
//                (two rows, 8 k) by an 8 x 2 block of weights (8 k, two columns) into a 2 x 2
//                block of int32 sums: 32 products, twice sdot's 16. Inputs stay signed, so
//                the plain folded bias applies.
//   int16 input: the SDOT kernels (gemm_neondot.cc) on kInt8x4 weights: the int16 layers are
//                the narrow ones, and splitting an int16 input into two int8 planes is
//                theirs.
//
// The 4-row tile keeps 16 accumulators, one per pair of rows and pair of columns, each
// [r0 c0, r0 c1, r1 c0, r1 c1]; per 8 k it loads two input vectors (rows 0-1 and 2-3, 8 bytes
// of each) and the block's 8 weight vectors (two four-register ld1), 26 of the 32 vector
// registers, and issues 16 smmla. The epilogue turns the pairs back into rows (zip1 / zip2 on
// 64-bit lanes) for StoreRows. One-row tiles (the rest of a batch, and batch 1) put the row in
// both halves of the input vector and keep the first row of each result.
#include <arm_neon.h>

#include "kernels/arm/neon_common.h"
#include "kernels/gemm.h"

namespace mmoe {
namespace neon {
namespace {

// acc[p][q] += rows (2p, 2p + 1) x columns (2q, 2q + 1) over 8 k, for the block's 8 column
// pairs, whose weights w then moves past.
template <int P>
__attribute__((always_inline)) inline void MmlaGroup(int32x4_t (&acc)[P][8], const int8_t*& w,
                                                     const int8x16_t (&a)[P]) {
  int8x16x4_t lo, hi;  // one ld1 of 4 registers each, advancing w
  asm("ld1 {%S0.16b - %V0.16b}, [%2], #64\n\t"
      "ld1 {%S1.16b - %V1.16b}, [%2], #64"
      : "=w"(lo), "=w"(hi), "+r"(w)
      : "m"(*reinterpret_cast<const int8_t(*)[8 * kBlockColumns]>(w)));
  for (int p = 0; p < P; ++p) {
    for (int q = 0; q < 4; ++q) acc[p][q] = vmmlaq_s32(acc[p][q], a[p], lo.val[q]);
    for (int q = 0; q < 4; ++q) acc[p][4 + q] = vmmlaq_s32(acc[p][4 + q], a[p], hi.val[q]);
  }
  StepBarrier();
}

// The last 4 k when k_pad % 8 == 4: stored as one kInt8x4 group ([16 columns][4 k], see
// PackedWeightIndex), each column pair widened to 8 k with zeros; `a` holds those 4 inputs of
// each row followed by zeros.
template <int P>
__attribute__((always_inline)) inline void MmlaTail(int32x4_t (&acc)[P][8], const int8_t* w,
                                                    const int8x16_t (&a)[P]) {
  const int32x4_t zero = vdupq_n_s32(0);
  int8x16_t b[8];
  for (int v = 0; v < 4; ++v) {
    const int32x4_t cols = vreinterpretq_s32_s8(vld1q_s8(w + 16 * v));  // columns 4v .. 4v + 3
    b[2 * v] = vreinterpretq_s8_s32(vzip1q_s32(cols, zero));
    b[2 * v + 1] = vreinterpretq_s8_s32(vzip2q_s32(cols, zero));
  }
  for (int p = 0; p < P; ++p)
    for (int q = 0; q < 8; ++q) acc[p][q] = vmmlaq_s32(acc[p][q], a[p], b[q]);
}

// 8 inputs from each of rows r0 and r1, both pointers then
// moving past them: ldr d and ld1 {.d}[1] with post-increment (inline assembly: GCC builds the
// pair from two loads and a lane move, or computes each lane load's address).
inline int8x16_t Rows8(const int8_t*& r0, const int8_t*& r1) {
  int8x16_t v;
  asm("ldr %d0, [%1], #8\n\t"
      "ld1 {%0.d}[1], [%2], #8"
      : "=&w"(v), "+r"(r0), "+r"(r1)
      : "m"(*reinterpret_cast<const int8_t(*)[8]>(r0)), "m"(*reinterpret_cast<const int8_t(*)[8]>(r1)));
  return v;
}
// A one-row tile's 8 inputs in both halves, the pointer moving past them.
inline int8x16_t Row8Twice(const int8_t*& r) {
  int8x16_t v;
  asm("ld1r {%0.2d}, [%1], #8" : "=w"(v), "+r"(r) : "m"(*reinterpret_cast<const int8_t(*)[8]>(r)));
  return v;
}
// And 4 inputs of each row followed by zeros (the tail).
inline int8x16_t Rows4(const int8_t* r0, const int8_t* r1) {
  int32_t x0, x1;
  std::memcpy(&x0, r0, sizeof(x0));
  std::memcpy(&x1, r1, sizeof(x1));
  return vreinterpretq_s8_s32(vsetq_lane_s32(x1, vsetq_lane_s32(x0, vdupq_n_s32(0), 0), 2));
}

struct MmlaKernel {
  template <int MR>
  void Run(const Tile<int8_t, int8_t>& t, const TileOutput& out) const {
    constexpr int P = (MR + 1) / 2;  // row pairs; a one-row tile pairs its row with itself
    // Each row pair's two input pointers, advancing with k (a one-row tile reads its row once
    // into both halves, and keeps the first row of each result).
    const int8_t* in[P][2];
    for (int p = 0; p < P; ++p) {
      in[p][0] = t.a + 2 * p * t.a_stride;
      in[p][1] = 2 * p + 1 < MR ? in[p][0] + t.a_stride : in[p][0];
    }
    int32x4_t acc[P][8];
    for (int q = 0; q < 8; ++q) {
      // [b(2q), b(2q + 1)] for both rows of the pair.
      const int32x4_t b =
          vreinterpretq_s32_s64(vld1q_dup_s64(reinterpret_cast<const int64_t*>(t.bias + 2 * q)));
      for (int p = 0; p < P; ++p) acc[p][q] = b;
    }
    const int8_t* w = t.w;
    const int8_t* const end = in[0][0] + t.k_pad / 8 * 8;
    while (in[0][0] != end) {
      int8x16_t a[P];
      for (int p = 0; p < P; ++p) a[p] = MR == 1 ? Row8Twice(in[p][0]) : Rows8(in[p][0], in[p][1]);
      MmlaGroup<P>(acc, w, a);
    }
    if (t.k_pad % 8 != 0) {
      int8x16_t a[P];
      for (int p = 0; p < P; ++p) a[p] = Rows4(in[p][0], MR == 1 ? in[p][0] : in[p][1]);
      MmlaTail<P>(acc, w, a);
    }
    // Pairs back into rows: row 2p's columns 4c..4c+3 are the low halves of acc[p][2c] and
    // acc[p][2c + 1], row 2p + 1's their high halves.
    int32x4_t res[MR][4];
    for (int p = 0; p < P; ++p) {
      for (int c = 0; c < 4; ++c) {
        const int64x2_t x = vreinterpretq_s64_s32(acc[p][2 * c]),
                        y = vreinterpretq_s64_s32(acc[p][2 * c + 1]);
        res[2 * p][c] = vreinterpretq_s32_s64(vzip1q_s64(x, y));
        if (2 * p + 1 < MR) res[2 * p + 1][c] = vreinterpretq_s32_s64(vzip2q_s64(x, y));
      }
    }
    StoreRows<MR>(res, out, t.col0, t.dst);
  }
};

// 4 rows: 16 accumulators, 8 weight and 2 input vectors in AArch64's 32 registers.
constexpr int kRows = 4;

void Gemm(const GemmArgs& args) {
  if (args.gemm->input == ElementType::kInt16) return NeonDotGemmKernels().gemm(args);
  RunTiles<kRows, int8_t, int8_t>(args, MmlaKernel{});
}

}  // namespace
}  // namespace neon

const GemmKernels& NeonI8mmGemmKernels() {
  static const GemmKernels table = {"i8mm", WeightLayout::kInt8x8, WeightLayout::kInt8x4, neon::Gemm,
                                    &NeonRowKernels()};
  return table;
}

}  // namespace mmoe
