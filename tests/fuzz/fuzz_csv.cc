// libFuzzer target: the .csv reader (converter/src/io/csv.cpp) on arbitrary text.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_converter_input.h"
#include "mmoe/converter/io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  mmoe::fuzz::ExpectConvertErrorOnly({"input.csv"}, [&] {
    std::vector<std::string> header;
    const mmoe::converter::Matrix m = mmoe::converter::ParseCsv(text, "input.csv", -1, &header);
    // What the reader promises: a non-empty matrix of finite values, and a header (if any) as
    // wide as the rows.
    if (m.rows <= 0 || m.cols <= 0 || m.data.size() != static_cast<size_t>(m.rows * m.cols)) std::abort();
    if (!header.empty() && header.size() != static_cast<size_t>(m.cols)) std::abort();
    for (float v : m.data)
      if (!std::isfinite(v)) std::abort();
  });
  return 0;
}
