// Builds a Program (plan/program.h) from a verified model: the GEMM grouping, the buffers of
// one tile, and the packed weights.
#include <algorithm>

#include "model_data.h"
#include "plan/program.h"

namespace mmoe {
namespace {

int32_t RoundUp(int32_t v, int32_t m) { return (v + m - 1) / m * m; }

DenseOutput BufferType(ElementType t) {
  return t == ElementType::kInt16 ? DenseOutput::kInt16 : DenseOutput::kInt8;
}

class Builder {
 public:
  Builder(const ModelData& model, WeightLayout int8_layout, Program* p)
      : m_(model), layout8_(int8_layout), p_(p) {}

  void Build();

 private:
  struct Column {  // where one GEMM's segment comes from
    const DenseLayer* layer;
    int32_t buffer;
  };
  struct Pending {  // packing deferred until all storage sizes are known
    std::vector<Column> columns;
    size_t w_offset, int_offset, float_offset;
  };

  int32_t AddBuffer(DenseOutput type, int32_t width) {
    // Rows are padded to 16 elements: kernels store whole 16-column blocks, and the next
    // GEMM reads rows padded to a multiple of 4.
    p_->buffers.push_back(BufferDesc{type, RoundUp(width, kBlockColumns)});
    return static_cast<int32_t>(p_->buffers.size() - 1);
  }
  int32_t OutputBuffer(const DenseLayer& layer) {
    return AddBuffer(layer.output == DenseOutput::kReal ? DenseOutput::kReal : layer.output, layer.out);
  }
  // Adds a GEMM reading `input` whose segments are `columns`; returns its index.
  int32_t AddGemm(int32_t input, std::vector<Column> columns);
  // Adds the GEMMs of layers [first, end) of `mlp`, the first reading `input`; the last one
  // writes `last_buffer` (or a new buffer when -1). Returns the buffer the last layer writes.
  int32_t AddChain(const MlpPlan& mlp, size_t first, int32_t input, int32_t last_buffer);
  void Pack(PackedGemm& g, const Pending& pending);

