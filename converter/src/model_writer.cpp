// Quantizes a FloatModel with calibrated activation ranges and serialises it to the model
// file format (schema/mmoe.fbs). The numerics are those of docs/numerics.md.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "mmoe/converter/calibrate.h"
#include "mmoe/converter/convert.h"
#include "mmoe/mmoe.h"
#include "mmoe_generated.h"

namespace mmoe::converter {
namespace {

using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

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

Offset<fb::ActivationQuant> MakeQuant(FlatBufferBuilder& b, const QuantParams& q) {
  return fb::CreateActivationQuant(b, q.int16 ? fb::ElementType::INT16 : fb::ElementType::INT8, q.scale,
                                   q.zero_point);
}

template <typename T>
Offset<flatbuffers::Vector<T>> AlignedVector(FlatBufferBuilder& b, const std::vector<T>& v) {
  b.ForceVectorAlignment(v.size(), sizeof(T), kDataAlignment);
  return b.CreateVector(v);
}

// Widest tensor that may be int16: its consumer's accumulator, width * 127 * 32768 plus the
// bias, must fit in int32 (the runtime verifies this bound).
constexpr int kMaxInt16Width = 480;

class Writer {
 public:
  Writer(const FloatModel& model, const ActivationStats& stats, const ConvertOptions& options,
         std::vector<std::string>* warnings)
      : model_(model), stats_(stats), options_(options), warnings_(warnings) {}

  std::vector<uint8_t> Build(int64_t calibration_rows);

 private:
  // The quantization of an activation tensor `width` wide with calibrated `range`.
  QuantParams Activation(const Range& range, bool int16, int width) const {
    return int16 && width <= kMaxInt16Width ? Int16FromRange(range) : Int8FromRange(range);
  }
  // One layer reading a tensor quantized as `input` whose calibration mean is `input_mean`;
  // `output` is its requantized output (nullptr for an accumulator-output layer).
  Offset<fb::Dense> Layer(const FloatDense& layer, const QuantParams& input,
                          const std::vector<double>& input_mean, const QuantParams* output);
  // An MLP (part, index) whose first layer reads `input` with mean `input_mean`; hidden
  // outputs are int16 when `hidden16`; the last layer requantizes to `last_output` or, if
  // null, keeps its accumulator.
  Offset<fb::Mlp> Mlp(const FloatMlp& mlp, TensorId::Part part, int index, const QuantParams& input,
                      const std::vector<double>& input_mean, bool hidden16, const QuantParams* last_output);

