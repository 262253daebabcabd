// NumPy .npy reader and writer (format versions 1.0-3.0), and the .npy/.csv dispatch.
//
// Format: "\x93NUMPY", major, minor, header length (uint16 LE for 1.x, uint32 LE for 2.x/3.x),
// a Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...), }, then the data.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "mmoe/converter/io.h"

namespace mmoe::converter {
namespace {

// Doubles from here up round to float32 infinity (FLT_MAX plus half an ulp, where
// round-to-nearest-even goes up); anything smaller rounds to a finite float.
constexpr double kFloatOverflow = 0x1.ffffffp+127;

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
// numpy's own limit on header lengths (np.load's max_header_size): format 2.0 allows 4 GiB,
// which would otherwise be read and held before anything is checked.
constexpr uint64_t kMaxHeaderSize = 10000;

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

struct DType {
  char kind = 0;  // 'b', 'i', 'u' or 'f'
  int size = 0;   // bytes per element
};

// Parses the header's Python dict literal. numpy writes a fixed subset of Python syntax:
// quoted strings, True/False, integers and tuples of integers.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& path) : s_(text), path_(path) {}

  NpyHeader Parse() {
    NpyHeader header;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    Expect('{');
    while (!Peek('}')) {
      const std::string key = ParseString();
      Expect(':');
      if (key == "descr") {
        if (Peek('[')) Fail("structured dtypes are not supported");
        header.descr = ParseString();
        seen_descr = true;
      } else if (key == "fortran_order") {
        header.fortran_order = ParseBool();
        seen_order = true;
      } else if (key == "shape") {
        header.shape = ParseShape();
        seen_shape = true;
      } else {
        Fail("unexpected header key '" + key + "'");
      }
      if (!Peek('}')) Expect(',');
    }
    Expect('}');
    if (!seen_descr || !seen_order || !seen_shape) {
      Fail("header must contain 'descr', 'fortran_order' and 'shape'");
    }
    // numpy pads the dict with spaces and ends it with a newline; anything else (NUL bytes,
    // a second value) is not a header numpy would read.
    SkipSpace();
    if (pos_ != s_.size()) Fail("unexpected bytes after the dict at offset " + std::to_string(pos_));
    return header;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const {
    throw ConvertError(path_ + ": bad npy header: " + what);
  }

  void SkipSpace() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }

  bool Peek(char c) {
    SkipSpace();
    return pos_ < s_.size() && s_[pos_] == c;
  }

  void Expect(char c) {
    if (!Peek(c)) Fail(std::string("expected '") + c + "' at offset " + std::to_string(pos_));
    ++pos_;
  }

  std::string ParseString() {
    SkipSpace();
    if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"')) {
      Fail("expected a quoted string at offset " + std::to_string(pos_));
    }
    const char quote = s_[pos_++];
    const size_t end = s_.find(quote, pos_);
    if (end == std::string::npos) Fail("unterminated string");
    std::string value = s_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return value;
  }

  bool ParseBool() {
    SkipSpace();
    for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      const size_t n = std::strlen(word);
      if (s_.compare(pos_, n, word) == 0) {
        pos_ += n;
        return value;
      }
    }
    Fail("fortran_order must be True or False");
  }

  int64_t ParseDimension() {
    SkipSpace();
    int64_t value = 0;
    const size_t start = pos_;
    while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
      if (value > (std::numeric_limits<int64_t>::max() - 9) / 10) Fail("shape is too large");
      value = value * 10 + (s_[pos_++] - '0');
    }
    if (pos_ == start) Fail("shape must be a tuple of non-negative integers");
    if (pos_ < s_.size() && s_[pos_] == 'L') ++pos_;  // Python 2 long literal
    return value;
  }

  std::vector<int64_t> ParseShape() {
    std::vector<int64_t> shape;
    Expect('(');
    while (!Peek(')')) {
      shape.push_back(ParseDimension());
      if (!Peek(')')) Expect(',');
    }
    Expect(')');
    return shape;
  }

  const std::string& s_;
  const std::string& path_;
  size_t pos_ = 0;
};

