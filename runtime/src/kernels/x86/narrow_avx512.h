// Narrowing with signed saturation, shared by the AVX-512 kernels (gemm_avx512vnni.cc,
// rows_avx512vnni.cc). Internal linkage: only files built with the AVX-512 flags include it.
#pragma once

#include <immintrin.h>

namespace mmoe {
namespace {

// Four registers of 16 int32 (elements 0-15, 16-31, 32-47, 48-63) as 64 int8 in element order.
// The packs work per 128-bit lane: after them, dword 4L + j holds register j's elements
// 4L..4L+3, which one permute puts back in order.
inline __m512i PackInt8(__m512i r0, __m512i r1, __m512i r2, __m512i r3) {
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return _mm512_permutexvar_epi32(order,
                                  _mm512_packs_epi16(_mm512_packs_epi32(r0, r1), _mm512_packs_epi32(r2, r3)));
}

// The same with unsigned saturation: int32 below 0 become 0, above 255 become 255.
inline __m512i PackUint8(__m512i r0, __m512i r1, __m512i r2, __m512i r3) {
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return _mm512_permutexvar_epi32(
      order, _mm512_packus_epi16(_mm512_packus_epi32(r0, r1), _mm512_packus_epi32(r2, r3)));
}

// Two registers of 16 int32 as 32 int16 in element order (after the pack, qword 2L + j holds
// register j's elements 4L..4L+3).
inline __m512i PackInt16(__m512i r0, __m512i r1) {
  return _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7), _mm512_packs_epi32(r0, r1));
}

}  // namespace
}  // namespace mmoe
