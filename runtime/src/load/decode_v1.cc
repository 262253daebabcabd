// Format 1.x (one MMoE-shaped network) lowered to the graph format 2 stores:
//   input -> experts' layers -> (their outputs)
//   input -> each gate's layers -> logits -> softmax -> probabilities
//   per task: mixture(probabilities of its gate, or weight 1, x the experts it reads) ->
//             its tower's layers -> logit -> sigmoid (or the logit itself for identity tasks)
// The arithmetic is the same node for node, so 1.x files score the bytes they always did.
// Checked here: the rules of format 1 that the graph no longer expresses (counts, expert
// indices, which layers keep their accumulators); everything numeric is VerifyGraph's.
#include <cstdint>
#include <cstdio>

#include "load/file_graph.h"

namespace mmoe {
namespace {

using graph::Node;
using graph::Op;
using graph::TensorType;

Status Invalid(const char* format, const std::string& where, const char* what) {
  return Status::Error(StatusCode::kInvalidModel, format, where.c_str(), what);
}

class V1Decoder {
 public:
  V1Decoder(const fb::Model* m, FileGraph* out) : m_(m), f_(out), g_(out->graph) {}
  Status Run();

 private:
  // A tensor for `q` (nullptr: float32), `width` elements.
  Status AddTensor(std::string name, uint32_t width, const fb::ActivationQuant* q, std::string where,
                   int32_t* index);
  void AddNode(Node node, std::string where);
  // The layers of `mlp` reading tensor `input`; the last one's output kind must be `last`.
  // Sets *output to the last layer's tensor.
  Status Mlp(const fb::Mlp* mlp, const std::string& path, int32_t input, fb::OutputKind last,
             int32_t* output);

