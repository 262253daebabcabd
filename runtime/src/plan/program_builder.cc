// Builds a Program (plan/program.h) from a verified model: the GEMM grouping, the buffers of
// one tile, and the packed weights.
#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>
#include <utility>

#include "kernels/gemm.h"
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
  // What a shared buffer holds; its regions are appended side by side.
  enum class Role : int32_t { kHidden, kTowerHidden, kExpertOut, kTowerIn, kGateLogits, kTaskLogits };
  // A region of a buffer: the elements [offset, offset + padded width) of every row.
  struct Place {
    int32_t buffer = -1;
    int32_t offset = 0;
  };
  // One segment of a GEMM: one layer, or several that share it (see CanJoin), each with its
  // own input slice and output columns. Where it reads and where it writes.
  struct Part {
    const DenseLayer* layer;
    int32_t k_offset;  // the layer's first input in the segment's input slice
    int32_t column;    // the layer's first output column in the segment
  };
  struct Column {
    std::vector<Part> parts;
    int32_t k = 0, width = 0;  // the segment's inputs and real output columns
    Place in, out;
  };
  // An MLP run depth by depth: where its current depth reads and where its last layer writes
  // (last.buffer < 0: a region of buffer role `last_role`, placed when that layer is planned).
  struct Chain {
    const MlpPlan* mlp;
    Place in, last;
    Role last_role = Role::kHidden;
  };
  struct Pending {  // packing deferred until all storage sizes are known
    std::vector<Column> columns;
    std::vector<size_t> w_offsets;   // per segment
    std::vector<size_t> i8_offsets;  // int16 input: per segment, in weights16_i8
    size_t int_offset, float_offset;
  };

  // Appends a region of `width` elements (padded to 16: kernels store whole 16-column
  // blocks, and the next layer reads rows padded to a multiple of 4) to the buffer of
  // (role, depth, type), created on first use.
  Place Append(Role role, int32_t depth, DenseOutput type, int32_t width);
  // Adds a GEMM whose segments are `columns`, all reading buffer `input`.
  void AddGemm(int32_t input, std::vector<Column> columns);
  // Adds the GEMMs of `chains` depth by depth: at each depth, the layers that read the same
  // buffer form one GEMM. Hidden outputs go to buffers of role `hidden`.
  void AddDepths(std::vector<Chain>& chains, Role hidden);
  // Whether chain c's layer at `depth` can join `run`, the segment being formed (whose first
  // part is chain `first`'s).
  static bool CanJoin(const Column& run, const Chain& first, const Chain& c, int32_t depth);
  void Pack(PackedGemm& g, const Pending& pending);

  const ModelData& m_;
  WeightLayout layout8_;
  Program* p_;
  std::map<std::tuple<Role, int32_t, DenseOutput>, int32_t> shared_;
  std::vector<Pending> pending_;
  size_t w8_size_ = 0, w16_size_ = 0, w16_i8_size_ = 0, int_size_ = 0, float_size_ = 0;
  // int16-input GEMMs get an int8 copy of their weights (Segment::weights_i8) only where a
  // one-row kernel reads it.
  const bool int8_copy_ = AnyOneRowKernels();
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
  g.input = columns.front().parts.front().layer->input;
  g.layout = g.input == ElementType::kInt16 ? WeightLayout::kInt16x2 : layout8_;
  Pending pend;
  for (const Column& c : columns) {
    Segment s;
    s.begin = g.n_pad;
    s.end = g.n_pad + c.width;
    s.k = c.k;
    s.k_pad = RoundUp(s.k, kPadK);
    s.a_offset = c.in.offset;
    s.buffer = c.out.buffer;
    s.dst_offset = c.out.offset;
    s.layer = c.parts.size() == 1 ? c.parts.front().layer : nullptr;
    g.segments.push_back(s);
    g.segment_types.push_back(p_->buffers[c.out.buffer].type);
    const int32_t n_pad = RoundUp(c.width, kBlockColumns);
    g.n_pad += n_pad;
    for (const Part& part : c.parts) g.macs += static_cast<int64_t>(part.layer->in) * part.layer->out;
    size_t& size = g.layout == WeightLayout::kInt16x2 ? w16_size_ : w8_size_;
    pend.w_offsets.push_back(size);
    if (g.input == ElementType::kInt16 && int8_copy_) {
      pend.i8_offsets.push_back(w16_i8_size_);
      w16_i8_size_ += static_cast<size_t>(n_pad) * s.k_pad;
    }
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

// Layers with the same output type and requantization share a segment when that saves work:
// - layers that read the same slice (the gates' first layers) sit side by side as one wider
//   GEMM, whose tiles load each input group once for all of them;
// - narrow layers that read adjacent slices (the gates' and towers' later layers, 1 to 16
//   outputs each) share one 16-column block, their weights on its diagonal (zeros elsewhere).
//   A block's cost is mostly fixed (its per-column constants, requantizing 16 accumulators),
//   and the zeros cost no more multiply-accumulates than the empty columns they replace.
// int8 -> int8 layers stay one per segment: the XNNPACK backend runs those (Segment::layer).
bool Builder::CanJoin(const Column& run, const Chain& first, const Chain& c, int32_t depth) {
  const DenseLayer& a = *run.parts.front().layer;
  const DenseLayer& b = c.mlp->layers[depth];
  const auto int8_to_int8 = [](const DenseLayer& l) {
    return l.input == ElementType::kInt8 && l.output == DenseOutput::kInt8;
  };
  if (int8_to_int8(a) || int8_to_int8(b) || a.output != b.output) return false;
  if (a.output != DenseOutput::kReal && (a.output_zero_point != b.output_zero_point ||
                                         a.output_min != b.output_min || a.output_max != b.output_max)) {
    return false;
  }
  // Both write hidden buffers, or both are last layers placed here in the same role.
  const auto last = [depth](const Chain& ch) {
    return static_cast<size_t>(depth) + 1 == ch.mlp->layers.size();
  };
  if (last(first) != last(c)) return false;
  if (last(c) && (first.last.buffer >= 0 || c.last.buffer >= 0 || first.last_role != c.last_role))
    return false;
  const Part& prev = run.parts.back();
  if (prev.k_offset == 0 && c.in.offset == run.in.offset && b.in == run.k) return true;  // same inputs
  // Inputs adjacent up to the 16-element padding of a region; the block has room for b.
  if (a.out > kBlockColumns || b.out > kBlockColumns) return false;
  const int32_t prev_end = run.in.offset + prev.k_offset + prev.layer->in;
  return c.in.offset >= prev_end && c.in.offset <= RoundUp(prev_end, kBlockColumns) &&
         RoundUp(run.width, kPadK) + b.out <= kBlockColumns;
}

void Builder::AddDepths(std::vector<Chain>& chains, Role hidden) {
  for (int32_t depth = 0;; ++depth) {
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
      std::vector<std::vector<Chain*>> owners;  // per segment, the chain of each part
      for (Chain* c : members) {
        const DenseLayer& layer = c->mlp->layers[depth];
        if (columns.empty() || !CanJoin(columns.back(), *owners.back().front(), *c, depth)) {
          columns.push_back(Column{});
          columns.back().in = c->in;
          owners.emplace_back();
        }
        Column& col = columns.back();
        // Parts start at multiples of 4 columns: the next layer reads 4-element groups.
        const int32_t column = col.parts.empty() ? 0 : RoundUp(col.width, kPadK);
        col.parts.push_back(Part{&layer, c->in.offset - col.in.offset, column});
        col.k = std::max(col.k, c->in.offset - col.in.offset + layer.in);
        col.width = column + layer.out;
        owners.back().push_back(c);
      }
      // Place each segment's output; its chains go on to read their parts of it.
      for (size_t i = 0; i < columns.size(); ++i) {
        Column& col = columns[i];
        const Chain& first = *owners[i].front();
        const DenseOutput type = col.parts.front().layer->output;
        const bool last = static_cast<size_t>(depth) + 1 == first.mlp->layers.size();
        if (!last) {
          col.out = Append(hidden, depth, type, col.width);
        } else if (first.last.buffer < 0) {
          col.out = Append(first.last_role, 0, type, col.width);
        } else {
          col.out = first.last;  // placed in advance: CanJoin kept it alone
        }
        for (size_t j = 0; j < owners[i].size(); ++j) {
          Chain& c = *owners[i][j];
          c.in = Place{col.out.buffer, col.out.offset + col.parts[j].column};
          if (last) c.last = c.in;
        }
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
    int8_t* w8 = p_->weights8.data() + (g.layout != WeightLayout::kInt16x2 ? pend.w_offsets[s] : 0);
    int16_t* w16 = p_->weights16.data() + (g.layout == WeightLayout::kInt16x2 ? pend.w_offsets[s] : 0);
    // The int8 copy where AddGemm placed one (int16 input, and a one-row kernel to read it).
    int8_t* w16_i8 = pend.i8_offsets.empty() ? nullptr : p_->weights16_i8.data() + pend.i8_offsets[s];
    // Weights, bias and multiplier of each part on the diagonal; the rest stays zero.
    // The largest |input| any kernel multiplies: int16, or int8 shifted to uint8 (vpdpbusd).
    const double max_input = g.input == ElementType::kInt16 ? 32768.0 : 255.0;
    seg.small_products = true;
    for (const Part& part : pend.columns[s].parts) {
      const DenseLayer& layer = *part.layer;
      for (int32_t c = 0; c < layer.out; ++c) {
        const int32_t sc = part.column + c;  // column in the segment
        const int32_t col = seg.begin + sc;
        const int32_t block = sc / kBlockColumns, cc = sc % kBlockColumns;
        int64_t wsum = 0, wabs = 0;
        for (int32_t i = 0; i < layer.in; ++i) {
          const int8_t w = layer.weights[static_cast<size_t>(c) * layer.in + i];
          const int32_t k = part.k_offset + i;
          wsum += w;
          wabs += w < 0 ? -w : w;
          if (g.layout == WeightLayout::kInt8Rows) {
            w8[static_cast<size_t>(sc) * seg.k_pad + k] = w;
          } else if (g.layout == WeightLayout::kInt8x4) {
            w8[((static_cast<size_t>(block) * (seg.k_pad / 4) + k / 4) * kBlockColumns + cc) * 4 + k % 4] = w;
          } else {
            const size_t at =
                ((static_cast<size_t>(block) * (seg.k_pad / 2) + k / 2) * kBlockColumns + cc) * 2 + k % 2;
            w16[at] = w;
            if (w16_i8) w16_i8[at] = w;
          }
        }
        bias[col] = layer.bias[c];
        // Exact: the verifier bounds |bias| + in * 127 * 128 below 2^31.
        bias_u8[col] = static_cast<int32_t>(layer.bias[c] - 128 * wsum);
        mult[col] = layer.multipliers[c];
        const double bias_abs = std::max(std::fabs(double(bias[col])), std::fabs(double(bias_u8[col])));
        const double bound =
            (bias_abs + max_input * static_cast<double>(wabs)) * std::fabs(double(mult[col]));
        seg.small_products = seg.small_products && bound < 1073741824.0;  // 2^30 (false for NaN)
      }
    }
    const DenseLayer& layer = *pend.columns[s].parts.front().layer;  // requantization shared by the parts
    if (layer.output != DenseOutput::kReal) {
      seg.zero_point = layer.output_zero_point;
      seg.lo = static_cast<float>(layer.output_min - layer.output_zero_point);
      seg.hi = static_cast<float>(layer.output_max - layer.output_zero_point);
    }
    seg.weights =
        g.layout != WeightLayout::kInt16x2 ? static_cast<const void*>(w8) : static_cast<const void*>(w16);
    seg.weights_i8 = w16_i8;
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
  for (const GatePlan& gate : m_.gates) chains.push_back(Chain{&gate.mlp, input, Place{}, Role::kGateLogits});
  AddDepths(chains, Role::kHidden);
  std::vector<Place> gate_logits;
  for (size_t g = 0; g < m_.gates.size(); ++g) gate_logits.push_back(chains[m_.experts.size() + g].last);

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
    towers.push_back(Chain{&task.tower, tower_in, Place{}, Role::kTaskLogits});
    p_->task_sigmoid.push_back(task.sigmoid);
  }
  AddDepths(towers, Role::kTowerHidden);
  for (const Chain& tower : towers) task_logits.push_back(tower.last);
  for (size_t t = 0; t < m_.tasks.size(); ++t) {
    Op op{Op::kTaskOutput, static_cast<int32_t>(t), task_logits[t].buffer, -1};
    op.input_offset = task_logits[t].offset;
    p_->ops.push_back(op);
  }

  p_->weights8.assign(w8_size_, 0);
  p_->weights16.assign(w16_size_, 0);
  p_->weights16_i8.assign(w16_i8_size_, 0);
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
