// Format 2.x: the file's tensors, nodes, inputs and outputs, copied into the graph as they are.
// Indices are copied unchecked; VerifyGraph checks them before anything reads through them.
#include <cstdarg>
#include <cstdint>
#include <cstdio>

#include "load/file_graph.h"
#include "mmoe/mmoe.h"

namespace mmoe {
namespace {

using graph::Op;
using graph::TensorType;

std::string Str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

int32_t Index(uint32_t v) { return v > INT32_MAX ? INT32_MAX : static_cast<int32_t>(v); }

// "nodes[3] (experts.1.0)"
std::string Where(const char* list, uint32_t i, const std::string& name) {
  return name.empty() ? Format("%s[%u]", list, i) : Format("%s[%u] (%s)", list, i, name.c_str());
}

}  // namespace

std::string FileGraph::TensorWhere(size_t t) const {
  return t < tensor_where.size() ? tensor_where[t]
                                 : Where("tensors", static_cast<uint32_t>(t), graph.tensors[t].name);
}

std::string FileGraph::NodeWhere(size_t n) const {
  return n < node_where.size() ? node_where[n]
                               : Where("nodes", static_cast<uint32_t>(n), graph.nodes[n].name);
}

Status DecodeV2(const fb::Model* m, FileGraph* out) {
  out->format_major = 2;
  out->model = m;
  graph::Graph& g = out->graph;
  if (!m->tensors() || !m->nodes() || !m->inputs() || !m->outputs()) {
    return Status::Error(StatusCode::kInvalidModel,
                         "model: format %u.%u needs tensors, nodes, inputs and outputs",
                         m->format_version_major(), m->format_version_minor());
  }
  if (m->tensors()->size() > kMaxTensors || m->nodes()->size() > kMaxTensors) {
    return Status::Error(StatusCode::kInvalidModel, "model: %u tensors and %u nodes, at most %u of each",
                         m->tensors()->size(), m->nodes()->size(), kMaxTensors);
  }
  for (uint32_t i = 0; i < m->tensors()->size(); ++i) {
    const fb::Tensor* t = m->tensors()->Get(i);
    graph::Tensor tensor;
    tensor.name = Str(t->name());
    tensor.width = Index(t->width());
    switch (t->type()) {
      case fb::ElementType::INT8:
        tensor.type = TensorType::kInt8;
        break;
      case fb::ElementType::INT16:
        tensor.type = TensorType::kInt16;
        break;
      case fb::ElementType::FLOAT32:
        tensor.type = TensorType::kFloat;
        break;
      case fb::ElementType::ID:
        tensor.type = TensorType::kId;
        break;
      default:
        return Status::Error(StatusCode::kInvalidModel, "%s has unknown element type %d",
                             Where("tensors", i, tensor.name).c_str(), static_cast<int>(t->type()));
    }
    tensor.scale = t->scale();
    tensor.zero_point = t->zero_point();
    g.tensors.push_back(std::move(tensor));
  }
  for (uint32_t i = 0; i < m->nodes()->size(); ++i) {
    const fb::Node* n = m->nodes()->Get(i);
    graph::Node node;
    node.name = Str(n->name());
    for (uint32_t t : *n->inputs()) node.inputs.push_back(Index(t));
    node.output = Index(n->output());
    const flatbuffers::Vector<float>* scales = nullptr;
    switch (n->params_type()) {
      case fb::NodeParams::Dense:
        node.op = Op::kDense;
        node.param = static_cast<int32_t>(out->dense.size());
        out->dense.push_back(n->params_as_Dense());
        break;
      case fb::NodeParams::ActivationTable:
        node.op = Op::kActivation;
        node.param = static_cast<int32_t>(out->activations.size());
        out->activations.push_back(n->params_as_ActivationTable());
        break;
      case fb::NodeParams::Softmax:
        node.op = Op::kSoftmax;
        break;
      case fb::NodeParams::Mixture:
        node.op = Op::kMixture;
        node.gated = n->params_as_Mixture()->gated();
        scales = n->params_as_Mixture()->scales();
        break;
      case fb::NodeParams::Sigmoid:
        node.op = Op::kSigmoid;
        break;
      case fb::NodeParams::Product:
        node.op = Op::kProduct;
        break;
      case fb::NodeParams::Embedding:
        node.op = Op::kEmbedding;
        node.param = static_cast<int32_t>(out->embeddings.size());
        out->embeddings.push_back(n->params_as_Embedding());
        break;
      case fb::NodeParams::Concat:
        node.op = Op::kConcat;
        node.param = static_cast<int32_t>(out->concats.size());
        out->concats.push_back(n->params_as_Concat());
        break;
      default:
        return Status::Error(
            StatusCode::kInvalidModel,
            "%s: unknown node kind %d (this runtime reads format %d.%d; a newer one may know it)",
            Where("nodes", i, node.name).c_str(), static_cast<int>(n->params_type()), kFormatVersionMajor,
            kFormatVersionMinor);
    }
    g.nodes.push_back(std::move(node));
    out->mix_scales.push_back(scales);
  }
  for (uint32_t i = 0; i < m->inputs()->size(); ++i) {
    const fb::Input* in = m->inputs()->Get(i);
    graph::Input input;
    input.name = Str(in->name());
    input.tensor = Index(in->tensor());
    switch (in->kind()) {
      case fb::InputKind::DENSE:
        input.kind = graph::InputKind::kDense;
        break;
      case fb::InputKind::IDS:
        input.kind = graph::InputKind::kIds;
        break;
      case fb::InputKind::BAG:
        input.kind = graph::InputKind::kBag;
        break;
      default:
        return Status::Error(StatusCode::kInvalidModel, "%s has unknown kind %d",
                             Where("inputs", i, input.name).c_str(), static_cast<int>(in->kind()));
    }
    if (in->feature_names()) {
      for (const flatbuffers::String* name : *in->feature_names()) input.feature_names.push_back(name->str());
    }
    g.inputs.push_back(std::move(input));
  }
  for (uint32_t i = 0; i < m->outputs()->size(); ++i) {
    const fb::Output* o = m->outputs()->Get(i);
    g.outputs.push_back(graph::Output{o->name()->str(), Index(o->tensor())});
  }
  if (const fb::PackedInput* p = m->packed_input()) {
    g.packed.name = p->name()->str();
    if (g.packed.name.empty()) return Status::Error(StatusCode::kInvalidModel, "packed_input: empty name");
    g.packed.width = Index(p->width());
    for (uint32_t v : *p->first()) g.packed.first.push_back(Index(v));
    for (uint32_t v : *p->count()) g.packed.count.push_back(Index(v));
  }
  return Status::Ok();
}

}  // namespace mmoe
