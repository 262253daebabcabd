// A session's arena: one zeroed, 64-byte aligned allocation made at creation.
#include <sys/mman.h>

#include <cstdlib>
#include <cstring>

#include "plan/executor.h"

namespace mmoe {
namespace {

// Where the kernel can fault a whole mapping in at once (Linux, Android), large arenas are
// mapped with MAP_POPULATE: one system call, where zeroing a fresh heap block traps once per
// page. On the development VM, zeroing a fresh 291 KB block took 0.91-1.00 ms, mapping it
// populated 0.07-0.09 ms (docs/performance.md, "Session init"). Anonymous pages are zero, as
// the arena must be. Small arenas come from the heap, whose pages are often already touched.
constexpr size_t kMapAtLeast = 64 * 1024;

// The populated mapping, or nullptr: too small, no MAP_POPULATE here, or mmap failed.
void* MapPopulated(size_t bytes) {
#ifdef MAP_POPULATE
  if (bytes < kMapAtLeast) return nullptr;
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  return mem == MAP_FAILED ? nullptr : mem;  // page-aligned, so kArenaAlign-aligned
#else
  (void)bytes;
  return nullptr;
#endif
}

}  // namespace

Arena::~Arena() {
  if (mapped_) {
    munmap(data_, size_);
  } else {
    std::free(data_);
  }
}

bool Arena::Allocate(size_t bytes) {
  void* mem = MapPopulated(bytes);
  mapped_ = mem != nullptr;
  if (!mapped_) {
    if (posix_memalign(&mem, kArenaAlign, bytes ? bytes : kArenaAlign) != 0) return false;
    std::memset(mem, 0, bytes);  // padding lanes are read (times zero weights): keep them defined
  }
  data_ = static_cast<uint8_t*>(mem);
  size_ = bytes;
  return true;
}

Status Arena::AllocateBuffers(const std::vector<uint64_t>& row_bytes, size_t tile, size_t extra_bytes,
                              std::vector<uint8_t*>* buffers) {
  size_t total = 0;
  std::vector<size_t> offsets;
  bool fits = true;
  for (uint64_t bytes : row_bytes) {
    offsets.push_back(total);
    // Row sizes are below 2^34 (verified widths) and the tile below 2^13, so the product is exact.
    fits = fits && AddArenaBytes(uint64_t{tile} * bytes, &total);
  }
  fits = fits && AddArenaBytes(extra_bytes, &total);
  if (!fits) {
    return Status::Error(StatusCode::kOutOfMemory,
                         "the arena for a %zu-item tile of this model exceeds the address space", tile);
  }
  if (!Allocate(total))
    return Status::Error(StatusCode::kOutOfMemory, "cannot allocate a %zu-byte arena", total);
  for (size_t off : offsets) buffers->push_back(data_ + off);
  return Status::Ok();
}

}  // namespace mmoe
