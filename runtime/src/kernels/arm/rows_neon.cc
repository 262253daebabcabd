// Row kernels for ARMv7 NEON and AArch64 Advanced SIMD: 4 items or 4 channels per register
// (8 channels per step where bytes are stored), with exactly the operation sequence of
// kernels/row_ops.h and numerics.h in every lane.
//
// Separate vmulq/vaddq everywhere, never vmla/vfma: one rounding per operation, as in the
// scalar code (the build also disables contraction). ARMv7 NEON flushes denormals to zero;
// docs/numerics.md explains why none occur in these sequences, so the lanes still agree with
// the scalar (VFP) code.
#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "kernels/gemm.h"
#include "kernels/row_ops.h"

namespace mmoe {
namespace {

inline float32x4_t RoundHalfEven(float32x4_t v) {
  const float32x4_t m = vdupq_n_f32(12582912.0f);  // numerics::RoundHalfEven
  return vsubq_f32(vaddq_f32(v, m), m);
}

// Integer-valued floats (after RoundHalfEven) to int32: truncation is exact.
inline int32x4_t ToInt(float32x4_t rounded) { return vcvtq_s32_f32(rounded); }

// numerics::RoundHalfEven of clamped values (|v| <= 2^22), to int32; NaN lanes give 0. AArch64
// rounds in the conversion (fcvtns); ARMv7 adds and subtracts the magic number, then truncates.
// Both conversions map NaN to 0, so a NaN that went through vmaxq/vminq (which keep it) comes
// out as numerics' "NaN counts as 0".
inline int32x4_t RoundClamped(float32x4_t v) {
#if defined(__aarch64__)
  return vcvtnq_s32_f32(v);
#else
  return ToInt(RoundHalfEven(v));
#endif
}

// numerics::Clamp for values that are not NaN (NaN lanes stay NaN).
inline float32x4_t Clamp(float32x4_t v, float lo, float hi) {
  return vminq_f32(vmaxq_f32(v, vdupq_n_f32(lo)), vdupq_n_f32(hi));
}

inline float32x4_t MulAdd(float32x4_t p, float32x4_t r, float c) {
  return vaddq_f32(vmulq_f32(p, r), vdupq_n_f32(c));
}

// numerics::Exp, lane by lane.
inline float32x4_t Exp(float32x4_t x) {
  const float32x4_t n = RoundHalfEven(vmulq_f32(x, vdupq_n_f32(1.44269504088896341f)));
  float32x4_t r = vsubq_f32(x, vmulq_f32(n, vdupq_n_f32(0.693145751953125f)));
  r = vsubq_f32(r, vmulq_f32(n, vdupq_n_f32(1.42860682030941723212e-6f)));
  float32x4_t p = vdupq_n_f32(1.0f / 720.0f);
  p = MulAdd(p, r, 1.0f / 120.0f);
  p = MulAdd(p, r, 1.0f / 24.0f);
  p = MulAdd(p, r, 1.0f / 6.0f);
  p = MulAdd(p, r, 0.5f);
  p = MulAdd(p, r, 1.0f);
  p = MulAdd(p, r, 1.0f);
  const int32x4_t bits = vshlq_n_s32(vaddq_s32(ToInt(n), vdupq_n_s32(127)), 23);
  return vmulq_f32(p, vreinterpretq_f32_s32(bits));
}

// a / b in IEEE single precision, lane by lane.
inline float32x4_t Divide(float32x4_t a, float32x4_t b) {
#if defined(__aarch64__)
  return vdivq_f32(a, b);
#else
  // ARMv7 NEON has only a reciprocal estimate: divide each lane on VFP, as the scalar code.
  float x[4], y[4];
  vst1q_f32(x, a);
  vst1q_f32(y, b);
  for (int l = 0; l < 4; ++l) x[l] = x[l] / y[l];
  return vld1q_f32(x);
#endif
}

// Column j of 4 rows `stride` floats apart.
inline float32x4_t Gather4(const float* z, size_t stride) {
  const float lanes[4] = {z[0], z[stride], z[2 * stride], z[3 * stride]};
  return vld1q_f32(lanes);
}
inline void Scatter4(float32x4_t v, float* out, size_t stride) {
  float lanes[4];
  vst1q_f32(lanes, v);
  for (int l = 0; l < 4; ++l) out[l * stride] = lanes[l];
}

// Two int32x4 (already in the type's range) to 8 int8 or int16 values: the saturating
// narrows are exact.
inline int16x8_t Narrow16(int32x4_t lo, int32x4_t hi) { return vcombine_s16(vqmovn_s32(lo), vqmovn_s32(hi)); }

// rows::Embedding, eight columns of a row at a time, the last dim % 8 one by one: the same
// float32 operations (product, + offset, + the sum so far) lane by lane (vmulq then vaddq, no
// fused multiply-add).
void Embedding(const EmbeddingLookup& e, const IdBatch& ids, size_t batch, float* out, size_t out_stride) {
  const size_t full = static_cast<size_t>(e.table->dim) / 8 * 8;
  const auto block = [full](const uint8_t* row, float scale, float offset, float* y) {
    const float32x4_t s = vdupq_n_f32(scale), o = vdupq_n_f32(offset);
    for (size_t c = 0; c < full; c += 8) {
      const uint16x8_t codes = vmovl_u8(vld1_u8(row + c));
      for (int h = 0; h < 2; ++h) {
        const uint32x4_t u = h == 0 ? vmovl_u16(vget_low_u16(codes)) : vmovl_u16(vget_high_u16(codes));
        const float32x4_t v = vaddq_f32(vmulq_f32(s, vcvtq_f32_u32(u)), o);
        vst1q_f32(y + c + 4 * h, vaddq_f32(vld1q_f32(y + c + 4 * h), v));
      }
    }
  };
  rows::EmbeddingWith(e, ids, batch, out, out_stride, [&](const EmbeddingLookup& el, int64_t id, float* y) {
    rows::AddRowWith(el, id, y, full, block);
  });
}

// Rows of `width` columns, four at a time; the last width % 4 columns one by one.
void QuantizeColumns(const float* x, size_t x_stride, size_t batch, int32_t width, const float* inv_scales,
                     const int32_t* zero_points, int8_t* y, size_t y_stride) {
  const size_t w = static_cast<size_t>(width), full = w / 4 * 4;
  for (size_t i = 0; i < batch; ++i) {
    const float* xi = x + i * x_stride;
    int8_t* yi = y + i * y_stride;
    for (size_t c = 0; c < full; c += 4) {
      const int32x4_t zp = vld1q_s32(zero_points + c);
      const float32x4_t lo = vcvtq_f32_s32(vsubq_s32(vdupq_n_s32(-128), zp));
      const float32x4_t hi = vcvtq_f32_s32(vsubq_s32(vdupq_n_s32(127), zp));
      float32x4_t v = vmulq_f32(vld1q_f32(xi + c), vld1q_f32(inv_scales + c));
      v = vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v), vceqq_f32(v, v)));  // NaN -> 0
      const int32x4_t r = vaddq_s32(ToInt(RoundHalfEven(vminq_f32(vmaxq_f32(v, lo), hi))), zp);
      const int8x8_t r8 = vqmovn_s16(vcombine_s16(vqmovn_s32(r), vqmovn_s32(r)));
      const int32_t word = vget_lane_s32(vreinterpret_s32_s8(r8), 0);
      std::memcpy(yi + c, &word, 4);
    }
    for (size_t c = full; c < w; ++c) yi[c] = numerics::QuantizeFeature(xi[c], inv_scales[c], zero_points[c]);
  }
}

