// Row kernels for AVX2: 8 items or 8 channels per register, with exactly the operation
// sequence of kernels/row_ops.h and numerics.h in every lane.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/gemm.h"
#include "kernels/row_ops.h"

namespace mmoe {
namespace {

inline __m256 RoundHalfEven(__m256 v) {
  const __m256 m = _mm256_set1_ps(12582912.0f);
  return _mm256_sub_ps(_mm256_add_ps(v, m), m);
}

// numerics::Exp, lane by lane.
inline __m256 Exp(__m256 x) {
  const __m256 n = RoundHalfEven(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)));
  __m256 r = _mm256_sub_ps(x, _mm256_mul_ps(n, _mm256_set1_ps(0.693145751953125f)));
  r = _mm256_sub_ps(r, _mm256_mul_ps(n, _mm256_set1_ps(1.42860682030941723212e-6f)));
  __m256 p = _mm256_set1_ps(1.0f / 720.0f);
  p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f / 120.0f));
  p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f / 24.0f));
  p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f / 6.0f));
  p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(0.5f));
  p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f));
  p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f));
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

inline __m256 Clamp(__m256 v, float lo, float hi) {
  return _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(lo)), _mm256_set1_ps(hi));
}

// rows::Embedding, eight columns of a row at a time, the last dim % 8 one by one: the same
// float32 operations (product, + offset, + the sum so far) lane by lane.
void Embedding(const EmbeddingLookup& e, const IdBatch& ids, size_t batch, float* out, size_t out_stride) {
  const size_t full = static_cast<size_t>(e.table->dim) / 8 * 8;
  const auto block = [full](const uint8_t* row, float scale, float offset, float* y) {
    const __m256 s = _mm256_set1_ps(scale), o = _mm256_set1_ps(offset);
    for (size_t c = 0; c < full; c += 8) {
      const __m128i codes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + c));
      const __m256 v = _mm256_add_ps(_mm256_mul_ps(s, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(codes))), o);
      _mm256_storeu_ps(y + c, _mm256_add_ps(_mm256_loadu_ps(y + c), v));
    }
  };
  rows::EmbeddingWith(e, ids, batch, out, out_stride, [&](const EmbeddingLookup& el, int64_t id, float* y) {
    rows::AddRowWith(el, id, y, full, block);
  });
}

// Rows of `width` columns, eight at a time (the columns' constants loaded once per eight, the
// lanes past the last column neither read nor written).
void QuantizeColumns(const float* x, size_t x_stride, size_t batch, int32_t width, const float* inv_scales,
                     const int32_t* zero_points, int8_t* y, size_t y_stride) {
  const size_t w = static_cast<size_t>(width);
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (size_t c = 0; c < w; c += 8) {
    const size_t n = std::min<size_t>(8, w - c);
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), lanes);
    const __m256i zp = _mm256_maskload_epi32(zero_points + c, mask);
    const __m256 inv = _mm256_maskload_ps(inv_scales + c, mask);
    const __m256 lo = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_set1_epi32(-128), zp));
    const __m256 hi = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_set1_epi32(127), zp));
    for (size_t i = 0; i < batch; ++i) {
      __m256 v = _mm256_mul_ps(_mm256_maskload_ps(x + i * x_stride + c, mask), inv);
      v = _mm256_andnot_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q), v);  // NaN -> 0
      v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
      const __m256i r = _mm256_add_epi32(_mm256_cvtps_epi32(RoundHalfEven(v)), zp);
      const __m128i r16 = _mm_packs_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
      const __m128i r8 = _mm_packs_epi16(r16, r16);
      int8_t* out = y + i * y_stride + c;
      if (n == 8) {
        _mm_storel_epi64(reinterpret_cast<__m128i*>(out), r8);
      } else {
        alignas(16) int8_t bytes[16];
        _mm_store_si128(reinterpret_cast<__m128i*>(bytes), r8);
        std::memcpy(out, bytes, n);
      }
    }
  }
}

