// Portable row kernels: loops over kernels/row_ops.h.
#include "kernels/gemm.h"
#include "kernels/row_ops.h"

namespace mmoe {
namespace {

void Quantize(const float* x, size_t n, float inv_scale, int32_t zero_point, int8_t* q) {
  for (size_t i = 0; i < n; ++i) q[i] = numerics::QuantizeFeature(x[i], inv_scale, zero_point);
}

void Softmax(const float* z, size_t z_stride, size_t batch, int32_t n, float* probs) {
  for (size_t i = 0; i < batch; ++i) rows::Softmax(z + i * z_stride, n, probs + i * n);
}

template <typename Expert, typename Out>
void MixTyped(const MixArgs& a) {
  const Expert* rows_i[256];  // n <= 256 is a verified model invariant
  for (size_t i = 0; i < a.batch; ++i) {
    for (int32_t j = 0; j < a.n; ++j) rows_i[j] = static_cast<const Expert*>(a.experts[j]) + i * a.in_stride;
    rows::Mix(rows_i, a.zero_points, a.scales, a.probs ? a.probs + i * a.n : nullptr, a.n, a.width, a.out,
              static_cast<Out*>(a.dst) + i * a.out_stride);
  }
}

void Mix(const MixArgs& a) {
  const bool o16 = a.out.type == ElementType::kInt16;
  if (a.experts_int16) {
    o16 ? MixTyped<int16_t, int16_t>(a) : MixTyped<int16_t, int8_t>(a);
  } else {
    o16 ? MixTyped<int8_t, int16_t>(a) : MixTyped<int8_t, int8_t>(a);
  }
}

void TaskOutput(const float* z, size_t z_stride, size_t batch, bool sigmoid, float* scores,
                size_t scores_stride) {
  for (size_t i = 0; i < batch; ++i) scores[i * scores_stride] = rows::TaskScore(z[i * z_stride], sigmoid);
}

}  // namespace

const RowKernels& GenericRowKernels() {
  static const RowKernels table = {Quantize,        Softmax,         Mix, TaskOutput, rows::QuantizeColumns,
                                   rows::Embedding, rows::Quantize16};
  return table;
}

}  // namespace mmoe
