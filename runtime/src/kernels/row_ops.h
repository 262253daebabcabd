// Per-item operations shared by every backend: the gate softmax, the mixture and the task
// output. They are a small part of the work and are float arithmetic whose exact order
// docs/numerics.md fixes, so all backends run this one implementation.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"
#include "numerics.h"

namespace mmoe::rows {

// Softmax of n logits into n probabilities: shift by the maximum, floor at -32, exp in index
// order summed left to right, one reciprocal, one product per probability.
inline void Softmax(const float* z, int32_t n, float* p) {
  float zmax = z[0];
  for (int32_t j = 1; j < n; ++j) zmax = z[j] > zmax ? z[j] : zmax;
  float sum = 0.0f;
  for (int32_t j = 0; j < n; ++j) {
    float d = z[j] - zmax;
    d = d < numerics::kSoftmaxFloor ? numerics::kSoftmaxFloor : d;
    p[j] = numerics::Exp(d);
    sum = sum + p[j];
  }
  const float inv = 1.0f / sum;
  for (int32_t j = 0; j < n; ++j) p[j] = p[j] * inv;
}

// One item's tower input: out[c] = requantize(sum_j a_j * float(expert_j[c] - zp_j)) with
// a_j = probs[j] * scales[j] (probs == nullptr: scales[j]), j in order.
template <typename Expert, typename Out>
void Mix(const Expert* const* experts, const int32_t* zero_points, const float* scales, const float* probs,
         int32_t n, int32_t width, const MixOutput& mix, Out* out) {
  float a[256];  // n <= 256 is a verified model invariant
  for (int32_t j = 0; j < n; ++j) a[j] = probs ? probs[j] * scales[j] : scales[j];
  const float lo = static_cast<float>(mix.min - mix.zero_point);
  const float hi = static_cast<float>(mix.max - mix.zero_point);
  for (int32_t c = 0; c < width; ++c) {
    float acc = 0.0f;
    for (int32_t j = 0; j < n; ++j) {
      acc = acc + a[j] * static_cast<float>(static_cast<int32_t>(experts[j][c]) - zero_points[j]);
    }
    const float v = numerics::Clamp(acc, lo, hi);
    out[c] = static_cast<Out>(static_cast<int32_t>(numerics::RoundHalfEven(v)) + mix.zero_point);
  }
}

inline float TaskScore(float logit, bool sigmoid) { return sigmoid ? numerics::Sigmoid(logit) : logit; }

}  // namespace mmoe::rows
