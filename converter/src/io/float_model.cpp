// FloatModel: activation functions, sizes, the structural check and the builder.
#include "mmoe/converter/float_model.h"

#include <cmath>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "mmoe/converter/tensor_types.h"

namespace mmoe::converter {
namespace {

using graph::Node;
using graph::Op;

[[noreturn]] void Fail(const std::string& what) { throw ConvertError(what); }

struct FunctionInfo {
  Function function;
  const char* name;
  int params;  // -1: PReLU (1 or one per channel)
};

constexpr FunctionInfo kFunctions[] = {
    {Function::kRelu, "relu", 0},
    {Function::kLeakyRelu, "leaky_relu", 1},
    {Function::kPrelu, "prelu", -1},
    {Function::kSigmoid, "sigmoid", 0},
    {Function::kTanh, "tanh", 0},
    {Function::kGelu, "gelu", 0},
    {Function::kGeluTanh, "gelu_tanh", 0},
    {Function::kSilu, "silu", 0},
    {Function::kElu, "elu", 1},
    {Function::kSelu, "selu", 0},
    {Function::kRelu6, "relu6", 0},
    {Function::kHardtanh, "hardtanh", 2},
    {Function::kHardsigmoid, "hardsigmoid", 0},
    {Function::kHardswish, "hardswish", 0},
    {Function::kSoftplus, "softplus", 2},
    {Function::kMish, "mish", 0},
};

const FunctionInfo& Info(Function f) {
  for (const FunctionInfo& info : kFunctions) {
    if (info.function == f) return info;
  }
  return kFunctions[0];
}

double Softplus(double x, double beta, double threshold) {
  // torch.nn.functional.softplus: linear where beta * x > threshold.
  return beta * x > threshold ? x : std::log1p(std::exp(beta * x)) / beta;
}

std::string NodeLabel(const graph::Graph& g, size_t i) {
  return std::string(graph::OpName(g.nodes[i].op)) + " '" + g.nodes[i].name + "'";
}

std::string Width(int w) { return std::to_string(w); }

void CheckFinite(const std::vector<float>& values, const std::string& what) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i]))
      Fail(what + "[" + std::to_string(i) + "] is " + (std::isnan(values[i]) ? "NaN" : "Inf"));
  }
}

}  // namespace

bool ParseFunction(const std::string& name, Function* function) {
  for (const FunctionInfo& info : kFunctions) {
    if (name == info.name) {
      *function = info.function;
      return true;
    }
  }
  return false;
}

const char* FunctionName(Function function) { return Info(function).name; }

std::string FunctionNames() {
  std::string names;
  for (const FunctionInfo& info : kFunctions) names += (names.empty() ? "" : ", ") + std::string(info.name);
  return names;
}

int FloatActivation::ParamCount(Function function) { return Info(function).params; }

double FloatActivation::Apply(double x, int channel) const {
  constexpr double kSqrt2OverPi = 0.7978845608028654;
  switch (function) {
    case Function::kRelu:
      return x > 0.0 ? x : 0.0;
    case Function::kLeakyRelu:
      return x >= 0.0 ? x : x * params[0];
    case Function::kPrelu:
      return x >= 0.0 ? x : x * params[params.size() == 1 ? 0 : static_cast<size_t>(channel)];
    case Function::kSigmoid:
      return 1.0 / (1.0 + std::exp(-x));
    case Function::kTanh:
      return std::tanh(x);
    case Function::kGelu:
      return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
    case Function::kGeluTanh:
      return 0.5 * x * (1.0 + std::tanh(kSqrt2OverPi * (x + 0.044715 * x * x * x)));
    case Function::kSilu:
      return x / (1.0 + std::exp(-x));
    case Function::kElu:
      return x > 0.0 ? x : params[0] * std::expm1(x);
    case Function::kSelu: {
      constexpr double kAlpha = 1.6732632423543772848170429916717, kScale = 1.0507009873554804934193349852946;
      return kScale * (x > 0.0 ? x : kAlpha * std::expm1(x));
    }
    case Function::kRelu6:
      return x < 0.0 ? 0.0 : (x > 6.0 ? 6.0 : x);
    case Function::kHardtanh:
      return x < params[0] ? params[0] : (x > params[1] ? params[1] : x);
    case Function::kHardsigmoid:
      return x <= -3.0 ? 0.0 : (x >= 3.0 ? 1.0 : x / 6.0 + 0.5);
    case Function::kHardswish:
      return x <= -3.0 ? 0.0 : (x >= 3.0 ? x : x * (x + 3.0) / 6.0);
    case Function::kSoftplus:
      return Softplus(x, params[0], params[1]);
    case Function::kMish:
      return x * std::tanh(Softplus(x, 1.0, 20.0));
  }
  return x;
}

