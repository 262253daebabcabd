// qs8/qs16 GEMM for AVX2 without VNNI. Tiles: 8 output columns per ymm register, weights packed
// as int16 pairs (kInt16x2), vpmaddwd on int16 input pairs. vpmaddubsw on uint8 inputs (x + 128)
// would saturate at int16 for some weights (2 * 255 * 127 > 32767); the one-row kernels use it
// on |x| with the weights' signs flipped, where it cannot (below).
#include <immintrin.h>

#include <cstring>
#include <utility>

#include "kernels/gemm.h"

namespace mmoe {
namespace {

// Two consecutive int16 inputs as one 32-bit lane.
inline int32_t PairS16(const int16_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

#include "kernels/x86/epilogue_ymm.inc"

// acc += x, in place. Inline assembly, not _mm256_add_epi32: with the intrinsic GCC 12 keeps
// each accumulator in two registers and copies it back and forth on every step.
inline __m256i AddTo(__m256i acc, __m256i x) {
  __asm__("vpaddd %1, %0, %0" : "+x"(acc) : "xm"(x));
  return acc;
}

// Pairwise products of a broadcast input pair and 8 columns' weight pairs read from memory.
// Inline assembly keeps the weights a memory operand: with the intrinsic GCC loads a tile's
// weights into registers once for all its rows, which with 12 accumulators spills.
inline __m256i MaddMem(__m256i a, const int16_t* w) {
  __m256i r;
  __asm__("vpmaddwd %2, %1, %0" : "=x"(r) : "x"(a), "m"(*reinterpret_cast<const __m256i*>(w)));
  return r;
}

inline __m256i Broadcast32(const int16_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof(v));
  return _mm256_set1_epi32(v);
}

// n int8 inputs (a multiple of 4) widened to int16, so that a tile broadcasts each k-group's
// pair with one load instead of assembling it from two bytes on every row and k-group.
inline void Widen(const int8_t* x, int32_t n, int16_t* out) {
  int32_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm256_cvtepi8_epi16(v));
  }
  for (; i < n; i += 4) {
    int32_t v;
    std::memcpy(&v, x + i, sizeof(v));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out + i), _mm_cvtepi8_epi16(_mm_cvtsi32_si128(v)));
  }
}

struct TileArgs {
  const GemmArgs* args;
  size_t segment;
  int32_t col0;  // first column of the tile, a multiple of 8
  size_t row0;
};

// int8 inputs are widened in chunks of this many (MR KiB of stack for an MR-row tile).
constexpr int32_t kWideK = 512;

// MR rows x NH halves (8 columns each) of 16-column blocks. Per k-group of 2: one broadcast
// per row, and per row and half a vpmaddwd with the weights as its memory operand (L1, shared
// by the rows) and a vpaddd.
template <bool kInt16, int MR, int NH>
void Tile(const TileArgs& t) {
  const GemmArgs& args = *t.args;
  const PackedGemm& g = *args.gemm;
  const Segment& seg = g.segments[t.segment];
  // Half h of the tile: block (col0 + 8h) / 16, offset 8 columns * 2 when it is the upper half.
  const int16_t* wh[NH];
#pragma GCC unroll 8
  for (int h = 0; h < NH; ++h) {
    const int32_t col = t.col0 + 8 * h;
    wh[h] = BlockWeights<int16_t>(seg, col - col % kBlockColumns) + (col % kBlockColumns) * 2;
  }
  __m256i acc[MR][NH];
#pragma GCC unroll 8
  for (int h = 0; h < NH; ++h) {
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(g.bias + t.col0 + 8 * h));
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) acc[r][h] = b;
  }
  alignas(32) int16_t wide[kInt16 ? 1 : MR][kInt16 ? 1 : kWideK];
  for (int32_t k0 = 0; k0 < seg.k_pad; k0 += kWideK) {
    const int32_t kn = seg.k_pad - k0 < kWideK ? seg.k_pad - k0 : kWideK;
    const int16_t* x[MR];
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) {
      if constexpr (kInt16) {
        x[r] = SegmentInput<int16_t>(args, seg, t.row0 + r) + k0;
      } else {
        Widen(SegmentInput<int8_t>(args, seg, t.row0 + r) + k0, kn, wide[r]);
        x[r] = wide[r];
      }
    }
    const size_t w0 = static_cast<size_t>(k0) * kBlockColumns;  // int16 weights before k-group k0 / 2
    for (int32_t k = 0; k < kn / 2; ++k) {
#pragma GCC unroll 4
      for (int r = 0; r < MR; ++r) {
        const __m256i av = Broadcast32(x[r] + 2 * k);
#pragma GCC unroll 8
        for (int h = 0; h < NH; ++h) {
          acc[r][h] = AddTo(acc[r][h], MaddMem(av, wh[h] + w0 + 32 * static_cast<size_t>(k)));
        }
      }
    }
  }
  StoreTile(acc, args, t.segment, t.col0, t.row0);
}

// 16 ymm registers: 3 rows x 4 halves keep 12 accumulators, a broadcast input and a product.
constexpr int kRows = 3;

template <bool kInt16, int NH>
void TileColumns(TileArgs t, size_t m) {
  for (; t.row0 + kRows <= m; t.row0 += kRows) Tile<kInt16, kRows, NH>(t);
  if (m - t.row0 == 2) Tile<kInt16, 2, NH>(t);
  if (m - t.row0 == 1) Tile<kInt16, 1, NH>(t);
}

