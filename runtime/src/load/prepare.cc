// A verified graph's executor form: each dense layer with its input zero point folded into its
// bias, activation tables, mixture parameters, the input's quantization, and the model's size.
#include "load/file_graph.h"
#include "model_data.h"

namespace mmoe {
namespace {

using graph::Node;
using graph::Op;
using graph::Tensor;
using graph::TensorType;

ElementType TypeOf(const Tensor& t) {
  return t.type == TensorType::kInt16 ? ElementType::kInt16 : ElementType::kInt8;
}

void PrepareDense(const fb::Dense* d, const Tensor& x, const std::vector<int32_t>& zp, const Tensor& y,
                  int32_t* bias, DenseLayer* out) {
  out->in = x.width;
  out->out = y.width;
  out->weights = d->weights()->data();
  out->multipliers = d->multipliers()->data();
  out->input = TypeOf(x);
  if (y.type == TensorType::kFloat) {
    out->output = DenseOutput::kReal;
  } else {
    const bool int16 = y.type == TensorType::kInt16;
    out->output = int16 ? DenseOutput::kInt16 : DenseOutput::kInt8;
    out->output_zero_point = y.zero_point;
    out->output_min = d->activation() == fb::Activation::RELU ? y.zero_point : (int16 ? -32768 : -128);
    out->output_max = int16 ? 32767 : 127;
  }
  for (int32_t c = 0; c < out->out; ++c) {
    int32_t wzp = 0;  // cannot overflow: verified
    for (int32_t k = 0; k < out->in; ++k)
      wzp += zp[static_cast<size_t>(k)] * out->weights[static_cast<size_t>(c) * out->in + k];
    bias[c] = d->bias()->Get(static_cast<uint32_t>(c)) - wzp;
  }
  out->bias = bias;
}

void PrepareTables(const FileGraph& f, ModelData* d) {
  const fb::Model* m = f.model;
  if (!m->embedding_tables()) return;
  for (const fb::EmbeddingTable* t : *m->embedding_tables()) {
    EmbeddingTable table;
    table.rows = f.segments + m->segments()->Get(t->segment())->offset();
    table.num_rows = t->rows();
    table.dim = static_cast<int32_t>(t->dim());
    table.row_bytes = static_cast<size_t>(RowBytes(t->dim()));
    d->tables.push_back(table);
  }
}

// What Score checks of each input: the ids an embedding reads must be within its table, unless
// it reads a default row for the others.
void PrepareInputs(ModelData* d) {
  const graph::Graph& g = d->graph;
  const std::vector<std::vector<int32_t>> consumers = graph::Consumers(g);
  for (const graph::Input& input : g.inputs) {
    InputSpec spec;
    spec.kind = input.kind;
    spec.tensor = input.tensor;
    spec.width = g.tensors[input.tensor].width;
    for (int32_t c : consumers[input.tensor]) {
      const Node& n = g.nodes[c];
      if (n.op != Op::kEmbedding) continue;
      const EmbeddingLookup& e = d->embeddings[n.param];
      if (spec.rows == 0 || e.table->num_rows < spec.rows) spec.rows = e.table->num_rows;
      if (!e.default_row && (spec.id_limit == 0 || e.table->num_rows < spec.id_limit))
        spec.id_limit = e.table->num_rows;
      spec.has_padding_id = e.has_padding_id;  // the verifier gives a bag one embedding
      spec.padding_id = e.padding_id;
    }
    d->inputs.push_back(spec);
  }
  const Tensor& x = g.tensors[g.inputs[0].tensor];
  if (g.packed.present()) {
    d->input_dim = g.packed.width;  // Score(features) unpacks the row (session.cc)
  } else if (g.inputs.size() == 1 && g.inputs[0].kind == graph::InputKind::kDense) {
    d->input_tensor = g.inputs[0].tensor;
    d->input_dim = x.width;
    d->quantized_input = x.type == TensorType::kInt8;
    d->input16 = x.type == TensorType::kInt16;
    if (d->quantized_input || d->input16) {
      d->input_scale = x.scale;
      d->input_inv_scale = 1.0f / x.scale;
      d->input_zero_point = x.zero_point;
    }
  }
}

}  // namespace

void PrepareModel(FileGraph& f, ModelData* d) {
  d->graph = std::move(f.graph);
  const graph::Graph& g = d->graph;
  const std::vector<int32_t> producer = graph::Producers(g);
  PrepareTables(f, d);
  d->embeddings.resize(f.embeddings.size());
  d->concats.resize(f.concats.size());
  size_t total_out = 0;
  for (const Node& n : g.nodes) {
    if (n.op == Op::kDense) total_out += static_cast<size_t>(g.tensors[n.output].width);
  }
  d->folded_bias.assign(total_out, 0);
  d->dense.resize(f.dense.size());
  d->activations.resize(f.activations.size());
  d->mixtures.resize(g.nodes.size());
  d->dense_source = std::move(f.dense);
  d->activation_source = std::move(f.activations);
  size_t bias_used = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    const Tensor& y = g.tensors[n.output];
    switch (n.op) {
      case Op::kDense: {
        const Tensor& x = g.tensors[n.inputs[0]];
        PrepareDense(d->dense_source[n.param], x,
                     ColumnZeroPoints(g, f.concats, n.inputs[0], producer[n.inputs[0]]), y,
                     d->folded_bias.data() + bias_used, &d->dense[n.param]);
        bias_used += static_cast<size_t>(y.width);
        d->parameters += static_cast<int64_t>(x.width) * y.width + y.width;
        d->macs += static_cast<int64_t>(x.width) * y.width;
        break;
      }
      case Op::kActivation: {
        const fb::ActivationTable* a = d->activation_source[n.param];
        ActivationTables& t = d->activations[n.param];
        t.type = TypeOf(y);
        if (t.type == ElementType::kInt16) {
          t.table16 = a->table16()->data();
          t.per_channel = a->table16()->size() != static_cast<uint32_t>(kTable16Entries);
        } else {
          t.table8 = a->table8()->data();
          t.per_channel = a->table8()->size() != static_cast<uint32_t>(kTable8Entries);
        }
        break;
      }
      case Op::kMixture: {
        MixtureParams& m = d->mixtures[i];
        m.scales = f.mix_scales[i]->data();
        for (int32_t j = 0; j < n.num_experts(); ++j)
          m.zero_points.push_back(g.tensors[n.experts()[j]].zero_point);
        m.experts_int16 = g.tensors[n.experts()[0]].type == TensorType::kInt16;
        m.out.type = TypeOf(y);
        m.out.zero_point = y.zero_point;
        m.out.min = m.out.type == ElementType::kInt16 ? -32768 : -128;
        m.out.max = m.out.type == ElementType::kInt16 ? 32767 : 127;
        // Mixing costs a multiply-add per element and mixed tensor, for gated mixtures: the same
        // count as the converter's, so that `mmoe convert` and `mmoe inspect` agree.
        if (n.gated) d->macs += static_cast<int64_t>(n.num_experts()) * y.width;
        break;
      }
      case Op::kEmbedding: {
        const fb::Embedding* e = f.embeddings[n.param];
        EmbeddingLookup& lookup = d->embeddings[n.param];
        lookup.table = &d->tables[e->table()];
        lookup.pooling = static_cast<Pooling>(e->pooling());  // the same values (verified)
        lookup.has_padding_id = e->has_padding_id();
        lookup.padding_id = e->padding_id();
        lookup.default_row = e->bad_id() == fb::BadId::DEFAULT_ROW ? e->default_row()->data() : nullptr;
        break;
      }
      case Op::kConcat: {
        const fb::Concat* c = f.concats[n.param];
        ConcatParams& params = d->concats[n.param];
        int32_t offset = 0;
        for (size_t j = 0; j < n.inputs.size(); ++j) {
          params.offsets.push_back(offset);
          offset += g.tensors[n.inputs[j]].width;
        }
        for (float scale : *c->scales()) params.inv_scales.push_back(1.0f / scale);
        params.scales = c->scales()->data();
        params.zero_points = c->zero_points()->data();
        break;
      }
      default:
        break;
    }
  }
  PrepareInputs(d);
}

}  // namespace mmoe
