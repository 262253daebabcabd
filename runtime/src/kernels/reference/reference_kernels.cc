// Reference kernels: the readable specification of mmoe-edge's numerics. Plain loops, one
// item and one output channel at a time, in the order docs/numerics.md states.
#include <type_traits>

#include "kernels/kernels.h"
#include "numerics.h"

namespace mmoe {
namespace {

using numerics::Requantize;

template <typename In>
int32_t Accumulate(const DenseLayer& layer, const In* x, int32_t c) {
  const int8_t* w = layer.weights + static_cast<size_t>(c) * layer.in;
  int32_t acc = layer.bias[c];
  for (int32_t k = 0; k < layer.in; ++k) acc += static_cast<int32_t>(w[k]) * x[k];
  return acc;
}

// Out: int8_t or int16_t (requantized), or float (the accumulator's real value).
template <typename In, typename Out>
void Dense(const DenseLayer& layer, size_t batch, const void* x_, void* y_) {
  const In* x = static_cast<const In*>(x_);
  Out* y = static_cast<Out*>(y_);
  for (size_t i = 0; i < batch; ++i) {
    const In* xi = x + i * layer.in;
    Out* yi = y + i * layer.out;
    for (int32_t c = 0; c < layer.out; ++c) {
      const int32_t acc = Accumulate(layer, xi, c);
      if constexpr (std::is_same_v<Out, float>) {
        yi[c] = static_cast<float>(acc) * layer.multipliers[c];
      } else {
        yi[c] = static_cast<Out>(Requantize(acc, layer.multipliers[c], layer.output_zero_point,
                                            layer.output_min, layer.output_max));
      }
    }
  }
}

}  // namespace

const KernelTable& ReferenceKernels() {
  static const KernelTable table = {
      "reference",
      {{Dense<int8_t, int8_t>, Dense<int8_t, int16_t>, Dense<int8_t, float>},
       {Dense<int16_t, int8_t>, Dense<int16_t, int16_t>, Dense<int16_t, float>}},
  };
  return table;
}

}  // namespace mmoe
