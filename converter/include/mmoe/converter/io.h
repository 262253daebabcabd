// The converter's input/output layer: calibration matrices (.npy, .csv), float weights
// (.safetensors), the architecture JSON (docs/arch-json.md), and atomic file writes.
//
// Every failure throws ConvertError whose message starts with the file at fault and names the
// row, column, tensor or JSON field, e.g.
//   calib.csv: line 17 has 99 values, expected 100
//   calib.npy: row 3, column 12 is NaN
//   arch.json: tasks[1].tower.layers[0]: unknown key 'activaton'
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "mmoe/converter/float_model.h"

namespace mmoe::converter {

// A row-major float32 matrix: one calibration item (or one score row) per row.
struct Matrix {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<float> data;  // rows * cols

  float* row(int64_t r) { return data.data() + r * cols; }
  const float* row(int64_t r) const { return data.data() + r * cols; }
};

// ---------------------------------------------------------------------------------------------
// Readers. `expected_cols` >= 0 checks the width; -1 accepts any width.

// .npy, format version 1.0, 2.0 or 3.0. Accepted dtypes: <f4, <f8, |b1, |u1, |i1, <i2, <i4,
// <i8, <u2, <u4 (all converted to float32; f8 values beyond the float32 range are an error).
// Shape [N, D], or [N] read as [N, 1]. fortran_order True is accepted and transposed into the
// row-major result. Errors: bad magic or header, unsupported or big-endian dtype, other ranks,
// N == 0 or D == 0, truncated data or trailing bytes, NaN/Inf (row and column are 0-based, as
// numpy indexes them), width != expected_cols.
Matrix ReadNpy(const std::string& path, int64_t expected_cols = -1);

// The same file read a range of rows at a time, so that a calibration or evaluation set of any
// size streams through a bounded buffer. The constructor reads and checks the header and the
// file size (every error ReadNpy reports except bad values); ReadRows checks the values it
// reads, naming rows by their index in the whole file.
class NpyRowReader {
 public:
  explicit NpyRowReader(const std::string& path, int64_t expected_cols = -1);
  // Reads an open stream (closed by the reader), e.g. bytes in memory through fmemopen;
  // `path` names it in messages.
  NpyRowReader(std::FILE* file, const std::string& path, int64_t expected_cols);
  ~NpyRowReader();
  NpyRowReader(const NpyRowReader&) = delete;
  NpyRowReader& operator=(const NpyRowReader&) = delete;

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  // Rows [first, first + count) as a count x cols matrix; a range outside the file is an error.
  Matrix ReadRows(int64_t first, int64_t count);

