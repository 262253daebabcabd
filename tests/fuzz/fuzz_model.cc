// libFuzzer target: the model loader and verifier on arbitrary bytes, then, for any file it
// accepts, a session on every backend scoring a few rows (dense features, ids and bags). A crash, an
// out-of-bounds read (AddressSanitizer), undefined behaviour (UBSan) or a non-finite score is a finding.
//
// The checksum is checked first and would stop almost every mutation, so each input is loaded
// twice: as is (the checksum path), and with the checksum off (the verifier and the kernels).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "mmoe/mmoe.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_model: %s\n", what);
    std::abort();
  }
}

bool IsCleanRefusal(mmoe::StatusCode code) {
  using mmoe::StatusCode;
  return code == StatusCode::kNotAModel || code == StatusCode::kUnsupportedVersion ||
         code == StatusCode::kCorruptModel || code == StatusCode::kInvalidModel ||
         code == StatusCode::kChecksumMismatch || code == StatusCode::kUnsupportedFeature;
}

// Inputs for every kind of model input: floats spanning the input range, NaN (a missing
// feature) and values far outside it; ids within the table (or, with `bad_ids`, outside it too:
// the model's policy decides between a default row and INVALID_ARGUMENT); bags of 0 to 3 ids.
struct Inputs {
  std::vector<std::vector<float>> floats;
  std::vector<std::vector<int64_t>> ids, offsets;
  std::vector<mmoe::InputView> views;

  Inputs(const mmoe::Model& model, size_t rows, bool bad_ids) {
    const int n = model.num_inputs();
    floats.resize(n), ids.resize(n), offsets.resize(n), views.resize(n);
    const float pattern[] = {0.0f, 1.0f, -1.0f, 0.5f, NAN, 1e30f, -1e30f, 3.0f};
    for (int i = 0; i < n; ++i) {
      const mmoe::InputInfo info = model.input(i);
      mmoe::InputView& v = views[i];
      if (info.kind == mmoe::InputKind::kDense) {
        for (size_t k = 0; k < rows * static_cast<size_t>(info.width); ++k)
          floats[i].push_back(pattern[k % 8]);
        v.data = floats[i].data();
        v.size = floats[i].size();
        continue;
      }
      const int64_t id_pattern[] = {0, info.rows - 1, info.rows / 2, bad_ids ? info.rows : 0,
                                    bad_ids ? -1 : 1};
      offsets[i].push_back(0);
      for (size_t r = 0; r < rows; ++r) {
        const size_t count = info.kind == mmoe::InputKind::kIds ? 1 : r % 4;
        for (size_t k = 0; k < count; ++k) ids[i].push_back(id_pattern[(r + k) % 5]);
        offsets[i].push_back(static_cast<int64_t>(ids[i].size()));
      }
      v.data = ids[i].data();
      v.type = mmoe::DataType::kInt64;
      v.size = ids[i].size();
      v.offsets = info.kind == mmoe::InputKind::kBag ? offsets[i].data() : nullptr;
    }
  }
};

void ScoreOn(const std::shared_ptr<const mmoe::Model>& model, mmoe::Backend backend) {
  mmoe::SessionOptions options;
  options.backend = backend;
  options.tile_items = 2;  // two tiles, the second partial
  std::unique_ptr<mmoe::Session> session;
  const mmoe::Status s = mmoe::Session::Create(model, options, &session);
  if (s.code() == mmoe::StatusCode::kUnavailable) return;
  Check(s.ok(), s.message());
  constexpr size_t kRows = 3;
  const size_t tasks = static_cast<size_t>(model->num_tasks());
  std::vector<float> scores(kRows * tasks);
  for (bool bad_ids : {false, true}) {
    const Inputs in(*model, kRows, bad_ids);
    const mmoe::Status scored =
        session->Score(in.views.data(), in.views.size(), kRows, scores.data(), scores.size());
    if (bad_ids && scored.code() == mmoe::StatusCode::kInvalidArgument) continue;  // the model refuses them
    Check(scored.ok(), scored.message());
    for (float v : scores) Check(std::isfinite(v), "a score is not finite");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An exact-size copy, so that AddressSanitizer sees any read past the end.
  std::unique_ptr<uint8_t[]> copy(new uint8_t[size ? size : 1]);
  if (size) std::memcpy(copy.get(), data, size);
  for (bool verify_checksum : {true, false}) {
    mmoe::LoadOptions options;
    options.verify_checksum = verify_checksum;
    std::shared_ptr<const mmoe::Model> model;
    const mmoe::Status s = mmoe::Model::LoadBuffer(copy.get(), size, /*copy=*/false, options, &model);
    if (!s.ok()) {
      Check(IsCleanRefusal(s.code()) || s.code() == mmoe::StatusCode::kInvalidArgument, s.message());
      Check(std::strlen(s.message()) > 0, "a refusal without a message");
      continue;
    }
    ScoreOn(model, mmoe::Backend::kReference);
    ScoreOn(model, mmoe::Backend::kSimd);
  }
  return 0;
}
