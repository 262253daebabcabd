// Import (seed layout and architecture JSON) and FloatModel checks.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io_test_support.h"
#include "mmoe/converter/io.h"

namespace fs = std::filesystem;
using namespace mmoe::converter;
using mmoe::converter::testing::CountOp;
using mmoe::converter::testing::DenseNamed;
using mmoe::converter::testing::ErrorOf;
using mmoe::converter::testing::InputNames;
using mmoe::converter::testing::NodeNamed;
using mmoe::converter::testing::TempDir;
using nlohmann::json;
using Tensors = std::map<std::string, Tensor>;

namespace {

// Minimal safetensors writer: every tensor as F32, packed in name order.
void WriteSafetensors(const std::string& path, const Tensors& tensors) {
  json header = json::object();
  std::string data;
  for (const auto& [name, tensor] : tensors) {
    const size_t begin = data.size();
    data.append(reinterpret_cast<const char*>(tensor.data.data()), tensor.data.size() * 4);
    header[name] = {{"dtype", "F32"}, {"shape", tensor.shape}, {"data_offsets", {begin, data.size()}}};
  }
  const std::string text = header.dump();
  const uint64_t size = text.size();
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(&size), 8);  // little-endian test hosts
  out << text << data;
}

// Distinct, deterministic values so that a swapped tensor would show.
Tensor Filled(std::vector<int64_t> shape, float base) {
  Tensor t;
  t.shape = std::move(shape);
  int64_t count = 1;
  for (const int64_t d : t.shape) count *= d;
  for (int64_t k = 0; k < count; ++k) t.data.push_back(base + 0.001f * static_cast<float>(k));
  return t;
}

void AddLinear(Tensors* t, const std::string& prefix, int64_t out, int64_t in, bool bias = true) {
  (*t)[prefix + ".weight"] = Filled({out, in}, static_cast<float>(t->size()));
  if (bias) (*t)[prefix + ".bias"] = Filled({out}, -static_cast<float>(t->size()));
}

// The seed's shape, shrunk: 3 experts 6 -> 8 -> 4, 2 gates 6 -> 5 -> 3, 2 towers 4 -> 4 -> 1,
// with the nn.Sequential indices the seed uses (ReLU/Dropout in between).
Tensors SeedTensors() {
  Tensors t;
  for (int e = 0; e < 3; ++e) {
    AddLinear(&t, "experts." + std::to_string(e) + ".0", 8, 6);
    AddLinear(&t, "experts." + std::to_string(e) + ".2", 4, 8);
  }
  for (int g = 1; g <= 2; ++g) {
    AddLinear(&t, "gating" + std::to_string(g) + "_network.0", 5, 6);
    AddLinear(&t, "gating" + std::to_string(g) + "_network.4", 3, 5);
    AddLinear(&t, "task" + std::to_string(g) + "_head.0", 4, 4);
    AddLinear(&t, "task" + std::to_string(g) + "_head.2", 1, 4);
  }
  return t;
}

// Three experts of different depths, one gate mixing them in the order 2, 0, 1, and three tasks:
// two sharing the gate (MoE) and one Shared-Bottom task reading expert 1.
const char* const kArch = R"({
  "format": "mmoe-arch", "version": 1, "name": "three_tasks", "input_dim": 5,
  "feature_names": ["f0", "f1", "f2", "f3", "f4"],
  "experts": [
    {"layers": [{"weight": "e0.l1.weight", "bias": "e0.l1.bias", "activation": "relu"},
                {"weight": "e0.l2.weight", "bias": "e0.l2.bias", "activation": "relu"}]},
    {"layers": [{"weight": "e1.l1.weight", "bias": "e1.l1.bias", "activation": "relu"}]},
    {"layers": [{"weight": "e2.fc1.weight", "bias": "e2.fc1.bias", "activation": "relu"},
                {"weight": "e2.fc2.weight", "activation": "none"}]}
  ],
  "gates": [
    {"experts": [2, 0, 1],
     "layers": [{"weight": "g.0.weight", "bias": "g.0.bias", "activation": "none"}]}
  ],
  "tasks": [
    {"name": "ctr", "gate": 0, "tower": {"layers": [
      {"weight": "ctr.0.weight", "bias": "ctr.0.bias", "activation": "relu"},
      {"weight": "ctr.1.weight", "bias": "ctr.1.bias", "activation": "none"}]}},
    {"name": "cvr", "gate": 0, "output": "sigmoid", "tower": {"layers": [
      {"weight": "cvr.0.weight", "bias": "cvr.0.bias", "activation": "none"}]}},
    {"name": "dwell", "gate": null, "expert": 1, "output": "identity", "tower": {"layers": [
      {"weight": "dwell.0.weight", "bias": "dwell.0.bias", "activation": "none"}]}}
  ]
})";

