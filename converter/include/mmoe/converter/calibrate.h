// Calibration: activation ranges from the float reference, and the int8/int16
// quantization parameters chosen from them.
#pragma once

#include <map>
#include <tuple>
#include <vector>

#include "mmoe/converter/float_reference.h"

namespace mmoe::converter {

struct Range {
  float lo = 0.0f;
  float hi = 0.0f;
  bool seen = false;
  void Add(float v) {
    if (!seen) lo = hi = v;
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    seen = true;
  }
};

// Collects, for every activation tensor over the calibration rows, its range (all elements
// together: activations are quantized per tensor) and its per-element mean (for bias
// correction of the next layer).
class ActivationStats : public ActivationObserver {
 public:
  void Observe(const TensorId& id, const float* values, size_t count) override;
  // A tensor never observed yields an empty Range and an empty mean.
  Range GetRange(TensorId::Part part, int index, int layer = 0) const;
  std::vector<double> GetMean(TensorId::Part part, int index, int layer = 0) const;

 private:
  struct Stats {
    Range range;
    std::vector<double> sum;
    int64_t count = 0;
  };
  std::map<std::tuple<int, int, int>, Stats> stats_;
};

struct QuantParams {
  bool int16 = false;
  float scale = 1.0f;
  int32_t zero_point = 0;
};

// Asymmetric int8 (TensorFlow Lite's scheme): the range widened to contain 0, scale =
// (hi - lo) / 255, zero point rounded so that 0.0 is exactly representable.
QuantParams Int8FromRange(const Range& range);
// Symmetric int16, zero point 0: scale = max(|lo|, |hi|) / 32767.
QuantParams Int16FromRange(const Range& range);

}  // namespace mmoe::converter
