// mmoe eval's measurement: the float network and the int8 model file on the same rows, with
// per-task ranking, classification or regression figures and per-tensor quantization noise.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mmoe/converter/convert.h"
#include "mmoe/converter/float_model.h"
#include "mmoe/converter/io.h"

namespace mmoe {
class Model;
}

namespace mmoe::converter {

class RowSource;

struct TaskEval {
  TaskAgreement agreement;     // max / mean / p99 |Δ| and Spearman, float vs int8
  double flipped_pairs = 0.0;  // share of item pairs the two order oppositely
  // With labels: a probability task (a sigmoid, or a product of probabilities) and a task whose
  // labels are all 0 or 1 are classifications (AUC; log loss for probabilities); any other is
  // a regression (RMSE, MAE and Spearman against the labels).
  bool has_labels = false;
  bool regression = false;
  double auc_float = 0.0, auc_int8 = 0.0;
  double logloss_float = 0.0, logloss_int8 = 0.0;  // NaN unless the scores are probabilities
  double rmse_float = 0.0, rmse_int8 = 0.0;
  double mae_float = 0.0, mae_int8 = 0.0;
  double spearman_float = 0.0, spearman_int8 = 0.0;  // against the labels
};

// One quantized tensor's noise: SQNR of the int8 model's (dequantized) values against the
// float network's, over every element of every row. Tensors are paired by name.
struct LayerNoise {
  std::string name;     // the tensor's, e.g. "input", "experts.0.2", "tower_input.click"
  std::string type;     // in the model file: "int8", "int16" or "float32"
  double signal = 0.0;  // sum of float values squared
  double noise = 0.0;   // sum of squared differences
  double sqnr_db() const;
};

// How much each gated mixture weighs the tensors it mixes, in the float model.
struct MixtureUse {
  std::string name;                  // the mixture's output tensor
  std::vector<std::string> experts;  // the mixed tensors, in order
  std::vector<double> mean_weight;   // per mixed tensor: the mean gate probability
};

struct EvalResult {
  int64_t rows = 0;
  std::vector<std::string> tasks;
  std::vector<TaskEval> task_evals;
  std::vector<LayerNoise> layers;  // in the order the graph computes them
  std::vector<MixtureUse> mixtures;
  // Up to EvalOptions::sample_rows evenly spaced rows' scores, for plots.
  Matrix float_sample, int8_sample;
  // Scores of the runtime session (the int8 figures) against the reference executor's that
  // the per-tensor figures come from: equal unless the two backends disagree.
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

// `labels` (optional): [rows][tasks]. Scores every row with the float reference, the runtime
// (default session options) and the runtime's reference executor, whose tensors it compares
// with the float network's.
EvalResult Evaluate(const FloatModel& float_model, const std::shared_ptr<const Model>& model, RowSource& rows,
                    const Matrix* labels, const EvalOptions& options);
// Any model (sparse features too): its inputs by name, read a chunk at a time.
class InputSource;
EvalResult Evaluate(const FloatModel& float_model, const std::shared_ptr<const Model>& model,
                    InputSource& rows, const Matrix* labels, const EvalOptions& options);

// Checks a label matrix against the model and the inputs: `rows` rows, one column per task (a
// single column for a one-task model may be [N]), finite values, 0 or 1 for the tasks whose
// scores are probabilities (`probability[t]`). Errors name the file, row and column.
void CheckLabels(const Matrix& labels, int64_t rows, const std::vector<bool>& probability,
                 const std::string& path);

// Per output of `model`: whether its score is a probability (a sigmoid, or a product of them).
std::vector<bool> ProbabilityOutputs(const FloatModel& model);

}  // namespace mmoe::converter
