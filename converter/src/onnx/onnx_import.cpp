// The ONNX importer: walks the graph's nodes in order, giving each value a meaning in terms of
// the model graph being built (docs/onnx.md). Shapes come from evaluating every node on two
// probe batches (7 and 11 items of zeros): a value equal in both is a constant (shape
// arithmetic folds away), one whose first axis follows the batch is a per-item value. What a
// node means is decided from what its inputs mean:
//   float graph input, its Slice      -> columns of that input (a dense feature, or ids once cast)
//   Cast to integers of columns/input -> ids
//   Gather(table, ids)                -> rows (one id: an embedding; several: a bag to pool)
//   Not(Equal(ids, p)) and reshapes   -> the bag's mask (padding id p)
//   ReduceSum of the mask             -> the bag's count
//   Mul(rows, mask), ReduceSum/MatMul -> sum pooling; Div by the count -> mean pooling
//   Gemm / MatMul by a constant       -> a dense layer, taking in BatchNormalization, a bias
//                                        Add and a Relu that follow
//   Concat, Flatten, Unsqueeze        -> features side by side, or stacked experts
//   Softmax; (Unsqueeze(p) * stack).sum(1) or Unsqueeze(p) @ stack -> gate, mixture
//   Sigmoid of one column, Mul of two -> task score, ESMM product
#include "mmoe/converter/onnx_import.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "mmoe/converter/io.h"
#include "onnx/onnx_graph.h"

namespace mmoe::converter {
namespace {

using onnx::Array;
using onnx::Node;

constexpr int64_t kProbe[2] = {7, 11};  // probe batch sizes

enum class Kind {
  kConst,     // c
  kShape,     // batch-dependent integers (shape arithmetic): only shapes read them
  kColumns,   // float columns [begin, end) of graph input `source`
  kIds,       // integer ids: `ids`
  kRows,      // Gather(table, ids): [N, (L,) dim]
  kPadEq,     // ids == pad
  kMask,      // ids != pad, the bag's ids on axis `l_axis`, constant along later axes
  kCount,     // the number of ids != pad per item (+ eps)
  kMasked,    // rows * mask
  kPooled,    // rows pooled over the bag (`pooling`)
  kFeat,      // model tensors `parts` side by side
  kStack,     // `items` (each parts side by side) stacked on axis `stack_axis`
  kWeighted,  // probability `probs` times `items` (stacked on `stack_axis`)
  kLinear,    // a dense layer not yet added (BatchNorm, bias and Relu may still fold in)
  kFunc,      // fn(x) elementwise, x the model tensor fn_src (named when read: relu, gelu, ...)
};

using Fn = std::shared_ptr<const std::function<double(double)>>;

struct IdsRef {
  std::string key;     // identifies the ids: graph input name, or "X[4:9]"
  std::string source;  // the graph input
  bool from_floats = false;
  int64_t begin = 0, count = 1;  // columns of `source` (from_floats)
  bool operator==(const IdsRef& o) const { return key == o.key; }
};

struct Value {
  Kind kind = Kind::kConst;
  Array probe[2];              // the value on the probe batches (for kConst both are the constant)
  std::vector<int64_t> shape;  // -1 at axis 0 for per-item values
  // kColumns
  std::string source;
  int64_t begin = 0, end = 0;
  // kIds .. kPooled
  IdsRef ids;
  std::string table;
  bool has_pad = false;
  double pad = 0;
  int64_t l_axis = 1;
  graph::Pooling pooling = graph::Pooling::kSum;
  // kFeat
  std::vector<int32_t> parts;
  // kStack, kWeighted
  std::vector<std::vector<int32_t>> items;
  int64_t stack_axis = 1;
  int32_t probs = -1;
  std::string onnx_value;  // the ONNX value this is (set once mapped)
  // kFunc
  int32_t fn_src = -1;
  Fn fn;
  std::string fn_module;  // the module path of the chain's last node, if it has one
  // kLinear
  int32_t input = -1;
  FloatDense dense;

  const Array& c() const { return probe[0]; }
  int64_t per_item() const {  // elements per item
    int64_t n = 1;
    for (size_t i = 1; i < shape.size(); ++i) n *= shape[i];
    return n;
  }
};

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kConst:
      return "a constant";
    case Kind::kShape:
      return "a shape";
    case Kind::kColumns:
      return "input columns";
    case Kind::kIds:
      return "ids";
    case Kind::kRows:
      return "embedding rows";
    case Kind::kPadEq:
      return "a padding test";
    case Kind::kMask:
      return "a padding mask";
    case Kind::kCount:
      return "a bag's count";
    case Kind::kMasked:
      return "masked embedding rows";
    case Kind::kPooled:
      return "pooled embedding rows";
    case Kind::kFeat:
      return "features";
    case Kind::kStack:
      return "stacked experts";
    case Kind::kWeighted:
      return "gate-weighted experts";
    case Kind::kLinear:
      return "a dense layer";
    case Kind::kFunc:
      return "an elementwise function";
  }
  return "?";
}

bool ArraysEqual(const Array& a, const Array& b) { return a.shape == b.shape && a.v == b.v; }

// The short name of a table initializer: "embedding_dict.country.weight" -> "country".
std::string FeatureName(std::string name) {
  for (const char* prefix :
       {"embedding_dict.", "embedding.embed_dict.", "embed_dict.", "embeddings.", "embedding."}) {
    if (name.rfind(prefix, 0) == 0) {
      name = name.substr(std::string(prefix).size());
      break;
    }
  }
  const std::string suffix = ".weight";
  if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
    name.resize(name.size() - suffix.size());
  return name;
}

// The module path of a node torch.onnx.export named: "/expert_dnn.0/linears.0/Gemm" ->
// "expert_dnn.0.linears.0"; `fallback` for a node outside any module ("/ReduceSum") or unnamed.
std::string NodeStem(const Node& n, const std::string& fallback) {
  std::string s = n.name;
  while (!s.empty() && s[0] == '/') s.erase(0, 1);
  const size_t slash = s.rfind('/');
  if (slash == std::string::npos || slash == 0) return fallback;
  s.resize(slash);
  for (char& ch : s) {
    if (ch == '/' || ch == ':') ch = '.';
  }
  return s;
}