 private:
  std::string path_;
  // Owned; a unique_ptr so that a constructor that throws (bad header) still closes it.
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file_{nullptr, &std::fclose};
  int64_t rows_ = 0, cols_ = 0;
  uint64_t data_start_ = 0;
  char type_kind_ = 0;
  int type_size_ = 0;
  bool fortran_order_ = false;
};

// .csv: comma-separated numbers, one row per line. Optional header: the first line is a header
// when one of its fields is not a number; its names (spaces and surrounding double quotes
// trimmed) go to `header` (left empty when there is none). Accepted: "\r\n", a UTF-8 BOM,
// spaces around fields, blank lines at the end; values too small for float32 become 0. Errors
// name the file's 1-based line (and column): empty file, header without data, blank line
// followed by data, wrong width, empty or non-numeric field, NaN/Inf, values beyond the float32
// range.
Matrix ReadCsv(const std::string& path, int64_t expected_cols = -1,
               std::vector<std::string>* header = nullptr);

// Dispatches on the extension (.npy / .csv, case-insensitive); another extension is an error.
Matrix ReadMatrix(const std::string& path, int64_t expected_cols = -1);

// ReadNpy and ReadCsv on a file's bytes already in memory (the fuzz targets use them);
// `label` stands for the path in error messages.
Matrix ParseNpy(const std::string& bytes, const std::string& label, int64_t expected_cols = -1);
Matrix ParseCsv(const std::string& bytes, const std::string& label, int64_t expected_cols = -1,
                std::vector<std::string>* header = nullptr);

// ---------------------------------------------------------------------------------------------
// Writers. All write atomically (WriteFileAtomic). `m.data.size()` must be rows * cols.

// float32 '<f4', version 1.0, C order, shape [rows, cols].
void WriteNpy(const std::string& path, const Matrix& m);

// One .npy array with its element kind kept: integers exactly (ids), floats as ReadNpy gives
// them. Shapes [N] (one column) and [N, D]; errors as ReadNpy's.
struct NpyArray {
  std::vector<int64_t> shape;
  bool integer = false;       // an integer or boolean dtype
  std::vector<int64_t> ints;  // integer dtypes: rows x cols
  Matrix floats;              // float dtypes: the values; any dtype: rows and cols
};
NpyArray ParseNpyArray(const std::string& bytes, const std::string& label);

// The members of an .npz archive (np.savez, and np.savez_compressed where zlib is built in),
// named without ".npy", each an .npy file's bytes.
struct NpzMember {
  std::string name;
  std::string bytes;
};
std::vector<NpzMember> ReadNpz(const std::string& path);
std::vector<NpzMember> ParseNpz(const std::string& bytes, const std::string& label);

// An optional header line (`header` empty, or exactly `cols` names without ',', '"' or line
// breaks), then one line per row, values printed as %.9g so float32 round-trips exactly.
void WriteCsv(const std::string& path, const Matrix& m, const std::vector<std::string>& header);

// WriteNpy or WriteCsv by extension (.npy / .csv, case-insensitive). `header` is ignored for
// .npy.
void WriteMatrix(const std::string& path, const Matrix& m, const std::vector<std::string>& header);

// Writes `size` bytes to `path` atomically (POSIX): a temporary file in the same directory is
// fully written and fsync'ed, then renamed over `path`, and the directory is fsync'ed. On any
// failure the temporary is removed, `path` is untouched, and the ConvertError says what failed
// ("model.mmoe: write failed: No space left on device").
void WriteFileAtomic(const std::string& path, const void* data, size_t size);

// The whole file as bytes; ConvertError "<path>: cannot read: <reason>" on failure.
std::string ReadFileBytes(const std::string& path);

// ---------------------------------------------------------------------------------------------
// Float weights.

struct Tensor {
  std::vector<int64_t> shape;  // [] for a scalar
  std::vector<float> data;     // product(shape) values, row-major (empty when `mapped` holds them)
  std::shared_ptr<const MappedFloats> mapped;
};

// .safetensors: 8-byte little-endian header length, JSON header, data. Dtypes F32, F64, F16 and
// BF16 (converted to float32); others are an error naming the tensor and dtype. Checks: header
// length against the file size, well-formed JSON without duplicate names, offsets in range and
// non-overlapping, byte size == product(shape) * dtype size, finite values (the error names the
// tensor and the flat index). "__metadata__" (string to string) goes to `metadata` if given.
// Two-dimensional float32 tensors of at least `map_from_bytes` bytes (0: none) are left in the
// file, mapped (Tensor::mapped), their values checked as they are read once: embedding tables
// larger than memory convert.
std::map<std::string, Tensor> ReadSafetensors(const std::string& path,
                                              std::map<std::string, std::string>* metadata = nullptr,
                                              size_t map_from_bytes = 0);
// The same on the file's bytes in memory; `label` stands for the path in error messages.
std::map<std::string, Tensor> ParseSafetensors(const std::string& bytes, const std::string& label,
                                               std::map<std::string, std::string>* metadata = nullptr);

// Parses JSON text, rejecting duplicate object keys (which nlohmann::json would silently
// collapse) and values nested deeper than kMaxJsonDepth. Errors read "<label>: <what>".
constexpr int kMaxJsonDepth = 64;
nlohmann::json ParseJsonStrict(const std::string& text, const std::string& label);

// ---------------------------------------------------------------------------------------------
// Import: weights + architecture -> FloatModel (checked with Validate before it is returned).

// `arch_path` empty: the seed's PyTorch layout is recognised by key names (docs/arch-json.md);
// keys matching no pattern are an error listing them. Otherwise the architecture JSON names
// every tensor; unknown JSON keys, missing tensors and tensors the architecture does not use are
// errors. Shapes must chain: every expert and gate starts at input_dim, each layer's input width
// is the previous layer's output, all experts end at the same width, a gate's last layer has one
// output per mixed expert, towers start at the expert width and end at 1. The model name
// defaults to the weights file's stem.
FloatModel ImportModel(const std::string& weights_path, const std::string& arch_path = "");

// The same from parsed parts. `source_name` is the weights file's name: it prefixes tensor
// errors and its stem is the default model name. JSON errors are prefixed with "arch".
FloatModel ImportModelFromArch(const nlohmann::json& arch, const std::map<std::string, Tensor>& tensors,
                               const std::string& source_name);

// The seed layout: experts.{i}.{j}, gating{t}_network.{j}, task{t}_head.{j} (.weight / .bias,
// j sorted numerically; a missing .bias is a zero bias). input_dim is the first expert layer's
// input width; gate t mixes all experts for task t ("task1", "task2", ...); the number of task
// heads must equal the number of gates. ReLU after every expert layer and between gate/tower
// layers; sigmoid outputs. `model_name` names the model and prefixes errors.
FloatModel ImportSeedLayout(const std::map<std::string, Tensor>& tensors, const std::string& model_name);

}  // namespace mmoe::converter
