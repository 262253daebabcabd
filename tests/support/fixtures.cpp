#include "support/fixtures.h"

#include <doctest/doctest.h>

namespace mmoe::testing {

const converter::FloatModel& SeedFloatModel() {
  static const converter::FloatModel model = converter::ImportModel(
      SourcePath("examples/seed/seed_mmoe.safetensors"), SourcePath("examples/seed/seed_mmoe.arch.json"));
  return model;
}

const converter::Matrix& SeedCalibration() {
  static const converter::Matrix m = converter::ReadNpy(SourcePath("examples/seed/calib.npy"));
  return m;
}

const converter::Matrix& SeedEval() {
  static const converter::Matrix m = converter::ReadNpy(SourcePath("examples/seed/eval.npy"));
  return m;
}

const std::vector<uint8_t>& SeedModelBytes() {
  static const std::vector<uint8_t> bytes = [] {
    converter::ConvertOptions options;
    options.created_utc = "2026-01-01T00:00:00Z";
    return converter::Convert(SeedFloatModel(), SeedCalibration(), options).bytes;
  }();
  return bytes;
}

std::shared_ptr<const Model> SeedModel() {
  std::shared_ptr<const Model> model;
  const Status s = Model::LoadBuffer(SeedModelBytes().data(), SeedModelBytes().size(), &model);
  REQUIRE_MESSAGE(s.ok(), s.message());
  return model;
}

void CheckRefused(const Status& s, StatusCode code, std::initializer_list<const char*> fragments) {
  const std::string message = s.message();
  CAPTURE(message);
  CHECK(s.code() == code);
  for (const char* f : fragments) {
    INFO(f);
    CHECK(message.find(f) != std::string::npos);
  }
}

converter::Matrix ScoreAll(const std::shared_ptr<const Model>& model, const converter::Matrix& x,
                           const SessionOptions& options) {
  std::unique_ptr<Session> session;
  Status s = Session::Create(model, options, &session);
  REQUIRE_MESSAGE(s.ok(), s.message());
  converter::Matrix out;
  out.rows = x.rows;
  out.cols = model->num_tasks();
  out.data.assign(static_cast<size_t>(out.rows * out.cols), 0.0f);
  s = session->Score(x.data.data(), static_cast<size_t>(x.rows), out.data.data(), out.data.size());
  REQUIRE_MESSAGE(s.ok(), s.message());
  return out;
}

}  // namespace mmoe::testing
