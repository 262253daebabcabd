#include "support/model_builder.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>

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

uint32_t GraphModelSpec::Tensor(const std::string& name) const {
  for (size_t t = 0; t < tensors.size(); ++t) {
    if (tensors[t].name == name) return static_cast<uint32_t>(t);
  }
  FAIL("no tensor " << name);
  return 0;
}

NodeSpec& GraphModelSpec::Node(const std::string& name) {
  for (NodeSpec& n : nodes) {
    if (n.name == name) return n;
  }
  FAIL("no node " << name);
  return nodes.front();
}

GraphModelSpec MinimalGraphSpec() {
  GraphModelSpec m;
  const QuantSpec x{fb::ElementType::INT8, 1.0f / 32, -10};
  const QuantSpec relu = ReluQuant();
  const QuantSpec i16{fb::ElementType::INT16, 1.0f / 4096, 0};
  const auto tensor = [&](const std::string& name, uint32_t width, const std::optional<QuantSpec>& q) {
    m.tensors.push_back(TensorSpec{name, width, q ? q->type : fb::ElementType::FLOAT32, q ? q->scale : 0.0f,
                                   q ? q->zero_point : 0});
    return static_cast<uint32_t>(m.tensors.size() - 1);
  };
  const auto add_dense = [&](const std::string& name, const std::string& from, const QuantSpec& qin,
                             uint32_t out, const std::optional<QuantSpec>& qout,
                             fb::Activation act = fb::Activation::NONE) {
    NodeSpec n;
    n.name = name;
    n.inputs = {m.Tensor(from)};
    n.dense = MakeDense(name, m.tensors[m.Tensor(from)].width, out, qin, qout, act);
    n.output = tensor(name, out, qout);
    m.nodes.push_back(n);
  };
  const auto add_table = [&](const std::string& name, const std::string& from, const QuantSpec& q) {
    NodeSpec n;
    n.name = name;
    n.kind = fb::NodeParams::ActivationTable;
    n.function = "leaky_relu(0.5)";
    n.inputs = {m.Tensor(from)};
    const uint32_t width = m.tensors[n.inputs[0]].width;
    if (q.type == fb::ElementType::INT16) {
      for (int i = 0; i <= 512; ++i)
        n.table16.push_back(static_cast<int16_t>(std::min(32767, (128 * i - 32768) / 2)));
    } else {
      for (int i = 0; i < 256; ++i)
        n.table8.push_back(
            static_cast<int8_t>(i - 128 >= q.zero_point ? i - 128 : (i - 128 + q.zero_point) / 2));
    }
    n.output = tensor(name, width, q);
    m.nodes.push_back(n);
  };
  const auto add_float = [&](const std::string& name, fb::NodeParams kind, std::vector<uint32_t> inputs) {
    NodeSpec n;
    n.name = name;
    n.kind = kind;
    n.inputs = std::move(inputs);
    n.output = tensor(name, m.tensors[n.inputs.back()].width, std::nullopt);
    m.nodes.push_back(n);
  };
  tensor("x", 3, x);
  m.inputs.push_back({"x", 0, {}});
  add_dense("experts.0.0", "x", x, 4, relu, fb::Activation::RELU);
  add_table("experts.0.act", "experts.0.0", relu);
  add_dense("experts.0.1", "experts.0.act", relu, 2, i16, fb::Activation::RELU);
  add_dense("experts.1.0", "x", x, 2, i16, fb::Activation::RELU);
  add_dense("gates.0.0", "x", x, 2, std::nullopt);
  add_float("gates.0", fb::NodeParams::Softmax, {m.Tensor("gates.0.0")});
  NodeSpec mix;
  mix.name = "mix";
  mix.kind = fb::NodeParams::Mixture;
  mix.gated = true;
  mix.inputs = {m.Tensor("gates.0"), m.Tensor("experts.0.1"), m.Tensor("experts.1.0")};
  mix.scales = {1.0f, 1.0f};  // same scales
  mix.output = tensor("mix", 2, i16);
  m.nodes.push_back(mix);
  add_dense("tasks.0.0", "mix", i16, 1, std::nullopt);
  add_float("click", fb::NodeParams::Sigmoid, {m.Tensor("tasks.0.0")});
  add_dense("tasks.1.0", "mix", i16, 3, i16);
  add_table("tasks.1.act", "tasks.1.0", i16);
  add_dense("dwell", "tasks.1.act", i16, 1, std::nullopt);
  add_float("dwell.p", fb::NodeParams::Sigmoid, {m.Tensor("dwell")});
  add_float("ctcvr", fb::NodeParams::Product, {m.Tensor("click"), m.Tensor("dwell.p")});
  m.outputs = {{"click", m.Tensor("click")}, {"ctcvr", m.Tensor("ctcvr")}, {"dwell", m.Tensor("dwell")}};
  return m;
}