  const ModelData& m_;
  WeightLayout layout8_;
  Program* p_;
  std::vector<Pending> pending_;
  size_t w8_size_ = 0, w16_size_ = 0, int_size_ = 0, float_size_ = 0;
};

int32_t Builder::AddGemm(int32_t input, std::vector<Column> columns) {
  PackedGemm g;
  g.k = columns.front().layer->in;
  g.k_pad = RoundUp(g.k, kPadK);
  g.input = columns.front().layer->input;
  g.layout = g.input == ElementType::kInt16 ? WeightLayout::kInt16x2 : layout8_;
  for (const Column& c : columns) {
    Segment s;
    s.begin = g.n_pad;
    s.end = g.n_pad + c.layer->out;
    s.buffer = c.buffer;
    s.layer = c.layer;
    g.segments.push_back(s);
    g.segment_types.push_back(p_->buffers[c.buffer].type);
    g.n_pad += RoundUp(c.layer->out, kBlockColumns);
    g.macs += static_cast<int64_t>(c.layer->in) * c.layer->out;
  }
  g.n = g.segments.back().end;
  Pending pend;
  pend.columns = std::move(columns);
  const size_t n_weights = static_cast<size_t>(g.n_pad) * g.k_pad;
  if (g.layout == WeightLayout::kInt16x2) {
    pend.w_offset = w16_size_;
    w16_size_ += n_weights;
  } else {
    pend.w_offset = w8_size_;
    w8_size_ += n_weights;
  }
  pend.int_offset = int_size_;
  int_size_ += 3 * static_cast<size_t>(g.n_pad);  // bias, bias_u8, zero point
  pend.float_offset = float_size_;
  float_size_ += 3 * static_cast<size_t>(g.n_pad);  // multiplier, lo, hi
  p_->gemms.push_back(std::move(g));
  pending_.push_back(std::move(pend));
  const int32_t index = static_cast<int32_t>(p_->gemms.size() - 1);
  p_->ops.push_back(Op{Op::kGemm, index, input, -1});
  return index;
}

int32_t Builder::AddChain(const MlpPlan& mlp, size_t first, int32_t input, int32_t last_buffer) {
  int32_t cur = input;
  for (size_t l = first; l < mlp.layers.size(); ++l) {
    const DenseLayer& layer = mlp.layers[l];
    const bool last = l + 1 == mlp.layers.size();
    const int32_t out = last && last_buffer >= 0 ? last_buffer : OutputBuffer(layer);
    AddGemm(cur, {Column{&layer, out}});
    cur = out;
  }
  return cur;
}

void Builder::Pack(PackedGemm& g, const Pending& pend) {
  int32_t* bias = p_->ints.data() + pend.int_offset;
  int32_t* bias_u8 = bias + g.n_pad;
  int32_t* zp = bias_u8 + g.n_pad;
  float* mult = p_->floats.data() + pend.float_offset;
  float* lo = mult + g.n_pad;
  float* hi = lo + g.n_pad;
  int8_t* w8 = p_->weights8.data() + (g.layout != WeightLayout::kInt16x2 ? pend.w_offset : 0);
  int16_t* w16 = p_->weights16.data() + (g.layout == WeightLayout::kInt16x2 ? pend.w_offset : 0);
  for (size_t s = 0; s < g.segments.size(); ++s) {
    const DenseLayer& layer = *pend.columns[s].layer;
    for (int32_t c = 0; c < layer.out; ++c) {
      const int32_t col = g.segments[s].begin + c;
      const int32_t block = col / kBlockColumns, cc = col % kBlockColumns;
      int64_t wsum = 0;
      for (int32_t k = 0; k < layer.in; ++k) {
        const int8_t w = layer.weights[static_cast<size_t>(c) * layer.in + k];
        wsum += w;
        if (g.layout == WeightLayout::kInt8Rows) {
          w8[static_cast<size_t>(col) * g.k_pad + k] = w;
        } else if (g.layout == WeightLayout::kInt8x4) {
          w8[((static_cast<size_t>(block) * (g.k_pad / 4) + k / 4) * kBlockColumns + cc) * 4 + k % 4] = w;
        } else {
          w16[((static_cast<size_t>(block) * (g.k_pad / 2) + k / 2) * kBlockColumns + cc) * 2 + k % 2] = w;
        }
      }
      bias[col] = layer.bias[c];
      // Exact: the verifier bounds |bias| + in * 127 * 128 below 2^31.
      bias_u8[col] = static_cast<int32_t>(layer.bias[c] - 128 * wsum);
      mult[col] = layer.multipliers[c];
      if (layer.output != DenseOutput::kReal) {
        zp[col] = layer.output_zero_point;
        lo[col] = static_cast<float>(layer.output_min - layer.output_zero_point);
        hi[col] = static_cast<float>(layer.output_max - layer.output_zero_point);
      }
    }
  }
  g.weights =
      g.layout != WeightLayout::kInt16x2 ? static_cast<const void*>(w8) : static_cast<const void*>(w16);
  g.bias = bias;
  g.bias_u8 = bias_u8;
  g.zero_point = zp;
  g.multiplier = mult;
  g.lo = lo;
  g.hi = hi;
}

void Builder::Build() {
  p_->num_tasks = static_cast<int32_t>(m_.tasks.size());
  p_->input_buffer = AddBuffer(DenseOutput::kInt8, m_.input_dim);
  p_->ops.push_back(Op{Op::kQuantize, 0, p_->input_buffer, p_->input_buffer});

  // Expert outputs: one buffer per expert, read by the mixtures.
  std::vector<int32_t> expert_out(m_.experts.size());
  for (size_t e = 0; e < m_.experts.size(); ++e)
    expert_out[e] = AddBuffer(BufferType(m_.expert_type), m_.expert_width);

  // One GEMM for every expert's and gate's first layer.
  std::vector<Column> first;
  std::vector<int32_t> gate_first_out;
  for (size_t e = 0; e < m_.experts.size(); ++e) {
    const MlpPlan& mlp = m_.experts[e];
    first.push_back(
        Column{&mlp.layers[0], mlp.layers.size() == 1 ? expert_out[e] : OutputBuffer(mlp.layers[0])});
  }
  for (const GatePlan& gate : m_.gates) {
    first.push_back(Column{&gate.mlp.layers[0], OutputBuffer(gate.mlp.layers[0])});
    gate_first_out.push_back(first.back().buffer);
  }
  AddGemm(p_->input_buffer, first);

  for (size_t e = 0; e < m_.experts.size(); ++e) AddChain(m_.experts[e], 1, first[e].buffer, expert_out[e]);
  std::vector<int32_t> gate_probs;
  for (size_t g = 0; g < m_.gates.size(); ++g) {
    const int32_t logits = AddChain(m_.gates[g].mlp, 1, gate_first_out[g], -1);
    const int32_t n = static_cast<int32_t>(m_.gates[g].experts.size());
    p_->buffers.push_back(BufferDesc{DenseOutput::kReal, n});
    const int32_t probs = static_cast<int32_t>(p_->buffers.size() - 1);
    p_->ops.push_back(Op{Op::kSoftmax, static_cast<int32_t>(g), logits, probs});
    p_->gate_width.push_back(n);
    gate_probs.push_back(probs);
  }
  for (size_t t = 0; t < m_.tasks.size(); ++t) {
    const TaskPlan& task = m_.tasks[t];
    MixPlan mix;
    if (task.gate >= 0) {
      for (int32_t e : m_.gates[task.gate].experts) mix.expert_buffers.push_back(expert_out[e]);
      mix.probs_buffer = gate_probs[task.gate];
    } else {
      mix.expert_buffers.push_back(expert_out[task.expert]);
    }
    mix.zero_points = task.mix_zero_points;
    mix.scales = task.mix_scales;
    mix.n = static_cast<int32_t>(mix.expert_buffers.size());
    mix.width = m_.expert_width;
    mix.out = task.mix;
    const int32_t tower_in = AddBuffer(BufferType(task.mix.type), m_.expert_width);
    p_->mixes.push_back(mix);
    p_->ops.push_back(Op{Op::kMix, static_cast<int32_t>(t), -1, tower_in});
    const int32_t logits = AddChain(task.tower, 0, tower_in, -1);
    p_->ops.push_back(Op{Op::kTaskOutput, static_cast<int32_t>(t), logits, -1});
    p_->task_sigmoid.push_back(task.sigmoid);
  }

  p_->weights8.assign(w8_size_, 0);
  p_->weights16.assign(w16_size_, 0);
  p_->ints.assign(int_size_, 0);
  p_->floats.assign(float_size_, 0.0f);
  for (size_t i = 0; i < p_->gemms.size(); ++i) Pack(p_->gemms[i], pending_[i]);
}

}  // namespace

void BuildProgram(const ModelData& model, WeightLayout int8_layout, Program* program) {
  *program = Program();
  Builder(model, int8_layout, program).Build();
}

}  // namespace mmoe
