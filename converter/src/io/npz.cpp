// .npz: numpy's zip archive of .npy members (np.savez stores them, np.savez_compressed
// deflates them). The zip container is read here (end of central directory, zip64 records as
// numpy writes them, stored and, with zlib, deflated members, each member's CRC-32 checked);
// each member is parsed by the .npy reader.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "mmoe/converter/io.h"

#if MMOE_HAVE_ZLIB
#include <zlib.h>
#endif

namespace mmoe::converter {
namespace {

uint64_t Le(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// CRC-32 (IEEE 802.3, zip's), reflected polynomial 0xEDB88320.
uint32_t Crc32(const uint8_t* p, size_t n) {
  static const auto table = [] {
    std::vector<uint32_t> t(256);
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

class ZipReader {
 public:
  ZipReader(const std::string& bytes, const std::string& label)
      : b_(reinterpret_cast<const uint8_t*>(bytes.data())), n_(bytes.size()), label_(label) {}

  std::vector<NpzMember> Members() {
    uint64_t entries = 0, cd_size = 0, cd_offset = 0;
    FindDirectory(&entries, &cd_size, &cd_offset);
    std::vector<NpzMember> members;
    uint64_t at = cd_offset;
    for (uint64_t e = 0; e < entries; ++e) {
      Need(at, 46, "a central directory entry");
      if (Le(b_ + at, 4) != 0x02014b50) Fail("central directory entry " + std::to_string(e) + " is corrupt");
      const uint32_t flags = static_cast<uint32_t>(Le(b_ + at + 8, 2));
      const uint32_t method = static_cast<uint32_t>(Le(b_ + at + 10, 2));
      const uint32_t crc = static_cast<uint32_t>(Le(b_ + at + 16, 4));
      uint64_t compressed = Le(b_ + at + 20, 4), size = Le(b_ + at + 24, 4);
      const uint64_t name_len = Le(b_ + at + 28, 2), extra_len = Le(b_ + at + 30, 2),
                     comment_len = Le(b_ + at + 32, 2);
      uint64_t local = Le(b_ + at + 42, 4);
      Need(at + 46, name_len + extra_len + comment_len, "a central directory entry's name");
      const std::string name(reinterpret_cast<const char*>(b_ + at + 46), name_len);
      // zip64: the sizes and offset that overflowed 32 bits, in this order, in extra field 1.
      for (uint64_t x = at + 46 + name_len; x + 4 <= at + 46 + name_len + extra_len;) {
        const uint64_t id = Le(b_ + x, 2), len = Le(b_ + x + 2, 2);
        if (x + 4 + len > at + 46 + name_len + extra_len)
          Fail("member '" + name + "' has a corrupt extra field");
        if (id == 1) {
          uint64_t p = x + 4;
          const auto take = [&](uint64_t* v) {
            if (p + 8 > x + 4 + len) Fail("member '" + name + "' has a short zip64 field");
            *v = Le(b_ + p, 8);
            p += 8;
          };
          if (size == 0xFFFFFFFFu) take(&size);
          if (compressed == 0xFFFFFFFFu) take(&compressed);
          if (local == 0xFFFFFFFFu) take(&local);
        }
        x += 4 + len;
      }
      at += 46 + name_len + extra_len + comment_len;
      if (flags & 1) Fail("member '" + name + "' is encrypted");
      members.push_back(NpzMember{StripNpy(name), Data(name, local, method, compressed, size, crc)});
    }
    return members;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) const { throw ConvertError(label_ + ": " + what); }
  void Need(uint64_t at, uint64_t count, const char* what) const {
    if (at > n_ || count > n_ - at) Fail(std::string("truncated zip archive (") + what + " is past its end)");
  }

  static std::string StripNpy(const std::string& name) {
    return name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0 ? name.substr(0, name.size() - 4)
                                                                            : name;
  }

  void FindDirectory(uint64_t* entries, uint64_t* cd_size, uint64_t* cd_offset) const {
    if (n_ < 22) Fail("not a zip archive (.npz): " + std::to_string(n_) + " bytes");
    const uint64_t lowest = n_ > 22 + 65535 ? n_ - 22 - 65535 : 0;
    uint64_t eocd = n_ - 22;
    while (Le(b_ + eocd, 4) != 0x06054b50) {
      if (eocd == lowest) Fail("not a zip archive (.npz): no end of central directory");
      --eocd;
    }
    *entries = Le(b_ + eocd + 10, 2);
    *cd_size = Le(b_ + eocd + 12, 4);
    *cd_offset = Le(b_ + eocd + 16, 4);
    if (*entries == 0xFFFF || *cd_size == 0xFFFFFFFFu || *cd_offset == 0xFFFFFFFFu) {
      // The zip64 end of central directory locator sits right before the record above.
      if (eocd < 20 || Le(b_ + eocd - 20, 4) != 0x07064b50) Fail("zip64 archive without its locator");
      const uint64_t record = Le(b_ + eocd - 20 + 8, 8);
      Need(record, 56, "the zip64 end of central directory");
      if (Le(b_ + record, 4) != 0x06064b50) Fail("corrupt zip64 end of central directory");
      *entries = Le(b_ + record + 32, 8);
      *cd_size = Le(b_ + record + 40, 8);
      *cd_offset = Le(b_ + record + 48, 8);
    }
    Need(*cd_offset, *cd_size, "the central directory");
    if (*entries > *cd_size / 46) Fail("the central directory lists more members than it holds");
  }

  std::string Data(const std::string& name, uint64_t local, uint32_t method, uint64_t compressed,
                   uint64_t size, uint32_t crc) const {
    Need(local, 30, "a member's header");
    if (Le(b_ + local, 4) != 0x04034b50) Fail("member '" + name + "': corrupt local header");
    const uint64_t start = local + 30 + Le(b_ + local + 26, 2) + Le(b_ + local + 28, 2);
    Need(start, compressed, ("member '" + name + "'").c_str());
    std::string out;
    if (method == 0) {
      if (compressed != size) Fail("member '" + name + "': stored with two different sizes");
      out.assign(reinterpret_cast<const char*>(b_ + start), size);
    } else if (method == 8) {
      out = Inflate(name, b_ + start, compressed, size);
    } else {
      Fail("member '" + name + "' uses compression method " + std::to_string(method) +
           "; .npz members are stored (np.savez) or deflated (np.savez_compressed)");
    }
    if (Crc32(reinterpret_cast<const uint8_t*>(out.data()), out.size()) != crc)
      Fail("member '" + name + "' fails its CRC-32: the archive is damaged");
    return out;
  }

  std::string Inflate(const std::string& name, const uint8_t* data, uint64_t compressed,
                      uint64_t size) const {
#if MMOE_HAVE_ZLIB
    // DEFLATE expands at most 1032 times (258-byte matches coded in 2 bits): a larger claim is
    // a damaged or hostile header, refused before anything is allocated for it.
    if (size > (uint64_t{1} << 40) || size / 1032 > compressed + 1) {
      Fail("member '" + name + "' claims " + std::to_string(size) + " bytes from " +
           std::to_string(compressed) + " compressed ones (deflate expands at most 1032 times)");
    }
    std::string out(size, '\0');
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) Fail("zlib failed to start");
    uint64_t in_left = compressed, out_left = size;
    z.next_in = const_cast<Bytef*>(data);
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    int rc = Z_OK;
    while (rc == Z_OK) {
      // zlib counts in uInt: feed at most 1 GiB at a time.
      const uInt in_chunk = static_cast<uInt>(std::min<uint64_t>(in_left, 1u << 30));
      const uInt out_chunk = static_cast<uInt>(std::min<uint64_t>(out_left, 1u << 30));
      z.avail_in = in_chunk;
      z.avail_out = out_chunk;
      rc = inflate(&z, Z_NO_FLUSH);
      in_left -= in_chunk - z.avail_in;
      out_left -= out_chunk - z.avail_out;
      if (rc == Z_OK && z.avail_in == in_chunk && z.avail_out == out_chunk) rc = Z_DATA_ERROR;  // no progress
    }
    inflateEnd(&z);
    if (rc != Z_STREAM_END || out_left != 0 || in_left != 0)
      Fail("member '" + name + "' does not inflate to its " + std::to_string(size) +
           " bytes: the archive is damaged");
    return out;
#else
    (void)data, (void)compressed, (void)size;
    Fail("member '" + name +
         "' is compressed (np.savez_compressed), which this build reads only with zlib; save it with "
         "np.savez");
#endif
  }

  const uint8_t* b_;
  size_t n_;
  const std::string& label_;
};

}  // namespace

std::vector<NpzMember> ParseNpz(const std::string& bytes, const std::string& label) {
  return ZipReader(bytes, label).Members();
}

std::vector<NpzMember> ReadNpz(const std::string& path) { return ParseNpz(ReadFileBytes(path), path); }

}  // namespace mmoe::converter
