#include "support/random_model.h"

#include <cmath>
#include <random>

namespace mmoe::testing {
namespace {

using converter::Activation;
using converter::FloatDense;
using converter::GraphBuilder;

// Uniform in [-1, 1) from the engine's raw 32 bits: the same numbers whatever the standard
// library's distribution implementation is, so a seed means the same model everywhere.
float UniformSigned(std::mt19937& rng) { return static_cast<float>(rng() / 2147483648.0 - 1.0); }

FloatDense RandomDense(const std::string& name, int in, int out, float gain, Activation activation,
                       std::mt19937& rng) {
  FloatDense d;
  d.name = name;
  d.in = in;
  d.out = out;
  d.activation = activation;
  const float bound = gain / std::sqrt(static_cast<float>(in));
  d.weight.resize(static_cast<size_t>(in) * out);
  for (float& w : d.weight) w = bound * UniformSigned(rng);
  d.bias.resize(out);
  for (float& b : d.bias) b = bound * UniformSigned(rng);
  return d;
}

// An MLP "<prefix>.<l>" reading tensor `x` through `widths`; `hidden` after every layer except
// the last when `last_linear` (logits): fused into the layer for ReLU, else an activation node
// "<prefix>.<l>.act".
int32_t RandomMlp(GraphBuilder* b, const std::string& prefix, int32_t x, const std::vector<int>& widths,
                  bool last_linear, float gain, const converter::FloatActivation& hidden, std::mt19937& rng) {
  int in = b->model().graph.tensors[x].width;
  const bool relu = hidden.function == converter::Function::kRelu;
  for (size_t l = 0; l < widths.size(); ++l) {
    const bool linear = l + 1 == widths.size() && last_linear;
    const std::string name = prefix + "." + std::to_string(l);
    x = b->Dense(x, RandomDense(name, in, widths[l], gain,
                                !linear && relu ? Activation::kRelu : Activation::kNone, rng));
    if (!linear && !relu) x = b->Activation(x, hidden, name + ".act");
    in = widths[l];
  }
  return x;
}

std::vector<int> Plus(std::vector<int> widths, int last) {
  widths.push_back(last);
  return widths;
}

}  // namespace

converter::FloatModel RandomFloatModel(const RandomModelSpec& spec) {
  std::mt19937 rng(spec.seed);
  GraphBuilder b(spec.name);
  const int32_t x = b.Input("input", spec.input_dim);
  std::vector<int32_t> experts;
  for (int e = 0; e < spec.num_experts; ++e) {
    experts.push_back(RandomMlp(&b, "experts." + std::to_string(e), x, spec.expert_widths, false, spec.gain,
                                spec.hidden, rng));
  }
  std::vector<int32_t> probs;
  std::vector<std::vector<int32_t>> mixed;
  for (size_t g = 0; g < spec.gates.size(); ++g) {
    std::vector<int> list = spec.gates[g].experts;
    if (list.empty()) {
      for (int e = 0; e < spec.num_experts; ++e) list.push_back(e);
    }
    mixed.emplace_back();
    for (int e : list) mixed.back().push_back(experts[e]);
    const int32_t logits = RandomMlp(&b, "gates." + std::to_string(g), x,
                                     Plus(spec.gates[g].hidden, static_cast<int>(list.size())), true,
                                     spec.gate_gain, spec.hidden, rng);
    probs.push_back(b.Softmax(logits, "gates." + std::to_string(g) + ".softmax"));
  }
  for (size_t t = 0; t < spec.tasks.size(); ++t) {
    const RandomTaskSpec& ts = spec.tasks[t];
    const std::string name = ts.name.empty() ? "task" + std::to_string(t) : ts.name;
    const int32_t mix = ts.gate >= 0 ? b.Mixture(probs[ts.gate], mixed[ts.gate], "tower_input." + name)
                                     : b.Mixture(-1, {experts[ts.expert]}, "tower_input." + name);
    const int32_t logit = RandomMlp(&b, "tasks." + std::to_string(t), mix, Plus(ts.tower, 1), true, spec.gain,
                                    spec.hidden, rng);
    b.Output(name, ts.output == TaskOutput::kSigmoid ? b.Sigmoid(logit, name) : logit);
  }
  return b.Finish();  // a bad spec is the test's mistake: say so where it is made
}

converter::FloatModel RandomPleModel(const RandomPleSpec& spec) {
  std::mt19937 rng(spec.seed);
  const converter::FloatActivation relu{converter::Function::kRelu, {}};
  GraphBuilder b("ple");
  const int32_t x = b.Input("input", spec.input_dim);
  // Per level: each task's input, then the shared input (all x at level 0).
  std::vector<int32_t> in(static_cast<size_t>(spec.tasks) + 1, x);
  for (int l = 0; l < spec.levels; ++l) {
    const std::string level = "levels." + std::to_string(l);
    std::vector<std::vector<int32_t>> specific(static_cast<size_t>(spec.tasks));
    for (int t = 0; t < spec.tasks; ++t) {
      for (int j = 0; j < spec.specific; ++j) {
        specific[t].push_back(RandomMlp(&b,
                                        level + ".specific." + std::to_string(t) + "." + std::to_string(j),
                                        in[t], spec.expert_widths, false, spec.gain, relu, rng));
      }
    }
    std::vector<int32_t> shared;
    for (int j = 0; j < spec.shared; ++j) {
      shared.push_back(RandomMlp(&b, level + ".shared." + std::to_string(j), in[spec.tasks],
                                 spec.expert_widths, false, spec.gain, relu, rng));
    }
    std::vector<int32_t> out(in.size(), -1);
    for (int t = 0; t < spec.tasks; ++t) {
      std::vector<int32_t> mixed = specific[t];
      mixed.insert(mixed.end(), shared.begin(), shared.end());
      const std::string gate = level + ".gates." + std::to_string(t);
      const int32_t logits =
          RandomMlp(&b, gate, in[t], Plus(spec.gate_hidden, static_cast<int>(mixed.size())), true,
                    spec.gate_gain, relu, rng);
      out[t] = b.Mixture(b.Softmax(logits, gate + ".softmax"), mixed, level + ".mix." + std::to_string(t));
    }
    if (l + 1 < spec.levels) {  // the last level has no shared gate
      std::vector<int32_t> mixed;
      for (const auto& e : specific) mixed.insert(mixed.end(), e.begin(), e.end());
      mixed.insert(mixed.end(), shared.begin(), shared.end());
      const std::string gate = level + ".gates.shared";
      const int32_t logits =
          RandomMlp(&b, gate, in[spec.tasks], Plus(spec.gate_hidden, static_cast<int>(mixed.size())), true,
                    spec.gate_gain, relu, rng);
      out[spec.tasks] = b.Mixture(b.Softmax(logits, gate + ".softmax"), mixed, level + ".mix.shared");
    }
    in = out;
  }
  for (int t = 0; t < spec.tasks; ++t) {
    const std::string name = "task" + std::to_string(t);
    const int32_t logit =
        RandomMlp(&b, "towers." + std::to_string(t), in[t], Plus(spec.tower, 1), true, spec.gain, relu, rng);
    b.Output(name, b.Sigmoid(logit, name));
  }
  return b.Finish();
}

converter::FloatModel RandomEsmmModel(int input_dim, const std::vector<int>& tower, bool cvr_output,
                                      float gain, uint32_t seed) {
  std::mt19937 rng(seed);
  const converter::FloatActivation relu{converter::Function::kRelu, {}};
  GraphBuilder b("esmm");
  const int32_t x = b.Input("input", input_dim);
  const int32_t ctr = b.Sigmoid(RandomMlp(&b, "ctr", x, Plus(tower, 1), true, gain, relu, rng), "ctr");
  const int32_t cvr = b.Sigmoid(RandomMlp(&b, "cvr", x, Plus(tower, 1), true, gain, relu, rng), "cvr");
  b.Output("ctr", ctr);
  b.Output("ctcvr", b.Product({ctr, cvr}, "ctcvr"));
  if (cvr_output) b.Output("cvr", cvr);
  return b.Finish();
}

converter::Matrix RandomFeatures(int64_t rows, int cols, FeatureKind kind, uint32_t seed, double p_one) {
  std::mt19937 rng(seed);
  converter::Matrix x;
  x.rows = rows;
  x.cols = cols;
  x.data.resize(static_cast<size_t>(rows) * cols);
  if (kind == FeatureKind::kBinary) {
    const double threshold = p_one * 4294967296.0;
    for (float& v : x.data) v = rng() < threshold ? 1.0f : 0.0f;
  } else {
    // Box-Muller on the raw engine output, for the same reason as UniformSigned.
    constexpr double kTwoPi = 6.283185307179586;
    for (size_t i = 0; i < x.data.size(); i += 2) {
      const double u1 = (rng() + 1.0) / 4294967297.0;  // (0, 1): log(u1) is finite
      const double u2 = rng() / 4294967296.0;
      const double r = std::sqrt(-2.0 * std::log(u1));
      x.data[i] = static_cast<float>(r * std::cos(kTwoPi * u2));
      if (i + 1 < x.data.size()) x.data[i + 1] = static_cast<float>(r * std::sin(kTwoPi * u2));
    }
  }
  return x;
}

converter::FloatModel RandomSparseModel(const RandomSparseSpec& spec) {
  std::mt19937 rng(spec.seed);
  std::normal_distribution<float> normal(0.0f, spec.emb_std);
  const converter::FloatActivation relu{converter::Function::kRelu, {}};
  GraphBuilder b("sparse");
  const auto table = [&](const std::string& name, int64_t rows, int dim, bool zero_row0) {
    converter::FloatTable t;
    t.name = name;
    t.rows = rows;
    t.dim = dim;
    for (int64_t i = 0; i < rows * dim; ++i) t.values.push_back(normal(rng) * (i % 97 == 5 ? 4.0f : 1.0f));
    if (zero_row0) std::fill(t.values.begin(), t.values.begin() + dim, 0.0f);
    return b.Table(std::move(t));
  };
  const auto embed = [&](const std::string& input, graph::InputKind kind, int32_t tab,
                         graph::Pooling pooling) {
    const int32_t ids = b.IdsInput(input, kind);
    converter::FloatEmbedding e;
    e.table = tab;
    e.pooling = pooling;
    if (kind == graph::InputKind::kBag) e.has_padding_id = true;
    if (spec.default_rows && kind == graph::InputKind::kIds)
      e.default_row.assign(static_cast<size_t>(b.model().tables[static_cast<size_t>(tab)].dim), 0.05f);
    return b.Embedding(ids, e, "embedding_dict." + input);
  };
  const int32_t user =
      embed("user", graph::InputKind::kIds, table("embedding_dict.user.weight", spec.user_rows, 8, false),
            graph::Pooling::kNone);
  const int32_t item =
      embed("item", graph::InputKind::kIds, table("embedding_dict.item.weight", spec.item_rows, 8, false),
            graph::Pooling::kNone);
  const int32_t tags = embed("tags", graph::InputKind::kBag, table("embedding_dict.tags.weight", 30, 4, true),
                             graph::Pooling::kMean);
  const int32_t dense = b.Input("dense", 3, {"age", "price", "hour"});
  const int32_t x = b.Concat({user, item, tags, dense}, "dnn_input");
  std::vector<int32_t> experts;
  for (int e = 0; e < spec.experts; ++e)
    experts.push_back(RandomMlp(&b, "experts." + std::to_string(e), x, {16, 8}, false, spec.gain, relu, rng));
  for (int t = 0; t < 2; ++t) {
    const std::string task = "task" + std::to_string(t);
    const int32_t logits =
        RandomMlp(&b, "gates." + std::to_string(t), x, {spec.experts}, true, 2.0f, relu, rng);
    const int32_t mix =
        b.Mixture(b.Softmax(logits, "gates." + std::to_string(t) + ".softmax"), experts, "mix." + task);
    const int32_t logit =
        RandomMlp(&b, "towers." + std::to_string(t), mix, {6, 1}, true, spec.gain, relu, rng);
    b.Output(task, b.Sigmoid(logit, task));
  }
  return b.Finish();
}

converter::Inputs RandomSparseInputs(const RandomSparseSpec& spec, int64_t rows, uint32_t seed,
                                     bool bad_ids) {
  std::mt19937 rng(seed);
  converter::Inputs in;
  in.rows = rows;
  const auto ids = [&](const std::string& name, int64_t table_rows) {
    converter::InputArray a;
    a.name = name;
    a.kind = graph::InputKind::kIds;
    for (int64_t r = 0; r < rows; ++r) {
      int64_t id = static_cast<int64_t>(rng() % static_cast<uint32_t>(table_rows));
      if (bad_ids && r % 17 == 3) id = table_rows + static_cast<int64_t>(rng() % 5);
      a.ids.push_back(id);
    }
    return a;
  };
  in.arrays.push_back(ids("user", spec.user_rows));
  in.arrays.push_back(ids("item", spec.item_rows));
  converter::InputArray tags;
  tags.name = "tags";
  tags.kind = graph::InputKind::kBag;
  tags.offsets.push_back(0);
  for (int64_t r = 0; r < rows; ++r) {
    const int n = static_cast<int>(rng() % 6);
    for (int j = 0; j < n; ++j) tags.ids.push_back(static_cast<int64_t>(rng() % 30));  // 0: padding
    tags.offsets.push_back(static_cast<int64_t>(tags.ids.size()));
  }
  in.arrays.push_back(std::move(tags));
  converter::InputArray dense;
  dense.name = "dense";
  dense.floats.rows = rows;
  dense.floats.cols = 3;
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (int64_t r = 0; r < rows; ++r) {
    dense.floats.data.push_back(std::floor(u(rng) * 80.0f) / 80.0f);  // an age
    dense.floats.data.push_back(u(rng) * u(rng) * 10.0f);             // a price
    dense.floats.data.push_back(std::floor(u(rng) * 24.0f) / 23.0f);
  }
  in.arrays.push_back(std::move(dense));
  return in;
}

}  // namespace mmoe::testing