// Which activation an elementwise chain computes (GELU exports as Div, Erf, Add, Mul, Mul; SiLU
// as Sigmoid and Mul; ...): compared with each function the model file has on 801 points of
// [-10, 10] and a few far out, to 1e-6 relative, parameters (a slope, alpha, bounds) read off the
// chain first. False when none matches.
bool IdentifyFunction(const std::function<double(double)>& fn, FloatActivation* out) {
  std::vector<double> xs;
  for (int i = -400; i <= 400; ++i) xs.push_back(i / 40.0);
  for (double x : {-1e3, -50.0, -25.0, 25.0, 50.0, 1e3}) xs.push_back(x);
  const auto matches = [&](const FloatActivation& a) {
    for (double x : xs) {
      const double want = a.Apply(x, 0), got = fn(x);
      if (!(std::fabs(got - want) <= 1e-6 * (1.0 + std::fabs(want)))) return false;
    }
    return true;
  };
  std::vector<FloatActivation> candidates;
  for (Function f : {Function::kRelu, Function::kSigmoid, Function::kTanh, Function::kGelu,
                     Function::kGeluTanh, Function::kSilu, Function::kSelu, Function::kRelu6,
                     Function::kHardsigmoid, Function::kHardswish, Function::kMish}) {
    FloatActivation a;
    a.function = f;
    candidates.push_back(a);
  }
  const auto with = [](Function f, std::vector<double> params) {
    FloatActivation a;
    a.function = f;
    for (double p : params) a.params.push_back(static_cast<float>(p));
    return a;
  };
  candidates.push_back(with(Function::kSoftplus, {1.0, 20.0}));
  candidates.push_back(with(Function::kLeakyRelu, {-fn(-1.0)}));
  candidates.push_back(with(Function::kElu, {-fn(-50.0)}));
  candidates.push_back(with(Function::kHardtanh, {fn(-1e3), fn(1e3)}));
  for (const FloatActivation& a : candidates) {
    bool finite = true;
    for (float p : a.params) finite = finite && std::isfinite(p);
    if (finite && matches(a)) {
      *out = a;
      return true;
    }
  }
  return false;
}

// The math of an elementwise ONNX operator on x and a scalar constant k (`k_first` when the
// constant is the first operand); false for an operator it does not know.
bool ScalarOp(const std::string& op, bool k_first, std::function<double(double, double)>* f) {
  std::function<double(double, double)> g;
  if (op == "Add")
    g = [](double a, double b) { return a + b; };
  else if (op == "Sub")
    g = [](double a, double b) { return a - b; };
  else if (op == "Mul")
    g = [](double a, double b) { return a * b; };
  else if (op == "Div")
    g = [](double a, double b) { return a / b; };
  else if (op == "Pow")
    g = [](double a, double b) { return std::pow(a, b); };
  else if (op == "Max")
    g = [](double a, double b) { return std::max(a, b); };
  else if (op == "Min")
    g = [](double a, double b) { return std::min(a, b); };
  else
    return false;
  *f = k_first ? std::function<double(double, double)>([g](double x, double k) { return g(k, x); }) : g;
  return true;
}

// The math of a unary elementwise ONNX operator (with its attributes); false if unknown.
bool UnaryOp(const Node& n, std::function<double(double)>* f) {
  const std::string& op = n.op;
  if (op == "Relu")
    *f = [](double x) { return x > 0 ? x : 0.0; };
  else if (op == "Sigmoid")
    *f = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
  else if (op == "Tanh")
    *f = [](double x) { return std::tanh(x); };
  else if (op == "Erf")
    *f = [](double x) { return std::erf(x); };
  else if (op == "Exp")
    *f = [](double x) { return std::exp(x); };
  else if (op == "Log")
    *f = [](double x) { return std::log(x); };
  else if (op == "Neg")
    *f = [](double x) { return -x; };
  else if (op == "Abs")
    *f = [](double x) { return std::fabs(x); };
  else if (op == "Sqrt")
    *f = [](double x) { return std::sqrt(x); };
  else if (op == "Reciprocal")
    *f = [](double x) { return 1.0 / x; };
  else if (op == "Softplus")
    *f = [](double x) { return x > 30 ? x : std::log1p(std::exp(x)); };
  else if (op == "LeakyRelu") {
    const double a = n.Float("alpha", 0.01);
    *f = [a](double x) { return x >= 0 ? x : a * x; };
  } else if (op == "Elu") {
    const double a = n.Float("alpha", 1.0);
    *f = [a](double x) { return x > 0 ? x : a * std::expm1(x); };
  } else if (op == "Selu") {
    const double a = n.Float("alpha", 1.67326319217681884765625),
                 g = n.Float("gamma", 1.05070102214813232421875);
    *f = [a, g](double x) { return g * (x > 0 ? x : a * std::expm1(x)); };
  } else if (op == "HardSigmoid") {
    const double a = n.Float("alpha", 0.2), b = n.Float("beta", 0.5);
    *f = [a, b](double x) { return std::clamp(a * x + b, 0.0, 1.0); };
  } else if (op == "HardSwish") {
    *f = [](double x) { return x * std::clamp(x / 6.0 + 0.5, 0.0, 1.0); };
  } else {
    return false;
  }
  return true;
}

class Importer {
 public:
  Importer(const onnx::Graph& g, const OnnxImportOptions& options, const std::string& label)
      : g_(g),
        options_(options),
        label_(label),
        b_(options.model_name.empty() ? "onnx" : options.model_name) {}

  OnnxImport Run();

 private:
  [[noreturn]] void Fail(const Node& n, const std::string& what) const {
    throw ConvertError(label_ + ": " + n.Label() + ": " + what);
  }
  const Value& Get(const Node& n, size_t i) const {
    if (i >= n.inputs.size() || n.inputs[i].empty()) Fail(n, "input " + std::to_string(i) + " is missing");
    const auto it = values_.find(n.inputs[i]);
    if (it == values_.end()) Fail(n, "reads '" + n.inputs[i] + "', which no earlier node computes");
    return it->second;
  }
  bool Has(const Node& n, size_t i) const { return i < n.inputs.size() && !n.inputs[i].empty(); }
  std::string Unique(const std::string& base) {
    std::string name = base;
    for (int k = 2; used_names_.count(name) || b_.Find(name) >= 0; ++k) name = base + "_" + std::to_string(k);
    used_names_.insert(name);
    return name;
  }

  void Probe(const Node& n, std::vector<Value>* outs);
  void Map(const Node& n, std::vector<Value>* outs);
  void MapMask(const Node& n, Value* out);
  bool MapFunction(const Node& n, Value* out);
  // v as fn(x) of one model tensor x: a kFunc, or features of one tensor (the identity).
  bool AsFunction(const Node& n, const Value& v, int32_t* src, Fn* fn);
  void MapFeatureShape(const Node& n, Value* out);

  // Turning meanings into model tensors.
  int32_t Tensor(const Node& n, const Value& v);  // a feature of one tensor
  std::vector<int32_t> Parts(const Node& n, const Value& v);
  int32_t Embedding(const Node& n, const Value& rows_or_pooled);
  int32_t DenseInput(const Node& n, const Value& columns);
  int32_t Table(const std::string& initializer);
  void Remember(int32_t tensor, const std::string& onnx_value) {
    sources_.emplace(b_.model().graph.tensors[static_cast<size_t>(tensor)].name, onnx_value);
  }
  // `meaning` with the node's own shape and probes: what a shape-only operator, or a fold into
  // what its input already means, leaves.
  static Value Relabel(Value meaning, const Value& out) {
    meaning.probe[0] = out.probe[0];
    meaning.probe[1] = out.probe[1];
    meaning.shape = out.shape;
    return meaning;
  }
  Value FeatOf(const Value& like, std::vector<int32_t> parts) const {
    Value v;
    v.kind = Kind::kFeat;
    v.probe[0] = like.probe[0];
    v.probe[1] = like.probe[1];
    v.shape = like.shape;
    v.parts = std::move(parts);
    return v;
  }

