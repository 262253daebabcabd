// Shared fixtures for the doctest suite: the shipped seed example, converted once.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "mmoe/converter/convert.h"
#include "mmoe/converter/float_model.h"
#include "mmoe/converter/io.h"
#include "mmoe/mmoe.h"

namespace mmoe::testing {

// Path of a file under the repository root.
inline std::string SourcePath(const std::string& relative) {
  return std::string(MMOE_SOURCE_DIR) + "/" + relative;
}

// The shipped trained seed model (examples/seed), imported with its architecture JSON.
const converter::FloatModel& SeedFloatModel();
// examples/seed/calib.npy and eval.npy.
const converter::Matrix& SeedCalibration();
const converter::Matrix& SeedEval();
// The seed model converted with default options (cached; created_utc fixed so the bytes are
// reproducible).
const std::vector<uint8_t>& SeedModelBytes();
std::shared_ptr<const Model> SeedModel();

// `s` failed with `code` and a message containing every fragment (fails the current test
// otherwise).
void CheckRefused(const Status& s, StatusCode code, std::initializer_list<const char*> fragments);

// Scores `x` with a fresh session on `model`; fails the current test on error.
converter::Matrix ScoreAll(const std::shared_ptr<const Model>& model, const converter::Matrix& x,
                           const SessionOptions& options = SessionOptions());

}  // namespace mmoe::testing
