// The reference executor: every layer through the reference kernels, one after the other,
// exactly as the model file lists them. The specification the fused backends are tested
// against.
#include <vector>

#include "kernels/gemm.h"
#include "model_data.h"
#include "plan/executor.h"

namespace mmoe {
namespace {

// Bump allocator over sizes, used twice: once to measure, once to place.
class ArenaPlanner {
 public:
  explicit ArenaPlanner(uint8_t* base) : base_(base) {}
  // `bytes` is computed in 64 bits from verified widths and the bounded tile, so it is exact.
  uint8_t* Take(uint64_t bytes) {
    uint8_t* p = base_ ? base_ + used_ : nullptr;
    fits_ = fits_ && AddArenaBytes(bytes, &used_);
    return p;
  }
  size_t used() const { return used_; }
  bool fits() const { return fits_; }

 private:
  uint8_t* base_;
  size_t used_ = 0;
  bool fits_ = true;
};

class ReferenceExecutor final : public Executor {
 public:
  ReferenceExecutor(const ModelData& model, size_t tile)
      : m_(model), kernels_(ReferenceKernels()), rows_(GenericRowKernels()), tile_(tile) {}

  Status Init() {
    size_t bytes = 0;
    if (!Layout(nullptr, &bytes)) {
      return Status::Error(StatusCode::kOutOfMemory,
                           "the arena for a %zu-item tile of this model exceeds the address space", tile_);
    }
    if (!arena_.Allocate(bytes)) {
      return Status::Error(StatusCode::kOutOfMemory, "cannot allocate a %zu-byte arena", bytes);
    }
    Layout(arena_.data(), &bytes);
    return Status::Ok();
  }
  void ScoreTile(const float* features, const int8_t* quantized, size_t batch, float* scores) override;
  size_t arena_bytes() const override { return arena_.size(); }
  const char* isa() const override { return kernels_.name; }

 private:
  // Places every buffer at `base` (nullptr: only measures) and returns the bytes needed.
  // int16 is the widest element type, so buffers of either type are sized for it.
  // Places the buffers at `base` (nullptr: only measures) and sets *bytes to the arena size;
  // false when that size does not fit a size_t.
  bool Layout(uint8_t* base, size_t* bytes);
  // Hidden layers alternate between ping and pong; the last layer writes `out`.
  void RunMlp(const MlpPlan& mlp, size_t batch, const void* x, void* out) const;