  const onnx::Graph& g_;
  const OnnxImportOptions& options_;
  std::string label_;
  GraphBuilder b_;
  std::map<std::string, Value> values_;
  std::map<std::string, std::string> sources_;
  std::set<std::string> used_names_;
  std::map<std::string, int32_t> tables_;            // initializer -> table
  std::map<std::vector<int32_t>, int32_t> concats_;  // parts -> concat tensor
  std::map<std::string, int32_t> lookups_;           // ids key + table + pooling -> embedding tensor
  std::map<std::string, int32_t> linears_;           // ONNX value -> dense layer output
  std::map<std::string, int32_t> functions_;         // ONNX value -> activation output
  std::map<std::pair<std::string, int64_t>, int32_t> dense_inputs_;  // (input, begin) -> tensor
  struct Placed {
    std::string source;
    int64_t begin = 0, count = 0;
    bool whole = false;  // a graph input taken as it is
  };
  std::map<int32_t, Placed> placed_;  // model input tensor -> where it comes from
};

int32_t Importer::Table(const std::string& initializer) {
  const auto it = tables_.find(initializer);
  if (it != tables_.end()) return it->second;
  const Array& a = g_.initializers.at(initializer);
  FloatTable t;
  t.name = initializer;
  t.rows = a.dim(0);
  t.dim = static_cast<int>(a.dim(1));
  t.values.assign(a.v.begin(), a.v.end());
  const int32_t index = b_.Table(std::move(t));
  tables_[initializer] = index;
  return index;
}

int32_t Importer::DenseInput(const Node& n, const Value& v) {
  const auto key = std::make_pair(v.source, v.begin);
  const auto it = dense_inputs_.find(key);
  if (it != dense_inputs_.end()) {
    if (b_.model().graph.tensors[static_cast<size_t>(it->second)].width != v.end - v.begin)
      Fail(n, "reads columns of '" + v.source + "' that overlap another dense feature's");
    return it->second;
  }
  const onnx::ValueInfo* info = nullptr;
  for (const onnx::ValueInfo& i : g_.inputs) {
    if (i.name == v.source) info = &i;
  }
  const int64_t total = info && info->shape.size() >= 2 ? info->shape[1] : 1;
  const bool whole = v.begin == 0 && v.end == total;
  std::string name = whole ? v.source
                           : v.source + "[" + std::to_string(v.begin) +
                                 (v.end - v.begin > 1 ? ":" + std::to_string(v.end) : "") + "]";
  const int32_t t = b_.Input(Unique(name), static_cast<int>(v.end - v.begin));
  placed_[t] = Placed{v.source, v.begin, v.end - v.begin, whole};
  dense_inputs_[key] = t;
  return t;
}

int32_t Importer::Embedding(const Node& n, const Value& v) {
  const bool bag = v.kind == Kind::kPooled;
  const std::string key =
      v.ids.key + "|" + v.table + "|" + (bag ? std::to_string(static_cast<int>(v.pooling)) : "");
  const auto it = lookups_.find(key);
  if (it != lookups_.end()) return it->second;
  if (!bag && v.ids.count != 1)
    Fail(n,
         "embedding rows of " + std::to_string(v.ids.count) + " ids per item are used without pooling them");
  std::string name = v.ids.from_floats ? FeatureName(v.table) : v.ids.source;
  const int32_t ids = b_.IdsInput(Unique(name), bag ? graph::InputKind::kBag : graph::InputKind::kIds);
  placed_[ids] = Placed{v.ids.source, v.ids.begin, v.ids.count, !v.ids.from_floats};
  FloatEmbedding e;
  e.table = Table(v.table);
  e.pooling = bag ? v.pooling : graph::Pooling::kNone;
  // A negative padding id (torch-rechub's `!= -1` when padding_idx is None) masks nothing.
  e.has_padding_id = bag && v.has_pad && v.pad >= 0;
  e.padding_id = static_cast<int64_t>(v.pad);
  const int32_t t = b_.Embedding(ids, std::move(e), Unique(name + ".emb"));
  Remember(t, v.onnx_value);
  lookups_[key] = t;
  return t;
}

std::vector<int32_t> Importer::Parts(const Node& n, const Value& v) {
  switch (v.kind) {
    case Kind::kFeat:
      return v.parts;
    case Kind::kColumns:
      return {DenseInput(n, v)};
    case Kind::kRows:
    case Kind::kPooled:
      return {Embedding(n, v)};
    case Kind::kLinear: {  // added once, however many nodes read it
      const auto it = linears_.find(v.onnx_value);
      if (it != linears_.end()) return {it->second};
      FloatDense d = v.dense;
      d.name = Unique(d.name);
      const int32_t t = b_.Dense(v.input, std::move(d));
      Remember(t, v.onnx_value);
      linears_[v.onnx_value] = t;
      return {t};
    }
    case Kind::kFunc: {  // the chain, named as the activation it computes
      const auto it = functions_.find(v.onnx_value);
      if (it != functions_.end()) return {it->second};
      FloatActivation f;
      if (!IdentifyFunction(*v.fn, &f)) {
        const auto& fn = *v.fn;
        Fail(n, "reads an elementwise function of '" +
                    b_.model().graph.tensors[static_cast<size_t>(v.fn_src)].name + "' that is none of " +
                    FunctionNames() + " (f(-1) = " + std::to_string(fn(-1.0)) +
                    ", f(1) = " + std::to_string(fn(1.0)) + ")");
      }
      const int32_t t =
          b_.Activation(v.fn_src, f, Unique(v.fn_module.empty() ? FunctionName(f.function) : v.fn_module));
      Remember(t, v.onnx_value);
      functions_[v.onnx_value] = t;
      return {t};
    }
    default:
      Fail(n, std::string("reads ") + KindName(v.kind) + " where it needs features");
  }
}

int32_t Importer::Tensor(const Node& n, const Value& v) {
  std::vector<int32_t> parts = Parts(n, v);
  if (parts.size() == 1) return parts[0];
  const auto it = concats_.find(parts);
  if (it != concats_.end()) return it->second;
  const int32_t t = b_.Concat(parts, Unique(NodeStem(n, "features") + ".input"));
  concats_[parts] = t;
  return t;
}

void Importer::Probe(const Node& n, std::vector<Value>* outs) {
  std::vector<const Array*> in[2];
  bool all_const = true;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    if (n.inputs[i].empty()) {
      in[0].push_back(nullptr);
      in[1].push_back(nullptr);
      continue;
    }
    const Value& v = Get(n, i);
    if (v.kind != Kind::kConst) all_const = false;
    in[0].push_back(&v.probe[0]);
    in[1].push_back(&v.probe[1]);
  }
  // (The evaluator's errors name the node; ImportOnnxBytes adds the file.)
  const std::vector<Array> r0 = onnx::Evaluate(n, in[0], g_.opset);
  const std::vector<Array> r1 = all_const ? r0 : onnx::Evaluate(n, in[1], g_.opset);
  if (r0.size() < n.outputs.size()) Fail(n, "computes fewer outputs than it names");
  outs->resize(n.outputs.size());
  for (size_t o = 0; o < n.outputs.size(); ++o) {
    Value& v = (*outs)[o];
    v.probe[0] = r0[o];
    v.probe[1] = r1[o];
    if (all_const || ArraysEqual(r0[o], r1[o])) {
      v.kind = Kind::kConst;
      v.shape = r0[o].shape;
      continue;
    }
    const std::vector<int64_t>& s0 = r0[o].shape;
    const std::vector<int64_t>& s1 = r1[o].shape;
    const bool per_item = !s0.empty() && s0.size() == s1.size() && s0[0] == kProbe[0] && s1[0] == kProbe[1] &&
                          std::equal(s0.begin() + 1, s0.end(), s1.begin() + 1);
    v.kind = per_item ? Kind::kFeat : Kind::kShape;  // kFeat: a placeholder Map() replaces
    v.shape = s0;
    if (per_item) v.shape[0] = -1;
  }
}