uint64_t LoadLittleEndian(const unsigned char* p, int size) {
  uint64_t value = 0;
  for (int i = size - 1; i >= 0; --i) value = (value << 8) | p[i];
  return value;
}

DType ParseDType(const std::string& descr, const std::string& path) {
  const auto unsupported = [&](const std::string& why) {
    return ConvertError(path + ": dtype '" + descr + "' " + why +
                        " (supported: <f4 <f8 |b1 |u1 |i1 <i2 <i4 <i8 <u2 <u4 <u8)");
  };
  if (descr.size() < 3) throw unsupported("is not supported");
  const char order = descr[0];
  DType type{descr[1], 0};
  const std::string size_text = descr.substr(2);
  if (size_text == "1" || size_text == "2" || size_text == "4" || size_text == "8") {
    type.size = size_text[0] - '0';
  }
  const bool known = (type.kind == 'f' && (type.size == 4 || type.size == 8)) ||
                     ((type.kind == 'i' || type.kind == 'u') && type.size != 0) ||
                     (type.kind == 'b' && type.size == 1);
  if (!known) throw unsupported("is not supported");
  // Byte order matters only for multi-byte types; numpy writes '|' for single bytes.
  if (type.size > 1 && order == '>') throw unsupported("is big-endian, which is not supported");
  if (type.size > 1 && order != '<') throw unsupported("has an unsupported byte order");
  if (type.size == 1 && order != '|' && order != '<' && order != '>') {
    throw unsupported("has an unsupported byte order");
  }
  return type;
}

// One element as double (exact for every supported type except 64-bit integers beyond 2^53,
// which float32 cannot represent anyway).
double LoadElement(const unsigned char* p, DType type) {
  const uint64_t bits = LoadLittleEndian(p, type.size);
  switch (type.kind) {
    case 'f':
      if (type.size == 4) {
        const auto u = static_cast<uint32_t>(bits);
        float f;
        std::memcpy(&f, &u, sizeof f);
        return f;
      } else {
        double d;
        std::memcpy(&d, &bits, sizeof d);
        return d;
      }
    case 'i': {
      const int shift = 64 - 8 * type.size;  // sign-extend from type.size bytes
      return static_cast<double>(static_cast<int64_t>(bits << shift) >> shift);
    }
    case 'u':
      return static_cast<double>(bits);
    default:  // 'b'
      return bits != 0 ? 1.0 : 0.0;
  }
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? "," : "") + std::to_string(shape[i]);
  return text + "]";
}

void CheckHeaderSize(uint64_t header_size, const std::string& path) {
  if (header_size > kMaxHeaderSize) {
    throw ConvertError(path + ": npy header length " + std::to_string(header_size) +
                       " is over numpy's limit of " + std::to_string(kMaxHeaderSize) + " bytes");
  }
}

// Locates the header text and returns it; `data_start` receives the data's offset.
// `bytes` holds the file's start (at least the whole header when the file has one);
// `file_size` is the whole file's.
std::string ExtractHeader(const std::string& bytes, uint64_t file_size, const std::string& path,
                          size_t* data_start) {
  if (bytes.size() < kMagicSize + 2 || bytes.compare(0, kMagicSize, kMagic, kMagicSize) != 0) {
    throw ConvertError(path + ": not an npy file (bad magic)");
  }
  const int major = static_cast<unsigned char>(bytes[6]);
  if (major < 1 || major > 3) {
    throw ConvertError(path + ": unsupported npy format version " + std::to_string(major) + "." +
                       std::to_string(static_cast<unsigned char>(bytes[7])));
  }
  const size_t length_size = major == 1 ? 2 : 4;
  const size_t prefix = kMagicSize + 2 + length_size;
  if (bytes.size() < prefix) throw ConvertError(path + ": truncated npy header");
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const uint64_t header_size = LoadLittleEndian(p + kMagicSize + 2, static_cast<int>(length_size));
  CheckHeaderSize(header_size, path);
  if (header_size > bytes.size() - prefix) {
    throw ConvertError(path + ": truncated npy header (header length " + std::to_string(header_size) +
                       ", file size " + std::to_string(file_size) + ")");
  }
  *data_start = prefix + header_size;
  return bytes.substr(prefix, header_size);
}

