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

class Writer {
 public:
  Writer(const FloatModel& model, const RangeCollector& ranges, const ConvertOptions& options,
         std::vector<std::string>* warnings)
      : model_(model), ranges_(ranges), options_(options), warnings_(warnings) {}

  std::vector<uint8_t> Build(int64_t calibration_rows);

 private:
  // One layer: `input` is its input quantization; `output` its requantized output (nullptr
  // for an accumulator-output layer).
  Offset<fb::Dense> Layer(const FloatDense& layer, const QuantParams& input, const QuantParams* output);
  // An MLP whose first layer reads `input`; hidden outputs use the calibrated range of
  // (part, index, layer); the last layer requantizes to `last_output` or, if null, keeps
  // its accumulator.
  Offset<fb::Mlp> Mlp(const FloatMlp& mlp, TensorId::Part part, int index, const QuantParams& input,
                      const QuantParams* last_output);

  const FloatModel& model_;
  const RangeCollector& ranges_;
  const ConvertOptions& options_;
  std::vector<std::string>* warnings_;
  FlatBufferBuilder b_{64 * 1024};
};

Offset<fb::Dense> Writer::Layer(const FloatDense& layer, const QuantParams& input, const QuantParams* output) {
  const int in = layer.in, out = layer.out;
  std::vector<int8_t> wq(static_cast<size_t>(in) * out);
  std::vector<float> wscale(out), mult(out);
  std::vector<int32_t> bias(out);
  // The accumulator must stay in int32 for every input (the runtime verifies this bound).
  const int64_t x_max = input.int16 ? 32768 : 128;
  const int64_t bias_limit = INT32_MAX - static_cast<int64_t>(in) * 127 * x_max - static_cast<int64_t>(in) * 127 * 128;
  for (int c = 0; c < out; ++c) {
    const float* w = layer.weight.data() + static_cast<size_t>(c) * in;
    float absmax = 0.0f;
    for (int k = 0; k < in; ++k) absmax = std::max(absmax, std::fabs(w[k]));
    // Symmetric per output channel; an all-zero row keeps a harmless unit scale.
    const float ws = absmax > 0.0f ? static_cast<float>(absmax / 127.0) : 1.0f;
    wscale[c] = ws;
    for (int k = 0; k < in; ++k) {
      const double q = std::nearbyint(static_cast<double>(w[k]) / ws);
      wq[static_cast<size_t>(c) * in + k] = static_cast<int8_t>(std::clamp(q, -127.0, 127.0));
    }
    const double acc_scale = static_cast<double>(input.scale) * ws;
    double bq = std::nearbyint(static_cast<double>(layer.bias[c]) / acc_scale);
    if (std::fabs(bq) > static_cast<double>(bias_limit)) {
      bq = std::clamp(bq, -static_cast<double>(bias_limit), static_cast<double>(bias_limit));
      warnings_->push_back(layer.name + ": bias " + std::to_string(c) + " clamped to fit the int32 accumulator");
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
                            const QuantParams* last_output) {
  std::vector<Offset<fb::Dense>> layers;
  QuantParams cur = input;
  for (size_t l = 0; l < mlp.layers.size(); ++l) {
    const bool last = l + 1 == mlp.layers.size();
    if (last) {
      layers.push_back(Layer(mlp.layers[l], cur, last_output));
    } else {
      const QuantParams out = Int8FromRange(ranges_.Get(part, index, static_cast<int>(l)));
      layers.push_back(Layer(mlp.layers[l], cur, &out));
      cur = out;
    }
  }
  return fb::CreateMlp(b_, b_.CreateVector(layers));
}

std::vector<uint8_t> Writer::Build(int64_t calibration_rows) {
  const FloatModel& m = model_;
  const QuantParams input = Int8FromRange(ranges_.Get(TensorId::kInput, 0));
  // Each expert keeps its own output range: trained experts differ by an order of
  // magnitude (the seed model's reach 9 and 156), and one shared scale would leave the
  // small ones a handful of levels. The gates fold the scale ratios into their weights.
  std::vector<QuantParams> expert_out;
  std::vector<Offset<fb::Mlp>> experts;
  for (size_t e = 0; e < m.experts.size(); ++e) {
    const int last = static_cast<int>(m.experts[e].layers.size()) - 1;
    expert_out.push_back(Int8FromRange(ranges_.Get(TensorId::kExpertLayer, static_cast<int>(e), last)));
    experts.push_back(Mlp(m.experts[e], TensorId::kExpertLayer, static_cast<int>(e), input, &expert_out.back()));
  }
  std::vector<Offset<fb::Gate>> gates;
  std::vector<double> gate_ref_scale;  // the largest output scale among a gate's experts
  for (size_t g = 0; g < m.gates.size(); ++g) {
    const auto mlp = Mlp(m.gates[g].mlp, TensorId::kGateLayer, static_cast<int>(g), input, nullptr);
    std::vector<uint32_t> idx(m.gates[g].experts.begin(), m.gates[g].experts.end());
    double ref = 0.0;
    for (int e : m.gates[g].experts) ref = std::max(ref, static_cast<double>(expert_out[e].scale));
    std::vector<float> ratios;
    for (int e : m.gates[g].experts) ratios.push_back(static_cast<float>(expert_out[e].scale / ref));
    gate_ref_scale.push_back(ref);
    gates.push_back(fb::CreateGate(b_, mlp, b_.CreateVector(idx), b_.CreateVector(ratios)));
  }
  std::vector<Offset<fb::Task>> tasks;
  for (size_t t = 0; t < m.tasks.size(); ++t) {
    const FloatTask& task = m.tasks[t];
    // The tower input gets its own calibrated range (the mixture's), not the experts'.
    const Range r = ranges_.Get(TensorId::kTowerInput, static_cast<int>(t));
    const QuantParams tower_in = options_.int16_tower_input ? Int16FromRange(r) : Int8FromRange(r);
    const auto tower = Mlp(task.tower, TensorId::kTowerLayer, static_cast<int>(t), tower_in, nullptr);
    const double ref = task.gate >= 0 ? gate_ref_scale[task.gate] : expert_out[task.expert].scale;
    const float mix_multiplier =
        static_cast<float>(ref / (static_cast<double>(1 << 22) * static_cast<double>(tower_in.scale)));
    const auto name = b_.CreateString(task.name);
    fb::TaskBuilder tb(b_);
    tb.add_name(name);
    tb.add_gate(task.gate);
    tb.add_expert(task.gate < 0 ? task.expert : -1);
    tb.add_mix_multiplier(mix_multiplier);
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
  const auto calibration =
      fb::CreateCalibration(b_, b_.CreateString(options_.calibration), static_cast<uint64_t>(calibration_rows));
  fb::ModelBuilder mb(b_);
  mb.add_format_version_major(kFormatVersionMajor);
  mb.add_format_version_minor(kFormatVersionMinor);
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
  return std::vector<uint8_t>(b_.GetBufferPointer(), b_.GetBufferPointer() + b_.GetSize());
}

}  // namespace

std::vector<uint8_t> BuildModelFile(const FloatModel& model, const RangeCollector& ranges, int64_t calibration_rows,
                                    const ConvertOptions& options, std::vector<std::string>* warnings) {
  return Writer(model, ranges, options, warnings).Build(calibration_rows);
}

}  // namespace mmoe::converter
