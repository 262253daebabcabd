// Runs a Program (plan/program.h) on one tile with one set of kernels. The xnnpack backend
// derives from it and replaces how GEMMs run (RunGemm); everything else is shared.
#pragma once

#include <vector>

#include "kernels/gemm.h"
#include "plan/executor.h"
#include "plan/program.h"

namespace mmoe {

class ProgramExecutor : public Executor {
 public:
  ProgramExecutor(const ModelData& model, const Program& program, const GemmKernels& kernels, size_t tile)
      : m_(model), p_(program), k_(kernels), tile_(tile) {}

  // Places every buffer in one arena (plus `extra_bytes` of readable slack at its end).
  Status Init(size_t extra_bytes = 0);
  using Executor::ScoreTile;
  void ScoreTile(const TileInputs& in, size_t batch, float* scores) override {
    BeginTile(in, batch);
    for (const Op& op : p_.ops) RunOp(op, batch, scores);
  }
  // The steps of ScoreTile, public so that bench/mmoe_bench_plan can cost each operation.
  // BeginTile takes the tile's inputs (`in` must outlive the tile's ops), quantizes a model's
  // one quantized input, and flips gemv_reverse_ for a batch of one.
  void BeginTile(const TileInputs& in, size_t batch);
  void RunOp(const Op& op, size_t batch, float* scores);
  size_t arena_bytes() const override { return arena_.size(); }
  const char* isa() const override { return k_.isa; }

 protected:
  // Runs the GEMM of `op` on `batch` rows.
  virtual void RunGemm(const Op& op, size_t batch);

  // Runs `g` (one of the program's GEMMs, or a subset of its segments) with our kernels; a
  // batch of one through `chunks` when there are any (PlanGemv).
  void RunGemmWith(const PackedGemm& g, const Op& op, size_t batch, void* const* dst,
                   const int32_t* dst_stride, const std::vector<GemvChunk>& chunks) const;
  // A place's first row, resolved when the executor is created: an arena pointer, or (where
  // an op reads or writes the caller's scores) null and the scores column.
  struct Row {
    uint8_t* arena = nullptr;
    int32_t column = 0;
    size_t stride = 0;
    float* Floats(float* scores) const { return arena ? reinterpret_cast<float*>(arena) : scores + column; }
  };
  Row Resolve(const Place& place) const;

  // The one-row chunks of `g` (kernels/gemm.h) reading row 0 of buffer `input` and writing
  // dst[s] for segment s: runs of consecutive segments with the same input slice, k_pad and
  // adjacent weights, cut into pieces of at most k_.gemv_blocks blocks of near-equal size;
  // consecutive pieces of as many blocks become the parts of one chunk. Empty when the kernels
  // have no one-row kernel.
  std::vector<GemvChunk> PlanGemv(const PackedGemm& g, int32_t input, void* const* dst) const;

  // Element `offset` of the first row of `buffer`.
  uint8_t* At(int32_t buffer, int32_t offset) const;

  const ModelData& m_;
  const Program& p_;
  const GemmKernels& k_;
  size_t tile_;
  Arena arena_;
  std::vector<uint8_t*> buffers_;
  // Per GEMM: destination pointers and strides per segment, fixed at creation.
  std::vector<std::vector<void*>> dst_;
  std::vector<std::vector<int32_t>> dst_stride_;
  std::vector<std::vector<GemvChunk>> gemv_;  // per GEMM: its one-row chunks (PlanGemv)
  // One-row GEMMs run their chunks, and each chunk its k-groups, last to first in every other
  // batch-1 tile. A batch-1 call reads all of the model's weights and per-column tables once,
  // which may exceed L1 (the seed's 47 KB, with the rest of a call's data about 52 KB, against
  // Zen 5's 48 KB, Zen 4's 32 KB): in the same order every call, each line is evicted just
  // before it is needed again (least-recently-used replacement), whereas reversed, a call
  // starts with the lines the previous one read last, still in L1.
  bool gemv_reverse_ = false;

 private:
  void Mix(const MixPlan& mix, size_t batch, const Op& op);
  void Concat(const ConcatPlan& plan, size_t batch, const Row& out) const;

  const TileInputs* in_ = nullptr;  // the current tile's (BeginTile)

  std::vector<std::vector<const void*>> mix_inputs_;  // per mixture: the mixed tensors' rows
  std::vector<Row> rows_;                             // per op: in, in2, out
};

}  // namespace mmoe
