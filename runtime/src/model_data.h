// The verified, prepared form of a model file: what sessions execute.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "mmoe/status.h"

namespace mmoe {
namespace fb {
struct Model;
}
struct Program;
enum class WeightLayout : uint8_t;

// Owns (or borrows) the model file's bytes.
class ModelBytes {
 public:
  virtual ~ModelBytes() = default;
  virtual const uint8_t* data() const = 0;
  virtual size_t size() const = 0;
};

struct MlpPlan {
  std::vector<DenseLayer> layers;
};

struct GatePlan {
  MlpPlan mlp;
  std::vector<int32_t> experts;
};

struct TaskPlan {
  const char* name = nullptr;
  int32_t gate = -1;
  int32_t expert = -1;                   // Shared-Bottom
  std::vector<int32_t> mix_zero_points;  // output zero point of each expert it mixes
  const float* mix_scales = nullptr;     // per mixed expert, in the file
  MixOutput mix;
  MlpPlan tower;
  bool sigmoid = true;
};

struct ModelData {
  ModelData();
  ~ModelData();
  // The fused execution plan with int8 weights packed in `layout`, built on first use and
  // shared by every session (thread-safe).
  const Program& GetProgram(WeightLayout layout) const;

  std::unique_ptr<ModelBytes> bytes;
  size_t flatbuffer_size = 0;  // bytes->size() without the checksum trailer
  const fb::Model* model = nullptr;
  int format_major = 0, format_minor = 0;
  bool checksum_verified = false;
  std::vector<int32_t> folded_bias;  // every layer's bias with its input zero point folded in

  int32_t input_dim = 0;
  float input_scale = 0.0f;
  float input_inv_scale = 0.0f;  // 1.0f / input_scale, the multiplier QuantizeFeature uses
  int32_t input_zero_point = 0;
  std::vector<MlpPlan> experts;
  int32_t expert_width = 0;
  ElementType expert_type = ElementType::kInt8;
  std::vector<int32_t> expert_zero_points;
  std::vector<GatePlan> gates;
  std::vector<TaskPlan> tasks;
  int32_t max_gate_experts = 0;
  int32_t max_layer_width = 0;  // widest layer input or output anywhere (hidden tensors)
  int64_t parameters = 0;
  int64_t macs = 0;

 private:
  mutable std::once_flag program_once_[3];  // one per WeightLayout
  mutable std::unique_ptr<Program> programs_[3];
};

// Verifies `bytes` (identifier, version, checksum trailer unless `options` turn it off,
// FlatBuffers verifier, then every invariant of docs/numerics.md) and prepares the execution
// plan. On failure `data` is left unusable and the status names the offending part.
struct LoadOptions;
Status VerifyAndPrepare(std::unique_ptr<ModelBytes> bytes, const LoadOptions& options, ModelData* data);

}  // namespace mmoe