// Unsqueeze, Squeeze, Reshape, Flatten, Expand, single Split and Concat, Cast: on a mask, the
// bag's axis found again in the new shape ([N, 1.., L, any..]).
void Importer::MapMask(const Node& n, Value* out) {
  const Value& x = Get(n, 0);
  if (x.l_axis < 1 || static_cast<size_t>(x.l_axis) >= x.shape.size())
    Fail(n, "reshapes a mask without its bag axis");
  const int64_t L = x.shape[static_cast<size_t>(x.l_axis)];
  int64_t before = 1;
  for (size_t k = 1; k < out->shape.size(); ++k) {
    if (before == 1 && out->shape[k] == L) {
      *out = Relabel(x, *out);
      out->l_axis = static_cast<int64_t>(k);
      return;
    }
    before *= out->shape[k];
  }
  Fail(n, "moves a padding mask's bag axis (shape " + onnx::ShapeText(x.shape) + " to " +
              onnx::ShapeText(out->shape) + ")");
}

// Shape-only ops on features: the same tensors, other unit axes. A stack flattened into one
// row puts its items side by side.
void Importer::MapFeatureShape(const Node& n, Value* out) {
  const Value& x = Get(n, 0);
  if (x.kind == Kind::kStack) {
    // [N, k, w] -> [N, k * w] (unit axes anywhere): the items side by side.
    int64_t non_unit = 0;
    for (size_t k = 1; k < out->shape.size(); ++k) non_unit += out->shape[k] != 1;
    if (non_unit > 1 || x.stack_axis != 1)
      Fail(n, "reshapes stacked experts into " + onnx::ShapeText(out->shape));
    std::vector<int32_t> parts;
    for (const std::vector<int32_t>& item : x.items) parts.insert(parts.end(), item.begin(), item.end());
    *out = FeatOf(*out, parts);
    return;
  }
  if (x.kind == Kind::kRows && x.ids.count > 1) Fail(n, "reshapes the rows of a bag before pooling them");
  *out = Relabel(x, *out);
}

bool Importer::AsFunction(const Node& n, const Value& v, int32_t* src, Fn* fn) {
  if (v.kind == Kind::kFunc) {
    *src = v.fn_src;
    *fn = v.fn;
    return true;
  }
  if (v.kind != Kind::kFeat && v.kind != Kind::kLinear) return false;
  const std::vector<int32_t> parts = Parts(n, v);
  if (parts.size() != 1) return false;
  *src = parts[0];
  *fn = std::make_shared<const std::function<double(double)>>([](double x) { return x; });
  return true;
}

// Elementwise operators on a function of one tensor, with scalar constants or another function
// of the same tensor: the composed function (what it computes is decided when it is read).
bool Importer::MapFunction(const Node& n, Value* out) {
  int32_t src = -1;
  Fn fx;
  std::function<double(double)> unary;
  if (n.op == "Clip") {
    double lo = n.Float("min", -HUGE_VAL), hi = n.Float("max", HUGE_VAL);
    for (size_t i = 1; i <= 2; ++i) {
      if (!Has(n, i)) continue;
      const Value& b = Get(n, i);
      if (b.kind != Kind::kConst || b.c().size() != 1) return false;
      (i == 1 ? lo : hi) = b.c().v[0];
    }
    unary = [lo, hi](double x) { return std::clamp(x, lo, hi); };
  } else if (n.inputs.size() == 1 && !UnaryOp(n, &unary)) {
    return false;
  }
  Value v = *out;
  v.kind = Kind::kFunc;
  if (unary) {
    if (!AsFunction(n, Get(n, 0), &src, &fx)) return false;
    v.fn = std::make_shared<const std::function<double(double)>>(
        [unary, fx](double x) { return unary((*fx)(x)); });
  } else {
    if (n.inputs.size() != 2) return false;
    const Value &a = Get(n, 0), &b = Get(n, 1);
    std::function<double(double, double)> op;
    const bool a_const = a.kind == Kind::kConst, b_const = b.kind == Kind::kConst;
    if (a_const != b_const) {  // x op k, or k op x
      const Value& k = a_const ? a : b;
      if (k.c().size() != 1 || !ScalarOp(n.op, a_const, &op)) return false;
      if (!AsFunction(n, a_const ? b : a, &src, &fx)) return false;
      const double c = k.c().v[0];
      v.fn = std::make_shared<const std::function<double(double)>>(
          [op, fx, c](double x) { return op((*fx)(x), c); });
    } else if (!a_const) {  // f(x) op g(x)
      int32_t src_b = -1;
      Fn fy;
      if (!ScalarOp(n.op, false, &op) || a.per_item() != b.per_item()) return false;
      if (!AsFunction(n, a, &src, &fx) || !AsFunction(n, b, &src_b, &fy) || src != src_b) return false;
      v.fn = std::make_shared<const std::function<double(double)>>(
          [op, fx, fy](double x) { return op((*fx)(x), (*fy)(x)); });
    } else {
      return false;
    }
  }
  v.fn_src = src;
  v.fn_module = NodeStem(n, "");
  *out = v;
  return true;
}

