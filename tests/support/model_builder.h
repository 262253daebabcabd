// Model files assembled field by field, for tests of what the runtime refuses.
//
// The converter only writes valid files, so a test that needs a zero scale, a repeated expert
// or a tower ending in two outputs describes the model here (a plain mirror of schema/mmoe.fbs:
// flatc ran without --gen-object-api), changes one field, and serialises it with
// FlatBufferBuilder. MinimalModelSpec() is small but touches every part: hidden layers, a gate,
// a gated task and a Shared-Bottom task.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mmoe_generated.h"

namespace mmoe::testing {

struct QuantSpec {
  fb::ElementType type = fb::ElementType::INT8;
  float scale = 1.0f / 16;
  int32_t zero_point = 0;
};

struct DenseSpec {
  std::string name;  // empty: not written
  uint32_t in = 0;
  uint32_t out = 0;
  QuantSpec input;
  std::vector<int8_t> weights;  // out * in
  std::vector<float> weight_scales;
  std::vector<int32_t> bias;
  fb::OutputKind output_kind = fb::OutputKind::REQUANTIZED;
  std::optional<QuantSpec> output;  // nullopt: field absent
  fb::Activation activation = fb::Activation::NONE;
  std::vector<float> multipliers;
};

struct MlpSpec {
  std::vector<DenseSpec> layers;
};

struct GateSpec {
  MlpSpec mlp;
  std::vector<uint32_t> experts;
};

struct TaskSpec {
  std::string name;
  int32_t gate = -1;
  int32_t expert = -1;
  std::vector<float> mix_scales;
  MlpSpec tower;
  fb::TaskOutput output = fb::TaskOutput::SIGMOID;
};

struct ModelSpec {
  uint16_t version_major = 1;
  uint16_t version_minor = 0;  // 1.0: the format before the checksum trailer
  bool checksum = false;       // append the CRC-32C trailer (format 1.1 and later)
  std::string name = "minimal";
  uint32_t input_dim = 0;
  std::vector<std::string> feature_names;  // empty: not written
  QuantSpec input;
  std::vector<MlpSpec> experts;
  std::vector<GateSpec> gates;
  std::vector<TaskSpec> tasks;
};

// A consistent layer `in` -> `out` reading `input`: small nonzero weights, weight scales of
// 1/64, zero biases and the multipliers the converter would store. `output` nullopt makes it
// an accumulator-output layer (a gate's logits, a tower's logit).
DenseSpec MakeDense(const std::string& name, uint32_t in, uint32_t out, const QuantSpec& input,
                    const std::optional<QuantSpec>& output, fb::Activation activation = fb::Activation::NONE);

// 3 int8 inputs; experts 0 and 1: 3 -> 4 -> 2 (ReLU, int8); gate 0 mixes experts {0, 1}
// with one 3 -> 2 accumulator layer; task 0 "click": gate 0, tower 2 -> 3 -> 1, sigmoid;
// task 1 "dwell": Shared-Bottom on expert 1, tower 2 -> 1, identity.
ModelSpec MinimalModelSpec();

std::vector<uint8_t> BuildModel(const ModelSpec& spec);

// --- Format 2: the graph ---------------------------------------------------------------------

struct TensorSpec {
  std::string name;
  uint32_t width = 0;
  fb::ElementType type = fb::ElementType::INT8;
  float scale = 1.0f / 16;
  int32_t zero_point = 0;
};

struct NodeSpec {
  std::string name;
  std::vector<uint32_t> inputs;
  uint32_t output = 0;
  fb::NodeParams kind = fb::NodeParams::Dense;
  DenseSpec dense;             // kind Dense (its input/output quantizations are not written)
  std::string function;        // kind ActivationTable
  std::vector<int8_t> table8;  // kind ActivationTable
  std::vector<int16_t> table16;
  bool gated = false;         // kind Mixture
  std::vector<float> scales;  // kind Mixture
  // kind Embedding
  uint32_t table = 0;
  fb::Pooling pooling = fb::Pooling::NONE;
  bool has_padding_id = false;
  int64_t padding_id = 0;
  fb::BadId bad_id = fb::BadId::ERROR;
  std::vector<float> default_row;  // empty: not written
  // kind Concat: per output column
  std::vector<float> concat_scales;
  std::vector<int32_t> concat_zero_points;
};

// Format 2.1: an embedding table's rows as the file stores them (RowFormat UINT8_ROWWISE).
struct TableSpec {
  std::string name;
  uint64_t rows = 0;
  uint32_t dim = 0;
  std::vector<uint8_t> data;  // rows x row bytes: codes, zero padding to 4, float scale, float offset
  int64_t segment = -1;       // -1: a segment of its own, in table order
};

// A table with pseudo-random codes (from `seed`), scales in [1/512, 1/128] and offsets in
// [-0.5, 0.5]; row `zero_row` (if below rows) holds zeros (a padding row).
TableSpec MakeTable(const std::string& name, uint64_t rows, uint32_t dim, uint32_t seed,
                    int64_t zero_row = -1);
// Row r's values, computed here from the bytes as docs/numerics.md defines them.
std::vector<float> TableRow(const TableSpec& table, uint64_t r);

struct SegmentSpec {
  uint64_t offset = 0;
  uint64_t size = 0;
  uint32_t crc32c = 0;
};

struct GraphModelSpec {
  uint16_t version_major = 2;
  uint16_t version_minor = 0;
  bool checksum = true;
  std::string name = "minimal graph";
  std::vector<std::string> required_features = {"dense",   "activation_table", "softmax",
                                                "mixture", "sigmoid",          "product"};
  std::vector<TensorSpec> tensors;
  std::vector<NodeSpec> nodes;
  struct In {
    std::string name;
    uint32_t tensor = 0;
    std::vector<std::string> feature_names;
    fb::InputKind kind = fb::InputKind::DENSE;
  };
  std::vector<In> inputs;
  struct Out {
    std::string name;
    uint32_t tensor = 0;
  };
  std::vector<Out> outputs;
  // Format 2.1: the tables' bytes, one after the other after the FlatBuffer, each 64-byte
  // aligned, then the segment footer. The file lists one segment per table where its bytes
  // are, unless `segments` says otherwise (for tests of what the loader refuses).
  std::vector<TableSpec> tables;
  std::vector<SegmentSpec> segments;
  bool segment_footer = true;  // written when there are tables

