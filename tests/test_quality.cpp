// Quality measurement: the metrics of mmoe eval, the converter's simulation of the model file
// against the runtime, and Evaluate's per-layer pairing.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "mmoe/converter/calibrate.h"
#include "mmoe/converter/convert.h"
#include "mmoe/converter/evaluate.h"
#include "mmoe/converter/float_reference.h"
#include "mmoe/converter/quality.h"
#include "mmoe/converter/rows.h"
#include "mmoe/mmoe.h"
#include "mmoe_generated.h"
#include "model_data.h"
#include "plan/executor.h"
#include "support/fixtures.h"
#include "support/random_model.h"

namespace mmoe {
namespace {

using converter::Matrix;

// Share of flipped pairs by looking at every pair.
double BruteFlipped(const std::vector<double>& a, const std::vector<double>& b) {
  double flipped = 0, pairs = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    for (size_t j = i + 1; j < a.size(); ++j) {
      pairs += 1;
      if ((a[i] < a[j] && b[i] > b[j]) || (a[i] > a[j] && b[i] < b[j])) flipped += 1;
    }
  }
  return flipped / pairs;
}

std::shared_ptr<const Model> Load(const std::vector<uint8_t>& bytes) {
  std::shared_ptr<const Model> model;
  const Status s = Model::LoadBuffer(bytes.data(), bytes.size(), &model);
  REQUIRE_MESSAGE(s.ok(), s.message());
  return model;
}

}  // namespace

TEST_CASE("AUC and log loss on hand-computed cases") {
  // Positives at 0.9 and 0.4, negatives at 0.5 and 0.1: 3 of 4 pairs ordered right.
  CHECK(converter::Auc({0.9, 0.5, 0.4, 0.1}, {1, 0, 1, 0}) == doctest::Approx(0.75));
  // A tie between a positive and a negative counts half.
  CHECK(converter::Auc({0.5, 0.5, 0.9}, {1, 0, 1}) == doctest::Approx(0.75));
  CHECK(std::isnan(converter::Auc({0.1, 0.2}, {1, 1})));
  CHECK(converter::LogLoss({0.8, 0.25}, {1, 0}) == doctest::Approx(-(std::log(0.8) + std::log(0.75)) / 2));
  // Clipped, not infinite.
  CHECK(std::isfinite(converter::LogLoss({0.0}, {1})));
}

TEST_CASE("flipped pairs: exact count in O(n log n) equals the count over every pair") {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> level(0, 40);  // coarse values: many ties on both sides
  std::vector<double> a(700), b(700);
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = level(rng);
    b[i] = a[i] + level(rng) / 8;
  }
  CHECK(converter::FlippedPairShare(a, b) == BruteFlipped(a, b));
  CHECK(converter::FlippedPairShare(a, a) == 0.0);
  std::vector<double> reversed(a.rbegin(), a.rend()), up(a.size());
  for (size_t i = 0; i < up.size(); ++i) up[i] = static_cast<double>(i);
  std::vector<double> down(up.rbegin(), up.rend());
  CHECK(converter::FlippedPairShare(up, down) == 1.0);
}

TEST_CASE("SQNR in dB") {
  CHECK(converter::SqnrDb(100.0, 1.0) == doctest::Approx(20.0));
  CHECK(std::isinf(converter::SqnrDb(1.0, 0.0)));
}

// Every tensor a reference executor computes, as its observer sees it: [tensor][row][element].
class Observed : public TensorObserver {
 public:
  explicit Observed(const graph::Graph& g) : g_(g), rows_(g.tensors.size()), calls_(g.tensors.size(), 0) {}
  void Observe(int32_t tensor, const void* data, size_t batch, size_t stride) override {
    const graph::Tensor& t = g_.tensors[tensor];
    CHECK(stride == static_cast<size_t>(t.width));
    ++calls_[tensor];
    for (size_t i = 0; i < batch; ++i) {
      const float* f = static_cast<const float*>(data) + i * stride;
      if (t.type == graph::TensorType::kFloat) rows_[tensor].push_back(std::vector<float>(f, f + t.width));
    }
  }
  const graph::Graph& g_;
  std::vector<std::vector<std::vector<float>>> rows_;  // float tensors only
  std::vector<int> calls_;
};

