// The float32 forward pass of a FloatModel, as PyTorch computes it (to ~1e-6): the
// converter's ground truth for calibration and for measuring the int8 model's agreement.
#pragma once

#include <cstddef>

#include "mmoe/converter/float_model.h"
#include "mmoe/converter/io.h"

namespace mmoe::converter {

// Identifies one activation tensor the int8 model quantizes.
struct TensorId {
  enum Part { kInput, kExpertLayer, kGateLayer, kTowerInput, kTowerLayer } part = kInput;
  int index = 0;  // expert, gate or task index
  int layer = 0;  // layer index within the MLP (its output, after the activation)
};

// Receives every activation tensor of every item (one call per tensor per item), including
// the gates' logits and the towers' last outputs, which the int8 model keeps unrounded.
class ActivationObserver {
 public:
  virtual ~ActivationObserver() = default;
  virtual void Observe(const TensorId& id, const float* values, size_t count) = 0;
};

class FloatReference {
 public:
  explicit FloatReference(const FloatModel& model) : model_(model) {}

  // x: [N][input_dim]. Returns [N][tasks]: sigmoid probabilities (identity tasks: logits).
  // `logits` (optional) receives the towers' pre-sigmoid outputs.
  Matrix Forward(const Matrix& x, Matrix* logits = nullptr, ActivationObserver* observer = nullptr) const;

 private:
  const FloatModel& model_;
};

}  // namespace mmoe::converter
