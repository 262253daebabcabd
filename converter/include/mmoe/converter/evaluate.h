// mmoe eval's measurement: the float network and the int8 model file on the same rows, with
// per-task ranking and calibration figures and per-layer quantization noise.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mmoe/converter/convert.h"
#include "mmoe/converter/float_model.h"
#include "mmoe/converter/float_reference.h"
#include "mmoe/converter/io.h"

namespace mmoe {
class Model;
}

namespace mmoe::converter {

class RowSource;

struct TaskEval {
  TaskAgreement agreement;     // max / mean / p99 |Δp| and Spearman, float vs int8
  double flipped_pairs = 0.0;  // share of item pairs the two order oppositely
  bool has_labels = false;
  double auc_float = 0.0, auc_int8 = 0.0;
  double logloss_float = 0.0, logloss_int8 = 0.0;  // NaN for identity (non-probability) tasks
};

// One quantized activation tensor's noise: SQNR of the int8 model's (dequantized) values
// against the float network's, over every element of every row.
struct LayerNoise {
  std::string name;  // e.g. "input", "experts.0.2", "tower_input.click", "gates.1.4 (logits)"
  TensorId id;
  double signal = 0.0;  // sum of float values squared
  double noise = 0.0;   // sum of squared differences
  double sqnr_db() const;
};

struct EvalResult {
  int64_t rows = 0;
  std::vector<std::string> tasks;
  std::vector<TaskEval> task_evals;
  std::vector<LayerNoise> layers;  // in the order the network computes them
  // gate_means[t][e]: mean float gate weight of expert e in task t's mixture (0 for experts
  // the task does not mix; a task without a gate reads its one expert with weight 1).
  std::vector<std::vector<double>> gate_means;
  // Up to EvalOptions::sample_rows evenly spaced rows' scores, for scatter plots.
  Matrix float_sample, int8_sample;
  // Scores of the runtime session (the int8 figures) against the converter's simulation of
  // the file (the per-layer figures): equal unless the two implementations disagree.
  int64_t simulation_mismatches = 0;
};

struct EvalOptions {
  int64_t chunk_rows = 4096;
  int64_t sample_rows = 2000;
  // Evaluate the first max_rows rows only (negative: all). Scores are kept for every row
  // evaluated (AUC, Spearman and flipped pairs need them all), so this bounds the memory.
  int64_t max_rows = -1;
  ProgressFn progress;
};

// `labels` (optional): [rows][tasks] of 0/1. Scores every row with the float reference, the
// runtime (default session options) and the quantized reference.
EvalResult Evaluate(const FloatModel& float_model, const std::shared_ptr<const Model>& model, RowSource& rows,
                    const Matrix* labels, const EvalOptions& options);

// Checks a label matrix against the model and the inputs: `rows` rows, one column per task
// (a single column for a one-task model may be [N]), values 0 or 1. Errors name the file,
// row and column.
void CheckLabels(const Matrix& labels, int64_t rows, int64_t tasks, const std::string& path);

}  // namespace mmoe::converter
