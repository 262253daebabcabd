#include "mmoe/converter/evaluate.h"

#include <cmath>
#include <map>
#include <tuple>

#include "mmoe/converter/quality.h"
#include "mmoe/converter/quantized_reference.h"
#include "mmoe/converter/rows.h"
#include "mmoe/mmoe.h"
#include "mmoe_generated.h"

namespace mmoe::converter {
namespace {

using Key = std::tuple<int, int, int>;
Key KeyOf(const TensorId& id) { return {id.part, id.index, id.layer}; }

// Every tensor of a chunk, concatenated over its rows in observation order.
class Recorder : public ActivationObserver {
 public:
  void Observe(const TensorId& id, const float* values, size_t count) override {
    auto& v = tensors_[KeyOf(id)];
    v.insert(v.end(), values, values + count);
  }
  const std::map<Key, std::vector<float>>& tensors() const { return tensors_; }
  void Clear() { tensors_.clear(); }

 private:
  std::map<Key, std::vector<float>> tensors_;
};

// The activation tensors in the order the network computes them, with readable names.
std::vector<LayerNoise> Layers(const FloatModel& m) {
  std::vector<LayerNoise> out;
  auto add = [&](const std::string& name, TensorId::Part part, int index, int layer) {
    LayerNoise l;
    l.name = name;
    l.id = TensorId{part, index, layer};
    out.push_back(l);
  };
  add("input", TensorId::kInput, 0, 0);
  for (size_t e = 0; e < m.experts.size(); ++e) {
    for (size_t l = 0; l < m.experts[e].layers.size(); ++l)
      add(m.experts[e].layers[l].name, TensorId::kExpertLayer, static_cast<int>(e), static_cast<int>(l));
  }
  for (size_t g = 0; g < m.gates.size(); ++g) {
    const auto& layers = m.gates[g].mlp.layers;
    for (size_t l = 0; l < layers.size(); ++l) {
      add(layers[l].name + (l + 1 == layers.size() ? " (logits)" : ""), TensorId::kGateLayer,
          static_cast<int>(g), static_cast<int>(l));
    }
  }
  for (size_t t = 0; t < m.tasks.size(); ++t) {
    add("tower_input." + m.tasks[t].name, TensorId::kTowerInput, static_cast<int>(t), 0);
    const auto& layers = m.tasks[t].tower.layers;
    for (size_t l = 0; l < layers.size(); ++l) {
      add(layers[l].name + (l + 1 == layers.size() ? " (logit)" : ""), TensorId::kTowerLayer,
          static_cast<int>(t), static_cast<int>(l));
    }
  }
  return out;
}

std::vector<double> Column(const Matrix& m, int64_t c) {
  std::vector<double> v(static_cast<size_t>(m.rows));
  for (int64_t i = 0; i < m.rows; ++i) v[i] = m.row(i)[c];
  return v;
}

}  // namespace

double LayerNoise::sqnr_db() const { return SqnrDb(signal, noise); }

void CheckLabels(const Matrix& labels, int64_t rows, int64_t tasks, const std::string& path) {
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
      if (v != 0.0f && v != 1.0f) {
        throw ConvertError(path + ": row " + std::to_string(i) + ", column " + std::to_string(t) + " is " +
                           std::to_string(v) + ", labels must be 0 or 1");
      }
    }
  }
}

