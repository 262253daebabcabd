// mmoe convert --weights W.safetensors [--arch A.json] --calib C.npy -o M.mmoe
// mmoe convert --onnx model.onnx --calib C.npz -o M.mmoe
#include <cstdio>
#include <filesystem>
#include <memory>

#include "commands.h"
#include "eval_report.h"
#include "format.h"
#include "mmoe/converter/calibrate.h"
#include "mmoe/converter/convert.h"
#include "mmoe/converter/evaluate.h"
#include "mmoe/converter/inputs.h"
#include "mmoe/converter/io.h"
#include "mmoe/converter/onnx_import.h"
#include "mmoe/converter/rows.h"
#include "mmoe/mmoe.h"
#include "progress.h"

namespace mmoe::cli {
namespace {

struct ConvertArgs {
  std::string weights, arch, onnx, calib, output, name, report,
      activations = "mixed", weight_rounding = "error-feedback", input_precision = "auto";
  std::vector<std::string> task_names;
  bool no_bias_correction = false, quiet = false;
  converter::ConvertOptions options;
};

bool SameFile(const std::string& a, const std::string& b) {
  std::error_code ec;
  if (std::filesystem::equivalent(a, b, ec)) return true;
  return std::filesystem::weakly_canonical(a, ec) == std::filesystem::weakly_canonical(b, ec);
}

// The report of a conversion: the new model against its float weights on every calibration row
// (streamed again; there are no labels, so no AUC).
void WriteConvertReport(const ConvertArgs& args, const converter::FloatModel& model,
                        const converter::ConvertResult& r, converter::InputSource& calib, ProgressBar* bar) {
  std::shared_ptr<const Model> runtime_model;
  if (Status s = Model::LoadBuffer(r.bytes.data(), r.bytes.size(), &runtime_model); !s.ok()) {
    throw converter::ConvertError(std::string("internal error: ") + s.message());
  }
  converter::EvalOptions options;
  options.max_rows = args.options.agreement_rows;  // bounded memory, as for the agreement
  options.progress = [bar](const char* stage, int64_t done, int64_t total) {
    bar->Update(stage, done, total);
  };
  const converter::EvalResult eval = converter::Evaluate(model, runtime_model, calib, nullptr, options);
  bar->Finish();
  ReportInput in;
  in.title = "mmoe convert: " + args.output;
  in.source = (args.onnx.empty() ? "float weights " + args.weights : "ONNX graph " + args.onnx) +
              " against the int8 model on " + (eval.rows == r.calibration_rows ? "" : "the first ") +
              Thousands(eval.rows) + " calibration rows of " + args.calib + " (no labels)";
  in.notes.push_back("calibration " + converter::ParseCalibrationMethod(args.options.calibration).Name() +
                     ", " + args.activations + " activations, bias correction " +
                     (args.no_bias_correction ? "off" : "on") + "; " +
                     Thousands(static_cast<int64_t>(r.bytes.size())) + " bytes");
  in.result = &eval;
  WriteReport(args.report, in);
}

void RunConvert(const ConvertArgs& args) {
  using converter::ConvertError;
  for (const std::string* out : {&args.output, &args.report}) {
    for (const std::string* in : {&args.weights, &args.arch, &args.onnx, &args.calib}) {
      if (!out->empty() && !in->empty() && SameFile(*in, *out)) {
        throw ConvertError("output '" + *out + "' is the input file '" + *in + "'; choose another path");
      }
    }
  }
  if (args.weights.empty() == args.onnx.empty())
    throw ConvertError("give the float model: --weights or --onnx");
  if (!args.onnx.empty() && !args.arch.empty())
    throw ConvertError("--arch describes --weights; an ONNX graph describes itself");
  converter::FloatModel model;
  if (!args.onnx.empty()) {
    converter::OnnxImportOptions import_options;
    import_options.task_names = args.task_names;
    import_options.model_name = args.name;
    converter::OnnxImport import = converter::ImportOnnx(args.onnx, import_options);
    const converter::OnnxCheck check = converter::VerifyOnnxImport(import, args.calib);
    std::printf(
        "imported %s: %lld tensors and every task match the ONNX graph on %lld calibration rows (max |diff| "
        "%.2g)\n",
        args.onnx.c_str(), static_cast<long long>(check.tensors), static_cast<long long>(check.rows),
        check.max_abs_diff);
    model = std::move(import.model);
  } else {
    if (!args.task_names.empty())
      throw ConvertError("--task-names names an ONNX graph's tasks; the architecture JSON names them");
    model = converter::ImportModel(args.weights, args.arch);
  }
  if (!args.name.empty()) model.name = args.name;
  const std::unique_ptr<converter::InputSource> calib = converter::OpenInputs(args.calib, model.graph);
  converter::ConvertOptions options = args.options;
  ProgressBar bar(args.quiet);
  options.progress = [&bar](const char* stage, int64_t done, int64_t total) {
    bar.Update(stage, done, total);
  };
  options.activations = args.activations == "int8"    ? converter::ActivationPrecision::kInt8
                        : args.activations == "int16" ? converter::ActivationPrecision::kInt16
                                                      : converter::ActivationPrecision::kMixed;
  options.bias_correction = !args.no_bias_correction;
  options.error_feedback = args.weight_rounding == "error-feedback";
  options.input_precision = args.input_precision == "int16"  ? converter::InputPrecision::kInt16
                            : args.input_precision == "int8" ? converter::InputPrecision::kInt8
                                                             : converter::InputPrecision::kAuto;
  const converter::ConvertResult r = converter::Convert(model, *calib, options);
  bar.Finish();
  converter::WriteFileAtomic(args.output, r.bytes.data(), r.bytes.size());

  std::printf("model '%s': %s; %s; %d tasks (", model.name.c_str(), DescribeInputs(model.graph).c_str(),
              graph::CountOps(model.graph).c_str(), model.num_tasks());
  const std::vector<std::string> tasks = model.task_names();
  for (size_t t = 0; t < tasks.size(); ++t) std::printf("%s%s", t ? ", " : "", tasks[t].c_str());
  std::printf(")\n");
  std::printf("parameters: %s (%s bytes as int8 weights + int32 biases); %s multiply-accumulates per item\n",
              Thousands(r.parameters).c_str(), Thousands(r.parameter_bytes).c_str(),
              Thousands(model.macs()).c_str());
  std::printf("wrote %s: %s bytes (%.3f x parameter bytes)\n", args.output.c_str(),
              Thousands(static_cast<int64_t>(r.bytes.size())).c_str(),
              static_cast<double>(r.bytes.size()) / static_cast<double>(r.parameter_bytes));
  std::printf("calibration: %s over %s rows of %s; %s activations; bias correction %s\n",
              converter::ParseCalibrationMethod(options.calibration).Name().c_str(),
              Thousands(r.calibration_rows).c_str(), args.calib.c_str(), args.activations.c_str(),
              options.bias_correction ? "on" : "off");
  std::printf("input: %s (%s); weights rounded %s\n", r.int16_input ? "int16" : "int8",
              args.input_precision != "auto"        ? "--input-precision"
              : r.int16_input                       ? "its calibration values are not all on the int8 grid"
              : converter::CanTakeInt16Input(model) ? "int8 holds every calibration value exactly"
                                                    : "quantized per feature by a concat",
              options.error_feedback ? "with error feedback" : "to nearest");
  for (const std::string& w : r.warnings) std::printf("warning: %s\n", w.c_str());
  if (r.agreement_rows == r.calibration_rows) {
    std::printf("float vs int8 probabilities on the calibration rows:\n");
  } else {
    std::printf("float vs int8 probabilities on the first %s calibration rows:\n",
                Thousands(r.agreement_rows).c_str());
  }
  std::printf("  %-16s %10s %10s %10s %10s\n", "task", "max_abs", "mean_abs", "p99_abs", "spearman");
  for (const auto& a : r.agreement) {
    std::printf("  %-16s %10.6f %10.6f %10.6f %10.6f\n", a.task.c_str(), a.max_abs, a.mean_abs, a.p99_abs,
                a.spearman);
  }
  if (!args.report.empty()) {
    WriteConvertReport(args, model, r, *calib, &bar);
    std::printf("wrote %s\n", args.report.c_str());
  }
}

}  // namespace

Action AddConvert(CLI::App& app) {
  auto args = std::make_shared<ConvertArgs>();
  CLI::Option* weights =
      app.add_option("--weights", args->weights, "float32 weights (.safetensors)")->check(CLI::ExistingFile);
  app.add_option(
         "--onnx", args->onnx,
         "or an ONNX graph (torch.onnx.export, tf2onnx, paddle2onnx; docs/onnx.md), checked against the "
         "import on the calibration rows")
      ->check(CLI::ExistingFile)
      ->excludes(weights);
  app.add_option("--task-names", args->task_names,
                 "with --onnx: one name per task, in the order of the graph's output columns (default: the "
                 "output names, or task0, task1, ...)")
      ->delimiter(',');
  app.add_option("--arch", args->arch,
                 "architecture JSON (docs/arch-json.md); default: the seed's key layout")
      ->check(CLI::ExistingFile);
  app.add_option(
         "--calib", args->calib,
         "calibration inputs, [N, input_dim] (.npy float32/float64, or .csv), or the model's inputs by name "
         "(.npz: one array per input; .csv with a header)")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("-o,--output", args->output, "model file to write (.mmoe)")->required();
  app.add_option("--name", args->name, "model name (default: from the architecture, or the weights file)");
  app.add_option("--calibration", args->options.calibration,
                 "activation range method: minmax, percentile[:P] (P in (50, 100], default 99.99) or mse "
                 "(least quantization error)")
      ->check(CLI::Validator(
          [](std::string& text) {
            try {
              converter::ParseCalibrationMethod(text);
              return std::string();
            } catch (const converter::ConvertError& e) {
              return std::string(e.what());
            }
          },
          "METHOD"))
      ->default_str("minmax");
  app.add_option(
      "--report", args->report,
      "also write a self-contained HTML report: per-layer SQNR, int8 - float per row and its distribution, "
      "gate weights, on the calibration rows");
  app.add_flag("-q,--quiet", args->quiet, "no progress bar (there is none when stderr is not a terminal)");
  app.add_option(
         "--activations", args->activations,
         "mixed: int8 into the experts' hidden layers, int16 after them (default); int8: int8 everywhere; "
         "int16: int16 wherever exact, the experts' hidden layers too (about half the error, ~15% slower)")
      ->check(CLI::IsMember({"mixed", "int8", "int16"}))
      ->default_str("mixed");
  app.add_option("--input-precision", args->input_precision,
                 "auto: int16 input when int8 cannot hold the calibration values exactly (real-valued "
                 "features; the first layers then cost up to twice as much, docs/quality.md), else "
                 "int8 (default; with --activations int8 always int8); int8; int16")
      ->check(CLI::IsMember({"auto", "int8", "int16"}))
      ->default_str("auto");
  app.add_option("--weight-rounding", args->weight_rounding,
                 "error-feedback: round each layer's weights against its calibrated inputs, GPTQ-style "
                 "(default); nearest: round to nearest")
      ->check(CLI::IsMember({"error-feedback", "nearest"}))
      ->default_str("error-feedback");
  app.add_flag("--no-bias-correction", args->no_bias_correction,
               "do not fold the weight rounding error's calibration mean into the biases");
  return [args] { RunConvert(*args); };
}

}  // namespace mmoe::cli
