// The float32 network the converter reads, checks and quantizes: the runtime's graph type
// (runtime/src/graph/graph.h) with float parameters per node. One structure for the whole
// MoE family: MMoE, MoE, Shared-Bottom, CGC, multi-level PLE and ESMM are graphs of dense
// layers, elementwise activations, gate softmaxes, mixtures, sigmoids and products.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace mmoe::converter {

// Every converter failure: the message names the file, tensor, row or field at fault.
class ConvertError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A dense layer's own activation (fused into its requantization).
enum class Activation { kNone, kRelu };

// Elementwise functions of activation nodes, as PyTorch defines them.
enum class Function {
  kRelu,
  kLeakyRelu,  // params: slope
  kPrelu,      // params: one slope, or one per channel
  kSigmoid,
  kTanh,
  kGelu,      // the erf form (nn.GELU())
  kGeluTanh,  // nn.GELU(approximate="tanh")
  kSilu,
  kElu,  // params: alpha
  kSelu,
  kRelu6,
  kHardtanh,  // params: min, max
  kHardsigmoid,
  kHardswish,
  kSoftplus,  // params: beta, threshold
  kMish,
};

// Parses a function's name ("leaky_relu", "gelu", ...); false if unknown.
bool ParseFunction(const std::string& name, Function* function);
const char* FunctionName(Function function);
// The names ParseFunction accepts, for messages: "relu, leaky_relu, prelu, ...".
std::string FunctionNames();

struct FloatActivation {
  Function function = Function::kRelu;
  std::vector<float> params;  // see Function

  // f(x) in double precision for channel `channel` (PReLU's slopes).
  double Apply(double x, int channel) const;
  // "leaky_relu(0.01)", "prelu(16 slopes)": what the model file records.
  std::string Describe() const;
  // The number of parameters each function takes (-1: PReLU's 1 or one per channel).
  static int ParamCount(Function function);
};

// y = act(W x + b), W row-major [out][in] as in torch.nn.Linear.
struct FloatDense {
  std::string name;  // where it came from, e.g. "experts.0.2" (also its output tensor's name)
  int in = 0;
  int out = 0;
  std::vector<float> weight;  // out * in
  std::vector<float> bias;    // out
  Activation activation = Activation::kNone;
};

// An embedding table as trained (nn.Embedding's weight): [rows][dim], row-major.
// Float32 values read in place from a mapped weights file (a large embedding table, which the
// converter then quantizes row by row without ever holding it in memory).
class MappedFloats {
 public:
  virtual ~MappedFloats() = default;
  virtual const float* data() const = 0;
  // Drops values [first, first + count) from this process's resident memory (the file keeps
  // them: reading them again reads the file).
  virtual void Release(size_t first, size_t count) const = 0;
};

struct FloatTable {
  std::string name;  // e.g. "embedding_dict.user_id.weight"
  int64_t rows = 0;
  int dim = 0;
  std::vector<float> values;                   // rows * dim, or empty when `mapped` holds them
  std::shared_ptr<const MappedFloats> mapped;  // (checked finite when read)

  const float* data() const { return mapped ? mapped->data() : values.data(); }
  size_t size() const {
    return mapped ? static_cast<size_t>(rows) * static_cast<size_t>(dim) : values.size();
  }
};

// How an embedding node reads its table (graph::Pooling: none for one id per item, sum or mean
// over a bag, whose padding ids are skipped).
struct FloatEmbedding {
  int32_t table = 0;
  graph::Pooling pooling = graph::Pooling::kNone;
  bool has_padding_id = false;
  int64_t padding_id = 0;
  // What an id outside the table reads; empty: such an id is an error.
  std::vector<float> default_row;
};

struct FloatModel {
  std::string name;
  // Tensors carry names and widths; their element types are chosen when the model is
  // quantized (TensorTypes in calibrate.h).
  graph::Graph graph;
  std::vector<FloatDense> dense;             // per dense node (Node::param)
  std::vector<FloatActivation> activations;  // per activation node (Node::param)
  std::vector<FloatTable> tables;
  std::vector<FloatEmbedding> embeddings;  // per embedding node (Node::param)
  int32_t concats = 0;                     // concat nodes (Node::param 0, 1, ...)

  // The width of the one input of a model with one dense input (0 when it has sparse inputs).
  int input_dim() const;
  const std::vector<std::string>& feature_names() const;
  int num_tasks() const { return static_cast<int>(graph.outputs.size()); }
  std::vector<std::string> task_names() const;
  // Multiply-accumulates and parameters of one item's forward pass: dense layers, plus a
  // multiply-add per element and mixed tensor of gated mixtures (the runtime's count).
  int64_t macs() const;
  int64_t parameters() const;  // dense layers' weights and biases, and the tables' values
  // What the quantized model stores for them: int8 weights, int32 biases, table rows of uint8
  // codes (padded to 4 bytes) with a float scale and offset.
  int64_t parameter_bytes() const;
};

// Throws ConvertError naming the first inconsistency: the graph's structure (graph::
// CheckStructure), widths that do not chain, parameters of the wrong size or not finite,
// softmax, sigmoid and product reading anything but logits or scores, outputs that are not
// one score per item, names that are empty or repeated.
void Validate(const FloatModel& model);

// Builds a FloatModel node by node. Each node's output tensor takes the node's name, which
// must be new; widths are checked as nodes are added (ConvertError naming the node).
class GraphBuilder {
 public:
  explicit GraphBuilder(std::string model_name);

  int32_t Input(const std::string& name, int width, std::vector<std::string> feature_names = {});
  // A sparse feature: one id per item (kIds) or a bag of ids (kBag).
  int32_t IdsInput(const std::string& name, graph::InputKind kind);
  int32_t Table(FloatTable table);  // returns the table's index
  // The table's rows for the ids of `ids` (an ids or bag input): a float tensor of its width.
  int32_t Embedding(int32_t ids, FloatEmbedding embedding, const std::string& name);
  // Float tensors side by side (the first layers' input, each part quantized on its own).
  int32_t Concat(const std::vector<int32_t>& parts, const std::string& name);
  // The layer's output tensor is named layer.name.
  int32_t Dense(int32_t input, FloatDense layer);
  // Layers in order, each reading the previous one's output; returns the last output.
  int32_t Mlp(int32_t input, std::vector<FloatDense> layers);
  int32_t Activation(int32_t input, FloatActivation activation, const std::string& name);
  int32_t Softmax(int32_t logits, const std::string& name);
  // probs < 0: weight 1 for every mixed tensor (a Shared-Bottom tower reading one expert).
  int32_t Mixture(int32_t probs, const std::vector<int32_t>& experts, const std::string& name);
  int32_t Sigmoid(int32_t logit, const std::string& name);
  int32_t Product(const std::vector<int32_t>& factors, const std::string& name);
  void Output(const std::string& name, int32_t tensor);

  const FloatModel& model() const { return m_; }
  int32_t Find(const std::string& tensor) const;  // -1 if no tensor has that name
  FloatModel Finish();                            // Validate()s the result

 private:
  int32_t AddNode(graph::Op op, const std::string& name, std::vector<int32_t> inputs, int width,
                  int32_t param);
  void CheckTensor(int32_t t, const std::string& node) const;

  FloatModel m_;
};

}  // namespace mmoe::converter
