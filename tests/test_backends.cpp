// Every backend and every ISA variant gives the same bytes as the reference kernels, for the
// seed model and for randomly shaped models (odd widths, 1 to 16 experts, 1 to 4 tasks),
// at batch sizes 1, 2, 3, 7, 64 and 1000, from float and from pre-quantized features.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/gemm.h"
#include "model_data.h"
#include "plan/program.h"
#include "plan/program_cache.h"
#include "support/fixtures.h"
#include "support/model_builder.h"
#include "support/random_model.h"

namespace mmoe {
namespace {

using converter::Matrix;

struct Variant {
  Backend backend;
  std::string isa;  // "" for the backend's default
  std::string label() const { return std::string(BackendName(backend)) + (isa.empty() ? "" : ":" + isa); }
};

// The reference backend first, then simd with every ISA this CPU runs, then xnnpack.
std::vector<Variant> Variants() {
  std::vector<Variant> v = {{Backend::kReference, ""}};
  for (const char* const* isa = SimdIsaNames(); *isa; ++isa) v.push_back({Backend::kSimd, *isa});
  if (BackendAvailable(Backend::kXnnpack)) v.push_back({Backend::kXnnpack, ""});
  return v;
}

Matrix Score(const std::shared_ptr<const Model>& model, const Variant& variant, const Matrix& x, int tile,
             bool quantized) {
  SessionOptions options;
  options.backend = variant.backend;
  options.isa = variant.isa.empty() ? nullptr : variant.isa.c_str();
  options.tile_items = tile;
  std::unique_ptr<Session> session;
  Status s = Session::Create(model, options, &session);
  REQUIRE_MESSAGE(s.ok(), variant.label() << ": " << s.message());
  Matrix out;
  out.rows = x.rows;
  out.cols = model->num_tasks();
  out.data.assign(static_cast<size_t>(out.rows * out.cols), -1.0f);
  if (quantized) {
    std::vector<int8_t> q(x.data.size());
    REQUIRE(session->QuantizeInput(x.data.data(), x.rows, q.data(), q.size()).ok());
    s = session->ScoreQuantized(q.data(), x.rows, out.data.data(), out.data.size());
  } else {
    s = session->Score(x.data.data(), x.rows, out.data.data(), out.data.size());
  }
  REQUIRE_MESSAGE(s.ok(), s.message());
  return out;
}

Matrix Head(const Matrix& x, int64_t rows) {
  Matrix h;
  h.rows = rows;
  h.cols = x.cols;
  h.data.assign(x.data.begin(), x.data.begin() + rows * x.cols);
  return h;
}

void CheckSameBytes(const std::shared_ptr<const Model>& model, const Matrix& x, const std::string& what) {
  const std::vector<Variant> variants = Variants();
  REQUIRE(variants.size() >= 2);  // at least the reference and the portable simd kernels
  for (int64_t batch : {1, 2, 3, 7, 64, 1000}) {
    if (batch > x.rows) continue;
    const Matrix rows = Head(x, batch);
    const Matrix expected = Score(model, variants[0], rows, 64, false);
    for (const Variant& v : variants) {
      for (int tile : {1, 5, 64, 0}) {  // 0: the backend's choice (256 for avx512vnni)
        for (bool quantized : {false, true}) {
          // ScoreQuantized takes int8 features: an int16-input model (real-valued calibration
          // rows, the odd trials) refuses it (test_numerics).
          if (quantized && model->data().input16) continue;
          const Matrix got = Score(model, v, rows, tile, quantized);
          INFO(what << ", " << v.label() << ", batch " << batch << ", tile " << tile
                    << std::string(quantized ? ", int8 input" : ", float input"));
          CHECK(std::memcmp(got.data.data(), expected.data.data(), expected.data.size() * sizeof(float)) ==
                0);
        }
      }
    }
  }
}

// The seed model's plan: the gates' and towers' narrow later layers share one 16-column block
// per depth (block diagonal), and every packed weight block and per-column table starts on a
// 64-byte boundary, so no 512-bit load straddles two cache lines.
TEST_CASE(
    "plan: narrow layers share blocks, and packed weights (and their int8 copies) are cache-line aligned") {
  const std::shared_ptr<const Model> model = testing::SeedModel();
  // One-row kernels: x86's from AVX2 up; none on ARM yet, nor in the generic kernels. Their
  // programs carry an int8 copy of every weight packed as int16 (PlanCaps::int8_copy), no others.
  for (const char* const* isa = SimdIsaNames(); *isa; ++isa) {
    INFO(*isa);
    const bool one_row = std::string(*isa).rfind("avx", 0) == 0;
    CHECK(PlanCapsOf(*FindGemmKernels(*isa)).int8_copy == one_row);
  }
  for (WeightLayout layout :
       {WeightLayout::kInt8x4, WeightLayout::kInt8Rows, WeightLayout::kInt16x2, WeightLayout::kInt8x8})
    for (WeightLayout layout16 : {WeightLayout::kInt16x2, WeightLayout::kInt16Cols, WeightLayout::kInt8x4})
      for (bool one_row : {false, true}) {
        if (one_row && !Int16Weights(layout16)) continue;  // one-row kernels read int16 pairs
        const Program& p = model->programs().Get(model->data(), PlanCaps{layout, one_row, layout16});
        std::vector<int32_t> n_pad, segments;
        size_t copies = 0;
        for (const PackedGemm& g : p.gemms) {
          n_pad.push_back(g.n_pad);
          segments.push_back(static_cast<int32_t>(g.segments.size()));
          const auto aligned = [](const void* q) { return reinterpret_cast<uintptr_t>(q) % 64 == 0; };
          CHECK(aligned(g.bias));
          CHECK(aligned(g.bias_u8));
          CHECK(aligned(g.multiplier));
          for (const Segment& seg : g.segments) {
            CHECK(aligned(seg.weights));
            // The one-row kernels' int8 copy: only of int16-packed weights, only where a one-row
            // kernel would read it; aligned, the same values (int16 input: in the GEMM's order;
            // int8 input, AVX2's kInt16x2: in kInt8x4 order).
            if (!one_row || !Int16Weights(g.layout)) {
              CHECK(seg.weights_i8 == nullptr);
              continue;
            }
            REQUIRE(seg.weights_i8 != nullptr);
            CHECK(aligned(seg.weights_i8));
            ++copies;
            const WeightLayout copy_layout =
                g.input == ElementType::kInt16 ? g.layout : WeightLayout::kInt8x4;
            REQUIRE(g.layout == (g.input == ElementType::kInt16 ? layout16 : layout));
            const int16_t* w16 = static_cast<const int16_t*>(seg.weights);
            size_t differ = 0;
            for (int32_t c = 0; c < (seg.end - seg.begin + kBlockColumns - 1) / kBlockColumns * kBlockColumns;
                 ++c)
              for (int32_t k = 0; k < seg.k_pad; ++k)
                differ += w16[PackedWeightIndex(g.layout, seg.k_pad, c, k)] !=
                          seg.weights_i8[PackedWeightIndex(copy_layout, seg.k_pad, c, k)];
            CHECK(differ == 0);
          }
        }
        // One-row programs: the 7 segments of the 5 int16-input GEMMs, and the 13 of the 3
        // int8-input ones where those hold int16 weights.
        CHECK(copies == (!one_row ? 0 : layout == WeightLayout::kInt16x2 ? 20 : 7));
        // Experts' and gates' first layers (the two gates' side by side in one segment); experts'
        // second; gates' second (2 x 8 outputs in one block); experts' third; gates' logits
        // (2 x 4); towers' first, second; task logits (2 x 1).
        CHECK(n_pad == std::vector<int32_t>{288, 128, 16, 64, 16, 64, 32, 16});
        CHECK(segments == std::vector<int32_t>{5, 4, 1, 4, 1, 2, 2, 1});
      }
}

TEST_CASE("backends: the ISA list names the portable kernels (where built) and what this CPU runs") {
  std::vector<std::string> names;
  for (const char* const* isa = SimdIsaNames(); *isa; ++isa) names.push_back(*isa);
  REQUIRE(!names.empty());
#if MMOE_PORTABLE_GEMM
  CHECK(names.back() == "generic");
#else  // AArch64: Advanced SIMD always
  CHECK(names.back() == "neon");
  CHECK(std::find(names.begin(), names.end(), "generic") == names.end());
#endif
  std::unique_ptr<Session> session;
  SessionOptions options;
  options.backend = Backend::kSimd;
  options.isa = "no-such-isa";
  CHECK(Session::Create(testing::SeedModel(), options, &session).code() == StatusCode::kUnavailable);
  options.isa = nullptr;
  REQUIRE(Session::Create(testing::SeedModel(), options, &session).ok());
  CHECK(std::string(session->isa()) == names.front());
}

TEST_CASE("backends: every backend and ISA scores the seed model with the reference bytes") {
  Matrix x = testing::SeedEval();
  // Also features outside the calibrated range and NaN (missing) ones.
  x.data[3] = 7.5f;
  x.data[150] = -3.0f;
  x.data[260] = std::numeric_limits<float>::quiet_NaN();
  CheckSameBytes(testing::SeedModel(), x, "seed model");
}

TEST_CASE("backends: every backend and ISA gives the reference bytes on randomly shaped models") {
  std::mt19937 rng(2026);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int trial = 0; trial < 12; ++trial) {
    testing::RandomModelSpec spec;
    spec.seed = static_cast<uint32_t>(100 + trial);
    spec.gain = 2.0f;
    spec.gate_gain = 2.0f;
    spec.input_dim = trial == 0 ? 1 : pick(1, 130);  // odd, and not multiples of 4/8/16/64
    spec.num_experts = trial == 1 ? 16 : pick(1, 16);
    spec.expert_widths.clear();
    for (int l = 0, depth = pick(1, 3); l < depth; ++l) spec.expert_widths.push_back(pick(1, 70));
    const int n_tasks = pick(1, 4);
    const int n_gates = trial % 4 == 3 ? 0 : (trial % 4 == 2 ? 1 : n_tasks);  // SB, MoE, MMoE
    for (int g = 0; g < n_gates; ++g) {
      testing::RandomGateSpec gate;
      for (int l = 0, depth = pick(0, 2); l < depth; ++l) gate.hidden.push_back(pick(1, 40));
      if (pick(0, 1) && spec.num_experts > 1) {
        for (int e = 0; e < spec.num_experts; e += 2) gate.experts.push_back(e);
      }
      spec.gates.push_back(gate);
    }
    for (int t = 0; t < n_tasks; ++t) {
      testing::RandomTaskSpec task;
      task.gate = n_gates == 0 ? -1 : (n_gates == 1 ? 0 : t);
      task.expert = n_gates == 0 ? pick(0, spec.num_experts - 1) : -1;
      task.tower.clear();
      for (int l = 0, depth = pick(0, 2); l < depth; ++l) task.tower.push_back(pick(1, 40));
      if (t == 1) task.output = testing::TaskOutput::kIdentity;
      spec.tasks.push_back(task);
    }
    const converter::FloatModel fm = testing::RandomFloatModel(spec);
    const testing::FeatureKind kind =
        trial % 2 ? testing::FeatureKind::kGaussian : testing::FeatureKind::kBinary;
    const Matrix calib = testing::RandomFeatures(256, spec.input_dim, kind, spec.seed + 1);
    const Matrix eval = testing::RandomFeatures(1000, spec.input_dim, kind, spec.seed + 2);
    // --activations int16 (int16 expert hidden layers) on every third trial: the same kernels
    // as the gates' and towers' int16 layers, at the experts' widths.
    std::vector<converter::ActivationPrecision> precisions = {converter::ActivationPrecision::kMixed,
                                                              converter::ActivationPrecision::kInt8};
    if (trial % 3 == 0) precisions.push_back(converter::ActivationPrecision::kInt16);
    for (auto precision : precisions) {
      converter::ConvertOptions options;
      options.activations = precision;
      const auto bytes = converter::Convert(fm, calib, options).bytes;
      std::shared_ptr<const Model> model;
      REQUIRE(Model::LoadBuffer(bytes.data(), bytes.size(), &model).ok());
      CheckSameBytes(model, eval,
                     "trial " + std::to_string(trial) + " (input " + std::to_string(spec.input_dim) + ", " +
                         std::to_string(spec.num_experts) + " experts, " + std::to_string(n_tasks) +
                         " tasks, " +
                         (precision == converter::ActivationPrecision::kMixed  ? "mixed"
                          : precision == converter::ActivationPrecision::kInt8 ? "int8"
                                                                               : "int16") +
                         (model->data().input16 ? ", int16 input" : "") + ")");
    }
  }
}

// Two experts over `input_dim` int8 inputs, expert e with layers of widths `widths[e]` (ReLU,
// int8, zero point -100; the last one's output `last`), one gate mixing both, and one gated
// task per layer of `towers` (a one-layer tower; identity output: the logit itself, which a
// sigmoid would hide).
testing::ModelSpec TwoExpertSpec(uint32_t input_dim, const std::vector<std::vector<uint32_t>>& widths,
                                 const testing::QuantSpec& last,
                                 const std::vector<testing::DenseSpec>& towers) {
  using testing::MakeDense;
  testing::ModelSpec m;
  m.input_dim = input_dim;
  m.input = testing::QuantSpec{fb::ElementType::INT8, 1.0f / 32, -10};
  const testing::QuantSpec relu{fb::ElementType::INT8, 1.0f / 16, -100};
  for (size_t e = 0; e < widths.size(); ++e) {
    testing::MlpSpec expert;
    uint32_t in = input_dim;
    for (size_t l = 0; l < widths[e].size(); ++l) {
      const std::string name = "experts." + std::to_string(e) + "." + std::to_string(l);
      expert.layers.push_back(MakeDense(name, in, widths[e][l], l == 0 ? m.input : relu,
                                        l + 1 == widths[e].size() ? last : relu, fb::Activation::RELU));
      in = widths[e][l];
    }
    m.experts.push_back(expert);
  }
  testing::GateSpec gate;
  gate.experts = {0, 1};
  gate.mlp.layers.push_back(MakeDense("gates.0.0", input_dim, 2, m.input, std::nullopt));
  m.gates.push_back(gate);
  for (size_t t = 0; t < towers.size(); ++t) {
    testing::TaskSpec task;
    task.name = "task" + std::to_string(t);
    task.gate = 0;
    task.mix_scales = {1.0f, 1.0f};
    task.tower.layers.push_back(towers[t]);
    task.output = fb::TaskOutput::IDENTITY;
    m.tasks.push_back(task);
  }
  return m;
}

std::shared_ptr<const Model> LoadSpec(const testing::ModelSpec& spec) {
  std::shared_ptr<const Model> model;
  const std::vector<uint8_t> bytes = testing::BuildModel(spec);
  REQUIRE(Model::LoadBuffer(bytes.data(), bytes.size(), &model).ok());
  return model;
}

// Two experts, 64 -> 64 and 64 -> 32 (ReLU, zero point -100), then -> 40 (ReLU, `out`), one
// gate, one task: GEMMs of 4, 2 and 3 blocks per segment, whose epilogues take the packed path
// when products are small. With 64 inputs (16 k-steps) the first GEMM's 4- and 2-block
// segments and the first expert's second layer (3 blocks) run with deferred epilogues
// (gemm_avx512vnni.cc) from three tiles on.
testing::ModelSpec WideExpertsSpec(const testing::QuantSpec& out) {
  const testing::QuantSpec tower_in{fb::ElementType::INT8, out.scale, 0};
  return TwoExpertSpec(64, {{64, 40}, {32, 40}}, out,
                       {testing::MakeDense("tasks.0.0", 40, 1, tower_in, std::nullopt)});
}

// The vector epilogues round then clamp with saturating packs only where no product can reach
// 2^30 (Segment::small_products), and clamp in float first elsewhere; both give the reference
// bytes, at both ends of int8 and int16 ranges and past int32 (products up to ~1e10).
TEST_CASE("backends: saturated and overflowing requantization give the reference bytes") {
  const Matrix x = testing::RandomFeatures(1000, 64, testing::FeatureKind::kGaussian, 7);
  for (const testing::QuantSpec& out : {testing::QuantSpec{fb::ElementType::INT8, 1.0f / 2, 5},
                                        testing::QuantSpec{fb::ElementType::INT16, 1.0f / 64, 0}}) {
    for (bool huge : {false, true}) {
      testing::ModelSpec spec = WideExpertsSpec(out);
      for (testing::MlpSpec& expert : spec.experts) {
        for (size_t l = 0; l < expert.layers.size(); ++l) {
          testing::DenseSpec& d = expert.layers[l];
          for (uint32_t c = 0; c < d.out; ++c) {
            if (huge) {
              if (c % 5 == 0) d.multipliers[c] = 3e5f;  // |float(acc) * m| up to ~1e10
            } else if (c % (l == 0 ? 3 : 7) < 2) {
              // Past either end of the output range, with products well below 2^30. The
              // second layer's other columns stay in range, so the first's show in the score.
              d.bias[c] = c % 2 ? 4000000 : -4000000;
            }
          }
        }
      }
      const std::shared_ptr<const Model> model = LoadSpec(spec);
      // The experts' two GEMMs take the path this case is about.
      const Program& p = model->programs().Get(model->data(), PlanCaps{WeightLayout::kInt8x4, false});
      for (int gi = 0; gi < 2; ++gi) {
        for (const Segment& seg : p.gemms[gi].segments) {
          if (seg.end - seg.begin >= 2 * kBlockColumns) CHECK(seg.small_products == !huge);
        }
      }
      CheckSameBytes(model, x,
                     std::string(out.type == fb::ElementType::INT8 ? "int8" : "int16") +
                         (huge ? " outputs, huge multipliers" : " outputs, saturating biases"));
    }
  }
}

// First-layer weights all +-127 and inputs all -128 or 127: pairs of products reach +-32512, the
// bound that keeps AVX2's one-row vpmaddubsw (on |x| and the weights with x's signs) from
// saturating at int16 (gemm_avx2.cc), and every other kernel's widest int8 sums.
TEST_CASE("backends: int8 inputs and weights at their extremes give the reference bytes") {
  const testing::QuantSpec out{fb::ElementType::INT8, 1.0f / 8, -100};
  testing::ModelSpec spec = TwoExpertSpec(
      64, {{40}, {40}}, out,
      {testing::MakeDense("tasks.0.0", 40, 1, testing::QuantSpec{fb::ElementType::INT8, 1.0f / 8, 0},
                          std::nullopt)});
  for (testing::MlpSpec& expert : spec.experts) {
    testing::DenseSpec& d = expert.layers[0];
    for (uint32_t c = 0; c < d.out; ++c) {
      for (uint32_t i = 0; i < d.in; ++i) d.weights[c * d.in + i] = (c + i / 8) % 3 == 0 ? 127 : -127;
      d.multipliers[c] = 2e-5f;  // |acc| <= 64 * 128 * 127: outputs within int8
    }
  }
  Matrix x;
  x.rows = 64;
  x.cols = 64;
  x.data.resize(64 * 64);
  for (int64_t r = 0; r < x.rows; ++r) {
    for (int64_t i = 0; i < x.cols; ++i) {
      // Input scale 1/32, zero point -10: -10 quantizes to -128 and +10 to 127.
      const bool low = r % 3 == 0 || (r % 3 == 2 && (r * 7 + i * 13) % 5 < 2);
      x.data[r * x.cols + i] = low ? -10.0f : 10.0f;
    }
  }
  CheckSameBytes(LoadSpec(spec), x, "extreme int8 inputs and weights");
}

// Two tasks whose towers are one 8 -> 1 logit layer on int16 mixtures: their weights share one
// block (k 24), which the AVX-512 kernels score with items in lanes (DotColumns, for at most
// two live columns; the seed's gate logits, 8 columns, take the tile kernels). Task 1's
// weights are all zero when `zero_weights`, with bias `bias`: a column that is live through
// its bias alone when bias != 0, and one DotColumns skips (its logits stay +0) when bias == 0.
std::shared_ptr<const Model> LogitColumnsModel(bool zero_weights, int32_t bias) {
  std::vector<testing::DenseSpec> towers;
  for (int t = 0; t < 2; ++t) {
    testing::DenseSpec d =
        testing::MakeDense("tasks." + std::to_string(t) + ".0", 8, 1,
                           testing::QuantSpec{fb::ElementType::INT16, 1.0f / 1024, 0}, std::nullopt);
    d.bias[0] = 100;
    if (t == 1 && zero_weights) {
      std::fill(d.weights.begin(), d.weights.end(), int8_t{0});
      d.bias[0] = bias;
    }
    towers.push_back(d);
  }
  const testing::QuantSpec relu{fb::ElementType::INT8, 1.0f / 16, -100};
  return LoadSpec(TwoExpertSpec(8, {{8}, {8}}, relu, towers));
}

TEST_CASE("backends: tower logit layers with zero-weight columns give the reference bytes") {
  // 100 items: batch 64 runs 4 groups of 16 items in lanes, and 1-7 run the tile kernels.
  const Matrix x = testing::RandomFeatures(100, 8, testing::FeatureKind::kGaussian, 11);
  CheckSameBytes(LogitColumnsModel(false, 0), x, "two live columns");
  CheckSameBytes(LogitColumnsModel(true, -7), x, "task 1 live through its bias");
  CheckSameBytes(LogitColumnsModel(true, 0), x, "task 1 dead");
}

// tile_items 0: the simd backend takes its kernels' preferred tile, the others 64, and a tile is
// halved while one thread's arena would exceed 512 KB.
// 1,301 inputs: AVX2 widens int8 inputs to int16 in chunks of 512 (gemm_avx2.cc, kWideK), so
// the experts' first layers run two whole chunks and a partial one ending in a 4-input group
// (1,304 = 2 x 512 + 17 x 16 + 8); every other ISA sees a long k as well.
TEST_CASE("backends: inputs wider than a kernel's k-chunk give the reference bytes") {
  const testing::QuantSpec out{fb::ElementType::INT8, 1.0f / 8, -100};
  const std::shared_ptr<const Model> model = LoadSpec(TwoExpertSpec(
      1301, {{24}, {40, 24}}, out,
      {testing::MakeDense("tasks.0.0", 24, 1, testing::QuantSpec{fb::ElementType::INT8, 1.0f / 8, 0},
                          std::nullopt)}));
  CheckSameBytes(model, testing::RandomFeatures(64, 1301, testing::FeatureKind::kGaussian, 11),
                 "1301 inputs");
}

TEST_CASE("sessions: tile_items 0 picks the kernels' tile, halved to fit a 512 KB arena") {
  constexpr size_t kBudget = 512 * 1024;
  const auto open = [](const std::shared_ptr<const Model>& model, const Variant& v, int tile) {
    SessionOptions options;
    options.backend = v.backend;
    options.isa = v.isa.empty() ? nullptr : v.isa.c_str();
    options.tile_items = tile;
    std::unique_ptr<Session> session;
    REQUIRE(Session::Create(model, options, &session).ok());
    return session;
  };
  const auto preferred = [](const Variant& v) {
    return v.backend == Backend::kSimd ? FindGemmKernels(v.isa.c_str())->preferred_tile : 64;
  };
  for (const Variant& v : Variants()) {
    INFO(v.label());
    const auto session = open(testing::SeedModel(), v, 0);
    CHECK(session->tile_items() == preferred(v));  // the seed's arena is 291 KB at 256 items
    CHECK(session->arena_bytes() <= kBudget);
  }
  // Two experts 64 -> 4096 -> 16: about 8 KB of activations per item, so 64 items exceed the
  // budget and every variant halves its tile at least once.
  const testing::QuantSpec hidden{fb::ElementType::INT8, 1.0f / 16, -100};
  const std::shared_ptr<const Model> wide = LoadSpec(TwoExpertSpec(
      64, {{4096, 16}, {4096, 16}}, hidden,
      {testing::MakeDense("tasks.0.0", 16, 1, testing::QuantSpec{fb::ElementType::INT8, 1.0f / 16, 0},
                          std::nullopt)}));
  const Matrix x = testing::RandomFeatures(100, 64, testing::FeatureKind::kGaussian, 3);
  const Matrix expected = Score(wide, Variants()[0], x, 64, false);
  for (const Variant& v : Variants()) {
    INFO(v.label());
    const auto session = open(wide, v, 0);
    const int tile = session->tile_items();
    CHECK(tile < preferred(v));
    CHECK(tile >= 16);
    CHECK(session->arena_bytes() <= kBudget);
    CHECK(open(wide, v, 2 * tile)->arena_bytes() > kBudget);  // the largest tile that fits
    const Matrix got = Score(wide, v, x, 0, false);
    CHECK(std::memcmp(got.data.data(), expected.data.data(), expected.data.size() * sizeof(float)) == 0);
  }
}

TEST_CASE("backends: threads split the work and give the same bytes") {
  const Matrix& x = testing::SeedEval();
  const Matrix expected = Score(testing::SeedModel(), {Backend::kReference, ""}, x, 64, false);
  // Tile 0 (256 items with avx512vnni): calls of fewer items than threads x tile are cut into
  // smaller tiles so that every thread gets some.
  for (int tile : {16, 0}) {
    for (int threads : {2, 3, 8}) {
      CAPTURE(tile);
      CAPTURE(threads);
      SessionOptions options;
      options.threads = threads;
      options.tile_items = tile;
      std::unique_ptr<Session> session;
      REQUIRE(Session::Create(testing::SeedModel(), options, &session).ok());
      for (int64_t n : {int64_t{1}, int64_t{17}, int64_t{300}, x.rows}) {
        CAPTURE(n);
        std::vector<float> out(static_cast<size_t>(n * 2));
        REQUIRE(session->Score(x.data.data(), static_cast<size_t>(n), out.data(), out.size()).ok());
        CHECK(std::memcmp(out.data(), expected.data.data(), out.size() * sizeof(float)) == 0);
      }
    }
  }
}

}  // namespace
}  // namespace mmoe