void Quantize(const float* x, size_t n, float inv_scale, int32_t zero_point, int8_t* q) {
  const __m256 inv = _mm256_set1_ps(inv_scale);
  const float lo = static_cast<float>(-128 - zero_point), hi = static_cast<float>(127 - zero_point);
  const __m256i zp = _mm256_set1_epi32(zero_point);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), inv);
    v = _mm256_andnot_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q), v);  // NaN -> 0
    const __m256i r = _mm256_add_epi32(_mm256_cvtps_epi32(RoundHalfEven(Clamp(v, lo, hi))), zp);
    const __m128i r16 = _mm_packs_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(q + i), _mm_packs_epi16(r16, r16));
  }
  for (; i < n; ++i) q[i] = numerics::QuantizeFeature(x[i], inv_scale, zero_point);
}

void Quantize16(const float* x, size_t n, float inv_scale, int16_t* q) {
  const __m256 inv = _mm256_set1_ps(inv_scale);
  const auto round8 = [&](const float* p) {
    __m256 v = _mm256_mul_ps(_mm256_loadu_ps(p), inv);
    v = _mm256_andnot_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q), v);  // NaN -> 0
    return _mm256_cvtps_epi32(RoundHalfEven(Clamp(v, -32768.0f, 32767.0f)));
  };
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    // packs interleaves the halves' 128-bit lanes; the permute puts items back in order.
    const __m256i r = _mm256_permute4x64_epi64(_mm256_packs_epi32(round8(x + i), round8(x + i + 8)), 0xD8);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + i), r);
  }
  for (; i < n; ++i) q[i] = numerics::QuantizeFeature16(x[i], inv_scale);
}

// Four logits (the usual gate over four experts), one item at a time with the logits in
// lanes: the gather-free path, and the one a batch of one takes. rows::Softmax's operations:
// the maximum (exact in any order), Exp per lane, the sum in order, one reciprocal.
void Softmax4(const float* z, size_t z_stride, size_t batch, float* probs) {
  for (size_t i = 0; i < batch; ++i) {
    const __m128 zi = _mm_loadu_ps(z + i * z_stride);
    __m128 m = _mm_max_ps(zi, _mm_shuffle_ps(zi, zi, _MM_SHUFFLE(2, 3, 0, 1)));
    m = _mm_max_ps(m, _mm_shuffle_ps(m, m, _MM_SHUFFLE(1, 0, 3, 2)));
    const __m128 d = _mm_max_ps(_mm_sub_ps(zi, m), _mm_set1_ps(numerics::kSoftmaxFloor));
    const __m128 e = _mm256_castps256_ps128(Exp(_mm256_zextps128_ps256(d)));
    alignas(16) float lanes[4];
    _mm_store_ps(lanes, e);
    const float sum = ((lanes[0] + lanes[1]) + lanes[2]) + lanes[3];
    _mm_storeu_ps(probs + 4 * i, _mm_mul_ps(e, _mm_set1_ps(1.0f / sum)));
  }
}

// Lanes are items.
void Softmax(const float* z, size_t z_stride, size_t batch, int32_t n, float* probs) {
  if (n == 4) return Softmax4(z, z_stride, batch, probs);
  const __m256i rows = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                          _mm256_set1_epi32(static_cast<int32_t>(z_stride)));
  size_t i = 0;
  for (; i + 8 <= batch; i += 8) {
    const float* zi = z + i * z_stride;
    __m256 zmax = _mm256_i32gather_ps(zi, rows, 4);
    for (int32_t j = 1; j < n; ++j) zmax = _mm256_max_ps(_mm256_i32gather_ps(zi + j, rows, 4), zmax);
    __m256 e[256];  // n <= 256 is a verified model invariant
    __m256 sum = _mm256_setzero_ps();
    for (int32_t j = 0; j < n; ++j) {
      const __m256 d = _mm256_max_ps(_mm256_sub_ps(_mm256_i32gather_ps(zi + j, rows, 4), zmax),
                                     _mm256_set1_ps(numerics::kSoftmaxFloor));
      e[j] = Exp(d);
      sum = _mm256_add_ps(sum, e[j]);
    }
    const __m256 inv = _mm256_div_ps(_mm256_set1_ps(1.0f), sum);
    for (int32_t j = 0; j < n; ++j) {
      alignas(32) float lanes[8];
      _mm256_store_ps(lanes, _mm256_mul_ps(e[j], inv));
      for (int l = 0; l < 8; ++l) probs[(i + l) * n + j] = lanes[l];
    }
  }
  for (; i < batch; ++i) rows::Softmax(z + i * z_stride, n, probs + i * n);
}