// [N] -> N x 1, [N, D] -> N x D; anything else, or an empty matrix, is an error.
void MatrixShape(const std::vector<int64_t>& shape, const std::string& path, int64_t* rows, int64_t* cols) {
  if (shape.size() != 1 && shape.size() != 2) {
    throw ConvertError(path + ": array has shape " + ShapeText(shape) + ", expected [N, D] or [N]");
  }
  *rows = shape[0];
  *cols = shape.size() == 2 ? shape[1] : 1;
  if (*rows == 0 || *cols == 0) {
    throw ConvertError(path + ": array is empty (shape " + ShapeText(shape) + ")");
  }
}

// Element (r, c) converted to float; the error names its 0-based position.
float CheckedValue(double v, int64_t r, int64_t c, const std::string& path) {
  const auto where = [&] { return path + ": row " + std::to_string(r) + ", column " + std::to_string(c); };
  if (std::isnan(v)) throw ConvertError(where() + " is NaN");
  if (std::isinf(v)) throw ConvertError(where() + (v > 0 ? " is +Inf" : " is -Inf"));
  if (std::fabs(v) >= kFloatOverflow) {
    throw ConvertError(where() + " is " + std::to_string(v) + ", beyond the float32 range");
  }
  return static_cast<float>(v);
}

std::string LowerExtension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

[[noreturn]] void FailIo(const std::string& path, const char* what, int err) {
  throw ConvertError(path + ": " + what + ": " + std::strerror(err));
}

[[noreturn]] void UnknownExtension(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  throw ConvertError(path + ": unknown extension '" + ext + "' (expected .npy or .csv)");
}

}  // namespace

NpyRowReader::NpyRowReader(const std::string& path, int64_t expected_cols)
    : NpyRowReader(std::fopen(path.c_str(), "rb"), path, expected_cols) {}

NpyRowReader::NpyRowReader(std::FILE* file, const std::string& path, int64_t expected_cols)
    : path_(path), file_(file, &std::fclose) {
  if (file_ == nullptr) FailIo(path, "cannot open", errno);
  // The header is small (numpy pads it to 64 bytes, and reads at most kMaxHeaderSize).
  std::string head(kMagicSize + 2 + 4, '\0');
  head.resize(std::fread(&head[0], 1, head.size(), file_.get()));
  if (fseeko(file_.get(), 0, SEEK_END) != 0) FailIo(path, "cannot seek", errno);
  const off_t end = ftello(file_.get());
  if (end < 0) FailIo(path, "cannot seek", errno);
  const uint64_t file_size = static_cast<uint64_t>(end);
  if (head.size() >= kMagicSize + 2 + 4 || head.size() == file_size) {
    // Read the whole header: its length comes right after the magic and version.
    const int major = head.size() > 6 ? static_cast<unsigned char>(head[6]) : 0;
    const size_t prefix = kMagicSize + 2 + (major == 1 ? 2 : 4);
    if (head.size() >= prefix && major >= 1 && major <= 3) {
      const auto* p = reinterpret_cast<const unsigned char*>(head.data());
      const uint64_t header_size =
          LoadLittleEndian(p + kMagicSize + 2, static_cast<int>(prefix - kMagicSize - 2));
      CheckHeaderSize(header_size, path);
      const uint64_t want = std::min<uint64_t>(file_size, prefix + header_size);
      head.resize(want);
      if (fseeko(file_.get(), 0, SEEK_SET) != 0 || std::fread(&head[0], 1, want, file_.get()) != want) {
        FailIo(path, "cannot read", errno);
      }
    }
  }
  size_t data_start = 0;
  const std::string header_text = ExtractHeader(head, file_size, path, &data_start);
  const NpyHeader header = HeaderParser(header_text, path).Parse();
  const DType type = ParseDType(header.descr, path);
  type_kind_ = type.kind;
  type_size_ = type.size;
  fortran_order_ = header.fortran_order;
  data_start_ = data_start;
  MatrixShape(header.shape, path, &rows_, &cols_);
  if (expected_cols >= 0 && cols_ != expected_cols) {
    throw ConvertError(path + ": array has " + std::to_string(cols_) + " columns, expected " +
                       std::to_string(expected_cols));
  }
  // Compare element counts first so that absurd shapes cannot overflow a byte count.
  const uint64_t have = file_size - data_start;
  const bool too_many = rows_ > std::numeric_limits<int64_t>::max() / cols_;
  const uint64_t count = static_cast<uint64_t>(rows_) * static_cast<uint64_t>(cols_);
  if (too_many || count > have / type_size_) {
    throw ConvertError(path + ": truncated data: " + std::to_string(have) + " bytes, too few for " +
                       "shape " + ShapeText(header.shape) + " " + header.descr);
  }
  if (have > count * type_size_) {
    throw ConvertError(path + ": " + std::to_string(have - count * type_size_) +
                       " unexpected bytes after the data");
  }
}

