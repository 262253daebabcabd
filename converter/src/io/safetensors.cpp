// .safetensors reader: u64 LE header length, JSON header {name: {dtype, shape, data_offsets}},
// then the data buffer the offsets point into. Everything is checked before a value is decoded.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mmoe/converter/io.h"

namespace mmoe::converter {
namespace {

// Doubles from here up round to float32 infinity (FLT_MAX plus half an ulp, where
// round-to-nearest-even goes up); anything smaller rounds to a finite float.
constexpr double kFloatOverflow = 0x1.ffffffp+127;

// The format's own limit (the reference implementation refuses larger headers).
constexpr uint64_t kMaxHeaderSize = 100u << 20;

struct TensorEntry {
  std::string name;
  std::string dtype;
  int dtype_size = 0;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // offsets into the data buffer
  uint64_t end = 0;
};

uint64_t LoadLittleEndian(const unsigned char* p, int size) {
  uint64_t value = 0;
  for (int i = size - 1; i >= 0; --i) value = (value << 8) | p[i];
  return value;
}

float BitsToFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// IEEE half -> float, exact (every half is representable as a float).
float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  if (exponent == 0x1f) return BitsToFloat(sign | 0x7f800000 | (mantissa << 13));  // Inf/NaN
  if (exponent != 0) return BitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
  if (mantissa == 0) return BitsToFloat(sign);
  // Subnormal half: normalise into a float exponent.
  int e = 113;
  while ((mantissa & 0x400) == 0) {
    mantissa <<= 1;
    --e;
  }
  return BitsToFloat(sign | (static_cast<uint32_t>(e) << 23) | ((mantissa & 0x3ff) << 13));
}

int DTypeSize(const std::string& dtype) {
  if (dtype == "F32") return 4;
  if (dtype == "F64") return 8;
  if (dtype == "F16" || dtype == "BF16") return 2;
  return 0;
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? "," : "") + std::to_string(shape[i]);
  return text + "]";
}

uint64_t NonNegativeInteger(const nlohmann::json& value, const std::string& what) {
  if (!value.is_number_unsigned()) throw ConvertError(what + " must be a non-negative integer");
  return value.get<uint64_t>();
}

TensorEntry ParseEntry(const std::string& name, const nlohmann::json& info, const std::string& path) {
  const std::string where = path + ": tensor '" + name + "'";
  if (!info.is_object()) throw ConvertError(where + ": header entry is not an object");
  for (const auto& [key, value] : info.items()) {
    if (key != "dtype" && key != "shape" && key != "data_offsets") {
      throw ConvertError(where + ": unknown header key '" + key + "'");
    }
  }
  if (!info.contains("dtype") || !info.contains("shape") || !info.contains("data_offsets")) {
    throw ConvertError(where + ": header entry needs dtype, shape and data_offsets");
  }
  TensorEntry entry;
  entry.name = name;
  if (!info["dtype"].is_string()) throw ConvertError(where + ": dtype is not a string");
  entry.dtype = info["dtype"].get<std::string>();
  entry.dtype_size = DTypeSize(entry.dtype);
  if (entry.dtype_size == 0) {
    throw ConvertError(where + " has dtype " + entry.dtype +
                       ", which is not supported (F32, F64, F16, BF16)");
  }
  if (!info["shape"].is_array()) throw ConvertError(where + ": shape is not an array");
  for (const auto& dim : info["shape"]) {
    const uint64_t d = NonNegativeInteger(dim, where + ": shape entry");
    if (d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      throw ConvertError(where + ": shape entry is too large");
    }
    entry.shape.push_back(static_cast<int64_t>(d));
  }
  const auto& offsets = info["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2) {
    throw ConvertError(where + ": data_offsets must be [begin, end]");
  }
  entry.begin = NonNegativeInteger(offsets[0], where + ": data_offsets[0]");
  entry.end = NonNegativeInteger(offsets[1], where + ": data_offsets[1]");
  return entry;
}

