// Quantizes a FloatModel's graph with calibrated activation ranges and serialises it to the
// model file format 2.0 (schema/mmoe.fbs). The numerics are those of docs/numerics.md.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <set>

#include "mmoe/converter/calibrate.h"
#include "mmoe/converter/convert.h"
#include "mmoe/converter/tensor_types.h"
#include "mmoe/mmoe.h"
#include "mmoe_generated.h"

namespace mmoe::converter {
namespace {

using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;
using graph::Node;
using graph::Op;
using graph::TensorType;

// Constant data aligned so that a mapped file can be read with aligned SIMD loads.
constexpr size_t kDataAlignment = 16;

std::string NowUtc() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

template <typename T>
Offset<flatbuffers::Vector<T>> AlignedVector(FlatBufferBuilder& b, const std::vector<T>& v) {
  b.ForceVectorAlignment(v.size(), sizeof(T), kDataAlignment);
  return b.CreateVector(v);
}

class Writer {
 public:
  Writer(const FloatModel& model, const ActivationStats& stats, const ConvertOptions& options,
         std::vector<std::string>* warnings)
      : m_(model), g_(model.graph), stats_(stats), options_(options), warnings_(warnings) {}

  std::vector<uint8_t> Build(int64_t calibration_rows);

 private:
  // One dense node reading tensor `x` (mean `x_mean` over the calibration rows) and writing `y`.
  Offset<fb::Dense> Dense(const FloatDense& layer, int32_t x, int32_t y);
  // An activation node's tables, from its input's quantization to its output's.
  Offset<fb::ActivationTable> Tables(const FloatActivation& f, int32_t x, int32_t y);

