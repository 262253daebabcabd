// mmoe bench M.mmoe [--backend B] [--batch N] [--threads T] [--warmup W] [--runs R] [--json]
//
// Times one model the way TensorFlow Lite's benchmark_model does: model load, session
// creation, then R timed Score calls of `batch` items after W untimed ones. Reports the
// latency distribution per call, throughput, the session arena and the peak resident set,
// and the sizes it knows: the model file, this executable, the stripped runtime library.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "bench_features.h"
#include "commands.h"
#include "mmoe/converter/inputs.h"
#include "mmoe/converter/io.h"
#include "mmoe/mmoe.h"
#include "model_data.h"
#include "runtime_size.h"  // generated at build time (cmake/RuntimeSize.cmake)

namespace mmoe::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct BenchArgs {
  std::string model, backend = "auto", isa, input;
  int batch = 1;
  int bag_length = 4;
  int threads = 1;
  int tile = SessionOptions().tile_items;
  int warmup = 100;
  int runs = 1000;
  bool json = false;
};

struct Timings {
  double load_ms = 0, init_ms = 0;
  double mean_us = 0, p50_us = 0, p90_us = 0, p99_us = 0, min_us = 0, max_us = 0;
};

void Check(const Status& s) {
  if (!s.ok()) throw std::runtime_error(std::string(StatusCodeName(s.code())) + ": " + s.message());
}

double MillisSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Rounds for printing: sub-nanosecond digits of a steady_clock reading are noise.
double Round(double x, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(x * scale) / scale;
}

// `batch` rows of features: the --input rows repeated cyclically, or binary pseudo-random.
std::vector<float> Features(const BenchArgs& args, int input_dim) {
  const size_t dim = static_cast<size_t>(input_dim);
  const size_t n = static_cast<size_t>(args.batch);
  if (args.input.empty()) return BinaryFeatures(n * dim);
  const converter::Matrix m = converter::ReadMatrix(args.input, input_dim);
  std::vector<float> x(n * dim);
  for (size_t i = 0; i < n; ++i) {
    const float* row = m.row(static_cast<int64_t>(i % static_cast<size_t>(m.rows)));
    std::copy(row, row + dim, x.begin() + static_cast<std::ptrdiff_t>(i * dim));
  }
  return x;
}

// The `batch` items of a model with sparse inputs: the --input items (.npz, .csv with a
// header) repeated cyclically, or pseudo-random ones: ids uniform over their table's rows,
// bags of bag_length such ids, dense features in [0, 1).
converter::Inputs SparseItems(const BenchArgs& args, const Model& model) {
  const int64_t n = args.batch;
  converter::Inputs out;
  if (!args.input.empty()) {
    const std::unique_ptr<converter::InputSource> source =
        converter::OpenInputs(args.input, model.data().graph);
    if (source->rows() == 0) throw std::runtime_error(args.input + ": no items");
    const converter::Inputs all = source->Read(0, source->rows());
    out = all.Slice(0, std::min(n, all.rows));
    while (out.rows < n) out.Append(all.Slice(0, std::min(n - out.rows, all.rows)));
    return out;
  }
  return RandomItems(model, n, args.bag_length);
}

// A packed model's rows (format 2.2): the items laid out as its packed input holds them, ids as
// floats, a bag's ids then its padding id (or its last id) up to the bag's columns.
std::vector<float> PackRows(const converter::Inputs& items, const Model& model) {
  const graph::PackedInput& p = model.data().graph.packed;
  std::vector<float> x(static_cast<size_t>(items.rows) * static_cast<size_t>(p.width), 0.0f);
  for (size_t i = 0; i < items.arrays.size(); ++i) {
    const converter::InputArray& a = items.arrays[i];
    const InputSpec& spec = model.data().inputs[i];
    for (int64_t r = 0; r < items.rows; ++r) {
      float* row = x.data() + r * p.width + p.first[i];
      if (a.kind == graph::InputKind::kDense) {
        std::copy(a.floats.row(r), a.floats.row(r) + a.floats.cols, row);
        continue;
      }
      const int64_t begin = items.Begin(i, r), end = items.End(i, r);
      for (int32_t j = 0; j < p.count[i]; ++j) {
        const int64_t at = begin + j;
        const int64_t id = at < end              ? a.ids[static_cast<size_t>(at)]
                           : spec.has_padding_id ? spec.padding_id
                           : end > begin         ? a.ids[static_cast<size_t>(end - 1)]
                                                 : 0;
        row[j] = static_cast<float>(id);
      }
    }
  }
  return x;
}