// Offsets inside the buffer, and the byte span matching shape * dtype size.
void CheckExtent(const TensorEntry& e, uint64_t data_size, const std::string& path) {
  const std::string where = path + ": tensor '" + e.name + "'";
  if (e.begin > e.end || e.end > data_size) {
    throw ConvertError(where + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                       "] are outside the data buffer of " + std::to_string(data_size) + " bytes");
  }
  // Count elements with an overflow guard: no valid count exceeds the buffer size.
  const bool empty = std::find(e.shape.begin(), e.shape.end(), 0) != e.shape.end();
  uint64_t count = empty ? 0 : 1;
  bool too_large = false;
  for (const int64_t d : e.shape) {
    if (empty) break;
    if (count > data_size / static_cast<uint64_t>(d)) {
      too_large = true;
      break;
    }
    count *= static_cast<uint64_t>(d);
  }
  const uint64_t span = e.end - e.begin;
  if (too_large || count * e.dtype_size != span) {
    throw ConvertError(where + " has shape " + ShapeText(e.shape) + " " + e.dtype + " but " +
                       std::to_string(span) + " bytes of data");
  }
}

void CheckNoOverlap(std::vector<const TensorEntry*> entries, const std::string& path) {
  std::sort(entries.begin(), entries.end(),
            [](const TensorEntry* a, const TensorEntry* b) { return a->begin < b->begin; });
  const TensorEntry* previous = nullptr;
  for (const TensorEntry* e : entries) {
    if (e->begin == e->end) continue;  // empty tensors occupy nothing
    if (previous != nullptr && e->begin < previous->end) {
      throw ConvertError(path + ": tensors '" + previous->name + "' and '" + e->name +
                         "' overlap in the data buffer");
    }
    previous = e;
  }
}

// One element as double: exact for every supported dtype, so range checks see the true value.
double DecodeValue(const unsigned char* p, const std::string& dtype) {
  if (dtype == "F32") return BitsToFloat(static_cast<uint32_t>(LoadLittleEndian(p, 4)));
  if (dtype == "F16") return HalfToFloat(static_cast<uint16_t>(LoadLittleEndian(p, 2)));
  if (dtype == "BF16") return BitsToFloat(static_cast<uint32_t>(LoadLittleEndian(p, 2)) << 16);
  const uint64_t bits = LoadLittleEndian(p, 8);  // F64
  double d;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}

// Elements [first, first + count) of tensor `e` into t->data, from `bytes` (their encoding).
void DecodeRange(const TensorEntry& e, const unsigned char* bytes, uint64_t first, uint64_t count,
                 const std::string& path, Tensor* t) {
  for (uint64_t i = 0; i < count; ++i) {
    const double v = DecodeValue(bytes + i * e.dtype_size, e.dtype);
    const char* problem = std::isnan(v)                    ? "NaN"
                          : std::isinf(v)                  ? "Inf"
                          : std::fabs(v) >= kFloatOverflow ? "a value beyond the float32 range"
                                                           : nullptr;
    if (problem != nullptr) {
      throw ConvertError(path + ": tensor '" + e.name + "' has " + problem + " at flat index " +
                         std::to_string(first + i));
    }
    t->data[first + i] = static_cast<float>(v);
  }
}

void ReadMetadata(const nlohmann::json& value, const std::string& path,
                  std::map<std::string, std::string>* metadata) {
  if (!value.is_object()) throw ConvertError(path + ": __metadata__ is not an object");
  for (const auto& [key, item] : value.items()) {
    if (!item.is_string()) {
      throw ConvertError(path + ": __metadata__ value '" + key + "' is not a string");
    }
    if (metadata != nullptr) (*metadata)[key] = item.get<std::string>();
  }
}

// The header (header_size bytes of JSON) of a file whose data buffer holds data_size bytes:
// its tensors, every extent checked, and the metadata.
std::vector<TensorEntry> ParseLayout(const std::string& header_bytes, uint64_t data_size,
                                     const std::string& path, std::map<std::string, std::string>* metadata) {
  const nlohmann::json header = ParseJsonStrict(header_bytes, path + ": header");
  if (!header.is_object()) throw ConvertError(path + ": header is not a JSON object");
  if (metadata != nullptr) metadata->clear();
  std::vector<TensorEntry> entries;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      ReadMetadata(info, path, metadata);
    } else {
      entries.push_back(ParseEntry(name, info, path));
    }
  }
  std::vector<const TensorEntry*> pointers;
  for (const TensorEntry& e : entries) {
    CheckExtent(e, data_size, path);
    pointers.push_back(&e);
  }
  CheckNoOverlap(pointers, path);
  return entries;
}

