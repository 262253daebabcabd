// Hostile and broken model files: each is refused with the status code its kind of damage
// calls for and a message naming the part at fault, and none crashes the loader. Loads go
// through exact-size heap buffers borrowed without a copy, so that AddressSanitizer flags
// any read past the end of the file.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "mmoe/mmoe.h"
#include "mmoe_generated.h"
#include "model_data.h"
#include "support/fixtures.h"
#include "support/model_builder.h"

namespace mmoe {
namespace {

using testing::DenseSpec;
using testing::MakeDense;
using testing::ModelSpec;
using testing::NodeSpec;
using testing::QuantSpec;

// A model loaded from its own exact-size copy of some bytes. `buffer` is declared first so
// that it outlives the model borrowing it.
struct Loaded {
  std::unique_ptr<uint8_t[]> buffer;
  Status status;
  std::shared_ptr<const Model> model;
};

Loaded LoadExact(const uint8_t* data, size_t size, const LoadOptions& options = LoadOptions()) {
  Loaded l;
  l.buffer.reset(new uint8_t[size == 0 ? 1 : size]);  // new[] is aligned for any scalar
  if (size) std::memcpy(l.buffer.get(), data, size);
  l.status = Model::LoadBuffer(l.buffer.get(), size, /*copy=*/false, options, &l.model);
  return l;
}

Loaded LoadExact(const std::vector<uint8_t>& bytes, const LoadOptions& options = LoadOptions()) {
  return LoadExact(bytes.data(), bytes.size(), options);
}

LoadOptions WithoutChecksum() {
  LoadOptions options;
  options.verify_checksum = false;
  return options;
}

// Recomputes the checksum trailer of a file edited on purpose, as a newer converter would
// have written it.
void Reseal(std::vector<uint8_t>* file) {
  REQUIRE(file->size() > kChecksumTrailerSize);
  const size_t payload = file->size() - kChecksumTrailerSize;
  WriteChecksumTrailer(file->data(), payload, file->data() + payload);
}

using testing::CheckRefused;

bool IsCleanRefusal(StatusCode code) {
  return code == StatusCode::kNotAModel || code == StatusCode::kUnsupportedVersion ||
         code == StatusCode::kCorruptModel || code == StatusCode::kInvalidModel ||
         code == StatusCode::kChecksumMismatch || code == StatusCode::kUnsupportedFeature;
}

// Scores `rows` items of `features` (input_dim wide, zero-padded if short) and checks that
// every score is finite, and a probability for sigmoid tasks. Identity scores are float(acc)
// times a verified multiplier, so they are bounded too.
void ScoreAndCheck(const std::shared_ptr<const Model>& model, const std::vector<float>& features,
                   size_t rows) {
  SessionOptions options;
  options.tile_items = 3;  // several tiles, one partial
  std::unique_ptr<Session> session;
  Status s = Session::Create(model, options, &session);
  REQUIRE_MESSAGE(s.ok(), s.message());
  std::vector<float> x(rows * model->input_dim(), 0.0f);
  std::copy_n(features.begin(), std::min(features.size(), x.size()), x.begin());
  std::vector<float> scores(rows * model->num_tasks(), -1.0f);
  s = session->Score(x.data(), rows, scores.data(), scores.size());
  REQUIRE_MESSAGE(s.ok(), s.message());
  // Probabilities: outputs of sigmoids, and products of outputs in [0, 1].
  const graph::Graph& g = model->data().graph;
  const std::vector<int32_t> producer = graph::Producers(g);
  std::vector<bool> probability(g.tensors.size(), false);
  for (const graph::Node& n : g.nodes) {
    bool p = n.op == graph::Op::kSigmoid;
    if (n.op == graph::Op::kProduct) {
      p = true;
      for (int32_t t : n.inputs) p = p && probability[t];
    }
    probability[n.output] = p;
  }
  const size_t tasks = g.outputs.size();
  for (size_t i = 0; i < scores.size(); ++i) {
    CHECK(std::isfinite(scores[i]));
    if (probability[g.outputs[i % tasks].tensor]) CHECK((scores[i] >= 0.0f && scores[i] <= 1.0f));
  }
}

std::vector<float> SeedRows(size_t rows) {
  const converter::Matrix& eval = testing::SeedEval();
  return std::vector<float>(eval.data.begin(), eval.data.begin() + rows * eval.cols);
}

// --- Not a model at all ----------------------------------------------------------------------

std::vector<uint8_t> Bytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

TEST_CASE("buffers that are not models are refused with NOT_A_MODEL") {
  std::shared_ptr<const Model> model;
  const uint8_t byte = 0;
  CheckRefused(Model::LoadBuffer(&byte, 0, &model), StatusCode::kNotAModel, {"0 bytes"});
  CheckRefused(LoadExact(Bytes("MMOEMMO")).status, StatusCode::kNotAModel, {"7 bytes"});
  const std::vector<std::vector<uint8_t>> headers = {
      // PNG signature and the start of its IHDR chunk.
      {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I',
       'H',  'D', 'R', 0,   0,    1,    0,    0,    0, 1, 0, 8,  6},
      // ELF64 little-endian header start.
      {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0x3e, 0, 1, 0, 0, 0},
      Bytes("{\"format\": \"mmoe-arch\", \"version\": 1, \"experts\": []}"),
      std::vector<uint8_t>(64, 0),
      Bytes("MMOE0000"),  // the identifier belongs at offset 4, not 0
  };
  for (const auto& h : headers) {
    CAPTURE(h.size());
    CheckRefused(LoadExact(h).status, StatusCode::kNotAModel, {"\"MMOE\""});
  }
  CHECK(Model::LoadBuffer(nullptr, 100, &model).code() == StatusCode::kInvalidArgument);
  CHECK(Model::LoadBuffer(&byte, 1, nullptr).code() == StatusCode::kInvalidArgument);
  CHECK(model == nullptr);
}

TEST_CASE("a borrowed buffer must be 8-byte aligned") {
  const std::vector<uint8_t>& seed = testing::SeedModelBytes();
  std::unique_ptr<uint8_t[]> storage(new uint8_t[seed.size() + 8]);
  std::memcpy(storage.get() + 1, seed.data(), seed.size());
  std::shared_ptr<const Model> model;
  CheckRefused(Model::LoadBuffer(storage.get() + 1, seed.size(), &model, /*copy=*/false),
               StatusCode::kInvalidArgument, {"aligned"});
  // Copying takes care of the alignment.
  CHECK(Model::LoadBuffer(storage.get() + 1, seed.size(), &model, /*copy=*/true).ok());
}

// --- Damaged seed model ----------------------------------------------------------------------

TEST_CASE("the seed model truncated at any length is refused cleanly") {
  const std::vector<uint8_t>& seed = testing::SeedModelBytes();
  std::vector<size_t> lengths;
  for (size_t n = 0; n < 64; ++n) lengths.push_back(n);
  for (size_t k = 1; k < 50; ++k) lengths.push_back(seed.size() * k / 50);
  for (size_t n = seed.size() - 8; n < seed.size(); ++n) lengths.push_back(n);
  for (size_t n : lengths) {
    CAPTURE(n);
    const Loaded l = LoadExact(seed.data(), n);
    INFO(l.status.message());
    CHECK_FALSE(l.status.ok());
    CHECK(IsCleanRefusal(l.status.code()));
    CHECK(std::strlen(l.status.message()) > 0);
    if (n < 8) CHECK(l.status.code() == StatusCode::kNotAModel);
    // Past the identifier, a file cut short has lost its checksum trailer, or (before the
    // version can be read) its root table.
    if (n >= 8) {
      const bool no_root = l.status.code() == StatusCode::kCorruptModel &&
                           std::string(l.status.message()).find("root") != std::string::npos;
      CHECK((l.status.code() == StatusCode::kChecksumMismatch || no_root));
    }
  }
  const Loaded whole = LoadExact(seed);
  REQUIRE_MESSAGE(whole.status.ok(), whole.status.message());
  ScoreAndCheck(whole.model, SeedRows(5), 5);
}

// --- Checksum ----------------------------------------------------------------------------------

TEST_CASE("Crc32c is CRC-32C (Castagnoli)") {
  // The check value of the CRC catalogue, and RFC 3720's iSCSI test vectors.
  CHECK(Crc32c("123456789", 9) == 0xE3069283u);
  CHECK(Crc32c("", 0) == 0u);
  const std::vector<uint8_t> zeros(32, 0x00), ones(32, 0xFF);
  CHECK(Crc32c(zeros.data(), zeros.size()) == 0x8A9136AAu);
  CHECK(Crc32c(ones.data(), ones.size()) == 0x62A8AB43u);
  std::vector<uint8_t> ascending(32);
  for (int i = 0; i < 32; ++i) ascending[i] = static_cast<uint8_t>(i);
  CHECK(Crc32c(ascending.data(), ascending.size()) == 0x46DD794Eu);
  // Every length and alignment goes through the same value as byte-at-a-time code would.
  const std::vector<uint8_t>& seed = testing::SeedModelBytes();
  for (size_t start = 0; start < 9; ++start) {
    for (size_t len : {0, 1, 7, 8, 9, 15, 16, 17, 1000}) {
      uint32_t crc = 0xFFFFFFFFu;
      for (size_t i = start; i < start + len; ++i) {
        crc ^= seed[i];
        for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ ((crc & 1u) ? 0x82F63B78u : 0u);
      }
      CAPTURE(start);
      CAPTURE(len);
      CHECK(Crc32c(seed.data() + start, len) == (crc ^ 0xFFFFFFFFu));
    }
  }
}

TEST_CASE("the converter writes format 2.1 with a checksum trailer that the loader checks") {
  const std::vector<uint8_t>& seed = testing::SeedModelBytes();
  REQUIRE(seed.size() > kChecksumTrailerSize);
  CHECK(std::memcmp(seed.data() + seed.size() - 4, "MMCK", 4) == 0);
  const Loaded l = LoadExact(seed);
  REQUIRE_MESSAGE(l.status.ok(), l.status.message());
  CHECK(l.model->format_version_major() == 2);
  CHECK(l.model->format_version_minor() == 1);
  CHECK(l.model->checksum_verified());
  CHECK(l.model->flatbuffer_size() == seed.size() - kChecksumTrailerSize);
  // The shipped golden file too.
  std::shared_ptr<const Model> golden;
  const Status s = Model::LoadFile(testing::SourcePath("tests/data/seed.mmoe").c_str(), &golden);
  REQUIRE_MESSAGE(s.ok(), s.message());
  CHECK(golden->checksum_verified());
  CHECK(golden->format_version_major() == 1);
  CHECK(golden->format_version_minor() == 1);
}

TEST_CASE("a wrong checksum, or a 1.1 or 2.x file without its trailer, is CHECKSUM_MISMATCH") {
  std::vector<uint8_t> seed = testing::SeedModelBytes();
  seed[seed.size() - kChecksumTrailerSize] ^= 0x01;  // the stored CRC itself
  CheckRefused(LoadExact(seed).status, StatusCode::kChecksumMismatch,
               {"checksum mismatch", "CRC-32C", "0x", "damaged"});
  seed = testing::SeedModelBytes();
  seed[seed.size() - 1] = 'X';  // the magic: no trailer any more
  CheckRefused(LoadExact(seed).status, StatusCode::kChecksumMismatch, {"format 2.1", "\"MMCK\"", "has none"});
  seed.resize(seed.size() - kChecksumTrailerSize);
  CheckRefused(LoadExact(seed).status, StatusCode::kChecksumMismatch, {"format 2.1", "has none"});
  // With the check off, the FlatBuffer alone still verifies.
  const Loaded l = LoadExact(seed, WithoutChecksum());
  REQUIRE_MESSAGE(l.status.ok(), l.status.message());
  CHECK_FALSE(l.model->checksum_verified());

  // A 1.0 file predates the trailer and loads without one; with one it is checked.
  ModelSpec spec = testing::MinimalModelSpec();
  const Loaded old = LoadExact(testing::BuildModel(spec));
  REQUIRE_MESSAGE(old.status.ok(), old.status.message());
  CHECK_FALSE(old.model->checksum_verified());
  CHECK(old.model->format_version_minor() == 0);
  spec.checksum = true;
  std::vector<uint8_t> sealed = testing::BuildModel(spec);
  CHECK(LoadExact(sealed).model->checksum_verified());
  sealed[sealed.size() / 2] ^= 0x10;
  CheckRefused(LoadExact(sealed).status, StatusCode::kChecksumMismatch, {"checksum mismatch"});
  // A 1.1 file without the trailer.
  spec.checksum = false;
  spec.version_minor = 1;
  CheckRefused(LoadExact(testing::BuildModel(spec)).status, StatusCode::kChecksumMismatch, {"has none"});
}

// CRC-32C catches every single-bit error. Each byte of the file gets one flipped bit (a
// different bit from byte to byte): the loader must refuse every one, by the checksum, or as
// not a model when the flip hits the "MMOE" identifier that is checked first.
TEST_CASE("every byte of the seed model with a flipped bit is refused, by the checksum") {
  std::vector<uint8_t> damaged = testing::SeedModelBytes();
  int by_checksum = 0, by_identifier = 0, other = 0;
  for (size_t p = 0; p < damaged.size(); ++p) {
    const uint8_t mask = static_cast<uint8_t>(1u << (p % 8));
    damaged[p] ^= mask;
    const Loaded l = LoadExact(damaged);
    damaged[p] ^= mask;
    if (l.status.code() == StatusCode::kChecksumMismatch) {
      ++by_checksum;
    } else if (l.status.code() == StatusCode::kNotAModel && p >= 4 && p < 8) {
      ++by_identifier;
    } else {
      ++other;
      CAPTURE(p);
      FAIL_CHECK("flip not caught by the checksum: " << StatusCodeName(l.status.code()) << " "
                                                     << l.status.message());
    }
  }
  std::printf("bit flips in the %zu-byte seed model: %d caught by the checksum, %d by the identifier\n",
              damaged.size(), by_checksum, by_identifier);
  CHECK(by_identifier == 4);
  CHECK(other == 0);
}

// With the checksum off, the verifier alone stands between a damaged file and the kernels:
// every flip either is refused with a clean code or gives a model that scores sanely.
TEST_CASE("with the checksum off, the seed model with a flipped byte is refused cleanly or still scores") {
  const std::vector<uint8_t>& seed = testing::SeedModelBytes();
  std::mt19937 rng(20260101);
  std::vector<size_t> positions;
  for (size_t p = 0; p < 512; ++p) positions.push_back(p);  // root table, vtables, headers
  for (int i = 0; i < 1500; ++i) positions.push_back(rng() % seed.size());
  const std::vector<float> rows = SeedRows(4);
  int refused = 0, loaded = 0;
  std::vector<uint8_t> damaged = seed;
  for (size_t p : positions) {
    const uint8_t mask = static_cast<uint8_t>(1 + rng() % 255);
    damaged[p] ^= mask;
    const Loaded l = LoadExact(damaged, WithoutChecksum());
    damaged[p] ^= mask;
    CAPTURE(p);
    CAPTURE(static_cast<int>(mask));
    INFO(l.status.message());
    if (l.status.ok()) {
      ++loaded;
      ScoreAndCheck(l.model, rows, 4);
    } else {
      ++refused;
      CHECK(IsCleanRefusal(l.status.code()));
    }
  }
  std::printf("byte flips in the seed model: %d refused, %d loaded and scored\n", refused, loaded);
  // Both paths ran: flips in the header are refused, flips in weight data load.
  CHECK(refused > 50);
  CHECK(loaded > 500);
}

// --- Format versions -------------------------------------------------------------------------

TEST_CASE("a newer major format version is refused with UNSUPPORTED_VERSION naming both versions") {
  ModelSpec spec = testing::MinimalModelSpec();
  spec.version_major = 3;
  spec.version_minor = 3;
  CheckRefused(LoadExact(testing::BuildModel(spec)).status, StatusCode::kUnsupportedVersion, {"3.3", "2.3"});

  // The seed model with its version field patched in place.
  std::vector<uint8_t> seed = testing::SeedModelBytes();
  const auto* root = flatbuffers::GetRoot<flatbuffers::Table>(seed.data());
  const uint8_t* field = root->GetAddressOf(fb::Model::VT_FORMAT_VERSION_MAJOR);
  REQUIRE(field != nullptr);
  const uint16_t newer = 7;
  std::memcpy(seed.data() + (field - seed.data()), &newer, sizeof(newer));
  Reseal(&seed);
  CheckRefused(LoadExact(seed).status, StatusCode::kUnsupportedVersion, {"7.1", "newer", "2.3"});

  spec.version_major = 0;
  CheckRefused(LoadExact(testing::BuildModel(spec)).status, StatusCode::kUnsupportedVersion, {"0.3"});
}

TEST_CASE("a newer minor format version loads: minor versions only add fields") {
  ModelSpec spec = testing::MinimalModelSpec();
  spec.version_minor = 9;
  spec.checksum = true;
  const Loaded l = LoadExact(testing::BuildModel(spec));
  REQUIRE_MESSAGE(l.status.ok(), l.status.message());
}

// --- Semantic violations in a well-formed file -------------------------------------------------

TEST_CASE("the minimal built model loads and scores") {
  const Loaded l = LoadExact(testing::BuildModel(testing::MinimalModelSpec()));
  REQUIRE_MESSAGE(l.status.ok(), l.status.message());
  CHECK(l.model->input_dim() == 3);
  // Lowered to a graph: experts 2 x 2 dense, the gate's dense and softmax, two mixtures, tower 0's
  // two dense and sigmoid, tower 1's one dense (an identity task: its logit is the score).
  CHECK(l.model->data().graph.nodes.size() == 4 + 2 + 2 + 3 + 1);
  REQUIRE(l.model->num_tasks() == 2);
  CHECK(std::string(l.model->task_name(0)) == "click");
  CHECK(std::string(l.model->task_name(1)) == "dwell");
  // Layers: experts 2 x (12 + 8), gate 6, towers 6 + 3 + 2; mixing: one gated task, 2 x 2.
  CHECK(l.model->macs_per_item() == 40 + 6 + 11 + 4);
  ScoreAndCheck(l.model, {0.5f, -1.0f, 2.0f, 0.0f, 0.25f, 1.0f, 3.0f, 3.0f, -3.0f}, 3);
}

struct Violation {
  const char* what;
  std::function<void(ModelSpec*)> tweak;
  std::vector<const char*> fragments;  // the message names the part at fault
};

DenseSpec& ExpertLayer(ModelSpec* m, int e, int l) { return m->experts[e].layers[l]; }

const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

// The runtime folds -zp_in * sum_k w[c][k] into bias[c]. Picks a bias whose own magnitude
// leaves room for the worst-case sum of products (in * 127 * 128) but whose folded value does
// not: a verifier that bounded the stored bias instead of the folded one would miss it.
void BiasOverflowingWhenFolded(ModelSpec* m) {
  DenseSpec& layer = ExpertLayer(m, 0, 0);
  int64_t wsum = 0;
  for (uint32_t k = 0; k < layer.in; ++k) wsum += layer.weights[k];
  const int64_t fold = -static_cast<int64_t>(layer.input.zero_point) * wsum;  // added to bias[0]
  REQUIRE(std::abs(fold) >= 2);
  const int64_t products = static_cast<int64_t>(layer.in) * 127 * 128;
  const int64_t magnitude = std::numeric_limits<int32_t>::max() - products - std::abs(fold) / 2;
  layer.bias[0] = static_cast<int32_t>(fold > 0 ? magnitude : -magnitude);
}

std::vector<Violation> Violations() {
  const QuantSpec relu{fb::ElementType::INT8, 1.0f / 16, -128};
  return {
      {"gate expert index out of range",
       [](ModelSpec* m) {
         m->gates[0].experts = {0, 5};
       },
       {"gates[0]", "expert index 5 is out of range"}},
      {"repeated gate expert index",
       [](ModelSpec* m) {
         m->gates[0].experts = {1, 1};
       },
       {"gates[0]", "expert index 1 is repeated"}},
      {"gate logits != its experts",
       [](ModelSpec* m) { m->gates[0].experts = {1}; },
       {"gates[0]", "2 logits for 1 experts"}},
      {"gate mixing no experts",
       [](ModelSpec* m) { m->gates[0].experts.clear(); },
       {"gates[0]", "mixes 0 experts"}},
      {"weights of the wrong length",
       [](ModelSpec* m) { ExpertLayer(m, 1, 0).weights.pop_back(); },
       {"experts[1].layers[0] (experts.1.0)", "weights has 11 values, expected 12"}},
      {"bias of the wrong length",
       [](ModelSpec* m) { m->tasks[0].tower.layers[0].bias.push_back(0); },
       {"tasks[0].tower.layers[0] (tasks.0.0)", "bias has 4 values, expected 3"}},
      {"zero input scale",
       [](ModelSpec* m) { m->input.scale = 0.0f; },
       {"model", "input scale 0 is not a finite positive number"}},
      {"NaN output scale",
       [](ModelSpec* m) { ExpertLayer(m, 0, 1).output->scale = kNaN; },
       {"experts[0].layers[1] (experts.0.1)", "output scale", "nan"}},
      {"denormal input scale",
       [](ModelSpec* m) { m->input.scale = 1e-40f; },
       {"model", "input scale", "not a finite positive number"}},
      {"zero weight scale",
       [](ModelSpec* m) { ExpertLayer(m, 0, 1).weight_scales[1] = 0.0f; },
       {"experts[0].layers[1] (experts.0.1)", "weight scale 1 is 0"}},
      {"infinite weight scale",
       [](ModelSpec* m) { m->gates[0].mlp.layers[0].weight_scales[0] = kInf; },
       {"gates[0].layers[0] (gates.0.0)", "weight scale 0 is inf"}},
      {"multiplier below range",
       [](ModelSpec* m) { m->gates[0].mlp.layers[0].multipliers[1] = 1e-30f; },
       {"gates[0].layers[0] (gates.0.0)", "multiplier 1 is 1e-30", "outside [2^-64, 2^30]"}},
      {"NaN multiplier",
       [](ModelSpec* m) { m->tasks[1].tower.layers[0].multipliers[0] = kNaN; },
       {"tasks[1].tower.layers[0] (tasks.1.0)", "multiplier 0 is", "outside"}},
      {"int8 zero point out of range",
       [](ModelSpec* m) { m->input.zero_point = 200; },
       {"model", "input int8 zero point 200 is outside [-128, 127]"}},
      {"int16 zero point != 0",
       [](ModelSpec* m) {
         for (auto& e : m->experts)
           e.layers.back().output = QuantSpec{fb::ElementType::INT16, 1.0f / 4096, 5};
       },
       {"experts[0].layers[1] (experts.0.1)", "output int16 zero point 5 must be 0"}},
      {"unknown element type",
       [](ModelSpec* m) { ExpertLayer(m, 0, 0).output->type = static_cast<fb::ElementType>(3); },
       {"experts[0].layers[0] (experts.0.0)", "unknown element type 3"}},
      {"int16 model input",
       [](ModelSpec* m) {
         m->input = QuantSpec{fb::ElementType::INT16, 1.0f / 32, 0};
       },
       // Format 1 knew int8 inputs only; its layers' input quantization is the input's.
       {"experts[0].layers[0] (experts.0.0)", "input quantization differs"}},
      {"layer widths that do not chain",
       [relu](ModelSpec* m) {
         ExpertLayer(m, 0, 1) = MakeDense("experts.0.1", 5, 2, relu, relu, fb::Activation::RELU);
       },
       {"experts[0].layers[1] (experts.0.1)", "reads 5 features but its input has 4"}},
      {"tower reading the wrong width",
       [relu](ModelSpec* m) {
         m->tasks[1].tower.layers[0] = MakeDense("tasks.1.0", 3, 1, relu, std::nullopt);
       },
       {"tasks[1].tower.layers[0] (tasks.1.0)", "reads 3 features but its input has 2"}},
      {"input quantization differing from its producer's",
       [](ModelSpec* m) { ExpertLayer(m, 1, 1).input.scale = 1.0f / 8; },
       {"experts[1].layers[1] (experts.1.1)", "input quantization differs"}},
      {"experts of different widths",
       [relu](ModelSpec* m) {
         ExpertLayer(m, 1, 1) = MakeDense("experts.1.1", 4, 3, relu, relu, fb::Activation::RELU);
       },
       {"experts[1]", "output width or element type differs"}},
      {"tower not ending in 1 output",
       [relu](ModelSpec* m) {
         m->tasks[0].tower.layers[1] = MakeDense("tasks.0.1", 3, 2, relu, std::nullopt);
       },
       {"tasks[0] (click)", "tower ends with 2 outputs, expected 1"}},
      {"expert ending in an accumulator",
       [](ModelSpec* m) {
         ExpertLayer(m, 0, 1).output_kind = fb::OutputKind::ACCUMULATOR;
         ExpertLayer(m, 0, 1).activation = fb::Activation::NONE;
       },
       {"experts[0].layers[1] (experts.0.1)", "output must be requantized"}},
      {"gate logits requantized",
       [relu](ModelSpec* m) { m->gates[0].mlp.layers[0] = MakeDense("gates.0.0", 3, 2, m->input, relu); },
       {"gates[0].layers[0] (gates.0.0)", "output must be the accumulator"}},
      {"accumulator layer with an activation",
       [](ModelSpec* m) { m->gates[0].mlp.layers[0].activation = fb::Activation::RELU; },
       {"gates[0].layers[0] (gates.0.0)", "accumulator-output layer cannot have an activation"}},
      {"requantized layer without output quantization",
       [](ModelSpec* m) { ExpertLayer(m, 1, 0).output.reset(); },
       {"experts[1].layers[0] (experts.1.0)", "output quantization is missing"}},
      {"unknown activation",
       [](ModelSpec* m) { ExpertLayer(m, 0, 0).activation = static_cast<fb::Activation>(7); },
       {"experts[0].layers[0] (experts.0.0)", "unknown activation 7"}},
      {"unknown output kind",
       [](ModelSpec* m) { ExpertLayer(m, 0, 0).output_kind = static_cast<fb::OutputKind>(9); },
       {"experts[0].layers[0] (experts.0.0)", "unknown output kind 9"}},
      {"unknown task output",
       [](ModelSpec* m) { m->tasks[1].output = static_cast<fb::TaskOutput>(5); },
       {"tasks[1] (dwell)", "unknown output 5"}},
      {"task gate out of range",
       [](ModelSpec* m) { m->tasks[0].gate = 1; },
       {"tasks[0] (click)", "gate 1 is out of range (1 gates)"}},
      {"negative task gate",
       [](ModelSpec* m) { m->tasks[0].gate = -2; },
       {"tasks[0] (click)", "gate -2 is out of range"}},
      {"Shared-Bottom expert out of range",
       [](ModelSpec* m) { m->tasks[1].expert = 2; },
       {"tasks[1] (dwell)", "no gate and expert 2 is out of range"}},
      {"no experts", [](ModelSpec* m) { m->experts.clear(); }, {"model", "0 experts"}},
      {"no tasks", [](ModelSpec* m) { m->tasks.clear(); }, {"model", "0 tasks"}},
      {"layers declaring more outputs than the file has biases for (fuzz_model's first finding)",
       [](ModelSpec* m) { ExpertLayer(m, 0, 1).out = ExpertLayer(m, 1, 1).out = 1u << 30; },
       {"experts[0].layers[1] (experts.0.1)", "width 1073741824 is 0 or above 65536"}},
      {"an MLP without layers",
       [](ModelSpec* m) { m->gates[0].mlp.layers.clear(); },
       {"gates[0]", "has 0 layers"}},
      {"input_dim 0", [](ModelSpec* m) { m->input_dim = 0; }, {"model", "input_dim 0"}},
      {"feature names for another width",
       [](ModelSpec* m) {
         m->feature_names = {"a", "b"};
       },
       {"model", "2 feature names for 3 inputs"}},
      {"a weight of -128",
       [](ModelSpec* m) { ExpertLayer(m, 0, 0).weights[5] = -128; },
       {"experts[0].layers[0] (experts.0.0)", "weight 5 is -128"}},
      {"an accumulator that can overflow int32",
       [](ModelSpec* m) { ExpertLayer(m, 1, 0).bias[2] = std::numeric_limits<int32_t>::max() - 1000; },
       {"experts[1].layers[0] (experts.1.0)", "output 2 can overflow its int32 accumulator"}},
      {"a bias that overflows only once the input zero point is folded in",
       BiasOverflowingWhenFolded,
       {"experts[0].layers[0] (experts.0.0)", "output 0 can overflow"}},
      {"mix_scales of the wrong length",
       [](ModelSpec* m) { m->tasks[0].mix_scales = {1.0f}; },
       {"tasks[0] (click)", "1 mix scales for 2 mixed experts"}},
      {"Shared-Bottom task with two mix scales",
       [](ModelSpec* m) {
         m->tasks[1].mix_scales = {1.0f, 1.0f};
       },
       {"tasks[1] (dwell)", "2 mix scales for 1 mixed experts"}},
      {"zero mix scale",
       [](ModelSpec* m) { m->tasks[0].mix_scales[1] = 0.0f; },
       {"tasks[0] (click)", "mix scale 1 is 0"}},
      {"huge mix scale",
       [](ModelSpec* m) { m->tasks[0].mix_scales[0] = 1e20f; },
       {"tasks[0] (click)", "mix scale 0 is 1e+20"}},
      {"tower input with a bad zero point",
       [](ModelSpec* m) { m->tasks[1].tower.layers[0].input.zero_point = -129; },
       {"tasks[1]", "tower input int8 zero point -129"}},
  };
}

TEST_CASE("well-formed files breaking an invariant are refused with INVALID_MODEL naming the part") {
  for (const Violation& v : Violations()) {
    INFO(std::string(v.what));
    ModelSpec spec = testing::MinimalModelSpec();
    v.tweak(&spec);
    const Loaded l = LoadExact(testing::BuildModel(spec));
    CheckRefused(l.status, StatusCode::kInvalidModel, {});
    for (const char* f : v.fragments) {
      INFO(std::string(f));
      CHECK_MESSAGE(std::string(l.status.message()).find(f) != std::string::npos,
                    std::string(l.status.message()));
    }
  }
}

// --- Format 2: the graph ---------------------------------------------------------------------

using testing::GraphModelSpec;

TEST_CASE("the minimal graph model (every node kind) loads and scores") {
  const Loaded l = LoadExact(testing::BuildGraphModel(testing::MinimalGraphSpec()));
  REQUIRE_MESSAGE(l.status.ok(), l.status.message());
  CHECK(l.model->format_version_major() == 2);
  CHECK(l.model->input_dim() == 3);
  REQUIRE(l.model->num_tasks() == 3);
  CHECK(std::string(l.model->task_name(2)) == "dwell");
  CHECK(graph::CountOps(l.model->data().graph) ==
        "7 dense, 2 activation, 1 softmax, 1 mixture, 2 sigmoid, 1 product");
  ScoreAndCheck(l.model, {0.5f, -1.0f, 2.0f, 0.0f, 0.25f, 1.0f, 3.0f, 3.0f, -3.0f}, 3);
}

TEST_CASE("a file requiring a feature this runtime lacks is refused with UNSUPPORTED_FEATURE naming it") {
  GraphModelSpec spec = testing::MinimalGraphSpec();
  spec.required_features.push_back("embedding_bag");
  CheckRefused(LoadExact(testing::BuildGraphModel(spec)).status, StatusCode::kUnsupportedFeature,
               {"model requires feature 'embedding_bag'", "format 2.3", "newer runtime"});
  // A newer minor version that needs nothing new loads.
  spec = testing::MinimalGraphSpec();
  spec.version_minor = 7;
  const Loaded l = LoadExact(testing::BuildGraphModel(spec));
  CHECK_MESSAGE(l.status.ok(), l.status.message());
  // A node kind from the future that a file does not declare is still refused, by kind.
  spec.nodes[5].kind = static_cast<fb::NodeParams>(9);
  CheckRefused(LoadExact(testing::BuildGraphModel(spec)).status, StatusCode::kInvalidModel,
               {"nodes[5] (gates.0)", "unknown node kind 9"});
}

struct GraphViolation {
  const char* what;
  std::function<void(GraphModelSpec*)> tweak;
  std::vector<const char*> fragments;
};

std::vector<GraphViolation> GraphViolations() {
  return {
      {"a node reading a tensor computed later",
       [](GraphModelSpec* m) { m->Node("experts.0.0").inputs = {m->Tensor("mix")}; },
       {"node 0 (experts.0.0 dense)", "before any node computes it"}},
      {"a node reading a tensor that does not exist",
       [](GraphModelSpec* m) { m->Node("gates.0").inputs = {999}; },
       {"node 5 (gates.0 softmax)", "reads tensor 999 of 15"}},
      {"two nodes writing one tensor",
       [](GraphModelSpec* m) { m->Node("experts.1.0").output = m->Tensor("experts.0.1"); },
       {"node 3 (experts.1.0 dense)", "already computed"}},
      {"a gated mixture without experts",
       [](GraphModelSpec* m) { m->Node("mix").inputs.resize(1); },
       {"node 6 (mix mixture)", "has 1 inputs, expected at least 2"}},
      {"an output nothing computes",
       [](GraphModelSpec* m) { m->outputs[1].tensor = 40; },
       {"output 1 ('ctcvr')", "which no node computes"}},
      {"two outputs of one tensor",
       [](GraphModelSpec* m) { m->outputs[1].tensor = m->Tensor("click"); },
       {"output 1 ('ctcvr')", "an earlier output reports too"}},
      {"no input", [](GraphModelSpec* m) { m->inputs.clear(); }, {"0 inputs"}},
      {"an int16 input with a zero point (format 2.3: int16 inputs are symmetric)",
       [](GraphModelSpec* m) {
         m->tensors[0] = testing::TensorSpec{"x", 3, fb::ElementType::INT16, 0.01f, 5};
       },
       {"tensors[0] (x)", "int16 zero point 5 must be 0"}},
      {"feature names for another width",
       [](GraphModelSpec* m) { m->inputs[0].feature_names = {"a"}; },
       {"1 feature names for 3 features"}},
      {"a tensor of width 0",
       [](GraphModelSpec* m) { m->tensors[m->Tensor("mix")].width = 0; },
       {"tensors[7] (mix)", "width 0"}},
      {"an unknown element type",
       [](GraphModelSpec* m) { m->tensors[1].type = static_cast<fb::ElementType>(7); },
       {"tensors[1] (experts.0.0)", "unknown element type 7"}},
      {"an int16 zero point",
       [](GraphModelSpec* m) { m->tensors[m->Tensor("mix")].zero_point = 3; },
       {"tensors[7] (mix)", "int16 zero point 3 must be 0"}},
      {"a zero scale",
       [](GraphModelSpec* m) { m->tensors[m->Tensor("experts.0.act")].scale = 0.0f; },
       {"tensors[2] (experts.0.act)", "scale 0"}},
      {"a dense layer reading a float tensor",
       [](GraphModelSpec* m) { m->Node("tasks.0.0").inputs = {m->Tensor("gates.0")}; },
       {"nodes[7] (tasks.0.0)", "reads 'gates.0', a float32 tensor"}},
      {"a dense layer's width against its tensors",
       [](GraphModelSpec* m) { m->Node("experts.1.0").inputs = {m->Tensor("experts.0.0")}; },
       {"nodes[3] (experts.1.0)", "reads 3 features but its input has 4"}},
      {"weights of the wrong length",
       [](GraphModelSpec* m) { m->Node("experts.0.1").dense.weights.pop_back(); },
       {"nodes[2] (experts.0.1)", "weights has 7 values, expected 8"}},
      {"an accumulator output with a ReLU",
       [](GraphModelSpec* m) { m->Node("gates.0.0").dense.activation = fb::Activation::RELU; },
       {"nodes[4] (gates.0.0)", "cannot have an activation"}},
      {"an output kind against the output tensor",
       [](GraphModelSpec* m) { m->Node("gates.0.0").dense.output_kind = fb::OutputKind::REQUANTIZED; },
       {"nodes[4] (gates.0.0)", "output kind 0 does not match its float32 output tensor"}},
      {"an int8 table one entry short",
       [](GraphModelSpec* m) { m->Node("experts.0.act").table8.pop_back(); },
       {"nodes[1] (experts.0.act)", "int8 tables hold 255 entries; expected 256 (one table) or 1024"}},
      {"an int16 tensor with an int8 table",
       [](GraphModelSpec* m) {
         NodeSpec& n = m->Node("tasks.1.act");
         n.table8.assign(256, 0);
       },
       {"nodes[10] (tasks.1.act)", "and no int8 table"}},
      {"an activation changing the type",
       [](GraphModelSpec* m) {
         m->tensors[m->Tensor("experts.0.act")].type = fb::ElementType::INT16;
         m->tensors[m->Tensor("experts.0.act")].zero_point = 0;
       },
       {"nodes[1] (experts.0.act)",
        "an activation maps a quantized tensor to one of the same type and width"}},
      {"a softmax of an int8 tensor",
       [](GraphModelSpec* m) { m->Node("gates.0").inputs = {m->Tensor("experts.0.0")}; },
       {"nodes[5] (gates.0)", "a softmax reads and writes float32 tensors of one width"}},
      {"mixture probabilities of another width",
       [](GraphModelSpec* m) { m->Node("mix").inputs.pop_back(); },
       {"nodes[6] (mix)", "expected float32, one per mixed tensor (1)"}},
      {"a mixture of tensors of two types",
       [](GraphModelSpec* m) { m->Node("mix").inputs[2] = m->Tensor("gates.0.0"); },
       {"nodes[6] (mix)", "every mixed tensor must be quantized with one type"}},
      {"a mixture mixing the input",
       [](GraphModelSpec* m) {
         m->tensors[m->Tensor("mix")].width = 3;
         m->tensors[m->Tensor("mix")].type = fb::ElementType::INT8;
         m->Node("mix").inputs = {m->Tensor("x")};
         m->Node("mix").gated = false;
         m->Node("mix").scales = {1.0f};
       },
       {"nodes[6] (mix)", "mixes the model's input"}},
      {"mix scales of the wrong length",
       [](GraphModelSpec* m) { m->Node("mix").scales.push_back(1.0f); },
       {"nodes[6] (mix)", "3 mix scales for 2 mixed experts"}},
      {"a huge mix scale",
       [](GraphModelSpec* m) { m->Node("mix").scales[1] = 1e20f; },
       {"nodes[6] (mix)", "mix scale 1 is 1e+20"}},
      {"a sigmoid of an int16 tensor",
       [](GraphModelSpec* m) { m->Node("click").inputs = {m->Tensor("mix")}; },
       {"nodes[8] (click)", "a sigmoid reads and writes float32 tensors"}},
      {"a product of widths 1 and 2",
       [](GraphModelSpec* m) { m->Node("ctcvr").inputs[1] = m->Tensor("gates.0"); },
       {"nodes[13] (ctcvr)", "a product reads and writes float32 tensors of one width"}},
      {"mixture probabilities that are not a softmax's",
       [](GraphModelSpec* m) { m->Node("mix").inputs[0] = m->Tensor("gates.0.0"); },
       {"nodes[6] (mix)", "its probabilities 'gates.0.0' are not a softmax's output"}},
      {"a product of logits (it could overflow)",
       [](GraphModelSpec* m) { m->Node("ctcvr").inputs[1] = m->Tensor("dwell"); },
       {"nodes[13] (ctcvr)", "multiplies 'dwell', which is not a probability"}},
      {"an output of an int16 tensor",
       [](GraphModelSpec* m) { m->outputs[0].tensor = m->Tensor("mix"); },
       {"output 'click'", "a score is one computed float32"}},
  };
}

TEST_CASE("graph files breaking an invariant are refused with INVALID_MODEL naming the part") {
  for (const GraphViolation& v : GraphViolations()) {
    INFO(std::string(v.what));
    GraphModelSpec spec = testing::MinimalGraphSpec();
    v.tweak(&spec);
    const Loaded l = LoadExact(testing::BuildGraphModel(spec));
    CheckRefused(l.status, StatusCode::kInvalidModel, {});
    for (const char* f : v.fragments) {
      INFO(std::string(f));
      CHECK_MESSAGE(std::string(l.status.message()).find(f) != std::string::npos,
                    std::string(l.status.message()));
    }
  }
}

// --- Files ---------------------------------------------------------------------------------

// A fresh directory under the system's temporary directory, removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "mmoe-files-XXXXXX").string();
    REQUIRE(mkdtemp(templ.data()) != nullptr);
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

void WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

TEST_CASE("LoadFile: missing files, directories and broken files say which path") {
  TempDir dir;
  std::shared_ptr<const Model> model;
  const std::string missing = dir / "no-such-model.mmoe";
  CheckRefused(Model::LoadFile(missing.c_str(), &model), StatusCode::kIoError,
               {missing.c_str(), "cannot open"});
  CheckRefused(Model::LoadFile(dir.path().c_str(), &model), StatusCode::kIoError,
               {dir.path().c_str(), "not a regular file"});
  // Issue 18: errno left over from an earlier failure was appended ("...: No such file or
  // directory"); nothing failed with an errno here.
  errno = ENOENT;
  const Status directory = Model::LoadFile(dir.path().c_str(), &model);
  CHECK(directory.message() == "model '" + dir.path() + "' is not a regular file");
  // A FIFO without a writer: opening it must not block the caller forever.
  const std::string fifo = dir / "fifo.mmoe";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  CheckRefused(Model::LoadFile(fifo.c_str(), &model), StatusCode::kIoError,
               {fifo.c_str(), "not a regular file"});

  const std::string tiny = dir / "tiny.mmoe";
  WriteFile(tiny, {'M', 'M', 'O'});
  CheckRefused(Model::LoadFile(tiny.c_str(), &model), StatusCode::kNotAModel, {tiny.c_str()});

  ModelSpec spec = testing::MinimalModelSpec();
  spec.gates[0].experts = {0, 9};
  const std::string invalid = dir / "invalid.mmoe";
  WriteFile(invalid, testing::BuildModel(spec));
  CheckRefused(Model::LoadFile(invalid.c_str(), &model), StatusCode::kInvalidModel,
               {invalid.c_str(), "gates[0]: expert index 9 is out of range"});

  std::vector<uint8_t> truncated = testing::SeedModelBytes();
  truncated.resize(truncated.size() / 2);
  const std::string corrupt = dir / "truncated.mmoe";
  WriteFile(corrupt, truncated);
  CheckRefused(Model::LoadFile(corrupt.c_str(), &model), StatusCode::kChecksumMismatch,
               {corrupt.c_str(), "has none"});
  // Without the checksum, the FlatBuffers verifier catches the same file.
  CheckRefused(Model::LoadFile(corrupt.c_str(), WithoutChecksum(), &model), StatusCode::kCorruptModel,
               {corrupt.c_str(), "corrupt"});
  CHECK(model == nullptr);

  CHECK(Model::LoadFile(nullptr, &model).code() == StatusCode::kInvalidArgument);
  CHECK(Model::LoadFile(missing.c_str(), nullptr).code() == StatusCode::kInvalidArgument);

  const std::string good = dir / "seed.mmoe";
  WriteFile(good, testing::SeedModelBytes());
  const Status s = Model::LoadFile(good.c_str(), &model);
  REQUIRE_MESSAGE(s.ok(), s.message());
  ScoreAndCheck(model, SeedRows(5), 5);
}

// --- Session misuse ------------------------------------------------------------------------

TEST_CASE("Session::Create refuses a null model and tile sizes outside [0, 4096]") {
  std::unique_ptr<Session> session;
  CHECK(Session::Create(nullptr, SessionOptions(), &session).code() == StatusCode::kInvalidArgument);
  CHECK(Session::Create(testing::SeedModel(), SessionOptions(), nullptr).code() ==
        StatusCode::kInvalidArgument);
  for (int tile : {-1, 4097, 100000}) {
    CAPTURE(tile);
    SessionOptions options;
    options.tile_items = tile;
    CheckRefused(Session::Create(testing::SeedModel(), options, &session), StatusCode::kInvalidArgument,
                 {"tile_items"});
    CHECK(session == nullptr);
  }
  SessionOptions options;
  options.backend = static_cast<Backend>(77);
  CHECK(Session::Create(testing::SeedModel(), options, &session).code() == StatusCode::kUnavailable);
}

TEST_CASE("Session::Score refuses null pointers, zero items and a short scores buffer") {
  const auto model = testing::SeedModel();
  std::unique_ptr<Session> session;
  REQUIRE(Session::Create(model, SessionOptions(), &session).ok());
  const size_t n = 3, tasks = static_cast<size_t>(model->num_tasks());
  const std::vector<float> x = SeedRows(n);
  std::vector<float> scores(n * tasks, -1.0f);

  CheckRefused(session->Score(nullptr, n, scores.data(), scores.size()), StatusCode::kInvalidArgument,
               {"null"});
  CheckRefused(session->Score(x.data(), n, nullptr, scores.size()), StatusCode::kInvalidArgument, {"null"});
  CheckRefused(session->Score(x.data(), 0, scores.data(), scores.size()), StatusCode::kInvalidArgument,
               {"n_items is 0"});
  CheckRefused(session->Score(x.data(), n, scores.data(), scores.size() - 1), StatusCode::kBufferTooSmall,
               {"5 floats", "need 6"});
  CheckRefused(session->Score(x.data(), SIZE_MAX / 2, scores.data(), scores.size()),
               StatusCode::kInvalidArgument, {"too large"});
  // Refusals write nothing.
  for (float s : scores) CHECK(s == -1.0f);

  std::vector<int8_t> q(n * model->input_dim());
  CheckRefused(session->QuantizeInput(x.data(), n, q.data(), q.size() - 1), StatusCode::kBufferTooSmall, {});
  REQUIRE(session->QuantizeInput(x.data(), n, q.data(), q.size()).ok());
  CheckRefused(session->ScoreQuantized(nullptr, n, scores.data(), scores.size()),
               StatusCode::kInvalidArgument, {});
  CheckRefused(session->ScoreQuantized(q.data(), n, scores.data(), 1), StatusCode::kBufferTooSmall, {});

  // The session still works after being misused, and both entry points agree.
  REQUIRE(session->Score(x.data(), n, scores.data(), scores.size()).ok());
  std::vector<float> from_quantized(scores.size());
  REQUIRE(session->ScoreQuantized(q.data(), n, from_quantized.data(), from_quantized.size()).ok());
  CHECK(std::memcmp(scores.data(), from_quantized.data(), scores.size() * sizeof(float)) == 0);
}

}  // namespace
}  // namespace mmoe