std::string FloatActivation::Describe() const {
  std::string text = FunctionName(function);
  if (params.empty()) return text;
  if (function == Function::kPrelu && params.size() > 1)
    return text + "(" + std::to_string(params.size()) + " slopes)";
  text += "(";
  for (size_t i = 0; i < params.size(); ++i) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%s%.9g", i ? ", " : "", static_cast<double>(params[i]));
    text += buf;
  }
  return text + ")";
}

int FloatModel::input_dim() const {
  if (graph.inputs.size() != 1 || graph.inputs[0].kind != graph::InputKind::kDense) return 0;
  return graph.tensors[graph.inputs[0].tensor].width;
}

const std::vector<std::string>& FloatModel::feature_names() const {
  static const std::vector<std::string> kNone;
  return graph.inputs.empty() ? kNone : graph.inputs[0].feature_names;
}

std::vector<std::string> FloatModel::task_names() const {
  std::vector<std::string> names;
  for (const graph::Output& o : graph.outputs) names.push_back(o.name);
  return names;
}

int64_t FloatModel::macs() const {
  int64_t total = 0;
  for (const FloatDense& d : dense) total += static_cast<int64_t>(d.in) * d.out;
  for (const Node& n : graph.nodes) {
    if (n.op == Op::kMixture && n.gated)
      total += static_cast<int64_t>(n.num_experts()) * graph.tensors[n.output].width;
  }
  return total;
}

int64_t FloatModel::parameters() const {
  int64_t total = 0;
  for (const FloatDense& d : dense) total += static_cast<int64_t>(d.weight.size() + d.bias.size());
  for (const FloatTable& t : tables) total += t.rows * t.dim;
  return total;
}

int64_t FloatModel::parameter_bytes() const {
  int64_t total = 0;
  for (const FloatDense& d : dense)
    total += static_cast<int64_t>(d.in) * d.out + 4 * static_cast<int64_t>(d.out);
  // Tables: a byte per value (padded to 4 per row), a float scale and offset per row.
  for (const FloatTable& t : tables) total += t.rows * ((t.dim + 3) / 4 * 4 + 8);
  return total;
}

