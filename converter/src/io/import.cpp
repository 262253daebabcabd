// Weights + architecture -> FloatModel.
//
// Both inputs (the architecture JSON, or the seed's key names) are first turned into an
// ArchSpec naming every layer's tensors; one builder then looks the tensors up, checks that the
// shapes chain and assembles the FloatModel. Messages name the weights file and tensor, and the
// JSON field when there is one.
#include <algorithm>
#include <climits>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "mmoe/converter/io.h"

namespace mmoe::converter {
namespace {

using nlohmann::json;

// --------------------------------------------------------------------------------------------
// The intermediate description.

struct LayerSpec {
  std::string weight;  // tensor names
  std::string bias;    // empty: zero bias
  Activation activation = Activation::kNone;
  std::string where;  // "arch.json: experts[0].layers[1]", or empty for the seed layout
};

struct MlpSpec {
  std::string label;  // "expert 0", "gate 1", "task 'ctr' tower"
  std::string where;  // JSON path as for LayerSpec::where
  std::vector<LayerSpec> layers;
};

struct GateSpec {
  MlpSpec mlp;
  std::optional<std::vector<int>> experts;  // nullopt: all experts
};

enum class TaskOutput { kSigmoid, kIdentity };

struct TaskSpec {
  std::string name;
  int gate = -1;
  int expert = -1;
  MlpSpec tower;
  TaskOutput output = TaskOutput::kSigmoid;
};

struct ArchSpec {
  std::string name;   // empty: the weights file's stem
  int input_dim = 0;  // 0: the first expert layer's input width
  std::vector<std::string> feature_names;
  std::vector<MlpSpec> experts;
  std::vector<GateSpec> gates;
  std::vector<TaskSpec> tasks;
};

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? "," : "") + std::to_string(shape[i]);
  return text + "]";
}

// Up to 20 quoted names, so a wrong file does not flood the terminal.
std::string NameList(const std::vector<std::string>& names) {
  constexpr size_t kMaxShown = 20;
  std::string text;
  for (size_t i = 0; i < names.size() && i < kMaxShown; ++i) {
    text += (i ? ", '" : "'") + names[i] + "'";
  }
  if (names.size() > kMaxShown) {
    text += " and " + std::to_string(names.size() - kMaxShown) + " more";
  }
  return text;
}

std::string Stem(const std::string& path) { return std::filesystem::path(path).stem().string(); }

// " [arch.json: experts[0].layers[1]]" when the layer came from the JSON.
std::string WhereSuffix(const std::string& where) { return where.empty() ? "" : " [" + where + "]"; }

// --------------------------------------------------------------------------------------------
// Tensors of the weights file, looked up by name: each lookup marks the tensor used.

class TensorStore {
 public:
  // With `owned` (the same map, the caller's to give up), a table's values are moved out of it
  // rather than copied: a 10-million-row table is then held once.
  TensorStore(const std::map<std::string, Tensor>& tensors, const std::string& weights_label,
              std::map<std::string, Tensor>* owned = nullptr)
      : tensors_(tensors), owned_(owned), label_(weights_label) {}

  // The values of `name` (found with keep_mapped) for a table that keeps them: still in the
  // file when ReadSafetensors left them there, moved or copied otherwise.
  void TakeValues(const std::string& name, const Tensor& t, FloatTable* table) {
    if (t.mapped) {
      table->mapped = t.mapped;
    } else if (owned_ == nullptr) {
      table->values = t.data;
    } else {
      table->values = std::move(owned_->at(name).data);
    }
  }

  [[noreturn]] void Fail(const std::string& what) const { throw ConvertError(label_ + ": " + what); }

  // A tensor by name. Values ReadSafetensors left in the file are read into memory here, except
  // for an embedding table (keep_mapped), which is quantized from the file.
  const Tensor& Find(const std::string& name, const std::string& where, bool keep_mapped = false) {
    const auto it = tensors_.find(name);
    if (it == tensors_.end()) {
      if (where.empty()) Fail("tensor '" + name + "' is missing");
      throw ConvertError(where + ": tensor '" + name + "' is not in " + label_);
    }
    used_.insert(name);
    if (it->second.mapped && !keep_mapped) {
      // Only ImportModel's own tensors (owned_) come from a mapped file.
      if (owned_ == nullptr) Fail("tensor '" + name + "' is mapped but not the importer's to read");
      Tensor& t = owned_->at(name);
      size_t count = 1;
      for (const int64_t d : t.shape) count *= static_cast<size_t>(d);
      t.data.assign(t.mapped->data(), t.mapped->data() + count);
      t.mapped.reset();
    }
    return it->second;
  }

  // A Linear weight is [out, in] with both sizes usable as int.
  void CheckWeightShape(const std::string& name, const Tensor& w, const std::string& where) const {
    const auto& s = w.shape;
    if (s.size() != 2 || s[0] <= 0 || s[1] <= 0 || s[0] > INT_MAX || s[1] > INT_MAX) {
      Fail("tensor '" + name + "' has shape " + ShapeText(s) +
           " but a Linear weight must be [out, in] with out, in > 0" + WhereSuffix(where));
    }
  }

