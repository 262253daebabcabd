// Readers and writers: npy, csv, safetensors, atomic writes.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io_test_support.h"
#include "mmoe/converter/io.h"

namespace fs = std::filesystem;
using namespace mmoe::converter;
using mmoe::converter::testing::ErrorOf;
using mmoe::converter::testing::TempDir;

namespace {

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

template <typename T>
void AppendLittleEndian(std::string* out, T value) {
  unsigned char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // the test hosts are little-endian
  out->append(reinterpret_cast<const char*>(bytes), sizeof(T));
}

// A raw .npy file: `header_dict` verbatim, `data` verbatim, header padded to 64 bytes.
std::string NpyBytes(const std::string& header_dict, const std::string& data, int major = 1) {
  std::string header = header_dict;
  const size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string bytes = "\x93NUMPY";
  bytes += static_cast<char>(major);
  bytes += '\0';
  if (major == 1) {
    AppendLittleEndian<uint16_t>(&bytes, static_cast<uint16_t>(header.size()));
  } else {
    AppendLittleEndian<uint32_t>(&bytes, static_cast<uint32_t>(header.size()));
  }
  return bytes + header + data;
}

std::string Dict(const std::string& descr, const std::string& shape, bool fortran = false) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
         ", 'shape': " + shape + ", }";
}

template <typename T>
std::string Values(std::initializer_list<T> values) {
  std::string data;
  for (T v : values) AppendLittleEndian(&data, v);
  return data;
}

template <typename T>
std::string Values(const std::vector<T>& values) {
  std::string data;
  for (T v : values) AppendLittleEndian(&data, v);
  return data;
}

// A raw safetensors file from explicit header JSON and data.
std::string SafetensorsBytes(const std::string& header_json, const std::string& data) {
  std::string bytes;
  AppendLittleEndian<uint64_t>(&bytes, header_json.size());
  return bytes + header_json + data;
}

Matrix Sample() {
  Matrix m;
  m.rows = 3;
  m.cols = 4;
  m.data = {0.1f,         -2.5f, 1.0f / 3.0f, 3.4028235e38f, 1e-45f, -0.0f,
            123456789.0f, 7.0f,  1e-30f,      2.0f / 3.0f,   -1e10f, 0.0f};
  return m;
}

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("npy round trip keeps every float bit and aligns the data") {
  TempDir dir;
  const Matrix m = Sample();
  WriteNpy(dir / "x.npy", m);
  const Matrix back = ReadNpy(dir / "x.npy", 4);
  CHECK(back.rows == 3);
  CHECK(back.cols == 4);
  CHECK(SameBits(back.data, m.data));
  // numpy aligns the data to 64 bytes: 3 * 4 floats after a 64- or 128-byte preamble.
  CHECK((fs::file_size(dir / "x.npy") - 48) % 64 == 0);
  CHECK(ReadText(dir / "x.npy").find("'descr': '<f4'") != std::string::npos);
}

TEST_CASE("csv round trip with and without header") {
  TempDir dir;
  const Matrix m = Sample();
  WriteCsv(dir / "h.csv", m, {"a", "b", "c", "d"});
  std::vector<std::string> header;
  Matrix back = ReadCsv(dir / "h.csv", 4, &header);
  CHECK(header == std::vector<std::string>{"a", "b", "c", "d"});
  CHECK(back.rows == 3);
  CHECK(SameBits(back.data, m.data));

  WriteCsv(dir / "n.csv", m, {});
  back = ReadCsv(dir / "n.csv", -1, &header);
  CHECK(header.empty());
  CHECK(back.cols == 4);
  CHECK(SameBits(back.data, m.data));
  CHECK(ReadText(dir / "n.csv").substr(0, 14) == "0.100000001,-2");
}

