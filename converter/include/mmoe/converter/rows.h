// Feature rows read a chunk at a time: calibration and evaluation sets of any size pass through
// a bounded buffer (.npy is streamed from disk; .csv, which has no index of its lines, is read
// whole).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "mmoe/converter/io.h"

namespace mmoe::converter {

class RowSource {
 public:
  virtual ~RowSource() = default;
  virtual int64_t rows() const = 0;
  virtual int64_t cols() const = 0;
  // Rows [first, first + count); the range must lie within rows().
  virtual Matrix Read(int64_t first, int64_t count) = 0;
  // Where the rows come from, for messages.
  virtual const std::string& name() const = 0;
};

// Rows held in memory (the matrix must outlive the source).
class MatrixRowSource : public RowSource {
 public:
  explicit MatrixRowSource(const Matrix& m, std::string name = "rows") : m_(m), name_(std::move(name)) {}
  int64_t rows() const override { return m_.rows; }
  int64_t cols() const override { return m_.cols; }
  Matrix Read(int64_t first, int64_t count) override;
  const std::string& name() const override { return name_; }

 private:
  const Matrix& m_;
  std::string name_;
};

// .npy streamed with NpyRowReader, .csv read whole (ReadCsv); other extensions are an error.
// `expected_cols` as for ReadMatrix.
std::unique_ptr<RowSource> OpenRows(const std::string& path, int64_t expected_cols = -1);

// Calls fn(first, chunk) for consecutive chunks of at most `chunk_rows` rows, in order.
template <typename Fn>
void ForEachChunk(RowSource& source, int64_t chunk_rows, int64_t limit, Fn&& fn) {
  const int64_t n = limit >= 0 && limit < source.rows() ? limit : source.rows();
  for (int64_t first = 0; first < n; first += chunk_rows) {
    const int64_t count = chunk_rows < n - first ? chunk_rows : n - first;
    fn(first, source.Read(first, count));
  }
}

}  // namespace mmoe::converter