  // The index of the tensor / node called `name` (fails the test if there is none).
  uint32_t Tensor(const std::string& name) const;
  NodeSpec& Node(const std::string& name);
};

// Every node kind once or more, each with its tensors: x (3, int8) -> expert 0: dense 3 -> 4
// ReLU, an int8 activation table, dense 4 -> 2 (int16); expert 1: dense 3 -> 2 ReLU (int16);
// a gate's logits (float) and softmax; their mixture (int16); tower 0: dense 2 -> 1 logit and
// sigmoid "click"; tower 1: dense 2 -> 3 (int16), an int16 activation table, dense 3 -> 1 logit
// "dwell" (identity) and its sigmoid; "ctcvr" = click x that sigmoid.
GraphModelSpec MinimalGraphSpec();

// Format 2.1, sparse features: inputs "user" (ids, table "user": 10 rows of 3), "tags" (a bag,
// table "tags": 6 rows of 2, mean, padding id 0, row 0 zeros) and "age" (2 floats); their
// embeddings and "age" concatenated into x (int8, 7 wide, each column with its own scale and
// zero point); two experts 7 -> 4 (ReLU, int8) and a gate 7 -> 2 reading x; the gated mixture (int16);
// a tower 4 -> 1 and its sigmoid "ctr".
GraphModelSpec SparseGraphSpec();

std::vector<uint8_t> BuildGraphModel(const GraphModelSpec& spec);

}  // namespace mmoe::testing