uint64_t HeaderSize(const unsigned char* first8, uint64_t file_size, const std::string& path) {
  const uint64_t header_size = LoadLittleEndian(first8, 8);
  if (header_size == 0 || header_size > file_size - 8 || header_size > kMaxHeaderSize) {
    throw ConvertError(path + ": header length " + std::to_string(header_size) +
                       " does not fit the file size " + std::to_string(file_size) +
                       " (not a safetensors file?)");
  }
  return header_size;
}

void TooShort(uint64_t size, const std::string& path) {
  throw ConvertError(path + ": too short for a safetensors file (" + std::to_string(size) + " bytes)");
}

// A file read in order, through one buffer.
class FileReader {
 public:
  explicit FileReader(const std::string& path) : path_(path), f_(std::fopen(path.c_str(), "rb")) {
    if (f_ == nullptr) throw ConvertError(path + ": cannot open: " + std::strerror(errno));
  }
  ~FileReader() { std::fclose(f_); }
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  uint64_t Size() {
    struct stat st {};
    if (::fstat(::fileno(f_), &st) != 0) throw ConvertError(path_ + ": cannot stat: " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) throw ConvertError(path_ + ": not a regular file");
    return static_cast<uint64_t>(st.st_size);
  }
  // `size` bytes at `offset` into `out`.
  void Read(uint64_t offset, size_t size, unsigned char* out) {
    if (::fseeko(f_, static_cast<off_t>(offset), SEEK_SET) != 0 || std::fread(out, 1, size, f_) != size) {
      throw ConvertError(
          path_ + ": cannot read " + std::to_string(size) + " bytes at offset " + std::to_string(offset) +
          (std::ferror(f_) ? std::string(": ") + std::strerror(errno) : std::string(" (file shortened?)")));
    }
  }

 private:
  const std::string& path_;
  std::FILE* f_;
};

// Every tensor of `entries`, decoded from the bytes bytes_at(offset, size) gives for each chunk
// of at most 16 MB of its data (offset into the data buffer).
template <typename BytesAt>
std::map<std::string, Tensor> DecodeAll(const std::vector<TensorEntry>& entries, const std::string& path,
                                        const BytesAt& bytes_at) {
  constexpr uint64_t kChunk = 16u << 20;
  std::map<std::string, Tensor> tensors;
  for (const TensorEntry& e : entries) {
    Tensor& t = tensors[e.name];
    t.shape = e.shape;
    const uint64_t count = (e.end - e.begin) / e.dtype_size;
    t.data.resize(count);
    const uint64_t per_chunk = kChunk / e.dtype_size;
    for (uint64_t first = 0; first < count; first += per_chunk) {
      const uint64_t n = std::min(per_chunk, count - first);
      DecodeRange(e, bytes_at(e.begin + first * e.dtype_size, n * e.dtype_size), first, n, path, &t);
    }
  }
  return tensors;
}

// The whole weights file mapped read-only, unmapped with the last tensor that points into it.
class MappedFile {
 public:
  MappedFile(const std::string& path, uint64_t size) : size_(size) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw ConvertError(path + ": cannot open: " + std::strerror(errno));
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    const int err = errno;
    ::close(fd);
    if (p == MAP_FAILED)
      throw ConvertError(path + ": cannot map " + std::to_string(size) + " bytes: " + std::strerror(err));
    base_ = static_cast<const unsigned char*>(p);
  }
  ~MappedFile() { ::munmap(const_cast<unsigned char*>(base_), size_); }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const unsigned char* base() const { return base_; }
  // Drops the whole pages inside [p, p + bytes) from this process's resident memory.
  void Release(const void* p, size_t bytes) const {
    const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + page - 1) / page * page;
    const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) / page * page;
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
  }

 private:
  const unsigned char* base_ = nullptr;
  uint64_t size_;
};

