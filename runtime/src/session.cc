// mmoe::Session: backend selection, one executor (and arena) per thread, and the tile loop.
// Score() never allocates; with threads > 1 it hands tile ranges to the session's workers.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

#include "kernels/gemm.h"
#include "mmoe/mmoe.h"
#include "model_data.h"
#include "plan/executor.h"
#include "plan/program.h"
#include "plan/program_cache.h"
#include "thread_pool.h"

namespace mmoe {
namespace {

constexpr int kMaxTileItems = 4096;
constexpr int kMaxThreads = 64;
// tile_items 0: the backend's preferred tile, halved (to no less than kMinAutoTile) while one
// executor's arena exceeds this, so that a wide model's tile still fits a core's L2.
constexpr size_t kAutoArenaBytes = 512 * 1024;
constexpr size_t kMinAutoTile = 16;
// tile_items 0 for the reference and XNNPACK executors, which have no preferred tile.
constexpr size_t kPlainTile = 64;
// With several threads, a call too small to give each thread a tile is cut into tiles of
// ceil(n / threads) items rounded up to this (at least one register of int8 lanes per row).
constexpr size_t kThreadTileRound = 16;

// One thread's executor: `kernels` null for the reference backend.
Status CreateExecutor(Backend backend, const Model& model, const GemmKernels* kernels, size_t tile,
                      std::unique_ptr<Executor>* exec) {
  if (!kernels) return CreateReferenceExecutor(model.data(), tile, exec);
  const Program& program = model.programs().Get(model.data(), PlanCapsOf(*kernels));
#if MMOE_WITH_XNNPACK
  if (backend == Backend::kXnnpack) return CreateXnnpackExecutor(model.data(), program, *kernels, tile, exec);
#endif
  (void)backend;
  return CreateProgramExecutor(model.data(), program, *kernels, tile, exec);
}

}  // namespace

struct Session::Impl {
  const Model* owner = nullptr;
  const ModelData* model = nullptr;
  Backend backend = Backend::kReference;
  size_t tile = 0;
  std::vector<std::unique_ptr<Executor>> executors;  // one per thread
  std::unique_ptr<ThreadPool> pool;

  // A Score call's views in graph order (matched by name when they have names): scratch space
  // sized once, so that Score allocates nothing.
  std::vector<InputView> ordered;

  // The call being scored, read by the workers.
  struct Call {
    Impl* impl;
    const InputView* views;   // per graph input
    const int8_t* quantized;  // or int8 features (ScoreQuantized)
    size_t n_items;
    float* scores;
    int parts;
    size_t tile;  // items per tile in this call (<= Impl::tile)
  };

  void ScoreRange(const Call& c, size_t first_tile, size_t end_tile, Executor& exec) const {
    const size_t dim = static_cast<size_t>(model->input_dim);
    const size_t n_tasks = static_cast<size_t>(model->num_tasks());
    for (size_t t = first_tile; t < end_tile; ++t) {
      const size_t start = t * c.tile;
      const size_t batch = std::min(c.tile, c.n_items - start);
      TileInputs in;
      in.views = c.views;
      in.first = start;
      in.quantized = c.quantized ? c.quantized + start * dim : nullptr;
      exec.ScoreTile(in, batch, c.scores + start * n_tasks);
    }
  }

  static void RunPart(void* context, int part) {
    const Call& c = *static_cast<const Call*>(context);
    const size_t tiles = (c.n_items + c.tile - 1) / c.tile;
    const size_t first = tiles * part / c.parts, end = tiles * (part + 1) / c.parts;
    c.impl->ScoreRange(c, first, end, *c.impl->executors[part]);
  }

