// The execution plan of the optimised backends: a model graph's dense layers regrouped into
// GEMMs over packed weights, the buffers of one tile, and the list of operations that score it.
//
// The planner (plan/program_builder.cc) fuses what the MoE family allows. The graph's dense
// layers form chains (a layer whose output only the next one reads, with an elementwise
// activation after it or not); chains whose inputs are ready run together, depth by depth.
// At each depth the layers that read the same buffer form one GEMM whose output columns are
// split into segments, one per layer: every expert's and gate's first layer reads the model's
// input, so they are one GEMM; later layers are the diagonal blocks of a block-diagonal
// product. Narrow layers that read adjacent slices (the gates' and towers' later layers) share
// one segment and one 16-column block, their weights on its diagonal. A batch-1 call thus
// makes one kernel call per depth, not one per layer. Weights are packed once per model and
// kernel capabilities, and shared by all sessions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

#include "kernels/packed_gemm.h"

namespace mmoe {

// Allocates on 64-byte boundaries. Packed weights come in 64-byte k-groups of 16 columns,
// and each segment's weights (and each GEMM's per-column tables) start at a multiple of 64
// bytes into their storage: with the storage aligned too, no 512-bit load of a kernel
// straddles two cache lines (std::vector's storage is only 16-byte aligned).
template <typename T>
struct CacheLineAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};
  CacheLineAllocator() = default;
  template <typename U>
  CacheLineAllocator(const CacheLineAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, size_t) { ::operator delete(p, kAlign); }
  template <typename U>
  bool operator==(const CacheLineAllocator<U>&) const {
    return true;
  }
  template <typename U>
  bool operator!=(const CacheLineAllocator<U>&) const {
    return false;
  }
};
template <typename T>
using CacheLineVector = std::vector<T, CacheLineAllocator<T>>;

// What the kernels a program is built for need of it.
struct PlanCaps {
  WeightLayout int8_layout = WeightLayout::kInt8x4;  // packing of int8-input GEMMs
  // The kernels have one-row kernels, which read weights packed as int16 from an int8 copy
  // (Segment::weights_i8): only then does the program carry that copy.
  bool int8_copy = false;
  WeightLayout int16_layout = WeightLayout::kInt16x2;  // packing of int16-input GEMMs
  bool operator==(const PlanCaps& o) const {
    return int8_layout == o.int8_layout && int8_copy == o.int8_copy && int16_layout == o.int16_layout;
  }
};

// One arena buffer holding a tile's tensors side by side: rows of `stride` elements of `type`.
struct BufferDesc {
  DenseOutput type = DenseOutput::kInt8;  // int8, int16 or float
  int32_t stride = 0;                     // elements per row (padded)
};

// Where a tensor lives: elements [offset, offset + width) of every row of `buffer`, or, for
// buffer kScoresBuffer, column `offset` of the caller's scores, or, for buffer kInputs, what
// the caller passes for graph input `offset` (float features, ids).
constexpr int32_t kScoresBuffer = -1;
constexpr int32_t kInputs = -3;
struct Place {
  int32_t buffer = -2;  // -2: not placed
  int32_t offset = 0;
};

// Where a GEMM segment's columns go, and the layer they compute when it is one layer (the
// xnnpack backend runs those); nullptr when narrow layers share the segment.
struct SegmentTarget {
  Place out;
  const DenseLayer* layer = nullptr;
};

struct Op {
  enum Kind : uint8_t {
    kGemm,        // gemms[index], reading buffer `in.buffer` (segments add their a_offset)
    kActivation,  // ModelData::activations[index] from `in` to `out` (often the same place)
    kSoftmax,     // `width` logits at `in` -> probabilities in buffer `out.buffer` (stride width)
    kMix,         // mixes[index] -> `out`
    kScore,       // `width` floats at `in` -> `out`: sigmoid (index 1) or a copy (index 0)
    kProduct,     // `in` x `in2` -> `out`, `width` floats
    kEmbedding,   // ModelData::embeddings[index] of the ids at `in` (kInputs) -> `width` floats at `out`
    kConcat,      // concats[index] -> `out` (int8)
  };
  Op() = default;
  explicit Op(Kind k) : kind(k) {}
  Kind kind = kGemm;
  int32_t index = 0;
  Place in, in2, out;
  int32_t width = 0;
};

struct MixPlan {
  int32_t experts_buffer = 0;           // every mixed tensor lives in this buffer
  std::vector<int32_t> expert_offsets;  // per mixed tensor: its first element in a row
  const int32_t* zero_points = nullptr;
  const float* scales = nullptr;
  bool experts_int16 = false;
  int32_t probs_buffer = -1;  // -1: no gate
  int32_t n = 0;
  int32_t width = 0;
  MixOutput out;
};

// A concat's inputs (float: in the arena, or the caller's features) quantized side by side.
struct ConcatPlan {
  int32_t params = 0;         // ModelData::concats index
  std::vector<Place> inputs;  // per input
  std::vector<int32_t> widths;
};

struct Program {
  std::vector<BufferDesc> buffers;
  std::vector<PackedGemm> gemms;
  std::vector<std::vector<SegmentTarget>> targets;  // per GEMM, per segment
  std::vector<Op> ops;
  std::vector<MixPlan> mixes;
  std::vector<ConcatPlan> concats;
  int32_t input_buffer = -1;  // a model quantizing its one input with one scale: where it goes
  int32_t num_tasks = 0;

  // Storage the pointers above refer to, on 64-byte boundaries (CacheLineVector).
  CacheLineVector<int8_t> weights8;
  CacheLineVector<int16_t> weights16;
  CacheLineVector<int8_t> weights16_i8;  // int16-packed weights as int8 (Segment::weights_i8)
  CacheLineVector<int32_t> ints;
  CacheLineVector<float> floats;
};

struct ModelData;
struct GemmKernels;
// What `kernels` need of a program.
PlanCaps PlanCapsOf(const GemmKernels& kernels);
// Builds the program of `model` for kernels with capabilities `caps`.
void BuildProgram(const ModelData& model, const PlanCaps& caps, Program* program);

}  // namespace mmoe
