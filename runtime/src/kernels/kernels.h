// The kernel interface: what a backend implements, chosen once per session.
//
// Every kernel reads and writes dense row-major tiles of `batch` items. The reference
// kernels (kernels/reference/) are the specification; any other implementation must give
// the same bytes for every input (tests/test_backends.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace mmoe {

// One prepared dense layer: int8 weights [out][in], per-channel float32 multipliers and an
// int32 bias with the input zero point folded in (bias[c] - zp_in * sum_k w[c][k]), so
// acc[c] = bias[c] + sum_k w[c][k] * x[k].
struct DenseLayer {
  int32_t in = 0;
  int32_t out = 0;
  const int8_t* weights = nullptr;
  const int32_t* bias = nullptr;
  const float* multipliers = nullptr;
  bool input_int16 = false;     // the input is int16 (zero point 0), else int8
  bool accumulator = false;     // output is float(acc) * multiplier, not requantized
  int32_t output_zero_point = 0;  // requantized output: int8 with these bounds
  int32_t output_min = -128;    // zero point for ReLU
  int32_t output_max = 127;
};

// Quantization of the tensor a mixture writes (a tower's input).
struct MixOutput {
  float multiplier = 0.0f;  // largest expert scale / (2^22 * tower input scale)
  int32_t zero_point = 0;
  int32_t min = -128;
  int32_t max = 127;
  bool int16 = false;
};

struct KernelTable {
  const char* name;  // e.g. "reference"
  // x: [batch][in] int8 -> y: [batch][out] int8 (requantized).
  void (*dense_s8)(const DenseLayer& layer, size_t batch, const int8_t* x, int8_t* y);
  // x: [batch][in] int16 -> y: [batch][out] int8.
  void (*dense_s16)(const DenseLayer& layer, size_t batch, const int16_t* x, int8_t* y);
  // Accumulator-output layers: y = float(acc) * multiplier, [batch][out] float32.
  void (*dense_s8_real)(const DenseLayer& layer, size_t batch, const int8_t* x, float* y);
  void (*dense_s16_real)(const DenseLayer& layer, size_t batch, const int16_t* x, float* y);
  // Float features [count] -> int8.
  void (*quantize)(const float* x, size_t count, float inv_scale, int32_t zero_point,
                   int8_t* q);
  // Gate logits [batch][n] -> fixed-point weights [batch][n] (2^22 = 1), each scaled by
  // its expert's ratio.
  void (*softmax)(const float* logits, size_t batch, int32_t n, const float* ratios, int32_t* weights);
  // Tower input [batch][width] = requantized sum over j < n of
  // weights[i][j] * (experts[j][i][c] - zero_points[j]); weights == nullptr means one
  // expert with weight 2^22 (Shared-Bottom). `out` is int8 or int16 per mix.int16.
  void (*mix)(const int8_t* const* experts, const int32_t* zero_points, const int32_t* weights, int32_t n,
              size_t batch, int32_t width, const MixOutput& mix, void* out);
  // Task logits [batch] -> scores[i * stride]: sigmoid(logit), or the logit itself.
  void (*task_output)(const float* logits, size_t batch, bool sigmoid, float* scores,
                      size_t stride);
};

const KernelTable& ReferenceKernels();

}  // namespace mmoe
