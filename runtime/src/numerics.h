// The scalar arithmetic every backend reproduces bit for bit (docs/numerics.md).
//
// Only IEEE-754 single-precision +, -, *, / and int <-> float conversions are used, in a
// fixed order, with contraction off (-ffp-contract=off): these give the same bits on every
// conforming CPU. Nothing here calls the platform's libm, whose exp() differs across
// systems. SIMD kernels implement the same sequences lane by lane.
#pragma once

#include <cstdint>
#include <cstring>

namespace mmoe::numerics {

// Round to nearest, ties to even, for |v| < 2^22: adding 1.5 * 2^23 pushes the fraction
// bits out under the default rounding mode. Exact and identical to cvtps2dq / fcvtns.
inline float RoundHalfEven(float v) {
  constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23
  return (v + kMagic) - kMagic;
}

inline float Clamp(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

// q = clamp(round_half_even(float(acc) * multiplier) + zero_point, lo, hi). The clamp is
// applied before rounding (the bounds are integers, so the result is the same) so that the
// float never leaves the range where RoundHalfEven is exact.
inline int32_t Requantize(int32_t acc, float multiplier, int32_t zero_point, int32_t lo, int32_t hi) {
  float v = static_cast<float>(acc) * multiplier;
  v = Clamp(v, static_cast<float>(lo - zero_point), static_cast<float>(hi - zero_point));
  return static_cast<int32_t>(RoundHalfEven(v)) + zero_point;
}

// Float feature -> int8 with the model's input quantization. NaN counts as 0 (a missing
// feature), infinities clamp.
inline int8_t QuantizeFeature(float x, float inv_scale, int32_t zero_point) {
  float v = x * inv_scale;
  if (v != v) v = 0.0f;
  v = Clamp(v, static_cast<float>(-128 - zero_point), static_cast<float>(127 - zero_point));
  return static_cast<int8_t>(static_cast<int32_t>(RoundHalfEven(v)) + zero_point);
}

// Float feature -> int16 (a model whose input is int16: symmetric, zero point 0). NaN counts
// as 0, infinities clamp.
inline int16_t QuantizeFeature16(float x, float inv_scale) {
  float v = x * inv_scale;
  if (v != v) v = 0.0f;
  return static_cast<int16_t>(RoundHalfEven(Clamp(v, -32768.0f, 32767.0f)));
}

// int16 activation tables (docs/numerics.md, "Activations"): 513 entries at the input levels
// -32768 + 128 i; a level between two entries is interpolated in integers, rounding half up:
// t[i] + floor(((t[i + 1] - t[i]) * f + 64) / 128) with i = (q + 32768) / 128, f its remainder.
// The result lies between t[i] and t[i + 1], so it needs no clamp. (The floor is computed on a
// positive offset so that it does not rely on how >> treats negative numbers.)
inline int16_t Lookup16(const int16_t* table, int32_t q) {
  const int32_t u = q + 32768;  // 0 .. 65535
  const int32_t i = u >> 7, f = u & 127;
  const int32_t base = table[i], delta = table[i + 1] - base;  // |delta| * 127 < 2^23
  return static_cast<int16_t>(base + ((delta * f + 64 + (1 << 23)) >> 7) - (1 << 16));
}

// exp(x) for x in [-87, 88], relative error < 2.6e-7. Cody-Waite range reduction
// x = n ln2 + r with a two-part ln2 (the high part has 12 significant bits, so n * hi is
// exact for |n| < 2^12), a degree-6 Taylor polynomial on |r| <= ln2/2 evaluated by Horner's
// rule, and 2^n built from the exponent bits.
inline float Exp(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693145751953125f;
  constexpr float kLn2Lo = 1.42860682030941723212e-6f;
  const float n = RoundHalfEven(x * kLog2e);
  float r = x - n * kLn2Hi;
  r = r - n * kLn2Lo;
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return p * scale;
}

// Softmax inputs are shifted by the maximum and floored here, so a probability is at least
// e^-32 / 256 and a mixing coefficient (probability x a mix scale in [2^-30, 2^30]) stays a
// normal float: ARMv7 NEON flushes denormals to zero and would disagree with scalar code.
constexpr float kSoftmaxFloor = -32.0f;

// A dense layer's requantization multipliers stay in a range where float(acc) * m is neither
// denormal nor infinite (the verifier's bound; the converter checks it first).
constexpr float kMinMultiplier = 0x1p-64f;
constexpr float kMaxMultiplier = 0x1p30f;
// Sigmoid arguments are clamped so exp() stays in range; sigmoid(+-80) is 1 and ~1.8e-35.
constexpr float kSigmoidLimit = 80.0f;

inline float Sigmoid(float z) {
  z = Clamp(z, -kSigmoidLimit, kSigmoidLimit);
  return 1.0f / (1.0f + Exp(-z));
}

}  // namespace mmoe::numerics
