// Same bytes everywhere: models converted on x86-64 and the scores the x86-64 reference
// backend wrote for them (tests/data/, made by scripts/update-golden.sh) are reproduced byte
// for byte by every backend and ISA of the platform running this test -- x86 natively, and
// AArch64 and ARMv7 under qemu in CI. The seed model is a format-1.1 file, written and scored
// before the model format became a graph; the others are format 2.0: a 2-level PLE, an MMoE
// with GELU, LeakyReLU, Tanh and SiLU layers (activation tables, int8 and int16) and a
// regression task, and an ESMM (a product of probabilities), as examples/families trains them;
// a format-2.2 DeepCTR-Torch PLE with embeddings, imported from ONNX (examples/sparse); and a
// format-2.3 model with an int16 input (examples/gaussian's gaussian_seed).
#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "support/fixtures.h"

namespace mmoe {
namespace {

void CheckGolden(const std::string& model_file, const std::string& scores_file, const converter::Matrix& x,
                 int format_major) {
  CAPTURE(model_file);
  std::shared_ptr<const Model> model;
  const std::string path = testing::SourcePath(model_file);
  const Status s = Model::LoadFile(path.c_str(), &model);
  REQUIRE_MESSAGE(s.ok(), s.message());
  CHECK(model->format_version_major() == format_major);
  const converter::Matrix expected = converter::ReadNpy(testing::SourcePath(scores_file));
  REQUIRE(expected.rows == x.rows);
  REQUIRE(expected.cols == model->num_tasks());

  std::vector<std::pair<Backend, const char*>> variants = {{Backend::kReference, nullptr}};
  for (const char* const* isa = SimdIsaNames(); *isa; ++isa) variants.push_back({Backend::kSimd, *isa});
  if (BackendAvailable(Backend::kXnnpack)) variants.push_back({Backend::kXnnpack, nullptr});
  for (const auto& [backend, isa] : variants) {
    for (int tile : {0, 7}) {  // the backend's tile, and partial 7-item tiles (batch-1 paths too)
      SessionOptions options;
      options.backend = backend;
      options.isa = isa;
      options.tile_items = tile;
      const converter::Matrix got = testing::ScoreAll(model, x, options);
      INFO(BackendName(backend) << " " << std::string(isa ? isa : "") << " tile " << tile);
      CHECK(std::memcmp(got.data.data(), expected.data.data(), expected.data.size() * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("golden: every backend reproduces the x86-64 scores of the shipped models byte for byte") {
  CheckGolden("tests/data/seed.mmoe", "tests/data/seed_scores.npy", testing::SeedEval(), 1);
  const converter::Matrix census = converter::ReadNpy(testing::SourcePath("examples/census/eval.npy"));
  for (const char* m : {"ple", "activation_mmoe", "esmm"}) {
    CheckGolden(std::string("tests/data/") + m + ".mmoe", std::string("tests/data/") + m + "_scores.npy",
                census, 2);
  }
  // Format 2.2: DeepCTR-Torch's PLE imported from ONNX, its inputs packed in one float row.
  converter::Matrix x;
  for (const converter::NpzMember& member :
       converter::ReadNpz(testing::SourcePath("examples/sparse/eval_x.npz")))
    x = converter::ParseNpyArray(member.bytes, "eval_x.npz").floats;
  CheckGolden("tests/data/deepctr_ple_onnx.mmoe", "tests/data/deepctr_ple_onnx_scores.npy", x, 2);
  // Format 2.3: a Gaussian-input model whose input is int16 (the first layers multiply int16).
  CheckGolden("tests/data/gaussian_seed.mmoe", "tests/data/gaussian_seed_scores.npy",
              converter::ReadNpy(testing::SourcePath("examples/gaussian/gaussian_seed_eval.npy")), 2);
}

// Scoring one item at a time takes the one-row (batch 1) kernels where the ISA has them.
TEST_CASE("golden: one item per call gives the same bytes as whole tiles") {
  const converter::Matrix census = converter::ReadNpy(testing::SourcePath("examples/census/eval.npy"));
  for (const char* m : {"ple", "activation_mmoe", "esmm"}) {
    CAPTURE(m);
    std::shared_ptr<const Model> model;
    REQUIRE(
        Model::LoadFile(testing::SourcePath(std::string("tests/data/") + m + ".mmoe").c_str(), &model).ok());
    const converter::Matrix expected =
        converter::ReadNpy(testing::SourcePath(std::string("tests/data/") + m + "_scores.npy"));
    for (const char* const* isa = SimdIsaNames(); *isa; ++isa) {
      SessionOptions options;
      options.isa = *isa;
      std::unique_ptr<Session> session;
      REQUIRE(Session::Create(model, options, &session).ok());
      std::vector<float> scores(static_cast<size_t>(model->num_tasks()));
      int differ = 0;
      for (int64_t i = 0; i < 200; ++i) {
        REQUIRE(session->Score(census.row(i), 1, scores.data(), scores.size()).ok());
        differ += std::memcmp(scores.data(), expected.row(i), scores.size() * sizeof(float)) != 0;
      }
      INFO(*isa);
      CHECK(differ == 0);
    }
  }
}

}  // namespace
}  // namespace mmoe