  // The layer `spec` reading `in_width` values (`in_source` says whose, for the message).
  FloatDense Dense(const LayerSpec& spec, int in_width, const std::string& in_source) {
    const Tensor& w = Find(spec.weight, spec.where);
    CheckWeightShape(spec.weight, w, spec.where);
    FloatDense layer;
    const std::string suffix = ".weight";
    const bool has_suffix =
        spec.weight.size() > suffix.size() &&
        spec.weight.compare(spec.weight.size() - suffix.size(), suffix.size(), suffix) == 0;
    layer.name = has_suffix ? spec.weight.substr(0, spec.weight.size() - suffix.size()) : spec.weight;
    layer.out = static_cast<int>(w.shape[0]);
    layer.in = static_cast<int>(w.shape[1]);
    if (layer.in != in_width) {
      Fail("tensor '" + spec.weight + "' has shape " + ShapeText(w.shape) + " but layer " + layer.name +
           " expects input width " + std::to_string(in_width) + " (" + in_source + ")" +
           WhereSuffix(spec.where));
    }
    layer.weight = w.data;
    layer.activation = spec.activation;
    if (spec.bias.empty()) {
      layer.bias.assign(layer.out, 0.0f);
      return layer;
    }
    const Tensor& b = Find(spec.bias, spec.where);
    if (b.shape.size() != 1 || b.shape[0] != layer.out) {
      Fail("tensor '" + spec.bias + "' has shape " + ShapeText(b.shape) + " but layer " + layer.name +
           " has " + std::to_string(layer.out) + " outputs" + WhereSuffix(spec.where));
    }
    layer.bias = b.data;
    return layer;
  }

  // Tensors in the file that nothing referenced.
  std::vector<std::string> Unused() const {
    std::vector<std::string> unused;
    for (const auto& entry : tensors_) {
      if (used_.count(entry.first) == 0) unused.push_back(entry.first);
    }
    return unused;
  }

  const std::string& label() const { return label_; }

 private:
  const std::map<std::string, Tensor>& tensors_;
  std::map<std::string, Tensor>* owned_;
  const std::string& label_;
  std::set<std::string> used_;
};

// --------------------------------------------------------------------------------------------
// ArchSpec (format 1 of the architecture JSON, or the seed's key names) -> the graph:
//   input -> each expert's layers; input -> each gate's layers -> softmax "gates[g].softmax";
//   per task: mixture "tower_input.<task>" (its gate's probabilities, or weight 1 for the one
//   expert of a Shared-Bottom task) -> the tower's layers -> sigmoid "<task>" (or the logit).
// The tensor names are those the runtime gives a format-1.x file's tensors, so that mmoe eval
// pairs them in old files too.

class ModelBuilder {
 public:
  ModelBuilder(const std::map<std::string, Tensor>& tensors, const std::string& weights_label,
               std::map<std::string, Tensor>* owned = nullptr)
      : store_(tensors, weights_label, owned) {}

  FloatModel Build(const ArchSpec& spec, const std::string& default_name) {
    GraphBuilder b(spec.name.empty() ? default_name : spec.name);
    const int input_dim = spec.input_dim > 0 ? spec.input_dim : InferInputDim(spec);
    const int32_t x = b.Input("input", input_dim, spec.feature_names);
    std::vector<int32_t> experts;
    for (const MlpSpec& expert : spec.experts) {
      std::vector<FloatDense> layers = Mlp(expert, input_dim, "input_dim");
      experts.push_back(Graph(expert.where, [&] { return b.Mlp(x, std::move(layers)); }));
      const int width = b.model().graph.tensors[experts.back()].width;
      const int width0 = b.model().graph.tensors[experts.front()].width;
      if (width != width0) {
        store_.Fail(expert.label + " (" + b.model().graph.tensors[experts.back()].name + ") ends at width " +
                    std::to_string(width) + " but expert 0 ends at " + std::to_string(width0) +
                    "; all experts must end at the same width" + WhereSuffix(expert.where));
      }
    }
    const int expert_width = b.model().graph.tensors[experts.front()].width;
    std::vector<int32_t> probs;
    std::vector<std::vector<int32_t>> gate_experts;
    for (size_t g = 0; g < spec.gates.size(); ++g) {
      const GateSpec& gate = spec.gates[g];
      std::vector<int> list;
      if (gate.experts) {
        list = *gate.experts;
      } else {
        for (size_t e = 0; e < experts.size(); ++e) list.push_back(static_cast<int>(e));
      }
      std::vector<int32_t> mixed;
      for (int e : list) {
        if (e < 0 || e >= static_cast<int>(experts.size())) {
          store_.Fail(gate.mlp.label + " mixes expert " + std::to_string(e) + ", but there are " +
                      std::to_string(experts.size()) + " experts");
        }
        mixed.push_back(experts[e]);
      }
      std::vector<FloatDense> layers = Mlp(gate.mlp, input_dim, "input_dim");
      const int32_t logits = Graph(gate.mlp.where, [&] { return b.Mlp(x, std::move(layers)); });
      const int n_logits = b.model().graph.tensors[logits].width;
      if (n_logits != static_cast<int>(list.size())) {
        store_.Fail("tensor '" + gate.mlp.layers.back().weight + "' has " + std::to_string(n_logits) +
                    " outputs but " + gate.mlp.label + " mixes " + std::to_string(list.size()) +
                    " experts (one logit each)" + WhereSuffix(gate.mlp.where));
      }
      probs.push_back(Graph(gate.mlp.where,
                            [&] { return b.Softmax(logits, "gates[" + std::to_string(g) + "].softmax"); }));
      gate_experts.push_back(mixed);
    }
    for (const TaskSpec& task : spec.tasks) {
      if (task.gate >= static_cast<int>(probs.size()) ||
          (task.gate < 0 && (task.expert < 0 || task.expert >= static_cast<int>(experts.size())))) {
        store_.Fail("task '" + task.name + "' reads gate " + std::to_string(task.gate) + " / expert " +
                    std::to_string(task.expert) + ", which does not exist");
      }
      const int32_t mix = Graph(task.tower.where, [&] {
        return task.gate >= 0
                   ? b.Mixture(probs[task.gate], gate_experts[task.gate], "tower_input." + task.name)
                   : b.Mixture(-1, {experts[task.expert]}, "tower_input." + task.name);
      });
      std::vector<FloatDense> layers = Mlp(task.tower, expert_width, "the expert width");
      const int32_t logit = Graph(task.tower.where, [&] { return b.Mlp(mix, std::move(layers)); });
      const int out = b.model().graph.tensors[logit].width;
      if (out != 1) {
        store_.Fail("tensor '" + task.tower.layers.back().weight + "' has " + std::to_string(out) +
                    " outputs but " + task.tower.label + " must end with 1 (the task's logit)" +
                    WhereSuffix(task.tower.where));
      }
      Graph(task.tower.where, [&] {
        b.Output(task.name, task.output == TaskOutput::kSigmoid ? b.Sigmoid(logit, task.name) : logit);
        return 0;
      });
    }
    try {
      return b.Finish();
    } catch (const ConvertError& e) {
      store_.Fail(e.what());
    }
  }