void Importer::Map(const Node& n, std::vector<Value>* outs) {
  Value& out = (*outs)[0];
  const std::string& op = n.op;
  const auto is_const = [&](size_t i) { return Has(n, i) && Get(n, i).kind == Kind::kConst; };
  const auto scalar_of = [&](size_t i, double* v) {
    if (!is_const(i) || Get(n, i).c().size() != 1) return false;
    *v = Get(n, i).c().v[0];
    return true;
  };
  const Value& x = Get(n, 0);
  if (x.kind == Kind::kShape ||
      (Has(n, 1) && Get(n, 1).kind == Kind::kShape && op != "Reshape" && op != "Expand")) {
    Fail(n, "computes with the batch size (only shapes may depend on it)");
  }

  if (op == "Identity" || op == "Dropout") {
    out = x;
    return;
  }
  if (op == "Cast") {
    const int32_t to = static_cast<int32_t>(n.Int("to", onnx::kFloat));
    const bool to_int = onnx::IsInteger(to) && to != onnx::kBool;
    if (x.kind == Kind::kColumns && to_int) {
      out.kind = Kind::kIds;
      out.ids = IdsRef{x.source + "[" + std::to_string(x.begin) + ":" + std::to_string(x.end) + "]", x.source,
                       true, x.begin, x.end - x.begin};
      return;
    }
    if (x.kind == Kind::kIds && !to_int) Fail(n, "casts ids to " + std::string(onnx::ElemTypeName(to)));
    if (x.kind == Kind::kColumns && !to_int) {
      out = Relabel(x, out);
      return;
    }
    MapFeatureShape(n, &out);
    return;
  }
  if (op == "Slice") {
    if (x.kind != Kind::kColumns)
      Fail(n, std::string("slices ") + KindName(x.kind) + "; only a graph input's columns are sliced");
    if (!is_const(1) || !is_const(2)) Fail(n, "slices at positions that are not constants");
    // The columns kept: the constant bounds, clamped to the columns x holds.
    std::vector<int64_t> axes = {0};
    if (Has(n, 3)) {
      axes.clear();
      for (double a : Get(n, 3).c().v) axes.push_back(onnx::IntOf(n, a));
    }
    if (axes.size() != 1 || (axes[0] != 1 && axes[0] != -1) || x.shape.size() != 2)
      Fail(n, "slices other than a column range of an [N, C] input");
    if (Has(n, 4) && (Get(n, 4).c().v.size() != 1 || Get(n, 4).c().v[0] != 1)) Fail(n, "slices with a step");
    const int64_t c = x.end - x.begin;
    if (Get(n, 1).c().v.empty() || Get(n, 2).c().v.empty()) Fail(n, "slices with no start or end");
    int64_t s = onnx::IntOf(n, Get(n, 1).c().v[0]), e = onnx::IntOf(n, Get(n, 2).c().v[0]);
    if (s < 0) s += c;
    if (e < 0) e += c;
    s = std::clamp<int64_t>(s, 0, c);
    e = std::clamp<int64_t>(e, 0, c);
    out = Relabel(x, out);
    out.end = x.begin + e;
    out.begin = x.begin + s;
    return;
  }
  if (op == "Gather") {
    if (Has(n, 1) && Get(n, 1).kind == Kind::kIds && is_const(0) && n.Int("axis", 0) == 0) {
      if (x.c().rank() != 2) Fail(n, "looks ids up in a table of shape " + onnx::ShapeText(x.c().shape));
      out.kind = Kind::kRows;
      out.ids = Get(n, 1).ids;
      out.table = n.inputs[0];
      if (!g_.initializers.count(out.table)) Fail(n, "looks ids up in a table that is not an initializer");
      return;
    }
    Fail(n, std::string("gathers from ") + KindName(x.kind) +
                "; only an embedding table (an initializer) is gathered from, by ids");
  }
  if (op == "Equal" || op == "Not") {
    double p = 0;
    if (op == "Equal" && x.kind == Kind::kIds && scalar_of(1, &p)) {
      onnx::IntOf(n, p);  // a padding id is an integer
      out.kind = Kind::kPadEq;
      out.ids = x.ids;
      out.has_pad = true;
      out.pad = p;
      return;
    }
    if (op == "Not" && x.kind == Kind::kPadEq) {
      if (x.shape.size() != 2)
        Fail(n, "masks ids of shape " + onnx::ShapeText(x.shape) + "; a bag's ids are [N, L]");
      out.kind = Kind::kMask;
      out.ids = x.ids;
      out.has_pad = true;
      out.pad = x.pad;
      out.l_axis = 1;
      return;
    }
    Fail(n, std::string("compares ") + KindName(x.kind) +
                "; the importer follows ids == padding id and its negation");
  }
  const bool shape_op = op == "Unsqueeze" || op == "Squeeze" || op == "Reshape" || op == "Flatten" ||
                        op == "Expand" || (op == "Split" && n.outputs.size() == 1) ||
                        (op == "Concat" && n.inputs.size() == 1);
  if (shape_op && x.kind == Kind::kMask) {
    MapMask(n, &out);
    return;
  }
  if (shape_op && x.kind == Kind::kCount) {
    out = Relabel(x, out);
    return;
  }
  if (shape_op && op != "Expand" && op != "Split" &&
      (x.kind == Kind::kFeat || x.kind == Kind::kRows || x.kind == Kind::kPooled ||
       x.kind == Kind::kColumns || x.kind == Kind::kStack || x.kind == Kind::kLinear ||
       x.kind == Kind::kFunc)) {
    if (x.kind == Kind::kLinear || x.kind == Kind::kFunc) {  // the layer's output, now with other unit axes
      out = FeatOf(out, Parts(n, x));
      return;
    }
    if (x.kind == Kind::kStack || x.per_item() == out.per_item()) {
      MapFeatureShape(n, &out);
      return;
    }
  }
  if (op == "ReduceSum" || op == "ReduceMean") {
    std::vector<int64_t> axes;
    if (Has(n, 1) && is_const(1)) {
      for (double a : Get(n, 1).c().v) axes.push_back(onnx::IntOf(n, a));
    } else if (const onnx::Attribute* a = n.Find("axes")) {
      axes = a->ints;
    }
    for (int64_t& a : axes) a = a < 0 ? a + static_cast<int64_t>(x.shape.size()) : a;
    const bool mean = op == "ReduceMean";
    if (x.kind == Kind::kMask && !mean && axes == std::vector<int64_t>{x.l_axis}) {
      for (size_t k = static_cast<size_t>(x.l_axis) + 1; k < x.shape.size(); ++k) {
        if (x.shape[k] != 1) Fail(n, "counts a mask expanded along its rows");
      }
      out.kind = Kind::kCount;
      out.ids = x.ids;
      out.has_pad = x.has_pad;
      out.pad = x.pad;
      return;
    }
    if ((x.kind == Kind::kRows || x.kind == Kind::kMasked) && axes == std::vector<int64_t>{1} &&
        x.ids.count >= 1 && x.shape.size() == 3) {
      if (mean && x.kind == Kind::kMasked) Fail(n, "averages masked rows over the padding too");
      out.kind = Kind::kPooled;
      out.ids = x.ids;
      out.table = x.table;
      out.has_pad = x.kind == Kind::kMasked && x.has_pad;
      out.pad = x.pad;
      out.pooling = mean ? graph::Pooling::kMean : graph::Pooling::kSum;
      return;
    }
    if (x.kind == Kind::kWeighted && !mean && axes == std::vector<int64_t>{x.stack_axis}) {
      std::vector<int32_t> experts;
      for (const std::vector<int32_t>& item : x.items) {
        if (item.size() != 1) Fail(n, "mixes experts that are not single tensors");
        experts.push_back(item[0]);
      }
      const int32_t t = b_.Mixture(x.probs, experts, Unique(NodeStem(n, "mixture")));
      Remember(t, n.outputs[0]);
      out = FeatOf(out, {t});
      return;
    }
    Fail(n, std::string(op) + " of " + KindName(x.kind) + " over axes that the importer does not map");
  }
  if (op == "MatMul" || op == "Gemm") {
    const Value& y = Get(n, 1);
    if (op == "MatMul" && x.kind == Kind::kMask && y.kind == Kind::kRows && x.ids == y.ids &&
        x.shape.size() == 3 && x.l_axis == 2 && x.shape[1] == 1) {
      out.kind = Kind::kPooled;
      out.ids = y.ids;
      out.table = y.table;
      out.has_pad = x.has_pad;
      out.pad = x.pad;
      out.pooling = graph::Pooling::kSum;
      return;
    }
    if (op == "MatMul" && y.kind == Kind::kStack && (x.kind == Kind::kFeat || x.kind == Kind::kLinear) &&
        x.shape.size() == 3 && x.shape[1] == 1 && y.stack_axis == 1) {
      const int32_t p = Tensor(n, x);
      std::vector<int32_t> experts;
      for (const std::vector<int32_t>& item : y.items) {
        if (item.size() != 1) Fail(n, "mixes experts that are not single tensors");
        experts.push_back(item[0]);
      }
      const int32_t t = b_.Mixture(p, experts, Unique(NodeStem(n, "mixture")));
      Remember(t, n.outputs[0]);
      out = FeatOf(out, {t});
      return;
    }
    if (!is_const(1))
      Fail(n, std::string(op) + " of " + KindName(x.kind) + " by " + KindName(y.kind) +
                  " (not a dense layer, pooling or mixture the importer knows)");
    if (x.per_item() != (x.shape.empty() ? 0 : x.shape.back()) || y.c().rank() != 2)
      Fail(n, std::string(op) + " of " + onnx::ShapeText(x.shape) + " by " + onnx::ShapeText(y.c().shape) +
                  " is not a dense layer on [N, features]");
    Array w = y.c();
    bool trans_b = op == "Gemm" && n.Int("transB", 0) != 0;
    if (op == "Gemm" && n.Int("transA", 0) != 0) Fail(n, "Gemm with transA");
    const double alpha = op == "Gemm" ? n.Float("alpha", 1.0) : 1.0,
                 beta = op == "Gemm" ? n.Float("beta", 1.0) : 1.0;
    const int64_t in = trans_b ? w.dim(1) : w.dim(0), outw = trans_b ? w.dim(0) : w.dim(1);
    out.kind = Kind::kLinear;
    out.input = Tensor(n, x);
    FloatDense& d = out.dense;
    std::string stem = NodeStem(n, "dense");
    const std::string wname = n.inputs[1];
    if (wname.size() > 7 && wname.compare(wname.size() - 7, 7, ".weight") == 0)
      stem = wname.substr(0, wname.size() - 7);
    d.name = stem;
    d.in = static_cast<int>(in);
    d.out = static_cast<int>(outw);
    d.weight.resize(static_cast<size_t>(in * outw));
    for (int64_t o = 0; o < outw; ++o)
      for (int64_t i = 0; i < in; ++i)
        d.weight[static_cast<size_t>(o * in + i)] =
            static_cast<float>(alpha * (trans_b ? w.v[static_cast<size_t>(o * in + i)]
                                                : w.v[static_cast<size_t>(i * outw + o)]));
    d.bias.assign(static_cast<size_t>(outw), 0.0f);
    if (op == "Gemm" && Has(n, 2)) {
      if (!is_const(2)) Fail(n, "Gemm's bias is not a constant");
      const Array& c = Get(n, 2).c();
      if (c.size() != 1 && c.size() != outw) Fail(n, "Gemm's bias is not one value per output");
      for (int64_t o = 0; o < outw; ++o)
        d.bias[static_cast<size_t>(o)] =
            static_cast<float>(beta * c.v[c.size() == 1 ? 0 : static_cast<size_t>(o)]);
    }
    return;
  }
  if (op == "BatchNormalization") {
    if (x.kind != Kind::kLinear || x.dense.activation != Activation::kNone)
      Fail(n, std::string("normalizes ") + KindName(x.kind) +
                  "; BatchNormalization folds into the dense layer before it");
    for (size_t i = 1; i <= 4; ++i) {
      if (!is_const(i)) Fail(n, "BatchNormalization parameters are not constants (training mode?)");
    }
    const Array &scale = Get(n, 1).c(), &bias = Get(n, 2).c(), &mean = Get(n, 3).c(), &var = Get(n, 4).c();
    const double eps = n.Float("epsilon", 1e-5);
    out = x;
    FloatDense& d = out.dense;
    if (scale.size() != d.out)
      Fail(n, "BatchNormalization of " + std::to_string(scale.size()) + " channels after a layer of " +
                  std::to_string(d.out));
    for (int o = 0; o < d.out; ++o) {
      const double k = scale.v[o] / std::sqrt(var.v[o] + eps);
      for (int i = 0; i < d.in; ++i)
        d.weight[static_cast<size_t>(o * d.in + i)] =
            static_cast<float>(d.weight[static_cast<size_t>(o * d.in + i)] * k);
      d.bias[static_cast<size_t>(o)] =
          static_cast<float>((d.bias[static_cast<size_t>(o)] - mean.v[o]) * k + bias.v[o]);
    }
    return;
  }
  if (op == "Relu" && x.kind == Kind::kLinear && x.dense.activation == Activation::kNone) {
    out = x;
    out.dense.activation = Activation::kRelu;
    return;
  }
  if (op == "Add" || op == "Sub") {
    const Value& y = Get(n, 1);
    if (x.kind == Kind::kCount && y.kind == Kind::kConst && op == "Add" && y.c().size() == 1 &&
        std::fabs(y.c().v[0]) <= 1e-6) {
      out = Relabel(x, out);  // an epsilon against empty bags: the runtime gives them zeros
      return;
    }
    const bool linear_first = x.kind == Kind::kLinear && y.kind == Kind::kConst;
    const bool linear_second = op == "Add" && y.kind == Kind::kLinear && x.kind == Kind::kConst;
    if (linear_first || linear_second) {
      const Value& l = linear_first ? x : y;
      const Array& c = (linear_first ? y : x).c();
      if (l.dense.activation != Activation::kNone) Fail(n, "adds to a dense layer after its activation");
      if (c.size() != 1 && c.size() != l.dense.out)
        Fail(n, "adds " + onnx::ShapeText(c.shape) + " to a layer of " + std::to_string(l.dense.out) +
                    " outputs");
      out = l;
      for (int o = 0; o < l.dense.out; ++o) {
        const double v = c.v[c.size() == 1 ? 0 : static_cast<size_t>(o)];
        out.dense.bias[static_cast<size_t>(o)] =
            static_cast<float>(out.dense.bias[static_cast<size_t>(o)] + (op == "Add" ? v : -v));
      }
      return;
    }
    if (MapFunction(n, &out)) return;
    Fail(n, std::string(op) + " of " + KindName(x.kind) + " and " + KindName(y.kind) +
                " (a bias to a dense layer is what the importer folds)");
  }
  if (op == "Mul") {
    const Value& y = Get(n, 1);
    const Value* rows = x.kind == Kind::kRows ? &x : (y.kind == Kind::kRows ? &y : nullptr);
    const Value* mask = x.kind == Kind::kMask ? &x : (y.kind == Kind::kMask ? &y : nullptr);
    if (rows && mask) {
      if (!(rows->ids == mask->ids) || mask->l_axis != 1 || rows->shape.size() != 3)
        Fail(n, "masks embedding rows with another feature's mask");
      out.kind = Kind::kMasked;
      out.ids = rows->ids;
      out.table = rows->table;
      out.has_pad = mask->has_pad;
      out.pad = mask->pad;
      return;
    }
    const Value* stack = x.kind == Kind::kStack ? &x : (y.kind == Kind::kStack ? &y : nullptr);
    const Value* probs = stack == &x ? &y : &x;
    if (stack && (probs->kind == Kind::kFeat || probs->kind == Kind::kLinear)) {
      // [N, E, 1] * [N, E, D]: the gate's probabilities along the stack's axis.
      const size_t a = static_cast<size_t>(stack->stack_axis);
      if (probs->shape.size() != stack->shape.size() ||
          probs->shape[a] != static_cast<int64_t>(stack->items.size()) ||
          probs->per_item() != probs->shape[a])
        Fail(n, "weights stacked experts by a tensor of shape " + onnx::ShapeText(probs->shape));
      out.kind = Kind::kWeighted;
      out.items = stack->items;
      out.stack_axis = stack->stack_axis;
      out.probs = Tensor(n, *probs);
      return;
    }
    if ((x.kind == Kind::kFeat || x.kind == Kind::kLinear) &&
        (y.kind == Kind::kFeat || y.kind == Kind::kLinear) && x.per_item() == 1 && y.per_item() == 1) {
      const int32_t t = b_.Product({Tensor(n, x), Tensor(n, y)}, Unique(NodeStem(n, "product")));
      Remember(t, n.outputs[0]);
      out = FeatOf(out, {t});
      return;
    }
    if (MapFunction(n, &out)) return;
    Fail(n, std::string("Mul of ") + KindName(x.kind) + " and " + KindName(y.kind) +
                " (the importer maps masks, gate weights and ESMM's product)");
  }
  if (op == "Div") {
    const Value& y = Get(n, 1);
    if (x.kind == Kind::kPooled && x.pooling == graph::Pooling::kSum && y.kind == Kind::kCount &&
        x.ids == y.ids && x.has_pad == y.has_pad && x.pad == y.pad) {
      out = Relabel(x, out);
      out.pooling = graph::Pooling::kMean;
      return;
    }
    if (MapFunction(n, &out)) return;
    Fail(n, std::string("Div of ") + KindName(x.kind) + " by " + KindName(y.kind) +
                " (a bag's sum by its count is what the importer maps)");
  }
  if (op == "Concat") {
    // Side by side along the last non-unit axis, or stacked along a unit axis.
    const int64_t rank = static_cast<int64_t>(out.shape.size());
    int64_t axis = n.Int("axis", 0);
    if (axis < 0) axis += rank;
    std::vector<const Value*> xs;
    for (size_t i = 0; i < n.inputs.size(); ++i) xs.push_back(&Get(n, i));
    bool side = true, stack = true;
    for (const Value* v : xs) {
      for (int64_t k = 1; k < rank; ++k) {
        if (k != axis && v->shape[static_cast<size_t>(k)] != 1) side = false;
      }
      if (v->shape[static_cast<size_t>(axis)] != 1 || v->shape != xs[0]->shape) stack = false;
    }
    if (side) {
      std::vector<int32_t> parts;
      for (const Value* v : xs) {
        const std::vector<int32_t> p = Parts(n, *v);
        parts.insert(parts.end(), p.begin(), p.end());
      }
      out = FeatOf(out, parts);
      return;
    }
    if (stack) {
      out.kind = Kind::kStack;
      out.stack_axis = axis;
      for (const Value* v : xs) out.items.push_back(Parts(n, *v));
      return;
    }
    Fail(n, "concatenates tensors of shape " + onnx::ShapeText(xs[0]->shape) + " along axis " +
                std::to_string(axis));
  }
  if (op == "Softmax") {
    const int64_t rank = static_cast<int64_t>(x.shape.size());
    int64_t axis = n.Int("axis", g_.opset >= 13 ? -1 : 1);
    if (axis < 0) axis += rank;
    if (x.per_item() != x.shape[static_cast<size_t>(axis)] && !(g_.opset < 13 && axis == 1))
      Fail(n, "softmax over an axis that is not the features'");
    const int32_t t = b_.Softmax(Tensor(n, x), Unique(NodeStem(n, "gate")));
    Remember(t, n.outputs[0]);
    out = FeatOf(out, {t});
    return;
  }
  const bool features = x.kind == Kind::kFeat || x.kind == Kind::kLinear || x.kind == Kind::kColumns ||
                        x.kind == Kind::kRows || x.kind == Kind::kPooled || x.kind == Kind::kFunc;
  if (op == "Sigmoid" && features && x.per_item() == 1) {  // a task's score
    const int32_t t = b_.Sigmoid(Tensor(n, x), Unique(NodeStem(n, "score")));
    Remember(t, n.outputs[0]);
    out = FeatOf(out, {t});
    return;
  }
  if (op == "PRelu" && features) {  // slopes per channel: not a function of x alone
    FloatActivation f;
    f.function = Function::kPrelu;
    if (!is_const(1)) Fail(n, "PRelu's slopes are not constants");
    for (double slope : Get(n, 1).c().v) f.params.push_back(static_cast<float>(slope));
    const int32_t t = b_.Activation(Tensor(n, x), f, Unique(NodeStem(n, "prelu")));
    Remember(t, n.outputs[0]);
    out = FeatOf(out, {t});
    return;
  }
  if (MapFunction(n, &out)) return;
  Fail(n, "operator " + op + " on " + KindName(x.kind) + " is not one the importer maps");
}

