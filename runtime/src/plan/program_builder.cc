// Builds a Program (plan/program.h) from a verified model graph: the chains of dense layers and
// their GEMM grouping, the buffers of one tile, the operations in order, and the packed weights.
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

using graph::Node;
using GOp = graph::Op;
using graph::TensorType;

int32_t RoundUp(int32_t v, int32_t m) { return (v + m - 1) / m * m; }

DenseOutput BufferType(TensorType t) {
  return t == TensorType::kInt16 ? DenseOutput::kInt16
                                 : (t == TensorType::kFloat ? DenseOutput::kReal : DenseOutput::kInt8);
}

class Builder {
 public:
  Builder(const ModelData& model, const PlanCaps& caps, Program* p)
      : m_(model), g_(model.graph), caps_(caps), p_(p), place_(g_.tensors.size()) {}

  void Build();

 private:
  // What a shared buffer holds; its regions are appended side by side. Hidden outputs and
  // chains' last outputs are kept per wave (the chains planned together); every tensor that a
  // mixture reads lives in one buffer per type (the mixture kernels read all of them at one
  // stride), and so do mixtures' outputs.
  enum class Role : int32_t { kHidden, kLast, kMixIn, kMixOut, kOther };
  // One layer of a chain: a dense node, and the activation node that alone reads its output.
  struct Layer {
    const DenseLayer* dense;
    int32_t activation = -1;  // ModelData::activations index, or -1
    int32_t output;           // the tensor the next layer reads (after the activation)
    int32_t dense_output;     // the dense node's own output tensor
  };
  // A run of layers in which each layer's output is read only by the next one. Where its
  // current depth reads and where its last layer writes (last.buffer < 0: a region of role
  // `last_role`, placed when that layer is planned).
  struct Chain {
    std::vector<Layer> layers;
    int32_t input_tensor = -1;  // what the first layer reads
    Place in, last;
    Role last_role = Role::kLast;
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
  struct Pending {  // packing deferred until all storage sizes are known
    std::vector<Column> columns;
    std::vector<size_t> w_offsets;   // per segment
    std::vector<size_t> i8_offsets;  // int16 input: per segment, in weights16_i8
    size_t int_offset, float_offset;
  };

  // The graph's chains, in the order of their first node.
  std::vector<Chain> FindChains(std::vector<uint8_t>* in_chain) const;
  // Appends a region of `width` elements (padded to 16: kernels store whole 16-column
  // blocks, and the next layer reads rows padded to a multiple of 4) to the buffer of
  // (role, wave, depth, type), created on first use.
  Place Append(Role role, int32_t depth, DenseOutput type, int32_t width);
  // Places tensor `t` (computed outside a chain's GEMMs) by what reads it.
  Place PlaceTensor(int32_t t);
  // Adds a GEMM whose segments are `columns`, all reading buffer `input`.
  void AddGemm(int32_t input, std::vector<Column> columns);
  // Adds the GEMMs of `chains` depth by depth: at each depth, the layers that read the same
  // buffer form one GEMM, and the activations of that depth follow it.
  void AddDepths(std::vector<Chain*>& chains);
  // Whether chain c's layer at `depth` can join `run`, the segment being formed (whose first
  // part is chain `first`'s).
  static bool CanJoin(const Column& run, const Chain& first, const Chain& c, int32_t depth);
  // The node's operation, once its inputs are computed.
  void AddNodeOp(const Node& node, size_t index);
  void Pack(PackedGemm& g, const Pending& pending);

