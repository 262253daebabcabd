#include "mmoe/converter/convert.h"

#include "mmoe/converter/calibrate.h"
#include "mmoe/converter/float_reference.h"
#include "mmoe/mmoe.h"

namespace mmoe::converter {

ConvertResult Convert(const FloatModel& model, const Matrix& calibration, const ConvertOptions& options) {
  Validate(model);
  if (options.calibration != "minmax") {
    throw ConvertError("unknown calibration method '" + options.calibration + "' (available: minmax)");
  }
  if (calibration.rows == 0) throw ConvertError("calibration set is empty");
  if (calibration.cols != model.input_dim) {
    throw ConvertError("calibration rows have " + std::to_string(calibration.cols) +
                       " values, the model reads " + std::to_string(model.input_dim));
  }
  ActivationStats stats;
  const Matrix float_scores = FloatReference(model).Forward(calibration, nullptr, &stats);

  ConvertResult result;
  result.bytes = BuildModelFile(model, stats, calibration.rows, options, &result.warnings);
  result.parameters = model.parameters();
  auto add_bytes = [&](const FloatMlp& mlp) {
    for (const FloatDense& l : mlp.layers)
      result.parameter_bytes += static_cast<int64_t>(l.in) * l.out + 4 * l.out;
  };
  for (const FloatMlp& e : model.experts) add_bytes(e);
  for (const FloatGate& g : model.gates) add_bytes(g.mlp);
  for (const FloatTask& t : model.tasks) add_bytes(t.tower);

  // Score the calibration rows with the runtime itself: the agreement figures are those of
  // the file just built, not of a simulation.
  std::shared_ptr<const Model> runtime_model;
  Status s = Model::LoadBuffer(result.bytes.data(), result.bytes.size(), &runtime_model);
  if (!s.ok())
    throw ConvertError(std::string("internal error: the new model does not verify: ") + s.message());
  std::unique_ptr<Session> session;
  s = Session::Create(runtime_model, SessionOptions(), &session);
  if (!s.ok()) throw ConvertError(std::string("internal error: ") + s.message());
  Matrix int8_scores;
  int8_scores.rows = calibration.rows;
  int8_scores.cols = static_cast<int64_t>(model.tasks.size());
  int8_scores.data.resize(int8_scores.rows * int8_scores.cols);
  s = session->Score(calibration.data.data(), calibration.rows, int8_scores.data.data(),
                     int8_scores.data.size());
  if (!s.ok()) throw ConvertError(std::string("internal error: ") + s.message());
  std::vector<std::string> names;
  for (const FloatTask& t : model.tasks) names.push_back(t.name);
  result.agreement = CompareScores(float_scores, int8_scores, names);
  return result;
}

}  // namespace mmoe::converter
