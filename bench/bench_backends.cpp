// mmoe_bench_backends MODEL.mmoe WEIGHTS.safetensors ARCH.json [--runs R] [--warmup W] [--rounds K]
//                     [--bag-length L]
//
// Scores the same items through every int8 backend this build and CPU accept (reference,
// simd once per instruction set, xnnpack) and through a plain float32 Eigen implementation of
// the same network, at batch 1, 16 and 256, single-threaded, in one process. A model of one
// dense input scores 0/1 features; a model with sparse inputs pseudo-random items (ids uniform
// over their tables, bags of L ids, 4 by default; bench_features.h), its embeddings looked up
// in the float tables on the Eigen side. The cases take
// turns in rounds so that the frequency changes and neighbours of a shared machine hit all of
// them alike. Prints one JSON line per case to stdout; checks go to stderr.
#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_features.h"
#include "mmoe/converter/float_reference.h"
#include "mmoe/converter/inputs.h"
#include "mmoe/converter/io.h"
#include "mmoe/mmoe.h"

using mmoe::cli::BinaryFeatures;
using mmoe::converter::Inputs;

namespace {

using Clock = std::chrono::steady_clock;
using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowVector = Eigen::Matrix<float, 1, Eigen::Dynamic>;

constexpr int kBatches[] = {1, 16, 256};
constexpr int kMaxBatch = 256;

// ---------------------------------------------------------------------------------------------
// The float32 network, written the way a C++ user with Eigen would: one row per item, each
// Linear layer a matrix product plus a broadcast bias, the graph's nodes in order. Tensors are
// sized once per batch (Resize) so that Forward, like Session::Score, does not allocate.

class EigenGraph {
 public:
  explicit EigenGraph(const mmoe::converter::FloatModel& model);
  void Resize(Eigen::Index batch);
  // `in`: the batch's items (its rows the batch size); scores: batch rows of num_tasks floats.
  void Forward(const Inputs& in, float* scores);

 private:
  struct Dense {
    RowMatrix w;  // [out][in], as torch.nn.Linear stores it
    RowVector b;
    bool relu = false;
  };

  // Embedding node `n` for the batch's ids of input `input`: rows of the float table, summed
  // over a bag (padding ids skipped) and divided by their count for a mean.
  void Embedding(const mmoe::graph::Node& n, const Inputs& in, size_t input, RowMatrix& y) const;

