// Where a model's bytes live: a read-only file mapping, a private aligned copy, or the
// caller's own buffer.
#include "model_bytes.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

namespace mmoe {
namespace {

class MappedFile final : public ModelBytes {
 public:
  MappedFile(void* addr, size_t size) : addr_(addr), size_(size) {}
  ~MappedFile() override { munmap(addr_, size_); }
  const uint8_t* data() const override { return static_cast<const uint8_t*>(addr_); }
  size_t size() const override { return size_; }

 private:
  void* addr_;
  size_t size_;
};

class OwnedCopy final : public ModelBytes {
 public:
  OwnedCopy(uint8_t* data, size_t size) : data_(data), size_(size) {}
  ~OwnedCopy() override { std::free(data_); }
  const uint8_t* data() const override { return data_; }
  size_t size() const override { return size_; }

 private:
  uint8_t* data_;
  size_t size_;
};

class Borrowed final : public ModelBytes {
 public:
  Borrowed(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  const uint8_t* data() const override { return data_; }
  size_t size() const override { return size_; }

 private:
  const uint8_t* data_;
  size_t size_;
};

}  // namespace

Status MapFile(const char* path, std::unique_ptr<ModelBytes>* out) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below as not regular.
  const int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return Status::Error(StatusCode::kIoError, "cannot open model '%s': %s", path, std::strerror(errno));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    close(fd);
    return Status::Error(StatusCode::kIoError, "cannot stat model '%s': %s", path, std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {  // errno says nothing here (an earlier call's value may linger)
    close(fd);
    return Status::Error(StatusCode::kIoError, "model '%s' is not a regular file", path);
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size < 8) {
    close(fd);
    return Status::Error(StatusCode::kNotAModel, "model '%s' is %zu bytes: too small to be a model", path,
                         size);
  }
  void* addr = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int err = errno;
  close(fd);
  if (addr == MAP_FAILED) {
    return Status::Error(StatusCode::kIoError, "cannot map model '%s': %s", path, std::strerror(err));
  }
  out->reset(new (std::nothrow) MappedFile(addr, size));
  if (!*out) {
    munmap(addr, size);
    return Status::Error(StatusCode::kOutOfMemory, "out of memory loading '%s'", path);
  }
  return Status::Ok();
}

Status CopyBuffer(const void* data, size_t size, std::unique_ptr<ModelBytes>* out) {
  // 64-byte alignment: FlatBuffers scalars need their natural alignment, and constant data
  // is aligned for SIMD loads.
  const size_t padded = (size + 63) / 64 * 64;
  void* mem = nullptr;  // posix_memalign: aligned_alloc is missing on older Android and iOS
  if (posix_memalign(&mem, 64, padded) != 0) mem = nullptr;
  auto* copy = static_cast<uint8_t*>(mem);
  if (!copy) return Status::Error(StatusCode::kOutOfMemory, "cannot allocate %zu bytes for the model", size);
  std::memcpy(copy, data, size);
  out->reset(new (std::nothrow) OwnedCopy(copy, size));
  if (!*out) {
    std::free(copy);
    return Status::Error(StatusCode::kOutOfMemory, "out of memory copying the model");
  }
  return Status::Ok();
}

Status BorrowBuffer(const void* data, size_t size, std::unique_ptr<ModelBytes>* out) {
  if (reinterpret_cast<uintptr_t>(data) % 8 != 0) {
    return Status::Error(StatusCode::kInvalidArgument,
                         "a borrowed model buffer must be 8-byte aligned (copy it, or align it)");
  }
  out->reset(new (std::nothrow) Borrowed(static_cast<const uint8_t*>(data), size));
  if (!*out) return Status::Error(StatusCode::kOutOfMemory, "out of memory");
  return Status::Ok();
}

}  // namespace mmoe