  TensorStore& store() { return store_; }

 private:
  // A GraphBuilder step, its errors (a name taken twice, say) reported against the JSON path
  // `where`, or against the weights file for the seed layout.
  template <typename Step>
  int32_t Graph(const std::string& where, Step&& step) {
    try {
      return step();
    } catch (const ConvertError& e) {
      if (where.empty()) store_.Fail(e.what());
      throw ConvertError(where + ": " + e.what());
    }
  }

  int InferInputDim(const ArchSpec& spec) {
    const LayerSpec& first = spec.experts.at(0).layers.at(0);
    const Tensor& w = store_.Find(first.weight, first.where);
    store_.CheckWeightShape(first.weight, w, first.where);
    return static_cast<int>(w.shape[1]);
  }

  std::vector<FloatDense> Mlp(const MlpSpec& spec, int in_width, const std::string& in_source) {
    std::vector<FloatDense> layers;
    for (const LayerSpec& layer : spec.layers) {
      // A layer's output is named after its weight (the names the runtime gives 1.x files), so
      // each layer needs weights of its own.
      const auto [it, fresh] = weight_user_.emplace(layer.weight, layer.where);
      if (!fresh) {
        const std::string& other = it->second;  // "arch.json: experts[0].layers[1]"
        const size_t path = other.find(": ");
        const std::string what = "weight '" + layer.weight + "' is already used by " +
                                 (path == std::string::npos ? "another layer" : other.substr(path + 2)) +
                                 "; every layer needs weights of its own";
        if (layer.where.empty()) store_.Fail(what);
        throw ConvertError(layer.where + ": " + what);
      }
      const bool first = layers.empty();
      layers.push_back(store_.Dense(layer, first ? in_width : layers.back().out,
                                    first ? in_source : "the previous layer's output"));
    }
    return layers;
  }

  TensorStore store_;
  std::map<std::string, std::string> weight_user_;  // weight tensor -> the layer reading it (where)
};

// Validate's findings about an imported model are reported against the weights file.
void ValidateImported(const FloatModel& model, const std::string& weights_label) {
  try {
    Validate(model);
  } catch (const ConvertError& e) {
    throw ConvertError(weights_label + ": " + e.what());
  }
}

// --------------------------------------------------------------------------------------------
// Architecture JSON -> ArchSpec.

// Reading the architecture JSON: every failure names the file and the JSON path.
class JsonReader {
 public:
  explicit JsonReader(const std::string& arch_label) : label_(arch_label) {}

 protected:
  // "arch.json: tasks[1].gate: <what>", or "arch.json: <what>" at the top level.
  [[noreturn]] void Fail(const std::string& path, const std::string& what) const {
    throw ConvertError(Where(path) + ": " + what);
  }

  std::string Where(const std::string& path) const { return path.empty() ? label_ : label_ + ": " + path; }

  static std::string Join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

  static std::string Index(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

  // The offending value in a message, cut short if long.
  static std::string Brief(const json& value) {
    std::string text = value.dump();
    if (text.size() > 40) text = text.substr(0, 37) + "...";
    return text;
  }

  void CheckKeys(const json& object, const std::string& path,
                 std::initializer_list<const char*> allowed) const {
    for (const auto& item : object.items()) {
      const bool known =
          std::any_of(allowed.begin(), allowed.end(), [&](const char* key) { return item.key() == key; });
      if (!known) Fail(path, "unknown key '" + item.key() + "'");
    }
  }

  void ObjectWithKeys(const json& value, const std::string& path,
                      std::initializer_list<const char*> allowed) const {
    if (!value.is_object()) Fail(path, "expected an object, got " + Brief(value));
    CheckKeys(value, path, allowed);
  }

  const json& Required(const json& object, const std::string& path, const char* key) const {
    if (!object.contains(key)) Fail(path, std::string("missing key '") + key + "'");
    return object.at(key);
  }

  std::string NonEmptyString(const json& value, const std::string& path) const {
    if (!value.is_string() || value.get<std::string>().empty()) {
      Fail(path, "expected a non-empty string, got " + Brief(value));
    }
    return value.get<std::string>();
  }

  // An integer in [min, max]; `expected` describes the range for the message. nlohmann stores
  // non-negative literals as unsigned, so both representations are checked.
  int IntInRange(const json& value, const std::string& path, int64_t min, int64_t max,
                 const std::string& expected) const {
    bool ok = false;
    if (value.is_number_unsigned()) {
      const uint64_t u = value.get<uint64_t>();
      ok = max >= 0 && u <= static_cast<uint64_t>(max) && static_cast<int64_t>(u) >= min;
    } else if (value.is_number_integer()) {
      const int64_t i = value.get<int64_t>();
      ok = i >= min && i <= max;
    }
    if (!ok) Fail(path, "expected " + expected + ", got " + Brief(value));
    return static_cast<int>(value.get<int64_t>());
  }

  int PositiveInt(const json& value, const std::string& path) const {
    return IntInRange(value, path, 1, INT_MAX, "a positive integer");
  }

  const json& Array(const json& value, const std::string& path) const {
    if (!value.is_array()) Fail(path, "expected an array, got " + Brief(value));
    return value;
  }

  const json& NonEmptyArray(const json& value, const std::string& path) const {
    if (Array(value, path).empty()) Fail(path, "must not be empty");
    return value;
  }

  // object["feature_names"] at `path`: one string per input.
  std::vector<std::string> FeatureNames(const json& object, const std::string& path, int input_dim) const {
    const std::string where = Join(path, "feature_names");
    const json& names = Array(object["feature_names"], where);
    if (names.size() != static_cast<size_t>(input_dim)) {
      Fail(where, "has " + std::to_string(names.size()) + " names but " +
                      (path.empty() ? "input_dim" : "the width") + " is " + std::to_string(input_dim));
    }
    std::vector<std::string> result;
    for (size_t i = 0; i < names.size(); ++i) {
      if (!names[i].is_string()) Fail(Index(where, i), "expected a string");
      result.push_back(names[i].get<std::string>());
    }
    return result;
  }

  const std::string& label_;
};

// Format 1: experts, gates and tasks.
class ArchParser : JsonReader {
 public:
  using JsonReader::JsonReader;

