// libFuzzer target: the model loader and verifier on arbitrary bytes, then, for any file it
// accepts, a session on every backend scoring a few rows. A crash, an out-of-bounds read
// (AddressSanitizer), undefined behaviour (UBSan) or a non-finite score is a finding.
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

void ScoreOn(const std::shared_ptr<const mmoe::Model>& model, mmoe::Backend backend) {
  mmoe::SessionOptions options;
  options.backend = backend;
  options.tile_items = 2;  // two tiles, the second partial
  std::unique_ptr<mmoe::Session> session;
  const mmoe::Status s = mmoe::Session::Create(model, options, &session);
  if (s.code() == mmoe::StatusCode::kUnavailable) return;
  Check(s.ok(), s.message());
  constexpr size_t kRows = 3;
  const size_t dim = static_cast<size_t>(model->input_dim()), tasks = static_cast<size_t>(model->num_tasks());
  std::vector<float> x(kRows * dim);
  // Features spanning the input range, NaN (a missing feature) and values far outside it.
  const float pattern[] = {0.0f, 1.0f, -1.0f, 0.5f, NAN, 1e30f, -1e30f, 3.0f};
  for (size_t i = 0; i < x.size(); ++i) x[i] = pattern[i % 8];
  std::vector<float> scores(kRows * tasks);
  const mmoe::Status scored = session->Score(x.data(), kRows, scores.data(), scores.size());
  Check(scored.ok(), scored.message());
  for (float v : scores) Check(std::isfinite(v), "a score is not finite");
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
