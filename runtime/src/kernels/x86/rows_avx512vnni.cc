// Row kernels for AVX-512 (F + BW): 16 items or 16 channels per register, with exactly the
// operation sequence of kernels/row_ops.h and numerics.h in every lane.
#include <immintrin.h>

#include <cstdint>
#include <limits>

#include "kernels/gemm.h"
#include "kernels/row_ops.h"
#include "kernels/x86/narrow_avx512.h"

namespace mmoe {
namespace {

constexpr float kMagic = 12582912.0f;  // numerics::RoundHalfEven

inline __m512 RoundHalfEven(__m512 v) {
  const __m512 m = _mm512_set1_ps(kMagic);
  return _mm512_sub_ps(_mm512_add_ps(v, m), m);
}

// numerics::Exp, lane by lane.
inline __m512 Exp(__m512 x) {
  const __m512 n = RoundHalfEven(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)));
  __m512 r = _mm512_sub_ps(x, _mm512_mul_ps(n, _mm512_set1_ps(0.693145751953125f)));
  r = _mm512_sub_ps(r, _mm512_mul_ps(n, _mm512_set1_ps(1.42860682030941723212e-6f)));
  __m512 p = _mm512_set1_ps(1.0f / 720.0f);
  p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f / 120.0f));
  p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f / 24.0f));
  p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f / 6.0f));
  p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(0.5f));
  p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f));
  p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f));
  const __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
}

// numerics::Clamp for values that are not NaN.
inline __m512 Clamp(__m512 v, float lo, float hi) {
  return _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(lo)), _mm512_set1_ps(hi));
}

__mmask16 Tail(size_t n) { return n >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << n) - 1); }

// rows::Embedding, 16 columns of a row at a time under a mask: the same float32 operations
// (product, + offset, + the sum so far) lane by lane.
void Embedding(const EmbeddingLookup& e, const IdBatch& ids, size_t batch, float* out, size_t out_stride) {
  const size_t dim = static_cast<size_t>(e.table->dim);
  const auto block = [dim](const uint8_t* row, float scale, float offset, float* y) {
    const __m512 s = _mm512_set1_ps(scale), o = _mm512_set1_ps(offset);
    for (size_t c = 0; c < dim; c += 16) {
      const __mmask16 mask = Tail(dim - c);
      const __m512 code = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, row + c)));
      const __m512 v = _mm512_add_ps(_mm512_mul_ps(s, code), o);
      _mm512_mask_storeu_ps(y + c, mask, _mm512_add_ps(_mm512_maskz_loadu_ps(mask, y + c), v));
    }
  };
  rows::EmbeddingWith(e, ids, batch, out, out_stride, [&](const EmbeddingLookup& el, int64_t id, float* y) {
    rows::AddRowWith(el, id, y, dim, block);
  });
}

// Rows of `width` columns, 16 at a time under a mask: a concat's parts are often 4 to 32 wide.
void QuantizeColumns(const float* x, size_t x_stride, size_t batch, int32_t width, const float* inv_scales,
                     const int32_t* zero_points, int8_t* y, size_t y_stride) {
  const size_t w = static_cast<size_t>(width);
  for (size_t c = 0; c < w; c += 16) {
    const __mmask16 mask = Tail(w - c);
    const __m512i zp = _mm512_maskz_loadu_epi32(mask, zero_points + c);
    const __m512 inv = _mm512_maskz_loadu_ps(mask, inv_scales + c);
    const __m512 lo = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_set1_epi32(-128), zp));
    const __m512 hi = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_set1_epi32(127), zp));
    for (size_t i = 0; i < batch; ++i) {
      __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, x + i * x_stride + c), inv);
      v = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), v, _mm512_setzero_ps());  // NaN -> 0
      // Clamped to small integers plus a fraction: cvtps2dq rounds half to even like RoundHalfEven.
      const __m512i r = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(v, lo), hi)), zp);
      _mm_mask_storeu_epi8(y + i * y_stride + c, mask, _mm512_cvtepi32_epi8(r));
    }
  }
}

