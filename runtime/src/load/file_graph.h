// Loading a model file in three steps that share one structure: decoding the file's tables
// into a graph (format 1's MMoE tables are lowered to the nodes format 2 stores), verifying the
// graph and its parameters against every invariant the kernels rely on, and preparing what
// the executors read. Verification reads and checks; only preparation computes.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "format.h"
#include "graph/graph.h"
#include "mmoe/status.h"
#include "mmoe_generated.h"

namespace mmoe {

struct ModelData;

// A decoded file: the graph, each node's parameter tables in the file (not yet checked), and
// where each tensor and node came from, for messages ("experts[1].layers[0] (experts.1.0)" in
// format 1, "nodes[3] (experts.1.0)" in format 2).
struct FileGraph {
  int format_major = 0;
  const fb::Model* model = nullptr;
  graph::Graph graph;
  std::vector<const fb::Dense*> dense;                        // per dense node (Node::param)
  std::vector<const fb::ActivationTable*> activations;        // per activation node (Node::param)
  std::vector<const flatbuffers::Vector<float>*> mix_scales;  // per node: a mixture's scales
  std::vector<const fb::Embedding*> embeddings;               // per embedding node (Node::param)
  std::vector<const fb::Concat*> concats;                     // per concat node (Node::param)
  // The bytes after the FlatBuffer that segments index (a file with a segment footer), and
  // whether to check each table's CRC-32C (LoadOptions::verify_tables).
  const uint8_t* segments = nullptr;
  size_t segments_size = 0;
  bool verify_tables = false;
  // Format 1: where each tensor and node came from, e.g. "experts[1].layers[0] (experts.1.0)";
  // empty for format 2, whose labels ("nodes[3] (experts.1.0)") TensorWhere/NodeWhere make.
  std::vector<std::string> tensor_where;
  std::vector<std::string> node_where;

  std::string TensorWhere(size_t t) const;
  std::string NodeWhere(size_t node) const;
};

// Format 1.x: the input, experts, gates and tasks as a graph, checking the rules of that format
// (counts, expert indices, which layers keep their accumulators).
Status DecodeV1(const fb::Model* model, FileGraph* out);
// Format 2.x: the stored graph as it is.
Status DecodeV2(const fb::Model* model, FileGraph* out);

// Every invariant of docs/numerics.md and docs/model-format.md on a decoded graph.
Status VerifyGraph(const FileGraph& file);

// The executors' form of a verified graph (folded biases, kernel parameters, sizes). Takes the
// graph and the parameter lists out of `file`.
void PrepareModel(FileGraph& file, ModelData* data);

// The zero point of each element of tensor `t`: the tensor's own, or for a concat's output
// (`producer` the node computing t, or -1), each input's. Dense layers fold them into their bias.
std::vector<int32_t> ColumnZeroPoints(const graph::Graph& g, const std::vector<const fb::Concat*>& concats,
                                      int32_t t, int32_t producer);

// Bytes of one embedding-table row of `dim` codes (schema RowFormat UINT8_ROWWISE).
inline uint64_t RowBytes(uint32_t dim) { return (static_cast<uint64_t>(dim) + 3) / 4 * 4 + 8; }

// Limits that keep every size computation far from overflow and every accumulator exact.
constexpr uint32_t kMaxWidth = 1u << 16;    // elements of one tensor
constexpr uint32_t kMaxTensors = 1u << 16;  // tensors, and nodes
constexpr uint32_t kMaxMixed = 256;         // tensors one mixture mixes (a softmax's width)
constexpr uint32_t kMaxOutputs = 256;       // tasks
constexpr uint32_t kMaxInputs = 4096;       // inputs (dense, ids and bags)
constexpr uint32_t kMaxLayers = 64;         // format 1: layers in one MLP
constexpr uint32_t kMaxExperts = 256;       // format 1: experts
constexpr uint32_t kMaxGates = 256;         // format 1: gates
constexpr uint32_t kMaxTables = 1u << 16;   // embedding tables, and segments
constexpr uint64_t kMaxTableRows = 1ull << 40;

}  // namespace mmoe
