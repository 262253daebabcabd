// Sparse features (format 2.1): embedding tables in segments after the FlatBuffer, ids and bag
// inputs, embedding and concat nodes, the Score(InputView) API and what it refuses.
#include <doctest/doctest.h>

#include <cfenv>
#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "mmoe/converter/convert.h"
#include "mmoe/converter/evaluate.h"
#include "mmoe/converter/float_reference.h"
#include "mmoe/converter/inputs.h"
#include "mmoe/mmoe.h"
#include "mmoe/mmoe_c.h"
#include "model_data.h"
#include "plan/executor.h"
#include "support/fixtures.h"
#include "support/model_builder.h"
#include "support/random_model.h"

namespace mmoe {
namespace {

using testing::GraphModelSpec;
using testing::NodeSpec;

struct Loaded {
  std::vector<uint8_t> bytes;  // kept alive: the model borrows them
  Status status;
  std::shared_ptr<const Model> model;
};

Loaded Load(const GraphModelSpec& spec, const LoadOptions& options = LoadOptions()) {
  Loaded l;
  l.bytes = testing::BuildGraphModel(spec);
  l.status = Model::LoadBuffer(l.bytes.data(), l.bytes.size(), /*copy=*/false, options, &l.model);
  return l;
}

// testing::CheckRefused, reporting the line of the call.
#define CheckRefused(...)               \
  do {                                  \
    INFO("line " << __LINE__);          \
    testing::CheckRefused(__VA_ARGS__); \
  } while (0)

// A batch of items for SparseGraphSpec(): user ids in [0, 10), bags of 0 to 4 tags in [0, 6)
// (0 is padding), two floats.
struct Batch {
  std::vector<int64_t> user;
  std::vector<int32_t> tags;
  std::vector<int64_t> offsets{0};
  std::vector<float> age;

  explicit Batch(size_t n, uint32_t seed = 1) {
    uint32_t s = seed;
    const auto next = [&s] {
      s = s * 1664525u + 1013904223u;
      return s >> 8;
    };
    for (size_t i = 0; i < n; ++i) {
      user.push_back(next() % 10);
      const uint32_t len = next() % 5;
      for (uint32_t j = 0; j < len; ++j) tags.push_back(static_cast<int32_t>(next() % 6));
      offsets.push_back(static_cast<int64_t>(tags.size()));
      age.push_back(static_cast<float>(next() % 100));
      age.push_back(static_cast<float>(next() % 1000) / 100.0f - 2.0f);
    }
  }
  size_t n() const { return user.size(); }
  std::vector<InputView> Views() const {
    std::vector<InputView> v(3);
    v[0].data = user.data();
    v[0].type = DataType::kInt64;
    v[0].size = user.size();
    v[1].data = tags.data();
    v[1].type = DataType::kInt32;
    v[1].size = tags.size();
    v[1].offsets = offsets.data();
    v[2].data = age.data();
    v[2].size = age.size();
    return v;
  }
};

std::vector<float> ScoreWith(const std::shared_ptr<const Model>& model, const std::vector<InputView>& views,
                             size_t n, const SessionOptions& options = SessionOptions()) {
  std::unique_ptr<Session> session;
  const Status created = Session::Create(model, options, &session);
  REQUIRE_MESSAGE(created.ok(), created.message());
  std::vector<float> scores(n * static_cast<size_t>(model->num_tasks()));
  const Status s = session->Score(views.data(), views.size(), n, scores.data(), scores.size());
  REQUIRE_MESSAGE(s.ok(), s.message());
  return scores;
}

// Keeps a copy of every tensor the reference executor computes, by name.
class Recorder : public TensorObserver {
 public:
  explicit Recorder(const ModelData& m) : m_(m) {}
  void Observe(int32_t tensor, const void* data, size_t batch, size_t stride) override {
    const graph::Tensor& t = m_.graph.tensors[static_cast<size_t>(tensor)];
    const size_t element =
        t.type == graph::TensorType::kInt8 ? 1 : (t.type == graph::TensorType::kInt16 ? 2 : 4);
    std::vector<uint8_t>& out = values[t.name];
    for (size_t i = 0; i < batch; ++i) {
      const auto* row = static_cast<const uint8_t*>(data) + i * stride * element;
      out.insert(out.end(), row, row + static_cast<size_t>(t.width) * element);
    }
  }
  std::vector<float> Floats(const std::string& name) const {
    const std::vector<uint8_t>& b = values.at(name);
    std::vector<float> f(b.size() / 4);
    std::memcpy(f.data(), b.data(), b.size());
    return f;
  }
  std::map<std::string, std::vector<uint8_t>> values;

