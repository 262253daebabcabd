// The creation of a ProgramExecutor: where every buffer lies in the arena, each GEMM's
// destinations and one-row chunks, each op's rows. Runs once per session (compiled as cold
// code, runtime/CMakeLists.txt); plan/program_executor.cc runs the tiles.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

#include "kernels/gemm.h"
#include "model_data.h"
#include "plan/program_executor.h"

namespace mmoe {
namespace {

size_t ElementSize(DenseOutput t) { return t == DenseOutput::kInt8 ? 1 : (t == DenseOutput::kInt16 ? 2 : 4); }

}  // namespace

Status ProgramExecutor::Init(size_t extra_bytes) {
  std::vector<uint64_t> row_bytes;
  for (const BufferDesc& b : p_.buffers)
    row_bytes.push_back(static_cast<uint64_t>(b.stride) * ElementSize(b.type));
  if (Status s = arena_.AllocateBuffers(row_bytes, tile_, extra_bytes, &buffers_); !s.ok()) return s;
  for (const std::vector<SegmentTarget>& targets : p_.targets) {
    std::vector<void*> d;
    std::vector<int32_t> st;
    for (const SegmentTarget& t : targets) {
      d.push_back(At(t.out.buffer, t.out.offset));
      st.push_back(p_.buffers[t.out.buffer].stride);
    }
    dst_.push_back(std::move(d));
    dst_stride_.push_back(std::move(st));
  }
  gemv_.resize(p_.gemms.size());
  for (const Op& op : p_.ops) {
    if (op.kind == Op::kGemm)
      gemv_[op.index] = PlanGemv(p_.gemms[op.index], op.in.buffer, dst_[op.index].data());
  }
  for (const Op& op : p_.ops) {
    for (const Place& place : {op.in, op.in2, op.out}) rows_.push_back(Resolve(place));
  }
  for (const MixPlan& mix : p_.mixes) {
    std::vector<const void*> inputs;
    for (int32_t offset : mix.expert_offsets) inputs.push_back(At(mix.experts_buffer, offset));
    mix_inputs_.push_back(std::move(inputs));
  }
  return Status::Ok();
}

uint8_t* ProgramExecutor::At(int32_t buffer, int32_t offset) const {
  return buffers_[buffer] + static_cast<size_t>(offset) * ElementSize(p_.buffers[buffer].type);
}

ProgramExecutor::Row ProgramExecutor::Resolve(const Place& place) const {
  Row row;
  if (place.buffer == kScoresBuffer) {
    row.column = place.offset;
    row.stride = static_cast<size_t>(p_.num_tasks);
  } else if (place.buffer >= 0) {
    row.arena = At(place.buffer, place.offset);
    row.stride = static_cast<size_t>(p_.buffers[place.buffer].stride);
  }
  return row;
}

std::vector<GemvChunk> ProgramExecutor::PlanGemv(const PackedGemm& g, int32_t input, void* const* dst) const {
  std::vector<GemvChunk> chunks;
  if (!k_.gemv || k_.gemv_blocks < 1 || k_.gemv_parts < 1) return chunks;
#if defined(MMOE_ARCH_ARM)
  // No ARM kernel table has one-row kernels yet: this planner would be 1.8 KB of code that
  // never runs in a phone app (docs/performance.md, "Size").
  (void)g;
  (void)input;
  (void)dst;
  return chunks;
#else
  const bool int16 = g.input == ElementType::kInt16;
  const auto blocks_of = [](const Segment& seg) {
    return (seg.end - seg.begin + kBlockColumns - 1) / kBlockColumns;
  };
  // The chunks' weights: the int8 copy where the program has one (Segment::weights_i8: int16
  // input in kInt16x2 order, int8 input in kInt8x4 order), else the GEMM's own (kInt8x4).
  const bool copy = g.segments.front().weights_i8 != nullptr;
  const bool pairs = int16 || (!copy && g.layout == WeightLayout::kInt16x2);
  const size_t elem = !int16 && !copy && g.layout == WeightLayout::kInt16x2 ? 2 : 1;
  const auto weights = [&](const Segment& seg) {
    return static_cast<const uint8_t*>(copy ? static_cast<const void*>(seg.weights_i8) : seg.weights);
  };
  const auto block_bytes = [&](const Segment& seg) {
    return static_cast<size_t>(kBlockColumns) * static_cast<size_t>(seg.k_pad) * elem;
  };
  // Pieces: runs of consecutive segments whose inputs, k and weights continue the previous
  // one's (the fused first layer's experts and gates), cut into at most gemv_blocks blocks of
  // near-equal size.
  struct Piece {
    size_t segment;  // of the first block
    int32_t column, blocks, k_pad;
    const uint8_t* a;
    const uint8_t* w;
  };
  std::vector<Piece> pieces;
  for (size_t s = 0; s < g.segments.size();) {
    size_t e = s + 1;
    int32_t total = blocks_of(g.segments[s]);
    for (; e < g.segments.size(); ++e) {
      const Segment& prev = g.segments[e - 1];
      const Segment& seg = g.segments[e];
      const bool adjacent = seg.a_offset == prev.a_offset && seg.k_pad == prev.k_pad &&
                            seg.begin == prev.begin + blocks_of(prev) * kBlockColumns &&
                            weights(seg) == weights(prev) + blocks_of(prev) * block_bytes(prev);
      if (!adjacent) break;
      total += blocks_of(seg);
    }
    const Segment& first = g.segments[s];
    const int32_t n = (total + k_.gemv_blocks - 1) / k_.gemv_blocks;
    for (int32_t c = 0, done = 0; c < n; ++c) {
      const int32_t end = static_cast<int32_t>(int64_t{total} * (c + 1) / n);
      size_t seg_index = s;
      const int32_t column = first.begin + done * kBlockColumns;
      while (column >= g.segments[seg_index].begin + blocks_of(g.segments[seg_index]) * kBlockColumns)
        ++seg_index;
      pieces.push_back(Piece{seg_index, column, end - done, first.k_pad, At(input, first.a_offset),
                             weights(first) + done * block_bytes(first)});
      done = end;
    }
    s = e;
  }
  // Chunks: consecutive pieces of as many blocks and the same k_pad (the experts' later layers,
  // one per expert) share a chunk as its parts, up to gemv_parts parts and gemv_blocks blocks.
  for (size_t i = 0; i < pieces.size();) {
    const Piece& p0 = pieces[i];
    size_t parts = 1;
    while (i + parts < pieces.size() && static_cast<int>(parts) < k_.gemv_parts &&
           static_cast<int32_t>(parts + 1) * p0.blocks <= k_.gemv_blocks) {
      const Piece& next = pieces[i + parts];
      if (next.blocks != p0.blocks || next.k_pad != p0.k_pad ||
          next.column != p0.column + static_cast<int32_t>(parts) * p0.blocks * kBlockColumns) {
        break;
      }
      ++parts;
    }
    GemvChunk chunk{};
    chunk.kernel = k_.gemv(int16, static_cast<int>(parts), p0.blocks);
    chunk.gemm = &g;
    chunk.column = p0.column;
    chunk.w_block_bytes = static_cast<int32_t>(block_bytes(g.segments[p0.segment]));
    chunk.k_groups = p0.k_pad / (pairs ? 2 : 4);
    chunk.parts = static_cast<int32_t>(parts);
    chunk.blocks = static_cast<int32_t>(parts) * p0.blocks;
    size_t seg_index = p0.segment;
    for (size_t q = 0; q < parts; ++q) {
      chunk.a[q] = pieces[i + q].a;
      chunk.w[q] = pieces[i + q].w;
    }
    for (int32_t j = 0; j < chunk.blocks; ++j) {
      const int32_t col = chunk.column + j * kBlockColumns;
      while (col >= g.segments[seg_index].begin + blocks_of(g.segments[seg_index]) * kBlockColumns)
        ++seg_index;
      const Segment& seg = g.segments[seg_index];
      const DenseOutput type = g.segment_types[seg_index];
      GemvBlock& b = chunk.block[j];
      b.dst =
          static_cast<uint8_t*>(dst[seg_index]) + static_cast<size_t>(col - seg.begin) * ElementSize(type);
      b.lo = seg.lo;
      b.hi = seg.hi;
      b.zero_point = seg.zero_point;
      b.type = type;
      b.real_cols = static_cast<int8_t>(std::min(kBlockColumns, seg.end - col));
    }
    chunks.push_back(chunk);
    i += parts;
  }
  return chunks;
#endif
}

bool AddArenaBytes(uint64_t bytes, size_t* total) {
  const uint64_t aligned = bytes / kArenaAlign * kArenaAlign + (bytes % kArenaAlign ? kArenaAlign : 0);
  if (aligned < bytes || aligned > SIZE_MAX - *total) return false;
  *total += static_cast<size_t>(aligned);
  return true;
}

Status CreateProgramExecutor(const ModelData& model, const Program& program, const GemmKernels& kernels,
                             size_t tile, std::unique_ptr<Executor>* out) {
  auto exec = std::make_unique<ProgramExecutor>(model, program, kernels, tile);
  if (Status s = exec->Init(); !s.ok()) return s;
  *out = std::move(exec);
  return Status::Ok();
}

}  // namespace mmoe