TEST_CASE("the reference executor's observer sees every tensor once per tile, scores included") {
  struct Case {
    const char* label;
    converter::FloatModel model;
    testing::FeatureKind features;
    converter::ActivationPrecision precision;
  };
  testing::RandomModelSpec shared_bottom;
  shared_bottom.gain = 3.0f;
  shared_bottom.tasks = {{"a", -1, 0, {8}}, {"b", -1, 1, {6, 4}, testing::TaskOutput::kIdentity}};
  testing::RandomModelSpec mmoe;
  mmoe.gain = 3.0f;
  mmoe.gate_gain = 3.0f;
  mmoe.num_experts = 3;
  mmoe.gates = {{{0, 2}, {8}}, {{}, {}}};
  mmoe.tasks = {{"x", 0, -1, {8}}, {"y", 1, -1, {5}}};
  mmoe.hidden = {converter::Function::kGelu, {}};
  const std::vector<Case> cases = {
      {"seed, mixed", testing::SeedFloatModel(), testing::FeatureKind::kBinary,
       converter::ActivationPrecision::kMixed},
      {"seed, int8", testing::SeedFloatModel(), testing::FeatureKind::kBinary,
       converter::ActivationPrecision::kInt8},
      {"shared bottom, gaussian", testing::RandomFloatModel(shared_bottom), testing::FeatureKind::kGaussian,
       converter::ActivationPrecision::kMixed},
      {"mmoe, gelu, gaussian, int8", testing::RandomFloatModel(mmoe), testing::FeatureKind::kGaussian,
       converter::ActivationPrecision::kInt8},
      {"ple", testing::RandomPleModel({}), testing::FeatureKind::kGaussian,
       converter::ActivationPrecision::kMixed},
      {"esmm", testing::RandomEsmmModel(16, {8}, true, 2.0f, 1), testing::FeatureKind::kBinary,
       converter::ActivationPrecision::kMixed},
  };
  for (const Case& c : cases) {
    CAPTURE(c.label);
    const Matrix calib = testing::RandomFeatures(300, c.model.input_dim(), c.features, 1);
    // Rows beyond the calibrated range too (scaled up), where clamping matters.
    Matrix x = testing::RandomFeatures(100, c.model.input_dim(), c.features, 2);
    for (size_t i = 0; i < x.data.size() / 4; ++i) x.data[i] *= 3.0f;
    converter::ConvertOptions options;
    options.activations = c.precision;
    const auto model = Load(converter::Convert(c.model, calib, options).bytes);
    const graph::Graph& g = model->data().graph;
    Observed observed(g);
    std::unique_ptr<Executor> exec;
    REQUIRE(CreateReferenceExecutor(model->data(), 64, &exec, &observed).ok());
    std::vector<float> scores(static_cast<size_t>(x.rows * model->num_tasks()));
    exec->ScoreTile(x.data.data(), nullptr, 64, scores.data());
    exec->ScoreTile(x.row(64), nullptr, 36, scores.data() + 64 * model->num_tasks());
    for (size_t t = 0; t < g.tensors.size(); ++t) {
      CAPTURE(g.tensors[t].name);
      CHECK(observed.calls_[t] == 2);
    }
    // The outputs it saw are the scores it returned, and the runtime's.
    SessionOptions reference;
    reference.backend = Backend::kReference;
    const Matrix runtime = testing::ScoreAll(model, x, reference);
    CHECK(std::memcmp(runtime.data.data(), scores.data(), scores.size() * sizeof(float)) == 0);
    for (int o = 0; o < model->num_tasks(); ++o) {
      const auto& rows = observed.rows_[g.outputs[o].tensor];
      REQUIRE(rows.size() == static_cast<size_t>(x.rows));
      for (int64_t i = 0; i < x.rows; ++i) CHECK(rows[i][0] == runtime.row(i)[o]);
    }
  }
}