// The inputs and the nodes that read them: sparse features through one embedding each, of the
// pooling their kind needs; dense features through a concat when the model has several inputs
// (a model's one dense input may also be quantized as a whole); tables of finite values.
void ValidateInputs(const FloatModel& m) {
  const graph::Graph& g = m.graph;
  const std::vector<std::vector<int32_t>> consumers = graph::Consumers(g);
  for (const graph::Input& input : g.inputs) {
    const std::string label = "input '" + input.name + "'";
    const std::vector<int32_t>& readers = consumers[input.tensor];
    const int width = g.tensors[input.tensor].width;
    if (input.kind == graph::InputKind::kDense) {
      if (!input.feature_names.empty() && input.feature_names.size() != static_cast<size_t>(width))
        Fail(label + " has " + std::to_string(input.feature_names.size()) + " feature names for " +
             Width(width) + " features");
      for (int32_t r : readers) {
        if (g.inputs.size() > 1 && g.nodes[r].op != Op::kConcat)
          Fail(label + " is read by " + NodeLabel(g, static_cast<size_t>(r)) +
               "; with several inputs, dense features go through a concat");
      }
      continue;
    }
    if (readers.size() != 1 || g.nodes[readers[0]].op != Op::kEmbedding)
      Fail(label + " (" + graph::InputKindName(input.kind) + ") must be read by exactly one embedding node");
    const FloatEmbedding& e = m.embeddings[static_cast<size_t>(g.nodes[readers[0]].param)];
    const bool bag = input.kind == graph::InputKind::kBag;
    if (bag != (e.pooling != graph::Pooling::kNone))
      Fail(label + ": " + (bag ? "a bag is pooled (sum or mean)" : "one id per item is not pooled"));
    if (e.has_padding_id && !bag) Fail(label + ": a padding id applies to bags only");
  }
  if (g.packed.present()) {  // the runtime's rules
    const int32_t bad = graph::MisplacedPackedInput(g);
    if (bad >= 0)
      Fail("packed input '" + g.packed.name + "' (" + std::to_string(g.packed.width) + " columns): " +
           (static_cast<size_t>(bad) < g.inputs.size()
                ? "input '" + g.inputs[static_cast<size_t>(bad)].name + "'"
                : std::string("the row")) +
           " does not fit its columns");
  }
  for (const FloatTable& t : m.tables) {
    if (t.rows <= 0 || t.dim <= 0 || (!t.mapped && t.values.size() != static_cast<size_t>(t.rows) * t.dim))
      Fail("table '" + t.name + "' has " + std::to_string(t.size()) + " values for " +
           std::to_string(t.rows) + " rows of " + Width(t.dim));
    if (!t.mapped) CheckFinite(t.values, "table '" + t.name + "'");  // a mapped one was when read
  }
}