void Quantize(const float* x, size_t n, float inv_scale, int32_t zero_point, int8_t* q) {
  const __m512 inv = _mm512_set1_ps(inv_scale);
  const float lo = static_cast<float>(-128 - zero_point), hi = static_cast<float>(127 - zero_point);
  const __m512i zp = _mm512_set1_epi32(zero_point);
  // vmaxps returns its second operand when the first is NaN: with lo == 0 (zero point -128,
  // the usual one for [0, x] features) it maps NaN to 0 by itself. Clamped values are small
  // integers plus a fraction, which cvtps2dq rounds half to even like numerics::RoundHalfEven.
  const bool nan_is_lo = lo == 0.0f;
  const auto quantize16 = [&](__m512 x16) {
    __m512 v = _mm512_mul_ps(x16, inv);
    if (!nan_is_lo) v = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), v, _mm512_setzero_ps());
    return _mm512_add_epi32(_mm512_cvtps_epi32(Clamp(v, lo, hi)), zp);
  };
  size_t i = 0;
  if (zero_point == -128) {
    // The usual zero point of [0, x] features (lo 0, hi 255): only the upper clamp before
    // rounding, as vminps(hi, v), which passes NaN through. The unsigned saturating packs then
    // clamp below: negative values and NaN (cvtps2dq gives INT32_MIN) become 0, as the clamp
    // to lo and the NaN rule make them, and the upper clamp makes 255 the largest. Adding the
    // zero point to u in [0, 255] is flipping the top bit.
    const __m512 hi16 = _mm512_set1_ps(hi);
    const auto round16 = [&](const float* p) {
      return _mm512_cvtps_epi32(_mm512_min_ps(hi16, _mm512_mul_ps(_mm512_loadu_ps(p), inv)));
    };
    for (; i + 64 <= n; i += 64) {
      const __m512i u =
          PackUint8(round16(x + i), round16(x + i + 16), round16(x + i + 32), round16(x + i + 48));
      _mm512_storeu_si512(q + i, _mm512_xor_si512(u, _mm512_set1_epi8(static_cast<char>(0x80))));
    }
  }
  // 64 at a time, narrowed together with saturation (exact: they are in range) and stored once.
  for (; i + 64 <= n; i += 64) {
    const __m512i r0 = quantize16(_mm512_loadu_ps(x + i)), r1 = quantize16(_mm512_loadu_ps(x + i + 16));
    const __m512i r2 = quantize16(_mm512_loadu_ps(x + i + 32)), r3 = quantize16(_mm512_loadu_ps(x + i + 48));
    _mm512_storeu_si512(q + i, PackInt8(r0, r1, r2, r3));
  }
  for (; i + 16 <= n; i += 16)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i),
                     _mm512_cvtepi32_epi8(quantize16(_mm512_loadu_ps(x + i))));
  if (i < n) {
    const __mmask16 mask = Tail(n - i);
    _mm_mask_storeu_epi8(q + i, mask, _mm512_cvtepi32_epi8(quantize16(_mm512_maskz_loadu_ps(mask, x + i))));
  }
}

void Quantize16(const float* x, size_t n, float inv_scale, int16_t* q) {
  const __m512 inv = _mm512_set1_ps(inv_scale);
  const auto round16 = [&](__m512 x16) {
    __m512 v = _mm512_mul_ps(x16, inv);
    v = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), v, _mm512_setzero_ps());  // NaN -> 0
    return _mm512_cvtepi32_epi16(_mm512_cvtps_epi32(Clamp(v, -32768.0f, 32767.0f)));
  };
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + i), round16(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 mask = Tail(n - i);
    _mm256_mask_storeu_epi16(q + i, mask, round16(_mm512_maskz_loadu_ps(mask, x + i)));
  }
}

