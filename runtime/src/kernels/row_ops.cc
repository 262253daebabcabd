// The node operations both executors run (kernels/row_ops.h), compiled once.
#include "kernels/row_ops.h"

#include <cstring>

namespace mmoe::rows {
namespace {

// An activation node on `batch` rows of `width` elements, x and y of the tables' type (they may
// be the same rows: the tables are applied in place).
template <typename T>
void ActivationTyped(const ActivationTables& t, const T* x, size_t x_stride, T* y, size_t y_stride,
                     size_t batch, int32_t width) {
  for (size_t i = 0; i < batch; ++i) {
    const T* xi = x + i * x_stride;
    T* yi = y + i * y_stride;
    for (int32_t c = 0; c < width; ++c) {
      const size_t table = t.per_channel ? static_cast<size_t>(c) : 0;
      if constexpr (sizeof(T) == 1) {
        yi[c] = t.table8[table * kTable8Entries + static_cast<size_t>(xi[c] + 128)];
      } else {
        yi[c] = numerics::Lookup16(t.table16 + table * kTable16Entries, xi[c]);
      }
    }
  }
}

// Embeddings (docs/numerics.md, "Embeddings"). The id of position j of item i's ids.
int64_t IdAt(const IdBatch& ids, size_t j) {
  return ids.int64 ? static_cast<const int64_t*>(ids.ids)[j] : static_cast<const int32_t*>(ids.ids)[j];
}

// out[c] += scale * code[c] + offset for the row of `id` (or out[c] += default_row[c] when the
// id is outside the table), in float32, the product rounded before the sums.
void AddRow(const EmbeddingLookup& e, int64_t id, float* out) {
  const EmbeddingTable& t = *e.table;
  if (id < 0 || static_cast<uint64_t>(id) >= t.num_rows) {
    for (int32_t c = 0; c < t.dim; ++c) out[c] = out[c] + e.default_row[c];
    return;
  }
  const uint8_t* row = t.rows + static_cast<size_t>(id) * t.row_bytes;
  float scale, offset;  // after the codes, 4-byte aligned within the row (not necessarily in memory)
  const size_t tail = t.row_bytes - 8;
  std::memcpy(&scale, row + tail, 4);
  std::memcpy(&offset, row + tail + 4, 4);
  for (int32_t c = 0; c < t.dim; ++c) {
    const float v = scale * static_cast<float>(row[c]);
    out[c] = out[c] + (v + offset);
  }
}

}  // namespace

// `batch` items' embeddings, rows `out_stride` floats apart: one row per item, or each bag's
// rows (padding ids skipped) summed in order from zero, divided by their count for the mean
// (an empty bag gives zeros).
void Embedding(const EmbeddingLookup& e, const IdBatch& ids, size_t batch, float* out, size_t out_stride) {
  const int32_t dim = e.table->dim;
  for (size_t i = 0; i < batch; ++i) {
    float* y = out + i * out_stride;
    for (int32_t c = 0; c < dim; ++c) y[c] = 0.0f;
    if (e.pooling == Pooling::kNone) {
      AddRow(e, IdAt(ids, ids.first + i), y);
      continue;
    }
    const int64_t begin = ids.offsets[ids.first + i], end = ids.offsets[ids.first + i + 1];
    int64_t count = 0;
    for (int64_t j = begin; j < end; ++j) {
      const int64_t id = IdAt(ids, static_cast<size_t>(j));
      if (e.has_padding_id && id == e.padding_id) continue;
      AddRow(e, id, y);
      ++count;
    }
    if (e.pooling == Pooling::kMean && count > 0) {
      const float n = static_cast<float>(count);
      for (int32_t c = 0; c < dim; ++c) y[c] = y[c] / n;
    }
  }
}

// `batch` rows of `width` floats quantized to int8, column c with 1 / inv_scales[c] and
// zero_points[c] (as the model's input: numerics::QuantizeFeature, NaN as 0).
void QuantizeColumns(const float* x, size_t x_stride, size_t batch, int32_t width, const float* inv_scales,
                     const int32_t* zero_points, int8_t* y, size_t y_stride) {
  for (size_t i = 0; i < batch; ++i) {
    for (int32_t c = 0; c < width; ++c)
      y[i * y_stride + c] = numerics::QuantizeFeature(x[i * x_stride + c], inv_scales[c], zero_points[c]);
  }
}

void Activation(const ActivationTables& t, const void* x, size_t x_stride, void* y, size_t y_stride,
                size_t batch, int32_t width) {
  if (t.type == ElementType::kInt16) {
    ActivationTyped(t, static_cast<const int16_t*>(x), x_stride, static_cast<int16_t*>(y), y_stride, batch,
                    width);
  } else {
    ActivationTyped(t, static_cast<const int8_t*>(x), x_stride, static_cast<int8_t*>(y), y_stride, batch,
                    width);
  }
}

// y = a * b elementwise on `batch` rows of `width` floats (a product node multiplies its
// inputs left to right: ((a * b) * c) ...).
void Product(const float* a, size_t a_stride, const float* b, size_t b_stride, size_t batch, int32_t width,
             float* y, size_t y_stride) {
  for (size_t i = 0; i < batch; ++i) {
    for (int32_t c = 0; c < width; ++c) y[i * y_stride + c] = a[i * a_stride + c] * b[i * b_stride + c];
  }
}

}  // namespace mmoe::rows