TEST_CASE("ReadMatrix and WriteMatrix dispatch on the extension") {
  TempDir dir;
  const Matrix m = Sample();
  WriteMatrix(dir / "a.NPY", m, {"ignored", "for", "npy", "files"});
  WriteMatrix(dir / "b.Csv", m, {"w", "x", "y", "z"});
  CHECK(SameBits(ReadMatrix(dir / "a.NPY").data, m.data));
  CHECK(SameBits(ReadMatrix(dir / "b.Csv", 4).data, m.data));
  CHECK_ERROR_HAS(ReadMatrix(dir / "c.txt"), "c.txt", "unknown extension '.txt'");
  CHECK_ERROR_HAS(WriteMatrix(dir / "c.bin", m, {}), "c.bin", "'.bin'");
  CHECK_ERROR_HAS(WriteCsv(dir / "d.csv", m, {"1", "2", "3", "4"}), "d.csv", "numbers");
  CHECK_ERROR_HAS(WriteCsv(dir / "d.csv", m, {"a", "b"}), "d.csv", "2 names for 4 columns");
  CHECK_ERROR_HAS(WriteCsv(dir / "d.csv", m, {"a", "b,c", "d", "e"}), "'b,c'");
}

TEST_CASE("npy dtypes, versions, 1-D shape and Fortran order") {
  TempDir dir;
  const auto read = [&](const std::string& bytes, int64_t cols = -1) {
    WriteText(dir / "t.npy", bytes);
    return ReadNpy(dir / "t.npy", cols);
  };
  Matrix m = read(NpyBytes(Dict("<f8", "(2,)"), Values<double>({0.5, -1.25})));
  CHECK(m.rows == 2);
  CHECK(m.cols == 1);
  CHECK(m.data == std::vector<float>{0.5f, -1.25f});

  m = read(NpyBytes(Dict("<i2", "(1, 3)"), Values<int16_t>({-3, 0, 32767}), 2));
  CHECK(m.data == std::vector<float>{-3.0f, 0.0f, 32767.0f});
  m = read(NpyBytes(Dict("|u1", "(1, 2)"), Values<uint8_t>({255, 7}), 3));
  CHECK(m.data == std::vector<float>{255.0f, 7.0f});
  m = read(NpyBytes(Dict("|b1", "(1, 2)"), Values<uint8_t>({1, 0})));
  CHECK(m.data == std::vector<float>{1.0f, 0.0f});
  m = read(NpyBytes(Dict("<i8", "(1, 2)"), Values<int64_t>({-5, 1LL << 40})));
  CHECK(m.data == std::vector<float>{-5.0f, 1099511627776.0f});
  m = read(NpyBytes(Dict("<u4", "(1, 1)"), Values<uint32_t>({4000000000u})));
  CHECK(m.data == std::vector<float>{4e9f});
  m = read(NpyBytes(Dict("|i1", "(1, 1)"), Values<int8_t>({-128})));
  CHECK(m.data == std::vector<float>{-128.0f});

  // Fortran order stores columns contiguously: [[1, 2, 3], [4, 5, 6]] is 1 4 2 5 3 6.
  m = read(NpyBytes(Dict("<f4", "(2, 3)", true), Values<float>({1, 4, 2, 5, 3, 6})), 3);
  CHECK(m.data == std::vector<float>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("npy errors name the file and the position") {
  TempDir dir;
  const std::string path = dir / "calib.npy";
  const auto read = [&](const std::string& bytes, int64_t cols = -1) {
    WriteText(path, bytes);
    return ReadNpy(path, cols);
  };
  const std::string six = Values<float>({1, 2, 3, 4, 5, 6});
  CHECK_ERROR_HAS(read("PK\x03\x04 not numpy at all"), "calib.npy", "bad magic");
  CHECK_ERROR_HAS(read(NpyBytes(Dict(">f4", "(2, 3)"), six)), "calib.npy", "big-endian");
  CHECK_ERROR_HAS(read(NpyBytes(Dict("<c8", "(2, 3)"), six)), "calib.npy", "'<c8'");
  CHECK_ERROR_HAS(read(NpyBytes(Dict("<f4", "(1, 2, 3)"), six)), "[1,2,3]");
  CHECK_ERROR_HAS(read(NpyBytes(Dict("<f4", "(0, 3)"), "")), "calib.npy", "empty");
  CHECK_ERROR_HAS(read(NpyBytes(Dict("<f4", "(3, 3)"), six)), "calib.npy", "truncated");
  CHECK_ERROR_HAS(read(NpyBytes(Dict("<f4", "(1, 3)"), six)), "calib.npy", "12 unexpected bytes");
  CHECK_ERROR_HAS(read(NpyBytes(Dict("<f4", "(2, 3)"), six), 4), "calib.npy", "3 columns", "expected 4");
  CHECK_ERROR_HAS(read(NpyBytes("{'descr': '<f4', 'shape': (2, 3), }", six)), "bad npy header");
  CHECK_ERROR_HAS(read(NpyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", six)),
                  "bad npy header");
  std::string header = NpyBytes(Dict("<f4", "(2, 3)"), six);
  CHECK_ERROR_HAS(read(header.substr(0, 40)), "calib.npy", "truncated npy header");
  // Issue 18: a format-2 header length of 1 GiB (on a sparse file the converter read and held
  // it all), and a dict followed by NUL bytes (accepted as a header): numpy's limit of 10,000
  // bytes, and nothing but padding after the dict.
  std::string huge = "\x93NUMPY\x02";
  huge += '\0';
  AppendLittleEndian<uint32_t>(&huge, uint32_t{1} << 30);
  CHECK_ERROR_HAS(read(huge + Dict("<f4", "(2, 3)") + std::string(1000, '\0')),
                  "calib.npy: npy header length 1073741824 is over numpy's limit of 10000 bytes");
  CHECK(read(NpyBytes(Dict("<f4", "(2, 3)") + std::string(9800, ' '), six)).rows == 2);  // long, within it
  CHECK_ERROR_HAS(read(NpyBytes(Dict("<f4", "(2, 3)") + std::string(9950, ' '), six)),
                  "npy header length 10038 is over numpy's limit");
  CHECK_ERROR_HAS(read(NpyBytes(Dict("<f4", "(2, 3)") + std::string(20, '\0'), six)),
                  "calib.npy: bad npy header: unexpected bytes after the dict at offset");
  CHECK_ERROR_HAS(read(NpyBytes(Dict("<f4", "(2, 3)") + " {}", six)), "unexpected bytes after the dict");

  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  CHECK_ERROR_HAS(read(NpyBytes(Dict("<f4", "(2, 3)"), Values<float>({1, 2, 3, 4, 5, nan}))),
                  "calib.npy: row 1, column 2 is NaN");
  CHECK_ERROR_HAS(read(NpyBytes(Dict("<f4", "(2, 3)"), Values<float>({1, -inf, 3, 4, 5, 6}))),
                  "calib.npy: row 0, column 1 is -Inf");
  CHECK_ERROR_HAS(read(NpyBytes(Dict("<f8", "(1, 2)"), Values<double>({1.0, 1e300}))), "row 0, column 1",
                  "float32 range");
  CHECK_ERROR_HAS(ReadNpy(dir / "missing.npy"), "missing.npy", "No such file");
}

TEST_CASE("csv accepts CRLF, spaces, BOM, quoted header names and trailing blank lines") {
  TempDir dir;
  const std::string path = dir / "calib.csv";
  WriteText(path, "\xEF\xBB\xBF \"f0\" , f1,f2\r\n 1.5 , -2,+3e2\r\n0,1e-400,  7 \r\n\r\n  \n");
  std::vector<std::string> header;
  const Matrix m = ReadCsv(path, 3, &header);
  CHECK(header == std::vector<std::string>{"f0", "f1", "f2"});
  CHECK(m.rows == 2);
  CHECK(m.data == std::vector<float>{1.5f, -2.0f, 300.0f, 0.0f, 0.0f, 7.0f});
}

TEST_CASE("csv errors name the file and the 1-based line") {
  TempDir dir;
  const std::string path = dir / "calib.csv";
  const auto read = [&](const std::string& text, int64_t cols = -1) {
    WriteText(path, text);
    return ReadCsv(path, cols);
  };
  CHECK_ERROR_HAS(read(""), "calib.csv: file is empty");
  CHECK_ERROR_HAS(read("\n \n"), "calib.csv: file is empty");
  CHECK_ERROR_HAS(read("a,b,c\n"), "calib.csv: header only");
  CHECK_ERROR_HAS(read("a,b,c\n1,2,3\n4,5\n"), "calib.csv: line 3 has 2 values, expected 3");
  CHECK_ERROR_HAS(read("1,2,3\n4,5,6\n", 4), "calib.csv: line 1 has 3 values, expected 4");
  CHECK_ERROR_HAS(read("a,b\n1,2\n", 3), "calib.csv: line 1 (header) has 2 values, expected 3");
  CHECK_ERROR_HAS(read("a,b\n1,2\n3,x\n"), "calib.csv: line 3, column 2: 'x' is not a number");
  CHECK_ERROR_HAS(read("1,2\n3,\n"), "calib.csv: line 2, column 2 is empty");
  CHECK_ERROR_HAS(read("1,2\nnan,4\n"), "calib.csv: line 2, column 1 is NaN");
  CHECK_ERROR_HAS(read("1,2\n3,-inf\n"), "calib.csv: line 2, column 2 is -Inf");
  CHECK_ERROR_HAS(read("1,2\n3,1e39\n"), "calib.csv: line 2, column 2", "float32 range");
  CHECK_ERROR_HAS(read("1,2\n\n3,4\n"), "calib.csv: line 2 is blank");
}

TEST_CASE("WriteFileAtomic replaces the file and leaves no temporary behind") {
  TempDir dir;
  const std::string path = dir / "model.mmoe";
  WriteFileAtomic(path, "first", 5);
  WriteFileAtomic(path, "second", 6);
  CHECK(ReadText(path) == "second");
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 1);

  CHECK_ERROR_HAS(WriteFileAtomic(dir / "no/such/dir/x.bin", "x", 1), "x.bin", "No such file or directory");
  // Renaming a file over a directory fails after the data was written: the temporary must go.
  fs::create_directory(dir / "taken");
  CHECK_ERROR_HAS(WriteFileAtomic(dir / "taken", "x", 1), "taken", "rename failed");
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 2);
  CHECK_ERROR_HAS(ReadFileBytes(dir / "taken"), "taken", "cannot read");
}

TEST_CASE("WriteFileAtomic reports a failed write and keeps the old file") {
  TempDir dir;
  const std::string path = dir / "model.mmoe";
  WriteFileAtomic(path, "old", 3);
  // A file size limit makes write() fail with EFBIG, standing in for a full disk.
  struct rlimit saved {};
  REQUIRE(getrlimit(RLIMIT_FSIZE, &saved) == 0);
  const auto old_handler = signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = saved;
  small.rlim_cur = 1024;
  REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
  const std::string big(4096, 'x');
  const std::string message = ErrorOf([&] { WriteFileAtomic(path, big.data(), big.size()); });
  setrlimit(RLIMIT_FSIZE, &saved);
  signal(SIGXFSZ, old_handler);

  CHECK(message.find("model.mmoe: write failed: File too large") != std::string::npos);
  CHECK(ReadText(path) == "old");
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 1);
}