EvalResult Evaluate(const FloatModel& float_model, const std::shared_ptr<const Model>& model, RowSource& rows,
                    const Matrix* labels, const EvalOptions& options) {
  Validate(float_model);
  const fb::Model* file = fb::GetModel(model->flatbuffer());
  const int n_tasks = model->num_tasks();
  if (float_model.input_dim != model->input_dim() || static_cast<int>(float_model.tasks.size()) != n_tasks ||
      float_model.experts.size() != file->experts()->size() ||
      float_model.gates.size() != (file->gates() ? file->gates()->size() : 0)) {
    throw ConvertError(
        "the float weights (" + std::to_string(float_model.input_dim) + " inputs, " +
        std::to_string(float_model.experts.size()) + " experts, " + std::to_string(float_model.tasks.size()) +
        " tasks) do not describe the model file (" + std::to_string(model->input_dim()) + " inputs, " +
        std::to_string(file->experts() ? file->experts()->size() : 0) + " experts, " + std::to_string(n_tasks) + " tasks)");
  }
  if (rows.cols() != model->input_dim()) {
    throw ConvertError(rows.name() + ": rows have " + std::to_string(rows.cols()) +
                       " values, the model reads " + std::to_string(model->input_dim()));
  }
  if (rows.rows() == 0) throw ConvertError(rows.name() + ": no rows to evaluate");
  if (labels) CheckLabels(*labels, rows.rows(), n_tasks, "labels");  // the caller's file, all rows

  EvalResult r;
  r.rows = options.max_rows >= 0 ? std::min(options.max_rows, rows.rows()) : rows.rows();
  if (r.rows == 0) throw ConvertError(rows.name() + ": no rows to evaluate");
  // The file's names: weights imported without an architecture only know "task1", "task2".
  for (int t = 0; t < n_tasks; ++t) r.tasks.push_back(model->task_name(t));
  r.layers = Layers(float_model);
  std::map<Key, LayerNoise*> by_key;
  for (LayerNoise& l : r.layers) by_key[KeyOf(l.id)] = &l;

  std::unique_ptr<Session> session;
  if (Status s = Session::Create(model, SessionOptions(), &session); !s.ok()) throw ConvertError(s.message());
  const FloatReference float_ref(float_model);
  const QuantizedReference quant_ref(file);
  Matrix float_scores, int8_scores;
  for (Matrix* m : {&float_scores, &int8_scores}) {
    m->rows = r.rows;
    m->cols = n_tasks;
    m->data.resize(static_cast<size_t>(r.rows * n_tasks));
  }
  std::vector<std::vector<double>> gate_sums(float_model.gates.size());
  for (size_t g = 0; g < gate_sums.size(); ++g) gate_sums[g].assign(float_model.gates[g].experts.size(), 0.0);
  Recorder float_rec, quant_rec;
  ForEachChunk(rows, options.chunk_rows, r.rows, [&](int64_t first, const Matrix& chunk) {
    float_rec.Clear();
    quant_rec.Clear();
    const Matrix f = float_ref.Forward(chunk, nullptr, &float_rec);
    const Matrix q = quant_ref.Forward(chunk, &quant_rec);
    std::copy(f.data.begin(), f.data.end(), float_scores.row(first));
    float* int8_rows = int8_scores.row(first);
    if (Status s =
            session->Score(chunk.data.data(), static_cast<size_t>(chunk.rows), int8_rows, q.data.size());
        !s.ok()) {
      throw ConvertError(s.message());
    }
    for (size_t i = 0; i < q.data.size(); ++i) r.simulation_mismatches += q.data[i] != int8_rows[i];
    for (const auto& [key, fv] : float_rec.tensors()) {
      auto layer = by_key.find(key);
      auto qv = quant_rec.tensors().find(key);
      if (layer == by_key.end() || qv == quant_rec.tensors().end() || qv->second.size() != fv.size())
        continue;
      for (size_t i = 0; i < fv.size(); ++i) {
        const double d = static_cast<double>(fv[i]) - qv->second[i];
        layer->second->signal += static_cast<double>(fv[i]) * fv[i];
        layer->second->noise += d * d;
      }
    }
    // The float gates' softmax, from their logits (the last gate layer's outputs).
    for (size_t g = 0; g < gate_sums.size(); ++g) {
      const int last = static_cast<int>(float_model.gates[g].mlp.layers.size()) - 1;
      const std::vector<float>& z =
          float_rec.tensors().at(Key{TensorId::kGateLayer, static_cast<int>(g), last});
      const size_t n = gate_sums[g].size();
      for (size_t i = 0; i + n <= z.size(); i += n) {
        double zmax = z[i], sum = 0.0;
        for (size_t j = 0; j < n; ++j) zmax = std::max<double>(zmax, z[i + j]);
        for (size_t j = 0; j < n; ++j) sum += std::exp(z[i + j] - zmax);
        for (size_t j = 0; j < n; ++j) gate_sums[g][j] += std::exp(z[i + j] - zmax) / sum;
      }
    }
    if (options.progress) options.progress("evaluating", first + chunk.rows, r.rows);
  });

  // Only the layers the file quantizes and both sides reported.
  std::vector<LayerNoise> kept;
  for (const LayerNoise& l : r.layers)
    if (l.signal > 0.0 || l.noise > 0.0) kept.push_back(l);
  r.layers = kept;

  r.gate_means.assign(n_tasks, std::vector<double>(float_model.experts.size(), 0.0));
  for (int t = 0; t < n_tasks; ++t) {
    const FloatTask& task = float_model.tasks[t];
    if (task.gate < 0) {
      r.gate_means[t][task.expert] = 1.0;
      continue;
    }
    const std::vector<int>& experts = float_model.gates[task.gate].experts;
    for (size_t j = 0; j < experts.size(); ++j)
      r.gate_means[t][experts[j]] = gate_sums[task.gate][j] / static_cast<double>(r.rows);
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
      e.auc_float = Auc(f, y);
      e.auc_int8 = Auc(q, y);
      // Log loss needs probabilities: an identity task's scores are logits or regressions.
      const bool probabilities = float_model.tasks[t].output == TaskOutput::kSigmoid;
      e.logloss_float = probabilities ? LogLoss(f, y) : std::nan("");
      e.logloss_int8 = probabilities ? LogLoss(q, y) : std::nan("");
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