// 16 at a time, then 8; the last n % 8 as the last 8 again (the same bytes rewritten), or,
// for n < 8, through a zero-padded copy. The zero point is added in int16: clamped values plus
// it lie in [-128, 127].
void Quantize(const float* x, size_t n, float inv_scale, int32_t zero_point, int8_t* q) {
  const float32x4_t inv = vdupq_n_f32(inv_scale);
  const int16x8_t zp = vdupq_n_s16(static_cast<int16_t>(zero_point));
#if defined(__aarch64__)
  // No clamp: fcvtns rounds any value (NaN to 0, infinities and overflow to the int32 bounds),
  // and the saturating narrows then give clamp(round(v) + zp, -128, 127), as in the GEMM
  // epilogue (neon_common.h, StoreRows): a value beyond int16 saturates to a bound that stays
  // beyond int8 on the same side after the zero point is added.
  const auto eight = [&](const float* p) {
    const int32x4_t r0 = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(p), inv));
    const int32x4_t r1 = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(p + 4), inv));
    return vqmovn_s16(vqaddq_s16(vcombine_s16(vqmovn_s32(r0), vqmovn_s32(r1)), zp));
  };
#else
  const float lo = static_cast<float>(-128 - zero_point), hi = static_cast<float>(127 - zero_point);
  const auto eight = [&](const float* p) {
    const int32x4_t r0 = RoundClamped(Clamp(vmulq_f32(vld1q_f32(p), inv), lo, hi));
    const int32x4_t r1 = RoundClamped(Clamp(vmulq_f32(vld1q_f32(p + 4), inv), lo, hi));
    return vmovn_s16(vaddq_s16(vcombine_s16(vmovn_s32(r0), vmovn_s32(r1)), zp));
  };
