#include "graph/graph.h"

#include <cstdarg>
#include <cstdint>
#include <cstdio>

#include "format.h"

namespace mmoe::graph {
namespace {

// Sets *error to the printf-style message and returns false. (One formatting routine rather
// than string concatenations at every check: this runs once per model and should stay small.)
bool Fail(std::string* error, const char* format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
bool Fail(std::string* error, const char* format, ...) {
  va_list args;
  va_start(args, format);
  *error = FormatV(format, args);
  va_end(args);
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
  std::vector<uint8_t> ready(g.tensors.size(), 0);  // computed (or given) so far
  const auto valid = [&](int32_t t) { return t >= 0 && t < n_tensors; };
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    const int32_t t = g.inputs[i].tensor;
    if (!valid(t)) {
      return Fail(error, "input %zu ('%s') names tensor %d of %d", i, g.inputs[i].name.c_str(), t, n_tensors);
    }
    if (ready[t]) return Fail(error, "tensor %d is given by two inputs", t);
    ready[t] = 1;
  }
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    const int op = static_cast<int>(n.op);
    if (op < 0 || op >= kOpCount) return Fail(error, "node %zu has an unknown op", i);
    // "node 5 (gates.0 softmax)" for messages.
    const char* name = n.name.c_str();
    const char* sep = n.name.empty() ? "" : " ";
    const char* kind = OpName(n.op);
    size_t min_inputs = 1, max_inputs = 1;
    if (n.op == Op::kMixture) min_inputs = n.gated ? 2 : 1;
    if (n.op == Op::kProduct) min_inputs = 2;
    if (n.op == Op::kMixture || n.op == Op::kProduct || n.op == Op::kConcat) max_inputs = SIZE_MAX;
    if (n.inputs.size() < min_inputs || n.inputs.size() > max_inputs) {
      return Fail(error, "node %zu (%s%s%s) has %zu inputs, expected %s%zu", i, name, sep, kind,
                  n.inputs.size(), min_inputs == max_inputs ? "" : "at least ", min_inputs);
    }
    for (int32_t t : n.inputs) {
      if (!valid(t))
        return Fail(error, "node %zu (%s%s%s) reads tensor %d of %d", i, name, sep, kind, t, n_tensors);
      if (!ready[t]) {
        return Fail(error, "node %zu (%s%s%s) reads tensor %d ('%s') before any node computes it", i, name,
                    sep, kind, t, g.tensors[t].name.c_str());
      }
    }
    if (!valid(n.output)) {
      return Fail(error, "node %zu (%s%s%s) writes tensor %d of %d", i, name, sep, kind, n.output, n_tensors);
    }
    if (ready[n.output]) {
      return Fail(error, "node %zu (%s%s%s) writes tensor %d ('%s'), which is already computed", i, name, sep,
                  kind, n.output, g.tensors[n.output].name.c_str());
    }
    ready[n.output] = 1;
    const bool has_params =
        n.op == Op::kDense || n.op == Op::kActivation || n.op == Op::kEmbedding || n.op == Op::kConcat;
    if (has_params && (n.param < 0 || n.param >= param_counts[op])) {
      return Fail(error, "node %zu (%s%s%s) has parameters %d of %d", i, name, sep, kind, n.param,
                  param_counts[op]);
    }
  }
  std::vector<uint8_t> reported(g.tensors.size(), 0);
  for (size_t i = 0; i < g.outputs.size(); ++i) {
    const int32_t t = g.outputs[i].tensor;
    if (!valid(t) || !ready[t]) {
      return Fail(error, "output %zu ('%s') names tensor %d, which no node computes", i,
                  g.outputs[i].name.c_str(), t);
    }
    if (reported[t]) {
      return Fail(error, "output %zu ('%s') reports tensor '%s', which an earlier output reports too", i,
                  g.outputs[i].name.c_str(), g.tensors[t].name.c_str());
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

int32_t MisplacedPackedInput(const Graph& g) {
  const PackedInput& p = g.packed;
  const size_t n = g.inputs.size();
  if (p.width < 1 || p.width > (1 << 16) || p.first.size() != n || p.count.size() != n)
    return static_cast<int32_t>(n);
  for (size_t i = 0; i < n; ++i) {
    const Input& input = g.inputs[i];
    const bool count_ok =
        input.kind == InputKind::kBag
            ? p.count[i] >= 1
            : p.count[i] == (input.kind == InputKind::kDense ? g.tensors[input.tensor].width : 1);
    if (!count_ok || p.first[i] < 0 || p.first[i] > p.width - p.count[i]) return static_cast<int32_t>(i);
  }
  return -1;
}

}  // namespace mmoe::graph