  void Score(const InputView* views, const int8_t* quantized, size_t n_items, float* scores) {
    Call call{this, views, quantized, n_items, scores, 1, tile};
    if (pool && n_items < tile * executors.size()) {
      // Fewer tiles than threads: smaller tiles, so that every thread gets work.
      const size_t share = (n_items + executors.size() - 1) / executors.size();
      call.tile = std::min(tile, (share + kThreadTileRound - 1) / kThreadTileRound * kThreadTileRound);
    }
    const size_t tiles = (n_items + call.tile - 1) / call.tile;
    if (!pool || tiles < 2) {
      ScoreRange(call, 0, tiles, *executors[0]);
      return;
    }
    call.parts = static_cast<int>(std::min<size_t>(executors.size(), tiles));
    pool->Run(call.parts, RunPart, &call);
  }
};

Session::Session(std::shared_ptr<const Model> model, std::unique_ptr<Impl> impl)
    : model_(std::move(model)), impl_(std::move(impl)) {}
Session::~Session() = default;

const char* const* SimdIsaNames() {
  static const char* names[8] = {nullptr};
  static std::once_flag once;
  std::call_once(once, [] {
    int n = 0;
    for (const char* isa : {"avx512vnni", "avx512vnni256", "avxvnni", "avx2", "neondot", "neon", "generic"}) {
      if (FindGemmKernels(isa)) names[n++] = isa;
    }
  });
  return names;
}

bool BackendAvailable(Backend backend) {
  switch (backend) {
    case Backend::kAuto:
    case Backend::kReference:
    case Backend::kSimd:
      return true;
    case Backend::kXnnpack:
#if MMOE_WITH_XNNPACK
      return XnnpackAvailable();
#else
      return false;
#endif
  }
  return false;
}

Status Session::Create(std::shared_ptr<const Model> model, const SessionOptions& options,
                       std::unique_ptr<Session>* session) {
  try {
    return CreateImpl(std::move(model), options, session);
  } catch (const std::bad_alloc&) {
    return Status::Error(StatusCode::kOutOfMemory, "out of memory creating a session");
  }
}

Status Session::CreateImpl(std::shared_ptr<const Model> model, const SessionOptions& options,
                           std::unique_ptr<Session>* session) {
  if (!model || !session)
    return Status::Error(StatusCode::kInvalidArgument, "Session::Create: null argument");
  if (options.tile_items < 0 || options.tile_items > kMaxTileItems) {
    return Status::Error(StatusCode::kInvalidArgument, "tile_items %d is outside [0, %d] (0: automatic)",
                         options.tile_items, kMaxTileItems);
  }
  if (options.threads < 1 || options.threads > kMaxThreads) {
    return Status::Error(StatusCode::kInvalidArgument, "threads %d is outside [1, %d]", options.threads,
                         kMaxThreads);
  }
  auto impl = std::make_unique<Impl>();
  impl->owner = model.get();
  impl->model = &model->data();
  impl->ordered.resize(impl->model->inputs.size());
  const GemmKernels* kernels = nullptr;
  const bool want_isa = options.isa && *options.isa;
  switch (options.backend) {
    case Backend::kReference:
      if (want_isa && std::strcmp(options.isa, "reference") != 0) {
        return Status::Error(StatusCode::kInvalidArgument, "isa '%s' applies to the simd backend only",
                             options.isa);
      }
      impl->backend = Backend::kReference;
      break;
    case Backend::kAuto:
    case Backend::kSimd:
#if MMOE_WITH_XNNPACK
    case Backend::kXnnpack:  // our kernels (`isa`) run the layers XNNPACK does not
#endif
      kernels = FindGemmKernels(want_isa ? options.isa : nullptr);
      if (!kernels) {
        return Status::Error(StatusCode::kUnavailable,
                             "simd kernels for isa '%s' are not built or not supported by this CPU",
                             want_isa ? options.isa : "");
      }
      impl->backend = options.backend == Backend::kXnnpack ? Backend::kXnnpack : Backend::kSimd;
      break;
#if !MMOE_WITH_XNNPACK
    case Backend::kXnnpack:
      return Status::Error(StatusCode::kUnavailable,
                           "the xnnpack backend is not built in (MMOE_WITH_XNNPACK)");
#endif
    default:
      return Status::Error(StatusCode::kUnavailable, "unknown backend %d", static_cast<int>(options.backend));
  }
  if (options.tile_items > 0) {
    impl->tile = static_cast<size_t>(options.tile_items);
  } else {
    // The simd backend's kernels say what suits them; the reference and XNNPACK executors keep
    // the default. Sized by building the executor: its arena is what the tile costs.
    impl->tile = impl->backend == Backend::kSimd ? static_cast<size_t>(kernels->preferred_tile) : kPlainTile;
    for (;;) {
      std::unique_ptr<Executor> exec;
      if (Status s = CreateExecutor(impl->backend, *impl->owner, kernels, impl->tile, &exec); !s.ok())
        return s;
      if (exec->arena_bytes() <= kAutoArenaBytes || impl->tile <= kMinAutoTile) {
        impl->executors.push_back(std::move(exec));
        break;
      }
      impl->tile = std::max(kMinAutoTile, impl->tile / 2);
    }
  }
  while (impl->executors.size() < static_cast<size_t>(options.threads)) {
    std::unique_ptr<Executor> exec;
    Status s = CreateExecutor(impl->backend, *impl->owner, kernels, impl->tile, &exec);
    if (!s.ok()) return s;
    impl->executors.push_back(std::move(exec));
  }
  if (options.threads > 1) impl->pool = std::make_unique<ThreadPool>(options.threads - 1);
  session->reset(new Session(std::move(model), std::move(impl)));
  return Status::Ok();
}

namespace {

Status CheckScoreArgs(size_t n_items, const float* scores, size_t capacity, const ModelData& m) {
  if (!scores) return Status::Error(StatusCode::kInvalidArgument, "Score: null scores");
  if (n_items == 0) return Status::Error(StatusCode::kInvalidArgument, "Score: n_items is 0");
  const size_t n_tasks = static_cast<size_t>(m.num_tasks());
  const size_t dim = static_cast<size_t>(std::max(m.input_dim, 1));
  if (n_items > SIZE_MAX / 4 / dim || n_items > SIZE_MAX / 4 / n_tasks) {
    return Status::Error(StatusCode::kInvalidArgument, "Score: n_items %zu is too large", n_items);
  }
  if (capacity < n_items * n_tasks) {
    return Status::Error(StatusCode::kBufferTooSmall,
                         "Score: scores holds %zu floats, %zu items x %zu tasks need %zu", capacity, n_items,
                         n_tasks, n_items * n_tasks);
  }
  return Status::Ok();
}

// Score(features) and the calls that take one float array need a model whose one input is
// dense (and ScoreQuantized one whose input is quantized with one scale).
Status CheckOneDenseInput(const ModelData& m, const char* call, bool quantized) {
  if (m.input_dim > 0 && (m.quantized_input || !quantized)) return Status::Ok();
  if (m.input_dim > 0) {
    return Status::Error(
        StatusCode::kInvalidArgument,
        "%s: the model quantizes each of its features with its own scale; pass float features "
        "(Score)",
        call);
  }
  return Status::Error(StatusCode::kInvalidArgument,
                       "%s: model has %zu inputs ('%s' is %s); pass one InputView per input", call,
                       m.graph.inputs.size(), m.graph.inputs[0].name.c_str(),
                       graph::InputKindName(m.graph.inputs[0].kind));
}

const char* DataTypeName(DataType t) {
  switch (t) {
    case DataType::kFloat32:
      return "float32";
    case DataType::kInt32:
      return "int32";
    case DataType::kInt64:
      return "int64";
  }
  return "unknown";
}

int64_t IdAt(const InputView& v, size_t j) {
  return v.type == DataType::kInt64 ? static_cast<const int64_t*>(v.data)[j]
                                    : static_cast<const int32_t*>(v.data)[j];
}

// One view against the input it is for: type, sizes, offsets, and the ids against the tables.
Status CheckView(const InputView& v, const graph::Input& input, const InputSpec& spec, size_t n_items) {
  const char* name = input.name.c_str();
  if (spec.kind == graph::InputKind::kDense) {
    if (v.type != DataType::kFloat32) {
      return Status::Error(StatusCode::kInvalidArgument, "Score: input '%s' takes float32 features, not %s",
                           name, DataTypeName(v.type));
    }
    const size_t width = static_cast<size_t>(spec.width);
    if (n_items > SIZE_MAX / width || v.size != n_items * width) {
      return Status::Error(StatusCode::kInvalidArgument,
                           "Score: input '%s' has %zu floats; %zu items x %zu features need %zu", name,
                           v.size, n_items, width, n_items * width);
    }
  } else {
    if (v.type != DataType::kInt32 && v.type != DataType::kInt64) {
      return Status::Error(StatusCode::kInvalidArgument, "Score: input '%s' takes int32 or int64 ids, not %s",
                           name, DataTypeName(v.type));
    }
    if (spec.kind == graph::InputKind::kIds && v.size != n_items) {
      return Status::Error(StatusCode::kInvalidArgument,
                           "Score: input '%s' has %zu ids for %zu items (one each)", name, v.size, n_items);
    }
  }
  if (spec.kind == graph::InputKind::kBag) {
    if (!v.offsets) {
      return Status::Error(
          StatusCode::kInvalidArgument,
          "Score: input '%s' is a bag: it needs offsets (n_items + 1, from 0 to the ids' count)", name);
    }
    if (v.offsets[0] != 0 || v.offsets[n_items] != static_cast<int64_t>(v.size)) {
      return Status::Error(StatusCode::kInvalidArgument,
                           "Score: input '%s': offsets run from %lld to %lld; expected 0 to %zu (its ids)",
                           name, static_cast<long long>(v.offsets[0]),
                           static_cast<long long>(v.offsets[n_items]), v.size);
    }
    for (size_t i = 0; i < n_items; ++i) {
      if (v.offsets[i + 1] < v.offsets[i]) {
        return Status::Error(
            StatusCode::kInvalidArgument, "Score: input '%s': offsets[%zu] = %lld < offsets[%zu] = %lld",
            name, i + 1, static_cast<long long>(v.offsets[i + 1]), i, static_cast<long long>(v.offsets[i]));
      }
    }
  } else if (v.offsets) {
    return Status::Error(StatusCode::kInvalidArgument, "Score: input '%s' is %s: it takes no offsets", name,
                         graph::InputKindName(spec.kind));
  }
  if (!v.data && v.size > 0)
    return Status::Error(StatusCode::kInvalidArgument, "Score: input '%s': null data", name);
  if (spec.kind == graph::InputKind::kDense || spec.id_limit == 0) return Status::Ok();
  for (size_t j = 0; j < v.size; ++j) {
    const int64_t id = IdAt(v, j);
    if (spec.has_padding_id && id == spec.padding_id) continue;
    if (id < 0 || static_cast<uint64_t>(id) >= spec.id_limit) {
      size_t item = j;
      if (spec.kind == graph::InputKind::kBag) {  // the item whose bag holds position j
        item =
            static_cast<size_t>(
                std::upper_bound(v.offsets, v.offsets + n_items + 1, static_cast<int64_t>(j)) - v.offsets) -
            1;
      }
      return Status::Error(StatusCode::kInvalidArgument,
                           "Score: item %zu, input '%s': id %lld is outside its embedding table's %llu rows",
                           item, name, static_cast<long long>(id),
                           static_cast<unsigned long long>(spec.id_limit));
    }
  }
  return Status::Ok();
}

}  // namespace

Status Session::Score(const float* features, size_t n_items, float* scores, size_t scores_capacity) {
  const ModelData& m = *impl_->model;
  if (Status s = CheckOneDenseInput(m, "Score", false); !s.ok()) return s;
  if (!features) return Status::Error(StatusCode::kInvalidArgument, "Score: null features");
  if (Status s = CheckScoreArgs(n_items, scores, scores_capacity, m); !s.ok()) return s;
  InputView view;
  view.data = features;
  view.size = n_items * static_cast<size_t>(m.input_dim);
  impl_->Score(&view, nullptr, n_items, scores);
  return Status::Ok();
}

Status Session::Score(const InputView* inputs, size_t num_inputs, size_t n_items, float* scores,
                      size_t scores_capacity) {
  const ModelData& m = *impl_->model;
  const graph::Graph& g = m.graph;
  if (!inputs && num_inputs > 0) return Status::Error(StatusCode::kInvalidArgument, "Score: null inputs");
  if (num_inputs != g.inputs.size()) {
    return Status::Error(StatusCode::kInvalidArgument, "Score: %zu inputs given; the model takes %zu",
                         num_inputs, g.inputs.size());
  }
  if (Status s = CheckScoreArgs(n_items, scores, scores_capacity, m); !s.ok()) return s;
  const bool named = inputs[0].name != nullptr;
  InputView* ordered = impl_->ordered.data();
  for (size_t i = 0; i < num_inputs; ++i) {
    if ((inputs[i].name != nullptr) != named) {
      return Status::Error(StatusCode::kInvalidArgument,
                           "Score: inputs[%zu] %s a name but inputs[0] %s; name all of them or none", i,
                           named ? "lacks" : "has", named ? "has one" : "does not");
    }
    size_t at = i;
    if (named) {
      for (at = 0; at < g.inputs.size() && g.inputs[at].name != inputs[i].name; ++at) {
      }
      if (at == g.inputs.size()) {
        return Status::Error(StatusCode::kInvalidArgument, "Score: the model has no input named '%s'",
                             inputs[i].name);
      }
      for (size_t j = 0; j < i; ++j) {
        if (std::strcmp(inputs[j].name, inputs[i].name) == 0) {
          return Status::Error(StatusCode::kInvalidArgument, "Score: input '%s' is given twice",
                               inputs[i].name);
        }
      }
    }
    ordered[at] = inputs[i];
  }
  for (size_t i = 0; i < num_inputs; ++i) {
    if (Status s = CheckView(ordered[i], g.inputs[i], m.inputs[i], n_items); !s.ok()) return s;
  }
  impl_->Score(ordered, nullptr, n_items, scores);
  return Status::Ok();
}

Status Session::ScoreQuantized(const int8_t* features, size_t n_items, float* scores,
                               size_t scores_capacity) {
  const ModelData& m = *impl_->model;
  if (Status s = CheckOneDenseInput(m, "ScoreQuantized", true); !s.ok()) return s;
  if (!features) return Status::Error(StatusCode::kInvalidArgument, "Score: null features");
  if (Status s = CheckScoreArgs(n_items, scores, scores_capacity, m); !s.ok()) return s;
  impl_->Score(nullptr, features, n_items, scores);
  return Status::Ok();
}

Status Session::QuantizeInput(const float* features, size_t n_items, int8_t* quantized,
                              size_t quantized_capacity) const {
  const ModelData& m = *impl_->model;
  if (Status s = CheckOneDenseInput(m, "QuantizeInput", true); !s.ok()) return s;
  if (!features || !quantized)
    return Status::Error(StatusCode::kInvalidArgument, "QuantizeInput: null argument");
  const size_t dim = static_cast<size_t>(m.input_dim);
  if (n_items > SIZE_MAX / dim)
    return Status::Error(StatusCode::kInvalidArgument, "QuantizeInput: too many items");
  if (quantized_capacity < n_items * dim) {
    return Status::Error(StatusCode::kBufferTooSmall, "QuantizeInput: output holds %zu values, need %zu",
                         quantized_capacity, n_items * dim);
  }
  GenericRowKernels().quantize(features, n_items * dim, m.input_inv_scale, m.input_zero_point, quantized);
  return Status::Ok();
}

Backend Session::backend() const { return impl_->backend; }
const char* Session::isa() const { return impl_->executors[0]->isa(); }
int Session::tile_items() const { return static_cast<int>(impl_->tile); }
size_t Session::arena_bytes() const {
  size_t total = 0;
  for (const auto& e : impl_->executors) total += e->arena_bytes();
  return total;
}

}  // namespace mmoe