template <bool kInt16>
void GemmTyped(const GemmArgs& args) {
  const PackedGemm& g = *args.gemm;
  for (size_t s = 0; s < g.segments.size(); ++s) {
    const Segment& seg = g.segments[s];
    const int32_t halves = (seg.end - seg.begin + kBlockColumns - 1) / kBlockColumns * 2;
    int32_t h = 0;
    for (; h + 4 <= halves; h += 4) TileColumns<kInt16, 4>(TileArgs{&args, s, seg.begin + h * 8, 0}, args.m);
    if (h < halves) TileColumns<kInt16, 2>(TileArgs{&args, s, seg.begin + h * 8, 0}, args.m);
  }
}

void Gemm(const GemmArgs& args) {
  if (args.gemm->input == ElementType::kInt16) {
    GemmTyped<true>(args);
  } else {
    GemmTyped<false>(args);
  }
}

// One-row chunks (kernels/gemm.h, GemvChunk) of up to kGemvBlocks blocks, two 8-column halves
// each, from int8 weights (half the bytes a batch-1 call brings in from L2):
//   int8 input:  the kInt8x4 int8 copy (Segment::weights_i8). Per k-group of 4, vpmaddubsw
//                multiplies |x| (unsigned, at most 128) by the weights with x's signs
//                (vpsignb; weights are in [-127, 127], so negating one cannot overflow): each
//                pair of products is at most 2 * 128 * 127 = 32512 in magnitude, so the
//                int16 sums never saturate and equal x . w exactly; vpmaddwd by ones adds the
//                two pairs of each column into int32. 32 products per 4 instructions, where
//                widening the weights to int16 pairs takes 6.
//   int16 input: the kInt16x2-order int8 copy, widened as loaded, vpmaddwd on int16 pairs.
// 16 ymm registers: 4 blocks of two halves, or 1-2 blocks with two partial sums, keep 8
// accumulators.
constexpr int kGemvBlocks = 4;

template <bool kInt16, int P, int B>
void Gemv(const GemvChunk& c, bool reverse) {
  constexpr int NB = P * B;
  constexpr int KU = NB <= 2 ? 2 : 1;  // partial sums over interleaved k-groups (exact)
  const PackedGemm& g = *c.gemm;
  const uint8_t* w[NB];
  __m256i acc[KU][NB][2];
#pragma GCC unroll 8
  for (int j = 0; j < NB; ++j) {
    w[j] = c.w[j / B] + static_cast<size_t>(j % B) * static_cast<size_t>(c.w_block_bytes);
#pragma GCC unroll 8
    for (int h = 0; h < 2; ++h) {
      acc[0][j][h] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(g.bias + c.column + 16 * j + 8 * h));
#pragma GCC unroll 8
      for (int u = 1; u < KU; ++u) acc[u][j][h] = _mm256_setzero_si256();
    }
  }
  const __m256i ones = _mm256_set1_epi16(1);
  const auto step = [&](__m256i(&sum)[NB][2], int32_t kk) {
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) {
      if constexpr (kInt16) {
        const __m256i av =
            _mm256_set1_epi32(PairS16(static_cast<const int16_t*>(c.a[p]) + 2 * static_cast<size_t>(kk)));
#pragma GCC unroll 8
        for (int j = p * B; j < (p + 1) * B; ++j) {
#pragma GCC unroll 8
          for (int h = 0; h < 2; ++h) {
            const __m256i wv = _mm256_cvtepi8_epi16(_mm_loadu_si128(
                reinterpret_cast<const __m128i*>(w[j] + 32 * static_cast<size_t>(kk) + 16 * h)));
            sum[j][h] = AddTo(sum[j][h], _mm256_madd_epi16(av, wv));
          }
        }
      } else {
        int32_t group;
        std::memcpy(&group, static_cast<const int8_t*>(c.a[p]) + 4 * static_cast<size_t>(kk), sizeof(group));
        const __m256i xv = _mm256_set1_epi32(group);
        const __m256i xabs = _mm256_abs_epi8(xv);
#pragma GCC unroll 8
        for (int j = p * B; j < (p + 1) * B; ++j) {
#pragma GCC unroll 8
          for (int h = 0; h < 2; ++h) {
            const __m256i wv = _mm256_loadu_si256(
                reinterpret_cast<const __m256i*>(w[j] + 64 * static_cast<size_t>(kk) + 32 * h));
            const __m256i pairs = _mm256_maddubs_epi16(xabs, _mm256_sign_epi8(wv, xv));
            sum[j][h] = AddTo(sum[j][h], _mm256_madd_epi16(pairs, ones));
          }
        }
      }
    }
  };
  ForEachKGroup<KU>(c.k_groups, reverse, [&](int u, int32_t kk) { step(acc[u], kk); });
#pragma GCC unroll 8
  for (int j = 0; j < NB; ++j) {
    const GemvBlock& b = c.block[j];
    const float* mult = g.multiplier + c.column + 16 * j;
#pragma GCC unroll 8
    for (int h = 0; h < 2; ++h) {
#pragma GCC unroll 8
      for (int u = 1; u < KU; ++u) acc[0][j][h] = _mm256_add_epi32(acc[0][j][h], acc[u][j][h]);
      StoreHalf(acc[0][j][h], mult, b, h);
    }
  }
}

#include "kernels/gemv_select.inc"

}  // namespace

const GemmKernels& Avx2GemmKernels() {
  static const GemmKernels table = {"avx2",
                                    WeightLayout::kInt16x2,
                                    WeightLayout::kInt16x2,
                                    Gemm,
                                    &Avx2RowKernels(),
                                    64,
                                    GemvSelect<kGemvBlocks, kGemvBlocks>,
                                    kGemvBlocks,
                                    kGemvBlocks};
  return table;
}

}  // namespace mmoe
