// The int8 model file's arithmetic (docs/numerics.md), run item by item from the file's
// FlatBuffer with every activation tensor reported, dequantized, to an ActivationObserver under
// the same TensorIds as FloatReference reports the float network's. Pairing the two gives the
// per-layer quantization error (mmoe eval's SQNR); the runtime does not expose its
// intermediate tensors. Its scores equal the runtime's bit for bit (a test checks it), so the
// per-layer figures describe the model that actually runs.
#pragma once

#include "mmoe/converter/float_reference.h"
#include "mmoe/converter/io.h"

namespace mmoe {
namespace fb {
struct Model;
}

namespace converter {

class QuantizedReference {
 public:
  // `model` is a verified model file's root (mmoe::Model::flatbuffer()); it must outlive this.
  explicit QuantizedReference(const fb::Model* model) : model_(model) {}

  // x: [N][input_dim] float features. Returns [N][tasks] scores as the runtime computes them.
  Matrix Forward(const Matrix& x, ActivationObserver* observer = nullptr) const;

 private:
  const fb::Model* model_;
};

}  // namespace converter
}  // namespace mmoe
