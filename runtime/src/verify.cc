// Model verification and preparation. Nothing from the file is trusted: the FlatBuffers
// verifier bounds every offset, then each invariant the kernels rely on is checked here,
// so that a hostile file gets an error naming the part at fault instead of a crash, an
// out-of-bounds read or an integer overflow.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "mmoe/mmoe.h"
#include "mmoe_generated.h"
#include "model_data.h"

namespace mmoe {
namespace {

// Limits that keep every size computation far from overflow and every accumulator exact.
constexpr uint32_t kMaxWidth = 1u << 16;  // features or units in one layer
constexpr uint32_t kMaxLayers = 64;       // layers in one MLP
constexpr uint32_t kMaxExperts = 256;     // experts, and experts one gate mixes
constexpr uint32_t kMaxTasks = 256;
constexpr uint32_t kMaxGates = 256;
// Multipliers stay in a range where float(acc) * m is neither denormal nor infinite.
constexpr float kMinMultiplier = 0x1p-64f;
constexpr float kMaxMultiplier = 0x1p30f;
// Mix scales keep softmax probability x scale a normal float (see numerics::kSoftmaxFloor).
constexpr float kMinMixScale = 0x1p-30f;
constexpr float kMaxMixScale = 0x1p30f;

bool InRange(float m) { return m >= kMinMultiplier && m <= kMaxMultiplier; }

ElementType TypeOf(const fb::ActivationQuant* q) {
  return q->type() == fb::ElementType::INT16 ? ElementType::kInt16 : ElementType::kInt8;
}

// Two tensors are the same quantized tensor only if type, zero point and scale bits agree.
bool SameQuant(const fb::ActivationQuant* a, const fb::ActivationQuant* b) {
  if (!a || !b || a->type() != b->type() || a->zero_point() != b->zero_point()) return false;
  const float sa = a->scale(), sb = b->scale();
  return std::memcmp(&sa, &sb, sizeof(float)) == 0;
}

class Verifier {
 public:
  explicit Verifier(ModelData* data) : d_(data) {}

  Status Run();

 private:
  Status Quant(const fb::ActivationQuant* q, const char* what, const char* path);
  Status Layer(const fb::Dense* layer, const char* path);
  // Checks an MLP whose first layer reads `input` (in_width wide) and ends as `last_kind`.
  Status Mlp(const fb::Mlp* mlp, const char* path, uint32_t in_width, const fb::ActivationQuant* input,
             fb::OutputKind last_kind, MlpPlan* plan);
  void Prepare(const fb::Dense* layer, DenseLayer* out);

