#include "mmoe/converter/evaluate.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "mmoe/converter/float_reference.h"
#include "mmoe/converter/inputs.h"
#include "mmoe/converter/quality.h"
#include "mmoe/converter/rows.h"
#include "mmoe/mmoe.h"
#include "model_data.h"
#include "plan/executor.h"

namespace mmoe::converter {
namespace {

using graph::Op;
using graph::TensorType;

// Every float tensor of a chunk, concatenated over its rows in observation order.
class FloatRecorder : public ActivationObserver {
 public:
  explicit FloatRecorder(size_t tensors) : values_(tensors) {}
  void Observe(int32_t tensor, const float* values, size_t count) override {
    std::vector<float>& v = values_[static_cast<size_t>(tensor)];
    v.insert(v.end(), values, values + count);
  }
  std::vector<std::vector<float>> values_;
};

// The reference executor's tensors of a chunk, dequantized, concatenated over rows.
class QuantRecorder : public TensorObserver {
 public:
  explicit QuantRecorder(const ModelData& m)
      : g_(m.graph), values_(m.graph.tensors.size()), concat_(m.graph.tensors.size(), nullptr) {
    for (const graph::Node& n : g_.nodes) {
      if (n.op == Op::kConcat)
        concat_[static_cast<size_t>(n.output)] = &m.concats[static_cast<size_t>(n.param)];
    }
  }
  void Observe(int32_t tensor, const void* data, size_t batch, size_t stride) override {
    const graph::Tensor& t = g_.tensors[static_cast<size_t>(tensor)];
    const ConcatParams* concat = concat_[static_cast<size_t>(tensor)];
    std::vector<float>& v = values_[static_cast<size_t>(tensor)];
    for (size_t i = 0; i < batch; ++i) {
      for (int32_t c = 0; c < t.width; ++c) {
        const size_t at = i * stride + static_cast<size_t>(c);
        const int32_t q8 = static_cast<const int8_t*>(data)[at];
        switch (t.type) {
          case TensorType::kInt8:  // a concat's output: each column its own quantization
            v.push_back(concat ? concat->scales[c] * static_cast<float>(q8 - concat->zero_points[c])
                               : t.scale * static_cast<float>(q8 - t.zero_point));
            break;
          case TensorType::kInt16:
            v.push_back(t.scale * static_cast<float>(static_cast<const int16_t*>(data)[at] - t.zero_point));
            break;
          case TensorType::kId:  // never observed: the caller's ids
          case TensorType::kFloat:
            v.push_back(static_cast<const float*>(data)[at]);
            break;
        }
      }
    }
  }
  const graph::Graph& g_;
  std::vector<std::vector<float>> values_;
  std::vector<const ConcatParams*> concat_;  // per tensor: the concat computing it
};

std::vector<double> Column(const Matrix& m, int64_t c) {
  std::vector<double> v(static_cast<size_t>(m.rows));
  for (int64_t i = 0; i < m.rows; ++i) v[i] = m.row(i)[c];
  return v;
}

void Regression(const std::vector<double>& scores, const std::vector<double>& labels, double* rmse,
                double* mae) {
  double se = 0.0, ae = 0.0;
  for (size_t i = 0; i < scores.size(); ++i) {
    const double d = scores[i] - labels[i];
    se += d * d;
    ae += std::fabs(d);
  }
  const double n = static_cast<double>(std::max<size_t>(scores.size(), 1));
  *rmse = std::sqrt(se / n);
  *mae = ae / n;
}

bool ZeroOne(const Matrix& labels, int64_t t) {
  for (int64_t i = 0; i < labels.rows; ++i) {
    const float v = labels.row(i)[t];
    if (v != 0.0f && v != 1.0f) return false;
  }
  return true;
}

}  // namespace

double LayerNoise::sqnr_db() const { return SqnrDb(signal, noise); }

std::vector<bool> ProbabilityOutputs(const FloatModel& model) {
  const graph::Graph& g = model.graph;
  std::vector<bool> probability(g.tensors.size(), false);
  for (const graph::Node& n : g.nodes) {
    if (n.op == Op::kSigmoid) probability[n.output] = true;
    if (n.op == Op::kProduct) {
      bool all = true;
      for (int32_t t : n.inputs) all = all && probability[t];
      probability[n.output] = all;
    }
  }
  std::vector<bool> out;
  for (const graph::Output& o : g.outputs) out.push_back(probability[o.tensor]);
  return out;
}

void CheckLabels(const Matrix& labels, int64_t rows, const std::vector<bool>& probability,
                 const std::string& path) {
  const int64_t tasks = static_cast<int64_t>(probability.size());
  if (labels.cols != tasks) {
    throw ConvertError(path + ": labels have " + std::to_string(labels.cols) + " columns, the model has " +
                       std::to_string(tasks) + " tasks");
  }
  if (labels.rows != rows) {
    throw ConvertError(path + ": has " + std::to_string(labels.rows) + " rows, the input has " +
                       std::to_string(rows));
  }
  for (int64_t i = 0; i < labels.rows; ++i) {
    for (int64_t t = 0; t < labels.cols; ++t) {
      const float v = labels.row(i)[t];
      if (!std::isfinite(v)) {
        throw ConvertError(path + ": row " + std::to_string(i) + ", column " + std::to_string(t) +
                           " is not finite");
      }
      if (probability[t] && v != 0.0f && v != 1.0f) {
        throw ConvertError(path + ": row " + std::to_string(i) + ", column " + std::to_string(t) + " is " +
                           std::to_string(v) + "; task " + std::to_string(t) +
                           " scores a probability, whose labels must be 0 or 1");
      }
    }
  }
}

namespace {

// "2 inputs (user: ids, dense: dense 3)": what a model takes, for messages.
std::string Describe(const graph::Graph& g) {
  std::string text = std::to_string(g.inputs.size()) + " inputs (";
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    const graph::Input& in = g.inputs[i];
    text += (i ? ", " : "") + in.name + ": " + graph::InputKindName(in.kind);
    if (in.kind == graph::InputKind::kDense) text += " " + std::to_string(g.tensors[in.tensor].width);
  }
  return text + "), " + std::to_string(g.outputs.size()) + " tasks";
}

}  // namespace

