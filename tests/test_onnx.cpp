// The ONNX importer (converter/src/onnx/) and format 2.2's packed input row. Graphs that
// torch.onnx.export wrote for DeepCTR-Torch's, torch-rechub's and plain models
// (tests/data/onnx/make_onnx.py) import to float models that reproduce PyTorch's outputs;
// examples/sparse's trained graphs convert to int8 models within the targets against PyTorch;
// what cannot be mapped is refused naming the node. The import tests need libonnx-dev and are
// skipped in builds without it (the ARM cross builds); the packed row's tests are not.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "mmoe/converter/convert.h"
#include "mmoe/converter/float_reference.h"
#include "mmoe/converter/inputs.h"
#include "mmoe/converter/onnx_import.h"
#include "mmoe/converter/quality.h"
#include "mmoe/mmoe_c.h"
#include "support/fixtures.h"

namespace mmoe {
namespace {

std::string Data(const std::string& name) { return testing::SourcePath("tests/data/onnx/" + name); }

converter::Inputs ReadAll(const std::string& path, const graph::Graph& g) {
  const std::unique_ptr<converter::InputSource> source = converter::OpenInputs(path, g);
  return source->Read(0, source->rows());
}

std::string ImportError(const std::string& path, const std::string& calib = "") {
  try {
    const converter::OnnxImport import = converter::ImportOnnx(path);
    if (!calib.empty()) converter::VerifyOnnxImport(import, calib);
  } catch (const converter::ConvertError& e) {
    return e.what();
  }
  return "";
}

std::vector<std::string> InputNames(const converter::FloatModel& m) {
  std::vector<std::string> names;
  for (const graph::Input& in : m.graph.inputs) names.push_back(in.name);
  return names;
}

const converter::FloatEmbedding& BagOf(const converter::FloatModel& m, const std::string& input) {
  const graph::Graph& g = m.graph;
  for (const graph::Node& n : g.nodes) {
    if (n.op == graph::Op::kEmbedding && g.tensors[n.inputs[0]].name == input) return m.embeddings[n.param];
  }
  FAIL("no embedding reads " << input);
  return m.embeddings[0];
}

converter::Matrix PackedRows(const std::string& npz) {
  converter::Matrix x;
  for (const converter::NpzMember& member : converter::ReadNpz(npz))
    if (member.name == "X") x = converter::ParseNpyArray(member.bytes, npz).floats;
  return x;
}

}  // namespace

TEST_CASE("onnx: the graphs of DeepCTR-Torch, torch-rechub and plain models import and match PyTorch") {
  if (!converter::OnnxAvailable()) {
    MESSAGE("built without libonnx-dev: skipped");
    return;
  }
  for (const char* name :
       {"deepctr_mmoe", "deepctr_ple", "deepctr_shared_bottom", "deepctr_esmm", "rechub_mmoe", "rechub_ple",
        "rechub_shared_bottom", "rechub_esmm", "plain_embeddings", "dense_mmoe", "families_ple",
        "families_activation_mmoe", "families_esmm"}) {
    CAPTURE(name);
    const converter::OnnxImport import = converter::ImportOnnx(Data(std::string(name) + ".onnx"));
    const std::string inputs = Data(std::string(name) + "_inputs.npz");
    const converter::OnnxCheck check = converter::VerifyOnnxImport(import, inputs);
    CHECK(check.rows == 48);
    CHECK(check.tensors >= 6);
    CHECK(check.max_abs_diff < 1e-5);
    // Independently of the importer's own ONNX evaluation: the float model against PyTorch.
    const converter::FloatModel& m = import.model;
    const converter::Matrix ours = converter::FloatReference(m).Forward(ReadAll(inputs, m.graph));
    const converter::Matrix torch = converter::ReadNpy(Data(std::string(name) + "_torch.npy"));
    REQUIRE(ours.rows == torch.rows);
    REQUIRE(ours.cols == torch.cols);
    for (size_t i = 0; i < ours.data.size(); ++i) {
      const double want = torch.data[i];
      INFO("element " << i << ": " << ours.data[i] << " vs PyTorch's " << want);
      REQUIRE(std::fabs(ours.data[i] - want) <= 1e-5 * std::max(1.0, std::fabs(want)));
    }
    const std::string n = name;
    if (n.rfind("deepctr_", 0) == 0) {  // one float X, packed (format 2.2), columns by feature_index
      CHECK(m.graph.packed.name == "X");
      CHECK(m.graph.packed.width == 8);
      CHECK(InputNames(m) == std::vector<std::string>{"country", "size", "roles", "X[6]", "X[7]"});
      CHECK(m.graph.packed.first == std::vector<int32_t>{0, 1, 2, 6, 7});
      CHECK(m.graph.packed.count == std::vector<int32_t>{1, 1, 4, 1, 1});
      const converter::FloatEmbedding& bag = BagOf(m, "roles");
      const bool sum = n == "deepctr_shared_bottom";
      CHECK(bag.pooling == (sum ? graph::Pooling::kSum : graph::Pooling::kMean));
      CHECK(bag.has_padding_id);  // DeepCTR-Torch masks id 0 for both combiners
      CHECK(bag.padding_id == 0);
    } else if (n.rfind("rechub_", 0) == 0 && n != "rechub_esmm") {  // a tensor per feature, by name
      CHECK(!m.graph.packed.present());
      CHECK(InputNames(m) == std::vector<std::string>{"country", "size", "roles", "years", "sat"});
      const converter::FloatEmbedding& bag = BagOf(m, "roles");
      CHECK(bag.pooling == (n == "rechub_ple" ? graph::Pooling::kSum : graph::Pooling::kMean));
      CHECK(bag.has_padding_id == (n != "rechub_ple"));  // padding_idx=None keeps every id
    }
  }
  // Elementwise chains named as the functions they compute: GELU (Div, Erf, Add, Mul, Mul),
  // LeakyReLU(0.1), Tanh, SiLU (Sigmoid, Mul).
  const converter::OnnxImport act = converter::ImportOnnx(Data("families_activation_mmoe.onnx"));
  std::set<std::string> functions;
  for (const converter::FloatActivation& a : act.model.activations) {
    functions.insert(converter::FunctionName(a.function));
    if (a.function == converter::Function::kLeakyRelu) CHECK(a.params == std::vector<float>{0.1f});
  }
  CHECK(functions == std::set<std::string>{"gelu", "leaky_relu", "tanh", "silu"});
  // torch-rechub's shared_with: two inputs, one table.
  const converter::OnnxImport esmm = converter::ImportOnnx(Data("rechub_esmm.onnx"));
  CHECK(esmm.model.tables.size() == 3);
  CHECK(InputNames(esmm.model) == std::vector<std::string>{"country", "roles", "size", "size2"});
  CHECK(esmm.model.num_tasks() == 3);
}

TEST_CASE("onnx: examples/sparse's trained graphs convert to int8 within the targets against PyTorch") {
  if (!converter::OnnxAvailable()) {
    MESSAGE("built without libonnx-dev: skipped");
    return;
  }
  const std::string dir = testing::SourcePath("examples/sparse/");
  const converter::Matrix labels = converter::ReadNpy(dir + "eval_labels.npy", 2);
  for (const char* name : {"deepctr_mmoe", "deepctr_ple", "rechub_mmoe", "rechub_ple"}) {
    CAPTURE(name);
    const bool deepctr = std::string(name).rfind("deepctr_", 0) == 0;
    converter::OnnxImportOptions options;
    options.task_names = {"remote", "salary"};
    const converter::OnnxImport import = converter::ImportOnnx(dir + name + ".onnx", options);
    const std::string calib = dir + (deepctr ? "calib_x.npz" : "calib.npz");
    const std::string eval = dir + (deepctr ? "eval_x.npz" : "eval.npz");
    converter::VerifyOnnxImport(import, calib);
    const std::unique_ptr<converter::InputSource> rows = converter::OpenInputs(calib, import.model.graph);
    const converter::ConvertResult r = converter::Convert(import.model, *rows, converter::ConvertOptions());
    std::shared_ptr<const Model> model;
    REQUIRE(Model::LoadBuffer(r.bytes.data(), r.bytes.size(), &model).ok());
    CHECK((model->packed_input_name() != nullptr) == deepctr);

    const converter::Inputs in = ReadAll(eval, import.model.graph);
    const std::vector<InputView> views = in.Views();
    const converter::Matrix torch = converter::ReadNpy(dir + name + "_eval_torch.npy", 2);
    REQUIRE(torch.rows == in.rows);
    std::vector<float> first;
    std::vector<std::pair<Backend, const char*>> variants = {{Backend::kReference, nullptr}};
    for (const char* const* isa = SimdIsaNames(); *isa; ++isa) variants.push_back({Backend::kSimd, *isa});
    for (const auto& [backend, isa] : variants) {
      SessionOptions so;
      so.backend = backend;
      so.isa = isa;
      std::unique_ptr<Session> session;
      REQUIRE(Session::Create(model, so, &session).ok());
      std::vector<float> scores(static_cast<size_t>(in.rows * 2));
      REQUIRE(
          session
              ->Score(views.data(), views.size(), static_cast<size_t>(in.rows), scores.data(), scores.size())
              .ok());
      if (deepctr) {  // the packed row gives the same bytes as the inputs one by one
        const converter::Matrix x = PackedRows(eval);
        std::vector<float> packed(scores.size());
        REQUIRE(
            session->Score(x.data.data(), static_cast<size_t>(x.rows), packed.data(), packed.size()).ok());
        CHECK(std::memcmp(packed.data(), scores.data(), scores.size() * sizeof(float)) == 0);
      }
      if (first.empty()) first = scores;
      INFO(BackendName(backend) << " " << (isa ? isa : ""));
      CHECK(std::memcmp(first.data(), scores.data(), scores.size() * sizeof(float)) == 0);
    }
    // The targets against PyTorch: remote (binary) |dAUC| <= 0.002, Spearman >= 0.999,
    // mean |dp| <= 0.005; salary (regression) mean |d| / sd <= 0.02.
    std::vector<double> p_int8, p_torch, y, s_int8, s_torch;
    for (int64_t i = 0; i < in.rows; ++i) {
      p_int8.push_back(first[static_cast<size_t>(2 * i)]);
      p_torch.push_back(torch.row(i)[0]);
      y.push_back(labels.row(i)[0]);
      s_int8.push_back(first[static_cast<size_t>(2 * i + 1)]);
      s_torch.push_back(torch.row(i)[1]);
    }
    const double d_auc = std::fabs(converter::Auc(p_int8, y) - converter::Auc(p_torch, y));
    double mean_dp = 0, mean_ds = 0, mean_s = 0, var_s = 0;
    for (size_t i = 0; i < y.size(); ++i) {
      mean_dp += std::fabs(p_int8[i] - p_torch[i]) / y.size();
      mean_ds += std::fabs(s_int8[i] - s_torch[i]) / y.size();
      mean_s += s_torch[i] / y.size();
    }
    for (double s : s_torch) var_s += (s - mean_s) * (s - mean_s) / s_torch.size();
    INFO("dAUC " << d_auc << ", mean |dp| " << mean_dp << ", salary mean |d| / sd "
                 << mean_ds / std::sqrt(var_s));
    CHECK(d_auc <= 0.002);
    CHECK(converter::Spearman(p_int8, p_torch) >= 0.999);
    CHECK(mean_dp <= 0.005);
    CHECK(converter::Spearman(s_int8, s_torch) >= 0.999);
    CHECK(mean_ds / std::sqrt(var_s) <= 0.02);
  }
}

TEST_CASE("onnx: what cannot be imported is refused naming the node, file or array") {
  if (!converter::OnnxAvailable()) {
    CHECK(ImportError(Data("dense_mmoe.onnx")).find("built without libonnx-dev") != std::string::npos);
    return;
  }
  const std::string bag = ImportError(Data("refused_embedding_bag.onnx"));
  CHECK(bag.find("refused_embedding_bag.onnx: node '/bag/Loop' (Loop)") != std::string::npos);
  CHECK(bag.find("nn.EmbeddingBag") != std::string::npos);
  const std::string cos = ImportError(Data("refused_cos.onnx"));
  CHECK(cos.find("node '/Cos' (Cos)") != std::string::npos);
  CHECK(cos.find("not supported") != std::string::npos);
  try {
    converter::ImportOnnxBytes("not a protobuf at all \xff\xff\xff", "junk.onnx");
    FAIL("junk imported");
  } catch (const converter::ConvertError& e) {
    CHECK(std::string(e.what()).find("junk.onnx: not an ONNX model") != std::string::npos);
  }
  // Calibration inputs that are not the graph's: named and shaped as the graph's inputs.
  const std::string missing = ImportError(Data("deepctr_mmoe.onnx"), Data("rechub_mmoe_inputs.npz"));
  CHECK(missing.find("no array 'X'") != std::string::npos);
  const std::string shape = ImportError(Data("plain_embeddings.onnx"), Data("dense_mmoe_inputs.npz"));
  CHECK(shape.find("no array 'country'") != std::string::npos);
}

TEST_CASE("packed input: bad values in id columns are refused naming the item and column") {
  std::shared_ptr<const Model> model;
  REQUIRE(Model::LoadFile(testing::SourcePath("tests/data/deepctr_ple_onnx.mmoe").c_str(), &model).ok());
  REQUIRE(model->packed_input_name() != nullptr);
  CHECK(std::string(model->packed_input_name()) == "X");
  CHECK(model->input_dim() == 17);
  CHECK(model->num_inputs() == 7);
  CHECK(model->packed_first(4) == 4);  // roles: a bag in columns 4 to 14
  CHECK(model->packed_count(4) == 11);
  CHECK(model->packed_first(6) == 16);  // satisfaction
  CHECK(model->packed_first(7) == -1);
  {  // the same through the C API
    mmoe_model* c = nullptr;
    const std::string path = testing::SourcePath("tests/data/deepctr_ple_onnx.mmoe");
    REQUIRE(mmoe_model_load_file(path.c_str(), &c) == MMOE_OK);
    CHECK(std::string(mmoe_model_packed_input_name(c)) == "X");
    CHECK(mmoe_model_input_dim(c) == 17);
    int first = 0, count = 0;
    mmoe_model_packed_columns(c, 4, &first, &count);
    CHECK((first == 4 && count == 11));
    mmoe_model_packed_columns(c, 9, &first, &count);
    CHECK((first == -1 && count == -1));
    mmoe_model_destroy(c);
  }
  converter::Matrix x = PackedRows(testing::SourcePath("examples/sparse/eval_x.npz"));
  x.rows = 300;
  x.data.resize(static_cast<size_t>(300 * 17));
  std::unique_ptr<Session> session;
  REQUIRE(Session::Create(model, SessionOptions(), &session).ok());
  std::vector<float> scores(600, -7.0f);
  const struct {
    int64_t row, column;
    float value;
    const char* expect;
  } cases[] = {
      {3, 0, NAN, "item 3, input 'country' (X column 0): nan is not an id of its embedding table's 6 rows"},
      {290, 1, 1e30f, "item 290, input 'company_size' (X column 1): 1e+30 is not an id"},
      {7, 0, 99.0f, "item 7, input 'country' (X column 0): 99 is not an id"},
      {260, 6, -1.0f, "item 260, input 'roles' (X column 6): -1 is not an id"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.expect);
    converter::Matrix bad = x;
    bad.row(c.row)[c.column] = c.value;
    const Status s = session->Score(bad.data.data(), 300, scores.data(), scores.size());
    CHECK(s.code() == StatusCode::kInvalidArgument);
    CHECK(std::string(s.message()).find(c.expect) != std::string::npos);
    // Every row is checked before any is scored: nothing written.
    CHECK(std::all_of(scores.begin(), scores.end(), [](float v) { return v == -7.0f; }));
  }
  // Ids written as non-integral floats are truncated toward zero, as torch's .long() does.
  converter::Matrix frac = x;
  for (int64_t r = 0; r < frac.rows; ++r) frac.row(r)[0] += 0.75f;
  std::vector<float> a(600), b(600);
  REQUIRE(session->Score(x.data.data(), 300, a.data(), a.size()).ok());
  REQUIRE(session->Score(frac.data.data(), 300, b.data(), b.size()).ok());
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

TEST_CASE("packed input: a row whose columns do not fit its inputs is refused with INVALID_MODEL") {
  std::vector<uint8_t> bytes;
  {
    FILE* f = std::fopen(testing::SourcePath("tests/data/deepctr_ple_onnx.mmoe").c_str(), "rb");
    REQUIRE(f);
    int c;
    while ((c = std::fgetc(f)) != EOF) bytes.push_back(static_cast<uint8_t>(c));
    std::fclose(f);
  }
  // The FlatBuffer's `first` vector: 7 columns, 0 1 2 3 4 15 16 (uint32, little-endian).
  const uint32_t first[] = {7, 0, 1, 2, 3, 4, 15, 16};
  const auto at = std::search(bytes.begin(), bytes.end(), reinterpret_cast<const uint8_t*>(first),
                               reinterpret_cast<const uint8_t*>(first) + sizeof(first));
  REQUIRE(at != bytes.end());
  const size_t dense = static_cast<size_t>(at - bytes.begin()) + 6 * 4;  // X[15]'s first column
  LoadOptions options;
  options.verify_checksum = false;  // the damage is deliberate: the verifier must catch it
  for (uint8_t column : {17, 200}) {
    CAPTURE(int(column));
    std::vector<uint8_t> bad = bytes;
    bad[dense] = column;
    std::shared_ptr<const Model> model;
    const Status s = Model::LoadBuffer(bad.data(), bad.size(), true, options, &model);
    CHECK(s.code() == StatusCode::kInvalidModel);
    CHECK(std::string(s.message()).find("packed_input 'X' (17 columns") != std::string::npos);
    CHECK(std::string(s.message()).find("inputs[5]") != std::string::npos);
  }
}

}  // namespace mmoe