  const ModelData& m_;
  const graph::Graph& g_;
  PlanCaps caps_;
  Program* p_;
  std::vector<Place> place_;  // per tensor
  std::vector<std::vector<int32_t>> consumers_;
  std::vector<int32_t> output_of_;
  int32_t wave_ = 0;
  // The buffers of Append: (role, wave, depth, type) -> buffer. A model has a few dozen.
  struct SharedKey {
    Role role;
    int32_t wave, depth;
    DenseOutput type;
    int32_t buffer;
  };
  std::vector<SharedKey> shared_;
  std::vector<Pending> pending_;
  size_t w8_size_ = 0, w16_size_ = 0, w16_i8_size_ = 0, int_size_ = 0, float_size_ = 0;
};

std::vector<Builder::Chain> Builder::FindChains(std::vector<uint8_t>* in_chain) const {
  const auto only_reader = [&](int32_t t, GOp op) -> const Node* {
    if (consumers_[t].size() != 1 || output_of_[t] >= 0) return nullptr;
    const Node& n = g_.nodes[consumers_[t][0]];
    return n.op == op ? &n : nullptr;
  };
  std::vector<Chain> chains;
  std::vector<uint8_t> continued(g_.nodes.size(), 0);  // dense nodes that continue a chain
  in_chain->assign(g_.nodes.size(), 0);
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    if (g_.nodes[i].op != GOp::kDense || continued[i]) continue;
    Chain chain;
    chain.input_tensor = g_.nodes[i].inputs[0];
    for (const Node* n = &g_.nodes[i]; n;) {
      (*in_chain)[n - g_.nodes.data()] = 1;
      Layer layer{&m_.dense[n->param], -1, n->output, n->output};
      // The activation fuses when its input is not a score (float) and it alone reads it.
      if (const Node* act = only_reader(n->output, GOp::kActivation)) {
        layer.activation = act->param;
        layer.output = act->output;
        (*in_chain)[act - g_.nodes.data()] = 1;
      }
      chain.layers.push_back(layer);
      n = only_reader(layer.output, GOp::kDense);
      if (n) continued[n - g_.nodes.data()] = 1;
    }
    chains.push_back(std::move(chain));
  }
  return chains;
}

Place Builder::Append(Role role, int32_t depth, DenseOutput type, int32_t width) {
  const int32_t wave = role == Role::kHidden || role == Role::kLast ? wave_ : 0;
  int32_t buffer = -1;
  for (const SharedKey& k : shared_) {
    if (k.role == role && k.wave == wave && k.depth == depth && k.type == type) buffer = k.buffer;
  }
  if (buffer < 0) {
    p_->buffers.push_back(BufferDesc{type, 0});
    buffer = static_cast<int32_t>(p_->buffers.size() - 1);
    shared_.push_back(SharedKey{role, wave, depth, type, buffer});
  }
  BufferDesc& b = p_->buffers[buffer];
  const Place place{buffer, b.stride};
  b.stride += RoundUp(width, kBlockColumns);
  return place;
}

Place Builder::PlaceTensor(int32_t t) {
  const graph::Tensor& tensor = g_.tensors[t];
  bool mixed = false;
  for (int32_t c : consumers_[t]) mixed = mixed || g_.nodes[c].op == GOp::kMixture;
  const Role role = mixed ? Role::kMixIn : Role::kOther;
  place_[t] = Append(role, 0, BufferType(tensor.type), tensor.width);
  return place_[t];
}

