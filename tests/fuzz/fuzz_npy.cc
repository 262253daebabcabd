// libFuzzer target: the .npy reader (converter/src/io/npy.cpp) on arbitrary bytes.
#include <cmath>
#include <cstdint>
#include <string>

#include "fuzz_converter_input.h"
#include "mmoe/converter/io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  mmoe::fuzz::ExpectConvertErrorOnly({"input.npy"}, [&] {
    const mmoe::converter::Matrix m = mmoe::converter::ParseNpy(bytes, "input.npy");
    // What the reader promises: a non-empty matrix of finite values.
    if (m.rows <= 0 || m.cols <= 0 || m.data.size() != static_cast<size_t>(m.rows * m.cols)) std::abort();
    for (float v : m.data)
      if (!std::isfinite(v)) std::abort();
  });
  return 0;
}
