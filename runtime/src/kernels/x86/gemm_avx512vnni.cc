// qs8/qs16 GEMM for AVX-512 VNNI: 16 output columns per zmm register.
//   int8 input:  vpdpbusd, the input shifted to uint8 (x ^ 0x80 = x + 128) and the bias
//                pre-corrected by -128 * sum_k w, so 4 multiply-accumulates per lane per op.
//   int16 input: vpdpwssd on int16 weight pairs.
// Tiles of MR rows x NB blocks of 16 columns keep MR * NB accumulators in registers.
#include <immintrin.h>

#include "kernels/gemm.h"
#include "kernels/x86/narrow_avx512.h"
#include "kernels/x86/vnni_avx512.h"

namespace mmoe {
namespace {

struct TileArgs {
  const GemmArgs* args;
  size_t segment;
  int32_t col0;  // first column of the tile's first block
  size_t row0;
};

// k-groups of a segment: the k-steps of one 64-byte block (4 int8 or 2 int16 per lane).
template <bool kInt16>
inline int32_t KGroups(const Segment& seg) {
  return kInt16 ? seg.k_pad / 2 : seg.k_pad / 4;
}

// One- and two-row tiles (small batches) read each weight once per call, mostly from L2 (the
// seed model's weights exceed a 32 KB L1): fetch each block's weights this many k-groups
// (64-byte lines) ahead. Measured on Zen 4: 4 and 8 equal, 16 slower; batch 1 gains ~4%.
constexpr int kPrefetchGroups = 8;

// The epilogue of segments with small products (Segment::small_products), for 2-4 blocks per
// row: round, add the zero point, narrow 4 (int8) or 2 (int16) blocks at once with the
// saturating packs, put the lanes back in column order with one permute and clamp the packed
// row. About 30% fewer instructions per row of 4 blocks (23, not 32) than StoreBlock, and no
// float clamp. Exact: |float(acc) * multiplier| < 2^30 so the rounding cannot overflow, and
// the bounds are integers, so clamping after rounding gives the bytes of clamping before.
struct PackedParams {
  __m512i zero_point;
  int32_t lo, hi;  // output bounds, zero point included
  explicit PackedParams(const Segment& seg)
      : zero_point(_mm512_set1_epi32(seg.zero_point)),
        lo(static_cast<int32_t>(seg.lo) + seg.zero_point),
        hi(static_cast<int32_t>(seg.hi) + seg.zero_point) {}
};

// One block rounded, with zero point, not yet clamped.
inline __m512i RoundBlock(__m512i acc, __m512 multiplier, const PackedParams& p) {
  return _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_cvtepi32_ps(acc), multiplier)),
                          p.zero_point);
}

// Narrows, clamps and stores a row's NB rounded blocks (q[NB..3] are zeros, never stored).
template <DenseOutput kType, int NB>
__attribute__((always_inline)) inline void StorePackedRow(const __m512i (&q)[4], const PackedParams& p,
                                                          uint8_t* row) {
  if constexpr (kType == DenseOutput::kInt8) {
    const __m512i b = _mm512_min_epi8(
        _mm512_max_epi8(PackInt8(q[0], q[1], q[2], q[3]), _mm512_set1_epi8(p.lo)), _mm512_set1_epi8(p.hi));
    _mm512_mask_storeu_epi8(row, NB == 4 ? ~0ull : (1ull << (16 * NB)) - 1, b);
  } else {
    const auto clamp = [&](__m512i w) {
      return _mm512_min_epi16(_mm512_max_epi16(w, _mm512_set1_epi16(p.lo)), _mm512_set1_epi16(p.hi));
    };
    _mm512_storeu_si512(row, clamp(PackInt16(q[0], q[1])));
    if constexpr (NB > 2) {
      _mm512_mask_storeu_epi16(row + 64, NB == 4 ? 0xFFFFFFFFu : 0xFFFFu, clamp(PackInt16(q[2], q[3])));
    }
  }
}