Tensors ArchTensors() {
  Tensors t;
  AddLinear(&t, "e0.l1", 6, 5);
  AddLinear(&t, "e0.l2", 4, 6);
  AddLinear(&t, "e1.l1", 4, 5);
  AddLinear(&t, "e2.fc1", 7, 5);
  AddLinear(&t, "e2.fc2", 4, 7, /*bias=*/false);
  AddLinear(&t, "g.0", 3, 5);
  AddLinear(&t, "ctr.0", 3, 4);
  AddLinear(&t, "ctr.1", 1, 3);
  AddLinear(&t, "cvr.0", 1, 4);
  AddLinear(&t, "dwell.0", 1, 4);
  return t;
}

std::vector<Activation> Activations(const FloatModel& m, std::initializer_list<const char*> layers) {
  std::vector<Activation> result;
  for (const char* layer : layers) result.push_back(DenseNamed(m, layer).activation);
  return result;
}

using mmoe::converter::FloatActivation;
using mmoe::converter::Function;
using mmoe::graph::Op;

constexpr Activation kRelu = Activation::kRelu;
constexpr Activation kNone = Activation::kNone;

}  // namespace

TEST_CASE("seed layout from a safetensors file") {
  TempDir dir;
  const Tensors tensors = SeedTensors();
  WriteSafetensors(dir / "seed_model.safetensors", tensors);
  const FloatModel m = ImportModel(dir / "seed_model.safetensors");

  CHECK(m.name == "seed_model");
  CHECK(m.input_dim() == 6);
  CHECK(m.feature_names().empty());
  // The graph of the seed layout: experts and gates read the input; each task's mixture reads
  // its gate's softmax and every expert; its tower reads the mixture and ends in a sigmoid.
  CHECK(CountOp(m, Op::kDense) == 3 * 2 + 2 * 2 + 2 * 2);
  CHECK(InputNames(m, "experts.1.0") == std::vector<std::string>{"input"});
  CHECK(InputNames(m, "experts.1.2") == std::vector<std::string>{"experts.1.0"});
  CHECK(DenseNamed(m, "experts.1.2").weight == tensors.at("experts.1.2.weight").data);
  CHECK(DenseNamed(m, "experts.1.2").bias == tensors.at("experts.1.2.bias").data);
  CHECK(Activations(m, {"experts.2.0", "experts.2.2"}) == std::vector<Activation>{kRelu, kRelu});
  CHECK(InputNames(m, "gates[1].softmax") == std::vector<std::string>{"gating2_network.4"});
  CHECK(InputNames(m, "gating2_network.0") == std::vector<std::string>{"input"});
  CHECK(Activations(m, {"gating1_network.0", "gating1_network.4"}) == std::vector<Activation>{kRelu, kNone});
  CHECK(InputNames(m, "tower_input.task2") ==
        std::vector<std::string>{"gates[1].softmax", "experts.0.2", "experts.1.2", "experts.2.2"});
  CHECK(NodeNamed(m, "tower_input.task2").gated);
  CHECK(m.task_names() == std::vector<std::string>{"task1", "task2"});
  CHECK(NodeNamed(m, "task2").op == Op::kSigmoid);
  CHECK(InputNames(m, "task2") == std::vector<std::string>{"task2_head.2"});
  CHECK(InputNames(m, "task2_head.0") == std::vector<std::string>{"tower_input.task2"});
  CHECK(Activations(m, {"task1_head.0", "task1_head.2"}) == std::vector<Activation>{kRelu, kNone});
  // Layers: experts 3*(48+32), gates 2*(30+15), towers 2*(16+4); mixing 2 tasks * 4 * 3.
  CHECK(m.macs() == 240 + 90 + 40 + 24);
  CHECK(m.parameters() == 3 * (48 + 8 + 32 + 4) + 2 * (30 + 5 + 15 + 3) + 2 * (16 + 4 + 4 + 1));
}

