// The AVX-512 VNNI multiply-accumulate step and block epilogue shared by the GEMM and GEMV kernels
// (gemm_avx512vnni.cc, gemv_avx512vnni.cc). Internal linkage: only files built with the
// AVX-512 flags include it.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/gemm.h"

namespace mmoe {
namespace {

inline int32_t Load32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// acc += the 4 (int8) or 2 (int16) products per lane. Inline assembly rather than the
// intrinsics: with _mm512_dpbusd_epi32 GCC 12 keeps each accumulator in two registers and
// copies it back and forth on every step (30 vmovdqa per 16 vpdpbusd in a 4x4 tile); the
// "+v" constraint makes the accumulator the instruction's destination in place.
template <bool kInt16>
inline __m512i MultiplyAdd(__m512i acc, __m512i a, __m512i w) {
  if (kInt16) {
    __asm__("vpdpwssd %2, %1, %0" : "+v"(acc) : "v"(a), "vm"(w));
  } else {
    // int8 input: shift to uint8 for vpdpbusd (x ^ 0x80 == x + 128; the bias compensates).
    const __m512i u = _mm512_xor_si512(a, _mm512_set1_epi8(static_cast<char>(0x80)));
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "vm"(w));
  }
  return acc;
}

// The per-column constants of one 16-column block, loaded once per tile.
struct BlockParams {
  __m512 multiplier, lo, hi;
  __m512i zero_point;
  BlockParams(const float* multipliers, float lo_, float hi_, int32_t zp)
      : multiplier(_mm512_loadu_ps(multipliers)),
        lo(_mm512_set1_ps(lo_)),
        hi(_mm512_set1_ps(hi_)),
        zero_point(_mm512_set1_epi32(zp)) {}
  BlockParams(const PackedGemm& g, const Segment& seg, int32_t col0)
      : BlockParams(g.multiplier + col0, seg.lo, seg.hi, seg.zero_point) {}
};

// Requantizes (or scales) 16 accumulators of one block into `dst`.
inline void StoreBlock(__m512i acc, const BlockParams& p, DenseOutput type, int32_t real_cols, void* dst) {
  const __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), p.multiplier);
  if (type == DenseOutput::kReal) {
    const __mmask16 mask = real_cols >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << real_cols) - 1);
    _mm512_mask_storeu_ps(dst, mask, v);
    return;
  }
  const __m512 c = _mm512_min_ps(_mm512_max_ps(v, p.lo), p.hi);
  // cvtps2dq rounds to nearest even (the default MXCSR mode), like numerics::RoundHalfEven.
  const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(c), p.zero_point);
  if (type == DenseOutput::kInt16) {
    _mm256_storeu_si256(static_cast<__m256i*>(dst), _mm512_cvtepi32_epi16(q));
  } else {
    _mm_storeu_si128(static_cast<__m128i*>(dst), _mm512_cvtepi32_epi8(q));
  }
}

}  // namespace
}  // namespace mmoe
