#include "mmoe/converter/rows.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace mmoe::converter {
namespace {

class NpyRowSource : public RowSource {
 public:
  NpyRowSource(const std::string& path, int64_t expected_cols) : reader_(path, expected_cols), name_(path) {}
  int64_t rows() const override { return reader_.rows(); }
  int64_t cols() const override { return reader_.cols(); }
  Matrix Read(int64_t first, int64_t count) override { return reader_.ReadRows(first, count); }
  const std::string& name() const override { return name_; }

 private:
  NpyRowReader reader_;
  std::string name_;
};

// A CSV file read whole, owning its matrix.
class OwnedRowSource : public RowSource {
 public:
  OwnedRowSource(Matrix m, const std::string& name) : m_(std::move(m)), view_(m_, name) {}
  int64_t rows() const override { return view_.rows(); }
  int64_t cols() const override { return view_.cols(); }
  Matrix Read(int64_t first, int64_t count) override { return view_.Read(first, count); }
  const std::string& name() const override { return view_.name(); }

 private:
  Matrix m_;
  MatrixRowSource view_;
};

}  // namespace

Matrix MatrixRowSource::Read(int64_t first, int64_t count) {
  if (first < 0 || count < 0 || first > m_.rows || count > m_.rows - first) {
    throw ConvertError(name_ + ": rows [" + std::to_string(first) + ", " + std::to_string(first + count) +
                       ") are outside its " + std::to_string(m_.rows) + " rows");
  }
  Matrix out;
  out.rows = count;
  out.cols = m_.cols;
  out.data.assign(m_.row(first), m_.row(first) + count * m_.cols);
  return out;
}

std::unique_ptr<RowSource> OpenRows(const std::string& path, int64_t expected_cols) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == ".npy") return std::make_unique<NpyRowSource>(path, expected_cols);
  // ReadMatrix reads .csv and names any other extension as an error.
  return std::make_unique<OwnedRowSource>(ReadMatrix(path, expected_cols), path);
}

}  // namespace mmoe::converter