TEST_CASE("safetensors: dtypes are converted and metadata returned") {
  TempDir dir;
  const std::string path = dir / "w.safetensors";
  // F32 [2,2] at 0..16, F64 [2] at 16..32, F16 [3] at 32..38, BF16 [1] at 38..40.
  std::string data = Values<float>({1.0f, -2.0f, 0.25f, 3.0f}) + Values<double>({0.5, -8.0}) +
                     Values<uint16_t>({0x3c00, 0xc000, 0x0001}) + Values<uint16_t>({0x3fc0});
  const std::string header = R"({"__metadata__": {"format": "pt"},)"
                             R"( "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},)"
                             R"( "b": {"dtype": "F64", "shape": [2], "data_offsets": [16, 32]},)"
                             R"( "c": {"dtype": "F16", "shape": [3], "data_offsets": [32, 38]},)"
                             R"( "d": {"dtype": "BF16", "shape": [], "data_offsets": [38, 40]}})";
  WriteText(path, SafetensorsBytes(header + "   ", data));
  std::map<std::string, std::string> metadata;
  const auto tensors = ReadSafetensors(path, &metadata);
  CHECK(metadata == std::map<std::string, std::string>{{"format", "pt"}});
  REQUIRE(tensors.size() == 4);
  CHECK(tensors.at("a").shape == std::vector<int64_t>{2, 2});
  CHECK(tensors.at("a").data == std::vector<float>{1.0f, -2.0f, 0.25f, 3.0f});
  CHECK(tensors.at("b").data == std::vector<float>{0.5f, -8.0f});
  CHECK(tensors.at("c").data == std::vector<float>{1.0f, -2.0f, std::ldexp(1.0f, -24)});
  CHECK(tensors.at("d").shape.empty());
  CHECK(tensors.at("d").data == std::vector<float>{1.5f});
}