SessionOptions MakeOptions(const BenchArgs& args) {
  SessionOptions options;
  if (!ParseBackend(args.backend.c_str(), &options.backend)) {
    throw std::runtime_error("unknown backend '" + args.backend +
                             "' (backends: auto, reference, simd, xnnpack)");
  }
  options.isa = args.isa.empty() ? nullptr : args.isa.c_str();
  options.tile_items = args.tile;
  options.threads = args.threads;
  return options;
}

// Nearest-rank percentile of sorted values.
double Percentile(const std::vector<double>& sorted, double p) {
  const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

// The timed region: one steady_clock pair per call around Score, into a pre-sized vector, so
// nothing but the call itself (and ~20 ns of clock reads) is measured.
// `score` makes one Score call.
template <typename ScoreFn>
std::vector<double> TimeCalls(const ScoreFn& score, int warmup, int runs) {
  for (int i = 0; i < warmup; ++i) Check(score());
  std::vector<double> us(static_cast<size_t>(runs));
  for (double& t : us) {
    const Clock::time_point t0 = Clock::now();
    const Status s = score();
    const Clock::time_point t1 = Clock::now();
    if (!s.ok()) Check(s);
    t = std::chrono::duration<double, std::micro>(t1 - t0).count();
  }
  return us;
}

void Summarize(std::vector<double> us, Timings* t) {
  double sum = 0;
  for (double v : us) sum += v;
  std::sort(us.begin(), us.end());
  t->mean_us = sum / static_cast<double>(us.size());
  t->p50_us = Percentile(us, 50);
  t->p90_us = Percentile(us, 90);
  t->p99_us = Percentile(us, 99);
  t->min_us = us.front();
  t->max_us = us.back();
}

long PeakRssKb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;  // kilobytes on Linux
}

// The size of this program's file (-1 if /proc/self/exe is unavailable, e.g. not Linux).
long long ExeBytes() {
  std::error_code ec;
  const std::uintmax_t n = std::filesystem::file_size("/proc/self/exe", ec);
  return ec ? -1 : static_cast<long long>(n);
}

nlohmann::ordered_json Report(const BenchArgs& args, const Session& session, const Timings& t) {
  const Model& model = session.model();
  // Throughput from the median call: one preempted call on a shared machine moves the mean
  // (reported too) but not the median.
  const double items_per_s = args.batch * 1e6 / t.p50_us;
  const char* isa = session.isa();
  return nlohmann::ordered_json{
      {"model", args.model},
      {"model_bytes", std::filesystem::file_size(args.model)},
      {"macs_per_item", model.macs_per_item()},
      {"backend", BackendName(session.backend())},
      {"isa", isa ? isa : ""},
      {"batch", args.batch},
      {"threads", args.threads},
      {"tile_items", session.tile_items()},
      {"inputs", model.packed_input_name() ? (args.input.empty() ? "random packed" : "file packed")
                 : model.input_dim() > 0   ? "dense"
                 : args.input.empty()      ? "random"
                                           : "file"},
      {"warmup", args.warmup},
      {"runs", args.runs},
      {"load_ms", Round(t.load_ms, 3)},
      {"init_ms", Round(t.init_ms, 3)},
      {"mean_us", Round(t.mean_us, 3)},
      {"p50_us", Round(t.p50_us, 3)},
      {"p90_us", Round(t.p90_us, 3)},
      {"p99_us", Round(t.p99_us, 3)},
      {"min_us", Round(t.min_us, 3)},
      {"max_us", Round(t.max_us, 3)},
      {"items_per_s", std::llround(items_per_s)},
      {"gmacs", Round(items_per_s * static_cast<double>(model.macs_per_item()) / 1e9, 3)},
      {"arena_bytes", session.arena_bytes()},
      {"peak_rss_kb", PeakRssKb()},
      {"exe_bytes", ExeBytes()},
      {"runtime_lib_bytes", MMOE_RUNTIME_LIB_BYTES},
  };
}

