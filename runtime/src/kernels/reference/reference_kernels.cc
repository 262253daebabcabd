// Reference kernels: the readable specification of mmoe-edge's numerics. Plain loops, one
// item and one output channel at a time, in the order docs/numerics.md states.
#include <type_traits>

#include "kernels/kernels.h"
#include "kernels/row_ops.h"
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

void Quantize(const float* x, size_t count, float inv_scale, int32_t zero_point, int8_t* q) {
  for (size_t i = 0; i < count; ++i) q[i] = numerics::QuantizeFeature(x[i], inv_scale, zero_point);
}

void Softmax(const float* logits, size_t batch, int32_t n, float* probs) {
  for (size_t i = 0; i < batch; ++i) rows::Softmax(logits + i * n, n, probs + i * n);
}

template <typename Expert, typename Out>
void MixTyped(const void* const* experts, const int32_t* zero_points, const float* scales, const float* probs,
              int32_t n, size_t batch, int32_t width, const MixOutput& mix, void* out) {
  const Expert* rows_i[256];  // n <= 256 is a verified model invariant
  for (size_t i = 0; i < batch; ++i) {
    for (int32_t j = 0; j < n; ++j) rows_i[j] = static_cast<const Expert*>(experts[j]) + i * width;
    rows::Mix(rows_i, zero_points, scales, probs ? probs + i * n : nullptr, n, width, mix,
              static_cast<Out*>(out) + i * width);
  }
}

void Mix(const void* const* experts, ElementType expert_type, const int32_t* zero_points, const float* scales,
         const float* probs, int32_t n, size_t batch, int32_t width, const MixOutput& mix, void* out) {
  const bool e16 = expert_type == ElementType::kInt16, o16 = mix.type == ElementType::kInt16;
  auto fn = e16 ? (o16 ? MixTyped<int16_t, int16_t> : MixTyped<int16_t, int8_t>)
                : (o16 ? MixTyped<int8_t, int16_t> : MixTyped<int8_t, int8_t>);
  fn(experts, zero_points, scales, probs, n, batch, width, mix, out);
}

void TaskOutput(const float* logits, size_t batch, bool sigmoid, float* scores, size_t stride) {
  for (size_t i = 0; i < batch; ++i) scores[i * stride] = rows::TaskScore(logits[i], sigmoid);
}

}  // namespace

const KernelTable& ReferenceKernels() {
  static const KernelTable table = {
      "reference",
      {{Dense<int8_t, int8_t>, Dense<int8_t, int16_t>, Dense<int8_t, float>},
       {Dense<int16_t, int8_t>, Dense<int16_t, int16_t>, Dense<int16_t, float>}},
      Quantize,
      Softmax,
      Mix,
      TaskOutput,
  };
  return table;
}

}  // namespace mmoe