TEST_CASE("seed layout sorts layer indices numerically (2 before 10)") {
  Tensors t;
  AddLinear(&t, "experts.0.2", 8, 6);
  AddLinear(&t, "experts.0.10", 4, 8);
  AddLinear(&t, "gating1_network.0", 1, 6);
  AddLinear(&t, "task1_head.3", 4, 4);
  AddLinear(&t, "task1_head.12", 1, 4);
  const FloatModel m = ImportSeedLayout(t, "tiny");
  CHECK(m.name == "tiny");
  CHECK(InputNames(m, "experts.0.2") == std::vector<std::string>{"input"});
  CHECK(InputNames(m, "experts.0.10") == std::vector<std::string>{"experts.0.2"});
  CHECK(InputNames(m, "task1_head.12") == std::vector<std::string>{"task1_head.3"});
}

TEST_CASE("seed layout errors") {
  TempDir dir;
  Tensors t = SeedTensors();
  t["bn.running_mean"] = Filled({4}, 0);
  t["experts.01.0.weight"] = Filled({8, 6}, 0);
  CHECK_ERROR_HAS(ImportSeedLayout(t, "w.safetensors"), "w.safetensors: 2 tensor(s) match no",
                  "'bn.running_mean', 'experts.01.0.weight'");

  t = SeedTensors();
  AddLinear(&t, "task3_head.0", 1, 4);
  CHECK_ERROR_HAS(ImportSeedLayout(t, "w"), "3 task heads", "but 2 gating networks");

  t = SeedTensors();
  for (const char* key :
       {"experts.1.0.weight", "experts.1.0.bias", "experts.1.2.weight", "experts.1.2.bias"}) {
    t.erase(key);
  }
  CHECK_ERROR_HAS(ImportSeedLayout(t, "w"), "found experts.2 but no experts.1");

  t = SeedTensors();
  t.erase("experts.0.2.weight");
  CHECK_ERROR_HAS(ImportSeedLayout(t, "w"), "tensor 'experts.0.2.bias' has no matching weight");

  t = SeedTensors();
  t["experts.0.2.weight"] = Filled({4, 7}, 0);
  WriteSafetensors(dir / "w.safetensors", t);
  CHECK_ERROR_HAS(ImportModel(dir / "w.safetensors"),
                  "w.safetensors: tensor 'experts.0.2.weight' has shape [4,7] but layer "
                  "experts.0.2 expects input width 8 (the previous layer's output)");

  t = SeedTensors();
  t["experts.1.0.weight"].data[5] = std::numeric_limits<float>::quiet_NaN();
  WriteSafetensors(dir / "w.safetensors", t);
  CHECK_ERROR_HAS(ImportModel(dir / "w.safetensors"),
                  "w.safetensors: tensor 'experts.1.0.weight' has NaN at flat index 5");
  CHECK_ERROR_HAS(ImportSeedLayout(t, "w"), "w: dense 'experts.1.0': weight[5] is NaN");

  t = SeedTensors();
  t["task2_head.2.weight"] = Filled({2, 4}, 0);
  t["task2_head.2.bias"] = Filled({2}, 0);
  CHECK_ERROR_HAS(ImportSeedLayout(t, "w"), "tensor 'task2_head.2.weight' has 2 outputs", "must end with 1");
}

