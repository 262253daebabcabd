// mmoe::Session: the arena plan and the score loop.
//
// Create() sizes one arena for a tile of `tile_items` items and fixes every pointer into
// it; Score() walks the items tile by tile through the kernels and never allocates.
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "mmoe/mmoe.h"
#include "model_data.h"

namespace mmoe {
namespace {

constexpr size_t kAlign = 64;
constexpr int kMaxTileItems = 4096;

size_t AlignUp(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// Bump allocator over sizes, used twice: once to measure, once to place.
class ArenaPlanner {
 public:
  explicit ArenaPlanner(uint8_t* base) : base_(base) {}
  uint8_t* Take(size_t bytes) {
    uint8_t* p = base_ ? base_ + used_ : nullptr;
    used_ += AlignUp(bytes);
    return p;
  }
  size_t used() const { return used_; }

 private:
  uint8_t* base_;
  size_t used_ = 0;
};

}  // namespace

struct Session::Impl {
  const ModelData* model = nullptr;
  const KernelTable* kernels = nullptr;
  Backend backend = Backend::kReference;
  size_t tile = 0;
  uint8_t* arena = nullptr;
  size_t arena_bytes = 0;

  int8_t* input_q = nullptr;      // [tile][input_dim]
  std::vector<void*> expert_out;  // per expert: [tile][expert_width], int8 or int16
  void* ping = nullptr;           // hidden activations, [tile][max width], int8 or int16
  void* pong = nullptr;
  float* logits = nullptr;                           // [tile][max(gate experts, 1)]
  std::vector<float*> gate_probs;                    // per gate: [tile][its experts]
  void* tower_in = nullptr;                          // [tile][expert_width], int8 or int16
  std::vector<std::vector<const void*>> mix_inputs;  // per task: expert outputs it mixes

  ~Impl() { std::free(arena); }

  // Places every buffer at `base` (nullptr: only measures) and returns the bytes needed.
  // int16 is the widest element type, so buffers of either type are sized for it.
  size_t Layout(uint8_t* base) {
    const ModelData& m = *model;
    ArenaPlanner a(base);
    input_q = reinterpret_cast<int8_t*>(a.Take(tile * m.input_dim));
    const size_t expert_bytes = tile * m.expert_width * (m.expert_type == ElementType::kInt16 ? 2 : 1);
    expert_out.assign(m.experts.size(), nullptr);
    for (auto& e : expert_out) e = a.Take(expert_bytes);
    ping = a.Take(tile * m.max_layer_width * sizeof(int16_t));
    pong = a.Take(tile * m.max_layer_width * sizeof(int16_t));
    const size_t max_logits = m.max_gate_experts > 1 ? m.max_gate_experts : 1;
    logits = reinterpret_cast<float*>(a.Take(tile * max_logits * sizeof(float)));
    gate_probs.assign(m.gates.size(), nullptr);
    for (size_t g = 0; g < m.gates.size(); ++g) {
      gate_probs[g] = reinterpret_cast<float*>(a.Take(tile * m.gates[g].experts.size() * sizeof(float)));
    }
    tower_in = a.Take(tile * m.expert_width * sizeof(int16_t));
    mix_inputs.assign(m.tasks.size(), {});
    for (size_t t = 0; t < m.tasks.size(); ++t) {
      const TaskPlan& task = m.tasks[t];
      if (task.gate < 0) {
        mix_inputs[t].push_back(expert_out[task.expert]);
      } else {
        for (int32_t e : m.gates[task.gate].experts) mix_inputs[t].push_back(expert_out[e]);
      }
    }
    return a.used();
  }

  // Runs an MLP on a tile: hidden layers alternate between ping and pong; the last layer
  // writes to `out` (requantized, or float for an accumulator-output layer).
  void RunMlp(const MlpPlan& mlp, size_t batch, const void* x, void* out) const {
    const void* cur = x;
    const size_t n = mlp.layers.size();
    for (size_t i = 0; i < n; ++i) {
      const DenseLayer& layer = mlp.layers[i];
      void* dst = i + 1 == n ? out : (i % 2 == 0 ? ping : pong);
      kernels->dense[static_cast<int>(layer.input)][static_cast<int>(layer.output)](layer, batch, cur, dst);
      cur = dst;
    }
  }