// Item i's n logits in lanes [g * G, g * G + n) of one register, g = i % (16 / G): 16 / G items
// per register. Lanes past n are -inf, which no maximum picks.
template <int G>
inline __m512 LoadGroups(const float* z, size_t z_stride, __mmask16 row_mask) {
  const __m512 neg_inf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  if (G == 16) return _mm512_mask_loadu_ps(neg_inf, row_mask, z);
  if (G == 8) {
    const __m256 n8 = _mm512_castps512_ps256(neg_inf);
    const __m256 lo = _mm256_mask_loadu_ps(n8, row_mask, z);
    const __m256 hi = _mm256_mask_loadu_ps(n8, row_mask, z + z_stride);
    return _mm512_castpd_ps(
        _mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(lo)), _mm256_castps_pd(hi), 1));
  }
  const __m128 n4 = _mm512_castps512_ps128(neg_inf);
  __m512 v = _mm512_castps128_ps512(_mm_mask_loadu_ps(n4, row_mask, z));
  v = _mm512_insertf32x4(v, _mm_mask_loadu_ps(n4, row_mask, z + z_stride), 1);
  v = _mm512_insertf32x4(v, _mm_mask_loadu_ps(n4, row_mask, z + 2 * z_stride), 2);
  return _mm512_insertf32x4(v, _mm_mask_loadu_ps(n4, row_mask, z + 3 * z_stride), 3);
}

// Softmax of 16 / G items per register (n <= G lanes each): no gathers or scatters, which
// cost ~20 cycles per 16 lanes on Zen 4. The maximum by butterfly permutes (any order gives
// the same maximum), the sum by broadcasting each item's element j in turn and adding, in
// index order as rows::Softmax does. Returns the number of items done.
template <int G>
size_t SoftmaxGrouped(const float* z, size_t z_stride, size_t batch, int32_t n, float* probs) {
  constexpr int P = 16 / G;
  if (batch < P) return 0;  // the index vectors below cost more than scoring one item in scalar
  alignas(64) int32_t idx[16];
  __m512i butterfly[4], element[16];
  int steps = 0;
  for (int s = 1; s < G; s *= 2, ++steps) {
    for (int l = 0; l < 16; ++l) idx[l] = l ^ s;
    butterfly[steps] = _mm512_load_si512(idx);
  }
  for (int32_t j = 0; j < n; ++j) {
    for (int l = 0; l < 16; ++l) idx[l] = (l & ~(G - 1)) + j;
    element[j] = _mm512_load_si512(idx);
  }
  // Output lane t is item t / n's element t % n: the items' probabilities packed back to back.
  for (int t = 0; t < 16; ++t) idx[t] = t < P * n ? (t / n) * G + t % n : 0;
  const __m512i pack = _mm512_load_si512(idx);
  const __mmask16 row_mask = static_cast<__mmask16>((1u << n) - 1);
  const __mmask16 out_mask = static_cast<__mmask16>(P * n >= 16 ? 0xFFFF : (1u << (P * n)) - 1);
  size_t i = 0;
  for (; i + P <= batch; i += P) {
    const __m512 v = LoadGroups<G>(z + i * z_stride, z_stride, row_mask);
    __m512 zmax = v;
    for (int s = 0; s < steps; ++s) zmax = _mm512_max_ps(zmax, _mm512_permutexvar_ps(butterfly[s], zmax));
    const __m512 e = Exp(_mm512_max_ps(_mm512_sub_ps(v, zmax), _mm512_set1_ps(numerics::kSoftmaxFloor)));
    __m512 sum = _mm512_permutexvar_ps(element[0], e);
    for (int32_t j = 1; j < n; ++j) sum = _mm512_add_ps(sum, _mm512_permutexvar_ps(element[j], e));
    const __m512 p = _mm512_mul_ps(e, _mm512_div_ps(_mm512_set1_ps(1.0f), sum));
    _mm512_mask_storeu_ps(probs + i * n, out_mask, n == G ? p : _mm512_permutexvar_ps(pack, p));
  }
  return i;
}