TEST_CASE("architecture JSON: three tasks with MoE sharing and Shared-Bottom") {
  const FloatModel m = ImportModelFromArch(json::parse(kArch), ArchTensors(), "w.safetensors");
  CHECK(m.name == "three_tasks");
  CHECK(m.input_dim() == 5);
  CHECK(m.feature_names().size() == 5);
  CHECK(InputNames(m, "e1.l1") == std::vector<std::string>{"input"});
  CHECK(InputNames(m, "e2.fc2") == std::vector<std::string>{"e2.fc1"});
  CHECK(DenseNamed(m, "e2.fc2").bias == std::vector<float>(4, 0.0f));  // omitted bias
  CHECK(Activations(m, {"e2.fc1", "e2.fc2"}) == std::vector<Activation>{kRelu, kNone});
  CHECK(CountOp(m, Op::kSoftmax) == 1);
  // Both MoE tasks mix the experts in the gate's order 2, 0, 1; dwell reads expert 1 alone.
  const std::vector<std::string> moe = {"gates[0].softmax", "e2.fc2", "e0.l2", "e1.l1"};
  CHECK(InputNames(m, "tower_input.ctr") == moe);
  CHECK(InputNames(m, "tower_input.cvr") == moe);
  CHECK(m.task_names() == std::vector<std::string>{"ctr", "cvr", "dwell"});
  CHECK(InputNames(m, "tower_input.dwell") == std::vector<std::string>{"e1.l1"});
  CHECK(!NodeNamed(m, "tower_input.dwell").gated);
  CHECK(m.graph.tensors[m.graph.outputs[2].tensor].name == "dwell.0");  // identity: the logit
  CHECK(NodeNamed(m, "cvr").op == Op::kSigmoid);
  // Layers 54 + 20 + 63 (experts) + 15 (gate) + 23 (towers); mixing: 2 gated tasks * 4 * 3.
  CHECK(m.macs() == 137 + 15 + 23 + 24);
  CHECK(m.parameters() == 162 + 18 + 29);

  // The same through files; the name comes from the JSON, not the weights file.
  TempDir dir;
  WriteSafetensors(dir / "w.safetensors", ArchTensors());
  std::ofstream(dir / "arch.json") << kArch;
  const FloatModel from_files = ImportModel(dir / "w.safetensors", dir / "arch.json");
  CHECK(from_files.macs() == m.macs());
  CHECK(DenseNamed(from_files, "ctr.1").weight == DenseNamed(m, "ctr.1").weight);

  json unnamed = json::parse(kArch);
  unnamed.erase("name");
  CHECK(ImportModelFromArch(unnamed, ArchTensors(), "dir/w.safetensors").name == "w");
}

TEST_CASE("architecture JSON: unknown keys name the field path") {
  TempDir dir;
  json arch = json::parse(kArch);
  arch["tasks"][1]["tower"]["layers"][0]["activaton"] = "relu";
  WriteSafetensors(dir / "w.safetensors", ArchTensors());
  std::ofstream(dir / "arch.json") << arch.dump(2);
  CHECK_ERROR_HAS(ImportModel(dir / "w.safetensors", dir / "arch.json"),
                  "arch.json: tasks[1].tower.layers[0]: unknown key 'activaton'");

  std::ofstream(dir / "arch.json") << R"({"format": "mmoe-arch", "format": "x"})";
  CHECK_ERROR_HAS(ImportModel(dir / "w.safetensors", dir / "arch.json"), "arch.json: duplicate key 'format'");
  std::ofstream(dir / "arch.json") << "{\"format\": ";
  CHECK_ERROR_HAS(ImportModel(dir / "w.safetensors", dir / "arch.json"),
                  "arch.json: invalid JSON: parse error");
}

TEST_CASE("architecture JSON: tensors missing, unused, or not chaining") {
  const json arch = json::parse(kArch);
  Tensors t = ArchTensors();
  t.erase("e0.l2.weight");
  CHECK_ERROR_HAS(ImportModelFromArch(arch, t, "w.safetensors"),
                  "arch: experts[0].layers[1]: tensor 'e0.l2.weight' is not in w.safetensors");

  t = ArchTensors();
  t["extra.weight"] = Filled({2, 2}, 0);
  CHECK_ERROR_HAS(ImportModelFromArch(arch, t, "w.safetensors"), "w.safetensors: 1 tensor(s) not used",
                  "'extra.weight'");

  t = ArchTensors();
  t["e0.l2.weight"] = Filled({4, 7}, 0);
  CHECK_ERROR_HAS(ImportModelFromArch(arch, t, "w.safetensors"),
                  "w.safetensors: tensor 'e0.l2.weight' has shape [4,7] but layer e0.l2 expects "
                  "input width 6 (the previous layer's output) [arch: experts[0].layers[1]]");

  t = ArchTensors();
  t["e1.l1.weight"] = Filled({3, 5}, 0);
  t["e1.l1.bias"] = Filled({3}, 0);
  CHECK_ERROR_HAS(ImportModelFromArch(arch, t, "w"),
                  "expert 1 (e1.l1) ends at width 3 but expert 0 ends at 4");

  t = ArchTensors();
  t["g.0.weight"] = Filled({2, 5}, 0);
  t["g.0.bias"] = Filled({2}, 0);
  CHECK_ERROR_HAS(ImportModelFromArch(arch, t, "w"), "tensor 'g.0.weight' has 2 outputs",
                  "gate 0 mixes 3 experts");

  t = ArchTensors();
  t["dwell.0.weight"] = Filled({1, 5}, 0);
  CHECK_ERROR_HAS(ImportModelFromArch(arch, t, "w"), "layer dwell.0 expects input width 4",
                  "(the expert width)", "[arch: tasks[2].tower.layers[0]]");

  t = ArchTensors();
  t["e0.l1.bias"] = Filled({5}, 0);
  CHECK_ERROR_HAS(ImportModelFromArch(arch, t, "w"), "tensor 'e0.l1.bias' has shape [5]", "6 outputs");

  t = ArchTensors();
  t["e0.l1.weight"] = Filled({6, 5, 1}, 0);
  CHECK_ERROR_HAS(ImportModelFromArch(arch, t, "w"), "tensor 'e0.l1.weight' has shape [6,5,1]", "[out, in]");
}

