// Builds a Program (plan/program.h) from a verified model: the GEMM grouping, the buffers of
// one tile, and the packed weights.
#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

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
  // A region of a buffer: the elements [offset, offset + padded width) of every row.
  struct Place {
    int32_t buffer = -1;
    int32_t offset = 0;
  };
  struct Column {  // one segment of a GEMM: a layer, where it reads and where it writes
    const DenseLayer* layer;
    Place in, out;
  };
  // An MLP run depth by depth: where its current depth reads and where its last layer writes.
  struct Chain {
    const MlpPlan* mlp;
    Place in, last;
  };
  struct Pending {  // packing deferred until all storage sizes are known
    std::vector<Column> columns;
    std::vector<size_t> w_offsets;  // per segment
    size_t int_offset, float_offset;
  };
  // What a shared buffer holds; its regions are appended side by side.
  enum class Role : int32_t { kHidden, kTowerHidden, kExpertOut, kTowerIn, kGateLogits, kTaskLogits };

  // Appends a region of `width` elements (padded to 16: kernels store whole 16-column
  // blocks, and the next layer reads rows padded to a multiple of 4) to the buffer of
  // (role, depth, type), created on first use.
  Place Append(Role role, int32_t depth, DenseOutput type, int32_t width);
  Place AppendOutput(Role role, int32_t depth, const DenseLayer& layer) {
    return Append(role, depth, layer.output == DenseOutput::kReal ? DenseOutput::kReal : layer.output,
                  layer.out);
  }
  // Adds a GEMM whose segments are `columns`, all reading buffer `input`.
  void AddGemm(int32_t input, std::vector<Column> columns);
  // Adds the GEMMs of `chains` depth by depth from `depth` on: at each depth, the layers
  // that read the same buffer form one GEMM. Hidden outputs go to buffers of role `hidden`.
  void AddDepths(std::vector<Chain> chains, int32_t depth, Role hidden);
  void Pack(PackedGemm& g, const Pending& pending);

  const ModelData& m_;
  WeightLayout layout8_;
  Program* p_;
  std::map<std::tuple<Role, int32_t, DenseOutput>, int32_t> shared_;
  std::vector<Pending> pending_;
  size_t w8_size_ = 0, w16_size_ = 0, int_size_ = 0, float_size_ = 0;
};

Builder::Place Builder::Append(Role role, int32_t depth, DenseOutput type, int32_t width) {
  auto [it, created] = shared_.emplace(std::make_tuple(role, depth, type), 0);
  if (created) {
    p_->buffers.push_back(BufferDesc{type, 0});
    it->second = static_cast<int32_t>(p_->buffers.size() - 1);
  }
  BufferDesc& b = p_->buffers[it->second];
  const Place place{it->second, b.stride};
  b.stride += RoundUp(width, kBlockColumns);
  return place;
}

void Builder::AddGemm(int32_t input, std::vector<Column> columns) {
  PackedGemm g;
  g.input = columns.front().layer->input;
  g.layout = g.input == ElementType::kInt16 ? WeightLayout::kInt16x2 : layout8_;
  Pending pend;
  for (const Column& c : columns) {
    Segment s;
    s.begin = g.n_pad;
    s.end = g.n_pad + c.layer->out;
    s.k = c.layer->in;
    s.k_pad = RoundUp(s.k, kPadK);
    s.a_offset = c.in.offset;
    s.buffer = c.out.buffer;
    s.dst_offset = c.out.offset;
    s.layer = c.layer;
    g.segments.push_back(s);
    g.segment_types.push_back(p_->buffers[c.out.buffer].type);
    const int32_t n_pad = RoundUp(c.layer->out, kBlockColumns);
    g.n_pad += n_pad;
    g.macs += static_cast<int64_t>(c.layer->in) * c.layer->out;
    size_t& size = g.layout == WeightLayout::kInt16x2 ? w16_size_ : w8_size_;
    pend.w_offsets.push_back(size);
    size += static_cast<size_t>(n_pad) * s.k_pad;
  }
  pend.columns = std::move(columns);
  pend.int_offset = int_size_;
  int_size_ += 2 * static_cast<size_t>(g.n_pad);  // bias, bias_u8
  pend.float_offset = float_size_;
  float_size_ += static_cast<size_t>(g.n_pad);  // multiplier
  p_->gemms.push_back(std::move(g));
  pending_.push_back(std::move(pend));
  const int32_t index = static_cast<int32_t>(p_->gemms.size() - 1);
  p_->ops.push_back(Op{Op::kGemm, index, input, -1});
}

