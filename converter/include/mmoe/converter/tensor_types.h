// Which tensors of a float model the quantized model keeps in float (logits, probabilities,
// scores), and which it stores as int8 or int16 (docs/numerics.md, "Tensors").
#pragma once

#include <vector>

#include "graph/graph.h"
#include "mmoe/converter/float_model.h"

namespace mmoe::converter {

// Element types of the activations. The bulk of the work (the experts' layers, and whatever
// else feeds a mixture) always reads int8; "mixed" keeps the rest (the tensors mixtures read,
// gates' hidden layers, towers' inputs and hidden layers: a few percent of the
// multiply-accumulates) in int16.
enum class ActivationPrecision { kMixed, kInt8 };

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
std::vector<graph::TensorType> TensorTypes(const FloatModel& model, ActivationPrecision precision);

}  // namespace mmoe::converter
