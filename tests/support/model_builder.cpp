#include "support/model_builder.h"

#include "mmoe/mmoe.h"

namespace mmoe::testing {
namespace {

using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

Offset<fb::ActivationQuant> WriteQuant(FlatBufferBuilder& b, const QuantSpec& q) {
  return fb::CreateActivationQuant(b, q.type, q.scale, q.zero_point);
}

Offset<fb::Dense> WriteDense(FlatBufferBuilder& b, const DenseSpec& d) {
  const auto name = d.name.empty() ? 0 : b.CreateString(d.name);
  const auto input = WriteQuant(b, d.input);
  const auto output = d.output ? WriteQuant(b, *d.output) : 0;
  const auto weights = b.CreateVector(d.weights);
  const auto weight_scales = b.CreateVector(d.weight_scales);
  const auto bias = b.CreateVector(d.bias);
  const auto multipliers = b.CreateVector(d.multipliers);
  return fb::CreateDense(b, name, d.in, d.out, input, weights, weight_scales, bias, d.output_kind, output,
                         d.activation, multipliers);
}

Offset<fb::Mlp> WriteMlp(FlatBufferBuilder& b, const MlpSpec& mlp) {
  std::vector<Offset<fb::Dense>> layers;
  for (const DenseSpec& d : mlp.layers) layers.push_back(WriteDense(b, d));
  return fb::CreateMlp(b, b.CreateVector(layers));
}

// The quantization every hidden and expert output tensor of the minimal model uses: ReLU
// outputs in [0, 255/16] with the zero point at the bottom of the int8 range.
QuantSpec ReluQuant() { return QuantSpec{fb::ElementType::INT8, 1.0f / 16, -128}; }

}  // namespace

DenseSpec MakeDense(const std::string& name, uint32_t in, uint32_t out, const QuantSpec& input,
                    const std::optional<QuantSpec>& output, fb::Activation activation) {
  DenseSpec d;
  d.name = name;
  d.in = in;
  d.out = out;
  d.input = input;
  d.weights.resize(static_cast<size_t>(in) * out);
  // Values in [-10, 10] \ {0}, varying with the position and the layer's name.
  size_t k = name.size();
  for (int8_t& w : d.weights) {
    w = static_cast<int8_t>(static_cast<int>(k * 7 % 21) - 10);
    if (w == 0) w = 3;
    ++k;
  }
  d.weight_scales.assign(out, 1.0f / 64);
  d.bias.assign(out, 0);
  d.output_kind = output ? fb::OutputKind::REQUANTIZED : fb::OutputKind::ACCUMULATOR;
  d.output = output;
  d.activation = output ? activation : fb::Activation::NONE;
  for (uint32_t c = 0; c < out; ++c) {
    const float acc_scale = input.scale * d.weight_scales[c];
    d.multipliers.push_back(output ? acc_scale / output->scale : acc_scale);
  }
  return d;
}

ModelSpec MinimalModelSpec() {
  ModelSpec m;
  m.input_dim = 3;
  m.input = QuantSpec{fb::ElementType::INT8, 1.0f / 32, -10};
  const QuantSpec relu = ReluQuant();
  for (int e = 0; e < 2; ++e) {
    const std::string prefix = "experts." + std::to_string(e);
    MlpSpec expert;
    expert.layers.push_back(MakeDense(prefix + ".0", 3, 4, m.input, relu, fb::Activation::RELU));
    expert.layers.push_back(MakeDense(prefix + ".1", 4, 2, relu, relu, fb::Activation::RELU));
    m.experts.push_back(expert);
  }
  GateSpec gate;
  gate.experts = {0, 1};
  gate.mlp.layers.push_back(MakeDense("gates.0.0", 3, 2, m.input, std::nullopt));
  m.gates.push_back(gate);

  // Mix scales: expert output scale / tower input scale, both 1/16.
  TaskSpec click;
  click.name = "click";
  click.gate = 0;
  click.mix_scales = {1.0f, 1.0f};
  click.tower.layers.push_back(MakeDense("tasks.0.0", 2, 3, relu, relu, fb::Activation::RELU));
  click.tower.layers.push_back(MakeDense("tasks.0.1", 3, 1, relu, std::nullopt));
  m.tasks.push_back(click);

  TaskSpec dwell;
  dwell.name = "dwell";
  dwell.gate = -1;
  dwell.expert = 1;
  dwell.mix_scales = {1.0f};
  dwell.tower.layers.push_back(MakeDense("tasks.1.0", 2, 1, relu, std::nullopt));
  dwell.output = fb::TaskOutput::IDENTITY;
  m.tasks.push_back(dwell);
  return m;
}

std::vector<uint8_t> BuildModel(const ModelSpec& spec) {
  FlatBufferBuilder b;
  std::vector<Offset<fb::Mlp>> experts;
  for (const MlpSpec& e : spec.experts) experts.push_back(WriteMlp(b, e));
  std::vector<Offset<fb::Gate>> gates;
  for (const GateSpec& g : spec.gates) {
    const auto mlp = WriteMlp(b, g.mlp);
    gates.push_back(fb::CreateGate(b, mlp, b.CreateVector(g.experts)));
  }
  std::vector<Offset<fb::Task>> tasks;
  for (const TaskSpec& t : spec.tasks) {
    const auto name = b.CreateString(t.name);
    const auto mix_scales = b.CreateVector(t.mix_scales);
    const auto tower = WriteMlp(b, t.tower);
    tasks.push_back(fb::CreateTask(b, name, t.gate, t.expert, mix_scales, tower, t.output));
  }
  const auto experts_off = b.CreateVector(experts);
  const auto gates_off = b.CreateVector(gates);
  const auto tasks_off = b.CreateVector(tasks);
  const auto features = spec.feature_names.empty() ? 0 : b.CreateVectorOfStrings(spec.feature_names);
  const auto input = WriteQuant(b, spec.input);
  const auto producer = b.CreateString("mmoe-edge tests");
  const auto name = b.CreateString(spec.name);
  const auto root = fb::CreateModel(b, spec.version_major, spec.version_minor, producer, 0, name, 0,
                                    spec.input_dim, features, input, experts_off, gates_off, tasks_off);
  fb::FinishModelBuffer(b, root);
  std::vector<uint8_t> file(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
  if (spec.checksum) {
    uint8_t trailer[kChecksumTrailerSize];
    WriteChecksumTrailer(file.data(), file.size(), trailer);
    file.insert(file.end(), trailer, trailer + kChecksumTrailerSize);
  }
  return file;
}

}  // namespace mmoe::testing