 private:
  const ModelData& m_;
};

int8_t Quantize(float v, float scale, int32_t zp) {
  const float inv = 1.0f / scale;
  float q = v * inv;
  q = std::fmax(-128.0f - zp, std::fmin(127.0f - zp, q));
  return static_cast<int8_t>(static_cast<int32_t>(std::nearbyint(q)) + zp);  // ties to even
}

TEST_CASE("sparse: embeddings and the concat compute what docs/numerics.md says") {
  REQUIRE(std::fegetround() == FE_TONEAREST);
  const GraphModelSpec spec = testing::SparseGraphSpec();
  const Loaded l = Load(spec);
  REQUIRE_MESSAGE(l.status.ok(), l.status.message());
  const Batch batch(40);
  const std::vector<InputView> views = batch.Views();
  Recorder recorder(l.model->data());
  std::unique_ptr<Executor> exec;
  REQUIRE(CreateReferenceExecutor(l.model->data(), batch.n(), &exec, &recorder).ok());
  std::vector<float> scores(batch.n());
  TileInputs in;
  in.views = views.data();
  exec->ScoreTile(in, batch.n(), scores.data());

  const std::vector<float> user = recorder.Floats("user.emb"), tags = recorder.Floats("tags.emb");
  const std::vector<uint8_t>& x = recorder.values.at("x");
  size_t bags_with_padding = 0, empty_bags = 0;
  for (size_t i = 0; i < batch.n(); ++i) {
    INFO("item " << i);
    const std::vector<float> u = testing::TableRow(spec.tables[0], static_cast<uint64_t>(batch.user[i]));
    for (int c = 0; c < 3; ++c) CHECK(user[i * 3 + c] == u[c]);
    // The mean of the bag's rows, padding (0) skipped, summed in order from zero.
    float sum[2] = {0.0f, 0.0f};
    int count = 0;
    for (int64_t j = batch.offsets[i]; j < batch.offsets[i + 1]; ++j) {
      const int32_t id = batch.tags[static_cast<size_t>(j)];
      if (id == 0) {
        ++bags_with_padding;
        continue;
      }
      const std::vector<float> r = testing::TableRow(spec.tables[1], static_cast<uint64_t>(id));
      for (int c = 0; c < 2; ++c) sum[c] = sum[c] + r[c];
      ++count;
    }
    if (count == 0) ++empty_bags;
    for (int c = 0; c < 2; ++c)
      CHECK(tags[i * 2 + c] == (count ? sum[c] / static_cast<float>(count)
                                      : 0.0f));  // Each column quantized with its own scale and zero point.
    const NodeSpec& concat = spec.nodes[2];
    const float values[7] = {
        u[0], u[1], u[2], tags[i * 2], tags[i * 2 + 1], batch.age[i * 2], batch.age[i * 2 + 1]};
    for (int c = 0; c < 7; ++c) {
      CHECK(static_cast<int8_t>(x[i * 7 + c]) ==
            Quantize(values[c], concat.concat_scales[c], concat.concat_zero_points[c]));
    }
  }
  CHECK(bags_with_padding > 0);  // the batch exercises padding and empty bags
  CHECK(empty_bags > 0);
}

TEST_CASE("sparse: every backend, ISA and tile gives the reference bytes") {
  const Loaded l = Load(testing::SparseGraphSpec());
  REQUIRE_MESSAGE(l.status.ok(), l.status.message());
  const Batch batch(301, 7);
  SessionOptions reference;
  reference.backend = Backend::kReference;
  const std::vector<float> expected = ScoreWith(l.model, batch.Views(), batch.n(), reference);
  std::vector<std::pair<Backend, const char*>> variants;
  for (const char* const* isa = SimdIsaNames(); *isa; ++isa) variants.push_back({Backend::kSimd, *isa});
  if (BackendAvailable(Backend::kXnnpack)) variants.push_back({Backend::kXnnpack, nullptr});
  for (const auto& [backend, isa] : variants) {
    for (int tile : {0, 1, 7, 64}) {
      for (int threads : {1, 3}) {
        SessionOptions options;
        options.backend = backend;
        options.isa = isa;
        options.tile_items = tile;
        options.threads = threads;
        INFO(BackendName(backend) << " " << (isa ? isa : "") << " tile " << tile << " threads " << threads);
        const std::vector<float> got = ScoreWith(l.model, batch.Views(), batch.n(), options);
        CHECK(std::memcmp(got.data(), expected.data(), got.size() * sizeof(float)) == 0);
      }
    }
  }
  // The scores are not all alike: the features reach them.
  float lo = expected[0], hi = expected[0];
  for (float v : expected) lo = std::fmin(lo, v), hi = std::fmax(hi, v);
  CHECK(hi - lo > 0.01f);
}

TEST_CASE("sparse: inputs by name in any order, int32 or int64 ids, give the same bytes") {
  const Loaded l = Load(testing::SparseGraphSpec());
  REQUIRE_MESSAGE(l.status.ok(), l.status.message());
  const Batch batch(50, 3);
  const std::vector<float> by_position = ScoreWith(l.model, batch.Views(), batch.n());
  std::vector<InputView> named = batch.Views();
  named[0].name = "user";
  named[1].name = "tags";
  named[2].name = "age";
  std::swap(named[0], named[2]);
  CHECK(ScoreWith(l.model, named, batch.n()) == by_position);
  std::vector<int32_t> user32(batch.user.begin(), batch.user.end());
  std::vector<InputView> views = batch.Views();
  views[0].data = user32.data();
  views[0].type = DataType::kInt32;
  CHECK(ScoreWith(l.model, views, batch.n()) == by_position);

  const Model& m = *l.model;
  REQUIRE(m.num_inputs() == 3);
  CHECK(std::string(m.input(0).name) == "user");
  CHECK(m.input(0).kind == InputKind::kIds);
  CHECK(m.input(0).rows == 10);
  CHECK(m.input(1).kind == InputKind::kBag);
  CHECK(m.input(1).rows == 6);
  CHECK(m.input(2).kind == InputKind::kDense);
  CHECK(m.input(2).width == 2);
  CHECK(m.input(3).name == nullptr);
  CHECK(m.input_index("tags") == 1);
  CHECK(m.input_index("nope") == -1);
  CHECK(m.input_dim() == 0);
  CHECK(m.format_version_minor() == 1);
}

TEST_CASE("sparse: Score refuses bad ids, sizes, types, offsets and names, naming the input and item") {
  const Loaded l = Load(testing::SparseGraphSpec());
  REQUIRE_MESSAGE(l.status.ok(), l.status.message());
  std::unique_ptr<Session> session;
  REQUIRE(Session::Create(l.model, SessionOptions(), &session).ok());
  const size_t n = 6;
  std::vector<float> scores(n, -7.0f);
  const auto refused = [&](const Batch& b, auto mutate, StatusCode code,
                           std::initializer_list<const char*> fragments) {
    std::vector<InputView> v = b.Views();
    size_t count = v.size(), items = b.n();
    mutate(v, count, items);
    CheckRefused(session->Score(v.data(), count, items, scores.data(), scores.size()), code, fragments);
    for (float s : scores) CHECK(s == -7.0f);  // nothing scored
  };
  const StatusCode bad = StatusCode::kInvalidArgument;
  Batch b(n);
  b.user[3] = 10;
  refused(b, [](auto&, size_t&, size_t&) {}, bad, {"item 3", "input 'user'", "id 10", "10 rows"});
  b = Batch(n);
  b.user[0] = -1;
  refused(b, [](auto&, size_t&, size_t&) {}, bad, {"item 0", "id -1"});
  b = Batch(n);
  b.tags.back() = 6;  // in the last non-empty bag
  size_t last = n - 1;
  while (b.offsets[last] == b.offsets[last + 1]) --last;
  refused(b, [](auto&, size_t&, size_t&) {}, bad,
          {("item " + std::to_string(last)).c_str(), "input 'tags'", "id 6", "6 rows"});
  b = Batch(n);
  refused(b, [](auto& v, size_t&, size_t&) { v[2].size -= 1; }, bad, {"input 'age'", "6 items x 2 features"});
  refused(b, [](auto& v, size_t&, size_t&) { v[2].type = DataType::kInt32; }, bad,
          {"'age' takes float32", "int32"});
  refused(b, [](auto& v, size_t&, size_t&) { v[0].type = DataType::kFloat32; }, bad,
          {"'user' takes int32 or int64"});
  refused(b, [](auto& v, size_t&, size_t&) { v[0].size = 5; }, bad, {"'user' has 5 ids for 6 items"});
  refused(b, [](auto& v, size_t&, size_t&) { v[1].offsets = nullptr; }, bad, {"'tags' is a bag", "offsets"});
  refused(b, [](auto& v, size_t&, size_t&) { v[0].offsets = v[1].offsets; }, bad,
          {"'user' is ids", "no offsets"});
  std::vector<int64_t> backwards = b.offsets;
  backwards[2] = backwards[3] + 1;
  backwards[3] = backwards[3] + 1 > backwards[4] ? backwards[4] : backwards[3];
  refused(b, [&](auto& v, size_t&, size_t&) { v[1].offsets = backwards.data(); }, bad, {"'tags': offsets["});
  std::vector<int64_t> short_offsets = b.offsets;
  short_offsets.back() -= 1;
  refused(b, [&](auto& v, size_t&, size_t&) { v[1].offsets = short_offsets.data(); }, bad,
          {"offsets run from 0 to"});
  refused(b, [](auto&, size_t& count, size_t&) { count = 2; }, bad, {"2 inputs given; the model takes 3"});
  refused(b, [](auto& v, size_t&, size_t&) { v[0].name = "user"; }, bad, {"name all of them or none"});
  refused(b, [](auto& v, size_t&, size_t&) { v[0].name = "usr", v[1].name = "tags", v[2].name = "age"; }, bad,
          {"no input named 'usr'"});
  refused(b, [](auto& v, size_t&, size_t&) { v[0].name = "age", v[1].name = "tags", v[2].name = "age"; }, bad,
          {"input 'age' is given twice"});
  refused(b, [](auto&, size_t&, size_t& items) { items = 0; }, bad, {"n_items is 0"});
  // The one-array calls name what the model needs instead.
  CheckRefused(session->Score(b.age.data(), n, scores.data(), scores.size()), bad,
               {"model has 3 inputs", "'user' is ids", "one InputView per input"});
  std::vector<int8_t> q(n * 7);
  CheckRefused(session->ScoreQuantized(q.data(), n, scores.data(), scores.size()), bad, {"3 inputs"});
  // Padding ids are skipped wherever they point, so a model with padding -1 takes them.
}

TEST_CASE("sparse: a default row answers ids outside the table, and padding ids need not be rows") {
  GraphModelSpec spec = testing::SparseGraphSpec();
  NodeSpec& user = spec.Node("user.emb");
  user.bad_id = fb::BadId::DEFAULT_ROW;
  user.default_row = {0.25f, -0.5f, 0.125f};
  NodeSpec& tags = spec.Node("tags.emb");
  tags.padding_id = -1;  // as torch-rechub without padding_idx: nothing is padding in practice
  const Loaded l = Load(spec);
  REQUIRE_MESSAGE(l.status.ok(), l.status.message());
  Batch b(20, 5);
  b.user[2] = 1000;
  b.user[5] = -3;
  b.tags[0] = -1;
  const std::vector<InputView> views = b.Views();
  Recorder recorder(l.model->data());
  std::unique_ptr<Executor> exec;
  REQUIRE(CreateReferenceExecutor(l.model->data(), b.n(), &exec, &recorder).ok());
  std::vector<float> scores(b.n());
  TileInputs in;
  in.views = views.data();
  exec->ScoreTile(in, b.n(), scores.data());
  const std::vector<float> emb = recorder.Floats("user.emb");
  for (size_t i : {size_t{2}, size_t{5}}) {
    for (int c = 0; c < 3; ++c) CHECK(emb[i * 3 + c] == user.default_row[c]);
  }
  CHECK(l.model->input(0).rows == 10);
  // Session::Score takes them, and every backend agrees.
  SessionOptions reference;
  reference.backend = Backend::kReference;
  CHECK(ScoreWith(l.model, views, b.n(), reference) == scores);
  CHECK(ScoreWith(l.model, views, b.n()) == scores);
}

TEST_CASE("sparse: tables live in segments the loader bounds, and checks only when asked") {
  const GraphModelSpec spec = testing::SparseGraphSpec();
  std::vector<uint8_t> file = testing::BuildGraphModel(spec);
  // The trailer covers the whole file, segments included: a runtime that knows no segments
  // checks it, verifies the FlatBuffer and refuses the file by its required features.
  CHECK(Crc32c(file.data(), file.size() - kChecksumTrailerSize) ==
        (static_cast<uint32_t>(file[file.size() - 8]) | static_cast<uint32_t>(file[file.size() - 7]) << 8 |
         static_cast<uint32_t>(file[file.size() - 6]) << 16 |
         static_cast<uint32_t>(file[file.size() - 5]) << 24));
  CHECK(std::memcmp(file.data() + file.size() - kChecksumTrailerSize - 4, "MMSG", 4) == 0);
  const Loaded ok = Load(spec);
  REQUIRE_MESSAGE(ok.status.ok(), ok.status.message());
  const size_t table_bytes = spec.tables[0].data.size() + spec.tables[1].data.size();
  CHECK(ok.model->flatbuffer_size() < file.size() - table_bytes);

  // A damaged table byte: found with verify_tables, not read otherwise (the scores change, no
  // bounds do).
  std::vector<uint8_t> damaged = file;
  damaged[damaged.size() - kChecksumTrailerSize - kSegmentFooterSize - 3] ^=
      0x10;  // the last table's last row
  {
    std::shared_ptr<const Model> m;
    CHECK(Model::LoadBuffer(damaged.data(), damaged.size(), &m).ok());
    LoadOptions check;
    check.verify_tables = true;
    CheckRefused(Model::LoadBuffer(damaged.data(), damaged.size(), true, check, &m),
                 StatusCode::kChecksumMismatch, {"model checksum mismatch"});
  }
  // The FlatBuffer's own checksum is the footer's.
  std::vector<uint8_t> header = file;
  header[12] ^= 0x01;
  {
    std::shared_ptr<const Model> m;
    CheckRefused(Model::LoadBuffer(header.data(), header.size(), &m), StatusCode::kChecksumMismatch,
                 {"checksum mismatch"});
  }
  // verify_tables also checks each segment's own CRC (the trailer resealed over the damage).
  {
    std::vector<uint8_t> resealed = damaged;
    WriteChecksumTrailer(resealed.data(), resealed.size() - kChecksumTrailerSize,
                         resealed.data() + resealed.size() - kChecksumTrailerSize);
    std::shared_ptr<const Model> m;
    LoadOptions check;
    check.verify_tables = true;
    CheckRefused(Model::LoadBuffer(resealed.data(), resealed.size(), true, check, &m),
                 StatusCode::kChecksumMismatch, {"segments[1]", "damaged"});
  }

  GraphModelSpec s = spec;
  s.segment_footer = false;
  CheckRefused(Load(s).status, StatusCode::kInvalidModel, {"no segment footer"});
  s = spec;
  s.segments = {{0, spec.tables[0].data.size(), 0}, {64 * 1000, spec.tables[1].data.size(), 0}};
  CheckRefused(Load(s).status, StatusCode::kInvalidModel, {"segments[1]", "within the"});
  s.segments = {{0, spec.tables[0].data.size(), 0}, {65, spec.tables[1].data.size(), 0}};
  CheckRefused(Load(s).status, StatusCode::kInvalidModel, {"segments[1]", "aligned"});
  s = spec;
  s.tables[1].rows = 7;
  CheckRefused(Load(s).status, StatusCode::kInvalidModel, {"embedding_tables[1] (tags)", "7 rows of 2 need"});
  s = spec;
  s.tables[0].segment = 5;
  CheckRefused(Load(s).status, StatusCode::kInvalidModel, {"embedding_tables[0] (user): segment 5 of 2"});
  s = spec;
  s.required_features.pop_back();  // "concat"
  const Loaded unlisted = Load(s);
  CHECK(unlisted.status.ok());  // listing fewer features than used is the writer's loss, not a hazard
  s = spec;
  s.required_features.push_back("embedding_4bit");
  CheckRefused(Load(s).status, StatusCode::kUnsupportedFeature, {"embedding_4bit"});
}

struct Violation {
  const char* what;
  void (*tweak)(GraphModelSpec*);
  std::vector<const char*> fragments;
};

std::vector<Violation> SparseViolations() {
  return {
      {"ids read as dense",
       [](GraphModelSpec* s) { s->inputs[0].kind = fb::InputKind::DENSE; },
       {"inputs[0] ('user') is dense", "is id"}},
      {"an id tensor two wide",
       [](GraphModelSpec* s) { s->tensors[s->Tensor("user")].width = 2; },
       {"an id tensor is a sparse input's"}},
      {"ids pooled",
       [](GraphModelSpec* s) { s->Node("user.emb").pooling = fb::Pooling::SUM; },
       {"user.emb", "an ids input takes NONE"}},
      {"a bag not pooled",
       [](GraphModelSpec* s) { s->Node("tags.emb").pooling = fb::Pooling::NONE; },
       {"tags.emb", "a bag SUM or MEAN"}},
      {"a padding id for ids",
       [](GraphModelSpec* s) { s->Node("user.emb").has_padding_id = true; },
       {"a padding id applies to bags only"}},
      {"a missing table",
       [](GraphModelSpec* s) { s->Node("user.emb").table = 2; },
       {"reads embedding table 2 of 2"}},
      {"an embedding of the wrong width",
       [](GraphModelSpec* s) { s->Node("user.emb").table = 1; },
       {"user.emb", "the table's rows are 2 floats"}},
      {"a default row of the wrong size",
       [](GraphModelSpec* s) {
         s->Node("user.emb").bad_id = fb::BadId::DEFAULT_ROW;
         s->Node("user.emb").default_row = {1.0f};
       },
       {"the default row has 1 values; the table's rows have 3"}},
      {"a default row with NaN",
       [](GraphModelSpec* s) {
         s->Node("user.emb").bad_id = fb::BadId::DEFAULT_ROW;
         s->Node("user.emb").default_row = {1.0f, std::nanf(""), 0.0f};
       },
       {"default row value 1 is not finite"}},
      {"an embedding reading a computed float tensor",
       [](GraphModelSpec* s) {
         NodeSpec e = s->Node("user.emb");
         e.name = "probs.emb";
         e.inputs = {s->Tensor("gate.p")};
         s->tensors.push_back({"probs.emb", 3, fb::ElementType::FLOAT32, 0.0f, 0});
         e.output = static_cast<uint32_t>(s->tensors.size() - 1);
         s->nodes.push_back(e);
       },
       {"probs.emb", "'gate.p'", "not an ids or bag input"}},
      {"a concat with a zero scale",
       [](GraphModelSpec* s) { s->Node("x").concat_scales[1] = 0.0f; },
       {"x", "column 1's scale is 0"}},
      {"a concat with a scale whose inverse is denormal",
       [](GraphModelSpec* s) { s->Node("x").concat_scales[1] = 3e38f; },
       {"column 1's scale is 3e+38"}},
      {"a concat zero point out of range",
       [](GraphModelSpec* s) { s->Node("x").concat_zero_points[2] = 128; },
       {"column 2's zero point is 128"}},
      {"a concat missing a zero point",
       [](GraphModelSpec* s) { s->Node("x").concat_zero_points.pop_back(); },
       {"7 scales and 6 zero points for 7 columns"}},
      {"a concat output with a scale",
       [](GraphModelSpec* s) { s->tensors[s->Tensor("x")].scale = 0.5f; },
       {"expected int8, 7 wide, scale 1"}},
      {"a concat output of the wrong width",
       [](GraphModelSpec* s) { s->Node("x").inputs.pop_back(); },
       {"expected int8, 5 wide"}},
      {"an id input read twice",
       [](GraphModelSpec* s) {
         NodeSpec again = s->Node("user.emb");
         again.name = "user.emb2";
         s->tensors.push_back({"user.emb2", 3, fb::ElementType::FLOAT32, 0.0f, 0});
         again.output = static_cast<uint32_t>(s->tensors.size() - 1);
         s->nodes.insert(s->nodes.begin() + 1, again);
       },
       {"its ids are read by 2 nodes"}},
      {"a float input read by a sigmoid",
       [](GraphModelSpec* s) {
         NodeSpec& ctr = s->Node("ctr");
         s->tensors[s->Tensor("age")].width = 1;
         s->inputs[2].feature_names.clear();
         ctr.inputs = {s->Tensor("age")};
       },
       {"reads input 'age'", "only concat nodes"}},
      {"a concat output mixed",
       [](GraphModelSpec* s) {
         NodeSpec& mix = s->Node("mix");
         mix.inputs[1] = s->Tensor("x");
       },
       {"mix", "a concat's output; only dense layers read those"}},
      {"duplicate input names",
       [](GraphModelSpec* s) { s->inputs[2].name = "user"; },
       {"inputs[2]: the name 'user' is taken by inputs[0]"}},
  };
}

TEST_CASE("sparse: graph files breaking an invariant are refused with INVALID_MODEL naming the part") {
  for (const Violation& v : SparseViolations()) {
    INFO(std::string(v.what));
    GraphModelSpec spec = testing::SparseGraphSpec();
    v.tweak(&spec);
    const Loaded l = Load(spec);
    CHECK(l.status.code() == StatusCode::kInvalidModel);
    for (const char* f : v.fragments) {
      INFO(std::string(f));
      CHECK_MESSAGE(std::string(l.status.message()).find(f) != std::string::npos,
                    std::string(l.status.message()));
    }
  }
}

TEST_CASE("sparse: the C API scores inputs and describes them") {
  const std::vector<uint8_t> file = testing::BuildGraphModel(testing::SparseGraphSpec());
  mmoe_model* model = nullptr;
  REQUIRE(mmoe_model_load_buffer(file.data(), file.size(), 1, &model) == MMOE_OK);
  CHECK(mmoe_model_num_inputs(model) == 3);
  CHECK(std::string(mmoe_model_input_name(model, 1)) == "tags");
  CHECK(mmoe_model_input_kind(model, 1) == MMOE_INPUT_BAG);
  CHECK(mmoe_model_input_width(model, 2) == 2);
  CHECK(mmoe_model_input_rows(model, 0) == 10);
  CHECK(mmoe_model_input_index(model, "age") == 2);
  CHECK(mmoe_model_input_name(model, 3) == nullptr);
  CHECK(std::string(mmoe_last_error()).find("input 3 is out of range") != std::string::npos);
  mmoe_session* session = nullptr;
  REQUIRE(mmoe_session_create(model, nullptr, &session) == MMOE_OK);
  const Batch b(9, 11);
  const std::vector<InputView> views = b.Views();
  std::vector<mmoe_input> inputs(3);
  for (size_t i = 0; i < 3; ++i) {
    inputs[i].name = nullptr;
    inputs[i].data = views[i].data;
    inputs[i].type = static_cast<mmoe_data_type>(views[i].type);
    inputs[i].size = views[i].size;
    inputs[i].offsets = views[i].offsets;
  }
  std::vector<float> scores(b.n());
  REQUIRE(mmoe_session_score_inputs(session, inputs.data(), 3, b.n(), scores.data(), scores.size()) ==
          MMOE_OK);
  const Loaded l = Load(testing::SparseGraphSpec());
  CHECK(ScoreWith(l.model, views, b.n()) == scores);
  inputs[0].type = static_cast<mmoe_data_type>(9);
  CHECK(mmoe_session_score_inputs(session, inputs.data(), 3, b.n(), scores.data(), scores.size()) ==
        MMOE_INVALID_ARGUMENT);
  CHECK(std::string(mmoe_last_error()).find("'user' takes int32 or int64 ids, not unknown") !=
        std::string::npos);
  CHECK(mmoe_session_score(session, b.age.data(), b.n(), scores.data(), scores.size()) ==
        MMOE_INVALID_ARGUMENT);
  mmoe_session_destroy(session);
  mmoe_model_destroy(model);
}

}  // namespace
}  // namespace mmoe

