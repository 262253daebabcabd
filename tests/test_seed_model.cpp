// The shipped seed model against PyTorch: the float reference to 1e-5, and the int8 model's
// agreement targets (mean, 99th percentile, Spearman) on the held-out evaluation set.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "mmoe/converter/float_reference.h"
#include "support/fixtures.h"

namespace mmoe {
namespace {

using converter::Matrix;
using testing::SourcePath;

// Each task's logit (its sigmoid's input), item by item.
class Logits : public converter::ActivationObserver {
 public:
  explicit Logits(const converter::FloatModel& m) {
    const std::vector<int32_t> producer = graph::Producers(m.graph);
    for (const graph::Output& o : m.graph.outputs)
      logit_.push_back(m.graph.nodes[producer[o.tensor]].inputs[0]);
  }
  void Observe(int32_t tensor, const float* values, size_t) override {
    for (int32_t l : logit_) {
      if (l == tensor) values_.push_back(values[0]);
    }
  }
  std::vector<int32_t> logit_;
  std::vector<float> values_;  // [items][tasks]
};

TEST_CASE("float reference matches PyTorch on the evaluation set to 1e-5") {
  const Matrix torch_probs = converter::ReadNpy(SourcePath("examples/seed/eval_torch.npy"));
  const Matrix torch_logits = converter::ReadNpy(SourcePath("examples/seed/eval_torch_logits.npy"));
  Logits observer(testing::SeedFloatModel());
  const Matrix probs =
      converter::FloatReference(testing::SeedFloatModel()).Forward(testing::SeedEval(), &observer);
  Matrix logits = probs;
  logits.data = observer.values_;
  REQUIRE(logits.data.size() == probs.data.size());
  REQUIRE(probs.rows == torch_probs.rows);
  REQUIRE(probs.cols == torch_probs.cols);
  double max_prob = 0, max_logit = 0;
  for (size_t i = 0; i < probs.data.size(); ++i) {
    max_prob = std::max(max_prob, std::fabs(double(probs.data[i]) - torch_probs.data[i]));
    max_logit = std::max(max_logit, std::fabs(double(logits.data[i]) - torch_logits.data[i]));
  }
  std::printf("float reference vs PyTorch: max |dp| %.3g, max |dlogit| %.3g over %lld rows\n", max_prob,
              max_logit, static_cast<long long>(probs.rows));
  CHECK(max_prob <= 1e-5);
  CHECK(max_logit <= 1e-4);
}

TEST_CASE("int8 model agrees with PyTorch on the evaluation set") {
  const Matrix torch_probs = converter::ReadNpy(SourcePath("examples/seed/eval_torch.npy"));
  const Matrix int8 = testing::ScoreAll(testing::SeedModel(), testing::SeedEval());
  const auto agreement = converter::CompareScores(torch_probs, int8, {"interaction", "click"});
  REQUIRE(agreement.size() == 2);
  for (const auto& a : agreement) {
    std::printf("int8 vs PyTorch, %-12s max %.5f  mean %.5f  p99 %.5f  spearman %.6f\n", a.task.c_str(),
                a.max_abs, a.mean_abs, a.p99_abs, a.spearman);
    CHECK(a.mean_abs <= 0.004);
    CHECK(a.p99_abs <= 0.025);
    CHECK(a.spearman >= 0.999);
  }
}

TEST_CASE("int8 scores keep more than 16 bits of resolution (no ties from a 1/256 step)") {
  const Matrix int8 = testing::ScoreAll(testing::SeedModel(), testing::SeedEval());
  for (int t = 0; t < int8.cols; ++t) {
    std::vector<float> col;
    for (int64_t i = 0; i < int8.rows; ++i) col.push_back(int8.row(i)[t]);
    std::sort(col.begin(), col.end());
    const size_t distinct = static_cast<size_t>(std::unique(col.begin(), col.end()) - col.begin());
    // 2000 items: an 8-bit output could take at most 256 values.
    CHECK(distinct > 1900);
  }
}

TEST_CASE("conversion is deterministic") {
  converter::ConvertOptions options;
  options.created_utc = "2026-01-01T00:00:00Z";
  const auto again = converter::Convert(testing::SeedFloatModel(), testing::SeedCalibration(), options).bytes;
  CHECK(again == testing::SeedModelBytes());
}

TEST_CASE("seed model file size stays within 1.15 x its parameter bytes + 4 KiB") {
  const int64_t parameter_bytes = testing::SeedFloatModel().parameter_bytes();
  const double size = static_cast<double>(testing::SeedModelBytes().size());
  std::printf("seed model: %.0f bytes for %lld parameter bytes (%.3fx)\n", size,
              static_cast<long long>(parameter_bytes), size / parameter_bytes);
  CHECK(size <= 1.15 * parameter_bytes + 4096);
}

}  // namespace
}  // namespace mmoe
