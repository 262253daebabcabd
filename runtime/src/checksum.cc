// CRC-32C (Castagnoli) of model files (docs/model-format.md): the checksum trailer the
// converter appends and the loader checks. Portable slicing-by-8, so that every platform
// computes the same value without CPU-specific instructions; at about 1-2 GB/s it costs far
// less than the verification that follows.
#include <cstring>

#include "mmoe/mmoe.h"

namespace mmoe {
namespace {

constexpr uint32_t kPolynomial = 0x82F63B78u;  // Castagnoli, bit-reversed

struct Tables {
  uint32_t t[8][256];
  Tables() : t() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ ((c & 1u) ? kPolynomial : 0u);
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i) {
      for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
    }
  }
};

// Built on first use (thread-safe, about 10 us) rather than at compile time: as a constant it
// would add its 8 KB to every app's file, where zero-initialised storage takes none.
const Tables& GetTables() {
  static const Tables tables;
  return tables;
}

uint32_t LoadLe32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

}  // namespace

uint32_t Crc32c(const void* data, size_t size, uint32_t previous) {
  const auto* p = static_cast<const uint8_t*>(data);
  const auto& t = GetTables().t;
  uint32_t crc = ~previous;
  while (size >= 8) {
    const uint32_t lo = LoadLe32(p) ^ crc, hi = LoadLe32(p + 4);
    crc = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^
          t[3][hi & 0xFF] ^ t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
    p += 8;
    size -= 8;
  }
  while (size--) crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xFF];
  return crc ^ 0xFFFFFFFFu;
}

void WriteChecksumTrailer(const void* payload, size_t payload_size, uint8_t trailer[kChecksumTrailerSize]) {
  const uint32_t crc = Crc32c(payload, payload_size);
  for (int i = 0; i < 4; ++i) trailer[i] = static_cast<uint8_t>(crc >> (8 * i));
  std::memcpy(trailer + 4, kChecksumMagic, 4);
}

void WriteSegmentFooter(const void* flatbuffer, size_t size, uint8_t footer[kSegmentFooterSize]) {
  const uint64_t n = size;
  for (int i = 0; i < 8; ++i) footer[i] = static_cast<uint8_t>(n >> (8 * i));
  const uint32_t crc = Crc32c(flatbuffer, size);
  for (int i = 0; i < 4; ++i) footer[8 + i] = static_cast<uint8_t>(crc >> (8 * i));
  std::memcpy(footer + 12, kSegmentMagic, 4);
}

}  // namespace mmoe