TEST_CASE("safetensors: large float32 tables stay in the file, mapped and checked, the rest decoded") {
  TempDir dir;
  const std::string path = dir / "w.safetensors";
  // "table" F32 [3, 2] (24 bytes) at 0..24, "w" F32 [2, 2] (16 bytes) at 24..40, "h" F16 [4] at 40..48.
  std::vector<float> table = {0.5f, -1.0f, 2.0f, 3.25f, -0.125f, 7.0f};
  const std::string data = Values<float>(table) + Values<float>({1.0f, 2.0f, 3.0f, 4.0f}) +
                           Values<uint16_t>({0x3c00, 0x3c00, 0x3c00, 0x3c00});
  const std::string header = R"({"table": {"dtype": "F32", "shape": [3, 2], "data_offsets": [0, 24]},)"
                             R"( "w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [24, 40]},)"
                             R"( "h": {"dtype": "F16", "shape": [2, 2], "data_offsets": [40, 48]}})";
  // Padded so that the data starts 8-byte aligned (as safetensors writers do).
  std::string padded = header;
  while ((8 + padded.size()) % 8 != 0) padded += ' ';
  WriteText(path, SafetensorsBytes(padded, data));
  const auto tensors = ReadSafetensors(path, nullptr, 20);  // tensors of 20 bytes and more
  const Tensor& t = tensors.at("table");
  REQUIRE(t.mapped != nullptr);
  CHECK(t.data.empty());
  CHECK(t.shape == std::vector<int64_t>{3, 2});
  CHECK(std::vector<float>(t.mapped->data(), t.mapped->data() + 6) == table);
  t.mapped->Release(0, 6);  // only drops pages from memory: the values read the same again
  CHECK(std::vector<float>(t.mapped->data(), t.mapped->data() + 6) == table);
  CHECK(tensors.at("w").mapped == nullptr);  // 16 bytes: below the threshold
  CHECK(tensors.at("w").data == std::vector<float>{1.0f, 2.0f, 3.0f, 4.0f});
  CHECK(tensors.at("h").mapped == nullptr);  // not float32: decoded
  CHECK(tensors.at("h").data == std::vector<float>{1.0f, 1.0f, 1.0f, 1.0f});
  // Without a threshold, everything is decoded as before.
  CHECK(ReadSafetensors(path).at("table").data == table);

  // A mapped table is checked as it is read, with the same message as a decoded one.
  table[4] = std::numeric_limits<float>::quiet_NaN();
  WriteText(path, SafetensorsBytes(padded, Values<float>(table) + data.substr(24)));
  CHECK_ERROR_HAS(ReadSafetensors(path, nullptr, 20),
                  "w.safetensors: tensor 'table' has NaN at flat index 4");
}