OnnxImport Importer::Run() {
  for (const onnx::ValueInfo& in : g_.inputs) {
    if (in.shape.empty() || in.shape.size() > 2)
      throw ConvertError(label_ + ": input '" + in.name + "' has shape " + onnx::ShapeText(in.shape) +
                         "; inputs are [N] or [N, columns]");
    for (size_t k = 1; k < in.shape.size(); ++k) {
      if (in.shape[k] > (1 << 16))
        throw ConvertError(label_ + ": input '" + in.name + "' has " + std::to_string(in.shape[k]) +
                           " columns; at most 65536");
      if (in.shape[k] < 1)
        throw ConvertError(label_ + ": input '" + in.name + "' has a symbolic dimension " +
                           std::to_string(k) + "; only the first (the batch) may be");
    }
    Value v;
    v.shape = in.shape;
    v.shape[0] = -1;
    for (int p = 0; p < 2; ++p) {
      v.probe[p].type = in.type;
      v.probe[p].shape = in.shape;
      v.probe[p].shape[0] = kProbe[p];
      v.probe[p].v.assign(static_cast<size_t>(onnx::ShapeSize(v.probe[p].shape)), 0.0);
    }
    if (in.type == onnx::kFloat || in.type == onnx::kDouble) {
      v.kind = Kind::kColumns;
      v.source = in.name;
      v.begin = 0;
      v.end = in.shape.size() == 2 ? in.shape[1] : 1;
    } else if (onnx::IsInteger(in.type) && in.type != onnx::kBool) {
      v.kind = Kind::kIds;
      v.ids = IdsRef{in.name, in.name, false, 0, in.shape.size() == 2 ? in.shape[1] : 1};
    } else {
      throw ConvertError(label_ + ": input '" + in.name + "' is " + onnx::ElemTypeName(in.type) +
                         "; inputs are float (features) or integer (ids)");
    }
    values_[in.name] = v;
  }
  for (const Node& n : g_.nodes) {  // before anything else: what the graph computes per bag
    if (n.op == "Loop" || n.op == "If" || n.op == "Scan")
      Fail(n,
           "control flow; nn.EmbeddingBag exports as a Loop over the bags: use nn.Embedding and a sum or "
           "mean over the bag's axis (or mmoe_export.export, which maps nn.EmbeddingBag)");
  }
  for (const auto& [name, a] : g_.initializers) {
    Value v;
    v.probe[0] = v.probe[1] = a;
    v.shape = a.shape;
    values_[name] = v;
  }
  for (const Node& n : g_.nodes) {
    if (!n.domain.empty() && n.domain != "ai.onnx")
      Fail(n, "is in domain '" + n.domain + "'; the importer maps standard ONNX operators");
    std::vector<Value> outs;
    Probe(n, &outs);  // constants (Constant nodes, shape arithmetic) come out folded
    bool all_const = true, per_item = false;
    for (const Value& v : outs) {
      all_const = all_const && v.kind == Kind::kConst;
      per_item = per_item || (v.kind != Kind::kConst && v.kind != Kind::kShape);
    }
    bool reads_items = false;  // an input other than constants and shapes
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (Has(n, i) && Get(n, i).kind != Kind::kConst && Get(n, i).kind != Kind::kShape) reads_items = true;
    }
    if (all_const) {
    } else if (per_item && outs.size() == 1) {
      Map(n, &outs);
    } else if (per_item) {
      Fail(n, "splits a per-item value into several parts");
    } else if (reads_items && n.op != "Shape") {  // only Shape reads items to give shapes
      Fail(n, "computes something per item that the importer does not map");
    }
    for (size_t o = 0; o < n.outputs.size() && o < outs.size(); ++o) {
      outs[o].onnx_value = n.outputs[o];
      if (!n.outputs[o].empty()) values_[n.outputs[o]] = std::move(outs[o]);
    }
  }

  // Outputs: each column of each graph output is a task.
  OnnxImport result;
  std::vector<std::pair<int32_t, std::pair<std::string, int64_t>>> tasks;
  for (const onnx::ValueInfo& o : g_.outputs) {
    const auto it = values_.find(o.name);
    if (it == values_.end()) throw ConvertError(label_ + ": output '" + o.name + "' is computed by no node");
    Node fake;
    fake.name = "output " + o.name;
    fake.op = "Output";
    const Value& v = it->second;
    if (v.kind != Kind::kFeat && v.kind != Kind::kLinear && v.kind != Kind::kFunc)
      throw ConvertError(label_ + ": output '" + o.name + "' is " + KindName(v.kind) + ", not task scores");
    const std::vector<int32_t> parts = Parts(fake, v);
    int64_t column = 0;
    for (int32_t t : parts) {
      const int w = b_.model().graph.tensors[static_cast<size_t>(t)].width;
      if (w != 1)
        throw ConvertError(label_ + ": output '" + o.name + "' holds a tensor of " + std::to_string(w) +
                           " values per item where a task's score (one) is expected");
      tasks.push_back({t, {o.name, column++}});
    }
  }
  if (!options_.task_names.empty() && options_.task_names.size() != tasks.size())
    throw ConvertError(label_ + ": " + std::to_string(options_.task_names.size()) + " task names for " +
                       std::to_string(tasks.size()) + " tasks");
  for (size_t j = 0; j < tasks.size(); ++j) {
    std::string name = "task" + std::to_string(j);
    if (!options_.task_names.empty())
      name = options_.task_names[j];
    else if (g_.outputs.size() == tasks.size() &&
             tasks[j].second.first.find_first_not_of("0123456789") != std::string::npos)
      name = tasks[j].second.first;
    b_.Output(name, tasks[j].first);
    result.task_columns.push_back(tasks[j].second);
  }

  // Inputs: in the graph's order; packed when ids or features come from columns of a float input.
  FloatModel model = b_.Finish();
  bool packed = false;
  std::string packed_source;
  for (const auto& [t, p] : placed_) {
    if (!p.whole) {
      packed = true;
      packed_source = p.source;
    }
  }
  if (packed && g_.inputs.size() != 1)
    throw ConvertError(label_ + ": features are read from columns of '" + packed_source +
                       "' while the graph has other inputs too; the importer packs one input");
  std::vector<graph::Input> inputs = model.graph.inputs;
  std::stable_sort(inputs.begin(), inputs.end(), [&](const graph::Input& a, const graph::Input& b) {
    const Placed& pa = placed_.at(a.tensor);
    const Placed& pb = placed_.at(b.tensor);
    size_t ia = 0, ib = 0;
    for (size_t i = 0; i < g_.inputs.size(); ++i) {
      if (g_.inputs[i].name == pa.source) ia = i;
      if (g_.inputs[i].name == pb.source) ib = i;
    }
    return ia != ib ? ia < ib : pa.begin < pb.begin;
  });
  model.graph.inputs = inputs;
  if (packed) {
    graph::PackedInput p;
    p.name = packed_source;
    p.width = static_cast<int32_t>(g_.inputs[0].shape.size() == 2 ? g_.inputs[0].shape[1] : 1);
    for (const graph::Input& in : model.graph.inputs) {
      const Placed& at = placed_.at(in.tensor);
      p.first.push_back(static_cast<int32_t>(at.begin));
      p.count.push_back(static_cast<int32_t>(at.count));
    }
    model.graph.packed = p;
  }
  Validate(model);
  result.model = std::move(model);
  result.sources = sources_;
  return result;
}

}  // namespace

bool OnnxAvailable() { return onnx::Available(); }

OnnxImport ImportOnnxBytes(const std::string& bytes, const std::string& label,
                           const OnnxImportOptions& options) {
  auto graph = std::make_shared<onnx::Graph>(onnx::ParseModel(bytes, label));
  OnnxImportOptions o = options;
  if (o.model_name.empty()) {
    std::string stem = label.substr(label.find_last_of('/') + 1);
    o.model_name = stem.substr(0, stem.rfind('.'));
  }
  Importer importer(*graph, o, label);
  OnnxImport result;
  try {
    result = importer.Run();
  } catch (const ConvertError& e) {  // the model builder's and Validate's messages, named by file
    const std::string what = e.what();
    if (what.rfind(label, 0) == 0) throw;
    throw ConvertError(label + ": " + what);
  }
  result.graph = graph;
  return result;
}

OnnxImport ImportOnnx(const std::string& path, const OnnxImportOptions& options) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw ConvertError(path + ": cannot open");
  std::stringstream s;
  s << f.rdbuf();
  return ImportOnnxBytes(s.str(), path, options);
}

}  // namespace mmoe::converter
