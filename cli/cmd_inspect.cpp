// mmoe inspect M.mmoe: the model's graph as the runtime loaded it (a format 1.x file lowered to
// the same nodes), one line per node with its tensors' quantization, parameters and bytes.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "commands.h"
#include "format.h"
#include "mmoe/mmoe.h"
#include "mmoe_generated.h"
#include "model_data.h"

namespace mmoe::cli {
namespace {

using graph::Op;
using graph::TensorType;

std::string Quant(const graph::Tensor& t) {
  char buf[96];
  if (t.type == TensorType::kFloat) return "float32";
  std::snprintf(buf, sizeof(buf), "%s scale=%.6g zp=%d", graph::TensorTypeName(t.type),
                static_cast<double>(t.scale), t.zero_point);
  return buf;
}

// "experts.0.2[32]"
std::string Ref(const graph::Graph& g, int32_t t) {
  return g.tensors[t].name + "[" + std::to_string(g.tensors[t].width) + "]";
}

struct Totals {
  int64_t params = 0;
  int64_t bytes = 0;
};

std::string DenseDetail(const ModelData& m, const graph::Node& n, Totals* totals) {
  const graph::Graph& g = m.graph;
  const fb::Dense* d = m.dense_source[n.param];
  const int64_t in = g.tensors[n.inputs[0]].width, out = g.tensors[n.output].width;
  const int64_t params = in * out + out;
  // Stored bytes: int8 weights, and per channel an int32 bias, a scale and a multiplier.
  const int64_t bytes = in * out + 12 * out;
  totals->params += params;
  totals->bytes += bytes;
  float smin = d->weight_scales()->Get(0), smax = smin;
  for (float s : *d->weight_scales()) smin = std::min(smin, s), smax = std::max(smax, s);
  char buf[160];
  std::snprintf(buf, sizeof(buf), "%s | w int8 per-channel scale [%.3g, %.3g] | %s params, %s bytes",
                d->activation() == fb::Activation::RELU ? " relu" : "", static_cast<double>(smin),
                static_cast<double>(smax), Thousands(params).c_str(), Thousands(bytes).c_str());
  return buf;
}

void RunInspect(const std::string& path) {
  std::shared_ptr<const Model> model;
  if (Status s = Model::LoadFile(path.c_str(), &model); !s.ok()) {
    throw std::runtime_error(std::string(StatusCodeName(s.code())) + ": " + s.message());
  }
  const ModelData& data = model->data();
  const graph::Graph& g = data.graph;
  const fb::Model* m = fb::GetModel(model->flatbuffer());
  auto str = [](const flatbuffers::String* s) { return s ? s->c_str() : ""; };
  std::printf("%s: mmoe-edge model '%s', format %u.%u (%s), written by %s %s at %s\n", path.c_str(),
              str(m->name()), m->format_version_major(), m->format_version_minor(),
              model->checksum_verified() ? "CRC-32C verified" : "no checksum", str(m->producer()),
              str(m->producer_version()), str(m->created_utc()));
  if (m->required_features() && m->required_features()->size()) {
    std::string features;
    for (const flatbuffers::String* f : *m->required_features())
      features += (features.empty() ? "" : ", ") + f->str();
    std::printf("requires: %s\n", features.c_str());
  }
  if (g.packed.present()) {
    std::printf("packed input '%s': %d floats per item (Score(features)), the inputs below in its columns\n",
                g.packed.name.c_str(), g.packed.width);
  }
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    const graph::Input& input = g.inputs[i];
    const graph::Tensor& t = g.tensors[input.tensor];
    if (g.packed.present()) {
      const int32_t first = g.packed.first[i], count = g.packed.count[i];
      const std::string end = count > 1 ? ":" + std::to_string(first + count) : "";
      std::printf("  %s[%d%s] ", g.packed.name.c_str(), first, end.c_str());
    }
    if (input.kind == graph::InputKind::kDense) {
      std::printf("input '%s': %d features, %s%s\n", input.name.c_str(), t.width,
                  t.type == TensorType::kFloat ? "float32 (quantized by a concat)" : Quant(t).c_str(),
                  input.feature_names.empty() ? "" : " (named)");
    } else {
      std::printf("input '%s': %s, ids in [0, %s)\n", input.name.c_str(),
                  input.kind == graph::InputKind::kIds ? "one id per item" : "a bag of ids per item",
                  Thousands(static_cast<int64_t>(data.inputs[i].rows)).c_str());
    }
  }
  int64_t table_bytes = 0;
  if (m->embedding_tables()) {
    for (uint32_t i = 0; i < m->embedding_tables()->size(); ++i) {
      const fb::EmbeddingTable* t = m->embedding_tables()->Get(i);
      const EmbeddingTable& view = data.tables[i];
      const int64_t bytes = static_cast<int64_t>(view.num_rows * view.row_bytes);
      table_bytes += bytes;
      std::printf(
          "table '%s': %s rows x %u, uint8 row-wise (scale and offset per row), %s bytes (float32: %s)\n",
          str(t->name()), Thousands(static_cast<int64_t>(t->rows())).c_str(), t->dim(),
          Thousands(bytes).c_str(), Thousands(static_cast<int64_t>(t->rows()) * t->dim() * 4).c_str());
    }
  }
  if (m->calibration()) {
    std::printf("calibration: %s over %llu rows\n", str(m->calibration()->method()),
                static_cast<unsigned long long>(m->calibration()->rows()));
  }
  std::printf("graph: %s; %zu tensors\n", graph::CountOps(g).c_str(), g.tensors.size());
  Totals totals;
  for (const graph::Node& n : g.nodes) {
    const graph::Tensor& y = g.tensors[n.output];
    std::string from;
    switch (n.op) {
      case Op::kMixture: {
        from = n.gated ? Ref(g, n.inputs[0]) + " x (" : "(";
        for (int32_t j = 0; j < n.num_experts(); ++j)
          from += (j ? ", " : "") + g.tensors[n.experts()[j]].name;
        from += ")";
        break;
      }
      case Op::kProduct:
        for (size_t j = 0; j < n.inputs.size(); ++j) from += (j ? " x " : "") + Ref(g, n.inputs[j]);
        break;
      default:
        from = Ref(g, n.inputs[0]);
    }
    std::string detail;
    if (n.op == Op::kDense) detail = DenseDetail(data, n, &totals);
    if (n.op == Op::kEmbedding) {
      const EmbeddingLookup& e = data.embeddings[n.param];
      const fb::Embedding* fe =
          m->nodes()->Get(static_cast<uint32_t>(&n - g.nodes.data()))->params_as_Embedding();
      detail = std::string(" | table '") + str(m->embedding_tables()->Get(fe->table())->name()) + "'" +
               (e.pooling == graph::Pooling::kSum    ? ", sum"
                : e.pooling == graph::Pooling::kMean ? ", mean"
                                                     : "") +
               (e.has_padding_id ? ", padding id " + std::to_string(e.padding_id) : "") +
               (e.default_row ? ", unknown ids read a default row" : ", unknown ids are an error");
    }
    if (n.op == Op::kConcat) {
      from.clear();
      for (size_t j = 0; j < n.inputs.size(); ++j) from += (j ? " + " : "") + Ref(g, n.inputs[j]);
      detail = " | a scale and zero point per column";
    }
    if (n.op == Op::kActivation) {
      const ActivationTables& t = data.activations[n.param];
      detail = std::string(" ") + str(data.activation_source[n.param]->function()) +
               (t.per_channel ? " (a table per channel)" : " (one table)");
    }
    std::printf("  %-10s %s -> %s %s%s\n", graph::OpName(n.op), from.c_str(), Ref(g, n.output).c_str(),
                Quant(y).c_str(), detail.c_str());
  }
  std::printf("outputs:");
  for (size_t o = 0; o < g.outputs.size(); ++o) {
    std::printf("%s '%s' <- %s", o ? "," : "", g.outputs[o].name.c_str(),
                g.tensors[g.outputs[o].tensor].name.c_str());
  }
  std::printf("\nparameters: %s; %s multiply-accumulates per item; layer data %s bytes; %sfile %s bytes\n",
              Thousands(totals.params).c_str(), Thousands(model->macs_per_item()).c_str(),
              Thousands(totals.bytes).c_str(),
              table_bytes ? ("embedding tables " + Thousands(table_bytes) + " bytes; ").c_str() : "",
              Thousands(static_cast<int64_t>(std::filesystem::file_size(path))).c_str());
}

}  // namespace

Action AddInspect(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  app.add_option("model", *path, "model file (.mmoe)")->required();
  return [path] { RunInspect(*path); };
}

}  // namespace mmoe::cli