  const mmoe::converter::FloatModel& model_;
  std::vector<int> input_of_;  // tensor -> the model input it is, or -1
  Eigen::Index batch_ = 0;
  std::vector<Dense> dense_;        // per dense node
  std::vector<RowMatrix> tensors_;  // per tensor: [batch][width]
  Eigen::VectorXf row_max_, row_sum_;
};

EigenGraph::EigenGraph(const mmoe::converter::FloatModel& model) : model_(model) {
  for (const auto& d : model.dense) {
    Dense dense;
    dense.w = Eigen::Map<const RowMatrix>(d.weight.data(), d.out, d.in);
    dense.b = Eigen::Map<const RowVector>(d.bias.data(), d.out);
    dense.relu = d.activation == mmoe::converter::Activation::kRelu;
    dense_.push_back(std::move(dense));
  }
  tensors_.resize(model.graph.tensors.size());
  input_of_.assign(model.graph.tensors.size(), -1);
  for (size_t i = 0; i < model.graph.inputs.size(); ++i)
    input_of_[static_cast<size_t>(model.graph.inputs[i].tensor)] = static_cast<int>(i);
}

void EigenGraph::Embedding(const mmoe::graph::Node& n, const Inputs& in, size_t input, RowMatrix& y) const {
  const mmoe::converter::FloatEmbedding& e = model_.embeddings[static_cast<size_t>(n.param)];
  const mmoe::converter::FloatTable& t = model_.tables[static_cast<size_t>(e.table)];
  const Eigen::Map<const RowMatrix> table(t.data(), t.rows, t.dim);
  const bool bag = e.pooling != mmoe::graph::Pooling::kNone;
  for (Eigen::Index r = 0; r < batch_; ++r) {
    y.row(r).setZero();
    int64_t count = 0;
    for (int64_t j = in.Begin(input, r); j < in.End(input, r); ++j) {
      const int64_t id = in.arrays[input].ids[static_cast<size_t>(j)];
      if (bag && e.has_padding_id && id == e.padding_id) continue;
      if (id >= 0 && id < t.rows) {
        y.row(r) += table.row(id);
      } else {
        y.row(r) += Eigen::Map<const RowVector>(e.default_row.data(), t.dim);
      }
      ++count;
    }
    if (e.pooling == mmoe::graph::Pooling::kMean && count > 0) y.row(r) /= static_cast<float>(count);
  }
}

void EigenGraph::Resize(Eigen::Index batch) {
  batch_ = batch;
  for (size_t t = 0; t < tensors_.size(); ++t) tensors_[t].resize(batch, model_.graph.tensors[t].width);
  row_max_.resize(batch);
  row_sum_.resize(batch);
}

void EigenGraph::Forward(const Inputs& in, float* scores) {
  using mmoe::graph::Op;
  const mmoe::graph::Graph& g = model_.graph;
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    const mmoe::converter::Matrix& f = in.arrays[i].floats;
    if (in.arrays[i].kind == mmoe::graph::InputKind::kDense)
      tensors_[g.inputs[i].tensor] = Eigen::Map<const RowMatrix>(f.data.data(), batch_, f.cols);
  }
  for (const mmoe::graph::Node& n : g.nodes) {
    RowMatrix& y = tensors_[n.output];
    const RowMatrix& a = tensors_[n.inputs[0]];
    switch (n.op) {
      case Op::kDense: {
        const Dense& d = dense_[n.param];
        y.noalias() = a * d.w.transpose();
        y.rowwise() += d.b;
        if (d.relu) y = y.cwiseMax(0.0f);
        break;
      }
      case Op::kActivation: {
        const auto& f = model_.activations[n.param];
        for (Eigen::Index c = 0; c < y.cols(); ++c) {
          y.col(c) = a.col(c).unaryExpr(
              [&](float v) { return static_cast<float>(f.Apply(v, static_cast<int>(c))); });
        }
        break;
      }
      case Op::kSoftmax:
        // Shifted by the row's maximum, as torch.nn.Softmax does.
        row_max_ = a.rowwise().maxCoeff();
        y = a;
        y.colwise() -= row_max_;
        y = y.array().exp().matrix();
        row_sum_ = y.rowwise().sum();
        y.array().colwise() /= row_sum_.array();
        break;
      case Op::kMixture:
        // In the order of the mixed tensors: y += expert_j * p_j (one weight per row).
        y.setZero();
        for (int32_t j = 0; j < n.num_experts(); ++j) {
          const RowMatrix& e = tensors_[n.experts()[j]];
          if (n.gated) {
            y.array() += e.array().colwise() * a.col(j).array();
          } else {
            y += e;
          }
        }
        break;
      case Op::kSigmoid:
        y = (1.0f + (-a.array()).exp()).inverse().matrix();
        break;
      case Op::kProduct:
        y = a;
        for (size_t j = 1; j < n.inputs.size(); ++j) y.array() *= tensors_[n.inputs[j]].array();
        break;
      case Op::kEmbedding:
        Embedding(n, in, static_cast<size_t>(input_of_[static_cast<size_t>(n.inputs[0])]), y);
        break;
      case Op::kConcat: {
        Eigen::Index at = 0;
        for (const int32_t part : n.inputs) {
          const RowMatrix& p = tensors_[part];
          y.middleCols(at, p.cols()) = p;
          at += p.cols();
        }
        break;
      }
    }
  }
  Eigen::Map<RowMatrix> out(scores, batch_, static_cast<Eigen::Index>(g.outputs.size()));
  for (size_t o = 0; o < g.outputs.size(); ++o)
    out.col(static_cast<Eigen::Index>(o)) = tensors_[g.outputs[o].tensor].col(0);
}

// ---------------------------------------------------------------------------------------------
// Cases and timing.

struct Options {
  std::string model, weights, arch;
  int runs = 1000;
  int warmup = 50;
  int rounds = 10;
  int bag_length = 4;
};

// One batch of the items: the inputs (rows = the batch size) and their views for Score.
struct Batch {
  Inputs in;
  std::vector<mmoe::InputView> views;
};

// One way of scoring: an int8 session, or the Eigen network.
struct Case {
  std::string name, backend, isa;
  std::function<void(const Batch& batch, float* scores)> score;
  std::vector<double> us;  // timed calls of the current batch
};

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "mmoe_bench_backends: %s\n", message.c_str());
  std::exit(1);
}