  const FloatModel& model_;
  const ActivationStats& stats_;
  const ConvertOptions& options_;
  std::vector<std::string>* warnings_;
  FlatBufferBuilder b_{64 * 1024};
};

Offset<fb::Dense> Writer::Layer(const FloatDense& layer, const QuantParams& input,
                                const std::vector<double>& input_mean, const QuantParams* output) {
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
    mult[c] = static_cast<float>(output ? acc_scale / output->scale : acc_scale);
  }
  const auto name = b_.CreateString(layer.name);
  const auto in_q = MakeQuant(b_, input);
  const auto out_q = output ? MakeQuant(b_, *output) : Offset<fb::ActivationQuant>();
  const auto w_off = AlignedVector(b_, wq);
  const auto s_off = b_.CreateVector(wscale);
  const auto b_off = AlignedVector(b_, bias);
  const auto m_off = b_.CreateVector(mult);
  fb::DenseBuilder d(b_);
  d.add_name(name);
  d.add_in_features(static_cast<uint32_t>(in));
  d.add_out_features(static_cast<uint32_t>(out));
  d.add_input(in_q);
  d.add_weights(w_off);
  d.add_weight_scales(s_off);
  d.add_bias(b_off);
  d.add_multipliers(m_off);
  if (output) {
    d.add_output_kind(fb::OutputKind::REQUANTIZED);
    d.add_output(out_q);
    d.add_activation(layer.activation == Activation::kRelu ? fb::Activation::RELU : fb::Activation::NONE);
  } else {
    d.add_output_kind(fb::OutputKind::ACCUMULATOR);
  }
  return d.Finish();
}

Offset<fb::Mlp> Writer::Mlp(const FloatMlp& mlp, TensorId::Part part, int index, const QuantParams& input,
                            const std::vector<double>& input_mean, bool hidden16,
                            const QuantParams* last_output) {
  std::vector<Offset<fb::Dense>> layers;
  QuantParams cur = input;
  std::vector<double> cur_mean = input_mean;
  for (size_t l = 0; l < mlp.layers.size(); ++l) {
    const int li = static_cast<int>(l);
    if (l + 1 == mlp.layers.size()) {
      layers.push_back(Layer(mlp.layers[l], cur, cur_mean, last_output));
    } else {
      const QuantParams out = Activation(stats_.GetRange(part, index, li), hidden16, mlp.layers[l].out);
      layers.push_back(Layer(mlp.layers[l], cur, cur_mean, &out));
      cur = out;
      cur_mean = stats_.GetMean(part, index, li);
    }
  }
  return fb::CreateMlp(b_, b_.CreateVector(layers));
}

std::vector<uint8_t> Writer::Build(int64_t calibration_rows) {
  const FloatModel& m = model_;
  const bool mixed = options_.activations == ActivationPrecision::kMixed;
  const QuantParams input = Int8FromRange(stats_.GetRange(TensorId::kInput, 0));
  const std::vector<double> input_mean = stats_.GetMean(TensorId::kInput, 0);
  // Each expert keeps its own output range: trained experts differ by an order of
  // magnitude (the seed model's reach 9 and 156), and one shared scale would leave the
  // small ones a handful of levels. The mixture scales each expert on its own.
  std::vector<QuantParams> expert_out;
  std::vector<Offset<fb::Mlp>> experts;
  for (size_t e = 0; e < m.experts.size(); ++e) {
    const int ei = static_cast<int>(e);
    const int last = static_cast<int>(m.experts[e].layers.size()) - 1;
    // The mixture reads expert outputs in float, so int16 has no accumulator bound here.
    const Range r = stats_.GetRange(TensorId::kExpertLayer, ei, last);
    expert_out.push_back(mixed ? Int16FromRange(r) : Int8FromRange(r));
    experts.push_back(
        Mlp(m.experts[e], TensorId::kExpertLayer, ei, input, input_mean, false, &expert_out.back()));
  }
  std::vector<Offset<fb::Gate>> gates;
  for (size_t g = 0; g < m.gates.size(); ++g) {
    const auto mlp =
        Mlp(m.gates[g].mlp, TensorId::kGateLayer, static_cast<int>(g), input, input_mean, mixed, nullptr);
    std::vector<uint32_t> idx(m.gates[g].experts.begin(), m.gates[g].experts.end());
    gates.push_back(fb::CreateGate(b_, mlp, b_.CreateVector(idx)));
  }
  std::vector<Offset<fb::Task>> tasks;
  for (size_t t = 0; t < m.tasks.size(); ++t) {
    const FloatTask& task = m.tasks[t];
    const int ti = static_cast<int>(t);
    // The tower input gets its own calibrated range (the mixture's), not the experts'.
    const QuantParams tower_in =
        Activation(stats_.GetRange(TensorId::kTowerInput, ti), mixed, task.tower.in_width());
    const auto tower = Mlp(task.tower, TensorId::kTowerLayer, ti, tower_in,
                           stats_.GetMean(TensorId::kTowerInput, ti), mixed, nullptr);
    std::vector<float> mix_scales;
    const std::vector<int> mixed_experts =
        task.gate >= 0 ? m.gates[task.gate].experts : std::vector<int>{task.expert};
    for (int e : mixed_experts) {
      mix_scales.push_back(static_cast<float>(static_cast<double>(expert_out[e].scale) / tower_in.scale));
    }
    const auto scales_off = b_.CreateVector(mix_scales);
    const auto name = b_.CreateString(task.name);
    fb::TaskBuilder tb(b_);
    tb.add_name(name);
    tb.add_gate(task.gate);
    tb.add_expert(task.gate < 0 ? task.expert : -1);
    tb.add_mix_scales(scales_off);
    tb.add_tower(tower);
    tb.add_output(task.output == TaskOutput::kSigmoid ? fb::TaskOutput::SIGMOID : fb::TaskOutput::IDENTITY);
    tasks.push_back(tb.Finish());
  }
  const auto experts_off = b_.CreateVector(experts);
  const auto gates_off = b_.CreateVector(gates);
  const auto tasks_off = b_.CreateVector(tasks);
  const auto features = m.feature_names.empty() ? 0 : b_.CreateVectorOfStrings(m.feature_names);
  const auto input_off = MakeQuant(b_, input);
  const auto producer = b_.CreateString("mmoe-edge convert");
  const auto version = b_.CreateString(RuntimeVersion());
  const auto name = b_.CreateString(m.name);
  const auto created = b_.CreateString(options_.created_utc.empty() ? NowUtc() : options_.created_utc);
  const auto calibration = fb::CreateCalibration(b_, b_.CreateString(options_.calibration),
                                                 static_cast<uint64_t>(calibration_rows));
  fb::ModelBuilder mb(b_);
  mb.add_format_version_major(1);  // format 1.1 until the writer emits the graph
  mb.add_format_version_minor(1);
  mb.add_producer(producer);
  mb.add_producer_version(version);
  mb.add_name(name);
  mb.add_created_utc(created);
  mb.add_input_dim(static_cast<uint32_t>(m.input_dim));
  if (!m.feature_names.empty()) mb.add_feature_names(features);
  mb.add_input(input_off);
  mb.add_experts(experts_off);
  mb.add_gates(gates_off);
  mb.add_tasks(tasks_off);
  mb.add_calibration(calibration);
  fb::FinishModelBuffer(b_, mb.Finish());
  // The FlatBuffer, then the CRC-32C trailer of format 1.1 (docs/model-format.md).
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