template <DenseOutput kType, int MR, int NB>
__attribute__((always_inline)) inline void StoreRowsPacked(const __m512i (&acc)[MR][NB], const PackedGemm& g,
                                                           const Segment& seg, int32_t col0, uint8_t* dst,
                                                           size_t stride) {
  const PackedParams params(seg);
  __m512 mult[NB];
  for (int j = 0; j < NB; ++j) mult[j] = _mm512_loadu_ps(g.multiplier + col0 + 16 * j);
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    __m512i q[4];
    for (int j = 0; j < NB; ++j) q[j] = RoundBlock(acc[r][j], mult[j], params);
    for (int j = NB; j < 4; ++j) q[j] = _mm512_setzero_si512();
    StorePackedRow<kType, NB>(q, params, dst + r * stride);
  }
}

// Writes a tile's accumulators, requantized (or scaled) to `kType`, to its segment's buffer.
template <DenseOutput kType, int MR, int NB>
__attribute__((always_inline)) inline void StoreTile(const __m512i (&acc)[MR][NB], const TileArgs& t) {
  const GemmArgs& args = *t.args;
  const PackedGemm& g = *args.gemm;
  const Segment& seg = g.segments[t.segment];
  constexpr size_t kSize = kType == DenseOutput::kInt8 ? 1 : (kType == DenseOutput::kInt16 ? 2 : 4);
  const size_t stride = static_cast<size_t>(args.dst_stride[t.segment]) * kSize;
  uint8_t* dst = static_cast<uint8_t*>(args.dst[t.segment]) + t.row0 * stride +
                 static_cast<size_t>(t.col0 - seg.begin) * kSize;
  if constexpr (kType != DenseOutput::kReal && NB >= 2) {
    if (seg.small_products) return StoreRowsPacked<kType, MR, NB>(acc, g, seg, t.col0, dst, stride);
  }
#pragma GCC unroll 4
  for (int j = 0; j < NB; ++j) {
    const BlockParams params(g, seg, t.col0 + 16 * j);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      StoreBlock(acc[r][j], params, kType, seg.end - t.col0 - 16 * j, dst + r * stride + 16 * j * kSize);
    }
  }
}

template <bool kInt16, int MR, int NB>
__attribute__((always_inline)) inline void Tile(const TileArgs& t) {
  // Small tiles would wait on one accumulator's latency each step: KU independent partial
  // sums over interleaved k-groups keep the pipeline full (integer sums: exact in any order).
  constexpr int KU = MR == 1 || MR * NB < 4 ? 2 : 1;  // 2 measured faster than 4 at batch 1
  const GemmArgs& args = *t.args;
  const PackedGemm& g = *args.gemm;
  const Segment& seg = g.segments[t.segment];
  const int32_t groups = KGroups<kInt16>(seg);
  const uint8_t* w = kInt16 ? reinterpret_cast<const uint8_t*>(BlockWeights<int16_t>(seg, t.col0))
                            : BlockWeights<uint8_t>(seg, t.col0);
  const int32_t* bias = (kInt16 ? g.bias : g.bias_u8) + t.col0;
  __m512i acc[KU][MR][NB];
  for (int j = 0; j < NB; ++j) {
    const __m512i b = _mm512_loadu_si512(bias + 16 * j);
    for (int r = 0; r < MR; ++r) {
      acc[0][r][j] = b;
      for (int u = 1; u < KU; ++u) acc[u][r][j] = _mm512_setzero_si512();
    }
  }
  const size_t elem = kInt16 ? 2 : 1;
  const uint8_t* a = kInt16 ? reinterpret_cast<const uint8_t*>(SegmentInput<int16_t>(args, seg, t.row0))
                            : SegmentInput<uint8_t>(args, seg, t.row0);
  const size_t a_row = args.a_stride * elem;
  // acc[u] += the products of k-group kk. One loop carries the accumulators, and the last
  // (< KU) groups run as straight-line code after it: with a second loop GCC shuffles every
  // accumulator between registers (and the stack) on each iteration.
  const auto step = [&](__m512i(&sum)[MR][NB], int32_t kk) {
    __m512i wv[NB];
    for (int j = 0; j < NB; ++j) wv[j] = _mm512_loadu_si512(w + (static_cast<size_t>(j) * groups + kk) * 64);
    for (int r = 0; r < MR; ++r) {
      const __m512i av = _mm512_set1_epi32(Load32(a + r * a_row + 4 * static_cast<size_t>(kk)));
      for (int j = 0; j < NB; ++j) sum[r][j] = MultiplyAdd<kInt16>(sum[r][j], av, wv[j]);
    }
  };
  int32_t k = 0;
  for (; k + KU <= groups; k += KU) {
    if (MR <= 2) {
      for (int j = 0; j < NB; ++j)
        _mm_prefetch(
            reinterpret_cast<const char*>(w + (static_cast<size_t>(j) * groups + k + kPrefetchGroups) * 64),
            _MM_HINT_T0);
    }
#pragma GCC unroll 4
    for (int u = 0; u < KU; ++u) step(acc[u], k + u);
  }
#pragma GCC unroll 4
  for (int u = 0; u + 1 < KU; ++u) {
    if (k + u < groups) step(acc[u], k + u);
  }
  for (int u = 1; u < KU; ++u) {
    for (int r = 0; r < MR; ++r) {
      for (int j = 0; j < NB; ++j) acc[0][r][j] = _mm512_add_epi32(acc[0][r][j], acc[u][r][j]);
    }
  }
  const DenseOutput type = g.segment_types[t.segment];
  // One fully unrolled epilogue per output type: with the type tested inside a loop over the
  // blocks, GCC indexes the accumulators at run time and so keeps all of them on the stack
  // (16 stores before the k-loop, 16 after it and 16 reloads per 4x4 tile).
  if (type == DenseOutput::kInt8) {
    StoreTile<DenseOutput::kInt8, MR, NB>(acc[0], t);
  } else if (type == DenseOutput::kInt16) {
    StoreTile<DenseOutput::kInt16, MR, NB>(acc[0], t);
  } else {
    StoreTile<DenseOutput::kReal, MR, NB>(acc[0], t);
  }
}

