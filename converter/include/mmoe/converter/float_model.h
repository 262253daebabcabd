// The float32 Mixture-of-Experts network the converter reads, checks and quantizes.
//
// One structure for the whole family: any number of experts (each an MLP of any depth and
// width), any number of gates (an MLP whose last layer gives one logit per listed expert,
// followed by a softmax), and any number of tasks (a gate, or a single expert for
// Shared-Bottom, then a tower MLP ending in sigmoid or identity).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace mmoe::converter {

// Every converter failure: the message names the file, tensor, row or field at fault.
class ConvertError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Activation { kNone, kRelu };
enum class TaskOutput { kSigmoid, kIdentity };

// y = act(W x + b), W row-major [out][in] as in torch.nn.Linear.
struct FloatDense {
  std::string name;  // where it came from, e.g. "experts.0.2" (for messages and inspect)
  int in = 0;
  int out = 0;
  std::vector<float> weight;  // out * in
  std::vector<float> bias;    // out
  Activation activation = Activation::kNone;
};

struct FloatMlp {
  std::vector<FloatDense> layers;
  int in_width() const { return layers.empty() ? 0 : layers.front().in; }
  int out_width() const { return layers.empty() ? 0 : layers.back().out; }
};

struct FloatGate {
  FloatMlp mlp;              // last layer: one logit per entry of `experts`, no activation
  std::vector<int> experts;  // expert indices the softmax mixes, in logit order
};

struct FloatTask {
  std::string name;
  int gate = -1;    // index into gates, or -1: the tower reads `expert` directly
  int expert = -1;  // used only when gate == -1 (Shared-Bottom)
  FloatMlp tower;   // last layer has one output: the task's logit
  TaskOutput output = TaskOutput::kSigmoid;
};

struct FloatModel {
  std::string name;
  int input_dim = 0;
  std::vector<std::string> feature_names;  // empty, or input_dim names
  std::vector<FloatMlp> experts;           // all with the same output width
  std::vector<FloatGate> gates;
  std::vector<FloatTask> tasks;

  int expert_width() const { return experts.empty() ? 0 : experts.front().out_width(); }
  // Multiply-accumulates and parameters of one item's forward pass.
  int64_t macs() const;
  int64_t parameters() const;
};

// Throws ConvertError naming the first inconsistency: widths that do not chain, expert
// indices out of range, gate logit count != expert list length, towers not ending in one
// output, non-finite weights, empty parts.
void Validate(const FloatModel& model);

}  // namespace mmoe::converter