// Issue 18: a deeply nested value overflowed the stack when a message printed it (100,000
// levels; 32,000 under clang's ASan). Nesting is bounded as it is parsed.
TEST_CASE("JSON nested deeper than kMaxJsonDepth is refused with a message") {
  const auto nested = [](int levels) {
    return "{\"format\": " + std::string(static_cast<size_t>(levels - 1), '[') +
           std::string(static_cast<size_t>(levels - 1), ']') + "}";
  };
  CHECK(ParseJsonStrict(nested(kMaxJsonDepth), "a.json").at("format").is_array());
  CHECK_ERROR_HAS(ParseJsonStrict(nested(kMaxJsonDepth + 1), "a.json"),
                  "a.json: invalid JSON: nested deeper than 64 levels");
  CHECK_ERROR_HAS(ParseJsonStrict(nested(100000), "a.json"),
                  "a.json: invalid JSON: nested deeper than 64 levels");
  CHECK_ERROR_HAS(ParseJsonStrict(std::string(100000, '['), "a.json"), "nested deeper than 64 levels");
  // The other checks still hold: duplicate keys at any depth, and syntax errors.
  CHECK_ERROR_HAS(ParseJsonStrict(R"({"a": [{"b": 1, "b": 2}]})", "a.json"), "a.json: duplicate key 'b'");
  CHECK_ERROR_HAS(ParseJsonStrict(R"({"a": [1, 2})", "a.json"), "a.json: invalid JSON: parse error");
}

