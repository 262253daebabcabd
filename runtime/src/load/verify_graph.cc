// Verification of a decoded model graph. Nothing from the file is trusted: the FlatBuffers
// verifier has bounded every offset, and here each invariant the kernels rely on is checked,
// so that a hostile file gets an error naming the part at fault instead of a crash, an
// out-of-bounds read or an integer overflow. Nothing is computed for later use here
// (PrepareModel does that, from a graph that passed).
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/kernels.h"
#include "load/file_graph.h"
#include "mmoe/mmoe.h"
#include "numerics.h"

namespace mmoe {
namespace {

using graph::Node;
using graph::Op;
using graph::Tensor;
using graph::TensorType;

using numerics::kMaxMultiplier;
using numerics::kMinMultiplier;
// Mix scales keep softmax probability x scale a normal float (see numerics::kSoftmaxFloor).
constexpr float kMinMixScale = 0x1p-30f;
constexpr float kMaxMixScale = 0x1p30f;

bool Quantized(const Tensor& t) { return t.type == TensorType::kInt8 || t.type == TensorType::kInt16; }

class GraphVerifier {
 public:
  explicit GraphVerifier(const FileGraph& f) : f_(f), g_(f.graph) {}
  Status Run();

 private:
  Status CheckTensor(size_t i);
  Status CheckDense(size_t i);
  Status CheckActivation(size_t i);
  Status CheckMixture(size_t i);
  Status CheckEmbedding(size_t i);
  Status CheckConcat(size_t i);
  Status CheckTables();
  Status CheckInputs();
  Status CheckPacked();
  // Float nodes: softmax, sigmoid, product.
  Status CheckFloat(size_t i);
  // A layer's declared quantization `q` (format 1) against the tensor it reads.
  Status CheckDeclaredInput(const char* where, const fb::ActivationQuant* q, const Tensor& t);

  // Labels for messages (format 2's made on demand by FileGraph).
  const char* Where(size_t node) const;
  // The input that gives tensor t, or -1.
  int32_t InputOf(int32_t t) const {
    for (size_t i = 0; i < g_.inputs.size(); ++i)
      if (g_.inputs[i].tensor == t) return static_cast<int32_t>(i);
    return -1;
  }
  const char* TensorWhere(int32_t t) const;

