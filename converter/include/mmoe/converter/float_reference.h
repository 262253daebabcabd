// The float forward pass of a FloatModel's graph, node by node, as PyTorch computes it (to
// ~1e-6): the converter's ground truth for calibration and for measuring the int8 model.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mmoe/converter/float_model.h"
#include "mmoe/converter/inputs.h"
#include "mmoe/converter/io.h"

namespace mmoe::converter {

// Receives every tensor of every item (one call per tensor per item, in graph order: the
// input, then each node's output).
class ActivationObserver {
 public:
  virtual ~ActivationObserver() = default;
  virtual void Observe(int32_t tensor, const float* values, size_t count) = 0;
};

class FloatReference {
 public:
  explicit FloatReference(const FloatModel& model) : model_(model) {}

  // x: [N][input_dim] for a model with one dense input. Returns [N][tasks]: each output
  // tensor's value (probabilities for sigmoid tasks, logits or regressions for identity tasks).
  Matrix Forward(const Matrix& x, ActivationObserver* observer = nullptr) const;
  // Any model's inputs (checked: ConvertError naming the input and row).
  Matrix Forward(const Inputs& in, ActivationObserver* observer = nullptr) const;

 private:
  const FloatModel& model_;
};

}  // namespace mmoe::converter
