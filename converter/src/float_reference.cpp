#include "mmoe/converter/float_reference.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace mmoe::converter {
namespace {

using graph::Node;
using graph::Op;

// One Linear layer with float32 inputs and outputs and a double accumulator: within an ulp
// or so of PyTorch's float32 GEMM, whatever order it sums in.
void Dense(const FloatDense& layer, const float* x, float* y) {
  for (int c = 0; c < layer.out; ++c) {
    const float* w = layer.weight.data() + static_cast<size_t>(c) * layer.in;
    double acc = layer.bias[c];
    for (int k = 0; k < layer.in; ++k) acc += static_cast<double>(w[k]) * x[k];
    float v = static_cast<float>(acc);
    if (layer.activation == Activation::kRelu && v < 0.0f) v = 0.0f;
    y[c] = v;
  }
}

// Softmax as torch.nn.Softmax: shift by the maximum, normalise.
void Softmax(const float* z, size_t n, float* p) {
  double zmax = z[0], sum = 0.0;
  for (size_t j = 0; j < n; ++j) zmax = std::max<double>(zmax, z[j]);
  for (size_t j = 0; j < n; ++j) sum += std::exp(static_cast<double>(z[j]) - zmax);
  for (size_t j = 0; j < n; ++j) p[j] = static_cast<float>(std::exp(static_cast<double>(z[j]) - zmax) / sum);
}

// An embedding as nn.Embedding / nn.EmbeddingBag compute it: the id's row, or the sum (mean)
// of a bag's rows, padding ids skipped, zeros for an empty bag; an id outside the table reads
// the default row (CheckInputs refused it otherwise).
void Embedding(const FloatEmbedding& e, const FloatModel& m, const std::vector<int64_t>& ids, int64_t begin,
               int64_t end, float* y) {
  const FloatTable& table = m.tables[static_cast<size_t>(e.table)];
  const size_t dim = static_cast<size_t>(table.dim);
  std::vector<double> acc(dim, 0.0);
  int64_t count = 0;
  for (int64_t j = begin; j < end; ++j) {
    const int64_t id = ids[static_cast<size_t>(j)];
    if (e.pooling != graph::Pooling::kNone && e.has_padding_id && id == e.padding_id) continue;
    const float* row =
        id >= 0 && id < table.rows ? table.data() + static_cast<size_t>(id) * dim : e.default_row.data();
    for (size_t c = 0; c < dim; ++c) acc[c] += row[c];
    ++count;
  }
  for (size_t c = 0; c < dim; ++c) {
    y[c] = static_cast<float>(
        e.pooling == graph::Pooling::kMean && count > 0 ? acc[c] / static_cast<double>(count) : acc[c]);
  }
}

}  // namespace

Matrix FloatReference::Forward(const Matrix& x, ActivationObserver* observer) const {
  if (x.cols != model_.input_dim()) {
    throw ConvertError("float reference: input has " + std::to_string(x.cols) + " columns, the model reads " +
                       std::to_string(model_.input_dim()));
  }
  return Forward(Inputs::Dense(x), observer);
}

Matrix FloatReference::Forward(const Inputs& in, ActivationObserver* observer) const {
  const FloatModel& m = model_;
  const graph::Graph& g = m.graph;
  CheckInputs(in, m, "float reference");
  const int n_tasks = m.num_tasks();
  Matrix scores;
  scores.rows = in.rows;
  scores.cols = n_tasks;
  scores.data.assign(static_cast<size_t>(in.rows) * n_tasks, 0.0f);

  std::vector<std::vector<float>> t(g.tensors.size());
  for (size_t i = 0; i < g.tensors.size(); ++i) t[i].resize(static_cast<size_t>(g.tensors[i].width));
  std::vector<size_t> input_of(g.tensors.size(), 0);
  for (size_t i = 0; i < g.inputs.size(); ++i) input_of[static_cast<size_t>(g.inputs[i].tensor)] = i;
  for (int64_t row = 0; row < in.rows; ++row) {
    for (size_t i = 0; i < g.inputs.size(); ++i) {
      const InputArray& a = in.arrays[i];
      if (a.kind != graph::InputKind::kDense) continue;
      std::vector<float>& v = t[g.inputs[i].tensor];
      std::copy(a.floats.row(row), a.floats.row(row) + a.floats.cols, v.begin());
      if (observer) observer->Observe(g.inputs[i].tensor, v.data(), v.size());
    }
    for (const Node& n : g.nodes) {
      std::vector<float>& y = t[n.output];
      const std::vector<float>& a = t[n.inputs[0]];
      switch (n.op) {
        case Op::kDense:
          Dense(m.dense[n.param], a.data(), y.data());
          break;
        case Op::kActivation: {
          const FloatActivation& f = m.activations[n.param];
          for (size_t c = 0; c < y.size(); ++c) y[c] = static_cast<float>(f.Apply(a[c], static_cast<int>(c)));
          break;
        }
        case Op::kSoftmax:
          Softmax(a.data(), a.size(), y.data());
          break;
        case Op::kMixture: {
          // Float32 multiply-adds in the order of the mixed tensors, as the seed's forward()
          // accumulates; without probabilities every tensor has weight 1.
          std::fill(y.begin(), y.end(), 0.0f);
          for (int32_t j = 0; j < n.num_experts(); ++j) {
            const std::vector<float>& e = t[n.experts()[j]];
            const float w = n.gated ? a[static_cast<size_t>(j)] : 1.0f;
            for (size_t c = 0; c < y.size(); ++c) y[c] = y[c] + e[c] * w;
          }
          break;
        }
        case Op::kSigmoid:
          for (size_t c = 0; c < y.size(); ++c)
            y[c] = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(a[c]))));
          break;
        case Op::kProduct:
          y = a;
          for (size_t j = 1; j < n.inputs.size(); ++j) {
            for (size_t c = 0; c < y.size(); ++c) y[c] = y[c] * t[n.inputs[j]][c];
          }
          break;
        case Op::kEmbedding: {
          const size_t i = input_of[static_cast<size_t>(n.inputs[0])];
          Embedding(m.embeddings[static_cast<size_t>(n.param)], m, in.arrays[i].ids, in.Begin(i, row),
                    in.End(i, row), y.data());
          break;
        }
        case Op::kConcat: {
          size_t at = 0;
          for (int32_t part : n.inputs) {
            std::copy(t[part].begin(), t[part].end(), y.begin() + static_cast<std::ptrdiff_t>(at));
            at += t[part].size();
          }
          break;
        }
      }
      if (observer) observer->Observe(n.output, y.data(), y.size());
    }
    for (int o = 0; o < n_tasks; ++o) scores.row(row)[o] = t[g.outputs[o].tensor][0];
  }
  return scores;
}

}  // namespace mmoe::converter
