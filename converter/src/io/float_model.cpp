// FloatModel's size counts and its structural check.
#include "mmoe/converter/float_model.h"

#include <cmath>
#include <set>
#include <string>
#include <vector>

namespace mmoe::converter {
namespace {

template <typename Fn>
void ForEachLayer(const FloatModel& model, Fn fn) {
  const auto visit = [&](const FloatMlp& mlp) {
    for (const FloatDense& layer : mlp.layers) fn(layer);
  };
  for (const FloatMlp& expert : model.experts) visit(expert);
  for (const FloatGate& gate : model.gates) visit(gate.mlp);
  for (const FloatTask& task : model.tasks) visit(task.tower);
}

[[noreturn]] void Fail(const std::string& what) { throw ConvertError(what); }

std::string LayerLabel(const std::string& mlp_label, size_t index, const FloatDense& layer) {
  std::string label = mlp_label + " layer " + std::to_string(index);
  if (!layer.name.empty()) label += " (" + layer.name + ")";
  return label;
}

void CheckFinite(const std::vector<float>& values, const std::string& what) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      Fail(what + "[" + std::to_string(i) + "] is " + (std::isnan(values[i]) ? "NaN" : "Inf"));
    }
  }
}

void CheckLayer(const FloatDense& layer, const std::string& label) {
  if (layer.in <= 0 || layer.out <= 0) {
    Fail(label + " has in " + std::to_string(layer.in) + ", out " + std::to_string(layer.out));
  }
  const size_t weights = static_cast<size_t>(layer.in) * static_cast<size_t>(layer.out);
  if (layer.weight.size() != weights) {
    Fail(label + " has " + std::to_string(layer.weight.size()) +
         " weights, expected out * in = " + std::to_string(weights));
  }
  if (layer.bias.size() != static_cast<size_t>(layer.out)) {
    Fail(label + " has " + std::to_string(layer.bias.size()) + " biases, expected " +
         std::to_string(layer.out));
  }
  CheckFinite(layer.weight, label + ": weight");
  CheckFinite(layer.bias, label + ": bias");
}

// Layers well formed and chained from `in_width`, which `in_source` describes for messages.
void CheckMlp(const FloatMlp& mlp, const std::string& label, int in_width, const std::string& in_source) {
  if (mlp.layers.empty()) Fail(label + " has no layers");
  int expected = in_width;
  for (size_t i = 0; i < mlp.layers.size(); ++i) {
    const FloatDense& layer = mlp.layers[i];
    const std::string layer_label = LayerLabel(label, i, layer);
    CheckLayer(layer, layer_label);
    if (layer.in != expected) {
      Fail(layer_label + " reads width " + std::to_string(layer.in) + " but " +
           (i == 0 ? in_source : "the previous layer's output") + " is " + std::to_string(expected));
    }
    expected = layer.out;
  }
}

// The softmax (gates) and sigmoid/identity (towers) are applied after the last layer, so an
// activation there would change the model's meaning.
void CheckLastLayerLinear(const FloatMlp& mlp, const std::string& label, const char* why) {
  const FloatDense& last = mlp.layers.back();
  if (last.activation != Activation::kNone) {
    Fail(LayerLabel(label, mlp.layers.size() - 1, last) + " has an activation; " + why);
  }
}

void CheckExperts(const FloatModel& model) {
  for (size_t e = 0; e < model.experts.size(); ++e) {
    const std::string label = "expert " + std::to_string(e);
    CheckMlp(model.experts[e], label, model.input_dim, "input_dim");
    if (model.experts[e].out_width() != model.expert_width()) {
      Fail(label + " ends at width " + std::to_string(model.experts[e].out_width()) +
           " but expert 0 ends at " + std::to_string(model.expert_width()));
    }
  }
}

void CheckGates(const FloatModel& model) {
  const int n_experts = static_cast<int>(model.experts.size());
  for (size_t g = 0; g < model.gates.size(); ++g) {
    const FloatGate& gate = model.gates[g];
    const std::string label = "gate " + std::to_string(g);
    if (gate.experts.empty()) Fail(label + " mixes no experts");
    std::set<int> seen;
    for (const int e : gate.experts) {
      if (e < 0 || e >= n_experts) {
        Fail(label + " mixes expert " + std::to_string(e) + ", but there are " + std::to_string(n_experts) +
             " experts");
      }
      if (!seen.insert(e).second) Fail(label + " lists expert " + std::to_string(e) + " twice");
    }
    CheckMlp(gate.mlp, label, model.input_dim, "input_dim");
    if (gate.mlp.out_width() != static_cast<int>(gate.experts.size())) {
      Fail(label + " ends at width " + std::to_string(gate.mlp.out_width()) + " but mixes " +
           std::to_string(gate.experts.size()) + " experts (one logit each)");
    }
    CheckLastLayerLinear(gate.mlp, label, "the softmax follows the gate's last layer");
  }
}

void CheckTasks(const FloatModel& model) {
  std::set<std::string> names;
  for (size_t t = 0; t < model.tasks.size(); ++t) {
    const FloatTask& task = model.tasks[t];
    const std::string label = "task " + std::to_string(t) + " '" + task.name + "'";
    if (task.name.empty()) Fail("task " + std::to_string(t) + " has an empty name");
    if (!names.insert(task.name).second) Fail(label + ": duplicate task name");
    if (task.gate < -1 || task.gate >= static_cast<int>(model.gates.size())) {
      Fail(label + " uses gate " + std::to_string(task.gate) + ", but there are " +
           std::to_string(model.gates.size()) + " gates");
    }
    if (task.gate == -1 && (task.expert < 0 || task.expert >= static_cast<int>(model.experts.size()))) {
      Fail(label + " has no gate and reads expert " + std::to_string(task.expert) + ", but there are " +
           std::to_string(model.experts.size()) + " experts");
    }
    const std::string tower = label + " tower";
    CheckMlp(task.tower, tower, model.expert_width(), "the expert width");
    if (task.tower.out_width() != 1) {
      Fail(tower + " ends at width " + std::to_string(task.tower.out_width()) +
           ", expected 1 (the task's logit)");
    }
    CheckLastLayerLinear(task.tower, tower, "the task output follows the tower's last layer");
  }
}

}  // namespace

int64_t FloatModel::macs() const {
  int64_t total = 0;
  ForEachLayer(*this, [&](const FloatDense& layer) { total += static_cast<int64_t>(layer.in) * layer.out; });
  // Mixing: each gated task sums expert_width-wide outputs weighted by its gate.
  for (const FloatTask& task : tasks) {
    if (task.gate >= 0 && task.gate < static_cast<int>(gates.size())) {
      total += static_cast<int64_t>(expert_width()) * static_cast<int64_t>(gates[task.gate].experts.size());
    }
  }
  return total;
}

int64_t FloatModel::parameters() const {
  int64_t total = 0;
  ForEachLayer(*this, [&](const FloatDense& layer) {
    total += static_cast<int64_t>(layer.weight.size() + layer.bias.size());
  });
  return total;
}

void Validate(const FloatModel& model) {
  if (model.experts.empty()) Fail("model has no experts");
  if (model.tasks.empty()) Fail("model has no tasks");
  if (model.input_dim <= 0) Fail("input_dim is " + std::to_string(model.input_dim));
  if (!model.feature_names.empty() && model.feature_names.size() != static_cast<size_t>(model.input_dim)) {
    Fail("model has " + std::to_string(model.feature_names.size()) + " feature names but input_dim " +
         std::to_string(model.input_dim));
  }
  CheckExperts(model);
  CheckGates(model);
  CheckTasks(model);
}

}  // namespace mmoe::converter