void Builder::AddDepths(std::vector<Chain> chains, int32_t depth, Role hidden) {
  for (;; ++depth) {
    // Input buffer -> the chains reading it at this depth, in chain order.
    std::vector<std::pair<int32_t, std::vector<Chain*>>> groups;
    for (Chain& c : chains) {
      if (static_cast<size_t>(depth) >= c.mlp->layers.size()) continue;
      auto it =
          std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == c.in.buffer; });
      if (it == groups.end()) it = groups.insert(groups.end(), {c.in.buffer, {}});
      it->second.push_back(&c);
    }
    if (groups.empty()) return;
    for (auto& [input, members] : groups) {
      std::vector<Column> columns;
      for (Chain* c : members) {
        const DenseLayer& layer = c->mlp->layers[depth];
        const bool last = static_cast<size_t>(depth) + 1 == c->mlp->layers.size();
        const Place out = last ? c->last : AppendOutput(hidden, depth, layer);
        columns.push_back(Column{&layer, c->in, out});
        c->in = out;
      }
      AddGemm(input, std::move(columns));
    }
  }
}

void Builder::Pack(PackedGemm& g, const Pending& pend) {
  int32_t* bias = p_->ints.data() + pend.int_offset;
  int32_t* bias_u8 = bias + g.n_pad;
  float* mult = p_->floats.data() + pend.float_offset;
  for (size_t s = 0; s < g.segments.size(); ++s) {
    Segment& seg = g.segments[s];
    const DenseLayer& layer = *pend.columns[s].layer;
    int8_t* w8 = p_->weights8.data() + (g.layout != WeightLayout::kInt16x2 ? pend.w_offsets[s] : 0);
    int16_t* w16 = p_->weights16.data() + (g.layout == WeightLayout::kInt16x2 ? pend.w_offsets[s] : 0);
    for (int32_t c = 0; c < layer.out; ++c) {
      const int32_t col = seg.begin + c;
      const int32_t block = c / kBlockColumns, cc = c % kBlockColumns;
      int64_t wsum = 0;
      for (int32_t k = 0; k < layer.in; ++k) {
        const int8_t w = layer.weights[static_cast<size_t>(c) * layer.in + k];
        wsum += w;
        if (g.layout == WeightLayout::kInt8Rows) {
          w8[static_cast<size_t>(c) * seg.k_pad + k] = w;
        } else if (g.layout == WeightLayout::kInt8x4) {
          w8[((static_cast<size_t>(block) * (seg.k_pad / 4) + k / 4) * kBlockColumns + cc) * 4 + k % 4] = w;
        } else {
          w16[((static_cast<size_t>(block) * (seg.k_pad / 2) + k / 2) * kBlockColumns + cc) * 2 + k % 2] = w;
        }
      }
      bias[col] = layer.bias[c];
      // Exact: the verifier bounds |bias| + in * 127 * 128 below 2^31.
      bias_u8[col] = static_cast<int32_t>(layer.bias[c] - 128 * wsum);
      mult[col] = layer.multipliers[c];
    }
    if (layer.output != DenseOutput::kReal) {
      seg.zero_point = layer.output_zero_point;
      seg.lo = static_cast<float>(layer.output_min - layer.output_zero_point);
      seg.hi = static_cast<float>(layer.output_max - layer.output_zero_point);
    }
    seg.weights =
        g.layout != WeightLayout::kInt16x2 ? static_cast<const void*>(w8) : static_cast<const void*>(w16);
  }
  g.bias = bias;
  g.bias_u8 = bias_u8;
  g.multiplier = mult;
}

