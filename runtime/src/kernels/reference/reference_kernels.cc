// Reference kernels: the readable specification of mmoe-edge's numerics. Plain loops, one
// item and one output channel at a time, in the order docs/numerics.md states.
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

template <typename In>
void DenseRequantized(const DenseLayer& layer, size_t batch, const In* x, int8_t* y) {
  for (size_t i = 0; i < batch; ++i) {
    const In* xi = x + i * layer.in;
    int8_t* yi = y + i * layer.out;
    for (int32_t c = 0; c < layer.out; ++c) {
      yi[c] = static_cast<int8_t>(Requantize(Accumulate(layer, xi, c), layer.multipliers[c],
                                             layer.output_zero_point, layer.output_min,
                                             layer.output_max));
    }
  }
}

template <typename In>
void DenseReal(const DenseLayer& layer, size_t batch, const In* x, float* y) {
  for (size_t i = 0; i < batch; ++i) {
    const In* xi = x + i * layer.in;
    float* yi = y + i * layer.out;
    for (int32_t c = 0; c < layer.out; ++c) {
      yi[c] = static_cast<float>(Accumulate(layer, xi, c)) * layer.multipliers[c];
    }
  }
}

void DenseS8(const DenseLayer& l, size_t b, const int8_t* x, int8_t* y) {
  DenseRequantized(l, b, x, y);
}
void DenseS16(const DenseLayer& l, size_t b, const int16_t* x, int8_t* y) {
  DenseRequantized(l, b, x, y);
}
void DenseS8Real(const DenseLayer& l, size_t b, const int8_t* x, float* y) {
  DenseReal(l, b, x, y);
}
void DenseS16Real(const DenseLayer& l, size_t b, const int16_t* x, float* y) {
  DenseReal(l, b, x, y);
}

void Quantize(const float* x, size_t count, float inv_scale, int32_t zero_point, int8_t* q) {
  for (size_t i = 0; i < count; ++i) q[i] = numerics::QuantizeFeature(x[i], inv_scale, zero_point);
}

// Softmax in float with the project's own exp: shift by the maximum, floor at -64, sum in
// index order, take 2^22 / sum once, then w_j = round((e_j * that) * ratio_j).
void Softmax(const float* logits, size_t batch, int32_t n, const float* ratios, int32_t* weights) {
  for (size_t i = 0; i < batch; ++i) {
    const float* z = logits + i * n;
    int32_t* w = weights + i * n;
    float zmax = z[0];
    for (int32_t j = 1; j < n; ++j) zmax = z[j] > zmax ? z[j] : zmax;
    float e[256];  // n <= 256 is a verified model invariant
    float sum = 0.0f;
    for (int32_t j = 0; j < n; ++j) {
      float d = z[j] - zmax;
      d = d < numerics::kSoftmaxFloor ? numerics::kSoftmaxFloor : d;
      e[j] = numerics::Exp(d);
      sum = sum + e[j];
    }
    const float scale = static_cast<float>(numerics::kGateOne) / sum;
    for (int32_t j = 0; j < n; ++j) {
      w[j] = static_cast<int32_t>(numerics::RoundHalfEven((e[j] * scale) * ratios[j]));
    }
  }
}

void Mix(const int8_t* const* experts, const int32_t* zero_points, const int32_t* weights, int32_t n,
         size_t batch, int32_t width, const MixOutput& mix, void* out) {
  for (size_t i = 0; i < batch; ++i) {
    for (int32_t c = 0; c < width; ++c) {
      int32_t acc = 0;
      for (int32_t j = 0; j < n; ++j) {
        const int32_t g = weights ? weights[i * n + j] : numerics::kGateOne;
        acc += g * (static_cast<int32_t>(experts[j][i * width + c]) - zero_points[j]);
      }
      const int32_t q = Requantize(acc, mix.multiplier, mix.zero_point, mix.min, mix.max);
      if (mix.int16) {
        static_cast<int16_t*>(out)[i * width + c] = static_cast<int16_t>(q);
      } else {
        static_cast<int8_t*>(out)[i * width + c] = static_cast<int8_t>(q);
      }
    }
  }
}

void TaskOutput(const float* logits, size_t batch, bool sigmoid, float* scores, size_t stride) {
  for (size_t i = 0; i < batch; ++i) {
    scores[i * stride] = sigmoid ? numerics::Sigmoid(logits[i]) : logits[i];
  }
}

}  // namespace

const KernelTable& ReferenceKernels() {
  static const KernelTable table = {
      "reference", DenseS8, DenseS16, DenseS8Real, DenseS16Real, Quantize, Softmax, Mix,
      TaskOutput,
  };
  return table;
}

}  // namespace mmoe