// A tile whose epilogue is deferred: packed segments (small products) of 2-4 blocks, or one
// block with StoreBlock. At a tile's end all MR * NB blocks' epilogues arrive at once, and the
// core runs that burst mostly on its own. Deferred, the tile's raw accumulators go to
// `pending` (64-byte aligned, in L1), and the next tile rounds them one block per k-step among
// its multiply-accumulates (its first MR * NB k-steps; a packed row is narrowed and stored with
// its last block), where they cost next to nothing (mmoe_peak_int8's vnni_with_requantize).
// `prev`: `pending` holds the tile above this one. kBlocksPerStep: blocks rounded per k-step
// (2 where a layer has fewer k-steps than blocks). Needs groups >= MR * NB / kBlocksPerStep.
template <bool kInt16, int MR, int NB, DenseOutput kType, int kBlocksPerStep>
__attribute__((always_inline)) inline void TileDeferred(const TileArgs& t, __m512i (&pending)[MR][NB],
                                                        bool prev) {
  const GemmArgs& args = *t.args;
  const PackedGemm& g = *args.gemm;
  const Segment& seg = g.segments[t.segment];
  const int32_t groups = KGroups<kInt16>(seg);
  const uint8_t* w = kInt16 ? reinterpret_cast<const uint8_t*>(BlockWeights<int16_t>(seg, t.col0))
                            : BlockWeights<uint8_t>(seg, t.col0);
  const int32_t* bias = (kInt16 ? g.bias : g.bias_u8) + t.col0;
  __m512i acc[MR][NB];
  for (int j = 0; j < NB; ++j) {
    const __m512i b = _mm512_loadu_si512(bias + 16 * j);
    for (int r = 0; r < MR; ++r) acc[r][j] = b;
  }
  const uint8_t* a = kInt16 ? reinterpret_cast<const uint8_t*>(SegmentInput<int16_t>(args, seg, t.row0))
                            : SegmentInput<uint8_t>(args, seg, t.row0);
  const size_t a_row = args.a_stride * (kInt16 ? 2 : 1);
  const auto step = [&](int32_t kk) {
    __m512i wv[NB];
    for (int j = 0; j < NB; ++j) wv[j] = _mm512_loadu_si512(w + (static_cast<size_t>(j) * groups + kk) * 64);
    for (int r = 0; r < MR; ++r) {
      const __m512i av = _mm512_set1_epi32(Load32(a + r * a_row + 4 * static_cast<size_t>(kk)));
      for (int j = 0; j < NB; ++j) acc[r][j] = MultiplyAdd<kInt16>(acc[r][j], av, wv[j]);
    }
  };
  int32_t k = 0;
  if (prev) {
    constexpr size_t kSize = kType == DenseOutput::kInt8 ? 1 : 2;
    const size_t stride = static_cast<size_t>(args.dst_stride[t.segment]) * kSize;
    uint8_t* dst = static_cast<uint8_t*>(args.dst[t.segment]) + (t.row0 - MR) * stride +
                   static_cast<size_t>(t.col0 - seg.begin) * kSize;
    if constexpr (NB == 1) {
      const BlockParams params(g, seg, t.col0);
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) {
        step(r);
        StoreBlock(_mm512_load_si512(&pending[r][0]), params, kType, kBlockColumns, dst + r * stride);
      }
    } else {
      const PackedParams params(seg);
      const float* mult = g.multiplier + t.col0;
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) {
        __m512i q[4];
#pragma GCC unroll 4
        for (int j = 0; j < NB; ++j) {
          if ((r * NB + j) % kBlocksPerStep == 0) step((r * NB + j) / kBlocksPerStep);
          q[j] = RoundBlock(_mm512_load_si512(&pending[r][j]), _mm512_loadu_ps(mult + 16 * j), params);
        }
        for (int j = NB; j < 4; ++j) q[j] = _mm512_setzero_si512();
        StorePackedRow<kType, NB>(q, params, dst + r * stride);
      }
    }
    k = MR * NB / kBlocksPerStep;
  }
  for (; k < groups; ++k) step(k);
  for (int r = 0; r < MR; ++r) {
    for (int j = 0; j < NB; ++j) _mm512_store_si512(&pending[r][j], acc[r][j]);
  }
}

