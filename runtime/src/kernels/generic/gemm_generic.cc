// Portable GEMM over the packed layouts: the fallback for CPUs without a dedicated kernel,
// and a readable statement of what the SIMD kernels compute.
#include "kernels/gemm.h"
#include "kernels/gemm_epilogue.h"

namespace mmoe {
namespace {

template <typename In>
void GemmTyped(const GemmArgs& args) {
  const PackedGemm& g = *args.gemm;
  int32_t acc[kBlockColumns];
  for (size_t s = 0; s < g.segments.size(); ++s) {
    const Segment& seg = g.segments[s];
    const int32_t k_pad = seg.k_pad;
    for (int32_t col0 = seg.begin; col0 < seg.end; col0 += kBlockColumns) {
      for (size_t i = 0; i < args.m; ++i) {
        const In* ai = SegmentInput<In>(args, seg, i);
        for (int32_t c = 0; c < kBlockColumns; ++c) acc[c] = g.bias[col0 + c];
        if (g.layout == WeightLayout::kInt8Rows) {
          // One contiguous dot product per column: vectorises on any SIMD width.
          const int8_t* w = BlockWeights<int8_t>(seg, col0);
          for (int32_t c = 0; c < kBlockColumns; ++c, w += k_pad) {
            int32_t sum = 0;
            for (int32_t k = 0; k < k_pad; ++k) sum += static_cast<int32_t>(w[k]) * ai[k];
            acc[c] += sum;
          }
        } else if (g.layout == WeightLayout::kInt8x4) {
          const int8_t* w = BlockWeights<int8_t>(seg, col0);
          for (int32_t k = 0; k < k_pad; k += 4, w += 4 * kBlockColumns) {
            for (int32_t c = 0; c < kBlockColumns; ++c) {
              for (int32_t kk = 0; kk < 4; ++kk) acc[c] += static_cast<int32_t>(w[c * 4 + kk]) * ai[k + kk];
            }
          }
        } else if (g.layout == WeightLayout::kInt16Cols) {
          const int16_t* w = BlockWeights<int16_t>(seg, col0);
          for (int32_t k = 0; k < k_pad; ++k, w += kBlockColumns) {
            for (int32_t c = 0; c < kBlockColumns; ++c) acc[c] += static_cast<int32_t>(w[c]) * ai[k];
          }
        } else {
          const int16_t* w = BlockWeights<int16_t>(seg, col0);
          for (int32_t k = 0; k < k_pad; k += 2, w += 2 * kBlockColumns) {
            for (int32_t c = 0; c < kBlockColumns; ++c) {
              acc[c] +=
                  static_cast<int32_t>(w[c * 2]) * ai[k] + static_cast<int32_t>(w[c * 2 + 1]) * ai[k + 1];
            }
          }
        }
        StoreBlockScalar(g, args, s, col0, i, acc);
      }
    }
  }
}

void Gemm(const GemmArgs& args) {
  if (args.gemm->input == ElementType::kInt16) {
    GemmTyped<int16_t>(args);
  } else {
    GemmTyped<int8_t>(args);
  }
}

}  // namespace

const GemmKernels& GenericGemmKernels() {
  static const GemmKernels table = {"generic", WeightLayout::kInt8Rows, WeightLayout::kInt16x2, Gemm,
                                    &GenericRowKernels()};
  return table;
}

}  // namespace mmoe