// Issue 18: the duplicate-key check took time quadratic in an object's size (nlohmann's
// callback parser): 80,000 tensors ran for more than a minute. Linear now, well under a second
// natively; the bound leaves room for qemu and sanitizers.
TEST_CASE("a safetensors header of 80,000 tensors parses in linear time" * doctest::timeout(30)) {
  std::string header = "{", data;
  for (int i = 0; i < 80000; ++i) {
    header += (i ? ", " : "") + std::string("\"t") + std::to_string(i) +
              "\": {\"dtype\": \"F32\", \"shape\": [1], " + "\"data_offsets\": [" + std::to_string(4 * i) +
              ", " + std::to_string(4 * i + 4) + "]}";
  }
  header += "}";
  data.assign(4 * 80000, '\0');
  const std::map<std::string, Tensor> tensors =
      ParseSafetensors(SafetensorsBytes(header, data), "w.safetensors");
  CHECK(tensors.size() == 80000);
  CHECK(tensors.at("t79999").data == std::vector<float>{0.0f});
}

TEST_CASE("safetensors errors name the file and the tensor") {
  TempDir dir;
  const std::string path = dir / "w.safetensors";
  const auto read = [&](const std::string& header, const std::string& data) {
    WriteText(path, SafetensorsBytes(header, data));
    return ReadSafetensors(path);
  };
  const std::string eight = Values<float>({1.0f, 2.0f});
  CHECK_ERROR_HAS(read(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]})", eight),
                  "w.safetensors: header: invalid JSON");
  CHECK_ERROR_HAS(read(R"({"a": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}})", eight),
                  "tensor 'a' has dtype I64");
  CHECK_ERROR_HAS(read(R"({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", eight),
                  "tensor 'a' has shape [3] F32 but 8 bytes");
  CHECK_ERROR_HAS(read(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", eight),
                  "tensor 'a'", "outside the data buffer");
  CHECK_ERROR_HAS(read(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                       R"( "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                       eight),
                  "tensors 'a' and 'b' overlap");
  CHECK_ERROR_HAS(read(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                       R"( "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})",
                       eight),
                  "duplicate key 'a'");
  CHECK_ERROR_HAS(read(R"({"a": {"dtype": "F32", "shape": [2], "offsets": [0, 8]}})", eight), "tensor 'a'",
                  "unknown header key 'offsets'");
  CHECK_ERROR_HAS(read(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})",
                       Values<float>({1.0f, std::numeric_limits<float>::quiet_NaN()})),
                  "w.safetensors: tensor 'a' has NaN at flat index 1");
  CHECK_ERROR_HAS(
      read(R"({"a": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}})", Values<double>({1e39})),
      "tensor 'a' has a value beyond the float32 range at flat index 0");

  WriteText(path, "\x05");
  CHECK_ERROR_HAS(ReadSafetensors(path), "w.safetensors", "too short");
  std::string bad_length;
  AppendLittleEndian<uint64_t>(&bad_length, 1000);
  WriteText(path, bad_length + "{}");
  CHECK_ERROR_HAS(ReadSafetensors(path), "w.safetensors: header length 1000");
}
