// Session::Impl: a session's executors (one per thread), its tile and thread pool, and the
// tile loop. Created by plan/session_create.cc (cold code), run by session.cc.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "mmoe/mmoe.h"
#include "model_data.h"
#include "plan/executor.h"
#include "thread_pool.h"

namespace mmoe {

// With several threads, a call too small to give each thread a tile is cut into tiles of
// ceil(n / threads) items rounded up to this (at least one register of int8 lanes per row).
constexpr size_t kThreadTileRound = 16;

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

  // Score(features) on a model whose inputs are packed in one row (format 2.2): a chunk of
  // `packed_chunk` rows at a time unpacked into these buffers, laid out once at creation (each
  // input's values; a bag's fixed offsets 0, L, 2L, ...), and read through `packed_views`.
  std::unique_ptr<float[]> unpacked_floats;
  std::unique_ptr<int64_t[]> unpacked_ids;
  std::vector<InputView> packed_views;  // per graph input; a call sets only their sizes
  size_t packed_chunk = 0;

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

// packed_input.cc. Every id column of the n_items rows an id of its table (or the bag's
// padding id, or any value when the embedding has a default row), or INVALID_ARGUMENT naming
// the item, input and column.
Status CheckPackedRows(const ModelData& m, const float* x, size_t n_items);
// Rows [first, first + k) of checked rows unpacked into impl.packed_views' buffers.
void UnpackPackedRows(Session::Impl& impl, const float* x, size_t first, size_t k);

}  // namespace mmoe
