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

}  // namespace

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