void CheckOk(const mmoe::Status& s, const char* what) {
  if (!s.ok()) Die(std::string(what) + ": " + mmoe::StatusCodeName(s.code()) + ": " + s.message());
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> int {
      if (i + 1 >= argc) Die(a + " needs a value");
      const int v = std::atoi(argv[++i]);
      if (v < 1) Die(a + " must be a positive integer");
      return v;
    };
    if (a == "--runs") {
      o.runs = value();
    } else if (a == "--warmup") {
      o.warmup = value();
    } else if (a == "--rounds") {
      o.rounds = value();
    } else if (a == "--bag-length") {
      o.bag_length = value();
    } else if (a == "-h" || a == "--help" || a.rfind("--", 0) == 0) {
      std::fprintf(stderr,
                   "usage: mmoe_bench_backends MODEL.mmoe WEIGHTS.safetensors ARCH.json "
                   "[--runs R (1000)] [--warmup W (50)] [--rounds K (10)] [--bag-length L (4)]\n");
      std::exit(a == "-h" || a == "--help" ? 0 : 2);
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() != 3) Die("expected MODEL.mmoe WEIGHTS.safetensors ARCH.json (see --help)");
  o.model = positional[0];
  o.weights = positional[1];
  o.arch = positional[2];
  o.rounds = std::min(o.rounds, o.runs);
  return o;
}

double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
  return m;
}

// The Eigen network must compute what the converter's float reference computes, or its
// timings would be of some other network.
void CheckFloatNetwork(const mmoe::converter::FloatModel& fm, EigenGraph& net, const Batch& all,
                       std::vector<float>* eigen_scores) {
  const mmoe::converter::Matrix ref = mmoe::converter::FloatReference(fm).Forward(all.in);
  eigen_scores->assign(ref.data.size(), 0.0f);
  net.Resize(kMaxBatch);
  net.Forward(all.in, eigen_scores->data());
  const double diff = MaxAbsDiff(ref.data, *eigen_scores);
  std::fprintf(stderr, "float32 (Eigen, %s) vs FloatReference: max |diff| = %.3g over %d items\n",
               Eigen::SimdInstructionSetsInUse(), diff, kMaxBatch);
  if (!(diff <= 1e-4)) Die("the Eigen float32 network disagrees with FloatReference");
}

struct Int8Config {
  mmoe::Backend backend;
  std::string isa;  // simd only
};

std::vector<Int8Config> Int8Configs() {
  std::vector<Int8Config> configs{{mmoe::Backend::kReference, ""}};
  if (const char* const* names = mmoe::SimdIsaNames()) {
    for (; *names; ++names) configs.push_back({mmoe::Backend::kSimd, *names});
  }
  if (configs.size() == 1) configs.push_back({mmoe::Backend::kSimd, ""});
  configs.push_back({mmoe::Backend::kXnnpack, ""});
  return configs;
}

// Sessions for every configuration Session::Create accepts; the others are named on stderr.
std::vector<Case> MakeInt8Cases(const std::shared_ptr<const mmoe::Model>& model, const Batch& all,
                                const std::vector<float>& float_scores,
                                std::vector<std::unique_ptr<mmoe::Session>>* sessions) {
  std::vector<Case> cases;
  for (const Int8Config& c : Int8Configs()) {
    mmoe::SessionOptions options;
    options.backend = c.backend;
    options.isa = c.isa.empty() ? nullptr : c.isa.c_str();
    options.threads = 1;
    std::string name = mmoe::BackendName(c.backend);
    if (!c.isa.empty()) name += "/" + c.isa;
    std::unique_ptr<mmoe::Session> session;
    const mmoe::Status s = mmoe::Session::Create(model, options, &session);
    if (!s.ok()) {
      std::fprintf(stderr, "skipping %s: %s: %s\n", name.c_str(), mmoe::StatusCodeName(s.code()),
                   s.message());
      continue;
    }
    // A model of one dense input is scored through Score(features), as apps call it.
    const bool dense = model->input_dim() > 0;
    const auto score = [dense](mmoe::Session& s, const Batch& b, float* out, size_t capacity) {
      const size_t n = static_cast<size_t>(b.in.rows);
      return dense ? s.Score(b.in.arrays[0].floats.data.data(), n, out, capacity)
                   : s.Score(b.views.data(), b.views.size(), n, out, capacity);
    };
    std::vector<float> scores(float_scores.size());
    CheckOk(score(*session, all, scores.data(), scores.size()), name.c_str());
    const char* isa = session->isa() ? session->isa() : "";
    std::fprintf(stderr, "%s (isa %s): max |int8 score - float32 score| = %.4f over %d items\n", name.c_str(),
                 isa, MaxAbsDiff(scores, float_scores), kMaxBatch);
    mmoe::Session* raw = session.get();
    sessions->push_back(std::move(session));
    Case k{name, mmoe::BackendName(c.backend), isa, nullptr, {}};
    const size_t tasks = static_cast<size_t>(model->num_tasks());
    k.score = [raw, tasks, score](const Batch& b, float* out) {
      const mmoe::Status st = score(*raw, b, out, static_cast<size_t>(b.in.rows) * tasks);
      if (!st.ok()) CheckOk(st, "Score");
    };
    cases.push_back(std::move(k));
  }
  return cases;
}