void Validate(const FloatModel& m) {
  const graph::Graph& g = m.graph;
  std::string error;
  const int32_t counts[graph::kOpCount] = {static_cast<int32_t>(m.dense.size()),
                                           static_cast<int32_t>(m.activations.size()),
                                           0,
                                           0,
                                           0,
                                           0,
                                           static_cast<int32_t>(m.embeddings.size()),
                                           m.concats};
  if (!graph::CheckStructure(g, counts, &error)) Fail(error);
  if (g.inputs.empty()) Fail("the model has no inputs");
  if (g.outputs.empty()) Fail("the model has no outputs (tasks)");
  std::set<std::string> names;
  for (const graph::Tensor& t : g.tensors) {
    if (t.name.empty()) Fail("a tensor has no name");
    if (!names.insert(t.name).second) Fail("two tensors are named '" + t.name + "'");
    if (t.width <= 0) Fail("tensor '" + t.name + "' has width " + Width(t.width));
  }
  ValidateInputs(m);
  std::set<std::string> tasks;
  for (const graph::Output& o : g.outputs) {
    if (o.name.empty()) Fail("a task has an empty name");
    if (!tasks.insert(o.name).second) Fail("task '" + o.name + "': duplicate task name");
  }
  const std::vector<bool> is_float = FloatTensors(m);
  const std::vector<int32_t> producer = graph::Producers(g);
  const std::vector<std::vector<int32_t>> consumers = graph::Consumers(g);
  const auto width = [&](int32_t t) { return g.tensors[t].width; };
  const auto name = [&](int32_t t) { return "'" + g.tensors[t].name + "'"; };
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    const std::string label = NodeLabel(g, i);
    const int32_t x = n.inputs[0], y = n.output;
    const bool reads_scores = n.op == Op::kSoftmax || n.op == Op::kSigmoid || n.op == Op::kProduct;
    for (int32_t t : n.inputs) {
      if (n.op == Op::kEmbedding || n.op == Op::kConcat) break;  // ids, and float features (ValidateInputs)
      if (reads_scores && !is_float[t]) {
        Fail(label + " reads " + name(t) +
             ", which is not a dense layer's logits (an output that only softmax, " +
             "sigmoid and product nodes read) nor a score");
      }
      if (!reads_scores && is_float[t] && !(n.op == Op::kMixture && n.gated && t == n.inputs[0])) {
        Fail(label + " reads " + name(t) + ", a float32 logit or score; a " + graph::OpName(n.op) +
             " reads an activation (int8/int16 once quantized)");
      }
    }
    switch (n.op) {
      case Op::kDense: {
        const FloatDense& d = m.dense[n.param];
        if (d.in <= 0 || d.out <= 0) Fail(label + " has in " + Width(d.in) + ", out " + Width(d.out));
        if (d.in != width(x)) {
          Fail(label + " reads width " + Width(d.in) + " but its input " + name(x) + " is " +
               Width(width(x)));
        }
        if (d.out != width(y))
          Fail(label + " has " + Width(d.out) + " outputs but " + name(y) + " is " + Width(width(y)));
        const size_t weights = static_cast<size_t>(d.in) * static_cast<size_t>(d.out);
        if (d.weight.size() != weights) {
          Fail(label + " has " + std::to_string(d.weight.size()) +
               " weights, expected out * in = " + std::to_string(weights));
        }
        if (d.bias.size() != static_cast<size_t>(d.out)) {
          Fail(label + " has " + std::to_string(d.bias.size()) + " biases, expected " + Width(d.out));
        }
        CheckFinite(d.weight, label + ": weight");
        CheckFinite(d.bias, label + ": bias");
        if (is_float[y] && d.activation != Activation::kNone) {
          Fail(label + " has a ReLU but its output " + name(y) +
               " goes straight to a softmax, sigmoid or task output, which read its logits");
        }
        break;
      }
      case Op::kActivation: {
        const FloatActivation& a = m.activations[n.param];
        const int want = FloatActivation::ParamCount(a.function);
        const bool ok = want >= 0 ? static_cast<int>(a.params.size()) == want
                                  : a.params.size() == 1 || a.params.size() == static_cast<size_t>(width(x));
        if (!ok) {
          Fail(label + " (" + FunctionName(a.function) + ") has " + std::to_string(a.params.size()) +
               " parameters, expected " +
               (want >= 0 ? std::to_string(want) : "1 or " + Width(width(x)) + " (one per channel)"));
        }
        CheckFinite(a.params, label + ": parameter");
        if (width(x) != width(y)) Fail(label + " maps width " + Width(width(x)) + " to " + Width(width(y)));
        break;
      }
      case Op::kSoftmax:
      case Op::kSigmoid:
        if (width(x) != width(y)) Fail(label + " maps width " + Width(width(x)) + " to " + Width(width(y)));
        if (n.op == Op::kSoftmax && width(x) > 256)
          Fail(label + " is over " + Width(width(x)) + " values; at most 256");
        break;
      case Op::kMixture: {
        if (n.gated && !is_float[x])
          Fail(label + " takes its probabilities from " + name(x) + ", which is not a softmax's output");
        if (n.num_experts() > 256)
          Fail(label + " mixes " + std::to_string(n.num_experts()) + " tensors; at most 256");
        if (n.gated && width(x) != n.num_experts()) {
          Fail(label + " has " + Width(width(x)) + " probabilities (" + name(x) + ") for " +
               std::to_string(n.num_experts()) + " mixed tensors");
        }
        for (int32_t j = 0; j < n.num_experts(); ++j) {
          const int32_t e = n.experts()[j];
          if (width(e) != width(y)) {
            Fail(label + " mixes " + name(e) + " of width " + Width(width(e)) + " into width " +
                 Width(width(y)) + "; mixed tensors have one width");
          }
          if (producer[e] < 0) Fail(label + " mixes the model's input " + name(e));
        }
        break;
      }
      case Op::kProduct:
        for (int32_t t : n.inputs) {
          const bool probability = producer[t] >= 0 && (g.nodes[producer[t]].op == Op::kSigmoid ||
                                                        g.nodes[producer[t]].op == Op::kProduct);
          if (!probability) {
            Fail(label + " multiplies " + name(t) +
                 ", which is not a probability (a sigmoid's or a product's output)");
          }
          if (width(t) != width(y))
            Fail(label + " multiplies " + name(t) + " of width " + Width(width(t)) + " into width " +
                 Width(width(y)));
        }
        break;
      case Op::kEmbedding: {
        const FloatEmbedding& e = m.embeddings[static_cast<size_t>(n.param)];
        if (e.table < 0 || e.table >= static_cast<int32_t>(m.tables.size()))
          Fail(label + " reads table " + std::to_string(e.table) + ", which does not exist");
        const FloatTable& t = m.tables[static_cast<size_t>(e.table)];
        if (width(y) != t.dim)
          Fail(label + " writes width " + Width(width(y)) + " from rows of " + Width(t.dim));
        if (!e.default_row.empty()) {
          if (e.default_row.size() != static_cast<size_t>(t.dim))
            Fail(label + ": its default row has " + std::to_string(e.default_row.size()) + " values, not " +
                 Width(t.dim));
          CheckFinite(e.default_row, label + ": default row");
        }
        break;
      }
      case Op::kConcat:
        for (int32_t t : n.inputs) {
          const bool embedding = producer[t] >= 0 && g.nodes[producer[t]].op == Op::kEmbedding;
          const bool dense_input = producer[t] < 0 && g.tensors[t].type != graph::TensorType::kId;
          if (!embedding && !dense_input)
            Fail(label + " joins " + name(t) + ", which is neither an embedding nor a dense input");
        }
        for (int32_t r : consumers[y]) {
          if (g.nodes[r].op != Op::kDense)
            Fail(NodeLabel(g, static_cast<size_t>(r)) + " reads " + name(y) +
                 ", a concat's output, which only dense layers read");
        }
        break;
    }
  }
  for (const graph::Output& o : g.outputs) {
    if (!is_float[o.tensor] || width(o.tensor) != 1) {
      Fail("task '" + o.name + "' reports " + name(o.tensor) + " of width " + Width(width(o.tensor)) +
           "; a task's score is one logit, probability or product per item");
    }
  }
}

