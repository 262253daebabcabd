// An ONNX ModelProto into the importer's structures, with Debian's libonnx (libonnx-dev: the
// generated protobuf classes, onnx_proto). Nothing else in the importer sees protobuf.
#include <cstring>

#include "mmoe/converter/float_model.h"
#include "onnx/onnx_graph.h"

#if MMOE_HAVE_ONNX
#include <onnx/onnx_pb.h>
#endif

namespace mmoe::converter::onnx {

#if !MMOE_HAVE_ONNX

bool Available() { return false; }

Graph ParseModel(const std::string&, const std::string& label) {
  throw ConvertError(label + ": this build reads no ONNX files (it was built without libonnx-dev)");
}

#else

bool Available() { return true; }

namespace {

[[noreturn]] void Fail(const std::string& label, const std::string& what) {
  throw ConvertError(label + ": " + what);
}

template <typename T>
void ReadRaw(const std::string& raw, std::vector<double>* out, int64_t n, const std::string& where) {
  if (raw.size() != static_cast<size_t>(n) * sizeof(T)) {
    Fail(where, "holds " + std::to_string(raw.size()) + " bytes for " + std::to_string(n) + " values of " +
                    std::to_string(sizeof(T)) + " bytes");
  }
  out->resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, raw.data() + i * static_cast<int64_t>(sizeof(T)), sizeof(T));  // little-endian hosts
    (*out)[static_cast<size_t>(i)] = static_cast<double>(v);
  }
}

Array ReadTensor(const ::onnx::TensorProto& t, const std::string& where) {
  Array a;
  a.type = t.data_type();
  int64_t n = 1;
  for (int64_t d : t.dims()) {
    if (d < 0 || (d > 0 && n > (int64_t{1} << 40) / d))
      Fail(where, "has a dimension of " + std::to_string(d));
    a.shape.push_back(d);
    n *= d;
  }
  if (t.data_location() == ::onnx::TensorProto::EXTERNAL || t.external_data_size() > 0)
    Fail(where, "is stored outside the file (external data); save the model with its tensors inside");
  // The values as raw little-endian bytes of type T, or in the typed field ONNX keeps for T.
  const auto read = [&](auto tag, const auto& typed) {
    using T = decltype(tag);
    if (!t.raw_data().empty() || n == 0) return ReadRaw<T>(t.raw_data(), &a.v, n, where);
    if (typed.size() != n)
      Fail(where, "holds " + std::to_string(typed.size()) + " values for shape " + ShapeText(a.shape));
    for (const auto v : typed) a.v.push_back(static_cast<double>(v));
  };
  switch (a.type) {
    case kFloat:
      read(float(), t.float_data());
      break;
    case kDouble:
      read(double(), t.double_data());
      break;
    case kInt64:
      read(int64_t(), t.int64_data());
      break;
    case kInt32:
      read(int32_t(), t.int32_data());
      break;
    case kInt8:
      read(int8_t(), t.int32_data());
      break;
    case kUint8:
    case kBool:
      read(uint8_t(), t.int32_data());
      break;
    default:
      Fail(where,
           std::string("has element type ") + ElemTypeName(a.type) + ", which the importer does not read");
  }
  return a;
}

ValueInfo ReadValueInfo(const ::onnx::ValueInfoProto& v, const std::string& where) {
  ValueInfo info;
  info.name = v.name();
  if (!v.type().has_tensor_type()) Fail(where, "'" + v.name() + "' is not a tensor");
  info.type = v.type().tensor_type().elem_type();
  for (const auto& d : v.type().tensor_type().shape().dim())
    info.shape.push_back(d.has_dim_value() ? d.dim_value() : -1);
  return info;
}

}  // namespace

Graph ParseModel(const std::string& bytes, const std::string& label) {
  ::onnx::ModelProto model;
  if (bytes.size() > static_cast<size_t>(INT32_MAX) || !model.ParseFromString(bytes))
    Fail(label, "not an ONNX model (the protobuf does not parse)");
  if (!model.has_graph()) Fail(label, "the ONNX model has no graph");
  Graph g;
  g.producer =
      model.producer_name() + (model.producer_version().empty() ? "" : " " + model.producer_version());
  for (const auto& o : model.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") g.opset = o.version();
  }
  if (g.opset < 9 || g.opset > 20)
    Fail(label,
         "opset " + std::to_string(g.opset) + " of the default domain; the importer reads opsets 9 to 20");
  const ::onnx::GraphProto& graph = model.graph();
  for (const auto& t : graph.initializer()) {
    if (t.name().empty()) Fail(label, "an initializer has no name");
    g.initializers[t.name()] = ReadTensor(t, label + ": initializer '" + t.name() + "'");
  }
  for (const auto& v : graph.input()) {
    if (g.initializers.count(v.name())) continue;  // older exporters list initializers as inputs
    g.inputs.push_back(ReadValueInfo(v, label + ": input"));
  }
  for (const auto& v : graph.output()) g.outputs.push_back(ReadValueInfo(v, label + ": output"));
  for (const auto& np : graph.node()) {
    Node n;
    n.name = np.name();
    n.op = np.op_type();
    n.domain = np.domain();
    n.inputs.assign(np.input().begin(), np.input().end());
    n.outputs.assign(np.output().begin(), np.output().end());
    for (const auto& ap : np.attribute()) {
      Attribute a;
      a.name = ap.name();
      switch (ap.type()) {
        case ::onnx::AttributeProto::INT:
          a.kind = Attribute::kInt;
          a.i = ap.i();
          break;
        case ::onnx::AttributeProto::FLOAT:
          a.kind = Attribute::kFloat;
          a.f = ap.f();
          break;
        case ::onnx::AttributeProto::STRING:
          a.kind = Attribute::kString;
          a.s = ap.s();
          break;
        case ::onnx::AttributeProto::INTS:
          a.kind = Attribute::kInts;
          a.ints.assign(ap.ints().begin(), ap.ints().end());
          break;
        case ::onnx::AttributeProto::FLOATS:
          a.kind = Attribute::kFloats;
          a.floats.assign(ap.floats().begin(), ap.floats().end());
          break;
        case ::onnx::AttributeProto::TENSOR:
          a.kind = Attribute::kTensor;
          a.t = ReadTensor(ap.t(), label + ": " + n.Label() + " attribute '" + a.name + "'");
          break;
        default:
          a.kind = Attribute::kOther;  // graphs (Loop, If bodies) and the rest: the importer names the node
          break;
      }
      n.attrs.push_back(std::move(a));
    }
    g.nodes.push_back(std::move(n));
  }
  return g;
}

#endif

}  // namespace mmoe::converter::onnx
