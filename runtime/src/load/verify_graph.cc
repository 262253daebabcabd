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

namespace mmoe {
namespace {

using graph::Node;
using graph::Op;
using graph::Tensor;
using graph::TensorType;

// Multipliers stay in a range where float(acc) * m is neither denormal nor infinite.
constexpr float kMinMultiplier = 0x1p-64f;
constexpr float kMaxMultiplier = 0x1p30f;
// Mix scales keep softmax probability x scale a normal float (see numerics::kSoftmaxFloor).
constexpr float kMinMixScale = 0x1p-30f;
constexpr float kMaxMixScale = 0x1p30f;

bool Quantized(const Tensor& t) { return t.type != TensorType::kFloat; }

class GraphVerifier {
 public:
  explicit GraphVerifier(const FileGraph& f) : f_(f), g_(f.graph) {}
  Status Run();

 private:
  Status CheckTensor(size_t i);
  Status CheckDense(size_t i);
  Status CheckActivation(size_t i);
  Status CheckMixture(size_t i);
  // Float nodes: softmax, sigmoid, product.
  Status CheckFloat(size_t i);
  // A layer's declared quantization `q` (format 1) against the tensor it reads.
  Status CheckDeclaredInput(const char* where, const fb::ActivationQuant* q, const Tensor& t);

  const char* Where(size_t node) const { return f_.node_where[node].c_str(); }
  const char* TensorWhere(int32_t t) const { return f_.tensor_where[static_cast<size_t>(t)].c_str(); }

  const FileGraph& f_;
  const graph::Graph& g_;
  std::vector<int32_t> producer_;  // per tensor: the node computing it, or -1
};

Status GraphVerifier::CheckTensor(size_t i) {
  const Tensor& t = g_.tensors[i];
  const char* where = f_.tensor_where[i].c_str();
  if (t.width <= 0 || static_cast<uint32_t>(t.width) > kMaxWidth) {
    return Status::Error(StatusCode::kInvalidModel, "%s: width %d is 0 or above %u", where, t.width,
                         kMaxWidth);
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
  // |x| <= 128 (int8) or 32768 (int16), and the folded bias adds -zp_in * sum_k w.
  const int64_t x_max = x.type == TensorType::kInt16 ? 32768 : 128;
  const int64_t zp = x.zero_point;
  for (uint32_t c = 0; c < out; ++c) {
    int64_t wsum = 0;
    for (uint32_t k = 0; k < in; ++k) wsum += w[static_cast<uint64_t>(c) * in + k];
    const int64_t folded = static_cast<int64_t>(d->bias()->Get(c)) - zp * wsum;
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
    if (g_.inputs[0].tensor == n.experts()[j]) {
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
      static_cast<int32_t>(f_.dense.size()), static_cast<int32_t>(f_.activations.size()), 0, 0, 0, 0};
  if (g_.inputs.size() != 1) {
    return Status::Error(StatusCode::kInvalidModel, "model: %zu inputs; this runtime scores models with one",
                         g_.inputs.size());
  }
  if (g_.outputs.empty() || g_.outputs.size() > kMaxOutputs) {
    return Status::Error(StatusCode::kInvalidModel, "model: %zu outputs, expected 1 to %u", g_.outputs.size(),
                         kMaxOutputs);
  }
  if (!graph::CheckStructure(g_, counts, &error)) {
    return Status::Error(StatusCode::kInvalidModel, "model: %s", error.c_str());
  }
  producer_ = graph::Producers(g_);
  for (size_t t = 0; t < g_.tensors.size(); ++t) {
    if (Status s = CheckTensor(t); !s.ok()) return s;
  }
  const graph::Input& input = g_.inputs[0];
  const Tensor& x = g_.tensors[input.tensor];
  if (x.type != TensorType::kInt8) {
    return Status::Error(StatusCode::kInvalidModel, "%s must be int8", TensorWhere(input.tensor));
  }
  if (!input.feature_names.empty() && input.feature_names.size() != static_cast<size_t>(x.width)) {
    return Status::Error(StatusCode::kInvalidModel, "model: %zu feature names for %d inputs",
                         input.feature_names.size(), x.width);
  }
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
    }
    if (!s.ok()) return s;
  }
  for (const graph::Output& o : g_.outputs) {
    const Tensor& t = g_.tensors[o.tensor];
    if (t.type != TensorType::kFloat || t.width != 1) {
      return Status::Error(StatusCode::kInvalidModel,
                           "output '%s': reports '%s' (%s, %d wide); a score is one float32", o.name.c_str(),
                           t.name.c_str(), graph::TensorTypeName(t.type), t.width);
    }
  }
  return Status::Ok();
}

}  // namespace

Status VerifyGraph(const FileGraph& file) { return GraphVerifier(file).Run(); }

}  // namespace mmoe
