// An import checked against the graph it came from: the ONNX graph computed node by node
// (onnx_eval.cpp) on calibration rows beside the imported model's float reference, every
// tensor the importer mapped compared with the ONNX value it stands for.
#include <algorithm>
#include <cmath>
#include <map>

#include "mmoe/converter/float_reference.h"
#include "mmoe/converter/inputs.h"
#include "mmoe/converter/io.h"
#include "mmoe/converter/onnx_import.h"
#include "onnx/onnx_graph.h"

namespace mmoe::converter {
namespace {

// Every item's values of every tensor (rows x width, in row order).
class Collect : public ActivationObserver {
 public:
  explicit Collect(size_t tensors) : values(tensors) {}
  void Observe(int32_t tensor, const float* v, size_t count) override {
    values[static_cast<size_t>(tensor)].insert(values[static_cast<size_t>(tensor)].end(), v, v + count);
  }
  std::vector<std::vector<float>> values;
};

// The graph's inputs, as the graph shapes them, from the first `rows` rows of the file.
std::map<std::string, onnx::Array> GraphInputs(const onnx::Graph& g, const std::string& path, int64_t rows) {
  std::map<std::string, onnx::Array> out;
  std::map<std::string, NpyArray> arrays;
  const bool npz = path.size() > 4 && path.compare(path.size() - 4, 4, ".npz") == 0;
  if (npz) {
    for (const NpzMember& m : ReadNpz(path))
      arrays[m.name] = ParseNpyArray(m.bytes, path + ": '" + m.name + "'");
  } else {
    if (g.inputs.size() != 1)
      throw ConvertError(path + ": the graph has " + std::to_string(g.inputs.size()) +
                         " inputs; give them as .npz, one array per input");
    NpyArray a;
    a.floats = ReadNpy(path);
    a.shape = {a.floats.rows, a.floats.cols};
    arrays[g.inputs[0].name] = a;
  }
  for (const onnx::ValueInfo& in : g.inputs) {
    const auto it = arrays.find(in.name);
    if (it == arrays.end())
      throw ConvertError(path + ": no array '" + in.name + "' (an input of the ONNX graph)");
    const NpyArray& a = it->second;
    onnx::Array x;
    x.type = in.type;
    const int64_t n = std::min<int64_t>(rows, a.floats.rows);
    const int64_t cols = a.floats.cols;
    x.shape = {n};
    if (in.shape.size() == 2) x.shape.push_back(cols);
    if ((in.shape.size() == 2 && in.shape[1] != cols) || (in.shape.size() == 1 && cols != 1))
      throw ConvertError(path + ": '" + in.name + "' has " + std::to_string(cols) +
                         " values per row; the graph's input is " + onnx::ShapeText(in.shape));
    for (int64_t i = 0; i < n * cols; ++i)
      x.v.push_back(a.integer ? static_cast<double>(a.ints[static_cast<size_t>(i)])
                              : static_cast<double>(a.floats.data[static_cast<size_t>(i)]));
    if (!out.empty() && out.begin()->second.dim(0) != x.dim(0))
      throw ConvertError(path + ": '" + in.name + "' has " + std::to_string(a.floats.rows) + " rows, '" +
                         out.begin()->first + "' " + std::to_string(out.begin()->second.dim(0)));
    out[in.name] = std::move(x);
  }
  return out;
}

}  // namespace

OnnxCheck VerifyOnnxImport(const OnnxImport& import, const std::string& inputs_path, int64_t rows,
                           double tolerance) {
  const onnx::Graph& g = *import.graph;
  std::map<std::string, onnx::Array> values = GraphInputs(g, inputs_path, rows);
  const int64_t n = values.empty() ? 0 : values.begin()->second.dim(0);
  std::map<std::string, const onnx::Array*> find;
  for (const auto& [name, a] : g.initializers) find[name] = &a;
  for (const auto& [name, a] : values) find[name] = &a;
  for (const onnx::Node& node : g.nodes) {
    std::vector<const onnx::Array*> in;
    for (const std::string& name : node.inputs) {
      if (name.empty()) {
        in.push_back(nullptr);
        continue;
      }
      const auto it = find.find(name);
      if (it == find.end())
        throw ConvertError(inputs_path + ": " + node.Label() + " reads '" + name +
                           "', which is not computed");
      in.push_back(it->second);
    }
    std::vector<onnx::Array> out = onnx::Evaluate(node, in, g.opset);
    for (size_t o = 0; o < node.outputs.size() && o < out.size(); ++o) {
      values[node.outputs[o]] = std::move(out[o]);
      find[node.outputs[o]] = &values[node.outputs[o]];
    }
  }

  const FloatModel& m = import.model;
  std::unique_ptr<InputSource> source = OpenInputs(inputs_path, m.graph);
  const Inputs in = source->Read(0, std::min<int64_t>(n, source->rows()));
  Collect collect(m.graph.tensors.size());
  const Matrix scores = FloatReference(m).Forward(in, &collect);

  OnnxCheck check;
  check.rows = in.rows;
  const auto compare = [&](const std::string& what, const float* ours, int64_t width,
                           const onnx::Array& theirs, int64_t column, int64_t stride) {
    for (int64_t r = 0; r < in.rows; ++r)
      for (int64_t c = 0; c < width; ++c) {
        const double a = ours[r * width + c], b = theirs.v[static_cast<size_t>(r * stride + column + c)];
        const double d = std::fabs(a - b);
        check.max_abs_diff = std::max(check.max_abs_diff, d);
        if (!(d <= tolerance * (1.0 + std::fabs(b)))) {
          throw ConvertError("the import differs from the ONNX graph: " + what + ", row " +
                             std::to_string(r) + ", element " + std::to_string(c) + ": " + std::to_string(a) +
                             " where ONNX computes " + std::to_string(b));
        }
      }
  };
  for (size_t t = 0; t < m.graph.tensors.size(); ++t) {
    const auto it = import.sources.find(m.graph.tensors[t].name);
    if (it == import.sources.end()) continue;
    const onnx::Array& theirs = values.at(it->second);
    const int64_t width = m.graph.tensors[t].width;
    if (theirs.size() != in.rows * width)
      throw ConvertError("internal error: tensor '" + m.graph.tensors[t].name + "' (" +
                         std::to_string(width) + " per item) maps ONNX value '" + it->second + "' of shape " +
                         onnx::ShapeText(theirs.shape));
    compare("tensor '" + m.graph.tensors[t].name + "' (ONNX '" + it->second + "')", collect.values[t].data(),
            width, theirs, 0, width);
    ++check.tensors;
  }
  const std::vector<std::string> tasks = m.task_names();
  for (size_t j = 0; j < import.task_columns.size(); ++j) {
    const onnx::Array& out = values.at(import.task_columns[j].first);
    const int64_t stride = out.size() / std::max<int64_t>(in.rows, 1);
    std::vector<float> ours(static_cast<size_t>(in.rows));
    for (int64_t r = 0; r < in.rows; ++r) ours[static_cast<size_t>(r)] = scores.row(r)[j];
    compare("task '" + tasks[j] + "' (ONNX output '" + import.task_columns[j].first + "')", ours.data(), 1,
            out, import.task_columns[j].second, stride);
  }
  return check;
}

}  // namespace mmoe::converter
