// Per-item operations shared by every backend: the gate softmax, the mixture and the task
// output. They are a small part of the work and are float arithmetic whose exact order
// docs/numerics.md fixes, so all backends run this one implementation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/kernels.h"
#include "numerics.h"

namespace mmoe::rows {

// Softmax of n logits into n probabilities: shift by the maximum, floor at -32, exp in index
// order summed left to right, one reciprocal, one product per probability.
inline void Softmax(const float* z, int32_t n, float* p) {
  float zmax = z[0];
  for (int32_t j = 1; j < n; ++j) zmax = z[j] > zmax ? z[j] : zmax;
  float sum = 0.0f;
  for (int32_t j = 0; j < n; ++j) {
    float d = z[j] - zmax;
    d = d < numerics::kSoftmaxFloor ? numerics::kSoftmaxFloor : d;
    p[j] = numerics::Exp(d);
    sum = sum + p[j];
  }
  const float inv = 1.0f / sum;
  for (int32_t j = 0; j < n; ++j) p[j] = p[j] * inv;
}

// One item's tower input: out[c] = requantize(sum_j a_j * float(expert_j[c] - zp_j)) with
// a_j = probs[j] * scales[j] (probs == nullptr: scales[j]), j in order.
template <typename Expert, typename Out>
void Mix(const Expert* const* experts, const int32_t* zero_points, const float* scales, const float* probs,
         int32_t n, int32_t width, const MixOutput& mix, Out* out) {
  float a[256];  // n <= 256 is a verified model invariant
  for (int32_t j = 0; j < n; ++j) a[j] = probs ? probs[j] * scales[j] : scales[j];
  const float lo = static_cast<float>(mix.min - mix.zero_point);
  const float hi = static_cast<float>(mix.max - mix.zero_point);
  for (int32_t c = 0; c < width; ++c) {
    float acc = 0.0f;
    for (int32_t j = 0; j < n; ++j) {
      acc = acc + a[j] * static_cast<float>(static_cast<int32_t>(experts[j][c]) - zero_points[j]);
    }
    const float v = numerics::Clamp(acc, lo, hi);
    out[c] = static_cast<Out>(static_cast<int32_t>(numerics::RoundHalfEven(v)) + mix.zero_point);
  }
}

inline float TaskScore(float logit, bool sigmoid) { return sigmoid ? numerics::Sigmoid(logit) : logit; }

// The node operations both executors run, compiled once (kernels/row_ops.cc).

// An activation node on `batch` rows of `width` elements, x and y of the tables' type (they may
// be the same rows: the tables are applied in place).
void Activation(const ActivationTables& t, const void* x, size_t x_stride, void* y, size_t y_stride,
                size_t batch, int32_t width);

// `batch` items' embeddings (docs/numerics.md, "Embeddings"), rows `out_stride` floats apart:
// one row per item, or each bag's rows (padding ids skipped) summed in order from zero,
// divided by their count for the mean (an empty bag gives zeros).
void Embedding(const EmbeddingLookup& e, const IdBatch& ids, size_t batch, float* out, size_t out_stride);

inline int64_t IdAt(const IdBatch& ids, size_t j) {
  return ids.int64 ? static_cast<const int64_t*>(ids.ids)[j] : static_cast<const int32_t*>(ids.ids)[j];
}

// The loop of Embedding around add_row(e, id, out), which adds one id's row to out[0, dim):
// out[c] = out[c] + (scale * code[c] + offset), the product rounded before the sums (or
// out[c] + default_row[c] for an id outside the table). Each ISA's row kernels pass their own
// add_row; every one computes those float32 operations in that order.
template <typename AddRow>
inline void EmbeddingWith(const EmbeddingLookup& e, const IdBatch& ids, size_t batch, float* out,
                          size_t out_stride, const AddRow& add_row) {
  const int32_t dim = e.table->dim;
  for (size_t i = 0; i < batch; ++i) {
    float* y = out + i * out_stride;
    for (int32_t c = 0; c < dim; ++c) y[c] = 0.0f;
    if (e.pooling == Pooling::kNone) {
      add_row(e, IdAt(ids, ids.first + i), y);
      continue;
    }
    const int64_t begin = ids.offsets[ids.first + i], end = ids.offsets[ids.first + i + 1];
    int64_t count = 0;
    for (int64_t j = begin; j < end; ++j) {
      const int64_t id = IdAt(ids, static_cast<size_t>(j));
      if (e.has_padding_id && id == e.padding_id) continue;
      add_row(e, id, y);
      ++count;
    }
    if (e.pooling == Pooling::kMean && count > 0) {
      const float n = static_cast<float>(count);
      for (int32_t c = 0; c < dim; ++c) y[c] = y[c] / n;
    }
  }
}

// The row of `id` (in the table) and its scale and offset, which follow its codes.
inline const uint8_t* TableRow(const EmbeddingTable& t, int64_t id, float* scale, float* offset) {
  const uint8_t* row = t.rows + static_cast<size_t>(id) * t.row_bytes;
  std::memcpy(scale, row + t.row_bytes - 8, 4);  // 4-byte aligned within the row, not in memory
  std::memcpy(offset, row + t.row_bytes - 4, 4);
  return row;
}

inline bool InTable(const EmbeddingTable& t, int64_t id) {
  return id >= 0 && static_cast<uint64_t>(id) < t.num_rows;
}

// An add_row for EmbeddingWith from an ISA's kernel for a row's columns [0, full):
// block(codes, scale, offset, out). The default row and the columns past `full` are done here.
template <typename Block>
inline void AddRowWith(const EmbeddingLookup& e, int64_t id, float* out, size_t full, const Block& block) {
  const EmbeddingTable& t = *e.table;
  const size_t dim = static_cast<size_t>(t.dim);
  if (!InTable(t, id)) {
    for (size_t c = 0; c < dim; ++c) out[c] = out[c] + e.default_row[c];
    return;
  }
  float scale, offset;
  const uint8_t* row = TableRow(t, id, &scale, &offset);
  block(row, scale, offset, out);
  for (size_t c = full; c < dim; ++c) out[c] = out[c] + (scale * static_cast<float>(row[c]) + offset);
}

// `batch` rows of `width` floats quantized to int8, column c with 1 / inv_scales[c] and
// zero_points[c] (as the model's input: numerics::QuantizeFeature, NaN as 0).
void QuantizeColumns(const float* x, size_t x_stride, size_t batch, int32_t width, const float* inv_scales,
                     const int32_t* zero_points, int8_t* y, size_t y_stride);

// n floats quantized to int16 with 1 / inv_scale (a model whose input is int16:
// numerics::QuantizeFeature16, NaN as 0).
void Quantize16(const float* x, size_t n, float inv_scale, int16_t* q);

// y = a * b elementwise on `batch` rows of `width` floats (a product node multiplies its
// inputs left to right: ((a * b) * c) ...).
void Product(const float* a, size_t a_stride, const float* b, size_t b_stride, size_t batch, int32_t width,
             float* y, size_t y_stride);

}  // namespace mmoe::rows
