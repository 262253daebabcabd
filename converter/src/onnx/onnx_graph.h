// An ONNX model as the importer reads it: plain structures filled from the protobuf by
// onnx_file.cpp (the one file that uses libonnx), and the numeric semantics of the operators
// the importer folds and verifies with (onnx_eval.cpp), in double precision.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mmoe::converter::onnx {

// ONNX's TensorProto element types that the importer handles.
enum ElemType : int32_t {
  kFloat = 1,
  kUint8 = 2,
  kInt8 = 3,
  kInt32 = 6,
  kInt64 = 7,
  kBool = 9,
  kDouble = 11,
};
const char* ElemTypeName(int32_t type);
bool IsInteger(int32_t type);  // int8/16/32/64, uint8/16/32/64, bool

// A tensor's values, whatever its element type, as doubles (exact for int64 ids below 2^53).
struct Array {
  int32_t type = kFloat;
  std::vector<int64_t> shape;
  std::vector<double> v;

  int64_t size() const { return static_cast<int64_t>(v.size()); }
  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  int64_t dim(int64_t axis) const { return shape[static_cast<size_t>(axis)]; }
};
int64_t ShapeSize(const std::vector<int64_t>& shape);
std::string ShapeText(const std::vector<int64_t>& shape);  // "[N, 5, 8]" (-1 as N)

struct Attribute {
  std::string name;
  enum Kind { kInt, kFloat, kString, kInts, kFloats, kTensor, kOther } kind = kOther;
  int64_t i = 0;
  double f = 0.0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  Array t;
};

struct Node {
  std::string name, op, domain;
  std::vector<std::string> inputs, outputs;  // "" for an omitted optional input
  std::vector<Attribute> attrs;

  const Attribute* Find(const std::string& name) const;
  int64_t Int(const std::string& name, int64_t fallback) const;
  double Float(const std::string& name, double fallback) const;
  // "node 'name' (Op)", or by its first output when unnamed: what messages call it.
  std::string Label() const;
};

struct ValueInfo {
  std::string name;
  int32_t type = kFloat;
  std::vector<int64_t> shape;  // -1: a symbolic dimension (the batch)
};

struct Graph {
  int64_t opset = 0;  // of the default domain
  std::string producer;
  std::vector<ValueInfo> inputs;  // initializers excluded
  std::vector<ValueInfo> outputs;
  std::map<std::string, Array> initializers;
  std::vector<Node> nodes;  // in the file's (topological) order
};

// Parses a ModelProto. Throws ConvertError naming `label` and what is wrong: not a protobuf
// model, no graph, an opset outside 9..20, external data, an element type it cannot read,
// values that do not match a shape. (Built without libonnx: throws saying so.)
Graph ParseModel(const std::string& bytes, const std::string& label);
// Whether this build reads ONNX files (libonnx-dev was found).
bool Available();

// A value used as an integer (an index, axis, shape or id): ConvertError naming the node when
// it is not finite or beyond int64.
int64_t IntOf(const Node& node, double v);

// The node's outputs computed from its inputs (nullptr for an omitted optional one), with
// ONNX's semantics; throws ConvertError naming the node for an operator or an attribute it
// does not implement, or shapes that do not fit.
std::vector<Array> Evaluate(const Node& node, const std::vector<const Array*>& inputs, int64_t opset);

}  // namespace mmoe::converter::onnx