TEST_CASE("Evaluate pairs each float tensor with its quantized counterpart") {
  const converter::FloatModel& seed = testing::SeedFloatModel();
  const auto model = testing::SeedModel();
  const Matrix labels = converter::ReadNpy(testing::SourcePath("examples/seed/eval_labels.npy"));
  converter::MatrixRowSource rows(testing::SeedEval(), "eval");
  converter::EvalOptions options;
  options.chunk_rows = 333;
  options.sample_rows = 50;
  const converter::EvalResult r = converter::Evaluate(seed, model, rows, &labels, options);
  CHECK(r.rows == 2000);
  CHECK(r.simulation_mismatches == 0);
  // The float AUC is PyTorch's (examples/seed/README.md: 0.8877 and 0.8970).
  CHECK(r.task_evals[0].auc_float == doctest::Approx(0.8877).epsilon(2e-4));
  CHECK(r.task_evals[1].auc_float == doctest::Approx(0.8970).epsilon(2e-4));
  for (const auto& e : r.task_evals) {
    CHECK(std::fabs(e.auc_int8 - e.auc_float) < 0.001);
    CHECK(e.agreement.spearman > 0.9995);
    CHECK(e.flipped_pairs > 0.0);
    CHECK(e.flipped_pairs < 0.01);
  }
  // Every tensor of the graph, paired by name: input, 4 experts x 3 layers, 2 gates x (3 layers
  // + softmax), 2 x (tower input + 3 layers + sigmoid).
  CHECK(r.layers.size() == 31);
  CHECK(r.layers[0].name == "input");
  CHECK(r.layers[0].type == "int8");
  CHECK(std::isinf(r.layers[0].sqnr_db()));  // 0/1 features are exact in int8
  for (size_t i = 1; i < r.layers.size(); ++i) {
    CAPTURE(r.layers[i].name);
    CHECK(r.layers[i].sqnr_db() > 30.0);
    CHECK(r.layers[i].sqnr_db() < 80.0);
  }
  REQUIRE(r.mixtures.size() == 2);
  CHECK(r.mixtures[1].name == "tower_input.click");
  CHECK(r.mixtures[1].experts ==
        std::vector<std::string>{"experts.0.4", "experts.1.4", "experts.2.4", "experts.3.4"});
  for (const auto& m : r.mixtures) {
    double sum = 0;
    for (double w : m.mean_weight) sum += w;
    CHECK(sum == doctest::Approx(1.0));
  }
  CHECK(r.float_sample.rows == 50);
  // The same figures whatever the chunking.
  options.chunk_rows = 2000;
  const converter::EvalResult whole = converter::Evaluate(seed, model, rows, &labels, options);
  CHECK(whole.layers[5].noise == doctest::Approx(r.layers[5].noise));
  CHECK(whole.task_evals[1].flipped_pairs == r.task_evals[1].flipped_pairs);
  // The first rows only, with their labels.
  options.max_rows = 500;
  const converter::EvalResult head = converter::Evaluate(seed, model, rows, &labels, options);
  CHECK(head.rows == 500);
  CHECK(head.task_evals[0].auc_float != r.task_evals[0].auc_float);
  CHECK(head.task_evals[0].auc_float > 0.8);
}

TEST_CASE("Evaluate's input SQNR is the input quantization's own") {
  // Gaussian inputs are not exact in int8: the noise Evaluate reports for the input tensor
  // must be what quantizing the rows with the file's input scale gives.
  testing::RandomModelSpec spec;
  spec.gain = 3.0f;
  spec.gates = {{{}, {}}};
  spec.tasks = {{"t", 0, -1, {8}}};
  const converter::FloatModel fm = testing::RandomFloatModel(spec);
  const Matrix x = testing::RandomFeatures(500, fm.input_dim(), testing::FeatureKind::kGaussian, 4);
  for (const auto precision : {converter::InputPrecision::kAuto, converter::InputPrecision::kInt8}) {
    converter::ConvertOptions options;
    options.input_precision = precision;
    const auto model = Load(converter::Convert(fm, x, options).bytes);
    converter::MatrixRowSource rows(x, "x");
    const converter::EvalResult r = converter::Evaluate(fm, model, rows, nullptr, converter::EvalOptions());
    const graph::Tensor& q = model->data().graph.tensors[model->data().input_tensor];
    // auto: int16 (symmetric), since Gaussian rows are not on the int8 grid.
    CHECK(q.type == (precision == converter::InputPrecision::kAuto ? graph::TensorType::kInt16
                                                                   : graph::TensorType::kInt8));
    const bool int16 = q.type == graph::TensorType::kInt16;
    double signal = 0, noise = 0;
    for (float v : x.data) {
      const double level = std::clamp(static_cast<double>(std::nearbyint(v / q.scale)) + q.zero_point,
                                      int16 ? -32768.0 : -128.0, int16 ? 32767.0 : 127.0);
      const double back = q.scale * (level - q.zero_point);
      signal += static_cast<double>(v) * v;
      noise += (back - v) * (back - v);
    }
    CHECK(r.layers[0].name == "input");
    CHECK(r.layers[0].sqnr_db() == doctest::Approx(converter::SqnrDb(signal, noise)).epsilon(1e-4));
    CHECK_FALSE(r.task_evals[0].has_labels);
  }
}

