#include "graph/graph.h"

namespace mmoe::graph {
namespace {

// "node 5 (gates.0 softmax)" for messages.
std::string NodeLabel(const Graph& g, size_t i) {
  const Node& n = g.nodes[i];
  std::string label = "node " + std::to_string(i) + " (";
  if (!n.name.empty()) label += n.name + " ";
  return label + OpName(n.op) + ")";
}

bool Fail(std::string* error, std::string message) {
  *error = std::move(message);
  return false;
}

}  // namespace

const char* TensorTypeName(TensorType type) {
  switch (type) {
    case TensorType::kInt8:
      return "int8";
    case TensorType::kInt16:
      return "int16";
    case TensorType::kFloat:
      return "float32";
    case TensorType::kId:
      return "id";
  }
  return "unknown";
}

const char* InputKindName(InputKind kind) {
  switch (kind) {
    case InputKind::kDense:
      return "dense";
    case InputKind::kIds:
      return "ids";
    case InputKind::kBag:
      return "bag";
  }
  return "unknown";
}

const char* OpName(Op op) {
  switch (op) {
    case Op::kDense:
      return "dense";
    case Op::kActivation:
      return "activation";
    case Op::kSoftmax:
      return "softmax";
    case Op::kMixture:
      return "mixture";
    case Op::kSigmoid:
      return "sigmoid";
    case Op::kProduct:
      return "product";
    case Op::kEmbedding:
      return "embedding";
    case Op::kConcat:
      return "concat";
  }
  return "unknown";
}

bool CheckStructure(const Graph& g, const int32_t (&param_counts)[kOpCount], std::string* error) {
  const int32_t n_tensors = static_cast<int32_t>(g.tensors.size());
  // 0: not yet computed, 1: computed.
  std::vector<uint8_t> ready(g.tensors.size(), 0);
  const auto valid = [&](int32_t t) { return t >= 0 && t < n_tensors; };
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    const int32_t t = g.inputs[i].tensor;
    if (!valid(t)) {
      return Fail(error, "input " + std::to_string(i) + " ('" + g.inputs[i].name + "') names tensor " +
                             std::to_string(t) + " of " + std::to_string(n_tensors));
    }
    if (ready[t]) return Fail(error, "tensor " + std::to_string(t) + " is given by two inputs");
    ready[t] = 1;
  }
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    const int op = static_cast<int>(n.op);
    if (op < 0 || op >= kOpCount) return Fail(error, "node " + std::to_string(i) + " has an unknown op");
    size_t min_inputs = 1, max_inputs = 1;
    switch (n.op) {
      case Op::kMixture:
        min_inputs = n.gated ? 2 : 1;
        max_inputs = static_cast<size_t>(-1);
        break;
      case Op::kProduct:
        min_inputs = 2;
        max_inputs = static_cast<size_t>(-1);
        break;
      case Op::kConcat:
        max_inputs = static_cast<size_t>(-1);
        break;
      default:
        break;
    }
    if (n.inputs.size() < min_inputs || n.inputs.size() > max_inputs) {
      return Fail(error, NodeLabel(g, i) + " has " + std::to_string(n.inputs.size()) + " inputs, expected " +
                             (min_inputs == max_inputs ? std::to_string(min_inputs)
                                                       : "at least " + std::to_string(min_inputs)));
    }
    for (int32_t t : n.inputs) {
      if (!valid(t)) {
        return Fail(error, NodeLabel(g, i) + " reads tensor " + std::to_string(t) + " of " +
                               std::to_string(n_tensors));
      }
      if (!ready[t]) {
        return Fail(error, NodeLabel(g, i) + " reads tensor " + std::to_string(t) + " ('" +
                               g.tensors[t].name + "') before any node computes it");
      }
    }
    if (!valid(n.output)) {
      return Fail(error, NodeLabel(g, i) + " writes tensor " + std::to_string(n.output) + " of " +
                             std::to_string(n_tensors));
    }
    if (ready[n.output]) {
      return Fail(error, NodeLabel(g, i) + " writes tensor " + std::to_string(n.output) + " ('" +
                             g.tensors[n.output].name + "'), which is already computed");
    }
    ready[n.output] = 1;
    const bool has_params =
        n.op == Op::kDense || n.op == Op::kActivation || n.op == Op::kEmbedding || n.op == Op::kConcat;
    if (has_params && (n.param < 0 || n.param >= param_counts[op])) {
      return Fail(error, NodeLabel(g, i) + " has parameters " + std::to_string(n.param) + " of " +
                             std::to_string(param_counts[op]));
    }
  }
  std::vector<uint8_t> reported(g.tensors.size(), 0);
  for (size_t i = 0; i < g.outputs.size(); ++i) {
    const int32_t t = g.outputs[i].tensor;
    if (!valid(t) || !ready[t]) {
      return Fail(error, "output " + std::to_string(i) + " ('" + g.outputs[i].name + "') names tensor " +
                             std::to_string(t) + ", which no node computes");
    }
    if (reported[t]) {
      return Fail(error, "output " + std::to_string(i) + " ('" + g.outputs[i].name + "') reports tensor '" +
                             g.tensors[t].name + "', which an earlier output reports too");
    }
    reported[t] = 1;
  }
  return true;
}

std::string CountOps(const Graph& g) {
  int counts[kOpCount] = {0};
  for (const Node& n : g.nodes) ++counts[static_cast<int>(n.op)];
  std::string text;
  for (int op = 0; op < kOpCount; ++op) {
    if (counts[op] == 0) continue;
    text += (text.empty() ? "" : ", ") + std::to_string(counts[op]) + " " + OpName(static_cast<Op>(op));
  }
  return text;
}

std::vector<std::vector<int32_t>> Consumers(const Graph& g) {
  std::vector<std::vector<int32_t>> consumers(g.tensors.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (int32_t t : g.nodes[i].inputs) consumers[t].push_back(static_cast<int32_t>(i));
  }
  return consumers;
}

std::vector<int32_t> Producers(const Graph& g) {
  std::vector<int32_t> producers(g.tensors.size(), -1);
  for (size_t i = 0; i < g.nodes.size(); ++i) producers[g.nodes[i].output] = static_cast<int32_t>(i);
  return producers;
}

std::vector<int32_t> OutputOf(const Graph& g) {
  std::vector<int32_t> of(g.tensors.size(), -1);
  for (size_t i = 0; i < g.outputs.size(); ++i) of[g.outputs[i].tensor] = static_cast<int32_t>(i);
  return of;
}

}  // namespace mmoe::graph