TEST_CASE("architecture JSON: field errors") {
  const Tensors t = ArchTensors();
  const auto error_with = [&](auto mutate) {
    json arch = json::parse(kArch);
    mutate(arch);
    return ErrorOf([&] { ImportModelFromArch(arch, t, "w"); });
  };
  const auto check = [&](const std::string& message, const std::string& expected) {
    INFO("message: " << message);
    CHECK(message.find(expected) != std::string::npos);
  };
  check(error_with([](json& a) { a["format"] = "onnx"; }), "arch: format: expected \"mmoe-arch\"");
  check(error_with([](json& a) { a["version"] = 3; }), "arch: version: expected 1 or 2, got 3");
  check(error_with([](json& a) { a.erase("input_dim"); }), "arch: missing key 'input_dim'");
  check(error_with([](json& a) { a["input_dim"] = 0; }), "arch: input_dim: expected a positive");
  check(error_with([](json& a) { a["colour"] = 1; }), "arch: unknown key 'colour'");
  check(error_with([](json& a) { a["feature_names"] = {"a"}; }),
        "arch: feature_names: has 1 names but input_dim is 5");
  check(error_with([](json& a) { a["experts"] = json::array(); }), "arch: experts: must not be");
  check(error_with([](json& a) { a["tasks"][0]["gate"] = 1; }),
        "arch: tasks[0].gate: expected null or a gate index below 1, got 1");
  check(error_with([](json& a) { a["tasks"][0]["expert"] = 0; }),
        "arch: tasks[0].expert: only allowed with \"gate\": null");
  check(error_with([](json& a) { a["tasks"][2].erase("expert"); }), "arch: tasks[2]: missing key 'expert'");
  check(error_with([](json& a) { a["tasks"][2]["expert"] = 3; }),
        "arch: tasks[2].expert: expected an expert index below 3, got 3");
  check(error_with([](json& a) { a["tasks"][1]["name"] = "ctr"; }),
        "arch: tasks[1].name: duplicate task name 'ctr'");
  check(error_with([](json& a) { a["tasks"][1]["output"] = "softmax"; }),
        "arch: tasks[1].output: expected \"sigmoid\" or \"identity\"");
  check(error_with([](json& a) { a["gates"][0]["layers"][0]["activation"] = "relu"; }),
        "arch: gates[0].layers[0].activation: the last layer of gate 0 must be \"none\"");
  check(error_with([](json& a) { a["experts"][0]["layers"][0]["activation"] = "tanh"; }),
        "arch: experts[0].layers[0].activation: expected \"relu\" or \"none\", got \"tanh\"");
  check(error_with([](json& a) {
          a["gates"][0]["experts"] = {0, 2, 0};
        }),
        "arch: gates[0].experts[2]: expert 0 is listed twice");
  check(error_with([](json& a) {
          a["gates"][0]["experts"] = {0, 1, -1};
        }),
        "arch: gates[0].experts[2]: expected an expert index below 3, got -1");
  check(error_with([](json& a) { a["experts"][1]["layers"][0].erase("weight"); }),
        "arch: experts[1].layers[0]: missing key 'weight'");
  // Layers are named after their weights; found by fuzz_arch_json.
  check(error_with([](json& a) { a["experts"][1]["layers"][0]["weight"] = "e0.l1.weight"; }),
        "arch: experts[1].layers[0]: weight 'e0.l1.weight' is already used by experts[0].layers[0]; every "
        "layer needs weights of its own");
  check(error_with([](json& a) { a["tasks"][1]["name"] = "e0.l1"; }),
        "arch: tasks[1].tower: sigmoid 'e0.l1': a tensor named 'e0.l1' already exists");
}

