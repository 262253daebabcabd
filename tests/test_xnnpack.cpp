// The xnnpack backend (built with MMOE_WITH_XNNPACK): available and named, XNNPACK really runs
// the int8 -> int8 layers, layers it refuses fall back to our kernels,
// and changing batch sizes (which re-set-up XNNPACK's operators) keeps the reference bytes.
// tests/test_backends.cpp covers the byte equality over many shapes.
#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "support/fixtures.h"
#include "support/model_builder.h"
#include "support/random_model.h"

#if MMOE_WITH_XNNPACK
#include "kernels/gemm.h"
#include "model_data.h"
#include "plan/executor.h"
#include "plan/program.h"
#include "plan/program_cache.h"
#include "xnnpack/xnnpack_executor.h"
#endif

namespace mmoe {
namespace {

#if MMOE_WITH_XNNPACK

using converter::Matrix;

std::unique_ptr<Session> MakeSession(const std::shared_ptr<const Model>& model, Backend backend,
                                     int tile = 64, const char* isa = nullptr) {
  SessionOptions options;
  options.backend = backend;
  options.tile_items = tile;
  options.isa = isa;
  std::unique_ptr<Session> session;
  const Status s = Session::Create(model, options, &session);
  REQUIRE_MESSAGE(s.ok(), s.message());
  return session;
}

// Scores the first `rows` rows of `x`.
std::vector<float> ScoreRows(Session& session, const Matrix& x, int64_t rows) {
  std::vector<float> out(static_cast<size_t>(rows * session.model().num_tasks()), -1.0f);
  const Status s = session.Score(x.data.data(), static_cast<size_t>(rows), out.data(), out.size());
  REQUIRE_MESSAGE(s.ok(), s.message());
  return out;
}

bool SameBytes(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// The reference scores of `x` on `model`, then the xnnpack backend's at several tile sizes.
void CheckMatchesReference(const std::shared_ptr<const Model>& model, const Matrix& x) {
  auto reference = MakeSession(model, Backend::kReference);
  const std::vector<float> expected = ScoreRows(*reference, x, x.rows);
  for (int tile : {1, 7, 64}) {
    auto session = MakeSession(model, Backend::kXnnpack, tile);
    INFO("tile " << tile);
    CHECK(SameBytes(ScoreRows(*session, x, x.rows), expected));
  }
}

std::shared_ptr<const Model> Load(const std::vector<uint8_t>& bytes) {
  std::shared_ptr<const Model> model;
  const Status s = Model::LoadBuffer(bytes.data(), bytes.size(), &model);
  REQUIRE_MESSAGE(s.ok(), s.message());
  return model;
}

// A model whose experts are one layer (int16 outputs in `mixed`) and whose gates have no
// hidden layer (logits): no layer reads and writes int8, so XNNPACK runs nothing.
std::shared_ptr<const Model> ModelWithoutInt8Layers() {
  testing::RandomModelSpec spec;
  spec.seed = 7;
  spec.gain = 2.0f;
  spec.gate_gain = 2.0f;
  spec.input_dim = 37;
  spec.num_experts = 5;
  spec.expert_widths = {24};
  for (int t = 0; t < 2; ++t) {
    spec.gates.push_back(testing::RandomGateSpec{});
    testing::RandomTaskSpec task;
    task.gate = t;
    task.tower = {9};
    spec.tasks.push_back(task);
  }
  const Matrix calib = testing::RandomFeatures(256, spec.input_dim, testing::FeatureKind::kGaussian, 8);
  converter::ConvertOptions options;
  options.activations = converter::ActivationPrecision::kMixed;
  return Load(converter::Convert(testing::RandomFloatModel(spec), calib, options).bytes);
}

// The minimal model with a distinct bias per layer, so that every layer is identifiable from
// the Program's copies of its bias and multipliers.
testing::ModelSpec DistinctMinimalSpec() {
  testing::ModelSpec spec = testing::MinimalModelSpec();
  int32_t next = 1;
  auto distinct = [&](testing::MlpSpec& mlp) {
    for (testing::DenseSpec& d : mlp.layers) {
      for (int32_t& b : d.bias) b = 3 * next++;
    }
  };
  for (auto& e : spec.experts) distinct(e);
  for (auto& g : spec.gates) distinct(g.mlp);
  for (auto& t : spec.tasks) distinct(t.tower);
  return spec;
}

Matrix MinimalFeatures() { return testing::RandomFeatures(300, 3, testing::FeatureKind::kGaussian, 11); }

// Int8 -> int8 layers of `model`: what the xnnpack backend should hand to XNNPACK.
int Int8Layers(const ModelData& m) {
  int n = 0;
  for (const DenseLayer& l : m.dense) n += l.input == ElementType::kInt8 && l.output == DenseOutput::kInt8;
  return n;
}

// The stats of an xnnpack executor on `model` with the given fallback kernels.
XnnpackExecutorStats Stats(const std::shared_ptr<const Model>& model, const char* isa = nullptr) {
  const GemmKernels* kernels = FindGemmKernels(isa);
  REQUIRE(kernels);
  std::unique_ptr<Executor> exec;
  const Status s = CreateXnnpackExecutor(
      model->data(), model->programs().Get(model->data(), PlanCapsOf(*kernels)), *kernels, 16, &exec);
  REQUIRE_MESSAGE(s.ok(), s.message());
  XnnpackExecutorStats stats;
  REQUIRE(GetXnnpackExecutorStats(*exec, &stats));
  return stats;
}

// The xnnpack executor runs `xnnpack` int8 -> int8 layers through XNNPACK and falls back to our
// kernels for `fallback` of them.
void CheckSplit(const std::shared_ptr<const Model>& model, int xnnpack, int fallback) {
  const XnnpackExecutorStats stats = Stats(model);
  CHECK(stats.xnnpack_layers == xnnpack);
  CHECK(stats.fallback_layers == fallback);
}

TEST_CASE("xnnpack: the backend is built in, available and named in the session's isa") {
  REQUIRE(BackendAvailable(Backend::kXnnpack));
  auto session = MakeSession(testing::SeedModel(), Backend::kXnnpack);
  CHECK(session->backend() == Backend::kXnnpack);
  const std::string best = SimdIsaNames()[0];
  CHECK(std::string(session->isa()) == "xnnpack+" + best);
  // `isa` picks the kernels of the layers XNNPACK does not run.
  const char* const* isas = SimdIsaNames();
  while (isas[1]) ++isas;  // the simplest kernels
  auto simplest = MakeSession(testing::SeedModel(), Backend::kXnnpack, 64, *isas);
  CHECK(std::string(simplest->isa()) == std::string("xnnpack+") + *isas);
  SessionOptions options;
  options.backend = Backend::kXnnpack;
  options.isa = "no-such-isa";
  std::unique_ptr<Session> refused;
  CHECK(Session::Create(testing::SeedModel(), options, &refused).code() == StatusCode::kUnavailable);
}

TEST_CASE("xnnpack: XNNPACK runs every int8 -> int8 layer of the seed model, whatever the packing") {
  const int expected = Int8Layers(testing::SeedModel()->data());
  REQUIRE(expected > 0);
  for (const char* const* isa = SimdIsaNames(); *isa; ++isa) {
    INFO("fallback kernels " << *isa);
    const XnnpackExecutorStats stats = Stats(testing::SeedModel(), *isa);
    CHECK(stats.xnnpack_layers == expected);
    CHECK(stats.fallback_layers == 0);
  }
}

TEST_CASE("xnnpack: a model with no int8 -> int8 layer runs on our kernels alone") {
  const std::shared_ptr<const Model> model = ModelWithoutInt8Layers();
  REQUIRE(Int8Layers(model->data()) == 0);
  CheckSplit(model, 0, 0);
  CheckMatchesReference(model, testing::RandomFeatures(200, 37, testing::FeatureKind::kGaussian, 9));
}

TEST_CASE("xnnpack: layers XNNPACK refuses fall back to our kernels") {
  SUBCASE("every layer identifiable: all five int8 -> int8 layers run in XNNPACK") {
    const auto model = Load(testing::BuildModel(DistinctMinimalSpec()));
    CheckSplit(model, 5, 0);
    CheckMatchesReference(model, MinimalFeatures());
  }
  SUBCASE("a multiplier of 256 or more (XNNPACK's limit)") {
    testing::ModelSpec spec = DistinctMinimalSpec();
    spec.experts[0].layers[1].multipliers[1] = 300.0f;
    const auto model = Load(testing::BuildModel(spec));
    CheckSplit(model, 4, 1);
    CheckMatchesReference(model, MinimalFeatures());
  }
  SUBCASE("ReLU with zero point 127: output min == max, which XNNPACK refuses") {
    testing::ModelSpec spec = DistinctMinimalSpec();
    const testing::QuantSpec top{fb::ElementType::INT8, 1.0f / 16, 127};
    spec.experts[0].layers[0].output = top;
    spec.experts[0].layers[1].input = top;
    const auto model = Load(testing::BuildModel(spec));
    CheckSplit(model, 4, 1);
    CheckMatchesReference(model, MinimalFeatures());
  }
  SUBCASE("identical layers (the minimal model's two experts) are interchangeable") {
    const auto model = Load(testing::BuildModel(testing::MinimalModelSpec()));
    CheckSplit(model, 5, 0);
    CheckMatchesReference(model, MinimalFeatures());
  }
  SUBCASE("same-shaped layers with equal biases and multipliers but different weights") {
    // Swapping two weights of a row keeps its sum, hence the folded bias: expert 1's layers
    // differ from expert 0's only in weights. Each GEMM segment knows its own layer, so XNNPACK
    // runs all of them, each with its own weights.
    testing::ModelSpec spec = testing::MinimalModelSpec();
    for (testing::DenseSpec& d : spec.experts[1].layers) std::swap(d.weights[0], d.weights[1]);
    const auto model = Load(testing::BuildModel(spec));
    CheckSplit(model, 5, 0);
    CheckMatchesReference(model, MinimalFeatures());
  }
}

TEST_CASE("xnnpack: batch sizes 1000, 3, 1000 and 1 in one session keep the reference bytes") {
  const Matrix& x = testing::SeedEval();
  REQUIRE(x.rows >= 1000);
  auto reference = MakeSession(testing::SeedModel(), Backend::kReference);
  for (int tile : {64, 256, 1000}) {
    auto session = MakeSession(testing::SeedModel(), Backend::kXnnpack, tile);
    for (int64_t rows : {1000, 3, 1000, 1, 17, 1000}) {
      INFO("tile " << tile << ", " << rows << " rows");
      CHECK(SameBytes(ScoreRows(*session, x, rows), ScoreRows(*reference, x, rows)));
    }
  }
}

TEST_CASE("xnnpack: threads (an executor and its operators each) give the reference bytes") {
  const Matrix& x = testing::SeedEval();
  auto reference = MakeSession(testing::SeedModel(), Backend::kReference);
  SessionOptions options;
  options.backend = Backend::kXnnpack;
  options.tile_items = 16;
  options.threads = 3;
  std::unique_ptr<Session> session;
  REQUIRE(Session::Create(testing::SeedModel(), options, &session).ok());
  for (int64_t rows : {x.rows, int64_t{17}, x.rows}) {
    INFO(rows << " rows");
    CHECK(SameBytes(ScoreRows(*session, x, rows), ScoreRows(*reference, x, rows)));
  }
}

#else  // !MMOE_WITH_XNNPACK

TEST_CASE("xnnpack: without MMOE_WITH_XNNPACK the backend is unavailable") {
  CHECK(!BackendAvailable(Backend::kXnnpack));
  SessionOptions options;
  options.backend = Backend::kXnnpack;
  std::unique_ptr<Session> session;
  CHECK(Session::Create(testing::SeedModel(), options, &session).code() == StatusCode::kUnavailable);
}

#endif

}  // namespace
}  // namespace mmoe
