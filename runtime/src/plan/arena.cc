// A session's arena: one zeroed, 64-byte aligned allocation made at creation.
#include <cstdlib>
#include <cstring>

#include "plan/executor.h"

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#endif

namespace mmoe {
namespace {

// Where the kernel can fault a whole mapping in at once (Linux, Android), large arenas are
// mapped with MAP_POPULATE: one system call, where zeroing a fresh heap block traps once per
// page. On the development VM, zeroing a fresh 291 KB block took 0.96 ms, mapping it
// populated 0.07 ms (docs/performance.md, "Session init"). Anonymous pages are zero, as the
// arena must be. Small arenas come from the heap, whose pages are often already touched.
constexpr size_t kMapAtLeast = 64 * 1024;

void* MapPopulated(size_t bytes) {
#if defined(MAP_POPULATE) && defined(MAP_ANONYMOUS)
  if (bytes >= kMapAtLeast) {
    void* mem =
        mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (mem != MAP_FAILED) return mem;  // page-aligned, so kArenaAlign-aligned
  }
#else
  (void)bytes;
#endif
  return nullptr;
}

}  // namespace

Arena::~Arena() {
#if defined(MAP_POPULATE) && defined(MAP_ANONYMOUS)
  if (mapped_) {
    munmap(data_, size_);
    return;
  }
#endif
  std::free(data_);
}

bool Arena::Allocate(size_t bytes) {
  if (void* mem = MapPopulated(bytes)) {
    data_ = static_cast<uint8_t*>(mem);
    size_ = bytes;
    mapped_ = true;
    return true;
  }
  void* mem = nullptr;
  if (posix_memalign(&mem, kArenaAlign, bytes ? bytes : kArenaAlign) != 0) return false;
  std::memset(mem, 0, bytes);  // padding lanes are read (times zero weights): keep them defined
  data_ = static_cast<uint8_t*>(mem);
  size_ = bytes;
  return true;
}

}  // namespace mmoe