// Version 2: a graph with activation nodes (LeakyReLU, PReLU), two sigmoids and a product.
const char* const kGraphArch = R"({
  "format": "mmoe-arch", "version": 2, "name": "esmm_like",
  "inputs": [{"name": "x", "width": 5, "feature_names": ["a", "b", "c", "d", "e"]}],
  "nodes": [
    {"op": "dense", "input": "x", "output": "ctr.0", "weight": "e0.l1.weight", "bias": "e0.l1.bias"},
    {"op": "activation", "input": "ctr.0", "output": "ctr.0.act", "function": "leaky_relu", "slope": 0.2},
    {"op": "dense", "input": "ctr.0.act", "output": "ctr.1", "weight": "dwell.0.weight"},
    {"op": "sigmoid", "input": "ctr.1", "output": "p_ctr"},
    {"op": "dense", "input": "x", "output": "cvr.0", "weight": "e1.l1.weight", "activation": "relu"},
    {"op": "activation", "input": "cvr.0", "output": "cvr.0.act", "function": "prelu", "weight": "slopes"},
    {"op": "dense", "input": "cvr.0.act", "output": "cvr.1", "weight": "cvr.0.weight", "bias": "cvr.0.bias"},
    {"op": "sigmoid", "input": "cvr.1", "output": "p_cvr"},
    {"op": "product", "inputs": ["p_ctr", "p_cvr"], "output": "p_ctcvr"}
  ],
  "outputs": [{"name": "ctr", "tensor": "p_ctr"}, "p_ctcvr"]
})";

Tensors GraphTensors() {
  Tensors t;
  AddLinear(&t, "e0.l1", 4, 5);
  AddLinear(&t, "dwell.0", 1, 4, /*bias=*/false);
  AddLinear(&t, "e1.l1", 4, 5, /*bias=*/false);
  AddLinear(&t, "cvr.0", 1, 4);
  t["slopes"] = Filled({4}, 0.1f);
  return t;
}

TEST_CASE("architecture JSON version 2: a graph of activations, sigmoids and a product") {
  const FloatModel m = ImportModelFromArch(json::parse(kGraphArch), GraphTensors(), "w.safetensors");
  CHECK(m.name == "esmm_like");
  CHECK(m.input_dim() == 5);
  CHECK(m.feature_names().size() == 5);
  CHECK(CountOp(m, Op::kDense) == 4);
  CHECK(CountOp(m, Op::kActivation) == 2);
  CHECK(m.task_names() == std::vector<std::string>{"ctr", "p_ctcvr"});
  const FloatActivation& leaky = m.activations[NodeNamed(m, "ctr.0.act").param];
  CHECK(leaky.function == Function::kLeakyRelu);
  CHECK(leaky.params == std::vector<float>{0.2f});
  CHECK(leaky.Describe() == "leaky_relu(0.200000003)");
  const FloatActivation& prelu = m.activations[NodeNamed(m, "cvr.0.act").param];
  CHECK(prelu.params.size() == 4);
  CHECK(prelu.Apply(-2.0, 3) == doctest::Approx(-2.0 * 0.103));
  CHECK(DenseNamed(m, "cvr.0").activation == Activation::kRelu);
  CHECK(DenseNamed(m, "ctr.1").bias == std::vector<float>(1, 0.0f));
  CHECK(InputNames(m, "p_ctcvr") == std::vector<std::string>{"p_ctr", "p_cvr"});
}

