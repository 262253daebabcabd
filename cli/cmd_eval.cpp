// mmoe eval M.mmoe --weights W.safetensors [--arch A.json] --input X.npy [--labels Y.npy]
// mmoe eval M.mmoe --onnx model.onnx --input X.npz [--labels Y.npy]
//           [--json] [--report R.html]
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "commands.h"
#include "eval_report.h"
#include "format.h"
#include "mmoe/converter/evaluate.h"
#include "mmoe/converter/inputs.h"
#include "mmoe/converter/onnx_import.h"
#include "mmoe/converter/rows.h"
#include "mmoe/mmoe.h"
#include "model_data.h"
#include "progress.h"

namespace mmoe::cli {
namespace {

struct EvalArgs {
  std::string model, weights, arch, onnx, input, labels, report;
  bool json = false, quiet = false;
};

// JSON has no NaN or infinity: they become null.
nlohmann::json Number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

nlohmann::json ToJson(const EvalArgs& args, const converter::EvalResult& r) {
  nlohmann::json tasks = nlohmann::json::array();
  for (size_t t = 0; t < r.tasks.size(); ++t) {
    const converter::TaskEval& e = r.task_evals[t];
    nlohmann::json j = {{"task", r.tasks[t]},
                        {"max_abs_diff", e.agreement.max_abs},
                        {"mean_abs_diff", e.agreement.mean_abs},
                        {"p99_abs_diff", e.agreement.p99_abs},
                        {"spearman", Number(e.agreement.spearman)},
                        {"flipped_pairs", e.flipped_pairs}};
    if (e.has_labels && !e.regression) {
      j["auc_float"] = Number(e.auc_float);
      j["auc_int8"] = Number(e.auc_int8);
      j["auc_delta"] = Number(e.auc_int8 - e.auc_float);
      j["logloss_float"] = Number(e.logloss_float);
      j["logloss_int8"] = Number(e.logloss_int8);
    }
    if (e.has_labels && e.regression) {
      j["rmse_float"] = Number(e.rmse_float);
      j["rmse_int8"] = Number(e.rmse_int8);
      j["mae_float"] = Number(e.mae_float);
      j["mae_int8"] = Number(e.mae_int8);
      j["spearman_labels_float"] = Number(e.spearman_float);
      j["spearman_labels_int8"] = Number(e.spearman_int8);
    }
    tasks.push_back(j);
  }
  nlohmann::json layers = nlohmann::json::array();
  // An exact layer (no noise, e.g. 0/1 inputs) has infinite SQNR: null with "exact": true.
  for (const auto& l : r.layers) {
    layers.push_back(
        {{"name", l.name}, {"type", l.type}, {"sqnr_db", Number(l.sqnr_db())}, {"exact", l.noise == 0.0}});
  }
  nlohmann::json mixtures = nlohmann::json::array();
  for (const auto& m : r.mixtures) {
    mixtures.push_back({{"name", m.name}, {"experts", m.experts}, {"mean_weight", m.mean_weight}});
  }
  return {{"model", args.model},
          {"input", args.input},
          {"rows", r.rows},
          {"labels", args.labels.empty() ? nlohmann::json(nullptr) : nlohmann::json(args.labels)},
          {"tasks", tasks},
          {"layers", layers},
          {"mixtures", mixtures},
          {"simulation_mismatches", r.simulation_mismatches}};
}

void PrintText(const EvalArgs& args, const converter::EvalResult& r) {
  std::printf("%s vs the float %s %s on %s rows of %s%s%s\n", args.model.c_str(),
              args.onnx.empty() ? "weights" : "ONNX graph",
              (args.onnx.empty() ? args.weights : args.onnx).c_str(), Thousands(r.rows).c_str(),
              args.input.c_str(), args.labels.empty() ? "" : ", labels ", args.labels.c_str());
  bool classification = false, regression = false;
  for (const converter::TaskEval& e : r.task_evals) {
    classification = classification || (e.has_labels && !e.regression);
    regression = regression || (e.has_labels && e.regression);
  }
  std::printf("  %-16s %9s %9s %9s %9s %9s\n", "task", "max|d|", "mean|d|", "p99|d|", "spearman", "flipped");
  for (size_t t = 0; t < r.tasks.size(); ++t) {
    const converter::TaskEval& e = r.task_evals[t];
    std::printf("  %-16s %9.6f %9.6f %9.6f %9.6f %9.2e\n", r.tasks[t].c_str(), e.agreement.max_abs,
                e.agreement.mean_abs, e.agreement.p99_abs, e.agreement.spearman, e.flipped_pairs);
  }
  if (classification) {
    std::printf("classification against the labels:\n  %-16s %9s %9s %9s %9s %9s\n", "task", "auc_f32",
                "auc_int8", "d_auc", "ll_f32", "ll_int8");
    for (size_t t = 0; t < r.tasks.size(); ++t) {
      const converter::TaskEval& e = r.task_evals[t];
      if (!e.has_labels || e.regression) continue;
      std::printf("  %-16s %9.5f %9.5f %+9.5f %9.5f %9.5f\n", r.tasks[t].c_str(), e.auc_float, e.auc_int8,
                  e.auc_int8 - e.auc_float, e.logloss_float, e.logloss_int8);
    }
  }
  if (regression) {
    std::printf("regression against the labels:\n  %-16s %10s %10s %10s %10s %9s %9s\n", "task", "rmse_f32",
                "rmse_int8", "mae_f32", "mae_int8", "rho_f32", "rho_int8");
    for (size_t t = 0; t < r.tasks.size(); ++t) {
      const converter::TaskEval& e = r.task_evals[t];
      if (!e.has_labels || !e.regression) continue;
      std::printf("  %-16s %10.5g %10.5g %10.5g %10.5g %9.6f %9.6f\n", r.tasks[t].c_str(), e.rmse_float,
                  e.rmse_int8, e.mae_float, e.mae_int8, e.spearman_float, e.spearman_int8);
    }
  }
  std::printf("per-tensor SQNR of int8 against float (dB):\n");
  for (const auto& l : r.layers) {
    const double db = l.sqnr_db();
    if (std::isinf(db)) {
      std::printf("  %-32s %-7s %8s\n", l.name.c_str(), l.type.c_str(), db > 0 ? "exact" : "-inf");
    } else {
      std::printf("  %-32s %-7s %8.2f\n", l.name.c_str(), l.type.c_str(), db);
    }
  }
  if (!r.mixtures.empty()) std::printf("mean gate weight per mixed tensor:\n");
  for (const auto& m : r.mixtures) {
    std::printf("  %-24s", m.name.c_str());
    for (size_t j = 0; j < m.experts.size(); ++j)
      std::printf(" %s %.3f", m.experts[j].c_str(), m.mean_weight[j]);
    std::printf("\n");
  }
  if (r.simulation_mismatches != 0) {
    std::printf(
        "warning: %lld scores of the default backend differ from the reference executor's; the per-tensor "
        "figures may not describe the backend in use\n",
        static_cast<long long>(r.simulation_mismatches));
  }
}

void RunEval(const EvalArgs& args) {
  std::shared_ptr<const Model> model;
  if (Status s = Model::LoadFile(args.model.c_str(), &model); !s.ok()) {
    throw std::runtime_error(std::string(StatusCodeName(s.code())) + ": " + s.message());
  }
  if (args.weights.empty() == args.onnx.empty())
    throw converter::ConvertError("give the float model the file came from: --weights or --onnx");
  converter::FloatModel float_model;
  if (!args.onnx.empty()) {  // tasks named as the model file names them
    converter::OnnxImportOptions options;
    for (int t = 0; t < model->num_tasks(); ++t) options.task_names.push_back(model->task_name(t));
    float_model = converter::ImportOnnx(args.onnx, options).model;
  } else {
    float_model = converter::ImportModel(args.weights, args.arch);
  }
  const std::unique_ptr<converter::InputSource> rows = converter::OpenInputs(args.input, model->data().graph);
  converter::Matrix labels;
  if (!args.labels.empty()) {
    labels = converter::ReadMatrix(args.labels);
    converter::CheckLabels(labels, rows->rows(), converter::ProbabilityOutputs(float_model), args.labels);
  }
  ProgressBar bar(args.quiet || args.json);
  converter::EvalOptions options;
  options.progress = [&bar](const char* stage, int64_t done, int64_t total) {
    bar.Update(stage, done, total);
  };
  const converter::EvalResult r =
      converter::Evaluate(float_model, model, *rows, args.labels.empty() ? nullptr : &labels, options);
  bar.Finish();
  if (args.json) {
    std::printf("%s\n", ToJson(args, r).dump(2).c_str());
  } else {
    PrintText(args, r);
  }
  if (!args.report.empty()) {
    ReportInput in;
    in.title = "mmoe eval: " + args.model;
    in.source =
        Thousands(r.rows) + " rows of " + args.input + (args.labels.empty() ? "" : ", labels " + args.labels);
    in.result = &r;
    WriteReport(args.report, in);
    if (!args.json) std::printf("wrote %s\n", args.report.c_str());
  }
}

}  // namespace

Action AddEval(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  app.add_option("model", args->model, "model file (.mmoe)")->required();
  CLI::Option* weights =
      app.add_option("--weights", args->weights, "the float32 weights it was converted from (.safetensors)")
          ->check(CLI::ExistingFile);
  app.add_option("--onnx", args->onnx, "or the ONNX graph it was converted from (mmoe convert --onnx)")
      ->check(CLI::ExistingFile)
      ->excludes(weights);
  app.add_option("--arch", args->arch,
                 "architecture JSON (docs/arch-json.md); default: the seed's key layout")
      ->check(CLI::ExistingFile);
  app.add_option(
         "-i,--input", args->input,
         "feature rows [N, input_dim] (.npy streamed, or .csv), or the model's inputs by name (.npz, or "
         ".csv with a header)")
      ->required();
  app.add_option(
      "--labels", args->labels,
      "labels [N, tasks] (.npy or .csv): AUC and log loss for 0/1 labels, RMSE, MAE and Spearman for "
      "real-valued ones");
  app.add_flag("--json", args->json, "print the figures as JSON");
  app.add_option("--report", args->report, "also write a self-contained HTML report (inline SVG)");
  app.add_flag("-q,--quiet", args->quiet, "no progress bar (there is none when stderr is not a terminal)");
  return [args] { RunEval(*args); };
}

}  // namespace mmoe::cli
