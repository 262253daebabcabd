#include "mmoe/converter/quantized_reference.h"

#include <cstdint>
#include <vector>

#include "mmoe_generated.h"
#include "numerics.h"  // runtime/src: the scalar rounding, exp and sigmoid of the specification

namespace mmoe::converter {
namespace {

// A quantized tensor of one item: integer levels and the quantization that gives them meaning.
struct QTensor {
  std::vector<int32_t> q;
  const fb::ActivationQuant* quant = nullptr;
};

bool IsInt16(const fb::ActivationQuant* q) { return q->type() == fb::ElementType::INT16; }
int32_t TypeMin(const fb::ActivationQuant* q) { return IsInt16(q) ? -32768 : -128; }
int32_t TypeMax(const fb::ActivationQuant* q) { return IsInt16(q) ? 32767 : 127; }

void Report(ActivationObserver* observer, TensorId id, const QTensor& t, std::vector<float>* scratch) {
  if (!observer) return;
  scratch->resize(t.q.size());
  for (size_t i = 0; i < t.q.size(); ++i)
    (*scratch)[i] = t.quant->scale() * static_cast<float>(t.q[i] - t.quant->zero_point());
  observer->Observe(id, scratch->data(), scratch->size());
}

// One dense layer: int32 accumulators, then requantized levels or (ACCUMULATOR) real values.
void Dense(const fb::Dense* d, const QTensor& in, QTensor* out, std::vector<float>* real) {
  const int in_n = static_cast<int>(d->in_features()), out_n = static_cast<int>(d->out_features());
  const int32_t zp_in = d->input()->zero_point();
  const bool requantized = d->output_kind() == fb::OutputKind::REQUANTIZED;
  if (requantized) {
    out->q.resize(out_n);
    out->quant = d->output();
  } else {
    real->resize(out_n);
  }
  for (int c = 0; c < out_n; ++c) {
    // Exact in int32 (the verifier bounds it), so the order of the sum does not matter.
    int32_t acc = d->bias()->Get(c);
    const int8_t* w = d->weights()->data() + static_cast<size_t>(c) * in_n;
    for (int k = 0; k < in_n; ++k) acc += static_cast<int32_t>(w[k]) * (in.q[k] - zp_in);
    const float m = d->multipliers()->Get(c);
    if (!requantized) {
      (*real)[c] = static_cast<float>(acc) * m;
      continue;
    }
    const int32_t zp = d->output()->zero_point();
    const int32_t lo = d->activation() == fb::Activation::RELU ? zp : TypeMin(d->output());
    out->q[c] = numerics::Requantize(acc, m, zp, lo, TypeMax(d->output()));
  }
}

// Runs an MLP, reporting each layer; returns the last layer's real values when it keeps its
// accumulators, and leaves requantized outputs in `last`.
std::vector<float> Mlp(const fb::Mlp* mlp, const QTensor& in, TensorId id, ActivationObserver* observer,
                       QTensor* last, std::vector<float>* scratch) {
  QTensor cur = in, next;
  std::vector<float> real;
  for (uint32_t l = 0; l < mlp->layers()->size(); ++l) {
    const fb::Dense* d = mlp->layers()->Get(l);
    Dense(d, cur, &next, &real);
    id.layer = static_cast<int>(l);
    if (d->output_kind() == fb::OutputKind::REQUANTIZED) {
      Report(observer, id, next, scratch);
      std::swap(cur, next);
    } else if (observer) {
      observer->Observe(id, real.data(), real.size());
    }
  }
  if (last) *last = cur;
  return real;
}

// docs/numerics.md, "Gate softmax".
std::vector<float> Softmax(const std::vector<float>& z) {
  float zmax = z[0];
  for (float v : z) zmax = v > zmax ? v : zmax;
  std::vector<float> p(z.size());
  float sum = 0.0f;
  for (size_t j = 0; j < z.size(); ++j) {
    float d = z[j] - zmax;
    d = d < numerics::kSoftmaxFloor ? numerics::kSoftmaxFloor : d;
    p[j] = numerics::Exp(d);
    sum = sum + p[j];
  }
  const float inv = 1.0f / sum;
  for (float& v : p) v = v * inv;
  return p;
}

}  // namespace

Matrix QuantizedReference::Forward(const Matrix& x, ActivationObserver* observer) const {
  const fb::Model* m = model_;
  const int n_tasks = static_cast<int>(m->tasks()->size());
  Matrix scores;
  scores.rows = x.rows;
  scores.cols = n_tasks;
  scores.data.resize(static_cast<size_t>(x.rows) * n_tasks);
  const float inv_scale = 1.0f / m->input()->scale();
  std::vector<float> scratch;
  std::vector<QTensor> expert_out(m->experts()->size());
  std::vector<std::vector<float>> probs(m->gates() ? m->gates()->size() : 0);
  for (int64_t i = 0; i < x.rows; ++i) {
    QTensor input;
    input.quant = m->input();
    input.q.resize(static_cast<size_t>(x.cols));
    for (int64_t k = 0; k < x.cols; ++k) {
      input.q[k] = numerics::QuantizeFeature(x.row(i)[k], inv_scale, m->input()->zero_point());
    }
    Report(observer, TensorId{TensorId::kInput, 0, 0}, input, &scratch);
    for (uint32_t e = 0; e < m->experts()->size(); ++e) {
      Mlp(m->experts()->Get(e), input, TensorId{TensorId::kExpertLayer, static_cast<int>(e), 0}, observer,
          &expert_out[e], &scratch);
    }
    for (size_t g = 0; g < probs.size(); ++g) {
      probs[g] =
          Softmax(Mlp(m->gates()->Get(static_cast<uint32_t>(g))->mlp(), input,
                      TensorId{TensorId::kGateLayer, static_cast<int>(g), 0}, observer, nullptr, &scratch));
    }
    for (int t = 0; t < n_tasks; ++t) {
      // docs/numerics.md, "Mixture": float32 multiply-adds in the listed expert order.
      const fb::Task* task = m->tasks()->Get(t);
      std::vector<uint32_t> mixed;
      if (task->gate() >= 0) {
        for (uint32_t e : *m->gates()->Get(task->gate())->experts()) mixed.push_back(e);
      } else {
        mixed.push_back(static_cast<uint32_t>(task->expert()));
      }
      const fb::ActivationQuant* tq = task->tower()->layers()->Get(0)->input();
      QTensor tower_in;
      tower_in.quant = tq;
      const size_t width = expert_out[mixed[0]].q.size();
      tower_in.q.resize(width);
      std::vector<float> a(mixed.size());
      for (size_t j = 0; j < mixed.size(); ++j) {
        const float s = task->mix_scales()->Get(static_cast<uint32_t>(j));
        a[j] = task->gate() >= 0 ? probs[task->gate()][j] * s : s;
      }
      const float lo = static_cast<float>(TypeMin(tq) - tq->zero_point());
      const float hi = static_cast<float>(TypeMax(tq) - tq->zero_point());
      for (size_t c = 0; c < width; ++c) {
        float acc = 0.0f;
        for (size_t j = 0; j < mixed.size(); ++j) {
          const QTensor& eo = expert_out[mixed[j]];
          acc = acc + a[j] * static_cast<float>(eo.q[c] - eo.quant->zero_point());
        }
        tower_in.q[c] =
            static_cast<int32_t>(numerics::RoundHalfEven(numerics::Clamp(acc, lo, hi))) + tq->zero_point();
      }
      Report(observer, TensorId{TensorId::kTowerInput, t, 0}, tower_in, &scratch);
      const std::vector<float> z =
          Mlp(task->tower(), tower_in, TensorId{TensorId::kTowerLayer, t, 0}, observer, nullptr, &scratch);
      scores.row(i)[t] = task->output() == fb::TaskOutput::SIGMOID ? numerics::Sigmoid(z[0]) : z[0];
    }
  }
  return scores;
}

}  // namespace mmoe::converter