  ModelData* d_;
  size_t bias_used_ = 0;
};

Status Verifier::Quant(const fb::ActivationQuant* q, const char* what, const char* path) {
  if (!q) return Status::Error(StatusCode::kInvalidModel, "%s: %s quantization is missing", path, what);
  if (!std::isfinite(q->scale()) || !(q->scale() > 0.0f) || !std::isnormal(q->scale())) {
    return Status::Error(StatusCode::kInvalidModel, "%s: %s scale %g is not a finite positive number", path,
                         what, static_cast<double>(q->scale()));
  }
  if (q->type() == fb::ElementType::INT8) {
    if (q->zero_point() < -128 || q->zero_point() > 127) {
      return Status::Error(StatusCode::kInvalidModel, "%s: %s int8 zero point %d is outside [-128, 127]",
                           path, what, q->zero_point());
    }
  } else if (q->type() == fb::ElementType::INT16) {
    if (q->zero_point() != 0) {
      return Status::Error(StatusCode::kInvalidModel, "%s: %s int16 zero point %d must be 0", path, what,
                           q->zero_point());
    }
  } else {
    return Status::Error(StatusCode::kInvalidModel, "%s: %s has unknown element type %d", path, what,
                         static_cast<int>(q->type()));
  }
  return Status::Ok();
}

Status Verifier::Layer(const fb::Dense* layer, const char* path) {
  const uint32_t in = layer->in_features(), out = layer->out_features();
  if (in == 0 || out == 0 || in > kMaxWidth || out > kMaxWidth) {
    return Status::Error(StatusCode::kInvalidModel, "%s: shape [%u x %u] is empty or wider than %u", path,
                         out, in, kMaxWidth);
  }
  if (Status s = Quant(layer->input(), "input", path); !s.ok()) return s;
  const uint64_t n_weights = static_cast<uint64_t>(in) * out;
  if (layer->weights()->size() != n_weights) {
    return Status::Error(StatusCode::kInvalidModel, "%s: weights has %u values, expected %llu (%u x %u)",
                         path, layer->weights()->size(), static_cast<unsigned long long>(n_weights), out, in);
  }
  struct {
    const char* name;
    uint32_t size;
  } per_channel[] = {{"weight_scales", layer->weight_scales()->size()},
                     {"bias", layer->bias()->size()},
                     {"multipliers", layer->multipliers()->size()}};
  for (const auto& v : per_channel) {
    if (v.size != out) {
      return Status::Error(StatusCode::kInvalidModel, "%s: %s has %u values, expected %u (one per output)",
                           path, v.name, v.size, out);
    }
  }
  const int8_t* w = layer->weights()->data();
  for (uint64_t i = 0; i < n_weights; ++i) {
    if (w[i] == -128) {
      return Status::Error(StatusCode::kInvalidModel,
                           "%s: weight %llu is -128; symmetric int8 weights lie in [-127, 127]", path,
                           static_cast<unsigned long long>(i));
    }
  }
  for (uint32_t c = 0; c < out; ++c) {
    const float ws = layer->weight_scales()->Get(c), m = layer->multipliers()->Get(c);
    if (!std::isfinite(ws) || !(ws > 0.0f)) {
      return Status::Error(StatusCode::kInvalidModel, "%s: weight scale %u is %g, not finite and positive",
                           path, c, static_cast<double>(ws));
    }
    if (!InRange(m)) {
      return Status::Error(StatusCode::kInvalidModel, "%s: multiplier %u is %g, outside [2^-64, 2^30]", path,
                           c, static_cast<double>(m));
    }
  }
  const bool accumulator = layer->output_kind() == fb::OutputKind::ACCUMULATOR;
  if (!accumulator && layer->output_kind() != fb::OutputKind::REQUANTIZED) {
    return Status::Error(StatusCode::kInvalidModel, "%s: unknown output kind %d", path,
                         static_cast<int>(layer->output_kind()));
  }
  if (layer->activation() != fb::Activation::NONE && layer->activation() != fb::Activation::RELU) {
    return Status::Error(StatusCode::kInvalidModel, "%s: unknown activation %d", path,
                         static_cast<int>(layer->activation()));
  }
  if (accumulator && layer->activation() != fb::Activation::NONE) {
    return Status::Error(StatusCode::kInvalidModel,
                         "%s: an accumulator-output layer cannot have an activation", path);
  }
  if (!accumulator) {
    if (Status s = Quant(layer->output(), "output", path); !s.ok()) return s;
  }
  // acc = folded_bias + sum_k w * x must stay in int32 for every input: |w| <= 127 and
  // |x| <= 128 (int8) or 32768 (int16), and the folded bias adds -zp_in * sum_k w.
  const bool int16 = layer->input()->type() == fb::ElementType::INT16;
  const int64_t x_max = int16 ? 32768 : 128;
  const int64_t zp = layer->input()->zero_point();
  for (uint32_t c = 0; c < out; ++c) {
    int64_t wsum = 0;
    for (uint32_t k = 0; k < in; ++k) wsum += w[static_cast<uint64_t>(c) * in + k];
    const int64_t folded = static_cast<int64_t>(layer->bias()->Get(c)) - zp * wsum;
    const int64_t bound = (folded < 0 ? -folded : folded) + static_cast<int64_t>(in) * 127 * x_max;
    if (bound > INT32_MAX) {
      return Status::Error(StatusCode::kInvalidModel,
                           "%s: output %u can overflow its int32 accumulator (bias %d, %u inputs)", path, c,
                           layer->bias()->Get(c), in);
    }
  }
  return Status::Ok();
}

void Verifier::Prepare(const fb::Dense* layer, DenseLayer* out) {
  out->in = static_cast<int32_t>(layer->in_features());
  out->out = static_cast<int32_t>(layer->out_features());
  out->weights = layer->weights()->data();
  out->multipliers = layer->multipliers()->data();
  out->input = TypeOf(layer->input());
  if (layer->output_kind() == fb::OutputKind::ACCUMULATOR) {
    out->output = DenseOutput::kReal;
  } else {
    const bool int16 = layer->output()->type() == fb::ElementType::INT16;
    out->output = int16 ? DenseOutput::kInt16 : DenseOutput::kInt8;
    out->output_zero_point = layer->output()->zero_point();
    out->output_min =
        layer->activation() == fb::Activation::RELU ? out->output_zero_point : (int16 ? -32768 : -128);
    out->output_max = int16 ? 32767 : 127;
  }
  int32_t* bias = d_->folded_bias.data() + bias_used_;
  bias_used_ += layer->out_features();
  const int32_t zp = layer->input()->zero_point();
  for (int32_t c = 0; c < out->out; ++c) {
    int32_t wsum = 0;
    for (int32_t k = 0; k < out->in; ++k) wsum += out->weights[static_cast<size_t>(c) * out->in + k];
    bias[c] = layer->bias()->Get(c) - zp * wsum;  // cannot overflow: checked in Layer()
  }
  out->bias = bias;
  d_->parameters += static_cast<int64_t>(out->in) * out->out + out->out;
  d_->macs += static_cast<int64_t>(out->in) * out->out;
}

Status Verifier::Mlp(const fb::Mlp* mlp, const char* path, uint32_t in_width,
                     const fb::ActivationQuant* input, fb::OutputKind last_kind, MlpPlan* plan) {
  const auto* layers = mlp->layers();
  if (layers->size() == 0 || layers->size() > kMaxLayers) {
    return Status::Error(StatusCode::kInvalidModel, "%s: has %u layers, expected 1 to %u", path,
                         layers->size(), kMaxLayers);
  }
  char lpath[160];
  const fb::ActivationQuant* prev_quant = input;
  uint32_t prev_width = in_width;
  for (uint32_t i = 0; i < layers->size(); ++i) {
    const fb::Dense* layer = layers->Get(i);
    const char* lname = layer->name() ? layer->name()->c_str() : "";
    std::snprintf(lpath, sizeof(lpath), "%s.layers[%u]%s%s%s", path, i, *lname ? " (" : "", lname,
                  *lname ? ")" : "");
    if (Status s = Layer(layer, lpath); !s.ok()) return s;
    if (layer->in_features() != prev_width) {
      return Status::Error(StatusCode::kInvalidModel, "%s: reads %u features but its input has %u", lpath,
                           layer->in_features(), prev_width);
    }
    if (prev_quant && !SameQuant(layer->input(), prev_quant)) {
      return Status::Error(StatusCode::kInvalidModel,
                           "%s: input quantization differs from the tensor that feeds it", lpath);
    }
    const bool last = i + 1 == layers->size();
    const fb::OutputKind want = last ? last_kind : fb::OutputKind::REQUANTIZED;
    if (layer->output_kind() != want) {
      return Status::Error(StatusCode::kInvalidModel, "%s: output must be %s here", lpath,
                           want == fb::OutputKind::REQUANTIZED ? "requantized" : "the accumulator");
    }
    prev_quant = layer->output();
    prev_width = layer->out_features();
    plan->layers.emplace_back();
    Prepare(layer, &plan->layers.back());
    if (!last) {
      d_->max_layer_width = std::max<int32_t>(d_->max_layer_width, static_cast<int32_t>(prev_width));
    }
  }
  return Status::Ok();
}

Status Verifier::Run() {
  const fb::Model* m = d_->model;
  if (m->input_dim() == 0 || m->input_dim() > kMaxWidth) {
    return Status::Error(StatusCode::kInvalidModel, "model: input_dim %u is 0 or above %u", m->input_dim(),
                         kMaxWidth);
  }
  if (m->feature_names() && m->feature_names()->size() != 0 && m->feature_names()->size() != m->input_dim()) {
    return Status::Error(StatusCode::kInvalidModel, "model: %u feature names for %u inputs",
                         m->feature_names()->size(), m->input_dim());
  }
  if (Status s = Quant(m->input(), "input", "model"); !s.ok()) return s;
  if (m->input()->type() != fb::ElementType::INT8) {
    return Status::Error(StatusCode::kInvalidModel, "model: input must be int8");
  }
  const uint32_t n_experts = m->experts()->size();
  const uint32_t n_gates = m->gates() ? m->gates()->size() : 0;
  const uint32_t n_tasks = m->tasks()->size();
  if (n_experts == 0 || n_experts > kMaxExperts) {
    return Status::Error(StatusCode::kInvalidModel, "model: %u experts, expected 1 to %u", n_experts,
                         kMaxExperts);
  }
  if (n_tasks == 0 || n_tasks > kMaxTasks || n_gates > kMaxGates) {
    return Status::Error(StatusCode::kInvalidModel, "model: %u tasks and %u gates (1-%u tasks, 0-%u gates)",
                         n_tasks, n_gates, kMaxTasks, kMaxGates);
  }

  // Size the folded-bias storage once so that pointers into it stay valid. The layers are
  // not checked yet, so the sum is bounded by what the file can hold: every output channel
  // stores a 4-byte bias. Without that bound a few forged out_features asked for gigabytes
  // (found by fuzz_model), and on 32-bit targets the sum could wrap to a short buffer.
  uint64_t total_out = 0;
  auto count = [&](const fb::Mlp* mlp) {
    for (const fb::Dense* l : *mlp->layers()) total_out += l->out_features();
  };
  for (const fb::Mlp* e : *m->experts()) count(e);
  if (m->gates())
    for (const fb::Gate* g : *m->gates()) count(g->mlp());
  for (const fb::Task* t : *m->tasks()) count(t->tower());
  if (total_out > d_->flatbuffer_size / sizeof(int32_t)) {
    return Status::Error(
        StatusCode::kInvalidModel,
        "model: its layers declare %llu outputs in all, more than the biases a %zu-byte file "
        "can hold",
        static_cast<unsigned long long>(total_out), d_->flatbuffer_size);
  }
  d_->folded_bias.assign(static_cast<size_t>(total_out), 0);

  d_->input_dim = static_cast<int32_t>(m->input_dim());
  d_->input_scale = m->input()->scale();
  d_->input_inv_scale = 1.0f / d_->input_scale;
  d_->input_zero_point = m->input()->zero_point();

  char path[64];
  d_->experts.resize(n_experts);
  for (uint32_t e = 0; e < n_experts; ++e) {
    std::snprintf(path, sizeof(path), "experts[%u]", e);
    const fb::Mlp* mlp = m->experts()->Get(e);
    if (Status s = Mlp(mlp, path, m->input_dim(), m->input(), fb::OutputKind::REQUANTIZED, &d_->experts[e]);
        !s.ok())
      return s;
    const fb::Dense* last = mlp->layers()->Get(mlp->layers()->size() - 1);
    if (e == 0) {
      d_->expert_width = static_cast<int32_t>(last->out_features());
      d_->expert_type = TypeOf(last->output());
    }
    if (static_cast<int32_t>(last->out_features()) != d_->expert_width ||
        TypeOf(last->output()) != d_->expert_type) {
      return Status::Error(StatusCode::kInvalidModel,
                           "%s: output width or element type differs from experts[0]'s", path);
    }
    d_->expert_zero_points.push_back(last->output()->zero_point());
  }

  d_->gates.resize(n_gates);
  for (uint32_t g = 0; g < n_gates; ++g) {
    std::snprintf(path, sizeof(path), "gates[%u]", g);
    const fb::Gate* gate = m->gates()->Get(g);
    const auto* idx = gate->experts();
    if (idx->size() == 0 || idx->size() > kMaxExperts) {
      return Status::Error(StatusCode::kInvalidModel, "%s: mixes %u experts, expected 1 to %u", path,
                           idx->size(), kMaxExperts);
    }
    bool seen[kMaxExperts] = {false};
    for (uint32_t j = 0; j < idx->size(); ++j) {
      const uint32_t e = idx->Get(j);
      if (e >= n_experts || seen[e]) {
        return Status::Error(StatusCode::kInvalidModel, "%s: expert index %u is %s", path, e,
                             e >= n_experts ? "out of range" : "repeated");
      }
      seen[e] = true;
      d_->gates[g].experts.push_back(static_cast<int32_t>(e));
    }
    if (Status s = Mlp(gate->mlp(), path, m->input_dim(), m->input(), fb::OutputKind::ACCUMULATOR,
                       &d_->gates[g].mlp);
        !s.ok())
      return s;
    const uint32_t logits = gate->mlp()->layers()->Get(gate->mlp()->layers()->size() - 1)->out_features();
    if (logits != idx->size()) {
      return Status::Error(StatusCode::kInvalidModel, "%s: %u logits for %u experts", path, logits,
                           idx->size());
    }
    d_->max_gate_experts = std::max<int32_t>(d_->max_gate_experts, static_cast<int32_t>(logits));
  }

  d_->tasks.resize(n_tasks);
  for (uint32_t t = 0; t < n_tasks; ++t) {
    std::snprintf(path, sizeof(path), "tasks[%u]", t);
    const fb::Task* task = m->tasks()->Get(t);
    TaskPlan& plan = d_->tasks[t];
    plan.name = task->name()->c_str();
    plan.gate = task->gate();
    plan.expert = task->expert();
    if (plan.gate < -1 || plan.gate >= static_cast<int32_t>(n_gates)) {
      return Status::Error(StatusCode::kInvalidModel, "%s (%s): gate %d is out of range (%u gates)", path,
                           plan.name, plan.gate, n_gates);
    }
    if (plan.gate == -1 && (plan.expert < 0 || plan.expert >= static_cast<int32_t>(n_experts))) {
      return Status::Error(StatusCode::kInvalidModel, "%s (%s): no gate and expert %d is out of range", path,
                           plan.name, plan.expert);
    }
    if (task->output() != fb::TaskOutput::SIGMOID && task->output() != fb::TaskOutput::IDENTITY) {
      return Status::Error(StatusCode::kInvalidModel, "%s (%s): unknown output %d", path, plan.name,
                           static_cast<int>(task->output()));
    }
    plan.sigmoid = task->output() == fb::TaskOutput::SIGMOID;
    if (plan.gate >= 0) {
      for (int32_t e : d_->gates[plan.gate].experts)
        plan.mix_zero_points.push_back(d_->expert_zero_points[e]);
    } else {
      plan.mix_zero_points.push_back(d_->expert_zero_points[plan.expert]);
    }
    const int32_t mixed = static_cast<int32_t>(plan.mix_zero_points.size());
    if (task->mix_scales()->size() != static_cast<uint32_t>(mixed)) {
      return Status::Error(StatusCode::kInvalidModel, "%s (%s): %u mix scales for %d mixed experts", path,
                           plan.name, task->mix_scales()->size(), mixed);
    }
    for (int32_t j = 0; j < mixed; ++j) {
      const float ms = task->mix_scales()->Get(j);
      if (!InRange(ms) || ms > kMaxMixScale || ms < kMinMixScale) {
        return Status::Error(StatusCode::kInvalidModel, "%s (%s): mix scale %d is %g, outside [2^-30, 2^30]",
                             path, plan.name, j, static_cast<double>(ms));
      }
    }
    plan.mix_scales = task->mix_scales()->data();
    const fb::Dense* first = task->tower()->layers()->size() ? task->tower()->layers()->Get(0) : nullptr;
    if (first) {
      if (Status s = Quant(first->input(), "tower input", path); !s.ok()) return s;
      plan.mix.type = TypeOf(first->input());
      plan.mix.zero_point = first->input()->zero_point();
      plan.mix.min = plan.mix.type == ElementType::kInt16 ? -32768 : -128;
      plan.mix.max = plan.mix.type == ElementType::kInt16 ? 32767 : 127;
    }
    char tpath[80];
    std::snprintf(tpath, sizeof(tpath), "%s.tower", path);
    if (Status s = Mlp(task->tower(), tpath, static_cast<uint32_t>(d_->expert_width), nullptr,
                       fb::OutputKind::ACCUMULATOR, &plan.tower);
        !s.ok())
      return s;
    if (plan.tower.layers.back().out != 1) {
      return Status::Error(StatusCode::kInvalidModel, "%s (%s): tower ends with %d outputs, expected 1", path,
                           plan.name, plan.tower.layers.back().out);
    }
    // Mixing costs expert_width MACs per mixed expert, for gated tasks only: the same count as
    // converter::FloatModel::macs(), so that `mmoe convert` and `mmoe inspect` agree.
    if (plan.gate >= 0) d_->macs += static_cast<int64_t>(mixed) * d_->expert_width;
  }
  return Status::Ok();
}

// The checksum trailer (docs/model-format.md): whether the file has one, and whether it matches.
// A matching trailer is checked before anything else is read, so a damaged file is named as
// such rather than as whatever its damage happens to look like.
Status CheckTrailer(const uint8_t* buf, size_t file_size, const LoadOptions& options, bool* has_trailer,
                    size_t* flatbuffer_size) {
  *has_trailer =
      file_size >= 8 + kChecksumTrailerSize && std::memcmp(buf + file_size - 4, kChecksumMagic, 4) == 0;
  *flatbuffer_size = *has_trailer ? file_size - kChecksumTrailerSize : file_size;
  if (!*has_trailer || !options.verify_checksum) return Status::Ok();
  const uint8_t* t = buf + *flatbuffer_size;
  const uint32_t stored = static_cast<uint32_t>(t[0]) | static_cast<uint32_t>(t[1]) << 8 |
                          static_cast<uint32_t>(t[2]) << 16 | static_cast<uint32_t>(t[3]) << 24;
  const uint32_t computed = Crc32c(buf, *flatbuffer_size);
  if (stored != computed) {
    return Status::Error(StatusCode::kChecksumMismatch,
                         "model checksum mismatch: CRC-32C of its %zu bytes is 0x%08x but the trailer says "
                         "0x%08x; the file is damaged (failed download, storage corruption or tampering)",
                         *flatbuffer_size, computed, stored);
  }
  return Status::Ok();
}

}  // namespace

Status VerifyAndPrepare(std::unique_ptr<ModelBytes> bytes, const LoadOptions& options, ModelData* data) {
  const uint8_t* buf = bytes->data();
  const size_t file_size = bytes->size();
  if (file_size < 8 || !flatbuffers::BufferHasIdentifier(buf, fb::ModelIdentifier())) {
    return Status::Error(StatusCode::kNotAModel,
                         "not an mmoe-edge model: the file identifier \"MMOE\" is missing (%zu bytes)",
                         file_size);
  }
  bool has_trailer = false;
  size_t size = 0;  // the FlatBuffer's bytes, without the trailer
  if (Status s = CheckTrailer(buf, file_size, options, &has_trailer, &size); !s.ok()) return s;
  if (size >= FLATBUFFERS_MAX_BUFFER_SIZE) {
    return Status::Error(StatusCode::kCorruptModel, "model is %zu bytes, above the 2 GiB FlatBuffers limit",
                         size);
  }
  // Read the version with a verifier bounded to the root table's fields, before the full
  // verification, so a newer file gets a version message rather than "corrupt".
  {
    flatbuffers::Verifier v(buf, size);
    const flatbuffers::uoffset_t root_offset = flatbuffers::ReadScalar<flatbuffers::uoffset_t>(buf);
    if (root_offset % 4 != 0 || root_offset > size - 4) {
      return Status::Error(StatusCode::kCorruptModel,
                           "model file is corrupt: root offset %u is outside its %zu bytes", root_offset,
                           size);
    }
    const auto* table = flatbuffers::GetRoot<flatbuffers::Table>(buf);
    const auto* root = flatbuffers::GetRoot<fb::Model>(buf);
    if (!table->VerifyTableStart(v) ||
        !table->VerifyField<uint16_t>(v, fb::Model::VT_FORMAT_VERSION_MAJOR, 2) ||
        !table->VerifyField<uint16_t>(v, fb::Model::VT_FORMAT_VERSION_MINOR, 2)) {
      return Status::Error(StatusCode::kCorruptModel, "model file is truncated or its root table is corrupt");
    }
    const unsigned major = root->format_version_major(), minor = root->format_version_minor();
    if (major > kFormatVersionMajor) {
      return Status::Error(StatusCode::kUnsupportedVersion,
                           "model format version %u.%u is newer than this runtime's %d.%d", major, minor,
                           kFormatVersionMajor, kFormatVersionMinor);
    }
    if (major == 0) {
      return Status::Error(StatusCode::kUnsupportedVersion, "model format version 0.%u is not supported",
                           minor);
    }
    // From 1.1 on the converter always writes the trailer: a file without one lost its end.
    if (minor >= 1 && !has_trailer && options.verify_checksum) {
      return Status::Error(
          StatusCode::kChecksumMismatch,
          "model format %u.%u ends in a CRC-32C trailer (\"MMCK\") but this file of %zu bytes "
          "has none: it is truncated or damaged",
          major, minor, file_size);
    }
    data->format_major = static_cast<int>(major);
    data->format_minor = static_cast<int>(minor);
  }
  flatbuffers::Verifier verifier(buf, size);
  if (!fb::VerifyModelBuffer(verifier)) {
    return Status::Error(StatusCode::kCorruptModel,
                         "model file is corrupt: the FlatBuffers verifier rejected it (%zu bytes)", size);
  }
  data->bytes = std::move(bytes);
  data->flatbuffer_size = size;
  data->checksum_verified = has_trailer && options.verify_checksum;
  data->model = fb::GetModel(data->bytes->data());
  return Verifier(data).Run();
}

}  // namespace mmoe