class MappedTable final : public MappedFloats {
 public:
  MappedTable(std::shared_ptr<const MappedFile> file, const float* values)
      : file_(std::move(file)), values_(values) {}
  const float* data() const override { return values_; }
  void Release(size_t first, size_t count) const override {
    file_->Release(values_ + first, count * sizeof(float));
  }

 private:
  std::shared_ptr<const MappedFile> file_;
  const float* values_;
};

// Whether tensor `e` at file offset `at` can be read in place as float32.
bool Mappable(const TensorEntry& e, uint64_t at, size_t map_from_bytes) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return map_from_bytes > 0 && e.dtype == "F32" && e.shape.size() == 2 && e.end - e.begin >= map_from_bytes &&
         at % alignof(float) == 0;
#else
  (void)e, (void)at, (void)map_from_bytes;
  return false;  // the file's little-endian floats are not this machine's
#endif
}

}  // namespace

// Read tensor by tensor, through a buffer of at most 16 MB: the file is never held whole, so a
// 10-million-row embedding table costs its decoded floats and no more.
std::map<std::string, Tensor> ReadSafetensors(const std::string& path,
                                              std::map<std::string, std::string>* metadata,
                                              size_t map_from_bytes) {
  FileReader file(path);
  const uint64_t file_size = file.Size();
  if (file_size < 8) TooShort(file_size, path);
  unsigned char first8[8];
  file.Read(0, 8, first8);
  const uint64_t header_size = HeaderSize(first8, file_size, path);
  std::string header(header_size, '\0');
  file.Read(8, header_size, reinterpret_cast<unsigned char*>(header.data()));
  const uint64_t data_offset = 8 + header_size;
  std::vector<TensorEntry> entries = ParseLayout(header, file_size - data_offset, path, metadata);

  // Large float32 tables stay in the file: mapped, each value checked once (and its pages then
  // released), the rest decoded as usual.
  std::map<std::string, Tensor> mapped;
  std::shared_ptr<const MappedFile> mapping;
  for (auto it = entries.begin(); it != entries.end();) {
    if (!Mappable(*it, data_offset + it->begin, map_from_bytes)) {
      ++it;
      continue;
    }
    if (!mapping) mapping = std::make_shared<MappedFile>(path, file_size);
    const auto* values = reinterpret_cast<const float*>(mapping->base() + data_offset + it->begin);
    const uint64_t count = (it->end - it->begin) / sizeof(float);
    constexpr uint64_t kChunk = 4u << 20;  // values per check
    for (uint64_t first = 0; first < count; first += kChunk) {
      const uint64_t n = std::min(kChunk, count - first);
      for (uint64_t i = 0; i < n; ++i) {
        const float v = values[first + i];
        if (!std::isfinite(v)) {
          throw ConvertError(path + ": tensor '" + it->name + "' has " + (std::isnan(v) ? "NaN" : "Inf") +
                             " at flat index " + std::to_string(first + i));
        }
      }
      mapping->Release(values + first, n * sizeof(float));
    }
    Tensor& t = mapped[it->name];
    t.shape = it->shape;
    t.mapped = std::make_shared<MappedTable>(mapping, values);
    it = entries.erase(it);
  }

  std::vector<unsigned char> buffer;
  std::map<std::string, Tensor> tensors = DecodeAll(entries, path, [&](uint64_t offset, size_t size) {
    buffer.resize(size);
    file.Read(data_offset + offset, size, buffer.data());
    return buffer.data();
  });
  for (auto& [name, t] : mapped) tensors[name] = std::move(t);
  return tensors;
}

std::map<std::string, Tensor> ParseSafetensors(const std::string& bytes, const std::string& path,
                                               std::map<std::string, std::string>* metadata) {
  if (bytes.size() < 8) TooShort(bytes.size(), path);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const uint64_t header_size = HeaderSize(p, bytes.size(), path);
  const std::vector<TensorEntry> entries =
      ParseLayout(bytes.substr(8, header_size), bytes.size() - 8 - header_size, path, metadata);
  return DecodeAll(entries, path, [&](uint64_t offset, size_t) { return p + 8 + header_size + offset; });
}

}  // namespace mmoe::converter
