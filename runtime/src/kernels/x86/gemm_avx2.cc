// qs8/qs16 GEMM for AVX2 without VNNI: 8 output columns per ymm register, weights packed as
// int16 pairs (kInt16x2) and vpmaddwd on sign-extended input pairs. vpmaddubsw is avoided on
// purpose: it saturates at int16 and would not be exact for every weight.
#include <immintrin.h>

#include <cstring>
#include <utility>

#include "kernels/gemm.h"

namespace mmoe {
namespace {

// Two consecutive inputs as one 32-bit lane of two int16 values.
inline int32_t PairS8(const int8_t* p) {
  const uint32_t lo = static_cast<uint16_t>(static_cast<int16_t>(p[0]));
  const uint32_t hi = static_cast<uint16_t>(static_cast<int16_t>(p[1]));
  return static_cast<int32_t>(lo | (hi << 16));
}
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

struct TileArgs {
  const GemmArgs* args;
  size_t segment;
  int32_t col0;  // first column of the tile, a multiple of 8
  size_t row0;
};

// MR rows x NH halves (8 columns each) of 16-column blocks.
template <bool kInt16, int MR, int NH>
void Tile(const TileArgs& t) {
  const GemmArgs& args = *t.args;
  const PackedGemm& g = *args.gemm;
  const Segment& seg = g.segments[t.segment];
  const int32_t groups = seg.k_pad / 2;
  // Half h of the tile: block (col0 + 8h) / 16, offset 8 columns * 2 when it is the upper half.
  const int16_t* wh[NH];
  for (int h = 0; h < NH; ++h) {
    const int32_t col = t.col0 + 8 * h;
    wh[h] = BlockWeights<int16_t>(seg, col - col % kBlockColumns) + (col % kBlockColumns) * 2;
  }
  __m256i acc[MR][NH];
  for (int h = 0; h < NH; ++h) {
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(g.bias + t.col0 + 8 * h));
    for (int r = 0; r < MR; ++r) acc[r][h] = b;
  }
  for (int32_t k = 0; k < groups; ++k) {
    __m256i wv[NH];
    for (int h = 0; h < NH; ++h) {
      wv[h] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wh[h] + static_cast<size_t>(k) * 32));
    }
    for (int r = 0; r < MR; ++r) {
      const size_t row = t.row0 + r, at = 2 * static_cast<size_t>(k);
      const int32_t pair = kInt16 ? PairS16(SegmentInput<int16_t>(args, seg, row) + at)
                                  : PairS8(SegmentInput<int8_t>(args, seg, row) + at);
      const __m256i av = _mm256_set1_epi32(pair);
      for (int h = 0; h < NH; ++h) acc[r][h] = AddTo(acc[r][h], _mm256_madd_epi16(av, wv[h]));
    }
  }
  StoreTile(acc, args, t.segment, t.col0, t.row0);
}

template <bool kInt16, int MR>
void TileRows(const TileArgs& t, int nh) {
  switch (nh) {
    case 2:
      return Tile<kInt16, MR, 2>(t);
    case 4:
      return Tile<kInt16, MR, 4>(t);
    default:
      return Tile<kInt16, MR, 6>(t);
  }
}

template <bool kInt16>
void GemmTyped(const GemmArgs& args) {
  const PackedGemm& g = *args.gemm;
  for (size_t s = 0; s < g.segments.size(); ++s) {
    const Segment& seg = g.segments[s];
    const int32_t halves = (seg.end - seg.begin + kBlockColumns - 1) / kBlockColumns * 2;
    for (int32_t h = 0; h < halves; h += 6) {
      const int nh = halves - h < 6 ? halves - h : 6;
      TileArgs t{&args, s, seg.begin + h * 8, 0};
      for (; t.row0 + 2 <= args.m; t.row0 += 2) TileRows<kInt16, 2>(t, nh);
      if (t.row0 < args.m) TileRows<kInt16, 1>(t, nh);
    }
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
// each: one input pair broadcast per k-group for all of them, vpmaddwd on int16 weight pairs
// (int8 input: kInt16x2; int16 input: the int8 copy, Segment::weights_i8, widened as loaded).
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
  const auto step = [&](__m256i(&sum)[NB][2], int32_t kk) {
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) {
      const int32_t pair = kInt16 ? PairS16(static_cast<const int16_t*>(c.a[p]) + 2 * static_cast<size_t>(kk))
                                  : PairS8(static_cast<const int8_t*>(c.a[p]) + 2 * static_cast<size_t>(kk));
      const __m256i av = _mm256_set1_epi32(pair);
#pragma GCC unroll 8
      for (int j = p * B; j < (p + 1) * B; ++j) {
#pragma GCC unroll 8
        for (int h = 0; h < 2; ++h) {
          const __m256i wv =
              kInt16 ? _mm256_cvtepi8_epi16(_mm_loadu_si128(
                           reinterpret_cast<const __m128i*>(w[j] + 32 * static_cast<size_t>(kk) + 16 * h)))
                     : _mm256_loadu_si256(
                           reinterpret_cast<const __m256i*>(w[j] + 64 * static_cast<size_t>(kk) + 32 * h));
          sum[j][h] = AddTo(sum[j][h], _mm256_madd_epi16(av, wv));
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