double Percentile(const std::vector<double>& sorted, double p) {
  const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

void TimeCalls(Case& c, const Batch& batch, float* scores, int calls) {
  for (int i = 0; i < calls; ++i) {
    const Clock::time_point t0 = Clock::now();
    c.score(batch, scores);
    const Clock::time_point t1 = Clock::now();
    c.us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
}

// Warm-up, then `rounds` rounds in which every case takes its turn (the order rotating), so
// slow phases of a noisy machine fall on all cases rather than on whichever ran then. Each
// turn starts with one untimed call: the previous case evicted this one's weights from L1/L2.
void RunRounds(std::vector<Case>& cases, const Options& o, const Batch& batch, float* scores) {
  for (Case& c : cases) {
    c.us.clear();
    c.us.reserve(static_cast<size_t>(o.runs));
    for (int i = 0; i < o.warmup; ++i) c.score(batch, scores);
  }
  const size_t n = cases.size();
  for (int r = 0; r < o.rounds; ++r) {
    const int calls = o.runs / o.rounds + (r < o.runs % o.rounds ? 1 : 0);
    for (size_t i = 0; i < n; ++i) {
      Case& c = cases[(i + static_cast<size_t>(r)) % n];
      c.score(batch, scores);
      TimeCalls(c, batch, scores, calls);
    }
  }
}

double Round(double x, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(x * scale) / scale;
}

void PrintResults(std::vector<Case>& cases, int batch, double macs, double float_p50) {
  for (Case& c : cases) {
    std::vector<double>& us = c.us;
    double sum = 0;
    for (double v : us) sum += v;
    std::sort(us.begin(), us.end());
    const double p50 = Percentile(us, 50);
    const double items_per_s = batch * 1e6 / p50;
    const nlohmann::ordered_json line{
        {"case", c.name},
        {"backend", c.backend},
        {"isa", c.isa},
        {"batch", batch},
        {"threads", 1},
        {"runs", us.size()},
        {"p50_us", Round(p50, 3)},
        {"p90_us", Round(Percentile(us, 90), 3)},
        {"p99_us", Round(Percentile(us, 99), 3)},
        {"mean_us", Round(sum / static_cast<double>(us.size()), 3)},
        {"items_per_s", std::llround(items_per_s)},
        {"ratio_vs_float32", Round(float_p50 / p50, 3)},
        {"gmacs", Round(items_per_s * macs / 1e9, 3)},
    };
    std::printf("%s\n", line.dump().c_str());
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = ParseArgs(argc, argv);
  std::shared_ptr<const mmoe::Model> model;
  CheckOk(mmoe::Model::LoadFile(o.model.c_str(), &model), o.model.c_str());
  mmoe::converter::FloatModel fm;
  try {
    fm = mmoe::converter::ImportModel(o.weights, o.arch);
  } catch (const std::exception& e) {
    Die(e.what());
  }
  if (fm.input_dim() != model->input_dim() || fm.num_tasks() != model->num_tasks() ||
      fm.graph.inputs.size() != static_cast<size_t>(model->num_inputs())) {
    Die("the float weights and the model file describe different networks");
  }
  EigenGraph net(fm);
  Batch all;
  if (fm.input_dim() > 0) {
    mmoe::converter::Matrix x;
    x.rows = kMaxBatch;
    x.cols = fm.input_dim();
    x.data = BinaryFeatures(static_cast<size_t>(kMaxBatch) * fm.input_dim());
    all.in = Inputs::Dense(x, fm.graph.tensors[fm.graph.inputs[0].tensor].name);
  } else {
    all.in = mmoe::cli::RandomItems(*model, kMaxBatch, o.bag_length);
  }
  all.views = all.in.Views();
  std::vector<float> float_scores;
  CheckFloatNetwork(fm, net, all, &float_scores);

  std::vector<std::unique_ptr<mmoe::Session>> sessions;
  std::vector<Case> cases = MakeInt8Cases(model, all, float_scores, &sessions);
  cases.push_back(Case{"float32/eigen",
                       "float32",
                       Eigen::SimdInstructionSetsInUse(),
                       [&net](const Batch& b, float* out) { net.Forward(b.in, out); },
                       {}});
  std::vector<float> scores(static_cast<size_t>(kMaxBatch) * model->num_tasks());
  for (int batch : kBatches) {
    net.Resize(batch);
    Batch b;
    b.in = all.in.Slice(0, batch);
    b.views = b.in.Views();
    RunRounds(cases, o, b, scores.data());
    std::vector<double> float_us = cases.back().us;
    std::sort(float_us.begin(), float_us.end());
    PrintResults(cases, batch, static_cast<double>(model->macs_per_item()), Percentile(float_us, 50));
  }
  return 0;
}