NpyRowReader::~NpyRowReader() = default;

Matrix NpyRowReader::ReadRows(int64_t first, int64_t count) {
  if (first < 0 || count < 0 || first > rows_ || count > rows_ - first) {
    throw ConvertError(path_ + ": rows [" + std::to_string(first) + ", " + std::to_string(first + count) +
                       ") are outside the array's " + std::to_string(rows_) + " rows");
  }
  Matrix m;
  m.rows = count;
  m.cols = cols_;
  m.data.resize(static_cast<size_t>(count * cols_));
  // C order: the rows are one contiguous run. Fortran order: one run per column.
  const int64_t runs = fortran_order_ ? cols_ : 1;
  const int64_t run_elements = fortran_order_ ? count : count * cols_;
  std::vector<unsigned char> buf(static_cast<size_t>(run_elements * type_size_));
  for (int64_t run = 0; run < runs; ++run) {
    const int64_t offset = fortran_order_ ? run * rows_ + first : first * cols_;
    if (fseeko(file_.get(), static_cast<off_t>(data_start_ + offset * type_size_), SEEK_SET) != 0 ||
        std::fread(buf.data(), 1, buf.size(), file_.get()) != buf.size()) {
      FailIo(path_, "cannot read", errno);
    }
    for (int64_t i = 0; i < run_elements; ++i) {
      const int64_t r = fortran_order_ ? i : i / cols_;
      const int64_t c = fortran_order_ ? run : i % cols_;
      m.data[r * cols_ + c] = CheckedValue(
          LoadElement(buf.data() + i * type_size_, DType{type_kind_, type_size_}), first + r, c, path_);
    }
  }
  return m;
}

Matrix ReadNpy(const std::string& path, int64_t expected_cols) {
  NpyRowReader reader(path, expected_cols);
  return reader.ReadRows(0, reader.rows());
}

Matrix ParseNpy(const std::string& bytes, const std::string& path, int64_t expected_cols) {
  // The reader works on a stream: the bytes are read through one in memory (an empty temporary
  // file for no bytes, which fmemopen may refuse).
  std::FILE* f =
      bytes.empty() ? std::tmpfile() : fmemopen(const_cast<char*>(bytes.data()), bytes.size(), "rb");
  NpyRowReader reader(f, path, expected_cols);
  return reader.ReadRows(0, reader.rows());
}