// Lanes are items: gathers column j of 16 rows (more than 16 logits per item).
void SoftmaxGathered(const float* z, size_t z_stride, size_t batch, int32_t n, float* probs) {
  const __m512i rows =
      _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                         _mm512_set1_epi32(static_cast<int32_t>(z_stride)));
  const __m512i out_rows = _mm512_mullo_epi32(
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(n));
  size_t i = 0;
  for (; i + 16 <= batch; i += 16) {
    const float* zi = z + i * z_stride;
    float* pi = probs + i * n;
    __m512 zmax = _mm512_i32gather_ps(rows, zi, 4);
    for (int32_t j = 1; j < n; ++j) zmax = _mm512_max_ps(_mm512_i32gather_ps(rows, zi + j, 4), zmax);
    __m512 e[256];  // n <= 256 is a verified model invariant
    __m512 sum = _mm512_setzero_ps();
    for (int32_t j = 0; j < n; ++j) {
      const __m512 d = _mm512_max_ps(_mm512_sub_ps(_mm512_i32gather_ps(rows, zi + j, 4), zmax),
                                     _mm512_set1_ps(numerics::kSoftmaxFloor));
      e[j] = Exp(d);
      sum = _mm512_add_ps(sum, e[j]);
    }
    const __m512 inv = _mm512_div_ps(_mm512_set1_ps(1.0f), sum);
    for (int32_t j = 0; j < n; ++j) _mm512_i32scatter_ps(pi + j, out_rows, _mm512_mul_ps(e[j], inv), 4);
  }
  for (; i < batch; ++i) rows::Softmax(z + i * z_stride, n, probs + i * n);
}

void Softmax(const float* z, size_t z_stride, size_t batch, int32_t n, float* probs) {
  size_t i = 0;
  if (n > 16) return SoftmaxGathered(z, z_stride, batch, n, probs);
  if (n <= 4) {
    i = SoftmaxGrouped<4>(z, z_stride, batch, n, probs);
  } else if (n <= 8) {
    i = SoftmaxGrouped<8>(z, z_stride, batch, n, probs);
  } else {
    i = SoftmaxGrouped<16>(z, z_stride, batch, n, probs);
  }
  for (; i < batch; ++i) rows::Softmax(z + i * z_stride, n, probs + i * n);
}

// Sixteen of expert j's outputs from element `at` (int8 or int16), widened to int32.
template <bool kExpert16>
inline __m512i LoadExpert(const MixArgs& a, int j, size_t at) {
  if (kExpert16) {
    return _mm512_cvtepi16_epi32(
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const int16_t*>(a.experts[j]) + at)));
  }
  return _mm512_cvtepi8_epi32(
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const int8_t*>(a.experts[j]) + at)));
}

// The mixture of a.n experts; N > 0: a.n == N, known at compile time, so the expert loops
// unroll and the pointers, zero points and coefficients stay in registers with no branch per
// expert (the loop over a run-time n cost about a third of the mixture for the seed's 4); 0:
// any n up to 256. kZeroPoints: some expert's zero point is not 0 (int16 experts have zero
// point 0).
template <int N, bool kExpert16, bool kOut16, bool kZeroPoints>
void MixTyped(const MixArgs& a) {
  const int32_t n = N > 0 ? N : a.n;
  const float lo = static_cast<float>(a.out.min - a.out.zero_point);
  const float hi = static_cast<float>(a.out.max - a.out.zero_point);
  const __m512i out_zp = _mm512_set1_epi32(a.out.zero_point);
  for (size_t i = 0; i < a.batch; ++i) {
    // Scalars, broadcast where used (from memory, a load, unless N keeps them in registers): an
    // array of 256 registers made the stack frame 32 KB, whose lines a call then had to fetch.
    float coef[N > 0 ? N : 256];
#pragma GCC unroll 8
    for (int32_t j = 0; j < n; ++j) coef[j] = a.probs ? a.probs[i * n + j] * a.scales[j] : a.scales[j];
    for (int32_t c = 0; c < a.width; c += 16) {
      const size_t at = i * a.in_stride + static_cast<size_t>(c);
      // The sum starts from the first product rather than 0 + it: they differ only in the sign
      // of a zero sum, which requantizes to the same value.
      __m512 acc;
#pragma GCC unroll 8
      for (int32_t j = 0; j < n; ++j) {
        const __m512i q = LoadExpert<kExpert16>(a, j, at);
        const __m512 term = _mm512_mul_ps(
            _mm512_set1_ps(coef[j]),
            _mm512_cvtepi32_ps(kZeroPoints ? _mm512_sub_epi32(q, _mm512_set1_epi32(a.zero_points[j])) : q));
        acc = j == 0 ? term : _mm512_add_ps(acc, term);
      }
      // Clamped to the output range, so cvtps2dq rounds half to even like RoundHalfEven.
      const __m512i r = _mm512_add_epi32(_mm512_cvtps_epi32(Clamp(acc, lo, hi)), out_zp);
      const size_t out_at = i * a.out_stride + static_cast<size_t>(c);
      if (kOut16) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(static_cast<int16_t*>(a.dst) + out_at),
                            _mm512_cvtepi32_epi16(r));
      } else {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(static_cast<int8_t*>(a.dst) + out_at),
                         _mm512_cvtepi32_epi8(r));
      }
    }
  }
}