template <bool kExpert16, bool kOut16>
void MixTyped(const MixArgs& a) {
  const float lo = static_cast<float>(a.out.min - a.out.zero_point);
  const float hi = static_cast<float>(a.out.max - a.out.zero_point);
  const __m256i out_zp = _mm256_set1_epi32(a.out.zero_point);
  for (size_t i = 0; i < a.batch; ++i) {
    __m256 coef[256];
    for (int32_t j = 0; j < a.n; ++j) {
      coef[j] = _mm256_set1_ps(a.probs ? a.probs[i * a.n + j] * a.scales[j] : a.scales[j]);
    }
    for (int32_t c = 0; c < a.width; c += 8) {
      __m256 acc = _mm256_setzero_ps();
      const size_t at = i * a.in_stride + static_cast<size_t>(c);
      for (int32_t j = 0; j < a.n; ++j) {
        const __m256i q =
            kExpert16 ? _mm256_cvtepi16_epi32(_mm_loadu_si128(
                            reinterpret_cast<const __m128i*>(static_cast<const int16_t*>(a.experts[j]) + at)))
                      : _mm256_cvtepi8_epi32(_mm_loadl_epi64(
                            reinterpret_cast<const __m128i*>(static_cast<const int8_t*>(a.experts[j]) + at)));
        const __m256 x = _mm256_cvtepi32_ps(_mm256_sub_epi32(q, _mm256_set1_epi32(a.zero_points[j])));
        acc = _mm256_add_ps(acc, _mm256_mul_ps(coef[j], x));
      }
      const __m256i r = _mm256_add_epi32(_mm256_cvtps_epi32(RoundHalfEven(Clamp(acc, lo, hi))), out_zp);
      const __m128i r16 = _mm_packs_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
      const size_t out_at = i * a.out_stride + static_cast<size_t>(c);
      if (kOut16) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(static_cast<int16_t*>(a.dst) + out_at), r16);
      } else {
        _mm_storel_epi64(reinterpret_cast<__m128i*>(static_cast<int8_t*>(a.dst) + out_at),
                         _mm_packs_epi16(r16, r16));
      }
    }
  }
}

void Mix(const MixArgs& a) {
  const bool o16 = a.out.type == ElementType::kInt16;
  if (a.experts_int16) {
    o16 ? MixTyped<true, true>(a) : MixTyped<true, false>(a);
  } else {
    o16 ? MixTyped<false, true>(a) : MixTyped<false, false>(a);
  }
}

void TaskOutput(const float* z, size_t z_stride, size_t batch, bool sigmoid, float* scores,
                size_t scores_stride) {
  const __m256i rows = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                          _mm256_set1_epi32(static_cast<int32_t>(z_stride)));
  size_t i = 0;
  for (; i + 8 <= batch; i += 8) {
    __m256 v = _mm256_i32gather_ps(z + i * z_stride, rows, 4);
    if (sigmoid) {
      const __m256 zc = Clamp(v, -numerics::kSigmoidLimit, numerics::kSigmoidLimit);
      const __m256 e = Exp(_mm256_xor_ps(zc, _mm256_set1_ps(-0.0f)));
      v = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
    }
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, v);
    for (int l = 0; l < 8; ++l) scores[(i + l) * scores_stride] = lanes[l];
  }
  for (; i < batch; ++i) scores[i * scores_stride] = rows::TaskScore(z[i * z_stride], sigmoid);
}

}  // namespace

const RowKernels& Avx2RowKernels() {
  static const RowKernels table = {Quantize,        Softmax,   Mix,       TaskOutput,
                                   QuantizeColumns, Embedding, Quantize16};
  return table;
}

}  // namespace mmoe
