// Creating a mmoe::Session: backend and kernel selection, the tile size, one executor (and
// arena) per thread. Runs once per session (cold code, runtime/CMakeLists.txt).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <new>

#include "kernels/gemm.h"
#include "mmoe/mmoe.h"
#include "model_data.h"
#include "plan/executor.h"
#include "plan/program.h"
#include "plan/program_cache.h"
#include "session_impl.h"

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

const char* const* SimdIsaNames() {
  static const char* names[9] = {nullptr};
  static std::once_flag once;
  std::call_once(once, [] {
    int n = 0;
    for (const char* isa :
         {"avx512vnni", "avx512vnni256", "avxvnni", "avx2", "i8mm", "neondot", "neon", "generic"}) {
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
  const graph::PackedInput& packed = impl->model->graph.packed;
  if (packed.present()) {  // the buffers and views packed_input.cc unpacks into
    const size_t chunk = impl->packed_chunk = impl->tile * impl->executors.size();
    size_t values = 0;  // room for every input's values and offsets in each buffer (a few KB)
    for (int32_t count : packed.count) values += chunk * static_cast<size_t>(count) + chunk + 1;
    impl->unpacked_floats.reset(new float[values]);
    impl->unpacked_ids.reset(new int64_t[values]);
    float* f = impl->unpacked_floats.get();
    int64_t* id = impl->unpacked_ids.get();
    impl->packed_views.resize(packed.count.size());
    for (size_t i = 0; i < packed.count.size(); ++i) {
      const graph::InputKind kind = impl->model->graph.inputs[i].kind;
      const size_t count = static_cast<size_t>(packed.count[i]);
      InputView& v = impl->packed_views[i];
      if (kind == graph::InputKind::kDense) {
        v.data = f;
        f += chunk * count;
        continue;
      }
      v.data = id;
      v.type = DataType::kInt64;
      id += chunk * count;
      if (kind == graph::InputKind::kBag) {
        for (size_t r = 0; r <= chunk; ++r) id[r] = static_cast<int64_t>(r * count);
        v.offsets = id;
        id += chunk + 1;
      }
    }
  }
  session->reset(new Session(std::move(model), std::move(impl)));
  return Status::Ok();
}

}  // namespace mmoe
