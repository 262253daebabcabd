#include "mmoe/converter/convert.h"

#include <cmath>

#include "mmoe/converter/calibrate.h"
#include "mmoe/converter/float_reference.h"
#include "mmoe/converter/inputs.h"
#include "mmoe/converter/rows.h"
#include "mmoe/converter/weight_rounding.h"
#include "mmoe/mmoe.h"

namespace mmoe::converter {
namespace {

// Rows the int8 exactness of the input is checked on (ConvertOptions::input_precision).
constexpr int64_t kExactCheckRows = 100000;

// One pass of the float reference over the calibration rows (the first `limit`, or all when
// negative), each chunk's scores handed to `on_scores`.
template <typename OnScores>
void FloatPass(const FloatModel& model, InputSource& rows, const ConvertOptions& options, const char* stage,
               int64_t limit, ActivationObserver* observer, OnScores&& on_scores) {
  const FloatReference reference(model);
  const int64_t total = limit >= 0 && limit < rows.rows() ? limit : rows.rows();
  ForEachInputChunk(rows, options.chunk_rows, total, [&](int64_t first, const Inputs& chunk) {
    on_scores(first, chunk, reference.Forward(chunk, observer));
    if (options.progress) options.progress(stage, first + chunk.rows, total);
  });
}

// Whether every value of the first rows of the model's one dense input lies on the int8 grid
// its calibrated range gives (0/1, one-hot, small integers), to 1 % of a step.
bool ExactInInt8(InputSource& rows, const ActivationStats& stats, int32_t tensor,
                 const ConvertOptions& options) {
  const QuantParams q = Int8FromRange(stats.GetRange(tensor));
  const float inv = 1.0f / q.scale;
  bool exact = true;
  ForEachInputChunk(rows, options.chunk_rows, kExactCheckRows, [&](int64_t, const Inputs& chunk) {
    for (float x : chunk.arrays[0].floats.data) {
      const float v = x * inv;
      exact = exact && !(std::fabs(v - std::nearbyint(v)) > 0.01f);  // NaN scores as 0: exact
    }
  });
  return exact;
}

InputPrecision ChooseInputPrecision(const FloatModel& model, InputSource& rows, const ActivationStats& stats,
                                    const ConvertOptions& options) {
  const bool possible = CanTakeInt16Input(model);
  switch (options.input_precision) {
    case InputPrecision::kInt16:
      if (!possible) {
        throw ConvertError("int16 input: the model's input must be one dense input of at most " +
                           std::to_string(kMaxInt16Width) +
                           " features read by dense layers (this one is not: its inputs are quantized per "
                           "feature by a concat, or wider)");
      }
      return InputPrecision::kInt16;
    case InputPrecision::kInt8:
      return InputPrecision::kInt8;
    default:
      // --activations int8 asks for int8 everywhere, the input included.
      if (!possible || options.activations == ActivationPrecision::kInt8) return InputPrecision::kInt8;
      return ExactInInt8(rows, stats, model.graph.inputs[0].tensor, options) ? InputPrecision::kInt8
                                                                             : InputPrecision::kInt16;
  }
}

void AppendRows(Matrix* all, const Matrix& part) {
  all->cols = part.cols;
  all->rows += part.rows;
  all->data.insert(all->data.end(), part.data.begin(), part.data.end());
}

}  // namespace

ConvertResult Convert(const FloatModel& model, RowSource& calibration, const ConvertOptions& options) {
  Validate(model);
  if (model.input_dim() == 0) {
    throw ConvertError(calibration.name() + ": the model has " + std::to_string(model.graph.inputs.size()) +
                       " inputs, not one dense input: calibrate it on inputs by name (.npz)");
  }
  if (calibration.cols() != model.input_dim()) {
    throw ConvertError(calibration.name() + ": calibration rows have " + std::to_string(calibration.cols()) +
                       " values, the model reads " + std::to_string(model.input_dim()));
  }
  const std::unique_ptr<InputSource> inputs = DenseInputSource(calibration, model.graph.inputs[0].name);
  return Convert(model, *inputs, options);
}

ConvertResult Convert(const FloatModel& model, InputSource& calibration, const ConvertOptions& options) {
  Validate(model);
  const CalibrationMethod method = ParseCalibrationMethod(options.calibration);
  if (calibration.rows() == 0) throw ConvertError(calibration.name() + ": calibration set is empty");
  if (options.chunk_rows <= 0) throw ConvertError("chunk_rows must be positive");
  const int64_t agreement_rows = std::min(calibration.rows(), std::max<int64_t>(options.agreement_rows, 1));

  // Pass 1: ranges and means; the float scores of the rows the agreement is measured on.
  ActivationStats stats;
  if (options.error_feedback) {
    for (const graph::Node& n : model.graph.nodes) {
      if (n.op == graph::Op::kDense && model.graph.tensors[n.inputs[0]].width <= kMaxErrorFeedbackWidth)
        stats.TrackSecondMoments(n.inputs[0]);
    }
  }
  Matrix float_scores;
  FloatPass(model, calibration, options, "ranges", -1, &stats,
            [&](int64_t first, const Inputs&, const Matrix& scores) {
              if (first < agreement_rows) {
                Matrix head = scores;
                head.rows = std::min(scores.rows, agreement_rows - first);
                head.data.resize(static_cast<size_t>(head.rows * head.cols));
                AppendRows(&float_scores, head);
              }
            });
  ConvertOptions file_options = options;
  file_options.input_precision = ChooseInputPrecision(model, calibration, stats, options);
  const bool int16_input = file_options.input_precision == InputPrecision::kInt16;
  // Pass 2: histograms, when the method looks at the distribution rather than the extremes.
  if (method.kind != CalibrationMethod::kMinMax) {
    stats.BeginHistograms();
    FloatPass(model, calibration, options, "histograms", -1, &stats,
              [](int64_t, const Inputs&, const Matrix&) {});
    const std::vector<graph::TensorType> types = TensorTypes(model, options.activations, int16_input);
    stats.ChooseRanges(method, [&](int32_t t) { return types[t] == graph::TensorType::kInt16; });
  }

  file_options.calibration = method.Name();
  ConvertResult result;
  result.int16_input = int16_input;
  result.calibration_rows = calibration.rows();
  result.agreement_rows = agreement_rows;
  result.bytes = BuildModelFile(model, stats, calibration.rows(), file_options, &result.warnings);
  result.parameters = model.parameters();
  result.parameter_bytes = model.parameter_bytes();

  // Score the calibration rows with the runtime itself: the agreement figures are those of
  // the file just built, not of a simulation.
  std::shared_ptr<const Model> runtime_model;
  // Zero-copy: result.bytes outlives the session (a 400 MB table is not copied again).
  Status s = Model::LoadBuffer(result.bytes.data(), result.bytes.size(), &runtime_model, /*copy=*/false);
  if (!s.ok())
    throw ConvertError(std::string("internal error: the new model does not verify: ") + s.message());
  std::unique_ptr<Session> session;
  s = Session::Create(runtime_model, SessionOptions(), &session);
  if (!s.ok()) throw ConvertError(std::string("internal error: ") + s.message());
  Matrix int8_scores;
  int8_scores.rows = agreement_rows;
  int8_scores.cols = model.num_tasks();
  int8_scores.data.resize(int8_scores.rows * int8_scores.cols);
  ForEachInputChunk(calibration, options.chunk_rows, agreement_rows, [&](int64_t first, const Inputs& chunk) {
    const std::vector<InputView> views = chunk.Views();
    s = session->Score(views.data(), views.size(), static_cast<size_t>(chunk.rows), int8_scores.row(first),
                       static_cast<size_t>(chunk.rows * int8_scores.cols));
    if (!s.ok()) throw ConvertError(std::string("internal error: ") + s.message());
    if (options.progress) options.progress("agreement", first + chunk.rows, agreement_rows);
  });
  result.agreement = CompareScores(float_scores, int8_scores, model.task_names());
  return result;
}

ConvertResult Convert(const FloatModel& model, const Matrix& calibration, const ConvertOptions& options) {
  MatrixRowSource rows(calibration, "calibration");
  return Convert(model, rows, options);
}

}  // namespace mmoe::converter
