// Issue 16's levers for real-valued inputs: the input's element type chosen from the
// calibration rows, and weights rounded by error feedback against each layer's inputs.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "mmoe/converter/convert.h"
#include "mmoe/converter/weight_rounding.h"
#include "model_data.h"
#include "support/fixtures.h"
#include "support/random_model.h"

namespace mmoe {
namespace {

using converter::InputPrecision;
using converter::Matrix;

std::shared_ptr<const Model> Load(const std::vector<uint8_t>& bytes) {
  std::shared_ptr<const Model> model;
  const Status s = Model::LoadBuffer(bytes.data(), bytes.size(), &model);
  REQUIRE_MESSAGE(s.ok(), s.message());
  return model;
}

converter::FloatModel SmallModel(int input_dim) {
  testing::RandomModelSpec spec;
  spec.input_dim = input_dim;
  spec.gates = {{{}, {}}};
  spec.tasks = {{"t", 0, -1, {8}}};
  return testing::RandomFloatModel(spec);
}

TEST_CASE("the input is int16 where int8 cannot hold the calibration values, int8 where it can") {
  const converter::FloatModel fm = SmallModel(20);
  const Matrix binary = testing::RandomFeatures(300, 20, testing::FeatureKind::kBinary, 1);
  const Matrix gaussian = testing::RandomFeatures(300, 20, testing::FeatureKind::kGaussian, 2);
  Matrix counts = binary;  // small integers 0..5: on the int8 grid of [0, 5] too
  for (size_t i = 0; i < counts.data.size(); ++i) counts.data[i] = static_cast<float>(i * 7 % 6);
  const auto input16 = [&](const Matrix& x, InputPrecision p) {
    converter::ConvertOptions options;
    options.input_precision = p;
    const converter::ConvertResult r = converter::Convert(fm, x, options);
    const std::shared_ptr<const Model> model = Load(r.bytes);
    CHECK(model->data().input16 == r.int16_input);
    CHECK(model->format_version_minor() == (r.int16_input ? 3 : 1));
    return r.int16_input;
  };
  CHECK_FALSE(input16(binary, InputPrecision::kAuto));
  CHECK_FALSE(input16(counts, InputPrecision::kAuto));
  CHECK(input16(gaussian, InputPrecision::kAuto));
  CHECK_FALSE(input16(gaussian, InputPrecision::kInt8));
  {
    converter::ConvertOptions all_int8;  // --activations int8: the input too, unless asked
    all_int8.activations = converter::ActivationPrecision::kInt8;
    CHECK_FALSE(converter::Convert(fm, gaussian, all_int8).int16_input);
    all_int8.input_precision = InputPrecision::kInt16;
    CHECK(converter::Convert(fm, gaussian, all_int8).int16_input);
  }
  CHECK(input16(binary, InputPrecision::kInt16));
}

TEST_CASE("int16 input is refused where the first layers' accumulators could overflow") {
  const converter::FloatModel wide = SmallModel(500);
  const Matrix x = testing::RandomFeatures(64, 500, testing::FeatureKind::kGaussian, 3);
  converter::ConvertOptions options;
  CHECK_FALSE(converter::Convert(wide, x, options).int16_input);  // auto: int8 beyond 480
  options.input_precision = InputPrecision::kInt16;
  CHECK_THROWS_WITH_AS(converter::Convert(wide, x, options), doctest::Contains("at most 480 features"),
                       converter::ConvertError);
}

TEST_CASE("an int16-input model scores float features; the int8 calls name why they refuse") {
  const converter::FloatModel fm = SmallModel(20);
  const Matrix x = testing::RandomFeatures(50, 20, testing::FeatureKind::kGaussian, 4);
  const std::shared_ptr<const Model> model =
      Load(converter::Convert(fm, x, converter::ConvertOptions()).bytes);
  REQUIRE(model->data().input16);
  std::unique_ptr<Session> session;
  REQUIRE(Session::Create(model, SessionOptions(), &session).ok());
  std::vector<float> scores(50, -1.0f);
  CHECK(session->Score(x.data.data(), 50, scores.data(), scores.size()).ok());
  std::vector<int8_t> q(x.data.size());
  const Status s = session->QuantizeInput(x.data.data(), 50, q.data(), q.size());
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK(std::string(s.message()).find("not int8 with one scale (it is int16") != std::string::npos);
  CHECK(session->ScoreQuantized(q.data(), 50, scores.data(), scores.size()).code() ==
        StatusCode::kInvalidArgument);
}

TEST_CASE("int16 input brings a Gaussian-input model's scores closer to float than int8 input") {
  testing::RandomModelSpec spec;
  spec.gain = 2.0f;
  spec.gates = {{{}, {6}}, {{}, {}}};  // one gate with a hidden layer
  spec.tasks = {{"a", 0, -1, {8}}, {"b", 1, -1, {8}}};
  const converter::FloatModel fm = testing::RandomFloatModel(spec);
  const Matrix calib = testing::RandomFeatures(500, fm.input_dim(), testing::FeatureKind::kGaussian, 5);
  double mean_abs[2] = {0, 0};
  for (InputPrecision p : {InputPrecision::kInt8, InputPrecision::kInt16}) {
    converter::ConvertOptions options;
    options.input_precision = p;
    for (const auto& a : converter::Convert(fm, calib, options).agreement)
      mean_abs[p == InputPrecision::kInt16] += a.mean_abs;
  }
  CHECK(mean_abs[1] < 0.7 * mean_abs[0]);
}

// E[x x^T] of correlated rows: x = A z with z standard normal.
std::vector<double> Moments(int n, std::mt19937& rng, double correlation) {
  std::normal_distribution<double> normal;
  std::vector<double> m(static_cast<size_t>(n) * n, 0.0);
  const int rows = 4000;
  std::vector<double> x(static_cast<size_t>(n));
  for (int r = 0; r < rows; ++r) {
    const double shared = normal(rng);
    for (int k = 0; k < n; ++k) x[k] = correlation * shared + (1.0 - correlation) * normal(rng) + 0.3;
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) m[static_cast<size_t>(i) * n + j] += x[i] * x[j] / rows;
  }
  return m;
}

TEST_CASE("error feedback rounds to nearest on uncorrelated inputs and beats it on correlated ones") {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  const int out = 9, in = 40;
  std::vector<float> w(static_cast<size_t>(out) * in);
  for (float& v : w) v = normal(rng);
  w[5] = 0.0f;  // an all-zero row keeps a unit scale
  for (int k = 0; k < in; ++k) w[static_cast<size_t>(3) * in + k] = 0.0f;

  const converter::RoundedWeights nearest = converter::RoundWeights(w, out, in, {});
  CHECK(nearest.scale[3] == 1.0f);
  for (int c = 0; c < out; ++c) {
    for (int k = 0; k < in; ++k) {
      const size_t i = static_cast<size_t>(c) * in + k;
      CHECK(nearest.q[i] == static_cast<int8_t>(std::nearbyint(w[i] / nearest.scale[c])));
    }
  }
  // Uncorrelated inputs (a diagonal matrix, unequal variances): every column's rounding is
  // independent, and error feedback has nothing to spread.
  std::vector<double> diagonal(static_cast<size_t>(in) * in, 0.0);
  for (int k = 0; k < in; ++k) diagonal[static_cast<size_t>(k) * in + k] = 1.0 + k % 5;
  CHECK(converter::RoundWeights(w, out, in, diagonal).q == nearest.q);

  for (double correlation : {0.3, 0.8}) {
    CAPTURE(correlation);
    const std::vector<double> m = Moments(in, rng, correlation);
    const converter::RoundedWeights fed = converter::RoundWeights(w, out, in, m);
    CHECK(fed.scale == nearest.scale);
    const double e_fed = converter::OutputError(w, fed, out, in, m);
    const double e_nearest = converter::OutputError(w, nearest, out, in, m);
    CHECK(e_fed < 0.8 * e_nearest);
    CHECK(converter::RoundWeights(w, out, in, m).q == fed.q);  // deterministic
  }
  // Unusable moments (wrong size, not finite) round to nearest.
  std::vector<double> bad(static_cast<size_t>(in) * in, 0.0);
  bad[0] = std::nan("");
  CHECK(converter::RoundWeights(w, out, in, bad).q == nearest.q);
  CHECK(converter::RoundWeights(w, out, in, std::vector<double>(7, 1.0)).q == nearest.q);
}

TEST_CASE("--activations int16 brings the seed model's scores closer to float than mixed") {
  double mean_abs[2] = {0, 0};
  for (auto precision : {converter::ActivationPrecision::kMixed, converter::ActivationPrecision::kInt16}) {
    converter::ConvertOptions options;
    options.activations = precision;
    for (const auto& a :
         converter::Convert(testing::SeedFloatModel(), testing::SeedCalibration(), options).agreement)
      mean_abs[precision == converter::ActivationPrecision::kInt16] += a.mean_abs;
  }
  CHECK(mean_abs[1] < 0.75 * mean_abs[0]);
}

TEST_CASE("error feedback brings the seed model's scores closer to float") {
  // The seed model (0/1 inputs): the hidden layers' inputs are correlated ReLU outputs.
  double mean_abs[2] = {0, 0};
  for (bool feedback : {false, true}) {
    converter::ConvertOptions options;
    options.error_feedback = feedback;
    for (const auto& a :
         converter::Convert(testing::SeedFloatModel(), testing::SeedCalibration(), options).agreement)
      mean_abs[feedback] += a.mean_abs;
  }
  CHECK(mean_abs[1] < 0.9 * mean_abs[0]);
}

}  // namespace
}  // namespace mmoe