// Runs MR-row tiles from t.row0 with deferred epilogues while they fit in m rows (at least
// two); returns the first row left.
template <bool kInt16, int MR, int NB, DenseOutput kType, int kBlocksPerStep>
size_t TileLoopDeferred(TileArgs t, size_t m) {
  alignas(64) __m512i pending[MR][NB];
  TileDeferred<kInt16, MR, NB, kType, kBlocksPerStep>(t, pending, false);
  for (t.row0 += MR; t.row0 + MR <= m; t.row0 += MR) {
    TileDeferred<kInt16, MR, NB, kType, kBlocksPerStep>(t, pending, true);
  }
  TileArgs last = t;
  last.row0 = t.row0 - MR;
  StoreTile<kType, MR, NB>(pending, last);
  return t.row0;
}

// Deferring pays from three tiles per column group on (from two, batch 16 took 4.667 against
// 4.497 us, best of five runs each).
constexpr size_t kMinDeferTiles = 3;

// Runs MR-row tiles from t.row0 while they fit in m rows; returns the first row left. One
// call per column group rather than per tile: what the tiles share (the segment's fields,
// pointers, the loop set-up) is computed once. Out of line, so that each variant's body
// exists once (inlining the small ones into their callers made batch 1 10% slower).
template <bool kInt16, int MR, int NB>
__attribute__((noinline)) size_t TileLoop(TileArgs t, size_t m) {
  // Deferred epilogues where a column group runs several tiles: 8-row tiles of 1-2 blocks and
  // 4-row tiles of 3-4 blocks (a group's 4-row tiles of 1-2 blocks run at most once, after its
  // 8-row tiles); several blocks only with packed epilogues. int16-input layers are narrow (the
  // seed's towers' first layers: 8 k-steps for 16 blocks), so their 2-block tiles round two
  // blocks per k-step, and their 3-4-block tiles are left out (each variant adds ~6 KB).
  constexpr bool kDeferrable = (MR == 8 && NB <= 2) || (!kInt16 && MR == 4 && NB >= 3);
  if constexpr (kDeferrable) {
    constexpr int kBlocksPerStep = kInt16 && NB == 2 ? 2 : 1;
    const Segment& seg = t.args->gemm->segments[t.segment];
    const DenseOutput type = t.args->gemm->segment_types[t.segment];
    if ((NB == 1 || seg.small_products) && KGroups<kInt16>(seg) * kBlocksPerStep >= MR * NB &&
        t.row0 + kMinDeferTiles * MR <= m) {
      if (type == DenseOutput::kInt8)
        return TileLoopDeferred<kInt16, MR, NB, DenseOutput::kInt8, kBlocksPerStep>(t, m);
      if (type == DenseOutput::kInt16)
        return TileLoopDeferred<kInt16, MR, NB, DenseOutput::kInt16, kBlocksPerStep>(t, m);
    }
  }
  for (; t.row0 + MR <= m; t.row0 += MR) Tile<kInt16, MR, NB>(t);
  return t.row0;
}