NpyArray ParseNpyArray(const std::string& bytes, const std::string& label) {
  size_t data_start = 0;
  const std::string header_text = ExtractHeader(bytes, bytes.size(), label, &data_start);
  const NpyHeader header = HeaderParser(header_text, label).Parse();
  const DType type = ParseDType(header.descr, label);
  NpyArray a;
  a.shape = header.shape;
  a.integer = type.kind != 'f';
  int64_t rows = 0, cols = 0;
  MatrixShape(header.shape, label, &rows, &cols);
  const uint64_t have = bytes.size() - data_start;
  const uint64_t count = static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols);
  if (rows > std::numeric_limits<int64_t>::max() / cols || count != have / type.size ||
      have % type.size != 0) {
    throw ConvertError(label + ": " + std::to_string(have) + " data bytes do not hold shape " +
                       ShapeText(header.shape) + " " + header.descr);
  }
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data()) + data_start;
  // Element (r, c): row-major, or column-major (fortran_order).
  const auto at = [&](int64_t r, int64_t c) {
    const uint64_t i =
        header.fortran_order ? static_cast<uint64_t>(c) * rows + r : static_cast<uint64_t>(r) * cols + c;
    return p + i * type.size;
  };
  a.floats.rows = rows;
  a.floats.cols = cols;
  if (a.integer)
    a.ints.resize(count);
  else
    a.floats.data.resize(count);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const size_t i = static_cast<size_t>(r * cols + c);
      if (!a.integer) {
        a.floats.data[i] = CheckedValue(LoadElement(at(r, c), type), r, c, label);
        continue;
      }
      const uint64_t bits = LoadLittleEndian(at(r, c), type.size);
      if (type.kind == 'u' && type.size == 8 &&
          bits > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        throw ConvertError(label + ": row " + std::to_string(r) + ", column " + std::to_string(c) + " is " +
                           std::to_string(bits) + ", beyond int64");
      }
      const int shift = 64 - 8 * type.size;
      a.ints[i] =
          type.kind == 'i' ? static_cast<int64_t>(bits << shift) >> shift : static_cast<int64_t>(bits);
    }
  }
  return a;
}

void WriteNpy(const std::string& path, const Matrix& m) {
  if (m.rows < 0 || m.cols < 0 || m.data.size() != static_cast<size_t>(m.rows * m.cols)) {
    throw ConvertError(path + ": matrix has " + std::to_string(m.data.size()) +
                       " values, expected rows * cols = " + std::to_string(m.rows * m.cols));
  }
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(m.rows) + ", " +
                       std::to_string(m.cols) + "), }";
  // numpy pads the header with spaces and a final newline so the data starts 64-byte aligned.
  const size_t prefix = kMagicSize + 2 + 2;
  const size_t total = (prefix + header.size() + 1 + 63) / 64 * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header.push_back('\n');

  std::string bytes(kMagic, kMagicSize);
  bytes.push_back('\x01');
  bytes.push_back('\x00');
  bytes.push_back(static_cast<char>(header.size() & 0xff));
  bytes.push_back(static_cast<char>(header.size() >> 8));
  bytes += header;
  bytes.reserve(bytes.size() + m.data.size() * 4);
  for (const float v : m.data) {
    uint32_t u;
    std::memcpy(&u, &v, sizeof u);
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
  }
  WriteFileAtomic(path, bytes.data(), bytes.size());
}

Matrix ReadMatrix(const std::string& path, int64_t expected_cols) {
  const std::string ext = LowerExtension(path);
  if (ext == ".npy") return ReadNpy(path, expected_cols);
  if (ext == ".csv") return ReadCsv(path, expected_cols);
  UnknownExtension(path);
}

void WriteMatrix(const std::string& path, const Matrix& m, const std::vector<std::string>& header) {
  const std::string ext = LowerExtension(path);
  if (ext == ".npy") return WriteNpy(path, m);
  if (ext == ".csv") return WriteCsv(path, m, header);
  UnknownExtension(path);
}

}  // namespace mmoe::converter