  const FileGraph& f_;
  const graph::Graph& g_;
  mutable std::string label_;                    // the last label Where or TensorWhere made
  std::vector<int32_t> producer_;                // per tensor: the node computing it, or -1
  std::vector<std::vector<int32_t>> consumers_;  // per tensor: the nodes reading it
};

const char* GraphVerifier::Where(size_t node) const {
  label_ = f_.NodeWhere(node);
  return label_.c_str();
}

const char* GraphVerifier::TensorWhere(int32_t t) const {
  label_ = f_.TensorWhere(static_cast<size_t>(t));
  return label_.c_str();
}

Status GraphVerifier::CheckTensor(size_t i) {
  const Tensor& t = g_.tensors[i];
  const char* where = TensorWhere(static_cast<int32_t>(i));
  if (t.width <= 0 || static_cast<uint32_t>(t.width) > kMaxWidth) {
    return Status::Error(StatusCode::kInvalidModel, "%s: width %d is 0 or above %u", where, t.width,
                         kMaxWidth);
  }
  if (t.type == TensorType::kId) {
    if (t.width != 1 || producer_[i] >= 0) {
      return Status::Error(
          StatusCode::kInvalidModel,
          "%s: an id tensor is a sparse input's, one id or bag per item (width 1), not computed", where);
    }
    return Status::Ok();
  }
  if (!Quantized(t)) return Status::Ok();
  if (!std::isfinite(t.scale) || !(t.scale > 0.0f) || !std::isnormal(t.scale)) {
    return Status::Error(StatusCode::kInvalidModel, "%s scale %g is not a finite positive number", where,
                         static_cast<double>(t.scale));
  }
  if (t.type == TensorType::kInt8 && (t.zero_point < -128 || t.zero_point > 127)) {
    return Status::Error(StatusCode::kInvalidModel, "%s int8 zero point %d is outside [-128, 127]", where,
                         t.zero_point);
  }
  if (t.type == TensorType::kInt16 && t.zero_point != 0) {
    return Status::Error(StatusCode::kInvalidModel, "%s int16 zero point %d must be 0", where, t.zero_point);
  }
  return Status::Ok();
}

Status GraphVerifier::CheckDeclaredInput(const char* where, const fb::ActivationQuant* q, const Tensor& t) {
  if (!q) {
    if (f_.format_major == 1) {
      return Status::Error(StatusCode::kInvalidModel, "%s: input quantization is missing", where);
    }
    return Status::Ok();
  }
  const TensorType type = q->type() == fb::ElementType::INT16  ? TensorType::kInt16
                          : q->type() == fb::ElementType::INT8 ? TensorType::kInt8
                                                               : TensorType::kFloat;
  const float s = q->scale();
  if (type != t.type || q->zero_point() != t.zero_point || std::memcmp(&s, &t.scale, sizeof(float)) != 0) {
    return Status::Error(StatusCode::kInvalidModel,
                         "%s: input quantization differs from the tensor that feeds it", where);
  }
  return Status::Ok();
}

Status GraphVerifier::CheckDense(size_t i) {
  const Node& n = g_.nodes[i];
  const char* where = Where(i);
  const fb::Dense* d = f_.dense[static_cast<size_t>(n.param)];
  const Tensor& x = g_.tensors[n.inputs[0]];
  const Tensor& y = g_.tensors[n.output];
  const uint32_t in = d->in_features(), out = d->out_features();
  if (in == 0 || out == 0 || in > kMaxWidth || out > kMaxWidth) {
    return Status::Error(StatusCode::kInvalidModel, "%s: shape [%u x %u] is empty or wider than %u", where,
                         out, in, kMaxWidth);
  }
  if (!Quantized(x)) {
    return Status::Error(StatusCode::kInvalidModel,
                         "%s: reads '%s', a float32 tensor; a dense layer reads int8 or int16", where,
                         x.name.c_str());
  }
  if (in != static_cast<uint32_t>(x.width)) {
    return Status::Error(StatusCode::kInvalidModel, "%s: reads %u features but its input has %d", where, in,
                         x.width);
  }
  if (out != static_cast<uint32_t>(y.width)) {
    return Status::Error(StatusCode::kInvalidModel,
                         "%s: has %u outputs but its output tensor '%s' has width %d", where, out,
                         y.name.c_str(), y.width);
  }
  if (Status s = CheckDeclaredInput(where, d->input(), x); !s.ok()) return s;
  const uint64_t n_weights = static_cast<uint64_t>(in) * out;
  if (d->weights()->size() != n_weights) {
    return Status::Error(StatusCode::kInvalidModel, "%s: weights has %u values, expected %llu (%u x %u)",
                         where, d->weights()->size(), static_cast<unsigned long long>(n_weights), out, in);
  }
  struct {
    const char* name;
    uint32_t size;
  } per_channel[] = {{"weight_scales", d->weight_scales()->size()},
                     {"bias", d->bias()->size()},
                     {"multipliers", d->multipliers()->size()}};
  for (const auto& v : per_channel) {
    if (v.size != out) {
      return Status::Error(StatusCode::kInvalidModel, "%s: %s has %u values, expected %u (one per output)",
                           where, v.name, v.size, out);
    }
  }
  const int8_t* w = d->weights()->data();
  for (uint64_t k = 0; k < n_weights; ++k) {
    if (w[k] == -128) {
      return Status::Error(StatusCode::kInvalidModel,
                           "%s: weight %llu is -128; symmetric int8 weights lie in [-127, 127]", where,
                           static_cast<unsigned long long>(k));
    }
  }
  for (uint32_t c = 0; c < out; ++c) {
    const float ws = d->weight_scales()->Get(c), m = d->multipliers()->Get(c);
    if (!std::isfinite(ws) || !(ws > 0.0f)) {
      return Status::Error(StatusCode::kInvalidModel, "%s: weight scale %u is %g, not finite and positive",
                           where, c, static_cast<double>(ws));
    }
    if (!(m >= kMinMultiplier && m <= kMaxMultiplier)) {
      return Status::Error(StatusCode::kInvalidModel, "%s: multiplier %u is %g, outside [2^-64, 2^30]", where,
                           c, static_cast<double>(m));
    }
  }
  const bool accumulator = y.type == TensorType::kFloat;
  const fb::OutputKind kind = accumulator ? fb::OutputKind::ACCUMULATOR : fb::OutputKind::REQUANTIZED;
  if (d->output_kind() != kind) {
    return Status::Error(StatusCode::kInvalidModel, "%s: output kind %d does not match its %s output tensor",
                         where, static_cast<int>(d->output_kind()), graph::TensorTypeName(y.type));
  }
  if (d->activation() != fb::Activation::NONE && d->activation() != fb::Activation::RELU) {
    return Status::Error(StatusCode::kInvalidModel, "%s: unknown activation %d", where,
                         static_cast<int>(d->activation()));
  }
  if (accumulator && d->activation() != fb::Activation::NONE) {
    return Status::Error(StatusCode::kInvalidModel,
                         "%s: an accumulator-output layer cannot have an activation", where);
  }
  // acc = folded_bias + sum_k w * x must stay in int32 for every input: |w| <= 127 and
  // |x| <= 128 (int8) or 32768 (int16), and the folded bias adds -sum_k zp_k * w_k.
  const int64_t x_max = x.type == TensorType::kInt16 ? 32768 : 128;
  const std::vector<int32_t> zp = ColumnZeroPoints(g_, f_.concats, n.inputs[0], producer_[n.inputs[0]]);
  for (uint32_t c = 0; c < out; ++c) {
    int64_t wzp = 0;
    for (uint32_t k = 0; k < in; ++k)
      wzp += static_cast<int64_t>(zp[k]) * w[static_cast<uint64_t>(c) * in + k];
    const int64_t folded = static_cast<int64_t>(d->bias()->Get(c)) - wzp;
    const int64_t bound = (folded < 0 ? -folded : folded) + static_cast<int64_t>(in) * 127 * x_max;
    if (bound > INT32_MAX) {
      return Status::Error(StatusCode::kInvalidModel,
                           "%s: output %u can overflow its int32 accumulator (bias %d, %u inputs)", where, c,
                           d->bias()->Get(c), in);
    }
  }
  return Status::Ok();
}

Status GraphVerifier::CheckActivation(size_t i) {
  const Node& n = g_.nodes[i];
  const char* where = Where(i);
  const fb::ActivationTable* a = f_.activations[static_cast<size_t>(n.param)];
  const Tensor& x = g_.tensors[n.inputs[0]];
  const Tensor& y = g_.tensors[n.output];
  if (!Quantized(x) || x.type != y.type || x.width != y.width) {
    return Status::Error(StatusCode::kInvalidModel,
                         "%s: maps '%s' (%s, %d wide) to '%s' (%s, %d wide); an activation maps a quantized "
                         "tensor to one of the same type and width",
                         where, x.name.c_str(), graph::TensorTypeName(x.type), x.width, y.name.c_str(),
                         graph::TensorTypeName(y.type), y.width);
  }
  const bool int16 = x.type == TensorType::kInt16;
  const uint32_t entries = int16 ? kTable16Entries : kTable8Entries;
  const uint32_t size =
      int16 ? (a->table16() ? a->table16()->size() : 0) : (a->table8() ? a->table8()->size() : 0);
  const uint32_t other =
      int16 ? (a->table8() ? a->table8()->size() : 0) : (a->table16() ? a->table16()->size() : 0);
  if ((size != entries && size != entries * static_cast<uint32_t>(x.width)) || other != 0) {
    return Status::Error(
        StatusCode::kInvalidModel,
        "%s: %s tables hold %u entries; expected %u (one table) or %u (one per channel), and no %s "
        "table",
        where, int16 ? "int16" : "int8", size, entries, entries * static_cast<uint32_t>(x.width),
        int16 ? "int8" : "int16");
  }
  return Status::Ok();
}

Status GraphVerifier::CheckMixture(size_t i) {
  const Node& n = g_.nodes[i];
  const char* where = Where(i);
  const Tensor& y = g_.tensors[n.output];
  const int32_t mixed = n.num_experts();
  if (!Quantized(y)) {
    return Status::Error(StatusCode::kInvalidModel,
                         "%s: writes '%s', a float32 tensor; a mixture's output is quantized", where,
                         y.name.c_str());
  }
  if (mixed < 1 || static_cast<uint32_t>(mixed) > kMaxMixed) {
    return Status::Error(StatusCode::kInvalidModel, "%s: mixes %d tensors, expected 1 to %u", where, mixed,
                         kMaxMixed);
  }
  if (n.gated) {
    // Softmax probabilities are at least e^-32 / 256, so that every mixing coefficient stays a
    // normal float (docs/numerics.md, "Gate softmax"): other float tensors could be denormal.
    if (producer_[n.inputs[0]] < 0 || g_.nodes[producer_[n.inputs[0]]].op != Op::kSoftmax) {
      return Status::Error(StatusCode::kInvalidModel, "%s: its probabilities '%s' are not a softmax's output",
                           where, g_.tensors[n.inputs[0]].name.c_str());
    }
    const Tensor& p = g_.tensors[n.inputs[0]];
    if (p.type != TensorType::kFloat || p.width != mixed) {
      return Status::Error(
          StatusCode::kInvalidModel,
          "%s: its probabilities '%s' are %s and %d wide; expected float32, one per mixed tensor (%d)", where,
          p.name.c_str(), graph::TensorTypeName(p.type), p.width, mixed);
    }
  }
  const TensorType type = g_.tensors[n.experts()[0]].type;
  for (int32_t j = 0; j < mixed; ++j) {
    const Tensor& e = g_.tensors[n.experts()[j]];
    if (!Quantized(e) || e.type != type || e.width != y.width) {
      return Status::Error(
          StatusCode::kInvalidModel,
          "%s: mixes '%s' (%s, %d wide); every mixed tensor must be quantized with one type and "
          "have the output's width (%d)",
          where, e.name.c_str(), graph::TensorTypeName(e.type), e.width, y.width);
    }
    if (producer_[n.experts()[j]] < 0) {
      return Status::Error(StatusCode::kInvalidModel,
                           "%s: mixes the model's input '%s'; a mixture mixes computed tensors", where,
                           e.name.c_str());
    }
  }
  const flatbuffers::Vector<float>* scales = f_.mix_scales[i];
  const uint32_t n_scales = scales ? scales->size() : 0;
  if (n_scales != static_cast<uint32_t>(mixed)) {
    return Status::Error(StatusCode::kInvalidModel, "%s: %u mix scales for %d mixed experts", where, n_scales,
                         mixed);
  }
  for (int32_t j = 0; j < mixed; ++j) {
    const float ms = scales->Get(static_cast<uint32_t>(j));
    if (!(ms >= kMinMixScale && ms <= kMaxMixScale)) {
      return Status::Error(StatusCode::kInvalidModel, "%s: mix scale %d is %g, outside [2^-30, 2^30]", where,
                           j, static_cast<double>(ms));
    }
  }
  return Status::Ok();
}

Status GraphVerifier::CheckTables() {
  const fb::Model* m = f_.model;
  const uint32_t n_tables = m->embedding_tables() ? m->embedding_tables()->size() : 0;
  const uint32_t n_segments = m->segments() ? m->segments()->size() : 0;
  if (n_tables > kMaxTables || n_segments > kMaxTables) {
    return Status::Error(StatusCode::kInvalidModel, "model: %u embedding tables and %u segments, at most %u",
                         n_tables, n_segments, kMaxTables);
  }
  if (n_segments > 0 && !f_.segments) {
    return Status::Error(StatusCode::kInvalidModel,
                         "model: %u segments but no segment footer (\"MMSG\") before the trailer",
                         n_segments);
  }
  for (uint32_t i = 0; i < n_segments; ++i) {
    const fb::Segment* seg = m->segments()->Get(i);
    const uint64_t offset = seg->offset(), size = seg->size();
    if (offset % kSegmentAlign != 0 || offset > f_.segments_size || size > f_.segments_size - offset) {
      return Status::Error(
          StatusCode::kInvalidModel,
          "segments[%u]: bytes [%llu, +%llu) are not 64-byte aligned within the %zu bytes of "
          "segments",
          i, static_cast<unsigned long long>(offset), static_cast<unsigned long long>(size),
          f_.segments_size);
    }
    if (f_.verify_tables) {
      const uint32_t crc = Crc32c(f_.segments + offset, static_cast<size_t>(size));
      if (crc != seg->crc32c()) {
        return Status::Error(
            StatusCode::kChecksumMismatch,
            "segments[%u]: CRC-32C of its %llu bytes is 0x%08x but the file says 0x%08x; the "
            "file is damaged",
            i, static_cast<unsigned long long>(size), crc, seg->crc32c());
      }
    }
  }
  for (uint32_t i = 0; i < n_tables; ++i) {
    const fb::EmbeddingTable* t = m->embedding_tables()->Get(i);
    const char* name = t->name() ? t->name()->c_str() : "";
    if (t->rows() == 0 || t->rows() > kMaxTableRows || t->dim() == 0 || t->dim() > kMaxWidth) {
      return Status::Error(StatusCode::kInvalidModel,
                           "embedding_tables[%u] (%s): %llu rows of %u; expected 1 to 2^40 rows of 1 to %u",
                           i, name, static_cast<unsigned long long>(t->rows()), t->dim(), kMaxWidth);
    }
    if (t->format() != fb::RowFormat::UINT8_ROWWISE) {
      return Status::Error(StatusCode::kInvalidModel, "embedding_tables[%u] (%s): unknown row format %d", i,
                           name, static_cast<int>(t->format()));
    }
    if (t->segment() >= n_segments) {
      return Status::Error(StatusCode::kInvalidModel, "embedding_tables[%u] (%s): segment %u of %u", i, name,
                           t->segment(), n_segments);
    }
    const uint64_t expected = t->rows() * RowBytes(t->dim());  // < 2^40 * 2^17: no overflow
    if (m->segments()->Get(t->segment())->size() != expected) {
      return Status::Error(
          StatusCode::kInvalidModel,
          "embedding_tables[%u] (%s): segment %u holds %llu bytes; %llu rows of %u need %llu", i, name,
          t->segment(), static_cast<unsigned long long>(m->segments()->Get(t->segment())->size()),
          static_cast<unsigned long long>(t->rows()), t->dim(), static_cast<unsigned long long>(expected));
    }
  }
  return Status::Ok();
}

Status GraphVerifier::CheckInputs() {
  if (g_.inputs.empty() || g_.inputs.size() > kMaxInputs) {
    return Status::Error(StatusCode::kInvalidModel, "model: %zu inputs, expected 1 to %u", g_.inputs.size(),
                         kMaxInputs);
  }
  for (size_t i = 0; i < g_.inputs.size(); ++i) {
    const graph::Input& input = g_.inputs[i];
    const Tensor& x = g_.tensors[input.tensor];
    for (size_t j = 0; j < i; ++j) {
      if (g_.inputs[j].name == input.name) {
        return Status::Error(StatusCode::kInvalidModel, "inputs[%zu]: the name '%s' is taken by inputs[%zu]",
                             i, input.name.c_str(), j);
      }
    }
    const bool dense = input.kind == graph::InputKind::kDense;
    const bool ok_type =
        dense ? (x.type == TensorType::kInt8 || x.type == TensorType::kInt16 || x.type == TensorType::kFloat)
              : x.type == TensorType::kId;
    if (!ok_type) {
      return Status::Error(
          StatusCode::kInvalidModel,
          "inputs[%zu] ('%s') is %s but its tensor %s is %s; dense inputs are int8, int16 or float32, ids "
          "and bags id tensors",
          i, input.name.c_str(), graph::InputKindName(input.kind), TensorWhere(input.tensor),
          graph::TensorTypeName(x.type));
    }
    if (!input.feature_names.empty() &&
        (!dense || input.feature_names.size() != static_cast<size_t>(x.width))) {
      return Status::Error(StatusCode::kInvalidModel, "inputs[%zu] ('%s'): %zu feature names for %d features",
                           i, input.name.c_str(), input.feature_names.size(), x.width);
    }
    if ((x.type == TensorType::kInt8 || x.type == TensorType::kInt16) && g_.inputs.size() > 1) {
      return Status::Error(
          StatusCode::kInvalidModel,
          "inputs[%zu] ('%s') is %s (quantized with one scale), which only a model's one input "
          "can be; with several inputs, dense features are float32 and a concat quantizes them",
          i, input.name.c_str(), graph::TensorTypeName(x.type));
    }
    if (x.type == TensorType::kId && consumers_[input.tensor].size() != 1) {
      return Status::Error(
          StatusCode::kInvalidModel,
          "inputs[%zu] ('%s'): its ids are read by %zu nodes; one embedding reads them (features "
          "sharing a table are inputs of their own)",
          i, input.name.c_str(), consumers_[input.tensor].size());
    }
    // Caller-given floats and ids are read where the caller holds them, by concat and
    // embedding nodes only.
    for (int32_t c : consumers_[input.tensor]) {
      const Op op = g_.nodes[c].op;
      const bool ok = x.type == TensorType::kFloat
                          ? op == Op::kConcat
                          : (x.type == TensorType::kId ? op == Op::kEmbedding : true);
      if (!ok) {
        return Status::Error(StatusCode::kInvalidModel,
                             "%s reads input '%s' (%s); only %s nodes read such inputs",
                             Where(static_cast<size_t>(c)), input.name.c_str(), graph::TensorTypeName(x.type),
                             x.type == TensorType::kFloat ? "concat" : "embedding");
      }
    }
  }
  return CheckPacked();
}

// Format 2.2's packed row: graph::MisplacedPackedInput's rules, and no int8 input.
Status GraphVerifier::CheckPacked() {
  const graph::PackedInput& p = g_.packed;
  if (!p.present()) return Status::Ok();
  int32_t bad = graph::MisplacedPackedInput(g_);
  for (size_t i = 0; bad < 0 && i < g_.inputs.size(); ++i) {  // int8 inputs (one scale) are not packed
    if (g_.tensors[g_.inputs[i].tensor].type == TensorType::kInt8) bad = static_cast<int32_t>(i);
  }
  if (bad < 0) return Status::Ok();
  return Status::Error(StatusCode::kInvalidModel,
                       "packed_input '%s' (%d columns): inputs[%d] does not fit its columns", p.name.c_str(),
                       p.width, bad);
}

Status GraphVerifier::CheckEmbedding(size_t i) {
  const Node& n = g_.nodes[i];
  const char* where = Where(i);
  const fb::Embedding* e = f_.embeddings[static_cast<size_t>(n.param)];
  const Tensor& y = g_.tensors[n.output];
  const int32_t input = InputOf(n.inputs[0]);
  if (input < 0 || g_.tensors[n.inputs[0]].type != TensorType::kId) {
    return Status::Error(StatusCode::kInvalidModel, "%s: reads '%s', which is not an ids or bag input", where,
                         g_.tensors[n.inputs[0]].name.c_str());
  }
  const bool bag = g_.inputs[static_cast<size_t>(input)].kind == graph::InputKind::kBag;
  const fb::Pooling pooling = e->pooling();
  if (bag ? (pooling != fb::Pooling::SUM && pooling != fb::Pooling::MEAN) : pooling != fb::Pooling::NONE) {
    return Status::Error(StatusCode::kInvalidModel,
                         "%s: pooling %d for %s input '%s'; an ids input takes NONE, a bag SUM or MEAN",
                         where, static_cast<int>(pooling), bag ? "a bag" : "an ids",
                         g_.inputs[static_cast<size_t>(input)].name.c_str());
  }
  if (e->has_padding_id() && !bag) {
    return Status::Error(StatusCode::kInvalidModel, "%s: a padding id applies to bags only", where);
  }
  const uint32_t n_tables = f_.model->embedding_tables() ? f_.model->embedding_tables()->size() : 0;
  if (e->table() >= n_tables) {
    return Status::Error(StatusCode::kInvalidModel, "%s: reads embedding table %u of %u", where, e->table(),
                         n_tables);
  }
  const uint32_t dim = f_.model->embedding_tables()->Get(e->table())->dim();
  if (y.type != TensorType::kFloat || static_cast<uint32_t>(y.width) != dim) {
    return Status::Error(StatusCode::kInvalidModel,
                         "%s: writes '%s' (%s, %d wide); the table's rows are %u floats", where,
                         y.name.c_str(), graph::TensorTypeName(y.type), y.width, dim);
  }
  if (e->bad_id() == fb::BadId::DEFAULT_ROW) {
    const flatbuffers::Vector<float>* row = e->default_row();
    if (!row || row->size() != dim) {
      return Status::Error(StatusCode::kInvalidModel,
                           "%s: the default row has %u values; the table's rows have %u", where,
                           row ? row->size() : 0, dim);
    }
    for (uint32_t c = 0; c < dim; ++c) {
      if (!std::isfinite(row->Get(c))) {
        return Status::Error(StatusCode::kInvalidModel, "%s: default row value %u is not finite", where, c);
      }
    }
  } else if (e->bad_id() != fb::BadId::ERROR) {
    return Status::Error(StatusCode::kInvalidModel, "%s: unknown bad-id policy %d", where,
                         static_cast<int>(e->bad_id()));
  }
  return Status::Ok();
}

Status GraphVerifier::CheckConcat(size_t i) {
  const Node& n = g_.nodes[i];
  const char* where = Where(i);
  const fb::Concat* c = f_.concats[static_cast<size_t>(n.param)];
  const Tensor& y = g_.tensors[n.output];
  int64_t width = 0;
  for (size_t j = 0; j < n.inputs.size(); ++j) {
    const Tensor& x = g_.tensors[n.inputs[j]];
    if (x.type != TensorType::kFloat) {
      return Status::Error(StatusCode::kInvalidModel,
                           "%s: input %zu '%s' is %s; a concat quantizes float32 tensors", where, j,
                           x.name.c_str(), graph::TensorTypeName(x.type));
    }
    width += x.width;
  }
  if (y.type != TensorType::kInt8 || y.width != width || y.scale != 1.0f || y.zero_point != 0) {
    return Status::Error(
        StatusCode::kInvalidModel,
        "%s: writes '%s' (%s, %d wide, scale %g, zero point %d); expected int8, %lld wide, scale 1 "
        "and zero point 0 (each column's own quantization is the node's)",
        where, y.name.c_str(), graph::TensorTypeName(y.type), y.width, static_cast<double>(y.scale),
        y.zero_point, static_cast<long long>(width));
  }
  if (c->scales()->size() != static_cast<uint32_t>(width) ||
      c->zero_points()->size() != static_cast<uint32_t>(width)) {
    return Status::Error(StatusCode::kInvalidModel, "%s: %u scales and %u zero points for %lld columns",
                         where, c->scales()->size(), c->zero_points()->size(), static_cast<long long>(width));
  }
  for (uint32_t k = 0; k < static_cast<uint32_t>(width); ++k) {
    const float scale = c->scales()->Get(k);
    const int32_t zp = c->zero_points()->Get(k);
    // The concat multiplies by 1 / scale: both must be normal floats.
    if (!std::isnormal(scale) || !(scale > 0.0f) || !std::isnormal(1.0f / scale)) {
      return Status::Error(StatusCode::kInvalidModel,
                           "%s: column %u's scale is %g; expected a normal positive float", where, k,
                           static_cast<double>(scale));
    }
    if (zp < -128 || zp > 127) {
      return Status::Error(StatusCode::kInvalidModel, "%s: column %u's zero point is %d, outside [-128, 127]",
                           where, k, zp);
    }
  }
  for (int32_t r : consumers_[n.output]) {
    if (g_.nodes[r].op != Op::kDense) {
      return Status::Error(
          StatusCode::kInvalidModel,
          "%s reads '%s', a concat's output; only dense layers read those (each column has its "
          "own quantization)",
          Where(static_cast<size_t>(r)), y.name.c_str());
    }
  }
  return Status::Ok();
}

Status GraphVerifier::CheckFloat(size_t i) {
  const Node& n = g_.nodes[i];
  const Tensor& y = g_.tensors[n.output];
  for (int32_t t : n.inputs) {
    const Tensor& x = g_.tensors[t];
    if (x.type != TensorType::kFloat || x.width != y.width || y.type != TensorType::kFloat) {
      return Status::Error(
          StatusCode::kInvalidModel,
          "%s: maps '%s' (%s, %d wide) to '%s' (%s, %d wide); a %s reads and writes float32 tensors "
          "of one width",
          Where(i), x.name.c_str(), graph::TensorTypeName(x.type), x.width, y.name.c_str(),
          graph::TensorTypeName(y.type), y.width, graph::OpName(n.op));
    }
  }
  if (n.op == Op::kProduct) {
    // Products of probabilities (sigmoids, or products of them) stay in [0, 1]; a product of
    // logits could overflow to infinity.
    for (int32_t t : n.inputs) {
      const int32_t p = producer_[t];
      if (p < 0 || (g_.nodes[p].op != Op::kSigmoid && g_.nodes[p].op != Op::kProduct)) {
        return Status::Error(
            StatusCode::kInvalidModel,
            "%s: multiplies '%s', which is not a probability (a sigmoid's or a product's output)", Where(i),
            g_.tensors[t].name.c_str());
      }
    }
  }
  if (n.op == Op::kSoftmax && static_cast<uint32_t>(y.width) > kMaxMixed) {
    return Status::Error(StatusCode::kInvalidModel, "%s: a softmax over %d values; at most %u", Where(i),
                         y.width, kMaxMixed);
  }
  return Status::Ok();
}

Status GraphVerifier::Run() {
  std::string error;
  const int32_t counts[graph::kOpCount] = {
      static_cast<int32_t>(f_.dense.size()),      static_cast<int32_t>(f_.activations.size()), 0, 0, 0, 0,
      static_cast<int32_t>(f_.embeddings.size()), static_cast<int32_t>(f_.concats.size())};
  if (g_.inputs.empty() || g_.inputs.size() > kMaxInputs) {
    return Status::Error(StatusCode::kInvalidModel, "model: %zu inputs, expected 1 to %u", g_.inputs.size(),
                         kMaxInputs);
  }
  if (g_.outputs.empty() || g_.outputs.size() > kMaxOutputs) {
    return Status::Error(StatusCode::kInvalidModel, "model: %zu outputs, expected 1 to %u", g_.outputs.size(),
                         kMaxOutputs);
  }
  if (!graph::CheckStructure(g_, counts, &error)) {
    return Status::Error(StatusCode::kInvalidModel, "model: %s", error.c_str());
  }
  producer_ = graph::Producers(g_);
  consumers_ = graph::Consumers(g_);
  for (size_t t = 0; t < g_.tensors.size(); ++t) {
    if (Status s = CheckTensor(t); !s.ok()) return s;
  }
  if (Status s = CheckInputs(); !s.ok()) return s;
  if (Status s = CheckTables(); !s.ok()) return s;
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    Status s;
    switch (g_.nodes[i].op) {
      case Op::kDense:
        s = CheckDense(i);
        break;
      case Op::kActivation:
        s = CheckActivation(i);
        break;
      case Op::kMixture:
        s = CheckMixture(i);
        break;
      case Op::kSoftmax:
      case Op::kSigmoid:
      case Op::kProduct:
        s = CheckFloat(i);
        break;
      case Op::kEmbedding:
        s = CheckEmbedding(i);
        break;
      case Op::kConcat:
        s = CheckConcat(i);
        break;
    }
    if (!s.ok()) return s;
  }
  for (const graph::Output& o : g_.outputs) {
    const Tensor& t = g_.tensors[o.tensor];
    if (t.type != TensorType::kFloat || t.width != 1 || producer_[o.tensor] < 0) {
      return Status::Error(StatusCode::kInvalidModel,
                           "output '%s': reports '%s' (%s, %d wide); a score is one computed float32",
                           o.name.c_str(), t.name.c_str(), graph::TensorTypeName(t.type), t.width);
    }
  }
  return Status::Ok();
}

}  // namespace

Status VerifyGraph(const FileGraph& file) { return GraphVerifier(file).Run(); }

std::vector<int32_t> ColumnZeroPoints(const graph::Graph& g, const std::vector<const fb::Concat*>& concats,
                                      int32_t t, int32_t producer) {
  const Tensor& x = g.tensors[static_cast<size_t>(t)];
  if (producer < 0 || g.nodes[static_cast<size_t>(producer)].op != Op::kConcat)
    return std::vector<int32_t>(static_cast<size_t>(x.width), x.zero_point);
  const fb::Concat* c = concats[static_cast<size_t>(g.nodes[static_cast<size_t>(producer)].param)];
  return std::vector<int32_t>(c->zero_points()->begin(), c->zero_points()->end());
}

}  // namespace mmoe