TEST_CASE("Evaluate gives no log loss for an identity task") {
  testing::RandomModelSpec spec;
  spec.gain = 3.0f;
  spec.gates = {{{}, {}}};
  spec.tasks = {{"p", 0, -1, {8}}, {"z", 0, -1, {8}, testing::TaskOutput::kIdentity}};
  const converter::FloatModel fm = testing::RandomFloatModel(spec);
  const Matrix x = testing::RandomFeatures(300, fm.input_dim(), testing::FeatureKind::kBinary, 5);
  Matrix labels;
  labels.rows = x.rows;
  labels.cols = 2;
  for (int64_t i = 0; i < x.rows; ++i)
    labels.data.insert(labels.data.end(), {float(i % 2), float(i % 3 == 0)});
  const auto model = Load(converter::Convert(fm, x, converter::ConvertOptions()).bytes);
  converter::MatrixRowSource rows(x, "x");
  const converter::EvalResult r = converter::Evaluate(fm, model, rows, &labels, converter::EvalOptions());
  CHECK(std::isfinite(r.task_evals[0].logloss_float));
  CHECK(std::isnan(r.task_evals[1].logloss_float));
  CHECK(std::isfinite(r.task_evals[1].auc_float));  // ranking needs no probabilities
  CHECK_FALSE(r.task_evals[1].regression);
}

TEST_CASE("Evaluate measures a regression task against real-valued labels beside a binary task") {
  testing::RandomModelSpec spec;
  spec.gain = 3.0f;
  spec.gates = {{{}, {}}};
  spec.tasks = {{"click", 0, -1, {8}}, {"dwell", 0, -1, {8}, testing::TaskOutput::kIdentity}};
  const converter::FloatModel fm = testing::RandomFloatModel(spec);
  const Matrix x = testing::RandomFeatures(400, fm.input_dim(), testing::FeatureKind::kBinary, 6);
  const Matrix f = converter::FloatReference(fm).Forward(x);
  Matrix labels;
  labels.rows = x.rows;
  labels.cols = 2;
  // The dwell label: the float score plus noise, so both models track it closely.
  for (int64_t i = 0; i < x.rows; ++i)
    labels.data.insert(labels.data.end(), {float(i % 2), f.row(i)[1] + 0.1f * float(i % 5)});
  const auto model = Load(converter::Convert(fm, x, converter::ConvertOptions()).bytes);
  converter::MatrixRowSource rows(x, "x");
  const converter::EvalResult r = converter::Evaluate(fm, model, rows, &labels, converter::EvalOptions());
  CHECK_FALSE(r.task_evals[0].regression);
  CHECK(std::isfinite(r.task_evals[0].logloss_int8));
  const converter::TaskEval& dwell = r.task_evals[1];
  REQUIRE(dwell.regression);
  // The labels differ from the float scores by 0, 0.1, ..., 0.4 in turn: RMSE sqrt(0.06), MAE 0.2.
  CHECK(dwell.rmse_float == doctest::Approx(std::sqrt(0.06)).epsilon(1e-3));
  CHECK(dwell.mae_float == doctest::Approx(0.2).epsilon(1e-3));
  CHECK(std::fabs(dwell.rmse_int8 - dwell.rmse_float) < 0.01);
  CHECK(dwell.spearman_float > 0.9);
  CHECK(std::fabs(dwell.spearman_int8 - dwell.spearman_float) < 0.01);
  // A probability task's labels must be 0 or 1; a regression's may be anything finite.
  labels.data[0] = 0.5f;
  CHECK_THROWS_WITH_AS(converter::Evaluate(fm, model, rows, &labels, converter::EvalOptions()),
                       doctest::Contains("task 0 scores a probability, whose labels must be 0 or 1"),
                       converter::ConvertError);
}

TEST_CASE("labels are checked against the rows and the tasks") {
  Matrix labels;
  labels.rows = 3;
  labels.cols = 2;
  labels.data = {0, 1, 1, 0, 0.5f, 1};
  CHECK_THROWS_WITH_AS(converter::CheckLabels(labels, 3, {true, true}, "y.npy"),
                       doctest::Contains("y.npy: row 2, column 0"), converter::ConvertError);
  CHECK_NOTHROW(converter::CheckLabels(labels, 3, {false, true}, "y.npy"));  // a regression's 0.5
  CHECK_THROWS_WITH_AS(converter::CheckLabels(labels, 4, {true, true}, "y.npy"),
                       doctest::Contains("has 3 rows"), converter::ConvertError);
  CHECK_THROWS_WITH_AS(converter::CheckLabels(labels, 3, {true}, "y.npy"), doctest::Contains("2 columns"),
                       converter::ConvertError);
  labels.data[1] = NAN;
  CHECK_THROWS_WITH_AS(converter::CheckLabels(labels, 3, {false, false}, "y.npy"),
                       doctest::Contains("row 0, column 1 is not finite"), converter::ConvertError);
}

}  // namespace mmoe