#endif
  size_t i = 0;
  for (; i + 16 <= n; i += 16) vst1q_s8(q + i, vcombine_s8(eight(x + i), eight(x + i + 8)));
  if (i + 8 <= n) {
    vst1_s8(q + i, eight(x + i));
    i += 8;
  }
  if (i == n) return;
  if (n >= 8) return vst1_s8(q + n - 8, eight(x + n - 8));
  float tail[8] = {};
  int8_t out[8];
  for (size_t k = 0; k < n; ++k) tail[k] = x[k];
  vst1_s8(out, eight(tail));
  for (size_t k = 0; k < n; ++k) q[k] = out[k];
}

// Four at a time; the last n % 4 through a zero-padded copy (no scalar loop to unroll).
void Quantize16(const float* x, size_t n, float inv_scale, int16_t* q) {
  const float32x4_t inv = vdupq_n_f32(inv_scale);
  const auto four = [inv](float32x4_t xv) {
    return vmovn_s32(RoundClamped(Clamp(vmulq_f32(xv, inv), -32768.0f, 32767.0f)));
  };
  size_t i = 0;
  for (; i + 4 <= n; i += 4) vst1_s16(q + i, four(vld1q_f32(x + i)));
  if (i == n) return;
  float tail[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  int16_t out[4];
  for (size_t k = 0; i + k < n; ++k) tail[k] = x[i + k];
  vst1_s16(out, four(vld1q_f32(tail)));
  for (size_t k = 0; i + k < n; ++k) q[i + k] = out[k];
}

// Four logits (a gate over 4 experts, the common case) in the lanes of one register, item by
// item: the maximum over the lanes (exact in any order), the shifted, floored exponentials lane
// by lane, their sum left to right in scalar adds, one reciprocal, one product per lane.
void Softmax4(const float* z, size_t z_stride, size_t batch, float* probs) {
  for (size_t i = 0; i < batch; ++i) {
    const float32x4_t zi = vld1q_f32(z + i * z_stride);
    float32x2_t m = vpmax_f32(vget_low_f32(zi), vget_high_f32(zi));
    m = vpmax_f32(m, m);
    const float32x4_t d =
        vmaxq_f32(vsubq_f32(zi, vdupq_lane_f32(m, 0)), vdupq_n_f32(numerics::kSoftmaxFloor));
    const float32x4_t e = Exp(d);
    float sum = vgetq_lane_f32(e, 0) + vgetq_lane_f32(e, 1);
    sum = sum + vgetq_lane_f32(e, 2);
    sum = sum + vgetq_lane_f32(e, 3);
    vst1q_f32(probs + 4 * i, vmulq_n_f32(e, 1.0f / sum));
  }
}

// Lanes are items.
void Softmax(const float* z, size_t z_stride, size_t batch, int32_t n, float* probs) {
  if (n == 4) return Softmax4(z, z_stride, batch, probs);
  size_t i = 0;
  for (; i + 4 <= batch; i += 4) {
    const float* zi = z + i * z_stride;
    float32x4_t zmax = Gather4(zi, z_stride);
    for (int32_t j = 1; j < n; ++j) zmax = vmaxq_f32(Gather4(zi + j, z_stride), zmax);
    float32x4_t e[256];  // n <= 256 is a verified model invariant
    float32x4_t sum = vdupq_n_f32(0.0f);
    for (int32_t j = 0; j < n; ++j) {
      const float32x4_t d =
          vmaxq_f32(vsubq_f32(Gather4(zi + j, z_stride), zmax), vdupq_n_f32(numerics::kSoftmaxFloor));
      e[j] = Exp(d);
      sum = vaddq_f32(sum, e[j]);
    }
    const float32x4_t inv = Divide(vdupq_n_f32(1.0f), sum);
    for (int32_t j = 0; j < n; ++j) Scatter4(vmulq_f32(e[j], inv), probs + i * n + j, static_cast<size_t>(n));
  }
  for (; i < batch; ++i) rows::Softmax(z + i * z_stride, n, probs + i * n);
}

// 8 expert outputs minus the zero point (an int16, as a verified zero point of an int8 or
// int16 tensor is), as floats: a widening subtract, then the conversion.
inline int16x8_t LoadExpert8(const int8_t* p) { return vmovl_s8(vld1_s8(p)); }
inline int16x8_t LoadExpert8(const int16_t* p) { return vld1q_s16(p); }
inline void ExpertFloats(int16x8_t q, int16x8_t zp, float32x4_t* x) {
  x[0] = vcvtq_f32_s32(vsubl_s16(vget_low_s16(q), vget_low_s16(zp)));
#if defined(__aarch64__)
  x[1] = vcvtq_f32_s32(vsubl_high_s16(q, zp));
#else
  x[1] = vcvtq_f32_s32(vsubl_s16(vget_high_s16(q), vget_high_s16(zp)));
#endif
}

// Channels [c, c + 8 * H) of item i: H groups of 8 lanes. The sum starts from expert 0's term
// rather than 0.0f + it: the same value but for the sign of a zero, which rounding to an
// integer removes.
template <typename Expert, int H>
__attribute__((always_inline)) inline void MixChannels(const MixArgs& a, size_t i, int32_t c,
                                                       const float32x4_t* coef, const int16x8_t* zp,
                                                       bool saturate) {
  const float lo = static_cast<float>(a.out.min - a.out.zero_point);
  const float hi = static_cast<float>(a.out.max - a.out.zero_point);
  const size_t at = i * a.in_stride + static_cast<size_t>(c);
  float32x4_t x[2 * H], acc[2 * H];
  for (int h = 0; h < H; ++h)
    ExpertFloats(LoadExpert8(static_cast<const Expert*>(a.experts[0]) + at + 8 * h), zp[0], x + 2 * h);
  for (int v = 0; v < 2 * H; ++v) acc[v] = vmulq_f32(coef[0], x[v]);
  for (int32_t j = 1; j < a.n; ++j) {
    const Expert* e = static_cast<const Expert*>(a.experts[j]) + at;
    for (int h = 0; h < H; ++h) ExpertFloats(LoadExpert8(e + 8 * h), zp[j], x + 2 * h);
    for (int v = 0; v < 2 * H; ++v) acc[v] = vaddq_f32(acc[v], vmulq_f32(coef[j], x[v]));
  }
  const size_t out_at = i * a.out_stride + static_cast<size_t>(c);
  for (int h = 0; h < H; ++h) {
    int16x8_t q;
#if defined(__aarch64__)
    if (saturate) {
      // The output's whole range: round, then saturating narrows and zero point, as in the GEMM
      // epilogue (neon_common.h, StoreRows), with no clamp.
      q = vqaddq_s16(
          vcombine_s16(vqmovn_s32(vcvtnq_s32_f32(acc[2 * h])), vqmovn_s32(vcvtnq_s32_f32(acc[2 * h + 1]))),
          vdupq_n_s16(static_cast<int16_t>(a.out.zero_point)));
    } else
#else
    static_cast<void>(saturate);
#endif
    {
      const int32x4_t r0 = RoundClamped(Clamp(acc[2 * h], lo, hi)),
                      r1 = RoundClamped(Clamp(acc[2 * h + 1], lo, hi));
      q = vaddq_s16(Narrow16(r0, r1), vdupq_n_s16(static_cast<int16_t>(a.out.zero_point)));
    }
    if (a.out.type == ElementType::kInt16) {
      vst1q_s16(static_cast<int16_t*>(a.dst) + out_at + 8 * h, q);
    } else {
      vst1_s8(static_cast<int8_t*>(a.dst) + out_at + 8 * h, vqmovn_s16(q));
    }
  }
}

// Lanes are channels: 16 per step, then 8 (rows are padded to 16, so whole steps stay in the
// row). The zero point is added in int16: clamped values plus it lie in the output's range.
template <typename Expert>
void MixTyped(const MixArgs& args) {
  const MixArgs a = args;  // a local copy: the stores below cannot alias it, so fields stay in registers
  // The output's whole range (what the planner asks for) with a zero point the int16 lanes can
  // add exactly: saturation is the clamp.
  const bool out16 = a.out.type == ElementType::kInt16;
  const bool saturate = a.out.min == (out16 ? -32768 : -128) && a.out.max == (out16 ? 32767 : 127) &&
                        (!out16 || a.out.zero_point == 0);
  int16x8_t zp[256];  // n <= 256 is a verified model invariant
  for (int32_t j = 0; j < a.n; ++j) zp[j] = vdupq_n_s16(static_cast<int16_t>(a.zero_points[j]));
  for (size_t i = 0; i < a.batch; ++i) {
    float32x4_t coef[256];
    for (int32_t j = 0; j < a.n; ++j)
      coef[j] = vdupq_n_f32(a.probs ? a.probs[i * a.n + j] * a.scales[j] : a.scales[j]);
    int32_t c = 0;
    for (; c + 8 < a.width; c += 16) MixChannels<Expert, 2>(a, i, c, coef, zp, saturate);
    if (c < a.width) MixChannels<Expert, 1>(a, i, c, coef, zp, saturate);
  }
}

void Mix(const MixArgs& a) { a.experts_int16 ? MixTyped<int16_t>(a) : MixTyped<int8_t>(a); }

// Lanes are items.
// Four items at a time; the last batch % 4 (a batch of one: the only one) through a padded
// copy, the same lane arithmetic: no scalar sigmoid for the compiler to unroll (2 KB).
void TaskOutput(const float* z, size_t z_stride, size_t batch, bool sigmoid, float* scores,
                size_t scores_stride) {
  const auto four = [sigmoid](float32x4_t v) {
    if (!sigmoid) return v;
    const float32x4_t e = Exp(vnegq_f32(Clamp(v, -numerics::kSigmoidLimit, numerics::kSigmoidLimit)));
    return Divide(vdupq_n_f32(1.0f), vaddq_f32(vdupq_n_f32(1.0f), e));
  };
  size_t i = 0;
  for (; i + 4 <= batch; i += 4)
    Scatter4(four(Gather4(z + i * z_stride, z_stride)), scores + i * scores_stride, scores_stride);
  if (i == batch) return;
  float tail[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (size_t k = 0; i + k < batch; ++k) tail[k] = z[(i + k) * z_stride];
  vst1q_f32(tail, four(vld1q_f32(tail)));
  for (size_t k = 0; i + k < batch; ++k) scores[(i + k) * scores_stride] = tail[k];
}

}  // namespace

const RowKernels& NeonRowKernels() {
  static const RowKernels table = {Quantize,        Softmax,   Mix,       TaskOutput,
                                   QuantizeColumns, Embedding, Quantize16};
  return table;
}

}  // namespace mmoe