  ArchSpec Parse(const json& arch) {
    if (!arch.is_object()) Fail("", "expected a JSON object at the top level");
    CheckKeys(arch, "",
              {"format", "version", "name", "input_dim", "feature_names", "experts", "gates", "tasks"});
    if (Required(arch, "", "format") != "mmoe-arch") {
      Fail("format", "expected \"mmoe-arch\", got " + Brief(arch["format"]));
    }
    if (Required(arch, "", "version") != 1) {
      Fail("version", "expected 1 or 2, got " + Brief(arch["version"]));
    }
    ArchSpec spec;
    if (arch.contains("name")) spec.name = NonEmptyString(arch["name"], "name");
    spec.input_dim = PositiveInt(Required(arch, "", "input_dim"), "input_dim");
    if (arch.contains("feature_names")) spec.feature_names = FeatureNames(arch, "", spec.input_dim);

    const json& experts = NonEmptyArray(Required(arch, "", "experts"), "experts");
    for (size_t e = 0; e < experts.size(); ++e) {
      const std::string path = Index("experts", e);
      ObjectWithKeys(experts[e], path, {"layers"});
      spec.experts.push_back(Mlp(experts[e], path, "expert " + std::to_string(e), false));
    }
    if (arch.contains("gates")) {
      const json& gates = Array(arch["gates"], "gates");
      for (size_t g = 0; g < gates.size(); ++g) {
        spec.gates.push_back(Gate(gates[g], Index("gates", g), g, spec.experts.size()));
      }
    }
    const json& tasks = NonEmptyArray(Required(arch, "", "tasks"), "tasks");
    std::set<std::string> names;
    for (size_t t = 0; t < tasks.size(); ++t) {
      spec.tasks.push_back(Task(tasks[t], Index("tasks", t), t, spec));
      if (!names.insert(spec.tasks.back().name).second) {
        Fail(Index("tasks", t) + ".name", "duplicate task name '" + spec.tasks.back().name + "'");
      }
    }
    return spec;
  }

 private:
  LayerSpec Layer(const json& value, const std::string& path) const {
    ObjectWithKeys(value, path, {"weight", "bias", "activation"});
    LayerSpec layer;
    layer.where = Where(path);
    layer.weight = NonEmptyString(Required(value, path, "weight"), Join(path, "weight"));
    if (value.contains("bias")) layer.bias = NonEmptyString(value["bias"], Join(path, "bias"));
    const json& activation = Required(value, path, "activation");
    if (activation == "relu") {
      layer.activation = Activation::kRelu;
    } else if (activation != "none") {
      Fail(Join(path, "activation"), "expected \"relu\" or \"none\", got " + Brief(activation));
    }
    return layer;
  }

  // `object` holds "layers"; a gate's or tower's last layer must be linear because the softmax
  // or the task output is applied after it.
  MlpSpec Mlp(const json& object, const std::string& path, const std::string& label,
              bool last_must_be_linear) const {
    MlpSpec mlp;
    mlp.label = label;
    mlp.where = Where(path);
    const std::string layers_path = Join(path, "layers");
    const json& layers = NonEmptyArray(Required(object, path, "layers"), layers_path);
    for (size_t i = 0; i < layers.size(); ++i) {
      mlp.layers.push_back(Layer(layers[i], Index(layers_path, i)));
    }
    if (last_must_be_linear && mlp.layers.back().activation != Activation::kNone) {
      Fail(Join(Index(layers_path, layers.size() - 1), "activation"),
           "the last layer of " + label + " must be \"none\" (its output function is implied)");
    }
    return mlp;
  }

  GateSpec Gate(const json& value, const std::string& path, size_t index, size_t n_experts) const {
    ObjectWithKeys(value, path, {"experts", "layers"});
    GateSpec gate;
    gate.mlp = Mlp(value, path, "gate " + std::to_string(index), true);
    if (value.contains("experts")) {
      const std::string experts_path = Join(path, "experts");
      const json& experts = NonEmptyArray(value["experts"], experts_path);
      std::vector<int> list;
      for (size_t i = 0; i < experts.size(); ++i) {
        const int e = IntInRange(experts[i], Index(experts_path, i), 0, static_cast<int64_t>(n_experts) - 1,
                                 "an expert index below " + std::to_string(n_experts));
        if (std::find(list.begin(), list.end(), e) != list.end()) {
          Fail(Index(experts_path, i), "expert " + std::to_string(e) + " is listed twice");
        }
        list.push_back(e);
      }
      gate.experts = list;
    }
    return gate;
  }

