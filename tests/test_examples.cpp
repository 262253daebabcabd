// The shipped examples beyond the seed (examples/census, examples/gaussian): the converter's
// float reference reproduces PyTorch's scores, and the inputs are what their READMEs say.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "mmoe/converter/float_reference.h"
#include "mmoe/converter/io.h"
#include "support/fixtures.h"

namespace mmoe {
namespace {

double MaxAbsDiff(const converter::Matrix& a, const converter::Matrix& b) {
  double worst = 0.0;
  for (size_t i = 0; i < a.data.size(); ++i)
    worst = std::max(worst, std::fabs(double(a.data[i]) - b.data[i]));
  return worst;
}

}  // namespace

TEST_CASE("example models: the float reference matches PyTorch's scores to 1e-5") {
  for (const std::string example : {"census/census_mmoe", "gaussian/gaussian_mmoe"}) {
    CAPTURE(example);
    const std::string dir = testing::SourcePath("examples/" + example.substr(0, example.find('/')));
    const std::string stem = testing::SourcePath("examples/" + example);
    const converter::FloatModel model = converter::ImportModel(stem + ".safetensors", stem + ".arch.json");
    const converter::Matrix x = converter::ReadNpy(dir + "/eval.npy", model.input_dim());
    const converter::Matrix torch = converter::ReadNpy(dir + "/eval_torch.npy", 2);
    const converter::Matrix ours = converter::FloatReference(model).Forward(x);
    REQUIRE(ours.rows == torch.rows);
    CHECK(MaxAbsDiff(ours, torch) < 1e-5);
    CHECK(converter::ReadNpy(dir + "/eval_labels.npy", 2).rows == x.rows);
  }
}

// The models of examples/families, traced from plain PyTorch modules by mmoe_export.export
// (BatchNorm folded into the Linear layers, DeepCTR-Torch's scalar biases into the logits).
TEST_CASE(
    "traced models: the float reference matches PyTorch's outputs to 1e-5 (regression: 1e-5 relative)") {
  const converter::Matrix x = converter::ReadNpy(testing::SourcePath("examples/census/eval.npy"), 78);
  for (const std::string m : {"ple", "activation_mmoe", "esmm"}) {
    CAPTURE(m);
    const std::string stem = testing::SourcePath("examples/families/" + m);
    const converter::FloatModel model = converter::ImportModel(stem + ".safetensors", stem + ".arch.json");
    const converter::Matrix torch = converter::ReadNpy(stem + "_eval_torch.npy", 2);
    const converter::Matrix ours = converter::FloatReference(model).Forward(x);
    REQUIRE(ours.rows == torch.rows);
    for (int64_t i = 0; i < ours.rows; ++i) {
      for (int t = 0; t < 2; ++t) {
        const double want = torch.row(i)[t];
        CHECK(std::fabs(ours.row(i)[t] - want) <= 1e-5 * std::max(1.0, std::fabs(want)));
      }
    }
    CHECK(converter::ReadNpy(stem + "_eval_labels.npy", 2).rows == x.rows);
  }
}

TEST_CASE("census inputs are one-hot: 12 columns, one 1 each") {
  const converter::Matrix x = converter::ReadNpy(testing::SourcePath("examples/census/eval.npy"), 78);
  for (int64_t i = 0; i < x.rows; ++i) {
    double sum = 0.0;
    for (int64_t c = 0; c < x.cols; ++c) {
      const float v = x.row(i)[c];
      REQUIRE((v == 0.0f || v == 1.0f));
      sum += v;
    }
    REQUIRE(sum == 12.0);
  }
}

}  // namespace mmoe
