#include "support/random_model.h"

#include <cmath>
#include <random>

namespace mmoe::testing {
namespace {

using converter::Activation;
using converter::FloatDense;
using converter::FloatMlp;

// Uniform in [-1, 1) from the engine's raw 32 bits: the same numbers whatever the standard
// library's distribution implementation is, so a seed means the same model everywhere.
float UniformSigned(std::mt19937& rng) { return static_cast<float>(rng() / 2147483648.0 - 1.0); }

FloatDense RandomDense(const std::string& name, int in, int out, float gain, Activation activation,
                       std::mt19937& rng) {
  FloatDense d;
  d.name = name;
  d.in = in;
  d.out = out;
  d.activation = activation;
  const float bound = gain / std::sqrt(static_cast<float>(in));
  d.weight.resize(static_cast<size_t>(in) * out);
  for (float& w : d.weight) w = bound * UniformSigned(rng);
  d.bias.resize(out);
  for (float& b : d.bias) b = bound * UniformSigned(rng);
  return d;
}

// An MLP reading `in` features through `widths`; ReLU after every layer except the last
// when `last_linear` (logits).
FloatMlp RandomMlp(const std::string& prefix, int in, const std::vector<int>& widths, bool last_linear,
                   float gain, std::mt19937& rng) {
  FloatMlp mlp;
  for (size_t l = 0; l < widths.size(); ++l) {
    const bool last = l + 1 == widths.size();
    const Activation act = last && last_linear ? Activation::kNone : Activation::kRelu;
    mlp.layers.push_back(RandomDense(prefix + "." + std::to_string(l), in, widths[l], gain, act, rng));
    in = widths[l];
  }
  return mlp;
}

}  // namespace

converter::FloatModel RandomFloatModel(const RandomModelSpec& spec) {
  std::mt19937 rng(spec.seed);
  converter::FloatModel m;
  m.name = spec.name;
  m.input_dim = spec.input_dim;
  for (int e = 0; e < spec.num_experts; ++e) {
    m.experts.push_back(
        RandomMlp("experts." + std::to_string(e), spec.input_dim, spec.expert_widths, false, spec.gain, rng));
  }
  for (size_t g = 0; g < spec.gates.size(); ++g) {
    converter::FloatGate gate;
    gate.experts = spec.gates[g].experts;
    if (gate.experts.empty()) {
      for (int e = 0; e < spec.num_experts; ++e) gate.experts.push_back(e);
    }
    std::vector<int> widths = spec.gates[g].hidden;
    widths.push_back(static_cast<int>(gate.experts.size()));
    gate.mlp = RandomMlp("gates." + std::to_string(g), spec.input_dim, widths, true, spec.gate_gain, rng);
    m.gates.push_back(std::move(gate));
  }
  const int expert_width = spec.expert_widths.back();
  for (size_t t = 0; t < spec.tasks.size(); ++t) {
    const RandomTaskSpec& ts = spec.tasks[t];
    converter::FloatTask task;
    task.name = ts.name.empty() ? "task" + std::to_string(t) : ts.name;
    task.gate = ts.gate;
    task.expert = ts.gate < 0 ? ts.expert : -1;
    task.output = ts.output;
    std::vector<int> widths = ts.tower;
    widths.push_back(1);
    task.tower = RandomMlp("tasks." + std::to_string(t), expert_width, widths, true, spec.gain, rng);
    m.tasks.push_back(std::move(task));
  }
  converter::Validate(m);  // a bad spec is the test's mistake: say so where it is made
  return m;
}

converter::Matrix RandomFeatures(int64_t rows, int cols, FeatureKind kind, uint32_t seed, double p_one) {
  std::mt19937 rng(seed);
  converter::Matrix x;
  x.rows = rows;
  x.cols = cols;
  x.data.resize(static_cast<size_t>(rows) * cols);
  if (kind == FeatureKind::kBinary) {
    const double threshold = p_one * 4294967296.0;
    for (float& v : x.data) v = rng() < threshold ? 1.0f : 0.0f;
  } else {
    // Box-Muller on the raw engine output, for the same reason as UniformSigned.
    constexpr double kTwoPi = 6.283185307179586;
    for (size_t i = 0; i < x.data.size(); i += 2) {
      const double u1 = (rng() + 1.0) / 4294967297.0;  // (0, 1): log(u1) is finite
      const double u2 = rng() / 4294967296.0;
      const double r = std::sqrt(-2.0 * std::log(u1));
      x.data[i] = static_cast<float>(r * std::cos(kTwoPi * u2));
      if (i + 1 < x.data.size()) x.data[i + 1] = static_cast<float>(r * std::sin(kTwoPi * u2));
    }
  }
  return x;
}

}  // namespace mmoe::testing