  TaskSpec Task(const json& value, const std::string& path, size_t index, const ArchSpec& spec) const {
    ObjectWithKeys(value, path, {"name", "gate", "expert", "tower", "output"});
    TaskSpec task;
    task.name = value.contains("name") ? NonEmptyString(value["name"], Join(path, "name"))
                                       : "task" + std::to_string(index + 1);
    const json& gate = Required(value, path, "gate");
    if (gate.is_null()) {
      // Shared-Bottom: the tower reads one expert directly.
      const int n = static_cast<int>(spec.experts.size());
      task.expert = IntInRange(Required(value, path, "expert"), Join(path, "expert"), 0, n - 1,
                               "an expert index below " + std::to_string(n));
    } else {
      const int n = static_cast<int>(spec.gates.size());
      task.gate = IntInRange(
          gate, Join(path, "gate"), 0, n - 1,
          n == 0 ? "null (there are no gates)" : "null or a gate index below " + std::to_string(n));
      if (value.contains("expert")) {
        Fail(Join(path, "expert"), "only allowed with \"gate\": null (Shared-Bottom)");
      }
    }
    const std::string tower_path = Join(path, "tower");
    ObjectWithKeys(Required(value, path, "tower"), tower_path, {"layers"});
    task.tower = Mlp(value["tower"], tower_path, "the tower of task '" + task.name + "'", true);
    if (value.contains("output")) {
      const json& output = value["output"];
      if (output == "identity") {
        task.output = TaskOutput::kIdentity;
      } else if (output != "sigmoid") {
        Fail(Join(path, "output"), "expected \"sigmoid\" or \"identity\", got " + Brief(output));
      }
    }
    return task;
  }
};

// Format 2: the graph (docs/arch-json.md): inputs, nodes in order, outputs. Each node names the
// tensors it reads and the one it writes; widths follow from the weights.
class GraphArchParser : JsonReader {
 public:
  GraphArchParser(const std::string& arch_label, TensorStore* store)
      : JsonReader(arch_label), store_(store) {}

  FloatModel Parse(const json& arch, const std::string& default_name) {
    CheckKeys(arch, "", {"format", "version", "name", "inputs", "nodes", "outputs"});
    GraphBuilder b(arch.contains("name") ? NonEmptyString(arch["name"], "name") : default_name);
    const json& inputs = NonEmptyArray(Required(arch, "", "inputs"), "inputs");
    for (size_t i = 0; i < inputs.size(); ++i) {
      const std::string path = Index("inputs", i);
      ObjectWithKeys(inputs[i], path, {"name", "kind", "width", "feature_names"});
      const std::string name = NonEmptyString(Required(inputs[i], path, "name"), Join(path, "name"));
      const std::string kind =
          inputs[i].contains("kind") ? NonEmptyString(inputs[i]["kind"], Join(path, "kind")) : "dense";
      if (kind == "ids" || kind == "bag") {
        for (const char* key : {"width", "feature_names"}) {
          if (inputs[i].contains(key)) Fail(Join(path, key), "applies to dense inputs only");
        }
        At(path,
           [&] { return b.IdsInput(name, kind == "ids" ? graph::InputKind::kIds : graph::InputKind::kBag); });
        continue;
      }
      if (kind != "dense")
        Fail(Join(path, "kind"), "expected \"dense\", \"ids\" or \"bag\", got \"" + kind + "\"");
      const int width = PositiveInt(Required(inputs[i], path, "width"), Join(path, "width"));
      std::vector<std::string> features;
      if (inputs[i].contains("feature_names")) features = FeatureNames(inputs[i], path, width);
      At(path, [&] { return b.Input(name, width, features); });
    }
    const json& nodes = NonEmptyArray(Required(arch, "", "nodes"), "nodes");
    for (size_t i = 0; i < nodes.size(); ++i) Node(nodes[i], Index("nodes", i), &b);
    const json& outputs = NonEmptyArray(Required(arch, "", "outputs"), "outputs");
    for (size_t i = 0; i < outputs.size(); ++i) {
      const std::string path = Index("outputs", i);
      std::string name, tensor;
      if (outputs[i].is_string()) {
        name = tensor = NonEmptyString(outputs[i], path);
      } else {
        ObjectWithKeys(outputs[i], path, {"name", "tensor"});
        name = NonEmptyString(Required(outputs[i], path, "name"), Join(path, "name"));
        tensor =
            outputs[i].contains("tensor") ? NonEmptyString(outputs[i]["tensor"], Join(path, "tensor")) : name;
      }
      b.Output(name, TensorRef(b, tensor, Join(path, "tensor")));
    }
    try {
      return b.Finish();
    } catch (const ConvertError& e) {
      throw ConvertError(Where("") + ": " + e.what());
    }
  }

 private:
  int32_t TensorRef(const GraphBuilder& b, const std::string& name, const std::string& path) const {
    const int32_t t = b.Find(name);
    if (t < 0) Fail(path, "no tensor '" + name + "' is computed before this point");
    return t;
  }

  int32_t Input(const GraphBuilder& b, const json& node, const std::string& path, const char* key) const {
    return TensorRef(b, NonEmptyString(Required(node, path, key), Join(path, key)), Join(path, key));
  }

  std::vector<int32_t> Inputs(const GraphBuilder& b, const json& node, const std::string& path,
                              const char* key) const {
    const std::string list_path = Join(path, key);
    const json& list = NonEmptyArray(Required(node, path, key), list_path);
    std::vector<int32_t> tensors;
    for (size_t i = 0; i < list.size(); ++i) {
      tensors.push_back(TensorRef(b, NonEmptyString(list[i], Index(list_path, i)), Index(list_path, i)));
    }
    return tensors;
  }

  float Number(const json& node, const std::string& path, const char* key, float fallback) const {
    if (!node.contains(key)) return fallback;
    const json& v = node[key];
    if (!v.is_number() || !std::isfinite(v.get<double>()))
      Fail(Join(path, key), "expected a finite number, got " + Brief(v));
    return v.get<float>();
  }

  // Runs `add` (a GraphBuilder call) with its errors placed at `path`.
  template <typename Add>
  int32_t At(const std::string& path, Add&& add) const {
    try {
      return add();
    } catch (const ConvertError& e) {
      throw ConvertError(Where(path) + ": " + e.what());
    }
  }