// ---------------------------------------------------------------------------------------------

GraphBuilder::GraphBuilder(std::string model_name) { m_.name = std::move(model_name); }

int32_t GraphBuilder::Find(const std::string& tensor) const {
  for (size_t i = 0; i < m_.graph.tensors.size(); ++i) {
    if (m_.graph.tensors[i].name == tensor) return static_cast<int32_t>(i);
  }
  return -1;
}

void GraphBuilder::CheckTensor(int32_t t, const std::string& node) const {
  if (t < 0 || t >= static_cast<int32_t>(m_.graph.tensors.size())) {
    Fail(node + ": reads tensor " + std::to_string(t) + ", which does not exist");
  }
}

int32_t GraphBuilder::AddNode(Op op, const std::string& name, std::vector<int32_t> inputs, int width,
                              int32_t param) {
  const std::string label = std::string(graph::OpName(op)) + " '" + name + "'";
  if (name.empty()) Fail(std::string(graph::OpName(op)) + ": a node needs a name (its output tensor's)");
  if (Find(name) >= 0) Fail(label + ": a tensor named '" + name + "' already exists");
  for (int32_t t : inputs) CheckTensor(t, label);
  graph::Tensor tensor;
  tensor.name = name;
  tensor.width = width;
  tensor.type = graph::TensorType::kFloat;
  graph::Node node;
  node.op = op;
  node.name = name;
  node.inputs = std::move(inputs);
  node.output = m_.graph.AddTensor(std::move(tensor));
  node.param = param;
  m_.graph.AddNode(std::move(node));
  return m_.graph.nodes.back().output;
}

int32_t GraphBuilder::Input(const std::string& name, int width, std::vector<std::string> feature_names) {
  if (Find(name) >= 0) Fail("input '" + name + "': a tensor with that name already exists");
  graph::Tensor tensor;
  tensor.name = name;
  tensor.width = width;
  graph::Input input;
  input.name = name;
  input.tensor = m_.graph.AddTensor(std::move(tensor));
  input.feature_names = std::move(feature_names);
  m_.graph.inputs.push_back(std::move(input));
  return m_.graph.inputs.back().tensor;
}

int32_t GraphBuilder::IdsInput(const std::string& name, graph::InputKind kind) {
  const int32_t t = Input(name, 1);
  m_.graph.tensors[t].type = graph::TensorType::kId;
  m_.graph.inputs.back().kind = kind;
  return t;
}

int32_t GraphBuilder::Table(FloatTable table) {
  m_.tables.push_back(std::move(table));
  return static_cast<int32_t>(m_.tables.size() - 1);
}

