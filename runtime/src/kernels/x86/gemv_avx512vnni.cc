// qs8/qs16 one-row GEMM (GEMV) for AVX-512 VNNI: a chunk of P parts of B 16-column blocks,
// the blocks of a part reading the same input row (kernels/gemm.h, GemvChunk). Per k-group one
// broadcast of each part's input for its B blocks, and per block one vpdpbusd (int8 input,
// the weights as its memory operand) or vpdpwssd (int16 input, on int8 weights widened as
// loaded); two partial sums per block (four for a lone block) hide the multiply-accumulate's
// latency. Same arithmetic as the tile kernels (gemm_avx512vnni.cc): integer sums, then
// StoreBlock.
#include <immintrin.h>

#include <utility>

#include "kernels/gemm.h"
#include "kernels/x86/vnni_avx512.h"

namespace mmoe {
namespace {

template <bool kInt16, int P, int B>
void Gemv(const GemvChunk& c, bool reverse) {
  constexpr int NB = P * B;
  // Partial sums over interleaved k-groups for narrow chunks: integer sums, exact in any order.
  constexpr int KU = NB == 1 ? 4 : 2;
  const PackedGemm& g = *c.gemm;
  const int32_t* bias = (kInt16 ? g.bias : g.bias_u8) + c.column;
  const uint8_t* w[NB];
  __m512i acc[KU][NB];
#pragma GCC unroll 16
  for (int j = 0; j < NB; ++j) {
    w[j] = c.w[j / B] + static_cast<size_t>(j % B) * static_cast<size_t>(c.w_block_bytes);
    acc[0][j] = _mm512_loadu_si512(bias + 16 * j);
#pragma GCC unroll 4
    for (int u = 1; u < KU; ++u) acc[u][j] = _mm512_setzero_si512();
  }
  const uint8_t* a[P];
#pragma GCC unroll 4
  for (int p = 0; p < P; ++p) a[p] = static_cast<const uint8_t*>(c.a[p]);
  const auto step = [&](__m512i(&sum)[NB], int32_t kk) {
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) {
      const __m512i av = _mm512_set1_epi32(Load32(a[p] + 4 * static_cast<size_t>(kk)));
#pragma GCC unroll 8
      for (int j = p * B; j < (p + 1) * B; ++j) {
        // int16 input: 16 columns x 2 int8 weights, widened to the int16 pairs vpdpwssd takes.
        const __m512i wv = kInt16 ? _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(
                                        w[j] + 32 * static_cast<size_t>(kk))))
                                  : _mm512_loadu_si512(w[j] + 64 * static_cast<size_t>(kk));
        sum[j] = MultiplyAdd<kInt16>(sum[j], av, wv);
      }
    }
  };
  ForEachKGroup<KU>(c.k_groups, reverse, [&](int u, int32_t kk) { step(acc[u], kk); });
#pragma GCC unroll 16
  for (int j = 0; j < NB; ++j) {
#pragma GCC unroll 4
    for (int u = 1; u < KU; ++u) acc[0][j] = _mm512_add_epi32(acc[0][j], acc[u][j]);
    const GemvBlock& b = c.block[j];
    StoreBlock(acc[0][j], BlockParams(g.multiplier + c.column + 16 * j, b.lo, b.hi, b.zero_point), b.type,
               b.real_cols, b.dst);
  }
}

#include "kernels/gemv_select.inc"

}  // namespace

GemvFn Avx512VnniGemv(bool int16_input, int parts, int blocks_per_part) {
  return GemvSelect<kGemvMaxBlocks, kGemvMaxParts>(int16_input, parts, blocks_per_part);
}

}  // namespace mmoe
