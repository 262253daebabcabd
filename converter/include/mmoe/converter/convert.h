// Float model + calibration rows -> int8 model file bytes, with a quality summary.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "mmoe/converter/float_model.h"
#include "mmoe/converter/io.h"
#include "mmoe/converter/tensor_types.h"

namespace mmoe::converter {

// Reports a pass over the calibration rows: its stage ("ranges", "histograms", "agreement"),
// rows done and rows in the pass, after every chunk.
using ProgressFn = std::function<void(const char* stage, int64_t done, int64_t total)>;

struct ConvertOptions {
  // Range method for activations: "minmax", "percentile[:P]" or "mse" (ParseCalibrationMethod).
  std::string calibration = "minmax";
  ActivationPrecision activations = ActivationPrecision::kMixed;
  // The dense input's type; Convert() resolves kAuto (int16 unless int8 holds every calibration
  // value exactly, or `activations` is kInt8) before the file is built, which then sees kInt8
  // or kInt16.
  InputPrecision input_precision = InputPrecision::kAuto;
  bool bias_correction = true;  // fold the calibration-mean weight rounding error into biases
  // Round each layer's weights against its inputs' calibrated second moments (error feedback,
  // weight_rounding.h); false: round to nearest.
  bool error_feedback = true;
  // A concat (embeddings and dense features side by side, the first layers' input) quantizes
  // each column with its own range; false: one range for all of them (for comparison).
  bool per_feature_input_scales = true;
  std::string created_utc;    // ISO 8601; empty: now
  int64_t chunk_rows = 4096;  // calibration rows in memory at a time
  // The float-vs-int8 agreement is measured on the first rows only: its score lists are the
  // one part of a conversion whose memory grows with the rows.
  int64_t agreement_rows = 100000;
  ProgressFn progress;  // optional
};

// Agreement of int8 scores with float scores on the same rows, per task.
struct TaskAgreement {
  std::string task;
  double max_abs = 0.0;
  double mean_abs = 0.0;
  double p99_abs = 0.0;
  double spearman = 0.0;
};

struct ConvertResult {
  std::vector<uint8_t> bytes;            // the model file
  bool int16_input = false;              // the input type chosen (ConvertOptions::input_precision)
  int64_t parameters = 0;                // weights + biases
  int64_t parameter_bytes = 0;           // int8 weights + int32 biases
  std::vector<TaskAgreement> agreement;  // float vs int8 on the calibration rows
  std::vector<std::string> warnings;     // e.g. a clamped bias
  int64_t calibration_rows = 0;
  int64_t agreement_rows = 0;  // rows the agreement was measured on
};

class RowSource;
// Streams the calibration rows `options.chunk_rows` at a time: one pass for ranges and means,
// a second for histograms when the method needs them, and one over the first
// `options.agreement_rows` rows to score the built model with the runtime.
ConvertResult Convert(const FloatModel& model, RowSource& calibration, const ConvertOptions& options);
// The same for rows in memory.
ConvertResult Convert(const FloatModel& model, const Matrix& calibration, const ConvertOptions& options);
// Any model (sparse features too): its inputs by name, read a chunk at a time.
class InputSource;
ConvertResult Convert(const FloatModel& model, InputSource& calibration, const ConvertOptions& options);

// Builds the model file from a float model and its calibration statistics.
class ActivationStats;
std::vector<uint8_t> BuildModelFile(const FloatModel& model, const ActivationStats& stats,
                                    int64_t calibration_rows, const ConvertOptions& options,
                                    std::vector<std::string>* warnings);

// Per-task max / mean / 99th-percentile absolute difference and Spearman rank correlation
// between two [N][tasks] score matrices.
std::vector<TaskAgreement> CompareScores(const Matrix& reference, const Matrix& test,
                                         const std::vector<std::string>& task_names);
// Spearman's rank correlation (average ranks for ties).
double Spearman(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace mmoe::converter