void PrintHuman(const nlohmann::ordered_json& r) {
  auto num = [&](const char* key) { return r.at(key).get<double>(); };
  std::printf("model:          %s (%lld bytes, %lld MACs/item)\n", r.at("model").get<std::string>().c_str(),
              r.at("model_bytes").get<long long>(), r.at("macs_per_item").get<long long>());
  std::printf("backend:        %s (%s), batch %d, threads %d, tile %d\n",
              r.at("backend").get<std::string>().c_str(), r.at("isa").get<std::string>().c_str(),
              r.at("batch").get<int>(), r.at("threads").get<int>(), r.at("tile_items").get<int>());
  std::printf("load:           %.3f ms\n", num("load_ms"));
  std::printf("session init:   %.3f ms\n", num("init_ms"));
  std::printf(
      "latency/call:   mean %.3f  p50 %.3f  p90 %.3f  p99 %.3f  (min %.3f, max %.3f) us over %d runs\n",
      num("mean_us"), num("p50_us"), num("p90_us"), num("p99_us"), num("min_us"), num("max_us"),
      r.at("runs").get<int>());
  std::printf("throughput:     %.0f items/s (from p50), %.3f GMAC/s\n", num("items_per_s"), num("gmacs"));
  std::printf("arena:          %zu bytes\n", r.at("arena_bytes").get<size_t>());
  std::printf("peak RSS:       %ld kB\n", r.at("peak_rss_kb").get<long>());
  std::printf("sizes:          this program %lld bytes, runtime library %lld bytes stripped\n",
              r.at("exe_bytes").get<long long>(), r.at("runtime_lib_bytes").get<long long>());
}

void RunBench(const BenchArgs& args) {
  const SessionOptions options = MakeOptions(args);
  Timings t;
  Clock::time_point t0 = Clock::now();
  std::shared_ptr<const Model> model;
  Check(Model::LoadFile(args.model.c_str(), &model));
  t.load_ms = MillisSince(t0);

  t0 = Clock::now();
  std::unique_ptr<Session> session;
  Check(Session::Create(model, options, &session));
  t.init_ms = MillisSince(t0);

  std::vector<float> scores(static_cast<size_t>(args.batch) * static_cast<size_t>(model->num_tasks()));
  const size_t batch = static_cast<size_t>(args.batch);
  if (model->packed_input_name()) {  // inputs packed in one row: Score(features) unpacks them
    const std::vector<float> x = PackRows(SparseItems(args, *model), *model);
    Summarize(TimeCalls([&] { return session->Score(x.data(), batch, scores.data(), scores.size()); },
                        args.warmup, args.runs),
              &t);
  } else if (model->input_dim() > 0) {  // one dense input: Score(features)
    const std::vector<float> x = Features(args, model->input_dim());
    Summarize(TimeCalls([&] { return session->Score(x.data(), batch, scores.data(), scores.size()); },
                        args.warmup, args.runs),
              &t);
  } else {  // sparse inputs: Score(inputs), by position
    const converter::Inputs items = SparseItems(args, *model);
    const std::vector<InputView> views = items.Views();
    Summarize(
        TimeCalls(
            [&] { return session->Score(views.data(), views.size(), batch, scores.data(), scores.size()); },
            args.warmup, args.runs),
        &t);
  }

  const nlohmann::ordered_json report = Report(args, *session, t);
  if (args.json) {
    std::printf("%s\n", report.dump().c_str());
  } else {
    PrintHuman(report);
  }
}

}  // namespace

Action AddBench(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  app.add_option("model", args->model, "model file (.mmoe)")->required();
  app.add_option("--backend", args->backend, "auto, reference, simd or xnnpack")->capture_default_str();
  app.add_option("--isa", args->isa, "instruction set for the simd backend (default: the best available)");
  app.add_option("--batch", args->batch, "items per Score call")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  app.add_option("--threads", args->threads, "session threads")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--tile", args->tile, "items per tile (SessionOptions::tile_items; 0: the backend's choice)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--warmup", args->warmup, "untimed calls first")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--runs", args->runs, "timed calls")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("-i,--input", args->input,
                 "feature rows (.npy/.csv), or a sparse model's inputs by name (.npz, .csv with a header), "
                 "repeated to fill the batch (default: pseudo-random 0/1 rows; ids uniform over their table, "
                 "bags of --bag-length ids)");
  app.add_option("--bag-length", args->bag_length, "ids per bag of the pseudo-random items of a sparse model")
      ->check(CLI::Range(0, 1 << 16))
      ->capture_default_str();
  app.add_flag("--json", args->json, "print one JSON object on one line");
  return [args] { RunBench(*args); };
}

}  // namespace mmoe::cli
