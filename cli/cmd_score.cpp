// mmoe score M.mmoe --input X.npy|X.csv --output S.npy|S.csv
#include <chrono>
#include <cstdio>
#include <memory>
#include <stdexcept>

#include "commands.h"
#include "mmoe/converter/convert.h"
#include "mmoe/converter/inputs.h"
#include "mmoe/converter/io.h"
#include "mmoe/mmoe.h"
#include "model_data.h"

namespace mmoe::cli {
namespace {

struct ScoreArgs {
  std::string model, input, output, compare, backend = "auto";
  int head = 0;
};

void Check(const Status& s) {
  if (!s.ok()) throw std::runtime_error(std::string(StatusCodeName(s.code())) + ": " + s.message());
}

void RunScore(const ScoreArgs& args) {
  std::shared_ptr<const Model> model;
  Check(Model::LoadFile(args.model.c_str(), &model));
  // Dense rows (.npy, .csv), or any model's inputs by name (.npz, .csv with a header).
  const std::unique_ptr<converter::InputSource> source =
      converter::OpenInputs(args.input, model->data().graph);
  const converter::Inputs x = source->Read(0, source->rows());
  const std::vector<InputView> views = x.Views();
  SessionOptions options;
  if (!ParseBackend(args.backend.c_str(), &options.backend)) {
    throw std::runtime_error("unknown backend '" + args.backend + "'");
  }
  std::unique_ptr<Session> session;
  Check(Session::Create(model, options, &session));
  converter::Matrix scores;
  scores.rows = x.rows;
  scores.cols = model->num_tasks();
  scores.data.resize(static_cast<size_t>(scores.rows * scores.cols));
  const auto t0 = std::chrono::steady_clock::now();
  Check(session->Score(views.data(), views.size(), static_cast<size_t>(x.rows), scores.data.data(),
                       scores.data.size()));
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::vector<std::string> names;
  for (int t = 0; t < model->num_tasks(); ++t) names.push_back(model->task_name(t));
  if (!args.output.empty()) converter::WriteMatrix(args.output, scores, names);
  std::printf("scored %lld items x %d tasks in %.3f ms (%s backend)%s%s\n", static_cast<long long>(x.rows),
              model->num_tasks(), ms, BackendName(session->backend()), args.output.empty() ? "" : " -> ",
              args.output.c_str());

  converter::Matrix reference;
  if (!args.compare.empty()) {
    reference = converter::ReadMatrix(args.compare, model->num_tasks());
    if (reference.rows != x.rows) {
      throw std::runtime_error(args.compare + ": has " + std::to_string(reference.rows) +
                               " rows, the input has " + std::to_string(x.rows));
    }
  }
  const int64_t head = std::min<int64_t>(args.head, x.rows);
  if (head > 0) {
    std::printf("%6s", "row");
    for (const std::string& n : names) {
      std::printf("  %14s", n.c_str());
      if (!args.compare.empty()) std::printf("  %14s", (n + "(ref)").c_str());
    }
    std::printf("\n");
    for (int64_t i = 0; i < head; ++i) {
      std::printf("%6lld", static_cast<long long>(i));
      for (int t = 0; t < model->num_tasks(); ++t) {
        std::printf("  %14.7f", static_cast<double>(scores.row(i)[t]));
        if (!args.compare.empty()) std::printf("  %14.7f", static_cast<double>(reference.row(i)[t]));
      }
      std::printf("\n");
    }
  }
  if (!args.compare.empty()) {
    std::printf("agreement with %s over %lld rows:\n", args.compare.c_str(), static_cast<long long>(x.rows));
    std::printf("  %-16s %10s %10s %10s %10s\n", "task", "max_abs", "mean_abs", "p99_abs", "spearman");
    for (const auto& a : converter::CompareScores(reference, scores, names)) {
      std::printf("  %-16s %10.6f %10.6f %10.6f %10.6f\n", a.task.c_str(), a.max_abs, a.mean_abs, a.p99_abs,
                  a.spearman);
    }
  }
}

}  // namespace

Action AddScore(CLI::App& app) {
  auto args = std::make_shared<ScoreArgs>();
  app.add_option("model", args->model, "model file (.mmoe)")->required();
  app.add_option(
         "-i,--input", args->input,
         "feature rows [N, input_dim] (.npy or .csv), or the model's inputs by name (.npz: one array per "
         "input; .csv with a header naming the columns)")
      ->required();
  app.add_option("-o,--output", args->output,
                 "scores [N, tasks] (.npy float32, or .csv with a task-name header)");
  app.add_option("--compare", args->compare, "reference scores [N, tasks] to compare with (e.g. PyTorch's)");
  app.add_option("--head", args->head, "print the first N rows of scores")->check(CLI::NonNegativeNumber);
  app.add_option("--backend", args->backend, "auto, reference, simd or xnnpack (all give the same bytes)")
      ->check(CLI::IsMember({"auto", "reference", "simd", "xnnpack"}))
      ->default_str("auto");
  return [args] { RunScore(*args); };
}

}  // namespace mmoe::cli