EvalResult Evaluate(const FloatModel& float_model, const std::shared_ptr<const Model>& model, RowSource& rows,
                    const Matrix* labels, const EvalOptions& options) {
  if (rows.cols() != model->input_dim()) {
    throw ConvertError(
        rows.name() + ": rows have " + std::to_string(rows.cols()) + " values, the model reads " +
        (model->input_dim() ? std::to_string(model->input_dim()) : Describe(model->data().graph)));
  }
  const std::unique_ptr<InputSource> inputs = DenseInputSource(rows, model->data().graph.inputs[0].name);
  return Evaluate(float_model, model, *inputs, labels, options);
}

EvalResult Evaluate(const FloatModel& float_model, const std::shared_ptr<const Model>& model,
                    InputSource& rows, const Matrix* labels, const EvalOptions& options) {
  Validate(float_model);
  const graph::Graph& qg = model->data().graph;
  const graph::Graph& fg = float_model.graph;
  const int n_tasks = model->num_tasks();
  bool same_inputs = fg.inputs.size() == qg.inputs.size() && float_model.num_tasks() == n_tasks;
  for (size_t i = 0; same_inputs && i < fg.inputs.size(); ++i) {
    same_inputs = fg.inputs[i].kind == qg.inputs[i].kind &&
                  fg.tensors[fg.inputs[i].tensor].width == qg.tensors[qg.inputs[i].tensor].width;
  }
  if (!same_inputs) {
    throw ConvertError("the float weights (" + Describe(fg) + ") do not describe the model file (" +
                       Describe(qg) + ")");
  }
  if (rows.rows() == 0) throw ConvertError(rows.name() + ": no rows to evaluate");
  const std::vector<bool> probability = ProbabilityOutputs(float_model);
  if (labels) CheckLabels(*labels, rows.rows(), probability, "labels");  // the caller's file, all rows

  EvalResult r;
  r.rows = options.max_rows >= 0 ? std::min(options.max_rows, rows.rows()) : rows.rows();
  if (r.rows == 0) throw ConvertError(rows.name() + ": no rows to evaluate");
  // The file's names: weights imported without an architecture only know "task1", "task2".
  for (int t = 0; t < n_tasks; ++t) r.tasks.push_back(model->task_name(t));
  // Tensors both sides have, paired by name, in the float graph's order.
  std::map<std::string, int32_t> file_tensor;
  for (size_t t = 0; t < qg.tensors.size(); ++t) file_tensor[qg.tensors[t].name] = static_cast<int32_t>(t);
  std::vector<std::pair<int32_t, int32_t>> pairs;  // float tensor, file tensor
  const auto pair = [&](int32_t ft) {
    const auto it = file_tensor.find(fg.tensors[ft].name);
    if (it == file_tensor.end() || qg.tensors[it->second].width != fg.tensors[ft].width) return;
    pairs.emplace_back(ft, it->second);
    LayerNoise l;
    l.name = fg.tensors[ft].name;
    l.type = graph::TensorTypeName(qg.tensors[it->second].type);
    r.layers.push_back(l);
  };
  for (const graph::Input& in : fg.inputs) {
    if (in.kind == graph::InputKind::kDense) pair(in.tensor);
  }
  for (const graph::Node& n : fg.nodes) pair(n.output);

  std::unique_ptr<Session> session;
  if (Status s = Session::Create(model, SessionOptions(), &session); !s.ok()) throw ConvertError(s.message());
  QuantRecorder quant_rec(model->data());
  const size_t tile = static_cast<size_t>(std::clamp<int64_t>(options.chunk_rows, 1, 4096));
  std::unique_ptr<Executor> reference;
  if (Status s = CreateReferenceExecutor(model->data(), tile, &reference, &quant_rec); !s.ok()) {
    throw ConvertError(s.message());
  }
  const FloatReference float_ref(float_model);
  Matrix float_scores, int8_scores;
  for (Matrix* m : {&float_scores, &int8_scores}) {
    m->rows = r.rows;
    m->cols = n_tasks;
    m->data.resize(static_cast<size_t>(r.rows * n_tasks));
  }
  std::vector<std::vector<double>> mix_sums(fg.nodes.size());
  std::vector<float> ref_scores;
  ForEachInputChunk(rows, static_cast<int64_t>(tile), r.rows, [&](int64_t first, const Inputs& chunk) {
    FloatRecorder float_rec(fg.tensors.size());
    for (auto& v : quant_rec.values_) v.clear();
    const Matrix f = float_ref.Forward(chunk, &float_rec);
    std::copy(f.data.begin(), f.data.end(), float_scores.row(first));
    float* int8_rows = int8_scores.row(first);
    const std::vector<InputView> views = chunk.Views();
    if (Status s = session->Score(views.data(), views.size(), static_cast<size_t>(chunk.rows), int8_rows,
                                  f.data.size());
        !s.ok()) {
      throw ConvertError(rows.name() + ": " + s.message());
    }
    ref_scores.resize(f.data.size());
    TileInputs in;
    in.views = views.data();
    reference->ScoreTile(in, static_cast<size_t>(chunk.rows), ref_scores.data());
    for (size_t i = 0; i < ref_scores.size(); ++i) r.simulation_mismatches += ref_scores[i] != int8_rows[i];
    for (size_t p = 0; p < pairs.size(); ++p) {
      const std::vector<float>& fv = float_rec.values_[pairs[p].first];
      const std::vector<float>& qv = quant_rec.values_[pairs[p].second];
      if (qv.size() != fv.size()) continue;
      for (size_t i = 0; i < fv.size(); ++i) {
        const double d = static_cast<double>(fv[i]) - qv[i];
        r.layers[p].signal += static_cast<double>(fv[i]) * fv[i];
        r.layers[p].noise += d * d;
      }
    }
    // The float gates' probabilities each gated mixture applies.
    for (size_t i = 0; i < fg.nodes.size(); ++i) {
      const graph::Node& n = fg.nodes[i];
      if (n.op != Op::kMixture || !n.gated) continue;
      const std::vector<float>& p = float_rec.values_[n.inputs[0]];
      const size_t k = static_cast<size_t>(n.num_experts());
      mix_sums[i].resize(k, 0.0);
      for (size_t at = 0; at + k <= p.size(); at += k) {
        for (size_t j = 0; j < k; ++j) mix_sums[i][j] += p[at + j];
      }
    }
    if (options.progress) options.progress("evaluating", first + chunk.rows, r.rows);
  });

  for (size_t i = 0; i < fg.nodes.size(); ++i) {
    const graph::Node& n = fg.nodes[i];
    if (n.op != Op::kMixture || !n.gated) continue;
    MixtureUse use;
    use.name = fg.tensors[n.output].name;
    for (int32_t j = 0; j < n.num_experts(); ++j) {
      use.experts.push_back(fg.tensors[n.experts()[j]].name);
      use.mean_weight.push_back(mix_sums[i][j] / static_cast<double>(r.rows));
    }
    r.mixtures.push_back(use);
  }

  const std::vector<TaskAgreement> agreement = CompareScores(float_scores, int8_scores, r.tasks);
  for (int t = 0; t < n_tasks; ++t) {
    TaskEval e;
    e.agreement = agreement[t];
    const std::vector<double> f = Column(float_scores, t), q = Column(int8_scores, t);
    e.flipped_pairs = FlippedPairShare(f, q);
    if (labels) {
      std::vector<double> y = Column(*labels, t);
      y.resize(static_cast<size_t>(r.rows));
      e.has_labels = true;
      e.regression = !probability[t] && !ZeroOne(*labels, t);
      if (e.regression) {
        Regression(f, y, &e.rmse_float, &e.mae_float);
        Regression(q, y, &e.rmse_int8, &e.mae_int8);
        e.spearman_float = Spearman(f, y);
        e.spearman_int8 = Spearman(q, y);
      } else {
        e.auc_float = Auc(f, y);
        e.auc_int8 = Auc(q, y);
        // Log loss needs probabilities: other tasks' scores are logits.
        e.logloss_float = probability[t] ? LogLoss(f, y) : std::nan("");
        e.logloss_int8 = probability[t] ? LogLoss(q, y) : std::nan("");
      }
    }
    r.task_evals.push_back(e);
  }

  const int64_t sample = std::min(r.rows, std::max<int64_t>(options.sample_rows, 0));
  for (Matrix* m : {&r.float_sample, &r.int8_sample}) {
    m->rows = sample;
    m->cols = n_tasks;
    m->data.clear();
  }
  for (int64_t k = 0; k < sample; ++k) {
    const int64_t i = k * r.rows / sample;
    r.float_sample.data.insert(r.float_sample.data.end(), float_scores.row(i), float_scores.row(i) + n_tasks);
    r.int8_sample.data.insert(r.int8_sample.data.end(), int8_scores.row(i), int8_scores.row(i) + n_tasks);
  }
  return r;
}

}  // namespace mmoe::converter
