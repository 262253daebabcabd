// The C API (mmoe_c.h) against the C++ API it wraps: bit-identical scores through every way
// of loading a model, and every error path (status code plus a useful mmoe_last_error()).
//
// That the header compiles as strict C99 is checked by building examples/apps/score_c.c
// (examples/CMakeLists.txt compiles it with -std=c99 -pedantic-errors).
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mmoe/mmoe_c.h"
#include "support/fixtures.h"

namespace mmoe {
namespace {

using converter::Matrix;

struct ModelDeleter {
  void operator()(mmoe_model* m) const { mmoe_model_destroy(m); }
};
struct SessionDeleter {
  void operator()(mmoe_session* s) const { mmoe_session_destroy(s); }
};
using ModelHandle = std::unique_ptr<mmoe_model, ModelDeleter>;
using SessionHandle = std::unique_ptr<mmoe_session, SessionDeleter>;

bool LastErrorContains(const std::string& needle) {
  return std::string(mmoe_last_error()).find(needle) != std::string::npos;
}

ModelHandle LoadBuffer(const void* data, size_t size, int copy) {
  mmoe_model* model = nullptr;
  const mmoe_status st = mmoe_model_load_buffer(data, size, copy, &model);
  REQUIRE_MESSAGE(st == MMOE_OK, mmoe_last_error());
  REQUIRE(model != nullptr);
  return ModelHandle(model);
}

ModelHandle LoadSeedModel() {
  return LoadBuffer(testing::SeedModelBytes().data(), testing::SeedModelBytes().size(), 1);
}

SessionHandle CreateSession(const mmoe_model* model, const mmoe_session_options* options = nullptr) {
  mmoe_session* session = nullptr;
  const mmoe_status st = mmoe_session_create(model, options, &session);
  REQUIRE_MESSAGE(st == MMOE_OK, mmoe_last_error());
  REQUIRE(session != nullptr);
  return SessionHandle(session);
}

size_t Rows(const Matrix& x) { return static_cast<size_t>(x.rows); }

// All of `x` scored through the C API with a fresh session.
std::vector<float> ScoreC(const mmoe_model* model, const Matrix& x,
                          const mmoe_session_options* options = nullptr) {
  SessionHandle session = CreateSession(model, options);
  std::vector<float> scores(Rows(x) * static_cast<size_t>(mmoe_model_num_tasks(model)));
  const mmoe_status st =
      mmoe_session_score(session.get(), x.data.data(), Rows(x), scores.data(), scores.size());
  REQUIRE_MESSAGE(st == MMOE_OK, mmoe_last_error());
  return scores;
}

// Bit-for-bit: the C API adds no arithmetic of its own.
void CheckSameBytes(const std::vector<float>& c, const Matrix& cpp) {
  REQUIRE(c.size() == cpp.data.size());
  CHECK(std::memcmp(c.data(), cpp.data.data(), c.size() * sizeof(float)) == 0);
}

// A file removed when the test ends, unique per process so parallel ctest runs don't collide.
class TempFile {
 public:
  explicit TempFile(const std::string& tag)
      : path_((std::filesystem::temp_directory_path() /
               ("mmoe_c_api_" + std::to_string(::getpid()) + "_" + tag))
                  .string()) {}
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  void Write(const std::vector<uint8_t>& bytes) const {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST_CASE("C API: scores the same bytes as the C++ API on the evaluation set") {
  const Matrix& x = testing::SeedEval();
  const Matrix cpp = testing::ScoreAll(testing::SeedModel(), x);
  const std::vector<uint8_t>& bytes = testing::SeedModelBytes();

  SUBCASE("load_buffer, copied") {
    CheckSameBytes(ScoreC(LoadBuffer(bytes.data(), bytes.size(), 1).get(), x), cpp);
  }
  SUBCASE("load_buffer, borrowed") {
    // SeedModelBytes() lives for the whole run and vector storage is 16-byte aligned.
    CheckSameBytes(ScoreC(LoadBuffer(bytes.data(), bytes.size(), 0).get(), x), cpp);
  }
  SUBCASE("load_file") {
    const TempFile file("scores.mmoe");
    file.Write(bytes);
    mmoe_model* model = nullptr;
    REQUIRE_MESSAGE(mmoe_model_load_file(file.path().c_str(), &model) == MMOE_OK, mmoe_last_error());
    const ModelHandle handle(model);
    CheckSameBytes(ScoreC(handle.get(), x), cpp);
  }
}

TEST_CASE("C API: model accessors and arena size match the C++ API") {
  const std::shared_ptr<const Model> cpp = testing::SeedModel();
  const ModelHandle model = LoadSeedModel();
  CHECK(mmoe_model_input_dim(model.get()) == cpp->input_dim());
  CHECK(mmoe_model_num_tasks(model.get()) == cpp->num_tasks());
  CHECK(std::string(mmoe_model_name(model.get())) == cpp->name());
  for (int t = 0; t < cpp->num_tasks(); ++t) {
    CHECK(std::string(mmoe_model_task_name(model.get(), t)) == cpp->task_name(t));
  }
  CHECK(mmoe_model_task_name(model.get(), -1) == nullptr);
  CHECK(mmoe_model_task_name(model.get(), cpp->num_tasks()) == nullptr);

  std::unique_ptr<Session> cpp_session;
  REQUIRE(Session::Create(cpp, SessionOptions(), &cpp_session).ok());
  const SessionHandle session = CreateSession(model.get());
  CHECK(mmoe_session_arena_bytes(session.get()) == cpp_session->arena_bytes());
  CHECK(mmoe_session_tile_items(session.get()) == cpp_session->tile_items());
  CHECK(mmoe_session_tile_items(session.get()) > 0);
}

TEST_CASE("C API: score_quantized equals score on input quantized by Session::QuantizeInput") {
  const Matrix& x = testing::SeedEval();
  std::unique_ptr<Session> cpp;
  REQUIRE(Session::Create(testing::SeedModel(), SessionOptions(), &cpp).ok());
  std::vector<int8_t> quantized(x.data.size());
  const Status s = cpp->QuantizeInput(x.data.data(), Rows(x), quantized.data(), quantized.size());
  REQUIRE_MESSAGE(s.ok(), s.message());

  const ModelHandle model = LoadSeedModel();
  const SessionHandle session = CreateSession(model.get());
  const std::vector<float> from_float = ScoreC(model.get(), x);
  std::vector<float> from_int8(from_float.size());
  REQUIRE_MESSAGE(mmoe_session_score_quantized(session.get(), quantized.data(), Rows(x), from_int8.data(),
                                               from_int8.size()) == MMOE_OK,
                  mmoe_last_error());
  CHECK(std::memcmp(from_int8.data(), from_float.data(), from_float.size() * sizeof(float)) == 0);
}

TEST_CASE("C API: session options: defaults, tile sizes and backends") {
  mmoe_session_options options;
  options.backend = MMOE_BACKEND_REFERENCE;
  options.tile_items = -5;
  mmoe_session_options_init(&options);
  CHECK(options.backend == MMOE_BACKEND_AUTO);
  CHECK(options.tile_items == 0);
  CHECK(options.isa == nullptr);
  CHECK(options.threads == 1);

  // Tiling is a scheduling choice only: every tile size and backend scores the same bytes.
  const Matrix& x = testing::SeedEval();
  const Matrix cpp = testing::ScoreAll(testing::SeedModel(), x);
  const ModelHandle model = LoadSeedModel();
  for (int tile : {0, 1, 7, 64, 4096}) {
    CAPTURE(tile);
    options.tile_items = tile;
    CheckSameBytes(ScoreC(model.get(), x, &options), cpp);
  }
  options.tile_items = 64;
  options.backend = MMOE_BACKEND_REFERENCE;
  CheckSameBytes(ScoreC(model.get(), x, &options), cpp);
  // The simplest simd kernels (the portable ones where built) on two threads, too.
  const char* const* isas = mmoe::SimdIsaNames();
  while (isas[1]) ++isas;
  options.backend = MMOE_BACKEND_SIMD;
  options.isa = *isas;
  options.threads = 2;
  options.tile_items = 16;
  CheckSameBytes(ScoreC(model.get(), x, &options), cpp);
}

TEST_CASE("C API: invalid session options are rejected") {
  const ModelHandle model = LoadSeedModel();
  mmoe_session_options options;
  mmoe_session_options_init(&options);
  mmoe_session* session = nullptr;
  for (int tile : {-1, 4097}) {
    CAPTURE(tile);
    options.tile_items = tile;
    CHECK(mmoe_session_create(model.get(), &options, &session) == MMOE_INVALID_ARGUMENT);
    CHECK(session == nullptr);
    CHECK(LastErrorContains("tile_items"));
  }
  options.tile_items = 64;
  // As a C caller would store it: a C++ cast to an out-of-range enum value is undefined.
  const int unknown_backend = 7;
  std::memcpy(&options.backend, &unknown_backend, sizeof unknown_backend);
  CHECK(mmoe_session_create(model.get(), &options, &session) == MMOE_UNAVAILABLE);
  CHECK(session == nullptr);
  CHECK(LastErrorContains("backend"));
}

TEST_CASE("C API: NULL arguments are INVALID_ARGUMENT with a message naming the argument") {
  const std::vector<uint8_t>& bytes = testing::SeedModelBytes();
  const ModelHandle model = LoadSeedModel();
  const SessionHandle session = CreateSession(model.get());
  // A non-NULL out-pointer that a failed call must reset to NULL.
  mmoe_model* out_model = reinterpret_cast<mmoe_model*>(uintptr_t{8});
  mmoe_session* out_session = reinterpret_cast<mmoe_session*>(uintptr_t{8});
  float scores[8] = {0};
  const float features[100] = {0};
  const int8_t quantized[100] = {0};

  SUBCASE("mmoe_model_load_file") {
    CHECK(mmoe_model_load_file(nullptr, &out_model) == MMOE_INVALID_ARGUMENT);
    CHECK(out_model == nullptr);
    CHECK(LastErrorContains("mmoe_model_load_file: path is NULL"));
    CHECK(mmoe_model_load_file("x.mmoe", nullptr) == MMOE_INVALID_ARGUMENT);
    CHECK(LastErrorContains("mmoe_model_load_file: model is NULL"));
  }
  SUBCASE("mmoe_model_load_buffer") {
    CHECK(mmoe_model_load_buffer(nullptr, bytes.size(), 1, &out_model) == MMOE_INVALID_ARGUMENT);
    CHECK(out_model == nullptr);
    CHECK(LastErrorContains("mmoe_model_load_buffer: data is NULL"));
    CHECK(mmoe_model_load_buffer(bytes.data(), bytes.size(), 1, nullptr) == MMOE_INVALID_ARGUMENT);
    CHECK(LastErrorContains("mmoe_model_load_buffer: model is NULL"));
  }
  SUBCASE("model accessors return 0 / NULL") {
    CHECK(mmoe_model_input_dim(nullptr) == 0);
    CHECK(LastErrorContains("mmoe_model_input_dim: model is NULL"));
    CHECK(mmoe_model_num_tasks(nullptr) == 0);
    CHECK(mmoe_model_task_name(nullptr, 0) == nullptr);
    CHECK(mmoe_model_name(nullptr) == nullptr);
    CHECK(LastErrorContains("mmoe_model_name: model is NULL"));
  }
  SUBCASE("destroy and options_init ignore NULL") {
    mmoe_model_destroy(nullptr);
    mmoe_session_destroy(nullptr);
    mmoe_session_options_init(nullptr);
    CHECK(LastErrorContains("mmoe_session_options_init: options is NULL"));
  }
  SUBCASE("mmoe_session_create") {
    CHECK(mmoe_session_create(nullptr, nullptr, &out_session) == MMOE_INVALID_ARGUMENT);
    CHECK(out_session == nullptr);
    CHECK(LastErrorContains("mmoe_session_create: model is NULL"));
    CHECK(mmoe_session_create(model.get(), nullptr, nullptr) == MMOE_INVALID_ARGUMENT);
    CHECK(LastErrorContains("mmoe_session_create: session is NULL"));
  }
  SUBCASE("mmoe_session_score") {
    CHECK(mmoe_session_score(nullptr, features, 1, scores, 8) == MMOE_INVALID_ARGUMENT);
    CHECK(LastErrorContains("mmoe_session_score: session is NULL"));
    CHECK(mmoe_session_score(session.get(), nullptr, 1, scores, 8) == MMOE_INVALID_ARGUMENT);
    CHECK(LastErrorContains("mmoe_session_score: features is NULL"));
    CHECK(mmoe_session_score(session.get(), features, 1, nullptr, 8) == MMOE_INVALID_ARGUMENT);
    CHECK(LastErrorContains("mmoe_session_score: scores is NULL"));
  }
  SUBCASE("mmoe_session_score_quantized") {
    CHECK(mmoe_session_score_quantized(nullptr, quantized, 1, scores, 8) == MMOE_INVALID_ARGUMENT);
    CHECK(LastErrorContains("mmoe_session_score_quantized: session is NULL"));
    CHECK(mmoe_session_score_quantized(session.get(), nullptr, 1, scores, 8) == MMOE_INVALID_ARGUMENT);
    CHECK(LastErrorContains("mmoe_session_score_quantized: features is NULL"));
    CHECK(mmoe_session_score_quantized(session.get(), quantized, 1, nullptr, 8) == MMOE_INVALID_ARGUMENT);
    CHECK(LastErrorContains("mmoe_session_score_quantized: scores is NULL"));
  }
  SUBCASE("mmoe_session_arena_bytes") {
    CHECK(mmoe_session_arena_bytes(nullptr) == 0);
    CHECK(LastErrorContains("mmoe_session_arena_bytes: session is NULL"));
  }
  SUBCASE("mmoe_session_tile_items") {
    CHECK(mmoe_session_tile_items(nullptr) == 0);
    CHECK(LastErrorContains("mmoe_session_tile_items: session is NULL"));
  }
}

TEST_CASE("C API: a buffer that is not a model is NOT_A_MODEL") {
  mmoe_model* model = nullptr;
  // Long enough to get past the size check to the file identifier check.
  const std::vector<uint8_t> junk(256, 'x');
  CHECK(mmoe_model_load_buffer(junk.data(), junk.size(), 1, &model) == MMOE_NOT_A_MODEL);
  CHECK(model == nullptr);
  CHECK(std::strlen(mmoe_last_error()) > 0);
  CHECK(LastErrorContains("\"MMOE\""));

  CHECK(mmoe_model_load_buffer(junk.data(), 4, 1, &model) == MMOE_NOT_A_MODEL);
  CHECK(model == nullptr);
}

TEST_CASE("C API: a truncated or damaged model fails its checksum") {
  std::vector<uint8_t> bytes = testing::SeedModelBytes();
  mmoe_model* model = nullptr;
  CHECK(mmoe_model_load_buffer(bytes.data(), bytes.size() / 2, 1, &model) == MMOE_CHECKSUM_MISMATCH);
  CHECK(model == nullptr);
  CHECK(LastErrorContains("has none"));
  bytes[bytes.size() / 3] ^= 0x04;
  CHECK(mmoe_model_load_buffer(bytes.data(), bytes.size(), 1, &model) == MMOE_CHECKSUM_MISMATCH);
  CHECK(model == nullptr);
  CHECK(LastErrorContains("checksum mismatch"));
}

TEST_CASE("C API: a misaligned borrowed buffer is INVALID_ARGUMENT") {
  const std::vector<uint8_t>& bytes = testing::SeedModelBytes();
  std::vector<uint8_t> shifted(bytes.size() + 8);
  std::memcpy(shifted.data() + 1, bytes.data(), bytes.size());
  mmoe_model* model = nullptr;
  CHECK(mmoe_model_load_buffer(shifted.data() + 1, bytes.size(), 0, &model) == MMOE_INVALID_ARGUMENT);
  CHECK(model == nullptr);
  CHECK(LastErrorContains("aligned"));
  // Copying lifts the alignment requirement.
  const ModelHandle copied = LoadBuffer(shifted.data() + 1, bytes.size(), 1);
  CHECK(mmoe_model_num_tasks(copied.get()) == testing::SeedModel()->num_tasks());
}

TEST_CASE("C API: a missing file is IO_ERROR naming the path") {
  const std::string path = "/nonexistent-mmoe-dir/missing_model.mmoe";
  mmoe_model* model = nullptr;
  CHECK(mmoe_model_load_file(path.c_str(), &model) == MMOE_IO_ERROR);
  CHECK(model == nullptr);
  CHECK(LastErrorContains(path));
}

TEST_CASE("C API: a scores buffer too small is BUFFER_TOO_SMALL and is left untouched") {
  const Matrix& x = testing::SeedEval();
  const ModelHandle model = LoadSeedModel();
  const SessionHandle session = CreateSession(model.get());
  const size_t n_items = 10;
  const size_t needed = n_items * static_cast<size_t>(mmoe_model_num_tasks(model.get()));
  std::vector<float> scores(needed, -1.0f);
  CHECK(mmoe_session_score(session.get(), x.data.data(), n_items, scores.data(), needed - 1) ==
        MMOE_BUFFER_TOO_SMALL);
  CHECK(std::strlen(mmoe_last_error()) > 0);
  for (float v : scores) CHECK(v == -1.0f);

  const std::vector<int8_t> quantized(n_items * static_cast<size_t>(mmoe_model_input_dim(model.get())), 0);
  CHECK(mmoe_session_score_quantized(session.get(), quantized.data(), n_items, scores.data(), needed - 1) ==
        MMOE_BUFFER_TOO_SMALL);
}

TEST_CASE("C API: n_items 0 is INVALID_ARGUMENT") {
  const ModelHandle model = LoadSeedModel();
  const SessionHandle session = CreateSession(model.get());
  const float features[100] = {0};
  const int8_t quantized[100] = {0};
  float scores[8] = {0};
  CHECK(mmoe_session_score(session.get(), features, 0, scores, 8) == MMOE_INVALID_ARGUMENT);
  CHECK(LastErrorContains("n_items"));
  CHECK(mmoe_session_score_quantized(session.get(), quantized, 0, scores, 8) == MMOE_INVALID_ARGUMENT);
  CHECK(LastErrorContains("n_items"));
}

TEST_CASE("C API: destroying the model before its session is safe") {
  const Matrix& x = testing::SeedEval();
  const Matrix cpp = testing::ScoreAll(testing::SeedModel(), x);
  // Borrowed bytes: the session must keep the model (not the bytes) alive; the bytes are static.
  mmoe_model* model =
      LoadBuffer(testing::SeedModelBytes().data(), testing::SeedModelBytes().size(), 0).release();
  const SessionHandle session = CreateSession(model);
  mmoe_model_destroy(model);
  std::vector<float> scores(cpp.data.size());
  REQUIRE_MESSAGE(
      mmoe_session_score(session.get(), x.data.data(), Rows(x), scores.data(), scores.size()) == MMOE_OK,
      mmoe_last_error());
  CheckSameBytes(scores, cpp);
}

TEST_CASE("C API: the last error is per thread and kept across successful calls") {
  mmoe_model* model = nullptr;
  REQUIRE(mmoe_model_load_file(nullptr, &model) == MMOE_INVALID_ARGUMENT);
  const std::string mine = mmoe_last_error();
  std::string theirs;
  std::thread([&] {
    theirs = mmoe_last_error();  // a fresh thread starts with ""
    mmoe_model_load_file("/nonexistent-mmoe-dir/other.mmoe", &model);
  }).join();
  CHECK(theirs.empty());
  CHECK(std::string(mmoe_last_error()) == mine);
  const ModelHandle ok = LoadSeedModel();
  CHECK(std::string(mmoe_last_error()) == mine);
}

TEST_CASE("C API: status names and version") {
  const struct {
    mmoe_status status;
    const char* name;
  } kNames[] = {
      {MMOE_OK, "OK"},
      {MMOE_INVALID_ARGUMENT, "INVALID_ARGUMENT"},
      {MMOE_IO_ERROR, "IO_ERROR"},
      {MMOE_NOT_A_MODEL, "NOT_A_MODEL"},
      {MMOE_UNSUPPORTED_VERSION, "UNSUPPORTED_VERSION"},
      {MMOE_CORRUPT_MODEL, "CORRUPT_MODEL"},
      {MMOE_INVALID_MODEL, "INVALID_MODEL"},
      {MMOE_BUFFER_TOO_SMALL, "BUFFER_TOO_SMALL"},
      {MMOE_UNAVAILABLE, "UNAVAILABLE"},
      {MMOE_OUT_OF_MEMORY, "OUT_OF_MEMORY"},
      {MMOE_INTERNAL, "INTERNAL"},
      {MMOE_CHECKSUM_MISMATCH, "CHECKSUM_MISMATCH"},
      {MMOE_UNSUPPORTED_FEATURE, "UNSUPPORTED_FEATURE"},
  };
  for (const auto& n : kNames) {
    CHECK(std::string(mmoe_status_name(n.status)) == n.name);
    CHECK(std::string(mmoe_status_name(n.status)) == StatusCodeName(static_cast<StatusCode>(n.status)));
  }
  // 15 is inside the enum's value range (0..15), so the cast is well defined in C++.
  CHECK(std::string(mmoe_status_name(static_cast<mmoe_status>(15))) == "UNKNOWN");

  REQUIRE(mmoe_version() != nullptr);
  CHECK(std::strlen(mmoe_version()) > 0);
  CHECK(std::string(mmoe_version()) == RuntimeVersion());
}

}  // namespace
}  // namespace mmoe