void Builder::AddGemm(int32_t input, std::vector<Column> columns) {
  PackedGemm g;
  g.input = columns.front().parts.front().layer->input;
  g.layout = g.input == ElementType::kInt16 ? caps_.int16_layout : caps_.int8_layout;
  Pending pend;
  std::vector<SegmentTarget> targets;
  for (const Column& c : columns) {
    Segment s;
    s.begin = g.n_pad;
    s.end = g.n_pad + c.width;
    s.k = c.k;
    s.k_pad = RoundUp(s.k, kPadK);
    s.a_offset = c.in.offset;
    g.segments.push_back(s);
    g.segment_types.push_back(p_->buffers[c.out.buffer].type);
    targets.push_back(SegmentTarget{c.out, c.parts.size() == 1 ? c.parts.front().layer : nullptr});
    const int32_t n_pad = RoundUp(c.width, kBlockColumns);
    g.n_pad += n_pad;
    for (const Part& part : c.parts) g.macs += static_cast<int64_t>(part.layer->in) * part.layer->out;
    size_t& size = Int16Weights(g.layout) ? w16_size_ : w8_size_;
    pend.w_offsets.push_back(size);
    if (Int16Weights(g.layout) && caps_.int8_copy) {
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
  p_->targets.push_back(std::move(targets));
  pending_.push_back(std::move(pend));
  Op op{Op::kGemm};
  op.index = static_cast<int32_t>(p_->gemms.size() - 1);
  op.in = Place{input, 0};
  p_->ops.push_back(op);
}

// Layers with the same output type and requantization share a segment when that saves work:
// - layers that read the same slice (the gates' first layers) sit side by side as one wider
//   GEMM, whose tiles load each input group once for all of them;
// - narrow layers that read adjacent slices (the gates' and towers' later layers, 1 to 16
//   outputs each) share one 16-column block, their weights on its diagonal (zeros elsewhere).
//   A block's cost is mostly fixed (its per-column constants, requantizing 16 accumulators),
//   and the zeros cost no more multiply-accumulates than the empty columns they replace.
// int8 -> int8 layers stay one per segment: the XNNPACK backend runs those (SegmentTarget::layer).
bool Builder::CanJoin(const Column& run, const Chain& first, const Chain& c, int32_t depth) {
  const DenseLayer& a = *run.parts.front().layer;
  const DenseLayer& b = *c.layers[depth].dense;
  const auto int8_to_int8 = [](const DenseLayer& l) {
    return l.input == ElementType::kInt8 && l.output == DenseOutput::kInt8;
  };
  if (int8_to_int8(a) || int8_to_int8(b) || a.output != b.output) return false;
  if (a.output != DenseOutput::kReal && (a.output_zero_point != b.output_zero_point ||
                                         a.output_min != b.output_min || a.output_max != b.output_max)) {
    return false;
  }
  // Both write hidden buffers, or both are last layers placed here in the same role.
  const auto last = [depth](const Chain& ch) { return static_cast<size_t>(depth) + 1 == ch.layers.size(); };
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

void Builder::AddDepths(std::vector<Chain*>& chains) {
  for (int32_t depth = 0;; ++depth) {
    // Input buffer -> the chains reading it at this depth, in chain order.
    std::vector<std::pair<int32_t, std::vector<Chain*>>> groups;
    for (Chain* c : chains) {
      if (static_cast<size_t>(depth) >= c->layers.size()) continue;
      auto it =
          std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == c->in.buffer; });
      if (it == groups.end()) it = groups.insert(groups.end(), {c->in.buffer, {}});
      it->second.push_back(c);
    }
    if (groups.empty()) return;
    for (auto& [input, members] : groups) {
      std::vector<Column> columns;
      std::vector<std::vector<Chain*>> owners;  // per segment, the chain of each part
      for (Chain* c : members) {
        const DenseLayer& layer = *c->layers[depth].dense;
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
      std::vector<Op> activations;
      for (size_t i = 0; i < columns.size(); ++i) {
        Column& col = columns[i];
        const Chain& first = *owners[i].front();
        const DenseOutput type = col.parts.front().layer->output;
        const bool last = static_cast<size_t>(depth) + 1 == first.layers.size();
        if (!last) {
          col.out = Append(Role::kHidden, depth, type, col.width);
        } else if (first.last.buffer < 0) {
          col.out = Append(first.last_role, 0, type, col.width);
        } else {
          col.out = first.last;  // placed in advance: CanJoin kept it alone
        }
        for (size_t j = 0; j < owners[i].size(); ++j) {
          Chain& c = *owners[i][j];
          const Layer& layer = c.layers[depth];
          c.in = Place{col.out.buffer, col.out.offset + col.parts[j].column};
          place_[layer.dense_output] = place_[layer.output] = c.in;
          if (layer.activation >= 0) {  // in place, after the GEMM
            Op op{Op::kActivation};
            op.index = layer.activation;
            op.in = op.out = c.in;
            op.width = layer.dense->out;
            activations.push_back(op);
          }
          if (last) c.last = c.in;
        }
      }
      AddGemm(input, std::move(columns));
      p_->ops.insert(p_->ops.end(), activations.begin(), activations.end());
    }
  }
}

void Builder::AddNodeOp(const Node& n, size_t index) {
  const graph::Tensor& y = g_.tensors[n.output];
  // A score written straight into the caller's scores when it is a task's.
  const bool to_scores = output_of_[n.output] >= 0 && (n.op == GOp::kSigmoid || n.op == GOp::kProduct);
  Op op{Op::kScore};
  op.width = y.width;
  switch (n.op) {
    case GOp::kDense:
      return;  // in a chain
    case GOp::kActivation:
    case GOp::kEmbedding:  // one input, its output placed like any tensor's
      op.kind = n.op == GOp::kActivation ? Op::kActivation : Op::kEmbedding;
      op.index = n.param;
      op.in = place_[n.inputs[0]];
      op.out = PlaceTensor(n.output);
      p_->ops.push_back(op);
      return;
    case GOp::kSoftmax: {
      p_->buffers.push_back(BufferDesc{DenseOutput::kReal, y.width});
      place_[n.output] = Place{static_cast<int32_t>(p_->buffers.size() - 1), 0};
      op.kind = Op::kSoftmax;
      op.in = place_[n.inputs[0]];
      op.out = place_[n.output];
      p_->ops.push_back(op);
      return;
    }
    case GOp::kMixture: {
      const MixtureParams& params = m_.mixtures[index];
      MixPlan mix;
      mix.experts_buffer = place_[n.experts()[0]].buffer;
      for (int32_t j = 0; j < n.num_experts(); ++j)
        mix.expert_offsets.push_back(place_[n.experts()[j]].offset);
      mix.probs_buffer = n.gated ? place_[n.inputs[0]].buffer : -1;
      mix.zero_points = params.zero_points.data();
      mix.scales = params.scales;
      mix.experts_int16 = params.experts_int16;
      mix.n = n.num_experts();
      mix.width = y.width;
      mix.out = params.out;
      p_->mixes.push_back(mix);
      bool mixed = false;
      for (int32_t c : consumers_[n.output]) mixed = mixed || g_.nodes[c].op == GOp::kMixture;
      place_[n.output] = Append(mixed ? Role::kMixIn : Role::kMixOut, 0, BufferType(y.type), y.width);
      op.kind = Op::kMix;
      op.index = static_cast<int32_t>(p_->mixes.size() - 1);
      op.out = place_[n.output];
      p_->ops.push_back(op);
      return;
    }
    case GOp::kConcat: {
      ConcatPlan plan;
      plan.params = n.param;
      for (int32_t t : n.inputs) {
        plan.inputs.push_back(place_[t]);
        plan.widths.push_back(g_.tensors[t].width);
      }
      p_->concats.push_back(std::move(plan));
      op.kind = Op::kConcat;
      op.index = static_cast<int32_t>(p_->concats.size() - 1);
      op.out = PlaceTensor(n.output);
      p_->ops.push_back(op);
      return;
    }
    case GOp::kSigmoid:
    case GOp::kProduct:
      place_[n.output] = to_scores ? Place{kScoresBuffer, output_of_[n.output]} : PlaceTensor(n.output);
      op.out = place_[n.output];
      if (n.op == GOp::kSigmoid) {
        op.index = 1;
        op.in = place_[n.inputs[0]];
        p_->ops.push_back(op);
        return;
      }
      // ((a * b) * c) ...: the first product into the output, the next ones in place.
      op.kind = Op::kProduct;
      op.in = place_[n.inputs[0]];
      for (size_t j = 1; j < n.inputs.size(); ++j) {
        op.in2 = place_[n.inputs[j]];
        p_->ops.push_back(op);
        op.in = op.out;
      }
      return;
  }
}

void Builder::Pack(PackedGemm& g, const Pending& pend) {
  int32_t* bias = p_->ints.data() + pend.int_offset;
  int32_t* bias_u8 = bias + g.n_pad;
  float* mult = p_->floats.data() + pend.float_offset;
  for (size_t s = 0; s < g.segments.size(); ++s) {
    Segment& seg = g.segments[s];
    int8_t* w8 = p_->weights8.data() + (!Int16Weights(g.layout) ? pend.w_offsets[s] : 0);
    int16_t* w16 = p_->weights16.data() + (Int16Weights(g.layout) ? pend.w_offsets[s] : 0);
    // The int8 copy where AddGemm placed one (int16 weights, and one-row kernels to read it):
    // int16 input in the GEMM's order, int8 input in kInt8x4 order (Segment::weights_i8).
    int8_t* w16_i8 = pend.i8_offsets.empty() ? nullptr : p_->weights16_i8.data() + pend.i8_offsets[s];
    const WeightLayout copy_layout = g.input == ElementType::kInt16 ? g.layout : WeightLayout::kInt8x4;
    // Weights, bias and multiplier of each part on the diagonal; the rest stays zero.
    // The largest |input| any kernel multiplies: int16, or int8 shifted to uint8 (vpdpbusd).
    const double max_input = g.input == ElementType::kInt16 ? 32768.0 : 255.0;
    seg.small_products = true;
    for (const Part& part : pend.columns[s].parts) {
      const DenseLayer& layer = *part.layer;
      for (int32_t c = 0; c < layer.out; ++c) {
        const int32_t sc = part.column + c;  // column in the segment
        const int32_t col = seg.begin + sc;
        int64_t wsum = 0, wabs = 0;
        for (int32_t i = 0; i < layer.in; ++i) {
          const int8_t w = layer.weights[static_cast<size_t>(c) * layer.in + i];
          const size_t at = PackedWeightIndex(g.layout, seg.k_pad, sc, part.k_offset + i);
          wsum += w;
          wabs += w < 0 ? -w : w;
          if (Int16Weights(g.layout)) {
            w16[at] = w;
            if (w16_i8) w16_i8[PackedWeightIndex(copy_layout, seg.k_pad, sc, part.k_offset + i)] = w;
          } else {
            w8[at] = w;
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
    seg.weights = !Int16Weights(g.layout) ? static_cast<const void*>(w8) : static_cast<const void*>(w16);
    seg.weights_i8 = w16_i8;
  }
  g.bias = bias;
  g.bias_u8 = bias_u8;
  g.multiplier = mult;
}

void Builder::Build() {
  consumers_ = graph::Consumers(g_);
  output_of_ = graph::OutputOf(g_);
  p_->num_tasks = m_.num_tasks();
  if (m_.quantized_input || m_.input16) {
    p_->input_buffer = static_cast<int32_t>(p_->buffers.size());
    p_->buffers.push_back(BufferDesc{m_.input16 ? DenseOutput::kInt16 : DenseOutput::kInt8,
                                     RoundUp(m_.input_dim, kBlockColumns)});
    place_[m_.input_tensor] = Place{p_->input_buffer, 0};
  } else {
    // Float features and ids are read where the caller holds them.
    for (size_t i = 0; i < g_.inputs.size(); ++i)
      place_[g_.inputs[i].tensor] = Place{kInputs, static_cast<int32_t>(i)};
  }

  std::vector<uint8_t> in_chain;
  std::vector<Chain> chains = FindChains(&in_chain);
  std::vector<uint8_t> planned(chains.size(), 0), done(g_.nodes.size(), 0), copied(g_.outputs.size(), 0);
  const auto ready = [&](int32_t t) { return place_[t].buffer != -2; };
  const auto mixed = [&](int32_t t) {
    for (int32_t c : consumers_[t])
      if (g_.nodes[c].op == GOp::kMixture) return true;
    return false;
  };
  for (bool progress = true; progress;) {
    progress = false;
    // A wave: every chain whose input is computed, planned together.
    std::vector<Chain*> wave;
    for (size_t c = 0; c < chains.size(); ++c) {
      if (!planned[c] && ready(chains[c].input_tensor)) {
        planned[c] = 1;
        wave.push_back(&chains[c]);
      }
    }
    if (!wave.empty()) {
      progress = true;
      // Outputs that mixtures read go to the mixtures' buffer now, side by side in chain
      // order (so that CanJoin keeps each alone); the others where their layers are planned.
      for (Chain* c : wave) {
        c->in = place_[c->input_tensor];
        const graph::Tensor& t = g_.tensors[c->layers.back().output];
        c->last = Place{};
        c->last_role = Role::kLast;
        if (mixed(c->layers.back().output)) {
          c->last = Append(Role::kMixIn, 0, BufferType(t.type), t.width);
          c->last_role = Role::kMixIn;
        }
      }
      AddDepths(wave);
      ++wave_;
    }
    // Then every other node whose inputs are computed, in graph order.
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      if (done[i] || in_chain[i]) continue;
      const Node& n = g_.nodes[i];
      if (!std::all_of(n.inputs.begin(), n.inputs.end(), ready)) continue;
      AddNodeOp(n, i);
      done[i] = 1;
      progress = true;
    }
    // Task scores computed elsewhere than in the caller's scores are copied there.
    for (size_t o = 0; o < g_.outputs.size(); ++o) {
      const int32_t t = g_.outputs[o].tensor;
      if (copied[o] || !ready(t)) continue;
      copied[o] = 1;
      if (place_[t].buffer == kScoresBuffer) continue;
      Op op{Op::kScore};
      op.index = 0;
      op.in = place_[t];
      op.out = Place{kScoresBuffer, static_cast<int32_t>(o)};
      op.width = 1;
      p_->ops.push_back(op);
    }
  }

  p_->weights8.assign(w8_size_, 0);
  p_->weights16.assign(w16_size_, 0);
  p_->weights16_i8.assign(w16_i8_size_, 0);
  p_->ints.assign(int_size_, 0);
  p_->floats.assign(float_size_, 0.0f);
  for (size_t i = 0; i < p_->gemms.size(); ++i) Pack(p_->gemms[i], pending_[i]);
}

}  // namespace

PlanCaps PlanCapsOf(const GemmKernels& kernels) {
  PlanCaps caps;
  caps.int8_layout = kernels.int8_layout;
  caps.int16_layout = kernels.int16_layout;
  caps.int8_copy = kernels.gemv != nullptr;
  return caps;
}

void BuildProgram(const ModelData& model, const PlanCaps& caps, Program* program) {
  *program = Program();
  Builder(model, caps, program).Build();
}

}  // namespace mmoe