TableSpec MakeTable(const std::string& name, uint64_t rows, uint32_t dim, uint32_t seed, int64_t zero_row) {
  TableSpec t;
  t.name = name;
  t.rows = rows;
  t.dim = dim;
  const size_t row_bytes = (dim + 3) / 4 * 4 + 8;
  t.data.assign(static_cast<size_t>(rows) * row_bytes, 0);
  uint32_t state = seed * 2654435761u + 12345u;
  const auto next = [&state] {
    state = state * 1664525u + 1013904223u;
    return state >> 8;
  };
  for (uint64_t r = 0; r < rows; ++r) {
    uint8_t* row = t.data.data() + r * row_bytes;
    if (static_cast<int64_t>(r) == zero_row) continue;  // codes, scale and offset all zero
    for (uint32_t c = 0; c < dim; ++c) row[c] = static_cast<uint8_t>(next());
    const float scale = (1.0f + static_cast<float>(next() % 4)) / 512.0f;
    const float offset = static_cast<float>(static_cast<int>(next() % 1001) - 500) / 1000.0f;
    std::memcpy(row + row_bytes - 8, &scale, 4);
    std::memcpy(row + row_bytes - 4, &offset, 4);
  }
  return t;
}

std::vector<float> TableRow(const TableSpec& t, uint64_t r) {
  const size_t row_bytes = (t.dim + 3) / 4 * 4 + 8;
  const uint8_t* row = t.data.data() + r * row_bytes;
  float scale, offset;
  std::memcpy(&scale, row + row_bytes - 8, 4);
  std::memcpy(&offset, row + row_bytes - 4, 4);
  std::vector<float> values;
  for (uint32_t c = 0; c < t.dim; ++c) {
    const float v = scale * static_cast<float>(row[c]);
    values.push_back(v + offset);
  }
  return values;
}

GraphModelSpec SparseGraphSpec() {
  GraphModelSpec m;
  m.version_minor = 1;
  m.required_features = {"dense", "softmax", "mixture", "sigmoid", "embedding", "concat"};
  const QuantSpec relu = ReluQuant();
  const QuantSpec i16{fb::ElementType::INT16, 1.0f / 4096, 0};
  const QuantSpec folded{fb::ElementType::INT8, 1.0f / 16, 0};  // for the multipliers only
  const auto tensor = [&](const std::string& name, uint32_t width, fb::ElementType type, float scale = 0.0f,
                          int32_t zp = 0) {
    m.tensors.push_back(TensorSpec{name, width, type, scale, zp});
    return static_cast<uint32_t>(m.tensors.size() - 1);
  };
  m.tables = {MakeTable("user", 10, 3, 1), MakeTable("tags", 6, 2, 2, /*zero_row=*/0)};
  m.inputs.push_back({"user", tensor("user", 1, fb::ElementType::ID), {}, fb::InputKind::IDS});
  m.inputs.push_back({"tags", tensor("tags", 1, fb::ElementType::ID), {}, fb::InputKind::BAG});
  m.inputs.push_back(
      {"age", tensor("age", 2, fb::ElementType::FLOAT32), {"age", "tenure"}, fb::InputKind::DENSE});
  NodeSpec user;
  user.name = "user.emb";
  user.kind = fb::NodeParams::Embedding;
  user.inputs = {m.Tensor("user")};
  user.table = 0;
  user.output = tensor("user.emb", 3, fb::ElementType::FLOAT32);
  m.nodes.push_back(user);
  NodeSpec tags;
  tags.name = "tags.emb";
  tags.kind = fb::NodeParams::Embedding;
  tags.inputs = {m.Tensor("tags")};
  tags.table = 1;
  tags.pooling = fb::Pooling::MEAN;
  tags.has_padding_id = true;
  tags.padding_id = 0;
  tags.output = tensor("tags.emb", 2, fb::ElementType::FLOAT32);
  m.nodes.push_back(tags);
  NodeSpec concat;
  concat.name = "x";
  concat.kind = fb::NodeParams::Concat;
  concat.inputs = {m.Tensor("user.emb"), m.Tensor("tags.emb"), m.Tensor("age")};
  concat.concat_scales = {1.0f / 200, 1.0f / 180, 1.0f / 250, 1.0f / 300, 1.0f / 300, 1.0f / 2, 1.0f / 20};
  concat.concat_zero_points = {0, 1, -1, -3, -3, -100, -128};
  concat.output = tensor("x", 7, fb::ElementType::INT8, 1.0f, 0);
  m.nodes.push_back(concat);
  const auto add_dense = [&](const std::string& name, const std::string& from, const QuantSpec& qin,
                             uint32_t out, const std::optional<QuantSpec>& qout,
                             fb::Activation act = fb::Activation::NONE) {
    NodeSpec n;
    n.name = name;
    n.inputs = {m.Tensor(from)};
    n.dense = MakeDense(name, m.tensors[m.Tensor(from)].width, out, qin, qout, act);
    n.output = qout ? tensor(name, out, qout->type, qout->scale, qout->zero_point)
                    : tensor(name, out, fb::ElementType::FLOAT32);
    m.nodes.push_back(n);
  };
  add_dense("experts.0", "x", folded, 4, relu, fb::Activation::RELU);
  add_dense("experts.1", "x", folded, 4, relu, fb::Activation::RELU);
  add_dense("gate", "x", folded, 2, std::nullopt);
  NodeSpec softmax;
  softmax.name = "gate.p";
  softmax.kind = fb::NodeParams::Softmax;
  softmax.inputs = {m.Tensor("gate")};
  softmax.output = tensor("gate.p", 2, fb::ElementType::FLOAT32);
  m.nodes.push_back(softmax);
  NodeSpec mix;
  mix.name = "mix";
  mix.kind = fb::NodeParams::Mixture;
  mix.gated = true;
  mix.inputs = {m.Tensor("gate.p"), m.Tensor("experts.0"), m.Tensor("experts.1")};
  mix.scales = {relu.scale / i16.scale, relu.scale / i16.scale};
  mix.output = tensor("mix", 4, i16.type, i16.scale, 0);
  m.nodes.push_back(mix);
  add_dense("tower", "mix", i16, 1, std::nullopt);
  NodeSpec ctr;
  ctr.name = "ctr";
  ctr.kind = fb::NodeParams::Sigmoid;
  ctr.inputs = {m.Tensor("tower")};
  ctr.output = tensor("ctr", 1, fb::ElementType::FLOAT32);
  m.nodes.push_back(ctr);
  m.outputs = {{"ctr", m.Tensor("ctr")}};
  return m;
}