  void Node(const json& node, const std::string& path, GraphBuilder* b) {
    if (!node.is_object()) Fail(path, "expected an object, got " + Brief(node));
    const std::string op = NonEmptyString(Required(node, path, "op"), Join(path, "op"));
    const auto output = [&] { return NonEmptyString(Required(node, path, "output"), Join(path, "output")); };
    if (op == "dense") {
      CheckKeys(node, path, {"op", "input", "output", "weight", "bias", "activation"});
      const int32_t x = Input(*b, node, path, "input");
      LayerSpec spec;
      spec.where = Where(path);
      spec.weight = NonEmptyString(Required(node, path, "weight"), Join(path, "weight"));
      if (node.contains("bias")) spec.bias = NonEmptyString(node["bias"], Join(path, "bias"));
      if (node.contains("activation")) {
        const json& a = node["activation"];
        if (a == "relu") {
          spec.activation = Activation::kRelu;
        } else if (a != "none") {
          Fail(Join(path, "activation"),
               "expected \"relu\" or \"none\" (other functions are activation nodes), got " + Brief(a));
        }
      }
      FloatDense layer = store_->Dense(spec, b->model().graph.tensors[x].width,
                                       "'" + b->model().graph.tensors[x].name + "'");
      layer.name = output();
      At(path, [&] { return b->Dense(x, std::move(layer)); });
    } else if (op == "activation") {
      CheckKeys(node, path,
                {"op", "input", "output", "function", "slope", "alpha", "weight", "min", "max", "beta",
                 "threshold"});
      const int32_t x = Input(*b, node, path, "input");
      FloatActivation a;
      const std::string function = NonEmptyString(Required(node, path, "function"), Join(path, "function"));
      if (!ParseFunction(function, &a.function)) {
        Fail(Join(path, "function"), "unknown function '" + function + "'; supported: " + FunctionNames());
      }
      switch (a.function) {
        case Function::kLeakyRelu:
          a.params = {Number(node, path, "slope", 0.01f)};
          break;
        case Function::kElu:
          a.params = {Number(node, path, "alpha", 1.0f)};
          break;
        case Function::kHardtanh:
          a.params = {Number(node, path, "min", -1.0f), Number(node, path, "max", 1.0f)};
          break;
        case Function::kSoftplus:
          a.params = {Number(node, path, "beta", 1.0f), Number(node, path, "threshold", 20.0f)};
          break;
        case Function::kPrelu: {
          const std::string weight = NonEmptyString(Required(node, path, "weight"), Join(path, "weight"));
          const Tensor& w = store_->Find(weight, Where(path));
          if (w.shape.size() != 1 || w.data.empty()) {
            Fail(Join(path, "weight"), "tensor '" + weight + "' has shape " + ShapeText(w.shape) +
                                           "; a PReLU weight is [1] or [channels]");
          }
          a.params = w.data;
          break;
        }
        default:
          break;
      }
      At(path, [&] { return b->Activation(x, std::move(a), output()); });
    } else if (op == "softmax" || op == "sigmoid") {
      CheckKeys(node, path, {"op", "input", "output"});
      const int32_t x = Input(*b, node, path, "input");
      At(path, [&] { return op == "softmax" ? b->Softmax(x, output()) : b->Sigmoid(x, output()); });
    } else if (op == "mixture") {
      CheckKeys(node, path, {"op", "gate", "experts", "output"});
      const int32_t gate = node.contains("gate") ? Input(*b, node, path, "gate") : -1;
      const std::vector<int32_t> experts = Inputs(*b, node, path, "experts");
      At(path, [&] { return b->Mixture(gate, experts, output()); });
    } else if (op == "product") {
      CheckKeys(node, path, {"op", "inputs", "output"});
      const std::vector<int32_t> factors = Inputs(*b, node, path, "inputs");
      At(path, [&] { return b->Product(factors, output()); });
    } else if (op == "embedding") {
      CheckKeys(node, path, {"op", "input", "output", "table", "pooling", "padding_id", "default_row"});
      const int32_t ids = Input(*b, node, path, "input");
      FloatEmbedding e;
      e.table = Table(node, path, b);
      const std::string pooling =
          node.contains("pooling") ? NonEmptyString(node["pooling"], Join(path, "pooling")) : "none";
      if (pooling == "sum") {
        e.pooling = graph::Pooling::kSum;
      } else if (pooling == "mean") {
        e.pooling = graph::Pooling::kMean;
      } else if (pooling != "none") {
        Fail(Join(path, "pooling"), "expected \"none\", \"sum\" or \"mean\", got \"" + pooling + "\"");
      }
      if (node.contains("padding_id")) {
        const json& v = node["padding_id"];
        if (!v.is_number_integer()) Fail(Join(path, "padding_id"), "expected an integer id, got " + Brief(v));
        e.has_padding_id = true;
        e.padding_id = v.get<int64_t>();
      }
      if (node.contains("default_row")) {
        const std::string name = NonEmptyString(node["default_row"], Join(path, "default_row"));
        const Tensor& row = store_->Find(name, Where(path));
        e.default_row = row.data;
      }
      At(path, [&] { return b->Embedding(ids, std::move(e), output()); });
    } else if (op == "concat") {
      CheckKeys(node, path, {"op", "inputs", "output"});
      const std::vector<int32_t> parts = Inputs(*b, node, path, "inputs");
      At(path, [&] { return b->Concat(parts, output()); });
    } else {
      Fail(Join(path, "op"),
           "unknown op '" + op +
               "'; expected dense, activation, softmax, mixture, sigmoid, product, embedding or concat");
    }
  }

