// Same bytes everywhere: a model converted on x86-64 and the scores the x86-64 reference
// backend wrote for it (tests/data/, made by scripts/update-golden.sh) are reproduced byte
// for byte by every backend and ISA of the platform running this test -- x86 natively, and
// AArch64 and ARMv7 under qemu in CI.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "support/fixtures.h"

namespace mmoe {
namespace {

TEST_CASE("golden: every backend reproduces the x86-64 scores of the shipped model byte for byte") {
  std::shared_ptr<const Model> model;
  const std::string path = testing::SourcePath("tests/data/seed.mmoe");
  const Status s = Model::LoadFile(path.c_str(), &model);
  REQUIRE_MESSAGE(s.ok(), s.message());
  const converter::Matrix expected = converter::ReadNpy(testing::SourcePath("tests/data/seed_scores.npy"));
  const converter::Matrix& x = testing::SeedEval();
  REQUIRE(expected.rows == x.rows);
  REQUIRE(expected.cols == model->num_tasks());

  std::vector<std::pair<Backend, const char*>> variants = {{Backend::kReference, nullptr}};
  for (const char* const* isa = SimdIsaNames(); *isa; ++isa) variants.push_back({Backend::kSimd, *isa});
  if (BackendAvailable(Backend::kXnnpack)) variants.push_back({Backend::kXnnpack, nullptr});
  for (const auto& [backend, isa] : variants) {
    SessionOptions options;
    options.backend = backend;
    options.isa = isa;
    const converter::Matrix got = testing::ScoreAll(model, x, options);
    INFO(BackendName(backend) << " " << std::string(isa ? isa : ""));
    CHECK(std::memcmp(got.data.data(), expected.data.data(), expected.data.size() * sizeof(float)) == 0);
  }
}

}  // namespace
}  // namespace mmoe