int32_t GraphBuilder::Embedding(int32_t ids, FloatEmbedding embedding, const std::string& name) {
  CheckTensor(ids, "embedding '" + name + "'");
  if (embedding.table < 0 || embedding.table >= static_cast<int32_t>(m_.tables.size()))
    Fail("embedding '" + name + "' reads table " + std::to_string(embedding.table) +
         ", which does not exist");
  const int width = m_.tables[static_cast<size_t>(embedding.table)].dim;
  m_.embeddings.push_back(std::move(embedding));
  return AddNode(Op::kEmbedding, name, {ids}, width, static_cast<int32_t>(m_.embeddings.size() - 1));
}

int32_t GraphBuilder::Concat(const std::vector<int32_t>& parts, const std::string& name) {
  if (parts.empty()) Fail("concat '" + name + "' joins nothing");
  int width = 0;
  for (int32_t t : parts) {
    CheckTensor(t, "concat '" + name + "'");
    width += m_.graph.tensors[t].width;
  }
  return AddNode(Op::kConcat, name, parts, width, m_.concats++);
}

int32_t GraphBuilder::Dense(int32_t input, FloatDense layer) {
  CheckTensor(input, "dense '" + layer.name + "'");
  const int width = m_.graph.tensors[input].width;
  if (layer.in != width) {
    Fail("dense '" + layer.name + "' reads width " + Width(layer.in) + " but its input '" +
         m_.graph.tensors[input].name + "' is " + Width(width));
  }
  const std::string name = layer.name;
  const int out = layer.out;
  m_.dense.push_back(std::move(layer));
  return AddNode(Op::kDense, name, {input}, out, static_cast<int32_t>(m_.dense.size() - 1));
}

int32_t GraphBuilder::Mlp(int32_t input, std::vector<FloatDense> layers) {
  int32_t cur = input;
  for (FloatDense& layer : layers) cur = Dense(cur, std::move(layer));
  return cur;
}

int32_t GraphBuilder::Activation(int32_t input, FloatActivation activation, const std::string& name) {
  CheckTensor(input, "activation '" + name + "'");
  m_.activations.push_back(std::move(activation));
  return AddNode(Op::kActivation, name, {input}, m_.graph.tensors[input].width,
                 static_cast<int32_t>(m_.activations.size() - 1));
}

int32_t GraphBuilder::Softmax(int32_t logits, const std::string& name) {
  CheckTensor(logits, "softmax '" + name + "'");
  return AddNode(Op::kSoftmax, name, {logits}, m_.graph.tensors[logits].width, -1);
}

int32_t GraphBuilder::Mixture(int32_t probs, const std::vector<int32_t>& experts, const std::string& name) {
  if (experts.empty()) Fail("mixture '" + name + "' mixes nothing");
  std::vector<int32_t> inputs;
  if (probs >= 0) inputs.push_back(probs);
  inputs.insert(inputs.end(), experts.begin(), experts.end());
  CheckTensor(experts[0], "mixture '" + name + "'");
  const int32_t out = AddNode(Op::kMixture, name, inputs, m_.graph.tensors[experts[0]].width, -1);
  m_.graph.nodes.back().gated = probs >= 0;
  return out;
}

int32_t GraphBuilder::Sigmoid(int32_t logit, const std::string& name) {
  CheckTensor(logit, "sigmoid '" + name + "'");
  return AddNode(Op::kSigmoid, name, {logit}, m_.graph.tensors[logit].width, -1);
}

int32_t GraphBuilder::Product(const std::vector<int32_t>& factors, const std::string& name) {
  if (factors.empty()) Fail("product '" + name + "' multiplies nothing");
  CheckTensor(factors[0], "product '" + name + "'");
  return AddNode(Op::kProduct, name, factors, m_.graph.tensors[factors[0]].width, -1);
}

void GraphBuilder::Output(const std::string& name, int32_t tensor) {
  CheckTensor(tensor, "task '" + name + "'");
  m_.graph.outputs.push_back(graph::Output{name, tensor});
}

FloatModel GraphBuilder::Finish() {
  Validate(m_);
  return std::move(m_);
}

}  // namespace mmoe::converter