  void ScoreTile(const int8_t* xq, size_t batch, float* scores) const {
    const ModelData& m = *model;
    for (size_t e = 0; e < m.experts.size(); ++e) RunMlp(m.experts[e], batch, xq, expert_out[e]);
    for (size_t g = 0; g < m.gates.size(); ++g) {
      RunMlp(m.gates[g].mlp, batch, xq, logits);
      kernels->softmax(logits, batch, static_cast<int32_t>(m.gates[g].experts.size()), gate_probs[g]);
    }
    const size_t n_tasks = m.tasks.size();
    for (size_t t = 0; t < n_tasks; ++t) {
      const TaskPlan& task = m.tasks[t];
      const std::vector<const void*>& inputs = mix_inputs[t];
      kernels->mix(inputs.data(), m.expert_type, task.mix_zero_points.data(), task.mix_scales,
                   task.gate >= 0 ? gate_probs[task.gate] : nullptr, static_cast<int32_t>(inputs.size()),
                   batch, m.expert_width, task.mix, tower_in);
      RunMlp(task.tower, batch, tower_in, logits);
      kernels->task_output(logits, batch, task.sigmoid, scores + t, n_tasks);
    }
  }
};

Session::Session(std::shared_ptr<const Model> model, std::unique_ptr<Impl> impl)
    : model_(std::move(model)), impl_(std::move(impl)) {}
Session::~Session() = default;

Status Session::Create(std::shared_ptr<const Model> model, const SessionOptions& options,
                       std::unique_ptr<Session>* session) {
  if (!model || !session)
    return Status::Error(StatusCode::kInvalidArgument, "Session::Create: null argument");
  if (options.tile_items < 1 || options.tile_items > kMaxTileItems) {
    return Status::Error(StatusCode::kInvalidArgument, "tile_items %d is outside [1, %d]", options.tile_items,
                         kMaxTileItems);
  }
  try {
    return CreateImpl(std::move(model), options, session);
  } catch (const std::bad_alloc&) {
    return Status::Error(StatusCode::kOutOfMemory, "out of memory creating a session");
  }
}

Status Session::CreateImpl(std::shared_ptr<const Model> model, const SessionOptions& options,
                           std::unique_ptr<Session>* session) {
  std::unique_ptr<Impl> impl(new Impl());
  switch (options.backend) {
    case Backend::kAuto:
    case Backend::kReference:
      impl->kernels = &ReferenceKernels();
      impl->backend = Backend::kReference;
      break;
    default:
      return Status::Error(StatusCode::kUnavailable, "backend %d is not available in this build",
                           static_cast<int>(options.backend));
  }
  impl->model = &model->data();
  impl->tile = static_cast<size_t>(options.tile_items);
  impl->arena_bytes = impl->Layout(nullptr);
  void* mem = nullptr;
  if (posix_memalign(&mem, kAlign, impl->arena_bytes) != 0) {
    return Status::Error(StatusCode::kOutOfMemory, "cannot allocate a %zu-byte arena", impl->arena_bytes);
  }
  impl->arena = static_cast<uint8_t*>(mem);
  impl->Layout(impl->arena);
  session->reset(new Session(std::move(model), std::move(impl)));
  return Status::Ok();
}

namespace {

Status CheckScoreArgs(const void* features, size_t n_items, const float* scores, size_t capacity,
                      const ModelData& m) {
  if (!features || !scores)
    return Status::Error(StatusCode::kInvalidArgument, "Score: null features or scores");
  if (n_items == 0) return Status::Error(StatusCode::kInvalidArgument, "Score: n_items is 0");
  const size_t n_tasks = m.tasks.size();
  if (n_items > SIZE_MAX / 4 / static_cast<size_t>(m.input_dim) || n_items > SIZE_MAX / 4 / n_tasks) {
    return Status::Error(StatusCode::kInvalidArgument, "Score: n_items %zu is too large", n_items);
  }
  if (capacity < n_items * n_tasks) {
    return Status::Error(StatusCode::kBufferTooSmall,
                         "Score: scores holds %zu floats, %zu items x %zu tasks need %zu", capacity, n_items,
                         n_tasks, n_items * n_tasks);
  }
  return Status::Ok();
}

}  // namespace

Status Session::Score(const float* features, size_t n_items, float* scores, size_t scores_capacity) {
  const ModelData& m = *impl_->model;
  if (Status s = CheckScoreArgs(features, n_items, scores, scores_capacity, m); !s.ok()) return s;
  const size_t dim = static_cast<size_t>(m.input_dim);
  for (size_t start = 0; start < n_items; start += impl_->tile) {
    const size_t batch = n_items - start < impl_->tile ? n_items - start : impl_->tile;
    impl_->kernels->quantize(features + start * dim, batch * dim, m.input_inv_scale, m.input_zero_point,
                             impl_->input_q);
    impl_->ScoreTile(impl_->input_q, batch, scores + start * m.tasks.size());
  }
  return Status::Ok();
}

Status Session::ScoreQuantized(const int8_t* features, size_t n_items, float* scores,
                               size_t scores_capacity) {
  const ModelData& m = *impl_->model;
  if (Status s = CheckScoreArgs(features, n_items, scores, scores_capacity, m); !s.ok()) return s;
  const size_t dim = static_cast<size_t>(m.input_dim);
  for (size_t start = 0; start < n_items; start += impl_->tile) {
    const size_t batch = n_items - start < impl_->tile ? n_items - start : impl_->tile;
    impl_->ScoreTile(features + start * dim, batch, scores + start * m.tasks.size());
  }
  return Status::Ok();
}

Status Session::QuantizeInput(const float* features, size_t n_items, int8_t* quantized,
                              size_t quantized_capacity) const {
  const ModelData& m = *impl_->model;
  if (!features || !quantized)
    return Status::Error(StatusCode::kInvalidArgument, "QuantizeInput: null argument");
  const size_t dim = static_cast<size_t>(m.input_dim);
  if (n_items > SIZE_MAX / dim)
    return Status::Error(StatusCode::kInvalidArgument, "QuantizeInput: too many items");
  if (quantized_capacity < n_items * dim) {
    return Status::Error(StatusCode::kBufferTooSmall, "QuantizeInput: output holds %zu values, need %zu",
                         quantized_capacity, n_items * dim);
  }
  impl_->kernels->quantize(features, n_items * dim, m.input_inv_scale, m.input_zero_point, quantized);
  return Status::Ok();
}

Backend Session::backend() const { return impl_->backend; }
size_t Session::arena_bytes() const { return impl_->arena_bytes; }

}  // namespace mmoe