  const fb::Model* m_;
  FileGraph* f_;
  graph::Graph& g_;
};

Status V1Decoder::AddTensor(std::string name, uint32_t width, const fb::ActivationQuant* q, std::string where,
                            int32_t* index) {
  graph::Tensor t;
  t.name = std::move(name);
  t.width = static_cast<int32_t>(width > INT32_MAX ? INT32_MAX : width);  // VerifyGraph bounds it
  if (!q) {
    t.type = TensorType::kFloat;
  } else {
    if (q->type() == fb::ElementType::INT8) {
      t.type = TensorType::kInt8;
    } else if (q->type() == fb::ElementType::INT16) {
      t.type = TensorType::kInt16;
    } else {
      return Status::Error(StatusCode::kInvalidModel, "%s has unknown element type %d", where.c_str(),
                           static_cast<int>(q->type()));
    }
    t.scale = q->scale();
    t.zero_point = q->zero_point();
  }
  *index = g_.AddTensor(std::move(t));
  f_->tensor_where.push_back(std::move(where));
  return Status::Ok();
}

void V1Decoder::AddNode(Node node, std::string where) {
  f_->node_where.push_back(std::move(where));
  f_->mix_scales.push_back(nullptr);
  g_.AddNode(std::move(node));
}

Status V1Decoder::Mlp(const fb::Mlp* mlp, const std::string& path, int32_t input, fb::OutputKind last,
                      int32_t* output) {
  const auto* layers = mlp->layers();
  if (layers->size() == 0 || layers->size() > kMaxLayers) {
    return Status::Error(StatusCode::kInvalidModel, "%s: has %u layers, expected 1 to %u", path.c_str(),
                         layers->size(), kMaxLayers);
  }
  int32_t cur = input;
  for (uint32_t i = 0; i < layers->size(); ++i) {
    const fb::Dense* layer = layers->Get(i);
    const char* name = layer->name() ? layer->name()->c_str() : "";
    const std::string where = *name ? Format("%s.layers[%u] (%s)", path.c_str(), i, name)
                                    : Format("%s.layers[%u]", path.c_str(), i);
    const fb::OutputKind kind = layer->output_kind();
    if (kind != fb::OutputKind::REQUANTIZED && kind != fb::OutputKind::ACCUMULATOR) {
      return Status::Error(StatusCode::kInvalidModel, "%s: unknown output kind %d", where.c_str(),
                           static_cast<int>(kind));
    }
    const fb::OutputKind want = i + 1 == layers->size() ? last : fb::OutputKind::REQUANTIZED;
    if (kind != want) {
      return Invalid("%s: output must be %s here", where,
                     want == fb::OutputKind::REQUANTIZED ? "requantized" : "the accumulator");
    }
    if (kind == fb::OutputKind::REQUANTIZED && !layer->output()) {
      return Invalid("%s: %s quantization is missing", where, "output");
    }
    int32_t out = -1;
    const fb::ActivationQuant* q = kind == fb::OutputKind::REQUANTIZED ? layer->output() : nullptr;
    if (Status s = AddTensor(*name ? name : where, layer->out_features(), q,
                             Format("%s: output", where.c_str()), &out);
        !s.ok())
      return s;
    Node node;
    node.op = Op::kDense;
    node.name = name;
    node.inputs = {cur};
    node.output = out;
    node.param = static_cast<int32_t>(f_->dense.size());
    f_->dense.push_back(layer);
    AddNode(std::move(node), where);
    cur = out;
  }
  *output = cur;
  return Status::Ok();
}

Status V1Decoder::Run() {
  const fb::Model* m = m_;
  if (!m->input() || !m->experts() || !m->tasks()) {
    return Status::Error(StatusCode::kInvalidModel, "model: format %u.%u needs input, experts and tasks",
                         m->format_version_major(), m->format_version_minor());
  }
  if (m->input_dim() == 0 || m->input_dim() > kMaxWidth) {
    return Status::Error(StatusCode::kInvalidModel, "model: input_dim %u is 0 or above %u", m->input_dim(),
                         kMaxWidth);
  }
  if (m->feature_names() && m->feature_names()->size() != 0 && m->feature_names()->size() != m->input_dim()) {
    return Status::Error(StatusCode::kInvalidModel, "model: %u feature names for %u inputs",
                         m->feature_names()->size(), m->input_dim());
  }
  const uint32_t n_experts = m->experts()->size();
  const uint32_t n_gates = m->gates() ? m->gates()->size() : 0;
  const uint32_t n_tasks = m->tasks()->size();
  if (n_experts == 0 || n_experts > kMaxExperts) {
    return Status::Error(StatusCode::kInvalidModel, "model: %u experts, expected 1 to %u", n_experts,
                         kMaxExperts);
  }
  if (n_tasks == 0 || n_tasks > kMaxOutputs || n_gates > kMaxGates) {
    return Status::Error(StatusCode::kInvalidModel, "model: %u tasks and %u gates (1-%u tasks, 0-%u gates)",
                         n_tasks, n_gates, kMaxOutputs, kMaxGates);
  }

  graph::Input input;
  input.name = "input";
  if (Status s = AddTensor("input", m->input_dim(), m->input(), "model: input", &input.tensor); !s.ok())
    return s;
  if (m->feature_names()) {
    for (const flatbuffers::String* name : *m->feature_names()) input.feature_names.push_back(name->str());
  }
  g_.inputs.push_back(std::move(input));
  const int32_t x = g_.inputs[0].tensor;

  char path[64];
  std::vector<int32_t> expert_out(n_experts);
  for (uint32_t e = 0; e < n_experts; ++e) {
    std::snprintf(path, sizeof(path), "experts[%u]", e);
    if (Status s = Mlp(m->experts()->Get(e), path, x, fb::OutputKind::REQUANTIZED, &expert_out[e]); !s.ok())
      return s;
    const graph::Tensor& t = g_.tensors[expert_out[e]];
    const graph::Tensor& first = g_.tensors[expert_out[0]];
    if (t.width != first.width || t.type != first.type) {
      return Status::Error(StatusCode::kInvalidModel,
                           "%s: output width or element type differs from experts[0]'s", path);
    }
  }

  std::vector<int32_t> gate_probs(n_gates);
  for (uint32_t g = 0; g < n_gates; ++g) {
    std::snprintf(path, sizeof(path), "gates[%u]", g);
    const fb::Gate* gate = m->gates()->Get(g);
    const auto* idx = gate->experts();
    if (idx->size() == 0 || idx->size() > kMaxMixed) {
      return Status::Error(StatusCode::kInvalidModel, "%s: mixes %u experts, expected 1 to %u", path,
                           idx->size(), kMaxMixed);
    }
    bool seen[kMaxExperts] = {false};
    for (uint32_t j = 0; j < idx->size(); ++j) {
      const uint32_t e = idx->Get(j);
      if (e >= n_experts || seen[e]) {
        return Status::Error(StatusCode::kInvalidModel, "%s: expert index %u is %s", path, e,
                             e >= n_experts ? "out of range" : "repeated");
      }
      seen[e] = true;
    }
    int32_t logits = -1;
    if (Status s = Mlp(gate->mlp(), path, x, fb::OutputKind::ACCUMULATOR, &logits); !s.ok()) return s;
    const uint32_t n_logits = gate->mlp()->layers()->Get(gate->mlp()->layers()->size() - 1)->out_features();
    if (n_logits != idx->size()) {
      return Status::Error(StatusCode::kInvalidModel, "%s: %u logits for %u experts", path, n_logits,
                           idx->size());
    }
    if (Status s = AddTensor(Format("%s.softmax", path), n_logits, nullptr, Format("%s: softmax", path),
                             &gate_probs[g]);
        !s.ok())
      return s;
    Node softmax;
    softmax.op = Op::kSoftmax;
    softmax.name = path;
    softmax.inputs = {logits};
    softmax.output = gate_probs[g];
    AddNode(std::move(softmax), path);
  }

  for (uint32_t t = 0; t < n_tasks; ++t) {
    const fb::Task* task = m->tasks()->Get(t);
    const char* name = task->name()->c_str();
    std::snprintf(path, sizeof(path), "tasks[%u]", t);
    const std::string where = Format("%s (%s)", path, name);
    const int32_t gate = task->gate(), expert = task->expert();
    if (gate < -1 || gate >= static_cast<int32_t>(n_gates)) {
      return Status::Error(StatusCode::kInvalidModel, "%s: gate %d is out of range (%u gates)", where.c_str(),
                           gate, n_gates);
    }
    if (gate == -1 && (expert < 0 || expert >= static_cast<int32_t>(n_experts))) {
      return Status::Error(StatusCode::kInvalidModel, "%s: no gate and expert %d is out of range",
                           where.c_str(), expert);
    }
    if (task->output() != fb::TaskOutput::SIGMOID && task->output() != fb::TaskOutput::IDENTITY) {
      return Status::Error(StatusCode::kInvalidModel, "%s: unknown output %d", where.c_str(),
                           static_cast<int>(task->output()));
    }
    // The mixture writes the tower's input, quantized as the tower's first layer reads it.
    const fb::Mlp* tower = task->tower();
    if (tower->layers()->size() == 0 || tower->layers()->size() > kMaxLayers) {
      return Status::Error(StatusCode::kInvalidModel, "%s.tower: has %u layers, expected 1 to %u", path,
                           tower->layers()->size(), kMaxLayers);
    }
    const fb::Dense* first = tower->layers()->Get(0);
    if (!first->input()) {
      return Status::Error(StatusCode::kInvalidModel, "%s: the tower's first layer has no input quantization",
                           where.c_str());
    }
    Node mix;
    mix.op = Op::kMixture;
    mix.name = Format("tower_input.%s", name);
    mix.gated = gate >= 0;
    if (mix.gated) {
      mix.inputs.push_back(gate_probs[gate]);
      for (uint32_t e : *m->gates()->Get(static_cast<uint32_t>(gate))->experts())
        mix.inputs.push_back(expert_out[e]);
    } else {
      mix.inputs.push_back(expert_out[expert]);
    }
    if (Status s = AddTensor(mix.name, static_cast<uint32_t>(g_.tensors[expert_out[0]].width), first->input(),
                             Format("%s: tower input", where.c_str()), &mix.output);
        !s.ok())
      return s;
    const int32_t tower_in = mix.output;
    AddNode(std::move(mix), where);
    f_->mix_scales.back() = task->mix_scales();

    int32_t logit = -1;
    if (Status s = Mlp(tower, Format("%s.tower", path), tower_in, fb::OutputKind::ACCUMULATOR, &logit);
        !s.ok())
      return s;
    const uint32_t n_out = tower->layers()->Get(tower->layers()->size() - 1)->out_features();
    if (n_out != 1) {
      return Status::Error(StatusCode::kInvalidModel, "%s: tower ends with %u outputs, expected 1",
                           where.c_str(), n_out);
    }
    graph::Output output;
    output.name = name;
    output.tensor = logit;
    if (task->output() == fb::TaskOutput::SIGMOID) {
      if (Status s = AddTensor(name, 1, nullptr, Format("%s: score", where.c_str()), &output.tensor); !s.ok())
        return s;
      Node sigmoid;
      sigmoid.op = Op::kSigmoid;
      sigmoid.name = name;
      sigmoid.inputs = {logit};
      sigmoid.output = output.tensor;
      AddNode(std::move(sigmoid), where);
    }
    g_.outputs.push_back(std::move(output));
  }
  return Status::Ok();
}

}  // namespace

Status DecodeV1(const fb::Model* model, FileGraph* out) {
  out->format_major = 1;
  out->model = model;
  return V1Decoder(model, out).Run();
}

}  // namespace mmoe
