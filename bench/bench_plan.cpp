// mmoe_bench_plan: what each operation of the simd backend's plan costs, for kernel work.
//
//   mmoe_bench_plan M.mmoe [--isa ISA] [--batch N ...] [--iters I] [--rounds R]
//
// Prints one JSON line per operation and batch size with two costs:
//   marginal_ns  the time the operation adds to a tile when the plan runs from the start up to
//                and including it (prefix minus the previous prefix), so it carries the cache
//                misses the preceding operations cause, as in a real Score call;
//   hot_ns       the operation alone, repeated (its weights and inputs stay cached).
// GEMM lines also give the bytes a call reads of the GEMM's constants whatever the batch:
// weight_bytes (packed, padded) and column_bytes (a bias and a multiplier per padded column).
// and a last line per batch with the whole tile. Times are the median over `rounds` rounds of
// the mean over `iters` calls. Like every bench program, nothing here is a test of speed.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kernels/gemm.h"
#include "mmoe/mmoe.h"
#include "model_data.h"
#include "plan/program.h"
#include "plan/program_cache.h"
#include "plan/program_executor.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  const char* model = nullptr;
  const char* isa = nullptr;
  std::vector<size_t> batches;
  int iters = 2000;
  int rounds = 7;
};

[[noreturn]] void Usage(const char* why) {
  std::fprintf(stderr,
               "mmoe_bench_plan: %s\nusage: mmoe_bench_plan M.mmoe [--isa ISA] [--batch N ...] "
               "[--iters I] [--rounds R]\n",
               why);
  std::exit(2);
}

long PositiveArg(int argc, char** argv, int i) {
  if (i >= argc) Usage((std::string(argv[i - 1]) + " needs a value").c_str());
  char* end = nullptr;
  const long v = std::strtol(argv[i], &end, 10);
  if (*end || v <= 0) Usage((std::string(argv[i - 1]) + ": not a positive integer: " + argv[i]).c_str());
  return v;
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--isa" && i + 1 < argc) {
      o.isa = argv[++i];
    } else if (a == "--batch") {
      o.batches.push_back(static_cast<size_t>(PositiveArg(argc, argv, ++i)));
    } else if (a == "--iters") {
      o.iters = static_cast<int>(PositiveArg(argc, argv, ++i));
    } else if (a == "--rounds") {
      o.rounds = static_cast<int>(PositiveArg(argc, argv, ++i));
    } else if (a.rfind("--", 0) == 0 || o.model) {
      Usage(("unexpected argument: " + a).c_str());
    } else {
      o.model = argv[i];
    }
  }
  if (!o.model) Usage("no model file");
  if (o.batches.empty()) o.batches = {1, 64};
  return o;
}

const char* KindName(mmoe::Op::Kind k) {
  switch (k) {
    case mmoe::Op::kGemm:
      return "gemm";
    case mmoe::Op::kActivation:
      return "activation";
    case mmoe::Op::kSoftmax:
      return "softmax";
    case mmoe::Op::kMix:
      return "mix";
    case mmoe::Op::kScore:
      return "score";
    case mmoe::Op::kProduct:
      return "product";
    case mmoe::Op::kEmbedding:
      return "embedding";
    case mmoe::Op::kConcat:
      return "concat";
  }
  return "?";
}