// The same for a column group of nb blocks. Calls nothing when no MR-row tile fits: at batch
// 1 a call per group to an empty loop cost 12-15%.
template <bool kInt16, int MR>
size_t TileLoopNb(const TileArgs& t, size_t m, int nb) {
  if (t.row0 + MR > m) return t.row0;
  if constexpr (MR > 4) {  // taller tiles only for one- and two-block groups (GemmTyped)
    return nb == 1 ? TileLoop<kInt16, MR, 1>(t, m) : TileLoop<kInt16, MR, 2>(t, m);
  } else {
    switch (nb) {
      case 1:
        return TileLoop<kInt16, MR, 1>(t, m);
      case 2:
        return TileLoop<kInt16, MR, 2>(t, m);
      case 3:
        return TileLoop<kInt16, MR, 3>(t, m);
      default:
        return TileLoop<kInt16, MR, 4>(t, m);
    }
  }
}

// Lane r of the result: the sum of the 16 lanes of p[r]. Four levels of pairwise folds, each
// two permutes and an add per pair (45 operations for 16 sums).
inline __m512i SumLanes16(__m512i (&p)[16]) {
  const auto fold = [](__m512i a, __m512i b, __m512i lo, __m512i hi) {
    return _mm512_add_epi32(_mm512_permutex2var_epi32(a, lo, b), _mm512_permutex2var_epi32(a, hi, b));
  };
  // Level 1: lanes 0-7 hold p[2v]'s 8 partial sums, 8-15 p[2v+1]'s.
  const __m512i lo1 = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
  const __m512i hi1 = _mm512_add_epi32(lo1, _mm512_set1_epi32(8));
  // Level 2: 4 partial sums each of 4 rows; level 3: 2 each of 8 rows; level 4: 16 rows in order.
  const __m512i lo2 = _mm512_setr_epi32(0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
  const __m512i hi2 = _mm512_add_epi32(lo2, _mm512_set1_epi32(4));
  const __m512i lo3 = _mm512_setr_epi32(0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29);
  const __m512i hi3 = _mm512_add_epi32(lo3, _mm512_set1_epi32(2));
  const __m512i lo4 = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i hi4 = _mm512_add_epi32(lo4, _mm512_set1_epi32(1));
  __m512i r1[8], r2[4], r3[2];
  for (int v = 0; v < 8; ++v) r1[v] = fold(p[2 * v], p[2 * v + 1], lo1, hi1);
  for (int v = 0; v < 4; ++v) r2[v] = fold(r1[2 * v], r1[2 * v + 1], lo2, hi2);
  for (int v = 0; v < 2; ++v) r3[v] = fold(r2[2 * v], r2[2 * v + 1], lo3, hi3);
  return fold(r3[0], r3[1], lo4, hi4);
}

// Float-output (logit) segments over at most 32 int16 inputs that use at most two of their
// columns: a task tower's last layer, one logit per task, the towers' layers on one block's
// diagonal (the seed's two sit at columns 0 and 4). The tile kernels spend k_pad / 2 vpdpwssd
// per row on the whole 16-column block; here each row's inputs (one register) meet a column's
// weights in one vpmaddwd and 16 rows' lane sums fold together (SumLanes16): about 80
// operations per 16 rows and column, not 256 per 16 rows. Same integer accumulator, same
// float scaling, so the same logits. A column whose weights and bias are 0 gives +0 for every
// row (multipliers are positive, or 0 for padding), what the zeroed arena already holds there
// (nothing else writes this segment's columns), so it is skipped. Returns the rows done (a multiple of 16),
// or 0 when more than two columns are live; the tile kernels take the rest.
size_t DotColumns(const GemmArgs& args, size_t s) {
  const PackedGemm& g = *args.gemm;
  const Segment& seg = g.segments[s];
  const int32_t pairs = seg.k_pad / 2;  // int16 pairs, <= 16
  const __mmask16 kmask = pairs >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << pairs) - 1);
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  // Column c's weight pairs in k-group order (kInt16x2: int32 pair (kk, c) at kk * 16 + c).
  const int32_t* w32 = reinterpret_cast<const int32_t*>(BlockWeights<int16_t>(seg, seg.begin));
  __m512i w[2];
  int32_t cols[2];
  int live = 0;
  for (int32_t c = 0; c < seg.end - seg.begin; ++c) {
    const __m512i wc = _mm512_mask_i32gather_epi32(
        _mm512_setzero_si512(), kmask, _mm512_add_epi32(_mm512_slli_epi32(lane, 4), _mm512_set1_epi32(c)),
        w32, 4);
    const int32_t col = seg.begin + c;
    if (_mm512_test_epi32_mask(wc, wc) == 0 && g.bias[col] == 0) continue;
    if (live == 2) return 0;
    w[live] = wc;
    cols[live++] = c;
  }
  const size_t stride = static_cast<size_t>(args.dst_stride[s]);  // floats
  const __m512i rows = _mm512_mullo_epi32(lane, _mm512_set1_epi32(static_cast<int32_t>(stride)));
  float* dst = static_cast<float*>(args.dst[s]);
  size_t i = 0;
  for (; i + 16 <= args.m; i += 16) {
    const int16_t* a = SegmentInput<int16_t>(args, seg, i);
    for (int c = 0; c < live; ++c) {
      __m512i p[16];
      for (int r = 0; r < 16; ++r) {
        p[r] = _mm512_madd_epi16(_mm512_maskz_loadu_epi32(kmask, a + r * args.a_stride), w[c]);
      }
      const int32_t col = seg.begin + cols[c];
      const __m512i acc = _mm512_add_epi32(SumLanes16(p), _mm512_set1_epi32(g.bias[col]));
      const __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_set1_ps(g.multiplier[col]));
      _mm512_i32scatter_ps(dst + i * stride + cols[c], rows, v, 4);
    }
  }
  return i;
}

