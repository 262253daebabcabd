// mmoe inspect M.mmoe: the structure, printed the way PyTorch prints the seed model, with
// each layer's quantization, parameter count and bytes.
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

namespace mmoe::cli {
namespace {

std::string Quant(const fb::ActivationQuant* q) {
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%s scale=%.6g zp=%d",
                q->type() == fb::ElementType::INT16 ? "int16" : "int8", static_cast<double>(q->scale()),
                q->zero_point());
  return buf;
}

struct Totals {
  int64_t params = 0;
  int64_t bytes = 0;
};

void PrintDense(const fb::Dense* d, int index, const std::string& pad, const char* tail, Totals* totals) {
  const int64_t in = d->in_features(), out = d->out_features();
  const int64_t params = in * out + out;
  // Stored bytes: int8 weights, and per channel an int32 bias, a scale and a multiplier.
  const int64_t bytes = in * out + 12 * out;
  totals->params += params;
  totals->bytes += bytes;
  float smin = d->weight_scales()->Get(0), smax = smin;
  for (float s : *d->weight_scales()) smin = std::min(smin, s), smax = std::max(smax, s);
  std::printf("%s(%d): Linear(in_features=%lld, out_features=%lld, bias=True)\n", pad.c_str(), 2 * index,
              static_cast<long long>(in), static_cast<long long>(out));
  std::printf("%s      # %s | in %s | w int8 per-channel scale [%.3g, %.3g] | ", pad.c_str(),
              d->name() ? d->name()->c_str() : "", Quant(d->input()).c_str(), static_cast<double>(smin),
              static_cast<double>(smax));
  if (d->output_kind() == fb::OutputKind::REQUANTIZED) {
    std::printf("out %s", Quant(d->output()).c_str());
  } else {
    std::printf("out int32 accumulator");
  }
  std::printf(" | %s params, %s bytes\n", Thousands(params).c_str(), Thousands(bytes).c_str());
  if (d->activation() == fb::Activation::RELU) std::printf("%s(%d): ReLU()\n", pad.c_str(), 2 * index + 1);
  if (tail) std::printf("%s(%d): %s\n", pad.c_str(), 2 * index + 1, tail);
}

void PrintMlp(const fb::Mlp* mlp, const std::string& label, const std::string& pad, const char* tail,
              Totals* totals) {
  std::printf("%s%sSequential(\n", pad.c_str(), label.c_str());
  const auto* layers = mlp->layers();
  for (uint32_t i = 0; i < layers->size(); ++i) {
    PrintDense(layers->Get(i), static_cast<int>(i), pad + "  ", i + 1 == layers->size() ? tail : nullptr,
               totals);
  }
  std::printf("%s)\n", pad.c_str());
}

const char* Kind(const fb::Model* m) {
  const uint32_t gates = m->gates() ? m->gates()->size() : 0;
  if (gates == 0) return "SharedBottom";
  if (gates == 1 && m->tasks()->size() > 1) return "MoE";
  return "MMoE";
}

void RunInspect(const std::string& path) {
  std::shared_ptr<const Model> model;
  if (Status s = Model::LoadFile(path.c_str(), &model); !s.ok()) {
    throw std::runtime_error(std::string(StatusCodeName(s.code())) + ": " + s.message());
  }
  const fb::Model* m = fb::GetModel(model->flatbuffer());
  auto str = [](const flatbuffers::String* s) { return s ? s->c_str() : ""; };
  std::printf("%s: mmoe-edge model '%s', format %u.%u (%s), written by %s %s at %s\n", path.c_str(),
              str(m->name()), m->format_version_major(), m->format_version_minor(),
              model->checksum_verified() ? "CRC-32C verified" : "no checksum", str(m->producer()),
              str(m->producer_version()), str(m->created_utc()));
  std::printf("input: %u features, %s%s\n", m->input_dim(), Quant(m->input()).c_str(),
              m->feature_names() && m->feature_names()->size() ? " (named)" : "");
  if (m->calibration()) {
    std::printf("calibration: %s over %llu rows\n", str(m->calibration()->method()),
                static_cast<unsigned long long>(m->calibration()->rows()));
  }
  Totals totals;
  std::printf("%s(\n  (experts): ModuleList(\n", Kind(m));
  for (uint32_t e = 0; e < m->experts()->size(); ++e) {
    PrintMlp(m->experts()->Get(e), "(" + std::to_string(e) + "): ", "    ", nullptr, &totals);
  }
  std::printf("  )\n");
  if (m->gates() && m->gates()->size()) {
    std::printf("  (gates): ModuleList(\n");
    for (uint32_t g = 0; g < m->gates()->size(); ++g) {
      std::string experts;
      for (uint32_t e : *m->gates()->Get(g)->experts())
        experts += (experts.empty() ? "" : ", ") + std::to_string(e);
      const std::string softmax = "Softmax(dim=1) over experts [" + experts + "], Q15 weights";
      PrintMlp(m->gates()->Get(g)->mlp(), "(" + std::to_string(g) + "): ", "    ", softmax.c_str(), &totals);
    }
    std::printf("  )\n");
  }
  std::printf("  (towers): ModuleList(\n");
  for (uint32_t t = 0; t < m->tasks()->size(); ++t) {
    const fb::Task* task = m->tasks()->Get(t);
    const std::string source = task->gate() >= 0 ? "gate " + std::to_string(task->gate())
                                                 : "expert " + std::to_string(task->expert()) + " (no gate)";
    std::string scales;
    for (float v : *task->mix_scales()) {
      char buf[24];
      std::snprintf(buf, sizeof(buf), "%s%.4g", scales.empty() ? "" : ", ", static_cast<double>(v));
      scales += buf;
    }
    std::printf("    # task %u '%s' reads the mixture of %s (expert/tower-input scale ratios [%s]) as %s\n",
                t, str(task->name()), source.c_str(), scales.c_str(),
                Quant(task->tower()->layers()->Get(0)->input()).c_str());
    PrintMlp(task->tower(), "(" + std::to_string(t) + "): ", "    ",
             task->output() == fb::TaskOutput::SIGMOID ? "Sigmoid()" : "Identity()", &totals);
  }
  std::printf("  )\n)\n");
  std::printf("parameters: %s; %s multiply-accumulates per item; layer data %s bytes; file %s bytes\n",
              Thousands(totals.params).c_str(), Thousands(model->macs_per_item()).c_str(),
              Thousands(totals.bytes).c_str(),
              Thousands(static_cast<int64_t>(std::filesystem::file_size(path))).c_str());
}

}  // namespace

Action AddInspect(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  app.add_option("model", *path, "model file (.mmoe)")->required();
  return [path] { RunInspect(*path); };
}

}  // namespace mmoe::cli