  const FloatModel& m_;
  const graph::Graph& g_;
  const ActivationStats& stats_;
  const ConvertOptions& options_;
  std::vector<std::string>* warnings_;
  std::vector<QuantParams> quant_;  // per tensor (float tensors: unused)
  std::vector<TensorType> types_;
  FlatBufferBuilder b_{64 * 1024};
};

Offset<fb::Dense> Writer::Dense(const FloatDense& layer, int32_t x, int32_t y) {
  const QuantParams& input = quant_[x];
  const bool accumulator = types_[y] == TensorType::kFloat;
  const std::vector<double> input_mean = stats_.GetMean(x);
  const int in = layer.in, out = layer.out;
  std::vector<int8_t> wq(static_cast<size_t>(in) * out);
  std::vector<float> wscale(out), mult(out);
  std::vector<int32_t> bias(out);
  // The accumulator must stay in int32 for every input (the runtime verifies this bound).
  const int64_t x_max = input.int16 ? 32768 : 128;
  const int64_t bias_limit =
      INT32_MAX - static_cast<int64_t>(in) * 127 * x_max - static_cast<int64_t>(in) * 127 * 128;
  const bool correct = options_.bias_correction && static_cast<int>(input_mean.size()) == in;
  for (int c = 0; c < out; ++c) {
    const float* w = layer.weight.data() + static_cast<size_t>(c) * in;
    int8_t* q = wq.data() + static_cast<size_t>(c) * in;
    float absmax = 0.0f;
    for (int k = 0; k < in; ++k) absmax = std::max(absmax, std::fabs(w[k]));
    // Symmetric per output channel; an all-zero row keeps a harmless unit scale.
    const float ws = absmax > 0.0f ? static_cast<float>(absmax / 127.0) : 1.0f;
    wscale[c] = ws;
    double real_bias = layer.bias[c];
    for (int k = 0; k < in; ++k) {
      q[k] = static_cast<int8_t>(std::clamp(std::nearbyint(static_cast<double>(w[k]) / ws), -127.0, 127.0));
      // Bias correction: the rounding error's expected effect on this output over the
      // calibration inputs, E[(Wq - W) x], is subtracted from the bias.
      if (correct) real_bias -= (static_cast<double>(q[k]) * ws - w[k]) * input_mean[k];
    }
    const double acc_scale = static_cast<double>(input.scale) * ws;
    double bq = std::nearbyint(real_bias / acc_scale);
    if (std::fabs(bq) > static_cast<double>(bias_limit)) {
      bq = std::clamp(bq, -static_cast<double>(bias_limit), static_cast<double>(bias_limit));
      warnings_->push_back(layer.name + ": bias " + std::to_string(c) +
                           " clamped to fit the int32 accumulator");
    }
    bias[c] = static_cast<int32_t>(bq);
    mult[c] = static_cast<float>(accumulator ? acc_scale : acc_scale / quant_[y].scale);
  }
  const auto name = b_.CreateSharedString(layer.name);
  const auto w_off = AlignedVector(b_, wq);
  const auto s_off = b_.CreateVector(wscale);
  const auto b_off = AlignedVector(b_, bias);
  const auto m_off = b_.CreateVector(mult);
  fb::DenseBuilder d(b_);
  d.add_name(name);
  d.add_in_features(static_cast<uint32_t>(in));
  d.add_out_features(static_cast<uint32_t>(out));
  d.add_weights(w_off);
  d.add_weight_scales(s_off);
  d.add_bias(b_off);
  d.add_multipliers(m_off);
  d.add_output_kind(accumulator ? fb::OutputKind::ACCUMULATOR : fb::OutputKind::REQUANTIZED);
  d.add_activation(layer.activation == Activation::kRelu ? fb::Activation::RELU : fb::Activation::NONE);
  return d.Finish();
}

Offset<fb::ActivationTable> Writer::Tables(const FloatActivation& f, int32_t x, int32_t y) {
  const QuantParams& in = quant_[x];
  const QuantParams& out = quant_[y];
  const int width = g_.tensors[x].width;
  // PReLU with a slope per channel needs a table per channel; every other function one.
  const int tables = f.function == Function::kPrelu && f.params.size() > 1 ? width : 1;
  const auto level = [&](double real, double lo, double hi) {
    return std::clamp(std::nearbyint(real / out.scale) + out.zero_point, lo, hi);
  };
  const auto describe = b_.CreateString(f.Describe());
  if (!in.int16) {
    std::vector<int8_t> table(static_cast<size_t>(tables) * 256);
    for (int t = 0; t < tables; ++t) {
      for (int i = 0; i < 256; ++i) {
        const double real = static_cast<double>(in.scale) * (i - 128 - in.zero_point);
        table[static_cast<size_t>(t) * 256 + i] = static_cast<int8_t>(level(f.Apply(real, t), -128.0, 127.0));
      }
    }
    const auto off = AlignedVector(b_, table);
    return fb::CreateActivationTable(b_, describe, off, 0);
  }
  // int16: 513 entries at input levels -32768 + 128 i (the last one, 32768, only bounds the
  // interpolation of the top segment).
  std::vector<int16_t> table(static_cast<size_t>(tables) * 513);
  for (int t = 0; t < tables; ++t) {
    for (int i = 0; i < 513; ++i) {
      const double real = static_cast<double>(in.scale) * (128.0 * i - 32768.0);
      table[static_cast<size_t>(t) * 513 + i] =
          static_cast<int16_t>(level(f.Apply(real, t), -32768.0, 32767.0));
    }
  }
  const auto off = AlignedVector(b_, table);
  return fb::CreateActivationTable(b_, describe, 0, off);
}

std::vector<uint8_t> Writer::Build(int64_t calibration_rows) {
  const ActivationPrecision precision = options_.activations;
  types_ = TensorTypes(m_, precision);
  const int32_t input = g_.inputs[0].tensor;
  types_[input] = TensorType::kInt8;
  quant_.resize(g_.tensors.size());
  // Each tensor its own range: trained experts differ by an order of magnitude (the seed
  // model's reach 9 and 156), and one shared scale would leave the small ones a handful of
  // levels; a tower's input gets the mixture's range, not the experts'.
  for (size_t t = 0; t < g_.tensors.size(); ++t) {
    const Range r = stats_.GetRange(static_cast<int32_t>(t));
    if (types_[t] == TensorType::kInt16) quant_[t] = Int16FromRange(r);
    if (types_[t] == TensorType::kInt8) quant_[t] = Int8FromRange(r);
  }

  std::vector<Offset<fb::Tensor>> tensors;
  for (size_t t = 0; t < g_.tensors.size(); ++t) {
    const auto name = b_.CreateSharedString(g_.tensors[t].name);
    fb::TensorBuilder tb(b_);
    tb.add_name(name);
    tb.add_width(static_cast<uint32_t>(g_.tensors[t].width));
    tb.add_type(types_[t] == TensorType::kFloat   ? fb::ElementType::FLOAT32
                : types_[t] == TensorType::kInt16 ? fb::ElementType::INT16
                                                  : fb::ElementType::INT8);
    if (types_[t] != TensorType::kFloat) {
      tb.add_scale(quant_[t].scale);
      tb.add_zero_point(quant_[t].zero_point);
    }
    tensors.push_back(tb.Finish());
  }

  std::set<std::string> features;
  std::vector<Offset<fb::Node>> nodes;
  for (const Node& n : g_.nodes) {
    fb::NodeParams kind = fb::NodeParams::NONE;
    Offset<void> params;
    switch (n.op) {
      case Op::kDense:
        kind = fb::NodeParams::Dense;
        params = Dense(m_.dense[n.param], n.inputs[0], n.output).Union();
        features.insert("dense");
        break;
      case Op::kActivation:
        kind = fb::NodeParams::ActivationTable;
        params = Tables(m_.activations[n.param], n.inputs[0], n.output).Union();
        features.insert("activation_table");
        break;
      case Op::kSoftmax:
        kind = fb::NodeParams::Softmax;
        params = fb::CreateSoftmax(b_).Union();
        features.insert("softmax");
        break;
      case Op::kMixture: {
        // a_j = p_j * scales[j] multiplies expert j's levels (docs/numerics.md, "Mixture").
        std::vector<float> scales;
        for (int32_t j = 0; j < n.num_experts(); ++j) {
          scales.push_back(
              static_cast<float>(static_cast<double>(quant_[n.experts()[j]].scale) / quant_[n.output].scale));
        }
        kind = fb::NodeParams::Mixture;
        params = fb::CreateMixture(b_, n.gated, b_.CreateVector(scales)).Union();
        features.insert("mixture");
        break;
      }
      case Op::kSigmoid:
        kind = fb::NodeParams::Sigmoid;
        params = fb::CreateSigmoid(b_).Union();
        features.insert("sigmoid");
        break;
      case Op::kProduct:
        kind = fb::NodeParams::Product;
        params = fb::CreateProduct(b_).Union();
        features.insert("product");
        break;
      case Op::kEmbedding:
      case Op::kConcat:  // Validate refuses them until the converter builds sparse models
        throw ConvertError(std::string("the writer has no ") + graph::OpName(n.op) + " nodes yet");
    }
    std::vector<uint32_t> inputs(n.inputs.begin(), n.inputs.end());
    const auto name = b_.CreateSharedString(n.name);
    const auto inputs_off = b_.CreateVector(inputs);
    nodes.push_back(fb::CreateNode(b_, name, inputs_off, static_cast<uint32_t>(n.output), kind, params));
  }

  const graph::Input& in = g_.inputs[0];
  const auto in_name = b_.CreateSharedString(in.name);
  const auto in_features = in.feature_names.empty() ? 0 : b_.CreateVectorOfStrings(in.feature_names);
  std::vector<Offset<fb::Input>> inputs = {
      fb::CreateInput(b_, in_name, static_cast<uint32_t>(input), in_features)};
  std::vector<Offset<fb::Output>> outputs;
  for (const graph::Output& o : g_.outputs) {
    outputs.push_back(fb::CreateOutput(b_, b_.CreateSharedString(o.name), static_cast<uint32_t>(o.tensor)));
  }
  const auto required = b_.CreateVectorOfStrings(std::vector<std::string>(features.begin(), features.end()));
  const auto tensors_off = b_.CreateVector(tensors);
  const auto nodes_off = b_.CreateVector(nodes);
  const auto inputs_off = b_.CreateVector(inputs);
  const auto outputs_off = b_.CreateVector(outputs);
  const auto producer = b_.CreateString("mmoe-edge convert");
  const auto version = b_.CreateString(RuntimeVersion());
  const auto name = b_.CreateString(m_.name);
  const auto created = b_.CreateString(options_.created_utc.empty() ? NowUtc() : options_.created_utc);
  const auto calibration = fb::CreateCalibration(b_, b_.CreateString(options_.calibration),
                                                 static_cast<uint64_t>(calibration_rows));
  fb::ModelBuilder mb(b_);
  mb.add_format_version_major(kFormatVersionMajor);
  mb.add_format_version_minor(kFormatVersionMinor);
  mb.add_producer(producer);
  mb.add_producer_version(version);
  mb.add_name(name);
  mb.add_created_utc(created);
  mb.add_calibration(calibration);
  mb.add_required_features(required);
  mb.add_tensors(tensors_off);
  mb.add_nodes(nodes_off);
  mb.add_inputs(inputs_off);
  mb.add_outputs(outputs_off);
  fb::FinishModelBuffer(b_, mb.Finish());
  // The FlatBuffer, then the CRC-32C trailer (docs/model-format.md).
  std::vector<uint8_t> file(b_.GetBufferPointer(), b_.GetBufferPointer() + b_.GetSize());
  uint8_t trailer[kChecksumTrailerSize];
  WriteChecksumTrailer(file.data(), file.size(), trailer);
  file.insert(file.end(), trailer, trailer + kChecksumTrailerSize);
  return file;
}

}  // namespace

std::vector<uint8_t> BuildModelFile(const FloatModel& model, const ActivationStats& stats,
                                    int64_t calibration_rows, const ConvertOptions& options,
                                    std::vector<std::string>* warnings) {
  return Writer(model, stats, options, warnings).Build(calibration_rows);
}

}  // namespace mmoe::converter