void Builder::Build() {
  p_->num_tasks = static_cast<int32_t>(m_.tasks.size());
  p_->input_buffer = static_cast<int32_t>(p_->buffers.size());
  p_->buffers.push_back(BufferDesc{DenseOutput::kInt8, RoundUp(m_.input_dim, kBlockColumns)});
  const Place input{p_->input_buffer, 0};

  // Experts and gates: one GEMM for every first layer, then one per depth and input type.
  // Expert outputs land side by side in one buffer, where the mixtures read them.
  std::vector<Chain> chains;
  std::vector<Place> expert_out;
  for (const MlpPlan& mlp : m_.experts) {
    expert_out.push_back(Append(Role::kExpertOut, 0, BufferType(m_.expert_type), m_.expert_width));
    chains.push_back(Chain{&mlp, input, expert_out.back()});
  }
  std::vector<Place> gate_logits;
  for (const GatePlan& gate : m_.gates) {
    gate_logits.push_back(AppendOutput(Role::kGateLogits, 0, gate.mlp.layers.back()));
    chains.push_back(Chain{&gate.mlp, input, gate_logits.back()});
  }
  AddDepths(std::move(chains), 0, Role::kHidden);

  std::vector<int32_t> gate_probs;
  for (size_t g = 0; g < m_.gates.size(); ++g) {
    const int32_t n = static_cast<int32_t>(m_.gates[g].experts.size());
    p_->buffers.push_back(BufferDesc{DenseOutput::kReal, n});
    const int32_t probs = static_cast<int32_t>(p_->buffers.size() - 1);
    Op op{Op::kSoftmax, static_cast<int32_t>(g), gate_logits[g].buffer, probs};
    op.input_offset = gate_logits[g].offset;
    p_->ops.push_back(op);
    p_->gate_width.push_back(n);
    gate_probs.push_back(probs);
  }

  // Tasks: every mixture, then the towers depth by depth, then every task output.
  std::vector<Chain> towers;
  std::vector<Place> task_logits;
  for (size_t t = 0; t < m_.tasks.size(); ++t) {
    const TaskPlan& task = m_.tasks[t];
    MixPlan mix;
    mix.experts_buffer = expert_out.front().buffer;
    if (task.gate >= 0) {
      for (int32_t e : m_.gates[task.gate].experts) mix.expert_offsets.push_back(expert_out[e].offset);
      mix.probs_buffer = gate_probs[task.gate];
    } else {
      mix.expert_offsets.push_back(expert_out[task.expert].offset);
    }
    mix.zero_points = task.mix_zero_points.data();
    mix.scales = task.mix_scales;
    mix.n = static_cast<int32_t>(mix.expert_offsets.size());
    mix.width = m_.expert_width;
    mix.out = task.mix;
    const Place tower_in = Append(Role::kTowerIn, 0, BufferType(task.mix.type), m_.expert_width);
    p_->mixes.push_back(mix);
    Op op{Op::kMix, static_cast<int32_t>(t), -1, tower_in.buffer};
    op.output_offset = tower_in.offset;
    p_->ops.push_back(op);
    task_logits.push_back(AppendOutput(Role::kTaskLogits, 0, task.tower.layers.back()));
    towers.push_back(Chain{&task.tower, tower_in, task_logits.back()});
    p_->task_sigmoid.push_back(task.sigmoid);
  }
  AddDepths(std::move(towers), 0, Role::kTowerHidden);
  for (size_t t = 0; t < m_.tasks.size(); ++t) {
    Op op{Op::kTaskOutput, static_cast<int32_t>(t), task_logits[t].buffer, -1};
    op.input_offset = task_logits[t].offset;
    p_->ops.push_back(op);
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