// --- The converter ---------------------------------------------------------------------------

namespace mmoe {
namespace {

using converter::ConvertOptions;
using converter::Inputs;

std::vector<float> RuntimeScores(const std::vector<uint8_t>& bytes, const Inputs& in,
                                 const SessionOptions& options = SessionOptions()) {
  std::shared_ptr<const Model> model;
  const Status s = Model::LoadBuffer(bytes.data(), bytes.size(), &model);
  REQUIRE_MESSAGE(s.ok(), s.message());
  return ScoreWith(model, in.Views(), static_cast<size_t>(in.rows), options);
}

TEST_CASE("sparse: models with embeddings convert; int8 tracks float; every backend gives the same bytes") {
  const testing::RandomSparseSpec spec;
  const converter::FloatModel model = testing::RandomSparseModel(spec);
  const Inputs calib = testing::RandomSparseInputs(spec, 3000, 1),
               eval = testing::RandomSparseInputs(spec, 2000, 2);
  converter::MemoryInputSource source(calib);
  ConvertOptions options;
  options.created_utc = "2026-01-01T00:00:00Z";
  const converter::ConvertResult result = converter::Convert(model, source, options);
  std::shared_ptr<const Model> loaded;
  REQUIRE(Model::LoadBuffer(result.bytes.data(), result.bytes.size(), &loaded).ok());
  CHECK(loaded->num_inputs() == 4);
  CHECK(loaded->input(0).rows == 50);
  CHECK(loaded->input(2).kind == InputKind::kBag);
  CHECK(loaded->input(3).width == 3);
  CHECK(loaded->format_version_minor() == 1);

  const converter::Matrix expected = converter::FloatReference(model).Forward(eval);
  const std::vector<float> got = RuntimeScores(result.bytes, eval);
  converter::Matrix int8;
  int8.rows = eval.rows;
  int8.cols = 2;
  int8.data = got;
  for (const converter::TaskAgreement& a : converter::CompareScores(expected, int8, model.task_names())) {
    INFO(a.task << ": mean |dp| " << a.mean_abs << ", max " << a.max_abs << ", Spearman " << a.spearman);
    CHECK(a.spearman > 0.999);
    CHECK(a.mean_abs < 0.004);
  }
  // Each column quantized with its own range beats one range for the whole input (docs/sparse-features.md).
  {
    ConvertOptions shared = options;
    shared.per_feature_input_scales = false;
    converter::MemoryInputSource src(calib);
    converter::Matrix q;
    q.rows = eval.rows;
    q.cols = 2;
    q.data = RuntimeScores(converter::Convert(model, src, shared).bytes, eval);
    const auto per_column = converter::CompareScores(expected, int8, model.task_names());
    const auto one_range = converter::CompareScores(expected, q, model.task_names());
    for (size_t t = 0; t < 2; ++t) {
      INFO(model.task_names()[t] << ": mean |dp| per column " << per_column[t].mean_abs << ", one range "
                                 << one_range[t].mean_abs);
      CHECK(per_column[t].mean_abs < one_range[t].mean_abs * 0.8);
    }
  }
  // The scores vary: the embeddings reach them.
  double lo = 1.0, hi = 0.0;
  for (float v : got) lo = std::fmin(lo, v), hi = std::fmax(hi, v);
  CHECK(hi - lo > 0.2);

  SessionOptions reference;
  reference.backend = Backend::kReference;
  const std::vector<float> ref = RuntimeScores(result.bytes, eval, reference);
  CHECK(ref == got);
  for (const char* const* isa = SimdIsaNames(); *isa; ++isa) {
    for (int tile : {0, 5}) {
      SessionOptions o;
      o.isa = *isa;
      o.tile_items = tile;
      INFO(*isa << " tile " << tile);
      const std::vector<float> s = RuntimeScores(result.bytes, eval, o);
      CHECK(std::memcmp(s.data(), ref.data(), s.size() * sizeof(float)) == 0);
    }
  }
  if (BackendAvailable(Backend::kXnnpack)) {
    SessionOptions o;
    o.backend = Backend::kXnnpack;
    CHECK(RuntimeScores(result.bytes, eval, o) == ref);
  }
}

TEST_CASE("sparse: tables are quantized row by row within half a step of each value") {
  const testing::RandomSparseSpec spec;
  const converter::FloatModel model = testing::RandomSparseModel(spec);
  const Inputs calib = testing::RandomSparseInputs(spec, 500, 3);
  converter::MemoryInputSource source(calib);
  const converter::ConvertResult result = converter::Convert(model, source, ConvertOptions());
  std::shared_ptr<const Model> loaded;
  REQUIRE(Model::LoadBuffer(result.bytes.data(), result.bytes.size(), &loaded).ok());
  const ModelData& d = loaded->data();
  REQUIRE(d.tables.size() == model.tables.size());
  for (size_t i = 0; i < d.tables.size(); ++i) {
    const EmbeddingTable& t = d.tables[i];
    const converter::FloatTable& f = model.tables[i];
    REQUIRE(t.num_rows == static_cast<uint64_t>(f.rows));
    REQUIRE(t.dim == f.dim);
    for (int64_t r = 0; r < f.rows; ++r) {
      const uint8_t* row = t.rows + static_cast<size_t>(r) * t.row_bytes;
      float scale, offset;
      std::memcpy(&scale, row + t.row_bytes - 8, 4);
      std::memcpy(&offset, row + t.row_bytes - 4, 4);
      for (int c = 0; c < t.dim; ++c) {
        const float v = f.values[static_cast<size_t>(r * f.dim + c)];
        const float q = scale * static_cast<float>(row[c]) + offset;
        CHECK(std::fabs(q - v) <= scale * 0.5f + 1e-6f);
      }
    }
  }
  // The padding row (tags' row 0, all zeros) stays exactly zero.
  const EmbeddingTable& tags = d.tables[2];
  float scale, offset;
  std::memcpy(&scale, tags.rows + tags.row_bytes - 8, 4);
  std::memcpy(&offset, tags.rows + tags.row_bytes - 4, 4);
  CHECK(scale == 0.0f);
  CHECK(offset == 0.0f);
}

TEST_CASE("sparse: the converter refuses inputs that do not fit the model, naming them") {
  const testing::RandomSparseSpec spec;
  const converter::FloatModel model = testing::RandomSparseModel(spec);
  const Inputs bad = testing::RandomSparseInputs(spec, 100, 4, /*bad_ids=*/true);
  converter::MemoryInputSource source(bad);
  try {
    converter::Convert(model, source, ConvertOptions());
    FAIL("bad ids were accepted");
  } catch (const converter::ConvertError& e) {
    const std::string m = e.what();
    CHECK(m.find("row 3, input 'user': id 5") != std::string::npos);
    CHECK(m.find("outside its table's 50 rows") != std::string::npos);
  }
  // With default rows they are fine, and the runtime agrees.
  testing::RandomSparseSpec with_defaults;
  with_defaults.default_rows = true;
  const converter::FloatModel tolerant = testing::RandomSparseModel(with_defaults);
  converter::MemoryInputSource again(bad);
  const converter::ConvertResult r = converter::Convert(tolerant, again, ConvertOptions());
  CHECK(r.agreement.size() == 2);
  CHECK(RuntimeScores(r.bytes, bad).size() == 200);
}

}  // namespace
}  // namespace mmoe

