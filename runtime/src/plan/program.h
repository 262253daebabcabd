// The execution plan of the optimised backends: a model's layers regrouped into GEMMs over
// packed weights, and the list of operations that score one tile of items.
//
// What MMoE allows is fused here: every expert's and gate's first layer reads the same
// input, so they form one GEMM whose output columns are split into segments (one per expert
// or gate). Later layers are the diagonal blocks of a block-diagonal product: the layers at
// the same depth of all experts and gates (and then of all towers) that read the same buffer
// run as one grouped GEMM, each segment with its own weights and its own slice of the input
// row. Narrow layers that read adjacent slices (the gates' and towers' later layers) share
// one segment and one 16-column block, their weights on its diagonal. A batch-1 call thus
// makes one kernel call per depth, not one per layer. Weights are
// packed once per model and layout and shared by all sessions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

#include "kernels/kernels.h"

namespace mmoe {

// Packed weight layouts. Output columns come in blocks of 16 (zero-padded); within a block
// the weights of one k-group are contiguous, column-major:
//   kInt8x4:  int8,  [n_pad/16][k_pad/4][16][4]   (x86 VNNI vpdpbusd, ARM sdot)
//   kInt16x2: int16, [n_pad/16][k_pad/2][16][2]   (pmaddwd / vpdpwssd, smlal; int16 inputs)
//   kInt8Rows: int8, [n_pad][k_pad], one contiguous row per column (portable dot products)
enum class WeightLayout : uint8_t { kInt8x4 = 0, kInt16x2 = 1, kInt8Rows = 2 };
constexpr int kWeightLayouts = 3;

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

constexpr int kBlockColumns = 16;
constexpr int kPadK = 4;  // every activation row is padded to a multiple of 4 elements

// One arena buffer holding a tile's tensor: rows of `stride` elements of `type`.
struct BufferDesc {
  DenseOutput type = DenseOutput::kInt8;  // int8, int16 or float
  int32_t stride = 0;                     // elements per row (padded)
};

// One layer of a GEMM: a run of output columns with its own weights and inputs, written to
// one buffer with one element type.
struct Segment {
  int32_t begin = 0;              // first column in the GEMM's per-column tables, a multiple of 16
  int32_t end = 0;                // one past the last real column
  int32_t k = 0, k_pad = 0;       // the layer's inputs; k_pad is a multiple of 4
  int32_t a_offset = 0;           // element of each input row where the layer's inputs start
  const void* weights = nullptr;  // packed (layout of the GEMM), first block = column `begin`
  // int16-input GEMMs: the same weights as int8, in the kInt16x2 order. The one-row kernels
  // widen them as they load (half the bytes a batch-1 call brings into L1).
  const int8_t* weights_i8 = nullptr;
  int32_t buffer = 0;                 // destination buffer
  int32_t dst_offset = 0;             // element of each destination row where column `begin` lands
  const DenseLayer* layer = nullptr;  // the layer these columns compute (in ModelData); nullptr when
                                      // narrow layers share the segment (block diagonal)
  // Requantized segments: clamp bounds (output min - zp, max - zp) and the zero point, which
  // are per layer. Padding columns (multiplier 0) requantize to the zero point.
  float lo = 0.0f, hi = 0.0f;
  int32_t zero_point = 0;
  // |float(acc) * multiplier| < 2^30 for every column and any input (bounded from the weights,
  // bias and input type when packed): rounding cannot overflow int32, so a vector epilogue may
  // round first and clamp after, in integers, with saturating narrowing. Same bytes: lo and hi
  // are integers, so clamp-then-round equals round-then-clamp.
  bool small_products = false;
};

struct PackedGemm {
  int32_t n_pad = 0;  // outputs (all segments); a multiple of 16
  ElementType input = ElementType::kInt8;
  WeightLayout layout = WeightLayout::kInt8x4;
  // Per padded column: folded bias for the signed input; for int8 input also the bias for the
  // input shifted to uint8 (x + 128), which vpdpbusd needs: bias - 128 * sum_k w.
  const int32_t* bias = nullptr;
  const int32_t* bias_u8 = nullptr;
  const float* multiplier = nullptr;
  std::vector<Segment> segments;
  std::vector<DenseOutput> segment_types;  // per segment (the buffer's type)
  int64_t macs = 0;                        // real (unpadded) multiply-accumulates per item
};

struct Op {
  enum Kind : uint8_t { kGemm, kSoftmax, kMix, kTaskOutput } kind;  // after QuantizeInput
  int32_t index = 0;                                                // gemm, gate or task index
  int32_t input = 0;          // buffer read (gemm: segments add their a_offset)
  int32_t output = 0;         // buffer written (softmax: probabilities; mix: tower input)
  int32_t input_offset = 0;   // softmax, task output: element of each row where the logits start
  int32_t output_offset = 0;  // mix: element of each row where the tower input starts
};

struct MixPlan {
  int32_t experts_buffer = 0;           // every expert's output, side by side
  std::vector<int32_t> expert_offsets;  // per mixed expert: its first element in a row
  const int32_t* zero_points = nullptr;
  const float* scales = nullptr;
  int32_t probs_buffer = -1;  // -1: no gate
  int32_t n = 0;
  int32_t width = 0;
  MixOutput out;
};

struct Program {
  std::vector<BufferDesc> buffers;
  std::vector<PackedGemm> gemms;
  std::vector<Op> ops;
  std::vector<MixPlan> mixes;       // per task
  std::vector<int32_t> gate_width;  // per gate: experts it mixes
  std::vector<bool> task_sigmoid;   // per task
  int32_t input_buffer = 0;
  int32_t num_tasks = 0;

  // Storage the pointers above refer to, on 64-byte boundaries (CacheLineVector).
  CacheLineVector<int8_t> weights8;
  CacheLineVector<int16_t> weights16;
  CacheLineVector<int8_t> weights16_i8;  // int16-input GEMMs' weights as int8 (Segment::weights_i8)
  CacheLineVector<int32_t> ints;
  CacheLineVector<float> floats;
};

struct ModelData;
// Builds the program of `model` with weights packed in `layout` for int8-input GEMMs (int16-
// input GEMMs always use kInt16x2).
void BuildProgram(const ModelData& model, WeightLayout int8_layout, Program* program);

}  // namespace mmoe
