// The scalar epilogue of one 16-column block of one row: the specification the vector
// epilogues of each ISA reproduce (requantize, or scale to float).
#pragma once

#include <algorithm>

#include "kernels/gemm.h"
#include "numerics.h"

namespace mmoe {

inline void StoreBlockScalar(const PackedGemm& g, const GemmArgs& args, size_t s, int32_t col0, size_t row,
                             const int32_t* acc) {
  const Segment& seg = g.segments[s];
  const DenseOutput type = g.segment_types[s];
  const size_t offset = row * static_cast<size_t>(args.dst_stride[s]) + static_cast<size_t>(col0 - seg.begin);
  // Float segments (logits) hold only the real columns; requantized ones whole blocks.
  const int32_t end = type == DenseOutput::kReal ? std::min(seg.end - col0, kBlockColumns) : kBlockColumns;
  for (int32_t c = 0; c < end; ++c) {
    const int32_t col = col0 + c;
    const float v = static_cast<float>(acc[c]) * g.multiplier[col];
    if (type == DenseOutput::kReal) {
      static_cast<float*>(args.dst[s])[offset + c] = v;
      continue;
    }
    const int32_t q =
        static_cast<int32_t>(numerics::RoundHalfEven(numerics::Clamp(v, seg.lo, seg.hi))) + seg.zero_point;
    if (type == DenseOutput::kInt16) {
      static_cast<int16_t*>(args.dst[s])[offset + c] = static_cast<int16_t>(q);
    } else {
      static_cast<int8_t*>(args.dst[s])[offset + c] = static_cast<int8_t>(q);
    }
  }
}

}  // namespace mmoe