  // The table an embedding node names: a [rows, dim] tensor, imported once however many nodes
  // read it (features sharing a table).
  int32_t Table(const json& node, const std::string& path, GraphBuilder* b) {
    const std::string name = NonEmptyString(Required(node, path, "table"), Join(path, "table"));
    if (const auto it = tables_.find(name); it != tables_.end()) return it->second;
    const Tensor& t = store_->Find(name, Where(path), /*keep_mapped=*/true);
    if (t.shape.size() != 2 || t.shape[0] <= 0 || t.shape[1] <= 0) {
      Fail(Join(path, "table"),
           "tensor '" + name + "' has shape " + ShapeText(t.shape) + "; a table is [rows, dim]");
    }
    FloatTable table;
    table.name = name;
    table.rows = t.shape[0];
    table.dim = static_cast<int>(t.shape[1]);
    store_->TakeValues(name, t, &table);
    return tables_[name] = b->Table(std::move(table));
  }

  TensorStore* store_;
  std::map<std::string, int32_t> tables_;
};

FloatModel BuildFromArch(const json& arch, const std::map<std::string, Tensor>& tensors,
                         const std::string& weights_label, const std::string& arch_label,
                         std::map<std::string, Tensor>* owned = nullptr) {
  ModelBuilder builder(tensors, weights_label, owned);
  FloatModel model;
  if (arch.is_object() && arch.contains("version") && arch["version"] == 2 && arch.contains("format") &&
      arch["format"] == "mmoe-arch") {
    model = GraphArchParser(arch_label, &builder.store()).Parse(arch, Stem(weights_label));
  } else {
    model = builder.Build(ArchParser(arch_label).Parse(arch), Stem(weights_label));
  }
  const std::vector<std::string> unused = builder.store().Unused();
  if (!unused.empty()) {
    throw ConvertError(weights_label + ": " + std::to_string(unused.size()) +
                       " tensor(s) not used by the architecture in " + arch_label + ": " + NameList(unused));
  }
  ValidateImported(model, weights_label);
  return model;
}

// --------------------------------------------------------------------------------------------
// Seed key names -> ArchSpec.

enum class SeedPart { kExpert, kGate, kTask };

struct SeedKey {
  SeedPart part;
  int group;  // expert i (from 0), or t (from 1) of gating{t}_network / task{t}_head
  int index;  // j inside the nn.Sequential
  bool is_weight;
};

// A canonical non-negative decimal ("0", "12"; not "01", "+1" or 10+ digits).
std::optional<int> ParseIndex(const std::string& text) {
  if (text.empty() || text.size() > 9 || (text.size() > 1 && text[0] == '0')) return {};
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return {};
  }
  return std::stoi(text);
}

// "gating12_network" with prefix "gating" and suffix "_network" -> 12.
std::optional<int> ParseWrapped(const std::string& text, const std::string& prefix,
                                const std::string& suffix) {
  if (text.size() <= prefix.size() + suffix.size() || text.compare(0, prefix.size(), prefix) != 0 ||
      text.compare(text.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return {};
  }
  const auto t = ParseIndex(text.substr(prefix.size(), text.size() - prefix.size() - suffix.size()));
  if (!t || *t < 1) return {};
  return t;
}

std::optional<SeedKey> ParseSeedKey(const std::string& key) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t dot; (dot = key.find('.', start)) != std::string::npos; start = dot + 1) {
    parts.push_back(key.substr(start, dot - start));
  }
  parts.push_back(key.substr(start));
  const std::string& kind = parts.back();
  if (kind != "weight" && kind != "bias") return {};
  const bool is_weight = kind == "weight";

  if (parts.size() == 4 && parts[0] == "experts") {
    const auto i = ParseIndex(parts[1]);
    const auto j = ParseIndex(parts[2]);
    if (i && j) return SeedKey{SeedPart::kExpert, *i, *j, is_weight};
  } else if (parts.size() == 3) {
    const auto j = ParseIndex(parts[1]);
    if (!j) return {};
    if (const auto t = ParseWrapped(parts[0], "gating", "_network")) {
      return SeedKey{SeedPart::kGate, *t, *j, is_weight};
    }
    if (const auto t = ParseWrapped(parts[0], "task", "_head")) {
      return SeedKey{SeedPart::kTask, *t, *j, is_weight};
    }
  }
  return {};
}

std::string SeedPrefix(SeedPart part, int group) {
  switch (part) {
    case SeedPart::kExpert:
      return "experts." + std::to_string(group);
    case SeedPart::kGate:
      return "gating" + std::to_string(group) + "_network";
    default:
      return "task" + std::to_string(group) + "_head";
  }
}

struct SeedLinear {
  std::string weight, bias;
};
// group -> index j (sorted numerically by the map) -> tensors.
using SeedGroups = std::map<int, std::map<int, SeedLinear>>;

class SeedRecognizer {
 public:
  explicit SeedRecognizer(const std::string& label) : label_(label) {}

