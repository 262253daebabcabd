#include "mmoe/converter/float_reference.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace mmoe::converter {
namespace {

using graph::Node;
using graph::Op;

// One Linear layer with float32 inputs and outputs and a double accumulator: within an ulp
// or so of PyTorch's float32 GEMM, whatever order it sums in.
void Dense(const FloatDense& layer, const float* x, float* y) {
  for (int c = 0; c < layer.out; ++c) {
    const float* w = layer.weight.data() + static_cast<size_t>(c) * layer.in;
    double acc = layer.bias[c];
    for (int k = 0; k < layer.in; ++k) acc += static_cast<double>(w[k]) * x[k];
    float v = static_cast<float>(acc);
    if (layer.activation == Activation::kRelu && v < 0.0f) v = 0.0f;
    y[c] = v;
  }
}

// Softmax as torch.nn.Softmax: shift by the maximum, normalise.
void Softmax(const float* z, size_t n, float* p) {
  double zmax = z[0], sum = 0.0;
  for (size_t j = 0; j < n; ++j) zmax = std::max<double>(zmax, z[j]);
  for (size_t j = 0; j < n; ++j) sum += std::exp(static_cast<double>(z[j]) - zmax);
  for (size_t j = 0; j < n; ++j) p[j] = static_cast<float>(std::exp(static_cast<double>(z[j]) - zmax) / sum);
}

}  // namespace

Matrix FloatReference::Forward(const Matrix& x, ActivationObserver* observer) const {
  const FloatModel& m = model_;
  const graph::Graph& g = m.graph;
  if (x.cols != m.input_dim()) {
    throw ConvertError("float reference: input has " + std::to_string(x.cols) + " columns, the model reads " +
                       std::to_string(m.input_dim()));
  }
  const int n_tasks = m.num_tasks();
  Matrix scores;
  scores.rows = x.rows;
  scores.cols = n_tasks;
  scores.data.assign(static_cast<size_t>(x.rows) * n_tasks, 0.0f);

  std::vector<std::vector<float>> t(g.tensors.size());
  for (size_t i = 0; i < g.tensors.size(); ++i) t[i].resize(static_cast<size_t>(g.tensors[i].width));
  const int32_t input = g.inputs[0].tensor;
  for (int64_t row = 0; row < x.rows; ++row) {
    std::copy(x.row(row), x.row(row) + x.cols, t[input].begin());
    if (observer) observer->Observe(input, t[input].data(), t[input].size());
    for (const Node& n : g.nodes) {
      std::vector<float>& y = t[n.output];
      const std::vector<float>& a = t[n.inputs[0]];
      switch (n.op) {
        case Op::kDense:
          Dense(m.dense[n.param], a.data(), y.data());
          break;
        case Op::kActivation: {
          const FloatActivation& f = m.activations[n.param];
          for (size_t c = 0; c < y.size(); ++c) y[c] = static_cast<float>(f.Apply(a[c], static_cast<int>(c)));
          break;
        }
        case Op::kSoftmax:
          Softmax(a.data(), a.size(), y.data());
          break;
        case Op::kMixture: {
          // Float32 multiply-adds in the order of the mixed tensors, as the seed's forward()
          // accumulates; without probabilities every tensor has weight 1.
          std::fill(y.begin(), y.end(), 0.0f);
          for (int32_t j = 0; j < n.num_experts(); ++j) {
            const std::vector<float>& e = t[n.experts()[j]];
            const float w = n.gated ? a[static_cast<size_t>(j)] : 1.0f;
            for (size_t c = 0; c < y.size(); ++c) y[c] = y[c] + e[c] * w;
          }
          break;
        }
        case Op::kSigmoid:
          for (size_t c = 0; c < y.size(); ++c)
            y[c] = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(a[c]))));
          break;
        case Op::kProduct:
          y = a;
          for (size_t j = 1; j < n.inputs.size(); ++j) {
            for (size_t c = 0; c < y.size(); ++c) y[c] = y[c] * t[n.inputs[j]][c];
          }
          break;
        case Op::kEmbedding:
        case Op::kConcat:  // Validate refuses them until the converter builds sparse models
          throw ConvertError(std::string("the float reference has no ") + graph::OpName(n.op) + " nodes yet");
      }
      if (observer) observer->Observe(n.output, y.data(), y.size());
    }
    for (int o = 0; o < n_tasks; ++o) scores.row(row)[o] = t[g.outputs[o].tensor][0];
  }
  return scores;
}

}  // namespace mmoe::converter
