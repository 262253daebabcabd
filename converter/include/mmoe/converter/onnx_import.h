// Importing an ONNX graph (what torch.onnx.export, tf2onnx or paddle2onnx write for an MMoE,
// PLE, Shared-Bottom or ESMM model with embeddings, BatchNorm and dense features) into the
// float model the converter quantizes. docs/onnx.md lists the patterns it maps.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mmoe/converter/float_model.h"

namespace mmoe::converter {

namespace onnx {
struct Graph;
}

// Whether this build reads ONNX files (it was built with Debian's libonnx-dev).
bool OnnxAvailable();

struct OnnxImportOptions {
  std::vector<std::string> task_names;  // empty: the graph's output names, or task0, task1, ...
  std::string model_name;               // empty: the file's name without its extension
};

struct OnnxImport {
  FloatModel model;
  std::shared_ptr<const onnx::Graph> graph;
  // Per model tensor, the ONNX value it equals (what Verify compares).
  std::map<std::string, std::string> sources;
  // Per model task, the ONNX output and column that holds it.
  std::vector<std::pair<std::string, int64_t>> task_columns;
};

// Reads `path` and maps every node onto the model's graph, folding shape arithmetic to
// constants (evaluated on probe batches), BatchNormalization and bias additions into the dense
// layers, and recognising embedding lookups, padding masks and bag pooling, gate softmaxes and
// mixtures. Throws ConvertError naming the node (or input) it cannot map and why.
OnnxImport ImportOnnx(const std::string& path, const OnnxImportOptions& options = {});
OnnxImport ImportOnnxBytes(const std::string& bytes, const std::string& label,
                           const OnnxImportOptions& options = {});

struct OnnxCheck {
  int64_t rows = 0;
  int64_t tensors = 0;      // model tensors compared with the ONNX values they map
  double max_abs_diff = 0;  // over every compared element
};

// Runs the ONNX graph on the first `rows` rows of `inputs_path` (.npz with one array per graph
// input, as the graph names and shapes them; or .npy / headerless .csv rows for a graph of one
// input) and the imported model's float reference on the same rows, and compares every mapped
// tensor. Throws ConvertError naming the first tensor whose values differ by more than
// `tolerance` * (1 + |value|).
OnnxCheck VerifyOnnxImport(const OnnxImport& import, const std::string& inputs_path, int64_t rows = 256,
                           double tolerance = 1e-4);

}  // namespace mmoe::converter
