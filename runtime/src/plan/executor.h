// Executors score one tile of items with a given backend; a Session owns one per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "mmoe/status.h"

namespace mmoe {

struct ModelData;
struct Program;
struct GemmKernels;
struct InputView;

// One tile's inputs: the Score call's views, one per graph input in graph order (checked by
// Session::Score), and the tile's first item in them; or, for a model whose one input is
// quantized with one scale (ModelData::quantized_input), int8 features already quantized.
struct TileInputs {
  const InputView* views = nullptr;
  size_t first = 0;
  const int8_t* quantized = nullptr;  // [batch][input_dim]
};

class Executor {
 public:
  virtual ~Executor() = default;
  // Scores `batch` (<= the tile size) items. scores: [batch][num_tasks].
  virtual void ScoreTile(const TileInputs& in, size_t batch, float* scores) = 0;
  // A model whose one input is dense: from float features [batch][input_dim] when `quantized`
  // is null, else from int8 features.
  void ScoreTile(const float* features, const int8_t* quantized, size_t batch, float* scores);
  virtual size_t arena_bytes() const = 0;
  virtual const char* isa() const = 0;
};

// Receives every tensor a reference executor computes, for tools that compare them with the
// float model's (mmoe eval's per-tensor noise).
class TensorObserver {
 public:
  virtual ~TensorObserver() = default;
  // `batch` rows of graph tensor `tensor`, `stride` elements apart, of the tensor's type.
  virtual void Observe(int32_t tensor, const void* data, size_t batch, size_t stride) = 0;
};

// Node by node through the reference kernels: the specification. `observer` (optional) sees
// every tensor of every tile.
Status CreateReferenceExecutor(const ModelData& model, size_t tile, std::unique_ptr<Executor>* out,
                               TensorObserver* observer = nullptr);
// Through a Program with the given GEMM kernels.
Status CreateProgramExecutor(const ModelData& model, const Program& program, const GemmKernels& kernels,
                             size_t tile, std::unique_ptr<Executor>* out);
// Through a Program with XNNPACK's int8 operators for the int8 -> int8 layers and `fallback`
// for the rest (built with MMOE_WITH_XNNPACK only; runtime/src/xnnpack/).
Status CreateXnnpackExecutor(const ModelData& model, const Program& program, const GemmKernels& fallback,
                             size_t tile, std::unique_ptr<Executor>* out);
// Whether XNNPACK initialises on this CPU (built with MMOE_WITH_XNNPACK only).
bool XnnpackAvailable();

// Arena buffers start 64-byte aligned.
constexpr size_t kArenaAlign = 64;

// Adds `bytes`, rounded up to kArenaAlign, to *total. False (and *total unchanged) when the sum
// does not fit a size_t: on 32-bit targets a hostile model's widths times the tile can exceed
// the address space, which must be an error rather than a wrapped, too-small arena.
bool AddArenaBytes(uint64_t bytes, size_t* total);

// One arena allocation, 64-byte aligned and zeroed (plan/arena.cc). Allocate is called once.
class Arena {
 public:
  Arena() = default;
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  bool Allocate(size_t bytes);
  // Allocates buffers of `buffer_bytes[i] x tile` bytes each (plus `extra_bytes` of slack at the
  // end) and sets (*buffers)[i] to each; OUT_OF_MEMORY when the sizes overflow or allocation fails.
  Status AllocateBuffers(const std::vector<uint64_t>& row_bytes, size_t tile, size_t extra_bytes,
                         std::vector<uint8_t*>* buffers);
  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;  // from mmap, not the heap
};

}  // namespace mmoe
