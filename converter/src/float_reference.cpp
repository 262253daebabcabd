#include "mmoe/converter/float_reference.h"

#include <cmath>
#include <vector>

namespace mmoe::converter {
namespace {

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

// Runs an MLP, reporting each layer's output; returns the last output.
const std::vector<float>& RunMlp(const FloatMlp& mlp, const float* x, TensorId id,
                                 ActivationObserver* observer, std::vector<float> (&buffers)[2]) {
  const float* cur = x;
  for (size_t l = 0; l < mlp.layers.size(); ++l) {
    std::vector<float>& out = buffers[l % 2];
    out.resize(mlp.layers[l].out);
    Dense(mlp.layers[l], cur, out.data());
    if (observer) {
      id.layer = static_cast<int>(l);
      observer->Observe(id, out.data(), out.size());
    }
    cur = out.data();
  }
  return buffers[(mlp.layers.size() - 1) % 2];
}

}  // namespace

Matrix FloatReference::Forward(const Matrix& x, Matrix* logits, ActivationObserver* observer) const {
  const FloatModel& m = model_;
  if (x.cols != m.input_dim) {
    throw ConvertError("float reference: input has " + std::to_string(x.cols) + " columns, the model reads " +
                       std::to_string(m.input_dim));
  }
  const int n_tasks = static_cast<int>(m.tasks.size());
  const int width = m.expert_width();
  Matrix probs;
  probs.rows = x.rows;
  probs.cols = n_tasks;
  probs.data.assign(static_cast<size_t>(x.rows) * n_tasks, 0.0f);
  if (logits) *logits = probs;

  std::vector<std::vector<float>> expert_out(m.experts.size());
  std::vector<std::vector<float>> gate_w(m.gates.size());
  std::vector<float> mix(width);
  std::vector<float> buffers[2];
  for (int64_t i = 0; i < x.rows; ++i) {
    const float* xi = x.row(i);
    if (observer) observer->Observe(TensorId{TensorId::kInput, 0, 0}, xi, m.input_dim);
    for (size_t e = 0; e < m.experts.size(); ++e) {
      expert_out[e] = RunMlp(m.experts[e], xi, TensorId{TensorId::kExpertLayer, static_cast<int>(e), 0},
                             observer, buffers);
    }
    for (size_t g = 0; g < m.gates.size(); ++g) {
      const std::vector<float>& z = RunMlp(
          m.gates[g].mlp, xi, TensorId{TensorId::kGateLayer, static_cast<int>(g), 0}, observer, buffers);
      // Softmax as torch.nn.Softmax: shift by the maximum, normalise.
      double zmax = z[0], sum = 0.0;
      for (float v : z) zmax = std::max<double>(zmax, v);
      gate_w[g].resize(z.size());
      for (size_t j = 0; j < z.size(); ++j) sum += std::exp(static_cast<double>(z[j]) - zmax);
      for (size_t j = 0; j < z.size(); ++j) {
        gate_w[g][j] = static_cast<float>(std::exp(static_cast<double>(z[j]) - zmax) / sum);
      }
    }
    for (int t = 0; t < n_tasks; ++t) {
      const FloatTask& task = m.tasks[t];
      std::fill(mix.begin(), mix.end(), 0.0f);
      if (task.gate < 0) {
        mix = expert_out[task.expert];
      } else {
        // Float32 multiply-adds in expert order, as the seed's forward() accumulates.
        const FloatGate& gate = m.gates[task.gate];
        for (size_t j = 0; j < gate.experts.size(); ++j) {
          const std::vector<float>& eo = expert_out[gate.experts[j]];
          for (int c = 0; c < width; ++c) mix[c] = mix[c] + eo[c] * gate_w[task.gate][j];
        }
      }
      if (observer) observer->Observe(TensorId{TensorId::kTowerInput, t, 0}, mix.data(), mix.size());
      const std::vector<float>& z =
          RunMlp(task.tower, mix.data(), TensorId{TensorId::kTowerLayer, t, 0}, observer, buffers);
      const float logit = z[0];
      if (logits) logits->row(i)[t] = logit;
      probs.row(i)[t] = task.output == TaskOutput::kSigmoid
                            ? static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(logit))))
                            : logit;
    }
  }
  return probs;
}

}  // namespace mmoe::converter
