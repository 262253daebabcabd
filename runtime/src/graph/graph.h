// The model as a graph: named tensors and the nodes that compute them. One structure for the
// whole MoE family (MMoE, MoE, Shared-Bottom, CGC, multi-level PLE, ESMM) and for every stage
// that handles a model: the runtime decodes a file into it, verifies it, runs it node by node
// (the reference executor) and plans fused GEMMs from it; the converter imports float weights
// into it, runs it in float, calibrates and writes it. The graph holds the wiring only; each
// stage keeps its own per-node parameters (float or quantized weights) in arrays indexed by
// Node::param.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mmoe::graph {

// Element type of a tensor. Quantized tensors hold real = scale * (q - zero_point).
// kId: a sparse feature's ids (int64), one id or one bag of ids per item, given by the caller.
enum class TensorType : uint8_t { kInt8 = 0, kInt16 = 1, kFloat = 2, kId = 3 };

const char* TensorTypeName(TensorType type);  // "int8", "int16", "float32", "id"

struct Tensor {
  std::string name;
  int32_t width = 0;  // elements per item
  TensorType type = TensorType::kInt8;
  float scale = 1.0f;  // quantized types only
  int32_t zero_point = 0;
};

enum class Op : uint8_t {
  // y = act(W x + b), W int8 per output channel; requantized to an int8/int16 tensor (act:
  // none or ReLU), or the accumulator's real value (a float tensor: logits).
  kDense = 0,
  // y = f(x) elementwise on a quantized tensor (LeakyReLU, GELU, Tanh, ...): a table the
  // converter computes per tensor, or per channel.
  kActivation = 1,
  kSoftmax = 2,  // float logits -> float probabilities
  // sum_j p_j * expert_j, requantized: inputs are [probabilities,] expert_0, expert_1, ...
  kMixture = 3,
  kSigmoid = 4,  // float -> float: a task's probability from its logit
  kProduct = 5,  // float x float x ... elementwise (ESMM: pCTCVR = pCTR * pCVR)
  // ids -> float: an embedding table's row per item, or a bag's rows pooled (sum or mean).
  kEmbedding = 6,
  // float, float, ... -> int8: side by side, each input quantized with its own scale and zero
  // point (the input of the first layers when a model has embeddings).
  kConcat = 7,
};
constexpr int kOpCount = 8;

const char* OpName(Op op);  // "dense", "activation", ...

struct Node {
  Op op = Op::kDense;
  std::string name;             // where it came from, e.g. "experts.0.2"
  std::vector<int32_t> inputs;  // tensor indices
  int32_t output = -1;          // tensor index
  int32_t param = -1;           // index into the stage's parameters of this op (dense, activation,
                                // embedding, concat)
  bool gated = false;           // kMixture: inputs[0] holds the gate's probabilities

  // kMixture: the mixed tensors (inputs after the probabilities).
  const int32_t* experts() const { return inputs.data() + (gated ? 1 : 0); }
  int32_t num_experts() const { return static_cast<int32_t>(inputs.size()) - (gated ? 1 : 0); }
};

// What the caller passes for one input: floats (quantized into an int8 tensor, or kept as a
// float tensor that a concat quantizes), or a sparse feature's ids (an id tensor).
enum class InputKind : uint8_t {
  kDense = 0,  // `width` floats per item
  kIds = 1,    // one id per item
  kBag = 2,    // any number of ids per item
};

const char* InputKindName(InputKind kind);  // "dense", "ids", "bag"

// How an embedding node turns an item's ids into one row.
enum class Pooling : uint8_t {
  kNone = 0,  // one id per item: its row
  kSum = 1,   // a bag: the sum of its rows (padding ids skipped), zeros when empty
  kMean = 2,  // the same divided by the number of rows summed
};

struct Input {
  std::string name;
  int32_t tensor = -1;
  InputKind kind = InputKind::kDense;
  std::vector<std::string> feature_names;  // dense: empty, or one per element
};

// Format 2.2: every input side by side in one float row per item (DeepCTR-Torch's X): input i
// in columns [first[i], first[i] + count[i]), ids as floats truncated toward zero.
struct PackedInput {
  std::string name;  // empty: the model takes its inputs one by one only
  int32_t width = 0;
  std::vector<int32_t> first, count;  // per input
  bool present() const { return !name.empty(); }
};

// A packed row's value as an id: truncated toward zero, as torch's .long() and ONNX's Cast do;
// false for NaN, infinities and values beyond int64 (the runtime and the converter's reader
// share this rule).
inline bool PackedId(float v, int64_t* id) {
  if (!(v > -9.2e18f && v < 9.2e18f)) return false;
  *id = static_cast<int64_t>(v);
  return true;
}

// A task's score: one float per item.
struct Output {
  std::string name;
  int32_t tensor = -1;
};

struct Graph {
  std::vector<Tensor> tensors;
  std::vector<Node> nodes;  // in an order where every input is computed before it is read
  std::vector<Input> inputs;
  std::vector<Output> outputs;
  PackedInput packed;

  int32_t AddTensor(Tensor tensor) {
    tensors.push_back(std::move(tensor));
    return static_cast<int32_t>(tensors.size() - 1);
  }
  int32_t AddNode(Node node) {
    nodes.push_back(std::move(node));
    return static_cast<int32_t>(nodes.size() - 1);
  }
};

// The structural rules every stage relies on, independent of numbers: indices in range, each
// tensor computed exactly once (by one node, or given as an input) and before any node reads
// it, the number of inputs each op takes, parameter indices within `param_counts[op]` (per op
// kind; ops without parameters ignore it), outputs on distinct tensors. On failure returns
// false and sets *error to a message naming the node or tensor ("node 5 (gates.0): ...").
bool CheckStructure(const Graph& graph, const int32_t (&param_counts)[kOpCount], std::string* error);

// Format 2.2: -1 when every input's columns in graph.packed fit it (a dense input takes its
// width, ids one column, a bag one or more, all within a row of 1 to 65,536 columns); else the
// first input that does not fit, or the number of inputs when the row or its ranges are wrong.
int32_t MisplacedPackedInput(const Graph& graph);

// "22 dense, 2 softmax, 2 mixture, 2 sigmoid": the nodes of each op, in op order.
std::string CountOps(const Graph& graph);

// For each tensor, the nodes that read it (a node reading a tensor twice is listed twice).
std::vector<std::vector<int32_t>> Consumers(const Graph& graph);
// For each tensor, the node that computes it, or -1 (an input).
std::vector<int32_t> Producers(const Graph& graph);
// For each tensor, the output that reports it, or -1.
std::vector<int32_t> OutputOf(const Graph& graph);

}  // namespace mmoe::graph