// The mixture kernel for (expert type, output type, zero points): unrolled for gates of 1-8
// experts.
template <bool kExpert16, bool kOut16, bool kZeroPoints>
void MixDispatch(const MixArgs& a) {
  switch (a.n) {
    case 1:
      return MixTyped<1, kExpert16, kOut16, kZeroPoints>(a);
    case 2:
      return MixTyped<2, kExpert16, kOut16, kZeroPoints>(a);
    case 3:
      return MixTyped<3, kExpert16, kOut16, kZeroPoints>(a);
    case 4:
      return MixTyped<4, kExpert16, kOut16, kZeroPoints>(a);
    case 5:
      return MixTyped<5, kExpert16, kOut16, kZeroPoints>(a);
    case 6:
      return MixTyped<6, kExpert16, kOut16, kZeroPoints>(a);
    case 7:
      return MixTyped<7, kExpert16, kOut16, kZeroPoints>(a);
    case 8:
      return MixTyped<8, kExpert16, kOut16, kZeroPoints>(a);
    default:
      return MixTyped<0, kExpert16, kOut16, kZeroPoints>(a);
  }
}

void Mix(const MixArgs& a) {
  const bool o16 = a.out.type == ElementType::kInt16;
  bool zero_points = false;
  for (int32_t j = 0; j < a.n; ++j) zero_points = zero_points || a.zero_points[j] != 0;
  if (a.experts_int16 && !zero_points) {
    o16 ? MixDispatch<true, true, false>(a) : MixDispatch<true, false, false>(a);
  } else if (a.experts_int16) {
    o16 ? MixDispatch<true, true, true>(a) : MixDispatch<true, false, true>(a);
  } else {
    o16 ? MixDispatch<false, true, true>(a) : MixDispatch<false, false, true>(a);
  }
}

void TaskOutput(const float* z, size_t z_stride, size_t batch, bool sigmoid, float* scores,
                size_t scores_stride) {
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i in_rows = _mm512_mullo_epi32(lane, _mm512_set1_epi32(static_cast<int32_t>(z_stride)));
  const __m512i out_rows = _mm512_mullo_epi32(lane, _mm512_set1_epi32(static_cast<int32_t>(scores_stride)));
  size_t i = 0;
  for (; i + 16 <= batch; i += 16) {
    __m512 v = _mm512_i32gather_ps(in_rows, z + i * z_stride, 4);
    if (sigmoid) {
      const __m512 zc = Clamp(v, -numerics::kSigmoidLimit, numerics::kSigmoidLimit);
      const __m512 neg =
          _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(zc), _mm512_set1_epi32(INT32_MIN)));
      const __m512 e = Exp(neg);
      v = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    }
    _mm512_i32scatter_ps(scores + i * scores_stride, out_rows, v, 4);
  }
  for (; i < batch; ++i) scores[i * scores_stride] = rows::TaskScore(z[i * z_stride], sigmoid);
}

}  // namespace

const RowKernels& Avx512RowKernels() {
  static const RowKernels table = {Quantize,        Softmax,   Mix,       TaskOutput,
                                   QuantizeColumns, Embedding, Quantize16};
  return table;
}

}  // namespace mmoe
