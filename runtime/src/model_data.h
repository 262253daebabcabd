// The verified, prepared form of a model file: its graph and each node's parameters, ready for
// the executors. Immutable once loaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "graph/graph.h"
#include "kernels/kernels.h"
#include "mmoe/status.h"

namespace mmoe {
namespace fb {
struct Model;
struct Dense;
struct ActivationTable;
}  // namespace fb

// Owns (or borrows) the model file's bytes.
class ModelBytes {
 public:
  virtual ~ModelBytes() = default;
  virtual const uint8_t* data() const = 0;
  virtual size_t size() const = 0;
};

// A mixture node's parameters (the tensors it reads are the node's inputs).
struct MixtureParams {
  const float* scales = nullptr;     // per mixed tensor, in the file
  std::vector<int32_t> zero_points;  // per mixed tensor
  bool experts_int16 = false;        // the mixed tensors' type (one for all)
  MixOutput out;                     // the output tensor's type and range
};

// A concat node's parameters: each input's first column in the output, and each column's
// quantization.
struct ConcatParams {
  std::vector<int32_t> offsets;          // per input
  const float* scales = nullptr;         // per column, in the file
  std::vector<float> inv_scales;         // per column: 1 / scale (QuantizeFeature's multiplier)
  const int32_t* zero_points = nullptr;  // per column, in the file
};

// What Session::Score checks and passes for one model input.
struct InputSpec {
  graph::InputKind kind = graph::InputKind::kDense;
  int32_t tensor = -1;
  int32_t width = 0;      // dense: floats per item
  uint64_t rows = 0;      // ids, bags: the smallest table that reads them
  uint64_t id_limit = 0;  // ids at or above it (or negative) are errors; 0: every id is valid (defaults)
  bool has_padding_id = false;  // bags: ids equal to it are skipped, wherever they point
  int64_t padding_id = 0;

  // Whether Score takes `id` for this input: padding, within the table, or anything when the
  // embedding answers unknown ids with a default row.
  bool Accepts(int64_t id) const {
    return id_limit == 0 || (has_padding_id && id == padding_id) ||
           (id >= 0 && static_cast<uint64_t>(id) < id_limit);
  }
};

struct ModelData {
  std::unique_ptr<ModelBytes> bytes;
  size_t flatbuffer_size = 0;  // bytes->size() without the checksum trailer
  const fb::Model* model = nullptr;
  int format_major = 0, format_minor = 0;
  bool checksum_verified = false;

  graph::Graph graph;
  // Parameters per node, indexed by Node::param for dense and activation nodes and by node
  // index for mixtures (empty entries elsewhere).
  std::vector<DenseLayer> dense;
  std::vector<ActivationTables> activations;
  std::vector<MixtureParams> mixtures;      // per node
  std::vector<EmbeddingTable> tables;       // the file's embedding tables
  std::vector<EmbeddingLookup> embeddings;  // per embedding node (Node::param)
  std::vector<ConcatParams> concats;        // per concat node (Node::param)
  std::vector<InputSpec> inputs;            // per graph input
  std::vector<int32_t> folded_bias;         // every dense layer's bias with its input zero point folded in
  // The file's tables behind each dense and activation node, for tools that print them.
  std::vector<const fb::Dense*> dense_source;
  std::vector<const fb::ActivationTable*> activation_source;

  // Score(features) and ScoreQuantized: the graph's one input when it is dense (input_dim > 0);
  // quantized_input: it is an int8 tensor, quantized with input_scale and input_zero_point
  // (otherwise a float tensor, quantized per feature by a concat).
  bool quantized_input = false;
  // input16: it is an int16 tensor (format 2.3, feature "int16_input": symmetric, zero point 0),
  // quantized with input_scale by QuantizeFeature16. Real-valued features lose 256 times less
  // to rounding; the layers reading it multiply int16 (docs/numerics.md).
  bool input16 = false;
  int32_t input_tensor = 0;
  int32_t input_dim = 0;
  float input_scale = 0.0f;
  float input_inv_scale = 0.0f;  // 1.0f / input_scale, the multiplier QuantizeFeature uses
  int32_t input_zero_point = 0;
  int64_t parameters = 0;  // dense layers' weights and biases
  int64_t macs = 0;        // multiply-accumulates per item: dense layers and gated mixtures

  int32_t num_tasks() const { return static_cast<int32_t>(graph.outputs.size()); }
};

// Verifies `bytes` (identifier, version, required features, checksum trailer unless `options`
// turn it off, FlatBuffers verifier, then every invariant of docs/numerics.md) and prepares the
// model. On failure `data` is left unusable and the status names the offending part.
struct LoadOptions;
Status VerifyAndPrepare(std::unique_ptr<ModelBytes> bytes, const LoadOptions& options, ModelData* data);

}  // namespace mmoe
