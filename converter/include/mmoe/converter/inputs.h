// A model's inputs for a batch of rows: float features, and the ids of sparse features (one per
// row, or a bag per row), as Session::Score takes them. The converter calibrates, evaluates and
// scores on these; a model with one dense input takes a plain Matrix too.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "mmoe/converter/io.h"
#include "mmoe/mmoe.h"

namespace mmoe::converter {

// One input's values for `rows` rows.
struct InputArray {
  std::string name;
  graph::InputKind kind = graph::InputKind::kDense;
  Matrix floats;                 // dense: rows x width
  std::vector<int64_t> ids;      // ids: one per row; bag: every row's, back to back
  std::vector<int64_t> offsets;  // bag: rows + 1, from 0 to ids.size()
};

struct Inputs {
  int64_t rows = 0;
  std::vector<InputArray> arrays;  // in the model's input order

  // A model's one dense input.
  static Inputs Dense(const Matrix& x, const std::string& name = "input");
  // Rows [first, first + count).
  Inputs Slice(int64_t first, int64_t count) const;
  // Appends `more`'s rows (the same inputs).
  void Append(const Inputs& more);
  // What Session::Score takes (pointing into these arrays, by position).
  std::vector<InputView> Views() const;
  // Row r's ids of input i: [begin, end) into arrays[i].ids.
  int64_t Begin(size_t i, int64_t r) const;
  int64_t End(size_t i, int64_t r) const;
};

// Inputs read a chunk of rows at a time (the generalisation of RowSource).
class InputSource {
 public:
  virtual ~InputSource() = default;
  virtual int64_t rows() const = 0;
  // Rows [first, first + count); the range must lie within rows().
  virtual Inputs Read(int64_t first, int64_t count) = 0;
  virtual const std::string& name() const = 0;
};

// Inputs held in memory (they must outlive the source).
class MemoryInputSource : public InputSource {
 public:
  explicit MemoryInputSource(const Inputs& in, std::string name = "inputs")
      : in_(in), name_(std::move(name)) {}
  int64_t rows() const override { return in_.rows; }
  Inputs Read(int64_t first, int64_t count) override { return in_.Slice(first, count); }
  const std::string& name() const override { return name_; }

 private:
  const Inputs& in_;
  std::string name_;
};

// A model's inputs from a file (read whole): .npz with one array per input, named as the model
// names them (dense [N] or [N, width] floats; ids [N] integers; a bag [N, L] integers, L ids per
// row with the model's padding id where a row has fewer); .csv with a header naming the
// columns (a dense input's feature names, or its name when it is one value wide, or
// "<name>.<j>"; ids and bags one column named as the input, a bag's ids separated by spaces);
// .npy or a headerless .csv when the model's one input is dense (streamed); for a model whose
// inputs are packed in one row (format 2.2), also an .npz array named as the packed row, or its
// rows as .npy or headerless .csv. ConvertError naming the file, array, line or column otherwise.
std::unique_ptr<InputSource> OpenInputs(const std::string& path, const graph::Graph& graph);
Inputs ReadNpzInputs(const std::string& bytes, const std::string& label, const graph::Graph& graph);
Inputs ParseCsvInputs(const std::string& bytes, const std::string& label, const graph::Graph& graph);

// Format 2.2: rows laid out as the model's packed input (graph.packed, e.g. DeepCTR-Torch's X)
// split into its inputs, ids truncated toward zero as the runtime does; ConvertError naming
// `label`, the row (counted from `first_row`) and the column of a value that is not an id.
Inputs UnpackRows(const Matrix& x, const graph::Graph& graph, const std::string& label,
                  int64_t first_row = 0);

class RowSource;
// A packed model's inputs from rows of the packed width (.npy streamed, .csv).
std::unique_ptr<InputSource> PackedInputSource(std::unique_ptr<RowSource> rows, const graph::Graph& graph);

// A model's one dense input from rows (.npy streamed, .csv).
std::unique_ptr<InputSource> DenseInputSource(std::unique_ptr<RowSource> rows,
                                              std::string input_name = "input");
// The same on rows the caller keeps (they must outlive the source).
std::unique_ptr<InputSource> DenseInputSource(RowSource& rows, std::string input_name = "input");

struct FloatModel;
// Checks `in` against the model's inputs (count, kinds, widths, offsets, and ids within their
// tables unless they are padding or the embedding has a default row); ConvertError naming
// `label`, the input and the row.
void CheckInputs(const Inputs& in, const FloatModel& model, const std::string& label);

// Calls fn(first, chunk) for consecutive chunks of at most `chunk_rows` rows of the first
// `limit` rows (all when negative), in order.
template <typename Fn>
void ForEachInputChunk(InputSource& source, int64_t chunk_rows, int64_t limit, Fn&& fn) {
  const int64_t n = limit >= 0 && limit < source.rows() ? limit : source.rows();
  for (int64_t first = 0; first < n; first += chunk_rows) {
    const int64_t count = chunk_rows < n - first ? chunk_rows : n - first;
    fn(first, source.Read(first, count));
  }
}

}  // namespace mmoe::converter
