// Quantizes a FloatModel's graph with calibrated activation ranges and serialises it to the
// model file format 2.1 (schema/mmoe.fbs). The numerics are those of docs/numerics.md.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <set>

#include "mmoe/converter/calibrate.h"
#include "mmoe/converter/convert.h"
#include "mmoe/converter/tensor_types.h"
#include "mmoe/converter/weight_rounding.h"
#include "mmoe/mmoe.h"
#include "mmoe_generated.h"
#include "numerics.h"

namespace mmoe::converter {
namespace {

using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;
using graph::Node;
using graph::Op;
using graph::TensorType;

// Constant data aligned so that a mapped file can be read with aligned SIMD loads.
constexpr size_t kDataAlignment = 16;

std::string Number(double v) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", v);
  return text;
}

// What the runtime's verifier would refuse of output c of a dense layer, said in the layer's
// terms before anything is written: a weight scale that is not a finite positive float32 (the
// row's largest |weight| / 127 overflows or underflows), a bias that is not finite, a
// requantization multiplier outside [2^-64, 2^30] (numerics::kMinMultiplier, kMaxMultiplier).
// in_scale and out_scale are the input's and output's quantization scales (out_scale 0 for a
// float output, whose multiplier is in_scale * ws).
void CheckQuantizable(const FloatDense& layer, int c, float ws, float m, double real_bias, float in_scale,
                      float out_scale) {
  float largest = 0.0f;
  for (int k = 0; k < layer.in; ++k)
    largest = std::max(largest, std::fabs(layer.weight[static_cast<size_t>(c) * layer.in + k]));
  const std::string where = layer.name + ": output " + std::to_string(c) + ": ";
  if (!std::isfinite(ws) || !(ws > 0.0f)) {
    throw ConvertError(where + "weights as large as " + Number(largest) + " give an int8 weight scale of " +
                       Number(ws) + ", which is not a finite positive float32");
  }
  if (!std::isfinite(real_bias)) {
    throw ConvertError(where + "the bias is " + Number(real_bias) +
                       " after bias correction (weights as large as " + Number(largest) + ")");
  }
  if (!(m >= numerics::kMinMultiplier && m <= numerics::kMaxMultiplier)) {
    const std::string terms = "input scale " + Number(in_scale) + " x weight scale " + Number(ws) +
                              (out_scale > 0.0f ? " / output scale " + Number(out_scale) : std::string());
    throw ConvertError(
        where + "the requantization multiplier (" + terms + ") is " + Number(m) +
        ", outside the runtime's range [2^-64, 2^30]: the weights (as large as " + Number(largest) +
        ") or the calibrated ranges of the layer's input and output are too extreme to quantize");
  }
}

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

// FBGEMM's fused 8-bit row-wise layout (schema RowFormat UINT8_ROWWISE): per row, codes
// round((v - min) / scale) with scale = (max - min) / 255 (0 for a constant row), zero padding
// to 4 bytes, the float scale, the float offset (= min).
size_t TableRowBytes(const FloatTable& t) { return (static_cast<size_t>(t.dim) + 3) / 4 * 4 + 8; }

// Rows [first, first + count) of `t` into `out` (count * TableRowBytes bytes, zeroed); a mapped
// table's float rows leave memory once read.
void QuantizeTableRows(const FloatTable& t, int64_t first, int64_t count, uint8_t* out) {
  const size_t dim = static_cast<size_t>(t.dim);
  const size_t row_bytes = TableRowBytes(t);
  const float* values = t.data();
  for (int64_t r = 0; r < count; ++r) {
    const float* v = values + static_cast<size_t>(first + r) * dim;
    uint8_t* row = out + static_cast<size_t>(r) * row_bytes;
    const auto [lo, hi] = std::minmax_element(v, v + dim);
    const float min = *lo;
    const float scale = (*hi - *lo) / 255.0f;
    for (size_t c = 0; c < dim && scale > 0.0f; ++c)
      row[c] = static_cast<uint8_t>(std::clamp(std::nearbyint((v[c] - min) / scale), 0.0f, 255.0f));
    std::memcpy(row + row_bytes - 8, &scale, 4);
    std::memcpy(row + row_bytes - 4, &min, 4);
  }
  if (t.mapped) t.mapped->Release(static_cast<size_t>(first) * dim, static_cast<size_t>(count) * dim);
}

constexpr int64_t kTableChunkRows = 1 << 16;

// The CRC-32C of the quantized table, quantized chunk by chunk into a small buffer: the file's
// directory (in the FlatBuffer) holds it before the table is written after the FlatBuffer.
uint32_t QuantizedTableCrc(const FloatTable& t) {
  std::vector<uint8_t> chunk;
  uint32_t crc = 0;
  for (int64_t first = 0; first < t.rows; first += kTableChunkRows) {
    const int64_t count = std::min(kTableChunkRows, t.rows - first);
    chunk.assign(static_cast<size_t>(count) * TableRowBytes(t), 0);
    QuantizeTableRows(t, first, count, chunk.data());
    crc = Crc32c(chunk.data(), chunk.size(), crc);
  }
  return crc;
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
  // The quantization of each element of tensor x: its own, or a concat's (per column).
  std::vector<QuantParams> ColumnQuant(int32_t x) const;

  const FloatModel& m_;
  const graph::Graph& g_;
  const ActivationStats& stats_;
  const ConvertOptions& options_;
  std::vector<std::string>* warnings_;
  std::vector<QuantParams> quant_;                      // per tensor (float tensors: unused)
  std::vector<std::vector<QuantParams>> concat_quant_;  // per concat node (Node::param): per column
  std::vector<TensorType> types_;
  std::vector<int32_t> producer_;
  FlatBufferBuilder b_{64 * 1024};
};

std::vector<QuantParams> Writer::ColumnQuant(int32_t x) const {
  const int32_t p = producer_[static_cast<size_t>(x)];
  if (p < 0 || g_.nodes[static_cast<size_t>(p)].op != Op::kConcat)
    return std::vector<QuantParams>(static_cast<size_t>(g_.tensors[x].width), quant_[x]);
  return concat_quant_[static_cast<size_t>(g_.nodes[static_cast<size_t>(p)].param)];
}

// A concat's output holds each column in its own quantization (scale s_k for column k): the
// layer's weights are the float weights times s_k, so that its accumulator counts in units of
// 1 (the tensor's scale) and the zero points fold into the bias as usual.
Offset<fb::Dense> Writer::Dense(const FloatDense& layer, int32_t x, int32_t y) {
  const std::vector<QuantParams> columns = ColumnQuant(x);
  const QuantParams& input = quant_[x];
  const bool accumulator = types_[y] == TensorType::kFloat;
  std::vector<double> input_mean = stats_.GetMean(x);
  const int in = layer.in, out = layer.out;
  std::vector<float> column_scale(static_cast<size_t>(in), 1.0f);
  if (producer_[static_cast<size_t>(x)] >= 0 &&
      g_.nodes[static_cast<size_t>(producer_[x])].op == Op::kConcat) {
    for (int k = 0; k < in; ++k) {
      column_scale[static_cast<size_t>(k)] = columns[static_cast<size_t>(k)].scale;
      // The mean of what the weights multiply: the value in units of its column's scale.
      if (static_cast<int>(input_mean.size()) == in)
        input_mean[static_cast<size_t>(k)] /= columns[static_cast<size_t>(k)].scale;
    }
  }
  // The weights as the accumulator counts them, and the input's second moments in those units.
  std::vector<float> wf(static_cast<size_t>(in) * out);
  for (int c = 0; c < out; ++c)
    for (int k = 0; k < in; ++k)
      wf[static_cast<size_t>(c) * in + k] =
          layer.weight[static_cast<size_t>(c) * in + k] * column_scale[static_cast<size_t>(k)];
  std::vector<double> moments = options_.error_feedback ? stats_.GetSecondMoments(x) : std::vector<double>();
  if (moments.size() == static_cast<size_t>(in) * in) {
    for (int i = 0; i < in; ++i)
      for (int j = 0; j < in; ++j)
        moments[static_cast<size_t>(i) * in + j] /=
            static_cast<double>(column_scale[static_cast<size_t>(i)]) * column_scale[static_cast<size_t>(j)];
  }
  const RoundedWeights rounded = RoundWeights(wf, out, in, moments);
  const std::vector<int8_t>& wq = rounded.q;
  const std::vector<float>& wscale = rounded.scale;
  std::vector<float> mult(out);
  std::vector<int32_t> bias(out);
  // The accumulator must stay in int32 for every input (the runtime verifies this bound).
  const int64_t x_max = input.int16 ? 32768 : 128;
  const int64_t bias_limit =
      INT32_MAX - static_cast<int64_t>(in) * 127 * x_max - static_cast<int64_t>(in) * 127 * 128;
  const bool correct = options_.bias_correction && static_cast<int>(input_mean.size()) == in;
  for (int c = 0; c < out; ++c) {
    const int8_t* q = wq.data() + static_cast<size_t>(c) * in;
    const float* w = wf.data() + static_cast<size_t>(c) * in;
    const float ws = wscale[static_cast<size_t>(c)];
    double real_bias = layer.bias[c];
    // Bias correction: the rounding error's expected effect on this output over the
    // calibration inputs, E[(Wq - W) x], is subtracted from the bias.
    if (correct) {
      for (int k = 0; k < in; ++k) real_bias -= (static_cast<double>(q[k]) * ws - w[k]) * input_mean[k];
    }
    const double acc_scale = static_cast<double>(input.scale) * ws;
    const float m = static_cast<float>(accumulator ? acc_scale : acc_scale / quant_[y].scale);
    CheckQuantizable(layer, c, ws, m, real_bias, input.scale, accumulator ? 0.0f : quant_[y].scale);
    double bq = std::nearbyint(real_bias / acc_scale);
    if (std::fabs(bq) > static_cast<double>(bias_limit)) {
      bq = std::clamp(bq, -static_cast<double>(bias_limit), static_cast<double>(bias_limit));
      warnings_->push_back(layer.name + ": bias " + std::to_string(c) +
                           " clamped to fit the int32 accumulator");
    }
    bias[c] = static_cast<int32_t>(bq);
    mult[c] = m;
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
  types_ = TensorTypes(m_, precision, options_.input_precision == InputPrecision::kInt16);
  producer_ = graph::Producers(g_);
  quant_.resize(g_.tensors.size());
  // Each tensor its own range: trained experts differ by an order of magnitude (the seed
  // model's reach 9 and 156), and one shared scale would leave the small ones a handful of
  // levels; a tower's input gets the mixture's range, not the experts'.
  for (size_t t = 0; t < g_.tensors.size(); ++t) {
    const Range r = stats_.GetRange(static_cast<int32_t>(t));
    if (types_[t] == TensorType::kInt16) quant_[t] = Int16FromRange(r);
    if (types_[t] == TensorType::kInt8) quant_[t] = Int8FromRange(r);
  }
  // A concat quantizes each column with its own range (per_feature_input_scales), or all of
  // them with their union's; its output carries scale 1 and zero point 0 (schema: Concat).
  concat_quant_.resize(static_cast<size_t>(m_.concats));
  for (const Node& n : g_.nodes) {
    if (n.op != Op::kConcat) continue;
    std::vector<QuantParams>& columns = concat_quant_[static_cast<size_t>(n.param)];
    Range all;
    for (int32_t part : n.inputs) {
      for (const Range& r : stats_.GetColumnRanges(part)) {
        all.Add(r.lo);
        all.Add(r.hi);
        columns.push_back(Int8FromRange(r));
      }
    }
    if (!options_.per_feature_input_scales) columns.assign(columns.size(), Int8FromRange(all));
    quant_[n.output] = QuantParams{false, 1.0f, 0};
  }

  std::vector<Offset<fb::Tensor>> tensors;
  for (size_t t = 0; t < g_.tensors.size(); ++t) {
    const auto name = b_.CreateSharedString(g_.tensors[t].name);
    fb::TensorBuilder tb(b_);
    tb.add_name(name);
    tb.add_width(static_cast<uint32_t>(g_.tensors[t].width));
    tb.add_type(types_[t] == TensorType::kFloat   ? fb::ElementType::FLOAT32
                : types_[t] == TensorType::kInt16 ? fb::ElementType::INT16
                : types_[t] == TensorType::kId    ? fb::ElementType::ID
                                                  : fb::ElementType::INT8);
    if (types_[t] == TensorType::kInt8 || types_[t] == TensorType::kInt16) {
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
      case Op::kEmbedding: {
        const FloatEmbedding& e = m_.embeddings[static_cast<size_t>(n.param)];
        const auto row = e.default_row.empty() ? 0 : b_.CreateVector(e.default_row);
        kind = fb::NodeParams::Embedding;
        params = fb::CreateEmbedding(b_, static_cast<uint32_t>(e.table), static_cast<fb::Pooling>(e.pooling),
                                     e.has_padding_id, e.padding_id,
                                     e.default_row.empty() ? fb::BadId::ERROR : fb::BadId::DEFAULT_ROW, row)
                     .Union();
        features.insert("embedding");
        break;
      }
      case Op::kConcat: {
        std::vector<float> scales;
        std::vector<int32_t> zero_points;
        for (const QuantParams& q : concat_quant_[static_cast<size_t>(n.param)]) {
          scales.push_back(q.scale);
          zero_points.push_back(q.zero_point);
        }
        const auto s_off = b_.CreateVector(scales);
        const auto z_off = b_.CreateVector(zero_points);
        kind = fb::NodeParams::Concat;
        params = fb::CreateConcat(b_, s_off, z_off).Union();
        features.insert("concat");
        break;
      }
    }
    std::vector<uint32_t> inputs(n.inputs.begin(), n.inputs.end());
    const auto name = b_.CreateSharedString(n.name);
    const auto inputs_off = b_.CreateVector(inputs);
    nodes.push_back(fb::CreateNode(b_, name, inputs_off, static_cast<uint32_t>(n.output), kind, params));
  }

  std::vector<Offset<fb::Input>> inputs;
  for (const graph::Input& in : g_.inputs) {
    const auto in_name = b_.CreateSharedString(in.name);
    const auto in_features = in.feature_names.empty() ? 0 : b_.CreateVectorOfStrings(in.feature_names);
    inputs.push_back(fb::CreateInput(b_, in_name, static_cast<uint32_t>(in.tensor), in_features,
                                     static_cast<fb::InputKind>(in.kind)));
  }
  // Embedding tables: quantized row by row into the segments after the FlatBuffer, twice
  // (once for the CRC the FlatBuffer holds, once into the file): never held whole beside the
  // file, nor in float.
  std::vector<Offset<fb::EmbeddingTable>> tables;
  std::vector<Offset<fb::Segment>> segments;
  std::vector<uint64_t> segment_offsets;
  uint64_t segment_end = 0;
  for (size_t i = 0; i < m_.tables.size(); ++i) {
    const FloatTable& t = m_.tables[i];
    const uint64_t size = static_cast<uint64_t>(t.rows) * TableRowBytes(t);
    const uint64_t offset = (segment_end + kSegmentAlign - 1) / kSegmentAlign * kSegmentAlign;
    segment_end = offset + size;
    segment_offsets.push_back(offset);
    segments.push_back(fb::CreateSegment(b_, offset, size, QuantizedTableCrc(t)));
    tables.push_back(fb::CreateEmbeddingTable(b_, b_.CreateSharedString(t.name),
                                              static_cast<uint64_t>(t.rows), static_cast<uint32_t>(t.dim),
                                              fb::RowFormat::UINT8_ROWWISE, static_cast<uint32_t>(i)));
  }
  const auto tables_off = tables.empty() ? 0 : b_.CreateVector(tables);
  const auto segments_off = segments.empty() ? 0 : b_.CreateVector(segments);
  std::vector<Offset<fb::Output>> outputs;
  for (const graph::Output& o : g_.outputs) {
    outputs.push_back(fb::CreateOutput(b_, b_.CreateSharedString(o.name), static_cast<uint32_t>(o.tensor)));
  }
  Offset<fb::PackedInput> packed = 0;
  if (g_.packed.present()) {
    const std::vector<uint32_t> first(g_.packed.first.begin(), g_.packed.first.end());
    const std::vector<uint32_t> count(g_.packed.count.begin(), g_.packed.count.end());
    packed =
        fb::CreatePackedInput(b_, b_.CreateString(g_.packed.name), static_cast<uint32_t>(g_.packed.width),
                              b_.CreateVector(first), b_.CreateVector(count));
    features.insert("packed_input");
  }
  for (const graph::Input& in : g_.inputs)
    if (types_[in.tensor] == TensorType::kInt16) features.insert("int16_input");
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
  // The lowest version that holds the model, so that 2.1 runtimes read what they can score.
  mb.add_format_version_minor(features.count("int16_input") ? 3 : packed.IsNull() ? 1 : 2);
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
  if (!packed.IsNull()) mb.add_packed_input(packed);
  if (!tables.empty()) {
    mb.add_embedding_tables(tables_off);
    mb.add_segments(segments_off);
  }
  fb::FinishModelBuffer(b_, mb.Finish());
  // The FlatBuffer; the tables' segments and the segment footer; the CRC-32C trailer
  // (docs/model-format.md).
  // Sized once; each table quantized in place.
  const size_t flatbuffer_size = b_.GetSize();
  const size_t base = (flatbuffer_size + kSegmentAlign - 1) / kSegmentAlign * kSegmentAlign;
  std::vector<uint8_t> file;
  file.reserve((tables.empty() ? flatbuffer_size : base + segment_end + kSegmentFooterSize) +
               kChecksumTrailerSize);
  file.assign(b_.GetBufferPointer(), b_.GetBufferPointer() + flatbuffer_size);
  if (!tables.empty()) {
    file.resize(base + segment_end, 0);
    for (size_t i = 0; i < m_.tables.size(); ++i) {
      const FloatTable& t = m_.tables[i];
      for (int64_t first = 0; first < t.rows; first += kTableChunkRows) {
        QuantizeTableRows(
            t, first, std::min(kTableChunkRows, t.rows - first),
            file.data() + base + segment_offsets[i] + static_cast<size_t>(first) * TableRowBytes(t));
      }
    }
    uint8_t footer[kSegmentFooterSize];
    WriteSegmentFooter(file.data(), flatbuffer_size, footer);
    file.insert(file.end(), footer, footer + kSegmentFooterSize);
  }
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