  ArchSpec Recognize(const std::map<std::string, Tensor>& tensors) {
    Classify(tensors);
    CheckContiguous(SeedPart::kExpert, 0);
    CheckContiguous(SeedPart::kGate, 1);
    CheckContiguous(SeedPart::kTask, 1);
    const SeedGroups& experts = groups_[SeedPart::kExpert];
    const SeedGroups& gates = groups_[SeedPart::kGate];
    const SeedGroups& tasks = groups_[SeedPart::kTask];
    if (experts.empty()) Fail("no expert tensors (experts.{i}.{j}.weight) in the seed layout");
    if (tasks.empty()) Fail("no task heads (task{t}_head.{j}.weight) in the seed layout");
    if (gates.size() != tasks.size()) {
      Fail(std::to_string(tasks.size()) + " task heads (task{t}_head) but " + std::to_string(gates.size()) +
           " gating networks (gating{t}_network); the seed layout has one gate per task");
    }

    ArchSpec spec;
    for (const auto& [i, layers] : experts) {
      spec.experts.push_back(Mlp(layers, "expert " + std::to_string(i), /*last_relu=*/true));
    }
    for (const auto& [t, layers] : gates) {
      spec.gates.push_back({Mlp(layers, SeedPrefix(SeedPart::kGate, t), false), {}});
    }
    for (const auto& [t, layers] : tasks) {
      TaskSpec task;
      task.name = "task" + std::to_string(t);
      task.gate = t - 1;  // gating{t}_network serves task{t}_head
      task.tower = Mlp(layers, "the tower of task '" + task.name + "'", false);
      spec.tasks.push_back(task);
    }
    return spec;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const { throw ConvertError(label_ + ": " + what); }

  void Classify(const std::map<std::string, Tensor>& tensors) {
    std::vector<std::string> unknown;
    for (const auto& entry : tensors) {
      const std::optional<SeedKey> key = ParseSeedKey(entry.first);
      if (!key) {
        unknown.push_back(entry.first);
        continue;
      }
      SeedLinear& linear = groups_[key->part][key->group][key->index];
      (key->is_weight ? linear.weight : linear.bias) = entry.first;
    }
    if (!unknown.empty()) {
      Fail(std::to_string(unknown.size()) +
           " tensor(s) match no seed-layout key (experts.{i}.{j}, gating{t}_network.{j}, "
           "task{t}_head.{j} with .weight/.bias); describe the model with an architecture JSON: " +
           NameList(unknown));
    }
  }

  // Groups must be numbered start, start+1, ... so a missing one is not silently skipped.
  void CheckContiguous(SeedPart part, int start) const {
    const auto it = groups_.find(part);
    if (it == groups_.end()) return;
    int expected = start;
    for (const auto& entry : it->second) {
      if (entry.first != expected) {
        Fail("found " + SeedPrefix(part, entry.first) + " but no " + SeedPrefix(part, expected));
      }
      ++expected;
    }
  }

  // Hidden layers get ReLU; the last one too only for experts (gates and towers end linear).
  MlpSpec Mlp(const std::map<int, SeedLinear>& layers, const std::string& label, bool last_relu) const {
    MlpSpec mlp;
    mlp.label = label;
    for (auto it = layers.begin(); it != layers.end(); ++it) {
      if (it->second.weight.empty()) {
        Fail("tensor '" + it->second.bias + "' has no matching weight tensor");
      }
      const bool last = std::next(it) == layers.end();
      mlp.layers.push_back({it->second.weight, it->second.bias,
                            !last || last_relu ? Activation::kRelu : Activation::kNone, ""});
    }
    return mlp;
  }

  const std::string& label_;
  std::map<SeedPart, SeedGroups> groups_;
};

FloatModel BuildSeed(const std::map<std::string, Tensor>& tensors, const std::string& name,
                     const std::string& weights_label) {
  const ArchSpec spec = SeedRecognizer(weights_label).Recognize(tensors);
  ModelBuilder builder(tensors, weights_label);
  FloatModel model = builder.Build(spec, name);
  ValidateImported(model, weights_label);
  return model;
}

// "[json.exception.parse_error.101] parse error at line 1..." -> "parse error at line 1...".
std::string WithoutJsonPrefix(const std::string& message) {
  const size_t end = message.find("] ");
  return message.rfind("[json.exception.", 0) == 0 && end != std::string::npos ? message.substr(end + 2)
                                                                               : message;
}

// What nlohmann's DOM parser lets through, checked in a SAX pass before it runs: duplicate
// keys ({"gate": 0, "gate": 1} would silently keep one), and nesting deeper than
// kMaxJsonDepth (printing or freeing such a value recurses once per level, and 100,000 levels
// overflow the stack). Not the parser's callback: its DOM builder scans the enclosing object
// at every nested object's end, quadratic in the object's size (a safetensors header of 40,000
// tensors took 13 s).
class StrictJsonChecks final : public nlohmann::json_sax<json> {
 public:
  explicit StrictJsonChecks(const std::string& label) : label_(label) {}

  bool start_object(std::size_t) override {
    Enter();
    open_objects_.emplace_back();
    return true;
  }
  bool end_object() override {
    open_objects_.pop_back();
    --depth_;
    return true;
  }
  bool key(string_t& key) override {
    if (!open_objects_.back().insert(key).second)
      throw ConvertError(label_ + ": duplicate key '" + key + "'");
    return true;
  }
  bool start_array(std::size_t) override {
    Enter();
    return true;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    throw ConvertError(label_ + ": invalid JSON: " + WithoutJsonPrefix(e.what()));
  }

 private:
  void Enter() {
    if (++depth_ > kMaxJsonDepth) {
      throw ConvertError(label_ + ": invalid JSON: nested deeper than " + std::to_string(kMaxJsonDepth) +
                         " levels");
    }
  }

  const std::string& label_;
  std::vector<std::unordered_set<std::string>> open_objects_;  // one key set per open object
  int depth_ = 0;
};

}  // namespace

json ParseJsonStrict(const std::string& text, const std::string& label) {
  StrictJsonChecks checks(label);
  json::sax_parse(text, &checks);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw ConvertError(label + ": invalid JSON: " + WithoutJsonPrefix(e.what()));
  }
}

FloatModel ImportModelFromArch(const json& arch, const std::map<std::string, Tensor>& tensors,
                               const std::string& source_name) {
  return BuildFromArch(arch, tensors, source_name, "arch");
}

FloatModel ImportSeedLayout(const std::map<std::string, Tensor>& tensors, const std::string& model_name) {
  return BuildSeed(tensors, model_name, model_name);
}

FloatModel ImportModel(const std::string& weights_path, const std::string& arch_path) {
  // Tables of 64 MiB and more stay in the file (quantized from it, never held in memory).
  std::map<std::string, Tensor> tensors = ReadSafetensors(weights_path, nullptr, size_t{64} << 20);
  if (arch_path.empty()) return BuildSeed(tensors, Stem(weights_path), weights_path);
  const json arch = ParseJsonStrict(ReadFileBytes(arch_path), arch_path);
  return BuildFromArch(arch, tensors, weights_path, arch_path, &tensors);
}

}  // namespace mmoe::converter