TEST_CASE("architecture JSON version 2: errors name the node") {
  const Tensors t = GraphTensors();
  const auto error_with = [&](auto mutate) {
    json arch = json::parse(kGraphArch);
    mutate(arch);
    return ErrorOf([&] { ImportModelFromArch(arch, t, "w"); });
  };
  const auto check = [&](const std::string& message, const std::string& expected) {
    INFO("message: " << message);
    CHECK(message.find(expected) != std::string::npos);
  };
  check(error_with([](json& a) { a["nodes"][2]["op"] = "conv"; }),
        "arch: nodes[2].op: unknown op 'conv'; expected dense, activation, softmax, mixture, sigmoid, "
        "product, embedding or concat");
  check(error_with([](json& a) { a["nodes"][2]["input"] = "later"; }),
        "arch: nodes[2].input: no tensor 'later' is computed before this point");
  check(error_with([](json& a) { a["nodes"][1]["function"] = "swish2"; }),
        "arch: nodes[1].function: unknown function 'swish2'; supported: relu, leaky_relu, prelu");
  check(error_with([](json& a) { a["nodes"][1]["slope"] = "x"; }),
        "arch: nodes[1].slope: expected a finite number");
  check(error_with([](json& a) { a["nodes"][0]["colour"] = 1; }), "arch: nodes[0]: unknown key 'colour'");
  check(error_with([](json& a) { a["nodes"][4]["activation"] = "gelu"; }),
        "arch: nodes[4].activation: expected \"relu\" or \"none\" (other functions are activation nodes)");
  check(error_with([](json& a) { a["nodes"][4]["output"] = "ctr.0"; }),
        "arch: nodes[4]: dense 'ctr.0': a tensor named 'ctr.0' already exists");
  check(error_with([](json& a) { a["nodes"][2]["input"] = "x"; }),
        "tensor 'dwell.0.weight' has shape [1,4] but layer dwell.0 expects input width 5 ('x') [arch: "
        "nodes[2]]");
  check(error_with([](json& a) {
          a["nodes"][8]["inputs"] = {"p_ctr", "ctr.1"};
        }),
        "product 'p_ctcvr' multiplies 'ctr.1', which is not a probability");
  check(error_with([](json& a) { a["outputs"][1] = "cvr.0"; }), "task 'cvr.0' reports 'cvr.0' of width 4");
  check(error_with([](json& a) { a["inputs"].push_back(a["inputs"][0]); }),
        "arch: inputs[1]: input 'x': a tensor with that name already exists");
  check(error_with([](json& a) { a["inputs"][0]["kind"] = "sparse"; }),
        "arch: inputs[0].kind: expected \"dense\", \"ids\" or \"bag\", got \"sparse\"");
  check(error_with([](json& a) {
          a["inputs"].push_back({{"name", "user"}, {"kind", "ids"}, {"width", 2}});
        }),
        "arch: inputs[1].width: applies to dense inputs only");
  check(
      error_with([](json& a) {
        a["inputs"].push_back({{"name", "user"}, {"kind", "ids"}});
        a["nodes"].push_back({{"op", "embedding"}, {"input", "user"}, {"output", "u"}, {"table", "slopes"}});
      }),
      "arch: nodes[9].table: tensor 'slopes' has shape [4]; a table is [rows, dim]");
  check(error_with([](json& a) {
          a["inputs"].push_back({{"name", "user"}, {"kind", "ids"}});
          a["nodes"].push_back({{"op", "embedding"},
                                {"input", "user"},
                                {"output", "u"},
                                {"table", "e0.l1.weight"},
                                {"pooling", "max"}});
        }),
        "arch: nodes[9].pooling: expected \"none\", \"sum\" or \"mean\", got \"max\"");
  Tensors bad = t;
  bad["slopes"] = Filled({2, 2}, 0.1f);
  CHECK_ERROR_HAS(
      ImportModelFromArch(json::parse(kGraphArch), bad, "w"),
      "arch: nodes[5].weight: tensor 'slopes' has shape [2,2]; a PReLU weight is [1] or [channels]");
  bad = t;
  bad["slopes"] = Filled({3}, 0.1f);
  CHECK_ERROR_HAS(ImportModelFromArch(json::parse(kGraphArch), bad, "w"),
                  "activation 'cvr.0.act' (prelu) has 3 parameters, expected 1 or 4");
  bad = t;
  bad["unused.weight"] = Filled({2, 2}, 0);
  CHECK_ERROR_HAS(ImportModelFromArch(json::parse(kGraphArch), bad, "w"), "1 tensor(s) not used",
                  "'unused.weight'");
}

