// Calibration methods (minmax, percentile, mse), streamed calibration and the row readers.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "mmoe/converter/calibrate.h"
#include "mmoe/converter/convert.h"
#include "mmoe/converter/rows.h"
#include "mmoe_generated.h"
#include "model_data.h"
#include "support/fixtures.h"
#include "support/random_model.h"

namespace mmoe {
namespace {

using converter::ActivationStats;
using converter::CalibrationMethod;
using converter::ParseCalibrationMethod;
using converter::Range;

constexpr int32_t kId = 3;  // any tensor index

// The ranges a method picks for `values` (observed as one tensor, in rows of 100).
Range Calibrate(const std::vector<float>& values, const std::string& method, bool int16 = false) {
  ActivationStats stats;
  const auto feed = [&] {
    for (size_t i = 0; i < values.size(); i += 100) {
      stats.Observe(kId, values.data() + i, std::min<size_t>(100, values.size() - i));
    }
  };
  feed();
  stats.BeginHistograms();
  feed();
  stats.ChooseRanges(ParseCalibrationMethod(method), [&](int32_t) { return int16; });
  return stats.GetRange(kId);
}

// Mean squared error of quantizing `values` to int8 (or int16) with `range`, computed exactly
// value by value (not from a histogram).
double ActualError(const std::vector<float>& values, const Range& range, bool int16 = false) {
  const converter::QuantParams q = int16 ? converter::Int16FromRange(range) : converter::Int8FromRange(range);
  const double qmin = int16 ? -32767 : -128, qmax = int16 ? 32767 : 127;
  double err = 0.0;
  for (float v : values) {
    const double level =
        std::clamp(std::nearbyint(static_cast<double>(v) / q.scale) + q.zero_point, qmin, qmax);
    const double back = q.scale * (level - q.zero_point);
    err += (back - v) * (back - v);
  }
  return err / static_cast<double>(values.size());
}

// ReLU-like activations: most values from |N(0, 1)|, a few rare large outliers.
std::vector<float> HeavyTail(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::fabs(normal(rng));
  for (size_t i = 0; i < n; i += 20000) v[i] = 60.0f;  // 0.005 % outliers
  return v;
}

}  // namespace

TEST_CASE("calibration method names parse and print back") {
  CHECK(ParseCalibrationMethod("minmax").kind == CalibrationMethod::kMinMax);
  CHECK(ParseCalibrationMethod("mse").kind == CalibrationMethod::kMse);
  CHECK(ParseCalibrationMethod("percentile").percentile == 99.99);
  CHECK(ParseCalibrationMethod("percentile:99.9").percentile == 99.9);
  CHECK(ParseCalibrationMethod("percentile").Name() == "percentile:99.99");
  CHECK(ParseCalibrationMethod("percentile:100").Name() == "percentile:100");
  CHECK(ParseCalibrationMethod("mse").Name() == "mse");
  for (const char* bad :
       {"percentile:", "percentile:50", "percentile:101", "percentile:9x", "max", "percentile99"}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(ParseCalibrationMethod(bad), doctest::Contains(bad), converter::ConvertError);
  }
}

TEST_CASE("minmax keeps the extremes; percentile clips rare outliers") {
  const std::vector<float> v = HeavyTail(100000, 3);
  const Range mm = Calibrate(v, "minmax");
  CHECK(mm.lo < 1e-3f);
  CHECK(mm.hi == 60.0f);
  // 5 outliers in 100,000 values: the 99.99th percentile lies below them, in the normal
  // part's tail (|N(0,1)| exceeds 3.9 with probability 1e-4).
  const Range p = Calibrate(v, "percentile:99.99");
  CHECK(p.lo < 1e-3f);
  CHECK(p.hi > 3.0f);
  CHECK(p.hi < 5.0f);
  // 99.9 % clips further, and 100 keeps the maximum.
  CHECK(Calibrate(v, "percentile:99.9").hi < p.hi);
  CHECK(Calibrate(v, "percentile:100").hi == doctest::Approx(60.0f));
  // An int16 tensor keeps its extremes: its steps are 256 times finer, and clipping the rare
  // rows' values costs them more than it saves (docs/quality.md).
  CHECK(Calibrate(v, "percentile:99.9", /*int16=*/true).hi == mm.hi);
}

TEST_CASE("percentile of signed values clips both ends") {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(200000);
  for (float& x : v) x = normal(rng);
  const Range r = Calibrate(v, "percentile:99");
  // The 1st and 99th percentiles of N(0, 1) are -+2.326.
  CHECK(r.lo == doctest::Approx(-2.326).epsilon(0.03));
  CHECK(r.hi == doctest::Approx(2.326).epsilon(0.03));
}

TEST_CASE("mse picks a range with less quantization error than minmax") {
  // An exponential distribution: a long thin tail (the maximum of 100,000 draws is near 12),
  // where clipping the few largest values buys finer steps for the rest. (Far, frequent
  // outliers are a different matter: clipping them costs more than it saves.)
  std::mt19937 rng(7);
  std::exponential_distribution<float> exponential(1.0f);
  std::vector<float> v(100000);
  for (float& x : v) x = exponential(rng);
  const Range mm = Calibrate(v, "minmax");
  const Range mse = Calibrate(v, "mse");
  CHECK(mse.hi < mm.hi);
  MESSAGE("minmax hi " << mm.hi << " error " << ActualError(v, mm) << ", mse hi " << mse.hi << " error "
                       << ActualError(v, mse));
  // Analytically the int8 optimum for exp(1) is near 11.5 (rounding (hi/255)^2/12 against
  // clipping 2 e^-hi), about 10 % below minmax's error; a brute-force search over the exact
  // error agrees with the histogram search.
  CHECK(ActualError(v, mse) < 0.95 * ActualError(v, mm));
  double best = ActualError(v, mm);
  for (int k = 1; k <= 200; ++k) {
    Range r = mm;
    r.hi = mm.hi * static_cast<float>(k) / 200.0f;
    best = std::min(best, ActualError(v, r));
  }
  CHECK(ActualError(v, mse) <= 1.01 * best);
  // Far outliers: clipping 5 values at 60 to anywhere near the bulk costs more than the
  // rounding it saves, so mse keeps them.
  const std::vector<float> far = HeavyTail(100000, 7);
  CHECK(ActualError(far, Calibrate(far, "mse")) <= ActualError(far, Calibrate(far, "minmax")) * 1.001);
  // On values without outliers clipping does not pay: the range stays (almost) whole.
  std::vector<float> uniform(50000);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (float& x : uniform) x = u(rng);
  CHECK(Calibrate(uniform, "mse").hi > 0.95f);
  // int16 has 256 times finer steps, so clipping an outlier buys far less: the range stays
  // wider than int8's.
  CHECK(Calibrate(v, "mse", true).hi > mse.hi);
  CHECK(ActualError(v, Calibrate(v, "mse", true), true) <= ActualError(v, mm, true));
}

TEST_CASE("mse counts exact zeros as error-free") {
  // 95 % zeros (a sparse ReLU output) and values spread over [0, 1]: were the zeros counted as
  // rounding error like other values, a narrower range would look better than it is.
  std::vector<float> v(100000, 0.0f);
  for (size_t i = 0; i < v.size(); i += 20) v[i] = static_cast<float>(i % 1000) / 1000.0f + 0.001f;
  const Range r = Calibrate(v, "mse");
  CHECK(r.hi > 0.95f);
  CHECK(ActualError(v, r) <= ActualError(v, Calibrate(v, "minmax")) * 1.01);
}

// The element type of every tensor of the file a conversion writes, by name.
std::map<std::string, graph::TensorType> FileTypes(const std::vector<uint8_t>& bytes) {
  std::shared_ptr<const Model> loaded;
  const Status s = Model::LoadBuffer(bytes.data(), bytes.size(), &loaded);
  REQUIRE_MESSAGE(s.ok(), s.message());
  std::map<std::string, graph::TensorType> types;
  for (const graph::Tensor& t : loaded->data().graph.tensors) types[t.name] = t.type;
  return types;
}

TEST_CASE("TensorTypes says what the writer stores") {
  using graph::TensorType;
  testing::RandomModelSpec spec;
  spec.input_dim = 12;
  spec.num_experts = 2;
  spec.expert_widths = {500, 6};  // a hidden layer wider than int16 allows
  spec.gates = {{{}, {490, 4}}, {{}, {5}}};
  spec.tasks = {{"a", 0, -1, {481, 3}}, {"b", 1, -1, {7}}};
  const converter::FloatModel model = testing::RandomFloatModel(spec);
  const converter::Matrix x = testing::RandomFeatures(64, spec.input_dim, testing::FeatureKind::kGaussian, 2);
  for (const auto precision : {converter::ActivationPrecision::kMixed, converter::ActivationPrecision::kInt8,
                               converter::ActivationPrecision::kInt16}) {
    converter::ConvertOptions options;
    options.activations = precision;
    const bool mixed = precision != converter::ActivationPrecision::kInt8;  // int16 somewhere
    const std::map<std::string, TensorType> file = FileTypes(converter::Convert(model, x, options).bytes);
    const std::vector<TensorType> types = converter::TensorTypes(model, precision);
    for (size_t t = 0; t < types.size(); ++t) {
      CAPTURE(model.graph.tensors[t].name);
      if (t != static_cast<size_t>(model.graph.inputs[0].tensor))
        CHECK(file.at(model.graph.tensors[t].name) == types[t]);
    }
    const TensorType narrow = mixed ? TensorType::kInt16 : TensorType::kInt8;
    // Gaussian rows: int8 cannot hold them; --activations int8 keeps the input int8 too.
    CHECK(file.at("input") == (mixed ? TensorType::kInt16 : TensorType::kInt8));
    CHECK(file.at("experts.0.0") == TensorType::kInt8);  // an expert's hidden layer, 500 wide
    CHECK(file.at("experts.1.1") == narrow);             // an expert's output: the mixtures read it
    CHECK(file.at("gates.0.0") == TensorType::kInt8);    // 490 wide, read by a dense layer
    CHECK(file.at("gates.0.1") == narrow);
    CHECK(file.at("gates.0.2") == TensorType::kFloat);  // logits
    CHECK(file.at("gates.0.softmax") == TensorType::kFloat);
    CHECK(file.at("tower_input.a") == narrow);
    CHECK(file.at("tasks.0.0") == TensorType::kInt8);  // 481 wide
    CHECK(file.at("tasks.0.1") == narrow);
    CHECK(file.at("a") == TensorType::kFloat);
  }
  // --activations int16: an expert's hidden layer narrow enough is int16 too.
  {
    spec.expert_widths = {16, 6};
    const converter::FloatModel narrow_experts = testing::RandomFloatModel(spec);
    for (const auto precision :
         {converter::ActivationPrecision::kMixed, converter::ActivationPrecision::kInt16}) {
      converter::ConvertOptions options;
      options.activations = precision;
      const std::map<std::string, TensorType> file =
          FileTypes(converter::Convert(narrow_experts, x, options).bytes);
      CHECK(file.at("experts.0.0") ==
            (precision == converter::ActivationPrecision::kInt16 ? TensorType::kInt16 : TensorType::kInt8));
    }
  }
  // PLE: the first level's mixtures feed the second level's experts (int8); the last level's
  // feed the towers (int16).
  testing::RandomPleSpec ple;
  const converter::FloatModel ple_model = testing::RandomPleModel(ple);
  const converter::Matrix ple_x =
      testing::RandomFeatures(64, ple.input_dim, testing::FeatureKind::kGaussian, 3);
  const std::map<std::string, TensorType> file = FileTypes(converter::Convert(ple_model, ple_x, {}).bytes);
  CHECK(file.at("levels.0.mix.0") == TensorType::kInt8);
  CHECK(file.at("levels.0.mix.shared") == TensorType::kInt8);
  CHECK(file.at("levels.0.specific.0.0.1") == TensorType::kInt16);
  CHECK(file.at("levels.1.mix.1") == TensorType::kInt16);
  CHECK(file.at("levels.1.gates.0.0") == TensorType::kFloat);
}

TEST_CASE("streamed calibration gives the same model whatever the chunk size") {
  const converter::FloatModel& model = testing::SeedFloatModel();
  auto rows = converter::OpenRows(testing::SourcePath("examples/seed/calib.npy"), model.input_dim());
  for (const char* method : {"minmax", "mse", "percentile:99.9"}) {
    CAPTURE(method);
    converter::ConvertOptions options;
    options.created_utc = "2026-01-01T00:00:00Z";
    options.calibration = method;
    const auto whole = converter::Convert(model, testing::SeedCalibration(), options);
    options.chunk_rows = 77;  // does not divide 1000
    std::vector<std::pair<std::string, int64_t>> calls;
    options.progress = [&](const char* stage, int64_t done, int64_t total) {
      CHECK(done <= total);
      if (!calls.empty() && calls.back().first == stage) CHECK(done > calls.back().second);
      calls.emplace_back(stage, done);
    };
    const auto streamed = converter::Convert(model, *rows, options);
    CHECK(streamed.bytes == whole.bytes);
    CHECK(streamed.agreement[0].mean_abs == whole.agreement[0].mean_abs);
    // Every pass ends at its total: minmax needs one pass over the rows, the others two.
    std::vector<std::string> ends;
    for (size_t i = 0; i < calls.size(); ++i) {
      if (i + 1 == calls.size() || calls[i + 1].first != calls[i].first) {
        CHECK(calls[i].second == 1000);
        ends.push_back(calls[i].first);
      }
    }
    const std::vector<std::string> expected =
        std::string(method) == "minmax" ? std::vector<std::string>{"ranges", "agreement"}
                                        : std::vector<std::string>{"ranges", "histograms", "agreement"};
    CHECK(ends == expected);
    // The file records the method, normalised.
    CHECK(fb::GetModel(streamed.bytes.data())->calibration()->method()->str() ==
          ParseCalibrationMethod(method).Name());
  }
  // The default (minmax) is what the golden model was converted with.
  converter::ConvertOptions options;
  options.created_utc = "2026-01-01T00:00:00Z";
  options.chunk_rows = 100;
  CHECK(converter::Convert(model, *rows, options).bytes == testing::SeedModelBytes());
}

TEST_CASE("agreement can be limited to the first calibration rows") {
  converter::ConvertOptions options;
  options.agreement_rows = 300;
  options.chunk_rows = 128;
  const auto r = converter::Convert(testing::SeedFloatModel(), testing::SeedCalibration(), options);
  CHECK(r.agreement_rows == 300);
  CHECK(r.calibration_rows == 1000);
  CHECK(r.agreement[0].mean_abs > 0.0);
}

TEST_CASE("npy row ranges read what the whole file holds, in C and Fortran order") {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "mmoe_calib_rows_test";
  std::filesystem::create_directories(dir);
  converter::Matrix m;
  m.rows = 9;
  m.cols = 4;
  for (int i = 0; i < 36; ++i) m.data.push_back(static_cast<float>(i) * 0.5f - 3.0f);
  const std::string c_path = (dir / "c.npy").string();
  converter::WriteNpy(c_path, m);
  converter::NpyRowReader reader(c_path, 4);
  CHECK(reader.rows() == 9);
  const converter::Matrix part = reader.ReadRows(2, 5);
  CHECK(part.rows == 5);
  CHECK(std::vector<float>(part.data.begin(), part.data.end()) ==
        std::vector<float>(m.data.begin() + 8, m.data.begin() + 28));
  CHECK(reader.ReadRows(9, 0).rows == 0);
  CHECK_THROWS_WITH_AS(reader.ReadRows(7, 3), doctest::Contains("rows [7, 10) are outside"),
                       converter::ConvertError);
  // The same array stored column by column (numpy's fortran_order).
  std::string header = "{'descr': '<f4', 'fortran_order': True, 'shape': (9, 4), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  for (int c = 0; c < 4; ++c) {
    for (int r = 0; r < 9; ++r) bytes.append(reinterpret_cast<const char*>(&m.data[r * 4 + c]), 4);
  }
  const std::string f_path = (dir / "f.npy").string();
  converter::WriteFileAtomic(f_path, bytes.data(), bytes.size());
  converter::NpyRowReader f_reader(f_path);
  CHECK(f_reader.ReadRows(2, 5).data == part.data);
  // A bad value is named by its row in the whole file, not in the chunk.
  m.data[7 * 4 + 1] = NAN;
  converter::WriteNpy(c_path, m);
  converter::NpyRowReader bad(c_path);
  CHECK(bad.ReadRows(0, 7).rows == 7);
  CHECK_THROWS_WITH_AS(bad.ReadRows(6, 3), doctest::Contains("c.npy: row 7, column 1 is NaN"),
                       converter::ConvertError);
  std::filesystem::remove_all(dir);
}

}  // namespace mmoe