// Median over rounds of the mean ns per call of `f`.
template <typename F>
double TimeNs(const Options& o, F&& f) {
  std::vector<double> t;
  for (int r = 0; r < o.rounds; ++r) {
    for (int i = 0; i < o.iters / 10 + 1; ++i) f();  // warm-up
    const auto t0 = Clock::now();
    for (int i = 0; i < o.iters; ++i) f();
    t.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / o.iters);
  }
  std::nth_element(t.begin(), t.begin() + t.size() / 2, t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  std::shared_ptr<const mmoe::Model> model;
  if (mmoe::Status s = mmoe::Model::LoadFile(o.model, &model); !s.ok()) {
    std::fprintf(stderr, "mmoe_bench_plan: %s\n", s.message());
    return 1;
  }
  const mmoe::ModelData& data = model->data();
  const mmoe::GemmKernels* kernels = mmoe::FindGemmKernels(o.isa);
  if (!kernels) {
    std::fprintf(stderr, "mmoe_bench_plan: no simd kernels '%s' for this CPU or build\n", o.isa ? o.isa : "");
    return 1;
  }
  const mmoe::Program& program = model->programs().Get(data, mmoe::PlanCapsOf(*kernels));
  const size_t tile = *std::max_element(o.batches.begin(), o.batches.end());
  mmoe::ProgramExecutor exec(data, program, *kernels, tile);
  if (mmoe::Status s = exec.Init(); !s.ok()) {
    std::fprintf(stderr, "mmoe_bench_plan: %s\n", s.message());
    return 1;
  }
  // One tile of items: 0/1 features for a model of one dense input; for sparse inputs, ids
  // spread over their tables, bags of 4 ids, dense features in [0, 1) (the lookups then cost
  // what they cost on a cold table's spread rows).
  const size_t tasks = static_cast<size_t>(data.num_tasks());
  std::vector<float> scores(tile * tasks);
  const int n_inputs = model->num_inputs();
  std::vector<std::vector<float>> floats(static_cast<size_t>(n_inputs));
  std::vector<std::vector<int64_t>> ids(static_cast<size_t>(n_inputs)),
      offsets(static_cast<size_t>(n_inputs));
  std::vector<mmoe::InputView> views(static_cast<size_t>(n_inputs));
  constexpr size_t kBagLength = 4;
  for (int i = 0; i < n_inputs; ++i) {
    const mmoe::InputInfo info = model->input(i);
    const size_t k = static_cast<size_t>(i);
    mmoe::InputView& v = views[k];
    if (info.kind == mmoe::InputKind::kDense) {
      floats[k].resize(tile * static_cast<size_t>(info.width));
      for (size_t j = 0; j < floats[k].size(); ++j)
        floats[k][j] = n_inputs == 1 ? static_cast<float>((j * 2654435761u >> 7) % 2)
                                     : static_cast<float>((j * 2654435761u >> 7) % 1024) / 1024.0f;
      v.data = floats[k].data();
      v.size = floats[k].size();
    } else {
      const size_t per_item = info.kind == mmoe::InputKind::kBag ? kBagLength : 1;
      ids[k].resize(tile * per_item);
      for (size_t j = 0; j < ids[k].size(); ++j)
        ids[k][j] = static_cast<int64_t>((j * 2654435761u) % static_cast<uint64_t>(info.rows));
      v.data = ids[k].data();
      v.type = mmoe::DataType::kInt64;
      v.size = ids[k].size();
      if (info.kind == mmoe::InputKind::kBag) {
        offsets[k].resize(tile + 1);
        for (size_t r = 0; r <= tile; ++r) offsets[k][r] = static_cast<int64_t>(r * per_item);
        v.offsets = offsets[k].data();
      }
    }
  }
  mmoe::TileInputs inputs;
  inputs.views = views.data();

  for (size_t batch : o.batches) {
    const auto prefix = [&](size_t ops) {
      return TimeNs(o, [&] {
        exec.BeginTile(inputs, batch);
        for (size_t i = 0; i < ops; ++i) exec.RunOp(program.ops[i], batch, scores.data());
      });
    };
    double before = prefix(0);
    std::printf("{\"isa\":\"%s\",\"batch\":%zu,\"op\":-1,\"kind\":\"quantize_input\",\"marginal_ns\":%.1f}\n",
                kernels->isa, batch, before);
    for (size_t i = 0; i < program.ops.size(); ++i) {
      const mmoe::Op& op = program.ops[i];
      const double upto = prefix(i + 1);
      const double hot = TimeNs(o, [&] { exec.RunOp(op, batch, scores.data()); });
      std::printf("{\"isa\":\"%s\",\"batch\":%zu,\"op\":%zu,\"kind\":\"%s\",\"index\":%d", kernels->isa,
                  batch, i, KindName(op.kind), op.index);
      if (op.kind == mmoe::Op::kGemm) {
        const mmoe::PackedGemm& g = program.gemms[op.index];
        // What one call reads of the GEMM's constants, whatever the batch: the packed weights
        // and, per padded column, a bias and a multiplier.
        size_t weight_bytes = 0;
        const size_t elem = g.layout == mmoe::WeightLayout::kInt16x2 ? 2 : 1;
        for (const mmoe::Segment& seg : g.segments) {
          const size_t cols = static_cast<size_t>((seg.end - seg.begin + 15) / 16 * 16);
          weight_bytes += cols * static_cast<size_t>(seg.k_pad) * elem;
        }
        std::printf(
            ",\"segments\":%zu,\"k\":%d,\"n_pad\":%d,\"int16_input\":%s,\"macs_per_item\":%lld,\"gmacs_hot\":"
            "%.1f,\"weight_bytes\":%zu,\"column_bytes\":%zu",
            g.segments.size(), g.segments.front().k, g.n_pad,
            g.input == mmoe::ElementType::kInt16 ? "true" : "false", static_cast<long long>(g.macs),
            static_cast<double>(g.macs) * static_cast<double>(batch) / hot, weight_bytes,
            static_cast<size_t>(g.n_pad) * (sizeof(int32_t) + sizeof(float)));
      }
      std::printf(",\"marginal_ns\":%.1f,\"hot_ns\":%.1f}\n", upto - before, hot);
      before = upto;
    }
    std::printf("{\"isa\":\"%s\",\"batch\":%zu,\"op\":\"all\",\"tile_ns\":%.1f,\"items_per_s\":%.0f}\n",
                kernels->isa, batch, before, static_cast<double>(batch) * 1e9 / before);
  }
  return 0;
}