TEST_CASE("Validate names the first problem") {
  const FloatModel good = ImportSeedLayout(SeedTensors(), "seed");
  const auto error_with = [&](auto mutate) {
    FloatModel m = good;
    mutate(m);
    return ErrorOf([&] { Validate(m); });
  };
  const auto check = [&](const std::string& message, const std::string& expected) {
    INFO("message: " << message);
    CHECK(message.find(expected) != std::string::npos);
  };
  const auto node = [](FloatModel& m, const std::string& name) -> mmoe::graph::Node& {
    return const_cast<mmoe::graph::Node&>(NodeNamed(m, name));
  };
  const auto dense = [&](FloatModel& m, const std::string& name) -> FloatDense& {
    return m.dense[node(m, name).param];
  };
  CHECK(error_with([](FloatModel&) {}).empty());
  check(error_with([](FloatModel& m) { m.graph.outputs.clear(); }), "the model has no outputs");
  check(error_with([](FloatModel& m) {
          m.graph.inputs[0].feature_names = {"a", "b"};
        }),
        "input 'input' has 2 feature names for 6 features");
  check(error_with([&](FloatModel& m) { dense(m, "experts.1.2").weight.pop_back(); }),
        "dense 'experts.1.2' has 31 weights, expected out * in = 32");
  check(error_with([&](FloatModel& m) { dense(m, "experts.0.0").bias[1] = INFINITY; }),
        "dense 'experts.0.0': bias[1] is Inf");
  check(error_with([&](FloatModel& m) { dense(m, "experts.0.2").in = 7; }),
        "dense 'experts.0.2' reads width 7 but its input 'experts.0.0' is 8");
  // A mixture of tensors of different widths; one whose probabilities do not fit.
  check(error_with([&](FloatModel& m) { node(m, "tower_input.task1").inputs[2] = m.graph.inputs[0].tensor; }),
        "mixture 'tower_input.task1' mixes 'input' of width 6 into width 4");
  check(error_with([&](FloatModel& m) { node(m, "tower_input.task1").inputs.pop_back(); }),
        "mixture 'tower_input.task1' has 3 probabilities ('gates[0].softmax') for 2 mixed tensors");
  // A softmax reading an activation, a dense layer reading logits, a ReLU before the softmax.
  check(error_with([&](FloatModel& m) {
          node(m, "gates[0].softmax").inputs[0] = node(m, "gating1_network.0").output;
        }),
        "softmax 'gates[0].softmax' reads 'gating1_network.0', which is not a dense layer's logits");
  check(error_with(
            [&](FloatModel& m) { node(m, "task1_head.2").inputs[0] = node(m, "gating1_network.4").output; }),
        "softmax 'gates[0].softmax' reads 'gating1_network.4', which is not a dense layer's logits");
  check(error_with(
            [&](FloatModel& m) { node(m, "task1_head.2").inputs[0] = node(m, "gates[0].softmax").output; }),
        "dense 'task1_head.2' reads 'gates[0].softmax', a float32 logit or score");
  check(error_with([&](FloatModel& m) { dense(m, "gating1_network.4").activation = Activation::kRelu; }),
        "dense 'gating1_network.4' has a ReLU but its output 'gating1_network.4' goes straight to a softmax");
  // The graph's order, names and outputs.
  check(error_with([&](FloatModel& m) { node(m, "experts.0.0").inputs[0] = node(m, "experts.0.2").output; }),
        "reads tensor 2 ('experts.0.2') before any node computes it");
  check(
      error_with([&](FloatModel& m) { m.graph.tensors[node(m, "experts.0.2").output].name = "experts.0.0"; }),
      "two tensors are named 'experts.0.0'");
  check(error_with([](FloatModel& m) { m.graph.outputs[1].name = "task1"; }),
        "task 'task1': duplicate task name");
  check(error_with([](FloatModel& m) { m.graph.outputs[1].name.clear(); }), "a task has an empty name");
  check(error_with([&](FloatModel& m) { m.graph.outputs[0].tensor = node(m, "experts.0.2").output; }),
        "task 'task1' reports 'experts.0.2' of width 4; a task's score is one logit, probability or product");
  check(error_with([&](FloatModel& m) {
          FloatDense& last = dense(m, "task1_head.2");
          last.out = 2;
          last.weight.resize(8);
          last.bias.resize(2);
        }),
        "dense 'task1_head.2' has 2 outputs but 'task1_head.2' is 1");
}
