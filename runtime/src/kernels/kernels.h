// The kernel interface: what a backend implements, chosen once per session.
//
// Every kernel reads and writes dense row-major tiles of `batch` items. The reference
// kernels (kernels/reference/) are the specification; any other implementation must give
// the same bytes for every input (tests/test_backends.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "graph/graph.h"

namespace mmoe {

// Element type of an activation tensor.
enum class ElementType : uint8_t { kInt8 = 0, kInt16 = 1 };
// What a dense layer writes.
enum class DenseOutput : uint8_t { kInt8 = 0, kInt16 = 1, kReal = 2 };

// One prepared dense layer: int8 weights [out][in], per-channel float32 multipliers and an
// int32 bias with the input zero point folded in (bias[c] - zp_in * sum_k w[c][k]), so
// acc[c] = bias[c] + sum_k w[c][k] * x[k].
struct DenseLayer {
  int32_t in = 0;
  int32_t out = 0;
  const int8_t* weights = nullptr;
  const int32_t* bias = nullptr;
  const float* multipliers = nullptr;
  ElementType input = ElementType::kInt8;
  DenseOutput output = DenseOutput::kInt8;
  // Requantized outputs: q = clamp(round(float(acc) * m[c]) + zero_point, min, max).
  int32_t output_zero_point = 0;
  int32_t output_min = -128;  // the zero point for ReLU
  int32_t output_max = 127;
};

// How a mixture writes a tower's input.
struct MixOutput {
  ElementType type = ElementType::kInt16;
  int32_t zero_point = 0;
  int32_t min = -32768;
  int32_t max = 32767;
};

// An elementwise activation of a quantized tensor as tables (docs/numerics.md, "Activations"):
// int8 tensors map level q to table8[t][q + 128]; int16 tensors interpolate table16[t][0..512]
// (numerics::Lookup16). t is 0 for a per-tensor table, or the channel.
struct ActivationTables {
  ElementType type = ElementType::kInt8;
  bool per_channel = false;
  const int8_t* table8 = nullptr;    // [tables][256]
  const int16_t* table16 = nullptr;  // [tables][513]
};
constexpr int kTable8Entries = 256;
constexpr int kTable16Entries = 513;

// An embedding table as the model file stores it (schema RowFormat UINT8_ROWWISE): row r at
// rows + r * row_bytes holds `dim` uint8 codes, zero padding to a multiple of 4, then a float32
// scale and a float32 offset; value[c] = scale * code[c] + offset (docs/numerics.md).
struct EmbeddingTable {
  const uint8_t* rows = nullptr;  // in the mapped file
  uint64_t num_rows = 0;
  int32_t dim = 0;
  size_t row_bytes = 0;  // RoundUp(dim, 4) + 8
};

using Pooling = graph::Pooling;

// An embedding node: how it reads its table.
struct EmbeddingLookup {
  const EmbeddingTable* table = nullptr;
  Pooling pooling = Pooling::kNone;  // kNone: one id per item; kSum, kMean: a bag per item
  bool has_padding_id = false;       // bags: ids equal to padding_id are skipped
  int64_t padding_id = 0;
  const float* default_row = nullptr;  // what an id outside the table reads (null: never happens,
                                       // Session::Score refuses such ids before scoring)
};

// One tile's ids of a sparse input, as the caller passed them: item i (0 <= i < batch) has the
// id ids[first + i] (one id per item) or the ids [offsets[first + i], offsets[first + i + 1])
// (bags; offsets index the whole call's ids).
struct IdBatch {
  const void* ids = nullptr;
  bool int64 = true;  // int64_t ids, else int32_t
  const int64_t* offsets = nullptr;
  size_t first = 0;
};

// x: [batch][in] of layer.input's type; y: [batch][out] of layer.output's type (int8_t,
// int16_t, or float for kReal, which is float(acc) * multiplier with no rounding).
using DenseFn = void (*)(const DenseLayer& layer, size_t batch, const void* x, void* y);

struct KernelTable {
  const char* name;     // e.g. "reference"
  DenseFn dense[2][3];  // [ElementType input][DenseOutput output]
  // The per-item operations (quantization, softmax, mixture, task outputs) are the
  // portable row kernels, GenericRowKernels() in kernels/gemm.h.
};

const KernelTable& ReferenceKernels();

}  // namespace mmoe
