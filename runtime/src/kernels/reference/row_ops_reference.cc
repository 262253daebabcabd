// The specification's embedding lookup and column quantization (kernels/row_ops.h), one
// element at a time: what the reference executor and the portable kernels run, and what every
// ISA's row kernels are tested against. (Kept apart from row_ops.cc so that a build without the
// portable GEMM, where only the reference executor runs them, can compile them for size.)
#include <cstring>

#include "kernels/row_ops.h"

namespace mmoe::rows {
namespace {

// out[c] += scale * code[c] + offset for the row of `id` (or out[c] += default_row[c] when the
// id is outside the table), in float32, the product rounded before the sums.
void AddRow(const EmbeddingLookup& e, int64_t id, float* out) {
  const EmbeddingTable& t = *e.table;
  if (!InTable(t, id)) {
    for (int32_t c = 0; c < t.dim; ++c) out[c] = out[c] + e.default_row[c];
    return;
  }
  float scale, offset;
  const uint8_t* row = TableRow(t, id, &scale, &offset);
  for (int32_t c = 0; c < t.dim; ++c) {
    const float v = scale * static_cast<float>(row[c]);
    out[c] = out[c] + (v + offset);
  }
}

}  // namespace

void Embedding(const EmbeddingLookup& e, const IdBatch& ids, size_t batch, float* out, size_t out_stride) {
  EmbeddingWith(e, ids, batch, out, out_stride, AddRow);
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

void Quantize16(const float* x, size_t n, float inv_scale, int16_t* q) {
  for (size_t i = 0; i < n; ++i) q[i] = numerics::QuantizeFeature16(x[i], inv_scale);
}

}  // namespace mmoe::rows