  const ModelData& m_;
  const KernelTable& kernels_;  // dense layers
  const RowKernels& rows_;      // quantization, softmax, mixture, task outputs
  size_t tile_;
  Arena arena_;
  int8_t* input_q_ = nullptr;      // [tile][input_dim]
  std::vector<void*> expert_out_;  // per expert: [tile][expert_width]
  void* ping_ = nullptr;           // [tile][max width]
  void* pong_ = nullptr;
  float* logits_ = nullptr;                           // [tile][max(gate experts, 1)]
  std::vector<float*> gate_probs_;                    // per gate: [tile][its experts]
  void* tower_in_ = nullptr;                          // [tile][expert_width]
  std::vector<std::vector<const void*>> mix_inputs_;  // per task: expert outputs it mixes
};

bool ReferenceExecutor::Layout(uint8_t* base, size_t* bytes) {
  const ModelData& m = m_;
  const uint64_t tile = tile_;
  ArenaPlanner a(base);
  input_q_ = reinterpret_cast<int8_t*>(a.Take(tile * static_cast<uint64_t>(m.input_dim)));
  expert_out_.assign(m.experts.size(), nullptr);
  for (auto& e : expert_out_) e = a.Take(tile * static_cast<uint64_t>(m.expert_width) * sizeof(int16_t));
  ping_ = a.Take(tile * static_cast<uint64_t>(m.max_layer_width) * sizeof(int16_t));
  pong_ = a.Take(tile * static_cast<uint64_t>(m.max_layer_width) * sizeof(int16_t));
  const uint64_t max_logits = m.max_gate_experts > 1 ? static_cast<uint64_t>(m.max_gate_experts) : 1;
  logits_ = reinterpret_cast<float*>(a.Take(tile * max_logits * sizeof(float)));
  gate_probs_.assign(m.gates.size(), nullptr);
  for (size_t g = 0; g < m.gates.size(); ++g) {
    gate_probs_[g] = reinterpret_cast<float*>(a.Take(tile * m.gates[g].experts.size() * sizeof(float)));
  }
  tower_in_ = a.Take(tile * static_cast<uint64_t>(m.expert_width) * sizeof(int16_t));
  mix_inputs_.assign(m.tasks.size(), {});
  for (size_t t = 0; t < m.tasks.size(); ++t) {
    const TaskPlan& task = m.tasks[t];
    if (task.gate < 0) {
      mix_inputs_[t].push_back(expert_out_[task.expert]);
    } else {
      for (int32_t e : m.gates[task.gate].experts) mix_inputs_[t].push_back(expert_out_[e]);
    }
  }
  *bytes = a.used();
  return a.fits();
}

void ReferenceExecutor::RunMlp(const MlpPlan& mlp, size_t batch, const void* x, void* out) const {
  const void* cur = x;
  const size_t n = mlp.layers.size();
  for (size_t i = 0; i < n; ++i) {
    const DenseLayer& layer = mlp.layers[i];
    void* dst = i + 1 == n ? out : (i % 2 == 0 ? ping_ : pong_);
    kernels_.dense[static_cast<int>(layer.input)][static_cast<int>(layer.output)](layer, batch, cur, dst);
    cur = dst;
  }
}

void ReferenceExecutor::ScoreTile(const float* features, const int8_t* quantized, size_t batch,
                                  float* scores) {
  const ModelData& m = m_;
  const int8_t* xq = quantized;
  if (!xq) {
    rows_.quantize(features, batch * m.input_dim, m.input_inv_scale, m.input_zero_point, input_q_);
    xq = input_q_;
  }
  for (size_t e = 0; e < m.experts.size(); ++e) RunMlp(m.experts[e], batch, xq, expert_out_[e]);
  for (size_t g = 0; g < m.gates.size(); ++g) {
    RunMlp(m.gates[g].mlp, batch, xq, logits_);
    const int32_t n = static_cast<int32_t>(m.gates[g].experts.size());
    rows_.softmax(logits_, static_cast<size_t>(n), batch, n, gate_probs_[g]);
  }
  const size_t n_tasks = m.tasks.size();
  for (size_t t = 0; t < n_tasks; ++t) {
    const TaskPlan& task = m.tasks[t];
    const std::vector<const void*>& inputs = mix_inputs_[t];
    MixArgs mix;
    mix.experts = inputs.data();
    mix.experts_int16 = m.expert_type == ElementType::kInt16;
    mix.in_stride = static_cast<size_t>(m.expert_width);
    mix.zero_points = task.mix_zero_points.data();
    mix.scales = task.mix_scales;
    mix.probs = task.gate >= 0 ? gate_probs_[task.gate] : nullptr;
    mix.n = static_cast<int32_t>(inputs.size());
    mix.width = m.expert_width;
    mix.batch = batch;
    mix.out = task.mix;
    mix.dst = tower_in_;
    mix.out_stride = static_cast<size_t>(m.expert_width);
    rows_.mix(mix);
    RunMlp(task.tower, batch, tower_in_, logits_);
    rows_.task_output(logits_, 1, batch, task.sigmoid, scores + t, n_tasks);
  }
}

}  // namespace

Status CreateReferenceExecutor(const ModelData& model, size_t tile, std::unique_ptr<Executor>* out) {
  auto exec = std::make_unique<ReferenceExecutor>(model, tile);
  if (Status s = exec->Init(); !s.ok()) return s;
  *out = std::move(exec);
  return Status::Ok();
}

}  // namespace mmoe