std::vector<uint8_t> BuildGraphModel(const GraphModelSpec& spec) {
  FlatBufferBuilder b;
  std::vector<Offset<fb::Tensor>> tensors;
  for (const TensorSpec& t : spec.tensors) {
    tensors.push_back(fb::CreateTensor(b, b.CreateString(t.name), t.width, t.type, t.scale, t.zero_point));
  }
  std::vector<Offset<fb::Node>> nodes;
  for (const NodeSpec& n : spec.nodes) {
    Offset<void> params;
    switch (n.kind) {
      case fb::NodeParams::Dense: {
        const DenseSpec& d = n.dense;
        const auto name = b.CreateString(d.name);
        const auto weights = b.CreateVector(d.weights);
        const auto weight_scales = b.CreateVector(d.weight_scales);
        const auto bias = b.CreateVector(d.bias);
        const auto multipliers = b.CreateVector(d.multipliers);
        params = fb::CreateDense(b, name, d.in, d.out, 0, weights, weight_scales, bias, d.output_kind, 0,
                                 d.activation, multipliers)
                     .Union();
        break;
      }
      case fb::NodeParams::ActivationTable: {
        const auto function = b.CreateString(n.function);
        const auto t8 = n.table8.empty() ? 0 : b.CreateVector(n.table8);
        const auto t16 = n.table16.empty() ? 0 : b.CreateVector(n.table16);
        params = fb::CreateActivationTable(b, function, t8, t16).Union();
        break;
      }
      case fb::NodeParams::Mixture:
        params = fb::CreateMixture(b, n.gated, b.CreateVector(n.scales)).Union();
        break;
      case fb::NodeParams::Embedding: {
        const auto row = n.default_row.empty() ? 0 : b.CreateVector(n.default_row);
        params =
            fb::CreateEmbedding(b, n.table, n.pooling, n.has_padding_id, n.padding_id, n.bad_id, row).Union();
        break;
      }
      case fb::NodeParams::Concat: {
        const auto scales = b.CreateVector(n.concat_scales);
        const auto zps = b.CreateVector(n.concat_zero_points);
        params = fb::CreateConcat(b, scales, zps).Union();
        break;
      }
      default:  // Softmax, Sigmoid, Product, and kinds from the future: an empty table
        params = fb::CreateSoftmax(b).Union();
        break;
    }
    const auto name = b.CreateString(n.name);
    const auto inputs = b.CreateVector(n.inputs);
    nodes.push_back(fb::CreateNode(b, name, inputs, n.output, n.kind, params));
  }
  std::vector<Offset<fb::Input>> inputs;
  for (const auto& in : spec.inputs) {
    const auto names = in.feature_names.empty() ? 0 : b.CreateVectorOfStrings(in.feature_names);
    inputs.push_back(fb::CreateInput(b, b.CreateString(in.name), in.tensor, names, in.kind));
  }
  // Tables: their segments laid out one after the other, each on a 64-byte boundary.
  std::vector<SegmentSpec> layout;  // where the bytes go
  std::vector<Offset<fb::EmbeddingTable>> tables;
  uint64_t end = 0;
  for (size_t i = 0; i < spec.tables.size(); ++i) {
    const TableSpec& t = spec.tables[i];
    SegmentSpec seg;
    seg.offset = (end + kSegmentAlign - 1) / kSegmentAlign * kSegmentAlign;
    seg.size = t.data.size();
    seg.crc32c = Crc32c(t.data.data(), t.data.size());
    end = seg.offset + seg.size;
    layout.push_back(seg);
    const uint32_t segment = t.segment >= 0 ? static_cast<uint32_t>(t.segment) : static_cast<uint32_t>(i);
    tables.push_back(fb::CreateEmbeddingTable(b, b.CreateString(t.name), t.rows, t.dim,
                                              fb::RowFormat::UINT8_ROWWISE, segment));
  }
  const std::vector<SegmentSpec>& segments =
      spec.segments.empty() ? layout : spec.segments;  // what the file says
  std::vector<Offset<fb::Segment>> segment_offs;
  for (const SegmentSpec& seg : segments)
    segment_offs.push_back(fb::CreateSegment(b, seg.offset, seg.size, seg.crc32c));
  const auto tables_off = tables.empty() ? 0 : b.CreateVector(tables);
  const auto segments_off = segment_offs.empty() ? 0 : b.CreateVector(segment_offs);
  std::vector<Offset<fb::Output>> outputs;
  for (const auto& o : spec.outputs) outputs.push_back(fb::CreateOutput(b, b.CreateString(o.name), o.tensor));
  const auto required = b.CreateVectorOfStrings(spec.required_features);
  const auto tensors_off = b.CreateVector(tensors);
  const auto nodes_off = b.CreateVector(nodes);
  const auto inputs_off = b.CreateVector(inputs);
  const auto outputs_off = b.CreateVector(outputs);
  const auto producer = b.CreateString("mmoe-edge tests");
  const auto name = b.CreateString(spec.name);
  fb::ModelBuilder mb(b);
  mb.add_format_version_major(spec.version_major);
  mb.add_format_version_minor(spec.version_minor);
  mb.add_producer(producer);
  mb.add_name(name);
  mb.add_required_features(required);
  mb.add_tensors(tensors_off);
  mb.add_nodes(nodes_off);
  mb.add_inputs(inputs_off);
  mb.add_outputs(outputs_off);
  if (!tables.empty()) mb.add_embedding_tables(tables_off);
  if (!segment_offs.empty()) mb.add_segments(segments_off);
  fb::FinishModelBuffer(b, mb.Finish());
  std::vector<uint8_t> file(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
  if (!spec.tables.empty()) {
    const size_t flatbuffer_size = file.size();
    const size_t base = (flatbuffer_size + kSegmentAlign - 1) / kSegmentAlign * kSegmentAlign;
    file.resize(base + end, 0);
    for (size_t i = 0; i < spec.tables.size(); ++i) {
      const std::vector<uint8_t>& d = spec.tables[i].data;
      std::copy(d.begin(), d.end(), file.begin() + static_cast<std::ptrdiff_t>(base + layout[i].offset));
    }
    if (spec.segment_footer) {
      uint8_t footer[kSegmentFooterSize];
      WriteSegmentFooter(file.data(), flatbuffer_size, footer);
      file.insert(file.end(), footer, footer + kSegmentFooterSize);
    }
  }
  if (spec.checksum) {
    uint8_t trailer[kChecksumTrailerSize];
    WriteChecksumTrailer(file.data(), file.size(), trailer);
    file.insert(file.end(), trailer, trailer + kChecksumTrailerSize);
  }
  return file;
}

}  // namespace mmoe::testing
