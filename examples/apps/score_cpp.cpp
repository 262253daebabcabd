// score_cpp: scores raw float32 feature rows with an mmoe-edge model through the C++ API.
//
//   score_cpp MODEL.mmoe FEATURES.f32 N [SCORES.f32]
//
// FEATURES.f32 holds N x input_dim little-endian float32 values, row-major, no header.
// Prints "row task score" lines for the first rows and a per-task summary; with SCORES.f32,
// also writes all N x num_tasks scores there as little-endian float32.
// score_c prints exactly the same text with the C API; keep the two in step.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "mmoe/mmoe.h"

namespace {

constexpr size_t kRowsShown = 5;

// Decodes little-endian float32 in place, whatever the host byte order.
void FromLittleEndian(std::vector<float>* values) {
  for (float& v : *values) {
    unsigned char b[4];
    std::memcpy(b, &v, 4);
    const uint32_t bits = uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
    std::memcpy(&v, &bits, 4);
  }
}

// Encodes host floats as little-endian float32 in place (the inverse of FromLittleEndian).
void ToLittleEndian(std::vector<float>* values) {
  for (float& v : *values) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    const unsigned char b[4] = {static_cast<unsigned char>(bits), static_cast<unsigned char>(bits >> 8),
                                static_cast<unsigned char>(bits >> 16),
                                static_cast<unsigned char>(bits >> 24)};
    std::memcpy(&v, b, 4);
  }
}

// A positive row count, or 0 for anything else.
size_t ParseRows(const char* text) {
  if (text[0] < '0' || text[0] > '9') return 0;
  char* end = nullptr;
  errno = 0;
  const unsigned long long n = std::strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0' || n > SIZE_MAX) return 0;
  return static_cast<size_t>(n);
}

// RAII for stdio, so every early return closes the file.
struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

bool ReadFeatures(const char* path, std::vector<float>* out) {
  const File f(std::fopen(path, "rb"));
  if (!f) {
    std::fprintf(stderr, "score_cpp: cannot open features '%s': %s\n", path, std::strerror(errno));
    return false;
  }
  const size_t got = std::fread(out->data(), sizeof(float), out->size(), f.get());
  if (got != out->size()) {
    std::fprintf(stderr, "score_cpp: '%s' holds %zu float32 values, expected %zu (N x input_dim)\n", path,
                 got, out->size());
    return false;
  }
  FromLittleEndian(out);
  return true;
}

bool WriteScores(const char* path, std::vector<float> scores) {
  File f(std::fopen(path, "wb"));
  if (!f) {
    std::fprintf(stderr, "score_cpp: cannot create '%s': %s\n", path, std::strerror(errno));
    return false;
  }
  ToLittleEndian(&scores);
  bool ok = std::fwrite(scores.data(), sizeof(float), scores.size(), f.get()) == scores.size();
  ok &= std::fclose(f.release()) == 0;
  if (!ok) std::fprintf(stderr, "score_cpp: cannot write '%s'\n", path);
  return ok;
}

// Same text as score_c's PrintScores, so the ctest can compare the two byte for byte.
void PrintScores(const mmoe::Model& model, const std::vector<float>& scores, size_t n_rows) {
  const size_t n_tasks = static_cast<size_t>(model.num_tasks());
  std::printf("row task score\n");
  for (size_t row = 0; row < n_rows && row < kRowsShown; ++row) {
    for (size_t t = 0; t < n_tasks; ++t) {
      // %.9g round-trips a float32, so equal text means equal scores.
      std::printf("%zu %s %.9g\n", row, model.task_name(static_cast<int>(t)), scores[row * n_tasks + t]);
    }
  }
  std::printf("scored %zu rows x %zu tasks with model '%s'\n", n_rows, n_tasks, model.name());
  for (size_t t = 0; t < n_tasks; ++t) {
    double sum = 0.0;
    for (size_t row = 0; row < n_rows; ++row) sum += scores[row * n_tasks + t];
    std::printf("mean %s %.9g\n", model.task_name(static_cast<int>(t)), sum / static_cast<double>(n_rows));
  }
}

bool Check(const char* what, const mmoe::Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "score_cpp: %s failed: %s: %s\n", what, mmoe::StatusCodeName(s.code()), s.message());
  }
  return s.ok();
}

int Run(const char* model_path, const char* features_path, size_t n_rows, const char* scores_path) {
  std::shared_ptr<const mmoe::Model> model;
  if (!Check("loading the model", mmoe::Model::LoadFile(model_path, &model))) return 1;
  std::unique_ptr<mmoe::Session> session;
  if (!Check("creating a session", mmoe::Session::Create(model, mmoe::SessionOptions(), &session))) return 1;
  const size_t dim = static_cast<size_t>(model->input_dim());
  const size_t n_tasks = static_cast<size_t>(model->num_tasks());
  if (n_rows > SIZE_MAX / sizeof(float) / (dim > n_tasks ? dim : n_tasks)) {
    std::fprintf(stderr, "score_cpp: %zu rows is too many\n", n_rows);
    return 1;
  }
  std::vector<float> features(n_rows * dim);
  if (!ReadFeatures(features_path, &features)) return 1;
  std::vector<float> scores(n_rows * n_tasks);
  if (!Check("scoring", session->Score(features.data(), n_rows, scores.data(), scores.size()))) return 1;
  PrintScores(*model, scores, n_rows);
  return scores_path && !WriteScores(scores_path, scores) ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: %s MODEL.mmoe FEATURES.f32 N [SCORES.f32]\n", argv[0]);
    return 2;
  }
  const size_t n_rows = ParseRows(argv[3]);
  if (n_rows == 0) {
    std::fprintf(stderr, "score_cpp: N must be a positive row count, got '%s'\n", argv[3]);
    return 2;
  }
  try {
    return Run(argv[1], argv[2], n_rows, argc == 5 ? argv[4] : nullptr);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "score_cpp: out of memory for %zu rows\n", n_rows);
    return 1;
  }
}