namespace mmoe {
namespace {

TEST_CASE("sparse: mmoe eval's machinery measures each tensor, the concat per column") {
  const testing::RandomSparseSpec spec;
  const converter::FloatModel model = testing::RandomSparseModel(spec);
  const converter::Inputs calib = testing::RandomSparseInputs(spec, 2000, 1),
                          eval = testing::RandomSparseInputs(spec, 700, 9);
  converter::MemoryInputSource source(calib);
  const converter::ConvertResult result = converter::Convert(model, source, converter::ConvertOptions());
  std::shared_ptr<const Model> loaded;
  REQUIRE(Model::LoadBuffer(result.bytes.data(), result.bytes.size(), /*copy=*/true, LoadOptions(), &loaded)
              .ok());
  converter::MemoryInputSource rows(eval);
  converter::EvalOptions options;
  options.chunk_rows = 256;
  const converter::EvalResult r = converter::Evaluate(model, loaded, rows, nullptr, options);
  CHECK(r.rows == 700);
  CHECK(r.simulation_mismatches == 0);
  std::map<std::string, double> sqnr;
  for (const converter::LayerNoise& l : r.layers) sqnr[l.name] = l.sqnr_db();
  REQUIRE(sqnr.count("dnn_input"));
  REQUIRE(sqnr.count("embedding_dict.tags"));
  CHECK(sqnr["embedding_dict.user"] > 35.0);  // 8-bit rows
  CHECK(sqnr["dnn_input"] > 35.0);            // each column its own range
  for (const converter::TaskEval& t : r.task_evals) CHECK(t.agreement.spearman > 0.999);
  // A float model of other inputs is named as such.
  converter::MemoryInputSource again(eval);
  CHECK_THROWS_WITH_AS(
      converter::Evaluate(testing::RandomEsmmModel(16, {8}, false, 1.0f, 1), loaded, again, nullptr, options),
      doctest::Contains("do not describe the model file (4 inputs (user: ids, item: ids, tags: bag, dense: "
                        "dense 3), 2 tasks)"),
      converter::ConvertError);
}

}  // namespace
}  // namespace mmoe
