#include "mmoe/converter/tensor_types.h"

namespace mmoe::converter {
namespace {

using graph::Op;
using graph::TensorType;

}  // namespace

std::vector<bool> FloatTensors(const FloatModel& model) {
  const graph::Graph& g = model.graph;
  const std::vector<std::vector<int32_t>> consumers = graph::Consumers(g);
  const std::vector<int32_t> output_of = graph::OutputOf(g);
  std::vector<bool> is_float(g.tensors.size(), false);
  // Dense features quantized per feature by a concat stay float until it reads them.
  for (const graph::Input& in : g.inputs) {
    for (int32_t r : consumers[in.tensor])
      is_float[in.tensor] = is_float[in.tensor] || g.nodes[r].op == Op::kConcat;
  }
  for (const graph::Node& n : g.nodes) {
    if (n.op == Op::kSoftmax || n.op == Op::kSigmoid || n.op == Op::kProduct || n.op == Op::kEmbedding) {
      is_float[n.output] = true;
    } else if (n.op == Op::kDense) {
      const std::vector<int32_t>& readers = consumers[n.output];
      bool logits = !readers.empty() || output_of[n.output] >= 0;
      for (int32_t r : readers) {
        const Op op = g.nodes[r].op;
        logits = logits && (op == Op::kSoftmax || op == Op::kSigmoid || op == Op::kProduct);
      }
      is_float[n.output] = logits;
    }
  }
  return is_float;
}

bool CanTakeInt16Input(const FloatModel& model) {
  const graph::Graph& g = model.graph;
  if (g.inputs.size() != 1 || g.inputs[0].kind != graph::InputKind::kDense || g.packed.present())
    return false;
  const int32_t x = g.inputs[0].tensor;
  if (g.tensors[x].width > kMaxInt16Width) return false;
  for (const graph::Node& n : g.nodes) {
    for (int32_t in : n.inputs)
      if (in == x && n.op != Op::kDense) return false;
  }
  return true;
}

std::vector<TensorType> TensorTypes(const FloatModel& model, ActivationPrecision precision,
                                    bool int16_input) {
  const graph::Graph& g = model.graph;
  const std::vector<bool> is_float = FloatTensors(model);
  // Tensors whose values flow into a mixture's mixed tensors through dense and activation
  // nodes: the dense layers producing them are experts.
  std::vector<bool> to_mixture(g.tensors.size(), false);
  for (const graph::Node& n : g.nodes) {
    if (n.op != Op::kMixture) continue;
    for (int32_t j = 0; j < n.num_experts(); ++j) to_mixture[n.experts()[j]] = true;
  }
  std::vector<bool> int8(g.tensors.size(), false);  // some reader needs it int8
  for (auto it = g.nodes.rbegin(); it != g.nodes.rend(); ++it) {
    const graph::Node& n = *it;
    const int32_t x = n.inputs[0];
    if (n.op == Op::kDense) {
      if (to_mixture[n.output]) to_mixture[x] = true;
      const bool expert_input = to_mixture[n.output] && precision != ActivationPrecision::kInt16;
      if (expert_input || g.tensors[x].width > kMaxInt16Width) int8[x] = true;
    } else if (n.op == Op::kActivation) {
      if (to_mixture[n.output]) to_mixture[x] = true;
      if (int8[n.output]) int8[x] = true;
    }
  }
  std::vector<TensorType> types(g.tensors.size(), TensorType::kInt8);
  for (const graph::Input& in : g.inputs) {
    if (in.kind != graph::InputKind::kDense) types[in.tensor] = TensorType::kId;
    if (is_float[in.tensor]) types[in.tensor] = TensorType::kFloat;
  }
  if (int16_input && CanTakeInt16Input(model)) types[g.inputs[0].tensor] = TensorType::kInt16;
  for (const graph::Node& n : g.nodes) {
    const int32_t y = n.output;
    if (is_float[y]) {
      types[y] = TensorType::kFloat;
    } else if (precision == ActivationPrecision::kInt8 || n.op == Op::kConcat) {
      types[y] = TensorType::kInt8;
    } else if (n.op == Op::kActivation) {
      types[y] = types[n.inputs[0]];
    } else {
      types[y] = int8[y] ? TensorType::kInt8 : TensorType::kInt16;
    }
  }
  return types;
}

}  // namespace mmoe::converter