template <bool kInt16>
void GemmTyped(const GemmArgs& args) {
  const PackedGemm& g = *args.gemm;
  for (size_t s = 0; s < g.segments.size(); ++s) {
    const Segment& seg = g.segments[s];
    const int32_t blocks = (seg.end - seg.begin + kBlockColumns - 1) / kBlockColumns;
    size_t row0 = 0;  // rows a special kernel has done
    if constexpr (kInt16) {
      if (seg.end - seg.begin <= kBlockColumns && seg.k_pad <= 32 &&
          g.segment_types[s] == DenseOutput::kReal && args.m >= 16) {
        row0 = DotColumns(args, s);
      }
    }
    for (int32_t b = 0; b < blocks; b += 4) {
      const int nb = blocks - b < 4 ? blocks - b : 4;
      TileArgs t{&args, s, seg.begin + b * kBlockColumns, row0};
      // Narrow segments take 8 rows at a time: more accumulators, weights loaded half as often.
      if (nb <= 2) t.row0 = TileLoopNb<kInt16, 8>(t, args.m, nb);
      t.row0 = TileLoopNb<kInt16, 4>(t, args.m, nb);
      // The 0-3 rows left: at most one of these runs, once.
      t.row0 = TileLoopNb<kInt16, 3>(t, args.m, nb);
      t.row0 = TileLoopNb<kInt16, 2>(t, args.m, nb);
      TileLoopNb<kInt16, 1>(t, args.m, nb);
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

}  // namespace

const GemmKernels& Avx512VnniGemmKernels() {
  // 256 items per tile: at batch 256, 64.6 us against 66.6 at 64 (each tile reloads 46 KB of
  // weights from L2, about 0.4 us per 64-item tile); the arena grows from 72 to 291 KB.
  static const GemmKernels table = {"avx512vnni",   WeightLayout::kInt8x4, WeightLayout::kInt16x2,
                                    Gemm,           &Avx512RowKernels(),   256,
                                    Avx512VnniGemv, kGemvMaxBlocks,        kGemvMaxParts};
  return table;
}

}  // namespace mmoe
