// Which tensors of a float model the quantized model keeps in float (logits, probabilities,
// scores), and which it stores as int8 or int16 (docs/numerics.md, "Tensors").
#pragma once

#include <vector>

#include "graph/graph.h"
#include "mmoe/converter/float_model.h"

namespace mmoe::converter {

// Element types of the activations. With kMixed (the default) the bulk of the work (the
// experts' layers, and whatever else feeds a mixture) reads int8 and the rest (the tensors
// mixtures read, gates' hidden layers, towers' inputs and hidden layers: a few percent of the
// multiply-accumulates) int16. kInt8: int8 everywhere. kInt16: int16 wherever the readers'
// accumulators stay exact, the experts' hidden layers too (more accurate, slower: the experts'
// later layers multiply int16; docs/quality.md).
enum class ActivationPrecision { kMixed, kInt8, kInt16 };

// The element type of a model's one dense input (when the first layers read it directly).
// int8 holds 0/1, one-hot and small-integer features exactly; real-valued features lose about
// 40 dB to its rounding, which the layers after it amplify. kAuto: int16 when int8 does not
// hold the calibration rows' values exactly (ConvertOptions, docs/quality.md).
enum class InputPrecision { kAuto, kInt8, kInt16 };

// The widest int16 tensor a dense layer may read: its accumulator, width * 127 * 32768 plus
// the bias, must fit in int32 (the runtime verifies this bound).
constexpr int kMaxInt16Width = 480;

// Whether the model's input can be int16: one dense input, read by dense layers (not a concat)
// and at most 480 wide (their accumulators stay exact).
bool CanTakeInt16Input(const FloatModel& model);

// Per tensor: whether it stays float. A dense layer's output does when everything that reads
// it is a softmax, a sigmoid or a product (its real accumulator values are the logits) or it
// is an output; softmax, sigmoid, product and embedding outputs always do, and so do dense
// inputs that a concat quantizes.
std::vector<bool> FloatTensors(const FloatModel& model);

// Per tensor: its element type in the quantized model. Float tensors as above; sparse inputs
// id tensors; a dense input int8 unless a concat reads it; concat outputs int8;
// with kMixed, int16 for every other tensor that no expert layer reads (a dense layer whose
// output reaches a mixture through dense and activation nodes), and whose dense readers'
// accumulators stay exact (at most 480 wide); an activation's output has its input's type.
// With int16_input (CanTakeInt16Input), the dense input is int16.
std::vector<graph::TensorType> TensorTypes(const FloatModel& model, ActivationPrecision precision,
                                           bool int16_input = false);

}  // namespace mmoe::converter
